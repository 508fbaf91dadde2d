package workqueue_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workqueue-project/workqueue/go"
)

// Queues without priority aging or a MetricsProvider hand Add and Done to
// the library through a submission ring (see submit.go). These tests check that nothing observable differs
// from calls: nothing is lost, no item is processed twice at once, blocked
// getters wake, delayed items keep their place, shutdown keeps what was
// added before it.

// queueUnderTest is what the stress test drives.
type queueUnderTest[T comparable] interface {
	Add(T)
	Get() (T, bool)
	Done(T)
	ShutDownWithDrainTimeout(time.Duration) bool
}

// stress: producers add keys from a key space (keys recur, so adds race
// with dones of the same key) while workers get and done. Every key added
// must be handed out after its last add, and never to two workers at once.
func stress[T comparable](t *testing.T, q queueUnderTest[T], key func(int) T) {
	const producers, workers = 3, 3
	total, keySpace := 300_000, 2_000
	if raceEnabled {
		total = 30_000
	}
	var lastAdd sync.Map // key → int64 sequence of its last add
	var seq, handedAfterLastAdd atomic.Int64
	var inFlight sync.Map
	var pw, ww sync.WaitGroup
	for p := 0; p < producers; p++ {
		pw.Add(1)
		go func(p int) {
			defer pw.Done()
			for i := p; i < total; i += producers {
				k := key(i % keySpace)
				lastAdd.Store(k, seq.Add(1))
				q.Add(k)
			}
		}(p)
	}
	var handed sync.Map // key → sequence when it was last handed out
	for w := 0; w < workers; w++ {
		ww.Add(1)
		go func() {
			defer ww.Done()
			for {
				k, shutdown := q.Get()
				if shutdown {
					return
				}
				if _, busy := inFlight.LoadOrStore(k, true); busy {
					t.Errorf("%v handed to two workers at once", k)
				}
				handed.Store(k, seq.Load())
				inFlight.Delete(k)
				q.Done(k)
			}
		}()
	}
	pw.Wait()
	if !q.ShutDownWithDrainTimeout(30 * time.Second) {
		t.Fatal("the queue did not drain")
	}
	ww.Wait()
	lastAdd.Range(func(k, added any) bool {
		got, ok := handed.Load(k)
		if !ok || got.(int64) < added.(int64) {
			t.Errorf("%v: added at %v, last handed out at %v", k, added, got)
		} else {
			handedAfterLastAdd.Add(1)
		}
		return true
	})
	if n := handedAfterLastAdd.Load(); n != int64(keySpace) {
		t.Errorf("%d of %d keys handed out after their last add", n, keySpace)
	}
}

func TestSubmittedAddsAndDonesLoseNothingRaw(t *testing.T) {
	q := workqueue.NewRawQueue()
	defer q.Close()
	stress[uint64](t, q, func(i int) uint64 { return uint64(i) })
	if n := workqueue.RawSubmitted(q); n == 0 {
		t.Error("nothing went through the submission ring")
	}
}

func TestSubmittedAddsAndDonesLoseNothingTyped(t *testing.T) {
	q := workqueue.NewTyped[string]()
	defer q.Close()
	stress[string](t, q, func(i int) string { return "ns/object-" + strconv.Itoa(i) })
	if n := workqueue.Submitted(q); n == 0 {
		t.Error("nothing went through the submission ring")
	}
	if n := q.InternedKeys(); n != 0 {
		t.Errorf("%d items interned after the drain", n)
	}
}

// Named queues on the real clock submit too, each entry stamped with the
// time-stamp counter (where the library reads counter values; elsewhere
// they call). Nothing is lost,
// and the library's metrics balance once the queue drained: every add
// that queued an item was handed out, every hand-out was done.
func TestNamedQueuesSubmitStampedAddsAndDones(t *testing.T) {
	q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{Name: uniqueName(subjectSpec{name: "ring"})})
	defer q.Close()
	stress[string](t, q, func(i int) string { return "ns/object-" + strconv.Itoa(i) })
	if n := workqueue.Submitted(q); (n == 0) == workqueue.Stamped(q) {
		t.Errorf("%d adds and dones submitted; stamped ring: %v", n, workqueue.Stamped(q))
	}
	m, _ := q.Metrics()
	if m.Depth != 0 || m.Adds == 0 || m.QueueDuration.Count != m.Adds || m.WorkDuration.Count != m.Adds {
		t.Errorf("after the drain: %+v", m)
	}
}

// A submitted add or done is timed when it was made, not when the
// library applies it at the next call.
func TestSubmittedCallsAreTimedWhenMade(t *testing.T) {
	q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{Name: uniqueName(subjectSpec{name: "ring-timed"})})
	defer q.Close()
	if !workqueue.Stamped(q) {
		t.Skip("named queues submit only where the library reads counter values")
	}
	const pause = 50 * time.Millisecond
	q.Add("a")
	time.Sleep(pause)
	it, _ := q.Get() // applies the add: it waited the pause
	q.Done(it)
	time.Sleep(pause)
	m, _ := q.Metrics() // applies the done: it came at once
	if workqueue.Submitted(q) != 2 {
		t.Fatalf("%d submitted, want the add and the done", workqueue.Submitted(q))
	}
	// The counter's rate is calibrated to within about 1e-3.
	if m.QueueDuration.Count != 1 || m.QueueDuration.Sum < 0.99*pause.Seconds() {
		t.Errorf("queue duration %+v, want one of at least %v", m.QueueDuration, pause)
	}
	if m.WorkDuration.Count != 1 || m.WorkDuration.Sum >= pause.Seconds() {
		t.Errorf("work duration %+v, want one under %v", m.WorkDuration, pause)
	}
}

// A scrape applies what named queues submitted before it reads them.
func TestAScrapeSeesSubmittedAdds(t *testing.T) {
	name := uniqueName(subjectSpec{name: "ring-scrape"})
	q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{Name: name})
	defer q.Close()
	if !workqueue.Stamped(q) {
		t.Skip("named queues submit only where the library reads counter values")
	}
	q.Add("a")
	q.Add("b")
	if workqueue.Submitted(q) != 2 {
		t.Fatalf("%d submitted", workqueue.Submitted(q))
	}
	text := workqueue.PrometheusText()
	for _, want := range []string{
		fmt.Sprintf("workqueue_adds_total{name=%q} 2\n", name),
		fmt.Sprintf("workqueue_depth{name=%q} 2\n", name),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the scrape lacks %q", want)
		}
	}
}

// A getter blocked in the library wakes for an add made while it waits.
func TestSubmittedAddWakesBlockedGetter(t *testing.T) {
	raw := workqueue.NewRawQueue()
	defer raw.Close()
	wakes[uint64](t, raw, func(i int) uint64 { return uint64(i) })
	typed := workqueue.NewTyped[string]()
	defer typed.Close()
	wakes[string](t, typed, func(i int) string { return "item-" + strconv.Itoa(i) })
}

func wakes[T comparable](t *testing.T, q queueUnderTest[T], key func(int) T) {
	got := make(chan T)
	for round := 0; round < 50; round++ {
		go func() {
			item, _ := q.Get()
			q.Done(item)
			got <- item
		}()
		if round%2 == 0 {
			time.Sleep(time.Millisecond) // the getter is asleep by now
		}
		want := key(round)
		q.Add(want)
		select {
		case item := <-got:
			if item != want {
				t.Fatalf("got %v, want %v", item, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the getter was not woken", round)
		}
	}
}

// A getter that counts itself as a waiter while a producer holds the ring
// must not sleep next to that producer's entry: the producer publishes
// with a release store and may have looked for waiters before the count
// reached it, so it flushes nothing; the library makes the getter wait
// for the entry instead.
func TestAGetterCountedWhileTheRingIsTakenGetsTheEntry(t *testing.T) {
	q := workqueue.NewRawQueue()
	defer q.Close()
	publishAdd := workqueue.TakeRing(q)
	got := make(chan uint64, 1)
	go func() {
		key, _ := q.Get()
		got <- key
	}()
	deadline := time.Now().Add(10 * time.Second)
	for workqueue.RingWaiters(q) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the getter never counted itself as a waiter")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case key := <-got:
		t.Fatalf("got %d before anything was added", key)
	case <-time.After(20 * time.Millisecond):
	}
	publishAdd(7)
	select {
	case key := <-got:
		if key != 7 {
			t.Fatalf("got %d, want 7", key)
		}
	case <-time.After(5 * time.Second):
		q.Add(8) // a call: releases the getter, so the test ends
		t.Fatalf("the getter slept next to the published entry (got %d after a call)", <-got)
	}
}

// An add made before a delayed item came due is handed out before it,
// as with calls, and the queue goes back to submissions afterwards.
func TestSubmittedAddKeepsItsPlaceBeforeDelayedItems(t *testing.T) {
	c := workqueue.NewManualClock()
	q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{Clock: c})
	defer q.Close()
	for round := 0; round < 3; round++ {
		q.Add("first")
		q.AddAfter("due", time.Second)
		q.Add("second")
		c.Step(2 * time.Second)
		q.Add("third")
		for _, want := range []string{"first", "second", "due", "third"} {
			item, _ := q.Get()
			if item != want {
				t.Fatalf("round %d: got %q, want %q", round, item, want)
			}
			q.Done(item)
		}
	}
}

// Adds made before ShutDown are still handed out; adds after it are not.
func TestSubmittedAddsBeforeShutDownAreKept(t *testing.T) {
	q := workqueue.NewRawQueue()
	defer q.Close()
	for k := uint64(0); k < 100; k++ {
		q.Add(k)
	}
	q.ShutDown()
	q.Add(1000)
	for want := uint64(0); want < 100; want++ {
		k, shutdown := q.Get()
		if shutdown || k != want {
			t.Fatalf("got %d (shutdown %v), want %d", k, shutdown, want)
		}
		q.Done(k)
	}
	if _, shutdown := q.Get(); !shutdown {
		t.Fatal("an add after ShutDown was handed out")
	}
}

// A submitted done of an item added again while it was processed queues
// it again, and one of an item never handed out changes nothing.
func TestSubmittedDoneRequeuesDirtyItem(t *testing.T) {
	q := workqueue.NewTyped[string]()
	defer q.Close()
	q.Add("a")
	item, _ := q.Get()
	q.Add("a")
	if n := q.Len(); n != 0 {
		t.Fatalf("Len %d while a is processed", n)
	}
	q.Done(item)
	if n := q.Len(); n != 1 {
		t.Fatalf("Len %d after Done, want 1", n)
	}
	q.Done("never-handed-out")
	if n, p := q.Len(), q.ProcessingLen(); n != 1 || p != 0 {
		t.Fatalf("Len %d, ProcessingLen %d", n, p)
	}
}

package workqueue_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workqueue-project/workqueue/go"
)

// The scheduling queue's own tests: what the scenarios cannot say (blocked
// pops, contexts, many goroutines, the interner's bound, lifetimes).

func newSched[T comparable](t *testing.T, cfg workqueue.SchedulingQueueConfig) *workqueue.SchedulingQueue[T] {
	t.Helper()
	q, err := workqueue.NewSchedulingQueue[T](cfg)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// popped runs Pop on a goroutine and returns its result channel.
func popped[T comparable](q *workqueue.SchedulingQueue[T]) chan string {
	ch := make(chan string, 1)
	go func() {
		item, p, closed := q.Pop()
		if closed {
			ch <- "closed"
			return
		}
		ch <- strconv.Itoa(p) + ":" + any(item).(string)
	}()
	return ch
}

func expectBlocked(t *testing.T, ch chan string) {
	t.Helper()
	select {
	case got := <-ch:
		t.Fatalf("pop returned %q, want it blocked", got)
	case <-time.After(30 * time.Millisecond):
	}
}

func expectResult(t *testing.T, ch chan string, want string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("pop returned %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("pop still blocked, want %q", want)
	}
}

func TestSchedulingPopReleasedByAddClockAndClose(t *testing.T) {
	c := workqueue.NewManualClock()
	q := newSched[string](t, workqueue.SchedulingQueueConfig{Clock: c, DisablePopFromBackoff: true})

	ch := popped(q)
	expectBlocked(t, ch)
	q.Add("a", 7)
	expectResult(t, ch, "7:a")

	// A backoff coming due on the manual clock releases a blocked pop.
	if p := q.RequeueBackoff("a"); p != workqueue.PlaceBackoff {
		t.Fatalf("requeue: %v", p)
	}
	ch = popped(q)
	expectBlocked(t, ch)
	c.Step(999 * time.Millisecond)
	expectBlocked(t, ch)
	c.Step(time.Millisecond)
	expectResult(t, ch, "7:a")

	// Close releases every blocked pop, and later pops return at once.
	var chans []chan string
	for i := 0; i < 4; i++ {
		chans = append(chans, popped(q))
	}
	q.Add("b", 0) // one of them takes it
	time.Sleep(10 * time.Millisecond)
	q.Close()
	closed, got := 0, 0
	for _, ch := range chans {
		select {
		case r := <-ch:
			if r == "closed" {
				closed++
			} else {
				got++
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a pop was not released by Close")
		}
	}
	if closed < 3 || closed+got != 4 {
		t.Fatalf("%d pops closed, %d popped", closed, got)
	}
	if _, _, c := q.Pop(); !c {
		t.Fatal("Pop after Close")
	}
	// The other calls keep working.
	if !q.Done("a") {
		t.Fatal("Done after Close")
	}
	if !q.Closed() {
		t.Fatal("Closed")
	}
}

func TestSchedulingPopWithContext(t *testing.T) {
	q := newSched[string](t, workqueue.SchedulingQueueConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, _, _, err := q.PopWithContext(ctx)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("cancellation took %v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("PopWithContext ignored the cancellation")
	}

	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, _, err := q.PopWithContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}

	go func() {
		time.Sleep(20 * time.Millisecond)
		q.Add("x", -3)
	}()
	item, p, closed, err := q.PopWithContext(context.Background())
	if item != "x" || p != -3 || closed || err != nil {
		t.Fatalf("got %q %d %v %v", item, p, closed, err)
	}
	q.Close()
	if _, _, closed, err := q.PopWithContext(context.Background()); !closed || err != nil {
		t.Fatalf("after Close: %v %v", closed, err)
	}
}

// TestSchedulingWorkersOver16Priorities: producers add 16 levels, workers
// pop, fail some (backoff, unschedulable, moved back by events), delete
// some; no item is ever held by two workers at once, every item ends (done,
// or deleted), and the queue and the interner end empty.
func TestSchedulingWorkersOver16Priorities(t *testing.T) {
	q := newSched[string](t, workqueue.SchedulingQueueConfig{
		InitialBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond,
		MaxUnschedulableStay: 20 * time.Millisecond,
	})
	const items = 4000
	var ended, inFlight sync.Map
	var finished atomic.Int64
	end := func(item string) {
		if _, again := ended.LoadOrStore(item, true); !again {
			finished.Add(1)
		}
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for {
				item, _, closed := q.Pop()
				if closed {
					return
				}
				if _, twice := inFlight.LoadOrStore(item, w); twice {
					t.Errorf("%s popped while another worker has it", item)
				}
				attempts := q.Attempts(item)
				inFlight.Delete(item)
				switch n := r.IntN(10); {
				case n == 0 && attempts < 3:
					if q.RequeueBackoff(item) == workqueue.PlaceNone {
						end(item) // deleted while in flight: dropped
					}
				case n == 1 && attempts < 3:
					if q.RequeueUnschedulable(item) == workqueue.PlaceNone {
						end(item)
					}
				default:
					if !q.Done(item) {
						t.Errorf("Done(%s) of a popped item failed", item)
					}
					end(item)
				}
			}
		}(w)
	}
	wg.Add(2)
	go func() { // producer
		defer wg.Done()
		for i := 0; i < items; i++ {
			q.Add("item-"+strconv.Itoa(i), i%16)
		}
	}()
	go func() { // deleter and mover
		defer wg.Done()
		r := rand.New(rand.NewPCG(99, 2))
		for i := 0; i < items/4; i++ {
			item := "item-" + strconv.Itoa(r.IntN(items))
			if q.Delete(item) {
				end(item)
			}
			if i%50 == 0 {
				q.MoveAllToActiveOrBackoff("NodeAdd")
			}
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for finished.Load() < items && time.Now().Before(deadline) {
		q.MoveAllToActiveOrBackoff("Tick")
		time.Sleep(time.Millisecond)
	}
	q.Close()
	wg.Wait()
	if n := finished.Load(); n != items {
		t.Fatalf("%d of %d items ended", n, items)
	}
	held := q.ActiveLen() + q.BackoffLen() + q.UnschedulableLen() + q.InFlightLen()
	if held != 0 || q.InternedKeys() != 0 {
		t.Fatalf("queue holds %d items, interner %d", held, q.InternedKeys())
	}
}

// TestSchedulingDeleteRacingPop: Delete racing Pop never leaves an item
// stuck in flight nor an entry behind.
func TestSchedulingDeleteRacingPop(t *testing.T) {
	q := newSched[int](t, workqueue.SchedulingQueueConfig{})
	const rounds = 3000
	for i := 0; i < rounds; i++ {
		q.Add(i, 0)
		var wg sync.WaitGroup
		var popped atomic.Bool
		var deleted atomic.Bool
		wg.Add(2)
		go func() {
			defer wg.Done()
			if it, _, ok, _ := q.TryPop(); ok {
				if it != i {
					t.Errorf("popped %d, want %d", it, i)
				}
				popped.Store(true)
			}
		}()
		go func() {
			defer wg.Done()
			deleted.Store(q.Delete(i))
		}()
		wg.Wait()
		if popped.Load() {
			// The worker has it: its Done ends the flight, whether the
			// Delete came after the pop (true) or not at all.
			q.Done(i)
		}
		if !popped.Load() && !deleted.Load() {
			t.Fatalf("round %d: neither popped nor deleted", i)
		}
		if n := q.InFlightLen() + q.ActiveLen(); n != 0 {
			t.Fatalf("round %d: %d items left (popped %v, deleted %v)", i, n, popped.Load(), deleted.Load())
		}
		if n := q.InternedKeys(); n != 0 {
			t.Fatalf("round %d: %d interned", i, n)
		}
	}
}

// TestSchedulingInternerBoundedUnderChurn: a million distinct items pass
// through; the interner ends empty and never holds more than the queue.
func TestSchedulingInternerBoundedUnderChurn(t *testing.T) {
	n := 1_000_000
	if testing.Short() || raceEnabled {
		n = 100_000
	}
	q := newSched[string](t, workqueue.SchedulingQueueConfig{})
	peak := 0
	for i := 0; i < n; i++ {
		q.Add("pod-"+strconv.Itoa(i), i%16)
		if i%1000 == 999 {
			peak = max(peak, q.InternedKeys())
			for j := 0; j < 1000; j++ {
				item, _, ok, _ := q.TryPop()
				if !ok {
					t.Fatal("nothing to pop")
				}
				q.Done(item)
			}
		}
	}
	if got := q.InternedKeys(); got != 0 {
		t.Fatalf("%d items interned after the churn", got)
	}
	if peak > 1000 {
		t.Fatalf("peak %d interned", peak)
	}
}

func TestSchedulingConfigErrors(t *testing.T) {
	for _, cfg := range []workqueue.SchedulingQueueConfig{
		{InitialBackoff: 2 * time.Second, MaxBackoff: time.Second},
		{InitialBackoff: 20 * time.Second}, // above the default maximum
		{MaxUnschedulableStay: -1},
	} {
		if _, err := workqueue.NewRawSchedulingQueue(cfg); !errors.Is(err, workqueue.ErrInvalidArgument) {
			t.Errorf("%+v: err %v", cfg, err)
		}
	}
	q, err := workqueue.NewRawSchedulingQueue(workqueue.SchedulingQueueConfig{Name: "sched-\xff"})
	if err != nil || q.Name() != "sched-\uFFFD" {
		t.Fatalf("name %q, err %v", q.Name(), err)
	}
	if q.Handle() == nil || q.MovesByEvent("x") != 0 {
		t.Fatal("handle")
	}
	if workqueue.Place(9).String() != "Place(9)" || workqueue.PlaceInFlight.String() != "in_flight" {
		t.Fatal("Place.String")
	}
}

func TestSchedulingMovesByEvent(t *testing.T) {
	q := newSched[string](t, workqueue.SchedulingQueueConfig{})
	for _, it := range []string{"a", "b", "c"} {
		q.Add(it, 0)
		got, _, _ := q.Pop()
		q.RequeueUnschedulable(got)
	}
	if n := q.MoveAllToActiveOrBackoff("NodeAdd"); n != 3 {
		t.Fatalf("moved %d", n)
	}
	if q.MovesByEvent("NodeAdd") != 3 || q.MovesByEvent("PodDelete") != 0 {
		t.Fatal("MovesByEvent")
	}
}

func TestLifetimeSchedulingQueue(t *testing.T) {
	runtime.GC()
	before := workqueue.LiveNativeObjects()
	clock := workqueue.NewManualClock()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		q := newSched[string](t, workqueue.SchedulingQueueConfig{Clock: clock})
		q.Add("a", 1) // forgotten with an item
		r, err := workqueue.NewRawSchedulingQueue(workqueue.SchedulingQueueConfig{Clock: clock, DisablePopFromBackoff: true})
		if err != nil {
			t.Fatal(err)
		}
		r.Add(1, 1)
		// Only the goroutine keeps r: its second pop waits for the
		// backoff to end on the manual clock.
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, _, _ := r.Pop()
			r.RequeueBackoff(k)
			if k2, _, closed := r.Pop(); closed || k2 != k {
				t.Errorf("second pop: %d %v", k2, closed)
			}
		}()
	}
	for i := 0; i < 5; i++ {
		runtime.GC()
		time.Sleep(2 * time.Millisecond)
	}
	// A queue freed under its blocked Pop would crash here or return a
	// wrong key below.
	clock.Step(time.Second)
	wg.Wait()
	waitFreed(t, before+1) // the clock
}

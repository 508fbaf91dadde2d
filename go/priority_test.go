package workqueue_test

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/workqueue-project/workqueue/go"
)

// controller-runtime's priorityqueue.PriorityQueue shape, checked by the
// compiler against this package's declaration of it (controller-runtime
// itself is too heavy a dependency for this module's tests: see
// priorityqueue/ for the check against the real interface).
type crPriorityQueue[T comparable] interface {
	workqueue.TypedRateLimitingInterface[T]
	AddWithOpts(o workqueue.AddOpts, Items ...T)
	GetWithPriority() (item T, priority int, shutdown bool)
}

var (
	_ crPriorityQueue[string]           = (*workqueue.Typed[string])(nil)
	_ crPriorityQueue[uint64]           = (*workqueue.RawQueue)(nil)
	_ workqueue.PriorityQueue[string]   = (*workqueue.Typed[string])(nil)
	_ crPriorityQueue[string]           = workqueue.PriorityQueue[string](nil)
	_ workqueue.PriorityQueue[struct{}] = workqueue.NewTyped[struct{}]()
)

func ptr(i int) *int { return &i }

// TestAddWithOpts: controller-runtime's options: After, RateLimited (the
// smaller of the two delays), Priority (nil is 0).
func TestAddWithOpts(t *testing.T) {
	c := workqueue.NewManualClock()
	q := workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](10*time.Millisecond, time.Second),
		workqueue.TypedRateLimitingQueueConfig[string]{Clock: c})
	defer q.Close()

	q.AddWithOpts(workqueue.AddOpts{}, "zero")
	q.AddWithOpts(workqueue.AddOpts{Priority: ptr(5)}, "high", "high2")
	q.AddWithOpts(workqueue.AddOpts{Priority: ptr(-1), After: 5 * time.Millisecond}, "later")
	q.AddWithOpts(workqueue.AddOpts{RateLimited: true, Priority: ptr(2)}, "rl")                                    // 10 ms
	q.AddWithOpts(workqueue.AddOpts{RateLimited: true, After: 3 * time.Millisecond, Priority: ptr(1)}, "rl-after") // min(10, 3)
	q.AddWithOpts(workqueue.AddOpts{RateLimited: true, After: time.Second, Priority: ptr(3)}, "rl-long")           // min(10, 1000)
	q.AddWithOpts(workqueue.AddOpts{After: -time.Second, Priority: ptr(math.MaxInt64)}, "clamped")

	if got := q.LenByPriority(); len(got) != 3 || got[0] != (workqueue.PriorityLen{Priority: math.MaxInt32, Len: 1}) ||
		got[1] != (workqueue.PriorityLen{Priority: 5, Len: 2}) || got[2] != (workqueue.PriorityLen{Priority: 0, Len: 1}) {
		t.Fatalf("LenByPriority %v", got)
	}
	want := []struct {
		item string
		p    int
	}{{"clamped", math.MaxInt32}, {"high", 5}, {"high2", 5}, {"zero", 0}}
	for _, w := range want {
		item, p, down := q.GetWithPriority()
		if item != w.item || p != w.p || down {
			t.Fatalf("got %q %d %v, want %q %d", item, p, down, w.item, w.p)
		}
	}
	c.Step(3 * time.Millisecond)
	if item, p, ok, _ := q.TryGetWithPriority(); !ok || item != "rl-after" || p != 1 {
		t.Fatalf("at 3 ms: %q %d %v", item, p, ok)
	}
	c.Step(2 * time.Millisecond)
	if item, p, ok, _ := q.TryGetWithPriority(); !ok || item != "later" || p != -1 {
		t.Fatalf("at 5 ms: %q %d %v", item, p, ok)
	}
	c.Step(5 * time.Millisecond)
	got := []string{}
	for {
		item, _, ok, _ := q.TryGetWithPriority()
		if !ok {
			break
		}
		got = append(got, item)
	}
	if len(got) != 2 || got[0] != "rl-long" || got[1] != "rl" {
		t.Fatalf("at 10 ms: %v", got)
	}
	if q.NumRequeues("rl") != 1 || q.NumRequeues("rl-long") != 1 {
		t.Fatal("rate-limited adds ask the limiter")
	}
	q.ShutDown()
	q.AddWithOpts(workqueue.AddOpts{RateLimited: true}, "after-shutdown")
	if q.NumRequeues("after-shutdown") != 0 {
		t.Fatal("the limiter was asked after shutdown")
	}
}

func TestRawQueuePriorities(t *testing.T) {
	c := workqueue.NewManualClock()
	q := workqueue.NewRawQueueWithConfig(workqueue.RawQueueConfig{
		Clock:       c,
		RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[uint64](time.Millisecond, time.Second),
	})
	defer q.Close()
	q.AddWithPriority(1, 1)
	q.AddAfterWithPriority(2, time.Millisecond, 9)
	if d, ok := q.TryAddRateLimitedWithPriority(3, 4); !ok || d != time.Millisecond {
		t.Fatalf("rate limited: %v %v", d, ok)
	}
	q.AddWithOpts(workqueue.AddOpts{RateLimited: true, After: 500 * time.Microsecond, Priority: ptr(2)}, 4)
	c.Step(500 * time.Microsecond)
	if k, p, _ := q.GetWithPriority(); k != 4 || p != 2 {
		t.Fatalf("got %d %d", k, p)
	}
	c.Step(500 * time.Microsecond)
	for _, w := range [][2]int{{2, 9}, {3, 4}, {1, 1}} {
		if k, p, _ := q.GetWithPriority(); int(k) != w[0] || p != w[1] {
			t.Fatalf("got %d %d, want %v", k, p, w)
		}
	}
	if q.LenByPriority() != nil {
		t.Fatal("LenByPriority of an empty queue")
	}
}

// TestLenByPriorityManyLevels: more levels than the first buffer holds.
func TestLenByPriorityManyLevels(t *testing.T) {
	q := workqueue.NewTyped[int]()
	defer q.Close()
	for i := 0; i < 100; i++ {
		q.AddWithPriority(i, i%40-20)
	}
	got := q.LenByPriority()
	if len(got) != 40 || got[0] != (workqueue.PriorityLen{Priority: 19, Len: 2}) || got[39] != (workqueue.PriorityLen{Priority: -20, Len: 3}) {
		t.Fatalf("LenByPriority %v", got)
	}
}

// TestGetWithPriorityBlocks: a blocked GetWithPriority is released by an
// add (with its priority) and by shutdown.
func TestGetWithPriorityBlocks(t *testing.T) {
	q := workqueue.NewTyped[string]()
	defer q.Close()
	type res struct {
		item string
		p    int
		down bool
	}
	ch := make(chan res, 2)
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			item, p, down := q.GetWithPriority()
			ch <- res{item, p, down}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	q.AddWithPriority("x", 42)
	if r := <-ch; r.item != "x" || r.p != 42 || r.down {
		t.Fatalf("got %+v", r)
	}
	q.ShutDown()
	if r := <-ch; !r.down {
		t.Fatalf("got %+v after shutdown", r)
	}
	wg.Wait()
}

// TestPriorityAgingConfig: PriorityAging reaches the library (the
// scenarios of conformance/priority/ state the rule exactly).
func TestPriorityAgingConfig(t *testing.T) {
	c := workqueue.NewManualClock()
	q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{Clock: c, PriorityAging: time.Second})
	defer q.Close()
	q.Add("old")
	c.Step(3 * time.Second)
	q.AddWithPriority("new", 2)
	if item, p, _ := q.GetWithPriority(); item != "old" || p != 0 {
		t.Fatalf("aged: got %q %d", item, p)
	}
	strict := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{Clock: c})
	defer strict.Close()
	strict.Add("old")
	c.Step(3 * time.Second)
	strict.AddWithPriority("new", 2)
	if item, _, _ := strict.GetWithPriority(); item != "new" {
		t.Fatalf("strict: got %q", item)
	}
}

// TestAddBatchWithPriority: each item as AddWithPriority would add it, in
// order: re-adds keep the highest priority, an item being processed comes
// back at Done at it, and after shutdown nothing is added or left interned.
func TestAddBatchWithPriority(t *testing.T) {
	q := workqueue.NewTyped[string]()
	defer q.Close()
	q.AddWithPriority("k", 9)
	q.Add("low")
	if item, _ := q.Get(); item != "k" {
		t.Fatalf("Get = %q", item)
	}
	if n := q.AddBatchWithPriority([]string{"a", "low", "b", "a", "k"}, 5); n != 3 {
		t.Fatalf("AddBatchWithPriority = %d, want 3 (a, b, and k marked to come back)", n)
	}
	if n := q.AddBatchWithPriority([]string{"low"}, 2); n != 0 {
		t.Fatalf("a lower re-add = %d", n)
	}
	q.Done("k")
	for _, want := range []string{"a", "low", "b", "k"} {
		if item, p, ok, _ := q.TryGetWithPriority(); !ok || item != want || p != 5 {
			t.Fatalf("got %q %d %v, want %q 5", item, p, ok, want)
		}
		q.Done(want)
	}
	if n := q.InternedKeys(); n != 0 {
		t.Fatalf("%d keys interned after everything was done", n)
	}
	q.ShutDown()
	if n := q.AddBatchWithPriority([]string{"x", "y"}, 1); n != 0 || q.InternedKeys() != 0 {
		t.Fatalf("after shutdown: added %d, %d keys interned", n, q.InternedKeys())
	}

	raw := workqueue.NewRawQueue()
	defer raw.Close()
	raw.Add(1)
	if n := raw.AddBatchWithPriority([]uint64{2, 1, 3}, -1); n != 2 {
		t.Fatalf("raw AddBatchWithPriority = %d, want 2", n)
	}
	if n := raw.AddBatchWithPriority(nil, 7); n != 0 {
		t.Fatalf("empty batch = %d", n)
	}
	for _, want := range [][2]int{{1, 0}, {2, -1}, {3, -1}} {
		if k, p, ok, _ := raw.TryGetWithPriority(); !ok || int(k) != want[0] || p != want[1] {
			t.Fatalf("raw got %d %d %v, want %v", k, p, ok, want)
		}
	}
}

// TestAddWithOptsSeveralItems: several items added at once go in one
// batch with the same results as one add each; with metrics, per item.
func TestAddWithOptsSeveralItems(t *testing.T) {
	for _, name := range []string{"", "several-items"} {
		q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{Name: name})
		q.AddWithPriority("b", 8)
		q.AddWithOpts(workqueue.AddOpts{Priority: ptr(3)}, "a", "b", "c", "a")
		q.AddWithOpts(workqueue.AddOpts{}, "d", "c")
		want := []workqueue.PriorityLen{{Priority: 8, Len: 1}, {Priority: 3, Len: 2}, {Priority: 0, Len: 1}}
		if got := q.LenByPriority(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Fatalf("%q: LenByPriority %v, want %v", name, got, want)
		}
		items, _ := q.TryGetBatch(10)
		if len(items) != 4 || items[0] != "b" || items[1] != "a" || items[2] != "c" || items[3] != "d" {
			t.Fatalf("%q: order %v", name, items)
		}
		q.DoneBatch(items)
		q.ShutDown()
		q.AddWithOpts(workqueue.AddOpts{Priority: ptr(1)}, "x", "y")
		if q.Len() != 0 || q.InternedKeys() != 0 {
			t.Fatalf("%q: after shutdown len %d, %d keys interned", name, q.Len(), q.InternedKeys())
		}
		q.Close()
	}

	raw := workqueue.NewRawQueue()
	defer raw.Close()
	raw.AddWithOpts(workqueue.AddOpts{Priority: ptr(math.MinInt64)}, 4, 5)
	raw.AddWithOpts(workqueue.AddOpts{Priority: ptr(2)}, 6, 4)
	for _, want := range [][2]int{{6, 2}, {4, 2}, {5, math.MinInt32}} {
		if k, p, ok, _ := raw.TryGetWithPriority(); !ok || int(k) != want[0] || p != want[1] {
			t.Fatalf("raw got %d %d %v, want %v", k, p, ok, want)
		}
	}
}

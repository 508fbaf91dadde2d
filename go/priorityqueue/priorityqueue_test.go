package priorityqueue_test

import (
	"testing"
	"time"

	"k8s.io/client-go/util/workqueue"
	crpq "sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"

	"github.com/workqueue-project/workqueue/go/priorityqueue"
)

// The drop-in promise, checked by the compiler against controller-runtime
// itself: New has controller-runtime's signature and returns its
// interface, which the Queue implements.
var (
	_ func(string, ...crpq.Opt[string]) crpq.PriorityQueue[string] = priorityqueue.New[string]
	_ crpq.PriorityQueue[string]                                   = priorityqueue.Queue[string]{}
	_ workqueue.TypedRateLimitingInterface[string]                 = priorityqueue.New[string]("")
)

func prio(p int) *int { return &p }

func TestControllerRuntimeShape(t *testing.T) {
	q := priorityqueue.New("pq-test", func(o *crpq.Opts[string]) {
		o.RateLimiter = workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, time.Second)
	})
	defer q.ShutDown()
	q.AddWithOpts(crpq.AddOpts{Priority: prio(1)}, "low")
	q.AddWithOpts(crpq.AddOpts{Priority: prio(10)}, "high")
	q.AddWithOpts(crpq.AddOpts{}, "zero")
	q.AddWithOpts(crpq.AddOpts{After: 20 * time.Millisecond, Priority: prio(100)}, "later")
	q.AddWithOpts(crpq.AddOpts{RateLimited: true, Priority: prio(50)}, "limited")
	for _, want := range []struct {
		item string
		p    int
	}{{"high", 10}, {"low", 1}, {"zero", 0}, {"limited", 50}, {"later", 100}} {
		item, p, down := q.GetWithPriority()
		if item != want.item || p != want.p || down {
			t.Fatalf("got %q %d %v, want %q %d", item, p, down, want.item, want.p)
		}
		q.Done(item)
	}
	if q.NumRequeues("limited") != 1 {
		t.Fatal("the rate limiter was not asked")
	}
	// A re-add while processing comes back at Done with its highest
	// priority; a queued item keeps the higher one.
	q.Add("a")
	a, _ := q.Get()
	q.AddWithOpts(crpq.AddOpts{Priority: prio(5)}, a)
	q.AddWithOpts(crpq.AddOpts{Priority: prio(3)}, "b")
	q.AddWithOpts(crpq.AddOpts{Priority: prio(4)}, "b")
	q.Done(a)
	if item, p, _ := q.GetWithPriority(); item != "a" || p != 5 {
		t.Fatalf("got %q %d", item, p)
	}
	if item, p, _ := q.GetWithPriority(); item != "b" || p != 4 {
		t.Fatalf("got %q %d", item, p)
	}
}

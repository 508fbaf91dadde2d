package workqueue_test

import (
	"testing"
	"time"

	"github.com/workqueue-project/workqueue/go"
)

// The deprecated untyped API, as old controllers use it.
func TestUntypedQueue(t *testing.T) {
	var q workqueue.RateLimitingInterface = workqueue.NewNamedRateLimitingQueue(workqueue.DefaultControllerRateLimiter(), "untyped")
	defer q.ShutDown()
	type ref struct{ ns, name string }
	q.Add("a")
	q.Add(42)
	q.Add(ref{"ns", "obj"})
	q.Add("a")
	if q.Len() != 3 {
		t.Fatalf("Len = %d", q.Len())
	}
	for _, want := range []any{"a", 42, ref{"ns", "obj"}} {
		item, _ := q.Get()
		if item != want {
			t.Fatalf("got %v, want %v", item, want)
		}
		q.Done(item)
	}
	q.AddRateLimited(42)
	if q.NumRequeues(42) != 1 {
		t.Fatalf("NumRequeues = %d", q.NumRequeues(42))
	}
	q.Forget(42)
	if q.NumRequeues(42) != 0 {
		t.Fatal("Forget did not reset")
	}

	d := workqueue.NewDelayingQueue()
	d.AddAfter("x", time.Millisecond)
	if item, _ := d.Get(); item != "x" {
		t.Fatalf("got %v", item)
	}
	d.ShutDown()
	n := workqueue.NewNamed("plain")
	if n.Name() != "plain" {
		t.Fatalf("Name = %q", n.Name())
	}
	n.Close()
}

// TestRawQueueSharedThroughHandle: a second RawQueue over the same native
// queue (as C code would see it through Handle) shares its keys and its
// rate limiter.
func TestRawQueueSharedThroughHandle(t *testing.T) {
	owner := workqueue.NewRawQueue()
	defer owner.Close()
	view := workqueue.WrapRawQueue(owner.Handle())
	owner.Add(7)
	if k, ok, _ := view.TryGet(); !ok || k != 7 {
		t.Fatalf("the wrapped queue got %d %v", k, ok)
	}
	if owner.ProcessingLen() != 1 {
		t.Fatal("not the same queue")
	}
	view.Done(7)
	view.AddRateLimited(9)
	if owner.NumRequeues(9) != 1 {
		t.Fatal("the wrapped queue does not share the rate limiter")
	}
	view.Close() // shuts down; does not free
	if !owner.ShuttingDown() {
		t.Fatal("closing the view should shut the queue down")
	}
	if owner.Len() != 0 {
		t.Fatal("the owner still works after the view closed")
	}
}

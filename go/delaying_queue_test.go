package workqueue_test

import (
	"context"
	"testing"
	"time"

	"github.com/workqueue-project/workqueue/go"
)

// The behaviours of client-go's delaying_queue_test.go, on a manual clock.
// client-go polls because its delays go through a goroutine; here AddAfter
// is synchronous, so every check is exact.

func newDelaying(t *testing.T) (*workqueue.Typed[string], *workqueue.ManualClock) {
	t.Helper()
	clock := workqueue.NewManualClock()
	q := workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[string]{Clock: clock})
	t.Cleanup(q.Close)
	return q, clock
}

func expectLen(t *testing.T, q interface{ Len() int }, want int) {
	t.Helper()
	if got := q.Len(); got != want {
		t.Fatalf("Len = %d, want %d", got, want)
	}
}

// TestSimpleQueue: not ready before its delay, ready after; nothing more
// fires after Done, even past any heartbeat.
func TestSimpleQueue(t *testing.T) {
	q, clock := newDelaying(t)
	q.AddAfter("foo", 50*time.Millisecond)
	expectLen(t, q, 0)
	clock.Step(60 * time.Millisecond)
	expectLen(t, q, 1)
	item, _ := q.Get()
	q.Done(item)
	clock.Step(10 * time.Second)
	expectLen(t, q, 0)
	if n := q.DelayedLen(); n != 0 {
		t.Fatalf("DelayedLen = %d", n)
	}
}

// TestDeduping: two delays for one item, the earlier wins and fires once;
// a later delay never postpones an earlier one.
func TestDeduping(t *testing.T) {
	q, clock := newDelaying(t)
	q.AddAfter("foo", 50*time.Millisecond)
	if q.TryAddAfter("foo", 70*time.Millisecond) {
		t.Error("a later delay should change nothing")
	}
	expectLen(t, q, 0)
	clock.Step(60 * time.Millisecond)
	expectLen(t, q, 1)
	item, _ := q.Get()
	q.Done(item)
	clock.Step(20 * time.Millisecond)
	expectLen(t, q, 0)

	// Again, but this time the earlier overrides.
	q.AddAfter("foo", 50*time.Millisecond)
	if !q.TryAddAfter("foo", 30*time.Millisecond) {
		t.Error("an earlier delay should move the ready time")
	}
	expectLen(t, q, 0)
	clock.Step(40 * time.Millisecond)
	expectLen(t, q, 1)
	item, _ = q.Get()
	q.Done(item)
	clock.Step(20 * time.Millisecond)
	expectLen(t, q, 0)
}

// TestAddTwoFireEarly: the shorter delay fires first; items added after
// earlier firings still work.
func TestAddTwoFireEarly(t *testing.T) {
	q, clock := newDelaying(t)
	q.AddAfter("foo", time.Second)
	q.AddAfter("bar", 50*time.Millisecond)
	expectLen(t, q, 0)
	clock.Step(60 * time.Millisecond)
	expectLen(t, q, 1)
	if item, _ := q.Get(); item != "bar" {
		t.Errorf("expected bar, got %v", item)
	}
	q.AddAfter("baz", 2*time.Second)
	clock.Step(time.Second)
	expectLen(t, q, 1)
	if item, _ := q.Get(); item != "foo" {
		t.Errorf("expected foo, got %v", item)
	}
	clock.Step(2 * time.Second)
	expectLen(t, q, 1)
	if item, _ := q.Get(); item != "baz" {
		t.Errorf("expected baz, got %v", item)
	}
}

// TestCopyShifting: delays that come due in one clock step are handed out
// in ready-time order.
func TestCopyShifting(t *testing.T) {
	q, clock := newDelaying(t)
	q.AddAfter("foo", time.Second)
	q.AddAfter("bar", 500*time.Millisecond)
	q.AddAfter("baz", 250*time.Millisecond)
	expectLen(t, q, 0)
	clock.Step(2 * time.Second)
	expectLen(t, q, 3)
	for _, want := range []string{"baz", "bar", "foo"} {
		if item, _ := q.Get(); item != want {
			t.Errorf("expected %v, got %v", want, item)
		}
	}
}

// TestNonPositiveDelayAddsAtOnce: a zero or negative delay is an Add.
func TestNonPositiveDelayAddsAtOnce(t *testing.T) {
	q, _ := newDelaying(t)
	q.AddAfter("zero", 0)
	q.AddAfter("negative", -time.Hour)
	expectLen(t, q, 2)
}

// TestManualClockWakesBlockedGetter: a getter blocked on a delayed item
// is released by the clock step that makes it due.
func TestManualClockWakesBlockedGetter(t *testing.T) {
	q, clock := newDelaying(t)
	q.AddAfter("later", time.Minute)
	got := make(chan string)
	go func() {
		item, _ := q.Get()
		got <- item
	}()
	select {
	case item := <-got:
		t.Fatalf("got %q before its delay", item)
	case <-time.After(20 * time.Millisecond):
	}
	clock.Step(time.Minute)
	select {
	case item := <-got:
		if item != "later" {
			t.Fatalf("got %q", item)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the clock step did not release the getter")
	}
}

// TestRealClockDelay: on the real clock a delayed item comes due by
// itself, for Get and for GetWithContext (the fd's timer).
func TestRealClockDelay(t *testing.T) {
	q := workqueue.NewTypedDelayingQueue[string]()
	defer q.Close()
	start := time.Now()
	q.AddAfter("a", 30*time.Millisecond)
	if item, _ := q.Get(); item != "a" {
		t.Fatalf("got %q", item)
	}
	if waited := time.Since(start); waited < 25*time.Millisecond {
		t.Fatalf("handed out after %v, before its 30 ms delay", waited)
	}
	q.Done("a")

	start = time.Now()
	q.AddAfter("b", 30*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	item, _, err := q.GetWithContext(ctx)
	if err != nil || item != "b" {
		t.Fatalf("GetWithContext = %q, %v", item, err)
	}
	if waited := time.Since(start); waited < 25*time.Millisecond {
		t.Fatalf("handed out after %v, before its 30 ms delay", waited)
	}
}

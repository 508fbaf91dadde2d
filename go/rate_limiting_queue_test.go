package workqueue_test

import (
	"testing"
	"time"

	"github.com/workqueue-project/workqueue/go"
)

// The behaviours of client-go's rate_limiting_queue_test.go, on a manual
// clock: TryAddRateLimited returns the delay the item waits.

func TestRateLimitingQueue(t *testing.T) {
	for _, kind := range []struct {
		name string
		make func(workqueue.TypedRateLimiter[string], *workqueue.ManualClock) workqueue.TypedRateLimitingInterface[string]
	}{
		{"typed", func(rl workqueue.TypedRateLimiter[string], c *workqueue.ManualClock) workqueue.TypedRateLimitingInterface[string] {
			return workqueue.NewTypedRateLimitingQueueWithConfig(rl, workqueue.TypedRateLimitingQueueConfig[string]{Clock: c})
		}},
	} {
		t.Run(kind.name, func(t *testing.T) {
			clock := workqueue.NewManualClock()
			limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, time.Second)
			q := kind.make(limiter, clock).(*workqueue.Typed[string])
			defer q.Close()

			expectDelay := func(item string, want time.Duration) {
				t.Helper()
				got, ok := q.TryAddRateLimited(item)
				if !ok || got != want {
					t.Fatalf("AddRateLimited(%s) waits %v (%v), want %v", item, got, ok, want)
				}
			}
			expectDelay("one", time.Millisecond)
			expectDelay("one", 2*time.Millisecond)
			if e, a := 2, q.NumRequeues("one"); e != a {
				t.Errorf("expected %v, got %v", e, a)
			}
			expectDelay("two", time.Millisecond)
			expectDelay("two", 2*time.Millisecond)

			q.Forget("one")
			if e, a := 0, q.NumRequeues("one"); e != a {
				t.Errorf("expected %v, got %v", e, a)
			}
			expectDelay("one", time.Millisecond)

			// The items wait for their earliest delay: 1 ms.
			expectLen(t, q, 0)
			clock.Step(time.Millisecond)
			expectLen(t, q, 2)
		})
	}
}

// TestRateLimitingQueueAfterShutdown: the limiter is not asked once the
// queue is shutting down.
func TestRateLimitingQueueAfterShutdown(t *testing.T) {
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, time.Second)
	q := workqueue.NewTypedRateLimitingQueue(limiter)
	defer q.Close()
	q.ShutDown()
	if _, ok := q.TryAddRateLimited("x"); ok {
		t.Fatal("AddRateLimited after shutdown should report false")
	}
	q.AddRateLimited("x")
	if n := limiter.NumRequeues("x"); n != 0 {
		t.Fatalf("the limiter counted %d failures after shutdown", n)
	}
}

// TestClientGoStyleLimiterInQueue: a limiter written for client-go (a Go
// type with When/Forget/NumRequeues) drives AddRateLimited.
func TestClientGoStyleLimiterInQueue(t *testing.T) {
	step := NewStepRateLimiter(5*time.Millisecond, time.Hour, 1)
	clock := workqueue.NewManualClock()
	q := workqueue.NewTypedRateLimitingQueueWithConfig[any](step, workqueue.TypedRateLimitingQueueConfig[any]{Clock: clock})
	defer q.Close()
	q.AddRateLimited("a")
	q.AddRateLimited("b")
	clock.Step(5 * time.Millisecond)
	expectLen(t, q, 1)
	if item, _ := q.Get(); item != "a" {
		t.Fatalf("got %v", item)
	}
	if q.DelayedLen() != 1 {
		t.Fatalf("b should wait an hour")
	}
}

// TestRawQueueNativeLimiterSharedWithStandaloneUse: a RawQueue runs a
// limiter of this package inside the library; the limiter handle sees the
// same failure counts.
func TestRawQueueNativeLimiterSharedWithStandaloneUse(t *testing.T) {
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[uint64](time.Millisecond, time.Second)
	clock := workqueue.NewManualClock()
	q := workqueue.NewRawQueueWithConfig(workqueue.RawQueueConfig{RateLimiter: limiter, Clock: clock})
	defer q.Close()
	if d, _ := q.TryAddRateLimited(7); d != time.Millisecond {
		t.Fatalf("first delay %v", d)
	}
	if d := limiter.When(7); d != 2*time.Millisecond {
		t.Fatalf("the standalone limiter does not share the queue's state: %v", d)
	}
	if d, _ := q.TryAddRateLimited(7); d != 4*time.Millisecond {
		t.Fatalf("third delay %v", d)
	}
	if n := q.NumRequeues(7); n != 3 {
		t.Fatalf("NumRequeues = %d", n)
	}
	limiter.Forget(7)
	if n := q.NumRequeues(7); n != 0 {
		t.Fatalf("NumRequeues after Forget = %d", n)
	}
}

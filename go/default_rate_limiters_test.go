package workqueue_test

import (
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/workqueue-project/workqueue/go"
)

// The behaviours of client-go's default_rate_limiters_test.go, written for
// this package, on untyped (as upstream) and typed limiters.

func expectWhen[T comparable](t *testing.T, l workqueue.TypedRateLimiter[T], item T, want time.Duration) {
	t.Helper()
	if got := l.When(item); got != want {
		t.Errorf("When(%v) = %v, want %v", item, got, want)
	}
}

func expectRequeues[T comparable](t *testing.T, l workqueue.TypedRateLimiter[T], item T, want int) {
	t.Helper()
	if got := l.NumRequeues(item); got != want {
		t.Errorf("NumRequeues(%v) = %d, want %d", item, got, want)
	}
}

func TestItemExponentialFailureRateLimiter(t *testing.T) {
	limiter := workqueue.NewItemExponentialFailureRateLimiter(time.Millisecond, time.Second)
	for _, want := range []time.Duration{1, 2, 4, 8, 16} {
		expectWhen[any](t, limiter, "one", want*time.Millisecond)
	}
	expectRequeues[any](t, limiter, "one", 5)
	expectWhen[any](t, limiter, "two", time.Millisecond)
	expectWhen[any](t, limiter, "two", 2*time.Millisecond)
	expectRequeues[any](t, limiter, "two", 2)
	limiter.Forget("one")
	expectRequeues[any](t, limiter, "one", 0)
	expectWhen[any](t, limiter, "one", time.Millisecond)
}

func TestItemExponentialFailureRateLimiterOverFlow(t *testing.T) {
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, 1000*time.Second)
	for i := 0; i < 5; i++ {
		limiter.When("one")
	}
	expectWhen(t, limiter, "one", 32*time.Millisecond)
	for i := 0; i < 1000; i++ {
		limiter.When("overflow1")
	}
	expectWhen(t, limiter, "overflow1", 1000*time.Second)

	limiter = workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Minute, 1000*time.Hour)
	for i := 0; i < 2; i++ {
		limiter.When("two")
	}
	expectWhen(t, limiter, "two", 4*time.Minute)
	for i := 0; i < 1000; i++ {
		limiter.When("overflow2")
	}
	expectWhen(t, limiter, "overflow2", 1000*time.Hour)
}

// TestItemExponentialFailureRateLimiterDegenerate: arguments client-go
// accepts and the core refuses keep client-go's results.
func TestItemExponentialFailureRateLimiterDegenerate(t *testing.T) {
	zero := workqueue.NewTypedItemExponentialFailureRateLimiter[string](0, 0)
	expectWhen(t, zero, "a", 0)
	expectWhen(t, zero, "a", 0)
	expectRequeues(t, zero, "a", 2)
	capped := workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Second, time.Millisecond)
	expectWhen(t, capped, "a", time.Millisecond)
	expectWhen(t, capped, "a", time.Millisecond)
}

func TestItemFastSlowRateLimiter(t *testing.T) {
	limiter := workqueue.NewItemFastSlowRateLimiter(5*time.Millisecond, 10*time.Second, 3)
	for _, want := range []time.Duration{5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond, 10 * time.Second, 10 * time.Second} {
		expectWhen[any](t, limiter, "one", want)
	}
	expectRequeues[any](t, limiter, "one", 5)
	expectWhen[any](t, limiter, "two", 5*time.Millisecond)
	expectWhen[any](t, limiter, "two", 5*time.Millisecond)
	expectRequeues[any](t, limiter, "two", 2)
	limiter.Forget("one")
	expectRequeues[any](t, limiter, "one", 0)
	expectWhen[any](t, limiter, "one", 5*time.Millisecond)
}

func testMaxOf[T comparable](t *testing.T, one, two T) {
	limiter := workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemFastSlowRateLimiter[T](5*time.Millisecond, 3*time.Second, 3),
		workqueue.NewTypedItemExponentialFailureRateLimiter[T](time.Millisecond, time.Second),
	)
	for _, want := range []time.Duration{5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond, 3 * time.Second, 3 * time.Second} {
		expectWhen(t, limiter, one, want)
	}
	expectRequeues(t, limiter, one, 5)
	expectWhen(t, limiter, two, 5*time.Millisecond)
	expectWhen(t, limiter, two, 5*time.Millisecond)
	expectRequeues(t, limiter, two, 2)
	limiter.Forget(one)
	expectRequeues(t, limiter, one, 0)
	expectWhen(t, limiter, one, 5*time.Millisecond)
}

// TestMaxOfRateLimiter: over strings (a composite in Go) and over uint64
// (one native composite).
func TestMaxOfRateLimiter(t *testing.T) {
	t.Run("any", func(t *testing.T) { testMaxOf[any](t, "one", "two") })
	t.Run("uint64", func(t *testing.T) { testMaxOf[uint64](t, 1, 2) })
}

func TestWithMaxWaitRateLimiter(t *testing.T) {
	limiter := workqueue.NewWithMaxWaitRateLimiter(NewStepRateLimiter(5*time.Millisecond, 1000*time.Second, 100), 500*time.Second)
	for i := 0; i < 100; i++ {
		expectWhen[any](t, limiter, i, 5*time.Millisecond)
	}
	for i := 100; i < 200; i++ {
		expectWhen[any](t, limiter, i, 500*time.Second)
	}
}

// TestBucketRateLimiterStructLiteral: client-go's way of writing the
// default controller limiter compiles and behaves the same.
func TestBucketRateLimiterStructLiteral(t *testing.T) {
	limiter := workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](5*time.Millisecond, 1000*time.Second),
		&workqueue.TypedBucketRateLimiter[string]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
	for i := 0; i < 100; i++ {
		expectWhen(t, limiter, "k"+string(rune('a'+i%26))+string(rune('a'+i/26)), 5*time.Millisecond)
	}
	if d := limiter.When("late"); d < 90*time.Millisecond {
		t.Fatalf("the 101st key waits %v, want about 100 ms", d)
	}
	// On a manual clock, through a queue.
	clock := workqueue.NewManualClock()
	bucket := &workqueue.TypedBucketRateLimiter[string]{Limiter: rate.NewLimiter(rate.Limit(10), 1)}
	q := workqueue.NewTypedRateLimitingQueueWithConfig[string](bucket, workqueue.TypedRateLimitingQueueConfig[string]{Clock: clock})
	defer q.Close()
	if d, _ := q.TryAddRateLimited("a"); d != 0 {
		t.Fatalf("first token: %v", d)
	}
	if d, _ := q.TryAddRateLimited("b"); d != 100*time.Millisecond {
		t.Fatalf("second token: %v", d)
	}
}

// TestDefaultControllerRateLimiter: max(exponential 5 ms..1000 s, bucket
// 10/s burst 100), typed and untyped.
func TestDefaultControllerRateLimiter(t *testing.T) {
	limiter := workqueue.DefaultTypedControllerRateLimiter[string]()
	expectWhen(t, limiter, "a", 5*time.Millisecond)
	expectWhen(t, limiter, "a", 10*time.Millisecond)
	expectRequeues(t, limiter, "a", 2)
	limiter.Forget("a")
	expectRequeues(t, limiter, "a", 0)
	untyped := workqueue.DefaultControllerRateLimiter()
	expectWhen[any](t, untyped, 42, 5*time.Millisecond)
	item := workqueue.DefaultItemBasedRateLimiter()
	expectWhen[any](t, item, 42, time.Millisecond)
}

// TestTokenBucketOnManualClock: the native bucket follows a manual clock.
func TestTokenBucketOnManualClock(t *testing.T) {
	clock := workqueue.NewManualClock()
	l := workqueue.NewTypedTokenBucketRateLimiter[string](10, 2).(workqueue.ClockedRateLimiter[string])
	for _, want := range []time.Duration{0, 0, 100 * time.Millisecond, 200 * time.Millisecond} {
		if got := l.WhenWithClock("x", clock); got != want {
			t.Fatalf("WhenWithClock = %v, want %v", got, want)
		}
	}
	clock.Step(time.Second)
	if got := l.WhenWithClock("x", clock); got != 0 {
		t.Fatalf("after a second: %v", got)
	}
}

var _ workqueue.RateLimiter = &StepRateLimiter{}

// StepRateLimiter is client-go's test limiter: a Go limiter with no state
// per item.
func NewStepRateLimiter(baseDelay time.Duration, maxDelay time.Duration, threshold int) workqueue.RateLimiter {
	return &StepRateLimiter{baseDelay: baseDelay, maxDelay: maxDelay, threshold: threshold}
}

type StepRateLimiter struct {
	count     int
	threshold int
	baseDelay time.Duration
	maxDelay  time.Duration
}

func (r *StepRateLimiter) When(item any) time.Duration {
	r.count++
	if r.count <= r.threshold {
		return r.baseDelay
	}
	return r.maxDelay
}

func (r *StepRateLimiter) NumRequeues(item any) int { return 0 }

func (r *StepRateLimiter) Forget(item any) {}

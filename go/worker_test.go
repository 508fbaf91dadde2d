package workqueue_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientgo "k8s.io/client-go/util/workqueue"

	"github.com/workqueue-project/workqueue/go"
)

var errFlaky = errors.New("flaky")

func TestRunWorkers(t *testing.T) {
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Microsecond, time.Millisecond)
	q := workqueue.NewTypedRateLimitingQueue(limiter)
	defer q.Close()
	var mu sync.Mutex
	attempts := map[string]int{}
	var dropped []string
	for _, k := range []string{"ok-1", "ok-2", "retry-once", "always-fails"} {
		q.Add(k)
	}
	done := make(chan workqueue.WorkerReport)
	go func() {
		done <- workqueue.RunWorkers(context.Background(), q, func(ctx context.Context, item string) error {
			mu.Lock()
			attempts[item]++
			n := attempts[item]
			mu.Unlock()
			switch {
			case item == "retry-once" && n == 1, item == "always-fails":
				return errFlaky
			}
			return nil
		}, workqueue.WorkerOptions[string]{
			Workers:    3,
			MaxRetries: 2,
			OnDropped: func(item string, err error) {
				mu.Lock()
				dropped = append(dropped, item)
				mu.Unlock()
				if !errors.Is(err, errFlaky) {
					t.Errorf("OnDropped err = %v", err)
				}
			},
		})
	}()
	// Retries are adds: a shut-down queue would refuse them, so wait for
	// the work to finish before shutting down.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		finished := len(dropped) == 1 && attempts["retry-once"] == 2 && attempts["ok-1"] == 1 && attempts["ok-2"] == 1
		mu.Unlock()
		if finished && q.Len() == 0 && q.ProcessingLen() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the workers did not finish")
		}
		time.Sleep(time.Millisecond)
	}
	if !q.ShutDownWithDrainTimeout(10 * time.Second) {
		t.Fatal("the queue did not drain")
	}
	report := <-done
	mu.Lock()
	defer mu.Unlock()
	if report != (workqueue.WorkerReport{Succeeded: 3, Retried: 3, Dropped: 1}) {
		t.Fatalf("report = %+v", report)
	}
	if attempts["always-fails"] != 3 || attempts["retry-once"] != 2 {
		t.Fatalf("attempts = %v", attempts)
	}
	if len(dropped) != 1 || dropped[0] != "always-fails" {
		t.Fatalf("dropped = %v", dropped)
	}
	if n := q.NumRequeues("always-fails"); n != 0 {
		t.Fatalf("a dropped item is forgotten, NumRequeues = %d", n)
	}
}

func TestRunWorkersStopsWithContext(t *testing.T) {
	q := workqueue.NewTyped[int]()
	defer q.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		workqueue.RunWorkers(ctx, q, func(context.Context, int) error { return nil }, workqueue.WorkerOptions[int]{Workers: 4})
		close(done)
	}()
	q.Add(1)
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunWorkers ignored the cancel")
	}
	if q.ShuttingDown() {
		t.Fatal("RunWorkers must not shut the queue down")
	}
}

// TestRunWorkersOnClientGoQueue: the loop also drives client-go's own
// queue (through the shared interface).
func TestRunWorkersOnClientGoQueue(t *testing.T) {
	q := clientgo.NewTypedRateLimitingQueue(clientgo.DefaultTypedControllerRateLimiter[int]())
	var handled atomic.Int32
	for i := 0; i < 10; i++ {
		q.Add(i)
	}
	done := make(chan workqueue.WorkerReport)
	go func() {
		done <- workqueue.RunWorkers[int](context.Background(), q, func(context.Context, int) error {
			handled.Add(1)
			return nil
		}, workqueue.WorkerOptions[int]{Workers: 2})
	}()
	for handled.Load() < 10 {
		time.Sleep(time.Millisecond)
	}
	q.ShutDown()
	if r := <-done; r.Succeeded != 10 {
		t.Fatalf("report = %+v", r)
	}
}

// within fails the test unless ch delivers within 10 s.
func within[V any](t *testing.T, ch <-chan V, what string) V {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// checkRuns fails the test unless the report counts every run once.
func checkRuns(t *testing.T, r workqueue.WorkerReport, runs uint64) {
	t.Helper()
	if sum := r.Succeeded + r.Retried + r.Dropped + r.Abandoned; sum != runs {
		t.Fatalf("report %+v counts %d runs, the handler ran %d times", r, sum, runs)
	}
}

// TestRunWorkersAbandonsFailuresDuringShutdown: each of three workers
// holds one item until the test has shut the queue down; then two items
// fail and one succeeds. The queue refuses the retries: abandoned, not
// retried nor dropped, and not given up on (OnDropped is not told).
func TestRunWorkersAbandonsFailuresDuringShutdown(t *testing.T) {
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	defer q.Close()
	items := []string{"fails-1", "fails-2", "succeeds"}
	for _, item := range items {
		q.Add(item)
	}
	entered := make(chan struct{}, len(items))
	release := make(chan struct{})
	var runs atomic.Uint64
	var gaveUp sync.Map
	done := make(chan workqueue.WorkerReport, 1)
	go func() {
		done <- workqueue.RunWorkers(context.Background(), q, func(_ context.Context, item string) error {
			runs.Add(1)
			entered <- struct{}{}
			<-release
			if item == "succeeds" {
				return nil
			}
			return errFlaky
		}, workqueue.WorkerOptions[string]{
			Workers:   len(items),
			OnDropped: func(item string, _ error) { gaveUp.Store(item, true) },
		})
	}()
	for range items {
		within(t, entered, "every item to be held by a worker")
	}
	q.ShutDown()
	close(release)
	report := within(t, done, "RunWorkers to return")
	if report != (workqueue.WorkerReport{Succeeded: 1, Abandoned: 2}) {
		t.Fatalf("report = %+v", report)
	}
	checkRuns(t, report, runs.Load())
	for _, item := range items {
		if _, told := gaveUp.Load(item); told {
			t.Errorf("OnDropped told about %s", item)
		}
	}
	if n := q.NumRequeues("fails-1"); n != 0 {
		t.Fatalf("an abandoned item was rate-limited: NumRequeues = %d", n)
	}
}

// shutsDownWhenAsked is a rate limiter that shuts its queue down the
// first time it is asked for a delay: the shutdown lands between the
// requeue's ShuttingDown check and its add.
type shutsDownWhenAsked[T comparable] struct {
	shutDown func()
	once     sync.Once
}

func (l *shutsDownWhenAsked[T]) When(T) time.Duration {
	l.once.Do(l.shutDown)
	return 0
}
func (l *shutsDownWhenAsked[T]) Forget(T)          {}
func (l *shutsDownWhenAsked[T]) NumRequeues(T) int { return 0 }

// TestRunWorkersAbandonsARetryRefusedMidCall: a shutdown that comes while
// the retry is being made refuses it, and the run is counted abandoned,
// not retried.
func TestRunWorkersAbandonsARetryRefusedMidCall(t *testing.T) {
	limiter := &shutsDownWhenAsked[string]{}
	q := workqueue.NewTypedRateLimitingQueue[string](limiter)
	defer q.Close()
	limiter.shutDown = q.ShutDown
	q.Add("x")
	var runs atomic.Uint64
	report := workqueue.RunWorkers(context.Background(), q, func(context.Context, string) error {
		runs.Add(1)
		return errFlaky
	}, workqueue.WorkerOptions[string]{})
	if report != (workqueue.WorkerReport{Abandoned: 1}) {
		t.Fatalf("report = %+v", report)
	}
	checkRuns(t, report, runs.Load())
	if q.Len() != 0 || q.DelayedLen() != 0 {
		t.Fatalf("the refused retry was queued: Len %d, DelayedLen %d", q.Len(), q.DelayedLen())
	}
}

// TestTryAddRateLimitedReportsARefusalMidCall: TryAddRateLimited (with a
// rate limiter asked from Go) reports the refusal of a shutdown that came
// after its ShuttingDown check.
func TestTryAddRateLimitedReportsARefusalMidCall(t *testing.T) {
	typedLimiter := &shutsDownWhenAsked[string]{}
	typed := workqueue.NewTypedRateLimitingQueue[string](typedLimiter)
	defer typed.Close()
	typedLimiter.shutDown = typed.ShutDown
	if _, ok := typed.TryAddRateLimited("x"); ok {
		t.Error("Typed: a refused add reported accepted")
	}
	if typed.Len() != 0 || typed.DelayedLen() != 0 || typed.InternedKeys() != 0 {
		t.Fatalf("Typed: refused, yet Len %d, DelayedLen %d, interned %d", typed.Len(), typed.DelayedLen(), typed.InternedKeys())
	}

	rawLimiter := &shutsDownWhenAsked[uint64]{}
	raw := workqueue.NewRawQueueWithConfig(workqueue.RawQueueConfig{RateLimiter: rawLimiter})
	defer raw.Close()
	rawLimiter.shutDown = raw.ShutDown
	if _, ok := raw.TryAddRateLimitedWithPriority(7, 3); ok {
		t.Error("RawQueue: a refused add reported accepted")
	}
	if _, ok := raw.TryAddRateLimited(7); ok {
		t.Fatal("RawQueue: an add after shutdown reported accepted")
	}
}

// TestRunWorkersOnClientGoQueueAbandons: client-go's queue does not say
// whether it took a requeue; one that is shutting down takes none, and
// the loop counts those runs abandoned.
func TestRunWorkersOnClientGoQueueAbandons(t *testing.T) {
	q := clientgo.NewTypedRateLimitingQueue(clientgo.DefaultTypedControllerRateLimiter[int]())
	q.Add(1)
	q.Add(2)
	var runs atomic.Uint64
	report := workqueue.RunWorkers[int](context.Background(), q, func(context.Context, int) error {
		runs.Add(1)
		q.ShutDown() // queued items are still handed out
		return errFlaky
	}, workqueue.WorkerOptions[int]{})
	if report != (workqueue.WorkerReport{Abandoned: 2}) {
		t.Fatalf("report = %+v", report)
	}
	checkRuns(t, report, runs.Load())
	if n := q.NumRequeues(1); n != 0 {
		t.Fatalf("the limiter was asked for an abandoned item: NumRequeues = %d", n)
	}
}

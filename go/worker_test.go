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
	if report.Succeeded != 3 || report.Retried != 3 || report.Dropped != 1 {
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

package workqueue_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workqueue-project/workqueue/go"
)

func TestSemaphoreBoundsConcurrency(t *testing.T) {
	sem := workqueue.NewSemaphore(3)
	defer sem.Close()
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sem.Acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
			inside.Add(-1)
			sem.Release()
		}()
	}
	wg.Wait()
	if m := most.Load(); m > 3 || m < 1 {
		t.Fatalf("%d holders at once, want at most 3", m)
	}
	if n := sem.Available(); n != 3 {
		t.Fatalf("Available = %d", n)
	}
}

func TestSemaphoreTryTimeoutAndContext(t *testing.T) {
	sem := workqueue.NewSemaphore(1)
	defer sem.Close()
	if !sem.TryAcquire() {
		t.Fatal("TryAcquire of a free semaphore failed")
	}
	if sem.TryAcquire() {
		t.Fatal("TryAcquire of a taken semaphore succeeded")
	}
	start := time.Now()
	if sem.AcquireTimeout(20 * time.Millisecond) {
		t.Fatal("AcquireTimeout succeeded on a taken semaphore")
	}
	if took := time.Since(start); took < 15*time.Millisecond {
		t.Fatalf("AcquireTimeout gave up after %v", took)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := sem.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire = %v", err)
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		sem.Release() // by another goroutine than the acquirer
	}()
	if !sem.AcquireTimeout(5 * time.Second) {
		t.Fatal("AcquireTimeout missed the release")
	}
	sem.Release()
}

func TestSemaphoreMisuse(t *testing.T) {
	func() {
		defer func() {
			if recover() == nil {
				t.Error("NewSemaphore(0) should panic")
			}
		}()
		workqueue.NewSemaphore(0)
	}()
	sem := workqueue.NewSemaphore(1)
	defer func() {
		if recover() == nil {
			t.Error("releasing a permit not held should panic")
		}
		sem.Close()
	}()
	sem.Release()
}

func TestSemaphoreCloseReleasesWaiters(t *testing.T) {
	sem := workqueue.NewSemaphore(1)
	sem.TryAcquire()
	result := make(chan error)
	go func() { result <- sem.Acquire(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	sem.Close()
	select {
	case err := <-result:
		if !errors.Is(err, workqueue.ErrClosed) {
			t.Fatalf("Acquire after Close = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release the waiter")
	}
	if sem.TryAcquire() || sem.Available() != 0 {
		t.Fatal("a closed semaphore should refuse")
	}
}

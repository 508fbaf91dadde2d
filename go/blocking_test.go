package workqueue_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/workqueue-project/workqueue/go"
)

// Blocking: ShutDown releases every blocked getter; GetWithContext returns
// as soon as its context ends; Close releases everything and then the
// queue behaves as shut down.

func waitAll(t *testing.T, wg *sync.WaitGroup, within time.Duration, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(within):
		t.Fatalf("%s: not released within %v", what, within)
	}
}

func TestShutDownReleasesEveryBlockedGetter(t *testing.T) {
	q := workqueue.NewTyped[string]()
	defer q.Close()
	raw := workqueue.NewRawQueue()
	defer raw.Close()
	const getters = 20
	var wg sync.WaitGroup
	for i := 0; i < getters; i++ {
		wg.Add(3)
		go func() {
			defer wg.Done()
			if _, shutdown := q.Get(); !shutdown {
				t.Error("Get returned an item from an empty queue")
			}
		}()
		go func() {
			defer wg.Done()
			if _, shutdown, err := q.GetWithContext(context.Background()); !shutdown || err != nil {
				t.Errorf("GetWithContext = %v, %v", shutdown, err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, shutdown := raw.Get(); !shutdown {
				t.Error("raw Get returned a key from an empty queue")
			}
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them block
	q.ShutDown()
	raw.ShutDown()
	waitAll(t, &wg, 10*time.Second, "blocked getters after ShutDown")
}

func TestGetWithContextCancel(t *testing.T) {
	q := workqueue.NewTyped[string]()
	defer q.Close()
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() {
		_, _, err := q.GetWithContext(ctx)
		result <- err
	}()
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-result:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if took := time.Since(start); took > 100*time.Millisecond {
			t.Fatalf("returned %v after the cancel", took)
		}
		t.Logf("returned %v after the cancel", time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("GetWithContext ignored the cancel")
	}
	// The queue still works.
	q.Add("x")
	if item, _, err := q.GetWithContext(context.Background()); err != nil || item != "x" {
		t.Fatalf("after a cancelled get: %q, %v", item, err)
	}
}

func TestGetWithContextDeadline(t *testing.T) {
	raw := workqueue.NewRawQueue()
	defer raw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := raw.GetWithContext(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(start); took < 25*time.Millisecond || took > 500*time.Millisecond {
		t.Fatalf("took %v for a 30 ms deadline", took)
	}
}

func TestGetWithContextGetsLaterItems(t *testing.T) {
	q := workqueue.NewTyped[int]()
	defer q.Close()
	const n = 200
	got := make(chan int, n)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				item, shutdown, err := q.GetWithContext(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if shutdown {
					return
				}
				got <- item
				q.Done(item)
			}
		}()
	}
	for i := 0; i < n; i++ {
		q.Add(i)
		if i%10 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	seen := map[int]bool{}
	for len(seen) < n {
		select {
		case i := <-got:
			seen[i] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d items arrived", len(seen), n)
		}
	}
	q.ShutDown()
	waitAll(t, &wg, 10*time.Second, "context getters after ShutDown")
}

func TestGetBatchWithContext(t *testing.T) {
	q := workqueue.NewTyped[string]()
	defer q.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if items, _, err := q.GetBatchWithContext(ctx, 10); !errors.Is(err, context.DeadlineExceeded) || len(items) != 0 {
		t.Fatalf("empty queue: %v %v", items, err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		q.AddBatch([]string{"a", "b", "c"})
	}()
	items, shutdown, err := q.GetBatchWithContext(context.Background(), 10)
	if err != nil || shutdown || len(items) == 0 || items[0] != "a" {
		t.Fatalf("GetBatchWithContext = %v %v %v", items, shutdown, err)
	}
	raw := workqueue.NewRawQueue()
	defer raw.Close()
	raw.AddBatch([]uint64{5, 6})
	buf := make([]uint64, 4)
	if n, _, err := raw.GetBatchWithContext(context.Background(), buf); err != nil || n != 2 || buf[0] != 5 {
		t.Fatalf("raw GetBatchWithContext = %v %v", buf[:n], err)
	}
}

func TestShutDownWithDrainTimeout(t *testing.T) {
	q := workqueue.NewTyped[string]()
	defer q.Close()
	q.Add("a")
	item, _ := q.Get()
	if q.ShutDownWithDrainTimeout(10 * time.Millisecond) {
		t.Fatal("drained while an item was being processed")
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		q.Done(item)
	}()
	if !q.ShutDownWithDrainTimeout(10 * time.Second) {
		t.Fatal("not drained after Done")
	}
}

func TestCloseReleasesBlockedCallsAndActsShutDown(t *testing.T) {
	q := workqueue.NewTyped[string]()
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			q.Get()
		}()
		go func() {
			defer wg.Done()
			q.GetWithContext(context.Background())
		}()
	}
	q.Add("in flight")
	time.Sleep(30 * time.Millisecond)
	closed := make(chan struct{})
	go func() {
		q.Close()
		close(closed)
	}()
	waitAll(t, &wg, 10*time.Second, "blocked getters after Close")
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	q.Close() // idempotent
	if q.TryAdd("x") {
		t.Error("TryAdd on a closed queue reported true")
	}
	q.Add("x")
	q.AddAfter("x", time.Second)
	q.AddRateLimited("x")
	if _, shutdown := q.Get(); !shutdown {
		t.Error("Get on a closed queue should report shutdown")
	}
	if _, ok, shutdown := q.TryGet(); ok || !shutdown {
		t.Error("TryGet on a closed queue should report shutdown")
	}
	if _, shutdown, err := q.GetWithContext(context.Background()); !shutdown || err != nil {
		t.Error("GetWithContext on a closed queue should report shutdown")
	}
	if q.Len() != 0 || q.ProcessingLen() != 0 || q.DelayedLen() != 0 || !q.ShuttingDown() {
		t.Error("a closed queue should be empty and shutting down")
	}
	if q.TryDone("in flight") {
		t.Error("TryDone on a closed queue reported true")
	}
	q.ShutDown()
	q.ShutDownWithDrain()
	if q.AddBatch([]string{"a"}) != 0 || q.DoneBatch([]string{"a"}) != 0 {
		t.Error("batches on a closed queue did something")
	}
	if q.InternedKeys() != 0 {
		t.Error("Close should drop the interned items")
	}
}

// TestShutDownDropsDelayedEntries: items waiting for a delay are dropped
// by a shutdown, and so are their interned entries.
func TestShutDownDropsDelayedEntries(t *testing.T) {
	q := workqueue.NewTyped[string]()
	defer q.Close()
	q.Add("queued")
	for i := 0; i < 100; i++ {
		q.AddAfter("later-"+string(rune('a'+i%26))+string(rune('a'+i/26)), time.Hour)
	}
	if n := q.InternedKeys(); n != 101 {
		t.Fatalf("%d interned before shutdown", n)
	}
	q.ShutDown()
	if n := q.InternedKeys(); n != 1 {
		t.Fatalf("%d interned after shutdown, want 1 (the queued item)", n)
	}
	item, _ := q.Get()
	q.Done(item)
	if n := q.InternedKeys(); n != 0 {
		t.Fatalf("%d interned after the last Done", n)
	}
}

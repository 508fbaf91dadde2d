package workqueue_test

import (
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/workqueue-project/workqueue/go"
)

// The interner's size stays bounded when keys churn: a million distinct
// keys go through add → get → done → forget (some failing first, so the
// rate limiter tracks them too), and the interner ends near zero.

func key(i int) string { return "namespace-" + strconv.Itoa(i%101) + "/object-" + strconv.Itoa(i) }

func TestInternerBoundedUnderChurn(t *testing.T) {
	total := 1_000_000
	if raceEnabled {
		total = 200_000 // the race detector makes each step ~10x slower
	}
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Nanosecond, time.Nanosecond)
	q := workqueue.NewTypedRateLimitingQueue(limiter)
	defer q.Close()
	const window = 1000 // keys in flight at once
	peak := 0
	start := time.Now()
	for lo := 0; lo < total; lo += window {
		for i := lo; i < lo+window; i++ {
			q.Add(key(i))
		}
		if n := q.InternedKeys(); n > peak {
			peak = n
		}
		for i := lo; i < lo+window; i++ {
			item, _ := q.Get()
			if i%10 == 0 {
				// A failure: retried once through the rate limiter.
				q.AddRateLimited(item)
				q.Done(item)
				again, _ := q.Get()
				q.Done(again)
				q.Forget(again)
				continue
			}
			q.Done(item)
			q.Forget(item)
		}
	}
	runtime.GC()
	t.Logf("%d distinct keys in %v; interner peak %d entries, now %d; limiter tracks %d",
		total, time.Since(start).Round(time.Millisecond), peak, q.InternedKeys(), limiterTracked(limiter))
	if peak > 2*window {
		t.Errorf("interner peaked at %d entries with %d keys in flight", peak, window)
	}
	if n := q.InternedKeys(); n != 0 {
		t.Errorf("interner holds %d entries after every key was done", n)
	}
	if n, bound := workqueue.InternerEntries(q), workqueue.MaxIdleEntries(q); n > bound {
		t.Errorf("interner keeps %d idle entries, more than its bound %d", n, bound)
	}
	if n := limiterTracked(limiter); n != 0 {
		t.Errorf("the limiter's interner holds %d entries after every key was forgotten", n)
	}
	if q.Len() != 0 || q.ProcessingLen() != 0 || q.DelayedLen() != 0 {
		t.Errorf("queue not empty: %d %d %d", q.Len(), q.ProcessingLen(), q.DelayedLen())
	}
}

// TestInternerBoundedUnderConcurrentChurn: the same with producers and
// workers racing (adds of a key while it is being done).
func TestInternerBoundedUnderConcurrentChurn(t *testing.T) {
	total, rounds := 200_000, 10
	if raceEnabled {
		total, rounds = 40_000, 3
	}
	for round := 0; round < rounds; round++ {
		concurrentChurn(t, total)
	}
}

func concurrentChurn(t *testing.T, total int) {
	q := workqueue.NewTyped[string]()
	defer q.Close()
	const producers, workers, keySpace = 4, 4, 5000
	var pw, ww sync.WaitGroup
	for p := 0; p < producers; p++ {
		pw.Add(1)
		go func(p int) {
			defer pw.Done()
			for i := p; i < total; i += producers {
				q.Add(key(i % keySpace)) // keys recur: adds race with dones
			}
		}(p)
	}
	for w := 0; w < workers; w++ {
		ww.Add(1)
		go func() {
			defer ww.Done()
			for {
				item, shutdown := q.Get()
				if shutdown {
					return
				}
				q.Done(item)
			}
		}()
	}
	pw.Wait()
	if !q.ShutDownWithDrainTimeout(30 * time.Second) {
		t.Fatal("the queue did not drain")
	}
	ww.Wait()
	if n := q.InternedKeys(); n != 0 {
		t.Errorf("interner holds %d entries after the drain", n)
	}
}

func limiterTracked(l workqueue.TypedRateLimiter[string]) int {
	return workqueue.LimiterTrackedKeys(l)
}

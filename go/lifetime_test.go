package workqueue_test

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/workqueue-project/workqueue/go"
)

// Handle lifetimes: native objects are freed by Close or, when forgotten,
// by the garbage collector, never while a call is using them. `make
// test-go` also runs these tests with GOGC=1, so a collection happens at
// almost every allocation: a handle freed too early shows up as a crash.

// waitFreed collects garbage until at most want native objects are live.
func waitFreed(t *testing.T, want int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for workqueue.LiveNativeObjects() > want {
		if time.Now().After(deadline) {
			t.Fatalf("%d native objects still live, want at most %d", workqueue.LiveNativeObjects(), want)
		}
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLifetimeForgottenObjectsAreFreed(t *testing.T) {
	runtime.GC()
	before := workqueue.LiveNativeObjects()
	for i := 0; i < 200; i++ {
		clock := workqueue.NewManualClock()
		limiter := workqueue.NewTypedMaxOfRateLimiter(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, time.Second),
			workqueue.NewTypedTokenBucketRateLimiter[string](10, 10),
		)
		q := workqueue.NewTypedRateLimitingQueueWithConfig(limiter, workqueue.TypedRateLimitingQueueConfig[string]{Clock: clock})
		q.Add("a")
		q.AddRateLimited("b")
		raw := workqueue.NewRawQueueWithConfig(workqueue.RawQueueConfig{
			RateLimiter: workqueue.DefaultTypedControllerRateLimiter[uint64](),
		})
		raw.Add(1)
		sem := workqueue.NewSemaphore(2)
		sem.TryAcquire()
		// Forgotten: no Close.
	}
	waitFreed(t, before)
}

func TestLifetimeCloseFreesAtOnce(t *testing.T) {
	runtime.GC()
	before := workqueue.LiveNativeObjects()
	q := workqueue.NewRawQueue()
	if workqueue.LiveNativeObjects() != before+1 {
		t.Fatalf("a RawQueue with the library's limiter is one native object")
	}
	q.Close()
	if got := workqueue.LiveNativeObjects(); got != before {
		t.Fatalf("%d native objects after Close, want %d", got, before)
	}
	q.Close()
	s := workqueue.NewSemaphore(1)
	s.Close()
	s.Close()
	if got := workqueue.LiveNativeObjects(); got != before {
		t.Fatalf("%d native objects after closing a semaphore, want %d", got, before)
	}
}

// TestLifetimeUseWhileCollecting: queues used only through goroutines that
// block in them (the caller drops its reference at once) stay alive while
// blocked, and are freed after.
func TestLifetimeUseWhileCollecting(t *testing.T) {
	runtime.GC()
	before := workqueue.LiveNativeObjects()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		start(&wg, workqueue.NewTyped[string](), workqueue.NewRawQueue())
	}
	wg.Wait()
	waitFreed(t, before)
}

// start runs a worker on each queue and a producer that shuts them down;
// the caller keeps no reference.
func start(wg *sync.WaitGroup, q *workqueue.Typed[string], raw *workqueue.RawQueue) {
	wg.Add(3)
	go func() {
		defer wg.Done()
		for {
			item, shutdown := q.Get()
			if shutdown {
				return
			}
			q.Done(item)
		}
	}()
	go func() {
		defer wg.Done()
		for {
			_, shutdown, err := raw.GetWithContext(context.Background())
			if shutdown || err != nil {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for j := 0; j < 200; j++ {
			q.Add(strconv.Itoa(j % 17))
			raw.Add(uint64(j))
			if j%50 == 0 {
				runtime.GC()
			}
		}
		q.ShutDownWithDrain()
		raw.ShutDown()
	}()
}

// TestLifetimeCloseRacesWithCalls: Close while other goroutines are in
// every kind of call; nothing crashes and every call returns.
func TestLifetimeCloseRacesWithCalls(t *testing.T) {
	for round := 0; round < 20; round++ {
		q := workqueue.NewTyped[int]()
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					switch (i + w) % 6 {
					case 0:
						q.Add(i % 100)
					case 1:
						if item, ok, _ := q.TryGet(); ok {
							q.Done(item)
						}
					case 2:
						q.AddBatch([]int{i % 100, (i + 1) % 100})
					case 3:
						items, _ := q.TryGetBatch(4)
						q.DoneBatch(items)
					case 4:
						q.AddAfter(i%100, time.Microsecond)
					case 5:
						ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
						if item, shutdown, err := q.GetWithContext(ctx); err == nil && !shutdown {
							q.Done(item)
						}
						cancel()
					}
				}
			}(w)
		}
		time.Sleep(5 * time.Millisecond)
		q.Close()
		close(stop)
		wg.Wait()
	}
}

// TestLifetimeForgottenNamedQueuesWhileScraping: named queues dropped
// without Close, with adds still in their submission rings, are collected
// while another goroutine scrapes the metrics (a scrape applies every
// named queue's ring): the ring must not be freed before its queue.
func TestLifetimeForgottenNamedQueuesWhileScraping(t *testing.T) {
	stop := make(chan struct{})
	scraped := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				scraped <- n
				return
			default:
				workqueue.PrometheusText()
				n++
			}
		}
	}()
	runtime.GC()
	before := workqueue.LiveNativeObjects()
	for round := 0; round < 30; round++ {
		for i := 0; i < 100; i++ {
			q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{Name: "forgotten-" + strconv.Itoa(i)})
			q.Add("a")
			q.Add("b")
		}
		runtime.GC()
	}
	waitFreed(t, before)
	close(stop)
	select {
	case n := <-scraped:
		if n == 0 {
			t.Error("no scrape ran")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a scrape hung (on a freed ring?)")
	}
}

func TestVersion(t *testing.T) {
	major, minor, patch := workqueue.HeaderVersion()
	want := strconv.Itoa(major) + "." + strconv.Itoa(minor) + "." + strconv.Itoa(patch)
	if got := workqueue.Version(); got != want {
		t.Fatalf("library %s, header %s", got, want)
	}
}

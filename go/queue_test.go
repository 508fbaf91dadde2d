package workqueue_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/workqueue-project/workqueue/go"
)

// The behaviours of client-go's queue_test.go, written for this package,
// on the untyped queue (as upstream), a typed queue and a raw queue.

type shutdownFunc struct {
	name string
	call func(workqueue.Interface)
}

var shutdowns = []shutdownFunc{
	{"ShutDown", workqueue.Interface.ShutDown},
	{"ShutDownWithDrain", workqueue.Interface.ShutDownWithDrain},
}

// TestBasic: many producers and consumers; every added item is returned,
// an item added after shutdown never is, the queue ends empty.
func TestBasic(t *testing.T) {
	for _, sd := range shutdowns {
		t.Run(sd.name, func(t *testing.T) {
			q := workqueue.New()
			defer q.Close()
			const producers, consumers = 50, 10
			var producerWG, consumerWG sync.WaitGroup
			var seen sync.Map
			producerWG.Add(producers)
			for i := 0; i < producers; i++ {
				go func(i int) {
					defer producerWG.Done()
					for j := 0; j < 50; j++ {
						q.Add(i)
						time.Sleep(time.Millisecond)
					}
				}(i)
			}
			consumerWG.Add(consumers)
			for i := 0; i < consumers; i++ {
				go func() {
					defer consumerWG.Done()
					for {
						item, quit := q.Get()
						if item == "added after shutdown!" {
							t.Errorf("got an item added after shutdown")
						}
						if quit {
							return
						}
						seen.Store(item, true)
						time.Sleep(3 * time.Millisecond)
						q.Done(item)
					}
				}()
			}
			producerWG.Wait()
			sd.call(q)
			q.Add("added after shutdown!")
			consumerWG.Wait()
			if n := q.Len(); n != 0 {
				t.Errorf("expected the queue to be empty, had %d items", n)
			}
			for i := 0; i < producers; i++ {
				if _, ok := seen.Load(i); !ok {
					t.Errorf("item %d was never handed out", i)
				}
			}
		})
	}
}

// TestAddWhileProcessing: each item re-added once while being processed is
// processed again, and the queue still drains.
func TestAddWhileProcessing(t *testing.T) {
	for _, sd := range shutdowns {
		t.Run(sd.name, func(t *testing.T) {
			q := workqueue.New()
			defer q.Close()
			const producers, consumers = 50, 10
			var producerWG, consumerWG sync.WaitGroup
			var runs sync.Map // item → *atomic.Int32
			producerWG.Add(producers)
			for i := 0; i < producers; i++ {
				go func(i int) {
					defer producerWG.Done()
					q.Add(i)
				}(i)
			}
			consumerWG.Add(consumers)
			for i := 0; i < consumers; i++ {
				go func() {
					defer consumerWG.Done()
					counters := map[any]int{}
					for {
						item, quit := q.Get()
						if quit {
							return
						}
						n, _ := runs.LoadOrStore(item, new(atomic.Int32))
						n.(*atomic.Int32).Add(1)
						counters[item]++
						if counters[item] < 2 {
							q.Add(item)
						}
						q.Done(item)
					}
				}()
			}
			producerWG.Wait()
			// Let the re-adds happen before shutting down: a plain
			// shutdown refuses later adds.
			deadline := time.Now().Add(10 * time.Second)
			for q.Len() > 0 || q.ProcessingLen() > 0 {
				if time.Now().After(deadline) {
					t.Fatal("the queue did not drain")
				}
				time.Sleep(time.Millisecond)
			}
			sd.call(q)
			consumerWG.Wait()
			if n := q.Len(); n != 0 {
				t.Errorf("expected the queue to be empty, had %d items", n)
			}
			runs.Range(func(item, n any) bool {
				if got := n.(*atomic.Int32).Load(); got < 2 {
					t.Errorf("item %v ran %d times, want at least 2", item, got)
				}
				return true
			})
		})
	}
}

// TestLen: a duplicate Add does not grow Len.
func TestLen(t *testing.T) {
	q := workqueue.New()
	defer q.Close()
	q.Add("foo")
	if e, a := 1, q.Len(); e != a {
		t.Errorf("expected %v, got %v", e, a)
	}
	q.Add("bar")
	if e, a := 2, q.Len(); e != a {
		t.Errorf("expected %v, got %v", e, a)
	}
	q.Add("foo") // should not increase the queue length.
	if e, a := 2, q.Len(); e != a {
		t.Errorf("expected %v, got %v", e, a)
	}
}

// TestReinsert: Add during processing, then Done, makes the item available
// again; after that the queue is empty.
func TestReinsert(t *testing.T) {
	q := workqueue.New()
	defer q.Close()
	q.Add("foo")
	i, _ := q.Get()
	if i != "foo" {
		t.Errorf("expected %v, got %v", "foo", i)
	}
	q.Add(i)
	q.Done(i)
	i, _ = q.Get()
	if i != "foo" {
		t.Errorf("expected %v, got %v", "foo", i)
	}
	q.Done(i)
	if a := q.Len(); a != 0 {
		t.Errorf("expected queue to be empty, has %v items", a)
	}
}

// TestCollapse: two Adds give one Get.
func TestCollapse(t *testing.T) {
	q := workqueue.NewTyped[string]()
	defer q.Close()
	if !q.TryAdd("bar") {
		t.Error("the first add should schedule a run")
	}
	if q.TryAdd("bar") {
		t.Error("the second add should collapse")
	}
	i, _ := q.Get()
	if i != "bar" {
		t.Errorf("expected %v, got %v", "bar", i)
	}
	q.Done(i)
	if a := q.Len(); a != 0 {
		t.Errorf("expected queue to be empty, has %v items", a)
	}
}

// TestCollapseWhileProcessing: two Adds during processing give exactly one
// more run, and a second worker does not get the item until Done.
func TestCollapseWhileProcessing(t *testing.T) {
	q := workqueue.NewTyped[string]()
	defer q.Close()
	q.Add("foo")
	i, _ := q.Get()
	if i != "foo" {
		t.Errorf("expected %v, got %v", "foo", i)
	}
	q.Add("foo")
	q.Add("foo")

	waitCh := make(chan struct{})
	go func() {
		defer close(waitCh)
		i, _ := q.Get()
		if i != "foo" {
			t.Errorf("expected %v, got %v", "foo", i)
		}
		q.Done(i)
	}()

	time.Sleep(100 * time.Millisecond)
	select {
	case <-waitCh:
		t.Errorf("worker should be blocked until we are done")
	default:
		q.Done("foo")
	}
	<-waitCh
	if a := q.Len(); a != 0 {
		t.Errorf("expected queue to be empty, has %v items", a)
	}
}

// TestQueueDrainageUsingShutDownWithDrain: the drain waits for the items
// being processed while Get reports shutdown.
func TestQueueDrainageUsingShutDownWithDrain(t *testing.T) {
	q := workqueue.New()
	defer q.Close()
	q.Add("foo")
	q.Add("bar")
	firstItem, _ := q.Get()
	secondItem, _ := q.Get()

	drained := make(chan struct{})
	go func() {
		defer close(drained)
		q.ShutDownWithDrain()
	}()

	shuttingDown := false
	for !shuttingDown {
		_, shuttingDown = q.Get()
	}
	select {
	case <-drained:
		t.Fatal("the drain ended while items were being processed")
	case <-time.After(20 * time.Millisecond):
	}
	q.Done(firstItem)
	q.Done(secondItem)
	<-drained
}

// TestNoQueueDrainageUsingShutDown: plain ShutDown returns at once.
func TestNoQueueDrainageUsingShutDown(t *testing.T) {
	q := workqueue.New()
	defer q.Close()
	q.Add("foo")
	q.Add("bar")
	q.Get()
	q.Get()
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.ShutDown()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ShutDown waited for the items being processed")
	}
}

// TestForceQueueShutdownUsingShutDown: a later plain ShutDown releases a
// waiting ShutDownWithDrain.
func TestForceQueueShutdownUsingShutDown(t *testing.T) {
	q := workqueue.New()
	defer q.Close()
	q.Add("foo")
	q.Add("bar")
	q.Get()
	q.Get()
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.ShutDownWithDrain()
	}()
	shuttingDown := false
	for !shuttingDown {
		_, shuttingDown = q.Get()
	}
	q.ShutDown()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ShutDown did not release ShutDownWithDrain")
	}
}

// TestQueueDrainageUsingShutDownWithDrainWithDirtyItem: Done of an item
// added again while being processed hands it out once more during the
// drain. Unlike client-go, a getter meanwhile waits (the item will come
// back) instead of reporting shutdown.
func TestQueueDrainageUsingShutDownWithDrainWithDirtyItem(t *testing.T) {
	q := workqueue.New()
	defer q.Close()
	q.Add("foo")
	gotten, _ := q.Get()
	q.Add("foo")

	drained := make(chan struct{})
	go func() {
		defer close(drained)
		q.ShutDownWithDrain()
	}()
	for !q.ShuttingDown() {
		time.Sleep(time.Millisecond)
	}

	again := make(chan any)
	go func() {
		item, shutdown := q.Get()
		if shutdown {
			t.Error("should not have been done: the dirty item comes back")
		}
		again <- item
	}()
	select {
	case <-again:
		t.Fatal("a getter got something before Done")
	case <-time.After(20 * time.Millisecond):
	}
	q.Done(gotten)
	item := <-again
	if item != "foo" {
		t.Fatalf("got %v, want foo", item)
	}
	q.Done(item)
	if _, shutdown := q.Get(); !shutdown {
		t.Fatal("should have been done")
	}
	<-drained
}

// TestGarbageCollection: items that went through the queue can be
// collected (the interner keeps nothing it does not need).
func TestGarbageCollection(t *testing.T) {
	type bigObject struct {
		data []byte
	}
	q := workqueue.New()
	defer q.Close()
	c := &bigObject{data: []byte("hello")}
	var collected atomic.Bool
	runtime.AddCleanup(c, func(int) { collected.Store(true) }, 0)
	q.Add(c)
	o, _ := q.Get()
	q.Done(o)
	c, o = nil, nil
	deadline := time.Now().Add(10 * time.Second)
	for !collected.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the item was not garbage collected")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	runtime.KeepAlive(q)
}

// TestRawQueueBasics: the same rules on uint64 keys.
func TestRawQueueBasics(t *testing.T) {
	q := workqueue.NewRawQueue()
	defer q.Close()
	if !q.TryAdd(1) || q.TryAdd(1) {
		t.Fatal("the second add should collapse")
	}
	if n := q.AddBatch([]uint64{2, 3, 1}); n != 2 {
		t.Fatalf("AddBatch scheduled %d, want 2", n)
	}
	buf := make([]uint64, 8)
	n, shutdown := q.GetBatch(buf)
	if shutdown || n != 3 || buf[0] != 1 || buf[1] != 2 || buf[2] != 3 {
		t.Fatalf("GetBatch = %v %v, want [1 2 3]", buf[:n], shutdown)
	}
	q.Add(2)
	if q.Len() != 0 || q.ProcessingLen() != 3 {
		t.Fatalf("len %d processing %d", q.Len(), q.ProcessingLen())
	}
	if d := q.DoneBatch(buf[:n]); d != 3 {
		t.Fatalf("DoneBatch = %d, want 3", d)
	}
	if k, ok, _ := q.TryGet(); !ok || k != 2 {
		t.Fatalf("TryGet = %d %v, want 2", k, ok)
	}
	if !q.TryDone(2) || q.TryDone(2) {
		t.Fatal("TryDone should report whether the key was being processed")
	}
	q.ShutDown()
	if _, shutdown := q.Get(); !shutdown {
		t.Fatal("Get should report shutdown")
	}
}

// TestTypedExtensions: TryAdd, batches and the lengths on typed items.
func TestTypedExtensions(t *testing.T) {
	type key struct {
		ns, name string
	}
	q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[key]{Name: "extensions"})
	defer q.Close()
	if q.Name() != "extensions" {
		t.Errorf("Name = %q", q.Name())
	}
	a, b, c := key{"x", "a"}, key{"x", "b"}, key{"y", "c"}
	if n := q.AddBatch([]key{a, b, a, c}); n != 3 {
		t.Fatalf("AddBatch = %d, want 3", n)
	}
	items, shutdown := q.GetBatch(2)
	if shutdown || len(items) != 2 || items[0] != a || items[1] != b {
		t.Fatalf("GetBatch = %v %v", items, shutdown)
	}
	if !q.TryAdd(a) || q.TryAdd(a) {
		t.Fatal("re-add during processing schedules one run")
	}
	if n := q.DoneBatch(items); n != 2 {
		t.Fatalf("DoneBatch = %d", n)
	}
	items, _ = q.TryGetBatch(10)
	if len(items) != 2 || items[0] != c || items[1] != a {
		t.Fatalf("TryGetBatch = %v, want [c a]", items)
	}
	q.DoneBatch(items)
	if items, _ := q.TryGetBatch(10); len(items) != 0 {
		t.Fatalf("TryGetBatch of an empty queue = %v", items)
	}
	if n := q.InternedKeys(); n != 0 {
		t.Fatalf("%d keys interned after everything was done", n)
	}
}

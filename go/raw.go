package workqueue

import (
	"context"
	"runtime"
	"strings"
	"time"
	"unsafe"
)

// RawQueue is the fastest path: a queue of uint64 keys, each call one
// crossing into libworkqueue with no interning. It implements
// TypedRateLimitingInterface[uint64] and has the same extensions as Typed.
//
// Its keys are the library's keys, so a RawQueue can be shared with C/C++
// code in the same process (Handle, WrapRawQueue).
//
// When its rate limiter is one this package made (its constructors over
// uint64, composites of them, DefaultTypedControllerRateLimiter[uint64]),
// the limiter runs inside the library: AddRateLimited is one call, and C
// code calling wq_queue_add_rate_limited on the same queue shares the
// backoff state. Any other TypedRateLimiter[uint64] is asked from Go.
type RawQueue struct {
	h     *queueHandle
	clock *ManualClock
	rl    TypedRateLimiter[uint64] // asked from Go; nil when the library asks its own
	m     *metricsBridge[uint64]   // nil: no MetricsProvider
}

// RawQueueConfig configures a RawQueue.
type RawQueueConfig struct {
	// Name for the queue: the "name" label of its metrics. Only a named
	// queue keeps metrics.
	Name string
	// MetricsProvider receives the queue's metrics as client-go's queue
	// feeds them (see TypedQueueConfig); nil: the one given to SetProvider.
	// It sees the calls made through this RawQueue, not those C code makes
	// on the shared queue.
	MetricsProvider MetricsProvider
	// Clock is a manual clock for tests; nil is the real clock.
	Clock *ManualClock
	// RateLimiter behind AddRateLimited; nil is
	// DefaultTypedControllerRateLimiter[uint64]().
	RateLimiter TypedRateLimiter[uint64]
	// PriorityAging: see TypedQueueConfig.
	PriorityAging time.Duration
}

// NewRawQueue returns a queue of uint64 keys with the default controller
// rate limiter.
func NewRawQueue() *RawQueue { return NewRawQueueWithConfig(RawQueueConfig{}) }

// NewRawQueueWithConfig returns a configured queue of uint64 keys.
func NewRawQueueWithConfig(config RawQueueConfig) *RawQueue {
	rl := config.RateLimiter
	var native *cLimiter
	if rl == nil {
		native = nil // the library's default controller limiter
	} else if nh, ok := rl.(nativeHandle); ok {
		native = nh.cHandle()
	}
	q := &RawQueue{clock: config.Clock}
	if rl != nil && native == nil {
		q.rl = rl
		native = idleLimiter()
	}
	name := strings.ToValidUTF8(config.Name, "\uFFFD")
	q.m = newMetricsBridge[uint64](name, config.MetricsProvider, config.Clock)
	h, err := newQueueHandle(name, native, config.Clock, config.PriorityAging, submits(q.m, config.PriorityAging))
	runtime.KeepAlive(rl)
	if err != nil {
		panic(err)
	}
	q.h = h
	return q
}

// Handle is the native wq_queue* for C code in the same process (cast it
// to *C.wq_queue). It stays valid until Close, or, if Close is never
// called, while q is reachable: keep q alive (runtime.KeepAlive) while C
// uses it. C code may call every wq_queue_* function on it except
// wq_queue_free.
func (q *RawQueue) Handle() unsafe.Pointer { return unsafe.Pointer(q.h.ptr) }

// WrapRawQueue gives Go access to a wq_queue* made by C code (pass the
// C pointer as unsafe.Pointer). The C side keeps ownership: Close shuts
// the queue down and stops Go's use of it but does not free it, and the C
// side must not free it while Go still uses it. AddRateLimited, Forget
// and NumRequeues use the queue's own rate limiter.
func WrapRawQueue(handle unsafe.Pointer) *RawQueue {
	if handle == nil {
		panic(statusError("WrapRawQueue", stNullArgument))
	}
	h := &queueHandle{ptr: (*cQueue)(handle), fd: -1}
	h.owner = &cOwner{free: func() {}}
	return &RawQueue{h: h}
}

// Add marks key as needing processing.
func (q *RawQueue) Add(key uint64) {
	if !q.h.submit(submitAdd, key, 0) {
		q.add(key, 0, false, 0)
	}
}

// TryAdd is Add reporting whether it scheduled a new run of key.
func (q *RawQueue) TryAdd(key uint64) bool { return q.add(key, 0, false, 0) }

func (q *RawQueue) add(key uint64, delay time.Duration, after bool, priority int32) bool {
	added, _ := q.addReporting(key, delay, after, false, priority)
	return added
}

// addReporting is add; with retry set it also reports whether the queue
// refused key because it is shutting down (see Typed.addReporting).
func (q *RawQueue) addReporting(key uint64, delay time.Duration, after, retry bool, priority int32) (added, refused bool) {
	h := q.h
	if !h.enter() {
		return false, true
	}
	if q.m == nil {
		added, st := addID(h, key, delay, after, retry, priority)
		h.exit()
		return added, checkAdd(st, after, retry, priority)
	}
	now := q.m.begin()
	added, st := addID(h, key, delay, after, retry, priority)
	q.m.reported(key, after, delay, priority, added, st, now)
	h.exit()
	return added, checkAdd(st, after, retry, priority)
}

// AddBatch adds every key with one call and returns how many scheduled a
// new run.
func (q *RawQueue) AddBatch(keys []uint64) int { return q.addBatch(keys, 0) }

// addBatch is AddBatch at priority (AddBatchWithPriority).
func (q *RawQueue) addBatch(keys []uint64, priority int32) int {
	if q.m != nil {
		return countTrue(keys, func(k uint64) bool { return q.add(k, 0, false, priority) })
	}
	h := q.h
	if !h.enter() {
		return 0
	}
	n, st := queueAddBatch(h.ptr, keys, priority)
	h.exit()
	check("wq_queue_add_batch_with_priority", st)
	return n
}

// AddAfter adds key once duration has passed on the queue's clock.
func (q *RawQueue) AddAfter(key uint64, duration time.Duration) { q.add(key, duration, true, 0) }

// TryAddAfter is AddAfter reporting whether it added key or set its ready
// time.
func (q *RawQueue) TryAddAfter(key uint64, duration time.Duration) bool {
	return q.add(key, duration, true, 0)
}

// AddRateLimited adds key after the delay its rate limiter gives it now.
func (q *RawQueue) AddRateLimited(key uint64) { q.addRateLimited(key, 0) }

// TryAddRateLimited is AddRateLimited returning the delay chosen; false
// when the queue is shutting down and refused key (see
// Typed.TryAddRateLimited).
func (q *RawQueue) TryAddRateLimited(key uint64) (time.Duration, bool) {
	return q.addRateLimited(key, 0)
}

func (q *RawQueue) addRateLimited(key uint64, priority int32) (time.Duration, bool) {
	if q.rl != nil {
		if q.ShuttingDown() {
			return 0, false
		}
		delay := whenOn(q.rl, key, q.clock)
		if _, refused := q.addReporting(key, delay, true, true, priority); refused {
			return 0, false // shut down since the check
		}
		return delay, true
	}
	h := q.h
	if !h.enter() {
		return 0, false
	}
	var now time.Duration
	if q.m != nil {
		now = q.m.begin()
	}
	var delay time.Duration
	var st status
	if priority != 0 {
		delay, st = queueAddRateLimitedWithPriority(h.ptr, key, priority)
	} else {
		delay, st = queueAddRateLimited(h.ptr, key)
	}
	if q.m != nil {
		if st == stOK {
			// The library does not say what the add did; the bridge knows.
			q.m.addedAfter(key, delay, priority, delay <= 0 && q.m.predictAdd(key), now)
		}
		q.m.end(now)
	}
	h.exit()
	if st == stShutdown {
		return 0, false
	}
	if priority != 0 {
		check("wq_queue_add_rate_limited_with_priority", st)
	} else {
		check("wq_queue_add_rate_limited", st)
	}
	return delay, true
}

// Forget tells the rate limiter to stop tracking key.
func (q *RawQueue) Forget(key uint64) {
	if q.rl != nil {
		q.rl.Forget(key)
		return
	}
	h := q.h
	if !h.enter() {
		return
	}
	st := queueForget(h.ptr, key)
	h.exit()
	check("wq_queue_forget", st)
}

// NumRequeues is how many times key was rate-limited since it was last
// forgotten.
func (q *RawQueue) NumRequeues(key uint64) int {
	if q.rl != nil {
		return q.rl.NumRequeues(key)
	}
	h := q.h
	if !h.enter() {
		return 0
	}
	n, st := queueNumRequeues(h.ptr, key)
	h.exit()
	check("wq_queue_num_requeues", st)
	return n
}

// Get blocks until a key is ready (holding its OS thread, see
// Typed.Get); shutdown is true once the queue is shut down and empty.
func (q *RawQueue) Get() (key uint64, shutdown bool) {
	if q.m != nil {
		key, shutdown, _ = q.GetWithContext(context.Background())
		return key, shutdown
	}
	h := q.h
	if !h.enter() {
		return 0, true
	}
	defer h.exit()
	for spins := 0; ; spins++ {
		key, st := q.getOne(h, getTimeout(spins))
		switch st {
		case stOK:
			return key, false
		case stShutdown:
			return 0, true
		case stTimeout:
			runtime.Gosched()
		default:
			check("wq_queue_get", st)
		}
	}
}

// getOne gets a key, waiting up to timeout ns (see Typed.getOne).
func (q *RawQueue) getOne(h *queueHandle, timeout int64) (uint64, status) {
	held := q.m.holdForGet(timeout)
	key, st := queueGet(h.ptr, timeout)
	if st == stOK {
		switch {
		case held:
			q.m.record(key, q.m.now())
		case q.m != nil:
			q.m.got(key)
		}
	}
	if held {
		q.m.end(q.m.now())
	}
	return key, st
}

// TryGet hands out a ready key without waiting.
func (q *RawQueue) TryGet() (key uint64, ok bool, shutdown bool) {
	h := q.h
	if !h.enter() {
		return 0, false, true
	}
	key, st := q.getOne(h, noWait)
	h.exit()
	switch st {
	case stOK:
		return key, true, false
	case stTimeout:
		return 0, false, false
	case stShutdown:
		return 0, false, true
	}
	check("wq_queue_get", st)
	return 0, false, false
}

// GetWithContext is Get that returns ctx.Err() as soon as ctx is done,
// holding no OS thread while it waits (see Typed.GetWithContext).
func (q *RawQueue) GetWithContext(ctx context.Context) (key uint64, shutdown bool, err error) {
	h := q.h
	if !h.enter() {
		return 0, true, nil
	}
	defer h.exit()
	err = h.wait(ctx, func(timeout int64) bool {
		var st status
		var taken bool
		key, st = q.getOne(h, timeout)
		taken, shutdown = waitOutcome(st, "wq_queue_get")
		return taken
	})
	return key, shutdown, err
}

// GetBatch blocks until at least one key is ready, then fills dst with up
// to len(dst) ready keys, oldest first, and returns how many. shutdown is
// true once the queue is shut down and empty.
func (q *RawQueue) GetBatch(dst []uint64) (n int, shutdown bool) {
	return q.getBatch(dst, waitForever)
}

// TryGetBatch is GetBatch without waiting: n is 0 when no key is ready.
func (q *RawQueue) TryGetBatch(dst []uint64) (n int, shutdown bool) {
	return q.getBatch(dst, noWait)
}

func (q *RawQueue) getBatch(dst []uint64, timeout int64) (int, bool) {
	if len(dst) == 0 {
		return 0, false
	}
	h := q.h
	if !h.enter() {
		return 0, true
	}
	n, st := queueGetBatch(h.ptr, dst, timeout)
	h.exit()
	switch st {
	case stOK:
		if q.m != nil {
			q.m.gotMany(dst[:n])
		}
		return n, false
	case stTimeout:
		return 0, false
	case stShutdown:
		return 0, true
	}
	check("wq_queue_get_batch", st)
	return 0, false
}

// GetBatchWithContext is GetBatch that returns ctx.Err() as soon as ctx is
// done.
func (q *RawQueue) GetBatchWithContext(ctx context.Context, dst []uint64) (n int, shutdown bool, err error) {
	if len(dst) == 0 {
		return 0, false, nil
	}
	h := q.h
	if !h.enter() {
		return 0, true, nil
	}
	defer h.exit()
	err = h.wait(ctx, func(timeout int64) bool {
		got, st := queueGetBatch(h.ptr, dst, timeout)
		switch st {
		case stOK:
			if q.m != nil {
				q.m.gotMany(dst[:got])
			}
			n = got
			return true
		case stShutdown:
			shutdown = true
			return true
		case stTimeout:
			return false
		}
		check("wq_queue_get_batch", st)
		return false
	})
	return n, shutdown, err
}

// Done marks key as done processing.
func (q *RawQueue) Done(key uint64) {
	if !q.h.submit(submitDone, key, 0) {
		q.TryDone(key)
	}
}

// TryDone is Done reporting whether key was being processed.
func (q *RawQueue) TryDone(key uint64) bool {
	h := q.h
	if !h.enter() {
		return false
	}
	if q.m != nil {
		now := q.m.begin()
		was, st := queueDone(h.ptr, key)
		if st == stOK {
			q.m.done(key, was, now)
		}
		q.m.end(now)
		h.exit()
		check("wq_queue_done", st)
		return was
	}
	was, st := queueDone(h.ptr, key)
	h.exit()
	check("wq_queue_done", st)
	return was
}

// DoneBatch is Done for every key with one call; it returns how many were
// being processed.
func (q *RawQueue) DoneBatch(keys []uint64) int {
	if q.m != nil {
		return countTrue(keys, q.TryDone)
	}
	h := q.h
	if !h.enter() {
		return 0
	}
	n, st := queueDoneBatch(h.ptr, keys)
	h.exit()
	check("wq_queue_done_batch", st)
	return n
}

// Len is the number of keys ready to be handed out.
func (q *RawQueue) Len() int { return q.h.length(queueLen, "wq_queue_len") }

// ProcessingLen is the number of keys handed out and not yet done.
func (q *RawQueue) ProcessingLen() int {
	return q.h.length(queueProcessingLen, "wq_queue_processing_len")
}

// DelayedLen is the number of keys waiting for a delay.
func (q *RawQueue) DelayedLen() int { return q.h.length(queueDelayedLen, "wq_queue_delayed_len") }

// ShutDown stops accepting keys and releases every blocked getter.
func (q *RawQueue) ShutDown() {
	if q.m != nil {
		now := q.m.begin()
		q.h.shutdown()
		q.m.shutdown(now)
		q.m.end(now)
		return
	}
	q.h.shutdown()
}

// ShutDownWithDrain shuts down and waits until every queued or processing
// key is done (see Typed.ShutDownWithDrain).
func (q *RawQueue) ShutDownWithDrain() {
	q.m.shutdownNow()
	q.h.drain(waitForever)
}

// ShutDownWithDrainTimeout is ShutDownWithDrain waiting at most timeout.
func (q *RawQueue) ShutDownWithDrainTimeout(timeout time.Duration) bool {
	q.m.shutdownNow()
	return q.h.drain(max(timeout, 0).Nanoseconds())
}

// ShuttingDown reports whether the queue is shutting down.
func (q *RawQueue) ShuttingDown() bool { return q.h.shuttingDown() }

// Name is the name given in the config.
func (q *RawQueue) Name() string { return q.h.name }

// Close shuts the queue down and frees it; see Typed.Close.
func (q *RawQueue) Close() {
	q.m.shutdownNow()
	q.h.close()
}

package workqueue

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Typed is a work queue of comparable items with client-go's semantics,
// running in libworkqueue. It implements TypedInterface,
// TypedDelayingInterface, TypedRateLimitingInterface and PriorityQueue
// (controller-runtime's priority queue shape), and adds calls client-go
// lacks (TryAdd, batches, GetWithContext, ...).
//
// Items map to the library's uint64 keys through an interner that holds an
// item only while the queue does (queued, being processed, or waiting for
// a delay), so its size follows the queue's, however many distinct items
// pass through.
//
// A Typed queue is safe for concurrent use. Close it when done (or let
// the garbage collector free it); see Close.
type Typed[T comparable] struct {
	h     *queueHandle
	ids   *interner[T]
	clock *ManualClock
	m     *metricsBridge[T] // nil: no MetricsProvider

	rlOnce sync.Once
	rl     TypedRateLimiter[T]

	scratchPool sync.Pool // *batchScratch
}

// Type is the untyped queue (client-go's deprecated workqueue.Type).
type Type = Typed[any]

// TypedQueueConfig configures a queue.
//
// Unlike client-go's, its Clock is a *ManualClock (nil: the real clock)
// and it has no Queue field (the queue is the library's).
type TypedQueueConfig[T comparable] struct {
	// Name for the queue: the "name" label of its metrics. Only a named
	// queue keeps metrics (Metrics, PrometheusText, MetricsProvider).
	Name string
	// MetricsProvider receives the queue's metrics as client-go's queue
	// feeds them (see metrics_bridge.go); nil: the one given to
	// SetProvider, if any. Ignored for an unnamed queue.
	MetricsProvider MetricsProvider
	// Clock is a manual clock for tests; nil is the real clock.
	Clock *ManualClock
	// PriorityAging makes a waiting item's priority grow by one for every
	// PriorityAging it has waited, so a steady stream of high priorities
	// cannot starve low ones; 0 (the default) is strict priority. See
	// AddWithPriority.
	PriorityAging time.Duration
}

// TypedDelayingQueueConfig configures a delaying queue (see
// TypedQueueConfig).
type TypedDelayingQueueConfig[T comparable] struct {
	Name            string
	MetricsProvider MetricsProvider
	Clock           *ManualClock
	PriorityAging   time.Duration
}

// TypedRateLimitingQueueConfig configures a rate-limiting queue (see
// TypedQueueConfig).
type TypedRateLimitingQueueConfig[T comparable] struct {
	Name            string
	MetricsProvider MetricsProvider
	Clock           *ManualClock
	PriorityAging   time.Duration
}

// queueConfig is what every constructor passes on.
// (Field for field the config structs, so they convert to it.)
type queueConfig struct {
	Name            string
	MetricsProvider MetricsProvider
	Clock           *ManualClock
	PriorityAging   time.Duration
}

// NewTyped returns a queue with the default controller rate limiter.
func NewTyped[T comparable]() *Typed[T] {
	return NewTypedWithConfig(TypedQueueConfig[T]{})
}

// NewTypedWithConfig returns a configured queue.
func NewTypedWithConfig[T comparable](config TypedQueueConfig[T]) *Typed[T] {
	return newTyped[T](nil, queueConfig(config))
}

// NewTypedDelayingQueue returns a queue (every queue can delay).
func NewTypedDelayingQueue[T comparable]() *Typed[T] {
	return NewTypedDelayingQueueWithConfig(TypedDelayingQueueConfig[T]{})
}

// TypedNewDelayingQueue is NewTypedDelayingQueue (a name client-go keeps
// for compatibility).
func TypedNewDelayingQueue[T comparable]() *Typed[T] { return NewTypedDelayingQueue[T]() }

// NewTypedDelayingQueueWithConfig returns a configured queue.
func NewTypedDelayingQueueWithConfig[T comparable](config TypedDelayingQueueConfig[T]) *Typed[T] {
	return newTyped[T](nil, queueConfig(config))
}

// NewTypedRateLimitingQueue returns a queue whose AddRateLimited asks
// rateLimiter.
func NewTypedRateLimitingQueue[T comparable](rateLimiter TypedRateLimiter[T]) *Typed[T] {
	return NewTypedRateLimitingQueueWithConfig(rateLimiter, TypedRateLimitingQueueConfig[T]{})
}

// NewTypedRateLimitingQueueWithConfig returns a configured queue whose
// AddRateLimited asks rateLimiter.
func NewTypedRateLimitingQueueWithConfig[T comparable](rateLimiter TypedRateLimiter[T], config TypedRateLimitingQueueConfig[T]) *Typed[T] {
	return newTyped(rateLimiter, queueConfig(config))
}

func newTyped[T comparable](rl TypedRateLimiter[T], cfg queueConfig) *Typed[T] {
	// The library's own limiter is never asked (AddRateLimited asks rl
	// from Go); an unkeyed bucket keeps wq_queue_holds cheap.
	name := strings.ToValidUTF8(cfg.Name, "\uFFFD")
	m := newMetricsBridge[T](name, cfg.MetricsProvider, cfg.Clock)
	h, err := newQueueHandle(name, idleLimiter(), cfg.Clock, cfg.PriorityAging, submits(m, cfg.PriorityAging))
	if err != nil {
		panic(err)
	}
	return &Typed[T]{
		h:     h,
		ids:   newInterner[T](),
		clock: cfg.Clock,
		rl:    rl,
		m:     m,
	}
}

var (
	idleOnce sync.Once
	idle     *nativeLimiter[uint64]
)

// idleLimiter is a limiter for queues that never ask the library's one.
func idleLimiter() *cLimiter {
	idleOnce.Do(func() {
		c, st := limiterNewTokenBucket(1, 1)
		idle = newNativeLimiter[uint64](c, st, "wq_rate_limiter_new_token_bucket", false)
	})
	return idle.c
}

// limiter is the rate limiter: the one given, or the default controller
// limiter made at first use.
func (q *Typed[T]) limiter() TypedRateLimiter[T] {
	q.rlOnce.Do(func() {
		if q.rl == nil {
			q.rl = DefaultTypedControllerRateLimiter[T]()
		}
	})
	return q.rl
}

// Name is the name given in the config.
func (q *Typed[T]) Name() string { return q.h.name }

// ---- adding ---------------------------------------------------------------

// Add marks item as needing processing. Adds after ShutDown are ignored.
func (q *Typed[T]) Add(item T) {
	if !q.submitAdd(item, 0) {
		q.add(item, 0, false, 0)
	}
}

// submitAdd is Add at priority through the queue's submission ring (see
// submitter), without a call; false when the caller must call instead.
// The item is interned first, under its shard's lock, so that its entry
// exists before the library can hand its id out.
func (q *Typed[T]) submitAdd(item T, priority int32) bool {
	h := q.h
	if !h.sub.open(h) {
		return false
	}
	sh, hash := q.ids.shardOf(item)
	sh.mu.Lock()
	id, created := sh.intern(item, hash)
	submitted := h.sub.submit(h, submitAdd, id, priority)
	if !submitted && created {
		sh.remove(id) // the call the caller makes interns it again
	}
	sh.mu.Unlock()
	return submitted
}

// TryAdd is Add reporting whether it scheduled a new run of item: false
// when the add collapsed into a pending run (item is queued, or was
// already added again while being processed) or the queue is shutting down.
func (q *Typed[T]) TryAdd(item T) bool { return q.add(item, 0, false, 0) }

// AddAfter adds item once duration has passed on the queue's clock; a zero
// or negative duration adds at once. A later delay never postpones an
// earlier one.
func (q *Typed[T]) AddAfter(item T, duration time.Duration) { q.add(item, duration, true, 0) }

// TryAddAfter is AddAfter reporting whether it added item or set its ready
// time (false when item already waits for an earlier or equal time, or
// the queue is shutting down).
func (q *Typed[T]) TryAddAfter(item T, duration time.Duration) bool {
	return q.add(item, duration, true, 0)
}

// add interns item and adds its id (after delay, if after is set) at
// priority.
//
// The interner must hold an item whenever the library may hand out its
// id, and should hold nothing else. Every add interns the item and calls
// into the library under the item's shard lock; every Done calls into
// the library and then asks wq_queue_holds under the same lock, removing
// the entry when the library no longer holds the id. So an entry is never
// removed while an add of its item is on its way, and never kept once
// nothing can hand its id out. Getters resolve ids under the shard's slot
// lock only, so they never wait behind these calls.
func (q *Typed[T]) add(item T, delay time.Duration, after bool, priority int32) bool {
	added, _ := q.addReporting(item, delay, after, false, priority)
	return added
}

// addReporting is add; with retry set (a rate-limited add after delay)
// it also reports whether the queue refused item because it is shutting
// down, as the library decided under its lock.
func (q *Typed[T]) addReporting(item T, delay time.Duration, after, retry bool, priority int32) (added, refused bool) {
	h := q.h
	if !h.enter() {
		return false, true
	}
	var now time.Duration
	if q.m != nil {
		now = q.m.begin()
	}
	sh, hash := q.ids.shardOf(item)
	sh.mu.Lock()
	id, created := sh.intern(item, hash)
	added, st := addID(h, id, delay, after, retry, priority)
	if created && !added {
		sh.remove(id) // refused: the queue is shutting down
	}
	sh.mu.Unlock()
	if q.m != nil {
		q.m.reported(item, after, delay, priority, added, st, now)
	}
	h.exit()
	return added, checkAdd(st, after, retry, priority)
}

// addID is the library's add (after delay, if after is set) at priority;
// a retry is an add after delay that reports a refusal (stShutdown).
func addID(h *queueHandle, id uint64, delay time.Duration, after, retry bool, priority int32) (bool, status) {
	q := h.ptr
	switch {
	case retry:
		return queueTryAddAfter(q, id, delay, priority)
	case after && priority != 0:
		return queueAddAfterWithPriority(q, id, delay, priority)
	case after:
		return queueAddAfter(q, id, delay)
	case priority != 0:
		return queueAddWithPriority(q, id, priority)
	default:
		return queueAdd(q, id)
	}
}

// checkAdd panics on a status the add cannot return, and reports whether
// the queue refused a retry because it is shutting down.
func checkAdd(st status, after, retry bool, priority int32) (refused bool) {
	if st == stOK {
		return false
	}
	switch {
	case retry && st == stShutdown:
		return true
	case retry:
		check("wq_queue_try_add_after_with_priority", st)
	case after && priority != 0:
		check("wq_queue_add_after_with_priority", st)
	case after:
		check("wq_queue_add_after", st)
	case priority != 0:
		check("wq_queue_add_with_priority", st)
	default:
		check("wq_queue_add", st)
	}
	return false
}

// AddRateLimited adds item after the delay its rate limiter gives it now.
func (q *Typed[T]) AddRateLimited(item T) { q.addRateLimited(item, 0) }

// TryAddRateLimited is AddRateLimited returning the delay chosen; false
// when the queue is shutting down and refused item (without asking the
// rate limiter if it was shutting down already). The queue decides with
// the add itself, so true means item was accepted even if a shutdown
// follows at once.
func (q *Typed[T]) TryAddRateLimited(item T) (time.Duration, bool) {
	return q.addRateLimited(item, 0)
}

func (q *Typed[T]) addRateLimited(item T, priority int32) (time.Duration, bool) {
	if q.ShuttingDown() {
		return 0, false
	}
	delay := whenOn(q.limiter(), item, q.clock)
	if _, refused := q.addReporting(item, delay, true, true, priority); refused {
		return 0, false // shut down since the check
	}
	return delay, true
}

// Forget tells the rate limiter to stop tracking item (after a success).
// It does not remove item from the queue; Done is still needed.
func (q *Typed[T]) Forget(item T) { q.limiter().Forget(item) }

// NumRequeues is how many times item was rate-limited since it was last
// forgotten.
func (q *Typed[T]) NumRequeues(item T) int { return q.limiter().NumRequeues(item) }

// batchScratch is the per-call scratch of the batch calls. Items are
// visited grouped by shard (a counting sort on the shard number), each
// shard locked once, in ascending order; the library gets the ids in the
// caller's order.
type batchScratch struct {
	shard   []uint16 // per item: its shard
	order   []int32  // item indexes, grouped by shard
	count   []int32  // per shard: items, then start offsets
	ids     []uint64 // per item: its id
	hash    []uint64 // per item: its hash (AddBatch, DoneBatch)
	compact []uint64 // the ids passed to the library (DoneBatch)
	held    []bool   // per compact id: the library still holds it
	retire  []bool   // DoneBatch: per item, whether its entry goes idle
	created []int32  // AddBatch: indexes of items whose entry is new
}

func (q *Typed[T]) scratch(n int) *batchScratch {
	sc, _ := q.scratchPool.Get().(*batchScratch)
	if sc == nil {
		sc = &batchScratch{count: make([]int32, len(q.ids.shards)+1)}
	}
	if cap(sc.ids) < n {
		sc.shard = make([]uint16, n)
		sc.order = make([]int32, n)
		sc.ids = make([]uint64, n)
		sc.hash = make([]uint64, n)
		sc.compact = make([]uint64, 0, n)
		sc.held = make([]bool, n)
		sc.retire = make([]bool, n)
	}
	sc.ids = sc.ids[:n]
	sc.compact, sc.created = sc.compact[:0], sc.created[:0]
	return sc
}

// group fills sc.shard and sc.order for n things whose shard is at(i).
func (q *Typed[T]) group(sc *batchScratch, n int, at func(i int) uint64) {
	clear(sc.count)
	for i := 0; i < n; i++ {
		s := uint16(at(i))
		sc.shard[i] = s
		sc.count[s+1]++
	}
	for s := 1; s < len(sc.count); s++ {
		sc.count[s] += sc.count[s-1]
	}
	for i := 0; i < n; i++ {
		s := sc.shard[i]
		sc.order[sc.count[s]] = int32(i)
		sc.count[s]++
	}
}

// lockGroups locks, in ascending order, the shard of every grouped item;
// unlockGroups undoes it.
func (q *Typed[T]) lockGroups(sc *batchScratch, n int) {
	last := -1
	for _, i := range sc.order[:n] {
		if s := int(sc.shard[i]); s != last {
			q.ids.shards[s].mu.Lock()
			last = s
		}
	}
}

func (q *Typed[T]) unlockGroups(sc *batchScratch, n int) {
	last := -1
	for _, i := range sc.order[:n] {
		if s := int(sc.shard[i]); s != last {
			q.ids.shards[s].mu.Unlock()
			last = s
		}
	}
}

// lockBatch runs f on the batch items, with sc grouped by shard and the
// shards of the items locked (in ascending order) across the call; 0 once
// the queue is closed.
func (q *Typed[T]) lockBatch(items []T, f func(h *queueHandle, sc *batchScratch) int) int {
	h := q.h
	if !h.enter() {
		return 0
	}
	defer h.exit()
	sc := q.scratch(len(items))
	defer q.scratchPool.Put(sc)
	q.group(sc, len(items), func(i int) uint64 {
		sc.hash[i] = q.ids.hash(items[i])
		return sc.hash[i] & q.ids.mask
	})
	q.lockGroups(sc, len(items))
	defer q.unlockGroups(sc, len(items))
	return f(h, sc)
}

// AddBatch adds every item with one call into the library and returns how
// many scheduled a new run. The shards of the items are locked (in
// ascending order) across the call.
func (q *Typed[T]) AddBatch(items []T) int { return q.addBatch(items, 0) }

// addBatch is AddBatch at priority (AddBatchWithPriority).
func (q *Typed[T]) addBatch(items []T, priority int32) int {
	if len(items) == 0 {
		return 0
	}
	if q.m != nil {
		// The metrics want each item's result: one call per item.
		return countTrue(items, func(it T) bool { return q.add(it, 0, false, priority) })
	}
	return q.lockBatch(items, func(h *queueHandle, sc *batchScratch) int {
		for _, i := range sc.order[:len(items)] {
			id, isNew := q.ids.shards[sc.shard[i]].intern(items[i], sc.hash[i])
			if isNew {
				sc.created = append(sc.created, i)
			}
			sc.ids[i] = id
		}
		added, st := queueAddBatch(h.ptr, sc.ids, priority)
		check("wq_queue_add_batch_with_priority", st)
		if len(sc.created) > 0 {
			// A new id is refused only by a queue shutting down.
			down, st := queueShuttingDown(h.ptr)
			check("wq_queue_shutting_down", st)
			if down {
				for _, i := range sc.created {
					sc.compact = append(sc.compact, sc.ids[i])
				}
				check("wq_queue_holds_batch", queueHoldsBatch(h.ptr, sc.compact, sc.held))
				for k, i := range sc.created {
					if !sc.held[k] {
						q.ids.shards[sc.shard[i]].remove(sc.ids[i])
					}
				}
			}
		}
		return added
	})
}

// ---- getting --------------------------------------------------------------

// Get blocks until an item is ready and hands it out; shutdown is true
// once the queue is shut down and empty. Call Done with the item when it
// has been processed.
//
// A blocked Get waits inside libworkqueue and holds its OS thread (the Go
// runtime starts another for other goroutines); GetWithContext waits
// without one, and so does Get on a queue that feeds a MetricsProvider
// (so that every hand-out is recorded with it, see getOne).
func (q *Typed[T]) Get() (item T, shutdown bool) {
	if q.m != nil {
		item, shutdown, _ = q.GetWithContext(context.Background())
		return item, shutdown
	}
	h := q.h
	if !h.enter() {
		return item, true
	}
	defer h.exit()
	for spins := 0; ; spins++ {
		item, st := q.getOne(h, getTimeout(spins))
		switch st {
		case stOK:
			return item, false
		case stShutdown:
			return item, true
		case stTimeout:
			runtime.Gosched()
		default:
			check("wq_queue_get", st)
		}
	}
}

// getOne gets an item, waiting up to timeout ns in the library; an id
// whose entry is gone (only a misplaced Done of this very run, by another
// goroutine, can drop it first) is skipped. On a queue that
// feeds a MetricsProvider, a get that does not wait holds the bridge's
// lock across the call and its record, so no other call's change of the
// item (an add marking it dirty) can be recorded between the two.
func (q *Typed[T]) getOne(h *queueHandle, timeout int64) (item T, st status) {
	held := q.m.holdForGet(timeout)
	for {
		var id uint64
		if id, st = queueGet(h.ptr, timeout); st != stOK {
			break
		}
		if key, ok := q.ids.keyOf(id); ok {
			item = key
			switch {
			case held:
				q.m.record(key, q.m.now())
			case q.m != nil:
				q.m.got(key)
			}
			break
		}
	}
	if held {
		q.m.end(q.m.now())
	}
	return item, st
}

// getSpins is how many times Get looks for a ready key without waiting,
// yielding its processor in between, before it blocks in the library.
// A goroutine blocked in a cgo call keeps its P until the runtime's
// monitor takes it away (tens of microseconds or more), so a producer
// about to add a key usually gets it to the getter sooner this way.
const getSpins = 16

func getTimeout(spins int) int64 {
	if spins < getSpins {
		return noWait
	}
	return waitForever
}

// TryGet hands out a ready item without waiting: ok is false when none is
// ready; shutdown is true once the queue is shut down and empty.
func (q *Typed[T]) TryGet() (item T, ok bool, shutdown bool) {
	h := q.h
	if !h.enter() {
		return item, false, true
	}
	defer h.exit()
	item, st := q.getOne(h, noWait)
	switch st {
	case stOK:
		return item, true, false
	case stTimeout:
		return item, false, false
	case stShutdown:
		return item, false, true
	default:
		check("wq_queue_get", st)
		return item, false, false
	}
}

// GetWithContext is Get that returns ctx.Err() as soon as ctx is done.
// While it waits, it holds no OS thread: on Linux the goroutine parks in
// the Go netpoller on the queue's file descriptor (see README.md).
func (q *Typed[T]) GetWithContext(ctx context.Context) (item T, shutdown bool, err error) {
	h := q.h
	if !h.enter() {
		return item, true, nil
	}
	defer h.exit()
	err = h.wait(ctx, func(timeout int64) bool {
		var st status
		var taken bool
		item, st = q.getOne(h, timeout)
		taken, shutdown = waitOutcome(st, "wq_queue_get")
		return taken
	})
	return item, shutdown, err
}

// waitOutcome reads a get's status for h.wait: over when an item was taken
// or the queue is shut down and empty (shutdown), not yet after a timeout.
func waitOutcome(st status, op string) (over, shutdown bool) {
	switch st {
	case stOK:
		return true, false
	case stShutdown:
		return true, true
	case stTimeout:
		return false, false
	}
	check(op, st)
	return false, false
}

// batchChunk is how many ids one call into the library takes at most.
const batchChunk = 256

// GetBatch blocks like Get until at least one item is ready, then hands
// out up to max ready items at once, oldest first. Each must be given back
// with Done or DoneBatch. shutdown is true once the queue is shut down and
// empty.
func (q *Typed[T]) GetBatch(max int) (items []T, shutdown bool) {
	items, shutdown, _ = q.getBatch(nil, nil, max, waitForever)
	return items, shutdown
}

// TryGetBatch is GetBatch without waiting: no items when none is ready.
func (q *Typed[T]) TryGetBatch(max int) (items []T, shutdown bool) {
	items, shutdown, _ = q.getBatch(nil, nil, max, noWait)
	return items, shutdown
}

// GetBatchWithContext is GetBatch that returns ctx.Err() as soon as ctx is
// done (see GetWithContext).
func (q *Typed[T]) GetBatchWithContext(ctx context.Context, max int) (items []T, shutdown bool, err error) {
	return q.getBatch(ctx, nil, max, waitForever)
}

// AppendGetBatch is GetBatch appending to dst, to reuse a buffer.
func (q *Typed[T]) AppendGetBatch(dst []T, max int) (items []T, shutdown bool) {
	items, shutdown, _ = q.getBatch(nil, dst, max, waitForever)
	return items, shutdown
}

func (q *Typed[T]) getBatch(ctx context.Context, dst []T, maxItems int, timeout int64) ([]T, bool, error) {
	if maxItems <= 0 {
		return dst, false, nil
	}
	h := q.h
	if !h.enter() {
		return dst, true, nil
	}
	defer h.exit()
	var buf [batchChunk]uint64
	start := len(dst)
	shutdown := false
	take := func(timeout int64) bool {
		for {
			n, st := queueGetBatch(h.ptr, buf[:min(maxItems-(len(dst)-start), batchChunk)], timeout)
			switch st {
			case stOK:
				dst = q.resolve(dst, buf[:n])
				if len(dst) > start {
					return true
				}
				// Every run was finished by someone else's Done: wait again.
			case stShutdown:
				shutdown = true
				return true
			case stTimeout:
				return false
			default:
				check("wq_queue_get_batch", st)
			}
		}
	}
	var err error
	if ctx != nil {
		err = h.wait(ctx, take)
	} else {
		take(timeout)
	}
	// More ready items, without waiting, in chunks.
	for !shutdown && err == nil && len(dst)-start < maxItems && (len(dst)-start)%batchChunk == 0 && len(dst) > start {
		before := len(dst)
		n, st := queueGetBatch(h.ptr, buf[:min(maxItems-(len(dst)-start), batchChunk)], noWait)
		if st != stOK {
			break
		}
		dst = q.resolve(dst, buf[:n])
		if len(dst) == before {
			break
		}
	}
	return dst, shutdown, err
}

// resolve appends the items of ids, in order, skipping ids whose entry is
// gone (see getOne).
func (q *Typed[T]) resolve(dst []T, ids []uint64) []T {
	base := len(dst)
	dst = slices.Grow(dst, len(ids))
	for _, id := range ids {
		if key, ok := q.ids.keyOf(id); ok {
			dst = append(dst, key)
		}
	}
	if q.m != nil {
		q.m.gotMany(dst[base:])
	}
	return dst
}

// ---- finishing ------------------------------------------------------------

// Done marks item as done processing; if it was added again meanwhile, it
// is queued again.
func (q *Typed[T]) Done(item T) {
	if !q.submitDone(item) {
		q.TryDone(item)
	}
}

// submitDone is Done through the queue's submission ring, without a call;
// false when the caller must call instead. Whether the library still
// holds the item afterwards is asked later, for many items at once (see
// shard.verify). Items that may refer to other objects are not submitted:
// their entries go at once, so the objects can be collected.
func (q *Typed[T]) submitDone(item T) bool {
	h := q.h
	if !h.sub.open(h) || !q.ids.keepIdle {
		return false
	}
	sh, hash := q.ids.shardOf(item)
	sh.mu.Lock()
	id, ok := sh.lookup(item, hash)
	submitted := ok && h.sub.submit(h, submitDone, id, 0)
	if submitted && sh.pend(id) {
		sh.verify(q.holds)
	}
	sh.mu.Unlock()
	return submitted
}

// holds asks the library which of ids it still holds.
func (q *Typed[T]) holds(ids []uint64, held []bool) status {
	h := q.h
	if !h.enter() {
		return stShutdown
	}
	defer h.exit()
	return queueHoldsBatch(h.ptr, ids, held)
}

// verifyAll verifies every shard's pending done submissions.
func (q *Typed[T]) verifyAll() {
	for i := range q.ids.shards {
		sh := &q.ids.shards[i]
		sh.mu.Lock()
		sh.verify(q.holds)
		sh.mu.Unlock()
	}
}

// TryDone is Done reporting whether item was being processed (when it was
// not, nothing changes).
func (q *Typed[T]) TryDone(item T) bool {
	h := q.h
	if !h.enter() {
		return false
	}
	var now time.Duration
	if q.m != nil {
		now = q.m.begin()
	}
	sh, hash := q.ids.shardOf(item)
	sh.mu.Lock()
	id, ok := sh.lookup(item, hash)
	var was, holds bool
	st := stOK
	if ok {
		was, holds, st = queueDoneHolds(h.ptr, id)
		if st == stOK && !holds {
			sh.retire(id)
		}
	}
	sh.mu.Unlock()
	if q.m != nil {
		if st == stOK {
			q.m.done(item, was, now)
		}
		q.m.end(now)
	}
	h.exit()
	check("wq_queue_done_holds", st)
	return was
}

// DoneBatch is Done for every item, with two calls into the library;
// it returns how many were being processed. The shards of the items are
// locked (in ascending order) across the calls.
func (q *Typed[T]) DoneBatch(items []T) int {
	if len(items) == 0 {
		return 0
	}
	if q.m != nil {
		return countTrue(items, q.TryDone)
	}
	return q.lockBatch(items, func(h *queueHandle, sc *batchScratch) int {
		for i := range items {
			id, ok := q.ids.shards[sc.shard[i]].lookup(items[i], sc.hash[i])
			if !ok {
				id = notInterned
			}
			sc.ids[i] = id
			if ok {
				sc.compact = append(sc.compact, id)
			}
		}
		done, st := queueDoneBatch(h.ptr, sc.compact)
		check("wq_queue_done_batch", st)
		check("wq_queue_holds_batch", queueHoldsBatch(h.ptr, sc.compact, sc.held))
		retire := sc.retire[:len(items)]
		j := 0
		for i, id := range sc.ids {
			retire[i] = id != notInterned && !sc.held[j]
			if id != notInterned {
				j++
			}
		}
		// Shard by shard, each slot lock taken once.
		var locked *shard[T]
		for _, i := range sc.order[:len(items)] {
			if !retire[i] {
				continue
			}
			if sh := &q.ids.shards[sc.shard[i]]; sh != locked {
				if locked != nil {
					locked.slotMu.Unlock()
				}
				locked = sh
				sh.slotMu.Lock()
			}
			locked.retireLocked(sc.ids[i]) // a repeated item is retired once
		}
		if locked != nil {
			locked.slotMu.Unlock()
		}
		return done
	})
}

// notInterned marks an item without an entry in DoneBatch. No id is all
// ones: that would be slot 2^32-1.
const notInterned = ^uint64(0)

// ---- state ----------------------------------------------------------------

// Len is the number of items ready to be handed out: not those being
// processed, not those waiting for a delay.
func (q *Typed[T]) Len() int { return q.h.length(queueLen, "wq_queue_len") }

// ProcessingLen is the number of items handed out and not yet done.
func (q *Typed[T]) ProcessingLen() int {
	return q.h.length(queueProcessingLen, "wq_queue_processing_len")
}

// DelayedLen is the number of items waiting for a delay.
func (q *Typed[T]) DelayedLen() int { return q.h.length(queueDelayedLen, "wq_queue_delayed_len") }

// ShutDown stops accepting items and releases every blocked getter; items
// already queued are still handed out, then Get reports shutdown. Items
// waiting for a delay are dropped (and so are their interned entries).
func (q *Typed[T]) ShutDown() {
	if q.m != nil {
		now := q.m.begin()
		q.h.shutdown()
		q.m.shutdown(now)
		q.m.end(now)
	} else {
		q.h.shutdown()
	}
	q.sweep()
}

// sweep drops the entries of items the library no longer holds: after a
// shutdown, those of the items that were waiting for a delay. It checks
// each shard with one call into the library, under the shard's lock (the
// same rule as Done).
func (q *Typed[T]) sweep() {
	h := q.h
	if !h.enter() {
		return
	}
	defer h.exit()
	var ids []uint64
	var held []bool
	for i := range q.ids.shards {
		sh := &q.ids.shards[i]
		sh.mu.Lock()
		ids = sh.ids(ids[:0])
		if len(ids) > 0 {
			held = slices.Grow(held[:0], len(ids))[:len(ids)]
			if queueHoldsBatch(h.ptr, ids, held) == stOK {
				for j, id := range ids {
					if !held[j] {
						sh.remove(id)
					}
				}
				sh.pending = sh.pending[:0] // every entry was just checked
			}
		}
		sh.mu.Unlock()
	}
}

// ShutDownWithDrain shuts down, then waits until every item that was
// queued or being processed has been processed and marked done (client-go
// waits only for the items being processed). Workers must keep calling
// Get and Done meanwhile. A ShutDown from another goroutine ends the wait.
// It holds its OS thread while it waits.
func (q *Typed[T]) ShutDownWithDrain() {
	q.m.shutdownNow()
	q.h.drain(waitForever)
	q.sweep()
}

// ShutDownWithDrainTimeout is ShutDownWithDrain waiting at most timeout;
// it reports whether the queue drained. The queue stays shut down either
// way.
func (q *Typed[T]) ShutDownWithDrainTimeout(timeout time.Duration) bool {
	q.m.shutdownNow()
	drained := q.h.drain(max(timeout, 0).Nanoseconds())
	q.sweep()
	return drained
}

// ShuttingDown reports whether ShutDown or ShutDownWithDrain was called
// (or the queue was closed).
func (q *Typed[T]) ShuttingDown() bool { return q.h.shuttingDown() }

// Close shuts the queue down and frees it (its native memory and its
// interned items). It waits for calls in flight to return (blocked
// getters are released). Close is idempotent.
//
// After Close the queue behaves as shut down and empty: Add and its
// variants do nothing and report false, Get reports shutdown, Len is 0.
// Nothing panics, so a late Add from an informer callback is harmless.
//
// A queue that is never closed is freed by the garbage collector once it
// is unreachable.
func (q *Typed[T]) Close() {
	if q.h.closed() {
		return
	}
	q.m.shutdownNow()
	q.h.close()
	q.ids.reset()
}

// InternedKeys is the number of items the interner holds for the queue:
// the items the queue holds (queued, being processed, waiting for a
// delay). For tests and monitoring. Besides these the interner keeps a
// bounded cache of recently finished items (32 per shard, 64+ shards), so
// that adding one again is cheap.
func (q *Typed[T]) InternedKeys() int {
	q.verifyAll()
	return q.ids.len()
}

package workqueue

import (
	"math"
	"runtime"
	"time"
)

// Priorities (controller-runtime's priorityqueue semantics, in the
// library): ready items are handed out highest priority first, FIFO within
// a priority; the plain calls (Add, AddAfter, AddRateLimited) are priority
// 0, so a queue that sees no other priority stays a FIFO. A re-add of a
// queued item collapses and keeps the higher priority (a raise moves it to
// the tail of its new level); an item re-added while being processed
// comes back at Done with the highest priority it was re-added with; an
// item waiting for a delay keeps the earliest ready time and the highest
// priority. Strict priority starves low priorities under a steady stream
// of high ones: set PriorityAging in the config to raise a waiting item's
// priority by one per PriorityAging waited (GetWithPriority and
// LenByPriority still report the priority given, not the aged one).
//
// Priorities are int, as controller-runtime's; the library's are 32-bit,
// and values outside [math.MinInt32, math.MaxInt32] are clamped to it.

// AddOpts are the options of AddWithOpts (controller-runtime's
// priorityqueue.AddOpts, field for field, so one converts to the other).
type AddOpts struct {
	// After delays the add (0 or negative: at once).
	After time.Duration
	// RateLimited delays the add by the rate limiter's When (the smaller
	// of it and After when both are set).
	RateLimited bool
	// Priority of the items; higher is handed out first. nil is 0.
	Priority *int
}

// PriorityQueue is controller-runtime's priorityqueue.PriorityQueue
// method set, with this package's AddOpts: a rate-limiting queue that
// takes priorities. Typed[T] implements it (and RawQueue for uint64).
// The module github.com/workqueue-project/workqueue/go/priorityqueue
// adapts a Typed[T] to controller-runtime's own interface.
type PriorityQueue[T comparable] interface {
	TypedRateLimitingInterface[T]
	AddWithOpts(o AddOpts, items ...T)
	GetWithPriority() (item T, priority int, shutdown bool)
}

var (
	_ PriorityQueue[string] = (*Typed[string])(nil)
	_ PriorityQueue[uint64] = (*RawQueue)(nil)
)

// PriorityLen is the number of ready items at one priority
// (LenByPriority).
type PriorityLen struct {
	Priority int
	Len      int
}

// clampPriority is p in the library's 32-bit range.
func clampPriority(p int) int32 {
	switch {
	case p > math.MaxInt32:
		return math.MaxInt32
	case p < math.MinInt32:
		return math.MinInt32
	}
	return int32(p)
}

// priority is o.Priority in the library's range (nil is 0).
func (o AddOpts) priority() int32 {
	if o.Priority == nil {
		return 0
	}
	return clampPriority(*o.Priority)
}

// batched tells whether AddWithOpts adds n items with one batch call:
// several items, added at once. Delayed and rate-limited items keep one
// call each (the library has no delayed batch), and a single item is one
// call either way.
func (o AddOpts) batched(n int) bool {
	return n > 1 && !o.RateLimited && o.After <= 0
}

// addWithOpts is AddWithOpts for one item, over the calls of either queue.
func addWithOpts(o AddOpts, tryRateLimited func(int32) (time.Duration, bool), add func(delay time.Duration, after bool, p int32) bool) {
	p := o.priority()
	switch {
	case o.RateLimited:
		// The earliest ready time wins: adding after the limiter's delay,
		// then after After if that is earlier, is the smaller of the two
		// (controller-runtime's rule), and a zero delay adds at once.
		d, ok := tryRateLimited(p)
		if ok && o.After > 0 && d > o.After {
			add(o.After, true, p)
		}
	case o.After > 0:
		add(o.After, true, p)
	default:
		add(0, false, p)
	}
}

// ---- Typed ------------------------------------------------------------------

// AddWithPriority is Add at priority (higher is handed out first).
func (q *Typed[T]) AddWithPriority(item T, priority int) {
	if p := clampPriority(priority); !q.submitAdd(item, p) {
		q.add(item, 0, false, p)
	}
}

// TryAddWithPriority is AddWithPriority reporting whether it scheduled a
// new run of item (false also when it only raised a pending run's
// priority).
func (q *Typed[T]) TryAddWithPriority(item T, priority int) bool {
	return q.add(item, 0, false, clampPriority(priority))
}

// AddAfterWithPriority is AddAfter at priority: when the delay has passed
// the item joins at the highest priority it was given.
func (q *Typed[T]) AddAfterWithPriority(item T, duration time.Duration, priority int) {
	q.add(item, duration, true, clampPriority(priority))
}

// TryAddAfterWithPriority is AddAfterWithPriority reporting whether it
// added item, set its ready time or raised its priority.
func (q *Typed[T]) TryAddAfterWithPriority(item T, duration time.Duration, priority int) bool {
	return q.add(item, duration, true, clampPriority(priority))
}

// AddRateLimitedWithPriority is AddRateLimited at priority.
func (q *Typed[T]) AddRateLimitedWithPriority(item T, priority int) {
	q.addRateLimited(item, clampPriority(priority))
}

// TryAddRateLimitedWithPriority is AddRateLimitedWithPriority returning
// the delay chosen; false when the queue is shutting down and refused
// item (see TryAddRateLimited).
func (q *Typed[T]) TryAddRateLimitedWithPriority(item T, priority int) (time.Duration, bool) {
	return q.addRateLimited(item, clampPriority(priority))
}

// AddBatchWithPriority is AddBatch at priority: each item as
// AddWithPriority would add it, in order, with one call into the library.
// It returns how many scheduled a new run.
func (q *Typed[T]) AddBatchWithPriority(items []T, priority int) int {
	return q.addBatch(items, clampPriority(priority))
}

// AddWithOpts adds items with controller-runtime's options: after a delay,
// rate limited, at a priority. Several items added at once take one call
// into the library (AddBatchWithPriority).
func (q *Typed[T]) AddWithOpts(o AddOpts, items ...T) {
	if o.batched(len(items)) {
		q.addBatch(items, o.priority())
		return
	}
	for _, item := range items {
		addWithOpts(o,
			func(p int32) (time.Duration, bool) { return q.addRateLimited(item, p) },
			func(d time.Duration, after bool, p int32) bool { return q.add(item, d, after, p) })
	}
}

// GetWithPriority is Get that also returns the priority the item was
// queued with.
func (q *Typed[T]) GetWithPriority() (item T, priority int, shutdown bool) {
	h := q.h
	if !h.enter() {
		return item, 0, true
	}
	defer h.exit()
	for spins := 0; ; spins++ {
		id, p, st := queueGetWithPriority(h.ptr, getTimeout(spins))
		switch st {
		case stOK:
			if key, ok := q.ids.keyOf(id); ok {
				if q.m != nil {
					q.m.got(key)
				}
				return key, int(p), false
			}
		case stShutdown:
			return item, 0, true
		case stTimeout:
			runtime.Gosched()
		default:
			check("wq_queue_get_with_priority", st)
		}
	}
}

// TryGetWithPriority is GetWithPriority without waiting: ok is false when
// no item is ready.
func (q *Typed[T]) TryGetWithPriority() (item T, priority int, ok bool, shutdown bool) {
	h := q.h
	if !h.enter() {
		return item, 0, false, true
	}
	defer h.exit()
	for {
		id, p, st := queueGetWithPriority(h.ptr, noWait)
		switch st {
		case stOK:
			if key, found := q.ids.keyOf(id); found {
				if q.m != nil {
					q.m.got(key)
				}
				return key, int(p), true, false
			}
		case stTimeout:
			return item, 0, false, false
		case stShutdown:
			return item, 0, false, true
		default:
			check("wq_queue_get_with_priority", st)
		}
	}
}

// LenByPriority is Len per priority, highest first; priorities with no
// ready item are left out.
func (q *Typed[T]) LenByPriority() []PriorityLen { return q.h.lenByPriority() }

// ---- RawQueue ---------------------------------------------------------------

// AddWithPriority is Add at priority (see Typed.AddWithPriority).
func (q *RawQueue) AddWithPriority(key uint64, priority int) {
	if p := clampPriority(priority); !q.h.submit(submitAdd, key, p) {
		q.add(key, 0, false, p)
	}
}

// TryAddWithPriority is AddWithPriority reporting whether it scheduled a
// new run of key.
func (q *RawQueue) TryAddWithPriority(key uint64, priority int) bool {
	return q.add(key, 0, false, clampPriority(priority))
}

// AddAfterWithPriority is AddAfter at priority.
func (q *RawQueue) AddAfterWithPriority(key uint64, duration time.Duration, priority int) {
	q.add(key, duration, true, clampPriority(priority))
}

// TryAddAfterWithPriority is AddAfterWithPriority reporting whether it
// added key, set its ready time or raised its priority.
func (q *RawQueue) TryAddAfterWithPriority(key uint64, duration time.Duration, priority int) bool {
	return q.add(key, duration, true, clampPriority(priority))
}

// AddRateLimitedWithPriority is AddRateLimited at priority.
func (q *RawQueue) AddRateLimitedWithPriority(key uint64, priority int) {
	q.addRateLimited(key, clampPriority(priority))
}

// TryAddRateLimitedWithPriority is AddRateLimitedWithPriority returning the
// delay chosen; false when the queue is shutting down and refused key.
func (q *RawQueue) TryAddRateLimitedWithPriority(key uint64, priority int) (time.Duration, bool) {
	return q.addRateLimited(key, clampPriority(priority))
}

// AddBatchWithPriority is AddBatch at priority (see
// Typed.AddBatchWithPriority).
func (q *RawQueue) AddBatchWithPriority(keys []uint64, priority int) int {
	return q.addBatch(keys, clampPriority(priority))
}

// AddWithOpts adds keys with controller-runtime's options; several keys
// added at once take one call (AddBatchWithPriority).
func (q *RawQueue) AddWithOpts(o AddOpts, keys ...uint64) {
	if o.batched(len(keys)) {
		q.addBatch(keys, o.priority())
		return
	}
	for _, key := range keys {
		addWithOpts(o,
			func(p int32) (time.Duration, bool) { return q.addRateLimited(key, p) },
			func(d time.Duration, after bool, p int32) bool { return q.add(key, d, after, p) })
	}
}

// GetWithPriority is Get that also returns the key's priority.
func (q *RawQueue) GetWithPriority() (key uint64, priority int, shutdown bool) {
	h := q.h
	if !h.enter() {
		return 0, 0, true
	}
	defer h.exit()
	for spins := 0; ; spins++ {
		k, p, st := queueGetWithPriority(h.ptr, getTimeout(spins))
		switch st {
		case stOK:
			if q.m != nil {
				q.m.got(k)
			}
			return k, int(p), false
		case stShutdown:
			return 0, 0, true
		case stTimeout:
			runtime.Gosched()
		default:
			check("wq_queue_get_with_priority", st)
		}
	}
}

// TryGetWithPriority is GetWithPriority without waiting.
func (q *RawQueue) TryGetWithPriority() (key uint64, priority int, ok bool, shutdown bool) {
	h := q.h
	if !h.enter() {
		return 0, 0, false, true
	}
	k, p, st := queueGetWithPriority(h.ptr, noWait)
	h.exit()
	switch st {
	case stOK:
		if q.m != nil {
			q.m.got(k)
		}
		return k, int(p), true, false
	case stTimeout:
		return 0, 0, false, false
	case stShutdown:
		return 0, 0, false, true
	}
	check("wq_queue_get_with_priority", st)
	return 0, 0, false, false
}

// LenByPriority is Len per priority, highest first.
func (q *RawQueue) LenByPriority() []PriorityLen { return q.h.lenByPriority() }

// ---- shared -----------------------------------------------------------------

func (h *queueHandle) lenByPriority() []PriorityLen {
	if !h.enter() {
		return nil
	}
	defer h.exit()
	var pbuf [16]int32
	var lbuf [16]uintptr
	prios, lens := pbuf[:], lbuf[:]
	for {
		n, st := queueLenByPriority(h.ptr, prios, lens)
		check("wq_queue_len_by_priority", st)
		if n <= len(prios) {
			if n == 0 {
				return nil
			}
			out := make([]PriorityLen, n)
			for i := range out {
				out[i] = PriorityLen{Priority: int(prios[i]), Len: int(lens[i])}
			}
			return out
		}
		prios, lens = make([]int32, n+8), make([]uintptr, n+8)
	}
}

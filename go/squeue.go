package workqueue

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Place is where a scheduling queue holds an item.
type Place int

// The places of a scheduling queue.
const (
	// PlaceNone: the queue does not hold the item (or it was deleted while
	// in flight).
	PlaceNone Place = iota
	// PlaceActive: ready to be popped.
	PlaceActive
	// PlaceBackoff: waiting out its backoff.
	PlaceBackoff
	// PlaceUnschedulable: parked until a move event, an update or the
	// maximum stay.
	PlaceUnschedulable
	// PlaceInFlight: popped, not yet done or requeued.
	PlaceInFlight
)

// The library numbers places as this package does (a difference would be
// an index out of range, at compile time).
var (
	_ = [1]int{}[cPlaceNone-PlaceNone]
	_ = [1]int{}[cPlaceActive-PlaceActive]
	_ = [1]int{}[cPlaceBackoff-PlaceBackoff]
	_ = [1]int{}[cPlaceUnschedulable-PlaceUnschedulable]
	_ = [1]int{}[cPlaceInFlight-PlaceInFlight]
)

// String is the place as the conformance scenarios write it: "none",
// "active", "backoff", "unschedulable", "in_flight".
func (p Place) String() string {
	switch p {
	case PlaceNone:
		return "none"
	case PlaceActive:
		return "active"
	case PlaceBackoff:
		return "backoff"
	case PlaceUnschedulable:
		return "unschedulable"
	case PlaceInFlight:
		return "in_flight"
	}
	return fmt.Sprintf("Place(%d)", int(p))
}

// SchedulingQueueConfig configures a scheduling queue; the zero value is
// kube-scheduler's defaults on the real clock.
type SchedulingQueueConfig struct {
	// Name: a named scheduling queue reports its sub-queue sizes in
	// PrometheusText (workqueue_scheduling_pending_items{name,queue}).
	Name string
	// Clock is a manual clock for tests; nil is the real clock.
	Clock *ManualClock
	// InitialBackoff is the backoff after the first failed attempt; it
	// doubles with every further attempt. 0: 1 s.
	InitialBackoff time.Duration
	// MaxBackoff caps the backoff; at least InitialBackoff. 0: 10 s.
	MaxBackoff time.Duration
	// MaxUnschedulableStay is how long an item may stay unschedulable
	// without a move event before it is flushed back (it leaves once it
	// stayed strictly longer). 0: 300 s.
	MaxUnschedulableStay time.Duration
	// DisablePopFromBackoff: by default (kube-scheduler's
	// SchedulerPopFromBackoffQ, KEP-5142) a pop that finds the active
	// queue empty takes the item requeued as unschedulable whose backoff
	// ends first; set this to make pops wait for backoffs to end.
	DisablePopFromBackoff bool
}

// squeueHandle owns one wq_squeue. Close only closes it (workers may still
// finish their items); the native queue is freed by a runtime cleanup once
// the handle is unreachable. Every call keeps the handle reachable until
// it returns (runtime.KeepAlive), so the cleanup never runs under a call.
type squeueHandle struct {
	ptr  *cSQueue
	name string

	fdOnce sync.Once
	fd     int // the queue's pollable fd, or -1 when unavailable
}

func newSQueueHandle(config SchedulingQueueConfig) (*squeueHandle, error) {
	for _, d := range []time.Duration{config.InitialBackoff, config.MaxBackoff, config.MaxUnschedulableStay} {
		if d < 0 {
			return nil, fmt.Errorf("workqueue: negative duration in SchedulingQueueConfig: %w", ErrInvalidArgument)
		}
	}
	name := strings.ToValidUTF8(config.Name, "\uFFFD")
	ptr, st := squeueNew(squeueOptions{
		name:                  name,
		clock:                 config.Clock.cptr(),
		initialBackoff:        nanos(config.InitialBackoff),
		maxBackoff:            nanos(config.MaxBackoff),
		maxStay:               nanos(config.MaxUnschedulableStay),
		disablePopFromBackoff: config.DisablePopFromBackoff,
	})
	runtime.KeepAlive(config.Clock)
	if st != stOK {
		return nil, statusError("wq_squeue_new", st)
	}
	h := &squeueHandle{ptr: ptr, name: name, fd: -1}
	runtime.AddCleanup(h, func(o *cOwner) { o.release() }, owned(func() { squeueFree(ptr) }))
	return h, nil
}

func (h *squeueHandle) length(call func(*cSQueue) (int, status), op string) int {
	n, st := call(h.ptr)
	runtime.KeepAlive(h)
	check(op, st)
	return n
}

// keyCall runs a library call on one key and checks its status.
func keyCall[R any](h *squeueHandle, call func(*cSQueue, uint64) (R, status), op string, key uint64) R {
	r, st := call(h.ptr, key)
	runtime.KeepAlive(h)
	check(op, st)
	return r
}

func (h *squeueHandle) moveAll(event string) int {
	n, st := squeueMoveAll(h.ptr, event)
	runtime.KeepAlive(h)
	check("wq_squeue_move_all", st)
	return n
}

func (h *squeueHandle) movesByEvent(event string) uint64 {
	n, st := squeueMovesByEvent(h.ptr, event)
	runtime.KeepAlive(h)
	check("wq_squeue_moves_by_event", st)
	return n
}

func (h *squeueHandle) close() {
	st := squeueClose(h.ptr)
	runtime.KeepAlive(h)
	check("wq_squeue_close", st)
}

func (h *squeueHandle) closed() bool {
	b, st := squeueIsClosed(h.ptr)
	runtime.KeepAlive(h)
	check("wq_squeue_is_closed", st)
	return b
}

// pop pops, blocking like Get (a few looks without waiting, then a wait in
// the library that holds the OS thread); take turns the popped key into
// the caller's item, false to skip it.
func (h *squeueHandle) pop(take func(key uint64, p int32) bool) (closed bool) {
	defer runtime.KeepAlive(h)
	for spins := 0; ; spins++ {
		key, p, st := squeuePop(h.ptr, getTimeout(spins))
		switch st {
		case stOK:
			if take(key, p) {
				return false
			}
		case stShutdown:
			return true
		case stTimeout:
			runtime.Gosched()
		default:
			check("wq_squeue_pop", st)
		}
	}
}

// tryPop pops without waiting.
func (h *squeueHandle) tryPop(take func(key uint64, p int32) bool) (ok, closed bool) {
	defer runtime.KeepAlive(h)
	for {
		key, p, st := squeuePop(h.ptr, noWait)
		switch st {
		case stOK:
			if take(key, p) {
				return true, false
			}
		case stTimeout:
			return false, false
		case stShutdown:
			return false, true
		default:
			check("wq_squeue_pop", st)
		}
	}
}

// popWithContext pops, waiting until ctx is done: on Linux parked in the
// Go netpoller on the queue's fd, holding no OS thread and returning at
// once on cancellation (see waitReady).
func (h *squeueHandle) popWithContext(ctx context.Context, take func(key uint64, p int32) bool) (closed bool, err error) {
	defer runtime.KeepAlive(h)
	err = waitReady(ctx, h.queueFd, func(timeout int64) bool {
		for {
			key, p, st := squeuePop(h.ptr, timeout)
			switch st {
			case stOK:
				if take(key, p) {
					return true
				}
			case stShutdown:
				closed = true
				return true
			case stTimeout:
				return false
			default:
				check("wq_squeue_pop", st)
			}
		}
	})
	return closed, err
}

// queueFd is the queue's pollable fd, created at first use; -1 if the
// platform or the system refuses one.
func (h *squeueHandle) queueFd() int {
	return openFdOnce(&h.fdOnce, &h.fd, func() (int, status) { return squeueFd(h.ptr) })
}

// ---- RawSchedulingQueue ------------------------------------------------------

// RawSchedulingQueue is kube-scheduler's scheduling queue (PriorityQueue)
// over uint64 keys, running in libworkqueue. An item is in one of four
// places:
//
//   - active: ready to be popped, highest priority first, first come first
//     served among equal priorities;
//   - in flight: popped, until Done (success: the queue forgets it) or a
//     requeue (failure);
//   - backoff: failed, waiting out InitialBackoff · 2^(attempts-1), capped
//     at MaxBackoff (1 s doubling to 10 s by default), then active again;
//   - unschedulable: parked until a move event (MoveAllToActiveOrBackoff),
//     an Update (or an Add of the same key), or until it stayed longer than
//     MaxUnschedulableStay (5 minutes by default).
//
// No goroutine runs behind it: every call first moves what came due on
// the queue's clock, and a blocked Pop sleeps in the library until the
// next such time (PopWithContext in the Go netpoller). Its keys are the library's, so the queue can be shared
// with C code (Handle). Safe for concurrent use.
type RawSchedulingQueue struct {
	h *squeueHandle
}

// NewRawSchedulingQueue returns a scheduling queue of uint64 keys; the
// error wraps ErrInvalidArgument for settings the library refuses (a
// maximum backoff below the initial one, negative durations).
func NewRawSchedulingQueue(config SchedulingQueueConfig) (*RawSchedulingQueue, error) {
	h, err := newSQueueHandle(config)
	if err != nil {
		return nil, err
	}
	return &RawSchedulingQueue{h: h}, nil
}

// Handle is the native wq_squeue* for C code in the same process. It stays
// valid while q is reachable (keep q alive with runtime.KeepAlive while C
// uses it); C code may call every wq_squeue_* function on it except
// wq_squeue_free.
func (q *RawSchedulingQueue) Handle() unsafe.Pointer { return unsafe.Pointer(q.h.ptr) }

// Name is the name given in the config.
func (q *RawSchedulingQueue) Name() string { return q.h.name }

// Add adds key to the active queue at priority (higher is popped first)
// and reports true; a key the queue holds is updated instead (see Update)
// and Add reports false. A key deleted while in flight becomes known again
// (true): it stays in flight. Adds are accepted after Close, though
// nothing is popped any more.
func (q *RawSchedulingQueue) Add(key uint64, priority int) bool {
	isNew, st := squeueAdd(q.h.ptr, key, clampPriority(priority))
	runtime.KeepAlive(q.h)
	check("wq_squeue_add", st)
	return isNew
}

// Update tells the queue that an item changed, with its (possibly new)
// priority (kube-scheduler's Update of a pending pod), and returns where
// it is now; PlaceNone (and nothing added) for a key the queue does not
// hold. An active or backoff item takes the new priority; an
// unschedulable one leaves the pool (to backoff while its backoff lasts,
// else to active); an in-flight one takes the new priority and, if then
// requeued as unschedulable, goes to backoff instead of the pool.
func (q *RawSchedulingQueue) Update(key uint64, priority int) Place {
	p, st := squeueUpdate(q.h.ptr, key, clampPriority(priority))
	runtime.KeepAlive(q.h)
	check("wq_squeue_update", st)
	return p
}

// Delete removes key wherever it is and reports whether the queue held
// it. An in-flight item stays in flight (its worker still has it) and is
// dropped at its Done or requeue.
func (q *RawSchedulingQueue) Delete(key uint64) bool {
	return keyCall(q.h, squeueDelete, "wq_squeue_delete", key)
}

// Pop blocks until an item can be popped and returns it with its
// priority; closed is true once Close was called (at once, even with
// items left). The item is in flight until Done or a requeue; its
// attempts grow by one. A blocked Pop holds its OS thread (see
// Typed.Get); Close, an Add or a backoff coming due releases it.
func (q *RawSchedulingQueue) Pop() (key uint64, priority int, closed bool) {
	closed = q.h.pop(func(k uint64, p int32) bool {
		key, priority = k, int(p)
		return true
	})
	return key, priority, closed
}

// TryPop pops without waiting: ok is false when nothing can be popped.
func (q *RawSchedulingQueue) TryPop() (key uint64, priority int, ok bool, closed bool) {
	ok, closed = q.h.tryPop(func(k uint64, p int32) bool {
		key, priority = k, int(p)
		return true
	})
	return key, priority, ok, closed
}

// PopWithContext is Pop that returns ctx.Err() as soon as ctx is done.
// While it waits, it holds no OS thread: on Linux the goroutine parks in
// the Go netpoller on the queue's file descriptor, woken by an Add, a
// backoff coming due, Close or the cancellation (elsewhere it waits in the
// library in slices of 50 ms).
func (q *RawSchedulingQueue) PopWithContext(ctx context.Context) (key uint64, priority int, closed bool, err error) {
	closed, err = q.h.popWithContext(ctx, func(k uint64, p int32) bool {
		key, priority = k, int(p)
		return true
	})
	return key, priority, closed, err
}

// Done ends the flight of a popped item that succeeded: the queue forgets
// it, attempts and all. It reports whether key was in flight (if not,
// nothing changed).
func (q *RawSchedulingQueue) Done(key uint64) bool {
	return keyCall(q.h, squeueDone, "wq_squeue_done", key)
}

// RequeueBackoff ends the flight of a popped item whose attempt failed
// with an error: it waits out its backoff (never popped early), then
// returns to the active queue. It returns PlaceBackoff, or PlaceNone when
// key was not in flight or was deleted while in flight (it is dropped).
func (q *RawSchedulingQueue) RequeueBackoff(key uint64) Place {
	return keyCall(q.h, squeueRequeueBackoff, "wq_squeue_requeue_backoff", key)
}

// RequeueUnschedulable ends the flight of a popped item found
// unschedulable: PlaceUnschedulable (parked), PlaceBackoff if a move event
// or an update came while it was in flight, PlaceNone when key was not in
// flight or was deleted while in flight.
func (q *RawSchedulingQueue) RequeueUnschedulable(key uint64) Place {
	return keyCall(q.h, squeueRequeueUnschedulable, "wq_squeue_requeue_unschedulable", key)
}

// MoveAllToActiveOrBackoff is a cluster event that may make parked items
// schedulable: every unschedulable item goes to backoff (while its backoff
// lasts) or active, and every in-flight item learns of the event. event
// labels the move (MovesByEvent). It returns how many items left the pool.
func (q *RawSchedulingQueue) MoveAllToActiveOrBackoff(event string) int {
	return q.h.moveAll(event)
}

// MovesByEvent is how many items move events labelled event have moved
// out of the unschedulable pool since the queue was made.
func (q *RawSchedulingQueue) MovesByEvent(event string) uint64 { return q.h.movesByEvent(event) }

// ActiveLen is the number of items ready to be popped.
func (q *RawSchedulingQueue) ActiveLen() int {
	return q.h.length(squeueActiveLen, "wq_squeue_active_len")
}

// BackoffLen is the number of items waiting out a backoff.
func (q *RawSchedulingQueue) BackoffLen() int {
	return q.h.length(squeueBackoffLen, "wq_squeue_backoff_len")
}

// UnschedulableLen is the number of items parked as unschedulable.
func (q *RawSchedulingQueue) UnschedulableLen() int {
	return q.h.length(squeueUnschedulableLen, "wq_squeue_unschedulable_len")
}

// InFlightLen is the number of items popped and not yet done or requeued
// (items deleted while in flight included).
func (q *RawSchedulingQueue) InFlightLen() int {
	return q.h.length(squeueInFlightLen, "wq_squeue_in_flight_len")
}

// Place is where the queue holds key.
func (q *RawSchedulingQueue) Place(key uint64) Place {
	return keyCall(q.h, squeuePlace, "wq_squeue_place", key)
}

// Attempts is how many times key has been popped (0 for a key the queue
// does not hold); its next backoff is InitialBackoff · 2^(attempts-1),
// capped.
func (q *RawSchedulingQueue) Attempts(key uint64) int {
	return keyCall(q.h, squeueAttempts, "wq_squeue_attempts", key)
}

// Close closes the queue: every blocked Pop returns closed, and so does
// every later Pop, at once, even with items left. The other calls keep
// working, so workers can finish (Done, requeue) the items they hold.
// Repeating it is harmless. The native queue is freed by the garbage
// collector once q is unreachable.
func (q *RawSchedulingQueue) Close() { q.h.close() }

// Closed reports whether Close was called.
func (q *RawSchedulingQueue) Closed() bool { return q.h.closed() }

// ---- SchedulingQueue[T] ------------------------------------------------------

// SchedulingQueue is RawSchedulingQueue for items of any comparable type
// (a pod's namespace/name, a struct key). Items map to the library's keys
// through an interner that holds an item only while the queue does (in
// any place, in flight included), so its size follows the queue's.
//
// "In flight" is, for Done and the requeues, an item a Pop of this queue
// handed out: the interner marks an item when a Pop resolves its key, and
// Done / RequeueBackoff / RequeueUnschedulable of an unmarked item report
// false / PlaceNone without changing anything. An item deleted between the
// library's pop and its resolution is dropped there, as if the Delete came
// first.
type SchedulingQueue[T comparable] struct {
	h   *squeueHandle
	ids *interner[T]
}

// Interner flags of a scheduling queue's items.
const (
	// flagPopped: a Pop handed the item out and it is still in flight.
	flagPopped uint8 = 1 << iota
	// flagDeleted: deleted while in flight; the library drops it at its
	// Done or requeue.
	flagDeleted
)

// NewSchedulingQueue returns a scheduling queue of T; see
// NewRawSchedulingQueue.
func NewSchedulingQueue[T comparable](config SchedulingQueueConfig) (*SchedulingQueue[T], error) {
	h, err := newSQueueHandle(config)
	if err != nil {
		return nil, err
	}
	return &SchedulingQueue[T]{h: h, ids: newInterner[T]()}, nil
}

// Name is the name given in the config.
func (q *SchedulingQueue[T]) Name() string { return q.h.name }

// The interner protocol (the work queue's, with two flags). The library
// holds a key from its Add until its Done, the requeue of a key deleted in
// flight, or the Delete of a key not in flight. Every call that can add or
// drop a key runs under the item's shard lock and updates the entry in
// the same critical section, so the entry exists exactly while the
// library holds the key, with one exception: the library pops a key, a
// Delete comes before the popper resolves it, and Delete cannot tell
// "removed" from "marked, in flight". Delete therefore keeps the entry
// (flagDeleted) only when a Pop already resolved the key (flagPopped, set
// atomically with the resolution), and removes it otherwise; a popper that
// then cannot resolve its key finishes it in the library (Done) and pops
// again. A requeue clears flagPopped before its call into the library, as
// the item may be popped again (and marked) by another goroutine as soon
// as the library has requeued it. Ids carry a generation, so a stale key
// never resolves to a later entry of the same item.

// Add adds item at priority; see RawSchedulingQueue.Add.
func (q *SchedulingQueue[T]) Add(item T, priority int) bool {
	sh, hash := q.ids.shardOf(item)
	sh.mu.Lock()
	id, created := sh.intern(item, hash)
	isNew, st := squeueAdd(q.h.ptr, id, clampPriority(priority))
	switch {
	case st != stOK:
		if created {
			sh.remove(id)
		}
	case !created:
		sh.setFlags(id, 0, flagDeleted) // a deleted in-flight item is known again
	}
	sh.mu.Unlock()
	runtime.KeepAlive(q.h)
	check("wq_squeue_add", st)
	return isNew
}

// Update changes item's priority; see RawSchedulingQueue.Update.
func (q *SchedulingQueue[T]) Update(item T, priority int) Place {
	sh, hash := q.ids.shardOf(item)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	id, ok := sh.lookup(item, hash)
	if !ok {
		return PlaceNone
	}
	p, st := squeueUpdate(q.h.ptr, id, clampPriority(priority))
	runtime.KeepAlive(q.h)
	check("wq_squeue_update", st)
	return p
}

// Delete removes item; see RawSchedulingQueue.Delete.
func (q *SchedulingQueue[T]) Delete(item T) bool {
	sh, hash := q.ids.shardOf(item)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	id, ok := sh.lookup(item, hash)
	if !ok {
		return false
	}
	held := keyCall(q.h, squeueDelete, "wq_squeue_delete", id)
	if held {
		sh.removeUnlessFlagged(id, flagPopped, flagDeleted)
	}
	return held
}

// take resolves a popped key, marking its entry popped; a key whose entry
// is gone was deleted before its pop resolved: it is finished in the
// library and skipped.
func (q *SchedulingQueue[T]) take(out *T) func(uint64, int32) bool {
	return func(id uint64, _ int32) bool {
		item, ok := q.ids.keyOfMark(id, flagPopped)
		if ok {
			*out = item
			return true
		}
		keyCall(q.h, squeueDone, "wq_squeue_done", id)
		return false
	}
}

// Pop blocks until an item can be popped; see RawSchedulingQueue.Pop.
func (q *SchedulingQueue[T]) Pop() (item T, priority int, closed bool) {
	take := q.take(&item)
	closed = q.h.pop(func(id uint64, p int32) bool {
		priority = int(p)
		return take(id, p)
	})
	return item, priority, closed
}

// TryPop pops without waiting; see RawSchedulingQueue.TryPop.
func (q *SchedulingQueue[T]) TryPop() (item T, priority int, ok bool, closed bool) {
	take := q.take(&item)
	ok, closed = q.h.tryPop(func(id uint64, p int32) bool {
		priority = int(p)
		return take(id, p)
	})
	if !ok {
		priority = 0
	}
	return item, priority, ok, closed
}

// PopWithContext is Pop that returns ctx.Err() once ctx is done; see
// RawSchedulingQueue.PopWithContext.
func (q *SchedulingQueue[T]) PopWithContext(ctx context.Context) (item T, priority int, closed bool, err error) {
	take := q.take(&item)
	closed, err = q.h.popWithContext(ctx, func(id uint64, p int32) bool {
		priority = int(p)
		return take(id, p)
	})
	if closed || err != nil {
		priority = 0
	}
	return item, priority, closed, err
}

// inFlight looks item up under its shard lock (held on return) and
// reports its id if a Pop handed it out.
func (q *SchedulingQueue[T]) inFlight(item T) (sh *shard[T], id uint64, ok bool) {
	sh, hash := q.ids.shardOf(item)
	sh.mu.Lock()
	id, ok = sh.lookup(item, hash)
	if ok && sh.flagsOf(id)&flagPopped == 0 {
		ok = false
	}
	return sh, id, ok
}

// Done ends the flight of a popped item that succeeded; see
// RawSchedulingQueue.Done.
func (q *SchedulingQueue[T]) Done(item T) bool {
	sh, id, ok := q.inFlight(item)
	defer sh.mu.Unlock()
	if !ok {
		return false
	}
	was := keyCall(q.h, squeueDone, "wq_squeue_done", id)
	if was {
		sh.remove(id)
	}
	return was
}

func (q *SchedulingQueue[T]) requeue(item T, call func(*cSQueue, uint64) (Place, status), op string) Place {
	sh, id, ok := q.inFlight(item)
	defer sh.mu.Unlock()
	if !ok {
		return PlaceNone
	}
	// The flight ends here: clear the mark before the library may hand
	// the item out again (a pop on another goroutine marks it anew).
	sh.setFlags(id, 0, flagPopped)
	p := keyCall(q.h, call, op, id)
	if p == PlaceNone {
		sh.remove(id) // deleted while in flight: dropped
	}
	return p
}

// RequeueBackoff ends the flight of an item whose attempt failed with an
// error; see RawSchedulingQueue.RequeueBackoff.
func (q *SchedulingQueue[T]) RequeueBackoff(item T) Place {
	return q.requeue(item, squeueRequeueBackoff, "wq_squeue_requeue_backoff")
}

// RequeueUnschedulable ends the flight of an item found unschedulable; see
// RawSchedulingQueue.RequeueUnschedulable.
func (q *SchedulingQueue[T]) RequeueUnschedulable(item T) Place {
	return q.requeue(item, squeueRequeueUnschedulable, "wq_squeue_requeue_unschedulable")
}

// MoveAllToActiveOrBackoff is a cluster event; see
// RawSchedulingQueue.MoveAllToActiveOrBackoff.
func (q *SchedulingQueue[T]) MoveAllToActiveOrBackoff(event string) int {
	return q.h.moveAll(event)
}

// MovesByEvent: see RawSchedulingQueue.MovesByEvent.
func (q *SchedulingQueue[T]) MovesByEvent(event string) uint64 { return q.h.movesByEvent(event) }

// ActiveLen is the number of items ready to be popped.
func (q *SchedulingQueue[T]) ActiveLen() int {
	return q.h.length(squeueActiveLen, "wq_squeue_active_len")
}

// BackoffLen is the number of items waiting out a backoff.
func (q *SchedulingQueue[T]) BackoffLen() int {
	return q.h.length(squeueBackoffLen, "wq_squeue_backoff_len")
}

// UnschedulableLen is the number of items parked as unschedulable.
func (q *SchedulingQueue[T]) UnschedulableLen() int {
	return q.h.length(squeueUnschedulableLen, "wq_squeue_unschedulable_len")
}

// InFlightLen is the number of items popped and not yet done or requeued.
func (q *SchedulingQueue[T]) InFlightLen() int {
	return q.h.length(squeueInFlightLen, "wq_squeue_in_flight_len")
}

// Place is where the queue holds item.
func (q *SchedulingQueue[T]) Place(item T) Place {
	sh, hash := q.ids.shardOf(item)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	id, ok := sh.lookup(item, hash)
	if !ok {
		return PlaceNone
	}
	return keyCall(q.h, squeuePlace, "wq_squeue_place", id)
}

// Attempts is how many times item has been popped (0 for an item the
// queue does not hold).
func (q *SchedulingQueue[T]) Attempts(item T) int {
	sh, hash := q.ids.shardOf(item)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	id, ok := sh.lookup(item, hash)
	if !ok {
		return 0
	}
	return keyCall(q.h, squeueAttempts, "wq_squeue_attempts", id)
}

// Close closes the queue; see RawSchedulingQueue.Close.
func (q *SchedulingQueue[T]) Close() { q.h.close() }

// Closed reports whether Close was called.
func (q *SchedulingQueue[T]) Closed() bool { return q.h.closed() }

// InternedKeys is the number of items the interner holds: the items the
// queue holds. For tests and monitoring.
func (q *SchedulingQueue[T]) InternedKeys() int { return q.ids.len() }

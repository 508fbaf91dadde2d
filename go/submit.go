package workqueue

import (
	"sync/atomic"

	"github.com/workqueue-project/workqueue/go/internal/release"
	"github.com/workqueue-project/workqueue/go/internal/tsc"
)

// A submitter hands a queue adds and dones whose results the caller does
// not need through the queue's submission ring (wq_submissions in
// workqueue.h) instead of a cgo call each: a call costs 50-100 ns, a
// submission a few. The library applies the published submissions, in
// order, at the start of its next call on the queue, so every call sees
// every add and done published before it. Getters blocked in the library
// are counted in the ring's waiters; while there are any, producers call
// instead (a call wakes them).
type submitter struct {
	ring *submissionRing
}

// takeSpins is how many times a producer tries to take the ring from
// another one (which holds it for a few instructions) before it calls
// instead.
const takeSpins = 64

// submit publishes op on key at priority; false when the caller must make
// the call instead (a getter is waiting, the queue is shutting down,
// another producer holds the ring, or the ring is full). The ring is Go's
// memory, so this needs no h.enter: after a Close the submission is
// written and never applied, like a call that is ignored.
func (s *submitter) submit(h *queueHandle, op uint32, key uint64, priority int32) bool {
	if !s.open(h) {
		return false
	}
	tail, ok := s.take()
	if !ok {
		return false
	}
	r := s.ring
	if tail-atomic.LoadUint64(r.head) >= uint64(len(r.entries)) {
		release.StoreUint64(r.tail, tail)
		return false // the call applies the ring first, making room
	}
	// The call's time, read once the ring is taken: stamps then follow
	// the order of the entries.
	var stamp uint64
	if r.stamped {
		stamp = tsc.Read()
	}
	r.entries[tail%uint64(len(r.entries))] = submission{key: key, op: op, priority: priority, stamp: stamp}
	// Published with a release store, not sync/atomic's XCHG: the CAS
	// that took the ring already orders the look below after our first
	// one, and a waiter that reads the ring as taken waits for this store
	// (see wq_submissions in workqueue.h). Kept in this one function: a
	// call more costs the cycle 3 ns.
	release.StoreUint64(r.tail, tail+1)
	// A waiter counted between our first look and the CAS may have read
	// the ring before we took it, and sleeps: apply it now.
	if !s.open(h) && h.enter() {
		check("wq_queue_flush", queueFlush(h.ptr))
		h.exit()
	}
	return true
}

// take takes the ring (sets its BUSY bit) and returns the published count;
// false when another producer kept it for takeSpins tries. Whoever takes
// the ring publishes or gives it back at once, and makes no call on the
// queue meanwhile: a new waiter waits for that (wq_submissions).
func (s *submitter) take() (tail uint64, ok bool) {
	r := s.ring
	for spins := 0; spins < takeSpins; spins++ {
		tail = atomic.LoadUint64(r.tail)
		if tail&submissionBusy == 0 && atomic.CompareAndSwapUint64(r.tail, tail, tail|submissionBusy) {
			return tail, true
		}
	}
	return 0, false
}

// open reports whether a submission may be accepted now (submit checks
// again): s is not nil, the library counts no waiter (a getter waiting in
// it, keys waiting for a delay, an fd: see wq_submissions), and the queue
// is not shutting down (a shutting-down queue refuses adds, and the
// interner must hear of it).
func (s *submitter) open(h *queueHandle) bool {
	return s != nil && atomic.LoadUint32(s.ring.waiters) == 0 && !h.callsOnly.Load()
}

// submit is submitter.submit on the handle's ring; false without one.
func (h *queueHandle) submit(op uint32, key uint64, priority int32) bool {
	return h.sub != nil && h.sub.submit(h, op, key, priority)
}

// submitted counts the submissions published so far (for tests).
func (h *queueHandle) submitted() uint64 {
	if h.sub == nil {
		return 0
	}
	return atomic.LoadUint64(h.sub.ring.tail) &^ submissionBusy
}

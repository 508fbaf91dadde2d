package workqueue

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// queueHandle owns one wq_queue and decides when it may be freed.
//
// Every call runs between enter and exit. Close marks the handle closed
// (new calls are refused), shuts the queue down (which releases every
// blocked getter and drain), waits until the calls in flight have left,
// then frees the queue. A queue that is never closed is freed by a
// runtime cleanup once the handle is unreachable; a call in flight keeps
// the handle reachable (it calls exit after the C call), so the cleanup
// never runs under it.
type queueHandle struct {
	ptr  *cQueue
	name string
	// state: closedBit, plus the number of calls in flight.
	state atomic.Int64
	owner *cOwner
	sub   *submitter // nil: adds and dones are calls
	// callsOnly: a shutdown or close has begun; adds and dones are calls
	// from then on (see submitter.open).
	callsOnly atomic.Bool

	fdOnce sync.Once
	fd     int // the queue's pollable fd, or -1 when unavailable
}

const closedBit = int64(1) << 62

// cOwner frees a C object exactly once, from Close or from the cleanup.
type cOwner struct {
	once sync.Once
	free func()
}

func (o *cOwner) release() { o.once.Do(o.free) }

// liveNative counts the native objects this package made and has not freed
// yet (queues, limiters, clocks, semaphores), for tests of the cleanups.
var liveNative atomic.Int64

// owned returns an owner that frees a native object with free, counted in
// liveNative.
func owned(free func()) *cOwner {
	liveNative.Add(1)
	return &cOwner{free: func() {
		free()
		liveNative.Add(-1)
	}}
}

// submits reports whether a queue takes adds and dones through a
// submission ring (see submitter): not with priority aging (a key's age
// starts at its add, so adds are calls), nor with a metrics bridge, which
// needs each add's result when it is made. A named queue's library-side
// metrics take the ring's entries with their time-stamp counter value;
// where they cannot, the library makes producers call.
func submits[T comparable](m *metricsBridge[T], aging time.Duration) bool {
	return m == nil && aging == 0
}

// With submit, the queue gets a submission ring (see submitter).
func newQueueHandle(name string, limiter *cLimiter, clock *ManualClock, aging time.Duration, submit bool) (*queueHandle, error) {
	var cc *cClock
	if clock != nil {
		cc = clock.ptr
	}
	var ring *submissionRing
	if submit {
		ring = newSubmissionRing()
	}
	ptr, st := queueNew(name, limiter, cc, nanos(aging), ring)
	runtime.KeepAlive(clock)
	if st != stOK {
		if ring != nil {
			freeSubmissionRing(ring.mem)
		}
		return nil, statusError("wq_queue_new", st)
	}
	h := &queueHandle{ptr: ptr, name: name, fd: -1}
	h.owner = owned(func() { queueFree(ptr) })
	if ring == nil {
		runtime.AddCleanup(h, func(o *cOwner) { o.release() }, h.owner)
		return h, nil
	}
	ring.stamped = ring.stampsTSC()
	h.sub = &submitter{ring: ring}
	// Producers write into the ring without entering the handle, so it
	// lives as long as the handle, not just the queue. One cleanup frees
	// both, the queue first: until wq_queue_free returns, a scrape on any
	// thread may apply a named queue's ring (cleanups run in no set order,
	// so two could free the ring first).
	runtime.AddCleanup(h, func(r ringOwner) {
		r.owner.release()
		freeSubmissionRing(r.mem)
	}, ringOwner{owner: h.owner, mem: ring.mem})
	return h, nil
}

// ringOwner is what a queue handle's cleanup frees: the queue, then its
// submission ring.
type ringOwner struct {
	owner *cOwner
	mem   unsafe.Pointer
}

// enter admits a call; false once the handle is closed.
func (h *queueHandle) enter() bool {
	if h.state.Add(1)&closedBit != 0 {
		h.state.Add(-1)
		return false
	}
	return true
}

// exit ends a call admitted by enter.
func (h *queueHandle) exit() {
	h.state.Add(-1)
}

func (h *queueHandle) closed() bool { return h.state.Load()&closedBit != 0 }

// close shuts the queue down and frees it once no call is in flight.
// Later calls (and a second close) do nothing.
func (h *queueHandle) close() {
	h.callsOnly.Store(true)
	for {
		s := h.state.Load()
		if s&closedBit != 0 {
			return
		}
		if h.state.CompareAndSwap(s, s|closedBit) {
			break
		}
	}
	// Wakes every blocked getter and drain; the calls in flight return.
	check("wq_queue_shutdown", queueShutdown(h.ptr))
	wait := time.Microsecond
	for h.state.Load() != closedBit {
		time.Sleep(wait)
		if wait < time.Millisecond {
			wait *= 2
		}
	}
	h.owner.release()
}

// length runs one of the length calls; 0 once closed.
func (h *queueHandle) length(call func(*cQueue) (int, status), op string) int {
	if !h.enter() {
		return 0
	}
	n, st := call(h.ptr)
	h.exit()
	check(op, st)
	return n
}

func (h *queueHandle) shutdown() {
	h.callsOnly.Store(true)
	if !h.enter() {
		return
	}
	st := queueShutdown(h.ptr)
	h.exit()
	check("wq_queue_shutdown", st)
}

// drain shuts down with drain, waiting timeout ns (-1: forever); reports
// whether the queue drained.
func (h *queueHandle) drain(timeout int64) bool {
	h.callsOnly.Store(true)
	if !h.enter() {
		return true
	}
	st := queueShutdownWithDrain(h.ptr, timeout)
	h.exit()
	if st == stTimeout {
		return false
	}
	check("wq_queue_shutdown_with_drain", st)
	return true
}

func (h *queueHandle) shuttingDown() bool {
	if !h.enter() {
		return true
	}
	down, st := queueShuttingDown(h.ptr)
	h.exit()
	check("wq_queue_shutting_down", st)
	return down
}

// wait waits for a key as waitReady says. The call must be admitted
// (enter) for the whole wait.
func (h *queueHandle) wait(ctx context.Context, try func(timeout int64) bool) error {
	return waitReady(ctx, h.queueFd, try)
}

// queueFd is the queue's pollable fd, created at first use; -1 if the
// platform or the system refuses one.
func (h *queueHandle) queueFd() int {
	return openFdOnce(&h.fdOnce, &h.fd, func() (int, status) { return queueFd(h.ptr) })
}

// countTrue calls f on every element of s, in order, and returns how many
// calls reported true.
func countTrue[E any](s []E, f func(E) bool) int {
	n := 0
	for _, e := range s {
		if f(e) {
			n++
		}
	}
	return n
}

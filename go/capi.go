package workqueue

// Every call into libworkqueue goes through this file: thin wrappers that
// convert types and return the library's status.
//
// Each function declared below is `noescape` (the library never keeps a
// pointer it is given past the call: results are copied out, names are
// copied in) and `nocallback` (it never calls back into Go). Together they
// let cgo skip escaping out-parameters to the heap and skip the callback
// bookkeeping, which is most of a crossing's cost. The two functions that
// do call back (wq_parallelize, wq_worker_run) are not used from Go:
// ParallelizeUntil and RunWorkers are written in Go over the queue.

/*
#include <stdlib.h>
#include "workqueue.h"

#cgo noescape wq_status_str
#cgo nocallback wq_status_str
#cgo noescape wq_version
#cgo nocallback wq_version

#cgo noescape wq_manual_clock_new
#cgo nocallback wq_manual_clock_new
#cgo noescape wq_manual_clock_step
#cgo nocallback wq_manual_clock_step
#cgo noescape wq_manual_clock_set
#cgo nocallback wq_manual_clock_set
#cgo noescape wq_manual_clock_now
#cgo nocallback wq_manual_clock_now
#cgo noescape wq_manual_clock_free
#cgo nocallback wq_manual_clock_free

#cgo noescape wq_rate_limiter_new_exponential
#cgo nocallback wq_rate_limiter_new_exponential
#cgo noescape wq_rate_limiter_new_fast_slow
#cgo nocallback wq_rate_limiter_new_fast_slow
#cgo noescape wq_rate_limiter_new_token_bucket
#cgo nocallback wq_rate_limiter_new_token_bucket
#cgo noescape wq_rate_limiter_new_max_of
#cgo nocallback wq_rate_limiter_new_max_of
#cgo noescape wq_rate_limiter_new_max_wait
#cgo nocallback wq_rate_limiter_new_max_wait
#cgo noescape wq_rate_limiter_new_default_controller
#cgo nocallback wq_rate_limiter_new_default_controller
#cgo noescape wq_rate_limiter_new_default_item
#cgo nocallback wq_rate_limiter_new_default_item
#cgo noescape wq_rate_limiter_when
#cgo nocallback wq_rate_limiter_when
#cgo noescape wq_rate_limiter_forget
#cgo nocallback wq_rate_limiter_forget
#cgo noescape wq_rate_limiter_num_requeues
#cgo nocallback wq_rate_limiter_num_requeues
#cgo noescape wq_rate_limiter_free
#cgo nocallback wq_rate_limiter_free

#cgo noescape wq_queue_new
#cgo nocallback wq_queue_new
#cgo noescape wq_queue_free
#cgo nocallback wq_queue_free
#cgo noescape wq_queue_add
#cgo nocallback wq_queue_add
#cgo noescape wq_queue_add_batch
#cgo nocallback wq_queue_add_batch
#cgo noescape wq_queue_add_after
#cgo nocallback wq_queue_add_after
#cgo noescape wq_queue_add_rate_limited
#cgo nocallback wq_queue_add_rate_limited
#cgo noescape wq_queue_get
#cgo nocallback wq_queue_get
#cgo noescape wq_queue_get_batch
#cgo nocallback wq_queue_get_batch
#cgo noescape wq_queue_done
#cgo nocallback wq_queue_done
#cgo noescape wq_queue_done_batch
#cgo nocallback wq_queue_done_batch
#cgo noescape wq_queue_forget
#cgo nocallback wq_queue_forget
#cgo noescape wq_queue_num_requeues
#cgo nocallback wq_queue_num_requeues
#cgo noescape wq_queue_len
#cgo nocallback wq_queue_len
#cgo noescape wq_queue_processing_len
#cgo nocallback wq_queue_processing_len
#cgo noescape wq_queue_delayed_len
#cgo nocallback wq_queue_delayed_len
#cgo noescape wq_queue_shutdown
#cgo nocallback wq_queue_shutdown
#cgo noescape wq_queue_shutdown_with_drain
#cgo nocallback wq_queue_shutdown_with_drain
#cgo noescape wq_queue_shutting_down
#cgo nocallback wq_queue_shutting_down
#cgo noescape wq_queue_fd
#cgo nocallback wq_queue_fd
#cgo noescape wq_queue_holds
#cgo nocallback wq_queue_holds
#cgo noescape wq_queue_holds_batch
#cgo nocallback wq_queue_holds_batch
#cgo noescape wq_queue_done_holds
#cgo nocallback wq_queue_done_holds

#cgo noescape wq_semaphore_new
#cgo nocallback wq_semaphore_new
#cgo noescape wq_semaphore_acquire
#cgo nocallback wq_semaphore_acquire
#cgo noescape wq_semaphore_try_acquire
#cgo nocallback wq_semaphore_try_acquire
#cgo noescape wq_semaphore_release
#cgo nocallback wq_semaphore_release
#cgo noescape wq_semaphore_available
#cgo nocallback wq_semaphore_available
#cgo noescape wq_semaphore_free
#cgo nocallback wq_semaphore_free
*/
import "C"

import (
	"math"
	"time"
	"unsafe"
)

// status is a wq_status.
type status int

const (
	stOK              = status(C.WQ_STATUS_OK)
	stTimeout         = status(C.WQ_STATUS_TIMEOUT)
	stShutdown        = status(C.WQ_STATUS_SHUTDOWN)
	stNullArgument    = status(C.WQ_STATUS_NULL_ARGUMENT)
	stInvalidArgument = status(C.WQ_STATUS_INVALID_ARGUMENT)
	stInvalidState    = status(C.WQ_STATUS_INVALID_STATE)
	stUnsupported     = status(C.WQ_STATUS_UNSUPPORTED)
	stSystemError     = status(C.WQ_STATUS_SYSTEM_ERROR)
	stPanic           = status(C.WQ_STATUS_PANIC)
)

// Timeouts of blocking calls, in nanoseconds.
const (
	waitForever = int64(-1)
	noWait      = int64(0)
)

func (s status) String() string {
	return C.GoString(C.wq_status_str(C.int(s)))
}

// libraryVersion is the version of the linked libworkqueue.
func libraryVersion() string { return C.GoString(C.wq_version()) }

// Version of the header the package was compiled with.
const (
	headerMajor = int(C.WQ_VERSION_MAJOR)
	headerMinor = int(C.WQ_VERSION_MINOR)
	headerPatch = int(C.WQ_VERSION_PATCH)
)

// nanos converts a Go duration to the library's nanoseconds; negative
// durations become 0.
func nanos(d time.Duration) uint64 {
	if d < 0 {
		return 0
	}
	return uint64(d)
}

// fromNanos converts the library's nanoseconds to a duration, saturating.
func fromNanos(ns uint64) time.Duration {
	if ns > math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(ns)
}

// timeoutNanos converts a wait to the library's timeout_ns: a negative
// duration waits forever.
func timeoutNanos(d time.Duration) int64 {
	if d < 0 {
		return waitForever
	}
	return int64(d)
}

type (
	cQueue   = C.wq_queue
	cLimiter = C.wq_rate_limiter
	cClock   = C.wq_manual_clock
	cSem     = C.wq_semaphore
)

// ---- manual clock ------------------------------------------------------

func clockNew() (*cClock, status) {
	var c *cClock
	st := status(C.wq_manual_clock_new(&c))
	return c, st
}

func clockStep(c *cClock, d uint64) status {
	return status(C.wq_manual_clock_step(c, C.uint64_t(d)))
}

func clockSet(c *cClock, now uint64) status {
	return status(C.wq_manual_clock_set(c, C.uint64_t(now)))
}

func clockNow(c *cClock) (uint64, status) {
	var now C.uint64_t
	st := status(C.wq_manual_clock_now(c, &now))
	return uint64(now), st
}

func clockFree(c *cClock) { C.wq_manual_clock_free(c) }

// ---- rate limiters -----------------------------------------------------

func limiterNewExponential(base, max uint64) (*cLimiter, status) {
	var l *cLimiter
	st := status(C.wq_rate_limiter_new_exponential(C.uint64_t(base), C.uint64_t(max), &l))
	return l, st
}

func limiterNewFastSlow(fast, slow uint64, maxFast uint32) (*cLimiter, status) {
	var l *cLimiter
	st := status(C.wq_rate_limiter_new_fast_slow(C.uint64_t(fast), C.uint64_t(slow), C.uint32_t(maxFast), &l))
	return l, st
}

func limiterNewTokenBucket(rate float64, burst uint32) (*cLimiter, status) {
	var l *cLimiter
	st := status(C.wq_rate_limiter_new_token_bucket(C.double(rate), C.uint32_t(burst), &l))
	return l, st
}

func limiterNewMaxOf(members []*cLimiter) (*cLimiter, status) {
	var l *cLimiter
	if len(members) == 0 {
		return nil, stInvalidArgument
	}
	// The array of C pointers lives in C memory: cgo forbids passing Go
	// memory that holds pointers (even C ones) without pinning.
	arr := (**cLimiter)(C.malloc(C.size_t(len(members)) * C.size_t(unsafe.Sizeof(l))))
	defer C.free(unsafe.Pointer(arr))
	copy(unsafe.Slice(arr, len(members)), members)
	st := status(C.wq_rate_limiter_new_max_of(arr, C.size_t(len(members)), &l))
	return l, st
}

func limiterNewMaxWait(inner *cLimiter, max uint64) (*cLimiter, status) {
	var l *cLimiter
	st := status(C.wq_rate_limiter_new_max_wait(inner, C.uint64_t(max), &l))
	return l, st
}

func limiterNewDefaultController() (*cLimiter, status) {
	var l *cLimiter
	st := status(C.wq_rate_limiter_new_default_controller(&l))
	return l, st
}

func limiterNewDefaultItem() (*cLimiter, status) {
	var l *cLimiter
	st := status(C.wq_rate_limiter_new_default_item(&l))
	return l, st
}

func limiterWhen(l *cLimiter, clock *cClock, key uint64) (time.Duration, status) {
	var d C.uint64_t
	st := status(C.wq_rate_limiter_when(l, clock, C.uint64_t(key), &d))
	return fromNanos(uint64(d)), st
}

func limiterForget(l *cLimiter, key uint64) status {
	return status(C.wq_rate_limiter_forget(l, C.uint64_t(key)))
}

func limiterNumRequeues(l *cLimiter, key uint64) (int, status) {
	var n C.uint32_t
	st := status(C.wq_rate_limiter_num_requeues(l, C.uint64_t(key), &n))
	return int(n), st
}

func limiterFree(l *cLimiter) { C.wq_rate_limiter_free(l) }

// ---- queue -------------------------------------------------------------

func queueNew(name string, limiter *cLimiter, clock *cClock) (*cQueue, status) {
	var opts C.wq_queue_options
	if name != "" {
		cname := C.CString(name)
		defer C.free(unsafe.Pointer(cname))
		opts.name = cname
	}
	opts.rate_limiter = limiter
	opts.clock = clock
	var q *cQueue
	st := status(C.wq_queue_new(&opts, &q))
	return q, st
}

func queueFree(q *cQueue) { C.wq_queue_free(q) }

func queueAdd(q *cQueue, key uint64) (bool, status) {
	var added C.bool
	st := status(C.wq_queue_add(q, C.uint64_t(key), &added))
	return bool(added), st
}

func queueAddBatch(q *cQueue, keys []uint64) (int, status) {
	if len(keys) == 0 {
		return 0, stOK
	}
	var added C.size_t
	st := status(C.wq_queue_add_batch(q, (*C.uint64_t)(unsafe.Pointer(&keys[0])), C.size_t(len(keys)), &added))
	return int(added), st
}

func queueAddAfter(q *cQueue, key uint64, delay time.Duration) (bool, status) {
	var added C.bool
	st := status(C.wq_queue_add_after(q, C.uint64_t(key), C.int64_t(delay), &added))
	return bool(added), st
}

func queueAddRateLimited(q *cQueue, key uint64) (time.Duration, status) {
	var d C.uint64_t
	st := status(C.wq_queue_add_rate_limited(q, C.uint64_t(key), &d))
	return fromNanos(uint64(d)), st
}

func queueGet(q *cQueue, timeout int64) (uint64, status) {
	var key C.uint64_t
	st := status(C.wq_queue_get(q, C.int64_t(timeout), &key))
	return uint64(key), st
}

func queueGetBatch(q *cQueue, out []uint64, timeout int64) (int, status) {
	if len(out) == 0 {
		return 0, stOK
	}
	var n C.size_t
	st := status(C.wq_queue_get_batch(q, (*C.uint64_t)(unsafe.Pointer(&out[0])), C.size_t(len(out)), C.int64_t(timeout), &n))
	return int(n), st
}

func queueDone(q *cQueue, key uint64) (bool, status) {
	var was C.bool
	st := status(C.wq_queue_done(q, C.uint64_t(key), &was))
	return bool(was), st
}

func queueDoneBatch(q *cQueue, keys []uint64) (int, status) {
	if len(keys) == 0 {
		return 0, stOK
	}
	var n C.size_t
	st := status(C.wq_queue_done_batch(q, (*C.uint64_t)(unsafe.Pointer(&keys[0])), C.size_t(len(keys)), &n))
	return int(n), st
}

func queueForget(q *cQueue, key uint64) status {
	return status(C.wq_queue_forget(q, C.uint64_t(key)))
}

func queueNumRequeues(q *cQueue, key uint64) (int, status) {
	var n C.uint32_t
	st := status(C.wq_queue_num_requeues(q, C.uint64_t(key), &n))
	return int(n), st
}

func queueLen(q *cQueue) (int, status) {
	var n C.size_t
	st := status(C.wq_queue_len(q, &n))
	return int(n), st
}

func queueProcessingLen(q *cQueue) (int, status) {
	var n C.size_t
	st := status(C.wq_queue_processing_len(q, &n))
	return int(n), st
}

func queueDelayedLen(q *cQueue) (int, status) {
	var n C.size_t
	st := status(C.wq_queue_delayed_len(q, &n))
	return int(n), st
}

func queueShutdown(q *cQueue) status {
	return status(C.wq_queue_shutdown(q))
}

func queueShutdownWithDrain(q *cQueue, timeout int64) status {
	return status(C.wq_queue_shutdown_with_drain(q, C.int64_t(timeout)))
}

func queueShuttingDown(q *cQueue) (bool, status) {
	var b C.bool
	st := status(C.wq_queue_shutting_down(q, &b))
	return bool(b), st
}

func queueFd(q *cQueue) (int, status) {
	var fd C.int
	st := status(C.wq_queue_fd(q, &fd))
	return int(fd), st
}

func queueHolds(q *cQueue, key uint64) (bool, status) {
	var holds C.bool
	st := status(C.wq_queue_holds(q, C.uint64_t(key), &holds))
	return bool(holds), st
}

// queueDoneHolds is queueDone then queueHolds, in one crossing.
func queueDoneHolds(q *cQueue, key uint64) (was, holds bool, st status) {
	var w, h C.bool
	st = status(C.wq_queue_done_holds(q, C.uint64_t(key), &w, &h))
	return bool(w), bool(h), st
}

// queueHoldsBatch writes into out[i] whether the queue holds keys[i];
// len(out) must be at least len(keys).
func queueHoldsBatch(q *cQueue, keys []uint64, out []bool) status {
	if len(keys) == 0 {
		return stOK
	}
	if len(out) < len(keys) {
		return stInvalidArgument
	}
	// bool and C's bool are both one byte holding 0 or 1.
	st := status(C.wq_queue_holds_batch(q, (*C.uint64_t)(unsafe.Pointer(&keys[0])), C.size_t(len(keys)),
		(*C.bool)(unsafe.Pointer(&out[0])), nil))
	return st
}

// ---- semaphore ---------------------------------------------------------

func semNew(permits int) (*cSem, status) {
	var s *cSem
	st := status(C.wq_semaphore_new(C.size_t(permits), &s))
	return s, st
}

func semAcquire(s *cSem, timeout int64) status {
	return status(C.wq_semaphore_acquire(s, C.int64_t(timeout)))
}

func semTryAcquire(s *cSem) status { return status(C.wq_semaphore_try_acquire(s)) }

func semRelease(s *cSem) status { return status(C.wq_semaphore_release(s)) }

func semAvailable(s *cSem) (int, status) {
	var n C.size_t
	st := status(C.wq_semaphore_available(s, &n))
	return int(n), st
}

func semFree(s *cSem) { C.wq_semaphore_free(s) }

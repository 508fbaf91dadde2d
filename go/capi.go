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

// The per-key calls, reshaped for cgo: the handle passed as an integer and
// the results returned by value, so the call passes no pointer for cgo to
// check (the handle is C memory; out-parameters would be Go memory).
// Flag results ride above the status in bits 8 and up.
typedef struct { uint64_t key; wq_status status; } go_wq_key_status;

static inline uint32_t go_wq_queue_add(uintptr_t q, uint64_t key) {
	bool added = false;
	wq_status st = wq_queue_add((wq_queue *)q, key, &added);
	return (uint32_t)st | (uint32_t)added << 8;
}

static inline go_wq_key_status go_wq_queue_get(uintptr_t q, int64_t timeout_ns) {
	go_wq_key_status r = {0, WQ_STATUS_OK};
	r.status = wq_queue_get((wq_queue *)q, timeout_ns, &r.key);
	return r;
}

static inline uint32_t go_wq_queue_done(uintptr_t q, uint64_t key) {
	bool was = false;
	wq_status st = wq_queue_done((wq_queue *)q, key, &was);
	return (uint32_t)st | (uint32_t)was << 8;
}

static inline uint32_t go_wq_queue_done_holds(uintptr_t q, uint64_t key) {
	bool was = false, holds = false;
	wq_status st = wq_queue_done_holds((wq_queue *)q, key, &was, &holds);
	return (uint32_t)st | (uint32_t)was << 8 | (uint32_t)holds << 9;
}

// Status in bits 0-7, was processing bit 8, holds bit 9; the get's
// status in bits 16-23.
typedef struct { uint64_t key; uint32_t bits; } go_wq_done_get;

static inline go_wq_done_get go_wq_queue_done_holds_try_get(uintptr_t q, uint64_t key) {
	bool was = false, holds = false;
	wq_status get = WQ_STATUS_TIMEOUT;
	go_wq_done_get r = {0, 0};
	wq_status st = wq_queue_done_holds_try_get((wq_queue *)q, key, &was, &holds, &r.key, &get);
	r.bits = (uint32_t)st | (uint32_t)was << 8 | (uint32_t)holds << 9 | (uint32_t)get << 16;
	return r;
}

#cgo noescape go_wq_queue_done_holds_try_get
#cgo nocallback go_wq_queue_done_holds_try_get
#cgo noescape wq_queue_flush
#cgo nocallback wq_queue_flush
#cgo noescape go_wq_queue_add
#cgo nocallback go_wq_queue_add
#cgo noescape go_wq_queue_get
#cgo nocallback go_wq_queue_get
#cgo noescape go_wq_queue_done
#cgo nocallback go_wq_queue_done
#cgo noescape go_wq_queue_done_holds
#cgo nocallback go_wq_queue_done_holds

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
#cgo noescape wq_queue_add_batch_with_priority
#cgo nocallback wq_queue_add_batch_with_priority
#cgo noescape wq_queue_add_after
#cgo nocallback wq_queue_add_after
#cgo noescape wq_queue_add_rate_limited
#cgo nocallback wq_queue_add_rate_limited
#cgo noescape wq_queue_get_batch
#cgo nocallback wq_queue_get_batch
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

#cgo noescape wq_queue_add_with_priority
#cgo nocallback wq_queue_add_with_priority
#cgo noescape wq_queue_add_after_with_priority
#cgo nocallback wq_queue_add_after_with_priority
#cgo noescape wq_queue_add_rate_limited_with_priority
#cgo nocallback wq_queue_add_rate_limited_with_priority
#cgo noescape wq_queue_try_add_after_with_priority
#cgo nocallback wq_queue_try_add_after_with_priority
#cgo noescape wq_queue_get_with_priority
#cgo nocallback wq_queue_get_with_priority
#cgo noescape wq_queue_len_by_priority
#cgo nocallback wq_queue_len_by_priority
#cgo noescape wq_queue_metrics
#cgo nocallback wq_queue_metrics
#cgo noescape wq_metrics_prometheus
#cgo nocallback wq_metrics_prometheus
#cgo noescape wq_metrics_bucket_bounds
#cgo nocallback wq_metrics_bucket_bounds
#cgo noescape wq_squeue_new
#cgo nocallback wq_squeue_new
#cgo noescape wq_squeue_free
#cgo nocallback wq_squeue_free
#cgo noescape wq_squeue_add
#cgo nocallback wq_squeue_add
#cgo noescape wq_squeue_update
#cgo nocallback wq_squeue_update
#cgo noescape wq_squeue_delete
#cgo nocallback wq_squeue_delete
#cgo noescape wq_squeue_pop
#cgo nocallback wq_squeue_pop
#cgo noescape wq_squeue_done
#cgo nocallback wq_squeue_done
#cgo noescape wq_squeue_requeue_backoff
#cgo nocallback wq_squeue_requeue_backoff
#cgo noescape wq_squeue_requeue_unschedulable
#cgo nocallback wq_squeue_requeue_unschedulable
#cgo noescape wq_squeue_move_all
#cgo nocallback wq_squeue_move_all
#cgo noescape wq_squeue_moves_by_event
#cgo nocallback wq_squeue_moves_by_event
#cgo noescape wq_squeue_active_len
#cgo nocallback wq_squeue_active_len
#cgo noescape wq_squeue_backoff_len
#cgo nocallback wq_squeue_backoff_len
#cgo noescape wq_squeue_unschedulable_len
#cgo nocallback wq_squeue_unschedulable_len
#cgo noescape wq_squeue_in_flight_len
#cgo nocallback wq_squeue_in_flight_len
#cgo noescape wq_squeue_place
#cgo nocallback wq_squeue_place
#cgo noescape wq_squeue_attempts
#cgo nocallback wq_squeue_attempts
#cgo noescape wq_squeue_close
#cgo nocallback wq_squeue_close
#cgo noescape wq_squeue_is_closed
#cgo nocallback wq_squeue_is_closed
#cgo noescape wq_squeue_fd
#cgo nocallback wq_squeue_fd

#cgo noescape wq_semaphore_new
#cgo nocallback wq_semaphore_new
#cgo noescape wq_semaphore_acquire
#cgo nocallback wq_semaphore_acquire
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
	stNoMetrics       = status(C.WQ_STATUS_NO_METRICS)
	stBufferTooSmall  = status(C.WQ_STATUS_BUFFER_TOO_SMALL)
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
	cSQueue  = C.wq_squeue
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

func queueNew(name string, limiter *cLimiter, clock *cClock, aging uint64, ring *submissionRing) (*cQueue, status) {
	var opts C.wq_queue_options
	if ring != nil {
		opts.submissions = (*C.wq_submissions)(ring.mem)
	}
	opts.priority_aging_ns = C.uint64_t(aging)
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
	r := C.go_wq_queue_add(C.uintptr_t(uintptr(unsafe.Pointer(q))), C.uint64_t(key))
	return r>>8&1 != 0, status(r & 0xff)
}

// queueAddBatch serves both AddBatch (priority 0) and the priority
// batches: in the library wq_queue_add_batch is the same call at 0.
func queueAddBatch(q *cQueue, keys []uint64, priority int32) (int, status) {
	if len(keys) == 0 {
		return 0, stOK
	}
	var added C.size_t
	st := status(C.wq_queue_add_batch_with_priority(q, (*C.uint64_t)(unsafe.Pointer(&keys[0])), C.size_t(len(keys)), C.int32_t(priority), &added))
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
	r := C.go_wq_queue_get(C.uintptr_t(uintptr(unsafe.Pointer(q))), C.int64_t(timeout))
	return uint64(r.key), status(r.status)
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
	r := C.go_wq_queue_done(C.uintptr_t(uintptr(unsafe.Pointer(q))), C.uint64_t(key))
	return r>>8&1 != 0, status(r & 0xff)
}

func queueDoneBatch(q *cQueue, keys []uint64) (int, status) {
	if len(keys) == 0 {
		return 0, stOK
	}
	var n C.size_t
	st := status(C.wq_queue_done_batch(q, (*C.uint64_t)(unsafe.Pointer(&keys[0])), C.size_t(len(keys)), &n))
	return int(n), st
}

// ---- submission ring ----------------------------------------------------

// submissionRing is a queue's submission ring (wq_submissions): its
// counters and entries, in C memory this package allocates.
type submissionRing struct {
	mem        unsafe.Pointer // C.malloc'd: free it with freeSubmissionRing
	tail, head *uint64
	waiters    *uint32
	entries    []submission
	// stamped: entries carry the time-stamp counter at the call (a named
	// queue's metrics time them; see internal/tsc).
	stamped bool
}

// submission is a wq_submission.
type submission struct {
	key      uint64
	op       uint32
	priority int32
	stamp    uint64
}

// stampsTSC reports whether the queue set the ring up for entries
// stamped with the time-stamp counter (after wq_queue_new).
func (r *submissionRing) stampsTSC() bool {
	return (*C.wq_submissions)(r.mem).stamps == C.WQ_STAMPS_TSC
}

const (
	submitAdd      = uint32(C.WQ_SUBMIT_ADD)
	submitDone     = uint32(C.WQ_SUBMIT_DONE)
	submissionBusy = uint64(C.WQ_SUBMISSIONS_BUSY)
)

// The Go view of an entry must match the C one.
var _ [unsafe.Sizeof(submission{}) - C.sizeof_wq_submission]struct{}
var _ [C.sizeof_wq_submission - unsafe.Sizeof(submission{})]struct{}

// newSubmissionRing allocates a ring for wq_queue_new.
func newSubmissionRing() *submissionRing {
	r := (*C.wq_submissions)(C.malloc(C.sizeof_wq_submissions))
	return &submissionRing{
		mem:     unsafe.Pointer(r),
		tail:    (*uint64)(unsafe.Pointer(&r.tail)),
		head:    (*uint64)(unsafe.Pointer(&r.head)),
		waiters: (*uint32)(unsafe.Pointer(&r.waiters)),
		entries: unsafe.Slice((*submission)(unsafe.Pointer(&r.entries[0])), C.WQ_SUBMISSIONS_CAPACITY),
	}
}

func freeSubmissionRing(mem unsafe.Pointer) { C.free(mem) }

func queueFlush(q *cQueue) status { return status(C.wq_queue_flush(q)) }

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
	r := C.go_wq_queue_done_holds(C.uintptr_t(uintptr(unsafe.Pointer(q))), C.uint64_t(key))
	return r>>8&1 != 0, r>>9&1 != 0, status(r & 0xff)
}

// queueDoneHoldsTryGet is queueDoneHolds then queueGet(noWait), in one
// crossing; getSt is the get's status (next is valid with stOK).
func queueDoneHoldsTryGet(q *cQueue, key uint64) (was, holds bool, next uint64, getSt, st status) {
	r := C.go_wq_queue_done_holds_try_get(C.uintptr_t(uintptr(unsafe.Pointer(q))), C.uint64_t(key))
	return r.bits>>8&1 != 0, r.bits>>9&1 != 0, uint64(r.key), status(r.bits >> 16 & 0xff), status(r.bits & 0xff)
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

func semRelease(s *cSem) status { return status(C.wq_semaphore_release(s)) }

func semAvailable(s *cSem) (int, status) {
	var n C.size_t
	st := status(C.wq_semaphore_available(s, &n))
	return int(n), st
}

func semFree(s *cSem) { C.wq_semaphore_free(s) }

// ---- priorities ----------------------------------------------------------

func queueAddWithPriority(q *cQueue, key uint64, priority int32) (bool, status) {
	var added C.bool
	st := status(C.wq_queue_add_with_priority(q, C.uint64_t(key), C.int32_t(priority), &added))
	return bool(added), st
}

func queueAddAfterWithPriority(q *cQueue, key uint64, delay time.Duration, priority int32) (bool, status) {
	var added C.bool
	st := status(C.wq_queue_add_after_with_priority(q, C.uint64_t(key), C.int64_t(delay), C.int32_t(priority), &added))
	return bool(added), st
}

// queueTryAddAfter is queueAddAfterWithPriority that reports a refusal:
// stShutdown when the queue is shutting down and refused key.
func queueTryAddAfter(q *cQueue, key uint64, delay time.Duration, priority int32) (bool, status) {
	var added C.bool
	st := status(C.wq_queue_try_add_after_with_priority(q, C.uint64_t(key), C.int64_t(delay), C.int32_t(priority), &added))
	return bool(added), st
}

func queueAddRateLimitedWithPriority(q *cQueue, key uint64, priority int32) (time.Duration, status) {
	var d C.uint64_t
	st := status(C.wq_queue_add_rate_limited_with_priority(q, C.uint64_t(key), C.int32_t(priority), &d))
	return fromNanos(uint64(d)), st
}

func queueGetWithPriority(q *cQueue, timeout int64) (uint64, int32, status) {
	var key C.uint64_t
	var priority C.int32_t
	st := status(C.wq_queue_get_with_priority(q, C.int64_t(timeout), &key, &priority))
	return uint64(key), int32(priority), st
}

// queueLenByPriority fills priorities and lens (same length) with the
// highest levels and returns how many levels are in use.
func queueLenByPriority(q *cQueue, priorities []int32, lens []uintptr) (int, status) {
	var n C.size_t
	var pp *C.int32_t
	var lp *C.size_t
	if len(priorities) > 0 {
		pp = (*C.int32_t)(unsafe.Pointer(&priorities[0]))
		lp = (*C.size_t)(unsafe.Pointer(&lens[0]))
	}
	st := status(C.wq_queue_len_by_priority(q, pp, lp, C.size_t(len(priorities)), &n))
	return int(n), st
}

// ---- metrics -------------------------------------------------------------

const metricsBuckets = int(C.WQ_METRICS_BUCKETS)

// The header's bound on wq_metrics.depth_by_priority is MetricsPriorities:
// one of these overflows uint, and the package fails to compile, when the
// two differ.
const (
	_ = uint(C.WQ_METRICS_PRIORITIES - MetricsPriorities)
	_ = uint(MetricsPriorities - C.WQ_METRICS_PRIORITIES)
)

type cMetrics = C.wq_metrics

func queueMetrics(q *cQueue) (cMetrics, status) {
	var m C.wq_metrics
	st := status(C.wq_queue_metrics(q, &m))
	return m, st
}

// metricsBucketBounds is the upper bounds of the histogram buckets.
func metricsBucketBounds() []float64 {
	return append([]float64(nil), unsafe.Slice((*float64)(unsafe.Pointer(C.wq_metrics_bucket_bounds())), metricsBuckets)...)
}

// metricsPrometheus is the Prometheus text of every named queue.
func metricsPrometheus() string {
	buf := make([]byte, 16<<10)
	for {
		var n C.size_t
		st := status(C.wq_metrics_prometheus((*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), &n))
		switch st {
		case stOK:
			return string(buf[:n])
		case stBufferTooSmall:
			buf = make([]byte, int(n)+int(n)/4+1024)
		default:
			check("wq_metrics_prometheus", st)
		}
	}
}

// ---- scheduling queue ------------------------------------------------------

type squeueOptions struct {
	name                       string
	clock                      *cClock
	initialBackoff, maxBackoff uint64
	maxStay                    uint64
	disablePopFromBackoff      bool
}

func squeueNew(o squeueOptions) (*cSQueue, status) {
	var opts C.wq_squeue_options
	if o.name != "" {
		cname := C.CString(o.name)
		defer C.free(unsafe.Pointer(cname))
		opts.name = cname
	}
	opts.clock = o.clock
	opts.initial_backoff_ns = C.uint64_t(o.initialBackoff)
	opts.max_backoff_ns = C.uint64_t(o.maxBackoff)
	opts.max_unschedulable_stay_ns = C.uint64_t(o.maxStay)
	opts.disable_pop_from_backoff = C.bool(o.disablePopFromBackoff)
	var q *cSQueue
	st := status(C.wq_squeue_new(&opts, &q))
	return q, st
}

func squeueFree(q *cSQueue) { C.wq_squeue_free(q) }

func squeueAdd(q *cSQueue, key uint64, priority int32) (bool, status) {
	var isNew C.bool
	st := status(C.wq_squeue_add(q, C.uint64_t(key), C.int32_t(priority), &isNew))
	return bool(isNew), st
}

func squeueUpdate(q *cSQueue, key uint64, priority int32) (Place, status) {
	var p C.wq_place
	st := status(C.wq_squeue_update(q, C.uint64_t(key), C.int32_t(priority), &p))
	return Place(p), st
}

func squeueDelete(q *cSQueue, key uint64) (bool, status) {
	var held C.bool
	st := status(C.wq_squeue_delete(q, C.uint64_t(key), &held))
	return bool(held), st
}

func squeuePop(q *cSQueue, timeout int64) (uint64, int32, status) {
	var key C.uint64_t
	var priority C.int32_t
	st := status(C.wq_squeue_pop(q, C.int64_t(timeout), &key, &priority))
	return uint64(key), int32(priority), st
}

func squeueDone(q *cSQueue, key uint64) (bool, status) {
	var was C.bool
	st := status(C.wq_squeue_done(q, C.uint64_t(key), &was))
	return bool(was), st
}

func squeueRequeueBackoff(q *cSQueue, key uint64) (Place, status) {
	var p C.wq_place
	st := status(C.wq_squeue_requeue_backoff(q, C.uint64_t(key), &p))
	return Place(p), st
}

func squeueRequeueUnschedulable(q *cSQueue, key uint64) (Place, status) {
	var p C.wq_place
	st := status(C.wq_squeue_requeue_unschedulable(q, C.uint64_t(key), &p))
	return Place(p), st
}

// cString is s with a terminating NUL, in Go memory (the library copies
// what it keeps).
func cString(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}

func squeueMoveAll(q *cSQueue, event string) (int, status) {
	ev := cString(event)
	var moved C.size_t
	st := status(C.wq_squeue_move_all(q, (*C.char)(unsafe.Pointer(&ev[0])), &moved))
	return int(moved), st
}

func squeueMovesByEvent(q *cSQueue, event string) (uint64, status) {
	ev := cString(event)
	var n C.uint64_t
	st := status(C.wq_squeue_moves_by_event(q, (*C.char)(unsafe.Pointer(&ev[0])), &n))
	return uint64(n), st
}

func squeueActiveLen(q *cSQueue) (int, status) {
	var n C.size_t
	st := status(C.wq_squeue_active_len(q, &n))
	return int(n), st
}

func squeueBackoffLen(q *cSQueue) (int, status) {
	var n C.size_t
	st := status(C.wq_squeue_backoff_len(q, &n))
	return int(n), st
}

func squeueUnschedulableLen(q *cSQueue) (int, status) {
	var n C.size_t
	st := status(C.wq_squeue_unschedulable_len(q, &n))
	return int(n), st
}

func squeueInFlightLen(q *cSQueue) (int, status) {
	var n C.size_t
	st := status(C.wq_squeue_in_flight_len(q, &n))
	return int(n), st
}

func squeuePlace(q *cSQueue, key uint64) (Place, status) {
	var p C.wq_place
	st := status(C.wq_squeue_place(q, C.uint64_t(key), &p))
	return Place(p), st
}

func squeueAttempts(q *cSQueue, key uint64) (int, status) {
	var n C.uint32_t
	st := status(C.wq_squeue_attempts(q, C.uint64_t(key), &n))
	return int(n), st
}

func squeueClose(q *cSQueue) status { return status(C.wq_squeue_close(q)) }

func squeueIsClosed(q *cSQueue) (bool, status) {
	var b C.bool
	st := status(C.wq_squeue_is_closed(q, &b))
	return bool(b), st
}

func squeueFd(q *cSQueue) (int, status) {
	var fd C.int
	st := status(C.wq_squeue_fd(q, &fd))
	return int(fd), st
}

// Places, as the library numbers them.
const (
	cPlaceNone          = Place(C.WQ_PLACE_NONE)
	cPlaceActive        = Place(C.WQ_PLACE_ACTIVE)
	cPlaceBackoff       = Place(C.WQ_PLACE_BACKOFF)
	cPlaceUnschedulable = Place(C.WQ_PLACE_UNSCHEDULABLE)
	cPlaceInFlight      = Place(C.WQ_PLACE_IN_FLIGHT)
)

func toHistogram(h *C.wq_histogram) Histogram {
	var out Histogram
	for i := range out.Buckets {
		out.Buckets[i] = uint64(h.buckets[i])
	}
	out.Sum = float64(h.sum_seconds)
	out.Count = uint64(h.count)
	return out
}

func toMetrics(m *cMetrics) Metrics {
	return Metrics{
		Depth:                          int64(m.depth),
		Adds:                           uint64(m.adds),
		Retries:                        uint64(m.retries),
		QueueDuration:                  toHistogram(&m.queue_duration),
		WorkDuration:                   toHistogram(&m.work_duration),
		UnfinishedWorkSeconds:          float64(m.unfinished_work_seconds),
		LongestRunningProcessorSeconds: float64(m.longest_running_processor_seconds),
		DepthByPriority:                toDepthByPriority(m),
		DepthOtherPriorities:           uint64(m.depth_other_priorities),
	}
}

// toDepthByPriority is the filled entries of m.depth_by_priority; nil
// when there are none.
func toDepthByPriority(m *cMetrics) []PriorityLen {
	n := min(int(m.depth_by_priority_len), len(m.depth_by_priority))
	if n == 0 {
		return nil
	}
	out := make([]PriorityLen, n)
	for i, d := range m.depth_by_priority[:n] {
		out[i] = PriorityLen{Priority: int(d.priority), Len: int(d.count)}
	}
	return out
}

//! The queue handle and its calls.

use crate::boundary::{
    arg, boundary, free_handle, into_handle, out, out_opt, run_void, slice, slice_out, write_opt,
};
use crate::clock::{delay_ns, timeout, wq_manual_clock};
use crate::rate_limiter::wq_rate_limiter;
use crate::status::wq_status;
use crate::submissions::{wq_submissions, Submissions, Waiter};
use std::ffi::{c_char, c_int, CStr, CString};
use std::mem::MaybeUninit;
use std::sync::MutexGuard;
use std::time::Duration;
use workqueue_core::{GetError, Queue};

/// A work queue of `uint64_t` keys with client-go's semantics: adds
/// collapse, a key is never handed to two workers at once, delays,
/// per-key rate limits, shutdown with drain.
///
/// Thread safety: every call except `wq_queue_free` may run concurrently
/// with any other call on the same queue, from any number of threads:
/// producers add while workers get and done, a blocked `wq_queue_get` is
/// released by `wq_queue_shutdown` from another thread. `wq_queue_free`
/// must be the last use: freeing a queue while another thread still uses
/// it (including a thread blocked in `wq_queue_get` or `wq_worker_run`, or
/// an event loop polling its fd) is the caller's bug. Shut it down, join
/// the users, then free it.
pub struct wq_queue {
    core: Queue<u64>,
    name: Option<CString>,
    /// The ring given at `wq_queue_new`, if any (see `wq_submissions`).
    submissions: Option<Submissions>,
    #[cfg(target_os = "linux")]
    fd: crate::fd::FdCell,
}

impl wq_queue {
    /// The queue, once the submissions published so far are applied: what
    /// every call works on.
    #[inline]
    pub(crate) fn queue(&self) -> &Queue<u64> {
        if let Some(submissions) = &self.submissions {
            submissions.apply(&self.core);
        }
        &self.core
    }

    /// [`Self::queue`] for a call that may wait up to `wait` (`None`: for
    /// ever): unless that is zero, the call counts as a waiter until the
    /// guard is dropped, so producers stop submitting and call instead,
    /// which wakes it.
    #[inline]
    pub(crate) fn waiting(&self, wait: Option<Duration>) -> (&Queue<u64>, Option<Waiter<'_>>) {
        if wait.is_some_and(|wait| wait.is_zero()) {
            return (self.queue(), None);
        }
        let waiter = self.submissions.as_ref().map(Submissions::wait);
        (self.queue(), waiter)
    }

    pub(crate) fn submissions(&self) -> Option<&Submissions> {
        self.submissions.as_ref()
    }

    /// [`Self::queue`] for a call that may delay a key: while the guard
    /// lives producers call instead of submitting (see
    /// [`Submissions::delaying`]).
    pub(crate) fn delaying(&self) -> (&Queue<u64>, Option<MutexGuard<'_, ()>>) {
        match &self.submissions {
            Some(submissions) => (&self.core, Some(submissions.delaying(&self.core))),
            None => (&self.core, None),
        }
    }

    /// Adds `key` after `delay_ns` (zero or negative: at once) at
    /// `priority`, as `wq_queue_add_after_with_priority`: `None` when the
    /// queue is shutting down and refused the key, else whether the call
    /// added it or set its ready time.
    pub(crate) fn add_after(&self, key: u64, delay_ns: i64, priority: i32) -> Option<bool> {
        let delay = Duration::from_nanos(u64::try_from(delay_ns).unwrap_or(0));
        let (core, _delaying) = self.delaying();
        core.try_add_after_with_priority(key, delay, priority)
    }

    /// After a get: lets producers submit again once no key waits for a
    /// delay.
    #[inline]
    pub(crate) fn settle_delays(&self) {
        if let Some(submissions) = &self.submissions {
            submissions.settle_delays(&self.core);
        }
    }
}

/// How to build a queue; pass NULL to `wq_queue_new` for every default.
/// Zero-initialise it (`wq_queue_options opts = {0};`) and set what you
/// need: a zero field means its default. Later versions may append fields
/// (with a zero default); before 1.0 such a version changes the soname, so
/// a program is never run against a library that expects a longer struct.
#[repr(C)]
pub struct wq_queue_options {
    /// The queue's name (UTF-8, copied), the `name` label of its metrics.
    /// NULL: unnamed.
    pub name: *const c_char,
    /// The limiter behind `wq_queue_add_rate_limited`, `wq_queue_forget`
    /// and `wq_queue_num_requeues`. The queue keeps its own reference: the
    /// caller still owns its handle and frees it when it likes. NULL: a new
    /// default controller limiter (see
    /// `wq_rate_limiter_new_default_controller`).
    pub rate_limiter: *const wq_rate_limiter,
    /// The clock for delays and rate limits. The queue keeps its own
    /// reference. NULL: the real monotonic clock.
    pub clock: *const wq_manual_clock,
    /// Priority aging, in nanoseconds: a waiting key's priority grows by
    /// one for every interval it has waited, so a steady stream of high
    /// priorities cannot starve low ones (see `wq_queue_add_with_priority`).
    /// 0: strict priority.
    pub priority_aging_ns: u64,
    /// Memory for a submission ring (see `wq_submissions`), through which
    /// one producer at a time adds and finishes keys without a call each:
    /// for a binding whose calls are expensive. The queue sets it up (no
    /// initialisation needed); it must stay valid until `wq_queue_free`
    /// returns. NULL: none. A named queue's entries carry stamps (see
    /// `wq_submissions.stamps`).
    pub submissions: *mut wq_submissions,
}

/// Creates a queue and stores it in `*out_queue`. `options` may be NULL
/// (every default: unnamed, the real clock, the default controller rate
/// limiter). Free the queue with `wq_queue_free`.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `out_queue` is NULL;
/// `WQ_STATUS_INVALID_ARGUMENT` if the name is not UTF-8 or the
/// submissions are not aligned for a `wq_submissions`.
///
/// # Safety
/// `options` is NULL or points to a valid `wq_queue_options` whose
/// pointers are NULL or valid (a NUL-terminated name, live handles,
/// ring memory that outlives the queue); `out_queue` is NULL or valid for
/// a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_new(
    options: *const wq_queue_options,
    out_queue: *mut *mut wq_queue,
) -> wq_status {
    boundary!({
        let out_queue = out(out_queue)?;
        let mut builder = Queue::<u64>::builder();
        let mut name = None;
        let mut ring = std::ptr::null_mut();
        let mut aging = false;
        // SAFETY: the caller passes NULL or valid options.
        if let Some(options) = unsafe { options.as_ref() } {
            if !options.name.is_null() {
                // SAFETY: the caller passes a NUL-terminated string.
                let text = unsafe { CStr::from_ptr(options.name) };
                let utf8 = text.to_str().map_err(|_| wq_status::InvalidArgument)?;
                builder = builder.name(utf8);
                name = Some(text.to_owned());
            }
            // SAFETY: the caller passes NULL or a live limiter handle.
            if let Some(limiter) = unsafe { options.rate_limiter.as_ref() } {
                builder = builder.rate_limiter(limiter.shared());
            }
            // SAFETY: the caller passes NULL or a live clock handle.
            if let Some(clock) = unsafe { options.clock.as_ref() } {
                builder = builder.clock(clock.clock());
            }
            if options.priority_aging_ns != 0 {
                aging = true;
                builder = builder
                    .priority_aging(Duration::from_nanos(options.priority_aging_ns))
                    .map_err(|_| wq_status::InvalidArgument)?;
            }
            if !options.submissions.is_aligned() {
                return Err(wq_status::InvalidArgument);
            }
            ring = options.submissions;
        }
        let core = builder.build();
        let submissions = (!ring.is_null()).then(|| {
            // SAFETY: the caller passes ring memory that stays valid while
            // the queue lives.
            let submissions = unsafe { Submissions::new(ring, &core) };
            if aging {
                // A key's age starts at its add: adds must be calls.
                submissions.wait_forever();
            }
            submissions
        });
        out_queue.write(into_handle(wq_queue {
            core,
            submissions,
            name,
            #[cfg(target_os = "linux")]
            fd: crate::fd::FdCell::new(),
        }));
        Ok(())
    })
}

/// Frees a queue, its keys and its fd. NULL does nothing. No other thread
/// may use the queue any more (see `wq_queue`): shut it down and join its
/// users first. Keys still queued are dropped.
///
/// # Safety
/// `queue` is NULL or a live handle that no one uses again.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_free(queue: *mut wq_queue) {
    // SAFETY: the caller passes NULL or a live handle no one uses again.
    run_void(|| unsafe { free_handle(queue) })
}

/// Stores the queue's name in `*out_name`: a NUL-terminated string owned by
/// the queue and valid until it is freed, or NULL for an unnamed queue.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_name` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_name` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_name(
    queue: *const wq_queue,
    out_name: *mut *const c_char,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let out_name = out(out_name)?;
        out_name.write(queue.name.as_ref().map_or(std::ptr::null(), |n| n.as_ptr()));
        Ok(())
    })
}

/// Marks `key` as needing processing. `*out_added` (if `out_added` is not
/// NULL) tells whether this scheduled a new run of the key: false when the
/// add collapsed into a pending run (the key is already queued, or was
/// already added again while being processed) or the queue is shutting
/// down. A key added while it is processed is handed out again after
/// `wq_queue_done`.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_added` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_add(
    queue: *mut wq_queue,
    key: u64,
    out_added: *mut bool,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        write_opt(out_opt(out_added), queue.queue().add(key));
        Ok(())
    })
}

/// Adds `count` keys under one lock (one boundary crossing for many keys).
/// `*out_added` (if not NULL) receives how many scheduled a new run.
/// `keys` may be NULL when `count` is 0.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL, or `keys` is NULL
/// and `count` is not 0.
///
/// # Safety
/// `queue` is NULL or a live handle; `keys` is NULL or points to `count`
/// readable keys; `out_added` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_add_batch(
    queue: *mut wq_queue,
    keys: *const u64,
    count: usize,
    out_added: *mut usize,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        // SAFETY: the caller passes NULL or `count` readable keys.
        let keys = unsafe { slice(keys, count) }?;
        let added = queue.queue().add_batch(keys.iter().copied());
        write_opt(out_opt(out_added), added);
        Ok(())
    })
}

/// Adds `key` once `delay_ns` nanoseconds have passed on the queue's clock;
/// a zero or negative delay adds at once (like `wq_queue_add`). If the key
/// already waits for an earlier or equal time, nothing changes: a later
/// delay never postpones an earlier one. `*out_added` (if not NULL) tells
/// whether the call added the key or set its ready time.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_added` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_add_after(
    queue: *mut wq_queue,
    key: u64,
    delay_ns: i64,
    out_added: *mut bool,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let added = queue.add_after(key, delay_ns, 0).unwrap_or(false);
        write_opt(out_opt(out_added), added);
        Ok(())
    })
}

/// Adds `key` after the delay the queue's rate limiter gives it now (one
/// more failure of the key), and stores that delay in `*out_delay_ns` if
/// `out_delay_ns` is not NULL.
///
/// Returns `WQ_STATUS_SHUTDOWN` (and does not consult the limiter) if the
/// queue is shutting down; `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_delay_ns` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_add_rate_limited(
    queue: *mut wq_queue,
    key: u64,
    out_delay_ns: *mut u64,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let (core, _delaying) = queue.delaying();
        let delay = core.add_rate_limited(key).ok_or(wq_status::Shutdown)?;
        write_opt(out_opt(out_delay_ns), delay_ns(delay));
        Ok(())
    })
}

pub(crate) fn get_error(error: GetError) -> wq_status {
    match error {
        GetError::Empty => wq_status::Timeout,
        GetError::ShutDown => wq_status::Shutdown,
    }
}

/// Hands out the oldest ready key in `*out_key`, waiting up to `timeout_ns`
/// nanoseconds of real time for one: `WQ_WAIT_FOREVER` (-1) waits until a
/// key is ready or the queue is shut down, `WQ_NO_WAIT` (0) does not wait.
/// The key is the caller's until it calls `wq_queue_done` for it; no other
/// getter receives it meanwhile.
///
/// Returns `WQ_STATUS_TIMEOUT` if no key became ready in time;
/// `WQ_STATUS_SHUTDOWN` once the queue is shut down and no key is left
/// (queued keys are still handed out after a shutdown);
/// `WQ_STATUS_INVALID_ARGUMENT` for a negative timeout other than -1;
/// `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_key` is NULL. `*out_key` is
/// written only with `WQ_STATUS_OK`.
///
/// A blocked get holds its thread (from Go: an OS thread); event loops can
/// wait on `wq_queue_fd` instead and get with `WQ_NO_WAIT`.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_key` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_get(
    queue: *mut wq_queue,
    timeout_ns: i64,
    out_key: *mut u64,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let out_key = out(out_key)?;
        let wait = timeout(timeout_ns)?;
        let (core, _waiter) = queue.waiting(wait);
        let key = match wait {
            None => core.get().ok_or(wq_status::Shutdown)?,
            Some(wait) if wait.is_zero() => core.try_get().map_err(get_error)?,
            Some(wait) => core.get_timeout(wait).map_err(get_error)?,
        };
        queue.settle_delays();
        out_key.write(key);
        Ok(())
    })
}

/// Writes ready keys into a caller's array, counting them.
struct ArraySink<'a> {
    keys: &'a mut [MaybeUninit<u64>],
    len: usize,
}

impl Extend<u64> for ArraySink<'_> {
    fn extend<I: IntoIterator<Item = u64>>(&mut self, keys: I) {
        for key in keys {
            // The queue never gives more than `capacity` keys; indexing
            // would panic (caught at the boundary) rather than overflow.
            self.keys[self.len].write(key);
            self.len += 1;
        }
    }
}

/// Waits like `wq_queue_get` for a first key, then hands out up to
/// `capacity` ready keys at once, oldest first, into `out_keys`, and stores
/// how many in `*out_count` (at least 1 with `WQ_STATUS_OK`). Each key must
/// be given back with `wq_queue_done` (or `wq_queue_done_batch`). A
/// `capacity` of 0 returns `WQ_STATUS_OK` with a count of 0 at once;
/// `out_keys` may then be NULL.
///
/// Returns the statuses of `wq_queue_get`; `WQ_STATUS_NULL_ARGUMENT` also
/// if `out_keys` is NULL (and `capacity` is not 0) or `out_count` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_keys` is NULL or valid for writes
/// of `capacity` keys; `out_count` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_get_batch(
    queue: *mut wq_queue,
    out_keys: *mut u64,
    capacity: usize,
    timeout_ns: i64,
    out_count: *mut usize,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        // SAFETY: the caller passes NULL or room for `capacity` keys.
        let keys = unsafe { slice_out(out_keys, capacity) }?;
        let out_count = out(out_count)?;
        let wait = timeout(timeout_ns)?;
        let mut sink = ArraySink { keys, len: 0 };
        let (core, _waiter) = queue.waiting(wait);
        core.get_batch_into(&mut sink, capacity, wait)
            .map_err(get_error)?;
        queue.settle_delays();
        out_count.write(sink.len);
        Ok(())
    })
}

/// Marks the processing of `key` finished. If the key was added again
/// meanwhile it goes to the tail of the queue. `*out_was_processing` (if
/// not NULL) tells whether the key was being processed; if it was not,
/// nothing changed.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_was_processing` is NULL or valid
/// for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_done(
    queue: *mut wq_queue,
    key: u64,
    out_was_processing: *mut bool,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        write_opt(out_opt(out_was_processing), queue.queue().done(&key));
        Ok(())
    })
}

/// `wq_queue_done` for `count` keys in one call (and under one lock per
/// few hundred keys). `*out_done` (if not NULL) receives how many of them
/// were being processed. `keys` may be NULL
/// when `count` is 0.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL, or `keys` is NULL
/// and `count` is not 0.
///
/// # Safety
/// `queue` is NULL or a live handle; `keys` is NULL or points to `count`
/// readable keys; `out_done` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_done_batch(
    queue: *mut wq_queue,
    keys: *const u64,
    count: usize,
    out_done: *mut usize,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        // SAFETY: the caller passes NULL or `count` readable keys.
        let keys = unsafe { slice(keys, count) }?;
        let done = queue.queue().done_batch(keys);
        write_opt(out_opt(out_done), done);
        Ok(())
    })
}

/// Tells the queue's rate limiter to stop tracking `key` (after it was
/// processed successfully): its next failure starts from the shortest
/// delay. Does not remove the key from the queue.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_forget(queue: *mut wq_queue, key: u64) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        queue.queue().forget(&key);
        Ok(())
    })
}

/// Stores in `*out_count` how many times `key` has been rate-limited since
/// it was last forgotten.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_count` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_count` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_num_requeues(
    queue: *const wq_queue,
    key: u64,
    out_count: *mut u32,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let out_count = out(out_count)?;
        out_count.write(queue.queue().num_requeues(&key));
        Ok(())
    })
}

/// A `*_len` call: checks its arguments, then reads one count.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_len` is NULL or valid for a write.
unsafe fn count(
    queue: *const wq_queue,
    out_len: *mut usize,
    read: impl FnOnce(&Queue<u64>) -> usize,
) -> wq_status {
    boundary!({
        // SAFETY: forwarded to the caller.
        let queue = unsafe { arg(queue) }?;
        let out_len = out(out_len)?;
        out_len.write(read(queue.queue()));
        Ok(())
    })
}

/// Stores in `*out_len` how many keys are ready to be handed out: not those
/// being processed, not those waiting for a delay (due ones count).
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_len` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_len` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_len(queue: *const wq_queue, out_len: *mut usize) -> wq_status {
    // SAFETY: forwarded to the caller.
    unsafe { count(queue, out_len, Queue::len) }
}

/// Stores in `*out_len` how many keys are handed out and not yet done.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_len` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_len` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_processing_len(
    queue: *const wq_queue,
    out_len: *mut usize,
) -> wq_status {
    // SAFETY: forwarded to the caller.
    unsafe { count(queue, out_len, Queue::processing_len) }
}

/// Stores in `*out_len` how many keys wait for a delay that has not passed.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_len` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_len` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_delayed_len(
    queue: *const wq_queue,
    out_len: *mut usize,
) -> wq_status {
    // SAFETY: forwarded to the caller.
    unsafe { count(queue, out_len, Queue::delayed_len) }
}

/// Stops accepting keys and wakes every blocked getter; keys already
/// queued are still handed out, then gets return `WQ_STATUS_SHUTDOWN`.
/// Keys waiting for a delay are dropped. Releases a waiting
/// `wq_queue_shutdown_with_drain`. Repeating it is harmless.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_shutdown(queue: *mut wq_queue) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        queue.queue().shutdown();
        Ok(())
    })
}

/// Shuts the queue down, then waits up to `timeout_ns` nanoseconds of real
/// time (`WQ_WAIT_FOREVER`: as long as it takes, `WQ_NO_WAIT`: not at all)
/// until every key that was queued or being processed has been handed out
/// and marked done. Unlike client-go, keys still queued are waited for
/// too. Workers must keep getting and calling done meanwhile. Calling it
/// again, or after `wq_queue_shutdown`, is harmless.
///
/// Returns `WQ_STATUS_OK` once drained; `WQ_STATUS_TIMEOUT` if not drained
/// when the timeout passed or when a plain `wq_queue_shutdown` from another
/// thread ended the wait (the queue stays shut down either way);
/// `WQ_STATUS_INVALID_ARGUMENT` for a negative timeout other than -1;
/// `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_shutdown_with_drain(
    queue: *mut wq_queue,
    timeout_ns: i64,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let wait = timeout(timeout_ns)?;
        let (core, _waiter) = queue.waiting(None);
        let drained = match wait {
            None => core.shutdown_with_drain(),
            Some(wait) => core.shutdown_with_drain_timeout(wait),
        };
        if drained {
            Ok(())
        } else {
            Err(wq_status::Timeout)
        }
    })
}

/// Stores in `*out_shutting_down` whether `wq_queue_shutdown` or
/// `wq_queue_shutdown_with_drain` has been called.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_shutting_down` is
/// NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_shutting_down` is NULL or valid
/// for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_shutting_down(
    queue: *const wq_queue,
    out_shutting_down: *mut bool,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let out_shutting_down = out(out_shutting_down)?;
        out_shutting_down.write(queue.queue().shutting_down());
        Ok(())
    })
}

/// Stores in `*out_fd` a file descriptor that is readable while a
/// `wq_queue_get` would not block: a key is ready, or the queue is shut
/// down and exhausted. Wait on it with epoll, poll, select, libuv or
/// asyncio instead of blocking a thread in `wq_queue_get`, then get with
/// `WQ_NO_WAIT` until it returns `WQ_STATUS_TIMEOUT`.
///
/// - The fd is created on the first call (a Linux timerfd; every call
///   returns the same fd) and is owned by the queue: never read from it,
///   write to it or close it; `wq_queue_free` closes it. Keep it
///   registered level-triggered (or re-check after each get).
/// - Readability can be spurious (another thread took the key first):
///   always get with `WQ_NO_WAIT`.
/// - It becomes readable within microseconds after a key becomes ready,
///   and when a delayed key comes due on the real clock (the fd carries
///   the timer, so no thread and no polling interval is needed). On a
///   manual clock it follows the clock's steps.
/// - Once it exists, each change of readiness costs the queue one system
///   call under its lock.
///
/// Returns `WQ_STATUS_UNSUPPORTED` off Linux; `WQ_STATUS_SYSTEM_ERROR` if
/// the fd could not be created (`errno` says why);
/// `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_fd` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_fd` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_fd(queue: *mut wq_queue, out_fd: *mut c_int) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let out_fd = out(out_fd)?;
        out_fd.write(queue_fd(queue)?);
        Ok(())
    })
}

#[cfg(target_os = "linux")]
fn queue_fd(queue: &wq_queue) -> Result<c_int, wq_status> {
    crate::fd::readiness_fd(&queue.fd, |timer| {
        // Whoever polls the fd waits without a call: submitted keys would
        // not reach it.
        if let Some(submissions) = queue.submissions() {
            submissions.wait_forever();
        }
        queue.queue().observe_readiness(timer);
    })
}

#[cfg(not(target_os = "linux"))]
fn queue_fd(_queue: &wq_queue) -> Result<c_int, wq_status> {
    Err(wq_status::Unsupported)
}

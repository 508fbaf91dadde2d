//! The scheduling queue (kube-scheduler's `PriorityQueue`): the handle
//! `wq_squeue` and its calls.

use crate::boundary::{arg, boundary, free_handle, into_handle, out, out_opt, run_void, write_opt};
use crate::clock::{timeout, wq_manual_clock};
use crate::status::wq_status;
use std::ffi::{c_char, c_int, CStr};
use std::time::Duration;
use workqueue_core::scheduling::{Place, PopError, SchedulingQueue};

/// A scheduling queue ("squeue") of `uint64_t` keys with `int32_t`
/// priorities: kube-scheduler's `PriorityQueue`. An item is in one of four
/// places (`wq_place`):
///
/// - active: ready to be popped, highest priority first, first come first
///   served among equal priorities;
/// - in flight: popped, until `wq_squeue_done` (success: the queue forgets
///   it) or a requeue (failure);
/// - backoff: failed, waiting out `initial · 2^(attempts-1)` (1 s doubling
///   to 10 s by default), then active again;
/// - unschedulable: parked until a move event (`wq_squeue_move_all`), an
///   update (`wq_squeue_update`, or `wq_squeue_add` of the same key), or
///   until it stayed longer than the maximum stay (5 minutes by default).
///
/// No thread runs behind it: every call first moves whatever came due on
/// the queue's clock, and a blocked pop sleeps until the next such time (on
/// a manual clock, until the clock moves).
///
/// Thread safety: every call except `wq_squeue_free` may run concurrently
/// with any other call on the same queue, from any number of threads: a
/// blocked `wq_squeue_pop` is released by `wq_squeue_close` from another
/// thread, by an add, or by a backoff coming due (on a manual clock: by a
/// step of the clock). `wq_squeue_free` must be the last use (an event loop
/// polling its fd is a use): close the queue, join the threads that use it,
/// then free it.
pub struct wq_squeue {
    queue: SchedulingQueue<u64>,
    #[cfg(target_os = "linux")]
    fd: crate::fd::FdCell,
}

/// How to build a scheduling queue; pass NULL to `wq_squeue_new` for
/// every default (kube-scheduler's). Zero-initialise it
/// (`wq_squeue_options opts = {0};`) and set what you need: a zero field
/// means its default. Later versions may append fields (with a zero
/// default); before 1.0 such a version changes the soname.
#[repr(C)]
pub struct wq_squeue_options {
    /// The queue's name (UTF-8, copied). A named scheduling queue reports
    /// its sub-queue sizes in `wq_metrics_prometheus`
    /// (`workqueue_scheduling_pending_items{name, queue}`). NULL: unnamed.
    pub name: *const c_char,
    /// The clock of every timing rule (backoffs, the maximum stay). The
    /// queue keeps its own reference. NULL: the real monotonic clock.
    pub clock: *const wq_manual_clock,
    /// The backoff after the first failed attempt, in nanoseconds; it
    /// doubles with every further attempt. 0: 1 s.
    pub initial_backoff_ns: u64,
    /// The cap of the doubling backoff, in nanoseconds; at least the
    /// initial backoff. 0: 10 s.
    pub max_backoff_ns: u64,
    /// How long an item may stay unschedulable without a move event before
    /// it is flushed back (it leaves once it stayed strictly longer), in
    /// nanoseconds. 0: 300 s.
    pub max_unschedulable_stay_ns: u64,
    /// false (the default): a pop that finds the active queue empty takes
    /// the item whose backoff ends first instead of waiting
    /// (kube-scheduler's `SchedulerPopFromBackoffQ`, KEP-5142; only items
    /// requeued as unschedulable, never those requeued after an error).
    /// true: pops wait for backoffs to end.
    pub disable_pop_from_backoff: bool,
}

/// Where a scheduling queue holds an item (`wq_squeue_place` and the
/// results of the calls that move items). `wq_place_str` names each.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum wq_place {
    /// The queue does not hold the key (or it was deleted while in flight).
    None = 0,
    /// Ready to be popped.
    Active = 1,
    /// Waiting out its backoff.
    Backoff = 2,
    /// Parked until a move event, an update or the maximum stay.
    Unschedulable = 3,
    /// Popped, not yet done or requeued.
    InFlight = 4,
}

impl From<Option<Place>> for wq_place {
    fn from(place: Option<Place>) -> Self {
        match place {
            None => wq_place::None,
            Some(Place::Active) => wq_place::Active,
            Some(Place::Backoff) => wq_place::Backoff,
            Some(Place::Unschedulable) => wq_place::Unschedulable,
            Some(Place::InFlight) => wq_place::InFlight,
        }
    }
}

/// A static, NUL-terminated name of a place, as the conformance scenarios
/// write it: "none", "active", "backoff", "unschedulable", "in_flight".
/// Takes an `int` so that any value is safe: another value gives "unknown
/// place". Never returns NULL; do not free the result. Thread-safe.
#[no_mangle]
pub extern "C" fn wq_place_str(place: c_int) -> *const c_char {
    let text: &'static [u8] = match place {
        0 => b"none\0",
        1 => b"active\0",
        2 => b"backoff\0",
        3 => b"unschedulable\0",
        4 => b"in_flight\0",
        _ => b"unknown place\0",
    };
    text.as_ptr().cast()
}

/// Creates a scheduling queue and stores it in `*out_queue`. `options` may
/// be NULL (kube-scheduler's defaults: backoff from 1 s doubling to 10 s,
/// at most 300 s unschedulable, pop-from-backoff on, the real clock,
/// unnamed). Free
/// it with `wq_squeue_free`.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `out_queue` is NULL;
/// `WQ_STATUS_INVALID_ARGUMENT` if the name is not UTF-8 or the maximum
/// backoff is below the initial one (after defaults: an initial backoff
/// above 10 s needs a maximum backoff too).
///
/// # Safety
/// `options` is NULL or points to a valid `wq_squeue_options` whose
/// pointers are NULL or valid (a NUL-terminated name, a live clock);
/// `out_queue` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_new(
    options: *const wq_squeue_options,
    out_queue: *mut *mut wq_squeue,
) -> wq_status {
    boundary!({
        let out_queue = out(out_queue)?;
        let mut builder = SchedulingQueue::<u64>::builder();
        // SAFETY: the caller passes NULL or valid options.
        if let Some(options) = unsafe { options.as_ref() } {
            if !options.name.is_null() {
                // SAFETY: the caller passes a NUL-terminated string.
                let name = unsafe { CStr::from_ptr(options.name) };
                builder = builder.name(name.to_str().map_err(|_| wq_status::InvalidArgument)?);
            }
            // SAFETY: the caller passes NULL or a live clock handle.
            if let Some(clock) = unsafe { options.clock.as_ref() } {
                builder = builder.clock(clock.clock());
            }
            if options.initial_backoff_ns != 0 {
                builder = builder.initial_backoff(Duration::from_nanos(options.initial_backoff_ns));
            }
            if options.max_backoff_ns != 0 {
                builder = builder.max_backoff(Duration::from_nanos(options.max_backoff_ns));
            }
            if options.max_unschedulable_stay_ns != 0 {
                builder = builder.max_unschedulable_stay(Duration::from_nanos(
                    options.max_unschedulable_stay_ns,
                ));
            }
            builder = builder.pop_from_backoff(!options.disable_pop_from_backoff);
        }
        let queue = builder.build().map_err(|_| wq_status::InvalidArgument)?;
        out_queue.write(into_handle(wq_squeue {
            queue,
            #[cfg(target_os = "linux")]
            fd: crate::fd::FdCell::new(),
        }));
        Ok(())
    })
}

/// Frees a scheduling queue, its items and its fd. NULL does nothing. No other
/// thread may use it any more: close it and join its users first.
///
/// # Safety
/// `queue` is NULL or a live handle that no one uses again.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_free(queue: *mut wq_squeue) {
    // SAFETY: the caller passes NULL or a live handle no one uses again.
    run_void(|| unsafe { free_handle(queue) })
}

/// Adds `key` to the active queue at `priority` (higher is popped first).
/// `*out_new` (if not NULL) is true when a new item joined the active
/// queue; false when the queue already held the key: then it is updated
/// instead (see `wq_squeue_update`). A key deleted while in flight becomes
/// known again (true): it stays in flight. Adds are accepted after
/// `wq_squeue_close`, though nothing is popped any more.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_new` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_add(
    queue: *mut wq_squeue,
    key: u64,
    priority: i32,
    out_new: *mut bool,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        write_opt(out_opt(out_new), queue.queue.add(key, priority));
        Ok(())
    })
}

/// Tells the queue that an item changed, with its (possibly new) priority
/// (kube-scheduler's `Update` of a pending pod), and stores where it is now
/// in `*out_place` (if not NULL): `WQ_PLACE_NONE` for a key the queue does
/// not hold (nothing is added: use `wq_squeue_add`). An active or backoff
/// item takes the new priority; an unschedulable one leaves the pool (to
/// backoff if its backoff has not ended, else to active); an in-flight one
/// takes the new priority and, if then requeued as unschedulable, goes to
/// backoff instead of the pool.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_place` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_update(
    queue: *mut wq_squeue,
    key: u64,
    priority: i32,
    out_place: *mut wq_place,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let place = queue.queue.update(&key, priority);
        write_opt(out_opt(out_place), place.into());
        Ok(())
    })
}

/// Removes an item wherever it is; `*out_held` (if not NULL) tells whether
/// the queue held it. An in-flight item stays in flight (its worker still
/// has it) and is dropped at its done or requeue.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_held` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_delete(
    queue: *mut wq_squeue,
    key: u64,
    out_held: *mut bool,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        write_opt(out_opt(out_held), queue.queue.delete(&key));
        Ok(())
    })
}

/// Pops the highest-priority active item (the oldest among equals) into
/// `*out_key` and its priority into `*out_priority` (if not NULL), waiting
/// up to `timeout_ns` nanoseconds of real time for one (`WQ_WAIT_FOREVER`:
/// until an item can be popped or the queue is closed; `WQ_NO_WAIT`: not
/// at all). The item is in flight until `wq_squeue_done` or a requeue; its
/// attempt count grows by one.
///
/// Returns `WQ_STATUS_TIMEOUT` if nothing could be popped in time;
/// `WQ_STATUS_SHUTDOWN` once the queue is closed (at once, even with items
/// left); `WQ_STATUS_INVALID_ARGUMENT` for a negative timeout other than
/// -1; `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_key` is NULL. The
/// out-parameters are written only with `WQ_STATUS_OK`.
///
/// A blocked pop holds its thread (from Go: an OS thread); event loops can
/// wait on `wq_squeue_fd` instead and pop with `WQ_NO_WAIT`.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_key` and `out_priority` are NULL
/// or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_pop(
    queue: *mut wq_squeue,
    timeout_ns: i64,
    out_key: *mut u64,
    out_priority: *mut i32,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let out_key = out(out_key)?;
        let out_priority = out_opt(out_priority);
        let popped = match timeout(timeout_ns)? {
            None => queue.queue.pop().ok_or(PopError::Closed),
            Some(wait) if wait.is_zero() => queue.queue.try_pop(),
            Some(wait) => queue.queue.pop_timeout(wait),
        };
        let (key, priority) = popped.map_err(|error| match error {
            PopError::Empty => wq_status::Timeout,
            PopError::Closed => wq_status::Shutdown,
        })?;
        out_key.write(key);
        write_opt(out_priority, priority);
        Ok(())
    })
}

/// Ends the flight of a popped item that succeeded: the queue forgets it,
/// attempts and all. `*out_was_in_flight` (if not NULL) tells whether the
/// key was in flight; if not, nothing changed.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_was_in_flight` is NULL or valid
/// for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_done(
    queue: *mut wq_squeue,
    key: u64,
    out_was_in_flight: *mut bool,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        write_opt(out_opt(out_was_in_flight), queue.queue.done(&key));
        Ok(())
    })
}

/// Ends the flight of a popped item whose attempt failed with an error: it
/// waits out its backoff (never popped early), then returns to the active
/// queue. `*out_place` (if not NULL) receives `WQ_PLACE_BACKOFF`, or
/// `WQ_PLACE_NONE` when the key was not in flight or was deleted while in
/// flight (it is dropped).
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_place` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_requeue_backoff(
    queue: *mut wq_squeue,
    key: u64,
    out_place: *mut wq_place,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let place = queue.queue.requeue_backoff(&key);
        write_opt(out_opt(out_place), place.into());
        Ok(())
    })
}

/// Ends the flight of a popped item found unschedulable. `*out_place` (if
/// not NULL) receives where it went: `WQ_PLACE_UNSCHEDULABLE` (parked until
/// a move event, an update or the maximum stay), `WQ_PLACE_BACKOFF` if a
/// move event or an update arrived while it was in flight (it may have
/// become schedulable), or `WQ_PLACE_NONE` when the key was not in flight
/// or was deleted while in flight (it is dropped).
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_place` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_requeue_unschedulable(
    queue: *mut wq_squeue,
    key: u64,
    out_place: *mut wq_place,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let place = queue.queue.requeue_unschedulable(&key);
        write_opt(out_opt(out_place), place.into());
        Ok(())
    })
}

/// An event label: NUL-terminated UTF-8.
///
/// # Safety
/// `event` is NULL or a NUL-terminated string.
unsafe fn event_label<'a>(event: *const c_char) -> Result<&'a str, wq_status> {
    if event.is_null() {
        return Err(wq_status::NullArgument);
    }
    // SAFETY: not NULL, and the caller passes a NUL-terminated string.
    let text = unsafe { CStr::from_ptr(event) };
    text.to_str().map_err(|_| wq_status::InvalidArgument)
}

/// A cluster event that may make parked items schedulable
/// (kube-scheduler's `MoveAllToActiveOrBackoffQueue`): every unschedulable
/// item moves to backoff (if its backoff has not ended) or to active,
/// longest-parked first, and every in-flight item learns of the event (see
/// `wq_squeue_requeue_unschedulable`). `event` labels the move (e.g.
/// "NodeAdd"; UTF-8, copied), counted by `wq_squeue_moves_by_event`.
/// `*out_moved` (if not NULL) receives how many items left the pool.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` or `event` is NULL;
/// `WQ_STATUS_INVALID_ARGUMENT` if `event` is not UTF-8.
///
/// # Safety
/// `queue` is NULL or a live handle; `event` is NULL or a NUL-terminated
/// string; `out_moved` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_move_all(
    queue: *mut wq_squeue,
    event: *const c_char,
    out_moved: *mut usize,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let event = unsafe { event_label(event) }?;
        let moved = queue.queue.move_all_to_active_or_backoff(event);
        write_opt(out_opt(out_moved), moved);
        Ok(())
    })
}

/// Stores in `*out_count` how many items move events labelled `event` have
/// moved out of the unschedulable pool since the queue was made
/// (kube-scheduler's `scheduler_queue_incoming_pods_total` for move
/// events).
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue`, `event` or `out_count` is
/// NULL; `WQ_STATUS_INVALID_ARGUMENT` if `event` is not UTF-8.
///
/// # Safety
/// `queue` is NULL or a live handle; `event` is NULL or a NUL-terminated
/// string; `out_count` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_moves_by_event(
    queue: *const wq_squeue,
    event: *const c_char,
    out_count: *mut u64,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let event = unsafe { event_label(event) }?;
        let out_count = out(out_count)?;
        out_count.write(queue.queue.moves_by_event(event));
        Ok(())
    })
}

/// A `*_len` call: checks its arguments, then reads one count.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_len` is NULL or valid for a write.
unsafe fn count(
    queue: *const wq_squeue,
    out_len: *mut usize,
    read: impl FnOnce(&SchedulingQueue<u64>) -> usize,
) -> wq_status {
    boundary!({
        // SAFETY: forwarded to the caller.
        let queue = unsafe { arg(queue) }?;
        let out_len = out(out_len)?;
        out_len.write(read(&queue.queue));
        Ok(())
    })
}

/// Stores in `*out_len` how many items are active (ready to be popped).
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_len` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_len` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_active_len(
    queue: *const wq_squeue,
    out_len: *mut usize,
) -> wq_status {
    // SAFETY: forwarded to the caller.
    unsafe { count(queue, out_len, SchedulingQueue::active_len) }
}

/// Stores in `*out_len` how many items wait out a backoff.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_len` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_len` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_backoff_len(
    queue: *const wq_squeue,
    out_len: *mut usize,
) -> wq_status {
    // SAFETY: forwarded to the caller.
    unsafe { count(queue, out_len, SchedulingQueue::backoff_len) }
}

/// Stores in `*out_len` how many items are parked as unschedulable.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_len` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_len` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_unschedulable_len(
    queue: *const wq_squeue,
    out_len: *mut usize,
) -> wq_status {
    // SAFETY: forwarded to the caller.
    unsafe { count(queue, out_len, SchedulingQueue::unschedulable_len) }
}

/// Stores in `*out_len` how many items are in flight: popped, not yet done
/// or requeued (items deleted while in flight included).
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_len` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_len` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_in_flight_len(
    queue: *const wq_squeue,
    out_len: *mut usize,
) -> wq_status {
    // SAFETY: forwarded to the caller.
    unsafe { count(queue, out_len, SchedulingQueue::in_flight_len) }
}

/// Stores in `*out_place` where the queue holds `key` (`WQ_PLACE_NONE`:
/// it does not, or the key was deleted while in flight).
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_place` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_place` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_place(
    queue: *const wq_squeue,
    key: u64,
    out_place: *mut wq_place,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let out_place = out(out_place)?;
        out_place.write(queue.queue.place(&key).into());
        Ok(())
    })
}

/// Stores in `*out_attempts` how many times `key` has been popped (0 for a
/// key the queue does not hold). Its next backoff is
/// `initial · 2^(attempts-1)`, capped.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_attempts` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_attempts` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_attempts(
    queue: *const wq_squeue,
    key: u64,
    out_attempts: *mut u32,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let out_attempts = out(out_attempts)?;
        out_attempts.write(queue.queue.attempts(&key));
        Ok(())
    })
}

/// Closes the queue: every blocked `wq_squeue_pop` returns
/// `WQ_STATUS_SHUTDOWN`, and so does every later pop, at once, even with
/// items left. The other calls keep working, so workers can finish (done,
/// requeue) the items they hold. Repeating it is harmless.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_close(queue: *mut wq_squeue) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        queue.queue.close();
        Ok(())
    })
}

/// Stores in `*out_closed` whether `wq_squeue_close` has been called.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_closed` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_closed` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_squeue_is_closed(
    queue: *const wq_squeue,
    out_closed: *mut bool,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let out_closed = out(out_closed)?;
        out_closed.write(queue.queue.is_closed());
        Ok(())
    })
}

/// Stores in `*out_fd` a file descriptor that is readable while a
/// `wq_squeue_pop` would not block: an item can be popped, or the queue is
/// closed. Wait on it with epoll, poll, select, libuv or asyncio instead of
/// blocking a thread in `wq_squeue_pop`, then pop with `WQ_NO_WAIT` until
/// it returns `WQ_STATUS_TIMEOUT`.
///
/// - The fd is created on the first call (a Linux timerfd; every call
///   returns the same fd) and is owned by the queue: never read from it,
///   write to it or close it; `wq_squeue_free` closes it. Keep it
///   registered level-triggered (or re-check after each pop).
/// - Readability can be spurious (another thread took the item first, or
///   a parked item's maximum stay ended and it went to backoff): always
///   pop with `WQ_NO_WAIT`.
/// - It becomes readable within microseconds after an item can be popped,
///   and when a backoff ends or a parked item overstays on the real clock
///   (the fd carries the timer, so no thread and no polling interval is
///   needed). On a manual clock it follows the clock's steps.
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
pub unsafe extern "C" fn wq_squeue_fd(queue: *mut wq_squeue, out_fd: *mut c_int) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let out_fd = out(out_fd)?;
        out_fd.write(squeue_fd(queue)?);
        Ok(())
    })
}

#[cfg(target_os = "linux")]
fn squeue_fd(queue: &wq_squeue) -> Result<c_int, wq_status> {
    crate::fd::readiness_fd(&queue.fd, |timer| queue.queue.observe_readiness(timer))
}

#[cfg(not(target_os = "linux"))]
fn squeue_fd(_queue: &wq_squeue) -> Result<c_int, wq_status> {
    Err(wq_status::Unsupported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn places_have_their_scenario_names() {
        let names = ["none", "active", "backoff", "unschedulable", "in_flight"];
        for (value, name) in names.iter().enumerate() {
            // SAFETY: a static NUL-terminated string.
            let text = unsafe { CStr::from_ptr(wq_place_str(value as c_int)) };
            assert_eq!(text.to_str().unwrap(), *name);
        }
        for bad in [-1, 5, c_int::MAX] {
            // SAFETY: as above.
            let text = unsafe { CStr::from_ptr(wq_place_str(bad)) };
            assert_eq!(text.to_str().unwrap(), "unknown place");
        }
        assert_eq!(wq_place::from(Some(Place::InFlight)) as c_int, 4);
        assert_eq!(wq_place::from(None) as c_int, 0);
    }
}

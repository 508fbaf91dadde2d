//! Priorities (controller-runtime's priorityqueue): higher first, FIFO
//! within a priority. Plain `wq_queue_add` and friends are priority 0; a
//! queue that never sees another priority stays a plain FIFO.

use crate::boundary::{arg, boundary, out, out_opt, slice, slice_out, write_opt};
use crate::clock::{delay_ns, timeout};
use crate::queue::{get_error, wq_queue};
use crate::status::wq_status;

/// `wq_queue_add` at `priority`: higher priorities are handed out first,
/// FIFO within a priority. A key already queued keeps the higher of its
/// priority and `priority` (a raise moves it to the tail of its new level);
/// a key being processed comes back at done with the highest priority it
/// was added with meanwhile.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_added` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_add_with_priority(
    queue: *mut wq_queue,
    key: u64,
    priority: i32,
    out_added: *mut bool,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let added = queue.queue().add_with_priority(key, priority);
        write_opt(out_opt(out_added), added);
        Ok(())
    })
}

/// `wq_queue_add_batch` at `priority`: the same as
/// `wq_queue_add_with_priority` for each key in order, in one boundary
/// crossing. `*out_added` (if not NULL) receives how many scheduled a new
/// run. `keys` may be NULL when `count` is 0.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL, or `keys` is NULL
/// and `count` is not 0.
///
/// # Safety
/// `queue` is NULL or a live handle; `keys` is NULL or points to `count`
/// readable keys; `out_added` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_add_batch_with_priority(
    queue: *mut wq_queue,
    keys: *const u64,
    count: usize,
    priority: i32,
    out_added: *mut usize,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        // SAFETY: the caller passes NULL or `count` readable keys.
        let keys = unsafe { slice(keys, count) }?;
        let added = queue
            .queue()
            .add_batch_with_priority(keys.iter().copied(), priority);
        write_opt(out_opt(out_added), added);
        Ok(())
    })
}

/// `wq_queue_add_after` at `priority`; a key waiting for several delays
/// keeps the earliest ready time and the highest priority.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_added` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_add_after_with_priority(
    queue: *mut wq_queue,
    key: u64,
    delay_ns: i64,
    priority: i32,
    out_added: *mut bool,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let added = queue.add_after(key, delay_ns, priority).unwrap_or(false);
        write_opt(out_opt(out_added), added);
        Ok(())
    })
}

/// `wq_queue_add_after_with_priority` that tells a refusal apart: returns
/// `WQ_STATUS_SHUTDOWN` (and writes nothing) when the queue is shutting
/// down and refused `key`; otherwise `*out_added` (if not NULL) is that of
/// `wq_queue_add_after_with_priority` (false: the key already waited for an
/// earlier or equal time, or was already queued).
///
/// The shutdown check and the add are one step under the queue's lock, so
/// a status of `WQ_STATUS_OK` means the key was accepted even if a shutdown
/// follows at once. For bindings that keep their own rate limiter and must
/// know whether a retry was accepted (`wq_queue_add_rate_limited` reports
/// the same with the queue's limiter).
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_added` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_try_add_after_with_priority(
    queue: *mut wq_queue,
    key: u64,
    delay_ns: i64,
    priority: i32,
    out_added: *mut bool,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let added = queue
            .add_after(key, delay_ns, priority)
            .ok_or(wq_status::Shutdown)?;
        write_opt(out_opt(out_added), added);
        Ok(())
    })
}

/// `wq_queue_add_rate_limited` at `priority`.
///
/// Returns `WQ_STATUS_SHUTDOWN` if the queue is shutting down;
/// `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_delay_ns` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_add_rate_limited_with_priority(
    queue: *mut wq_queue,
    key: u64,
    priority: i32,
    out_delay_ns: *mut u64,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let (core, _delaying) = queue.delaying();
        let delay = core
            .add_rate_limited_with_priority(key, priority)
            .ok_or(wq_status::Shutdown)?;
        write_opt(out_opt(out_delay_ns), delay_ns(delay));
        Ok(())
    })
}

/// `wq_queue_get` that also stores the priority the key was queued with in
/// `*out_priority`.
///
/// Returns the statuses of `wq_queue_get`; `WQ_STATUS_NULL_ARGUMENT` also
/// if `out_priority` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_key` and `out_priority` are NULL
/// or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_get_with_priority(
    queue: *mut wq_queue,
    timeout_ns: i64,
    out_key: *mut u64,
    out_priority: *mut i32,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let out_key = out(out_key)?;
        let out_priority = out(out_priority)?;
        let wait = timeout(timeout_ns)?;
        let (core, _waiter) = queue.waiting(wait);
        let (key, priority) = core.get_with_priority(wait).map_err(get_error)?;
        queue.settle_delays();
        out_key.write(key);
        out_priority.write(priority);
        Ok(())
    })
}

/// Ready keys per priority, highest priority first: writes up to
/// `capacity` pairs into `out_priorities[i]` / `out_lens[i]` and stores in
/// `*out_count` how many priorities are in use (more than `capacity` means
/// the arrays were too short and only the highest were written). Both
/// arrays may be NULL when `capacity` is 0.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_count` is NULL, or
/// an array is NULL and `capacity` is not 0.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_priorities` and `out_lens` are
/// NULL or valid for writes of `capacity` elements; `out_count` is NULL or
/// valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_len_by_priority(
    queue: *const wq_queue,
    out_priorities: *mut i32,
    out_lens: *mut usize,
    capacity: usize,
    out_count: *mut usize,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        // SAFETY: the caller passes NULL or room for `capacity` elements.
        let priorities = unsafe { slice_out(out_priorities, capacity) }?;
        // SAFETY: as above.
        let lens = unsafe { slice_out(out_lens, capacity) }?;
        let out_count = out(out_count)?;
        let levels = queue.queue().len_by_priority();
        for ((priority, len), (p, l)) in levels
            .iter()
            .zip(priorities.iter_mut().zip(lens.iter_mut()))
        {
            p.write(*priority);
            l.write(*len);
        }
        out_count.write(levels.len());
        Ok(())
    })
}

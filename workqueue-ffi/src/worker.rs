//! The controller worker loop (`processNextWorkItem`) with a C handler.

use crate::boundary::{arg, boundary, out_opt, write_opt};
use crate::parallelize::UserData;
use crate::queue::wq_queue;
use crate::status::wq_status;
use std::ffi::{c_int, c_void};
use workqueue_core::WorkerPool;

/// Processes one key for `wq_worker_run`: returns 0 on success, anything
/// else on failure (the key is then retried with the queue's rate limiter).
/// Called from several threads at once, never twice at once for one key.
/// It must not unwind or `longjmp` out (no C++ exception may escape it).
pub type wq_handler_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, key: u64) -> c_int>;

/// Told about a key given up on after `max_retries` failed retries.
/// Called from worker threads; the same rules as `wq_handler_fn`.
pub type wq_dropped_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, key: u64)>;

/// What `wq_worker_run`'s workers did. Every handler run is counted in
/// exactly one field: runs = succeeded + retried + dropped + abandoned.
/// Fields are appended, never moved; a longer struct is written whole, so a
/// program built against an older header must be rebuilt (before 1.0 the
/// soname changes with such a version).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct wq_worker_report {
    /// Handler runs that returned 0 (the key was then forgotten).
    pub succeeded: u64,
    /// Failed runs whose key was requeued with `wq_queue_add_rate_limited`.
    pub retried: u64,
    /// Keys given up on (forgotten) after `max_retries` retries.
    pub dropped: u64,
    /// Failed runs that were not retried because the queue was shutting
    /// down (the key was not requeued; it is neither forgotten nor passed
    /// to `on_dropped`).
    pub abandoned: u64,
}

// The layout C callers compile against: four `uint64_t`, in order.
const _: () = {
    assert!(std::mem::size_of::<wq_worker_report>() == 32);
    assert!(std::mem::offset_of!(wq_worker_report, dropped) == 16);
    assert!(std::mem::offset_of!(wq_worker_report, abandoned) == 24);
};

/// Runs the controller worker loop on `workers` threads (the calling thread
/// is one of them) until the queue is shut down and exhausted. Each worker:
/// get a key → `handler(user_data, key)` → on 0, forget the key; otherwise
/// requeue it with `wq_queue_add_rate_limited` unless it was already
/// retried `max_retries` times (`WQ_DEFAULT_MAX_RETRIES` is client-go's
/// 5), in which case forget it and call `on_dropped(user_data, key)` (may
/// be NULL) → done. A failure the queue refuses to requeue because it is
/// shutting down is counted abandoned. The counts go to `*out_report` if
/// it is not NULL.
///
/// Stop it by calling `wq_queue_shutdown` or `wq_queue_shutdown_with_drain`
/// from another thread (or from the handler). `handler`, `on_dropped` and
/// `user_data` are used from several threads at once.
///
/// Returns `WQ_STATUS_INVALID_ARGUMENT` if `workers` is 0;
/// `WQ_STATUS_NULL_ARGUMENT` if `queue` or `handler` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle that stays live until this returns;
/// `handler` and `on_dropped` are NULL or functions safe to call as
/// documented with `user_data`; `out_report` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_worker_run(
    queue: *mut wq_queue,
    workers: usize,
    max_retries: u32,
    handler: wq_handler_fn,
    on_dropped: wq_dropped_fn,
    user_data: *mut c_void,
    out_report: *mut wq_worker_report,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let handler = handler.ok_or(wq_status::NullArgument)?;
        let out_report = out_opt(out_report);
        let pool = WorkerPool::new(workers)
            .map_err(|_| wq_status::InvalidArgument)?
            .max_retries(max_retries);
        let user_data = UserData(user_data);
        let handle = |key: &u64| {
            // SAFETY: the caller provided `handler` for exactly these calls.
            match unsafe { handler(user_data.get(), *key) } {
                0 => Ok(()),
                code => Err(code),
            }
        };
        let dropped = |key: u64, _failure| {
            if let Some(on_dropped) = on_dropped {
                // SAFETY: the caller provided `on_dropped` for these calls.
                unsafe { on_dropped(user_data.get(), key) }
            }
        };
        let (core, _waiter) = queue.waiting(None);
        let report = pool.run_reporting(core, handle, dropped);
        if core.delayed_len() > 0 {
            drop(queue.delaying()); // retries wait: count them before the worker stops waiting
        }
        write_opt(
            out_report,
            wq_worker_report {
                succeeded: report.succeeded,
                retried: report.retried,
                dropped: report.dropped,
                abandoned: report.abandoned,
            },
        );
        Ok(())
    })
}

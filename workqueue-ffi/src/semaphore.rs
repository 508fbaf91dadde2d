//! The counting semaphore: the token channel controllers bound concurrency
//! with.

use crate::boundary::{arg, boundary, free_handle, into_handle, out, run_void};
use crate::clock::timeout;
use crate::status::wq_status;
use workqueue_core::Semaphore;

/// A counting semaphore: at most `permits` holders at once.
///
/// Thread safety: every call may run concurrently with any other, from any
/// thread (a permit may be released by another thread than the one that
/// acquired it), except `wq_semaphore_free`, which must be the last use.
pub struct wq_semaphore {
    semaphore: Semaphore,
}

/// Creates a semaphore with `permits` permits, all available, in
/// `*out_semaphore`. Free it with `wq_semaphore_free`.
///
/// Returns `WQ_STATUS_INVALID_ARGUMENT` if `permits` is 0;
/// `WQ_STATUS_NULL_ARGUMENT` if `out_semaphore` is NULL.
///
/// # Safety
/// `out_semaphore` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_semaphore_new(
    permits: usize,
    out_semaphore: *mut *mut wq_semaphore,
) -> wq_status {
    boundary!({
        let out_semaphore = out(out_semaphore)?;
        let semaphore = Semaphore::new(permits).map_err(|_| wq_status::InvalidArgument)?;
        out_semaphore.write(into_handle(wq_semaphore { semaphore }));
        Ok(())
    })
}

/// Takes a permit, waiting up to `timeout_ns` nanoseconds
/// (`WQ_WAIT_FOREVER`: as long as it takes; `WQ_NO_WAIT`: not at all).
///
/// Returns `WQ_STATUS_TIMEOUT` if no permit became free in time;
/// `WQ_STATUS_INVALID_ARGUMENT` for a negative timeout other than -1;
/// `WQ_STATUS_NULL_ARGUMENT` if `semaphore` is NULL.
///
/// # Safety
/// `semaphore` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wq_semaphore_acquire(
    semaphore: *mut wq_semaphore,
    timeout_ns: i64,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let semaphore = unsafe { arg(semaphore) }?;
        let acquired = match timeout(timeout_ns)? {
            None => {
                semaphore.semaphore.acquire();
                true
            }
            Some(wait) if wait.is_zero() => semaphore.semaphore.try_acquire(),
            Some(wait) => semaphore.semaphore.acquire_timeout(wait),
        };
        if acquired {
            Ok(())
        } else {
            Err(wq_status::Timeout)
        }
    })
}

/// Takes a permit if one is free now: `wq_semaphore_acquire` with
/// `WQ_NO_WAIT`.
///
/// Returns `WQ_STATUS_TIMEOUT` if none is free; `WQ_STATUS_NULL_ARGUMENT`
/// if `semaphore` is NULL.
///
/// # Safety
/// `semaphore` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wq_semaphore_try_acquire(semaphore: *mut wq_semaphore) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let semaphore = unsafe { arg(semaphore) }?;
        if semaphore.semaphore.try_acquire() {
            Ok(())
        } else {
            Err(wq_status::Timeout)
        }
    })
}

/// Returns a permit, waking one waiter.
///
/// Returns `WQ_STATUS_INVALID_STATE` (and changes nothing) if every permit
/// is already available: a permit released twice or never acquired;
/// `WQ_STATUS_NULL_ARGUMENT` if `semaphore` is NULL.
///
/// # Safety
/// `semaphore` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wq_semaphore_release(semaphore: *mut wq_semaphore) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let semaphore = unsafe { arg(semaphore) }?;
        semaphore
            .semaphore
            .release()
            .map_err(|_| wq_status::InvalidState)
    })
}

/// Stores in `*out_available` how many permits are not held.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `semaphore` or `out_available` is
/// NULL.
///
/// # Safety
/// `semaphore` is NULL or a live handle; `out_available` is NULL or valid
/// for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_semaphore_available(
    semaphore: *const wq_semaphore,
    out_available: *mut usize,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let semaphore = unsafe { arg(semaphore) }?;
        let out_available = out(out_available)?;
        out_available.write(semaphore.semaphore.available());
        Ok(())
    })
}

/// Frees a semaphore. NULL does nothing. No thread may be waiting in it.
///
/// # Safety
/// `semaphore` is NULL or a live handle not used again.
#[no_mangle]
pub unsafe extern "C" fn wq_semaphore_free(semaphore: *mut wq_semaphore) {
    // SAFETY: the caller passes NULL or a live handle and never uses it again.
    run_void(|| unsafe { free_handle(semaphore) })
}

//! `wq_parallelize` (client-go's `ParallelizeUntil`) and its cancellation
//! handle.

use crate::boundary::{arg, boundary, free_handle, into_handle, out, run_void};
use crate::status::wq_status;
use std::ffi::c_void;
use workqueue_core::{parallelize_until, CancelToken, ParallelizeError};

/// A cancellation flag: `wq_cancel_cancel` stops a running `wq_parallelize`
/// from starting new pieces. Cancelling is final.
///
/// Thread safety: every call may run concurrently with any other (that is
/// its purpose: cancel from one thread while others work), except
/// `wq_cancel_free`, which must be the last use and must not run while a
/// `wq_parallelize` given this handle is still running.
pub struct wq_cancel {
    token: CancelToken,
}

/// Creates a cancellation handle, not cancelled, in `*out_cancel`. Free it
/// with `wq_cancel_free`.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `out_cancel` is NULL.
///
/// # Safety
/// `out_cancel` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_cancel_new(out_cancel: *mut *mut wq_cancel) -> wq_status {
    boundary!({
        let out_cancel = out(out_cancel)?;
        out_cancel.write(into_handle(wq_cancel {
            token: CancelToken::new(),
        }));
        Ok(())
    })
}

/// Cancels: work that checks this handle starts nothing new.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `cancel` is NULL.
///
/// # Safety
/// `cancel` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wq_cancel_cancel(cancel: *mut wq_cancel) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let cancel = unsafe { arg(cancel) }?;
        cancel.token.cancel();
        Ok(())
    })
}

/// Stores in `*out_cancelled` whether `wq_cancel_cancel` has been called.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `cancel` or `out_cancelled` is NULL.
///
/// # Safety
/// `cancel` is NULL or a live handle; `out_cancelled` is NULL or valid for
/// a write.
#[no_mangle]
pub unsafe extern "C" fn wq_cancel_is_cancelled(
    cancel: *const wq_cancel,
    out_cancelled: *mut bool,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let cancel = unsafe { arg(cancel) }?;
        let out_cancelled = out(out_cancelled)?;
        out_cancelled.write(cancel.token.is_cancelled());
        Ok(())
    })
}

/// Frees a cancellation handle. NULL does nothing.
///
/// # Safety
/// `cancel` is NULL or a live handle not used again.
#[no_mangle]
pub unsafe extern "C" fn wq_cancel_free(cancel: *mut wq_cancel) {
    // SAFETY: the caller passes NULL or a live handle and never uses it again.
    run_void(|| unsafe { free_handle(cancel) })
}

/// A piece of `wq_parallelize`'s work: called once with each index in
/// `[0, pieces)`, from several threads at once. It must not unwind or
/// `longjmp` out (no C++ exception may escape it).
pub type wq_piece_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, piece: usize)>;

/// The caller's `user_data`, passed to every worker thread. The caller
/// promised (by calling `wq_parallelize`) that its callback may use it from
/// several threads at once.
pub(crate) struct UserData(pub(crate) *mut c_void);

// SAFETY: the pointer is only handed back to the caller's callback, which
// the documentation requires to be thread-safe.
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}

impl UserData {
    /// The pointer; a method so closures capture the whole (Sync) wrapper.
    pub(crate) fn get(&self) -> *mut c_void {
        self.0
    }
}

/// Runs `piece(user_data, i)` for every `i` in `[0, pieces)` on up to
/// `workers` threads (the calling thread is one of them), handing out
/// `chunk_size` consecutive pieces at a time, and returns when every piece
/// has run (client-go's `ParallelizeUntil`). Every piece runs exactly once
/// unless `cancel` (may be NULL) is cancelled: it is checked before every
/// piece, and once cancelled no new piece starts. Zero pieces returns at
/// once. `piece` runs on several threads at once, so it and `user_data`
/// must be thread-safe.
///
/// Returns `WQ_STATUS_CANCELLED` if cancelled before every piece ran;
/// `WQ_STATUS_INVALID_ARGUMENT` if `workers` or `chunk_size` is 0 (nothing
/// runs); `WQ_STATUS_NULL_ARGUMENT` if `piece` is NULL.
///
/// # Safety
/// `cancel` is NULL or a live handle; `piece` is NULL or a function that is
/// safe to call as documented with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn wq_parallelize(
    cancel: *const wq_cancel,
    workers: usize,
    pieces: usize,
    chunk_size: usize,
    piece: wq_piece_fn,
    user_data: *mut c_void,
) -> wq_status {
    boundary!({
        let piece = piece.ok_or(wq_status::NullArgument)?;
        // SAFETY: the caller passes NULL or a live handle.
        let cancel = unsafe { cancel.as_ref() }.map(|cancel| &cancel.token);
        let user_data = UserData(user_data);
        let run = |index: usize| {
            // SAFETY: the caller provided `piece` for exactly these calls.
            unsafe { piece(user_data.get(), index) }
        };
        match parallelize_until(cancel, workers, pieces, chunk_size, run) {
            Ok(()) => Ok(()),
            Err(ParallelizeError::Cancelled { .. }) => Err(wq_status::Cancelled),
            Err(ParallelizeError::InvalidArgument(_)) => Err(wq_status::InvalidArgument),
            // A C function cannot panic; this is only reachable if the
            // library itself panicked inside a piece.
            Err(ParallelizeError::Panicked { .. }) => Err(wq_status::Panic),
        }
    })
}

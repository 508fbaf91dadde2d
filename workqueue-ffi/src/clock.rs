//! The manual clock, and the timeout convention of blocking calls.

use crate::boundary::{arg, boundary, free_handle, into_handle, out, run_void};
use crate::status::{wq_status, WQ_WAIT_FOREVER};
use std::time::Duration;
use workqueue_core::{Clock, ManualClock, Timestamp};

/// A clock that moves only when told to, for deterministic tests of every
/// timing rule (delays, backoff, token buckets). It starts at time 0.
///
/// Give it to `wq_queue_new` (in `wq_queue_options.clock`) or to
/// `wq_rate_limiter_when`: the queue keeps its own reference, so the
/// clock handle may be freed before or after the queue; stepping the clock
/// makes the queue's delayed keys due and wakes its blocked getters.
///
/// Thread safety: every call may run concurrently with any other, except
/// `wq_manual_clock_free`, which must be the last use of the handle.
pub struct wq_manual_clock {
    clock: ManualClock,
}

impl wq_manual_clock {
    pub(crate) fn clock(&self) -> Clock {
        Clock::from(&self.clock)
    }
}

/// The clock behind an optional manual clock handle: NULL is the real clock.
///
/// # Safety
/// `clock` is NULL or a live handle.
pub(crate) unsafe fn clock_or_real(clock: *const wq_manual_clock) -> Clock {
    // SAFETY: forwarded to the caller.
    match unsafe { clock.as_ref() } {
        Some(manual) => manual.clock(),
        None => Clock::real(),
    }
}

/// How long a blocking call may wait, from the ABI's `int64_t timeout_ns`:
/// `WQ_WAIT_FOREVER` (-1) is `None`, 0 does not wait, a positive value
/// waits that many nanoseconds (real time, even on a manual clock). Any
/// other negative value is `InvalidArgument`.
pub(crate) fn timeout(timeout_ns: i64) -> Result<Option<Duration>, wq_status> {
    match u64::try_from(timeout_ns) {
        Ok(nanos) => Ok(Some(Duration::from_nanos(nanos))),
        Err(_) if timeout_ns == WQ_WAIT_FOREVER => Ok(None),
        Err(_) => Err(wq_status::InvalidArgument),
    }
}

/// A delay as the ABI's `uint64_t` nanoseconds, saturating at `UINT64_MAX`.
pub(crate) fn delay_ns(delay: Duration) -> u64 {
    u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX)
}

/// Creates a manual clock at time 0 and stores it in `*out_clock`. Free it
/// with `wq_manual_clock_free`.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `out_clock` is NULL.
///
/// # Safety
/// `out_clock` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_manual_clock_new(out_clock: *mut *mut wq_manual_clock) -> wq_status {
    boundary!({
        let out_clock = out(out_clock)?;
        out_clock.write(into_handle(wq_manual_clock {
            clock: ManualClock::new(),
        }));
        Ok(())
    })
}

/// Moves the clock forward by `delta_ns` nanoseconds (saturating at the end
/// of time), making due delayed keys ready and waking blocked getters of
/// every queue on this clock.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `clock` is NULL.
///
/// # Safety
/// `clock` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wq_manual_clock_step(
    clock: *mut wq_manual_clock,
    delta_ns: u64,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let clock = unsafe { arg(clock) }?;
        clock.clock.step(Duration::from_nanos(delta_ns));
        Ok(())
    })
}

/// Sets the clock to `now_ns` nanoseconds after its origin. Going back in
/// time is allowed; no delay ever becomes negative.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `clock` is NULL.
///
/// # Safety
/// `clock` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wq_manual_clock_set(
    clock: *mut wq_manual_clock,
    now_ns: u64,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let clock = unsafe { arg(clock) }?;
        clock.clock.set(Timestamp::from_nanos(now_ns));
        Ok(())
    })
}

/// Stores the clock's time, in nanoseconds since its origin, in `*out_now_ns`.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `clock` or `out_now_ns` is NULL.
///
/// # Safety
/// `clock` is NULL or a live handle; `out_now_ns` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_manual_clock_now(
    clock: *const wq_manual_clock,
    out_now_ns: *mut u64,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let clock = unsafe { arg(clock) }?;
        let out_now_ns = out(out_now_ns)?;
        out_now_ns.write(clock.clock.now().as_nanos());
        Ok(())
    })
}

/// Frees a manual clock handle. Queues built on it keep working and keep
/// the time it had (nothing can step it any more). NULL does nothing.
///
/// # Safety
/// `clock` is NULL or a live handle not used again.
#[no_mangle]
pub unsafe extern "C" fn wq_manual_clock_free(clock: *mut wq_manual_clock) {
    // SAFETY: the caller passes NULL or a live handle and never uses it again.
    run_void(|| unsafe { free_handle(clock) })
}

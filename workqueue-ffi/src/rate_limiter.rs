//! Rate limiters: how long a failed key waits before its retry.

use crate::boundary::{
    arg, boundary, free_handle, into_handle, out, run_void, slice, Out, Outcome,
};
use crate::clock::{clock_or_real, delay_ns, wq_manual_clock};
use crate::status::wq_status;
use std::sync::Arc;
use std::time::Duration;
use workqueue_core::rate_limit::{
    default_controller_rate_limiter, default_item_based_rate_limiter, ExponentialBackoff, FastSlow,
    MaxOf, MaxWait, TokenBucket,
};
use workqueue_core::{ConfigError, RateLimiter};

type SharedLimiter = Arc<dyn RateLimiter<u64>>;

/// A rate limiter: decides how long a failed key waits before its retry.
///
/// Ownership: every constructor returns a handle the caller owns and must
/// free exactly once with `wq_rate_limiter_free`. Handing a limiter to
/// `wq_queue_new` or to a composite (`wq_rate_limiter_new_max_of`,
/// `wq_rate_limiter_new_max_wait`) never takes the caller's handle: the
/// queue or composite keeps its own reference (limiters are reference
/// counted), so free your handle whenever you are done with it, before or
/// after the queue. Every user of one limiter shares its state (failure
/// counts, tokens): two queues given the same limiter share one backoff
/// table and one bucket.
///
/// Thread safety: every call may run concurrently with any other, except
/// `wq_rate_limiter_free`, which must be the last use of the handle.
pub struct wq_rate_limiter {
    limiter: SharedLimiter,
}

impl wq_rate_limiter {
    pub(crate) fn shared(&self) -> SharedLimiter {
        Arc::clone(&self.limiter)
    }
}

/// Hands a configured limiter to C, or reports why it could not be built.
fn configured<L: RateLimiter<u64> + 'static>(
    limiter: Result<L, ConfigError>,
    out_limiter: Out<*mut wq_rate_limiter>,
) -> Outcome {
    let limiter = limiter.map_err(|_| wq_status::InvalidArgument)?;
    out_limiter.write(into_handle(wq_rate_limiter {
        limiter: Arc::new(limiter),
    }));
    Ok(())
}

/// Creates client-go's `ItemExponentialFailureRateLimiter`: the n-th
/// failure of a key (from 0) waits `base_ns * 2^n`, never more than
/// `max_ns`, and never overflows to a zero or negative delay.
///
/// Returns `WQ_STATUS_INVALID_ARGUMENT` if `base_ns` is 0 or `max_ns` is
/// below `base_ns`; `WQ_STATUS_NULL_ARGUMENT` if `out_limiter` is NULL.
///
/// # Safety
/// `out_limiter` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_rate_limiter_new_exponential(
    base_ns: u64,
    max_ns: u64,
    out_limiter: *mut *mut wq_rate_limiter,
) -> wq_status {
    boundary!(configured(
        ExponentialBackoff::<u64>::new(Duration::from_nanos(base_ns), Duration::from_nanos(max_ns)),
        out(out_limiter)?,
    ))
}

/// Creates client-go's `ItemFastSlowRateLimiter`: the first
/// `max_fast_attempts` failures of a key wait `fast_ns`, later ones `slow_ns`.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `out_limiter` is NULL.
///
/// # Safety
/// `out_limiter` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_rate_limiter_new_fast_slow(
    fast_ns: u64,
    slow_ns: u64,
    max_fast_attempts: u32,
    out_limiter: *mut *mut wq_rate_limiter,
) -> wq_status {
    boundary!(configured(
        FastSlow::<u64>::new(
            Duration::from_nanos(fast_ns),
            Duration::from_nanos(slow_ns),
            max_fast_attempts,
        ),
        out(out_limiter)?,
    ))
}

/// Creates client-go's `BucketRateLimiter`: a token bucket that starts full
/// with `burst` tokens and refills at `rate_per_second` tokens a second;
/// each `when` takes a token, waiting for the next one if none is left.
/// Keys are not told apart (`forget` and `num_requeues` do nothing).
///
/// Returns `WQ_STATUS_INVALID_ARGUMENT` if `rate_per_second` is not a
/// finite positive number or `burst` is 0; `WQ_STATUS_NULL_ARGUMENT` if
/// `out_limiter` is NULL.
///
/// # Safety
/// `out_limiter` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_rate_limiter_new_token_bucket(
    rate_per_second: f64,
    burst: u32,
    out_limiter: *mut *mut wq_rate_limiter,
) -> wq_status {
    boundary!(configured(
        TokenBucket::new(rate_per_second, burst),
        out(out_limiter)?
    ))
}

/// Creates client-go's `MaxOfRateLimiter` over `count` members: `when`
/// asks every member (so each counts the failure) and returns the longest
/// delay; `num_requeues` is the largest count; `forget` reaches every
/// member. The composite keeps its own reference to each member: the
/// caller still owns (and frees) the member handles.
///
/// Returns `WQ_STATUS_INVALID_ARGUMENT` if `count` is 0;
/// `WQ_STATUS_NULL_ARGUMENT` if `limiters`, any member, or `out_limiter`
/// is NULL.
///
/// # Safety
/// `limiters` is NULL or points to `count` pointers, each NULL or a live
/// handle; `out_limiter` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_rate_limiter_new_max_of(
    limiters: *const *const wq_rate_limiter,
    count: usize,
    out_limiter: *mut *mut wq_rate_limiter,
) -> wq_status {
    boundary!({
        let out_limiter = out(out_limiter)?;
        if count == 0 {
            return Err(wq_status::InvalidArgument);
        }
        // SAFETY: the caller passes NULL or `count` readable pointers.
        let members = unsafe { slice(limiters, count) }?;
        let members = members
            .iter()
            // SAFETY: each member is NULL or a live handle.
            .map(|&member| unsafe { arg(member) }.map(wq_rate_limiter::shared))
            .map(|member| member.map(|limiter| Box::new(limiter) as Box<dyn RateLimiter<u64>>))
            .collect::<Result<Vec<_>, _>>()?;
        configured(MaxOf::new(members), out_limiter)
    })
}

/// Creates client-go's `WithMaxWaitRateLimiter`: `inner`'s delay, never more
/// than `max_wait_ns`. The composite keeps its own reference to `inner`:
/// the caller still owns (and frees) the `inner` handle.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `inner` or `out_limiter` is NULL.
///
/// # Safety
/// `inner` is NULL or a live handle; `out_limiter` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_rate_limiter_new_max_wait(
    inner: *const wq_rate_limiter,
    max_wait_ns: u64,
    out_limiter: *mut *mut wq_rate_limiter,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let inner = unsafe { arg(inner) }?;
        configured(
            Ok(MaxWait::new(
                Box::new(inner.shared()),
                Duration::from_nanos(max_wait_ns),
            )),
            out(out_limiter)?,
        )
    })
}

/// Creates client-go's `DefaultControllerRateLimiter`: the larger of a
/// per-key exponential backoff from 5 ms to 1000 s and a token bucket of
/// 10 keys/s with a burst of 100. A queue made without a limiter uses one.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `out_limiter` is NULL.
///
/// # Safety
/// `out_limiter` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_rate_limiter_new_default_controller(
    out_limiter: *mut *mut wq_rate_limiter,
) -> wq_status {
    boundary!(configured(
        Ok(default_controller_rate_limiter::<u64>()),
        out(out_limiter)?
    ))
}

/// Creates client-go's `DefaultItemBasedRateLimiter`: per-key exponential
/// backoff from 1 ms to 1000 s.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `out_limiter` is NULL.
///
/// # Safety
/// `out_limiter` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_rate_limiter_new_default_item(
    out_limiter: *mut *mut wq_rate_limiter,
) -> wq_status {
    boundary!(configured(
        Ok(default_item_based_rate_limiter::<u64>()),
        out(out_limiter)?
    ))
}

/// Counts one more failure of `key` and stores the delay before its retry,
/// in nanoseconds, in `*out_delay_ns`. `clock` is the time source for
/// token buckets: a manual clock, or NULL for the real clock. This is what
/// `wq_queue_add_rate_limited` asks the queue's limiter.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `limiter` or `out_delay_ns` is NULL.
///
/// # Safety
/// `limiter` is NULL or a live handle; `clock` is NULL or a live handle;
/// `out_delay_ns` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_rate_limiter_when(
    limiter: *mut wq_rate_limiter,
    clock: *const wq_manual_clock,
    key: u64,
    out_delay_ns: *mut u64,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let limiter = unsafe { arg(limiter) }?;
        let out_delay_ns = out(out_delay_ns)?;
        // SAFETY: the caller passes NULL or a live clock handle.
        let now = unsafe { clock_or_real(clock) }.now();
        let delay = limiter.limiter.when(&key, now);
        out_delay_ns.write(delay_ns(delay));
        Ok(())
    })
}

/// Stops tracking `key`: its next failure starts from scratch.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `limiter` is NULL.
///
/// # Safety
/// `limiter` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wq_rate_limiter_forget(
    limiter: *mut wq_rate_limiter,
    key: u64,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let limiter = unsafe { arg(limiter) }?;
        limiter.limiter.forget(&key);
        Ok(())
    })
}

/// Stores in `*out_count` how many failures of `key` the limiter tracks.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `limiter` or `out_count` is NULL.
///
/// # Safety
/// `limiter` is NULL or a live handle; `out_count` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_rate_limiter_num_requeues(
    limiter: *const wq_rate_limiter,
    key: u64,
    out_count: *mut u32,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let limiter = unsafe { arg(limiter) }?;
        let out_count = out(out_count)?;
        out_count.write(limiter.limiter.num_requeues(&key));
        Ok(())
    })
}

/// Releases the caller's reference to a limiter. Queues and composites
/// that were given it keep working with it. NULL does nothing.
///
/// # Safety
/// `limiter` is NULL or a live handle not used again.
#[no_mangle]
pub unsafe extern "C" fn wq_rate_limiter_free(limiter: *mut wq_rate_limiter) {
    // SAFETY: the caller passes NULL or a live handle and never uses it again.
    run_void(|| unsafe { free_handle(limiter) })
}

//! Whether a queue still holds a key: what a binding that maps its own keys
//! to `uint64_t` ids (the Go binding's interner) asks before it forgets an
//! id, so that its key table stays as small as the queue. `wq_queue_holds`
//! and its batch form, `wq_queue_done_holds`, the done that answers the
//! question in the same crossing, and `wq_queue_done_holds_try_get`, which
//! also takes the next ready key (a worker's "done, next please").

use crate::boundary::{arg, boundary, out, out_opt, slice, slice_out, write_opt};
use crate::queue::{get_error, wq_queue};
use crate::status::wq_status;

/// Stores in `*out_holds` whether the queue may still hand out `key` (it is
/// queued, being processed, or waiting for a delay) or the queue's rate
/// limiter remembers failures of it.
///
/// A binding that maps its own keys to ids may forget an id once this is
/// false, provided it makes the check under the same lock that serialises
/// its adds of that key: the answer changes as soon as the key is added
/// again. Keys dropped by a shutdown (those waiting for a delay) are not
/// held.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_holds` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_holds` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_holds(
    queue: *const wq_queue,
    key: u64,
    out_holds: *mut bool,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let out_holds = out(out_holds)?;
        out_holds.write(queue.queue().holds(&key));
        Ok(())
    })
}

/// `wq_queue_done` then `wq_queue_holds` for one key, in one call (one
/// boundary crossing instead of two on a binding's hot path):
/// `*out_was_processing` (if not NULL) tells whether `key` was being
/// processed (if it was not, nothing changed), `*out_holds` (if not NULL)
/// whether the queue still holds `key` afterwards (it was added again
/// while being processed, or waits for a delay, or its rate limiter
/// remembers failures of it).
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_was_processing` and `out_holds`
/// are NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_done_holds(
    queue: *mut wq_queue,
    key: u64,
    out_was_processing: *mut bool,
    out_holds: *mut bool,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let was_processing = out_opt(out_was_processing);
        let holds = out_opt(out_holds);
        write_opt(was_processing, queue.queue().done(&key));
        write_opt(holds, queue.queue().holds(&key));
        Ok(())
    })
}

/// `wq_queue_done_holds`, then a `wq_queue_get` that does not wait, in one
/// call: a worker's "done with this key, the next one please" in one
/// boundary crossing instead of two. The done takes effect before the get,
/// exactly as two separate calls would.
///
/// `*out_was_processing` and `*out_holds` (if not NULL) are those of
/// `wq_queue_done_holds`. `*out_get_status` receives the get's status:
/// `WQ_STATUS_OK` (the key handed out is in `*out_next_key`; the caller
/// now processes it), `WQ_STATUS_TIMEOUT` (no key was ready) or
/// `WQ_STATUS_SHUTDOWN` (shut down and empty); `*out_next_key` is written
/// only with `WQ_STATUS_OK`.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue`, `out_next_key` or
/// `out_get_status` is NULL (then nothing is done).
///
/// # Safety
/// `queue` is NULL or a live handle; the out-pointers are NULL or valid for
/// a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_done_holds_try_get(
    queue: *mut wq_queue,
    key: u64,
    out_was_processing: *mut bool,
    out_holds: *mut bool,
    out_next_key: *mut u64,
    out_get_status: *mut wq_status,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let out_next_key = out(out_next_key)?;
        let out_get_status = out(out_get_status)?;
        let was_processing = out_opt(out_was_processing);
        let holds = out_opt(out_holds);
        write_opt(was_processing, queue.queue().done(&key));
        write_opt(holds, queue.queue().holds(&key));
        match queue.queue().try_get() {
            Ok(next) => {
                out_next_key.write(next);
                out_get_status.write(wq_status::Ok);
            }
            Err(error) => {
                out_get_status.write(get_error(error));
            }
        }
        Ok(())
    })
}

/// `wq_queue_holds` for `count` keys in one call: `out_holds[i]` tells
/// whether the queue holds `keys[i]`, and `*out_held` (if not NULL)
/// receives how many it holds. `keys` and `out_holds` may be NULL when
/// `count` is 0.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL, or `keys` or
/// `out_holds` is NULL and `count` is not 0.
///
/// # Safety
/// `queue` is NULL or a live handle; `keys` is NULL or points to `count`
/// readable keys; `out_holds` is NULL or valid for writes of `count`
/// bools; `out_held` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_holds_batch(
    queue: *const wq_queue,
    keys: *const u64,
    count: usize,
    out_holds: *mut bool,
    out_held: *mut usize,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        // SAFETY: the caller passes NULL or `count` readable keys.
        let keys = unsafe { slice(keys, count) }?;
        // SAFETY: the caller passes NULL or room for `count` bools.
        let holds = unsafe { slice_out(out_holds, count) }?;
        let mut held = 0;
        let mut slots = holds.iter_mut();
        queue.queue().holds_each(keys, |holds_key| {
            held += usize::from(holds_key);
            if let Some(slot) = slots.next() {
                slot.write(holds_key);
            }
        });
        write_opt(out_opt(out_held), held);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{wq_manual_clock_free, wq_manual_clock_new, wq_manual_clock_step};
    use crate::queue::{
        wq_queue_add, wq_queue_add_after, wq_queue_add_rate_limited, wq_queue_done,
        wq_queue_forget, wq_queue_free, wq_queue_get, wq_queue_new, wq_queue_options,
        wq_queue_shutdown,
    };
    use crate::rate_limiter::{wq_rate_limiter_free, wq_rate_limiter_new_exponential};
    use crate::status::WQ_NO_WAIT;
    use std::ptr;

    fn holds(queue: *const wq_queue, key: u64) -> bool {
        let mut out = false;
        // SAFETY: a live queue and a valid out-pointer.
        assert_eq!(
            unsafe { wq_queue_holds(queue, key, &mut out) },
            wq_status::Ok
        );
        out
    }

    #[test]
    fn holds_follows_queued_processing_delayed_and_limiter_state() {
        let mut clock = ptr::null_mut();
        let mut limiter = ptr::null_mut();
        let mut queue = ptr::null_mut();
        // SAFETY: every pointer below is a live handle or a valid out-pointer.
        unsafe {
            assert_eq!(wq_manual_clock_new(&mut clock), wq_status::Ok);
            assert_eq!(
                wq_rate_limiter_new_exponential(1_000_000, 1_000_000_000, &mut limiter),
                wq_status::Ok
            );
            let options = wq_queue_options {
                name: ptr::null(),
                rate_limiter: limiter,
                clock,
                priority_aging_ns: 0,
                submissions: std::ptr::null_mut(),
            };
            assert_eq!(wq_queue_new(&options, &mut queue), wq_status::Ok);

            assert!(!holds(queue, 7), "an unknown key is not held");
            assert_eq!(wq_queue_add(queue, 7, ptr::null_mut()), wq_status::Ok);
            assert!(holds(queue, 7), "a queued key is held");
            let mut key = 0;
            assert_eq!(wq_queue_get(queue, WQ_NO_WAIT, &mut key), wq_status::Ok);
            assert_eq!(key, 7);
            assert!(holds(queue, 7), "a key being processed is held");
            assert_eq!(wq_queue_done(queue, 7, ptr::null_mut()), wq_status::Ok);
            assert!(!holds(queue, 7), "a done key is not held");

            assert_eq!(
                wq_queue_add_after(queue, 8, 5_000_000, ptr::null_mut()),
                wq_status::Ok
            );
            assert!(holds(queue, 8), "a key waiting for a delay is held");

            assert_eq!(
                wq_queue_add_rate_limited(queue, 9, ptr::null_mut()),
                wq_status::Ok
            );
            assert_eq!(wq_manual_clock_step(clock, 1_000_000), wq_status::Ok);
            assert_eq!(wq_queue_get(queue, WQ_NO_WAIT, &mut key), wq_status::Ok);
            assert_eq!(key, 9);
            assert_eq!(wq_queue_done(queue, 9, ptr::null_mut()), wq_status::Ok);
            assert!(holds(queue, 9), "the limiter still remembers 9's failure");
            assert_eq!(wq_queue_forget(queue, 9), wq_status::Ok);
            assert!(!holds(queue, 9), "forgotten and done: not held");

            let keys = [7_u64, 8, 9, 10];
            let mut flags = [true; 4];
            let mut held = 99;
            assert_eq!(
                wq_queue_holds_batch(
                    queue,
                    keys.as_ptr(),
                    keys.len(),
                    flags.as_mut_ptr(),
                    &mut held
                ),
                wq_status::Ok
            );
            assert_eq!(flags, [false, true, false, false]);
            assert_eq!(held, 1);

            // done_holds: done and holds in one call.
            assert_eq!(wq_queue_add(queue, 11, ptr::null_mut()), wq_status::Ok);
            assert_eq!(wq_queue_get(queue, WQ_NO_WAIT, &mut key), wq_status::Ok);
            assert_eq!(key, 11);
            assert_eq!(wq_queue_add(queue, 11, ptr::null_mut()), wq_status::Ok);
            let (mut was, mut still) = (false, false);
            assert_eq!(
                wq_queue_done_holds(queue, 11, &mut was, &mut still),
                wq_status::Ok
            );
            assert!(was && still, "added while processing: queued again");
            assert_eq!(wq_queue_get(queue, WQ_NO_WAIT, &mut key), wq_status::Ok);
            assert_eq!(
                wq_queue_done_holds(queue, 11, &mut was, &mut still),
                wq_status::Ok
            );
            assert!(was && !still, "done for good");
            assert_eq!(
                wq_queue_done_holds(queue, 11, &mut was, &mut still),
                wq_status::Ok
            );
            assert!(!was && !still, "not processing: nothing changes");
            assert_eq!(
                wq_queue_done_holds(queue, 11, ptr::null_mut(), ptr::null_mut()),
                wq_status::Ok
            );

            assert_eq!(wq_queue_shutdown(queue), wq_status::Ok);
            assert!(!holds(queue, 8), "shutdown drops keys waiting for a delay");

            wq_queue_free(queue);
            wq_rate_limiter_free(limiter);
            wq_manual_clock_free(clock);
        }
    }

    #[test]
    fn done_holds_try_get_is_done_then_get() {
        let mut queue = ptr::null_mut();
        let (mut was, mut still) = (false, false);
        let mut next = 0_u64;
        let mut get = wq_status::Panic;
        // SAFETY: a live queue and valid out-pointers.
        unsafe {
            assert_eq!(wq_queue_new(ptr::null(), &mut queue), wq_status::Ok);
            for key in [1_u64, 2] {
                assert_eq!(wq_queue_add(queue, key, ptr::null_mut()), wq_status::Ok);
            }
            let mut key = 0;
            assert_eq!(wq_queue_get(queue, WQ_NO_WAIT, &mut key), wq_status::Ok);
            assert_eq!(key, 1);
            assert_eq!(wq_queue_add(queue, 1, ptr::null_mut()), wq_status::Ok);
            // Done of 1 (added again: queued behind 2), then the next key.
            assert_eq!(
                wq_queue_done_holds_try_get(queue, 1, &mut was, &mut still, &mut next, &mut get),
                wq_status::Ok
            );
            assert!(was && still);
            assert_eq!((get, next), (wq_status::Ok, 2));
            assert_eq!(
                wq_queue_done_holds_try_get(queue, 2, &mut was, &mut still, &mut next, &mut get),
                wq_status::Ok
            );
            assert!(was && !still);
            assert_eq!((get, next), (wq_status::Ok, 1));
            next = 77;
            assert_eq!(
                wq_queue_done_holds_try_get(queue, 1, &mut was, &mut still, &mut next, &mut get),
                wq_status::Ok
            );
            assert!(was && !still);
            assert_eq!(
                (get, next),
                (wq_status::Timeout, 77),
                "nothing ready, key untouched"
            );
            // Done of a key not processing changes nothing; the get still runs.
            assert_eq!(
                wq_queue_done_holds_try_get(
                    queue,
                    9,
                    ptr::null_mut(),
                    ptr::null_mut(),
                    &mut next,
                    &mut get
                ),
                wq_status::Ok
            );
            assert_eq!(get, wq_status::Timeout);
            assert_eq!(wq_queue_add(queue, 3, ptr::null_mut()), wq_status::Ok);
            assert_eq!(wq_queue_shutdown(queue), wq_status::Ok);
            assert_eq!(
                wq_queue_done_holds_try_get(queue, 9, &mut was, &mut still, &mut next, &mut get),
                wq_status::Ok
            );
            assert_eq!(
                (get, next),
                (wq_status::Ok, 3),
                "queued keys are handed out after shutdown"
            );
            assert_eq!(
                wq_queue_done_holds_try_get(queue, 3, &mut was, &mut still, &mut next, &mut get),
                wq_status::Ok
            );
            assert!(was && !still);
            assert_eq!(get, wq_status::Shutdown);
            // Required out-pointers: nothing is done without them.
            assert_eq!(wq_queue_add(queue, 4, ptr::null_mut()), wq_status::Ok);
            assert_eq!(
                wq_queue_done_holds_try_get(
                    queue,
                    3,
                    &mut was,
                    &mut still,
                    ptr::null_mut(),
                    &mut get
                ),
                wq_status::NullArgument
            );
            assert_eq!(
                wq_queue_done_holds_try_get(
                    queue,
                    3,
                    &mut was,
                    &mut still,
                    &mut next,
                    ptr::null_mut()
                ),
                wq_status::NullArgument
            );
            assert_eq!(
                wq_queue_done_holds_try_get(
                    ptr::null_mut(),
                    3,
                    &mut was,
                    &mut still,
                    &mut next,
                    &mut get
                ),
                wq_status::NullArgument
            );
            wq_queue_free(queue);
        }
    }

    #[test]
    fn null_arguments_change_nothing() {
        let mut queue = ptr::null_mut();
        let mut out = false;
        // SAFETY: NULL handles and pointers are what is being tested; the
        // queue is live until freed at the end.
        unsafe {
            assert_eq!(
                wq_queue_holds(ptr::null(), 1, &mut out),
                wq_status::NullArgument
            );
            assert_eq!(
                wq_queue_done_holds(ptr::null_mut(), 1, &mut out, &mut out),
                wq_status::NullArgument
            );
            assert_eq!(wq_queue_new(ptr::null(), &mut queue), wq_status::Ok);
            assert_eq!(
                wq_queue_holds(queue, 1, ptr::null_mut()),
                wq_status::NullArgument
            );
            let keys = [1_u64];
            assert_eq!(
                wq_queue_holds_batch(queue, keys.as_ptr(), 1, ptr::null_mut(), ptr::null_mut()),
                wq_status::NullArgument
            );
            assert_eq!(
                wq_queue_holds_batch(queue, ptr::null(), 1, &mut out, ptr::null_mut()),
                wq_status::NullArgument
            );
            let mut held = 5;
            assert_eq!(
                wq_queue_holds_batch(queue, ptr::null(), 0, ptr::null_mut(), &mut held),
                wq_status::Ok
            );
            assert_eq!(held, 0);
            wq_queue_free(queue);
        }
    }
}

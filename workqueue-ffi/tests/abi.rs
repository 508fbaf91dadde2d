//! The exported functions called from Rust, as C would call them: every
//! call with good arguments, and with each kind of bad one.

use std::ffi::{c_int, c_void, CStr};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};
use workqueue::*;

const NULL_ARG: wq_status = wq_status::NullArgument;
const INVALID: wq_status = wq_status::InvalidArgument;

/// A queue handle that is freed at the end of the test.
struct Q(*mut wq_queue);

impl Q {
    fn new(options: Option<&wq_queue_options>) -> Q {
        let mut queue = null_mut();
        let options = options.map_or(null(), |o| o as *const _);
        // SAFETY: valid options or NULL, and a valid out-pointer.
        assert_eq!(unsafe { wq_queue_new(options, &mut queue) }, wq_status::Ok);
        assert!(!queue.is_null());
        Q(queue)
    }

    fn add(&self, key: u64) -> bool {
        let mut added = false;
        // SAFETY: a live queue and a valid out-pointer.
        assert_eq!(
            unsafe { wq_queue_add(self.0, key, &mut added) },
            wq_status::Ok
        );
        added
    }

    fn get(&self, timeout_ns: i64) -> Result<u64, wq_status> {
        let mut key = 0;
        // SAFETY: a live queue and a valid out-pointer.
        match unsafe { wq_queue_get(self.0, timeout_ns, &mut key) } {
            wq_status::Ok => Ok(key),
            status => Err(status),
        }
    }

    fn done(&self, key: u64) -> bool {
        let mut was_processing = false;
        // SAFETY: a live queue and a valid out-pointer.
        assert_eq!(
            unsafe { wq_queue_done(self.0, key, &mut was_processing) },
            wq_status::Ok
        );
        was_processing
    }

    fn len(&self) -> usize {
        let mut len = 0;
        // SAFETY: a live queue and a valid out-pointer.
        assert_eq!(unsafe { wq_queue_len(self.0, &mut len) }, wq_status::Ok);
        len
    }
}

impl Drop for Q {
    fn drop(&mut self) {
        // SAFETY: made by wq_queue_new, freed once, no other user left.
        unsafe { wq_queue_free(self.0) }
    }
}

/// Lets a raw handle cross into a test thread.
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
// SAFETY: the handles used this way are documented as thread-safe.
unsafe impl<T> Send for Shared<T> {}
impl<T> Shared<T> {
    fn get(self) -> *mut T {
        self.0
    }
}

#[test]
fn add_get_done_collapse_and_batches() {
    let q = Q::new(None);
    assert!(q.add(1));
    assert!(!q.add(1));
    assert!(q.add(2));
    let keys = [3u64, 4, 3];
    let mut added = 0;
    // SAFETY: a live queue, 3 readable keys, a valid out-pointer.
    assert_eq!(
        unsafe { wq_queue_add_batch(q.0, keys.as_ptr(), 3, &mut added) },
        wq_status::Ok
    );
    assert_eq!(added, 2);
    assert_eq!(q.len(), 4);
    assert_eq!(q.get(WQ_NO_WAIT), Ok(1));
    let mut out = [0u64; 8];
    let mut count = 0;
    // SAFETY: room for 8 keys and a valid out-pointer.
    assert_eq!(
        unsafe { wq_queue_get_batch(q.0, out.as_mut_ptr(), 8, WQ_NO_WAIT, &mut count) },
        wq_status::Ok
    );
    assert_eq!(&out[..count], &[2, 3, 4]);
    assert_eq!(q.get(WQ_NO_WAIT), Err(wq_status::Timeout));
    assert!(q.add(1)); // while processing
    assert!(q.done(1));
    assert!(!q.done(1));
    let mut done = 0;
    // SAFETY: 3 readable keys and a valid out-pointer.
    assert_eq!(
        unsafe { wq_queue_done_batch(q.0, out.as_ptr(), 3, &mut done) },
        wq_status::Ok
    );
    assert_eq!(done, 3);
    assert_eq!(q.get(WQ_NO_WAIT), Ok(1));
    let start = Instant::now();
    assert_eq!(q.get(5_000_000), Err(wq_status::Timeout));
    assert!(start.elapsed() >= Duration::from_millis(5));
}

#[test]
fn names_are_copied_and_must_be_utf8() {
    let name = c"reconciler";
    let options = wq_queue_options {
        name: name.as_ptr(),
        rate_limiter: null(),
        clock: null(),
        priority_aging_ns: 0,
        submissions: std::ptr::null_mut(),
    };
    let q = Q::new(Some(&options));
    let mut out = null();
    // SAFETY: a live queue and a valid out-pointer.
    assert_eq!(unsafe { wq_queue_name(q.0, &mut out) }, wq_status::Ok);
    // SAFETY: the queue returns a NUL-terminated string it owns.
    assert_eq!(unsafe { CStr::from_ptr(out) }, name);

    let bad = [0xffu8, 0];
    let options = wq_queue_options {
        name: bad.as_ptr().cast(),
        ..options
    };
    let mut queue = null_mut();
    // SAFETY: valid options and out-pointer.
    assert_eq!(unsafe { wq_queue_new(&options, &mut queue) }, INVALID);
    assert!(queue.is_null());
}

#[test]
fn null_handles_and_out_pointers_are_rejected_without_effect() {
    let q = Q::new(None);
    q.add(5);
    let (mut key, mut len, mut flag, mut count32) = (7u64, 7usize, false, 7u32);
    let mut name = null();
    let mut fd: c_int = -7;
    let keys = [1u64];
    // SAFETY: every pointer is NULL or valid; the queue is live.
    unsafe {
        assert_eq!(wq_queue_new(null(), null_mut()), NULL_ARG);
        assert_eq!(wq_queue_name(null(), &mut name), NULL_ARG);
        assert_eq!(wq_queue_name(q.0, null_mut()), NULL_ARG);
        assert_eq!(wq_queue_add(null_mut(), 1, null_mut()), NULL_ARG);
        assert_eq!(
            wq_queue_add_batch(null_mut(), keys.as_ptr(), 1, null_mut()),
            NULL_ARG
        );
        assert_eq!(wq_queue_add_batch(q.0, null(), 1, null_mut()), NULL_ARG);
        assert_eq!(wq_queue_add_after(null_mut(), 1, 1, null_mut()), NULL_ARG);
        assert_eq!(
            wq_queue_add_rate_limited(null_mut(), 1, null_mut()),
            NULL_ARG
        );
        assert_eq!(wq_queue_get(null_mut(), WQ_NO_WAIT, &mut key), NULL_ARG);
        assert_eq!(wq_queue_get(q.0, WQ_WAIT_FOREVER, null_mut()), NULL_ARG);
        assert_eq!(wq_queue_get(q.0, -2, &mut key), INVALID);
        assert_eq!(wq_queue_get(q.0, i64::MIN, &mut key), INVALID);
        assert_eq!(
            wq_queue_get_batch(null_mut(), &mut key, 1, 0, &mut len),
            NULL_ARG
        );
        assert_eq!(
            wq_queue_get_batch(q.0, null_mut(), 1, 0, &mut len),
            NULL_ARG
        );
        assert_eq!(
            wq_queue_get_batch(q.0, &mut key, 1, 0, null_mut()),
            NULL_ARG
        );
        assert_eq!(wq_queue_get_batch(q.0, &mut key, 1, -9, &mut len), INVALID);
        assert_eq!(wq_queue_done(null_mut(), 1, null_mut()), NULL_ARG);
        assert_eq!(
            wq_queue_done_batch(null_mut(), keys.as_ptr(), 1, null_mut()),
            NULL_ARG
        );
        assert_eq!(wq_queue_done_batch(q.0, null(), 1, null_mut()), NULL_ARG);
        assert_eq!(wq_queue_forget(null_mut(), 1), NULL_ARG);
        assert_eq!(wq_queue_num_requeues(null(), 1, &mut count32), NULL_ARG);
        assert_eq!(wq_queue_num_requeues(q.0, 1, null_mut()), NULL_ARG);
        assert_eq!(wq_queue_len(null(), &mut len), NULL_ARG);
        assert_eq!(wq_queue_len(q.0, null_mut()), NULL_ARG);
        assert_eq!(wq_queue_processing_len(null(), &mut len), NULL_ARG);
        assert_eq!(wq_queue_processing_len(q.0, null_mut()), NULL_ARG);
        assert_eq!(wq_queue_delayed_len(null(), &mut len), NULL_ARG);
        assert_eq!(wq_queue_delayed_len(q.0, null_mut()), NULL_ARG);
        assert_eq!(wq_queue_shutdown(null_mut()), NULL_ARG);
        assert_eq!(wq_queue_shutdown_with_drain(null_mut(), 0), NULL_ARG);
        assert_eq!(wq_queue_shutdown_with_drain(q.0, -2), INVALID);
        assert_eq!(wq_queue_shutting_down(null(), &mut flag), NULL_ARG);
        assert_eq!(wq_queue_shutting_down(q.0, null_mut()), NULL_ARG);
        assert_eq!(wq_queue_fd(null_mut(), &mut fd), NULL_ARG);
        assert_eq!(wq_queue_fd(q.0, null_mut()), NULL_ARG);
        wq_queue_free(null_mut());
    }
    assert_eq!((key, len, flag, count32, fd), (7, 7, false, 7, -7));
    assert!(name.is_null());
    // Nothing happened to the queue: 5 is still the one queued key.
    assert_eq!(q.len(), 1);
    assert_eq!(q.get(WQ_NO_WAIT), Ok(5));
    let mut shutting_down = true;
    // SAFETY: a live queue and a valid out-pointer.
    unsafe { wq_queue_shutting_down(q.0, &mut shutting_down) };
    assert!(!shutting_down);
}

#[test]
fn shutdown_releases_a_blocked_get_on_another_thread() {
    let q = Q::new(None);
    let queue = Shared(q.0);
    let getter = thread::spawn(move || {
        let mut key = 0;
        // SAFETY: the queue outlives this thread (joined below).
        unsafe { wq_queue_get(queue.get(), WQ_WAIT_FOREVER, &mut key) }
    });
    thread::sleep(Duration::from_millis(20));
    // SAFETY: a live queue.
    assert_eq!(unsafe { wq_queue_shutdown(q.0) }, wq_status::Ok);
    assert_eq!(getter.join().unwrap(), wq_status::Shutdown);
}

#[test]
fn drain_waits_for_done_on_another_thread() {
    let q = Q::new(None);
    q.add(1);
    assert_eq!(q.get(WQ_NO_WAIT), Ok(1));
    let queue = Shared(q.0);
    let drainer = thread::spawn(move || {
        // SAFETY: the queue outlives this thread (joined below).
        unsafe { wq_queue_shutdown_with_drain(queue.get(), WQ_WAIT_FOREVER) }
    });
    thread::sleep(Duration::from_millis(20));
    assert!(!drainer.is_finished());
    assert!(q.done(1));
    assert_eq!(drainer.join().unwrap(), wq_status::Ok);
}

fn limiter(status: wq_status, limiter: *mut wq_rate_limiter) -> *mut wq_rate_limiter {
    assert_eq!(status, wq_status::Ok);
    assert!(!limiter.is_null());
    limiter
}

#[test]
fn rate_limiters_on_a_manual_clock_and_their_ownership() {
    let mut clock = null_mut();
    let (mut exp, mut bucket, mut max_of, mut max_wait, mut out) =
        (null_mut(), null_mut(), null_mut(), null_mut(), null_mut());
    let mut delay = 0u64;
    let mut count = 0u32;
    // SAFETY: every pointer is NULL, valid, or a live handle made here;
    // each handle is freed exactly once.
    unsafe {
        assert_eq!(wq_manual_clock_new(&mut clock), wq_status::Ok);
        let exp = limiter(
            wq_rate_limiter_new_exponential(1_000_000, 8_000_000, &mut exp),
            exp,
        );
        let bucket = limiter(
            wq_rate_limiter_new_token_bucket(1.0, 1, &mut bucket),
            bucket,
        );
        let members = [exp as *const wq_rate_limiter, bucket];
        let max_of = limiter(
            wq_rate_limiter_new_max_of(members.as_ptr(), 2, &mut max_of),
            max_of,
        );
        let max_wait = limiter(
            wq_rate_limiter_new_max_wait(max_of, 500_000_000, &mut max_wait),
            max_wait,
        );
        // The members are the caller's to free; the composites keep theirs.
        wq_rate_limiter_free(exp);
        wq_rate_limiter_free(bucket);
        wq_rate_limiter_free(max_of);
        assert_eq!(
            wq_rate_limiter_when(max_wait, clock, 9, &mut delay),
            wq_status::Ok
        );
        assert_eq!(delay, 1_000_000); // exp 1 ms, the bucket's token is free
        assert_eq!(
            wq_rate_limiter_when(max_wait, clock, 9, &mut delay),
            wq_status::Ok
        );
        assert_eq!(delay, 500_000_000); // the bucket waits 1 s, capped at 0.5 s
        assert_eq!(wq_manual_clock_step(clock, 2_000_000_000), wq_status::Ok);
        assert_eq!(
            wq_rate_limiter_when(max_wait, clock, 9, &mut delay),
            wq_status::Ok
        );
        assert_eq!(delay, 4_000_000);
        assert_eq!(
            wq_rate_limiter_num_requeues(max_wait, 9, &mut count),
            wq_status::Ok
        );
        assert_eq!(count, 3);
        assert_eq!(wq_rate_limiter_forget(max_wait, 9), wq_status::Ok);
        assert_eq!(
            wq_rate_limiter_num_requeues(max_wait, 9, &mut count),
            wq_status::Ok
        );
        assert_eq!(count, 0);

        let options = wq_queue_options {
            name: null(),
            rate_limiter: max_wait,
            clock,
            priority_aging_ns: 0,
            submissions: std::ptr::null_mut(),
        };
        let q = Q::new(Some(&options));
        wq_rate_limiter_free(max_wait);
        assert_eq!(wq_queue_add_rate_limited(q.0, 4, &mut delay), wq_status::Ok);
        // The queue shares the limiter's state: the bucket is empty again.
        assert_eq!(delay, 500_000_000);
        assert_eq!(q.get(WQ_NO_WAIT), Err(wq_status::Timeout));
        assert_eq!(wq_manual_clock_step(clock, 500_000_000), wq_status::Ok);
        wq_manual_clock_free(clock);
        assert_eq!(q.get(WQ_NO_WAIT), Ok(4));
        assert_eq!(wq_queue_shutdown(q.0), wq_status::Ok);
        assert_eq!(
            wq_queue_add_rate_limited(q.0, 4, &mut delay),
            wq_status::Shutdown
        );

        // Bad arguments.
        assert_eq!(wq_rate_limiter_new_exponential(0, 1, &mut out), INVALID);
        assert_eq!(wq_rate_limiter_new_exponential(2, 1, &mut out), INVALID);
        assert_eq!(wq_rate_limiter_new_exponential(1, 2, null_mut()), NULL_ARG);
        assert_eq!(
            wq_rate_limiter_new_token_bucket(f64::NAN, 1, &mut out),
            INVALID
        );
        assert_eq!(wq_rate_limiter_new_token_bucket(1.0, 0, &mut out), INVALID);
        assert_eq!(wq_rate_limiter_new_fast_slow(1, 2, 3, null_mut()), NULL_ARG);
        assert_eq!(wq_rate_limiter_new_max_of(null(), 1, &mut out), NULL_ARG);
        assert_eq!(wq_rate_limiter_new_max_of(null(), 0, &mut out), INVALID);
        let nulls = [null::<wq_rate_limiter>()];
        assert_eq!(
            wq_rate_limiter_new_max_of(nulls.as_ptr(), 1, &mut out),
            NULL_ARG
        );
        assert_eq!(wq_rate_limiter_new_max_wait(null(), 1, &mut out), NULL_ARG);
        assert_eq!(wq_rate_limiter_new_default_controller(null_mut()), NULL_ARG);
        assert_eq!(wq_rate_limiter_new_default_item(null_mut()), NULL_ARG);
        assert_eq!(
            wq_rate_limiter_when(null_mut(), null(), 1, &mut delay),
            NULL_ARG
        );
        assert_eq!(wq_rate_limiter_forget(null_mut(), 1), NULL_ARG);
        assert_eq!(
            wq_rate_limiter_num_requeues(null(), 1, &mut count),
            NULL_ARG
        );
        assert!(out.is_null());
        wq_rate_limiter_free(null_mut());
        assert_eq!(wq_manual_clock_new(null_mut()), NULL_ARG);
        assert_eq!(wq_manual_clock_step(null_mut(), 1), NULL_ARG);
        assert_eq!(wq_manual_clock_set(null_mut(), 1), NULL_ARG);
        assert_eq!(wq_manual_clock_now(null(), &mut delay), NULL_ARG);
        wq_manual_clock_free(null_mut());
    }
}

#[test]
fn default_limiters() {
    let mut l = null_mut();
    let mut delay = 0;
    // SAFETY: valid out-pointers; the handles are freed once.
    unsafe {
        let controller = limiter(wq_rate_limiter_new_default_controller(&mut l), l);
        assert_eq!(
            wq_rate_limiter_when(controller, null(), 1, &mut delay),
            wq_status::Ok
        );
        assert_eq!(delay, 5_000_000);
        wq_rate_limiter_free(controller);
        let item = limiter(wq_rate_limiter_new_default_item(&mut l), l);
        assert_eq!(
            wq_rate_limiter_when(item, null(), 1, &mut delay),
            wq_status::Ok
        );
        assert_eq!(delay, 1_000_000);
        wq_rate_limiter_free(item);
    }
}

extern "C" fn count_piece(user_data: *mut c_void, piece: usize) {
    // SAFETY: the tests pass a live array of AtomicUsize as user_data.
    let visits = unsafe { &*(user_data as *const [AtomicUsize; 100]) };
    visits[piece].fetch_add(1, Ordering::Relaxed);
}

#[test]
fn parallelize_visits_every_piece_once_and_checks_arguments() {
    let visits: [AtomicUsize; 100] = std::array::from_fn(|_| AtomicUsize::new(0));
    let user_data = &visits as *const _ as *mut c_void;
    let mut cancel = null_mut();
    let mut cancelled = true;
    // SAFETY: a callback and user_data that match; valid handles.
    unsafe {
        assert_eq!(
            wq_parallelize(null(), 3, 100, 7, Some(count_piece), user_data),
            wq_status::Ok
        );
        assert!(visits.iter().all(|v| v.load(Ordering::Relaxed) == 1));
        assert_eq!(wq_parallelize(null(), 3, 100, 7, None, user_data), NULL_ARG);
        assert_eq!(
            wq_parallelize(null(), 0, 100, 7, Some(count_piece), user_data),
            INVALID
        );
        assert_eq!(
            wq_parallelize(null(), 1, 100, 0, Some(count_piece), user_data),
            INVALID
        );
        assert_eq!(wq_cancel_new(&mut cancel), wq_status::Ok);
        assert_eq!(
            wq_cancel_is_cancelled(cancel, &mut cancelled),
            wq_status::Ok
        );
        assert!(!cancelled);
        assert_eq!(wq_cancel_cancel(cancel), wq_status::Ok);
        assert_eq!(
            wq_parallelize(cancel, 2, 100, 1, Some(count_piece), user_data),
            wq_status::Cancelled
        );
        assert!(visits.iter().all(|v| v.load(Ordering::Relaxed) == 1));
        assert_eq!(wq_cancel_new(null_mut()), NULL_ARG);
        assert_eq!(wq_cancel_cancel(null_mut()), NULL_ARG);
        assert_eq!(wq_cancel_is_cancelled(null(), &mut cancelled), NULL_ARG);
        assert_eq!(wq_cancel_is_cancelled(cancel, null_mut()), NULL_ARG);
        wq_cancel_free(cancel);
        wq_cancel_free(null_mut());
    }
}

#[test]
fn semaphore() {
    let mut s = null_mut();
    let mut available = 0;
    // SAFETY: valid out-pointers; the handle is live until freed once.
    unsafe {
        assert_eq!(wq_semaphore_new(0, &mut s), INVALID);
        assert_eq!(wq_semaphore_new(1, null_mut()), NULL_ARG);
        assert_eq!(wq_semaphore_new(1, &mut s), wq_status::Ok);
        assert_eq!(wq_semaphore_acquire(s, WQ_WAIT_FOREVER), wq_status::Ok);
        assert_eq!(wq_semaphore_try_acquire(s), wq_status::Timeout);
        assert_eq!(wq_semaphore_acquire(s, 1_000_000), wq_status::Timeout);
        assert_eq!(wq_semaphore_acquire(s, -2), INVALID);
        assert_eq!(wq_semaphore_available(s, &mut available), wq_status::Ok);
        assert_eq!(available, 0);
        assert_eq!(wq_semaphore_release(s), wq_status::Ok);
        assert_eq!(wq_semaphore_release(s), wq_status::InvalidState);
        assert_eq!(wq_semaphore_acquire(null_mut(), 0), NULL_ARG);
        assert_eq!(wq_semaphore_try_acquire(null_mut()), NULL_ARG);
        assert_eq!(wq_semaphore_release(null_mut()), NULL_ARG);
        assert_eq!(wq_semaphore_available(null(), &mut available), NULL_ARG);
        assert_eq!(wq_semaphore_available(s, null_mut()), NULL_ARG);
        wq_semaphore_free(s);
        wq_semaphore_free(null_mut());
    }
}

/// Fails keys 0 and 1 always, succeeds the others.
extern "C" fn handler(user_data: *mut c_void, key: u64) -> c_int {
    // SAFETY: the test passes a live AtomicUsize.
    let runs = unsafe { &*(user_data as *const AtomicUsize) };
    runs.fetch_add(1, Ordering::Relaxed);
    c_int::from(key < 2)
}

#[test]
fn worker_loop_retries_and_drops() {
    let mut l = null_mut();
    // SAFETY: a valid out-pointer.
    let fast = limiter(unsafe { wq_rate_limiter_new_exponential(1, 1, &mut l) }, l);
    let options = wq_queue_options {
        name: null(),
        rate_limiter: fast,
        clock: null(),
        priority_aging_ns: 0,
        submissions: std::ptr::null_mut(),
    };
    let q = Q::new(Some(&options));
    // SAFETY: freed once; the queue keeps its own reference.
    unsafe { wq_rate_limiter_free(fast) };
    for key in 0..10 {
        q.add(key);
    }
    let runs = AtomicUsize::new(0);
    let queue = Shared(q.0);
    let user_data = Shared(&runs as *const AtomicUsize as *mut c_void);
    let report = thread::scope(|s| {
        let workers = s.spawn(move || {
            let mut report = wq_worker_report::default();
            // SAFETY: the queue and `runs` outlive the scope.
            let status = unsafe {
                wq_worker_run(
                    queue.get(),
                    2,
                    2,
                    Some(handler),
                    None,
                    user_data.get(),
                    &mut report,
                )
            };
            assert_eq!(status, wq_status::Ok);
            report
        });
        // 8 successes + 2 keys × 3 runs.
        let deadline = Instant::now() + Duration::from_secs(10);
        while runs.load(Ordering::Relaxed) < 14 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
        // SAFETY: a live queue.
        assert_eq!(
            unsafe { wq_queue_shutdown_with_drain(q.0, WQ_WAIT_FOREVER) },
            wq_status::Ok
        );
        workers.join().unwrap()
    });
    assert_eq!(
        report,
        wq_worker_report {
            succeeded: 8,
            retried: 4,
            dropped: 2,
            abandoned: 0
        }
    );
    // SAFETY: bad arguments only.
    unsafe {
        assert_eq!(
            wq_worker_run(
                null_mut(),
                1,
                1,
                Some(handler),
                None,
                null_mut(),
                null_mut()
            ),
            NULL_ARG
        );
        assert_eq!(
            wq_worker_run(q.0, 1, 1, None, None, null_mut(), null_mut()),
            NULL_ARG
        );
        assert_eq!(
            wq_worker_run(q.0, 0, 1, Some(handler), None, null_mut(), null_mut()),
            INVALID
        );
    }
}

/// Shuts its queue down, then fails keys 0 and 1 and succeeds the others.
extern "C" fn shutting_down_handler(user_data: *mut c_void, key: u64) -> c_int {
    // SAFETY: the test passes a live queue.
    unsafe { wq_queue_shutdown(user_data.cast()) };
    c_int::from(key < 2)
}

/// Runs that fail once the queue is shutting down are reported abandoned:
/// every run is counted once.
#[test]
fn worker_loop_abandons_failures_during_shutdown() {
    let q = Q::new(None);
    for key in 0..4 {
        q.add(key);
    }
    let mut report = wq_worker_report::default();
    // SAFETY: a live queue, passed as the handler's user data too.
    let status = unsafe {
        wq_worker_run(
            q.0,
            1,
            5,
            Some(shutting_down_handler),
            None,
            q.0.cast(),
            &mut report,
        )
    };
    assert_eq!(status, wq_status::Ok);
    assert_eq!(
        report,
        wq_worker_report {
            succeeded: 2,
            retried: 0,
            dropped: 0,
            abandoned: 2
        }
    );
}

#[cfg(all(target_os = "linux", not(miri)))]
#[test]
fn the_fd_is_readable_while_a_get_would_not_block() {
    fn readable(fd: c_int, timeout_ms: c_int) -> bool {
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut poll, 1, timeout_ms) == 1 }
    }
    let q = Q::new(None);
    let (mut fd, mut again) = (-1, -2);
    // SAFETY: a live queue and valid out-pointers.
    unsafe {
        assert_eq!(wq_queue_fd(q.0, &mut fd), wq_status::Ok);
        assert_eq!(wq_queue_fd(q.0, &mut again), wq_status::Ok);
    }
    assert_eq!(fd, again);
    assert!(!readable(fd, 0));
    q.add(1);
    assert!(readable(fd, 1000));
    assert_eq!(q.get(WQ_NO_WAIT), Ok(1));
    assert!(!readable(fd, 0));
    // SAFETY: a live queue.
    unsafe { wq_queue_add_after(q.0, 2, 200_000_000, null_mut()) };
    assert!(!readable(fd, 0));
    assert!(readable(fd, 5000));
    assert_eq!(q.get(WQ_NO_WAIT), Ok(2));
}

#[test]
fn statuses_and_version() {
    // SAFETY: static NUL-terminated strings.
    unsafe {
        assert_eq!(CStr::from_ptr(wq_status_str(0)).to_str().unwrap(), "ok");
        assert_eq!(
            CStr::from_ptr(wq_status_str(wq_status::BufferTooSmall as c_int + 1))
                .to_str()
                .unwrap(),
            "unknown status"
        );
        let version = CStr::from_ptr(wq_version()).to_str().unwrap();
        assert_eq!(
            version,
            format!("{WQ_VERSION_MAJOR}.{WQ_VERSION_MINOR}.{WQ_VERSION_PATCH}")
        );
    }
}

#[test]
fn priorities_highest_first_and_fifo_within_one() {
    // A manual clock, so the rate-limited key below stays delayed however
    // slowly the test runs (under Miri, say).
    let mut clock = null_mut();
    // SAFETY: a valid out-pointer; the clock is freed once at the end.
    assert_eq!(unsafe { wq_manual_clock_new(&mut clock) }, wq_status::Ok);
    let options = wq_queue_options {
        name: null(),
        rate_limiter: null(),
        clock,
        priority_aging_ns: 0,
        submissions: std::ptr::null_mut(),
    };
    let q = Q::new(Some(&options));
    let mut added = false;
    let (mut key, mut priority) = (0u64, 0i32);
    let mut priorities = [0i32; 2];
    let mut lens = [0usize; 2];
    let mut count = 0usize;
    // SAFETY: a live queue and valid pointers, or the NULLs under test.
    unsafe {
        assert_eq!(
            wq_queue_add_with_priority(q.0, 1, 0, &mut added),
            wq_status::Ok
        );
        assert!(added);
        assert_eq!(
            wq_queue_add_with_priority(q.0, 2, 10, null_mut()),
            wq_status::Ok
        );
        assert_eq!(
            wq_queue_add_with_priority(q.0, 3, -5, null_mut()),
            wq_status::Ok
        );
        assert_eq!(
            wq_queue_add_with_priority(q.0, 4, 10, null_mut()),
            wq_status::Ok
        );
        assert_eq!(
            wq_queue_len_by_priority(
                q.0,
                priorities.as_mut_ptr(),
                lens.as_mut_ptr(),
                2,
                &mut count
            ),
            wq_status::Ok
        );
        assert_eq!(count, 3);
        assert_eq!((priorities, lens), ([10, 0], [2, 1]));
        let mut order = Vec::new();
        while wq_queue_get_with_priority(q.0, WQ_NO_WAIT, &mut key, &mut priority) == wq_status::Ok
        {
            order.push((key, priority));
        }
        assert_eq!(order, [(2, 10), (4, 10), (1, 0), (3, -5)]);
        assert_eq!(
            wq_queue_add_after_with_priority(q.0, 5, -1, 3, &mut added),
            wq_status::Ok
        );
        assert!(added);
        assert_eq!(
            wq_queue_add_rate_limited_with_priority(q.0, 6, 7, null_mut()),
            wq_status::Ok
        );
        assert_eq!(q.get(WQ_NO_WAIT), Ok(5));
        // The add after that reports a refusal: a later delay changes
        // nothing (OK, false); see the shutdown below.
        assert_eq!(
            wq_queue_try_add_after_with_priority(q.0, 8, 1_000, 2, &mut added),
            wq_status::Ok
        );
        assert!(added);
        assert_eq!(
            wq_queue_try_add_after_with_priority(q.0, 8, 2_000, 2, &mut added),
            wq_status::Ok
        );
        assert!(!added);

        assert_eq!(
            wq_queue_add_with_priority(null_mut(), 1, 1, null_mut()),
            NULL_ARG
        );
        assert_eq!(
            wq_queue_try_add_after_with_priority(null_mut(), 1, 1, 1, null_mut()),
            NULL_ARG
        );
        assert_eq!(
            wq_queue_add_after_with_priority(null_mut(), 1, 1, 1, null_mut()),
            NULL_ARG
        );
        assert_eq!(
            wq_queue_add_rate_limited_with_priority(null_mut(), 1, 1, null_mut()),
            NULL_ARG
        );
        assert_eq!(
            wq_queue_get_with_priority(null_mut(), 0, &mut key, &mut priority),
            NULL_ARG
        );
        assert_eq!(
            wq_queue_get_with_priority(q.0, 0, null_mut(), &mut priority),
            NULL_ARG
        );
        assert_eq!(
            wq_queue_get_with_priority(q.0, 0, &mut key, null_mut()),
            NULL_ARG
        );
        assert_eq!(
            wq_queue_get_with_priority(q.0, -2, &mut key, &mut priority),
            INVALID
        );
        assert_eq!(
            wq_queue_len_by_priority(null(), null_mut(), null_mut(), 0, &mut count),
            NULL_ARG
        );
        assert_eq!(
            wq_queue_len_by_priority(q.0, null_mut(), null_mut(), 0, null_mut()),
            NULL_ARG
        );
        assert_eq!(
            wq_queue_len_by_priority(q.0, null_mut(), lens.as_mut_ptr(), 1, &mut count),
            NULL_ARG
        );
        assert_eq!(
            wq_queue_len_by_priority(q.0, priorities.as_mut_ptr(), null_mut(), 1, &mut count),
            NULL_ARG
        );
        assert_eq!(wq_queue_shutdown(q.0), wq_status::Ok);
        assert_eq!(
            wq_queue_add_rate_limited_with_priority(q.0, 6, 7, null_mut()),
            wq_status::Shutdown
        );
        added = true;
        assert_eq!(
            wq_queue_try_add_after_with_priority(q.0, 9, 0, 0, &mut added),
            wq_status::Shutdown
        );
        assert!(added, "nothing written");
        assert_eq!(
            wq_queue_add_after_with_priority(q.0, 9, 0, 0, &mut added),
            wq_status::Ok
        );
        assert!(!added, "refused, reported as no add");
        wq_manual_clock_free(clock);
    }
}

#[test]
fn priority_aging_is_an_option() {
    let options = wq_queue_options {
        name: null(),
        rate_limiter: null(),
        clock: null(),
        priority_aging_ns: 1_000_000,
        submissions: std::ptr::null_mut(),
    };
    let _aging = Q::new(Some(&options));
}

#[test]
fn batch_add_with_priority_is_add_with_priority_per_key() {
    let q = Q::new(None);
    let keys = [1u64, 2, 1, 3];
    let mut added = 0usize;
    let (mut key, mut priority) = (0u64, 0i32);
    // SAFETY: a live queue and valid pointers, or the NULLs under test.
    unsafe {
        assert_eq!(
            wq_queue_add_with_priority(q.0, 3, 9, null_mut()),
            wq_status::Ok
        );
        assert_eq!(
            wq_queue_add_batch_with_priority(q.0, keys.as_ptr(), keys.len(), 4, &mut added),
            wq_status::Ok
        );
        assert_eq!(added, 2, "1 and 2 are new; 3 keeps 9");
        assert_eq!(
            wq_queue_add_batch_with_priority(q.0, null(), 0, 4, null_mut()),
            wq_status::Ok
        );
        let mut order = Vec::new();
        while wq_queue_get_with_priority(q.0, WQ_NO_WAIT, &mut key, &mut priority) == wq_status::Ok
        {
            order.push((key, priority));
        }
        assert_eq!(order, [(3, 9), (1, 4), (2, 4)]);

        added = 7;
        assert_eq!(
            wq_queue_add_batch_with_priority(null_mut(), keys.as_ptr(), 1, 0, &mut added),
            NULL_ARG
        );
        assert_eq!(
            wq_queue_add_batch_with_priority(q.0, null(), 1, 0, &mut added),
            NULL_ARG
        );
        assert_eq!(added, 7, "untouched on failure");
        assert_eq!(wq_queue_shutdown(q.0), wq_status::Ok);
        assert_eq!(
            wq_queue_add_batch_with_priority(q.0, keys.as_ptr(), keys.len(), 1, &mut added),
            wq_status::Ok
        );
        assert_eq!(added, 0, "refused after shutdown");
    }
}

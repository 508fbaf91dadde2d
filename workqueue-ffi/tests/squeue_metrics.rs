//! The scheduling queue (`wq_squeue_*`) and metrics (`wq_queue_metrics`,
//! `wq_metrics_prometheus`) called from Rust as C would call them: good
//! arguments, each kind of bad one, and a pop released by close on
//! another thread. Runs under Miri too.

use std::ffi::{c_char, CStr};
use std::ptr::{null, null_mut};
use std::thread;
use std::time::Duration;
use workqueue::*;

const NULL_ARG: wq_status = wq_status::NullArgument;
const INVALID: wq_status = wq_status::InvalidArgument;
const SECOND: u64 = 1_000_000_000;

/// A scheduling queue freed at the end of the test.
struct S(*mut wq_squeue);

impl S {
    fn new(options: Option<&wq_squeue_options>) -> S {
        let mut queue = null_mut();
        let options = options.map_or(null(), |o| o as *const _);
        // SAFETY: valid options or NULL, and a valid out-pointer.
        assert_eq!(unsafe { wq_squeue_new(options, &mut queue) }, wq_status::Ok);
        S(queue)
    }

    fn pop(&self) -> Result<(u64, i32), wq_status> {
        let (mut key, mut priority) = (0, 0);
        // SAFETY: a live queue and valid out-pointers.
        match unsafe { wq_squeue_pop(self.0, WQ_NO_WAIT, &mut key, &mut priority) } {
            wq_status::Ok => Ok((key, priority)),
            status => Err(status),
        }
    }

    fn place(&self, key: u64) -> wq_place {
        let mut place = wq_place::None;
        // SAFETY: a live queue and a valid out-pointer.
        assert_eq!(
            unsafe { wq_squeue_place(self.0, key, &mut place) },
            wq_status::Ok
        );
        place
    }
}

impl Drop for S {
    fn drop(&mut self) {
        // SAFETY: made by wq_squeue_new, freed once, no other user left.
        unsafe { wq_squeue_free(self.0) }
    }
}

fn manual_clock() -> *mut wq_manual_clock {
    let mut clock = null_mut();
    // SAFETY: a valid out-pointer.
    assert_eq!(unsafe { wq_manual_clock_new(&mut clock) }, wq_status::Ok);
    clock
}

fn cstr(text: &CStr) -> *const c_char {
    text.as_ptr()
}

#[test]
fn priorities_places_backoff_and_close() {
    let clock = manual_clock();
    let options = wq_squeue_options {
        name: null(),
        clock,
        initial_backoff_ns: 0,
        max_backoff_ns: 0,
        max_unschedulable_stay_ns: 0,
        disable_pop_from_backoff: true,
    };
    let q = S::new(Some(&options));
    // SAFETY: the handles are live and the out-pointers valid.
    unsafe {
        let mut added = false;
        assert_eq!(wq_squeue_add(q.0, 1, 0, &mut added), wq_status::Ok);
        assert!(added);
        assert_eq!(wq_squeue_add(q.0, 2, 9, null_mut()), wq_status::Ok);
        assert_eq!(wq_squeue_add(q.0, 1, 0, &mut added), wq_status::Ok);
        assert!(!added);
        assert_eq!(q.pop(), Ok((2, 9)));
        assert_eq!(q.pop(), Ok((1, 0)));
        assert_eq!(q.pop(), Err(wq_status::Timeout));
        assert_eq!(q.place(2), wq_place::InFlight);

        let mut place = wq_place::None;
        assert_eq!(wq_squeue_requeue_backoff(q.0, 2, &mut place), wq_status::Ok);
        assert_eq!(place, wq_place::Backoff);
        assert_eq!(
            wq_squeue_requeue_unschedulable(q.0, 1, &mut place),
            wq_status::Ok
        );
        assert_eq!(place, wq_place::Unschedulable);
        assert_eq!(wq_manual_clock_step(clock, SECOND), wq_status::Ok);
        assert_eq!(q.place(2), wq_place::Active);
        let mut moved = 0;
        assert_eq!(
            wq_squeue_move_all(q.0, cstr(c"NodeAdd"), &mut moved),
            wq_status::Ok
        );
        assert_eq!(moved, 1);
        let mut moves = 0;
        assert_eq!(
            wq_squeue_moves_by_event(q.0, cstr(c"NodeAdd"), &mut moves),
            wq_status::Ok
        );
        assert_eq!(moves, 1);
        assert_eq!(wq_squeue_update(q.0, 1, 20, &mut place), wq_status::Ok);
        assert_eq!(place, wq_place::Active);
        let mut len = 0;
        assert_eq!(wq_squeue_active_len(q.0, &mut len), wq_status::Ok);
        assert_eq!(len, 2);
        for read in [
            wq_squeue_backoff_len,
            wq_squeue_unschedulable_len,
            wq_squeue_in_flight_len,
        ] {
            assert_eq!(read(q.0, &mut len), wq_status::Ok);
            assert_eq!(len, 0);
        }
        assert_eq!(q.pop(), Ok((1, 20)));
        let mut attempts = 0;
        assert_eq!(wq_squeue_attempts(q.0, 1, &mut attempts), wq_status::Ok);
        assert_eq!(attempts, 2);
        let mut flag = false;
        assert_eq!(wq_squeue_done(q.0, 1, &mut flag), wq_status::Ok);
        assert!(flag);
        assert_eq!(wq_squeue_delete(q.0, 2, &mut flag), wq_status::Ok);
        assert!(flag);
        assert_eq!(q.place(2), wq_place::None);

        assert_eq!(wq_squeue_add(q.0, 3, 0, null_mut()), wq_status::Ok);
        assert_eq!(wq_squeue_close(q.0), wq_status::Ok);
        assert_eq!(wq_squeue_is_closed(q.0, &mut flag), wq_status::Ok);
        assert!(flag);
        assert_eq!(q.pop(), Err(wq_status::Shutdown));
        wq_manual_clock_free(clock);
    }
}

#[test]
fn bad_arguments_change_nothing() {
    let q = S::new(None);
    let (mut key, mut priority, mut len, mut flag) = (7u64, 7i32, 7usize, false);
    let (mut place, mut attempts, mut moves) = (wq_place::Backoff, 7u32, 7u64);
    let not_utf8 = [0xffu8 as c_char, 0];
    // SAFETY: every pointer is NULL or valid; the queue is live.
    unsafe {
        assert_eq!(wq_squeue_add(q.0, 5, 1, null_mut()), wq_status::Ok);
        assert_eq!(wq_squeue_new(null(), null_mut()), NULL_ARG);
        assert_eq!(wq_squeue_add(null_mut(), 1, 0, &mut flag), NULL_ARG);
        assert_eq!(wq_squeue_update(null_mut(), 1, 0, &mut place), NULL_ARG);
        assert_eq!(wq_squeue_delete(null_mut(), 1, &mut flag), NULL_ARG);
        assert_eq!(
            wq_squeue_pop(null_mut(), 0, &mut key, &mut priority),
            NULL_ARG
        );
        assert_eq!(
            wq_squeue_pop(q.0, WQ_WAIT_FOREVER, null_mut(), &mut priority),
            NULL_ARG
        );
        assert_eq!(wq_squeue_pop(q.0, -2, &mut key, &mut priority), INVALID);
        assert_eq!(wq_squeue_done(null_mut(), 1, &mut flag), NULL_ARG);
        assert_eq!(
            wq_squeue_requeue_backoff(null_mut(), 1, &mut place),
            NULL_ARG
        );
        assert_eq!(
            wq_squeue_requeue_unschedulable(null_mut(), 1, &mut place),
            NULL_ARG
        );
        assert_eq!(
            wq_squeue_move_all(null_mut(), cstr(c"x"), &mut len),
            NULL_ARG
        );
        assert_eq!(wq_squeue_move_all(q.0, null(), &mut len), NULL_ARG);
        assert_eq!(
            wq_squeue_move_all(q.0, not_utf8.as_ptr(), &mut len),
            INVALID
        );
        assert_eq!(
            wq_squeue_moves_by_event(q.0, cstr(c"x"), null_mut()),
            NULL_ARG
        );
        assert_eq!(
            wq_squeue_moves_by_event(q.0, not_utf8.as_ptr(), &mut moves),
            INVALID
        );
        for read in [
            wq_squeue_active_len,
            wq_squeue_backoff_len,
            wq_squeue_unschedulable_len,
            wq_squeue_in_flight_len,
        ] {
            assert_eq!(read(null(), &mut len), NULL_ARG);
            assert_eq!(read(q.0, null_mut()), NULL_ARG);
        }
        assert_eq!(wq_squeue_place(null(), 1, &mut place), NULL_ARG);
        assert_eq!(wq_squeue_place(q.0, 1, null_mut()), NULL_ARG);
        assert_eq!(wq_squeue_attempts(null(), 1, &mut attempts), NULL_ARG);
        assert_eq!(wq_squeue_attempts(q.0, 1, null_mut()), NULL_ARG);
        assert_eq!(wq_squeue_close(null_mut()), NULL_ARG);
        assert_eq!(wq_squeue_is_closed(null(), &mut flag), NULL_ARG);
        assert_eq!(wq_squeue_is_closed(q.0, null_mut()), NULL_ARG);
        wq_squeue_free(null_mut());

        let mut other = null_mut();
        let options = wq_squeue_options {
            name: not_utf8.as_ptr(),
            clock: null(),
            initial_backoff_ns: 0,
            max_backoff_ns: 0,
            max_unschedulable_stay_ns: 0,
            disable_pop_from_backoff: false,
        };
        assert_eq!(wq_squeue_new(&options, &mut other), INVALID);
        let options = wq_squeue_options {
            name: null(),
            initial_backoff_ns: 11 * SECOND, // above the default maximum
            ..options
        };
        assert_eq!(wq_squeue_new(&options, &mut other), INVALID);
        assert!(other.is_null());
    }
    assert_eq!((key, priority, len, flag), (7, 7, 7, false));
    assert_eq!((place, attempts, moves), (wq_place::Backoff, 7, 7));
    assert_eq!(
        q.pop(),
        Ok((5, 1)),
        "the rejected calls left the item alone"
    );
}

#[test]
fn close_releases_a_blocked_pop_on_another_thread() {
    struct Handle(*mut wq_squeue);
    // SAFETY: the scheduling queue is documented as thread-safe.
    unsafe impl Send for Handle {}
    let q = S::new(None);
    let handle = Handle(q.0);
    let popper = thread::spawn(move || {
        let handle = handle;
        let mut key = 0;
        // SAFETY: the queue outlives this thread (joined below).
        unsafe { wq_squeue_pop(handle.0, WQ_WAIT_FOREVER, &mut key, null_mut()) }
    });
    thread::sleep(Duration::from_millis(20));
    // SAFETY: a live queue.
    assert_eq!(unsafe { wq_squeue_close(q.0) }, wq_status::Ok);
    assert_eq!(popper.join().unwrap(), wq_status::Shutdown);
}

#[test]
fn metrics_of_a_named_queue_and_the_prometheus_text() {
    let clock = manual_clock();
    let options = wq_queue_options {
        name: cstr(c"rust-abi-metrics"),
        rate_limiter: null(),
        clock,
        priority_aging_ns: 0,
        submissions: std::ptr::null_mut(),
    };
    let mut queue = null_mut();
    let mut unnamed = null_mut();
    // SAFETY: valid options and handles; every pointer is NULL or valid.
    unsafe {
        assert_eq!(wq_queue_new(&options, &mut queue), wq_status::Ok);
        assert_eq!(wq_queue_new(null(), &mut unnamed), wq_status::Ok);
        assert_eq!(wq_queue_add(queue, 1, null_mut()), wq_status::Ok);
        assert_eq!(wq_manual_clock_step(clock, 2_000_000), wq_status::Ok);
        let mut key = 0;
        assert_eq!(wq_queue_get(queue, WQ_NO_WAIT, &mut key), wq_status::Ok);

        let mut metrics = wq_metrics::default();
        assert_eq!(wq_queue_metrics(queue, &mut metrics), wq_status::Ok);
        assert_eq!((metrics.depth, metrics.adds), (0, 1));
        assert_eq!(metrics.queue_duration.count, 1);
        assert_eq!(metrics.queue_duration.buckets[6], 1); // (1 ms, 10 ms]
        assert!((metrics.queue_duration.sum_seconds - 0.002).abs() < 1e-12);
        let untouched = metrics;
        assert_eq!(
            wq_queue_metrics(unnamed, &mut metrics),
            wq_status::NoMetrics
        );
        assert_eq!(wq_queue_metrics(null(), &mut metrics), NULL_ARG);
        assert_eq!(wq_queue_metrics(queue, null_mut()), NULL_ARG);
        assert_eq!(metrics, untouched);

        let mut len = 0;
        assert_eq!(wq_metrics_prometheus(null_mut(), 1, &mut len), NULL_ARG);
        assert_eq!(wq_metrics_prometheus(null_mut(), 0, null_mut()), NULL_ARG);
        assert_eq!(
            wq_metrics_prometheus(null_mut(), 0, &mut len),
            wq_status::BufferTooSmall
        );
        let mut buffer = vec![b'x' as c_char; len + 64];
        let mut small = len;
        assert_eq!(
            wq_metrics_prometheus(buffer.as_mut_ptr(), len, &mut small),
            wq_status::BufferTooSmall
        );
        assert!(small >= len);
        assert!(buffer.iter().all(|&c| c == b'x' as c_char));
        let mut written = 0;
        assert_eq!(
            wq_metrics_prometheus(buffer.as_mut_ptr(), buffer.len(), &mut written),
            wq_status::Ok
        );
        let text = CStr::from_ptr(buffer.as_ptr()).to_str().unwrap();
        assert_eq!(text.len(), written);
        assert!(text.contains("workqueue_adds_total{name=\"rust-abi-metrics\"} 1\n"));
        assert!(text.contains(
            "workqueue_queue_duration_seconds_bucket{name=\"rust-abi-metrics\",le=\"1e-08\"} 0\n"
        ));

        wq_queue_free(queue);
        wq_queue_free(unnamed);
        wq_manual_clock_free(clock);
    }
}

//! The scheduling queue's readiness reports (what the C fd, Python's
//! `apop` and Go's `PopWithContext` wait on): "would a pop return at once?"
//! and, on the real clock, when the next timed move is due.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use workqueue_core::scheduling::Place;
use workqueue_core::{ManualClock, SchedulingQueue};

mod common;
use common::{Recorder, NOT_READY, READY};

const SECOND: Duration = Duration::from_secs(1);
/// How long a test waits for something that must happen.
const PATIENCE: Duration = Duration::from_secs(10);

fn observed_manual_queue(
    pop_from_backoff: bool,
) -> (ManualClock, SchedulingQueue<u64>, Arc<Recorder>) {
    let clock = ManualClock::new();
    let queue = SchedulingQueue::builder()
        .clock(&clock)
        .pop_from_backoff(pop_from_backoff)
        .build()
        .expect("valid settings");
    let recorder = Arc::new(Recorder::default());
    queue.observe_readiness(recorder.clone());
    (clock, queue, recorder)
}

/// Ready/not-ready transitions are reported once each, as they happen,
/// including a manual clock step that ends a backoff, and a close.
#[test]
fn transitions_are_reported_once_each() {
    let (clock, queue, recorder) = observed_manual_queue(false);
    assert_eq!(recorder.take(), vec![NOT_READY], "reported at once");

    queue.add(1, 0);
    queue.add(2, 0);
    assert_eq!(recorder.take(), vec![READY], "one report for two adds");
    assert_eq!(queue.try_pop(), Ok((1, 0)));
    assert_eq!(recorder.take(), vec![], "still ready: 2 is active");
    assert_eq!(queue.try_pop(), Ok((2, 0)));
    assert_eq!(recorder.take(), vec![NOT_READY]);

    // A manual clock reports no timer: the step itself is reported.
    assert_eq!(queue.requeue_backoff(&1), Some(Place::Backoff));
    assert!(queue.done(&2));
    assert_eq!(recorder.take(), vec![]);
    clock.step(SECOND);
    assert_eq!(recorder.take(), vec![READY], "the step ended 1's backoff");
    assert_eq!(queue.try_pop(), Ok((1, 0)));
    assert_eq!(recorder.take(), vec![NOT_READY]);

    queue.close();
    assert_eq!(recorder.take(), vec![READY], "a closed queue pops at once");
}

/// With pop-from-backoff, a rejected item in backoff can be popped at
/// once: ready as soon as it gets there.
#[test]
fn a_rejected_item_in_backoff_is_ready_with_pop_from_backoff() {
    let (_, queue, recorder) = observed_manual_queue(true);
    queue.add(1, 0);
    assert_eq!(queue.try_pop(), Ok((1, 0)));
    queue.move_all_to_active_or_backoff("NodeAdd"); // missed by 1, in flight
    assert_eq!(
        recorder.take(),
        vec![NOT_READY, READY, NOT_READY],
        "at once, at the add, at the pop"
    );
    assert_eq!(queue.requeue_unschedulable(&1), Some(Place::Backoff));
    assert_eq!(recorder.take(), vec![READY]);
    assert_eq!(queue.try_pop(), Ok((1, 0)));
    assert_eq!(recorder.take(), vec![NOT_READY]);

    // Parked: nothing to pop until a move event.
    assert_eq!(queue.requeue_unschedulable(&1), Some(Place::Unschedulable));
    assert_eq!(recorder.take(), vec![]);
    assert_eq!(queue.move_all_to_active_or_backoff("NodeAdd"), 1);
    assert_eq!(recorder.take(), vec![READY]);
}

/// After `stop_observing_readiness` nothing is reported.
#[test]
fn stopping_ends_the_reports() {
    let (_, queue, recorder) = observed_manual_queue(false);
    queue.stop_observing_readiness();
    queue.add(1, 0);
    queue.close();
    assert_eq!(recorder.take(), vec![NOT_READY]);
}

/// On the real clock the observer is told how long until the next backoff
/// ends (or parked item overstays), again when that time comes earlier,
/// and a look after it ended reports the item ready.
#[test]
fn on_the_real_clock_the_next_timed_move_is_reported() {
    let queue: SchedulingQueue<u64> = SchedulingQueue::builder()
        .initial_backoff(Duration::from_millis(20))
        .max_unschedulable_stay(Duration::from_secs(3600))
        .pop_from_backoff(false)
        .build()
        .expect("valid settings");
    let recorder = Arc::new(Recorder::default());
    queue.observe_readiness(recorder.clone());
    assert_eq!(recorder.take(), vec![NOT_READY]);

    queue.add(1, 0);
    queue.add(2, 0);
    assert_eq!(queue.try_pop(), Ok((1, 0)));
    assert_eq!(queue.try_pop(), Ok((2, 0)));
    recorder.take();

    // Parked for at most an hour: the flush is the next timed move.
    assert_eq!(queue.requeue_unschedulable(&2), Some(Place::Unschedulable));
    let reports = recorder.take();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(!reports[0].ready);
    let flush = reports[0].next_delayed_in.expect("a timer for the flush");
    assert!(flush > Duration::from_secs(3500), "{flush:?}");

    // A 20 ms backoff ends first: the timer is re-armed for it.
    assert_eq!(queue.requeue_backoff(&1), Some(Place::Backoff));
    let reports = recorder.take();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(!reports[0].ready);
    let next = reports[0].next_delayed_in.expect("a timer for the backoff");
    assert!(next <= Duration::from_millis(20), "{next:?}");

    // Once it ended, the next call that looks moves 1 in and reports.
    let start = Instant::now();
    while queue.active_len() == 0 {
        assert!(start.elapsed() < PATIENCE, "1's backoff never ended");
        thread::sleep(Duration::from_millis(1));
    }
    let reports = recorder.take();
    let last = reports.last().expect("a report when 1 became active");
    assert!(last.ready);
    let next = last.next_delayed_in.expect("2 still waits for its flush");
    assert!(next > Duration::from_secs(3500), "{next:?}");
}

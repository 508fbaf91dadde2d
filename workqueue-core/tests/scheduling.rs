//! The scheduling queue (CONFORMANCE.md, "Scheduling queue"): priority
//! order, blocking pop and close, backoff, the unschedulable pool, move
//! events, updates, the maximum stay, pop-from-backoff, delete, in-flight
//! accounting. Every timing rule runs on the manual clock; the few
//! real-clock tests have generous bounds.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};
use workqueue_core::scheduling::{Place, PopError, SchedulingQueueBuilder};
use workqueue_core::{ManualClock, SchedulingQueue};

const SECOND: Duration = Duration::from_secs(1);
const NANO: Duration = Duration::from_nanos(1);
/// Long enough for a spawned thread to reach its blocking call.
const SETTLE: Duration = Duration::from_millis(50);
/// How long a test waits for something that must happen.
const PATIENCE: Duration = Duration::from_secs(10);

fn manual_queue(pop_from_backoff: bool) -> (ManualClock, SchedulingQueue<u64>) {
    let clock = ManualClock::new();
    let queue = SchedulingQueue::builder()
        .clock(&clock)
        .pop_from_backoff(pop_from_backoff)
        .build()
        .expect("valid settings");
    (clock, queue)
}

/// Pops `key`, which must be the head.
fn pop_expect(queue: &SchedulingQueue<u64>, key: u64) {
    assert_eq!(queue.try_pop().map(|(k, _)| k), Ok(key));
}

fn lens(queue: &SchedulingQueue<u64>) -> [usize; 4] {
    [
        queue.active_len(),
        queue.backoff_len(),
        queue.unschedulable_len(),
        queue.in_flight_len(),
    ]
}

// ---------------------------------------------------------------------------
// Priority order, blocking pop, close
// ---------------------------------------------------------------------------

#[test]
fn pop_returns_the_highest_priority_first_and_fifo_among_equals() {
    let (_, queue) = manual_queue(true);
    for (key, priority) in [(1, 0), (2, 10), (3, 0), (4, -5), (5, 10), (6, i32::MAX)] {
        assert!(queue.add(key, priority));
    }
    let order: Vec<(u64, i32)> = std::iter::from_fn(|| queue.try_pop().ok()).collect();
    assert_eq!(
        order,
        vec![(6, i32::MAX), (2, 10), (5, 10), (1, 0), (3, 0), (4, -5)]
    );
    assert_eq!(queue.try_pop(), Err(PopError::Empty));
    assert_eq!(queue.in_flight_len(), 6);
}

#[test]
fn a_priority_update_keeps_the_arrival_among_equals() {
    let (_, queue) = manual_queue(true);
    queue.add(1, 5);
    queue.add(2, 0);
    queue.add(3, 5);
    assert!(!queue.add(2, 5), "a known key is updated, not added");
    assert_eq!(queue.active_len(), 3);
    assert_eq!(queue.update(&3, 5), Some(Place::Active));
    let order: Vec<u64> = std::iter::from_fn(|| queue.try_pop().ok().map(|(k, _)| k)).collect();
    assert_eq!(order, vec![1, 2, 3], "2 arrived before 3");
    queue.add(7, 1);
    queue.add(8, 1);
    assert_eq!(queue.update(&8, 2), Some(Place::Active));
    assert_eq!(queue.try_pop(), Ok((8, 2)));
}

#[test]
fn random_adds_updates_deletes_and_pops_match_a_simple_model() {
    // The model: a list of (key, priority, arrival); a pop takes the
    // highest priority, then the earliest arrival; an update keeps the
    // arrival. Few keys and few levels, so priorities go back and forth
    // and stale entries pile up and are dropped.
    let (_, queue) = manual_queue(true);
    let mut model: Vec<(u64, i32, u64)> = Vec::new();
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut arrivals = 0;
    for _ in 0..20_000 {
        let key = next() % 200;
        let priority = (next() % 5) as i32 - 2;
        let known = model.iter().position(|(k, _, _)| *k == key);
        match (next() % 4, known) {
            (0, None) => {
                assert!(queue.add(key, priority));
                arrivals += 1;
                model.push((key, priority, arrivals));
            }
            (0 | 1, Some(at)) => {
                assert_eq!(queue.update(&key, priority), Some(Place::Active));
                model[at].1 = priority;
            }
            (2, known) => {
                assert_eq!(queue.delete(&key), known.is_some());
                model.retain(|(k, _, _)| *k != key);
            }
            _ => {
                let head = model
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, (_, p, a))| (*p, std::cmp::Reverse(*a)))
                    .map(|(at, _)| at);
                let expected = head.map(|at| model.remove(at));
                let popped = queue.try_pop().ok();
                assert_eq!(popped, expected.map(|(k, p, _)| (k, p)));
                if let Some((key, _)) = popped {
                    assert!(queue.done(&key));
                }
            }
        }
        assert_eq!(queue.active_len(), model.len());
    }
}

#[test]
fn pop_blocks_while_the_active_queue_is_empty_until_an_add() {
    let (_, queue) = manual_queue(true);
    let (sender, popped) = mpsc::channel();
    let popper = {
        let queue = queue.clone();
        thread::spawn(move || sender.send(queue.pop()).expect("receiver alive"))
    };
    thread::sleep(SETTLE);
    assert!(popped.try_recv().is_err(), "pop must block while empty");
    queue.add(42, 3);
    assert_eq!(popped.recv_timeout(PATIENCE), Ok(Some((42, 3))));
    popper.join().expect("popper");
    assert_eq!(queue.in_flight_len(), 1);
}

#[test]
fn close_releases_every_blocked_pop_and_later_pops() {
    let (_, queue) = manual_queue(true);
    let (sender, popped) = mpsc::channel();
    let poppers: Vec<_> = (0..4)
        .map(|_| {
            let queue = queue.clone();
            let sender = sender.clone();
            thread::spawn(move || sender.send(queue.pop()).expect("receiver alive"))
        })
        .collect();
    thread::sleep(SETTLE);
    assert!(popped.try_recv().is_err(), "every pop blocks");
    assert!(!queue.is_closed());
    queue.close();
    for _ in 0..4 {
        assert_eq!(popped.recv_timeout(PATIENCE), Ok(None));
    }
    for popper in poppers {
        popper.join().expect("popper");
    }
    assert!(queue.is_closed());
    // Items left or added later are never popped again.
    queue.add(1, 0);
    assert_eq!(queue.active_len(), 1);
    assert_eq!(queue.try_pop(), Err(PopError::Closed));
    assert_eq!(queue.pop_timeout(PATIENCE), Err(PopError::Closed));
    assert_eq!(queue.pop(), None);
    queue.close();
    assert!(queue.is_closed());
}

#[test]
fn close_releases_a_pop_waiting_with_a_timeout() {
    let (_, queue) = manual_queue(true);
    let popper = {
        let queue = queue.clone();
        thread::spawn(move || {
            let started = Instant::now();
            (
                queue.pop_timeout(Duration::from_secs(60)),
                started.elapsed(),
            )
        })
    };
    thread::sleep(SETTLE);
    queue.close();
    let (result, waited) = popper.join().expect("popper");
    assert_eq!(result, Err(PopError::Closed));
    assert!(
        waited < Duration::from_secs(30),
        "released by close: {waited:?}"
    );
}

#[test]
fn pop_timeout_gives_up_after_its_timeout() {
    let (_, queue) = manual_queue(true);
    let started = Instant::now();
    assert_eq!(
        queue.pop_timeout(Duration::from_millis(30)),
        Err(PopError::Empty)
    );
    assert!(started.elapsed() >= Duration::from_millis(30));
    assert_eq!(queue.pop_timeout(Duration::ZERO), Err(PopError::Empty));
    queue.add(1, 0);
    assert_eq!(queue.pop_timeout(Duration::from_secs(60)), Ok((1, 0)));
}

// ---------------------------------------------------------------------------
// Backoff
// ---------------------------------------------------------------------------

/// The backoff of `key` ends exactly `expected` after its requeue.
fn assert_backoff_of(
    clock: &ManualClock,
    queue: &SchedulingQueue<u64>,
    key: u64,
    expected: Duration,
) {
    assert_eq!(queue.place(&key), Some(Place::Backoff));
    clock.step(expected - NANO);
    assert_eq!(
        queue.place(&key),
        Some(Place::Backoff),
        "{expected:?}: early"
    );
    assert_eq!(queue.try_pop(), Err(PopError::Empty));
    clock.step(NANO);
    assert_eq!(queue.place(&key), Some(Place::Active), "{expected:?}: late");
}

#[test]
fn a_failed_item_backs_off_1s_doubling_to_10s() {
    let (clock, queue) = manual_queue(true);
    queue.add(7, 0);
    for (attempt, seconds) in [1, 2, 4, 8, 10, 10, 10].into_iter().enumerate() {
        assert_eq!(queue.try_pop(), Ok((7, 0)));
        assert_eq!(queue.attempts(&7), attempt as u32 + 1);
        assert_eq!(queue.requeue_backoff(&7), Some(Place::Backoff));
        assert_eq!(lens(&queue), [0, 1, 0, 0]);
        assert_backoff_of(&clock, &queue, 7, seconds * SECOND);
    }
}

#[test]
fn the_backoff_is_configurable_and_never_overflows() {
    let clock = ManualClock::new();
    let queue: SchedulingQueue<u64> = SchedulingQueue::builder()
        .clock(&clock)
        .initial_backoff(Duration::from_millis(3))
        .max_backoff(Duration::from_millis(20))
        .build()
        .expect("valid settings");
    queue.add(1, 0);
    for _ in 0..1000 {
        pop_expect(&queue, 1);
        queue.requeue_backoff(&1);
        clock.step(Duration::from_millis(20));
    }
    assert_eq!(queue.attempts(&1), 1000);
    pop_expect(&queue, 1);
    queue.requeue_backoff(&1);
    assert_backoff_of(&clock, &queue, 1, Duration::from_millis(20));
    pop_expect(&queue, 1);
    assert!(queue.done(&1));
    // A fresh key starts again at the initial backoff.
    queue.add(2, 0);
    for millis in [3, 6, 12, 20, 20] {
        pop_expect(&queue, 2);
        queue.requeue_backoff(&2);
        assert_backoff_of(&clock, &queue, 2, Duration::from_millis(millis));
    }
}

#[test]
fn items_whose_backoffs_end_together_return_by_time_then_priority() {
    let (clock, queue) = manual_queue(false);
    for (key, priority) in [(1, 0), (2, 0), (3, 9)] {
        queue.add(key, priority);
        pop_expect(&queue, key);
    }
    // 1 fails first; 2 and 3 fail together, 3 with the higher priority.
    queue.requeue_backoff(&1);
    clock.step(Duration::from_millis(10));
    queue.requeue_backoff(&2);
    queue.requeue_backoff(&3);
    queue.add(4, 0); // arrives before the backoffs end
    clock.step(SECOND);
    queue.add(5, 0); // arrives after
    let order: Vec<u64> = std::iter::from_fn(|| queue.try_pop().ok().map(|(k, _)| k)).collect();
    assert_eq!(order, vec![3, 4, 1, 2, 5]);
}

// ---------------------------------------------------------------------------
// Unschedulable pool, move events, updates, maximum stay
// ---------------------------------------------------------------------------

#[test]
fn an_unschedulable_item_waits_for_a_move_event() {
    let (clock, queue) = manual_queue(true);
    queue.add(1, 0);
    queue.add(2, 0);
    pop_expect(&queue, 1);
    pop_expect(&queue, 2);
    assert_eq!(queue.requeue_unschedulable(&1), Some(Place::Unschedulable));
    clock.step(2 * SECOND); // 1's backoff (1 s) has ended
    assert_eq!(queue.requeue_unschedulable(&2), Some(Place::Unschedulable));
    clock.step(Duration::from_secs(100));
    assert_eq!(lens(&queue), [0, 0, 2, 0]);
    assert_eq!(
        queue.try_pop(),
        Err(PopError::Empty),
        "parked items are not popped"
    );

    assert_eq!(queue.move_all_to_active_or_backoff("NodeAdd"), 2);
    // Both backoffs have ended long ago: both go straight to active.
    assert_eq!(lens(&queue), [2, 0, 0, 0]);
    pop_expect(&queue, 1);
    pop_expect(&queue, 2);
    assert_eq!(queue.move_all_to_active_or_backoff("NodeAdd"), 0);
    assert_eq!(queue.moves_by_event("NodeAdd"), 2);
    assert_eq!(queue.moves_by_event("PvAdd"), 0);
}

#[test]
fn a_move_event_before_the_backoff_ends_sends_the_item_to_backoff() {
    let (clock, queue) = manual_queue(false);
    queue.add(1, 0);
    pop_expect(&queue, 1);
    queue.requeue_unschedulable(&1);
    clock.step(Duration::from_millis(400));
    assert_eq!(queue.move_all_to_active_or_backoff("NodeUpdate"), 1);
    assert_eq!(queue.place(&1), Some(Place::Backoff));
    // The backoff counts from the failure, not from the move.
    clock.step(Duration::from_millis(600) - NANO);
    assert_eq!(queue.try_pop(), Err(PopError::Empty));
    clock.step(NANO);
    pop_expect(&queue, 1);
}

#[test]
fn an_update_brings_one_parked_item_back() {
    let (clock, queue) = manual_queue(true);
    for key in [1, 2, 3] {
        queue.add(key, 0);
        pop_expect(&queue, key);
        queue.requeue_unschedulable(&key);
    }
    assert_eq!(
        queue.update(&1, 0),
        Some(Place::Backoff),
        "backoff not over"
    );
    clock.step(SECOND);
    assert_eq!(queue.place(&1), Some(Place::Active));
    assert_eq!(queue.update(&2, 7), Some(Place::Active), "backoff over");
    assert_eq!(queue.update(&99, 7), None, "update never adds");
    assert_eq!(queue.place(&99), None);
    assert_eq!(lens(&queue), [2, 0, 1, 0]);
    // add of a parked key is an update too.
    assert!(!queue.add(3, 1));
    assert_eq!(queue.place(&3), Some(Place::Active));
    let order: Vec<(u64, i32)> = std::iter::from_fn(|| queue.try_pop().ok()).collect();
    assert_eq!(order, vec![(2, 7), (3, 1), (1, 0)]);
}

#[test]
fn an_update_in_backoff_changes_the_priority_and_keeps_the_backoff() {
    let (clock, queue) = manual_queue(false);
    queue.add(1, 0);
    queue.add(2, 0);
    pop_expect(&queue, 1);
    pop_expect(&queue, 2);
    queue.requeue_backoff(&1);
    queue.requeue_backoff(&2);
    assert_eq!(queue.update(&2, 4), Some(Place::Backoff));
    clock.step(SECOND - NANO);
    assert_eq!(queue.backoff_len(), 2);
    clock.step(NANO);
    assert_eq!(queue.try_pop(), Ok((2, 4)));
    assert_eq!(queue.try_pop(), Ok((1, 0)));
}

#[test]
fn an_item_parked_longer_than_the_maximum_stay_is_flushed_back() {
    let (clock, queue) = manual_queue(true);
    queue.add(1, 0);
    pop_expect(&queue, 1);
    queue.requeue_unschedulable(&1);
    clock.step(Duration::from_secs(5 * 60));
    assert_eq!(
        queue.place(&1),
        Some(Place::Unschedulable),
        "exactly 5 min stays"
    );
    clock.step(NANO);
    assert_eq!(
        queue.place(&1),
        Some(Place::Active),
        "longer than 5 min leaves"
    );
    assert_eq!(queue.try_pop(), Ok((1, 0)));
}

#[test]
fn a_flush_before_the_backoff_ends_goes_to_backoff() {
    let clock = ManualClock::new();
    let queue: SchedulingQueue<u64> = SchedulingQueue::builder()
        .clock(&clock)
        .initial_backoff(10 * SECOND)
        .max_backoff(10 * SECOND)
        .max_unschedulable_stay(3 * SECOND)
        .pop_from_backoff(false)
        .build()
        .expect("valid settings");
    assert_eq!(queue.max_unschedulable_stay(), 3 * SECOND);
    queue.add(1, 0);
    pop_expect(&queue, 1);
    queue.requeue_unschedulable(&1);
    clock.step(3 * SECOND + NANO);
    assert_eq!(lens(&queue), [0, 1, 0, 0]);
    clock.step(7 * SECOND - 2 * NANO);
    assert_eq!(queue.place(&1), Some(Place::Backoff));
    clock.step(NANO);
    assert_eq!(queue.place(&1), Some(Place::Active));
}

#[test]
fn one_clock_step_moves_items_in_the_order_their_times_came() {
    let clock = ManualClock::new();
    let queue: SchedulingQueue<u64> = SchedulingQueue::builder()
        .clock(&clock)
        .max_unschedulable_stay(2 * SECOND)
        .build()
        .expect("valid settings");
    for key in [1, 2, 3] {
        queue.add(key, 0);
        pop_expect(&queue, key);
    }
    queue.requeue_unschedulable(&1); // flushed at 2 s + 1 ns
    clock.step(Duration::from_millis(1500));
    queue.requeue_backoff(&2); // ready at 2.5 s
    clock.step(Duration::from_millis(300));
    queue.requeue_backoff(&3); // ready at 2.8 s
    clock.step(10 * SECOND);
    let order: Vec<u64> = std::iter::from_fn(|| queue.try_pop().ok().map(|(k, _)| k)).collect();
    assert_eq!(order, vec![1, 2, 3]);
}

#[test]
fn a_move_event_or_update_during_flight_sends_a_rejected_item_to_backoff() {
    let (clock, queue) = manual_queue(true);
    queue.move_all_to_active_or_backoff("before any pop");
    for key in [1, 2, 3] {
        queue.add(key, 0);
    }
    pop_expect(&queue, 1);
    pop_expect(&queue, 2);
    // The event before the pops does not count.
    assert_eq!(queue.requeue_unschedulable(&1), Some(Place::Unschedulable));
    assert_eq!(queue.move_all_to_active_or_backoff("PodDelete"), 1);
    assert_eq!(queue.place(&1), Some(Place::Backoff));
    // 2 was in flight during the event: it may be schedulable now.
    assert_eq!(queue.requeue_unschedulable(&2), Some(Place::Backoff));
    pop_expect(&queue, 3);
    assert_eq!(queue.update(&3, 2), Some(Place::InFlight));
    assert_eq!(queue.requeue_unschedulable(&3), Some(Place::Backoff));
    clock.step(SECOND);
    let order: Vec<(u64, i32)> = std::iter::from_fn(|| queue.try_pop().ok()).collect();
    assert_eq!(order, vec![(3, 2), (1, 0), (2, 0)]);
    // Their next failure, with no event, parks them again.
    for key in [1, 2, 3] {
        assert_eq!(
            queue.requeue_unschedulable(&key),
            Some(Place::Unschedulable)
        );
    }
}

// ---------------------------------------------------------------------------
// Pop from backoff (KEP-5142)
// ---------------------------------------------------------------------------

/// Three rejected items in backoff ending at 1 s, 1 s and 2 s after 0;
/// item 9 in error backoff ending first.
fn rejected_in_backoff(pop_from_backoff: bool) -> (ManualClock, SchedulingQueue<u64>) {
    let (clock, queue) = manual_queue(pop_from_backoff);
    for key in [9, 1, 2, 3] {
        queue.add(key, 0);
        pop_expect(&queue, key);
    }
    // Item 3: a second attempt, so a 2 s backoff.
    queue.requeue_unschedulable(&3);
    queue.update(&3, 0);
    clock.step(SECOND);
    pop_expect(&queue, 3);
    clock.set(workqueue_core::Timestamp::ZERO);
    queue.requeue_backoff(&9);
    queue.requeue_unschedulable(&3);
    queue.requeue_unschedulable(&2);
    queue.update(&2, 5);
    queue.requeue_unschedulable(&1);
    // 2 left the pool by its update; 3 and 1 leave by the event.
    assert_eq!(queue.move_all_to_active_or_backoff("ClusterEvent"), 2);
    assert_eq!(lens(&queue), [0, 4, 0, 0]);
    (clock, queue)
}

#[test]
fn with_pop_from_backoff_an_idle_pop_takes_the_earliest_rejected_item() {
    let (clock, queue) = rejected_in_backoff(true);
    assert!(queue.pops_from_backoff());
    queue.add(4, -1);
    assert_eq!(queue.try_pop(), Ok((4, -1)), "active items first");
    // Both end at 1 s: the higher priority first, then 3 (ends at 2 s).
    assert_eq!(queue.try_pop(), Ok((2, 5)));
    assert_eq!(queue.try_pop(), Ok((1, 0)));
    assert_eq!(queue.try_pop(), Ok((3, 0)));
    assert_eq!(queue.attempts(&3), 3);
    // Error backoff is never taken early.
    assert_eq!(queue.try_pop(), Err(PopError::Empty));
    assert_eq!(queue.place(&9), Some(Place::Backoff));
    clock.step(SECOND);
    assert_eq!(queue.try_pop(), Ok((9, 0)));
}

#[test]
fn without_pop_from_backoff_a_pop_waits_for_the_backoff() {
    let (clock, queue) = rejected_in_backoff(false);
    assert!(!queue.pops_from_backoff());
    assert_eq!(queue.try_pop(), Err(PopError::Empty));
    clock.step(SECOND - NANO);
    assert_eq!(queue.try_pop(), Err(PopError::Empty));
    clock.step(NANO);
    let order: Vec<(u64, i32)> = std::iter::from_fn(|| queue.try_pop().ok()).collect();
    assert_eq!(order, vec![(2, 5), (9, 0), (1, 0)]);
    clock.step(SECOND);
    assert_eq!(queue.try_pop(), Ok((3, 0)));
}

#[test]
fn a_blocked_pop_takes_an_item_that_enters_backoff() {
    let (_, queue) = manual_queue(true);
    queue.add(1, 0);
    pop_expect(&queue, 1);
    queue.move_all_to_active_or_backoff("while in flight");
    let popper = {
        let queue = queue.clone();
        thread::spawn(move || queue.pop_timeout(PATIENCE))
    };
    thread::sleep(SETTLE);
    assert_eq!(queue.requeue_unschedulable(&1), Some(Place::Backoff));
    assert_eq!(popper.join().expect("popper"), Ok((1, 0)));
}

// ---------------------------------------------------------------------------
// Delete, done, in-flight accounting
// ---------------------------------------------------------------------------

#[test]
fn delete_removes_an_item_from_every_place() {
    let (_, queue) = manual_queue(false);
    for key in 1..=5 {
        queue.add(key, 0);
    }
    for key in [1, 2, 3, 4] {
        pop_expect(&queue, key);
    }
    queue.requeue_backoff(&1);
    queue.requeue_unschedulable(&2);
    // 3 and 4 in flight, 5 active.
    assert_eq!(lens(&queue), [1, 1, 1, 2]);
    for key in [1, 2, 5] {
        assert!(queue.delete(&key));
        assert_eq!(queue.place(&key), None);
        assert!(!queue.delete(&key), "a second delete finds nothing");
    }
    assert_eq!(lens(&queue), [0, 0, 0, 2]);
    // In flight: it stays in flight until done or requeued, then is dropped.
    assert!(queue.delete(&3));
    assert!(queue.delete(&4));
    assert!(!queue.delete(&4));
    assert_eq!(queue.in_flight_len(), 2);
    assert_eq!(queue.update(&3, 1), None);
    assert_eq!(queue.requeue_unschedulable(&3), None);
    assert!(queue.done(&4));
    assert_eq!(lens(&queue), [0, 0, 0, 0]);
    assert_eq!(queue.move_all_to_active_or_backoff("any"), 0);
    assert_eq!(queue.try_pop(), Err(PopError::Empty));
    assert!(!queue.delete(&99));
}

#[test]
fn an_add_after_an_in_flight_delete_keeps_the_item() {
    let (clock, queue) = manual_queue(false);
    queue.add(1, 0);
    pop_expect(&queue, 1);
    assert!(queue.delete(&1));
    assert!(queue.add(1, 3), "deleted: known again");
    assert_eq!(queue.place(&1), Some(Place::InFlight));
    assert_eq!(queue.in_flight_len(), 1);
    // Added again while in flight: a rejection goes to backoff.
    assert_eq!(queue.requeue_unschedulable(&1), Some(Place::Backoff));
    clock.step(SECOND);
    assert_eq!(queue.try_pop(), Ok((1, 3)));
}

#[test]
fn done_ends_the_flight_and_forgets_the_item() {
    let (_, queue) = manual_queue(true);
    queue.add(1, 0);
    queue.add(2, 0);
    assert!(!queue.done(&1), "not in flight yet");
    pop_expect(&queue, 1);
    pop_expect(&queue, 2);
    assert_eq!(queue.in_flight_len(), 2);
    assert_eq!(queue.place(&1), Some(Place::InFlight));
    assert!(!queue.add(1, 4), "known: updated in flight");
    assert_eq!(queue.in_flight_len(), 2);
    assert!(queue.done(&1));
    assert!(!queue.done(&1), "done twice");
    assert_eq!(queue.place(&1), None);
    assert_eq!(queue.attempts(&1), 0);
    assert_eq!(queue.in_flight_len(), 1);
    assert_eq!(
        queue.try_pop(),
        Err(PopError::Empty),
        "done does not requeue"
    );
    // A requeue ends the flight too; done then finds nothing.
    assert_eq!(queue.requeue_backoff(&2), Some(Place::Backoff));
    assert!(!queue.done(&2));
    assert_eq!(queue.requeue_backoff(&2), None, "not in flight");
    assert_eq!(queue.requeue_unschedulable(&2), None);
    assert_eq!(queue.requeue_backoff(&99), None);
    assert_eq!(lens(&queue), [0, 1, 0, 0]);
    // Added again after done: a new item with no attempts.
    assert!(queue.add(1, 0));
    assert_eq!(queue.attempts(&1), 0);
    assert_eq!(queue.attempts(&2), 1);
}

// ---------------------------------------------------------------------------
// Blocked pops and the clock
// ---------------------------------------------------------------------------

#[test]
fn a_blocked_pop_is_woken_by_a_manual_clock_step() {
    let (clock, queue) = manual_queue(false);
    queue.add(1, 0);
    pop_expect(&queue, 1);
    queue.requeue_backoff(&1);
    let (sender, popped) = mpsc::channel();
    let popper = {
        let queue = queue.clone();
        thread::spawn(move || sender.send(queue.pop()).expect("receiver alive"))
    };
    thread::sleep(SETTLE);
    clock.step(SECOND - NANO);
    thread::sleep(SETTLE);
    assert!(popped.try_recv().is_err(), "the backoff has not ended");
    clock.step(NANO);
    assert_eq!(popped.recv_timeout(PATIENCE), Ok(Some((1, 0))));
    popper.join().expect("popper");
}

#[test]
fn a_blocked_pop_is_woken_by_a_flush_on_the_manual_clock() {
    let (clock, queue) = manual_queue(false);
    queue.add(1, 0);
    pop_expect(&queue, 1);
    queue.requeue_unschedulable(&1);
    let popper = {
        let queue = queue.clone();
        thread::spawn(move || queue.pop_timeout(PATIENCE))
    };
    thread::sleep(SETTLE);
    clock.step(Duration::from_secs(301));
    assert_eq!(popper.join().expect("popper"), Ok((1, 0)));
}

#[test]
fn on_the_real_clock_a_blocked_pop_sleeps_until_the_backoff_ends() {
    let queue: SchedulingQueue<u64> = SchedulingQueue::builder()
        .initial_backoff(Duration::from_millis(100))
        .build()
        .expect("valid settings");
    queue.add(1, 0);
    pop_expect(&queue, 1);
    let requeued = Instant::now();
    queue.requeue_backoff(&1);
    assert_eq!(queue.pop_timeout(PATIENCE), Ok((1, 0)));
    let waited = requeued.elapsed();
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert!(waited < PATIENCE, "{waited:?}");
}

#[test]
fn on_the_real_clock_an_earlier_backoff_retimes_a_sleeping_pop() {
    let queue: SchedulingQueue<u64> = SchedulingQueue::builder()
        .initial_backoff(Duration::from_millis(50))
        .max_backoff(Duration::from_millis(50))
        .max_unschedulable_stay(Duration::from_secs(30))
        .pop_from_backoff(false)
        .build()
        .expect("valid settings");
    queue.add(1, 0);
    queue.add(2, 0);
    pop_expect(&queue, 1);
    pop_expect(&queue, 2);
    queue.requeue_unschedulable(&1); // flushed in 30 s
    let popper = {
        let queue = queue.clone();
        thread::spawn(move || {
            let started = Instant::now();
            (
                queue.pop_timeout(Duration::from_secs(60)),
                started.elapsed(),
            )
        })
    };
    thread::sleep(SETTLE); // the pop sleeps, timed for the flush
    queue.requeue_backoff(&2); // ready in 50 ms
    let (popped, waited) = popper.join().expect("popper");
    assert_eq!(popped, Ok((2, 0)));
    assert!(waited < Duration::from_secs(20), "{waited:?}");
}

#[test]
fn many_poppers_take_every_item_exactly_once() {
    const ITEMS: u64 = 20_000;
    let queue: SchedulingQueue<u64> = SchedulingQueue::new();
    let poppers: Vec<_> = (0..4)
        .map(|_| {
            let queue = queue.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                while let Some((key, priority)) = queue.pop() {
                    assert_eq!(priority, (key % 16) as i32);
                    assert!(queue.done(&key));
                    got.push(key);
                }
                got
            })
        })
        .collect();
    let producers: Vec<_> = (0..2)
        .map(|producer| {
            let queue = queue.clone();
            thread::spawn(move || {
                for key in (producer..ITEMS).step_by(2) {
                    assert!(queue.add(key, (key % 16) as i32));
                }
            })
        })
        .collect();
    for producer in producers {
        producer.join().expect("producer");
    }
    let deadline = Instant::now() + PATIENCE;
    while queue.active_len() + queue.in_flight_len() > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    queue.close();
    let mut all: Vec<u64> = poppers
        .into_iter()
        .flat_map(|p| p.join().expect("popper"))
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..ITEMS).collect::<Vec<_>>());
}

#[test]
fn on_the_real_clock_failing_items_all_come_back_and_finish() {
    // Every item fails twice (by error, then as unschedulable) before it
    // succeeds, while another thread sends move events: no pop may stall
    // while items wait in backoff or in the pool.
    const ITEMS: usize = 2_000;
    let queue: SchedulingQueue<u64> = SchedulingQueue::builder()
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(4))
        .max_unschedulable_stay(Duration::from_millis(20))
        .build()
        .expect("valid settings");
    let failures: Arc<Vec<AtomicU32>> = Arc::new((0..ITEMS).map(|_| AtomicU32::new(0)).collect());
    let finished = Arc::new(AtomicUsize::new(0));
    let poppers: Vec<_> = (0..4)
        .map(|_| {
            let (queue, failures, finished) = (queue.clone(), failures.clone(), finished.clone());
            thread::spawn(move || loop {
                let key = match queue.pop_timeout(PATIENCE) {
                    Ok((key, _)) => key,
                    Err(PopError::Closed) => return,
                    Err(PopError::Empty) => panic!("a pop stalled"),
                };
                match failures[key as usize].fetch_add(1, Ordering::SeqCst) {
                    0 => assert_eq!(queue.requeue_backoff(&key), Some(Place::Backoff)),
                    1 => assert!(queue.requeue_unschedulable(&key).is_some()),
                    _ => {
                        assert!(queue.done(&key));
                        if finished.fetch_add(1, Ordering::SeqCst) + 1 == ITEMS {
                            queue.close();
                        }
                    }
                }
            })
        })
        .collect();
    let mover = {
        let (queue, finished) = (queue.clone(), finished.clone());
        thread::spawn(move || {
            while finished.load(Ordering::SeqCst) < ITEMS {
                queue.move_all_to_active_or_backoff("tick");
                thread::sleep(Duration::from_millis(3));
            }
        })
    };
    for key in 0..ITEMS as u64 {
        queue.add(key, (key % 7) as i32);
    }
    for popper in poppers {
        popper.join().expect("popper");
    }
    mover.join().expect("mover");
    assert_eq!(finished.load(Ordering::SeqCst), ITEMS);
    assert!(failures.iter().all(|f| f.load(Ordering::SeqCst) == 3));
    assert_eq!(lens(&queue), [0, 0, 0, 0]);
}

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

#[test]
fn bad_settings_are_refused_by_name() {
    fn refused(builder: SchedulingQueueBuilder<u64>) -> &'static str {
        builder.build().expect_err("refused").argument()
    }
    let b = SchedulingQueue::<u64>::builder;
    assert_eq!(
        refused(b().initial_backoff(Duration::ZERO)),
        "initial_backoff"
    );
    assert_eq!(
        refused(b().max_backoff(Duration::from_millis(999))),
        "max_backoff"
    );
    assert_eq!(
        refused(b().initial_backoff(2 * SECOND).max_backoff(SECOND)),
        "max_backoff"
    );
    assert_eq!(
        refused(b().max_unschedulable_stay(Duration::ZERO)),
        "max_unschedulable_stay"
    );
    let queue = b()
        .initial_backoff(SECOND)
        .max_backoff(SECOND)
        .build()
        .expect("max equal to initial is fine");
    assert_eq!(queue.max_backoff(), SECOND);
    let defaults: SchedulingQueue<&str> = SchedulingQueue::default();
    assert_eq!(defaults.initial_backoff(), SECOND);
    assert_eq!(defaults.max_backoff(), 10 * SECOND);
    assert_eq!(defaults.max_unschedulable_stay(), Duration::from_secs(300));
    assert!(defaults.pops_from_backoff());
    assert!(!defaults.clock().is_manual());
    assert!(format!("{defaults:?}").contains("active: 0"));
}

#[test]
fn string_keys_work() {
    let queue = SchedulingQueue::<String>::builder()
        .clock(ManualClock::new())
        .build()
        .expect("valid settings");
    queue.add("default/web".to_owned(), 1);
    queue.add("default/db".to_owned(), 2);
    assert_eq!(queue.try_pop(), Ok(("default/db".to_owned(), 2)));
    assert_eq!(
        queue.requeue_unschedulable(&"default/db".to_owned()),
        Some(Place::Unschedulable)
    );
    assert_eq!(queue.move_all_to_active_or_backoff("NodeAdd"), 1);
    assert_eq!(queue.backoff_len(), 1);
}

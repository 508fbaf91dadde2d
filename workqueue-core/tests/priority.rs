//! Priorities in the work queue (controller-runtime's priorityqueue): the
//! highest priority first, FIFO within a priority, a re-add keeps the
//! highest priority and the earliest ready time, aging against starvation.

use std::time::Duration;
use workqueue_core::{ManualClock, Queue};

fn manual_queue() -> (Queue<u64>, ManualClock) {
    let clock = ManualClock::new();
    let queue = Queue::builder().clock(&clock).build();
    (queue, clock)
}

fn drain_with_priority(queue: &Queue<u64>) -> Vec<(u64, i32)> {
    std::iter::from_fn(|| {
        let item = queue.get_with_priority(Some(Duration::ZERO)).ok()?;
        queue.done(&item.0);
        Some(item)
    })
    .collect()
}

#[test]
fn highest_priority_first_and_fifo_within_a_priority() {
    let (queue, _) = manual_queue();
    queue.add(1);
    queue.add_with_priority(2, 10);
    queue.add_with_priority(3, -5);
    queue.add(4);
    queue.add_with_priority(5, 10);
    assert_eq!(queue.len_by_priority(), vec![(10, 2), (0, 2), (-5, 1)]);
    assert_eq!(
        drain_with_priority(&queue),
        vec![(2, 10), (5, 10), (1, 0), (4, 0), (3, -5)]
    );
}

#[test]
fn a_re_add_keeps_the_highest_priority_and_a_bump_goes_to_the_tail() {
    let (queue, _) = manual_queue();
    for key in 1..=3 {
        queue.add_with_priority(key, 1);
    }
    queue.add_with_priority(4, 5);
    assert!(
        !queue.add_with_priority(1, 0),
        "a lower priority changes nothing"
    );
    assert!(!queue.add_with_priority(2, 5), "collapses, but raises 2");
    assert_eq!(queue.len(), 4, "a re-add never grows the queue");
    assert_eq!(
        drain_with_priority(&queue),
        vec![(4, 5), (2, 5), (1, 1), (3, 1)]
    );
}

#[test]
fn a_key_re_added_while_processing_comes_back_with_its_highest_priority() {
    let (queue, _) = manual_queue();
    queue.add(7);
    queue.add(8);
    assert_eq!(queue.try_get(), Ok(7));
    assert!(queue.add_with_priority(7, 3), "marked to run again");
    assert!(
        !queue.add_with_priority(7, 9),
        "collapses, raising the pending priority"
    );
    assert!(!queue.add_with_priority(7, 1));
    queue.done(&7);
    assert_eq!(drain_with_priority(&queue), vec![(7, 9), (8, 0)]);
}

#[test]
fn delayed_keys_keep_the_earliest_time_and_the_highest_priority() {
    let (queue, clock) = manual_queue();
    queue.add_after_with_priority(1, Duration::from_millis(10), 2);
    queue.add_after_with_priority(1, Duration::from_millis(50), 7);
    queue.add_after(2, Duration::from_millis(5));
    clock.step(Duration::from_millis(9));
    assert_eq!(queue.len(), 1, "only key 2 is due");
    clock.step(Duration::from_millis(1));
    assert_eq!(drain_with_priority(&queue), vec![(1, 7), (2, 0)]);
    clock.step(Duration::from_millis(100));
    assert_eq!(queue.len(), 0, "the later 50 ms entry never fires");
}

#[test]
fn rate_limited_adds_carry_their_priority() {
    let (queue, clock) = manual_queue();
    let delay = queue
        .add_rate_limited_with_priority(3, 4)
        .expect("accepted");
    queue.add(9);
    clock.step(delay);
    assert_eq!(drain_with_priority(&queue), vec![(3, 4), (9, 0)]);
}

#[test]
fn strict_priority_starves_while_aging_lets_old_keys_through() {
    // A steady stream of priority-1 keys, one low key waiting from the start.
    let run = |aging: Option<Duration>| -> usize {
        let clock = ManualClock::new();
        let mut builder = Queue::builder().clock(&clock);
        if let Some(interval) = aging {
            builder = builder.priority_aging(interval).expect("positive interval");
        }
        let queue: Queue<u64> = builder.build();
        queue.add(0);
        for round in 1..=100u64 {
            queue.add_with_priority(round, 1);
            clock.step(Duration::from_millis(100));
            let key = queue.try_get().expect("a key is ready");
            queue.done(&key);
            if key == 0 {
                return round as usize;
            }
        }
        usize::MAX
    };
    assert_eq!(run(None), usize::MAX, "strict priority never serves key 0");
    let served_at = run(Some(Duration::from_secs(1)));
    assert!(
        (9..=13).contains(&served_at),
        "with 1 s aging key 0 outranks fresh priority-1 keys after about 1 s: round {served_at}"
    );
}

#[test]
fn a_zero_aging_interval_is_rejected() {
    let error = Queue::<u64>::builder()
        .priority_aging(Duration::ZERO)
        .err()
        .expect("zero is refused");
    assert_eq!(error.argument(), "aging interval");
}

#[test]
fn get_batch_follows_priority_order() {
    let (queue, _) = manual_queue();
    queue.add_batch([1, 2, 3]);
    queue.add_with_priority(4, 1);
    assert_eq!(queue.get_batch(3, Some(Duration::ZERO)), Ok(vec![4, 1, 2]));
}

/// A priority batch is `add_with_priority` for each key in order: new keys
/// count, re-adds keep the highest priority, keys being processed are
/// marked to come back at it.
#[test]
fn add_batch_with_priority_is_add_with_priority_per_key() {
    let (queue, _) = manual_queue();
    queue.add_with_priority(1, 9);
    queue.add(2);
    queue.add(3);
    assert_eq!(queue.try_get(), Ok(1));
    assert_eq!(
        queue.add_batch_with_priority([4, 2, 4, 1, 5, 1], 5),
        3,
        "4 and 5 are new, 1 is processing: marked dirty once"
    );
    assert_eq!(queue.len_by_priority(), vec![(5, 3), (0, 1)]);
    queue.done(&1);
    assert_eq!(
        drain_with_priority(&queue),
        vec![(4, 5), (2, 5), (5, 5), (1, 5), (3, 0)]
    );
    queue.add_with_priority(6, 7);
    assert_eq!(queue.add_batch_with_priority([6], 2), 0, "lower: no change");
    assert_eq!(drain_with_priority(&queue), vec![(6, 7)]);
}

#[test]
fn add_batch_with_priority_spans_lock_holds_in_order() {
    let (queue, _) = manual_queue();
    let count = workqueue_core::LOCK_HOLD_KEYS as u64 * 2 + 3;
    queue.add(u64::MAX);
    assert_eq!(queue.add_batch_with_priority(0..count, -1), count as usize);
    assert_eq!(queue.add_batch_with_priority(0..count, -2), 0);
    let drained = drain_with_priority(&queue);
    assert_eq!(drained[0], (u64::MAX, 0));
    assert!(drained[1..].iter().map(|&(key, _)| key).eq(0..count));
    assert!(drained[1..].iter().all(|&(_, priority)| priority == -1));
}

#[test]
fn add_batch_with_priority_after_shutdown_adds_nothing() {
    let (queue, _) = manual_queue();
    queue.shutdown();
    assert_eq!(queue.add_batch_with_priority([1, 2], 3), 0);
    assert_eq!(queue.len(), 0);
}

#[test]
fn add_batch_with_priority_wakes_a_blocked_getter() {
    let queue: Queue<u64> = Queue::new();
    std::thread::scope(|s| {
        let getter = s.spawn(|| queue.get_with_priority(None));
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(queue.add_batch_with_priority([8], 4), 1);
        assert_eq!(getter.join().unwrap(), Ok((8, 4)));
    });
}

//! Queue and shutdown behaviour that needs threads (CONFORMANCE.md,
//! sections Queue and Shutdown), plus blocking gets on delayed keys and the
//! readiness observer. Sequential scenarios live in `conformance.rs`.
//!
//! Timing rule: a "still blocked" check waits a short while and can only
//! miss a bug, never flake; a "returns" check allows a generous bound.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use workqueue_core::{GetError, ManualClock, Queue};

mod common;
use common::{Recorder, NOT_READY, READY};

/// How long a blocked call gets to show it is still blocked.
const SHORT: Duration = Duration::from_millis(50);
/// How long a released call may take to return on a loaded machine.
const LONG: Duration = Duration::from_secs(10);

/// Runs `f` on a new thread; its result arrives on the receiver, so a test
/// can bound how long it waits instead of hanging in `join`.
fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Receiver<T> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx
}

fn still_blocked<T: std::fmt::Debug>(rx: &Receiver<T>, what: &str) {
    if let Ok(value) = rx.recv_timeout(SHORT) {
        panic!("{what} returned {value:?} but should still block");
    }
}

fn returns<T>(rx: &Receiver<T>, what: &str) -> T {
    rx.recv_timeout(LONG)
        .unwrap_or_else(|_| panic!("{what} did not return within {LONG:?}"))
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + LONG;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// A queue on a manual clock with the clock.
fn manual_queue() -> (Queue<u32>, ManualClock) {
    let clock = ManualClock::new();
    let queue = Queue::builder().clock(&clock).build();
    (queue, clock)
}

// ---------------------------------------------------------------- Queue

/// A key no producer adds; it is added only after shutdown.
const AFTER_SHUTDOWN: u64 = u64::MAX;

/// [TestBasic] Producers add overlapping key ranges (so adds also collapse
/// and hit keys being processed) while consumers take and finish keys.
fn basic(drain: bool) {
    const PRODUCERS: u64 = 8;
    const KEYS_PER_PRODUCER: u64 = 500;
    const CONSUMERS: usize = 6;
    let queue: Queue<u64> = Queue::new();
    let seen = Arc::new(Mutex::new(HashSet::new()));

    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let queue = queue.clone();
            let seen = Arc::clone(&seen);
            spawn(move || {
                let mut runs = 0usize;
                while let Some(key) = queue.get() {
                    assert_ne!(key, AFTER_SHUTDOWN, "a key added after shutdown came out");
                    seen.lock().unwrap().insert(key);
                    runs += 1;
                    if runs % 16 == 0 {
                        thread::yield_now(); // hold a key a little longer
                    }
                    assert!(queue.done(&key), "done of a key being processed");
                }
                runs
            })
        })
        .collect();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|producer| {
            let queue = queue.clone();
            thread::spawn(move || {
                // Producer p overlaps half of producer p+1's range.
                let first = producer * KEYS_PER_PRODUCER / 2;
                for key in first..first + KEYS_PER_PRODUCER {
                    queue.add(key);
                }
            })
        })
        .collect();
    for producer in producers {
        producer.join().unwrap();
    }

    if drain {
        assert!(queue.shutdown_with_drain(), "drain was not interrupted");
    } else {
        queue.shutdown();
    }
    assert!(!queue.add(AFTER_SHUTDOWN), "add after shutdown is rejected");
    let runs: usize = consumers.iter().map(|c| returns(c, "a consumer")).sum();

    let expected: HashSet<u64> = (0..PRODUCERS)
        .flat_map(|p| {
            let first = p * KEYS_PER_PRODUCER / 2;
            first..first + KEYS_PER_PRODUCER
        })
        .collect();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), expected.len(), "every added key came out");
    assert_eq!(*seen, expected);
    assert!(runs >= expected.len());
    assert_eq!(queue.len(), 0);
    assert_eq!(queue.processing_len(), 0);
    assert_eq!(queue.get_timeout(Duration::ZERO), Err(GetError::ShutDown));
}

#[test]
fn basic_many_producers_and_consumers_shutdown() {
    basic(false);
}

#[test]
fn basic_many_producers_and_consumers_shutdown_with_drain() {
    basic(true);
}

/// [TestAddWhileProcessing] Every consumer re-adds a key the first time it
/// processes it: each key must run exactly twice, and the queue drains.
#[test]
fn add_while_processing_runs_the_key_again() {
    const KEYS: u32 = 400;
    const CONSUMERS: usize = 4;
    let queue: Queue<u32> = Queue::new();
    let runs = Arc::new(Mutex::new(HashMap::<u32, u32>::new()));
    let total = Arc::new(AtomicUsize::new(0));

    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let (queue, runs, total) = (queue.clone(), Arc::clone(&runs), Arc::clone(&total));
            spawn(move || {
                while let Some(key) = queue.get() {
                    let first = {
                        let mut runs = runs.lock().unwrap();
                        let count = runs.entry(key).or_insert(0);
                        *count += 1;
                        *count == 1
                    };
                    if first {
                        assert!(queue.add(key), "a re-add while processing schedules a run");
                    }
                    total.fetch_add(1, Ordering::SeqCst);
                    queue.done(&key);
                }
            })
        })
        .collect();
    let producers: Vec<_> = (0..2)
        .map(|half| {
            let queue = queue.clone();
            thread::spawn(move || {
                for key in (half..KEYS).step_by(2) {
                    queue.add(key);
                }
            })
        })
        .collect();
    for producer in producers {
        producer.join().unwrap();
    }
    // Shut down only once every re-add has happened: a re-add after
    // shutdown is rejected by design.
    wait_until("every key ran twice", || {
        total.load(Ordering::SeqCst) == 2 * KEYS as usize
    });
    assert!(queue.shutdown_with_drain());
    for consumer in &consumers {
        returns(consumer, "a consumer");
    }
    let runs = runs.lock().unwrap();
    assert_eq!(runs.len(), KEYS as usize);
    for (key, count) in runs.iter() {
        assert_eq!(*count, 2, "key {key} ran {count} times");
    }
    assert_eq!(queue.len(), 0);
    assert_eq!(queue.processing_len(), 0);
}

/// A second worker does not get a key being processed, even when it is
/// added again; it gets it right after `done`.
#[test]
fn a_key_being_processed_is_not_handed_to_a_second_getter() {
    let queue: Queue<u32> = Queue::new();
    queue.add(1);
    let key = queue.get().unwrap();
    assert!(queue.add(1));
    let second = {
        let queue = queue.clone();
        spawn(move || queue.get())
    };
    still_blocked(&second, "a second get of a key being processed");
    assert!(queue.done(&key));
    assert_eq!(returns(&second, "the second get"), Some(1));
}

// ------------------------------------------------------------- Shutdown

/// Shutdown wakes every blocked getter, not just one.
#[test]
fn shutdown_releases_every_blocked_getter() {
    let queue: Queue<u32> = Queue::new();
    let getters: Vec<_> = (0..4)
        .map(|_| {
            let queue = queue.clone();
            spawn(move || queue.get())
        })
        .collect();
    for getter in &getters {
        still_blocked(getter, "a get on an empty queue");
    }
    queue.shutdown();
    for getter in &getters {
        assert_eq!(returns(getter, "a getter after shutdown"), None);
    }
}

/// Blocked `get_timeout` and `get_batch` callers are released too, with
/// `ShutDown`, long before their timeout.
#[test]
fn shutdown_releases_timed_and_batch_getters() {
    let queue: Queue<u32> = Queue::new();
    let timed = {
        let queue = queue.clone();
        spawn(move || queue.get_timeout(Duration::from_secs(3600)))
    };
    let batch = {
        let queue = queue.clone();
        spawn(move || queue.get_batch(8, None))
    };
    still_blocked(&timed, "get_timeout");
    still_blocked(&batch, "get_batch");
    queue.shutdown();
    assert_eq!(returns(&timed, "get_timeout"), Err(GetError::ShutDown));
    assert_eq!(returns(&batch, "get_batch"), Err(GetError::ShutDown));
}

/// Getters released by shutdown still receive the keys already queued;
/// only once those are gone do they see shutdown.
#[test]
fn queued_keys_are_handed_out_after_shutdown() {
    let queue: Queue<u32> = Queue::new();
    queue.add_batch([1, 2, 3]);
    queue.shutdown();
    let getters: Vec<_> = (0..4)
        .map(|_| {
            let queue = queue.clone();
            spawn(move || queue.get())
        })
        .collect();
    let mut got: Vec<Option<u32>> = getters.iter().map(|g| returns(g, "a getter")).collect();
    got.sort();
    assert_eq!(got, vec![None, Some(1), Some(2), Some(3)]);
}

/// [TestQueueDrainageUsingShutDownWithDrain]
#[test]
fn drain_waits_for_keys_being_processed() {
    let queue: Queue<u32> = Queue::new();
    queue.add_batch([1, 2]);
    let (a, b) = (queue.get().unwrap(), queue.get().unwrap());
    let drain = {
        let queue = queue.clone();
        spawn(move || queue.shutdown_with_drain())
    };
    wait_until("the drain has shut the queue down", || {
        queue.shutting_down()
    });
    // Nothing is queued and nothing will come back: getters see shutdown
    // while the drain still waits.
    assert_eq!(queue.get(), None);
    assert_eq!(queue.try_get(), Err(GetError::ShutDown));
    still_blocked(&drain, "the drain with two keys in flight");
    assert!(queue.done(&a));
    still_blocked(&drain, "the drain with one key in flight");
    assert!(queue.done(&b));
    assert!(returns(&drain, "the drain"), "drained, not interrupted");
}

/// [TestNoQueueDrainageUsingShutDown] Plain shutdown does not wait for keys
/// being processed.
#[test]
fn plain_shutdown_returns_with_keys_in_flight() {
    let queue: Queue<u32> = Queue::new();
    queue.add_batch([1, 2]);
    let a = queue.get().unwrap();
    let shutdown = {
        let queue = queue.clone();
        spawn(move || queue.shutdown())
    };
    returns(&shutdown, "plain shutdown with a key in flight");
    assert_eq!(queue.processing_len(), 1);
    assert_eq!(queue.get(), Some(2), "a queued key is still handed out");
    assert_eq!(queue.get(), None);
    assert!(queue.done(&a));
    assert!(queue.done(&2));
}

/// [TestForceQueueShutdownUsingShutDown] A plain shutdown releases a
/// drain that is waiting; the drain reports it did not drain.
#[test]
fn plain_shutdown_releases_a_waiting_drain() {
    let queue: Queue<u32> = Queue::new();
    queue.add(1);
    let key = queue.get().unwrap();
    let drain = {
        let queue = queue.clone();
        spawn(move || queue.shutdown_with_drain())
    };
    wait_until("the drain has shut the queue down", || {
        queue.shutting_down()
    });
    still_blocked(&drain, "the drain with a key in flight");
    queue.shutdown();
    assert!(
        !returns(&drain, "the forced drain"),
        "interrupted, not drained"
    );
    assert!(queue.done(&key), "done after a forced shutdown still works");
    assert_eq!(queue.processing_len(), 0);
}

/// [TestQueueDrainageUsingShutDownWithDrainWithDirtyItem] A key added again
/// while processing comes back at `done` during a drain and is handed out
/// once more. A getter blocked meanwhile must wait for it rather than
/// report shutdown and leave it with no worker.
#[test]
fn drain_hands_out_a_key_added_again_while_processing() {
    let queue: Queue<u32> = Queue::new();
    queue.add(1);
    let key = queue.get().unwrap();
    assert!(queue.add(1));
    let drain = {
        let queue = queue.clone();
        spawn(move || queue.shutdown_with_drain())
    };
    wait_until("the drain has shut the queue down", || {
        queue.shutting_down()
    });
    assert_eq!(
        queue.try_get(),
        Err(GetError::Empty),
        "the key will come back at done: not shut down yet"
    );
    let getter = {
        let queue = queue.clone();
        spawn(move || queue.get())
    };
    still_blocked(&getter, "a getter waiting for the dirty key");
    assert!(queue.done(&key));
    assert_eq!(returns(&getter, "the getter"), Some(1));
    still_blocked(&drain, "the drain with the requeued key in flight");
    assert_eq!(queue.try_get(), Err(GetError::ShutDown));
    assert!(queue.done(&1));
    assert!(returns(&drain, "the drain"));
    assert_eq!(queue.get(), None);
}

/// kubernetes#141079: client-go's drain waits only for keys being
/// processed and abandons keys still queued. Ours waits for those too.
#[test]
fn drain_waits_for_keys_still_queued() {
    let queue: Queue<u32> = Queue::new();
    queue.add_batch([1, 2, 3]);
    let drain = {
        let queue = queue.clone();
        spawn(move || queue.shutdown_with_drain())
    };
    wait_until("the drain has shut the queue down", || {
        queue.shutting_down()
    });
    still_blocked(&drain, "the drain with three keys queued");
    for expected in [1, 2, 3] {
        let key = queue
            .get()
            .expect("queued keys are handed out during a drain");
        assert_eq!(key, expected);
        still_blocked(&drain, "the drain with a key in flight");
        assert!(queue.done(&key));
    }
    assert!(returns(&drain, "the drain"));
    assert_eq!(queue.get(), None);
}

/// Workers keep running through a drain: the drain returns only after
/// they have finished everything, and every worker then stops.
#[test]
fn drain_with_running_workers_processes_every_queued_key() {
    let queue: Queue<u32> = Queue::new();
    let processed = Arc::new(Mutex::new(Vec::new()));
    queue.add_batch(0..1000);
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (queue, processed) = (queue.clone(), Arc::clone(&processed));
            spawn(move || {
                while let Some(key) = queue.get() {
                    processed.lock().unwrap().push(key);
                    queue.done(&key);
                }
            })
        })
        .collect();
    assert!(queue.shutdown_with_drain());
    // The drain returned: everything is done already, before the workers
    // are even joined.
    assert_eq!(processed.lock().unwrap().len(), 1000);
    for worker in &workers {
        returns(worker, "a worker");
    }
    let mut processed = processed.lock().unwrap().clone();
    processed.sort_unstable();
    assert_eq!(processed, (0..1000).collect::<Vec<_>>());
}

/// Shutdown twice, drain after shutdown, shutdown after drain: harmless.
#[test]
fn repeated_shutdowns_are_harmless() {
    let queue: Queue<u32> = Queue::new();
    queue.shutdown();
    queue.shutdown();
    assert!(queue.shutdown_with_drain(), "nothing to drain");
    assert!(queue.shutdown_with_drain());
    queue.shutdown();
    assert_eq!(queue.get(), None);
}

/// `shutdown_with_drain_timeout` gives up after its timeout without ending
/// the drain; a later call can still wait for it to complete.
#[test]
fn drain_with_timeout_can_be_waited_for_again() {
    let queue: Queue<u32> = Queue::new();
    queue.add(1);
    let key = queue.get().unwrap();
    let started = Instant::now();
    assert!(!queue.shutdown_with_drain_timeout(Duration::from_millis(20)));
    assert!(started.elapsed() >= Duration::from_millis(20));
    let drain = {
        let queue = queue.clone();
        spawn(move || queue.shutdown_with_drain_timeout(Duration::from_secs(3600)))
    };
    still_blocked(&drain, "a second drain");
    queue.done(&key);
    assert!(returns(&drain, "the second drain"));
}

/// A delay that has passed before shutdown means the key was added before
/// shutdown: it must still be handed out, whether or not a get happened to
/// look at the queue in between (delays are promoted lazily).
#[test]
fn a_delayed_key_due_before_shutdown_is_handed_out() {
    let (queue, clock) = manual_queue();
    queue.add_after(1, Duration::from_secs(1));
    clock.step(Duration::from_secs(1));
    queue.shutdown();
    assert_eq!(
        queue.try_get(),
        Ok(1),
        "key 1 came due before shutdown and was dropped by it"
    );
    assert_eq!(queue.try_get(), Err(GetError::ShutDown));
}

/// The same with a drain: the due key is one of the keys the drain waits
/// for.
#[test]
fn a_delayed_key_due_before_a_drain_is_drained() {
    let (queue, clock) = manual_queue();
    queue.add_after(1, Duration::from_secs(1));
    clock.step(Duration::from_secs(2));
    assert!(
        !queue.shutdown_with_drain_timeout(Duration::ZERO),
        "key 1 came due before the drain and is not processed yet"
    );
    assert_eq!(queue.try_get(), Ok(1));
    assert!(queue.done(&1));
    assert!(queue.shutdown_with_drain());
}

/// `try_add_after_with_priority` tells a refusal (`None`: shutting down)
/// from an add that changed nothing (`Some(false)`), which `add_after`
/// reports alike.
#[test]
fn try_add_after_tells_a_refusal_from_a_collapse() {
    let (queue, _clock) = manual_queue();
    let hour = Duration::from_secs(3600);
    assert_eq!(queue.try_add_after_with_priority(1, hour, 0), Some(true));
    assert_eq!(
        queue.try_add_after_with_priority(1, 2 * hour, 0),
        Some(false),
        "a later delay changes nothing"
    );
    assert_eq!(
        queue.try_add_after_with_priority(2, Duration::ZERO, 0),
        Some(true)
    );
    assert_eq!(
        queue.try_add_after_with_priority(2, Duration::ZERO, 0),
        Some(false)
    );
    queue.shutdown();
    assert_eq!(
        queue.try_add_after_with_priority(3, Duration::ZERO, 0),
        None
    );
    assert_eq!(queue.try_add_after_with_priority(3, hour, 0), None);
    assert!(!queue.add_after(3, Duration::ZERO));
    assert_eq!(queue.try_get(), Ok(2));
    assert_eq!(queue.try_get(), Err(GetError::ShutDown));
}

// ------------------------------------------------------------ Timed gets

/// An empty queue times out with `Empty`, not before the timeout, and a
/// getter whose wakeup was taken by another getter does not return a key.
#[test]
fn get_timeout_returns_empty_and_no_spurious_key() {
    let queue: Queue<u32> = Queue::new();
    let started = Instant::now();
    assert_eq!(
        queue.get_timeout(Duration::from_millis(30)),
        Err(GetError::Empty)
    );
    assert!(started.elapsed() >= Duration::from_millis(30));

    // A key being processed, or waiting for a delay, is not returned.
    queue.add(1);
    let key = queue.get().unwrap();
    queue.add_after(2, Duration::from_secs(3600));
    assert_eq!(
        queue.get_timeout(Duration::from_millis(20)),
        Err(GetError::Empty)
    );
    queue.done(&key);
    assert_eq!(queue.len(), 0, "key 1 was not added again");

    // Two timed getters, one key: exactly one gets it; the other, woken
    // or not, times out empty-handed. (The timeout only has to outlast
    // the add below on a loaded machine.)
    let getters: Vec<_> = (0..2)
        .map(|_| {
            let queue = queue.clone();
            spawn(move || queue.get_timeout(Duration::from_secs(2)))
        })
        .collect();
    thread::sleep(Duration::from_millis(20));
    queue.add(3);
    let mut results: Vec<_> = getters
        .iter()
        .map(|g| returns(g, "a timed getter"))
        .collect();
    results.sort_by_key(|r| r.is_err());
    assert_eq!(results, vec![Ok(3), Err(GetError::Empty)]);
}

/// A timed get on a manual clock times out on real time (a manual clock
/// that never moves must not hang it) and does not return a key that is
/// not due.
#[test]
fn get_timeout_on_a_manual_clock_times_out_in_real_time() {
    let (queue, _clock) = manual_queue();
    queue.add_after(1, Duration::from_millis(1));
    let getter = {
        let queue = queue.clone();
        spawn(move || queue.get_timeout(Duration::from_millis(30)))
    };
    assert_eq!(returns(&getter, "get_timeout"), Err(GetError::Empty));
}

/// `get_batch` hands out the oldest keys first, at most `max`.
#[test]
fn get_batch_order_and_max() {
    let queue: Queue<u32> = Queue::new();
    queue.add_batch(1..=10);
    queue.add(3); // collapses, keeps its place
    assert_eq!(queue.get_batch(4, None), Ok(vec![1, 2, 3, 4]));
    assert_eq!(
        queue.get_batch(0, None),
        Ok(vec![]),
        "max 0 returns at once"
    );
    queue.add(2); // being processed: comes back at done, not now
    assert_eq!(
        queue.get_batch(100, Some(Duration::ZERO)),
        Ok(vec![5, 6, 7, 8, 9, 10])
    );
    assert_eq!(
        queue.get_batch(3, Some(Duration::from_millis(10))),
        Err(GetError::Empty)
    );
    queue.done(&2);
    assert_eq!(queue.get_batch(3, Some(Duration::ZERO)), Ok(vec![2]));

    let mut out = Vec::new();
    queue.add_batch([20, 21, 22]);
    assert_eq!(queue.get_batch_into(&mut out, 2, None), Ok(2));
    assert_eq!(queue.get_batch_into(&mut out, 2, None), Ok(1));
    assert_eq!(out, vec![20, 21, 22]);

    queue.shutdown();
    assert_eq!(queue.get_batch(3, None), Err(GetError::ShutDown));
}

/// A blocked `get_batch` woken by an `add_batch` takes the whole batch,
/// which was added under one lock.
#[test]
fn blocked_get_batch_is_woken_by_add_batch() {
    let queue: Queue<u32> = Queue::new();
    let getter = {
        let queue = queue.clone();
        spawn(move || queue.get_batch(10, None))
    };
    still_blocked(&getter, "get_batch on an empty queue");
    assert_eq!(queue.add_batch([5, 4, 3, 2, 1]), 5);
    assert_eq!(returns(&getter, "get_batch"), Ok(vec![5, 4, 3, 2, 1]));
}

/// Several getters blocked when a batch arrives: every key reaches some
/// getter (one notify per queued key, none lost).
#[test]
fn add_batch_wakes_enough_getters() {
    let queue: Queue<u32> = Queue::new();
    let getters: Vec<_> = (0..4)
        .map(|_| {
            let queue = queue.clone();
            spawn(move || queue.get())
        })
        .collect();
    thread::sleep(SHORT);
    queue.add_batch([1, 2, 3, 4]);
    let mut got: Vec<_> = getters
        .iter()
        .map(|g| returns(g, "a getter").unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, vec![1, 2, 3, 4]);
}

/// `add_batch` counts the adds that scheduled a run: new keys and keys
/// being processed, not collapsed ones, nothing after shutdown.
#[test]
fn add_batch_counts() {
    let queue: Queue<u32> = Queue::new();
    assert_eq!(queue.add_batch([1, 2, 2, 3]), 3);
    assert_eq!(queue.len(), 3);
    assert_eq!(queue.get(), Some(1));
    assert_eq!(
        queue.add_batch([1, 1, 4, 2]),
        2,
        "1 marked dirty once, 4 new"
    );
    assert_eq!(queue.len(), 3, "2, 3, 4 queued; 1 waits for done");
    assert_eq!(queue.add_batch(Vec::<u32>::new()), 0);
    queue.shutdown();
    assert_eq!(queue.add_batch([7, 8]), 0);
    assert_eq!(queue.len(), 3);
}

// --------------------------------------------------- Delays, blocking

/// A getter blocked before a real-clock delay passes returns the key, not
/// before the delay.
#[test]
fn blocked_get_waits_for_a_delayed_key_on_the_real_clock() {
    let queue: Queue<u32> = Queue::new();
    let started = Instant::now();
    assert!(queue.add_after(1, Duration::from_millis(50)));
    let getter = {
        let queue = queue.clone();
        spawn(move || (queue.get(), Instant::now()))
    };
    let (key, at) = returns(&getter, "a get on a delayed key");
    assert_eq!(key, Some(1));
    assert!(at.duration_since(started) >= Duration::from_millis(50));
}

/// The leader sleeps until the earliest delay; a new, earlier key must
/// re-time it, or it would sleep for the hour.
#[test]
fn an_earlier_delayed_key_re_times_the_waiting_getter() {
    let queue: Queue<u32> = Queue::new();
    queue.add_after(1, Duration::from_secs(3600));
    let getter = {
        let queue = queue.clone();
        spawn(move || queue.get())
    };
    still_blocked(&getter, "a get with only an hour-long delay");
    queue.add_after(2, Duration::from_millis(20));
    assert_eq!(returns(&getter, "the re-timed getter"), Some(2));
}

/// Two getters, two delays: after the leader takes the first key, the
/// other getter must take over the wait for the second, with no add to
/// wake it.
#[test]
fn a_follower_takes_over_the_wait_for_the_next_delayed_key() {
    let queue: Queue<u32> = Queue::new();
    let getters: Vec<_> = (0..2)
        .map(|_| {
            let queue = queue.clone();
            spawn(move || queue.get())
        })
        .collect();
    thread::sleep(SHORT);
    queue.add_after(1, Duration::from_millis(20));
    queue.add_after(2, Duration::from_millis(60));
    let mut got: Vec<_> = getters
        .iter()
        .map(|g| returns(g, "a getter").unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, vec![1, 2]);
}

/// On a manual clock, a blocked getter is woken by `step` from another
/// thread, only once the delay has fully passed.
#[test]
fn blocked_get_is_woken_by_manual_clock_step() {
    let (queue, clock) = manual_queue();
    queue.add_after(7, Duration::from_secs(10));
    let getter = {
        let queue = queue.clone();
        spawn(move || queue.get())
    };
    still_blocked(&getter, "a get before any step");
    let stepper = {
        let clock = clock.clone();
        spawn(move || clock.step(Duration::from_secs(5)))
    };
    returns(&stepper, "a step");
    still_blocked(&getter, "a get halfway through the delay");
    let stepper = {
        let clock = clock.clone();
        spawn(move || clock.step(Duration::from_secs(5)))
    };
    returns(&stepper, "a step");
    assert_eq!(returns(&getter, "the get after the delay"), Some(7));
}

/// Three getters on a manual clock, two keys due in one step: two getters
/// get them, the third keeps waiting until shutdown.
#[test]
fn one_step_serves_several_blocked_getters() {
    let (queue, clock) = manual_queue();
    let getters: Vec<_> = (0..3)
        .map(|_| {
            let queue = queue.clone();
            spawn(move || queue.get())
        })
        .collect();
    queue.add_after(1, Duration::from_secs(1));
    queue.add_after(2, Duration::from_secs(2));
    thread::sleep(SHORT);
    clock.step(Duration::from_secs(2));
    let mut got = Vec::new();
    let deadline = Instant::now() + LONG;
    while got.len() < 2 {
        assert!(Instant::now() < deadline, "two getters did not return");
        for getter in &getters {
            if let Ok(key) = getter.try_recv() {
                got.push(key);
            }
        }
        thread::sleep(Duration::from_millis(1));
    }
    got.sort();
    assert_eq!(got, vec![Some(1), Some(2)]);
    thread::sleep(SHORT);
    let waiting: Vec<_> = getters.iter().filter_map(|g| g.try_recv().ok()).collect();
    assert!(waiting.is_empty(), "the third getter returned {waiting:?}");
    queue.shutdown();
    let third: Vec<_> = getters
        .iter()
        .filter_map(|g| g.recv_timeout(LONG).ok())
        .collect();
    assert_eq!(third, vec![None]);
}

// ----------------------------------------------------------- Readiness

/// Ready/not-ready transitions are reported once each, as they happen,
/// including a manual clock step that makes a delayed key due.
#[test]
fn readiness_observer_reports_transitions() {
    let (queue, clock) = manual_queue();
    let recorder = Arc::new(Recorder::default());
    queue.observe_readiness(recorder.clone());
    assert_eq!(recorder.take(), vec![NOT_READY], "reported at once");

    queue.add(1);
    queue.add(2);
    assert_eq!(recorder.take(), vec![READY], "one report for two adds");
    assert_eq!(queue.get(), Some(1));
    assert_eq!(recorder.take(), vec![], "still ready: 2 is queued");
    assert_eq!(queue.get(), Some(2));
    assert_eq!(recorder.take(), vec![NOT_READY]);
    queue.add(1); // being processed: a get would still block
    assert_eq!(recorder.take(), vec![]);
    queue.done(&1); // comes back
    assert_eq!(recorder.take(), vec![READY]);
    assert_eq!(queue.get(), Some(1));
    queue.done(&1);
    queue.done(&2);
    assert_eq!(recorder.take(), vec![NOT_READY]);

    // A manual clock reports no timer: the step itself is reported.
    queue.add_after(3, Duration::from_secs(5));
    assert_eq!(recorder.take(), vec![]);
    let stepper = {
        let clock = clock.clone();
        spawn(move || clock.step(Duration::from_secs(5)))
    };
    returns(&stepper, "a step");
    assert_eq!(recorder.take(), vec![READY], "the step made 3 due");
    assert_eq!(queue.get(), Some(3));
    assert_eq!(recorder.take(), vec![NOT_READY]);

    // Shut down with nothing queued: a get returns at once.
    queue.shutdown();
    assert_eq!(recorder.take(), vec![READY]);
}

/// While a drain waits for a key that will come back, a get would block:
/// not ready. Once it is done and nothing will come back: ready.
#[test]
fn readiness_during_a_drain_with_a_dirty_key() {
    let queue: Queue<u32> = Queue::new();
    queue.add(1);
    let key = queue.get().unwrap();
    queue.add(1);
    let recorder = Arc::new(Recorder::default());
    queue.observe_readiness(recorder.clone());
    assert_eq!(recorder.take(), vec![NOT_READY]);
    assert!(!queue.shutdown_with_drain_timeout(Duration::ZERO));
    assert_eq!(
        recorder.take(),
        vec![],
        "1 will come back: a get would block"
    );
    queue.done(&key);
    assert_eq!(recorder.take(), vec![READY]);
    assert_eq!(queue.get(), Some(1));
    // Nothing queued, nothing will come back: get returns ShutDown at once.
    assert_eq!(recorder.take(), vec![]);
    queue.done(&1);
    assert_eq!(recorder.take(), vec![]);
}

/// On the real clock the observer is told how long until the earliest
/// delayed key, and is told again when an earlier key arrives.
#[test]
fn readiness_observer_reports_next_delayed_in() {
    let queue: Queue<u32> = Queue::new();
    let recorder = Arc::new(Recorder::default());
    queue.observe_readiness(recorder.clone());
    assert_eq!(recorder.take(), vec![NOT_READY]);

    let hour = Duration::from_secs(3600);
    queue.add_after(1, hour);
    let reports = recorder.take();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(!reports[0].ready);
    let next = reports[0].next_delayed_in.expect("a timer to arm");
    assert!(
        next <= hour && next > hour - Duration::from_secs(60),
        "{next:?}"
    );

    queue.add_after(2, 2 * hour);
    assert_eq!(recorder.take(), vec![], "the earliest key did not change");

    queue.add_after(3, Duration::from_millis(20));
    let reports = recorder.take();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let next = reports[0].next_delayed_in.expect("a timer to arm");
    assert!(next <= Duration::from_millis(20), "{next:?}");

    // Once 3 is due, the next call that looks promotes it and reports.
    wait_until("key 3 is due", || queue.len() == 1);
    let reports = recorder.take();
    let last = reports.last().expect("a report when 3 became ready");
    assert!(last.ready);
    let next = last.next_delayed_in.expect("1 and 2 still wait");
    assert!(next > hour - Duration::from_secs(60), "{next:?}");

    // Shutdown drops the delayed keys: nothing to time any more.
    queue.shutdown();
    assert_eq!(recorder.take().last(), Some(&READY));
}

/// A key whose delay passed entered the queue at that moment: a key added
/// later comes out after it (the queue is FIFO). Without an observer the
/// due key is promoted lazily, so this checks that a later add does not
/// jump ahead of it.
#[test]
fn a_key_due_before_an_add_comes_out_first() {
    let (queue, clock) = manual_queue();
    queue.add_after(1, Duration::from_secs(1));
    clock.step(Duration::from_secs(1));
    queue.add(2);
    assert_eq!(queue.try_get(), Ok(1), "1 was ready before 2 was added");
    assert_eq!(queue.try_get(), Ok(2));
}

/// `add_after` returns true when it set the key's ready time, whether or
/// not that time is the earliest of all waiting keys.
#[test]
fn add_after_reports_every_ready_time_it_sets() {
    let (queue, _clock) = manual_queue();
    assert!(queue.add_after(1, Duration::from_secs(1)));
    assert!(
        queue.add_after(2, Duration::from_secs(5)),
        "2 was not waiting: its ready time was set"
    );
    assert!(
        !queue.add_after(2, Duration::from_secs(6)),
        "later: no change"
    );
    assert!(
        queue.add_after(2, Duration::from_secs(3)),
        "earlier than 2's own time: set, though 1 is still earliest"
    );
    assert_eq!(queue.delayed_len(), 2);
}

/// Keys due at the same time leave in the order they were delayed. A
/// replaced (stale) entry of a key must not come back to life when the key
/// is later delayed again to that same time, jumping ahead of others.
#[test]
fn keys_due_together_leave_in_the_order_they_were_delayed() {
    let (queue, clock) = manual_queue();
    let s = Duration::from_secs;
    queue.add_after(1, s(3));
    queue.add_after(1, s(1)); // 1 now waits for 1 s; its 3 s entry is stale
    queue.add_after(2, s(3)); // 2 waits for 3 s
    queue.add_after(9, s(2)); // keeps the stale entry from the heap's top
    clock.step(s(1));
    assert_eq!(queue.try_get(), Ok(1));
    queue.done(&1);
    queue.add_after(1, s(2)); // 1 waits for 3 s again, after 2
    clock.step(s(2));
    assert_eq!(
        queue.get_batch(3, None),
        Ok(vec![9, 2, 1]),
        "2 was delayed to 3 s before 1 was"
    );
}

//! `WorkerPool`: the controller loop (get → handle → forget or requeue with
//! backoff → done) on several threads.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use workqueue_core::rate_limit::{ExponentialBackoff, RateLimiter};
use workqueue_core::{Failure, ManualClock, Queue, Timestamp, WorkerPool, WorkerReport};

const LONG: Duration = Duration::from_secs(10);

/// A queue whose retries come back within a millisecond.
fn fast_queue() -> Queue<u32> {
    let limiter = ExponentialBackoff::new(Duration::from_micros(1), Duration::from_millis(1))
        .expect("valid backoff");
    Queue::builder().rate_limiter(limiter).build()
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + LONG;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// Runs `pool` on its own thread so the test can bound how long it takes
/// to return.
fn run_pool<H, D>(
    pool: WorkerPool,
    queue: &Queue<u32>,
    handler: H,
    on_dropped: D,
) -> Receiver<WorkerReport>
where
    H: Fn(&u32) -> Result<(), String> + Sync + Send + 'static,
    D: Fn(u32, Failure<String>) + Sync + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let queue = queue.clone();
    thread::spawn(move || {
        let _ = tx.send(pool.run_reporting(&queue, handler, on_dropped));
    });
    rx
}

fn finish(queue: &Queue<u32>, pool: &Receiver<WorkerReport>) -> WorkerReport {
    assert!(queue.shutdown_with_drain(), "the drain completed");
    pool.recv_timeout(LONG)
        .expect("the workers return after shutdown with drain")
}

#[test]
fn zero_workers_is_rejected() {
    let error = WorkerPool::new(0).err().expect("zero workers rejected");
    assert_eq!(error.argument(), "workers");
}

/// Each key fails twice, then succeeds: it is retried through the limiter
/// and forgotten on success.
#[test]
fn failures_are_retried_and_success_forgets() {
    const KEYS: u32 = 100;
    let queue = fast_queue();
    let attempts = Arc::new(Mutex::new(HashMap::<u32, u32>::new()));
    let succeeded = Arc::new(AtomicUsize::new(0));
    let handler = {
        let (attempts, succeeded) = (Arc::clone(&attempts), Arc::clone(&succeeded));
        move |key: &u32| {
            let attempt = {
                let mut attempts = attempts.lock().unwrap();
                let attempt = attempts.entry(*key).or_insert(0);
                *attempt += 1;
                *attempt
            };
            if attempt <= 2 {
                return Err(format!("attempt {attempt} of {key}"));
            }
            succeeded.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    };
    let pool = run_pool(WorkerPool::new(4).unwrap(), &queue, handler, |key, _| {
        panic!("key {key} dropped")
    });
    queue.add_batch(0..KEYS);
    // Retries wait in the delayed set, which shutdown drops: shut down
    // only once every key has succeeded.
    wait_until("every key succeeded", || {
        succeeded.load(Ordering::SeqCst) == KEYS as usize
    });
    let report = finish(&queue, &pool);
    assert_eq!(
        report,
        WorkerReport {
            succeeded: u64::from(KEYS),
            retried: 2 * u64::from(KEYS),
            dropped: 0,
            panicked: 0,
            abandoned: 0,
        }
    );
    for key in 0..KEYS {
        assert_eq!(attempts.lock().unwrap()[&key], 3);
        assert_eq!(
            queue.num_requeues(&key),
            0,
            "key {key} forgotten on success"
        );
    }
}

/// A key that always fails runs once plus `max_retries` times, then is
/// forgotten and reported dropped with its last failure.
#[test]
fn a_key_failing_past_max_retries_is_dropped_and_reported() {
    const KEYS: u32 = 10;
    let queue = fast_queue();
    let attempts = Arc::new(Mutex::new(HashMap::<u32, u32>::new()));
    let dropped = Arc::new(Mutex::new(Vec::new()));
    let handler = {
        let attempts = Arc::clone(&attempts);
        move |key: &u32| {
            let mut attempts = attempts.lock().unwrap();
            let attempt = attempts.entry(*key).or_insert(0);
            *attempt += 1;
            Err(format!("attempt {attempt} of {key}"))
        }
    };
    let on_dropped = {
        let dropped = Arc::clone(&dropped);
        move |key: u32, failure: Failure<String>| dropped.lock().unwrap().push((key, failure))
    };
    let pool = run_pool(
        WorkerPool::new(3).unwrap().max_retries(3),
        &queue,
        handler,
        on_dropped,
    );
    queue.add_batch(0..KEYS);
    wait_until("every key was dropped", || {
        dropped.lock().unwrap().len() == KEYS as usize
    });
    let report = finish(&queue, &pool);
    assert_eq!(
        report,
        WorkerReport {
            succeeded: 0,
            retried: 3 * u64::from(KEYS),
            dropped: u64::from(KEYS),
            panicked: 0,
            abandoned: 0,
        }
    );
    let mut dropped = std::mem::take(&mut *dropped.lock().unwrap());
    dropped.sort_by_key(|(key, _)| *key);
    for (key, (dropped_key, failure)) in (0..KEYS).zip(dropped) {
        assert_eq!(dropped_key, key);
        match failure {
            Failure::Error(message) => assert_eq!(message, format!("attempt 4 of {key}")),
            Failure::Panic(message) => panic!("key {key}: unexpected panic {message}"),
        }
        assert_eq!(attempts.lock().unwrap()[&key], 4, "1 run + 3 retries");
        assert_eq!(queue.num_requeues(&key), 0, "forgotten when dropped");
    }
}

/// A panicking handler is caught, counted, and retried like an error; a
/// key that keeps panicking is dropped with the panic's message.
#[test]
fn a_panicking_handler_is_counted_and_retried() {
    let queue = fast_queue();
    let attempts = Arc::new(Mutex::new(HashMap::<u32, u32>::new()));
    let dropped = Arc::new(Mutex::new(Vec::new()));
    let handler = {
        let attempts = Arc::clone(&attempts);
        move |key: &u32| {
            let attempt = {
                let mut attempts = attempts.lock().unwrap();
                let attempt = attempts.entry(*key).or_insert(0);
                *attempt += 1;
                *attempt
            };
            // Key 1 panics once then succeeds; key 2 always panics.
            if *key == 2 || attempt == 1 {
                panic!("handler blew up on {key}");
            }
            Ok(())
        }
    };
    let on_dropped = {
        let dropped = Arc::clone(&dropped);
        move |key: u32, failure: Failure<String>| {
            let message = match failure {
                Failure::Panic(message) => message,
                Failure::Error(error) => panic!("unexpected error {error}"),
            };
            dropped.lock().unwrap().push((key, message));
        }
    };
    let pool = run_pool(
        WorkerPool::new(2).unwrap().max_retries(2),
        &queue,
        handler,
        on_dropped,
    );
    queue.add_batch([1, 2]);
    wait_until("key 1 succeeded and key 2 was dropped", || {
        attempts.lock().unwrap().get(&1) == Some(&2) && dropped.lock().unwrap().len() == 1
    });
    let report = finish(&queue, &pool);
    assert_eq!(
        report,
        WorkerReport {
            succeeded: 1,
            retried: 1 + 2,
            dropped: 1,
            panicked: 1 + 3,
            abandoned: 0,
        }
    );
    assert_eq!(
        *dropped.lock().unwrap(),
        vec![(2, "handler blew up on 2".to_owned())]
    );
}

/// Workers waiting on an empty queue return once a drain completes, after
/// processing everything that was queued, each key by one worker at a time.
#[test]
fn workers_return_cleanly_on_shutdown_with_drain() {
    let queue = fast_queue();
    let busy = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let runs = Arc::new(AtomicUsize::new(0));
    let handler = {
        let (busy, runs) = (Arc::clone(&busy), Arc::clone(&runs));
        move |key: &u32| {
            assert!(busy.lock().unwrap().insert(*key), "key {key} held twice");
            thread::yield_now();
            runs.fetch_add(1, Ordering::SeqCst);
            busy.lock().unwrap().remove(key);
            Ok(())
        }
    };
    let pool = run_pool(WorkerPool::new(4).unwrap(), &queue, handler, |_, _| {});
    thread::sleep(Duration::from_millis(20)); // let the workers block
    for round in 0..20 {
        queue.add_batch((0..50).map(|k| k + round % 2));
    }
    let report = finish(&queue, &pool);
    assert_eq!(report.succeeded, runs.load(Ordering::SeqCst) as u64);
    assert!(report.succeeded >= 51, "every distinct key ran");
    assert_eq!(
        (
            report.retried,
            report.dropped,
            report.panicked,
            report.abandoned
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(queue.len(), 0);
    assert_eq!(queue.processing_len(), 0);
}

/// `run` (without a drop callback) returns on plain shutdown too.
#[test]
fn run_returns_on_plain_shutdown() {
    let queue = fast_queue();
    let (tx, rx) = mpsc::channel();
    let (ran, runs) = mpsc::channel();
    {
        let queue = queue.clone();
        thread::spawn(move || {
            let report = WorkerPool::new(2).unwrap().run(&queue, |_key: &u32| {
                let _ = ran.send(());
                Err::<(), _>("always")
            });
            let _ = tx.send(report);
        });
    }
    queue.add(9);
    // A second run comes from an accepted retry (a queue shutting down
    // refuses a retry: that run is abandoned).
    for run in ["a first run", "a retry"] {
        runs.recv_timeout(LONG).expect(run);
    }
    queue.shutdown();
    let report = rx
        .recv_timeout(LONG)
        .expect("workers return after shutdown");
    assert!(report.retried >= 1, "{report:?}");
    assert_eq!(report.succeeded, 0);
    let handler_runs = 2 + runs.try_iter().count() as u64;
    assert_eq!(
        report.succeeded + report.retried + report.dropped + report.abandoned,
        handler_runs,
        "every run counted once: {report:?}"
    );
}

/// Runs that fail once the queue is shutting down are abandoned: the queue
/// refuses their retry. Four workers each hold one key until the test has
/// shut the queue down; then two keys fail, one panics, one succeeds.
#[test]
fn failures_while_shutting_down_are_abandoned() {
    const KEYS: u32 = 4;
    let queue = fast_queue();
    // Two rendezvous of the four handlers and the test: every key is held
    // by a worker; the queue has been shut down.
    let barrier = Arc::new(std::sync::Barrier::new(KEYS as usize + 1));
    let runs = Arc::new(AtomicUsize::new(0));
    let handler = {
        let (barrier, runs) = (Arc::clone(&barrier), Arc::clone(&runs));
        move |key: &u32| {
            runs.fetch_add(1, Ordering::SeqCst);
            barrier.wait();
            barrier.wait();
            match key {
                0 | 1 => Err(format!("{key} failed during the shutdown")),
                2 => panic!("{key} panicked during the shutdown"),
                _ => Ok(()),
            }
        }
    };
    let pool = run_pool(
        WorkerPool::new(KEYS as usize).unwrap(),
        &queue,
        handler,
        |key, _| panic!("key {key} reported dropped"),
    );
    queue.add_batch(0..KEYS);
    barrier.wait();
    queue.shutdown();
    barrier.wait();
    let report = pool
        .recv_timeout(LONG)
        .expect("the workers return after shutdown");
    assert_eq!(
        report,
        WorkerReport {
            succeeded: 1,
            retried: 0,
            dropped: 0,
            panicked: 1,
            abandoned: 3,
        }
    );
    assert_eq!(
        report.succeeded + report.retried + report.dropped + report.abandoned,
        runs.load(Ordering::SeqCst) as u64
    );
    assert_eq!(queue.len() + queue.delayed_len(), 0, "nothing requeued");
}

/// A handler that shuts the queue down itself: its failure, and those of
/// the keys still queued (handed out until the queue is exhausted), are
/// abandoned; a key out of retries is still dropped.
#[test]
fn a_handler_that_shuts_down_abandons_its_failures() {
    let clock = ManualClock::new();
    let queue: Queue<u32> = Queue::builder().clock(&clock).build();
    let runs = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(Mutex::new(Vec::new()));
    let handler = {
        let (runs, queue) = (Arc::clone(&runs), queue.clone());
        move |key: &u32| {
            runs.fetch_add(1, Ordering::SeqCst);
            queue.shutdown();
            Err(format!("{key} failed"))
        }
    };
    let on_dropped = {
        let dropped = Arc::clone(&dropped);
        move |key: u32, _failure: Failure<String>| dropped.lock().unwrap().push(key)
    };
    // Key 3 has used up its retries already: it is dropped, not abandoned.
    // (Its retries wait for a clock that never moves; the shutdown drops
    // them.)
    for _ in 0..2 {
        assert!(queue.add_rate_limited(3).is_some());
    }
    queue.add_batch([1, 2, 3]);
    let pool = run_pool(
        WorkerPool::new(1).unwrap().max_retries(2),
        &queue,
        handler,
        on_dropped,
    );
    let report = pool
        .recv_timeout(LONG)
        .expect("the worker returns once the queue is exhausted");
    assert_eq!(
        report,
        WorkerReport {
            succeeded: 0,
            retried: 0,
            dropped: 1,
            panicked: 0,
            abandoned: 2,
        }
    );
    assert_eq!(*dropped.lock().unwrap(), vec![3]);
    assert_eq!(
        report.succeeded + report.retried + report.dropped + report.abandoned,
        runs.load(Ordering::SeqCst) as u64
    );
    assert_eq!(
        queue.num_requeues(&1),
        0,
        "an abandoned key was never retried"
    );
}

/// A limiter that shuts its queue down while it is asked for a delay:
/// the shutdown lands between `add_rate_limited`'s check of the flag and
/// its add.
struct ShutsDownWhenAsked(Arc<Mutex<Option<Queue<u32>>>>);

impl RateLimiter<u32> for ShutsDownWhenAsked {
    fn when(&self, _key: &u32, _now: Timestamp) -> Duration {
        if let Some(queue) = self.0.lock().unwrap().take() {
            queue.shutdown();
        }
        Duration::ZERO
    }

    fn forget(&self, _key: &u32) {}

    fn num_requeues(&self, _key: &u32) -> u32 {
        0
    }
}

/// A shutdown that comes while the retry is being decided refuses it: the
/// run is abandoned, not counted retried.
#[test]
fn a_shutdown_racing_the_retry_abandons_the_run() {
    let slot = Arc::new(Mutex::new(None));
    let queue: Queue<u32> = Queue::builder()
        .rate_limiter(ShutsDownWhenAsked(Arc::clone(&slot)))
        .build();
    *slot.lock().unwrap() = Some(queue.clone());
    queue.add(1);
    let report = WorkerPool::new(1)
        .unwrap()
        .run(&queue, |_key: &u32| Err::<(), _>("fails"));
    assert_eq!(
        report,
        WorkerReport {
            abandoned: 1,
            ..WorkerReport::default()
        }
    );
    assert!(slot.lock().unwrap().is_none(), "the limiter was asked");
    assert_eq!(queue.len(), 0, "the retry was refused");
}

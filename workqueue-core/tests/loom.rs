//! Loom model checks of the queue's blocking protocols: every interleaving
//! (up to a preemption bound) of a few threads doing a few operations.
//!
//! Run with:
//! `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p workqueue-core --release --test loom`
//!
//! Loom's `Condvar::wait_timeout` never times out, so the models use only
//! untimed operations. A lost wakeup shows up as loom reporting a deadlock.
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::thread;
use std::sync::Arc;
use std::time::Duration;
use workqueue_core::{ManualClock, Queue, Semaphore};

/// Runs `f` under loom with a preemption bound of 4 unless
/// `LOOM_MAX_PREEMPTIONS` asks for another. Bound 4 runs every model here
/// in about 10 s on two cores; 5 takes about a minute (most of it the
/// two-worker model) and found nothing more.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        builder.preemption_bound = Some(4);
    }
    builder.check(f);
}

/// A worker: takes keys until the queue is shut down and exhausted,
/// checking no other worker holds the key, and recording the largest
/// `version` seen right after each get.
fn worker(
    queue: Queue<u8>,
    busy: Arc<AtomicBool>,
    version: Arc<AtomicUsize>,
    seen: Arc<AtomicUsize>,
) -> thread::JoinHandle<usize> {
    thread::spawn(move || {
        let mut runs = 0;
        while let Some(key) = queue.get() {
            assert!(!busy.swap(true, Ordering::SeqCst), "key held twice");
            seen.fetch_max(version.load(Ordering::SeqCst), Ordering::SeqCst);
            runs += 1;
            busy.store(false, Ordering::SeqCst);
            queue.done(&key);
        }
        runs
    })
}

/// One worker, and a re-add racing with its get and done: the re-add is
/// never lost (a run starts after it), and the drain sees it through.
#[test]
fn a_re_add_while_processing_is_not_lost() {
    model(|| {
        let queue: Queue<u8> = Queue::new();
        let busy = Arc::new(AtomicBool::new(false));
        let version = Arc::new(AtomicUsize::new(1));
        let seen = Arc::new(AtomicUsize::new(0));
        queue.add(0);
        let handle = worker(queue.clone(), busy, version.clone(), seen.clone());
        version.store(2, Ordering::SeqCst);
        queue.add(0);
        assert!(queue.shutdown_with_drain());
        let runs = handle.join().unwrap();
        assert!((1..=2).contains(&runs));
        assert_eq!(seen.load(Ordering::SeqCst), 2, "the re-add was lost");
        assert_eq!(queue.processing_len(), 0);
    });
}

/// Two workers and a re-add: the key is never held by both, and the
/// re-add is processed.
#[test]
fn two_workers_never_hold_one_key() {
    model(|| {
        let queue: Queue<u8> = Queue::new();
        let busy = Arc::new(AtomicBool::new(false));
        let version = Arc::new(AtomicUsize::new(1));
        let seen = Arc::new(AtomicUsize::new(0));
        queue.add(0);
        let a = worker(queue.clone(), busy.clone(), version.clone(), seen.clone());
        let b = worker(queue.clone(), busy, version.clone(), seen.clone());
        version.store(2, Ordering::SeqCst);
        queue.add(0);
        assert!(queue.shutdown_with_drain());
        let runs = a.join().unwrap() + b.join().unwrap();
        assert!((1..=2).contains(&runs));
        assert_eq!(seen.load(Ordering::SeqCst), 2, "the re-add was lost");
    });
}

/// Shutdown wakes every blocked getter: two getters, both released.
#[test]
fn shutdown_releases_every_blocked_get() {
    model(|| {
        let queue: Queue<u8> = Queue::new();
        let getters: Vec<_> = (0..2)
            .map(|_| {
                let queue = queue.clone();
                thread::spawn(move || queue.get())
            })
            .collect();
        queue.shutdown();
        for getter in getters {
            assert_eq!(getter.join().unwrap(), None);
        }
    });
}

/// An add and a shutdown racing with a blocked getter: the getter gets the
/// key (added before shutdown) or, if the add lost the race, shutdown.
#[test]
fn add_racing_shutdown_wakes_the_getter() {
    model(|| {
        let queue: Queue<u8> = Queue::new();
        let getter = {
            let queue = queue.clone();
            thread::spawn(move || queue.get())
        };
        let added = {
            let queue = queue.clone();
            thread::spawn(move || queue.add(7))
        };
        queue.shutdown();
        let added = added.join().unwrap();
        let got = getter.join().unwrap();
        assert_eq!(got, added.then_some(7), "an accepted key must come out");
    });
}

/// A drain waits for a done from another thread, including the done of a
/// key that was still queued when the drain began (kubernetes#141079).
#[test]
fn drain_waits_for_a_done_from_another_thread() {
    model(|| {
        let queue: Queue<u8> = Queue::new();
        queue.add(0);
        queue.add(1);
        let first = queue.get().unwrap();
        let all_done = Arc::new(AtomicBool::new(false));
        let drain = {
            let (queue, all_done) = (queue.clone(), all_done.clone());
            thread::spawn(move || {
                assert!(queue.shutdown_with_drain());
                assert!(
                    all_done.load(Ordering::SeqCst),
                    "returned before the last done"
                );
                assert_eq!(queue.len() + queue.processing_len(), 0);
            })
        };
        queue.done(&first);
        let second = queue.get().expect("a queued key is handed out in a drain");
        all_done.store(true, Ordering::SeqCst);
        queue.done(&second);
        drain.join().unwrap();
    });
}

/// A key added again while processing comes back at done during a drain,
/// and a getter blocked meanwhile takes it instead of seeing shutdown.
#[test]
fn drain_hands_a_dirty_key_to_a_blocked_getter() {
    model(|| drain_a_dirty_key(1));
}

/// Two getters blocked while a drain starts: the drain's broadcast wakes
/// both, and the dirty key's requeue claims a wakeup for one that went
/// back to sleep after the broadcast. A getter woken by the broadcast must
/// leave that wakeup to it: if it took it, the last getter would sleep
/// through the end of the drain.
#[test]
fn a_broadcast_woken_getter_leaves_a_later_wakeup_alone() {
    model(|| drain_a_dirty_key(2));
}

/// `workers` workers and a drain, while this thread finishes a key that
/// was added again during its run: the drain completes, every worker
/// returns, and the key ran once more.
fn drain_a_dirty_key(workers: usize) {
    let queue: Queue<u8> = Queue::new();
    queue.add(0);
    let key = queue.get().unwrap();
    queue.add(0);
    let busy = Arc::new(AtomicBool::new(false));
    let version = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..workers)
        .map(|_| worker(queue.clone(), busy.clone(), version.clone(), seen.clone()))
        .collect();
    let drain = {
        let queue = queue.clone();
        thread::spawn(move || queue.shutdown_with_drain())
    };
    queue.done(&key);
    assert!(drain.join().unwrap());
    let runs: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(runs, 1, "the dirty key ran once more");
}

/// A plain shutdown releases a waiting drain, which reports it did not
/// drain.
#[test]
fn a_later_shutdown_releases_a_drain() {
    model(|| {
        let queue: Queue<u8> = Queue::new();
        queue.add(0);
        let key = queue.get().unwrap();
        let drain = {
            let queue = queue.clone();
            thread::spawn(move || queue.shutdown_with_drain())
        };
        while !queue.shutting_down() {
            thread::yield_now();
        }
        queue.shutdown();
        assert!(!drain.join().unwrap(), "released, not drained");
        assert!(queue.done(&key));
    });
}

/// A step of a manual clock from another thread wakes a getter blocked on
/// a delayed key.
#[test]
fn a_manual_clock_step_wakes_a_blocked_get() {
    model(|| {
        let clock = ManualClock::new();
        let queue: Queue<u8> = Queue::builder().clock(&clock).build();
        queue.add_after(3, Duration::from_secs(1));
        let getter = {
            let queue = queue.clone();
            thread::spawn(move || queue.get())
        };
        clock.step(Duration::from_secs(1));
        assert_eq!(getter.join().unwrap(), Some(3));
    });
}

/// A release wakes an acquirer blocked on an exhausted semaphore, and a
/// racing `try_acquire` can take the permit only once between them.
#[test]
fn a_semaphore_release_wakes_a_blocked_acquire() {
    model(|| {
        let semaphore = Arc::new(Semaphore::new(1).unwrap());
        semaphore.acquire();
        let acquirer = {
            let semaphore = semaphore.clone();
            thread::spawn(move || semaphore.acquire())
        };
        let trier = {
            let semaphore = semaphore.clone();
            thread::spawn(move || semaphore.try_acquire())
        };
        semaphore.release().unwrap();
        let tried = trier.join().unwrap();
        if tried {
            // The trier holds the only permit: let the acquirer have it.
            semaphore.release().unwrap();
        }
        acquirer.join().unwrap();
        assert_eq!(semaphore.available(), 0);
    });
}

/// A getter still waking from a broadcast (a manual clock step) must not
/// keep the permit an add sent to a getter that lay down after it: the
/// second getter would sleep on with its key ready, `woken` counting a
/// wakeup that never comes.
#[test]
fn a_broadcast_woken_getter_does_not_take_another_getters_permit() {
    model(|| {
        let clock = ManualClock::new();
        let queue: Queue<u8> = Queue::builder().clock(&clock).build();
        let getters: Vec<_> = (0..2)
            .map(|_| {
                let queue = queue.clone();
                thread::spawn(move || {
                    let key = queue.get().unwrap();
                    queue.done(&key);
                })
            })
            .collect();
        clock.step(Duration::from_secs(1));
        queue.add(1);
        queue.add(2);
        for getter in getters {
            getter.join().unwrap();
        }
    });
}

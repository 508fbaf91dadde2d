//! The counting semaphore (client-go's token channel).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};
use workqueue_core::{ReleaseError, Semaphore};

const SHORT: Duration = Duration::from_millis(50);
const LONG: Duration = Duration::from_secs(10);

#[test]
fn capacity_zero_is_rejected() {
    let error = Semaphore::new(0).unwrap_err();
    assert_eq!(error.argument(), "permits");
}

#[test]
fn try_acquire_and_release_count_permits() {
    let semaphore = Semaphore::new(2).unwrap();
    assert_eq!(semaphore.capacity(), 2);
    assert_eq!(semaphore.available(), 2);
    assert!(semaphore.try_acquire());
    assert!(semaphore.try_acquire());
    assert!(!semaphore.try_acquire(), "both permits are held");
    assert_eq!(semaphore.available(), 0);
    assert_eq!(semaphore.release(), Ok(()));
    assert_eq!(semaphore.available(), 1);
    semaphore.acquire(); // does not block: one is available
    assert_eq!(semaphore.available(), 0);
    assert_eq!(semaphore.release(), Ok(()));
    assert_eq!(semaphore.release(), Ok(()));
    assert_eq!(
        semaphore.release(),
        Err(ReleaseError),
        "a release beyond capacity is an error"
    );
    assert_eq!(semaphore.available(), 2, "and changes nothing");
}

#[test]
fn acquire_timeout_gives_up_not_before_the_timeout() {
    let semaphore = Semaphore::new(1).unwrap();
    assert!(
        semaphore.acquire_timeout(Duration::from_secs(3600)),
        "free: at once"
    );
    let started = Instant::now();
    assert!(!semaphore.acquire_timeout(Duration::from_millis(30)));
    assert!(started.elapsed() >= Duration::from_millis(30));
    assert!(!semaphore.acquire_timeout(Duration::ZERO));
    assert_eq!(
        semaphore.available(),
        0,
        "a timed-out acquire takes nothing"
    );
    semaphore.release().unwrap();
    assert!(
        semaphore.acquire_timeout(Duration::MAX),
        "a huge timeout is fine"
    );
}

#[test]
fn permits_are_released_when_dropped() {
    let semaphore = Semaphore::new(2).unwrap();
    {
        let _a = semaphore.access();
        let b = semaphore.try_access().expect("a second permit");
        assert_eq!(semaphore.available(), 0);
        assert!(semaphore.try_access().is_none());
        assert_eq!(
            semaphore.available(),
            0,
            "a failed try_access released a permit it never took"
        );
        assert!(semaphore.access_timeout(Duration::from_millis(5)).is_none());
        assert_eq!(
            semaphore.available(),
            0,
            "a timed-out access_timeout released a permit it never took"
        );
        drop(b);
        assert_eq!(semaphore.available(), 1);
        let _c = semaphore
            .access_timeout(Duration::from_secs(1))
            .expect("free");
        assert_eq!(semaphore.available(), 0);
    }
    assert_eq!(semaphore.available(), 2);
}

/// An acquirer blocked on an exhausted semaphore is woken by a release
/// from another thread.
#[test]
fn blocked_acquire_is_woken_by_release() {
    let semaphore = Arc::new(Semaphore::new(1).unwrap());
    semaphore.acquire();
    let (tx, rx) = mpsc::channel();
    for timed in [false, true] {
        let semaphore = Arc::clone(&semaphore);
        let tx = tx.clone();
        thread::spawn(move || {
            if timed {
                assert!(semaphore.acquire_timeout(Duration::from_secs(3600)));
            } else {
                semaphore.acquire();
            }
            tx.send(timed).unwrap();
        });
    }
    assert!(rx.recv_timeout(SHORT).is_err(), "acquired a held permit");
    semaphore.release().unwrap();
    let first = rx.recv_timeout(LONG).expect("a release wakes one acquirer");
    assert!(rx.recv_timeout(SHORT).is_err(), "one release, one acquirer");
    semaphore.release().unwrap();
    let second = rx
        .recv_timeout(LONG)
        .expect("the second release wakes the other");
    assert_ne!(first, second);
    semaphore.release().unwrap();
    assert_eq!(semaphore.available(), 1);
}

/// Never more than `capacity` holders at once, under contention.
#[test]
fn never_more_holders_than_permits() {
    const CAPACITY: usize = 3;
    let semaphore = Arc::new(Semaphore::new(CAPACITY).unwrap());
    let holders = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (semaphore, holders, most) = (
                Arc::clone(&semaphore),
                Arc::clone(&holders),
                Arc::clone(&most),
            );
            thread::spawn(move || {
                for round in 0..2_000 {
                    let permit = match (i + round) % 3 {
                        0 => Some(semaphore.access()),
                        1 => semaphore.try_access(),
                        _ => semaphore.access_timeout(Duration::from_millis(1)),
                    };
                    if let Some(permit) = permit {
                        let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        if round % 64 == 0 {
                            thread::yield_now();
                        }
                        holders.fetch_sub(1, Ordering::SeqCst);
                        drop(permit);
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert!(most.load(Ordering::SeqCst) <= CAPACITY);
    assert_eq!(semaphore.available(), CAPACITY);
}

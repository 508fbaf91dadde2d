//! Rate limiters (CONFORMANCE.md, Rate limiting): exact delays, argument
//! checks, and the bounded memory of per-key limiters.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use workqueue_core::rate_limit::{
    default_controller_rate_limiter, default_item_based_rate_limiter, ExponentialBackoff, FastSlow,
    MaxOf, MaxWait, TokenBucket,
};
use workqueue_core::{ConfigError, ManualClock, RateLimiter, Timestamp};

const T0: Timestamp = Timestamp::ZERO;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn delays<K, L: RateLimiter<K> + ?Sized>(limiter: &L, key: &K, n: usize) -> Vec<Duration> {
    (0..n).map(|_| limiter.when(key, T0)).collect()
}

fn assert_rejects<T>(result: Result<T, ConfigError>, argument: &str) {
    match result {
        Ok(_) => panic!("accepted an invalid {argument}"),
        Err(error) => {
            assert_eq!(error.argument(), argument, "{error}");
            assert!(!error.problem().is_empty());
            assert!(error.to_string().contains(argument), "{error}");
        }
    }
}

// ---------------------------------------------------------- exponential

/// [TestItemExponentialFailureRateLimiter]
#[test]
fn exponential_doubles_per_key_and_forget_resets() {
    let limiter = ExponentialBackoff::new(ms(1), Duration::from_secs(1)).unwrap();
    assert_eq!(
        delays(&limiter, &"one", 5),
        vec![ms(1), ms(2), ms(4), ms(8), ms(16)]
    );
    assert_eq!(limiter.num_requeues(&"one"), 5);
    assert_eq!(limiter.when(&"two", T0), ms(1), "keys are independent");
    assert_eq!(limiter.when(&"two", T0), ms(2));
    assert_eq!(limiter.num_requeues(&"two"), 2);
    limiter.forget(&"one");
    assert_eq!(limiter.num_requeues(&"one"), 0);
    assert_eq!(
        limiter.when(&"one", T0),
        ms(1),
        "forget restarts the backoff"
    );
    assert_eq!(limiter.num_requeues(&"two"), 2, "forget is per key");
}

#[test]
fn exponential_is_capped_at_max() {
    let limiter = ExponentialBackoff::new(ms(1), ms(10)).unwrap();
    assert_eq!(
        delays(&limiter, &0u8, 7),
        vec![ms(1), ms(2), ms(4), ms(8), ms(10), ms(10), ms(10)]
    );
}

/// [TestItemExponentialFailureRateLimiterOverFlow] After a thousand
/// failures the delay is exactly the maximum: never zero, negative or
/// wrapped.
#[test]
fn exponential_never_overflows() {
    let max = Duration::from_secs(1000);
    let limiter = ExponentialBackoff::new(ms(1), max).unwrap();
    let all = delays(&limiter, &0u8, 1000);
    assert!(all.windows(2).all(|w| w[0] <= w[1]), "never decreases");
    assert_eq!(all[999], max);
    assert_eq!(limiter.when(&0u8, T0), max);
    assert_eq!(limiter.num_requeues(&0u8), 1001);

    // Delays near the top of `Duration`'s range do not wrap either.
    let huge = ExponentialBackoff::new(Duration::from_secs(1 << 62), Duration::MAX).unwrap();
    let all = delays(&huge, &0u8, 100);
    assert_eq!(all[0], Duration::from_secs(1 << 62));
    assert_eq!(all[1], Duration::from_secs(1 << 63));
    assert!(
        all[2..].iter().all(|d| *d == Duration::MAX),
        "{:?}",
        &all[..4]
    );

    // A cap that is no power-of-two multiple of the base is hit exactly.
    let odd = ExponentialBackoff::new(Duration::from_nanos(1), Duration::from_nanos(999)).unwrap();
    assert_eq!(
        delays(&odd, &0u8, 12)[8..],
        [256, 512, 999, 999].map(Duration::from_nanos)
    );
}

#[test]
fn exponential_rejects_bad_arguments() {
    assert_rejects(
        ExponentialBackoff::<u8>::new(Duration::ZERO, ms(1)),
        "base delay",
    );
    assert_rejects(ExponentialBackoff::<u8>::new(ms(2), ms(1)), "max delay");
    assert_rejects(
        ExponentialBackoff::<u8>::with_max_tracked_keys(ms(1), ms(2), 0),
        "max tracked keys",
    );
    assert!(
        ExponentialBackoff::<u8>::new(ms(1), ms(1)).is_ok(),
        "max == base is fine"
    );
}

#[test]
fn default_item_based_is_exponential_1ms_to_1000s() {
    let limiter = default_item_based_rate_limiter::<u8>();
    assert_eq!(delays(&limiter, &0, 3), vec![ms(1), ms(2), ms(4)]);
    let rest = delays(&limiter, &0, 40);
    assert_eq!(*rest.last().unwrap(), Duration::from_secs(1000));
}

// ------------------------------------------------------------ fast/slow

/// [TestItemFastSlowRateLimiter]
#[test]
fn fast_slow_switches_after_max_fast_attempts() {
    let limiter = FastSlow::new(ms(5), Duration::from_secs(10), 3).unwrap();
    let slow = Duration::from_secs(10);
    assert_eq!(
        delays(&limiter, &"one", 5),
        vec![ms(5), ms(5), ms(5), slow, slow]
    );
    assert_eq!(limiter.num_requeues(&"one"), 5);
    assert_eq!(limiter.when(&"two", T0), ms(5), "keys are independent");
    limiter.forget(&"one");
    assert_eq!(limiter.num_requeues(&"one"), 0);
    assert_eq!(limiter.when(&"one", T0), ms(5));

    let never_fast = FastSlow::new(ms(5), slow, 0).unwrap();
    assert_eq!(never_fast.when(&0u8, T0), slow);
    assert_rejects(
        FastSlow::<u8>::with_max_tracked_keys(ms(1), ms(2), 1, 0),
        "max tracked keys",
    );
}

// --------------------------------------------------------------- max-of

/// A limiter that counts `forget` calls and reports a fixed requeue count.
struct Fixed {
    delay: Duration,
    requeues: u32,
    forgets: Arc<AtomicU32>,
}

impl RateLimiter<u8> for Fixed {
    fn when(&self, _key: &u8, _now: Timestamp) -> Duration {
        self.delay
    }
    fn forget(&self, _key: &u8) {
        self.forgets.fetch_add(1, Ordering::SeqCst);
    }
    fn num_requeues(&self, _key: &u8) -> u32 {
        self.requeues
    }
}

/// [TestMaxOfRateLimiter] The largest delay of its members, each of which
/// counts the failure.
#[test]
fn max_of_takes_the_largest_delay_and_asks_every_member() {
    let fast_slow = Arc::new(FastSlow::new(ms(5), Duration::from_secs(3), 3).unwrap());
    let exponential = Arc::new(ExponentialBackoff::new(ms(1), Duration::from_secs(1)).unwrap());
    let limiter = MaxOf::new(vec![
        Box::new(Arc::clone(&fast_slow)),
        Box::new(Arc::clone(&exponential)),
    ])
    .unwrap();
    let three = Duration::from_secs(3);
    assert_eq!(
        delays(&limiter, &"one", 5),
        vec![ms(5), ms(5), ms(5), three, three]
    );
    assert_eq!(
        exponential.num_requeues(&"one"),
        5,
        "every member was asked"
    );
    assert_eq!(fast_slow.num_requeues(&"one"), 5);
    // Whichever member is larger at each failure wins.
    let exp_only = MaxOf::new(vec![
        Box::new(FastSlow::new(ms(5), ms(6), 1).unwrap()),
        Box::new(ExponentialBackoff::new(ms(1), Duration::from_secs(1)).unwrap()),
    ])
    .unwrap();
    assert_eq!(
        delays(&exp_only, &0u8, 5),
        vec![ms(5), ms(6), ms(6), ms(8), ms(16)]
    );

    limiter.forget(&"one");
    assert_eq!(limiter.num_requeues(&"one"), 0);
    assert_eq!(
        exponential.num_requeues(&"one"),
        0,
        "forget reached the member"
    );
    assert_eq!(
        fast_slow.num_requeues(&"one"),
        0,
        "forget reached the member"
    );
}

#[test]
fn max_of_reports_the_largest_requeue_count_and_forgets_everywhere() {
    let forgets = Arc::new(AtomicU32::new(0));
    let member = |delay, requeues| -> Box<dyn RateLimiter<u8>> {
        Box::new(Fixed {
            delay,
            requeues,
            forgets: Arc::clone(&forgets),
        })
    };
    let limiter = MaxOf::new(vec![member(ms(3), 2), member(ms(9), 7), member(ms(1), 4)]).unwrap();
    assert_eq!(limiter.when(&0, T0), ms(9));
    assert_eq!(limiter.num_requeues(&0), 7, "the largest, not the first");
    limiter.forget(&0);
    assert_eq!(
        forgets.load(Ordering::SeqCst),
        3,
        "forget reached every member"
    );
    assert_rejects(MaxOf::<u8>::new(Vec::new()), "limiters");
}

// ------------------------------------------------------------- max-wait

/// [TestWithMaxWaitRateLimiter]
#[test]
fn max_wait_caps_the_inner_delay() {
    let inner = ExponentialBackoff::new(ms(1), Duration::from_secs(1000)).unwrap();
    let limiter = MaxWait::new(Box::new(inner), ms(5));
    assert_eq!(
        delays(&limiter, &0u8, 5),
        vec![ms(1), ms(2), ms(4), ms(5), ms(5)]
    );
    assert_eq!(limiter.num_requeues(&0), 5, "the inner count");
    limiter.forget(&0);
    assert_eq!(limiter.num_requeues(&0), 0);
    assert_eq!(limiter.when(&0, T0), ms(1));
}

// --------------------------------------------------------- token bucket

/// Delays computed in floating point may be off by a rounding step.
fn assert_close(actual: Duration, expected: Duration) {
    // `Duration::abs_diff` is newer than the crate's minimum Rust.
    let diff = actual.max(expected) - actual.min(expected);
    assert!(
        diff <= Duration::from_micros(1),
        "{actual:?} is not {expected:?}"
    );
}

/// The first `burst` calls are free, then each waits one more 1/rate;
/// time on the clock refills the bucket, never above `burst`.
#[test]
fn token_bucket_burst_then_one_per_interval() {
    let clock = ManualClock::new();
    let bucket = TokenBucket::new(10.0, 3).unwrap();
    let when = |key: u8| bucket.when(&key, clock.now());
    assert_eq!([when(0), when(1), when(2)], [Duration::ZERO; 3], "burst");
    assert_close(when(3), ms(100));
    assert_close(when(4), ms(200));
    assert_close(when(5), ms(300));

    // 300 ms later the three reserved tokens exist and are spent.
    clock.step(ms(300));
    assert_close(when(6), ms(100));
    clock.step(ms(100));
    assert_close(when(7), ms(100));

    // A long pause refills to the burst, not beyond.
    clock.step(Duration::from_secs(60));
    assert_eq!([when(8), when(9), when(10)], [Duration::ZERO; 3]);
    assert_close(when(11), ms(100));

    // Keys are not told apart.
    assert_eq!(RateLimiter::<u8>::num_requeues(&bucket, &0), 0);
    RateLimiter::<u8>::forget(&bucket, &0);
    assert_close(when(0), ms(200));
}

#[test]
fn token_bucket_fractional_rate() {
    let bucket = TokenBucket::new(2.0, 1).unwrap();
    let now = Timestamp::from_nanos(5_000_000_000);
    assert_eq!(bucket.when(&0u8, now), Duration::ZERO);
    assert_close(bucket.when(&0u8, now), ms(500));
    assert_close(bucket.when(&0u8, now), ms(1000));
    // 1.5 s later the two promised tokens and one more exist.
    assert_eq!(bucket.when(&0u8, now + ms(1500)), Duration::ZERO);
    assert_close(bucket.when(&0u8, now + ms(1500)), ms(500));

    // A rate so small that the wait does not fit a `Duration` saturates.
    let tiny = TokenBucket::new(f64::MIN_POSITIVE, 1).unwrap();
    assert_eq!(tiny.when(&0u8, now), Duration::ZERO);
    assert!(tiny.when(&0u8, now) >= Duration::from_secs(u64::MAX));
}

#[test]
fn token_bucket_rejects_bad_arguments() {
    for rate in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 0.0, -0.0] {
        assert_rejects(TokenBucket::new(rate, 10), "rate");
    }
    assert_rejects(TokenBucket::new(1.0, 0), "burst");
}

// ------------------------------------------------------ default limiter

/// max(exponential 5 ms..1000 s, bucket 10/s burst 100): per-key backoff
/// while the bucket has tokens, the bucket's wait once it is empty.
#[test]
fn default_controller_rate_limiter_combines_backoff_and_bucket() {
    let limiter = default_controller_rate_limiter::<u32>();
    for key in 0..100 {
        assert_eq!(limiter.when(&key, T0), ms(5), "key {key}: burst of 100");
    }
    assert_close(limiter.when(&100, T0), ms(100));
    assert_close(limiter.when(&101, T0), ms(200));

    // Much later the bucket is full again: the per-key backoff shows.
    let later = T0 + Duration::from_secs(3600);
    assert_eq!(limiter.when(&0, later), ms(10));
    assert_eq!(limiter.when(&0, later), ms(20));
    assert_eq!(limiter.num_requeues(&0), 3);
    for _ in 0..40 {
        limiter.when(&0, later);
    }
    assert_eq!(limiter.when(&0, later), Duration::from_secs(1000), "capped");
    limiter.forget(&0);
    assert_eq!(limiter.num_requeues(&0), 0);
}

// ------------------------------------------------------- bounded memory

/// A controller that never calls `forget` must not grow the limiter
/// without bound: at most `n` keys are tracked, the least recently failed
/// are dropped, and a dropped key starts its backoff again.
#[test]
fn exponential_tracks_at_most_max_keys() {
    const MAX: usize = 64;
    let limiter = ExponentialBackoff::with_max_tracked_keys(ms(1), ms(1000), MAX).unwrap();
    for key in 0..MAX as u32 {
        limiter.when(&key, T0);
    }
    assert_eq!(limiter.tracked_keys(), MAX);
    // Key 0 fails again: now the most recent. Key 1 is the least recent.
    assert_eq!(limiter.when(&0, T0), ms(2));
    limiter.when(&1000, T0); // full: something must go
    assert!(limiter.tracked_keys() <= MAX);
    assert_eq!(limiter.num_requeues(&0), 2, "recently failed key 0 is kept");
    assert_eq!(
        limiter.num_requeues(&1),
        0,
        "least recently failed key 1 dropped"
    );
    assert_eq!(limiter.num_requeues(&1000), 1);
    for key in MAX as u32 - 4..MAX as u32 {
        assert_eq!(limiter.num_requeues(&key), 1, "recent key {key} is kept");
    }
    assert_eq!(limiter.when(&1, T0), ms(1), "a dropped key starts over");

    for key in 0..200_000u32 {
        limiter.when(&key, T0);
        assert!(limiter.tracked_keys() <= MAX, "after key {key}");
    }
}

#[test]
fn fast_slow_tracks_at_most_max_keys() {
    const MAX: usize = 10;
    let limiter = FastSlow::with_max_tracked_keys(ms(1), ms(9), 1, MAX).unwrap();
    for key in 0..10_000u32 {
        limiter.when(&key, T0);
        limiter.when(&key, T0);
        assert!(limiter.tracked_keys() <= MAX, "after key {key}");
    }
    assert_eq!(limiter.num_requeues(&9_999), 2, "the latest key is tracked");
    assert_eq!(limiter.num_requeues(&0), 0, "the oldest is long gone");
}

/// Limiters are shared by every worker thread: concurrent failures of one
/// key are all counted.
#[test]
fn concurrent_failures_are_all_counted() {
    let limiter = Arc::new(ExponentialBackoff::new(ms(1), ms(1000)).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let limiter = Arc::clone(&limiter);
            std::thread::spawn(move || {
                for _ in 0..10_000 {
                    limiter.when(&7u8, T0);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(limiter.num_requeues(&7), 40_000);
}

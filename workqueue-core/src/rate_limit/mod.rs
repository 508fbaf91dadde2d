//! Rate limiters: how long a failed key waits before it is retried.
//!
//! The limiters of client-go's `default_rate_limiters.go`, with its
//! overflow fixed (an exponential limiter never returns a zero or negative
//! delay however many failures it has seen) and with bounded memory: a
//! limiter that tracks keys remembers at most
//! [`DEFAULT_MAX_TRACKED_KEYS`] of them (configurable), forgetting the
//! keys unused for a whole generation when full, so a controller that never
//! calls `forget` does not leak.

mod exponential;
mod fast_slow;
mod key_table;
mod max_of;
mod max_wait;
mod token_bucket;

pub use exponential::ExponentialBackoff;
pub use fast_slow::FastSlow;
pub use key_table::DEFAULT_MAX_TRACKED_KEYS;
pub use max_of::MaxOf;
pub use max_wait::MaxWait;
pub use token_bucket::TokenBucket;

use crate::clock::Timestamp;
use std::sync::Arc;
use std::time::Duration;

/// Decides how long a key waits before its next retry.
///
/// Implementations are shared between threads and synchronise internally.
pub trait RateLimiter<K>: Send + Sync {
    /// The delay before `key` may be retried, counting this call as one
    /// more failure. `now` is the queue's clock, so token buckets follow a
    /// manual clock in tests.
    fn when(&self, key: &K, now: Timestamp) -> Duration;

    /// Stops tracking `key`: its next failure starts from scratch.
    fn forget(&self, key: &K);

    /// How many failures of `key` are being tracked.
    fn num_requeues(&self, key: &K) -> u32;
}

impl<K, L: RateLimiter<K> + ?Sized> RateLimiter<K> for Box<L> {
    fn when(&self, key: &K, now: Timestamp) -> Duration {
        (**self).when(key, now)
    }

    fn forget(&self, key: &K) {
        (**self).forget(key)
    }

    fn num_requeues(&self, key: &K) -> u32 {
        (**self).num_requeues(key)
    }
}

/// A limiter can be shared by several queues through an `Arc`.
impl<K, L: RateLimiter<K> + ?Sized> RateLimiter<K> for Arc<L> {
    fn when(&self, key: &K, now: Timestamp) -> Duration {
        (**self).when(key, now)
    }

    fn forget(&self, key: &K) {
        (**self).forget(key)
    }

    fn num_requeues(&self, key: &K) -> u32 {
        (**self).num_requeues(key)
    }
}

/// client-go's `DefaultControllerRateLimiter`: the larger of a per-key
/// exponential backoff from 5 ms to 1000 s and a global token bucket of
/// 10 keys/s with a burst of 100.
pub fn default_controller_rate_limiter<K: std::hash::Hash + Eq + Clone + Send + 'static>(
) -> MaxOf<K> {
    let backoff = ExponentialBackoff::new(Duration::from_millis(5), Duration::from_secs(1000))
        .expect("constant arguments are valid");
    let bucket = TokenBucket::new(10.0, 100).expect("constant arguments are valid");
    MaxOf::new(vec![Box::new(backoff), Box::new(bucket)]).expect("two members")
}

/// client-go's `DefaultItemBasedRateLimiter`: per-key exponential backoff
/// from 1 ms to 1000 s.
pub fn default_item_based_rate_limiter<K: std::hash::Hash + Eq + Clone>() -> ExponentialBackoff<K> {
    ExponentialBackoff::new(Duration::from_millis(1), Duration::from_secs(1000))
        .expect("constant arguments are valid")
}

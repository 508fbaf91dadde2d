//! A cap on another limiter's delay.

use super::RateLimiter;
use crate::clock::Timestamp;
use std::time::Duration;

/// client-go's `WithMaxWaitRateLimiter`: the inner limiter's delay, never
/// more than `max_wait`.
pub struct MaxWait<K> {
    inner: Box<dyn RateLimiter<K>>,
    max_wait: Duration,
}

impl<K> MaxWait<K> {
    /// Caps `inner` at `max_wait`.
    pub fn new(inner: Box<dyn RateLimiter<K>>, max_wait: Duration) -> Self {
        MaxWait { inner, max_wait }
    }
}

impl<K> RateLimiter<K> for MaxWait<K> {
    fn when(&self, key: &K, now: Timestamp) -> Duration {
        self.inner.when(key, now).min(self.max_wait)
    }

    fn forget(&self, key: &K) {
        self.inner.forget(key);
    }

    fn num_requeues(&self, key: &K) -> u32 {
        self.inner.num_requeues(key)
    }
}

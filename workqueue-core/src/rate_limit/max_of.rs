//! The strictest of several limiters.

use super::RateLimiter;
use crate::clock::Timestamp;
use crate::error::ConfigError;
use std::time::Duration;

/// client-go's `MaxOfRateLimiter`: asks every member (so each counts the
/// failure) and waits the longest delay; `num_requeues` is the largest
/// count and `forget` reaches every member.
pub struct MaxOf<K> {
    limiters: Vec<Box<dyn RateLimiter<K>>>,
}

impl<K> MaxOf<K> {
    /// The maximum of `limiters` (at least one).
    pub fn new(limiters: Vec<Box<dyn RateLimiter<K>>>) -> Result<Self, ConfigError> {
        if limiters.is_empty() {
            return Err(ConfigError::new("limiters", "max-of needs at least one"));
        }
        Ok(MaxOf { limiters })
    }
}

impl<K> RateLimiter<K> for MaxOf<K> {
    fn when(&self, key: &K, now: Timestamp) -> Duration {
        self.limiters
            .iter()
            .map(|limiter| limiter.when(key, now))
            .fold(Duration::ZERO, Duration::max)
    }

    fn forget(&self, key: &K) {
        for limiter in &self.limiters {
            limiter.forget(key);
        }
    }

    fn num_requeues(&self, key: &K) -> u32 {
        self.limiters
            .iter()
            .map(|limiter| limiter.num_requeues(key))
            .max()
            .unwrap_or(0)
    }
}

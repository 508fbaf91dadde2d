//! A few quick retries, then slow ones.

use super::key_table::{KeyTable, DEFAULT_MAX_TRACKED_KEYS};
use super::RateLimiter;
use crate::clock::Timestamp;
use crate::error::ConfigError;
use std::hash::Hash;
use std::time::Duration;

/// client-go's `ItemFastSlowRateLimiter`: the first `max_fast_attempts`
/// failures of a key wait `fast`, later ones wait `slow`.
pub struct FastSlow<K> {
    fast: Duration,
    slow: Duration,
    max_fast_attempts: u32,
    attempts: KeyTable<K, u32>,
}

impl<K: Hash + Eq + Clone> FastSlow<K> {
    /// `max_fast_attempts` retries after `fast`, then retries after `slow`.
    pub fn new(
        fast: Duration,
        slow: Duration,
        max_fast_attempts: u32,
    ) -> Result<Self, ConfigError> {
        Self::with_max_tracked_keys(fast, slow, max_fast_attempts, DEFAULT_MAX_TRACKED_KEYS)
    }

    /// Like [`FastSlow::new`], remembering at most `max_keys` keys.
    pub fn with_max_tracked_keys(
        fast: Duration,
        slow: Duration,
        max_fast_attempts: u32,
        max_keys: usize,
    ) -> Result<Self, ConfigError> {
        if max_keys == 0 {
            return Err(ConfigError::new("max tracked keys", "must be at least 1"));
        }
        Ok(FastSlow {
            fast,
            slow,
            max_fast_attempts,
            attempts: KeyTable::new(max_keys),
        })
    }
    /// How many keys the limiter currently remembers (bounded by the
    /// `max_keys` it was built with).
    pub fn tracked_keys(&self) -> usize {
        self.attempts.len()
    }
}

impl<K: Hash + Eq + Clone + Send> RateLimiter<K> for FastSlow<K> {
    fn when(&self, key: &K, _now: Timestamp) -> Duration {
        let attempts = self.attempts.update(key, |attempts| {
            *attempts = attempts.saturating_add(1);
            *attempts
        });
        if attempts <= self.max_fast_attempts {
            self.fast
        } else {
            self.slow
        }
    }

    fn forget(&self, key: &K) {
        self.attempts.remove(key);
    }

    fn num_requeues(&self, key: &K) -> u32 {
        self.attempts.get(key)
    }
}

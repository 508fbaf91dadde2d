//! Per-key exponential backoff: base · 2^failures, capped at a maximum.

use super::key_table::{KeyTable, DEFAULT_MAX_TRACKED_KEYS};
use super::RateLimiter;
use crate::clock::Timestamp;
use crate::error::ConfigError;
use std::hash::Hash;
use std::time::Duration;

/// client-go's `ItemExponentialFailureRateLimiter`: the n-th failure of a
/// key (counting from 0) waits `base · 2^n`, never more than `max`. Unlike
/// client-go it never overflows: after any number of failures the delay is
/// exactly `max`, never zero or negative.
pub struct ExponentialBackoff<K> {
    base: Duration,
    max: Duration,
    failures: KeyTable<K, u32>,
}

impl<K: Hash + Eq + Clone> ExponentialBackoff<K> {
    /// Backoff from `base` (positive) up to `max` (at least `base`).
    pub fn new(base: Duration, max: Duration) -> Result<Self, ConfigError> {
        Self::with_max_tracked_keys(base, max, DEFAULT_MAX_TRACKED_KEYS)
    }

    /// Like [`ExponentialBackoff::new`], remembering at most `max_keys` keys.
    pub fn with_max_tracked_keys(
        base: Duration,
        max: Duration,
        max_keys: usize,
    ) -> Result<Self, ConfigError> {
        if base.is_zero() {
            return Err(ConfigError::new("base delay", "must be positive"));
        }
        if max < base {
            return Err(ConfigError::new(
                "max delay",
                format!("{max:?} is below the base delay {base:?}"),
            ));
        }
        if max_keys == 0 {
            return Err(ConfigError::new("max tracked keys", "must be at least 1"));
        }
        Ok(ExponentialBackoff {
            base,
            max,
            failures: KeyTable::new(max_keys),
        })
    }

    /// The delay for a key that has failed `failures` times before.
    fn delay_after(&self, failures: u32) -> Duration {
        let max = self.max.as_nanos();
        // u128 holds base (< 2^96 ns) shifted by up to 31 bits; beyond that
        // the cap has long been reached.
        let delay = if failures >= 31 {
            max
        } else {
            (self.base.as_nanos() << failures).min(max)
        };
        duration_from_nanos(delay)
    }

    /// How many keys the limiter currently remembers (bounded by the
    /// `max_keys` it was built with).
    pub fn tracked_keys(&self) -> usize {
        self.failures.len()
    }
}

pub(super) fn duration_from_nanos(nanos: u128) -> Duration {
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    Duration::new(secs, (nanos % 1_000_000_000) as u32)
}

impl<K: Hash + Eq + Clone + Send> RateLimiter<K> for ExponentialBackoff<K> {
    fn when(&self, key: &K, _now: Timestamp) -> Duration {
        let failures = self.failures.update(key, |failures| {
            let before = *failures;
            *failures = failures.saturating_add(1);
            before
        });
        self.delay_after(failures)
    }

    fn forget(&self, key: &K) {
        self.failures.remove(key);
    }

    fn num_requeues(&self, key: &K) -> u32 {
        self.failures.get(key)
    }
}

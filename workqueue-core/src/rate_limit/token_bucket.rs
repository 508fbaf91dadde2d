//! A global token bucket: `burst` keys at once, then `rate` keys a second.

use super::exponential::duration_from_nanos;
use super::RateLimiter;
use crate::clock::Timestamp;
use crate::error::ConfigError;
use crate::spin_lock::SpinLock;
use std::time::Duration;

/// client-go's `BucketRateLimiter` (over `golang.org/x/time/rate`): the
/// bucket starts full with `burst` tokens and refills at `rate` tokens a
/// second; every call takes a token, and a call that finds none reserves
/// the next one and waits until it exists. Keys are not told apart, so
/// `forget` and `num_requeues` do nothing.
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: SpinLock<BucketState>,
}

struct BucketState {
    /// May go negative: tokens already promised to waiting callers.
    tokens: f64,
    last: Option<Timestamp>,
}

impl TokenBucket {
    /// A bucket refilling at `rate` tokens a second (finite, positive)
    /// holding at most `burst` (at least 1).
    pub fn new(rate: f64, burst: u32) -> Result<Self, ConfigError> {
        if !rate.is_finite() || rate <= 0.0 {
            return Err(ConfigError::new(
                "rate",
                format!("{rate} is not a finite, positive number of tokens per second"),
            ));
        }
        if burst == 0 {
            return Err(ConfigError::new(
                "burst",
                "must be at least 1: an empty bucket never lets a key through",
            ));
        }
        Ok(TokenBucket {
            rate,
            burst: f64::from(burst),
            state: SpinLock::new(BucketState {
                tokens: f64::from(burst),
                last: None,
            }),
        })
    }

    /// The time until the next token, taking it.
    fn reserve(&self, now: Timestamp) -> Duration {
        let mut state = self.state.lock();
        if let Some(last) = state.last {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            state.tokens = (state.tokens + elapsed * self.rate).min(self.burst);
        }
        state.last = Some(now);
        state.tokens -= 1.0;
        if state.tokens >= 0.0 {
            return Duration::ZERO;
        }
        let wait_nanos = (-state.tokens / self.rate * 1e9).ceil();
        duration_from_nanos(wait_nanos as u128)
    }
}

impl<K> RateLimiter<K> for TokenBucket {
    fn when(&self, _key: &K, now: Timestamp) -> Duration {
        self.reserve(now)
    }

    fn forget(&self, _key: &K) {}

    fn num_requeues(&self, _key: &K) -> u32 {
        0
    }
}

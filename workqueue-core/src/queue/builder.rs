//! Configuration of a [`Queue`]: name, clock, rate limiter, priority aging.

use super::{Key, Queue};
use crate::clock::Clock;
use crate::error::ConfigError;
use crate::rate_limit::{default_controller_rate_limiter, RateLimiter};
use std::time::Duration;

/// Builds a [`Queue`]. Every setting has a default: unnamed, the real
/// clock, the default controller rate limiter.
pub struct QueueBuilder<K: Key> {
    name: Option<String>,
    clock: Clock,
    limiter: Option<Box<dyn RateLimiter<K>>>,
    aging: Option<Duration>,
}

impl<K: Key> Default for QueueBuilder<K> {
    fn default() -> Self {
        QueueBuilder::new()
    }
}

impl<K: Key> QueueBuilder<K> {
    /// A builder with every default.
    pub fn new() -> Self {
        QueueBuilder {
            name: None,
            clock: Clock::real(),
            limiter: None,
            aging: None,
        }
    }

    /// Names the queue (the `name` label of its metrics).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The clock for delays and rate limits, e.g. a
    /// [`ManualClock`](crate::ManualClock) in tests.
    pub fn clock(mut self, clock: impl Into<Clock>) -> Self {
        self.clock = clock.into();
        self
    }

    /// The limiter behind `add_rate_limited`, `forget` and `num_requeues`.
    pub fn rate_limiter(mut self, limiter: impl RateLimiter<K> + 'static) -> Self {
        self.limiter = Some(Box::new(limiter));
        self
    }

    /// Lets waiting keys age: a key's effective priority grows by one for
    /// every `interval` it has waited, so low priorities are not starved by
    /// a steady stream of high ones. Without it priority is strict.
    pub fn priority_aging(mut self, interval: Duration) -> Result<Self, ConfigError> {
        if interval.is_zero() {
            return Err(ConfigError::new("aging interval", "must be positive"));
        }
        self.aging = Some(interval);
        Ok(self)
    }

    /// Builds the queue.
    pub fn build(self) -> Queue<K> {
        let limiter = self
            .limiter
            .unwrap_or_else(|| Box::new(default_controller_rate_limiter()));
        Queue::from_parts(self.name, self.clock, limiter, self.aging)
    }
}

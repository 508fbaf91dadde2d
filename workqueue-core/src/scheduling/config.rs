//! Configuration of a [`SchedulingQueue`]: backoff bounds, the longest
//! stay in the unschedulable pool, pop-from-backoff, and the clock.

use super::SchedulingQueue;
use crate::clock::Clock;
use crate::error::ConfigError;
use crate::queue::Key;
use std::marker::PhantomData;
use std::time::Duration;

/// kube-scheduler's `podInitialBackoffSeconds` default.
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// kube-scheduler's `podMaxBackoffSeconds` default.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(10);
/// kube-scheduler's `DefaultPodMaxInUnschedulablePodsDuration`.
pub const DEFAULT_MAX_UNSCHEDULABLE_STAY: Duration = Duration::from_secs(5 * 60);

/// The checked settings the queue runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) max_unschedulable_stay: Duration,
    pub(crate) pop_from_backoff: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            max_unschedulable_stay: DEFAULT_MAX_UNSCHEDULABLE_STAY,
            pop_from_backoff: true,
        }
    }
}

/// Builds a [`SchedulingQueue`]. Every setting has kube-scheduler's
/// default: backoff from 1 s doubling to 10 s, at most 5 minutes in the
/// unschedulable pool, pop-from-backoff on (KEP-5142, on by default since
/// Kubernetes 1.33), the real clock.
pub struct SchedulingQueueBuilder<K: Key> {
    settings: Settings,
    clock: Clock,
    name: Option<String>,
    _keys: PhantomData<fn(K)>,
}

impl<K: Key> Default for SchedulingQueueBuilder<K> {
    fn default() -> Self {
        SchedulingQueueBuilder::new()
    }
}

impl<K: Key> SchedulingQueueBuilder<K> {
    /// A builder with every default.
    pub fn new() -> Self {
        SchedulingQueueBuilder {
            settings: Settings::default(),
            clock: Clock::real(),
            name: None,
            _keys: PhantomData,
        }
    }

    /// The backoff after the first failed attempt; it doubles with every
    /// further attempt. Must be positive.
    pub fn initial_backoff(mut self, initial: Duration) -> Self {
        self.settings.initial_backoff = initial;
        self
    }

    /// The cap of the doubling backoff. Must be at least the initial backoff.
    pub fn max_backoff(mut self, max: Duration) -> Self {
        self.settings.max_backoff = max;
        self
    }

    /// How long an item may stay in the unschedulable pool without a move
    /// event before it is flushed back (it leaves once it has stayed
    /// strictly longer). Must be positive.
    pub fn max_unschedulable_stay(mut self, max_stay: Duration) -> Self {
        self.settings.max_unschedulable_stay = max_stay;
        self
    }

    /// Whether a pop that finds the active queue empty takes the backoff
    /// item that comes due first instead of waiting (kube-scheduler's
    /// `SchedulerPopFromBackoffQ`, KEP-5142): an idle scheduler retries
    /// early rather than sit out a penalty no one else is waiting behind.
    pub fn pop_from_backoff(mut self, enabled: bool) -> Self {
        self.settings.pop_from_backoff = enabled;
        self
    }

    /// The clock of every timing rule, e.g. a
    /// [`ManualClock`](crate::ManualClock) in tests.
    pub fn clock(mut self, clock: impl Into<Clock>) -> Self {
        self.clock = clock.into();
        self
    }

    /// Names the queue: a named queue reports its sub-queue sizes in
    /// [`metrics::prometheus_text`](crate::metrics::prometheus_text).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Builds the queue, or names the first setting it cannot accept.
    pub fn build(self) -> Result<SchedulingQueue<K>, ConfigError> {
        let s = &self.settings;
        if s.initial_backoff.is_zero() {
            return Err(ConfigError::new("initial_backoff", "must be positive"));
        }
        if s.max_backoff < s.initial_backoff {
            return Err(ConfigError::new(
                "max_backoff",
                format!(
                    "{:?} is less than the initial backoff {:?}",
                    s.max_backoff, s.initial_backoff
                ),
            ));
        }
        if s.max_unschedulable_stay.is_zero() {
            return Err(ConfigError::new(
                "max_unschedulable_stay",
                "must be positive",
            ));
        }
        Ok(SchedulingQueue::from_parts(
            self.settings,
            self.clock,
            self.name,
        ))
    }
}

//! Time, as the queue sees it: the real monotonic clock, or a manual clock
//! that tests move by hand.
//!
//! Every timing rule of the crate (delays, backoff, token buckets, metrics)
//! reads the time from a [`Clock`]. Timeouts of blocking calls are the one
//! exception: they bound how long a thread waits and always run on real
//! time, so a test on a manual clock cannot hang forever in `get_timeout`.

use crate::sync::{lock, Arc, AtomicU64, Mutex, Ordering, Weak};
use std::fmt;
use std::ops::Add;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A point on a clock's timeline: nanoseconds since the clock's origin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The origin of every clock.
    pub const ZERO: Timestamp = Timestamp(0);

    /// The timestamp `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Timestamp {
        Timestamp(nanos)
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The time from `earlier` to `self`, zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;

    /// Saturates at the end of time (about 584 years after the origin).
    fn add(self, delay: Duration) -> Timestamp {
        let nanos = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(nanos))
    }
}

/// Told by a manual clock whenever its time changes, so that threads
/// waiting for a ready time re-check it.
pub(crate) trait ClockListener: Send + Sync {
    fn clock_changed(&self);
}

/// The clock a queue or limiter reads. Cheap to clone; clones share time.
#[derive(Clone, Default)]
pub struct Clock(ClockKind);

#[derive(Clone, Default)]
enum ClockKind {
    #[default]
    Real,
    Manual(ManualClock),
}

impl Clock {
    /// The process's monotonic clock.
    pub fn real() -> Clock {
        Clock(ClockKind::Real)
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        match &self.0 {
            ClockKind::Real => real_now(),
            ClockKind::Manual(manual) => manual.now(),
        }
    }

    /// Whether time only moves when a test moves it.
    pub fn is_manual(&self) -> bool {
        matches!(self.0, ClockKind::Manual(_))
    }

    /// Asks to be told when a manual clock moves; the real clock never tells.
    pub(crate) fn subscribe(&self, listener: Weak<dyn ClockListener>) {
        if let ClockKind::Manual(manual) = &self.0 {
            lock(&manual.inner.listeners).push(listener);
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            ClockKind::Real => f.write_str("Clock::Real"),
            ClockKind::Manual(manual) => write!(f, "Clock::Manual({:?})", manual.now()),
        }
    }
}

impl From<ManualClock> for Clock {
    fn from(manual: ManualClock) -> Clock {
        Clock(ClockKind::Manual(manual))
    }
}

impl From<&ManualClock> for Clock {
    fn from(manual: &ManualClock) -> Clock {
        Clock(ClockKind::Manual(manual.clone()))
    }
}

fn real_now() -> Timestamp {
    // One origin for the whole process, so real timestamps from different
    // queues are comparable.
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    Timestamp(u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
}

/// A clock that moves only when told to, for deterministic tests of every
/// timing rule. Starts at [`Timestamp::ZERO`]. Clones share one time.
#[derive(Clone, Default)]
pub struct ManualClock {
    inner: Arc<ManualInner>,
}

#[derive(Default)]
struct ManualInner {
    nanos: AtomicU64,
    listeners: Mutex<Vec<Weak<dyn ClockListener>>>,
}

impl ManualClock {
    /// A manual clock at the origin.
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        Timestamp(self.inner.nanos.load(Ordering::Acquire))
    }

    /// Moves time forward by `delta`, waking every waiter whose entry is due.
    pub fn step(&self, delta: Duration) {
        let now = self.now() + delta;
        self.set(now);
    }

    /// Sets the time. Setting an earlier time is allowed (tests do it) and
    /// never makes a delay negative: every interval saturates at zero.
    pub fn set(&self, now: Timestamp) {
        self.inner.nanos.store(now.0, Ordering::Release);
        self.notify_listeners();
    }

    fn notify_listeners(&self) {
        // Listeners take their own lock inside `clock_changed`; no queue ever
        // holds its lock while taking this one, so the order cannot invert.
        let mut listeners = lock(&self.inner.listeners);
        listeners.retain(|weak| match weak.upgrade() {
            Some(listener) => {
                listener.clock_changed();
                true
            }
            None => false,
        });
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let manual = ManualClock::new();
        let clock = Clock::from(&manual);
        assert_eq!(clock.now(), Timestamp::ZERO);
        manual.step(Duration::from_millis(5));
        assert_eq!(clock.now(), Timestamp::from_nanos(5_000_000));
        manual.set(Timestamp::from_nanos(7));
        assert_eq!(clock.now().as_nanos(), 7);
        assert!(clock.is_manual());
    }

    #[test]
    fn real_clock_is_monotonic_and_timestamps_saturate() {
        let clock = Clock::real();
        let a = clock.now();
        let b = clock.now();
        assert!(b >= a);
        assert_eq!(
            a.saturating_duration_since(b + Duration::from_secs(1)),
            Duration::ZERO
        );
        assert_eq!(
            Timestamp::from_nanos(u64::MAX - 1) + Duration::MAX,
            Timestamp::from_nanos(u64::MAX)
        );
    }
}

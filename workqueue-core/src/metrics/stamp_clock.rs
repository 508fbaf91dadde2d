//! The clock a named queue's metrics read.
//!
//! On the real clock: the CPU's invariant time-stamp counter where there
//! is one (`tsc.rs`; not under Miri, which cannot run `rdtsc`), else the
//! real clock. A manual clock is read as is, so tests drive the metrics
//! exactly as they drive delays.
//!
//! A call replayed from a submission ring may carry the counter value it
//! was made at ([`TscStamp`]): on the counter clock that value is the
//! call's time, so a named queue's durations do not depend on when the
//! ring is applied.

use crate::clock::{Clock, Timestamp};

/// The CPU's time-stamp counter (x86 `rdtsc`) when a call was made: how a
/// binding that hands calls over later (a submission ring) tells a named
/// queue's metrics when they happened. Read only by a queue whose
/// metrics run on the counter ([`Queue::metrics_take_tsc_stamps`]); others
/// take the time the call is applied.
///
/// [`Queue::metrics_take_tsc_stamps`]: crate::Queue::metrics_take_tsc_stamps
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TscStamp(pub u64);

pub(crate) enum StampClock {
    Queue(Clock),
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    Tsc {
        tsc: super::tsc::Tsc,
        /// The latest time read: counters of different cores may differ
        /// slightly, and a queue's metrics must never see time go back.
        latest: Timestamp,
    },
}

impl StampClock {
    pub(crate) fn new(clock: Clock) -> StampClock {
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        if !clock.is_manual() {
            if let Some(tsc) = super::tsc::Tsc::get() {
                return StampClock::Tsc {
                    tsc,
                    latest: Timestamp::ZERO,
                };
            }
        }
        StampClock::Queue(clock)
    }

    /// Whether this clock is the time-stamp counter, so that [`TscStamp`]s
    /// are read as times.
    pub(crate) fn is_tsc(&self) -> bool {
        !matches!(self, StampClock::Queue(_))
    }

    /// The time of a call made at `made_at` (the counter's value then),
    /// or now when it carries none or this clock is not the counter.
    #[inline]
    pub(crate) fn time_of(&mut self, made_at: Option<TscStamp>) -> Timestamp {
        match (made_at, &*self) {
            #[cfg(all(target_arch = "x86_64", not(miri)))]
            (Some(TscStamp(ticks)), StampClock::Tsc { tsc, .. }) => tsc.at(ticks),
            _ => self.now(),
        }
    }

    #[inline]
    pub(crate) fn now(&mut self) -> Timestamp {
        match self {
            StampClock::Queue(clock) => clock.now(),
            #[cfg(all(target_arch = "x86_64", not(miri)))]
            StampClock::Tsc { tsc, latest } => {
                *latest = tsc.now().max(*latest);
                *latest
            }
        }
    }
}

//! The clock a named queue's metrics read.
//!
//! On the real clock: the CPU's invariant time-stamp counter where there
//! is one (`tsc.rs`; not under Miri, which cannot run `rdtsc`), else the
//! real clock. A manual clock is read as is, so tests drive the metrics
//! exactly as they drive delays.

use crate::clock::{Clock, Timestamp};

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

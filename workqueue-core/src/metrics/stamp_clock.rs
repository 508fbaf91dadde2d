//! The clock a named queue's metrics read.
//!
//! On the real clock: the CPU's invariant time-stamp counter where there
//! is one (`tsc.rs`; not under Miri, which cannot run `rdtsc`), else the
//! real clock. A manual clock is read as is, so tests drive the metrics
//! exactly as they drive delays.
//!
//! Readings stay in the clock's own unit ([`Stamp`]: counter ticks, or
//! nanoseconds), so taking one costs the read alone; durations are
//! compared and summed in that unit, and converted to nanoseconds only
//! when a scrape reads them (`to_nanos`, `unit_bound`).
//!
//! A call replayed from a submission ring may carry the counter value it
//! was made at ([`TscStamp`]): on the counter clock that value is the
//! call's time, so a named queue's durations do not depend on when the
//! ring is applied.

use crate::clock::Clock;

/// The CPU's time-stamp counter (x86 `rdtsc`) when a call was made: how a
/// binding that hands calls over later (a submission ring) tells a named
/// queue's metrics when they happened. Read only by a queue whose
/// metrics run on the counter ([`Queue::metrics_take_tsc_stamps`]); others
/// take the time the call is applied.
///
/// [`Queue::metrics_take_tsc_stamps`]: crate::Queue::metrics_take_tsc_stamps
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TscStamp(pub u64);

/// A reading of a [`StampClock`], in its unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Stamp(u64);

impl Stamp {
    /// The units from `earlier` to `self`; zero when `earlier` is later
    /// (counters of different cores may differ slightly).
    #[inline]
    pub(crate) fn since(self, earlier: Stamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

pub(crate) enum StampClock {
    Queue(Clock),
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    Tsc(super::tsc::Tsc),
}

/// Nanoseconds per unit of a clock that counts nanoseconds, with 32
/// fractional bits.
const ONE_Q32: u64 = 1 << 32;

impl StampClock {
    pub(crate) fn new(clock: Clock) -> StampClock {
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        if !clock.is_manual() {
            if let Some(tsc) = super::tsc::Tsc::get() {
                return StampClock::Tsc(tsc);
            }
        }
        StampClock::Queue(clock)
    }

    /// Whether this clock is the time-stamp counter, so that [`TscStamp`]s
    /// are read as times.
    pub(crate) fn is_tsc(&self) -> bool {
        !matches!(self, StampClock::Queue(_))
    }

    #[inline]
    pub(crate) fn now(&self) -> Stamp {
        match self {
            StampClock::Queue(clock) => Stamp(clock.now().as_nanos()),
            #[cfg(all(target_arch = "x86_64", not(miri)))]
            StampClock::Tsc(_) => Stamp(super::tsc::read()),
        }
    }

    /// The time of a call made at `made_at` (the counter's value then),
    /// or now when it carries none or this clock is not the counter.
    #[inline]
    pub(crate) fn time_of(&self, made_at: Option<TscStamp>) -> Stamp {
        match (made_at, self) {
            #[cfg(all(target_arch = "x86_64", not(miri)))]
            (Some(TscStamp(ticks)), StampClock::Tsc(_)) => Stamp(ticks),
            _ => self.now(),
        }
    }

    /// Nanoseconds per unit, with 32 fractional bits.
    fn nanos_per_unit_q32(&self) -> u64 {
        match self {
            StampClock::Queue(_) => ONE_Q32,
            #[cfg(all(target_arch = "x86_64", not(miri)))]
            StampClock::Tsc(tsc) => tsc.nanos_per_tick_q32(),
        }
    }

    /// `units` of this clock in whole nanoseconds (rounded down).
    pub(crate) fn to_nanos(&self, units: u128) -> u128 {
        units_to_nanos(units, self.nanos_per_unit_q32())
    }

    /// The largest number of units that is at most `nanos` nanoseconds
    /// once converted (by `to_nanos`): a duration in units is within a
    /// bound exactly when its nanoseconds are.
    pub(crate) fn unit_bound(&self, nanos: u64) -> u64 {
        bound_in_units(nanos, self.nanos_per_unit_q32())
    }
}

/// `units` at `q` nanoseconds per unit (32 fractional bits), rounded down.
fn units_to_nanos(units: u128, q: u64) -> u128 {
    units.saturating_mul(u128::from(q)) >> 32
}

/// The largest `u` with `units_to_nanos(u, q) <= nanos`.
fn bound_in_units(nanos: u64, q: u64) -> u64 {
    // (u * q) >> 32 <= nanos  <=>  u * q < (nanos + 1) << 32.
    let limit = u128::from(nanos + 1) << 32;
    u64::try_from(limit.div_ceil(u128::from(q.max(1))) - 1).unwrap_or(u64::MAX)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::metrics::histogram::BUCKET_BOUNDS_NANOS;

    #[test]
    fn a_bound_in_units_decides_as_the_bound_in_nanoseconds() {
        // A nanosecond clock, and counters of 0.3, 2.4 and 3.0 GHz.
        for q in [ONE_Q32, (ONE_Q32 * 10) / 3, ONE_Q32 * 10 / 24, ONE_Q32 / 3] {
            for nanos in BUCKET_BOUNDS_NANOS {
                let bound = bound_in_units(nanos, q);
                assert!(units_to_nanos(u128::from(bound), q) <= u128::from(nanos));
                assert!(units_to_nanos(u128::from(bound) + 1, q) > u128::from(nanos));
            }
        }
        assert_eq!(
            bound_in_units(10, ONE_Q32),
            10,
            "nanoseconds are their own unit"
        );
    }
}

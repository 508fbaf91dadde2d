//! The CPU's time-stamp counter as the clock of metric durations only:
//! reading it costs about half of `Instant::now`, and a named queue reads
//! the time three times per add/get/done. Readings stay raw ticks; the
//! rate converts durations to nanoseconds when they are read.
//!
//! Only an invariant counter (constant rate through frequency changes and
//! sleep states, CPUID 0x8000_0007 EDX bit 8) is used. Its rate is
//! measured once per process against `Instant`. Delays and deadlines never
//! read it: they follow the queue's [`Clock`](crate::Clock).

use core::arch::x86_64::{__cpuid, _rdtsc};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A calibrated counter: its rate.
#[derive(Clone, Copy)]
pub(super) struct Tsc {
    /// Nanoseconds per tick, fixed point with 32 fractional bits: about
    /// 1e-9 relative precision at the GHz rates of real counters.
    nanos_per_tick_q32: u64,
}

/// How long the rate is measured over. Each end is read to within a few
/// tens of nanoseconds, so the rate is off by about 1e-4 at most.
const CALIBRATION: Duration = Duration::from_millis(1);

/// Of a few tries, the reading whose two counter reads lie closest around
/// the `Instant`, so a preemption at the wrong moment cannot skew it.
const TRIES: usize = 5;

impl Tsc {
    /// The process's counter clock, calibrated on first use (taking about
    /// [`CALIBRATION`]); `None` when the counter is not invariant.
    pub(super) fn get() -> Option<Tsc> {
        static TSC: OnceLock<Option<Tsc>> = OnceLock::new();
        *TSC.get_or_init(|| invariant().then(calibrate).flatten())
    }

    pub(super) fn nanos_per_tick_q32(self) -> u64 {
        self.nanos_per_tick_q32
    }
}

/// The counter's value now.
#[inline]
pub(super) fn read() -> u64 {
    // SAFETY: RDTSC exists on every x86_64 CPU and only reads a counter.
    unsafe { _rdtsc() }
}

fn invariant() -> bool {
    const ADVANCED_POWER_MANAGEMENT: u32 = 0x8000_0007;
    const INVARIANT_TSC: u32 = 1 << 8;
    // `__cpuid` is safe in current Rust but still unsafe at the crate's
    // minimum supported version.
    #[allow(unused_unsafe)]
    // SAFETY: CPUID exists on every x86_64 CPU; leaves above the highest
    // extended one are not queried.
    unsafe {
        __cpuid(0x8000_0000).eax >= ADVANCED_POWER_MANAGEMENT
            && __cpuid(ADVANCED_POWER_MANAGEMENT).edx & INVARIANT_TSC != 0
    }
}

/// An `Instant` and the counter value at the same moment.
fn reading() -> (Instant, u64) {
    (0..TRIES)
        .map(|_| {
            let before = read();
            let instant = Instant::now();
            let after = read();
            (after.wrapping_sub(before), instant, before / 2 + after / 2)
        })
        .min_by_key(|&(spread, _, _)| spread)
        .map(|(_, instant, ticks)| (instant, ticks))
        .expect("TRIES > 0")
}

fn calibrate() -> Option<Tsc> {
    let (start, start_ticks) = reading();
    std::thread::sleep(CALIBRATION);
    let (end, end_ticks) = reading();
    let ticks = end_ticks.checked_sub(start_ticks).filter(|&t| t > 0)?;
    let nanos = end.duration_since(start).as_nanos();
    let nanos_per_tick_q32 = u64::try_from((nanos << 32) / u128::from(ticks)).ok()?;
    Some(Tsc { nanos_per_tick_q32 })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_counter_keeps_time_with_instant_to_well_under_a_percent() {
        let Some(tsc) = Tsc::get() else {
            return;
        };
        let (start, start_ticks) = reading();
        std::thread::sleep(Duration::from_millis(20));
        let (end, end_ticks) = reading();
        let ticks = u128::from(end_ticks - start_ticks);
        let measured = ((ticks * u128::from(tsc.nanos_per_tick_q32())) >> 32) as f64;
        let expected = end.duration_since(start).as_nanos() as f64;
        let error = (measured - expected).abs() / expected;
        assert!(error < 1e-3, "off by {:.4} %", error * 100.0);
    }
}

//! A Prometheus histogram with client-go's buckets.

/// Upper bounds of the buckets, in seconds: 1e-8 s × 10^k up to 10 s, as
/// client-go's queue and work duration histograms.
pub const BUCKET_BOUNDS: [f64; 10] = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0];

/// [`BUCKET_BOUNDS`] in nanoseconds. Each converts to exactly its bound
/// in seconds, so `nanos <= bound` here decides as `seconds <= bound` does.
pub(crate) const BUCKET_BOUNDS_NANOS: [u64; 10] = [
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
];

/// Observations so far: per-bucket counts (not cumulative), their sum and
/// their count. Values above the last bound count only in `count`, like
/// Prometheus's `+Inf` bucket.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistogramSnapshot {
    /// `buckets[i]`: observations in `(BUCKET_BOUNDS[i-1], BUCKET_BOUNDS[i]]`.
    pub buckets: [u64; BUCKET_BOUNDS.len()],
    /// Sum of the observed values, in seconds.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
}

impl HistogramSnapshot {
    /// Cumulative counts per bound, as Prometheus exposes them.
    pub fn cumulative(&self) -> [u64; BUCKET_BOUNDS.len()] {
        let mut running = 0;
        self.buckets.map(|count| {
            running += count;
            running
        })
    }

    pub(crate) fn merge(&mut self, other: &HistogramSnapshot) {
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            *mine += theirs;
        }
        self.sum += other.sum;
        self.count += other.count;
    }
}

/// A duration histogram as it records: durations in the unit of the
/// metrics clock (see `stamp_clock.rs`) against bounds in that unit, so an
/// observation is integer compares and adds; nanoseconds and seconds only
/// when read.
#[derive(Clone, Default)]
pub(crate) struct DurationHistogram {
    buckets: [u64; BUCKET_BOUNDS.len()],
    /// Exact; `u128` cannot overflow (a `u64` could within a year on a
    /// busy queue with slow work).
    sum_units: u128,
    count: u64,
}

impl DurationHistogram {
    /// Counts a duration of `units`; `bounds`: [`BUCKET_BOUNDS`] in the
    /// same unit.
    #[inline]
    pub(crate) fn observe(&mut self, units: u64, bounds: &[u64; BUCKET_BOUNDS.len()]) {
        if let Some(bucket) = bounds.iter().position(|&bound| units <= bound) {
            self.buckets[bucket] += 1;
        }
        self.sum_units += u128::from(units);
        self.count += 1;
    }

    /// The histogram in seconds, given how many nanoseconds a sum of
    /// units is.
    pub(crate) fn snapshot(&self, to_nanos: impl Fn(u128) -> u128) -> HistogramSnapshot {
        HistogramSnapshot {
            buckets: self.buckets,
            sum: to_nanos(self.sum_units) as f64 / 1e9,
            count: self.count,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let mut recording = DurationHistogram::default();
        recording.observe(50_000, &BUCKET_BOUNDS_NANOS);
        recording.observe(100_000, &BUCKET_BOUNDS_NANOS);
        recording.observe(20_000_000_000, &BUCKET_BOUNDS_NANOS);
        let histogram = recording.snapshot(|nanos| nanos);
        assert_eq!(histogram.buckets[4], 2);
        assert_eq!(histogram.count, 3);
        assert_eq!(histogram.cumulative()[9], 2, "20 s is only in +Inf");
        assert!((histogram.sum - 20.00015).abs() < 1e-9);
    }

    #[test]
    fn nanosecond_bounds_are_the_second_bounds() {
        for (nanos, seconds) in BUCKET_BOUNDS_NANOS.iter().zip(BUCKET_BOUNDS) {
            assert_eq!(*nanos as f64 / 1e9, seconds);
        }
    }
}

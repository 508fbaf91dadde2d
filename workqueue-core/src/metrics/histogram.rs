//! A Prometheus histogram with client-go's buckets.

/// Upper bounds of the buckets, in seconds: 1e-8 s × 10^k up to 10 s, as
/// client-go's queue and work duration histograms.
pub const BUCKET_BOUNDS: [f64; 10] = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0];

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
    pub(crate) fn observe(&mut self, seconds: f64) {
        if let Some(bucket) = BUCKET_BOUNDS.iter().position(|&bound| seconds <= bound) {
            self.buckets[bucket] += 1;
        }
        self.sum += seconds;
        self.count += 1;
    }

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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let mut histogram = HistogramSnapshot::default();
        histogram.observe(5e-5);
        histogram.observe(1e-4);
        histogram.observe(20.0);
        assert_eq!(histogram.buckets[4], 2);
        assert_eq!(histogram.count, 3);
        assert_eq!(histogram.cumulative()[9], 2, "20 s is only in +Inf");
        assert!((histogram.sum - 20.00015).abs() < 1e-9);
    }
}

//! Timing and statistics: repeat a measurement, keep the median; and
//! percentiles of a set of observations.

use std::time::{Duration, Instant};

/// One figure over several repetitions.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Sample {
    fn of(values: &mut [f64]) -> Sample {
        assert!(!values.is_empty(), "at least one repetition");
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        Sample {
            median,
            min: values[0],
            max: values[n - 1],
        }
    }
}

/// Runs `measure` `reps` times; each run yields `N` figures, and each
/// figure is summarised by its median over the runs.
pub fn repeat<const N: usize>(reps: usize, mut measure: impl FnMut() -> [f64; N]) -> [Sample; N] {
    let runs: Vec<[f64; N]> = (0..reps.max(1)).map(|_| measure()).collect();
    std::array::from_fn(|figure| {
        let mut values: Vec<f64> = runs.iter().map(|run| run[figure]).collect();
        Sample::of(&mut values)
    })
}

/// Runs `f` and returns its result with the wall time it took.
pub fn timed<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let start = Instant::now();
    let result = f();
    (result, start.elapsed())
}

/// Nanoseconds per operation.
pub fn ns_per(elapsed: Duration, ops: usize) -> f64 {
    elapsed.as_nanos() as f64 / ops as f64
}

/// Operations per second.
pub fn per_sec(elapsed: Duration, ops: usize) -> f64 {
    ops as f64 / elapsed.as_secs_f64()
}

/// The `p`-th percentile (0..=100, nearest rank) of sorted observations.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// splitmix64: a tiny deterministic generator for delays and key choices.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (bound > 0), by multiply-shift.
    pub fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_percentiles() {
        let [s] = repeat(4, {
            let mut i = 0.0;
            move || {
                i += 1.0;
                [i]
            }
        });
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 4.0));
        let sorted: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&sorted, 50.0), 50);
        assert_eq!(percentile(&sorted, 99.0), 99);
        assert_eq!(percentile(&sorted, 100.0), 100);
        let mut rng = SplitMix64::new(1);
        assert!((0..1000).all(|_| rng.below(7) < 7));
    }
}

//! One module per workload. Each measures, then adds its rows to the table.

pub mod collapse;
pub mod cycle;
pub mod delay;
pub mod mpmc;
pub mod prefill;
pub mod rate_limited;
pub mod scheduling;

/// What every workload is told.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Repetitions per figure; the table shows the median.
    pub reps: usize,
    /// Sizes are divided by this (`--quick` for a smoke run).
    pub divisor: usize,
}

impl Config {
    /// `full` scaled down for a quick run.
    pub fn size(&self, full: usize) -> usize {
        (full / self.divisor).max(1)
    }
}

/// Says on stderr what runs now, so a slow machine shows progress.
pub fn announce(what: &str) {
    eprintln!("  running: {what}");
}

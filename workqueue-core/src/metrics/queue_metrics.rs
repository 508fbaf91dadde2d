//! One queue's metrics, kept under the queue's lock and updated exactly
//! where client-go's `defaultQueueMetrics` is.

use super::histogram::{DurationHistogram, HistogramSnapshot, BUCKET_BOUNDS_NANOS};
use super::key_metrics::KeyMetrics;
use super::stamp_clock::{Stamp, StampClock, TscStamp};
use crate::clock::Clock;

pub(crate) struct QueueMetrics {
    clock: StampClock,
    /// The histograms' bucket bounds in the clock's unit.
    bounds: [u64; BUCKET_BOUNDS_NANOS.len()],
    depth: i64,
    adds: u64,
    retries: u64,
    queue_duration: DurationHistogram,
    work_duration: DurationHistogram,
    /// The "unfinished" gauges stop at the shutdown, like client-go's ticker.
    frozen_at: Option<Stamp>,
}

/// A queue's metrics at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// `workqueue_depth`.
    pub depth: i64,
    /// `workqueue_adds_total`.
    pub adds: u64,
    /// `workqueue_retries_total`.
    pub retries: u64,
    /// `workqueue_queue_duration_seconds`.
    pub queue_duration: HistogramSnapshot,
    /// `workqueue_work_duration_seconds`.
    pub work_duration: HistogramSnapshot,
    /// `workqueue_unfinished_work_seconds`.
    pub unfinished_work_seconds: f64,
    /// `workqueue_longest_running_processor_seconds`.
    pub longest_running_processor_seconds: f64,
    /// Ready keys per priority, highest first
    /// (`workqueue_depth_by_priority`).
    pub depth_by_priority: Vec<(i32, u64)>,
}

impl MetricsSnapshot {
    /// Adds another queue's figures (queues sharing a name share series).
    pub(crate) fn merge(&mut self, other: &MetricsSnapshot) {
        self.depth += other.depth;
        self.adds += other.adds;
        self.retries += other.retries;
        self.queue_duration.merge(&other.queue_duration);
        self.work_duration.merge(&other.work_duration);
        self.unfinished_work_seconds += other.unfinished_work_seconds;
        self.longest_running_processor_seconds = self
            .longest_running_processor_seconds
            .max(other.longest_running_processor_seconds);
        for &(priority, count) in &other.depth_by_priority {
            match self
                .depth_by_priority
                .iter_mut()
                .find(|(p, _)| *p == priority)
            {
                Some((_, total)) => *total += count,
                None => self.depth_by_priority.push((priority, count)),
            }
        }
        self.depth_by_priority
            .sort_by_key(|&(priority, _)| std::cmp::Reverse(priority));
    }
}

/// When a key became dirty and when it was handed out. Which is set
/// follows the key's phase: `added` while it is dirty (ready, or added
/// again while processing), `started` while it is processed.
#[derive(Clone, Copy, Default)]
pub(crate) struct KeyStamps {
    added: Stamp,
    started: Stamp,
}

impl QueueMetrics {
    pub(crate) fn new(clock: Clock) -> Self {
        let clock = StampClock::new(clock);
        QueueMetrics {
            bounds: BUCKET_BOUNDS_NANOS.map(|nanos| clock.unit_bound(nanos)),
            clock,
            depth: 0,
            adds: 0,
            retries: 0,
            queue_duration: DurationHistogram::default(),
            work_duration: DurationHistogram::default(),
            frozen_at: None,
        }
    }

    /// Whether [`TscStamp`]s are read as the times of the calls.
    pub(crate) fn takes_tsc_stamps(&self) -> bool {
        self.clock.is_tsc()
    }

    pub(crate) fn retried(&mut self) {
        self.retries += 1;
    }

    pub(crate) fn shut_down(&mut self) {
        self.frozen_at.get_or_insert(self.clock.now());
    }

    /// The metrics now, given the stamps of the keys being processed.
    pub(crate) fn snapshot<'a>(
        &self,
        processing: impl Iterator<Item = &'a KeyStamps>,
    ) -> MetricsSnapshot {
        let now = self.frozen_at.unwrap_or_else(|| self.clock.now());
        let mut unfinished = 0.0;
        let mut longest: f64 = 0.0;
        let seconds_since =
            |start: Stamp| self.clock.to_nanos(u128::from(now.since(start))) as f64 / 1e9;
        for stamps in processing {
            let age = seconds_since(stamps.started);
            unfinished += age;
            longest = longest.max(age);
        }
        MetricsSnapshot {
            depth: self.depth,
            adds: self.adds,
            retries: self.retries,
            queue_duration: self
                .queue_duration
                .snapshot(|units| self.clock.to_nanos(units)),
            work_duration: self
                .work_duration
                .snapshot(|units| self.clock.to_nanos(units)),
            unfinished_work_seconds: unfinished,
            longest_running_processor_seconds: longest,
            depth_by_priority: Vec::new(),
        }
    }
}

impl KeyMetrics for QueueMetrics {
    type Stamps = KeyStamps;

    fn added(&mut self, stamps: &mut KeyStamps, made_at: Option<TscStamp>) {
        self.adds += 1;
        self.depth += 1;
        // A re-add while processing is never before the processing began
        // (a stamp read before a get that was applied first could be).
        stamps.added = self.clock.time_of(made_at).max(stamps.started);
    }

    fn got(&mut self, stamps: &mut KeyStamps) {
        let now = self.clock.now();
        self.depth -= 1;
        stamps.started = now;
        self.queue_duration
            .observe(now.since(stamps.added), &self.bounds);
    }

    fn done(&mut self, stamps: &KeyStamps, made_at: Option<TscStamp>) {
        let now = self.clock.time_of(made_at);
        self.work_duration
            .observe(now.since(stamps.started), &self.bounds);
    }
}

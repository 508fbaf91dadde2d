//! One queue's metrics, kept under the queue's lock and updated exactly
//! where client-go's `defaultQueueMetrics` is.

use super::histogram::HistogramSnapshot;
use crate::clock::{Clock, Timestamp};
use crate::hash::FastHashMap;
use std::hash::Hash;

pub(crate) struct QueueMetrics<K> {
    clock: Clock,
    depth: i64,
    adds: u64,
    retries: u64,
    queue_duration: HistogramSnapshot,
    work_duration: HistogramSnapshot,
    /// Per key: when it became dirty (the first add since its last get)
    /// and when it was handed out. One map, so each event costs one
    /// hash-table operation.
    stamps: FastHashMap<K, Stamps>,
    /// The "unfinished" gauges stop at the shutdown, like client-go's ticker.
    frozen_at: Option<Timestamp>,
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

#[derive(Clone, Copy, Default)]
struct Stamps {
    added: Option<Timestamp>,
    started: Option<Timestamp>,
}

fn seconds_between(earlier: Timestamp, later: Timestamp) -> f64 {
    later.saturating_duration_since(earlier).as_secs_f64()
}

impl<K: Hash + Eq + Clone> QueueMetrics<K> {
    pub(crate) fn new(clock: Clock) -> Self {
        QueueMetrics {
            clock,
            depth: 0,
            adds: 0,
            retries: 0,
            queue_duration: HistogramSnapshot::default(),
            work_duration: HistogramSnapshot::default(),
            stamps: FastHashMap::default(),
            frozen_at: None,
        }
    }

    /// A key became dirty: newly queued, or added again while processing.
    pub(crate) fn added(&mut self, key: &K) {
        self.adds += 1;
        self.depth += 1;
        let stamps = match self.stamps.get_mut(key) {
            Some(stamps) => stamps,
            None => self.stamps.entry(key.clone()).or_default(),
        };
        if stamps.added.is_none() {
            stamps.added = Some(self.clock.now());
        }
    }

    /// A key was handed out.
    pub(crate) fn got(&mut self, key: &K) {
        let now = self.clock.now();
        self.depth -= 1;
        let stamps = self.stamps.entry(key.clone()).or_default();
        stamps.started = Some(now);
        if let Some(added) = stamps.added.take() {
            self.queue_duration.observe(seconds_between(added, now));
        }
    }

    /// A key's processing finished.
    pub(crate) fn done(&mut self, key: &K) {
        let Some(stamps) = self.stamps.get_mut(key) else {
            return;
        };
        if let Some(started) = stamps.started.take() {
            let now = self.clock.now();
            self.work_duration.observe(seconds_between(started, now));
        }
        // Keep the key only while it is dirty again (added while processing).
        if stamps.added.is_none() {
            self.stamps.remove(key);
        }
    }

    pub(crate) fn retried(&mut self) {
        self.retries += 1;
    }

    pub(crate) fn shut_down(&mut self) {
        self.frozen_at.get_or_insert(self.clock.now());
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        let now = self.frozen_at.unwrap_or_else(|| self.clock.now());
        let mut unfinished = 0.0;
        let mut longest: f64 = 0.0;
        for started in self.stamps.values().filter_map(|stamps| stamps.started) {
            let age = seconds_between(started, now);
            unfinished += age;
            longest = longest.max(age);
        }
        MetricsSnapshot {
            depth: self.depth,
            adds: self.adds,
            retries: self.retries,
            queue_duration: self.queue_duration.clone(),
            work_duration: self.work_duration.clone(),
            unfinished_work_seconds: unfinished,
            longest_running_processor_seconds: longest,
            depth_by_priority: Vec::new(),
        }
    }
}

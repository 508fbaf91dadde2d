//! The queue's state machine, without locks or waiting: what `add`, `get`
//! and `done` do to the sets. `Queue` wraps it in a mutex.
//!
//! A key is in at most one of three places:
//! - `ready`: waiting to be handed out;
//! - `processing`: handed out, not yet done (and marked dirty if it was
//!   added again meanwhile: it goes back to `ready` at `done`, with the
//!   highest priority it was added with);
//! - `delayed`: waiting for a ready time; it joins `ready` when that time
//!   comes, like an `add` at that moment.

use super::delayed::DelayedKeys;
use super::ready::ReadyKeys;
use crate::clock::{Clock, Timestamp};
use crate::hash::FastHashMap;
use crate::metrics::{MetricsSnapshot, QueueMetrics};
use std::collections::hash_map::Entry;
use std::hash::Hash;
use std::time::Duration;

/// Where a key known to the queue is. One map holds it, so an add, a get
/// and a done each cost one hash-table operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// In `ready`, waiting to be handed out.
    Ready,
    /// Handed out, not yet done.
    Processing,
    /// Handed out and added again: back to `ready` at done, with this
    /// priority (the highest it was added with meanwhile).
    ProcessingDirty(i32),
}

pub(crate) struct QueueState<K> {
    ready: ReadyKeys<K>,
    phases: FastHashMap<K, Phase>,
    processing: usize,
    pub(crate) delayed: DelayedKeys<K>,
    /// Keys in `processing` that were added again and will be requeued.
    dirty_in_processing: usize,
    pub(crate) shutting_down: bool,
    /// A `shutdown_with_drain` is waiting and no plain shutdown released it.
    pub(crate) draining: bool,
    /// Named queues only.
    metrics: Option<Box<QueueMetrics<K>>>,
}

/// What an `add` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Added {
    /// The key joined the tail of the ready keys.
    Queued,
    /// The key is being processed; it will be queued again at `done`.
    MarkedDirty,
    /// The key already had a run pending.
    Collapsed,
    /// The queue is shutting down; the key was dropped.
    Rejected,
}

/// What a `done` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Finished {
    /// The key was added while processing and is queued again.
    Requeued,
    /// The key left the queue.
    Removed,
    /// The key was not being processed; nothing changed.
    NotProcessing,
}

impl<K: Hash + Eq + Clone> QueueState<K> {
    /// `aging`: the interval after which a waiting key's priority has
    /// grown by one, read on `clock` (see `ready.rs`). `metrics`: the clock
    /// of a named queue's metrics.
    pub(crate) fn new(aging: Option<(Duration, Clock)>, metrics: Option<Clock>) -> Self {
        QueueState {
            ready: ReadyKeys::new(aging),
            phases: FastHashMap::default(),
            processing: 0,
            delayed: DelayedKeys::new(),
            dirty_in_processing: 0,
            shutting_down: false,
            draining: false,
            metrics: metrics.map(|clock| Box::new(QueueMetrics::new(clock))),
        }
    }

    /// Adds `key` at `priority`. A key already ready keeps the higher of
    /// its priority and `priority` (a raise moves it to the tail of the new
    /// level); a key being processed remembers the highest for its requeue.
    pub(crate) fn add(&mut self, key: K, priority: i32) -> Added {
        if self.shutting_down {
            return Added::Rejected;
        }
        match self.phases.entry(key) {
            Entry::Vacant(vacant) => {
                if let Some(metrics) = self.metrics.as_mut() {
                    metrics.added(vacant.key());
                }
                self.ready.push(vacant.key().clone(), priority);
                vacant.insert(Phase::Ready);
                Added::Queued
            }
            Entry::Occupied(mut occupied) => match *occupied.get() {
                Phase::Ready => {
                    self.ready.raise(occupied.key(), priority);
                    Added::Collapsed
                }
                Phase::ProcessingDirty(pending) => {
                    occupied.insert(Phase::ProcessingDirty(pending.max(priority)));
                    Added::Collapsed
                }
                Phase::Processing => {
                    if let Some(metrics) = self.metrics.as_mut() {
                        metrics.added(occupied.key());
                    }
                    occupied.insert(Phase::ProcessingDirty(priority));
                    self.dirty_in_processing += 1;
                    Added::MarkedDirty
                }
            },
        }
    }

    /// Hands out the first ready key (highest priority, oldest) with its
    /// priority, and marks it processing.
    pub(crate) fn pop(&mut self) -> Option<(K, i32)> {
        let (key, priority) = self.ready.pop()?;
        if let Some(phase) = self.phases.get_mut(&key) {
            *phase = Phase::Processing;
        }
        if let Some(metrics) = self.metrics.as_mut() {
            metrics.got(&key);
        }
        self.processing += 1;
        Some((key, priority))
    }

    pub(crate) fn done(&mut self, key: &K) -> Finished {
        // Remove first: the common case (processing, not re-added) is then
        // a single hash-table operation.
        let phase = self.phases.remove(key);
        if let (Some(metrics), Some(Phase::Processing | Phase::ProcessingDirty(_))) =
            (self.metrics.as_mut(), phase)
        {
            metrics.done(key);
        }
        match phase {
            Some(Phase::Processing) => {
                self.processing -= 1;
                Finished::Removed
            }
            Some(Phase::ProcessingDirty(priority)) => {
                self.processing -= 1;
                self.dirty_in_processing -= 1;
                self.phases.insert(key.clone(), Phase::Ready);
                self.ready.push(key.clone(), priority);
                Finished::Requeued
            }
            Some(Phase::Ready) => {
                self.phases.insert(key.clone(), Phase::Ready);
                Finished::NotProcessing
            }
            None => Finished::NotProcessing,
        }
    }

    /// Moves every delayed key whose time has come into `ready`, in
    /// ready-time order. Returns how many became ready.
    pub(crate) fn promote_due(&mut self, now: Timestamp) -> usize {
        let mut queued = 0;
        while let Some((key, priority)) = self.delayed.pop_due(now) {
            if self.add(key, priority) == Added::Queued {
                queued += 1;
            }
        }
        queued
    }

    /// Whether `key` is ready, being processed, or waiting for a delay.
    pub(crate) fn contains(&self, key: &K) -> bool {
        self.phases.contains_key(key) || self.delayed.contains(key)
    }

    /// Keys ready to be handed out.
    pub(crate) fn ready_len(&self) -> usize {
        self.ready.len()
    }

    /// Ready keys per priority, highest first.
    pub(crate) fn ready_len_by_priority(&self) -> Vec<(i32, usize)> {
        self.ready.len_by_priority()
    }

    pub(crate) fn processing_len(&self) -> usize {
        self.processing
    }

    /// Whether a getter may report shutdown: nothing is ready and, while a
    /// drain is waiting, no key being processed is due to come back.
    pub(crate) fn exhausted(&self) -> bool {
        self.shutting_down
            && self.ready.is_empty()
            && (!self.draining || self.dirty_in_processing == 0)
    }

    /// Every key that was queued or in flight has been processed and done.
    pub(crate) fn drained(&self) -> bool {
        self.ready.is_empty() && self.processing == 0
    }

    /// Counts an accepted `add_after` (client-go's retries metric).
    pub(crate) fn retried(&mut self) {
        if let Some(metrics) = self.metrics.as_mut() {
            metrics.retried();
        }
    }

    /// The metrics of a named queue.
    pub(crate) fn metrics_snapshot(&self) -> Option<MetricsSnapshot> {
        let mut snapshot = self.metrics.as_ref()?.snapshot();
        snapshot.depth_by_priority = self
            .ready_len_by_priority()
            .into_iter()
            .map(|(priority, count)| (priority, count as u64))
            .collect();
        Some(snapshot)
    }

    /// Stops accepting keys; keys waiting for a delay are dropped.
    pub(crate) fn shut_down(&mut self, drain: bool) {
        if let Some(metrics) = self.metrics.as_mut() {
            metrics.shut_down();
        }
        self.shutting_down = true;
        self.draining = drain;
        self.delayed.clear();
    }
}

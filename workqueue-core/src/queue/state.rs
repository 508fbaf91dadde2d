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
use super::phases::Phases;
use super::ready::ReadyKeys;
use crate::clock::{Clock, Timestamp};
use crate::metrics::{MetricsSnapshot, NoMetrics, QueueMetrics, TscStamp};
use std::hash::Hash;
use std::time::Duration;

pub(crate) struct QueueState<K> {
    ready: ReadyKeys<K>,
    phases: AnyPhases<K>,
    processing: usize,
    pub(crate) delayed: DelayedKeys<K>,
    /// Keys in `processing` that were added again and will be requeued.
    dirty_in_processing: usize,
    pub(crate) shutting_down: bool,
    /// A `shutdown_with_drain` is waiting and no plain shutdown released it.
    pub(crate) draining: bool,
}

/// The phase map of an unnamed queue, or of a named one with its metrics.
/// Two types, so an unnamed queue's entries carry no metric stamps; the
/// named one boxed, so an unnamed queue does not carry their space either.
enum AnyPhases<K> {
    Unnamed(Phases<K, NoMetrics>),
    Named(Phases<K, Box<QueueMetrics>>),
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
            phases: match metrics {
                None => AnyPhases::Unnamed(Phases::new(NoMetrics)),
                Some(clock) => AnyPhases::Named(Phases::new(Box::new(QueueMetrics::new(clock)))),
            },
            processing: 0,
            delayed: DelayedKeys::new(),
            dirty_in_processing: 0,
            shutting_down: false,
            draining: false,
        }
    }

    /// Adds `key` at `priority`. A key already ready keeps the higher of
    /// its priority and `priority` (a raise moves it to the tail of the new
    /// level); a key being processed remembers the highest for its requeue.
    pub(crate) fn add(&mut self, key: K, priority: i32) -> Added {
        self.add_made_at(key, priority, None)
    }

    /// `add`, made at `made_at` if not now (a replayed call).
    pub(crate) fn add_made_at(
        &mut self,
        key: K,
        priority: i32,
        made_at: Option<TscStamp>,
    ) -> Added {
        if self.shutting_down {
            return Added::Rejected;
        }
        let added = match &mut self.phases {
            AnyPhases::Unnamed(phases) => phases.add(key, priority, &mut self.ready, made_at),
            AnyPhases::Named(phases) => phases.add(key, priority, &mut self.ready, made_at),
        };
        if added == Added::MarkedDirty {
            self.dirty_in_processing += 1;
        }
        added
    }

    /// Hands out the first ready key (highest priority, oldest) with its
    /// priority, and marks it processing.
    pub(crate) fn pop(&mut self) -> Option<(K, i32)> {
        let (key, priority) = self.ready.pop()?;
        match &mut self.phases {
            AnyPhases::Unnamed(phases) => phases.got(&key),
            AnyPhases::Named(phases) => phases.got(&key),
        }
        self.processing += 1;
        Some((key, priority))
    }

    pub(crate) fn done(&mut self, key: &K) -> Finished {
        self.done_made_at(key, None)
    }

    /// `done`, made at `made_at` if not now (a replayed call).
    pub(crate) fn done_made_at(&mut self, key: &K, made_at: Option<TscStamp>) -> Finished {
        let finished = match &mut self.phases {
            AnyPhases::Unnamed(phases) => phases.done(key, &mut self.ready, made_at),
            AnyPhases::Named(phases) => phases.done(key, &mut self.ready, made_at),
        };
        match finished {
            Finished::Removed => self.processing -= 1,
            Finished::Requeued => {
                self.processing -= 1;
                self.dirty_in_processing -= 1;
            }
            Finished::NotProcessing => {}
        }
        finished
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
        let known = match &self.phases {
            AnyPhases::Unnamed(phases) => phases.contains(key),
            AnyPhases::Named(phases) => phases.contains(key),
        };
        known || self.delayed.contains(key)
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

    /// Whether this is a named queue whose metrics read [`TscStamp`]s as
    /// the times of replayed calls.
    pub(crate) fn metrics_take_tsc_stamps(&self) -> bool {
        matches!(&self.phases, AnyPhases::Named(phases) if phases.metrics.takes_tsc_stamps())
    }

    /// Counts an accepted `add_after` (client-go's retries metric).
    pub(crate) fn retried(&mut self) {
        if let AnyPhases::Named(phases) = &mut self.phases {
            phases.metrics.retried();
        }
    }

    /// The metrics of a named queue.
    pub(crate) fn metrics_snapshot(&mut self) -> Option<MetricsSnapshot> {
        let AnyPhases::Named(phases) = &mut self.phases else {
            return None;
        };
        let mut snapshot = phases.metrics_snapshot();
        snapshot.depth_by_priority = self
            .ready_len_by_priority()
            .into_iter()
            .map(|(priority, count)| (priority, count as u64))
            .collect();
        Some(snapshot)
    }

    /// Stops accepting keys; keys waiting for a delay are dropped.
    pub(crate) fn shut_down(&mut self, drain: bool) {
        if let AnyPhases::Named(phases) = &mut self.phases {
            phases.metrics.shut_down();
        }
        self.shutting_down = true;
        self.draining = drain;
        self.delayed.clear();
    }
}

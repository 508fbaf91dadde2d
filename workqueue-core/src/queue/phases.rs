//! Where each key known to the queue is (ready or being processed), with
//! the per-key stamps of its metrics in the same entry. One map holds both,
//! so an add, a get and a done each cost one hash-table operation, metrics
//! or not.

use super::ready::ReadyKeys;
use super::state::{Added, Finished};
use crate::hash::FastHashMap;
use crate::metrics::{KeyMetrics, MetricsSnapshot, QueueMetrics, TscStamp};
use std::collections::hash_map::Entry;
use std::hash::Hash;

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

/// Every key that is ready or being processed, with its phase and stamps.
pub(super) struct Phases<K, M: KeyMetrics> {
    entries: FastHashMap<K, (Phase, M::Stamps)>,
    pub(super) metrics: M,
}

impl<K: Hash + Eq + Clone, M: KeyMetrics> Phases<K, M> {
    pub(super) fn new(metrics: M) -> Self {
        Phases {
            entries: FastHashMap::default(),
            metrics,
        }
    }

    /// Adds `key` at `priority`, queueing it in `ready` if it is new;
    /// `made_at`: when the add was made, if not now (see `key_metrics.rs`).
    #[inline]
    pub(super) fn add(
        &mut self,
        key: K,
        priority: i32,
        ready: &mut ReadyKeys<K>,
        made_at: Option<TscStamp>,
    ) -> Added {
        match self.entries.entry(key) {
            Entry::Vacant(vacant) => {
                let mut stamps = M::Stamps::default();
                self.metrics.added(&mut stamps, made_at);
                ready.push(vacant.key().clone(), priority);
                vacant.insert((Phase::Ready, stamps));
                Added::Queued
            }
            Entry::Occupied(mut occupied) => match occupied.get().0 {
                Phase::Ready => {
                    ready.raise(occupied.key(), priority);
                    Added::Collapsed
                }
                Phase::ProcessingDirty(pending) => {
                    occupied.get_mut().0 = Phase::ProcessingDirty(pending.max(priority));
                    Added::Collapsed
                }
                Phase::Processing => {
                    let (phase, stamps) = occupied.get_mut();
                    self.metrics.added(stamps, made_at);
                    *phase = Phase::ProcessingDirty(priority);
                    Added::MarkedDirty
                }
            },
        }
    }

    /// `key`, just taken from `ready`, is being processed.
    #[inline]
    pub(super) fn got(&mut self, key: &K) {
        if let Some((phase, stamps)) = self.entries.get_mut(key) {
            *phase = Phase::Processing;
            self.metrics.got(stamps);
        }
    }

    /// Finishes the processing of `key`; a key added meanwhile goes back
    /// to `ready`. `made_at`: as for `add`.
    #[inline]
    pub(super) fn done(
        &mut self,
        key: &K,
        ready: &mut ReadyKeys<K>,
        made_at: Option<TscStamp>,
    ) -> Finished {
        // Remove first: the common case (processing, not re-added) is then
        // a single hash-table operation.
        let Some((phase, stamps)) = self.entries.remove(key) else {
            return Finished::NotProcessing;
        };
        match phase {
            Phase::Processing => {
                self.metrics.done(&stamps, made_at);
                Finished::Removed
            }
            Phase::ProcessingDirty(priority) => {
                self.metrics.done(&stamps, made_at);
                self.entries.insert(key.clone(), (Phase::Ready, stamps));
                ready.push(key.clone(), priority);
                Finished::Requeued
            }
            Phase::Ready => {
                self.entries.insert(key.clone(), (Phase::Ready, stamps));
                Finished::NotProcessing
            }
        }
    }

    pub(super) fn contains(&self, key: &K) -> bool {
        self.entries.contains_key(key)
    }
}

impl<K> Phases<K, Box<QueueMetrics>> {
    /// A named queue's metrics now; the keys being processed give the
    /// "unfinished" gauges.
    pub(super) fn metrics_snapshot(&mut self) -> MetricsSnapshot {
        let processing = self
            .entries
            .values()
            .filter(|(phase, _)| *phase != Phase::Ready)
            .map(|(_, stamps)| stamps);
        self.metrics.snapshot(processing)
    }
}

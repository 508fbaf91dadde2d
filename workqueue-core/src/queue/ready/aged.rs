//! Priority with aging: a waiting key's effective priority grows by one
//! every interval `I` it waits, `p + (now - enqueued) / I`.
//!
//! Comparing two keys, `now` cancels out, so the order is fixed by the
//! score `p·I - enqueued` (higher first, then earlier arrival): a sorted map
//! keeps it with no re-sorting as time passes.

use crate::clock::Clock;
use crate::hash::FastHashMap;
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::hash::Hash;
use std::time::Duration;

pub(super) struct Aged<K> {
    keys: BTreeMap<Rank, K>,
    slots: FastHashMap<K, Slot>,
    next_arrival: u64,
    interval_nanos: i128,
    clock: Clock,
}

/// Where a ready key stands.
#[derive(Clone, Copy)]
struct Slot {
    rank: Rank,
    priority: i32,
    /// When it became ready: a raise keeps its age.
    enqueued: i128,
}

/// Sorts higher scores first, then earlier arrivals.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    score: Reverse<i128>,
    arrival: u64,
}

impl<K: Hash + Eq + Clone> Aged<K> {
    pub(super) fn new(interval: Duration, clock: Clock) -> Self {
        Aged {
            keys: BTreeMap::new(),
            slots: FastHashMap::default(),
            next_arrival: 0,
            interval_nanos: interval.as_nanos() as i128,
            clock,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The rank of a key at `priority` that became ready at `enqueued`,
    /// behind every key ranked before it.
    fn rank(&mut self, priority: i32, enqueued: i128) -> Rank {
        let arrival = self.next_arrival;
        self.next_arrival += 1;
        Rank {
            score: Reverse(i128::from(priority) * self.interval_nanos - enqueued),
            arrival,
        }
    }

    pub(super) fn push(&mut self, key: K, priority: i32) {
        let enqueued = i128::from(self.clock.now().as_nanos());
        let rank = self.rank(priority, enqueued);
        let slot = Slot {
            rank,
            priority,
            enqueued,
        };
        self.slots.insert(key.clone(), slot);
        self.keys.insert(rank, key);
    }

    /// A raise keeps the key's age (its enqueue time) but takes a new
    /// arrival, so it goes behind the keys already at its new level and
    /// never loses the priority it has aged into.
    pub(super) fn raise(&mut self, key: &K, priority: i32) -> bool {
        let Some(&old) = self.slots.get(key) else {
            return false;
        };
        if priority <= old.priority {
            return false;
        }
        let rank = self.rank(priority, old.enqueued);
        if let Some(key) = self.keys.remove(&old.rank) {
            let slot = Slot {
                rank,
                priority,
                enqueued: old.enqueued,
            };
            self.slots.insert(key.clone(), slot);
            self.keys.insert(rank, key);
        }
        true
    }

    pub(super) fn pop(&mut self) -> Option<(K, i32)> {
        let (_, key) = self.keys.pop_first()?;
        let slot = self.slots.remove(&key)?;
        Some((key, slot.priority))
    }

    pub(super) fn len_by_priority(&self) -> Vec<(i32, usize)> {
        let mut counts: BTreeMap<Reverse<i32>, usize> = BTreeMap::new();
        for slot in self.slots.values() {
            *counts.entry(Reverse(slot.priority)).or_default() += 1;
        }
        counts.into_iter().map(|(p, n)| (p.0, n)).collect()
    }
}

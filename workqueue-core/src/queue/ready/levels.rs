//! Strict priority: one FIFO per priority level, highest level first.
//!
//! Each key's live entry (its priority and arrival number) is kept in a
//! map; a raise pushes a new entry onto the new level and leaves the old
//! one behind as stale, skipped when it reaches the front. Stale entries
//! are compacted away once they outnumber live ones, so memory stays
//! proportional to the ready keys. Every operation is O(log levels).

use crate::hash::FastHashMap;
use std::cmp::Reverse;
use std::collections::{BTreeMap, VecDeque};
use std::hash::Hash;

pub(super) struct Levels<K> {
    levels: BTreeMap<Reverse<i32>, VecDeque<(u64, K)>>,
    live: FastHashMap<K, (i32, u64)>,
    next_arrival: u64,
    stale: usize,
}

/// Below this many stale entries the levels are never compacted.
const MIN_STALE_TO_COMPACT: usize = 64;

impl<K: Hash + Eq + Clone> Levels<K> {
    pub(super) fn new() -> Self {
        Levels {
            levels: BTreeMap::new(),
            live: FastHashMap::default(),
            next_arrival: 0,
            stale: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.live.len()
    }

    pub(super) fn push(&mut self, key: K, priority: i32) {
        let arrival = self.next_arrival;
        self.next_arrival += 1;
        self.live.insert(key.clone(), (priority, arrival));
        self.levels
            .entry(Reverse(priority))
            .or_default()
            .push_back((arrival, key));
    }

    pub(super) fn raise(&mut self, key: &K, priority: i32) -> bool {
        match self.live.get(key) {
            Some(&(current, _)) if current < priority => {}
            _ => return false,
        }
        self.stale += 1;
        self.push(key.clone(), priority);
        self.compact_if_mostly_stale();
        true
    }

    pub(super) fn pop(&mut self) -> Option<(K, i32)> {
        loop {
            let mut level = self.levels.first_entry()?;
            let Reverse(priority) = *level.key();
            let entry = level.get_mut().pop_front();
            if level.get().is_empty() {
                level.remove();
            }
            let Some((arrival, key)) = entry else {
                continue;
            };
            if self.live.get(&key) == Some(&(priority, arrival)) {
                self.live.remove(&key);
                return Some((key, priority));
            }
            self.stale -= 1;
        }
    }

    pub(super) fn len_by_priority(&self) -> Vec<(i32, usize)> {
        let mut counts: BTreeMap<Reverse<i32>, usize> = BTreeMap::new();
        for &(priority, _) in self.live.values() {
            *counts.entry(Reverse(priority)).or_default() += 1;
        }
        counts.into_iter().map(|(p, n)| (p.0, n)).collect()
    }

    fn compact_if_mostly_stale(&mut self) {
        if self.stale <= MIN_STALE_TO_COMPACT || self.stale <= self.live.len() {
            return;
        }
        let live = &self.live;
        for (Reverse(priority), level) in self.levels.iter_mut() {
            level.retain(|(arrival, key)| live.get(key) == Some(&(*priority, *arrival)));
        }
        self.levels.retain(|_, level| !level.is_empty());
        self.stale = 0;
    }
}

//! Keys waiting for a ready time (`add_after`, `add_rate_limited`).
//!
//! A binary heap ordered by (ready time, arrival) gives the earliest entry
//! in O(1) and keeps entries that come due together in ready-time order.
//! A map from key to its live entry (earliest ready time and arrival
//! number) makes a second `add_after` of the same key keep whichever time
//! is earlier; when it replaces a later time, the old heap entry is left
//! behind as stale and skipped when it surfaces. The heap is rebuilt once stale entries outnumber live ones, so
//! memory stays proportional to the keys actually waiting.

use crate::clock::Timestamp;
use crate::hash::FastHashMap;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::hash::Hash;

pub(crate) struct DelayedKeys<K> {
    heap: BinaryHeap<Entry<K>>,
    /// Each waiting key's live entry: its ready time and arrival number,
    /// and the highest priority it was delayed with.
    earliest: FastHashMap<K, Live>,
    next_arrival: u64,
}

#[derive(Clone, Copy)]
struct Live {
    ready: Timestamp,
    arrival: u64,
    priority: i32,
}

struct Entry<K> {
    ready: Timestamp,
    arrival: u64,
    key: K,
}

// The heap is a max-heap: reverse the order so the earliest entry is on top.
impl<K> Ord for Entry<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.ready, other.arrival).cmp(&(self.ready, self.arrival))
    }
}

impl<K> PartialOrd for Entry<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<K> PartialEq for Entry<K> {
    fn eq(&self, other: &Self) -> bool {
        self.arrival == other.arrival
    }
}

impl<K> Eq for Entry<K> {}

/// What an insert did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inserted {
    /// The key already waits for an earlier or equal time.
    Unchanged,
    /// The key's ready time was set, behind the earliest entry.
    Later,
    /// The key is now the earliest entry: a getter timed for the old
    /// earliest must re-time.
    Earliest,
}

/// Below this many stale entries the heap is never rebuilt.
const MIN_STALE_TO_COMPACT: usize = 64;

impl<K: Hash + Eq + Clone> DelayedKeys<K> {
    pub(crate) fn new() -> Self {
        DelayedKeys {
            heap: BinaryHeap::new(),
            earliest: FastHashMap::default(),
            next_arrival: 0,
        }
    }

    /// Number of keys waiting.
    pub(crate) fn len(&self) -> usize {
        self.earliest.len()
    }

    pub(crate) fn contains(&self, key: &K) -> bool {
        self.earliest.contains_key(key)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.earliest.is_empty()
    }

    /// Makes `key` ready at `ready` with `priority`. A key already waiting
    /// keeps the earlier of the two ready times and the higher priority.
    pub(crate) fn insert(&mut self, key: K, ready: Timestamp, priority: i32) -> Inserted {
        let arrival = self.next_arrival;
        match self.earliest.get_mut(&key) {
            Some(live) if live.ready <= ready => {
                if priority <= live.priority {
                    return Inserted::Unchanged;
                }
                live.priority = priority;
                return Inserted::Later;
            }
            Some(live) => {
                live.ready = ready;
                live.arrival = arrival;
                live.priority = live.priority.max(priority);
            }
            None => {
                self.earliest.insert(
                    key.clone(),
                    Live {
                        ready,
                        arrival,
                        priority,
                    },
                );
            }
        }
        self.next_arrival += 1;
        self.heap.push(Entry {
            ready,
            arrival,
            key,
        });
        self.compact_if_mostly_stale();
        if self.heap.peek().is_some_and(|top| top.arrival == arrival) {
            Inserted::Earliest
        } else {
            Inserted::Later
        }
    }

    /// The ready time of the earliest live entry.
    pub(crate) fn next_ready(&mut self) -> Option<Timestamp> {
        self.drop_stale_top();
        self.heap.peek().map(|top| top.ready)
    }

    /// Removes and returns the earliest key whose ready time is at or
    /// before `now`, with its priority.
    pub(crate) fn pop_due(&mut self, now: Timestamp) -> Option<(K, i32)> {
        self.drop_stale_top();
        if self.heap.peek()?.ready > now {
            return None;
        }
        let entry = self.heap.pop()?;
        let live = self.earliest.remove(&entry.key)?;
        Some((entry.key, live.priority))
    }

    /// Forgets every waiting key.
    pub(crate) fn clear(&mut self) {
        self.heap = BinaryHeap::new();
        self.earliest = FastHashMap::default();
    }

    fn is_live(&self, entry: &Entry<K>) -> bool {
        // The arrival number matters: a stale entry with the same ready
        // time as a later re-insert must not jump ahead of keys between.
        self.earliest
            .get(&entry.key)
            .is_some_and(|live| live.ready == entry.ready && live.arrival == entry.arrival)
    }

    fn drop_stale_top(&mut self) {
        while let Some(top) = self.heap.peek() {
            if self.is_live(top) {
                return;
            }
            self.heap.pop();
        }
    }

    fn compact_if_mostly_stale(&mut self) {
        let stale = self.heap.len() - self.earliest.len();
        if stale > MIN_STALE_TO_COMPACT && stale > self.earliest.len() {
            let entries = std::mem::take(&mut self.heap).into_vec();
            let live: Vec<Entry<K>> = entries.into_iter().filter(|e| self.is_live(e)).collect();
            self.heap = BinaryHeap::from(live);
        }
    }

    #[cfg(test)]
    fn heap_len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn earliest_time_wins_and_fires_once() {
        let mut delayed = DelayedKeys::new();
        assert_eq!(delayed.insert("a", at(50), 0), Inserted::Earliest);
        assert_eq!(delayed.insert("b", at(70), 0), Inserted::Later);
        assert_eq!(delayed.insert("a", at(60), 0), Inserted::Unchanged);
        assert_eq!(delayed.insert("a", at(10), 0), Inserted::Earliest);
        assert_eq!(delayed.len(), 2);
        assert_eq!(delayed.next_ready(), Some(at(10)));
        assert_eq!(delayed.pop_due(at(9)), None);
        assert_eq!(delayed.pop_due(at(10)), Some(("a", 0)));
        // The stale 50 ms entry of "a" is skipped.
        assert_eq!(delayed.pop_due(at(69)), None);
        assert_eq!(delayed.pop_due(at(70)), Some(("b", 0)));
        assert!(delayed.is_empty());
    }

    #[test]
    fn equal_ready_times_keep_arrival_order() {
        let mut delayed = DelayedKeys::new();
        for key in [3, 1, 2] {
            delayed.insert(key, at(5), 0);
        }
        delayed.insert(0, at(4), 0);
        let order: Vec<i32> =
            std::iter::from_fn(|| delayed.pop_due(at(5)).map(|(k, _)| k)).collect();
        assert_eq!(order, vec![0, 3, 1, 2]);
    }

    #[test]
    fn stale_entries_are_compacted() {
        let mut delayed = DelayedKeys::new();
        for step in (0..10_000u64).rev() {
            delayed.insert(7u64, at(step), 0);
        }
        assert_eq!(delayed.len(), 1);
        assert!(
            delayed.heap_len() <= 2 * MIN_STALE_TO_COMPACT + 2,
            "heap holds {}",
            delayed.heap_len()
        );
        assert_eq!(delayed.pop_due(at(0)), Some((7, 0)));
        assert_eq!(delayed.next_ready(), None);
    }
}

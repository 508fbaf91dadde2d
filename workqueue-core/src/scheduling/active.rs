//! The active queue: items ready to be popped, highest priority first,
//! first come first served among equal priorities.
//!
//! One FIFO per priority level, in a B-tree keyed by priority: an add is a
//! push at the back of its level and a pop takes the front of the highest
//! level, O(1) apart from finding the level among the few that exist
//! (O(log levels)). A B-tree of every item keyed by (priority, arrival)
//! cost five times as much per add; a binary heap has no cheap removal.
//!
//! Removal (a delete, a priority change) is lazy: the entry stays in its
//! level and is skipped when it reaches the front, because the item map no
//! longer says the item is active in that slot. Levels are rebuilt without
//! stale entries once those outnumber the live ones, so memory stays
//! proportional to the items queued. A priority change keeps the item's
//! arrival number: it takes its place in the new level by when it entered
//! the active queue (a binary search; levels are in arrival order). An item
//! changed back to a level where its stale entry still sits revives that
//! entry rather than add a second one.

use std::cmp::Reverse;
use std::collections::{BTreeMap, VecDeque};

/// Where an item sits in the active queue: (priority, arrival). The item
/// map keeps it; an entry is live when the map's slot for its key matches.
pub(crate) type ActiveSlot = (Reverse<i32>, u64);

/// Below this many stale entries the levels are never rebuilt.
const MIN_STALE_TO_COMPACT: usize = 64;

pub(crate) struct ActiveQueue<K> {
    /// Highest priority first; each level in arrival order.
    levels: BTreeMap<Reverse<i32>, VecDeque<(u64, K)>>,
    /// Entries in all levels, stale ones included.
    entries: usize,
    /// Live items.
    live: usize,
}

impl<K> ActiveQueue<K> {
    pub(crate) fn new() -> Self {
        ActiveQueue {
            levels: BTreeMap::new(),
            entries: 0,
            live: 0,
        }
    }

    /// Live items.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Queues `key`; `arrival` must be new, or the arrival the item had
    /// when it last entered the active queue (a priority change).
    pub(crate) fn insert(&mut self, priority: i32, arrival: u64, key: K) -> ActiveSlot {
        let level = self.levels.entry(Reverse(priority)).or_default();
        self.live += 1;
        match level.back() {
            Some((last, _)) if *last >= arrival => {
                if let Err(at) = level.binary_search_by_key(&arrival, |(a, _)| *a) {
                    level.insert(at, (arrival, key));
                    self.entries += 1;
                }
                // Found: the item's own stale entry, live again.
            }
            _ => {
                level.push_back((arrival, key));
                self.entries += 1;
            }
        }
        (Reverse(priority), arrival)
    }

    /// Forgets a live item whose map entry no longer points at its slot
    /// (deleted, or re-inserted at another priority). Call
    /// [`compact_if_mostly_stale`](Self::compact_if_mostly_stale) after.
    pub(crate) fn forget_one(&mut self) {
        self.live -= 1;
        self.clear_if_empty();
    }

    /// With no live item left every entry is stale: drop them all at once.
    fn clear_if_empty(&mut self) {
        if self.live == 0 && self.entries > 0 {
            self.levels.clear();
            self.entries = 0;
        }
    }

    /// Removes the head: the highest priority, the earliest arrival,
    /// skipping (and dropping) entries for which `take` says the item is
    /// not live in that slot. `take` is called once per entry and, when it
    /// returns true, has taken the item out of the active queue.
    pub(crate) fn pop(&mut self, mut take: impl FnMut(&K, ActiveSlot) -> bool) -> Option<(K, i32)> {
        while self.live > 0 {
            let mut level = self.levels.first_entry()?;
            let Reverse(priority) = *level.key();
            let popped = level.get_mut().pop_front();
            if level.get().is_empty() {
                level.remove();
            }
            let Some((arrival, key)) = popped else {
                continue;
            };
            self.entries -= 1;
            if take(&key, (Reverse(priority), arrival)) {
                self.live -= 1;
                self.clear_if_empty();
                return Some((key, priority));
            }
        }
        None
    }

    /// Drops stale entries once they outnumber the live ones; `is_live`
    /// says whether the item of an entry is live in that slot.
    pub(crate) fn compact_if_mostly_stale(
        &mut self,
        mut is_live: impl FnMut(&K, ActiveSlot) -> bool,
    ) {
        let stale = self.entries - self.live;
        if stale <= MIN_STALE_TO_COMPACT || stale <= self.live {
            return;
        }
        self.levels.retain(|&Reverse(priority), level| {
            level.retain(|(arrival, key)| is_live(key, (Reverse(priority), *arrival)));
            !level.is_empty()
        });
        self.entries = self.live;
    }

    #[cfg(test)]
    fn entries(&self) -> usize {
        self.entries
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The queue with a map of which slot each key is live in, like the
    /// scheduling state keeps.
    struct Model {
        active: ActiveQueue<&'static str>,
        live: HashMap<&'static str, ActiveSlot>,
        next: u64,
    }

    impl Model {
        fn new() -> Self {
            Model {
                active: ActiveQueue::new(),
                live: HashMap::new(),
                next: 0,
            }
        }

        fn add(&mut self, key: &'static str, priority: i32) {
            self.next += 1;
            let slot = self.active.insert(priority, self.next, key);
            self.live.insert(key, slot);
        }

        fn reprioritize(&mut self, key: &'static str, priority: i32) {
            let (_, arrival) = self.live[key];
            self.active.forget_one();
            let slot = self.active.insert(priority, arrival, key);
            self.live.insert(key, slot);
            self.compact();
        }

        fn delete(&mut self, key: &'static str) {
            self.live.remove(key);
            self.active.forget_one();
            self.compact();
        }

        fn compact(&mut self) {
            let live = &self.live;
            self.active
                .compact_if_mostly_stale(|key, slot| live.get(key) == Some(&slot));
        }

        fn pop(&mut self) -> Option<(&'static str, i32)> {
            let live = &mut self.live;
            self.active.pop(|key, slot| {
                let taken = live.get(key) == Some(&slot);
                if taken {
                    live.remove(key);
                }
                taken
            })
        }

        fn drain(&mut self) -> Vec<(&'static str, i32)> {
            std::iter::from_fn(|| self.pop()).collect()
        }
    }

    #[test]
    fn highest_priority_first_then_arrival() {
        let mut model = Model::new();
        for (key, priority) in [
            ("low-1", 0),
            ("high-2", 5),
            ("low-3", 0),
            ("high-4", 5),
            ("min", i32::MIN),
            ("max", i32::MAX),
        ] {
            model.add(key, priority);
        }
        assert_eq!(
            model.drain(),
            vec![
                ("max", i32::MAX),
                ("high-2", 5),
                ("high-4", 5),
                ("low-1", 0),
                ("low-3", 0),
                ("min", i32::MIN)
            ]
        );
        assert_eq!(model.active.len(), 0);
        assert_eq!(model.active.entries(), 0);
    }

    #[test]
    fn a_priority_change_keeps_the_arrival_and_a_change_back_revives() {
        let mut model = Model::new();
        model.add("a", 1);
        model.add("b", 0);
        model.add("c", 1);
        model.reprioritize("b", 1);
        assert_eq!(model.active.len(), 3);
        model.reprioritize("a", 0);
        model.reprioritize("a", 1); // back where its stale entry sits
        assert_eq!(model.active.entries(), 5, "revived, not added twice");
        assert_eq!(model.drain(), vec![("a", 1), ("b", 1), ("c", 1)]);
        assert_eq!(model.active.entries(), 0);
    }

    #[test]
    fn deleted_items_are_skipped_and_stale_entries_compacted() {
        let mut model = Model::new();
        let keys: Vec<&'static str> = (0..1000)
            .map(|i| &*Box::leak(format!("k{i}").into_boxed_str()))
            .collect();
        for (i, key) in keys.iter().enumerate() {
            model.add(key, (i % 4) as i32);
        }
        for key in &keys[..990] {
            model.delete(key);
        }
        assert_eq!(model.active.len(), 10);
        assert!(
            model.active.entries() <= 2 * MIN_STALE_TO_COMPACT + 10,
            "{} entries",
            model.active.entries()
        );
        let popped = model.drain();
        assert_eq!(popped.len(), 10);
        assert_eq!(popped[0], ("k991", 3));
        assert_eq!(model.pop(), None);
    }
}

//! The order in which ready keys are handed out.
//!
//! Plain FIFO until a priority other than 0 is used: a `VecDeque`, the
//! cheapest structure for the common case. The first non-zero priority (or
//! an aging configuration) turns it into a priority order: higher priority
//! first, FIFO within a priority (controller-runtime's priorityqueue,
//! kube-scheduler's activeQ).
//!
//! Aging: strict priority starves low priorities (controller-runtime#3496).
//! With an aging interval `I`, a waiting key's effective priority grows by
//! one every `I` it waits: `p + (now - enqueued) / I`. Comparing two keys,
//! `now` cancels out, so the order is fixed at enqueue time by the score
//! `p·I - enqueued`: a sorted map keeps it with no re-sorting as time passes.

use crate::clock::Clock;
use crate::hash::FastHashMap;
use std::cmp::Reverse;
use std::collections::{BTreeMap, VecDeque};
use std::hash::Hash;
use std::time::Duration;

pub(crate) struct ReadyKeys<K> {
    order: Order<K>,
}

enum Order<K> {
    Fifo(VecDeque<K>),
    Priority(PriorityOrder<K>),
}

struct PriorityOrder<K> {
    keys: BTreeMap<Rank, K>,
    slots: FastHashMap<K, Slot>,
    next_arrival: u64,
    aging: Option<Aging>,
}

struct Aging {
    interval_nanos: i128,
    clock: Clock,
}

/// Where a ready key stands.
#[derive(Clone, Copy)]
struct Slot {
    rank: Rank,
    priority: i32,
    /// When it became ready (aging only): a raise keeps its age.
    enqueued: i128,
}

/// Sorts higher scores first, then earlier arrivals.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    score: Reverse<i128>,
    arrival: u64,
}

impl<K: Hash + Eq + Clone> ReadyKeys<K> {
    /// FIFO, or a priority order from the start when keys age.
    pub(crate) fn new(aging: Option<(Duration, Clock)>) -> Self {
        let order = match aging {
            None => Order::Fifo(VecDeque::new()),
            Some((interval, clock)) => Order::Priority(PriorityOrder::new(Some(Aging {
                interval_nanos: interval.as_nanos() as i128,
                clock,
            }))),
        };
        ReadyKeys { order }
    }

    pub(crate) fn len(&self) -> usize {
        match &self.order {
            Order::Fifo(keys) => keys.len(),
            Order::Priority(order) => order.keys.len(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Puts `key` (not yet ready) at the tail of its priority level.
    pub(crate) fn push(&mut self, key: K, priority: i32) {
        match &mut self.order {
            Order::Fifo(keys) if priority == 0 => keys.push_back(key),
            Order::Fifo(_) => {
                self.prioritise().push(key, priority);
            }
            Order::Priority(order) => order.push(key, priority),
        }
    }

    /// Raises a ready key to `priority` if that is higher than its own,
    /// moving it to the tail of the new level. Returns whether it moved.
    pub(crate) fn raise(&mut self, key: &K, priority: i32) -> bool {
        match &mut self.order {
            Order::Fifo(_) if priority <= 0 => false,
            Order::Fifo(_) => self.prioritise().raise(key, priority),
            Order::Priority(order) => order.raise(key, priority),
        }
    }

    /// Takes the first key and its priority.
    pub(crate) fn pop(&mut self) -> Option<(K, i32)> {
        match &mut self.order {
            Order::Fifo(keys) => keys.pop_front().map(|key| (key, 0)),
            Order::Priority(order) => order.pop(),
        }
    }

    /// Ready keys per priority, highest first.
    pub(crate) fn len_by_priority(&self) -> Vec<(i32, usize)> {
        match &self.order {
            Order::Fifo(keys) if keys.is_empty() => Vec::new(),
            Order::Fifo(keys) => vec![(0, keys.len())],
            Order::Priority(order) => {
                let mut counts: BTreeMap<Reverse<i32>, usize> = BTreeMap::new();
                for slot in order.slots.values() {
                    *counts.entry(Reverse(slot.priority)).or_default() += 1;
                }
                counts.into_iter().map(|(p, n)| (p.0, n)).collect()
            }
        }
    }

    /// Switches a FIFO to a priority order, keeping the FIFO's keys in
    /// their order at priority 0.
    fn prioritise(&mut self) -> &mut PriorityOrder<K> {
        if let Order::Fifo(keys) = &mut self.order {
            let mut order = PriorityOrder::new(None);
            for key in keys.drain(..) {
                order.push(key, 0);
            }
            self.order = Order::Priority(order);
        }
        match &mut self.order {
            Order::Priority(order) => order,
            Order::Fifo(_) => unreachable!("converted above"),
        }
    }
}

impl<K: Hash + Eq + Clone> PriorityOrder<K> {
    fn new(aging: Option<Aging>) -> Self {
        PriorityOrder {
            keys: BTreeMap::new(),
            slots: FastHashMap::default(),
            next_arrival: 0,
            aging,
        }
    }

    /// Now, in nanoseconds, when keys age (0 otherwise: unused).
    fn now(&self) -> i128 {
        self.aging
            .as_ref()
            .map_or(0, |aging| i128::from(aging.clock.now().as_nanos()))
    }

    /// The rank of a key at `priority` that became ready at `enqueued`,
    /// behind every key ranked before it.
    fn rank(&mut self, priority: i32, enqueued: i128) -> Rank {
        let score = match &self.aging {
            None => i128::from(priority),
            Some(aging) => i128::from(priority) * aging.interval_nanos - enqueued,
        };
        let arrival = self.next_arrival;
        self.next_arrival += 1;
        Rank {
            score: Reverse(score),
            arrival,
        }
    }

    fn push(&mut self, key: K, priority: i32) {
        let enqueued = self.now();
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
    fn raise(&mut self, key: &K, priority: i32) -> bool {
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

    fn pop(&mut self) -> Option<(K, i32)> {
        let (_, key) = self.keys.pop_first()?;
        let slot = self.slots.remove(&key)?;
        Some((key, slot.priority))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn drain(ready: &mut ReadyKeys<&'static str>) -> Vec<(&'static str, i32)> {
        std::iter::from_fn(|| ready.pop()).collect()
    }

    #[test]
    fn fifo_until_a_priority_is_used_then_highest_first() {
        let mut ready = ReadyKeys::new(None);
        ready.push("a", 0);
        ready.push("b", 0);
        ready.push("hi", 5);
        ready.push("c", 0);
        ready.push("low", -1);
        assert_eq!(
            drain(&mut ready),
            vec![("hi", 5), ("a", 0), ("b", 0), ("c", 0), ("low", -1)]
        );
    }

    #[test]
    fn a_raise_moves_to_the_tail_of_the_new_level_and_never_lowers() {
        let mut ready = ReadyKeys::new(None);
        for key in ["a", "b", "c"] {
            ready.push(key, 1);
        }
        assert!(!ready.raise(&"a", 0), "never lowers");
        assert!(ready.raise(&"c", 2));
        ready.push("d", 2);
        assert!(ready.raise(&"a", 2));
        assert_eq!(
            drain(&mut ready),
            vec![("c", 2), ("d", 2), ("a", 2), ("b", 1)]
        );
    }

    #[test]
    fn aging_lets_a_long_waiting_key_overtake_a_higher_priority() {
        let clock = ManualClock::new();
        let mut ready = ReadyKeys::new(Some((Duration::from_secs(1), Clock::from(&clock))));
        ready.push("old-low", 0);
        clock.step(Duration::from_millis(2500));
        ready.push("new-high", 2);
        ready.push("new-mid", 1);
        // old-low has aged by 2.5 levels: 2.5 > 2 > 1.
        assert_eq!(
            drain(&mut ready),
            vec![("old-low", 0), ("new-high", 2), ("new-mid", 1)]
        );
        assert_eq!(ready.len_by_priority(), vec![]);
    }

    #[test]
    fn a_raise_keeps_the_age_a_key_has_built_up() {
        let clock = ManualClock::new();
        let mut ready = ReadyKeys::new(Some((Duration::from_secs(1), Clock::from(&clock))));
        ready.push("old", 0);
        clock.step(Duration::from_secs(5));
        ready.push("new", 3);
        // "old" has aged to 5; raised to 1 it ages from 1, so 6 > 3.
        assert!(ready.raise(&"old", 1));
        assert_eq!(drain(&mut ready), vec![("old", 1), ("new", 3)]);
    }
}

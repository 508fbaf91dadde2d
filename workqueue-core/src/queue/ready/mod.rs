//! The order in which ready keys are handed out.
//!
//! Plain FIFO until a priority other than 0 is used: a `VecDeque`, the
//! cheapest structure for the common case. The first non-zero priority
//! turns it into strict priority levels (`levels.rs`): higher priority
//! first, FIFO within a priority (controller-runtime's priorityqueue,
//! kube-scheduler's activeQ). A queue configured with aging orders keys by
//! their aged priority from the start (`aged.rs`): strict priority starves
//! low priorities (controller-runtime#3496).

mod aged;
mod levels;

use crate::clock::Clock;
use aged::Aged;
use levels::Levels;
use std::collections::VecDeque;
use std::hash::Hash;
use std::time::Duration;

pub(crate) struct ReadyKeys<K> {
    order: Order<K>,
}

enum Order<K> {
    Fifo(VecDeque<K>),
    Levels(Levels<K>),
    Aged(Aged<K>),
}

impl<K: Hash + Eq + Clone> ReadyKeys<K> {
    /// FIFO, or aged priorities from the start when keys age.
    pub(crate) fn new(aging: Option<(Duration, Clock)>) -> Self {
        let order = match aging {
            None => Order::Fifo(VecDeque::new()),
            Some((interval, clock)) => Order::Aged(Aged::new(interval, clock)),
        };
        ReadyKeys { order }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        match &self.order {
            Order::Fifo(keys) => keys.len(),
            Order::Levels(levels) => levels.len(),
            Order::Aged(aged) => aged.len(),
        }
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Puts `key` (not yet ready) at the tail of its priority level.
    #[inline]
    pub(crate) fn push(&mut self, key: K, priority: i32) {
        match &mut self.order {
            Order::Fifo(keys) if priority == 0 => keys.push_back(key),
            _ => self.push_prioritised(key, priority),
        }
    }

    /// `push` off the FIFO fast path, kept out of line so that path inlines.
    #[inline(never)]
    fn push_prioritised(&mut self, key: K, priority: i32) {
        match &mut self.order {
            Order::Fifo(_) => self.levels().push(key, priority),
            Order::Levels(levels) => levels.push(key, priority),
            Order::Aged(aged) => aged.push(key, priority),
        }
    }

    /// Raises a ready key to `priority` if that is higher than its own,
    /// moving it to the tail of the new level. Returns whether it moved.
    pub(crate) fn raise(&mut self, key: &K, priority: i32) -> bool {
        match &mut self.order {
            Order::Fifo(_) if priority <= 0 => false,
            Order::Fifo(_) => self.levels().raise(key, priority),
            Order::Levels(levels) => levels.raise(key, priority),
            Order::Aged(aged) => aged.raise(key, priority),
        }
    }

    /// Takes the first key and its priority.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(K, i32)> {
        match &mut self.order {
            Order::Fifo(keys) => keys.pop_front().map(|key| (key, 0)),
            Order::Levels(levels) => levels.pop(),
            Order::Aged(aged) => aged.pop(),
        }
    }

    /// Ready keys per priority, highest first.
    pub(crate) fn len_by_priority(&self) -> Vec<(i32, usize)> {
        match &self.order {
            Order::Fifo(keys) if keys.is_empty() => Vec::new(),
            Order::Fifo(keys) => vec![(0, keys.len())],
            Order::Levels(levels) => levels.len_by_priority(),
            Order::Aged(aged) => aged.len_by_priority(),
        }
    }

    /// Switches a FIFO to priority levels, keeping its keys in their order
    /// at priority 0.
    fn levels(&mut self) -> &mut Levels<K> {
        if let Order::Fifo(keys) = &mut self.order {
            let mut levels = Levels::new();
            for key in keys.drain(..) {
                levels.push(key, 0);
            }
            self.order = Order::Levels(levels);
        }
        match &mut self.order {
            Order::Levels(levels) => levels,
            Order::Fifo(_) | Order::Aged(_) => unreachable!("converted above"),
        }
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
    fn raised_keys_leave_no_garbage_behind() {
        let mut ready = ReadyKeys::new(None);
        for key in 0..100u64 {
            ready.push(key, 0);
        }
        for priority in 1..=1000 {
            ready.raise(&7, priority);
        }
        assert_eq!(ready.len(), 100);
        let first = ready.pop();
        assert_eq!(first, Some((7, 1000)));
        let rest: Vec<u64> = std::iter::from_fn(|| ready.pop().map(|(k, _)| k)).collect();
        assert_eq!(rest, (0..100).filter(|&k| k != 7).collect::<Vec<_>>());
        if let Order::Levels(levels) = &ready.order {
            assert_eq!(levels.len(), 0);
        }
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

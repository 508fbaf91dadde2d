//! The unschedulable pool: items found unschedulable, parked until a move
//! event or an update says their chances changed, or until they have
//! stayed longer than the maximum (kube-scheduler's safety net for a
//! missed event).
//!
//! A B-tree keyed by (park time, entry number) yields the longest-parked
//! item first for the flush, every item in park order for a move event,
//! and removes one item directly on an update or delete. Keyed by time
//! rather than kept in arrival order because a manual clock may be set
//! back, so a later park may carry an earlier time.

use crate::clock::Timestamp;
use std::collections::BTreeMap;
use std::time::Duration;

/// Where an item sits in the pool: (park time, entry number).
pub(crate) type ParkedSlot = (Timestamp, u64);

pub(crate) struct UnschedulablePool<K> {
    parked: BTreeMap<ParkedSlot, K>,
}

impl<K> UnschedulablePool<K> {
    pub(crate) fn new() -> Self {
        UnschedulablePool {
            parked: BTreeMap::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.parked.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.parked.is_empty()
    }

    /// Parks `key` at `since`; `entry` must be unique among parked items.
    pub(crate) fn insert(&mut self, since: Timestamp, entry: u64, key: K) -> ParkedSlot {
        let slot = (since, entry);
        self.parked.insert(slot, key);
        slot
    }

    pub(crate) fn remove(&mut self, slot: ParkedSlot) -> Option<K> {
        self.parked.remove(&slot)
    }

    /// When the longest-parked item will have stayed longer than `max_stay`.
    pub(crate) fn next_flush(&self, max_stay: Duration) -> Option<Timestamp> {
        let ((since, _), _) = self.parked.first_key_value()?;
        Some(*since + max_stay + Duration::from_nanos(1))
    }

    /// Removes the longest-parked item if at `now` it has stayed longer
    /// than `max_stay`.
    pub(crate) fn pop_overstayed(&mut self, now: Timestamp, max_stay: Duration) -> Option<K> {
        let entry = self.parked.first_entry()?;
        let (since, _) = *entry.key();
        if now.saturating_duration_since(since) > max_stay {
            Some(entry.remove())
        } else {
            None
        }
    }

    /// Removes every item, longest-parked first.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = K> {
        std::mem::take(&mut self.parked).into_values()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn at(secs: u64) -> Timestamp {
        Timestamp::from_nanos(secs * 1_000_000_000)
    }

    #[test]
    fn flushes_only_after_strictly_longer_than_the_maximum() {
        let max = Duration::from_secs(300);
        let mut pool = UnschedulablePool::new();
        pool.insert(at(10), 1, "a");
        pool.insert(at(5), 2, "b"); // a clock set back: parked "earlier"
        assert_eq!(
            pool.next_flush(max),
            Some(at(305) + Duration::from_nanos(1))
        );
        assert_eq!(pool.pop_overstayed(at(305), max), None);
        let just_after = at(305) + Duration::from_nanos(1);
        assert_eq!(pool.pop_overstayed(just_after, max), Some("b"));
        assert_eq!(pool.pop_overstayed(just_after, max), None);
        assert_eq!(pool.len(), 1);
    }

    #[test]
    fn drain_and_remove() {
        let mut pool = UnschedulablePool::new();
        pool.insert(at(1), 1, "a");
        let b = pool.insert(at(2), 2, "b");
        pool.insert(at(3), 3, "c");
        assert_eq!(pool.remove(b), Some("b"));
        assert_eq!(pool.remove(b), None);
        assert_eq!(pool.drain().collect::<Vec<_>>(), vec!["a", "c"]);
        assert!(pool.is_empty());
        assert_eq!(pool.next_flush(Duration::from_secs(1)), None);
    }
}

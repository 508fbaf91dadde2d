//! Per-key limiter state with a hard cap on memory.
//!
//! client-go's limiters keep an entry per failed key until `Forget`; a
//! controller that forgets to call it leaks. This table holds at most
//! `capacity` keys: inserting into a full table first drops the eighth of
//! entries used least recently (one O(n) selection per n/8 inserts, so
//! O(1) amortised). A dropped key simply starts its backoff from scratch.

use crate::hash::FastHashMap;
use crate::spin_lock::SpinLock;
use std::hash::Hash;

/// How many keys a per-key limiter remembers unless configured otherwise.
pub const DEFAULT_MAX_TRACKED_KEYS: usize = 1 << 17;

pub(crate) struct KeyTable<K, V> {
    inner: SpinLock<Table<K, V>>,
    capacity: usize,
}

struct Table<K, V> {
    entries: FastHashMap<K, Tracked<V>>,
    /// Logical time of the last use, for eviction.
    tick: u64,
}

struct Tracked<V> {
    value: V,
    last_used: u64,
}

impl<K: Hash + Eq + Clone, V: Default + Copy> KeyTable<K, V> {
    /// A table of at most `capacity` keys (at least 1).
    pub(crate) fn new(capacity: usize) -> Self {
        KeyTable {
            inner: SpinLock::new(Table {
                entries: FastHashMap::default(),
                tick: 0,
            }),
            capacity: capacity.max(1),
        }
    }

    /// Applies `update` to the key's value (default when absent) and
    /// returns what it returns.
    pub(crate) fn update<R>(&self, key: &K, update: impl FnOnce(&mut V) -> R) -> R {
        let mut table = self.inner.lock();
        table.tick += 1;
        let tick = table.tick;
        if let Some(tracked) = table.entries.get_mut(key) {
            tracked.last_used = tick;
            return update(&mut tracked.value);
        }
        if table.entries.len() >= self.capacity {
            table.evict_least_recent(self.capacity);
        }
        let mut value = V::default();
        let result = update(&mut value);
        table.entries.insert(
            key.clone(),
            Tracked {
                value,
                last_used: tick,
            },
        );
        result
    }

    pub(crate) fn get(&self, key: &K) -> V {
        self.inner
            .lock()
            .entries
            .get(key)
            .map_or_else(V::default, |tracked| tracked.value)
    }

    pub(crate) fn remove(&self, key: &K) {
        self.inner.lock().entries.remove(key);
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }
}

impl<K: Hash + Eq, V> Table<K, V> {
    fn evict_least_recent(&mut self, capacity: usize) {
        let evict = (capacity / 8).max(1);
        let mut ticks: Vec<u64> = self.entries.values().map(|t| t.last_used).collect();
        let (_, cutoff, _) = ticks.select_nth_unstable(evict - 1);
        let cutoff = *cutoff;
        // Ticks are unique, so exactly `evict` entries are at or below it.
        self.entries.retain(|_, tracked| tracked.last_used > cutoff);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_drops_the_least_recently_used_eighth() {
        let table: KeyTable<u32, u32> = KeyTable::new(16);
        for key in 0..16 {
            table.update(&key, |v| *v += 1);
        }
        table.update(&0, |v| *v += 1); // 0 is now the most recent
        table.update(&100, |v| *v += 1); // full: drops 1 and 2
        assert_eq!(table.len(), 15);
        assert_eq!(table.get(&0), 2);
        assert_eq!(table.get(&1), 0);
        assert_eq!(table.get(&2), 0);
        assert_eq!(table.get(&3), 1);
        for key in 1000..100_000 {
            table.update(&key, |v| *v += 1);
        }
        assert!(table.len() <= 16);
    }
}

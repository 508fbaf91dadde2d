//! Per-key limiter state with a hard cap on memory.
//!
//! client-go's limiters keep an entry per failed key until `Forget`; a
//! controller that forgets to call it leaks. This table holds at most
//! `capacity` keys in two generations of `capacity / 2`: keys go into the
//! young one; a key found in the old one moves to the young one; when the
//! young one is full it becomes the old one and the previous old one is
//! dropped whole. So the keys forgotten are those not used for a whole
//! generation (an approximation of least-recently-used that costs O(1) per
//! call, with no scan). A dropped key simply starts its backoff again.

use crate::hash::FastHashMap;
use crate::spin_lock::SpinLock;
use std::hash::Hash;

/// How many keys a per-key limiter remembers unless configured otherwise.
pub const DEFAULT_MAX_TRACKED_KEYS: usize = 1 << 17;

pub(crate) struct KeyTable<K, V> {
    inner: SpinLock<Generations<K, V>>,
    /// Keys per generation: half the capacity, at least one.
    generation: usize,
    /// Whether an old generation fits beside a full young one (not for a
    /// capacity of 1).
    keep_old: bool,
}

struct Generations<K, V> {
    young: FastHashMap<K, V>,
    old: FastHashMap<K, V>,
}

impl<K: Hash + Eq + Clone, V: Default + Copy> KeyTable<K, V> {
    /// A table of at most `capacity` keys (at least 1).
    pub(crate) fn new(capacity: usize) -> Self {
        let generation = (capacity / 2).max(1);
        KeyTable {
            inner: SpinLock::new(Generations {
                young: FastHashMap::default(),
                old: FastHashMap::default(),
            }),
            generation,
            keep_old: 2 * generation <= capacity,
        }
    }

    /// Applies `update` to the key's value (default when absent) and
    /// returns what it returns.
    pub(crate) fn update<R>(&self, key: &K, update: impl FnOnce(&mut V) -> R) -> R {
        let mut tables = self.inner.lock();
        if let Some(value) = tables.young.get_mut(key) {
            return update(value);
        }
        let mut value = tables.old.remove(key).unwrap_or_default();
        let result = update(&mut value);
        if tables.young.len() >= self.generation {
            let young = std::mem::take(&mut tables.young);
            tables.old = if self.keep_old {
                young
            } else {
                FastHashMap::default()
            };
        }
        tables.young.insert(key.clone(), value);
        result
    }

    pub(crate) fn get(&self, key: &K) -> V {
        let tables = self.inner.lock();
        tables
            .young
            .get(key)
            .or_else(|| tables.old.get(key))
            .copied()
            .unwrap_or_default()
    }

    pub(crate) fn remove(&self, key: &K) {
        let mut tables = self.inner.lock();
        tables.young.remove(key);
        tables.old.remove(key);
    }

    pub(crate) fn len(&self) -> usize {
        let tables = self.inner.lock();
        tables.young.len() + tables.old.len()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn keys_unused_for_a_whole_generation_are_dropped() {
        let table: KeyTable<u32, u32> = KeyTable::new(8);
        for key in 0..8 {
            table.update(&key, |v| *v += 1);
        }
        assert_eq!(table.len(), 8, "full: 0..4 old, 4..8 young");
        table.update(&0, |v| *v += 1); // 0 moves up; 1..4 are dropped
        assert_eq!(table.get(&0), 2);
        assert_eq!(table.get(&1), 0);
        assert_eq!(table.get(&3), 0);
        assert_eq!(table.get(&7), 1, "the previous young generation is kept");
        for key in 1000..100_000 {
            table.update(&key, |v| *v += 1);
            assert!(table.len() <= 8);
        }
        table.remove(&99_999);
        assert_eq!(table.get(&99_999), 0);
        let single: KeyTable<u32, u32> = KeyTable::new(1);
        for key in 0..10 {
            single.update(&key, |v| *v += 1);
            assert_eq!(single.len(), 1);
        }
    }
}

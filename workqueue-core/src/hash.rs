//! A fast, seeded hasher for the queue's key sets.
//!
//! `std`'s SipHash costs more than the rest of an add/get/done cycle put
//! together for `u64` keys. This is a folded-multiply hash (the construction
//! of foldhash and aHash's fallback) with a per-process random seed, so keys
//! an attacker chooses cannot be aimed at one bucket without knowing it.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

fn process_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| RandomState::new().hash_one(0x5eed_u64) | 1)
}

/// Builds [`FastHasher`]s sharing the process seed.
#[derive(Clone, Copy)]
pub(crate) struct FastHashState {
    seed: u64,
}

impl Default for FastHashState {
    fn default() -> Self {
        FastHashState {
            seed: process_seed(),
        }
    }
}

impl BuildHasher for FastHashState {
    type Hasher = FastHasher;

    fn build_hasher(&self) -> FastHasher {
        FastHasher { state: self.seed }
    }
}

pub(crate) struct FastHasher {
    state: u64,
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("chunk of 8"));
            self.write_u64(word);
        }
        let tail = chunks.remainder();
        let mut word = [0u8; 8];
        word[..tail.len()].copy_from_slice(tail);
        // The length keeps "ab" + "" and "a" + "b" apart.
        self.write_u64(u64::from_le_bytes(word) ^ ((bytes.len() as u64) << 56));
    }

    fn write_u8(&mut self, value: u8) {
        self.write_u64(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.state = folded_multiply(self.state ^ value, MULTIPLIER);
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }

    fn finish(&self) -> u64 {
        self.state
    }
}

pub(crate) type FastHashMap<K, V> = std::collections::HashMap<K, V, FastHashState>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hash;

    fn hash_of<T: Hash>(value: &T) -> u64 {
        FastHashState::default().hash_one(value)
    }

    #[test]
    fn equal_keys_hash_equal_and_near_keys_spread() {
        assert_eq!(hash_of(&42u64), hash_of(&42u64));
        assert_eq!(hash_of(&"pod/a"), hash_of(&String::from("pod/a")));
        // 4096 keys into 4096 slots: a random function fills about 63 %.
        let high: std::collections::HashSet<u64> =
            (0..4096u64).map(|k| hash_of(&k) >> 52).collect();
        let low: std::collections::HashSet<u64> =
            (0..4096u64).map(|k| hash_of(&k) & 4095).collect();
        assert!(high.len() > 2400, "top bits must spread: {}", high.len());
        assert!(low.len() > 2400, "low bits must spread: {}", low.len());
        assert_ne!(hash_of(&("ab", "")), hash_of(&("a", "b")));
    }
}

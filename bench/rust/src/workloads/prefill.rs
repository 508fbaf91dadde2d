//! Prefill a million u64 keys, then drain them: the cost of a deep queue
//! (hash tables far larger than the caches) and its memory per key.

use super::{announce, Config};
use crate::alloc;
use crate::naive::NaiveQueue;
use crate::stats::{ns_per, repeat, timed};
use crate::table::{Table, Unit};
use std::hint::black_box;
use workqueue_core::Queue;

const KEYS: usize = 1_000_000;

pub fn run(config: Config, table: &mut Table) {
    announce("prefill 1,000,000 u64 keys, then drain");
    let n = config.size(KEYS);
    let [add, drain, bytes] = repeat(config.reps, || core_once(n));
    let [naive_add, naive_drain, naive_bytes] = repeat(config.reps, || naive_once(n));

    let workload = "prefill 1 M u64 keys: add";
    table.core(workload, Unit::NsPer("key"), add, None);
    table.peer(
        workload,
        "naive client-go port",
        Unit::NsPer("key"),
        naive_add,
        add,
    );
    let workload = "then drain: get+done";
    table.core(workload, Unit::NsPer("key"), drain, None);
    let peer = "naive client-go port";
    table.peer(workload, peer, Unit::NsPer("key"), naive_drain, drain);
    let workload = "memory per queued u64 key";
    table.core(workload, Unit::BytesPerKey, bytes, Some("≤ 40 B"));
    table.peer(workload, peer, Unit::BytesPerKey, naive_bytes, bytes);
}

/// [add ns/key, drain ns/key, bytes/key]
fn core_once(n: usize) -> [f64; 3] {
    let queue: Queue<u64> = Queue::new();
    // Counting costs one atomic add per allocation, and filling allocates
    // only when a table grows (a few dozen times): it does not disturb the
    // timing.
    let (((), add), bytes) = alloc::measure(|| {
        timed(|| {
            for key in 0..n as u64 {
                queue.add(key);
            }
        })
    });
    let ((), drain) = timed(|| {
        while let Ok(key) = queue.try_get() {
            queue.done(black_box(&key));
        }
    });
    assert_eq!(queue.len(), 0);
    [ns_per(add, n), ns_per(drain, n), bytes as f64 / n as f64]
}

fn naive_once(n: usize) -> [f64; 3] {
    let queue: NaiveQueue<u64> = NaiveQueue::default();
    let (((), add), bytes) = alloc::measure(|| {
        timed(|| {
            for key in 0..n as u64 {
                queue.add(key);
            }
        })
    });
    let mut drained = 0;
    let ((), drain) = timed(|| {
        // The naive get blocks when empty: count instead of probing.
        while drained < n {
            let key = queue.get().expect("not shut down");
            queue.done(black_box(&key));
            drained += 1;
        }
    });
    assert_eq!(queue.len(), 0);
    [ns_per(add, n), ns_per(drain, n), bytes as f64 / n as f64]
}

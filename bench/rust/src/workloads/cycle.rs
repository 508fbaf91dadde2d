//! Add → Get → Done on one thread, the queue never holding more than one
//! key: the fixed cost of one trip through the queue.

use super::{announce, Config};
use crate::naive::NaiveQueue;
use crate::stats::{ns_per, repeat, timed, Sample};
use crate::table::{Table, Unit};
use std::hint::black_box;
use std::sync::mpsc;
use workqueue_core::Queue;

const CYCLES_U64: usize = 2_000_000;
const CYCLES_STRING: usize = 500_000;
const UNIT: Unit = Unit::NsPer("cycle");

pub fn run(config: Config, table: &mut Table) {
    announce("Add→Get→Done cycle, u64 keys");
    let n = config.size(CYCLES_U64);
    let workload = "Add→Get→Done, 1 thread, u64 key";
    let core = measure(config, n, |i| i as u64, core_cycle);
    table.core(workload, UNIT, core, Some("≤ 40 ns"));
    let naive = measure(config, n, |i| i as u64, naive_cycle);
    table.peer(workload, "naive client-go port", UNIT, naive, core);
    let channel = measure(config, n, |i| i as u64, channel_cycle);
    table.peer(workload, "std mpsc send+recv", UNIT, channel, core);

    metrics_cost(config, table, "u64", n, |i| i as u64, core);

    announce("Add→Get→Done cycle, String keys");
    let n = config.size(CYCLES_STRING);
    let workload = "Add→Get→Done, 1 thread, String key";
    let core = measure(config, n, string_key, core_cycle);
    table.core(workload, UNIT, core, None);
    let naive = measure(config, n, string_key, naive_cycle);
    table.peer(workload, "naive client-go port", UNIT, naive, core);
    let channel = measure(config, n, string_key, channel_cycle);
    table.peer(workload, "std mpsc send+recv", UNIT, channel, core);

    metrics_cost(config, table, "String", n, string_key, core);
}

/// The metrics issue's target: a named queue costs at most 1.3× an
/// unnamed one (the peer column is that ratio); `unnamed`: the unnamed
/// figure measured on the same keys.
fn metrics_cost<K: workqueue_core::Key>(
    config: Config,
    table: &mut Table,
    key_type: &str,
    n: usize,
    make_key: impl Fn(usize) -> K,
    unnamed: Sample,
) {
    announce(&format!(
        "Add→Get→Done cycle, {key_type} keys, named queue (metrics on)"
    ));
    let named = measure(config, n, make_key, named_cycle);
    let workload = format!("Add→Get→Done, {key_type}, named");
    table.figure(
        &workload,
        "workqueue-core, named",
        UNIT,
        named,
        Some("≤ 1.3× unnamed"),
    );
    table.peer(&workload, "workqueue-core, unnamed", UNIT, unnamed, named);
}

/// A Kubernetes-like object key, about 25 bytes.
pub fn string_key(i: usize) -> String {
    format!("namespace-{}/object-{i:07}", i % 100)
}

/// Builds `n` keys outside the timing, runs `cycle` over them after a short
/// warm-up, `config.reps` times.
fn measure<K>(
    config: Config,
    n: usize,
    make_key: impl Fn(usize) -> K,
    cycle: fn(Vec<K>),
) -> Sample {
    cycle((0..n / 10).map(&make_key).collect());
    let [sample] = repeat(config.reps, || {
        let keys: Vec<K> = (0..n).map(&make_key).collect();
        let ((), elapsed) = timed(|| cycle(keys));
        [ns_per(elapsed, n)]
    });
    sample
}

fn core_cycle<K: workqueue_core::Key>(keys: Vec<K>) {
    let queue = Queue::new();
    for key in keys {
        queue.add(key);
        let key = queue.get().expect("just added");
        queue.done(black_box(&key));
    }
}

fn named_cycle<K: workqueue_core::Key>(keys: Vec<K>) {
    let queue = Queue::builder().name("bench-cycle").build();
    for key in keys {
        queue.add(key);
        let key = queue.get().expect("just added");
        queue.done(black_box(&key));
    }
}

fn naive_cycle<K: std::hash::Hash + Eq + Clone>(keys: Vec<K>) {
    let queue = NaiveQueue::default();
    for key in keys {
        queue.add(key);
        let key = queue.get().expect("just added");
        queue.done(black_box(&key));
    }
}

fn channel_cycle<K>(keys: Vec<K>) {
    let (tx, rx) = mpsc::channel();
    for key in keys {
        tx.send(key).expect("receiver alive");
        black_box(rx.recv().expect("just sent"));
    }
}

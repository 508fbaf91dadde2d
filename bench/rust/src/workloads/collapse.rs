//! A million adds over only a thousand distinct keys while two consumers
//! drain: the hot-key case of a controller, where most adds collapse into
//! a run already pending.

use super::{announce, Config};
use crate::naive::NaiveQueue;
use crate::stats::{per_sec, repeat};
use crate::table::{Table, Unit, CORE};
use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::Instant;
use workqueue_core::Queue;

const ADDS: usize = 1_000_000;
const DISTINCT: u64 = 1_000;
const PRODUCERS: usize = 2;
const CONSUMERS: usize = 2;

/// A queue as this workload uses it.
trait Target: Sync {
    fn add(&self, key: u64);
    fn get(&self) -> Option<u64>;
    fn done(&self, key: u64);
    fn shutdown(&self);
}

impl Target for Queue<u64> {
    fn add(&self, key: u64) {
        Queue::add(self, key);
    }
    fn get(&self) -> Option<u64> {
        Queue::get(self)
    }
    fn done(&self, key: u64) {
        Queue::done(self, &key);
    }
    fn shutdown(&self) {
        Queue::shutdown(self);
    }
}

impl Target for NaiveQueue<u64> {
    fn add(&self, key: u64) {
        NaiveQueue::add(self, key);
    }
    fn get(&self) -> Option<u64> {
        NaiveQueue::get(self)
    }
    fn done(&self, key: u64) {
        NaiveQueue::done(self, &key);
    }
    fn shutdown(&self) {
        NaiveQueue::shutdown(self);
    }
}

pub fn run(config: Config, table: &mut Table) {
    announce("1,000,000 adds over 1,000 keys, 2 producers, 2 consumers");
    let n = config.size(ADDS);
    let [core_rate, core_runs] = repeat(config.reps, || once(&Queue::new(), n));
    let [naive_rate, naive_runs] = repeat(config.reps, || once(&NaiveQueue::default(), n));
    let workload = "1 M adds over 1,000 keys, 2+2";
    table.core(workload, Unit::KeysPerSec, core_rate, None);
    let peer = "naive client-go port";
    table.peer(workload, peer, Unit::KeysPerSec, naive_rate, core_rate);
    let workload = "  runs (gets) in that time";
    table.figure(workload, CORE, Unit::Count("runs"), core_runs, None);
    table.figure(workload, peer, Unit::Count("runs"), naive_runs, None);
}

/// [adds per second while the producers run, runs handed out in all]
fn once(queue: &impl Target, n: usize) -> [f64; 2] {
    let barrier = Barrier::new(PRODUCERS + CONSUMERS);
    let adds_each = n / PRODUCERS;
    thread::scope(|s| {
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    // Each producer walks all keys, from a different start.
                    let offset = p as u64 * DISTINCT / PRODUCERS as u64;
                    for i in 0..adds_each as u64 {
                        queue.add((i + offset) % DISTINCT);
                    }
                    (start, Instant::now())
                })
            })
            .collect();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    let mut runs = 0u64;
                    while let Some(key) = queue.get() {
                        queue.done(black_box(key));
                        runs += 1;
                    }
                    (start, runs)
                })
            })
            .collect();
        let (mut first, mut last) = (Vec::new(), Vec::new());
        for producer in producers {
            let (start, end) = producer.join().expect("producer");
            first.push(start);
            last.push(end);
        }
        queue.shutdown();
        let mut runs = 0;
        for consumer in consumers {
            let (start, count) = consumer.join().expect("consumer");
            first.push(start);
            runs += count;
        }
        assert!(
            runs >= DISTINCT.min(n as u64),
            "every key runs at least once"
        );
        let adding = *last.iter().max().expect("producers") - *first.iter().min().expect("threads");
        [per_sec(adding, adds_each * PRODUCERS), runs as f64]
    })
}

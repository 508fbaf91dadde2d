//! 2 producers and 2 consumers over a million distinct keys: throughput
//! under contention, with per-key calls and with batch calls.

use super::{announce, Config};
use crate::naive::NaiveQueue;
use crate::stats::{per_sec, repeat, Sample};
use crate::table::{Table, Unit};
use std::hint::black_box;
use std::ops::Range;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::Instant;
use workqueue_core::Queue;

const KEYS: usize = 1_000_000;
const BATCH: usize = 256;
const PRODUCERS: usize = 2;
const CONSUMERS: usize = 2;
const TARGET: &str = "≥ 7 M keys/s";

pub fn run(config: Config, table: &mut Table) {
    let n = config.size(KEYS);
    let measure = |run: &dyn Fn() -> f64| -> Sample {
        run(); // warm-up: threads, page faults, table growth
        let [sample] = repeat(config.reps, || [run()]);
        sample
    };

    announce("2 producers + 2 consumers, per-key calls");
    let workload = "2+2 threads, 1 M keys, per key";
    let core = measure(&|| core_per_key(n));
    table.core(workload, Unit::KeysPerSec, core, Some(TARGET));
    let naive = measure(&|| naive_per_key(n));
    table.peer(
        workload,
        "naive client-go port",
        Unit::KeysPerSec,
        naive,
        core,
    );
    let channel = measure(&|| channel_per_key(n));
    let peer = "std mpsc (shared Receiver)";
    table.peer(workload, peer, Unit::KeysPerSec, channel, core);

    announce("2 producers + 2 consumers, batches of 256");
    let workload = "2+2 threads, 1 M keys, batch 256";
    let core = measure(&|| core_batch(n));
    table.core(workload, Unit::KeysPerSec, core, Some(TARGET));
    let naive = measure(&|| naive_batch(n));
    let peer = "naive port, batch under 1 lock";
    table.peer(workload, peer, Unit::KeysPerSec, naive, core);
    let channel = measure(&|| channel_batch(n));
    let peer = "std mpsc, Vec of 256 per message";
    table.peer(workload, peer, Unit::KeysPerSec, channel, core);
}

/// Runs the producers over disjoint ranges covering `0..n` and the
/// consumers until they return; `close` runs once the producers are done
/// and must make the consumers return. Returns keys per second, from the
/// moment the first thread starts to the moment the last consumer ends
/// (each thread reads the clock itself: on a busy machine the main thread
/// may be descheduled right after the start barrier).
fn two_by_two<P, C>(n: usize, produce: P, consume: C, close: impl FnOnce()) -> f64
where
    P: Fn(Range<u64>) + Sync,
    C: Fn() -> usize + Sync,
{
    let barrier = Barrier::new(PRODUCERS + CONSUMERS);
    thread::scope(|s| {
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let range = (n * p / PRODUCERS) as u64..(n * (p + 1) / PRODUCERS) as u64;
                let (barrier, produce) = (&barrier, &produce);
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    produce(range);
                    start
                })
            })
            .collect();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    let count = consume();
                    (start, Instant::now(), count)
                })
            })
            .collect();
        let mut first = Vec::new();
        for producer in producers {
            first.push(producer.join().expect("producer"));
        }
        close();
        let (mut last, mut total) = (Vec::new(), 0);
        for consumer in consumers {
            let (start, end, count) = consumer.join().expect("consumer");
            first.push(start);
            last.push(end);
            total += count;
        }
        assert_eq!(total, n, "every key handed out exactly once");
        let elapsed =
            *last.iter().max().expect("consumers") - *first.iter().min().expect("threads");
        per_sec(elapsed, n)
    })
}

fn batches(range: Range<u64>) -> impl Iterator<Item = Range<u64>> {
    let end = range.end;
    range
        .step_by(BATCH)
        .map(move |start| start..(start + BATCH as u64).min(end))
}

fn core_per_key(n: usize) -> f64 {
    let queue: Queue<u64> = Queue::new();
    two_by_two(
        n,
        |keys| keys.for_each(|key| _ = queue.add(key)),
        || {
            let mut count = 0;
            while let Some(key) = queue.get() {
                queue.done(black_box(&key));
                count += 1;
            }
            count
        },
        || queue.shutdown(),
    )
}

fn core_batch(n: usize) -> f64 {
    let queue: Queue<u64> = Queue::new();
    two_by_two(
        n,
        |keys| batches(keys).for_each(|batch| _ = queue.add_batch(batch)),
        || {
            let mut count = 0;
            let mut keys = Vec::with_capacity(BATCH);
            while queue.get_batch_into(&mut keys, BATCH, None).is_ok() {
                count += queue.done_batch(black_box(&keys));
                keys.clear();
            }
            count
        },
        || queue.shutdown(),
    )
}

fn naive_per_key(n: usize) -> f64 {
    let queue: NaiveQueue<u64> = NaiveQueue::default();
    two_by_two(
        n,
        |keys| keys.for_each(|key| queue.add(key)),
        || {
            let mut count = 0;
            while let Some(key) = queue.get() {
                queue.done(black_box(&key));
                count += 1;
            }
            count
        },
        || queue.shutdown(),
    )
}

fn naive_batch(n: usize) -> f64 {
    let queue: NaiveQueue<u64> = NaiveQueue::default();
    two_by_two(
        n,
        |keys| batches(keys).for_each(|batch| queue.add_batch(batch)),
        || {
            let mut count = 0;
            let mut keys = Vec::with_capacity(BATCH);
            while queue.get_batch_into(&mut keys, BATCH) {
                for key in keys.drain(..) {
                    queue.done(black_box(&key));
                    count += 1;
                }
            }
            count
        },
        || queue.shutdown(),
    )
}

/// Consumers share the one receiver behind a mutex (`mpsc` has a single
/// consumer); each stops at the end marker `u64::MAX`.
fn channel_per_key(n: usize) -> f64 {
    let (tx, rx) = mpsc::channel::<u64>();
    let rx: Mutex<Receiver<u64>> = Mutex::new(rx);
    two_by_two(
        n,
        |keys| keys.for_each(|key| tx.send(key).expect("receiver alive")),
        || {
            let mut count = 0;
            loop {
                let key = rx.lock().expect("lock").recv().expect("sender alive");
                if key == u64::MAX {
                    return count;
                }
                black_box(key);
                count += 1;
            }
        },
        || (0..CONSUMERS).for_each(|_| tx.send(u64::MAX).expect("receiver alive")),
    )
}

/// Batches travel as `Vec`s; an empty one is the end marker.
fn channel_batch(n: usize) -> f64 {
    let (tx, rx) = mpsc::channel::<Vec<u64>>();
    let rx: Mutex<Receiver<Vec<u64>>> = Mutex::new(rx);
    two_by_two(
        n,
        |keys| batches(keys).for_each(|batch| tx.send(batch.collect()).expect("receiver alive")),
        || {
            let mut count = 0;
            loop {
                let batch = rx.lock().expect("lock").recv().expect("sender alive");
                if batch.is_empty() {
                    return count;
                }
                for key in batch {
                    black_box(key);
                    count += 1;
                }
            }
        },
        || (0..CONSUMERS).for_each(|_| tx.send(Vec::new()).expect("receiver alive")),
    )
}

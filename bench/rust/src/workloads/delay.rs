//! `add_after` with delays uniform in [0, 100 ms) on the real clock while
//! two consumers get the keys: how late a delayed key is handed out (get
//! time − due time).
//!
//! With 100,000 keys (the workload) keys come due at about a
//! million a second while the producer is still adding, so lateness
//! measures whether the consumers keep up with that, under contention with
//! the producer, as much as how precisely a waiting getter wakes. The row
//! for keys due after the last add separates the two: by then only the
//! consumers use the queue. With 10,000 keys the consumers are idle most
//! of the time and lateness is the wake-up latency of the timed wait
//! (timer slack, scheduling).

use super::{announce, Config};
use crate::stats::{ns_per, percentile, repeat, timed, SplitMix64};
use crate::table::{Table, Unit, CORE};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;
use workqueue_core::Queue;

const KEYS: usize = 100_000;
const SPARSE_KEYS: usize = 10_000;
const MAX_DELAY_NS: u64 = 100_000_000;
const CONSUMERS: usize = 2;

pub fn run(config: Config, table: &mut Table) {
    announce("100,000 add_after, delays in [0, 100 ms), 2 consumers");
    let mut seed = 0;
    let mut measure = |n: usize| {
        repeat(config.reps, || {
            seed += 1;
            once(n, seed)
        })
    };
    let [p50, p99, max, p99_after, add_ns] = measure(config.size(KEYS));
    let workload = "add_after lateness, 100 k keys";
    table.figure(workload, "workqueue-core, p50", Unit::Micros, p50, None);
    let target = Some("p99 ≤ 1 ms");
    table.figure(workload, "workqueue-core, p99", Unit::Micros, p99, target);
    table.figure(workload, "workqueue-core, max", Unit::Micros, max, None);
    let subject = "p99 of keys due after the last add";
    table.figure(workload, subject, Unit::Micros, p99_after, None);
    let workload = "add_after call, 100 k keys";
    table.figure(workload, CORE, Unit::NsPer("call"), add_ns, None);

    announce("10,000 add_after, delays in [0, 100 ms), 2 consumers");
    let [p50, p99, max, _, _] = measure(config.size(SPARSE_KEYS));
    let workload = "add_after lateness, 10 k keys";
    table.figure(workload, "workqueue-core, p50", Unit::Micros, p50, None);
    table.figure(workload, "workqueue-core, p99", Unit::Micros, p99, None);
    table.figure(workload, "workqueue-core, max", Unit::Micros, max, None);
}

/// [p50 µs, p99 µs, max µs, p99 µs of the keys due after the last add, ns
/// per add_after call]
fn once(n: usize, seed: u64) -> [f64; 5] {
    let queue: Queue<u64> = Queue::new();
    let clock = queue.clock().clone();
    // Due time per key, written before its add_after; the queue's lock
    // orders that write before the consumer's read.
    let due: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
    let handed_out = AtomicUsize::new(0);
    let (observed, add, adding_ended) = thread::scope(|s| {
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                s.spawn(|| {
                    // (due time, lateness) per key, in nanoseconds
                    let mut observed = Vec::with_capacity(n);
                    while let Some(key) = queue.get() {
                        let now = clock.now().as_nanos();
                        let due = due[key as usize].load(Ordering::Relaxed);
                        observed.push((due, now.saturating_sub(due)));
                        queue.done(&key);
                        if handed_out.fetch_add(1, Ordering::Relaxed) + 1 == n {
                            queue.shutdown();
                        }
                    }
                    observed
                })
            })
            .collect();
        let mut rng = SplitMix64::new(seed);
        let ((), add) = timed(|| {
            for (key, due) in (0u64..).zip(&due) {
                let delay = rng.below(MAX_DELAY_NS);
                due.store(clock.now().as_nanos() + delay, Ordering::Relaxed);
                queue.add_after(key, Duration::from_nanos(delay));
            }
        });
        let adding_ended = clock.now().as_nanos();
        let mut all = Vec::with_capacity(n);
        for consumer in consumers {
            all.extend(consumer.join().expect("consumer"));
        }
        (all, add, adding_ended)
    });
    assert_eq!(observed.len(), n, "every delayed key handed out once");
    let mut all: Vec<u64> = observed.iter().map(|&(_, late)| late).collect();
    let mut after: Vec<u64> = observed
        .iter()
        .filter(|&&(due, _)| due >= adding_ended)
        .map(|&(_, late)| late)
        .collect();
    all.sort_unstable();
    after.sort_unstable();
    let micros = |ns: u64| ns as f64 / 1e3;
    [
        micros(percentile(&all, 50.0)),
        micros(percentile(&all, 99.0)),
        micros(*all.last().expect("n > 0")),
        micros(percentile(&after, 99.0)),
        ns_per(add, n),
    ]
}

//! Priority get/pop: 100,000 keys over 16 priority levels, through the
//! work queue's priorities (`add_with_priority`, get + done) and the
//! scheduling queue's pop,
//! prefilled in a random priority order, then popped until empty, against
//! a `std::collections::BinaryHeap` of (priority, arrival) measured in the
//! same run — the bare ordering the active queue provides, without the
//! key map, the in-flight bookkeeping or the lock.

use super::{announce, Config};
use crate::stats::{ns_per, repeat, timed, SplitMix64};
use crate::table::{Table, Unit};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use workqueue_core::{Queue, SchedulingQueue};

const KEYS: usize = 100_000;
const LEVELS: u64 = 16;
const PEER: &str = "std BinaryHeap (priority, arrival)";

pub fn run(config: Config, table: &mut Table) {
    announce("scheduling queue: 100,000 keys over 16 priorities, add then pop");
    let n = config.size(KEYS);
    let priorities = priorities(n);
    let [add, pop, pop_done] = repeat(config.reps, || core_once(&priorities));
    let [heap_push, heap_pop] = repeat(config.reps, || heap_once(&priorities));

    let workload = "scheduling queue, 100 k keys, 16 priorities: pop";
    table.core(workload, Unit::NsPer("pop"), pop, None);
    table.peer(workload, PEER, Unit::NsPer("pop"), heap_pop, pop);
    let workload = "then add";
    table.core(workload, Unit::NsPer("add"), add, None);
    table.peer(workload, PEER, Unit::NsPer("add"), heap_push, add);
    let workload = "pop + done (in-flight bookkeeping)";
    table.core(workload, Unit::NsPer("item"), pop_done, None);

    announce("work queue: 100,000 keys over 16 priorities, add then get + done");
    let [add, get_done] = repeat(config.reps, || work_queue_once(&priorities));
    let workload = "work queue, 100 k keys, 16 priorities: get + done";
    table.core(workload, Unit::NsPer("key"), get_done, None);
    table.peer(workload, PEER, Unit::NsPer("pop"), heap_pop, get_done);
    let workload = "then add_with_priority";
    table.core(workload, Unit::NsPer("add"), add, None);
    table.peer(workload, PEER, Unit::NsPer("add"), heap_push, add);
}

/// [add ns/key, get+done ns/key] through the work queue's priorities.
fn work_queue_once(priorities: &[i32]) -> [f64; 2] {
    let n = priorities.len();
    let queue: Queue<u64> = Queue::new();
    let ((), add) = timed(|| {
        for (key, priority) in priorities.iter().enumerate() {
            queue.add_with_priority(key as u64, *priority);
        }
    });
    let ((), get_done) = timed(|| {
        while let Ok(key) = queue.try_get() {
            queue.done(black_box(&key));
        }
    });
    assert_eq!(queue.processing_len(), 0);
    [ns_per(add, n), ns_per(get_done, n)]
}

/// The priority of each key: uniform over the levels, in a fixed order.
fn priorities(n: usize) -> Vec<i32> {
    let mut rng = SplitMix64::new(0x5c4e_d01e);
    (0..n).map(|_| rng.below(LEVELS) as i32).collect()
}

/// [add ns/key, pop ns/key, pop+done ns/key]
fn core_once(priorities: &[i32]) -> [f64; 3] {
    let n = priorities.len();
    let fill = || {
        let queue: SchedulingQueue<u64> = SchedulingQueue::new();
        let ((), add) = timed(|| {
            for (key, priority) in priorities.iter().enumerate() {
                queue.add(key as u64, *priority);
            }
        });
        (queue, add)
    };

    let (queue, add) = fill();
    let (popped, pop) = timed(|| {
        let mut popped = 0usize;
        while let Ok(item) = queue.try_pop() {
            black_box(item);
            popped += 1;
        }
        popped
    });
    assert_eq!(popped, n);
    assert_eq!(queue.in_flight_len(), n);

    let (queue, _) = fill();
    let ((), pop_done) = timed(|| {
        while let Ok((key, _)) = queue.try_pop() {
            queue.done(black_box(&key));
        }
    });
    assert_eq!(queue.in_flight_len(), 0);
    [ns_per(add, n), ns_per(pop, n), ns_per(pop_done, n)]
}

/// [push ns/key, pop ns/key]: the same order, higher priority first, the
/// earlier arrival first among equals.
fn heap_once(priorities: &[i32]) -> [f64; 2] {
    let n = priorities.len();
    let mut heap = BinaryHeap::new();
    let ((), push) = timed(|| {
        for (key, priority) in priorities.iter().enumerate() {
            heap.push((*priority, Reverse(key as u64), key as u64));
        }
    });
    let (popped, pop) = timed(|| {
        let mut popped = 0usize;
        while let Some((priority, _, key)) = heap.pop() {
            black_box((key, priority));
            popped += 1;
        }
        popped
    });
    assert_eq!(popped, n);
    [ns_per(push, n), ns_per(pop, n)]
}

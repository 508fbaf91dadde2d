//! `add_rate_limited` over distinct keys with the default controller
//! limiter (max of per-key exponential 5 ms..1000 s and a 10/s, burst 100
//! token bucket): the cost of the failure path of a controller. With
//! distinct keys every call makes a new limiter entry and a new delayed
//! entry; 200,000 keys also pass the limiter's cap on tracked keys
//! (131,072), so its eviction is part of the figure.

use super::{announce, Config};
use crate::stats::{ns_per, repeat, timed};
use crate::table::{Table, Unit};
use std::hint::black_box;
use workqueue_core::rate_limit::default_controller_rate_limiter;
use workqueue_core::{Clock, Queue, RateLimiter};

const KEYS: usize = 200_000;
const UNIT: Unit = Unit::NsPer("call");

pub fn run(config: Config, table: &mut Table) {
    announce("add_rate_limited over 200,000 distinct keys");
    let n = config.size(KEYS);
    let [call] = repeat(config.reps, || {
        let queue: Queue<u64> = Queue::new();
        let ((), elapsed) = timed(|| {
            for key in 0..n as u64 {
                black_box(queue.add_rate_limited(key));
            }
        });
        [ns_per(elapsed, n)]
    });
    let [when] = repeat(config.reps, || {
        let limiter = default_controller_rate_limiter::<u64>();
        let clock = Clock::real();
        let ((), elapsed) = timed(|| {
            for key in 0..n as u64 {
                black_box(limiter.when(&key, clock.now()));
            }
        });
        [ns_per(elapsed, n)]
    });
    let workload = "add_rate_limited, 200 k new keys";
    table.core(workload, UNIT, call, Some("≤ 250 ns"));
    let subject = "limiter.when alone, same keys";
    table.figure(workload, subject, UNIT, when, None);
}

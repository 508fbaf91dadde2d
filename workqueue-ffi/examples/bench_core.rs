//! The Rust side of `make bench-c`: the same workloads as `bench/c/bench.c`,
//! written against `workqueue-core` directly, one measurement per run.
//! `bench/c/bench.c` runs it between its own measurements and prints the
//! two side by side.
//!
//! ```text
//! bench_core cycle N         ns per add→get→done cycle over N keys
//! bench_core cycle_named N   the same on a named queue (metrics kept)
//! bench_core mpmc N          keys/s, 2 producers + 2 consumers, per-key calls
//! bench_core mpmc_batch N    keys/s, 2 + 2, batches of 256
//! ```
//!
//! Each run warms up on N/10 keys first, like the C side.

use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::Instant;
use workqueue_core::Queue;

const BATCH: usize = 256;

fn cycle(n: u64) -> f64 {
    cycle_on(n, Queue::new())
}

fn cycle_named(n: u64) -> f64 {
    cycle_on(n, Queue::builder().name("bench-core-metrics").build())
}

fn cycle_on(n: u64, queue: Queue<u64>) -> f64 {
    let start = Instant::now();
    for key in 0..n {
        queue.add(key);
        let key = queue.get().expect("just added");
        queue.done(black_box(&key));
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

/// 2 producers over disjoint halves of 0..n, 2 consumers until shutdown;
/// keys per second from the first thread's start to the last consumer's end.
fn mpmc(n: u64, batch: bool) -> f64 {
    let queue: Queue<u64> = Queue::new();
    let barrier = Barrier::new(4);
    let (starts, ends, total) = thread::scope(|s| {
        let producers: Vec<_> = (0..2u64)
            .map(|p| {
                let (queue, barrier) = (&queue, &barrier);
                s.spawn(move || {
                    let (first, last) = (n * p / 2, n * (p + 1) / 2);
                    barrier.wait();
                    let start = Instant::now();
                    if batch {
                        let mut key = first;
                        while key < last {
                            let end = (key + BATCH as u64).min(last);
                            queue.add_batch(key..end);
                            key = end;
                        }
                    } else {
                        for key in first..last {
                            queue.add(key);
                        }
                    }
                    start
                })
            })
            .collect();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let (queue, barrier) = (&queue, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    let mut count = 0u64;
                    if batch {
                        let mut keys = Vec::with_capacity(BATCH);
                        while queue.get_batch_into(&mut keys, BATCH, None).is_ok() {
                            for key in keys.drain(..) {
                                queue.done(black_box(&key));
                                count += 1;
                            }
                        }
                    } else {
                        while let Some(key) = queue.get() {
                            queue.done(black_box(&key));
                            count += 1;
                        }
                    }
                    (start, Instant::now(), count)
                })
            })
            .collect();
        let mut starts: Vec<Instant> = producers.into_iter().map(|p| p.join().unwrap()).collect();
        queue.shutdown();
        let (mut ends, mut total) = (Vec::new(), 0);
        for consumer in consumers {
            let (start, end, count) = consumer.join().unwrap();
            starts.push(start);
            ends.push(end);
            total += count;
        }
        (starts, ends, total)
    });
    assert_eq!(total, n, "every key handed out exactly once");
    let elapsed = *ends.iter().max().unwrap() - *starts.iter().min().unwrap();
    n as f64 / elapsed.as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: bench_core cycle|cycle_named|mpmc|mpmc_batch N";
    let (Some(workload), Some(n)) = (args.get(1), args.get(2)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let n: u64 = n.parse().expect(usage);
    let run = |n| match workload.as_str() {
        "cycle" => cycle(n),
        "cycle_named" => cycle_named(n),
        "mpmc" => mpmc(n, false),
        "mpmc_batch" => mpmc(n, true),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    run((n / 10).max(1));
    println!("{}", run(n));
}

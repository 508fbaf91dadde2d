//! A controller in miniature.
//!
//! Two "informers" emit change events for 10,000 objects (`namespace/name`
//! keys): first the initial list, then a stream of updates where a few hot
//! objects change far more often than the rest, so most events collapse
//! into a run that is already pending. Four workers (`WorkerPool`) reconcile
//! the keys; one reconcile in ten fails (a seeded generator decides, no
//! randomness from outside) and is retried under the default controller
//! rate limiter that `Queue::new()` installs. When the informers stop, the
//! queue is shut down with `shutdown_with_drain`, which processes every key
//! still queued and drops the retries still waiting for their backoff.
//!
//! ```text
//! cargo run --release -p workqueue-core --example controller
//! ```

use std::collections::HashSet;
use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};
use workqueue_core::{Failure, Queue, WorkerPool};

/// Objects the informers know about.
const OBJECTS: usize = 10_000;
/// Update events per informer, after the initial list.
const UPDATES_PER_INFORMER: usize = 100_000;
const INFORMERS: usize = 2;
/// Informers emit in bursts, like watch events arriving in batches.
const BURST: usize = 1_000;
const BURST_PAUSE: Duration = Duration::from_millis(20);
/// Half the updates go to the hottest 1 % of objects.
const HOT_OBJECTS: u64 = (OBJECTS / 100) as u64;
const WORKERS: usize = 4;
/// What one reconcile costs: a call to an API server, say.
const RECONCILE: Duration = Duration::from_micros(200);
const FAILURE_PERCENT: u64 = 10;
const MAX_RETRIES: u32 = 5;
const SEED: u64 = 0x00c0_ffee;

/// What the handler reports when a reconcile fails.
#[derive(Debug)]
struct ReconcileError {
    key: String,
}

impl fmt::Display for ReconcileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reconcile of {} failed (simulated)", self.key)
    }
}

/// Everything the threads count, read by the progress line and the summary.
#[derive(Default)]
struct Stats {
    emitted: AtomicU64,
    runs: AtomicU64,
    retry_runs: AtomicU64,
    successes: AtomicU64,
    failures: AtomicU64,
    retries_scheduled: AtomicU64,
    dropped: AtomicU64,
    seen: Mutex<HashSet<String>>,
    finished: AtomicBool,
}

fn main() {
    // Named, so it keeps client-go's metrics (summarised at the end).
    let queue: Queue<String> = Queue::builder().name("controller-demo").build();
    let keys: Vec<String> = (0..OBJECTS)
        .map(|i| format!("namespace-{:02}/object-{i:05}", i % 25))
        .collect();
    let stats = Stats::default();
    let pool = WorkerPool::new(WORKERS)
        .expect("at least one worker")
        .max_retries(MAX_RETRIES);
    let started = Instant::now();
    println!(
        "controller demo: {INFORMERS} informers, {OBJECTS} objects, {WORKERS} workers, \
         {FAILURE_PERCENT} % of reconciles fail, default controller rate limiter"
    );

    let shutdown = thread::scope(|s| {
        let workers = s.spawn(|| {
            pool.run_reporting(
                &queue,
                |key: &String| reconcile(&queue, &stats, key),
                |_key, _failure: Failure<ReconcileError>| {
                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                },
            )
        });
        let progress = s.spawn(|| report_progress(&queue, &stats));
        let informers: Vec<_> = (0..INFORMERS)
            .map(|id| {
                let (queue, keys, stats) = (&queue, &keys, &stats);
                s.spawn(move || inform(id, queue, keys, stats))
            })
            .collect();
        for informer in informers {
            informer.join().expect("informer");
        }

        let at_shutdown = ShutdownState {
            queued: queue.len(),
            in_flight: queue.processing_len(),
            waiting_retry: queue.delayed_len(),
            drain_time: Duration::ZERO,
            drained: false,
            workers: Default::default(),
        };
        let drain_started = Instant::now();
        let drained = queue.shutdown_with_drain();
        let drain_time = drain_started.elapsed();
        let report = workers.join().expect("workers");
        stats.finished.store(true, Ordering::Relaxed);
        progress.join().expect("progress");
        ShutdownState {
            drain_time,
            drained,
            workers: report,
            ..at_shutdown
        }
    });
    print_summary(&stats, &shutdown, started.elapsed());
    let report = &shutdown.workers;
    assert_eq!(
        report.succeeded + report.retried + report.dropped + report.abandoned,
        stats.runs.load(Ordering::Relaxed),
        "the report counts every handler run once"
    );
    print_metrics(&queue);
}

/// The queue's client-go metrics, as a scrape would show them.
fn print_metrics(queue: &Queue<String>) {
    let Some(m) = queue.metrics() else { return };
    let mean_ms = |h: &workqueue_core::metrics::HistogramSnapshot| {
        if h.count == 0 {
            0.0
        } else {
            h.sum / h.count as f64 * 1e3
        }
    };
    println!();
    println!("metrics (workqueue_*{{name=\"controller-demo\"}})");
    println!("  adds_total             {}", thousands(m.adds));
    println!("  retries_total          {}", thousands(m.retries));
    println!("  depth                  {}", m.depth);
    println!(
        "  queue_duration         {} observations, mean {:.3} ms",
        thousands(m.queue_duration.count),
        mean_ms(&m.queue_duration)
    );
    println!(
        "  work_duration          {} observations, mean {:.3} ms",
        thousands(m.work_duration.count),
        mean_ms(&m.work_duration)
    );
    println!(
        "  unfinished_work        {:.3} s (longest running {:.3} s)",
        m.unfinished_work_seconds, m.longest_running_processor_seconds
    );
}

/// One informer: informer 0 first lists every object once; then each emits
/// its updates, half of them to the hot objects.
fn inform(id: usize, queue: &Queue<String>, keys: &[String], stats: &Stats) {
    if id == 0 {
        for key in keys {
            queue.add(key.clone());
            stats.emitted.fetch_add(1, Ordering::Relaxed);
        }
    }
    let mut rng = SplitMix64(SEED ^ (id as u64 + 1));
    for burst in 0..UPDATES_PER_INFORMER / BURST {
        for _ in 0..BURST {
            let object = if rng.next() % 2 == 0 {
                rng.below(HOT_OBJECTS)
            } else {
                rng.below(OBJECTS as u64)
            };
            queue.add(keys[object as usize].clone());
        }
        stats.emitted.fetch_add(BURST as u64, Ordering::Relaxed);
        if burst + 1 < UPDATES_PER_INFORMER / BURST {
            thread::sleep(BURST_PAUSE);
        }
    }
}

/// The handler: pretends to call an API server; fails one run in ten.
fn reconcile(queue: &Queue<String>, stats: &Stats, key: &String) -> Result<(), ReconcileError> {
    let run = stats.runs.fetch_add(1, Ordering::Relaxed);
    let requeues = queue.num_requeues(key);
    if requeues > 0 {
        stats.retry_runs.fetch_add(1, Ordering::Relaxed);
    }
    {
        let mut seen = stats.seen.lock().expect("no panic under this lock");
        if !seen.contains(key) {
            seen.insert(key.clone());
        }
    }
    thread::sleep(RECONCILE);
    // The n-th run fails when the n-th number of a seeded sequence says so:
    // the same failure rate on every run of the demo.
    if SplitMix64(SEED.wrapping_add(run)).next() % 100 >= FAILURE_PERCENT {
        stats.successes.fetch_add(1, Ordering::Relaxed);
        return Ok(());
    }
    stats.failures.fetch_add(1, Ordering::Relaxed);
    // The pool requeues it with `add_rate_limited`, which refuses keys once
    // the queue is shut down (the report counts those runs abandoned). For
    // the live line only: the summary shows the report's exact counts.
    if requeues < MAX_RETRIES && !queue.shutting_down() {
        stats.retries_scheduled.fetch_add(1, Ordering::Relaxed);
    }
    Err(ReconcileError { key: key.clone() })
}

/// Rewrites one status line in place about ten times a second on a
/// terminal; elsewhere (a CI log) prints a full line twice a second.
fn report_progress(queue: &Queue<String>, stats: &Stats) {
    let terminal = io::stdout().is_terminal();
    let tick = Duration::from_millis(100);
    let ticks_per_line = if terminal { 1 } else { 5 };
    let (mut last_runs, mut last_time, mut ticks) = (0, Instant::now(), 0u64);
    loop {
        let finished = stats.finished.load(Ordering::Relaxed);
        if !finished {
            thread::sleep(tick);
            ticks += 1;
            if ticks % ticks_per_line != 0 {
                continue;
            }
        }
        let runs = stats.runs.load(Ordering::Relaxed);
        let now = Instant::now();
        let rate = (runs - last_runs) as f64 / now.duration_since(last_time).as_secs_f64();
        (last_runs, last_time) = (runs, now);
        // Under 80 columns, so a terminal never wraps the rewritten line.
        let line = format!(
            "processed {:>7}  depth {:>5}  retries {:>5} ({:>5} waiting)  {:>6} keys/s",
            thousands(runs),
            thousands(queue.len() as u64),
            thousands(stats.retries_scheduled.load(Ordering::Relaxed)),
            thousands(queue.delayed_len() as u64),
            thousands(rate.round() as u64),
        );
        let mut out = io::stdout().lock();
        let written = if terminal {
            write!(out, "\r{line}")
        } else {
            writeln!(out, "{line}")
        };
        written.and_then(|()| out.flush()).ok();
        if finished {
            if terminal {
                writeln!(out).ok();
            }
            return;
        }
    }
}

struct ShutdownState {
    queued: usize,
    in_flight: usize,
    waiting_retry: usize,
    drain_time: Duration,
    drained: bool,
    workers: workqueue_core::WorkerReport,
}

fn print_summary(stats: &Stats, shutdown: &ShutdownState, elapsed: Duration) {
    let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    let (emitted, runs) = (get(&stats.emitted), get(&stats.runs));
    let distinct = stats.seen.lock().expect("no panic under this lock").len();
    let failures = get(&stats.failures);
    let report = &shutdown.workers;
    let rows = [
        (
            "events emitted",
            format!(
                "{} for {} objects (initial list + {} updates)",
                thousands(emitted),
                thousands(OBJECTS as u64),
                thousands((INFORMERS * UPDATES_PER_INFORMER) as u64)
            ),
        ),
        (
            "distinct keys run",
            format!(
                "{} of {}",
                thousands(distinct as u64),
                thousands(OBJECTS as u64)
            ),
        ),
        (
            "handler runs",
            format!(
                "{}: collapse ratio {:.1} events per run",
                thousands(runs),
                emitted as f64 / runs.max(1) as f64
            ),
        ),
        ("successes", thousands(report.succeeded)),
        (
            "failures",
            format!(
                "{} ({:.1} % of runs)",
                thousands(failures),
                100.0 * failures as f64 / runs.max(1) as f64
            ),
        ),
        (
            "  retries scheduled",
            format!("{} with add_rate_limited", thousands(report.retried)),
        ),
        (
            "  retry runs",
            format!(
                "{} runs of a key with a failure pending",
                thousands(get(&stats.retry_runs))
            ),
        ),
        (
            "  dropped at shutdown",
            format!(
                "{} retries still waiting for their backoff (see below)",
                thousands(shutdown.waiting_retry as u64)
            ),
        ),
        (
            "  failed in the drain",
            format!(
                "{} abandoned (not requeued: the queue was shut down)",
                thousands(report.abandoned)
            ),
        ),
        (
            "  dropped by the pool",
            format!(
                "{} (after {MAX_RETRIES} retries)",
                thousands(report.dropped)
            ),
        ),
        (
            "shutdown_with_drain",
            format!(
                "{} queued + {} in flight at shutdown, {} in {:.0} ms",
                thousands(shutdown.queued as u64),
                shutdown.in_flight,
                if shutdown.drained {
                    "all processed"
                } else {
                    "NOT drained"
                },
                shutdown.drain_time.as_secs_f64() * 1e3
            ),
        ),
        (
            "elapsed",
            format!(
                "{:.2} s ({} runs/s)",
                elapsed.as_secs_f64(),
                thousands((runs as f64 / elapsed.as_secs_f64()).round() as u64)
            ),
        ),
    ];
    println!();
    println!("summary");
    for (name, value) in rows {
        println!("  {name:<22} {value}");
    }
    println!();
    println!(
        "The default controller limiter is the larger of a per-key backoff (5 ms, doubling)\n\
         and a token bucket shared by all keys (10 retries/s after a burst of 100). With\n\
         hundreds of failures a second, most retries were scheduled seconds to minutes\n\
         ahead; shutdown_with_drain processed everything already queued and dropped those\n\
         retries, which had not been added yet. A long-running controller would run them."
    );
}

/// splitmix64: a seeded generator, so the demo needs no dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound`.
    fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(bound)) >> 64) as u64
    }
}

/// 1234567 → "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

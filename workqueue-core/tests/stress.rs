//! Stress: four threads, over a million random operations, proving that no
//! key is lost and no key is ever held by two workers at once.
//!
//! Lost keys: every key has a version. A producer bumps it *before* adding
//! the key; a consumer reads it right after `get` returns and records the
//! largest version it processed. Each add guarantees a run that starts
//! after it, so once producers stop and a drain completes, every key's
//! largest processed version must equal its final version.
//!
//! Exclusivity: a per-key flag, set by the consumer after `get` (it must
//! have been clear) and cleared before `done`.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use workqueue_core::{GetError, Queue};

const KEYS: usize = 256;
const THREADS: usize = 4;
/// Mixed operations per thread before it turns to consuming only.
const OPS_PER_THREAD: usize = 1_000_000;
const MIN_TOTAL_OPS: usize = 1_000_000;
/// Keys a thread may hold at once, so others add keys being processed.
const MAX_HELD: usize = 8;

/// xorshift64*: deterministic per thread, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Shared {
    queue: Queue<u64>,
    versions: Vec<AtomicU64>,
    processed: Vec<AtomicU64>,
    held: Vec<AtomicBool>,
    ops: AtomicUsize,
    /// Keys handed out, in total.
    runs: AtomicUsize,
    /// Threads that stopped producing.
    producing_done: AtomicUsize,
}

impl Shared {
    /// Bumps the key's version, then returns the key, ready to be added.
    fn bump(&self, key: u64) -> u64 {
        self.versions[key as usize].fetch_add(1, Ordering::SeqCst);
        key
    }

    fn take(&self, key: u64) {
        let was_held = self.held[key as usize].swap(true, Ordering::SeqCst);
        assert!(!was_held, "key {key} handed to two workers at once");
        let version = self.versions[key as usize].load(Ordering::SeqCst);
        self.processed[key as usize].fetch_max(version, Ordering::SeqCst);
        self.runs.fetch_add(1, Ordering::Relaxed);
    }

    fn finish(&self, key: u64) {
        self.held[key as usize].store(false, Ordering::SeqCst);
        assert!(self.queue.done(&key), "done of a key being processed");
    }

    /// Phase one: random adds, gets and dones, holding a few keys across
    /// operations. Phase two: finish the held keys, then consume until the
    /// queue is shut down and exhausted.
    fn run(&self, seed: u64) {
        let mut rng = Rng(seed);
        let mut mine: Vec<u64> = Vec::new();
        for _ in 0..OPS_PER_THREAD {
            let key = rng.below(KEYS as u64);
            match rng.below(100) {
                0..=37 => {
                    self.queue.add(self.bump(key));
                }
                38..=42 => {
                    let n = 1 + rng.below(8);
                    let keys: Vec<u64> =
                        (0..n).map(|_| self.bump(rng.below(KEYS as u64))).collect();
                    self.queue.add_batch(keys);
                }
                // Short real delays: exercises the leader/follower wait.
                43..=45 => {
                    let delay = Duration::from_micros(rng.below(200));
                    self.queue.add_after(self.bump(key), delay);
                }
                46..=47 => {
                    let _ = self.queue.len();
                }
                48..=79 if mine.len() < MAX_HELD => {
                    let got = match rng.below(8) {
                        0 => self
                            .queue
                            .get_timeout(Duration::from_micros(100))
                            .map(|key| vec![key]),
                        1 => self.queue.get_batch(
                            1 + rng.below((MAX_HELD - mine.len()) as u64) as usize,
                            Some(Duration::ZERO),
                        ),
                        _ => self.queue.try_get().map(|key| vec![key]),
                    };
                    match got {
                        Ok(keys) => {
                            for key in keys {
                                self.take(key);
                                mine.push(key);
                            }
                        }
                        Err(GetError::Empty) => {}
                        Err(GetError::ShutDown) => panic!("shut down while producing"),
                    }
                }
                _ => {
                    if !mine.is_empty() {
                        let index = rng.below(mine.len() as u64) as usize;
                        self.finish(mine.swap_remove(index));
                    }
                }
            }
        }
        let mut ops = OPS_PER_THREAD;
        for key in mine.drain(..) {
            self.finish(key);
            ops += 1;
        }
        self.producing_done.fetch_add(1, Ordering::SeqCst);
        while let Some(key) = self.queue.get() {
            self.take(key);
            self.finish(key);
            ops += 2;
        }
        self.ops.fetch_add(ops, Ordering::Relaxed);
    }
}

#[test]
fn no_key_lost_and_none_held_twice() {
    let started = Instant::now();
    let shared = Arc::new(Shared {
        queue: Queue::new(),
        versions: (0..KEYS).map(|_| AtomicU64::new(0)).collect(),
        processed: (0..KEYS).map(|_| AtomicU64::new(0)).collect(),
        held: (0..KEYS).map(|_| AtomicBool::new(false)).collect(),
        ops: AtomicUsize::new(0),
        runs: AtomicUsize::new(0),
        producing_done: AtomicUsize::new(0),
    });
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let shared = Arc::clone(&shared);
            thread::spawn(move || shared.run(0x5eed_0000 + i as u64))
        })
        .collect();
    // Shut down once nobody produces any more and the last delayed keys
    // have come due (shutdown drops keys still waiting for a delay), while
    // the threads keep consuming.
    let deadline = Instant::now() + Duration::from_secs(60);
    while shared.producing_done.load(Ordering::SeqCst) < THREADS || shared.queue.delayed_len() > 0 {
        assert!(Instant::now() < deadline, "producers never finished");
        thread::sleep(Duration::from_millis(1));
    }
    assert!(shared.queue.shutdown_with_drain(), "drain completed");
    for thread in threads {
        thread.join().expect("a worker thread panicked");
    }

    let ops = shared.ops.load(Ordering::Relaxed);
    assert!(ops >= MIN_TOTAL_OPS, "only {ops} operations");
    for key in 0..KEYS {
        let version = shared.versions[key].load(Ordering::SeqCst);
        let processed = shared.processed[key].load(Ordering::SeqCst);
        assert_eq!(
            processed, version,
            "key {key}: last add (version {version}) never processed"
        );
    }
    assert_eq!(shared.queue.len(), 0);
    assert_eq!(shared.queue.processing_len(), 0);
    let runs = shared.runs.load(Ordering::Relaxed);
    eprintln!("{ops} operations, {runs} runs, in {:?}", started.elapsed());
}

//! Random call sequences through the ABI (a small deterministic fuzzer):
//! every exported queue call, with good and bad arguments mixed, checked
//! against a model of the queue's counts; again with adds and dones mixed
//! in through the submission ring, which must not change any answer. Runs
//! under Miri too (fewer steps), where it also checks the pointer handling
//! for undefined behaviour.

use std::collections::HashSet;
use std::mem::MaybeUninit;
use std::ptr::{addr_of_mut, null, null_mut};
use std::sync::atomic::{
    AtomicU32, AtomicU64,
    Ordering::{Release, SeqCst},
};
use workqueue::*;

/// splitmix64, so a failure reproduces from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What the test knows about the queue: keys queued (ready), being
/// processed, and processed-and-dirty (added again while processing).
#[derive(Default)]
struct Model {
    ready: Vec<u64>,
    processing: HashSet<u64>,
    dirty: HashSet<u64>,
    shut_down: bool,
}

impl Model {
    fn add(&mut self, key: u64) -> bool {
        if self.shut_down || self.ready.contains(&key) || self.dirty.contains(&key) {
            return false;
        }
        if self.processing.contains(&key) {
            self.dirty.insert(key);
        } else {
            self.ready.push(key);
        }
        true
    }

    fn done(&mut self, key: u64) -> bool {
        if !self.processing.remove(&key) {
            return false;
        }
        if self.dirty.remove(&key) {
            self.ready.push(key);
        }
        true
    }
}

/// The one producer of a ring, following the protocol of `wq_submissions`
/// (there is no other producer, so taking the ring always succeeds).
struct Producer(*mut wq_submissions);

impl Producer {
    /// Publishes `op` on `key`; false when the protocol says to call.
    ///
    /// # Safety
    /// The ring belongs to a live queue.
    unsafe fn submit(&self, op: u32, key: u64) -> bool {
        // SAFETY: the ring's counters are only used atomically.
        let (tail, head, waiters) = unsafe {
            (
                AtomicU64::from_ptr(addr_of_mut!((*self.0).tail)),
                AtomicU64::from_ptr(addr_of_mut!((*self.0).head)),
                AtomicU32::from_ptr(addr_of_mut!((*self.0).waiters)),
            )
        };
        if waiters.load(SeqCst) != 0 {
            return false;
        }
        let t = tail.load(SeqCst);
        tail.store(t | WQ_SUBMISSIONS_BUSY, SeqCst);
        if t - head.load(SeqCst) == WQ_SUBMISSIONS_CAPACITY as u64 {
            tail.store(t, SeqCst);
            return false;
        }
        let slot = (t % WQ_SUBMISSIONS_CAPACITY as u64) as usize;
        let entry = wq_submission {
            key,
            op,
            priority: 0,
            stamp: 0,
        };
        // SAFETY: the producer owns the entry at t until it publishes it.
        unsafe { addr_of_mut!((*self.0).entries[slot]).write(entry) };
        tail.store(t + 1, Release);
        true
    }
}

fn run(seed: u64, steps: usize, with_ring: bool) {
    let mut rng = Rng(seed);
    let mut queue = null_mut();
    let mut clock = null_mut();
    let mut ring = Box::new(MaybeUninit::<wq_submissions>::uninit());
    let producer = with_ring.then_some(Producer(ring.as_mut_ptr()));
    // SAFETY: valid out-pointers; the ring outlives the queue.
    unsafe {
        assert_eq!(wq_manual_clock_new(&mut clock), wq_status::Ok);
        let options = wq_queue_options {
            name: null(),
            rate_limiter: null(),
            clock,
            priority_aging_ns: 0,
            submissions: producer.as_ref().map_or(null_mut(), |p| p.0),
        };
        assert_eq!(wq_queue_new(&options, &mut queue), wq_status::Ok);
    }
    // With a ring, half the adds and dones go through it (when the
    // protocol allows): no later answer may differ.
    let submit = |rng: &mut Rng, op: u32, key: u64| -> bool {
        // SAFETY: the ring belongs to the live queue.
        producer
            .as_ref()
            .is_some_and(|p| rng.chance(50) && unsafe { p.submit(op, key) })
    };
    let mut model = Model::default();
    for step in 0..steps {
        let key = rng.below(8);
        let null_queue = rng.chance(5);
        let q = if null_queue { null_mut() } else { queue };
        let null_out = rng.chance(5);
        let timeout = match rng.below(10) {
            0 => -2,
            1 => WQ_WAIT_FOREVER,
            _ => WQ_NO_WAIT,
        };
        let context = format!("seed {seed} step {step}");
        // SAFETY: `queue` and `clock` are live handles; every other pointer
        // is NULL or points to a local.
        unsafe {
            match rng.below(9) {
                0 if !null_queue && submit(&mut rng, WQ_SUBMIT_ADD, key) => {
                    model.add(key);
                }
                0 => {
                    let mut added = false;
                    let out = if null_out {
                        null_mut()
                    } else {
                        &mut added as *mut bool
                    };
                    let status = wq_queue_add(q, key, out);
                    if null_queue {
                        assert_eq!(status, wq_status::NullArgument, "{context}");
                    } else {
                        assert_eq!(status, wq_status::Ok, "{context}");
                        let expected = model.add(key);
                        if !null_out {
                            assert_eq!(added, expected, "{context}: add {key}");
                        }
                    }
                }
                1 => {
                    let keys: Vec<u64> = (0..rng.below(4)).map(|_| rng.below(8)).collect();
                    let ptr = if null_out && !keys.is_empty() {
                        null()
                    } else {
                        keys.as_ptr()
                    };
                    let mut added = 0;
                    let status = wq_queue_add_batch(q, ptr, keys.len(), &mut added);
                    if null_queue || ptr.is_null() {
                        assert_eq!(status, wq_status::NullArgument, "{context}");
                    } else {
                        assert_eq!(status, wq_status::Ok, "{context}");
                        let expected = keys.iter().filter(|k| model.add(**k)).count();
                        assert_eq!(added, expected, "{context}: add_batch {keys:?}");
                    }
                }
                2 | 3 => {
                    // A blocking get only when the model says it returns.
                    let timeout =
                        if timeout == WQ_WAIT_FOREVER && model.ready.is_empty() && !model.shut_down
                        {
                            WQ_NO_WAIT
                        } else {
                            timeout
                        };
                    let mut got = u64::MAX;
                    let out = if null_out {
                        null_mut()
                    } else {
                        &mut got as *mut u64
                    };
                    let status = wq_queue_get(q, timeout, out);
                    if null_queue || null_out {
                        assert_eq!(status, wq_status::NullArgument, "{context}");
                    } else if timeout == -2 {
                        assert_eq!(status, wq_status::InvalidArgument, "{context}");
                    } else if model.ready.is_empty() {
                        let expected = if model.shut_down {
                            wq_status::Shutdown
                        } else {
                            wq_status::Timeout
                        };
                        assert_eq!(status, expected, "{context}");
                        assert_eq!(got, u64::MAX, "{context}: written on failure");
                    } else {
                        assert_eq!(status, wq_status::Ok, "{context}");
                        let expected = model.ready.remove(0);
                        assert_eq!(got, expected, "{context}: FIFO");
                        model.processing.insert(got);
                    }
                }
                4 => {
                    let capacity = rng.below(4) as usize;
                    let mut keys = [u64::MAX; 4];
                    let mut count = usize::MAX;
                    let status = wq_queue_get_batch(
                        q,
                        keys.as_mut_ptr(),
                        capacity,
                        WQ_NO_WAIT,
                        if null_out { null_mut() } else { &mut count },
                    );
                    if null_queue || null_out {
                        assert_eq!(status, wq_status::NullArgument, "{context}");
                    } else if capacity == 0 {
                        assert_eq!((status, count), (wq_status::Ok, 0), "{context}");
                    } else if model.ready.is_empty() {
                        let expected = if model.shut_down {
                            wq_status::Shutdown
                        } else {
                            wq_status::Timeout
                        };
                        assert_eq!(status, expected, "{context}");
                    } else {
                        assert_eq!(status, wq_status::Ok, "{context}");
                        let taken = capacity.min(model.ready.len());
                        let expected: Vec<u64> = model.ready.drain(..taken).collect();
                        assert_eq!(&keys[..count], &expected[..], "{context}: batch");
                        model.processing.extend(expected);
                    }
                }
                5 | 6 => {
                    // Done of a key being processed, or of any key.
                    let key = match model.processing.iter().next() {
                        Some(&k) if rng.chance(80) => k,
                        _ => key,
                    };
                    let mut was = false;
                    if !null_queue && submit(&mut rng, WQ_SUBMIT_DONE, key) {
                        model.done(key);
                        continue;
                    }
                    let status = wq_queue_done(q, key, &mut was);
                    if null_queue {
                        assert_eq!(status, wq_status::NullArgument, "{context}");
                    } else {
                        assert_eq!(status, wq_status::Ok, "{context}");
                        assert_eq!(was, model.done(key), "{context}: done {key}");
                    }
                }
                7 => {
                    let (mut len, mut processing) = (usize::MAX, usize::MAX);
                    let out = if null_out {
                        null_mut()
                    } else {
                        &mut len as *mut usize
                    };
                    let status = wq_queue_len(q, out);
                    if null_queue || null_out {
                        assert_eq!(status, wq_status::NullArgument, "{context}");
                        assert_eq!(len, usize::MAX, "{context}: written on failure");
                    } else {
                        assert_eq!(status, wq_status::Ok, "{context}");
                        assert_eq!(len, model.ready.len(), "{context}: len");
                        assert_eq!(wq_queue_processing_len(q, &mut processing), wq_status::Ok);
                        assert_eq!(processing, model.processing.len(), "{context}");
                    }
                }
                _ => {
                    if rng.chance(10) && !null_queue {
                        assert_eq!(wq_queue_shutdown(q), wq_status::Ok, "{context}");
                        model.shut_down = true;
                        // Delayed keys would be dropped; there are none here.
                    } else {
                        let status = wq_manual_clock_step(clock, rng.below(1000));
                        assert_eq!(status, wq_status::Ok, "{context}");
                    }
                }
            }
        }
    }
    if let Some(p) = &producer {
        // SAFETY: the ring belongs to the live queue.
        let submitted = unsafe { AtomicU64::from_ptr(addr_of_mut!((*p.0).tail)) }.load(SeqCst);
        assert!(
            submitted > steps as u64 / 20,
            "seed {seed}: {submitted} submitted"
        );
    }
    // SAFETY: live handles, freed once (the ring after its queue).
    unsafe {
        wq_queue_free(queue);
        wq_manual_clock_free(clock);
    }
    drop(ring);
}

#[test]
fn random_call_sequences_follow_the_model() {
    let (seeds, steps) = if cfg!(miri) { (2, 300) } else { (50, 2000) };
    for seed in 0..seeds {
        run(seed, steps, false);
    }
}

#[test]
fn submitted_adds_and_dones_follow_the_same_model() {
    let (seeds, steps) = if cfg!(miri) { (2, 300) } else { (50, 2000) };
    for seed in 0..seeds {
        run(seed, steps, true);
    }
}

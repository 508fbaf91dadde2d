//! The submission ring: adds and dones handed to a queue through shared
//! memory instead of a call, for a binding whose calls are expensive (a cgo
//! call costs a Go program 60-100 ns, more than the queue's own work).
//!
//! One producer at a time (producers take the ring with a bit of `tail`)
//! writes an entry and publishes it by advancing `tail`. Every
//! call on the queue first applies the entries published so far, in
//! order, so no call can tell a submitted add or done from one made by a
//! call at the moment it was published. A call that may block counts
//! itself in `waiters` before it looks; a producer that sees a waiter
//! calls the queue instead (or `wq_queue_flush` after publishing), and a
//! call that counts itself while a producer holds the ring waits for that
//! producer's entry, so a blocked getter is never left asleep next to a
//! published key.
//!
//! A named queue times its adds and dones for its metrics. Its ring's
//! entries carry the time-stamp counter's value when the call was made,
//! so a late apply does not stretch a duration, and a scrape of the
//! registry applies the ring first, so it counts every published call. A
//! named queue whose metrics cannot read counter values (a manual clock,
//! no invariant counter) counts a waiter for ever: producers call.

use crate::boundary::{arg, boundary};
use crate::queue::wq_queue;
use crate::status::wq_status;
use std::ptr::{addr_of, addr_of_mut};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use workqueue_core::metrics::TscStamp;
use workqueue_core::{Queue, Replayed};

/// Entries in a queue's submission ring.
pub const WQ_SUBMISSIONS_CAPACITY: usize = 128;

/// `wq_submission.op`: `wq_queue_add` of `key` (`wq_queue_add_with_priority`
/// when `priority` is not 0).
pub const WQ_SUBMIT_ADD: u32 = 1;
/// `wq_submission.op`: `wq_queue_done` of `key`.
pub const WQ_SUBMIT_DONE: u32 = 2;

/// `wq_submissions.stamps`: entries' `stamp` is ignored (an unnamed
/// queue; a named one whose metrics cannot read counter stamps also says
/// this, and keeps `waiters` at 1 so that producers call).
pub const WQ_STAMPS_NONE: u32 = 0;
/// `wq_submissions.stamps`: an entry's `stamp` is the CPU's time-stamp
/// counter (x86 `RDTSC`) when the call was made (a named queue).
pub const WQ_STAMPS_TSC: u32 = 1;

/// One submitted call. Entries with another `op` are skipped.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wq_submission {
    pub key: u64,
    pub op: u32,
    pub priority: i32,
    /// When the call was made, as `wq_submissions.stamps` says.
    pub stamp: u64,
}

/// A queue's submission ring: memory the caller provides at
/// `wq_queue_new` (`wq_queue_options.submissions`) and shares with the
/// queue. Indexes count entries since the queue was made; entry `i` is
/// `entries[i % WQ_SUBMISSIONS_CAPACITY]`.
///
/// To submit, the producer (the accesses to `tail`, `head` and `waiters`
/// below are atomic and sequentially consistent, except the store that
/// publishes, which needs only release order: the swap of step 2 is what
/// orders step 5's read after step 1; the entry is plain memory):
/// 1. if `waiters` is not 0, makes the call instead (the queue counts a
///    waiter while a call may block on it, while keys may wait for a
///    delay, and for ever once its fd exists or with priority aging);
/// 2. takes the ring: swaps `tail` from a value `t` without
///    `WQ_SUBMISSIONS_BUSY` to `t | WQ_SUBMISSIONS_BUSY` (if another
///    producer has it, waits or makes the call instead);
/// 3. if `t - head` is `WQ_SUBMISSIONS_CAPACITY`, stores `t` back in
///    `tail` (release order is enough here too) and makes the call
///    instead (the call applies the ring first);
/// 4. writes the entry at `t` (with its `stamp`, see `stamps`), then
///    stores `t + 1` in `tail` (a release store: on x86 a plain `mov`,
///    where a sequentially consistent one is an `xchg` costing a Go
///    producer 8 ns): published;
/// 5. reads `waiters` again and, if it is not 0, calls `wq_queue_flush`.
///
/// Why that is enough: a call that may block counts itself in `waiters`
/// and then reads `tail`. If it reads a value from before a producer's
/// swap, that swap comes after its count, so the producer's step 5 sees
/// the count and flushes. If it reads `WQ_SUBMISSIONS_BUSY`, the producer
/// may have read `waiters` before the count reached it, so the call waits
/// until the producer has published (or given the ring back) and applies
/// what it published.
///
/// So a producer holds the ring for steps 2 to 4 only, a few
/// instructions, and makes no call on the queue while it holds it: calls
/// that may block wait for it to let go (a producer that never does, or
/// that calls while holding it, hangs them).
#[repr(C)]
pub struct wq_submissions {
    /// Entries published, plus `WQ_SUBMISSIONS_BUSY` while a producer
    /// writes one: written by producers only.
    pub tail: u64,
    pub reserved_tail: [u8; 56],
    /// Entries applied: written by the queue only.
    pub head: u64,
    pub reserved_head: [u8; 56],
    /// Not 0 while a producer must call instead of submitting: calls that
    /// may block now looking at or waiting on the queue (a get with a
    /// timeout, a drain, a worker loop), 1 while keys may wait for a delay,
    /// 1 for ever once the queue's fd exists, with priority aging, and on
    /// a named queue whose metrics cannot read counter stamps (a manual
    /// clock, no invariant time-stamp counter). Written by the queue only.
    pub waiters: u32,
    /// How producers stamp entries (`wq_submission.stamp`): with
    /// `WQ_STAMPS_TSC` (a named queue, which times each add and done for
    /// its metrics), the CPU's time-stamp counter when the call was made
    /// (x86 `RDTSC`, e.g. `__rdtsc()`); with `WQ_STAMPS_NONE`, not at all
    /// (the stamp is ignored). Set by the queue at `wq_queue_new`; a scrape
    /// of the metrics applies a named queue's ring before it reads it.
    pub stamps: u32,
    pub entries: [wq_submission; WQ_SUBMISSIONS_CAPACITY],
}

/// The bit of `wq_submissions.tail` a producer sets while it writes an
/// entry.
pub const WQ_SUBMISSIONS_BUSY: u64 = 0x8000_0000_0000_0000;

/// The ring's memory as the queue reads it: applies published entries.
#[derive(Clone, Copy)]
struct Ring {
    mem: *mut wq_submissions,
    /// Whether entries carry counter stamps (`WQ_STAMPS_TSC`).
    stamped: bool,
}

// SAFETY: the ring is shared only through atomics (tail, head, waiters)
// and entries no producer writes once they are published.
unsafe impl Send for Ring {}
// SAFETY: as for Send.
unsafe impl Sync for Ring {}

impl Ring {
    fn tail(&self) -> &AtomicU64 {
        // SAFETY: the ring outlives self and is accessed atomically.
        unsafe { AtomicU64::from_ptr(addr_of_mut!((*self.mem).tail)) }
    }

    fn head(&self) -> &AtomicU64 {
        // SAFETY: as for tail.
        unsafe { AtomicU64::from_ptr(addr_of_mut!((*self.mem).head)) }
    }

    fn waiters(&self) -> &AtomicU32 {
        // SAFETY: as for tail.
        unsafe { AtomicU32::from_ptr(addr_of_mut!((*self.mem).waiters)) }
    }

    /// Applies every entry published so far to `queue`, in order; returns
    /// once they are applied (by this call or by another one).
    #[inline]
    fn apply(&self, queue: &Queue<u64>) {
        // Sequentially consistent: a waiter counts itself before it looks,
        // a producer takes the ring before it looks for waiters again (and
        // a waiter that finds the ring taken has awaited its producer).
        if self.published() != self.head().load(Ordering::SeqCst) {
            self.apply_published(queue);
        }
    }

    /// The entries published, `tail` without a producer's BUSY bit.
    fn published(&self) -> u64 {
        self.tail().load(Ordering::SeqCst) & !WQ_SUBMISSIONS_BUSY
    }

    /// Returns once no producer holds the ring that took it before the
    /// caller's count in `waiters`: such a producer may have read
    /// `waiters` before the count, and so not flush after publishing (see
    /// `wq_submissions`). Producers hold the ring for a few instructions;
    /// one descheduled meanwhile is waited for with yields, then with
    /// short sleeps, so a waiter stuck behind a producer that stopped for
    /// good does not burn a CPU.
    fn await_producer(&self) {
        let mut tries = 0u32;
        while self.tail().load(Ordering::SeqCst) & WQ_SUBMISSIONS_BUSY != 0 {
            tries = tries.saturating_add(1);
            if tries <= AWAIT_SPINS {
                std::hint::spin_loop();
            } else if tries <= AWAIT_YIELDS {
                std::thread::yield_now();
            } else {
                std::thread::sleep(AWAIT_SLEEP);
            }
        }
    }

    /// Applies the published entries not applied yet.
    fn apply_published(&self, queue: &Queue<u64>) {
        // Under the queue's lock: appliers take turns, and what one read
        // as published is applied before anyone else looks.
        queue.replay(|replay| {
            let tail = self.published();
            let mut head = self.head().load(Ordering::Relaxed);
            while head != tail {
                let slot = (head % WQ_SUBMISSIONS_CAPACITY as u64) as usize;
                // SAFETY: published entries are no longer written by the
                // producer until head passes them; the ring outlives self.
                let entry = unsafe { addr_of!((*self.mem).entries[slot]).read() };
                let made_at = self.stamped.then_some(TscStamp(entry.stamp));
                match entry.op {
                    WQ_SUBMIT_ADD => replay(Replayed::Add(entry.key, entry.priority, made_at)),
                    WQ_SUBMIT_DONE => replay(Replayed::Done(entry.key, made_at)),
                    _ => {}
                }
                head += 1;
            }
            self.head().store(head, Ordering::Release);
        });
    }
}

/// How a new waiter waits for a producer holding the ring (see
/// `Ring::await_producer`): it spins this many times,
const AWAIT_SPINS: u32 = 128;
/// then yields its thread until this many tries,
const AWAIT_YIELDS: u32 = 1024;
/// then sleeps this long between looks.
const AWAIT_SLEEP: std::time::Duration = std::time::Duration::from_micros(50);

/// The queue's side of the ring: applies entries, counts waiters.
pub(crate) struct Submissions {
    ring: Ring,
    /// Whether `waiters` holds one for keys that may wait for a delay:
    /// the library applies entries after moving the keys that came due
    /// meanwhile, so a submitted add could otherwise fall in behind a key
    /// that came due after it was published. Changed under `delaying`.
    delays_counted: AtomicBool,
    delaying: Mutex<()>,
    /// A named queue's ring as its scrapes apply it; emptied when the
    /// queue is freed, so no scrape reads the memory after that.
    scraped: Option<Arc<Mutex<Option<Ring>>>>,
}

impl Submissions {
    /// Takes `ring` over for `queue`, setting it up empty. A named queue
    /// gets counter stamps, or a waiter for ever when its metrics cannot
    /// read them.
    ///
    /// # Safety
    /// `ring` is valid for reads and writes of a `wq_submissions`, and
    /// stays so (and is used only as the protocol says) while the result
    /// lives.
    pub(crate) unsafe fn new(ring: *mut wq_submissions, queue: &Queue<u64>) -> Self {
        // The shared counters are read through atomics of the same layout.
        const { assert!(std::mem::align_of::<u64>() == std::mem::align_of::<AtomicU64>()) };
        let named = queue.name().is_some();
        let stamped = queue.metrics_take_tsc_stamps(); // named, on the counter
                                                       // SAFETY: the caller passes valid memory no one else uses yet.
        unsafe {
            addr_of_mut!((*ring).tail).write(0);
            addr_of_mut!((*ring).head).write(0);
            addr_of_mut!((*ring).waiters).write(u32::from(named && !stamped));
            addr_of_mut!((*ring).stamps).write(if stamped {
                WQ_STAMPS_TSC
            } else {
                WQ_STAMPS_NONE
            });
        }
        let ring = Ring { mem: ring, stamped };
        let scraped = stamped.then(|| {
            let scraped = Arc::new(Mutex::new(Some(ring)));
            let hook = Arc::clone(&scraped);
            queue.before_scrape(move |queue| {
                if let Some(ring) = *hook.lock().unwrap_or_else(PoisonError::into_inner) {
                    ring.apply(queue);
                }
            });
            scraped
        });
        Submissions {
            ring,
            delays_counted: AtomicBool::new(false),
            delaying: Mutex::new(()),
            scraped,
        }
    }

    fn waiters(&self) -> &AtomicU32 {
        self.ring.waiters()
    }

    /// Applies every entry published so far to `queue`, in order; returns
    /// once they are applied (by this call or by another one).
    #[inline]
    pub(crate) fn apply(&self, queue: &Queue<u64>) {
        self.ring.apply(queue);
    }

    /// Counts the keys that may wait for a delay as a waiter, then applies
    /// the ring: call before a call that may delay a key, and keep the
    /// guard until it returned, so that no producer submits meanwhile and
    /// whatever was published before is applied before the key waits.
    pub(crate) fn delaying(&self, queue: &Queue<u64>) -> MutexGuard<'_, ()> {
        let delaying = self.delaying.lock().unwrap_or_else(PoisonError::into_inner);
        if !self.delays_counted.load(Ordering::Relaxed) {
            self.delays_counted.store(true, Ordering::Relaxed);
            self.count_waiter();
        }
        self.apply(queue);
        delaying
    }

    /// Stops counting delayed keys as a waiter once none is left (one
    /// load while none was counted; nothing while a delaying call runs).
    pub(crate) fn settle_delays(&self, queue: &Queue<u64>) {
        if !self.delays_counted.load(Ordering::Relaxed) {
            return;
        }
        let Ok(_delaying) = self.delaying.try_lock() else {
            return;
        };
        if self.delays_counted.load(Ordering::Relaxed) && queue.delayed_len() == 0 {
            self.delays_counted.store(false, Ordering::Relaxed);
            self.waiters().fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Counts a waiter, then waits out a producer that may have missed the
    /// count: from now on every entry published is applied before the
    /// caller's next look at the ring, or flushed by its producer.
    fn count_waiter(&self) {
        self.waiters().fetch_add(1, Ordering::SeqCst);
        self.ring.await_producer();
    }

    /// Counts a call that may block until the guard is dropped.
    pub(crate) fn wait(&self) -> Waiter<'_> {
        self.count_waiter();
        Waiter(self)
    }

    /// Counts a waiter for as long as the queue lives (its fd).
    pub(crate) fn wait_forever(&self) {
        self.count_waiter();
    }
}

impl Drop for Submissions {
    fn drop(&mut self) {
        if let Some(scraped) = &self.scraped {
            *scraped.lock().unwrap_or_else(PoisonError::into_inner) = None;
        }
    }
}

/// A call that may block, counted in `waiters` while it lives.
pub(crate) struct Waiter<'a>(&'a Submissions);

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.0.waiters().fetch_sub(1, Ordering::SeqCst);
    }
}

/// Applies the entries published in the queue's submission ring now
/// (every call does so first; this one does nothing else), waking getters
/// for the keys it adds.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `queue` is NULL.
///
/// # Safety
/// `queue` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_flush(queue: *mut wq_queue) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        queue.queue();
        Ok(())
    })
}

//! The submission ring (`wq_submissions`), driven from Rust as a binding
//! would drive it: a producer that follows the protocol in the ring's
//! documentation, through atomics laid over the ring's fields, and the
//! queue's calls that apply what it publishes.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::{addr_of, addr_of_mut, null, null_mut};
use std::sync::atomic::{
    AtomicBool, AtomicU32, AtomicU64, AtomicUsize,
    Ordering::{Release, SeqCst},
};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use workqueue::*;

const CAPACITY: u64 = WQ_SUBMISSIONS_CAPACITY as u64;

/// Ring memory owned by a test: allocated, never initialised by the test
/// (the queue sets it up), and freed on drop, after the queue that uses it.
struct Ring(*mut wq_submissions);

impl Ring {
    fn new() -> Ring {
        let layout = Layout::new::<wq_submissions>();
        // SAFETY: the layout is not zero-sized.
        let ring = unsafe { alloc(layout) }.cast::<wq_submissions>();
        if ring.is_null() {
            handle_alloc_error(layout);
        }
        // Garbage, so a queue that relied on zeroed memory would fail.
        // SAFETY: freshly allocated for one wq_submissions.
        unsafe { ring.cast::<u8>().write_bytes(0xa5, layout.size()) };
        Ring(ring)
    }

    fn producer(&self) -> Producer {
        Producer(self.0)
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: allocated in Ring::new with this layout; the queue using it
        // is already freed (see RingQueue's field order).
        unsafe { dealloc(self.0.cast(), Layout::new::<wq_submissions>()) }
    }
}

/// A queue handle, freed on drop.
struct Q(*mut wq_queue);

impl Drop for Q {
    fn drop(&mut self) {
        // SAFETY: made by wq_queue_new, freed once, no other user left.
        unsafe { wq_queue_free(self.0) }
    }
}

fn queue_options(name: *const std::ffi::c_char, ring: *mut wq_submissions) -> wq_queue_options {
    wq_queue_options {
        name,
        rate_limiter: null(),
        clock: null(),
        priority_aging_ns: 0,
        submissions: ring,
    }
}

/// A queue with a submission ring. Fields drop in order: the queue is
/// freed before its ring memory.
struct RingQueue {
    q: Q,
    ring: Ring,
}

impl RingQueue {
    fn new() -> RingQueue {
        RingQueue::on_clock(null())
    }

    /// A queue on `clock` (NULL: the real clock), which must outlive it.
    fn on_clock(clock: *const wq_manual_clock) -> RingQueue {
        RingQueue::named(null(), clock)
    }

    /// A queue named `name` (NULL: unnamed) on `clock`.
    fn named(name: *const std::ffi::c_char, clock: *const wq_manual_clock) -> RingQueue {
        let ring = Ring::new();
        let options = wq_queue_options {
            clock,
            ..queue_options(name, ring.0)
        };
        let mut queue = null_mut();
        // SAFETY: valid options (ring memory that outlives the queue) and
        // out-pointer.
        assert_eq!(unsafe { wq_queue_new(&options, &mut queue) }, wq_status::Ok);
        assert!(!queue.is_null());
        RingQueue { q: Q(queue), ring }
    }

    fn queue(&self) -> Handle {
        Handle(self.q.0)
    }

    fn producer(&self) -> Producer {
        self.ring.producer()
    }
}

/// A queue handle that may cross into test threads (the queue is
/// thread-safe; the RingQueue owning it outlives the threads).
#[derive(Clone, Copy)]
struct Handle(*mut wq_queue);
// SAFETY: every call but wq_queue_free may run on any thread at once.
unsafe impl Send for Handle {}
// SAFETY: as for Send.
unsafe impl Sync for Handle {}

impl Handle {
    fn add(self, key: u64) -> bool {
        let mut added = false;
        // SAFETY: a live queue and a valid out-pointer.
        assert_eq!(
            unsafe { wq_queue_add(self.0, key, &mut added) },
            wq_status::Ok
        );
        added
    }

    fn get(self, timeout_ns: i64) -> Result<u64, wq_status> {
        let mut key = 0;
        // SAFETY: a live queue and a valid out-pointer.
        match unsafe { wq_queue_get(self.0, timeout_ns, &mut key) } {
            wq_status::Ok => Ok(key),
            status => Err(status),
        }
    }

    fn get_with_priority(self) -> Result<(u64, i32), wq_status> {
        let (mut key, mut priority) = (0, 0);
        // SAFETY: a live queue and valid out-pointers.
        match unsafe { wq_queue_get_with_priority(self.0, WQ_NO_WAIT, &mut key, &mut priority) } {
            wq_status::Ok => Ok((key, priority)),
            status => Err(status),
        }
    }

    fn done(self, key: u64) -> bool {
        let mut was_processing = false;
        // SAFETY: a live queue and a valid out-pointer.
        let status = unsafe { wq_queue_done(self.0, key, &mut was_processing) };
        assert_eq!(status, wq_status::Ok);
        was_processing
    }

    fn len(self) -> usize {
        let mut len = 0;
        // SAFETY: a live queue and a valid out-pointer.
        assert_eq!(unsafe { wq_queue_len(self.0, &mut len) }, wq_status::Ok);
        len
    }

    fn processing_len(self) -> usize {
        let mut len = 0;
        // SAFETY: a live queue and a valid out-pointer.
        let status = unsafe { wq_queue_processing_len(self.0, &mut len) };
        assert_eq!(status, wq_status::Ok);
        len
    }

    fn shutdown(self) {
        // SAFETY: a live queue.
        assert_eq!(unsafe { wq_queue_shutdown(self.0) }, wq_status::Ok);
    }

    fn shutdown_with_drain(self, timeout_ns: i64) -> wq_status {
        // SAFETY: a live queue.
        unsafe { wq_queue_shutdown_with_drain(self.0, timeout_ns) }
    }

    fn metrics(self) -> wq_metrics {
        let mut metrics = std::mem::MaybeUninit::uninit();
        // SAFETY: a live queue and a valid out-pointer.
        assert_eq!(
            unsafe { wq_queue_metrics(self.0, metrics.as_mut_ptr()) },
            wq_status::Ok
        );
        // SAFETY: written by the call that returned Ok.
        unsafe { metrics.assume_init() }
    }

    fn flush(self) {
        // SAFETY: a live queue.
        assert_eq!(unsafe { wq_queue_flush(self.0) }, wq_status::Ok);
    }
}

/// Why a submission was not published: the caller makes the call instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refused {
    /// Step 1: a call may be blocked on the queue.
    Waiters,
    /// Step 2: another producer holds the ring.
    Busy,
    /// Step 3: the ring is full.
    Full,
}

/// The producer's side of the ring, as the protocol in `wq_submissions`
/// describes it; every access to tail, head and waiters is atomic and
/// sequentially consistent, but the stores that publish or give the ring
/// back, which are release stores.
#[derive(Clone, Copy)]
struct Producer(*mut wq_submissions);
// SAFETY: the ring is shared only as its protocol says.
unsafe impl Send for Producer {}
// SAFETY: as for Send.
unsafe impl Sync for Producer {}

/// How often `submit` tries to take the ring from another producer before
/// it gives up (like the Go binding).
const TAKE_SPINS: u32 = 64;

impl Producer {
    fn tail(&self) -> &AtomicU64 {
        // SAFETY: live ring memory, accessed atomically by everyone.
        unsafe { AtomicU64::from_ptr(addr_of_mut!((*self.0).tail)) }
    }

    fn head(&self) -> &AtomicU64 {
        // SAFETY: as for tail.
        unsafe { AtomicU64::from_ptr(addr_of_mut!((*self.0).head)) }
    }

    fn waiters(&self) -> u32 {
        // SAFETY: as for tail.
        unsafe { AtomicU32::from_ptr(addr_of_mut!((*self.0).waiters)) }.load(SeqCst)
    }

    /// How the queue reads the entries' stamps (set up by the queue).
    fn stamps(&self) -> u32 {
        // SAFETY: live ring memory, written by the queue before it was
        // handed out.
        unsafe { addr_of!((*self.0).stamps).read() }
    }

    /// Step 2: takes the ring; the published count `t`, or None if another
    /// producer holds it.
    fn try_take(&self) -> Option<u64> {
        let tail = self.tail().load(SeqCst);
        if tail & WQ_SUBMISSIONS_BUSY != 0 {
            return None;
        }
        self.tail()
            .compare_exchange(tail, tail | WQ_SUBMISSIONS_BUSY, SeqCst, SeqCst)
            .ok()
    }

    /// Steps 3 and 4 once the ring is taken at `tail`: publishes the entry,
    /// or gives the ring back untouched when it is full.
    fn write(&self, tail: u64, entry: wq_submission) -> Result<(), Refused> {
        assert_eq!(self.tail().load(SeqCst), tail | WQ_SUBMISSIONS_BUSY);
        let head = self.head().load(SeqCst);
        assert!(
            tail - head <= CAPACITY,
            "head {head} is too far behind tail {tail}"
        );
        if tail - head == CAPACITY {
            self.tail().store(tail, Release);
            return Err(Refused::Full);
        }
        self.write_entry(tail, entry);
        // Release is all publishing needs (see wq_submissions).
        self.tail().store(tail + 1, Release);
        Ok(())
    }

    /// Writes entry `index` without publishing it (the ring is taken).
    fn write_entry(&self, index: u64, entry: wq_submission) {
        let slot = (index % CAPACITY) as usize;
        // SAFETY: the slot is not published (index >= tail) and not being
        // applied (index - head < CAPACITY), so only this producer uses it.
        unsafe { addr_of_mut!((*self.0).entries[slot]).write(entry) };
    }

    /// Reads back entry `index` (for checks).
    fn entry(&self, index: u64) -> wq_submission {
        let slot = (index % CAPACITY) as usize;
        // SAFETY: called while no producer writes this slot.
        unsafe { addr_of!((*self.0).entries[slot]).read() }
    }

    /// The whole protocol: returns whether it called wq_queue_flush (step
    /// 5), or why the caller must make the call itself.
    fn submit(&self, queue: Handle, op: u32, key: u64, priority: i32) -> Result<bool, Refused> {
        self.submit_stamped(queue, op, key, priority, 0)
    }

    /// `submit`, with the time the call was made (see `stamps`).
    fn submit_stamped(
        &self,
        queue: Handle,
        op: u32,
        key: u64,
        priority: i32,
        stamp: u64,
    ) -> Result<bool, Refused> {
        if self.waiters() != 0 {
            return Err(Refused::Waiters);
        }
        let mut spins = 0;
        let tail = loop {
            if let Some(tail) = self.try_take() {
                break tail;
            }
            spins += 1;
            if spins == TAKE_SPINS {
                return Err(Refused::Busy);
            }
            std::hint::spin_loop();
        };
        let entry = wq_submission {
            key,
            op,
            priority,
            stamp,
        };
        self.write(tail, entry)?;
        Ok(self.flush_if_waiters(queue))
    }

    /// Step 5: after publishing, flushes if a call may be blocked.
    fn flush_if_waiters(&self, queue: Handle) -> bool {
        if self.waiters() != 0 {
            queue.flush();
            return true;
        }
        false
    }

    fn add(&self, queue: Handle, key: u64) {
        self.submit(queue, WQ_SUBMIT_ADD, key, 0)
            .expect("add published");
    }

    fn add_with_priority(&self, queue: Handle, key: u64, priority: i32) {
        self.submit(queue, WQ_SUBMIT_ADD, key, priority)
            .expect("add published");
    }

    fn done(&self, queue: Handle, key: u64) {
        self.submit(queue, WQ_SUBMIT_DONE, key, 0)
            .expect("done published");
    }

    /// (published, applied) entries.
    fn counts(&self) -> (u64, u64) {
        (self.tail().load(SeqCst), self.head().load(SeqCst))
    }
}

/// Waits up to 10 s for `cond`.
fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn the_queue_sets_the_ring_up() {
    let rq = RingQueue::new();
    let p = rq.producer();
    assert_eq!(p.counts(), (0, 0));
    assert_eq!(p.waiters(), 0);
}

#[test]
fn submitted_adds_are_seen_by_the_next_call_in_order() {
    let rq = RingQueue::new();
    let (q, p) = (rq.queue(), rq.producer());
    for key in [3, 1, 2] {
        p.add(q, key);
    }
    // Published, not applied: no call has run yet.
    assert_eq!(p.counts(), (3, 0));
    assert_eq!(q.len(), 3);
    assert_eq!(p.counts(), (3, 3));
    assert_eq!(q.get(WQ_NO_WAIT), Ok(3));
    assert_eq!(q.get(WQ_NO_WAIT), Ok(1));
    assert_eq!(q.get(WQ_NO_WAIT), Ok(2));
    assert_eq!(q.get(WQ_NO_WAIT), Err(wq_status::Timeout));

    // The first call after publishing applies, whatever it is.
    p.add(q, 7);
    assert_eq!(q.get(WQ_NO_WAIT), Ok(7));
    p.add(q, 8);
    q.flush();
    assert_eq!(p.counts(), (5, 5));
    assert_eq!(q.get(WQ_NO_WAIT), Ok(8));

    // Adds collapse like calls: a key queued twice is handed out once.
    p.add(q, 9);
    p.add(q, 9);
    assert!(!q.add(9));
    assert_eq!(q.len(), 1);
    assert_eq!(q.get(WQ_NO_WAIT), Ok(9));
    assert_eq!(q.get(WQ_NO_WAIT), Err(wq_status::Timeout));
    assert_eq!(q.processing_len(), 6);
}

#[test]
fn submitted_dones_finish_keys() {
    let rq = RingQueue::new();
    let (q, p) = (rq.queue(), rq.producer());
    for key in 1..=3 {
        q.add(key);
        assert_eq!(q.get(WQ_NO_WAIT), Ok(key));
    }
    assert_eq!(q.processing_len(), 3);
    p.done(q, 1);
    p.done(q, 2);
    assert_eq!(q.processing_len(), 1);
    // A submitted done of a key not being processed changes nothing, like
    // the call.
    p.done(q, 1);
    p.done(q, 42);
    assert_eq!(q.processing_len(), 1);
    assert!(!q.done(2));

    // Added again while processing: held back until the submitted done.
    p.add(q, 3);
    assert_eq!(q.len(), 0);
    assert_eq!(q.get(WQ_NO_WAIT), Err(wq_status::Timeout));
    p.done(q, 3);
    assert_eq!(q.len(), 1);
    assert_eq!(q.processing_len(), 0);
    assert_eq!(q.get(WQ_NO_WAIT), Ok(3));

    // Add then done of the same key in one batch of entries: applied in
    // order, so the key comes back; done then add: it is queued, and the
    // following done (not processing) changes nothing.
    p.add(q, 3);
    p.done(q, 3);
    p.done(q, 3);
    assert_eq!(q.get(WQ_NO_WAIT), Ok(3));
    p.done(q, 3);
    p.add(q, 3);
    p.done(q, 3);
    assert_eq!(q.processing_len(), 0);
    assert_eq!(q.len(), 1);
    assert_eq!(q.get(WQ_NO_WAIT), Ok(3));
    assert!(q.done(3));
    assert_eq!((q.len(), q.processing_len()), (0, 0));
}

#[test]
fn entries_with_another_op_are_skipped() {
    let rq = RingQueue::new();
    let (q, p) = (rq.queue(), rq.producer());
    for op in [0, 3, u32::MAX] {
        p.submit(q, op, 5, 0).unwrap();
    }
    p.add(q, 6);
    assert_eq!(q.len(), 1);
    assert_eq!(p.counts(), (4, 4));
    assert_eq!(q.get(WQ_NO_WAIT), Ok(6));
}

#[test]
fn a_submitted_priority_is_add_with_priority() {
    let adds: &[(u64, i32)] = &[(1, 0), (2, 5), (3, -2), (4, 5), (1, 9), (5, 0), (3, 7)];
    let by_ring = RingQueue::new();
    let by_call = RingQueue::new();
    let (q, p) = (by_ring.queue(), by_ring.producer());
    for &(key, priority) in adds {
        p.add_with_priority(q, key, priority);
        let mut added = false;
        // SAFETY: a live queue and a valid out-pointer.
        let status = unsafe { wq_queue_add_with_priority(by_call.q.0, key, priority, &mut added) };
        assert_eq!(status, wq_status::Ok);
    }
    let drain = |q: Handle| {
        let mut got = Vec::new();
        while let Ok(key) = q.get_with_priority() {
            got.push(key);
        }
        got
    };
    let got = drain(q);
    assert_eq!(got, drain(by_call.queue()));
    assert_eq!(got[0], (1, 9));
    assert_eq!(got.len(), 5);

    // Priority 0 is a plain add: behind a key with a higher priority.
    p.add_with_priority(q, 10, 0);
    p.add_with_priority(q, 11, 1);
    assert_eq!(q.get_with_priority(), Ok((11, 1)));
    assert_eq!(q.get_with_priority(), Ok((10, 0)));
}

/// A key that comes due between a publishing and the next call would go
/// first (`Queue::replay` promotes due keys before it applies the
/// entries), where a call made at publishing time queues the submitted key
/// first. So the queue counts a waiter while keys may wait for a delay,
/// and a producer that follows the protocol calls instead.
#[test]
fn a_submitted_add_keeps_its_place_before_a_key_that_comes_due_later() {
    let order = |submit: bool| {
        let mut clock = null_mut();
        // SAFETY: a valid out-pointer.
        assert_eq!(unsafe { wq_manual_clock_new(&mut clock) }, wq_status::Ok);
        let rq = RingQueue::on_clock(clock);
        let (q, p) = (rq.queue(), rq.producer());
        // SAFETY: a live queue.
        let status = unsafe { wq_queue_add_after(q.0, 1, 20_000_000, null_mut()) };
        assert_eq!(status, wq_status::Ok);
        if submit {
            // The protocol's step 1: a waiter is counted for the delayed
            // key, so the producer calls.
            assert!(matches!(
                p.submit(q, WQ_SUBMIT_ADD, 2, 0),
                Err(Refused::Waiters)
            ));
        }
        q.add(2);
        // SAFETY: a live clock. 1 is due now.
        assert_eq!(
            unsafe { wq_manual_clock_step(clock, 40_000_000) },
            wq_status::Ok
        );
        let order = [q.get(WQ_NO_WAIT), q.get(WQ_NO_WAIT)];
        assert_eq!(p.waiters(), 0, "no key waits for a delay any more");
        drop(rq);
        // SAFETY: a live clock, no queue on it any more.
        unsafe { wq_manual_clock_free(clock) };
        order
    };
    let by_call = order(false);
    assert_eq!(by_call, [Ok(2), Ok(1)]);
    assert_eq!(order(true), by_call);
}

#[test]
fn an_entry_being_written_is_not_applied() {
    let rq = RingQueue::new();
    let (q, p) = (rq.queue(), rq.producer());
    p.add(q, 1);
    // A producer mid-write: the ring is taken at 1, entry 1 written but not
    // published.
    let t = p.try_take().unwrap();
    assert_eq!(t, 1);
    p.write_entry(
        t,
        wq_submission {
            key: 2,
            op: WQ_SUBMIT_ADD,
            priority: 0,
            stamp: 0,
        },
    );
    assert_eq!(p.try_take(), None, "a second producer cannot take the ring");
    assert_eq!(q.len(), 1);
    assert_eq!(p.counts(), (1 | WQ_SUBMISSIONS_BUSY, 1));
    assert_eq!(q.get(WQ_NO_WAIT), Ok(1));
    assert_eq!(q.get(WQ_NO_WAIT), Err(wq_status::Timeout));
    q.flush();
    assert_eq!(q.len(), 0);
    // The queue never writes tail.
    assert_eq!(p.counts(), (1 | WQ_SUBMISSIONS_BUSY, 1));
    // Published: the next call applies it.
    p.tail().store(t + 1, SeqCst);
    assert_eq!(q.len(), 1);
    assert_eq!(p.counts(), (2, 2));
    assert_eq!(q.get(WQ_NO_WAIT), Ok(2));

    // A producer that takes the ring and gives it back unchanged (step 3)
    // publishes nothing.
    let t = p.try_take().unwrap();
    p.write_entry(
        t,
        wq_submission {
            key: 3,
            op: WQ_SUBMIT_ADD,
            priority: 0,
            stamp: 0,
        },
    );
    p.tail().store(t, SeqCst);
    assert_eq!(q.len(), 0);
    assert_eq!(p.counts(), (2, 2));
}

#[test]
fn a_full_ring_is_refused_until_a_call_applies_it() {
    let rq = RingQueue::new();
    let (q, p) = (rq.queue(), rq.producer());
    for key in 0..CAPACITY {
        p.add(q, key);
    }
    assert_eq!(p.counts(), (CAPACITY, 0));
    assert_eq!(p.submit(q, WQ_SUBMIT_ADD, CAPACITY, 0), Err(Refused::Full));
    // Given back: not busy, nothing published.
    assert_eq!(p.counts(), (CAPACITY, 0));
    // The caller makes the call, which applies the ring first: the order
    // of the keys is kept.
    assert!(q.add(CAPACITY));
    assert_eq!(p.counts(), (CAPACITY, CAPACITY));
    // Around the ring several times, with a call every few entries.
    let mut next = CAPACITY + 1;
    for round in 0..3 {
        for _ in 0..(CAPACITY - 2 + round) {
            p.add(q, next);
            next += 1;
        }
        assert_eq!(q.len() as u64, next);
    }
    for key in 0..next {
        assert_eq!(q.get(WQ_NO_WAIT), Ok(key));
    }
    // Dones around the ring too.
    for key in 0..next {
        if p.submit(q, WQ_SUBMIT_DONE, key, 0) == Err(Refused::Full) {
            q.flush();
            p.done(q, key);
        }
    }
    assert_eq!(q.processing_len(), 0);
    let (tail, head) = p.counts();
    assert_eq!(tail, head);
    assert_eq!(p.entry(tail - 1).key, next - 1);
}

/// Gives a call that has just counted itself as a waiter time to look at
/// the ring and fall asleep, before the test takes the ring.
fn let_it_fall_asleep() {
    thread::sleep(Duration::from_millis(20));
}

/// Step 5 for a waiter that is asleep next to the one entry just
/// published: the waiter has not applied it, and the producer's flush
/// finds the waiter. Should the waiter have looked at the ring only after
/// the test took it (a slow thread, or Miri's scheduling), it waits for
/// the entry and applies it itself, which is right too (and then the test
/// does not show that the flush is needed: it says so).
fn flush_unless_applied(p: Producer, q: Handle) {
    thread::sleep(Duration::from_millis(50));
    let flushed = p.counts() == (1, 0) && p.flush_if_waiters(q);
    if !flushed {
        assert_eq!(p.counts(), (1, 1), "published, not applied, no waiter");
        eprintln!("the waiter looked after the ring was taken and applied the entry itself");
    }
}

#[test]
fn a_blocked_getter_is_a_waiter_and_a_flush_wakes_it() {
    let rq = RingQueue::new();
    let (q, p) = (rq.queue(), rq.producer());
    assert_eq!(p.waiters(), 0);
    // Calls that do not block are not waiters.
    assert_eq!(q.get(WQ_NO_WAIT), Err(wq_status::Timeout));
    assert_eq!(p.waiters(), 0);

    let getter = thread::spawn(move || q.get(WQ_WAIT_FOREVER));
    eventually("the getter to count itself", || p.waiters() == 1);
    let_it_fall_asleep();
    // The race the flush is for: a producer that looked at waiters before
    // the getter counted itself publishes afterwards (step 1 skipped here).
    let t = p.try_take().unwrap();
    p.write(
        t,
        wq_submission {
            key: 11,
            op: WQ_SUBMIT_ADD,
            priority: 0,
            stamp: 0,
        },
    )
    .unwrap();
    // Published but not applied: the blocked getter cannot see it, and
    // step 5, where the producer sees the waiter and flushes, wakes it.
    flush_unless_applied(p, q);
    assert_eq!(getter.join().unwrap(), Ok(11));
    assert_eq!(p.waiters(), 0);
    assert_eq!(p.counts(), (1, 1));
    // With no waiter left, submissions are accepted again.
    p.done(q, 11);
    assert_eq!(q.processing_len(), 0);

    // A get with a timeout is a waiter too, and leaves on timeout.
    let getter = thread::spawn(move || q.get(10_000_000_000));
    eventually("the timed getter to count itself", || p.waiters() == 1);
    assert_eq!(p.submit(q, WQ_SUBMIT_ADD, 12, 0), Err(Refused::Waiters));
    q.add(12); // the call instead
    assert_eq!(getter.join().unwrap(), Ok(12));
    assert_eq!(p.waiters(), 0);
    let getter = thread::spawn(move || q.get(1_000_000));
    assert_eq!(getter.join().unwrap(), Err(wq_status::Timeout));
    assert_eq!(p.waiters(), 0);

    // Two getters count twice; a shutdown releases both.
    let getters: Vec<_> = (0..2)
        .map(|_| thread::spawn(move || q.get(WQ_WAIT_FOREVER)))
        .collect();
    eventually("both getters to count themselves", || p.waiters() == 2);
    q.shutdown();
    for getter in getters {
        assert_eq!(getter.join().unwrap(), Err(wq_status::Shutdown));
    }
    assert_eq!(p.waiters(), 0);
}

#[test]
fn a_getter_counted_while_a_producer_holds_the_ring_waits_for_its_entry() {
    let rq = RingQueue::new();
    let (q, p) = (rq.queue(), rq.producer());
    // A producer past step 1 (no waiter then) holds the ring.
    let t = p.try_take().unwrap();
    let getter = thread::spawn(move || q.get(10_000_000_000));
    eventually("the getter to count itself", || p.waiters() == 1);
    thread::sleep(Duration::from_millis(20));
    assert!(!getter.is_finished(), "the getter returned with no key");
    // It publishes with a release store, and its step 5 read of waiters
    // may be satisfied before that store is visible: it sees no waiter
    // and does not flush. The getter, which saw the ring held, must take
    // the entry all the same.
    p.write(
        t,
        wq_submission {
            key: 21,
            op: WQ_SUBMIT_ADD,
            priority: 0,
            stamp: 0,
        },
    )
    .unwrap();
    assert_eq!(getter.join().unwrap(), Ok(21));
    assert_eq!(p.waiters(), 0);
    assert_eq!(p.counts(), (1, 1));

    // The same for a producer that gives the ring back (step 3): the
    // getter goes back to waiting, and a call wakes it.
    let t = p.try_take().unwrap();
    let getter = thread::spawn(move || q.get(10_000_000_000));
    eventually("the getter to count itself", || p.waiters() == 1);
    p.tail().store(t, Release);
    thread::sleep(Duration::from_millis(20));
    assert!(!getter.is_finished(), "the getter returned with no key");
    q.add(22);
    assert_eq!(getter.join().unwrap(), Ok(22));
}

#[test]
fn a_draining_shutdown_is_a_waiter_and_sees_submitted_dones() {
    let rq = RingQueue::new();
    let (q, p) = (rq.queue(), rq.producer());
    q.add(1);
    assert_eq!(q.get(WQ_NO_WAIT), Ok(1));
    let drain = thread::spawn(move || q.shutdown_with_drain(WQ_WAIT_FOREVER));
    eventually("the drain to count itself", || p.waiters() == 1);
    let_it_fall_asleep();
    let t = p.try_take().unwrap();
    p.write(
        t,
        wq_submission {
            key: 1,
            op: WQ_SUBMIT_DONE,
            priority: 0,
            stamp: 0,
        },
    )
    .unwrap();
    flush_unless_applied(p, q);
    assert_eq!(drain.join().unwrap(), wq_status::Ok);
    assert_eq!(p.waiters(), 0);
    assert_eq!(q.processing_len(), 0);
}

#[cfg(all(target_os = "linux", not(miri)))]
#[test]
fn the_fd_is_a_waiter_for_ever() {
    let rq = RingQueue::new();
    let (q, p) = (rq.queue(), rq.producer());
    let (mut fd, mut again) = (-1, -2);
    // SAFETY: a live queue and valid out-pointers.
    unsafe {
        assert_eq!(wq_queue_fd(q.0, &mut fd), wq_status::Ok);
        assert_eq!(p.waiters(), 1);
        assert_eq!(wq_queue_fd(q.0, &mut again), wq_status::Ok);
    }
    assert_eq!(fd, again);
    assert_eq!(p.waiters(), 1, "one fd, one waiter");
    assert_eq!(p.submit(q, WQ_SUBMIT_ADD, 1, 0), Err(Refused::Waiters));
    q.add(1);
    assert_eq!(q.get(WQ_NO_WAIT), Ok(1));
    // A getter adds to it and leaves it.
    let getter = thread::spawn(move || q.get(WQ_WAIT_FOREVER));
    eventually("the getter to count itself", || p.waiters() == 2);
    q.add(2);
    assert_eq!(getter.join().unwrap(), Ok(2));
    assert_eq!(p.waiters(), 1);
    q.done(1);
    q.done(2);
    assert_eq!(p.waiters(), 1);
    // A submission published anyway (a producer that looked before the fd
    // existed) is applied by the flush, and the fd follows it.
    let t = p.try_take().unwrap();
    p.write(
        t,
        wq_submission {
            key: 3,
            op: WQ_SUBMIT_ADD,
            priority: 0,
            stamp: 0,
        },
    )
    .unwrap();
    assert!(p.flush_if_waiters(q));
    let mut poll = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    assert_eq!(unsafe { libc::poll(&mut poll, 1, 5000) }, 1);
    assert_eq!(q.get(WQ_NO_WAIT), Ok(3));
}

#[test]
fn a_misaligned_ring_is_refused() {
    let ring = Ring::new();
    // SAFETY: one byte into the ring's allocation.
    let misaligned = unsafe { ring.0.cast::<u8>().add(1) }.cast::<wq_submissions>();
    let options = queue_options(null(), misaligned);
    let mut queue = null_mut();
    // SAFETY: valid options and out-pointer; the ring is refused unread.
    assert_eq!(
        unsafe { wq_queue_new(&options, &mut queue) },
        wq_status::InvalidArgument
    );
    assert!(queue.is_null());
}

#[test]
fn no_ring_is_the_default() {
    // Named or unnamed with a NULL ring: ordinary queues.
    for name in [c"named".as_ptr(), null()] {
        let options = queue_options(name, null_mut());
        let mut queue = null_mut();
        // SAFETY: valid options and out-pointer.
        assert_eq!(unsafe { wq_queue_new(&options, &mut queue) }, wq_status::Ok);
        let q = Q(queue);
        let h = Handle(q.0);
        h.flush();
        h.add(1);
        assert_eq!(h.get(WQ_NO_WAIT), Ok(1));
        let getter = thread::spawn(move || h.get(WQ_WAIT_FOREVER));
        thread::sleep(Duration::from_millis(5));
        h.add(2);
        assert_eq!(getter.join().unwrap(), Ok(2));
    }
    // SAFETY: NULL is allowed.
    assert_eq!(
        unsafe { wq_queue_flush(null_mut()) },
        wq_status::NullArgument
    );
}

#[test]
fn an_unnamed_queue_ignores_stamps() {
    let rq = RingQueue::new();
    let (q, p) = (rq.queue(), rq.producer());
    assert_eq!((p.stamps(), p.waiters()), (WQ_STAMPS_NONE, 0));
    p.submit_stamped(q, WQ_SUBMIT_ADD, 1, 0, u64::MAX).unwrap();
    assert_eq!(q.get(WQ_NO_WAIT), Ok(1));
}

#[test]
fn a_named_queue_on_a_manual_clock_makes_producers_call() {
    let mut clock = null_mut();
    // SAFETY: a valid out-pointer.
    assert_eq!(unsafe { wq_manual_clock_new(&mut clock) }, wq_status::Ok);
    {
        // Its metrics read the manual clock, not the counter: a submitted
        // call could not say when it was made.
        let rq = RingQueue::named(c"ring-manual".as_ptr(), clock);
        let (q, p) = (rq.queue(), rq.producer());
        assert_eq!((p.stamps(), p.waiters()), (WQ_STAMPS_NONE, 1));
        assert_eq!(p.submit(q, WQ_SUBMIT_ADD, 1, 0), Err(Refused::Waiters));
        q.add(1);
        assert_eq!(q.get(WQ_NO_WAIT), Ok(1));
        assert_eq!(p.waiters(), 1, "for ever");
    }
    // SAFETY: made above; the queue using it is freed.
    unsafe { wq_manual_clock_free(clock) };
}

/// The named ring queue's producer, or None where the CPU has no
/// invariant time-stamp counter (then producers must call).
fn stamped(rq: &RingQueue) -> Option<Producer> {
    let p = rq.producer();
    if p.stamps() == WQ_STAMPS_NONE {
        assert_eq!(
            p.waiters(),
            1,
            "a named queue without stamps takes calls only"
        );
        return None;
    }
    assert_eq!((p.stamps(), p.waiters()), (WQ_STAMPS_TSC, 0));
    Some(p)
}

#[cfg(target_arch = "x86_64")]
fn rdtsc() -> u64 {
    // SAFETY: RDTSC exists on every x86_64 CPU and only reads a counter.
    unsafe { std::arch::x86_64::_rdtsc() }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn a_named_queue_times_submitted_calls_from_their_stamps() {
    let rq = RingQueue::named(c"ring-stamps".as_ptr(), null());
    let Some(p) = stamped(&rq) else {
        return;
    };
    let q = rq.queue();
    // Stamps far in the future (2^40 ticks: minutes at any real counter
    // rate) tell them apart from the times the entries are applied: an add
    // "made" after its get waited no time (durations stop at zero), and a
    // done made 2^41 ticks from now took longer than the last bucket.
    let now = rdtsc();
    p.submit_stamped(q, WQ_SUBMIT_ADD, 1, 0, now + (1 << 40))
        .unwrap();
    assert_eq!(q.get(WQ_NO_WAIT), Ok(1));
    p.submit_stamped(q, WQ_SUBMIT_DONE, 1, 0, now + (1 << 41))
        .unwrap();
    let m = q.metrics();
    assert_eq!((m.adds, m.depth), (1, 0));
    assert_eq!(m.queue_duration.count, 1);
    assert_eq!(m.queue_duration.sum_seconds, 0.0);
    assert_eq!(m.queue_duration.buckets[0], 1);
    assert_eq!(m.work_duration.count, 1);
    assert_eq!(
        m.work_duration.buckets, [0; WQ_METRICS_BUCKETS],
        "only +Inf"
    );
    assert!(m.work_duration.sum_seconds > 10.0);
    assert_eq!(m.unfinished_work_seconds, 0.0, "the done was applied");
}

/// A re-add while processing whose stamp is older than the get (read
/// before a get that was applied first) counts from the get, never from
/// before the processing began.
#[cfg(target_arch = "x86_64")]
#[test]
fn a_stamped_re_add_is_never_timed_from_before_the_get() {
    let rq = RingQueue::named(c"ring-re-add".as_ptr(), null());
    let Some(p) = stamped(&rq) else {
        return;
    };
    let q = rq.queue();
    p.submit_stamped(q, WQ_SUBMIT_ADD, 1, 0, rdtsc()).unwrap();
    assert_eq!(q.get(WQ_NO_WAIT), Ok(1));
    // Counter value 0: the machine's boot, far beyond the last bucket.
    p.submit_stamped(q, WQ_SUBMIT_ADD, 1, 0, 0).unwrap();
    p.submit_stamped(q, WQ_SUBMIT_DONE, 1, 0, rdtsc()).unwrap();
    assert_eq!(q.get(WQ_NO_WAIT), Ok(1), "requeued at done");
    let m = q.metrics();
    assert_eq!(m.queue_duration.count, 2);
    assert_eq!(
        m.queue_duration.buckets.iter().sum::<u64>(),
        2,
        "both waits within 10 s"
    );
}

#[cfg(target_arch = "x86_64")]
#[test]
fn a_scrape_applies_a_named_queues_ring_first() {
    let rq = RingQueue::named(c"ring-scrape".as_ptr(), null());
    let Some(p) = stamped(&rq) else {
        return;
    };
    let q = rq.queue();
    p.submit_stamped(q, WQ_SUBMIT_ADD, 7, 0, rdtsc()).unwrap();
    assert_eq!(p.counts(), (1, 0), "published, not applied");
    let text = prometheus_text();
    assert!(text.contains("workqueue_adds_total{name=\"ring-scrape\"} 1\n"));
    assert!(text.contains("workqueue_depth{name=\"ring-scrape\"} 1\n"));
    assert_eq!(p.counts(), (1, 1));
}

/// Scrapes race the freeing of named ring queues: a scrape that runs
/// after `wq_queue_free` returned must not read the ring's memory, which
/// its owner frees (and poisons) at once. (Under Miri a read of freed
/// memory fails; here a scrape that read poison would spin.)
#[test]
fn a_scrape_never_reads_the_ring_of_a_freed_queue() {
    let (rounds, min_scrapes) = if cfg!(miri) { (1, 1) } else { (30, 20) };
    const QUEUES_AT_ONCE: u64 = if cfg!(miri) { 3 } else { 64 };
    let stop = Arc::new(AtomicBool::new(false));
    let scrapes = Arc::new(AtomicUsize::new(0));
    let scraper = {
        let (stop, scrapes) = (Arc::clone(&stop), Arc::clone(&scrapes));
        thread::spawn(move || {
            while !stop.load(SeqCst) {
                prometheus_text();
                scrapes.fetch_add(1, SeqCst);
            }
        })
    };
    // Many queues at a time, so that scrapes are often reading some of
    // them as they are freed.
    let mut round = 0;
    while round < rounds || scrapes.load(SeqCst) < min_scrapes {
        let queues: Vec<RingQueue> = (0..QUEUES_AT_ONCE)
            .map(|key| {
                let rq = RingQueue::named(c"ring-freed".as_ptr(), null());
                let (q, p) = (rq.queue(), rq.producer());
                if p.waiters() == 0 {
                    p.submit(q, WQ_SUBMIT_ADD, key, 0).unwrap();
                }
                rq
            })
            .collect();
        for RingQueue { q: handle, ring } in queues {
            drop(handle);
            // SAFETY: the queue is freed; poison the memory before it goes.
            unsafe {
                ring.0
                    .cast::<u8>()
                    .write_bytes(0xa5, std::mem::size_of::<wq_submissions>())
            };
            drop(ring);
        }
        round += 1;
    }
    stop.store(true, SeqCst);
    // A scrape that read a poisoned ring would apply entries for ever.
    let (done, finished) = std::sync::mpsc::channel();
    thread::spawn(move || done.send(scraper.join()));
    let joined = finished.recv_timeout(Duration::from_secs(10));
    assert!(joined.expect("a scrape hung on a freed ring").is_ok());
}

/// The process's Prometheus text (`wq_metrics_prometheus`).
fn prometheus_text() -> String {
    let mut len = 0;
    // SAFETY: asking for the length only.
    let status = unsafe { wq_metrics_prometheus(null_mut(), 0, &mut len) };
    assert!(matches!(status, wq_status::Ok | wq_status::BufferTooSmall));
    let mut buffer = vec![0u8; len + 4096];
    let mut written = 0;
    // SAFETY: a buffer of that many bytes and a valid out-pointer.
    let status =
        unsafe { wq_metrics_prometheus(buffer.as_mut_ptr().cast(), buffer.len(), &mut written) };
    assert_eq!(status, wq_status::Ok);
    buffer.truncate(written);
    String::from_utf8(buffer).unwrap()
}

/// Adds each producer makes in the stress test (200 000 in all: about 0.1 s
/// in release, a little more in debug).
const STRESS_KEYS: u64 = if cfg!(miri) { 300 } else { 100_000 };
/// Distinct keys: producers add each several times, from both threads, so
/// adds collapse and land on keys being processed.
const DISTINCT: usize = if cfg!(miri) { 16 } else { 1024 };

#[derive(Default)]
struct Counts {
    submitted: AtomicUsize,
    called: AtomicUsize,
    flushed: AtomicUsize,
    busy: AtomicUsize,
    full: AtomicUsize,
    waiters: AtomicUsize,
}

impl Counts {
    fn count(&self, result: Result<bool, Refused>) -> bool {
        let counter = match result {
            Ok(false) => &self.submitted,
            Ok(true) => {
                self.submitted.fetch_add(1, SeqCst);
                &self.flushed
            }
            Err(Refused::Busy) => &self.busy,
            Err(Refused::Full) => &self.full,
            Err(Refused::Waiters) => &self.waiters,
        };
        counter.fetch_add(1, SeqCst);
        if result.is_err() {
            self.called.fetch_add(1, SeqCst);
        }
        result.is_ok()
    }
}

struct Stress {
    /// A clock for ordering adds and hand-outs.
    clock: AtomicU64,
    /// Per key: the clock just before its last add was made.
    last_add: Vec<AtomicU64>,
    /// Per key: the clock just after it was last handed out.
    last_get: Vec<AtomicU64>,
    in_flight: Vec<AtomicBool>,
    handed_out: AtomicUsize,
    counts: Counts,
}

/// Consumers that get without waiting while there are keys: most adds and
/// dones are submitted, by four threads taking turns at the ring.
#[test]
fn producers_and_busy_consumers_share_a_ring() {
    stress(true);
}

/// Consumers that always wait in their gets: producers mostly see waiters
/// and call, and the ones that published first flush.
#[test]
fn producers_and_waiting_consumers_share_a_ring() {
    stress(false);
}

/// Two producers add keys, two consumers get them and finish them, through
/// the ring when the protocol allows and by calls otherwise.
fn stress(look_first: bool) {
    let rq = RingQueue::new();
    let (q, p) = (rq.queue(), rq.producer());
    let s = Arc::new(Stress {
        clock: AtomicU64::new(1),
        last_add: (0..DISTINCT).map(|_| AtomicU64::new(0)).collect(),
        last_get: (0..DISTINCT).map(|_| AtomicU64::new(0)).collect(),
        in_flight: (0..DISTINCT).map(|_| AtomicBool::new(false)).collect(),
        handed_out: AtomicUsize::new(0),
        counts: Counts::default(),
    });
    let start = Instant::now();
    let producers: Vec<_> = (0..2u64)
        .map(|id| {
            let s = s.clone();
            thread::spawn(move || {
                for i in 0..STRESS_KEYS {
                    // Both producers walk all keys, at different strides.
                    let key = (i * (2 * id + 1) + id) % DISTINCT as u64;
                    let now = s.clock.fetch_add(1, SeqCst);
                    s.last_add[key as usize].fetch_max(now, SeqCst);
                    if !s.counts.count(p.submit(q, WQ_SUBMIT_ADD, key, 0)) {
                        q.add(key);
                    }
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let s = s.clone();
            thread::spawn(move || loop {
                // Looking without waiting first is not being a waiter, so
                // adds and dones are submitted while keys are there; a get
                // that waits is woken by the producers' calls or flushes.
                let got = match look_first {
                    true => q.get(WQ_NO_WAIT).or_else(|_| q.get(50_000_000)),
                    false => q.get(50_000_000),
                };
                let key = match got {
                    Ok(key) => key,
                    Err(wq_status::Timeout) => continue,
                    Err(wq_status::Shutdown) => return,
                    Err(status) => panic!("get: {status:?}"),
                };
                let now = s.clock.fetch_add(1, SeqCst);
                let k = key as usize;
                assert!(
                    !s.in_flight[k].swap(true, SeqCst),
                    "key {key} handed to two consumers at once"
                );
                s.last_get[k].fetch_max(now, SeqCst);
                s.handed_out.fetch_add(1, SeqCst);
                s.in_flight[k].store(false, SeqCst);
                if !s.counts.count(p.submit(q, WQ_SUBMIT_DONE, key, 0)) {
                    assert!(q.done(key));
                }
            })
        })
        .collect();
    for producer in producers {
        producer.join().unwrap();
    }
    // Every add is made; drain: every key queued or in flight is handed
    // out and done, then the consumers see the shutdown.
    // (Bounded, so a consumer that panicked with a key fails the test
    // instead of hanging it: a plain shutdown then releases the others.)
    let drained = q.shutdown_with_drain(60_000_000_000);
    if drained != wq_status::Ok {
        q.shutdown();
    }
    for consumer in consumers {
        consumer.join().unwrap();
    }
    assert_eq!(drained, wq_status::Ok);
    let elapsed = start.elapsed();
    for key in 0..DISTINCT {
        let (added, got) = (s.last_add[key].load(SeqCst), s.last_get[key].load(SeqCst));
        assert!(added > 0, "key {key} never added");
        assert!(
            got > added,
            "key {key} was not handed out after its last add ({got} <= {added})"
        );
    }
    assert_eq!((q.len(), q.processing_len()), (0, 0));
    let (tail, head) = p.counts();
    assert_eq!(tail, head, "every published entry applied");
    assert_eq!(p.waiters(), 0);
    let c = &s.counts;
    let total = 2 * STRESS_KEYS as usize + s.handed_out.load(SeqCst);
    assert_eq!(
        c.submitted.load(SeqCst) + c.called.load(SeqCst),
        total,
        "every add and done either submitted or called"
    );
    assert_eq!(tail as usize, c.submitted.load(SeqCst));
    assert!(c.submitted.load(SeqCst) > 0, "the ring was never used");
    eprintln!(
        "look_first={look_first}: {} adds, {} hand-outs in {elapsed:?}: {} submitted ({} then flushed), {} called \
         ({} waiters, {} busy, {} full)",
        2 * STRESS_KEYS,
        s.handed_out.load(SeqCst),
        c.submitted.load(SeqCst),
        c.flushed.load(SeqCst),
        c.called.load(SeqCst),
        c.waiters.load(SeqCst),
        c.busy.load(SeqCst),
        c.full.load(SeqCst),
    );
}

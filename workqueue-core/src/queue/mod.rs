//! The work queue: client-go's `TypedRateLimitingInterface` in one type.
//!
//! # Guarantees
//! - A key is never handed to two callers at once: a key added while it is
//!   being processed is handed out again only after [`Queue::done`].
//! - Adds collapse: a key waiting to be handed out is queued once however
//!   often it is added, and keeps its place.
//! - Nothing is lost: every key added is handed out at least once after its
//!   last add, unless the queue is shut down without drain first.
//!
//! # Delays without a thread
//! Keys from [`Queue::add_after`] wait in a heap inside the queue. No
//! hidden thread moves them: every call that looks at the ready keys first
//! moves the ones that are due, and one blocked getter (the leader) sleeps
//! until the earliest ready time while the others sleep untimed — the
//! leader/follower pattern of Java's `DelayQueue`. Callers never block on a
//! full buffer (client-go's `AddAfter` can, behind a 1000-slot channel).
//!
//! # Shutdown
//! [`Queue::shutdown`] stops accepting keys and wakes every getter; keys
//! already queued are still handed out, and getters see
//! [`GetError::ShutDown`] once none is left. Keys still waiting for a delay
//! are dropped by both kinds of shutdown: they have not been added yet.
//!
//! [`Queue::shutdown_with_drain`] also waits until every key that was
//! queued or being processed has been handed out and marked done. client-go
//! waits only for the keys being processed, so keys still queued can be
//! abandoned (kubernetes#141079). While a drain waits, a getter that finds
//! nothing ready keeps waiting if a key being processed was added again and
//! will come back at `done`, instead of reporting shutdown and leaving that
//! key with no worker.

mod builder;
mod delayed;
mod phases;
mod ready;
mod replay;
mod state;

pub use builder::QueueBuilder;
pub use replay::Replayed;
use replay::ScrapeHook;

use crate::clock::{Clock, ClockListener, Timestamp};
use crate::metrics::{self, MetricsSnapshot, MetricsSource, Report};
use crate::parking::{Claimed, Parking, Sleepers, Wait};
use crate::rate_limit::RateLimiter;
use crate::readiness::{Observer, ReadinessObserver};
use crate::spin_lock::{SpinGuard, SpinLock};
use crate::sync::{Arc, AtomicBool, Ordering};
use delayed::Inserted;
use state::{Added, Finished, QueueState};
use std::fmt;
use std::hash::Hash;
use std::sync::OnceLock;
use std::time::Duration;

/// How many keys a batch call handles per hold of the state lock.
pub const LOCK_HOLD_KEYS: usize = 1024;

/// The key types a queue accepts.
pub trait Key: Hash + Eq + Clone + Send + 'static {}
impl<T: Hash + Eq + Clone + Send + 'static> Key for T {}

/// Why a get returned no key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetError {
    /// Nothing became ready before the timeout (or at once, for `try_get`).
    Empty,
    /// The queue is shut down and nothing is left to hand out.
    ShutDown,
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GetError::Empty => "no key became ready in time",
            GetError::ShutDown => "the queue is shut down and empty",
        })
    }
}

impl std::error::Error for GetError {}

/// A work queue of keys. Cloning gives another handle to the same queue.
pub struct Queue<K: Key> {
    shared: Arc<Shared<K>>,
}

impl<K: Key> Clone for Queue<K> {
    fn clone(&self) -> Self {
        Queue {
            shared: Arc::clone(&self.shared),
        }
    }
}

struct Shared<K: Key> {
    state: SpinLock<Locked<K>>,
    /// Getters sleep here.
    getters: Parking,
    /// `shutdown_with_drain` sleeps here.
    drain: Parking,
    clock: Clock,
    limiter: Box<dyn RateLimiter<K>>,
    name: Option<String>,
    /// Mirrors `shutting_down` for checks that need no lock.
    closed: AtomicBool,
    /// Run before each scrape of a named queue's metrics (see
    /// [`Queue::before_scrape`]).
    before_scrape: OnceLock<ScrapeHook<K>>,
}

/// The state plus who is asleep (see `Parking` for the protocol).
struct Locked<K> {
    queue: QueueState<K>,
    getters: Sleepers,
    /// `shutdown_with_drain` callers; none of them leads.
    drainers: Sleepers,
    observer: Option<Observer>,
}

impl<K> Locked<K> {
    /// Claims a wakeup for one sleeping getter that no wakeup is on its way to.
    fn claim_wakeup(&mut self) -> Claimed {
        self.getters.claim(1)
    }

    /// Claims a wakeup for every sleeping getter.
    fn claim_all_wakeups(&mut self) -> Wakeup {
        self.getters.claim_all().map_or(Wakeup::Nobody, Wakeup::All)
    }
}

/// Which sleeping getters to wake once the lock is released.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wakeup {
    Nobody,
    One(Claimed),
    /// Everyone parked before this generation.
    All(u64),
}

impl<K: Key> Locked<K> {
    /// After a get or done: sleepers must all learn that the queue is
    /// exhausted; otherwise one is woken if it would find something to do
    /// (more ready keys, or delayed keys with no leader timed for them).
    fn wakeup_after_change(&mut self) -> Wakeup {
        if self.getters.idle() == 0 {
            return Wakeup::Nobody;
        }
        if self.queue.exhausted() {
            return self.claim_all_wakeups();
        } else if self.queue.ready_len() > 0
            || (!self.getters.has_leader() && !self.queue.delayed.is_empty())
        {
            let claimed = self.claim_wakeup();
            if claimed.count() > 0 {
                return Wakeup::One(claimed);
            }
        }
        Wakeup::Nobody
    }
}

impl<K: Key> Default for Queue<K> {
    fn default() -> Self {
        Queue::new()
    }
}

impl<K: Key> Queue<K> {
    /// An unnamed queue on the real clock with the default controller rate
    /// limiter.
    pub fn new() -> Self {
        QueueBuilder::new().build()
    }

    /// Configures a queue: name, clock, rate limiter.
    pub fn builder() -> QueueBuilder<K> {
        QueueBuilder::new()
    }

    fn from_parts(
        name: Option<String>,
        clock: Clock,
        limiter: Box<dyn RateLimiter<K>>,
        aging: Option<Duration>,
    ) -> Self {
        let metrics_clock = name.as_ref().map(|_| clock.clone());
        let shared = Arc::new(Shared {
            state: SpinLock::new(Locked {
                queue: QueueState::new(
                    aging.map(|interval| (interval, clock.clone())),
                    metrics_clock,
                ),
                getters: Sleepers::default(),
                drainers: Sleepers::default(),
                observer: None,
            }),
            getters: Parking::new(),
            drain: Parking::new(),
            clock,
            limiter,
            name,
            closed: AtomicBool::new(false),
            before_scrape: OnceLock::new(),
        });
        let listener: Arc<dyn ClockListener> = shared.clone();
        shared.clock.subscribe(Arc::downgrade(&listener));
        if shared.name.is_some() {
            let source: Arc<dyn MetricsSource> = shared.clone();
            metrics::register(Arc::downgrade(&source));
        }
        Queue { shared }
    }

    /// The name given at construction, if any.
    pub fn name(&self) -> Option<&str> {
        self.shared.name.as_deref()
    }

    /// The clock every timing rule of this queue reads.
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// The rate limiter behind `add_rate_limited`.
    pub fn rate_limiter(&self) -> &dyn RateLimiter<K> {
        &*self.shared.limiter
    }

    /// Installs `observer` (replacing any earlier one) and reports the
    /// current readiness to it at once. See [`ReadinessObserver`].
    pub fn observe_readiness(&self, observer: Arc<dyn ReadinessObserver>) {
        let mut st = self.shared.state.lock();
        st.observer = Some(Observer::new(observer));
        self.promote_due(&mut st);
        self.shared.report_readiness(&mut st);
    }

    /// Removes the readiness observer, if any.
    pub fn stop_observing_readiness(&self) {
        self.shared.state.lock().observer = None;
    }

    /// Marks `key` as needing processing. Returns true when this scheduled
    /// a new run of the key: it was neither waiting to be handed out nor
    /// already added again while being processed. Returns false when the
    /// add collapsed into a pending run, or the queue is shutting down.
    pub fn add(&self, key: K) -> bool {
        self.add_with_priority(key, 0)
    }

    /// [`Queue::add`] at `priority`: higher priorities are handed out
    /// first, FIFO within a priority. A key already queued keeps the higher
    /// of its priority and `priority`; raising it moves it to the tail of
    /// its new level. A key being processed comes back at `done` with the
    /// highest priority it was added with meanwhile. Plain `add` is
    /// priority 0.
    pub fn add_with_priority(&self, key: K, priority: i32) -> bool {
        let mut st = self.shared.state.lock();
        self.promote_due(&mut st);
        let added = st.queue.add(key, priority);
        self.after_add(st, added)
    }

    /// Adds every key under one lock. Returns how many scheduled a new run.
    ///
    /// The lock is released every [`LOCK_HOLD_KEYS`] keys so a huge batch
    /// does not stall other threads; getters may take the first keys before
    /// the last are added.
    pub fn add_batch<I: IntoIterator<Item = K>>(&self, keys: I) -> usize {
        self.add_batch_with_priority(keys, 0)
    }

    /// [`Queue::add_batch`] at `priority`: the same as
    /// [`Queue::add_with_priority`] for each key in order, under one lock
    /// per [`LOCK_HOLD_KEYS`] keys.
    pub fn add_batch_with_priority<I: IntoIterator<Item = K>>(
        &self,
        keys: I,
        priority: i32,
    ) -> usize {
        let mut keys = keys.into_iter().peekable();
        let mut scheduled = 0;
        while keys.peek().is_some() {
            let mut st = self.shared.state.lock();
            self.promote_due(&mut st);
            let mut wakeups = Claimed::default();
            for key in keys.by_ref().take(LOCK_HOLD_KEYS) {
                match st.queue.add(key, priority) {
                    Added::Queued => {
                        scheduled += 1;
                        wakeups.merge(st.claim_wakeup());
                    }
                    Added::MarkedDirty => scheduled += 1,
                    Added::Collapsed | Added::Rejected => {}
                }
            }
            self.shared.report_readiness(&mut st);
            drop(st);
            self.shared.getters.unpark(wakeups);
        }
        scheduled
    }

    fn after_add(&self, mut st: SpinGuard<'_, Locked<K>>, added: Added) -> bool {
        match added {
            Added::Queued => {
                self.shared.report_readiness(&mut st);
                let wake = st.claim_wakeup();
                drop(st);
                self.shared.getters.unpark(wake);
                true
            }
            Added::MarkedDirty => true,
            Added::Collapsed | Added::Rejected => false,
        }
    }

    /// Adds `key` once `delay` has passed on the queue's clock; a zero delay
    /// adds at once. If the key already waits for an earlier or equal time,
    /// nothing changes: a later delay never postpones an earlier one.
    /// Returns true when the call added the key or set its ready time.
    pub fn add_after(&self, key: K, delay: Duration) -> bool {
        self.add_after_with_priority(key, delay, 0)
    }

    /// [`Queue::add_after`] at `priority`. A key already waiting keeps the
    /// earlier ready time and the higher priority.
    pub fn add_after_with_priority(&self, key: K, delay: Duration, priority: i32) -> bool {
        self.try_add_after_with_priority(key, delay, priority)
            .unwrap_or(false)
    }

    /// [`Queue::add_after_with_priority`] that tells a refusal from an add
    /// that changed nothing: `None` when the queue is shutting down and
    /// refused `key`, else whether the call added the key or set its ready
    /// time. For bindings that keep their own rate limiter and must know,
    /// without a race against a shutdown, whether a retry was accepted.
    pub fn try_add_after_with_priority(
        &self,
        key: K,
        delay: Duration,
        priority: i32,
    ) -> Option<bool> {
        self.schedule(key, delay, priority, self.shared.clock.now())
    }

    /// Makes `key` ready `delay` after `now` (a time already read): `None`
    /// when the queue is shutting down and refused it, else whether it
    /// added the key or set its ready time.
    fn schedule(&self, key: K, delay: Duration, priority: i32, now: Timestamp) -> Option<bool> {
        let mut st = self.shared.state.lock();
        if st.queue.shutting_down {
            return None;
        }
        st.queue.retried();
        st.queue.promote_due(now);
        if delay.is_zero() {
            let added = st.queue.add(key, priority);
            return Some(self.after_add(st, added));
        }
        match st.queue.delayed.insert(key, now + delay, priority) {
            Inserted::Unchanged => return Some(false),
            Inserted::Later => {
                self.shared.report_readiness(&mut st);
                return Some(true);
            }
            Inserted::Earliest => {}
        }
        // A new earliest entry: whoever sleeps timed for the old one must
        // re-time, so hand leadership to a freshly woken getter.
        st.getters.depose_leader();
        self.shared.report_readiness(&mut st);
        let wake = st.claim_wakeup();
        drop(st);
        self.shared.getters.unpark(wake);
        Some(true)
    }

    /// Adds `key` after the delay its rate limiter gives now, and returns
    /// that delay; `None` when the queue is shutting down and refused the
    /// key (the limiter is not consulted then, unless the shutdown came
    /// while it was being consulted).
    pub fn add_rate_limited(&self, key: K) -> Option<Duration> {
        self.add_rate_limited_with_priority(key, 0)
    }

    /// [`Queue::add_rate_limited`] at `priority`.
    pub fn add_rate_limited_with_priority(&self, key: K, priority: i32) -> Option<Duration> {
        // A flag read, not the lock: the limiter must not count a failure
        // for a key the queue would refuse.
        if self.shared.closed.load(Ordering::Acquire) {
            return None;
        }
        let now = self.shared.clock.now();
        let delay = self.shared.limiter.when(&key, now);
        // The flag was read without the lock: a shutdown may have come
        // since, and only the lock says whether the key was taken.
        self.schedule(key, delay, priority, now).map(|_| delay)
    }

    /// Tells the rate limiter to stop tracking `key` (after a success).
    pub fn forget(&self, key: &K) {
        self.shared.limiter.forget(key);
    }

    /// How many times `key` has been rate-limited since it was last forgotten.
    pub fn num_requeues(&self, key: &K) -> u32 {
        self.shared.limiter.num_requeues(key)
    }

    /// Keys ready to be handed out: not those being processed, not those
    /// waiting for a delay (but delayed keys that are due count).
    pub fn len(&self) -> usize {
        let mut st = self.shared.state.lock();
        self.promote_due(&mut st);
        self.shared.report_readiness(&mut st);
        st.queue.ready_len()
    }

    /// Whether no key is ready to be handed out.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue may still hand out `key` (it is ready, being
    /// processed or waiting for a delay) or its rate limiter remembers
    /// failures of it. A binding that maps keys to ids may drop an id once
    /// this is false and it serialises its own adds of that key.
    pub fn holds(&self, key: &K) -> bool {
        let mut st = self.shared.state.lock();
        self.promote_due(&mut st);
        let queued = st.queue.contains(key);
        drop(st);
        queued || self.shared.limiter.num_requeues(key) > 0
    }

    /// [`Queue::holds`] for each of `keys`, in order, under one lock:
    /// `each` receives the answers.
    pub fn holds_each<'k>(&self, keys: impl IntoIterator<Item = &'k K>, mut each: impl FnMut(bool))
    where
        K: 'k,
    {
        let mut st = self.shared.state.lock();
        self.promote_due(&mut st);
        for key in keys {
            // The limiter never takes the queue's lock: no lock order to
            // break by asking it under ours.
            each(st.queue.contains(key) || self.shared.limiter.num_requeues(key) > 0);
        }
    }

    /// The metrics of a named queue (see [`crate::metrics`]); `None` for an
    /// unnamed one, which keeps none.
    pub fn metrics(&self) -> Option<MetricsSnapshot> {
        self.shared.state.lock().queue.metrics_snapshot()
    }

    /// Ready keys per priority, highest priority first (one entry per
    /// priority in use).
    pub fn len_by_priority(&self) -> Vec<(i32, usize)> {
        let mut st = self.shared.state.lock();
        self.promote_due(&mut st);
        st.queue.ready_len_by_priority()
    }

    /// Keys handed out and not yet done.
    pub fn processing_len(&self) -> usize {
        self.shared.state.lock().queue.processing_len()
    }

    /// Keys waiting for a delay that has not yet passed.
    pub fn delayed_len(&self) -> usize {
        let mut st = self.shared.state.lock();
        self.promote_due(&mut st);
        st.queue.delayed.len()
    }

    /// Blocks until a key is ready and hands it out; `None` once the queue
    /// is shut down and nothing is left. Call [`Queue::done`] after
    /// processing the key.
    pub fn get(&self) -> Option<K> {
        self.next_key(Wait::Forever).ok()
    }

    /// Like [`Queue::get`], waiting at most `timeout` (real time).
    pub fn get_timeout(&self, timeout: Duration) -> Result<K, GetError> {
        self.next_key(Wait::from_timeout(Some(timeout)))
    }

    /// Hands out a ready key without waiting.
    pub fn try_get(&self) -> Result<K, GetError> {
        self.next_key(Wait::Never)
    }

    /// Like [`Queue::get_timeout`] (`None`: wait forever, zero: do not
    /// wait), also returning the priority the key was queued with.
    pub fn get_with_priority(&self, timeout: Option<Duration>) -> Result<(K, i32), GetError> {
        let (item, st) = self.next_key_locked(Wait::from_timeout(timeout))?;
        self.leave_get(st);
        Ok(item)
    }

    /// Waits up to `timeout` (`None`: forever) for a key, then hands out up
    /// to `max` ready keys at once, in the order `get` would.
    pub fn get_batch(&self, max: usize, timeout: Option<Duration>) -> Result<Vec<K>, GetError> {
        let mut keys = Vec::new();
        self.get_batch_into(&mut keys, max, timeout)?;
        Ok(keys)
    }

    /// [`Queue::get_batch`] into a caller's collection; returns how many
    /// keys were appended. `max == 0` returns `Ok(0)` at once.
    pub fn get_batch_into<E: Extend<K>>(
        &self,
        out: &mut E,
        max: usize,
        timeout: Option<Duration>,
    ) -> Result<usize, GetError> {
        if max == 0 {
            return Ok(0);
        }
        let ((key, _), mut st) = self.next_key_locked(Wait::from_timeout(timeout))?;
        out.extend(Some(key));
        let mut taken = 1;
        while taken < max {
            match st.queue.pop() {
                Some((key, _)) => {
                    out.extend(Some(key));
                    taken += 1;
                }
                None => break,
            }
        }
        self.leave_get(st);
        Ok(taken)
    }

    fn next_key(&self, wait: Wait) -> Result<K, GetError> {
        let ((key, _), st) = self.next_key_locked(wait)?;
        self.leave_get(st);
        Ok(key)
    }

    /// Waits for a key as `wait` allows; on success returns it and its
    /// priority with the lock still held so a batch can take more.
    #[allow(clippy::type_complexity)]
    fn next_key_locked(
        &self,
        wait: Wait,
    ) -> Result<((K, i32), SpinGuard<'_, Locked<K>>), GetError> {
        let mut st = self.shared.state.lock();
        loop {
            self.promote_due(&mut st);
            if let Some(item) = st.queue.pop() {
                return Ok((item, st));
            }
            if st.queue.exhausted() {
                self.shared.report_readiness(&mut st);
                return Err(GetError::ShutDown);
            }
            st = match self.sleep(st, wait) {
                Ok(st) => st,
                Err(st) => {
                    self.leave_get(st);
                    return Err(GetError::Empty);
                }
            };
        }
    }

    /// Unlocks after a get, first passing a wakeup on if a sleeping getter
    /// has something to do (more ready keys, or delayed keys with no leader).
    fn leave_get(&self, mut st: SpinGuard<'_, Locked<K>>) {
        self.shared.report_readiness(&mut st);
        let wakeup = st.wakeup_after_change();
        drop(st);
        self.shared.wake_getters(wakeup);
    }

    /// Sleeps once. Returns the guard in `Err` when the wait was already over.
    fn sleep<'a>(
        &'a self,
        mut st: SpinGuard<'a, Locked<K>>,
        how_long: Wait,
    ) -> Result<SpinGuard<'a, Locked<K>>, SpinGuard<'a, Locked<K>>> {
        let next_ready = st.queue.delayed.next_ready();
        let Some(nap) = st
            .getters
            .lie_down(how_long, next_ready, &self.shared.clock)
        else {
            return Err(st);
        };
        drop(st);
        self.shared.getters.park(nap.generation, nap.deadline);
        let mut st = self.shared.state.lock();
        st.getters.get_up(&nap);
        Ok(st)
    }

    fn promote_due(&self, st: &mut Locked<K>) {
        if !st.queue.delayed.is_empty() {
            st.queue.promote_due(self.shared.clock.now());
        }
    }

    /// Marks the processing of `key` finished. If it was added meanwhile it
    /// goes to the tail of the queue. Returns false (and changes nothing)
    /// when `key` was not being processed.
    pub fn done(&self, key: &K) -> bool {
        let mut st = self.shared.state.lock();
        self.promote_due(&mut st);
        let finished = st.queue.done(key);
        let requeued = usize::from(finished == Finished::Requeued);
        let processed = finished != Finished::NotProcessing;
        self.leave_done(st, usize::from(processed), requeued);
        processed
    }

    /// [`Queue::done`] for every key, under one lock per
    /// [`LOCK_HOLD_KEYS`] keys. Returns how many were being processed.
    pub fn done_batch<'k, I>(&self, keys: I) -> usize
    where
        I: IntoIterator<Item = &'k K>,
        K: 'k,
    {
        let mut keys = keys.into_iter().peekable();
        let mut total = 0;
        while keys.peek().is_some() {
            let mut st = self.shared.state.lock();
            self.promote_due(&mut st);
            let (mut finished, mut requeued) = (0, 0);
            for key in keys.by_ref().take(LOCK_HOLD_KEYS) {
                match st.queue.done(key) {
                    Finished::Requeued => {
                        finished += 1;
                        requeued += 1;
                    }
                    Finished::Removed => finished += 1,
                    Finished::NotProcessing => {}
                }
            }
            self.leave_done(st, finished, requeued);
            total += finished;
        }
        total
    }

    /// Unlocks after `finished` keys were done (`requeued` of them queued
    /// again): one getter woken per requeued key while sleepers are left,
    /// or all of them once the queue is exhausted, and the drain waiters
    /// once it has drained.
    fn leave_done(&self, mut st: SpinGuard<'_, Locked<K>>, finished: usize, requeued: usize) {
        let mut ones = Claimed::default();
        let mut all = Wakeup::Nobody;
        if finished > 0 {
            self.shared.report_readiness(&mut st);
            for _ in 0..requeued.max(1) {
                match st.wakeup_after_change() {
                    Wakeup::One(claimed) => ones.merge(claimed),
                    other => {
                        all = other;
                        break;
                    }
                }
            }
        }
        let wake_drain = if st.queue.drained() {
            st.drainers.claim_all()
        } else {
            None
        };
        drop(st);
        self.shared.getters.unpark(ones);
        self.shared.wake_getters(all);
        if let Some(generation) = wake_drain {
            self.shared.drain.unpark_all(generation);
        }
    }

    /// Stops accepting keys and wakes every blocked getter; queued keys are
    /// still handed out. Releases a waiting `shutdown_with_drain`. Repeating
    /// it is harmless.
    pub fn shutdown(&self) {
        self.shut_down(false);
    }

    /// Shuts down, then waits until every key that was queued or being
    /// processed has been processed and marked done. Returns true when the
    /// queue drained, false when a plain `shutdown` released the wait.
    pub fn shutdown_with_drain(&self) -> bool {
        self.shut_down(true);
        self.await_drain(Wait::Forever)
    }

    /// [`Queue::shutdown_with_drain`], waiting at most `timeout`. Returns
    /// whether the queue drained; the queue stays shut down either way and
    /// the drain goes on, so a later call can wait again.
    pub fn shutdown_with_drain_timeout(&self, timeout: Duration) -> bool {
        self.shut_down(true);
        self.await_drain(Wait::from_timeout(Some(timeout)))
    }

    /// Waits, without shutting anything down, for a drain already started
    /// by `shutdown_with_drain*`: at most `timeout` (`None`: forever).
    /// Returns whether the queue has drained; false also when no drain is
    /// waiting (check [`Queue::draining`]) — a plain `shutdown` releases
    /// it. For bindings that wait in short slices between signal checks.
    pub fn wait_drained(&self, timeout: Option<Duration>) -> bool {
        self.await_drain(Wait::from_timeout(timeout))
    }

    /// Whether a drain is in progress: `shutdown_with_drain*` was called,
    /// the queue has not drained yet, and no plain `shutdown` released it.
    pub fn draining(&self) -> bool {
        let st = self.shared.state.lock();
        st.queue.draining && !st.queue.drained()
    }

    /// Whether `shutdown` or `shutdown_with_drain` has been called.
    pub fn shutting_down(&self) -> bool {
        self.shared.state.lock().queue.shutting_down
    }

    fn shut_down(&self, drain: bool) {
        let mut st = self.shared.state.lock();
        // Keys that came due before the shutdown were added before it.
        self.promote_due(&mut st);
        st.queue.shut_down(drain);
        self.shared.closed.store(true, Ordering::Release);
        self.shared.report_readiness(&mut st);
        let wake_getters = st.claim_all_wakeups();
        let wake_drain = if drain { None } else { st.drainers.claim_all() };
        drop(st);
        self.shared.wake_getters(wake_getters);
        if let Some(generation) = wake_drain {
            self.shared.drain.unpark_all(generation);
        }
    }

    fn await_drain(&self, how_long: Wait) -> bool {
        let mut st = self.shared.state.lock();
        loop {
            if st.queue.drained() {
                return true;
            }
            if !st.queue.draining {
                return false;
            }
            let Some(nap) = st.drainers.lie_down(how_long, None, &self.shared.clock) else {
                return false;
            };
            drop(st);
            self.shared.drain.park(nap.generation, nap.deadline);
            st = self.shared.state.lock();
            st.drainers.get_up(&nap);
        }
    }
}

impl<K: Key> Shared<K> {
    /// Tells the readiness observer, if any, about the state under `st`.
    fn report_readiness(&self, st: &mut Locked<K>) {
        if let Some(observer) = st.observer.as_mut() {
            let ready = st.queue.ready_len() > 0 || st.queue.exhausted();
            let earliest = st.queue.delayed.next_ready();
            observer.update(ready, earliest, &self.clock);
        }
    }

    fn wake_getters(&self, wakeup: Wakeup) {
        match wakeup {
            Wakeup::Nobody => {}
            Wakeup::One(claimed) => self.getters.unpark(claimed),
            Wakeup::All(generation) => self.getters.unpark_all(generation),
        }
    }
}

impl<K: Key> MetricsSource for Shared<K> {
    fn report(self: Arc<Self>) -> Option<Report> {
        let name = self.name.clone()?;
        if let Some(hook) = self.before_scrape.get() {
            hook(&Queue {
                shared: Arc::clone(&self),
            });
        }
        let snapshot = self.state.lock().queue.metrics_snapshot()?;
        Some(Report::Queue(name, Box::new(snapshot)))
    }
}

impl<K: Key> ClockListener for Shared<K> {
    fn clock_changed(&self) {
        let mut st = self.state.lock();
        // Keys due at the new time join now, in ready-time order, before
        // anything added later.
        if !st.queue.delayed.is_empty() {
            st.queue.promote_due(self.clock.now());
        }
        self.report_readiness(&mut st);
        let wakeup = st.claim_all_wakeups();
        drop(st);
        self.wake_getters(wakeup);
    }
}

impl<K: Key> fmt::Debug for Queue<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.state.lock();
        f.debug_struct("Queue")
            .field("name", &self.shared.name)
            .field("ready", &st.queue.ready_len())
            .field("processing", &st.queue.processing_len())
            .field("delayed", &st.queue.delayed.len())
            .field("shutting_down", &st.queue.shutting_down)
            .finish()
    }
}

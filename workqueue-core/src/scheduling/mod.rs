//! The scheduling queue: kube-scheduler's `PriorityQueue` for any key type.
//!
//! An item is in one of four places ([`Place`]):
//! - **active**: ready to be popped, highest priority first, first come
//!   first served among equal priorities. [`SchedulingQueue::pop`] blocks
//!   while nothing can be popped.
//! - **in flight**: popped and being worked on, until [`done`] (success:
//!   the queue forgets it) or a requeue (failure).
//! - **backoff**: failed, waiting out a per-item backoff of
//!   `initial · 2^(attempts-1)`, capped (1 s doubling to 10 s by default),
//!   then back to active. With pop-from-backoff (kube-scheduler's KEP-5142,
//!   on by default) a pop that finds the active queue empty takes the
//!   rejected item whose backoff ends first instead of waiting.
//! - **unschedulable**: found unschedulable, parked until a move event
//!   ([`move_all_to_active_or_backoff`]) or an update ([`update`], or
//!   [`add`] of the same key) says its chances changed; or until it has
//!   stayed longer than the maximum (5 minutes by default) and is flushed
//!   back. Leaving the pool, an item goes to backoff if its backoff has not
//!   ended yet, else to active.
//!
//! A failed attempt is reported with [`requeue_unschedulable`] (the item
//! was rejected) or [`requeue_backoff`] (an error: retry after the
//! backoff). Like kube-scheduler's `AddUnschedulableIfNotPresent`, a
//! rejected item that missed a move event or an update while in flight goes
//! to backoff instead of the pool: the event may have made it schedulable,
//! and parking it would wait for another one.
//!
//! ```
//! use std::time::Duration;
//! use workqueue_core::scheduling::{Place, SchedulingQueue};
//! use workqueue_core::ManualClock;
//!
//! let clock = ManualClock::new();
//! let queue = SchedulingQueue::builder().clock(&clock).build().unwrap();
//! queue.add("default/web", 10);
//! let (pod, priority) = queue.pop().unwrap();
//! // ... no node fits: park it until the cluster changes.
//! assert_eq!(queue.requeue_unschedulable(&pod), Some(Place::Unschedulable));
//! queue.move_all_to_active_or_backoff("NodeAdd");
//! assert_eq!(queue.place(&pod), Some(Place::Backoff)); // 1 s from its failure
//! clock.step(Duration::from_secs(1));
//! assert_eq!(queue.place(&pod), Some(Place::Active));
//! assert_eq!(queue.pop(), Some((pod, priority)));
//! assert_eq!(queue.attempts(&pod), 2);
//! queue.done(&pod); // scheduled: the queue forgets it
//! ```
//!
//! # Time without a thread
//! kube-scheduler runs two goroutines: one moves ended backoffs every
//! second, one flushes the pool every 30 seconds. Here every call first
//! moves whatever is due, in the order it came due, and a blocked pop
//! sleeps until the earliest such time (one pop, the leader, is timed; the
//! others sleep untimed). On a [`ManualClock`](crate::ManualClock) the
//! clock's every move wakes blocked pops, so tests never wait for real time.
//! An event loop waits without a thread through
//! [`observe_readiness`](SchedulingQueue::observe_readiness), as for the
//! work queue.
//!
//! [`done`]: SchedulingQueue::done
//! [`add`]: SchedulingQueue::add
//! [`update`]: SchedulingQueue::update
//! [`requeue_unschedulable`]: SchedulingQueue::requeue_unschedulable
//! [`requeue_backoff`]: SchedulingQueue::requeue_backoff
//! [`move_all_to_active_or_backoff`]: SchedulingQueue::move_all_to_active_or_backoff

mod active;
mod backoff;
mod config;
mod state;
mod unschedulable;

pub use config::{
    SchedulingQueueBuilder, DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_UNSCHEDULABLE_STAY,
};

use crate::clock::{Clock, ClockListener, Timestamp};
use crate::metrics::{self, MetricsSource, Report, SchedulingPending};
use crate::parking::{Claimed, Parking, Sleepers, Wait};
use crate::queue::Key;
use crate::readiness::{Observer, ReadinessObserver};
use crate::spin_lock::{SpinGuard, SpinLock};
use crate::sync::Arc;
use config::Settings;
use state::{Failure, SchedulingState};
use std::fmt;
use std::time::Duration;

/// Where an item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Place {
    /// Ready to be popped.
    Active,
    /// Waiting out its backoff.
    Backoff,
    /// Parked until a move event, an update or the maximum stay.
    Unschedulable,
    /// Popped, not yet done or requeued.
    InFlight,
}

/// Why a pop returned no item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PopError {
    /// Nothing could be popped before the timeout (or at once, for `try_pop`).
    Empty,
    /// The queue is closed.
    Closed,
}

impl fmt::Display for PopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PopError::Empty => "no item could be popped in time",
            PopError::Closed => "the scheduling queue is closed",
        })
    }
}

impl std::error::Error for PopError {}

/// A scheduling queue of keys with `i32` priorities (higher first). Cloning
/// gives another handle to the same queue. Every call may be made from any
/// thread.
pub struct SchedulingQueue<K: Key> {
    shared: Arc<Shared<K>>,
}

impl<K: Key> Clone for SchedulingQueue<K> {
    fn clone(&self) -> Self {
        SchedulingQueue {
            shared: Arc::clone(&self.shared),
        }
    }
}

struct Shared<K> {
    state: SpinLock<Locked<K>>,
    /// Blocked pops sleep here.
    poppers: Parking,
    clock: Clock,
    /// A copy of the state's settings, read without the lock.
    settings: Settings,
    name: Option<String>,
}

/// The state plus who is asleep (see `Parking` for the protocol; the same
/// as the work queue's getters).
struct Locked<K> {
    queue: SchedulingState<K>,
    closed: bool,
    poppers: Sleepers,
    observer: Option<Observer>,
}

impl<K: Key> Locked<K> {
    /// Claims wakeups for sleepers with something to do: one per item a pop
    /// can take, plus one to time the next timed move if no sleeper is
    /// timed for it. `retime`: the next timed move came earlier, so the
    /// leader's timer is late and a new leader must take over.
    fn claim_wakeups(&mut self, retime: bool) -> Claimed {
        if self.poppers.idle() == 0 {
            return Claimed::default();
        }
        if retime {
            self.poppers.depose_leader();
        }
        let mut wanted = self.queue.poppable_len();
        if !self.poppers.has_leader() && self.queue.next_timed().is_some() {
            wanted += 1;
        }
        self.poppers.claim(wanted)
    }

    /// The next timed move, when someone sleeps who might need re-timing.
    fn next_timed_if_sleepers(&self) -> Option<Timestamp> {
        if self.poppers.idle() > 0 {
            self.queue.next_timed()
        } else {
            None
        }
    }
}

impl<K: Key> Default for SchedulingQueue<K> {
    fn default() -> Self {
        SchedulingQueue::new()
    }
}

impl<K: Key> SchedulingQueue<K> {
    /// A queue with kube-scheduler's defaults on the real clock (see
    /// [`SchedulingQueueBuilder`]).
    pub fn new() -> Self {
        SchedulingQueue::from_parts(Settings::default(), Clock::real(), None)
    }

    /// Configures a queue: backoff, maximum stay, pop-from-backoff, clock.
    pub fn builder() -> SchedulingQueueBuilder<K> {
        SchedulingQueueBuilder::new()
    }

    fn from_parts(settings: Settings, clock: Clock, name: Option<String>) -> Self {
        let shared = Arc::new(Shared {
            state: SpinLock::new(Locked {
                queue: SchedulingState::new(settings),
                closed: false,
                poppers: Sleepers::default(),
                observer: None,
            }),
            poppers: Parking::new(),
            clock,
            settings,
            name,
        });
        let listener: Arc<dyn ClockListener> = shared.clone();
        shared.clock.subscribe(Arc::downgrade(&listener));
        if shared.name.is_some() {
            let source: Arc<dyn MetricsSource> = shared.clone();
            metrics::register(Arc::downgrade(&source));
        }
        SchedulingQueue { shared }
    }

    /// The name given at construction, if any.
    pub fn name(&self) -> Option<&str> {
        self.shared.name.as_deref()
    }

    /// Items per sub-queue, as one consistent reading.
    pub fn pending(&self) -> SchedulingPending {
        self.look(|queue| SchedulingPending {
            active: queue.active_len() as u64,
            backoff: queue.backoff_len() as u64,
            unschedulable: queue.unschedulable_len() as u64,
            in_flight: queue.in_flight_len() as u64,
        })
    }

    /// The clock every timing rule of this queue reads.
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// The backoff after the first failed attempt.
    pub fn initial_backoff(&self) -> Duration {
        self.shared.settings.initial_backoff
    }

    /// The cap of the backoff.
    pub fn max_backoff(&self) -> Duration {
        self.shared.settings.max_backoff
    }

    /// How long an item may stay unschedulable before it is flushed back.
    pub fn max_unschedulable_stay(&self) -> Duration {
        self.shared.settings.max_unschedulable_stay
    }

    /// Whether a pop takes a backoff item early when the active queue is empty.
    pub fn pops_from_backoff(&self) -> bool {
        self.shared.settings.pop_from_backoff
    }

    /// Installs `observer` (replacing any earlier one) and reports the
    /// current readiness to it at once: whether a pop would return at once
    /// (an item can be popped, or the queue is closed) and, on the real
    /// clock, when the next backoff ends or parked item overstays. See
    /// [`ReadinessObserver`].
    pub fn observe_readiness(&self, observer: Arc<dyn ReadinessObserver>) {
        let mut st = self.shared.state.lock();
        st.observer = Some(Observer::new(observer));
        self.promote(&mut st);
        self.shared.report_readiness(&mut st);
    }

    /// Removes the readiness observer, if any.
    pub fn stop_observing_readiness(&self) {
        self.shared.state.lock().observer = None;
    }

    /// Adds a new item to the active queue with `priority`; returns true.
    ///
    /// A key the queue already holds is updated instead (see
    /// [`update`](Self::update)) and the call returns false: the item takes
    /// the new priority, and an unschedulable one leaves the pool. A key
    /// deleted while in flight becomes known again and returns true: it
    /// stays in flight, and if its attempt fails it comes back by backoff.
    ///
    /// Adds are accepted after [`close`](Self::close), but nothing is popped
    /// any more.
    pub fn add(&self, key: K, priority: i32) -> bool {
        self.change_lazy(|queue, now| queue.add(key, priority, now))
    }

    /// Tells the queue that an item changed, with its (possibly new)
    /// priority — kube-scheduler's `Update` of a pending pod. Returns where
    /// the item is now, or `None` (and changes nothing) for a key the queue
    /// does not hold; use [`add`](Self::add) to add one.
    ///
    /// - active: takes the new priority, keeping its arrival among equals;
    /// - backoff: takes the new priority, keeping its backoff;
    /// - unschedulable: leaves the pool, to backoff if its backoff has not
    ///   ended, else to active (the change may have made it schedulable);
    /// - in flight: takes the new priority, and if its attempt is then
    ///   requeued as unschedulable it goes to backoff rather than park.
    pub fn update(&self, key: &K, priority: i32) -> Option<Place> {
        self.change_lazy(|queue, now| queue.update(key, priority, now))
    }

    /// Removes an item wherever it is. An in-flight item stays in flight
    /// (its worker still holds it) and is dropped when it is done or
    /// requeued. Returns false for a key the queue does not hold.
    pub fn delete(&self, key: &K) -> bool {
        self.change_untimed(|queue| queue.delete(key))
    }

    /// Blocks until an item can be popped and returns it with its priority;
    /// `None` once the queue is closed. The item is in flight until
    /// [`done`](Self::done) or a requeue; its attempt count grows by one.
    pub fn pop(&self) -> Option<(K, i32)> {
        self.next_item(Wait::Forever).ok()
    }

    /// Like [`pop`](Self::pop), waiting at most `timeout` (real time, even
    /// on a manual clock, so a test cannot hang).
    pub fn pop_timeout(&self, timeout: Duration) -> Result<(K, i32), PopError> {
        self.next_item(Wait::from_timeout(Some(timeout)))
    }

    /// Pops without waiting.
    pub fn try_pop(&self) -> Result<(K, i32), PopError> {
        self.next_item(Wait::Never)
    }

    /// Ends the flight of a popped item that succeeded: the queue forgets
    /// it, attempts and all. Returns false (and changes nothing) when the
    /// key was not in flight.
    pub fn done(&self, key: &K) -> bool {
        self.change_untimed(|queue| queue.done(key))
    }

    /// Ends the flight of a popped item whose attempt failed with an error:
    /// it waits out its backoff, then returns to the active queue. A pop
    /// never takes it early: the wait is for whatever caused the error
    /// (kube-scheduler's error backoff queue). Returns [`Place::Backoff`],
    /// or `None` when the key was not in flight, or was deleted while in
    /// flight (it is dropped).
    pub fn requeue_backoff(&self, key: &K) -> Option<Place> {
        self.change(|queue, now| queue.requeue(key, Failure::Error, now))
    }

    /// Ends the flight of a popped item found unschedulable: it is parked
    /// in the unschedulable pool ([`Place::Unschedulable`]) — unless a move
    /// event or an update arrived while it was in flight; then it goes to
    /// backoff ([`Place::Backoff`]) as if moved at once. Returns `None` when
    /// the key was not in flight, or was deleted while in flight (it is
    /// dropped).
    pub fn requeue_unschedulable(&self, key: &K) -> Option<Place> {
        self.change(|queue, now| queue.requeue(key, Failure::Unschedulable, now))
    }

    /// A cluster event that may make parked items schedulable: every
    /// unschedulable item moves to backoff (if its backoff has not ended)
    /// or to active, longest-parked first, and every in-flight item learns
    /// of the event (see [`requeue_unschedulable`](Self::requeue_unschedulable)).
    /// `event` labels the move, for [`moves_by_event`](Self::moves_by_event).
    /// Returns how many items left the pool.
    pub fn move_all_to_active_or_backoff(&self, event: &str) -> usize {
        self.change(|queue, now| queue.move_all(event, now))
    }

    /// How many items move events labelled `event` have moved out of the
    /// unschedulable pool since the queue was made (kube-scheduler's
    /// `scheduler_queue_incoming_pods_total` by event, for move events).
    pub fn moves_by_event(&self, event: &str) -> u64 {
        self.shared.state.lock().queue.moves_by_event(event)
    }

    /// Items in the active queue.
    pub fn active_len(&self) -> usize {
        self.look(|queue| queue.active_len())
    }

    /// Items waiting out a backoff.
    pub fn backoff_len(&self) -> usize {
        self.look(|queue| queue.backoff_len())
    }

    /// Items parked as unschedulable.
    pub fn unschedulable_len(&self) -> usize {
        self.look(|queue| queue.unschedulable_len())
    }

    /// Items popped and not yet done or requeued (deleted ones included).
    pub fn in_flight_len(&self) -> usize {
        self.shared.state.lock().queue.in_flight_len()
    }

    /// Where an item is; `None` for a key the queue does not hold (or that
    /// was deleted while in flight).
    pub fn place(&self, key: &K) -> Option<Place> {
        self.look(|queue| queue.place(key))
    }

    /// How many times an item has been popped (its attempts); 0 for a key
    /// the queue does not hold. Its next backoff is
    /// `initial · 2^(attempts-1)`, capped.
    pub fn attempts(&self, key: &K) -> u32 {
        self.shared.state.lock().queue.attempts(key)
    }

    /// Closes the queue: every blocked pop returns, and every later pop
    /// returns `None` / [`PopError::Closed`] at once, even with items left.
    /// The other calls keep working, so workers can finish their items.
    /// Repeating it is harmless.
    pub fn close(&self) {
        let mut st = self.shared.state.lock();
        st.closed = true;
        self.shared.report_readiness(&mut st);
        let wake = st.poppers.claim_all();
        drop(st);
        if let Some(generation) = wake {
            self.shared.poppers.unpark_all(generation);
        }
    }

    /// Whether [`close`](Self::close) has been called.
    pub fn is_closed(&self) -> bool {
        self.shared.state.lock().closed
    }

    /// Runs a read after moving whatever is due.
    fn look<R>(&self, read: impl FnOnce(&SchedulingState<K>) -> R) -> R {
        let mut st = self.shared.state.lock();
        let before = st.next_timed_if_sleepers();
        self.promote(&mut st);
        let result = read(&st.queue);
        self.finish(st, before);
        result
    }

    /// Runs a change at the clock's current time after moving whatever is
    /// due, then wakes the sleepers it gave something to do.
    fn change<R>(&self, apply: impl FnOnce(&mut SchedulingState<K>, Timestamp) -> R) -> R {
        let mut st = self.shared.state.lock();
        let before = st.next_timed_if_sleepers();
        let now = self.shared.clock.now();
        st.queue.promote(now);
        let result = apply(&mut st.queue, now);
        self.finish(st, before);
        result
    }

    /// [`change`](Self::change) for changes that read the time only in some
    /// cases: the clock is read only if something waits for a time or the
    /// change asks for it.
    fn change_lazy<R>(
        &self,
        apply: impl FnOnce(&mut SchedulingState<K>, &dyn Fn() -> Timestamp) -> R,
    ) -> R {
        let mut st = self.shared.state.lock();
        let before = st.next_timed_if_sleepers();
        let promoted_at = if st.queue.has_timed() {
            let now = self.shared.clock.now();
            st.queue.promote(now);
            Some(now)
        } else {
            None
        };
        let now = || promoted_at.unwrap_or_else(|| self.shared.clock.now());
        let result = apply(&mut st.queue, &now);
        self.finish(st, before);
        result
    }

    /// [`change`](Self::change) for changes that do not read the time, so
    /// the hot path reads the clock only when something waits for a time.
    fn change_untimed<R>(&self, apply: impl FnOnce(&mut SchedulingState<K>) -> R) -> R {
        let mut st = self.shared.state.lock();
        let before = st.next_timed_if_sleepers();
        self.promote(&mut st);
        let result = apply(&mut st.queue);
        self.finish(st, before);
        result
    }

    /// Unlocks, reporting readiness and waking sleepers with something to
    /// do; `before` is the next timed move as the sleepers knew it.
    fn finish(&self, mut st: SpinGuard<'_, Locked<K>>, before: Option<Timestamp>) {
        self.shared.report_readiness(&mut st);
        if st.poppers.idle() == 0 {
            return;
        }
        let after = st.queue.next_timed();
        let retime = match (after, before) {
            (Some(after), Some(before)) => after < before,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let wake = st.claim_wakeups(retime);
        drop(st);
        self.shared.poppers.unpark(wake);
    }

    fn promote(&self, st: &mut Locked<K>) {
        if st.queue.has_timed() {
            st.queue.promote(self.shared.clock.now());
        }
    }

    fn next_item(&self, wait: Wait) -> Result<(K, i32), PopError> {
        let mut st = self.shared.state.lock();
        loop {
            if st.closed {
                return Err(PopError::Closed);
            }
            self.promote(&mut st);
            if let Some(popped) = st.queue.pop() {
                self.leave_pop(st);
                return Ok(popped);
            }
            st = match self.sleep(st, wait) {
                Ok(st) => st,
                Err(st) => {
                    self.leave_pop(st);
                    return Err(PopError::Empty);
                }
            };
        }
    }

    /// Unlocks after a pop, reporting readiness and passing a wakeup on to
    /// a sleeper with something to do (another item, or a timed move no
    /// sleeper is timed for).
    fn leave_pop(&self, mut st: SpinGuard<'_, Locked<K>>) {
        self.shared.report_readiness(&mut st);
        let wake = st.claim_wakeups(false);
        drop(st);
        self.shared.poppers.unpark(wake);
    }

    /// Sleeps once. Returns the guard in `Err` when the wait was already over.
    fn sleep<'a>(
        &'a self,
        mut st: SpinGuard<'a, Locked<K>>,
        wait: Wait,
    ) -> Result<SpinGuard<'a, Locked<K>>, SpinGuard<'a, Locked<K>>> {
        // The pop's promotion may have moved items without one to pop.
        self.shared.report_readiness(&mut st);
        let next_timed = st.queue.next_timed();
        let Some(nap) = st.poppers.lie_down(wait, next_timed, &self.shared.clock) else {
            return Err(st);
        };
        drop(st);
        self.shared.poppers.park(nap.generation, nap.deadline);
        let mut st = self.shared.state.lock();
        st.poppers.get_up(&nap);
        Ok(st)
    }
}

impl<K: Key> Shared<K> {
    /// Tells the readiness observer, if any, about the state under `st`.
    fn report_readiness(&self, st: &mut Locked<K>) {
        if let Some(observer) = st.observer.as_mut() {
            let ready = st.closed || st.queue.poppable_len() > 0;
            observer.update(ready, st.queue.next_timed(), &self.clock);
        }
    }
}

impl<K: Key> ClockListener for Shared<K> {
    fn clock_changed(&self) {
        let mut st = self.state.lock();
        // Items due at the new time move now, in the order they came due,
        // before anything that happens later.
        if st.queue.has_timed() {
            st.queue.promote(self.clock.now());
        }
        self.report_readiness(&mut st);
        let wake = st.poppers.claim_all();
        drop(st);
        if let Some(generation) = wake {
            self.poppers.unpark_all(generation);
        }
    }
}

impl<K: Key> fmt::Debug for SchedulingQueue<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.state.lock();
        f.debug_struct("SchedulingQueue")
            .field("active", &st.queue.active_len())
            .field("backoff", &st.queue.backoff_len())
            .field("unschedulable", &st.queue.unschedulable_len())
            .field("in_flight", &st.queue.in_flight_len())
            .field("closed", &st.closed)
            .finish()
    }
}

impl<K: Key> MetricsSource for Shared<K> {
    fn report(self: Arc<Self>) -> Option<Report> {
        let name = self.name.clone()?;
        let queue = SchedulingQueue { shared: self };
        Some(Report::Scheduling(name, queue.pending()))
    }
}

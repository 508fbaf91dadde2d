//! Replaying calls whose results nobody waits for: a binding that batches
//! adds and dones outside the queue (the C ABI's submission ring) hands
//! them over in one lock instead of one call each.
//!
//! A named queue's metrics time each add and done. A replayed call may
//! carry the time-stamp counter's value when it was made, so its
//! durations are those of the call, not of the replay; a call without one
//! happens at the replay.

use super::state::{Added, Finished};
use super::{Key, Queue};
use crate::metrics::TscStamp;
use crate::parking::Claimed;

/// What a binding runs before a scrape reads a queue's metrics.
pub(super) type ScrapeHook<K> = Box<dyn Fn(&Queue<K>) + Send + Sync>;

/// A call to replay: `add_with_priority(key, priority)` or `done(&key)`,
/// made at the given counter value (see [`TscStamp`]) or, with `None`,
/// at the replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replayed<K> {
    Add(K, i32, Option<TscStamp>),
    Done(K, Option<TscStamp>),
}

impl<K: Key> Queue<K> {
    /// Makes the calls `calls` passes to its sink, in order, with the
    /// effects of making them one by one, under one lock. `calls` runs
    /// while the lock is held: two replays never interleave, and a call
    /// made after a replay sees all of it.
    pub fn replay(&self, calls: impl FnOnce(&mut dyn FnMut(Replayed<K>))) {
        let mut st = self.shared.state.lock();
        self.promote_due(&mut st);
        let (mut wakeups, mut finished, mut requeued) = (Claimed::default(), 0, 0);
        calls(&mut |call| match call {
            Replayed::Add(key, priority, made_at) => {
                if st.queue.add_made_at(key, priority, made_at) == Added::Queued {
                    wakeups.merge(st.claim_wakeup());
                }
            }
            Replayed::Done(key, made_at) => match st.queue.done_made_at(&key, made_at) {
                Finished::Requeued => {
                    finished += 1;
                    requeued += 1;
                }
                Finished::Removed => finished += 1,
                Finished::NotProcessing => {}
            },
        });
        self.shared.report_readiness(&mut st);
        self.leave_done(st, finished, requeued);
        self.shared.getters.unpark(wakeups);
    }

    /// Has every scrape of this named queue's metrics ([`snapshot_all`],
    /// [`prometheus_text`]) run `hook` first, so that calls the binding
    /// holds back for a later replay are counted. Set once; false if a hook
    /// was already set. The queue keeps the hook for its lifetime: a hook
    /// that holds a clone of the queue keeps it (and its metrics series)
    /// alive for ever; use the `&Queue` it is given.
    ///
    /// [`snapshot_all`]: crate::metrics::snapshot_all
    /// [`prometheus_text`]: crate::metrics::prometheus_text
    pub fn before_scrape(&self, hook: impl Fn(&Queue<K>) + Send + Sync + 'static) -> bool {
        self.shared.before_scrape.set(Box::new(hook)).is_ok()
    }

    /// Whether this is a named queue whose metrics read the [`TscStamp`]s
    /// of replayed calls (on the real clock, where the CPU has an invariant
    /// time-stamp counter). On any other named queue a replayed call is
    /// timed when it is replayed, so a binding should make its calls
    /// directly instead.
    pub fn metrics_take_tsc_stamps(&self) -> bool {
        self.shared.state.lock().queue.metrics_take_tsc_stamps()
    }
}

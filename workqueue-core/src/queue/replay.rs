//! Replaying calls whose results nobody waits for: a binding that batches
//! adds and dones outside the queue (the C ABI's submission ring) hands
//! them over in one lock instead of one call each.

use super::state::{Added, Finished};
use super::{Key, Queue};
use crate::parking::Claimed;

/// A call to replay: `add_with_priority(key, priority)` or `done(&key)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replayed<K> {
    Add(K, i32),
    Done(K),
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
            Replayed::Add(key, priority) => {
                if st.queue.add(key, priority) == Added::Queued {
                    wakeups.merge(st.claim_wakeup());
                }
            }
            Replayed::Done(key) => match st.queue.done(&key) {
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
}

//! The backoff queue: items that failed an attempt and wait out a penalty
//! that doubles with every attempt, before they return to the active queue.
//!
//! Like kube-scheduler it holds two kinds of item apart:
//! - [`BackoffKind::Rejected`]: items found unschedulable and then moved
//!   out of the unschedulable pool (by an event, an update, a flush, or an
//!   event that arrived while they were in flight). A pop that finds the
//!   active queue empty may take the earliest of them early
//!   (pop-from-backoff).
//! - [`BackoffKind::Error`]: items whose attempt failed with an error
//!   (`requeue_backoff`). They always wait their full backoff — the error
//!   (an overloaded API server, say) is what the wait is for — as in
//!   kube-scheduler's separate error backoff queue.
//!
//! Each kind is a B-tree keyed by (ready time, priority descending, entry
//! number): the earliest ready time first, and among equal ready times the
//! order the active queue would use. Deletes and priority changes remove
//! their entry directly, so nothing stale piles up.

use crate::clock::Timestamp;
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::time::Duration;

/// Which backoff an item waits in; see the module comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BackoffKind {
    Rejected,
    Error,
}

/// Where an item sits in the backoff queue: (ready time, priority, entry).
pub(crate) type BackoffSlot = (Timestamp, Reverse<i32>, u64);

pub(crate) struct BackoffQueue<K> {
    rejected: BTreeMap<BackoffSlot, K>,
    errors: BTreeMap<BackoffSlot, K>,
}

/// The backoff after `attempts` attempts: `initial · 2^(attempts-1)`
/// capped at `max`; zero before the first attempt. Doubling stops at the
/// cap, so no attempt count overflows to a short or zero backoff.
pub(crate) fn backoff_duration(attempts: u32, initial: Duration, max: Duration) -> Duration {
    if attempts == 0 {
        return Duration::ZERO;
    }
    let mut backoff = initial.min(max);
    for _ in 1..attempts {
        if backoff >= max {
            break;
        }
        backoff = backoff.saturating_mul(2);
    }
    backoff.min(max)
}

impl<K> BackoffQueue<K> {
    pub(crate) fn new() -> Self {
        BackoffQueue {
            rejected: BTreeMap::new(),
            errors: BTreeMap::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.rejected.len() + self.errors.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rejected.is_empty() && self.errors.is_empty()
    }

    /// Items a pop may take early.
    pub(crate) fn rejected_len(&self) -> usize {
        self.rejected.len()
    }

    fn of(&mut self, kind: BackoffKind) -> &mut BTreeMap<BackoffSlot, K> {
        match kind {
            BackoffKind::Rejected => &mut self.rejected,
            BackoffKind::Error => &mut self.errors,
        }
    }

    /// Queues `key` until `ready`; `entry` must be unique among queued items.
    pub(crate) fn insert(
        &mut self,
        kind: BackoffKind,
        ready: Timestamp,
        priority: i32,
        entry: u64,
        key: K,
    ) -> BackoffSlot {
        let slot = (ready, Reverse(priority), entry);
        self.of(kind).insert(slot, key);
        slot
    }

    pub(crate) fn remove(&mut self, kind: BackoffKind, slot: BackoffSlot) -> Option<K> {
        self.of(kind).remove(&slot)
    }

    /// The earliest ready time of either kind.
    pub(crate) fn next_ready(&self) -> Option<Timestamp> {
        let first = |map: &BTreeMap<BackoffSlot, K>| map.first_key_value().map(|(s, _)| s.0);
        match (first(&self.rejected), first(&self.errors)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Removes the item of either kind that is ready first, if it is ready
    /// at `now`. Items ready at the same time leave in priority order.
    pub(crate) fn pop_ready(&mut self, now: Timestamp) -> Option<K> {
        let rejected = self.rejected.first_key_value().map(|(s, _)| *s);
        let error = self.errors.first_key_value().map(|(s, _)| *s);
        let kind = match (rejected, error) {
            (Some(r), Some(e)) if e < r => BackoffKind::Error,
            (Some(_), _) => BackoffKind::Rejected,
            (None, Some(_)) => BackoffKind::Error,
            (None, None) => return None,
        };
        let map = self.of(kind);
        let entry = map.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        Some(entry.remove())
    }

    /// Removes the rejected item that is ready first, ready or not: a pop
    /// that found the active queue empty.
    pub(crate) fn pop_earliest_rejected(&mut self) -> Option<(K, i32)> {
        let ((_, Reverse(priority), _), key) = self.rejected.pop_first()?;
        Some((key, priority))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn at(secs: u64) -> Timestamp {
        Timestamp::from_nanos(secs * 1_000_000_000)
    }

    #[test]
    fn backoff_doubles_to_the_cap_and_never_overflows() {
        let max = 10 * S;
        let got: Vec<u64> = (0..8)
            .map(|n| backoff_duration(n, S, max).as_secs())
            .collect();
        assert_eq!(got, vec![0, 1, 2, 4, 8, 10, 10, 10]);
        assert_eq!(backoff_duration(u32::MAX, S, max), max);
        assert_eq!(
            backoff_duration(u32::MAX, Duration::from_nanos(1), Duration::MAX),
            Duration::MAX
        );
        assert_eq!(
            backoff_duration(64, Duration::from_nanos(3), Duration::MAX).as_nanos(),
            3u128 << 63
        );
        assert_eq!(backoff_duration(3, 7 * S, 7 * S), 7 * S);
    }

    #[test]
    fn ready_items_leave_by_time_then_priority_across_both_kinds() {
        let mut backoff = BackoffQueue::new();
        backoff.insert(BackoffKind::Error, at(2), 0, 1, "error-2s");
        backoff.insert(BackoffKind::Rejected, at(2), 9, 2, "rejected-2s-high");
        backoff.insert(BackoffKind::Rejected, at(1), 0, 3, "rejected-1s");
        backoff.insert(BackoffKind::Rejected, at(2), 0, 4, "rejected-2s-low");
        assert_eq!(backoff.next_ready(), Some(at(1)));
        assert_eq!(backoff.pop_ready(at(0)), None);
        let ready: Vec<_> = std::iter::from_fn(|| backoff.pop_ready(at(2))).collect();
        assert_eq!(
            ready,
            vec![
                "rejected-1s",
                "rejected-2s-high",
                "error-2s",
                "rejected-2s-low"
            ]
        );
        assert!(backoff.is_empty());
    }

    #[test]
    fn only_rejected_items_are_taken_early() {
        let mut backoff = BackoffQueue::new();
        let error = backoff.insert(BackoffKind::Error, at(1), 0, 1, "error");
        backoff.insert(BackoffKind::Rejected, at(9), 3, 2, "late");
        backoff.insert(BackoffKind::Rejected, at(5), 0, 3, "early");
        assert_eq!(backoff.rejected_len(), 2);
        assert_eq!(backoff.pop_earliest_rejected(), Some(("early", 0)));
        assert_eq!(backoff.pop_earliest_rejected(), Some(("late", 3)));
        assert_eq!(backoff.pop_earliest_rejected(), None);
        assert_eq!(backoff.len(), 1);
        assert_eq!(backoff.remove(BackoffKind::Error, error), Some("error"));
        assert_eq!(backoff.next_ready(), None);
    }
}

//! A scheduling queue's sizes per sub-queue.

/// Items per sub-queue of a named scheduling queue, exposed as
/// `workqueue_scheduling_pending_items{name, queue}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedulingPending {
    /// Ready to pop.
    pub active: u64,
    /// Waiting out a backoff.
    pub backoff: u64,
    /// Parked until a move event, an update or the maximum stay.
    pub unschedulable: u64,
    /// Popped and not yet done or requeued.
    pub in_flight: u64,
}

impl SchedulingPending {
    pub(crate) fn merge(&mut self, other: &SchedulingPending) {
        self.active += other.active;
        self.backoff += other.backoff;
        self.unschedulable += other.unschedulable;
        self.in_flight += other.in_flight;
    }

    /// `(label, count)` per sub-queue, in a fixed order.
    pub fn by_queue(&self) -> [(&'static str, u64); 4] {
        [
            ("active", self.active),
            ("backoff", self.backoff),
            ("unschedulable", self.unschedulable),
            ("in_flight", self.in_flight),
        ]
    }
}

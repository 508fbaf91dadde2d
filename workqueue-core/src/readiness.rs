//! Telling an event loop when a get (or a scheduling queue's pop) would not
//! block, without a thread.
//!
//! A binding that offers a pollable handle (an fd for epoll, libuv or
//! asyncio) installs a [`ReadinessObserver`] on a [`Queue`](crate::Queue)
//! or a [`SchedulingQueue`](crate::SchedulingQueue). The queue calls it,
//! under its lock so reports arrive in order, whenever the answer to
//! "would a get (pop) block now?" or the time of the next timed change (the
//! earliest delayed key; the next backoff to end or parked item to be
//! flushed) changes. A queue with no observer pays one branch per call.

use crate::clock::{Clock, Timestamp};
use std::sync::Arc;
use std::time::Duration;

/// Whether a get (pop) would return at once, and when that may next change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Readiness {
    /// A get would not block: a key is ready, or the queue is shut down and
    /// exhausted. For a scheduling queue: an item can be popped, or the
    /// queue is closed.
    pub ready: bool,
    /// On the real clock, how long until the earliest delayed key is due
    /// (for a scheduling queue: until the next backoff ends or parked item
    /// overstays): arm a timer for it. `None` when nothing waits for a
    /// time, or on a manual clock (its changes are reported as they happen).
    pub next_delayed_in: Option<Duration>,
}

/// Receives [`Readiness`] changes. Called with the queue's lock held: it
/// must be quick and must not call back into the queue.
pub trait ReadinessObserver: Send + Sync {
    /// The readiness changed to `readiness`.
    fn readiness_changed(&self, readiness: Readiness);
}

/// The installed observer and what it was last told.
pub(crate) struct Observer {
    hook: Arc<dyn ReadinessObserver>,
    last_ready: Option<bool>,
    last_earliest: Option<Timestamp>,
}

impl Observer {
    pub(crate) fn new(hook: Arc<dyn ReadinessObserver>) -> Self {
        Observer {
            hook,
            last_ready: None,
            last_earliest: None,
        }
    }

    /// Reports the state if it differs from the last report.
    pub(crate) fn update(&mut self, ready: bool, earliest: Option<Timestamp>, clock: &Clock) {
        let earliest = if clock.is_manual() { None } else { earliest };
        if self.last_ready == Some(ready) && self.last_earliest == earliest {
            return;
        }
        self.last_ready = Some(ready);
        self.last_earliest = earliest;
        let next_delayed_in = earliest.map(|at| at.saturating_duration_since(clock.now()));
        self.hook.readiness_changed(Readiness {
            ready,
            next_delayed_in,
        });
    }
}

//! client-go's work-queue metrics, with the same names and meanings so
//! existing dashboards keep working:
//!
//! | metric | type | updated |
//! |---|---|---|
//! | `workqueue_depth` | gauge | +1 when a key becomes dirty (an add that schedules a run), −1 when it is handed out |
//! | `workqueue_adds_total` | counter | with every +1 of the depth |
//! | `workqueue_queue_duration_seconds` | histogram | at a get: time since the key became dirty |
//! | `workqueue_work_duration_seconds` | histogram | at a done: time since the get |
//! | `workqueue_unfinished_work_seconds` | gauge | sum of the ages of keys being processed |
//! | `workqueue_longest_running_processor_seconds` | gauge | the oldest of those ages |
//! | `workqueue_retries_total` | counter | every accepted `add_after` / `add_rate_limited` |
//!
//! All carry the label `name`. Two families client-go lacks:
//! `workqueue_depth_by_priority{name, priority}` (ready keys per priority;
//! at most [`MAX_PRIORITY_LABELS`] labels per queue, the lowest priorities
//! beyond them summed under `priority="other"`) and
//! `workqueue_scheduling_pending_items{name, queue}` for named scheduling
//! queues (`queue` is `active`, `backoff`, `unschedulable` or `in_flight`).
//! Only named queues keep metrics: an unnamed queue pays one branch per
//! call. A named queue keeps each key's timestamps in the queue's own
//! entry for the key (`key_metrics.rs`) and, on the real clock, reads the
//! time from the CPU's invariant time-stamp counter where there is one
//! (`tsc.rs`): an add, a get and a done each cost one counter read and no
//! extra hash-table operation. client-go refreshes the two "unfinished"
//! gauges from a 500 ms ticker goroutine; here they are computed when read,
//! from the processing start times, so no thread exists and a scrape is
//! never up to 500 ms stale. As with client-go's ticker, they stop moving
//! once the queue is shut down: they are computed as of the shutdown.

mod histogram;
mod key_metrics;
mod prometheus;
mod queue_metrics;
mod registry;
mod scheduling;
mod stamp_clock;
#[cfg(all(target_arch = "x86_64", not(miri)))]
mod tsc;

pub use histogram::{HistogramSnapshot, BUCKET_BOUNDS};
pub use prometheus::{bounded_priorities, prometheus_text, MAX_PRIORITY_LABELS};
pub use queue_metrics::MetricsSnapshot;
pub use registry::{scheduling_snapshot_all, snapshot_all};
pub use scheduling::SchedulingPending;
pub use stamp_clock::TscStamp;

pub(crate) use key_metrics::{KeyMetrics, NoMetrics};
pub(crate) use queue_metrics::QueueMetrics;
pub(crate) use registry::{register, MetricsSource, Report};

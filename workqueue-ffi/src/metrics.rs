//! client-go's work-queue metrics: a snapshot of one named queue in a
//! plain struct, and the Prometheus text of every named queue.

use crate::boundary::{arg, boundary, out, slice_out};
use crate::queue::wq_queue;
use crate::status::wq_status;
use std::ffi::c_char;
use workqueue_core::metrics::{
    bounded_priorities, prometheus_text, HistogramSnapshot, MetricsSnapshot, BUCKET_BOUNDS,
    MAX_PRIORITY_LABELS,
};

/// How many finite buckets the duration histograms have (client-go's:
/// 1e-8 s × 10^k up to 10 s). Their upper bounds, in seconds, are
/// `wq_metrics_bucket_bounds()`.
pub const WQ_METRICS_BUCKETS: usize = 10;

/// How many priorities `wq_metrics.depth_by_priority` holds: the highest
/// ones with ready keys; the ready keys at lower priorities are summed in
/// `wq_metrics.depth_other_priorities`. The same bound as the `priority`
/// labels of `workqueue_depth_by_priority` in the Prometheus text (this
/// many numbers, plus `other`).
pub const WQ_METRICS_PRIORITIES: usize = 15;

/// cbindgen:ignore
/// cbindgen needs a literal above; this keeps it equal to the core's bound.
const _: () = assert!(WQ_METRICS_PRIORITIES == MAX_PRIORITY_LABELS - 1);

/// How many keys are ready at one priority (an entry of
/// `wq_metrics.depth_by_priority`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct wq_priority_depth {
    /// The priority.
    pub priority: i32,
    /// Always 0 (the padding made explicit, so every byte of a
    /// `wq_metrics` is written and `memcmp` compares the values).
    pub reserved: u32,
    /// Ready keys at this priority.
    pub count: u64,
}

/// A duration histogram (Prometheus's, with client-go's buckets).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct wq_histogram {
    /// `buckets[i]`: how many observations fell in
    /// `(bounds[i-1], bounds[i]]` seconds, with `bounds` from
    /// `wq_metrics_bucket_bounds()` (`buckets[0]`: at most `bounds[0]`).
    /// Not cumulative: Prometheus's `le` bucket `i` is
    /// `buckets[0] + ... + buckets[i]`. Observations above the last bound
    /// count only in `count` (Prometheus's `+Inf` bucket).
    pub buckets: [u64; WQ_METRICS_BUCKETS],
    /// Sum of the observed values, in seconds.
    pub sum_seconds: f64,
    /// Number of observations.
    pub count: u64,
}

impl From<&HistogramSnapshot> for wq_histogram {
    fn from(histogram: &HistogramSnapshot) -> Self {
        wq_histogram {
            buckets: histogram.buckets,
            sum_seconds: histogram.sum,
            count: histogram.count,
        }
    }
}

/// One queue's metrics at one moment: client-go's work-queue metrics, with
/// their Prometheus names. Filled by `wq_queue_metrics`.
///
/// Later versions may append fields; before 1.0 such a version changes the
/// soname, so a program never runs against a library that writes a longer
/// struct.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct wq_metrics {
    /// `workqueue_depth`: +1 when an add schedules a run, -1 when a key is
    /// handed out (a key added again while processed counts until its next
    /// get).
    pub depth: i64,
    /// `workqueue_adds_total`: adds that scheduled a run.
    pub adds: u64,
    /// `workqueue_retries_total`: accepted `add_after` and
    /// `add_rate_limited` calls.
    pub retries: u64,
    /// `workqueue_queue_duration_seconds`: at each get, how long the key
    /// waited since it became dirty.
    pub queue_duration: wq_histogram,
    /// `workqueue_work_duration_seconds`: at each done, how long the key
    /// was processed.
    pub work_duration: wq_histogram,
    /// `workqueue_unfinished_work_seconds`: the sum of the ages of the keys
    /// being processed (stops moving at the shutdown, like client-go's).
    pub unfinished_work_seconds: f64,
    /// `workqueue_longest_running_processor_seconds`: the oldest of those
    /// ages.
    pub longest_running_processor_seconds: f64,
    /// `workqueue_depth_by_priority`: ready keys (not those waiting for a
    /// delay or being processed) per priority, highest priority first, for
    /// the `WQ_METRICS_PRIORITIES` highest priorities with ready keys. The
    /// first `depth_by_priority_len` entries are filled; the rest are 0.
    pub depth_by_priority: [wq_priority_depth; WQ_METRICS_PRIORITIES],
    /// How many entries of `depth_by_priority` are filled (at most
    /// `WQ_METRICS_PRIORITIES`).
    pub depth_by_priority_len: usize,
    /// The ready keys at the priorities beyond those of
    /// `depth_by_priority`, summed (`workqueue_depth_by_priority` with
    /// `priority="other"`); 0 when there are none.
    /// `wq_queue_len_by_priority` lists every priority.
    pub depth_other_priorities: u64,
}

impl From<&MetricsSnapshot> for wq_metrics {
    fn from(snapshot: &MetricsSnapshot) -> Self {
        let (named, other) = bounded_priorities(&snapshot.depth_by_priority);
        let mut depth_by_priority = [wq_priority_depth::default(); WQ_METRICS_PRIORITIES];
        for (entry, &(priority, count)) in depth_by_priority.iter_mut().zip(named) {
            *entry = wq_priority_depth {
                priority,
                reserved: 0,
                count,
            };
        }
        wq_metrics {
            depth: snapshot.depth,
            adds: snapshot.adds,
            retries: snapshot.retries,
            queue_duration: (&snapshot.queue_duration).into(),
            work_duration: (&snapshot.work_duration).into(),
            unfinished_work_seconds: snapshot.unfinished_work_seconds,
            longest_running_processor_seconds: snapshot.longest_running_processor_seconds,
            depth_by_priority,
            depth_by_priority_len: named.len(),
            depth_other_priorities: other.unwrap_or(0),
        }
    }
}

/// The upper bounds of the histogram buckets, in seconds: a static array
/// of `WQ_METRICS_BUCKETS` doubles (1e-08, 1e-07, ... 1, 10), valid for the
/// life of the program. Never NULL; do not free it. Thread-safe.
#[no_mangle]
pub extern "C" fn wq_metrics_bucket_bounds() -> *const f64 {
    /// A static, so the address is stable.
    static BOUNDS: [f64; WQ_METRICS_BUCKETS] = BUCKET_BOUNDS;
    BOUNDS.as_ptr()
}

/// Stores the metrics of a named queue in `*out_metrics` (computed now:
/// the two "unfinished" gauges are as of this call, or of the shutdown).
/// Only a queue given a name (`wq_queue_options.name`) keeps metrics.
///
/// Returns `WQ_STATUS_NO_METRICS` for an unnamed queue;
/// `WQ_STATUS_NULL_ARGUMENT` if `queue` or `out_metrics` is NULL.
///
/// Thread-safe: may run concurrently with every call on the queue except
/// `wq_queue_free`.
///
/// # Safety
/// `queue` is NULL or a live handle; `out_metrics` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn wq_queue_metrics(
    queue: *const wq_queue,
    out_metrics: *mut wq_metrics,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or a live handle.
        let queue = unsafe { arg(queue) }?;
        let out_metrics = out(out_metrics)?;
        let snapshot = queue.queue().metrics().ok_or(wq_status::NoMetrics)?;
        out_metrics.write((&snapshot).into());
        Ok(())
    })
}

/// Writes the metrics of every live named queue of the process as
/// Prometheus text (exposition format 0.0.4: `# HELP`, `# TYPE`, one
/// series per queue with the label `name`, histogram buckets with
/// client-go's `le` labels such as `le="1e-08"`), ready to serve at
/// `/metrics`. Queues sharing a name are summed. With no named queue the
/// text is empty.
///
/// `*out_len` receives the text's length in bytes, without the NUL:
/// - if `cap > *out_len`, the text and a terminating NUL are written to
///   `buf` and the call returns `WQ_STATUS_OK`;
/// - otherwise nothing is written to `buf` and the call returns
///   `WQ_STATUS_BUFFER_TOO_SMALL`: call again with at least `*out_len + 1`
///   bytes (plus some room: counters and new queues can lengthen the text
///   meanwhile). `buf` may be NULL when `cap` is 0, to ask for the length.
///   This is the one status besides `WQ_STATUS_OK` with which an
///   out-parameter (`*out_len`) is written.
///
/// Returns `WQ_STATUS_NULL_ARGUMENT` if `out_len` is NULL, or `buf` is NULL
/// and `cap` is not 0.
///
/// Thread-safe: may run concurrently with any call on any queue.
///
/// # Safety
/// `buf` is NULL or valid for writes of `cap` bytes; `out_len` is NULL or
/// valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wq_metrics_prometheus(
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> wq_status {
    boundary!({
        // SAFETY: the caller passes NULL or room for `cap` bytes.
        let buf = unsafe { slice_out(buf, cap) }?;
        let out_len = out(out_len)?;
        let text = prometheus_text();
        let len = text.len();
        if len >= cap {
            out_len.write(len);
            return Err(wq_status::BufferTooSmall);
        }
        for (slot, byte) in buf.iter_mut().zip(text.bytes().chain([0])) {
            slot.write(byte as c_char);
        }
        out_len.write(len);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounds_are_client_gos() {
        // SAFETY: a static array of WQ_METRICS_BUCKETS doubles.
        let bounds =
            unsafe { std::slice::from_raw_parts(wq_metrics_bucket_bounds(), WQ_METRICS_BUCKETS) };
        assert_eq!(bounds, BUCKET_BOUNDS);
        assert_eq!(bounds[0], 1e-8);
        assert_eq!(bounds[WQ_METRICS_BUCKETS - 1], 10.0);
    }

    #[test]
    fn depth_by_priority_is_bounded_like_the_prometheus_text() {
        let mut snapshot = MetricsSnapshot {
            depth_by_priority: vec![(5, 2), (0, 1)],
            ..MetricsSnapshot::default()
        };
        let metrics = wq_metrics::from(&snapshot);
        assert_eq!(metrics.depth_by_priority_len, 2);
        assert_eq!(metrics.depth_by_priority[0].priority, 5);
        assert_eq!(metrics.depth_by_priority[0].count, 2);
        assert_eq!(metrics.depth_by_priority[1].priority, 0);
        assert_eq!(metrics.depth_by_priority[1].count, 1);
        assert!(metrics.depth_by_priority[2..]
            .iter()
            .all(|entry| *entry == wq_priority_depth::default()));
        assert_eq!(metrics.depth_other_priorities, 0);

        // 20 priorities, 19 down to 0, with 100 + p ready keys each.
        snapshot.depth_by_priority = (0..20).rev().map(|p| (p, 100 + p as u64)).collect();
        let metrics = wq_metrics::from(&snapshot);
        assert_eq!(metrics.depth_by_priority_len, WQ_METRICS_PRIORITIES);
        for (i, entry) in metrics.depth_by_priority.iter().enumerate() {
            assert_eq!(entry.priority, 19 - i as i32);
            assert_eq!(entry.count, 119 - i as u64);
        }
        assert_eq!(metrics.depth_other_priorities, 100 + 101 + 102 + 103 + 104);
    }
}

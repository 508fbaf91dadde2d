//! Process-wide metrics of every named queue, for `workqueue.metrics`.
//!
//! The core reads every named queue under its own lock and the registry's;
//! neither ever waits for the interpreter, so a scrape runs detached and
//! other Python threads keep running meanwhile.

use crate::queue::metrics_tuple;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use workqueue_core::metrics;

/// Every named queue's metrics in the Prometheus text exposition format
/// (version 0.0.4), as client-go names them, label ``name``; empty when no
/// named queue exists. Serve it at ``/metrics``.
#[pyfunction]
pub fn prometheus_text(py: Python<'_>) -> String {
    py.detach(metrics::prometheus_text)
}

/// ``(name, metrics tuple)`` for every live named work queue, sorted by
/// name; queues sharing a name are summed (``workqueue.metrics`` wraps it).
#[pyfunction]
pub fn _snapshot_all(py: Python<'_>) -> PyResult<Vec<(String, Bound<'_, PyTuple>)>> {
    py.detach(metrics::snapshot_all)
        .into_iter()
        .map(|(name, snapshot)| Ok((name, metrics_tuple(py, &snapshot)?)))
        .collect()
}

/// ``(name, (active, backoff, unschedulable, in_flight))`` for every live
/// named scheduling queue, sorted by name.
#[pyfunction]
pub fn _scheduling_snapshot_all(py: Python<'_>) -> Vec<(String, (u64, u64, u64, u64))> {
    py.detach(metrics::scheduling_snapshot_all)
        .into_iter()
        .map(|(name, pending)| {
            (
                name,
                (
                    pending.active,
                    pending.backoff,
                    pending.unschedulable,
                    pending.in_flight,
                ),
            )
        })
        .collect()
}

/// ``(named, other)``: the bounding rule of ``workqueue_depth_by_priority``
/// over ``(priority, ready keys)`` pairs, highest priority first (the
/// core's, shared with the Prometheus text and C's ``wq_metrics``).
#[pyfunction]
pub fn _bounded_priorities(depths: Vec<(i32, u64)>) -> (Vec<(i32, u64)>, Option<u64>) {
    let (named, other) = metrics::bounded_priorities(&depths);
    (named.to_vec(), other)
}

/// Registers the constants the Python side needs.
pub fn add_constants(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("_BUCKET_BOUNDS", metrics::BUCKET_BOUNDS.to_vec())?;
    module.add("_MAX_PRIORITY_LABELS", metrics::MAX_PRIORITY_LABELS)?;
    Ok(())
}

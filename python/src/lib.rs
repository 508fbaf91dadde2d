//! The `workqueue._workqueue` extension module: the Rust core of the
//! Python package `workqueue`. The package's `__init__.py` re-exports
//! everything here and adds the pure-Python parts (exceptions, context
//! managers, asyncio helpers).

mod blocking;
mod clock;
mod errors;
mod key;
mod limiters;
mod metrics;
mod parallel;
mod priority;
mod queue;
#[cfg(target_os = "linux")]
mod readiness;
mod scheduling;
mod sync;
mod time;
mod watchers;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// A core `ConfigError` as a `ValueError` naming the Python argument
/// (`"base delay"` becomes `base_delay`).
pub(crate) fn config_error(error: workqueue_core::ConfigError) -> PyErr {
    PyValueError::new_err(format!(
        "invalid {}: {}",
        error.argument().replace(' ', "_"),
        error.problem()
    ))
}

/// Kubernetes-style work queue (the Rust core of the ``workqueue`` package).
#[pymodule]
mod _workqueue {
    #[pymodule_export]
    use crate::clock::PyManualClock;
    #[pymodule_export]
    use crate::limiters::{
        default_controller_rate_limiter, default_item_based_rate_limiter, PyBucket, PyExponential,
        PyFastSlow, PyMaxOf, PyMaxWait, PyRateLimiter,
    };
    #[pymodule_export]
    use crate::metrics::{
        _bounded_priorities, _scheduling_snapshot_all, _snapshot_all, prometheus_text,
    };
    #[pymodule_export]
    use crate::parallel::{_run_workers, parallelize, WorkerReport};
    #[pymodule_export]
    use crate::queue::PyQueue;
    #[pymodule_export]
    use crate::scheduling::PySchedulingQueue;
    #[pymodule_export]
    use crate::sync::{PyCancelToken, PySemaphore};

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(module: &Bound<'_, PyModule>) -> PyResult<()> {
        module.add("__version__", env!("CARGO_PKG_VERSION"))?;
        module.add("MAX_KEY_DEPTH", crate::key::MAX_DEPTH)?;
        crate::metrics::add_constants(module)?;
        Ok(())
    }
}

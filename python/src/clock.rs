//! `ManualClock`: time that moves only when a test moves it.

use crate::time::{non_negative, to_seconds, type_name};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use workqueue_core::{ManualClock, Timestamp};

/// A clock that moves only when told to, for deterministic tests of
/// delays and rate limits. Starts at 0 seconds. Pass it as
/// ``Queue(clock=...)``; one clock can drive several queues.
///
/// Blocking timeouts (``get(timeout=...)``) always run on real time, so a
/// test on a manual clock cannot hang forever.
#[pyclass(frozen, name = "ManualClock", module = "workqueue")]
pub struct PyManualClock {
    pub(crate) inner: ManualClock,
}

impl PyManualClock {
    /// The `clock` argument of a queue's constructor: a `ManualClock`, or
    /// `None` (also for a missing argument) for the real clock.
    pub(crate) fn from_arg<'py>(
        clock: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyManualClock>>> {
        match clock {
            Some(clock) if !clock.is_none() => clock
                .cast::<PyManualClock>()
                .map(|clock| Some(clock.clone()))
                .map_err(|_| {
                    PyTypeError::new_err(format!(
                        "clock must be a workqueue.ManualClock or None, not {}",
                        type_name(clock)
                    ))
                }),
            _ => Ok(None),
        }
    }
}

#[pymethods]
impl PyManualClock {
    #[new]
    fn new() -> Self {
        PyManualClock {
            inner: ManualClock::new(),
        }
    }

    /// The current time, in seconds since the clock's origin.
    fn now(&self) -> f64 {
        self.inner.now().as_nanos() as f64 / 1e9
    }

    /// Moves time forward by ``seconds`` (a non-negative number or a
    /// ``datetime.timedelta``), making due delayed keys ready and waking
    /// the getters waiting for them.
    fn step(&self, seconds: &Bound<'_, PyAny>) -> PyResult<()> {
        let delta = non_negative(seconds, "seconds")?;
        self.inner.step(delta);
        Ok(())
    }

    /// Sets the time to ``seconds`` after the origin. Going back is
    /// allowed; no delay ever becomes negative.
    fn set(&self, seconds: &Bound<'_, PyAny>) -> PyResult<()> {
        let at = non_negative(seconds, "seconds")?;
        let nanos = u64::try_from(at.as_nanos()).unwrap_or(u64::MAX);
        self.inner.set(Timestamp::from_nanos(nanos));
        Ok(())
    }

    fn __repr__(&self) -> String {
        format!(
            "ManualClock(now={})",
            to_seconds(std::time::Duration::from_nanos(self.inner.now().as_nanos()))
        )
    }
}

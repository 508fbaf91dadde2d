//! `Semaphore` and `CancelToken`.

use crate::blocking::wait_detached;
use crate::time::timeout;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::time::Duration;
use workqueue_core::{CancelToken, Semaphore};

/// A counting semaphore: at most ``permits`` holders at once (the token
/// channel controllers use to bound concurrency). Use it as a context
/// manager (``with sem: ...``) or call ``acquire`` and ``release``.
/// Waiting does not hold the interpreter, and Ctrl-C interrupts it.
#[pyclass(frozen, name = "Semaphore", module = "workqueue")]
pub struct PySemaphore {
    inner: Semaphore,
}

#[pymethods]
impl PySemaphore {
    #[new]
    fn new(permits: i64) -> PyResult<Self> {
        if permits < 1 {
            return Err(PyValueError::new_err(format!(
                "permits must be at least 1, got {permits}"
            )));
        }
        let permits = usize::try_from(permits).unwrap_or(usize::MAX);
        let inner = Semaphore::new(permits).map_err(crate::config_error)?;
        Ok(PySemaphore { inner })
    }

    /// Takes a permit. If ``blocking`` is true, waits for one (at most
    /// ``timeout`` seconds if given). Returns whether a permit was taken,
    /// like ``threading.Semaphore.acquire``.
    #[pyo3(signature = (blocking=true, timeout=None))]
    fn acquire(
        &self,
        py: Python<'_>,
        blocking: bool,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let timeout = self::timeout(timeout)?;
        if self.inner.try_acquire() {
            return Ok(true);
        }
        if !blocking || timeout == Some(Duration::ZERO) {
            return Ok(false);
        }
        let taken = wait_detached(py, timeout, |wait| {
            self.inner
                .acquire_timeout(wait.unwrap_or(Duration::MAX))
                .then_some(())
        })?;
        Ok(taken.is_some())
    }

    /// Returns a permit. Raises ``ValueError`` when every permit is already
    /// available (a permit released twice, or never acquired).
    fn release(&self) -> PyResult<()> {
        self.inner
            .release()
            .map_err(|_| PyValueError::new_err("Semaphore released too many times"))
    }

    /// The number of permits.
    #[getter]
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    /// The number of permits not currently held.
    #[getter]
    fn available(&self) -> usize {
        self.inner.available()
    }

    fn __enter__(&self, py: Python<'_>) -> PyResult<bool> {
        self.acquire(py, true, None)
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<()> {
        self.release()
    }

    fn __repr__(&self) -> String {
        format!(
            "Semaphore(permits={}, available={})",
            self.inner.capacity(),
            self.inner.available()
        )
    }
}

/// A cancellation flag for ``parallelize``: once ``cancel()`` is called,
/// no new piece starts. Cancelling is final; it may be called from any
/// thread, including from inside a piece.
#[pyclass(frozen, name = "CancelToken", module = "workqueue")]
pub struct PyCancelToken {
    pub(crate) inner: CancelToken,
}

#[pymethods]
impl PyCancelToken {
    #[new]
    fn new() -> Self {
        PyCancelToken {
            inner: CancelToken::new(),
        }
    }

    /// Cancels: no piece starts after this call.
    fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether ``cancel`` has been called.
    #[getter]
    fn cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }

    fn __repr__(&self) -> String {
        format!(
            "CancelToken(cancelled={})",
            if self.inner.is_cancelled() {
                "True"
            } else {
                "False"
            }
        )
    }
}

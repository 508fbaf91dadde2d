//! The core's rate limiters, under client-go's names.
//!
//! Each Python limiter holds an `Arc` of a core limiter. Giving one limiter
//! to several queues (or to `MaxOfRateLimiter` and a queue) shares its
//! state, as sharing one limiter value does in client-go.

use crate::config_error;
use crate::key::Key;
use crate::time::{non_negative, to_seconds, type_name};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use std::sync::Arc;
use std::time::Duration;
use workqueue_core::rate_limit::{
    ExponentialBackoff, FastSlow, MaxOf, MaxWait, RateLimiter, TokenBucket,
    DEFAULT_MAX_TRACKED_KEYS,
};
use workqueue_core::{Clock, Timestamp};

use crate::clock::PyManualClock;

pub type SharedLimiter = Arc<dyn RateLimiter<Key>>;

/// The base class of every rate limiter: decides how long a failed key
/// waits before its next retry. Build one of its subclasses and pass it as
/// ``Queue(rate_limiter=...)``.
#[pyclass(frozen, subclass, name = "RateLimiter", module = "workqueue")]
pub struct PyRateLimiter {
    pub(crate) inner: SharedLimiter,
    repr: String,
}

impl PyRateLimiter {
    fn new(inner: SharedLimiter, repr: String) -> Self {
        PyRateLimiter { inner, repr }
    }
}

/// The now of `clock` (a `ManualClock`), or of the real clock.
fn clock_now(clock: Option<&Bound<'_, PyAny>>) -> PyResult<Timestamp> {
    match clock {
        None => Ok(Clock::real().now()),
        Some(clock) if clock.is_none() => Ok(Clock::real().now()),
        Some(clock) => match clock.cast::<PyManualClock>() {
            Ok(manual) => Ok(manual.get().inner.now()),
            Err(_) => Err(PyTypeError::new_err(
                "clock must be a workqueue.ManualClock or None",
            )),
        },
    }
}

#[pymethods]
impl PyRateLimiter {
    /// Counts one more failure of ``key`` and returns how long it should
    /// wait before its retry, in seconds. ``clock`` (a ``ManualClock``)
    /// gives the time token buckets see; the default is the real clock.
    #[pyo3(signature = (key, clock=None))]
    fn when(&self, key: &Bound<'_, PyAny>, clock: Option<&Bound<'_, PyAny>>) -> PyResult<f64> {
        let key = Key::from_py(key, "key")?;
        let now = clock_now(clock)?;
        Ok(to_seconds(self.inner.when(&key, now)))
    }

    /// Stops tracking ``key``: its next failure starts from scratch.
    fn forget(&self, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let key = Key::from_py(key, "key")?;
        self.inner.forget(&key);
        Ok(())
    }

    /// How many failures of ``key`` are being tracked.
    fn num_requeues(&self, key: &Bound<'_, PyAny>) -> PyResult<u32> {
        let key = Key::from_py(key, "key")?;
        Ok(self.inner.num_requeues(&key))
    }

    fn __repr__(&self) -> String {
        self.repr.clone()
    }
}

fn secs_repr(duration: Duration) -> String {
    format!("{}", to_seconds(duration))
}

fn max_tracked_keys(value: Option<i64>) -> PyResult<usize> {
    match value {
        None => Ok(DEFAULT_MAX_TRACKED_KEYS),
        Some(keys) if keys >= 1 => Ok(usize::try_from(keys).unwrap_or(usize::MAX)),
        Some(keys) => Err(PyValueError::new_err(format!(
            "invalid max_tracked_keys: must be at least 1, got {keys}"
        ))),
    }
}

/// Per-key exponential backoff: the n-th failure of a key (from 0) waits
/// ``base_delay * 2**n`` seconds, never more than ``max_delay``, and never
/// overflows to zero. Remembers at most ``max_tracked_keys`` keys (keys
/// that have not failed for a while are forgotten first), so a controller
/// that never calls ``forget`` does not leak.
#[pyclass(frozen, extends = PyRateLimiter, name = "ItemExponentialFailureRateLimiter", module = "workqueue")]
pub struct PyExponential;

impl PyExponential {
    pub fn build(
        base: Duration,
        max: Duration,
        max_keys: usize,
    ) -> PyResult<PyClassInitializer<Self>> {
        let limiter = ExponentialBackoff::<Key>::with_max_tracked_keys(base, max, max_keys)
            .map_err(config_error)?;
        let repr = format!(
            "ItemExponentialFailureRateLimiter(base_delay={}, max_delay={})",
            secs_repr(base),
            secs_repr(max)
        );
        Ok(
            PyClassInitializer::from(PyRateLimiter::new(Arc::new(limiter), repr))
                .add_subclass(PyExponential),
        )
    }
}

#[pymethods]
impl PyExponential {
    #[new]
    #[pyo3(signature = (base_delay, max_delay, *, max_tracked_keys=None))]
    fn new(
        base_delay: &Bound<'_, PyAny>,
        max_delay: &Bound<'_, PyAny>,
        max_tracked_keys: Option<i64>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let base = non_negative(base_delay, "base_delay")?;
        let max = non_negative(max_delay, "max_delay")?;
        PyExponential::build(base, max, self::max_tracked_keys(max_tracked_keys)?)
    }
}

/// The first ``max_fast_attempts`` failures of a key wait ``fast_delay``
/// seconds, later ones ``slow_delay``.
#[pyclass(frozen, extends = PyRateLimiter, name = "ItemFastSlowRateLimiter", module = "workqueue")]
pub struct PyFastSlow;

#[pymethods]
impl PyFastSlow {
    #[new]
    #[pyo3(signature = (fast_delay, slow_delay, max_fast_attempts, *, max_tracked_keys=None))]
    fn new(
        fast_delay: &Bound<'_, PyAny>,
        slow_delay: &Bound<'_, PyAny>,
        max_fast_attempts: i64,
        max_tracked_keys: Option<i64>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let fast = non_negative(fast_delay, "fast_delay")?;
        let slow = non_negative(slow_delay, "slow_delay")?;
        let attempts = u32::try_from(max_fast_attempts).map_err(|_| {
            PyValueError::new_err(format!(
                "invalid max_fast_attempts: must be between 0 and {}, got {max_fast_attempts}",
                u32::MAX
            ))
        })?;
        let limiter = FastSlow::<Key>::with_max_tracked_keys(
            fast,
            slow,
            attempts,
            self::max_tracked_keys(max_tracked_keys)?,
        )
        .map_err(config_error)?;
        let repr = format!(
            "ItemFastSlowRateLimiter(fast_delay={}, slow_delay={}, max_fast_attempts={attempts})",
            secs_repr(fast),
            secs_repr(slow)
        );
        Ok(
            PyClassInitializer::from(PyRateLimiter::new(Arc::new(limiter), repr))
                .add_subclass(PyFastSlow),
        )
    }
}

/// A global token bucket (client-go's ``BucketRateLimiter``): starts full
/// with ``burst`` tokens and refills ``rate`` tokens a second; each failure
/// takes a token, and waits for the next one when none is left. Keys are
/// not told apart: ``forget`` and ``num_requeues`` do nothing.
#[pyclass(frozen, extends = PyRateLimiter, name = "BucketRateLimiter", module = "workqueue")]
pub struct PyBucket;

impl PyBucket {
    pub fn build(rate: f64, burst: u32) -> PyResult<PyClassInitializer<Self>> {
        let limiter = TokenBucket::new(rate, burst).map_err(config_error)?;
        let repr = format!("BucketRateLimiter(rate={rate}, burst={burst})");
        Ok(
            PyClassInitializer::from(PyRateLimiter::new(Arc::new(limiter), repr))
                .add_subclass(PyBucket),
        )
    }
}

#[pymethods]
impl PyBucket {
    #[new]
    fn new(rate: f64, burst: i64) -> PyResult<PyClassInitializer<Self>> {
        let burst = u32::try_from(burst).map_err(|_| {
            PyValueError::new_err(format!(
                "invalid burst: must be between 1 and {}, got {burst}",
                u32::MAX
            ))
        })?;
        PyBucket::build(rate, burst)
    }
}

/// The strictest of several limiters: asks every one (each counts the
/// failure) and waits the longest delay; ``num_requeues`` is the largest
/// count and ``forget`` reaches every member.
#[pyclass(frozen, extends = PyRateLimiter, name = "MaxOfRateLimiter", module = "workqueue")]
pub struct PyMaxOf;

impl PyMaxOf {
    pub fn build(members: Vec<(SharedLimiter, String)>) -> PyResult<PyClassInitializer<Self>> {
        let repr = format!(
            "MaxOfRateLimiter({})",
            members
                .iter()
                .map(|(_, repr)| repr.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let limiters: Vec<Box<dyn RateLimiter<Key>>> = members
            .into_iter()
            .map(|(limiter, _)| Box::new(limiter) as Box<dyn RateLimiter<Key>>)
            .collect();
        let limiter = MaxOf::new(limiters).map_err(config_error)?;
        Ok(
            PyClassInitializer::from(PyRateLimiter::new(Arc::new(limiter), repr))
                .add_subclass(PyMaxOf),
        )
    }
}

fn limiter_arg(obj: &Bound<'_, PyAny>, arg: &str) -> PyResult<(SharedLimiter, String)> {
    match obj.cast::<PyRateLimiter>() {
        Ok(limiter) => {
            let limiter = limiter.get();
            Ok((limiter.inner.clone(), limiter.repr.clone()))
        }
        Err(_) => Err(PyTypeError::new_err(format!(
            "{arg} must be a workqueue.RateLimiter, not {}",
            type_name(obj)
        ))),
    }
}

#[pymethods]
impl PyMaxOf {
    #[new]
    #[pyo3(signature = (*limiters))]
    fn new(limiters: &Bound<'_, PyTuple>) -> PyResult<PyClassInitializer<Self>> {
        let members = limiters
            .iter()
            .map(|limiter| limiter_arg(&limiter, "each of limiters"))
            .collect::<PyResult<Vec<_>>>()?;
        PyMaxOf::build(members)
    }
}

/// Caps another limiter's delay at ``max_delay`` seconds.
#[pyclass(frozen, extends = PyRateLimiter, name = "WithMaxWaitRateLimiter", module = "workqueue")]
pub struct PyMaxWait;

#[pymethods]
impl PyMaxWait {
    #[new]
    fn new(
        limiter: &Bound<'_, PyAny>,
        max_delay: &Bound<'_, PyAny>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let (inner, inner_repr) = limiter_arg(limiter, "limiter")?;
        let max = non_negative(max_delay, "max_delay")?;
        let repr = format!(
            "WithMaxWaitRateLimiter({inner_repr}, max_delay={})",
            secs_repr(max)
        );
        let limiter = MaxWait::new(Box::new(inner), max);
        Ok(
            PyClassInitializer::from(PyRateLimiter::new(Arc::new(limiter), repr))
                .add_subclass(PyMaxWait),
        )
    }
}

/// client-go's ``DefaultControllerRateLimiter``: the larger of a per-key
/// exponential backoff from 5 ms to 1000 s and a global token bucket of
/// 10 keys a second with a burst of 100. A new limiter on every call.
#[pyfunction]
pub fn default_controller_rate_limiter(py: Python<'_>) -> PyResult<Py<PyMaxOf>> {
    let backoff = Py::new(
        py,
        PyExponential::build(
            Duration::from_millis(5),
            Duration::from_secs(1000),
            DEFAULT_MAX_TRACKED_KEYS,
        )?,
    )?;
    let bucket = Py::new(py, PyBucket::build(10.0, 100)?)?;
    let members = [backoff.into_any(), bucket.into_any()]
        .iter()
        .map(|member| limiter_arg(member.bind(py), "limiter"))
        .collect::<PyResult<Vec<_>>>()?;
    Py::new(py, PyMaxOf::build(members)?)
}

/// client-go's ``DefaultItemBasedRateLimiter``: per-key exponential
/// backoff from 1 ms to 1000 s. A new limiter on every call.
#[pyfunction]
pub fn default_item_based_rate_limiter(py: Python<'_>) -> PyResult<Py<PyExponential>> {
    Py::new(
        py,
        PyExponential::build(
            Duration::from_millis(1),
            Duration::from_secs(1000),
            DEFAULT_MAX_TRACKED_KEYS,
        )?,
    )
}

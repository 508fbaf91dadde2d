//! Seconds at the boundary: Python passes `int`, `float` or
//! `datetime.timedelta`; the core takes `Duration`.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDelta, PyDeltaAccess, PyFloat, PyInt, PyString};
use std::time::Duration;

/// A signed length of time, saturating at `Duration::MAX` either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seconds {
    pub negative: bool,
    pub magnitude: Duration,
}

/// The name of `obj`'s type, for error messages.
pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|name| name.to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

fn from_nanos_f64(nanos: f64) -> Duration {
    if nanos >= u64::MAX as f64 {
        // Beyond 584 years in nanoseconds: go through seconds, saturating.
        let secs = nanos / 1e9;
        if secs >= u64::MAX as f64 {
            return Duration::MAX;
        }
        return Duration::from_secs_f64(secs);
    }
    Duration::from_nanos(nanos.round() as u64)
}

/// Reads a number of seconds (`int`, `float`, or `datetime.timedelta`),
/// rounded to the nearest nanosecond. NaN is refused; infinities saturate.
pub fn seconds(obj: &Bound<'_, PyAny>, arg: &str) -> PyResult<Seconds> {
    if let Ok(delta) = obj.cast::<PyDelta>() {
        let micros = i128::from(delta.get_days()) * 86_400_000_000
            + i128::from(delta.get_seconds()) * 1_000_000
            + i128::from(delta.get_microseconds());
        let nanos = micros.unsigned_abs() * 1000;
        let magnitude = Duration::new(
            u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX),
            (nanos % 1_000_000_000) as u32,
        );
        return Ok(Seconds {
            negative: micros < 0,
            magnitude,
        });
    }
    // Other real numbers (numpy scalars, Fraction, Decimal) convert
    // through __float__; strings, bools and the like are refused.
    let numeric = obj.is_instance_of::<PyFloat>()
        || obj.is_instance_of::<PyInt>()
        || (!obj.is_instance_of::<PyString>() && obj.hasattr("__float__").unwrap_or(false));
    if obj.is_instance_of::<PyBool>() || !numeric {
        return Err(PyTypeError::new_err(format!(
            "{arg} must be a number of seconds or a datetime.timedelta, not {}",
            type_name(obj)
        )));
    }
    let value: f64 = obj.extract()?;
    if value.is_nan() {
        return Err(PyValueError::new_err(format!("{arg} must not be NaN")));
    }
    Ok(Seconds {
        negative: value < 0.0,
        magnitude: from_nanos_f64(value.abs() * 1e9),
    })
}

/// A non-negative number of seconds.
pub fn non_negative(obj: &Bound<'_, PyAny>, arg: &str) -> PyResult<Duration> {
    let value = seconds(obj, arg)?;
    if value.negative && !value.magnitude.is_zero() {
        return Err(PyValueError::new_err(format!(
            "{arg} must be a non-negative number of seconds"
        )));
    }
    Ok(value.magnitude)
}

/// An optional timeout: `None` waits forever.
pub fn timeout(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
    match obj {
        None => Ok(None),
        Some(obj) if obj.is_none() => Ok(None),
        Some(obj) => non_negative(obj, "timeout").map(Some),
    }
}

/// A duration as float seconds.
pub fn to_seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

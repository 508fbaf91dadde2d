//! Priorities at the boundary: a Python `int` in 32-bit signed range.
//!
//! Accepted: `int` and its subclasses (an `IntEnum` of priority levels),
//! and other integers that implement `__index__` (NumPy integers). `bool`
//! is refused like it is for keys (`True` is almost always a mistake
//! there), and so are `float`, `None`, `str` and the rest. An int outside
//! `-2**31 .. 2**31 - 1` raises `OverflowError` naming the argument.

use crate::time::type_name;
use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt};
use std::os::raw::c_int;

/// A priority argument; higher is handed out first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority(pub i32);

impl Priority {
    /// The default priority of every call that takes one.
    pub const DEFAULT: Priority = Priority(0);

    /// Converts a Python priority; `arg` names the argument in errors.
    pub fn from_py(obj: &Bound<'_, PyAny>, arg: &str) -> PyResult<Priority> {
        let int = if obj.is_exact_instance_of::<PyInt>() {
            obj.clone()
        } else if obj.is_instance_of::<PyBool>() {
            return Err(PyTypeError::new_err(format!(
                "{arg} must be an int, not bool"
            )));
        } else if obj.is_instance_of::<PyInt>() {
            obj.clone()
        } else if obj.is_instance_of::<PyFloat>() {
            return Err(PyTypeError::new_err(format!(
                "{arg} must be an int, not float (priorities are whole numbers)"
            )));
        } else {
            // NumPy integers and other `__index__` implementers.
            // SAFETY: attached; `obj` is a live object. Returns a new
            // reference or null with an exception set.
            let index = unsafe { ffi::PyNumber_Index(obj.as_ptr()) };
            if index.is_null() {
                // Clear the interpreter's TypeError: ours names the argument.
                drop(PyErr::take(obj.py()));
                return Err(PyTypeError::new_err(format!(
                    "{arg} must be an int, not {}",
                    type_name(obj)
                )));
            }
            // SAFETY: a new, non-null reference.
            unsafe { Bound::from_owned_ptr(obj.py(), index) }
        };
        let mut overflow: c_int = 0;
        // SAFETY: `int` is a live int (or int subclass) and we are attached.
        let value = unsafe { ffi::PyLong_AsLongLongAndOverflow(int.as_ptr(), &mut overflow) };
        if overflow == 0 && value == -1 {
            if let Some(error) = PyErr::take(obj.py()) {
                return Err(error);
            }
        }
        match i32::try_from(value) {
            Ok(priority) if overflow == 0 => Ok(Priority(priority)),
            _ => Err(PyOverflowError::new_err(format!(
                "{arg} is out of range: priorities are 32-bit signed integers, \
                 from -2**31 to 2**31 - 1"
            ))),
        }
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Priority {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Priority> {
        Priority::from_py(&obj, "priority")
    }
}

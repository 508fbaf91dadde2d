//! The exceptions, defined in Python (`workqueue/_errors.py`) so that they
//! can also derive from the standard library's (`queue.Empty`, and
//! `queue.ShutDown` on Python 3.13+), and raised from here.

use pyo3::prelude::*;

pyo3::import_exception!(workqueue._errors, Empty);
pyo3::import_exception!(workqueue._errors, ShutDown);
pyo3::import_exception!(workqueue._errors, Closed);
pyo3::import_exception!(workqueue._errors, ParallelizeError);

/// No key became ready in time.
pub fn empty() -> PyErr {
    Empty::new_err("no key became ready in time")
}

/// The queue is shut down and nothing is left.
pub fn shut_down() -> PyErr {
    ShutDown::new_err("the queue is shut down and empty")
}

/// No item of a scheduling queue could be popped in time.
pub fn nothing_to_pop() -> PyErr {
    Empty::new_err("no item could be popped in time")
}

/// The scheduling queue is closed.
pub fn closed() -> PyErr {
    Closed::new_err("the scheduling queue is closed")
}

//! The scheduling queue class (kube-scheduler's `PriorityQueue`). The
//! pure-Python `workqueue.SchedulingQueue` subclasses it to add asyncio
//! helpers and the `pending()` dataclass.
//!
//! Locking rule, as for `Queue`: the core runs nothing that needs the
//! interpreter under its lock (keys are pure Rust; its readiness observer
//! only touches file descriptors), so fast calls stay attached and every
//! wait runs detached, in slices on the main thread.

use crate::blocking::{get_blocking, next_until};
use crate::clock::PyManualClock;
use crate::errors::{closed, nothing_to_pop, Closed};
use crate::key::Key;
use crate::priority::Priority;
use crate::time::{non_negative, timeout, to_seconds};
use crate::watchers::ReadinessWatchers;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::time::Duration;
use workqueue_core::scheduling::{
    Place, PopError, DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_BACKOFF, DEFAULT_MAX_UNSCHEDULABLE_STAY,
};
use workqueue_core::SchedulingQueue;

/// A scheduling queue (kube-scheduler's ``PriorityQueue``).
///
/// Every item is in one place: active (ready to pop, highest priority
/// first), in flight (popped, until ``done`` or a requeue), backoff
/// (failed: waits ``initial_backoff * 2**(attempts-1)``, capped at
/// ``max_backoff``) or unschedulable (parked until a move event, an update
/// or ``max_unschedulable_stay``).
#[pyclass(
    frozen,
    subclass,
    weakref,
    generic,
    name = "SchedulingQueue",
    module = "workqueue._workqueue"
)]
pub struct PySchedulingQueue {
    inner: SchedulingQueue<Key>,
    clock: Option<Py<PyManualClock>>,
    /// The coroutines of `apop` waiting on the readiness descriptor.
    watchers: ReadinessWatchers,
}

fn pop_error(error: PopError) -> PyErr {
    match error {
        PopError::Empty => nothing_to_pop(),
        PopError::Closed => closed(),
    }
}

/// The `workqueue.Place` member for `place`, or `None`.
fn place_to_py(py: Python<'_>, place: Option<Place>) -> PyResult<Option<Py<PyAny>>> {
    static MEMBERS: PyOnceLock<[Py<PyAny>; 4]> = PyOnceLock::new();
    let Some(place) = place else {
        return Ok(None);
    };
    let members = MEMBERS.get_or_try_init(py, || -> PyResult<[Py<PyAny>; 4]> {
        let enum_type = py.import("workqueue._scheduling")?.getattr("Place")?;
        let member = |value: &str| enum_type.call1((value,)).map(Bound::unbind);
        Ok([
            member("active")?,
            member("backoff")?,
            member("unschedulable")?,
            member("in_flight")?,
        ])
    })?;
    let index = match place {
        Place::Active => 0,
        Place::Backoff => 1,
        Place::Unschedulable => 2,
        Place::InFlight => 3,
    };
    Ok(Some(members[index].clone_ref(py)))
}

/// A positive number of seconds, or `default` for `None`.
fn setting(obj: Option<&Bound<'_, PyAny>>, arg: &str, default: Duration) -> PyResult<Duration> {
    match obj {
        Some(obj) if !obj.is_none() => non_negative(obj, arg),
        _ => Ok(default),
    }
}

impl PySchedulingQueue {
    /// A pop that waits as `block` and `timeout` say.
    fn pop_item(
        &self,
        py: Python<'_>,
        block: bool,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(Key, i32)> {
        let timeout = self::timeout(timeout)?;
        get_blocking(py, block, timeout, PopError::Empty, |wait| {
            self.inner.pop_timeout(wait.unwrap_or(Duration::MAX))
        })?
        .map_err(pop_error)
    }
}

#[pymethods]
impl PySchedulingQueue {
    #[new]
    #[pyo3(
        signature = (
            initial_backoff=None,
            max_backoff=None,
            max_unschedulable_stay=None,
            pop_from_backoff=true,
            clock=None,
            name=None,
        ),
        text_signature = "(initial_backoff=1.0, max_backoff=10.0, \
                          max_unschedulable_stay=300.0, pop_from_backoff=True, clock=None, \
                          name=None)"
    )]
    fn new(
        initial_backoff: Option<&Bound<'_, PyAny>>,
        max_backoff: Option<&Bound<'_, PyAny>>,
        max_unschedulable_stay: Option<&Bound<'_, PyAny>>,
        pop_from_backoff: bool,
        clock: Option<&Bound<'_, PyAny>>,
        name: Option<String>,
    ) -> PyResult<Self> {
        let mut builder = SchedulingQueue::<Key>::builder()
            .initial_backoff(setting(
                initial_backoff,
                "initial_backoff",
                DEFAULT_INITIAL_BACKOFF,
            )?)
            .max_backoff(setting(max_backoff, "max_backoff", DEFAULT_MAX_BACKOFF)?)
            .max_unschedulable_stay(setting(
                max_unschedulable_stay,
                "max_unschedulable_stay",
                DEFAULT_MAX_UNSCHEDULABLE_STAY,
            )?)
            .pop_from_backoff(pop_from_backoff);
        if let Some(name) = name {
            builder = builder.name(name);
        }
        let clock = PyManualClock::from_arg(clock)?;
        if let Some(clock) = &clock {
            builder = builder.clock(&clock.get().inner);
        }
        let inner = builder.build().map_err(crate::config_error)?;
        Ok(PySchedulingQueue {
            inner,
            clock: clock.map(Bound::unbind),
            watchers: ReadinessWatchers::default(),
        })
    }

    /// The name given at construction, or ``None``. A named scheduling
    /// queue reports its sub-queue sizes in the metrics.
    #[getter]
    fn name(&self) -> Option<&str> {
        self.inner.name()
    }

    /// The ``ManualClock`` given at construction, or ``None`` for the real
    /// clock.
    #[getter]
    fn clock(&self, py: Python<'_>) -> Option<Py<PyManualClock>> {
        self.clock.as_ref().map(|clock| clock.clone_ref(py))
    }

    /// The backoff after the first failed attempt, in seconds.
    #[getter]
    fn initial_backoff(&self) -> f64 {
        to_seconds(self.inner.initial_backoff())
    }

    /// The cap of the doubling backoff, in seconds.
    #[getter]
    fn max_backoff(&self) -> f64 {
        to_seconds(self.inner.max_backoff())
    }

    /// The longest stay in the unschedulable pool, in seconds.
    #[getter]
    fn max_unschedulable_stay(&self) -> f64 {
        to_seconds(self.inner.max_unschedulable_stay())
    }

    /// Whether a pop that finds the active queue empty takes the rejected
    /// item whose backoff ends first instead of waiting (KEP-5142).
    #[getter]
    fn pop_from_backoff(&self) -> bool {
        self.inner.pops_from_backoff()
    }

    /// Adds a new item to the active queue at ``priority`` (higher pops
    /// first) and returns ``True``. A key the queue already holds is
    /// updated instead, as ``update`` does, and the call returns ``False``.
    /// Adds are accepted after ``close``, but nothing is popped any more.
    #[pyo3(signature = (key, priority=Priority::DEFAULT), text_signature = "(self, key, priority=0)")]
    fn add(&self, key: &Bound<'_, PyAny>, priority: Priority) -> PyResult<bool> {
        let key = Key::from_py(key, "key")?;
        Ok(self.inner.add(key, priority.0))
    }

    /// Tells the queue that an item changed, with its (possibly new)
    /// ``priority``. Returns the item's ``Place`` afterwards, or ``None``
    /// (and adds nothing) for a key the queue does not hold. An
    /// unschedulable item leaves the pool (to backoff if its backoff has
    /// not ended, else to active); an in-flight one, if then requeued as
    /// unschedulable, goes to backoff instead of the pool.
    fn update<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        priority: Priority,
    ) -> PyResult<Option<Py<PyAny>>> {
        let key = Key::from_py(key, "key")?;
        place_to_py(py, self.inner.update(&key, priority.0))
    }

    /// Removes an item wherever it is; returns ``False`` for a key the
    /// queue does not hold. An in-flight item stays in flight and is
    /// dropped at its ``done`` or requeue.
    fn delete(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let key = Key::from_py(key, "key")?;
        Ok(self.inner.delete(&key))
    }

    /// Pops the highest-priority active item as ``(key, priority)``; it is
    /// in flight until ``done`` or a requeue. Blocks until an item can be
    /// popped if ``block`` is true, for at most ``timeout`` seconds if
    /// given. Raises ``workqueue.Empty`` when nothing came in time (at once
    /// if not blocking) and ``workqueue.Closed`` once the queue is closed.
    /// Waits without holding the interpreter; Ctrl-C interrupts the wait.
    #[pyo3(signature = (block=true, timeout=None))]
    fn pop<'py>(
        &self,
        py: Python<'py>,
        block: bool,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyAny>, i32)> {
        let (key, priority) = self.pop_item(py, block, timeout)?;
        Ok((key.to_py(py)?, priority))
    }

    /// ``pop(block=False)``: pops at once or raises ``Empty`` (or
    /// ``Closed``).
    fn try_pop<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, i32)> {
        self.pop(py, false, None)
    }

    /// Ends the flight of a popped item that succeeded: the queue forgets
    /// it, attempts and all. Returns ``False`` (and changes nothing) when
    /// the key was not in flight.
    fn done(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let key = Key::from_py(key, "key")?;
        Ok(self.inner.done(&key))
    }

    /// Ends the flight of a popped item whose attempt failed with an
    /// error: it waits out its backoff (never popped early), then returns
    /// to the active queue. Returns ``Place.BACKOFF``, or ``None`` when the
    /// key was not in flight or was deleted meanwhile (it is dropped).
    fn requeue_backoff(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Py<PyAny>>> {
        let key = Key::from_py(key, "key")?;
        place_to_py(py, self.inner.requeue_backoff(&key))
    }

    /// Ends the flight of a popped item found unschedulable: it is parked
    /// (``Place.UNSCHEDULABLE``) until a move event, an update or the
    /// maximum stay; if a move event or an update came during its flight
    /// it goes to backoff instead (``Place.BACKOFF``). ``None`` when the
    /// key was not in flight or was deleted meanwhile (it is dropped).
    fn requeue_unschedulable(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Py<PyAny>>> {
        let key = Key::from_py(key, "key")?;
        place_to_py(py, self.inner.requeue_unschedulable(&key))
    }

    /// A cluster event that may make parked items schedulable: every
    /// unschedulable item moves to backoff (if its backoff has not ended)
    /// or to active, longest-parked first, and in-flight items learn of
    /// the event. ``event`` is a label (e.g. ``"NodeAdd"``) counted by
    /// ``moves_by_event``. Returns how many items left the pool.
    fn move_all_to_active_or_backoff(&self, event: &str) -> usize {
        self.inner.move_all_to_active_or_backoff(event)
    }

    /// How many items move events labelled ``event`` have moved out of
    /// the unschedulable pool since the queue was made.
    fn moves_by_event(&self, event: &str) -> u64 {
        self.inner.moves_by_event(event)
    }

    /// Items in the active queue (ready to pop).
    fn active_len(&self) -> usize {
        self.inner.active_len()
    }

    /// Items waiting out a backoff.
    fn backoff_len(&self) -> usize {
        self.inner.backoff_len()
    }

    /// Items parked as unschedulable.
    fn unschedulable_len(&self) -> usize {
        self.inner.unschedulable_len()
    }

    /// Items popped and not yet done or requeued.
    fn in_flight_len(&self) -> usize {
        self.inner.in_flight_len()
    }

    /// The four sizes read at once, as ``(active, backoff, unschedulable,
    /// in_flight)`` (``SchedulingQueue.pending()`` wraps it).
    fn _pending(&self) -> (u64, u64, u64, u64) {
        let pending = self.inner.pending();
        (
            pending.active,
            pending.backoff,
            pending.unschedulable,
            pending.in_flight,
        )
    }

    /// Where the queue holds ``key``: a ``workqueue.Place``, or ``None``
    /// for a key it does not hold.
    fn place(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Option<Py<PyAny>>> {
        let key = Key::from_py(key, "key")?;
        place_to_py(py, self.inner.place(&key))
    }

    /// How many times ``key`` has been popped (0 for a key the queue does
    /// not hold). Its next backoff is ``initial_backoff *
    /// 2**(attempts-1)``, capped at ``max_backoff``.
    fn attempts(&self, key: &Bound<'_, PyAny>) -> PyResult<u32> {
        let key = Key::from_py(key, "key")?;
        Ok(self.inner.attempts(&key))
    }

    /// Closes the queue: every blocked ``pop`` raises ``Closed``, and so
    /// does every later one, even with items left. The other calls keep
    /// working so workers can finish their items. Repeating it is harmless.
    fn close(&self) {
        self.inner.close();
    }

    /// Whether ``close`` has been called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// A file descriptor readable while a pop would not block, once
    /// ``_watch_readiness`` has been called (for ``loop.add_reader``);
    /// created on first use. Linux only.
    fn _readiness_fd(&self) -> PyResult<i32> {
        self.watchers.fd()
    }

    /// Counts one more waiting coroutine; the first makes the queue keep
    /// the descriptor up to date. Returns the descriptor.
    fn _watch_readiness(&self) -> PyResult<i32> {
        self.watchers
            .watch(|observer| self.inner.observe_readiness(observer))
    }

    /// Counts one waiting coroutine less; after the last, the queue stops
    /// updating the descriptor (and pays nothing for it).
    fn _unwatch_readiness(&self) {
        self.watchers
            .unwatch(|| self.inner.stop_observing_readiness());
    }

    /// How many coroutines wait on the readiness descriptor.
    fn _readiness_watchers(&self) -> usize {
        self.watchers.count()
    }

    /// ``pop()``; the iteration ends once the queue is closed.
    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<(Bound<'py, PyAny>, i32)>> {
        next_until::<Closed, _>(py, self.pop(py, true, None))
    }

    fn __repr__(&self) -> String {
        let name = match self.inner.name() {
            Some(name) => format!("name={name:?} "),
            None => String::new(),
        };
        let pending = self.inner.pending();
        format!(
            "<workqueue.SchedulingQueue {name}active={} backoff={} unschedulable={} \
             in_flight={} closed={}>",
            pending.active,
            pending.backoff,
            pending.unschedulable,
            pending.in_flight,
            if self.inner.is_closed() {
                "True"
            } else {
                "False"
            }
        )
    }
}

//! The queue class. The pure-Python `workqueue.Queue` subclasses it to add
//! context managers and asyncio helpers; everything per key is here.
//!
//! Locking rule: the core calls nothing that needs the interpreter while it
//! holds its lock (its readiness observer only re-arms a timerfd), so a
//! thread may wait for that lock while attached. Fast calls (`add`, `done`,
//! a `get` that finds a key at once) therefore stay attached; every wait
//! runs detached (see `blocking`).

use crate::blocking::{get_blocking, next_until, wait_detached};
use crate::clock::PyManualClock;
use crate::errors::{empty, shut_down, ShutDown};
use crate::key::{keys_from_iterable, with_scratch, Key};
use crate::limiters::PyRateLimiter;
use crate::priority::Priority;
use crate::time::{non_negative, seconds, timeout, to_seconds, type_name};
use crate::watchers::ReadinessWatchers;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use std::time::Duration;
use workqueue_core::{GetError, Queue};

/// A work queue (client-go's rate-limiting work queue).
///
/// A key is never handed to two workers at once; adding a key that waits
/// to be handed out does nothing (adds collapse); adding a key that is
/// being processed makes it come back once ``done`` is called.
#[pyclass(
    frozen,
    subclass,
    weakref,
    generic,
    name = "Queue",
    module = "workqueue._workqueue"
)]
pub struct PyQueue {
    pub(crate) inner: Queue<Key>,
    clock: Option<Py<PyManualClock>>,
    limiter: Option<Py<PyRateLimiter>>,
    /// The aging interval given at construction (the core keeps no copy
    /// that can be read back).
    aging: Option<Duration>,
    /// The coroutines of `aget` waiting on the readiness descriptor.
    watchers: ReadinessWatchers,
}

fn get_error(error: GetError) -> PyErr {
    match error {
        GetError::Empty => empty(),
        GetError::ShutDown => shut_down(),
    }
}

impl PyQueue {
    /// `get_with_priority` that waits as `get` does: not at all unless
    /// `block`, at most `timeout` if given, detached and in slices.
    fn get_item(
        &self,
        py: Python<'_>,
        block: bool,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(Key, i32)> {
        let timeout = self::timeout(timeout)?;
        get_blocking(py, block, timeout, GetError::Empty, |wait| {
            self.inner.get_with_priority(wait)
        })?
        .map_err(get_error)
    }
}

/// The figures of a histogram for Python: cumulative counts per bound (as
/// Prometheus exposes them), the sum and the count.
fn histogram_tuple<'py>(
    py: Python<'py>,
    histogram: &workqueue_core::metrics::HistogramSnapshot,
) -> PyResult<Bound<'py, PyTuple>> {
    let cumulative = PyTuple::new(py, histogram.cumulative())?;
    (cumulative, histogram.sum, histogram.count).into_pyobject(py)
}

/// A metrics snapshot as the plain tuple `workqueue.metrics` turns into a
/// `QueueMetrics`.
pub(crate) fn metrics_tuple<'py>(
    py: Python<'py>,
    snapshot: &workqueue_core::metrics::MetricsSnapshot,
) -> PyResult<Bound<'py, PyTuple>> {
    let by_priority = PyTuple::new(py, snapshot.depth_by_priority.iter().copied())?;
    PyTuple::new(
        py,
        [
            snapshot.depth.into_pyobject(py)?.into_any(),
            snapshot.adds.into_pyobject(py)?.into_any(),
            snapshot.retries.into_pyobject(py)?.into_any(),
            histogram_tuple(py, &snapshot.queue_duration)?.into_any(),
            histogram_tuple(py, &snapshot.work_duration)?.into_any(),
            snapshot
                .unfinished_work_seconds
                .into_pyobject(py)?
                .into_any(),
            snapshot
                .longest_running_processor_seconds
                .into_pyobject(py)?
                .into_any(),
            by_priority.into_any(),
        ],
    )
}

#[pymethods]
impl PyQueue {
    #[new]
    #[pyo3(signature = (name=None, rate_limiter=None, clock=None, priority_aging=None))]
    fn new(
        name: Option<String>,
        rate_limiter: Option<&Bound<'_, PyAny>>,
        clock: Option<&Bound<'_, PyAny>>,
        priority_aging: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut builder = Queue::<Key>::builder();
        if let Some(name) = &name {
            builder = builder.name(name.clone());
        }
        let aging = match priority_aging {
            Some(aging) if !aging.is_none() => {
                let interval = non_negative(aging, "priority_aging")?;
                builder = builder
                    .priority_aging(interval)
                    .map_err(|_| PyValueError::new_err("priority_aging must be positive"))?;
                Some(interval)
            }
            _ => None,
        };
        let limiter = match rate_limiter {
            Some(limiter) if !limiter.is_none() => {
                let limiter = limiter.cast::<PyRateLimiter>().map_err(|_| {
                    PyTypeError::new_err(format!(
                        "rate_limiter must be a workqueue.RateLimiter (e.g. \
                         workqueue.default_controller_rate_limiter()), not {}",
                        type_name(limiter)
                    ))
                })?;
                builder = builder.rate_limiter(limiter.get().inner.clone());
                Some(limiter.clone().unbind())
            }
            _ => None,
        };
        let clock = PyManualClock::from_arg(clock)?;
        if let Some(clock) = &clock {
            builder = builder.clock(&clock.get().inner);
        }
        Ok(PyQueue {
            inner: builder.build(),
            clock: clock.map(Bound::unbind),
            limiter,
            aging,
            watchers: ReadinessWatchers::default(),
        })
    }

    /// The name given at construction, or ``None``.
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

    /// The rate limiter given at construction, or ``None`` for the default
    /// controller rate limiter.
    #[getter]
    fn rate_limiter(&self, py: Python<'_>) -> Option<Py<PyRateLimiter>> {
        self.limiter.as_ref().map(|limiter| limiter.clone_ref(py))
    }

    /// The ``priority_aging`` interval in seconds given at construction,
    /// or ``None`` (strict priorities).
    #[getter]
    fn priority_aging(&self) -> Option<f64> {
        self.aging.map(to_seconds)
    }

    /// Marks ``key`` as needing processing. Returns ``True`` when this
    /// scheduled a new run of the key, ``False`` when it collapsed into a
    /// pending run or the queue is shutting down.
    ///
    /// Higher ``priority`` (a 32-bit signed int) is handed out first, FIFO
    /// within a priority. A key already queued keeps the higher of its
    /// priority and ``priority`` (raising it moves it to the back of its
    /// new level); a key being processed comes back at ``done`` with the
    /// highest priority it was added with meanwhile.
    #[pyo3(signature = (key, priority=Priority::DEFAULT), text_signature = "(self, key, priority=0)")]
    fn add(&self, key: &Bound<'_, PyAny>, priority: Priority) -> PyResult<bool> {
        let key = Key::from_py(key, "key")?;
        Ok(self.inner.add_with_priority(key, priority.0))
    }

    /// Adds every key of the iterable ``keys`` in one call (one lock).
    /// Returns how many scheduled a new run. Every key is checked before
    /// any is added. Each key is added as ``add(key, priority)`` would,
    /// in order.
    #[pyo3(
        signature = (keys, priority=Priority::DEFAULT),
        text_signature = "(self, keys, priority=0)"
    )]
    fn add_batch(&self, keys: &Bound<'_, PyAny>, priority: Priority) -> PyResult<usize> {
        with_scratch(|scratch| {
            keys_from_iterable(keys, "each key", scratch)?;
            Ok(self
                .inner
                .add_batch_with_priority(scratch.drain(..), priority.0))
        })
    }

    /// Adds ``key`` once ``seconds`` (a number or a ``datetime.timedelta``)
    /// have passed on the queue's clock; zero or negative adds at once. A
    /// later delay never postpones an earlier one. Returns ``True`` when it
    /// added the key or set its ready time. A key already waiting keeps the
    /// earlier ready time and the higher ``priority``.
    #[pyo3(
        signature = (key, seconds, priority=Priority::DEFAULT),
        text_signature = "(self, key, seconds, priority=0)"
    )]
    fn add_after(
        &self,
        key: &Bound<'_, PyAny>,
        seconds: &Bound<'_, PyAny>,
        priority: Priority,
    ) -> PyResult<bool> {
        let key = Key::from_py(key, "key")?;
        let delay = self::seconds(seconds, "seconds")?;
        let delay = if delay.negative {
            Duration::ZERO
        } else {
            delay.magnitude
        };
        Ok(self.inner.add_after_with_priority(key, delay, priority.0))
    }

    /// Adds ``key`` at ``priority`` after the delay its rate limiter gives
    /// now and returns that delay in seconds; ``None`` when the queue is
    /// shutting down.
    #[pyo3(signature = (key, priority=Priority::DEFAULT), text_signature = "(self, key, priority=0)")]
    fn add_rate_limited(
        &self,
        key: &Bound<'_, PyAny>,
        priority: Priority,
    ) -> PyResult<Option<f64>> {
        let key = Key::from_py(key, "key")?;
        Ok(self
            .inner
            .add_rate_limited_with_priority(key, priority.0)
            .map(to_seconds))
    }

    /// Tells the rate limiter to stop tracking ``key`` (after a success).
    fn forget(&self, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let key = Key::from_py(key, "key")?;
        self.inner.forget(&key);
        Ok(())
    }

    /// How many times ``key`` has been rate-limited since it was last
    /// forgotten.
    fn num_requeues(&self, key: &Bound<'_, PyAny>) -> PyResult<u32> {
        let key = Key::from_py(key, "key")?;
        Ok(self.inner.num_requeues(&key))
    }

    /// Hands out the oldest ready key; call ``done(key)`` after processing
    /// it. Blocks until a key is ready if ``block`` is true, for at most
    /// ``timeout`` seconds if given. Raises ``workqueue.Empty`` when no key
    /// came in time (at once if not blocking), and ``workqueue.ShutDown``
    /// once the queue is shut down and nothing is left. Waits without
    /// holding the interpreter, and Ctrl-C interrupts the wait.
    #[pyo3(signature = (block=true, timeout=None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        block: bool,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let timeout = self::timeout(timeout)?;
        get_blocking(py, block, timeout, GetError::Empty, |wait| {
            self.inner.get_timeout(wait.unwrap_or(Duration::MAX))
        })?
        .map_err(get_error)?
        .to_py(py)
    }

    /// ``get``, also returning the priority the key was queued with:
    /// ``(key, priority)``. Raises ``Empty`` and ``ShutDown`` like ``get``.
    #[pyo3(signature = (block=true, timeout=None))]
    fn get_with_priority<'py>(
        &self,
        py: Python<'py>,
        block: bool,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyAny>, i32)> {
        let (key, priority) = self.get_item(py, block, timeout)?;
        Ok((key.to_py(py)?, priority))
    }

    /// Waits like ``get`` for a key (at most ``timeout`` seconds; ``None``
    /// waits as long as it takes, ``0`` not at all), then hands out up to
    /// ``max_items`` ready keys at once, oldest first, as a list. Raises
    /// ``workqueue.Empty`` and ``workqueue.ShutDown`` like ``get``.
    #[pyo3(signature = (max_items, timeout=None))]
    fn get_batch<'py>(
        &self,
        py: Python<'py>,
        max_items: i64,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        if max_items < 1 {
            return Err(PyValueError::new_err(format!(
                "max_items must be at least 1, got {max_items}"
            )));
        }
        let max = usize::try_from(max_items).unwrap_or(usize::MAX);
        let timeout = self::timeout(timeout)?;
        with_scratch(|keys| {
            get_blocking(py, true, timeout, GetError::Empty, |wait| {
                self.inner.get_batch_into(keys, max, wait)
            })?
            .map_err(get_error)?;
            let list = PyList::empty(py);
            for key in keys.iter() {
                list.append(key.to_py(py)?)?;
            }
            Ok(list)
        })
    }

    /// Marks the processing of ``key`` finished; if it was added meanwhile
    /// it goes to the back of the queue. Returns ``False`` (and changes
    /// nothing) when ``key`` was not being processed.
    fn done(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let key = Key::from_py(key, "key")?;
        Ok(self.inner.done(&key))
    }

    /// ``done`` for every key of the iterable ``keys`` (e.g. the list from
    /// ``get_batch``). Returns how many were being processed.
    fn done_batch(&self, keys: &Bound<'_, PyAny>) -> PyResult<usize> {
        with_scratch(|scratch| {
            keys_from_iterable(keys, "each key", scratch)?;
            Ok(self.inner.done_batch(scratch.iter()))
        })
    }

    /// The number of keys ready to be handed out (not those being
    /// processed, not those waiting for a delay).
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// The number of keys handed out and not yet done.
    fn processing_len(&self) -> usize {
        self.inner.processing_len()
    }

    /// The number of keys waiting for a delay that has not yet passed.
    fn delayed_len(&self) -> usize {
        self.inner.delayed_len()
    }

    /// Ready keys per priority, highest priority first, as a list of
    /// ``(priority, count)`` (empty when nothing is ready).
    fn len_by_priority(&self) -> Vec<(i32, usize)> {
        self.inner.len_by_priority()
    }

    /// The metrics snapshot as a plain tuple, or ``None`` for an unnamed
    /// queue (``Queue.metrics()`` wraps it).
    fn _metrics<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.inner
            .metrics()
            .map(|snapshot| metrics_tuple(py, &snapshot))
            .transpose()
    }

    /// Stops accepting keys and wakes every blocked getter, sync and async;
    /// keys already queued are still handed out. Keys waiting for a delay
    /// are dropped. Releases a waiting ``shutdown_with_drain``. Repeating
    /// it is harmless.
    fn shutdown(&self) {
        self.inner.shutdown();
    }

    /// Shuts down, then waits until every key that was queued or being
    /// processed has been handed out and marked done (at most ``timeout``
    /// seconds if given). Returns ``True`` when the queue drained, ``False``
    /// on timeout or when a plain ``shutdown`` released the wait.
    #[pyo3(signature = (timeout=None))]
    fn shutdown_with_drain(
        &self,
        py: Python<'_>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let timeout = self::timeout(timeout)?;
        // Shut down and start the drain without waiting; then wait for it
        // in slices (signal checks in between on the main thread). Waiting
        // with `wait_drained` shuts nothing down again, so a plain
        // `shutdown` in between still releases the wait.
        if self.inner.shutdown_with_drain_timeout(Duration::ZERO) {
            return Ok(true);
        }
        if timeout == Some(Duration::ZERO) {
            return Ok(false);
        }
        let drained = wait_detached(py, timeout, |wait| {
            if self.inner.wait_drained(wait) {
                return Some(true);
            }
            if self.inner.draining() {
                return None;
            }
            // No drain waits any more: it drained just now, or a plain
            // `shutdown` released it.
            Some(self.inner.wait_drained(Some(Duration::ZERO)))
        })?;
        Ok(drained.unwrap_or(false))
    }

    /// Whether ``shutdown`` or ``shutdown_with_drain`` has been called.
    #[getter]
    fn shutting_down(&self) -> bool {
        self.inner.shutting_down()
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// ``get()``; the iteration ends once the queue is shut down and empty.
    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        next_until::<ShutDown, _>(py, self.get(py, true, None))
    }

    /// A file descriptor readable while a get would not block, once
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

    fn __repr__(&self) -> String {
        let name = match self.inner.name() {
            Some(name) => format!("name={name:?} "),
            None => String::new(),
        };
        format!(
            "<workqueue.Queue {name}ready={} processing={} delayed={} shutting_down={}>",
            self.inner.len(),
            self.inner.processing_len(),
            self.inner.delayed_len(),
            if self.inner.shutting_down() {
                "True"
            } else {
                "False"
            }
        )
    }
}

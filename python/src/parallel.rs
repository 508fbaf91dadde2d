//! `parallelize` and `run_workers`: Python callables on Rust threads.
//!
//! Each call of the Python function attaches to the interpreter, so with
//! the GIL the calls run one at a time unless the function releases it
//! (I/O, `time.sleep`, NumPy, ...). The caller waits detached; on the main
//! thread Ctrl-C stops new work, waits for the calls in flight, and then
//! raises `KeyboardInterrupt` (a second Ctrl-C stops waiting).

use crate::blocking::run_interruptible;
use crate::errors::ParallelizeError;
use crate::key::Key;
use crate::queue::PyQueue;
use crate::sync::PyCancelToken;
use pyo3::exceptions::{PyException, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use workqueue_core::{parallelize_until, CancelToken, GetError, ParallelizeError as CoreError};

fn at_least(value: i64, min: i64, arg: &str) -> PyResult<usize> {
    if value < min {
        return Err(PyValueError::new_err(format!(
            "{arg} must be at least {min}, got {value}"
        )));
    }
    Ok(usize::try_from(value).unwrap_or(usize::MAX))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether `error` should stop everything rather than count as one failed
/// call: `KeyboardInterrupt`, `SystemExit` and other non-`Exception`s.
fn is_fatal(py: Python<'_>, error: &PyErr) -> bool {
    !error.is_instance_of::<PyException>(py)
}

#[derive(Default)]
struct PieceResults {
    completed: AtomicUsize,
    failures: Mutex<Vec<(usize, PyErr)>>,
    fatal: Mutex<Option<PyErr>>,
}

/// Runs ``fn(i)`` for every ``i`` in ``range(pieces)`` on up to ``workers``
/// threads, handing out ``chunk_size`` consecutive pieces at a time
/// (client-go's ``ParallelizeUntil``). ``cancel`` (a ``CancelToken``) is
/// checked before every piece: once cancelled, no new piece starts.
///
/// Returns how many pieces ran (all of them unless cancelled). If pieces
/// raised, the other pieces still run and ``ParallelizeError`` is raised
/// at the end, listing every ``(piece, exception)``.
///
/// ``fn`` runs on worker threads and holds the GIL while it runs: pieces
/// overlap only where ``fn`` releases it (I/O, ``time.sleep``, NumPy).
#[pyfunction]
#[pyo3(signature = (workers, pieces, r#fn, chunk_size=1, cancel=None))]
pub fn parallelize(
    py: Python<'_>,
    workers: i64,
    pieces: i64,
    r#fn: &Bound<'_, PyAny>,
    chunk_size: i64,
    cancel: Option<&Bound<'_, PyAny>>,
) -> PyResult<usize> {
    let workers = at_least(workers, 1, "workers")?;
    let pieces = at_least(pieces, 0, "pieces")?;
    let chunk_size = at_least(chunk_size, 1, "chunk_size")?;
    if !r#fn.is_callable() {
        return Err(PyTypeError::new_err("fn must be callable"));
    }
    let user_token = match cancel {
        Some(token) if !token.is_none() => Some(
            token
                .cast::<PyCancelToken>()
                .map_err(|_| {
                    PyTypeError::new_err("cancel must be a workqueue.CancelToken or None")
                })?
                .get()
                .inner
                .clone(),
        ),
        _ => None,
    };
    if pieces == 0 {
        return Ok(0);
    }
    let func = r#fn.clone().unbind();
    let stop = CancelToken::new();
    let results = Arc::new(PieceResults::default());
    let work = {
        let stop = stop.clone();
        let results = results.clone();
        move || {
            parallelize_until(Some(&stop), workers, pieces, chunk_size, |piece| {
                if user_token.as_ref().is_some_and(CancelToken::is_cancelled) {
                    stop.cancel();
                    return;
                }
                Python::attach(|py| match func.call1(py, (piece,)) {
                    Ok(_) => {
                        results.completed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) if is_fatal(py, &error) => {
                        stop.cancel();
                        lock(&results.fatal).get_or_insert(error);
                    }
                    Err(error) => {
                        results.completed.fetch_add(1, Ordering::Relaxed);
                        lock(&results.failures).push((piece, error));
                    }
                })
            })
        }
    };
    let outcome = run_interruptible(py, work, || stop.cancel())?;
    if let Some(fatal) = lock(&results.fatal).take() {
        return Err(fatal);
    }
    if let Err(CoreError::InvalidArgument(error)) = outcome {
        return Err(crate::config_error(error));
    }
    let mut failures = std::mem::take(&mut *lock(&results.failures));
    if !failures.is_empty() {
        failures.sort_by_key(|(piece, _)| *piece);
        let first = failures[0].1.clone_ref(py);
        let list = PyList::empty(py);
        for (piece, error) in failures {
            list.append((piece, error.into_value(py)))?;
        }
        let error = PyErr::from_value(py.get_type::<ParallelizeError>().call1((list,))?);
        error.set_cause(py, Some(first));
        return Err(error);
    }
    Ok(results.completed.load(Ordering::Relaxed))
}

/// What ``run_workers`` did, counted once every worker has returned. Every
/// handler call is counted in exactly one of ``succeeded``, ``retried``,
/// ``dropped`` and ``abandoned``.
#[pyclass(frozen, eq, name = "WorkerReport", module = "workqueue")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Handler calls that returned normally.
    #[pyo3(get)]
    succeeded: u64,
    /// Failed calls whose key was requeued with ``add_rate_limited``.
    #[pyo3(get)]
    retried: u64,
    /// Keys given up on after ``max_retries`` retries.
    #[pyo3(get)]
    dropped: u64,
    /// Failed calls that were not retried because the queue was shutting
    /// down (the key was not requeued; it is not given up on either: not
    /// forgotten, not passed to ``on_dropped``).
    #[pyo3(get)]
    abandoned: u64,
}

#[pymethods]
impl WorkerReport {
    fn __repr__(&self) -> String {
        format!(
            "WorkerReport(succeeded={}, retried={}, dropped={}, abandoned={})",
            self.succeeded, self.retried, self.dropped, self.abandoned
        )
    }
}

#[derive(Default)]
struct Counters {
    succeeded: AtomicU64,
    retried: AtomicU64,
    dropped: AtomicU64,
    abandoned: AtomicU64,
}

/// How often an idle worker looks whether it was asked to stop.
const STOP_POLL: Duration = Duration::from_millis(25);

struct Workers {
    queue: workqueue_core::Queue<Key>,
    handler: Py<PyAny>,
    on_dropped: Option<Py<PyAny>>,
    max_retries: u32,
    stop: AtomicBool,
    counters: Counters,
    fatal: Mutex<Option<PyErr>>,
}

impl Workers {
    fn work(&self) {
        while !self.stop.load(Ordering::Relaxed) {
            let key = match self.queue.get_timeout(STOP_POLL) {
                Ok(key) => key,
                Err(GetError::Empty) => continue,
                Err(GetError::ShutDown) => return,
            };
            self.process(key);
        }
    }

    fn process(&self, key: Key) {
        Python::attach(|py| {
            let outcome = key
                .to_py(py)
                .and_then(|py_key| self.handler.call1(py, (py_key,)));
            match outcome {
                Ok(_) => {
                    self.counters.succeeded.fetch_add(1, Ordering::Relaxed);
                    self.queue.forget(&key);
                }
                Err(error) if is_fatal(py, &error) => {
                    // Not processed: put it back for whoever runs next.
                    self.stop.store(true, Ordering::Relaxed);
                    self.queue.add(key.clone());
                    lock(&self.fatal).get_or_insert(error);
                }
                Err(error) => {
                    if self.queue.num_requeues(&key) < self.max_retries {
                        // A queue shutting down refuses the retry (decided
                        // under its lock): the run is abandoned.
                        let counter = match self.queue.add_rate_limited(key.clone()) {
                            Some(_) => &self.counters.retried,
                            None => &self.counters.abandoned,
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                    } else {
                        // Out of retries: give up on the key.
                        self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                        self.queue.forget(&key);
                        if let Some(on_dropped) = &self.on_dropped {
                            let called = key.to_py(py).and_then(|py_key| {
                                on_dropped.call1(py, (py_key, error.into_value(py)))
                            });
                            if let Err(error) = called {
                                error.write_unraisable(py, Some(on_dropped.bind(py)));
                            }
                        }
                    }
                }
            }
            self.queue.done(&key);
        });
    }
}

/// The controller worker loop on ``workers`` threads until ``queue`` is
/// shut down and empty: get a key, call ``handler(key)``; on success
/// ``forget`` the key; if it raises, requeue the key with
/// ``add_rate_limited`` until it has been retried ``max_retries`` times,
/// then ``forget`` it and call ``on_dropped(key, exception)``; then
/// ``done``. A failure the shutting-down queue takes no retry for is
/// counted abandoned (not forgotten, not passed to ``on_dropped``).
#[pyfunction]
#[pyo3(signature = (queue, handler, workers=1, max_retries=5, on_dropped=None))]
pub fn _run_workers(
    py: Python<'_>,
    queue: &Bound<'_, PyAny>,
    handler: &Bound<'_, PyAny>,
    workers: i64,
    max_retries: i64,
    on_dropped: Option<&Bound<'_, PyAny>>,
) -> PyResult<WorkerReport> {
    let queue = queue
        .cast::<PyQueue>()
        .map_err(|_| PyTypeError::new_err("queue must be a workqueue.Queue"))?;
    let workers = at_least(workers, 1, "workers")?;
    let max_retries = u32::try_from(max_retries).map_err(|_| {
        PyValueError::new_err(format!(
            "max_retries must be between 0 and {}, got {max_retries}",
            u32::MAX
        ))
    })?;
    if !handler.is_callable() {
        return Err(PyTypeError::new_err("handler must be callable"));
    }
    let on_dropped = match on_dropped {
        Some(callback) if !callback.is_none() => {
            if !callback.is_callable() {
                return Err(PyTypeError::new_err("on_dropped must be callable or None"));
            }
            Some(callback.clone().unbind())
        }
        _ => None,
    };
    let shared = Arc::new(Workers {
        queue: queue.get().inner.clone(),
        handler: handler.clone().unbind(),
        on_dropped,
        max_retries,
        stop: AtomicBool::new(false),
        counters: Counters::default(),
        fatal: Mutex::new(None),
    });
    let work = {
        let shared = shared.clone();
        move || {
            std::thread::scope(|scope| {
                for _ in 0..workers {
                    scope.spawn(|| shared.work());
                }
            })
        }
    };
    run_interruptible(py, work, || shared.stop.store(true, Ordering::Relaxed))?;
    if let Some(fatal) = lock(&shared.fatal).take() {
        return Err(fatal);
    }
    Ok(WorkerReport {
        succeeded: shared.counters.succeeded.load(Ordering::Relaxed),
        retried: shared.counters.retried.load(Ordering::Relaxed),
        dropped: shared.counters.dropped.load(Ordering::Relaxed),
        abandoned: shared.counters.abandoned.load(Ordering::Relaxed),
    })
}

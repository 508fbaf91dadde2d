//! Waiting without holding the interpreter, and without deafening it.
//!
//! Every call that can block runs detached from the interpreter, so other
//! Python threads keep running. On the main thread, where Python handles
//! signals, the wait is cut into short slices with `check_signals` in
//! between, so Ctrl-C (or any signal handler that raises) interrupts it.
//! Other threads never handle signals and wait in one piece.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long the main thread waits before it looks at signals again.
pub const SIGNAL_SLICE: Duration = Duration::from_millis(50);

/// Whether this thread is Python's main thread (the one that runs signal
/// handlers). Asked anew each time: a fork from another thread moves it.
pub fn on_main_thread(py: Python<'_>) -> bool {
    static MAIN_THREAD: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let main_thread = MAIN_THREAD.get_or_try_init(py, || {
        py.import("threading")?
            .getattr("main_thread")
            .map(Bound::unbind)
    });
    let Ok(main_thread) = main_thread else {
        return false;
    };
    let ident = main_thread
        .bind(py)
        .call0()
        .and_then(|thread| thread.getattr("ident"))
        .and_then(|ident| ident.extract::<u64>());
    // SAFETY: attached; the call has no preconditions.
    let current = unsafe { pyo3::ffi::PyThread_get_thread_ident() } as u64;
    matches!(ident, Ok(ident) if ident == current)
}

/// Calls `attempt(wait)` detached until it returns `Some`, or until
/// `timeout` (`None`: no limit) has passed, then returns `None`.
/// `attempt` must wait at most `wait` (`None`: as long as it likes) and
/// return `None` if nothing happened in that time.
pub fn wait_detached<T, F>(
    py: Python<'_>,
    timeout: Option<Duration>,
    mut attempt: F,
) -> PyResult<Option<T>>
where
    T: Send,
    F: FnMut(Option<Duration>) -> Option<T> + Send,
{
    // `None`: no deadline (also for a timeout too large to represent).
    let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
    let slice = on_main_thread(py).then_some(SIGNAL_SLICE);
    loop {
        let left = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
        let wait = match (left, slice) {
            (Some(left), Some(slice)) => Some(left.min(slice)),
            (left, slice) => left.or(slice),
        };
        if let Some(done) = py.detach(|| attempt(wait)) {
            return Ok(Some(done));
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Ok(None);
        }
        py.check_signals()?;
    }
}

/// A get or pop as the queues offer it. `attempt(wait)` waits at most
/// `wait` (`None`: as long as it likes) and returns `Err(empty)` when
/// nothing came in that time. The first attempt does not wait and stays
/// attached; then, if `block` and `timeout` (`None`: no limit) allow, the
/// attempts go on as [`wait_detached`] runs them. Returns the last
/// attempt's result (`Err(empty)` when nothing came in time).
pub fn get_blocking<T, E, F>(
    py: Python<'_>,
    block: bool,
    timeout: Option<Duration>,
    empty: E,
    mut attempt: F,
) -> PyResult<Result<T, E>>
where
    T: Send,
    E: PartialEq + Send + Sync,
    F: FnMut(Option<Duration>) -> Result<T, E> + Send,
{
    let first = attempt(Some(Duration::ZERO));
    if first.as_ref().err() != Some(&empty) || !block || timeout == Some(Duration::ZERO) {
        return Ok(first);
    }
    let waited = wait_detached(py, timeout, |wait| match attempt(wait) {
        Err(error) if error == empty => None,
        other => Some(other),
    })?;
    Ok(waited.unwrap_or(Err(empty)))
}

/// `result` as an iterator's next item: an error of type `End` ends the
/// iteration (`None`), any other is raised.
pub fn next_until<End: pyo3::PyTypeInfo, T>(
    py: Python<'_>,
    result: PyResult<T>,
) -> PyResult<Option<T>> {
    match result {
        Ok(item) => Ok(Some(item)),
        Err(error) if error.is_instance_of::<End>(py) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Runs `work` to completion detached from the interpreter, for work that
/// cannot wait in slices but can be asked to stop. On the main thread it
/// runs on a helper thread while the caller watches for signals: when a
/// signal handler raises, `interrupt` is called and the wait goes on until
/// `work` returns, then the signal's error is returned. A second signal
/// stops the waiting at once (`work` finishes in the background).
pub fn run_interruptible<T, F, I>(py: Python<'_>, work: F, interrupt: I) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
    I: Fn(),
{
    if !on_main_thread(py) {
        return Ok(py.detach(work));
    }
    let result = spawn(work)?;
    let mut interrupted: Option<PyErr> = None;
    loop {
        if let Some(done) = py.detach(|| result.wait(SIGNAL_SLICE)) {
            return match interrupted {
                Some(error) => Err(error),
                None => done,
            };
        }
        if let Err(error) = py.check_signals() {
            if interrupted.is_some() {
                return Err(error);
            }
            interrupt();
            interrupted = Some(error);
        }
    }
}

/// The result of work running on a helper thread.
struct Pending<T> {
    slot: Mutex<Option<PyResult<T>>>,
    filled: Condvar,
}

impl<T> Pending<T> {
    /// Waits at most `wait` for the result.
    fn wait(&self, wait: Duration) -> Option<PyResult<T>> {
        let slot = self
            .slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (mut slot, _) = self
            .filled
            .wait_timeout_while(slot, wait, |slot| slot.is_none())
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slot.take()
    }
}

/// Starts `work` on a helper thread.
fn spawn<T, F>(work: F) -> PyResult<Arc<Pending<T>>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let pending = Arc::new(Pending {
        slot: Mutex::new(None),
        filled: Condvar::new(),
    });
    let filled = pending.clone();
    std::thread::Builder::new()
        .name("workqueue-wait".to_owned())
        .spawn(move || {
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).map_err(|_| {
                    pyo3::exceptions::PyRuntimeError::new_err("the waiting thread panicked")
                });
            *filled
                .slot
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(outcome);
            filled.filled.notify_all();
        })
        .map_err(|error| pyo3::exceptions::PyRuntimeError::new_err(error.to_string()))?;
    Ok(pending)
}

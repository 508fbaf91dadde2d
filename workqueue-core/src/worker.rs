//! The controller worker loop that every client-go controller copies
//! (`processNextWorkItem`), as a helper.
//!
//! Each worker: `get` a key → run the handler → on success `forget` the
//! key; on failure requeue it with `add_rate_limited` until it has been
//! retried `max_retries` times, then `forget` it and report it dropped →
//! `done`. A failure the queue refuses to requeue because it is shutting
//! down is counted abandoned. Workers return when the queue is shut down
//! and exhausted.

use crate::error::ConfigError;
use crate::queue::{Key, Queue};
use std::any::Any;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

/// Why the handler failed for a key.
#[derive(Debug)]
pub enum Failure<E> {
    /// The handler returned an error.
    Error(E),
    /// The handler panicked; the message of the panic.
    Panic(String),
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error(error) => error.fmt(f),
            Failure::Panic(message) => write!(f, "handler panicked: {message}"),
        }
    }
}

/// What the workers did, counted once they have all returned. Every
/// handler run is counted in exactly one of `succeeded`, `retried`,
/// `dropped` and `abandoned`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Handler runs that succeeded.
    pub succeeded: u64,
    /// Failed runs whose key was requeued with backoff.
    pub retried: u64,
    /// Keys given up on after `max_retries` retries.
    pub dropped: u64,
    /// Handler runs that panicked (also counted as retried, dropped or
    /// abandoned).
    pub panicked: u64,
    /// Failed runs that were not retried because the queue was shutting
    /// down (the key was not requeued, nor forgotten, nor reported
    /// dropped).
    pub abandoned: u64,
}

/// A pool of workers draining a queue. `max_retries` defaults to 5.
pub struct WorkerPool {
    workers: usize,
    max_retries: u32,
}

#[derive(Default)]
struct Counters {
    succeeded: AtomicU64,
    retried: AtomicU64,
    dropped: AtomicU64,
    panicked: AtomicU64,
    abandoned: AtomicU64,
}

impl WorkerPool {
    /// `workers` threads (at least one).
    pub fn new(workers: usize) -> Result<Self, ConfigError> {
        if workers == 0 {
            return Err(ConfigError::new("workers", "must be at least 1"));
        }
        Ok(WorkerPool {
            workers,
            max_retries: 5,
        })
    }

    /// Retries a failing key this many times before dropping it.
    pub fn max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Runs the workers until `queue` is shut down and exhausted; a drop is
    /// ignored.
    pub fn run<K, E, H>(&self, queue: &Queue<K>, handler: H) -> WorkerReport
    where
        K: Key,
        E: Send,
        H: Fn(&K) -> Result<(), E> + Sync,
    {
        self.run_reporting(queue, handler, |_key, _failure| {})
    }

    /// Like [`WorkerPool::run`], calling `on_dropped` with each key given up
    /// on and its last failure.
    pub fn run_reporting<K, E, H, D>(
        &self,
        queue: &Queue<K>,
        handler: H,
        on_dropped: D,
    ) -> WorkerReport
    where
        K: Key,
        E: Send,
        H: Fn(&K) -> Result<(), E> + Sync,
        D: Fn(K, Failure<E>) + Sync,
    {
        let counters = Counters::default();
        thread::scope(|scope| {
            for _ in 1..self.workers {
                scope.spawn(|| self.work(queue, &handler, &on_dropped, &counters));
            }
            self.work(queue, &handler, &on_dropped, &counters);
        });
        WorkerReport {
            succeeded: counters.succeeded.load(Ordering::Relaxed),
            retried: counters.retried.load(Ordering::Relaxed),
            dropped: counters.dropped.load(Ordering::Relaxed),
            panicked: counters.panicked.load(Ordering::Relaxed),
            abandoned: counters.abandoned.load(Ordering::Relaxed),
        }
    }

    fn work<K, E, H, D>(&self, queue: &Queue<K>, handler: &H, on_dropped: &D, counters: &Counters)
    where
        K: Key,
        H: Fn(&K) -> Result<(), E>,
        D: Fn(K, Failure<E>),
    {
        while let Some(key) = queue.get() {
            let outcome = match catch_unwind(AssertUnwindSafe(|| handler(&key))) {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(Failure::Error(error)),
                Err(payload) => {
                    counters.panicked.fetch_add(1, Ordering::Relaxed);
                    Err(Failure::Panic(panic_message(payload.as_ref())))
                }
            };
            match outcome {
                Ok(()) => {
                    counters.succeeded.fetch_add(1, Ordering::Relaxed);
                    queue.forget(&key);
                }
                Err(_) if queue.num_requeues(&key) < self.max_retries => {
                    // A queue shutting down refuses the retry (decided under
                    // its lock): the run is abandoned.
                    let counter = match queue.add_rate_limited(key.clone()) {
                        Some(_) => &counters.retried,
                        None => &counters.abandoned,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                Err(failure) => {
                    counters.dropped.fetch_add(1, Ordering::Relaxed);
                    queue.forget(&key);
                    on_dropped(key.clone(), failure);
                }
            }
            queue.done(&key);
        }
    }
}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

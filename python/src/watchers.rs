//! Who waits on a queue's readiness descriptor, for `Queue` and
//! `SchedulingQueue` alike: the descriptor (`readiness.rs`) is created at
//! first use, and the queue reports to it only while coroutines wait, so a
//! queue nobody awaits pays nothing.

use pyo3::prelude::*;
use std::sync::Arc;
use workqueue_core::ReadinessObserver;

/// A queue's readiness descriptor and the number of coroutines waiting on
/// it.
#[derive(Default)]
pub struct ReadinessWatchers {
    #[cfg(target_os = "linux")]
    readiness: std::sync::OnceLock<Arc<crate::readiness::ReadinessFd>>,
    #[cfg(target_os = "linux")]
    count: std::sync::Mutex<usize>,
}

/// Where Linux's epoll, eventfd and timerfd are missing, there is no
/// descriptor: the asyncio helpers poll.
#[cfg(not(target_os = "linux"))]
fn unsupported() -> PyErr {
    pyo3::exceptions::PyNotImplementedError::new_err(
        "readiness descriptors need Linux (epoll, eventfd, timerfd)",
    )
}

impl ReadinessWatchers {
    #[cfg(target_os = "linux")]
    fn readiness(&self) -> PyResult<&Arc<crate::readiness::ReadinessFd>> {
        if let Some(readiness) = self.readiness.get() {
            return Ok(readiness);
        }
        let created = Arc::new(crate::readiness::ReadinessFd::new()?);
        Ok(self.readiness.get_or_init(|| created))
    }

    #[cfg(target_os = "linux")]
    fn lock_count(&self) -> std::sync::MutexGuard<'_, usize> {
        self.count
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The descriptor, readable while a get (pop) would not block once
    /// someone watches; created on first use.
    pub fn fd(&self) -> PyResult<i32> {
        #[cfg(target_os = "linux")]
        {
            Ok(self.readiness()?.fd())
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err(unsupported())
        }
    }

    /// Counts one more waiting coroutine; the first has `observe` install
    /// the descriptor as the queue's observer. Returns the descriptor.
    pub fn watch(&self, observe: impl FnOnce(Arc<dyn ReadinessObserver>)) -> PyResult<i32> {
        #[cfg(target_os = "linux")]
        {
            let readiness = self.readiness()?;
            let mut count = self.lock_count();
            if *count == 0 {
                observe(readiness.clone());
            }
            *count += 1;
            Ok(readiness.fd())
        }
        #[cfg(not(target_os = "linux"))]
        {
            drop(observe);
            Err(unsupported())
        }
    }

    /// Counts one waiting coroutine less; after the last, `stop` removes
    /// the queue's observer.
    pub fn unwatch(&self, stop: impl FnOnce()) {
        #[cfg(target_os = "linux")]
        {
            let mut count = self.lock_count();
            if *count > 0 {
                *count -= 1;
                if *count == 0 {
                    stop();
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        drop(stop);
    }

    /// How many coroutines wait on the descriptor.
    pub fn count(&self) -> usize {
        #[cfg(target_os = "linux")]
        {
            *self.lock_count()
        }
        #[cfg(not(target_os = "linux"))]
        {
            0
        }
    }
}

//! A counting semaphore: the token channel controllers use to bound
//! concurrency, with timeouts and an RAII permit.

use crate::error::ConfigError;
use crate::sync::{lock, wait_timeout, wait_untimed, Condvar, Mutex};
use std::fmt;
use std::time::{Duration, Instant};

/// At most `capacity` holders at once.
pub struct Semaphore {
    available: Mutex<Permits>,
    released: Condvar,
    capacity: usize,
}

struct Permits {
    available: usize,
    waiters: usize,
}

/// `release` was called with every permit already available: a permit was
/// released twice, or never acquired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReleaseError;

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("released a permit that was not acquired")
    }
}

impl std::error::Error for ReleaseError {}

/// A held permit; dropping it releases the permit.
#[must_use = "the permit is released as soon as it is dropped"]
pub struct SemaphorePermit<'a> {
    semaphore: &'a Semaphore,
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        // Cannot fail: this permit was acquired and not yet released.
        let _ = self.semaphore.release();
    }
}

impl Semaphore {
    /// A semaphore with `capacity` permits (at least one), all available.
    pub fn new(capacity: usize) -> Result<Self, ConfigError> {
        if capacity == 0 {
            return Err(ConfigError::new("permits", "must be at least 1"));
        }
        Ok(Semaphore {
            available: Mutex::new(Permits {
                available: capacity,
                waiters: 0,
            }),
            released: Condvar::new(),
            capacity,
        })
    }

    /// The number of permits.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Permits not currently held.
    pub fn available(&self) -> usize {
        lock(&self.available).available
    }

    /// Takes a permit, waiting as long as it takes.
    pub fn acquire(&self) {
        self.acquire_until(None);
    }

    /// Takes a permit if one is available now.
    pub fn try_acquire(&self) -> bool {
        let mut permits = lock(&self.available);
        if permits.available == 0 {
            return false;
        }
        permits.available -= 1;
        true
    }

    /// Takes a permit, waiting at most `timeout`. Returns whether it did.
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.acquire_until(Some(deadline)),
            None => self.acquire_until(None),
        }
    }

    fn acquire_until(&self, deadline: Option<Instant>) -> bool {
        let mut permits = lock(&self.available);
        while permits.available == 0 {
            permits.waiters += 1;
            permits = match deadline {
                None => wait_untimed(&self.released, permits),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        permits.waiters -= 1;
                        return false;
                    }
                    wait_timeout(&self.released, permits, left)
                }
            };
            permits.waiters -= 1;
        }
        permits.available -= 1;
        true
    }

    /// Returns a permit taken with `acquire`, `try_acquire` or
    /// `acquire_timeout`.
    pub fn release(&self) -> Result<(), ReleaseError> {
        let mut permits = lock(&self.available);
        if permits.available == self.capacity {
            return Err(ReleaseError);
        }
        permits.available += 1;
        let wake = permits.waiters > 0;
        drop(permits);
        if wake {
            self.released.notify_one();
        }
        Ok(())
    }

    /// Takes a permit, waiting as long as it takes; dropping the guard
    /// releases it.
    pub fn access(&self) -> SemaphorePermit<'_> {
        self.acquire();
        SemaphorePermit { semaphore: self }
    }

    /// A permit guard if a permit is available now.
    pub fn try_access(&self) -> Option<SemaphorePermit<'_>> {
        // `then`, not `then_some`: a permit built eagerly would be dropped
        // on failure, releasing a permit that was never taken.
        self.try_acquire()
            .then(|| SemaphorePermit { semaphore: self })
    }

    /// A permit guard, waiting at most `timeout`.
    pub fn access_timeout(&self, timeout: Duration) -> Option<SemaphorePermit<'_>> {
        self.acquire_timeout(timeout)
            .then(|| SemaphorePermit { semaphore: self })
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("capacity", &self.capacity)
            .field("available", &self.available())
            .finish()
    }
}

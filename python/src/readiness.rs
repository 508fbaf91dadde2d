//! A file descriptor that is readable while a get (a scheduling queue's
//! pop) would not block, for asyncio's `loop.add_reader`: no thread per
//! waiting coroutine.
//!
//! The descriptor is an epoll set of two:
//! - an eventfd, readable while a key is ready (or the queue is shut down
//!   and empty; for a scheduling queue: an item can be popped, or it is
//!   closed): set and cleared as the queue reports its readiness;
//! - a timerfd, armed for the earliest delayed key (the next backoff to
//!   end or parked item to overstay), so a waiter wakes when it comes due
//!   (the get or pop it then makes moves it in).
//!
//! The queue reports readiness changes to the installed observer under its
//! lock, in order. The observer touches no Python object and makes only
//! non-blocking system calls: nothing under that lock may wait for the
//! interpreter. It is installed only while coroutines wait, and removed
//! (`stop_observing_readiness`) after the last one stops (see
//! `watchers.rs`), so a queue nobody awaits pays nothing.
//!
//! A ready signal is an eventfd write, not a timer armed for "now": arming
//! a timer that expires at once costs a timer interrupt, tens of
//! microseconds on a virtual machine.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::time::Duration;
use workqueue_core::{Readiness, ReadinessObserver};

/// The readiness descriptor of one queue.
pub struct ReadinessFd {
    epoll: OwnedFd,
    event: OwnedFd,
    timer: OwnedFd,
    /// What the descriptors currently say, to skip redundant system calls.
    state: Mutex<FdState>,
}

#[derive(Default)]
struct FdState {
    event_set: bool,
    timer_armed: bool,
}

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

fn owned(fd: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: `fd` was just returned by a successful system call and is
    // owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(check(fd)?) })
}

impl ReadinessFd {
    /// New descriptors, not readable.
    pub fn new() -> io::Result<ReadinessFd> {
        // SAFETY: plain system calls; results are checked by `owned`.
        let (epoll, event, timer) = unsafe {
            (
                owned(libc::epoll_create1(libc::EPOLL_CLOEXEC))?,
                owned(libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC))?,
                owned(libc::timerfd_create(
                    libc::CLOCK_MONOTONIC,
                    libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
                ))?,
            )
        };
        for member in [&event, &timer] {
            let mut interest = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: member.as_raw_fd() as u64,
            };
            // SAFETY: both descriptors are open; `interest` is valid.
            check(unsafe {
                libc::epoll_ctl(
                    epoll.as_raw_fd(),
                    libc::EPOLL_CTL_ADD,
                    member.as_raw_fd(),
                    &mut interest,
                )
            })?;
        }
        Ok(ReadinessFd {
            epoll,
            event,
            timer,
            state: Mutex::new(FdState::default()),
        })
    }

    /// The descriptor to watch for readability.
    pub fn fd(&self) -> RawFd {
        self.epoll.as_raw_fd()
    }

    fn set_event(&self, ready: bool) {
        let fd = self.event.as_raw_fd();
        // SAFETY: `fd` is our open, non-blocking eventfd and the buffer is
        // 8 bytes. Neither call can block; a failure (a full or an empty
        // counter) leaves the state we want anyway.
        unsafe {
            if ready {
                let one: u64 = 1;
                libc::write(fd, (&one as *const u64).cast(), 8);
            } else {
                let mut count: u64 = 0;
                libc::read(fd, (&mut count as *mut u64).cast(), 8);
            }
        }
    }

    fn arm_timer(&self, after: Option<Duration>) {
        let value = match after {
            None => libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            Some(after) => {
                // A zero it_value disarms: "now" is the smallest delay.
                let after = after.max(Duration::from_nanos(1));
                libc::timespec {
                    tv_sec: libc::time_t::try_from(after.as_secs()).unwrap_or(libc::time_t::MAX),
                    tv_nsec: after.subsec_nanos() as libc::c_long,
                }
            }
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        // SAFETY: our open timerfd and a valid, normalised itimerspec: it
        // cannot fail, and re-arming also clears a past expiry.
        unsafe {
            libc::timerfd_settime(self.timer.as_raw_fd(), 0, &spec, std::ptr::null_mut());
        }
    }
}

impl ReadinessObserver for ReadinessFd {
    fn readiness_changed(&self, readiness: Readiness) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.event_set != readiness.ready {
            self.set_event(readiness.ready);
            state.event_set = readiness.ready;
        }
        match readiness.next_delayed_in {
            Some(after) => {
                self.arm_timer(Some(after));
                state.timer_armed = true;
            }
            None if state.timer_armed => {
                self.arm_timer(None);
                state.timer_armed = false;
            }
            None => {}
        }
    }
}

//! The pollable file descriptor of a queue (`wq_queue_fd`) or scheduling
//! queue (`wq_squeue_fd`): one timerfd per queue, armed so that it is
//! readable while a get (pop) would not block.
//!
//! The queue reports every readiness change to [`TimerFd`] under its lock:
//! ready → the timer is armed to expire in 1 ns (readable a few
//! microseconds later, at the latest when the event loop next waits); not
//! ready but something waits for a time (a delayed key; a backoff or a
//! parked item's maximum stay) → armed to expire when it is due; otherwise
//! disarmed. `timerfd_settime` resets the expiration count, so re-arming or
//! disarming makes the fd unreadable at once. Nobody reads the fd: that
//! would clear its readability while keys are still ready.

use crate::status::wq_status;
use once_cell::sync::OnceCell;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;
use workqueue_core::{Readiness, ReadinessObserver};

/// Where a queue keeps its fd once made.
pub(crate) type FdCell = OnceCell<Arc<TimerFd>>;

/// The fd in `cell`, made on the first call and handed to `observe`, which
/// has the queue report its readiness to it from then on.
pub(crate) fn readiness_fd(
    cell: &FdCell,
    observe: impl FnOnce(Arc<TimerFd>),
) -> Result<RawFd, wq_status> {
    let timer = cell.get_or_try_init(|| {
        let timer = Arc::new(TimerFd::new()?);
        observe(timer.clone());
        Ok::<_, io::Error>(timer)
    });
    // `errno` is still set from the failed system call.
    timer
        .map(|timer| timer.raw())
        .map_err(|_| wq_status::SystemError)
}

/// A timerfd owned by a queue; closed when the queue is freed.
pub(crate) struct TimerFd {
    fd: OwnedFd,
}

impl TimerFd {
    /// A disarmed, non-blocking, close-on-exec timerfd on the monotonic
    /// clock (the clock the queue's real time is read from).
    pub(crate) fn new() -> io::Result<TimerFd> {
        // SAFETY: plain system call with constant arguments.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_CLOEXEC | libc::TFD_NONBLOCK,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(TimerFd { fd })
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Arms the timer to expire once after `after`, or disarms it (`None`).
    /// Either way the expiration count is reset, so the fd is unreadable
    /// until the new expiry.
    fn arm(&self, after: Option<Duration>) {
        let value = match after {
            Some(after) => libc::timespec {
                tv_sec: libc::time_t::try_from(after.as_secs()).unwrap_or(libc::time_t::MAX),
                tv_nsec: after.subsec_nanos().into(),
            },
            None => libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        // SAFETY: a valid fd we own and a valid itimerspec; the old value
        // is not asked for. With valid arguments the call cannot fail.
        unsafe {
            libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut());
        }
    }
}

impl ReadinessObserver for TimerFd {
    fn readiness_changed(&self, readiness: Readiness) {
        const SOON: Duration = Duration::from_nanos(1);
        let after = if readiness.ready {
            Some(SOON)
        } else {
            // A zero duration would disarm the timer: due now means soon.
            readiness.next_delayed_in.map(|delay| delay.max(SOON))
        };
        self.arm(after);
    }
}

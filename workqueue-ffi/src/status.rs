//! Status codes, version, and the constants every call shares.

use std::ffi::{c_char, c_int};

/// The library's major version (the `version` of its Cargo.toml).
pub const WQ_VERSION_MAJOR: u32 = 0;
/// The library's minor version.
pub const WQ_VERSION_MINOR: u32 = 1;
/// The library's patch version.
pub const WQ_VERSION_PATCH: u32 = 0;
/// The version as one comparable number: `major * 10000 + minor * 100 + patch`.
pub const WQ_VERSION_NUMBER: u32 =
    WQ_VERSION_MAJOR * 10000 + WQ_VERSION_MINOR * 100 + WQ_VERSION_PATCH;

/// Timeout: wait as long as it takes (until the call succeeds or, for a
/// queue, until it is shut down).
#[allow(clippy::unnecessary_cast)]
pub const WQ_WAIT_FOREVER: i64 = -1 as i64;
/// Timeout: do not wait; return `WQ_STATUS_TIMEOUT` at once if the call
/// cannot succeed now.
pub const WQ_NO_WAIT: i64 = 0;
/// The `max_retries` of client-go's controllers, for `wq_worker_run`.
pub const WQ_DEFAULT_MAX_RETRIES: u32 = 5;

/// What a call did. Every fallible function returns one; results go
/// through out-parameters, written only when the status is `WQ_STATUS_OK`
/// (one exception: with `WQ_STATUS_BUFFER_TOO_SMALL`,
/// `wq_metrics_prometheus` stores the length it needs). The numeric values
/// are part of the ABI and never change; new statuses may be added at the
/// end, so treat an unknown value as an error (`wq_status_str` describes
/// any value).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum wq_status {
    /// Success; out-parameters were written.
    Ok = 0,
    /// Nothing was available in time: no key became ready (with
    /// `WQ_NO_WAIT`: none was ready), no permit became free, or a drain did
    /// not finish before its timeout.
    Timeout = 1,
    /// The queue is shut down: `get` found it shut down and empty;
    /// `add_rate_limited` found it shutting down; `wq_squeue_pop` found the
    /// scheduling queue closed.
    Shutdown = 2,
    /// A handle, out-pointer, array or callback that must not be NULL was
    /// NULL. Nothing was done.
    NullArgument = 3,
    /// An argument is out of range (a zero count, a negative timeout other
    /// than `WQ_WAIT_FOREVER`, a name that is not UTF-8, ...). Nothing was
    /// done.
    InvalidArgument = 4,
    /// The call is not allowed in the object's current state, e.g. releasing
    /// a semaphore permit that is not held. Nothing was done.
    InvalidState = 5,
    /// `wq_parallelize` was cancelled; some pieces did not run.
    Cancelled = 6,
    /// The call is not supported on this platform (`wq_queue_fd`,
    /// `wq_squeue_fd` off Linux).
    Unsupported = 7,
    /// The operating system refused a resource (e.g. no file descriptor
    /// left); `errno` tells why.
    SystemError = 8,
    /// A bug inside the library (a Rust panic) was caught at the boundary.
    /// The object stays usable but the call may be half done; please report.
    Panic = 9,
    /// `wq_queue_metrics`: the queue keeps no metrics because it has no
    /// name (see `wq_queue_options.name`). Nothing was written.
    NoMetrics = 10,
    /// The caller's buffer is too small (`wq_metrics_prometheus`): nothing
    /// was written to it, and the length needed was stored.
    BufferTooSmall = 11,
}

impl wq_status {
    /// Every status, in numeric order.
    pub const ALL: [wq_status; 12] = [
        wq_status::Ok,
        wq_status::Timeout,
        wq_status::Shutdown,
        wq_status::NullArgument,
        wq_status::InvalidArgument,
        wq_status::InvalidState,
        wq_status::Cancelled,
        wq_status::Unsupported,
        wq_status::SystemError,
        wq_status::Panic,
        wq_status::NoMetrics,
        wq_status::BufferTooSmall,
    ];

    fn text(self) -> &'static [u8] {
        match self {
            wq_status::Ok => b"ok\0",
            wq_status::Timeout => b"timed out: nothing was available in time\0",
            wq_status::Shutdown => b"the queue is shut down (or closed)\0",
            wq_status::NullArgument => b"a required pointer argument was NULL\0",
            wq_status::InvalidArgument => b"an argument is out of range\0",
            wq_status::InvalidState => b"not allowed in the object's current state\0",
            wq_status::Cancelled => b"cancelled\0",
            wq_status::Unsupported => b"not supported on this platform\0",
            wq_status::SystemError => b"the operating system refused a resource (see errno)\0",
            wq_status::Panic => b"internal error: a panic was caught in libworkqueue\0",
            wq_status::NoMetrics => b"the queue keeps no metrics: it has no name\0",
            wq_status::BufferTooSmall => b"the buffer is too small: the length needed was stored\0",
        }
    }
}

/// A static, NUL-terminated English description of a status. Takes an
/// `int` so that any value is safe to pass: a value that is not a
/// `wq_status` gives "unknown status". Never returns NULL; do not free the
/// result. Thread-safe.
#[no_mangle]
pub extern "C" fn wq_status_str(status: c_int) -> *const c_char {
    let text: &'static [u8] = usize::try_from(status)
        .ok()
        .and_then(|index| wq_status::ALL.get(index))
        .map_or(b"unknown status\0", |status| status.text());
    text.as_ptr().cast()
}

/// The library's version, e.g. "0.1.0": static, NUL-terminated, never
/// NULL. Compare it with `WQ_VERSION_STRING` to detect a header that does
/// not match the library linked at run time. Thread-safe.
#[no_mangle]
pub extern "C" fn wq_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn version_constants_match_cargo_toml() {
        assert_eq!(
            WQ_VERSION_MAJOR.to_string(),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            WQ_VERSION_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            WQ_VERSION_PATCH.to_string(),
            env!("CARGO_PKG_VERSION_PATCH")
        );
        // SAFETY: wq_version returns a static NUL-terminated string.
        let version = unsafe { CStr::from_ptr(wq_version()) };
        assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn every_status_has_its_own_text_and_numbering_is_dense() {
        let mut texts = std::collections::HashSet::new();
        for (index, status) in wq_status::ALL.iter().enumerate() {
            assert_eq!(*status as usize, index);
            // SAFETY: wq_status_str returns a static NUL-terminated string.
            let text = unsafe { CStr::from_ptr(wq_status_str(index as c_int)) };
            assert!(texts.insert(text.to_owned()));
        }
        for bad in [-1, 12, 1000, c_int::MIN, c_int::MAX] {
            // SAFETY: as above.
            let text = unsafe { CStr::from_ptr(wq_status_str(bad)) };
            assert_eq!(text.to_str().unwrap(), "unknown status");
        }
    }
}

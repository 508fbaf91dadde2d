//! The C ABI of the work queue: `libworkqueue.so`, `libworkqueue.a` and
//! `include/workqueue.h` (generated from this crate by cbindgen).
//!
//! Every exported function is `wq_<type>_<verb>`, returns a [`wq_status`]
//! if it can fail, writes results only on success, checks every pointer
//! for NULL before doing anything, and runs inside one panic boundary
//! ([`boundary`]), so no Rust panic ever unwinds into C. Handles are opaque
//! boxes; `_free(NULL)` does nothing. The conventions are spelled out at
//! the top of the generated header (see `cbindgen.toml`) and in
//! `examples-c/README.md`.
//!
//! The crate is also an rlib so Rust tests (and Miri) can call the
//! exported functions directly.

#![deny(unsafe_op_in_unsafe_fn)]
#![allow(non_camel_case_types)]

mod boundary;
mod status;
pub use status::*;
mod clock;
pub use clock::*;
mod rate_limiter;
pub use rate_limiter::*;
mod queue;
pub use queue::*;
mod submissions;
pub use submissions::*;
mod holds;
pub use holds::*;
mod priority;
pub use priority::*;
mod metrics;
pub use metrics::*;
mod scheduling;
pub use scheduling::*;
mod parallelize;
pub use parallelize::*;
mod semaphore;
pub use semaphore::*;
mod worker;
pub use worker::*;
#[cfg(target_os = "linux")]
mod fd;

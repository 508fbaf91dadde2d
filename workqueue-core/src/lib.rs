//! A Kubernetes-style work queue: the semantics of client-go's
//! `util/workqueue` (collapsing adds, one worker per key, delays, per-key
//! backoff under a global rate limit, shutdown with drain), plus
//! `ParallelizeUntil`, a counting semaphore and the controller worker loop.
//!
//! ```
//! use workqueue_core::Queue;
//!
//! let queue: Queue<&str> = Queue::new();
//! queue.add("default/web");
//! queue.add("default/web"); // collapses
//! assert_eq!(queue.len(), 1);
//! let key = queue.get().unwrap();
//! // ... reconcile `key` ...
//! queue.forget(&key);
//! queue.done(&key);
//! ```

mod cancel;
mod clock;
mod error;
mod hash;
pub mod metrics;
mod parallelize;
mod parking;
mod queue;
pub mod rate_limit;
mod readiness;
pub mod scheduling;
mod semaphore;
mod spin_lock;
mod sync;
mod worker;

pub use cancel::CancelToken;
pub use clock::{Clock, ManualClock, Timestamp};
pub use error::ConfigError;
pub use parallelize::{parallelize_until, ParallelizeError, PiecePanic};
pub use queue::{GetError, Key, Queue, QueueBuilder, Replayed, LOCK_HOLD_KEYS};
pub use rate_limit::RateLimiter;
pub use readiness::{Readiness, ReadinessObserver};
pub use scheduling::SchedulingQueue;
pub use semaphore::{ReleaseError, Semaphore, SemaphorePermit};
pub use worker::{Failure, WorkerPool, WorkerReport};

//! A cancellation flag shared between the caller and running work.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Cancels work that checks it ([`parallelize_until`](crate::parallelize_until)
/// checks before every piece). Clones share one flag; cancelling is final.
#[derive(Clone, Debug, Default)]
pub struct CancelToken {
    cancelled: Arc<AtomicBool>,
}

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        CancelToken::default()
    }

    /// Cancels every holder of this token.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    /// Whether `cancel` has been called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

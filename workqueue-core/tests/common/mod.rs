//! What several test files share: a readiness observer that records every
//! report.

use std::sync::Mutex;
use workqueue_core::{Readiness, ReadinessObserver};

#[derive(Default)]
pub struct Recorder(Mutex<Vec<Readiness>>);

impl ReadinessObserver for Recorder {
    fn readiness_changed(&self, readiness: Readiness) {
        self.0.lock().unwrap().push(readiness);
    }
}

impl Recorder {
    /// The reports since the last call.
    pub fn take(&self) -> Vec<Readiness> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

pub const READY: Readiness = Readiness {
    ready: true,
    next_delayed_in: None,
};
pub const NOT_READY: Readiness = Readiness {
    ready: false,
    next_delayed_in: None,
};

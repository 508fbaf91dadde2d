//! What the queue's state machine tells its metrics at each key event.
//!
//! The per-key timestamps the metrics need live in the queue's own entry
//! for the key, so a metric update costs no hash-table operation of its
//! own. An unnamed queue uses [`NoMetrics`], whose stamps take no space:
//! its entries and code are those of a queue without metrics.
//!
//! An add or a done replayed from a submission ring may say when it was
//! made (`made_at`); otherwise it happens now.

use super::stamp_clock::TscStamp;

/// Metrics updated at a key's events, with per-key `Stamps` kept by the
/// queue next to the key's phase.
pub(crate) trait KeyMetrics {
    /// What is remembered per key; a fresh key starts at `default()`.
    type Stamps: Copy + Default;

    /// The key became dirty: newly queued, or added again while processing.
    fn added(&mut self, stamps: &mut Self::Stamps, made_at: Option<TscStamp>);

    /// The key was handed out.
    fn got(&mut self, stamps: &mut Self::Stamps);

    /// The key's processing finished.
    fn done(&mut self, stamps: &Self::Stamps, made_at: Option<TscStamp>);
}

/// An unnamed queue's metrics: none.
#[derive(Default)]
pub(crate) struct NoMetrics;

impl KeyMetrics for NoMetrics {
    type Stamps = ();

    #[inline(always)]
    fn added(&mut self, _: &mut (), _: Option<TscStamp>) {}

    #[inline(always)]
    fn got(&mut self, _: &mut ()) {}

    #[inline(always)]
    fn done(&mut self, _: &(), _: Option<TscStamp>) {}
}

/// Boxed, so that a queue without metrics does not carry their space.
impl<M: KeyMetrics> KeyMetrics for Box<M> {
    type Stamps = M::Stamps;

    #[inline(always)]
    fn added(&mut self, stamps: &mut Self::Stamps, made_at: Option<TscStamp>) {
        (**self).added(stamps, made_at);
    }

    #[inline(always)]
    fn got(&mut self, stamps: &mut Self::Stamps) {
        (**self).got(stamps);
    }

    #[inline(always)]
    fn done(&mut self, stamps: &Self::Stamps, made_at: Option<TscStamp>) {
        (**self).done(stamps, made_at);
    }
}

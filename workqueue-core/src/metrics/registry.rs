//! Every named queue in the process, for a scrape.

use super::queue_metrics::MetricsSnapshot;
use super::scheduling::SchedulingPending;
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// What one named queue reports at a scrape.
pub(crate) enum Report {
    Queue(String, Box<MetricsSnapshot>),
    Scheduling(String, SchedulingPending),
}

/// A named queue whose metrics can be read.
pub(crate) trait MetricsSource: Send + Sync {
    fn report(self: Arc<Self>) -> Option<Report>;
}

fn sources() -> &'static Mutex<Vec<Weak<dyn MetricsSource>>> {
    static SOURCES: OnceLock<Mutex<Vec<Weak<dyn MetricsSource>>>> = OnceLock::new();
    SOURCES.get_or_init(|| Mutex::new(Vec::new()))
}

/// Lists a named queue; it leaves the list when dropped.
pub(crate) fn register(source: Weak<dyn MetricsSource>) {
    let mut sources = sources().lock().unwrap_or_else(|p| p.into_inner());
    sources.retain(|source| source.strong_count() > 0);
    sources.push(source);
}

fn reports() -> Vec<Report> {
    let live: Vec<_> = {
        let mut sources = sources().lock().unwrap_or_else(|p| p.into_inner());
        sources.retain(|source| source.strong_count() > 0);
        sources.iter().filter_map(Weak::upgrade).collect()
    };
    // Read each queue after releasing the registry lock.
    live.into_iter()
        .filter_map(|source| source.report())
        .collect()
}

/// Merges `(name, value)` pairs by name, sorted by name.
fn by_name<T>(
    pairs: impl Iterator<Item = (String, T)>,
    merge: impl Fn(&mut T, &T),
) -> Vec<(String, T)> {
    let mut merged: Vec<(String, T)> = Vec::new();
    for (name, value) in pairs {
        match merged.iter_mut().find(|(existing, _)| *existing == name) {
            Some((_, total)) => merge(total, &value),
            None => merged.push((name, value)),
        }
    }
    merged.sort_by(|a, b| a.0.cmp(&b.0));
    merged
}

/// The metrics of every live named work queue, by name, sorted by name.
/// Queues that share a name are summed (the longest-running gauge takes
/// the maximum), as client-go's shared series would be.
pub fn snapshot_all() -> Vec<(String, MetricsSnapshot)> {
    let queues = reports().into_iter().filter_map(|report| match report {
        Report::Queue(name, snapshot) => Some((name, *snapshot)),
        Report::Scheduling(..) => None,
    });
    by_name(queues, MetricsSnapshot::merge)
}

/// The sub-queue sizes of every live named scheduling queue, by name.
pub fn scheduling_snapshot_all() -> Vec<(String, SchedulingPending)> {
    let queues = reports().into_iter().filter_map(|report| match report {
        Report::Scheduling(name, pending) => Some((name, pending)),
        Report::Queue(..) => None,
    });
    by_name(queues, SchedulingPending::merge)
}

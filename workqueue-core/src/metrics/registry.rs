//! Every named queue in the process, for a scrape.

use super::queue_metrics::MetricsSnapshot;
use std::sync::{Mutex, OnceLock, Weak};

/// A queue whose metrics can be read.
pub(crate) trait MetricsSource: Send + Sync {
    fn metrics_snapshot(&self) -> Option<(String, MetricsSnapshot)>;
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

/// The metrics of every live named queue, by name, sorted by name. Queues
/// that share a name are summed (the longest-running gauge takes the
/// maximum), as client-go's shared series would be.
pub fn snapshot_all() -> Vec<(String, MetricsSnapshot)> {
    let live: Vec<_> = {
        let mut sources = sources().lock().unwrap_or_else(|p| p.into_inner());
        sources.retain(|source| source.strong_count() > 0);
        sources.iter().filter_map(Weak::upgrade).collect()
    };
    let mut by_name: Vec<(String, MetricsSnapshot)> = Vec::new();
    for (name, snapshot) in live.iter().filter_map(|source| source.metrics_snapshot()) {
        match by_name.iter_mut().find(|(existing, _)| *existing == name) {
            Some((_, total)) => total.merge(&snapshot),
            None => by_name.push((name, snapshot)),
        }
    }
    by_name.sort_by(|a, b| a.0.cmp(&b.0));
    by_name
}

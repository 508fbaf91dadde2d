//! The Prometheus text exposition format (version 0.0.4).

use super::histogram::{HistogramSnapshot, BUCKET_BOUNDS};
use super::queue_metrics::MetricsSnapshot;
use super::registry::{scheduling_snapshot_all, snapshot_all};
use super::scheduling::SchedulingPending;
use std::fmt::Write;

/// Every named queue's metrics as Prometheus text, ready to serve at
/// `/metrics`. Empty when no named queue exists.
pub fn prometheus_text() -> String {
    let mut out = render(&snapshot_all());
    render_scheduling(&mut out, &scheduling_snapshot_all());
    out
}

/// Per queue, at most this many `priority` labels of
/// `workqueue_depth_by_priority`: the highest priorities in use, and
/// `other` for the rest, so the label set stays bounded.
pub const MAX_PRIORITY_LABELS: usize = 16;

struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
}

const DEPTH: Family = Family {
    name: "workqueue_depth",
    kind: "gauge",
    help: "Current depth of workqueue",
};
const ADDS: Family = Family {
    name: "workqueue_adds_total",
    kind: "counter",
    help: "Total number of adds handled by workqueue",
};
const QUEUE_DURATION: Family = Family {
    name: "workqueue_queue_duration_seconds",
    kind: "histogram",
    help: "How long in seconds an item stays in workqueue before being requested.",
};
const WORK_DURATION: Family = Family {
    name: "workqueue_work_duration_seconds",
    kind: "histogram",
    help: "How long in seconds processing an item from workqueue takes.",
};
const UNFINISHED: Family = Family {
    name: "workqueue_unfinished_work_seconds",
    kind: "gauge",
    help: "How many seconds of work has done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.",
};
const LONGEST: Family = Family {
    name: "workqueue_longest_running_processor_seconds",
    kind: "gauge",
    help: "How many seconds has the longest running processor for workqueue been running.",
};
const DEPTH_BY_PRIORITY: Family = Family {
    name: "workqueue_depth_by_priority",
    kind: "gauge",
    help: "Current number of ready items in workqueue, by priority",
};
const SCHEDULING_PENDING: Family = Family {
    name: "workqueue_scheduling_pending_items",
    kind: "gauge",
    help:
        "Items in each sub-queue of a scheduling queue: active, backoff, unschedulable, in_flight",
};
const RETRIES: Family = Family {
    name: "workqueue_retries_total",
    kind: "counter",
    help: "Total number of retries handled by workqueue",
};

pub(crate) fn render(queues: &[(String, MetricsSnapshot)]) -> String {
    let mut out = String::new();
    if queues.is_empty() {
        return out;
    }
    let scalar = |out: &mut String, family: &Family, value: &dyn Fn(&MetricsSnapshot) -> f64| {
        header(out, family);
        for (name, snapshot) in queues {
            let _ = writeln!(
                out,
                "{}{{name=\"{}\"}} {}",
                family.name,
                escape(name),
                number(value(snapshot))
            );
        }
    };
    scalar(&mut out, &DEPTH, &|s| s.depth as f64);
    scalar(&mut out, &ADDS, &|s| s.adds as f64);
    histogram(&mut out, &QUEUE_DURATION, queues, |s| &s.queue_duration);
    histogram(&mut out, &WORK_DURATION, queues, |s| &s.work_duration);
    scalar(&mut out, &UNFINISHED, &|s| s.unfinished_work_seconds);
    scalar(&mut out, &LONGEST, &|s| s.longest_running_processor_seconds);
    scalar(&mut out, &RETRIES, &|s| s.retries as f64);
    header(&mut out, &DEPTH_BY_PRIORITY);
    for (name, snapshot) in queues {
        let (named, other) = bounded_priorities(&snapshot.depth_by_priority);
        let labels = named
            .iter()
            .map(|(priority, count)| (priority.to_string(), *count))
            .chain(other.map(|count| ("other".to_owned(), count)));
        for (priority, count) in labels {
            let _ = writeln!(
                out,
                "{}{{name=\"{}\",priority=\"{priority}\"}} {count}",
                DEPTH_BY_PRIORITY.name,
                escape(name)
            );
        }
    }
    out
}

/// The bounding rule of `workqueue_depth_by_priority`, for `depths` as in
/// [`MetricsSnapshot::depth_by_priority`] (highest priority first): the
/// first `MAX_PRIORITY_LABELS - 1` priorities, each labelled by its number,
/// and the ready keys at the priorities beyond them summed (the label
/// `other`), `None` when there are none. Bindings that carry a bounded
/// snapshot (the C ABI's `wq_metrics`) use the same rule.
pub fn bounded_priorities(depths: &[(i32, u64)]) -> (&[(i32, u64)], Option<u64>) {
    let (named, rest) = depths.split_at(depths.len().min(MAX_PRIORITY_LABELS - 1));
    let other = (!rest.is_empty()).then(|| rest.iter().map(|&(_, count)| count).sum());
    (named, other)
}

fn render_scheduling(out: &mut String, queues: &[(String, SchedulingPending)]) {
    if queues.is_empty() {
        return;
    }
    header(out, &SCHEDULING_PENDING);
    for (name, pending) in queues {
        for (queue, count) in pending.by_queue() {
            let _ = writeln!(
                out,
                "{}{{name=\"{}\",queue=\"{queue}\"}} {count}",
                SCHEDULING_PENDING.name,
                escape(name)
            );
        }
    }
}

fn header(out: &mut String, family: &Family) {
    let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
    let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind);
}

fn histogram(
    out: &mut String,
    family: &Family,
    queues: &[(String, MetricsSnapshot)],
    pick: impl Fn(&MetricsSnapshot) -> &HistogramSnapshot,
) {
    header(out, family);
    for (name, snapshot) in queues {
        let histogram = pick(snapshot);
        let name = escape(name);
        for (bound, count) in BUCKET_BOUNDS.iter().zip(histogram.cumulative()) {
            let _ = writeln!(
                out,
                "{}_bucket{{name=\"{name}\",le=\"{}\"}} {count}",
                family.name,
                number(*bound)
            );
        }
        let _ = writeln!(
            out,
            "{}_bucket{{name=\"{name}\",le=\"+Inf\"}} {}",
            family.name, histogram.count
        );
        let _ = writeln!(
            out,
            "{}_sum{{name=\"{name}\"}} {}",
            family.name,
            number(histogram.sum)
        );
        let _ = writeln!(
            out,
            "{}_count{{name=\"{name}\"}} {}",
            family.name, histogram.count
        );
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A number as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes it
/// (client_golang's format), so `le` labels match client-go's exactly:
/// `1e-08`, `0.0001`, `10`.
fn number(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if value == 0.0 {
        return "0".to_owned();
    }
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` always writes an exponent");
    let exponent: i32 = exponent.parse().expect("an integer exponent");
    if (-4..21).contains(&exponent) {
        format!("{value}")
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::histogram::{DurationHistogram, BUCKET_BOUNDS_NANOS};
    use super::*;

    #[test]
    fn priority_labels_are_bounded() {
        let depths: Vec<(i32, u64)> = (0..40).rev().map(|p| (p, 1)).collect();
        let (named, other) = bounded_priorities(&depths);
        assert_eq!(named.len(), MAX_PRIORITY_LABELS - 1);
        assert_eq!(named[0], (39, 1));
        assert_eq!(named[MAX_PRIORITY_LABELS - 2], (25, 1));
        assert_eq!(other, Some(25));
        // Exactly as many priorities as named labels: no `other`.
        let (named, other) = bounded_priorities(&depths[..MAX_PRIORITY_LABELS - 1]);
        assert_eq!(named.len(), MAX_PRIORITY_LABELS - 1);
        assert_eq!(other, None);
        assert_eq!(bounded_priorities(&[]), (&[][..], None));
        let snapshot = MetricsSnapshot {
            depth_by_priority: depths,
            ..MetricsSnapshot::default()
        };
        let text = render(&[("q".to_owned(), snapshot)]);
        assert_eq!(
            text.matches("workqueue_depth_by_priority{").count(),
            MAX_PRIORITY_LABELS
        );
        assert!(text.contains("workqueue_depth_by_priority{name=\"q\",priority=\"39\"} 1\n"));
        assert!(text.contains("workqueue_depth_by_priority{name=\"q\",priority=\"25\"} 1\n"));
        assert!(text.contains("workqueue_depth_by_priority{name=\"q\",priority=\"other\"} 25\n"));
        assert!(!text.contains("priority=\"24\""));
    }

    #[test]
    fn renders_every_family_with_escaped_names() {
        let mut snapshot = MetricsSnapshot {
            depth: 2,
            adds: 5,
            retries: 1,
            ..MetricsSnapshot::default()
        };
        let mut queue_duration = DurationHistogram::default();
        queue_duration.observe(50_000, &BUCKET_BOUNDS_NANOS);
        snapshot.queue_duration = queue_duration.snapshot(|nanos| nanos);
        let text = render(&[("pods \"a\"".to_owned(), snapshot)]);
        assert!(text.contains("workqueue_depth{name=\"pods \\\"a\\\"\"} 2\n"));
        assert!(text.contains("workqueue_adds_total{name=\"pods \\\"a\\\"\"} 5\n"));
        assert!(text.contains(
            "workqueue_queue_duration_seconds_bucket{name=\"pods \\\"a\\\"\",le=\"0.0001\"} 1\n"
        ));
        assert!(text.contains(
            "workqueue_queue_duration_seconds_bucket{name=\"pods \\\"a\\\"\",le=\"1e-05\"} 0\n"
        ));
        assert_eq!(text.matches("# TYPE").count(), 8);
        assert!(render(&[]).is_empty());
        assert_eq!(number(1e-8), "1e-08");
        assert_eq!(number(10.0), "10");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(2.5e21), "2.5e+21");
    }
}

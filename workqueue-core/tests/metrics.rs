//! client-go's metrics, replayed: the exact sequence of its TestMetrics on
//! a manual clock, TestMetricShutdown, and the Prometheus exposition.

use std::time::{Duration, Instant};
use workqueue_core::metrics::{prometheus_text, snapshot_all, MetricsSnapshot};
use workqueue_core::{ManualClock, Queue};

fn named(name: &str) -> (Queue<String>, ManualClock) {
    let clock = ManualClock::new();
    let queue = Queue::builder().name(name).clock(&clock).build();
    (queue, clock)
}

fn metrics(queue: &Queue<String>) -> MetricsSnapshot {
    queue.metrics().expect("a named queue keeps metrics")
}

/// Waits up to a few seconds for `gone`: a scrape by another test running
/// meanwhile holds every named queue for the length of its read, so a
/// queue dropped here can stay listed until that read ends.
fn eventually(what: &str, mut gone: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !gone() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() < 1e-12
}

/// client-go's TestMetrics, step by step.
#[test]
fn the_client_go_metrics_sequence() {
    let (queue, clock) = named("test-metrics-sequence");
    let foo = "foo".to_string();

    queue.add(foo.clone());
    let m = metrics(&queue);
    assert_eq!((m.adds, m.depth), (1, 1));

    clock.step(Duration::from_micros(50));
    assert_eq!(queue.try_get().as_ref(), Ok(&foo));
    let m = metrics(&queue);
    assert_eq!(m.queue_duration.count, 1);
    assert!(
        close(m.queue_duration.sum, 5e-5),
        "{}",
        m.queue_duration.sum
    );
    assert_eq!(m.depth, 0);

    // Re-added while processing: one more add, whatever the repeats.
    for _ in 0..5 {
        queue.add(foo.clone());
    }
    let m = metrics(&queue);
    assert_eq!((m.adds, m.depth), (2, 1));

    clock.step(Duration::from_micros(25));
    queue.done(&foo);
    let m = metrics(&queue);
    assert_eq!(m.work_duration.count, 1);
    assert!(close(m.work_duration.sum, 2.5e-5));
    assert_eq!(m.depth, 1, "requeued at done");

    assert_eq!(queue.try_get().as_ref(), Ok(&foo));
    let m = metrics(&queue);
    assert_eq!(m.queue_duration.count, 2);
    assert!(
        close(m.queue_duration.sum, 5e-5 + 2.5e-5),
        "dirty since the re-add at 50 µs, handed out at 75 µs"
    );

    clock.step(Duration::from_millis(1));
    let m = metrics(&queue);
    assert!(close(m.unfinished_work_seconds, 0.001));
    assert!(close(m.longest_running_processor_seconds, 0.001));

    queue.done(&foo);
    let m = metrics(&queue);
    assert_eq!(m.work_duration.count, 2);
    assert!(close(m.work_duration.sum, 2.5e-5 + 0.001));
    assert_eq!(m.unfinished_work_seconds, 0.0);
    assert_eq!(m.depth, 0);
}

#[test]
fn retries_count_every_accepted_add_after() {
    let (queue, clock) = named("test-metrics-retries");
    queue.add_rate_limited("a".to_string());
    queue.add_after("b".to_string(), Duration::ZERO);
    queue.add_after("c".to_string(), Duration::from_secs(1));
    assert_eq!(metrics(&queue).retries, 3);
    queue.shutdown();
    queue.add_rate_limited("a".to_string());
    assert_eq!(metrics(&queue).retries, 3, "refused after shutdown");
    clock.step(Duration::from_secs(1));
}

/// TestMetricShutdown: the "unfinished" gauges stop at the shutdown.
#[test]
fn nothing_moves_after_shutdown() {
    let (queue, clock) = named("test-metrics-shutdown");
    queue.add("a".to_string());
    let _ = queue.try_get();
    clock.step(Duration::from_millis(1));
    queue.shutdown();
    let before = metrics(&queue);
    clock.step(Duration::from_secs(3600));
    assert_eq!(metrics(&queue), before);
    assert!(close(before.unfinished_work_seconds, 0.001));
}

#[test]
fn unnamed_queues_keep_no_metrics() {
    let queue: Queue<u64> = Queue::new();
    queue.add(1);
    assert_eq!(queue.metrics(), None);
}

#[test]
fn queues_sharing_a_name_share_series_and_dropped_queues_leave() {
    let (a, clock) = named("test-metrics-shared");
    let b: Queue<String> = Queue::builder()
        .name("test-metrics-shared")
        .clock(&clock)
        .build();
    a.add("x".to_string());
    b.add("y".to_string());
    b.add("z".to_string());
    let find = || {
        snapshot_all()
            .into_iter()
            .find(|(name, _)| name == "test-metrics-shared")
            .map(|(_, snapshot)| snapshot)
    };
    assert_eq!(find().map(|m| m.depth), Some(3));
    drop(a);
    drop(b);
    eventually("dropped queues leave", || find().is_none());
}

#[test]
fn the_exposition_has_every_family_and_client_go_buckets() {
    let (queue, clock) = named("test-metrics-text");
    queue.add("k".to_string());
    clock.step(Duration::from_micros(50));
    let _ = queue.try_get();
    let text = prometheus_text();
    for family in [
        "workqueue_depth",
        "workqueue_adds_total",
        "workqueue_queue_duration_seconds",
        "workqueue_work_duration_seconds",
        "workqueue_unfinished_work_seconds",
        "workqueue_longest_running_processor_seconds",
        "workqueue_retries_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing"
        );
    }
    assert!(text.contains(
        "workqueue_queue_duration_seconds_bucket{name=\"test-metrics-text\",le=\"1e-05\"} 0\n"
    ));
    assert!(text.contains(
        "workqueue_queue_duration_seconds_bucket{name=\"test-metrics-text\",le=\"0.0001\"} 1\n"
    ));
    assert!(text.contains("workqueue_adds_total{name=\"test-metrics-text\"} 1\n"));
    drop(queue);
}

#[test]
fn depth_by_priority_is_exposed_with_bounded_labels() {
    let (queue, _) = named("test-metrics-priority");
    queue.add_with_priority("a".to_string(), 5);
    queue.add_with_priority("b".to_string(), 5);
    queue.add("c".to_string());
    assert_eq!(metrics(&queue).depth_by_priority, vec![(5, 2), (0, 1)]);
    let text = prometheus_text();
    assert!(text.contains(
        "workqueue_depth_by_priority{name=\"test-metrics-priority\",priority=\"5\"} 2\n"
    ));
    assert!(text.contains(
        "workqueue_depth_by_priority{name=\"test-metrics-priority\",priority=\"0\"} 1\n"
    ));
    drop(queue);
}

#[test]
fn named_scheduling_queues_expose_their_sub_queues() {
    use workqueue_core::metrics::scheduling_snapshot_all;
    use workqueue_core::SchedulingQueue;
    let clock = ManualClock::new();
    let queue: SchedulingQueue<u64> = SchedulingQueue::builder()
        .name("test-metrics-scheduling")
        .clock(&clock)
        .build()
        .expect("defaults are valid");
    queue.add(1, 0);
    queue.add(2, 0);
    let (popped, _) = queue.try_pop().expect("an active item");
    queue.requeue_backoff(&popped);
    let _ = queue.try_pop();
    let pending = scheduling_snapshot_all()
        .into_iter()
        .find(|(name, _)| name == "test-metrics-scheduling")
        .map(|(_, pending)| pending)
        .expect("registered");
    assert_eq!(
        (pending.active, pending.backoff, pending.in_flight),
        (0, 1, 1)
    );
    let text = prometheus_text();
    assert!(text.contains(
        "workqueue_scheduling_pending_items{name=\"test-metrics-scheduling\",queue=\"backoff\"} 1\n"
    ));
    drop(queue);
    eventually("a dropped scheduling queue leaves", || {
        scheduling_snapshot_all()
            .iter()
            .all(|(name, _)| name != "test-metrics-scheduling")
    });
}

/// A binding that holds calls back for a later replay (the C ABI's
/// submission ring) replays them before each scrape reads the queue.
#[test]
fn a_scrape_runs_the_queues_hook_first() {
    use workqueue_core::Replayed;
    let (queue, _clock) = named("test-metrics-before-scrape");
    let held_back = std::sync::Mutex::new(vec![Replayed::Add("held".to_string(), 0, None)]);
    assert!(queue.before_scrape(move |queue| {
        let calls: Vec<_> = held_back.lock().unwrap().drain(..).collect();
        queue.replay(|replay| calls.into_iter().for_each(replay));
    }));
    assert!(!queue.before_scrape(|_| {}), "set once");
    assert_eq!(
        metrics(&queue).adds,
        0,
        "a queue's own snapshot is its state now"
    );
    let scraped = snapshot_all()
        .into_iter()
        .find(|(name, _)| name == "test-metrics-before-scrape")
        .expect("listed")
        .1;
    assert_eq!((scraped.adds, scraped.depth), (1, 1));
    assert!(!queue.metrics_take_tsc_stamps(), "a manual clock's metrics");
}

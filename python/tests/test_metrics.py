"""client-go's metrics: TestMetrics on a manual clock, nothing moves after
shutdown, the text exposition, and the prometheus_client collector.

The metrics registry is global to the process: every queue here has a name
of its own (``unique()``), and checks look only at their own names.
"""

from __future__ import annotations

import gc
import itertools
import math
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterable

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import REGISTRY

import workqueue
from workqueue import metrics
from workqueue.metrics import Histogram, QueueMetrics

_names = itertools.count()


def unique(stem: str) -> str:
    return f"test-{stem}-{os.getpid()}-{next(_names)}"


def named(stem: str) -> tuple[workqueue.Queue[str], workqueue.ManualClock]:
    clock = workqueue.ManualClock()
    return workqueue.Queue(name=unique(stem), clock=clock), clock


def snapshot(q: workqueue.Queue[str]) -> QueueMetrics:
    m = q.metrics()
    assert m is not None, "a named queue keeps metrics"
    return m


def samples(
    families: Iterable[Metric], names: set[str]
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the queues named `names`, by sample name and labels."""
    found = {}
    for family in families:
        for sample in family.samples:
            if sample.labels.get("name") in names:
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


# --- one queue's metrics ------------------------------------------------------------------


def test_the_client_go_metrics_sequence() -> None:
    """client-go's TestMetrics, step by step."""
    q, clock = named("sequence")
    q.add("foo")
    m = snapshot(q)
    assert (m.adds, m.depth) == (1, 1)

    clock.step(50e-6)
    assert q.get(block=False) == "foo"
    m = snapshot(q)
    assert m.queue_duration.count == 1
    assert m.queue_duration.sum == pytest.approx(5e-5, abs=1e-12)
    assert m.depth == 0

    # Re-added while processing: one more add, whatever the repeats.
    for _ in range(5):
        q.add("foo")
    m = snapshot(q)
    assert (m.adds, m.depth) == (2, 1)

    clock.step(25e-6)
    q.done("foo")
    m = snapshot(q)
    assert m.work_duration.count == 1
    assert m.work_duration.sum == pytest.approx(2.5e-5, abs=1e-12)
    assert m.depth == 1, "requeued at done"

    assert q.get(block=False) == "foo"
    m = snapshot(q)
    assert m.queue_duration.count == 2
    # Dirty since the re-add at 50 µs, handed out at 75 µs.
    assert m.queue_duration.sum == pytest.approx(5e-5 + 2.5e-5, abs=1e-12)

    clock.step(0.001)
    m = snapshot(q)
    assert m.unfinished_work_seconds == pytest.approx(0.001, abs=1e-12)
    assert m.longest_running_processor_seconds == pytest.approx(0.001, abs=1e-12)

    q.done("foo")
    m = snapshot(q)
    assert m.work_duration.count == 2
    assert m.work_duration.sum == pytest.approx(2.5e-5 + 0.001, abs=1e-12)
    assert m.unfinished_work_seconds == 0.0
    assert m.depth == 0
    # The buckets are cumulative, client-go's bounds.
    assert m.queue_duration.buckets[4] == (1e-4, 2)
    assert m.queue_duration.buckets[3] == (1e-5, 0)
    assert [bound for bound, _ in m.work_duration.buckets] == list(metrics.BUCKET_BOUNDS)
    assert m.work_duration.mean == pytest.approx((2.5e-5 + 0.001) / 2)


def test_nothing_changes_after_shutdown() -> None:
    """client-go's TestMetricShutdown: the gauges stop at the shutdown,
    and nothing else moves either."""
    q, clock = named("shutdown")
    q.add("a")
    q.get()
    clock.step(0.001)
    q.add_after("late", 5)
    q.shutdown()
    before = snapshot(q)
    assert before.unfinished_work_seconds == pytest.approx(0.001, abs=1e-12)
    clock.step(3600)
    assert q.add("b") is False
    assert q.add_after("c", 1) is False
    assert q.add_rate_limited("d") is None
    assert q.add("e", priority=5) is False
    assert snapshot(q) == before
    assert before.retries == 1


def test_retries_count_every_accepted_delay() -> None:
    q, _ = named("retries")
    q.add_rate_limited("a")
    q.add_after("b", 0)
    q.add_after("c", 1, priority=3)
    assert snapshot(q).retries == 3


def test_an_unnamed_queue_keeps_no_metrics() -> None:
    q: workqueue.Queue[str] = workqueue.Queue()
    q.add("k")
    assert q.metrics() is None


def test_depth_by_priority() -> None:
    q, _ = named("by-priority")
    q.add("a", 5)
    q.add("b", 5)
    q.add("c")
    assert snapshot(q).depth_by_priority == ((5, 2), (0, 1))


def test_snapshots_are_frozen_values() -> None:
    q, _ = named("frozen")
    m = snapshot(q)
    with pytest.raises(AttributeError):
        m.depth = 5  # type: ignore[misc]
    assert m == snapshot(q)
    assert isinstance(m.queue_duration, Histogram)
    assert m.queue_duration.mean is None


# --- every named queue ----------------------------------------------------------------------


def test_queues_sharing_a_name_are_summed_and_dropped_queues_leave() -> None:
    name = unique("shared")
    a: workqueue.Queue[str] = workqueue.Queue(name=name)
    b: workqueue.Queue[str] = workqueue.Queue(name=name)
    a.add("x")
    b.add("y")
    b.add("z", priority=2)
    everything = metrics.snapshot_all()
    assert everything[name].depth == 3
    assert everything[name].depth_by_priority == ((2, 1), (0, 2))
    assert list(everything) == sorted(everything)
    del a, b
    gc.collect()
    assert name not in metrics.snapshot_all()


def test_scheduling_queues_report_their_sub_queues() -> None:
    name = unique("scheduling")
    q: workqueue.SchedulingQueue[int] = workqueue.SchedulingQueue(name=name)
    q.add(1)
    q.add(2)
    key, _ = q.pop()
    q.requeue_backoff(key)
    q.pop()
    assert metrics.scheduling_snapshot_all()[name] == metrics.SchedulingPending(
        active=0, backoff=1, unschedulable=0, in_flight=1
    )
    text = metrics.prometheus_text()
    assert f'workqueue_scheduling_pending_items{{name="{name}",queue="backoff"}} 1\n' in text
    del q
    gc.collect()
    assert name not in metrics.scheduling_snapshot_all()


# --- the exposition -----------------------------------------------------------------------

FAMILIES = {
    "workqueue_depth": "gauge",
    "workqueue_adds": "counter",
    "workqueue_queue_duration_seconds": "histogram",
    "workqueue_work_duration_seconds": "histogram",
    "workqueue_unfinished_work_seconds": "gauge",
    "workqueue_longest_running_processor_seconds": "gauge",
    "workqueue_retries": "counter",
    "workqueue_depth_by_priority": "gauge",
}


def busy_queue(stem: str) -> tuple[workqueue.Queue[str], workqueue.ManualClock]:
    q, clock = named(stem)
    q.add("k")
    q.add("hot", priority=7)
    clock.step(50e-6)
    q.get()
    q.add_rate_limited("retry")
    clock.step(0.5)
    return q, clock


def test_the_exposition_parses_with_prometheus_client() -> None:
    q, _ = busy_queue("text")
    name = q.name
    assert name is not None
    text = metrics.prometheus_text()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    for family, kind in FAMILIES.items():
        assert families[family].type == kind, family
    found = samples(families.values(), {name})
    label = (("name", name),)
    assert found[("workqueue_depth", label)] == 2  # k, and retry once due
    assert found[("workqueue_adds_total", label)] == 3
    assert found[("workqueue_retries_total", label)] == 1
    assert found[("workqueue_queue_duration_seconds_count", label)] == 1
    assert math.isclose(found[("workqueue_queue_duration_seconds_sum", label)], 5e-5)
    bucket = (("le", "0.0001"), ("name", name))
    assert found[("workqueue_queue_duration_seconds_bucket", bucket)] == 1
    assert (
        found[("workqueue_queue_duration_seconds_bucket", (("le", "1e-05"), ("name", name)))] == 0
    )
    assert found[("workqueue_queue_duration_seconds_bucket", (("le", "+Inf"), ("name", name)))] == 1
    assert math.isclose(found[("workqueue_unfinished_work_seconds", label)], 0.5)
    assert math.isclose(found[("workqueue_longest_running_processor_seconds", label)], 0.5)
    assert found[("workqueue_depth_by_priority", (("name", name), ("priority", "0")))] == 2
    # Text written by client_golang carries the same `le` labels.
    assert 'le="10"' in text and 'le="1e-08"' in text


def test_names_are_escaped_in_the_exposition() -> None:
    name = unique('odd "name"\\with\nnewline')
    q: workqueue.Queue[str] = workqueue.Queue(name=name)
    q.add("k")
    families = list(text_string_to_metric_families(metrics.prometheus_text()))
    assert samples(families, {name})[("workqueue_depth", (("name", name),))] == 1


def test_priority_labels_are_bounded() -> None:
    q, _ = named("many-priorities")
    for priority in range(40):
        q.add(f"k{priority}", priority)
    families = list(text_string_to_metric_families(metrics.prometheus_text()))
    by_priority = {
        labels[1][1]: value
        for (sample, labels), value in samples(families, {q.name or ""}).items()
        if sample == "workqueue_depth_by_priority"
    }
    assert len(by_priority) == metrics.MAX_PRIORITY_LABELS
    assert by_priority["39"] == 1
    assert by_priority["other"] == 40 - (metrics.MAX_PRIORITY_LABELS - 1)


# --- the prometheus_client collector ------------------------------------------------------


def test_the_collector_exposes_exactly_what_the_text_does() -> None:
    q, _ = busy_queue("collector")
    many, _ = named("collector-priorities")
    for priority in range(-20, 20):
        many.add(f"k{priority}", priority)
    scheduling: workqueue.SchedulingQueue[int] = workqueue.SchedulingQueue(
        name=unique("collector-scheduling")
    )
    scheduling.add(1)
    names = {q.name or "", many.name or "", scheduling.name or ""}
    registry = CollectorRegistry()
    registry.register(metrics.WorkqueueCollector())
    ours = list(text_string_to_metric_families(generate_latest(registry).decode()))
    core = list(text_string_to_metric_families(metrics.prometheus_text()))
    assert samples(ours, names) == samples(core, names)
    assert len(samples(ours, names)) > 50
    # Same families, types and help texts too.
    describe = {(f.name, f.type, f.documentation) for f in core}
    assert {(f.name, f.type, f.documentation) for f in ours} == describe


def test_the_collector_registers_once_per_registry() -> None:
    collector = metrics.WorkqueueCollector()
    REGISTRY.register(collector)
    try:
        with pytest.raises(ValueError, match="Duplicated timeseries"):
            REGISTRY.register(metrics.WorkqueueCollector())
        q, _ = named("global-registry")
        q.add("k")
        text = generate_latest(REGISTRY).decode()
        assert f'workqueue_depth{{name="{q.name}"}} 1.0' in text
    finally:
        REGISTRY.unregister(collector)


def test_the_collector_says_what_it_needs_without_prometheus_client() -> None:
    child = textwrap.dedent(
        """
        import sys
        sys.modules["prometheus_client"] = None  # as if not installed
        import workqueue.metrics
        try:
            workqueue.metrics.WorkqueueCollector()
        except ImportError as error:
            print(error)
        print(workqueue.metrics.prometheus_text() == "")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    assert "pip install prometheus-client" in out
    assert out.splitlines()[-1] == "True"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e-8, "1e-08"),
        (1e-4, "0.0001"),
        (0.25, "0.25"),
        (10.0, "10"),
        (0.0, "0"),
        (2.5e21, "2.5e+21"),
        (1e20, "100000000000000000000"),
        (math.inf, "+Inf"),
    ],
)
def test_go_float_format(value: float, text: str) -> None:
    assert metrics._go_float(value) == text

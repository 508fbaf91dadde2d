"""client-go's work-queue metrics, for every named queue of the process.

A queue given a ``name`` keeps client-go's metrics, with the same names and
meanings, so existing Kubernetes dashboards work unchanged (label
``name``); an unnamed queue keeps none and pays nothing for them:

- ``workqueue_depth`` (gauge): keys waiting to be handed out;
- ``workqueue_adds_total`` (counter): adds that scheduled a run;
- ``workqueue_queue_duration_seconds`` (histogram): time from add to get;
- ``workqueue_work_duration_seconds`` (histogram): time from get to done;
- ``workqueue_unfinished_work_seconds`` (gauge): the summed ages of the
  keys being processed;
- ``workqueue_longest_running_processor_seconds`` (gauge): the oldest;
- ``workqueue_retries_total`` (counter): accepted ``add_after`` and
  ``add_rate_limited`` calls;
- ``workqueue_depth_by_priority`` (gauge, label ``priority``): ready keys
  per priority (not in client-go);
- ``workqueue_scheduling_pending_items`` (gauge, label ``queue``): the
  sub-queue sizes of a named ``SchedulingQueue`` (not in client-go).

Read them three ways:

- ``Queue.metrics()``: one queue's figures as a ``QueueMetrics``;
- ``prometheus_text()``: the text exposition of every named queue, to
  serve at ``/metrics``;
- ``WorkqueueCollector``: a ``prometheus_client`` collector exposing the
  same families, for ``prometheus_client.REGISTRY.register(...)``.

Nothing ticks in the background: the "unfinished" gauges are computed when
read, and they stop moving once the queue is shut down.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import _workqueue

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

__all__ = [
    "BUCKET_BOUNDS",
    "MAX_PRIORITY_LABELS",
    "Histogram",
    "QueueMetrics",
    "SchedulingPending",
    "WorkqueueCollector",
    "prometheus_text",
    "scheduling_snapshot_all",
    "snapshot_all",
]

BUCKET_BOUNDS: tuple[float, ...] = tuple(_workqueue._BUCKET_BOUNDS)
"""Upper bounds of the duration histograms' buckets, in seconds: client-go's
``1e-8 * 10**k`` up to 10 s (the ``+Inf`` bucket is implied)."""

MAX_PRIORITY_LABELS: int = _workqueue._MAX_PRIORITY_LABELS
"""At most this many ``priority`` labels per queue in
``workqueue_depth_by_priority``: the highest priorities in use, the rest
summed under ``priority="other"``."""

prometheus_text = _workqueue.prometheus_text


@dataclass(frozen=True)
class Histogram:
    """A duration histogram at one moment, as Prometheus exposes it.

    ``buckets`` pairs each upper bound of ``BUCKET_BOUNDS`` (seconds) with
    the number of observations at or below it (cumulative); observations
    above the last bound count only in ``count`` (the ``+Inf`` bucket).
    ``sum`` is the total of the observed values in seconds.
    """

    buckets: tuple[tuple[float, int], ...]
    sum: float
    count: int

    @property
    def mean(self) -> float | None:
        """The mean observation in seconds, or ``None`` before the first."""
        return self.sum / self.count if self.count else None


@dataclass(frozen=True)
class QueueMetrics:
    """One named queue's metrics at one moment (``Queue.metrics()``).

    The fields are client-go's metrics without the ``workqueue_`` prefix,
    plus ``depth_by_priority``: ``(priority, ready keys)`` pairs, highest
    priority first.
    """

    depth: int
    adds: int
    retries: int
    queue_duration: Histogram
    work_duration: Histogram
    unfinished_work_seconds: float
    longest_running_processor_seconds: float
    depth_by_priority: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class SchedulingPending:
    """A scheduling queue's items per sub-queue, read at one moment
    (``SchedulingQueue.pending()``)."""

    active: int
    backoff: int
    unschedulable: int
    in_flight: int

    @property
    def total(self) -> int:
        """Every item the queue holds."""
        return self.active + self.backoff + self.unschedulable + self.in_flight


def _histogram(raw: tuple[Any, ...]) -> Histogram:
    cumulative, total, count = raw
    return Histogram(tuple(zip(BUCKET_BOUNDS, cumulative)), total, count)


def _queue_metrics(raw: tuple[Any, ...]) -> QueueMetrics:
    """A ``QueueMetrics`` from the core's plain tuple."""
    depth, adds, retries, queued, work, unfinished, longest, by_priority = raw
    return QueueMetrics(
        depth=depth,
        adds=adds,
        retries=retries,
        queue_duration=_histogram(queued),
        work_duration=_histogram(work),
        unfinished_work_seconds=unfinished,
        longest_running_processor_seconds=longest,
        depth_by_priority=tuple(by_priority),
    )


def snapshot_all() -> dict[str, QueueMetrics]:
    """The metrics of every live named work queue, by name, sorted by name.
    Queues sharing a name are summed (the longest-running gauge takes the
    maximum), as client-go's shared series would be."""
    return {name: _queue_metrics(raw) for name, raw in _workqueue._snapshot_all()}


def scheduling_snapshot_all() -> dict[str, SchedulingPending]:
    """The sub-queue sizes of every live named ``SchedulingQueue``, by
    name, sorted by name."""
    return {
        name: SchedulingPending(*pending) for name, pending in _workqueue._scheduling_snapshot_all()
    }


# Family names, types and help texts, exactly as prometheus_text() writes them.
_DEPTH = ("workqueue_depth", "Current depth of workqueue")
_ADDS = ("workqueue_adds_total", "Total number of adds handled by workqueue")
_QUEUE_DURATION = (
    "workqueue_queue_duration_seconds",
    "How long in seconds an item stays in workqueue before being requested.",
)
_WORK_DURATION = (
    "workqueue_work_duration_seconds",
    "How long in seconds processing an item from workqueue takes.",
)
_UNFINISHED = (
    "workqueue_unfinished_work_seconds",
    "How many seconds of work has done that is in progress and hasn't been observed by "
    "work_duration. Large values indicate stuck threads. One can deduce the number of stuck "
    "threads by observing the rate at which this increases.",
)
_LONGEST = (
    "workqueue_longest_running_processor_seconds",
    "How many seconds has the longest running processor for workqueue been running.",
)
_RETRIES = ("workqueue_retries_total", "Total number of retries handled by workqueue")
_DEPTH_BY_PRIORITY = (
    "workqueue_depth_by_priority",
    "Current number of ready items in workqueue, by priority",
)
_SCHEDULING_PENDING = (
    "workqueue_scheduling_pending_items",
    "Items in each sub-queue of a scheduling queue: active, backoff, unschedulable, in_flight",
)


def _go_float(value: float) -> str:
    """``value`` as Go's ``strconv.FormatFloat(v, 'g', -1, 64)`` writes it,
    like client_golang's ``le`` labels (``1e-08``, ``0.0001``, ``10``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    exact = Decimal(repr(value)).normalize()
    exponent = exact.adjusted()
    if -4 <= exponent < 21:
        return format(exact, "f")
    sign, digits, _ = exact.as_tuple()
    mantissa = str(digits[0])
    if len(digits) > 1:
        mantissa += "." + "".join(map(str, digits[1:]))
    return f"{'-' if sign else ''}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _priority_labels(depths: tuple[tuple[int, int], ...]) -> list[tuple[str, int]]:
    named, other = _workqueue._bounded_priorities(list(depths))
    labels = [(str(priority), count) for priority, count in named]
    if other is not None:
        labels.append(("other", other))
    return labels


class WorkqueueCollector:
    """A ``prometheus_client`` collector of every named queue's metrics:
    the families of ``prometheus_text()``, label ``name``::

        from prometheus_client import REGISTRY, start_http_server
        from workqueue.metrics import WorkqueueCollector

        REGISTRY.register(WorkqueueCollector())
        start_http_server(8000)

    Needs ``prometheus_client`` (``pip install prometheus-client``); the
    rest of ``workqueue`` does not. Register one per registry: queues made
    later are picked up at every scrape.
    """

    def __init__(self) -> None:
        try:
            import prometheus_client  # noqa: F401
        except ImportError as error:  # pragma: no cover - tested in a subprocess
            raise ImportError(
                "workqueue.metrics.WorkqueueCollector needs prometheus_client: "
                "pip install prometheus-client"
            ) from error

    def describe(self) -> Iterator[Metric]:
        """The families without samples, so that a registry can refuse a
        second collector of the same names."""
        return self._families({}, {})

    def collect(self) -> Iterator[Metric]:
        """Every named queue's metrics, read now."""
        queues = snapshot_all()
        scheduling = scheduling_snapshot_all()
        if not queues and not scheduling:
            return iter(())
        return self._families(queues, scheduling)

    def _families(
        self, queues: dict[str, QueueMetrics], scheduling: dict[str, SchedulingPending]
    ) -> Iterator[Metric]:
        from prometheus_client.metrics_core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        describing = not queues and not scheduling
        if queues or describing:
            depth = GaugeMetricFamily(*_DEPTH, labels=["name"])
            adds = CounterMetricFamily(*_ADDS, labels=["name"])
            queue_duration = HistogramMetricFamily(*_QUEUE_DURATION, labels=["name"])
            work_duration = HistogramMetricFamily(*_WORK_DURATION, labels=["name"])
            unfinished = GaugeMetricFamily(*_UNFINISHED, labels=["name"])
            longest = GaugeMetricFamily(*_LONGEST, labels=["name"])
            retries = CounterMetricFamily(*_RETRIES, labels=["name"])
            by_priority = GaugeMetricFamily(*_DEPTH_BY_PRIORITY, labels=["name", "priority"])
            for name, m in queues.items():
                depth.add_metric([name], m.depth)
                adds.add_metric([name], m.adds)
                for family, histogram in (
                    (queue_duration, m.queue_duration),
                    (work_duration, m.work_duration),
                ):
                    buckets: list[tuple[str, float]] = [
                        (_go_float(bound), count) for bound, count in histogram.buckets
                    ]
                    buckets.append(("+Inf", histogram.count))
                    family.add_metric([name], buckets, histogram.sum)
                unfinished.add_metric([name], m.unfinished_work_seconds)
                longest.add_metric([name], m.longest_running_processor_seconds)
                retries.add_metric([name], m.retries)
                for priority, count in _priority_labels(m.depth_by_priority):
                    by_priority.add_metric([name, priority], count)
            yield from (
                depth,
                adds,
                queue_duration,
                work_duration,
                unfinished,
                longest,
                retries,
                by_priority,
            )
        if scheduling or describing:
            pending = GaugeMetricFamily(*_SCHEDULING_PENDING, labels=["name", "queue"])
            for name, sizes in scheduling.items():
                for queue, count in (
                    ("active", sizes.active),
                    ("backoff", sizes.backoff),
                    ("unschedulable", sizes.unschedulable),
                    ("in_flight", sizes.in_flight),
                ):
                    pending.add_metric([name, queue], count)
            yield pending

"""A controller in miniature, in Python.

Part 1, threads: two "informers" emit change events for 2,000 objects
(``namespace/name`` keys): first the initial list, then a stream of updates
in which a few hot objects change far more often than the rest, so most
events collapse into a run that is already pending. Four workers
(``workqueue.run_workers``) reconcile the keys; one reconcile in ten fails
(a seeded generator decides) and is retried under the default controller
rate limiter. When the informers stop, ``shutdown_with_drain`` processes
every key still queued.

Part 2, asyncio: the same loop with coroutines (``async with
q.aprocessing()``), keys arriving with delays (``add_after``), no thread
per waiting coroutine.

Both queues are named, so they keep client-go's metrics
(``workqueue.metrics``); the demo ends with a summary of them, the figures
a Prometheus scrape of ``/metrics`` would show.

    python python/examples/controller.py
"""

from __future__ import annotations

import asyncio
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import workqueue
from workqueue.metrics import Histogram, QueueMetrics

OBJECTS = 2_000
INFORMERS = 2
UPDATES_PER_INFORMER = 20_000
BURST = 500
BURST_PAUSE = 0.01
HOT_OBJECTS = OBJECTS // 100
WORKERS = 4
RECONCILE_SECONDS = 0.0002  # a call to an API server, say
FAILURE_PERCENT = 10
MAX_RETRIES = 5
SEED = 0xC0FFEE


class ReconcileError(Exception):
    """A reconcile failed (simulated)."""


@dataclass
class Stats:
    """What the threads count."""

    emitted: int = 0
    runs: int = 0
    retry_runs: int = 0
    failures: int = 0
    dropped: int = 0
    seen: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def inform(informer: int, queue: workqueue.Queue[str], keys: list[str], stats: Stats) -> None:
    """Informer 0 first lists every object; then each emits its updates,
    half of them to the hot objects, in bursts."""
    if informer == 0:
        queue.add_batch(keys)
        with stats.lock:
            stats.emitted += len(keys)
    rng = random.Random(SEED + informer)
    for burst in range(UPDATES_PER_INFORMER // BURST):
        for _ in range(BURST):
            hot = rng.random() < 0.5
            queue.add(keys[rng.randrange(HOT_OBJECTS if hot else OBJECTS)])
        with stats.lock:
            stats.emitted += BURST
        if burst + 1 < UPDATES_PER_INFORMER // BURST:
            time.sleep(BURST_PAUSE)


def make_reconcile(queue: workqueue.Queue[str], stats: Stats) -> Callable[[str], None]:
    def reconcile(key: str) -> None:
        with stats.lock:
            run = stats.runs
            stats.runs += 1
            stats.seen.add(key)
        if queue.num_requeues(key) > 0:
            with stats.lock:
                stats.retry_runs += 1
        time.sleep(RECONCILE_SECONDS)  # releases the GIL, like real I/O
        # The n-th run fails when the n-th number of a seeded sequence says
        # so: the same failure rate on every run of the demo.
        if random.Random(SEED + run).randrange(100) >= FAILURE_PERCENT:
            return
        with stats.lock:
            stats.failures += 1
        raise ReconcileError(f"reconcile of {key} failed (simulated)")

    return reconcile


def report_progress(queue: workqueue.Queue[str], stats: Stats, stop: threading.Event) -> None:
    terminal = sys.stdout.isatty()
    interval = 0.1 if terminal else 0.5
    last_runs, last_time = 0, time.monotonic()
    while True:
        finished = stop.wait(interval)
        now = time.monotonic()
        runs = stats.runs
        rate = (runs - last_runs) / max(now - last_time, 1e-9)
        last_runs, last_time = runs, now
        line = (
            f"processed {runs:>7,}  depth {len(queue):>5,}  "
            f"waiting for retry {queue.delayed_len():>4,}  {rate:>8,.0f} keys/s"
        )
        print(f"\r{line}" if terminal else line, end="" if terminal else "\n", flush=True)
        if finished:
            if terminal:
                print()
            return


def threads_demo() -> QueueMetrics:
    print(
        f"part 1, threads: {INFORMERS} informers, {OBJECTS:,} objects, {WORKERS} workers, "
        f"{FAILURE_PERCENT} % of reconciles fail, default controller rate limiter"
    )
    queue: workqueue.Queue[str] = workqueue.Queue(name="objects")
    keys = [f"namespace-{i % 25:02}/object-{i:05}" for i in range(OBJECTS)]
    stats = Stats()

    def on_dropped(key: str, error: BaseException) -> None:
        with stats.lock:
            stats.dropped += 1

    reports: list[workqueue.WorkerReport] = []
    workers = threading.Thread(
        target=lambda: reports.append(
            workqueue.run_workers(
                queue,
                make_reconcile(queue, stats),
                workers=WORKERS,
                max_retries=MAX_RETRIES,
                on_dropped=on_dropped,
            )
        )
    )
    stop_progress = threading.Event()
    progress = threading.Thread(target=report_progress, args=(queue, stats, stop_progress))
    informers = [
        threading.Thread(target=inform, args=(i, queue, keys, stats)) for i in range(INFORMERS)
    ]
    started = time.monotonic()
    for thread in (workers, progress, *informers):
        thread.start()
    for thread in informers:
        thread.join()

    queued, in_flight, waiting = len(queue), queue.processing_len(), queue.delayed_len()
    drain_started = time.monotonic()
    drained = queue.shutdown_with_drain()
    drain_ms = (time.monotonic() - drain_started) * 1000
    workers.join()
    stop_progress.set()
    progress.join()
    elapsed = time.monotonic() - started
    (report,) = reports

    rows = [
        (
            "events emitted",
            f"{stats.emitted:,} for {OBJECTS:,} objects "
            f"(initial list + {INFORMERS * UPDATES_PER_INFORMER:,} updates)",
        ),
        ("distinct keys run", f"{len(stats.seen):,} of {OBJECTS:,}"),
        (
            "handler runs",
            f"{stats.runs:,}: collapse ratio {stats.emitted / max(stats.runs, 1):.1f} "
            "events per run",
        ),
        ("successes", f"{report.succeeded:,}"),
        ("failures", f"{stats.failures:,} ({100 * stats.failures / max(stats.runs, 1):.1f} %)"),
        ("  requeued", f"{report.retried:,} with add_rate_limited"),
        ("  retry runs", f"{stats.retry_runs:,} runs of a key with a failure pending"),
        ("  given up", f"{report.dropped:,} (after {MAX_RETRIES} retries)"),
        (
            "  abandoned",
            f"{report.abandoned:,} (failed in the drain: not requeued, the queue was shut down)",
        ),
        ("  dropped at shutdown", f"{waiting:,} retries still waiting for their backoff"),
        (
            "shutdown_with_drain",
            f"{queued:,} queued + {in_flight} in flight at shutdown, "
            f"{'all processed' if drained else 'NOT drained'} in {drain_ms:.0f} ms",
        ),
        ("elapsed", f"{elapsed:.2f} s"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    assert len(stats.seen) == OBJECTS, "every object must be reconciled"
    assert report.succeeded + report.retried + report.dropped + report.abandoned == stats.runs, (
        f"{report} does not count the {stats.runs} handler runs"
    )
    assert drained and len(queue) == 0 and queue.processing_len() == 0
    assert stats.dropped == report.dropped, "on_dropped and the report disagree"
    metrics = queue.metrics()
    assert metrics is not None, "a named queue keeps metrics"
    # Every run was a get, every add was handed out: the queue drained.
    assert metrics.queue_duration.count == metrics.adds == stats.runs, (metrics, stats.runs)
    assert metrics.work_duration.count == stats.runs and metrics.depth == 0
    assert metrics.retries == report.retried, (metrics.retries, report.retried)
    return metrics


async def asyncio_demo() -> QueueMetrics:
    objects, consumers = 200, 3
    print(f"part 2, asyncio: {objects} objects, {consumers} consumer coroutines, delayed adds")
    queue: workqueue.Queue[tuple[str, int]] = workqueue.Queue(name="async")
    runs: list[tuple[str, int]] = []
    threads_before = threading.active_count()

    async def consumer() -> None:
        while True:
            try:
                async with queue.aprocessing() as key:
                    await asyncio.sleep(0.0005)  # an async API call
                    runs.append(key)
            except workqueue.ShutDown:
                return

    async def producer() -> None:
        for i in range(objects):
            # Every other object arrives 10-50 ms later, like a requeue.
            key = ("pods", i)
            if i % 2:
                queue.add_after(key, 0.01 + (i % 5) * 0.01)
            else:
                queue.add(key)
            if i % 20 == 0:
                await asyncio.sleep(0.002)

    started = time.monotonic()
    tasks = [asyncio.ensure_future(consumer()) for _ in range(consumers)]
    await producer()
    assert threading.active_count() == threads_before, "no thread per waiting coroutine"
    while len(runs) < objects:
        await asyncio.sleep(0.005)
    queue.shutdown()
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    print(f"  reconciled {len(set(runs))} of {objects} keys in {elapsed * 1000:.0f} ms")
    assert sorted(runs) == [("pods", i) for i in range(objects)]
    metrics = queue.metrics()
    assert metrics is not None and metrics.adds == objects
    return metrics


def upper_bound(histogram: Histogram, fraction: float) -> str:
    """The smallest bucket bound holding `fraction` of the observations."""
    for bound, count in histogram.buckets:
        if count >= fraction * histogram.count:
            return f"<= {bound * 1000:g} ms"
    return "> 10 s"


def mean_ms(histogram: Histogram) -> str:
    mean = histogram.mean
    return "n/a" if mean is None else f"{mean * 1000:.2f} ms"


def print_metrics(parts: dict[str, QueueMetrics]) -> None:
    print("metrics (client-go's names, label name=...; what a /metrics scrape shows):")
    rows: list[tuple[str, ...]] = [("", *(f'name="{name}"' for name in parts))]
    readings: tuple[tuple[str, Callable[[QueueMetrics], str]], ...] = (
        ("workqueue_adds_total", lambda m: f"{m.adds:,}"),
        ("workqueue_retries_total", lambda m: f"{m.retries:,}"),
        ("workqueue_depth", lambda m: f"{m.depth:,}"),
        ("queue duration: count", lambda m: f"{m.queue_duration.count:,}"),
        ("queue duration: mean", lambda m: mean_ms(m.queue_duration)),
        ("queue duration: 95 %", lambda m: upper_bound(m.queue_duration, 0.95)),
        ("work duration: mean", lambda m: mean_ms(m.work_duration)),
        ("work duration: 99 %", lambda m: upper_bound(m.work_duration, 0.99)),
        ("unfinished work", lambda m: f"{m.unfinished_work_seconds:.3f} s"),
    )
    for label, read in readings:
        rows.append((label, *(read(m) for m in parts.values())))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        first, *values = row
        print(
            f"  {first:<{widths[0]}}" + "".join(f"  {v:>{w}}" for v, w in zip(values, widths[1:]))
        )


def main() -> None:
    threads = threads_demo()
    coroutines = asyncio.run(asyncio_demo())
    print_metrics({"objects": threads, "async": coroutines})


if __name__ == "__main__":
    main()

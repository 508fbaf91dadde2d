"""Benchmark of the Python binding against pure-Python queues.

Compares, per key:

- ``workqueue``: this project's queue (Rust core, PyO3 binding);
- ``client-go port``: a faithful pure-Python port of client-go's rate-limiting
  work queue (``clientgo_port.py``), i.e. what a Python controller would
  otherwise write, with the same work-queue semantics;
- ``queue.Queue``: the standard library's FIFO, ``put`` + ``get``: no
  collapsing, no per-key exclusivity, no delays; the floor of "a thread-safe
  queue in Python".

Workloads: the single-thread cycle (add, get, done per key), a 2+2 thread
workload (two producers adding distinct keys, two consumers getting and
marking them done until shutdown), and the same two with the batch calls
(``add_batch``, ``get_batch``, ``done_batch``) that only workqueue has, and
one producer and one consumer coroutine against ``asyncio.Queue``.
Keys are strings shaped like Kubernetes object keys (``namespace/name``).

A second table covers the newer features:

- priorities: 100,000 keys over 16 priority levels, all added then all
  handed out highest first (``add(key, priority)``, ``get`` + ``done``, and
  ``get_with_priority``), against ``heapq`` (``heappush``/``heappop`` of
  ``(-priority, sequence, key)``), the floor of a priority queue in Python
  with none of the work-queue semantics (no collapsing, no exclusivity, no
  locking); and the same fill and drain at one level (the FIFO);
- metrics: the single-thread cycle on a named queue (which keeps client-go's
  metrics) against an unnamed one, as a ratio.

Each figure is the best of several runs (the machine may be shared).

    make bench-python            # or: python bench/python/bench.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import os
import queue as stdlib_queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workqueue

import clientgo_port

BATCH = 256


def make_keys(count: int, prefix: str = "") -> list[str]:
    return [f"namespace-{i % 50:02}/{prefix}object-{i:07}" for i in range(count)]


def chunks(keys: Sequence[str], size: int) -> list[Sequence[str]]:
    return [keys[i : i + size] for i in range(0, len(keys), size)]


# --- single thread -----------------------------------------------------------------


def cycle_workqueue(keys: Sequence[workqueue.Key], name: str | None = None) -> float:
    q: workqueue.Queue[workqueue.Key] = workqueue.Queue(name=name)
    add, get, done = q.add, q.get, q.done
    started = time.perf_counter()
    for key in keys:
        add(key)
        done(get())
    return time.perf_counter() - started


def cycle_port(keys: Sequence[workqueue.Key]) -> float:
    q = clientgo_port.RateLimitingQueue()
    add, get, done = q.add, q.get, q.done
    started = time.perf_counter()
    for key in keys:
        add(key)
        item, _ = get()
        done(item)
    elapsed = time.perf_counter() - started
    q.shutdown()
    return elapsed


def cycle_stdlib(keys: Sequence[workqueue.Key]) -> float:
    q: stdlib_queue.Queue[workqueue.Key] = stdlib_queue.Queue()
    put, get = q.put, q.get
    started = time.perf_counter()
    for key in keys:
        put(key)
        get()
    return time.perf_counter() - started


def cycle_workqueue_batch(keys: list[str]) -> float:
    q: workqueue.Queue[str] = workqueue.Queue()
    parts = chunks(keys, BATCH)
    add_batch, get_batch, done_batch = q.add_batch, q.get_batch, q.done_batch
    started = time.perf_counter()
    for part in parts:
        add_batch(part)
        done_batch(get_batch(BATCH))
    return time.perf_counter() - started


# --- 2 producers + 2 consumers --------------------------------------------------------


def run_threads(
    producers: list[Callable[[], None]],
    consumers: list[Callable[[], None]],
    finish: Callable[[], None],
) -> float:
    consumer_threads = [threading.Thread(target=consumer) for consumer in consumers]
    producer_threads = [threading.Thread(target=producer) for producer in producers]
    started = time.perf_counter()
    for thread in consumer_threads + producer_threads:
        thread.start()
    for thread in producer_threads:
        thread.join()
    finish()
    for thread in consumer_threads:
        thread.join()
    return time.perf_counter() - started


def threads_workqueue(per_producer: list[list[str]]) -> float:
    q: workqueue.Queue[str] = workqueue.Queue()
    processed = [0, 0]

    def producer(keys: list[str]) -> Callable[[], None]:
        def run() -> None:
            add = q.add
            for key in keys:
                add(key)

        return run

    def consumer(slot: int) -> Callable[[], None]:
        def run() -> None:
            get, done = q.get, q.done
            count = 0
            try:
                while True:
                    done(get())
                    count += 1
            except workqueue.ShutDown:
                processed[slot] = count

        return run

    elapsed = run_threads(
        [producer(keys) for keys in per_producer],
        [consumer(0), consumer(1)],
        q.shutdown,
    )
    assert sum(processed) == sum(map(len, per_producer)), processed
    return elapsed


def threads_workqueue_batch(per_producer: list[list[str]]) -> float:
    q: workqueue.Queue[str] = workqueue.Queue()
    processed = [0, 0]

    def producer(keys: list[str]) -> Callable[[], None]:
        parts = chunks(keys, BATCH)

        def run() -> None:
            add_batch = q.add_batch
            for part in parts:
                add_batch(part)

        return run

    def consumer(slot: int) -> Callable[[], None]:
        def run() -> None:
            get_batch, done_batch = q.get_batch, q.done_batch
            count = 0
            try:
                while True:
                    count += done_batch(get_batch(BATCH))
            except workqueue.ShutDown:
                processed[slot] = count

        return run

    elapsed = run_threads(
        [producer(keys) for keys in per_producer],
        [consumer(0), consumer(1)],
        q.shutdown,
    )
    assert sum(processed) == sum(map(len, per_producer)), processed
    return elapsed


def threads_port(per_producer: list[list[str]]) -> float:
    q = clientgo_port.RateLimitingQueue()
    processed = [0, 0]

    def producer(keys: list[str]) -> Callable[[], None]:
        def run() -> None:
            add = q.add
            for key in keys:
                add(key)

        return run

    def consumer(slot: int) -> Callable[[], None]:
        def run() -> None:
            get, done = q.get, q.done
            count = 0
            while True:
                item, shutdown = get()
                if shutdown:
                    break
                done(item)
                count += 1
            processed[slot] = count

        return run

    elapsed = run_threads(
        [producer(keys) for keys in per_producer],
        [consumer(0), consumer(1)],
        q.shutdown,
    )
    assert sum(processed) == sum(map(len, per_producer)), processed
    return elapsed


def threads_stdlib(per_producer: list[list[str]]) -> float:
    q: stdlib_queue.Queue[str | None] = stdlib_queue.Queue()
    processed = [0, 0]

    def producer(keys: list[str]) -> Callable[[], None]:
        def run() -> None:
            put = q.put
            for key in keys:
                put(key)

        return run

    def consumer(slot: int) -> Callable[[], None]:
        def run() -> None:
            get = q.get
            count = 0
            while get() is not None:
                count += 1
            processed[slot] = count

        return run

    def finish() -> None:
        q.put(None)
        q.put(None)

    elapsed = run_threads(
        [producer(keys) for keys in per_producer], [consumer(0), consumer(1)], finish
    )
    assert sum(processed) == sum(map(len, per_producer)), processed
    return elapsed


# --- asyncio: 1 producer + 1 consumer coroutine ---------------------------------------


def asyncio_workqueue(keys: list[str]) -> float:
    async def main() -> float:
        q: workqueue.Queue[str] = workqueue.Queue()

        async def consume() -> None:
            async for key in q:
                q.done(key)

        consumer = asyncio.ensure_future(consume())
        started = time.perf_counter()
        add = q.add
        for i, key in enumerate(keys):
            add(key)
            if i % 64 == 63:
                await asyncio.sleep(0)
        q.shutdown()
        await consumer
        return time.perf_counter() - started

    return asyncio.run(main())


def asyncio_stdlib(keys: list[str]) -> float:
    async def main() -> float:
        q: asyncio.Queue[str | None] = asyncio.Queue()

        async def consume() -> None:
            while await q.get() is not None:
                pass

        consumer = asyncio.ensure_future(consume())
        started = time.perf_counter()
        put = q.put_nowait
        for i, key in enumerate(keys):
            put(key)
            if i % 64 == 63:
                await asyncio.sleep(0)
        put(None)
        await consumer
        return time.perf_counter() - started

    return asyncio.run(main())


# --- priorities: fill, then drain highest first ------------------------------------------

LEVELS = 16


def spread_priorities(count: int) -> list[int]:
    """Priorities 0..15, scattered (not in order of arrival)."""
    return [(i * 7919) % LEVELS for i in range(count)]


def priority_workqueue(keys: list[str], priorities: list[int]) -> float:
    q: workqueue.Queue[str] = workqueue.Queue()
    add, get, done = q.add, q.get, q.done
    started = time.perf_counter()
    for key, priority in zip(keys, priorities):
        add(key, priority)
    for _ in range(len(keys)):
        done(get())
    elapsed = time.perf_counter() - started
    assert len(q) == 0
    return elapsed


def priority_workqueue_with_priority(keys: list[str], priorities: list[int]) -> float:
    q: workqueue.Queue[str] = workqueue.Queue()
    add, get, done = q.add, q.get_with_priority, q.done
    started = time.perf_counter()
    for key, priority in zip(keys, priorities):
        add(key, priority)
    last = LEVELS
    for _ in range(len(keys)):
        key, priority = get()
        done(key)
        last = priority
    elapsed = time.perf_counter() - started
    assert last == 0
    return elapsed


def priority_heapq(keys: list[str], priorities: list[int]) -> float:
    heap: list[tuple[int, int, str]] = []
    push, pop = heapq.heappush, heapq.heappop
    started = time.perf_counter()
    for sequence, (key, priority) in enumerate(zip(keys, priorities)):
        push(heap, (-priority, sequence, key))
    for _ in range(len(keys)):
        pop(heap)
    return time.perf_counter() - started


# --- reporting -------------------------------------------------------------------------


def best_ns_per_key(run: Callable[[], float], keys: int, repeats: int) -> float:
    return min(run() for _ in range(repeats)) / keys * 1e9


def show_ns(ns: float) -> str:
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def self_check() -> None:
    """The port keeps client-go's semantics (collapse, exclusivity, drain)."""
    q = clientgo_port.RateLimitingQueue()
    q.add("a")
    q.add("a")
    assert q.len() == 1
    item, _ = q.get()
    q.add("a")
    assert q.len() == 0
    q.done(item)
    assert q.len() == 1
    q.get()
    q.done("a")
    q.add_after("b", 0.01)
    assert q.get() == ("b", False)
    q.shutdown()
    assert q.get() == (None, True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer keys and repeats")
    args = parser.parse_args()
    single, per_producer, repeats = (20_000, 10_000, 2) if args.quick else (200_000, 100_000, 5)
    self_check()

    keys = make_keys(single)
    int_keys = list(range(single))
    port_keys = keys[: single // 4]  # the port is slow: fewer keys, same per-key figure
    producers = [make_keys(per_producer, f"p{p}-") for p in range(2)]
    port_producers = [part[: per_producer // 4] for part in producers]
    total = 2 * per_producer
    port_total = 2 * (per_producer // 4)

    rows = [
        (
            "single thread: add + get + done",
            best_ns_per_key(lambda: cycle_workqueue(keys), single, repeats),
            best_ns_per_key(lambda: cycle_port(port_keys), len(port_keys), repeats),
            best_ns_per_key(lambda: cycle_stdlib(keys), single, repeats),
        ),
        (
            "single thread, int keys",
            best_ns_per_key(lambda: cycle_workqueue(int_keys), single, repeats),
            best_ns_per_key(lambda: cycle_port(int_keys[: single // 4]), single // 4, repeats),
            best_ns_per_key(lambda: cycle_stdlib(int_keys), single, repeats),
        ),
        (
            f"single thread, batches of {BATCH}",
            best_ns_per_key(lambda: cycle_workqueue_batch(keys), single, repeats),
            None,
            None,
        ),
        (
            "2 producers + 2 consumers",
            best_ns_per_key(lambda: threads_workqueue(producers), total, repeats),
            best_ns_per_key(lambda: threads_port(port_producers), port_total, repeats),
            best_ns_per_key(lambda: threads_stdlib(producers), total, repeats),
        ),
        (
            f"2 + 2 threads, batches of {BATCH}",
            best_ns_per_key(lambda: threads_workqueue_batch(producers), total, repeats),
            None,
            None,
        ),
    ]
    rows.append(
        (
            "asyncio: 1 + 1 coroutines",
            best_ns_per_key(lambda: asyncio_workqueue(keys), single, repeats),
            None,
            best_ns_per_key(lambda: asyncio_stdlib(keys), single, repeats),
        )
    )
    # Batch rows compare with the per-key figures of the peers.
    rows[2] = (rows[2][0], rows[2][1], rows[0][2], rows[0][3])
    rows[4] = (rows[4][0], rows[4][1], rows[3][2], rows[3][3])

    print(
        f"Python {sys.version.split()[0]}, workqueue {workqueue.__version__}, "
        f"{os.cpu_count()} CPUs; time per key, best of {repeats}; "
        f"{single:,} keys single-threaded, {total:,} in the thread workloads"
    )
    header = (
        f"{'workload':<34} {'workqueue':>10} {'client-go port':>15} {'queue.Queue':>12}"
        f" {'port/wq':>9} {'queue/wq':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, ours, port, stdlib in rows:
        port_ns = "n/a" if port is None else show_ns(port)
        port_ratio = "n/a" if port is None else f"{port / ours:.1f}x"
        stdlib_ns = "n/a" if stdlib is None else show_ns(stdlib)
        stdlib_ratio = "n/a" if stdlib is None else f"{stdlib / ours:.1f}x"
        print(
            f"{name:<34} {show_ns(ours):>10} {port_ns:>15} {stdlib_ns:>12}"
            f" {port_ratio:>9} {stdlib_ratio:>9}"
        )
    print(
        "port/wq: how many times faster than the pure-Python client-go port (target >= 10x);\n"
        "queue/wq: how many times faster than queue.Queue put+get, which has no work-queue\n"
        "semantics (target > 1x); for the asyncio row, asyncio.Queue. Batch rows compare\n"
        "with the peers' per-key figures."
    )
    features(args.quick, repeats)


def features(quick: bool, repeats: int) -> None:
    count = 10_000 if quick else 100_000
    keys = make_keys(count)
    priorities = spread_priorities(count)
    flat = [0] * count
    heap = best_ns_per_key(lambda: priority_heapq(keys, priorities), count, repeats)
    rows = [
        (
            f"priorities: {count:,} keys, {LEVELS} levels, get + done",
            best_ns_per_key(lambda: priority_workqueue(keys, priorities), count, repeats),
            heap,
        ),
        (
            "  the same with get_with_priority",
            best_ns_per_key(
                lambda: priority_workqueue_with_priority(keys, priorities), count, repeats
            ),
            heap,
        ),
        (
            "  one level (FIFO), get + done",
            best_ns_per_key(lambda: priority_workqueue(keys, flat), count, repeats),
            heap,
        ),
    ]
    cycle_keys = keys[: count if quick else 200_000]
    unnamed = best_ns_per_key(lambda: cycle_workqueue(cycle_keys), len(cycle_keys), repeats)
    named = best_ns_per_key(
        lambda: cycle_workqueue(cycle_keys, name="bench-metrics"), len(cycle_keys), repeats
    )
    print()
    header = f"{'feature workload':<46} {'workqueue':>10} {'heapq':>10} {'heapq/wq':>9}"
    print(header)
    print("-" * len(header))
    for name, ours, baseline in rows:
        print(f"{name:<46} {show_ns(ours):>10} {show_ns(baseline):>10} {baseline / ours:>8.1f}x")
    print(
        f"{'metrics: add + get + done, unnamed queue':<46} {show_ns(unnamed):>10}\n"
        f"{'metrics: the same, named (client-go metrics)':<46} {show_ns(named):>10}"
        f"   named/unnamed {named / unnamed:.2f}x"
    )
    print(
        "heapq/wq: heapq push+pop of (-priority, seq, key) per key, no work-queue semantics;\n"
        "a figure below 1x means workqueue costs more than that floor. named/unnamed: the\n"
        "cost of keeping metrics (timestamps per key, histograms) on the single-thread cycle."
    )


if __name__ == "__main__":
    main()

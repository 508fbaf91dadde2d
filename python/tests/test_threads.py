"""Threads: producers and consumers, the GIL, shutdown and drain wakeups,
and Ctrl-C in a blocked call (in subprocesses)."""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable

import pytest

import workqueue


def start(target: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def wait_blocked(q: workqueue.Queue[int], seconds: float = 0.1) -> None:
    """Gives threads time to block in a call (there is no way to observe it)."""
    time.sleep(seconds)


# --- the GIL -------------------------------------------------------------------


def test_other_threads_run_while_one_is_blocked_in_get() -> None:
    q: workqueue.Queue[int] = workqueue.Queue()
    got: list[int] = []
    getter = start(lambda: got.append(q.get(timeout=5)))
    wait_blocked(q)
    # If get held the interpreter, this loop could not run until it returns.
    started = time.monotonic()
    spins = 0
    while time.monotonic() - started < 0.3:
        spins += 1
    elapsed = time.monotonic() - started
    assert getter.is_alive(), "the getter must still be blocked"
    assert elapsed < 2, f"the main thread was stalled for {elapsed:.2f}s"
    assert spins > 1000
    q.add(7)
    getter.join(5)
    assert got == [7]


@pytest.mark.parametrize("call", ["get", "get_batch", "acquire", "drain"])
def test_every_blocking_call_releases_the_interpreter(call: str) -> None:
    q: workqueue.Queue[int] = workqueue.Queue()
    sem = workqueue.Semaphore(1)
    sem.acquire()
    if call == "drain":
        q.add(1)
        q.get()
    block: Callable[[], object] = {
        "get": lambda: q.get(timeout=1),
        "get_batch": lambda: q.get_batch(5, timeout=1),
        "acquire": lambda: sem.acquire(timeout=1),
        "drain": lambda: q.shutdown_with_drain(timeout=1),
    }[call]

    def quietly() -> None:
        with contextlib.suppress(workqueue.Empty):
            block()

    thread = start(quietly)
    wait_blocked(q, 0.05)
    started = time.monotonic()
    for _ in range(100):
        time.sleep(0.001)
    assert thread.is_alive()
    assert time.monotonic() - started < 0.9
    thread.join(5)


# --- producers and consumers --------------------------------------------------------


@pytest.mark.parametrize("drain", [False, True], ids=["shutdown", "shutdown_with_drain"])
@pytest.mark.parametrize("batch", [False, True], ids=["get", "get_batch"])
def test_producers_and_consumers_lose_nothing_and_never_share_a_key(
    drain: bool, batch: bool
) -> None:
    keys, producers, consumers, rounds = 200, 4, 4, 5
    q: workqueue.Queue[int] = workqueue.Queue()
    ticket = itertools.count()  # next() is atomic under the GIL
    last_add = [-1] * keys
    last_get = [-1] * keys
    active: set[int] = set()
    overlaps: list[int] = []
    lock = threading.Lock()
    processed = [0]

    def produce(seed: int) -> None:
        for step in range(rounds * keys):
            key = (step * 7 + seed * 13) % keys
            last_add[key] = max(last_add[key], next(ticket))
            q.add(key)
            if step % 50 == 0:
                time.sleep(0)

    def handle(key: int) -> None:
        last_get[key] = next(ticket)
        with lock:
            if key in active:
                overlaps.append(key)
            active.add(key)
        time.sleep(0) if key % 3 else None
        with lock:
            active.discard(key)
            processed[0] += 1

    def consume() -> None:
        while True:
            try:
                got = q.get_batch(8) if batch else [q.get()]
            except workqueue.ShutDown:
                return
            for key in got:
                handle(key)
                q.done(key)

    consumer_threads = [start(consume) for _ in range(consumers)]
    producer_threads = [start(functools.partial(produce, seed)) for seed in range(producers)]
    for thread in producer_threads:
        thread.join(30)
    if drain:
        assert q.shutdown_with_drain(timeout=30)
    else:
        q.shutdown()
    for thread in consumer_threads:
        thread.join(30)
        assert not thread.is_alive()
    assert overlaps == [], "a key was handed to two consumers at once"
    lost = [key for key in range(keys) if last_get[key] < last_add[key]]
    assert lost == [], "keys added were not processed after their last add"
    assert len(q) == 0 and q.processing_len() == 0
    assert processed[0] >= keys


def test_a_key_added_after_shutdown_is_never_returned() -> None:
    q: workqueue.Queue[int] = workqueue.Queue()
    q.add(1)
    q.shutdown()
    assert q.add(2) is False
    assert q.get() == 1
    with pytest.raises(workqueue.ShutDown):
        q.get()


# --- shutdown and drain wake blocked callers --------------------------------------


def test_shutdown_wakes_every_blocked_getter() -> None:
    q: workqueue.Queue[int] = workqueue.Queue()
    outcomes: list[str] = []

    def getter(batch: bool) -> None:
        try:
            q.get_batch(3) if batch else q.get()
            outcomes.append("key")
        except workqueue.ShutDown:
            outcomes.append("shutdown")

    threads = [start(functools.partial(getter, i % 2 == 0)) for i in range(8)]
    wait_blocked(q)
    started = time.monotonic()
    q.shutdown()
    for thread in threads:
        thread.join(5)
    assert time.monotonic() - started < 2
    assert outcomes == ["shutdown"] * 8


def test_shutdown_with_drain_waits_for_processing_keys() -> None:
    q: workqueue.Queue[int] = workqueue.Queue()
    q.add_batch([1, 2])
    assert q.get() == 1
    drained: list[bool] = []
    drainer = start(lambda: drained.append(q.shutdown_with_drain()))
    wait_blocked(q)
    assert drainer.is_alive()
    assert q.shutting_down
    assert q.get() == 2  # queued keys are still handed out
    q.done(1)
    q.done(2)
    drainer.join(5)
    assert drained == [True]


def test_a_plain_shutdown_releases_a_waiting_drain() -> None:
    q: workqueue.Queue[int] = workqueue.Queue()
    q.add(1)
    q.get()
    drained: list[bool] = []
    drainer = start(lambda: drained.append(q.shutdown_with_drain()))
    wait_blocked(q)
    q.shutdown()
    drainer.join(5)
    assert drained == [False]


def test_a_getter_waits_while_a_draining_key_will_come_back() -> None:
    q: workqueue.Queue[int] = workqueue.Queue()
    q.add(1)
    assert q.get() == 1
    q.add(1)  # dirty while processing: comes back at done
    drainer = start(q.shutdown_with_drain)
    wait_blocked(q)
    got: list[int] = []
    getter = start(lambda: got.append(q.get(timeout=5)))
    wait_blocked(q)
    q.done(1)
    getter.join(5)
    assert got == [1]
    q.done(1)
    drainer.join(5)
    assert not drainer.is_alive()


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_a_drain_on_the_main_thread_waits_in_slices_without_a_helper_thread() -> None:
    q: workqueue.Queue[int] = workqueue.Queue()
    q.add(1)
    assert q.get() == 1
    counts: list[int] = []

    def watch() -> None:
        for _ in range(5):
            time.sleep(0.02)
            counts.append(os_threads())
        q.done(1)

    before = os_threads()
    watcher = start(watch)  # one more thread: the watcher itself
    started = time.monotonic()
    assert q.shutdown_with_drain(timeout=5) is True
    assert time.monotonic() - started < 2
    watcher.join(5)
    # At most the watcher itself more (threads of earlier tests may end meanwhile).
    assert counts and max(counts) <= before + 1, f"{before=} {counts=}"


def test_a_plain_shutdown_releases_a_drain_waiting_on_the_main_thread() -> None:
    q: workqueue.Queue[int] = workqueue.Queue()
    q.add(1)
    q.get()
    threading.Timer(0.1, q.shutdown).start()
    started = time.monotonic()
    assert q.shutdown_with_drain() is False
    assert 0.09 <= time.monotonic() - started < 2
    assert q.shutdown_with_drain(timeout=0.05) is False  # 1 is still in flight
    q.done(1)
    assert q.shutdown_with_drain(timeout=0) is True


def test_a_drain_on_the_main_thread_times_out() -> None:
    q: workqueue.Queue[int] = workqueue.Queue()
    q.add(1)
    q.get()
    started = time.monotonic()
    assert q.shutdown_with_drain(timeout=0.15) is False
    assert 0.14 <= time.monotonic() - started < 2
    threading.Timer(0.05, q.done, [1]).start()
    assert q.shutdown_with_drain(timeout=5) is True


# --- Ctrl-C ---------------------------------------------------------------------------

# The child restores Python's Ctrl-C handler: a parent started in the
# background by a non-interactive shell passes SIGINT on ignored, and Python
# then installs none.
SIGINT_CHILD = """
import signal, sys, time, workqueue
signal.signal(signal.SIGINT, signal.default_int_handler)
q = workqueue.Queue()
sem = workqueue.Semaphore(1)
sem.acquire()
call = sys.argv[1]
if call == "drain":
    q.add(1)
    q.get()
blocking = {
    "get": lambda: q.get(),
    "get_timeout": lambda: q.get(timeout=60),
    "get_batch": lambda: q.get_batch(10),
    "iterate": lambda: next(iter(q)),
    "acquire": lambda: sem.acquire(),
    "drain": lambda: q.shutdown_with_drain(),
    "parallelize": lambda: workqueue.parallelize(2, 4, lambda i: time.sleep(0.05 if i else 60)),
    "run_workers": lambda: workqueue.run_workers(q, lambda key: None, workers=2),
}[call]
print("ready", flush=True)
try:
    blocking()
except KeyboardInterrupt:
    print(f"interrupted {time.monotonic():.6f}", flush=True)
"""


@pytest.mark.parametrize(
    "call",
    ["get", "get_timeout", "get_batch", "iterate", "acquire", "drain", "run_workers"],
)
def test_ctrl_c_interrupts_a_blocked_call_within_200ms(call: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SIGINT_CHILD), call],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # well inside the blocking call
        sent = time.monotonic()
        os.kill(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=10)
    finally:
        child.kill()
    assert out.startswith("interrupted"), f"stdout={out!r} stderr={err!r}"
    latency = float(out.split()[1]) - sent
    print(f"{call}: {latency * 1000:.1f} ms")
    assert latency < 0.2, f"{call}: Ctrl-C took {latency * 1000:.0f} ms"


def test_ctrl_c_in_parallelize_stops_new_pieces_and_waits_for_running_ones() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SIGINT_CHILD), "parallelize"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        os.kill(child.pid, signal.SIGINT)
        # Piece 0 sleeps 60 s in time.sleep, which holds no lock we can
        # break: a second Ctrl-C stops waiting for it.
        time.sleep(0.3)
        sent = time.monotonic()
        os.kill(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=10)
    finally:
        child.kill()
    assert out.startswith("interrupted"), f"stdout={out!r} stderr={err!r}"
    assert float(out.split()[1]) - sent < 0.2

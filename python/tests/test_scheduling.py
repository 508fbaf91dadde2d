"""The scheduling queue: places, backoff, the unschedulable pool, blocking
and asyncio pops, close, keys and bad arguments, threads and Ctrl-C."""

from __future__ import annotations

import asyncio
import datetime
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

import workqueue
from workqueue import Place

T = TypeVar("T")


def manual_queue(**options: object) -> tuple[workqueue.SchedulingQueue[str], workqueue.ManualClock]:
    clock = workqueue.ManualClock()
    return workqueue.SchedulingQueue(clock=clock, **options), clock  # type: ignore[arg-type]


def run(main: Callable[[], Awaitable[T]], timeout: float = 10) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(main(), timeout)

    return asyncio.run(bounded())


def start(target: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


# --- the tour of the README --------------------------------------------------------


def test_an_item_through_every_place() -> None:
    q, clock = manual_queue()
    assert q.add("default/web", 10) is True
    assert q.place("default/web") is Place.ACTIVE
    assert q.pop() == ("default/web", 10)
    assert q.place("default/web") is Place.IN_FLIGHT
    assert q.attempts("default/web") == 1
    # No node fits: park it until the cluster changes.
    assert q.requeue_unschedulable("default/web") is Place.UNSCHEDULABLE
    assert q.move_all_to_active_or_backoff("NodeAdd") == 1
    assert q.moves_by_event("NodeAdd") == 1
    assert q.moves_by_event("PodDelete") == 0
    assert q.place("default/web") is Place.BACKOFF  # 1 s from its failure
    clock.step(1)
    assert q.place("default/web") is Place.ACTIVE
    assert q.pop() == ("default/web", 10)
    assert q.attempts("default/web") == 2
    assert q.done("default/web") is True  # scheduled: forgotten
    assert q.place("default/web") is None
    assert q.attempts("default/web") == 0
    assert q.done("default/web") is False


def test_highest_priority_first_fifo_among_equals() -> None:
    q, _ = manual_queue()
    for key, priority in (("a", 0), ("b", 10), ("c", 0), ("d", -5), ("e", 10)):
        assert q.add(key, priority)
    assert q.add("b", 10) is False  # known: an update
    assert q.active_len() == 5
    assert [q.try_pop() for _ in range(5)] == [("b", 10), ("e", 10), ("a", 0), ("c", 0), ("d", -5)]
    with pytest.raises(workqueue.Empty):
        q.try_pop()
    assert q.in_flight_len() == 5


def test_backoff_doubles_up_to_the_maximum() -> None:
    q, clock = manual_queue(initial_backoff=0.5, max_backoff=datetime.timedelta(seconds=2))
    assert (q.initial_backoff, q.max_backoff) == (0.5, 2.0)
    q.add("k")
    for expected in (0.5, 1.0, 2.0, 2.0):
        q.pop(block=False)
        assert q.requeue_backoff("k") is Place.BACKOFF
        assert q.backoff_len() == 1
        clock.step(expected - 0.001)
        with pytest.raises(workqueue.Empty):
            q.pop(block=False)  # an error backoff is never popped early
        clock.step(0.001)
        assert q.place("k") is Place.ACTIVE


def test_pop_from_backoff_takes_a_rejected_item_early_when_idle() -> None:
    q, _ = manual_queue()
    assert q.pop_from_backoff is True
    q.add("k")
    q.pop()
    q.requeue_unschedulable("k")
    q.move_all_to_active_or_backoff("NodeAdd")
    assert q.place("k") is Place.BACKOFF
    assert q.pop(block=False) == ("k", 0)
    strict, _ = manual_queue(pop_from_backoff=False)
    assert strict.pop_from_backoff is False
    strict.add("k")
    strict.pop()
    strict.requeue_unschedulable("k")
    strict.move_all_to_active_or_backoff("NodeAdd")
    with pytest.raises(workqueue.Empty):
        strict.pop(block=False)


def test_parked_items_are_flushed_after_the_maximum_stay() -> None:
    q, clock = manual_queue(max_unschedulable_stay=60)
    assert q.max_unschedulable_stay == 60.0
    q.add("k")
    q.pop()
    q.requeue_unschedulable("k")
    clock.step(60)
    assert q.place("k") is Place.UNSCHEDULABLE  # strictly longer than the stay
    clock.step(0.001)
    assert q.place("k") is Place.ACTIVE


def test_update_moves_a_parked_item_and_never_adds() -> None:
    q, clock = manual_queue()
    assert q.update("unknown", 3) is None
    assert q.place("unknown") is None
    q.add("k", 1)
    assert q.update("k", 5) is Place.ACTIVE
    q.pop()
    assert q.update("k", 6) is Place.IN_FLIGHT
    # An update during the flight sends a rejected item to backoff.
    assert q.requeue_unschedulable("k") is Place.BACKOFF
    clock.step(1)
    assert q.pop() == ("k", 6)
    assert q.requeue_unschedulable("k") is Place.UNSCHEDULABLE
    clock.step(10)
    assert q.update("k", 6) is Place.ACTIVE  # its backoff has ended


def test_delete_removes_an_item_wherever_it_is() -> None:
    q, _ = manual_queue()
    q.add("active")
    q.add("flying")
    assert q.delete("active") is True
    assert q.delete("active") is False
    assert q.pop() == ("flying", 0)
    assert q.delete("flying") is True
    assert q.in_flight_len() == 1  # its worker still holds it
    assert q.requeue_backoff("flying") is None  # dropped
    assert q.in_flight_len() == 0


def test_pending_reads_every_size_at_once() -> None:
    q, _ = manual_queue()
    q.add("a")
    q.add("b")
    q.add("c")
    q.pop()
    q.pop()
    q.requeue_backoff("a")
    pending = q.pending()
    assert pending == workqueue.metrics.SchedulingPending(
        active=1, backoff=1, unschedulable=0, in_flight=1
    )
    assert pending.total == 3
    assert "active=1 backoff=1 unschedulable=0 in_flight=1 closed=False" in repr(q)


def test_place_is_a_str_enum() -> None:
    word: str = "in_flight"
    assert word == Place.IN_FLIGHT
    assert str(Place.BACKOFF) == "backoff"
    assert Place("unschedulable") is Place.UNSCHEDULABLE
    assert [place.value for place in Place] == ["active", "backoff", "unschedulable", "in_flight"]


# --- close, blocking pops and threads ---------------------------------------------------


def test_close_ends_every_pop_but_other_calls_keep_working() -> None:
    q, _ = manual_queue()
    q.add("a")
    assert q.closed is False
    q.close()
    assert q.closed is True
    with pytest.raises(workqueue.Closed):
        q.pop()
    with pytest.raises(workqueue.Closed):
        q.try_pop()
    assert q.add("b") is True
    assert q.active_len() == 2
    q.close()  # twice is harmless
    assert issubclass(workqueue.Closed, workqueue.Error)
    assert workqueue.Closed.__module__ == "workqueue"


def test_iteration_ends_at_close() -> None:
    q, _ = manual_queue()
    q.add("a", 1)
    q.add("b", 2)
    seen = []
    for key, priority in q:
        seen.append((key, priority))
        q.done(key)
        if len(seen) == 2:
            q.close()
    assert seen == [("b", 2), ("a", 1)]


def test_pop_times_out_and_is_released_by_an_add_or_a_close() -> None:
    q: workqueue.SchedulingQueue[str] = workqueue.SchedulingQueue()
    started = time.monotonic()
    with pytest.raises(workqueue.Empty):
        q.pop(timeout=0.05)
    assert 0.045 <= time.monotonic() - started < 2
    with pytest.raises(workqueue.Empty):
        q.pop(timeout=0)
    threading.Timer(0.05, q.add, ["late", 4]).start()
    assert q.pop(timeout=5) == ("late", 4)
    outcomes: list[str] = []

    def popper() -> None:
        try:
            q.pop()
            outcomes.append("item")
        except workqueue.Closed:
            outcomes.append("closed")

    threads = [start(popper) for _ in range(4)]
    time.sleep(0.1)
    q.close()
    for thread in threads:
        thread.join(5)
    assert outcomes == ["closed"] * 4


def test_a_manual_clock_step_releases_a_blocked_pop() -> None:
    q, clock = manual_queue()
    q.add("k")
    q.pop()
    q.requeue_backoff("k")
    got: list[tuple[str, int]] = []
    popper = start(lambda: got.append(q.pop(timeout=5)))
    time.sleep(0.05)
    assert got == []
    clock.step(1)
    popper.join(5)
    assert got == [("k", 0)]


def test_a_backoff_on_the_real_clock_ends_on_time() -> None:
    q: workqueue.SchedulingQueue[str] = workqueue.SchedulingQueue(
        initial_backoff=0.05, max_backoff=0.05
    )
    q.add("k")
    q.pop()
    started = time.monotonic()
    q.requeue_backoff("k")
    assert q.pop(timeout=5) == ("k", 0)
    assert 0.045 <= time.monotonic() - started < 2


def test_a_blocked_pop_releases_the_interpreter() -> None:
    q: workqueue.SchedulingQueue[str] = workqueue.SchedulingQueue()
    popper = start(lambda: q.pop(timeout=2))
    time.sleep(0.05)
    started = time.monotonic()
    spins = 0
    while time.monotonic() - started < 0.2:
        spins += 1
    assert popper.is_alive() and spins > 1000
    q.add("k")
    popper.join(5)


def test_workers_never_share_an_item_and_every_item_is_scheduled() -> None:
    q: workqueue.SchedulingQueue[int] = workqueue.SchedulingQueue(
        initial_backoff=0.001, max_backoff=0.004
    )
    items, workers = 300, 4
    active: set[int] = set()
    overlaps: list[int] = []
    scheduled: set[int] = set()
    lock = threading.Lock()

    def work() -> None:
        for key, _ in q:
            with lock:
                if key in active:
                    overlaps.append(key)
                active.add(key)
            with lock:
                active.discard(key)
            if q.attempts(key) < 2 and key % 3 == 0:
                q.requeue_backoff(key)  # fails once, retried after its backoff
            elif q.attempts(key) < 2 and key % 3 == 1:
                q.requeue_unschedulable(key)
            else:
                with lock:
                    scheduled.add(key)
                q.done(key)

    threads = [start(work) for _ in range(workers)]
    for key in range(items):
        q.add(key, key % 7)
    deadline = time.monotonic() + 20
    while len(scheduled) < items and time.monotonic() < deadline:
        q.move_all_to_active_or_backoff("tick")
        time.sleep(0.005)
    q.close()
    for thread in threads:
        thread.join(10)
    assert overlaps == []
    assert scheduled == set(range(items))
    assert q.pending().total == 0


# --- asyncio ---------------------------------------------------------------------------


def test_apop_awaits_an_item_from_another_thread_and_async_for_ends_at_close() -> None:
    q: workqueue.SchedulingQueue[str] = workqueue.SchedulingQueue()
    threads_before = threading.active_count()

    async def main() -> list[tuple[str, int]]:
        threading.Timer(0.05, q.add, ["late", 2]).start()
        first = await q.apop()
        assert threading.active_count() <= threads_before + 1  # the Timer, no more
        q.add("a", 1)
        q.add("b", 3)
        seen = [first]
        threading.Timer(0.1, q.close).start()
        async for item in q:
            seen.append(item)
        return seen

    assert run(main) == [("late", 2), ("b", 3), ("a", 1)]
    with pytest.raises(workqueue.Closed):
        run(q.apop)


def test_apop_follows_a_manual_clock_and_cancelling_loses_nothing() -> None:
    q, clock = manual_queue()

    async def main() -> tuple[str, int]:
        q.add("k")
        q.pop()
        q.requeue_backoff("k")
        waiter = asyncio.ensure_future(q.apop())
        await asyncio.sleep(0.02)
        assert not waiter.done()
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert q.place("k") is Place.BACKOFF
        clock.step(1)
        return await q.apop()

    assert run(main) == ("k", 0)


class CountingPops(workqueue.SchedulingQueue[str]):
    """Counts pops, to show that a waiting ``apop`` does not poll."""

    pops = 0

    def pop(
        self, block: bool = True, timeout: float | datetime.timedelta | None = None
    ) -> tuple[str, int]:
        self.pops += 1
        return super().pop(block, timeout)


def test_apop_sleeps_until_an_add_from_another_task_wakes_it() -> None:
    q = CountingPops()

    async def main() -> tuple[str, int]:
        waiter = asyncio.ensure_future(q.apop())
        await asyncio.sleep(0.05)
        assert not waiter.done()
        assert q.pops == 1, "an idle apop makes no further attempts"
        assert q._readiness_watchers() == 1
        start = time.monotonic()
        q.add("k", 4)
        item = await waiter
        assert time.monotonic() - start < 0.05
        assert q.pops == 2
        assert q._readiness_watchers() == 0
        return item

    assert run(main) == ("k", 4)


def test_apop_wakes_when_a_backoff_comes_due_on_the_real_clock() -> None:
    q = CountingPops(initial_backoff=0.1, pop_from_backoff=False)
    q.add("k")
    q.pop()
    assert q.requeue_backoff("k") is Place.BACKOFF

    async def main() -> tuple[str, int]:
        start = time.monotonic()
        item = await q.apop()
        waited = time.monotonic() - start
        assert 0.09 <= waited < 0.5, waited
        assert q.pops <= 4, "woken by the backoff's timer, not by polling"
        return item

    assert run(main) == ("k", 0)


def test_cancelling_apop_loses_no_item_and_leaves_no_reader() -> None:
    q: workqueue.SchedulingQueue[str] = workqueue.SchedulingQueue()

    async def main() -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        waiter = asyncio.ensure_future(q.apop())
        await asyncio.sleep(0.01)
        waiter.cancel()
        q.add("kept", 1)  # after the cancel, before the waiter runs
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert q.place("kept") is Place.ACTIVE
        assert loop.remove_reader(q._readiness_fd()) is False
        assert q._readiness_watchers() == 0
        return await q.apop()

    assert run(main) == ("kept", 1)


# --- keys and arguments --------------------------------------------------------------------


def test_keys_follow_the_queue_rules() -> None:
    q: workqueue.SchedulingQueue[workqueue.Key] = workqueue.SchedulingQueue()
    for key in (1, "1", b"1", ("ns", 1), 2**64 - 1):
        assert q.add(key)
    assert q.active_len() == 5
    for bad in (True, 1.5, None, [1]):
        with pytest.raises(TypeError, match="key must"):
            q.add(bad)  # type: ignore[arg-type]
    with pytest.raises(OverflowError, match="key is out of range"):
        q.add(2**64)
    for call in (q.delete, q.done, q.requeue_backoff, q.requeue_unschedulable, q.place, q.attempts):
        with pytest.raises(TypeError, match="key must"):
            call(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key must"):
        q.update(1.5, 1)  # type: ignore[arg-type]
    got = [q.try_pop()[0] for _ in range(5)]
    assert got == [1, "1", b"1", ("ns", 1), 2**64 - 1]
    assert [type(key) for key in got] == [int, str, bytes, tuple, int]


def test_priorities_are_checked() -> None:
    q: workqueue.SchedulingQueue[str] = workqueue.SchedulingQueue()
    with pytest.raises(OverflowError, match="priority is out of range"):
        q.add("k", 2**31)
    with pytest.raises(TypeError, match="priority must be an int"):
        q.add("k", 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="priority must be an int"):
        q.update("k", True)
    with pytest.raises(TypeError):
        q.update("k")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="event"):
        q.move_all_to_active_or_backoff(5)  # type: ignore[arg-type]
    assert q.active_len() == 0


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"initial_backoff": 0}, ValueError, "invalid initial_backoff: must be positive"),
        ({"initial_backoff": -1}, ValueError, "initial_backoff must be a non-negative"),
        ({"initial_backoff": 2, "max_backoff": 1}, ValueError, "invalid max_backoff"),
        ({"max_unschedulable_stay": 0}, ValueError, "invalid max_unschedulable_stay"),
        ({"max_backoff": float("nan")}, ValueError, "max_backoff must not be NaN"),
        ({"initial_backoff": "1s"}, TypeError, "initial_backoff must be a number"),
        ({"clock": time.monotonic}, TypeError, "clock must be a workqueue.ManualClock"),
        ({"name": 5}, TypeError, "name"),
    ],
)
def test_bad_settings_are_refused(
    options: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        workqueue.SchedulingQueue(**options)  # type: ignore[arg-type]


def test_defaults_are_kube_schedulers() -> None:
    q: workqueue.SchedulingQueue[str] = workqueue.SchedulingQueue()
    assert (q.initial_backoff, q.max_backoff, q.max_unschedulable_stay) == (1.0, 10.0, 300.0)
    assert q.pop_from_backoff is True
    assert q.clock is None and q.name is None
    named: workqueue.SchedulingQueue[str] = workqueue.SchedulingQueue(name="pods")
    assert named.name == "pods" and 'name="pods"' in repr(named)
    assert isinstance(workqueue.SchedulingQueue[str](), workqueue.SchedulingQueue)


# --- Ctrl-C ------------------------------------------------------------------------------

# The child restores Python's Ctrl-C handler: a parent started in the
# background by a non-interactive shell passes SIGINT on ignored, and Python
# then installs none.
SIGINT_CHILD = """
import signal, sys, time, workqueue
signal.signal(signal.SIGINT, signal.default_int_handler)
q = workqueue.SchedulingQueue()
blocking = {
    "pop": lambda: q.pop(),
    "pop_timeout": lambda: q.pop(timeout=60),
    "iterate": lambda: next(iter(q)),
}[sys.argv[1]]
print("ready", flush=True)
try:
    blocking()
except KeyboardInterrupt:
    print(f"interrupted {time.monotonic():.6f}", flush=True)
"""


@pytest.mark.parametrize("call", ["pop", "pop_timeout", "iterate"])
def test_ctrl_c_interrupts_a_blocked_pop_within_200ms(call: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SIGINT_CHILD), call],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        sent = time.monotonic()
        os.kill(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=10)
    finally:
        child.kill()
    assert out.startswith("interrupted"), f"stdout={out!r} stderr={err!r}"
    assert float(out.split()[1]) - sent < 0.2

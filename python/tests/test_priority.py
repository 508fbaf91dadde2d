"""Priorities in the work queue: the highest first, FIFO within a priority,
a re-add keeps the highest, delays and rate limits carry a priority, aging,
and bad priorities."""

from __future__ import annotations

import asyncio
import datetime
import enum
import threading
import time

import pytest

import workqueue


def manual_queue(
    aging: float | datetime.timedelta | None = None,
) -> tuple[workqueue.Queue[str], workqueue.ManualClock]:
    clock = workqueue.ManualClock()
    limiter = workqueue.ItemExponentialFailureRateLimiter(0.001, 1)
    return workqueue.Queue(rate_limiter=limiter, clock=clock, priority_aging=aging), clock


def drain(q: workqueue.Queue[str]) -> list[tuple[str, int]]:
    items: list[tuple[str, int]] = []
    while True:
        try:
            key, priority = q.get_with_priority(block=False)
        except workqueue.Empty:
            return items
        q.done(key)
        items.append((key, priority))


def test_highest_priority_first_fifo_within_a_priority() -> None:
    q, _ = manual_queue()
    q.add("a")
    q.add("b", priority=10)
    q.add("c", -5)
    q.add("d")
    q.add("e", priority=10)
    assert q.len_by_priority() == [(10, 2), (0, 2), (-5, 1)]
    assert len(q) == 5
    assert drain(q) == [("b", 10), ("e", 10), ("a", 0), ("d", 0), ("c", -5)]
    assert q.len_by_priority() == []


def test_a_re_add_keeps_the_highest_priority_and_a_raise_goes_to_the_tail() -> None:
    q, _ = manual_queue()
    for key in ("a", "b", "c"):
        q.add(key, priority=1)
    q.add("d", priority=5)
    assert q.add("a", priority=0) is False  # lower: changes nothing
    assert q.add("b", priority=5) is False  # collapses, but raises b
    assert len(q) == 4
    assert drain(q) == [("d", 5), ("b", 5), ("a", 1), ("c", 1)]


def test_a_key_re_added_while_processing_comes_back_with_its_highest_priority() -> None:
    q, _ = manual_queue()
    q.add("k")
    q.add("other")
    assert q.get() == "k"
    assert q.add("k", priority=3) is True
    assert q.add("k", priority=9) is False
    assert q.add("k", priority=1) is False
    q.done("k")
    assert drain(q) == [("k", 9), ("other", 0)]


def test_plain_get_and_get_batch_follow_priorities() -> None:
    q, _ = manual_queue()
    q.add_batch(["a", "b"])
    q.add("c", 2)
    assert q.get() == "c"
    q.add("d", 1)
    assert q.get_batch(10) == ["d", "a", "b"]


def test_add_batch_at_a_priority_is_add_at_that_priority_per_key() -> None:
    q, _ = manual_queue()
    q.add("k", priority=9)
    q.add("low")
    assert q.get() == "k"
    # a and b are new, k is processing: marked to come back; low is raised
    assert q.add_batch(["a", "low", "b", "a", "k"], priority=5) == 3
    assert q.add_batch(iter(["low"]), 2) == 0  # lower: changes nothing
    assert q.len_by_priority() == [(5, 3)]
    q.done("k")
    assert drain(q) == [("a", 5), ("low", 5), ("b", 5), ("k", 5)]
    q.shutdown()
    assert q.add_batch(["c"], priority=1) == 0


def test_delayed_keys_keep_the_earliest_time_and_the_highest_priority() -> None:
    q, clock = manual_queue()
    assert q.add_after("a", 0.01, priority=2) is True
    q.add_after("a", 0.05, priority=7)  # later: only the priority rises
    assert q.add_after("a", 0.05, priority=7) is False  # nothing changes
    assert q.add_after("b", datetime.timedelta(milliseconds=5))
    clock.step(0.009)
    assert q.len_by_priority() == [(0, 1)]
    clock.step(0.001)
    assert drain(q) == [("a", 7), ("b", 0)]
    assert q.add_after("now", 0, priority=4) is True
    assert q.add_after("now too", -1, priority=-4) is True
    assert q.len_by_priority() == [(4, 1), (-4, 1)]


def test_rate_limited_adds_carry_a_priority() -> None:
    q, clock = manual_queue()
    assert q.add_rate_limited("slow") == pytest.approx(0.001)
    assert q.add_rate_limited("urgent", priority=100) == pytest.approx(0.001)
    clock.step(0.001)
    assert drain(q) == [("urgent", 100), ("slow", 0)]
    q.shutdown()
    assert q.add_rate_limited("late", priority=1) is None


def test_aging_lets_a_long_waiting_key_overtake_higher_priorities() -> None:
    q, clock = manual_queue(aging=1.0)
    assert q.priority_aging == 1.0
    q.add("old-low", 0)
    clock.step(2.5)  # old-low has aged by 2.5 levels
    q.add("new-high", 2)
    q.add("new-mid", 1)
    # get_with_priority reports the priority the key was added with.
    assert drain(q) == [("old-low", 0), ("new-high", 2), ("new-mid", 1)]


def test_without_aging_priority_is_strict() -> None:
    q, clock = manual_queue()
    assert q.priority_aging is None
    q.add("old-low", 0)
    clock.step(3600)
    q.add("new-high", 1)
    assert drain(q) == [("new-high", 1), ("old-low", 0)]


@pytest.mark.parametrize("aging", [0, 0.0, datetime.timedelta(0)])
def test_aging_must_be_positive(aging: float | datetime.timedelta) -> None:
    with pytest.raises(ValueError, match="priority_aging"):
        workqueue.Queue(priority_aging=aging)


def test_aging_takes_seconds_or_a_timedelta() -> None:
    q: workqueue.Queue[str] = workqueue.Queue(priority_aging=datetime.timedelta(seconds=30))
    assert q.priority_aging == 30.0
    with pytest.raises(ValueError, match="priority_aging"):
        workqueue.Queue(priority_aging=-1)
    with pytest.raises(ValueError, match="priority_aging"):
        workqueue.Queue(priority_aging=float("nan"))
    with pytest.raises(TypeError, match="priority_aging"):
        workqueue.Queue(priority_aging="1s")  # type: ignore[arg-type]


class Level(enum.IntEnum):
    LOW = -1
    HIGH = 10


class Index:
    """An integer that is not an int (like a NumPy integer)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


def test_priorities_are_ints_of_any_kind() -> None:
    q, _ = manual_queue()
    q.add("enum", Level.HIGH)
    q.add("index", Index(3))  # type: ignore[arg-type]
    q.add("low", Level.LOW)
    q.add("max", 2**31 - 1)
    q.add("min", -(2**31))
    items = drain(q)
    assert items == [("max", 2**31 - 1), ("enum", 10), ("index", 3), ("low", -1), ("min", -(2**31))]
    assert all(type(priority) is int for _, priority in items)


@pytest.mark.parametrize("bad", [2**31, -(2**31) - 1, 2**64, -(10**30), Index(2**40)])
def test_priorities_beyond_32_bits_raise_overflow_error(bad: object) -> None:
    q, _ = manual_queue()
    for call in (
        lambda: q.add("k", bad),  # type: ignore[arg-type]
        lambda: q.add_after("k", 1, bad),  # type: ignore[arg-type]
        lambda: q.add_rate_limited("k", priority=bad),  # type: ignore[arg-type]
        lambda: q.add_batch(["k"], bad),  # type: ignore[arg-type]
    ):
        with pytest.raises(OverflowError, match=r"priority is out of range.*-2\*\*31"):
            call()
    assert len(q) == 0 and q.delayed_len() == 0
    assert q.num_requeues("k") == 0, "the limiter must not count a refused add"


@pytest.mark.parametrize("bad", [True, False, 1.0, 1.5, None, "1", b"1", [1], object()])
def test_priorities_of_other_types_raise_type_error(bad: object) -> None:
    q, _ = manual_queue()
    for call in (
        lambda: q.add("k", bad),  # type: ignore[arg-type]
        lambda: q.add_after("k", 1, priority=bad),  # type: ignore[arg-type]
        lambda: q.add_rate_limited("k", bad),  # type: ignore[arg-type]
        lambda: q.add_batch(["k"], priority=bad),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError, match="priority must be an int"):
            call()
    assert len(q) == 0


def test_get_with_priority_waits_and_times_out_like_get() -> None:
    q: workqueue.Queue[str] = workqueue.Queue()
    with pytest.raises(workqueue.Empty):
        q.get_with_priority(block=False)
    started = time.monotonic()
    with pytest.raises(workqueue.Empty):
        q.get_with_priority(timeout=0.05)
    assert time.monotonic() - started >= 0.045
    threading.Timer(0.05, q.add, ["late", 7]).start()
    assert q.get_with_priority(timeout=5) == ("late", 7)
    q.shutdown()
    with pytest.raises(workqueue.ShutDown):
        q.get_with_priority()


def test_aget_with_priority() -> None:
    q, clock = manual_queue()

    async def main() -> list[tuple[str, int]]:
        q.add_after("later", 1, priority=3)
        waiter = asyncio.ensure_future(q.aget_with_priority())
        await asyncio.sleep(0.02)
        assert not waiter.done()
        clock.step(1)
        first = await asyncio.wait_for(waiter, 5)
        q.add("now", -2)
        return [first, await q.aget_with_priority()]

    assert asyncio.run(main()) == [("later", 3), ("now", -2)]
    assert q._readiness_watchers() == 0


def test_many_levels_stay_ordered() -> None:
    q, _ = manual_queue()
    for i in range(1000):
        q.add(f"k{i}", (i * 7919) % 16)
    assert sum(count for _, count in q.len_by_priority()) == 1000
    assert [p for p, _ in q.len_by_priority()] == list(range(15, -1, -1))
    priorities = [priority for _, priority in drain(q)]
    assert priorities == sorted(priorities, reverse=True)

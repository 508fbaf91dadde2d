"""asyncio: aget, aprocessing and async iteration, without a thread per
waiting coroutine."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

import workqueue

T = TypeVar("T")


def run(main: Callable[[], Awaitable[T]], timeout: float = 10) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(main(), timeout)

    return asyncio.run(bounded())


def new_queue(clock: workqueue.ManualClock | None = None) -> workqueue.Queue[str]:
    return workqueue.Queue(
        rate_limiter=workqueue.ItemExponentialFailureRateLimiter(0.001, 1), clock=clock
    )


def test_aget_returns_a_ready_key_at_once() -> None:
    q = new_queue()
    q.add("k")

    async def main() -> str:
        return await q.aget()

    assert run(main) == "k"
    assert q.processing_len() == 1


def test_aget_waits_for_a_key_added_from_another_thread() -> None:
    q = new_queue()

    async def main() -> str:
        threading.Timer(0.05, q.add, ["late"]).start()
        return await q.aget()

    assert run(main) == "late"


def test_aget_waits_for_a_delay_on_the_real_clock() -> None:
    q = new_queue()

    async def main() -> float:
        started = time.monotonic()
        q.add_after("k", 0.05)
        assert await q.aget() == "k"
        return time.monotonic() - started

    assert 0.045 <= run(main) < 2


def test_aget_follows_a_manual_clock() -> None:
    clock = workqueue.ManualClock()
    q = new_queue(clock)

    async def main() -> str:
        q.add_after("k", 10)
        waiter = asyncio.ensure_future(q.aget())
        await asyncio.sleep(0.02)
        assert not waiter.done()
        clock.step(10)
        return await waiter

    assert run(main) == "k"


def test_many_coroutines_share_one_descriptor_and_no_thread() -> None:
    q = new_queue()
    threads_before = threading.active_count()

    async def main() -> list[str]:
        waiters = [asyncio.ensure_future(q.aget()) for _ in range(50)]
        await asyncio.sleep(0.05)
        assert threading.active_count() == threads_before
        assert not any(waiter.done() for waiter in waiters)
        for i in range(50):
            q.add(f"k{i}")
            if i % 10 == 0:
                await asyncio.sleep(0)
        return list(await asyncio.gather(*waiters))

    got = run(main)
    assert sorted(got) == sorted(f"k{i}" for i in range(50))


def test_shutdown_wakes_every_async_getter() -> None:
    q = new_queue()

    async def main() -> list[BaseException | str]:
        waiters = [asyncio.ensure_future(q.aget()) for _ in range(5)]
        await asyncio.sleep(0.02)
        threading.Timer(0.02, q.shutdown).start()
        return list(await asyncio.gather(*waiters, return_exceptions=True))

    results = run(main)
    assert all(isinstance(result, workqueue.ShutDown) for result in results)


def test_async_for_ends_at_shutdown_and_aprocessing_calls_done() -> None:
    q = new_queue()

    async def main() -> list[str]:
        q.add_batch(["a", "b"])
        seen = []
        async with q.aprocessing() as key:
            seen.append(key)
        assert q.processing_len() == 0
        with pytest.raises(ValueError):
            async with q.aprocessing() as key:
                seen.append(key)
                raise ValueError("failed")
        assert q.processing_len() == 0
        q.add("c")
        q.shutdown()
        async for key in q:
            seen.append(key)
            q.done(key)
        return seen

    assert run(main) == ["a", "b", "c"]


def test_cancelling_aget_loses_no_key_and_leaves_no_reader() -> None:
    q = new_queue()

    async def main() -> str:
        loop = asyncio.get_running_loop()
        waiter = asyncio.ensure_future(q.aget())
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert loop.remove_reader(q._readiness_fd()) is False
        assert q._readiness_watchers() == 0
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(q.aget(), 0.02)
        q.add("kept")
        return await q.aget()

    assert run(main) == "kept"


def test_the_reader_is_removed_once_nobody_waits() -> None:
    q = new_queue()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        waiter = asyncio.ensure_future(q.aget())
        await asyncio.sleep(0.01)
        q.add("k")
        assert await waiter == "k"
        assert loop.remove_reader(q._readiness_fd()) is False
        assert q._readiness_watchers() == 0

    run(main)


def test_two_event_loops_in_two_threads_wait_on_one_queue() -> None:
    q = new_queue()
    results: list[str] = []

    def loop_thread() -> None:
        async def main() -> str:
            return await q.aget()

        results.append(run(main))

    threads = [threading.Thread(target=loop_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    q.add("one")
    q.add("two")
    for thread in threads:
        thread.join(10)
    assert sorted(results) == ["one", "two"]


def test_sync_and_async_consumers_never_share_a_key() -> None:
    q: workqueue.Queue[int] = workqueue.Queue()
    active: set[int] = set()
    overlaps: list[int] = []
    done_keys: list[int] = []
    lock = threading.Lock()

    def enter(key: int) -> None:
        with lock:
            if key in active:
                overlaps.append(key)
            active.add(key)

    def leave(key: int) -> None:
        with lock:
            active.discard(key)
            done_keys.append(key)

    def sync_consumer() -> None:
        for key in q:
            enter(key)
            time.sleep(0.0005)
            leave(key)
            q.done(key)

    async def main() -> None:
        async def consumer() -> None:
            async for key in q:
                enter(key)
                await asyncio.sleep(0.0005)
                leave(key)
                q.done(key)

        consumers = [asyncio.ensure_future(consumer()) for _ in range(4)]
        for round_ in range(20):
            q.add_batch(range(20))
            await asyncio.sleep(0.002 if round_ % 2 else 0)
        await asyncio.get_running_loop().run_in_executor(None, q.shutdown_with_drain)
        await asyncio.gather(*consumers)

    threads = [threading.Thread(target=sync_consumer) for _ in range(2)]
    for thread in threads:
        thread.start()
    run(main, timeout=30)
    for thread in threads:
        thread.join(10)
    assert overlaps == []
    assert set(done_keys) == set(range(20))


def test_an_earlier_delay_added_while_waiting_wakes_the_waiter_sooner() -> None:
    q = new_queue()

    async def main() -> tuple[str, float]:
        started = time.monotonic()
        q.add_after("late", 5)
        waiter = asyncio.ensure_future(q.aget())
        await asyncio.sleep(0.02)
        threading.Timer(0.01, q.add_after, ["soon", 0.05]).start()
        key = await waiter
        return key, time.monotonic() - started

    key, elapsed = run(main)
    assert key == "soon"
    assert elapsed < 2


def test_the_queue_reports_readiness_only_while_coroutines_wait() -> None:
    q = new_queue()
    assert q._readiness_watchers() == 0

    async def main() -> None:
        waiters = [asyncio.ensure_future(q.aget()) for _ in range(3)]
        await asyncio.sleep(0.01)
        assert q._readiness_watchers() == 3
        q.add_batch(["a", "b", "c"])
        await asyncio.gather(*waiters)
        assert q._readiness_watchers() == 0
        late = asyncio.ensure_future(q.aget())
        await asyncio.sleep(0.01)
        late.cancel()
        with pytest.raises(asyncio.CancelledError):
            await late
        assert q._readiness_watchers() == 0

    run(main)

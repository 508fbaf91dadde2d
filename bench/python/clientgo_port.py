"""A faithful pure-Python port of client-go's work queue, for the benchmark.

client-go ``util/workqueue`` (queue.go, delaying_queue.go,
rate_limiting_queue.go, default_rate_limiters.go), translated line by line
the way a Python controller author would write it:

- ``Queue``: a FIFO (``collections.deque`` for Go's slice), a ``dirty`` set,
  a ``processing`` set, one ``threading.Condition``; ``add``, ``get``,
  ``done``, ``len``, ``shutdown``, ``shutdown_with_drain``.
- ``DelayingQueue``: ``add_after`` hands entries to a waiting-loop thread
  through a 1000-slot channel (``queue.Queue(maxsize=1000)``); the loop keeps
  a heap, de-duplicates entries, and wakes on the earliest ready time or a
  10 s heartbeat.
- ``RateLimitingQueue``: ``add_rate_limited``, ``forget``, ``num_requeues``
  over the item-exponential, token-bucket and max-of limiters.

Metrics are left out: client-go's default metrics provider is a no-op.
"""

from __future__ import annotations

import heapq
import queue as stdlib_queue
import threading
import time
from collections import deque
from collections.abc import Hashable
from typing import Any, Protocol


class Queue:
    """client-go's ``Typed[T]`` (queue.go)."""

    def __init__(self) -> None:
        self._queue: deque[Hashable] = deque()
        self._dirty: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._cond = threading.Condition(threading.Lock())
        self._shutting_down = False
        self._drain = False

    def add(self, item: Hashable) -> None:
        with self._cond:
            if self._shutting_down:
                return
            if item in self._dirty:
                return
            self._dirty.add(item)
            if item in self._processing:
                return
            self._queue.append(item)
            self._cond.notify()

    def len(self) -> int:
        with self._cond:
            return len(self._queue)

    def get(self) -> tuple[Any, bool]:
        """Returns ``(item, shutdown)`` like Go's ``Get``."""
        with self._cond:
            while not self._queue and not self._shutting_down:
                self._cond.wait()
            if not self._queue:
                return None, True
            item = self._queue.popleft()
            self._processing.add(item)
            self._dirty.discard(item)
            return item, False

    def done(self, item: Hashable) -> None:
        with self._cond:
            self._processing.discard(item)
            if item in self._dirty:
                self._queue.append(item)
                self._cond.notify()
            elif not self._processing:
                self._cond.notify()

    def shutdown(self) -> None:
        with self._cond:
            self._drain = False
            self._shutting_down = True
            self._cond.notify_all()

    def shutdown_with_drain(self) -> None:
        with self._cond:
            self._drain = True
            self._shutting_down = True
            self._cond.notify_all()
            while self._processing and self._drain:
                self._cond.wait()

    def shutting_down(self) -> bool:
        with self._cond:
            return self._shutting_down


_HEARTBEAT = 10.0
_MAX_WAIT = object()


class DelayingQueue(Queue):
    """client-go's ``delayingType`` (delaying_queue.go)."""

    def __init__(self) -> None:
        super().__init__()
        self._stop = threading.Event()
        self._waiting_for_add: stdlib_queue.Queue[tuple[Hashable, float]] = stdlib_queue.Queue(
            maxsize=1000
        )
        self._loop = threading.Thread(target=self._waiting_loop, daemon=True)
        self._loop.start()

    def shutdown(self) -> None:
        self._stop.set()
        super().shutdown()

    def shutdown_with_drain(self) -> None:
        self._stop.set()
        super().shutdown_with_drain()

    def add_after(self, item: Hashable, duration: float) -> None:
        if self.shutting_down():
            return
        if duration <= 0:
            self.add(item)
            return
        # Go selects on stopCh too; a put with a short timeout in a loop is
        # the closest Python gets to that select.
        entry = (item, time.monotonic() + duration)
        while not self._stop.is_set():
            try:
                self._waiting_for_add.put(entry, timeout=0.1)
                return
            except stdlib_queue.Full:
                continue

    def _waiting_loop(self) -> None:
        heap: list[tuple[float, int, Hashable]] = []
        known: dict[Hashable, float] = {}
        sequence = 0

        def insert(item: Hashable, ready_at: float) -> None:
            nonlocal sequence
            existing = known.get(item)
            if existing is not None:
                if existing > ready_at:
                    # Go updates the entry in place; here the stale entry is
                    # skipped when popped.
                    known[item] = ready_at
                    sequence += 1
                    heapq.heappush(heap, (ready_at, sequence, item))
                return
            known[item] = ready_at
            sequence += 1
            heapq.heappush(heap, (ready_at, sequence, item))

        while not self._stop.is_set():
            now = time.monotonic()
            while heap:
                ready_at, _, item = heap[0]
                if ready_at > now:
                    break
                heapq.heappop(heap)
                if known.get(item) != ready_at:
                    continue
                del known[item]
                self.add(item)
            wait = _HEARTBEAT
            if heap:
                wait = min(wait, heap[0][0] - now)
            try:
                item, ready_at = self._waiting_for_add.get(timeout=max(wait, 0))
            except stdlib_queue.Empty:
                continue
            if ready_at > time.monotonic():
                insert(item, ready_at)
            else:
                self.add(item)
            while True:
                try:
                    item, ready_at = self._waiting_for_add.get_nowait()
                except stdlib_queue.Empty:
                    break
                if ready_at > time.monotonic():
                    insert(item, ready_at)
                else:
                    self.add(item)


class RateLimiter(Protocol):
    def when(self, item: Hashable) -> float: ...
    def forget(self, item: Hashable) -> None: ...
    def num_requeues(self, item: Hashable) -> int: ...


class ItemExponentialFailureRateLimiter:
    """``ItemExponentialFailureRateLimiter`` (default_rate_limiters.go)."""

    def __init__(self, base_delay: float, max_delay: float) -> None:
        self._lock = threading.Lock()
        self._failures: dict[Hashable, int] = {}
        self._base = base_delay
        self._max = max_delay

    def when(self, item: Hashable) -> float:
        with self._lock:
            exp = self._failures.get(item, 0)
            self._failures[item] = exp + 1
            backoff = self._base * 2.0**exp
            return min(backoff, self._max)

    def num_requeues(self, item: Hashable) -> int:
        with self._lock:
            return self._failures.get(item, 0)

    def forget(self, item: Hashable) -> None:
        with self._lock:
            self._failures.pop(item, None)


class BucketRateLimiter:
    """``BucketRateLimiter`` over a port of ``golang.org/x/time/rate``."""

    def __init__(self, rate: float, burst: int) -> None:
        self._lock = threading.Lock()
        self._rate = rate
        self._burst = burst
        self._tokens = float(burst)
        self._last = time.monotonic()

    def when(self, item: Hashable) -> float:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            self._tokens -= 1
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self._rate

    def num_requeues(self, item: Hashable) -> int:
        return 0

    def forget(self, item: Hashable) -> None:
        pass


class MaxOfRateLimiter:
    """``MaxOfRateLimiter``."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self._limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(limiter.when(item) for limiter in self._limiters)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self._limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self._limiters:
            limiter.forget(item)


def default_controller_rate_limiter() -> MaxOfRateLimiter:
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(0.005, 1000.0), BucketRateLimiter(10.0, 100)
    )


class RateLimitingQueue(DelayingQueue):
    """``rateLimitingType`` (rate_limiting_queue.go): what
    ``NewTypedRateLimitingQueue(DefaultTypedControllerRateLimiter())``
    returns."""

    def __init__(self, rate_limiter: RateLimiter | None = None) -> None:
        super().__init__()
        self._rate_limiter = rate_limiter or default_controller_rate_limiter()

    def add_rate_limited(self, item: Hashable) -> None:
        self.add_after(item, self._rate_limiter.when(item))

    def num_requeues(self, item: Hashable) -> int:
        return self._rate_limiter.num_requeues(item)

    def forget(self, item: Hashable) -> None:
        self._rate_limiter.forget(item)

"""A Kubernetes-style work queue: client-go's ``util/workqueue`` for Python.

Keys added while waiting collapse into one run, a key is never handed to
two workers at once, a key added while being processed comes back once it
is done, and failed keys are retried with per-key exponential backoff under
a global rate limit; keys may carry priorities. The queue itself is the
Rust crate ``workqueue-core``; this package adds a Pythonic surface:
exceptions, ``with q.processing()``, iteration, ``await q.aget()``,
``run_workers`` and ``parallelize``. Also here: ``SchedulingQueue``
(kube-scheduler's queue with backoff and an unschedulable pool) and
client-go's Prometheus metrics (``workqueue.metrics``).

Keys are ``int`` (64-bit), ``str``, ``bytes`` and tuples of these. They are
compared in Rust: ``1``, ``"1"`` and ``b"1"`` are three different keys, and
``bool`` keys are refused (``True == 1`` would make them collapse).

Example::

    import workqueue

    q: workqueue.Queue[str] = workqueue.Queue(name="pods")
    q.add("default/web")
    with q.processing() as key:
        reconcile(key)          # done(key) is called however the block exits
"""

from __future__ import annotations

import datetime
import inspect
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic

from . import _workqueue, metrics
from ._errors import Closed, Empty, Error, ParallelizeError, ShutDown
from ._keys import K, Key
from ._readiness import ReadinessWaiters
from ._scheduling import Place, SchedulingQueue
from ._workqueue import (
    MAX_KEY_DEPTH,
    BucketRateLimiter,
    CancelToken,
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    ManualClock,
    MaxOfRateLimiter,
    RateLimiter,
    Semaphore,
    WithMaxWaitRateLimiter,
    WorkerReport,
    __version__,
    default_controller_rate_limiter,
    default_item_based_rate_limiter,
    parallelize,
)
from .metrics import QueueMetrics, _queue_metrics

__all__ = [
    "MAX_KEY_DEPTH",
    "BucketRateLimiter",
    "CancelToken",
    "Closed",
    "Empty",
    "Error",
    "ItemExponentialFailureRateLimiter",
    "ItemFastSlowRateLimiter",
    "Key",
    "ManualClock",
    "MaxOfRateLimiter",
    "ParallelizeError",
    "Place",
    "Queue",
    "RateLimiter",
    "SchedulingQueue",
    "Semaphore",
    "ShutDown",
    "WithMaxWaitRateLimiter",
    "WorkerReport",
    "__version__",
    "default_controller_rate_limiter",
    "default_item_based_rate_limiter",
    "metrics",
    "parallelize",
    "run_workers",
]

_logger = logging.getLogger("workqueue")


class Queue(_workqueue.Queue[K]):
    """A work queue (client-go's rate-limiting work queue).

    ``Queue(name=None, rate_limiter=None, clock=None,
    priority_aging=None)``: a ``name`` turns on client-go's metrics
    (``metrics()``, ``workqueue.metrics``); ``rate_limiter`` defaults to
    ``default_controller_rate_limiter()``; ``clock`` is a ``ManualClock``
    for tests, or ``None`` for real time; ``priority_aging`` (seconds)
    makes a waiting key's priority grow by one per interval waited, so
    low priorities are not starved (without it priority is strict).

    A key is never handed to two workers at once. Adding a key that waits
    to be handed out does nothing; adding a key that is being processed
    makes it come back once ``done`` is called. Higher priorities are
    handed out first, FIFO within a priority (``add(key, priority=5)``).
    Type it with the keys it holds: ``q: Queue[str] = Queue()``.
    """

    __slots__ = ("_async_waiters",)

    _async_waiters: ReadinessWaiters

    def processing(
        self, block: bool = True, timeout: float | datetime.timedelta | None = None
    ) -> _Processing[K]:
        """``with q.processing() as key:`` gets a key (like ``get``) and
        calls ``done(key)`` however the block exits. Raises ``Empty`` and
        ``ShutDown`` like ``get``, before the block runs."""
        return _Processing(self, block, timeout)

    def aprocessing(self) -> _AsyncProcessing[K]:
        """``async with q.aprocessing() as key:`` awaits a key (like
        ``aget``) and calls ``done(key)`` however the block exits."""
        return _AsyncProcessing(self)

    async def aget(self) -> K:
        """Awaits a key without blocking the event loop or using a thread:
        the queue's readiness descriptor is watched with
        ``loop.add_reader``. Raises ``ShutDown`` once the queue is shut
        down and empty. Cancelling the await loses no key; use
        ``asyncio.wait_for`` for a timeout."""
        while True:
            try:
                return self.get(block=False)
            except Empty:
                pass
            await self._wait_readable()

    async def aget_with_priority(self) -> tuple[K, int]:
        """``aget``, also returning the priority the key was queued with:
        ``(key, priority)``."""
        while True:
            try:
                return self.get_with_priority(block=False)
            except Empty:
                pass
            await self._wait_readable()

    def metrics(self) -> QueueMetrics | None:
        """This queue's client-go metrics now, or ``None`` for an unnamed
        queue (which keeps none). See ``workqueue.metrics``."""
        raw = self._metrics()
        return None if raw is None else _queue_metrics(raw)

    def __aiter__(self) -> Queue[K]:
        return self

    async def __anext__(self) -> K:
        """``async for key in q:`` awaits keys until the queue is shut down
        and empty. Call ``done(key)`` for each."""
        # A ready key is taken here, without a second coroutine for aget
        # (which would cost a sixth of an asyncio consumer's time per key).
        try:
            try:
                return self.get(block=False)
            except Empty:
                return await self.aget()
        except ShutDown:
            raise StopAsyncIteration from None

    async def _wait_readable(self) -> None:
        """Returns once a get might not block (or at once if it would not)."""
        try:
            waiters = self._async_waiters
        except AttributeError:
            waiters = self._async_waiters = ReadinessWaiters()
        await waiters.wait(self)


class _Processing(Generic[K]):
    """The context manager of ``Queue.processing``."""

    __slots__ = ("_block", "_key", "_queue", "_timeout")

    def __init__(
        self, queue: Queue[K], block: bool, timeout: float | datetime.timedelta | None
    ) -> None:
        self._queue = queue
        self._block = block
        self._timeout = timeout

    def __enter__(self) -> K:
        self._key = self._queue.get(self._block, self._timeout)
        return self._key

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._queue.done(self._key)


class _AsyncProcessing(Generic[K]):
    """The async context manager of ``Queue.aprocessing``."""

    __slots__ = ("_key", "_queue")

    def __init__(self, queue: Queue[K]) -> None:
        self._queue = queue

    async def __aenter__(self) -> K:
        try:
            self._key = self._queue.get(block=False)  # no coroutine for aget
        except Empty:
            self._key = await self._queue.aget()
        return self._key

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._queue.done(self._key)


def _log_dropped(key: Any, error: BaseException) -> None:
    _logger.error(
        "dropping %r out of the queue: %s",
        key,
        error,
        exc_info=(type(error), error, error.__traceback__),
    )


def run_workers(
    queue: Queue[K],
    handler: Callable[[K], object],
    workers: int = 1,
    max_retries: int = 5,
    on_dropped: Callable[[K, BaseException], object] | None = None,
) -> WorkerReport:
    """Runs the controller worker loop on ``workers`` threads until
    ``queue`` is shut down and empty, and returns a ``WorkerReport``.

    Each worker gets a key and calls ``handler(key)``. When it returns, the
    key is forgotten by the rate limiter. When it raises, the key is
    requeued with ``add_rate_limited`` until it has been retried
    ``max_retries`` times; then it is forgotten and
    ``on_dropped(key, exception)`` is called (by default the error is
    logged on the ``workqueue`` logger). A failure while the queue is
    shutting down, which takes no retry, is only counted (abandoned).
    Then ``done(key)``.

    The report counts every handler call once: ``succeeded``, ``retried``,
    ``dropped`` (out of retries) or ``abandoned`` (failed while the queue
    was shutting down).

    Handlers run on Rust threads and hold the GIL while they run, so they
    overlap only where they release it (I/O, sleeps, C extensions). Ctrl-C
    stops handing out keys, waits for the handlers running, then raises
    ``KeyboardInterrupt``; a handler raising ``SystemExit`` does the same.
    """
    if inspect.iscoroutinefunction(handler):
        raise TypeError(
            "handler must be a plain function, not a coroutine function; "
            "use 'async for key in queue' for asyncio workers"
        )
    if on_dropped is None:
        on_dropped = _log_dropped
    return _workqueue._run_workers(queue, handler, workers, max_retries, on_dropped)

"""The scheduling queue's pure-Python parts: ``Place``, asyncio helpers."""

from __future__ import annotations

import enum

from . import _workqueue
from ._errors import Closed, Empty
from ._keys import K
from ._readiness import ReadinessWaiters
from .metrics import SchedulingPending


class Place(str, enum.Enum):
    """Where a ``SchedulingQueue`` holds an item. A ``str`` enum: each
    member equals its value (``Place.ACTIVE == "active"``)."""

    ACTIVE = "active"
    """Ready to be popped."""
    BACKOFF = "backoff"
    """Waiting out its backoff after a failed attempt."""
    UNSCHEDULABLE = "unschedulable"
    """Parked until a move event, an update or the maximum stay."""
    IN_FLIGHT = "in_flight"
    """Popped, not yet done or requeued."""

    def __str__(self) -> str:
        return self.value


class SchedulingQueue(_workqueue.SchedulingQueue[K]):
    """A scheduling queue: kube-scheduler's ``PriorityQueue`` for any key.

    ``SchedulingQueue(initial_backoff=1.0, max_backoff=10.0,
    max_unschedulable_stay=300.0, pop_from_backoff=True, clock=None,
    name=None)``; durations are seconds (numbers or ``timedelta``), ``clock``
    a ``ManualClock`` for tests.

    An item is in one ``Place``: active (popped highest priority first,
    first come first served among equals), in flight (popped, until
    ``done`` or a requeue), backoff (failed: waits ``initial_backoff *
    2**(attempts-1)`` capped at ``max_backoff``, then active again) or
    unschedulable (parked until ``move_all_to_active_or_backoff``, an
    ``update``, or ``max_unschedulable_stay``). Keys follow the rules of
    ``Queue``. Type it with its keys: ``SchedulingQueue[str]``.
    """

    __slots__ = ("_async_waiters",)

    _async_waiters: ReadinessWaiters

    def pending(self) -> SchedulingPending:
        """The items per sub-queue, read at one moment."""
        return SchedulingPending(*self._pending())

    async def apop(self) -> tuple[K, int]:
        """Awaits an item like ``pop``, without blocking the event loop or
        using a thread, and returns ``(key, priority)``: the queue's
        readiness descriptor is watched with ``loop.add_reader``, as in
        ``Queue.aget``, so an add or a backoff coming due wakes it at once.
        Raises ``Closed`` once the queue is closed. Cancelling loses no
        item; use ``asyncio.wait_for`` for a timeout.
        """
        while True:
            try:
                return self.pop(block=False)
            except Empty:
                pass
            try:
                waiters = self._async_waiters
            except AttributeError:
                waiters = self._async_waiters = ReadinessWaiters()
            await waiters.wait(self)

    def __aiter__(self) -> SchedulingQueue[K]:
        return self

    async def __anext__(self) -> tuple[K, int]:
        """``async for key, priority in q:`` awaits items until the queue is
        closed."""
        try:
            try:
                return self.pop(block=False)  # no coroutine for apop
            except Empty:
                return await self.apop()
        except Closed:
            raise StopAsyncIteration from None

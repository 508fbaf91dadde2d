"""The scheduling queue's pure-Python parts: ``Place``, asyncio helpers."""

from __future__ import annotations

import asyncio
import enum

from . import _workqueue
from ._errors import Closed, Empty
from ._keys import K
from .metrics import SchedulingPending

# An asyncio pop polls (see SchedulingQueue.apop): first after this long,
# doubling up to the maximum while nothing comes.
_POLL_FIRST_SECONDS = 0.0005
_POLL_MAX_SECONDS = 0.005


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

    __slots__ = ()

    def pending(self) -> SchedulingPending:
        """The items per sub-queue, read at one moment."""
        return SchedulingPending(*self._pending())

    async def apop(self) -> tuple[K, int]:
        """Awaits an item like ``pop``, without blocking the event loop or
        using a thread, and returns ``(key, priority)``. Raises ``Closed``
        once the queue is closed. Cancelling loses no item; use
        ``asyncio.wait_for`` for a timeout.

        It polls: the core's scheduling queue has no readiness descriptor
        for the event loop to watch (unlike ``Queue.aget``), so an idle
        ``apop`` retries after 0.5 ms, doubling to 5 ms, and may see an
        item up to 5 ms late.
        """
        delay = _POLL_FIRST_SECONDS
        while True:
            try:
                return self.pop(block=False)
            except Empty:
                pass
            await asyncio.sleep(delay)
            delay = min(delay * 2, _POLL_MAX_SECONDS)

    def __aiter__(self) -> SchedulingQueue[K]:
        return self

    async def __anext__(self) -> tuple[K, int]:
        """``async for key, priority in q:`` awaits items until the queue is
        closed."""
        try:
            return await self.apop()
        except Closed:
            raise StopAsyncIteration from None

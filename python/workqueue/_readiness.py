"""Waiting for a queue's readiness descriptor in the running asyncio loop,
for ``Queue.aget`` and ``SchedulingQueue.apop``: no thread, no polling."""

from __future__ import annotations

import asyncio
from typing import Protocol

# How often an asyncio getter polls where no readiness descriptor exists
# (platforms other than Linux).
_POLL_SECONDS = 0.005


class Watchable(Protocol):
    """A queue with a readiness descriptor (``Queue``, ``SchedulingQueue``)."""

    def _watch_readiness(self) -> int: ...
    def _unwatch_readiness(self) -> None: ...


class ReadinessWaiters:
    """The coroutines waiting on one queue's descriptor, per event loop."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: dict[asyncio.AbstractEventLoop, set[asyncio.Future[None]]] = {}

    async def wait(self, queue: Watchable) -> None:
        """Returns once a get (pop) on ``queue`` might not block (or at once
        if it would not)."""
        loop = asyncio.get_running_loop()
        try:
            fd = queue._watch_readiness()
        except NotImplementedError:
            await asyncio.sleep(_POLL_SECONDS)
            return
        try:
            future: asyncio.Future[None] = loop.create_future()
            pending = self._pending.get(loop)
            if pending is None:
                # One reader per loop and queue wakes every coroutine of
                # that loop waiting on this queue; each then tries again.
                pending = self._pending[loop] = set()
                loop.add_reader(fd, self._on_readable, loop, fd)
            pending.add(future)
            try:
                await future
            finally:
                pending.discard(future)
                if not pending and self._pending.get(loop) is pending:
                    del self._pending[loop]
                    loop.remove_reader(fd)
        finally:
            queue._unwatch_readiness()

    def _on_readable(self, loop: asyncio.AbstractEventLoop, fd: int) -> None:
        pending = self._pending.pop(loop, None)
        loop.remove_reader(fd)
        for future in pending or ():
            if not future.done():
                future.set_result(None)

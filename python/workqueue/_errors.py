"""The exceptions of the workqueue package (raised by its Rust core too)."""

from __future__ import annotations

import queue as _queue
import sys
from collections.abc import Iterable


class Error(Exception):
    """Base class of the exceptions the work queue raises.

    Bad arguments raise the built-in ``ValueError``, ``TypeError`` or
    ``OverflowError`` instead, with a message naming the argument.
    """


class Empty(Error, _queue.Empty):
    """No key became ready in time: a non-blocking ``get`` (or
    ``SchedulingQueue.pop``) found nothing, or one with a timeout ran out.
    Also a ``queue.Empty``."""


if sys.version_info >= (3, 13):

    class ShutDown(Error, _queue.ShutDown):
        """The queue is shut down and nothing is left to hand out. Also a
        ``queue.ShutDown`` (Python 3.13+)."""

else:

    class ShutDown(Error):
        """The queue is shut down and nothing is left to hand out (like
        ``queue.ShutDown`` of Python 3.13)."""


class Closed(Error):
    """The scheduling queue is closed: ``SchedulingQueue.pop`` raises it at
    once after ``close()``, even with items left."""


class ParallelizeError(Error):
    """Pieces of a ``parallelize`` call raised. Every other piece still ran.

    ``failures`` lists ``(piece, exception)`` in piece order; the first
    exception is also the ``__cause__``.
    """

    failures: list[tuple[int, BaseException]]

    def __init__(self, failures: Iterable[tuple[int, BaseException]]) -> None:
        self.failures = sorted(failures, key=lambda failure: failure[0])
        super().__init__(self.failures)

    def __str__(self) -> str:
        if not self.failures:
            return "no piece raised"
        piece, error = self.failures[0]
        first = f"piece {piece}: {type(error).__name__}: {error}"
        if len(self.failures) == 1:
            return f"1 piece raised; {first}"
        return f"{len(self.failures)} pieces raised; first {first}"


# Shown and pickled as workqueue.X, where users import them from.
for _exception in (Error, Empty, ShutDown, Closed, ParallelizeError):
    _exception.__module__ = "workqueue"
del _exception

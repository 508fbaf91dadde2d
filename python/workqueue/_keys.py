"""The key types, shared by the queue classes."""

from __future__ import annotations

from typing import TypeVar, Union

Key = Union[int, str, bytes, tuple["Key", ...]]
"""The key types a queue accepts: ``int`` (-2**63 .. 2**64 - 1), ``str``,
``bytes``, and tuples of keys."""

K = TypeVar("K", bound=Key)

"""The queue's Python surface: keys, get/done, batches, delays, shutdown,
context managers, iteration, and bad input."""

from __future__ import annotations

import collections
import datetime
import enum
import math
import pickle
import queue as stdlib_queue
import sys
import time

import pytest

import workqueue


def new_queue() -> workqueue.Queue[workqueue.Key]:
    return workqueue.Queue(rate_limiter=workqueue.ItemExponentialFailureRateLimiter(0.001, 1.0))


# --- keys -----------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        0,
        -1,
        42,
        2**63 - 1,
        2**63,
        2**64 - 1,
        -(2**63),
        "",
        "default/web",
        "\x7f~ascii\x00",
        "caf\xe9",  # one byte a character in Python, two in UTF-8
        "ünïcødé/😀",
        "\udc80surrogate",
        b"",
        b"\x00\xff",
        (),
        ("default", "web"),
        ("ns", 1, b"x", ("nested", (2, ()))),
    ],
)
def test_key_round_trip(key: workqueue.Key) -> None:
    q = new_queue()
    assert q.add(key) is True
    got = q.get(block=False)
    assert got == key
    assert type(got) is type(key)
    assert q.done(key) is True
    assert q.done(key) is False


def test_keys_of_different_types_never_collapse() -> None:
    q = new_queue()
    assert q.add(1)
    assert q.add("1")
    assert q.add(b"1")
    assert q.add((1,))
    assert q.add(("1",))
    assert len(q) == 5
    assert q.add(1) is False
    assert q.add("1") is False
    assert [q.get(block=False) for _ in range(5)] == [1, "1", b"1", (1,), ("1",)]


def test_equal_keys_collapse_whatever_object_carries_them() -> None:
    q = new_queue()
    assert q.add("".join(["default", "/", "web"]))
    assert q.add("default/web") is False
    assert q.add(10**3)
    assert q.add(1000) is False
    assert q.add(("a", (1, b"x")))
    assert q.add(("a", (1, b"x"))) is False
    assert len(q) == 3


def test_bool_keys_are_refused() -> None:
    q = new_queue()
    for key in (True, False, (1, True)):
        with pytest.raises(TypeError, match="bool"):
            q.add(key)
    assert len(q) == 0


class Color(enum.IntEnum):
    RED = 1


class Name(str):
    pass


Point = collections.namedtuple("Point", "x y")


def test_subclasses_are_accepted_and_come_back_as_the_base_type() -> None:
    q = new_queue()
    assert q.add(Color.RED)
    assert q.add(1) is False  # Color.RED == 1
    got = q.get(block=False)
    assert got == 1 and type(got) is int
    assert q.add(Name("pod"))
    assert type(q.get(block=False)) is str
    assert q.add(Point(1, 2))
    got_point = q.get(block=False)
    assert got_point == (1, 2) and type(got_point) is tuple


@pytest.mark.parametrize(
    "key",
    [1.5, None, [1], {"a": 1}, {1}, frozenset({1}), bytearray(b"x"), object(), (1, [2]), 1j],
)
def test_other_key_types_raise_type_error(key: object) -> None:
    q = new_queue()
    with pytest.raises(TypeError, match="key must be an int, str, bytes or a tuple"):
        q.add(key)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [2**64, -(2**63) - 1, 10**40, ("x", 2**70)])
def test_ints_beyond_64_bits_raise_overflow_error(key: workqueue.Key) -> None:
    q = new_queue()
    with pytest.raises(OverflowError, match="-2\\*\\*63 and 2\\*\\*64 - 1"):
        q.add(key)


def test_tuple_nesting_is_bounded() -> None:
    q = new_queue()
    key: workqueue.Key = 1
    for _ in range(workqueue.MAX_KEY_DEPTH):
        key = (key,)
    assert q.add(key)
    with pytest.raises(ValueError, match="nests tuples"):
        q.add((key,))


def test_every_key_taking_method_checks_its_key() -> None:
    q = new_queue()
    for call in (q.add, q.done, q.forget, q.num_requeues, q.add_rate_limited):
        with pytest.raises(TypeError, match="key must be"):
            call(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key must be"):
        q.add_after(1.5, 1)  # type: ignore[arg-type]


# --- get, done, len -----------------------------------------------------------


def test_fifo_and_add_while_processing() -> None:
    q = new_queue()
    for key in ("a", "b", "c"):
        q.add(key)
    q.add("a")  # does not move
    assert q.get() == "a"
    assert q.add("a") is True  # dirty while processing
    assert q.add("a") is False
    assert len(q) == 2
    assert q.processing_len() == 1
    assert q.done("a")
    assert [q.get(), q.get(), q.get()] == ["b", "c", "a"]


def test_get_raises_empty_at_once_when_not_blocking() -> None:
    q = new_queue()
    started = time.monotonic()
    with pytest.raises(workqueue.Empty):
        q.get(block=False)
    with pytest.raises(workqueue.Empty):
        q.get(timeout=0)
    assert time.monotonic() - started < 0.05


def test_get_times_out() -> None:
    q = new_queue()
    started = time.monotonic()
    with pytest.raises(workqueue.Empty):
        q.get(timeout=0.1)
    assert 0.09 <= time.monotonic() - started < 1.0
    with pytest.raises(workqueue.Empty):
        q.get(timeout=datetime.timedelta(milliseconds=20))


def test_exceptions_are_workqueue_errors_and_stdlib_compatible() -> None:
    assert issubclass(workqueue.Empty, workqueue.Error)
    assert issubclass(workqueue.Empty, stdlib_queue.Empty)
    assert issubclass(workqueue.ShutDown, workqueue.Error)
    assert issubclass(workqueue.ParallelizeError, workqueue.Error)
    if sys.version_info >= (3, 13):
        assert issubclass(workqueue.ShutDown, stdlib_queue.ShutDown)
    assert workqueue.Empty.__module__ == "workqueue"
    error = pickle.loads(pickle.dumps(workqueue.Empty("x")))
    assert isinstance(error, workqueue.Empty)


def test_shutdown_hands_out_what_is_queued_then_raises_shutdown() -> None:
    q = new_queue()
    q.add(1)
    q.add(2)
    assert q.shutting_down is False
    q.shutdown()
    assert q.shutting_down is True
    assert q.add(3) is False
    assert q.get() == 1
    assert q.get(timeout=1) == 2
    with pytest.raises(workqueue.ShutDown):
        q.get()
    with pytest.raises(workqueue.ShutDown):
        q.get(block=False)
    with pytest.raises(workqueue.ShutDown):
        q.get_batch(10)
    q.shutdown()  # twice is harmless


def test_processing_calls_done_however_the_block_exits() -> None:
    q = new_queue()
    q.add("k")
    with q.processing() as key:
        assert key == "k"
        assert q.add("k") is True  # comes back after done
    assert q.processing_len() == 0
    with pytest.raises(RuntimeError), q.processing() as key:
        raise RuntimeError("reconcile failed")
    assert q.processing_len() == 0
    with pytest.raises(workqueue.Empty), q.processing(block=False):
        pytest.fail("the block must not run")


def test_iteration_ends_at_shutdown() -> None:
    q = new_queue()
    q.add_batch(["a", "b", "c"])
    q.shutdown()
    seen = []
    for key in q:
        seen.append(key)
        q.done(key)
    assert seen == ["a", "b", "c"]


def test_batches() -> None:
    q = new_queue()
    assert q.add_batch([1, 2, 3, 2, 1]) == 3
    assert q.add_batch(iter([4, 5])) == 2
    assert q.add_batch(k for k in (6,)) == 1
    assert q.add_batch(()) == 0
    assert q.get_batch(2) == [1, 2]
    assert q.get_batch(10, timeout=0) == [3, 4, 5, 6]
    assert q.done_batch([1, 2, 3, 4, 5, 6, 7]) == 6
    with pytest.raises(workqueue.Empty):
        q.get_batch(5, timeout=0.01)
    # A batch is checked whole before any key is added.
    with pytest.raises(TypeError):
        q.add_batch([10, 11, 1.5])  # type: ignore[list-item]
    assert len(q) == 0


@pytest.mark.parametrize("keys", ["abc", b"abc", 5, None])
def test_batch_arguments_must_be_iterables_of_keys(keys: object) -> None:
    q = new_queue()
    with pytest.raises(TypeError, match="keys"):
        q.add_batch(keys)  # type: ignore[arg-type]


@pytest.mark.parametrize("max_items", [0, -1])
def test_get_batch_needs_a_positive_max(max_items: int) -> None:
    with pytest.raises(ValueError, match="max_items"):
        new_queue().get_batch(max_items)


@pytest.mark.parametrize("timeout", [-1, -0.5, float("nan"), datetime.timedelta(seconds=-1)])
def test_bad_timeouts_raise_value_error(timeout: float) -> None:
    q = new_queue()
    with pytest.raises(ValueError, match="timeout"):
        q.get(timeout=timeout)
    with pytest.raises(ValueError, match="timeout"):
        q.get_batch(1, timeout=timeout)
    with pytest.raises(ValueError, match="timeout"):
        q.shutdown_with_drain(timeout=timeout)


@pytest.mark.parametrize("timeout", ["1", True, [1]])
def test_timeouts_of_the_wrong_type_raise_type_error(timeout: object) -> None:
    with pytest.raises(TypeError, match="timeout"):
        new_queue().get(timeout=timeout)  # type: ignore[arg-type]


def test_an_infinite_timeout_waits_like_none() -> None:
    q = new_queue()
    q.add(1)
    assert q.get(timeout=math.inf) == 1


# --- delays and rate limits -----------------------------------------------------


def test_add_after_on_a_manual_clock() -> None:
    clock = workqueue.ManualClock()
    q: workqueue.Queue[str] = workqueue.Queue(clock=clock)
    assert q.clock is clock
    assert q.add_after("later", 2.5) is True
    assert q.add_after("later", 5) is False  # never postponed
    assert q.add_after("sooner", datetime.timedelta(seconds=1)) is True
    assert q.delayed_len() == 2
    assert len(q) == 0
    clock.step(1)
    assert q.get(block=False) == "sooner"
    clock.set(2.4999)
    with pytest.raises(workqueue.Empty):
        q.get(block=False)
    clock.step(0.0001)
    assert q.get(block=False) == "later"
    assert clock.now() == pytest.approx(2.5)
    assert q.add_after("now", 0) is True
    assert q.add_after("now too", -3) is True
    assert q.get_batch(5) == ["now", "now too"]


def test_add_after_on_the_real_clock() -> None:
    q = new_queue()
    started = time.monotonic()
    q.add_after("k", 0.05)
    assert q.get(timeout=2) == "k"
    assert time.monotonic() - started >= 0.045


@pytest.mark.parametrize("seconds", ["1", None, True])
def test_add_after_needs_seconds(seconds: object) -> None:
    with pytest.raises(TypeError, match="seconds"):
        new_queue().add_after("k", seconds)  # type: ignore[arg-type]


def test_add_after_refuses_nan() -> None:
    with pytest.raises(ValueError, match="seconds"):
        new_queue().add_after("k", float("nan"))


def test_rate_limited_adds() -> None:
    clock = workqueue.ManualClock()
    limiter = workqueue.ItemExponentialFailureRateLimiter(0.001, 1)
    q: workqueue.Queue[str] = workqueue.Queue(rate_limiter=limiter, clock=clock)
    assert q.rate_limiter is limiter
    assert q.add_rate_limited("one") == pytest.approx(0.001)
    assert q.add_rate_limited("one") == pytest.approx(0.002)
    assert q.add_rate_limited("two") == pytest.approx(0.001)
    assert q.num_requeues("one") == 2
    assert q.num_requeues("two") == 1
    clock.step(0.001)
    assert q.get(block=False) == "one"
    assert q.get(block=False) == "two"
    q.forget("one")
    assert q.num_requeues("one") == 0
    q.shutdown()
    assert q.add_rate_limited("one") is None


def test_default_queue_uses_the_default_controller_limiter() -> None:
    q: workqueue.Queue[str] = workqueue.Queue()
    assert q.rate_limiter is None
    assert q.add_rate_limited("k") == pytest.approx(0.005)


# --- construction -----------------------------------------------------------------


def test_constructor_arguments() -> None:
    q: workqueue.Queue[int] = workqueue.Queue("pods")
    assert q.name == "pods"
    assert "pods" in repr(q)
    assert workqueue.Queue().name is None
    with pytest.raises(TypeError, match="rate_limiter"):
        workqueue.Queue(rate_limiter=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="clock"):
        workqueue.Queue(clock=time.monotonic)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        workqueue.Queue(name=5)  # type: ignore[arg-type]


def test_queue_is_generic_at_runtime_and_weakly_referenceable() -> None:
    import weakref

    alias = workqueue.Queue[str]
    assert alias.__origin__ is workqueue.Queue  # type: ignore[attr-defined]
    q = alias()
    assert isinstance(q, workqueue.Queue)
    ref = weakref.ref(q)
    assert ref() is q


def test_shutdown_with_drain_times_out_and_reports() -> None:
    q = new_queue()
    q.add("k")
    assert q.get() == "k"
    assert q.shutdown_with_drain(timeout=0) is False
    assert q.shutdown_with_drain(timeout=0.05) is False
    q.done("k")
    assert q.shutdown_with_drain(timeout=1) is True
    assert q.shutdown_with_drain() is True


@pytest.mark.parametrize("length", [0, 1, 38, 39, 40, 41, 100, 10_000])
def test_short_and_long_keys_round_trip_and_collapse(length: int) -> None:
    # Short keys are stored inline, long ones on the heap: both must behave.
    q = new_queue()
    text = ("ab" * length)[:length]
    keys: list[workqueue.Key] = [text, text.encode(), ("t", text), "é" * (length // 2) + "!"]
    for key in keys:
        assert q.add(key)
    for key in keys:
        assert q.add(key) is False
    got = [q.get(block=False) for _ in keys]
    assert got == keys
    assert [type(key) for key in got] == [type(key) for key in keys]
    for key in keys:
        assert q.done(key)


def test_keys_that_differ_only_at_the_end_are_different() -> None:
    q = new_queue()
    base = "namespace/" + "x" * 60
    for key in (base + "a", base + "b", base[:-1], base):
        assert q.add(key)
    assert len(q) == 4

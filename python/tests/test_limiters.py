"""Rate limiters and the manual clock."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

import workqueue


def ms(seconds: float) -> float:
    return round(seconds * 1000, 6)


def test_exponential_doubles_to_the_cap_without_overflow() -> None:
    limiter = workqueue.ItemExponentialFailureRateLimiter(0.001, 1)
    assert [ms(limiter.when("k")) for _ in range(5)] == [1, 2, 4, 8, 16]
    assert limiter.num_requeues("k") == 5
    for _ in range(1000):
        limiter.when("k")
    assert limiter.when("k") == 1.0
    assert ms(limiter.when("other")) == 1
    limiter.forget("k")
    assert limiter.num_requeues("k") == 0
    assert ms(limiter.when("k")) == 1


def test_exponential_tracks_a_bounded_number_of_keys() -> None:
    limiter = workqueue.ItemExponentialFailureRateLimiter(0.001, 1, max_tracked_keys=8)
    for key in range(100):
        limiter.when(key)
    assert sum(limiter.num_requeues(key) for key in range(100)) <= 8


def test_fast_slow() -> None:
    limiter = workqueue.ItemFastSlowRateLimiter(0.005, 10, 3)
    assert [limiter.when("k") for _ in range(5)] == [0.005, 0.005, 0.005, 10, 10]
    assert limiter.num_requeues("k") == 5
    limiter.forget("k")
    assert limiter.when("k") == 0.005


def test_bucket_follows_the_clock_it_is_given() -> None:
    clock = workqueue.ManualClock()
    limiter = workqueue.BucketRateLimiter(10, 2)
    assert limiter.when("a", clock=clock) == 0
    assert limiter.when("b", clock=clock) == 0
    assert limiter.when("c", clock=clock) == pytest.approx(0.1)
    assert limiter.when("d", clock=clock) == pytest.approx(0.2)
    clock.step(1)
    assert limiter.when("e", clock=clock) == 0
    assert limiter.num_requeues("a") == 0


def test_max_of_and_max_wait() -> None:
    limiter = workqueue.MaxOfRateLimiter(
        workqueue.ItemExponentialFailureRateLimiter(0.001, 1),
        workqueue.ItemFastSlowRateLimiter(0.003, 10, 2),
    )
    assert [ms(limiter.when("k")) for _ in range(4)] == [3, 3, 10000, 10000]
    assert limiter.num_requeues("k") == 4
    limiter.forget("k")
    assert limiter.num_requeues("k") == 0
    capped = workqueue.WithMaxWaitRateLimiter(
        workqueue.ItemExponentialFailureRateLimiter(1, 100), datetime.timedelta(seconds=3)
    )
    assert [capped.when("k") for _ in range(4)] == [1, 2, 3, 3]


def test_defaults() -> None:
    controller = workqueue.default_controller_rate_limiter()
    assert isinstance(controller, workqueue.MaxOfRateLimiter)
    assert isinstance(controller, workqueue.RateLimiter)
    assert ms(controller.when("k")) == 5
    assert ms(controller.when("k")) == 10
    item = workqueue.default_item_based_rate_limiter()
    assert isinstance(item, workqueue.ItemExponentialFailureRateLimiter)
    assert ms(item.when("k")) == 1
    assert "ItemExponentialFailureRateLimiter(base_delay=0.001, max_delay=1000)" in repr(item)
    assert "BucketRateLimiter(rate=10, burst=100)" in repr(controller)


def test_one_limiter_shared_by_two_queues_shares_its_counts() -> None:
    limiter = workqueue.ItemExponentialFailureRateLimiter(0.001, 1)
    first: workqueue.Queue[str] = workqueue.Queue(rate_limiter=limiter)
    second: workqueue.Queue[str] = workqueue.Queue(rate_limiter=limiter)
    first.add_rate_limited("k")
    assert second.num_requeues("k") == 1
    assert second.add_rate_limited("k") == pytest.approx(0.002)


@pytest.mark.parametrize(
    ("build", "argument"),
    [
        (lambda: workqueue.ItemExponentialFailureRateLimiter(0, 1), "base_delay"),
        (lambda: workqueue.ItemExponentialFailureRateLimiter(-1, 1), "base_delay"),
        (lambda: workqueue.ItemExponentialFailureRateLimiter(2, 1), "max_delay"),
        (lambda: workqueue.ItemExponentialFailureRateLimiter(1, float("nan")), "max_delay"),
        (
            lambda: workqueue.ItemExponentialFailureRateLimiter(1, 2, max_tracked_keys=0),
            "max_tracked_keys",
        ),
        (lambda: workqueue.ItemFastSlowRateLimiter(-1, 1, 1), "fast_delay"),
        (lambda: workqueue.ItemFastSlowRateLimiter(1, 1, -1), "max_fast_attempts"),
        (lambda: workqueue.BucketRateLimiter(0, 1), "rate"),
        (lambda: workqueue.BucketRateLimiter(float("inf"), 1), "rate"),
        (lambda: workqueue.BucketRateLimiter(1, 0), "burst"),
        (lambda: workqueue.BucketRateLimiter(1, 2**40), "burst"),
        (lambda: workqueue.MaxOfRateLimiter(), "limiters"),
        (
            lambda: workqueue.WithMaxWaitRateLimiter(workqueue.BucketRateLimiter(1, 1), -1),
            "max_delay",
        ),
    ],
)
def test_bad_limiter_arguments_raise_value_error_naming_them(build: object, argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        build()  # type: ignore[operator]


# Typed as Any: these calls are wrong on purpose.
untyped: Any = workqueue


@pytest.mark.parametrize(
    ("build", "argument"),
    [
        (lambda: untyped.ItemExponentialFailureRateLimiter("1", 2), "base_delay"),
        (lambda: untyped.BucketRateLimiter("fast", 1), "rate"),
        (lambda: untyped.BucketRateLimiter(1, 1.5), "burst"),
        (lambda: untyped.MaxOfRateLimiter(object()), "limiters"),
        (lambda: untyped.WithMaxWaitRateLimiter(None, 1), "limiter"),
        (lambda: untyped.BucketRateLimiter(1, 1).when("k", clock=1), "clock"),
        (lambda: untyped.BucketRateLimiter(1, 1).when(1.5), "key"),
    ],
)
def test_limiter_arguments_of_the_wrong_type_raise_type_error(build: object, argument: str) -> None:
    with pytest.raises(TypeError, match=argument):
        build()  # type: ignore[operator]


def test_the_base_class_cannot_be_built() -> None:
    with pytest.raises(TypeError):
        workqueue.RateLimiter()


def test_manual_clock() -> None:
    clock = workqueue.ManualClock()
    assert clock.now() == 0
    clock.step(1.5)
    clock.step(datetime.timedelta(milliseconds=500))
    assert clock.now() == 2
    clock.set(0.25)
    assert clock.now() == 0.25
    assert "0.25" in repr(clock)
    with pytest.raises(ValueError, match="seconds"):
        clock.step(-1)
    with pytest.raises(ValueError, match="seconds"):
        clock.set(-1)
    with pytest.raises(TypeError, match="seconds"):
        clock.step("1")  # type: ignore[arg-type]

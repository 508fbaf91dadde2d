"""parallelize, run_workers, Semaphore and CancelToken."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter

import pytest

import workqueue

# --- parallelize ---------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 10, 100, 13])
def test_every_piece_runs_exactly_once(chunk_size: int) -> None:
    seen: Counter[int] = Counter()
    lock = threading.Lock()

    def piece(i: int) -> None:
        with lock:
            seen[i] += 1

    assert workqueue.parallelize(4, 999, piece, chunk_size=chunk_size) == 999
    assert seen == Counter(range(999))


def test_pieces_run_on_several_threads_when_they_release_the_gil() -> None:
    threads: set[int] = set()

    def piece(i: int) -> None:
        threads.add(threading.get_ident())
        time.sleep(0.05)

    started = time.monotonic()
    workqueue.parallelize(8, 16, piece)
    assert time.monotonic() - started < 16 * 0.05 * 0.75  # not one after the other
    assert len(threads) > 1


def test_zero_pieces_returns_at_once() -> None:
    assert workqueue.parallelize(4, 0, lambda i: pytest.fail("no piece")) == 0


def test_cancel_stops_new_pieces() -> None:
    token = workqueue.CancelToken()
    assert token.cancelled is False
    ran: list[int] = []

    def piece(i: int) -> None:
        ran.append(i)
        if i == 10:
            token.cancel()

    completed = workqueue.parallelize(1, 1000, piece, cancel=token)
    assert token.cancelled is True
    assert ran == list(range(11))
    assert completed == 11
    assert "cancelled=True" in repr(token)


def test_failing_pieces_are_reported_and_the_others_still_run() -> None:
    ran: list[int] = []

    def piece(i: int) -> None:
        if i in (7, 3):
            raise ValueError(f"bad piece {i}")
        ran.append(i)

    with pytest.raises(workqueue.ParallelizeError) as raised:
        workqueue.parallelize(3, 20, piece)
    error = raised.value
    assert [piece for piece, _ in error.failures] == [3, 7]
    assert all(isinstance(exc, ValueError) for _, exc in error.failures)
    assert isinstance(error.__cause__, ValueError)
    assert "2 pieces raised" in str(error) and "bad piece 3" in str(error)
    assert sorted(ran) == [i for i in range(20) if i not in (3, 7)]


def test_system_exit_in_a_piece_stops_and_propagates() -> None:
    def piece(i: int) -> None:
        if i == 2:
            raise SystemExit(3)

    with pytest.raises(SystemExit):
        workqueue.parallelize(1, 100, piece)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"workers": 0}, "workers"),
        ({"pieces": -1}, "pieces"),
        ({"chunk_size": 0}, "chunk_size"),
    ],
)
def test_bad_counts_raise_value_error(kwargs: dict[str, int], argument: str) -> None:
    args = {"workers": 2, "pieces": 10, "chunk_size": 1, **kwargs}
    with pytest.raises(ValueError, match=argument):
        workqueue.parallelize(args["workers"], args["pieces"], print, chunk_size=args["chunk_size"])


def test_bad_types_raise_type_error() -> None:
    with pytest.raises(TypeError, match="fn"):
        workqueue.parallelize(2, 10, 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cancel"):
        workqueue.parallelize(2, 10, print, cancel=threading.Event())  # type: ignore[arg-type]


# --- run_workers ---------------------------------------------------------------


def test_run_workers_retries_then_drops_and_reports() -> None:
    q: workqueue.Queue[str] = workqueue.Queue(
        rate_limiter=workqueue.ItemExponentialFailureRateLimiter(0.001, 0.005)
    )
    calls: Counter[str] = Counter()
    dropped: list[tuple[str, BaseException]] = []
    lock = threading.Lock()
    finished = threading.Event()

    def handler(key: str) -> None:
        with lock:
            calls[key] += 1
        if key == "bad" or (key == "flaky" and calls[key] < 3):
            raise RuntimeError(f"{key} failed")

    def on_dropped(key: str, error: BaseException) -> None:
        dropped.append((key, error))
        finished.set()

    q.add_batch(["good", "flaky", "bad"])
    runner = threading.Thread(
        target=lambda: reports.append(
            workqueue.run_workers(q, handler, workers=3, max_retries=4, on_dropped=on_dropped)
        )
    )
    reports: list[workqueue.WorkerReport] = []
    runner.start()
    assert finished.wait(10)
    q.shutdown_with_drain(timeout=5)
    runner.join(10)
    (report,) = reports
    assert calls == {"good": 1, "flaky": 3, "bad": 5}
    assert [key for key, _ in dropped] == ["bad"]
    assert isinstance(dropped[0][1], RuntimeError)
    assert (report.succeeded, report.retried, report.dropped, report.abandoned) == (2, 6, 1, 0)
    assert repr(report) == "WorkerReport(succeeded=2, retried=6, dropped=1, abandoned=0)"
    assert q.num_requeues("bad") == 0 and q.num_requeues("good") == 0


def test_run_workers_abandons_failures_while_shutting_down() -> None:
    # Each of three workers holds one key until the test has shut the queue
    # down; then two keys fail and one succeeds. The queue refuses the
    # retries: abandoned (not given up on: not forgotten, not passed to
    # on_dropped).
    q: workqueue.Queue[str] = workqueue.Queue()
    keys = ["fails-1", "fails-2", "succeeds"]
    q.add_batch(keys)
    entered = threading.Barrier(len(keys) + 1)
    release = threading.Event()
    calls: list[str] = []
    dropped: list[str] = []

    def handler(key: str) -> None:
        calls.append(key)
        entered.wait(10)
        assert release.wait(10)
        if key != "succeeds":
            raise RuntimeError(f"{key} failed during the shutdown")

    reports: list[workqueue.WorkerReport] = []
    runner = threading.Thread(
        target=lambda: reports.append(
            workqueue.run_workers(
                q, handler, workers=len(keys), on_dropped=lambda key, _: dropped.append(key)
            )
        )
    )
    runner.start()
    entered.wait(10)
    q.shutdown()
    release.set()
    runner.join(10)
    (report,) = reports
    assert (report.succeeded, report.retried, report.dropped, report.abandoned) == (1, 0, 0, 2)
    assert report.succeeded + report.retried + report.dropped + report.abandoned == len(calls)
    assert repr(report) == "WorkerReport(succeeded=1, retried=0, dropped=0, abandoned=2)"
    assert dropped == []


def test_run_workers_abandons_the_failures_of_a_handler_that_shuts_down() -> None:
    # The handler shuts the queue down; the keys still queued are handed out
    # and fail too: every failure is abandoned.
    q: workqueue.Queue[int] = workqueue.Queue()
    q.add_batch([1, 2, 3])
    calls: list[int] = []

    def handler(key: int) -> None:
        calls.append(key)
        q.shutdown()
        raise KeyError(key)

    report = workqueue.run_workers(q, handler, max_retries=1)
    assert calls == [1, 2, 3]
    assert (report.succeeded, report.retried, report.dropped, report.abandoned) == (0, 0, 0, 3)
    assert report.succeeded + report.retried + report.dropped + report.abandoned == len(calls)


def test_run_workers_logs_dropped_keys_by_default(caplog: pytest.LogCaptureFixture) -> None:
    q: workqueue.Queue[int] = workqueue.Queue()
    q.add(1)
    q.shutdown()

    def handler(key: int) -> None:
        raise KeyError(key)

    report = workqueue.run_workers(q, handler, max_retries=0)
    assert report.dropped == 1
    assert "dropping 1" in caplog.text


def test_run_workers_returns_when_the_queue_is_shut_down() -> None:
    q: workqueue.Queue[int] = workqueue.Queue()
    seen: list[int] = []
    q.add_batch(range(100))
    q.shutdown()
    report = workqueue.run_workers(q, seen.append, workers=4)
    assert sorted(seen) == list(range(100))
    assert report.succeeded == 100 and report.retried == 0


def test_run_workers_system_exit_puts_the_key_back() -> None:
    q: workqueue.Queue[int] = workqueue.Queue()
    q.add(1)

    def handler(key: int) -> None:
        raise SystemExit(1)

    with pytest.raises(SystemExit):
        workqueue.run_workers(q, handler)
    assert q.get(block=False) == 1


def test_run_workers_arguments() -> None:
    q: workqueue.Queue[int] = workqueue.Queue()

    async def handler(key: int) -> None:
        pass

    with pytest.raises(TypeError, match="coroutine"):
        workqueue.run_workers(q, handler)
    with pytest.raises(TypeError, match="handler"):
        workqueue.run_workers(q, 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="workers"):
        workqueue.run_workers(q, print, workers=0)
    with pytest.raises(ValueError, match="max_retries"):
        workqueue.run_workers(q, print, max_retries=-1)
    with pytest.raises(TypeError, match="queue"):
        workqueue.run_workers(object(), print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="on_dropped"):
        workqueue.run_workers(q, print, on_dropped=5)  # type: ignore[arg-type]


# --- Semaphore -------------------------------------------------------------------


def test_semaphore_basics() -> None:
    sem = workqueue.Semaphore(2)
    assert (sem.capacity, sem.available) == (2, 2)
    assert sem.acquire()
    assert sem.acquire(blocking=False)
    assert sem.acquire(blocking=False) is False
    assert sem.acquire(timeout=0.02) is False
    sem.release()
    with sem:
        assert sem.available == 0
    assert sem.available == 1
    sem.release()
    with pytest.raises(ValueError, match="released too many times"):
        sem.release()
    assert "permits=2" in repr(sem)


def test_semaphore_bounds_concurrency() -> None:
    sem = workqueue.Semaphore(3)
    lock = threading.Lock()
    running = [0]
    peak = [0]

    def work() -> None:
        for _ in range(20):
            with sem:
                with lock:
                    running[0] += 1
                    peak[0] = max(peak[0], running[0])
                time.sleep(0.001)
                with lock:
                    running[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert peak[0] == 3


@pytest.mark.parametrize("permits", [0, -1])
def test_semaphore_needs_a_permit(permits: int) -> None:
    with pytest.raises(ValueError, match="permits"):
        workqueue.Semaphore(permits)


def test_run_workers_abandons_a_failure_while_shutting_down() -> None:
    q: workqueue.Queue[str] = workqueue.Queue()
    q.add("k")
    dropped: list[str] = []

    def handler(key: str) -> None:
        q.shutdown()  # no retry can be scheduled any more
        raise RuntimeError("failed during shutdown")

    report = workqueue.run_workers(q, handler, on_dropped=lambda key, error: dropped.append(key))
    assert (report.succeeded, report.retried, report.dropped, report.abandoned) == (0, 0, 0, 1)
    assert dropped == []


def test_an_exception_in_on_dropped_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reported: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda args: reported.append(args.exc_value))
    q: workqueue.Queue[int] = workqueue.Queue()
    q.add(1)
    q.shutdown()

    def handler(key: int) -> None:
        raise ValueError(key)

    def on_dropped(key: int, error: BaseException) -> None:
        raise RuntimeError("on_dropped failed")

    report = workqueue.run_workers(q, handler, max_retries=0, on_dropped=on_dropped)
    assert report.dropped == 1
    assert [type(error) for error in reported] == [RuntimeError]

"""Replays every language-neutral scenario in ``conformance/``.

The format is described in ``conformance/README.md``; the Rust, C and Go
suites replay the same files. Four folders, each with its own subjects and
steps:

- ``conformance/*.scn``: ``queue [LIMITER]`` and ``limiter LIMITER``;
- ``scheduling/*.scn``: ``scheduling_queue [OPTIONS]`` and its steps;
- ``priority/*.scn``: ``queue [LIMITER] [aging=DUR]``, plus the
  ``*_with_priority`` steps and ``len_by_priority``;
- ``metrics/*.scn``: ``queue [LIMITER] name=NAME [aging=DUR]``, plus
  ``metrics NAME`` and the steps of ``priority/`` (each queue gets a name
  unique in the process: the registry is global).

Each scenario is one test case, named ``folder/file.scn::scenario``. A
malformed file fails ``test_every_file_parses`` with its location; the
runner's own tests at the end check that it reads every form and notices
wrong results.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Union

import pytest

import workqueue
from workqueue import metrics

CONFORMANCE_DIR = Path(
    os.environ.get(
        "WORKQUEUE_CONFORMANCE_DIR",
        Path(__file__).resolve().parents[2] / "conformance",
    )
)

NANOS_PER_UNIT = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}

TOP, SCHEDULING, PRIORITY, METRICS = "", "scheduling", "priority", "metrics"
FOLDERS = (TOP, SCHEDULING, PRIORITY, METRICS)


class Malformed(Exception):
    """A scenario file that does not follow the format."""


@dataclass(frozen=True)
class Duration:
    nanos: int

    def seconds(self) -> float:
        return self.nanos / 1e9

    def __str__(self) -> str:
        for per_unit, unit in ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us")):
            if self.nanos >= per_unit and self.nanos % per_unit == 0:
                return f"{self.nanos // per_unit}{unit}"
        return f"{self.nanos}ns"


@dataclass(frozen=True)
class Seconds:
    """A metric in seconds (an f64 in the core); equal to a ``Duration``
    within 1 ns."""

    value: float

    def __str__(self) -> str:
        return f"{self.value!r}s"


# A result, as produced by a step or written after `=>`: bool, int (count,
# signed count or key), Duration, Seconds, a list of keys, a (key, priority)
# tuple, a list of (priority, count) levels, a list of (label, count)
# labels of workqueue_depth_by_priority, or a word: "none", "empty",
# "shutdown", "closed", or a place.
Value = Union[
    bool,
    int,
    Duration,
    Seconds,
    list[int],
    tuple[int, int],
    list[tuple[int, int]],
    list[tuple[str, int]],
    str,
]

# --- values -------------------------------------------------------------------------


def unsigned(word: str) -> int:
    if not word.isascii() or not word.isdigit():
        raise Malformed(f"`{word}` is not a non-negative integer")
    value = int(word)
    if value >= 2**64:
        raise Malformed(f"`{word}` does not fit in 64 bits")
    return value


def signed(word: str) -> int:
    digits = word[1:] if word.startswith("-") else word
    if not digits.isascii() or not digits.isdigit():
        raise Malformed(f"`{word}` is not an integer")
    value = int(word)
    if not -(2**63) <= value < 2**63:
        raise Malformed(f"`{word}` does not fit in 64 bits")
    return value


def key(word: str) -> int:
    try:
        return unsigned(word)
    except Malformed as error:
        raise Malformed(f"bad key: {error}") from None


def priority(word: str) -> int:
    digits = word[1:] if word.startswith("-") else word
    if not digits.isascii() or not digits.isdigit():
        raise Malformed(f"bad priority: `{word}` is not an integer")
    value = int(word)
    if not -(2**31) <= value < 2**31:
        raise Malformed(f"bad priority: `{word}` does not fit in 32 bits")
    return value


def duration(word: str) -> Duration:
    match = re.fullmatch(r"([0-9]+)(ns|us|ms|s)", word)
    if match is None:
        raise Malformed(f"`{word}` is not a duration (an integer and ns, us, ms or s)")
    nanos = int(match.group(1)) * NANOS_PER_UNIT[match.group(2)]
    if nanos >= 2**64:
        raise Malformed(f"`{word}` does not fit in 64 bits of nanoseconds")
    return Duration(nanos)


def batch_size(word: str) -> int:
    value = unsigned(word)
    if value == 0:
        raise Malformed("the MAX of `get_batch` must be at least 1")
    return value


def event(word: str) -> str:
    return word


PLACES = ("active", "backoff", "unschedulable", "in_flight", "none")

METRIC_KINDS = {
    "depth": "signed",
    "adds": "count",
    "retries": "count",
    "queue_duration_count": "count",
    "queue_duration_sum": "seconds",
    "work_duration_count": "count",
    "work_duration_sum": "seconds",
    "unfinished_work": "seconds",
    "longest_running": "seconds",
    "depth_by_priority": "labels",
}

# The priorities workqueue_depth_by_priority names; the rest are `other`.
LISTED_PRIORITIES = metrics.MAX_PRIORITY_LABELS - 1


def metric(word: str) -> str:
    if word not in METRIC_KINDS:
        raise Malformed(f"`{word}` is not a metric: one of {', '.join(METRIC_KINDS)}")
    return word


def levels(words: list[str]) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    for word in words:
        p, colon, n = word.partition(":")
        if not colon:
            raise Malformed(f"`{word}` is not a level `P:N` (or write `none` alone)")
        level = (priority(p), unsigned(n))
        if level[1] == 0:
            raise Malformed(f"`{word}`: an empty level is never listed")
        if found and found[-1][0] <= level[0]:
            raise Malformed(f"`{word}`: levels are listed highest priority first, each once")
        found.append(level)
    return found


def priority_labels(words: list[str]) -> list[tuple[str, int]]:
    """The labels of `metrics depth_by_priority => P:N ... [other:N]`:
    levels as `len_by_priority` writes them, at most LISTED_PRIORITIES,
    then `other:N` (N at least 1), last and only after that many."""
    numbered, other = words, None
    if words and words[-1].startswith("other:"):
        numbered, other = words[:-1], words[-1]
    for word in numbered:
        if word.startswith("other:"):
            raise Malformed(f"`{word}`: `other:N` comes last, once")
    found = levels(numbered)
    if len(found) > LISTED_PRIORITIES:
        raise Malformed(
            f"{len(found)} levels: at most {LISTED_PRIORITIES} priorities are listed, "
            "the rest summed as `other:N`"
        )
    labels = [(str(p), n) for p, n in found]
    if other is not None:
        n = unsigned(other.partition(":")[2])
        if n == 0:
            raise Malformed(
                f"`{other}`: `other` is listed only when some ready key is beyond the listed "
                "priorities"
            )
        if len(found) != LISTED_PRIORITIES:
            raise Malformed(
                f"`{other}` after {len(found)} levels: `other` follows exactly {LISTED_PRIORITIES}"
            )
        labels.append(("other", n))
    return labels


def expected_value(kind: str, words: list[str]) -> Value:
    """Reads the words after `=>` as a result of `kind`."""
    one = words[0] if len(words) == 1 else None
    if kind == "bool":
        if one not in ("true", "false"):
            raise Malformed("expected `true` or `false` after `=>`")
        return one == "true"
    if kind == "levels":
        return [] if words == ["none"] else levels(words)
    if kind == "labels":
        return [] if words == ["none"] else priority_labels(words)
    if kind == "keys" and one not in ("empty", "shutdown"):
        return [key(word) for word in words]
    if kind in ("key_priority", "popped") and len(words) == 2:
        return (key(words[0]), priority(words[1]))
    if one is None:
        raise Malformed(f"unexpected result `{' '.join(words)}`")
    if kind == "count":
        return unsigned(one)
    if kind == "signed":
        return signed(one)
    if kind in ("duration", "seconds"):
        return duration(one)
    if kind == "duration_or_none":
        return "none" if one == "none" else duration(one)
    if kind in ("key", "keys", "key_priority") and one in ("empty", "shutdown"):
        return one
    if kind == "key":
        return key(one)
    if kind == "popped" and one in ("empty", "closed"):
        return one
    if kind == "place":
        if one not in PLACES:
            raise Malformed(
                f"expected active, backoff, unschedulable, in_flight or none, found `{one}`"
            )
        return one
    raise Malformed(f"unexpected result `{' '.join(words)}`")


def matches(got: Value, want: Value) -> bool:
    if isinstance(got, Seconds) and isinstance(want, Duration):
        return abs(got.value * 1e9 - want.nanos) <= 1.0 + want.nanos * 1e-15
    return type(got) is type(want) and got == want


def show(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return f"{value[0]} {value[1]}"
    if isinstance(value, list):
        if value and isinstance(value[0], tuple):
            return " ".join(f"{p}:{n}" for p, n in value)
        return " ".join(str(item) for item in value) if value else "none"
    return str(value)


# --- steps --------------------------------------------------------------------------

# name: (argument readers, result kind); "+" as the only reader: one or more keys.
Reader = Callable[[str], Any]
QUEUE_STEPS: dict[str, tuple[tuple[Reader, ...], str]] = {
    "add": ((key,), "bool"),
    "add_batch": ((), "count"),  # one or more keys, see parse_step
    "add_after": ((key, duration), "bool"),
    "add_rate_limited": ((key,), "duration_or_none"),
    "forget": ((key,), "nothing"),
    "num_requeues": ((key,), "count"),
    "when": ((key,), "duration"),
    "len": ((), "count"),
    "processing_len": ((), "count"),
    "delayed_len": ((), "count"),
    "get": ((), "key"),
    "get_batch": ((batch_size,), "keys"),
    "done": ((key,), "bool"),
    "shutdown": ((), "nothing"),
    "drain_for": ((duration,), "bool"),
    "shutting_down": ((), "bool"),
    "step": ((duration,), "nothing"),
    "set": ((duration,), "nothing"),
}
LIMITER_STEPS = {"when", "forget", "num_requeues", "step", "set"}
PRIORITY_STEPS: dict[str, tuple[tuple[Reader, ...], str]] = {
    "add_with_priority": ((key, priority), "bool"),
    "add_batch_with_priority": ((priority,), "count"),  # then one or more keys
    "add_after_with_priority": ((key, duration, priority), "bool"),
    "add_rate_limited_with_priority": ((key, priority), "duration_or_none"),
    "get_with_priority": ((), "key_priority"),
    "len_by_priority": ((), "levels"),
}
SCHEDULING_STEPS: dict[str, tuple[tuple[Reader, ...], str]] = {
    "add": ((key, priority), "bool"),
    "update": ((key, priority), "place"),
    "delete": ((key,), "bool"),
    "pop": ((), "popped"),
    "done": ((key,), "bool"),
    "requeue_backoff": ((key,), "place"),
    "requeue_unschedulable": ((key,), "place"),
    "move_all": ((event,), "count"),
    "active_len": ((), "count"),
    "backoff_len": ((), "count"),
    "unschedulable_len": ((), "count"),
    "in_flight_len": ((), "count"),
    "place": ((key,), "place"),
    "attempts": ((key,), "count"),
    "close": ((), "nothing"),
    "closed": ((), "bool"),
    "step": ((duration,), "nothing"),
    "set": ((duration,), "nothing"),
}


@dataclass
class Step:
    line: int
    text: str
    op: str
    args: list[Any]
    kind: str
    expected: Value | None


# --- subjects -----------------------------------------------------------------------


@dataclass
class QueueSpec:
    limiter: str | None = None
    aging: Duration | None = None
    name: str | None = None


@dataclass
class LimiterSpec:
    limiter: str


@dataclass
class SchedulingSpec:
    options: dict[str, Any] = field(default_factory=dict)


Subject = Union[QueueSpec, LimiterSpec, SchedulingSpec]


def split_arguments(inside: str) -> list[str]:
    args, depth, start = [], 0, 0
    for at, char in enumerate(inside):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise Malformed(f"unbalanced parentheses in `{inside}`")
        elif char == "," and depth == 0:
            args.append(inside[start:at])
            start = at + 1
    if depth != 0:
        raise Malformed(f"unbalanced parentheses in `{inside}`")
    args.append(inside[start:])
    return args


def build_limiter(spec: str) -> workqueue.RateLimiter:
    """`exp(1ms,1s)`, `maxof(exp(1ms,1s),bucket(10,100))`, `default_item`, ..."""
    if spec == "default_controller":
        return workqueue.default_controller_rate_limiter()
    if spec == "default_item":
        return workqueue.default_item_based_rate_limiter()
    match = re.fullmatch(r"([a-z]+)\((.*)\)", spec)
    if match is None:
        raise Malformed(f"`{spec}` is not a limiter spec")
    name, args = match.group(1), split_arguments(match.group(2))
    if name == "exp" and len(args) == 2:
        return workqueue.ItemExponentialFailureRateLimiter(
            duration(args[0]).seconds(), duration(args[1]).seconds()
        )
    if name == "fastslow" and len(args) == 3:
        return workqueue.ItemFastSlowRateLimiter(
            duration(args[0]).seconds(), duration(args[1]).seconds(), unsigned(args[2])
        )
    if name == "bucket" and len(args) == 2:
        if re.fullmatch(r"[0-9]+(\.[0-9]+)?", args[0]) is None:
            raise Malformed(f"`{args[0]}` is not a decimal number")
        return workqueue.BucketRateLimiter(float(args[0]), unsigned(args[1]))
    if name == "maxof" and args:
        return workqueue.MaxOfRateLimiter(*(build_limiter(arg) for arg in args))
    if name == "maxwait" and len(args) == 2:
        return workqueue.WithMaxWaitRateLimiter(build_limiter(args[0]), duration(args[1]).seconds())
    raise Malformed(f"`{spec}` is not a known limiter spec")


def build_queue(
    spec: QueueSpec, clock: workqueue.ManualClock, name: str | None = None
) -> workqueue.Queue[int]:
    return workqueue.Queue(
        name=name,
        rate_limiter=None if spec.limiter is None else build_limiter(spec.limiter),
        clock=clock,
        priority_aging=None if spec.aging is None else spec.aging.seconds(),
    )


SCHEDULING_OPTIONS: dict[str, Callable[[str], Any]] = {
    "initial_backoff": duration,
    "max_backoff": duration,
    "max_stay": duration,
    "pop_from_backoff": lambda word: {"true": True, "false": False}[word],
}


def build_scheduling_queue(
    spec: SchedulingSpec, clock: workqueue.ManualClock
) -> workqueue.SchedulingQueue[int]:
    options = spec.options
    seconds = {
        argument: options[option].seconds()
        for option, argument in (
            ("initial_backoff", "initial_backoff"),
            ("max_backoff", "max_backoff"),
            ("max_stay", "max_unschedulable_stay"),
        )
        if option in options
    }
    return workqueue.SchedulingQueue(
        **seconds, pop_from_backoff=options.get("pop_from_backoff", True), clock=clock
    )


def parse_subject(words: list[str], folder: str) -> Subject:
    first, rest = words[0], words[1:]
    if folder == SCHEDULING:
        if first != "scheduling_queue":
            raise Malformed(
                "conformance/scheduling/ takes only `scheduling_queue [OPTIONS]` subjects, "
                f"found `{' '.join(words)}`"
            )
        spec = SchedulingSpec()
        for option in rest:
            name, equals, value = option.partition("=")
            if not equals:
                raise Malformed(f"`{option}` is not an option (NAME=VALUE)")
            if name not in SCHEDULING_OPTIONS:
                raise Malformed(
                    f"`{name}` is not one of initial_backoff, max_backoff, max_stay, "
                    "pop_from_backoff"
                )
            if name in spec.options:
                raise Malformed(f"option `{name}` is given twice")
            try:
                spec.options[name] = SCHEDULING_OPTIONS[name](value)
            except KeyError:
                raise Malformed(f"`{option}`: expected `true` or `false`") from None
        try:  # settings the core refuses make the scenario malformed
            build_scheduling_queue(spec, workqueue.ManualClock())
        except ValueError as error:
            raise Malformed(str(error)) from None
        return spec
    if first == "scheduling_queue":
        raise Malformed("`scheduling_queue` scenarios belong in conformance/scheduling/")
    if folder == TOP:
        if any("=" in word for word in rest):
            raise Malformed("the top level takes no options")
        if first == "queue" and len(rest) <= 1:
            subject: Subject = QueueSpec(limiter=rest[0] if rest else None)
        elif first == "limiter" and len(rest) == 1:
            subject = LimiterSpec(rest[0])
        else:
            raise Malformed(f"expected a subject, found `{' '.join(words)}`")
    else:
        if first != "queue":
            raise Malformed(f"conformance/{folder}/ takes only `queue` subjects")
        queue_spec = QueueSpec()
        if rest and "=" not in rest[0]:
            queue_spec.limiter, rest = rest[0], rest[1:]
        for option in rest:
            name, equals, value = option.partition("=")
            if not equals:
                raise Malformed(
                    f"`{option}` is not an option (NAME=VALUE); the LIMITER comes first"
                )
            if name == "aging":  # priority/ and metrics/
                if queue_spec.aging is not None:
                    raise Malformed("option `aging` is given twice")
                queue_spec.aging = duration(value)
            elif (folder, name) == (METRICS, "name"):
                if not value:
                    raise Malformed("`name=` needs a NAME")
                if queue_spec.name is not None:
                    raise Malformed("option `name` is given twice")
                queue_spec.name = value
            else:
                raise Malformed(f"`{name}` is not an option of conformance/{folder}/")
        if folder == METRICS and queue_spec.name is None:
            raise Malformed("a conformance/metrics/ queue needs `name=NAME`")
        subject = queue_spec
    try:  # arguments the core refuses make the scenario malformed
        if isinstance(subject, LimiterSpec):
            build_limiter(subject.limiter)
        elif isinstance(subject, QueueSpec):
            build_queue(subject, workqueue.ManualClock())
    except ValueError as error:
        raise Malformed(str(error)) from None
    return subject


def parse_step(words: list[str], subject: Subject, folder: str, number: int) -> Step:
    if "=>" in words:
        arrow = words.index("=>")
        call, expected_words = words[:arrow], words[arrow + 1 :]
        if not expected_words:
            raise Malformed("nothing after `=>`")
    else:
        call, expected_words = words, None
    op, raw = call[0], call[1:]
    if isinstance(subject, SchedulingSpec):
        if op not in SCHEDULING_STEPS:
            raise Malformed(
                f"`{op}` is not a step of a scheduling queue"
                if op in QUEUE_STEPS
                else f"unknown step `{op}`"
            )
        readers, kind = SCHEDULING_STEPS[op]
    elif op in PRIORITY_STEPS:
        if folder not in (PRIORITY, METRICS):
            raise Malformed(
                f"`{op}` is a step of conformance/priority/ and conformance/metrics/ only"
            )
        readers, kind = PRIORITY_STEPS[op]
    elif op == "metrics":
        if folder != METRICS:
            raise Malformed("`metrics` is a step of conformance/metrics/ only")
        if len(raw) != 1:
            raise Malformed("`metrics`: usage is `metrics NAME`")
        readers, kind = (metric,), METRIC_KINDS[metric(raw[0])]
    elif op in QUEUE_STEPS:
        readers, kind = QUEUE_STEPS[op]
        if isinstance(subject, LimiterSpec) and op not in LIMITER_STEPS:
            raise Malformed(f"`{op}` is not a step of a standalone limiter")
        if isinstance(subject, QueueSpec) and op == "when":
            raise Malformed("`when` is not a step of a queue")
    else:
        raise Malformed(f"unknown step `{op}`")
    if op == "add_batch" and not isinstance(subject, SchedulingSpec):
        if not raw:
            raise Malformed("`add_batch`: usage is `add_batch K1 K2 ...`")
        args: list[Any] = [[key(word) for word in raw]]
    elif op == "add_batch_with_priority":
        if len(raw) < 2:
            raise Malformed(
                "`add_batch_with_priority`: usage is `add_batch_with_priority P K1 K2 ...`"
            )
        args = [[key(word) for word in raw[1:]], priority(raw[0])]
    else:
        if len(raw) != len(readers):
            raise Malformed(f"`{' '.join(call)}`: wrong number of arguments")
        args = [read(word) for read, word in zip(readers, raw)]
    expected = None
    if expected_words is not None:
        if kind == "nothing":
            raise Malformed(f"`{op}` returns nothing: drop the `=>`")
        expected = expected_value(kind, expected_words)
    return Step(number, " ".join(words), op, args, kind, expected)


# --- files --------------------------------------------------------------------------


@dataclass
class Scenario:
    file: str
    line: int
    name: str
    folder: str
    subject: Subject
    steps: list[Step]

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"


def parse_text(text: str, file: str, folder: str) -> list[Scenario]:
    scenarios: list[Scenario] = []
    current: Scenario | None = None
    subject_read = False
    for number, raw in enumerate(text.splitlines(), start=1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        where = f"{file}:{number}"
        try:
            if current is None:
                if len(words) != 2 or words[0] != "scenario":
                    raise Malformed(f"expected `scenario NAME`, found `{' '.join(words)}`")
                current = Scenario(file, number, words[1], folder, QueueSpec(), [])
                subject_read = False
            elif not subject_read:
                current.subject = parse_subject(words, folder)
                subject_read = True
            elif words == ["end"]:
                if not current.steps:
                    raise Malformed(f"scenario `{current.name}` has no steps")
                scenarios.append(current)
                current = None
            elif words[0] == "scenario":
                raise Malformed(f"scenario `{current.name}` (line {current.line}) has no `end`")
            else:
                current.steps.append(parse_step(words, current.subject, folder, number))
        except Malformed as error:
            raise Malformed(f"{where}: {error}") from None
    if current is not None:
        raise Malformed(f"{file}:{current.line}: scenario `{current.name}` has no `end`")
    if not scenarios:
        raise Malformed(f"{file}: no scenarios")
    return scenarios


def folder_dir(folder: str) -> Path:
    return CONFORMANCE_DIR / folder if folder else CONFORMANCE_DIR


def display_name(path: Path, folder: str) -> str:
    return f"{folder}/{path.name}" if folder else path.name


def scenario_files(folder: str) -> list[Path]:
    return sorted(folder_dir(folder).glob("*.scn"))


def all_files() -> list[tuple[str, Path]]:
    return [(folder, path) for folder in FOLDERS for path in scenario_files(folder)]


def parse_file(folder: str, path: Path) -> list[Scenario]:
    return parse_text(path.read_text(), display_name(path, folder), folder)


def load_all() -> list[Scenario]:
    scenarios: list[Scenario] = []
    for folder, path in all_files():
        try:
            scenarios.extend(parse_file(folder, path))
        except Malformed:
            continue  # reported by test_every_file_parses
    return scenarios


# --- replaying ----------------------------------------------------------------------

_unique_names = itertools.count()


def seconds_of(arg: Duration) -> float:
    return arg.seconds()


def perform_on_queue(step: Step, queue: workqueue.Queue[int]) -> Value | None:
    op, args = step.op, step.args
    if op in ("add", "add_with_priority"):
        return queue.add(*args)
    if op in ("add_batch", "add_batch_with_priority"):
        return queue.add_batch(*args)
    if op in ("add_after", "add_after_with_priority"):
        return queue.add_after(args[0], seconds_of(args[1]), *args[2:])
    if op in ("add_rate_limited", "add_rate_limited_with_priority"):
        delay = queue.add_rate_limited(*args)
        return "none" if delay is None else Duration(round(delay * 1e9))
    if op == "forget":
        queue.forget(args[0])
        return None
    if op == "num_requeues":
        return queue.num_requeues(args[0])
    if op == "len":
        return len(queue)
    if op == "processing_len":
        return queue.processing_len()
    if op == "delayed_len":
        return queue.delayed_len()
    if op in ("get", "get_batch", "get_with_priority"):
        try:
            if op == "get":
                return queue.get(block=False)
            if op == "get_batch":
                return queue.get_batch(args[0], timeout=0)
            return queue.get_with_priority(block=False)
        except workqueue.ShutDown:
            return "shutdown"
        except workqueue.Empty:
            return "empty"
    if op == "len_by_priority":
        return queue.len_by_priority()
    if op == "done":
        return queue.done(args[0])
    if op == "shutdown":
        queue.shutdown()
        return None
    if op == "drain_for":
        return queue.shutdown_with_drain(timeout=seconds_of(args[0]))
    if op == "shutting_down":
        return queue.shutting_down
    if op == "metrics":
        m = queue.metrics()
        assert m is not None, "a metrics/ queue is named"
        readings: dict[str, Value] = {
            "depth": m.depth,
            "adds": m.adds,
            "retries": m.retries,
            "queue_duration_count": m.queue_duration.count,
            "queue_duration_sum": Seconds(m.queue_duration.sum),
            "work_duration_count": m.work_duration.count,
            "work_duration_sum": Seconds(m.work_duration.sum),
            "unfinished_work": Seconds(m.unfinished_work_seconds),
            "longest_running": Seconds(m.longest_running_processor_seconds),
            # Every priority is in the snapshot; the family's labels are
            # bounded as WorkqueueCollector bounds them.
            "depth_by_priority": metrics._priority_labels(m.depth_by_priority),
        }
        return readings[args[0]]
    raise AssertionError(f"unhandled queue step {op}")


def place_word(place: workqueue.Place | None) -> str:
    return "none" if place is None else place.value


def perform_on_scheduling_queue(step: Step, queue: workqueue.SchedulingQueue[int]) -> Value | None:
    op, args = step.op, step.args
    if op == "add":
        return queue.add(args[0], args[1])
    if op == "update":
        return place_word(queue.update(args[0], args[1]))
    if op == "delete":
        return queue.delete(args[0])
    if op == "pop":
        try:
            return queue.try_pop()
        except workqueue.Closed:
            return "closed"
        except workqueue.Empty:
            return "empty"
    if op == "done":
        return queue.done(args[0])
    if op == "requeue_backoff":
        return place_word(queue.requeue_backoff(args[0]))
    if op == "requeue_unschedulable":
        return place_word(queue.requeue_unschedulable(args[0]))
    if op == "move_all":
        return queue.move_all_to_active_or_backoff(args[0])
    if op == "active_len":
        return queue.active_len()
    if op == "backoff_len":
        return queue.backoff_len()
    if op == "unschedulable_len":
        return queue.unschedulable_len()
    if op == "in_flight_len":
        return queue.in_flight_len()
    if op == "place":
        return place_word(queue.place(args[0]))
    if op == "attempts":
        return queue.attempts(args[0])
    if op == "close":
        queue.close()
        return None
    if op == "closed":
        return queue.closed
    raise AssertionError(f"unhandled scheduling step {op}")


def perform_on_limiter(
    step: Step, limiter: workqueue.RateLimiter, clock: workqueue.ManualClock
) -> Value | None:
    op, args = step.op, step.args
    if op == "when":
        return Duration(round(limiter.when(args[0], clock=clock) * 1e9))
    if op == "forget":
        limiter.forget(args[0])
        return None
    return limiter.num_requeues(args[0])


def run_scenario(scenario: Scenario) -> str | None:
    """Replays `scenario`; returns the first failure, or `None`."""
    clock = workqueue.ManualClock()
    subject = scenario.subject
    perform: Callable[[Step], Value | None]
    if isinstance(subject, SchedulingSpec):
        scheduling = build_scheduling_queue(subject, clock)
        perform = lambda step: perform_on_scheduling_queue(step, scheduling)  # noqa: E731
    elif isinstance(subject, LimiterSpec):
        limiter = build_limiter(subject.limiter)
        perform = lambda step: perform_on_limiter(step, limiter, clock)  # noqa: E731
    else:
        name = None
        if subject.name is not None:
            name = f"{subject.name}-{os.getpid()}-{next(_unique_names)}"
        queue = build_queue(subject, clock, name)
        perform = lambda step: perform_on_queue(step, queue)  # noqa: E731
    for step in scenario.steps:
        if step.op == "step":
            clock.step(step.args[0].seconds())
            got: Value | None = None
        elif step.op == "set":
            clock.set(step.args[0].seconds())
            got = None
        else:
            got = perform(step)
        if step.expected is None:
            continue
        if got is None or not matches(got, step.expected):
            return (
                f"{scenario.file}:{step.line}: `{step.text}` gave "
                f"`{'nothing' if got is None else show(got)}`, expected "
                f"`{show(step.expected)}` (scenario `{scenario.name}`, line {scenario.line})"
            )
    return None


SCENARIOS = load_all()


def test_scenarios_exist() -> None:
    assert scenario_files(TOP), f"no *.scn files in {CONFORMANCE_DIR}"
    assert scenario_files(SCHEDULING), f"no *.scn files in {CONFORMANCE_DIR / SCHEDULING}"
    assert SCENARIOS, "no scenario was read"


@pytest.mark.parametrize("folder", [PRIORITY, METRICS])
def test_feature_folder_has_scenarios(folder: str) -> None:
    if not scenario_files(folder):
        pytest.skip(f"conformance/{folder}/ has no *.scn files yet")


@pytest.mark.parametrize(
    ("folder", "path"),
    all_files(),
    ids=[display_name(path, folder) for folder, path in all_files()],
)
def test_every_file_parses(folder: str, path: Path) -> None:
    parse_file(folder, path)


def test_scenario_names_are_unique_across_every_folder() -> None:
    seen: dict[str, str] = {}
    for folder, path in all_files():
        for scenario in parse_file(folder, path):
            assert scenario.name not in seen, (
                f"{scenario.file}:{scenario.line}: scenario `{scenario.name}` is already "
                f"defined in {seen[scenario.name]}"
            )
            seen[scenario.name] = scenario.file


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.id)
def test_scenario(scenario: Scenario) -> None:
    failure = run_scenario(scenario)
    if failure is not None:
        pytest.fail(failure, pytrace=False)


# --- the runner itself: it reads every form and notices wrong results ------------------

PRIORITY_KINDS = """\
scenario prio_kinds
queue exp(1ms,1s) aging=10s
add_with_priority 1 5 => true
add 2 => true
add_with_priority 3 -2147483648 => true
add_after_with_priority 4 1s 7 => true
add_rate_limited_with_priority 5 9 => 1ms
len_by_priority => 5:1 0:1 -2147483648:1
step 1s
len_by_priority => 9:1 7:1 5:1 0:1 -2147483648:1
get_with_priority => 5 9
get_with_priority => 4 7
get => 1
get_batch 5 => 2 3
len_by_priority => none
get_with_priority => empty
shutdown
get_with_priority => shutdown
end
"""

METRICS_KINDS = """\
scenario metrics_kinds
queue name=kinds
add 1 => true
step 50us
get => 1
add 1 => true
metrics depth => 1
metrics adds => 2
step 25us
done 1 => true
metrics work_duration_count => 1
metrics work_duration_sum => 25us
metrics queue_duration_sum => 50us
get => 1
step 1ms
metrics unfinished_work => 1ms
metrics longest_running => 1ms
metrics queue_duration_count => 2
add_after 2 1s => true
metrics retries => 1
end
"""

METRICS_PRIORITY_KINDS = """\
scenario metrics_priority_kinds
queue exp(1ms,1s) aging=10s name=kinds
metrics depth_by_priority => none
add_with_priority 1 5 => true
add_batch_with_priority -3 2 3 => 2
add_after_with_priority 4 1s 7 => true
add_rate_limited_with_priority 5 9 => 1ms
metrics depth_by_priority => 5:1 -3:2
len_by_priority => 5:1 -3:2
get_with_priority => 1 5
add_with_priority 1 8 => true
metrics depth_by_priority => -3:2
metrics depth => 3
step 1s
done 1 => true
metrics depth_by_priority => 9:1 8:1 7:1 -3:2
get_batch 10 => 5 1 4 2 3
metrics depth_by_priority => none
end
"""

SCHEDULING_KINDS = """\
scenario sched_kinds
scheduling_queue initial_backoff=2s max_backoff=4s max_stay=60s pop_from_backoff=false
add 1 -3 => true
add 2 7 => true
pop => 2 7
pop => 1 -3
pop => empty
requeue_backoff 2 => backoff
requeue_unschedulable 1 => unschedulable
place 1 => unschedulable
place 9 => none
attempts 2 => 1
move_all NodeAdd => 1
backoff_len => 2
step 2s
pop => 2 7
in_flight_len => 1
update 2 1 => in_flight
close
closed => true
pop => closed
end
"""


@pytest.mark.parametrize(
    ("folder", "text"),
    [
        (PRIORITY, PRIORITY_KINDS),
        (METRICS, METRICS_KINDS),
        (METRICS, METRICS_PRIORITY_KINDS),
        (SCHEDULING, SCHEDULING_KINDS),
    ],
    ids=["priority", "metrics", "metrics-priority", "scheduling"],
)
def test_the_runner_reads_every_form_and_notices_wrong_results(folder: str, text: str) -> None:
    (scenario,) = parse_text(text, "inline.scn", folder)
    assert run_scenario(scenario) is None
    # Every checked step, made wrong, is reported with its line.
    for index, line in enumerate(text.splitlines()):
        if "=>" not in line:
            continue
        call, _ = line.split("=>")
        for wrong in ("=> 0:1", "=> 3", "=> 12ms", "=> -1", "=> backoff", "=> 9 9", "=> false"):
            lines = text.splitlines()
            lines[index] = f"{call}{wrong}"
            try:
                (mutant,) = parse_text("\n".join(lines), "inline.scn", folder)
            except Malformed:
                continue  # not a result of this step's kind
            if [step.expected for step in mutant.steps] == [
                step.expected for step in scenario.steps
            ]:
                continue  # the same result as written
            failure = run_scenario(mutant)
            assert failure is not None and f"inline.scn:{index + 1}:" in failure, (
                f"`{lines[index]}` was not noticed"
            )


def ones(high: int, low: int) -> str:
    """`P:1` for each priority from `high` down to `low`."""
    return " ".join(f"{p}:1" for p in range(high, low - 1, -1))


FIFTEEN = ones(15, 1)


@pytest.mark.parametrize(
    ("folder", "subject", "step", "message"),
    [
        (TOP, "queue", "add_with_priority 1 2", "conformance/priority/ and conformance/metrics/"),
        (TOP, "queue", "len_by_priority", "conformance/priority/ and conformance/metrics/ only"),
        (TOP, "queue", "metrics depth_by_priority", "conformance/metrics/ only"),
        (TOP, "queue", "metrics depth", "conformance/metrics/ only"),
        (TOP, "queue aging=1s", "len", "top level takes no options"),
        (TOP, "scheduling_queue", "pop", "belong in conformance/scheduling/"),
        (PRIORITY, "queue name=x", "len", "not an option of conformance/priority/"),
        (PRIORITY, "queue aging=0s", "len", "priority_aging"),
        (PRIORITY, "queue aging=1s aging=2s", "len", "given twice"),
        (PRIORITY, "queue aging=1s exp(1ms,1s)", "len", "the LIMITER comes first"),
        (PRIORITY, "limiter default_item", "when 1", "takes only `queue` subjects"),
        (PRIORITY, "queue", "add_with_priority 1 2147483648", "does not fit in 32 bits"),
        (PRIORITY, "queue", "add_with_priority 1 +2", "bad priority"),
        (PRIORITY, "queue", "add_with_priority 1", "wrong number of arguments"),
        (PRIORITY, "queue", "add_batch_with_priority 1", "usage is `add_batch_with_priority P K1"),
        (PRIORITY, "queue", "add_batch_with_priority x 1", "bad priority"),
        (PRIORITY, "queue", "len_by_priority => 0:1 5:1", "highest priority first"),
        (PRIORITY, "queue", "len_by_priority => 5:0", "empty level"),
        (PRIORITY, "queue", "len_by_priority => 5", "not a level"),
        (PRIORITY, "queue", "get_with_priority => 1", "unexpected result"),
        (PRIORITY, "queue", "metrics depth", "conformance/metrics/ only"),
        (PRIORITY, "queue", "metrics depth_by_priority => none", "conformance/metrics/ only"),
        (METRICS, "queue", "len", "needs `name=NAME`"),
        (METRICS, "queue name=", "len", "needs a NAME"),
        (METRICS, "queue name=a speed=1", "len", "not an option of conformance/metrics/"),
        (METRICS, "queue aging=1s", "len", "needs `name=NAME`"),
        (METRICS, "queue name=a aging=0s", "len", "priority_aging"),
        (METRICS, "queue aging=1s name=a aging=2s", "len", "given twice"),
        (METRICS, "queue name=a", "metrics speed", "not a metric"),
        (METRICS, "queue name=a", "metrics", "usage is `metrics NAME`"),
        (METRICS, "queue name=a", "metrics depth => x", "not an integer"),
        (METRICS, "queue name=a", "add_with_priority 1", "wrong number of arguments"),
        (METRICS, "queue name=a", "metrics depth_by_priority 1", "usage is `metrics NAME`"),
        (METRICS, "queue name=a", "metrics depth_by_priority => 0:1 5:1", "highest priority first"),
        (METRICS, "queue name=a", "metrics depth_by_priority => 5:0", "empty level"),
        (METRICS, "queue name=a", "metrics depth_by_priority => none 5:1", "not a level"),
        (METRICS, "queue name=a", "metrics depth_by_priority => other:1", "follows exactly 15"),
        (
            METRICS,
            "queue name=a",
            f"metrics depth_by_priority => {FIFTEEN} other:0",
            "`other` is listed only when",
        ),
        (
            METRICS,
            "queue name=a",
            f"metrics depth_by_priority => {FIFTEEN} other:x",
            "not a non-negative integer",
        ),
        (
            METRICS,
            "queue name=a",
            f"metrics depth_by_priority => other:1 {FIFTEEN}",
            "`other:N` comes last",
        ),
        (
            METRICS,
            "queue name=a",
            f"metrics depth_by_priority => {FIFTEEN} other:1 other:1",
            "`other:N` comes last",
        ),
        (
            METRICS,
            "queue name=a",
            f"metrics depth_by_priority => 16:1 {FIFTEEN}",
            "16 levels: at most 15 priorities are listed",
        ),
        (SCHEDULING, "queue", "len", "takes only `scheduling_queue"),
        (SCHEDULING, "scheduling_queue initial_backoff=0ms", "pop", "initial_backoff"),
        (SCHEDULING, "scheduling_queue max_backoff=1ms", "pop", "max_backoff"),
        (SCHEDULING, "scheduling_queue max_stay=0s", "pop", "max_unschedulable_stay"),
        (SCHEDULING, "scheduling_queue max_stay=1s max_stay=2s", "pop", "given twice"),
        (SCHEDULING, "scheduling_queue speed=1s", "pop", "is not one of"),
        (SCHEDULING, "scheduling_queue pop_from_backoff=yes", "pop", "`true` or `false`"),
        (SCHEDULING, "scheduling_queue", "add 1", "wrong number of arguments"),
        (SCHEDULING, "scheduling_queue", "get => empty", "not a step of a scheduling queue"),
        (SCHEDULING, "scheduling_queue", "pop => 1", "unexpected result"),
        (SCHEDULING, "scheduling_queue", "place 1 => parked", "expected active, backoff"),
        (SCHEDULING, "scheduling_queue", "close => true", "returns nothing"),
    ],
)
def test_malformed_scenarios_are_rejected(
    folder: str, subject: str, step: str, message: str
) -> None:
    text = f"scenario a\n{subject}\n{step}\nend\n"
    with pytest.raises(Malformed, match=re.escape(message)):
        parse_text(text, "f.scn", folder)


def test_seconds_compare_within_a_nanosecond() -> None:
    assert matches(Seconds(2.5e-5), Duration(25_000))
    assert matches(Seconds(1e-3 + 1e-10), Duration(1_000_000))
    assert not matches(Seconds(1e-3 + 2e-9), Duration(1_000_000))
    assert not matches(Seconds(0.0), 0)
    assert math.isclose(Duration(1500).seconds(), 1.5e-6)


def test_depth_by_priority_lists_15_priorities_and_sums_the_rest() -> None:
    adds = "".join(f"add_with_priority {p} {p} => true\n" for p in range(1, 18))

    def failure(expected: str) -> str | None:
        text = f"scenario a\nqueue name=b\n{adds}metrics depth_by_priority => {expected}\nend\n"
        (scenario,) = parse_text(text, "m.scn", METRICS)
        return run_scenario(scenario)

    assert LISTED_PRIORITIES == 15
    assert failure(f"{ones(17, 3)} other:2") is None
    for wrong in (f"{ones(17, 3)} other:1", f"{ones(17, 3)} other:3", f"{ones(16, 2)} other:3"):
        found = failure(wrong)
        assert found is not None and f"gave `{ones(17, 3)} other:2`" in found, wrong

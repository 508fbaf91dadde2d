"""Replays every language-neutral scenario in ``conformance/*.scn``.

The format is described in ``conformance/README.md``; the Rust, C and Go
suites replay the same files. Each scenario is one test case, named
``file.scn::scenario``. A malformed file fails ``test_every_file_parses``
with its location.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import pytest

import workqueue

CONFORMANCE_DIR = Path(
    os.environ.get(
        "WORKQUEUE_CONFORMANCE_DIR",
        Path(__file__).resolve().parents[2] / "conformance",
    )
)

NANOS_PER_UNIT = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}


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


# A result as written after `=>`: bool, int (count or key), Duration,
# list of keys, or one of the words "none", "empty", "shutdown".
Value = Union[bool, int, Duration, list[int], str]


@dataclass
class Step:
    line: int
    text: str
    op: str
    args: list[str]
    expected: list[str] | None


@dataclass
class Scenario:
    file: str
    line: int
    name: str
    subject: list[str]
    steps: list[Step]

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"


def unsigned(word: str) -> int:
    if not word.isascii() or not word.isdigit():
        raise Malformed(f"`{word}` is not a non-negative integer")
    value = int(word)
    if value >= 2**64:
        raise Malformed(f"`{word}` does not fit in 64 bits")
    return value


def duration(word: str) -> Duration:
    match = re.fullmatch(r"([0-9]+)(ns|us|ms|s)", word)
    if match is None:
        raise Malformed(f"`{word}` is not a duration (an integer and ns, us, ms or s)")
    return Duration(int(match.group(1)) * NANOS_PER_UNIT[match.group(2)])


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


QUEUE_OPS = {
    "add": 1,
    "add_batch": None,
    "add_after": 2,
    "add_rate_limited": 1,
    "forget": 1,
    "num_requeues": 1,
    "len": 0,
    "processing_len": 0,
    "delayed_len": 0,
    "get": 0,
    "get_batch": 1,
    "done": 1,
    "shutdown": 0,
    "drain_for": 1,
    "shutting_down": 0,
    "step": 1,
    "set": 1,
}
LIMITER_OPS = {"when": 1, "forget": 1, "num_requeues": 1, "step": 1, "set": 1}
RETURNS_NOTHING = {"forget", "shutdown", "step", "set"}


def parse_file(path: Path) -> list[Scenario]:
    scenarios: list[Scenario] = []
    current: Scenario | None = None
    subject_read = False
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        where = f"{path.name}:{number}"
        if current is None:
            if len(words) != 2 or words[0] != "scenario":
                raise Malformed(f"{where}: expected `scenario NAME`, found `{' '.join(words)}`")
            current = Scenario(path.name, number, words[1], [], [])
            subject_read = False
        elif not subject_read:
            if words[0] not in ("queue", "limiter") or len(words) > 2:
                raise Malformed(f"{where}: expected a subject, found `{' '.join(words)}`")
            if words[0] == "limiter" and len(words) != 2:
                raise Malformed(f"{where}: `limiter` needs a spec")
            try:
                if len(words) == 2:
                    build_limiter(words[1])
            except (ValueError, Malformed) as error:
                raise Malformed(f"{where}: {error}") from None
            current.subject = words
            subject_read = True
        elif words == ["end"]:
            if not current.steps:
                raise Malformed(f"{where}: scenario `{current.name}` has no steps")
            scenarios.append(current)
            current = None
        elif words[0] == "scenario":
            raise Malformed(f"{where}: scenario `{current.name}` has no `end`")
        else:
            current.steps.append(parse_step(words, current.subject[0], number, where))
    if current is not None:
        raise Malformed(f"{path.name}:{current.line}: scenario `{current.name}` has no `end`")
    if not scenarios:
        raise Malformed(f"{path.name}: no scenarios")
    return scenarios


def parse_step(words: list[str], subject: str, number: int, where: str) -> Step:
    if "=>" in words:
        arrow = words.index("=>")
        call, expected = words[:arrow], words[arrow + 1 :]
        if not expected:
            raise Malformed(f"{where}: nothing after `=>`")
    else:
        call, expected = words, None
    op, args = call[0], call[1:]
    ops = QUEUE_OPS if subject == "queue" else LIMITER_OPS
    if op not in ops:
        raise Malformed(f"{where}: `{op}` is not a step of a {subject}")
    arity = ops[op]
    if (arity is None and not args) or (arity is not None and len(args) != arity):
        raise Malformed(f"{where}: wrong number of arguments in `{' '.join(call)}`")
    if expected is not None and op in RETURNS_NOTHING:
        raise Malformed(f"{where}: `{op}` returns nothing: drop the `=>`")
    return Step(number, " ".join(words), op, args, expected)


def scenario_files() -> list[Path]:
    return sorted(CONFORMANCE_DIR.glob("*.scn"))


def load_all() -> list[Scenario]:
    scenarios: list[Scenario] = []
    for path in scenario_files():
        try:
            scenarios.extend(parse_file(path))
        except Malformed:
            continue  # reported by test_every_file_parses
    return scenarios


def expected_value(op: str, words: list[str]) -> Value:
    if op in ("add", "add_after", "done", "drain_for", "shutting_down"):
        if words not in (["true"], ["false"]):
            raise Malformed("expected `true` or `false` after `=>`")
        return words == ["true"]
    if op in ("add_batch", "num_requeues", "len", "processing_len", "delayed_len"):
        return unsigned(words[0])
    if op == "when":
        return duration(words[0])
    if op == "add_rate_limited":
        return "none" if words == ["none"] else duration(words[0])
    if words in (["empty"], ["shutdown"]):
        return words[0]
    if op == "get":
        return unsigned(words[0])
    return [unsigned(word) for word in words]


def show(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(str(key) for key in value)
    return str(value)


def nanos(seconds: float) -> Duration:
    return Duration(round(seconds * 1e9))


def perform(
    step: Step,
    queue: workqueue.Queue[int] | None,
    limiter: workqueue.RateLimiter | None,
    clock: workqueue.ManualClock,
) -> Value | None:
    op, args = step.op, step.args
    if op == "step":
        clock.step(duration(args[0]).seconds())
        return None
    if op == "set":
        clock.set(duration(args[0]).seconds())
        return None
    if limiter is not None:
        if op == "when":
            return nanos(limiter.when(unsigned(args[0]), clock=clock))
        if op == "forget":
            limiter.forget(unsigned(args[0]))
            return None
        return limiter.num_requeues(unsigned(args[0]))
    assert queue is not None
    if op == "add":
        return queue.add(unsigned(args[0]))
    if op == "add_batch":
        return queue.add_batch([unsigned(arg) for arg in args])
    if op == "add_after":
        return queue.add_after(unsigned(args[0]), duration(args[1]).seconds())
    if op == "add_rate_limited":
        delay = queue.add_rate_limited(unsigned(args[0]))
        return "none" if delay is None else nanos(delay)
    if op == "forget":
        queue.forget(unsigned(args[0]))
        return None
    if op == "num_requeues":
        return queue.num_requeues(unsigned(args[0]))
    if op == "len":
        return len(queue)
    if op == "processing_len":
        return queue.processing_len()
    if op == "delayed_len":
        return queue.delayed_len()
    if op == "get":
        try:
            return queue.get(block=False)
        except workqueue.ShutDown:
            return "shutdown"
        except workqueue.Empty:
            return "empty"
    if op == "get_batch":
        try:
            return queue.get_batch(unsigned(args[0]), timeout=0)
        except workqueue.ShutDown:
            return "shutdown"
        except workqueue.Empty:
            return "empty"
    if op == "done":
        return queue.done(unsigned(args[0]))
    if op == "shutdown":
        queue.shutdown()
        return None
    if op == "drain_for":
        return queue.shutdown_with_drain(timeout=duration(args[0]).seconds())
    if op == "shutting_down":
        return queue.shutting_down
    raise AssertionError(f"unhandled step {op}")


def replay(scenario: Scenario) -> None:
    clock = workqueue.ManualClock()
    queue: workqueue.Queue[int] | None = None
    limiter: workqueue.RateLimiter | None = None
    if scenario.subject[0] == "queue":
        spec = scenario.subject[1] if len(scenario.subject) == 2 else None
        queue = workqueue.Queue(
            name=scenario.name,
            rate_limiter=None if spec is None else build_limiter(spec),
            clock=clock,
        )
    else:
        limiter = build_limiter(scenario.subject[1])
    for step in scenario.steps:
        got = perform(step, queue, limiter, clock)
        if step.expected is None:
            continue
        want = expected_value(step.op, step.expected)
        if got is None or got != want:
            pytest.fail(
                f"{scenario.file}:{step.line}: `{step.text}` gave "
                f"`{'nothing' if got is None else show(got)}`, "
                f"expected `{show(want)}` (scenario `{scenario.name}`, line {scenario.line})",
                pytrace=False,
            )


SCENARIOS = load_all()


def test_scenarios_exist() -> None:
    assert scenario_files(), f"no *.scn files in {CONFORMANCE_DIR}"
    assert SCENARIOS, "no scenario was read"


@pytest.mark.parametrize("path", scenario_files(), ids=lambda path: path.name)
def test_every_file_parses(path: Path) -> None:
    scenarios = parse_file(path)
    names = [scenario.name for scenario in scenarios]
    assert len(names) == len(set(names)), f"{path.name}: duplicate scenario names"
    for scenario in scenarios:
        for step in scenario.steps:
            if step.expected is not None:
                try:
                    expected_value(step.op, step.expected)
                except Malformed as error:
                    raise Malformed(f"{path.name}:{step.line}: {error}") from None


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.id)
def test_scenario(scenario: Scenario) -> None:
    replay(scenario)

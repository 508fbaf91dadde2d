//! Replays every language-neutral scenario in `conformance/*.scn` against
//! the core. The format is described in `conformance/README.md`; the other
//! bindings replay the same files. The scheduling queue's scenarios live
//! in `conformance/scheduling/*.scn`, which only that subject may use (and
//! which the top level may not), so a binding replays them once it offers
//! a scheduling queue.
//!
//! The whole folder is parsed before anything runs, so a malformed file
//! fails the test with its location even when every other scenario passes.
//! A failing scenario stops at its first wrong step; the other scenarios
//! still run, and every failure is reported with `file:line`.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;
use workqueue_core::rate_limit::{
    default_controller_rate_limiter, default_item_based_rate_limiter, ExponentialBackoff, FastSlow,
    MaxOf, MaxWait, RateLimiter, TokenBucket,
};
use workqueue_core::scheduling::{Place, PopError};
use workqueue_core::{GetError, ManualClock, Queue, SchedulingQueue, Timestamp};

// ---------------------------------------------------------------------------
// What a scenario file says
// ---------------------------------------------------------------------------

struct Scenario {
    file: String,
    line: usize,
    name: String,
    subject: SubjectSpec,
    steps: Vec<Step>,
}

enum SubjectSpec {
    /// A queue; `None` means the default controller rate limiter.
    Queue(Option<LimiterSpec>),
    Limiter(LimiterSpec),
    SchedulingQueue(SchedulingSpec),
}

/// The options of a `scheduling_queue` subject; `None` keeps the default.
#[derive(Clone, Debug, Default)]
struct SchedulingSpec {
    initial_backoff: Option<Duration>,
    max_backoff: Option<Duration>,
    max_stay: Option<Duration>,
    pop_from_backoff: Option<bool>,
}

/// Which subjects a folder of scenarios takes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Folder {
    /// `conformance/`: `queue` and `limiter`, which every binding replays.
    TopLevel,
    /// `conformance/scheduling/`: `scheduling_queue` only.
    Scheduling,
}

#[derive(Clone, Debug)]
enum LimiterSpec {
    Exponential {
        base: Duration,
        max: Duration,
    },
    FastSlow {
        fast: Duration,
        slow: Duration,
        fast_attempts: u32,
    },
    Bucket {
        rate: f64,
        burst: u32,
    },
    MaxOf(Vec<LimiterSpec>),
    MaxWait(Box<LimiterSpec>, Duration),
    DefaultController,
    DefaultItem,
}

struct Step {
    line: usize,
    /// The step as written, without its comment.
    text: String,
    op: Op,
    expected: Option<Value>,
}

#[derive(Debug)]
enum Op {
    Add(u64),
    AddBatch(Vec<u64>),
    AddAfter(u64, Duration),
    AddRateLimited(u64),
    Forget(u64),
    NumRequeues(u64),
    When(u64),
    Len,
    ProcessingLen,
    DelayedLen,
    Get,
    GetBatch(usize),
    Done(u64),
    Shutdown,
    DrainFor(Duration),
    ShuttingDown,
    Step(Duration),
    Set(Duration),
    /// A step of a `scheduling_queue` subject.
    Scheduling(SchedulingOp),
}

#[derive(Debug)]
enum SchedulingOp {
    Add(u64, i32),
    Update(u64, i32),
    Delete(u64),
    Pop,
    Done(u64),
    RequeueBackoff(u64),
    RequeueUnschedulable(u64),
    MoveAll(String),
    ActiveLen,
    BackoffLen,
    UnschedulableLen,
    InFlightLen,
    Place(u64),
    Attempts(u64),
    Close,
    Closed,
}

/// A result, as written after `=>` and as produced by a step.
#[derive(Debug, PartialEq)]
enum Value {
    Bool(bool),
    Count(u64),
    Duration(Duration),
    /// `add_rate_limited` on a queue that is shutting down: `none`.
    NoDelay,
    Key(u64),
    Keys(Vec<u64>),
    Empty,
    ShutDown,
    /// A scheduling queue's pop: the key and its priority.
    Popped(u64, i32),
    /// Where an item is; `None` is written `none`.
    Place(Option<Place>),
    /// A pop of a closed scheduling queue.
    Closed,
}

/// The shape of a step's result, which decides how `=> ...` is read.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Nothing,
    Bool,
    Count,
    Duration,
    DurationOrNone,
    Key,
    Keys,
    Popped,
    Place,
}

/// Every step, with how it is written, for error messages.
const USAGE: &[(&str, &str)] = &[
    ("add", "add K"),
    ("add_batch", "add_batch K1 K2 ..."),
    ("add_after", "add_after K DUR"),
    ("add_rate_limited", "add_rate_limited K"),
    ("forget", "forget K"),
    ("num_requeues", "num_requeues K"),
    ("when", "when K"),
    ("len", "len"),
    ("processing_len", "processing_len"),
    ("delayed_len", "delayed_len"),
    ("get", "get"),
    ("get_batch", "get_batch MAX"),
    ("done", "done K"),
    ("shutdown", "shutdown"),
    ("drain_for", "drain_for DUR"),
    ("shutting_down", "shutting_down"),
    ("step", "step DUR"),
    ("set", "set DUR"),
];

/// Every step of a `scheduling_queue` subject, with how it is written.
const SCHEDULING_USAGE: &[(&str, &str)] = &[
    ("add", "add K PRIO"),
    ("update", "update K PRIO"),
    ("delete", "delete K"),
    ("pop", "pop"),
    ("done", "done K"),
    ("requeue_backoff", "requeue_backoff K"),
    ("requeue_unschedulable", "requeue_unschedulable K"),
    ("move_all", "move_all EVENT"),
    ("active_len", "active_len"),
    ("backoff_len", "backoff_len"),
    ("unschedulable_len", "unschedulable_len"),
    ("in_flight_len", "in_flight_len"),
    ("place", "place K"),
    ("attempts", "attempts K"),
    ("close", "close"),
    ("closed", "closed"),
    ("step", "step DUR"),
    ("set", "set DUR"),
];

impl Op {
    fn result_kind(&self) -> Kind {
        match self {
            Op::Add(_) | Op::AddAfter(..) | Op::Done(_) | Op::DrainFor(_) | Op::ShuttingDown => {
                Kind::Bool
            }
            Op::AddBatch(_) | Op::NumRequeues(_) | Op::Len | Op::ProcessingLen | Op::DelayedLen => {
                Kind::Count
            }
            Op::When(_) => Kind::Duration,
            Op::AddRateLimited(_) => Kind::DurationOrNone,
            Op::Get => Kind::Key,
            Op::GetBatch(_) => Kind::Keys,
            Op::Forget(_) | Op::Shutdown | Op::Step(_) | Op::Set(_) => Kind::Nothing,
            Op::Scheduling(op) => op.result_kind(),
        }
    }

    fn allowed_on(&self, subject: &SubjectSpec) -> bool {
        let shared = matches!(
            self,
            Op::Forget(_) | Op::NumRequeues(_) | Op::Step(_) | Op::Set(_)
        );
        let scheduling = matches!(self, Op::Scheduling(_));
        match subject {
            SubjectSpec::Queue(_) => !matches!(self, Op::When(_)) && !scheduling,
            SubjectSpec::Limiter(_) => shared || matches!(self, Op::When(_)),
            SubjectSpec::SchedulingQueue(_) => {
                scheduling || matches!(self, Op::Step(_) | Op::Set(_))
            }
        }
    }
}

impl SchedulingOp {
    fn result_kind(&self) -> Kind {
        use SchedulingOp as S;
        match self {
            S::Add(..) | S::Delete(_) | S::Done(_) | S::Closed => Kind::Bool,
            S::Update(..) | S::RequeueBackoff(_) | S::RequeueUnschedulable(_) | S::Place(_) => {
                Kind::Place
            }
            S::MoveAll(_)
            | S::ActiveLen
            | S::BackoffLen
            | S::UnschedulableLen
            | S::InFlightLen
            | S::Attempts(_) => Kind::Count,
            S::Pop => Kind::Popped,
            S::Close => Kind::Nothing,
        }
    }
}

// ---------------------------------------------------------------------------
// Reading values
// ---------------------------------------------------------------------------

/// A plain non-negative decimal integer (no sign, no spaces).
fn unsigned(word: &str) -> Result<u64, String> {
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{word}` is not a non-negative integer"));
    }
    word.parse()
        .map_err(|_| format!("`{word}` does not fit in 64 bits"))
}

fn key(word: &str) -> Result<u64, String> {
    unsigned(word).map_err(|e| format!("bad key: {e}"))
}

/// The MAX of `get_batch`: at least 1, since no key at all has no spelling.
fn batch_size(word: &str) -> Result<usize, String> {
    match usize::try_from(unsigned(word)?) {
        Ok(0) => Err("the MAX of `get_batch` must be at least 1".to_owned()),
        Ok(max) => Ok(max),
        Err(_) => Err(format!("`{word}` is too large")),
    }
}

/// A priority: a decimal `i32`, `-` for a negative one.
fn priority(word: &str) -> Result<i32, String> {
    let digits = word.strip_prefix('-').unwrap_or(word);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad priority: `{word}` is not an integer"));
    }
    word.parse()
        .map_err(|_| format!("bad priority: `{word}` does not fit in 32 bits"))
}

fn place_name(place: Option<Place>) -> &'static str {
    match place {
        Some(Place::Active) => "active",
        Some(Place::Backoff) => "backoff",
        Some(Place::Unschedulable) => "unschedulable",
        Some(Place::InFlight) => "in_flight",
        None => "none",
    }
}

fn small_count(word: &str) -> Result<u32, String> {
    u32::try_from(unsigned(word)?).map_err(|_| format!("`{word}` does not fit in 32 bits"))
}

/// `0ms`, `1500us`, `1000s`: an integer and one of `ns`, `us`, `ms`, `s`.
fn duration(word: &str) -> Result<Duration, String> {
    let split = word
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(word.len());
    let (number, unit) = word.split_at(split);
    let nanos_per_unit: u64 = match unit {
        "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        _ => {
            return Err(format!(
                "`{word}` is not a duration (an integer and ns, us, ms or s)"
            ))
        }
    };
    let nanos = unsigned(number)?
        .checked_mul(nanos_per_unit)
        .ok_or_else(|| format!("`{word}` does not fit in 64 bits of nanoseconds"))?;
    Ok(Duration::from_nanos(nanos))
}

/// A rate such as `10` or `0.5`: digits, optionally a dot and more digits.
fn decimal(word: &str) -> Result<f64, String> {
    let (whole, fraction) = word.split_once('.').unwrap_or((word, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return Err(format!("`{word}` is not a decimal number"));
    }
    word.parse()
        .map_err(|_| format!("`{word}` is not a decimal number"))
}

/// Shows a duration in the largest unit that states it exactly.
fn show_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    let units = [(1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us")];
    for (per_unit, unit) in units {
        if nanos >= per_unit && nanos % per_unit == 0 {
            return format!("{}{unit}", nanos / per_unit);
        }
    }
    format!("{nanos}ns")
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Count(n) | Value::Key(n) => write!(f, "{n}"),
            Value::Duration(d) => f.write_str(&show_duration(*d)),
            Value::NoDelay => f.write_str("none"),
            Value::Keys(keys) => {
                let words: Vec<String> = keys.iter().map(u64::to_string).collect();
                f.write_str(&words.join(" "))
            }
            Value::Empty => f.write_str("empty"),
            Value::ShutDown => f.write_str("shutdown"),
            Value::Popped(key, priority) => write!(f, "{key} {priority}"),
            Value::Place(place) => f.write_str(place_name(*place)),
            Value::Closed => f.write_str("closed"),
        }
    }
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// The words of a line, without its comment.
fn words(line: &str) -> Vec<&str> {
    let code = line.split('#').next().unwrap_or("");
    code.split([' ', '\t']).filter(|w| !w.is_empty()).collect()
}

/// A scenario being read: its subject comes on the line after `scenario`.
struct Open {
    line: usize,
    name: String,
    subject: Option<SubjectSpec>,
    steps: Vec<Step>,
}

/// Every scenario of one top-level file; an error names `file:line`.
fn parse_file(file: &str, text: &str) -> Result<Vec<Scenario>, String> {
    parse_file_in(Folder::TopLevel, file, text)
}

/// Every scenario of one file of `folder`; an error names `file:line`.
fn parse_file_in(folder: Folder, file: &str, text: &str) -> Result<Vec<Scenario>, String> {
    let mut scenarios = Vec::new();
    let mut open: Option<Open> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let words = words(line);
        if words.is_empty() {
            continue;
        }
        let at = |message: String| format!("{file}:{number}: {message}");
        open = match open {
            None => Some(parse_scenario_line(&words, number).map_err(at)?),
            Some(mut current) => match (&current.subject, words.as_slice()) {
                (None, _) => {
                    current.subject = Some(parse_subject(&words, folder).map_err(at)?);
                    Some(current)
                }
                (Some(_), ["end"]) => {
                    scenarios.push(close_scenario(file, current).map_err(at)?);
                    None
                }
                (Some(_), ["scenario", ..]) => {
                    return Err(at(format!(
                        "scenario `{}` (line {}) has no `end`",
                        current.name, current.line
                    )))
                }
                (Some(subject), _) => {
                    let step = parse_step(&words, subject, number).map_err(at)?;
                    current.steps.push(step);
                    Some(current)
                }
            },
        };
    }
    if let Some(current) = open {
        return Err(format!(
            "{file}:{}: scenario `{}` has no `end`",
            current.line, current.name
        ));
    }
    if scenarios.is_empty() {
        return Err(format!("{file}: no scenarios"));
    }
    Ok(scenarios)
}

fn parse_scenario_line(words: &[&str], line: usize) -> Result<Open, String> {
    match words {
        ["scenario", name] => Ok(Open {
            line,
            name: (*name).to_owned(),
            subject: None,
            steps: Vec::new(),
        }),
        _ => Err(format!(
            "expected `scenario NAME`, found `{}`",
            words.join(" ")
        )),
    }
}

fn close_scenario(file: &str, open: Open) -> Result<Scenario, String> {
    let subject = open
        .subject
        .expect("`end` is only accepted after a subject");
    if open.steps.is_empty() {
        return Err(format!("scenario `{}` has no steps", open.name));
    }
    Ok(Scenario {
        file: file.to_owned(),
        line: open.line,
        name: open.name,
        subject,
        steps: open.steps,
    })
}

fn parse_subject(words: &[&str], folder: Folder) -> Result<SubjectSpec, String> {
    match (folder, words.first()) {
        (Folder::Scheduling, Some(&"scheduling_queue")) => {
            return parse_scheduling_subject(&words[1..])
        }
        (Folder::Scheduling, _) => {
            return Err(format!(
            "conformance/scheduling/ takes only `scheduling_queue [OPTIONS]` subjects, found `{}`",
            words.join(" ")
        ))
        }
        (Folder::TopLevel, Some(&"scheduling_queue")) => {
            return Err(
                "`scheduling_queue` scenarios belong in conformance/scheduling/: \
                 the bindings that replay this folder do not offer that subject yet"
                    .to_owned(),
            )
        }
        (Folder::TopLevel, _) => {}
    }
    let subject = match words {
        ["queue"] => SubjectSpec::Queue(None),
        ["queue", spec] => SubjectSpec::Queue(Some(parse_limiter(spec)?)),
        ["limiter", spec] => SubjectSpec::Limiter(parse_limiter(spec)?),
        _ => {
            return Err(format!(
                "expected a subject (`queue`, `queue LIMITER` or `limiter LIMITER`), found `{}`",
                words.join(" ")
            ))
        }
    };
    // Arguments the core refuses make the scenario malformed, not failing.
    if let SubjectSpec::Queue(Some(spec)) | SubjectSpec::Limiter(spec) = &subject {
        build_limiter(spec)?;
    }
    Ok(subject)
}

/// `scheduling_queue [initial_backoff=DUR] [max_backoff=DUR] [max_stay=DUR]
/// [pop_from_backoff=BOOL]`, each option at most once.
fn parse_scheduling_subject(options: &[&str]) -> Result<SubjectSpec, String> {
    let mut spec = SchedulingSpec::default();
    for option in options {
        let (name, value) = option
            .split_once('=')
            .ok_or_else(|| format!("`{option}` is not an option (NAME=VALUE)"))?;
        let already = match name {
            "initial_backoff" => spec.initial_backoff.replace(duration(value)?).is_some(),
            "max_backoff" => spec.max_backoff.replace(duration(value)?).is_some(),
            "max_stay" => spec.max_stay.replace(duration(value)?).is_some(),
            "pop_from_backoff" => {
                let enabled = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(format!("`{option}`: expected `true` or `false`")),
                };
                spec.pop_from_backoff.replace(enabled).is_some()
            }
            _ => {
                return Err(format!(
                "`{name}` is not one of initial_backoff, max_backoff, max_stay, pop_from_backoff"
            ))
            }
        };
        if already {
            return Err(format!("option `{name}` is given twice"));
        }
    }
    // Settings the core refuses make the scenario malformed, not failing.
    build_scheduling_queue(&spec, &ManualClock::new())?;
    Ok(SubjectSpec::SchedulingQueue(spec))
}

/// `exp(1ms,1s)`, `maxof(exp(1ms,1s),bucket(10,100))`, `default_item`, ...
fn parse_limiter(spec: &str) -> Result<LimiterSpec, String> {
    match spec {
        "default_controller" => return Ok(LimiterSpec::DefaultController),
        "default_item" => return Ok(LimiterSpec::DefaultItem),
        _ => {}
    }
    let (name, rest) = spec
        .split_once('(')
        .ok_or_else(|| format!("`{spec}` is not a limiter spec"))?;
    let inside = rest
        .strip_suffix(')')
        .ok_or_else(|| format!("`{spec}` does not end with `)`"))?;
    let args =
        split_arguments(inside).ok_or_else(|| format!("unbalanced parentheses in `{spec}`"))?;
    let limiter = match (name, args.as_slice()) {
        ("exp", [base, max]) => LimiterSpec::Exponential {
            base: duration(base)?,
            max: duration(max)?,
        },
        ("fastslow", [fast, slow, n]) => LimiterSpec::FastSlow {
            fast: duration(fast)?,
            slow: duration(slow)?,
            fast_attempts: small_count(n)?,
        },
        ("bucket", [rate, burst]) => LimiterSpec::Bucket {
            rate: decimal(rate)?,
            burst: small_count(burst)?,
        },
        ("maxof", members) if !members.is_empty() => {
            let members: Result<Vec<_>, String> =
                members.iter().map(|m| parse_limiter(m)).collect();
            LimiterSpec::MaxOf(members?)
        }
        ("maxwait", [inner, max]) => {
            LimiterSpec::MaxWait(Box::new(parse_limiter(inner)?), duration(max)?)
        }
        _ => {
            return Err(format!(
                "`{spec}` is not one of exp(BASE,MAX), fastslow(FAST,SLOW,N), \
                 bucket(RATE,BURST), maxof(L1,L2,...), maxwait(L,MAX), \
                 default_controller, default_item"
            ))
        }
    };
    Ok(limiter)
}

/// Splits `a,b(c,d),e` at the commas outside parentheses; `None` when the
/// parentheses do not balance.
fn split_arguments(inside: &str) -> Option<Vec<&str>> {
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (at, c) in inside.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.checked_sub(1)?,
            ',' if depth == 0 => {
                args.push(&inside[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return None;
    }
    args.push(&inside[start..]);
    Some(args)
}

/// `OP ARGS... [=> EXPECTED...]`
fn parse_step(words: &[&str], subject: &SubjectSpec, line: usize) -> Result<Step, String> {
    let (call, expected) = match words.iter().position(|w| *w == "=>") {
        Some(arrow) => (&words[..arrow], Some(&words[arrow + 1..])),
        None => (words, None),
    };
    let op = match subject {
        SubjectSpec::SchedulingQueue(_) => parse_scheduling_op(call)?,
        _ => parse_op(call)?,
    };
    if !op.allowed_on(subject) {
        let what = match subject {
            SubjectSpec::Queue(_) => "a queue",
            SubjectSpec::Limiter(_) => "a standalone limiter",
            SubjectSpec::SchedulingQueue(_) => "a scheduling queue",
        };
        return Err(format!("`{}` is not a step of {what}", call[0]));
    }
    let expected = match expected {
        None => None,
        Some(_) if op.result_kind() == Kind::Nothing => {
            return Err(format!("`{}` returns nothing: drop the `=>`", call[0]))
        }
        Some([]) => return Err("nothing after `=>`".to_owned()),
        Some(value) => Some(parse_expected(op.result_kind(), value)?),
    };
    Ok(Step {
        line,
        text: words.join(" "),
        op,
        expected,
    })
}

fn parse_op(call: &[&str]) -> Result<Op, String> {
    let (name, args) = call.split_first().ok_or("a step needs an operation")?;
    let op = match (*name, args) {
        ("add", [k]) => Op::Add(key(k)?),
        ("add_batch", keys) if !keys.is_empty() => {
            let keys: Result<Vec<u64>, String> = keys.iter().map(|k| key(k)).collect();
            Op::AddBatch(keys?)
        }
        ("add_after", [k, d]) => Op::AddAfter(key(k)?, duration(d)?),
        ("add_rate_limited", [k]) => Op::AddRateLimited(key(k)?),
        ("forget", [k]) => Op::Forget(key(k)?),
        ("num_requeues", [k]) => Op::NumRequeues(key(k)?),
        ("when", [k]) => Op::When(key(k)?),
        ("len", []) => Op::Len,
        ("processing_len", []) => Op::ProcessingLen,
        ("delayed_len", []) => Op::DelayedLen,
        ("get", []) => Op::Get,
        ("get_batch", [max]) => Op::GetBatch(batch_size(max)?),
        ("done", [k]) => Op::Done(key(k)?),
        ("shutdown", []) => Op::Shutdown,
        ("drain_for", [d]) => Op::DrainFor(duration(d)?),
        ("shutting_down", []) => Op::ShuttingDown,
        ("step", [d]) => Op::Step(duration(d)?),
        ("set", [d]) => Op::Set(duration(d)?),
        _ => {
            return Err(match USAGE.iter().find(|(known, _)| known == name) {
                Some((_, usage)) => format!("`{}`: usage is `{usage}`", call.join(" ")),
                None => format!("unknown step `{name}`"),
            })
        }
    };
    Ok(op)
}

fn parse_scheduling_op(call: &[&str]) -> Result<Op, String> {
    use SchedulingOp as S;
    let (name, args) = call.split_first().ok_or("a step needs an operation")?;
    let op = match (*name, args) {
        ("add", [k, p]) => S::Add(key(k)?, priority(p)?),
        ("update", [k, p]) => S::Update(key(k)?, priority(p)?),
        ("delete", [k]) => S::Delete(key(k)?),
        ("pop", []) => S::Pop,
        ("done", [k]) => S::Done(key(k)?),
        ("requeue_backoff", [k]) => S::RequeueBackoff(key(k)?),
        ("requeue_unschedulable", [k]) => S::RequeueUnschedulable(key(k)?),
        ("move_all", [event]) => S::MoveAll((*event).to_owned()),
        ("active_len", []) => S::ActiveLen,
        ("backoff_len", []) => S::BackoffLen,
        ("unschedulable_len", []) => S::UnschedulableLen,
        ("in_flight_len", []) => S::InFlightLen,
        ("place", [k]) => S::Place(key(k)?),
        ("attempts", [k]) => S::Attempts(key(k)?),
        ("close", []) => S::Close,
        ("closed", []) => S::Closed,
        ("step", [d]) => return Ok(Op::Step(duration(d)?)),
        ("set", [d]) => return Ok(Op::Set(duration(d)?)),
        _ => {
            return Err(
                match SCHEDULING_USAGE.iter().find(|(known, _)| known == name) {
                    Some((_, usage)) => format!("`{}`: usage is `{usage}`", call.join(" ")),
                    None if USAGE.iter().any(|(known, _)| known == name) => {
                        format!("`{name}` is not a step of a scheduling queue")
                    }
                    None => format!("unknown step `{name}`"),
                },
            )
        }
    };
    Ok(Op::Scheduling(op))
}

fn parse_expected(kind: Kind, words: &[&str]) -> Result<Value, String> {
    let value = match (kind, words) {
        (Kind::Bool, ["true"]) => Value::Bool(true),
        (Kind::Bool, ["false"]) => Value::Bool(false),
        (Kind::Bool, _) => return Err("expected `true` or `false` after `=>`".to_owned()),
        (Kind::Count, [n]) => Value::Count(unsigned(n)?),
        (Kind::Duration, [d]) => Value::Duration(duration(d)?),
        (Kind::DurationOrNone, ["none"]) => Value::NoDelay,
        (Kind::DurationOrNone, [d]) => Value::Duration(duration(d)?),
        (Kind::Key | Kind::Keys, ["empty"]) => Value::Empty,
        (Kind::Key | Kind::Keys, ["shutdown"]) => Value::ShutDown,
        (Kind::Key, [k]) => Value::Key(key(k)?),
        (Kind::Keys, keys) => {
            let keys: Result<Vec<u64>, String> = keys.iter().map(|k| key(k)).collect();
            Value::Keys(keys?)
        }
        (Kind::Popped, ["empty"]) => Value::Empty,
        (Kind::Popped, ["closed"]) => Value::Closed,
        (Kind::Popped, [k, p]) => Value::Popped(key(k)?, priority(p)?),
        (Kind::Place, [word]) => {
            let places = [
                None,
                Some(Place::Active),
                Some(Place::Backoff),
                Some(Place::Unschedulable),
                Some(Place::InFlight),
            ];
            let place = places.into_iter().find(|p| place_name(*p) == *word);
            Value::Place(place.ok_or_else(|| {
                format!(
                    "expected active, backoff, unschedulable, in_flight or none, found `{word}`"
                )
            })?)
        }
        _ => return Err(format!("unexpected result `{}`", words.join(" "))),
    };
    Ok(value)
}

// ---------------------------------------------------------------------------
// Building subjects
// ---------------------------------------------------------------------------

fn build_limiter(spec: &LimiterSpec) -> Result<Box<dyn RateLimiter<u64>>, String> {
    let config = |e: workqueue_core::ConfigError| format!("{spec:?}: {e}");
    let limiter: Box<dyn RateLimiter<u64>> = match spec {
        LimiterSpec::Exponential { base, max } => {
            Box::new(ExponentialBackoff::new(*base, *max).map_err(config)?)
        }
        LimiterSpec::FastSlow {
            fast,
            slow,
            fast_attempts,
        } => Box::new(FastSlow::new(*fast, *slow, *fast_attempts).map_err(config)?),
        LimiterSpec::Bucket { rate, burst } => {
            Box::new(TokenBucket::new(*rate, *burst).map_err(config)?)
        }
        LimiterSpec::MaxOf(members) => {
            let members: Result<Vec<_>, String> = members.iter().map(build_limiter).collect();
            Box::new(MaxOf::new(members?).map_err(config)?)
        }
        LimiterSpec::MaxWait(inner, max) => Box::new(MaxWait::new(build_limiter(inner)?, *max)),
        LimiterSpec::DefaultController => Box::new(default_controller_rate_limiter()),
        LimiterSpec::DefaultItem => Box::new(default_item_based_rate_limiter()),
    };
    Ok(limiter)
}

fn build_scheduling_queue(
    spec: &SchedulingSpec,
    clock: &ManualClock,
) -> Result<SchedulingQueue<u64>, String> {
    let mut builder = SchedulingQueue::builder().clock(clock);
    if let Some(initial) = spec.initial_backoff {
        builder = builder.initial_backoff(initial);
    }
    if let Some(max) = spec.max_backoff {
        builder = builder.max_backoff(max);
    }
    if let Some(max_stay) = spec.max_stay {
        builder = builder.max_unschedulable_stay(max_stay);
    }
    if let Some(enabled) = spec.pop_from_backoff {
        builder = builder.pop_from_backoff(enabled);
    }
    builder.build().map_err(|e| format!("{spec:?}: {e}"))
}

enum Subject {
    Queue(Queue<u64>),
    Limiter(Box<dyn RateLimiter<u64>>),
    SchedulingQueue(SchedulingQueue<u64>),
}

fn build_subject(spec: &SubjectSpec, clock: &ManualClock) -> Subject {
    let limiter = |spec| build_limiter(spec).expect("checked when the scenario was read");
    match spec {
        SubjectSpec::Queue(None) => Subject::Queue(Queue::builder().clock(clock).build()),
        SubjectSpec::Queue(Some(spec)) => Subject::Queue(
            Queue::builder()
                .clock(clock)
                .rate_limiter(limiter(spec))
                .build(),
        ),
        SubjectSpec::Limiter(spec) => Subject::Limiter(limiter(spec)),
        SubjectSpec::SchedulingQueue(spec) => Subject::SchedulingQueue(
            build_scheduling_queue(spec, clock).expect("checked when the scenario was read"),
        ),
    }
}

// ---------------------------------------------------------------------------
// Replaying
// ---------------------------------------------------------------------------

/// Runs one step; `None` for steps that return nothing.
fn perform(op: &Op, subject: &Subject, clock: &ManualClock) -> Option<Value> {
    match (op, subject) {
        (Op::Step(d), _) => clock.step(*d),
        (Op::Set(d), _) => clock.set(Timestamp::from_nanos(nanos(*d))),
        (Op::Forget(k), Subject::Queue(queue)) => queue.forget(k),
        (Op::Forget(k), Subject::Limiter(limiter)) => limiter.forget(k),
        (Op::NumRequeues(k), Subject::Queue(queue)) => return count(queue.num_requeues(k)),
        (Op::NumRequeues(k), Subject::Limiter(limiter)) => return count(limiter.num_requeues(k)),
        (Op::When(k), Subject::Limiter(limiter)) => {
            return Some(Value::Duration(limiter.when(k, clock.now())))
        }
        (Op::Scheduling(op), Subject::SchedulingQueue(queue)) => {
            return perform_on_scheduling_queue(op, queue)
        }
        (op, Subject::Queue(queue)) => return perform_on_queue(op, queue),
        (op, Subject::Limiter(_)) => unreachable!("the parser keeps {op:?} off limiters"),
        (op, Subject::SchedulingQueue(_)) => {
            unreachable!("the parser keeps {op:?} off scheduling queues")
        }
    }
    None
}

fn perform_on_queue(op: &Op, queue: &Queue<u64>) -> Option<Value> {
    let value = match op {
        Op::Add(k) => Value::Bool(queue.add(*k)),
        Op::AddBatch(keys) => Value::Count(queue.add_batch(keys.iter().copied()) as u64),
        Op::AddAfter(k, d) => Value::Bool(queue.add_after(*k, *d)),
        Op::AddRateLimited(k) => queue
            .add_rate_limited(*k)
            .map_or(Value::NoDelay, Value::Duration),
        Op::Len => Value::Count(queue.len() as u64),
        Op::ProcessingLen => Value::Count(queue.processing_len() as u64),
        Op::DelayedLen => Value::Count(queue.delayed_len() as u64),
        Op::Get => match queue.try_get() {
            Ok(k) => Value::Key(k),
            Err(e) => get_error(e),
        },
        Op::GetBatch(max) => match queue.get_batch(*max, Some(Duration::ZERO)) {
            Ok(keys) => Value::Keys(keys),
            Err(e) => get_error(e),
        },
        Op::Done(k) => Value::Bool(queue.done(k)),
        Op::Shutdown => {
            queue.shutdown();
            return None;
        }
        Op::DrainFor(d) => Value::Bool(queue.shutdown_with_drain_timeout(*d)),
        Op::ShuttingDown => Value::Bool(queue.shutting_down()),
        Op::Forget(_) | Op::NumRequeues(_) | Op::When(_) | Op::Step(_) | Op::Set(_) => {
            unreachable!("{op:?} is handled by `perform`")
        }
        Op::Scheduling(_) => unreachable!("the parser keeps {op:?} off queues"),
    };
    Some(value)
}

fn perform_on_scheduling_queue(op: &SchedulingOp, queue: &SchedulingQueue<u64>) -> Option<Value> {
    use SchedulingOp as S;
    let len = |n: usize| Value::Count(n as u64);
    let value = match op {
        S::Add(k, p) => Value::Bool(queue.add(*k, *p)),
        S::Update(k, p) => Value::Place(queue.update(k, *p)),
        S::Delete(k) => Value::Bool(queue.delete(k)),
        S::Pop => match queue.try_pop() {
            Ok((k, p)) => Value::Popped(k, p),
            Err(PopError::Empty) => Value::Empty,
            Err(PopError::Closed) => Value::Closed,
        },
        S::Done(k) => Value::Bool(queue.done(k)),
        S::RequeueBackoff(k) => Value::Place(queue.requeue_backoff(k)),
        S::RequeueUnschedulable(k) => Value::Place(queue.requeue_unschedulable(k)),
        S::MoveAll(event) => len(queue.move_all_to_active_or_backoff(event)),
        S::ActiveLen => len(queue.active_len()),
        S::BackoffLen => len(queue.backoff_len()),
        S::UnschedulableLen => len(queue.unschedulable_len()),
        S::InFlightLen => len(queue.in_flight_len()),
        S::Place(k) => Value::Place(queue.place(k)),
        S::Attempts(k) => Value::Count(u64::from(queue.attempts(k))),
        S::Close => {
            queue.close();
            return None;
        }
        S::Closed => Value::Bool(queue.is_closed()),
    };
    Some(value)
}

fn get_error(error: GetError) -> Value {
    match error {
        GetError::Empty => Value::Empty,
        GetError::ShutDown => Value::ShutDown,
    }
}

fn count(n: u32) -> Option<Value> {
    Some(Value::Count(u64::from(n)))
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).expect("durations are read as 64-bit nanoseconds")
}

/// Replays a scenario on a fresh manual clock; returns how many steps ran,
/// or where and how it first went wrong.
fn run_scenario(scenario: &Scenario) -> Result<usize, String> {
    let clock = ManualClock::new();
    let subject = build_subject(&scenario.subject, &clock);
    for step in &scenario.steps {
        let actual = perform(&step.op, &subject, &clock);
        if let Some(expected) = &step.expected {
            let actual = actual.expect("steps that return nothing never take `=>`");
            if *expected != actual {
                return Err(format!(
                    "{}:{}: scenario `{}` (line {}): step `{}`: expected {expected}, got {actual}",
                    scenario.file, step.line, scenario.name, scenario.line, step.text
                ));
            }
        }
    }
    Ok(scenario.steps.len())
}

// ---------------------------------------------------------------------------
// The folder
// ---------------------------------------------------------------------------

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance")
}

impl Folder {
    /// The folder's path under `conformance/`, as failure reports name it.
    fn prefix(self) -> &'static str {
        match self {
            Folder::TopLevel => "conformance",
            Folder::Scheduling => "conformance/scheduling",
        }
    }

    fn dir(self) -> PathBuf {
        match self {
            Folder::TopLevel => conformance_dir(),
            Folder::Scheduling => conformance_dir().join("scheduling"),
        }
    }
}

/// Every `*.scn` file of the folder, sorted by name.
fn scenario_files(dir: &Path) -> Vec<PathBuf> {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "scn"))
        .collect();
    files.sort();
    files
}

/// Every scenario of the folder, or every reason it cannot be read.
fn load_scenarios(folder: Folder) -> Result<Vec<Scenario>, Vec<String>> {
    let dir = &folder.dir();
    let files = scenario_files(dir);
    if files.is_empty() {
        return Err(vec![format!("{}: no *.scn files", dir.display())]);
    }
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for path in files {
        let name = format!(
            "{}/{}",
            folder.prefix(),
            path.file_name().expect("a file").to_string_lossy()
        );
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        match parse_file_in(folder, &name, &text) {
            Ok(found) => scenarios.extend(found),
            Err(error) => errors.push(error),
        }
    }
    errors.extend(duplicate_names(&scenarios));
    if errors.is_empty() {
        Ok(scenarios)
    } else {
        Err(errors)
    }
}

/// Names must be unique across the folder, so a binding's report of a
/// failing scenario names exactly one.
fn duplicate_names(scenarios: &[Scenario]) -> Vec<String> {
    let mut first_seen: HashMap<&str, &Scenario> = HashMap::new();
    let mut errors = Vec::new();
    for scenario in scenarios {
        if let Some(first) = first_seen.insert(&scenario.name, scenario) {
            errors.push(format!(
                "{}:{}: scenario `{}` is already defined at {}:{}",
                scenario.file, scenario.line, scenario.name, first.file, first.line
            ));
        }
    }
    errors
}

#[test]
fn every_scenario_replays_on_the_core() {
    let scenarios = match load_scenarios(Folder::TopLevel) {
        Ok(scenarios) => scenarios,
        Err(errors) => panic!("malformed scenario files:\n{}", errors.join("\n")),
    };
    replay_all(&scenarios);
}

#[test]
fn every_scheduling_scenario_replays_on_the_core() {
    let (top_level, scheduling) = match (
        load_scenarios(Folder::TopLevel),
        load_scenarios(Folder::Scheduling),
    ) {
        (Ok(top_level), Ok(scheduling)) => (top_level, scheduling),
        (top_level, scheduling) => {
            let errors: Vec<String> = [top_level.err(), scheduling.err()]
                .into_iter()
                .flatten()
                .flatten()
                .collect();
            panic!("malformed scenario files:\n{}", errors.join("\n"))
        }
    };
    // Names are unique across both folders too.
    let mut both = top_level;
    let first_scheduling = both.len();
    both.extend(scheduling);
    let clashes = duplicate_names(&both);
    assert!(clashes.is_empty(), "{}", clashes.join("\n"));
    replay_all(&both[first_scheduling..]);
}

/// Replays every scenario, reporting every failure.
fn replay_all(scenarios: &[Scenario]) {
    let mut steps = 0;
    let mut failures = Vec::new();
    for scenario in scenarios {
        match run_scenario(scenario) {
            Ok(ran) => steps += ran,
            Err(failure) => failures.push(failure),
        }
    }
    println!(
        "conformance: {} scenarios passed ({steps} steps), {} failed",
        scenarios.len() - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n{}",
        failures.len(),
        scenarios.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------
// The runner itself: it must notice wrong results and malformed files.
// ---------------------------------------------------------------------------

#[test]
fn a_wrong_expectation_is_reported_with_its_location() {
    let text =
        "scenario collapse\nqueue exp(1ms,1s)\nadd 1 => true\n\nadd 1 => true # wrong\nend\n";
    let scenarios = parse_file("inline.scn", text).expect("well formed");
    let failure = run_scenario(&scenarios[0]).expect_err("the second add collapses");
    assert_eq!(
        failure,
        "inline.scn:5: scenario `collapse` (line 1): step `add 1 => true`: expected true, got false"
    );
}

#[test]
fn every_result_kind_is_compared() {
    let text = "\
scenario kinds
queue bucket(10,1)
add_batch 1 2 => 2
get_batch 5 => 1 2
get => empty
add_rate_limited 3 => 0ms
add_rate_limited 4 => 100ms
delayed_len => 1
end
scenario limiter_kinds
limiter maxof(exp(1ms,1s),fastslow(5ms,1s,1))
when 1 => 5ms
num_requeues 1 => 1
end
";
    let scenarios = parse_file("inline.scn", text).expect("well formed");
    for scenario in &scenarios {
        assert!(run_scenario(scenario).is_ok(), "{}", scenario.name);
    }
    let wrong = text
        .replace("get_batch 5 => 1 2", "get_batch 5 => 2 1")
        .replace("when 1 => 5ms", "when 1 => 4ms");
    let scenarios = parse_file("inline.scn", &wrong).expect("well formed");
    let failures: Vec<String> = scenarios
        .iter()
        .filter_map(|s| run_scenario(s).err())
        .collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures[0].contains("expected 2 1, got 1 2"),
        "{}",
        failures[0]
    );
    assert!(
        failures[1].contains("expected 4ms, got 5ms"),
        "{}",
        failures[1]
    );
}

#[test]
fn malformed_files_are_rejected_with_their_location() {
    let cases = [
        ("# only a comment\n", "f.scn: no scenarios"),
        (
            "scenario a\nqueue\nlen => 0\n",
            "f.scn:1: scenario `a` has no `end`",
        ),
        (
            "scenario a\nqueue\nend\n",
            "f.scn:3: scenario `a` has no steps",
        ),
        ("scenario a\nlen => 0\nend\n", "f.scn:2: expected a subject"),
        ("len => 0\n", "f.scn:1: expected `scenario NAME`"),
        ("scenario a b\n", "f.scn:1: expected `scenario NAME`"),
        (
            "scenario a\nqueue\nlen\nscenario b\n",
            "f.scn:4: scenario `a` (line 1) has no `end`",
        ),
        (
            "scenario a\nqueue\npop => 1\nend\n",
            "f.scn:3: unknown step `pop`",
        ),
        (
            "scenario a\nqueue\nadd => true\nend\n",
            "f.scn:3: `add`: usage is `add K`",
        ),
        ("scenario a\nqueue\nadd -1\nend\n", "f.scn:3: bad key"),
        (
            "scenario a\nqueue\nshutdown => true\nend\n",
            "`shutdown` returns nothing",
        ),
        (
            "scenario a\nqueue\nlen =>\nend\n",
            "f.scn:3: nothing after `=>`",
        ),
        (
            "scenario a\nqueue\nadd 1 => yes\nend\n",
            "expected `true` or `false`",
        ),
        (
            "scenario a\nqueue\nget => 1 2\nend\n",
            "unexpected result `1 2`",
        ),
        (
            "scenario a\nqueue\nget_batch 0\nend\n",
            "MAX of `get_batch` must be at least 1",
        ),
        ("scenario a\nqueue\nstep 5\nend\n", "`5` is not a duration"),
        (
            "scenario a\nqueue\nwhen 1 => 1ms\nend\n",
            "`when` is not a step of a queue",
        ),
        (
            "scenario a\nlimiter default_item\nlen => 0\nend\n",
            "not a step of a standalone limiter",
        ),
        (
            "scenario a\nqueue exp(1ms)\nlen => 0\nend\n",
            "f.scn:2: `exp(1ms)` is not one of",
        ),
        (
            "scenario a\nqueue exp(0ms,1s)\nlen => 0\nend\n",
            "invalid base delay",
        ),
        (
            "scenario a\nqueue exp(1ms,1s\nlen\nend\n",
            "does not end with `)`",
        ),
        (
            "scenario a\nqueue maxof(exp(1ms,1s)))\nlen\nend\n",
            "unbalanced parentheses",
        ),
        (
            "scenario a\nqueue bucket(1e3,1)\nlen\nend\n",
            "`1e3` is not a decimal number",
        ),
    ];
    for (text, message) in cases {
        match parse_file("f.scn", text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(error) => assert!(error.contains(message), "{error:?} lacks {message:?}"),
        }
    }
}

#[test]
fn scenario_names_are_unique_across_files() {
    let text = "scenario a\nqueue\nlen => 0\nend\n";
    let mut scenarios = parse_file("one.scn", text).expect("well formed");
    scenarios.extend(parse_file("two.scn", text).expect("well formed"));
    assert_eq!(
        duplicate_names(&scenarios),
        vec!["two.scn:1: scenario `a` is already defined at one.scn:1".to_owned()]
    );
}

#[test]
fn durations_read_and_show_exactly() {
    assert_eq!(duration("1500us"), Ok(Duration::from_micros(1500)));
    assert_eq!(duration("1000s"), Ok(Duration::from_secs(1000)));
    assert_eq!(duration("7ns"), Ok(Duration::from_nanos(7)));
    assert!(duration("1.5ms").is_err());
    assert!(duration("ms").is_err());
    assert!(
        duration("18446744073710s").is_err(),
        "overflows 64-bit nanoseconds"
    );
    assert_eq!(show_duration(Duration::from_micros(1500)), "1500us");
    assert_eq!(show_duration(Duration::from_secs(1000)), "1000s");
    assert_eq!(show_duration(Duration::ZERO), "0ns");
}

// ---------------------------------------------------------------------------
// The scheduling folder
// ---------------------------------------------------------------------------

const SCHEDULING_KINDS: &str = "\
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
";

#[test]
fn scheduling_steps_are_read_and_compared() {
    let scenarios =
        parse_file_in(Folder::Scheduling, "s.scn", SCHEDULING_KINDS).expect("well formed");
    assert_eq!(run_scenario(&scenarios[0]), Ok(19));
    for (right, wrong, message) in [
        ("pop => 1 -3", "pop => 1 3", "expected 1 3, got 1 -3"),
        (
            "place 1 => unschedulable",
            "place 1 => backoff",
            "expected backoff, got unschedulable",
        ),
        (
            "pop => closed",
            "pop => empty",
            "expected empty, got closed",
        ),
        ("backoff_len => 2", "backoff_len => 1", "expected 1, got 2"),
    ] {
        let text = SCHEDULING_KINDS.replace(right, wrong);
        let scenarios = parse_file_in(Folder::Scheduling, "s.scn", &text).expect("well formed");
        let failure = run_scenario(&scenarios[0]).expect_err(wrong);
        assert!(failure.contains(message), "{failure}");
    }
}

#[test]
fn each_folder_takes_only_its_subjects() {
    let top = parse_file("f.scn", "scenario a\nscheduling_queue\npop\nend\n");
    assert!(
        top.is_err_and(|e| e.contains("f.scn:2: `scheduling_queue` scenarios belong in")),
        "the top level stays replayable by every binding"
    );
    for subject in ["queue", "limiter default_item"] {
        let text = format!("scenario a\n{subject}\nstep 1s\nend\n");
        let error = parse_file_in(Folder::Scheduling, "s.scn", &text)
            .err()
            .expect(subject);
        assert!(
            error.contains("s.scn:2: conformance/scheduling/ takes only"),
            "{error}"
        );
    }
}

#[test]
fn malformed_scheduling_scenarios_are_rejected() {
    let cases = [
        (
            "scheduling_queue initial_backoff=0ms",
            "pop",
            "invalid initial_backoff",
        ),
        (
            "scheduling_queue max_backoff=1ms",
            "pop",
            "invalid max_backoff",
        ),
        (
            "scheduling_queue max_stay=0s",
            "pop",
            "invalid max_unschedulable_stay",
        ),
        (
            "scheduling_queue max_stay=1s max_stay=2s",
            "pop",
            "given twice",
        ),
        ("scheduling_queue speed=1s", "pop", "`speed` is not one of"),
        (
            "scheduling_queue max_stay",
            "pop",
            "not an option (NAME=VALUE)",
        ),
        (
            "scheduling_queue pop_from_backoff=yes",
            "pop",
            "expected `true` or `false`",
        ),
        (
            "scheduling_queue",
            "add 1",
            "`add 1`: usage is `add K PRIO`",
        ),
        ("scheduling_queue", "add 1 x", "bad priority"),
        ("scheduling_queue", "add 1 +2", "bad priority"),
        (
            "scheduling_queue",
            "add 1 2147483648",
            "does not fit in 32 bits",
        ),
        (
            "scheduling_queue",
            "get => empty",
            "`get` is not a step of a scheduling queue",
        ),
        (
            "scheduling_queue",
            "frobnicate",
            "unknown step `frobnicate`",
        ),
        ("scheduling_queue", "pop => 1", "unexpected result `1`"),
        (
            "scheduling_queue",
            "place 1 => parked",
            "expected active, backoff",
        ),
        (
            "scheduling_queue",
            "close => true",
            "`close` returns nothing",
        ),
        (
            "scheduling_queue",
            "move_all => 0",
            "usage is `move_all EVENT`",
        ),
    ];
    for (subject, step, message) in cases {
        let text = format!("scenario a\n{subject}\n{step}\nend\n");
        match parse_file_in(Folder::Scheduling, "s.scn", &text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(error) => assert!(error.contains(message), "{error:?} lacks {message:?}"),
        }
    }
    // The queue's own steps keep their meaning on a queue.
    let error = parse_file("f.scn", "scenario a\nqueue\nadd 1 5\nend\n")
        .err()
        .expect("a queue's add takes one key");
    assert!(error.contains("`add 1 5`: usage is `add K`"), "{error}");
}

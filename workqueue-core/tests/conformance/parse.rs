//! Reading scenario files. Everything a runner must refuse is refused here,
//! before anything runs: a malformed scenario fails the suite with its
//! `file:line`, it is never skipped.

use crate::model::{
    Folder, Kind, LimiterSpec, Metric, Op, PriorityOp, QueueSpec, Scenario, SchedulingOp,
    SchedulingSpec, Step, SubjectSpec, Value, METRICS, PRIORITY_USAGE, SCHEDULING_USAGE, USAGE,
};
use crate::replay::{build_limiter, build_scheduling_queue};
use crate::values::{
    batch_size, decimal, depth_by_priority, duration, key, levels, place_name, priority, signed,
    small_count, unsigned, PLACES,
};
use workqueue_core::{ManualClock, QueueBuilder};

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
pub fn parse_file(file: &str, text: &str) -> Result<Vec<Scenario>, String> {
    parse_file_in(Folder::TopLevel, file, text)
}

/// Every scenario of one file of `folder`; an error names `file:line`.
pub fn parse_file_in(folder: Folder, file: &str, text: &str) -> Result<Vec<Scenario>, String> {
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
                    let step = parse_step(&words, subject, folder, number).map_err(at)?;
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

// ---------------------------------------------------------------------------
// Subjects
// ---------------------------------------------------------------------------

fn parse_subject(words: &[&str], folder: Folder) -> Result<SubjectSpec, String> {
    let first = words.first().copied().unwrap_or_default();
    match (folder, first) {
        (Folder::Scheduling, "scheduling_queue") => parse_scheduling_subject(&words[1..]),
        (Folder::Scheduling, _) => Err(format!(
            "conformance/scheduling/ takes only `scheduling_queue [OPTIONS]` subjects, found `{}`",
            words.join(" ")
        )),
        (_, "scheduling_queue") => Err(
            "`scheduling_queue` scenarios belong in conformance/scheduling/: \
             the bindings that replay this folder do not offer that subject yet"
                .to_owned(),
        ),
        (Folder::Priority | Folder::Metrics, "queue") => {
            parse_queue_subject(&words[1..], folder).map(SubjectSpec::Queue)
        }
        (Folder::Priority, _) => Err(format!(
            "conformance/priority/ takes only `queue [LIMITER] [aging=DUR]` subjects, found `{}`",
            words.join(" ")
        )),
        (Folder::Metrics, _) => Err(format!(
            "conformance/metrics/ takes only `queue [LIMITER] name=NAME [aging=DUR]` subjects, \
             found `{}`",
            words.join(" ")
        )),
        (Folder::TopLevel, _) => parse_top_level_subject(words),
    }
}

/// `queue`, `queue LIMITER` or `limiter LIMITER`: no options.
fn parse_top_level_subject(words: &[&str]) -> Result<SubjectSpec, String> {
    let options = match words {
        ["queue" | "limiter", rest @ ..] => rest,
        _ => &[],
    };
    if let Some(option) = options.iter().find(|w| w.contains('=')) {
        return Err(format!(
            "`{option}`: the top level takes no options \
             (`aging=` belongs in conformance/priority/ and conformance/metrics/, \
             `name=` in conformance/metrics/)"
        ));
    }
    let subject = match words {
        ["queue"] => SubjectSpec::Queue(QueueSpec::default()),
        ["queue", spec] => SubjectSpec::Queue(QueueSpec {
            limiter: Some(parse_limiter(spec)?),
            ..QueueSpec::default()
        }),
        ["limiter", spec] => SubjectSpec::Limiter(parse_limiter(spec)?),
        _ => {
            return Err(format!(
                "expected a subject (`queue`, `queue LIMITER` or `limiter LIMITER`), found `{}`",
                words.join(" ")
            ))
        }
    };
    // Arguments the core refuses make the scenario malformed, not failing.
    if let SubjectSpec::Queue(QueueSpec {
        limiter: Some(spec),
        ..
    })
    | SubjectSpec::Limiter(spec) = &subject
    {
        build_limiter(spec)?;
    }
    Ok(subject)
}

/// The words after `queue` in `priority/` (`[LIMITER] [aging=DUR]`) or
/// `metrics/` (`[LIMITER] name=NAME [aging=DUR]`): the limiter first, then
/// each option at most once, in any order.
fn parse_queue_subject(args: &[&str], folder: Folder) -> Result<QueueSpec, String> {
    let (limiter, options) = match args.split_first() {
        Some((first, rest)) if !first.contains('=') => (Some(parse_limiter(first)?), rest),
        _ => (None, args),
    };
    let mut spec = QueueSpec {
        limiter,
        ..QueueSpec::default()
    };
    for option in options {
        let (name, value) = option.split_once('=').ok_or_else(|| {
            format!("`{option}` is not an option (NAME=VALUE); the LIMITER comes first")
        })?;
        let already = match (folder, name) {
            (_, "aging") => spec.aging.replace(duration(value)?).is_some(),
            (Folder::Metrics, "name") if value.is_empty() => {
                return Err("`name=` needs a NAME".to_owned())
            }
            (Folder::Metrics, "name") => spec.name.replace(value.to_owned()).is_some(),
            (_, "name") => {
                return Err("the option `name=` belongs in conformance/metrics/".to_owned())
            }
            (Folder::Metrics, _) => {
                return Err(format!(
                    "`{name}` is not an option: only `name` and `aging`"
                ))
            }
            _ => return Err(format!("`{name}` is not an option: only `aging`")),
        };
        if already {
            return Err(format!("option `{name}` is given twice"));
        }
    }
    if folder == Folder::Metrics && spec.name.is_none() {
        return Err(
            "a conformance/metrics/ queue needs `name=NAME`: an unnamed queue keeps no metrics"
                .to_owned(),
        );
    }
    // Settings the core refuses make the scenario malformed, not failing.
    if let Some(limiter) = &spec.limiter {
        build_limiter(limiter)?;
    }
    if let Some(interval) = spec.aging {
        QueueBuilder::<u64>::new()
            .priority_aging(interval)
            .map_err(|e| format!("`aging={}`: {e}", crate::values::show_duration(interval)))?;
    }
    Ok(spec)
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

// ---------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------

/// `OP ARGS... [=> EXPECTED...]`
fn parse_step(
    words: &[&str],
    subject: &SubjectSpec,
    folder: Folder,
    line: usize,
) -> Result<Step, String> {
    let (call, expected) = match words.iter().position(|w| *w == "=>") {
        Some(arrow) => (&words[..arrow], Some(&words[arrow + 1..])),
        None => (words, None),
    };
    let op = match subject {
        SubjectSpec::SchedulingQueue(_) => parse_scheduling_op(call)?,
        _ => parse_op(call, folder)?,
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

/// A step of a queue or a limiter; the `*_with_priority` steps only in
/// `priority/` and `metrics/`, `metrics` only in `metrics/`.
fn parse_op(call: &[&str], folder: Folder) -> Result<Op, String> {
    let (name, args) = call.split_first().ok_or("a step needs an operation")?;
    if PRIORITY_USAGE.iter().any(|(known, _)| known == name) {
        if !matches!(folder, Folder::Priority | Folder::Metrics) {
            return Err(format!(
                "`{name}` is a step of conformance/priority/ and conformance/metrics/ only"
            ));
        }
        return parse_priority_op(call).map(Op::Priority);
    }
    if *name == "metrics" {
        if folder != Folder::Metrics {
            return Err("`metrics` is a step of conformance/metrics/ only".to_owned());
        }
        return parse_metric(args).map(Op::Metrics);
    }
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
        _ => return Err(usage_error(USAGE, call)),
    };
    Ok(op)
}

/// The error for a step that is not one of `usage` as written.
fn usage_error(usage: &[(&str, &str)], call: &[&str]) -> String {
    match usage.iter().find(|(known, _)| *known == call[0]) {
        Some((_, usage)) => format!("`{}`: usage is `{usage}`", call.join(" ")),
        None => format!("unknown step `{}`", call[0]),
    }
}

fn parse_priority_op(call: &[&str]) -> Result<PriorityOp, String> {
    let op = match call {
        ["add_with_priority", k, p] => PriorityOp::Add(key(k)?, priority(p)?),
        ["add_batch_with_priority", p, keys @ ..] if !keys.is_empty() => {
            let keys: Result<Vec<u64>, String> = keys.iter().map(|k| key(k)).collect();
            PriorityOp::AddBatch(priority(p)?, keys?)
        }
        ["add_after_with_priority", k, d, p] => {
            PriorityOp::AddAfter(key(k)?, duration(d)?, priority(p)?)
        }
        ["add_rate_limited_with_priority", k, p] => {
            PriorityOp::AddRateLimited(key(k)?, priority(p)?)
        }
        ["get_with_priority"] => PriorityOp::Get,
        ["len_by_priority"] => PriorityOp::LenByPriority,
        _ => return Err(usage_error(PRIORITY_USAGE, call)),
    };
    Ok(op)
}

/// `metrics NAME`.
fn parse_metric(args: &[&str]) -> Result<Metric, String> {
    let names = || {
        let names: Vec<&str> = METRICS.iter().map(|(name, _)| *name).collect();
        names.join(", ")
    };
    match args {
        [name] => METRICS
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, metric)| *metric)
            .ok_or_else(|| format!("`{name}` is not a metric: one of {}", names())),
        _ => Err(format!(
            "`metrics {}`: usage is `metrics NAME`, NAME one of {}",
            args.join(" "),
            names()
        )),
    }
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
        _ if !SCHEDULING_USAGE.iter().any(|(known, _)| known == name)
            && USAGE.iter().any(|(known, _)| known == name) =>
        {
            return Err(format!("`{name}` is not a step of a scheduling queue"))
        }
        _ => return Err(usage_error(SCHEDULING_USAGE, call)),
    };
    Ok(Op::Scheduling(op))
}

fn parse_expected(kind: Kind, words: &[&str]) -> Result<Value, String> {
    let value = match (kind, words) {
        (Kind::Bool, ["true"]) => Value::Bool(true),
        (Kind::Bool, ["false"]) => Value::Bool(false),
        (Kind::Bool, _) => return Err("expected `true` or `false` after `=>`".to_owned()),
        (Kind::Count, [n]) => Value::Count(unsigned(n)?),
        (Kind::Signed, [n]) => Value::Signed(signed(n)?),
        (Kind::Duration | Kind::Seconds, [d]) => Value::Duration(duration(d)?),
        (Kind::DurationOrNone, ["none"]) => Value::NoDelay,
        (Kind::DurationOrNone, [d]) => Value::Duration(duration(d)?),
        (Kind::Key | Kind::Keys | Kind::KeyWithPriority, ["empty"]) => Value::Empty,
        (Kind::Key | Kind::Keys | Kind::KeyWithPriority, ["shutdown"]) => Value::ShutDown,
        (Kind::Key, [k]) => Value::Key(key(k)?),
        (Kind::Keys, keys) => {
            let keys: Result<Vec<u64>, String> = keys.iter().map(|k| key(k)).collect();
            Value::Keys(keys?)
        }
        (Kind::Popped, ["empty"]) => Value::Empty,
        (Kind::Popped, ["closed"]) => Value::Closed,
        (Kind::Popped | Kind::KeyWithPriority, [k, p]) => Value::Prioritised(key(k)?, priority(p)?),
        (Kind::Levels, ["none"]) => Value::Levels(Vec::new()),
        (Kind::Levels, words) => Value::Levels(levels(words)?),
        (Kind::DepthByPriority, ["none"]) => Value::DepthByPriority(Vec::new(), None),
        (Kind::DepthByPriority, words) => depth_by_priority(words)?,
        (Kind::Place, [word]) => {
            let place = PLACES.into_iter().find(|p| place_name(*p) == *word);
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

//! Building each scenario's subject on a fresh manual clock and replaying
//! its steps against the core.

use crate::model::{
    LimiterSpec, Metric, Op, PriorityOp, QueueSpec, Scenario, SchedulingOp, SchedulingSpec,
    SubjectSpec, Value,
};
use crate::values::agrees;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use workqueue_core::metrics::bounded_priorities;
use workqueue_core::rate_limit::{
    default_controller_rate_limiter, default_item_based_rate_limiter, ExponentialBackoff, FastSlow,
    MaxOf, MaxWait, RateLimiter, TokenBucket,
};
use workqueue_core::scheduling::PopError;
use workqueue_core::{GetError, ManualClock, Queue, SchedulingQueue, Timestamp};

// ---------------------------------------------------------------------------
// Building subjects
// ---------------------------------------------------------------------------

pub fn build_limiter(spec: &LimiterSpec) -> Result<Box<dyn RateLimiter<u64>>, String> {
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

pub fn build_scheduling_queue(
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

/// A queue as `spec` says. The metrics registry is global, so a named
/// queue's name gets the scenario's name and a number unique in the
/// process appended (expectations never depend on the name).
fn build_queue(spec: &QueueSpec, clock: &ManualClock, scenario: &str) -> Queue<u64> {
    static QUEUES: AtomicUsize = AtomicUsize::new(0);
    let checked = "checked when the scenario was read";
    let mut builder = Queue::builder().clock(clock);
    if let Some(limiter) = &spec.limiter {
        builder = builder.rate_limiter(build_limiter(limiter).expect(checked));
    }
    if let Some(interval) = spec.aging {
        builder = builder.priority_aging(interval).expect(checked);
    }
    if let Some(name) = &spec.name {
        let unique = QUEUES.fetch_add(1, Ordering::Relaxed);
        builder = builder.name(format!("{name}.{scenario}.{unique}"));
    }
    builder.build()
}

enum Subject {
    Queue(Queue<u64>),
    Limiter(Box<dyn RateLimiter<u64>>),
    SchedulingQueue(SchedulingQueue<u64>),
}

fn build_subject(spec: &SubjectSpec, clock: &ManualClock, scenario: &str) -> Subject {
    let checked = "checked when the scenario was read";
    match spec {
        SubjectSpec::Queue(spec) => Subject::Queue(build_queue(spec, clock, scenario)),
        SubjectSpec::Limiter(spec) => Subject::Limiter(build_limiter(spec).expect(checked)),
        SubjectSpec::SchedulingQueue(spec) => {
            Subject::SchedulingQueue(build_scheduling_queue(spec, clock).expect(checked))
        }
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
        (Op::Priority(op), Subject::Queue(queue)) => return Some(perform_with_priority(op, queue)),
        (Op::Metrics(metric), Subject::Queue(queue)) => return Some(read_metric(*metric, queue)),
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
        Op::Forget(_)
        | Op::NumRequeues(_)
        | Op::When(_)
        | Op::Step(_)
        | Op::Set(_)
        | Op::Priority(_)
        | Op::Metrics(_) => unreachable!("{op:?} is handled by `perform`"),
        Op::Scheduling(_) => unreachable!("the parser keeps {op:?} off queues"),
    };
    Some(value)
}

fn perform_with_priority(op: &PriorityOp, queue: &Queue<u64>) -> Value {
    match op {
        PriorityOp::Add(k, p) => Value::Bool(queue.add_with_priority(*k, *p)),
        PriorityOp::AddBatch(p, keys) => {
            Value::Count(queue.add_batch_with_priority(keys.iter().copied(), *p) as u64)
        }
        PriorityOp::AddAfter(k, d, p) => Value::Bool(queue.add_after_with_priority(*k, *d, *p)),
        PriorityOp::AddRateLimited(k, p) => queue
            .add_rate_limited_with_priority(*k, *p)
            .map_or(Value::NoDelay, Value::Duration),
        PriorityOp::Get => match queue.get_with_priority(Some(Duration::ZERO)) {
            Ok((k, p)) => Value::Prioritised(k, p),
            Err(e) => get_error(e),
        },
        PriorityOp::LenByPriority => Value::Levels(
            queue
                .len_by_priority()
                .into_iter()
                .map(|(p, n)| (p, n as u64))
                .collect(),
        ),
    }
}

fn read_metric(metric: Metric, queue: &Queue<u64>) -> Value {
    let m = queue
        .metrics()
        .expect("the parser gives every metrics/ queue a name");
    match metric {
        Metric::Depth => Value::Signed(m.depth),
        Metric::Adds => Value::Count(m.adds),
        Metric::Retries => Value::Count(m.retries),
        Metric::QueueDurationCount => Value::Count(m.queue_duration.count),
        Metric::QueueDurationSum => Value::Seconds(m.queue_duration.sum),
        Metric::WorkDurationCount => Value::Count(m.work_duration.count),
        Metric::WorkDurationSum => Value::Seconds(m.work_duration.sum),
        Metric::UnfinishedWork => Value::Seconds(m.unfinished_work_seconds),
        Metric::LongestRunning => Value::Seconds(m.longest_running_processor_seconds),
        Metric::DepthByPriority => {
            // The snapshot lists every priority; the family's labels, which
            // the step shows, are bounded by the core's own rule.
            let (listed, other) = bounded_priorities(&m.depth_by_priority);
            Value::DepthByPriority(listed.to_vec(), other)
        }
    }
}

fn perform_on_scheduling_queue(op: &SchedulingOp, queue: &SchedulingQueue<u64>) -> Option<Value> {
    use SchedulingOp as S;
    let len = |n: usize| Value::Count(n as u64);
    let value = match op {
        S::Add(k, p) => Value::Bool(queue.add(*k, *p)),
        S::Update(k, p) => Value::Place(queue.update(k, *p)),
        S::Delete(k) => Value::Bool(queue.delete(k)),
        S::Pop => match queue.try_pop() {
            Ok((k, p)) => Value::Prioritised(k, p),
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
pub fn run_scenario(scenario: &Scenario) -> Result<usize, String> {
    let clock = ManualClock::new();
    let subject = build_subject(&scenario.subject, &clock, &scenario.name);
    for step in &scenario.steps {
        let actual = perform(&step.op, &subject, &clock);
        if let Some(expected) = &step.expected {
            let actual = actual.expect("steps that return nothing never take `=>`");
            if !agrees(expected, &actual) {
                return Err(format!(
                    "{}:{}: scenario `{}` (line {}): step `{}`: expected {expected}, got {actual}",
                    scenario.file, step.line, scenario.name, scenario.line, step.text
                ));
            }
        }
    }
    Ok(scenario.steps.len())
}

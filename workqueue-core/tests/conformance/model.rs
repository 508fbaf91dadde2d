//! What a scenario file says: scenarios, subjects, steps and results, and
//! which folder of `conformance/` takes which of them.

use std::time::Duration;
use workqueue_core::scheduling::Place;

pub struct Scenario {
    pub file: String,
    pub line: usize,
    pub name: String,
    pub subject: SubjectSpec,
    pub steps: Vec<Step>,
}

pub enum SubjectSpec {
    Queue(QueueSpec),
    Limiter(LimiterSpec),
    SchedulingQueue(SchedulingSpec),
}

/// `queue [LIMITER] [OPTIONS]`; options only in `priority/` and `metrics/`.
#[derive(Clone, Debug, Default)]
pub struct QueueSpec {
    /// `None` means the default controller rate limiter.
    pub limiter: Option<LimiterSpec>,
    /// `aging=DUR` (`priority/` and `metrics/`).
    pub aging: Option<Duration>,
    /// `name=NAME` (`metrics/` only, and required there).
    pub name: Option<String>,
}

/// The options of a `scheduling_queue` subject; `None` keeps the default.
#[derive(Clone, Debug, Default)]
pub struct SchedulingSpec {
    pub initial_backoff: Option<Duration>,
    pub max_backoff: Option<Duration>,
    pub max_stay: Option<Duration>,
    pub pop_from_backoff: Option<bool>,
}

/// A folder of scenarios: which subjects, options and steps it takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Folder {
    /// `conformance/`: `queue` and `limiter`, which every binding replays.
    TopLevel,
    /// `conformance/scheduling/`: `scheduling_queue` only.
    Scheduling,
    /// `conformance/priority/`: `queue [LIMITER] [aging=DUR]`, the
    /// top-level steps and the `*_with_priority` steps.
    Priority,
    /// `conformance/metrics/`: `queue [LIMITER] name=NAME [aging=DUR]`,
    /// the top-level steps, the `*_with_priority` steps and `metrics`.
    Metrics,
}

impl Folder {
    pub const ALL: [Folder; 4] = [
        Folder::TopLevel,
        Folder::Scheduling,
        Folder::Priority,
        Folder::Metrics,
    ];

    /// The folder's path, as failure reports name it.
    pub fn prefix(self) -> &'static str {
        match self {
            Folder::TopLevel => "conformance",
            Folder::Scheduling => "conformance/scheduling",
            Folder::Priority => "conformance/priority",
            Folder::Metrics => "conformance/metrics",
        }
    }

    /// The folder under `conformance/`; `None` for the top level.
    pub fn subfolder(self) -> Option<&'static str> {
        match self {
            Folder::TopLevel => None,
            Folder::Scheduling => Some("scheduling"),
            Folder::Priority => Some("priority"),
            Folder::Metrics => Some("metrics"),
        }
    }
}

#[derive(Clone, Debug)]
pub enum LimiterSpec {
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

pub struct Step {
    pub line: usize,
    /// The step as written, without its comment.
    pub text: String,
    pub op: Op,
    pub expected: Option<Value>,
}

#[derive(Debug)]
pub enum Op {
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
    /// A `*_with_priority` step (`priority/` and `metrics/`).
    Priority(PriorityOp),
    /// `metrics NAME` (`metrics/` only).
    Metrics(Metric),
}

#[derive(Debug)]
pub enum SchedulingOp {
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

#[derive(Debug)]
pub enum PriorityOp {
    Add(u64, i32),
    /// The priority, then the keys.
    AddBatch(i32, Vec<u64>),
    AddAfter(u64, Duration, i32),
    AddRateLimited(u64, i32),
    Get,
    LenByPriority,
}

/// One of client-go's queue metrics, as `metrics NAME` reads it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Metric {
    Depth,
    Adds,
    Retries,
    QueueDurationCount,
    QueueDurationSum,
    WorkDurationCount,
    WorkDurationSum,
    UnfinishedWork,
    LongestRunning,
    /// `workqueue_depth_by_priority`, bounded as its labels are.
    DepthByPriority,
}

/// Every metric by the name `metrics NAME` gives it.
pub const METRICS: &[(&str, Metric)] = &[
    ("depth", Metric::Depth),
    ("adds", Metric::Adds),
    ("retries", Metric::Retries),
    ("queue_duration_count", Metric::QueueDurationCount),
    ("queue_duration_sum", Metric::QueueDurationSum),
    ("work_duration_count", Metric::WorkDurationCount),
    ("work_duration_sum", Metric::WorkDurationSum),
    ("unfinished_work", Metric::UnfinishedWork),
    ("longest_running", Metric::LongestRunning),
    ("depth_by_priority", Metric::DepthByPriority),
];

/// A result, as written after `=>` and as produced by a step.
#[derive(Debug, PartialEq)]
pub enum Value {
    Bool(bool),
    Count(u64),
    /// `metrics depth`: a gauge, so it may in principle go below zero.
    Signed(i64),
    Duration(Duration),
    /// A metric kept as seconds in an `f64` (only ever an actual result;
    /// it is compared with an expected `Duration` within 1 ns).
    Seconds(f64),
    /// `add_rate_limited` on a queue that is shutting down: `none`.
    NoDelay,
    Key(u64),
    Keys(Vec<u64>),
    Empty,
    ShutDown,
    /// A key and its priority: a scheduling queue's pop, or
    /// `get_with_priority`.
    Prioritised(u64, i32),
    /// `len_by_priority`: ready keys per priority, highest first; written
    /// `none` when empty.
    Levels(Vec<(i32, u64)>),
    /// `metrics depth_by_priority`: the listed levels (at most
    /// `MAX_PRIORITY_LABELS - 1`, highest first), then the ready keys at
    /// the priorities beyond them, summed (`other:N`; `None` when there
    /// are none); written `none` when both are empty.
    DepthByPriority(Vec<(i32, u64)>, Option<u64>),
    /// Where an item is; `None` is written `none`.
    Place(Option<Place>),
    /// A pop of a closed scheduling queue.
    Closed,
}

/// The shape of a step's result, which decides how `=> ...` is read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Nothing,
    Bool,
    Count,
    Signed,
    Duration,
    DurationOrNone,
    /// A duration compared within 1 ns (a metric kept in seconds).
    Seconds,
    Key,
    Keys,
    /// `K P`, `empty` or `closed`.
    Popped,
    /// `K P`, `empty` or `shutdown`.
    KeyWithPriority,
    Levels,
    /// `P:N ... [other:N]` or `none`.
    DepthByPriority,
    Place,
}

/// Every top-level step, with how it is written, for error messages.
pub const USAGE: &[(&str, &str)] = &[
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
pub const SCHEDULING_USAGE: &[(&str, &str)] = &[
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

/// The steps only `priority/` and `metrics/` take, with how they are
/// written.
pub const PRIORITY_USAGE: &[(&str, &str)] = &[
    ("add_with_priority", "add_with_priority K P"),
    (
        "add_batch_with_priority",
        "add_batch_with_priority P K1 K2 ...",
    ),
    ("add_after_with_priority", "add_after_with_priority K DUR P"),
    (
        "add_rate_limited_with_priority",
        "add_rate_limited_with_priority K P",
    ),
    ("get_with_priority", "get_with_priority"),
    ("len_by_priority", "len_by_priority"),
];

impl Op {
    pub fn result_kind(&self) -> Kind {
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
            Op::Priority(op) => op.result_kind(),
            Op::Metrics(metric) => metric.result_kind(),
        }
    }

    pub fn allowed_on(&self, subject: &SubjectSpec) -> bool {
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

impl PriorityOp {
    fn result_kind(&self) -> Kind {
        match self {
            PriorityOp::Add(..) | PriorityOp::AddAfter(..) => Kind::Bool,
            PriorityOp::AddBatch(..) => Kind::Count,
            PriorityOp::AddRateLimited(..) => Kind::DurationOrNone,
            PriorityOp::Get => Kind::KeyWithPriority,
            PriorityOp::LenByPriority => Kind::Levels,
        }
    }
}

impl Metric {
    fn result_kind(self) -> Kind {
        match self {
            Metric::Depth => Kind::Signed,
            Metric::Adds
            | Metric::Retries
            | Metric::QueueDurationCount
            | Metric::WorkDurationCount => Kind::Count,
            Metric::QueueDurationSum
            | Metric::WorkDurationSum
            | Metric::UnfinishedWork
            | Metric::LongestRunning => Kind::Seconds,
            Metric::DepthByPriority => Kind::DepthByPriority,
        }
    }
}

//! The runner itself: it must notice wrong results and malformed files,
//! and keep each folder's subjects, options and steps in that folder.

use crate::folders::duplicate_names;
use crate::model::Folder;
use crate::parse::{parse_file, parse_file_in};
use crate::replay::run_scenario;
use crate::values::{duration, show_duration};
use std::time::Duration;

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

/// Replays `text`, a scenario of `folder` that runs `steps` steps; then
/// replaces each `right` step by `wrong` and checks that the replay
/// reports `message`.
fn right_passes_and_wrong_fails(
    folder: Folder,
    text: &str,
    steps: usize,
    cases: &[(&str, &str, &str)],
) {
    let scenarios = parse_file_in(folder, "f.scn", text).expect("well formed");
    assert_eq!(run_scenario(&scenarios[0]), Ok(steps));
    for (right, wrong, message) in cases {
        let changed = text.replace(right, wrong);
        assert_ne!(changed, text, "{right}");
        let scenarios = parse_file_in(folder, "f.scn", &changed).expect("well formed");
        let failure = run_scenario(&scenarios[0]).expect_err(wrong);
        assert!(failure.contains(message), "{failure}");
    }
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
    right_passes_and_wrong_fails(
        Folder::Scheduling,
        SCHEDULING_KINDS,
        19,
        &[
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
        ],
    );
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

// ---------------------------------------------------------------------------
// The priority and metrics folders
// ---------------------------------------------------------------------------

/// Parses `text` as a file of `folder` and returns the error it must give.
fn rejected(folder: Folder, text: &str) -> String {
    match parse_file_in(folder, "f.scn", text) {
        Ok(_) => panic!("{folder:?} accepted:\n{text}"),
        Err(error) => error,
    }
}

const PRIORITY_KINDS: &str = "\
scenario prio_kinds
queue exp(1ms,1s) aging=1s
len_by_priority => none
add_with_priority 1 -3 => true
add_with_priority 2 7 => true
add 3 => true
len_by_priority => 7:1 0:1 -3:1
add_after_with_priority 4 5ms 2 => true
add_rate_limited_with_priority 5 9 => 1ms
get_with_priority => 2 7
step 5ms
len_by_priority => 9:1 2:1 0:1 -3:1
get_with_priority => 5 9
get_batch 10 => 4 3 1
len_by_priority => none
get_with_priority => empty
shutdown
add_with_priority 6 1 => false
add_after_with_priority 6 1ms 1 => false
add_rate_limited_with_priority 6 1 => none
get_with_priority => shutdown
end
";

#[test]
fn priority_steps_are_read_and_compared() {
    right_passes_and_wrong_fails(
        Folder::Priority,
        PRIORITY_KINDS,
        19,
        &[
            (
                "get_with_priority => 2 7",
                "get_with_priority => 2 6",
                "expected 2 6, got 2 7",
            ),
            (
                "len_by_priority => 9:1 2:1 0:1 -3:1",
                "len_by_priority => 9:1 2:1 0:1",
                "expected 9:1 2:1 0:1, got 9:1 2:1 0:1 -3:1",
            ),
            (
                "len_by_priority => none\nget_with_priority => empty",
                "len_by_priority => 0:1\nget_with_priority => empty",
                "expected 0:1, got none",
            ),
            (
                "get_with_priority => shutdown",
                "get_with_priority => empty",
                "expected empty, got shutdown",
            ),
            (
                "add_rate_limited_with_priority 5 9 => 1ms",
                "add_rate_limited_with_priority 5 9 => none",
                "expected none, got 1ms",
            ),
        ],
    );
}

const METRICS_KINDS: &str = "\
scenario metrics_kinds
queue exp(1ms,1s) name=kinds
metrics longest_running => 0ns
add 1 => true
step 50us
get => 1
metrics queue_duration_count => 1
metrics queue_duration_sum => 50us
metrics depth => 0
add_rate_limited 2 => 1ms
metrics retries => 1
step 2ms
metrics unfinished_work => 2ms
metrics longest_running => 2ms
done 1 => true
metrics work_duration_count => 1
metrics work_duration_sum => 2ms
metrics adds => 2
metrics depth => 1
end
";

#[test]
fn metrics_steps_are_read_and_compared_within_a_nanosecond() {
    let sum = "metrics queue_duration_sum => 50us";
    for close in ["50001ns", "49999ns"] {
        let text = METRICS_KINDS.replace(sum, &format!("metrics queue_duration_sum => {close}"));
        let scenarios = parse_file_in(Folder::Metrics, "m.scn", &text).expect("well formed");
        assert_eq!(
            run_scenario(&scenarios[0]),
            Ok(17),
            "{close} is within 1 ns"
        );
    }
    right_passes_and_wrong_fails(
        Folder::Metrics,
        METRICS_KINDS,
        17,
        &[
            (
                sum,
                "metrics queue_duration_sum => 50002ns",
                "expected 50002ns, got 50us",
            ),
            (
                "metrics depth => 1",
                "metrics depth => -1",
                "expected -1, got 1",
            ),
            (
                "metrics adds => 2",
                "metrics adds => 1",
                "expected 1, got 2",
            ),
            (
                "metrics unfinished_work => 2ms",
                "metrics unfinished_work => 2001us",
                "expected 2001us, got 2ms",
            ),
            (
                "metrics longest_running => 0ns",
                "metrics longest_running => 2ns",
                "expected 2ns, got 0ns",
            ),
        ],
    );
}

/// Every top-level queue step, which `priority/` and `metrics/` take too.
const TOP_LEVEL_QUEUE_STEPS: &str = "\
add 1 => true
add_batch 2 3 => 2
add_after 4 1ms => true
add_rate_limited 5 => 5ms
forget 5
num_requeues 5 => 0
len => 3
processing_len => 0
delayed_len => 2
get => 1
get_batch 10 => 2 3
done 1 => true
step 1ms
set 10ms
shutting_down => false
shutdown
drain_for 0ms => false
";

#[test]
fn each_new_folder_takes_every_top_level_step() {
    for (folder, subject) in [
        (Folder::Priority, "queue"),
        (Folder::Priority, "queue default_controller aging=1ms"),
        (Folder::Metrics, "queue name=steps"),
        (Folder::Metrics, "queue exp(5ms,1s) name=steps"),
        (Folder::Metrics, "queue name=steps aging=1ms"),
        (
            Folder::Metrics,
            "queue default_controller aging=1ms name=steps",
        ),
    ] {
        let text = format!("scenario a\n{subject}\n{TOP_LEVEL_QUEUE_STEPS}end\n");
        let scenarios = parse_file_in(folder, "f.scn", &text)
            .unwrap_or_else(|e| panic!("{folder:?} `{subject}`: {e}"));
        assert_eq!(
            run_scenario(&scenarios[0]),
            Ok(17),
            "{folder:?} `{subject}`"
        );
        let when = format!("scenario a\n{subject}\nwhen 1 => 1ms\nend\n");
        assert!(rejected(folder, &when).contains("`when` is not a step of a queue"));
    }
}

#[test]
fn each_folder_keeps_its_options_and_steps() {
    let cases = [
        // The top level stays exactly as strict: no options, no new steps.
        (
            Folder::TopLevel,
            "queue aging=1s",
            "len",
            "f.scn:2: `aging=1s`: the top level takes no options",
        ),
        (
            Folder::TopLevel,
            "queue exp(1ms,1s) name=q",
            "len",
            "`name=q`: the top level takes no options",
        ),
        (
            Folder::TopLevel,
            "limiter default_item name=q",
            "when 1",
            "the top level takes no options",
        ),
        (
            Folder::TopLevel,
            "queue",
            "add_with_priority 1 2 => true",
            "f.scn:3: `add_with_priority` is a step of conformance/priority/ and \
             conformance/metrics/ only",
        ),
        (
            Folder::TopLevel,
            "queue",
            "get_with_priority",
            "`get_with_priority` is a step of conformance/priority/ and conformance/metrics/ only",
        ),
        (
            Folder::TopLevel,
            "queue",
            "len_by_priority => none",
            "`len_by_priority` is a step of conformance/priority/ and conformance/metrics/ only",
        ),
        (
            Folder::TopLevel,
            "queue",
            "metrics depth => 0",
            "f.scn:3: `metrics` is a step of conformance/metrics/ only",
        ),
        (
            Folder::TopLevel,
            "queue",
            "metrics depth_by_priority => none",
            "`metrics` is a step of conformance/metrics/ only",
        ),
        // priority/: `aging=`, the priority steps, queues only.
        (
            Folder::Priority,
            "queue name=q",
            "len",
            "f.scn:2: the option `name=` belongs in conformance/metrics/",
        ),
        (
            Folder::Priority,
            "queue",
            "metrics depth => 0",
            "`metrics` is a step of conformance/metrics/ only",
        ),
        (
            Folder::Priority,
            "queue aging=1s",
            "metrics depth_by_priority => 0:1",
            "`metrics` is a step of conformance/metrics/ only",
        ),
        (
            Folder::Priority,
            "limiter default_item",
            "when 1",
            "conformance/priority/ takes only `queue [LIMITER] [aging=DUR]` subjects",
        ),
        (
            Folder::Priority,
            "scheduling_queue",
            "pop",
            "`scheduling_queue` scenarios belong in conformance/scheduling/",
        ),
        // metrics/: `name=` (required), `aging=`, the metrics step and the
        // priority steps, queues only.
        (
            Folder::Metrics,
            "queue",
            "len",
            "f.scn:2: a conformance/metrics/ queue needs `name=NAME`",
        ),
        (
            Folder::Metrics,
            "queue exp(1ms,1s)",
            "len",
            "needs `name=NAME`",
        ),
        (
            Folder::Metrics,
            "queue aging=1s",
            "len",
            "needs `name=NAME`",
        ),
        (
            Folder::Metrics,
            "limiter default_item",
            "when 1",
            "conformance/metrics/ takes only `queue [LIMITER] name=NAME [aging=DUR]` subjects",
        ),
        // scheduling/ knows none of them.
        (
            Folder::Scheduling,
            "scheduling_queue",
            "get_with_priority",
            "unknown step `get_with_priority`",
        ),
        (
            Folder::Scheduling,
            "scheduling_queue",
            "metrics depth",
            "unknown step `metrics`",
        ),
    ];
    for (folder, subject, step, message) in cases {
        let error = rejected(folder, &format!("scenario a\n{subject}\n{step}\nend\n"));
        assert!(
            error.contains(message),
            "{folder:?}: {error:?} lacks {message:?}"
        );
    }
}

#[test]
fn malformed_priority_and_metrics_scenarios_are_rejected() {
    let cases = [
        (
            Folder::Priority,
            "queue aging=0ms",
            "len",
            "invalid aging interval",
        ),
        (
            Folder::Priority,
            "queue aging=1s aging=2s",
            "len",
            "option `aging` is given twice",
        ),
        (
            Folder::Priority,
            "queue aging",
            "len",
            "`aging` is not a limiter spec",
        ),
        (
            Folder::Priority,
            "queue aging=1s exp(1ms,1s)",
            "len",
            "the LIMITER comes first",
        ),
        (
            Folder::Priority,
            "queue aging=fast",
            "len",
            "`fast` is not a duration",
        ),
        (
            Folder::Priority,
            "queue speed=1",
            "len",
            "`speed` is not an option: only `aging`",
        ),
        (
            Folder::Priority,
            "queue exp(0ms,1s)",
            "len",
            "invalid base delay",
        ),
        (
            Folder::Priority,
            "queue",
            "add_with_priority 1",
            "`add_with_priority 1`: usage is `add_with_priority K P`",
        ),
        (
            Folder::Priority,
            "queue",
            "add_with_priority 1 x",
            "bad priority",
        ),
        (
            Folder::Priority,
            "queue",
            "add_with_priority 1 2147483648",
            "does not fit in 32 bits",
        ),
        (
            Folder::Priority,
            "queue",
            "add_batch_with_priority 1",
            "usage is `add_batch_with_priority P K1 K2 ...`",
        ),
        (
            Folder::Priority,
            "queue",
            "add_batch_with_priority x 1",
            "bad priority",
        ),
        (
            Folder::Priority,
            "queue",
            "add_batch_with_priority 1 2 => true",
            "`true` is not a non-negative integer",
        ),
        (
            Folder::Priority,
            "queue",
            "add_after_with_priority 1 5 2",
            "`5` is not a duration",
        ),
        (
            Folder::Priority,
            "queue",
            "add_after_with_priority 1 5ms",
            "usage is `add_after_with_priority K DUR P`",
        ),
        (
            Folder::Priority,
            "queue",
            "add_rate_limited_with_priority 1 2 => soon",
            "`soon` is not a duration",
        ),
        (
            Folder::Priority,
            "queue",
            "get_with_priority 1",
            "usage is `get_with_priority`",
        ),
        (
            Folder::Priority,
            "queue",
            "get_with_priority => 1",
            "unexpected result `1`",
        ),
        (
            Folder::Priority,
            "queue",
            "get_with_priority => 1 2 3",
            "unexpected result `1 2 3`",
        ),
        (
            Folder::Priority,
            "queue",
            "len_by_priority => 5",
            "`5` is not a level `P:N`",
        ),
        (
            Folder::Priority,
            "queue",
            "len_by_priority => none 0:1",
            "`none` is not a level",
        ),
        (
            Folder::Priority,
            "queue",
            "len_by_priority => 0:1 5:1",
            "highest priority first",
        ),
        (
            Folder::Priority,
            "queue",
            "len_by_priority => 1:1 1:2",
            "each once",
        ),
        (
            Folder::Priority,
            "queue",
            "len_by_priority => 5:0",
            "an empty level is never listed",
        ),
        (
            Folder::Priority,
            "queue",
            "len_by_priority => x:1",
            "bad priority",
        ),
        (
            Folder::Metrics,
            "queue name=",
            "len",
            "`name=` needs a NAME",
        ),
        (
            Folder::Metrics,
            "queue name=a name=b",
            "len",
            "option `name` is given twice",
        ),
        (
            Folder::Metrics,
            "queue name=a speed=1",
            "len",
            "`speed` is not an option: only `name` and `aging`",
        ),
        (
            Folder::Metrics,
            "queue name=a aging=0ms",
            "len",
            "invalid aging interval",
        ),
        (
            Folder::Metrics,
            "queue aging=1s name=a aging=2s",
            "len",
            "option `aging` is given twice",
        ),
        (
            Folder::Metrics,
            "queue name=a aging=1s exp(1ms,1s)",
            "len",
            "the LIMITER comes first",
        ),
        (
            Folder::Metrics,
            "queue name=a",
            "add_with_priority 1 2147483648",
            "does not fit in 32 bits",
        ),
        (
            Folder::Metrics,
            "queue name=a",
            "len_by_priority => 0:1 other:1",
            "bad priority: `other` is not an integer",
        ),
        (
            Folder::Metrics,
            "queue name=a",
            "metrics",
            "usage is `metrics NAME`",
        ),
        (
            Folder::Metrics,
            "queue name=a",
            "metrics depth adds",
            "usage is `metrics NAME`",
        ),
        (
            Folder::Metrics,
            "queue name=a",
            "metrics speed => 0",
            "`speed` is not a metric",
        ),
        (
            Folder::Metrics,
            "queue name=a",
            "metrics depth => x",
            "`x` is not an integer",
        ),
        (
            Folder::Metrics,
            "queue name=a",
            "metrics adds => -1",
            "`-1` is not a non-negative integer",
        ),
        (
            Folder::Metrics,
            "queue name=a",
            "metrics queue_duration_sum => 1.5ms",
            "`1.5ms` is not a duration",
        ),
        (
            Folder::Metrics,
            "queue name=a",
            "metrics work_duration_count => 1ms",
            "`1ms` is not a non-negative integer",
        ),
    ];
    for (folder, subject, step, message) in cases {
        let error = rejected(folder, &format!("scenario a\n{subject}\n{step}\nend\n"));
        assert!(
            error.contains(message),
            "{folder:?}: {error:?} lacks {message:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// The metrics of a queue with priorities (`metrics depth_by_priority`)
// ---------------------------------------------------------------------------

#[test]
fn metrics_takes_every_priority_step() {
    let subject = "queue exp(1ms,1s) aging=1s\n";
    assert!(PRIORITY_KINDS.contains(subject));
    for named in [
        "queue exp(1ms,1s) aging=1s name=p\n",
        "queue exp(1ms,1s) name=p aging=1s\n",
    ] {
        let text = PRIORITY_KINDS.replace(subject, named);
        let scenarios = parse_file_in(Folder::Metrics, "m.scn", &text)
            .unwrap_or_else(|e| panic!("`{named}`: {e}"));
        assert_eq!(run_scenario(&scenarios[0]), Ok(19), "`{named}`");
    }
}

const DEPTH_BY_PRIORITY_KINDS: &str = "\
scenario depth_kinds
queue exp(1ms,1s) name=depths
metrics depth_by_priority => none
add_with_priority 1 -3 => true
add_batch_with_priority 7 2 3 => 2
add_after_with_priority 4 5ms 2 => true
metrics depth_by_priority => 7:2 -3:1
get_with_priority => 2 7
add_with_priority 2 9 => true
metrics depth_by_priority => 7:1 -3:1
metrics depth => 3
step 5ms
done 2 => true
metrics depth_by_priority => 9:1 7:1 2:1 -3:1
metrics depth => 4
get_batch 10 => 2 3 4 1
metrics depth_by_priority => none
end
";

#[test]
fn depth_by_priority_is_read_and_compared() {
    right_passes_and_wrong_fails(
        Folder::Metrics,
        DEPTH_BY_PRIORITY_KINDS,
        15,
        &[
            (
                "metrics depth_by_priority => 7:2 -3:1",
                "metrics depth_by_priority => 7:1 -3:1",
                "expected 7:1 -3:1, got 7:2 -3:1",
            ),
            (
                "metrics depth_by_priority => 7:1 -3:1",
                "metrics depth_by_priority => 7:1",
                "expected 7:1, got 7:1 -3:1",
            ),
            (
                "metrics depth_by_priority => 9:1 7:1 2:1 -3:1",
                "metrics depth_by_priority => 9:1 7:1 2:1 -2:1",
                "expected 9:1 7:1 2:1 -2:1, got 9:1 7:1 2:1 -3:1",
            ),
            (
                "metrics depth_by_priority => none\nadd_with_priority",
                "metrics depth_by_priority => 0:1\nadd_with_priority",
                "expected 0:1, got none",
            ),
            (
                "get_batch 10 => 2 3 4 1\nmetrics depth_by_priority => none",
                "get_batch 10 => 2 3 4 1\nmetrics depth_by_priority => -3:1",
                "expected -3:1, got none",
            ),
        ],
    );
}

/// `P:1` for each of `priorities`, highest first as given.
fn ones(priorities: impl Iterator<Item = i32>) -> String {
    let words: Vec<String> = priorities.map(|p| format!("{p}:1")).collect();
    words.join(" ")
}

/// A metrics/ scenario with one key at each priority from 17 down to 1,
/// then `metrics depth_by_priority => {expected}`.
fn seventeen_priorities(expected: &str) -> String {
    let adds: String = (1..=17)
        .map(|p| format!("add_with_priority {p} {p} => true\n"))
        .collect();
    format!("scenario bounded\nqueue name=b\n{adds}metrics depth_by_priority => {expected}\nend\n")
}

#[test]
fn depth_by_priority_lists_15_priorities_and_sums_the_rest() {
    let listed = ones((3..=17).rev());
    let right = seventeen_priorities(&format!("{listed} other:2"));
    let scenarios = parse_file_in(Folder::Metrics, "m.scn", &right).expect("well formed");
    assert_eq!(run_scenario(&scenarios[0]), Ok(18));
    for (wrong, message) in [
        (
            format!("{listed} other:1"),
            "other:1, got 17:1 16:1 15:1 14:1 13:1 12:1 11:1 10:1 9:1 8:1 7:1 6:1 5:1 4:1 3:1 \
             other:2",
        ),
        (format!("{listed} other:3"), "other:3, got 17:1"),
        (
            format!("{} other:3", ones((2..=16).rev())),
            "expected 16:1 15:1",
        ),
    ] {
        let text = seventeen_priorities(&wrong);
        let scenarios = parse_file_in(Folder::Metrics, "m.scn", &text).expect("well formed");
        let failure = run_scenario(&scenarios[0]).expect_err(&wrong);
        assert!(failure.contains(message), "{failure}");
    }
    // Every priority, unbounded, is still what len_by_priority lists.
    let every = ones((1..=17).rev());
    let text = right.replace(
        "metrics depth_by_priority",
        &format!("len_by_priority => {every}\nmetrics depth_by_priority"),
    );
    let scenarios = parse_file_in(Folder::Metrics, "m.scn", &text).expect("well formed");
    assert_eq!(run_scenario(&scenarios[0]), Ok(19));
}

#[test]
fn malformed_depth_by_priority_expectations_are_rejected() {
    let fifteen = ones((1..=15).rev());
    let sixteen = ones((0..=15).rev());
    let fourteen = ones((2..=15).rev());
    let cases = [
        ("0:1 5:1".to_owned(), "highest priority first"),
        ("5:1 5:2".to_owned(), "each once"),
        ("5:0".to_owned(), "an empty level is never listed"),
        ("5".to_owned(), "`5` is not a level `P:N`"),
        ("none 0:1".to_owned(), "`none` is not a level"),
        ("0:1 none".to_owned(), "`none` is not a level"),
        ("x:1".to_owned(), "bad priority"),
        (
            "other:1".to_owned(),
            "`other:1` after 0 levels: `other` follows exactly 15",
        ),
        (
            format!("{fourteen} other:1"),
            "`other:1` after 14 levels: `other` follows exactly 15",
        ),
        (
            format!("{fifteen} other:0"),
            "`other:0`: `other` is listed only when",
        ),
        (
            format!("{fifteen} other:x"),
            "`x` is not a non-negative integer",
        ),
        (
            format!("{fifteen} other:-1"),
            "`-1` is not a non-negative integer",
        ),
        (
            format!("{fifteen} other:1 other:1"),
            "`other:1`: `other:N` comes last, once",
        ),
        (
            format!("other:1 {fifteen}"),
            "`other:1`: `other:N` comes last, once",
        ),
        (
            sixteen.clone(),
            "16 levels: at most 15 priorities are listed",
        ),
        (
            format!("{sixteen} other:1"),
            "16 levels: at most 15 priorities are listed",
        ),
        ("other".to_owned(), "`other` is not a level `P:N`"),
    ];
    for (expected, message) in cases {
        let text =
            format!("scenario a\nqueue name=a\nmetrics depth_by_priority => {expected}\nend\n");
        let error = rejected(Folder::Metrics, &text);
        assert!(
            error.starts_with("f.scn:3: ") && error.contains(message),
            "{error:?} lacks {message:?}"
        );
    }
    // A step without `=>` checks nothing, and takes no argument.
    let unchecked = "scenario a\nqueue name=a\nmetrics depth_by_priority\nend\n";
    assert!(parse_file_in(Folder::Metrics, "f.scn", unchecked).is_ok());
    let error = rejected(
        Folder::Metrics,
        "scenario a\nqueue name=a\nmetrics depth_by_priority 5 => none\nend\n",
    );
    assert!(error.contains("usage is `metrics NAME`"), "{error}");
}

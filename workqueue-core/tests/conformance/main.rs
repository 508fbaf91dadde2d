//! Replays every language-neutral scenario in `conformance/` against the
//! core. The format is described in `conformance/README.md`; the other
//! bindings replay the same files.
//!
//! The top level holds what every binding offers. Each subfolder holds a
//! feature that arrived later and takes subjects, options and steps that
//! the top level refuses, so a binding replays it once it offers the
//! feature: `scheduling/` (the scheduling queue), `priority/` (priorities
//! in the work queue), `metrics/` (client-go's queue metrics). Scenario
//! names are unique across all of them.
//!
//! A folder is parsed whole before anything runs, so a malformed file
//! fails the test with its location even when every other scenario passes.
//! A failing scenario stops at its first wrong step; the other scenarios
//! still run, and every failure is reported with `file:line`.
//!
//! Layout: `model` (what a file says), `values` (reading and showing
//! values), `parse` (files, subjects, steps), `replay` (building subjects,
//! running steps), `folders` (finding and loading files), and
//! `runner_tests` (the runner must notice wrong results and malformed
//! files).

mod folders;
mod model;
mod parse;
mod replay;
mod runner_tests;
mod values;

use folders::{duplicate_names, load_or_panic, replay_all};
use model::Folder;

#[test]
fn every_scenario_replays_on_the_core() {
    replay_all(&load_or_panic(&[Folder::TopLevel]));
}

#[test]
fn every_scheduling_scenario_replays_on_the_core() {
    replay_all(&load_or_panic(&[Folder::Scheduling]));
}

#[test]
fn every_priority_scenario_replays_on_the_core() {
    replay_all(&load_or_panic(&[Folder::Priority]));
}

#[test]
fn every_metrics_scenario_replays_on_the_core() {
    replay_all(&load_or_panic(&[Folder::Metrics]));
}

#[test]
fn scenario_names_are_unique_across_every_folder() {
    let every = load_or_panic(&Folder::ALL);
    let clashes = duplicate_names(&every);
    assert!(clashes.is_empty(), "{}", clashes.join("\n"));
}

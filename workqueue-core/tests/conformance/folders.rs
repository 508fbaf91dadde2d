//! Finding, loading and replaying the scenario files of each folder.

use crate::model::{Folder, Scenario};
use crate::parse::parse_file_in;
use crate::replay::run_scenario;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance")
}

fn folder_dir(folder: Folder) -> PathBuf {
    match folder.subfolder() {
        None => conformance_dir(),
        Some(sub) => conformance_dir().join(sub),
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
pub fn load_scenarios(folder: Folder) -> Result<Vec<Scenario>, Vec<String>> {
    let dir = &folder_dir(folder);
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

/// Every scenario of the folders, in order; panics with every reason one
/// cannot be read.
pub fn load_or_panic(folders: &[Folder]) -> Vec<Scenario> {
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for &folder in folders {
        match load_scenarios(folder) {
            Ok(found) => scenarios.extend(found),
            Err(found) => errors.extend(found),
        }
    }
    assert!(
        errors.is_empty(),
        "malformed scenario files:\n{}",
        errors.join("\n")
    );
    scenarios
}

/// Names must be unique across every folder, so a binding's report of a
/// failing scenario names exactly one.
pub fn duplicate_names(scenarios: &[Scenario]) -> Vec<String> {
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

/// Replays every scenario, reporting every failure.
pub fn replay_all(scenarios: &[Scenario]) {
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

//! The Rust benchmark of workqueue-core: runs each workload a few times and
//! prints the median figures next to the project's targets and, where a
//! natural Rust peer exists, the peer measured in the same run.
//!
//! ```text
//! cargo run --release -p workqueue-bench [-- --reps N] [-- --quick]
//! ```
//!
//! No figure passes or fails: this prints numbers for people to read.

mod alloc;
mod naive;
mod stats;
mod table;
mod workloads;

use std::time::{Instant, SystemTime, UNIX_EPOCH};
use table::Table;
use workloads::Config;

#[global_allocator]
static ALLOC: alloc::CountingAlloc = alloc::CountingAlloc;

/// A workload: measures, then adds its rows.
type Workload = fn(Config, &mut Table);

/// Every workload, by the name `--only` takes, in the order they run.
const WORKLOADS: [(&str, Workload); 7] = [
    ("cycle", workloads::cycle::run),
    ("prefill", workloads::prefill::run),
    ("mpmc", workloads::mpmc::run),
    ("collapse", workloads::collapse::run),
    ("delay", workloads::delay::run),
    ("rate", workloads::rate_limited::run),
    ("scheduling", workloads::scheduling::run),
];

const USAGE: &str = "usage: workqueue-bench [--reps N] [--quick] [--only NAME,...]
  --reps N        repetitions per figure, the median is shown (default 5)
  --quick         a smoke run: every size divided by 20
  --only NAMES    only these workloads: cycle, prefill, mpmc, collapse, delay, rate,
                  scheduling";

/// The configuration, and the workloads to run (`None`: all).
fn parse_args() -> Result<(Config, Option<Vec<String>>), String> {
    let mut only = None;
    let mut config = Config {
        reps: 5,
        divisor: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--reps" => {
                let value = args.next().ok_or("--reps needs a number")?;
                config.reps = value
                    .parse()
                    .ok()
                    .filter(|reps| *reps > 0)
                    .ok_or(format!("--reps: {value:?} is not a positive number"))?;
            }
            "--quick" => config.divisor = 20,
            "--only" => {
                let value = args.next().ok_or("--only needs workload names")?;
                let names: Vec<String> = value.split(',').map(str::to_owned).collect();
                if let Some(bad) = names
                    .iter()
                    .find(|n| !WORKLOADS.iter().any(|(w, _)| w == n))
                {
                    return Err(format!("--only: no workload named {bad:?}"));
                }
                only = Some(names);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((config, only))
}

fn main() {
    let (config, only) = parse_args().unwrap_or_else(|error| {
        eprintln!("{error}\n{USAGE}");
        std::process::exit(2);
    });
    let started = Instant::now();
    eprintln!(
        "workqueue-core benchmark: {} repetitions per figure",
        config.reps
    );
    let mut table = Table::default();
    for (name, run) in WORKLOADS {
        if only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| o == name))
        {
            run(config, &mut table);
        }
    }

    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "workqueue-core benchmark, {} UTC, {cpus} CPUs, median of {} runs{}",
        utc_now(),
        config.reps,
        if config.divisor > 1 {
            " (--quick: sizes ÷ 20)"
        } else {
            ""
        }
    );
    println!(
        "“vs peer”: how many times better workqueue-core did on the same workload in this run"
    );
    println!();
    print!("{}", table.render());
    println!();
    println!("total time {:.1} s", started.elapsed().as_secs_f64());
}

/// "YYYY-MM-DD HH:MM" in UTC, without a date crate (days to civil date by
/// Howard Hinnant's algorithm).
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60
    )
}

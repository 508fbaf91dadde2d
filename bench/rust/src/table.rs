//! The printed table: one row per figure, grouped by workload.

use crate::stats::Sample;

/// How a figure reads, and which direction is better.
#[derive(Clone, Copy, Debug)]
pub enum Unit {
    /// Nanoseconds per operation (lower is better); the operation's name.
    NsPer(&'static str),
    /// Keys per second (higher is better).
    KeysPerSec,
    /// Bytes per key (lower is better).
    BytesPerKey,
    /// Microseconds (lower is better).
    Micros,
    /// A plain count; not compared.
    Count(&'static str),
}

impl Unit {
    fn format(self, value: f64) -> String {
        match self {
            Unit::NsPer(op) => format!("{} ns/{op}", short(value)),
            Unit::KeysPerSec => format!("{:.2} M keys/s", value / 1e6),
            Unit::BytesPerKey => format!("{value:.1} B/key"),
            Unit::Micros => format!("{} µs", short(value)),
            Unit::Count(what) => format!("{} {what}", thousands(value.round() as u64)),
        }
    }

    /// How many times better `core` is than `peer` (> 1: core better).
    fn advantage(self, core: f64, peer: f64) -> Option<f64> {
        match self {
            Unit::NsPer(_) | Unit::BytesPerKey | Unit::Micros => Some(peer / core),
            Unit::KeysPerSec => Some(core / peer),
            Unit::Count(_) => None,
        }
    }
}

/// Three significant-ish digits: 0.123, 12.3, 123, 12345.
fn short(value: f64) -> String {
    if value >= 100.0 {
        thousands(value.round() as u64)
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else if value >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

/// 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

struct Row {
    workload: String,
    subject: String,
    unit: Unit,
    sample: Sample,
    target: String,
    versus: String,
}

/// Rows in the order they were measured.
#[derive(Default)]
pub struct Table {
    rows: Vec<Row>,
}

/// The implementation under test, as named in the table.
pub const CORE: &str = "workqueue-core";

impl Table {
    /// A figure of workqueue-core, with the target if it has one.
    pub fn core(&mut self, workload: &str, unit: Unit, sample: Sample, target: Option<&str>) {
        self.push(
            workload,
            CORE,
            unit,
            sample,
            target.unwrap_or(""),
            String::new(),
        );
    }

    /// A figure of a peer, with how workqueue-core compares to it on the
    /// same workload (`core` is the core's figure).
    pub fn peer(
        &mut self,
        workload: &str,
        subject: &str,
        unit: Unit,
        sample: Sample,
        core: Sample,
    ) {
        let versus = match unit.advantage(core.median, sample.median) {
            Some(times) if (0.995..1.005).contains(&times) => "same".to_owned(),
            Some(times) if times >= 1.0 => format!("core {times:.2}× better"),
            Some(times) => format!("core {:.2}× worse", 1.0 / times),
            None => String::new(),
        };
        self.push(workload, subject, unit, sample, "", versus);
    }

    /// A figure compared with nothing, under its own subject.
    pub fn figure(
        &mut self,
        workload: &str,
        subject: &str,
        unit: Unit,
        sample: Sample,
        target: Option<&str>,
    ) {
        let target = target.unwrap_or("");
        self.push(workload, subject, unit, sample, target, String::new());
    }

    fn push(
        &mut self,
        workload: &str,
        subject: &str,
        unit: Unit,
        sample: Sample,
        target: &str,
        versus: String,
    ) {
        self.rows.push(Row {
            workload: workload.to_owned(),
            subject: subject.to_owned(),
            unit,
            sample,
            target: target.to_owned(),
            versus,
        });
    }

    /// The table as text, columns aligned, the workload named once per group.
    pub fn render(&self) -> String {
        let header = [
            "workload",
            "implementation",
            "median",
            "min … max",
            "target",
            "vs peer",
        ];
        let mut cells: Vec<[String; 6]> = Vec::new();
        let mut previous: Option<&str> = None;
        for row in &self.rows {
            let workload = if previous == Some(row.workload.as_str()) {
                String::new()
            } else {
                row.workload.clone()
            };
            previous = Some(&row.workload);
            let spread = if row.sample.min == row.sample.max {
                String::new()
            } else {
                format!(
                    "{} … {}",
                    strip_unit(row.unit.format(row.sample.min)),
                    strip_unit(row.unit.format(row.sample.max))
                )
            };
            cells.push([
                workload,
                row.subject.clone(),
                row.unit.format(row.sample.median),
                spread,
                row.target.clone(),
                row.versus.clone(),
            ]);
        }
        let mut widths = header.map(|h| h.chars().count());
        for line in &cells {
            for (width, cell) in widths.iter_mut().zip(line) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let header = header.map(str::to_owned);
        push_line(&mut out, &header, &widths);
        let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
        out.push_str(rule.join("  ").trim_end());
        out.push('\n');
        for line in &cells {
            if !line[0].is_empty() && !out.ends_with("─\n") {
                out.push('\n');
            }
            push_line(&mut out, line, &widths);
        }
        out
    }
}

/// "12.3 ns/cycle" → "12.3": the min … max column shares the median's unit.
fn strip_unit(text: String) -> String {
    match text.split_once(' ') {
        Some((number, _)) => number.to_owned(),
        None => text,
    }
}

fn push_line(out: &mut String, cells: &[String; 6], widths: &[usize; 6]) {
    let mut line = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        let pad = width - cell.chars().count();
        // Figures are right-aligned, text left-aligned.
        if i == 2 || i == 3 {
            line.push_str(&" ".repeat(pad));
            line.push_str(cell);
        } else {
            line.push_str(cell);
            line.push_str(&" ".repeat(pad));
        }
        line.push_str("  ");
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(Unit::NsPer("cycle").format(23.456), "23.5 ns/cycle");
        assert_eq!(Unit::KeysPerSec.format(7_410_000.0), "7.41 M keys/s");
        let s = |v| Sample {
            median: v,
            min: v,
            max: v,
        };
        let mut table = Table::default();
        table.core("cycle", Unit::NsPer("cycle"), s(20.0), Some("≤ 40 ns"));
        table.peer("cycle", "naive", Unit::NsPer("cycle"), s(50.0), s(20.0));
        let text = table.render();
        assert!(text.contains("core 2.50× better"), "{text}");
    }
}

//! Reading the values a scenario writes, and showing results as a
//! scenario would write them.

use crate::model::Value;
use std::fmt;
use std::time::Duration;
use workqueue_core::metrics::MAX_PRIORITY_LABELS;
use workqueue_core::scheduling::Place;

/// A plain non-negative decimal integer (no sign, no spaces).
pub fn unsigned(word: &str) -> Result<u64, String> {
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{word}` is not a non-negative integer"));
    }
    word.parse()
        .map_err(|_| format!("`{word}` does not fit in 64 bits"))
}

/// A decimal integer, `-` for a negative one (a gauge such as the depth).
pub fn signed(word: &str) -> Result<i64, String> {
    let digits = word.strip_prefix('-').unwrap_or(word);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{word}` is not an integer"));
    }
    word.parse()
        .map_err(|_| format!("`{word}` does not fit in 64 bits"))
}

pub fn key(word: &str) -> Result<u64, String> {
    unsigned(word).map_err(|e| format!("bad key: {e}"))
}

/// The MAX of `get_batch`: at least 1, since no key at all has no spelling.
pub fn batch_size(word: &str) -> Result<usize, String> {
    match usize::try_from(unsigned(word)?) {
        Ok(0) => Err("the MAX of `get_batch` must be at least 1".to_owned()),
        Ok(max) => Ok(max),
        Err(_) => Err(format!("`{word}` is too large")),
    }
}

/// A priority: a decimal `i32`, `-` for a negative one.
pub fn priority(word: &str) -> Result<i32, String> {
    let digits = word.strip_prefix('-').unwrap_or(word);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad priority: `{word}` is not an integer"));
    }
    word.parse()
        .map_err(|_| format!("bad priority: `{word}` does not fit in 32 bits"))
}

/// The levels of `len_by_priority => P:N P:N ...`: highest priority first,
/// each priority once, each count at least 1 (an empty level is not
/// listed, and no level at all is written `none`).
pub fn levels(words: &[&str]) -> Result<Vec<(i32, u64)>, String> {
    let mut levels: Vec<(i32, u64)> = Vec::new();
    for word in words {
        let (p, n) = word
            .split_once(':')
            .ok_or_else(|| format!("`{word}` is not a level `P:N` (or write `none` alone)"))?;
        let (p, n) = (priority(p)?, unsigned(n)?);
        if n == 0 {
            return Err(format!(
                "`{word}`: an empty level is never listed (`none` means no ready key)"
            ));
        }
        if levels.last().is_some_and(|&(last, _)| last <= p) {
            return Err(format!(
                "`{word}`: levels are listed highest priority first, each once"
            ));
        }
        levels.push((p, n));
    }
    Ok(levels)
}

/// The labels of `metrics depth_by_priority => P:N ... [other:N]`: levels
/// as `len_by_priority` writes them, at most `MAX_PRIORITY_LABELS - 1`
/// (the priorities `workqueue_depth_by_priority` names), then `other:N`,
/// the ready keys at every lower priority summed: last, N at least 1, and
/// only after that many levels (fewer priorities leave nothing to sum).
pub fn depth_by_priority(words: &[&str]) -> Result<Value, String> {
    const OTHER: &str = "other:";
    let listed = MAX_PRIORITY_LABELS - 1;
    let (numbered, other) = match words.split_last() {
        Some((last, rest)) if last.starts_with(OTHER) => (rest, Some(*last)),
        _ => (words, None),
    };
    if let Some(word) = numbered.iter().find(|w| w.starts_with(OTHER)) {
        return Err(format!("`{word}`: `other:N` comes last, once"));
    }
    let levels = levels(numbered)?;
    if levels.len() > listed {
        return Err(format!(
            "{} levels: at most {listed} priorities are listed, the rest summed as `other:N`",
            levels.len()
        ));
    }
    let other = match other {
        None => None,
        Some(word) => {
            let n = unsigned(&word[OTHER.len()..])?;
            if n == 0 {
                return Err(format!(
                    "`{word}`: `other` is listed only when some ready key is beyond the listed priorities"
                ));
            }
            if levels.len() != listed {
                return Err(format!(
                    "`{word}` after {} levels: `other` follows exactly {listed}",
                    levels.len()
                ));
            }
            Some(n)
        }
    };
    Ok(Value::DepthByPriority(levels, other))
}

/// Shows levels as `len_by_priority` writes them, then `other:N` if any;
/// `none` when there is nothing.
fn show_levels(levels: &[(i32, u64)], other: Option<u64>) -> String {
    let words: Vec<String> = levels
        .iter()
        .map(|(p, n)| format!("{p}:{n}"))
        .chain(other.map(|n| format!("other:{n}")))
        .collect();
    if words.is_empty() {
        "none".to_owned()
    } else {
        words.join(" ")
    }
}

pub fn place_name(place: Option<Place>) -> &'static str {
    match place {
        Some(Place::Active) => "active",
        Some(Place::Backoff) => "backoff",
        Some(Place::Unschedulable) => "unschedulable",
        Some(Place::InFlight) => "in_flight",
        None => "none",
    }
}

/// Every place, for reading one.
pub const PLACES: [Option<Place>; 5] = [
    None,
    Some(Place::Active),
    Some(Place::Backoff),
    Some(Place::Unschedulable),
    Some(Place::InFlight),
];

pub fn small_count(word: &str) -> Result<u32, String> {
    u32::try_from(unsigned(word)?).map_err(|_| format!("`{word}` does not fit in 32 bits"))
}

/// `0ms`, `1500us`, `1000s`: an integer and one of `ns`, `us`, `ms`, `s`.
pub fn duration(word: &str) -> Result<Duration, String> {
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
pub fn decimal(word: &str) -> Result<f64, String> {
    let (whole, fraction) = word.split_once('.').unwrap_or((word, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return Err(format!("`{word}` is not a decimal number"));
    }
    word.parse()
        .map_err(|_| format!("`{word}` is not a decimal number"))
}

/// Shows a duration in the largest unit that states it exactly.
pub fn show_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    let units = [(1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us")];
    for (per_unit, unit) in units {
        if nanos >= per_unit && nanos % per_unit == 0 {
            return format!("{}{unit}", nanos / per_unit);
        }
    }
    format!("{nanos}ns")
}

/// Shows seconds kept in an `f64` as a duration when they are a whole
/// number of nanoseconds (to a thousandth of one), else as they are.
fn show_seconds(seconds: f64) -> String {
    let nanos = seconds * 1e9;
    let whole = nanos.round();
    if seconds.is_finite() && seconds >= 0.0 && whole < 1.8e19 && (nanos - whole).abs() < 1e-3 {
        // In range and whole: the cast is exact enough to show.
        show_duration(Duration::from_nanos(whole as u64))
    } else {
        format!("{seconds} seconds")
    }
}

/// Whether an actual result matches the expected one: exactly, except that
/// a metric kept in seconds matches an expected duration within 1 ns.
pub fn agrees(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Duration(expected), Value::Seconds(actual)) => {
            (actual * 1e9 - expected.as_nanos() as f64).abs() <= 1.0
        }
        _ => expected == actual,
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Count(n) | Value::Key(n) => write!(f, "{n}"),
            Value::Signed(n) => write!(f, "{n}"),
            Value::Duration(d) => f.write_str(&show_duration(*d)),
            Value::Seconds(s) => f.write_str(&show_seconds(*s)),
            Value::NoDelay => f.write_str("none"),
            Value::Keys(keys) => {
                let words: Vec<String> = keys.iter().map(u64::to_string).collect();
                f.write_str(&words.join(" "))
            }
            Value::Empty => f.write_str("empty"),
            Value::ShutDown => f.write_str("shutdown"),
            Value::Prioritised(key, priority) => write!(f, "{key} {priority}"),
            Value::Levels(levels) => f.write_str(&show_levels(levels, None)),
            Value::DepthByPriority(levels, other) => f.write_str(&show_levels(levels, *other)),
            Value::Place(place) => f.write_str(place_name(*place)),
            Value::Closed => f.write_str("closed"),
        }
    }
}

//! The error every constructor returns for an argument it cannot accept.

use std::fmt;

/// A constructor argument was out of range. Names the argument and says why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    argument: &'static str,
    problem: String,
}

impl ConfigError {
    pub(crate) fn new(argument: &'static str, problem: impl Into<String>) -> Self {
        ConfigError {
            argument,
            problem: problem.into(),
        }
    }

    /// The name of the offending argument, e.g. `"rate"`.
    pub fn argument(&self) -> &'static str {
        self.argument
    }

    /// Why it was refused.
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.argument, self.problem)
    }
}

impl std::error::Error for ConfigError {}

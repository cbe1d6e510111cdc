//! Errors of the dialplan layer: load-time [`PlanError`] (always `file:line: reason`)
//! and evaluation-time [`RouteError`] (each knows the hangup cause to use).

use std::fmt;

use serde::Serialize;

use super::action::{ActionError, HangupCause};
use super::condition::ConditionError;
use super::pattern::PatternError;

/// What is wrong, without the location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum PlanErrorKind {
    #[error("cannot read: {0}")]
    Io(String),
    /// TOML syntax, wrong value types and unknown fields, in the `toml` crate's words.
    #[error("{0}")]
    Toml(String),
    #[error("unknown key \"{0}\"")]
    UnknownKey(String),
    #[error("{0} must be {1}")]
    Expected(&'static str, &'static str),
    #[error("bad context name (want letters, digits, '-' or '_')")]
    BadContextName,
    #[error("context already defined at {0}")]
    DuplicateContext(String),
    #[error("needs exten or regex")]
    NoMatcher,
    #[error("has both exten and regex")]
    BothMatchers,
    #[error("has no actions")]
    NoActions,
    #[error("{0}")]
    Pattern(#[from] PatternError),
    #[error("{0}")]
    Condition(#[from] ConditionError),
    #[error("{0}")]
    Action(#[from] ActionError),
    #[error("unknown context \"{0}\"")]
    UnknownContext(String),
    #[error("include cycle {}", .0.join(" -> "))]
    IncludeCycle(Vec<String>),
    #[error("duplicates the unconditional extension on line {0}, so it can never match")]
    DuplicateExtension(usize),
    #[error("\"{exten}\" matches no extension in context \"{context}\"")]
    NoSuchExtension { context: String, exten: String },
}

/// One load error: `file:line: [subject: ]reason`, line 1-based (0 when the whole file is meant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanError {
    pub file: String,
    pub line: usize,
    /// What the error is about, e.g. `extension "_1XXX"` or `context "internal"`.
    pub subject: Option<String>,
    pub kind: PlanErrorKind,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: ", self.file, self.line)?;
        } else {
            write!(f, "{}: ", self.file)?;
        }
        if let Some(s) = &self.subject {
            write!(f, "{s}: ")?;
        }
        write!(f, "{}", self.kind)
    }
}

impl std::error::Error for PlanError {}

/// Why `route()` found nothing to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum RouteError {
    #[error("unknown context \"{0}\"")]
    UnknownContext(String),
    #[error("no extension matches \"{exten}\" in context \"{context}\"")]
    NoMatch { context: String, exten: String },
    #[error("more than {limit} gotos: {trail}")]
    GotoLoop { limit: usize, trail: String },
    #[error("{0}")]
    Template(#[from] super::template::TemplateError),
}

impl RouteError {
    /// The cause to hang up with when routing fails.
    pub fn cause(&self) -> HangupCause {
        match self {
            RouteError::NoMatch { .. } => HangupCause::UnallocatedNumber,
            RouteError::UnknownContext(_) => HangupCause::NoRouteDestination,
            RouteError::GotoLoop { .. } | RouteError::Template(_) => {
                HangupCause::NormalTemporaryFailure
            }
        }
    }
}

//! Dialplan: `dialplans/*.toml` → validated plan → pure [`route`].
//!
//! Owns call routing as data, in the vocabulary of Asterisk's extensions.conf and
//! FreeSWITCH's XML dialplan: named **contexts** holding **extensions** (literal names,
//! `_` patterns, or regexes), **includes**, **conditions** (time windows in a time zone,
//! caller, variables) with `actions` and `anti_actions`, and `${var}` expansion.
//!
//! ```toml
//! [context.internal]
//! include = ["star-codes"]            # searched after internal's own extensions
//!
//! [[context.internal.extension]]
//! exten = "_1XXX"                      # or: regex = '^9(\d+)$'
//! when = [{ caller = "_1XXX" }]        # optional; all must hold
//! actions = [{ dial = { endpoint = "${EXTEN}", timeout = 30 } }, { hangup = "no_answer" }]
//! anti_actions = []                    # run when a condition fails
//! ```
//!
//! Search order in a context (Asterisk's): literal extensions, then `_` patterns most
//! specific first (see [`pattern`]), then regexes in file order; then each include in
//! order, depth first. The first extension whose matcher accepts the dialed string and
//! whose conditions hold (or that has anti-actions) wins; a matching extension whose
//! conditions fail and that has no anti-actions is skipped.
//!
//! Validation rejects, each with `file:line: reason` ([`PlanError`]): TOML syntax,
//! unknown keys, wrong types, unknown actions, bad patterns and regexes, bad `${...}`,
//! unknown contexts in include/goto/transfer/ivr, include cycles, bad time zones, weekdays,
//! time and date ranges, literal goto/transfer/`on_failure` targets that match nothing,
//! duplicate contexts across files, and an extension that repeats the pattern of an
//! earlier *unconditional* one in its context (it could never match: an error, not a
//! warning; after a conditional one the repeat is the normal FreeSWITCH fall-through).
//! Trunk, endpoint and queue names are not checked here: see
//! [`Dialplan::referenced_trunks`] and friends for the config's cross-check.
//!
//! [`route`] is pure: no IO, no clock (the instant comes in [`RouteContext::now`]).
//! `goto` is followed during evaluation (at most [`MAX_GOTOS`]); everything else comes
//! back as data in a [`Route`]. Loading reports every error as `file:line: reason`;
//! [`PlanHandle`] swaps a whole new plan in only when it is valid.
//!
//! This module imports no other switchboard module.

pub mod action;
mod check;
pub mod condition;
mod error;
mod handle;
mod load;
pub mod pattern;
mod route;
pub mod template;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

pub use action::{Action, AgentOp, DialTarget, HangupCause, IvrMenu, RingStrategy};
pub use condition::Condition;
pub use error::{PlanError, PlanErrorKind, RouteError};
pub use handle::PlanHandle;
pub use pattern::Matcher;
pub use route::{route, Branch, Hop, Route, RouteContext, MAX_GOTOS};

/// An action with the line it is written on.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub line: usize,
    pub action: Action,
}

/// One extension of a context.
#[derive(Debug, Clone, Serialize)]
pub struct Extension {
    pub matcher: Matcher,
    pub line: usize,
    pub when: Vec<Condition>,
    pub actions: Vec<Step>,
    pub anti_actions: Vec<Step>,
}

/// An `include` entry.
#[derive(Debug, Clone, Serialize)]
pub struct Include {
    pub context: String,
    pub line: usize,
}

/// A named context.
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    pub name: String,
    pub file: String,
    pub line: usize,
    pub includes: Vec<Include>,
    /// In file order; `order` is the search order.
    pub extensions: Vec<Extension>,
    #[serde(skip)]
    order: Vec<usize>,
}

impl Context {
    /// Extensions in search order.
    pub fn search_order(&self) -> impl Iterator<Item = &Extension> {
        self.order.iter().filter_map(|&i| self.extensions.get(i))
    }
}

/// A trunk or endpoint name used by the plan, with where it is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    pub name: String,
    pub file: String,
    pub line: usize,
}

/// A whole, validated dialplan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Dialplan {
    contexts: BTreeMap<String, Context>,
}

impl Dialplan {
    /// Parses one file's text; `name` is used in error messages (e.g. `demo.toml`).
    pub fn from_str(name: &str, text: &str) -> Result<Dialplan, Vec<PlanError>> {
        Dialplan::from_sources([(name, text)])
    }

    /// Parses several files as one plan (contexts share one namespace).
    pub fn from_sources<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Dialplan, Vec<PlanError>> {
        let mut errors = Vec::new();
        let mut contexts = Vec::new();
        for (name, text) in sources {
            contexts.extend(load::parse_file(name, text, &mut errors));
        }
        Dialplan::assemble(contexts, errors)
    }

    /// Loads every `*.toml` in `dir`, in file-name order.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Dialplan, Vec<PlanError>> {
        let dir = dir.as_ref();
        let io = |file: &Path, e: std::io::Error| PlanError {
            file: file.display().to_string(),
            line: 0,
            subject: None,
            kind: PlanErrorKind::Io(e.to_string()),
        };
        let entries = std::fs::read_dir(dir).map_err(|e| vec![io(dir, e)])?;
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect();
        paths.sort();
        let mut errors = Vec::new();
        let mut texts = Vec::new();
        for p in &paths {
            match std::fs::read_to_string(p) {
                Ok(t) => {
                    let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                    texts.push((name.unwrap_or_default(), t));
                }
                Err(e) => errors.push(io(p, e)),
            }
        }
        let mut contexts = Vec::new();
        for (name, text) in &texts {
            contexts.extend(load::parse_file(name, text, &mut errors));
        }
        Dialplan::assemble(contexts, errors)
    }

    fn assemble(
        parsed: Vec<Context>,
        mut errors: Vec<PlanError>,
    ) -> Result<Dialplan, Vec<PlanError>> {
        let mut contexts: BTreeMap<String, Context> = BTreeMap::new();
        for mut c in parsed {
            if let Some(first) = contexts.get(&c.name) {
                errors.push(PlanError {
                    file: c.file.clone(),
                    line: c.line,
                    subject: Some(format!("context \"{}\"", c.name)),
                    kind: PlanErrorKind::DuplicateContext(format!("{}:{}", first.file, first.line)),
                });
                continue;
            }
            let mut order: Vec<usize> = (0..c.extensions.len()).collect();
            order.sort_by(|&a, &b| c.extensions[a].matcher.precedence(&c.extensions[b].matcher));
            c.order = order;
            contexts.insert(c.name.clone(), c);
        }
        let plan = Dialplan { contexts };
        check::check(&plan, &mut errors);
        if errors.is_empty() {
            Ok(plan)
        } else {
            errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
            Err(errors)
        }
    }

    /// A context by name.
    pub fn context(&self, name: &str) -> Option<&Context> {
        self.contexts.get(name)
    }

    /// All contexts, by name.
    pub fn contexts(&self) -> impl Iterator<Item = &Context> {
        self.contexts.values()
    }

    fn steps(&self) -> impl Iterator<Item = (&Context, &Step)> {
        self.contexts.values().flat_map(|c| {
            c.extensions
                .iter()
                .flat_map(|e| e.actions.iter().chain(&e.anti_actions))
                .map(move |s| (c, s))
        })
    }

    fn references(&self, pick: impl Fn(&DialTarget) -> Option<&String>) -> Vec<Reference> {
        let mut out = Vec::new();
        for (c, step) in self.steps() {
            if let Action::Dial { targets, .. } = &step.action {
                for name in targets.iter().filter_map(&pick) {
                    if !name.contains("${") {
                        out.push(Reference {
                            name: name.clone(),
                            file: c.file.clone(),
                            line: step.line,
                        });
                    }
                }
            }
        }
        out
    }

    /// Endpoint names dialed literally (names built from `${...}` are left out), for
    /// the config to check they exist.
    pub fn referenced_endpoints(&self) -> Vec<Reference> {
        self.references(|t| match t {
            DialTarget::Endpoint(e) => Some(e),
            DialTarget::Trunk { .. } => None,
        })
    }

    /// Trunk names dialed literally, for the config to check they exist.
    pub fn referenced_trunks(&self) -> Vec<Reference> {
        self.references(|t| match t {
            DialTarget::Trunk { trunk, .. } => Some(trunk),
            DialTarget::Endpoint(_) => None,
        })
    }

    /// Queue names used by `queue` actions (literal ones), for the config/ACD to check.
    pub fn referenced_queues(&self) -> Vec<Reference> {
        let mut out = Vec::new();
        for (c, step) in self.steps() {
            if let Action::Queue { name, .. } = &step.action {
                if !name.contains("${") {
                    out.push(Reference {
                        name: name.clone(),
                        file: c.file.clone(),
                        line: step.line,
                    });
                }
            }
        }
        out
    }

    /// Routes a call; same as [`route`].
    pub fn route(&self, ctx: &RouteContext) -> Result<Route, RouteError> {
        route::route(self, ctx)
    }

    /// A human-readable trace of how `ctx` is routed (for a dry run).
    pub fn explain(&self, ctx: &RouteContext) -> String {
        route::explain(self, ctx)
    }
}

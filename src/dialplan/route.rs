//! Evaluation: `route(&plan, &ctx)` → the concrete actions for a call, and `explain`,
//! the same walk written out for a dry run. Pure: no IO, `now` comes in the context.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::condition::Facts;
use super::error::RouteError;
use super::pattern::Captures;
use super::template::{Lookup, Template};
use super::{Action, Context, Dialplan, Extension, Step};

/// At most this many gotos are followed for one route (a loop guard).
pub const MAX_GOTOS: usize = 16;

/// What a call asks the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteContext {
    /// The context to start in (e.g. the endpoint's or the trunk's).
    pub context: String,
    /// The caller's number (`${CALLERID(num)}`, `${caller}`).
    pub caller: String,
    /// The dialed string (`${EXTEN}`), or the digits chosen in an IVR menu.
    pub callee: String,
    /// Channel variables known before routing.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    pub now: DateTime<Utc>,
}

/// Which list of an extension ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Branch {
    Actions,
    AntiActions,
}

impl Branch {
    pub fn as_str(self) -> &'static str {
        match self {
            Branch::Actions => "actions",
            Branch::AntiActions => "anti_actions",
        }
    }
}

/// One extension visited: the start, then one per goto.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// The context searched.
    pub context: String,
    /// The string looked up.
    pub exten: String,
    /// The context holding the matched extension (differs via an include).
    pub matched_in: String,
    /// The matched extension as written (`_1XXX`, `/^9(\d+)$/`).
    pub extension: String,
    pub file: String,
    pub line: usize,
    pub branch: Branch,
}

/// The outcome of routing: the actions to execute, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// Context and extension of the last hop, for logs.
    pub context: String,
    pub extension: String,
    pub hops: Vec<Hop>,
    pub actions: Vec<Action>,
    /// Variables after every `set` (the call keeps them as channel variables).
    pub vars: BTreeMap<String, String>,
}

/// Collects the explanation lines when explaining; costs nothing otherwise.
struct Trace(Option<Vec<String>>);

impl Trace {
    fn note(&mut self, depth: usize, line: impl FnOnce() -> String) {
        if let Some(lines) = &mut self.0 {
            lines.push(format!("{}{}", "  ".repeat(depth), line()));
        }
    }
}

struct Found<'p> {
    context: &'p Context,
    ext: &'p Extension,
    captures: Captures,
    branch: Branch,
}

/// The evaluation state of one route.
struct Eval<'p> {
    plan: &'p Dialplan,
    caller: String,
    now: DateTime<Utc>,
    vars: BTreeMap<String, String>,
    deferred: BTreeSet<String>,
    trace: Trace,
}

impl<'p> Eval<'p> {
    fn lookup(&self, name: &str, context: &str, exten: &str, captures: &Captures) -> Lookup {
        match name {
            "EXTEN" => Lookup::Value(exten.to_string()),
            "CONTEXT" => Lookup::Value(context.to_string()),
            "CALLERID(num)" | "caller" => Lookup::Value(self.caller.clone()),
            n if n.starts_with(|c: char| c.is_ascii_digit()) => n
                .parse::<usize>()
                .ok()
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| captures.0.get(i))
                .map_or(Lookup::Unknown, |v| Lookup::Value(v.clone())),
            n if self.deferred.contains(n) => Lookup::Deferred,
            n => self
                .vars
                .get(n)
                .map_or(Lookup::Unknown, |v| Lookup::Value(v.clone())),
        }
    }

    /// Searches `name` for `exten`: own extensions in order, then includes depth first.
    fn find(
        &mut self,
        name: &str,
        exten: &str,
        depth: usize,
        seen: &mut Vec<String>,
    ) -> Option<Found<'p>> {
        let plan = self.plan;
        let context = plan.contexts.get(name)?;
        seen.push(name.to_string());
        for ext in context.search_order() {
            let Some(captures) = ext.matcher.matches(exten) else {
                self.trace.note(depth, || {
                    format!(
                        "extension \"{}\" (line {}): no match",
                        ext.matcher, ext.line
                    )
                });
                continue;
            };
            self.trace.note(depth, || {
                format!(
                    "extension \"{}\" (line {}): matches \"{exten}\"",
                    ext.matcher, ext.line
                )
            });
            let failed = self.first_failed(ext, depth + 1);
            let branch = match failed {
                None => Branch::Actions,
                Some(_) if !ext.anti_actions.is_empty() => Branch::AntiActions,
                Some(_) => {
                    self.trace
                        .note(depth + 1, || "no anti_actions: skipped".to_string());
                    continue;
                }
            };
            return Some(Found {
                context,
                ext,
                captures,
                branch,
            });
        }
        for inc in &context.includes {
            if seen.contains(&inc.context) {
                continue;
            }
            self.trace
                .note(depth, || format!("include \"{}\"", inc.context));
            if let Some(found) = self.find(&inc.context, exten, depth + 1, seen) {
                return Some(found);
            }
        }
        None
    }

    /// The index of the first condition that fails, noting each one checked.
    fn first_failed(&mut self, ext: &Extension, depth: usize) -> Option<usize> {
        for (i, cond) in ext.when.iter().enumerate() {
            let vars = &self.vars;
            let var = |n: &str| vars.get(n).cloned();
            let facts = Facts {
                caller: &self.caller,
                now: self.now,
                var: &var,
            };
            let outcome = cond.check(&facts);
            let failed = outcome.is_err();
            self.trace.note(depth, || match outcome {
                Ok(()) => format!("condition {} ({cond}): holds", i + 1),
                Err(why) => format!("condition {} ({cond}): fails: {why}", i + 1),
            });
            if failed {
                return Some(i);
            }
        }
        None
    }

    fn expand(
        &self,
        action: &Action,
        context: &str,
        exten: &str,
        caps: &Captures,
    ) -> Result<Action, RouteError> {
        let mut out = action.clone();
        for field in out.templates_mut() {
            let t = Template::parse(field)?;
            *field = t.expand(|n| self.lookup(n, context, exten, caps));
        }
        Ok(out)
    }

    fn run(&mut self, start: &str, callee: &str) -> Result<Route, RouteError> {
        let (mut context, mut exten) = (start.to_string(), callee.to_string());
        let mut hops: Vec<Hop> = Vec::new();
        let mut actions = Vec::new();
        'hop: loop {
            if !self.plan.contexts.contains_key(&context) {
                return Err(RouteError::UnknownContext(context));
            }
            self.trace.note(0, || {
                format!("context \"{context}\": looking up \"{exten}\"")
            });
            let found = self
                .find(&context, &exten, 1, &mut Vec::new())
                .ok_or_else(|| RouteError::NoMatch {
                    context: context.clone(),
                    exten: exten.clone(),
                })?;
            let ext = found.ext;
            hops.push(Hop {
                context: context.clone(),
                exten: exten.clone(),
                matched_in: found.context.name.clone(),
                extension: ext.matcher.to_string(),
                file: found.context.file.clone(),
                line: ext.line,
                branch: found.branch,
            });
            let steps: &[Step] = match found.branch {
                Branch::Actions => &ext.actions,
                Branch::AntiActions => &ext.anti_actions,
            };
            self.trace
                .note(1, || format!("running {}", found.branch.as_str()));
            for step in steps {
                let action = self.expand(&step.action, &context, &exten, &found.captures)?;
                match action {
                    Action::Goto {
                        context: c,
                        exten: e,
                    } => {
                        if hops.len() > MAX_GOTOS {
                            let trail = hops
                                .iter()
                                .map(|h| format!("{},{}", h.context, h.exten))
                                .collect::<Vec<_>>();
                            return Err(RouteError::GotoLoop {
                                limit: MAX_GOTOS,
                                trail: trail.join(" -> "),
                            });
                        }
                        self.trace.note(1, || format!("goto {c},{e}"));
                        (context, exten) = (c, e);
                        continue 'hop;
                    }
                    Action::Set { ref var, ref value } => {
                        self.deferred.remove(var);
                        self.vars.insert(var.clone(), value.clone());
                    }
                    Action::Collect { ref var, .. } => {
                        self.deferred.insert(var.clone());
                    }
                    _ => {}
                }
                actions.push(action);
            }
            let last = hops.last().cloned();
            return Ok(Route {
                context: last
                    .as_ref()
                    .map(|h| h.matched_in.clone())
                    .unwrap_or_default(),
                extension: last.map(|h| h.extension).unwrap_or_default(),
                hops,
                actions,
                vars: std::mem::take(&mut self.vars),
            });
        }
    }
}

fn eval(plan: &Dialplan, ctx: &RouteContext, explain: bool) -> (Result<Route, RouteError>, Trace) {
    let mut e = Eval {
        plan,
        caller: ctx.caller.clone(),
        now: ctx.now,
        vars: ctx.vars.clone(),
        deferred: BTreeSet::new(),
        trace: Trace(explain.then(Vec::new)),
    };
    let result = e.run(&ctx.context, &ctx.callee);
    (result, e.trace)
}

/// Routes a call: the ordered, expanded actions to execute.
pub fn route(plan: &Dialplan, ctx: &RouteContext) -> Result<Route, RouteError> {
    eval(plan, ctx, false).0
}

/// The walk of [`route`] in words, then its result.
pub(crate) fn explain(plan: &Dialplan, ctx: &RouteContext) -> String {
    let (result, trace) = eval(plan, ctx, true);
    let mut out = format!(
        "route \"{}\" from \"{}\" in context \"{}\" at {}\n",
        ctx.callee,
        ctx.caller,
        ctx.context,
        ctx.now.format("%Y-%m-%d %H:%M:%S UTC")
    );
    for line in trace.0.unwrap_or_default() {
        out.push_str(&line);
        out.push('\n');
    }
    match result {
        Ok(r) => {
            let _ = writeln!(out, "matched {} extension \"{}\"", r.context, r.extension);
            for (i, a) in r.actions.iter().enumerate() {
                let json = serde_json::to_string(a).unwrap_or_default();
                let _ = writeln!(out, "  {}. {json}", i + 1);
            }
        }
        Err(e) => {
            let cause = e.cause();
            let _ = writeln!(
                out,
                "error: {e} (hangup {cause}, Q.850 cause {})",
                cause.q850()
            );
        }
    }
    out
}

//! Whole-plan checks after every file is read: unknown contexts in include, goto,
//! transfer and ivr; include cycles; unreachable duplicate extensions; literal goto,
//! transfer and ivr `on_failure` targets that match no extension.

use std::collections::BTreeSet;

use super::error::{PlanError, PlanErrorKind};
use super::{Action, Context, Dialplan};

fn push(
    errors: &mut Vec<PlanError>,
    c: &Context,
    line: usize,
    subject: String,
    kind: PlanErrorKind,
) {
    errors.push(PlanError {
        file: c.file.clone(),
        line,
        subject: Some(subject),
        kind,
    });
}

pub(crate) fn check(plan: &Dialplan, errors: &mut Vec<PlanError>) {
    for c in plan.contexts.values() {
        for inc in &c.includes {
            if !plan.contexts.contains_key(&inc.context) {
                let kind = PlanErrorKind::UnknownContext(inc.context.clone());
                push(errors, c, inc.line, format!("context \"{}\"", c.name), kind);
            }
        }
        duplicates(c, errors);
        for ext in &c.extensions {
            let subject = || format!("extension \"{}\"", ext.matcher.source());
            for step in ext.actions.iter().chain(&ext.anti_actions) {
                let Some(target) = step.action.context_ref() else {
                    continue;
                };
                if !plan.contexts.contains_key(target) {
                    let kind = PlanErrorKind::UnknownContext(target.to_string());
                    push(errors, c, step.line, subject(), kind);
                    continue;
                }
                let exten = match &step.action {
                    Action::Ivr(m) => &m.on_failure,
                    Action::Goto { exten, .. } | Action::Transfer { exten, .. } => exten,
                    _ => continue,
                };
                if !exten.contains("${") && !reachable(plan, target, exten) {
                    let kind = PlanErrorKind::NoSuchExtension {
                        context: target.to_string(),
                        exten: exten.clone(),
                    };
                    push(errors, c, step.line, subject(), kind);
                }
            }
        }
    }
    cycles(plan, errors);
}

/// Whether some extension of `context` (or its includes) accepts `exten`, conditions aside.
fn reachable(plan: &Dialplan, context: &str, exten: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![context];
    while let Some(name) = stack.pop() {
        if !seen.insert(name) {
            continue;
        }
        let Some(c) = plan.contexts.get(name) else {
            continue;
        };
        if c.extensions
            .iter()
            .any(|e| e.matcher.matches(exten).is_some())
        {
            return true;
        }
        stack.extend(c.includes.iter().map(|i| i.context.as_str()));
    }
    false
}

fn duplicates(c: &Context, errors: &mut Vec<PlanError>) {
    for (j, later) in c.extensions.iter().enumerate() {
        let first = c.extensions[..j]
            .iter()
            .find(|e| e.when.is_empty() && e.matcher.same_as(&later.matcher));
        if let Some(first) = first {
            let subject = format!("extension \"{}\"", later.matcher.source());
            push(
                errors,
                c,
                later.line,
                subject,
                PlanErrorKind::DuplicateExtension(first.line),
            );
        }
    }
}

/// Depth-first search with a done set (linear); reports each cycle found once, at the
/// include that closes it.
fn cycles(plan: &Dialplan, errors: &mut Vec<PlanError>) {
    let mut reported: BTreeSet<Vec<String>> = BTreeSet::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for start in plan.contexts.keys() {
        let mut path: Vec<&str> = vec![start];
        walk(plan, &mut path, &mut done, &mut reported, errors);
    }
}

fn walk<'p>(
    plan: &'p Dialplan,
    path: &mut Vec<&'p str>,
    done: &mut BTreeSet<&'p str>,
    reported: &mut BTreeSet<Vec<String>>,
    errors: &mut Vec<PlanError>,
) {
    let Some(&here) = path.last() else { return };
    let Some(c) = plan.contexts.get(here) else {
        return;
    };
    if done.contains(here) {
        return;
    }
    for inc in &c.includes {
        let next = inc.context.as_str();
        if let Some(pos) = path.iter().position(|p| *p == next) {
            let mut members: Vec<String> = path[pos..].iter().map(|s| s.to_string()).collect();
            members.sort();
            if reported.insert(members) {
                let mut cycle: Vec<String> = path[pos..].iter().map(|s| s.to_string()).collect();
                cycle.push(next.to_string());
                let kind = PlanErrorKind::IncludeCycle(cycle);
                push(errors, c, inc.line, format!("context \"{here}\""), kind);
            }
            continue;
        }
        if plan.contexts.contains_key(next) {
            path.push(next);
            walk(plan, path, done, reported, errors);
            path.pop();
        }
    }
    done.insert(here);
}

//! TOML text → contexts, collecting every error with its line.
//!
//! The document is parsed once into `toml`'s spanned tree (`DeTable`); the structure
//! (contexts, extensions) is walked by hand and each leaf item (an action, a condition)
//! is deserialized on its own, so one bad action does not hide the next one.

use serde::de::{DeserializeOwned, IntoDeserializer};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::action::{ActionError, RawAction, ACTION_NAMES};
use super::condition::RawCondition;
use super::error::{PlanError, PlanErrorKind};
use super::pattern::Matcher;
use super::{Context, Extension, Include, Step};

type Value<'i> = Spanned<DeValue<'i>>;

/// One file being read: its name, line starts, and the errors found so far.
struct Reader<'a> {
    file: &'a str,
    line_starts: Vec<usize>,
    errors: &'a mut Vec<PlanError>,
}

impl Reader<'_> {
    fn line(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset)
    }

    fn error(&mut self, offset: usize, subject: Option<&str>, kind: PlanErrorKind) {
        let line = self.line(offset);
        self.errors.push(PlanError {
            file: self.file.to_string(),
            line,
            subject: subject.map(str::to_string),
            kind,
        });
    }

    fn toml_error(&mut self, fallback: usize, subject: Option<&str>, e: toml::de::Error) {
        let at = e.span().map_or(fallback, |s| s.start);
        let msg = e.message().trim();
        // serde says "unknown field `x`, expected one of ..."; say it like our own walk.
        let unknown = msg
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(key, _)| PlanErrorKind::UnknownKey(key.to_string()));
        let kind = unknown.unwrap_or_else(|| PlanErrorKind::Toml(msg.to_string()));
        let line = self.line(at);
        if self
            .errors
            .last()
            .is_some_and(|last| last.line == line && last.kind == kind)
        {
            return; // the TOML parser can report one mistake twice
        }
        self.error(at, subject, kind);
    }

    fn de<T: DeserializeOwned>(&mut self, v: &Value<'_>, subject: Option<&str>) -> Option<T> {
        match T::deserialize(v.clone().into_deserializer()) {
            Ok(t) => Some(t),
            Err(e) => {
                self.toml_error(v.span().start, subject, e);
                None
            }
        }
    }

    fn array<'v, 'i>(
        &mut self,
        v: &'v Value<'i>,
        what: &'static str,
        subject: Option<&str>,
    ) -> &'v [Value<'i>] {
        match v.get_ref() {
            DeValue::Array(a) => a,
            _ => {
                self.error(
                    v.span().start,
                    subject,
                    PlanErrorKind::Expected(what, "an array"),
                );
                &[]
            }
        }
    }
}

/// Parses one file; errors go to `errors`, whatever could be read is returned.
pub(crate) fn parse_file(file: &str, text: &str, errors: &mut Vec<PlanError>) -> Vec<Context> {
    let mut line_starts = vec![0];
    line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    let mut r = Reader {
        file,
        line_starts,
        errors,
    };
    let (doc, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        for e in syntax {
            r.toml_error(0, None, e);
        }
        return Vec::new();
    }
    let mut out = Vec::new();
    for (key, value) in doc.get_ref().iter() {
        if key.get_ref() != "context" {
            let k = key.get_ref().to_string();
            r.error(key.span().start, None, PlanErrorKind::UnknownKey(k));
            continue;
        }
        let DeValue::Table(contexts) = value.get_ref() else {
            r.error(
                value.span().start,
                None,
                PlanErrorKind::Expected("context", "a table"),
            );
            continue;
        };
        for (name, body) in contexts.iter() {
            if let Some(c) = context(&mut r, name, body) {
                out.push(c);
            }
        }
    }
    out
}

fn valid_context_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn context(
    r: &mut Reader<'_>,
    name: &Spanned<toml::de::DeString<'_>>,
    body: &Value<'_>,
) -> Option<Context> {
    let subject = format!("context \"{}\"", name.get_ref());
    let subject = Some(subject.as_str());
    let line = r.line(name.span().start);
    if !valid_context_name(name.get_ref()) {
        r.error(name.span().start, subject, PlanErrorKind::BadContextName);
        return None;
    }
    let DeValue::Table(table) = body.get_ref() else {
        r.error(
            body.span().start,
            subject,
            PlanErrorKind::Expected("a context", "a table"),
        );
        return None;
    };
    let mut ctx = Context {
        name: name.get_ref().to_string(),
        file: r.file.to_string(),
        line,
        includes: Vec::new(),
        extensions: Vec::new(),
        order: Vec::new(),
    };
    for (key, value) in table.iter() {
        match key.get_ref().as_ref() {
            "include" => {
                for item in r.array(value, "include", subject) {
                    if let Some(c) = r.de::<String>(item, subject) {
                        let line = r.line(item.span().start);
                        ctx.includes.push(Include { context: c, line });
                    }
                }
            }
            "extension" => {
                for item in r.array(value, "extension", subject) {
                    if let Some(e) = extension(r, &ctx.name, item) {
                        ctx.extensions.push(e);
                    }
                }
            }
            other => {
                let k = other.to_string();
                r.error(key.span().start, subject, PlanErrorKind::UnknownKey(k));
            }
        }
    }
    Some(ctx)
}

fn extension(r: &mut Reader<'_>, here: &str, item: &Value<'_>) -> Option<Extension> {
    let DeValue::Table(table) = item.get_ref() else {
        r.error(
            item.span().start,
            None,
            PlanErrorKind::Expected("an extension", "a table"),
        );
        return None;
    };
    let field = |name: &str| {
        table
            .iter()
            .find(|(k, _)| k.get_ref() == name)
            .map(|(_, v)| v)
    };
    let (value, is_regex) = match (field("exten"), field("regex")) {
        (Some(v), None) => (v, false),
        (None, Some(v)) => (v, true),
        (e, _) => {
            let kind = if e.is_some() {
                PlanErrorKind::BothMatchers
            } else {
                PlanErrorKind::NoMatcher
            };
            r.error(item.span().start, Some("extension"), kind);
            return None;
        }
    };
    let text: String = r.de(value, Some("extension"))?;
    let subject = format!("extension \"{text}\"");
    let subject = Some(subject.as_str());
    let line = r.line(value.span().start);
    let matcher = if is_regex {
        Matcher::regex(&text)
    } else {
        Matcher::exten(&text)
    };
    let matcher = match matcher {
        Ok(m) => Some(m),
        Err(e) => {
            r.error(value.span().start, subject, e.into());
            None
        }
    };
    let mut ext = Extension {
        matcher: Matcher::Literal(String::new()),
        line,
        when: Vec::new(),
        actions: Vec::new(),
        anti_actions: Vec::new(),
    };
    for (key, value) in table.iter() {
        match key.get_ref().as_ref() {
            "exten" | "regex" => {}
            "when" => {
                for c in r.array(value, "when", subject) {
                    let Some(raw) = r.de::<RawCondition>(c, subject) else {
                        continue;
                    };
                    match raw.validate() {
                        Ok(cond) => ext.when.push(cond),
                        Err(e) => r.error(c.span().start, subject, e.into()),
                    }
                }
            }
            "actions" | "anti_actions" => {
                let anti = key.get_ref() == "anti_actions";
                for a in r.array(value, "actions", subject) {
                    if let Some(action) = action(r, here, a, subject) {
                        let step = Step {
                            line: r.line(a.span().start),
                            action,
                        };
                        if anti {
                            ext.anti_actions.push(step)
                        } else {
                            ext.actions.push(step)
                        }
                    }
                }
            }
            other => {
                let k = other.to_string();
                r.error(key.span().start, subject, PlanErrorKind::UnknownKey(k));
            }
        }
    }
    if field("actions").is_none() {
        r.error(value.span().start, subject, PlanErrorKind::NoActions);
    }
    matcher.map(|m| Extension { matcher: m, ..ext })
}

fn action(
    r: &mut Reader<'_>,
    here: &str,
    v: &Value<'_>,
    subject: Option<&str>,
) -> Option<super::Action> {
    let name = match v.get_ref() {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Table(t) if t.len() == 1 => t.iter().next().map(|(k, _)| k.get_ref().to_string()),
        _ => None,
    };
    let Some(name) = name else {
        r.error(v.span().start, subject, ActionError::Shape.into());
        return None;
    };
    if !ACTION_NAMES.contains(&name.as_str()) {
        r.error(v.span().start, subject, ActionError::Unknown(name).into());
        return None;
    }
    let raw = r.de::<RawAction>(v, subject)?;
    match raw.validate(here) {
        Ok(a) => Some(a),
        Err(e) => {
            r.error(v.span().start, subject, e.into());
            None
        }
    }
}

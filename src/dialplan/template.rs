//! `${var}` expansion, with Asterisk's substring syntax.
//!
//! The documented set of names:
//!
//! | expression                     | value                                              |
//! |--------------------------------|----------------------------------------------------|
//! | `${EXTEN}`                     | the dialed string at the current hop (after a goto, the goto's extension) |
//! | `${CONTEXT}`                   | the context the call is routed in at the current hop |
//! | `${CALLERID(num)}`, `${caller}` | the caller's number                               |
//! | `${1}`, `${2}`, ...            | capture groups of a `regex` extension              |
//! | `${name}`                      | a variable from `RouteContext::vars` or an earlier `set` |
//!
//! Any of them takes `:offset` and `:offset:length` like Asterisk: `${EXTEN:1}` drops the
//! first character, `${EXTEN:-4}` keeps the last four, `${EXTEN:1:3}` takes three from
//! the second, a negative length drops that many from the end. An unknown name expands
//! to the empty string (as in Asterisk). A variable that a `collect` action fills at run
//! time is left as written, for the call to expand with [`Template::expand`] later.

use std::fmt;

/// Why a string with `${...}` was rejected at load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub enum TemplateError {
    #[error("unclosed \"${{\" in \"{0}\"")]
    Unclosed(String),
    #[error("bad variable name \"{0}\"")]
    BadName(String),
    #[error("bad substring \"{0}\" (want :offset or :offset:length)")]
    BadSubstring(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Var {
        raw: String,
        name: String,
        offset: i64,
        length: Option<i64>,
    },
}

/// What a name resolves to during expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Value(String),
    /// Filled only at run time: keep `${...}` as written.
    Deferred,
    Unknown,
}

/// A parsed string with `${...}` references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

fn valid_name(name: &str) -> bool {
    if name == "CALLERID(num)" {
        return true;
    }
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_digit() => name.chars().all(|c| c.is_ascii_digit()),
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        }
        _ => false,
    }
}

impl Template {
    /// Parses `text`; `$` not followed by `{` is literal.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Lit(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| TemplateError::Unclosed(text.to_string()))?;
            let inner = &after[..end];
            parts.push(parse_var(inner)?);
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// Names referenced by the template (without substring suffixes).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var { name, .. } => Some(name.as_str()),
            Part::Lit(_) => None,
        })
    }

    /// Expands every reference through `lookup`.
    pub fn expand(&self, lookup: impl Fn(&str) -> Lookup) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Var {
                    raw,
                    name,
                    offset,
                    length,
                } => match lookup(name) {
                    Lookup::Value(v) => out.push_str(&substring(&v, *offset, *length)),
                    Lookup::Deferred => {
                        out.push_str("${");
                        out.push_str(raw);
                        out.push('}');
                    }
                    Lookup::Unknown => {}
                },
            }
        }
        out
    }
}

fn parse_var(inner: &str) -> Result<Part, TemplateError> {
    // `CALLERID(num)` contains no ':'; split name from the substring suffix.
    let (name, suffix) = match inner.find(':') {
        Some(i) => (&inner[..i], Some(&inner[i + 1..])),
        None => (inner, None),
    };
    if !valid_name(name) {
        return Err(TemplateError::BadName(name.to_string()));
    }
    let bad = || TemplateError::BadSubstring(inner.to_string());
    let (offset, length) = match suffix {
        None => (0, None),
        Some(s) => {
            let mut it = s.split(':');
            let offset = it
                .next()
                .and_then(|o| o.parse::<i64>().ok())
                .ok_or_else(bad)?;
            let length = match it.next() {
                None => None,
                Some(l) => Some(l.parse::<i64>().map_err(|_| bad())?),
            };
            if it.next().is_some() {
                return Err(bad());
            }
            (offset, length)
        }
    };
    Ok(Part::Var {
        raw: inner.to_string(),
        name: name.to_string(),
        offset,
        length,
    })
}

/// Asterisk's `${var:offset:length}` on characters, clamped, never panics.
fn substring(value: &str, offset: i64, length: Option<i64>) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len() as i64;
    let start = if offset < 0 {
        n.saturating_add(offset).max(0)
    } else {
        offset.min(n)
    };
    let end = match length {
        None => n,
        Some(l) if l < 0 => n.saturating_add(l).max(start),
        Some(l) => start.saturating_add(l).min(n),
    };
    chars[start as usize..end as usize].iter().collect()
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Lit(s) => f.write_str(s)?,
                Part::Var { raw, .. } => write!(f, "${{{raw}}}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(t: &str) -> String {
        Template::parse(t).expect("valid").expand(|n| match n {
            "EXTEN" => Lookup::Value("912345678".into()),
            "CALLERID(num)" | "caller" => Lookup::Value("1001".into()),
            "pin" => Lookup::Deferred,
            _ => Lookup::Unknown,
        })
    }

    #[test]
    fn plain_and_literal_text() {
        assert_eq!(exp("${EXTEN}"), "912345678");
        assert_eq!(exp("sip:${caller}@pbx"), "sip:1001@pbx");
        assert_eq!(exp("${CALLERID(num)}"), "1001");
        assert_eq!(exp("cost $5"), "cost $5");
    }

    #[test]
    fn substrings_like_asterisk() {
        assert_eq!(exp("${EXTEN:1}"), "12345678");
        assert_eq!(exp("${EXTEN:-4}"), "5678");
        assert_eq!(exp("${EXTEN:1:3}"), "123");
        assert_eq!(exp("${EXTEN:0:-2}"), "9123456");
        assert_eq!(exp("${EXTEN:-4:2}"), "56");
        assert_eq!(exp("${EXTEN:20}"), "", "offset past the end is empty");
        assert_eq!(exp("${EXTEN:-20}"), "912345678", "clamped to the start");
        assert_eq!(exp("${EXTEN:3:-20}"), "", "length clamped");
        let huge = format!("${{EXTEN:{}:{}}}", i64::MIN, i64::MAX);
        assert_eq!(exp(&huge), "912345678", "no overflow");
        let huge = format!("${{EXTEN:{}:{}}}", i64::MAX, i64::MIN);
        assert_eq!(exp(&huge), "");
    }

    #[test]
    fn unknown_is_empty_deferred_is_kept() {
        assert_eq!(exp("a${nope}b"), "ab");
        assert_eq!(exp("pin=${pin:1}"), "pin=${pin:1}");
    }

    #[test]
    fn bad_templates() {
        assert!(matches!(
            Template::parse("${EXTEN"),
            Err(TemplateError::Unclosed(_))
        ));
        assert_eq!(
            Template::parse("${a b}"),
            Err(TemplateError::BadName("a b".into()))
        );
        assert_eq!(
            Template::parse("${}"),
            Err(TemplateError::BadName(String::new()))
        );
        assert_eq!(
            Template::parse("${EXTEN:x}"),
            Err(TemplateError::BadSubstring("EXTEN:x".into()))
        );
        assert_eq!(
            Template::parse("${EXTEN:1:2:3}"),
            Err(TemplateError::BadSubstring("EXTEN:1:2:3".into()))
        );
    }
}

//! Extension matchers: Asterisk literal names and `_` patterns, and regexes.
//!
//! Pattern vocabulary (after the leading `_`, as in Asterisk's extensions.conf):
//!
//! | element  | matches                                  |
//! |----------|------------------------------------------|
//! | `X`      | one digit 0-9                            |
//! | `Z`      | one digit 1-9                            |
//! | `N`      | one digit 2-9                            |
//! | `[15-7]` | one character of the set (ranges allowed)|
//! | `.`      | one or more characters (last only)       |
//! | `!`      | zero or more characters (last only)      |
//! | `-`      | ignored, a visual separator              |
//! | other    | `0-9 * # +` literally                    |
//!
//! `X`, `Z` and `N` are case-insensitive. An extension without `_` is a literal
//! name (`1000`, `s`, `i`, `t`, `*45`) and matches only exactly.
//!
//! **Precedence** inside one context (see [`Matcher::precedence`]): literal names first;
//! then `_` patterns, most specific first, compared element by element by how many
//! characters the element accepts (a literal 1, `[1-5]` 5, `N` 8, `Z` 9, `X` 10, `.`
//! and then `!` last; a pattern that ends sorts before one that goes on), which is
//! Asterisk's sort order; then regexes in file order. Ties keep file order.

use std::cmp::Ordering;
use std::fmt;

use regex::Regex;
use serde::{Serialize, Serializer};

/// Why a `_` pattern or a regex was rejected at load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum PatternError {
    #[error("empty pattern")]
    Empty,
    #[error("unclosed '[' in pattern")]
    UnclosedBracket,
    #[error("empty '[]' in pattern")]
    EmptyBracket,
    #[error("bad range '{0}-{1}' in pattern")]
    BadRange(char, char),
    #[error("character '{0}' not allowed in pattern")]
    BadChar(char),
    #[error("wildcard '{0}' must be the last element of a pattern")]
    WildcardNotLast(char),
    #[error("bad regex: {0}")]
    Regex(String),
}

/// One element of a `_` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Elem {
    /// A set of accepted characters (a literal is a set of one), sorted and unique.
    Set(Vec<char>),
    /// `.`: one or more of anything.
    OneOrMore,
    /// `!`: zero or more of anything.
    ZeroOrMore,
}

impl Elem {
    fn weight(&self) -> usize {
        match self {
            Elem::Set(s) => s.len(),
            Elem::OneOrMore => 1000,
            Elem::ZeroOrMore => 1001,
        }
    }
}

/// A parsed `_` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    elems: Vec<Elem>,
}

fn digits(from: char, to: char) -> Vec<char> {
    (from..=to).collect()
}

fn literal_ok(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '*' | '#' | '+')
}

impl Pattern {
    /// Parses the text after the leading `_`.
    pub fn parse(body: &str) -> Result<Pattern, PatternError> {
        let mut elems = Vec::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if matches!(elems.last(), Some(Elem::OneOrMore | Elem::ZeroOrMore)) {
                let w = if elems.last() == Some(&Elem::OneOrMore) {
                    '.'
                } else {
                    '!'
                };
                return Err(PatternError::WildcardNotLast(w));
            }
            let elem = match c.to_ascii_uppercase() {
                'X' => Elem::Set(digits('0', '9')),
                'Z' => Elem::Set(digits('1', '9')),
                'N' => Elem::Set(digits('2', '9')),
                '.' => Elem::OneOrMore,
                '!' => Elem::ZeroOrMore,
                '-' => continue,
                '[' => Elem::Set(parse_class(&mut chars)?),
                c if literal_ok(c) => Elem::Set(vec![c]),
                _ => return Err(PatternError::BadChar(c)),
            };
            elems.push(elem);
        }
        if elems.is_empty() {
            return Err(PatternError::Empty);
        }
        Ok(Pattern { elems })
    }

    /// Whether `dialed` matches the whole pattern.
    pub fn matches(&self, dialed: &str) -> bool {
        let mut rest = dialed.chars();
        for elem in &self.elems {
            match elem {
                Elem::OneOrMore => return rest.next().is_some(),
                Elem::ZeroOrMore => return true,
                Elem::Set(set) => match rest.next() {
                    Some(c) if set.contains(&c) => {}
                    _ => return false,
                },
            }
        }
        rest.next().is_none()
    }

    /// Asterisk's sort order: element by element, narrower first; shorter first.
    pub fn specificity_cmp(&self, other: &Pattern) -> Ordering {
        let a = self.elems.iter().map(Elem::weight);
        let b = other.elems.iter().map(Elem::weight);
        a.cmp(b)
    }
}

fn parse_class(chars: &mut std::str::Chars<'_>) -> Result<Vec<char>, PatternError> {
    let mut set = Vec::new();
    let mut prev: Option<char> = None;
    loop {
        let c = chars.next().ok_or(PatternError::UnclosedBracket)?;
        match c {
            ']' => break,
            '-' => {
                let from = prev.ok_or(PatternError::BadChar('-'))?;
                let to = chars.next().ok_or(PatternError::UnclosedBracket)?;
                if to == ']' || !literal_ok(to) || to < from {
                    return Err(PatternError::BadRange(from, to));
                }
                set.extend(from..=to);
                prev = None;
            }
            c if literal_ok(c) => {
                set.push(c);
                prev = Some(c);
            }
            c => return Err(PatternError::BadChar(c)),
        }
    }
    if set.is_empty() {
        return Err(PatternError::EmptyBracket);
    }
    set.sort_unstable();
    set.dedup();
    Ok(set)
}

/// How an extension recognises the dialed string.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// A literal name: `1000`, `s`, `i`, `t`, `*45`.
    Literal(String),
    /// A `_` pattern; the source text is kept for logs.
    Pattern { source: String, pattern: Pattern },
    /// A regex (unanchored unless it says `^...$`, like FreeSWITCH); captures become `${1}`...
    Regex(Regex),
}

/// A successful match: the regex captures (`${1}`, `${2}`...), empty for other matchers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures(pub Vec<String>);

impl Matcher {
    /// Parses an `exten` value: literal name, or `_` pattern.
    pub fn exten(text: &str) -> Result<Matcher, PatternError> {
        if let Some(body) = text.strip_prefix('_') {
            let pattern = Pattern::parse(body)?;
            return Ok(Matcher::Pattern {
                source: text.to_string(),
                pattern,
            });
        }
        if text.is_empty() {
            return Err(PatternError::Empty);
        }
        if let Some(c) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '*' | '#' | '+')))
        {
            return Err(PatternError::BadChar(c));
        }
        Ok(Matcher::Literal(text.to_string()))
    }

    /// Parses a `regex` value.
    pub fn regex(text: &str) -> Result<Matcher, PatternError> {
        Regex::new(text).map(Matcher::Regex).map_err(|e| {
            // regex's message is a multi-line drawing; keep its last line, the reason.
            let msg = e.to_string();
            let reason = msg
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            PatternError::Regex(reason.trim().trim_start_matches("error: ").to_string())
        })
    }

    /// Parses a caller condition: a `_` pattern when it starts with `_`, else a regex.
    pub fn pattern_or_regex(text: &str) -> Result<Matcher, PatternError> {
        if text.starts_with('_') {
            Matcher::exten(text)
        } else {
            Matcher::regex(text)
        }
    }

    /// The text as written in the plan.
    pub fn source(&self) -> &str {
        match self {
            Matcher::Literal(s) => s,
            Matcher::Pattern { source, .. } => source,
            Matcher::Regex(r) => r.as_str(),
        }
    }

    /// Matches `dialed`; regex captures (group 1 onwards) are returned.
    pub fn matches(&self, dialed: &str) -> Option<Captures> {
        match self {
            Matcher::Literal(s) => (s == dialed).then(Captures::default),
            Matcher::Pattern { pattern, .. } => pattern.matches(dialed).then(Captures::default),
            Matcher::Regex(r) => r.captures(dialed).map(|caps| {
                Captures(
                    caps.iter()
                        .skip(1)
                        .map(|m| m.map(|m| m.as_str().to_string()).unwrap_or_default())
                        .collect(),
                )
            }),
        }
    }

    /// Sort key between extensions of one context: literals, then patterns by
    /// specificity, then regexes. Equal means "keep file order".
    pub fn precedence(&self, other: &Matcher) -> Ordering {
        fn rank(m: &Matcher) -> u8 {
            match m {
                Matcher::Literal(_) => 0,
                Matcher::Pattern { .. } => 1,
                Matcher::Regex(_) => 2,
            }
        }
        match (self, other) {
            (Matcher::Pattern { pattern: a, .. }, Matcher::Pattern { pattern: b, .. }) => {
                a.specificity_cmp(b)
            }
            _ => rank(self).cmp(&rank(other)),
        }
    }

    /// Whether two matchers accept exactly the same strings in the same way
    /// (used to reject an unreachable duplicate).
    pub fn same_as(&self, other: &Matcher) -> bool {
        match (self, other) {
            (Matcher::Literal(a), Matcher::Literal(b)) => a == b,
            (Matcher::Pattern { pattern: a, .. }, Matcher::Pattern { pattern: b, .. }) => a == b,
            (Matcher::Regex(a), Matcher::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Regex(r) => write!(f, "/{}/", r.as_str()),
            m => f.write_str(m.source()),
        }
    }
}

impl Serialize for Matcher {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(p: &str) -> Matcher {
        Matcher::exten(p).expect("valid pattern")
    }

    fn m(p: &str, dialed: &str) -> bool {
        pat(p).matches(dialed).is_some()
    }

    #[test]
    fn nanp_pattern() {
        assert!(m("_NXXNXXXXXX", "2125551234"));
        assert!(!m("_NXXNXXXXXX", "1125551234"), "N rejects 1");
        assert!(!m("_NXXNXXXXXX", "212155123"), "too short");
        assert!(!m("_NXXNXXXXXX", "21255512345"), "too long");
    }

    #[test]
    fn x_z_n_digit_sets() {
        assert!(m("_X", "0") && m("_X", "9"));
        assert!(!m("_X", "*") && !m("_X", "a"));
        assert!(!m("_Z", "0") && m("_Z", "1") && m("_Z", "9"));
        assert!(!m("_N", "1") && m("_N", "2") && m("_N", "9"));
        assert!(m("_nxz", "201"), "lower case accepted");
    }

    #[test]
    fn bracket_sets_and_ranges() {
        assert!(m("_[1-5]", "1") && m("_[1-5]", "5"));
        assert!(!m("_[1-5]", "0") && !m("_[1-5]", "6"));
        for d in ["1", "3", "4", "5"] {
            assert!(m("_[13-5]", d), "{d}");
        }
        assert!(!m("_[13-5]", "2") && !m("_[13-5]", "6"));
        assert!(m("_[*#]X", "*1") && m("_[*#]X", "#1"));
    }

    #[test]
    fn dot_is_one_or_more_bang_zero_or_more() {
        assert!(m("_9.", "91") && m("_9.", "9123456"));
        assert!(!m("_9.", "9"), ". needs at least one");
        assert!(m("_9!", "9") && m("_9!", "9123"));
        assert!(!m("_9!", "8"));
    }

    #[test]
    fn literal_and_separator() {
        assert!(m("1000", "1000") && !m("1000", "10000"));
        assert!(m("*45", "*45"));
        assert!(m("_1-NXX", "1200"), "'-' is a separator");
        assert!(m("_+44.", "+447700900123"));
    }

    #[test]
    fn bad_patterns_are_rejected() {
        assert_eq!(Matcher::exten("_").unwrap_err(), PatternError::Empty);
        assert_eq!(
            Matcher::exten("_1[2").unwrap_err(),
            PatternError::UnclosedBracket
        );
        assert_eq!(
            Matcher::exten("_[]").unwrap_err(),
            PatternError::EmptyBracket
        );
        assert_eq!(
            Matcher::exten("_[5-1]").unwrap_err(),
            PatternError::BadRange('5', '1')
        );
        assert_eq!(
            Matcher::exten("_1Q").unwrap_err(),
            PatternError::BadChar('Q')
        );
        assert_eq!(
            Matcher::exten("_9.1").unwrap_err(),
            PatternError::WildcardNotLast('.')
        );
        assert_eq!(
            Matcher::exten("_9!X").unwrap_err(),
            PatternError::WildcardNotLast('!')
        );
        assert_eq!(
            Matcher::exten("10 0").unwrap_err(),
            PatternError::BadChar(' ')
        );
        assert!(matches!(
            Matcher::regex("(").unwrap_err(),
            PatternError::Regex(_)
        ));
    }

    #[test]
    fn regex_captures() {
        let r = Matcher::regex(r"^9(\d{3})(\d+)$").expect("valid");
        assert_eq!(
            r.matches("9020123").expect("match").0,
            vec!["020".to_string(), "123".to_string()]
        );
        assert!(r.matches("8020123").is_none());
    }

    #[test]
    fn precedence_follows_asterisk_sort_order() {
        let mut v = vec![
            pat("_X."),
            pat("_1!"),
            Matcher::regex("^1").expect("valid"),
            pat("_1XXX"),
            pat("_1[0-4]XX"),
            pat("_NXXX"),
            pat("_1."),
            pat("_ZXXX"),
            pat("1000"),
            pat("_100X"),
            pat("_1XX"),
        ];
        v.sort_by(|a, b| a.precedence(b));
        let order: Vec<String> = v.iter().map(|m| m.to_string()).collect();
        assert_eq!(
            order,
            [
                "1000",
                "_100X",
                "_1[0-4]XX",
                "_1XX",
                "_1XXX",
                "_1.",
                "_1!",
                "_NXXX",
                "_ZXXX",
                "_X.",
                "/^1/"
            ]
        );
    }
}

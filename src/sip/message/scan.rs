//! Lexical helpers shared by the header grammars of RFC 3261 §25.1: tokens, LWS,
//! quoted strings, comma lists and `;name=value` parameter lists.

use super::error::{err, ParseError};

/// `token` characters (RFC 3261 §25.1): alphanum and `-.!%*_+`'~`.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// True when `s` is a non-empty `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// Linear white space after unfolding: SP and HTAB.
pub(crate) fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

pub(crate) fn trim_ws(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

/// Length of the quoted string at the start of `s` (which must begin with `"`), including
/// both quotes; `\` escapes the next character (RFC 3261 §25.1 `quoted-pair`).
pub(crate) fn quoted_len(s: &[u8]) -> Result<usize, ParseError> {
    debug_assert_eq!(s.first(), Some(&b'"'));
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'"' => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(err("unterminated quoted string"))
}

/// Removes the quotes and `\` escapes of a quoted string (quotes included in `s`).
pub(crate) fn unquote(s: &str) -> String {
    let inner = &s[1..s.len().saturating_sub(1).max(1)];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Wraps `s` in quotes, escaping `"` and `\`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Position of the first `needle` outside quoted strings.
pub(crate) fn find_unquoted(s: &str, needle: u8) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => i += quoted_len(&b[i..]).ok()?,
            c if c == needle => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Splits a header value at top-level commas (outside quoted strings and `<...>`),
/// trimming LWS around each element. Empty elements are an error (`a,,b`).
#[cfg(test)]
pub(crate) fn split_commas(s: &str) -> Result<Vec<&str>, ParseError> {
    comma_items(s).collect()
}

/// The elements of a comma-separated header value, lazily (no allocation); yields one
/// error and stops on an empty element or an unbalanced quote or `<`.
pub(crate) fn comma_items(s: &str) -> CommaItems<'_> {
    CommaItems {
        s,
        pos: 0,
        done: false,
    }
}

pub(crate) struct CommaItems<'a> {
    s: &'a str,
    pos: usize,
    done: bool,
}

impl<'a> Iterator for CommaItems<'a> {
    type Item = Result<&'a str, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let b = self.s.as_bytes();
        let start = self.pos;
        let mut i = start;
        let mut angle = false;
        while i < b.len() {
            match b[i] {
                b'"' => match quoted_len(&b[i..]) {
                    Ok(n) => {
                        i += n;
                        continue;
                    }
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                },
                b'<' => angle = true,
                b'>' => angle = false,
                b',' if !angle => {
                    self.pos = i + 1;
                    let item = non_empty(&self.s[start..i]);
                    self.done = item.is_err();
                    return Some(item);
                }
                _ => {}
            }
            i += 1;
        }
        self.done = true;
        if angle {
            return Some(Err(err("unbalanced '<'")));
        }
        Some(non_empty(&self.s[start..]))
    }
}

fn non_empty(s: &str) -> Result<&str, ParseError> {
    let t = trim_ws(s);
    if t.is_empty() {
        Err(err("empty element in comma-separated list"))
    } else {
        Ok(t)
    }
}

/// A parameter list: `(name, value)` with the value raw (quoted values keep their quotes).
pub type Params = Vec<(String, Option<String>)>;

/// Parses `*( SEMI generic-param )` where `s` starts at the first `;` (or is empty).
/// LWS is allowed around `;` and `=` (RFC 3261 §25.1 `SEMI`, `EQUAL`). Names must be
/// tokens; values are tokens, host names (incl. `[v6]`) or quoted strings.
pub(crate) fn parse_params(s: &str) -> Result<Params, ParseError> {
    let mut out = Vec::new();
    scan_params(s, |n, v| out.push((n.to_owned(), v.map(str::to_owned))))?;
    Ok(out)
}

/// The grammar of [`parse_params`] without allocating: `f` sees each `(name, value)`.
pub(crate) fn scan_params<'a>(
    s: &'a str,
    mut f: impl FnMut(&'a str, Option<&'a str>),
) -> Result<(), ParseError> {
    let b = s.as_bytes();
    let mut i = skip_ws(b, 0);
    while i < b.len() {
        if b[i] != b';' {
            return Err(err("expected ';' before parameter"));
        }
        i = skip_ws(b, i + 1);
        let ns = i;
        while i < b.len() && is_token_byte(b[i]) {
            i += 1;
        }
        if i == ns {
            return Err(err("empty parameter name"));
        }
        let name = &s[ns..i];
        i = skip_ws(b, i);
        let mut value = None;
        if i < b.len() && b[i] == b'=' {
            i = skip_ws(b, i + 1);
            let vs = i;
            if i < b.len() && b[i] == b'"' {
                i += quoted_len(&b[i..])?;
            } else {
                while i < b.len() && (is_token_byte(b[i]) || b"[]:".contains(&b[i])) {
                    i += 1;
                }
                if i == vs {
                    return Err(err("empty parameter value"));
                }
            }
            value = Some(&s[vs..i]);
            i = skip_ws(b, i);
        }
        f(name, value);
    }
    Ok(())
}

pub(crate) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    i
}

/// Looks a parameter up by name, case-insensitively.
pub(crate) fn find_param<'a>(params: &'a Params, name: &str) -> Option<Option<&'a str>> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_deref())
}

/// Sets (or adds) a parameter, keeping its position if present.
pub(crate) fn set_param(params: &mut Params, name: &str, value: Option<&str>) {
    let value = value.map(str::to_owned);
    match params
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some(p) => p.1 = value,
        None => params.push((name.to_owned(), value)),
    }
}

/// Writes `;name[=value]` for each parameter.
pub(crate) fn write_params(f: &mut std::fmt::Formatter<'_>, params: &Params) -> std::fmt::Result {
    for (n, v) in params {
        match v {
            Some(v) => write!(f, ";{n}={v}")?,
            None => write!(f, ";{n}")?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_respect_quotes_and_angles() {
        let v = split_commas(r#""a,b" <sip:x@y;p=1,2>;q=1 , <sip:z@w>"#).unwrap();
        assert_eq!(v, vec![r#""a,b" <sip:x@y;p=1,2>;q=1"#, "<sip:z@w>"]);
        assert!(split_commas("a,,b").is_err());
        assert!(split_commas(r#""open"#).is_err());
    }

    #[test]
    fn params_allow_lws_and_quotes() {
        let p = parse_params(" ; tag = 1918181833n ;lr; x=\"a;b\"").unwrap();
        assert_eq!(p[0], ("tag".into(), Some("1918181833n".into())));
        assert_eq!(p[1], ("lr".into(), None));
        assert_eq!(p[2], ("x".into(), Some("\"a;b\"".into())));
        assert!(parse_params(";=x").is_err());
        assert!(parse_params("junk").is_err());
    }

    #[test]
    fn quoting_round_trips() {
        let s = "J Rosenberg \\\"";
        assert_eq!(unquote(&quote(s)), s);
        assert_eq!(unquote(r#""a\"b""#), "a\"b");
    }
}

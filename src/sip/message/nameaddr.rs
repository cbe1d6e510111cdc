//! `name-addr / addr-spec` with header parameters (RFC 3261 §20.10, §25.1): the value
//! grammar of From, To, Contact, Route, Record-Route, Reply-To and friends.

use std::fmt;

use super::error::{err, ParseError};
use super::scan::{
    find_param, find_unquoted, is_token_byte, parse_params, quote, quoted_len, set_param, trim_ws,
    unquote, write_params, Params,
};
use super::uri::Uri;

/// A name-addr (or bare addr-spec) plus its header parameters (`tag`, `expires`, `q` …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name, unquoted and unescaped.
    pub display: Option<String>,
    pub uri: Uri,
    pub params: Params,
}

impl NameAddr {
    /// Parses one value (no top-level commas). A bare addr-spec may not carry URI
    /// parameters or headers: `;` starts the header parameters and `?` is an error, as
    /// RFC 3261 §20.10 demands angle brackets for such URIs.
    pub fn parse(s: &str) -> Result<NameAddr, ParseError> {
        let s = trim_ws(s);
        let b = s.as_bytes();
        let (display, after_display) = if b.first() == Some(&b'"') {
            let q = quoted_len(b)?;
            (Some(unquote(&s[..q])), trim_ws(&s[q..]))
        } else if let Some(lt) = find_unquoted(s, b'<') {
            let d = trim_ws(&s[..lt]);
            if !d
                .bytes()
                .all(|c| is_token_byte(c) || c == b' ' || c == b'\t')
            {
                return Err(err("bad display name"));
            }
            let d = (!d.is_empty()).then(|| d.split_whitespace().collect::<Vec<_>>().join(" "));
            (d, &s[lt..])
        } else {
            // addr-spec
            let end = memchr::memchr(b';', b).unwrap_or(s.len());
            let u = trim_ws(&s[..end]);
            if u.contains('?') {
                return Err(err("URI with headers must be enclosed in <>"));
            }
            return Ok(NameAddr {
                display: None,
                uri: Uri::parse(u)?,
                params: parse_params(&s[end..])?,
            });
        };
        let inner = after_display
            .strip_prefix('<')
            .ok_or(err("expected '<' after display name"))?;
        let gt = memchr::memchr(b'>', inner.as_bytes()).ok_or(err("missing '>'"))?;
        Ok(NameAddr {
            display,
            uri: Uri::parse(&inner[..gt])?,
            params: parse_params(&inner[gt + 1..])?,
        })
    }

    /// The `tag` parameter (RFC 3261 §19.3).
    pub fn tag(&self) -> Option<&str> {
        find_param(&self.params, "tag").flatten()
    }

    /// Sets (or replaces) the `tag` parameter.
    pub fn set_tag(&mut self, tag: &str) {
        set_param(&mut self.params, "tag", Some(tag));
    }

    /// A header parameter by name (case-insensitive); `Some(None)` when valueless.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "{} ", quote(d))?;
        }
        write!(f, "<{}>", self.uri)?;
        write_params(f, &self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let n = NameAddr::parse(r#""J Rosenberg \\\"" <sip:jdrosen@example.com> ; tag = 98asjd8"#)
            .unwrap();
        assert_eq!(n.display.as_deref(), Some("J Rosenberg \\\""));
        assert_eq!(n.tag(), Some("98asjd8"));
        assert_eq!(n.uri.user.as_deref(), Some("jdrosen"));
        let n = NameAddr::parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(n.display.as_deref(), Some("caller"));
        let n = NameAddr::parse("sip:a@b.c;tag=1;expires=60").unwrap();
        assert_eq!(
            (n.display.as_deref(), n.tag(), n.param("expires")),
            (None, Some("1"), Some(Some("60")))
        );
        let n = NameAddr::parse("sip:a@b;+sip.instance=\"<urn:uuid:1>\"").unwrap();
        assert_eq!(n.param("+sip.instance"), Some(Some("\"<urn:uuid:1>\"")));
        let n = NameAddr::parse("<sip:*97#@pbx>;+sip.instance=\"<urn:uuid:1>\"").unwrap();
        assert_eq!(n.uri.user.as_deref(), Some("*97#"));
        let n = NameAddr::parse("Bob  Smith <sip:b@c;lr>").unwrap();
        assert_eq!(n.display.as_deref(), Some("Bob Smith"));
        assert_eq!(n.uri.param("lr"), Some(None));
    }

    #[test]
    fn display_requotes_and_round_trips() {
        let mut n = NameAddr::parse(r#""a \"b\"" <sip:x@y>"#).unwrap();
        n.set_tag("abc");
        let s = n.to_string();
        assert_eq!(s, r#""a \"b\"" <sip:x@y>;tag=abc"#);
        assert_eq!(NameAddr::parse(&s).unwrap(), n);
    }

    #[test]
    fn rejects_rfc4475_defects() {
        for bad in [
            r#""Bell, Alexander" <sip:a.g.bell@ bell-tel.com>;tag=43"#,
            "Bell, Alexander <sip:a.g.bell@bell-tel.com>;tag=43",
            r#""Mr. J. User <sip:j.user@example.com>"#,
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "<sip:a@b",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad}");
        }
    }
}

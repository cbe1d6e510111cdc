//! `name-addr / addr-spec` with header parameters (RFC 3261 §20.10, §25.1): the value
//! grammar of From, To, Contact, Route, Record-Route, Reply-To and friends.

use std::fmt;

use super::error::{err, ParseError};
use super::scan::{
    find_param, find_unquoted, is_token_byte, parse_params, quote, quoted_len, scan_params,
    set_param, trim_ws, unquote, write_params, Params,
};
use super::uri::{scan_uri, Uri, UriParts};

/// A name-addr (or bare addr-spec) plus its header parameters (`tag`, `expires`, `q` …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name, unquoted and unescaped.
    pub display: Option<String>,
    pub uri: Uri,
    pub params: Params,
}

/// A name-addr as scanned: validated, nothing allocated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameAddrParts<'a> {
    /// Quoted display name, quotes included.
    quoted: Option<&'a str>,
    /// Unquoted display name (tokens and LWS), trimmed.
    tokens: Option<&'a str>,
    pub(crate) uri: UriParts<'a>,
    /// Header parameters, from the first `;`.
    pub(crate) params: &'a str,
}

/// Validates one name-addr / addr-spec with its parameters without allocating.
pub(crate) fn scan_name_addr(s: &str) -> Result<NameAddrParts<'_>, ParseError> {
    let s = trim_ws(s);
    let b = s.as_bytes();
    let (quoted, tokens, after_display) = if b.first() == Some(&b'"') {
        let q = quoted_len(b)?;
        (Some(&s[..q]), None, trim_ws(&s[q..]))
    } else if let Some(lt) = find_unquoted(s, b'<') {
        let d = trim_ws(&s[..lt]);
        if !d
            .bytes()
            .all(|c| is_token_byte(c) || c == b' ' || c == b'\t')
        {
            return Err(err("bad display name"));
        }
        (None, (!d.is_empty()).then_some(d), &s[lt..])
    } else {
        // addr-spec
        let end = memchr::memchr(b';', b).unwrap_or(s.len());
        let u = trim_ws(&s[..end]);
        if u.contains('?') {
            return Err(err("URI with headers must be enclosed in <>"));
        }
        let params = &s[end..];
        scan_params(params, |_, _| {})?;
        return Ok(NameAddrParts {
            quoted: None,
            tokens: None,
            uri: scan_uri(u)?,
            params,
        });
    };
    let inner = after_display
        .strip_prefix('<')
        .ok_or(err("expected '<' after display name"))?;
    let gt = memchr::memchr(b'>', inner.as_bytes()).ok_or(err("missing '>'"))?;
    let params = &inner[gt + 1..];
    scan_params(params, |_, _| {})?;
    Ok(NameAddrParts {
        quoted,
        tokens,
        uri: scan_uri(&inner[..gt])?,
        params,
    })
}

impl NameAddrParts<'_> {
    pub(crate) fn to_name_addr(self) -> Result<NameAddr, ParseError> {
        let display = match (self.quoted, self.tokens) {
            (Some(q), _) => Some(unquote(q)),
            (None, Some(t)) => Some(t.split_whitespace().collect::<Vec<_>>().join(" ")),
            (None, None) => None,
        };
        Ok(NameAddr {
            display,
            uri: self.uri.to_uri(),
            params: parse_params(self.params)?,
        })
    }
}

impl NameAddr {
    /// Parses one value (no top-level commas). A bare addr-spec may not carry URI
    /// parameters or headers: `;` starts the header parameters and `?` is an error, as
    /// RFC 3261 §20.10 demands angle brackets for such URIs.
    pub fn parse(s: &str) -> Result<NameAddr, ParseError> {
        scan_name_addr(s)?.to_name_addr()
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

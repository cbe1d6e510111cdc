//! The auth-param list shared by challenges and credentials (RFC 7616 §3.3–3.4, RFC 3261
//! §25.1): `Digest name=token, name="quoted \"string\"", …`.
//!
//! Names are case-insensitive (returned lower-cased), values may be tokens or quoted
//! strings with backslash escapes, linear white space is allowed around `=` and `,`,
//! empty list elements are skipped (`#rule`) and a repeated name is an error.

use super::error::HeaderFault;

/// The parsed parameters of one `Digest` header value, in the order they came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthParams(Vec<(String, String)>);

impl AuthParams {
    /// Parses `Digest p=v, …`; any other scheme is [`HeaderFault::NotDigest`].
    pub(crate) fn parse_digest(value: &str) -> Result<Self, HeaderFault> {
        let s = value.trim_start_matches(is_lws);
        let scheme_end = s.find(is_lws).unwrap_or(s.len());
        let (scheme, rest) = s.split_at(scheme_end);
        if !scheme.eq_ignore_ascii_case("digest") {
            return Err(HeaderFault::NotDigest);
        }
        let mut cur = Cursor {
            bytes: rest.as_bytes(),
            pos: 0,
        };
        let mut out: Vec<(String, String)> = Vec::new();
        loop {
            cur.skip_lws();
            match cur.peek() {
                None => break,
                Some(b',') => {
                    cur.pos += 1;
                    continue;
                }
                Some(_) => {}
            }
            let name = cur.token().ok_or(HeaderFault::Syntax)?.to_ascii_lowercase();
            cur.skip_lws();
            if cur.peek() != Some(b'=') {
                return Err(HeaderFault::Syntax);
            }
            cur.pos += 1;
            cur.skip_lws();
            let val = if cur.peek() == Some(b'"') {
                cur.quoted()?
            } else {
                cur.token().ok_or(HeaderFault::Syntax)?.to_owned()
            };
            if out.iter().any(|(n, _)| *n == name) {
                return Err(HeaderFault::DuplicateParam(name));
            }
            out.push((name, val));
            cur.skip_lws();
            match cur.peek() {
                None => break,
                Some(b',') => cur.pos += 1,
                Some(_) => return Err(HeaderFault::Syntax),
            }
        }
        Ok(AuthParams(out))
    }

    /// The value of `name` (lower-case), if present.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of a parameter the header cannot do without.
    pub(crate) fn require(&self, name: &'static str) -> Result<&str, HeaderFault> {
        self.get(name).ok_or(HeaderFault::MissingParam(name))
    }
}

fn is_lws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// RFC 3261 §25.1 `token` characters.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_lws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Option<&'a str> {
        let start = self.pos;
        while self.peek().is_some_and(is_token_byte) {
            self.pos += 1;
        }
        // Token bytes are ASCII, so this slice is valid UTF-8 on char boundaries.
        (self.pos > start)
            .then(|| std::str::from_utf8(&self.bytes[start..self.pos]).ok())
            .flatten()
    }

    /// A quoted-string starting at `"`; returns the unescaped contents.
    fn quoted(&mut self) -> Result<String, HeaderFault> {
        self.pos += 1; // opening quote
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(HeaderFault::UnterminatedQuote),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    let escaped = self
                        .bytes
                        .get(self.pos + 1)
                        .copied()
                        .ok_or(HeaderFault::UnterminatedQuote)?;
                    out.push(escaped);
                    self.pos += 2;
                }
                Some(b) => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| HeaderFault::Syntax)
    }
}

/// Writes `s` as a quoted-string, escaping `"` and `\`.
pub(crate) fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_quoted_escapes_and_spacing() {
        let p = AuthParams::parse_digest(
            "Digest  Realm = \"a \\\"b\\\" c\\\\\" ,ALGORITHM=SHA-256,,  nc =00000001",
        )
        .unwrap();
        assert_eq!(p.get("realm"), Some("a \"b\" c\\"));
        assert_eq!(p.get("algorithm"), Some("SHA-256"));
        assert_eq!(p.get("nc"), Some("00000001"));
    }

    #[test]
    fn scheme_is_case_insensitive_and_must_be_digest() {
        assert!(AuthParams::parse_digest("dIgEsT realm=x").is_ok());
        assert_eq!(
            AuthParams::parse_digest("Basic realm=x"),
            Err(HeaderFault::NotDigest)
        );
        assert_eq!(AuthParams::parse_digest(""), Err(HeaderFault::NotDigest));
    }

    #[test]
    fn duplicate_names_rejected_case_insensitively() {
        assert_eq!(
            AuthParams::parse_digest("Digest realm=a, REALM=b"),
            Err(HeaderFault::DuplicateParam("realm".into()))
        );
    }

    #[test]
    fn malformed_inputs_are_errors_not_panics() {
        for bad in [
            "Digest realm",
            "Digest realm=",
            "Digest realm=\"open",
            "Digest realm=\"x\\",
            "Digest realm=a b=c",
            "Digest =a",
            "Digest realm=\"x\"y",
        ] {
            assert!(AuthParams::parse_digest(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quote_round_trips() {
        let mut s = String::from("Digest realm=");
        quote(&mut s, "we \"say\" \\ hi");
        let p = AuthParams::parse_digest(&s).unwrap();
        assert_eq!(p.get("realm"), Some("we \"say\" \\ hi"));
    }
}

#[cfg(test)]
mod fuzz_lite {
    use super::super::{Challenge, Credentials};
    use rand::{rngs::StdRng, Rng, SeedableRng};

    /// Random strings over the grammar's interesting bytes must never panic.
    #[test]
    fn random_header_values_never_panic() {
        const ALPHABET: &[&str] = &[
            "Digest ",
            "digest",
            " ",
            ",",
            "=",
            "\"",
            "\\",
            "realm",
            "nonce",
            "nc",
            "qop",
            "auth",
            "algorithm",
            "SHA-256",
            "MD5",
            "username",
            "uri",
            "response",
            "cnonce",
            "00000001",
            "é",
            "\t",
            "\r\n",
            "x",
            "",
        ];
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..5_000 {
            let n = rng.random_range(0..24);
            let s: String = (0..n)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
                .collect();
            let _ = Credentials::parse(&s);
            let _ = Challenge::parse(&s);
        }
    }
}

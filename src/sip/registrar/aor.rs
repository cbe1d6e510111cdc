//! The address-of-record key (RFC 3261 §10.3 step 5: the canonical form of the To URI).

use std::fmt;

/// Why a string is not an address-of-record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AorError {
    #[error("address-of-record has no user part")]
    NoUser,
    #[error("address-of-record has no domain")]
    NoDomain,
    #[error("address-of-record contains white space or control characters")]
    BadCharacter,
}

impl AorError {
    /// A REGISTER whose To cannot be an AOR is a 400 (a well-formed but unknown AOR is
    /// the caller's 404).
    pub fn status(&self) -> u16 {
        400
    }

    pub fn reason(&self) -> &'static str {
        "Bad Request"
    }
}

/// `user@domain`: the user part exactly as given (RFC 3261 §19.1.4 compares it
/// case-sensitively), the domain lower-cased. The switch keys bindings by user and realm.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Aor {
    text: String,
    at: usize,
}

impl Aor {
    /// From a user and a domain (the digest realm, typically).
    pub fn new(user: &str, domain: &str) -> Result<Aor, AorError> {
        if user.is_empty() {
            return Err(AorError::NoUser);
        }
        let domain = domain.trim_end_matches('.');
        if domain.is_empty() {
            return Err(AorError::NoDomain);
        }
        let bad = |c: char| c.is_whitespace() || c.is_control();
        if user.chars().any(bad) || domain.chars().any(|c| bad(c) || c == '@') {
            return Err(AorError::BadCharacter);
        }
        let mut text = String::with_capacity(user.len() + 1 + domain.len());
        text.push_str(user);
        text.push('@');
        text.push_str(&domain.to_ascii_lowercase());
        Ok(Aor {
            text,
            at: user.len(),
        })
    }

    /// From `user@domain` or a To URI such as `<sip:alice@Example.com;transport=tcp>`
    /// (scheme, angle brackets, parameters and headers are dropped).
    pub fn parse(s: &str) -> Result<Aor, AorError> {
        let s = s.trim();
        let s = s.strip_prefix('<').unwrap_or(s);
        let s = s.strip_suffix('>').unwrap_or(s);
        let lower_prefix = s.get(..5).map(str::to_ascii_lowercase);
        let s = match lower_prefix.as_deref() {
            Some("sips:") => &s[5..],
            Some(p) if p.starts_with("sip:") => &s[4..],
            _ => s,
        };
        let s = s.split(['?', ';']).next().unwrap_or(s);
        let (user, domain) = s.rsplit_once('@').ok_or(AorError::NoUser)?;
        Aor::new(user, domain)
    }

    pub fn user(&self) -> &str {
        &self.text[..self.at]
    }

    pub fn domain(&self) -> &str {
        &self.text[self.at + 1..]
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Aor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_is_lower_cased_user_is_not() {
        let a = Aor::new("Alice", "PBX.Example.COM.").unwrap();
        assert_eq!(a.as_str(), "Alice@pbx.example.com");
        assert_eq!((a.user(), a.domain()), ("Alice", "pbx.example.com"));
        assert_ne!(a, Aor::new("alice", "pbx.example.com").unwrap());
        assert_eq!(a, Aor::new("Alice", "pbx.example.com").unwrap());
    }

    #[test]
    fn parse_accepts_uris_and_plain_form() {
        for s in [
            "1001@Example.com",
            "sip:1001@example.com",
            "<SIP:1001@EXAMPLE.com;transport=tcp>",
            "sips:1001@example.com?subject=x",
        ] {
            assert_eq!(Aor::parse(s).unwrap().as_str(), "1001@example.com", "{s}");
        }
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(Aor::parse("example.com"), Err(AorError::NoUser));
        assert_eq!(Aor::parse("@example.com"), Err(AorError::NoUser));
        assert_eq!(Aor::parse("sip:a@"), Err(AorError::NoDomain));
        assert_eq!(Aor::new("a b", "x"), Err(AorError::BadCharacter));
        assert_eq!(Aor::new("a", "x@y"), Err(AorError::BadCharacter));
        assert_eq!(Aor::parse("sip:é"), Err(AorError::NoUser));
    }
}

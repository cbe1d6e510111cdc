//! The digest computation (RFC 7616 §3.4.1–3.4.3; RFC 8760 for SIP): `HA1`, `HA2` and
//! the `response`, hex-encoded in lower case, for MD5 and SHA-256 and their `-sess`
//! variants.

use std::fmt;
use std::str::FromStr;

use md5::Md5;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::HeaderFault;

/// A digest algorithm (RFC 8760 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl DigestAlgorithm {
    /// The name used in `algorithm=`.
    pub fn as_str(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Md5Sess => "MD5-sess",
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Whether `HA1` is bound to the nonce and cnonce (RFC 7616 §3.4.2).
    pub fn is_session(self) -> bool {
        matches!(self, DigestAlgorithm::Md5Sess | DigestAlgorithm::Sha256Sess)
    }

    /// The hex digest of `parts` joined with `:`.
    pub(crate) fn hash(self, parts: &[&str]) -> String {
        match self {
            DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => hash_joined::<Md5>(parts),
            DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => hash_joined::<Sha256>(parts),
        }
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DigestAlgorithm {
    type Err = HeaderFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            DigestAlgorithm::Md5,
            DigestAlgorithm::Md5Sess,
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha256Sess,
        ]
        .into_iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| HeaderFault::UnsupportedAlgorithm(s.to_owned()))
    }
}

/// Quality of protection. Only `auth` is implemented (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qop {
    Auth,
}

impl Qop {
    pub fn as_str(self) -> &'static str {
        "auth"
    }
}

fn hash_joined<D: Digest>(parts: &[&str]) -> String {
    let mut h = D::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update(b":");
        }
        h.update(p.as_bytes());
    }
    hex(&h.finalize())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

/// `HA1 = H(username:realm:password)` — what a config may store instead of a password.
pub fn ha1(algorithm: DigestAlgorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash(&[username, realm, password])
}

/// The inputs of one `response` computation besides `HA1`.
pub(crate) struct ResponseInput<'a> {
    pub algorithm: DigestAlgorithm,
    pub method: &'a str,
    pub uri: &'a str,
    pub nonce: &'a str,
    /// `(nc as 8 hex digits, cnonce)` when `qop=auth`; `None` for RFC 2069.
    pub qop_auth: Option<(&'a str, &'a str)>,
    /// Needed by the `-sess` algorithms even without qop (RFC 7616 requires qop there).
    pub cnonce: Option<&'a str>,
}

/// The `response` value from a plain (non-session) `HA1`.
pub(crate) fn response(ha1_plain: &str, input: &ResponseInput<'_>) -> String {
    let alg = input.algorithm;
    let session_ha1;
    let ha1 = if alg.is_session() {
        session_ha1 = alg.hash(&[ha1_plain, input.nonce, input.cnonce.unwrap_or("")]);
        session_ha1.as_str()
    } else {
        ha1_plain
    };
    let ha2 = alg.hash(&[input.method, input.uri]);
    match input.qop_auth {
        Some((nc, cnonce)) => alg.hash(&[ha1, input.nonce, nc, cnonce, "auth", &ha2]),
        None => alg.hash(&[ha1, input.nonce, &ha2]),
    }
}

/// Compares two hex digests in constant time, ignoring the case of the hex digits.
pub(crate) fn digest_eq(expected_lower: &str, given: &str) -> bool {
    let given = given.to_ascii_lowercase();
    expected_lower.len() == given.len()
        && bool::from(expected_lower.as_bytes().ct_eq(given.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7616 §3.9.1.
    const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn rfc7616(alg: DigestAlgorithm) -> String {
        let h = ha1(alg, "Mufasa", "http-auth@example.org", "Circle of Life");
        response(
            &h,
            &ResponseInput {
                algorithm: alg,
                method: "GET",
                uri: "/dir/index.html",
                nonce: NONCE,
                qop_auth: Some(("00000001", CNONCE)),
                cnonce: Some(CNONCE),
            },
        )
    }

    #[test]
    fn rfc7616_md5_vector() {
        assert_eq!(
            rfc7616(DigestAlgorithm::Md5),
            "8ca523f5e9506fed4657c9700eebdbec"
        );
    }

    #[test]
    fn rfc7616_sha256_vector() {
        assert_eq!(
            rfc7616(DigestAlgorithm::Sha256),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn rfc2617_rfc2069_mode_vector() {
        // RFC 2617 §3.5 without qop is RFC 2069: HA1:nonce:HA2.
        let h = ha1(
            DigestAlgorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        let r = response(
            &h,
            &ResponseInput {
                algorithm: DigestAlgorithm::Md5,
                method: "GET",
                uri: "/dir/index.html",
                nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                qop_auth: None,
                cnonce: None,
            },
        );
        let ha2 = DigestAlgorithm::Md5.hash(&["GET", "/dir/index.html"]);
        let expected = DigestAlgorithm::Md5.hash(&[&h, "dcd98b7102dd2f0e8b11d0f600bfb0c093", &ha2]);
        assert_eq!(r, expected);
        assert_eq!(h, "939e7578ed9e3c518a452acee763bce9");
    }

    #[test]
    fn rfc2617_qop_vector() {
        // RFC 2617 §3.5 (with qop=auth, nc=00000001, cnonce 0a4f113b).
        let h = ha1(
            DigestAlgorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        let r = response(
            &h,
            &ResponseInput {
                algorithm: DigestAlgorithm::Md5,
                method: "GET",
                uri: "/dir/index.html",
                nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                qop_auth: Some(("00000001", "0a4f113b")),
                cnonce: Some("0a4f113b"),
            },
        );
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn session_variant_differs_and_depends_on_cnonce() {
        let plain = rfc7616(DigestAlgorithm::Sha256);
        let sess = rfc7616(DigestAlgorithm::Sha256Sess);
        assert_ne!(plain, sess);
        assert_eq!(sess.len(), 64);
    }

    #[test]
    fn algorithm_names_parse_case_insensitively() {
        assert_eq!("sha-256".parse(), Ok(DigestAlgorithm::Sha256));
        assert_eq!("md5-SESS".parse(), Ok(DigestAlgorithm::Md5Sess));
        assert!("SHA-512-256".parse::<DigestAlgorithm>().is_err());
    }

    #[test]
    fn digest_eq_ignores_hex_case_and_length_mismatch_is_false() {
        assert!(digest_eq("abcd", "ABcd"));
        assert!(!digest_eq("abcd", "abc"));
        assert!(!digest_eq("abcd", "abce"));
    }
}

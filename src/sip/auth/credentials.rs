//! `Authorization` / `Proxy-Authorization` values (RFC 3261 §22.4, §25.1 `credentials`;
//! RFC 7616 §3.4).

use super::digest::{DigestAlgorithm, Qop};
use super::error::{AuthError, HeaderFault};
use super::params::AuthParams;

/// Digest credentials as a UA sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    /// The digest-uri as sent (not compared with the Request-URI here).
    pub uri: String,
    pub response: String,
    /// `MD5` when the UA sent no `algorithm` (RFC 7616 §3.4).
    pub algorithm: DigestAlgorithm,
    pub cnonce: Option<String>,
    pub opaque: Option<String>,
    pub qop: Option<Qop>,
    /// The nonce count; present exactly when `qop` is.
    pub nc: Option<u32>,
}

impl Credentials {
    /// Parses a header value such as `Digest username="alice", realm="…", …`.
    ///
    /// Parameters may come in any order; unknown ones are ignored; duplicates, a missing
    /// required parameter, an unsupported `algorithm`/`qop`, or `qop` without
    /// `nc`/`cnonce` are [`AuthError::BadHeader`].
    pub fn parse(header_value: &str) -> Result<Credentials, AuthError> {
        let p = AuthParams::parse_digest(header_value)?;
        let algorithm = match p.get("algorithm") {
            Some(a) => a.parse()?,
            None => DigestAlgorithm::Md5,
        };
        let qop = match p.get("qop") {
            None => None,
            Some(q) if q.eq_ignore_ascii_case("auth") => Some(Qop::Auth),
            Some(q) => return Err(HeaderFault::UnsupportedQop(q.to_owned()).into()),
        };
        let nc = p.get("nc").map(parse_nc).transpose()?;
        let cnonce = p.get("cnonce").map(str::to_owned);
        if qop.is_some() && (nc.is_none() || cnonce.is_none()) {
            return Err(HeaderFault::QopWithoutCount.into());
        }
        Ok(Credentials {
            username: p.require("username")?.to_owned(),
            realm: p.require("realm")?.to_owned(),
            nonce: p.require("nonce")?.to_owned(),
            uri: p.require("uri")?.to_owned(),
            response: p.require("response")?.to_owned(),
            algorithm,
            cnonce,
            opaque: p.get("opaque").map(str::to_owned),
            qop,
            nc: if qop.is_some() { nc } else { None },
        })
    }
}

/// `nc-value = 8LHEX` (RFC 7616 §3.4); upper-case hex is tolerated.
fn parse_nc(s: &str) -> Result<u32, HeaderFault> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(HeaderFault::BadNonceCount);
    }
    u32::from_str_radix(s, 16).map_err(|_| HeaderFault::BadNonceCount)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7616 §3.9.1, SHA-256 Authorization header.
    const RFC7616: &str = r#"Digest username="Mufasa",
       realm="http-auth@example.org",
       uri="/dir/index.html",
       algorithm=SHA-256,
       nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
       nc=00000001,
       cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
       qop=auth,
       response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
       opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;

    #[test]
    fn parses_the_rfc7616_example() {
        let c = Credentials::parse(RFC7616).unwrap();
        assert_eq!(c.username, "Mufasa");
        assert_eq!(c.realm, "http-auth@example.org");
        assert_eq!(c.uri, "/dir/index.html");
        assert_eq!(c.algorithm, DigestAlgorithm::Sha256);
        assert_eq!(c.nc, Some(1));
        assert_eq!(c.qop, Some(Qop::Auth));
        assert_eq!(
            c.cnonce.as_deref(),
            Some("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
        );
        assert_eq!(
            c.opaque.as_deref(),
            Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
        );
    }

    #[test]
    fn any_order_mixed_case_spaces_quoted_tokens_unknown_params() {
        let c = Credentials::parse(
            "digest RESPONSE = \"ab\" ,Uri=\"sip:x\", NoNcE=\"n\", Realm = \"r\", \
             userName=\"a\\\"b\", qop=\"auth\", NC=0000000A, cnonce=\"c\", \
             algorithm=\"md5\", future-param=\"x,y\"",
        )
        .unwrap();
        assert_eq!(c.username, "a\"b");
        assert_eq!(c.realm, "r");
        assert_eq!(c.nc, Some(10));
        assert_eq!(c.algorithm, DigestAlgorithm::Md5);
    }

    #[test]
    fn algorithm_defaults_to_md5() {
        let c =
            Credentials::parse("Digest username=a, realm=r, nonce=n, uri=u, response=x").unwrap();
        assert_eq!(c.algorithm, DigestAlgorithm::Md5);
        assert_eq!(c.qop, None);
    }

    #[test]
    fn rejections() {
        let base = "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\"";
        let cases: &[(String, HeaderFault)] = &[
            (
                "Digest realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\"".into(),
                HeaderFault::MissingParam("username"),
            ),
            (
                format!("{base}, username=\"b\""),
                HeaderFault::DuplicateParam("username".into()),
            ),
            (format!("{base}, qop=auth"), HeaderFault::QopWithoutCount),
            (
                format!("{base}, qop=auth, nc=00000001"),
                HeaderFault::QopWithoutCount,
            ),
            (
                format!("{base}, qop=auth-int, nc=00000001, cnonce=c"),
                HeaderFault::UnsupportedQop("auth-int".into()),
            ),
            (
                format!("{base}, qop=auth, nc=1, cnonce=c"),
                HeaderFault::BadNonceCount,
            ),
            (
                format!("{base}, qop=auth, nc=+0000001, cnonce=c"),
                HeaderFault::BadNonceCount,
            ),
            (
                format!("{base}, algorithm=SHA-512-256"),
                HeaderFault::UnsupportedAlgorithm("SHA-512-256".into()),
            ),
            (base.replace("Digest", "Basic"), HeaderFault::NotDigest),
        ];
        for (value, fault) in cases {
            assert_eq!(
                Credentials::parse(value),
                Err(AuthError::BadHeader(fault.clone())),
                "{value}"
            );
        }
    }
}

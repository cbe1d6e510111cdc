//! Challenges, both ways: printing ours (server side) and answering a carrier's
//! (client side, RFC 3261 §22.2–22.3; RFC 7616 §3.3–3.4).

use std::fmt;

use super::digest::{ha1, response, DigestAlgorithm, Qop, ResponseInput};
use super::error::AuthError;
use super::params::{quote, AuthParams};

/// One `WWW-Authenticate` / `Proxy-Authenticate` Digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    /// `MD5` when the challenge names none.
    pub algorithm: DigestAlgorithm,
    /// `Some(Auth)` when `auth` is among the offered qop options; `None` means answer
    /// in RFC 2069 mode (also when only `auth-int` is offered).
    pub qop: Option<Qop>,
    pub stale: bool,
    pub domain: Option<String>,
}

/// The parsed form of a challenge, as the client side sees it.
pub type ChallengeParams = Challenge;

impl Challenge {
    /// Parses one challenge header value. Unsupported algorithms (e.g. `SHA-512-256`)
    /// are [`AuthError::BadHeader`]; pick among several with [`Challenge::best`].
    pub fn parse(www_authenticate_value: &str) -> Result<Challenge, AuthError> {
        let p = AuthParams::parse_digest(www_authenticate_value)?;
        let algorithm = match p.get("algorithm") {
            Some(a) => a.parse()?,
            None => DigestAlgorithm::Md5,
        };
        let qop = p.get("qop").and_then(|q| {
            q.split(',')
                .any(|o| o.trim().eq_ignore_ascii_case("auth"))
                .then_some(Qop::Auth)
        });
        Ok(Challenge {
            realm: p.require("realm")?.to_owned(),
            nonce: p.require("nonce")?.to_owned(),
            opaque: p.get("opaque").map(str::to_owned),
            algorithm,
            qop,
            stale: p
                .get("stale")
                .is_some_and(|s| s.eq_ignore_ascii_case("true")),
            domain: p.get("domain").map(str::to_owned),
        })
    }

    /// The challenge to answer among several header values: the first usable one with
    /// the strongest algorithm (SHA-256 family before MD5), as RFC 8760 §2.4 asks.
    pub fn best<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
        let rank = |c: &Challenge| match c.algorithm {
            DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => 0,
            DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => 1,
        };
        values
            .into_iter()
            .filter_map(|v| Challenge::parse(v).ok())
            .enumerate()
            .min_by_key(|(i, c)| (rank(c), *i))
            .map(|(_, c)| c)
    }
}

impl fmt::Display for Challenge {
    /// `Digest realm="…", nonce="…", opaque="…", algorithm=SHA-256, qop="auth"[, stale=true]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(160);
        s.push_str("Digest realm=");
        quote(&mut s, &self.realm);
        if let Some(d) = &self.domain {
            s.push_str(", domain=");
            quote(&mut s, d);
        }
        s.push_str(", nonce=");
        quote(&mut s, &self.nonce);
        if let Some(o) = &self.opaque {
            s.push_str(", opaque=");
            quote(&mut s, o);
        }
        s.push_str(", algorithm=");
        s.push_str(self.algorithm.as_str());
        if let Some(q) = self.qop {
            s.push_str(", qop=\"");
            s.push_str(q.as_str());
            s.push('"');
        }
        if self.stale {
            s.push_str(", stale=true");
        }
        f.write_str(&s)
    }
}

/// The `Authorization` (or `Proxy-Authorization`) value answering `challenge` for a
/// request `method uri`: `qop=auth` with `nc`/`cnonce` when offered, RFC 2069 otherwise.
/// `nc` counts the requests made with this nonce, starting at 1.
pub fn authorization(
    challenge: &ChallengeParams,
    username: &str,
    password: &str,
    method: &str,
    uri: &str,
    nc: u32,
    cnonce: &str,
) -> String {
    let nc_text = format!("{nc:08x}");
    let qop_auth = challenge.qop.map(|_| (nc_text.as_str(), cnonce));
    let alg = challenge.algorithm;
    let uses_cnonce = qop_auth.is_some() || alg.is_session();
    let digest = response(
        &ha1(alg, username, &challenge.realm, password),
        &ResponseInput {
            algorithm: alg,
            method,
            uri,
            nonce: &challenge.nonce,
            qop_auth,
            cnonce: uses_cnonce.then_some(cnonce),
        },
    );
    let mut s = String::with_capacity(256);
    s.push_str("Digest username=");
    quote(&mut s, username);
    s.push_str(", realm=");
    quote(&mut s, &challenge.realm);
    s.push_str(", nonce=");
    quote(&mut s, &challenge.nonce);
    s.push_str(", uri=");
    quote(&mut s, uri);
    s.push_str(", response=");
    quote(&mut s, &digest);
    s.push_str(", algorithm=");
    s.push_str(alg.as_str());
    if uses_cnonce {
        s.push_str(", cnonce=");
        quote(&mut s, cnonce);
    }
    if let Some(o) = &challenge.opaque {
        s.push_str(", opaque=");
        quote(&mut s, o);
    }
    if qop_auth.is_some() {
        s.push_str(", qop=auth, nc=");
        s.push_str(&nc_text);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::Credentials;
    use super::*;

    const RFC7616_SHA256: &str = r#"Digest
       realm="http-auth@example.org",
       qop="auth, auth-int",
       algorithm=SHA-256,
       nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
       opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
    const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn answer(challenge: &str) -> Credentials {
        let c = Challenge::parse(challenge).unwrap();
        let v = authorization(
            &c,
            "Mufasa",
            "Circle of Life",
            "GET",
            "/dir/index.html",
            1,
            CNONCE,
        );
        Credentials::parse(&v).unwrap()
    }

    #[test]
    fn rfc7616_sha256_example_response() {
        let cr = answer(RFC7616_SHA256);
        assert_eq!(
            cr.response,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        assert_eq!(cr.nc, Some(1));
        assert_eq!(cr.qop, Some(Qop::Auth));
        assert_eq!(
            cr.opaque.as_deref(),
            Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
        );
    }

    #[test]
    fn rfc7616_md5_example_response() {
        let md5 = RFC7616_SHA256.replace("algorithm=SHA-256", "algorithm=MD5");
        assert_eq!(answer(&md5).response, "8ca523f5e9506fed4657c9700eebdbec");
    }

    #[test]
    fn without_qop_answers_rfc2069_style() {
        let v = authorization(
            &Challenge::parse("Digest realm=\"r\", nonce=\"n\"").unwrap(),
            "u",
            "p",
            "REGISTER",
            "sip:r",
            1,
            "c",
        );
        assert!(
            !v.contains("qop") && !v.contains("nc=") && !v.contains("cnonce"),
            "{v}"
        );
        let cr = Credentials::parse(&v).unwrap();
        let ha2 = DigestAlgorithm::Md5.hash(&["REGISTER", "sip:r"]);
        let h = ha1(DigestAlgorithm::Md5, "u", "r", "p");
        assert_eq!(cr.response, DigestAlgorithm::Md5.hash(&[&h, "n", &ha2]));
    }

    #[test]
    fn auth_int_only_is_answered_without_qop() {
        let c = Challenge::parse("Digest realm=r, nonce=n, qop=\"auth-int\"").unwrap();
        assert_eq!(c.qop, None);
    }

    #[test]
    fn parse_reads_stale_domain_and_defaults() {
        let c = Challenge::parse("Digest realm=\"r\", nonce=\"n\", stale=TRUE, domain=\"sip:a\"")
            .unwrap();
        assert!(c.stale);
        assert_eq!(c.algorithm, DigestAlgorithm::Md5);
        assert_eq!(c.domain.as_deref(), Some("sip:a"));
        assert!(Challenge::parse("Digest nonce=n").is_err());
    }

    #[test]
    fn display_round_trips_and_has_the_expected_shape() {
        let c = Challenge {
            realm: "sw \"1\"".into(),
            nonce: "abc".into(),
            opaque: Some("op".into()),
            algorithm: DigestAlgorithm::Sha256,
            qop: Some(Qop::Auth),
            stale: true,
            domain: None,
        };
        let s = c.to_string();
        assert_eq!(
            s,
            r#"Digest realm="sw \"1\"", nonce="abc", opaque="op", algorithm=SHA-256, qop="auth", stale=true"#
        );
        assert_eq!(Challenge::parse(&s).unwrap(), c);
    }

    #[test]
    fn best_prefers_sha256_then_first_usable() {
        let md5 = "Digest realm=r, nonce=a, algorithm=MD5";
        let sha = "Digest realm=r, nonce=b, algorithm=SHA-256";
        let weird = "Digest realm=r, nonce=c, algorithm=SHA-512-256";
        assert_eq!(Challenge::best([md5, weird, sha]).unwrap().nonce, "b");
        assert_eq!(Challenge::best([weird, md5]).unwrap().nonce, "a");
        assert_eq!(Challenge::best([weird, "Basic realm=x"]), None);
    }
}

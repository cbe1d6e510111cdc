//! Errors of digest authentication, each knowing the SIP answer it calls for.

/// Why an `Authorization` or `WWW-Authenticate` value could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderFault {
    #[error("scheme is not Digest")]
    NotDigest,
    #[error("malformed auth-param list")]
    Syntax,
    #[error("unterminated quoted string")]
    UnterminatedQuote,
    #[error("parameter {0} given twice")]
    DuplicateParam(String),
    #[error("missing parameter {0}")]
    MissingParam(&'static str),
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    #[error("unsupported qop {0}")]
    UnsupportedQop(String),
    #[error("nc is not 8 hex digits")]
    BadNonceCount,
    #[error("qop given without nc and cnonce")]
    QopWithoutCount,
}

/// The outcome of a failed digest check (RFC 3261 §22.1, §22.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The header value is not a usable Digest credential: 400.
    #[error("bad authorization header: {0}")]
    BadHeader(#[from] HeaderFault),
    /// The credentials name a realm this verifier does not serve: challenge again.
    #[error("unknown realm")]
    UnknownRealm,
    /// The algorithm is valid but not enabled here: challenge again.
    #[error("algorithm not allowed")]
    AlgorithmNotAllowed,
    /// Right password, expired nonce: challenge again with `stale=true`.
    #[error("stale nonce")]
    Stale,
    /// Right password, nonce count not above the last one seen: challenge again with
    /// `stale=true` (a legitimate UA recovers with a fresh nonce, a replayer gains nothing).
    #[error("replayed nonce count")]
    Replay,
    /// The nonce (or opaque) was not issued by us for this realm: challenge again.
    #[error("forged or foreign nonce")]
    Forged,
    /// The UA answered without `qop` (RFC 2069) and that is not allowed: 403, since
    /// challenging again would only loop.
    #[error("qop=auth required")]
    QopRequired,
    /// The response digest does not match: 403 after a challenge.
    #[error("wrong password")]
    WrongPassword,
}

impl AuthError {
    /// The SIP status code to answer with (401 means "send a fresh challenge"; a proxy
    /// turns it into 407).
    pub fn status(&self) -> u16 {
        match self {
            AuthError::BadHeader(_) => 400,
            AuthError::WrongPassword | AuthError::QopRequired => 403,
            AuthError::UnknownRealm
            | AuthError::AlgorithmNotAllowed
            | AuthError::Stale
            | AuthError::Replay
            | AuthError::Forged => 401,
        }
    }

    /// The reason phrase for [`AuthError::status`].
    pub fn reason(&self) -> &'static str {
        match self.status() {
            400 => "Bad Request",
            403 => "Forbidden",
            _ => "Unauthorized",
        }
    }

    /// Whether the fresh challenge should carry `stale=true` (RFC 7616 §3.3).
    pub fn stale(&self) -> bool {
        matches!(self, AuthError::Stale | AuthError::Replay)
    }
}

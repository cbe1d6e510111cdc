//! The server side: challenges out, credentials checked (RFC 3261 §22.1–22.4,
//! RFC 7616 §3.3 and §3.5 `stale`, RFC 8760 algorithm order).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::client::Challenge;
use super::credentials::Credentials;
use super::digest::{digest_eq, ha1, response, DigestAlgorithm, Qop, ResponseInput};
use super::error::AuthError;
use super::nonce::{CountCheck, NonceMint, ReplayTracker};

/// What a [`Verifier`] accepts and offers.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// How long a nonce stays good; after it the answer is 401 with `stale=true`.
    pub nonce_lifetime: Duration,
    /// Offered in this order by [`Verifier::challenges`] and the only ones accepted.
    /// Default `[SHA-256, MD5]` (RFC 8760 §2.4: the preferred one first). Add a `-sess`
    /// algorithm here to accept (and offer) it.
    pub algorithms: Vec<DigestAlgorithm>,
    /// Accept answers without `qop` (RFC 2069), each nonce once. Default `false`.
    pub allow_rfc2069: bool,
    /// Bound of the replay tracker (used nonces remembered at once).
    pub max_tracked_nonces: usize,
    /// Realms served; empty means any realm we issued a nonce for.
    pub realms: Vec<String>,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        VerifierConfig {
            nonce_lifetime: Duration::from_secs(300),
            algorithms: vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
            allow_rfc2069: false,
            max_tracked_nonces: 65_536,
            realms: Vec::new(),
        }
    }
}

/// Issues digest challenges and verifies the answers. Share it behind an `Arc`: all
/// methods take `&self` and never block for long (no lock is held across calls).
pub struct Verifier {
    config: VerifierConfig,
    mint: NonceMint,
    tracker: ReplayTracker,
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Verifier {
    /// A verifier whose nonces are signed with `secret` (share it between nodes and
    /// across restarts to keep outstanding nonces valid).
    pub fn new(secret: impl Into<Vec<u8>>, config: VerifierConfig) -> Self {
        let tracker =
            ReplayTracker::new(config.max_tracked_nonces, config.nonce_lifetime.as_secs());
        Verifier {
            config,
            mint: NonceMint::new(secret.into()),
            tracker,
        }
    }

    /// A verifier with a random 32-byte secret (nonces die with the process).
    pub fn with_random_secret(config: VerifierConfig) -> Self {
        let secret: [u8; 32] = rand::random();
        Self::new(secret.to_vec(), config)
    }

    pub fn config(&self) -> &VerifierConfig {
        &self.config
    }

    /// One challenge for `realm` with `algorithm`, a fresh nonce and `qop="auth"`.
    pub fn challenge(
        &self,
        realm: &str,
        algorithm: DigestAlgorithm,
        now: SystemTime,
        stale: bool,
    ) -> Challenge {
        self.challenge_with_nonce(
            realm,
            self.mint.issue(realm, unix_secs(now)),
            algorithm,
            stale,
        )
    }

    fn challenge_with_nonce(
        &self,
        realm: &str,
        nonce: String,
        algorithm: DigestAlgorithm,
        stale: bool,
    ) -> Challenge {
        Challenge {
            realm: realm.to_owned(),
            nonce,
            opaque: Some(self.mint.opaque(realm)),
            algorithm,
            qop: Some(Qop::Auth),
            stale,
            domain: None,
        }
    }

    /// The `WWW-Authenticate` (or `Proxy-Authenticate`) values to send, one per configured
    /// algorithm, preferred first (SHA-256 then MD5 by default), sharing one nonce.
    pub fn challenges(&self, realm: &str, now: SystemTime, stale: bool) -> Vec<String> {
        let nonce = self.mint.issue(realm, unix_secs(now));
        self.config
            .algorithms
            .iter()
            .map(|&alg| {
                self.challenge_with_nonce(realm, nonce.clone(), alg, stale)
                    .to_string()
            })
            .collect()
    }

    /// Checks `creds` for a request with `method` against the user's `password`.
    pub fn verify(
        &self,
        creds: &Credentials,
        method: &str,
        password: &str,
        now: SystemTime,
    ) -> Result<(), AuthError> {
        let h = ha1(creds.algorithm, &creds.username, &creds.realm, password);
        self.verify_ha1(creds, method, &h, now)
    }

    /// Like [`Verifier::verify`] with a stored `HA1 = H(username:realm:password)` (hex,
    /// for `creds.algorithm`'s hash function; see [`super::ha1`]).
    pub fn verify_ha1(
        &self,
        creds: &Credentials,
        method: &str,
        ha1_hex: &str,
        now: SystemTime,
    ) -> Result<(), AuthError> {
        if !self.config.algorithms.contains(&creds.algorithm) {
            return Err(AuthError::AlgorithmNotAllowed);
        }
        if !self.config.realms.is_empty() && !self.config.realms.contains(&creds.realm) {
            return Err(AuthError::UnknownRealm);
        }
        if creds.qop.is_none() && !self.config.allow_rfc2069 {
            return Err(AuthError::QopRequired);
        }
        let issued = self
            .mint
            .open(&creds.realm, &creds.nonce)
            .ok_or(AuthError::Forged)?;
        if let Some(opaque) = &creds.opaque {
            if !digest_eq(&self.mint.opaque(&creds.realm), opaque) {
                return Err(AuthError::Forged);
            }
        }
        if !self.response_matches(creds, method, &ha1_hex.to_ascii_lowercase()) {
            return Err(AuthError::WrongPassword);
        }
        let now_secs = unix_secs(now);
        if now_secs.saturating_sub(issued) > self.config.nonce_lifetime.as_secs() {
            return Err(AuthError::Stale);
        }
        match self.tracker.check(&creds.nonce, issued, creds.nc, now_secs) {
            CountCheck::Fresh => Ok(()),
            CountCheck::Replay => Err(AuthError::Replay),
            CountCheck::Evicted => Err(AuthError::Stale),
        }
    }

    fn response_matches(&self, creds: &Credentials, method: &str, ha1_lower: &str) -> bool {
        let cnonce = creds.cnonce.as_deref().unwrap_or("");
        let compute = |nc: Option<&str>| {
            response(
                ha1_lower,
                &ResponseInput {
                    algorithm: creds.algorithm,
                    method,
                    uri: &creds.uri,
                    nonce: &creds.nonce,
                    qop_auth: nc.map(|nc| (nc, cnonce)),
                    cnonce: creds.cnonce.as_deref(),
                },
            )
        };
        match creds.nc {
            None => digest_eq(&compute(None), &creds.response),
            Some(n) => {
                // nc is 8LHEX, but some UAs hash it in upper case: accept either.
                let lower = format!("{n:08x}");
                let upper = lower.to_ascii_uppercase();
                digest_eq(&compute(Some(&lower)), &creds.response)
                    || (upper != lower && digest_eq(&compute(Some(&upper)), &creds.response))
            }
        }
    }

    /// Forgets expired nonces (also done on its own as `verify` is called).
    pub fn purge(&self, now: SystemTime) {
        self.tracker.purge(unix_secs(now));
    }

    /// Nonces currently remembered for replay protection (for metrics and tests).
    pub fn tracked_nonces(&self) -> usize {
        self.tracker.len()
    }
}

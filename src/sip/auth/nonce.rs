//! Stateless, self-validating nonces and the bounded nonce-count tracker.
//!
//! A nonce is the hex encoding of `issued (u64 BE, Unix seconds) ‖ 12 random bytes ‖
//! HMAC-SHA256(secret, issued ‖ random ‖ realm)[..16]` — 72 hex digits. Issuing one
//! stores nothing; opening one checks the MAC (forgery, or a nonce for another realm)
//! and yields its issue time (expiry is the caller's comparison with `now`).
//!
//! Replay protection keeps, per nonce that has been *used*, the highest `nc` seen. The
//! map is bounded: expired nonces are purged periodically, and if it is still full the
//! oldest-issued entries are evicted and a *floor* is raised: an untracked nonce issued
//! at or before the floor is treated as stale, so eviction never re-opens a replay.

use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::digest::hex;

type HmacSha256 = Hmac<Sha256>;

const RANDOM_LEN: usize = 12;
const MAC_LEN: usize = 16;
const RAW_LEN: usize = 8 + RANDOM_LEN + MAC_LEN;

/// Issues and opens nonces with one secret.
pub(crate) struct NonceMint {
    secret: Vec<u8>,
}

impl NonceMint {
    pub(crate) fn new(secret: Vec<u8>) -> Self {
        NonceMint { secret }
    }

    fn mac(&self, parts: &[&[u8]]) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match HmacSha256::new_from_slice(&self.secret) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        for p in parts {
            mac.update(p);
        }
        mac
    }

    /// A fresh nonce for `realm`, issued at `issued` (Unix seconds).
    pub(crate) fn issue(&self, realm: &str, issued: u64) -> String {
        let random: [u8; RANDOM_LEN] = rand::random();
        self.issue_with(realm, issued, random)
    }

    fn issue_with(&self, realm: &str, issued: u64, random: [u8; RANDOM_LEN]) -> String {
        let t = issued.to_be_bytes();
        let tag = self
            .mac(&[&t, &random, realm.as_bytes()])
            .finalize()
            .into_bytes();
        let mut raw = Vec::with_capacity(RAW_LEN);
        raw.extend_from_slice(&t);
        raw.extend_from_slice(&random);
        raw.extend_from_slice(&tag[..MAC_LEN]);
        hex(&raw)
    }

    /// The issue time of `nonce` if we issued it for `realm`; `None` if forged/foreign.
    pub(crate) fn open(&self, realm: &str, nonce: &str) -> Option<u64> {
        let raw = unhex(nonce)?;
        if raw.len() != RAW_LEN {
            return None;
        }
        let (t, rest) = raw.split_at(8);
        let (random, tag) = rest.split_at(RANDOM_LEN);
        self.mac(&[t, random, realm.as_bytes()])
            .verify_truncated_left(tag)
            .ok()?;
        let mut t8 = [0u8; 8];
        t8.copy_from_slice(t);
        Some(u64::from_be_bytes(t8))
    }

    /// The `opaque` value for `realm`: stable per secret and realm, checked if echoed.
    pub(crate) fn opaque(&self, realm: &str) -> String {
        let tag = self
            .mac(&[b"opaque", realm.as_bytes()])
            .finalize()
            .into_bytes();
        hex(&tag[..8])
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nib = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

/// What a nonce-count check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CountCheck {
    Fresh,
    Replay,
    /// Untracked and at or below the eviction floor: re-challenge.
    Evicted,
}

#[derive(Debug, Clone, Copy)]
struct NonceUse {
    issued: u64,
    /// Highest nc seen; 0 for a nonce used once without qop (RFC 2069 mode).
    highest_nc: u32,
}

/// The bounded map of used nonces → highest nc, safe to share between tasks.
pub(crate) struct ReplayTracker {
    seen: DashMap<String, NonceUse>,
    max_entries: usize,
    lifetime_secs: u64,
    /// Untracked nonces issued before this second (Unix) are treated as evicted.
    floor: AtomicU64,
    last_purge: AtomicU64,
}

impl ReplayTracker {
    pub(crate) fn new(max_entries: usize, lifetime_secs: u64) -> Self {
        ReplayTracker {
            seen: DashMap::new(),
            max_entries: max_entries.max(1),
            lifetime_secs: lifetime_secs.max(1),
            floor: AtomicU64::new(0),
            last_purge: AtomicU64::new(0),
        }
    }

    /// Records a use of `nonce` with `nc` (`None` = RFC 2069, allowed once per nonce).
    pub(crate) fn check(&self, nonce: &str, issued: u64, nc: Option<u32>, now: u64) -> CountCheck {
        self.maintain(now);
        let nc_value = nc.unwrap_or(0);
        if let Some(mut used) = self.seen.get_mut(nonce) {
            return match nc {
                Some(n) if n > used.highest_nc => {
                    used.highest_nc = n;
                    CountCheck::Fresh
                }
                _ => CountCheck::Replay,
            };
        }
        if issued < self.floor.load(Ordering::Relaxed) {
            return CountCheck::Evicted;
        }
        if nc == Some(0) {
            return CountCheck::Replay;
        }
        // Two tasks racing on the same unseen nonce: the entry API settles it.
        match self.seen.entry(nonce.to_owned()) {
            dashmap::Entry::Occupied(mut e) => match nc {
                Some(n) if n > e.get().highest_nc => {
                    e.get_mut().highest_nc = n;
                    CountCheck::Fresh
                }
                _ => CountCheck::Replay,
            },
            dashmap::Entry::Vacant(v) => {
                v.insert(NonceUse {
                    issued,
                    highest_nc: nc_value,
                });
                CountCheck::Fresh
            }
        }
    }

    /// Purges when a lifetime has passed since the last purge or the map is full.
    fn maintain(&self, now: u64) {
        let last = self.last_purge.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= self.lifetime_secs || self.seen.len() >= self.max_entries {
            self.purge(now);
        }
    }

    /// Drops expired nonces; if still full, evicts the oldest-issued and raises the floor.
    pub(crate) fn purge(&self, now: u64) {
        self.last_purge.store(now, Ordering::Relaxed);
        let lifetime = self.lifetime_secs;
        self.seen
            .retain(|_, u| u.issued.saturating_add(lifetime) >= now);
        if self.seen.len() < self.max_entries {
            return;
        }
        // Keep the newest ~3/4 of the bound.
        let keep = self.max_entries - self.max_entries / 4;
        let mut issued: Vec<u64> = self.seen.iter().map(|e| e.issued).collect();
        issued.sort_unstable_by(|a, b| b.cmp(a));
        let Some(&cutoff) = issued.get(keep.saturating_sub(1)) else {
            return;
        };
        // Everything issued at or before the cutoff second goes (ties included), and
        // from now on an untracked nonce must be younger than that.
        self.floor
            .fetch_max(cutoff.saturating_add(1), Ordering::Relaxed);
        self.seen.retain(|_, u| u.issued > cutoff);
    }

    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_nonce_opens_with_its_time_and_realm_only() {
        let mint = NonceMint::new(b"k".to_vec());
        let n = mint.issue("example.com", 1_700_000_000);
        assert_eq!(n.len(), RAW_LEN * 2);
        assert_eq!(mint.open("example.com", &n), Some(1_700_000_000));
        assert_eq!(mint.open("other.com", &n), None);
        assert_eq!(NonceMint::new(b"k2".to_vec()).open("example.com", &n), None);
    }

    #[test]
    fn every_single_bit_flip_is_rejected() {
        let mint = NonceMint::new(b"secret".to_vec());
        let n = mint.issue_with("r", 42, [7; RANDOM_LEN]);
        let raw = unhex(&n).unwrap();
        for i in 0..raw.len() * 8 {
            let mut r = raw.clone();
            r[i / 8] ^= 1 << (i % 8);
            assert_eq!(mint.open("r", &hex(&r)), None, "bit {i}");
        }
    }

    #[test]
    fn garbage_nonces_do_not_open() {
        let mint = NonceMint::new(b"s".to_vec());
        for g in ["", "zz", "abc", "00", &"0".repeat(RAW_LEN * 2), "é"] {
            assert_eq!(mint.open("r", g), None, "{g}");
        }
    }

    #[test]
    fn tracker_requires_increasing_nc() {
        let t = ReplayTracker::new(100, 300);
        assert_eq!(t.check("a", 10, Some(1), 10), CountCheck::Fresh);
        assert_eq!(t.check("a", 10, Some(1), 10), CountCheck::Replay);
        assert_eq!(t.check("a", 10, Some(2), 10), CountCheck::Fresh);
        assert_eq!(t.check("a", 10, Some(5), 10), CountCheck::Fresh);
        assert_eq!(t.check("a", 10, Some(4), 10), CountCheck::Replay);
        assert_eq!(t.check("b", 10, Some(0), 10), CountCheck::Replay);
    }

    #[test]
    fn tracker_allows_rfc2069_use_once() {
        let t = ReplayTracker::new(100, 300);
        assert_eq!(t.check("a", 10, None, 10), CountCheck::Fresh);
        assert_eq!(t.check("a", 10, None, 10), CountCheck::Replay);
    }

    #[test]
    fn purge_drops_expired_entries() {
        let t = ReplayTracker::new(100, 300);
        t.check("old", 0, Some(1), 0);
        t.check("new", 250, Some(1), 250);
        t.purge(400);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn tracker_stays_bounded_and_evicted_nonces_cannot_be_replayed() {
        let t = ReplayTracker::new(8, 300);
        for i in 0..100u64 {
            let c = t.check(&format!("n{i}"), i, Some(1), 100);
            assert_eq!(c, CountCheck::Fresh, "n{i}");
            assert!(t.len() <= 8);
        }
        // n0 was evicted long ago: replaying it must not be accepted as fresh.
        assert_eq!(t.check("n0", 0, Some(1), 100), CountCheck::Evicted);
        assert_eq!(t.check("n99", 99, Some(1), 100), CountCheck::Replay);
    }
}

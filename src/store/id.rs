//! [`CallRecordId`]: the store's key for one call, from its in-flight row to its CDR.
//!
//! Ids are generated in Rust (no SERIAL/AUTOINCREMENT, which differ between SQLite and
//! PostgreSQL and would need a round trip) as ULIDs: 48 bits of unix milliseconds then
//! 80 random bits, written as 26 Crockford base-32 characters. They sort by creation
//! time as plain text, and two nodes sharing one PostgreSQL never collide in practice.

use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Crockford's base-32 alphabet (no I, L, O, U).
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Identifies one call record: the in-flight row written by `call_started` and the CDR
/// written by `call_ended` (or by `close_in_flight`) share it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallRecordId(String);

impl CallRecordId {
    /// A new ULID for a call that starts at `now_ms` (unix milliseconds, passed in: the
    /// store never reads the clock). Times before 1970 or past year 10889 are clamped.
    pub fn generate(now_ms: i64) -> Self {
        let random: u128 = rand::rng().random();
        Self::from_parts(now_ms, random)
    }

    /// The ULID for a given time and 80 bits of randomness (the high 48 bits of `random`
    /// are ignored). Deterministic: tests use it.
    pub fn from_parts(now_ms: i64, random: u128) -> Self {
        let time = u128::from(u64::try_from(now_ms).unwrap_or(0).min((1 << 48) - 1));
        let value = (time << 80) | (random & ((1u128 << 80) - 1));
        let mut text = String::with_capacity(26);
        // 26 characters × 5 bits = 130 bits: the first character carries the top 3 bits.
        for i in (0..26).rev() {
            let digit = (value >> (i * 5)) & 0x1f;
            text.push(char::from(CROCKFORD[digit as usize]));
        }
        CallRecordId(text)
    }

    /// The id as text, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Any text is accepted as an id: callers that have their own scheme may use it.
impl From<String> for CallRecordId {
    fn from(id: String) -> Self {
        CallRecordId(id)
    }
}

impl From<&str> for CallRecordId {
    fn from(id: &str) -> Self {
        CallRecordId(id.to_owned())
    }
}

impl fmt::Display for CallRecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector_encodes_time_then_randomness() {
        // The ULID spec's examples: 1469922850259 -> 01ARZ3NDEK, 1469918176385 -> 01ARYZ6S41.
        let id = CallRecordId::from_parts(1_469_922_850_259, 0);
        assert_eq!(id.as_str(), "01ARZ3NDEK0000000000000000");
        let id = CallRecordId::from_parts(1_469_918_176_385, 0);
        assert_eq!(id.as_str(), "01ARYZ6S410000000000000000");
        let id = CallRecordId::from_parts(0, (1u128 << 80) - 1);
        assert_eq!(id.as_str(), "0000000000ZZZZZZZZZZZZZZZZ");
    }

    #[test]
    fn later_ids_sort_after_earlier_ones() {
        let a = CallRecordId::generate(1_700_000_000_000);
        let b = CallRecordId::generate(1_700_000_000_001);
        assert!(a < b, "{a} !< {b}");
        assert_eq!(a.as_str().len(), 26);
        assert!(a.as_str().bytes().all(|c| CROCKFORD.contains(&c)));
    }

    #[test]
    fn generated_ids_differ_within_one_millisecond() {
        let a = CallRecordId::generate(5);
        let b = CallRecordId::generate(5);
        assert_ne!(a, b);
    }

    #[test]
    fn out_of_range_times_are_clamped() {
        assert_eq!(
            CallRecordId::from_parts(-1, 0),
            CallRecordId::from_parts(0, 0)
        );
        assert!(CallRecordId::from_parts(i64::MAX, 0)
            .as_str()
            .starts_with("7ZZZZZZZZZ"));
    }
}

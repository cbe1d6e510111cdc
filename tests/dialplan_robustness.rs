//! Bad input never panics: mutated copies of the demo plan either load or report
//! errors, and routing arbitrary strings either routes or returns an error.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use switchboard::dialplan::{Dialplan, RouteContext};

const DEMO: &str = include_str!("../dialplans/demo.toml");

/// A small deterministic generator (no external randomness in tests).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "[", "]", "{", "}", "\"", "_", "X", ".", "!", "${", "}", ":", "-", "=", "\n", "#", ",", "*",
    "[1-", "99", "é", "goto", "include", "tz", "time", "\"\"",
];

#[test]
fn mutated_plans_never_panic() {
    let mut rng = Lcg(7);
    let mut loaded = 0;
    for _ in 0..200 {
        let mut text: Vec<char> = DEMO.chars().collect();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(text.len());
            match rng.below(3) {
                0 => {
                    text.remove(at);
                }
                1 => {
                    let piece = PIECES[rng.below(PIECES.len())];
                    for (i, c) in piece.chars().enumerate() {
                        text.insert(at + i, c);
                    }
                }
                _ => {
                    let end = (at + rng.below(40)).min(text.len());
                    text.drain(at..end);
                }
            }
        }
        let text: String = text.into_iter().collect();
        match Dialplan::from_str("m.toml", &text) {
            Ok(_) => loaded += 1,
            Err(errors) => {
                assert!(!errors.is_empty());
                for e in errors {
                    assert!(e.line <= text.lines().count() + 1, "{e} beyond the end");
                    assert!(e.to_string().starts_with("m.toml:"), "{e}");
                }
            }
        }
    }
    assert!(loaded > 0, "some mutations are harmless");
}

#[test]
fn arbitrary_dialed_strings_never_panic() {
    let plan = Dialplan::from_str("demo.toml", DEMO).expect("demo loads");
    let mut rng = Lcg(11);
    let alphabet: Vec<char> = "0123456789*#+sitXé ".chars().collect();
    for _ in 0..500 {
        let len = rng.below(16);
        let callee: String = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        for context in ["internal", "ivr-main", "from-trunk", "agent-codes", "nope"] {
            let ctx = RouteContext {
                context: context.into(),
                caller: callee.chars().rev().collect(),
                callee: callee.clone(),
                vars: BTreeMap::new(),
                now: Utc
                    .timestamp_opt(rng.below(4_000_000_000) as i64, 0)
                    .single()
                    .expect("valid"),
            };
            let _ = plan.route(&ctx);
        }
    }
}

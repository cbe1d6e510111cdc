//! Which agent(s) a waiting caller is offered to.
//!
//! The caller of `choose` has already filtered the candidates (offerable, in an
//! allowed tier, skilled enough, not yet tried this round). Selection then keeps the
//! lowest tier present ("lower tier first") and applies the queue's strategy, with
//! every tie broken by longest idle and then agent id, so runs are deterministic.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::agent::Agent;
use super::AgentId;

/// Queue strategies (Asterisk / FreeSWITCH mod_callcenter vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Ring every candidate; the first answer wins.
    RingAll,
    /// The agent idle longest (since login or last call).
    LongestIdle,
    /// The next agent after the last one offered, by agent id (Asterisk `rrmemory`).
    RoundRobin,
    /// The agent who answered the fewest calls.
    FewestCalls,
    /// Uniformly at random (seeded).
    Random,
    /// The agent with the highest total level in the caller's required skills.
    #[serde(alias = "skills_based")]
    Skills,
}

/// A candidate agent and its tier in the queue.
pub(super) struct Candidate<'a> {
    pub agent: &'a Agent,
    pub tier: u32,
}

/// Picks the agents to ring (several only for ring-all). `last` is the queue's
/// round-robin memory; `skills` the caller's requirements.
pub(super) fn choose(
    strategy: Strategy,
    mut candidates: Vec<Candidate<'_>>,
    last: Option<&AgentId>,
    skills: &[(String, u8)],
    rng: &mut ChaCha8Rng,
) -> Vec<AgentId> {
    let Some(low) = candidates.iter().map(|c| c.tier).min() else {
        return Vec::new();
    };
    candidates.retain(|c| c.tier == low);
    candidates
        .sort_by(|a, b| (a.agent.idle_since, &a.agent.id).cmp(&(b.agent.idle_since, &b.agent.id)));
    let pick = match strategy {
        Strategy::RingAll => return candidates.iter().map(|c| c.agent.id.clone()).collect(),
        Strategy::LongestIdle => candidates.first(),
        Strategy::FewestCalls => candidates.iter().min_by_key(|c| c.agent.calls),
        Strategy::Random => candidates.get(rng.random_range(0..candidates.len())),
        // min_by_key keeps the first of equals: the longest idle.
        Strategy::Skills => candidates
            .iter()
            .min_by_key(|c| std::cmp::Reverse(score(c.agent, skills))),
        Strategy::RoundRobin => {
            let mut by_id: Vec<&Candidate<'_>> = candidates.iter().collect();
            by_id.sort_by(|a, b| a.agent.id.cmp(&b.agent.id));
            let next = last.and_then(|l| by_id.iter().find(|c| &c.agent.id > l).copied());
            next.or(by_id.first().copied())
        }
    };
    pick.map(|c| vec![c.agent.id.clone()]).unwrap_or_default()
}

/// Sum of the agent's levels in the caller's required skills.
fn score(agent: &Agent, skills: &[(String, u8)]) -> u32 {
    skills.iter().map(|(s, _)| u32::from(agent.skill(s))).sum()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    use rand::SeedableRng;

    use super::*;

    fn agents(t0: Instant) -> Vec<Agent> {
        // a: idle longest, 5 calls, english 2; b: 1 call, english 9; c: newest, 0 calls.
        let mk = |id: &str, idle: u64, calls: u64, en: u8| {
            let mut skills = BTreeMap::new();
            skills.insert("english".to_string(), en);
            let mut a = Agent::new(AgentId(id.into()), id.into(), skills, true);
            a.idle_since = Some(t0 + Duration::from_secs(idle));
            a.calls = calls;
            a
        };
        vec![mk("a", 0, 5, 2), mk("b", 10, 1, 9), mk("c", 20, 0, 0)]
    }

    fn run(s: Strategy, agents: &[Agent], tiers: &[u32], last: Option<&str>) -> Vec<String> {
        let cands = agents
            .iter()
            .zip(tiers)
            .map(|(agent, &tier)| Candidate { agent, tier })
            .collect();
        let last = last.map(|l| AgentId(l.into()));
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let skills = vec![("english".to_string(), 1)];
        choose(s, cands, last.as_ref(), &skills, &mut rng)
            .into_iter()
            .map(|a| a.0)
            .collect()
    }

    #[test]
    fn each_strategy_picks_its_agent() {
        let t0 = Instant::now();
        let ag = agents(t0);
        let flat = [0, 0, 0];
        assert_eq!(run(Strategy::RingAll, &ag, &flat, None), ["a", "b", "c"]);
        assert_eq!(run(Strategy::LongestIdle, &ag, &flat, None), ["a"]);
        assert_eq!(run(Strategy::FewestCalls, &ag, &flat, None), ["c"]);
        assert_eq!(run(Strategy::Skills, &ag, &flat, None), ["b"]);
        assert_eq!(run(Strategy::RoundRobin, &ag, &flat, None), ["a"]);
        assert_eq!(run(Strategy::RoundRobin, &ag, &flat, Some("a")), ["b"]);
        assert_eq!(run(Strategy::RoundRobin, &ag, &flat, Some("c")), ["a"]);
    }

    #[test]
    fn lowest_tier_present_goes_first() {
        let t0 = Instant::now();
        let ag = agents(t0);
        assert_eq!(run(Strategy::LongestIdle, &ag, &[2, 1, 1], None), ["b"]);
        assert_eq!(run(Strategy::RingAll, &ag, &[2, 1, 1], None), ["b", "c"]);
    }

    #[test]
    fn skill_ties_go_to_the_longest_idle() {
        let t0 = Instant::now();
        let mut ag = agents(t0);
        ag[2].skills.insert("english".into(), 9);
        assert_eq!(run(Strategy::Skills, &ag, &[0, 0, 0], None), ["b"]);
    }

    #[test]
    fn random_is_seeded_and_covers_candidates() {
        let t0 = Instant::now();
        let ag = agents(t0);
        let cands = || {
            ag.iter()
                .map(|agent| Candidate { agent, tier: 0 })
                .collect()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let seq: Vec<_> = (0..30)
            .map(|_| choose(Strategy::Random, cands(), None, &[], &mut rng))
            .collect();
        let mut rng2 = ChaCha8Rng::seed_from_u64(1);
        let seq2: Vec<_> = (0..30)
            .map(|_| choose(Strategy::Random, cands(), None, &[], &mut rng2))
            .collect();
        assert_eq!(seq, seq2);
        for id in ["a", "b", "c"] {
            assert!(seq.iter().any(|p| p[0].0 == id), "{id} never picked");
        }
    }

    #[test]
    fn no_candidates_no_pick() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert!(choose(Strategy::RingAll, Vec::new(), None, &[], &mut rng).is_empty());
    }
}

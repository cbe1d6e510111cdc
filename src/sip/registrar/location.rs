//! The location service table and REGISTER processing (RFC 3261 §10.3 steps 6–8).

use std::net::SocketAddr;
use std::time::Instant;

use dashmap::DashMap;

use super::aor::Aor;
use super::binding::{
    expires_at, Binding, BindingKey, ContactSet, ContactSpec, RegisterRequest, Transport,
};
use super::error::RegisterError;

/// Expiry limits and the contact cap, in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarPolicy {
    /// Non-zero expiries below this are refused with 423 (default 60).
    pub min_expires: u32,
    /// Longer expiries are shortened to this (default 3600).
    pub max_expires: u32,
    /// Used when neither the Contact nor the request says (default 3600).
    pub default_expires: u32,
    /// Live bindings per AOR (default 10).
    pub max_contacts: usize,
    /// When full, drop the bindings closest to expiry instead of answering 403.
    pub evict_when_full: bool,
}

impl Default for RegistrarPolicy {
    fn default() -> Self {
        RegistrarPolicy {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_contacts: 10,
            evict_when_full: false,
        }
    }
}

/// What a successful REGISTER did, for events and metrics.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RegisterOutcome {
    /// The AOR's live bindings afterwards, q-ordered: the 200's Contact list.
    pub bindings: Vec<Binding>,
    pub added: Vec<Binding>,
    pub refreshed: Vec<Binding>,
    /// Removed by expires=0, `*`, or eviction (the old bindings).
    pub removed: Vec<Binding>,
}

/// All bindings, shared read-mostly between tasks. Each REGISTER is applied atomically
/// per AOR (one map shard is locked briefly; nothing awaits under it).
#[derive(Debug, Default)]
pub struct Registrar {
    bindings: DashMap<Aor, Vec<Binding>>,
}

fn q_order(list: &mut [Binding]) {
    list.sort_by(|a, b| b.q.unwrap_or(1.0).total_cmp(&a.q.unwrap_or(1.0)));
}

fn live(list: &[Binding], now: Instant) -> Vec<Binding> {
    let mut out: Vec<Binding> = list.iter().filter(|b| b.is_live(now)).cloned().collect();
    q_order(&mut out);
    out
}

impl Registrar {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a REGISTER and returns the AOR's bindings afterwards (for the 200).
    pub fn register(
        &self,
        now: Instant,
        req: RegisterRequest,
        policy: &RegistrarPolicy,
    ) -> Result<Vec<Binding>, RegisterError> {
        self.register_detailed(now, req, policy).map(|o| o.bindings)
    }

    /// [`Registrar::register`], also saying which bindings were added, refreshed, removed.
    pub fn register_detailed(
        &self,
        now: Instant,
        req: RegisterRequest,
        policy: &RegistrarPolicy,
    ) -> Result<RegisterOutcome, RegisterError> {
        let specs = match &req.contacts {
            ContactSet::Star => return self.unregister_all(now, &req),
            ContactSet::List(specs) if specs.is_empty() => {
                return Ok(RegisterOutcome {
                    bindings: self.lookup(&req.aor, now),
                    ..RegisterOutcome::default()
                });
            }
            ContactSet::List(specs) => specs,
        };
        // Validate everything before touching the table: a refused request changes nothing.
        let mut planned: Vec<(&ContactSpec, BindingKey, u32)> = Vec::with_capacity(specs.len());
        for spec in specs {
            if spec.uri.trim() == "*" {
                return Err(RegisterError::InvalidWildcard);
            }
            if spec.q.is_some_and(|q| !(0.0..=1.0).contains(&q)) {
                return Err(RegisterError::InvalidQ);
            }
            let asked = spec
                .expires_param
                .or(req.header_expires)
                // Our own default never earns the UA a 423.
                .unwrap_or_else(|| policy.default_expires.max(policy.min_expires));
            if asked != 0 && asked < policy.min_expires {
                return Err(RegisterError::IntervalTooBrief {
                    min_expires: policy.min_expires,
                });
            }
            let secs = asked.min(policy.max_expires.max(1));
            planned.push((spec, BindingKey::of(&spec.uri, &spec.params), secs));
        }

        let mut entry = self.bindings.entry(req.aor.clone()).or_default();
        let result = apply(entry.value_mut(), now, &req, planned, policy);
        let empty = entry.is_empty();
        drop(entry);
        if empty {
            self.bindings.remove_if(&req.aor, |_, v| v.is_empty());
        }
        result
    }

    /// `Contact: *` with `Expires: 0` (§10.3 step 6).
    fn unregister_all(
        &self,
        now: Instant,
        req: &RegisterRequest,
    ) -> Result<RegisterOutcome, RegisterError> {
        if req.header_expires != Some(0) {
            return Err(RegisterError::InvalidWildcard);
        }
        let mut out = RegisterOutcome::default();
        let Some(mut entry) = self.bindings.get_mut(&req.aor) else {
            return Ok(out);
        };
        if let Some(b) = entry
            .iter()
            .find(|b| b.is_live(now) && b.call_id == req.call_id && req.cseq <= b.cseq)
        {
            return Err(RegisterError::OutOfOrder {
                cseq: req.cseq,
                stored_cseq: b.cseq,
            });
        }
        out.removed = std::mem::take(entry.value_mut());
        out.removed.retain(|b| b.is_live(now));
        drop(entry);
        self.bindings.remove_if(&req.aor, |_, v| v.is_empty());
        Ok(out)
    }

    /// The AOR's unexpired bindings, highest q first.
    pub fn lookup(&self, aor: &Aor, now: Instant) -> Vec<Binding> {
        self.bindings
            .get(aor)
            .map(|list| live(&list, now))
            .unwrap_or_default()
    }

    /// Removes and returns every expired binding (for events and metrics).
    pub fn purge_expired(&self, now: Instant) -> Vec<(Aor, Binding)> {
        self.remove_where(|b| !b.is_live(now))
    }

    /// Removes and returns the bindings learnt from `source` over `transport`, e.g.
    /// when that TCP/TLS/WS connection closes.
    pub fn remove_by_source(
        &self,
        source: SocketAddr,
        transport: Transport,
    ) -> Vec<(Aor, Binding)> {
        self.remove_where(|b| b.source == source && b.transport == transport)
    }

    fn remove_where(&self, gone: impl Fn(&Binding) -> bool) -> Vec<(Aor, Binding)> {
        let mut out = Vec::new();
        self.bindings.retain(|aor, list| {
            let mut i = 0;
            while i < list.len() {
                if gone(&list[i]) {
                    out.push((aor.clone(), list.remove(i)));
                } else {
                    i += 1;
                }
            }
            !list.is_empty()
        });
        out
    }

    /// Every unexpired binding with its AOR, AORs in no particular order (read-only;
    /// for the API's registration list).
    pub fn snapshot(&self, now: Instant) -> Vec<(Aor, Binding)> {
        self.bindings
            .iter()
            .flat_map(|e| {
                let aor = e.key().clone();
                live(e.value(), now)
                    .into_iter()
                    .map(move |b| (aor.clone(), b))
            })
            .collect()
    }

    /// Stored bindings, including expired ones not yet purged.
    pub fn count(&self) -> usize {
        self.bindings.iter().map(|e| e.value().len()).sum()
    }

    /// AORs with at least one stored binding.
    pub fn aor_count(&self) -> usize {
        self.bindings.len()
    }
}

/// Applies validated contacts to one AOR's list, all or nothing.
fn apply(
    current: &mut Vec<Binding>,
    now: Instant,
    req: &RegisterRequest,
    planned: Vec<(&ContactSpec, BindingKey, u32)>,
    policy: &RegistrarPolicy,
) -> Result<RegisterOutcome, RegisterError> {
    let live_before = |key: &BindingKey| current.iter().find(|b| b.is_live(now) && b.key() == *key);
    for (_, key, _) in &planned {
        if let Some(b) = live_before(key) {
            if b.call_id == req.call_id && req.cseq <= b.cseq {
                return Err(RegisterError::OutOfOrder {
                    cseq: req.cseq,
                    stored_cseq: b.cseq,
                });
            }
        }
    }

    let mut next = current.clone();
    let mut out = RegisterOutcome::default();
    let mut touched: Vec<BindingKey> = Vec::with_capacity(planned.len());
    for (spec, key, secs) in planned {
        let was_live = live_before(&key).is_some();
        let existing = next.iter().position(|b| b.key() == key);
        let fresh = Binding {
            contact: spec.uri.clone(),
            params: spec.params.clone(),
            source: req.source,
            transport: req.transport,
            call_id: req.call_id.clone(),
            cseq: req.cseq,
            expires_at: expires_at(now, secs),
            q: spec.q,
        };
        match (existing, secs) {
            (Some(i), 0) => {
                let old = next.remove(i);
                if was_live && current.contains(&old) {
                    out.removed.push(old);
                }
            }
            (Some(i), _) => next[i] = fresh.clone(),
            (None, 0) => {}
            (None, _) => next.push(fresh.clone()),
        }
        if secs > 0 {
            if was_live {
                out.refreshed.push(fresh);
            } else {
                out.added.push(fresh);
            }
        }
        touched.push(key);
    }
    // A key given twice in one request counts once, with its last effect.
    out.added.retain(|b| next.contains(b));
    out.refreshed.retain(|b| next.contains(b));

    let live_count = next.iter().filter(|b| b.is_live(now)).count();
    if !out.added.is_empty() && live_count > policy.max_contacts {
        if !policy.evict_when_full {
            return Err(RegisterError::TooManyContacts {
                max: policy.max_contacts,
            });
        }
        let excess = live_count - policy.max_contacts;
        let mut victims: Vec<(Instant, usize)> = next
            .iter()
            .enumerate()
            .filter(|(_, b)| b.is_live(now) && !touched.contains(&b.key()))
            .map(|(i, b)| (b.expires_at, i))
            .collect();
        if victims.len() < excess {
            // This request alone brings more contacts than allowed.
            return Err(RegisterError::TooManyContacts {
                max: policy.max_contacts,
            });
        }
        victims.sort();
        let mut doomed: Vec<usize> = victims.into_iter().take(excess).map(|(_, i)| i).collect();
        doomed.sort_unstable_by(|a, b| b.cmp(a));
        for i in doomed {
            out.removed.push(next.remove(i));
        }
    }

    *current = next;
    out.bindings = live(current, now);
    Ok(out)
}

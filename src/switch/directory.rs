//! Changing the directory (endpoints and trunks) while the switch runs: the config is
//! swapped for one with the new lists ([`Switch::set_directory`]) and what caches its
//! entries follows. Calls in progress keep what they resolved at set-up.
//!
//! - Registrar and INVITE authentication read credentials from the config on every
//!   request: the swap is enough. A removed endpoint's bindings are dropped (its phone
//!   is no longer offered calls, and a queue agent on it becomes unreachable).
//! - Carrier registrations (RFC 3261 §10.2): a trunk added with `register = true` starts
//!   registering at once; a trunk removed (or no longer registering) stops refreshing —
//!   its slot is retired, not reused, so transaction owner ids stay valid (the carrier's
//!   binding then lapses at its expiry; no REGISTER with `Expires: 0` is sent); a trunk
//!   whose address or credentials changed registers afresh.

use std::sync::Arc;

use super::trunk_register::TrunkRegistration;
use super::Switch;
use crate::b2bua::Now;
use crate::config::{Endpoint, Trunk, TrunkSpec};
use crate::sip::registrar::{Aor, ContactSet, RegisterRequest, RegistrarPolicy, Transport};

/// The Call-ID of the switch's own removal of a deleted endpoint's bindings.
const REMOVAL_CALL_ID: &str = "switchboard-directory-removal";

impl Switch {
    /// The endpoints and trunks in force.
    pub fn directory(&self) -> (Vec<Endpoint>, Vec<Trunk>) {
        (self.cfg.endpoints.clone(), self.cfg.trunks.clone())
    }

    /// Puts a new directory in force (see the module docs for what follows it).
    pub fn set_directory(&mut self, now: Now, endpoints: Vec<Endpoint>, trunks: Vec<Trunk>) {
        let removed: Vec<String> = self
            .cfg
            .endpoints
            .iter()
            .filter(|old| !endpoints.iter().any(|e| e.user == old.user))
            .map(|e| e.user.clone())
            .collect();
        let cfg = Arc::new(self.cfg.with_directory(endpoints, trunks));
        self.cfg = cfg.clone();
        self.targets.cfg = cfg.clone();
        for user in removed {
            self.forget_bindings(now, &user);
        }
        self.reconcile_registrations(now);
        tracing::info!(
            endpoints = cfg.endpoints.len(),
            trunks = cfg.trunks.len(),
            "directory changed"
        );
    }

    fn forget_bindings(&mut self, now: Now, user: &str) {
        let Ok(aor) = Aor::new(user, &self.cfg.sip.domain) else {
            return;
        };
        if self.registrar.lookup(&aor, now.at).is_empty() {
            return;
        }
        let removal = RegisterRequest {
            aor,
            call_id: REMOVAL_CALL_ID.to_string(),
            cseq: u32::MAX,
            header_expires: Some(0),
            contacts: ContactSet::Star,
            source: std::net::SocketAddr::from(([0, 0, 0, 0], 0)),
            transport: Transport::Udp,
        };
        if let Err(e) = self
            .registrar
            .register(now.at, removal, &RegistrarPolicy::default())
        {
            tracing::warn!(user, %e, "bindings of a removed endpoint kept");
        }
        self.endpoint_reachable(now, user, false);
    }

    fn reconcile_registrations(&mut self, now: Now) {
        let wanted: Vec<Trunk> = self
            .cfg
            .trunks
            .iter()
            .filter(|t| t.register)
            .cloned()
            .collect();
        for reg in self.registrations.iter_mut().filter(|r| !r.retired) {
            let keep = wanted
                .iter()
                .any(|t| TrunkSpec::from(t) == TrunkSpec::from(reg.trunk()));
            if !keep {
                tracing::info!(trunk = %reg.trunk_name(), "carrier registration stopped");
                reg.retired = true;
            }
        }
        for t in wanted {
            let running = self
                .registrations
                .iter()
                .any(|r| !r.retired && r.trunk_name() == t.name);
            if !running {
                self.registrations
                    .push(TrunkRegistration::new(t, &self.cfg.sip.domain));
            }
        }
        self.tick_registrations(now);
    }
}

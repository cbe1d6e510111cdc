//! Dial targets to INVITE destinations: an endpoint's registered contacts (every one of
//! them: parallel forking), or a trunk's address with its credentials.

use std::sync::Arc;
use std::time::Instant;

use crate::b2bua::route::Resolver;
use crate::b2bua::Target;
use crate::config::{Config, Transport};
use crate::dialplan::DialTarget;
use crate::sip::layer::Peer;
use crate::sip::message::{Host, Scheme, Uri};
use crate::sip::registrar::{self, Aor, Registrar};

pub struct Targets {
    pub cfg: Arc<Config>,
    pub registrar: Arc<Registrar>,
}

fn from_registrar_transport(t: registrar::Transport) -> Transport {
    match t {
        registrar::Transport::Tcp => Transport::Tcp,
        _ => Transport::Udp,
    }
}

/// `sip:user@host` (host may be `ip:port`).
pub fn sip_uri(user: &str, host: &str, port: Option<u16>) -> Uri {
    let host = host
        .parse()
        .map(Host::V4)
        .or_else(|_| host.parse().map(Host::V6))
        .unwrap_or_else(|_| Host::Domain(host.to_string()));
    Uri {
        scheme: Scheme::Sip,
        user: Some(user.to_string()),
        password: None,
        host,
        port,
        params: Vec::new(),
        headers: Vec::new(),
    }
}

impl Resolver for Targets {
    fn resolve(&self, target: &DialTarget, now: Instant) -> Vec<Target> {
        match target {
            DialTarget::Endpoint(user) => self.endpoint(user, now),
            DialTarget::Trunk { trunk, number } => self.trunk(trunk, number).into_iter().collect(),
        }
    }
}

impl Targets {
    fn endpoint(&self, user: &str, now: Instant) -> Vec<Target> {
        let domain = &self.cfg.sip.domain;
        let Ok(aor) = Aor::new(user, domain) else {
            return Vec::new();
        };
        self.registrar
            .lookup(&aor, now)
            .into_iter()
            .filter_map(|b| {
                let raw = b
                    .contact
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>');
                let uri = Uri::parse(raw).ok()?;
                Some(Target {
                    label: user.to_string(),
                    uri,
                    peer: Peer {
                        transport: from_registrar_transport(b.transport),
                        addr: b.source,
                    },
                    to: sip_uri(user, domain, None),
                    credentials: None,
                })
            })
            .collect()
    }

    fn trunk(&self, name: &str, number: &str) -> Option<Target> {
        let Some(trunk) = self.cfg.trunk(name) else {
            tracing::warn!(trunk = name, "dial to an unknown trunk");
            return None;
        };
        let uri = sip_uri(
            number,
            &trunk.host.ip().to_string(),
            Some(trunk.host.port()),
        );
        Some(Target {
            label: name.to_string(),
            to: uri.clone(),
            uri,
            peer: Peer {
                transport: trunk.transport,
                addr: trunk.host,
            },
            credentials: trunk.username.clone().zip(trunk.password.clone()),
        })
    }
}

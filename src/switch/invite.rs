//! A new INVITE: the steps `max_forwards → loop_check → overload`, then identify the
//! caller (a trunk by source address, or an endpoint by digest, 407), ask the router
//! where the call goes, resolve that to concrete targets (registered contacts, or the
//! trunk's address) and start the call.

use super::pipeline::{self, Reject};
use super::register::Challenger;
use super::Switch;
use crate::b2bua::route::{Destination, Routing};
use crate::b2bua::{Now, Target};
use crate::config::Transport;
use crate::sip::layer::{Peer, ServerTsxId};
use crate::sip::message::{HasHeaders, Host, NameAddr, Request, Response, Scheme, Uri};
use crate::sip::registrar::{self, Aor};

/// How long a call may ring when its route sets no dial timeout (RFC 3261 §16.6 Timer C
/// is "greater than 3 minutes"): after a 1xx no transaction timer ends a ringing INVITE.
const RING_LIMIT: std::time::Duration = std::time::Duration::from_secs(181);

struct Admitted {
    direction: &'static str,
    caller: NameAddr,
    callee: String,
    targets: Vec<Target>,
    deadline: std::time::Instant,
}

fn from_registrar_transport(t: registrar::Transport) -> Transport {
    match t {
        registrar::Transport::Tcp => Transport::Tcp,
        _ => Transport::Udp,
    }
}

/// `sip:user@host` (host may be `ip:port`).
fn sip_uri(user: &str, host: &str, port: Option<u16>) -> Uri {
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

impl Switch {
    pub(super) fn on_invite(&mut self, now: Now, tsx: ServerTsxId, req: Request, peer: Peer) {
        // 100 Trying at once stops the caller's retransmissions (§17.2.1).
        self.layer
            .respond(now.at, tsx, Response::for_request(&req, 100, "Trying"));
        match self.admit(now, &req, peer) {
            Ok(a) => self.with_calls(now, |calls, io| {
                calls.start(
                    io,
                    tsx,
                    req,
                    peer,
                    a.caller,
                    &a.callee,
                    a.direction,
                    a.targets,
                    Some(a.deadline),
                )
            }),
            Err(reject) => self.answer(now, tsx, &req, &reject),
        }
    }

    fn admit(&self, now: Now, req: &Request, peer: Peer) -> Result<Admitted, Reject> {
        pipeline::max_forwards(req)?;
        pipeline::loop_check(req, &self.ours)?;
        pipeline::overload(self.calls.len(), self.cfg.sip.max_calls, self.draining)?;
        let from = req
            .from()
            .map_err(|e| Reject::new(400, format!("Bad From: {e}")))?;
        if self.media.is_some() && !req.body.is_empty() {
            crate::sip::sdp::SessionDescription::parse(&req.body)
                .map_err(|e| Reject::new(488, format!("Not Acceptable Here ({e})")))?;
        }
        let domain = self.cfg.sip.domain.clone();
        let from_trunk = self.cfg.trunk_for_source(peer.addr).is_some();
        let (context, caller) = match self.cfg.trunk_for_source(peer.addr) {
            Some(trunk) => (trunk.context.clone(), from),
            None => {
                let user = from.uri.user.clone().unwrap_or_default();
                let Some(endpoint) = self.cfg.endpoint(&user) else {
                    return Err(Reject::new(403, "Forbidden (unknown caller)"));
                };
                self.authenticate(now, req, &user, &endpoint.password, Challenger::Proxy)?;
                let caller = NameAddr {
                    display: endpoint.caller_id.clone(),
                    uri: sip_uri(&user, &domain, None),
                    params: Vec::new(),
                };
                (endpoint.context.clone(), caller)
            }
        };
        let callee = req
            .uri
            .user
            .clone()
            .ok_or_else(|| Reject::new(404, "Not Found (no user part)"))?;
        let caller_user = caller.uri.user.clone().unwrap_or_default();
        let (dest, timeout) = match self
            .router
            .route(&context, &caller_user, &callee, now.unix_ms)
        {
            Routing::Dial { dest, timeout } => (dest, timeout),
            Routing::Reject { status, reason } => return Err(Reject::new(status, reason)),
        };
        let direction = match (&dest, from_trunk) {
            (_, true) => "inbound",
            (Destination::Trunk { .. }, false) => "outbound",
            _ => "internal",
        };
        let targets = match dest {
            Destination::Endpoints(users) => self.endpoint_targets(now, &users, &domain)?,
            Destination::Trunk { name, number } => {
                let trunk = self
                    .cfg
                    .trunk(&name)
                    .ok_or_else(|| Reject::new(503, "Service Unavailable (unknown trunk)"))?;
                let uri = sip_uri(
                    &number,
                    &trunk.host.ip().to_string(),
                    Some(trunk.host.port()),
                );
                vec![Target {
                    label: name,
                    to: uri.clone(),
                    uri,
                    peer: Peer {
                        transport: trunk.transport,
                        addr: trunk.host,
                    },
                    credentials: trunk.username.clone().zip(trunk.password.clone()),
                }]
            }
        };
        Ok(Admitted {
            direction,
            caller,
            callee,
            targets,
            deadline: now.at + timeout.unwrap_or(RING_LIMIT),
        })
    }

    /// Every registered contact of these endpoints (parallel forking).
    fn endpoint_targets(
        &self,
        now: Now,
        users: &[String],
        domain: &str,
    ) -> Result<Vec<Target>, Reject> {
        let mut targets = Vec::new();
        for user in users {
            let Ok(aor) = Aor::new(user, domain) else {
                continue;
            };
            for b in self.registrar.lookup(&aor, now.at) {
                let raw = b
                    .contact
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>');
                let Ok(uri) = Uri::parse(raw) else { continue };
                targets.push(Target {
                    label: user.clone(),
                    uri,
                    peer: Peer {
                        transport: from_registrar_transport(b.transport),
                        addr: b.source,
                    },
                    to: sip_uri(user, domain, None),
                    credentials: None,
                });
            }
        }
        if targets.is_empty() {
            return Err(Reject::new(480, "Temporarily Unavailable"));
        }
        Ok(targets)
    }
}

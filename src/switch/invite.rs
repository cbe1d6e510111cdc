//! A new INVITE: the steps `max_forwards → loop_check → overload`, then identify the
//! caller (a trunk by source address, or an endpoint by digest, 407), ask the router
//! for the route and start the call, which executes the route's actions.

use super::pipeline::{self, Reject};
use super::register::Challenger;
use super::targets::sip_uri;
use super::Switch;
use crate::b2bua::route::{Action, RouteQuery, Routing};
use crate::b2bua::Now;
use crate::dialplan::DialTarget;
use crate::sip::layer::{Peer, ServerTsxId};
use crate::sip::message::{HasHeaders, NameAddr, Request, Response};

struct Admitted {
    direction: &'static str,
    caller: NameAddr,
    context: String,
    callee: String,
    route: Routing,
    plan: Option<crate::b2bua::route::PlanPin>,
    /// Anchor this call's media at the relay.
    relay: bool,
    /// How to call the caller back (queue callbacks).
    reach_back: Option<DialTarget>,
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
                    a.direction,
                    a.route,
                    &a.context,
                    &a.callee,
                    a.relay,
                    a.plan,
                    a.reach_back,
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
        let domain = self.cfg.sip.domain.clone();
        let from_trunk = self.cfg.trunk_for_source(peer.addr).is_some();
        let (context, caller, mode) = match self.cfg.trunk_for_source(peer.addr) {
            Some(trunk) => (trunk.context.clone(), from, trunk.media),
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
                (endpoint.context.clone(), caller, endpoint.media)
            }
        };
        let relay = self.media.is_some()
            && mode.unwrap_or(self.cfg.media.mode) == crate::config::MediaMode::Relay;
        if relay && !req.body.is_empty() {
            crate::sip::sdp::SessionDescription::parse(&req.body)
                .map_err(|e| Reject::new(488, format!("Not Acceptable Here ({e})")))?;
        }
        let callee = req
            .uri
            .user
            .clone()
            .ok_or_else(|| Reject::new(404, "Not Found (no user part)"))?;
        let caller_user = caller.uri.user.clone().unwrap_or_default();
        let plan = self.router.pin();
        let route = self.router.route(&RouteQuery {
            context: &context,
            caller: &caller_user,
            callee: &callee,
            vars: &Default::default(),
            now_unix_ms: now.unix_ms,
            plan: plan.as_ref(),
        });
        let first_dial = match &route {
            Routing::Reject { status, reason } => return Err(Reject::new(*status, reason.clone())),
            Routing::Actions { actions, .. } => actions.iter().find_map(|a| match a {
                Action::Dial { targets, .. } => targets.first(),
                _ => None,
            }),
        };
        let direction = match (first_dial, from_trunk) {
            (_, true) => "inbound",
            (Some(DialTarget::Trunk { .. }), false) => "outbound",
            _ => "internal",
        };
        let reach_back = match self.cfg.trunk_for_source(peer.addr) {
            Some(t) => Some(DialTarget::Trunk {
                trunk: t.name.clone(),
                number: caller_user.clone(),
            }),
            None => Some(DialTarget::Endpoint(caller_user.clone())),
        };
        Ok(Admitted {
            direction,
            caller,
            context: context.to_string(),
            callee,
            route,
            plan,
            relay,
            reach_back,
        })
    }
}

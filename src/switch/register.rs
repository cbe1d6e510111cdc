//! REGISTER (RFC 3261 §10.3) and digest authentication of our endpoints.
//!
//! An endpoint's AOR is `user@domain` with our configured domain, whatever host the
//! phone put in its To URI (phones often use our IP). Bindings remember the source
//! address and transport of the REGISTER so calls reach phones behind NAT.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::pipeline::Reject;
use super::Switch;
use crate::b2bua::Now;
use crate::config::Transport;
use crate::sip::auth::{AuthError, Credentials};
use crate::sip::layer::{Peer, ServerTsxId};
use crate::sip::message::{Contact, HasHeaders, HeaderName, Request, Response};
use crate::sip::registrar::{self, Aor, ContactSet, ContactSpec, RegisterRequest, RegistrarPolicy};

/// Which digest headers a challenge uses: registrar (401) or proxy-style (407).
#[derive(Clone, Copy)]
pub(super) enum Challenger {
    Registrar,
    Proxy,
}

impl Challenger {
    fn credentials_header(self) -> HeaderName {
        match self {
            Challenger::Registrar => HeaderName::AUTHORIZATION,
            Challenger::Proxy => HeaderName::PROXY_AUTHORIZATION,
        }
    }

    fn challenge_header(self) -> HeaderName {
        match self {
            Challenger::Registrar => HeaderName::WWW_AUTHENTICATE,
            Challenger::Proxy => HeaderName::PROXY_AUTHENTICATE,
        }
    }

    fn status(self) -> u16 {
        match self {
            Challenger::Registrar => 401,
            Challenger::Proxy => 407,
        }
    }
}

pub(super) fn wall(now: Now) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(now.unix_ms.max(0) as u64)
}

fn to_registrar_transport(t: Transport) -> registrar::Transport {
    match t {
        Transport::Udp => registrar::Transport::Udp,
        Transport::Tcp => registrar::Transport::Tcp,
    }
}

impl Switch {
    /// Checks the request's digest credentials for `user`. `Err` carries the answer: a
    /// challenge (401/407, possibly stale), 403 or 400.
    pub(super) fn authenticate(
        &self,
        now: Now,
        req: &Request,
        user: &str,
        password: &str,
        who: Challenger,
    ) -> Result<(), Reject> {
        let realm = &self.cfg.sip.domain;
        let mine = req
            .headers
            .get_all(&who.credentials_header())
            .filter_map(|v| Credentials::parse(v).ok())
            .find(|c| c.realm == *realm);
        let Some(creds) = mine else {
            return Err(self.challenge(now, who, false));
        };
        if creds.username != user {
            return Err(Reject::new(403, "Forbidden (username does not match)"));
        }
        match self
            .verifier
            .verify(&creds, req.method.as_str(), password, wall(now))
        {
            Ok(()) => Ok(()),
            Err(e @ AuthError::BadHeader(_)) => Err(Reject::new(400, format!("Bad Request ({e})"))),
            Err(e) if e.status() == 401 => Err(self.challenge(now, who, e.stale())),
            Err(e) => Err(Reject::new(e.status(), e.reason())),
        }
    }

    fn challenge(&self, now: Now, who: Challenger, stale: bool) -> Reject {
        let status = who.status();
        let mut r = Reject::new(status, crate::sip::message::reason_phrase(status));
        for c in self
            .verifier
            .challenges(&self.cfg.sip.domain, wall(now), stale)
        {
            r = r.with_header(who.challenge_header(), c);
        }
        r
    }

    /// Drops expired registrations; a queue agent whose phone has no binding left is no
    /// longer offered calls.
    pub fn purge_registrations(&mut self, now: Now) {
        let mut gone: Vec<_> = self
            .registrar
            .purge_expired(now.at)
            .into_iter()
            .map(|(aor, _)| aor)
            .collect();
        gone.dedup();
        for aor in gone {
            if self.registrar.lookup(&aor, now.at).is_empty() {
                self.endpoint_reachable(now, aor.user(), false);
            }
        }
    }

    pub(super) fn on_register(&mut self, now: Now, tsx: ServerTsxId, req: Request, peer: Peer) {
        match self.register(now, &req, peer) {
            Ok((resp, user, reachable)) => {
                self.respond_tagged(now, tsx, resp);
                // Queue agents are offered calls only while their phone is registered.
                self.endpoint_reachable(now, &user, reachable);
            }
            Err(reject) => self.answer(now, tsx, &req, &reject),
        }
    }

    /// The response, the endpoint, and whether it has a binding left.
    fn register(
        &mut self,
        now: Now,
        req: &Request,
        peer: Peer,
    ) -> Result<(Response, String, bool), Reject> {
        let to = req
            .to()
            .map_err(|e| Reject::new(400, format!("Bad To: {e}")))?;
        let user = to.uri.user.clone().unwrap_or_default();
        let Some(endpoint) = self.cfg.endpoint(&user) else {
            return Err(Reject::new(404, "Not Found"));
        };
        let password = endpoint.password.clone();
        self.authenticate(now, req, &user, &password, Challenger::Registrar)?;

        let aor = Aor::new(&user, &self.cfg.sip.domain)
            .map_err(|e| Reject::new(e.status(), e.reason()))?;
        let contacts = match req
            .contacts()
            .map_err(|e| Reject::new(400, format!("Bad Contact: {e}")))?
        {
            None => ContactSet::List(Vec::new()),
            Some(Contact::Star) => ContactSet::Star,
            Some(Contact::Addrs(list)) => ContactSet::List(
                list.into_iter()
                    .map(|na| {
                        let mut spec = ContactSpec::new(na.uri.to_string());
                        for (k, v) in na.params {
                            match k.to_ascii_lowercase().as_str() {
                                "expires" => spec.expires_param = v.and_then(|v| v.parse().ok()),
                                "q" => spec.q = v.and_then(|v| v.parse().ok()),
                                _ => spec.params.push((k, v)),
                            }
                        }
                        spec
                    })
                    .collect(),
            ),
        };
        let rr = RegisterRequest {
            aor,
            call_id: req.call_id().unwrap_or_default().to_string(),
            cseq: req.cseq().map(|c| c.seq).unwrap_or(0),
            header_expires: req.expires().ok().flatten(),
            contacts,
            source: peer.addr,
            transport: to_registrar_transport(peer.transport),
        };
        let r = &self.cfg.registrar;
        let policy = RegistrarPolicy {
            min_expires: r.min_expires,
            max_expires: r.max_expires,
            default_expires: r.default_expires,
            ..RegistrarPolicy::default()
        };
        match self.registrar.register(now.at, rr, &policy) {
            Ok(bindings) => {
                let mut resp = Response::for_request(req, 200, "OK");
                for b in &bindings {
                    resp.headers
                        .push(HeaderName::CONTACT, b.contact_header(now.at));
                }
                Ok((resp, user, !bindings.is_empty()))
            }
            Err(e) => {
                let mut r = Reject::new(e.status(), e.reason());
                if let Some(min) = e.min_expires() {
                    r = r.with_header(HeaderName::MIN_EXPIRES, min.to_string());
                }
                Err(r)
            }
        }
    }
}

//! Outbound registration to carriers (`register = true` on a trunk): REGISTER with
//! digest credentials, refreshed at 80 % of the granted expiry, retried a minute after
//! a failure. Each trunk's registration keeps one Call-ID and increasing CSeqs
//! (RFC 3261 §10.2.4).

use std::time::{Duration, Instant};

use super::Switch;
use crate::b2bua::Now;
use crate::config::Trunk;
use crate::sip::dialog::{new_call_id, new_request, new_tag, LocalContact};
use crate::sip::dialog_auth::answer_challenge;
use crate::sip::layer::Peer;
use crate::sip::message::{Contact, HasHeaders, HeaderName, Method, Request, Response, Uri};

/// Owner ids of registration transactions carry this bit (calls use small numbers).
pub(super) const REGISTRATION_OWNER: u64 = 1 << 63;
/// The expiry we ask carriers for.
const REQUESTED_EXPIRES: u32 = 600;
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationState {
    Unregistered,
    Pending,
    Registered { expires: u32 },
    Failed { status: u16 },
}

pub(super) struct TrunkRegistration {
    trunk: Trunk,
    pub state: RegistrationState,
    call_id: String,
    from_tag: String,
    cseq: u32,
    next_at: Option<Instant>,
    last: Option<Request>,
    challenged: bool,
    /// The trunk was removed (or stopped registering) while the switch ran: the slot is
    /// kept so transaction owner ids stay valid, but nothing is sent for it.
    pub retired: bool,
}

impl TrunkRegistration {
    pub fn new(trunk: Trunk, domain: &str) -> TrunkRegistration {
        TrunkRegistration {
            trunk,
            state: RegistrationState::Unregistered,
            call_id: new_call_id(domain),
            from_tag: new_tag(),
            cseq: 0,
            next_at: None,
            last: None,
            challenged: false,
            retired: false,
        }
    }

    pub fn next_at(&self) -> Option<Instant> {
        self.next_at
    }

    pub fn trunk_name(&self) -> &str {
        &self.trunk.name
    }

    pub fn trunk(&self) -> &Trunk {
        &self.trunk
    }

    fn peer(&self) -> Peer {
        Peer {
            transport: self.trunk.transport,
            addr: self.trunk.host,
        }
    }

    fn request(&mut self, me: &LocalContact) -> Request {
        self.cseq += 1;
        let host = self.trunk.host.to_string();
        let user = self.trunk.username.clone().unwrap_or_default();
        let uri = Uri::parse(&format!("sip:{host}")).expect("a socket address is a valid SIP host");
        let mut req = new_request(Method::Register, uri);
        let h = &mut req.headers;
        h.push(HeaderName::VIA, me.via());
        h.push(HeaderName::MAX_FORWARDS, "70");
        h.push(
            HeaderName::FROM,
            format!("<sip:{user}@{host}>;tag={}", self.from_tag),
        );
        h.push(HeaderName::TO, format!("<sip:{user}@{host}>"));
        h.push(HeaderName::CALL_ID, self.call_id.clone());
        h.push(HeaderName::CSEQ, format!("{} REGISTER", self.cseq));
        h.push(
            HeaderName::CONTACT,
            format!("<sip:{user}@{}>", me.host_port),
        );
        h.push(HeaderName::EXPIRES, REQUESTED_EXPIRES.to_string());
        req
    }
}

/// The expiry a 2xx to REGISTER granted us: our Contact's `expires`, else Expires.
fn granted_expires(resp: &Response) -> u32 {
    let from_contact = match resp.contacts() {
        Ok(Some(Contact::Addrs(list))) => list
            .iter()
            .find_map(|c| c.param("expires").flatten().and_then(|v| v.parse().ok())),
        _ => None,
    };
    from_contact
        .or_else(|| resp.expires().ok().flatten())
        .unwrap_or(REQUESTED_EXPIRES)
}

impl Switch {
    /// Sends every registration that is due.
    pub(super) fn tick_registrations(&mut self, now: Now) {
        for i in 0..self.registrations.len() {
            let due = self.registrations[i].next_at.is_none_or(|at| at <= now.at);
            if !due
                || self.registrations[i].retired
                || self.registrations[i].state == RegistrationState::Pending
            {
                continue;
            }
            let reg = &mut self.registrations[i];
            let me = self.locals.for_peer(reg.peer()).clone();
            let req = reg.request(&me);
            reg.state = RegistrationState::Pending;
            reg.challenged = false;
            reg.next_at = Some(now.at + RETRY_AFTER_FAILURE);
            reg.last = Some(req.clone());
            let peer = reg.peer();
            self.layer
                .send_request(now.at, req, peer, REGISTRATION_OWNER | i as u64);
        }
    }

    /// Stops registration `i` (its trunk was removed or no longer registers): no more
    /// refreshes, and if the carrier may hold a binding, a REGISTER with `Expires: 0`
    /// removes it (RFC 3261 §10.2.2), answering one digest challenge.
    pub(super) fn retire_registration(&mut self, now: Now, i: usize) {
        let Some(reg) = self.registrations.get_mut(i) else {
            return;
        };
        let bound = matches!(
            reg.state,
            RegistrationState::Registered { .. } | RegistrationState::Pending
        );
        reg.retired = true;
        reg.next_at = None;
        reg.state = RegistrationState::Unregistered;
        if !bound {
            return;
        }
        let me = self.locals.for_peer(reg.peer()).clone();
        let mut req = reg.request(&me);
        req.headers.set(HeaderName::EXPIRES, "0");
        reg.challenged = false;
        reg.last = Some(req.clone());
        let peer = reg.peer();
        self.layer
            .send_request(now.at, req, peer, REGISTRATION_OWNER | i as u64);
    }

    pub(super) fn on_registration_response(
        &mut self,
        now: Now,
        owner: u64,
        resp: Option<Response>,
    ) {
        let i = (owner & !REGISTRATION_OWNER) as usize;
        let Some(reg) = self.registrations.get_mut(i) else {
            return;
        };
        if reg.retired {
            // Only the un-REGISTER's digest challenge is still answered.
            let challenged = matches!(&resp, Some(r) if matches!(r.status, 401 | 407));
            if !challenged || reg.challenged {
                return;
            }
        }
        let Some(resp) = resp else {
            reg.state = RegistrationState::Failed { status: 408 };
            reg.next_at = Some(now.at + RETRY_AFTER_FAILURE);
            return;
        };
        match resp.status {
            100..=199 => {}
            200..=299 => {
                let expires = granted_expires(&resp);
                reg.state = RegistrationState::Registered { expires };
                reg.next_at =
                    Some(now.at + Duration::from_secs(u64::from(expires.max(10)) * 4 / 5));
                tracing::info!(trunk = %reg.trunk.name, expires, "registered with carrier");
            }
            401 | 407 if !reg.challenged => {
                let (Some(user), Some(pass), Some(last)) = (
                    reg.trunk.username.clone(),
                    reg.trunk.password.clone(),
                    reg.last.clone(),
                ) else {
                    return;
                };
                match answer_challenge(&last, &resp, &user, &pass) {
                    Some(retry) => {
                        reg.challenged = true;
                        reg.cseq += 1;
                        reg.last = Some(retry.clone());
                        let peer = reg.peer();
                        self.layer.send_request(now.at, retry, peer, owner);
                    }
                    None => {
                        reg.state = RegistrationState::Failed {
                            status: resp.status,
                        };
                    }
                }
            }
            status => {
                tracing::warn!(trunk = %reg.trunk.name, status, "carrier registration failed");
                reg.state = RegistrationState::Failed { status };
                reg.next_at = Some(now.at + RETRY_AFTER_FAILURE);
            }
        }
    }
}

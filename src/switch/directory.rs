//! Changing the directory (endpoints and trunks) while the switch runs: the config is
//! swapped for one with the new lists ([`Switch::set_directory`]) and what caches its
//! entries follows. Calls in progress keep what they resolved at set-up.
//!
//! - Registrar and INVITE authentication read credentials from the config on every
//!   request: the swap is enough. A removed endpoint's bindings are dropped (its phone
//!   is no longer offered calls, and a queue agent on it becomes unreachable).
//! - Carrier registrations (RFC 3261 §10.2): a trunk added with `register = true` starts
//!   registering at once; a trunk removed (or no longer registering) stops refreshing and,
//!   if the carrier may hold a binding, sends one REGISTER with `Expires: 0` (§10.2.2) —
//!   its slot is retired, not reused, so transaction owner ids stay valid; a trunk whose
//!   address or credentials changed unregisters the old binding and registers afresh.

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
        let stale: Vec<usize> = self
            .registrations
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                !r.retired
                    && !wanted
                        .iter()
                        .any(|t| TrunkSpec::from(t) == TrunkSpec::from(r.trunk()))
            })
            .map(|(i, _)| i)
            .collect();
        for i in stale {
            tracing::info!(trunk = %self.registrations[i].trunk_name(), "carrier registration stopped");
            self.retire_registration(now, i);
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

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::b2bua::route::{RouteQuery, Router, Routing};
    use crate::b2bua::Locals;
    use crate::config::{Config, EndpointSpec};
    use crate::sip::dialog::LocalContact;
    use crate::sip::layer::Peer;
    use crate::sip::message::{parse, HasHeaders, Method, Response, SipMessage};
    use crate::sip::registrar::{ContactSpec, Registrar};
    use crate::switch::{RegistrationState, SwitchOutput};

    const CONFIG: &str = r#"
[sip]
listen = ["udp:127.0.0.1:5060"]
domain = "sb.test"
[[endpoint]]
user = "1001"
password = "pw1001"
context = "internal"
[[trunk]]
name = "old"
host = "127.0.0.1:5090"
context = "internal"
username = "u"
password = "p"
register = true
"#;

    struct NoRoutes;

    impl Router for NoRoutes {
        fn route(&self, _: &RouteQuery<'_>) -> Routing {
            Routing::Reject {
                status: 404,
                reason: "Not Found".into(),
            }
        }
    }

    struct Net {
        sw: Switch,
        registrar: Arc<Registrar>,
        t0: Instant,
        now: Duration,
    }

    impl Net {
        fn new() -> Net {
            let cfg = Arc::new(Config::parse("t.toml", CONFIG).expect("valid"));
            let locals = Locals {
                udp: LocalContact {
                    transport: "UDP",
                    host_port: "127.0.0.1:5060".into(),
                },
                tcp: None,
            };
            let registrar = Arc::new(Registrar::new());
            let sw = Switch::new(cfg, locals, registrar.clone(), Arc::new(NoRoutes));
            Net {
                sw,
                registrar,
                t0: Instant::now(),
                now: Duration::ZERO,
            }
        }

        fn clock(&self) -> Now {
            Now {
                at: self.t0 + self.now,
                unix_ms: 1_800_000_000_000 + self.now.as_millis() as i64,
            }
        }

        /// REGISTERs sent, by destination.
        fn registers(&mut self) -> Vec<(SocketAddr, crate::sip::message::Request)> {
            let mut out = Vec::new();
            while let Some(o) = self.sw.poll_output() {
                if let SwitchOutput::Transmit(t) = o {
                    if let Ok(SipMessage::Request(r)) = parse(t.bytes) {
                        if r.method == Method::Register {
                            out.push((t.peer.addr, r));
                        }
                    }
                }
            }
            out
        }

        fn advance(&mut self, by: Duration) {
            let end = self.now + by;
            while let Some(at) = self.sw.poll_timeout() {
                let at = at.saturating_duration_since(self.t0);
                if at > end {
                    break;
                }
                self.now = at.max(self.now);
                let now = self.clock();
                self.sw.on_timeout(now);
            }
            self.now = end;
        }

        fn trunk(&self, name: &str, host: &str) -> Trunk {
            TrunkSpec {
                name: name.into(),
                host: host.into(),
                transport: None,
                username: Some("u".into()),
                password: Some("p".into()),
                register: true,
                inbound: Vec::new(),
                context: "internal".into(),
                media: None,
            }
            .validate()
            .expect("valid")
        }
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("address")
    }

    fn carrier(net: &mut Net, from: &str, resp: Response) {
        net.sw.on_message(
            net.clock(),
            resp.to_bytes(),
            Peer {
                transport: crate::config::Transport::Udp,
                addr: addr(from),
            },
        );
    }

    fn challenge(req: &crate::sip::message::Request) -> Response {
        let v = crate::sip::auth::Verifier::with_random_secret(
            crate::sip::auth::VerifierConfig::default(),
        );
        let mut resp = Response::for_request(req, 401, "Unauthorized");
        for c in v.challenges("carrier", std::time::SystemTime::now(), false) {
            resp.headers
                .push(crate::sip::message::HeaderName::WWW_AUTHENTICATE, c);
        }
        resp
    }

    fn expires(req: &crate::sip::message::Request) -> Option<u32> {
        req.expires().ok().flatten()
    }

    #[test]
    fn registrations_follow_trunks_added_removed_and_moved() {
        let mut net = Net::new();
        let now = net.clock();
        net.sw.start(now);
        let first = net.registers();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].0, addr("127.0.0.1:5090"));
        carrier(
            &mut net,
            "127.0.0.1:5090",
            Response::for_request(&first[0].1, 200, "OK"),
        );
        assert!(matches!(
            net.sw.registrations()[0].1,
            RegistrationState::Registered { .. }
        ));

        // "old" goes, "new" comes: "old" is unregistered, "new" registers at once.
        let endpoints = net.sw.directory().0;
        let new = net.trunk("new", "127.0.0.1:5091");
        net.sw
            .set_directory(net.clock(), endpoints.clone(), vec![new]);
        let sent = net.registers();
        let to = |port: &str| {
            sent.iter()
                .filter(|(a, _)| *a == addr(port))
                .map(|(_, r)| r.clone())
                .collect::<Vec<_>>()
        };
        let (unreg, reg) = (to("127.0.0.1:5090"), to("127.0.0.1:5091"));
        assert_eq!((unreg.len(), reg.len()), (1, 1), "{sent:?}");
        assert_eq!(expires(&unreg[0]), Some(0), "RFC 3261 §10.2.2 removal");
        assert_eq!(
            unreg[0].call_id().ok(),
            first[0].1.call_id().ok(),
            "same Call-ID"
        );
        assert_ne!(expires(&reg[0]), Some(0));
        let names: Vec<_> = net.sw.registrations().into_iter().map(|r| r.0).collect();
        assert_eq!(names, ["new"]);

        // The carrier challenges the removal: answered once, with the trunk's credentials.
        carrier(&mut net, "127.0.0.1:5090", challenge(&unreg[0]));
        let retry = net.registers();
        assert_eq!(retry.len(), 1);
        assert_eq!(expires(&retry[0].1), Some(0));
        assert!(retry[0]
            .1
            .headers
            .get(&crate::sip::message::HeaderName::AUTHORIZATION)
            .is_some_and(|a| a.contains("\"u\"")));
        carrier(&mut net, "127.0.0.1:5090", challenge(&retry[0].1));
        assert!(net.registers().is_empty(), "one challenge only");
        carrier(
            &mut net,
            "127.0.0.1:5090",
            Response::for_request(&retry[0].1, 200, "OK"),
        );
        assert_eq!(net.sw.registrations().len(), 1);
        net.advance(Duration::from_secs(600));
        let later = net.registers();
        assert!(later.iter().all(|(to, _)| *to == addr("127.0.0.1:5091")));
        assert!(!later.is_empty(), "new is retried after its failure");

        // "new" moves to another address: it registers there afresh.
        let moved = net.trunk("new", "127.0.0.1:5092");
        net.sw.set_directory(net.clock(), endpoints, vec![moved]);
        let sent = net.registers();
        assert!(sent.iter().any(|(to, _)| *to == addr("127.0.0.1:5092")));
        assert!(sent
            .iter()
            .all(|(to, r)| *to == addr("127.0.0.1:5092") || expires(r) == Some(0)));
        assert_eq!(
            net.sw.registrations(),
            [("new".to_string(), RegistrationState::Pending)]
        );
    }

    #[test]
    fn a_removed_endpoint_loses_its_bindings_and_others_keep_theirs() {
        let mut net = Net::new();
        let endpoint = |user: &str| {
            EndpointSpec {
                user: user.into(),
                password: "pw".into(),
                caller_id: None,
                context: "internal".into(),
                media: None,
            }
            .validate()
            .expect("valid")
        };
        let bind = |net: &Net, user: &str| {
            let req = RegisterRequest {
                aor: Aor::new(user, "sb.test").expect("aor"),
                call_id: format!("reg-{user}"),
                cseq: 1,
                header_expires: Some(3600),
                contacts: ContactSet::List(vec![ContactSpec::new(format!(
                    "sip:{user}@127.0.0.1:7000"
                ))]),
                source: addr("127.0.0.1:7000"),
                transport: Transport::Udp,
            };
            net.registrar
                .register(net.clock().at, req, &RegistrarPolicy::default())
                .expect("bound");
        };
        let trunks = net.sw.directory().1;
        net.sw.set_directory(
            net.clock(),
            vec![endpoint("1001"), endpoint("1002")],
            trunks.clone(),
        );
        bind(&net, "1001");
        bind(&net, "1002");
        net.sw
            .set_directory(net.clock(), vec![endpoint("1002")], trunks);
        let at = net.clock().at;
        let lookup = |user: &str| {
            net.registrar
                .lookup(&Aor::new(user, "sb.test").expect("aor"), at)
        };
        assert!(lookup("1001").is_empty());
        assert_eq!(lookup("1002").len(), 1);
        let users: Vec<_> = net.sw.directory().0.into_iter().map(|e| e.user).collect();
        assert_eq!(users, ["1002"]);
    }
}

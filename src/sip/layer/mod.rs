//! The transaction layer (RFC 3261 §17.1.3, §17.2.3): matches every message to its
//! transaction, owns all live transactions and their timers, and hands the transaction
//! user (the switch core) only what it must see.
//!
//! Sans-IO like the state machines in [`crate::sip::txn`]: inputs are parsed messages
//! with the instant they arrived, outputs are [`Transmit`]s and [`LayerEvent`]s drained
//! by the driver, and [`TransactionLayer::poll_timeout`] says when to wake it next.
//!
//! * Server transactions are keyed by (top Via branch, sent-by, method) with ACK mapped
//!   to INVITE; a retransmitted request is absorbed and answered from the transaction.
//! * CANCEL is answered here (200, or 481 without a matching INVITE) and the INVITE is
//!   ended with 487, so the TU only hears [`LayerEvent::Cancelled`].
//! * Client transactions are keyed by (branch, CSeq method); responses that match none
//!   are dropped (stray 2xx retransmissions of dialogs are matched by the TU via
//!   [`LayerEvent::StrayResponse`]).
//! * A UAS 2xx to INVITE is retransmitted here until the TU reports the ACK
//!   (RFC 3261 §13.3.1.4), keyed by the dialog's Call-ID and local tag.

mod keys;
mod timers;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use crate::config::Transport;
use crate::sip::message::{reason_phrase, HasHeaders, HeaderName, Method, Request, Response};
use crate::sip::txn::{
    AnswerRetransmitter, ClientInviteTsx, ClientNonInviteTsx, Delivery, ServerInviteTsx,
    ServerNonInviteTsx, TimerConfig, TsxOutput,
};

pub use keys::{AckKey, ClientKey, ServerKey};
pub use timers::TimerHeap;

/// Where a message came from or goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    pub transport: Transport,
    pub addr: SocketAddr,
}

/// Bytes for the transport drivers to send.
#[derive(Debug, Clone)]
pub struct Transmit {
    pub peer: Peer,
    pub bytes: Bytes,
}

/// Identifies a server transaction to answer on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServerTsxId(u64);

/// Identifies a client transaction; the TU chooses `owner` to route its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientTsxId(u64);

/// What the transaction user hears.
#[derive(Debug)]
pub enum LayerEvent {
    /// A new request. `tsx` is `None` for ACK (an ACK to a 2xx is end-to-end, §17.1.1.3).
    Request {
        tsx: Option<ServerTsxId>,
        req: Request,
        peer: Peer,
    },
    /// A response for a client transaction the TU started.
    Response {
        tsx: ClientTsxId,
        owner: u64,
        resp: Response,
    },
    /// Timer B/F fired or the transport failed: the TU treats it as a 408.
    Timeout { tsx: ClientTsxId, owner: u64 },
    /// The caller cancelled this INVITE; it has already been answered 487.
    Cancelled { tsx: ServerTsxId },
    /// A response matching no client transaction (e.g. a 2xx retransmission after the
    /// INVITE transaction ended): the TU may re-send its ACK.
    StrayResponse { resp: Response, peer: Peer },
    /// A 2xx we sent was never ACKed within 64·T1 (the TU should hang up).
    AnswerTimeout { call_id: String, local_tag: String },
}

enum Server {
    Invite(ServerInviteTsx),
    NonInvite(ServerNonInviteTsx),
}

struct ServerEntry {
    tsx: Server,
    key: ServerKey,
    peer: Peer,
    /// The INVITE request (kept to build the 487 when it is cancelled).
    invite: Option<Request>,
    answered: bool,
    /// The TU has decided its final response but sends it later ([`TransactionLayer::hold_final`]):
    /// a CANCEL meanwhile gets its 200 but no 487 (§9.2: the request is already answered).
    final_held: bool,
    /// The To tag of the responses sent so far (reused for a 487 after CANCEL).
    to_tag: Option<String>,
}

enum Client {
    Invite(ClientInviteTsx),
    NonInvite(ClientNonInviteTsx),
}

/// The calls every transaction machine shares, dispatched over the two kinds of each side.
macro_rules! dispatch {
    ($ty:ident) => {
        impl $ty {
            fn poll_output(&mut self) -> Option<TsxOutput> {
                match self {
                    $ty::Invite(t) => t.poll_output(),
                    $ty::NonInvite(t) => t.poll_output(),
                }
            }

            fn poll_timeout(&self) -> Option<Instant> {
                match self {
                    $ty::Invite(t) => t.poll_timeout(),
                    $ty::NonInvite(t) => t.poll_timeout(),
                }
            }

            fn on_timer(&mut self, now: Instant) {
                match self {
                    $ty::Invite(t) => t.on_timer(now),
                    $ty::NonInvite(t) => t.on_timer(now),
                }
            }
        }
    };
}

dispatch!(Server);
dispatch!(Client);

struct ClientEntry {
    tsx: Client,
    key: ClientKey,
    peer: Peer,
    owner: u64,
    request: Request,
}

struct AnswerEntry {
    retransmitter: AnswerRetransmitter,
    peer: Peer,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
enum TimerOwner {
    Server(u64),
    Client(u64),
    Answer(u64),
}

/// All live transactions of the switch.
pub struct TransactionLayer {
    cfg: TimerConfig,
    next_id: u64,
    servers: HashMap<u64, ServerEntry>,
    server_index: HashMap<ServerKey, u64>,
    /// INVITE server transactions by (Call-ID, CSeq number, From tag): ACKs for non-2xx
    /// from UAs that (wrongly) put a new branch on them still find their transaction.
    ack_index: HashMap<AckKey, u64>,
    clients: HashMap<u64, ClientEntry>,
    client_index: HashMap<ClientKey, u64>,
    answers: HashMap<u64, AnswerEntry>,
    answer_index: HashMap<(String, String), u64>,
    timers: TimerHeap<TimerOwner>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<LayerEvent>,
}

impl TransactionLayer {
    pub fn new(cfg: TimerConfig) -> Self {
        TransactionLayer {
            cfg,
            next_id: 1,
            servers: HashMap::new(),
            server_index: HashMap::new(),
            ack_index: HashMap::new(),
            clients: HashMap::new(),
            client_index: HashMap::new(),
            answers: HashMap::new(),
            answer_index: HashMap::new(),
            timers: TimerHeap::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    pub fn timer_config(&self) -> &TimerConfig {
        &self.cfg
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Number of live transactions (server, client, 2xx retransmissions).
    pub fn len(&self) -> usize {
        self.servers.len() + self.clients.len() + self.answers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A request arrived from `peer`.
    pub fn on_request(&mut self, now: Instant, req: Request, peer: Peer) {
        let Some(key) = ServerKey::of(&req) else {
            // No usable Via branch: the TU still sees it (it will answer 400 statelessly).
            self.events.push_back(LayerEvent::Request {
                tsx: None,
                req,
                peer,
            });
            return;
        };
        if let Some(&id) = self.server_index.get(&key) {
            self.on_server_retransmission(now, id, &req);
            return;
        }
        match req.method {
            Method::Ack if self.ack_index.contains_key(&AckKey::of(&req)) => {
                let id = self.ack_index[&AckKey::of(&req)];
                self.on_server_retransmission(now, id, &req);
            }
            Method::Ack => {
                // Not matching an INVITE server transaction: ACK for a 2xx, end-to-end.
                self.events.push_back(LayerEvent::Request {
                    tsx: None,
                    req,
                    peer,
                });
            }
            Method::Cancel => self.on_cancel(now, req, peer, key),
            _ => {
                let id = self.id();
                let reliable = peer.transport.is_reliable();
                let (tsx, invite) = if req.method == Method::Invite {
                    (
                        Server::Invite(ServerInviteTsx::new(now, &self.cfg, reliable)),
                        Some(req.clone()),
                    )
                } else {
                    (
                        Server::NonInvite(ServerNonInviteTsx::new(now, &self.cfg, reliable)),
                        None,
                    )
                };
                self.server_index.insert(key.clone(), id);
                if invite.is_some() {
                    self.ack_index.insert(AckKey::of(&req), id);
                }
                self.servers.insert(
                    id,
                    ServerEntry {
                        tsx,
                        key,
                        peer,
                        invite,
                        answered: false,
                        final_held: false,
                        to_tag: None,
                    },
                );
                self.events.push_back(LayerEvent::Request {
                    tsx: Some(ServerTsxId(id)),
                    req,
                    peer,
                });
                self.drain_server(now, id);
            }
        }
    }

    fn on_server_retransmission(&mut self, now: Instant, id: u64, req: &Request) {
        let Some(entry) = self.servers.get_mut(&id) else {
            return;
        };
        match (&mut entry.tsx, &req.method) {
            (Server::Invite(t), Method::Ack) => {
                if t.on_ack(now) == Delivery::ToTu {
                    self.events.push_back(LayerEvent::Request {
                        tsx: None,
                        req: req.clone(),
                        peer: entry.peer,
                    });
                }
            }
            (Server::Invite(t), _) => t.on_request_retransmission(now),
            (Server::NonInvite(t), _) => t.on_request_retransmission(now),
        }
        self.drain_server(now, id);
    }

    fn on_cancel(&mut self, now: Instant, cancel: Request, peer: Peer, key: ServerKey) {
        let invite_id = self
            .server_index
            .get(&key.with_method(Method::Invite))
            .copied();
        let to_tag = invite_id.map(|id| self.response_tag(id));
        // The CANCEL gets its own non-INVITE server transaction (§9.2), answered with the
        // To tag of the INVITE's responses.
        let id = self.id();
        let tsx = ServerNonInviteTsx::new(now, &self.cfg, peer.transport.is_reliable());
        self.server_index.insert(key.clone(), id);
        self.servers.insert(
            id,
            ServerEntry {
                tsx: Server::NonInvite(tsx),
                key,
                peer,
                invite: None,
                answered: false,
                final_held: false,
                to_tag: None,
            },
        );
        let status = if invite_id.is_some() { 200 } else { 481 };
        let resp = Response::for_request(&cancel, status, reason_phrase(status));
        self.respond(now, ServerTsxId(id), with_to_tag(resp, to_tag.as_deref()));

        let Some(invite_id) = invite_id else { return };
        let entry = &self.servers[&invite_id];
        if entry.answered || entry.final_held {
            return;
        }
        if let Some(invite) = entry.invite.clone() {
            let resp = Response::for_request(&invite, 487, "Request Terminated");
            self.respond(
                now,
                ServerTsxId(invite_id),
                with_to_tag(resp, to_tag.as_deref()),
            );
            self.events.push_back(LayerEvent::Cancelled {
                tsx: ServerTsxId(invite_id),
            });
        }
    }

    /// The To tag this server transaction's responses carry (the TU's, or a stable one).
    fn response_tag(&mut self, id: u64) -> String {
        let entry = self.servers.get_mut(&id).expect("caller checked");
        entry
            .to_tag
            .get_or_insert_with(|| format!("sb{id:x}"))
            .clone()
    }

    /// Sends a response on a server transaction. Unknown or finished transactions are
    /// ignored (the caller may have cancelled meanwhile).
    pub fn respond(&mut self, now: Instant, tsx: ServerTsxId, resp: Response) {
        let Some(entry) = self.servers.get_mut(&tsx.0) else {
            return;
        };
        if entry.answered {
            return;
        }
        let status = resp.status;
        if status >= 200 {
            entry.answered = true;
        }
        if entry.to_tag.is_none() {
            entry.to_tag = resp.to().ok().and_then(|to| to.tag().map(str::to_string));
        }
        let bytes = resp.to_bytes();
        let sent = match &mut entry.tsx {
            Server::Invite(t) => t.send_response(now, status, bytes),
            Server::NonInvite(t) => t.send_response(now, status, bytes),
        };
        if let Err(e) = sent {
            tracing::debug!("response not sent: {e}");
        }
        self.drain_server(now, tsx.0);
    }

    /// The TU has chosen this transaction's final response but will send it later (a 2xx
    /// held until the call's record is in the store): a CANCEL crossing it must not end the
    /// INVITE with 487. Retransmitted requests are absorbed as usual meanwhile.
    pub fn hold_final(&mut self, tsx: ServerTsxId) {
        if let Some(entry) = self.servers.get_mut(&tsx.0) {
            entry.final_held = true;
        }
    }

    /// Whether a final response was already sent on this server transaction.
    pub fn is_answered(&self, tsx: ServerTsxId) -> bool {
        self.servers.get(&tsx.0).is_none_or(|e| e.answered)
    }

    /// Sends a 2xx to an INVITE and keeps retransmitting it until [`Self::ack_received`].
    pub fn respond_2xx_reliably(
        &mut self,
        now: Instant,
        tsx: ServerTsxId,
        resp: Response,
        call_id: &str,
        local_tag: &str,
    ) {
        let Some(entry) = self.servers.get(&tsx.0) else {
            return;
        };
        let peer = entry.peer;
        let bytes = resp.to_bytes();
        self.respond(now, tsx, resp);
        let id = self.id();
        let retransmitter = AnswerRetransmitter::new(now, &self.cfg, bytes);
        self.answers.insert(
            id,
            AnswerEntry {
                retransmitter,
                peer,
            },
        );
        self.answer_index
            .insert((call_id.to_string(), local_tag.to_string()), id);
        self.drain_answer(now, id);
    }

    /// The ACK for a 2xx we sent arrived: stop retransmitting it.
    pub fn ack_received(&mut self, call_id: &str, local_tag: &str) {
        let key = (call_id.to_string(), local_tag.to_string());
        if let Some(id) = self.answer_index.remove(&key) {
            self.answers.remove(&id);
        }
    }

    /// Starts a client transaction for `req` towards `peer`; `owner` comes back in events.
    pub fn send_request(
        &mut self,
        now: Instant,
        req: Request,
        peer: Peer,
        owner: u64,
    ) -> ClientTsxId {
        let id = self.id();
        let Some(key) = ClientKey::of(&req) else {
            // A request without our branch cannot be matched; send statelessly.
            self.transmits.push_back(Transmit {
                peer,
                bytes: req.to_bytes(),
            });
            return ClientTsxId(id);
        };
        let reliable = peer.transport.is_reliable();
        let bytes = req.to_bytes();
        let tsx = if req.method == Method::Invite {
            Client::Invite(ClientInviteTsx::new(now, &self.cfg, reliable, bytes))
        } else {
            Client::NonInvite(ClientNonInviteTsx::new(now, &self.cfg, reliable, bytes))
        };
        if let Some(pending) = self.client_index.insert(key.clone(), id) {
            // Same branch and method as a transaction still running: the caller re-sent a
            // request instead of building a new one. Its responses now go to this one.
            tracing::error!(
                ?key,
                pending,
                id,
                "client transaction key reused while pending"
            );
        }
        self.clients.insert(
            id,
            ClientEntry {
                tsx,
                key,
                peer,
                owner,
                request: req,
            },
        );
        self.drain_client(now, id);
        ClientTsxId(id)
    }

    /// Sends bytes outside any transaction (ACK for 2xx, stateless responses).
    pub fn send_stateless(&mut self, peer: Peer, bytes: Bytes) {
        self.transmits.push_back(Transmit { peer, bytes });
    }

    /// A response arrived.
    pub fn on_response(&mut self, now: Instant, resp: Response, peer: Peer) {
        let id = ClientKey::of_response(&resp).and_then(|k| self.client_index.get(&k).copied());
        let Some(id) = id else {
            self.events
                .push_back(LayerEvent::StrayResponse { resp, peer });
            return;
        };
        let Some(entry) = self.clients.get_mut(&id) else {
            return;
        };
        let status = resp.status;
        let delivery = match &mut entry.tsx {
            Client::Invite(t) => {
                let request = &entry.request;
                t.on_response(now, status, || build_ack_for_non2xx(request, &resp))
            }
            Client::NonInvite(t) => t.on_response(now, status),
        };
        let owner = entry.owner;
        if delivery == Delivery::ToTu {
            self.events.push_back(LayerEvent::Response {
                tsx: ClientTsxId(id),
                owner,
                resp,
            });
        }
        self.drain_client(now, id);
    }

    /// Fires every timer due at `now`.
    pub fn on_timeout(&mut self, now: Instant) {
        while let Some(owner) = self.timers.pop_due(now) {
            match owner {
                TimerOwner::Server(id) => {
                    if let Some(e) = self.servers.get_mut(&id) {
                        e.tsx.on_timer(now);
                        self.drain_server(now, id);
                    }
                }
                TimerOwner::Client(id) => {
                    if let Some(e) = self.clients.get_mut(&id) {
                        e.tsx.on_timer(now);
                        self.drain_client(now, id);
                    }
                }
                TimerOwner::Answer(id) => {
                    if let Some(e) = self.answers.get_mut(&id) {
                        e.retransmitter.on_timer(now);
                        self.drain_answer(now, id);
                    }
                }
            }
        }
    }

    /// When the layer next needs [`Self::on_timeout`].
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.timers.next()
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<LayerEvent> {
        self.events.pop_front()
    }

    fn drain_server(&mut self, _now: Instant, id: u64) {
        let Some(entry) = self.servers.get_mut(&id) else {
            return;
        };
        let mut terminated = false;
        loop {
            match entry.tsx.poll_output() {
                Some(TsxOutput::Transmit(bytes)) => self.transmits.push_back(Transmit {
                    peer: entry.peer,
                    bytes,
                }),
                Some(TsxOutput::Timeout | TsxOutput::TransportError) => {}
                Some(TsxOutput::Terminated) => terminated = true,
                None => break,
            }
        }
        let next = entry.tsx.poll_timeout();
        if terminated {
            let key = entry.key.clone();
            if let Some(invite) = &entry.invite {
                self.ack_index.remove(&AckKey::of(invite));
            }
            self.servers.remove(&id);
            self.server_index.remove(&key);
        } else if let Some(at) = next {
            self.timers.schedule(at, TimerOwner::Server(id));
        }
    }

    fn drain_client(&mut self, _now: Instant, id: u64) {
        let Some(entry) = self.clients.get_mut(&id) else {
            return;
        };
        let mut terminated = false;
        loop {
            match entry.tsx.poll_output() {
                Some(TsxOutput::Transmit(bytes)) => self.transmits.push_back(Transmit {
                    peer: entry.peer,
                    bytes,
                }),
                Some(TsxOutput::Timeout | TsxOutput::TransportError) => {
                    self.events.push_back(LayerEvent::Timeout {
                        tsx: ClientTsxId(id),
                        owner: entry.owner,
                    })
                }
                Some(TsxOutput::Terminated) => terminated = true,
                None => break,
            }
        }
        let next = entry.tsx.poll_timeout();
        if terminated {
            let key = entry.key.clone();
            self.clients.remove(&id);
            self.client_index.remove(&key);
        } else if let Some(at) = next {
            self.timers.schedule(at, TimerOwner::Client(id));
        }
    }

    fn drain_answer(&mut self, _now: Instant, id: u64) {
        let Some(entry) = self.answers.get_mut(&id) else {
            return;
        };
        let mut done = false;
        while let Some(out) = entry.retransmitter.poll_output() {
            match out {
                TsxOutput::Transmit(bytes) => self.transmits.push_back(Transmit {
                    peer: entry.peer,
                    bytes,
                }),
                TsxOutput::Timeout | TsxOutput::TransportError => {
                    done = true;
                    if let Some((k, _)) = self.answer_index.iter().find(|(_, v)| **v == id) {
                        self.events.push_back(LayerEvent::AnswerTimeout {
                            call_id: k.0.clone(),
                            local_tag: k.1.clone(),
                        });
                    }
                }
                TsxOutput::Terminated => done = true,
            }
        }
        if done {
            self.answers.remove(&id);
            self.answer_index.retain(|_, v| *v != id);
        } else if let Some(at) = entry.retransmitter.poll_timeout() {
            self.timers.schedule(at, TimerOwner::Answer(id));
        }
    }
}

/// RFC 3261 §17.1.1.3: the ACK for a non-2xx final response, built in the transaction.
fn build_ack_for_non2xx(invite: &Request, resp: &Response) -> Bytes {
    crate::sip::dialog::ack_for_non2xx(invite, resp).to_bytes()
}

/// Sets the To tag of a response built by the layer itself.
fn with_to_tag(mut resp: Response, tag: Option<&str>) -> Response {
    if let (Some(tag), Ok(mut to)) = (tag, resp.to()) {
        if to.tag().is_none() {
            to.set_tag(tag);
            resp.headers.set(HeaderName::TO, to.to_string());
        }
    }
    resp
}

#[cfg(test)]
mod tests;

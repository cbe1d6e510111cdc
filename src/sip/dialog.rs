//! Dialog state (RFC 3261 §12) and the requests built from it.
//!
//! A [`Dialog`] is one side's view: Call-ID, local and remote tags, local and remote
//! URIs, the local CSeq counter, the remote target (the peer's Contact) and the route
//! set. It builds in-dialog requests (§12.2.1.1) and the ACK for a 2xx (§13.2.2.4);
//! free functions build the ACK for a non-2xx (§17.1.1.3) and CANCEL (§9.1), which
//! belong to transactions rather than dialogs. It knows nothing about calls.

use bytes::Bytes;
use rand::Rng;

use crate::sip::layer::Peer;
use crate::sip::message::{
    HasHeaders, HeaderName, Headers, Method, NameAddr, Request, Response, Uri, Via,
};

/// RFC 3261 magic cookie; every branch we generate starts with it.
pub const BRANCH_COOKIE: &str = "z9hG4bK";
/// Our branches carry this marker after the cookie, for loop detection.
pub const OUR_BRANCH_MARK: &str = "z9hG4bKsb";

/// An empty request (headers are pushed by the builders below).
pub fn new_request(method: Method, uri: Uri) -> Request {
    Request {
        method,
        uri,
        headers: Headers::new(),
        body: Bytes::new(),
    }
}

/// A fresh branch parameter for a new client transaction.
pub fn new_branch() -> String {
    format!("{OUR_BRANCH_MARK}{:016x}", rand::rng().random::<u64>())
}

/// A fresh tag (From or To).
pub fn new_tag() -> String {
    format!("{:012x}", rand::rng().random::<u64>() & 0xffff_ffff_ffff)
}

/// A fresh Call-ID under our host.
pub fn new_call_id(host: &str) -> String {
    format!(
        "{:016x}{:08x}@{host}",
        rand::rng().random::<u64>(),
        rand::rng().random::<u32>()
    )
}

/// How we describe ourselves in Via and Contact.
#[derive(Debug, Clone)]
pub struct LocalContact {
    /// `SIP/2.0/UDP` or `SIP/2.0/TCP` transport token.
    pub transport: &'static str,
    /// host:port as others reach us.
    pub host_port: String,
}

impl LocalContact {
    /// A Via header value with a new branch.
    pub fn via(&self) -> String {
        format!(
            "SIP/2.0/{} {};branch={};rport",
            self.transport,
            self.host_port,
            new_branch()
        )
    }

    /// Our Contact header value.
    pub fn contact(&self) -> String {
        if self.transport == "UDP" {
            format!("<sip:switchboard@{}>", self.host_port)
        } else {
            format!(
                "<sip:switchboard@{};transport={}>",
                self.host_port,
                self.transport.to_ascii_lowercase()
            )
        }
    }
}

#[derive(Debug, Clone)]
pub struct Dialog {
    pub call_id: String,
    pub local: NameAddr,
    pub remote: NameAddr,
    pub local_cseq: u32,
    pub remote_cseq: Option<u32>,
    pub remote_target: Uri,
    pub route_set: Vec<NameAddr>,
    /// Where in-dialog requests go (the peer's source address: NAT-safe).
    pub peer: Peer,
}

impl Dialog {
    pub fn local_tag(&self) -> &str {
        self.local.tag().unwrap_or("")
    }

    pub fn remote_tag(&self) -> &str {
        self.remote.tag().unwrap_or("")
    }

    /// UAS side (§12.1.1): from a received INVITE and the To tag we chose.
    pub fn uas(invite: &Request, local_tag: &str, peer: Peer) -> Option<Dialog> {
        let mut local = invite.to().ok()?;
        local.set_tag(local_tag);
        let remote_target = contact_uri(invite).unwrap_or_else(|| {
            invite
                .from()
                .ok()
                .map(|f| f.uri)
                .unwrap_or(invite.uri.clone())
        });
        Some(Dialog {
            call_id: invite.call_id().ok()?.to_string(),
            local,
            remote: invite.from().ok()?,
            local_cseq: 0,
            remote_cseq: invite.cseq().ok().map(|c| c.seq),
            remote_target,
            route_set: invite.record_routes().unwrap_or_default(),
            peer,
        })
    }

    /// UAC side (§12.1.2): from the INVITE we sent and a response carrying a To tag.
    pub fn uac(invite: &Request, resp: &Response, peer: Peer) -> Option<Dialog> {
        let remote = resp.to().ok()?;
        remote.tag()?;
        let mut route_set = resp.record_routes().unwrap_or_default();
        route_set.reverse();
        Some(Dialog {
            call_id: invite.call_id().ok()?.to_string(),
            local: invite.from().ok()?,
            remote,
            local_cseq: invite.cseq().ok()?.seq,
            remote_cseq: None,
            remote_target: contact_uri_of_response(resp).unwrap_or_else(|| invite.uri.clone()),
            route_set,
            peer,
        })
    }

    /// A target refresh (§12.2): a re-INVITE/UPDATE or its 2xx may change the Contact.
    pub fn refresh_target(&mut self, contact: Option<Uri>) {
        if let Some(uri) = contact {
            self.remote_target = uri;
        }
    }

    /// A new in-dialog request (§12.2.1.1) with the next local CSeq.
    pub fn request(&mut self, method: Method, me: &LocalContact) -> Request {
        self.local_cseq += 1;
        let seq = self.local_cseq;
        self.build(method, seq, me.via(), Some(me))
    }

    /// The ACK for a 2xx to the INVITE with CSeq `invite_cseq` (§13.2.2.4): a new branch,
    /// the INVITE's CSeq number.
    pub fn ack(&self, invite_cseq: u32, me: &LocalContact) -> Request {
        self.build(Method::Ack, invite_cseq, me.via(), None)
    }

    fn build(
        &self,
        method: Method,
        seq: u32,
        via: String,
        contact: Option<&LocalContact>,
    ) -> Request {
        let (uri, routes) = self.target_and_routes();
        let mut req = new_request(method.clone(), uri);
        let h = &mut req.headers;
        h.push(HeaderName::VIA, via);
        h.push(HeaderName::MAX_FORWARDS, "70");
        h.push(HeaderName::FROM, self.local.to_string());
        h.push(HeaderName::TO, self.remote.to_string());
        h.push(HeaderName::CALL_ID, self.call_id.clone());
        h.push(HeaderName::CSEQ, format!("{seq} {method}"));
        for r in routes {
            h.push(HeaderName::ROUTE, r.to_string());
        }
        if let Some(me) = contact {
            if matches!(method, Method::Invite | Method::Update) {
                h.push(HeaderName::CONTACT, me.contact());
            }
        }
        req
    }

    /// Loose routing (§12.2.1.1): with `lr` in the first route the R-URI is the remote
    /// target; otherwise (strict) the first route becomes the R-URI.
    fn target_and_routes(&self) -> (Uri, Vec<NameAddr>) {
        match self.route_set.first() {
            None => (self.remote_target.clone(), Vec::new()),
            Some(first) if first.uri.param("lr").is_some() => {
                (self.remote_target.clone(), self.route_set.clone())
            }
            Some(first) => {
                let mut routes: Vec<NameAddr> = self.route_set[1..].to_vec();
                routes.push(NameAddr {
                    display: None,
                    uri: self.remote_target.clone(),
                    params: Vec::new(),
                });
                (first.uri.clone(), routes)
            }
        }
    }
}

fn contact_uri(req: &Request) -> Option<Uri> {
    match req.contacts().ok()?? {
        crate::sip::message::Contact::Addrs(v) => v.into_iter().next().map(|n| n.uri),
        crate::sip::message::Contact::Star => None,
    }
}

/// The first Contact URI of a response.
pub fn contact_uri_of_response(resp: &Response) -> Option<Uri> {
    match resp.contacts().ok()?? {
        crate::sip::message::Contact::Addrs(v) => v.into_iter().next().map(|n| n.uri),
        crate::sip::message::Contact::Star => None,
    }
}

/// The first Contact URI of a request.
pub fn contact_uri_of_request(req: &Request) -> Option<Uri> {
    contact_uri(req)
}

/// RFC 3261 §17.1.1.3: the ACK for a non-2xx final response to `invite`.
pub fn ack_for_non2xx(invite: &Request, resp: &Response) -> Request {
    let mut ack = new_request(Method::Ack, invite.uri.clone());
    copy_transaction_headers(invite, &mut ack, Method::Ack);
    if let Some(to) = resp.headers.get(&HeaderName::TO) {
        ack.headers.set(HeaderName::TO, to.to_string());
    }
    ack
}

/// RFC 3261 §9.1: CANCEL for a pending INVITE we sent (same branch, same CSeq number).
pub fn cancel_for(invite: &Request) -> Request {
    let mut cancel = new_request(Method::Cancel, invite.uri.clone());
    copy_transaction_headers(invite, &mut cancel, Method::Cancel);
    cancel
}

fn copy_transaction_headers(invite: &Request, out: &mut Request, method: Method) {
    let h = &mut out.headers;
    if let Some(via) = invite.headers.get(&HeaderName::VIA) {
        // Only the top Via (ours); a value may hold several comma-separated Vias.
        let top = Via::parse_list(via).ok().and_then(|v| v.into_iter().next());
        h.push(
            HeaderName::VIA,
            top.map(|v| v.to_string())
                .unwrap_or_else(|| via.to_string()),
        );
    }
    h.push(HeaderName::MAX_FORWARDS, "70");
    for name in [HeaderName::FROM, HeaderName::TO, HeaderName::CALL_ID] {
        if let Some(v) = invite.headers.get(&name) {
            h.push(name, v.to_string());
        }
    }
    let seq = invite.cseq().map(|c| c.seq).unwrap_or(1);
    h.push(HeaderName::CSEQ, format!("{seq} {method}"));
    for r in invite.headers.get_all(&HeaderName::ROUTE) {
        h.push(HeaderName::ROUTE, r.to_string());
    }
    out.body = Bytes::new();
}

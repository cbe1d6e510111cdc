//! Transaction matching keys (RFC 3261 §17.1.3 and §17.2.3).

use crate::sip::message::{HasHeaders, Method, Request, Response};

/// A server transaction: top Via branch, its sent-by, and the method (ACK → INVITE).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerKey {
    branch: String,
    sent_by: String,
    method: Method,
}

impl ServerKey {
    pub fn of(req: &Request) -> Option<ServerKey> {
        let via = req.top_via().ok()?;
        let branch = via.branch()?.to_string();
        let method = match &req.method {
            Method::Ack => Method::Invite,
            m => m.clone(),
        };
        let sent_by = match via.port {
            Some(p) => format!("{}:{p}", via.host),
            None => via.host.to_string(),
        };
        Some(ServerKey {
            branch,
            sent_by,
            method,
        })
    }

    /// The same transaction with another method (CANCEL → the INVITE it cancels).
    pub fn with_method(&self, method: Method) -> ServerKey {
        ServerKey {
            method,
            ..self.clone()
        }
    }
}

/// A client transaction: the branch we put in the top Via and the CSeq method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    branch: String,
    method: Method,
}

impl ClientKey {
    pub fn of(req: &Request) -> Option<ClientKey> {
        let via = req.top_via().ok()?;
        Some(ClientKey {
            branch: via.branch()?.to_string(),
            method: req.method.clone(),
        })
    }

    pub fn of_response(resp: &Response) -> Option<ClientKey> {
        let via = resp.top_via().ok()?;
        Some(ClientKey {
            branch: via.branch()?.to_string(),
            method: resp.cseq().ok()?.method,
        })
    }
}

/// The RFC 2543 way to match an ACK to its INVITE (§17.2.3): Call-ID, CSeq number and
/// From tag. Used only as a fallback for ACKs whose branch matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AckKey {
    call_id: String,
    cseq: u32,
    from_tag: String,
}

impl AckKey {
    pub fn of(req: &Request) -> AckKey {
        AckKey {
            call_id: req.call_id().unwrap_or_default().to_string(),
            cseq: req.cseq().map(|c| c.seq).unwrap_or(0),
            from_tag: req
                .from()
                .ok()
                .and_then(|f| f.tag().map(str::to_string))
                .unwrap_or_default(),
        }
    }
}

//! Header fields (RFC 3261 §7.3, §20): case-insensitive names with the compact forms
//! expanded, values kept as raw unfolded [`Bytes`] slices of the datagram until a typed
//! accessor asks for them.

use std::fmt;
use std::hash::{Hash, Hasher};

use bytes::Bytes;

/// A header name in canonical form (compact forms expanded, known names in their
/// RFC spelling). Equality and hashing ignore ASCII case; known names compare as
/// small integers, which keeps header look-ups cheap on the hot path.
#[derive(Clone)]
pub struct HeaderName(Repr);

#[derive(Clone)]
enum Repr {
    /// Index into `CANONICAL`.
    Known(u8),
    /// Never the spelling of a known name (constructors canonicalise).
    Other(Box<str>),
}

macro_rules! known_headers {
    ($( $konst:ident = $name:literal $lower:literal $(, $compact:literal)? ;)*) => {
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[repr(u8)]
        enum Known { $( $konst, )* }

        impl HeaderName {
            $( pub const $konst: HeaderName = HeaderName(Repr::Known(Known::$konst as u8)); )*
        }

        /// Canonical spellings, indexed by `Known`.
        static CANONICAL: &[&str] = &[ $( $name ),* ];

        /// Index of a lower-case long name.
        fn lookup_long(lower: &[u8]) -> Option<u8> {
            match lower {
                $( $lower => Some(Known::$konst as u8), )*
                _ => None,
            }
        }

        /// Index of a compact form (RFC 3261 §7.3.3 and extensions), lower case.
        fn lookup_compact(c: u8) -> Option<u8> {
            $( $( if c == $compact { return Some(Known::$konst as u8); } )? )*
            None
        }
    };
}

known_headers! {
    VIA = "Via" b"via", b'v';
    FROM = "From" b"from", b'f';
    TO = "To" b"to", b't';
    CALL_ID = "Call-ID" b"call-id", b'i';
    CSEQ = "CSeq" b"cseq";
    CONTACT = "Contact" b"contact", b'm';
    MAX_FORWARDS = "Max-Forwards" b"max-forwards";
    CONTENT_LENGTH = "Content-Length" b"content-length", b'l';
    CONTENT_TYPE = "Content-Type" b"content-type", b'c';
    CONTENT_ENCODING = "Content-Encoding" b"content-encoding", b'e';
    CONTENT_DISPOSITION = "Content-Disposition" b"content-disposition";
    CONTENT_LANGUAGE = "Content-Language" b"content-language";
    SUBJECT = "Subject" b"subject", b's';
    SUPPORTED = "Supported" b"supported", b'k';
    EVENT = "Event" b"event", b'o';
    REFER_TO = "Refer-To" b"refer-to", b'r';
    REFERRED_BY = "Referred-By" b"referred-by", b'b';
    ALLOW_EVENTS = "Allow-Events" b"allow-events", b'u';
    SESSION_EXPIRES = "Session-Expires" b"session-expires", b'x';
    ROUTE = "Route" b"route";
    RECORD_ROUTE = "Record-Route" b"record-route";
    EXPIRES = "Expires" b"expires";
    MIN_EXPIRES = "Min-Expires" b"min-expires";
    MIN_SE = "Min-SE" b"min-se";
    AUTHORIZATION = "Authorization" b"authorization";
    WWW_AUTHENTICATE = "WWW-Authenticate" b"www-authenticate";
    PROXY_AUTHORIZATION = "Proxy-Authorization" b"proxy-authorization";
    PROXY_AUTHENTICATE = "Proxy-Authenticate" b"proxy-authenticate";
    AUTHENTICATION_INFO = "Authentication-Info" b"authentication-info";
    USER_AGENT = "User-Agent" b"user-agent";
    SERVER = "Server" b"server";
    ALLOW = "Allow" b"allow";
    REQUIRE = "Require" b"require";
    PROXY_REQUIRE = "Proxy-Require" b"proxy-require";
    UNSUPPORTED = "Unsupported" b"unsupported";
    RETRY_AFTER = "Retry-After" b"retry-after";
    REASON = "Reason" b"reason";
    ACCEPT = "Accept" b"accept";
    ACCEPT_ENCODING = "Accept-Encoding" b"accept-encoding";
    ACCEPT_LANGUAGE = "Accept-Language" b"accept-language";
    ALERT_INFO = "Alert-Info" b"alert-info";
    CALL_INFO = "Call-Info" b"call-info";
    DATE = "Date" b"date";
    ERROR_INFO = "Error-Info" b"error-info";
    IN_REPLY_TO = "In-Reply-To" b"in-reply-to";
    MIME_VERSION = "MIME-Version" b"mime-version";
    ORGANIZATION = "Organization" b"organization";
    PRIORITY = "Priority" b"priority";
    REPLY_TO = "Reply-To" b"reply-to";
    TIMESTAMP = "Timestamp" b"timestamp";
    WARNING = "Warning" b"warning";
    RSEQ = "RSeq" b"rseq";
    RACK = "RAck" b"rack";
    PATH = "Path" b"path";
    SERVICE_ROUTE = "Service-Route" b"service-route";
    PRIVACY = "Privacy" b"privacy";
    P_ASSERTED_IDENTITY = "P-Asserted-Identity" b"p-asserted-identity";
    P_PREFERRED_IDENTITY = "P-Preferred-Identity" b"p-preferred-identity";
    DIVERSION = "Diversion" b"diversion";
    REPLACES = "Replaces" b"replaces";
    SUBSCRIPTION_STATE = "Subscription-State" b"subscription-state";
    SIP_ETAG = "SIP-ETag" b"sip-etag";
    SIP_IF_MATCH = "SIP-If-Match" b"sip-if-match";
}

impl HeaderName {
    /// Canonicalises a header name: compact forms are expanded and known names take
    /// their RFC spelling; unknown names are kept as written.
    pub fn new(name: &str) -> HeaderName {
        match Self::known(name) {
            Some(h) => h,
            None => HeaderName(Repr::Other(name.into())),
        }
    }

    /// The canonical name for `name` if it is a known header or compact form.
    pub(crate) fn known(name: &str) -> Option<HeaderName> {
        let nb = name.as_bytes();
        let idx = if nb.len() == 1 {
            lookup_compact(nb[0].to_ascii_lowercase())
        } else {
            let mut buf = [0u8; 24];
            let lower = buf.get_mut(..nb.len())?;
            for (d, s) in lower.iter_mut().zip(nb) {
                *d = s.to_ascii_lowercase();
            }
            lookup_long(lower)
        };
        idx.map(|i| HeaderName(Repr::Known(i)))
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Known(i) => CANONICAL[usize::from(*i)],
            Repr::Other(s) => s,
        }
    }
}

impl PartialEq for HeaderName {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Known(a), Repr::Known(b)) => a == b,
            (Repr::Other(a), Repr::Other(b)) => other_eq(a, b),
            _ => false,
        }
    }
}

#[cold]
fn other_eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl Eq for HeaderName {}

impl Hash for HeaderName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match &self.0 {
            Repr::Known(i) => state.write_u16(u16::from(*i)),
            Repr::Other(s) => {
                for b in s.bytes() {
                    state.write_u8(b.to_ascii_lowercase());
                }
            }
        }
    }
}

impl fmt::Debug for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HeaderName({:?})", self.as_str())
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for HeaderName {
    fn from(s: &str) -> Self {
        HeaderName::new(s)
    }
}

/// One header field line. `value` is unfolded (LWS with CRLF collapsed to one SP) and
/// trimmed; it is a slice of the received datagram unless the line was folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: HeaderName,
    pub value: Bytes,
}

impl Header {
    /// The value as text, `None` if it is not UTF-8.
    pub fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.value).ok()
    }
}

/// The header fields of a message, in received order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

impl Headers {
    pub fn new() -> Self {
        Self(Vec::new())
    }

    pub fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    /// The first value of `name` as text (`None` if absent or not UTF-8).
    pub fn get(&self, name: &HeaderName) -> Option<&str> {
        self.0
            .iter()
            .find(|h| h.name == *name)
            .and_then(Header::value_str)
    }

    /// The first value of `name`, raw.
    pub fn get_bytes(&self, name: &HeaderName) -> Option<&Bytes> {
        self.0.iter().find(|h| h.name == *name).map(|h| &h.value)
    }

    /// Every line of `name` in order (comma lists are not split; non-UTF-8 lines skipped).
    pub fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |h| h.name == *name)
            .filter_map(Header::value_str)
    }

    /// How many lines of `name` there are.
    pub fn count(&self, name: &HeaderName) -> usize {
        self.0.iter().filter(|h| h.name == *name).count()
    }

    pub fn contains(&self, name: &HeaderName) -> bool {
        self.0.iter().any(|h| h.name == *name)
    }

    /// Appends a line.
    pub fn push(&mut self, name: HeaderName, value: impl Into<Bytes>) {
        self.0.push(Header {
            name,
            value: value.into(),
        });
    }

    /// Prepends a line (a proxy's own Via or Record-Route goes first).
    pub fn insert_first(&mut self, name: HeaderName, value: impl Into<Bytes>) {
        self.0.insert(
            0,
            Header {
                name,
                value: value.into(),
            },
        );
    }

    /// Replaces all lines of `name` with one, at the position of the first (or at the end).
    pub fn set(&mut self, name: HeaderName, value: impl Into<Bytes>) {
        let value = value.into();
        match self.0.iter().position(|h| h.name == name) {
            Some(pos) => {
                self.0[pos].value = value;
                let mut i = 0;
                self.0.retain(|h| {
                    let keep = i <= pos || h.name != name;
                    i += 1;
                    keep
                });
            }
            None => self.0.push(Header { name, value }),
        }
    }

    /// Removes every line of `name`.
    pub fn remove(&mut self, name: &HeaderName) {
        self.0.retain(|h| h.name != *name);
    }

    /// Removes the first line of `name` (a proxy pops its own Via from a response).
    pub fn remove_first(&mut self, name: &HeaderName) -> Option<Header> {
        let pos = self.0.iter().position(|h| h.name == *name)?;
        Some(self.0.remove(pos))
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl From<Vec<Header>> for Headers {
    fn from(v: Vec<Header>) -> Self {
        Self(v)
    }
}

impl FromIterator<Header> for Headers {
    fn from_iter<I: IntoIterator<Item = Header>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_canonical_and_case_insensitive() {
        assert_eq!(HeaderName::new("v").as_str(), "Via");
        assert_eq!(HeaderName::new("I").as_str(), "Call-ID");
        assert_eq!(HeaderName::new("call-id").as_str(), "Call-ID");
        assert_eq!(HeaderName::new("x").as_str(), "Session-Expires");
        assert_eq!(HeaderName::new("X-Custom"), HeaderName::new("x-custom"));
        assert_eq!(HeaderName::new("X-Custom").as_str(), "X-Custom");
        assert_eq!(HeaderName::new("l"), HeaderName::CONTENT_LENGTH);
        use std::collections::HashSet;
        let set: HashSet<_> = [HeaderName::new("FOO"), HeaderName::new("foo")]
            .into_iter()
            .collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn headers_ops() {
        let mut h = Headers::new();
        h.push(HeaderName::VIA, "SIP/2.0/UDP a");
        h.push(HeaderName::TO, "<sip:b@c>");
        h.push(HeaderName::VIA, "SIP/2.0/UDP b");
        h.insert_first(HeaderName::VIA, "SIP/2.0/UDP z");
        assert_eq!(
            h.get_all(&HeaderName::VIA).collect::<Vec<_>>(),
            ["SIP/2.0/UDP z", "SIP/2.0/UDP a", "SIP/2.0/UDP b"]
        );
        h.set(HeaderName::VIA, "SIP/2.0/UDP only");
        assert_eq!(h.count(&HeaderName::VIA), 1);
        assert_eq!(h.iter().next().unwrap().name, HeaderName::VIA);
        h.remove(&HeaderName::VIA);
        assert_eq!(h.len(), 1);
        h.push(HeaderName::new("X-Bin"), Bytes::from_static(b"\xff"));
        assert_eq!(h.get(&HeaderName::new("x-bin")), None);
        assert_eq!(h.get(&HeaderName::TO), Some("<sip:b@c>"));
    }
}

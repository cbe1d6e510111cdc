//! Header fields (RFC 3261 §7.3, §20): case-insensitive names with the compact forms
//! expanded, values kept as raw unfolded [`Bytes`] slices of the datagram until a typed
//! accessor asks for them.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};

use bytes::Bytes;

/// A header name in canonical form (compact forms expanded, known names in their
/// RFC spelling). Equality and hashing ignore ASCII case.
#[derive(Debug, Clone)]
pub struct HeaderName(Cow<'static, str>);

macro_rules! known_headers {
    ($( $konst:ident = $name:literal $(, $compact:literal)? ;)*) => {
        impl HeaderName {
            $( pub const $konst: HeaderName = HeaderName(Cow::Borrowed($name)); )*
        }
        /// (canonical name, compact form or 0)
        static KNOWN: &[(&str, u8)] = &[ $( ($name, known_headers!(@c $($compact)?)) ),* ];
    };
    (@c $c:literal) => { $c };
    (@c) => { 0u8 };
}

known_headers! {
    VIA = "Via", b'v';
    FROM = "From", b'f';
    TO = "To", b't';
    CALL_ID = "Call-ID", b'i';
    CSEQ = "CSeq";
    CONTACT = "Contact", b'm';
    MAX_FORWARDS = "Max-Forwards";
    CONTENT_LENGTH = "Content-Length", b'l';
    CONTENT_TYPE = "Content-Type", b'c';
    CONTENT_ENCODING = "Content-Encoding", b'e';
    CONTENT_DISPOSITION = "Content-Disposition";
    CONTENT_LANGUAGE = "Content-Language";
    SUBJECT = "Subject", b's';
    SUPPORTED = "Supported", b'k';
    EVENT = "Event", b'o';
    REFER_TO = "Refer-To", b'r';
    REFERRED_BY = "Referred-By", b'b';
    ALLOW_EVENTS = "Allow-Events", b'u';
    SESSION_EXPIRES = "Session-Expires", b'x';
    ROUTE = "Route";
    RECORD_ROUTE = "Record-Route";
    EXPIRES = "Expires";
    MIN_EXPIRES = "Min-Expires";
    MIN_SE = "Min-SE";
    AUTHORIZATION = "Authorization";
    WWW_AUTHENTICATE = "WWW-Authenticate";
    PROXY_AUTHORIZATION = "Proxy-Authorization";
    PROXY_AUTHENTICATE = "Proxy-Authenticate";
    AUTHENTICATION_INFO = "Authentication-Info";
    USER_AGENT = "User-Agent";
    SERVER = "Server";
    ALLOW = "Allow";
    REQUIRE = "Require";
    PROXY_REQUIRE = "Proxy-Require";
    UNSUPPORTED = "Unsupported";
    RETRY_AFTER = "Retry-After";
    REASON = "Reason";
    ACCEPT = "Accept";
    ACCEPT_ENCODING = "Accept-Encoding";
    ACCEPT_LANGUAGE = "Accept-Language";
    ALERT_INFO = "Alert-Info";
    CALL_INFO = "Call-Info";
    DATE = "Date";
    ERROR_INFO = "Error-Info";
    IN_REPLY_TO = "In-Reply-To";
    MIME_VERSION = "MIME-Version";
    ORGANIZATION = "Organization";
    PRIORITY = "Priority";
    REPLY_TO = "Reply-To";
    TIMESTAMP = "Timestamp";
    WARNING = "Warning";
    RSEQ = "RSeq";
    RACK = "RAck";
    PATH = "Path";
    SERVICE_ROUTE = "Service-Route";
    PRIVACY = "Privacy";
    P_ASSERTED_IDENTITY = "P-Asserted-Identity";
    P_PREFERRED_IDENTITY = "P-Preferred-Identity";
    DIVERSION = "Diversion";
    REPLACES = "Replaces";
    SUBSCRIPTION_STATE = "Subscription-State";
    SIP_ETAG = "SIP-ETag";
    SIP_IF_MATCH = "SIP-If-Match";
}

impl HeaderName {
    /// Canonicalises a header name: compact forms are expanded and known names take
    /// their RFC spelling; unknown names are kept as written.
    pub fn new(name: &str) -> HeaderName {
        match Self::known(name) {
            Some(h) => h,
            None => HeaderName(Cow::Owned(name.to_owned())),
        }
    }

    /// The canonical name for `name` if it is a known header or compact form.
    pub(crate) fn known(name: &str) -> Option<HeaderName> {
        let nb = name.as_bytes();
        if nb.len() == 1 {
            let c = nb[0].to_ascii_lowercase();
            return KNOWN
                .iter()
                .find(|(_, k)| *k == c)
                .map(|(n, _)| HeaderName(Cow::Borrowed(*n)));
        }
        KNOWN
            .iter()
            .find(|(n, _)| n.len() == nb.len() && n.as_bytes().eq_ignore_ascii_case(nb))
            .map(|(n, _)| HeaderName(Cow::Borrowed(*n)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for HeaderName {}

impl Hash for HeaderName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.0.bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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

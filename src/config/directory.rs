//! The directory: endpoints (extensions, `[[endpoint]]`) and trunks (`[[trunk]]`) in the
//! form the API and the store exchange them ([`EndpointSpec`], [`TrunkSpec`]: plain
//! strings, JSON with serde), validated into the config's typed [`Endpoint`] and
//! [`Trunk`] by the same rules the file's entries obey ([`is_sip_user`], host `IP:port`,
//! inbound `IP` or `IP:port`, `register` needs credentials, no password without a user).
//! A refusal names the field at fault ([`FieldError`]).
//!
//! [`merge`] lays stored entries over the file's: an entry stored under a name replaces the
//! file's entry of that name, a stored deletion removes it, and stored names the file lacks
//! are added. [`Config::with_directory`] is the running config with another directory.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::{Config, Endpoint, InboundSource, MediaMode, Transport, Trunk};

/// A field's value is not acceptable (the API answers 422 naming `field`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    pub field: &'static str,
    pub reason: String,
}

fn refuse(field: &'static str, reason: impl Into<String>) -> FieldError {
    FieldError {
        field,
        reason: reason.into(),
    }
}

/// Characters allowed in the user part of a SIP URI (RFC 3261 §25.1 `user`, unreserved and
/// user-unreserved, unescaped).
pub fn is_sip_user(user: &str) -> bool {
    !user.is_empty()
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(c))
}

/// `IP` (any port) or `IP:port`.
pub fn parse_inbound(s: &str) -> Option<InboundSource> {
    s.parse::<SocketAddr>()
        .map(InboundSource::Addr)
        .or_else(|_| s.parse::<IpAddr>().map(InboundSource::Ip))
        .ok()
}

fn media_name(m: MediaMode) -> &'static str {
    match m {
        MediaMode::Relay => "relay",
        MediaMode::Bypass => "bypass",
    }
}

fn parse_media(v: Option<&str>) -> Result<Option<MediaMode>, FieldError> {
    match v {
        None | Some("") => Ok(None),
        Some("relay") => Ok(Some(MediaMode::Relay)),
        Some("bypass") => Ok(Some(MediaMode::Bypass)),
        Some(other) => Err(refuse("media", format!("{other:?} is not relay or bypass"))),
    }
}

fn context(v: &str) -> Result<String, FieldError> {
    if v.trim().is_empty() {
        return Err(refuse("context", "must name a dialplan context"));
    }
    Ok(v.to_string())
}

/// An endpoint as the API and the store see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    pub user: String,
    pub password: String,
    #[serde(default)]
    pub caller_id: Option<String>,
    pub context: String,
    /// relay | bypass (default: `[media] mode`).
    #[serde(default)]
    pub media: Option<String>,
}

impl EndpointSpec {
    /// The typed endpoint, or the first field at fault.
    pub fn validate(&self) -> Result<Endpoint, FieldError> {
        if !is_sip_user(&self.user) {
            return Err(refuse(
                "user",
                format!("{:?} is not a valid SIP user", self.user),
            ));
        }
        if self.password.is_empty() {
            return Err(refuse("password", "must not be empty"));
        }
        Ok(Endpoint {
            user: self.user.clone(),
            password: self.password.clone(),
            caller_id: self.caller_id.clone().filter(|c| !c.is_empty()),
            context: context(&self.context)?,
            media: parse_media(self.media.as_deref())?,
        })
    }
}

impl From<&Endpoint> for EndpointSpec {
    fn from(e: &Endpoint) -> Self {
        EndpointSpec {
            user: e.user.clone(),
            password: e.password.clone(),
            caller_id: e.caller_id.clone(),
            context: e.context.clone(),
            media: e.media.map(|m| media_name(m).to_string()),
        }
    }
}

/// A trunk as the API and the store see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkSpec {
    pub name: String,
    /// `IP:port`.
    pub host: String,
    /// udp (default) | tcp
    #[serde(default)]
    pub transport: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Register with the carrier (needs username and password).
    #[serde(default)]
    pub register: bool,
    /// Sources calls are accepted from: `IP` or `IP:port`.
    #[serde(default)]
    pub inbound: Vec<String>,
    pub context: String,
    /// relay | bypass (default: `[media] mode`).
    #[serde(default)]
    pub media: Option<String>,
}

impl TrunkSpec {
    /// The typed trunk, or the first field at fault.
    pub fn validate(&self) -> Result<Trunk, FieldError> {
        let name = &self.name;
        if name.trim().is_empty() || name.contains('/') {
            return Err(refuse("name", "must be non-empty and contain no '/'"));
        }
        let host = self
            .host
            .parse::<SocketAddr>()
            .map_err(|_| refuse("host", format!("{:?} is not IP:port", self.host)))?;
        let transport = match self.transport.as_deref() {
            None | Some("") | Some("udp") => Transport::Udp,
            Some("tcp") => Transport::Tcp,
            Some(other) => return Err(refuse("transport", format!("{other:?} is not udp or tcp"))),
        };
        let username = self.username.clone().filter(|u| !u.is_empty());
        let password = self.password.clone().filter(|p| !p.is_empty());
        if self.register && (username.is_none() || password.is_none()) {
            return Err(refuse("register", "needs username and password"));
        }
        if password.is_some() && username.is_none() {
            return Err(refuse("password", "password without username"));
        }
        let inbound = self
            .inbound
            .iter()
            .map(|s| {
                parse_inbound(s)
                    .ok_or_else(|| refuse("inbound", format!("{s:?} is not an IP or IP:port")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Trunk {
            name: name.clone(),
            host,
            transport,
            username,
            password,
            register: self.register,
            inbound,
            context: context(&self.context)?,
            media: parse_media(self.media.as_deref())?,
        })
    }
}

impl From<&Trunk> for TrunkSpec {
    fn from(t: &Trunk) -> Self {
        TrunkSpec {
            name: t.name.clone(),
            host: t.host.to_string(),
            transport: Some(t.transport.as_via().to_ascii_lowercase()),
            username: t.username.clone(),
            password: t.password.clone(),
            register: t.register,
            inbound: t
                .inbound
                .iter()
                .map(|s| match s {
                    InboundSource::Ip(ip) => ip.to_string(),
                    InboundSource::Addr(a) => a.to_string(),
                })
                .collect(),
            context: t.context.clone(),
            media: t.media.map(|m| media_name(m).to_string()),
        }
    }
}

/// One stored directory change: the entry now under `name`, or `None` when deleted.
#[derive(Debug, Clone)]
pub struct Override<T> {
    pub name: String,
    pub entry: Option<T>,
}

/// The file's entries with the stored ones laid over them (stored entries win; a stored
/// deletion removes the file's entry). File order is kept; added names follow, in the
/// order given.
pub fn merge<T: Clone>(file: &[T], stored: &[Override<T>], name_of: impl Fn(&T) -> &str) -> Vec<T> {
    let mut out: Vec<T> = file
        .iter()
        .filter_map(|e| match stored.iter().find(|o| o.name == name_of(e)) {
            Some(o) => o.entry.clone(),
            None => Some(e.clone()),
        })
        .collect();
    for o in stored {
        if let Some(e) = &o.entry {
            if !file.iter().any(|f| name_of(f) == o.name) {
                out.push(e.clone());
            }
        }
    }
    out
}

impl Config {
    /// This config with another directory (everything else unchanged).
    pub fn with_directory(&self, endpoints: Vec<Endpoint>, trunks: Vec<Trunk>) -> Config {
        Config {
            endpoints,
            trunks,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(user: &str) -> EndpointSpec {
        EndpointSpec {
            user: user.into(),
            password: "secret".into(),
            caller_id: None,
            context: "internal".into(),
            media: None,
        }
    }

    fn trunk() -> TrunkSpec {
        TrunkSpec {
            name: "carrier".into(),
            host: "192.0.2.1:5060".into(),
            transport: None,
            username: None,
            password: None,
            register: false,
            inbound: vec!["192.0.2.1".into(), "192.0.2.2:5070".into()],
            context: "from-trunk".into(),
            media: Some("bypass".into()),
        }
    }

    #[test]
    fn endpoints_are_checked_field_by_field() {
        let e = endpoint("1001").validate().expect("valid");
        assert_eq!((e.user.as_str(), e.context.as_str()), ("1001", "internal"));
        let field = |spec: EndpointSpec| spec.validate().map(|_| ()).unwrap_err().field;
        assert_eq!(field(endpoint("bad user")), "user");
        assert_eq!(field(endpoint("")), "user");
        assert_eq!(
            field(EndpointSpec {
                password: String::new(),
                ..endpoint("1002")
            }),
            "password"
        );
        assert_eq!(
            field(EndpointSpec {
                context: " ".into(),
                ..endpoint("1002")
            }),
            "context"
        );
        assert_eq!(
            field(EndpointSpec {
                media: Some("tunnel".into()),
                ..endpoint("1002")
            }),
            "media"
        );
    }

    #[test]
    fn trunks_are_checked_field_by_field_and_round_trip() {
        let t = trunk().validate().expect("valid");
        assert_eq!(t.inbound.len(), 2);
        assert_eq!(t.media, Some(MediaMode::Bypass));
        let back = TrunkSpec::from(&t);
        assert_eq!(back.validate().map(|t| t.host), Ok(t.host));
        assert_eq!(back.transport.as_deref(), Some("udp"));
        let field = |spec: TrunkSpec| spec.validate().map(|_| ()).unwrap_err().field;
        assert_eq!(
            field(TrunkSpec {
                host: "carrier.example".into(),
                ..trunk()
            }),
            "host"
        );
        assert_eq!(
            field(TrunkSpec {
                register: true,
                username: Some("u".into()),
                ..trunk()
            }),
            "register"
        );
        assert_eq!(
            field(TrunkSpec {
                password: Some("p".into()),
                ..trunk()
            }),
            "password"
        );
        assert_eq!(
            field(TrunkSpec {
                inbound: vec!["nowhere".into()],
                ..trunk()
            }),
            "inbound"
        );
        assert_eq!(
            field(TrunkSpec {
                transport: Some("sctp".into()),
                ..trunk()
            }),
            "transport"
        );
        assert_eq!(
            field(TrunkSpec {
                name: String::new(),
                ..trunk()
            }),
            "name"
        );
    }

    #[test]
    fn stored_entries_win_over_the_file() {
        let file = vec![
            endpoint("1001").validate().expect("valid"),
            endpoint("1002").validate().expect("valid"),
            endpoint("1003").validate().expect("valid"),
        ];
        let mut changed = endpoint("1002").validate().expect("valid");
        changed.password = "new".into();
        let stored = vec![
            Override {
                name: "1004".into(),
                entry: Some(endpoint("1004").validate().expect("valid")),
            },
            Override {
                name: "1002".into(),
                entry: Some(changed),
            },
            Override {
                name: "1003".into(),
                entry: None,
            },
            Override {
                name: "1009".into(),
                entry: None,
            },
        ];
        let merged = merge(&file, &stored, |e| e.user.as_str());
        let users: Vec<_> = merged.iter().map(|e| e.user.as_str()).collect();
        assert_eq!(users, ["1001", "1002", "1004"]);
        assert_eq!(merged[1].password, "new");
    }
}

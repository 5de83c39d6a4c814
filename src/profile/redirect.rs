//! The loopback redirect URI (RFC 8252 §7.3): host, port and path.

use std::fmt;

use url::Url;

use super::model::ProfileField;
use crate::error::{Error, Result};

/// The loopback host in the redirect URI (RFC 8252 §7.3). `127.0.0.1` is the default because
/// `localhost` can resolve to another interface or to IPv6 first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopbackHost {
    /// `127.0.0.1`.
    Ipv4,
    /// `localhost`, bound on `127.0.0.1`.
    Localhost,
    /// `[::1]`.
    Ipv6,
}

impl LoopbackHost {
    /// The host as the redirect URI spells it.
    pub(crate) fn uri_host(self) -> &'static str {
        match self {
            LoopbackHost::Ipv4 => "127.0.0.1",
            LoopbackHost::Localhost => "localhost",
            LoopbackHost::Ipv6 => "[::1]",
        }
    }

    /// The address actually bound: never a wildcard.
    pub(crate) fn bind_ip(self) -> std::net::IpAddr {
        match self {
            LoopbackHost::Ipv4 | LoopbackHost::Localhost => std::net::Ipv4Addr::LOCALHOST.into(),
            LoopbackHost::Ipv6 => std::net::Ipv6Addr::LOCALHOST.into(),
        }
    }
}

/// Whether the URI spells out `:80`, which `url` drops as the http default: an explicit port
/// is a fixed one, not "pick a free port".
fn explicit_default_port(uri: &str) -> bool {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority.ends_with(":80")
}

/// The redirect URI template: host, port (0 = ephemeral, chosen when the listener binds) and path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    /// The loopback host.
    pub host: LoopbackHost,
    /// The port; 0 means a free one is chosen for each sign-in.
    pub port: u16,
    /// The path the browser is sent back to.
    pub path: String,
}

impl Default for Redirect {
    fn default() -> Self {
        Self {
            host: LoopbackHost::Ipv4,
            port: 0,
            path: "/callback".into(),
        }
    }
}

impl Redirect {
    /// Parses a loopback redirect URI: `http` on `127.0.0.1`, `localhost` or `[::1]`, with no
    /// query, fragment or user info. Without a port, a free one is chosen for each sign-in.
    pub fn parse(uri: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::invalid_field(
                ProfileField::RedirectUri,
                format!(
                    "invalid redirect URI `{uri}`: {why} (expected e.g. \
                     http://127.0.0.1/callback or http://127.0.0.1:8400/callback)"
                ),
            )
        };
        let url = Url::parse(uri).map_err(|e| bad(&e.to_string()))?;
        if url.scheme() != "http" {
            return Err(bad("a loopback redirect uses http"));
        }
        let host = match url.host() {
            Some(url::Host::Ipv4(ip)) if ip == std::net::Ipv4Addr::LOCALHOST => LoopbackHost::Ipv4,
            Some(url::Host::Ipv6(ip)) if ip == std::net::Ipv6Addr::LOCALHOST => LoopbackHost::Ipv6,
            Some(url::Host::Domain("localhost")) => LoopbackHost::Localhost,
            _ => return Err(bad("the host must be 127.0.0.1, localhost or [::1]")),
        };
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("no query or fragment allowed"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("no user info allowed"));
        }
        Ok(Self {
            host,
            port: url
                .port()
                .unwrap_or(if explicit_default_port(uri) { 80 } else { 0 }),
            path: url.path().to_owned(),
        })
    }

    /// The URI sent to the provider once the listener is bound on `port`.
    pub(crate) fn uri_for_port(&self, port: u16) -> String {
        format!("http://{}:{}{}", self.host.uri_host(), port, self.path)
    }
}

impl fmt::Display for Redirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.port == 0 {
            write!(f, "http://{}{}", self.host.uri_host(), self.path)
        } else {
            f.write_str(&self.uri_for_port(self.port))
        }
    }
}

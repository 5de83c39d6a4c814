//! Provider presets: what Pixie knows about the providers people sign in to most, as data the
//! CLI (`pixie profile add NAME --preset ID`) and the app's preset picker share.
//!
//! A preset turns a few inputs (a tenant, a domain, a base URL) into a [`ProfileRecord`]: the
//! issuer or the endpoints, the scopes and parameters the provider wants, and the redirect URI it
//! accepts. Nothing here touches the network: the endpoints are known, or discovery waits for the
//! first sign-in. Every quirk a preset handles is written in its `notes`, and the README's
//! "Providers" table says the same.

use std::collections::BTreeMap;

use serde::Serialize;
use url::Url;

use super::model::{parse_endpoint, ProfileRecord};
use crate::error::Error;
use crate::text::terminal_safe;

/// One input a preset asks the person for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// A Microsoft Entra tenant: `common`, `organizations`, `consumers`, a tenant ID or a domain.
    Tenant,
    /// A host name, e.g. `dev-123456.okta.com`.
    Domain,
    /// An https URL: an issuer, a realm, a self-managed instance.
    BaseUrl,
}

impl Input {
    /// The command-line flag that gives it.
    pub fn flag(self) -> &'static str {
        match self {
            Input::Tenant => "--tenant",
            Input::Domain => "--domain",
            Input::BaseUrl => "--base-url",
        }
    }
}

/// What a preset needs: exactly one of `one_of` (when it is not empty), and any of `optional`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Needs {
    /// Exactly one of these must be given; empty: none is needed.
    pub one_of: &'static [Input],
    /// These may be given besides.
    pub optional: &'static [Input],
}

impl Needs {
    const NOTHING: Needs = Needs {
        one_of: &[],
        optional: &[],
    };

    fn accepts(&self, input: Input) -> bool {
        self.one_of.contains(&input) || self.optional.contains(&input)
    }
}

/// A provider Pixie knows: how to build its profile and what to register there.
#[derive(Debug, Serialize)]
pub struct Preset {
    /// What `--preset` takes, e.g. `entra`.
    pub id: &'static str,
    /// The provider's name, e.g. `Microsoft Entra ID`.
    pub name: &'static str,
    /// The inputs it asks for.
    pub needs: Needs,
    /// The inputs in words, as the command line takes them.
    pub usage: &'static str,
    /// The kind of client to register at the provider.
    pub client_type: &'static str,
    /// The redirect URI to register there.
    pub register_redirect_uri: &'static str,
    /// Whether the provider's token endpoint wants a client secret (kept in the keychain).
    pub needs_client_secret: bool,
    /// The provider's quirks, and what the preset does about each.
    pub notes: &'static [&'static str],
    #[serde(skip)]
    build: fn(&Given) -> ProfileRecord,
}

/// What the person gave for a preset (from the command line or the app's picker).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PresetInput {
    /// `--tenant`.
    pub tenant: Option<String>,
    /// `--domain`.
    pub domain: Option<String>,
    /// `--base-url`.
    pub base_url: Option<String>,
}

/// Why a preset could not be applied. Outside text in a message is made terminal-safe.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PresetError {
    /// No preset has this id.
    #[error("unknown preset `{0}` (see `pixie profile presets`)")]
    Unknown(String),
    /// A needed input is missing.
    #[error("the `{preset}` preset needs {usage}")]
    Missing {
        /// The preset's id.
        preset: &'static str,
        /// What it needs, in words.
        usage: &'static str,
    },
    /// An input the preset does not take, or two where it takes one of them.
    #[error("the `{preset}` preset does not take {flag} here; it takes {usage}")]
    NotTaken {
        /// The preset's id.
        preset: &'static str,
        /// The flag given.
        flag: &'static str,
        /// What it takes, in words.
        usage: &'static str,
    },
    /// A tenant that is none of the accepted forms.
    #[error(
        "invalid tenant `{0}`: use common, organizations, consumers, a tenant ID \
         (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx) or a domain such as contoso.onmicrosoft.com"
    )]
    Tenant(String),
    /// A domain that is not a host name.
    #[error("invalid domain `{0}`: give the host name only, e.g. dev-123456.okta.com")]
    Domain(String),
    /// A base URL that is not an https URL without query, fragment or user info.
    #[error("invalid base URL `{url}`: {reason}")]
    BaseUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl From<PresetError> for Error {
    fn from(e: PresetError) -> Self {
        Error::invalid(e.to_string())
    }
}

/// Longest host name (RFC 1035) and longest base URL taken.
const MAX_HOST: usize = 253;
const MAX_URL: usize = 2048;

/// The inputs, checked.
#[derive(Debug, Default)]
struct Given {
    tenant: Option<Tenant>,
    domain: Option<String>,
    /// Without a trailing slash: none of these providers' issuers has one (Auth0's, built
    /// from `--domain`, gets its own).
    base_url: Option<String>,
}

/// A Microsoft Entra tenant.
#[derive(Debug, PartialEq, Eq)]
enum Tenant {
    /// `common`, `organizations` or `consumers`: the discovery document's issuer is the
    /// template `https://login.microsoftonline.com/{tenantid}/v2.0`, which no ID token carries.
    Multi(&'static str),
    /// A tenant ID, lowercased as Entra writes it in its issuer.
    Id(String),
    /// A verified domain: discovery answers with the tenant ID's issuer, not the domain's.
    Domain(String),
}

impl Tenant {
    fn parse(s: &str) -> Result<Self, PresetError> {
        let bad = || PresetError::Tenant(terminal_safe(s).into_owned());
        let t = s.trim();
        for multi in ["common", "organizations", "consumers"] {
            if t.eq_ignore_ascii_case(multi) {
                return Ok(Tenant::Multi(multi));
            }
        }
        if is_guid(t) {
            return Ok(Tenant::Id(t.to_ascii_lowercase()));
        }
        if t.contains('.') && is_host(t) {
            return Ok(Tenant::Domain(t.to_ascii_lowercase()));
        }
        Err(bad())
    }

    fn path(&self) -> &str {
        match self {
            Tenant::Multi(t) => t,
            Tenant::Id(t) | Tenant::Domain(t) => t,
        }
    }
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A DNS host name: dot-separated labels of letters, digits and inner hyphens.
fn is_host(s: &str) -> bool {
    s.len() <= MAX_HOST
        && s.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn parse_domain(s: &str) -> Result<String, PresetError> {
    let d = s.trim();
    if d.contains('.') && is_host(d) {
        Ok(d.to_ascii_lowercase())
    } else {
        Err(PresetError::Domain(terminal_safe(s).into_owned()))
    }
}

/// An https URL (http on loopback, for local servers) naming a place, not a request.
fn parse_base_url(s: &str) -> Result<String, PresetError> {
    let bad = |reason: String| PresetError::BaseUrl {
        url: terminal_safe(s).into_owned(),
        reason,
    };
    if s.len() > MAX_URL {
        return Err(bad(format!("longer than {MAX_URL} characters")));
    }
    let url: Url = parse_endpoint("base URL", s).map_err(|e| bad(e.to_string()))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("no query or fragment allowed".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("no user info allowed".into()));
    }
    Ok(s.trim().trim_end_matches('/').to_owned())
}

impl PresetInput {
    /// The inputs given, each with its flag.
    fn given(&self) -> impl Iterator<Item = (Input, &str)> {
        [
            (Input::Tenant, &self.tenant),
            (Input::Domain, &self.domain),
            (Input::BaseUrl, &self.base_url),
        ]
        .into_iter()
        .filter_map(|(i, v)| v.as_deref().map(|v| (i, v)))
    }
}

impl Preset {
    /// The profile this preset makes of `input`: everything but the name and client id, which
    /// the caller fills in (and any field the person gave explicitly, which wins).
    pub fn record(&self, input: &PresetInput) -> Result<ProfileRecord, PresetError> {
        let mut given = Given::default();
        let mut chosen = 0;
        for (which, value) in input.given() {
            if !self.needs.accepts(which) || (self.needs.one_of.contains(&which) && chosen > 0) {
                return Err(PresetError::NotTaken {
                    preset: self.id,
                    flag: which.flag(),
                    usage: self.usage,
                });
            }
            if self.needs.one_of.contains(&which) {
                chosen += 1;
            }
            match which {
                Input::Tenant => given.tenant = Some(Tenant::parse(value)?),
                Input::Domain => given.domain = Some(parse_domain(value)?),
                Input::BaseUrl => given.base_url = Some(parse_base_url(value)?),
            }
        }
        if !self.needs.one_of.is_empty() && chosen == 0 {
            return Err(PresetError::Missing {
                preset: self.id,
                usage: self.usage,
            });
        }
        Ok((self.build)(&given))
    }
}

/// Every preset, in the order `pixie profile presets` lists them.
pub fn all() -> &'static [Preset] {
    PRESETS
}

/// The preset with this id.
pub fn find(id: &str) -> Result<&'static Preset, PresetError> {
    PRESETS
        .iter()
        .find(|p| p.id.eq_ignore_ascii_case(id.trim()))
        .ok_or_else(|| {
            let shown: String = id.chars().take(64).collect();
            PresetError::Unknown(terminal_safe(&shown).into_owned())
        })
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn issuer(issuer: String, scopes: &str) -> ProfileRecord {
    ProfileRecord {
        issuer: Some(issuer),
        scopes: words(scopes),
        ..ProfileRecord::default()
    }
}

const ENTRA_AUTHORITY: &str = "https://login.microsoftonline.com";
const GITHUB: &str = "https://github.com";
const GITLAB: &str = "https://gitlab.com";
/// A fixed port where the provider matches the redirect URI exactly, port included.
const FIXED_PORT_REDIRECT: &str = "http://127.0.0.1:8400/callback";

fn entra(g: &Given) -> ProfileRecord {
    let authority = g.base_url.as_deref().unwrap_or(ENTRA_AUTHORITY);
    let tenant = g.tenant.as_ref().map_or("common", Tenant::path);
    let mut r = match &g.tenant {
        // Only a tenant ID's discovery document names the issuer its ID tokens carry.
        Some(Tenant::Id(id)) => issuer(format!("{authority}/{id}/v2.0"), ""),
        _ => {
            let base = format!("{authority}/{tenant}/oauth2/v2.0");
            ProfileRecord {
                authorization_endpoint: Some(format!("{base}/authorize")),
                token_endpoint: Some(format!("{base}/token")),
                device_authorization_endpoint: Some(format!("{base}/devicecode")),
                ..ProfileRecord::default()
            }
        }
    };
    r.scopes = words("openid offline_access profile email");
    // Entra issues refresh tokens for `offline_access` without a consent prompt, and a
    // forced one fails for people whose organization reserves consent to its admins.
    r.params = params(&[("prompt", "select_account")]);
    r.redirect_uri = Some("http://localhost/callback".into());
    r
}

fn google(_: &Given) -> ProfileRecord {
    let mut r = issuer("https://accounts.google.com".into(), "openid email profile");
    r.params = params(&[("access_type", "offline"), ("prompt", "consent")]);
    r
}

fn github(g: &Given) -> ProfileRecord {
    let base = g.base_url.as_deref().unwrap_or(GITHUB);
    ProfileRecord {
        authorization_endpoint: Some(format!("{base}/login/oauth/authorize")),
        token_endpoint: Some(format!("{base}/login/oauth/access_token")),
        device_authorization_endpoint: Some(format!("{base}/login/device/code")),
        scopes: words("read:user"),
        client_auth: Some("client_secret_post".into()),
        ..ProfileRecord::default()
    }
}

fn gitlab(g: &Given) -> ProfileRecord {
    // GitLab refuses `offline_access` and issues refresh tokens without it.
    issuer(
        g.base_url.clone().unwrap_or_else(|| GITLAB.into()),
        "openid profile email",
    )
}

fn okta(g: &Given) -> ProfileRecord {
    let iss = match (&g.domain, &g.base_url) {
        (Some(d), _) => format!("https://{d}"),
        (None, b) => b.clone().unwrap_or_default(),
    };
    let mut r = issuer(iss, "openid offline_access profile email");
    r.redirect_uri = Some(FIXED_PORT_REDIRECT.into());
    r
}

fn auth0(g: &Given) -> ProfileRecord {
    // Auth0's issuer ends in a slash, and Pixie compares issuers byte for byte.
    let d = g.domain.as_deref().unwrap_or_default();
    let mut r = issuer(
        format!("https://{d}/"),
        "openid offline_access profile email",
    );
    r.redirect_uri = Some(FIXED_PORT_REDIRECT.into());
    r
}

fn keycloak(g: &Given) -> ProfileRecord {
    // Keycloak issues refresh tokens with `openid` alone; `offline_access` would ask for an
    // offline token, which outlives the person's browser session.
    issuer(
        g.base_url.clone().unwrap_or_default(),
        "openid profile email",
    )
}

fn cognito(g: &Given) -> ProfileRecord {
    // Cognito refuses unknown scopes and issues refresh tokens to the code flow anyway.
    let mut r = issuer(
        g.base_url.clone().unwrap_or_default(),
        "openid email profile",
    );
    // Cognito allows plain http only for `localhost`, and matches the port exactly.
    r.redirect_uri = Some("http://localhost:8400/callback".into());
    r
}

static PRESETS: &[Preset] = &[
    Preset {
        id: "entra",
        name: "Microsoft Entra ID",
        needs: Needs {
            one_of: &[Input::Tenant],
            optional: &[Input::BaseUrl],
        },
        usage: "--tenant common|organizations|consumers|TENANT-ID|DOMAIN \
                (and --base-url for a national cloud's authority, e.g. \
                https://login.microsoftonline.us)",
        client_type: "public client (\"Mobile and desktop applications\" platform)",
        register_redirect_uri: "http://localhost/callback",
        needs_client_secret: false,
        notes: &[
            "v2.0 endpoints. A tenant ID is discovered from its issuer; common, organizations, \
             consumers and domains get explicit endpoints, because their discovery documents \
             name a templated or other issuer (their ID tokens are shown unverified).",
            "Scopes openid offline_access profile email; add an API's RESOURCE/.default with \
             --scope.",
            "No RFC 7009 revocation: sign-out deletes the tokens on this machine and says so.",
            "Entra accepts http://localhost on any port; prompt=select_account replaces a \
             forced consent prompt.",
        ],
        build: entra,
    },
    Preset {
        id: "google",
        name: "Google",
        needs: Needs::NOTHING,
        usage: "nothing besides --client-id and --client-secret-stdin",
        client_type: "OAuth client ID of type \"Desktop app\"",
        register_redirect_uri:
            "none to register (Desktop app clients take http://127.0.0.1 on any port)",
        needs_client_secret: true,
        notes: &[
            "The Desktop app's client secret is required, though Google documents it as not \
             confidential: give it with --client-secret-stdin; it is kept in the keychain.",
            "access_type=offline and prompt=consent get a refresh token; Google refuses the \
             offline_access scope.",
            "Sign-out revokes at Google's revocation endpoint.",
        ],
        build: google,
    },
    Preset {
        id: "github",
        name: "GitHub (OAuth Apps and GitHub Apps)",
        needs: Needs {
            one_of: &[],
            optional: &[Input::BaseUrl],
        },
        usage: "nothing (or --base-url https://HOST for GitHub Enterprise Server)",
        client_type: "OAuth App or GitHub App (enable the device flow for `--flow device`)",
        register_redirect_uri: "http://127.0.0.1/callback",
        needs_client_secret: true,
        notes: &[
            "Not OpenID Connect: explicit endpoints, no ID token (`pixie claims` says so), scope \
             read:user (GitHub Apps ignore scopes).",
            "The client secret is needed to sign in in the browser (--client-secret-stdin); the \
             device flow works without.",
            "Tokens have no expiry unless the app turns on expiring user tokens.",
            "No RFC 7009 revocation: sign-out deletes the token on this machine only.",
        ],
        build: github,
    },
    Preset {
        id: "gitlab",
        name: "GitLab",
        needs: Needs {
            one_of: &[],
            optional: &[Input::BaseUrl],
        },
        usage: "nothing for gitlab.com, or --base-url https://gitlab.example.com (self-managed)",
        client_type: "application with \"Confidential\" unticked (scopes openid, profile, email)",
        register_redirect_uri: "http://127.0.0.1/callback",
        needs_client_secret: false,
        notes: &[
            "Scopes openid profile email: GitLab refuses offline_access and issues refresh \
             tokens anyway. Add API scopes (read_api, …) with --scope.",
        ],
        build: gitlab,
    },
    Preset {
        id: "okta",
        name: "Okta",
        needs: Needs {
            one_of: &[Input::Domain, Input::BaseUrl],
            optional: &[],
        },
        usage: "--domain DOMAIN for the org authorization server, or --base-url \
                https://DOMAIN/oauth2/default for a custom authorization server",
        client_type: "OIDC \"Native Application\" with the Refresh Token grant",
        register_redirect_uri: "http://127.0.0.1:8400/callback",
        needs_client_secret: false,
        notes: &[
            "The org server (https://DOMAIN) signs people in; access tokens for your own APIs \
             come from a custom server (https://DOMAIN/oauth2/default).",
            "A fixed port, registered exactly.",
        ],
        build: okta,
    },
    Preset {
        id: "auth0",
        name: "Auth0",
        needs: Needs {
            one_of: &[Input::Domain],
            optional: &[],
        },
        usage: "--domain TENANT.REGION.auth0.com (or your custom domain)",
        client_type: "\"Native\" application",
        register_redirect_uri: "http://127.0.0.1:8400/callback (Allowed Callback URLs)",
        needs_client_secret: false,
        notes: &[
            "The issuer is https://DOMAIN/ with its trailing slash.",
            "JWT access tokens for an API: --param audience=https://api.example.com (the API \
             must allow offline access for a refresh token).",
            "Refresh-token rotation with reuse detection: Pixie never sends a refresh token \
             twice.",
            "A fixed port, registered exactly.",
        ],
        build: auth0,
    },
    Preset {
        id: "keycloak",
        name: "Keycloak",
        needs: Needs {
            one_of: &[Input::BaseUrl],
            optional: &[],
        },
        usage: "--base-url https://HOST/realms/REALM (the realm's issuer)",
        client_type: "OpenID Connect client with \"Client authentication\" off and PKCE S256",
        register_redirect_uri: "http://127.0.0.1/callback",
        needs_client_secret: false,
        notes: &[
            "Scopes openid profile email: Keycloak issues refresh tokens without \
             offline_access (which would ask for an offline token).",
            "Browser sign-out goes to the realm's end-session endpoint with id_token_hint.",
        ],
        build: keycloak,
    },
    Preset {
        id: "cognito",
        name: "Amazon Cognito",
        needs: Needs {
            one_of: &[Input::BaseUrl],
            optional: &[],
        },
        usage: "--base-url https://cognito-idp.REGION.amazonaws.com/POOL-ID (the user pool's \
                issuer; the pool needs a domain)",
        client_type: "app client without a client secret (public client)",
        register_redirect_uri: "http://localhost:8400/callback",
        needs_client_secret: false,
        notes: &[
            "Scopes openid email profile: Cognito refuses unknown scopes and issues refresh \
             tokens to the code flow anyway.",
            "Cognito allows plain http only for localhost, and matches the port exactly.",
            "Its browser sign-out (/logout with logout_uri) is not OpenID Connect's and is not \
             offered; sign-out revokes the refresh token.",
        ],
        build: cognito,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Profile, Provider};

    fn input(tenant: Option<&str>, domain: Option<&str>, base: Option<&str>) -> PresetInput {
        PresetInput {
            tenant: tenant.map(str::to_owned),
            domain: domain.map(str::to_owned),
            base_url: base.map(str::to_owned),
        }
    }

    /// The preset's record, completed and validated as `pixie profile add` does.
    fn profile(id: &str, i: PresetInput) -> Profile {
        let mut r = find(id).unwrap().record(&i).unwrap();
        r.name = "p".into();
        r.client_id = "client".into();
        Profile::try_from(r).unwrap()
    }

    fn endpoints(p: &Profile) -> (String, String, Option<String>, Option<String>) {
        match &p.provider {
            Provider::Endpoints {
                authorization,
                token,
                device,
                revocation,
                ..
            } => (
                authorization.to_string(),
                token.to_string(),
                device.as_ref().map(Url::to_string),
                revocation.as_ref().map(Url::to_string),
            ),
            Provider::Issuer { issuer } => panic!("issuer {issuer}, not endpoints"),
        }
    }

    #[test]
    fn ids_are_unique_and_every_preset_documents_itself() {
        let mut ids: Vec<_> = all().iter().map(|p| p.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all().len());
        for p in all() {
            assert!(!p.notes.is_empty() && !p.usage.is_empty(), "{}", p.id);
            assert!(!p.client_type.is_empty(), "{}", p.id);
        }
        assert_eq!(find(" GitHub ").unwrap().id, "github");
    }

    #[test]
    fn entra_multi_tenant_values_get_explicit_v2_endpoints() {
        for t in [
            "common",
            "organizations",
            "Consumers",
            "contoso.onmicrosoft.com",
        ] {
            let p = profile("entra", input(Some(t), None, None));
            let t = t.to_ascii_lowercase();
            let base = format!("https://login.microsoftonline.com/{t}/oauth2/v2.0");
            assert_eq!(
                endpoints(&p),
                (
                    format!("{base}/authorize"),
                    format!("{base}/token"),
                    Some(format!("{base}/devicecode")),
                    None
                )
            );
            assert_eq!(p.scopes, ["openid", "offline_access", "profile", "email"]);
            assert_eq!(p.params["prompt"], "select_account");
            assert_eq!(p.redirect.to_string(), "http://localhost/callback");
            assert_eq!(p.redirect.port, 0, "any port");
        }
    }

    #[test]
    fn entra_tenant_id_is_discovered_from_its_issuer() {
        let p = profile(
            "entra",
            input(Some("72F988BF-86F1-41AF-91AB-2D7CD011DB47"), None, None),
        );
        assert_eq!(
            p.issuer(),
            Some("https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0")
        );
        let p = profile(
            "entra",
            input(
                Some("organizations"),
                None,
                Some("https://login.microsoftonline.us/"),
            ),
        );
        assert_eq!(
            endpoints(&p).0,
            "https://login.microsoftonline.us/organizations/oauth2/v2.0/authorize"
        );
    }

    #[test]
    fn google_asks_for_offline_access_its_own_way() {
        let p = profile("google", PresetInput::default());
        assert_eq!(p.issuer(), Some("https://accounts.google.com"));
        assert_eq!(p.scopes, ["openid", "email", "profile"]);
        assert_eq!(p.params["access_type"], "offline");
        assert_eq!(p.params["prompt"], "consent");
        assert!(find("google").unwrap().needs_client_secret);
    }

    #[test]
    fn github_is_plain_oauth_with_a_device_endpoint() {
        let p = profile("github", PresetInput::default());
        assert_eq!(
            endpoints(&p),
            (
                "https://github.com/login/oauth/authorize".into(),
                "https://github.com/login/oauth/access_token".into(),
                Some("https://github.com/login/device/code".into()),
                None
            )
        );
        assert!(!p.wants_openid());
        assert_eq!(p.scopes, ["read:user"]);
        assert_eq!(p.client_auth, crate::profile::ClientAuth::Post);
        let p = profile("github", input(None, None, Some("https://ghe.example.com")));
        assert_eq!(
            endpoints(&p).1,
            "https://ghe.example.com/login/oauth/access_token"
        );
    }

    #[test]
    fn gitlab_keycloak_cognito_and_okta_take_their_issuer() {
        let cases = [
            ("gitlab", input(None, None, None), "https://gitlab.com"),
            (
                "gitlab",
                input(None, None, Some("https://git.example.com/")),
                "https://git.example.com",
            ),
            (
                "keycloak",
                input(None, None, Some("https://sso.example.com/realms/demo")),
                "https://sso.example.com/realms/demo",
            ),
            (
                "cognito",
                input(
                    None,
                    None,
                    Some("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"),
                ),
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
            ),
            (
                "okta",
                input(None, Some("Dev-123456.okta.com"), None),
                "https://dev-123456.okta.com",
            ),
            (
                "okta",
                input(None, None, Some("https://dev-1.okta.com/oauth2/default")),
                "https://dev-1.okta.com/oauth2/default",
            ),
        ];
        for (id, i, want) in cases {
            assert_eq!(profile(id, i).issuer(), Some(want), "{id}");
        }
        let p = profile("gitlab", input(None, None, None));
        assert!(!p.scopes.iter().any(|s| s == "offline_access"));
        let p = profile(
            "cognito",
            input(None, None, Some("https://cognito-idp.x.amazonaws.com/p")),
        );
        assert_eq!(p.redirect.to_string(), "http://localhost:8400/callback");
    }

    #[test]
    fn auth0_keeps_the_trailing_slash_of_its_issuer() {
        let p = profile("auth0", input(None, Some("acme.eu.auth0.com"), None));
        assert_eq!(p.issuer(), Some("https://acme.eu.auth0.com/"));
        assert_eq!(p.redirect.port, 8400);
        assert!(p.scopes.iter().any(|s| s == "offline_access"));
    }

    #[test]
    fn inputs_are_checked() {
        let err = |id: &str, i: PresetInput| find(id).unwrap().record(&i).unwrap_err();
        assert!(matches!(
            err("entra", PresetInput::default()),
            PresetError::Missing { .. }
        ));
        assert!(matches!(
            err(
                "okta",
                input(None, Some("a.okta.com"), Some("https://a.okta.com"))
            ),
            PresetError::NotTaken {
                flag: "--base-url",
                ..
            }
        ));
        assert!(matches!(
            err("google", input(None, Some("a.example"), None)),
            PresetError::NotTaken {
                flag: "--domain",
                ..
            }
        ));
        for bad in [
            "",
            "tenant",
            "72f988bf-86f1-41af-91ab",
            "a..b",
            "-a.b",
            "a b.c",
            "x.\u{1b}[2J",
        ] {
            assert!(
                matches!(
                    err("entra", input(Some(bad), None, None)),
                    PresetError::Tenant(_)
                ),
                "{bad:?}"
            );
        }
        let long = format!("{}.com", "a.".repeat(130));
        for bad in [
            "https://a.okta.com",
            "a.okta.com/oauth2",
            "localhost",
            "a_b.com",
            long.as_str(),
        ] {
            assert!(
                matches!(
                    err("auth0", input(None, Some(bad), None)),
                    PresetError::Domain(_)
                ),
                "{bad:?}"
            );
        }
        let long = format!("https://a.example/{}", "x".repeat(MAX_URL));
        for bad in [
            "http://sso.example.com/realms/a",
            "sso.example.com",
            "https://sso.example.com/realms/a?x=1",
            "https://user:pw@sso.example.com/realms/a",
            "ftp://sso.example.com",
            long.as_str(),
        ] {
            assert!(
                matches!(
                    err("keycloak", input(None, None, Some(bad))),
                    PresetError::BaseUrl { .. }
                ),
                "{bad:?}"
            );
        }
        // Plain http on loopback is a local test server.
        assert!(find("keycloak")
            .unwrap()
            .record(&input(None, None, Some("http://127.0.0.1:8080/realms/t")))
            .is_ok());
    }

    #[test]
    fn messages_never_echo_control_characters() {
        let e = find("entra")
            .unwrap()
            .record(&input(Some("\u{1b}]0;owned\u{7}"), None, None))
            .unwrap_err()
            .to_string();
        assert!(!e.chars().any(crate::text::is_unsafe), "{e:?}");
        let e = find(&format!("x\u{202e}{}", "y".repeat(500)))
            .unwrap_err()
            .to_string();
        assert!(
            !e.chars().any(crate::text::is_unsafe) && e.len() < 200,
            "{e:?}"
        );
    }

    /// The fixtures are copies of the providers' public discovery documents (see
    /// `tests/fixtures/discovery/README.md`). Each preset's issuer must be the one its
    /// provider states, and its explicit endpoints the ones the document lists, and Pixie's own
    /// metadata parser must take the document.
    fn fixture(name: &str) -> crate::discovery::ProviderInfo {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/discovery")
            .join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let m: crate::discovery::OidcMetadata =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let info = crate::discovery::from_oidc(m)
            .and_then(|i| i.check_schemes())
            .unwrap();
        info.check_pkce().unwrap();
        info
    }

    #[test]
    fn issuers_match_the_providers_discovery_documents() {
        let cases = [
            ("google.json", "google", input(None, None, None)),
            ("gitlab.json", "gitlab", input(None, None, None)),
            (
                "entra-tenant.json",
                "entra",
                input(Some("72f988bf-86f1-41af-91ab-2d7cd011db47"), None, None),
            ),
            (
                "okta-org.json",
                "okta",
                input(None, Some("dev-123456.okta.com"), None),
            ),
            (
                "okta-custom.json",
                "okta",
                input(
                    None,
                    None,
                    Some("https://dev-123456.okta.com/oauth2/default"),
                ),
            ),
            (
                "auth0.json",
                "auth0",
                input(None, Some("acme.us.auth0.com"), None),
            ),
            (
                "keycloak.json",
                "keycloak",
                input(None, None, Some("https://sso.example.com/realms/demo")),
            ),
            (
                "cognito.json",
                "cognito",
                input(
                    None,
                    None,
                    Some("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"),
                ),
            ),
        ];
        for (file, id, i) in cases {
            let info = fixture(file);
            let p = profile(id, i);
            assert_eq!(p.issuer(), info.issuer.as_deref(), "{file}");
            // Scopes the provider lists: the preset asks for nothing it would refuse.
            if !info.scopes_supported.is_empty() {
                for s in &p.scopes {
                    assert!(info.scopes_supported.contains(s), "{file}: scope {s}");
                }
            }
        }
        // Google revokes; Entra does not (sign-out says it only deleted locally).
        assert!(fixture("google.json").revocation_endpoint.is_some());
        assert!(fixture("entra-tenant.json").revocation_endpoint.is_none());
    }

    #[test]
    fn entra_endpoints_match_the_common_tenants_document() {
        let info = fixture("entra-common.json");
        // The multi-tenant document's issuer is a template no ID token carries: this is why
        // the preset gives endpoints instead of an issuer.
        assert_eq!(
            info.issuer.as_deref(),
            Some("https://login.microsoftonline.com/{tenantid}/v2.0")
        );
        let p = profile("entra", input(Some("common"), None, None));
        assert_eq!(
            endpoints(&p),
            (
                info.authorization_endpoint.to_string(),
                info.token_endpoint.to_string(),
                info.optional
                    .device_authorization
                    .as_ref()
                    .map(Url::to_string),
                info.revocation_endpoint.as_ref().map(Url::to_string),
            )
        );
    }
}

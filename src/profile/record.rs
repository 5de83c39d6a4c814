//! A profile's serialised form ([`ProfileRecord`]: the profile file and exports) and its
//! validation into a [`Profile`], where every rule about a value lives.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use super::model::{
    parse_endpoint, ClientAuth, ExpectedAccount, Profile, ProfileField, ProfileName, Provider,
    Redirect, SignInFlow, RESERVED_PARAMS,
};
use crate::error::{Error, Result};

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

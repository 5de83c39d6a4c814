//! The Authorization Code flow with PKCE (RFC 7636) through `oauth2`: building the authorization
//! request, exchanging the code, refreshing and revoking, and turning `oauth2`'s errors into
//! messages that never include a response body (its `Parse` variant carries the raw body).

use chrono::{DateTime, Utc};
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::TokenResponse as _;
use oauth2::{
    AuthType, AuthUrl, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, RevocationUrl, Scope, StandardRevocableToken, StandardTokenResponse,
    TokenUrl,
};
use openidconnect::Nonce;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::client_auth::oauth_error_code;
use crate::error::{Error, Result};
use crate::profile::Profile;
use crate::secret::{ExposeSecret, SecretString};

/// The token response's extra field Pixie reads: the raw ID token, kept secret.
#[derive(Clone, Default, Deserialize, Serialize)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl std::fmt::Debug for IdTokenField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTokenField")
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl ExtraTokenFields for IdTokenField {}

pub type TokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;

pub type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointMaybeSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointSet,
>;

pub type TokenError = RequestTokenError<crate::http::HttpError, BasicErrorResponse>;

/// The endpoints and credentials a client needs.
pub struct ClientConfig<'a> {
    pub client_id: &'a str,
    pub client_secret: Option<&'a SecretString>,
    pub authorization_endpoint: Option<&'a Url>,
    pub token_endpoint: &'a Url,
    pub revocation_endpoint: Option<&'a Url>,
    pub redirect_uri: Option<&'a str>,
    /// The provider only takes the client secret in the request body (`client_secret_post`).
    pub secret_in_body: bool,
}

pub fn client(c: ClientConfig<'_>) -> Result<OAuthClient> {
    let bad = |what: &str, e: url::ParseError| Error::invalid(format!("bad {what}: {e}"));
    let mut client = oauth2::Client::new(ClientId::new(c.client_id.to_owned()))
        .set_auth_uri_option(
            c.authorization_endpoint
                .map(|u| AuthUrl::from_url(u.clone())),
        )
        .set_token_uri(TokenUrl::from_url(c.token_endpoint.clone()))
        .set_revocation_url_option(
            c.revocation_endpoint
                .map(|u| RevocationUrl::from_url(u.clone())),
        );
    if let Some(uri) = c.redirect_uri {
        client = client.set_redirect_uri(
            RedirectUrl::new(uri.to_owned()).map_err(|e| bad("redirect URI", e))?,
        );
    }
    if let Some(secret) = c.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()));
        if c.secret_in_body {
            client = client.set_auth_type(AuthType::RequestBody);
        }
    }
    Ok(client)
}

/// One attempt's authorization request. The verifier, state and nonce are fresh per attempt.
pub struct AuthorizationRequest {
    pub url: Url,
    pub nonce: Option<Nonce>,
    pub pkce_verifier: PkceCodeVerifier,
}

impl std::fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .finish_non_exhaustive()
    }
}

/// Generates the state a listener must be bound with before [`authorization_request`].
pub fn new_state() -> CsrfToken {
    CsrfToken::new_random()
}

/// Builds the authorization URL: PKCE S256 always, the profile's scopes and extra parameters,
/// a nonce when an ID token is asked for, and `prompt=consent` with `offline_access` unless the
/// profile sets `prompt` itself (OIDC Core §11: otherwise many providers issue no refresh token).
pub fn authorization_request(
    client: &OAuthClient,
    profile: &Profile,
    state: CsrfToken,
) -> Result<AuthorizationRequest> {
    let (challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = profile.wants_openid().then(Nonce::new_random);
    let mut req = client
        .authorize_url(move || state)
        .map_err(|e| Error::Internal(format!("no authorization endpoint: {e}")))?
        .set_pkce_challenge(challenge);
    for scope in &profile.scopes {
        req = req.add_scope(Scope::new(scope.clone()));
    }
    if let Some(n) = &nonce {
        req = req.add_extra_param("nonce", n.secret().clone());
    }
    for (k, v) in &profile.params {
        req = req.add_extra_param(k.clone(), v.clone());
    }
    // OIDC Core §3.1.2.1: a pinned email is the account to offer (a profile's own wins).
    if let (Some(email), false) = (
        &profile.expected.email,
        profile.params.contains_key("login_hint"),
    ) {
        req = req.add_extra_param("login_hint", email.clone());
    }
    if profile.scopes.iter().any(|s| s == "offline_access")
        && !profile.params.contains_key("prompt")
    {
        req = req.add_extra_param("prompt", "consent");
    }
    let (url, _state) = req.url();
    Ok(AuthorizationRequest {
        url,
        nonce,
        pkce_verifier,
    })
}

/// The token type as it goes in an `Authorization` header.
pub fn token_type_name(response: &TokenResponse) -> String {
    match response.token_type() {
        BasicTokenType::Bearer => "Bearer".into(),
        other => other.as_ref().to_owned(),
    }
}

/// Longest `expires_in` taken at its word; anything longer counts as "no stated expiry".
pub const MAX_EXPIRES_IN: std::time::Duration =
    std::time::Duration::from_secs(10 * 366 * 24 * 3600);

/// When the access token expires, counted from `now` (`None`: the provider did not say, or said
/// something absurd such as `9999999999999`, which must not overflow the date arithmetic).
pub fn expires_at(response: &TokenResponse, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    expires_after(response.expires_in()?, now)
}

fn expires_after(expires_in: std::time::Duration, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if expires_in > MAX_EXPIRES_IN {
        return None;
    }
    now.checked_add_signed(chrono::Duration::from_std(expires_in).ok()?)
}

/// The scopes granted: the provider's `scope`, else (RFC 6749 §5.1) the ones asked for.
pub fn granted_scopes(response: &TokenResponse, asked: &[String]) -> Vec<String> {
    response
        .scopes()
        .map(|s| s.iter().map(|s| s.to_string()).collect())
        .unwrap_or_else(|| asked.to_vec())
}

/// Whether a failed token request may be sent again: only when the connection could not be made,
/// so the provider never saw the request. Anything later (a timeout after sending, an unreadable
/// answer) may mean the provider already used — and rotated out — the refresh token, and sending
/// it again would look like token replay, which makes providers revoke the whole grant.
pub fn is_transient(e: &TokenError) -> bool {
    matches!(e, RequestTokenError::Request(inner) if inner.never_sent())
}

/// Whether the provider cannot have used the token the request carried: the request never
/// reached it, it refused it with a well-formed OAuth error, or it redirected (a token
/// endpoint that processes a grant does not answer with a redirect).
pub fn token_unused(e: &TokenError) -> bool {
    match e {
        RequestTokenError::Request(inner) => {
            inner.never_sent() || matches!(inner, crate::http::HttpError::Redirect { .. })
        }
        // Only the refusals RFC 6749 §5.2 defines for a request the server would not act on;
        // anything else (`server_error`, a gateway's own JSON) may come after a rotation.
        RequestTokenError::ServerResponse(r) => matches!(
            r.error(),
            BasicErrorResponseType::InvalidClient
                | BasicErrorResponseType::InvalidRequest
                | BasicErrorResponseType::UnauthorizedClient
                | BasicErrorResponseType::UnsupportedGrantType
                | BasicErrorResponseType::InvalidScope
        ),
        _ => false,
    }
}

pub fn is_invalid_grant(e: &TokenError) -> bool {
    matches!(e, RequestTokenError::ServerResponse(r) if *r.error() == BasicErrorResponseType::InvalidGrant)
}

/// Maps a token-endpoint failure. `what` names the request ("code exchange", "refresh").
pub fn map_token_error(what: &str, endpoint: &str, e: TokenError) -> Error {
    match e {
        RequestTokenError::ServerResponse(r) => {
            let mut msg = format!("{what} refused: {}", r.error().as_ref());
            if let Some(d) = r.error_description() {
                msg.push_str(&format!(" ({d})"));
            }
            Error::ProviderError(msg)
        }
        RequestTokenError::Request(inner) => {
            Error::ProviderUnreachable(format!("{what} at {endpoint} failed: {inner}"))
        }
        // The body is deliberately dropped: it may hold tokens. Only an `error` code is read
        // from it: GitHub answers refusals with HTTP 200, which `oauth2` takes for a token.
        RequestTokenError::Parse(_, body) if oauth_error_code(&body).is_some() => {
            let code = oauth_error_code(&body).unwrap_or_default();
            Error::ProviderError(format!("{what} refused: {code}"))
        }
        RequestTokenError::Parse(err, _body) => {
            let kind = match err.inner().classify() {
                serde_json::error::Category::Data => {
                    format!("field `{}` is missing or has the wrong type", err.path())
                }
                _ => "it is not JSON".to_owned(),
            };
            Error::ProviderError(format!(
                "{what}: the answer from {endpoint} is not a valid OAuth token response ({kind})"
            ))
        }
        RequestTokenError::Other(msg) => Error::ProviderError(format!(
            "{what}: the answer from {endpoint} is not a valid OAuth token response ({msg})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ProfileRecord;
    use std::collections::HashMap;

    fn profile(scopes: &str, params: &[(&str, &str)]) -> Profile {
        Profile::try_from(ProfileRecord {
            name: "p".into(),
            authorization_endpoint: Some("https://as.example/authorize".into()),
            token_endpoint: Some("https://as.example/token".into()),
            client_id: "cid".into(),
            scopes: vec![scopes.into()],
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        })
        .unwrap()
    }

    fn build(p: &Profile) -> (AuthorizationRequest, HashMap<String, String>, String) {
        let auth = Url::parse("https://as.example/authorize").unwrap();
        let token = Url::parse("https://as.example/token").unwrap();
        let c = client(ClientConfig {
            client_id: "cid",
            client_secret: None,
            authorization_endpoint: Some(&auth),
            token_endpoint: &token,
            revocation_endpoint: None,
            redirect_uri: Some("http://127.0.0.1:5555/callback"),
            secret_in_body: false,
        })
        .unwrap();
        let state = new_state();
        let sent = state.secret().clone();
        let req = authorization_request(&c, p, state).unwrap();
        let q = req.url.query_pairs().into_owned().collect();
        (req, q, sent)
    }

    #[test]
    fn request_has_pkce_s256_state_nonce_and_consent() {
        let (req, q, state) = build(&profile("openid offline_access", &[("audience", "api")]));
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:5555/callback");
        assert_eq!(q["state"], state);
        assert_eq!(&q["nonce"], req.nonce.as_ref().unwrap().secret());
        assert_eq!(q["scope"], "openid offline_access");
        assert_eq!(q["prompt"], "consent");
        assert_eq!(q["audience"], "api");
        // The challenge is the S256 of the verifier.
        use base64::Engine as _;
        use sha2::Digest as _;
        let expect = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(req.pkce_verifier.secret().as_bytes()));
        assert_eq!(q["code_challenge"], expect);
    }

    #[test]
    fn each_attempt_is_fresh() {
        let p = profile("openid", &[]);
        let (_, qa, _) = build(&p);
        let (_, qb, _) = build(&p);
        assert_ne!(qa["state"], qb["state"]);
        assert_ne!(qa["nonce"], qb["nonce"]);
        assert_ne!(qa["code_challenge"], qb["code_challenge"]);
    }

    #[test]
    fn profile_prompt_wins_and_plain_oauth_has_no_nonce() {
        let (_, q, _) = build(&profile("offline_access", &[("prompt", "login")]));
        assert_eq!(q["prompt"], "login");
        assert!(!q.contains_key("nonce"));
        let (_, q, _) = build(&profile("api", &[]));
        assert!(!q.contains_key("prompt"));
    }

    #[test]
    fn parse_errors_never_include_the_body() {
        let body = br#"{"access_token": 42, "refresh_token": "rt-SECRET"}"#.to_vec();
        let err = serde_path_to_error::deserialize::<_, TokenResponse>(
            &mut serde_json::Deserializer::from_slice(&body),
        )
        .unwrap_err();
        let e = map_token_error(
            "refresh",
            "https://as/token",
            RequestTokenError::Parse(err, body),
        );
        let msg = e.to_string();
        assert!(!msg.contains("SECRET"), "{msg}");
        assert!(msg.contains("access_token"), "{msg}");
    }

    #[test]
    fn absurd_lifetimes_mean_no_stated_expiry() {
        let now = Utc::now();
        let secs = std::time::Duration::from_secs;
        assert_eq!(
            expires_after(secs(60), now),
            Some(now + chrono::Duration::seconds(60))
        );
        assert_eq!(expires_after(secs(9_999_999_999_999), now), None);
        assert_eq!(expires_after(secs(u64::MAX), now), None);
        assert_eq!(
            expires_after(MAX_EXPIRES_IN, DateTime::<Utc>::MAX_UTC),
            None
        );
        // And through a real token response, as the provider sends it.
        let body = r#"{"access_token":"a","token_type":"Bearer","expires_in":9999999999999}"#;
        let r: TokenResponse = serde_json::from_str(body).unwrap();
        assert_eq!(expires_at(&r, now), None);
    }

    #[test]
    fn id_token_field_debug_is_redacted() {
        let f = IdTokenField {
            id_token: Some("eyJ-SECRET".into()),
        };
        assert!(!format!("{f:?}").contains("SECRET"));
    }
}

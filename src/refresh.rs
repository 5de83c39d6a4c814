//! Keeping the access token fresh: the cached token while it has more than `min_valid` left,
//! else one refresh — single-flight within the process (an async mutex per profile) and across
//! processes (a lock file under the Pixie home), re-reading the vault after taking the lock, so
//! twenty `pixie token` calls and the desktop app cause one refresh between them.
//!
//! The rotated refresh token is stored before the new access token is handed out; a response
//! without a refresh token keeps the old one (RFC 6749 §6); a failed refresh never touches the
//! stored session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oauth2::TokenResponse as _;

use crate::claims::{self, NonceCheck, VerifyContext};
use crate::error::{Error, Result};
use crate::flow::{self, ClientConfig};
use crate::profile::{Profile, Provider};
use crate::secret::SecretString;
use crate::session::Session;

/// Backoff before the 2nd and 3rd attempt when the provider can't be reached.
pub const RETRY_BACKOFF: [Duration; 2] = [Duration::from_millis(300), Duration::from_millis(1000)];

/// Per-profile async mutexes for in-process single flight.
#[derive(Default)]
pub struct Flights {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Flights {
    pub fn get(&self, profile: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(profile.to_owned()).or_default().clone()
    }
}

/// Refuses a session that was obtained for another provider or client than the profile's now.
pub fn check_matches(profile: &Profile, session: &Session) -> Result<()> {
    let by = &session.issued_by;
    let same_provider = match &profile.provider {
        Provider::Issuer { issuer } => by.issuer.as_deref() == Some(issuer.as_str()),
        Provider::Endpoints { token, .. } => by.token_endpoint == token.as_str(),
    };
    if by.client_id != profile.client_id || !same_provider {
        return Err(Error::sign_in_required(
            profile.name.as_str(),
            "the profile's provider or client changed since sign-in",
        ));
    }
    Ok(())
}

/// Exchanges the session's refresh token for new tokens (with bounded retries) and returns the
/// session to store. Does not store it.
pub async fn refresh_session(
    http: &reqwest::Client,
    profile: &Profile,
    client_secret: Option<&SecretString>,
    session: &Session,
    now: impl Fn() -> chrono::DateTime<chrono::Utc>,
) -> Result<Session> {
    let name = profile.name.as_str();
    let refresh_token = session.refresh_token.as_ref().ok_or_else(|| {
        Error::sign_in_required(
            name,
            "the access token expired and the provider gave no refresh token (ask for the `offline_access` scope to stay signed in)",
        )
    })?;
    let token_endpoint = url::Url::parse(&session.issued_by.token_endpoint)
        .map_err(|e| Error::Internal(format!("stored token endpoint is invalid: {e}")))?;
    let client = flow::client(ClientConfig {
        client_id: &session.issued_by.client_id,
        client_secret,
        authorization_endpoint: None,
        token_endpoint: &token_endpoint,
        revocation_endpoint: None,
        redirect_uri: None,
        secret_in_body: session.issued_by.secret_in_body,
    })?;
    let mut attempt = 0;
    let response = loop {
        let result = client
            .exchange_refresh_token(refresh_token)
            .request_async(http)
            .await;
        match result {
            Ok(r) => {
                tracing::trace!(response = ?r, "refresh response");
                break r;
            }
            Err(e) if flow::is_invalid_grant(&e) => {
                let detail = flow::map_token_error("refresh", token_endpoint.as_str(), e);
                return Err(Error::sign_in_required(
                    name,
                    format!("the provider no longer accepts the stored refresh token ({detail})"),
                ));
            }
            Err(e) if flow::is_transient(&e) && attempt < RETRY_BACKOFF.len() => {
                tracing::debug!(attempt, "refresh failed; retrying");
                tokio::time::sleep(RETRY_BACKOFF[attempt]).await;
                attempt += 1;
            }
            Err(e) => return Err(flow::map_token_error("refresh", token_endpoint.as_str(), e)),
        }
    };
    let at = now();
    let id_token = match &response.extra_fields().id_token {
        Some(jwt) => {
            let original = session.id_token.as_ref();
            let original_nonce = original.and_then(|r| r.claims.get("nonce")?.as_str());
            let checked = claims::check_id_token(
                http,
                SecretString::from(jwt.clone()),
                VerifyContext {
                    issuer: session.issued_by.issuer.as_deref(),
                    client_id: &session.issued_by.client_id,
                    client_secret,
                    jwks_uri: session
                        .issued_by
                        .jwks_uri
                        .as_deref()
                        .and_then(|u| url::Url::parse(u).ok())
                        .as_ref(),
                    jwks: None,
                    nonce: NonceCheck::IfPresent(original_nonce),
                    expected_subject: session.subject(),
                    algs: &session.issued_by.id_token_algs,
                    now: at,
                },
            )
            .await;
            match checked.rejected {
                // The refresh already rotated the tokens, so they are stored; but a new ID token
                // that fails its checks (another subject, a bad signature) must not replace the
                // identity established at sign-in.
                Some(reason) => {
                    tracing::warn!(%reason, "ID token from the refresh failed its checks; keeping the sign-in's");
                    session.id_token.clone()
                }
                None => Some(checked.record),
            }
        }
        None => session.id_token.clone(),
    };
    let rotated = response.refresh_token().is_some();
    tracing::debug!(profile = name, rotated, "refreshed");
    Ok(Session {
        access_token: response.access_token().clone(),
        token_type: crate::engine::token_type_name(response.token_type()),
        expires_at: response
            .expires_in()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| at + d),
        refresh_token: response
            .refresh_token()
            .cloned()
            .or_else(|| session.refresh_token.clone()),
        scopes: response
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect())
            .unwrap_or_else(|| session.scopes.clone()),
        id_token,
        issued_by: session.issued_by.clone(),
        signed_in_at: session.signed_in_at,
        refreshed_at: Some(at),
    })
}

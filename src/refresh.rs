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

/// What a failed refresh did to the refresh token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenFate {
    /// The provider never took it (no connection, or it answered with an OAuth error other
    /// than `invalid_grant`): it may be sent again.
    Unused,
    /// The provider refused it (`invalid_grant`): it is dead.
    Refused,
    /// The provider may have used and rotated it, but its answer was lost (a timeout, a
    /// gateway's error page, an unreadable or oversized answer): it must never be sent again.
    Unknown,
}

/// A failed refresh: the error for the person, and the token's fate for the ledger.
#[derive(Debug)]
pub struct RefreshFailed {
    pub error: Error,
    pub fate: TokenFate,
}

impl RefreshFailed {
    fn unused(error: Error) -> Self {
        Self {
            error,
            fate: TokenFate::Unused,
        }
    }
}

/// Exchanges the session's refresh token for new tokens (with bounded retries) and returns the
/// session to store. Does not store it.
pub async fn refresh_session(
    http: &crate::http::Http,
    profile: &Profile,
    client_secret: Option<&SecretString>,
    session: &Session,
    now: impl Fn() -> chrono::DateTime<chrono::Utc>,
) -> std::result::Result<Session, RefreshFailed> {
    let name = profile.name.as_str();
    let refresh_token = session.refresh_token.as_ref().ok_or_else(|| {
        RefreshFailed::unused(Error::sign_in_required(
            name,
            "the access token expired and the provider gave no refresh token (ask for the `offline_access` scope to stay signed in)",
        ))
    })?;
    let token_endpoint = url::Url::parse(&session.issued_by.token_endpoint).map_err(|e| {
        RefreshFailed::unused(Error::Internal(format!(
            "stored token endpoint is invalid: {e}"
        )))
    })?;
    let client = flow::client(ClientConfig {
        client_id: &session.issued_by.client_id,
        client_secret,
        authorization_endpoint: None,
        token_endpoint: &token_endpoint,
        revocation_endpoint: None,
        redirect_uri: None,
        secret_in_body: session.issued_by.secret_in_body,
    })
    .map_err(RefreshFailed::unused)?;
    let mut attempt = 0;
    let response = loop {
        let result = client
            .exchange_refresh_token(refresh_token)
            .request_async(&http.oauth(crate::http::TOKEN_CAP))
            .await;
        match result {
            Ok(r) => {
                tracing::trace!(response = ?r, "refresh response");
                break r;
            }
            Err(e) if flow::is_invalid_grant(&e) => {
                let detail = flow::map_token_error("refresh", token_endpoint.as_str(), e);
                return Err(RefreshFailed {
                    error: Error::sign_in_required(
                        name,
                        format!(
                            "the provider no longer accepts the stored refresh token ({detail})"
                        ),
                    ),
                    fate: TokenFate::Refused,
                });
            }
            Err(e) if flow::is_transient(&e) && attempt < RETRY_BACKOFF.len() => {
                tracing::debug!(attempt, "refresh failed; retrying");
                tokio::time::sleep(RETRY_BACKOFF[attempt]).await;
                attempt += 1;
            }
            Err(e) => {
                let fate = if flow::token_unused(&e) {
                    TokenFate::Unused
                } else {
                    TokenFate::Unknown
                };
                return Err(RefreshFailed {
                    error: flow::map_token_error("refresh", token_endpoint.as_str(), e),
                    fate,
                });
            }
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
            let was_verified = original.is_some_and(|r| r.verification.is_verified());
            match checked.rejected {
                // The refresh already rotated the tokens, so they are stored; but a new ID token
                // that fails its checks (another subject, a bad signature) must not replace the
                // identity established at sign-in.
                Some(reason) => {
                    tracing::warn!(%reason, "ID token from the refresh failed its checks; keeping the sign-in's");
                    session.id_token.clone()
                }
                // Nor may one that could not be checked replace one that was.
                None if was_verified && !checked.record.verification.is_verified() => {
                    tracing::warn!(
                        "ID token from the refresh could not be verified; keeping the verified one"
                    );
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
        token_type: flow::token_type_name(&response),
        expires_at: flow::expires_at(&response, at),
        refresh_token: response
            .refresh_token()
            .cloned()
            .or_else(|| session.refresh_token.clone()),
        scopes: flow::granted_scopes(&response, &session.scopes),
        id_token,
        issued_by: session.issued_by.clone(),
        signed_in_at: session.signed_in_at,
        refreshed_at: Some(at),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::claims::test_keys::{jwks, signed_token, ISSUER};
    use crate::profile::ProfileRecord;
    use crate::secret::ExposeSecret;
    use crate::session::{IdTokenRecord, IssuedBy, Verification};

    /// A fake token endpoint (unit tests only) answering every request with `reply`, and a JWKS.
    async fn provider(
        reply: impl Fn() -> (u16, String) + Send + Sync + 'static,
    ) -> (String, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let reply = Arc::new(reply);
        let keys = serde_json::to_string(&jwks("k1")).unwrap();
        let app = axum::Router::new()
            .route(
                "/token",
                axum::routing::post(move || {
                    h.fetch_add(1, Ordering::SeqCst);
                    let (status, body) = reply();
                    async move {
                        (
                            axum::http::StatusCode::from_u16(status).unwrap(),
                            [("content-type", "application/json")],
                            body,
                        )
                    }
                }),
            )
            .route(
                "/jwks",
                axum::routing::get(move || {
                    let keys = keys.clone();
                    async move { ([("content-type", "application/json")], keys) }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, hits)
    }

    fn profile() -> Profile {
        Profile::try_from(ProfileRecord {
            name: "p".into(),
            issuer: Some(ISSUER.into()),
            client_id: "pixie".into(),
            ..Default::default()
        })
        .unwrap()
    }

    fn session(base: &str) -> Session {
        let now = chrono::Utc::now();
        Session {
            access_token: oauth2::AccessToken::new("old-at".into()),
            token_type: "Bearer".into(),
            expires_at: Some(now),
            refresh_token: Some(oauth2::RefreshToken::new("old-rt".into())),
            scopes: vec!["openid".into()],
            id_token: Some(IdTokenRecord {
                jwt: SecretString::from("x.y.z"),
                claims: serde_json::json!({"sub": "alice", "nonce": "n-1"}),
                verification: Verification::Verified { checked_at: now },
            }),
            issued_by: IssuedBy {
                client_id: "pixie".into(),
                issuer: Some(ISSUER.into()),
                token_endpoint: format!("{base}/token"),
                revocation_endpoint: None,
                jwks_uri: Some(format!("{base}/jwks")),
                used_secret: false,
                secret_in_body: false,
                id_token_algs: vec!["RS256".into()],
            },
            signed_in_at: now,
            refreshed_at: None,
        }
    }

    fn ok_body(refresh_token: Option<&str>, id_token: Option<SecretString>) -> String {
        let mut v = serde_json::json!({"access_token": "new-at", "token_type": "Bearer", "expires_in": 300});
        if let Some(rt) = refresh_token {
            v["refresh_token"] = rt.into();
        }
        if let Some(t) = id_token {
            v["id_token"] = t.expose_secret().into();
        }
        v.to_string()
    }

    async fn refresh(base: &str) -> std::result::Result<Session, RefreshFailed> {
        let http = crate::http::Http::new().unwrap();
        refresh_session(&http, &profile(), None, &session(base), chrono::Utc::now).await
    }

    #[tokio::test]
    async fn a_response_without_a_refresh_token_keeps_the_old_one() {
        let (base, _) = provider(|| (200, ok_body(None, None))).await;
        let s = refresh(&base).await.unwrap();
        assert_eq!(s.access_token.secret(), "new-at");
        assert_eq!(s.refresh_token.unwrap().secret(), "old-rt");
        assert!(s.refreshed_at.is_some());
    }

    #[tokio::test]
    async fn a_rotated_refresh_token_replaces_the_old_one() {
        let (base, _) = provider(|| (200, ok_body(Some("new-rt"), None))).await;
        assert_eq!(
            refresh(&base)
                .await
                .unwrap()
                .refresh_token
                .unwrap()
                .secret(),
            "new-rt"
        );
    }

    #[tokio::test]
    async fn a_refreshed_id_token_for_another_subject_does_not_replace_the_identity() {
        let (base, _) = provider(|| {
            let t = signed_token("k1", "pixie", "mallory", 300, None);
            (200, ok_body(Some("new-rt"), Some(t)))
        })
        .await;
        let s = refresh(&base).await.unwrap();
        assert_eq!(
            s.refresh_token.as_ref().unwrap().secret(),
            "new-rt",
            "tokens are stored"
        );
        assert_eq!(s.subject(), Some("alice"));
        // The same subject is accepted and verified.
        let (base, _) = provider(|| {
            let t = signed_token("k1", "pixie", "alice", 300, None);
            (200, ok_body(None, Some(t)))
        })
        .await;
        let s = refresh(&base).await.unwrap();
        assert!(s.id_token.unwrap().verification.is_verified());
    }

    #[tokio::test]
    async fn an_unverifiable_refreshed_id_token_never_replaces_a_verified_one() {
        // Signed by a key the provider does not publish, for another subject: refused on the
        // claims alone. Then one for the same subject that cannot be checked (no issuer).
        let (base, _) = provider(|| {
            let t = signed_token("other-key", "pixie", "mallory", 300, None);
            (200, ok_body(Some("new-rt"), Some(t)))
        })
        .await;
        let mut s = session(&base);
        s.issued_by.jwks_uri = None;
        let http = crate::http::Http::new().unwrap();
        let got = refresh_session(&http, &profile(), None, &s, chrono::Utc::now)
            .await
            .unwrap();
        assert_eq!(got.subject(), Some("alice"));
        assert_eq!(got.refresh_token.unwrap().secret(), "new-rt");
        let (base, _) = provider(|| {
            let t = signed_token("k1", "pixie", "alice", 300, None);
            (200, ok_body(None, Some(t)))
        })
        .await;
        let mut s = session(&base);
        s.issued_by.issuer = None;
        let got = refresh_session(&http, &profile(), None, &s, chrono::Utc::now)
            .await
            .unwrap();
        let kept = got.id_token.unwrap();
        assert_eq!(kept.jwt.expose_secret(), "x.y.z", "the verified one stays");
        assert!(kept.verification.is_verified());
    }

    #[tokio::test]
    async fn invalid_grant_means_sign_in_required() {
        let (base, _) = provider(|| (400, r#"{"error":"invalid_grant"}"#.into())).await;
        let err = refresh(&base).await.unwrap_err();
        assert!(
            matches!(err.error, Error::SignInRequired { .. }),
            "{:?}",
            err.error
        );
        assert_eq!(err.fate, TokenFate::Refused);
    }

    #[tokio::test]
    async fn an_oauth_refusal_leaves_the_token_usable() {
        let (base, _) = provider(|| (400, r#"{"error":"invalid_client"}"#.into())).await;
        assert_eq!(refresh(&base).await.unwrap_err().fate, TokenFate::Unused);
    }

    #[tokio::test]
    async fn a_server_error_in_oauth_form_may_come_after_a_rotation() {
        for body in [
            r#"{"error":"server_error"}"#,
            r#"{"error":"gateway_timeout"}"#,
            r#"{"error":"temporarily_unavailable"}"#,
        ] {
            let (base, _) = provider(move || (503, body.into())).await;
            assert_eq!(
                refresh(&base).await.unwrap_err().fate,
                TokenFate::Unknown,
                "{body}"
            );
        }
    }

    #[tokio::test]
    async fn an_unreadable_answer_is_not_retried() {
        let (base, hits) = provider(|| (502, "<html>bad gateway</html>".into())).await;
        let err = refresh(&base).await.unwrap_err();
        assert!(
            matches!(err.error, Error::ProviderError(_)),
            "{:?}",
            err.error
        );
        assert_eq!(err.fate, TokenFate::Unknown, "the token may be used up");
        assert_eq!(
            hits.load(Ordering::SeqCst),
            1,
            "sent once: the token may be used up"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_retried_then_reported_unreachable() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let started = std::time::Instant::now();
        let err = refresh(&base).await.unwrap_err();
        assert!(
            matches!(err.error, Error::ProviderUnreachable(_)),
            "{:?}",
            err.error
        );
        assert_eq!(err.fate, TokenFate::Unused, "never reached the provider");
        let backoff: std::time::Duration = RETRY_BACKOFF.iter().sum();
        assert!(started.elapsed() >= backoff, "retried with backoff");
    }
}

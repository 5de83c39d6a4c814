//! `reject_access_token`: a server refused the access token Pixie handed out (git's `erase`
//! after a 401, say), so the next [`Engine::token`] must not hand it out again but refresh.
//!
//! This is not a sign-out: the session and its refresh token stay. The stored session's
//! access token is only marked as expired, which every freshness check already understands
//! (`Session::is_fresh`), so no new session field and no keychain format change is needed.

use super::Engine;
use crate::error::Result;

impl Engine {
    /// Marks `name`'s access token as expired if it is still `token`, under the profile's
    /// session lock: the next [`Engine::token`] refreshes rather than handing it out again.
    /// The refresh token and the rest of the session are kept (this is not a sign-out).
    ///
    /// Returns whether a token was marked: `false` when the profile is not signed in, or when
    /// its access token is no longer `token` (someone refreshed or signed in meanwhile, so the
    /// rejection concerns a token that is already gone).
    pub async fn reject_access_token(&self, name: &str, token: &str) -> Result<bool> {
        let profile = self.profiles.get(name)?;
        let _lock = self.lock_session(&profile.name).await?;
        // A second in the past: expired even for a `min_valid` of zero.
        let expired = self.clock.now() - chrono::Duration::seconds(1);
        let mut marked = false;
        // A refreshed session the keychain refused is served from memory first: mark it too.
        if let Some(unsaved) = self.unsaved().get_mut(&profile.name) {
            if unsaved.session.access_token.secret() == token {
                unsaved.session.expires_at = Some(expired);
                marked = true;
            }
        }
        let (stored, pending) = self.session_for_update(&profile.name).await?;
        if let Some(mut session) = stored.filter(|s| s.access_token.secret() == token) {
            session.expires_at = Some(expired);
            self.commit_session(&profile.name, pending, session).await?;
            marked = true;
        }
        tracing::debug!(profile = name, marked, "access token rejected by a server");
        Ok(marked)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::engine::test_support::{engine, profile_at};
    use crate::engine::Engine;
    use crate::profile::ProfileName;
    use crate::vault::MemoryStore;

    /// A token endpoint that answers every refresh with `at-new` and keeps the refresh token.
    async fn provider() -> String {
        let app = axum::Router::new().route(
            "/token",
            axum::routing::post(|| async {
                let json = serde_json::json!({
                    "access_token": "at-new",
                    "token_type": "Bearer",
                    "expires_in": 300,
                });
                ([("content-type", "application/json")], json.to_string())
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }

    async fn signed_in(dir: &tempfile::TempDir, base: &str) -> Engine {
        let engine = engine(dir, &Arc::new(MemoryStore::default()));
        let profile = profile_at(base);
        engine.add_profile(profile.clone(), None).await.unwrap();
        let mut session = crate::session::tests_support::sample();
        session.access_token = oauth2::AccessToken::new("at-old".into());
        session.id_token = None;
        session.issued_by.issuer = None;
        session.issued_by.token_endpoint = format!("{base}/token");
        engine.vault.store_session(&profile.name, &session).unwrap();
        engine
    }

    #[tokio::test]
    async fn a_rejected_token_is_refreshed_next_time_and_the_session_stays() {
        let base = provider().await;
        let dir = tempfile::tempdir().unwrap();
        let engine = signed_in(&dir, &base).await;
        let min = Duration::from_secs(60);
        assert_eq!(
            engine.token("p", min).await.unwrap().access_token.secret(),
            "at-old"
        );

        assert!(engine.reject_access_token("p", "at-old").await.unwrap());
        let name = ProfileName::new("p").unwrap();
        let stored = engine
            .vault
            .session(&name)
            .unwrap()
            .expect("still signed in");
        assert!(stored.refresh_token.is_some(), "not a sign-out");

        let t = engine.token("p", min).await.unwrap();
        assert_eq!(t.access_token.secret(), "at-new");
        assert!(t.refreshed);
    }

    #[tokio::test]
    async fn rejecting_a_token_that_is_already_replaced_changes_nothing() {
        let base = provider().await;
        let dir = tempfile::tempdir().unwrap();
        let engine = signed_in(&dir, &base).await;
        assert!(!engine.reject_access_token("p", "at-older").await.unwrap());
        let t = engine.token("p", Duration::from_secs(60)).await.unwrap();
        assert_eq!(t.access_token.secret(), "at-old");
        assert!(!t.refreshed);
    }
}

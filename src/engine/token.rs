//! `token`: a fresh access token — the cached one while it has enough life left, else one
//! refresh, single-flight within and across processes — and the refresh-token rule: once the
//! provider may have received a refresh token, no process sends it again (see
//! [`crate::ledger`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use oauth2::AccessToken;

use super::{blocking, not_signed_in, Engine};
use crate::error::{Error, Result};
use crate::ledger::Fate;
use crate::profile::{Profile, ProfileName};
use crate::refresh::{self, TokenFate};
use crate::session::Session;

/// A fresh access token, ready to hand out.
#[derive(Debug)]
pub struct FreshToken {
    /// The access token itself: a redacting secret type, read with `.secret()`.
    pub access_token: AccessToken,
    /// The token type the provider gave (usually `Bearer`).
    pub token_type: String,
    /// When the access token expires; `None` when the provider did not say.
    pub expires_at: Option<DateTime<Utc>>,
    /// The scopes granted.
    pub scopes: Vec<String>,
    /// Whether this call refreshed the token (rather than handing out the one it found).
    pub refreshed: bool,
    /// Handed out, but the person has something to know (a front shows it beside the token).
    pub warning: Option<TokenWarning>,
}

/// Why a token that was handed out still needs the person's attention.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
pub enum TokenWarning {
    /// The refresh token may not be sent again; this access token stays valid until it
    /// expires, and then only a sign-in helps.
    RefreshBlocked {
        /// Why the refresh token may not be sent again.
        reason: String,
    },
    /// The provider issued new tokens but the keychain would not store them: they live in this
    /// process only (retried on each use). With `refresh_token_lost`, the provider retired the
    /// stored refresh token, so once this process ends a sign-in is needed.
    NotStored {
        /// Why the keychain refused the write.
        reason: String,
        /// Whether the refresh token the keychain still holds was retired by the provider.
        refresh_token_lost: bool,
    },
}

/// What [`Engine::cached_token`] found.
#[derive(Debug)]
pub enum Cached {
    /// The held access token has enough life left.
    Fresh(FreshToken),
    /// The access token is due: [`Engine::refresh_due`] refreshes it.
    Due(TokenDue),
}

/// A signed-in profile whose access token is due, as [`Engine::cached_token`] found it.
#[derive(Debug)]
pub struct TokenDue {
    name: String,
    profile: Box<Profile>,
    min_valid: Duration,
}

/// A refreshed session the keychain refused, held until a write succeeds.
pub(super) struct Unsaved {
    pub session: Session,
    pub warning: TokenWarning,
    /// The refresh token the keychain held when this session was refreshed from it: the write
    /// is only offered again while the keychain still holds that one (or this one).
    pub parent: Option<oauth2::RefreshToken>,
}

fn fresh(session: Session, refreshed: bool, warning: Option<TokenWarning>) -> FreshToken {
    FreshToken {
        access_token: session.access_token,
        token_type: session.token_type,
        expires_at: session.expires_at,
        scopes: session.scopes,
        refreshed,
        warning,
    }
}

impl Engine {
    /// A fresh access token: the cached one while it has more than `min_valid` left (at most
    /// half its lifetime), else one obtained by refreshing (single-flight within and across
    /// processes). A session whose refresh token may not be sent again still hands out its
    /// access token until that expires, with a warning.
    pub async fn token(&self, name: &str, min_valid: Duration) -> Result<FreshToken> {
        let (profile, session) = self.signed_in(name).await?;
        match self.fresh_or_due(name, profile, session, min_valid)? {
            Cached::Fresh(token) => Ok(token),
            Cached::Due(due) => self.refresh_due(due).await,
        }
    }

    /// [`Engine::token`]'s first step without an async runtime: the held access token while it
    /// is fresh, else what [`Engine::refresh_due`] needs to refresh it. The keychain is read on
    /// the calling thread, which suits a one-shot front such as the CLI: a cached token costs
    /// no runtime and no thread. A long-running front calls [`Engine::token`], which also serves
    /// sessions it keeps in memory. It blocks for as long as the keychain takes (up to its
    /// time limit), so it must not be called on an async runtime's thread.
    pub fn cached_token(&self, name: &str, min_valid: Duration) -> Result<Cached> {
        let profile = self.profiles.get(name)?;
        let session = match self.unsaved_session(&profile.name) {
            Some(s) => Some(s),
            None => self.vault.session(&profile.name)?,
        }
        .ok_or_else(|| not_signed_in(name))?;
        self.fresh_or_due(name, profile, session, min_valid)
    }

    fn fresh_or_due(
        &self,
        name: &str,
        profile: Profile,
        session: Session,
        min_valid: Duration,
    ) -> Result<Cached> {
        refresh::check_matches(&profile, &session)?;
        if session.is_fresh(self.clock.now(), min_valid) {
            tracing::trace!(profile = name, "cached access token is fresh");
            let warning = self.unsaved_warning(&profile.name);
            return Ok(Cached::Fresh(fresh(session, false, warning)));
        }
        Ok(Cached::Due(TokenDue {
            name: name.to_owned(),
            profile: Box::new(profile),
            min_valid,
        }))
    }

    /// A fresh access token for a session [`Engine::cached_token`] found due: one refresh,
    /// single-flight within and across processes, as [`Engine::token`] does it.
    pub async fn refresh_due(&self, due: TokenDue) -> Result<FreshToken> {
        let TokenDue {
            name,
            profile,
            min_valid,
        } = due;
        let (name, profile) = (name.as_str(), *profile);
        tracing::debug!(
            profile = name,
            "access token due; waiting for the refresh lock"
        );
        let flight = self.flights.get(name);
        let _in_process = flight.lock().await;
        // A burst of callers (the broker's) waits here while one refreshes: with sessions kept
        // in memory, the refreshed copy answers the rest without the keychain or the file lock.
        if self.keeps_sessions() {
            if let Ok((_, kept)) = self.signed_in(name).await {
                if refresh::check_matches(&profile, &kept).is_ok()
                    && kept.is_fresh(self.clock.now(), min_valid)
                {
                    let warning = self.unsaved_warning(&profile.name);
                    return Ok(fresh(kept, false, warning));
                }
            }
        }
        let _cross_process = self.lock_session(&profile.name).await?;
        // The profile as it is now: an edit may have pointed it elsewhere (with a new secret)
        // while we waited, and that secret must not go to the old provider.
        let profile = self.profiles.get(name)?;
        self.store_unsaved_locked(&profile.name).await;
        // Someone else may have refreshed while we waited.
        let (session, pending) = match self.unsaved_session(&profile.name) {
            Some(s) => (s, None),
            None => {
                let (s, pending) = self.session_for_update(&profile.name).await?;
                (s.ok_or_else(|| not_signed_in(name))?, Some(pending))
            }
        };
        refresh::check_matches(&profile, &session)?;
        let now = self.clock.now();
        if session.is_fresh(now, min_valid) {
            let warning = self.unsaved_warning(&profile.name);
            return Ok(fresh(session, false, warning));
        }
        // Everything that can fail without the network comes before the write-ahead mark.
        let http = &self.http(&profile)?;
        let secret = self.client_secret(&profile).await?;
        let ledger = self.ledger(&profile.name);
        if let Some(rt) = &session.refresh_token {
            let unrecordable = |e: Error| Error::RefreshRecord {
                path: ledger.path().to_owned(),
                reason: match e {
                    Error::FileIo { source, .. } => source.to_string(),
                    other => other.to_string(),
                },
            };
            if let Some(spent) = ledger.spent(rt, || false).map_err(unrecordable)? {
                return still_valid(name, session, now, spent.reason);
            }
            // Write-ahead: from here on, whatever happens to this process, the token is not
            // sent twice.
            let sending = Fate::Sending {
                pid: std::process::id(),
            };
            ledger.record(rt, sending, now).map_err(unrecordable)?;
        }
        let clock = self.clock.clone();
        let renewed =
            refresh::refresh_session(http, &profile, secret.as_ref(), &session, move || {
                clock.now()
            })
            .await;
        let renewed = match renewed {
            Ok(r) => r,
            Err(failed) => return Err(self.refresh_failed(&profile.name, &session, failed)),
        };
        let rotated = renewed.refresh_token.as_ref().map(|t| t.secret())
            != session.refresh_token.as_ref().map(|t| t.secret());
        let stored = match pending {
            Some(p) => self.commit_session(&profile.name, p, renewed.clone()).await,
            None => self.store_session_locked(&profile.name, &renewed).await,
        };
        match stored {
            Ok(()) => {
                self.forget_unsaved(&profile.name);
                match session.refresh_token.as_ref().filter(|_| rotated) {
                    // Not forgotten: an out-of-date keychain could serve it again.
                    Some(rt) => {
                        if let Err(e) = ledger.retire(rt, now) {
                            tracing::warn!(error = %e, "could not retire the refresh token");
                        }
                    }
                    None => self.settle(&profile.name, &session, "the answer was stored"),
                }
                Ok(fresh(renewed, true, None))
            }
            Err(e) => {
                tracing::warn!(profile = name, error = %e, rotated, "keychain refused the refreshed session; keeping it in memory");
                if let Some(rt) = session.refresh_token.as_ref().filter(|_| rotated) {
                    let reason = format!(
                        "the provider rotated the refresh token, but the keychain would not store the new one ({e})"
                    );
                    if let Err(e) = ledger.record(rt, Fate::Unknown { reason }, now) {
                        // The `sending` mark stays, which blocks the token just the same.
                        tracing::warn!(error = %e, "could not update the refresh record");
                    }
                } else {
                    self.settle(
                        &profile.name,
                        &session,
                        "the provider kept the refresh token",
                    );
                }
                let warning = TokenWarning::NotStored {
                    reason: e.to_string(),
                    refresh_token_lost: rotated,
                };
                if let Some(rt) = renewed.refresh_token.as_ref().filter(|_| rotated) {
                    // Only this process may send the new token; a late keychain write must not
                    // let another one use it too.
                    let held = Fate::Unstored {
                        pid: std::process::id(),
                    };
                    if let Err(e) = ledger.record(rt, held, now) {
                        tracing::warn!(error = %e, "could not record the token kept in memory");
                    }
                }
                let parent = self
                    .unsaved_parent(&profile.name)
                    .or_else(|| session.refresh_token.clone());
                self.keep_unsaved(&profile.name, renewed.clone(), warning.clone(), parent);
                Ok(fresh(renewed, true, Some(warning)))
            }
        }
    }

    /// Records what a failed refresh did to the token and words the error.
    fn refresh_failed(
        &self,
        name: &ProfileName,
        session: &Session,
        failed: refresh::RefreshFailed,
    ) -> Error {
        let Some(rt) = &session.refresh_token else {
            return failed.error;
        };
        let (fate, reason) = match failed.fate {
            TokenFate::Unused => {
                self.settle(name, session, "the provider did not take the refresh token");
                return failed.error;
            }
            TokenFate::Refused => {
                let reason = failed.error.detail();
                (
                    Fate::Refused {
                        reason: reason.clone(),
                    },
                    reason,
                )
            }
            TokenFate::Unknown => {
                let reason = format!(
                    "the provider may have rotated the refresh token, but its answer was lost ({}); it is not sent again",
                    failed.error
                );
                (
                    Fate::Unknown {
                        reason: reason.clone(),
                    },
                    reason,
                )
            }
        };
        if let Err(e) = self.ledger(name).record(rt, fate, self.clock.now()) {
            // The `sending` mark stays, which blocks the token just the same.
            tracing::warn!(error = %e, "could not update the refresh record");
        }
        Error::sign_in_required(name.as_str(), reason)
    }

    /// Clears the session's `sending` mark: its token may be sent again.
    fn settle(&self, name: &ProfileName, session: &Session, why: &str) {
        let Some(rt) = &session.refresh_token else {
            return;
        };
        if let Err(e) = self.ledger(name).settle(rt) {
            tracing::warn!(error = %e, why, "could not clear the refresh record");
        }
    }
}

/// Sessions the keychain refused, held in memory (see `Unsaved`).
impl Engine {
    pub(super) fn unsaved(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<ProfileName, Unsaved>> {
        self.unsaved.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn unsaved_session(&self, name: &ProfileName) -> Option<Session> {
        self.unsaved().get(name).map(|u| u.session.clone())
    }

    pub(super) fn unsaved_warning(&self, name: &ProfileName) -> Option<TokenWarning> {
        self.unsaved().get(name).map(|u| u.warning.clone())
    }

    pub(super) fn keep_unsaved(
        &self,
        name: &ProfileName,
        session: Session,
        warning: TokenWarning,
        parent: Option<oauth2::RefreshToken>,
    ) {
        let unsaved = Unsaved {
            session,
            warning,
            parent,
        };
        self.unsaved().insert(name.clone(), unsaved);
    }

    /// The keychain's refresh token that a session held in memory descends from.
    pub(super) fn unsaved_parent(&self, name: &ProfileName) -> Option<oauth2::RefreshToken> {
        self.unsaved().get(name).and_then(|u| u.parent.clone())
    }

    pub(super) fn forget_unsaved(&self, name: &ProfileName) {
        self.unsaved().remove(name);
    }

    /// Writes a session with the profile's lock held (read the head, then write).
    pub(super) async fn store_session_locked(
        &self,
        name: &ProfileName,
        session: &Session,
    ) -> Result<()> {
        let (vault, n) = (self.vault.clone(), name.clone());
        let pending = blocking(move || vault.prepare_session_write(&n)).await?;
        self.commit_session(name, pending, session.clone()).await
    }

    /// Tries again to store a session the keychain refused; the caller holds the lock. Only
    /// while the keychain still holds the token it was refreshed from (or this one, from a
    /// write that landed late): if another process signed in or out meanwhile, the session in
    /// memory is dropped rather than written over theirs, and its token is never sent.
    pub(super) async fn store_unsaved_locked(&self, name: &ProfileName) {
        let Some(session) = self.unsaved_session(name) else {
            return;
        };
        let parent = self.unsaved_parent(name);
        let (vault, n) = (self.vault.clone(), name.clone());
        let (stored, pending) = match blocking(move || vault.session_for_update(&n)).await {
            Ok(read) => read,
            Err(e) => {
                tracing::debug!(profile = %name, error = %e, "the keychain still refuses");
                return;
            }
        };
        let secret = |t: &Option<oauth2::RefreshToken>| t.as_ref().map(|t| t.secret().clone());
        let held = stored.as_ref().and_then(|s| secret(&s.refresh_token));
        let ours =
            held.is_some() && (held == secret(&parent) || held == secret(&session.refresh_token));
        if !ours {
            tracing::info!(profile = %name, "the keychain holds another session now; dropping the one kept in memory");
            self.forget_unsaved(name);
            return;
        }
        match self.commit_session(name, pending, session.clone()).await {
            Ok(()) => {
                tracing::info!(profile = %name, "the keychain took the session kept in memory");
                self.forget_unsaved(name);
                if let Some(rt) = &session.refresh_token {
                    if let Err(e) = self.ledger(name).settle(rt) {
                        tracing::warn!(error = %e, "could not clear the refresh record");
                    }
                }
            }
            Err(e) => tracing::debug!(profile = %name, error = %e, "the keychain still refuses"),
        }
    }

    /// Drops what is kept about a session that is gone or replaced (a sign-out, a new sign-in).
    pub(super) fn forget_session_records(&self, name: &ProfileName) {
        self.forget_unsaved(name);
        if let Err(e) = self.ledger(name).clear() {
            tracing::warn!(profile = %name, error = %e, "could not remove the refresh record");
        }
    }

    /// Tries again to store every refreshed session the keychain refused (a long-running front
    /// calls this now and then).
    pub async fn retry_unsaved(&self) {
        let names: Vec<ProfileName> = self.unsaved().keys().cloned().collect();
        for name in names {
            if let Ok(_guard) = self.lock_session(&name).await {
                self.store_unsaved_locked(&name).await;
            }
        }
    }
}

/// A session whose refresh token may not be sent again: its access token while it lasts.
fn still_valid(
    name: &str,
    session: Session,
    now: DateTime<Utc>,
    reason: String,
) -> Result<FreshToken> {
    if session.expires_at.is_some_and(|e| e > now) {
        let warning = TokenWarning::RefreshBlocked { reason };
        return Ok(fresh(session, false, Some(warning)));
    }
    Err(Error::sign_in_required(name, reason))
}

/// The in-process tier: the engine on a memory store and a stub token endpoint, no Node and no
/// keychain, so the refresh-token rule's edges run in milliseconds.
#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::engine::test_support::{engine, profile_at};
    use crate::vault::{MemoryStore, StoreOp};

    /// A token endpoint that rotates: each refresh token it is sent is answered with the next
    /// one, and every token it receives is recorded.
    async fn rotating_provider() -> (String, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let s = seen.clone();
        let app = axum::Router::new().route(
            "/token",
            axum::routing::post(move |body: String| {
                let s = s.clone();
                async move {
                    let rt = url::form_urlencoded::parse(body.as_bytes())
                        .find(|(k, _)| k == "refresh_token")
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    let mut seen = s.lock().unwrap();
                    seen.push(rt);
                    let n = seen.len();
                    let json = serde_json::json!({
                        "access_token": format!("at-{n}"),
                        "token_type": "Bearer",
                        "expires_in": 300,
                        "refresh_token": format!("rt-{n}"),
                    });
                    ([("content-type", "application/json")], json.to_string())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, seen)
    }

    /// Two engines on one home and one store: as the app and a CLI on one machine.
    async fn two_engines(base: &str) -> (tempfile::TempDir, Arc<MemoryStore>, Engine, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(MemoryStore::default());
        let (app, cli) = (engine(&dir, &store), engine(&dir, &store));
        let profile = profile_at(base);
        app.add_profile(profile.clone(), None).await.unwrap();
        let mut session = crate::session::tests_support::sample();
        session.expires_at = Some(chrono::Utc::now());
        session.refresh_token = Some(oauth2::RefreshToken::new("rt-0".into()));
        session.id_token = None;
        session.issued_by.client_id = "c".into();
        session.issued_by.issuer = None;
        session.issued_by.token_endpoint = format!("{base}/token");
        app.vault.store_session(&profile.name, &session).unwrap();
        (dir, store, app, cli)
    }

    /// A broker keeps sessions in memory: a fresh token costs no keychain call, and a change
    /// by another process (a refresh, a sign-out) is seen at the next request.
    #[tokio::test]
    async fn kept_sessions_are_read_again_only_after_a_change() {
        let (base, seen) = rotating_provider().await;
        let (_dir, store, broker, cli) = two_engines(&base).await;
        broker.keep_sessions_in_memory();
        let min = Duration::from_secs(60);
        // The stored token is due: the broker refreshes (and so reads the keychain).
        assert_eq!(
            broker.token("p", min).await.unwrap().access_token.secret(),
            "at-1"
        );
        // Fresh now: served from memory even while the keychain fails every read.
        store.fail_on(StoreOp::Get, "session:");
        for _ in 0..3 {
            let t = broker.token("p", min).await.unwrap();
            assert_eq!(t.access_token.secret(), "at-1");
            assert!(!t.refreshed);
        }
        store.heal();
        // Another process signs out: the broker sees it at once.
        cli.logout("p", false).await.unwrap();
        let gone = broker.token("p", min).await;
        assert!(
            matches!(gone, Err(Error::SignInRequired { .. })),
            "{gone:?}"
        );
        assert_eq!(seen.lock().unwrap().len(), 1, "one refresh in all");
    }

    #[tokio::test]
    async fn a_rotated_session_the_keychain_refuses_is_served_from_memory_and_never_replayed() {
        let (base, seen) = rotating_provider().await;
        let (_dir, store, app, cli) = two_engines(&base).await;
        let min = Duration::from_secs(60);
        store.fail_on(StoreOp::Set, "session:");

        // The app refreshes; the keychain will not take rt-1: it is kept in memory.
        let t = app.token("p", min).await.unwrap();
        assert_eq!(t.access_token.secret(), "at-1");
        assert!(matches!(
            t.warning,
            Some(TokenWarning::NotStored {
                refresh_token_lost: true,
                ..
            })
        ));
        // The CLI sees rt-0 in the keychain, which the provider has retired: never sent again.
        let err = cli.token("p", min).await.unwrap_err();
        assert!(matches!(err, Error::SignInRequired { .. }), "{err}");
        let status = cli.status("p").await.unwrap();
        assert_eq!(status.state, super::super::SessionState::SignInRequired);
        // The app keeps handing out its new token, from memory.
        assert_eq!(
            app.token("p", min).await.unwrap().access_token.secret(),
            "at-1"
        );
        assert_eq!(*seen.lock().unwrap(), ["rt-0"]);

        // The keychain is back: the app's retry stores rt-1, and everyone moves on.
        store.heal();
        app.retry_unsaved().await;
        let t = cli.token("p", min).await.unwrap();
        assert_eq!(t.access_token.secret(), "at-1");
        assert!(t.warning.is_none());
        assert_eq!(*seen.lock().unwrap(), ["rt-0"], "no token sent twice");
    }

    #[tokio::test]
    async fn a_session_kept_in_memory_never_overwrites_a_newer_one() {
        let (base, seen) = rotating_provider().await;
        let (_dir, store, app, cli) = two_engines(&base).await;
        store.fail_on(StoreOp::Set, "session:");
        app.token("p", Duration::from_secs(60)).await.unwrap();
        store.heal();
        // Meanwhile the person signed out in a terminal.
        cli.logout("p", false).await.unwrap();
        app.retry_unsaved().await;
        assert!(app
            .vault
            .session(&ProfileName::new("p").unwrap())
            .unwrap()
            .is_none());
        let err = app.token("p", Duration::from_secs(60)).await.unwrap_err();
        assert!(matches!(err, Error::SignInRequired { .. }), "{err}");
        assert_eq!(*seen.lock().unwrap(), ["rt-0"]);
    }
}

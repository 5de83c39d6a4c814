//! `token`: a fresh access token — the cached one while it has enough life left, else one
//! refresh, single-flight within and across processes — and the refresh-token rule: once the
//! provider may have received a refresh token, no process sends it again (see
//! [`crate::ledger`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use oauth2::AccessToken;

use super::{not_signed_in, Engine};
use crate::error::{Error, Result};
use crate::ledger::Fate;
use crate::profile::ProfileName;
use crate::refresh::{self, TokenFate};
use crate::session::Session;

/// A fresh access token, ready to hand out.
#[derive(Debug)]
pub struct FreshToken {
    pub access_token: AccessToken,
    pub token_type: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub scopes: Vec<String>,
    pub refreshed: bool,
    /// Handed out, but the person has something to know (a front shows it beside the token).
    pub warning: Option<TokenWarning>,
}

/// Why a token that was handed out still needs the person's attention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenWarning {
    /// The refresh token may not be sent again; this access token stays valid until it
    /// expires, and then only a sign-in helps.
    RefreshBlocked { reason: String },
    /// The provider issued new tokens but the keychain would not store them: they live in this
    /// process only (retried on each use). With `refresh_token_lost`, the provider retired the
    /// stored refresh token, so once this process ends a sign-in is needed.
    NotStored {
        reason: String,
        refresh_token_lost: bool,
    },
}

/// A refreshed session the keychain refused, held until a write succeeds.
pub(super) struct Unsaved {
    pub session: Session,
    pub warning: TokenWarning,
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
        refresh::check_matches(&profile, &session)?;
        if session.is_fresh(self.clock.now(), min_valid) {
            tracing::trace!(profile = name, "cached access token is fresh");
            let warning = self.unsaved_warning(&profile.name);
            return Ok(fresh(session, false, warning));
        }
        tracing::debug!(
            profile = name,
            "access token due; waiting for the refresh lock"
        );
        let flight = self.flights.get(name);
        let _in_process = flight.lock().await;
        let _cross_process = self.lock_session(&profile.name).await?;
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
        let secret = self.client_secret(&profile).await;
        let secret = match secret {
            Ok(s) => s,
            Err(e) => {
                self.settle(
                    &profile.name,
                    &session,
                    "the client secret could not be read",
                );
                return Err(e);
            }
        };
        let clock = self.clock.clone();
        let renewed = refresh::refresh_session(
            self.http()?,
            &profile,
            secret.as_ref(),
            &session,
            move || clock.now(),
        )
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
                self.settle(&profile.name, &session, "the answer was stored");
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
                self.keep_unsaved(&profile.name, renewed.clone(), warning.clone());
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

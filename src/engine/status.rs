//! `status`: what each profile's session looks like now — signed in, refresh due, or sign-in
//! required and why — from the keychain, the refresh records and what this process holds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Engine, TokenWarning, DEFAULT_MIN_VALID};
use crate::error::{Error, Result};
use crate::ledger::Spent;
use crate::lock;
use crate::profile::Profile;
use crate::refresh;

/// Where a profile's session stands, as [`ProfileStatus::state`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// No session is stored.
    SignedOut,
    /// The access token has more than [`super::DEFAULT_MIN_VALID`] left (at most half its
    /// lifetime).
    SignedIn,
    /// The access token is due; the next use refreshes it.
    RefreshDue,
    /// Only a new sign-in helps: the access token expired without a refresh token, the refresh
    /// token may not be sent again, the profile now points elsewhere, or the stored session is
    /// unreadable.
    SignInRequired,
}

/// A profile's session as it stands now, for display. Holds no token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProfileStatus {
    /// The profile's name.
    pub profile: String,
    /// Where the session stands.
    pub state: SessionState,
    /// Why a sign-in is required, or a problem worth showing beside the state.
    pub reason: Option<String>,
    /// The ID token's `sub` claim, when there is an ID token.
    pub subject: Option<String>,
    /// When the current access token was obtained (sign-in or last refresh).
    pub issued_at: Option<DateTime<Utc>>,
    /// When the access token expires; `None` when signed out or the provider did not say.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether the session holds a refresh token.
    pub has_refresh_token: bool,
    /// Whether the ID token passed verification; `None` when there is no ID token.
    pub id_token_verified: Option<bool>,
    /// The scopes granted.
    pub scopes: Vec<String>,
}

impl Engine {
    /// One profile's status, from the keychain and the refresh records. Nothing is refreshed.
    pub async fn status(&self, name: &str) -> Result<ProfileStatus> {
        self.status_of(self.profiles.get(name)?).await
    }

    /// Every profile's status, in file order (one read of the profile file).
    pub async fn statuses(&self) -> Result<Vec<ProfileStatus>> {
        self.statuses_of(self.profiles.list()?).await
    }

    /// The statuses of profiles the caller has already read, in their order.
    pub async fn statuses_of(&self, profiles: Vec<Profile>) -> Result<Vec<ProfileStatus>> {
        use futures_util::{StreamExt, TryStreamExt};
        // Each status is a keychain read, mostly waiting on D-Bus: a few at a time.
        futures_util::stream::iter(profiles)
            .map(|profile| self.status_of(profile))
            .buffered(8)
            .try_collect()
            .await
    }

    async fn status_of(&self, profile: Profile) -> Result<ProfileStatus> {
        let name = profile.name.as_str();
        let (session, unreadable) = match self.session(&profile.name).await {
            Ok(s) => (s, None),
            Err(e @ Error::CorruptSession { .. }) => (None, Some(e.to_string())),
            Err(e) => return Err(e),
        };
        let now = self.clock.now();
        let mut status = ProfileStatus {
            profile: name.to_owned(),
            state: SessionState::SignedOut,
            reason: None,
            subject: None,
            issued_at: None,
            expires_at: None,
            has_refresh_token: false,
            id_token_verified: None,
            scopes: Vec::new(),
        };
        if let Some(reason) = unreadable {
            status.state = SessionState::SignInRequired;
            status.reason = Some(reason);
        }
        let Some(s) = session else {
            return Ok(status);
        };
        status.subject = s.subject().map(str::to_owned);
        status.expires_at = s.expires_at;
        status.issued_at = Some(s.refreshed_at.unwrap_or(s.signed_in_at));
        status.has_refresh_token = s.refresh_token.is_some();
        status.id_token_verified = s.id_token.as_ref().map(|r| r.verification.is_verified());
        status.scopes = s.scopes.clone();
        let unsaved = self.unsaved_warning(&profile.name);
        let spent = match (&s.refresh_token, &unsaved) {
            (Some(rt), None) => {
                let lock = self.home.session_lock(&profile.name);
                // A record that cannot be read blocks the token as surely as one that says so.
                self.ledger(&profile.name)
                    .spent(rt, || lock::is_held(&lock))
                    .unwrap_or_else(|e| {
                        Some(Spent {
                            reason: e.to_string(),
                            at: now,
                            retired: false,
                        })
                    })
            }
            _ => None,
        };
        // Read without the lock, the session may predate a refresh that another process
        // stored just now, retiring its token: only a keychain that still holds that token is
        // out of date.
        let spent = match spent {
            Some(sp) if sp.retired => match self.session(&profile.name).await {
                Ok(Some(now_held))
                    if now_held.refresh_token.as_ref().map(|t| t.secret())
                        != s.refresh_token.as_ref().map(|t| t.secret()) =>
                {
                    None
                }
                _ => Some(sp),
            },
            other => other,
        };
        if let Some(TokenWarning::NotStored { reason, .. }) = unsaved {
            status.reason = Some(format!(
                "refreshed, but the keychain would not store it ({reason}); kept in memory and tried again"
            ));
        }
        status.state = if let Err(e) = refresh::check_matches(&profile, &s) {
            status.reason = Some(e.detail());
            SessionState::SignInRequired
        } else if let Some(spent) = spent {
            status.reason = Some(spent.reason);
            SessionState::SignInRequired
        } else if s.is_fresh(now, DEFAULT_MIN_VALID) {
            SessionState::SignedIn
        } else if s.refresh_token.is_some() {
            SessionState::RefreshDue
        } else {
            status.reason = Some("the access token expired and there is no refresh token".into());
            SessionState::SignInRequired
        };
        Ok(status)
    }
}

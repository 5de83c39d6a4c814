//! What a sign-in does with what the provider issued, whichever way it came (browser,
//! paste-back or device grant): check the ID token and the account, store the session under the
//! session lock, or revoke what nobody will hold.

use std::time::{Duration, Instant};

use oauth2::TokenResponse as _;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::logout::RevokeRequest;
use super::{blocking, Engine, LoginOutcome, LoginTimings};
use crate::claims::{self, NonceCheck, VerifyContext};
use crate::discovery::ProviderInfo;
use crate::error::{Error, Result};
use crate::flow;
use crate::lock::{self, FileLock};
use crate::profile::{ClientAuth, Profile, Provider};
use crate::secret::SecretString;
use crate::session::{IssuedBy, Session, Verification};
use crate::vault::PendingWrite;

pub(super) type LockAndWrite = tokio::task::JoinHandle<Result<(FileLock, PendingWrite)>>;

/// When the callback came, the lock being taken meanwhile, and the sign-in's cancel token.
pub(super) struct Waits<'a> {
    pub received_at: Instant,
    pub lock_and_write: LockAndWrite,
    pub cancel: &'a CancellationToken,
}

/// What the provider issued at the code exchange, and for whom.
#[derive(Clone, Copy)]
pub(super) struct Issued<'a> {
    pub profile: &'a Profile,
    pub provider: &'a ProviderInfo,
    pub secret: Option<&'a SecretString>,
    pub response: &'a flow::TokenResponse,
}

impl Engine {
    /// Takes the session lock (the same as refresh's, so a refresh racing this sign-in cannot
    /// overwrite it) and reads the entry it replaces, in the background while tokens are fetched.
    pub(super) fn lock_and_prepare(&self, profile: &Profile) -> LockAndWrite {
        let (vault, pname) = (self.vault.clone(), profile.name.clone());
        let path = self.home.session_lock(&profile.name);
        tokio::spawn(async move {
            let guard = lock::lock(path, lock::SESSION_LOCK_WAIT).await?;
            let pending = blocking(move || vault.prepare_session_write(&pname)).await?;
            Ok((guard, pending))
        })
    }

    /// Revokes what a failed sign-in was issued: the refresh token, else the access token.
    pub(super) async fn revoke_issued(&self, issued: &Issued<'_>) {
        let Some(endpoint) = &issued.provider.revocation_endpoint else {
            tracing::info!(
                "sign-in failed after tokens were issued; the provider has no revocation endpoint"
            );
            return;
        };
        let (token, hint) = match issued.response.refresh_token() {
            Some(rt) => (rt.secret().as_str(), "refresh_token"),
            None => (
                issued.response.access_token().secret().as_str(),
                "access_token",
            ),
        };
        let request = RevokeRequest {
            ca_file: issued.profile.ca_file.as_deref(),
            endpoint: endpoint.as_str(),
            client_id: &issued.profile.client_id,
            secret: issued.secret,
            secret_in_body: issued.profile.client_auth == ClientAuth::Post,
            token,
            hint,
        };
        match self.revoke(request).await {
            Ok(()) => tracing::info!("sign-in failed after tokens were issued; they were revoked"),
            Err(e) => {
                tracing::warn!(error = %e, "sign-in failed after tokens were issued; revoking them failed")
            }
        }
    }

    /// Checks the ID token and stores the session (the part of a sign-in after the exchange).
    pub(super) async fn keep_issued(
        &self,
        issued: &Issued<'_>,
        nonce: Option<openidconnect::Nonce>,
        mut provider_time: Duration,
        waits: Waits<'_>,
    ) -> Result<LoginOutcome> {
        let Waits {
            received_at,
            lock_and_write,
            cancel,
        } = waits;
        let Issued {
            profile,
            provider,
            secret,
            response,
        } = *issued;
        let http = &self.http(profile)?;
        let now = self.clock.now();
        let id_token = match (&response.extra_fields().id_token, &nonce) {
            (Some(jwt), nonce) => {
                let started = Instant::now();
                let needs_fetch = provider.jwks.is_none();
                let checked = claims::check_id_token(
                    http,
                    SecretString::from(jwt.clone()),
                    VerifyContext {
                        issuer: provider.issuer.as_deref(),
                        client_id: &profile.client_id,
                        client_secret: secret,
                        jwks_uri: provider.jwks_uri.as_ref(),
                        jwks: provider.jwks.clone(),
                        nonce: match nonce {
                            Some(n) => NonceCheck::Required(n),
                            None => NonceCheck::IfPresent(None),
                        },
                        expected_subject: None,
                        algs: &provider.id_token_signing_algs,
                        now,
                    },
                )
                .await;
                if needs_fetch {
                    provider_time += started.elapsed();
                }
                if let Some(reason) = checked.rejected {
                    return Err(Error::IdTokenRejected(reason));
                }
                Some(checked.record)
            }
            (None, Some(_)) => {
                tracing::warn!("asked for an ID token (scope openid) but the provider sent none");
                None
            }
            (None, None) => None,
        };
        let session = Session {
            access_token: response.access_token().clone(),
            token_type: flow::token_type_name(response),
            expires_at: flow::expires_at(response, now),
            refresh_token: response.refresh_token().cloned(),
            scopes: flow::granted_scopes(response, &profile.scopes),
            id_token,
            issued_by: IssuedBy {
                client_id: profile.client_id.clone(),
                issuer: match &profile.provider {
                    Provider::Issuer { .. } => provider.issuer.clone(),
                    Provider::Endpoints { .. } => None,
                },
                token_endpoint: provider.token_endpoint.to_string(),
                revocation_endpoint: provider.revocation_endpoint.as_ref().map(Url::to_string),
                jwks_uri: provider.jwks_uri.as_ref().map(Url::to_string),
                used_secret: secret.is_some(),
                secret_in_body: profile.client_auth == ClientAuth::Post,
                id_token_algs: provider.id_token_signing_algs.clone(),
            },
            signed_in_at: now,
            refreshed_at: None,
        };
        check_account(profile, &session)?;
        let mut out = LoginOutcome {
            profile: profile.name.to_string(),
            subject: session.subject().map(str::to_owned),
            expires_at: session.expires_at,
            has_refresh_token: session.refresh_token.is_some(),
            id_token_verified: session
                .id_token
                .as_ref()
                .map(|r| r.verification.is_verified()),
            id_token_problem: session
                .id_token
                .as_ref()
                .and_then(|r| match &r.verification {
                    Verification::Unverified { reason, .. } => Some(reason.clone()),
                    Verification::Verified { .. } => None,
                }),
            timings: LoginTimings {
                callback_to_stored: Duration::ZERO,
                provider: provider_time,
                keychain_write: Duration::ZERO,
            },
        };
        tracing::trace!(
            elapsed_us = received_at.elapsed().as_micros() as u64,
            "session built"
        );
        let (_guard, pending) = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(Error::Cancelled),
            locked = lock_and_write => {
                locked.map_err(|e| Error::Internal(format!("lock task failed: {e}")))??
            }
        };
        // The profile may have been removed or pointed elsewhere while the browser was open.
        match self.profiles.get(profile.name.as_str()) {
            Ok(now) if now.provider == profile.provider && now.client_id == profile.client_id => {}
            Ok(_) | Err(Error::UnknownProfile(_)) => {
                return Err(Error::invalid(format!(
                    "profile `{}` was removed or changed during sign-in; nothing was stored",
                    profile.name
                )))
            }
            Err(e) => return Err(e),
        }
        tracing::trace!(
            elapsed_us = received_at.elapsed().as_micros() as u64,
            "lock held, profile re-checked"
        );
        let store_started = Instant::now();
        self.commit_session(&profile.name, pending, session).await?;
        self.forget_session_records(&profile.name);
        out.timings.keychain_write = store_started.elapsed();
        out.timings.callback_to_stored = received_at.elapsed();
        tracing::debug!(
            callback_to_stored_us = out.timings.callback_to_stored.as_micros() as u64,
            provider_us = out.timings.provider.as_micros() as u64,
            keychain_write_us = out.timings.keychain_write.as_micros() as u64,
            "sign-in stored"
        );
        Ok(out)
    }
}

/// The wrong-account guard: a profile pinned to an account stores a sign-in only for that
/// account, proven by a verified ID token.
fn check_account(profile: &Profile, session: &Session) -> Result<()> {
    let expected = &profile.expected;
    if !expected.is_set() {
        return Ok(());
    }
    let got = |claim: &str| {
        session
            .id_token
            .as_ref()
            .and_then(|t| t.claims.get(claim))
            .and_then(|v| v.as_str())
    };
    let (sub, email) = (got("sub"), got("email"));
    let who = [
        sub.map(|s| format!("sub {s}")),
        email.map(|e| format!("email {e}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let verified = session
        .id_token
        .as_ref()
        .is_some_and(|t| t.verification.is_verified());
    if !verified || !expected.matches(sub, email) {
        return Err(Error::WrongAccount {
            profile: profile.name.to_string(),
            expected: crate::text::terminal_safe(&expected.describe()).into_owned(),
            got: match (verified, who.is_empty()) {
                (_, true) => "an account the ID token does not name".into(),
                (true, false) => crate::text::terminal_safe(&who).into_owned(),
                (false, false) => {
                    format!("{} (unverified ID token)", crate::text::terminal_safe(&who))
                }
            },
        });
    }
    Ok(())
}

//! `logout`: revoke at the provider (RFC 7009), then forget the session. The same revocation
//! serves a profile's removal and a sign-in that fails after the provider issued tokens, so no
//! grant is left behind that nobody holds.

use serde::Serialize;

use super::{blocking, Engine};
use crate::client_auth::{oauth_error_code, ClientCredentials};
use crate::error::{Error, Result};
use crate::http::TOKEN_CAP;
use crate::profile::Profile;
use crate::refresh;
use crate::secret::SecretString;
use crate::session::Session;

/// What became of the grant at the provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "revocation", content = "detail", rename_all = "snake_case")]
pub enum Revocation {
    /// The provider confirmed the revocation; the session was deleted.
    Revoked,
    /// Revocation was not asked for: the session was only deleted locally.
    Skipped,
    /// The provider has no revocation endpoint: the session was only deleted locally.
    NotSupported,
    /// There was no session.
    NothingToRevoke,
    /// The stored session could not be read; it was deleted without revocation.
    Unreadable,
    /// The provider did not confirm the revocation (the reason is inside). The session was
    /// deleted anyway; the refresh token may stay valid there until it expires.
    Failed(String),
}

/// A token to revoke and how to authenticate the request.
pub(super) struct RevokeRequest<'a> {
    /// The profile's CA file, if its provider needs one.
    pub ca_file: Option<&'a std::path::Path>,
    pub endpoint: &'a str,
    pub client_id: &'a str,
    pub secret: Option<&'a SecretString>,
    pub secret_in_body: bool,
    pub token: &'a str,
    /// `refresh_token` or `access_token` (RFC 7009 §2.1).
    pub hint: &'static str,
}

impl Engine {
    /// Revokes the refresh token at the provider (RFC 7009) unless told not to, then deletes the
    /// profile's session from the keychain. A failed revocation is reported, not fatal.
    pub async fn logout(&self, name: &str, revoke: bool) -> Result<Revocation> {
        let profile = self.profiles.get(name)?;
        let _guard = self.lock_session(&profile.name).await?;
        // As it is now: an edit while we waited decides where the secret may go.
        let profile = self.profiles.get(name)?;
        self.end_session(&profile, revoke).await
    }

    /// Sign-out's work, with the profile's lock held.
    pub(super) async fn end_session(&self, profile: &Profile, revoke: bool) -> Result<Revocation> {
        let session = match self.session(&profile.name).await {
            Ok(Some(s)) => s,
            Ok(None) => return Ok(Revocation::NothingToRevoke),
            Err(Error::CorruptSession { .. }) => {
                let (vault, pname) = (self.vault.clone(), profile.name.clone());
                blocking(move || vault.delete_session(&pname)).await?;
                return Ok(Revocation::Unreadable);
            }
            Err(e) => return Err(e),
        };
        let outcome = if revoke {
            self.revoke_session(profile, &session).await?
        } else {
            Revocation::Skipped
        };
        let (vault, pname) = (self.vault.clone(), profile.name.clone());
        blocking(move || vault.delete_session(&pname)).await?;
        self.forget_session_records(&profile.name);
        Ok(outcome)
    }

    /// Revokes a stored session's refresh token, else its access token. The profile's secret belongs to its current
    /// provider and client: it is only sent if the session came from those too.
    async fn revoke_session(&self, profile: &Profile, session: &Session) -> Result<Revocation> {
        let Some(endpoint) = &session.issued_by.revocation_endpoint else {
            return Ok(Revocation::NotSupported);
        };
        // Without a refresh token (GitHub's, or a provider that issued none) the access token
        // is what is left to revoke (RFC 7009 §2.1).
        let (token, hint) = match &session.refresh_token {
            Some(rt) => (rt.secret().as_str(), "refresh_token"),
            None => (session.access_token.secret().as_str(), "access_token"),
        };
        let same_client = refresh::check_matches(profile, session).is_ok();
        if !same_client && session.issued_by.used_secret {
            return Ok(Revocation::Failed(
                "the profile now points at another provider or client, so its old client secret is gone".into(),
            ));
        }
        let secret = match same_client {
            true => match self.client_secret(profile).await {
                Ok(s) => s,
                Err(e) => return Ok(Revocation::Failed(e.to_string())),
            },
            false => None,
        };
        let request = RevokeRequest {
            ca_file: profile.ca_file.as_deref(),
            endpoint,
            client_id: &session.issued_by.client_id,
            secret: secret.as_ref(),
            secret_in_body: session.issued_by.secret_in_body,
            token,
            hint,
        };
        Ok(match self.revoke(request).await {
            Ok(()) => Revocation::Revoked,
            Err(e) => Revocation::Failed(e),
        })
    }

    /// RFC 7009 revocation. Done with the shared HTTP client directly: `oauth2` refuses
    /// non-https revocation URLs, and Pixie allows http on loopback only (checked when the
    /// endpoint was configured or discovered).
    pub(super) async fn revoke(&self, r: RevokeRequest<'_>) -> std::result::Result<(), String> {
        let http = self.http_with(r.ca_file).map_err(|e| e.to_string())?;
        let endpoint = url::Url::parse(r.endpoint).map_err(|e| e.to_string())?;
        let mut form = vec![("token", r.token), ("token_type_hint", r.hint)];
        let creds = ClientCredentials {
            client_id: r.client_id,
            secret: r.secret,
            secret_in_body: r.secret_in_body,
        };
        let req = creds.apply(
            http.request(reqwest::Method::POST, endpoint)
                .header("accept", "application/json"),
            &mut form,
        );
        let answer = http
            .send(req.form(&form), TOKEN_CAP)
            .await
            .map_err(|e| e.to_string())?;
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        // Only the `error` code is reported, never the body.
        let code = oauth_error_code(answer.body())
            .map(|c| format!(": {c}"))
            .unwrap_or_default();
        Err(format!("HTTP {status}{code}"))
    }
}

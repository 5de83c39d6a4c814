//! `claims` and `inspect`: what the tokens say about themselves, for display. Reads the
//! keychain only; nothing is refreshed, and no token leaves.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Engine;
use crate::error::Result;
use crate::session::Verification;

/// The claims view: an ID token's claims and verification, without the token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClaimsView {
    /// The profile the session belongs to.
    pub profile: String,
    /// Whether the ID token passed verification when it was received.
    pub verified: bool,
    /// The verification result in full: when it was checked and, if it failed, why.
    pub verification: Verification,
    /// The ID token's claims as JSON.
    pub claims: serde_json::Value,
}

/// What the access token says about itself, for display. Never the token.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccessTokenView {
    /// A JWT: its header and claims, decoded without verification (only its audience, the
    /// resource server, can verify it).
    Jwt {
        /// The JOSE header.
        header: serde_json::Value,
        /// The payload's claims.
        claims: serde_json::Value,
    },
    /// Not a JWT: only the resource server knows what it means.
    Opaque,
}

/// Everything the claims view shows for a signed-in profile.
#[derive(Clone, Debug, Serialize)]
pub struct Inspection {
    /// The ID token's view, when the provider issued one.
    pub id_token: Option<ClaimsView>,
    /// What the access token shows of itself.
    pub access_token: AccessTokenView,
    /// The token type the provider gave (usually `Bearer`).
    pub token_type: String,
    /// The scopes granted.
    pub scopes: Vec<String>,
    /// When the access token expires; `None` when the provider did not say.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Engine {
    /// The ID token's claims and verification, or `None` when the session has no ID token. Reads
    /// the keychain only: nothing is refreshed.
    pub async fn claims(&self, name: &str) -> Result<Option<ClaimsView>> {
        Ok(self.inspect(name).await?.id_token)
    }

    /// The ID token's claims and verification plus what the access token shows of itself. Reads
    /// the keychain only: nothing is refreshed.
    pub async fn inspect(&self, name: &str) -> Result<Inspection> {
        let (_, session) = self.signed_in(name).await?;
        let access_token = crate::claims::decode_jwt_unverified(session.access_token.secret())
            .map_or(AccessTokenView::Opaque, |(header, claims)| {
                AccessTokenView::Jwt { header, claims }
            });
        Ok(Inspection {
            id_token: session.id_token.map(|r| ClaimsView {
                profile: name.to_owned(),
                verified: r.verification.is_verified(),
                verification: r.verification,
                claims: r.claims,
            }),
            access_token,
            token_type: session.token_type,
            scopes: session.scopes,
            expires_at: session.expires_at,
        })
    }
}

//! What a sign-in leaves behind: the tokens and what is known about them. Held only in the
//! keychain (see [`crate::vault`]); every token field is a redacting secret type.

use chrono::{DateTime, Utc};
use oauth2::{AccessToken, RefreshToken};
use serde::{Deserialize, Serialize};

use crate::secret::SecretString;

/// A profile's signed-in state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    pub access_token: AccessToken,
    pub token_type: String,
    /// When the access token stops being valid; `None` when the provider did not say.
    pub expires_at: Option<DateTime<Utc>>,
    pub refresh_token: Option<RefreshToken>,
    /// The scopes granted (the provider's `scope`, else the ones asked for).
    pub scopes: Vec<String>,
    pub id_token: Option<IdTokenRecord>,
    /// Where the tokens came from, so refresh and sign-out need no discovery and a profile that
    /// was pointed elsewhere since is noticed.
    pub issued_by: IssuedBy,
    pub signed_in_at: DateTime<Utc>,
    pub refreshed_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedBy {
    pub client_id: String,
    pub issuer: Option<String>,
    pub token_endpoint: String,
    pub revocation_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    /// The client authenticated with a secret when these tokens were issued.
    #[serde(default)]
    pub used_secret: bool,
    /// The client secret goes in the request body (`client_secret_post`), not Basic auth.
    #[serde(default)]
    pub secret_in_body: bool,
    /// JWS algorithms the provider signs ID tokens with, from its metadata.
    #[serde(default)]
    pub id_token_algs: Vec<String>,
}

/// An ID token, its decoded claims and the result of verifying it when it was received.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdTokenRecord {
    #[serde(with = "crate::secret::serde_secret")]
    pub jwt: SecretString,
    /// The payload as JSON (`null` when it could not even be decoded).
    pub claims: serde_json::Value,
    pub verification: Verification,
}

/// The result of checking an ID token when it was received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verification {
    /// Signature (provider's JWKS), issuer, audience, expiry and nonce all checked.
    Verified {
        /// When the checks ran.
        checked_at: DateTime<Utc>,
    },
    /// Could not be verified; `reason` says which check failed or why none could run.
    Unverified {
        /// Which check failed, or why none could run.
        reason: String,
        /// When the checks ran.
        checked_at: DateTime<Utc>,
    },
}

impl Verification {
    /// Whether every check passed.
    pub fn is_verified(&self) -> bool {
        matches!(self, Verification::Verified { .. })
    }
}

impl Session {
    /// How long the access token stays valid from `now` (`None`: unknown, assume valid).
    pub fn remaining(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        self.expires_at.map(|t| t - now)
    }

    /// The lifetime the provider gave the current access token (`None`: unknown).
    pub fn lifetime(&self) -> Option<std::time::Duration> {
        let issued = self.refreshed_at.unwrap_or(self.signed_in_at);
        self.expires_at.and_then(|e| (e - issued).to_std().ok())
    }

    /// Whether the cached access token may be handed out, leaving `min_valid` of lifetime —
    /// but never asking for more than half the token's lifetime, or a token that lives less
    /// than `min_valid` would be refreshed on every call.
    pub fn is_fresh(&self, now: DateTime<Utc>, min_valid: std::time::Duration) -> bool {
        let margin = self
            .lifetime()
            .map_or(min_valid, |lifetime| min_valid.min(lifetime / 2));
        match self.remaining(now) {
            None => true,
            Some(left) => left.to_std().is_ok_and(|left| left > margin),
        }
    }

    pub fn subject(&self) -> Option<&str> {
        self.id_token.as_ref()?.claims.get("sub")?.as_str()
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    pub(crate) fn sample() -> Session {
        sample_at(Utc::now())
    }

    pub(crate) fn sample_at(now: DateTime<Utc>) -> Session {
        Session {
            access_token: AccessToken::new("at-SECRET-1".into()),
            token_type: "Bearer".into(),
            expires_at: Some(now + chrono::Duration::seconds(300)),
            refresh_token: Some(RefreshToken::new("rt-SECRET-2".into())),
            scopes: vec!["openid".into()],
            id_token: Some(IdTokenRecord {
                jwt: SecretString::from("idt-SECRET-3"),
                claims: serde_json::json!({"sub": "alice"}),
                verification: Verification::Verified { checked_at: now },
            }),
            issued_by: IssuedBy {
                client_id: "c".into(),
                issuer: Some("https://id.example.com".into()),
                token_endpoint: "https://id.example.com/token".into(),
                revocation_endpoint: None,
                jwks_uri: None,
                used_secret: false,
                secret_in_body: false,
                id_token_algs: vec![],
            },
            signed_in_at: now,
            refreshed_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::sample_at as sample;
    use super::*;
    use crate::secret::ExposeSecret;

    #[test]
    fn debug_never_shows_tokens() {
        let s = sample(Utc::now());
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("SECRET"), "{dbg}");
        assert!(dbg.contains("alice"));
    }

    #[test]
    fn json_round_trip_keeps_tokens() {
        let s = sample(Utc::now());
        let json = serde_json::to_string(&s).unwrap();
        let back: Session = serde_json::from_str(&json).unwrap();
        assert_eq!(back.access_token.secret(), "at-SECRET-1");
        assert_eq!(back.refresh_token.unwrap().secret(), "rt-SECRET-2");
        assert_eq!(back.id_token.unwrap().jwt.expose_secret(), "idt-SECRET-3");
    }

    #[test]
    fn a_short_lived_token_is_not_refreshed_on_every_call() {
        // Lives 30 s, asked for 60 s of margin: handed out until half its lifetime is left.
        let now = Utc::now();
        let mut s = sample(now);
        s.expires_at = Some(now + chrono::Duration::seconds(30));
        let min_valid = std::time::Duration::from_secs(60);
        assert!(s.is_fresh(now + chrono::Duration::seconds(1), min_valid));
        assert!(s.is_fresh(now + chrono::Duration::seconds(14), min_valid));
        assert!(!s.is_fresh(now + chrono::Duration::seconds(16), min_valid));
    }

    #[test]
    fn freshness_honours_min_valid() {
        let now = Utc::now();
        let s = sample(now);
        assert!(s.is_fresh(now, std::time::Duration::from_secs(60)));
        assert!(!s.is_fresh(
            now + chrono::Duration::seconds(241),
            std::time::Duration::from_secs(60)
        ));
        assert!(!s.is_fresh(now + chrono::Duration::seconds(400), Default::default()));
        let mut unknown = s;
        unknown.expires_at = None;
        assert!(unknown.is_fresh(now, std::time::Duration::from_secs(3600)));
    }
}

//! ID-token verification through `openidconnect` (signature against the provider's JWKS —
//! refetched once when the token names an unknown key — then `iss`, `aud`, `azp`, `exp` with a
//! small skew, and `nonce`), and decoding of the claims for display. A token that cannot be
//! verified is kept and shown as unverified with the reason; it is never silently trusted.

use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use openidconnect::core::{CoreIdToken, CoreJsonWebKeySet};
use openidconnect::{
    ClaimsVerificationError, ClientId, ClientSecret, IdTokenVerifier, IssuerUrl, Nonce,
    SignatureVerificationError,
};
use url::Url;

use crate::secret::{ExposeSecret, SecretString};
use crate::session::{IdTokenRecord, Verification};

/// Allowed clock difference with the provider when checking `exp` and `iat`.
pub const CLOCK_SKEW: Duration = Duration::from_secs(30);

/// How the `nonce` claim is checked.
pub enum NonceCheck<'a> {
    /// After sign-in: must be present and equal to the one sent (OIDC Core §3.1.3.7).
    Required(&'a Nonce),
    /// After refresh: may be absent; if present it must equal the original (OIDC Core §12.2).
    IfPresent(Option<&'a str>),
}

pub struct VerifyContext<'a> {
    pub issuer: Option<&'a str>,
    pub client_id: &'a str,
    pub client_secret: Option<&'a SecretString>,
    pub jwks_uri: Option<&'a Url>,
    /// Keys already at hand (from discovery); fetched from `jwks_uri` when `None`.
    pub jwks: Option<CoreJsonWebKeySet>,
    pub nonce: NonceCheck<'a>,
    /// After refresh the subject must not change (OIDC Core §12.2).
    pub expected_subject: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// Decodes a JWT's payload without checking anything (for display only).
pub fn decode_unverified(jwt: &str) -> Option<serde_json::Value> {
    let mut parts = jwt.split('.');
    let (_header, payload) = (parts.next()?, parts.next()?);
    parts.next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.is_object().then_some(value)
}

/// Verifies an ID token and records the outcome with its claims.
pub async fn check_id_token(
    http: &reqwest::Client,
    jwt: SecretString,
    ctx: VerifyContext<'_>,
) -> IdTokenRecord {
    let claims = decode_unverified(jwt.expose_secret()).unwrap_or(serde_json::Value::Null);
    let verification = match verify(http, jwt.expose_secret(), &ctx).await {
        Ok(()) => Verification::Verified {
            checked_at: ctx.now,
        },
        Err(reason) => {
            tracing::warn!(%reason, "ID token not verified");
            Verification::Unverified {
                reason,
                checked_at: ctx.now,
            }
        }
    };
    IdTokenRecord {
        jwt,
        claims,
        verification,
    }
}

async fn verify(http: &reqwest::Client, jwt: &str, ctx: &VerifyContext<'_>) -> Result<(), String> {
    let issuer = ctx
        .issuer
        .ok_or("the provider's issuer is unknown (profile has explicit endpoints), so the token's signature and issuer cannot be checked")?;
    let token: CoreIdToken = jwt
        .parse()
        .map_err(|e| format!("not a well-formed ID token: {e}"))?;
    let jwks = match &ctx.jwks {
        Some(keys) => keys.clone(),
        None => fetch(http, ctx.jwks_uri).await?,
    };
    match verify_with(&token, ctx, issuer, jwks) {
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) if ctx.jwks.is_some() => {
            // The provider may have rotated its keys since discovery.
            let fresh = fetch(http, ctx.jwks_uri).await?;
            verify_with(&token, ctx, issuer, fresh).map_err(describe)?;
        }
        other => other.map_err(describe)?,
    }
    Ok(())
}

async fn fetch(http: &reqwest::Client, uri: Option<&Url>) -> Result<CoreJsonWebKeySet, String> {
    let uri = uri.ok_or("the provider publishes no signing keys (jwks_uri)")?;
    crate::discovery::fetch_jwks(http, uri)
        .await
        .map_err(|e| format!("could not fetch the provider's signing keys: {e}"))
}

fn verify_with(
    token: &CoreIdToken,
    ctx: &VerifyContext<'_>,
    issuer: &str,
    jwks: CoreJsonWebKeySet,
) -> Result<(), ClaimsVerificationError> {
    let issuer = IssuerUrl::new(issuer.to_owned())
        .map_err(|e| ClaimsVerificationError::Other(format!("bad issuer URL: {e}")))?;
    let client_id = ClientId::new(ctx.client_id.to_owned());
    let verifier = match ctx.client_secret {
        Some(s) => IdTokenVerifier::new_confidential_client(
            client_id,
            ClientSecret::new(s.expose_secret().to_owned()),
            issuer,
            jwks,
        ),
        None => IdTokenVerifier::new_public_client(client_id, issuer, jwks),
    };
    let now = ctx.now;
    let skew = chrono::Duration::from_std(CLOCK_SKEW).unwrap_or_default();
    let verifier = verifier
        .set_time_fn(move || now - skew)
        .set_issue_time_verifier_fn(move |iat| {
            if iat > now + skew {
                Err(format!("issued in the future ({iat})"))
            } else {
                Ok(())
            }
        });
    let claims = match &ctx.nonce {
        NonceCheck::Required(n) => token.claims(&verifier, *n)?,
        NonceCheck::IfPresent(original) => {
            let original = original.map(str::to_owned);
            token.claims(&verifier, move |n: Option<&Nonce>| match (n, original) {
                (None, _) => Ok(()),
                (Some(n), Some(o)) if *n.secret() == o => Ok(()),
                (Some(_), _) => Err("nonce differs from the sign-in's".to_owned()),
            })?
        }
    };
    // openidconnect leaves `azp` to the caller: if present it must name this client.
    if let Some(azp) = claims.authorized_party() {
        if azp.as_str() != ctx.client_id {
            return Err(ClaimsVerificationError::InvalidAudience(format!(
                "azp is `{}`, not this client",
                azp.as_str()
            )));
        }
    }
    if let Some(sub) = ctx.expected_subject {
        if claims.subject().as_str() != sub {
            return Err(ClaimsVerificationError::InvalidSubject(
                "the subject changed since sign-in".into(),
            ));
        }
    }
    Ok(())
}

fn describe(e: ClaimsVerificationError) -> String {
    match e {
        ClaimsVerificationError::SignatureVerification(s) => {
            format!("signature check failed: {s}")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_payload_for_display() {
        let payload =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"alice","exp":1}"#);
        let v = decode_unverified(&format!("e30.{payload}.sig")).unwrap();
        assert_eq!(v["sub"], "alice");
        assert!(decode_unverified("not-a-jwt").is_none());
        assert!(decode_unverified("a.b").is_none());
    }

    #[tokio::test]
    async fn unknown_issuer_is_unverified_not_an_error() {
        let rec = check_id_token(
            &crate::http::client().unwrap(),
            SecretString::from("e30.e30.x"),
            VerifyContext {
                issuer: None,
                client_id: "c",
                client_secret: None,
                jwks_uri: None,
                jwks: None,
                nonce: NonceCheck::IfPresent(None),
                expected_subject: None,
                now: Utc::now(),
            },
        )
        .await;
        assert!(!rec.verification.is_verified());
    }
}

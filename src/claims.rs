//! ID-token verification through `openidconnect` (signature against the provider's JWKS —
//! refetched once when the token names an unknown key — then `iss`, `aud`, `azp`, `exp` with a
//! small skew, and `nonce`), and decoding of the claims for display. A token that cannot be
//! verified is kept and shown as unverified with the reason; it is never silently trusted.

use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use openidconnect::core::{CoreIdToken, CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
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
    /// The provider's `id_token_signing_alg_values_supported` (empty: RS256 only).
    pub algs: &'a [String],
    pub now: DateTime<Utc>,
}

/// Why an ID token is not verified.
#[derive(Debug)]
enum Problem {
    /// The checks could not run (no issuer known, keys unreachable, algorithm unsupported):
    /// the token is shown as unverified.
    CannotCheck(String),
    /// A check ran and failed (signature, issuer, audience, expiry, nonce): the token is not
    /// to be trusted, and a sign-in that produced it is refused.
    Failed(String),
}

/// Decodes a JWT's payload without checking anything (for display only).
pub fn decode_unverified(jwt: &str) -> Option<serde_json::Value> {
    decode_jwt_unverified(jwt).map(|(_, claims)| claims)
}

/// A compact JWS's header and payload, decoded without checking anything (for display only).
/// `None` for anything else (an opaque token, a JWE).
pub fn decode_jwt_unverified(jwt: &str) -> Option<(serde_json::Value, serde_json::Value)> {
    let mut parts = jwt.split('.');
    let (header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let object = |part: &str| -> Option<serde_json::Value> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .ok()?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        value.is_object().then_some(value)
    };
    Some((object(header)?, object(payload)?))
}

/// The outcome of checking an ID token.
pub struct IdTokenCheck {
    pub record: IdTokenRecord,
    /// Set when a check *failed* (rather than could not run): the reason.
    pub rejected: Option<String>,
}

/// Verifies an ID token and records the outcome with its claims.
pub async fn check_id_token(
    http: &crate::http::Http,
    jwt: SecretString,
    ctx: VerifyContext<'_>,
) -> IdTokenCheck {
    let claims = decode_unverified(jwt.expose_secret()).unwrap_or(serde_json::Value::Null);
    // The identity checks need no key: they run on the decoded claims whatever the signature
    // check can do, so an unverifiable token cannot swap the subject either.
    let checked = match same_identity(&claims, &ctx) {
        Ok(()) => verify(http, jwt.expose_secret(), &ctx).await,
        Err(reason) => Err(Problem::Failed(reason)),
    };
    let (verification, rejected) = match checked {
        Ok(()) => (
            Verification::Verified {
                checked_at: ctx.now,
            },
            None,
        ),
        Err(problem) => {
            tracing::warn!(?problem, "ID token not verified");
            let (reason, rejected) = match problem {
                Problem::CannotCheck(r) => (r, None),
                Problem::Failed(r) => (r.clone(), Some(r)),
            };
            let checked_at = ctx.now;
            (Verification::Unverified { reason, checked_at }, rejected)
        }
    };
    IdTokenCheck {
        record: IdTokenRecord {
            jwt,
            claims,
            verification,
        },
        rejected,
    }
}

/// The `sub` and `nonce` comparisons, on claims decoded without verification.
fn same_identity(claims: &serde_json::Value, ctx: &VerifyContext<'_>) -> Result<(), String> {
    let text = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
    if let Some(sub) = ctx.expected_subject {
        if text("sub") != Some(sub) {
            return Err("the subject changed since sign-in".into());
        }
    }
    let nonce_ok = match (&ctx.nonce, claims.get("nonce")) {
        (NonceCheck::Required(n), _) => text("nonce") == Some(n.secret().as_str()),
        (NonceCheck::IfPresent(_), None) => true,
        (NonceCheck::IfPresent(original), Some(_)) => {
            original.is_some() && text("nonce") == *original
        }
    };
    if !nonce_ok {
        return Err(match ctx.nonce {
            NonceCheck::Required(_) => "the nonce does not match this sign-in's".into(),
            NonceCheck::IfPresent(_) => "nonce differs from the sign-in's".into(),
        });
    }
    Ok(())
}

async fn verify(
    http: &crate::http::Http,
    jwt: &str,
    ctx: &VerifyContext<'_>,
) -> Result<(), Problem> {
    let issuer = ctx.issuer.ok_or_else(|| {
        Problem::CannotCheck(
            "the provider's issuer is unknown (profile has explicit endpoints), so the token's signature and issuer cannot be checked"
                .into(),
        )
    })?;
    let token: CoreIdToken = jwt
        .parse()
        .map_err(|e| Problem::Failed(format!("not a well-formed ID token: {e}")))?;
    let algs = allowed_algs(ctx)?;
    let jwks = match &ctx.jwks {
        Some(keys) => keys.clone(),
        None => fetch(http, ctx.jwks_uri).await?,
    };
    match verify_with(&token, ctx, issuer, &algs, jwks) {
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) if ctx.jwks.is_some() => {
            // The provider may have rotated its keys since discovery.
            let fresh = fetch(http, ctx.jwks_uri).await?;
            verify_with(&token, ctx, issuer, &algs, fresh).map_err(describe)?;
        }
        other => other.map_err(describe)?,
    }
    Ok(())
}

/// The provider's advertised algorithms, never `none`, and HMAC ones only for a client that has
/// a secret (a public client has no shared key, so an HMAC "signature" proves nothing).
fn allowed_algs(ctx: &VerifyContext<'_>) -> Result<Vec<CoreJwsSigningAlgorithm>, Problem> {
    if ctx.algs.is_empty() {
        return Ok(vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    }
    let algs: Vec<CoreJwsSigningAlgorithm> = ctx
        .algs
        .iter()
        .filter(|a| a.as_str() != "none")
        .filter(|a| ctx.client_secret.is_some() || !a.starts_with("HS"))
        .filter_map(|a| serde_json::from_value(serde_json::Value::String(a.clone())).ok())
        .collect();
    if algs.is_empty() {
        return Err(Problem::CannotCheck(format!(
            "the provider signs ID tokens only with algorithms Pixie cannot check here ({})",
            ctx.algs.join(", ")
        )));
    }
    Ok(algs)
}

async fn fetch(http: &crate::http::Http, uri: Option<&Url>) -> Result<CoreJsonWebKeySet, Problem> {
    let uri = uri.ok_or_else(|| {
        Problem::CannotCheck("the provider publishes no signing keys (jwks_uri)".into())
    })?;
    crate::discovery::fetch_jwks(http, uri).await.map_err(|e| {
        Problem::CannotCheck(format!("could not fetch the provider's signing keys: {e}"))
    })
}

fn verify_with(
    token: &CoreIdToken,
    ctx: &VerifyContext<'_>,
    issuer: &str,
    algs: &[CoreJwsSigningAlgorithm],
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
        .set_allowed_algs(algs.iter().cloned())
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

fn describe(e: ClaimsVerificationError) -> Problem {
    match e {
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::UnsupportedAlg(a),
        ) => Problem::CannotCheck(format!("the ID token's algorithm {a} is not supported")),
        ClaimsVerificationError::SignatureVerification(s) => {
            Problem::Failed(format!("signature check failed: {s}"))
        }
        // Everything else, `Unsupported` included, comes from the token's own content (its
        // header's `crit`, `typ`, `cty`, an encryption `alg`): the token is refused, not excused.
        other => Problem::Failed(other.to_string()),
    }
}

/// Signing helpers for unit tests (ID tokens signed with a key made for tests only).
#[cfg(test)]
pub(crate) mod test_keys {
    use super::*;
    use openidconnect::core::{CoreIdTokenClaims, CoreRsaPrivateSigningKey};
    use openidconnect::{
        Audience, EmptyAdditionalClaims, JsonWebKeyId, PrivateSigningKey, StandardClaims,
        SubjectIdentifier,
    };

    // A key made for these tests only (openssl genrsa 2048).
    const PEM: &str = include_str!("testdata/test-only-rsa-key.pem");
    pub const ISSUER: &str = "https://id.example.test";

    fn key(kid: &str) -> CoreRsaPrivateSigningKey {
        CoreRsaPrivateSigningKey::from_pem(PEM, Some(JsonWebKeyId::new(kid.into()))).unwrap()
    }

    pub fn jwks(kid: &str) -> CoreJsonWebKeySet {
        CoreJsonWebKeySet::new(vec![key(kid).as_verification_key()])
    }

    pub fn signed_token(
        kid: &str,
        aud: &str,
        sub: &str,
        exp_in: i64,
        nonce: Option<&str>,
    ) -> SecretString {
        let now = Utc::now();
        let claims = CoreIdTokenClaims::new(
            IssuerUrl::new(ISSUER.into()).unwrap(),
            vec![Audience::new(aud.into())],
            now + chrono::Duration::seconds(exp_in),
            now - chrono::Duration::seconds(5),
            StandardClaims::new(SubjectIdentifier::new(sub.into())),
            EmptyAdditionalClaims {},
        )
        .set_nonce(nonce.map(|n| Nonce::new(n.into())));
        let jwt = CoreIdToken::new(
            claims,
            &key(kid),
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            None,
            None,
        )
        .unwrap();
        SecretString::from(jwt.to_string())
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

    #[test]
    fn an_opaque_or_encrypted_access_token_is_not_decoded() {
        let part = |j: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(j);
        let jws = format!(
            "{}.{}.sig",
            part(r#"{"alg":"RS256"}"#),
            part(r#"{"aud":"api"}"#)
        );
        let (h, c) = decode_jwt_unverified(&jws).unwrap();
        assert_eq!(
            (h["alg"].as_str(), c["aud"].as_str()),
            (Some("RS256"), Some("api"))
        );
        assert!(decode_jwt_unverified("Zm9vYmFyYmF6cXV4").is_none());
        assert!(
            decode_jwt_unverified(&format!("{jws}.x.y")).is_none(),
            "a JWE has five parts"
        );
        assert!(decode_jwt_unverified(&format!("{}.{}.s", part("[]"), part("{}"))).is_none());
    }

    #[tokio::test]
    async fn unknown_issuer_is_unverified_not_an_error() {
        let rec = check_id_token(
            &crate::http::Http::new().unwrap(),
            SecretString::from("e30.e30.x"),
            VerifyContext {
                issuer: None,
                client_id: "c",
                client_secret: None,
                jwks_uri: None,
                jwks: None,
                nonce: NonceCheck::IfPresent(None),
                expected_subject: None,
                algs: &[],
                now: Utc::now(),
            },
        )
        .await;
        assert!(!rec.record.verification.is_verified());
        assert!(rec.rejected.is_none(), "could not check is not a failure");
    }

    #[tokio::test]
    async fn an_unverifiable_token_for_another_subject_or_nonce_is_rejected() {
        let part = |j: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(j);
        let jwt = |claims: &str| SecretString::from(format!("{}.{}.x", part("{}"), part(claims)));
        let check = |jwt: SecretString, nonce: NonceCheck<'static>| async move {
            check_id_token(
                &crate::http::Http::new().unwrap(),
                jwt,
                VerifyContext {
                    issuer: None,
                    client_id: "c",
                    client_secret: None,
                    jwks_uri: None,
                    jwks: None,
                    nonce,
                    expected_subject: Some("alice"),
                    algs: &[],
                    now: Utc::now(),
                },
            )
            .await
        };
        let other = check(jwt(r#"{"sub":"mallory"}"#), NonceCheck::IfPresent(None)).await;
        assert!(other.rejected.unwrap().contains("subject"));
        let nonce = check(
            jwt(r#"{"sub":"alice","nonce":"n-2"}"#),
            NonceCheck::IfPresent(Some("n-1")),
        )
        .await;
        assert!(nonce.rejected.unwrap().contains("nonce"));
        let same = check(
            jwt(r#"{"sub":"alice","nonce":"n-1"}"#),
            NonceCheck::IfPresent(Some("n-1")),
        )
        .await;
        assert!(
            same.rejected.is_none(),
            "unverifiable, but the same identity"
        );
    }

    #[tokio::test]
    async fn absurd_time_claims_are_shown_not_panicked_on() {
        let part = |j: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(j);
        for claims in [
            r#"{"sub":"alice","exp":1e20,"iat":-1e300}"#,
            r#"{"sub":"alice","exp":18446744073709551616,"iat":9223372036854775807}"#,
        ] {
            let jwt = format!("{}.{}.x", part(r#"{"alg":"RS256"}"#), part(claims));
            let rec = check_id_token(
                &crate::http::Http::new().unwrap(),
                SecretString::from(jwt),
                VerifyContext {
                    issuer: Some(test_keys::ISSUER),
                    client_id: "c",
                    client_secret: None,
                    jwks_uri: None,
                    jwks: Some(test_keys::jwks("k1")),
                    nonce: NonceCheck::IfPresent(None),
                    expected_subject: None,
                    algs: &[],
                    now: Utc::now(),
                },
            )
            .await;
            assert!(!rec.record.verification.is_verified());
            assert_eq!(rec.record.claims["sub"], "alice", "still shown");
        }
    }

    mod signed {
        use super::*;

        use crate::claims::test_keys::{jwks, signed_token, ISSUER};

        fn token(kid: &str, aud: &str, exp_in: i64, nonce: Option<&str>) -> SecretString {
            signed_token(kid, aud, "alice", exp_in, nonce)
        }

        /// Serves a JWKS holding the key under `kid`, counting fetches.
        async fn jwks_server(
            kid: &'static str,
        ) -> (Url, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
            let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let h = hits.clone();
            let body = serde_json::to_string(&jwks(kid)).unwrap();
            let app = axum::Router::new().route(
                "/jwks",
                axum::routing::get(move || {
                    h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let body = body.clone();
                    async move { ([("content-type", "application/json")], body) }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url =
                Url::parse(&format!("http://{}/jwks", listener.local_addr().unwrap())).unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            (url, hits)
        }

        async fn check(
            jwt: SecretString,
            cached: Option<CoreJsonWebKeySet>,
            uri: &Url,
            nonce: NonceCheck<'_>,
        ) -> Verification {
            let c = check_with(jwt, cached, uri, nonce, &["RS256".to_owned()]).await;
            assert_eq!(c.rejected.is_some(), !c.record.verification.is_verified());
            c.record.verification
        }

        async fn check_with(
            jwt: SecretString,
            cached: Option<CoreJsonWebKeySet>,
            uri: &Url,
            nonce: NonceCheck<'_>,
            algs: &[String],
        ) -> IdTokenCheck {
            check_id_token(
                &crate::http::Http::new().unwrap(),
                jwt,
                VerifyContext {
                    issuer: Some(ISSUER),
                    client_id: "pixie",
                    client_secret: None,
                    jwks_uri: Some(uri),
                    jwks: cached,
                    nonce,
                    expected_subject: None,
                    algs,
                    now: Utc::now(),
                },
            )
            .await
        }

        fn reason(v: &Verification) -> String {
            match v {
                Verification::Unverified { reason, .. } => reason.clone(),
                Verification::Verified { .. } => "verified".into(),
            }
        }

        #[tokio::test]
        async fn a_good_token_verifies() {
            let (uri, _) = jwks_server("k1").await;
            let n = Nonce::new("n-1".into());
            let v = check(
                token("k1", "pixie", 300, Some("n-1")),
                Some(jwks("k1")),
                &uri,
                NonceCheck::Required(&n),
            )
            .await;
            assert!(v.is_verified(), "{}", reason(&v));
        }

        #[tokio::test]
        async fn an_unknown_kid_refetches_the_keys_once() {
            let (uri, hits) = jwks_server("rotated").await;
            let n = Nonce::new("n-1".into());
            let v = check(
                token("rotated", "pixie", 300, Some("n-1")),
                Some(jwks("old")),
                &uri,
                NonceCheck::Required(&n),
            )
            .await;
            assert!(v.is_verified(), "{}", reason(&v));
            assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
        }

        #[tokio::test]
        async fn each_failed_check_is_named() {
            let (uri, _) = jwks_server("k1").await;
            let n = Nonce::new("n-1".into());
            let cases = [
                (token("k1", "pixie", 300, Some("other")), "nonce"),
                (token("k1", "pixie", 300, None), "nonce"),
                (token("k1", "someone-else", 300, Some("n-1")), "audience"),
                (token("k1", "pixie", -120, Some("n-1")), "xpired"),
                (token("k2", "pixie", 300, Some("n-1")), "signature"),
            ];
            for (jwt, expect) in cases {
                let v = check(jwt, Some(jwks("k1")), &uri, NonceCheck::Required(&n)).await;
                assert!(reason(&v).contains(expect), "{expect}: {}", reason(&v));
            }
            // A tampered payload fails the signature check.
            let good = token("k1", "pixie", 300, Some("n-1"));
            let mut parts: Vec<String> =
                good.expose_secret().split('.').map(str::to_owned).collect();
            parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(br#"{"iss":"https://id.example.test","aud":"pixie","sub":"mallory","exp":9999999999,"iat":1,"nonce":"n-1"}"#);
            let v = check(
                SecretString::from(parts.join(".")),
                Some(jwks("k1")),
                &uri,
                NonceCheck::Required(&n),
            )
            .await;
            assert!(reason(&v).contains("signature"), "{}", reason(&v));
        }

        #[tokio::test]
        async fn algorithms_are_the_providers_and_never_hmac_for_a_public_client() {
            let (uri, _) = jwks_server("k1").await;
            let jwt = || token("k1", "pixie", 300, None);
            let none = NonceCheck::IfPresent(None);
            let c = check_with(jwt(), Some(jwks("k1")), &uri, none, &["ES256".to_owned()]).await;
            assert!(c.rejected.is_some(), "RS256 token, provider says ES256");
            let none = NonceCheck::IfPresent(None);
            let c = check_with(jwt(), Some(jwks("k1")), &uri, none, &["HS256".to_owned()]).await;
            assert!(c.rejected.is_none(), "cannot check: HS256 without a secret");
            assert!(!c.record.verification.is_verified());
        }

        #[tokio::test]
        async fn a_header_the_library_refuses_is_a_failure_not_an_excuse() {
            let (uri, _) = jwks_server("k1").await;
            let good = token("k1", "pixie", 300, None);
            let parts: Vec<&str> = good.expose_secret().split('.').collect();
            for header in [
                r#"{"alg":"RS256","kid":"k1","crit":["x"]}"#,
                r#"{"alg":"RS256","kid":"k1","typ":"foo"}"#,
                r#"{"alg":"RS256","kid":"k1","cty":"foo"}"#,
            ] {
                let h = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header);
                let jwt = SecretString::from(format!("{h}.{}.{}", parts[1], parts[2]));
                let none = NonceCheck::IfPresent(None);
                let c = check_with(jwt, Some(jwks("k1")), &uri, none, &["RS256".to_owned()]).await;
                assert!(c.rejected.is_some(), "{header}");
            }
        }

        #[tokio::test]
        async fn within_the_skew_an_expired_token_still_verifies() {
            let (uri, _) = jwks_server("k1").await;
            let v = check(
                token("k1", "pixie", -10, None),
                Some(jwks("k1")),
                &uri,
                NonceCheck::IfPresent(None),
            )
            .await;
            assert!(v.is_verified(), "{}", reason(&v));
        }

        #[tokio::test]
        async fn a_refreshed_token_must_keep_the_nonce_if_it_has_one() {
            let (uri, _) = jwks_server("k1").await;
            let v = check(
                token("k1", "pixie", 300, Some("x")),
                Some(jwks("k1")),
                &uri,
                NonceCheck::IfPresent(Some("n-1")),
            )
            .await;
            assert!(reason(&v).contains("nonce"), "{}", reason(&v));
            let v = check(
                token("k1", "pixie", 300, None),
                Some(jwks("k1")),
                &uri,
                NonceCheck::IfPresent(Some("n-1")),
            )
            .await;
            assert!(v.is_verified(), "{}", reason(&v));
        }
    }
}

//! The device authorization grant (RFC 8628), for shells with no browser: ask the provider for a
//! user code, show it, then poll the token endpoint while the person enters it elsewhere.
//!
//! Everything the provider says is bounded: codes and URIs by length, `expires_in` and
//! `interval` by range, and the polling by the code's lifetime and the sign-in timeout.

use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::client_auth::{oauth_error_code, ClientCredentials};
use crate::error::{Error, Result};
use crate::flow::TokenResponse;
use crate::http::{Http, HttpError, TOKEN_CAP};
use crate::secret::{ExposeSecret, SecretString};

/// The grant type of a device-code token request (RFC 8628 §3.4).
pub(crate) const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §3.5: without an `interval`, poll every 5 s.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Polling faster than this would be rude whatever the provider says; slower would strand
/// the person.
const INTERVAL_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));
/// RFC 8628 §3.5: each `slow_down` adds 5 s.
const SLOW_DOWN_STEP: Duration = if cfg!(test) {
    Duration::from_millis(20)
} else {
    Duration::from_secs(5)
};
/// A code no one can use within half an hour is not worth waiting for; a missing or absurd
/// `expires_in` counts as the common 15 minutes.
const MAX_EXPIRES_IN: Duration = Duration::from_secs(30 * 60);
const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(15 * 60);
/// Failed polls in a row (no answer, a gateway page) before the sign-in gives up.
const MAX_FAILED_POLLS: u32 = 5;
const MAX_CODE_LEN: usize = 4096;
const MAX_USER_CODE_LEN: usize = 64;
const MAX_URI_LEN: usize = 2048;

/// What the person is shown: the code, and where to enter it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DeviceCode {
    /// The code to enter at `verification_uri`.
    pub user_code: String,
    /// Where to enter the code.
    pub verification_uri: String,
    /// The same page with the code filled in, when the provider offers one.
    pub verification_uri_complete: Option<String>,
    /// How long the code stays valid.
    pub expires_in_secs: u64,
}

/// The provider's answer to the device authorization request.
pub(crate) struct DeviceAuthorization {
    pub device_code: SecretString,
    pub shown: DeviceCode,
    pub expires_in: Duration,
    pub interval: Duration,
}

#[derive(Deserialize)]
struct Wire {
    device_code: String,
    user_code: String,
    verification_uri: Option<String>,
    /// Google's name for it (from a draft of RFC 8628).
    verification_url: Option<String>,
    verification_uri_complete: Option<String>,
    expires_in: Option<serde_json::Value>,
    interval: Option<serde_json::Value>,
}

/// A JSON number or numeric string as whole seconds; anything else is `None`.
fn seconds(v: Option<&serde_json::Value>) -> Option<u64> {
    match v? {
        // `1e9` is a float to serde; `as` saturates, and the caller clamps anyway.
        serde_json::Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        }),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn uri(field: &str, s: &str) -> Result<Url> {
    if s.len() > MAX_URI_LEN {
        return Err(Error::ProviderError(format!(
            "the device authorization answer's {field} is longer than {MAX_URI_LEN} characters"
        )));
    }
    crate::profile::parse_endpoint(field, s).map_err(|e| {
        Error::ProviderError(format!("the device authorization answer's {field}: {e}"))
    })
}

/// Reads and bounds a device authorization answer (RFC 8628 §3.2).
pub(crate) fn parse_authorization(body: &[u8]) -> Result<DeviceAuthorization> {
    let w: Wire = serde_json::from_slice(body).map_err(|e| {
        Error::ProviderError(format!(
            "the device authorization answer is not valid ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    if w.device_code.is_empty() || w.device_code.len() > MAX_CODE_LEN {
        return Err(Error::ProviderError(
            "the device authorization answer has an empty or oversized device_code".into(),
        ));
    }
    let user_code = w.user_code.trim();
    if user_code.is_empty()
        || user_code.chars().count() > MAX_USER_CODE_LEN
        || user_code.chars().any(crate::text::is_unsafe)
    {
        return Err(Error::ProviderError(format!(
            "the device authorization answer's user_code is empty, longer than {MAX_USER_CODE_LEN} characters or holds control characters"
        )));
    }
    let verification = w.verification_uri.or(w.verification_url).ok_or_else(|| {
        Error::ProviderError("the device authorization answer has no verification_uri".into())
    })?;
    let verification_uri = uri("verification_uri", &verification)?;
    // A bad "complete" link is dropped: the plain one and the code still work.
    let complete = w
        .verification_uri_complete
        .and_then(|s| uri("verification_uri_complete", &s).ok());
    let expires_in = match seconds(w.expires_in.as_ref()) {
        Some(s) if s > 0 => Duration::from_secs(s).min(MAX_EXPIRES_IN),
        _ => DEFAULT_EXPIRES_IN,
    };
    let interval = seconds(w.interval.as_ref())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_INTERVAL)
        .clamp(INTERVAL_RANGE.0, INTERVAL_RANGE.1);
    Ok(DeviceAuthorization {
        device_code: SecretString::from(w.device_code),
        shown: DeviceCode {
            user_code: user_code.to_owned(),
            verification_uri: verification_uri.to_string(),
            verification_uri_complete: complete.map(|u| u.to_string()),
            expires_in_secs: expires_in.as_secs(),
        },
        expires_in,
        interval,
    })
}

/// Asks for a device code (RFC 8628 §3.1).
pub(crate) async fn authorize(
    http: &Http,
    endpoint: &Url,
    creds: ClientCredentials<'_>,
    scopes: &[String],
    params: &std::collections::BTreeMap<String, String>,
) -> Result<DeviceAuthorization> {
    let scope = scopes.join(" ");
    let mut form: Vec<(&str, &str)> = Vec::new();
    if !scope.is_empty() {
        form.push(("scope", &scope));
    }
    let request = http
        .request(reqwest::Method::POST, endpoint.clone())
        .header("accept", "application/json");
    let request = creds.apply(request, &mut form);
    // Extra parameters (an Auth0 `audience`, say) go along as they do to the authorization
    // endpoint; they come after the fixed ones and cannot replace them.
    form.extend(
        params
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "scope" | "client_id" | "client_secret"))
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let request = request.form(&form);
    let answer = http.send(request, TOKEN_CAP).await.map_err(|e| {
        Error::ProviderUnreachable(format!("device authorization at {endpoint} failed: {e}"))
    })?;
    if !answer.status().is_success() {
        return Err(match oauth_error_code(answer.body()) {
            Some(code) => Error::ProviderError(format!("device authorization refused: {code}")),
            None => Error::ProviderError(format!(
                "device authorization at {endpoint} answered HTTP {}",
                answer.status()
            )),
        });
    }
    parse_authorization(answer.body())
}

/// Polls the token endpoint (RFC 8628 §3.4–3.5) until the person has entered the code, or it
/// expires, or `deadline` passes (the sign-in timeout), or `cancel` fires.
pub(crate) async fn poll(
    http: &Http,
    token_endpoint: &Url,
    creds: ClientCredentials<'_>,
    auth: &DeviceAuthorization,
    deadline: Instant,
    cancel: &CancellationToken,
) -> Result<TokenResponse> {
    let started = Instant::now();
    let expires = started + auth.expires_in;
    let mut interval = auth.interval;
    let mut failures = 0u32;
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(Error::Cancelled),
            () = tokio::time::sleep(interval) => {}
        }
        let now = Instant::now();
        if now >= expires {
            return Err(Error::DeviceCodeExpired {
                after_secs: auth.expires_in.as_secs(),
            });
        }
        if now >= deadline {
            return Err(Error::Timeout(now.duration_since(started).as_secs()));
        }
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", GRANT_TYPE),
            ("device_code", auth.device_code.expose_secret()),
        ];
        let request = http
            .request(reqwest::Method::POST, token_endpoint.clone())
            .header("accept", "application/json");
        let request = creds.apply(request, &mut form).form(&form);
        // Not raced against `cancel`: a poll under way may be the one that gets the tokens,
        // and it is bounded by the HTTP timeouts.
        let answer = match http.send(request, TOKEN_CAP).await {
            Ok(a) => a,
            Err(e @ (HttpError::TooLarge { .. } | HttpError::Redirect { .. })) => {
                return Err(Error::ProviderError(format!(
                    "device sign-in at {token_endpoint}: {e}"
                )))
            }
            Err(e) => {
                failures += 1;
                if failures >= MAX_FAILED_POLLS {
                    return Err(Error::ProviderUnreachable(format!(
                        "device sign-in at {token_endpoint} failed {failures} times in a row: {e}"
                    )));
                }
                tracing::warn!(error = %e, "device sign-in: a poll failed; trying again");
                continue;
            }
        };
        let status = answer.status();
        // GitHub answers `authorization_pending` and the other errors with HTTP 200: an `error`
        // field makes it an error answer whatever the status.
        let error = oauth_error_code(answer.body());
        if status.is_success() && error.is_none() {
            return serde_json::from_slice::<TokenResponse>(answer.body()).map_err(|e| {
                // The body is deliberately dropped: it may hold tokens.
                Error::ProviderError(format!(
                    "device sign-in: the answer from {token_endpoint} is not a valid OAuth token response ({:?} error)",
                    e.classify()
                ))
            });
        }
        match error.as_deref() {
            Some("authorization_pending") => failures = 0,
            Some("slow_down") => {
                failures = 0;
                interval = (interval + SLOW_DOWN_STEP).min(INTERVAL_RANGE.1);
            }
            Some("access_denied") => {
                return Err(Error::AuthorizationDenied(
                    "access_denied (the request was declined at the provider)".into(),
                ))
            }
            Some("expired_token") => {
                return Err(Error::DeviceCodeExpired {
                    after_secs: now.duration_since(started).as_secs(),
                })
            }
            Some(other) => {
                return Err(Error::ProviderError(format!(
                    "device sign-in refused: {other}"
                )))
            }
            // A gateway's page in place of an OAuth answer: the provider may be restarting.
            None if status.is_server_error() && failures + 1 < MAX_FAILED_POLLS => {
                failures += 1;
                tracing::warn!(%status, "device sign-in: the token endpoint failed; trying again");
            }
            None => {
                return Err(Error::ProviderError(format!(
                    "device sign-in: {token_endpoint} answered HTTP {status}, not an OAuth answer"
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn an_answer_is_bounded() {
        let a = parse_authorization(
            br#"{"device_code":"dc","user_code":"ABCD-EFGH","verification_uri":"https://idp.example/device",
                "verification_uri_complete":"https://idp.example/device?user_code=ABCD-EFGH","expires_in":1e9,"interval":0}"#,
        )
        .unwrap();
        assert_eq!(a.expires_in, MAX_EXPIRES_IN);
        assert_eq!(a.interval, INTERVAL_RANGE.0);
        assert_eq!(a.shown.user_code, "ABCD-EFGH");
        assert!(a.shown.verification_uri_complete.is_some());

        // Google's older field name, numbers as strings, a bad complete link dropped.
        let a = parse_authorization(
            br#"{"device_code":"dc","user_code":"12","verification_url":"https://www.google.com/device",
                "verification_uri_complete":"javascript:alert(1)","expires_in":"1800","interval":"7"}"#,
        )
        .unwrap();
        assert_eq!(a.shown.verification_uri, "https://www.google.com/device");
        assert_eq!(a.shown.verification_uri_complete, None);
        assert_eq!(a.expires_in, Duration::from_secs(1800));
        assert_eq!(a.interval, Duration::from_secs(7));
    }

    #[test]
    fn a_hostile_answer_is_refused() {
        for body in [
            &br#"{"device_code":"dc","user_code":"\u001b[2J","verification_uri":"https://x.example/d"}"#[..],
            br#"{"device_code":"dc","user_code":"ok","verification_uri":"http://evil.example/d"}"#,
            br#"{"device_code":"","user_code":"ok","verification_uri":"https://x.example/d"}"#,
            br#"{"device_code":"dc","user_code":"ok"}"#,
            b"<html>",
        ] {
            assert!(
                parse_authorization(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let long = format!(
            r#"{{"device_code":"dc","user_code":"{}","verification_uri":"https://x.example/d"}}"#,
            "A".repeat(65)
        );
        assert!(parse_authorization(long.as_bytes()).is_err());
    }

    /// A token endpoint that answers each poll from a script, then succeeds.
    async fn stub(script: Vec<(u16, &'static str)>) -> (Url, Arc<AtomicUsize>) {
        let polls = Arc::new(AtomicUsize::new(0));
        let counter = polls.clone();
        let app = axum::Router::new().route(
            "/token",
            axum::routing::post(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let (status, body) = script.get(n).copied().unwrap_or((
                    200,
                    r#"{"access_token":"at","token_type":"Bearer","expires_in":60}"#,
                ));
                async move {
                    (
                        axum::http::StatusCode::from_u16(status).unwrap(),
                        [("content-type", "application/json")],
                        body,
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}/token").parse().unwrap(), polls)
    }

    fn fast_auth(expires_in: Duration) -> DeviceAuthorization {
        DeviceAuthorization {
            device_code: SecretString::from("dc".to_owned()),
            shown: DeviceCode {
                user_code: "X".into(),
                verification_uri: "https://x.example".into(),
                verification_uri_complete: None,
                expires_in_secs: expires_in.as_secs(),
            },
            expires_in,
            interval: Duration::from_millis(10),
        }
    }

    const CREDS: ClientCredentials<'static> = ClientCredentials {
        client_id: "c",
        secret: None,
        secret_in_body: false,
    };

    async fn run(script: Vec<(u16, &'static str)>, expires: Duration) -> (Result<String>, usize) {
        let (url, polls) = stub(script).await;
        let http = Http::new().unwrap();
        let auth = fast_auth(expires);
        let got = poll(
            &http,
            &url,
            CREDS,
            &auth,
            Instant::now() + Duration::from_secs(30),
            &CancellationToken::new(),
        )
        .await;
        use oauth2::TokenResponse as _;
        (
            got.map(|t| t.access_token().secret().clone()),
            polls.load(Ordering::SeqCst),
        )
    }

    #[tokio::test]
    async fn pending_and_slow_down_keep_polling() {
        let (got, polls) = run(
            vec![
                (400, r#"{"error":"authorization_pending"}"#),
                (400, r#"{"error":"slow_down"}"#),
                (502, "<html>bad gateway</html>"),
                (400, r#"{"error":"authorization_pending"}"#),
            ],
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(got.unwrap(), "at");
        assert_eq!(polls, 5);
    }

    /// GitHub's device flow answers its errors with HTTP 200.
    #[tokio::test]
    async fn errors_answered_with_200_are_errors() {
        let (got, polls) = run(
            vec![
                (200, r#"{"error":"authorization_pending"}"#),
                (200, r#"{"error":"slow_down","interval":10}"#),
            ],
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(got.unwrap(), "at");
        assert_eq!(polls, 3);
        let (got, _) = run(
            vec![(200, r#"{"error":"access_denied"}"#)],
            Duration::from_secs(60),
        )
        .await;
        assert!(matches!(got, Err(Error::AuthorizationDenied(_))), "{got:?}");
    }

    #[tokio::test]
    async fn denial_and_expiry_end_the_wait() {
        let (got, _) = run(
            vec![(400, r#"{"error":"access_denied"}"#)],
            Duration::from_secs(60),
        )
        .await;
        assert!(matches!(got, Err(Error::AuthorizationDenied(_))), "{got:?}");
        let (got, _) = run(
            vec![(400, r#"{"error":"expired_token"}"#)],
            Duration::from_secs(60),
        )
        .await;
        assert!(
            matches!(got, Err(Error::DeviceCodeExpired { .. })),
            "{got:?}"
        );
        // The code's own lifetime ends the wait even if the provider never says so.
        let (got, _) = run(
            vec![(400, r#"{"error":"authorization_pending"}"#); 1000],
            Duration::from_millis(100),
        )
        .await;
        assert!(
            matches!(got, Err(Error::DeviceCodeExpired { .. })),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn cancel_stops_polling() {
        let (url, polls) = stub(vec![(400, r#"{"error":"authorization_pending"}"#); 1000]).await;
        let cancel = CancellationToken::new();
        let c = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(80)).await;
            c.cancel();
        });
        let got = poll(
            &Http::new().unwrap(),
            &url,
            CREDS,
            &fast_auth(Duration::from_secs(60)),
            Instant::now() + Duration::from_secs(30),
            &cancel,
        )
        .await;
        assert!(matches!(got, Err(Error::Cancelled)));
        let seen = polls.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(polls.load(Ordering::SeqCst), seen, "no poll after cancel");
    }

    #[tokio::test]
    async fn an_unknown_refusal_is_reported_by_code_only() {
        let (got, _) = run(
            vec![(
                400,
                r#"{"error":"invalid_client","error_description":"tok-123"}"#,
            )],
            Duration::from_secs(60),
        )
        .await;
        let msg = got.unwrap_err().to_string();
        assert!(
            msg.contains("invalid_client") && !msg.contains("tok-123"),
            "{msg}"
        );
    }
}

//! Provider presets, without the internet: the real `pixie` binary adds profiles from presets
//! and signs in against stand-ins for the providers.
//!
//! - Keycloak, GitLab and an Okta custom server are OpenID Providers that Pixie discovers from
//!   an issuer: the presets run against the real test provider (`tests/idp/provider.mjs`) given
//!   as `--base-url`.
//! - GitHub is not an OpenID Provider: a small axum fake answers like it (form-encoded unless
//!   asked for JSON, tokens without expiry, no ID token, no revocation).
//! - Microsoft Entra's multi-tenant values get explicit endpoints under the tenant's path and
//!   have no revocation endpoint: a second fake serves those paths.
//!
//! What only a real account can show (the provider's consent screens, its redirect URI
//! matching, its real tokens) is listed in the README's "Providers" section.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use support::Rig;

fn query(raw: Option<&str>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// What a fake provider saw.
#[derive(Default)]
struct Seen {
    /// Each authorization request's query.
    authorize: Vec<BTreeMap<String, String>>,
    /// Each token request: its form, and its `Accept` header.
    token: Vec<(BTreeMap<String, String>, String)>,
    /// The tenant path segment of each request (the Entra fake).
    tenants: Vec<String>,
}

type Shared = Arc<Mutex<Seen>>;

/// A fake provider on an ephemeral loopback port, served from its own thread and runtime.
struct Fake {
    base: String,
    seen: Shared,
}

impl Fake {
    fn start(app: impl FnOnce(Shared) -> Router) -> Self {
        let seen = Shared::default();
        let router = app(seen.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, router).await.unwrap();
            });
        });
        Self { base, seen }
    }
}

/// The authorization endpoint of a fake: no login page, the person "approves" at once and the
/// browser is sent back with a code and the state.
fn approve(seen: &Shared, raw: Option<String>, code: &str) -> Response {
    let q = query(raw.as_deref());
    seen.lock().unwrap().authorize.push(q.clone());
    let (Some(redirect), Some(state)) = (q.get("redirect_uri"), q.get("state")) else {
        return (StatusCode::BAD_REQUEST, "no redirect_uri or state").into_response();
    };
    let mut to = url::Url::parse(redirect).unwrap();
    to.query_pairs_mut()
        .append_pair("code", code)
        .append_pair("state", state);
    Redirect::to(to.as_str()).into_response()
}

fn record_token(seen: &Shared, headers: &HeaderMap, body: &str) -> BTreeMap<String, String> {
    let form = query(Some(body));
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    seen.lock().unwrap().token.push((form.clone(), accept));
    form
}

const GITHUB_TOKEN: &str = "gho_fakeGitHubUserToken0123456789";

/// GitHub's OAuth endpoints as GitHub answers them: the token endpoint speaks
/// `application/x-www-form-urlencoded` unless asked for JSON, and its tokens carry no
/// `expires_in` and come without a refresh token (expiring user tokens off).
fn github() -> Fake {
    Fake::start(|seen| {
        Router::new()
            .route(
                "/login/oauth/authorize",
                get(
                    |State(seen): State<Shared>, RawQuery(q): RawQuery| async move {
                        approve(&seen, q, "gh-code-1")
                    },
                ),
            )
            .route(
                "/login/oauth/access_token",
                post(
                    |State(seen): State<Shared>, headers: HeaderMap, body: String| async move {
                        let form = record_token(&seen, &headers, &body);
                        let ok = form.get("code").map(String::as_str) == Some("gh-code-1")
                            && form.get("client_secret").map(String::as_str) == Some("gh-secret")
                            && form.contains_key("code_verifier");
                        let json = headers
                            .get(header::ACCEPT)
                            .and_then(|v| v.to_str().ok())
                            .is_some_and(|a| a.contains("application/json"));
                        // GitHub answers errors with HTTP 200 too.
                        let fields: &[(&str, &str)] = if ok {
                            &[
                                ("access_token", GITHUB_TOKEN),
                                ("scope", "read:user"),
                                ("token_type", "bearer"),
                            ]
                        } else {
                            &[("error", "bad_verification_code")]
                        };
                        if json {
                            let map: serde_json::Map<String, serde_json::Value> = fields
                                .iter()
                                .map(|(k, v)| (k.to_string(), (*v).into()))
                                .collect();
                            (
                                [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                                serde_json::Value::Object(map).to_string(),
                            )
                        } else {
                            let form = url::form_urlencoded::Serializer::new(String::new())
                                .extend_pairs(fields.iter().copied())
                                .finish();
                            (
                                [(
                                    header::CONTENT_TYPE,
                                    "application/x-www-form-urlencoded; charset=utf-8",
                                )],
                                form,
                            )
                        }
                    },
                ),
            )
            .with_state(seen)
    })
}

/// Microsoft Entra's v2.0 endpoints under a tenant's path, with no revocation endpoint.
fn entra() -> Fake {
    Fake::start(|seen| {
        Router::new()
            .route(
                "/{tenant}/oauth2/v2.0/authorize",
                get(
                    |State(seen): State<Shared>,
                     Path(tenant): Path<String>,
                     RawQuery(q): RawQuery| async move {
                        seen.lock().unwrap().tenants.push(tenant);
                        approve(&seen, q, "entra-code-1")
                    },
                ),
            )
            .route(
                "/{tenant}/oauth2/v2.0/token",
                post(
                    |State(seen): State<Shared>,
                     Path(tenant): Path<String>,
                     headers: HeaderMap,
                     body: String| async move {
                        seen.lock().unwrap().tenants.push(tenant);
                        let form = record_token(&seen, &headers, &body);
                        if form.get("code").map(String::as_str) != Some("entra-code-1") {
                            return (
                                StatusCode::BAD_REQUEST,
                                axum::Json(serde_json::json!({"error": "invalid_grant"})),
                            );
                        }
                        (
                            StatusCode::OK,
                            axum::Json(serde_json::json!({
                                "token_type": "Bearer",
                                "scope": "openid profile email offline_access",
                                "expires_in": 3600,
                                "ext_expires_in": 3600,
                                "access_token": "eyJ0eXAiOiJKV1QifQ.entra-access",
                                "refresh_token": "entra-refresh-1",
                            })),
                        )
                    },
                ),
            )
            .with_state(seen)
    })
}

#[test]
fn issuer_presets_sign_in_against_a_real_provider_at_their_base_url() {
    let rig = Rig::new();
    let issuer = rig.idp.issuer.clone();
    // A trailing slash is dropped: these providers' issuers have none, and Pixie compares
    // issuers byte for byte.
    let with_slash = format!("{issuer}/");
    let cases: [(&str, &[&str]); 3] = [
        ("kc", &["--preset", "keycloak", "--base-url", &issuer]),
        ("gl", &["--preset", "gitlab", "--base-url", &with_slash]),
        (
            "okta",
            &[
                "--preset",
                "okta",
                "--base-url",
                &issuer,
                // Other flags override the preset: here its fixed port.
                "--redirect-uri",
                "http://127.0.0.1/callback",
            ],
        ),
    ];
    for (name, preset) in cases {
        let mut args = vec!["profile", "add", name, "--client-id", "pixie-test"];
        args.extend_from_slice(preset);
        let out = rig.pixie(&args).ok();
        assert!(out.stderr.contains("register:"), "{}", out.stderr);
        let shown: serde_json::Value =
            serde_json::from_str(&rig.pixie(&["profile", "show", name]).ok().stdout).unwrap();
        assert_eq!(shown["issuer"], issuer.as_str(), "{name}");
        rig.login(name);
        let token = rig.token(name);
        assert_eq!(rig.idp.userinfo(&token).0, 200, "{name}");
        let claims: serde_json::Value =
            serde_json::from_str(&rig.pixie(&["claims", name]).ok().stdout).unwrap();
        assert_eq!(claims["verified"], true, "{name}: {claims}");
    }
    // Okta's preset asks for `offline_access`, so a refresh token came; Keycloak's does not.
    assert!(rig.session("okta").unwrap()["refresh_token"].is_string());
    assert!(rig.session("kc").unwrap()["refresh_token"].is_null());
}

#[test]
fn a_github_preset_signs_in_without_oidc_and_its_token_has_no_expiry() {
    let rig = Rig::new();
    let gh = github();
    rig.pixie_with_stdin(
        &[
            "profile",
            "add",
            "gh",
            "--preset",
            "github",
            "--base-url",
            &gh.base,
            "--client-id",
            "Iv1.fake",
            "--client-secret-stdin",
        ],
        &[],
        b"gh-secret\n",
    )
    .ok();
    let out = rig.login("gh");
    assert!(!out.stderr.contains("Warning"), "{}", out.stderr);
    {
        let seen = gh.seen.lock().unwrap();
        let auth = &seen.authorize[0];
        assert_eq!(auth["scope"], "read:user");
        assert_eq!(auth["code_challenge_method"], "S256");
        assert!(!auth.contains_key("nonce"), "no OpenID Connect: no nonce");
        // Asked for JSON: GitHub would otherwise answer form-encoded.
        let (form, accept) = &seen.token[0];
        assert!(accept.contains("application/json"), "Accept: {accept}");
        assert_eq!(form["client_secret"], "gh-secret", "client_secret_post");
    }
    assert_eq!(rig.token("gh"), GITHUB_TOKEN);
    let status = rig.pixie(&["status", "gh"]).ok();
    assert!(status.stdout.contains("signed in"), "{}", status.stdout);
    assert!(!status.stdout.contains("expires"), "{}", status.stdout);
    assert!(
        status.stdout.contains("refresh token: no"),
        "{}",
        status.stdout
    );
    let json: serde_json::Value =
        serde_json::from_str(&rig.pixie(&["token", "gh", "--format", "json"]).ok().stdout).unwrap();
    assert!(json["expires_at"].is_null(), "{json}");
    let claims = rig.pixie(&["claims", "gh"]);
    assert_ne!(claims.code, 0);
    assert!(claims.stderr.contains("no ID token"), "{}", claims.stderr);
    // A second `token` is served from the keychain: nothing was refreshed or asked again.
    assert_eq!(rig.token("gh"), GITHUB_TOKEN);
    assert_eq!(gh.seen.lock().unwrap().token.len(), 1);
    rig.pixie(&["logout", "gh"]).ok();
    assert!(rig.session("gh").is_none());
}

#[test]
fn an_entra_multi_tenant_preset_uses_the_tenant_path_and_signs_out_locally() {
    let rig = Rig::new();
    let entra = entra();
    rig.pixie(&[
        "profile",
        "add",
        "en",
        "--preset",
        "entra",
        "--tenant",
        "organizations",
        "--base-url",
        &entra.base,
        "--client-id",
        "00000000-0000-0000-0000-00000000c11e",
    ])
    .ok();
    rig.login("en");
    {
        let seen = entra.seen.lock().unwrap();
        assert_eq!(seen.tenants, ["organizations", "organizations"]);
        let auth = &seen.authorize[0];
        assert_eq!(auth["prompt"], "select_account", "no forced consent");
        assert!(auth["redirect_uri"].starts_with("http://localhost:"));
        assert!(auth["scope"].contains("offline_access"));
    }
    assert_eq!(rig.token("en"), "eyJ0eXAiOiJKV1QifQ.entra-access");
    assert!(rig.session("en").unwrap()["refresh_token"].is_string());
    let out = rig.pixie(&["logout", "en"]).ok();
    assert!(
        out.stderr.contains("locally") && out.stderr.contains("no revocation endpoint"),
        "{}",
        out.stderr
    );
    assert!(rig.session("en").is_none());
    let status = rig.pixie(&["status", "en"]).ok();
    assert!(status.stdout.contains("signed out"), "{}", status.stdout);
}

#[test]
fn preset_inputs_are_checked_before_anything_is_stored() {
    let rig = Rig::new();
    for (args, want) in [
        (
            &["--preset", "entra"][..],
            "needs --tenant common|organizations|consumers",
        ),
        (&["--preset", "entra", "--tenant", "x y"], "invalid tenant"),
        (
            &["--preset", "auth0", "--domain", "https://acme.auth0.com"],
            "invalid domain",
        ),
        (
            &[
                "--preset",
                "keycloak",
                "--base-url",
                "http://sso.example.com/realms/a",
            ],
            "must use https",
        ),
        (&["--preset", "azure"], "unknown preset `azure`"),
        (
            &[
                "--preset",
                "okta",
                "--domain",
                "a.okta.com",
                "--tenant",
                "common",
            ],
            "does not take --tenant",
        ),
    ] {
        let mut all = vec!["profile", "add", "p", "--client-id", "c"];
        all.extend_from_slice(args);
        let out = rig.pixie(&all);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(want), "{args:?}: {}", out.stderr);
    }
    // A preset input without a preset is a usage error.
    assert_eq!(
        rig.pixie(&[
            "profile",
            "add",
            "p",
            "--client-id",
            "c",
            "--tenant",
            "common"
        ])
        .code,
        2
    );
    let list = rig.pixie(&["profile", "list"]).ok();
    assert!(list.stdout.trim().is_empty(), "{}", list.stdout);
}

#[test]
fn presets_are_listed_with_what_they_need_and_what_to_register() {
    let rig = Rig::new();
    let text = rig.pixie(&["profile", "presets"]).ok().stdout;
    for id in [
        "entra", "google", "github", "gitlab", "okta", "auth0", "keycloak", "cognito",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(id)),
            "{id} missing:\n{text}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&rig.pixie(&["profile", "presets", "--json"]).ok().stdout).unwrap();
    let entra = &json.as_array().unwrap()[0];
    assert_eq!(entra["id"], "entra");
    assert_eq!(entra["needs"]["one_of"][0], "tenant");
    assert_eq!(entra["register_redirect_uri"], "http://localhost/callback");
}

//! Sign-in: discovery, the flow's choice, PAR, the loopback listener (or a pasted answer), the
//! browser and the code exchange; what is issued is then kept as `issued.rs` says.

use std::sync::Arc;
use std::time::Instant;

use url::Url;

use super::issued::{Issued, Waits};
use super::{BrowserChoice, Engine, LoginEvent, LoginOptions, LoginOutcome};
use super::{FlowRequest, SignInFlow, Surroundings};
use crate::browser::{Browser, SystemBrowser};
use crate::client_auth::ClientCredentials;
use crate::discovery::{self, ProviderInfo};
use crate::error::{Error, Result};
use crate::flow::{self, ClientConfig};
use crate::loopback::{Callback, CallbackParams, Listener, Page};
use crate::par;
use crate::profile::{ClientAuth, Profile};
use crate::secret::SecretString;

/// Everything the code exchange and what follows it need.
struct CodeExchange<'a> {
    profile: &'a Profile,
    provider: &'a ProviderInfo,
    client: &'a flow::OAuthClient,
    request: flow::AuthorizationRequest,
    code: oauth2::AuthorizationCode,
    secret: Option<&'a SecretString>,
    waits: Waits<'a>,
}

impl Engine {
    /// Signs in. `opts.cancel` stops it at any stage: discovery and the wait for the browser at
    /// once; once the code is on its way to the provider, the exchange is let finish (bounded
    /// by the HTTP timeouts) so that what it issued can be revoked rather than left behind, and
    /// the wait for the lock ends at once too. Only a keychain write already under way is let
    /// finish (bounded by the keychain timeout).
    pub async fn login(&self, name: &str, mut opts: LoginOptions) -> Result<LoginOutcome> {
        let profile = self.profiles.get(name)?;
        let mut pasted = opts.pasted.take();
        let emit = |e: LoginEvent| {
            if let Some(sink) = &opts.events {
                sink(&e);
            }
        };
        // Check the keychain while discovery runs: better to fail now than after the person
        // has signed in at the provider.
        let probe = {
            let (vault, name) = (self.vault.clone(), profile.name.clone());
            tokio::task::spawn_blocking(move || vault.prepare_session_write(&name).map(drop))
        };
        let http = &self.http(&profile)?;
        let prepared = async {
            let provider = discovery::resolve(http, &profile).await?;
            tracing::debug!(
                source = ?provider.source,
                token_endpoint = %provider.token_endpoint,
                iss_parameter = provider.iss_parameter_supported,
                "provider resolved"
            );
            probe
                .await
                .map_err(|e| Error::Internal(format!("background task failed: {e}")))??;
            provider.check_pkce()?;
            let secret = self.client_secret(&profile).await?;
            Ok::<_, Error>((provider, secret))
        };
        let (provider, secret) = tokio::select! {
            biased;
            () = opts.cancel.cancelled() => return Err(Error::Cancelled),
            prepared = prepared => prepared?,
        };
        let chosen = match &opts.flow {
            FlowRequest::Exactly(flow) => *flow,
            FlowRequest::Auto(_) if profile.flow.is_some() => {
                let flow = profile.flow.unwrap_or(SignInFlow::Browser);
                emit(LoginEvent::FlowChosen {
                    flow,
                    reason: "the profile's setting".to_owned(),
                });
                flow
            }
            FlowRequest::Auto(around) => {
                let around = Surroundings {
                    browser_named: around.browser_named || profile.browser.is_some(),
                    ..around.clone()
                };
                let (flow, reason) =
                    around.choose(provider.optional.device_authorization.is_some());
                emit(LoginEvent::FlowChosen {
                    flow,
                    reason: reason.to_owned(),
                });
                flow
            }
        };
        if chosen == SignInFlow::Device {
            return self
                .login_device(&profile, &provider, secret.as_ref(), &opts)
                .await;
        }

        // Bind first: the redirect URI must carry the port actually bound.
        let state = flow::new_state();
        let mut listener = Listener::bind(&profile.redirect, state.secret()).await?;
        let client = flow::client(ClientConfig {
            client_id: &profile.client_id,
            client_secret: secret.as_ref(),
            authorization_endpoint: Some(&provider.authorization_endpoint),
            token_endpoint: &provider.token_endpoint,
            revocation_endpoint: provider.revocation_endpoint.as_ref(),
            redirect_uri: Some(listener.redirect_uri()),
            secret_in_body: profile.client_auth == ClientAuth::Post,
        })?;
        let mut request = flow::authorization_request(&client, &profile, state)?;
        tracing::trace!(?request, "authorization request built");
        if let Some(endpoint) = &provider.optional.par {
            // Pushed whenever offered (RFC 9126 §5: it must be when the provider requires it):
            // the browser then carries only an opaque reference, nothing to read or alter.
            let creds = ClientCredentials {
                client_id: &profile.client_id,
                secret: secret.as_ref(),
                secret_in_body: profile.client_auth == ClientAuth::Post,
            };
            let pushed = par::push(http, endpoint, creds, &request.url);
            request.url = tokio::select! {
                biased;
                () = opts.cancel.cancelled() => return Err(Error::Cancelled),
                pushed = pushed => pushed?,
            };
        } else if provider.optional.require_par {
            return Err(Error::ProviderError(
                "the provider requires pushed authorization requests but names no endpoint for them"
                    .into(),
            ));
        }
        let url = request.url.to_string();
        let browser: Option<Arc<dyn Browser>> = match &opts.browser {
            // Paste-back: the browser is elsewhere; the URL goes to the person.
            _ if chosen == SignInFlow::Paste => None,
            BrowserChoice::System => Some(Arc::new(SystemBrowser {
                profile_command: profile.browser.clone(),
            })),
            BrowserChoice::None => None,
            BrowserChoice::Custom(b) => Some(b.clone()),
        };
        match browser.map(|b| b.open(&url)) {
            Some(Ok(())) => emit(LoginEvent::BrowserOpened { url }),
            Some(Err(e)) => emit(LoginEvent::OpenManually {
                url,
                reason: Some(e.to_string()),
            }),
            None => emit(LoginEvent::OpenManually { url, reason: None }),
        }

        let answer = match wait_for_answer(&mut listener, pasted.as_mut(), &opts, &emit).await {
            Ok(a) => a,
            Err(e) => {
                listener.close().await;
                return Err(e);
            }
        };
        emit(LoginEvent::CallbackReceived);
        let (params, received_at, callback) = match answer {
            Answer::Browser(cb) => {
                let (params, at) = (cb.params, cb.received_at);
                (params, at, Some(cb.responder))
            }
            Answer::Pasted(params) => (params, Instant::now(), None),
        };
        let result = match check_callback(&provider, &params) {
            Ok(code) => {
                // Same lock as refresh, so a refresh racing this sign-in can't overwrite it.
                // Taken, and the entry it replaces read, while the code is being exchanged.
                let lock_and_write = self.lock_and_prepare(&profile);
                self.finish_login(CodeExchange {
                    profile: &profile,
                    provider: &provider,
                    client: &client,
                    request,
                    code,
                    secret: secret.as_ref(),
                    waits: Waits {
                        received_at,
                        lock_and_write,
                        cancel: &opts.cancel,
                    },
                })
                .await
            }
            Err(e) => Err(e),
        };
        if let Some(callback) = callback {
            callback.respond(match &result {
                Ok(_) => Page::Success {
                    profile: profile.name.to_string(),
                },
                Err(e) => Page::Failure {
                    message: format!("{e}. Return to Pixie to try again."),
                },
            });
        }
        listener.close().await;
        result
    }

    async fn finish_login(&self, x: CodeExchange<'_>) -> Result<LoginOutcome> {
        let CodeExchange {
            profile,
            provider,
            client,
            request,
            code,
            secret,
            waits,
        } = x;
        let http = &self.http(profile)?;
        tracing::debug!(endpoint = %provider.token_endpoint, "exchanging the authorization code");
        let exchange_started = Instant::now();
        let response = client
            .exchange_code(code)
            .set_pkce_verifier(request.pkce_verifier)
            .request_async(&http.oauth(crate::http::TOKEN_CAP))
            .await
            .map_err(|e| {
                flow::map_token_error("code exchange", provider.token_endpoint.as_str(), e)
            })?;
        let provider_time = exchange_started.elapsed();
        tracing::trace!(?response, "token response");
        let issued = Issued {
            profile,
            provider,
            secret,
            response: &response,
        };
        let kept = async {
            if waits.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            self.keep_issued(&issued, request.nonce, provider_time, waits)
                .await
        };
        match kept.await {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                // The provider issued a grant nobody will hold: take it back (best effort).
                self.revoke_issued(&issued).await;
                Err(e)
            }
        }
    }
}

/// Where the authorization answer came from.
enum Answer {
    /// The browser reached the loopback listener; its tab waits for a page.
    Browser(Callback),
    /// The person pasted the address (already checked against the redirect URI and `state`).
    Pasted(CallbackParams),
}

/// Waits for the browser's callback, or a good pasted address, until the timeout or cancel.
async fn wait_for_answer(
    listener: &mut Listener,
    mut pasted: Option<&mut tokio::sync::mpsc::Receiver<String>>,
    opts: &LoginOptions,
    emit: &impl Fn(LoginEvent),
) -> Result<Answer> {
    let deadline = tokio::time::Instant::now() + opts.timeout;
    loop {
        let paste = async {
            match pasted.as_deref_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        tokio::select! {
            cb = listener.wait(remaining, &opts.cancel) => {
                return cb.map(Answer::Browser).map_err(|e| match e {
                    Error::Timeout(_) => Error::Timeout(opts.timeout.as_secs()),
                    e => e,
                });
            }
            line = paste => match line {
                Some(line) if line.trim().is_empty() => {}
                Some(line) => match listener.check_pasted(&line) {
                    Ok(params) => return Ok(Answer::Pasted(params)),
                    Err(reason) => emit(LoginEvent::PasteRejected { reason }),
                },
                // Nothing more can be pasted (stdin closed): the browser may still answer.
                None => pasted = None,
            },
        }
    }
}

/// Validates the callback (RFC 9207 `iss` first, also on error answers) and returns the code.
fn check_callback(
    provider: &ProviderInfo,
    params: &CallbackParams,
) -> Result<oauth2::AuthorizationCode> {
    // Explicit endpoints name no issuer; an `iss` that comes anyway must at least be where the
    // sign-in page is, or the answer may come from another provider (mix-up).
    if let (None, Some(got)) = (provider.issuer.as_deref(), params.iss.as_deref()) {
        let same_origin =
            Url::parse(got).is_ok_and(|u| u.origin() == provider.authorization_endpoint.origin());
        if !same_origin {
            return Err(Error::BadCallback(format!(
                "it names issuer `{}`, which is not where this sign-in started ({}) (possible mix-up attack)",
                crate::text::terminal_safe(got),
                provider.authorization_endpoint.origin().ascii_serialization()
            )));
        }
    }
    if let Some(expected) = provider.issuer.as_deref() {
        match params.iss.as_deref() {
            Some(got) if got != expected => {
                return Err(Error::BadCallback(format!(
                    "it names issuer `{got}` but this sign-in is with `{expected}` (possible mix-up attack)"
                )))
            }
            None if provider.iss_parameter_supported => {
                return Err(Error::BadCallback(
                    "the provider promises an `iss` parameter but the answer has none".into(),
                ))
            }
            _ => {}
        }
    }
    if let Some(error) = &params.error {
        let mut msg = error.clone();
        if let Some(d) = &params.error_description {
            msg.push_str(&format!(": {d}"));
        }
        return Err(Error::AuthorizationDenied(msg));
    }
    params
        .code
        .clone()
        .ok_or_else(|| Error::BadCallback("the answer carries no authorization code".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// An engine on a memory store whose one profile's provider is at `issuer`.
    async fn engine_with(
        issuer: &str,
    ) -> (tempfile::TempDir, Arc<crate::vault::MemoryStore>, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(crate::vault::MemoryStore::default());
        let engine = Engine::new(super::super::EngineConfig {
            home: crate::home::PixieHome::at(dir.path().to_path_buf()),
            store: store.clone(),
            clock: Arc::new(crate::clock::SystemClock),
        });
        let profile = Profile::try_from(crate::profile::ProfileRecord {
            name: "p".into(),
            issuer: Some(issuer.into()),
            client_id: "c".into(),
            ..Default::default()
        })
        .unwrap();
        engine.add_profile(profile, None).await.unwrap();
        (dir, store, engine)
    }

    /// The desktop app runs sign-ins on a multi-threaded runtime: the future must be `Send`
    /// (a non-`Send` value held across an await, such as a form serializer, breaks the app).
    #[tokio::test]
    async fn a_sign_in_can_move_between_threads() {
        fn is_send<T: Send>(_: &T) {}
        let (_dir, _store, engine) = engine_with("http://127.0.0.1:9").await;
        let login = engine.login("p", LoginOptions::default());
        is_send(&login);
    }

    fn never() -> LoginOptions {
        LoginOptions {
            browser: BrowserChoice::Custom(Arc::new(crate::browser::NeverBrowser)),
            timeout: Duration::from_secs(5),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_sign_in_that_cannot_finish_never_opens_the_browser() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let (_dir, store, engine) = engine_with(&issuer).await;
        let err = engine.login("p", never()).await.unwrap_err();
        assert!(matches!(err, Error::ProviderUnreachable(_)), "{err}");
        // A keychain that refuses is found before the person signs in, too (explicit
        // endpoints: nothing to discover first).
        let explicit = Profile::try_from(crate::profile::ProfileRecord {
            name: "e".into(),
            authorization_endpoint: Some(format!("{issuer}/authorize")),
            token_endpoint: Some(format!("{issuer}/token")),
            client_id: "c".into(),
            ..Default::default()
        })
        .unwrap();
        engine.add_profile(explicit, None).await.unwrap();
        store.fail_on(crate::vault::StoreOp::Get, "");
        let err = engine.login("e", never()).await.unwrap_err();
        assert!(matches!(err, Error::Keychain(_)), "{err}");
    }
    use crate::discovery::MetadataSource;

    fn provider(iss_supported: bool) -> ProviderInfo {
        let u = |s: &str| Url::parse(s).unwrap();
        ProviderInfo {
            source: MetadataSource::OpenidConfiguration,
            issuer: Some("https://id.example".into()),
            authorization_endpoint: u("https://id.example/auth"),
            token_endpoint: u("https://id.example/token"),
            revocation_endpoint: None,
            userinfo_endpoint: None,
            jwks_uri: None,
            jwks: None,
            scopes_supported: vec![],
            code_challenge_methods_supported: None,
            iss_parameter_supported: iss_supported,
            token_endpoint_auth_methods: vec![],
            id_token_signing_algs: vec![],
            optional: Default::default(),
        }
    }

    fn params(code: Option<&str>, error: Option<&str>, iss: Option<&str>) -> CallbackParams {
        CallbackParams {
            code: code.map(|c| oauth2::AuthorizationCode::new(c.into())),
            error: error.map(str::to_owned),
            error_description: None,
            iss: iss.map(str::to_owned),
        }
    }

    #[test]
    fn iss_is_checked_before_anything_else() {
        let p = provider(true);
        assert!(check_callback(&p, &params(Some("c"), None, Some("https://id.example"))).is_ok());
        let wrong = check_callback(&p, &params(Some("c"), None, Some("https://evil"))).unwrap_err();
        assert!(wrong.to_string().contains("mix-up"));
        let missing = check_callback(&p, &params(Some("c"), None, None)).unwrap_err();
        assert!(missing.to_string().contains("promises an `iss`"));
        // A forged error page from another issuer is a mix-up too, not a denial.
        let forged = check_callback(
            &p,
            &params(None, Some("access_denied"), Some("https://evil")),
        );
        assert!(matches!(forged, Err(Error::BadCallback(_))));
        let denied = check_callback(
            &p,
            &params(None, Some("access_denied"), Some("https://id.example")),
        );
        assert!(matches!(denied, Err(Error::AuthorizationDenied(_))));
        // Providers that don't send `iss` and don't promise it are fine without it.
        assert!(check_callback(&provider(false), &params(Some("c"), None, None)).is_ok());
        // With explicit endpoints (no issuer known), an `iss` must share the sign-in's origin.
        let explicit = ProviderInfo {
            issuer: None,
            ..provider(false)
        };
        assert!(check_callback(&explicit, &params(Some("c"), None, None)).is_ok());
        assert!(check_callback(
            &explicit,
            &params(Some("c"), None, Some("https://id.example/tenant"))
        )
        .is_ok());
        let other = check_callback(&explicit, &params(Some("c"), None, Some("https://evil")));
        assert!(matches!(other, Err(Error::BadCallback(_))), "{other:?}");
    }
}

//! The engine facade the CLI and the desktop app drive: profiles, sign-in, fresh tokens,
//! claims, status and sign-out. Keychain calls (blocking) run on tokio's blocking pool.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use oauth2::basic::BasicTokenType;
use oauth2::{AccessToken, TokenResponse as _};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::browser::{Browser, SystemBrowser};
use crate::claims::{self, NonceCheck, VerifyContext};
use crate::clock::{Clock, SystemClock};
use crate::discovery::{self, ProviderInfo};
use crate::error::{chain, Error, Result};
use crate::flow::{self, ClientConfig};
use crate::home::PixieHome;
use crate::lock;
use crate::loopback::{Listener, Page};
use crate::profile::{Profile, ProfileName, ProfileStore};
use crate::refresh::{self, Flights};
use crate::secret::SecretString;
use crate::session::{IdTokenRecord, IssuedBy, Session, Verification};
use crate::vault::{KeyringStore, SecretStore, Vault};

/// Default time a sign-in waits for the browser.
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(300);
/// Default lifetime a handed-out access token has left at least.
pub const DEFAULT_MIN_VALID: Duration = Duration::from_secs(60);

pub struct EngineConfig {
    pub home: PixieHome,
    pub store: Arc<dyn SecretStore>,
    pub clock: Arc<dyn Clock>,
}

impl EngineConfig {
    /// `$PIXIE_HOME` (or the platform config dir), the OS keychain under `$PIXIE_KEYRING_SERVICE`
    /// (or `pixie`), and the system clock.
    pub fn from_env() -> Result<Self> {
        Ok(Self {
            home: PixieHome::from_env()?,
            store: Arc::new(KeyringStore::from_env()),
            clock: Arc::new(SystemClock),
        })
    }
}

pub struct Engine {
    home: PixieHome,
    profiles: ProfileStore,
    vault: Vault,
    clock: Arc<dyn Clock>,
    http: OnceLock<reqwest::Client>,
    flights: Flights,
}

/// How the browser is opened for a sign-in.
#[derive(Clone)]
pub enum BrowserChoice {
    /// `$BROWSER`, the profile's command, or the platform default.
    System,
    /// Don't open anything: the URL is reported through [`LoginEvent::OpenManually`].
    None,
    Custom(Arc<dyn Browser>),
}

pub type EventSink = Arc<dyn Fn(&LoginEvent) + Send + Sync>;

pub struct LoginOptions {
    pub browser: BrowserChoice,
    pub timeout: Duration,
    pub cancel: CancellationToken,
    pub events: Option<EventSink>,
}

impl Default for LoginOptions {
    fn default() -> Self {
        Self {
            browser: BrowserChoice::System,
            timeout: DEFAULT_LOGIN_TIMEOUT,
            cancel: CancellationToken::new(),
            events: None,
        }
    }
}

/// Progress of a sign-in, for a UI.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LoginEvent {
    /// The browser was asked to open `url`; waiting for its answer.
    BrowserOpened { url: String },
    /// The URL must be opened by hand (`--no-browser`, or the browser failed to start).
    OpenManually { url: String, reason: Option<String> },
    /// The provider answered; exchanging the code.
    CallbackReceived,
}

#[derive(Clone, Debug, Serialize)]
pub struct LoginOutcome {
    pub profile: String,
    pub subject: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub has_refresh_token: bool,
    /// `None` when no ID token was issued (plain OAuth).
    pub id_token_verified: Option<bool>,
    pub id_token_problem: Option<String>,
    pub timings: LoginTimings,
}

/// Where the time went between the browser's callback and the tokens being stored.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LoginTimings {
    pub callback_to_stored: Duration,
    /// Waiting for the provider (token exchange, and a JWKS fetch if one was needed).
    pub provider: Duration,
    /// The keychain's own time to store the session (part of the engine's share).
    pub keychain_write: Duration,
}

/// A fresh access token, ready to hand out.
#[derive(Debug)]
pub struct FreshToken {
    pub access_token: AccessToken,
    pub token_type: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub scopes: Vec<String>,
    pub refreshed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    SignedOut,
    SignedIn,
    /// The access token is due; the next use refreshes it.
    RefreshDue,
    SignInRequired,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProfileStatus {
    pub profile: String,
    pub state: SessionState,
    pub reason: Option<String>,
    pub subject: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub has_refresh_token: bool,
    pub id_token_verified: Option<bool>,
    pub scopes: Vec<String>,
}

/// The claims view: an ID token's claims and verification, without the token.
#[derive(Clone, Debug, Serialize)]
pub struct ClaimsView {
    pub profile: String,
    pub verified: bool,
    pub verification: Verification,
    pub claims: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "revocation", content = "detail", rename_all = "snake_case")]
pub enum Revocation {
    Revoked,
    Skipped,
    NotSupported,
    NothingToRevoke,
    Failed(String),
}

/// What to do with a profile's client secret on edit.
pub enum SecretChange {
    Keep,
    Set(SecretString),
    Remove,
}

pub(crate) fn token_type_name(t: &BasicTokenType) -> String {
    match t {
        BasicTokenType::Bearer => "Bearer".into(),
        other => other.as_ref().to_owned(),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("background task failed: {e}")))?
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        Self {
            profiles: ProfileStore::new(&config.home),
            home: config.home,
            vault: Vault::new(config.store),
            clock: config.clock,
            http: OnceLock::new(),
            flights: Flights::default(),
        }
    }

    pub fn from_env() -> Result<Self> {
        Ok(Self::new(EngineConfig::from_env()?))
    }

    pub fn home(&self) -> &PixieHome {
        &self.home
    }

    pub fn profiles(&self) -> &ProfileStore {
        &self.profiles
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// Built on first use: the cached-token path never pays for TLS setup.
    fn http(&self) -> Result<&reqwest::Client> {
        if let Some(c) = self.http.get() {
            return Ok(c);
        }
        let c = crate::http::client()?;
        Ok(self.http.get_or_init(|| c))
    }

    fn refresh_lock_path(&self, name: &ProfileName) -> std::path::PathBuf {
        self.home.locks_dir().join(format!("{name}.lock"))
    }

    async fn session(&self, name: &ProfileName) -> Result<Option<Session>> {
        let (vault, name) = (self.vault.clone(), name.clone());
        blocking(move || vault.session(&name)).await
    }

    async fn store_session(&self, name: &ProfileName, session: Session) -> Result<()> {
        // Debug of a session is redacted: this line is part of what the leak test checks.
        tracing::trace!(profile = %name, ?session, "storing session");
        let (vault, name) = (self.vault.clone(), name.clone());
        blocking(move || vault.store_session(&name, &session)).await
    }

    async fn client_secret(&self, profile: &Profile) -> Result<Option<SecretString>> {
        if !profile.client_secret_in_keychain {
            return Ok(None);
        }
        let (vault, name) = (self.vault.clone(), profile.name.clone());
        let secret = blocking(move || vault.client_secret(&name)).await?;
        secret.map(Some).ok_or_else(|| {
            Error::InvalidProfile(format!(
                "profile `{}` uses a client secret but none is in the keychain; set it with `pixie profile edit {} --client-secret-stdin`",
                profile.name, profile.name
            ))
        })
    }

    // ---- profiles ----

    /// Adds a profile; its client secret goes to the keychain first, so a keychain failure
    /// leaves no half-made profile.
    pub fn add_profile(&self, mut profile: Profile, secret: Option<SecretString>) -> Result<()> {
        if self.profiles.list()?.iter().any(|p| p.name == profile.name) {
            return Err(Error::DuplicateProfile(profile.name.to_string()));
        }
        profile.client_secret_in_keychain = secret.is_some();
        if let Some(s) = &secret {
            self.vault.set_client_secret(&profile.name, s)?;
        }
        self.profiles.add(profile)
    }

    pub fn update_profile(&self, mut profile: Profile, secret: SecretChange) -> Result<()> {
        match secret {
            SecretChange::Keep => {}
            SecretChange::Set(s) => {
                self.vault.set_client_secret(&profile.name, &s)?;
                profile.client_secret_in_keychain = true;
            }
            SecretChange::Remove => {
                self.vault.delete_client_secret(&profile.name)?;
                profile.client_secret_in_keychain = false;
            }
        }
        self.profiles.replace(profile)
    }

    /// Removes a profile and everything the keychain holds for it (keychain first: if that
    /// fails the profile stays, so nothing is orphaned).
    pub fn remove_profile(&self, name: &str) -> Result<()> {
        let profile = self.profiles.get(name)?;
        self.vault.forget(&profile.name)?;
        self.profiles.remove(&profile.name).map(|_| ())
    }

    pub async fn discover(&self, issuer: &Url) -> Result<ProviderInfo> {
        discovery::discover(self.http()?, issuer).await
    }

    // ---- sign-in ----

    pub async fn login(&self, name: &str, opts: LoginOptions) -> Result<LoginOutcome> {
        let profile = self.profiles.get(name)?;
        let emit = |e: LoginEvent| {
            if let Some(sink) = &opts.events {
                sink(&e);
            }
        };
        // Learn the current session head while discovery and the browser run, so storing the
        // new session after the callback is one keychain write.
        let prefetch = {
            let (vault, name) = (self.vault.clone(), profile.name.clone());
            tokio::task::spawn_blocking(move || vault.prefetch_session_head(&name))
        };
        let http = self.http()?;
        let provider = discovery::resolve(http, &profile).await?;
        tracing::debug!(
            source = ?provider.source,
            token_endpoint = %provider.token_endpoint,
            iss_parameter = provider.iss_parameter_supported,
            "provider resolved"
        );
        prefetch
            .await
            .map_err(|e| Error::Internal(format!("background task failed: {e}")))??;
        provider.check_pkce()?;
        let secret = self.client_secret(&profile).await?;

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
            secret_in_body: secret_in_body(&provider),
        })?;
        let request = flow::authorization_request(&client, &profile, state)?;
        tracing::trace!(?request, "authorization request built");
        let url = request.url.to_string();
        let browser: Option<Arc<dyn Browser>> = match opts.browser {
            BrowserChoice::System => Some(Arc::new(SystemBrowser {
                profile_command: profile.browser.clone(),
            })),
            BrowserChoice::None => None,
            BrowserChoice::Custom(b) => Some(b),
        };
        match browser.map(|b| b.open(&url)) {
            Some(Ok(())) => emit(LoginEvent::BrowserOpened { url }),
            Some(Err(e)) => emit(LoginEvent::OpenManually {
                url,
                reason: Some(e.to_string()),
            }),
            None => emit(LoginEvent::OpenManually { url, reason: None }),
        }

        let callback = listener.wait(opts.timeout, &opts.cancel).await;
        let callback = match callback {
            Ok(cb) => cb,
            Err(e) => {
                listener.close().await;
                return Err(e);
            }
        };
        emit(LoginEvent::CallbackReceived);
        let received_at = callback.received_at;
        // Same lock as refresh, so a refresh racing this sign-in can't overwrite it; taken while
        // the code is being exchanged.
        let lock = tokio::spawn(lock::lock(self.refresh_lock_path(&profile.name)));
        let params = &callback.params;
        let checked = if let Some(error) = &params.error {
            let mut msg = error.clone();
            if let Some(d) = &params.error_description {
                msg.push_str(&format!(": {d}"));
            }
            Err(Error::AuthorizationDenied(msg))
        } else if let Some(bad) = iss_mismatch(&provider, params.iss.as_deref()) {
            Err(Error::BadCallback(bad))
        } else {
            params.code.clone().ok_or_else(|| {
                Error::BadCallback("the answer carries no authorization code".into())
            })
        };
        let result = match checked {
            Ok(code) => {
                self.finish_login(
                    &profile,
                    &provider,
                    &client,
                    request,
                    code,
                    secret.as_ref(),
                    received_at,
                    lock,
                )
                .await
            }
            Err(e) => Err(e),
        };
        callback.respond(match &result {
            Ok(_) => Page::Success {
                profile: profile.name.to_string(),
            },
            Err(e) => Page::Failure {
                message: format!("{e}. Return to Pixie to try again."),
            },
        });
        listener.close().await;
        result
    }

    #[allow(clippy::too_many_arguments)]
    async fn finish_login(
        &self,
        profile: &Profile,
        provider: &ProviderInfo,
        client: &flow::OAuthClient,
        request: flow::AuthorizationRequest,
        code: oauth2::AuthorizationCode,
        secret: Option<&SecretString>,
        received_at: Instant,
        lock: tokio::task::JoinHandle<Result<lock::FileLock>>,
    ) -> Result<LoginOutcome> {
        let http = self.http()?;
        tracing::debug!(endpoint = %provider.token_endpoint, "exchanging the authorization code");
        let exchange_started = Instant::now();
        let response = client
            .exchange_code(code)
            .set_pkce_verifier(request.pkce_verifier)
            .request_async(http)
            .await
            .map_err(|e| {
                flow::map_token_error("code exchange", provider.token_endpoint.as_str(), e)
            })?;
        let mut provider_time = exchange_started.elapsed();
        tracing::trace!(?response, "token response");
        let now = self.clock.now();
        let id_token = match (&response.extra_fields().id_token, &request.nonce) {
            (Some(jwt), nonce) => {
                let started = Instant::now();
                let needs_fetch = provider.jwks.is_none();
                let record = claims::check_id_token(
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
                        now,
                    },
                )
                .await;
                if needs_fetch {
                    provider_time += started.elapsed();
                }
                Some(record)
            }
            (None, Some(_)) => {
                tracing::warn!("asked for an ID token (scope openid) but the provider sent none");
                None
            }
            (None, None) => None,
        };
        let session = Session {
            access_token: response.access_token().clone(),
            token_type: token_type_name(response.token_type()),
            expires_at: response
                .expires_in()
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .map(|d| now + d),
            refresh_token: response.refresh_token().cloned(),
            scopes: response
                .scopes()
                .map(|s| s.iter().map(|s| s.to_string()).collect())
                .unwrap_or_else(|| profile.scopes.clone()),
            id_token,
            issued_by: IssuedBy {
                client_id: profile.client_id.clone(),
                issuer: match &profile.provider {
                    crate::profile::Provider::Issuer { .. } => provider.issuer.clone(),
                    crate::profile::Provider::Endpoints { .. } => None,
                },
                token_endpoint: provider.token_endpoint.to_string(),
                revocation_endpoint: provider.revocation_endpoint.as_ref().map(Url::to_string),
                jwks_uri: provider.jwks_uri.as_ref().map(Url::to_string),
            },
            signed_in_at: now,
            refreshed_at: None,
        };
        let outcome = |session: &Session| LoginOutcome {
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
        let mut out = outcome(&session);
        let _guard = lock
            .await
            .map_err(|e| Error::Internal(format!("lock task failed: {e}")))??;
        let store_started = Instant::now();
        self.store_session(&profile.name, session).await?;
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

    // ---- tokens ----

    /// A fresh access token: the cached one while it has more than `min_valid` left, else one
    /// obtained by refreshing (single-flight within and across processes).
    pub async fn token(&self, name: &str, min_valid: Duration) -> Result<FreshToken> {
        let profile = self.profiles.get(name)?;
        let not_signed_in = || Error::sign_in_required(name, "not signed in (run `pixie login`)");
        let session = self
            .session(&profile.name)
            .await?
            .ok_or_else(not_signed_in)?;
        refresh::check_matches(&profile, &session)?;
        if session.is_fresh(self.clock.now(), min_valid) {
            tracing::trace!(profile = name, "cached access token is fresh");
            return Ok(fresh(session, false));
        }
        tracing::debug!(
            profile = name,
            "access token due; waiting for the refresh lock"
        );
        let flight = self.flights.get(name);
        let _in_process = flight.lock().await;
        let _cross_process = lock::lock(self.refresh_lock_path(&profile.name)).await?;
        // Someone else may have refreshed while we waited.
        let session = self
            .session(&profile.name)
            .await?
            .ok_or_else(not_signed_in)?;
        refresh::check_matches(&profile, &session)?;
        if session.is_fresh(self.clock.now(), min_valid) {
            return Ok(fresh(session, false));
        }
        let secret = self.client_secret(&profile).await?;
        let clock = self.clock.clone();
        let renewed = refresh::refresh_session(
            self.http()?,
            &profile,
            secret.as_ref(),
            &session,
            move || clock.now(),
        )
        .await?;
        self.store_session(&profile.name, renewed.clone()).await?;
        Ok(fresh(renewed, true))
    }

    pub async fn claims(&self, name: &str) -> Result<Option<ClaimsView>> {
        let profile = self.profiles.get(name)?;
        let not_signed_in = || Error::sign_in_required(name, "not signed in (run `pixie login`)");
        let session = self
            .session(&profile.name)
            .await?
            .ok_or_else(not_signed_in)?;
        Ok(session.id_token.map(|r: IdTokenRecord| ClaimsView {
            profile: name.to_owned(),
            verified: r.verification.is_verified(),
            verification: r.verification,
            claims: r.claims,
        }))
    }

    pub async fn status(&self, name: &str) -> Result<ProfileStatus> {
        let profile = self.profiles.get(name)?;
        let session = self.session(&profile.name).await?;
        let now = self.clock.now();
        let mut status = ProfileStatus {
            profile: name.to_owned(),
            state: SessionState::SignedOut,
            reason: None,
            subject: None,
            expires_at: None,
            has_refresh_token: false,
            id_token_verified: None,
            scopes: Vec::new(),
        };
        let Some(s) = session else {
            return Ok(status);
        };
        status.subject = s.subject().map(str::to_owned);
        status.expires_at = s.expires_at;
        status.has_refresh_token = s.refresh_token.is_some();
        status.id_token_verified = s.id_token.as_ref().map(|r| r.verification.is_verified());
        status.scopes = s.scopes.clone();
        status.state = if let Err(e) = refresh::check_matches(&profile, &s) {
            status.reason = Some(e.to_string());
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

    /// Revokes the refresh token at the provider (RFC 7009) unless told not to, then deletes the
    /// profile's session from the keychain. A failed revocation is reported, not fatal.
    pub async fn logout(&self, name: &str, revoke: bool) -> Result<Revocation> {
        let profile = self.profiles.get(name)?;
        let _guard = lock::lock(self.refresh_lock_path(&profile.name)).await?;
        let Some(session) = self.session(&profile.name).await? else {
            return Ok(Revocation::NothingToRevoke);
        };
        let outcome = match (
            revoke,
            &session.refresh_token,
            &session.issued_by.revocation_endpoint,
        ) {
            (false, _, _) => Revocation::Skipped,
            (true, None, _) => Revocation::NothingToRevoke,
            (true, Some(_), None) => Revocation::NotSupported,
            (true, Some(rt), Some(endpoint)) => {
                let secret = self.client_secret(&profile).await?;
                match self.revoke(&session, rt, endpoint, secret.as_ref()).await {
                    Ok(()) => Revocation::Revoked,
                    Err(e) => Revocation::Failed(e),
                }
            }
        };
        let (vault, pname) = (self.vault.clone(), profile.name.clone());
        blocking(move || vault.delete_session(&pname)).await?;
        Ok(outcome)
    }

    /// RFC 7009 revocation of the refresh token. Done with the shared HTTP client directly:
    /// `oauth2` refuses non-https revocation URLs, and Pixie allows http on loopback only
    /// (checked when the endpoint was configured or discovered).
    async fn revoke(
        &self,
        session: &Session,
        rt: &oauth2::RefreshToken,
        endpoint: &str,
        secret: Option<&SecretString>,
    ) -> std::result::Result<(), String> {
        use crate::secret::ExposeSecret;
        let client_id = session.issued_by.client_id.as_str();
        let http = self.http().map_err(|e| e.to_string())?;
        let mut form = vec![
            ("token", rt.secret().as_str()),
            ("token_type_hint", "refresh_token"),
        ];
        let mut req = http.post(endpoint).header("accept", "application/json");
        match secret {
            Some(s) => req = req.basic_auth(client_id, Some(s.expose_secret())),
            None => form.push(("client_id", client_id)),
        }
        let resp = req.form(&form).send().await.map_err(|e| chain(&e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        #[derive(serde::Deserialize)]
        struct OAuthError {
            error: String,
        }
        // Only the `error` code is reported, never the body.
        let code = resp
            .json::<OAuthError>()
            .await
            .map(|e| format!(": {}", e.error))
            .unwrap_or_default();
        Err(format!("HTTP {status}{code}"))
    }
}

fn fresh(session: Session, refreshed: bool) -> FreshToken {
    FreshToken {
        access_token: session.access_token,
        token_type: session.token_type,
        expires_at: session.expires_at,
        scopes: session.scopes,
        refreshed,
    }
}

fn secret_in_body(provider: &ProviderInfo) -> bool {
    let m = &provider.token_endpoint_auth_methods;
    m.iter().any(|a| a == "client_secret_post") && !m.iter().any(|a| a == "client_secret_basic")
}

/// RFC 9207: when the provider sends `iss` (or promises to), it must be the issuer we talk to.
fn iss_mismatch(provider: &ProviderInfo, iss: Option<&str>) -> Option<String> {
    let expected = provider.issuer.as_deref()?;
    match iss {
        Some(got) if got != expected => Some(format!(
            "it names issuer `{got}` but this sign-in is with `{expected}` (possible mix-up attack)"
        )),
        None if provider.iss_parameter_supported => {
            Some("the provider promises an `iss` parameter but the answer has none".into())
        }
        _ => None,
    }
}

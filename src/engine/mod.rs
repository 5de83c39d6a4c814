//! The engine facade the CLI and the desktop app drive: profiles, sign-in, fresh tokens,
//! claims, status and sign-out. Keychain calls (blocking) run on tokio's blocking pool.

mod login;
mod logout;
mod profiles;
mod token;

pub use logout::Revocation;
pub use profiles::ImportReport;
pub use token::{FreshToken, TokenWarning};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::browser::Browser;
use crate::clock::{Clock, SystemClock};
use crate::discovery::{self, ProviderInfo};
use crate::error::{Error, Result};
use crate::home::PixieHome;
use crate::http::Http;
use crate::ledger::{Ledger, Spent};
use crate::lock;
use crate::profile::{Profile, ProfileName, ProfileStore};
use crate::refresh::{self, Flights};
use crate::secret::SecretString;
use crate::session::{Session, Verification};
use crate::vault::{KeyringStore, PendingWrite, SecretStore, Vault};

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
    http: OnceLock<Http>,
    flights: Flights,
    /// Refreshed sessions the keychain would not store, served from memory meanwhile.
    unsaved: Mutex<HashMap<ProfileName, token::Unsaved>>,
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
    /// When the current access token was obtained (sign-in or last refresh).
    pub issued_at: Option<DateTime<Utc>>,
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

/// What the access token says about itself, for display. Never the token.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccessTokenView {
    /// A JWT: its header and claims, decoded without verification (only its audience, the
    /// resource server, can verify it).
    Jwt {
        header: serde_json::Value,
        claims: serde_json::Value,
    },
    /// Not a JWT: only the resource server knows what it means.
    Opaque,
}

/// Everything the claims view shows for a signed-in profile.
#[derive(Clone, Debug, Serialize)]
pub struct Inspection {
    pub id_token: Option<ClaimsView>,
    pub access_token: AccessTokenView,
    pub token_type: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What to do with a profile's client secret on edit.
pub enum SecretChange {
    Keep,
    Set(SecretString),
    Remove,
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
            unsaved: Mutex::default(),
        }
    }

    pub fn from_env() -> Result<Self> {
        Ok(Self::new(EngineConfig::from_env()?))
    }

    /// The engine's clock: fronts and the scheduler read time here, so a test's fixed clock
    /// rules them all.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn profiles(&self) -> &ProfileStore {
        &self.profiles
    }

    /// Built on first use: the cached-token path never pays for TLS setup.
    fn http(&self) -> Result<&Http> {
        if let Some(c) = self.http.get() {
            return Ok(c);
        }
        let c = Http::new()?;
        Ok(self.http.get_or_init(|| c))
    }

    /// The profile's session lock, held across refresh, sign-in, sign-out and edits.
    async fn lock_session(&self, name: &ProfileName) -> Result<lock::FileLock> {
        lock::lock(self.home.session_lock(name), lock::SESSION_LOCK_WAIT).await
    }

    /// The profile and its session, or "sign-in required".
    async fn signed_in(&self, name: &str) -> Result<(Profile, Session)> {
        let profile = self.profiles.get(name)?;
        let session = self.session(&profile.name).await?;
        session
            .map(|s| (profile, s))
            .ok_or_else(|| not_signed_in(name))
    }

    /// The session: one the keychain refused (still in memory) first, else the stored one.
    async fn session(&self, name: &ProfileName) -> Result<Option<Session>> {
        if let Some(s) = self.unsaved_session(name) {
            return Ok(Some(s));
        }
        let (vault, name) = (self.vault.clone(), name.clone());
        blocking(move || vault.session(&name)).await
    }

    fn ledger(&self, name: &ProfileName) -> Ledger {
        Ledger::at(self.home.ledger_file(name))
    }

    fn unsaved(&self) -> std::sync::MutexGuard<'_, HashMap<ProfileName, token::Unsaved>> {
        self.unsaved.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn unsaved_session(&self, name: &ProfileName) -> Option<Session> {
        self.unsaved().get(name).map(|u| u.session.clone())
    }

    fn unsaved_warning(&self, name: &ProfileName) -> Option<TokenWarning> {
        self.unsaved().get(name).map(|u| u.warning.clone())
    }

    fn keep_unsaved(
        &self,
        name: &ProfileName,
        session: Session,
        warning: TokenWarning,
        parent: Option<oauth2::RefreshToken>,
    ) {
        let unsaved = token::Unsaved {
            session,
            warning,
            parent,
        };
        self.unsaved().insert(name.clone(), unsaved);
    }

    /// The keychain's refresh token that a session held in memory descends from.
    fn unsaved_parent(&self, name: &ProfileName) -> Option<oauth2::RefreshToken> {
        self.unsaved().get(name).and_then(|u| u.parent.clone())
    }

    fn forget_unsaved(&self, name: &ProfileName) {
        self.unsaved().remove(name);
    }

    /// Writes a session with the profile's lock held (read the head, then write).
    async fn store_session_locked(&self, name: &ProfileName, session: &Session) -> Result<()> {
        let (vault, n) = (self.vault.clone(), name.clone());
        let pending = blocking(move || vault.prepare_session_write(&n)).await?;
        self.commit_session(name, pending, session.clone()).await
    }

    /// Tries again to store a session the keychain refused; the caller holds the lock. Only
    /// while the keychain still holds the token it was refreshed from (or this one, from a
    /// write that landed late): if another process signed in or out meanwhile, the session in
    /// memory is dropped rather than written over theirs, and its token is never sent.
    async fn store_unsaved_locked(&self, name: &ProfileName) {
        let Some(session) = self.unsaved_session(name) else {
            return;
        };
        let parent = self.unsaved_parent(name);
        let (vault, n) = (self.vault.clone(), name.clone());
        let (stored, pending) = match blocking(move || vault.session_for_update(&n)).await {
            Ok(read) => read,
            Err(e) => {
                tracing::debug!(profile = %name, error = %e, "the keychain still refuses");
                return;
            }
        };
        let secret = |t: &Option<oauth2::RefreshToken>| t.as_ref().map(|t| t.secret().clone());
        let held = stored.as_ref().and_then(|s| secret(&s.refresh_token));
        let ours =
            held.is_some() && (held == secret(&parent) || held == secret(&session.refresh_token));
        if !ours {
            tracing::info!(profile = %name, "the keychain holds another session now; dropping the one kept in memory");
            self.forget_unsaved(name);
            return;
        }
        match self.commit_session(name, pending, session.clone()).await {
            Ok(()) => {
                tracing::info!(profile = %name, "the keychain took the session kept in memory");
                self.forget_unsaved(name);
                if let Some(rt) = &session.refresh_token {
                    if let Err(e) = self.ledger(name).settle(rt) {
                        tracing::warn!(error = %e, "could not clear the refresh record");
                    }
                }
            }
            Err(e) => tracing::debug!(profile = %name, error = %e, "the keychain still refuses"),
        }
    }

    /// Drops what is kept about a session that is gone or replaced (a sign-out, a new sign-in).
    fn forget_session_records(&self, name: &ProfileName) {
        self.forget_unsaved(name);
        if let Err(e) = self.ledger(name).clear() {
            tracing::warn!(profile = %name, error = %e, "could not remove the refresh record");
        }
    }

    /// Tries again to store every refreshed session the keychain refused (a long-running front
    /// calls this now and then).
    pub async fn retry_unsaved(&self) {
        let names: Vec<ProfileName> = self.unsaved().keys().cloned().collect();
        for name in names {
            if let Ok(_guard) = self.lock_session(&name).await {
                self.store_unsaved_locked(&name).await;
            }
        }
    }

    async fn session_for_update(
        &self,
        name: &ProfileName,
    ) -> Result<(Option<Session>, PendingWrite)> {
        let (vault, name) = (self.vault.clone(), name.clone());
        blocking(move || vault.session_for_update(&name)).await
    }

    /// Stores a session; the caller holds the profile's lock since `pending` was read. A
    /// failed keychain write is tried again (twice) before giving up, because after a refresh
    /// the provider has already retired the previous refresh token.
    async fn commit_session(
        &self,
        name: &ProfileName,
        pending: PendingWrite,
        session: Session,
    ) -> Result<()> {
        // Debug of a session is redacted: this line is part of what the leak test checks.
        tracing::trace!(profile = %name, ?session, "storing session");
        let session = Arc::new(session);
        let mut attempt = 0;
        loop {
            let (vault, p, s) = (self.vault.clone(), pending.clone(), session.clone());
            match blocking(move || vault.commit_session(p, &s)).await {
                Ok(()) => return Ok(()),
                Err(e) if attempt < 2 => {
                    tracing::warn!(error = %e, "keychain write failed; trying again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
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

    /// Discovers a provider from its issuer identifier, exactly as the provider spells it.
    pub async fn discover(&self, issuer: &str) -> Result<ProviderInfo> {
        discovery::discover(self.http()?, issuer).await
    }

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

    pub async fn status(&self, name: &str) -> Result<ProfileStatus> {
        self.status_of(self.profiles.get(name)?).await
    }

    /// Every profile's status, in file order (one read of the profile file).
    pub async fn statuses(&self) -> Result<Vec<ProfileStatus>> {
        self.statuses_of(self.profiles.list()?).await
    }

    /// The statuses of profiles the caller has already read, in their order.
    pub async fn statuses_of(&self, profiles: Vec<Profile>) -> Result<Vec<ProfileStatus>> {
        use futures_util::{StreamExt, TryStreamExt};
        // Each status is a keychain read, mostly waiting on D-Bus: a few at a time.
        futures_util::stream::iter(profiles)
            .map(|profile| self.status_of(profile))
            .buffered(8)
            .try_collect()
            .await
    }

    async fn status_of(&self, profile: Profile) -> Result<ProfileStatus> {
        let name = profile.name.as_str();
        let (session, unreadable) = match self.session(&profile.name).await {
            Ok(s) => (s, None),
            Err(e @ Error::CorruptSession { .. }) => (None, Some(e.to_string())),
            Err(e) => return Err(e),
        };
        let now = self.clock.now();
        let mut status = ProfileStatus {
            profile: name.to_owned(),
            state: SessionState::SignedOut,
            reason: None,
            subject: None,
            issued_at: None,
            expires_at: None,
            has_refresh_token: false,
            id_token_verified: None,
            scopes: Vec::new(),
        };
        if let Some(reason) = unreadable {
            status.state = SessionState::SignInRequired;
            status.reason = Some(reason);
        }
        let Some(s) = session else {
            return Ok(status);
        };
        status.subject = s.subject().map(str::to_owned);
        status.expires_at = s.expires_at;
        status.issued_at = Some(s.refreshed_at.unwrap_or(s.signed_in_at));
        status.has_refresh_token = s.refresh_token.is_some();
        status.id_token_verified = s.id_token.as_ref().map(|r| r.verification.is_verified());
        status.scopes = s.scopes.clone();
        let unsaved = self.unsaved_warning(&profile.name);
        let spent = match (&s.refresh_token, &unsaved) {
            (Some(rt), None) => {
                let lock = self.home.session_lock(&profile.name);
                // A record that cannot be read blocks the token as surely as one that says so.
                self.ledger(&profile.name)
                    .spent(rt, || lock::is_held(&lock))
                    .unwrap_or_else(|e| {
                        Some(Spent {
                            reason: e.to_string(),
                            at: now,
                        })
                    })
            }
            _ => None,
        };
        if let Some(TokenWarning::NotStored { reason, .. }) = unsaved {
            status.reason = Some(format!(
                "refreshed, but the keychain would not store it ({reason}); kept in memory and tried again"
            ));
        }
        status.state = if let Err(e) = refresh::check_matches(&profile, &s) {
            status.reason = Some(e.detail());
            SessionState::SignInRequired
        } else if let Some(spent) = spent {
            status.reason = Some(spent.reason);
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
}

fn not_signed_in(name: &str) -> Error {
    Error::sign_in_required(name, "not signed in (run `pixie login`)")
}

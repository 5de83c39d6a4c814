//! The engine facade the CLI and the desktop app drive: profiles, sign-in, fresh tokens,
//! claims, status and sign-out. Keychain calls (blocking) run on tokio's blocking pool.

mod browser_logout;
mod device;
mod flow_choice;
mod inspect;
mod issued;
mod login;
mod logout;
mod profiles;
mod reject;
mod status;
mod token;

pub use crate::device::DeviceCode;
pub use browser_logout::{BrowserLogout, NoBrowserLogout};
pub use flow_choice::{FlowRequest, SignInFlow, Surroundings};
pub use inspect::{AccessTokenView, ClaimsView, Inspection};
pub use logout::Revocation;
pub use profiles::ImportReport;
pub use status::{ProfileStatus, SessionState};
pub use token::{Cached, FreshToken, TokenDue, TokenWarning};

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
use crate::ledger::Ledger;
use crate::lock;
use crate::profile::{Profile, ProfileName, ProfileStore};
use crate::refresh::Flights;
use crate::secret::SecretString;
use crate::session::Session;
use crate::vault::{KeyringStore, PendingWrite, SecretStore, Vault};

/// Default time a sign-in waits for the browser.
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(300);
/// Default lifetime a handed-out access token has left at least.
pub const DEFAULT_MIN_VALID: Duration = Duration::from_secs(60);

/// What an [`Engine`] is built on: where its files live, where secrets go, and which clock it
/// reads. Tests swap the store and the clock; [`EngineConfig::from_env`] gives the real ones.
pub struct EngineConfig {
    /// Where the profile file, locks and refresh records live.
    pub home: PixieHome,
    /// Where sessions and client secrets are kept: the OS keychain, or a stand-in in tests.
    pub store: Arc<dyn SecretStore>,
    /// The time every expiry decision is made against.
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

/// The engine facade: every operation the fronts perform on profiles and their sessions
/// (sign-in, fresh tokens, claims, status, sign-out).
pub struct Engine {
    home: PixieHome,
    profiles: ProfileStore,
    vault: Vault,
    clock: Arc<dyn Clock>,
    http: OnceLock<Http>,
    flights: Flights,
    /// Refreshed sessions the keychain would not store, served from memory meanwhile.
    unsaved: Mutex<HashMap<ProfileName, token::Unsaved>>,
    /// Sessions as last read, with the change stamp read before them; `None` unless
    /// [`Engine::keep_sessions_in_memory`] was called.
    cache: Mutex<Option<HashMap<ProfileName, (String, Session)>>>,
    /// One keychain read per profile at a time when sessions are kept: a burst of requests
    /// that all miss the copy reads the keychain once, not once each.
    reads: Flights,
}

/// How the browser is opened for a sign-in.
#[derive(Clone)]
pub enum BrowserChoice {
    /// `$BROWSER`, the profile's command, or the platform default.
    System,
    /// Don't open anything: the URL is reported through [`LoginEvent::OpenManually`].
    None,
    /// A browser the caller supplies (the desktop app's opener, a test's HTTP client).
    Custom(Arc<dyn Browser>),
}

/// Where a sign-in reports its progress ([`LoginEvent`]s), e.g. to a UI.
pub type EventSink = Arc<dyn Fn(&LoginEvent) + Send + Sync>;

/// How a sign-in runs. The default opens the system browser, waits up to
/// [`DEFAULT_LOGIN_TIMEOUT`] and reports no events.
pub struct LoginOptions {
    /// How the authorization URL is opened.
    pub browser: BrowserChoice,
    /// How long to wait for the browser's answer before giving up ([`crate::Error::Timeout`]).
    pub timeout: Duration,
    /// Cancelling it stops the sign-in with [`crate::Error::Cancelled`] (see [`Engine::login`]).
    pub cancel: CancellationToken,
    /// Receives the sign-in's progress, if anyone listens.
    pub events: Option<EventSink>,
    /// Browser, device grant or paste-back; or chosen from the surroundings.
    pub flow: FlowRequest,
    /// Addresses the person pastes (paste-back): each is checked as the loopback listener
    /// checks a callback, and the first good one is taken. `None`: nothing can be pasted.
    pub pasted: Option<tokio::sync::mpsc::Receiver<String>>,
}

impl Default for LoginOptions {
    fn default() -> Self {
        Self {
            browser: BrowserChoice::System,
            timeout: DEFAULT_LOGIN_TIMEOUT,
            cancel: CancellationToken::new(),
            events: None,
            flow: FlowRequest::default(),
            pasted: None,
        }
    }
}

/// Progress of a sign-in, for a UI.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LoginEvent {
    /// The browser was asked to open `url`; waiting for its answer.
    BrowserOpened {
        /// The authorization URL.
        url: String,
    },
    /// The URL must be opened by hand (`--no-browser`, or the browser failed to start).
    OpenManually {
        /// The authorization URL.
        url: String,
        /// Why the browser could not open it; `None` when none was to be opened.
        reason: Option<String>,
    },
    /// The provider answered; exchanging the code.
    CallbackReceived,
    /// `--flow auto` chose this flow, for this reason.
    FlowChosen {
        /// The flow taken.
        flow: SignInFlow,
        /// What in the surroundings decided it.
        reason: String,
    },
    /// Device grant: show the person this code and where to enter it; polling has begun.
    DeviceCode {
        /// The code and its pages.
        code: DeviceCode,
    },
    /// Paste-back: a pasted address was not this sign-in's answer; waiting for another.
    PasteRejected {
        /// Why it was not taken.
        reason: String,
    },
}

/// What a completed sign-in stored, for the front to report. Holds no token.
#[derive(Clone, Debug, Serialize)]
pub struct LoginOutcome {
    /// The profile signed in to.
    pub profile: String,
    /// The ID token's `sub` claim, when there is an ID token.
    pub subject: Option<String>,
    /// When the access token expires; `None` when the provider did not say.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether the provider issued a refresh token (without one, expiry means signing in again).
    pub has_refresh_token: bool,
    /// `None` when no ID token was issued (plain OAuth).
    pub id_token_verified: Option<bool>,
    /// Why the ID token could not be verified, when it could not.
    pub id_token_problem: Option<String>,
    /// Where the time went after the browser's answer.
    pub timings: LoginTimings,
}

/// Where the time went between the browser's callback and the tokens being stored.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LoginTimings {
    /// From the browser's callback to the session being in the keychain, in all.
    pub callback_to_stored: Duration,
    /// Waiting for the provider (token exchange, and a JWKS fetch if one was needed).
    pub provider: Duration,
    /// The keychain's own time to store the session (part of the engine's share).
    pub keychain_write: Duration,
}

/// What to do with a profile's client secret on edit.
pub enum SecretChange {
    /// Leave the stored secret as it is; but if the edit points the profile at another provider
    /// or client, the old secret is deleted, since it belongs to the old one.
    Keep,
    /// Store this secret in the keychain for the profile.
    Set(SecretString),
    /// Delete the profile's secret: it becomes a public client.
    Remove,
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("background task failed: {e}")))?
}

impl Engine {
    /// An engine over `config`'s home, store and clock. Nothing is read until first use.
    pub fn new(config: EngineConfig) -> Self {
        Self {
            profiles: ProfileStore::new(&config.home),
            vault: Vault::new(config.store).with_stamps(config.home.clone()),
            home: config.home,
            clock: config.clock,
            http: OnceLock::new(),
            flights: Flights::default(),
            unsaved: Mutex::default(),
            cache: None.into(),
            reads: Flights::default(),
        }
    }

    /// For a long-running front (the token broker, the desktop app): sessions read from the
    /// keychain are kept in memory and read again only when some Pixie process has changed
    /// them (each change renews a stamp file beside the profile file). A fresh access token is
    /// then handed out without a keychain call; a refresh still goes the usual way, under the
    /// session lock and with the keychain read again.
    pub fn keep_sessions_in_memory(&self) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get_or_insert_with(HashMap::new);
    }

    /// An engine over the real home, keychain and clock (see [`EngineConfig::from_env`]).
    pub fn from_env() -> Result<Self> {
        Ok(Self::new(EngineConfig::from_env()?))
    }

    /// The engine's clock: fronts and the scheduler read time here, so a test's fixed clock
    /// rules them all.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The profile file, for reading profiles. Changes go through the engine's methods, which
    /// keep the keychain in step.
    pub fn profiles(&self) -> &ProfileStore {
        &self.profiles
    }

    /// Built on first use: the cached-token path never pays for TLS setup.
    /// The HTTP client for `profile`'s provider: the shared one, or one that also trusts the
    /// profile's CA file (built per call: the file may change while the app runs).
    fn http(&self, profile: &Profile) -> Result<Http> {
        self.http_with(profile.ca_file.as_deref())
    }

    fn http_with(&self, ca_file: Option<&std::path::Path>) -> Result<Http> {
        if let Some(ca) = ca_file {
            return Http::with_ca_file(ca);
        }
        if let Some(c) = self.http.get() {
            return Ok(c.clone());
        }
        let c = Http::new()?;
        Ok(self.http.get_or_init(|| c).clone())
    }

    /// The profile's session lock, held across refresh, sign-in, sign-out and edits.
    async fn lock_session(&self, name: &ProfileName) -> Result<lock::FileLock> {
        lock::lock(self.home.session_lock(name), lock::SESSION_LOCK_WAIT).await
    }

    /// The profile and its session, or "sign-in required".
    async fn signed_in(&self, name: &str) -> Result<(Profile, Session)> {
        let profile = self.profiles.get(name)?;
        let session = self.session_kept(&profile.name).await?;
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

    /// [`Engine::session`], from memory when sessions are kept there and no Pixie process has
    /// changed this one since it was read.
    fn keeps_sessions(&self) -> bool {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    async fn session_kept(&self, name: &ProfileName) -> Result<Option<Session>> {
        if !self.keeps_sessions() || self.unsaved_session(name).is_some() {
            return self.session(name).await;
        }
        // The stamp is read before the keychain: a change after this renews it, and the next
        // read sees that. Without a stamp nothing is trusted.
        // A local file of 32 bytes: read in place, faster than a trip to the blocking pool.
        let Some(stamp) = self.vault.stamp(name) else {
            return self.session(name).await;
        };
        let kept = |stamp: &str| {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            let (at, session) = cache.as_ref()?.get(name)?;
            (at == stamp).then(|| session.clone())
        };
        if let Some(session) = kept(&stamp) {
            return Ok(Some(session));
        }
        let gate = self.reads.get(name.as_str());
        let _reading = gate.lock().await;
        // Another request may have read it (or this process written it) meanwhile.
        let Some(stamp) = self.vault.stamp(name) else {
            return self.session(name).await;
        };
        if let Some(session) = kept(&stamp) {
            return Ok(Some(session));
        }
        let session = self.session(name).await?;
        if let Some(map) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            match &session {
                Some(s) => map.insert(name.clone(), (stamp, s.clone())),
                None => map.remove(name),
            };
        }
        Ok(session)
    }

    /// After this process wrote `session` (holding the session lock): kept in memory with the
    /// stamp the write left, when sessions are kept.
    fn keep(&self, name: &ProfileName, session: &Session) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(map) = cache.as_mut() {
            match self.vault.stamp(name) {
                Some(stamp) => map.insert(name.clone(), (stamp, session.clone())),
                None => map.remove(name),
            };
        }
    }

    fn ledger(&self, name: &ProfileName) -> Ledger {
        Ledger::at(self.home.ledger_file(name))
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
                Ok(()) => {
                    // Written under the session lock, so the stamp read now is this write's.
                    self.keep(name, &session);
                    return Ok(());
                }
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
        secret.map(Some).ok_or_else(|| Error::MissingClientSecret {
            profile: profile.name.to_string(),
        })
    }

    /// Discovers a provider from its issuer identifier, exactly as the provider spells it.
    pub async fn discover(&self, issuer: &str) -> Result<ProviderInfo> {
        discovery::discover(&self.http_with(None)?, issuer).await
    }
}

fn not_signed_in(name: &str) -> Error {
    Error::sign_in_required(name, "not signed in")
}

/// Fixtures for the in-process tests beside each operation.
#[cfg(test)]
pub(crate) mod test_support {
    use std::sync::Arc;

    use super::{Engine, EngineConfig};
    use crate::home::PixieHome;
    use crate::profile::{Profile, ProfileRecord};
    use crate::vault::MemoryStore;

    /// An engine on `store` in `dir` (several may share them, as processes on one machine do).
    pub(crate) fn engine(dir: &tempfile::TempDir, store: &Arc<MemoryStore>) -> Engine {
        Engine::new(EngineConfig {
            home: PixieHome::at(dir.path().to_path_buf()),
            store: store.clone(),
            clock: Arc::new(crate::clock::SystemClock),
        })
    }

    /// Profile `p`: the public client `c` at explicit endpoints under `base`.
    pub(crate) fn profile_at(base: &str) -> Profile {
        Profile::try_from(ProfileRecord {
            name: "p".into(),
            authorization_endpoint: Some(format!("{base}/authorize")),
            token_endpoint: Some(format!("{base}/token")),
            client_id: "c".into(),
            ..Default::default()
        })
        .unwrap()
    }
}

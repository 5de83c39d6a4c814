//! Pixie's sign-in engine: provider profiles, discovery, the Authorization Code + PKCE flow over a
//! loopback redirect, the keychain-backed token vault and single-flight refresh.
//!
//! Nothing here knows about Tauri: the desktop app and the `pixie` CLI are thin fronts over
//! [`Engine`]. The public surface is the facade (`engine`), the profile model, the scheduler a
//! long-running front drives, the token broker a long-running front serves (`broker`), text
//! safety for output, and the few types the fronts and tests plug in (store, clock, browser);
//! everything else is the engine's own business.

#![warn(missing_docs)]

pub mod autorefresh;
pub mod broker;
pub mod engine;
#[doc(hidden)]
pub mod fuzzing;
pub mod profile;
pub mod text;

pub(crate) mod browser;
pub(crate) mod claims;
pub(crate) mod client_auth;
pub(crate) mod clock;
pub(crate) mod device;
pub(crate) mod discovery;
pub(crate) mod error;
pub(crate) mod flow;
pub(crate) mod home;
pub(crate) mod http;
pub(crate) mod ledger;
pub(crate) mod lock;
pub(crate) mod logging;
pub(crate) mod loopback;
pub(crate) mod par;
pub(crate) mod refresh;
pub(crate) mod secret;
pub(crate) mod session;
pub(crate) mod vault;

pub use browser::{run_command, Browser, SystemBrowser};
pub use clock::{Clock, SystemClock};
pub use engine::{Engine, EngineConfig, LoginEvent, LoginOptions, LoginOutcome, ProfileStatus};
pub use error::{Error, ErrorKind, Result};
pub use home::PixieHome;
pub use logging::init as init_logging;
pub use profile::{Profile, ProfileField, ProfileName};
pub use secret::{ExposeSecret, SecretString};
pub use session::Verification;
pub use vault::{KeyringStore, MemoryStore, SecretStore, StoreOp, Vault};

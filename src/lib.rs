//! Pixie's sign-in engine: provider profiles, discovery, the Authorization Code + PKCE flow over a
//! loopback redirect, the keychain-backed token vault and single-flight refresh.
//!
//! Nothing here knows about Tauri: the desktop app and the `pixie` CLI are thin fronts over
//! [`Engine`].

pub mod autorefresh;
pub mod browser;
pub mod claims;
pub mod clock;
pub mod discovery;
pub mod engine;
pub mod error;
pub mod flow;
#[doc(hidden)]
pub mod fuzzing;
pub mod home;
pub mod http;
pub mod ledger;
pub mod lock;
pub mod logging;
pub mod loopback;
pub mod profile;
pub mod refresh;
pub mod secret;
pub mod session;
pub mod text;
pub mod vault;

pub use engine::{Engine, EngineConfig, LoginEvent, LoginOptions, LoginOutcome, ProfileStatus};
pub use error::{Error, ErrorKind, Result};
pub use profile::{Profile, ProfileName};

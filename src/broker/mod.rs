//! The token broker: one long-running process (`pixie agent`, or the desktop app) answers
//! `token`, `status` and `claims` for every tool of the same user over a Unix socket, through
//! one [`crate::Engine`]. While it runs it is the only process that spends refresh tokens, and
//! it notes who asked.
//!
//! One file per concern: [`protocol`] (frames and messages), `server` ([`Broker`]: the socket,
//! the peer checks, the callers' log), `client` ([`Client`]: ask a broker, or learn that none
//! answers), `place` (where the socket lives and how its directory is kept private).

pub mod protocol;

#[cfg(unix)]
mod client;
#[cfg(unix)]
mod place;
#[cfg(unix)]
mod server;

#[cfg(unix)]
pub use client::{Asked, Client};
#[cfg(not(unix))]
pub use elsewhere::{Asked, Client};
#[cfg(unix)]
pub use place::{current_uid, socket_path};
#[cfg(unix)]
pub use server::{
    AllowAll, Broker, BrokerConfig, Caller, CallerLog, Decision, Outcome, Peer, Policy,
};

use std::path::PathBuf;

/// Without Unix sockets no broker answers, and callers read the keychain themselves.
#[cfg(not(unix))]
mod elsewhere {
    use std::time::Duration;

    use super::protocol::FrameError;
    use crate::engine::{ClaimsView, FreshToken, ProfileStatus};
    use crate::error::Result;

    /// See the Unix `Client`: here none ever connects.
    pub enum Client {}

    /// See the Unix `Asked`.
    pub type Asked<T> = std::result::Result<Result<T>, FrameError>;

    impl Client {
        /// Always `None`: no broker on this platform.
        pub fn connect() -> Option<Self> {
            None
        }
        /// Unreachable: no client exists.
        pub fn token(&mut self, _: &str, _: Duration) -> Asked<FreshToken> {
            match *self {}
        }
        /// Unreachable: no client exists.
        pub fn status(&mut self, _: Option<&str>) -> Asked<Vec<ProfileStatus>> {
            match *self {}
        }
        /// Unreachable: no client exists.
        pub fn claims(&mut self, _: &str) -> Asked<Option<ClaimsView>> {
            match *self {}
        }
    }
}

/// Why a broker could not start, or a socket path could not be found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// Another broker answers on the socket.
    #[error(
        "a token broker is already running on {} ({}); stop it first, or set PIXIE_AGENT_SOCKET to use another socket",
        path.display(),
        pid.map_or("it did not say its pid".to_owned(), |p| format!("pid {p}"))
    )]
    AlreadyRunning {
        /// The socket.
        path: PathBuf,
        /// The running broker's process, when it said.
        pid: Option<u32>,
    },
    /// Something other than a socket is in the way, or the socket's directory is not private.
    #[error("will not serve on {}: {reason}", path.display())]
    Unsafe {
        /// The path refused.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Creating, checking or binding the socket failed.
    #[error("cannot serve on {}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No place for the socket: this platform has no Unix sockets, or no user id was found.
    #[error("no place for the broker's socket: {0}")]
    NoPlace(String),
}

impl From<BrokerError> for crate::Error {
    fn from(e: BrokerError) -> Self {
        crate::Error::Agent {
            kind: crate::ErrorKind::Local,
            message: e.to_string(),
        }
    }
}

//! [`Client`]: asks a running broker. [`Client::connect`] gives `None` quickly when none
//! answers, so that callers fall back to the keychain; a broker's error answer is final.

use std::path::Path;
use std::time::Duration;

use tokio::net::UnixStream;

use super::place::{current_uid, socket_path};
use super::protocol::{self, Body, FrameError, Hello, Op, Request, VERSION};
use crate::engine::{ClaimsView, FreshToken, ProfileStatus};
use crate::error::Result;

/// How long connecting may take before the caller falls back: a live broker accepts at once.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// How long an answer may take: longer than the broker's own limit per request (150 s), since
/// a refresh or a person's "allow?" may be behind it.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(160);

/// A connection to a broker of this user.
pub struct Client {
    stream: UnixStream,
}

/// The broker's answer to a request: `Err` when the exchange itself failed (fall back), else
/// the engine's result as the broker reported it.
pub type Asked<T> = std::result::Result<Result<T>, FrameError>;

impl Client {
    /// The broker at [`socket_path`], or `None` when none answers there.
    pub async fn connect() -> Option<Self> {
        Self::connect_to(&socket_path().ok()?).await
    }

    /// The broker at `path`, or `None` when none answers there, or the one listening is
    /// another user's.
    pub async fn connect_to(path: &Path) -> Option<Self> {
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, UnixStream::connect(path)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::debug!(path = %path.display(), error = %e, "no token broker");
                return None;
            }
            Err(_) => {
                tracing::debug!(path = %path.display(), "the token broker did not accept in time");
                return None;
            }
        };
        // A socket only this user can create, unless the place was taken first: then the
        // listener is someone else's, and its tokens are not to be trusted.
        let server = stream.peer_cred().ok().map(|c| c.uid());
        if server.is_none() || server != current_uid() {
            tracing::warn!(path = %path.display(), uid = ?server, "the socket's listener is another user's; not asking it");
            return None;
        }
        Some(Self { stream })
    }

    async fn ask(&mut self, op: Op) -> std::result::Result<Body, FrameError> {
        let exchange = async {
            protocol::write_message(&mut self.stream, &Request { v: VERSION, op }).await?;
            let payload = protocol::read_frame(&mut self.stream).await?;
            Ok(protocol::decode_answer(&payload)?.body)
        };
        match tokio::time::timeout(ANSWER_TIMEOUT, exchange).await {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::from(std::io::ErrorKind::TimedOut).into()),
        }
    }

    /// The broker's version and pid.
    pub async fn hello(&mut self) -> std::result::Result<Hello, FrameError> {
        match self.ask(Op::Hello).await? {
            Body::Hello(h) => Ok(h),
            other => Err(unexpected(&other)),
        }
    }

    /// A fresh access token, as [`crate::Engine::token`] gives it.
    pub async fn token(&mut self, profile: &str, min_valid: Duration) -> Asked<FreshToken> {
        let op = Op::Token {
            profile: profile.to_owned(),
            min_valid: min_valid.as_secs(),
        };
        match self.ask(op).await? {
            Body::Token(t) => Ok(Ok(t.into())),
            Body::Error(e) => Ok(Err(e.into())),
            other => Err(unexpected(&other)),
        }
    }

    /// One profile's status, or every profile's, as [`crate::Engine::status`] and
    /// [`crate::Engine::statuses`] give them.
    pub async fn status(&mut self, profile: Option<&str>) -> Asked<Vec<ProfileStatus>> {
        let op = Op::Status {
            profile: profile.map(str::to_owned),
        };
        match self.ask(op).await? {
            Body::Status(s) => Ok(Ok(s)),
            Body::Error(e) => Ok(Err(e.into())),
            other => Err(unexpected(&other)),
        }
    }

    /// The ID token's claims, as [`crate::Engine::claims`] gives them.
    pub async fn claims(&mut self, profile: &str) -> Asked<Option<ClaimsView>> {
        let op = Op::Claims {
            profile: profile.to_owned(),
        };
        match self.ask(op).await? {
            Body::Claims(c) => Ok(Ok(c)),
            Body::Error(e) => Ok(Err(e.into())),
            other => Err(unexpected(&other)),
        }
    }
}

fn unexpected(body: &Body) -> FrameError {
    let what = match body {
        Body::Hello(_) => "hello",
        Body::Token(_) => "token",
        Body::Status(_) => "status",
        Body::Claims(_) => "claims",
        Body::Error(_) => "error",
    };
    FrameError::Json(format!("the broker answered with a {what} answer"))
}

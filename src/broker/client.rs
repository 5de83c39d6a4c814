//! [`Client`]: asks a running broker. [`Client::connect`] gives `None` at once when none
//! answers, so that callers fall back to the keychain; a broker's error answer is final.
//!
//! The client blocks, on purpose: `pixie token` through a broker is one connect, one write and
//! one read, and an async runtime would cost more to start than the whole exchange takes. Async
//! callers run it on a blocking thread.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};

use super::place::{current_uid, socket_path};
use super::protocol::{self, Body, FrameError, Hello, Op, Request, VERSION};
use crate::engine::{ClaimsView, FreshToken, ProfileStatus};
use crate::error::Result;

/// How long connecting may take before the caller falls back: a live broker's queue empties
/// at once.
const CONNECT_WAIT: Duration = Duration::from_millis(500);
/// How long sending a request may take: a live broker reads at once.
const SEND_TIMEOUT: Duration = Duration::from_millis(500);
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
    pub fn connect() -> Option<Self> {
        Self::connect_to(&socket_path().ok()?)
    }

    /// The broker at `path`, or `None` when none answers there, or the one listening is
    /// another user's.
    pub fn connect_to(path: &Path) -> Option<Self> {
        let stream = match connect(path) {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "no token broker");
                return None;
            }
        };
        // A socket only this user can create, unless the place was taken first: then the
        // listener is someone else's, and its tokens are not to be trusted.
        let server = peer_uid(&stream);
        if server.is_none() || server != current_uid() {
            tracing::warn!(path = %path.display(), uid = ?server, "the socket's listener is another user's; not asking it");
            return None;
        }
        Some(Self { stream })
    }

    fn ask(&mut self, op: Op) -> std::result::Result<Body, FrameError> {
        let request = protocol::encode(&Request { v: VERSION, op })?;
        self.stream.write_all(&request)?;
        let mut answer = Deadline {
            stream: &mut self.stream,
            until: std::time::Instant::now() + ANSWER_TIMEOUT,
        };
        let payload = protocol::read_frame_blocking(&mut answer)?;
        Ok(protocol::decode_answer(&payload)?.body)
    }

    /// The broker's version and pid.
    pub fn hello(&mut self) -> std::result::Result<Hello, FrameError> {
        match self.ask(Op::Hello)? {
            Body::Hello(h) => Ok(h),
            other => Err(unexpected(&other)),
        }
    }

    /// A fresh access token, as [`crate::Engine::token`] gives it.
    pub fn token(&mut self, profile: &str, min_valid: Duration) -> Asked<FreshToken> {
        let op = Op::Token {
            profile: profile.to_owned(),
            min_valid: min_valid.as_secs(),
        };
        match self.ask(op)? {
            Body::Token(t) => Ok(Ok(t.into())),
            Body::Error(e) => Ok(Err(e.into())),
            other => Err(unexpected(&other)),
        }
    }

    /// One profile's status, or every profile's, as [`crate::Engine::status`] and
    /// [`crate::Engine::statuses`] give them.
    pub fn status(&mut self, profile: Option<&str>) -> Asked<Vec<ProfileStatus>> {
        let op = Op::Status {
            profile: profile.map(str::to_owned),
        };
        match self.ask(op)? {
            Body::Status(s) => Ok(Ok(s)),
            Body::Error(e) => Ok(Err(e.into())),
            other => Err(unexpected(&other)),
        }
    }

    /// The ID token's claims, as [`crate::Engine::claims`] gives them.
    pub fn claims(&mut self, profile: &str) -> Asked<Option<ClaimsView>> {
        let op = Op::Claims {
            profile: profile.to_owned(),
        };
        match self.ask(op)? {
            Body::Claims(c) => Ok(Ok(c)),
            Body::Error(e) => Ok(Err(e.into())),
            other => Err(unexpected(&other)),
        }
    }
}

/// Connects, waiting at most [`CONNECT_WAIT`]. A blocking connect to a Unix socket waits for
/// as long as the listener's queue is full, which a broker that stopped answering (SIGSTOP, a
/// hang) would make endless; a non-blocking one fails with `EAGAIN` instead, and is tried again
/// a little later (a burst of tools fills the queue for moments only).
fn connect(path: &Path) -> std::io::Result<UnixStream> {
    let address = SocketAddrUnix::new(path)?;
    let started = std::time::Instant::now();
    let fd = loop {
        let fd = rustix::net::socket_with(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            None,
        )?;
        match rustix::net::connect(&fd, &address) {
            Ok(()) => break fd,
            Err(e) if e == rustix::io::Errno::AGAIN && started.elapsed() < CONNECT_WAIT => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e.into()),
        }
    };
    rustix::io::ioctl_fionbio(&fd, false)?;
    let stream = UnixStream::from(fd);
    stream.set_write_timeout(Some(SEND_TIMEOUT))?;
    stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
    Ok(stream)
}

/// Reads that end by one deadline for the whole answer: a socket's read timeout is per read,
/// and a peer sending a byte now and then would otherwise hold the caller forever.
struct Deadline<'a> {
    stream: &'a mut UnixStream,
    until: std::time::Instant,
}

impl std::io::Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self
            .until
            .checked_duration_since(std::time::Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(std::io::ErrorKind::TimedOut)?;
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

/// The uid of the process listening on the other end.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn peer_uid(stream: &UnixStream) -> Option<u32> {
    rustix::net::sockopt::socket_peercred(stream)
        .ok()
        .map(|c| c.uid.as_raw())
}

/// Elsewhere there is no safe call for the peer's credentials here yet, so no listener is
/// trusted and callers read the keychain themselves.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn peer_uid(_: &UnixStream) -> Option<u32> {
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_that_trickles_in_ends_at_the_deadline() {
        let (mut ours, mut theirs) = UnixStream::pair().unwrap();
        let sender = std::thread::spawn(move || {
            // A frame of 100 bytes, announced, then sent a byte at a time, slowly.
            let _ = theirs.write_all(&100u32.to_be_bytes());
            for _ in 0..100 {
                if theirs.write_all(b"x").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let started = std::time::Instant::now();
        let mut answer = Deadline {
            stream: &mut ours,
            until: started + Duration::from_millis(300),
        };
        let err = protocol::read_frame_blocking(&mut answer).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2), "{err}");
        drop(ours);
        sender.join().unwrap();
    }

    #[test]
    fn a_socket_nobody_listens_on_is_no_broker() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.sock");
        assert!(Client::connect_to(&path).is_none(), "no file");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        drop(listener);
        assert!(Client::connect_to(&path).is_none(), "a stale socket");
    }

    #[test]
    fn a_listener_whose_queue_stays_full_is_given_up_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.sock");
        // Bound and listening, never accepting: the queue fills up.
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let started = std::time::Instant::now();
        let mut held = Vec::new();
        while let Ok(s) = connect(&path) {
            held.push(s);
            assert!(held.len() < 100_000, "the queue never filled");
        }
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

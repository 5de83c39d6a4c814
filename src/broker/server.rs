//! [`Broker`]: serves the protocol on the user's socket through one [`Engine`]. Same user only
//! (`SO_PEERCRED`), a cap on connections and timeouts on each, a stale socket taken over and a
//! live one left alone, and every caller noted in a bounded [`CallerLog`].

use std::collections::VecDeque;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::Serialize;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::place::{current_uid, prepare_dir, socket_path};
use super::protocol::{self, Answer, Body, FrameError, Hello, Op};
use super::{BrokerError, Client};
use crate::engine::Engine;
use crate::error::Error;

/// Bound on `min_valid`, as the CLI bounds `--min-valid`: a day.
const MAX_MIN_VALID: u64 = 86_400;
/// How many callers the log keeps.
const LOG_CAPACITY: usize = 256;

/// How a broker serves. [`BrokerConfig::from_env`] gives the defaults at the usual place.
pub struct BrokerConfig {
    /// The socket's path.
    pub socket: PathBuf,
    /// Connections served at once; one more is answered "busy" and closed.
    pub max_connections: usize,
    /// How long a peer may take to send a request (or to read the answer).
    pub frame_timeout: Duration,
    /// How long one request may take, the engine's refresh and the policy's question included.
    pub request_timeout: Duration,
    /// Asked before a program gets a profile's token or claims.
    pub policy: Arc<dyn Policy>,
}

impl BrokerConfig {
    /// The socket at [`socket_path`], 1,024 connections, 10 s per frame, 150 s per request, and
    /// every caller of this user allowed.
    pub fn from_env() -> Result<Self, BrokerError> {
        Ok(Self {
            socket: socket_path()?,
            max_connections: 1024,
            frame_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(150),
            policy: Arc::new(AllowAll),
        })
    }
}

/// The process at the other end of a connection, as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Peer {
    /// Its process id, when the platform says.
    pub pid: Option<i32>,
    /// Its user id.
    pub uid: u32,
    /// Its executable (`/proc/<pid>/exe`), when it can be read.
    pub exe: Option<PathBuf>,
}

/// Whether a program may have a profile's token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Answer it.
    Allow,
    /// Refuse it.
    Deny,
}

/// Asked before a program gets a profile's token or claims; the app asks the person ("ask
/// before a new program gets this token").
pub trait Policy: Send + Sync {
    /// Whether `peer` may have `profile`'s token or claims.
    fn ask<'a>(&'a self, peer: &'a Peer, profile: &'a str) -> BoxFuture<'a, Decision>;
}

/// The default policy: every program of this user may ask.
pub struct AllowAll;

impl Policy for AllowAll {
    fn ask<'a>(&'a self, _: &'a Peer, _: &'a str) -> BoxFuture<'a, Decision> {
        Box::pin(std::future::ready(Decision::Allow))
    }
}

/// What came of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Answered with what was asked for.
    Answered,
    /// Answered with an error from the engine (or a timeout).
    Failed,
    /// Refused: another user, or the policy said no.
    Denied,
}

/// One request, noted: who asked, for what, when, and what came of it. Holds no token.
#[derive(Clone, Debug, Serialize)]
pub struct Caller {
    /// Who asked.
    pub peer: Peer,
    /// The operation (`token`, `status`, `claims`, `hello`; `connect` for a peer refused at
    /// once).
    pub op: &'static str,
    /// The profile asked about, if one was.
    pub profile: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// What came of it.
    pub outcome: Outcome,
}

/// The recent callers, newest last, at most 256; shared with the fronts that show them.
#[derive(Clone, Default)]
pub struct CallerLog {
    entries: Arc<Mutex<VecDeque<Caller>>>,
    listener: Arc<Mutex<Option<OnCall>>>,
}

/// What [`CallerLog::on_call`] calls.
type OnCall = Arc<dyn Fn(&Caller) + Send + Sync>;

impl CallerLog {
    /// Every caller kept, oldest first.
    pub fn recent(&self) -> Vec<Caller> {
        self.lock().iter().cloned().collect()
    }

    /// For one profile, each program that asked and when it last did, the latest first:
    /// "kubectl, 2 min ago".
    pub fn programs_for(&self, profile: &str) -> Vec<(Option<PathBuf>, DateTime<Utc>)> {
        let mut seen: Vec<(Option<PathBuf>, DateTime<Utc>)> = Vec::new();
        for c in self.lock().iter().rev() {
            if c.profile.as_deref() == Some(profile) && !seen.iter().any(|(e, _)| *e == c.peer.exe)
            {
                seen.push((c.peer.exe.clone(), c.at));
            }
        }
        seen
    }

    /// Calls `f` with each caller as it is noted (e.g. to refresh a window or print a line).
    pub fn on_call(&self, f: impl Fn(&Caller) + Send + Sync + 'static) {
        *self.listener.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(f));
    }

    fn note(&self, caller: Caller) {
        let listener = self
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(f) = listener {
            f(&caller);
        }
        let mut entries = self.lock();
        if entries.len() == LOG_CAPACITY {
            entries.pop_front();
        }
        entries.push_back(caller);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Caller>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A broker bound to its socket; [`Broker::serve`] answers on it. Dropping it removes the
/// socket (if it is still the one it bound).
pub struct Broker {
    listener: UnixListener,
    path: PathBuf,
    /// The socket file's (device, inode): only that file is removed at the end.
    file: (u64, u64),
    shared: Arc<Shared>,
}

struct Shared {
    engine: Arc<Engine>,
    uid: u32,
    callers: CallerLog,
    policy: Arc<dyn Policy>,
    frame_timeout: Duration,
    request_timeout: Duration,
    max_connections: usize,
}

impl Broker {
    /// Takes the socket: refuses when a broker answers there, removes a stale socket that none
    /// answers on, and binds a new one, 0600 in a directory of this user's.
    pub async fn bind(engine: Arc<Engine>, config: BrokerConfig) -> Result<Self, BrokerError> {
        let path = config.socket;
        let uid = current_uid().ok_or_else(|| BrokerError::NoPlace("no user id".into()))?;
        prepare_dir(&path, uid)?;
        let io = |source| BrokerError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::symlink_metadata(&path) {
            Ok(m) if !m.file_type().is_socket() => {
                return Err(BrokerError::Unsafe {
                    path,
                    reason: "something other than a socket is there".into(),
                })
            }
            Ok(_) => {
                if let Some(pid) = live_broker(&path).await {
                    return Err(BrokerError::AlreadyRunning { path, pid });
                }
                tracing::info!(path = %path.display(), "removing a stale broker socket");
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
                    _ => {}
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        let listener = UnixListener::bind(&path).map_err(io)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        let m = std::fs::symlink_metadata(&path).map_err(io)?;
        Ok(Self {
            listener,
            file: (m.dev(), m.ino()),
            shared: Arc::new(Shared {
                engine,
                uid,
                callers: CallerLog::default(),
                policy: config.policy,
                frame_timeout: config.frame_timeout,
                request_timeout: config.request_timeout,
                max_connections: config.max_connections.max(1),
            }),
            path,
        })
    }

    /// The socket served on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The callers' log, to show who asked.
    pub fn callers(&self) -> CallerLog {
        self.shared.callers.clone()
    }

    /// Answers on the socket until `shutdown` is cancelled, then removes it.
    pub async fn serve(self, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.shared.max_connections));
        loop {
            let stream = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors, most likely: let connections end.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let shared = self.shared.clone();
            match slots.clone().try_acquire_owned() {
                Ok(slot) => {
                    tokio::spawn(async move {
                        shared.connection(stream).await;
                        drop(slot);
                    });
                }
                Err(_) => {
                    tokio::spawn(async move {
                        let busy = Error::Agent {
                            kind: crate::ErrorKind::Local,
                            message: "the token broker is busy; try again".into(),
                        };
                        let _ = shared.send(&mut { stream }, &Answer::error(&busy)).await;
                    });
                }
            }
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Only our socket: a broker started after this one may have taken the path over.
        let ours = std::fs::symlink_metadata(&self.path)
            .map(|m| (m.dev(), m.ino()) == self.file)
            .unwrap_or(false);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether a broker answers on `path`: `Some(its pid)` if so. A refused or timed-out
/// connection means a stale socket.
async fn live_broker(path: &Path) -> Option<Option<u32>> {
    let path = path.to_owned();
    let asked = tokio::task::spawn_blocking(move || {
        let mut client = Client::connect_to(&path)?;
        Some(client.hello())
    });
    match asked.await.ok()?? {
        Ok(hello) => Some(Some(hello.pid)),
        // Something listens but does not speak the protocol: not ours to remove.
        Err(e) => {
            tracing::debug!(error = %e, "the socket's listener did not say hello");
            Some(None)
        }
    }
}

fn peer_of(stream: &UnixStream) -> std::io::Result<Peer> {
    let cred = stream.peer_cred()?;
    let pid = cred.pid();
    Ok(Peer {
        pid,
        uid: cred.uid(),
        exe: pid
            .and_then(|p| std::fs::read_link(format!("/proc/{p}/exe")).ok())
            .map(|exe| as_the_cli(&exe).unwrap_or(exe)),
    })
}

/// `pixie-engine` is the part of `pixie` that the front hands commands to: one program to a
/// person, so it is named as `pixie` beside it (and a program allowed "always" is asked once).
fn as_the_cli(exe: &Path) -> Option<PathBuf> {
    let name = exe.file_name()?.to_str()?;
    let suffix = std::env::consts::EXE_SUFFIX;
    if name.strip_suffix(suffix)? != "pixie-engine" {
        return None;
    }
    let front = exe.with_file_name(format!("pixie{suffix}"));
    front.is_file().then_some(front)
}

impl Shared {
    async fn connection(&self, mut stream: UnixStream) {
        let peer = match peer_of(&stream) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "cannot tell who connected; refusing");
                return;
            }
        };
        if peer.uid != self.uid {
            tracing::warn!(uid = peer.uid, pid = ?peer.pid, "refused a connection from another user");
            self.note(&peer, "connect", None, Outcome::Denied);
            // Take its request first (briefly): closing on unread bytes would reset the
            // connection, and the peer would never read why.
            let request = protocol::read_frame(&mut stream);
            let _ = tokio::time::timeout(Duration::from_secs(1), request).await;
            let refusal = Answer::denied(format!(
                "the token broker serves only user {}; user {} may not ask",
                self.uid, peer.uid
            ));
            let _ = self.send(&mut stream, &refusal).await;
            return;
        }
        loop {
            let read = tokio::time::timeout(self.frame_timeout, protocol::read_frame(&mut stream));
            let payload = match read.await {
                Err(_) | Ok(Err(FrameError::Closed)) => return,
                Ok(Ok(p)) => p,
                Ok(Err(e)) => {
                    // The stream may be out of step: answer once, then close.
                    let _ = self
                        .send(&mut stream, &Answer::error(&bad_request(&e)))
                        .await;
                    return;
                }
            };
            let request = match protocol::decode_request(&payload) {
                Ok(r) => r,
                Err(e) => {
                    let _ = self
                        .send(&mut stream, &Answer::error(&bad_request(&e)))
                        .await;
                    return;
                }
            };
            let (answer, outcome) =
                match tokio::time::timeout(self.request_timeout, self.answer(&peer, &request.op))
                    .await
                {
                    Ok(answered) => answered,
                    Err(_) => (
                        Answer::error(&Error::Agent {
                            kind: crate::ErrorKind::Local,
                            message: format!(
                                "the token broker gave up on the request after {} s",
                                self.request_timeout.as_secs()
                            ),
                        }),
                        Outcome::Failed,
                    ),
                };
            self.note(&peer, request.op.name(), request.op.profile(), outcome);
            if self.send(&mut stream, &answer).await.is_err() {
                return;
            }
        }
    }

    async fn answer(&self, peer: &Peer, op: &Op) -> (Answer, Outcome) {
        if let Op::Token { profile, .. } | Op::Claims { profile } = op {
            if self.policy.ask(peer, profile).await == Decision::Deny {
                let exe = peer
                    .exe
                    .as_ref()
                    .map_or("this program".to_owned(), |e| e.display().to_string());
                let refusal = format!("{exe} may not have the token of `{profile}`");
                return (Answer::denied(refusal), Outcome::Denied);
            }
        }
        let engine = &self.engine;
        let body = match op {
            Op::Hello => Ok(Body::Hello(Hello {
                version: env!("CARGO_PKG_VERSION").to_owned(),
                pid: std::process::id(),
            })),
            Op::Token { min_valid, .. } if *min_valid > MAX_MIN_VALID => Err(Error::invalid(
                format!("min_valid is at most {MAX_MIN_VALID} s"),
            )),
            Op::Token { profile, min_valid } => engine
                .token(profile, Duration::from_secs(*min_valid))
                .await
                .map(|t| Body::Token(t.into())),
            Op::Status { profile: Some(p) } => {
                engine.status(p).await.map(|s| Body::Status(vec![s]))
            }
            Op::Status { profile: None } => engine.statuses().await.map(Body::Status),
            Op::Claims { profile } => engine.claims(profile).await.map(Body::Claims),
        };
        match body {
            Ok(body) => (Answer::new(body), Outcome::Answered),
            Err(e) => (Answer::error(&e), Outcome::Failed),
        }
    }

    async fn send(&self, stream: &mut UnixStream, answer: &Answer) -> Result<(), FrameError> {
        let write = protocol::write_message(stream, answer);
        match tokio::time::timeout(self.frame_timeout, write).await {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::from(std::io::ErrorKind::TimedOut).into()),
        }
    }

    fn note(&self, peer: &Peer, op: &'static str, profile: Option<&str>, outcome: Outcome) {
        self.callers.note(Caller {
            peer: peer.clone(),
            op,
            profile: profile.map(str::to_owned),
            at: self.engine.now(),
            outcome,
        });
    }
}

fn bad_request(e: &FrameError) -> Error {
    Error::invalid(format!("the token broker could not read the request: {e}"))
}

/// The broker in process, on an engine over an empty home and a memory store: the socket's
/// life cycle and the protocol's edges. The provider, the keychain and other users are
/// `tests/broker.rs`'s.
#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::engine::EngineConfig;
    use crate::home::PixieHome;
    use crate::vault::MemoryStore;

    fn engine(dir: &Path) -> Arc<Engine> {
        Arc::new(Engine::new(EngineConfig {
            home: PixieHome::at(dir.join("home")),
            store: Arc::new(MemoryStore::default()),
            clock: Arc::new(crate::clock::SystemClock),
        }))
    }

    fn config(socket: PathBuf) -> BrokerConfig {
        BrokerConfig {
            socket,
            max_connections: 4,
            frame_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            policy: Arc::new(AllowAll),
        }
    }

    async fn started(dir: &Path) -> (PathBuf, CallerLog, CancellationToken) {
        let socket = dir.join("run/agent.sock");
        let broker = Broker::bind(engine(dir), config(socket.clone()))
            .await
            .unwrap();
        let (callers, stop) = (broker.callers(), CancellationToken::new());
        tokio::spawn(broker.serve(stop.clone()));
        (socket, callers, stop)
    }

    async fn raw(socket: &Path, bytes: &[u8]) -> Answer {
        let mut s = UnixStream::connect(socket).await.unwrap();
        s.write_all(bytes).await.unwrap();
        let payload = protocol::read_frame(&mut s).await.unwrap();
        // Whatever was wrong, the broker closes the connection after answering.
        assert_eq!(s.read(&mut [0; 1]).await.unwrap(), 0);
        protocol::decode_answer(&payload).unwrap()
    }

    /// The blocking client, off the runtime that serves the broker.
    async fn blocking<T: Send + 'static>(ask: impl FnOnce() -> T + Send + 'static) -> T {
        tokio::task::spawn_blocking(ask).await.unwrap()
    }

    #[test]
    fn the_engine_is_named_as_the_pixie_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let engine = dir.path().join("pixie-engine");
        std::fs::write(&engine, "").unwrap();
        assert_eq!(as_the_cli(&engine), None, "no front beside it");
        std::fs::write(dir.path().join("pixie"), "").unwrap();
        assert_eq!(as_the_cli(&engine), Some(dir.path().join("pixie")));
        assert_eq!(as_the_cli(&dir.path().join("kubectl")), None);
    }

    #[tokio::test]
    async fn it_answers_hello_and_notes_the_caller_with_its_program() {
        let dir = tempfile::tempdir().unwrap();
        let (socket, callers, stop) = started(dir.path()).await;
        let mode = std::fs::metadata(&socket).unwrap().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(socket.parent().unwrap()).unwrap().mode();
        assert_eq!(dir_mode & 0o777, 0o700);

        let at = socket.clone();
        let (hello, err) = blocking(move || {
            let mut client = Client::connect_to(&at).unwrap();
            let hello = client.hello().unwrap();
            (
                hello,
                client.token("nope", Duration::from_secs(60)).unwrap(),
            )
        })
        .await;
        assert_eq!(hello.pid, std::process::id());
        let err = err.unwrap_err();
        assert!(matches!(err, Error::UnknownProfile(_)), "{err}");
        let noted = callers.recent();
        assert_eq!(noted.len(), 2);
        assert_eq!(noted[1].op, "token");
        assert_eq!(noted[1].outcome, Outcome::Failed);
        assert_eq!(noted[1].peer.pid, Some(std::process::id() as i32));
        assert_eq!(noted[1].peer.exe, std::env::current_exe().ok());
        let programs = callers.programs_for("nope");
        assert_eq!(programs.len(), 1);
        stop.cancel();
    }

    #[tokio::test]
    async fn garbage_and_oversized_frames_get_an_error_and_the_broker_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let (socket, _, stop) = started(dir.path()).await;
        let cases: Vec<Vec<u8>> = vec![
            vec![0xff, 0xff, 0xff, 0xff],
            protocol::frame(b"\x00\x01garbage").unwrap(),
            protocol::frame(br#"{"v":1,"op":"launch"}"#).unwrap(),
            protocol::frame(br#"{"v":9,"op":"hello"}"#).unwrap(),
        ];
        for bytes in cases {
            let answer = raw(&socket, &bytes).await;
            let Body::Error(e) = answer.body else {
                panic!("an error answer")
            };
            assert_eq!(e.kind, crate::ErrorKind::Invalid, "{}", e.message);
        }
        let at = socket.clone();
        let hello = blocking(move || Client::connect_to(&at).unwrap().hello()).await;
        assert!(hello.is_ok(), "still serving");
        stop.cancel();
    }

    #[tokio::test]
    async fn a_second_broker_refuses_and_a_stale_socket_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let (socket, _, stop) = started(dir.path()).await;
        let second = Broker::bind(engine(dir.path()), config(socket.clone())).await;
        let Err(err) = second else {
            panic!("a second broker bound")
        };
        assert!(
            matches!(err, BrokerError::AlreadyRunning { pid: Some(_), .. }),
            "{err}"
        );
        assert!(err.to_string().contains("already running"), "{err}");
        stop.cancel();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!socket.exists(), "the socket is removed at the end");

        // A crash leaves the socket behind, with nobody listening.
        let stale = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        drop(stale);
        assert!(socket.exists());
        let at = socket.clone();
        assert!(blocking(move || Client::connect_to(&at).is_none()).await);
        let broker = Broker::bind(engine(dir.path()), config(socket.clone()))
            .await
            .unwrap();
        let stop = CancellationToken::new();
        tokio::spawn(broker.serve(stop.clone()));
        let at = socket.clone();
        let hello = blocking(move || Client::connect_to(&at).unwrap().hello()).await;
        assert!(hello.is_ok());
        stop.cancel();
    }

    #[tokio::test]
    async fn a_file_in_the_sockets_place_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        std::fs::write(&socket, "keep").unwrap();
        let err = Broker::bind(engine(dir.path()), config(socket.clone()))
            .await
            .err()
            .unwrap();
        assert!(matches!(err, BrokerError::Unsafe { .. }), "{err}");
        assert_eq!(std::fs::read_to_string(&socket).unwrap(), "keep");
    }

    struct DenyAll;
    impl Policy for DenyAll {
        fn ask<'a>(&'a self, _: &'a Peer, _: &'a str) -> BoxFuture<'a, Decision> {
            Box::pin(std::future::ready(Decision::Deny))
        }
    }

    #[tokio::test]
    async fn the_policy_is_asked_before_a_token_and_its_no_is_final() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        let mut cfg = config(socket.clone());
        cfg.policy = Arc::new(DenyAll);
        let broker = Broker::bind(engine(dir.path()), cfg).await.unwrap();
        let (callers, stop) = (broker.callers(), CancellationToken::new());
        tokio::spawn(broker.serve(stop.clone()));
        let at = socket.clone();
        let (err, statuses) = blocking(move || {
            let mut client = Client::connect_to(&at).unwrap();
            let err = client.token("work", Duration::from_secs(60)).unwrap();
            (err, client.status(None).unwrap().unwrap())
        })
        .await;
        let err = err.unwrap_err();
        assert!(
            err.to_string().contains("may not have the token of `work`"),
            "{err}"
        );
        assert_eq!(err.kind(), crate::ErrorKind::Local);
        // Status is not the token: the policy is not asked.
        assert!(statuses.is_empty());
        assert_eq!(callers.recent()[0].outcome, Outcome::Denied);
        stop.cancel();
    }

    #[tokio::test]
    async fn connections_over_the_cap_are_told_the_broker_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let (socket, _, stop) = started(dir.path()).await;
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(UnixStream::connect(&socket).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut over = UnixStream::connect(&socket).await.unwrap();
        let answer = protocol::decode_answer(&protocol::read_frame(&mut over).await.unwrap());
        let Body::Error(e) = answer.unwrap().body else {
            panic!("busy")
        };
        assert!(e.message.contains("busy"), "{}", e.message);
        drop(held);
        stop.cancel();
    }
}

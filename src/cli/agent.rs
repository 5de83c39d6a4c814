//! The token broker from the command line: `pixie agent` serves it, and [`Source`] is the one
//! place that decides whether `token`, `status` and `claims` ask it or the keychain.

use std::time::Duration;

use pixie::broker::{Asked, Client};
#[cfg(unix)]
use pixie::broker::{Broker, BrokerConfig, Caller, Outcome};
use pixie::engine::{Cached, ClaimsView, FreshToken, ProfileStatus};
#[cfg(unix)]
use pixie::text::terminal_safe;
use pixie::{Engine, Result};

use super::block_on;

/// Where answers come from: a running broker when one answers (and `--no-agent` was not
/// given), else this process's own engine over the keychain, as without a broker.
pub(super) struct Source {
    ask_agent: bool,
}

impl Source {
    pub(super) fn new(no_agent: bool) -> Self {
        Self {
            ask_agent: !no_agent,
        }
    }

    /// What a running broker answers, or `None` when none does (or `--no-agent`).
    fn ask<T>(&self, question: impl FnOnce(&mut Client) -> Asked<T>) -> Option<Result<T>> {
        if !self.ask_agent {
            return None;
        }
        answered(question(&mut Client::connect()?))
    }

    /// A fresh access token, as [`Engine::token`] gives it.
    pub(super) fn token(&self, name: &str, min_valid: Duration) -> Result<FreshToken> {
        if let Some(answer) = self.ask(|b| b.token(name, min_valid)) {
            return answer;
        }
        // A cached token needs neither an async runtime nor a thread; a refresh starts them.
        let engine = Engine::from_env()?;
        match engine.cached_token(name, min_valid)? {
            Cached::Fresh(token) => Ok(token),
            Cached::Due(due) => block_on(engine.refresh_due(due)),
        }
    }

    /// One profile's status, or every profile's.
    pub(super) fn status(&self, name: Option<&str>) -> Result<Vec<ProfileStatus>> {
        if let Some(answer) = self.ask(|b| b.status(name)) {
            return answer;
        }
        block_on(async {
            let engine = Engine::from_env()?;
            match name {
                Some(n) => Ok(vec![engine.status(n).await?]),
                None => engine.statuses().await,
            }
        })
    }

    /// The ID token's claims, or `None` when the session has none.
    pub(super) fn claims(&self, name: &str) -> Result<Option<ClaimsView>> {
        if let Some(answer) = self.ask(|b| b.claims(name)) {
            return answer;
        }
        block_on(async { Engine::from_env()?.claims(name).await })
    }
}

/// The broker's answer, or `None` when the exchange broke (the broker stopped mid-way, or
/// spoke garbage): then the keychain path answers instead. That is safe even mid-refresh: the
/// refresh records say which refresh token may not be sent again, whoever asks.
fn answered<T>(asked: Asked<T>) -> Option<Result<T>> {
    match asked {
        Ok(answer) => Some(answer),
        Err(e) => {
            tracing::debug!(error = %e, "the token broker did not answer; reading the keychain");
            None
        }
    }
}

/// `pixie agent` without Unix sockets.
#[cfg(not(unix))]
pub(super) async fn serve() -> Result<()> {
    Err(pixie::Error::invalid(
        "the token broker needs Unix sockets, which this platform lacks",
    ))
}

/// `pixie agent`: serves the broker in the foreground until SIGINT or SIGTERM, then removes
/// the socket. Each caller is noted on stderr.
#[cfg(unix)]
pub(super) async fn serve() -> Result<()> {
    use tokio_util::sync::CancellationToken;
    let engine = std::sync::Arc::new(Engine::from_env()?);
    // The broker answers from memory while no Pixie process has changed a session.
    engine.keep_sessions_in_memory();
    let broker = Broker::bind(engine, BrokerConfig::from_env()?).await?;
    eprintln!(
        "pixie agent: serving on {} (pid {})",
        terminal_safe(&broker.path().display().to_string()),
        std::process::id()
    );
    broker
        .callers()
        .on_call(|c| eprintln!("{}", caller_line(c)));
    let stop = CancellationToken::new();
    let signalled = stop.clone();
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async {
                match term.as_mut() {
                    Ok(t) => { t.recv().await; }
                    Err(_) => std::future::pending::<()>().await,
                }
            } => {}
        }
        signalled.cancel();
    });
    broker.serve(stop).await;
    eprintln!("pixie agent: stopped");
    Ok(())
}

/// `pixie agent: token `work` for /usr/bin/kubectl (pid 42), uid 1000: answered`.
#[cfg(unix)]
fn caller_line(c: &Caller) -> String {
    let program = c
        .peer
        .exe
        .as_ref()
        .map_or("an unknown program".to_owned(), |e| e.display().to_string());
    let pid = c
        .peer
        .pid
        .map(|p| format!(" (pid {p})"))
        .unwrap_or_default();
    let profile = c
        .profile
        .as_ref()
        .map(|p| format!(" `{p}`"))
        .unwrap_or_default();
    let outcome = match c.outcome {
        Outcome::Answered => "answered",
        Outcome::Failed => "failed",
        Outcome::Denied => "refused",
    };
    let line = format!(
        "pixie agent: {}{profile} for {program}{pid}, uid {}: {outcome}",
        c.op, c.peer.uid
    );
    terminal_safe(&line).into_owned()
}

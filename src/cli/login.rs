//! `pixie login` and `pixie logout`: the sign-in, its progress on stderr, Ctrl-C, and the
//! sign-out (with the browser's, when asked).

use std::time::Duration;

use pixie::engine::{
    BrowserChoice, FlowRequest, LoginEvent, LoginOptions, NoBrowserLogout, SignInFlow, Surroundings,
};
use pixie::{Browser, Engine, Result, SystemBrowser};

use super::args::FlowArg;
use super::output::{human_duration, safe, say_revocation};

const NO_REFRESH_TOKEN: &str = "Note: the provider issued no refresh token, so you will have to \
     sign in again when the access token expires (ask for the `offline_access` scope).";

/// A sign-in's progress, on stderr.
fn say_event(e: &LoginEvent, timeout_text: &str, paste: bool) {
    match e {
        LoginEvent::BrowserOpened { .. } => eprintln!(
            "Continue in your browser. Waiting for it to return \
             (Ctrl-C cancels; gives up {timeout_text})…"
        ),
        LoginEvent::OpenManually { url, reason } => {
            if let Some(r) = reason {
                eprintln!("Could not open a browser ({}).", safe(r));
            }
            eprintln!(
                "Open this URL in a browser to sign in:\n\n  {}\n",
                safe(url)
            );
            if paste {
                eprintln!("{PASTE_HINT}");
            }
            eprintln!("Waiting (Ctrl-C cancels; gives up {timeout_text})…");
        }
        LoginEvent::CallbackReceived => eprintln!("The provider answered; finishing sign-in…"),
        LoginEvent::FlowChosen { flow, reason } => {
            eprintln!(
                "Signing in with the {} flow: {}.",
                flow.as_str(),
                safe(reason)
            )
        }
        LoginEvent::DeviceCode { code } => {
            match &code.verification_uri_complete {
                Some(link) => eprintln!(
                    "To sign in, open this page on any device:\n\n  {}\n\n\
                     and check that it shows the code {}.",
                    safe(link),
                    safe(&code.user_code)
                ),
                None => eprintln!(
                    "To sign in, open this page on any device:\n\n  {}\n\n\
                     and enter the code {}",
                    safe(&code.verification_uri),
                    safe(&code.user_code)
                ),
            }
            eprintln!(
                "Waiting (Ctrl-C cancels; the code expires {})…",
                human_duration(chrono::Duration::seconds(
                    i64::try_from(code.expires_in_secs).unwrap_or(i64::MAX)
                ))
            );
        }
        LoginEvent::PasteRejected { reason } => eprintln!(
            "Not taken: {}. Paste the address again, or finish in the browser.",
            safe(reason)
        ),
    }
}

const PASTE_HINT: &str = "After you sign in, the browser goes to a 127.0.0.1 address. If that \
     page does not load (the browser is on another machine), copy its whole address from the \
     address bar and paste it here, then press Enter.";

/// Longest line read from stdin; the engine refuses anything past its own, smaller bound.
const MAX_LINE: u64 = 16 * 1024;

/// Lines typed or piped on stdin, for paste-back: read on a thread (stdin blocks), each line
/// bounded. A longer line is passed on cut short, so the engine says it is too long.
fn stdin_lines() -> tokio::sync::mpsc::Receiver<String> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    std::thread::spawn(move || {
        use std::io::{BufRead, Read};
        let mut input = std::io::stdin().lock();
        loop {
            let mut line = Vec::new();
            match (&mut input).take(MAX_LINE).read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if !line.ends_with(b"\n") {
                // Cut short: skip to the end of the line.
                let mut rest = Vec::new();
                while (&mut input)
                    .take(MAX_LINE)
                    .read_until(b'\n', &mut rest)
                    .is_ok_and(|n| n > 0)
                    && !rest.ends_with(b"\n")
                {
                    rest.clear();
                }
            }
            let text = String::from_utf8_lossy(&line).into_owned();
            if tx.blocking_send(text).is_err() {
                return;
            }
        }
    });
    rx
}

pub(super) async fn login(engine: &Engine, name: &str, flow: FlowArg, timeout: u64) -> Result<()> {
    let cancel = tokio_util::sync::CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("Cancelling… (Ctrl-C again quits at once)");
            on_ctrl_c.cancel();
        }
        // Tokens may be in flight: the first Ctrl-C lets Pixie revoke them, a second one quits.
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
    let flow = match flow {
        FlowArg::Auto => FlowRequest::Auto(Surroundings::from_env()),
        FlowArg::Browser => FlowRequest::Exactly(SignInFlow::Browser),
        FlowArg::Device => FlowRequest::Exactly(SignInFlow::Device),
        FlowArg::Paste => FlowRequest::Exactly(SignInFlow::Paste),
    };
    // Whatever the flow, a pasted answer is taken when no browser was opened here; the hint is
    // shown only then.
    let chosen_paste = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(
        flow == FlowRequest::Exactly(SignInFlow::Paste),
    ));
    let timeout_text = human_duration(chrono::Duration::seconds(timeout as i64));
    let events = {
        let chosen_paste = chosen_paste.clone();
        std::sync::Arc::new(move |e: &LoginEvent| {
            if let LoginEvent::FlowChosen { flow, .. } = e {
                chosen_paste.store(
                    *flow == SignInFlow::Paste,
                    std::sync::atomic::Ordering::Relaxed,
                );
            }
            let paste = chosen_paste.load(std::sync::atomic::Ordering::Relaxed);
            say_event(e, &timeout_text, paste)
        })
    };
    let pasted = (flow != FlowRequest::Exactly(SignInFlow::Browser)
        && flow != FlowRequest::Exactly(SignInFlow::Device))
    .then(stdin_lines);
    let outcome = engine
        .login(
            name,
            LoginOptions {
                browser: BrowserChoice::System,
                timeout: Duration::from_secs(timeout),
                cancel,
                events: Some(events),
                flow,
                pasted,
            },
        )
        .await?;
    let who = outcome
        .subject
        .as_deref()
        .map(|s| format!(" as {}", safe(s)))
        .unwrap_or_default();
    let lifetime = outcome
        .expires_at
        .map(|e| {
            format!(
                "; the access token expires {}",
                human_duration(e - chrono::Utc::now())
            )
        })
        .unwrap_or_default();
    eprintln!("Signed in to `{name}`{who}{lifetime}.");
    if !outcome.has_refresh_token {
        eprintln!("{NO_REFRESH_TOKEN}");
    }
    if let Some(problem) = &outcome.id_token_problem {
        eprintln!(
            "Warning: the ID token could not be verified: {}. Its claims are shown as unverified.",
            safe(problem)
        );
    }
    Ok(())
}

/// How long `pixie logout --browser` waits for the provider to send the browser back.
const BROWSER_LOGOUT_WAIT: Duration = Duration::from_secs(120);

/// `pixie logout`: revoke and forget the session; with `--browser` (or the profile's setting)
/// also end the provider's browser session. The end-session URL carries the ID token, so it is
/// opened, never printed.
pub(super) async fn logout(engine: &Engine, name: &str, revoke: bool, browser: bool) -> Result<()> {
    let profile = engine.profiles().get(name)?;
    let prepared = if browser || profile.browser_logout {
        match engine.prepare_browser_logout(name).await {
            Ok(Ok(b)) => Some(b),
            Ok(Err(NoBrowserLogout::NotOffered)) => {
                eprintln!(
                    "The provider offers no browser sign-out (no end_session_endpoint); \
                     signing out here only."
                );
                None
            }
            Ok(Err(NoBrowserLogout::NotSignedIn)) => None,
            Err(e) => {
                eprintln!(
                    "Cannot prepare the browser sign-out ({}); signing out here only.",
                    safe(&e.to_string())
                );
                None
            }
        }
    } else {
        None
    };
    let outcome = engine.logout(name, revoke).await?;
    say_revocation(name, &outcome);
    let Some(b) = prepared else { return Ok(()) };
    let opener = SystemBrowser {
        profile_command: profile.browser.clone(),
    };
    if let Err(e) = opener.open(b.url()) {
        eprintln!(
            "Could not open a browser ({}); you are still signed in at the provider in the browser.",
            safe(&e.to_string())
        );
        return Ok(());
    }
    eprintln!("Signing out in the browser too; waiting for the provider (Ctrl-C stops waiting)…");
    let cancel = tokio_util::sync::CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    match b.wait(BROWSER_LOGOUT_WAIT, &cancel).await {
        Ok(true) => eprintln!("Signed out in the browser too."),
        Ok(false) => eprintln!(
            "The provider did not confirm the browser sign-out within {} s; finish it in the browser.",
            BROWSER_LOGOUT_WAIT.as_secs()
        ),
        Err(e) => eprintln!("Stopped waiting for the browser sign-out ({}).", safe(&e.to_string())),
    }
    Ok(())
}

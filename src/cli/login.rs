//! `pixie login`: the sign-in, its progress on stderr, and Ctrl-C.

use std::time::Duration;

use pixie::engine::{BrowserChoice, LoginEvent, LoginOptions};
use pixie::{Engine, Result};

use super::output::{human_duration, safe};

const NO_REFRESH_TOKEN: &str = "Note: the provider issued no refresh token, so you will have to \
     sign in again when the access token expires (ask for the `offline_access` scope).";

/// A sign-in's progress, on stderr.
fn say_event(e: &LoginEvent, timeout_text: &str) {
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
                "Open this URL in a browser to sign in:\n\n  {url}\n\n\
                 Waiting (Ctrl-C cancels; gives up {timeout_text})…"
            );
        }
        LoginEvent::CallbackReceived => eprintln!("The provider answered; finishing sign-in…"),
    }
}

pub(super) async fn login(
    engine: &Engine,
    name: &str,
    no_browser: bool,
    timeout: u64,
) -> Result<()> {
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
    let timeout_text = human_duration(chrono::Duration::seconds(timeout as i64));
    let events = std::sync::Arc::new(move |e: &LoginEvent| say_event(e, &timeout_text));
    let outcome = engine
        .login(
            name,
            LoginOptions {
                browser: if no_browser {
                    BrowserChoice::None
                } else {
                    BrowserChoice::System
                },
                timeout: Duration::from_secs(timeout),
                cancel,
                events: Some(events),
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

//! What a person can start from the window or the tray: sign in, copy a token. Commands and tray
//! items both call these.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pixie::engine::{
    BrowserChoice, LoginEvent, LoginOptions, DEFAULT_LOGIN_TIMEOUT, DEFAULT_MIN_VALID,
};
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;
use tokio_util::sync::CancellationToken;

use crate::browser::AppBrowser;
use crate::error::CmdResult;
use crate::ipc::{CopyResult, ErrorCode, IpcError, ProfileView};
use crate::state::{emit_profile, lock, Pixie, SignIn};
use crate::views::Activity;

pub fn focus_main(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// Text for a notification: the freedesktop spec lets bodies carry markup (`<b>`, `<a href>`),
/// and the reason may quote a provider, so it is escaped; control and bidi characters are
/// shown as escapes.
fn notification_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in pixie::text::terminal_safe(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A desktop notification; a desktop without a notification service only gets a log line.
pub fn notify(app: &AppHandle, title: &str, body: &str) {
    let app = app.clone();
    let (title, body) = (notification_text(title), notification_text(body));
    // The D-Bus call may block; never on the main thread.
    tauri::async_runtime::spawn_blocking(move || {
        if let Err(e) = app
            .notification()
            .builder()
            .title(&title)
            .body(&body)
            .show()
        {
            tracing::info!(error = %e, "no desktop notification: {title}: {body}");
        }
    });
}

pub async fn sign_in(app: &AppHandle, name: &str) -> CmdResult<ProfileView> {
    let state = app.state::<Pixie>();
    let profile = state.engine.profiles().get(name)?;
    let cancel = CancellationToken::new();
    let url = Arc::new(Mutex::new(None));
    let browser = Arc::new(AppBrowser {
        app: app.clone(),
        profile_command: profile.browser.clone(),
    });
    {
        let mut running = lock(&state.sign_ins);
        if running.contains_key(name) {
            return Err(IpcError::new(
                ErrorCode::Busy,
                format!("a sign-in for `{name}` is already waiting for the browser"),
            ));
        }
        running.insert(
            name.to_owned(),
            SignIn {
                cancel: cancel.clone(),
                url: url.clone(),
                browser: browser.clone(),
            },
        );
    }
    state.set_activity(name, Some(Activity::Waiting { note: None }));
    let _ = emit_profile(app, name).await;

    let sink = {
        let (app, name, url) = (app.clone(), name.to_owned(), url.clone());
        Arc::new(move |e: &LoginEvent| {
            let note = match e {
                LoginEvent::BrowserOpened { url: u } => {
                    *lock(&url) = Some(u.clone());
                    None
                }
                LoginEvent::OpenManually { url: u, reason } => {
                    *lock(&url) = Some(u.clone());
                    Some(format!(
                        "The browser did not open{}. Use “Open the link again”, or check the browser setting.",
                        reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                    ))
                }
                LoginEvent::CallbackReceived => {
                    // The browser came back: bring the window to the front.
                    let app2 = app.clone();
                    let _ = app.run_on_main_thread(move || focus_main(&app2));
                    return;
                }
            };
            let state = app.state::<Pixie>();
            state.set_activity(&name, Some(Activity::Waiting { note }));
            let (app, name) = (app.clone(), name.clone());
            tauri::async_runtime::spawn(async move {
                let _ = emit_profile(&app, &name).await;
            });
        })
    };
    let result = state
        .engine
        .login(
            name,
            LoginOptions {
                browser: BrowserChoice::Custom(browser),
                timeout: DEFAULT_LOGIN_TIMEOUT,
                cancel,
                events: Some(sink),
            },
        )
        .await;
    lock(&state.sign_ins).remove(name);
    let activity = match &result {
        Ok(_) | Err(pixie::Error::Cancelled) => None,
        Err(e) => Some(Activity::Failed(e.detail())),
    };
    state.set_activity(name, activity);
    state.wake_refresher();
    let view = emit_profile(app, name).await;
    match result {
        Ok(outcome) => {
            tracing::info!(profile = name, subject = ?outcome.subject, "signed in");
            view
        }
        Err(e) => Err(e.into()),
    }
}

pub fn cancel_sign_in(app: &AppHandle, name: &str) {
    if let Some(s) = lock(&app.state::<Pixie>().sign_ins).get(name) {
        s.cancel.cancel();
    }
}

pub fn reopen_browser(app: &AppHandle, name: &str) -> CmdResult<()> {
    let state = app.state::<Pixie>();
    let (url, browser) = {
        let running = lock(&state.sign_ins);
        let s = running.get(name).ok_or_else(|| {
            IpcError::new(
                ErrorCode::Invalid,
                format!("no sign-in is waiting for `{name}`"),
            )
        })?;
        let url = lock(&s.url).clone();
        (url, s.browser.clone())
    };
    let url = url.ok_or_else(|| {
        IpcError::new(
            ErrorCode::Busy,
            "the sign-in link is not ready yet; try again in a moment",
        )
    })?;
    browser.open(&url).map_err(IpcError::from)
}

pub async fn copy_token(app: &AppHandle, name: &str) -> CmdResult<CopyResult> {
    let state = app.state::<Pixie>();
    let result = state.engine.token(name, DEFAULT_MIN_VALID).await;
    let token = match result {
        Ok(t) => t,
        Err(e) => {
            if e.kind() == pixie::ErrorKind::SignInRequired {
                state.set_activity(name, Some(Activity::SignInRequired(e.detail())));
                let _ = emit_profile(app, name).await;
            }
            return Err(e.into());
        }
    };
    let clear_secs = lock(&state.settings).clipboard_clear_secs;
    let clear_after = (clear_secs > 0).then(|| Duration::from_secs(clear_secs.into()));
    crate::clipboard::copy(app, token.access_token.secret(), clear_after)
        .map_err(|m| IpcError::new(ErrorCode::Local, m))?;
    if token.refreshed {
        // A refresh cleared any earlier failure.
        state.set_activity(name, None);
        let _ = emit_profile(app, name).await;
    }
    Ok(CopyResult {
        expires_at: token.expires_at.map(|t| t.timestamp_millis()),
        clears_in_secs: (clear_secs > 0).then_some(clear_secs),
        refreshed: token.refreshed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_bodies_carry_no_markup_or_escapes() {
        let body = notification_text("<a href=\"https://evil\">x</a> & \u{1b}[2J");
        assert_eq!(
            body,
            "&lt;a href=&quot;https://evil&quot;&gt;x&lt;/a&gt; &amp; \\u{1b}[2J"
        );
    }
}

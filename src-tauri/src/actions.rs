//! What a person can start from the window or the tray: sign in (with the browser or the device
//! grant) and out (in the browser too, when the profile asks), copy a token or a device code,
//! pin the signed-in account. Commands and tray items both call these.

use std::sync::Arc;
use std::time::Duration;

use pixie::engine::{
    BrowserChoice, BrowserLogout, FlowRequest, LoginEvent, LoginOptions, DEFAULT_LOGIN_TIMEOUT,
};
use pixie::Browser;
use tauri::{AppHandle, Emitter};
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::browser::AppBrowser;
use crate::desktop::{focus_main, notify};
use crate::error::CmdResult;
use crate::ipc::{
    events, CopyResult, ErrorCode, IpcError, Notice, NoticeKind, ProfileView, SignOutResult,
};
use crate::publish;
use crate::state::PixieExt;
use crate::tray::TrayAction;
use crate::views::{
    app_flow, browser_sign_out_outcome, browser_sign_out_text, device_code_view, revocation_text,
    Activity, BrowserSignOut,
};

/// How long a browser sign-out waits for the provider to send the browser back (as the CLI).
const BROWSER_SIGN_OUT_WAIT: Duration = Duration::from_secs(120);

pub async fn sign_in(app: &AppHandle, name: &str) -> CmdResult<ProfileView> {
    let pixie = app.pixie();
    let profile = pixie.profile(name)?;
    let browser = Arc::new(AppBrowser {
        app: app.clone(),
        profile_command: profile.browser.clone(),
    });
    let running = pixie.begin_sign_in(name, browser.clone())?;
    pixie.set_activity(
        name,
        Some(Activity::Waiting {
            note: None,
            device: None,
        }),
    );
    let _ = publish::profile(app, name).await;

    let sink = {
        let (app, name) = (app.clone(), name.to_owned());
        Arc::new(move |e: &LoginEvent| {
            let mut device = None;
            let note = match e {
                LoginEvent::BrowserOpened { url } => {
                    app.pixie().set_sign_in_link(&name, url.clone());
                    None
                }
                // Polling has started: the row shows the code; Open and Copy use what is kept
                // here. The device code itself stays in the engine.
                LoginEvent::DeviceCode { code } => {
                    let link = code
                        .verification_uri_complete
                        .clone()
                        .unwrap_or_else(|| code.verification_uri.clone());
                    app.pixie()
                        .set_device_code(&name, link, code.user_code.clone());
                    let now = chrono::Utc::now().timestamp_millis();
                    device = Some(device_code_view(code, now));
                    None
                }
                LoginEvent::OpenManually { url, reason } => {
                    app.pixie().set_sign_in_link(&name, url.clone());
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
                // The app names the flow itself (`app_flow`) and never pastes.
                LoginEvent::FlowChosen { .. } | LoginEvent::PasteRejected { .. } => return,
            };
            app.pixie()
                .set_activity(&name, Some(Activity::Waiting { note, device }));
            let (app, name) = (app.clone(), name.clone());
            tauri::async_runtime::spawn(async move {
                let _ = publish::profile(&app, &name).await;
            });
        })
    };
    let result = pixie
        .login(
            name,
            LoginOptions {
                browser: BrowserChoice::Custom(browser),
                timeout: DEFAULT_LOGIN_TIMEOUT,
                cancel: running.cancellation(),
                events: Some(sink),
                flow: FlowRequest::Exactly(app_flow(&profile)),
                ..Default::default()
            },
        )
        .await;
    drop(running);
    let activity = match &result {
        Ok(_) | Err(pixie::Error::Cancelled) => None,
        Err(e) => Some(Activity::Failed(e.detail())),
    };
    pixie.set_activity(name, activity);
    pixie.wake_refresher();
    let view = publish::profile(app, name).await;
    match result {
        Ok(outcome) => {
            tracing::info!(profile = name, subject = ?outcome.subject, "signed in");
            view
        }
        Err(e) => Err(e.into()),
    }
}

/// Opens the running sign-in's link again, in the browser it was meant for.
pub fn reopen_browser(app: &AppHandle, name: &str) -> CmdResult<()> {
    let (url, browser) = app.pixie().sign_in_link(name)?;
    browser.open(&url).map_err(IpcError::from)
}

/// Copies the user code of `name`'s device-grant sign-in (not a secret: no clearing).
pub fn copy_device_code(app: &AppHandle, name: &str) -> CmdResult<()> {
    let code = app.pixie().device_user_code(name)?;
    app.clipboard().write_text(code).map_err(|e| {
        IpcError::new(
            ErrorCode::Local,
            format!("could not write to the clipboard: {e}"),
        )
    })
}

/// Pins `name` to the account it is signed in as.
pub async fn remember_account(app: &AppHandle, name: &str) -> CmdResult<ProfileView> {
    app.pixie().remember_account(name).await?;
    publish::profile(app, name).await
}

pub async fn sign_out(app: &AppHandle, name: &str) -> CmdResult<SignOutResult> {
    let profile_command = app.pixie().profile(name)?.browser;
    let outcome = app.pixie().sign_out(name).await?;
    let profile = publish::profile(app, name).await?;
    let (revoked, revocation) = revocation_text(outcome.revocation);
    let browser = outcome.browser.map(|prepared| {
        let browser = AppBrowser {
            app: app.clone(),
            profile_command,
        };
        let state = match prepared {
            Ok(logout) => open_browser_sign_out(app, name, &browser, logout),
            Err(why) => why,
        };
        browser_sign_out_text(&state)
    });
    Ok(SignOutResult {
        profile,
        revocation,
        revoked,
        browser,
    })
}

/// Opens the provider's end-session page (its URL holds the ID token: it goes to the browser
/// only, never to the webview or the log) and waits for the provider's answer in the
/// background, telling the outcome as a notice and a desktop notification.
fn open_browser_sign_out(
    app: &AppHandle,
    name: &str,
    browser: &AppBrowser,
    logout: BrowserLogout,
) -> BrowserSignOut {
    if let Err(e) = browser.open(logout.url()) {
        return BrowserSignOut::Failed(e.to_string());
    }
    let (id, cancel) = app.pixie().begin_browser_sign_out(name);
    let (app, name) = (app.clone(), name.to_owned());
    tauri::async_runtime::spawn(async move {
        let waited = logout.wait(BROWSER_SIGN_OUT_WAIT, &cancel).await;
        app.pixie().end_browser_sign_out(&name, id);
        let (kind, message) =
            browser_sign_out_outcome(&name, &waited, BROWSER_SIGN_OUT_WAIT.as_secs());
        if !matches!(waited, Err(pixie::Error::Cancelled)) {
            notify(&app, &format!("Pixie: {name}"), &message);
        }
        let _ = app.emit(
            events::NOTICE,
            Notice {
                kind,
                message,
                profile: Some(name),
            },
        );
    });
    BrowserSignOut::Opened
}

pub async fn copy_token(app: &AppHandle, name: &str) -> CmdResult<CopyResult> {
    let pixie = app.pixie();
    let token = match pixie.token(name).await {
        Ok(t) => t,
        Err(e) => {
            if e.kind() == pixie::ErrorKind::SignInRequired {
                pixie.set_activity(name, Some(Activity::SignInRequired(e.detail())));
                let _ = publish::profile(app, name).await;
            }
            return Err(e.into());
        }
    };
    let clear_secs = pixie.settings().clipboard_clear_secs;
    let clear_after = (clear_secs > 0).then(|| Duration::from_secs(clear_secs.into()));
    crate::clipboard::copy(app, token.access_token.secret(), clear_after)
        .map_err(|m| IpcError::new(ErrorCode::Local, m))?;
    if token.refreshed {
        // A refresh cleared any earlier failure.
        pixie.set_activity(name, None);
        let _ = publish::profile(app, name).await;
    }
    Ok(CopyResult {
        expires_at: token.expires_at.map(|t| t.timestamp_millis()),
        clears_in_secs: (clear_secs > 0).then_some(clear_secs),
        refreshed: token.refreshed,
    })
}

/// What a tray item does: a copy tells the outcome in a notice (and a notification when it
/// failed), a sign-in brings the window forward and tells only a failure.
pub fn on_tray(app: &AppHandle, action: TrayAction) {
    match action {
        TrayAction::Copy(name) => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                let notice = match copy_token(&app, &name).await {
                    Ok(r) => Notice {
                        kind: NoticeKind::Info,
                        message: match r.clears_in_secs {
                            Some(s) => {
                                format!("Token for {name} copied. Clipboard clears in {s} s.")
                            }
                            None => format!("Token for {name} copied."),
                        },
                        profile: Some(name.clone()),
                    },
                    Err(e) => {
                        notify(&app, &format!("Pixie: {name}"), &e.message);
                        Notice {
                            kind: NoticeKind::Error,
                            message: e.message,
                            profile: Some(name.clone()),
                        }
                    }
                };
                let _ = app.emit(events::NOTICE, notice);
            });
        }
        TrayAction::SignIn(name) => {
            focus_main(app);
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                if let Err(e) = sign_in(&app, &name).await {
                    let _ = app.emit(
                        events::NOTICE,
                        Notice {
                            kind: NoticeKind::Error,
                            message: e.message,
                            profile: Some(name),
                        },
                    );
                }
            });
        }
        TrayAction::Show => focus_main(app),
        TrayAction::Quit => app.exit(0),
    }
}

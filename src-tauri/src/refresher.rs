//! Wires the engine's silent-refresh scheduler to the window: row states, and a desktop
//! notification when a profile needs the person to sign in again.

use std::sync::Arc;

use pixie::autorefresh::{Policy, RefreshEvent};
use tauri::AppHandle;

use crate::state::PixieExt;
use crate::views::Activity;

pub fn start(app: &AppHandle) {
    let handle = app.clone();
    // The state changes here, in event order; only the emit (and a notification) is spawned.
    let sink = Arc::new(move |event: RefreshEvent| {
        if let Some((name, notice)) = apply(&handle, event) {
            let app = handle.clone();
            tauri::async_runtime::spawn(async move {
                if let Some((title, body)) = notice {
                    crate::desktop::notify(&app, &title, &body);
                }
                let _ = crate::publish::profile(&app, &name).await;
            });
        }
    });
    // `setup` runs on the main thread, outside Tauri's tokio runtime: spawn inside it.
    let _runtime = tauri::async_runtime::handle().inner().enter();
    let policy = Policy {
        // The window's first list read comes first; nothing is due within seconds of start
        // that a refresh on first use would not cover.
        start_delay: std::time::Duration::from_secs(3),
        ..Policy::default()
    };
    app.pixie().start_auto_refresh(policy, sink);
}

type Notification = Option<(String, String)>;

/// Records what the scheduler did; returns the profile to re-send, with a notification to show.
fn apply(app: &AppHandle, event: RefreshEvent) -> Option<(String, Notification)> {
    let state = app.pixie();
    let name = match &event {
        RefreshEvent::Refreshing { profile }
        | RefreshEvent::Refreshed { profile }
        | RefreshEvent::SignInRequired { profile, .. }
        | RefreshEvent::Retrying { profile, .. } => profile.clone(),
    };
    // A sign-in in progress owns the row's state.
    if state.is_signing_in(&name) {
        return None;
    }
    let mut notice = None;
    match event {
        RefreshEvent::Refreshing { .. } => state.set_activity(&name, Some(Activity::Refreshing)),
        RefreshEvent::Refreshed { .. } => state.set_activity(&name, None),
        RefreshEvent::SignInRequired { reason, .. } => {
            notice = Some((format!("Pixie: sign in to {name} again"), reason.clone()));
            state.set_activity(&name, Some(Activity::SignInRequired(reason)));
        }
        RefreshEvent::Retrying {
            error, retry_in, ..
        } => state.set_activity(
            &name,
            Some(Activity::Retrying(format!(
                "refresh failed ({error}); trying again in {} s",
                retry_in.as_secs()
            ))),
        ),
    }
    Some((name, notice))
}

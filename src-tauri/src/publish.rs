//! Sending rows to where they show: the webview (as events) and the tray. A command's answer
//! carries the same rows, so each function returns what it sent.

use tauri::{AppHandle, Emitter};

use crate::error::CmdResult;
use crate::ipc::{events, ProfileView};
use crate::state::PixieExt;

/// Sends one profile's current row to the webview, and returns it for a command's answer.
pub async fn profile(app: &AppHandle, name: &str) -> CmdResult<ProfileView> {
    match app.pixie().view(name).await {
        Ok(view) => {
            crate::tray::update_one(app, &view);
            let _ = app.emit(events::PROFILE, &view);
            Ok(view)
        }
        // Removed meanwhile: the whole list is what changed.
        Err(e) => {
            let _ = profiles(app).await;
            Err(e)
        }
    }
}

/// Sends the whole list to the webview (and the tray), and returns it for a command's answer.
pub async fn profiles(app: &AppHandle) -> CmdResult<Vec<ProfileView>> {
    let views = app.pixie().views().await?;
    crate::tray::update(app, &views);
    let _ = app.emit(events::PROFILES, &views);
    Ok(views)
}

/// The whole list for the webview that asked for it (so no event), with the tray kept in step.
pub async fn list(app: &AppHandle) -> CmdResult<Vec<ProfileView>> {
    let views = app.pixie().views().await?;
    crate::tray::update(app, &views);
    Ok(views)
}

//! Changing the profile list from the window: save (a new or changed browser command confirmed
//! in a native dialog first), delete, and export and import through native file dialogs. The
//! dialogs run here, in Rust, outside the webview's reach.

use pixie::profile::{Profile, ProfileFile};
use tauri::AppHandle;

use crate::desktop;
use crate::error::CmdResult;
use crate::ipc::{
    ErrorCode, FormField, ImportResult, IpcError, ProfileView, SaveRequest, SaveResult,
};
use crate::publish;
use crate::state::PixieExt;
use crate::views::{form_to_profile, import_result, split_hosts};

pub async fn save(app: &AppHandle, request: SaveRequest) -> CmdResult<SaveResult> {
    let profile = form_to_profile(&request.form)?;
    let original = request.original.as_deref();
    if app.pixie().browser_command_is_new(&profile, original) {
        confirm_browser_command(app, &profile).await?;
    }
    let split_hosts = split_hosts(&profile);
    let secret_dropped = app
        .pixie()
        .save_profile(original, profile, request.secret)
        .await?;
    Ok(SaveResult {
        profiles: publish::profiles(app).await?,
        secret_dropped,
        split_hosts,
    })
}

/// A browser command runs on every sign-in, so a new or changed one is confirmed in a native
/// dialog, outside the webview's reach (as the CLI's import asks for `--allow-browser-command`).
async fn confirm_browser_command(app: &AppHandle, profile: &Profile) -> CmdResult<()> {
    // One word per line: what runs is the first, and nothing can hide past the dialog's edge.
    let words: String = profile
        .browser_words()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, w)| format!("  {}. {}\n", i + 1, pixie::text::terminal_safe(w)))
        .collect();
    let question = format!(
        "Profile `{}` will run this program, with these arguments, to open every sign-in page:\n\n{words}\nAllow it?",
        profile.name
    );
    let allowed =
        desktop::confirm(app, "Pixie: browser command", &question, "Allow", "Cancel").await;
    if allowed {
        Ok(())
    } else {
        Err(IpcError::field(
            FormField::Browser,
            "the browser command was not allowed; clear the field to use the system browser",
        ))
    }
}

pub async fn delete(app: &AppHandle, name: &str) -> CmdResult<Vec<ProfileView>> {
    app.pixie().remove_profile(name).await?;
    publish::profiles(app).await
}

/// Asks where to save and writes every profile as JSON. `None` when the person cancelled.
pub async fn export(app: &AppHandle) -> CmdResult<Option<String>> {
    let text = app.pixie().export_profiles()?;
    let chosen = desktop::save_file(app, "Pixie profiles", &["json"], "pixie-profiles.json").await;
    let Some(path) = chosen else {
        return Ok(None);
    };
    std::fs::write(&path, text).map_err(|e| {
        IpcError::new(
            ErrorCode::Local,
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    Ok(Some(path.display().to_string()))
}

/// Asks for an export file and adds its profiles. `None` when the person cancelled.
pub async fn import(app: &AppHandle) -> CmdResult<Option<ImportResult>> {
    let Some(path) = desktop::pick_file(app, "Pixie profiles", &["json"]).await else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        IpcError::new(
            ErrorCode::Invalid,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let incoming: Vec<Profile> = ProfileFile::parse_export(&text, &path.display().to_string())?;
    let report = app.pixie().import_profiles(incoming).await?;
    Ok(Some(import_result(publish::profiles(app).await?, report)))
}

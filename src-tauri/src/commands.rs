//! Thin `#[tauri::command]` adapters over the engine and [`crate::actions`]. Every command's
//! arguments are single words (Tauri renames camelCase keys) and every error is an [`IpcError`].
//! Nothing returned here holds a token.

use pixie::engine::{Revocation, SecretChange};
use pixie::profile::{Profile, ProfileFile};
use pixie::SecretString;
use tauri::{AppHandle, State};
use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};

use crate::error::CmdResult;
use crate::ipc::{
    AccessTokenClaims, ClaimsPayload, CopyResult, DiscoveryView, ErrorCode, FormField,
    IdTokenClaims, ImportResult, IpcError, ProfileForm, ProfileView, ReadyReport, SaveRequest,
    SaveResult, SecretInput, Settings, SignOutResult, SplitHosts,
};
use crate::state::{emit_profile, emit_profiles, Pixie};
use crate::views::{form_to_profile, profile_form};

#[tauri::command]
pub async fn list_profiles(app: AppHandle, state: State<'_, Pixie>) -> CmdResult<Vec<ProfileView>> {
    let views = state.views().await?;
    crate::tray::update(&app, &views);
    Ok(views)
}

#[tauri::command]
pub async fn get_profile(state: State<'_, Pixie>, name: String) -> CmdResult<ProfileForm> {
    Ok(profile_form(&state.engine.profiles().get(&name)?))
}

#[tauri::command]
pub async fn save_profile(
    app: AppHandle,
    state: State<'_, Pixie>,
    request: SaveRequest,
) -> CmdResult<SaveResult> {
    let profile = form_to_profile(&request.form)?;
    let engine = &state.engine;
    confirm_browser_command(&app, &state, &profile, request.original.as_deref()).await?;
    let split_hosts = profile
        .split_endpoints()
        .map(|(authorization, token)| SplitHosts {
            authorization,
            token,
        });
    let secret_dropped = match request.original.as_deref() {
        None => {
            let secret = match request.secret {
                SecretInput::Set(s) if !s.is_empty() => Some(SecretString::from(s)),
                _ => None,
            };
            let name = profile.name.to_string();
            engine
                .add_profile(profile, secret)
                .await
                .map_err(|e| match e {
                    pixie::Error::DuplicateProfile(_) => {
                        IpcError::field(FormField::Name, e.to_string())
                    }
                    e => e.into(),
                })?;
            // Nothing left over from an earlier profile of that name.
            state.set_activity(&name, None);
            false
        }
        Some(original) => {
            if original != profile.name.as_str() {
                return Err(IpcError::field(
                    FormField::Name,
                    "a profile cannot be renamed; duplicate it under the new name and delete the old one",
                ));
            }
            let change = match request.secret {
                SecretInput::Keep => SecretChange::Keep,
                SecretInput::Set(s) if s.is_empty() => SecretChange::Keep,
                SecretInput::Set(s) => SecretChange::Set(SecretString::from(s)),
                SecretInput::Remove => SecretChange::Remove,
            };
            engine.update_profile(profile, change).await?
        }
    };
    state.wake_refresher();
    Ok(SaveResult {
        profiles: emit_profiles(&app).await?,
        secret_dropped,
        split_hosts,
    })
}

/// A browser command runs on every sign-in, so a new or changed one is confirmed in a native
/// dialog, outside the webview's reach (as the CLI's import asks for `--allow-browser-command`).
async fn confirm_browser_command(
    app: &AppHandle,
    state: &Pixie,
    profile: &Profile,
    original: Option<&str>,
) -> CmdResult<()> {
    let Some(cmd) = profile.browser.clone() else {
        return Ok(());
    };
    let before = original.and_then(|n| state.engine.profiles().get(n).ok());
    if before.is_some_and(|p| p.browser.as_deref() == Some(cmd.as_str())) {
        return Ok(());
    }
    // One word per line: what runs is the first, and nothing can hide past the dialog's edge.
    let words: String = profile
        .browser_words()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, w)| format!("  {}. {}\n", i + 1, pixie::text::terminal_safe(w)))
        .collect();
    let dialog = app
        .dialog()
        .message(format!(
            "Profile `{}` will run this program, with these arguments, to open every sign-in page:\n\n{words}\nAllow it?",
            profile.name
        ))
        .title("Pixie: browser command")
        .kind(MessageDialogKind::Warning)
        .buttons(MessageDialogButtons::OkCancelCustom(
            "Allow".into(),
            "Cancel".into(),
        ));
    let allowed = tauri::async_runtime::spawn_blocking(move || dialog.blocking_show())
        .await
        .unwrap_or(false);
    if allowed {
        Ok(())
    } else {
        Err(IpcError::field(
            FormField::Browser,
            "the browser command was not allowed; clear the field to use the system browser",
        ))
    }
}

#[tauri::command]
pub async fn delete_profile(
    app: AppHandle,
    state: State<'_, Pixie>,
    name: String,
) -> CmdResult<Vec<ProfileView>> {
    crate::actions::cancel_sign_in(&app, &name);
    state.engine.remove_profile(&name).await?;
    state.set_activity(&name, None);
    state.wake_refresher();
    emit_profiles(&app).await
}

#[tauri::command]
pub async fn discover(state: State<'_, Pixie>, issuer: String) -> CmdResult<DiscoveryView> {
    let issuer = issuer.trim();
    if issuer.is_empty() {
        return Err(IpcError::field(
            FormField::Issuer,
            "enter the issuer URL first",
        ));
    }
    if let Err(e) = pixie::profile::parse_endpoint("issuer", issuer) {
        return Err(IpcError::field(FormField::Issuer, e.to_string()));
    }
    let info = state.engine.discover(issuer).await.map_err(|e| {
        let mut err = IpcError::from(e);
        err.fields = vec![crate::ipc::FieldError {
            field: FormField::Issuer,
            message: err.message.clone(),
        }];
        err
    })?;
    let text = |u: &Option<url::Url>| u.as_ref().map(url::Url::to_string);
    Ok(DiscoveryView {
        issuer: info.issuer.clone().unwrap_or_else(|| issuer.to_owned()),
        authorization_endpoint: info.authorization_endpoint.to_string(),
        token_endpoint: info.token_endpoint.to_string(),
        revocation_endpoint: text(&info.revocation_endpoint),
        userinfo_endpoint: text(&info.userinfo_endpoint),
        jwks_uri: text(&info.jwks_uri),
        pkce_s256: info.check_pkce().is_ok(),
        scopes_supported: info.scopes_supported,
        token_endpoint_auth_methods: info.token_endpoint_auth_methods,
    })
}

#[tauri::command]
pub async fn sign_in(app: AppHandle, name: String) -> CmdResult<ProfileView> {
    crate::actions::sign_in(&app, &name).await
}

#[tauri::command]
pub fn cancel_sign_in(app: AppHandle, name: String) {
    crate::actions::cancel_sign_in(&app, &name);
}

#[tauri::command]
pub fn reopen_browser(app: AppHandle, name: String) -> CmdResult<()> {
    crate::actions::reopen_browser(&app, &name)
}

#[tauri::command]
pub async fn copy_token(app: AppHandle, name: String) -> CmdResult<CopyResult> {
    crate::actions::copy_token(&app, &name).await
}

#[tauri::command]
pub async fn claims(state: State<'_, Pixie>, name: String) -> CmdResult<ClaimsPayload> {
    let i = state.engine.inspect(&name).await?;
    Ok(ClaimsPayload {
        profile: name,
        id_token: i.id_token.map(|c| {
            let (problem, checked_at) = match c.verification {
                pixie::Verification::Verified { checked_at } => (None, checked_at),
                pixie::Verification::Unverified { reason, checked_at } => {
                    (Some(reason), checked_at)
                }
            };
            IdTokenClaims {
                verified: c.verified,
                problem,
                checked_at: checked_at.timestamp_millis(),
                claims: c.claims,
            }
        }),
        access_token: match i.access_token {
            pixie::engine::AccessTokenView::Jwt { header, claims } => {
                AccessTokenClaims::Jwt { header, claims }
            }
            pixie::engine::AccessTokenView::Opaque => AccessTokenClaims::Opaque,
        },
        token_type: i.token_type,
        scopes: i.scopes,
        expires_at: i.expires_at.map(|t| t.timestamp_millis()),
    })
}

#[tauri::command]
pub async fn sign_out(
    app: AppHandle,
    state: State<'_, Pixie>,
    name: String,
) -> CmdResult<SignOutResult> {
    let outcome = state.engine.logout(&name, true).await?;
    state.set_activity(&name, None);
    state.wake_refresher();
    let profile = emit_profile(&app, &name).await?;
    let (revoked, revocation) = match outcome {
        Revocation::Revoked => (true, "The provider revoked the refresh token.".into()),
        Revocation::Skipped => (false, "Nothing was revoked at the provider.".into()),
        Revocation::NotSupported => (
            false,
            "The provider offers no revocation, so its tokens stay valid until they expire.".into(),
        ),
        Revocation::NothingToRevoke => (false, "There was nothing to revoke.".into()),
        Revocation::Unreadable => (
            false,
            "The stored session was unreadable, so nothing could be revoked.".into(),
        ),
        Revocation::Failed(why) => (false, format!("Revocation at the provider failed: {why}.")),
    };
    Ok(SignOutResult {
        profile,
        revocation,
        revoked,
    })
}

/// Asks where to save (a native dialog, from Rust) and writes every profile as JSON. `None` when
/// the person cancelled.
#[tauri::command]
pub async fn export_profiles(app: AppHandle, state: State<'_, Pixie>) -> CmdResult<Option<String>> {
    let profiles = state.engine.profiles().list()?;
    let text = serde_json::to_string_pretty(&ProfileFile::from_profiles(&profiles))
        .map_err(|e| IpcError::new(ErrorCode::Local, e.to_string()))?;
    let dialog = app
        .dialog()
        .file()
        .add_filter("Pixie profiles", &["json"])
        .set_file_name("pixie-profiles.json");
    let chosen = tauri::async_runtime::spawn_blocking(move || dialog.blocking_save_file())
        .await
        .ok()
        .flatten();
    let Some(path) = chosen.and_then(|p| p.into_path().ok()) else {
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

#[tauri::command]
pub async fn import_profiles(
    app: AppHandle,
    state: State<'_, Pixie>,
) -> CmdResult<Option<ImportResult>> {
    let dialog = app.dialog().file().add_filter("Pixie profiles", &["json"]);
    let chosen = tauri::async_runtime::spawn_blocking(move || dialog.blocking_pick_file())
        .await
        .ok()
        .flatten();
    let Some(path) = chosen.and_then(|p| p.into_path().ok()) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        IpcError::new(
            ErrorCode::Invalid,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let incoming: Vec<Profile> = ProfileFile::parse_export(&text, &path.display().to_string())?;
    let report = state.engine.import_profiles(incoming, false, false).await?;
    state.wake_refresher();
    Ok(Some(ImportResult {
        profiles: emit_profiles(&app).await?,
        imported: u32::try_from(report.imported).unwrap_or(u32::MAX),
        browser_dropped: report.browser_dropped,
        secret_needed: report.secret_needed,
    }))
}

#[tauri::command]
pub fn get_settings(state: State<'_, Pixie>) -> Settings {
    crate::state::lock(&state.settings).clone()
}

#[tauri::command]
pub fn set_settings(state: State<'_, Pixie>, settings: Settings) -> CmdResult<Settings> {
    crate::settings::validate(&settings).map_err(|m| IpcError::new(ErrorCode::Invalid, m))?;
    state
        .settings_file
        .save(&settings)
        .map_err(|e| IpcError::new(ErrorCode::Local, format!("cannot save the settings: {e}")))?;
    *crate::state::lock(&state.settings) = settings.clone();
    Ok(settings)
}

/// The UI's first paint of the list. With `PIXIE_BENCH` set, the time since start goes to stderr
/// for `scripts/bench-desktop`.
#[tauri::command]
pub fn ui_ready(report: ReadyReport) {
    let since_start = crate::started().elapsed().as_secs_f64() * 1000.0;
    tracing::debug!(since_start, render_ms = report.render_ms, "first paint");
    if std::env::var_os("PIXIE_BENCH").is_some() {
        eprintln!(
            "pixie-bench ready ms_since_start={since_start:.1} render_ms={:.1} profiles={}",
            report.render_ms, report.profiles
        );
    }
}

//! Thin `#[tauri::command]` adapters: each takes its IPC arguments and calls one function of the
//! service ([`crate::state`]), [`crate::actions`], [`crate::profiles`] or [`crate::publish`].
//! Every command's arguments are single words (Tauri renames camelCase keys) and every error is
//! an [`IpcError`](crate::ipc::IpcError). Nothing returned here holds a token.

use tauri::AppHandle;

use crate::error::CmdResult;
use crate::ipc::{
    ClaimsPayload, CopyResult, DiscoveryView, ImportResult, PresetRequest, PresetView, ProfileForm,
    ProfileView, ProgramAnswer, ProgramQuestion, ReadyReport, SaveRequest, SaveResult, Settings,
    SignOutResult,
};
use crate::state::PixieExt;

#[tauri::command]
pub async fn list_profiles(app: AppHandle) -> CmdResult<Vec<ProfileView>> {
    crate::publish::list(&app).await
}

#[tauri::command]
pub async fn get_profile(app: AppHandle, name: String) -> CmdResult<ProfileForm> {
    app.pixie().profile_form(&name)
}

#[tauri::command]
pub async fn save_profile(app: AppHandle, request: SaveRequest) -> CmdResult<SaveResult> {
    crate::profiles::save(&app, request).await
}

#[tauri::command]
pub async fn delete_profile(app: AppHandle, name: String) -> CmdResult<Vec<ProfileView>> {
    crate::profiles::delete(&app, &name).await
}

/// The provider presets, for the editor's picker.
#[tauri::command]
pub fn presets() -> Vec<PresetView> {
    pixie::profile::presets::all()
        .iter()
        .map(crate::views::preset_view)
        .collect()
}

/// The form a preset fills in from the picker's inputs.
#[tauri::command]
pub fn preset_form(request: PresetRequest) -> CmdResult<ProfileForm> {
    crate::views::preset_form(&request)
}

#[tauri::command]
pub async fn discover(app: AppHandle, issuer: String) -> CmdResult<DiscoveryView> {
    app.pixie().discover(&issuer).await
}

#[tauri::command]
pub async fn sign_in(app: AppHandle, name: String) -> CmdResult<ProfileView> {
    crate::actions::sign_in(&app, &name).await
}

#[tauri::command]
pub fn cancel_sign_in(app: AppHandle, name: String) {
    app.pixie().cancel_sign_in(&name);
}

#[tauri::command]
pub fn reopen_browser(app: AppHandle, name: String) -> CmdResult<()> {
    crate::actions::reopen_browser(&app, &name)
}

/// Copies the user code of a waiting device-grant sign-in.
#[tauri::command]
pub fn copy_device_code(app: AppHandle, name: String) -> CmdResult<()> {
    crate::actions::copy_device_code(&app, &name)
}

/// Pins the profile to the account it is signed in as.
#[tauri::command]
pub async fn remember_account(app: AppHandle, name: String) -> CmdResult<ProfileView> {
    crate::actions::remember_account(&app, &name).await
}

#[tauri::command]
pub async fn copy_token(app: AppHandle, name: String) -> CmdResult<CopyResult> {
    crate::actions::copy_token(&app, &name).await
}

#[tauri::command]
pub async fn claims(app: AppHandle, name: String) -> CmdResult<ClaimsPayload> {
    app.pixie().claims(&name).await
}

#[tauri::command]
pub async fn sign_out(app: AppHandle, name: String) -> CmdResult<SignOutResult> {
    crate::actions::sign_out(&app, &name).await
}

/// Asks where to save (a native dialog, from Rust) and writes every profile as JSON. `None` when
/// the person cancelled.
#[tauri::command]
pub async fn export_profiles(app: AppHandle) -> CmdResult<Option<String>> {
    crate::profiles::export(&app).await
}

#[tauri::command]
pub async fn import_profiles(app: AppHandle) -> CmdResult<Option<ImportResult>> {
    crate::profiles::import(&app).await
}

#[tauri::command]
pub fn get_settings(app: AppHandle) -> Settings {
    app.pixie().settings()
}

#[tauri::command]
pub fn set_settings(app: AppHandle, settings: Settings) -> CmdResult<Settings> {
    app.pixie().set_settings(settings)
}

/// Turns "ask before a new program gets this token" on or off for a profile.
#[tauri::command]
pub async fn set_ask_new_programs(
    app: AppHandle,
    name: String,
    ask: bool,
) -> CmdResult<ProfileView> {
    app.pixie().set_asks_new_programs(&name, ask)?;
    crate::publish::profile(&app, &name).await
}

/// Forgets a program allowed "Always" for a profile: it is asked again next time.
#[tauri::command]
pub async fn forget_program(app: AppHandle, name: String, path: String) -> CmdResult<ProfileView> {
    app.pixie().forget_program(&name, &path)?;
    crate::publish::profile(&app, &name).await
}

/// The programs waiting for the person's answer (the window reads them as it opens).
#[tauri::command]
pub fn program_questions(app: AppHandle) -> Vec<ProgramQuestion> {
    app.pixie().program_questions()
}

/// The person's answer to a program waiting for a token.
#[tauri::command]
pub fn answer_program(app: AppHandle, id: u32, answer: ProgramAnswer) {
    app.pixie().answer_program(id, answer);
}

/// The UI's first paint of the list (the cold-start benchmark reads it).
#[tauri::command]
pub fn ui_ready(report: ReadyReport) {
    crate::bench::first_paint(&report);
}

//! Pixie's desktop app: a thin Tauri front over the engine that the `pixie` CLI uses too (same
//! profile file, keychain and refresh locks, so the two never fight over a refresh token).
//!
//! From the top down (each module imports only those below it):
//! - [`commands`]: the webview's commands, thin adapters; [`ipc`]: their types (generated to
//!   TypeScript).
//! - [`actions`]: sign in and out, copy, and what a tray item does, shared by commands and tray;
//!   [`profiles`]: save (with the browser command confirmed), delete, import, export;
//!   [`refresher`]: silent refresh wiring.
//! - [`publish`]: rows to the webview and the tray; [`tray`]; [`clipboard`]; [`desktop`]:
//!   window focus and notifications; [`browser`].
//! - [`broker`]: the token broker served while the app runs; [`program_policy`]: its "ask before
//!   a new program gets this token".
//! - [`state`]: the service in Tauri's managed state, reached as `app.pixie()`.
//! - [`views`]: engine ↔ IPC conversions; [`error`]; [`settings`]; [`bench`].

pub mod actions;
pub mod bench;
#[cfg(unix)]
pub mod broker;
pub mod browser;
pub mod clipboard;
mod command_names;
pub mod commands;
pub mod desktop;
pub mod error;
pub mod ipc;
pub mod profiles;
pub mod program_policy;
pub mod publish;
pub mod refresher;
pub mod settings;
pub mod state;
pub mod tray;
pub mod views;

use std::sync::Arc;

use pixie::engine::EngineConfig;
use pixie::Engine;
use tauri::{Manager, WebviewUrl, WebviewWindowBuilder};

use crate::settings::SettingsFile;
use crate::state::{Pixie, PixieExt};

pub fn run() {
    bench::started();
    pixie::init_logging("info");
    let config = match EngineConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pixie-desktop: {e}");
            std::process::exit(1);
        }
    };
    let settings = SettingsFile::new(config.home.root().join("desktop.json"));
    let engine = Arc::new(Engine::new(config));

    let result = tauri::Builder::default()
        // First, so a second launch only brings the running window to the front.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            desktop::focus_main(app);
        }))
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_notification::init())
        .manage(Pixie::new(engine, settings))
        .invoke_handler(tauri::generate_handler![
            commands::list_profiles,
            commands::get_profile,
            commands::save_profile,
            commands::delete_profile,
            commands::discover,
            commands::presets,
            commands::preset_form,
            commands::sign_in,
            commands::cancel_sign_in,
            commands::reopen_browser,
            commands::copy_device_code,
            commands::remember_account,
            commands::copy_token,
            commands::claims,
            commands::sign_out,
            commands::export_profiles,
            commands::import_profiles,
            commands::get_settings,
            commands::set_settings,
            commands::set_ask_new_programs,
            commands::forget_program,
            commands::program_questions,
            commands::answer_program,
            commands::ui_ready,
        ])
        // The CLI may have signed in, out or changed profiles meanwhile: show the truth when the
        // person comes back to the window.
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::Focused(true) = event {
                let app = window.app_handle().clone();
                if let Some(delay) = app.pixie().focus_refresh_delay() {
                    tauri::async_runtime::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let _ = publish::profiles(&app).await;
                    });
                }
            }
        })
        .setup(|app| {
            let mut window = WebviewWindowBuilder::new(app, "main", WebviewUrl::default())
                .title("Pixie")
                .inner_size(960.0, 680.0)
                .min_inner_size(800.0, 600.0);
            if std::env::var_os("PIXIE_IPC_TAP").is_some() {
                // Tests read what reached the webview through the IPC (results and events).
                window = window.initialization_script("window.__PIXIE_IPC_TAP__ = [];");
            }
            window.build()?;
            if let Err(e) = tray::create(app.handle(), actions::on_tray) {
                tracing::info!(error = %e, "no tray icon on this desktop");
            }
            refresher::start(app.handle());
            #[cfg(unix)]
            tauri::async_runtime::spawn(broker::start(app.handle().clone()));
            Ok(())
        })
        .build(tauri::generate_context!());
    match result {
        Ok(app) => app.run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                clipboard::clear_on_exit(app);
                app.pixie().stop_broker();
            }
        }),
        Err(e) => {
            eprintln!("pixie-desktop: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::command_names::COMMANDS;

    /// The one command list agrees with the handler, the command functions and the
    /// capability's permission set: a command added in one place and not the others fails here.
    #[test]
    fn every_command_is_handled_defined_and_permitted_once() {
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let read = |p: &str| std::fs::read_to_string(here.join(p)).unwrap();
        let lib = read("src/lib.rs");
        let handler = &lib[lib.find("generate_handler![").unwrap()..];
        let handler = &handler[..handler.find("])").unwrap()];
        let handled: Vec<&str> = handler
            .split("commands::")
            .skip(1)
            .map(|s| s.split(',').next().unwrap().trim())
            .collect();
        assert_eq!(handled, COMMANDS);
        let defined = read("src/commands.rs");
        for c in COMMANDS {
            assert!(
                defined.contains(&format!("pub async fn {c}("))
                    || defined.contains(&format!("pub fn {c}(")),
                "{c} is not defined in commands.rs"
            );
        }
        let permissions = read("permissions/app.toml");
        let granted: Vec<String> = permissions
            .lines()
            .filter_map(|l| l.trim().strip_prefix("\"allow-"))
            .map(|l| l.trim_end_matches(['"', ',']).replace('-', "_"))
            .collect();
        assert_eq!(granted, COMMANDS);
    }
}

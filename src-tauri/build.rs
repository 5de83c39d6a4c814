// The config lives at the top level; `src-tauri/tauri.conf.json` is a symlink to it, so cargo and
// the Tauri CLI both find it here and resolve its paths from `src-tauri/`. The app's own commands
// are listed so Tauri generates a permission for each and the capability allows exactly these.
const COMMANDS: &[&str] = &[
    "list_profiles",
    "get_profile",
    "save_profile",
    "delete_profile",
    "discover",
    "sign_in",
    "cancel_sign_in",
    "reopen_browser",
    "copy_token",
    "claims",
    "sign_out",
    "export_profiles",
    "import_profiles",
    "get_settings",
    "set_settings",
    "ui_ready",
];

fn main() {
    let attrs = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attrs) {
        panic!("tauri-build failed: {e:#}");
    }
}

// The config lives at the top level; `src-tauri/tauri.conf.json` is a symlink to it, so cargo and
// the Tauri CLI both find it here and resolve its paths from `src-tauri/`.
// The app's own commands come from the one list, so Tauri generates a permission for each and
// the capability allows exactly these.
include!("src/command_names.rs");

fn main() {
    let attrs = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attrs) {
        panic!("tauri-build failed: {e:#}");
    }
}

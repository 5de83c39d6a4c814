// The app's commands, listed once: `build.rs` `include!`s this file so Tauri generates a
// permission for each, the IPC bindings give the webview their names, and a test checks the
// handler and the capability's permission set against it.
pub const COMMANDS: &[&str] = &[
    "list_profiles",
    "get_profile",
    "save_profile",
    "delete_profile",
    "discover",
    "presets",
    "preset_form",
    "sign_in",
    "cancel_sign_in",
    "reopen_browser",
    "copy_device_code",
    "remember_account",
    "copy_token",
    "claims",
    "sign_out",
    "export_profiles",
    "import_profiles",
    "get_settings",
    "set_settings",
    "set_ask_new_programs",
    "forget_program",
    "program_questions",
    "answer_program",
    "ui_ready",
];

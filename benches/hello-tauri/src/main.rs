//! A bare Tauri 2 app as create-tauri-app makes it: one window from the config, a static page,
//! the opener plugin and the template's one command.

#[tauri::command]
fn greet(name: &str) -> String {
    format!("Hello, {name}! You've been greeted from Rust!")
}

fn main() {
    if let Err(e) = tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        .invoke_handler(tauri::generate_handler![greet])
        .run(tauri::generate_context!())
    {
        eprintln!("hello-tauri: {e}");
        std::process::exit(1);
    }
}

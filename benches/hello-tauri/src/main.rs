//! A bare Tauri 2 app: one window from the config, a static page, nothing else.

fn main() {
    if let Err(e) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("hello-tauri: {e}");
        std::process::exit(1);
    }
}

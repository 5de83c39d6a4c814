//! Opening the system browser from Rust. `$BROWSER` and a profile's own browser command are
//! honoured exactly as the CLI does (scripts and tests rely on them); otherwise Tauri's opener
//! plugin hands the URL to the desktop.

use pixie::{Browser, SystemBrowser};
use tauri::AppHandle;
use tauri_plugin_opener::OpenerExt;

pub struct AppBrowser {
    pub app: AppHandle,
    pub profile_command: Option<String>,
}

impl Browser for AppBrowser {
    fn open(&self, url: &str) -> pixie::Result<()> {
        let configured = std::env::var("BROWSER").is_ok_and(|b| !b.trim().is_empty())
            || self.profile_command.is_some();
        if configured {
            return SystemBrowser {
                profile_command: self.profile_command.clone(),
            }
            .open(url);
        }
        self.app
            .opener()
            .open_url(url, None::<&str>)
            .map_err(|e| pixie::Error::Browser(e.to_string()))
    }
}

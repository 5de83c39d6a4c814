//! Putting a token on the clipboard from Rust (the webview never sees it) and taking it off again
//! after the configured delay, but only if the clipboard still holds that token: the person may
//! have copied something else meanwhile.

use std::time::Duration;

use sha2::{Digest, Sha256};
use tauri::AppHandle;
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::state::PixieExt;

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Copies `token` and, when `clear_after` is set, schedules the clear. Returns an error message
/// fit for a person.
pub fn copy(app: &AppHandle, token: &str, clear_after: Option<Duration>) -> Result<(), String> {
    // Only a digest is kept for the comparison, not the token.
    let want = digest(token);
    let generation = app.pixie().record_copy(want, || {
        app.clipboard()
            .write_secret(token)
            .map_err(|e| format!("could not write to the clipboard: {e}"))
    })?;
    if let Some(delay) = clear_after {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(delay).await;
            // Reading the clipboard may wait on another app: not on the main thread.
            let app2 = app.clone();
            let cleared = tauri::async_runtime::spawn_blocking(move || {
                app2.pixie().clear_copy(generation, || {
                    let cb = app2.clipboard();
                    match cb.read_text() {
                        Ok(now) if digest(&now) == want => cb.clear().map(|_| true),
                        Ok(_) => Ok(false),
                        Err(e) => Err(e),
                    }
                })
            })
            .await;
            match cleared {
                Ok(Ok(true)) => tracing::debug!("clipboard cleared"),
                Ok(Ok(false)) => tracing::debug!("clipboard changed since the copy; left alone"),
                Ok(Err(e)) => tracing::warn!(error = %e, "could not clear the clipboard"),
                Err(e) => tracing::warn!(error = %e, "clipboard task failed"),
            }
        });
    }
    Ok(())
}

/// Whether the clipboard's `current` text is the token Pixie put there (`held`'s digest).
fn still_ours(held: Option<[u8; 32]>, current: &str) -> bool {
    held.is_some_and(|d| d == digest(current))
}

/// On quit: takes the copied token off the clipboard if it is still there, whatever the delay
/// setting (0 = "never" means never while Pixie runs, not forever after).
pub fn clear_on_exit(app: &AppHandle) {
    let held = app.pixie().copied_digest();
    if held.is_none() {
        return;
    }
    let cb = app.clipboard();
    match cb.read_text() {
        Ok(now) if still_ours(held, &now) => match cb.clear() {
            Ok(()) => tracing::debug!("clipboard cleared on exit"),
            Err(e) => tracing::warn!(error = %e, "could not clear the clipboard on exit"),
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_pixie_copied_is_cleared_on_exit() {
        let held = Some(digest("token-1"));
        assert!(still_ours(held, "token-1"));
        assert!(!still_ours(held, "something the person copied since"));
        assert!(!still_ours(None, "token-1"));
    }
}

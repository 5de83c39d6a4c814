//! Pixie on the desktop beyond its window's content: bringing the window forward, desktop
//! notifications, and native dialogs.
//!
//! The dialogs are rfd's (GTK on Linux), made on the main thread as GTK requires and awaited on
//! a thread of their own, as tauri-plugin-dialog does. The plugin itself is not used: Pixie
//! drives its dialogs from Rust, and the plugin would add webview commands and the fs plugin.

use std::future::Future;
use std::path::PathBuf;

use rfd::{AsyncFileDialog, AsyncMessageDialog, MessageButtons, MessageDialogResult, MessageLevel};
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

pub fn focus_main(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// Asks `question` with a warning and two buttons; true when `ok` was pressed.
pub async fn confirm(app: &AppHandle, title: &str, question: &str, ok: &str, cancel: &str) -> bool {
    let dialog = AsyncMessageDialog::new()
        .set_title(title)
        .set_description(question)
        .set_level(MessageLevel::Warning)
        .set_buttons(MessageButtons::OkCancelCustom(ok.into(), cancel.into()));
    let ok = ok.to_owned();
    on_main_thread(app, move || dialog.show())
        .await
        .is_some_and(|answer| pressed(&answer, &ok))
}

/// Whether `answer` is the `ok` button: GTK reports custom buttons as `Ok`/`Cancel`, the other
/// platforms by their label.
fn pressed(answer: &MessageDialogResult, ok: &str) -> bool {
    match answer {
        MessageDialogResult::Ok | MessageDialogResult::Yes => true,
        MessageDialogResult::Custom(label) => label == ok,
        _ => false,
    }
}

/// Asks where to save a file of the kind `filter` (`extensions`), proposing `file_name`.
pub async fn save_file(
    app: &AppHandle,
    filter: &str,
    extensions: &[&str],
    file_name: &str,
) -> Option<PathBuf> {
    let dialog = AsyncFileDialog::new()
        .add_filter(filter, extensions)
        .set_file_name(file_name)
        .set_can_create_directories(true);
    let chosen = on_main_thread(app, move || dialog.save_file()).await?;
    chosen.map(|f| f.path().to_path_buf())
}

/// Asks for one file of the kind `filter` (`extensions`).
pub async fn pick_file(app: &AppHandle, filter: &str, extensions: &[&str]) -> Option<PathBuf> {
    let dialog = AsyncFileDialog::new().add_filter(filter, extensions);
    let chosen = on_main_thread(app, move || dialog.pick_file()).await?;
    chosen.map(|f| f.path().to_path_buf())
}

/// Makes the dialog on the main thread and waits for its answer; `None` when the app is
/// closing and the main thread takes no more work.
async fn on_main_thread<T, F>(
    app: &AppHandle,
    show: impl FnOnce() -> F + Send + 'static,
) -> Option<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.run_on_main_thread(move || {
        let answer = show();
        std::thread::spawn(move || {
            let _ = tx.send(tauri::async_runtime::block_on(answer));
        });
    })
    .ok()?;
    rx.await.ok()
}

/// Text for a notification: the freedesktop spec lets bodies carry markup (`<b>`, `<a href>`),
/// and the reason may quote a provider, so it is escaped; control and bidi characters are
/// shown as escapes.
fn notification_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in pixie::text::terminal_safe(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A desktop notification; a desktop without a notification service only gets a log line.
pub fn notify(app: &AppHandle, title: &str, body: &str) {
    let app = app.clone();
    let (title, body) = (notification_text(title), notification_text(body));
    // The D-Bus call may block; never on the main thread.
    tauri::async_runtime::spawn_blocking(move || {
        if let Err(e) = app
            .notification()
            .builder()
            .title(&title)
            .body(&body)
            .show()
        {
            tracing::info!(error = %e, "no desktop notification: {title}: {body}");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_ok_button_confirms() {
        assert!(pressed(&MessageDialogResult::Ok, "Allow"));
        assert!(pressed(
            &MessageDialogResult::Custom("Allow".into()),
            "Allow"
        ));
        assert!(!pressed(
            &MessageDialogResult::Custom("Cancel".into()),
            "Allow"
        ));
        assert!(!pressed(&MessageDialogResult::Cancel, "Allow"));
        assert!(!pressed(&MessageDialogResult::No, "Allow"));
    }

    #[test]
    fn notification_bodies_carry_no_markup_or_escapes() {
        let body = notification_text("<a href=\"https://evil\">x</a> & \u{1b}[2J");
        assert_eq!(
            body,
            "&lt;a href=&quot;https://evil&quot;&gt;x&lt;/a&gt; &amp; \\u{1b}[2J"
        );
    }
}

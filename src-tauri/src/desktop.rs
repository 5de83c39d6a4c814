//! Pixie on the desktop beyond its window's content: bringing the window forward, and desktop
//! notifications.

use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

pub fn focus_main(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
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
    fn notification_bodies_carry_no_markup_or_escapes() {
        let body = notification_text("<a href=\"https://evil\">x</a> & \u{1b}[2J");
        assert_eq!(
            body,
            "&lt;a href=&quot;https://evil&quot;&gt;x&lt;/a&gt; &amp; \\u{1b}[2J"
        );
    }
}

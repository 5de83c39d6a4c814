//! The tray icon (where the desktop has a tray): each profile's "Copy token" and "Sign in", plus
//! Show and Quit. Rebuilt whenever the list is sent to the webview.

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter};

use crate::ipc::{events, Notice, NoticeKind, ProfileState, ProfileView};

const TRAY_ID: &str = "pixie";

pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let icon = tauri::image::Image::from_bytes(include_bytes!("../../icons/tray.png"))?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon)
        .tooltip("Pixie")
        .menu(&menu(app, &[])?)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .build(app)?;
    Ok(())
}

/// A new menu for the current list; a desktop without a tray simply has none to update.
pub fn update(app: &AppHandle, views: &[ProfileView]) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    match menu(app, views) {
        Ok(m) => {
            if let Err(e) = tray.set_menu(Some(m)) {
                tracing::debug!(error = %e, "tray menu not updated");
            }
        }
        Err(e) => tracing::debug!(error = %e, "tray menu not built"),
    }
}

fn menu(app: &AppHandle, views: &[ProfileView]) -> tauri::Result<Menu<tauri::Wry>> {
    let menu = Menu::new(app)?;
    // A tray menu is no place for a thousand profiles: the window is.
    for v in views.iter().take(20) {
        let signed_in = matches!(v.state, ProfileState::SignedIn | ProfileState::Refreshing);
        let copy = MenuItem::with_id(
            app,
            format!("copy:{}", v.name),
            "Copy token",
            signed_in,
            None::<&str>,
        )?;
        let sign_in = MenuItem::with_id(
            app,
            format!("signin:{}", v.name),
            "Sign in",
            v.state != ProfileState::Waiting,
            None::<&str>,
        )?;
        menu.append(&Submenu::with_items(
            app,
            &v.name,
            true,
            &[&copy, &sign_in],
        )?)?;
    }
    if !views.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
    }
    menu.append(&MenuItem::with_id(
        app,
        "show",
        "Show Pixie",
        true,
        None::<&str>,
    )?)?;
    menu.append(&MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?)?;
    Ok(menu)
}

fn on_menu(app: &AppHandle, id: &str) {
    if let Some(name) = id.strip_prefix("copy:") {
        let (app, name) = (app.clone(), name.to_owned());
        tauri::async_runtime::spawn(async move {
            let notice = match crate::actions::copy_token(&app, &name).await {
                Ok(r) => Notice {
                    kind: NoticeKind::Info,
                    message: match r.clears_in_secs {
                        Some(s) => format!("Token for {name} copied. Clipboard clears in {s} s."),
                        None => format!("Token for {name} copied."),
                    },
                    profile: Some(name.clone()),
                },
                Err(e) => {
                    crate::actions::notify(&app, &format!("Pixie: {name}"), &e.message);
                    Notice {
                        kind: NoticeKind::Error,
                        message: e.message,
                        profile: Some(name.clone()),
                    }
                }
            };
            let _ = app.emit(events::NOTICE, notice);
        });
    } else if let Some(name) = id.strip_prefix("signin:") {
        crate::actions::focus_main(app);
        let (app, name) = (app.clone(), name.to_owned());
        tauri::async_runtime::spawn(async move {
            if let Err(e) = crate::actions::sign_in(&app, &name).await {
                let _ = app.emit(
                    events::NOTICE,
                    Notice {
                        kind: NoticeKind::Error,
                        message: e.message,
                        profile: Some(name),
                    },
                );
            }
        });
    } else if id == "show" {
        crate::actions::focus_main(app);
    } else if id == "quit" {
        app.exit(0);
    }
}

//! The tray icon (where the desktop has a tray): each profile's "Copy token" and "Sign in", plus
//! Show and Quit. Rebuilt whenever the list is sent to the webview. What a chosen item does is
//! the caller's ([`create`] takes it), so the tray needs nothing above the state.

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::AppHandle;

use crate::ipc::ProfileView;
use crate::state::PixieExt;
use crate::views::TrayItem;

const TRAY_ID: &str = "pixie";

/// A tray item the person chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrayAction {
    Copy(String),
    SignIn(String),
    Show,
    Quit,
}

impl TrayAction {
    fn parse(id: &str) -> Option<Self> {
        if let Some(name) = id.strip_prefix("copy:") {
            Some(Self::Copy(name.to_owned()))
        } else if let Some(name) = id.strip_prefix("signin:") {
            Some(Self::SignIn(name.to_owned()))
        } else {
            match id {
                "show" => Some(Self::Show),
                "quit" => Some(Self::Quit),
                _ => None,
            }
        }
    }
}

pub fn create(app: &AppHandle, on_action: fn(&AppHandle, TrayAction)) -> tauri::Result<()> {
    // Decoded at build time: no PNG decoder in the app.
    let icon = tauri::include_image!("../icons/tray.png");
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon)
        .tooltip("Pixie")
        .menu(&menu(app, &[])?)
        .show_menu_on_left_click(true)
        .on_menu_event(move |app, event| {
            if let Some(action) = TrayAction::parse(event.id().as_ref()) {
                on_action(app, action);
            }
        })
        .build(app)?;
    Ok(())
}

/// A tray menu for the whole list, rebuilt only when an entry changed.
pub fn update(app: &AppHandle, views: &[ProfileView]) {
    // A tray menu is no place for a thousand profiles: the window is.
    let items: Vec<TrayItem> = views.iter().take(MAX_ITEMS).map(TrayItem::of).collect();
    set_items(app, |current| *current = items);
}

/// The same after one profile changed.
pub fn update_one(app: &AppHandle, view: &ProfileView) {
    let item = TrayItem::of(view);
    set_items(app, |current| {
        if let Some(slot) = current.iter_mut().find(|i| i.name == item.name) {
            *slot = item;
        }
    });
}

const MAX_ITEMS: usize = 20;

fn set_items(app: &AppHandle, change: impl FnOnce(&mut Vec<TrayItem>)) {
    if app.tray_by_id(TRAY_ID).is_none() {
        return;
    }
    let Some(items) = app.pixie().change_tray_items(change) else {
        return;
    };
    // Built on the main thread in one go: from any other thread, every menu call is a blocking
    // round trip to it.
    let handle = app.clone();
    let _ = app.run_on_main_thread(move || {
        let Some(tray) = handle.tray_by_id(TRAY_ID) else {
            return;
        };
        match menu(&handle, &items) {
            Ok(m) => {
                if let Err(e) = tray.set_menu(Some(m)) {
                    tracing::debug!(error = %e, "tray menu not updated");
                }
            }
            Err(e) => tracing::debug!(error = %e, "tray menu not built"),
        }
    });
}

fn menu(app: &AppHandle, items: &[TrayItem]) -> tauri::Result<Menu<tauri::Wry>> {
    let menu = Menu::new(app)?;
    for item in items {
        let copy = MenuItem::with_id(
            app,
            format!("copy:{}", item.name),
            "Copy token",
            item.copy,
            None::<&str>,
        )?;
        let sign_in = MenuItem::with_id(
            app,
            format!("signin:{}", item.name),
            "Sign in",
            item.sign_in,
            None::<&str>,
        )?;
        menu.append(&Submenu::with_items(
            app,
            &item.name,
            true,
            &[&copy, &sign_in],
        )?)?;
    }
    if !items.is_empty() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn menu_ids_name_the_action_and_the_whole_profile_name() {
        assert_eq!(
            TrayAction::parse("copy:work:eu"),
            Some(TrayAction::Copy("work:eu".into()))
        );
        assert_eq!(
            TrayAction::parse("signin:work"),
            Some(TrayAction::SignIn("work".into()))
        );
        assert_eq!(TrayAction::parse("show"), Some(TrayAction::Show));
        assert_eq!(TrayAction::parse("quit"), Some(TrayAction::Quit));
        assert_eq!(TrayAction::parse("other"), None);
    }
}

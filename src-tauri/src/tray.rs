//! The tray icon (where the desktop has a tray): each profile's "Copy token" and "Sign in", plus
//! Show and Quit. Rebuilt whenever the list is sent to the webview.

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter, Manager};

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

/// One tray entry: a profile and which of its items are enabled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    name: String,
    copy: bool,
    sign_in: bool,
}

impl Item {
    fn of(v: &ProfileView) -> Self {
        Self {
            name: v.name.clone(),
            copy: matches!(v.state, ProfileState::SignedIn | ProfileState::Refreshing),
            sign_in: v.state != ProfileState::Waiting,
        }
    }
}

/// A tray menu for the whole list, rebuilt only when an entry changed.
pub fn update(app: &AppHandle, views: &[ProfileView]) {
    // A tray menu is no place for a thousand profiles: the window is.
    let items: Vec<Item> = views.iter().take(MAX_ITEMS).map(Item::of).collect();
    set_items(app, |current| *current = items);
}

/// The same after one profile changed.
pub fn update_one(app: &AppHandle, view: &ProfileView) {
    let item = Item::of(view);
    set_items(app, |current| {
        if let Some(slot) = current.iter_mut().find(|i| i.name == item.name) {
            *slot = item;
        }
    });
}

const MAX_ITEMS: usize = 20;

fn set_items(app: &AppHandle, change: impl FnOnce(&mut Vec<Item>)) {
    if app.tray_by_id(TRAY_ID).is_none() {
        return;
    }
    let state = app.state::<crate::state::Pixie>();
    let items = {
        let mut current = crate::state::lock(&state.tray_items);
        let before = current.clone();
        change(&mut current);
        if *current == before {
            return;
        }
        current.clone()
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

fn menu(app: &AppHandle, items: &[Item]) -> tauri::Result<Menu<tauri::Wry>> {
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

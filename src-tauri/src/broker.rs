//! The token broker in the app: while the window runs, the app answers `pixie token`, kubectl,
//! git and scripts over the user's socket through its own engine, so it is the one process that
//! spends refresh tokens. When another broker already answers (a `pixie agent`), the app leaves
//! it be and only says so in its log. Each call re-sends the asked-about profile's row (at most
//! every [`ROW_GAP`]), so the row's "kubectl, 2 min ago" and its expiry follow the calls.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pixie::broker::{Broker, BrokerConfig, BrokerError};
use tauri::{AppHandle, Emitter};
use tokio_util::sync::CancellationToken;

use crate::ipc::events;
use crate::state::PixieExt;

/// A profile's row is sent again at most this often while programs keep asking.
const ROW_GAP: Duration = Duration::from_millis(500);

/// Binds the socket and serves until [`crate::state::Pixie::stop_broker`].
pub async fn start(app: AppHandle) {
    let policy = app.pixie().program_policy();
    let shown = app.clone();
    policy.on_change(move |open| {
        // A new question brings the window forward: the program waits for the person.
        if !open.is_empty() {
            crate::desktop::focus_main(&shown);
        }
        let _ = shown.emit(events::QUESTIONS, &open);
    });
    let config = match BrokerConfig::from_env() {
        Ok(c) => BrokerConfig { policy, ..c },
        Err(e) => {
            tracing::info!(error = %e, "not serving the token broker");
            return;
        }
    };
    let engine = app.pixie().engine();
    // The app's engine answers the broker from memory while no Pixie process has changed a
    // session (and so do its own token copies).
    engine.keep_sessions_in_memory();
    let broker = match Broker::bind(engine, config).await {
        Ok(b) => b,
        Err(e @ BrokerError::AlreadyRunning { .. }) => {
            tracing::info!("another token broker answers; this app does not serve one ({e})");
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot serve the token broker");
            return;
        }
    };
    tracing::info!(socket = %broker.path().display(), "serving the token broker");
    let callers = broker.callers();
    let pending: Arc<Mutex<HashSet<String>>> = Arc::default();
    let handle = app.clone();
    callers.on_call(move |caller| {
        if let Some(name) = &caller.profile {
            send_row_soon(&handle, &pending, name);
        }
    });
    let stop = CancellationToken::new();
    let (stopped_tx, stopped) = std::sync::mpsc::channel();
    app.pixie().broker_started(callers, stop.clone(), stopped);
    tauri::async_runtime::spawn(async move {
        // Dropped at the end of `serve`: the socket goes with it.
        broker.serve(stop).await;
        let _ = stopped_tx.send(());
    });
}

/// Sends `name`'s row after [`ROW_GAP`], unless that is planned already. The caller is noted
/// in the log just after this is called, so the row sent later includes it.
fn send_row_soon(app: &AppHandle, pending: &Arc<Mutex<HashSet<String>>>, name: &str) {
    let first = pending
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(name.to_owned());
    if !first {
        return;
    }
    let (app, pending, name) = (app.clone(), pending.clone(), name.to_owned());
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(ROW_GAP).await;
        pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&name);
        // An unknown profile's name (a typo in a script) has no row: nothing to send.
        if app.pixie().profile(&name).is_ok() {
            let _ = crate::publish::profile(&app, &name).await;
        }
    });
}

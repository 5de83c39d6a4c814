//! The service held in Tauri's managed state: the engine plus what only a running app knows
//! (sign-ins in progress, a refresh running or failed, settings, the last copy, the tray's
//! entries). As in the clipboard-manager plugin (`Clipboard<R>` + `ClipboardExt`), the fields are
//! private and the rest of the app calls methods on [`PixieExt::pixie`]. It speaks IPC types and
//! knows nothing of windows, dialogs or the tray: those are the callers' business.
//!
//! This file holds the app's own bookkeeping; [`operations`], the calls into the engine.

mod operations;

pub use operations::SignedOut;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use pixie::autorefresh::{AutoRefresh, Policy, RefreshSink};
use pixie::engine::ProfileStatus;
use pixie::Browser;
use pixie::Engine;
use tauri::{Manager, Runtime};
use tokio_util::sync::CancellationToken;

use crate::error::CmdResult;
use crate::ipc::{ErrorCode, IpcError, ProgramAnswer, ProgramQuestion, ProgramUse, Settings};
use crate::program_policy::{ProgramPolicy, ASK_TIMEOUT};
use crate::settings::SettingsFile;
use crate::views::{Activity, TrayItem};

/// `app.pixie()` from anything that reaches the app (handle, window), like `app.clipboard()`.
pub trait PixieExt<R: Runtime> {
    fn pixie(&self) -> &Pixie;
}

impl<R: Runtime, T: Manager<R>> PixieExt<R> for T {
    fn pixie(&self) -> &Pixie {
        self.state::<Pixie>().inner()
    }
}

/// An activity shown over a profile's status. A lasting one (a failure) is tied to the session it
/// was about: once the session changes (signed in or out elsewhere, e.g. with the CLI), it no
/// longer applies.
#[derive(Clone)]
struct Overlay {
    activity: Activity,
    /// The session's `issued_at` when the overlay was first shown; `None` until then.
    session: Option<Option<i64>>,
}

/// A sign-in in progress.
struct SignIn {
    cancel: CancellationToken,
    /// The authorization URL once built, or a device grant's verification page (stays in Rust;
    /// "open the link again" and the device panel's Open reuse it).
    link: Option<String>,
    /// A device grant's user code, for the panel's Copy.
    user_code: Option<String>,
    browser: Arc<dyn Browser>,
}

/// A browser sign-out whose wait for the provider runs in the background.
struct BrowserSignOutWait {
    id: u64,
    cancel: CancellationToken,
}

/// The token broker this app serves, while it does.
#[cfg(unix)]
struct Serving {
    callers: pixie::broker::CallerLog,
    stop: CancellationToken,
    /// Says when the broker has stopped (and removed its socket).
    stopped: std::sync::mpsc::Receiver<()>,
}

pub struct Pixie {
    engine: Arc<Engine>,
    settings_file: Arc<SettingsFile>,
    programs: Arc<ProgramPolicy>,
    #[cfg(unix)]
    broker: Mutex<Option<Serving>>,
    settings: Mutex<Settings>,
    activities: Mutex<HashMap<String, Overlay>>,
    sign_ins: Mutex<HashMap<String, SignIn>>,
    /// Per profile: its loopback page waits for the provider; a sign-in ends the wait, as the
    /// listener may hold the port the sign-in needs.
    browser_sign_outs: Mutex<HashMap<String, BrowserSignOutWait>>,
    next_wait_id: Mutex<u64>,
    auto_refresh: OnceLock<AutoRefresh>,
    /// Bumped by every copy, so an older copy's timer never clears a newer token. Held across
    /// a write and its bump, and across a timer's check, read and clear.
    clipboard_generation: Mutex<u64>,
    /// The digest of the token Pixie last put on the clipboard while it may still be there, so
    /// it can be taken off when the app quits (macOS, Windows and Wayland keep the clipboard
    /// after the app is gone).
    clipboard_held: Mutex<Option<[u8; 32]>>,
    /// What the tray menu shows, so it is rebuilt only when that changes.
    tray_items: Mutex<Vec<TrayItem>>,
    last_focus_refresh: Mutex<Option<Instant>>,
}

/// Poisoning only means another thread panicked mid-update of plain maps; keep going.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A profile's sign-in slot, taken by [`Pixie::begin_sign_in`] and given back when dropped.
pub struct SignInGuard<'a> {
    pixie: &'a Pixie,
    name: String,
    cancel: CancellationToken,
}

impl SignInGuard<'_> {
    /// Cancels this sign-in (from [`Pixie::cancel_sign_in`]).
    pub fn cancellation(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

impl Drop for SignInGuard<'_> {
    fn drop(&mut self) {
        lock(&self.pixie.sign_ins).remove(&self.name);
    }
}

impl Pixie {
    pub fn new(engine: Arc<Engine>, settings_file: SettingsFile) -> Self {
        let settings = settings_file.load();
        let settings_file = Arc::new(settings_file);
        Self {
            engine,
            programs: Arc::new(ProgramPolicy::new(settings_file.clone(), ASK_TIMEOUT)),
            #[cfg(unix)]
            broker: Mutex::new(None),
            settings_file,
            settings: Mutex::new(settings),
            activities: Mutex::default(),
            sign_ins: Mutex::default(),
            browser_sign_outs: Mutex::default(),
            next_wait_id: Mutex::new(0),
            auto_refresh: OnceLock::new(),
            clipboard_generation: Mutex::new(0),
            clipboard_held: Mutex::new(None),
            tray_items: Mutex::default(),
            // The window reads the list as it opens: its first focus need not read it again.
            last_focus_refresh: Mutex::new(Some(Instant::now())),
        }
    }

    /// When a focus of the window should re-read the list: now, or (within 5 s of the last
    /// re-read, since focus comes and goes in bursts) once that time is up; `None` when a later
    /// re-read is already planned.
    pub fn focus_refresh_delay(&self) -> Option<Duration> {
        plan_focus_refresh(&mut lock(&self.last_focus_refresh), Instant::now())
    }

    pub fn set_activity(&self, name: &str, activity: Option<Activity>) {
        let mut all = lock(&self.activities);
        match activity {
            Some(activity) => all.insert(
                name.to_owned(),
                Overlay {
                    activity,
                    session: None,
                },
            ),
            None => all.remove(name),
        };
    }

    /// The activity to show over `status`, dropping a lasting one whose session has changed.
    fn overlay(&self, name: &str, status: Option<&ProfileStatus>) -> Option<Activity> {
        let mut all = lock(&self.activities);
        let o = all.get_mut(name)?;
        if o.activity.is_lasting() {
            let current = status
                .and_then(|s| s.issued_at)
                .map(|t| t.timestamp_millis());
            match o.session {
                None => o.session = Some(current),
                Some(seen) if seen != current => {
                    all.remove(name);
                    return None;
                }
                Some(_) => {}
            }
        }
        Some(o.activity.clone())
    }

    /// Starts the silent-refresh scheduler (once; it needs Tauri's runtime entered).
    pub fn start_auto_refresh(&self, policy: Policy, sink: RefreshSink) {
        let auto = AutoRefresh::spawn(self.engine.clone(), policy, sink);
        let _ = self.auto_refresh.set(auto);
    }

    /// Look at the sessions again now (after a sign-in, sign-out or profile change).
    pub fn wake_refresher(&self) {
        if let Some(a) = self.auto_refresh.get() {
            a.wake();
        }
    }

    /// Takes `name`'s sign-in slot, or says one is already waiting for the browser.
    pub fn begin_sign_in(
        &self,
        name: &str,
        browser: Arc<dyn Browser>,
    ) -> CmdResult<SignInGuard<'_>> {
        let mut running = lock(&self.sign_ins);
        if running.contains_key(name) {
            return Err(IpcError::new(
                ErrorCode::Busy,
                format!("a sign-in for `{name}` is already waiting for the browser"),
            ));
        }
        if let Some(wait) = lock(&self.browser_sign_outs).remove(name) {
            wait.cancel.cancel();
        }
        let cancel = CancellationToken::new();
        running.insert(
            name.to_owned(),
            SignIn {
                cancel: cancel.clone(),
                link: None,
                user_code: None,
                browser,
            },
        );
        Ok(SignInGuard {
            pixie: self,
            name: name.to_owned(),
            cancel,
        })
    }

    /// Whether a sign-in for `name` is running (it owns the row's state meanwhile).
    pub fn is_signing_in(&self, name: &str) -> bool {
        lock(&self.sign_ins).contains_key(name)
    }

    /// Keeps the authorization URL of `name`'s running sign-in for "open the link again".
    pub fn set_sign_in_link(&self, name: &str, url: String) {
        if let Some(s) = lock(&self.sign_ins).get_mut(name) {
            s.link = Some(url);
        }
    }

    /// Keeps a device-grant sign-in's code and verification page for the panel's Copy and Open.
    pub fn set_device_code(&self, name: &str, link: String, user_code: String) {
        if let Some(s) = lock(&self.sign_ins).get_mut(name) {
            s.link = Some(link);
            s.user_code = Some(user_code);
        }
    }

    /// The user code of `name`'s device-grant sign-in.
    pub fn device_user_code(&self, name: &str) -> CmdResult<String> {
        lock(&self.sign_ins)
            .get(name)
            .and_then(|s| s.user_code.clone())
            .ok_or_else(|| {
                IpcError::new(
                    ErrorCode::Invalid,
                    format!("no device sign-in is waiting for `{name}`"),
                )
            })
    }

    /// Registers a browser sign-out's background wait for `name` (ending an older one); returns
    /// its id for [`Pixie::end_browser_sign_out`] and the token that ends the wait early.
    pub fn begin_browser_sign_out(&self, name: &str) -> (u64, CancellationToken) {
        let id = {
            let mut next = lock(&self.next_wait_id);
            *next += 1;
            *next
        };
        let cancel = CancellationToken::new();
        let older = lock(&self.browser_sign_outs).insert(
            name.to_owned(),
            BrowserSignOutWait {
                id,
                cancel: cancel.clone(),
            },
        );
        if let Some(older) = older {
            older.cancel.cancel();
        }
        (id, cancel)
    }

    /// The wait `id` for `name` is over.
    pub fn end_browser_sign_out(&self, name: &str, id: u64) {
        let mut all = lock(&self.browser_sign_outs);
        if all.get(name).is_some_and(|w| w.id == id) {
            all.remove(name);
        }
    }

    pub fn cancel_sign_in(&self, name: &str) {
        if let Some(s) = lock(&self.sign_ins).get(name) {
            s.cancel.cancel();
        }
    }

    /// The running sign-in's link and the browser it opens in.
    pub fn sign_in_link(&self, name: &str) -> CmdResult<(String, Arc<dyn Browser>)> {
        let (link, browser) = {
            let running = lock(&self.sign_ins);
            let s = running.get(name).ok_or_else(|| {
                IpcError::new(
                    ErrorCode::Invalid,
                    format!("no sign-in is waiting for `{name}`"),
                )
            })?;
            (s.link.clone(), s.browser.clone())
        };
        let link = link.ok_or_else(|| {
            IpcError::new(
                ErrorCode::Busy,
                "the sign-in link is not ready yet; try again in a moment",
            )
        })?;
        Ok((link, browser))
    }

    /// Runs `write` (which puts the token whose digest is `digest` on the clipboard) and records
    /// it as the newest copy; no other copy or clear runs meanwhile. Returns the copy's number.
    pub fn record_copy<E>(
        &self,
        digest: [u8; 32],
        write: impl FnOnce() -> Result<(), E>,
    ) -> Result<u64, E> {
        let mut generation = lock(&self.clipboard_generation);
        write()?;
        *generation += 1;
        *lock(&self.clipboard_held) = Some(digest);
        Ok(*generation)
    }

    /// Runs `clear` only while copy `generation` is still the newest, holding off new copies
    /// meanwhile. `clear` says whether it took Pixie's token off the clipboard.
    pub fn clear_copy<E>(
        &self,
        generation: u64,
        clear: impl FnOnce() -> Result<bool, E>,
    ) -> Result<bool, E> {
        let current = lock(&self.clipboard_generation);
        if *current != generation {
            return Ok(false);
        }
        let cleared = clear()?;
        if cleared {
            *lock(&self.clipboard_held) = None;
        }
        Ok(cleared)
    }

    /// The digest of the token Pixie copied, while the clipboard may still hold it.
    pub fn copied_digest(&self) -> Option<[u8; 32]> {
        *lock(&self.clipboard_held)
    }

    /// Applies `change` to the tray's entries; returns them when they changed (the menu is then
    /// rebuilt), `None` when they did not.
    pub fn change_tray_items(
        &self,
        change: impl FnOnce(&mut Vec<TrayItem>),
    ) -> Option<Vec<TrayItem>> {
        let mut current = lock(&self.tray_items);
        let before = current.clone();
        change(&mut current);
        (*current != before).then(|| current.clone())
    }

    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    pub fn set_settings(&self, settings: Settings) -> CmdResult<Settings> {
        crate::settings::validate(&settings).map_err(|m| IpcError::new(ErrorCode::Invalid, m))?;
        self.settings_file.save(&settings).map_err(|e| {
            IpcError::new(ErrorCode::Local, format!("cannot save the settings: {e}"))
        })?;
        *lock(&self.settings) = settings.clone();
        Ok(settings)
    }
}

/// The token broker: the app serves it while it runs, and asks the person about new programs.
impl Pixie {
    /// The engine, for the broker to answer through (the app's own, so one process refreshes).
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.clone()
    }

    /// The broker's policy: "ask before a new program gets this token".
    pub fn program_policy(&self) -> Arc<ProgramPolicy> {
        self.programs.clone()
    }

    /// Notes that the broker serves, with its callers' log and how to stop it.
    #[cfg(unix)]
    pub fn broker_started(
        &self,
        callers: pixie::broker::CallerLog,
        stop: CancellationToken,
        stopped: std::sync::mpsc::Receiver<()>,
    ) {
        *lock(&self.broker) = Some(Serving {
            callers,
            stop,
            stopped,
        });
    }

    /// Stops the broker and waits (briefly) until its socket is gone.
    pub fn stop_broker(&self) {
        #[cfg(unix)]
        if let Some(serving) = lock(&self.broker).take() {
            serving.stop.cancel();
            let _ = serving.stopped.recv_timeout(Duration::from_secs(2));
        }
    }

    /// The programs that asked the broker about `name`, the latest first (none when this app
    /// does not serve the broker).
    pub fn programs_of(&self, name: &str) -> Vec<ProgramUse> {
        #[cfg(unix)]
        if let Some(serving) = lock(&self.broker).as_ref() {
            return crate::views::program_uses(&serving.callers.programs_for(name));
        }
        let _ = name;
        Vec::new()
    }

    pub fn asks_new_programs(&self, name: &str) -> bool {
        self.programs.asks(name)
    }

    pub fn set_asks_new_programs(&self, name: &str, ask: bool) -> CmdResult<()> {
        self.profile(name)?;
        self.programs
            .set_asks(name, ask)
            .map_err(|e| IpcError::new(ErrorCode::Local, format!("cannot save the settings: {e}")))
    }

    pub fn allowed_programs(&self, name: &str) -> Vec<String> {
        self.programs
            .allowed(name)
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    }

    pub fn forget_program(&self, name: &str, path: &str) -> CmdResult<()> {
        self.profile(name)?;
        self.programs
            .disallow(name, std::path::Path::new(path))
            .map_err(|e| IpcError::new(ErrorCode::Local, format!("cannot save the settings: {e}")))
    }

    pub fn program_questions(&self) -> Vec<ProgramQuestion> {
        self.programs.questions()
    }

    pub fn answer_program(&self, id: u32, answer: ProgramAnswer) {
        self.programs.answer(id, answer);
    }
}

/// `last` is the time of the last (or the planned) re-read, and becomes the planned one.
fn plan_focus_refresh(last: &mut Option<Instant>, now: Instant) -> Option<Duration> {
    const GAP: Duration = Duration::from_secs(5);
    if last.is_some_and(|t| t > now) {
        return None;
    }
    let at = last.map_or(now, |t| (t + GAP).max(now));
    *last = Some(at);
    Some(at - now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focus_re_reads_at_most_every_five_seconds_and_never_drops_the_last_one() {
        let t0 = Instant::now();
        let mut last = None;
        assert_eq!(plan_focus_refresh(&mut last, t0), Some(Duration::ZERO));
        // A focus 1 s later: re-read once the 5 s are up, not never.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(
            plan_focus_refresh(&mut last, t1),
            Some(Duration::from_secs(4))
        );
        // Another before then: already planned.
        assert_eq!(
            plan_focus_refresh(&mut last, t0 + Duration::from_secs(2)),
            None
        );
        // After the planned re-read and its gap: at once.
        assert_eq!(
            plan_focus_refresh(&mut last, t0 + Duration::from_secs(11)),
            Some(Duration::ZERO)
        );
    }
}

//! The service held in Tauri's managed state: the engine plus what only a running app knows
//! (sign-ins in progress, a refresh running or failed, settings).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use pixie::autorefresh::AutoRefresh;
use pixie::engine::ProfileStatus;
use pixie::Browser;
use pixie::Engine;
use tauri::{AppHandle, Emitter, Manager};
use tokio_util::sync::CancellationToken;

use crate::error::CmdResult;
use crate::ipc::{events, ProfileView, Settings};
use crate::settings::SettingsFile;
use crate::views::{profile_view, Activity};

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
pub struct SignIn {
    pub cancel: CancellationToken,
    /// The authorization URL once built (stays in Rust; "open the link again" reuses it).
    pub url: Arc<Mutex<Option<String>>>,
    pub browser: Arc<dyn Browser>,
}

pub struct Pixie {
    pub engine: Arc<Engine>,
    pub settings_file: SettingsFile,
    pub settings: Mutex<Settings>,
    activities: Mutex<HashMap<String, Overlay>>,
    pub sign_ins: Mutex<HashMap<String, SignIn>>,
    pub auto_refresh: OnceLock<AutoRefresh>,
    /// Bumped by every copy, so an older copy's timer never clears a newer token. Held across
    /// a write and its bump, and across a timer's check, read and clear.
    pub clipboard_generation: Mutex<u64>,
    /// The digest of the token Pixie last put on the clipboard while it may still be there, so
    /// it can be taken off when the app quits (macOS, Windows and Wayland keep the clipboard
    /// after the app is gone).
    pub clipboard_held: Mutex<Option<[u8; 32]>>,
    /// What the tray menu shows, so it is rebuilt only when that changes.
    pub tray_items: Mutex<Vec<crate::tray::Item>>,
    last_focus_refresh: Mutex<Option<Instant>>,
}

/// Poisoning only means another thread panicked mid-update of plain maps; keep going.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Pixie {
    pub fn new(engine: Arc<Engine>, settings_file: SettingsFile) -> Self {
        let settings = settings_file.load();
        Self {
            engine,
            settings_file,
            settings: Mutex::new(settings),
            activities: Mutex::default(),
            sign_ins: Mutex::default(),
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

    /// Look at the sessions again now (after a sign-in, sign-out or profile change).
    pub fn wake_refresher(&self) {
        if let Some(a) = self.auto_refresh.get() {
            a.wake();
        }
    }

    pub async fn view(&self, name: &str) -> CmdResult<ProfileView> {
        let profile = self.engine.profiles().get(name)?;
        let (status, problem) = match self.engine.status(name).await {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(Activity::Failed(e.to_string()))),
        };
        let activity = self.overlay(name, status.as_ref()).or(problem);
        Ok(profile_view(&profile, status.as_ref(), activity.as_ref()))
    }

    /// Every profile's row. A keychain that cannot be read shows on each row, not as a failure
    /// of the whole list: the profiles can still be edited.
    pub async fn views(&self) -> CmdResult<Vec<ProfileView>> {
        let profiles = self.engine.profiles().list()?;
        let (statuses, problem): (Vec<ProfileStatus>, _) =
            match self.engine.statuses_of(profiles.clone()).await {
                Ok(s) => (s, None),
                Err(e) => (Vec::new(), Some(Activity::Failed(e.to_string()))),
            };
        Ok(profiles
            .iter()
            .map(|p| {
                let name = p.name.as_str();
                let status = statuses.iter().find(|s| s.profile == name);
                let activity = self.overlay(name, status).or_else(|| problem.clone());
                profile_view(p, status, activity.as_ref())
            })
            .collect())
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

/// Sends one profile's current row to the webview, and returns it for a command's answer.
pub async fn emit_profile(app: &AppHandle, name: &str) -> CmdResult<ProfileView> {
    let state = app.state::<Pixie>();
    match state.view(name).await {
        Ok(view) => {
            crate::tray::update_one(app, &view);
            let _ = app.emit(events::PROFILE, &view);
            Ok(view)
        }
        // Removed meanwhile: the whole list is what changed.
        Err(e) => {
            let _ = emit_profiles(app).await;
            Err(e)
        }
    }
}

/// Sends the whole list to the webview (and the tray), and returns it for a command's answer.
pub async fn emit_profiles(app: &AppHandle) -> CmdResult<Vec<ProfileView>> {
    let state = app.state::<Pixie>();
    let views = state.views().await?;
    crate::tray::update(app, &views);
    let _ = app.emit(events::PROFILES, &views);
    Ok(views)
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

//! Silent refresh for a long-running front (the desktop app): each signed-in profile is refreshed
//! shortly before its access token expires, with jitter, a bounded number at once, backing off
//! when the provider or the keychain fails, and stopping for a profile once the person must sign
//! in again. The refresh itself is [`Engine::token`], so it shares the single-flight locks with
//! every other caller (a copy from the UI, or `pixie token` in another process).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::engine::{Engine, ProfileStatus, SessionState};
use crate::error::ErrorKind;

/// How the scheduler times refreshes and paces itself.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Refresh this long before expiry (capped at a third of the token's lifetime, so short-lived
    /// tokens are not refreshed back to back).
    pub lead: Duration,
    /// Up to this much earlier again, at random (capped at a tenth of the lifetime), so profiles
    /// signed in together don't hit their providers together.
    pub jitter: Duration,
    /// Refreshes running at once.
    pub max_parallel: usize,
    /// The wait after a first failure; it doubles with each further failure in a row.
    pub backoff_start: Duration,
    /// The longest wait between retries.
    pub backoff_max: Duration,
    /// Look at the keychain again at least this often (another process may have signed in or
    /// refreshed).
    pub rescan: Duration,
    /// At least this long between two refreshes of one profile.
    pub min_gap: Duration,
    /// Wait this long before the first look, e.g. so an app's first paint has the keychain
    /// to itself.
    pub start_delay: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            lead: Duration::from_secs(60),
            jitter: Duration::from_secs(20),
            max_parallel: 4,
            backoff_start: Duration::from_secs(5),
            backoff_max: Duration::from_secs(300),
            rescan: Duration::from_secs(60),
            min_gap: Duration::from_secs(10),
            start_delay: Duration::ZERO,
        }
    }
}

/// What the scheduler did, for the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshEvent {
    /// A refresh of `profile` started.
    Refreshing {
        /// The profile's name.
        profile: String,
    },
    /// `profile` has a fresh token, or needs none any more (signed out or removed meanwhile).
    Refreshed {
        /// The profile's name.
        profile: String,
    },
    /// The provider refused the refresh token (or there is none): only a sign-in helps. The
    /// profile is left alone until its session changes.
    SignInRequired {
        /// The profile's name.
        profile: String,
        /// Why, without the profile's name (shown beside it).
        reason: String,
    },
    /// A failure that may pass (network, provider error, locked keychain): tried again later.
    Retrying {
        /// The profile's name.
        profile: String,
        /// What failed.
        error: String,
        /// How long until the next attempt.
        retry_in: Duration,
    },
}

/// Receives the scheduler's [`RefreshEvent`]s, from its own tasks.
pub type RefreshSink = Arc<dyn Fn(RefreshEvent) + Send + Sync>;

/// When a profile's token is to be refreshed, and the `min_valid` that makes [`Engine::token`]
/// refresh it then. `None`: nothing to refresh (signed out, no expiry, no refresh token).
pub(crate) fn schedule(status: &ProfileStatus, policy: &Policy, unit_jitter: f64) -> Option<Due> {
    if !matches!(
        status.state,
        SessionState::SignedIn | SessionState::RefreshDue
    ) || !status.has_refresh_token
    {
        return None;
    }
    let expires_at = status.expires_at?;
    let lifetime = status
        .issued_at
        .and_then(|i| (expires_at - i).to_std().ok())
        .unwrap_or(policy.lead * 3);
    let lead = policy.lead.min(lifetime / 3);
    let jitter = policy
        .jitter
        .min(lifetime / 10)
        .mul_f64(unit_jitter.clamp(0.0, 1.0));
    let early = lead + jitter;
    Some(Due {
        at: expires_at - chrono::Duration::from_std(early).ok()?,
        expires_at,
        // A little more than `early`: at `at` the token has exactly `early` left.
        min_valid: early + Duration::from_secs(1),
    })
}

/// A profile's next refresh, as [`schedule`] plans it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Due {
    /// When to refresh.
    pub at: DateTime<Utc>,
    /// When the current access token expires (a sign-in required is parked until it changes).
    pub expires_at: DateTime<Utc>,
    /// What to ask [`Engine::token`] for, so that it refreshes at `at` rather than hand out the
    /// cached token.
    pub min_valid: Duration,
}

fn backoff(policy: &Policy, failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
    policy
        .backoff_start
        .saturating_mul(factor)
        .min(policy.backoff_max)
}

/// Handle on a running scheduler.
pub struct AutoRefresh {
    wake: Arc<Notify>,
    cancel: CancellationToken,
}

impl AutoRefresh {
    /// Starts the scheduler on the current tokio runtime.
    pub fn spawn(engine: Arc<Engine>, policy: Policy, sink: RefreshSink) -> Self {
        let wake = Arc::new(Notify::new());
        let cancel = CancellationToken::new();
        tokio::spawn(run(engine, policy, sink, wake.clone(), cancel.clone()));
        Self { wake, cancel }
    }

    /// Look again now: a profile was signed in or out, added or removed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

impl Drop for AutoRefresh {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

#[derive(Default)]
struct ProfileMemo {
    /// The jitter drawn for the token expiring at `.0`, kept so rescans don't redraw it.
    jitter: Option<(DateTime<Utc>, f64)>,
    failures: u32,
    retry_at: Option<DateTime<Utc>>,
    /// Parked (sign-in required) while the session's expiry is still this one.
    parked_for: Option<DateTime<Utc>>,
    /// When this profile was last refreshed here: the floor for the next one, whatever the
    /// provider says about expiry (`expires_in: 0` must not mean refreshing non-stop).
    last_refresh: Option<DateTime<Utc>>,
    in_flight: bool,
}

async fn run(
    engine: Arc<Engine>,
    policy: Policy,
    sink: RefreshSink,
    wake: Arc<Notify>,
    cancel: CancellationToken,
) {
    let limit = Arc::new(Semaphore::new(policy.max_parallel.max(1)));
    let mut memo: HashMap<String, ProfileMemo> = HashMap::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(String, Outcome)>();
    tokio::select! {
        _ = cancel.cancelled() => return,
        _ = tokio::time::sleep(policy.start_delay) => {}
    }
    loop {
        let mut next = engine.now() + chrono::Duration::from_std(policy.rescan).unwrap_or_default();
        // Refreshed sessions the keychain refused are held in memory: offer them again.
        engine.retry_unsaved().await;
        match engine.statuses().await {
            Ok(statuses) => {
                // Outcomes that arrived while the keychain was read describe sessions newer
                // than some of these statuses: record them first, so a finished refresh is
                // never mistaken for a due one.
                while let Ok((name, outcome)) = done_rx.try_recv() {
                    record(&mut memo, name, outcome);
                }
                memo.retain(|name, m| m.in_flight || statuses.iter().any(|s| &s.profile == name));
                for status in &statuses {
                    let m = memo.entry(status.profile.clone()).or_default();
                    if let Some(due) = plan(m, status, &policy, &mut next, engine.now()) {
                        let failures = m.failures + 1;
                        m.failures = failures;
                        m.in_flight = true;
                        m.last_refresh = Some(engine.now());
                        tokio::spawn(refresh_one(
                            engine.clone(),
                            status.profile.clone(),
                            due,
                            backoff(&policy, failures),
                            RefreshTask {
                                limit: limit.clone(),
                                sink: sink.clone(),
                                done: done_tx.clone(),
                            },
                        ));
                    }
                }
            }
            // Keep what is known (parked profiles, back-off) for when the keychain is back.
            Err(e) => {
                tracing::warn!(error = %e, "auto-refresh: cannot read profiles; trying later")
            }
        }
        let sleep = (next - engine.now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = wake.notified() => {}
            Some((name, outcome)) = done_rx.recv() => record(&mut memo, name, outcome),
            _ = tokio::time::sleep(sleep) => {}
        }
    }
}

/// Whether `status`'s profile is to be refreshed now (and with what); otherwise moves `next` to
/// when it will be.
fn plan(
    m: &mut ProfileMemo,
    status: &ProfileStatus,
    policy: &Policy,
    next: &mut DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<Due> {
    if m.in_flight {
        return None;
    }
    if let Some(expiry) = m.parked_for {
        if status.expires_at == Some(expiry) {
            return None;
        }
        // Signed in again (here or elsewhere): start afresh.
        *m = ProfileMemo::default();
    }
    let unit = match (m.jitter, status.expires_at) {
        (Some((exp, j)), Some(e)) if exp == e => j,
        (_, Some(e)) => {
            let j = rand::rng().random::<f64>();
            m.jitter = Some((e, j));
            j
        }
        _ => 0.0,
    };
    let due = schedule(status, policy, unit)?;
    let floor = m
        .last_refresh
        .map(|t| t + chrono::Duration::from_std(policy.min_gap).unwrap_or_default());
    let at = [Some(due.at), m.retry_at, floor]
        .into_iter()
        .flatten()
        .max()?;
    if at > now {
        *next = (*next).min(at);
        return None;
    }
    m.retry_at = None;
    Some(due)
}

fn record(memo: &mut HashMap<String, ProfileMemo>, name: String, outcome: Outcome) {
    let m = memo.entry(name).or_default();
    m.in_flight = false;
    match outcome {
        Outcome::Ok => {
            m.failures = 0;
            m.retry_at = None;
        }
        Outcome::Park(expiry) => m.parked_for = Some(expiry),
        Outcome::Retry(at) => m.retry_at = Some(at),
    }
}

enum Outcome {
    Ok,
    Park(DateTime<Utc>),
    Retry(DateTime<Utc>),
}

struct RefreshTask {
    limit: Arc<Semaphore>,
    sink: RefreshSink,
    done: mpsc::UnboundedSender<(String, Outcome)>,
}

async fn refresh_one(
    engine: Arc<Engine>,
    name: String,
    due: Due,
    retry_in: Duration,
    t: RefreshTask,
) {
    let outcome = match t.limit.acquire().await {
        Err(_) => Outcome::Retry(engine.now()),
        Ok(_permit) => {
            (t.sink)(RefreshEvent::Refreshing {
                profile: name.clone(),
            });
            match engine.token(&name, due.min_valid).await {
                Ok(_) => {
                    tracing::debug!(profile = %name, "auto-refresh done");
                    (t.sink)(RefreshEvent::Refreshed {
                        profile: name.clone(),
                    });
                    Outcome::Ok
                }
                Err(e) if e.kind() == ErrorKind::SignInRequired => {
                    // Signed out (or removed) meanwhile is not the provider refusing: nothing
                    // to tell anyone.
                    let signed_out = matches!(
                        engine.status(&name).await,
                        Ok(ProfileStatus {
                            state: SessionState::SignedOut,
                            ..
                        })
                    ) || matches!(e, crate::Error::UnknownProfile(_));
                    if signed_out {
                        (t.sink)(RefreshEvent::Refreshed {
                            profile: name.clone(),
                        });
                        Outcome::Ok
                    } else {
                        tracing::info!(profile = %name, error = %e, "auto-refresh: sign-in required");
                        (t.sink)(RefreshEvent::SignInRequired {
                            profile: name.clone(),
                            // The UI shows it next to the profile's name.
                            reason: e.detail(),
                        });
                        Outcome::Park(due.expires_at)
                    }
                }
                Err(e) => {
                    tracing::warn!(profile = %name, error = %e, ?retry_in, "auto-refresh failed; will retry");
                    (t.sink)(RefreshEvent::Retrying {
                        profile: name.clone(),
                        error: e.to_string(),
                        retry_in,
                    });
                    Outcome::Retry(
                        engine.now() + chrono::Duration::from_std(retry_in).unwrap_or_default(),
                    )
                }
            }
        }
    };
    let _ = t.done.send((name, outcome));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: SessionState, issued: i64, expires: i64, rt: bool) -> ProfileStatus {
        let t0 = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        ProfileStatus {
            profile: "p".into(),
            state,
            reason: None,
            subject: None,
            issued_at: Some(t0 + chrono::Duration::seconds(issued)),
            expires_at: Some(t0 + chrono::Duration::seconds(expires)),
            has_refresh_token: rt,
            id_token_verified: None,
            scopes: vec![],
        }
    }

    #[test]
    fn refreshes_a_minute_before_expiry_for_hour_long_tokens() {
        let s = status(SessionState::SignedIn, 0, 3600, true);
        let due = schedule(&s, &Policy::default(), 0.0).unwrap();
        assert_eq!((s.expires_at.unwrap() - due.at).num_seconds(), 60);
        assert_eq!(due.min_valid, Duration::from_secs(61));
        let late = schedule(&s, &Policy::default(), 1.0).unwrap();
        assert_eq!((s.expires_at.unwrap() - late.at).num_seconds(), 80);
    }

    #[test]
    fn short_lived_tokens_get_a_proportional_lead_not_a_refresh_storm() {
        let s = status(SessionState::SignedIn, 0, 9, true);
        let due = schedule(&s, &Policy::default(), 1.0).unwrap();
        let early = (s.expires_at.unwrap() - due.at).num_milliseconds();
        // A third of the lifetime plus at most a tenth as jitter.
        assert_eq!(early, 3_000 + 900);
    }

    #[test]
    fn nothing_to_schedule_without_a_refresh_token_or_a_session() {
        let p = Policy::default();
        assert!(schedule(&status(SessionState::SignedIn, 0, 60, false), &p, 0.5).is_none());
        assert!(schedule(&status(SessionState::SignedOut, 0, 60, true), &p, 0.5).is_none());
        assert!(schedule(&status(SessionState::SignInRequired, 0, 60, true), &p, 0.5).is_none());
        assert!(schedule(&status(SessionState::RefreshDue, 0, 60, true), &p, 0.5).is_some());
    }

    #[test]
    fn a_token_that_expires_at_once_is_not_refreshed_back_to_back() {
        // A fixed clock: the edges are exact.
        let now = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        let s = ProfileStatus {
            issued_at: Some(now),
            expires_at: Some(now),
            ..status(SessionState::RefreshDue, 0, 0, true)
        };
        let p = Policy::default();
        let mut m = ProfileMemo::default();
        let mut next = now + chrono::Duration::seconds(60);
        assert!(plan(&mut m, &s, &p, &mut next, now).is_some(), "due now");
        m.last_refresh = Some(now);
        assert!(
            plan(&mut m, &s, &p, &mut next, now).is_none(),
            "not again at once"
        );
        let wait = next - now;
        assert!(wait > chrono::Duration::seconds(9) && wait <= chrono::Duration::seconds(10));
        assert_eq!(
            wait,
            chrono::Duration::seconds(10),
            "exactly the minimum gap"
        );
        // Ten seconds on, it is due again.
        let later = now + chrono::Duration::seconds(10);
        assert!(plan(&mut m, &s, &p, &mut next, later).is_some());
        m.in_flight = false;
        // In flight or parked: left alone.
        m.in_flight = true;
        assert!(plan(&mut m, &s, &p, &mut next, now).is_none());
        m.in_flight = false;
        m.parked_for = s.expires_at;
        m.last_refresh = None;
        assert!(plan(&mut m, &s, &p, &mut next, now).is_none());
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let p = Policy::default();
        let seq: Vec<u64> = (1..=9).map(|n| backoff(&p, n).as_secs()).collect();
        assert_eq!(seq, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
    }
}

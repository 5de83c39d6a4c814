//! The OS keychain, each call on a thread with a timeout. The calls themselves are in
//! `secret_service.rs` (Linux and the BSDs) and `native.rs` (macOS and Windows).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::os;
use super::SecretStore;
use crate::error::{Error, Result};
use crate::secret::{ExposeSecret, SecretString};

/// The keychain service name unless `$PIXIE_KEYRING_SERVICE` says otherwise.
pub const DEFAULT_SERVICE: &str = "pixie";

/// How long a keychain call may take. A locked collection can wait on an unlock prompt that
/// never comes (from cron, over ssh, or with no prompter running); then Pixie says so instead of
/// waiting forever, and whatever lock it holds is released.
pub const KEYCHAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The OS keychain.
#[derive(Clone, Debug)]
pub struct KeyringStore {
    service: String,
    timeout: Duration,
    stuck: Arc<Stuck>,
}

impl KeyringStore {
    /// The keychain under the service name `service`, which namespaces Pixie's entries.
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            timeout: KEYCHAIN_TIMEOUT,
            stuck: Arc::default(),
        }
    }

    /// The keychain under `$PIXIE_KEYRING_SERVICE`, else the service `pixie`.
    pub fn from_env() -> Self {
        let service = std::env::var("PIXIE_KEYRING_SERVICE")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_SERVICE.to_owned());
        Self::new(service)
    }

    /// The service name entries are stored under.
    pub fn service(&self) -> &str {
        &self.service
    }
}

/// Keychain calls that timed out and are still running. While one is, further calls fail at
/// once instead of piling up threads (and D-Bus connections) behind a keychain that hangs.
#[derive(Debug, Default)]
struct Stuck {
    count: Mutex<usize>,
}

/// Where one call stands, shared by the caller and the call's thread.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CallState {
    Running,
    Abandoned,
    Done,
}

/// Runs a blocking keychain call on a thread of its own and gives up after `timeout`. The call
/// itself cannot be cancelled; its thread is left to finish on its own, and counted as stuck
/// until it does.
///
/// The thread is also what keeps async callers' workers free: the Linux backend is zbus's
/// blocking API, which waits with `block_on`. zbus puts no timeout on a D-Bus call (a Secret
/// Service that D-Bus is still activating is waited for); `timeout` is the only bound.
fn with_timeout<T: Send + 'static>(
    timeout: Duration,
    stuck: &Arc<Stuck>,
    call: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let unanswered = |what: &str| {
        Error::KeychainUnavailable(format!(
            "{what}. It may be locked and waiting for an unlock prompt that nobody sees (from cron or ssh); unlock it and try again"
        ))
    };
    if *lock_ignoring_poison(&stuck.count) > 0 {
        return Err(unanswered("an earlier keychain call has not answered yet"));
    }
    let slot = CallSlot::take(timeout)
        .ok_or_else(|| unanswered("the keychain is busy with this process's other calls"))?;
    let state = Arc::new(Mutex::new(CallState::Running));
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let (worker_state, worker_stuck) = (state.clone(), stuck.clone());
    let worker = std::thread::Builder::new()
        .name("pixie-keychain".into())
        .spawn(move || {
            let _slot = slot;
            let _ = tx.send(call());
            let mut state = lock_ignoring_poison(&worker_state);
            if *state == CallState::Abandoned {
                let mut count = lock_ignoring_poison(&worker_stuck.count);
                *count = count.saturating_sub(1);
            }
            *state = CallState::Done;
        })
        .map_err(|e| Error::Keychain(format!("cannot start a keychain call: {e}")))?;
    if let Ok(answer) = rx.recv_timeout(timeout) {
        // Let the thread end (its D-Bus connection closed) before going on, so the process
        // never exits in the middle of that teardown.
        let _ = worker.join();
        return answer;
    }
    let mut call_state = lock_ignoring_poison(&state);
    if *call_state == CallState::Running {
        *call_state = CallState::Abandoned;
        *lock_ignoring_poison(&stuck.count) += 1;
        return Err(unanswered(&format!(
            "the keychain did not answer within {} s",
            timeout.as_secs()
        )));
    }
    // It finished just as the wait ran out: its answer is there.
    drop(call_state);
    rx.recv()
        .unwrap_or_else(|_| Err(unanswered("the keychain call ended without an answer")))
}

/// At most this many keychain calls of one process are in flight at once. gnome-keyring has
/// crashed under a few hundred sessions at once (a broker answering a burst of tools would
/// open one per request), and the calls gain nothing from running side by side.
const MAX_CALLS_IN_FLIGHT: usize = 4;

static CALLS_IN_FLIGHT: (Mutex<usize>, std::sync::Condvar) =
    (Mutex::new(0), std::sync::Condvar::new());

/// One of the [`MAX_CALLS_IN_FLIGHT`] places, given back when dropped (by the call's thread,
/// once the call has ended, so an abandoned call keeps its place until it does).
struct CallSlot;

impl CallSlot {
    /// Waits at most `timeout` for a place.
    fn take(timeout: Duration) -> Option<Self> {
        let (count, freed) = &CALLS_IN_FLIGHT;
        let guard = lock_ignoring_poison(count);
        let (mut guard, waited) = freed
            .wait_timeout_while(guard, timeout, |n| *n >= MAX_CALLS_IN_FLIGHT)
            .unwrap_or_else(|e| e.into_inner());
        if waited.timed_out() && *guard >= MAX_CALLS_IN_FLIGHT {
            return None;
        }
        *guard += 1;
        Some(CallSlot)
    }
}

impl Drop for CallSlot {
    fn drop(&mut self) {
        let (count, freed) = &CALLS_IN_FLIGHT;
        let mut n = lock_ignoring_poison(count);
        *n = n.saturating_sub(1);
        freed.notify_one();
    }
}

fn lock_ignoring_poison<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SecretStore for KeyringStore {
    fn get(&self, key: &str) -> Result<Option<SecretString>> {
        tracing::trace!(service = %self.service, key, "keychain read");
        let (service, key) = (self.service.clone(), key.to_owned());
        with_timeout(self.timeout, &self.stuck, move || {
            Ok(os::get(&service, &key)?.map(SecretString::from))
        })
    }

    fn set(&self, key: &str, value: &str) -> Result<()> {
        tracing::trace!(service = %self.service, key, bytes = value.len(), "keychain write");
        let (service, key) = (self.service.clone(), key.to_owned());
        let value = SecretString::from(value);
        with_timeout(self.timeout, &self.stuck, move || {
            os::set(&service, &key, value.expose_secret())
        })
    }

    fn delete(&self, key: &str) -> Result<()> {
        let (service, key) = (self.service.clone(), key.to_owned());
        with_timeout(self.timeout, &self.stuck, move || {
            os::delete(&service, &key)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keychain_call_that_never_answers_times_out_and_holds_back_the_next() {
        let stuck = Arc::new(Stuck::default());
        let started = std::time::Instant::now();
        let err = with_timeout(Duration::from_millis(100), &stuck, || {
            std::thread::sleep(Duration::from_millis(600));
            Ok(())
        })
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(500));
        assert!(matches!(err, Error::KeychainUnavailable(_)), "{err}");
        assert!(err.to_string().contains("unlock prompt"), "{err}");
        // While it hangs, the next call fails at once instead of adding a thread.
        let next = with_timeout(Duration::from_secs(5), &stuck, || Ok(7)).unwrap_err();
        assert!(next.to_string().contains("not answered yet"), "{next}");
        // Once it ends, calls go through again.
        std::thread::sleep(Duration::from_millis(700));
        assert_eq!(
            with_timeout(Duration::from_secs(5), &stuck, || Ok(7)).unwrap(),
            7
        );
    }
}

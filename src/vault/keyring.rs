//! The OS keychain, each call under a time limit ([`Bounds`]). The calls themselves are in
//! `secret_service.rs` (Linux and the BSDs: async, run on the caller's thread) and `native.rs`
//! (macOS and Windows: blocking, run on a thread of their own).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::os;
use super::SecretStore;
use crate::error::{Error, Result};
use crate::secret::SecretString;

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

/// One stuck call, counted in [`Stuck`] from its making until it is dropped.
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
struct StillStuck(Arc<Stuck>);

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
impl StillStuck {
    fn new(stuck: Arc<Stuck>) -> Self {
        *lock_ignoring_poison(&stuck.count) += 1;
        Self(stuck)
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
impl Drop for StillStuck {
    fn drop(&mut self) {
        let mut count = lock_ignoring_poison(&self.0.count);
        *count = count.saturating_sub(1);
    }
}

/// Where one call stands, shared by the caller and the call's thread.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CallState {
    Running,
    Abandoned,
    Done,
}

/// A blocking call's end, seen from its thread: a call its caller gave up on stops counting as
/// stuck.
struct Finished {
    state: Arc<Mutex<CallState>>,
    stuck: Arc<Stuck>,
}

impl Drop for Finished {
    fn drop(&mut self) {
        let mut state = lock_ignoring_poison(&self.state);
        if *state == CallState::Abandoned {
            let mut count = lock_ignoring_poison(&self.stuck.count);
            *count = count.saturating_sub(1);
        }
        *state = CallState::Done;
    }
}

/// How a keychain call is bounded: its time limit, and the calls of this process that ran past
/// theirs. Each backend applies it in the way its API allows (`os::get` and friends).
pub(super) struct Bounds<'a> {
    timeout: Duration,
    stuck: &'a Arc<Stuck>,
}

fn unanswered(what: &str) -> Error {
    Error::KeychainUnavailable(format!(
        "{what}. It may be locked and waiting for an unlock prompt that nobody sees (from cron or ssh); unlock it and try again"
    ))
}

fn timed_out(timeout: Duration) -> Error {
    unanswered(&format!(
        "the keychain did not answer within {} s",
        timeout.as_secs()
    ))
}

/// A call that ended without an answer: it panicked.
fn no_answer() -> Error {
    Error::Keychain("the keychain call ended without an answer".into())
}

impl Bounds<'_> {
    /// A place for one more call, unless an earlier call is still stuck or the process has
    /// [`MAX_CALLS_IN_FLIGHT`] under way for longer than `timeout`.
    fn admit(&self) -> Result<CallSlot> {
        if *lock_ignoring_poison(&self.stuck.count) > 0 {
            return Err(unanswered("an earlier keychain call has not answered yet"));
        }
        CallSlot::take(self.timeout)
            .ok_or_else(|| unanswered("the keychain is busy with this process's other calls"))
    }

    /// Runs a blocking keychain call on a thread of its own and gives up after `timeout`. The
    /// call itself cannot be cancelled; its thread is left to finish on its own, and counted as
    /// stuck until it does.
    #[cfg_attr(
        any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"),
        allow(dead_code)
    )]
    pub(super) fn on_a_thread<T: Send + 'static>(
        &self,
        call: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let slot = self.admit()?;
        let state = Arc::new(Mutex::new(CallState::Running));
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let finished = Finished {
            state: state.clone(),
            stuck: self.stuck.clone(),
        };
        let worker = std::thread::Builder::new()
            .name("pixie-keychain".into())
            .spawn(move || {
                // Dropped at the end however the call ends (before `tx`, so a caller that
                // sees the channel closed finds the call done): a panic in it must not leave
                // the keychain closed to this process for good.
                let _finished = finished;
                let _slot = slot;
                let _ = tx.send(call());
            })
            .map_err(|e| Error::Keychain(format!("cannot start a keychain call: {e}")))?;
        match rx.recv_timeout(self.timeout) {
            // Let the thread end before going on, so the process never exits in the middle of
            // the call's teardown.
            Ok(answer) => {
                let _ = worker.join();
                return answer;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                let _ = worker.join();
                return Err(no_answer());
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        let mut call_state = lock_ignoring_poison(&state);
        // Answered just as the wait ran out, its thread not yet done: the answer is taken, not
        // thrown away. (The thread's send takes no lock, so this cannot wait on it.)
        if let Ok(answer) = rx.try_recv() {
            drop(call_state);
            let _ = worker.join();
            return answer;
        }
        if *call_state == CallState::Running {
            *call_state = CallState::Abandoned;
            *lock_ignoring_poison(&self.stuck.count) += 1;
            return Err(timed_out(self.timeout));
        }
        // It finished just as the wait ran out: its answer, if any, is there.
        drop(call_state);
        let answer = rx.recv().unwrap_or_else(|_| Err(no_answer()));
        let _ = worker.join();
        answer
    }

    /// Runs an async keychain call on the calling thread, with its I/O driven right here: no
    /// thread is started and no reply is handed between threads, which is most of what a
    /// keychain read costs. Past `timeout` the call goes on on a thread of its own, counted as
    /// stuck until it ends, as [`Bounds::on_a_thread`] leaves it.
    ///
    /// `call` is given a [`Waited`] that says whether its caller still waits for it: a call
    /// left to finish alone must not start anything new (its caller's locks are gone).
    ///
    /// Async callers reach this through their blocking pool (the engine's `blocking`). D-Bus
    /// itself puts no timeout on a call (a Secret Service that D-Bus is still activating is
    /// waited for, and so is an unlock prompt); `timeout` is the only bound.
    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
    pub(super) fn here<T: Send + 'static, F>(&self, call: impl FnOnce(Waited) -> F) -> Result<T>
    where
        F: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        let slot = self.admit()?;
        let waited = Waited::default();
        let mut call = Box::pin(call(waited.clone()));
        let timeout = self.timeout;
        let answer = async_io::block_on(futures_lite::future::or(
            async { Some(call.as_mut().await) },
            async {
                async_io::Timer::after(timeout).await;
                None
            },
        ));
        if let Some(answer) = answer {
            return answer;
        }
        waited.0.store(false, std::sync::atomic::Ordering::SeqCst);
        // Counted until it ends, however it ends: a panic in it must not leave the keychain
        // closed to this process for good.
        let still_stuck = StillStuck::new(self.stuck.clone());
        let finish = move || {
            let _slot = slot;
            let _still_stuck = still_stuck;
            let _ = async_io::block_on(call);
        };
        if let Err(e) = std::thread::Builder::new()
            .name("pixie-keychain".into())
            .spawn(finish)
        {
            // No thread to finish it on: the call is dropped (its connection closed) instead,
            // and with it its count.
            tracing::debug!("cannot leave a stuck keychain call to finish: {e}");
        }
        Err(timed_out(timeout))
    }
}

/// Whether the caller of a [`Bounds::here`] call still waits for its answer.
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
#[derive(Clone, Debug)]
pub(super) struct Waited(Arc<std::sync::atomic::AtomicBool>);

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
impl Default for Waited {
    fn default() -> Self {
        Self(Arc::new(std::sync::atomic::AtomicBool::new(true)))
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
impl Waited {
    pub(super) fn still(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A call whose caller has already given up.
    #[cfg(test)]
    pub(super) fn gone() -> Self {
        Self(Arc::new(std::sync::atomic::AtomicBool::new(false)))
    }
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

impl KeyringStore {
    fn bounds(&self) -> Bounds<'_> {
        Bounds {
            timeout: self.timeout,
            stuck: &self.stuck,
        }
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, key: &str) -> Result<Option<SecretString>> {
        tracing::trace!(service = %self.service, key, "keychain read");
        os::get(&self.service, key, &self.bounds())
    }

    fn set(&self, key: &str, value: &str) -> Result<()> {
        tracing::trace!(service = %self.service, key, bytes = value.len(), "keychain write");
        os::set(
            &self.service,
            key,
            SecretString::from(value),
            &self.bounds(),
        )
    }

    fn delete(&self, key: &str) -> Result<()> {
        os::delete(&self.service, key, &self.bounds())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(timeout: Duration, stuck: &Arc<Stuck>) -> Bounds<'_> {
        Bounds { timeout, stuck }
    }

    /// A call that hangs past its bound fails, holds back the next call while it still runs,
    /// and lets calls through again once it has ended.
    fn holds_back_while_stuck(
        hanging: impl FnOnce(&Bounds) -> Result<()>,
        next: impl Fn(&Bounds) -> Result<u8>,
    ) {
        let stuck = Arc::new(Stuck::default());
        let started = std::time::Instant::now();
        let err = hanging(&bounds(Duration::from_millis(100), &stuck)).unwrap_err();
        // The hanging call takes 1 s; its bound, 0.1 s.
        assert!(started.elapsed() < Duration::from_millis(900));
        assert!(matches!(err, Error::KeychainUnavailable(_)), "{err}");
        assert!(err.to_string().contains("unlock prompt"), "{err}");
        // While it hangs, the next call fails at once instead of adding a thread.
        let held = next(&bounds(Duration::from_secs(5), &stuck)).unwrap_err();
        assert!(held.to_string().contains("not answered yet"), "{held}");
        // Once it ends, calls go through again.
        let ends = std::time::Instant::now() + Duration::from_secs(10);
        while *lock_ignoring_poison(&stuck.count) > 0 && std::time::Instant::now() < ends {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(next(&bounds(Duration::from_secs(5), &stuck)).unwrap(), 7);
    }

    #[test]
    fn a_blocking_call_that_never_answers_times_out_and_holds_back_the_next() {
        holds_back_while_stuck(
            |b| {
                b.on_a_thread(|| {
                    std::thread::sleep(Duration::from_millis(1000));
                    Ok(())
                })
            },
            |b| b.on_a_thread(|| Ok(7)),
        );
    }

    #[test]
    fn a_blocking_call_that_panics_after_its_bound_does_not_hold_back_the_next() {
        holds_back_while_stuck(
            |b| {
                b.on_a_thread(|| -> Result<()> {
                    std::thread::sleep(Duration::from_millis(1000));
                    panic!("a keychain library that panics (expected in this test)");
                })
            },
            |b| b.on_a_thread(|| Ok(7)),
        );
        let stuck = Arc::new(Stuck::default());
        let b = bounds(Duration::from_secs(5), &stuck);
        let err = b
            .on_a_thread(|| -> Result<()> { panic!("at once (expected in this test)") })
            .unwrap_err();
        assert!(err.to_string().contains("without an answer"), "{err}");
        assert_eq!(b.on_a_thread(|| Ok(7)).unwrap(), 7);
    }

    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
    #[test]
    fn an_async_call_left_to_finish_alone_knows_its_caller_is_gone() {
        let stuck = Arc::new(Stuck::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let err = bounds(Duration::from_millis(100), &stuck)
            .here(|waited| async move {
                let before = waited.still();
                async_io::Timer::after(Duration::from_millis(400)).await;
                let _ = tx.send((before, waited.still()));
                Ok(())
            })
            .unwrap_err();
        assert!(err.to_string().contains("did not answer"), "{err}");
        let seen = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(seen, (true, false), "waited for at first, then not");
    }

    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
    #[test]
    fn an_async_call_that_never_answers_times_out_and_holds_back_the_next() {
        holds_back_while_stuck(
            |b| {
                b.here(|_| async {
                    async_io::Timer::after(Duration::from_millis(1000)).await;
                    Ok(())
                })
            },
            |b| b.here(|_| async { Ok(7) }),
        );
    }
}

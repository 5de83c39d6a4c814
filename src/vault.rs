//! The token vault: sessions and client secrets in the OS keychain (Secret Service on Linux,
//! Keychain on macOS, Credential Manager on Windows) through the `keyring` crate. There is no
//! plaintext fallback: a missing or locked keychain is an error that says what to do.
//!
//! Values longer than the platform allows in one item are split over several entries. The entry
//! named by the key (the "head") is written last and points at a fresh generation of chunks, so a
//! failure half-way leaves the previous value intact.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::profile::ProfileName;
use crate::secret::{ExposeSecret, SecretString};
use crate::session::Session;

/// The keychain service name unless `$PIXIE_KEYRING_SERVICE` says otherwise.
pub const DEFAULT_SERVICE: &str = "pixie";

/// Largest value kept in one keychain item: Windows caps a credential blob at 2560 bytes (stored
/// as UTF-16), macOS items hold about 4 KB, Secret Service has no practical limit.
#[cfg(windows)]
pub const PLATFORM_CHUNK: usize = 1200;
#[cfg(target_os = "macos")]
pub const PLATFORM_CHUNK: usize = 3000;
#[cfg(not(any(windows, target_os = "macos")))]
pub const PLATFORM_CHUNK: usize = 64 * 1024;

/// A flat secret store. Implementations: the OS keychain, and an in-memory map for unit tests.
pub trait SecretStore: Send + Sync {
    fn get(&self, key: &str) -> Result<Option<SecretString>>;
    fn set(&self, key: &str, value: &str) -> Result<()>;
    /// Deleting an absent entry is not an error.
    fn delete(&self, key: &str) -> Result<()>;
}

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
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            timeout: KEYCHAIN_TIMEOUT,
            stuck: Arc::default(),
        }
    }

    pub fn from_env() -> Self {
        let service = std::env::var("PIXIE_KEYRING_SERVICE")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_SERVICE.to_owned());
        Self::new(service)
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    fn entry(&self, key: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(&self.service, key).map_err(map_keyring_error)
    }
}

/// Turns keyring errors into messages a person can act on. `keyring::Error`'s `Display` never
/// includes the secret (only its `Debug` of `BadEncoding` would).
pub(crate) fn map_keyring_error(e: keyring::Error) -> Error {
    match e {
        keyring::Error::NoStorageAccess(inner) => Error::KeychainUnavailable(format!(
            "the keychain is locked or refused access ({inner}). Unlock your keychain (on Linux the \
             \"login\" keyring, e.g. with Seahorse) and try again"
        )),
        keyring::Error::PlatformFailure(inner) => Error::KeychainUnavailable(format!(
            "no keychain service could be reached ({inner}). On Linux Pixie needs a Secret Service \
             provider (gnome-keyring or KeePassXC) running in your D-Bus session; it never falls \
             back to storing tokens in a file"
        )),
        keyring::Error::BadEncoding(_) => {
            Error::Keychain("a keychain entry is not valid UTF-8 text".into())
        }
        other => Error::Keychain(other.to_string()),
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
    let state = Arc::new(Mutex::new(CallState::Running));
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let (worker_state, worker_stuck) = (state.clone(), stuck.clone());
    let worker = std::thread::Builder::new()
        .name("pixie-keychain".into())
        .spawn(move || {
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

fn lock_ignoring_poison<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SecretStore for KeyringStore {
    fn get(&self, key: &str) -> Result<Option<SecretString>> {
        tracing::trace!(service = %self.service, key, "keychain read");
        let entry = self.entry(key)?;
        with_timeout(self.timeout, &self.stuck, move || {
            match entry.get_password() {
                Ok(v) => Ok(Some(SecretString::from(v))),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(map_keyring_error(e)),
            }
        })
    }

    fn set(&self, key: &str, value: &str) -> Result<()> {
        tracing::trace!(service = %self.service, key, bytes = value.len(), "keychain write");
        let entry = self.entry(key)?;
        let value = SecretString::from(value);
        with_timeout(self.timeout, &self.stuck, move || {
            entry
                .set_password(value.expose_secret())
                .map_err(map_keyring_error)
        })
    }

    fn delete(&self, key: &str) -> Result<()> {
        let entry = self.entry(key)?;
        with_timeout(self.timeout, &self.stuck, move || {
            match entry.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(map_keyring_error(e)),
            }
        })
    }
}

/// A keychain operation, for [`MemoryStore::fail_on`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOp {
    Get,
    Set,
    Delete,
}

/// An in-memory store for tests (never used by the CLI or the app) that fails on demand.
#[derive(Default)]
pub struct MemoryStore {
    map: Mutex<HashMap<String, String>>,
    failing: Mutex<Vec<(StoreOp, String)>>,
}

impl MemoryStore {
    pub fn keys(&self) -> Vec<String> {
        let mut k: Vec<_> = self.map.lock().unwrap().keys().cloned().collect();
        k.sort();
        k
    }

    /// Makes `op` fail, like a keychain that refuses, for keys containing `key_part` (`""`:
    /// every key) until [`MemoryStore::heal`].
    pub fn fail_on(&self, op: StoreOp, key_part: impl Into<String>) {
        self.failing.lock().unwrap().push((op, key_part.into()));
    }

    /// Every operation works again.
    pub fn heal(&self) {
        self.failing.lock().unwrap().clear();
    }

    fn check(&self, op: StoreOp, key: &str) -> Result<()> {
        let failing = self.failing.lock().unwrap();
        if failing
            .iter()
            .any(|(o, part)| *o == op && key.contains(part.as_str()))
        {
            return Err(Error::Keychain(format!(
                "injected {op:?} failure for {key}"
            )));
        }
        Ok(())
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<SecretString>> {
        self.check(StoreOp::Get, key)?;
        Ok(self
            .map
            .lock()
            .unwrap()
            .get(key)
            .cloned()
            .map(SecretString::from))
    }
    fn set(&self, key: &str, value: &str) -> Result<()> {
        self.check(StoreOp::Set, key)?;
        self.map.lock().unwrap().insert(key.into(), value.into());
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.check(StoreOp::Delete, key)?;
        self.map.lock().unwrap().remove(key);
        Ok(())
    }
}

const INLINE: &str = "1:";
const CHUNKED: &str = "1c:";
/// Most chunks one value may have (1.2 MB at Windows' chunk size). A head that names more was
/// not written by Pixie, and cleaning up after it must not walk billions of keys.
const MAX_CHUNKS: usize = 1024;

/// What a head entry points at: needed to clean up the chunks a write replaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Head {
    Absent,
    Inline,
    Chunked { generation: String, count: usize },
}

impl Head {
    pub(crate) fn of(value: Option<&SecretString>) -> Self {
        match value.map(|v| v.expose_secret()) {
            None => Head::Absent,
            Some(v) => match parse_manifest(v) {
                Some((generation, count)) => Head::Chunked {
                    generation: generation.to_owned(),
                    count,
                },
                None => Head::Inline,
            },
        }
    }
}

/// A session write in two steps, so the read it needs can happen early: the caller reads the
/// head with [`Vault::prepare_session_write`] *while holding the profile's lock* (e.g. while the
/// code is being exchanged), then [`Vault::commit_session`] is a single keychain write.
#[derive(Clone, Debug)]
pub struct PendingWrite {
    key: String,
    old: Head,
}

/// Typed access to what Pixie keeps in the keychain. Cheap to clone.
#[derive(Clone)]
pub struct Vault {
    store: Arc<dyn SecretStore>,
    chunk: usize,
}

impl Vault {
    pub fn new(store: Arc<dyn SecretStore>) -> Self {
        Self::with_chunk_size(store, PLATFORM_CHUNK)
    }

    pub fn with_chunk_size(store: Arc<dyn SecretStore>, chunk: usize) -> Self {
        assert!(chunk >= 16, "chunk size too small");
        Self { store, chunk }
    }

    pub(crate) fn session_key(profile: &ProfileName) -> String {
        format!("session:{profile}")
    }

    fn client_secret_key(profile: &ProfileName) -> String {
        format!("client-secret:{profile}")
    }

    pub fn session(&self, profile: &ProfileName) -> Result<Option<Session>> {
        self.session_for_update(profile).map(|(s, _)| s)
    }

    /// Reads the session and what a following [`Vault::commit_session`] must replace. Hold the
    /// profile's lock from here to the commit.
    pub fn session_for_update(
        &self,
        profile: &ProfileName,
    ) -> Result<(Option<Session>, PendingWrite)> {
        let key = Self::session_key(profile);
        let (raw, old) = self.read(&key).map_err(|e| match e {
            Error::CorruptEntry { reason, .. } => Error::CorruptSession {
                profile: profile.to_string(),
                reason,
            },
            other => other,
        })?;
        let pending = PendingWrite { key, old };
        let Some(raw) = raw else {
            return Ok((None, pending));
        };
        // Only the position of a parse error is reported: serde's messages can quote values.
        let session =
            serde_json::from_str(raw.expose_secret()).map_err(|e| Error::CorruptSession {
                profile: profile.to_string(),
                reason: format!(
                    "{:?} error at line {} column {}",
                    e.classify(),
                    e.line(),
                    e.column()
                ),
            })?;
        Ok((Some(session), pending))
    }

    /// Reads only what a session write must replace (no parsing). Hold the profile's lock from
    /// here to [`Vault::commit_session`].
    pub fn prepare_session_write(&self, profile: &ProfileName) -> Result<PendingWrite> {
        let key = Self::session_key(profile);
        let old = Head::of(self.store.get(&key)?.as_ref());
        Ok(PendingWrite { key, old })
    }

    /// Stores the session in one step as far as readers are concerned: until this returns `Ok`
    /// the previous session (and its refresh token) is what every reader sees.
    pub fn commit_session(&self, pending: PendingWrite, session: &Session) -> Result<()> {
        let json = serde_json::to_string(session)
            .map_err(|e| Error::Internal(format!("cannot serialise session: {e}")))?;
        self.write(&pending.key, &json, pending.old)
    }

    #[cfg(test)]
    pub fn store_session(&self, profile: &ProfileName, session: &Session) -> Result<()> {
        let pending = self.prepare_session_write(profile)?;
        self.commit_session(pending, session)
    }

    pub fn delete_session(&self, profile: &ProfileName) -> Result<()> {
        self.delete_value(&Self::session_key(profile))
    }

    pub fn client_secret(&self, profile: &ProfileName) -> Result<Option<SecretString>> {
        self.get_value(&Self::client_secret_key(profile))
    }

    pub fn set_client_secret(&self, profile: &ProfileName, secret: &SecretString) -> Result<()> {
        self.set_value(&Self::client_secret_key(profile), secret.expose_secret())
    }

    pub fn delete_client_secret(&self, profile: &ProfileName) -> Result<()> {
        self.delete_value(&Self::client_secret_key(profile))
    }

    /// Removes everything kept for a profile.
    pub fn forget(&self, profile: &ProfileName) -> Result<()> {
        self.delete_session(profile)?;
        self.delete_client_secret(profile)
    }

    pub(crate) fn chunk_key(key: &str, generation: &str, i: usize) -> String {
        format!("{key}#{generation}.{i}")
    }

    fn get_value(&self, key: &str) -> Result<Option<SecretString>> {
        self.read(key).map(|(v, _)| v)
    }

    fn set_value(&self, key: &str, value: &str) -> Result<()> {
        let old = Head::of(self.store.get(key)?.as_ref());
        self.write(key, value, old)
    }

    /// The value and the head it was read through.
    fn read(&self, key: &str) -> Result<(Option<SecretString>, Head)> {
        let head_value = self.store.get(key)?;
        let head = Head::of(head_value.as_ref());
        let Some(head_value) = head_value else {
            return Ok((None, head));
        };
        let text = head_value.expose_secret();
        if let Some(v) = text.strip_prefix(INLINE) {
            return Ok((Some(SecretString::from(v)), head));
        }
        let (generation, count) = parse_manifest(text).ok_or_else(|| Error::CorruptEntry {
            key: key.to_owned(),
            reason: "it is not an entry Pixie wrote".into(),
        })?;
        let mut value = String::new();
        for i in 0..count {
            let part = self
                .store
                .get(&Self::chunk_key(key, generation, i))?
                .ok_or_else(|| Error::CorruptEntry {
                    key: key.to_owned(),
                    reason: format!("part {i} of it is missing"),
                })?;
            value.push_str(part.expose_secret());
        }
        Ok((Some(SecretString::from(value)), head))
    }

    /// Writes `value`, replacing what `old` describes (read by the caller under the same lock).
    fn write(&self, key: &str, value: &str, old: Head) -> Result<()> {
        if value.len() + INLINE.len() <= self.chunk {
            self.store.set(key, &format!("{INLINE}{value}"))?;
        } else {
            let generation = random_generation();
            let parts = split_chars(value, self.chunk);
            if parts.len() > MAX_CHUNKS {
                return Err(Error::Keychain(format!(
                    "a value of {} bytes is too large for the keychain",
                    value.len()
                )));
            }
            let written = parts.iter().enumerate().try_for_each(|(i, part)| {
                self.store.set(&Self::chunk_key(key, &generation, i), part)
            });
            let headed = written.and_then(|()| {
                self.store
                    .set(key, &format!("{CHUNKED}{generation}:{}", parts.len()))
            });
            if let Err(e) = headed {
                for i in 0..parts.len() {
                    let _ = self.store.delete(&Self::chunk_key(key, &generation, i));
                }
                return Err(e);
            }
        }
        // The new head is in place: the old generation's chunks are garbage now.
        if let Head::Chunked { generation, count } = old {
            for i in 0..count {
                if let Err(e) = self.store.delete(&Self::chunk_key(key, &generation, i)) {
                    tracing::warn!(%key, error = %e, "could not delete an old keychain chunk");
                }
            }
        }
        Ok(())
    }

    fn delete_value(&self, key: &str) -> Result<()> {
        if let Some(head) = self.store.get(key)? {
            if let Some((generation, count)) = parse_manifest(head.expose_secret()) {
                for i in 0..count {
                    self.store.delete(&Self::chunk_key(key, generation, i))?;
                }
            }
        }
        self.store.delete(key)
    }
}

pub(crate) fn parse_manifest(head: &str) -> Option<(&str, usize)> {
    let rest = head.strip_prefix(CHUNKED)?;
    let (generation, count) = rest.split_once(':')?;
    let count = count.parse().ok().filter(|&n| n <= MAX_CHUNKS)?;
    Some((generation, count))
}

fn random_generation() -> String {
    use rand::Rng;
    format!("{:08x}", rand::rng().random::<u32>())
}

/// Splits on char boundaries into pieces of at most `max` bytes.
fn split_chars(value: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let mut end = max.min(rest.len());
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (head, tail) = rest.split_at(end);
        parts.push(head);
        rest = tail;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(chunk: usize) -> (Arc<MemoryStore>, Vault) {
        let store = Arc::new(MemoryStore::default());
        (store.clone(), Vault::with_chunk_size(store, chunk))
    }

    fn name() -> ProfileName {
        ProfileName::new("work").unwrap()
    }

    #[test]
    fn short_values_are_one_entry() {
        let (store, v) = vault(1000);
        v.set_client_secret(&name(), &"s3cret".into()).unwrap();
        assert_eq!(store.keys(), ["client-secret:work"]);
        assert_eq!(
            v.client_secret(&name()).unwrap().unwrap().expose_secret(),
            "s3cret"
        );
    }

    #[test]
    fn long_values_are_chunked_and_reassembled() {
        let (store, v) = vault(16);
        let long = "é".repeat(40) + "tail";
        v.set_value("k", &long).unwrap();
        assert!(store.keys().len() > 5);
        assert_eq!(v.get_value("k").unwrap().unwrap().expose_secret(), long);
        // Overwriting removes the previous generation's chunks.
        v.set_value("k", &"x".repeat(20)).unwrap();
        assert_eq!(store.keys().len(), 1 + 2);
        v.delete_value("k").unwrap();
        assert!(store.keys().is_empty());
    }

    #[test]
    fn failed_chunk_write_keeps_previous_value() {
        let (store, v) = vault(16);
        v.set_value("k", &"a".repeat(40)).unwrap();
        let before = store.keys();
        store.fail_on(StoreOp::Set, ".2");
        assert!(v.set_value("k", &"b".repeat(40)).is_err());
        assert_eq!(
            v.get_value("k").unwrap().unwrap().expose_secret(),
            "a".repeat(40)
        );
        assert_eq!(store.keys(), before, "partial chunks cleaned up");
    }

    #[test]
    fn sessions_round_trip_and_forget() {
        let (store, v) = vault(64);
        let s = crate::session::tests_support::sample();
        v.store_session(&name(), &s).unwrap();
        let back = v.session(&name()).unwrap().unwrap();
        assert_eq!(back.access_token.secret(), s.access_token.secret());
        v.set_client_secret(&name(), &"x".into()).unwrap();
        v.forget(&name()).unwrap();
        assert!(store.keys().is_empty());
        assert!(v.session(&name()).unwrap().is_none());
    }

    #[test]
    fn writers_in_turn_leave_no_chunks_behind() {
        // Two processes (two vaults on one store) write in turn; each reads the head it replaces.
        let (store, a) = vault(64);
        let b = Vault::with_chunk_size(store.clone(), 64);
        let big = |tag: &str| {
            let mut s = crate::session::tests_support::sample();
            s.refresh_token = Some(oauth2::RefreshToken::new(format!(
                "RT-{tag}-{}",
                "x".repeat(100)
            )));
            s
        };
        let pending = a.prepare_session_write(&name()).unwrap();
        a.commit_session(pending, &big("one")).unwrap();
        b.store_session(&name(), &big("two")).unwrap();
        a.store_session(&name(), &big("three")).unwrap();
        let (s, _) = b.session_for_update(&name()).unwrap();
        assert!(s
            .unwrap()
            .refresh_token
            .unwrap()
            .secret()
            .starts_with("RT-three"));
        a.forget(&name()).unwrap();
        assert!(store.keys().is_empty(), "{:?}", store.keys());
    }

    #[test]
    fn a_session_with_missing_chunks_is_corrupt_and_can_be_deleted() {
        let (store, v) = vault(1000);
        store.set("session:work", "1c:deadbeef:2").unwrap();
        assert!(matches!(
            v.session(&name()),
            Err(Error::CorruptSession { .. })
        ));
        v.delete_session(&name()).unwrap();
        assert!(store.keys().is_empty());
    }

    #[test]
    fn a_head_naming_absurdly_many_chunks_is_corrupt_and_cleaned_up_at_once() {
        // Found by the vault_record fuzz target: deleting or overwriting this walked 8.9e18 keys.
        let (store, v) = vault(1000);
        store
            .set("session:work", "1c:deadLeef:8888888888888888888")
            .unwrap();
        assert!(matches!(
            v.session(&name()),
            Err(Error::CorruptSession { .. })
        ));
        v.store_session(&name(), &crate::session::tests_support::sample())
            .unwrap();
        assert!(v.session(&name()).unwrap().is_some());
        store.set("session:work", "1c:deadbeef:1025").unwrap();
        v.delete_session(&name()).unwrap();
        assert!(store.keys().is_empty());
        // And Pixie never writes a head it would not read back.
        let (store, v) = vault(16);
        assert!(v.set_value("k", &"x".repeat(16 * MAX_CHUNKS + 1)).is_err());
        assert!(store.keys().is_empty());
        v.set_value("k", &"x".repeat(16 * MAX_CHUNKS)).unwrap();
        assert_eq!(store.keys().len(), 1 + MAX_CHUNKS);
    }

    #[test]
    fn an_unreadable_session_is_reported_without_its_content() {
        let (store, v) = vault(1000);
        store
            .set(
                "session:work",
                "1:{\"access_token\": 42, \"x\": \"SECRET\"}",
            )
            .unwrap();
        let err = v.session(&name()).unwrap_err();
        assert!(matches!(err, Error::CorruptSession { .. }), "{err}");
        assert!(!err.to_string().contains("SECRET"), "{err}");
    }

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

    #[test]
    fn a_refused_read_or_delete_changes_nothing() {
        let (store, v) = vault(1000);
        let s = crate::session::tests_support::sample();
        v.store_session(&name(), &s).unwrap();
        store.fail_on(StoreOp::Get, "session:");
        assert!(matches!(v.session(&name()), Err(Error::Keychain(_))));
        store.heal();
        store.fail_on(StoreOp::Delete, "");
        assert!(v.delete_session(&name()).is_err());
        store.heal();
        assert!(v.session(&name()).unwrap().is_some(), "still there");
    }

    #[test]
    fn split_respects_char_boundaries() {
        let parts = split_chars("aéb", 2);
        assert_eq!(parts, ["a", "é", "b"]);
    }

    proptest::proptest! {
        /// Any value, of any size, over any previous value: what is written reads back the same,
        /// the store holds only the head and the new value's chunks, and delete leaves nothing.
        #[test]
        fn chunked_values_round_trip_and_leave_no_strays(
            value in "(?s).{0,300}",
            before in proptest::option::of("(?s).{0,300}"),
            chunk in 16usize..48,
        ) {
            let (store, v) = vault(chunk);
            if let Some(before) = &before {
                v.set_value("k", before).unwrap();
            }
            v.set_value("k", &value).unwrap();
            let back = v.get_value("k").unwrap().unwrap();
            proptest::prop_assert_eq!(back.expose_secret(), value.as_str());
            let chunks = if value.len() + INLINE.len() <= chunk {
                0
            } else {
                split_chars(&value, chunk).len()
            };
            proptest::prop_assert_eq!(store.keys().len(), 1 + chunks, "{:?}", store.keys());
            v.delete_value("k").unwrap();
            proptest::prop_assert!(store.keys().is_empty(), "{:?}", store.keys());
        }
    }
}

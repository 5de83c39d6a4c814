//! The token vault: sessions and client secrets in the OS keychain (Secret Service on Linux,
//! Keychain on macOS, Credential Manager on Windows). There is no
//! plaintext fallback: a missing or locked keychain is an error that says what to do.
//!
//! Values longer than the platform allows in one item are split over several entries. The entry
//! named by the key (the "head") is written last and points at a fresh generation of chunks, so a
//! failure half-way leaves the previous value intact.
//!
//! One file per backend: `keyring` (the OS keychain, with its call timeout) over `os`, which is
//! `secret_service.rs` on Linux and the BSDs and `native.rs` (the `keyring` crate) elsewhere;
//! and `memory` (the test double that fails on demand). This file is the typed vault and its
//! chunking.

mod keyring;
mod memory;
#[cfg(not(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd")))]
#[path = "native.rs"]
mod os;
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
#[path = "secret_service.rs"]
mod os;
/// The session bus's greeting parsers, for the fuzz target.
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
pub(crate) use os::{message_rest, parse_ok};

use std::path::PathBuf;
use std::sync::Arc;

pub use self::keyring::KeyringStore;
pub use memory::{MemoryStore, StoreOp};

use crate::error::{Error, Result};
use crate::home::PixieHome;
use crate::profile::ProfileName;
use crate::secret::{ExposeSecret, SecretString};
use crate::session::Session;

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
    /// The value at `key`, or `None` when there is no entry.
    fn get(&self, key: &str) -> Result<Option<SecretString>>;
    /// Creates or replaces the entry at `key`.
    fn set(&self, key: &str, value: &str) -> Result<()>;
    /// Deleting an absent entry is not an error.
    fn delete(&self, key: &str) -> Result<()>;
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
    profile: ProfileName,
}

/// Typed access to what Pixie keeps in the keychain. Cheap to clone.
#[derive(Clone)]
pub struct Vault {
    store: Arc<dyn SecretStore>,
    chunk: usize,
    /// Where sessions' change stamps live (see [`Vault::stamp`]); `None`: none kept.
    stamps: Option<PixieHome>,
}

impl Vault {
    /// A vault over `store`, splitting values at the platform's item size.
    pub(crate) fn new(store: Arc<dyn SecretStore>) -> Self {
        Self::with_chunk_size(store, PLATFORM_CHUNK)
    }

    /// A vault that splits values longer than `chunk` bytes (at least 16), e.g. to test chunking on
    /// a platform whose items hold more.
    pub fn with_chunk_size(store: Arc<dyn SecretStore>, chunk: usize) -> Self {
        assert!(chunk >= 16, "chunk size too small");
        Self {
            store,
            chunk,
            stamps: None,
        }
    }

    /// Keeps a change stamp per session in `home`, renewed after every session write or delete,
    /// so a long-running process can keep sessions in memory and read the keychain again only
    /// when some Pixie process changed one.
    pub(crate) fn with_stamps(mut self, home: PixieHome) -> Self {
        self.stamps = Some(home);
        self
    }

    fn stamp_file(&self, profile: &ProfileName) -> Option<PathBuf> {
        Some(self.stamps.as_ref()?.session_stamp(profile))
    }

    /// The session's change stamp: `None` when there is none (no write since stamps were
    /// kept, or it could not be read), in which case nothing may be cached.
    pub(crate) fn stamp(&self, profile: &ProfileName) -> Option<String> {
        use std::io::Read;
        let mut text = String::new();
        std::fs::File::open(self.stamp_file(profile)?)
            .ok()?
            .take(64)
            .read_to_string(&mut text)
            .ok()?;
        (!text.is_empty()).then_some(text)
    }

    /// Renews the stamp after a change. If it cannot be renewed it is removed, so that no
    /// process trusts a copy of the session from before the change.
    fn renew_stamp(&self, profile: &ProfileName) {
        let Some(path) = self.stamp_file(profile) else {
            return;
        };
        let fresh = format!("{:032x}", rand::random::<u128>());
        let written = PixieHome::write_atomically(&path, "stamp", fresh.as_bytes());
        if let Err(e) = written {
            tracing::warn!(error = %e, "cannot renew a session's change stamp; removing it");
            let _ = std::fs::remove_file(&path);
        }
    }

    pub(crate) fn session_key(profile: &ProfileName) -> String {
        format!("session:{profile}")
    }

    fn client_secret_key(profile: &ProfileName) -> String {
        format!("client-secret:{profile}")
    }

    /// The profile's stored session, if any.
    pub(crate) fn session(&self, profile: &ProfileName) -> Result<Option<Session>> {
        self.session_for_update(profile).map(|(s, _)| s)
    }

    /// Reads the session and what a following [`Vault::commit_session`] must replace. Hold the
    /// profile's lock from here to the commit.
    pub(crate) fn session_for_update(
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
        let pending = PendingWrite {
            key,
            old,
            profile: profile.clone(),
        };
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
    pub(crate) fn prepare_session_write(&self, profile: &ProfileName) -> Result<PendingWrite> {
        let key = Self::session_key(profile);
        let old = Head::of(self.store.get(&key)?.as_ref());
        Ok(PendingWrite {
            key,
            old,
            profile: profile.clone(),
        })
    }

    /// Stores the session in one step as far as readers are concerned: until this returns `Ok`
    /// the previous session (and its refresh token) is what every reader sees.
    pub(crate) fn commit_session(&self, pending: PendingWrite, session: &Session) -> Result<()> {
        let json = serde_json::to_string(session)
            .map_err(|e| Error::Internal(format!("cannot serialise session: {e}")))?;
        let written = self.write(&pending.key, &json, pending.old);
        // Renewed even after a failed write: part of it may have landed.
        self.renew_stamp(&pending.profile);
        written
    }

    /// Stores a session in one go, for tests that need one in place.
    #[cfg(test)]
    pub(crate) fn store_session(&self, profile: &ProfileName, session: &Session) -> Result<()> {
        let pending = self.prepare_session_write(profile)?;
        self.commit_session(pending, session)
    }

    /// Deletes the profile's session (all its chunks).
    pub(crate) fn delete_session(&self, profile: &ProfileName) -> Result<()> {
        let deleted = self.delete_value(&Self::session_key(profile));
        self.renew_stamp(profile);
        deleted
    }

    /// The profile's client secret, if the keychain holds one.
    pub fn client_secret(&self, profile: &ProfileName) -> Result<Option<SecretString>> {
        self.get_value(&Self::client_secret_key(profile))
    }

    /// Stores (or replaces) the profile's client secret.
    pub fn set_client_secret(&self, profile: &ProfileName, secret: &SecretString) -> Result<()> {
        self.set_value(&Self::client_secret_key(profile), secret.expose_secret())
    }

    /// Deletes the profile's client secret.
    pub(crate) fn delete_client_secret(&self, profile: &ProfileName) -> Result<()> {
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

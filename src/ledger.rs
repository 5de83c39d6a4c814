//! The refresh ledger: what became of a profile's refresh token, kept on disk beside the locks
//! so that every process sees it, even when the keychain refuses writes.
//!
//! Before a refresh token is sent, the ledger records it as `sending` (a write-ahead mark,
//! fsynced). When the answer is stored the mark is cleared. Whatever else happens — the answer
//! is lost (a 502, a timeout, a crash, Ctrl-C), the provider refuses the token, or the keychain
//! will not store the rotated one — the mark stays, so no process ever sends that token again:
//! providers with reuse detection (Auth0, Okta, Keycloak) revoke the whole grant on a replay.
//!
//! A token the provider exchanged for a rotated one that was stored is not forgotten but
//! retired: should a keychain serve it again (a recent backup restored, a second Secret
//! Service that D-Bus started in place of the first), it is still not sent. The last
//! [`MAX_RETIRED`] are kept, in a list of their own that builds without it ignore.
//!
//! An entry names the token by its SHA-256, never the token itself, so a new sign-in (a new
//! token) is unaffected by an old entry.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use oauth2::RefreshToken;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::error::{Error, Result};
use crate::home::PixieHome;

/// Largest ledger file read: an entry is a few hundred bytes.
const MAX_FILE: u64 = 64 * 1024;
/// Entries kept per profile. More than one is live only while a refreshed session waits in
/// memory for the keychain (the stored token's entry, and the live one's).
const MAX_ENTRIES: usize = 16;
/// Retired tokens kept per profile: with 5-minute access tokens refreshed all day, the last
/// five hours; with hour-long ones, the last two and a half days.
pub const MAX_RETIRED: usize = 64;

/// What is known of a refresh token that was sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fate", rename_all = "snake_case")]
pub enum Fate {
    /// Being sent by process `pid`. Found with the profile's lock free, the sender died before
    /// it could record the answer.
    Sending { pid: u32 },
    /// The provider may have used (and rotated) it, but its answer was lost or not stored.
    Unknown { reason: String },
    /// The provider refused it (`invalid_grant`).
    Refused { reason: String },
    /// Issued by a refresh in process `pid`, whose keychain would not store it: that process
    /// holds it in memory and alone may send it. Should the write land late, every other
    /// process still leaves it alone.
    Unstored { pid: u32 },
    /// A fate written by a newer Pixie: whatever it says, the token is not sent.
    #[serde(other)]
    Unrecognised,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Entries {
    entries: Vec<Entry>,
    /// Tokens exchanged at the provider for rotated ones that were stored, oldest first. A
    /// field of its own: a build without it reads the file still (unknown fields are ignored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    retired: Vec<Retired>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Retired {
    /// Hex SHA-256 of the refresh token.
    token_sha256: String,
    at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    /// Hex SHA-256 of the refresh token.
    token_sha256: String,
    #[serde(flatten)]
    fate: Fate,
    at: DateTime<Utc>,
}

/// Why a refresh token must not be sent again, in words for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spent {
    pub reason: String,
    pub at: DateTime<Utc>,
    /// Retired: exchanged for a rotated token that was stored. Whoever read it before taking
    /// the profile's lock may only have seen the keychain before that store.
    pub retired: bool,
}

/// One profile's ledger file. Write only while holding the profile's session lock.
#[derive(Clone, Debug)]
pub struct Ledger {
    path: PathBuf,
}

fn digest(token: &RefreshToken) -> String {
    sha2::Sha256::digest(token.secret().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Ledger {
    pub fn at(path: PathBuf) -> Self {
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<Entries> {
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Entries::default()),
            Err(e) => return Err(Error::io(&self.path, e)),
        };
        let mut text = String::new();
        file.take(MAX_FILE)
            .read_to_string(&mut text)
            .map_err(|e| Error::io(&self.path, e))?;
        serde_json::from_str(&text).map_err(|e| {
            Error::io(
                &self.path,
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "unreadable refresh record (line {} column {}); remove it only after signing in again",
                        e.line(),
                        e.column()
                    ),
                ),
            )
        })
    }

    /// Whether `token` must not be sent again, and why. `sender_alive` tells whether a
    /// `sending` mark belongs to a refresh still running (its sender holds the lock); it is asked
    /// only when that matters.
    pub fn spent(
        &self,
        token: &RefreshToken,
        sender_alive: impl FnOnce() -> bool,
    ) -> Result<Option<Spent>> {
        let id = digest(token);
        let file = self.read()?;
        let Some(entry) = file.entries.into_iter().find(|e| e.token_sha256 == id) else {
            return Ok(file
                .retired
                .into_iter()
                .find(|r| r.token_sha256 == id)
                .map(|r| Spent {
                    reason: "the keychain gave back a refresh token that the provider already exchanged for a newer one (an out-of-date copy: a restored backup, or another keychain); it is not sent again".to_owned(),
                    at: r.at,
                    retired: true,
                }));
        };
        let reason = match entry.fate {
            Fate::Unstored { pid } if pid == std::process::id() => return Ok(None),
            Fate::Unstored { pid } => format!(
                "process {pid} holds this refresh token in memory because the keychain would not store it; only that process may use it"
            ),
            Fate::Sending { .. } if sender_alive() => return Ok(None),
            Fate::Sending { pid } => format!(
                "a refresh (process {pid}) stopped before the provider's answer was stored; the provider may have rotated the refresh token, so it is not sent again"
            ),
            Fate::Unknown { reason } | Fate::Refused { reason } => reason,
            Fate::Unrecognised => "a newer Pixie recorded this refresh token as not to be sent again".to_owned(),
        };
        Ok(Some(Spent {
            reason,
            at: entry.at,
            retired: false,
        }))
    }

    /// Records `token`'s fate, durably (temp file, fsync, rename).
    pub fn record(&self, token: &RefreshToken, fate: Fate, now: DateTime<Utc>) -> Result<()> {
        let id = digest(token);
        let mut file = self.read()?;
        let fate = match fate {
            Fate::Unknown { reason } => Fate::Unknown {
                reason: crate::text::terminal_safe(&reason).into_owned(),
            },
            Fate::Refused { reason } => Fate::Refused {
                reason: crate::text::terminal_safe(&reason).into_owned(),
            },
            other => other,
        };
        file.entries.retain(|e| e.token_sha256 != id);
        file.entries.push(Entry {
            token_sha256: id,
            fate,
            at: now,
        });
        // The first entry is the oldest token still held somewhere (the keychain's, while a
        // refreshed session waits in memory): it is never the one let go.
        let excess = file.entries.len().saturating_sub(MAX_ENTRIES);
        file.entries.drain(1..1 + excess);
        self.write(&file)
    }

    /// Retires `token`: the provider exchanged it for a rotated one, which is stored. Its
    /// entry goes, and it joins the retired list, whose oldest give way past [`MAX_RETIRED`].
    pub fn retire(&self, token: &RefreshToken, now: DateTime<Utc>) -> Result<()> {
        let id = digest(token);
        let mut file = self.read()?;
        file.entries.retain(|e| e.token_sha256 != id);
        file.retired.retain(|r| r.token_sha256 != id);
        file.retired.push(Retired {
            token_sha256: id,
            at: now,
        });
        let excess = file.retired.len().saturating_sub(MAX_RETIRED);
        file.retired.drain(..excess);
        self.write(&file)
    }

    /// Forgets `token`'s entry: its answer was stored, or it never reached the provider.
    pub fn settle(&self, token: &RefreshToken) -> Result<()> {
        let id = digest(token);
        let mut file = self.read()?;
        let before = file.entries.len();
        file.entries.retain(|e| e.token_sha256 != id);
        match file.entries.len() {
            n if n == before => Ok(()),
            0 if file.retired.is_empty() => self.clear(),
            _ => self.write(&file),
        }
    }

    fn write(&self, file: &Entries) -> Result<()> {
        let body = serde_json::to_vec(file)
            .map_err(|e| Error::Internal(format!("cannot serialise a refresh record: {e}")))?;
        PixieHome::write_atomically(&self.path, ".ledger.", &body)
    }

    /// Forgets every entry (a new sign-in, or the session is gone).
    pub fn clear(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&self.path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::at(dir.path().join("ledger/x.json"));
        (dir, l)
    }

    #[test]
    fn an_entry_blocks_only_its_own_token() {
        let (_d, l) = ledger();
        let (rt, other) = (
            RefreshToken::new("rt-SECRET".into()),
            RefreshToken::new("other".into()),
        );
        let now = Utc::now();
        assert_eq!(l.spent(&rt, || false).unwrap(), None);
        l.record(
            &rt,
            Fate::Unknown {
                reason: "lost".into(),
            },
            now,
        )
        .unwrap();
        assert_eq!(l.spent(&rt, || false).unwrap().unwrap().reason, "lost");
        assert_eq!(l.spent(&other, || false).unwrap(), None);
        let text = std::fs::read_to_string(l.path()).unwrap();
        assert!(!text.contains("SECRET"), "{text}");
        l.record(&other, Fate::Sending { pid: 1 }, now).unwrap();
        l.settle(&other).unwrap();
        assert_eq!(l.spent(&other, || false).unwrap(), None);
        assert!(
            l.spent(&rt, || false).unwrap().is_some(),
            "settling one keeps the other"
        );
        l.clear().unwrap();
        l.clear().unwrap();
        assert_eq!(l.spent(&rt, || false).unwrap(), None);
    }

    #[test]
    fn a_sending_mark_blocks_once_its_sender_is_gone() {
        let (_d, l) = ledger();
        let rt = RefreshToken::new("rt".into());
        l.record(&rt, Fate::Sending { pid: 42 }, Utc::now())
            .unwrap();
        assert_eq!(l.spent(&rt, || true).unwrap(), None, "still running");
        let spent = l.spent(&rt, || false).unwrap().unwrap();
        assert!(spent.reason.contains("process 42"), "{}", spent.reason);
    }

    #[test]
    fn retired_tokens_stay_blocked_the_last_ones_kept_apart_from_live_entries() {
        let (_d, l) = ledger();
        let now = Utc::now();
        let token = |i: usize| RefreshToken::new(format!("rt-{i}"));
        l.record(&token(0), Fate::Sending { pid: 1 }, now).unwrap();
        l.retire(&token(0), now).unwrap();
        let spent = l.spent(&token(0), || true).unwrap().unwrap();
        assert!(
            spent.retired && spent.reason.contains("already exchanged"),
            "{spent:?}"
        );
        l.record(
            &token(1000),
            Fate::Unknown {
                reason: "lost".into(),
            },
            now,
        )
        .unwrap();
        for i in 1..=MAX_RETIRED + 10 {
            l.retire(&token(i), now).unwrap();
        }
        // The oldest retired went; the newest stay, and the live entry is untouched.
        assert_eq!(l.spent(&token(10), || false).unwrap(), None);
        assert!(l.spent(&token(11), || false).unwrap().unwrap().retired);
        assert!(l
            .spent(&token(MAX_RETIRED + 10), || false)
            .unwrap()
            .is_some());
        assert_eq!(
            l.spent(&token(1000), || false).unwrap().unwrap().reason,
            "lost"
        );
        // Settling the last live entry keeps the file: the retired still count.
        l.settle(&token(1000)).unwrap();
        assert!(l
            .spent(&token(MAX_RETIRED + 10), || false)
            .unwrap()
            .is_some());
    }

    #[test]
    fn a_build_without_retired_tokens_reads_the_file_and_a_newer_fate_blocks() {
        #[derive(Deserialize)]
        struct Older {
            #[allow(dead_code)]
            entries: Vec<serde_json::Value>,
        }
        let (_d, l) = ledger();
        let now = Utc::now();
        l.retire(&RefreshToken::new("old".into()), now).unwrap();
        let text = std::fs::read_to_string(l.path()).unwrap();
        assert!(serde_json::from_str::<Older>(&text).is_ok(), "{text}");
        // A fate this build does not know, from a newer one.
        let rt = RefreshToken::new("rt".into());
        let newer = format!(
            r#"{{"entries":[{{"token_sha256":"{}","fate":"from_the_future","at":"2026-01-01T00:00:00Z"}}]}}"#,
            digest(&rt)
        );
        std::fs::write(l.path(), newer).unwrap();
        assert!(l.spent(&rt, || false).unwrap().is_some());
    }

    #[test]
    fn an_unreadable_record_is_an_error_not_a_pass() {
        let (_d, l) = ledger();
        std::fs::create_dir_all(l.path().parent().unwrap()).unwrap();
        std::fs::write(l.path(), "{not json").unwrap();
        assert!(l.spent(&RefreshToken::new("rt".into()), || false).is_err());
    }
}

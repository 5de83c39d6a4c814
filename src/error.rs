//! One error type for the engine. Every variant's message is meant for a person: it says what
//! went wrong and, where there is one, what to do. No variant ever carries a token or secret.

use std::path::PathBuf;

pub use crate::profile::ProfileField;

/// The engine's `Result`: [`Error`] unless said otherwise.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The broad class of an error: what the CLI turns into an exit code and the UI into a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request itself was wrong (bad profile field, unknown profile, …).
    Invalid,
    /// The profile file cannot be read or written.
    ProfileFile,
    /// No usable session: the person must sign in (again).
    SignInRequired,
    /// The provider could not be reached, or answered with an error or garbage.
    Provider,
    /// The OS keychain is absent, locked or refused access.
    Keychain,
    /// The interactive sign-in did not complete (denied, timed out, cancelled, browser closed).
    SignInIncomplete,
    /// Anything else: local I/O, a port in use, the browser failing to start.
    Local,
}

/// Everything that can go wrong in the engine. [`Error::kind`] sorts a variant into the class a
/// front acts on; the `Display` text is for a person.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No profile has this name.
    #[error("no profile named `{0}`")]
    UnknownProfile(String),

    /// A profile by this name (or one differing only in case) exists already; the text names
    /// it and, where useful, how to replace it.
    #[error("a profile named `{0}` already exists")]
    DuplicateProfile(String),

    /// A profile (or other input) is not valid; `field` says which profile field, when one is
    /// to blame, so a form can put the message beside it.
    #[error("{message}")]
    InvalidProfile {
        /// The field to blame, when one is.
        field: Option<ProfileField>,
        /// What is wrong, for a person.
        message: String,
    },

    /// The profile says it has a client secret, but the keychain holds none.
    #[error("profile `{profile}` uses a client secret but none is in the keychain")]
    MissingClientSecret {
        /// The profile's name.
        profile: String,
    },

    /// The profile file does not parse, or holds an invalid or repeated profile. Pixie leaves it
    /// as it is.
    #[error(
        "the profile file {} is corrupt: {reason}. Pixie will not change it; fix it by hand or move it away (a copy is kept at {})",
        path.display(), backup.display()
    )]
    CorruptProfileFile {
        /// The profile file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
        /// Where a copy of it was kept.
        backup: PathBuf,
    },

    /// The profile file was written by a newer Pixie.
    #[error(
        "the profile file {} has schema version {found}, newer than this Pixie understands ({supported}); upgrade Pixie",
        path.display()
    )]
    UnsupportedSchema {
        /// The profile file.
        path: PathBuf,
        /// The file's schema version.
        found: u32,
        /// The newest version this Pixie reads.
        supported: u32,
    },

    /// Reading or writing one of Pixie's files failed.
    #[error("{}: {source}", path.display())]
    FileIo {
        /// The file (or directory).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// No keychain could be reached, it is locked, or it did not answer in time; the text says
    /// what to do.
    #[error("keychain unavailable: {0}")]
    KeychainUnavailable(String),

    /// The keychain refused or failed a call.
    #[error("keychain error: {0}")]
    Keychain(String),

    /// A keychain entry (or one of its chunks) is not in the form Pixie writes.
    #[error("the keychain entry `{key}` is damaged: {reason}")]
    CorruptEntry {
        /// The entry's key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The stored session cannot be read; signing out and in again replaces it.
    #[error("the session stored for `{profile}` is unreadable ({reason})")]
    CorruptSession {
        /// The profile's name.
        profile: String,
        /// What is wrong with it (never its content).
        reason: String,
    },

    /// A lock file could not be created or locked.
    #[error("cannot lock {}: {source}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// Another process held a lock for longer than Pixie waits.
    #[error(
        "{} is held by {} for over {waited_secs} s; if that process is stuck, stop it and try again",
        path.display(),
        holder.map_or("another Pixie process".to_owned(), |pid| format!("another Pixie process (pid {pid})"))
    )]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
        /// How long Pixie waited.
        waited_secs: u64,
        /// The holder's process id, when the lock file names it.
        holder: Option<u32>,
    },

    /// The record that a refresh token is about to be sent could not be written, so the
    /// refresh was not attempted.
    #[error(
        "cannot keep the refresh record {} ({reason}); nothing was sent, so the refresh token is intact",
        path.display()
    )]
    RefreshRecord {
        /// The record file.
        path: PathBuf,
        /// Why it could not be written.
        reason: String,
    },

    /// No usable session: not signed in, or the session can no longer be refreshed.
    #[error("sign-in required for `{profile}`: {reason}")]
    SignInRequired {
        /// The profile's name.
        profile: String,
        /// Why, for a person (see [`Error::detail`]).
        reason: String,
    },

    /// The provider could not be reached: the request itself failed.
    #[error("provider unreachable: {0}")]
    ProviderUnreachable(String),

    /// The provider answered, but with an error or something Pixie cannot use.
    #[error("the provider answered with an error: {0}")]
    ProviderError(String),

    /// The provider's metadata could not be fetched or is unusable.
    #[error("discovery failed for {issuer}: {reason}")]
    Discovery {
        /// The issuer, as the profile spells it.
        issuer: String,
        /// What went wrong.
        reason: String,
    },

    /// The provider's authorization response was an error (e.g. the person declined).
    #[error("sign-in was refused by the provider: {0}")]
    AuthorizationDenied(String),

    /// No answer came from the browser in time; the number is the seconds waited.
    #[error("sign-in timed out after {0} s without an answer from the browser (was the browser window closed?); run the sign-in again")]
    Timeout(u64),

    /// The caller cancelled the sign-in.
    #[error("sign-in cancelled")]
    Cancelled,

    /// The sign-in was for another account than the one the profile is pinned to.
    #[error(
        "`{profile}` is for {expected}, but the sign-in was as {got}; nothing was stored. Sign in as {expected} (the provider may need you to sign out of the other account first)"
    )]
    WrongAccount {
        /// The profile signed in to.
        profile: String,
        /// Who the profile expects, in words.
        expected: String,
        /// Who signed in, in words.
        got: String,
    },

    /// The device code ran out before the person entered it (RFC 8628 `expired_token`).
    #[error("the device code expired after {after_secs} s before it was entered; sign in again")]
    DeviceCodeExpired {
        /// How long the code was polled for.
        after_secs: u64,
    },

    /// The answer that reached the redirect URI is not a valid one for this sign-in.
    #[error("the sign-in answer was rejected: {0}")]
    BadCallback(String),

    /// The ID token failed a check that must pass before anything is stored.
    #[error("the provider's ID token failed verification ({0}); nothing was stored")]
    IdTokenRejected(String),

    /// The loopback listener for the redirect could not be bound.
    #[error("cannot listen for the browser's answer on {addr}: {reason}")]
    Listener {
        /// The address asked for.
        addr: String,
        /// Why it could not be bound.
        reason: String,
    },

    /// No browser could be started; the text lists each attempt.
    #[error("could not open a browser: {0}")]
    Browser(String),

    /// A failure that is nobody's input: a background task died, a value would not serialise,
    /// no config directory.
    #[error("{0}")]
    Internal(String),

    /// An error the token broker (`pixie agent` or the app) answered with, as it worded it: the
    /// class and message travel, the variant does not.
    #[error("{message}")]
    Agent {
        /// The class of the broker's error.
        kind: ErrorKind,
        /// The broker's message, for a person.
        message: String,
    },
}

impl Error {
    /// The class of this error, for exit codes and UI error codes.
    pub fn kind(&self) -> ErrorKind {
        use Error::*;
        match self {
            UnknownProfile(_)
            | DuplicateProfile(_)
            | InvalidProfile { .. }
            | MissingClientSecret { .. } => ErrorKind::Invalid,
            CorruptProfileFile { .. } | UnsupportedSchema { .. } | FileIo { .. } => {
                ErrorKind::ProfileFile
            }
            KeychainUnavailable(_) | Keychain(_) | CorruptSession { .. } | CorruptEntry { .. } => {
                ErrorKind::Keychain
            }
            SignInRequired { .. } => ErrorKind::SignInRequired,
            ProviderUnreachable(_) | ProviderError(_) | Discovery { .. } => ErrorKind::Provider,
            AuthorizationDenied(_)
            | Timeout(_)
            | DeviceCodeExpired { .. }
            | WrongAccount { .. }
            | Cancelled
            | BadCallback(_)
            | IdTokenRejected(_) => ErrorKind::SignInIncomplete,
            Listener { .. }
            | Browser(_)
            | Internal(_)
            | Lock { .. }
            | LockTimeout { .. }
            | RefreshRecord { .. } => ErrorKind::Local,
            Agent { kind, .. } => *kind,
        }
    }

    /// The message without the profile's name where the variant leads with it, for a UI that
    /// shows the message next to the profile anyway.
    pub fn detail(&self) -> String {
        match self {
            Error::SignInRequired { reason, .. } => reason.clone(),
            other => other.to_string(),
        }
    }

    /// Invalid input that no single profile field is to blame for.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidProfile {
            field: None,
            message: message.into(),
        }
    }

    /// Invalid input, placed at a profile field.
    pub fn invalid_field(field: ProfileField, message: impl Into<String>) -> Self {
        Error::InvalidProfile {
            field: Some(field),
            message: message.into(),
        }
    }

    /// The profile field to blame, if it is an invalid-profile error that knows it.
    pub fn field(&self) -> Option<ProfileField> {
        match self {
            Error::InvalidProfile { field, .. } => *field,
            _ => None,
        }
    }

    /// Blames `field` for an invalid-profile error that names no field yet.
    pub(crate) fn at(self, field: ProfileField) -> Self {
        match self {
            Error::InvalidProfile {
                field: None,
                message,
            } => Error::invalid_field(field, message),
            other => other,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::FileIo {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn sign_in_required(profile: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::SignInRequired {
            profile: profile.into(),
            reason: reason.into(),
        }
    }
}

/// The root cause of an error, e.g. "Connection refused (os error 111)" or "invalid peer
/// certificate: UnknownIssuer". HTTP clients wrap it in layers ("error sending request for url
/// (…)", "client error (Connect)", "tcp connect error") that repeat what the caller's message
/// already says. Safe for errors whose sources never carry secrets (reqwest, io, keyring).
pub(crate) fn root_cause(e: &dyn std::error::Error) -> String {
    let mut innermost = e;
    while let Some(s) = innermost.source() {
        innermost = s;
    }
    innermost.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_names_no_front_s_commands() {
        let errors = [
            Error::UnknownProfile("p".into()),
            Error::CorruptSession {
                profile: "p".into(),
                reason: "r".into(),
            },
            Error::MissingClientSecret {
                profile: "p".into(),
            },
            Error::sign_in_required("p", "not signed in"),
            Error::invalid_field(ProfileField::Scopes, "invalid scope"),
        ];
        for e in errors {
            assert!(!e.to_string().contains("pixie "), "{e}");
        }
        assert_eq!(
            Error::invalid_field(ProfileField::Scopes, "x").field(),
            Some(ProfileField::Scopes)
        );
        assert_eq!(
            Error::invalid("x").at(ProfileField::Name).field(),
            Some(ProfileField::Name)
        );
    }

    #[test]
    fn a_network_error_is_reported_by_its_root_cause() {
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request for url (http://127.0.0.1:9/)")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused (os error 111)",
        ));
        assert_eq!(root_cause(&e), "Connection refused (os error 111)");
        assert_eq!(root_cause(&std::io::Error::other("plain")), "plain");
    }
}

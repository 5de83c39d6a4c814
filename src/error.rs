//! One error type for the engine. Every variant's message is meant for a person: it says what
//! went wrong and, where there is one, what to do. No variant ever carries a token or secret.

use std::path::PathBuf;

pub use crate::profile::ProfileField;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The broad class of an error: what the CLI turns into an exit code and the UI into a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
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

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No profile has this name.
    #[error("no profile named `{0}`")]
    UnknownProfile(String),

    #[error("a profile named `{0}` already exists")]
    DuplicateProfile(String),

    /// A profile (or other input) is not valid; `field` says which profile field, when one is
    /// to blame, so a form can put the message beside it.
    #[error("{message}")]
    InvalidProfile {
        field: Option<ProfileField>,
        message: String,
    },

    /// The profile says it has a client secret, but the keychain holds none.
    #[error("profile `{profile}` uses a client secret but none is in the keychain")]
    MissingClientSecret { profile: String },

    #[error(
        "the profile file {} is corrupt: {reason}. Pixie will not change it; fix it by hand or move it away (a copy is kept at {})",
        path.display(), backup.display()
    )]
    CorruptProfileFile {
        path: PathBuf,
        reason: String,
        backup: PathBuf,
    },

    #[error(
        "the profile file {} has schema version {found}, newer than this Pixie understands ({supported}); upgrade Pixie",
        path.display()
    )]
    UnsupportedSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    #[error("{}: {source}", path.display())]
    FileIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("keychain unavailable: {0}")]
    KeychainUnavailable(String),

    #[error("keychain error: {0}")]
    Keychain(String),

    #[error("the keychain entry `{key}` is damaged: {reason}")]
    CorruptEntry { key: String, reason: String },

    /// The stored session cannot be read; signing out and in again replaces it.
    #[error("the session stored for `{profile}` is unreadable ({reason})")]
    CorruptSession { profile: String, reason: String },

    #[error("cannot lock {}: {source}", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{} is held by {} for over {waited_secs} s; if that process is stuck, stop it and try again",
        path.display(),
        holder.map_or("another Pixie process".to_owned(), |pid| format!("another Pixie process (pid {pid})"))
    )]
    LockTimeout {
        path: PathBuf,
        waited_secs: u64,
        holder: Option<u32>,
    },

    #[error(
        "cannot keep the refresh record {} ({reason}); nothing was sent, so the refresh token is intact",
        path.display()
    )]
    RefreshRecord { path: PathBuf, reason: String },

    #[error("sign-in required for `{profile}`: {reason}")]
    SignInRequired { profile: String, reason: String },

    #[error("provider unreachable: {0}")]
    ProviderUnreachable(String),

    #[error("the provider answered with an error: {0}")]
    ProviderError(String),

    #[error("discovery failed for {issuer}: {reason}")]
    Discovery { issuer: String, reason: String },

    #[error("sign-in was refused by the provider: {0}")]
    AuthorizationDenied(String),

    #[error("sign-in timed out after {0} s without an answer from the browser (was the browser window closed?); run the sign-in again")]
    Timeout(u64),

    #[error("sign-in cancelled")]
    Cancelled,

    #[error("the sign-in answer was rejected: {0}")]
    BadCallback(String),

    #[error("the provider's ID token failed verification ({0}); nothing was stored")]
    IdTokenRejected(String),

    #[error("cannot listen for the browser's answer on {addr}: {reason}")]
    Listener { addr: String, reason: String },

    #[error("could not open a browser: {0}")]
    Browser(String),

    #[error("{0}")]
    Internal(String),
}

impl Error {
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
            | Cancelled
            | BadCallback(_)
            | IdTokenRejected(_) => ErrorKind::SignInIncomplete,
            Listener { .. }
            | Browser(_)
            | Internal(_)
            | Lock { .. }
            | LockTimeout { .. }
            | RefreshRecord { .. } => ErrorKind::Local,
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

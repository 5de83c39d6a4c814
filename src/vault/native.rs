//! macOS and Windows: the system keychain through the `keyring` crate (Keychain Services,
//! Credential Manager).

use super::keyring::Bounds;
use crate::error::{Error, Result};
use crate::secret::{ExposeSecret, SecretString};

fn entry(service: &str, key: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(service, key).map_err(map_keyring_error)
}

/// Reads the entry `key`.
pub(super) fn get(service: &str, key: &str, bounds: &Bounds) -> Result<Option<SecretString>> {
    let entry = entry(service, key)?;
    bounds.on_a_thread(move || match entry.get_password() {
        Ok(v) => Ok(Some(SecretString::from(v))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(map_keyring_error(e)),
    })
}

/// Writes the entry `key`, replacing what it held.
pub(super) fn set(service: &str, key: &str, value: SecretString, bounds: &Bounds) -> Result<()> {
    let entry = entry(service, key)?;
    bounds.on_a_thread(move || {
        entry
            .set_password(value.expose_secret())
            .map_err(map_keyring_error)
    })
}

/// Removes the entry `key`; an entry that is not there is already removed.
pub(super) fn delete(service: &str, key: &str, bounds: &Bounds) -> Result<()> {
    let entry = entry(service, key)?;
    bounds.on_a_thread(move || match entry.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(map_keyring_error(e)),
    })
}

/// Turns keyring errors into messages a person can act on. `keyring::Error`'s `Display` never
/// includes the secret (only its `Debug` of `BadEncoding` would).
fn map_keyring_error(e: keyring::Error) -> Error {
    match e {
        keyring::Error::NoStorageAccess(inner) => Error::KeychainUnavailable(format!(
            "the keychain is locked or refused access ({inner}). Unlock your keychain and try \
             again"
        )),
        keyring::Error::PlatformFailure(inner) => {
            Error::KeychainUnavailable(format!("no keychain service could be reached ({inner})"))
        }
        keyring::Error::BadEncoding(_) => {
            Error::Keychain("a keychain entry is not valid UTF-8 text".into())
        }
        other => Error::Keychain(other.to_string()),
    }
}

//! Linux and the BSDs: the freedesktop Secret Service (gnome-keyring, KeePassXC) through the
//! `secret-service` crate on zbus 5, the D-Bus stack the Tauri plugins already bring. Going
//! through the `keyring` crate here would link a second zbus into the app.
//!
//! Items carry the attributes and label the `keyring` crate (v3) gives them and live in the
//! default collection, so entries written by earlier Pixie builds are found.

use std::collections::HashMap;

use secret_service::blocking::{Item, SecretService};
use secret_service::{EncryptionType, Error as SsError};

use crate::error::{Error, Result};

/// The `target` attribute the `keyring` crate sets when none is given.
const TARGET: &str = "default";

/// The attributes that find one entry: `service` namespaces Pixie, `username` is the key.
fn search_attributes<'a>(service: &'a str, key: &'a str) -> HashMap<&'a str, &'a str> {
    HashMap::from([("service", service), ("username", key), ("target", TARGET)])
}

/// The session's transport. Plain by default: the session bus is private to the user, who can
/// read the secrets through the same API anyway, and the key exchange costs milliseconds per
/// call (see the `encrypted-secret-service` feature).
fn encryption() -> EncryptionType {
    if cfg!(feature = "encrypted-secret-service") {
        EncryptionType::Dh
    } else {
        EncryptionType::Plain
    }
}

fn connect() -> Result<SecretService<'static>> {
    SecretService::connect(encryption()).map_err(unreachable)
}

/// The items stored under `key`, each with whether it is locked; unlocked ones first.
///
/// As the `keyring` crate does, items without a `target` attribute (written by `secret-tool`,
/// or by keyring before v3) are looked for in the default collection when no other matches.
fn matching<'a>(
    ss: &'a SecretService<'a>,
    service: &str,
    key: &str,
) -> Result<Vec<(Item<'a>, bool)>> {
    let found = ss
        .search_items(search_attributes(service, key))
        .map_err(failed)?;
    let mut items: Vec<(Item<'a>, bool)> = found
        .unlocked
        .into_iter()
        .map(|i| (i, false))
        .chain(found.locked.into_iter().map(|i| (i, true)))
        .collect();
    if items.is_empty() {
        for item in without_target(ss, service, key)? {
            let locked = item.is_locked().map_err(failed)?;
            items.push((item, locked));
        }
    }
    Ok(items)
}

/// The items under `key` in the default collection, `target` or not: where `secret-tool` and
/// keyring before v3 put them.
fn without_target<'a>(
    ss: &'a SecretService<'a>,
    service: &str,
    key: &str,
) -> Result<Vec<Item<'a>>> {
    let collection = ss.get_default_collection().map_err(failed)?;
    let legacy = HashMap::from([("service", service), ("username", key)]);
    let paths: Vec<_> = collection
        .search_items(legacy)
        .map_err(failed)?
        .into_iter()
        .map(|i| i.item_path)
        .collect();
    paths
        .into_iter()
        .map(|path| ss.get_item_by_path(path).map_err(failed))
        .collect()
}

/// The one item stored under `key`, unlocked; `None` when there is none. Two or more are an
/// error rather than a guess at which holds the session.
fn find<'a>(ss: &'a SecretService<'a>, service: &str, key: &str) -> Result<Option<Item<'a>>> {
    let mut items = matching(ss, service, key)?;
    if items.len() > 1 {
        return Err(Error::Keychain(format!(
            "the keychain holds more than one entry for \"{key}\" under the service \
             \"{service}\"; remove the extra ones (e.g. with Seahorse)"
        )));
    }
    let Some((item, locked)) = items.pop() else {
        return Ok(None);
    };
    if locked {
        item.unlock().map_err(failed)?;
    }
    Ok(Some(item))
}

/// Reads the entry `key`.
pub(super) fn get(service: &str, key: &str) -> Result<Option<String>> {
    let ss = connect()?;
    let Some(item) = find(&ss, service, key)? else {
        return Ok(None);
    };
    let bytes = item.get_secret().map_err(failed)?;
    // The error would carry the bytes; it is dropped unread.
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| Error::Keychain("a keychain entry is not valid UTF-8 text".into()))
}

/// Writes the entry `key`, replacing what it held.
pub(super) fn set(service: &str, key: &str, value: &str) -> Result<()> {
    let ss = connect()?;
    if let Some(item) = find(&ss, service, key)? {
        return item
            .set_secret(value.as_bytes(), "text/plain")
            .map_err(failed);
    }
    let collection = ss.get_default_collection().map_err(failed)?;
    collection.ensure_unlocked().map_err(failed)?;
    let mut attributes = search_attributes(service, key);
    attributes.insert("application", "rust-keyring");
    let label = format!("{key}@{service}:{TARGET} (pixie)");
    collection
        .create_item(&label, attributes, value.as_bytes(), true, "text/plain")
        .map_err(failed)?;
    Ok(())
}

/// Removes the entry `key`; an entry that is not there is already removed. Every copy goes,
/// with or without a `target` attribute: a sign-out must not leave a refresh token behind for
/// the next lookup to find.
pub(super) fn delete(service: &str, key: &str) -> Result<()> {
    let ss = connect()?;
    let found = ss
        .search_items(search_attributes(service, key))
        .map_err(failed)?;
    let mut items: Vec<Item<'_>> = found.unlocked.into_iter().chain(found.locked).collect();
    for item in without_target(&ss, service, key)? {
        if !items.iter().any(|i| i.item_path == item.item_path) {
            items.push(item);
        }
    }
    for item in items {
        item.ensure_unlocked().map_err(failed)?;
        item.delete().map_err(failed)?;
    }
    Ok(())
}

/// No Secret Service answered the connection.
fn unreachable(e: SsError) -> Error {
    Error::KeychainUnavailable(format!(
        "no keychain service could be reached ({e}). On Linux Pixie needs a Secret Service \
         provider (gnome-keyring or KeePassXC) running in your D-Bus session; it never falls \
         back to storing tokens in a file"
    ))
}

/// A call that reached the Secret Service and failed.
fn failed(e: SsError) -> Error {
    match e {
        SsError::Locked | SsError::NoResult | SsError::Prompt | SsError::PromptDisconnected => {
            Error::KeychainUnavailable(format!(
                "the keychain is locked or refused access ({e}). Unlock your keychain (on Linux \
                 the \"login\" keyring, e.g. with Seahorse) and try again"
            ))
        }
        // gnome-keyring answers a read of a locked item with its own D-Bus error.
        other if other.to_string().contains("IsLocked") => failed(SsError::Locked),
        other => unreachable(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_found_by_the_attributes_keyring_v3_wrote() {
        let attributes = search_attributes("pixie", "session:work");
        assert_eq!(attributes.len(), 3);
        assert_eq!(attributes["service"], "pixie");
        assert_eq!(attributes["username"], "session:work");
        assert_eq!(attributes["target"], "default");
    }

    #[test]
    fn a_locked_keychain_says_to_unlock_it() {
        let err = failed(SsError::Locked);
        assert!(matches!(err, Error::KeychainUnavailable(_)), "{err}");
        assert!(err.to_string().contains("Unlock your keychain"), "{err}");
        let err = failed(SsError::Unavailable);
        assert!(err.to_string().contains("Secret Service"), "{err}");
    }
}

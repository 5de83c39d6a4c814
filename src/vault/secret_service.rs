//! Linux and the BSDs: the freedesktop Secret Service (gnome-keyring, KeePassXC) through the
//! `secret-service` crate on zbus 5, the D-Bus stack the Tauri plugins already bring. Going
//! through the `keyring` crate here would link a second zbus into the app.
//!
//! Items carry the attributes and label the `keyring` crate (v3) gives them and live in the
//! default collection, so entries written by earlier Pixie builds are found.

use std::collections::HashMap;
use std::future::Future;

use secret_service::{EncryptionType, Error as SsError, Item, SecretService};
use zbus::address::transport::{Transport, UnixSocket};
use zbus::zvariant::OwnedObjectPath;

use super::keyring::Bounds;
use crate::error::{Error, Result};
use crate::secret::{ExposeSecret, SecretString};

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

/// Runs `call` over a connection of its own to the session bus, driving the connection as it
/// waits. The caller decides where it runs ([`Bounds::here`]: on the keychain caller's thread).
/// zbus would otherwise connect on a thread of the `blocking` pool and run the connection on an
/// executor thread: two threads started, and a hop between threads for every reply.
async fn over_session_bus<T, F>(call: impl FnOnce(zbus::Connection) -> F) -> Result<T>
where
    F: Future<Output = Result<T>>,
{
    let conn = session_bus().await.map_err(|e| unreachable(e.into()))?;
    let executor = conn.executor().clone();
    // The connection's socket reader is a task on this executor: it runs while `call` waits.
    futures_lite::future::or(call(conn), async {
        loop {
            executor.tick().await;
        }
    })
    .await
}

/// A connection to the session bus whose executor the caller ticks. A bus at a socket path or
/// abstract name (what every desktop and `dbus-launch` give) is connected here, on this
/// thread; any other address is left to zbus.
async fn session_bus() -> zbus::Result<zbus::Connection> {
    let address = zbus::Address::session()?;
    let builder = match address.transport() {
        Transport::Unix(unix) => {
            let stream = match unix.path() {
                UnixSocket::File(path) => std::os::unix::net::UnixStream::connect(path),
                #[cfg(target_os = "linux")]
                UnixSocket::Abstract(name) => {
                    use std::os::linux::net::SocketAddrExt;
                    std::os::unix::net::SocketAddr::from_abstract_name(name.as_encoded_bytes())
                        .and_then(|a| std::os::unix::net::UnixStream::connect_addr(&a))
                }
                _ => return zbus::connection::Builder::address(address)?.build().await,
            }?;
            zbus::connection::Builder::async_io_unix_stream(stream)
        }
        _ => zbus::connection::Builder::address(address)?,
    };
    builder.internal_executor(false).build().await
}

/// The Secret Service's `SearchItems`, sent by itself: `get` sends it beside `OpenSession`
/// rather than after, saving a round trip through the bus.
async fn search_paths(
    conn: &zbus::Connection,
    attributes: HashMap<&str, &str>,
) -> Result<(Vec<OwnedObjectPath>, Vec<OwnedObjectPath>)> {
    let reply = conn
        .call_method(
            Some("org.freedesktop.secrets"),
            "/org/freedesktop/secrets",
            Some("org.freedesktop.Secret.Service"),
            "SearchItems",
            &(attributes,),
        )
        .await
        .map_err(|e| failed(e.into()))?;
    reply.body().deserialize().map_err(|e| failed(e.into()))
}

/// The items stored under `key`, each with whether it is locked; unlocked ones first.
///
/// As the `keyring` crate does, items without a `target` attribute (written by `secret-tool`,
/// or by keyring before v3) are looked for in the default collection when no other matches.
async fn matching<'a>(
    ss: &'a SecretService<'a>,
    (unlocked, locked): (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>),
    service: &str,
    key: &str,
) -> Result<Vec<(Item<'a>, bool)>> {
    let mut items = Vec::with_capacity(unlocked.len() + locked.len());
    for (path, is_locked) in unlocked
        .into_iter()
        .map(|p| (p, false))
        .chain(locked.into_iter().map(|p| (p, true)))
    {
        items.push((ss.get_item_by_path(path).await.map_err(failed)?, is_locked));
    }
    if items.is_empty() {
        for item in without_target(ss, service, key).await? {
            let is_locked = item.is_locked().await.map_err(failed)?;
            items.push((item, is_locked));
        }
    }
    Ok(items)
}

/// The items under `key` in the default collection, `target` or not: where `secret-tool` and
/// keyring before v3 put them.
async fn without_target<'a>(
    ss: &'a SecretService<'a>,
    service: &str,
    key: &str,
) -> Result<Vec<Item<'a>>> {
    let collection = ss.get_default_collection().await.map_err(failed)?;
    let legacy = HashMap::from([("service", service), ("username", key)]);
    let found = collection.search_items(legacy).await.map_err(failed)?;
    let mut items = Vec::with_capacity(found.len());
    for item in found {
        items.push(ss.get_item_by_path(item.item_path).await.map_err(failed)?);
    }
    Ok(items)
}

/// The one item stored under `key`, unlocked; `None` when there is none. Two or more are an
/// error rather than a guess at which holds the session.
async fn find<'a>(
    ss: &'a SecretService<'a>,
    found: (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>),
    service: &str,
    key: &str,
) -> Result<Option<Item<'a>>> {
    let mut items = matching(ss, found, service, key).await?;
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
        item.unlock().await.map_err(failed)?;
    }
    Ok(Some(item))
}

/// Opens the Secret Service session and searches for `key` at once: neither waits on the other.
async fn open_and_search<'a>(
    conn: zbus::Connection,
    service: &str,
    key: &str,
) -> Result<(
    SecretService<'a>,
    (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>),
)> {
    let (ss, found) = futures_lite::future::zip(
        SecretService::connect_with_existing(encryption(), conn.clone()),
        search_paths(&conn, search_attributes(service, key)),
    )
    .await;
    Ok((ss.map_err(unreachable)?, found?))
}

/// Reads the entry `key`.
pub(super) fn get(service: &str, key: &str, bounds: &Bounds) -> Result<Option<SecretString>> {
    let (service, key) = (service.to_owned(), key.to_owned());
    bounds.here(over_session_bus(move |conn| async move {
        let (ss, found) = open_and_search(conn, &service, &key).await?;
        let Some(item) = find(&ss, found, &service, &key).await? else {
            return Ok(None);
        };
        let bytes = item.get_secret().await.map_err(failed)?;
        // The error would carry the bytes; it is dropped unread.
        String::from_utf8(bytes)
            .map(|s| Some(SecretString::from(s)))
            .map_err(|_| Error::Keychain("a keychain entry is not valid UTF-8 text".into()))
    }))
}

/// Writes the entry `key`, replacing what it held.
pub(super) fn set(service: &str, key: &str, value: SecretString, bounds: &Bounds) -> Result<()> {
    let (service, key) = (service.to_owned(), key.to_owned());
    bounds.here(over_session_bus(move |conn| async move {
        let (service, key) = (service.as_str(), key.as_str());
        let value = value.expose_secret();
        let (ss, found) = open_and_search(conn, service, key).await?;
        if let Some(item) = find(&ss, found, service, key).await? {
            return item
                .set_secret(value.as_bytes(), "text/plain")
                .await
                .map_err(failed);
        }
        let collection = ss.get_default_collection().await.map_err(failed)?;
        collection.ensure_unlocked().await.map_err(failed)?;
        let mut attributes = search_attributes(service, key);
        attributes.insert("application", "rust-keyring");
        let label = format!("{key}@{service}:{TARGET} (pixie)");
        collection
            .create_item(&label, attributes, value.as_bytes(), true, "text/plain")
            .await
            .map_err(failed)?;
        Ok(())
    }))
}

/// Removes the entry `key`; an entry that is not there is already removed. Every copy goes,
/// with or without a `target` attribute: a sign-out must not leave a refresh token behind for
/// the next lookup to find.
pub(super) fn delete(service: &str, key: &str, bounds: &Bounds) -> Result<()> {
    let (service, key) = (service.to_owned(), key.to_owned());
    bounds.here(over_session_bus(move |conn| async move {
        let (service, key) = (service.as_str(), key.as_str());
        let (ss, (unlocked, locked)) = open_and_search(conn, service, key).await?;
        let mut items: Vec<Item<'_>> = Vec::new();
        for path in unlocked.into_iter().chain(locked) {
            items.push(ss.get_item_by_path(path).await.map_err(failed)?);
        }
        for item in without_target(&ss, service, key).await? {
            if !items.iter().any(|i| i.item_path == item.item_path) {
                items.push(item);
            }
        }
        for item in items {
            item.ensure_unlocked().await.map_err(failed)?;
            item.delete().await.map_err(failed)?;
        }
        Ok(())
    }))
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

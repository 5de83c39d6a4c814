//! Linux and the BSDs: the freedesktop Secret Service (gnome-keyring, KeePassXC) through the
//! `secret-service` crate on zbus 5, the D-Bus stack the Tauri plugins already bring. Going
//! through the `keyring` crate here would link a second zbus into the app.
//!
//! Items carry the attributes and label the `keyring` crate (v3) gives them and live in the
//! default collection, so entries written by earlier Pixie builds are found.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use secret_service::{EncryptionType, Error as SsError, Item, SecretService};
#[cfg(target_os = "linux")]
use zbus::address::transport::{Transport, UnixSocket};
use zbus::zvariant::OwnedObjectPath;

use super::keyring::{Bounds, Waited};
use crate::error::{Error, Result};
use crate::secret::{ExposeSecret, SecretString};

/// What `SearchItems` answers: the paths of the matching items, unlocked and locked.
type Found = (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>);

/// How one attempt at a keychain call failed.
enum Failure {
    /// The Secret Service left the bus while a call to it was pending, or a later call found
    /// its session gone: it crashed (gnome-keyring aborts under bursts of clients) or was
    /// restarted. D-Bus starts its successor for the next call, so the whole call is worth one
    /// more attempt; each of `get`, `set` and `delete` may be run twice.
    Vanished(SsError),
    Failed(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Failed(e)
    }
}

impl Failure {
    fn into_error(self) -> Error {
        match self {
            Failure::Vanished(e) => unreachable(e),
            Failure::Failed(e) => e,
        }
    }
}

type Attempt<T> = std::result::Result<T, Failure>;

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
async fn over_session_bus<T, F>(call: impl FnOnce(zbus::Connection) -> F) -> Attempt<T>
where
    F: Future<Output = Attempt<T>>,
{
    let conn = session_bus().await.map_err(|e| unreached(e.into()))?;
    let executor = conn.executor().clone();
    // The connection's socket reader is a task on this executor: it runs while `call` waits.
    let answer = futures_lite::future::or(call(conn), async {
        loop {
            executor.tick().await;
        }
    })
    .await;
    // Tasks the call left behind hold the connection (a prompt's signal streams remove their
    // match rules that way). They run to their end here, briefly, so that it closes.
    futures_lite::future::or(
        async {
            while !executor.is_empty() {
                executor.tick().await;
            }
        },
        async {
            async_io::Timer::after(LEFTOVER_TASKS).await;
        },
    )
    .await;
    answer
}

/// Runs `call` as [`over_session_bus`] does and, if the Secret Service vanished in the middle,
/// once more from the start, on a new connection, against its successor. A second vanishing
/// is an error, and so is the first once the caller no longer waits: a call left to finish
/// alone runs without its caller's locks, and a write started then could overwrite a newer
/// session, or bring back one signed out meanwhile.
async fn attempt<T, F>(waited: &Waited, call: impl Fn(zbus::Connection) -> F) -> Result<T>
where
    F: Future<Output = Attempt<T>>,
{
    match over_session_bus(&call).await {
        Err(Failure::Vanished(e)) if waited.still() => {
            tracing::debug!(error = %e, "the keychain service vanished during a call; trying again");
            over_session_bus(&call).await.map_err(Failure::into_error)
        }
        answer => answer.map_err(Failure::into_error),
    }
}

/// Lets a change to the keychain go ahead only while its caller still waits. A write or delete
/// that an unlock prompt held past the caller's bound would otherwise be made alone, without
/// the caller's locks (see [`attempt`]).
fn still_waited(waited: &Waited) -> Attempt<()> {
    if waited.still() {
        Ok(())
    } else {
        Err(
            Error::Keychain("the caller stopped waiting; the keychain was left as it was".into())
                .into(),
        )
    }
}

/// Whether `e` says that the Secret Service that was being called is gone: the bus answered
/// for it that it disconnected with the call pending (dbus-daemon: "Message recipient
/// disconnected ...", dbus-broker: "Remote peer disconnected"), or its successor does not know
/// the session the call named. A bus that gave up waiting also answers `NoReply`, but not
/// "disconnected": a hung keychain is not called twice.
fn vanished(e: &SsError) -> bool {
    fn named(name: &str, detail: Option<&str>) -> bool {
        match name {
            "org.freedesktop.DBus.Error.NoReply" => {
                detail.is_some_and(|d| d.contains("disconnected"))
            }
            "org.freedesktop.Secret.Error.NoSession" => true,
            _ => false,
        }
    }
    fn of_zbus(e: &zbus::Error) -> bool {
        match e {
            zbus::Error::MethodError(name, detail, _) => named(name.as_str(), detail.as_deref()),
            zbus::Error::FDO(e) => of_fdo(e),
            _ => false,
        }
    }
    fn of_fdo(e: &zbus::fdo::Error) -> bool {
        use zbus::DBusError;
        match e {
            zbus::fdo::Error::ZBus(e) => of_zbus(e),
            e => named(e.name().as_str(), e.description()),
        }
    }
    match e {
        SsError::Zbus(e) => of_zbus(e),
        SsError::ZbusFdo(e) => of_fdo(e),
        _ => false,
    }
}

/// How long a finished call's leftover tasks may run before its connection is dropped anyway.
const LEFTOVER_TASKS: Duration = Duration::from_millis(500);

/// How long the bus may take to answer the one-write greeting before zbus's own handshake is
/// tried instead (a proxy that cannot take pipelined commands says nothing).
#[cfg(target_os = "linux")]
const GREETING_WAIT: Duration = Duration::from_secs(3);

/// A connection to the session bus whose executor the caller ticks. On Linux, a bus at a
/// socket path (what desktops, `dbus-launch` and `dbus-run-session` give) is connected and
/// greeted here in one round trip ([`greet`]). Any other address, a Flatpak sandbox (whose bus
/// proxy takes no pipelined commands), or a bus that does not answer the short greeting as
/// expected, gets zbus's own handshake.
async fn session_bus() -> zbus::Result<zbus::Connection> {
    let address = zbus::Address::session()?;
    #[cfg(target_os = "linux")]
    if let Transport::Unix(unix) = address.transport() {
        if let (UnixSocket::File(path), false) =
            (unix.path(), std::env::var_os("FLATPAK_ID").is_some())
        {
            let mut stream =
                async_io::Async::<std::os::unix::net::UnixStream>::connect(path).await?;
            let greeted = futures_lite::future::or(greet(&mut stream), async {
                async_io::Timer::after(GREETING_WAIT).await;
                Err(greeting("no answer"))
            })
            .await;
            let expected = address.guid().map(|g| g.to_string());
            match greeted {
                Ok(guid) if expected.as_ref().is_none_or(|e| *e == guid) => {
                    return zbus::connection::Builder::authenticated_socket(stream, guid)?
                        .internal_executor(false)
                        .build()
                        .await;
                }
                Ok(_) => tracing::debug!("the bus's GUID is not the address's; retrying"),
                Err(e) => tracing::debug!(error = %e, "short D-Bus greeting refused; retrying"),
            }
        }
    }
    zbus::connection::Builder::address(address)?
        .internal_executor(false)
        .build()
        .await
}

/// The most a bus may send before its answer to `Hello` is complete: the `OK` line and one
/// short message.
#[cfg(target_os = "linux")]
const GREETING_LIMIT: usize = 4096;

/// Authenticates to the bus and says `Hello` in one write, as sd-bus does, and reads exactly
/// the two answers (the bus's own messages after them are left for zbus to read). zbus would
/// wait for `OK` before sending the rest: one more round trip through the bus per keychain
/// call. Returns the bus's GUID. No file-descriptor passing is negotiated and zbus is not told
/// the connection's unique name: the connection serves Secret Service calls only, which pass
/// no file descriptors and claim no names.
#[cfg(target_os = "linux")]
async fn greet(
    stream: &mut async_io::Async<std::os::unix::net::UnixStream>,
) -> zbus::Result<String> {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};

    let uid = rustix::process::geteuid().as_raw().to_string();
    let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
    let hello = zbus::Message::method_call("/org/freedesktop/DBus", "Hello")?
        .destination("org.freedesktop.DBus")?
        .interface("org.freedesktop.DBus")?
        .build(&())?;
    let mut out = format!("\0AUTH EXTERNAL {hex}\r\nBEGIN\r\n").into_bytes();
    out.extend_from_slice(hello.data());
    stream.write_all(&out).await?;

    // The answer to AUTH, a byte at a time so that nothing after it is taken from zbus.
    let mut line = Vec::with_capacity(64);
    while !line.ends_with(b"\r\n") {
        if line.len() >= 256 {
            return Err(greeting("an over-long answer to AUTH"));
        }
        let mut byte = [0u8];
        stream.read_exact(&mut byte).await?;
        line.push(byte[0]);
    }
    let guid = parse_ok(&line).ok_or_else(|| greeting("no OK to AUTH EXTERNAL"))?;

    // The answer to Hello: a fixed header that gives the rest's length.
    let mut header = [0u8; 16];
    stream.read_exact(&mut header).await?;
    let rest = message_rest(&header).ok_or_else(|| greeting("a malformed answer to Hello"))?;
    if rest > GREETING_LIMIT {
        return Err(greeting("an over-long answer to Hello"));
    }
    let mut body = vec![0u8; rest];
    stream.read_exact(&mut body).await?;
    // 2 is a method return; an error (3) means the bus refused Hello.
    if header[1] != 2 {
        return Err(greeting("Hello refused"));
    }
    Ok(guid)
}

#[cfg(target_os = "linux")]
fn greeting(what: &str) -> zbus::Error {
    zbus::Error::Handshake(format!("short D-Bus greeting: {what}"))
}

/// The GUID in `OK <32 hex digits>\r\n`.
pub(crate) fn parse_ok(line: &[u8]) -> Option<String> {
    let guid = line.strip_prefix(b"OK ")?.strip_suffix(b"\r\n")?;
    (guid.len() == 32 && guid.iter().all(u8::is_ascii_hexdigit))
        .then(|| String::from_utf8_lossy(guid).into_owned())
}

/// How many bytes of a D-Bus message follow its 16-byte fixed header: the header-field array
/// (padded to 8) and the body. `None` for an unknown byte order or protocol version, or a
/// length past what the protocol allows.
pub(crate) fn message_rest(header: &[u8; 16]) -> Option<usize> {
    let word = |at: usize| {
        let b = [header[at], header[at + 1], header[at + 2], header[at + 3]];
        match header[0] {
            b'l' => Some(u32::from_le_bytes(b)),
            b'B' => Some(u32::from_be_bytes(b)),
            _ => None,
        }
    };
    if header[3] != 1 {
        return None;
    }
    let body = usize::try_from(word(4)?).ok()?;
    let fields = usize::try_from(word(12)?).ok()?;
    // The specification caps a whole message at 128 MiB; the caller caps far lower.
    let padded = fields.checked_add(7)? & !7;
    let rest = padded.checked_add(body)?;
    (rest <= 128 << 20).then_some(rest)
}

/// The Secret Service's `SearchItems`, sent by itself: `get` sends it beside `OpenSession`
/// rather than after, saving a round trip through the bus.
async fn search_paths(conn: &zbus::Connection, attributes: HashMap<&str, &str>) -> Attempt<Found> {
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
    (unlocked, locked): Found,
    service: &str,
    key: &str,
) -> Attempt<Vec<(Item<'a>, bool)>> {
    let mut items: Vec<(Item<'a>, bool)> = at_paths(ss, unlocked)
        .await?
        .into_iter()
        .map(|i| (i, false))
        .chain(at_paths(ss, locked).await?.into_iter().map(|i| (i, true)))
        .collect();
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
) -> Attempt<Vec<Item<'a>>> {
    let collection = ss.get_default_collection().await.map_err(failed)?;
    let legacy = HashMap::from([("service", service), ("username", key)]);
    let found = collection.search_items(legacy).await.map_err(failed)?;
    let paths: Vec<OwnedObjectPath> = found.into_iter().map(|i| i.item_path).collect();
    at_paths(ss, paths).await
}

/// The items at `paths`, in order.
async fn at_paths<'a>(
    ss: &'a SecretService<'a>,
    paths: impl IntoIterator<Item = OwnedObjectPath>,
) -> Attempt<Vec<Item<'a>>> {
    let mut items = Vec::new();
    for path in paths {
        items.push(ss.get_item_by_path(path).await.map_err(failed)?);
    }
    Ok(items)
}

/// The one item stored under `key`, unlocked; `None` when there is none. Two or more are an
/// error rather than a guess at which holds the session.
async fn find<'a>(
    ss: &'a SecretService<'a>,
    found: Found,
    service: &str,
    key: &str,
) -> Attempt<Option<Item<'a>>> {
    let mut items = matching(ss, found, service, key).await?;
    if items.len() > 1 {
        return Err(Error::Keychain(format!(
            "the keychain holds more than one entry for \"{key}\" under the service \
             \"{service}\"; remove the extra ones (e.g. with Seahorse)"
        ))
        .into());
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
) -> Attempt<(SecretService<'a>, Found)> {
    let (ss, found) = futures_lite::future::zip(
        SecretService::connect_with_existing(encryption(), conn.clone()),
        search_paths(&conn, search_attributes(service, key)),
    )
    .await;
    Ok((ss.map_err(unreached)?, found?))
}

/// Reads the entry `key`.
pub(super) fn get(service: &str, key: &str, bounds: &Bounds) -> Result<Option<SecretString>> {
    let (service, key) = (service.to_owned(), key.to_owned());
    bounds.here(|waited| async move {
        attempt(&waited, |conn| {
            let (service, key) = (service.clone(), key.clone());
            async move {
                let (ss, found) = open_and_search(conn, &service, &key).await?;
                let Some(item) = find(&ss, found, &service, &key).await? else {
                    return Ok(None);
                };
                let bytes = item.get_secret().await.map_err(failed)?;
                // The error would carry the bytes; it is dropped unread.
                String::from_utf8(bytes)
                    .map(|s| Some(SecretString::from(s)))
                    .map_err(|_| {
                        Error::Keychain("a keychain entry is not valid UTF-8 text".into()).into()
                    })
            }
        })
        .await
    })
}

/// Writes the entry `key`, replacing what it held.
pub(super) fn set(service: &str, key: &str, value: SecretString, bounds: &Bounds) -> Result<()> {
    let (service, key, value) = (service.to_owned(), key.to_owned(), Arc::new(value));
    bounds.here(|waited| async move {
        attempt(&waited, |conn| {
            let (service, key, value) = (service.clone(), key.clone(), value.clone());
            let waited = &waited;
            async move {
                let (service, key) = (service.as_str(), key.as_str());
                let value = value.expose_secret();
                let (ss, found) = open_and_search(conn, service, key).await?;
                if let Some(item) = find(&ss, found, service, key).await? {
                    still_waited(waited)?;
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
                still_waited(waited)?;
                // Replacing: a second attempt finds what a vanished first one may have made.
                collection
                    .create_item(&label, attributes, value.as_bytes(), true, "text/plain")
                    .await
                    .map_err(failed)?;
                Ok(())
            }
        })
        .await
    })
}

/// Removes the entry `key`; an entry that is not there is already removed. Every copy goes,
/// with or without a `target` attribute: a sign-out must not leave a refresh token behind for
/// the next lookup to find.
pub(super) fn delete(service: &str, key: &str, bounds: &Bounds) -> Result<()> {
    let (service, key) = (service.to_owned(), key.to_owned());
    bounds.here(|waited| async move {
        attempt(&waited, |conn| {
            let (service, key) = (service.clone(), key.clone());
            let waited = &waited;
            async move {
                let (service, key) = (service.as_str(), key.as_str());
                let (ss, (unlocked, locked)) = open_and_search(conn, service, key).await?;
                let mut items = at_paths(&ss, unlocked.into_iter().chain(locked)).await?;
                for item in without_target(&ss, service, key).await? {
                    if !items.iter().any(|i| i.item_path == item.item_path) {
                        items.push(item);
                    }
                }
                for item in items {
                    item.ensure_unlocked().await.map_err(failed)?;
                    still_waited(waited)?;
                    item.delete().await.map_err(failed)?;
                }
                Ok(())
            }
        })
        .await
    })
}

/// No Secret Service answered the connection.
fn unreachable(e: SsError) -> Error {
    Error::KeychainUnavailable(format!(
        "no keychain service could be reached ({e}). On Linux Pixie needs a Secret Service \
         provider (gnome-keyring or KeePassXC) running in your D-Bus session; it never falls \
         back to storing tokens in a file"
    ))
}

/// A call that reached the Secret Service and was refused.
fn refused(e: SsError) -> Error {
    match e {
        SsError::Locked | SsError::NoResult | SsError::Prompt | SsError::PromptDisconnected => {
            Error::KeychainUnavailable(format!(
                "the keychain is locked or refused access ({e}). Unlock your keychain (on Linux \
                 the \"login\" keyring, e.g. with Seahorse) and try again"
            ))
        }
        // gnome-keyring answers a read of a locked item with its own D-Bus error.
        other if other.to_string().contains("IsLocked") => refused(SsError::Locked),
        other => unreachable(other),
    }
}

/// A failed call to the Secret Service, or the connection to it.
fn unreached(e: SsError) -> Failure {
    failure(e, unreachable)
}

/// A failed call on the Secret Service's objects.
fn failed(e: SsError) -> Failure {
    failure(e, refused)
}

/// `e` as worth another attempt (see [`vanished`]), else as `worded` says.
fn failure(e: SsError, worded: fn(SsError) -> Error) -> Failure {
    if vanished(&e) {
        Failure::Vanished(e)
    } else {
        Failure::Failed(worded(e))
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
    fn the_bus_answer_to_auth_gives_its_guid_and_nothing_else_passes() {
        let guid = "0123456789abcdef0123456789ABCDEF";
        assert_eq!(
            parse_ok(format!("OK {guid}\r\n").as_bytes()).as_deref(),
            Some(guid)
        );
        for bad in [
            "REJECTED EXTERNAL\r\n",
            "ERROR\r\n",
            "OK 0123\r\n",
            "OK 0123456789abcdef0123456789abcdeg\r\n",
            "OK 0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(parse_ok(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn a_message_header_gives_the_length_of_the_rest() {
        // Little endian, method return, version 1, body 12, serial 1, fields 61 (padded: 64).
        let mut h = [b'l', 2, 1, 1, 12, 0, 0, 0, 1, 0, 0, 0, 61, 0, 0, 0];
        assert_eq!(message_rest(&h), Some(76));
        h[0] = b'B';
        h[4..8].copy_from_slice(&12u32.to_be_bytes());
        h[12..16].copy_from_slice(&64u32.to_be_bytes());
        assert_eq!(message_rest(&h), Some(76));
        // Unknown byte order or version, and lengths past the protocol's cap or `usize`.
        assert_eq!(message_rest(&[b'x'; 16]), None);
        let mut v2 = h;
        v2[3] = 2;
        assert_eq!(message_rest(&v2), None);
        let mut huge = h;
        huge[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        huge[12..16].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(message_rest(&huge), None);
    }

    fn method_error(name: &str, detail: &str) -> SsError {
        let reply = zbus::Message::method_call("/", "Probe")
            .unwrap()
            .build(&())
            .unwrap();
        let name = zbus::names::OwnedErrorName::try_from(name.to_owned()).unwrap();
        SsError::Zbus(zbus::Error::MethodError(name, Some(detail.into()), reply))
    }

    #[test]
    fn only_a_service_gone_mid_call_is_worth_a_second_attempt() {
        use zbus::fdo::Error as Fdo;
        let no_reply = "org.freedesktop.DBus.Error.NoReply";
        let gone = [
            method_error(
                no_reply,
                "Message recipient disconnected from message bus without replying",
            ),
            method_error(no_reply, "Remote peer disconnected"),
            method_error(
                "org.freedesktop.Secret.Error.NoSession",
                "The session does not exist",
            ),
            SsError::ZbusFdo(Fdo::NoReply("Remote peer disconnected".into())),
            SsError::ZbusFdo(Fdo::ZBus(zbus::Error::FDO(Box::new(Fdo::NoReply(
                "Remote peer disconnected".into(),
            ))))),
        ];
        for e in &gone {
            assert!(vanished(e), "{e}");
        }
        let not_gone = [
            // The bus gave up waiting: the keychain may hang, and is not called again.
            method_error(
                no_reply,
                "Did not receive a reply. Possible causes include ...",
            ),
            SsError::ZbusFdo(Fdo::NoReply("Did not receive a reply".into())),
            method_error("org.freedesktop.Secret.Error.IsLocked", "locked"),
            SsError::ZbusFdo(Fdo::ServiceUnknown("no such name".into())),
            SsError::Locked,
            SsError::Unavailable,
        ];
        for e in &not_gone {
            assert!(!vanished(e), "{e}");
        }
        // What a second vanishing is worded as.
        let err = failed(method_error(no_reply, "Remote peer disconnected")).into_error();
        assert!(err.to_string().contains("Secret Service"), "{err}");
    }

    #[test]
    fn a_change_is_made_only_while_its_caller_waits() {
        assert!(still_waited(&Waited::default()).is_ok());
        assert!(matches!(
            still_waited(&Waited::gone()),
            Err(Failure::Failed(Error::Keychain(_)))
        ));
    }

    #[test]
    fn a_locked_keychain_says_to_unlock_it() {
        let err = refused(SsError::Locked);
        assert!(matches!(err, Error::KeychainUnavailable(_)), "{err}");
        assert!(err.to_string().contains("Unlock your keychain"), "{err}");
        let err = refused(SsError::Unavailable);
        assert!(err.to_string().contains("Secret Service"), "{err}");
    }
}

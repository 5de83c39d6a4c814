//! The loopback listener that receives the browser's redirect (RFC 8252 §7.3).
//!
//! It is bound before the browser opens, only on a loopback address, on the profile's port (0 =
//! ephemeral). It ignores whatever is not the awaited callback — a favicon request, another path,
//! a forged callback with the wrong `state` — answering 400/404 and waiting on. The one request
//! with the right `state` is handed to the flow, and the browser's tab is answered only once the
//! flow knows whether sign-in succeeded.
//!
//! The server is a few lines over `httparse` rather than a web framework: it answers one GET per
//! connection and closes it, and reads at most [`MAX_REQUEST_HEAD`] bytes within
//! [`REQUEST_READ_TIMEOUT`] from each of at most [`MAX_CONNECTIONS`] connections.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use oauth2::AuthorizationCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::profile::{LoopbackHost, Redirect};

/// What the authorization server sent back (RFC 6749 §4.1.2, RFC 9207).
#[derive(Debug)]
pub struct CallbackParams {
    pub code: Option<AuthorizationCode>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub iss: Option<String>,
}

/// The awaited callback, holding the browser's request open until [`Callback::respond`].
#[derive(Debug)]
pub struct Callback {
    pub params: CallbackParams,
    pub received_at: std::time::Instant,
    pub responder: Responder,
}

/// Answers the browser's tab, which waits until then.
#[derive(Debug)]
pub struct Responder(oneshot::Sender<Page>);

impl Responder {
    /// Shows `page` in the browser's tab.
    pub fn respond(self, page: Page) {
        let _ = self.0.send(page);
    }
}

/// The page shown in the browser tab at the end.
#[derive(Clone, Debug)]
pub enum Page {
    Success {
        profile: String,
    },
    Failure {
        message: String,
    },
    /// The provider sent the browser back after ending its session (RP-Initiated Logout).
    SignedOut {
        profile: String,
    },
}

struct Shared {
    path: String,
    /// The `Host` values a browser sends to this listener: anything else (a DNS-rebinding page
    /// whose name points at 127.0.0.1) is refused.
    hosts: Vec<String>,
    state: String,
    taken: AtomicBool,
    tx: mpsc::Sender<Callback>,
}

pub struct Listener {
    redirect_uri: String,
    /// Kept to check a pasted answer (paste-back) as the listener checks a callback.
    state: String,
    /// What was bound (tests connect to it).
    #[cfg(test)]
    addr: SocketAddr,
    rx: mpsc::Receiver<Callback>,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Listener {
    /// Binds on the profile's loopback host and port, for a callback carrying `state`.
    pub async fn bind(redirect: &Redirect, state: &str) -> Result<Self> {
        let (addr, listeners) = bind_all(redirect).await?;
        let (tx, rx) = mpsc::channel(1);
        let port = addr.port();
        let shared = Arc::new(Shared {
            path: redirect.path.clone(),
            hosts: allowed_hosts(port),
            state: state.to_owned(),
            taken: AtomicBool::new(false),
            tx,
        });
        let stop = CancellationToken::new();
        let tasks = listeners
            .into_iter()
            .map(|l| tokio::spawn(serve(l, shared.clone(), stop.clone())))
            .collect();
        let redirect_uri = redirect.uri_for_port(addr.port());
        tracing::debug!(%redirect_uri, "loopback listener ready");
        Ok(Self {
            redirect_uri,
            state: state.to_owned(),
            #[cfg(test)]
            addr,
            rx,
            stop,
            tasks,
        })
    }

    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Paste-back: the address the browser landed on, pasted by the person, checked as a
    /// callback is (see [`check_pasted`]).
    pub fn check_pasted(&self, pasted: &str) -> std::result::Result<CallbackParams, String> {
        check_pasted(pasted, &self.redirect_uri, &self.state)
    }

    #[cfg(test)]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for the callback with the right `state`, until `timeout` or `cancel`.
    pub async fn wait(
        &mut self,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<Callback> {
        tokio::select! {
            cb = self.rx.recv() => cb.ok_or_else(|| Error::Internal("loopback listener stopped".into())),
            () = tokio::time::sleep(timeout) => Err(Error::Timeout(timeout.as_secs())),
            () = cancel.cancelled() => Err(Error::Cancelled),
        }
    }

    /// Stops listening and frees the port (waiting briefly for the last page to be sent).
    pub async fn close(mut self) {
        self.stop.cancel();
        for task in self.tasks.drain(..) {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.cancel();
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Binds the loopback address, and for a `localhost` redirect `[::1]` on the same port too: a
/// browser may resolve `localhost` to either, and whoever holds the other one would otherwise
/// receive the code. With an ephemeral port, a port whose IPv6 twin is taken is traded for
/// another; without IPv6 at all, IPv4 alone serves.
async fn bind_all(redirect: &Redirect) -> Result<(SocketAddr, Vec<TcpListener>)> {
    let want = SocketAddr::new(redirect.host.bind_ip(), redirect.port);
    for _ in 0..20 {
        let primary = TcpListener::bind(want)
            .await
            .map_err(|e| bind_error(want, redirect.port, e))?;
        let addr = primary
            .local_addr()
            .map_err(|e| bind_error(want, redirect.port, e))?;
        if redirect.host != LoopbackHost::Localhost {
            return Ok((addr, vec![primary]));
        }
        let v6 = SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), addr.port());
        match TcpListener::bind(v6).await {
            Ok(second) => return Ok((addr, vec![primary, second])),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                if redirect.port != 0 {
                    return Err(bind_error(v6, redirect.port, e));
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "no IPv6 loopback; serving localhost on 127.0.0.1 only");
                return Ok((addr, vec![primary]));
            }
        }
    }
    Err(Error::Listener {
        addr: want.to_string(),
        reason: "no port was free on both 127.0.0.1 and [::1]".into(),
    })
}

/// The `Host` values a browser sends to the listener on `port` (lower case).
fn allowed_hosts(port: u16) -> Vec<String> {
    ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .flat_map(|h| {
            // A browser leaves the default port out of `Host`.
            let bare = (port == 80).then(|| h.to_string());
            std::iter::once(format!("{h}:{port}")).chain(bare)
        })
        .collect()
}

fn bind_error(addr: SocketAddr, port: u16, e: std::io::Error) -> Error {
    let reason = if e.kind() == std::io::ErrorKind::AddrInUse {
        format!(
            "port {port} is already in use by another program; close it, or change the profile's redirect URI (no port, or port 0, picks a free one)"
        )
    } else {
        e.to_string()
    };
    Error::Listener {
        addr: addr.to_string(),
        reason,
    }
}

/// Longest request head (request line and headers) read from a browser. A callback is a few
/// KB; what is longer is refused with 431.
pub(crate) const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// How long a connection may take to send its request head.
const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long writing the page may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more wait in the kernel's queue.
const MAX_CONNECTIONS: usize = 32;

/// Accepts connections until `stop`, then waits for those in flight (each ends on its own:
/// reads are bounded, and an answered callback is written out). Dropping the task drops them.
async fn serve(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept(), if connections.len() < MAX_CONNECTIONS => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, shared.clone(), stop.clone()));
                }
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted.
                    tracing::debug!(error = %e, "loopback listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    // The port is free from here on.
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// One request and its answer. A connection that has not sent its request when `stop` comes is
/// closed; one whose request was taken is answered.
async fn connection(mut stream: TcpStream, shared: Arc<Shared>, stop: CancellationToken) {
    let read = tokio::time::timeout(REQUEST_READ_TIMEOUT, read_request(&mut stream));
    let request = tokio::select! {
        read = read => match read {
            Ok(Some(request)) => request,
            Ok(None) | Err(_) => return,
        },
        () = stop.cancelled() => return,
    };
    let (reply, head_only) = match request {
        Ok(request) => {
            let head_only = request.head_only;
            (handle(shared, request).await, head_only)
        }
        Err(reply) => (reply, false),
    };
    let write = async {
        stream.write_all(&reply.to_bytes(head_only)).await?;
        stream.shutdown().await?;
        // A close with unread input resets the connection, and the reset can destroy the page
        // before the browser reads it: take in (a bounded amount of) what it still sends.
        let mut rest = [0u8; 4096];
        let mut left = MAX_REQUEST_HEAD * 4;
        while left > 0 {
            match stream.read(&mut rest).await? {
                0 => break,
                n => left = left.saturating_sub(n),
            }
        }
        std::io::Result::Ok(())
    };
    let _ = tokio::time::timeout(WRITE_TIMEOUT, write).await;
}

/// What the listener needs of a browser's request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Request {
    path: String,
    pub(crate) query: Option<String>,
    /// The `Host` header, lower-cased.
    host: Option<String>,
    /// A `HEAD` request: the answer has no body.
    head_only: bool,
}

/// Reads one request head. `None` when the peer went away before sending one; `Err` is the
/// answer to a request that cannot be served.
async fn read_request(stream: &mut TcpStream) -> Option<std::result::Result<Request, Reply>> {
    let mut head = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        let room = MAX_REQUEST_HEAD.saturating_sub(head.len());
        head.extend_from_slice(&chunk[..n.min(room)]);
        match parse_request(&head) {
            Some(done) => return Some(done),
            None if head.len() >= MAX_REQUEST_HEAD => {
                return Some(Err(page(
                    Status::TOO_LARGE,
                    "Request too large",
                    "This request is larger than any sign-in answer.",
                )))
            }
            None => {}
        }
    }
}

/// Parses a request head: `None` while it is incomplete.
pub(crate) fn parse_request(head: &[u8]) -> Option<std::result::Result<Request, Reply>> {
    let bad = || {
        page(
            Status::BAD_REQUEST,
            "Bad request",
            "This is Pixie's sign-in listener; it could not read that request.",
        )
    };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(head) {
        Ok(httparse::Status::Partial) => return None,
        Ok(httparse::Status::Complete(_)) => {}
        Err(_) => return Some(Err(bad())),
    }
    let (Some(method), Some(target)) = (parsed.method, parsed.path) else {
        return Some(Err(bad()));
    };
    let host = parsed
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))
        .and_then(|h| std::str::from_utf8(h.value).ok())
        .map(str::to_ascii_lowercase);
    let Some((path, query)) = split_target(target) else {
        return Some(Err(bad()));
    };
    Some(Ok(Request {
        path,
        query,
        host,
        head_only: method == "HEAD",
    }))
}

/// The path and query of a request target: origin-form (`/callback?…`), or absolute-form
/// (`http://127.0.0.1:8400/callback?…`) as a browser sends it to a proxy.
pub(crate) fn split_target(target: &str) -> Option<(String, Option<String>)> {
    if target.starts_with('/') {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        // A fragment never reaches a server; one that does is not part of the query.
        let query = query.map(|q| q.split('#').next().unwrap_or_default().to_owned());
        return Some((path.to_owned(), query));
    }
    let url = url::Url::parse(target).ok()?;
    Some((url.path().to_owned(), url.query().map(str::to_owned)))
}

async fn handle(shared: Arc<Shared>, request: Request) -> Reply {
    if !request.host.is_some_and(|h| shared.hosts.contains(&h)) {
        tracing::warn!("ignored a request to the listener under another host name");
        return page(
            Status::MISDIRECTED,
            "Wrong address",
            "Pixie's sign-in listener answers only as 127.0.0.1, localhost or [::1].",
        );
    }
    if request.path != shared.path {
        return page(
            Status::NOT_FOUND,
            "Not found",
            "This is Pixie's sign-in listener; nothing lives here.",
        );
    }
    let (state, params) = parse_query(request.query.as_deref().unwrap_or(""));
    let state_ok = state
        .as_deref()
        .is_some_and(|s| constant_time_eq(s.as_bytes(), shared.state.as_bytes()));
    if !state_ok {
        tracing::warn!("ignored a callback whose state does not match this sign-in");
        return page(
            Status::BAD_REQUEST,
            "Not this sign-in",
            "This answer does not belong to the sign-in Pixie is waiting for, so it was ignored.",
        );
    }
    if shared.taken.swap(true, Ordering::SeqCst) {
        return page(
            Status::BAD_REQUEST,
            "Already handled",
            "Pixie has already received the answer for this sign-in.",
        );
    }
    let (responder, answer) = oneshot::channel();
    let cb = Callback {
        params,
        received_at: std::time::Instant::now(),
        responder: Responder(responder),
    };
    if shared.tx.send(cb).await.is_err() {
        return page(
            Status::GONE,
            "Sign-in over",
            "Pixie is no longer waiting for this sign-in.",
        );
    }
    match tokio::time::timeout(Duration::from_secs(120), answer).await {
        Ok(Ok(Page::Success { profile })) => page(
            Status::OK,
            "Signed in",
            &format!("You are signed in to {profile}. You can close this tab and return to Pixie."),
        ),
        Ok(Ok(Page::Failure { message })) => page(Status::OK, "Sign-in failed", &message),
        Ok(Ok(Page::SignedOut { profile })) => page(
            Status::OK,
            "Signed out",
            &format!(
                "You are signed out of {profile} in this browser too. You can close this tab."
            ),
        ),
        _ => page(
            Status::OK,
            "Answer received",
            "Pixie received the provider's answer. You can close this tab and return to Pixie.",
        ),
    }
}

/// Paste-back: a pasted address is taken as the callback only if it is this sign-in's redirect
/// URI (`redirect_uri`) with its `state`. The reason a paste is refused names no part of what
/// was pasted beyond what the person can see anyway.
pub(crate) fn check_pasted(
    pasted: &str,
    redirect_uri: &str,
    state: &str,
) -> std::result::Result<CallbackParams, String> {
    let pasted = pasted.trim();
    if pasted.len() > MAX_PASTED_LEN {
        return Err(format!("that is longer than {MAX_PASTED_LEN} characters"));
    }
    let url = url::Url::parse(pasted).map_err(|_| {
        "that is not an address (paste the whole address of the page the browser landed on)"
            .to_owned()
    })?;
    let expected = url::Url::parse(redirect_uri).map_err(|e| e.to_string())?;
    if url.origin() != expected.origin() || url.path() != expected.path() {
        return Err(format!(
            "that address is not this sign-in's redirect ({redirect_uri})"
        ));
    }
    let (got, params) = parse_query(url.query().unwrap_or(""));
    if !got.is_some_and(|s| constant_time_eq(s.as_bytes(), state.as_bytes())) {
        return Err("that answer belongs to another sign-in (its state does not match)".into());
    }
    Ok(params)
}

/// Longer than any real callback address; more is not read.
const MAX_PASTED_LEN: usize = 8192;

/// The callback's `state` and what the authorization server sent, from the request's query.
pub(crate) fn parse_query(query: &str) -> (Option<String>, CallbackParams) {
    let mut state = None;
    let mut params = CallbackParams {
        code: None,
        error: None,
        error_description: None,
        iss: None,
    };
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "state" => state = Some(v.into_owned()),
            "code" => params.code = Some(AuthorizationCode::new(v.into_owned())),
            "error" => params.error = Some(v.into_owned()),
            "error_description" => params.error_description = Some(v.into_owned()),
            "iss" => params.iss = Some(v.into_owned()),
            _ => {}
        }
    }
    (state, params)
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An HTTP status the listener answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Status(u16, &'static str);

impl Status {
    const OK: Self = Self(200, "OK");
    const BAD_REQUEST: Self = Self(400, "Bad Request");
    const NOT_FOUND: Self = Self(404, "Not Found");
    const GONE: Self = Self(410, "Gone");
    const MISDIRECTED: Self = Self(421, "Misdirected Request");
    const TOO_LARGE: Self = Self(431, "Request Header Fields Too Large");
}

/// A page for the browser's tab.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    status: Status,
    html: String,
}

impl Reply {
    /// The whole response. The connection closes after it.
    fn to_bytes(&self, head_only: bool) -> Vec<u8> {
        let Status(code, reason) = self.status;
        let mut out = format!(
            "HTTP/1.1 {code} {reason}\r\n\
             Content-Type: text/html; charset=utf-8\r\n\
             Content-Length: {}\r\n\
             Cache-Control: no-store\r\n\
             Referrer-Policy: no-referrer\r\n\
             Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n\
             X-Content-Type-Options: nosniff\r\n\
             Connection: close\r\n\r\n",
            self.html.len()
        )
        .into_bytes();
        if !head_only {
            out.extend_from_slice(self.html.as_bytes());
        }
        out
    }
}

fn page(status: Status, title: &str, body: &str) -> Reply {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Pixie: {t}</title>\
         <style>body{{font:16px system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}}\
         @media(prefers-color-scheme:dark){{body{{background:#1b1b1f;color:#eee}}}}</style></head>\
         <body><h1>{t}</h1><p>{b}</p></body></html>",
        t = escape(title),
        b = escape(body)
    );
    Reply { status, html }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(url: &str) -> (u16, String) {
        let r = reqwest::get(url).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    #[tokio::test]
    async fn ignores_strays_and_forgeries_then_takes_the_real_callback() {
        let mut l = Listener::bind(&Redirect::default(), "s-123").await.unwrap();
        let base = l.redirect_uri().to_owned();
        assert!(base.starts_with("http://127.0.0.1:") && base.ends_with("/callback"));
        let origin = base.trim_end_matches("/callback").to_owned();
        assert_eq!(get(&format!("{origin}/favicon.ico")).await.0, 404);
        assert_eq!(get(&format!("{base}?code=evil&state=wrong")).await.0, 400);
        assert_eq!(get(&format!("{base}?code=evil")).await.0, 400);
        let good = format!("{base}?code=good&state=s-123&iss=https%3A%2F%2Fi");
        let real = tokio::spawn(async move { get(&good).await });
        let cb = l
            .wait(Duration::from_secs(5), &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(cb.params.code.as_ref().unwrap().secret(), "good");
        assert_eq!(cb.params.iss.as_deref(), Some("https://i"));
        // A replay of the good callback is refused while the first is in flight.
        assert_eq!(get(&format!("{base}?code=good&state=s-123")).await.0, 400);
        cb.responder.respond(Page::Success {
            profile: "work".into(),
        });
        let (status, body) = real.await.unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("signed in to work"), "{body}");
        let addr = l.local_addr();
        l.close().await;
        assert!(std::net::TcpStream::connect(addr).is_err(), "port closed");
    }

    #[tokio::test]
    async fn another_host_name_is_refused_even_with_the_right_state() {
        // A DNS-rebinding page reaches 127.0.0.1 under its own name.
        let mut l = Listener::bind(&Redirect::default(), "st").await.unwrap();
        let url = format!("{}?code=c&state=st", l.redirect_uri());
        let client = reqwest::Client::new();
        let status = client
            .get(&url)
            .header("host", format!("evil.example:{}", l.local_addr().port()))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 421);
        let err = l
            .wait(Duration::from_millis(100), &CancellationToken::new())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout(_)), "nothing was taken");
        // The names the listener really has all work.
        let localhost = url.replace("127.0.0.1", "localhost");
        let browser = tokio::spawn(async move { get(&localhost).await });
        let cb = l
            .wait(Duration::from_secs(5), &CancellationToken::new())
            .await
            .unwrap();
        cb.responder.respond(Page::Success {
            profile: "p".into(),
        });
        assert_eq!(browser.await.unwrap().0, 200);
    }

    #[test]
    fn port_80_is_also_reached_without_a_port_in_host() {
        assert_eq!(
            allowed_hosts(8400),
            ["127.0.0.1:8400", "localhost:8400", "[::1]:8400"]
        );
        let at_80 = allowed_hosts(80);
        for h in ["127.0.0.1", "localhost", "[::1]", "localhost:80"] {
            assert!(at_80.iter().any(|a| a == h), "{h}");
        }
    }

    #[tokio::test]
    async fn provider_errors_are_passed_on() {
        let mut l = Listener::bind(&Redirect::default(), "st").await.unwrap();
        let url = format!(
            "{}?error=access_denied&error_description=no%20way&state=st",
            l.redirect_uri()
        );
        let browser = tokio::spawn(async move { get(&url).await });
        let cb = l
            .wait(Duration::from_secs(5), &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(cb.params.error.as_deref(), Some("access_denied"));
        assert_eq!(cb.params.error_description.as_deref(), Some("no way"));
        cb.responder.respond(Page::Failure {
            message: "<denied>".into(),
        });
        let (_, body) = browser.await.unwrap();
        assert!(body.contains("&lt;denied&gt;"), "escaped: {body}");
    }

    #[tokio::test]
    async fn times_out_and_cancels() {
        let mut l = Listener::bind(&Redirect::default(), "st").await.unwrap();
        let err = l
            .wait(Duration::from_millis(50), &CancellationToken::new())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout(_)));
        let cancel = CancellationToken::new();
        cancel.cancel();
        let err = l.wait(Duration::from_secs(5), &cancel).await.unwrap_err();
        assert!(matches!(err, Error::Cancelled));
    }

    #[tokio::test]
    async fn localhost_listens_on_both_loopbacks_or_refuses() {
        let redirect = Redirect::parse("http://localhost/cb").unwrap();
        let l = Listener::bind(&redirect, "st").await.unwrap();
        let port = l.local_addr().port();
        assert_eq!(l.redirect_uri(), format!("http://localhost:{port}/cb"));
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        if std::net::TcpListener::bind("[::1]:0").is_ok() {
            assert!(std::net::TcpStream::connect(("::1", port)).is_ok());
            // A fixed port whose IPv6 twin is taken by someone else is refused.
            let squatter = std::net::TcpListener::bind("[::1]:0").unwrap();
            let taken = squatter.local_addr().unwrap().port();
            let fixed = Redirect::parse(&format!("http://localhost:{taken}/cb")).unwrap();
            assert!(Listener::bind(&fixed, "st").await.is_err());
        }
    }

    async fn raw(addr: SocketAddr, request: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(request).await.unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test]
    async fn odd_requests_get_a_status_and_the_callback_still_gets_through() {
        let mut l = Listener::bind(&Redirect::default(), "st").await.unwrap();
        let addr = l.local_addr();
        let host = format!("127.0.0.1:{}", addr.port());
        // A browser may hold a connection open without a request; it blocks nobody.
        let _idle = TcpStream::connect(addr).await.unwrap();
        let garbage = raw(addr, b"\x01\x02 nonsense\r\n\r\n").await;
        assert!(garbage.starts_with("HTTP/1.1 400 "), "{garbage}");
        let mut huge = format!("GET /callback?x= HTTP/1.1\r\nHost: {host}\r\n").into_bytes();
        huge.extend(std::iter::repeat_n(b'a', 2 * MAX_REQUEST_HEAD));
        let huge = raw(addr, &huge).await;
        assert!(huge.starts_with("HTTP/1.1 431 "), "{huge}");
        let head = raw(
            addr,
            format!("HEAD /nope HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes(),
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 404 "), "{head}");
        assert!(head.ends_with("\r\n\r\n"), "no body for HEAD: {head}");
        // Absolute-form, as a browser sends it to a proxy, with a fragment that is no query.
        let request =
            format!("GET http://{host}/callback?code=c&state=st HTTP/1.1\r\nHost: {host}\r\n\r\n");
        let browser = tokio::spawn(async move { raw(addr, request.as_bytes()).await });
        let cb = l
            .wait(Duration::from_secs(5), &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(cb.params.code.as_ref().unwrap().secret(), "c");
        cb.responder.respond(Page::Success {
            profile: "p".into(),
        });
        let answer = browser.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
        assert!(
            answer.contains("\r\nCache-Control: no-store\r\n"),
            "{answer}"
        );
        l.close().await;
    }

    #[test]
    fn request_targets_split_into_path_and_query() {
        let split = |t: &str| split_target(t);
        assert_eq!(
            split("/cb?a=1#frag"),
            Some(("/cb".into(), Some("a=1".into())))
        );
        assert_eq!(split("/cb"), Some(("/cb".into(), None)));
        assert_eq!(
            split("http://127.0.0.1:9/cb?a=1"),
            Some(("/cb".into(), Some("a=1".into())))
        );
        assert_eq!(split("*"), None);
        assert!(
            parse_request(b"GET /cb HTTP/1.1\r\nHost: x").is_none(),
            "incomplete"
        );
        let Some(Ok(r)) = parse_request(b"GET /cb?q HTTP/1.1\r\nHOST: LocalHost:1\r\n\r\n") else {
            panic!("a complete request")
        };
        assert_eq!(r.host.as_deref(), Some("localhost:1"));
        assert_eq!(r.query.as_deref(), Some("q"));
    }

    #[tokio::test]
    async fn port_in_use_is_a_clear_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let redirect = Redirect {
            port,
            ..Redirect::default()
        };
        let err = Listener::bind(&redirect, "st").await.err().unwrap();
        assert!(err.to_string().contains("already in use"), "{err}");
    }
}

//! The one HTTP client every provider request goes through — Pixie's own and those `oauth2` and
//! `openidconnect` make — so that every answer is bounded the same way: a connect timeout, a
//! total timeout, no redirects followed, and a cap on the body, enforced while it streams in.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::error::{root_cause, Error, Result};

/// Cap on metadata documents and key sets (real ones are a few KiB; Entra's JWKS about 10).
pub const METADATA_CAP: usize = 512 * 1024;
/// Cap on token, revocation and error answers.
pub const TOKEN_CAP: usize = 64 * 1024;

/// Cap on a CA file: a bundle of every public root is about 200 KiB.
const MAX_CA_FILE: u64 = 4 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request got no usable answer. The variant tells whether the request can have reached
/// the provider, which decides whether a refresh token may be sent again.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The connection was never made: the provider did not see the request.
    #[error("{0}")]
    Connect(String),
    /// The server's certificate is not trusted: nothing was sent. Behind a company's TLS
    /// inspection, or for an internal provider, its CA must be trusted explicitly.
    #[error(
        "the TLS certificate of {host} is not trusted ({reason}); if a company or private CA \
         signed it, give the profile that CA's certificate file, or set SSL_CERT_FILE"
    )]
    Tls {
        /// The host whose certificate was refused.
        host: String,
        /// rustls' reason, e.g. `UnknownIssuer`.
        reason: String,
    },
    /// Sent, but no (whole) answer in time.
    #[error("no answer within {} s", TOTAL_TIMEOUT.as_secs())]
    Timeout,
    /// The answer was redirected; a provider endpoint that redirects is misconfigured, and
    /// following it could hand a secret to someone else.
    #[error("the endpoint answered with a redirect (HTTP {status}), which Pixie does not follow")]
    Redirect { status: u16 },
    /// The body went past the cap: read no further.
    #[error("the answer is larger than {} KiB", cap / 1024)]
    TooLarge { cap: usize },
    /// Anything else after the request was sent (a reset connection, a broken body).
    #[error("{0}")]
    Other(String),
}

impl HttpError {
    /// True when the provider cannot have received the request.
    pub fn never_sent(&self) -> bool {
        matches!(self, HttpError::Connect(_) | HttpError::Tls { .. })
    }

    fn from_reqwest(e: reqwest::Error) -> Self {
        if e.is_connect() {
            let cause = root_cause(&e);
            // reqwest has no TLS error kind; rustls' messages name the certificate.
            if cause.contains("certificate") {
                return HttpError::Tls {
                    host: e
                        .url()
                        .and_then(|u| u.host_str())
                        .unwrap_or("the provider")
                        .to_owned(),
                    reason: cause,
                };
            }
            HttpError::Connect(cause)
        } else if e.is_timeout() {
            HttpError::Timeout
        } else {
            HttpError::Other(root_cause(&e))
        }
    }
}

/// A status, the headers and a body read up to a cap.
pub type Answer = oauth2::HttpResponse;

/// The shared, configured client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Http {
    client: reqwest::Client,
}

impl Http {
    /// TLS is always verified (system roots plus the bundled Mozilla roots); redirects are never
    /// followed, as oauth2-rs recommends, so a token request cannot be bounced elsewhere.
    pub fn new() -> Result<Self> {
        Self::build(Vec::new())
    }

    /// Like [`Http::new`], also trusting the CA certificates in `ca_file` (PEM), for a provider
    /// whose certificate a company or private CA signed. The system roots stay trusted too.
    pub fn with_ca_file(ca_file: &std::path::Path) -> Result<Self> {
        let bad = |why: String| Error::invalid(format!("the CA file {}: {why}", ca_file.display()));
        let pem =
            crate::home::read_bounded(ca_file, MAX_CA_FILE).map_err(|e| bad(e.to_string()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| bad(format!("not PEM certificates ({e})")))?;
        if certs.is_empty() {
            return Err(bad("holds no PEM certificate".into()));
        }
        Self::build(certs)
    }

    fn build(extra_roots: Vec<reqwest::Certificate>) -> Result<Self> {
        let mut builder = reqwest::Client::builder();
        for cert in extra_roots {
            builder = builder.add_root_certificate(cert);
        }
        // Proxies come from HTTPS_PROXY/HTTP_PROXY/ALL_PROXY and NO_PROXY (reqwest's default).
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .user_agent(concat!("pixie/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { client })
    }

    /// For building a request; send it with [`Http::send`].
    pub fn request(&self, method: reqwest::Method, url: url::Url) -> reqwest::RequestBuilder {
        self.client.request(method, url)
    }

    /// Sends a request and reads at most `cap` bytes of the answer.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
        cap: usize,
    ) -> std::result::Result<Answer, HttpError> {
        let request = request.build().map_err(HttpError::from_reqwest)?;
        self.execute(request, cap).await
    }

    async fn execute(
        &self,
        request: reqwest::Request,
        cap: usize,
    ) -> std::result::Result<Answer, HttpError> {
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(HttpError::from_reqwest)?;
        let status = response.status();
        if status.is_redirection() {
            return Err(HttpError::Redirect {
                status: status.as_u16(),
            });
        }
        if response.content_length().is_some_and(|n| n > cap as u64) {
            return Err(HttpError::TooLarge { cap });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(HttpError::from_reqwest)? {
            if body.len().saturating_add(chunk.len()) > cap {
                return Err(HttpError::TooLarge { cap });
            }
            body.extend_from_slice(&chunk);
        }
        let mut answer = oauth2::http::Response::builder()
            .status(status)
            .version(response.version());
        for (name, value) in response.headers() {
            answer = answer.header(name, value);
        }
        answer
            .body(body)
            .map_err(|e| HttpError::Other(e.to_string()))
    }

    /// This client as `oauth2`/`openidconnect` take it, reading at most `cap` bytes.
    pub fn oauth(&self, cap: usize) -> OAuthHttp<'_> {
        OAuthHttp { http: self, cap }
    }
}

/// [`Http`] with a cap, for `oauth2`'s and `openidconnect`'s `request_async`.
pub struct OAuthHttp<'a> {
    http: &'a Http,
    cap: usize,
}

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp<'_> {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = std::result::Result<Answer, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)
                .map_err(|e| HttpError::Other(format!("cannot build the request: {e}")))?;
            self.http.execute(request, self.cap).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `/big` as an endless stream (no length) and `/long` with a large Content-Length.
    async fn server() -> String {
        use futures_util::stream;
        let app = axum::Router::new()
            .route(
                "/big",
                axum::routing::get(|| async {
                    let chunk = bytes_of(16 * 1024);
                    let endless =
                        stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
                    axum::body::Body::from_stream(endless)
                }),
            )
            .route("/small", axum::routing::get(|| async { "{\"ok\":true}" }))
            .route(
                "/moved",
                axum::routing::get(|| async {
                    (
                        axum::http::StatusCode::FOUND,
                        [("location", "http://elsewhere/")],
                    )
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }

    fn bytes_of(n: usize) -> axum::body::Bytes {
        axum::body::Bytes::from(vec![b'x'; n])
    }

    #[tokio::test]
    async fn an_endless_body_stops_at_the_cap_at_once() {
        let base = server().await;
        let http = Http::new().unwrap();
        let get = |path: &str| {
            http.request(
                reqwest::Method::GET,
                url::Url::parse(&format!("{base}{path}")).unwrap(),
            )
        };
        let started = std::time::Instant::now();
        let err = http.send(get("/big"), TOKEN_CAP).await.unwrap_err();
        assert!(
            matches!(err, HttpError::TooLarge { cap: TOKEN_CAP }),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(err.to_string().contains("64 KiB"), "{err}");
        let ok = http.send(get("/small"), TOKEN_CAP).await.unwrap();
        assert_eq!(ok.body(), b"{\"ok\":true}");
        let moved = http.send(get("/moved"), TOKEN_CAP).await.unwrap_err();
        assert!(
            matches!(moved, HttpError::Redirect { status: 302 }),
            "{moved}"
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_a_connect_error() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = url::Url::parse(&format!("http://{}/", closed.local_addr().unwrap())).unwrap();
        drop(closed);
        let http = Http::new().unwrap();
        let err = http
            .send(http.request(reqwest::Method::GET, url), TOKEN_CAP)
            .await
            .unwrap_err();
        assert!(err.never_sent(), "{err}");
    }
}

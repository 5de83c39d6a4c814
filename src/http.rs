//! The one HTTP client every provider request goes through.

use std::time::Duration;

use crate::error::{Error, Result};

/// TLS is always verified (system roots plus the bundled Mozilla roots); redirects are never
/// followed, as oauth2-rs recommends, so a token request cannot be bounced elsewhere.
pub fn client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("pixie/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))
}

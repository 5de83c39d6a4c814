//! Signing out in the browser too (OpenID Connect RP-Initiated Logout 1.0): the provider's
//! `end_session_endpoint` is opened with `id_token_hint`, `client_id`, `state` and a
//! `post_logout_redirect_uri` on a loopback page, so the provider's own cookie session ends and
//! the next sign-in asks who you are.
//!
//! Prepared before [`Engine::logout`] forgets the session, because the ID token it needs as a
//! hint goes with it.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use url::Url;

use super::Engine;
use crate::discovery;
use crate::error::{Error, Result};
use crate::flow;
use crate::loopback::{Listener, Page};
use crate::profile::{ProfileName, Redirect};
use crate::secret::ExposeSecret;

/// Why the browser session cannot be ended from Pixie.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoBrowserLogout {
    /// The provider names no `end_session_endpoint`.
    NotOffered,
    /// No session is stored, so there is no ID token to say whose browser session to end.
    NotSignedIn,
}

/// A browser sign-out ready to open: the URL, and the loopback page the provider sends the
/// browser back to.
pub struct BrowserLogout {
    url: String,
    profile: ProfileName,
    listener: Listener,
}

impl std::fmt::Debug for BrowserLogout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL holds the ID token.
        f.debug_struct("BrowserLogout")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

/// The loopback page the provider returns the browser to.
const RETURN_PATH: &str = "/logged-out";

impl Engine {
    /// Prepares ending the provider's browser session for `name`. Call it before
    /// [`Engine::logout`], which forgets the ID token this needs.
    pub async fn prepare_browser_logout(
        &self,
        name: &str,
    ) -> Result<std::result::Result<BrowserLogout, NoBrowserLogout>> {
        let profile = self.profiles.get(name)?;
        let http = self.http(&profile)?;
        let provider = discovery::resolve(&http, &profile).await?;
        let Some(endpoint) = provider.optional.end_session.clone() else {
            return Ok(Err(NoBrowserLogout::NotOffered));
        };
        let Some(session) = self.session(&profile.name).await? else {
            return Ok(Err(NoBrowserLogout::NotSignedIn));
        };
        let redirect = Redirect {
            path: RETURN_PATH.to_owned(),
            ..profile.redirect.clone()
        };
        let state = flow::new_state();
        let listener = Listener::bind(&redirect, state.secret()).await?;
        let url = logout_url(
            endpoint,
            session
                .id_token
                .as_ref()
                .map(|t| t.jwt.expose_secret().to_owned()),
            &session.issued_by.client_id,
            listener.redirect_uri(),
            state.secret(),
        );
        Ok(Ok(BrowserLogout {
            url,
            profile: profile.name,
            listener,
        }))
    }
}

/// The end-session URL (RP-Initiated Logout 1.0 §2). The provider's own query is kept.
fn logout_url(
    mut endpoint: Url,
    id_token: Option<String>,
    client_id: &str,
    return_to: &str,
    state: &str,
) -> String {
    {
        let mut q = endpoint.query_pairs_mut();
        if let Some(hint) = &id_token {
            q.append_pair("id_token_hint", hint);
        }
        q.append_pair("client_id", client_id)
            .append_pair("post_logout_redirect_uri", return_to)
            .append_pair("state", state);
    }
    endpoint.to_string()
}

impl BrowserLogout {
    /// The URL to open in the browser. It carries the ID token as `id_token_hint`: open it,
    /// never print it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Waits until the provider sends the browser back (then shows a "signed out" page), or
    /// `timeout`, or `cancel`. `Ok(true)`: the provider confirmed; `Ok(false)`: no word in time
    /// (the person may still be on the provider's confirmation page).
    pub async fn wait(mut self, timeout: Duration, cancel: &CancellationToken) -> Result<bool> {
        let answer = self.listener.wait(timeout, cancel).await;
        let confirmed = match answer {
            Ok(cb) => {
                cb.responder.respond(Page::SignedOut {
                    profile: self.profile.to_string(),
                });
                true
            }
            Err(Error::Timeout(_)) => false,
            Err(e) => {
                self.listener.close().await;
                return Err(e);
            }
        };
        self.listener.close().await;
        Ok(confirmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logout_url_keeps_the_providers_query() {
        let url = logout_url(
            Url::parse("https://id.example/logout?tenant=x").unwrap(),
            Some("eyJ.a.b".into()),
            "cli ent",
            "http://127.0.0.1:5000/logged-out",
            "st",
        );
        let u = Url::parse(&url).unwrap();
        let q: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        assert_eq!(
            q,
            [
                ("tenant", "x"),
                ("id_token_hint", "eyJ.a.b"),
                ("client_id", "cli ent"),
                (
                    "post_logout_redirect_uri",
                    "http://127.0.0.1:5000/logged-out"
                ),
                ("state", "st"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }
}

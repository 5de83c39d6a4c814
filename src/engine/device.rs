//! Sign-in with the device grant (RFC 8628): the person enters a code on any other device
//! while Pixie polls; what the provider issues is then checked and stored as a browser
//! sign-in's is.

use std::time::{Duration, Instant};

use super::issued::{Issued, Waits};
use super::{Engine, LoginEvent, LoginOptions, LoginOutcome};
use crate::client_auth::ClientCredentials;
use crate::device;
use crate::discovery::ProviderInfo;
use crate::error::{Error, Result};
use crate::profile::{ClientAuth, Profile};
use crate::secret::SecretString;

impl Engine {
    pub(super) async fn login_device(
        &self,
        profile: &Profile,
        provider: &ProviderInfo,
        secret: Option<&SecretString>,
        opts: &LoginOptions,
    ) -> Result<LoginOutcome> {
        let Some(endpoint) = &provider.optional.device_authorization else {
            return Err(Error::ProviderError(
                "the provider does not offer the device grant (no device_authorization_endpoint); sign in with the browser or paste-back instead"
                    .into(),
            ));
        };
        let http = &self.http(profile)?;
        let creds = ClientCredentials {
            client_id: &profile.client_id,
            secret,
            secret_in_body: profile.client_auth == ClientAuth::Post,
        };
        let started = Instant::now();
        let auth = tokio::select! {
            biased;
            () = opts.cancel.cancelled() => return Err(Error::Cancelled),
            a = device::authorize(http, endpoint, creds, &profile.scopes, &profile.params) => a?,
        };
        if let Some(sink) = &opts.events {
            sink(&LoginEvent::DeviceCode {
                code: auth.shown.clone(),
            });
        }
        let deadline = tokio::time::Instant::now() + opts.timeout;
        let polled = device::poll(
            http,
            &provider.token_endpoint,
            creds,
            &auth,
            deadline,
            &opts.cancel,
        )
        .await;
        let response = match polled {
            Ok(r) => r,
            Err(Error::Timeout(_)) => return Err(Error::Timeout(opts.timeout.as_secs())),
            Err(e) => return Err(e),
        };
        if let Some(sink) = &opts.events {
            sink(&LoginEvent::CallbackReceived);
        }
        let received_at = Instant::now();
        let issued = Issued {
            profile,
            provider,
            secret,
            response: &response,
        };
        let waits = Waits {
            received_at,
            lock_and_write: self.lock_and_prepare(profile),
            cancel: &opts.cancel,
        };
        // Polling time is the person typing, not the provider: only the last poll counts.
        match self.keep_issued(&issued, None, Duration::ZERO, waits).await {
            Ok(outcome) => {
                tracing::debug!(
                    waited_ms = started.elapsed().as_millis() as u64,
                    "device sign-in stored"
                );
                Ok(outcome)
            }
            Err(e) => {
                self.revoke_issued(&issued).await;
                Err(e)
            }
        }
    }
}

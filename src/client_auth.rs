//! How Pixie's own form posts to a provider authenticate the client (RFC 6749 §2.3.1): the
//! revocation, device-authorization, device-token and pushed-authorization requests. The code
//! exchange and refresh go through `oauth2`, which does the same from the same profile settings.

use crate::secret::{ExposeSecret, SecretString};

/// Who the client is, and how its secret (if any) travels.
#[derive(Clone, Copy)]
pub(crate) struct ClientCredentials<'a> {
    pub client_id: &'a str,
    pub secret: Option<&'a SecretString>,
    /// `client_secret_post`: the secret goes in the form body instead of a Basic header.
    pub secret_in_body: bool,
}

impl<'a> ClientCredentials<'a> {
    /// Adds the client's identity to `form`, or a Basic header to `request`.
    pub fn apply(
        &self,
        request: reqwest::RequestBuilder,
        form: &mut Vec<(&'a str, &'a str)>,
    ) -> reqwest::RequestBuilder {
        match self.secret {
            Some(s) if self.secret_in_body => {
                form.push(("client_id", self.client_id));
                form.push(("client_secret", s.expose_secret()));
                request
            }
            // RFC 6749 §2.3.1: both halves are form-encoded before they are joined.
            Some(s) => request.basic_auth(
                form_encode(self.client_id),
                Some(form_encode(s.expose_secret())),
            ),
            None => {
                form.push(("client_id", self.client_id));
                request
            }
        }
    }
}

/// `application/x-www-form-urlencoded`, as RFC 6749 §2.3.1 wants for Basic credentials.
fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The `error` code of an OAuth error answer (RFC 6749 §5.2), if the body is one. Only the
/// code is ever reported, never the body, and only after it is made safe for a terminal.
pub(crate) fn oauth_error_code(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct OAuthError {
        error: String,
    }
    serde_json::from_slice::<OAuthError>(body)
        .ok()
        .map(|e| crate::text::terminal_safe(&e.error).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        assert_eq!(form_encode("client:1"), "client%3A1");
        assert_eq!(form_encode("s3 cr&t/+="), "s3+cr%26t%2F%2B%3D");
        assert_eq!(form_encode("plain-id_1.x"), "plain-id_1.x");
    }

    #[test]
    fn error_codes_are_read_but_nothing_else() {
        assert_eq!(
            oauth_error_code(br#"{"error":"slow_down","x":"tok"}"#).as_deref(),
            Some("slow_down")
        );
        assert_eq!(oauth_error_code(b"<html>"), None);
    }
}

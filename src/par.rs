//! Pushed authorization requests (RFC 9126): the authorization request goes to the provider
//! over a back channel, and the browser gets only `client_id` and an opaque `request_uri`. The
//! parameters then cannot be read or changed on the way, and long requests fit in a URL.

use url::Url;

use crate::client_auth::{oauth_error_code, ClientCredentials};
use crate::error::{Error, Result};
use crate::http::{Http, TOKEN_CAP};

const MAX_REQUEST_URI_LEN: usize = 2048;

/// Pushes the request that `authorization_url` carries and returns the URL to open instead.
pub(crate) async fn push(
    http: &Http,
    endpoint: &Url,
    creds: ClientCredentials<'_>,
    authorization_url: &Url,
) -> Result<Url> {
    let pairs: Vec<(String, String)> = authorization_url
        .query_pairs()
        .filter(|(k, _)| k != "client_id" && k != "client_secret")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut form: Vec<(&str, &str)> = Vec::new();
    let request = http
        .request(reqwest::Method::POST, endpoint.clone())
        .header("accept", "application/json");
    let request = creds.apply(request, &mut form);
    // With Basic credentials the body still names the client (RFC 9126 §2.1).
    if !form.iter().any(|(k, _)| *k == "client_id") {
        form.push(("client_id", creds.client_id));
    }
    form.extend(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let request = request.form(&form);
    let answer = http.send(request, TOKEN_CAP).await.map_err(|e| {
        Error::ProviderUnreachable(format!(
            "pushing the authorization request to {endpoint} failed: {e}"
        ))
    })?;
    if !answer.status().is_success() {
        return Err(Error::ProviderError(
            match oauth_error_code(answer.body()) {
                Some(code) => format!("the pushed authorization request was refused: {code}"),
                None => format!(
                    "the pushed authorization request to {endpoint} answered HTTP {}",
                    answer.status()
                ),
            },
        ));
    }
    let request_uri = parse_answer(answer.body())?;
    let mut url = authorization_url.clone();
    url.query_pairs_mut()
        .clear()
        .append_pair("client_id", creds.client_id)
        .append_pair("request_uri", &request_uri);
    Ok(url)
}

/// The `request_uri` of a PAR answer (RFC 9126 §2.2), bounded.
pub(crate) fn parse_answer(body: &[u8]) -> Result<String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        request_uri: String,
    }
    let a: Answer = serde_json::from_slice(body).map_err(|e| {
        Error::ProviderError(format!(
            "the pushed authorization answer is not valid ({:?} error)",
            e.classify()
        ))
    })?;
    if a.request_uri.is_empty()
        || a.request_uri.len() > MAX_REQUEST_URI_LEN
        || a.request_uri
            .chars()
            .any(|c| c.is_control() || crate::text::is_unsafe(c))
    {
        return Err(Error::ProviderError(format!(
            "the pushed authorization answer's request_uri is empty, longer than {MAX_REQUEST_URI_LEN} characters or holds control characters"
        )));
    }
    Ok(a.request_uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_uri_is_bounded() {
        assert_eq!(
            parse_answer(
                br#"{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":60}"#
            )
            .unwrap(),
            "urn:ietf:params:oauth:request_uri:abc"
        );
        assert!(parse_answer(br#"{"request_uri":""}"#).is_err());
        assert!(parse_answer(br#"{"request_uri":"a\nb"}"#).is_err());
        assert!(
            parse_answer(format!(r#"{{"request_uri":"{}"}}"#, "u".repeat(3000)).as_bytes())
                .is_err()
        );
        assert!(parse_answer(b"<html>").is_err());
    }
}

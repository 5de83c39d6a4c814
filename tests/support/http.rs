//! A tiny blocking HTTP client for talking to the provider (and what tests serve) directly.

/// A tiny blocking HTTP helper for talking to the provider from tests.
pub fn http(method: &str, url: &str, bearer: Option<&str>, form: &[(&str, &str)]) -> (u16, String) {
    request(
        method,
        url,
        |r| match bearer {
            Some(t) => r.bearer_auth(t),
            None => r,
        },
        form,
    )
}

/// A form POST with HTTP Basic client authentication.
pub fn http_basic(url: &str, user: &str, password: &str, form: &[(&str, &str)]) -> (u16, String) {
    request("POST", url, |r| r.basic_auth(user, Some(password)), form)
}

fn request(
    method: &str,
    url: &str,
    auth: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    form: &[(&str, &str)],
) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let req = match method {
            "POST" => client.post(url).form(form),
            _ => client.get(url),
        };
        let resp = auth(req).send().await.expect("http request");
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap_or_default())
    })
}

//! Sign-in end to end: the real `pixie` binary, a real OpenID Provider on loopback, the real
//! Secret Service, and a browser that really follows the provider's pages.

mod support;

use std::time::Duration;

use support::{eventually, Rig};

#[test]
fn sign_in_then_token_then_verified_claims() {
    let rig = Rig::new();
    rig.add_profile("work");
    let login = rig.login("work");
    assert!(
        login.stderr.contains("Signed in to `work` as alice"),
        "{}",
        login.stderr
    );

    // The refresh token is really in the keychain, and nowhere in the profile file.
    let session = rig.session("work").expect("session in the keychain");
    let rt = session["refresh_token"].as_str().unwrap();
    assert!(!rt.is_empty());
    let file = std::fs::read_to_string(rig.home.path().join("profiles.toml")).unwrap();
    assert!(!file.contains(rt));

    // `token` prints the bare token, which the provider accepts.
    let token = rig.token("work");
    assert!(!token.is_empty() && !token.contains(char::is_whitespace));
    let (status, body) = rig.idp.userinfo(&token);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""sub":"alice""#), "{body}");

    let header = rig
        .pixie(&["token", "work", "--format", "header"])
        .ok()
        .stdout;
    assert_eq!(header.trim(), format!("Authorization: Bearer {token}"));
    let json: serde_json::Value = serde_json::from_str(
        &rig.pixie(&["token", "work", "--format", "json"])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(json["access_token"], token.as_str());
    assert_eq!(json["token_type"], "Bearer");
    assert!(json["expires_in"].as_i64().unwrap() > 3000);
    assert!(json["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "email"));

    let claims: serde_json::Value =
        serde_json::from_str(&rig.pixie(&["claims", "work"]).ok().stdout).unwrap();
    assert_eq!(claims["verified"], true, "{claims}");
    assert_eq!(claims["claims"]["sub"], "alice");
    assert_eq!(claims["claims"]["iss"], rig.idp.issuer.as_str());
    assert_eq!(claims["claims"]["aud"], "pixie-test");

    let status = rig.pixie(&["status"]).ok().stdout;
    assert!(
        status.contains("signed in") && status.contains("alice"),
        "{status}"
    );

    // Cached: a second token call does not refresh.
    assert_eq!(rig.token("work"), token);
    assert_eq!(rig.idp.refresh_count(), 0);
}

#[test]
fn forged_callback_and_favicon_are_ignored_and_the_real_one_completes() {
    let rig = Rig::new();
    rig.add_profile("p");
    rig.run(
        &["login", "p", "--timeout", "30"],
        &[("PIXIE_TEST_SCENARIO", "favicon,forged")],
    )
    .ok();
    assert_eq!(rig.step("favicon").unwrap()["status"], 404);
    let forged = rig.step("forged").unwrap();
    assert_eq!(forged["status"], 400, "{forged}");
    let cb = rig.step("callback").unwrap();
    assert_eq!(cb["status"], 200);
    assert!(
        cb["body"].as_str().unwrap().contains("signed in to p"),
        "{cb}"
    );
    assert!(rig.session("p").is_some());
}

#[test]
fn access_denied_is_a_clear_failure() {
    let rig = Rig::new();
    rig.add_profile("p");
    let out = rig.run(
        &["login", "p", "--timeout", "30"],
        &[("PIXIE_TEST_SCENARIO", "deny")],
    );
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("refused by the provider: access_denied"),
        "{}",
        out.stderr
    );
    // The browser tab is told too.
    let cb = rig.step("callback").unwrap();
    assert!(
        cb["body"].as_str().unwrap().contains("access_denied"),
        "{cb}"
    );
    assert!(rig.session("p").is_none());
}

#[test]
fn closed_browser_times_out_and_frees_the_port() {
    let rig = Rig::new();
    rig.add_profile("p");
    let out = rig.run(
        &["login", "p", "--timeout", "2"],
        &[("PIXIE_TEST_SCENARIO", "hang")],
    );
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(out.stderr.contains("timed out after 2 s"), "{}", out.stderr);
    let url = rig.step("authorize").unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let redirect = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .unwrap()
        .1
        .into_owned();
    let port = url::Url::parse(&redirect).unwrap().port().unwrap();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "listener closed"
    );
}

#[test]
fn mismatched_iss_is_rejected() {
    let rig = Rig::new();
    rig.add_profile("p");
    let out = rig.run(
        &["login", "p", "--timeout", "30"],
        &[("PIXIE_TEST_SCENARIO", "wrong-iss")],
    );
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(out.stderr.contains("mix-up"), "{}", out.stderr);
    assert!(rig.session("p").is_none());
}

#[test]
fn sign_in_through_real_headless_chromium() {
    let rig = Rig::new();
    rig.add_profile("p");
    let browser = format!(
        "node {}",
        support::idp_dir().join("chromium-browser.mjs").display()
    );
    rig.run(
        &["login", "p", "--timeout", "60"],
        &[("BROWSER", &browser), ("PIXIE_TEST_LOGIN", "carol")],
    )
    .ok();
    let cb = rig.step("callback").expect("chromium reached the loopback");
    assert!(
        cb["body"].as_str().unwrap().contains("signed in to p"),
        "{cb}"
    );
    let claims: serde_json::Value =
        serde_json::from_str(&rig.pixie(&["claims", "p"]).ok().stdout).unwrap();
    assert_eq!(claims["claims"]["sub"], "carol");
    assert_eq!(claims["verified"], true);
}

#[test]
fn plain_oauth_with_explicit_endpoints_has_no_id_token() {
    let rig = Rig::new();
    let meta = rig.idp.metadata();
    rig.pixie(&[
        "profile",
        "add",
        "plain",
        "--auth-url",
        meta["authorization_endpoint"].as_str().unwrap(),
        "--token-url",
        meta["token_endpoint"].as_str().unwrap(),
        "--client-id",
        "pixie-test",
        "--scope",
        "offline_access profile",
    ])
    .ok();
    rig.login("plain");
    let token = rig.token("plain");
    assert!(!token.is_empty());
    let out = rig.pixie(&["claims", "plain"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no ID token"), "{}", out.stderr);
}

#[test]
fn fixed_port_in_use_is_a_clear_error() {
    let rig = Rig::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    rig.pixie(&[
        "profile",
        "add",
        "p",
        "--issuer",
        &rig.idp.issuer,
        "--client-id",
        "pixie-test",
        "--redirect-uri",
        &format!("http://127.0.0.1:{port}/callback"),
    ])
    .ok();
    let out = rig.pixie(&["login", "p", "--timeout", "5"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("port {port} is already in use")),
        "{}",
        out.stderr
    );
    // With the port free, the same profile signs in on exactly that port.
    drop(taken);
    rig.login("p");
    let url = rig.step("authorize").unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        url.contains(&format!("127.0.0.1%3A{port}%2Fcallback")),
        "{url}"
    );
}

#[test]
fn confidential_client_secret_lives_in_the_keychain_only() {
    let rig = Rig::new();
    rig.add_confidential(
        "conf",
        "pixie-confidential",
        "pixie-confidential-secret",
        &[],
        &[],
    )
    .ok();
    assert_eq!(
        rig.keychain("client-secret:conf").as_deref(),
        Some("1:pixie-confidential-secret")
    );
    let file = std::fs::read_to_string(rig.home.path().join("profiles.toml")).unwrap();
    assert!(!file.contains("pixie-confidential-secret"), "{file}");
    assert!(file.contains("client_secret_in_keychain = true"), "{file}");
    rig.login_due("conf");

    // This provider does not rotate confidential clients' refresh tokens; a refresh keeps it.
    let rt = rig.stored_refresh_token("conf");
    let before = rig.idp.refresh_count();
    rig.pixie(&["token", "conf"]).ok();
    assert_eq!(rig.idp.refresh_count(), before + 1);
    assert_eq!(rig.stored_refresh_token("conf"), rt);

    // Removing the profile removes its keychain entries.
    rig.pixie(&["profile", "remove", "conf"]).ok();
    assert!(rig.keychain("client-secret:conf").is_none());
    assert!(rig.keychain("session:conf").is_none());
}

#[test]
fn client_secret_post_is_used_for_exchange_refresh_and_revocation() {
    let rig = Rig::new();
    rig.add_confidential(
        "post",
        "pixie-post",
        "pixie-post-secret",
        &["--client-auth", "client_secret_post"],
        &[],
    )
    .ok();
    rig.login_due("post");
    let before = rig.idp.refresh_count();
    rig.pixie(&["token", "post"]).ok();
    assert_eq!(rig.idp.refresh_count(), before + 1);
    let rt = rig.stored_refresh_token("post");
    let out = rig.pixie(&["logout", "post"]).ok();
    assert!(out.stderr.contains("provider revoked"), "{}", out.stderr);
    let (code, body) = rig
        .idp
        .refresh_raw("pixie-post", Some("pixie-post-secret"), &rt);
    assert_eq!(code, 400, "{body}");
}

#[test]
fn login_wait_can_be_interrupted() {
    let rig = Rig::new();
    rig.add_profile("p");
    let mut cmd = rig.command(&["login", "p", "--timeout", "60"]);
    cmd.env("PIXIE_TEST_SCENARIO", "hang")
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    assert!(eventually(Duration::from_secs(10), || rig
        .step("authorize")
        .is_some()));
    std::thread::sleep(Duration::from_millis(200));
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cancelled"));
}

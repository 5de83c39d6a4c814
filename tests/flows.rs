//! Sign-in flows beyond the plain loopback redirect, against the real provider: pushed
//! authorization requests (RFC 9126), the device grant (RFC 8628), paste-back and `--flow auto`.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{Idp, Rig};

fn query_keys(url: &str) -> BTreeSet<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .collect()
}

#[test]
fn a_provider_that_requires_par_gets_a_pushed_request() {
    let rig = Rig::with(Idp::start_with(&["--require-par"]));
    rig.add_profile("par");
    rig.login("par");
    assert_eq!(rig.idp.stats()["par"], 1, "one pushed request");
    // The browser carried only an opaque reference: no scope, state or challenge to read.
    let authorize = rig.step("authorize").expect("the browser was opened");
    let keys = query_keys(authorize["url"].as_str().unwrap());
    assert_eq!(
        keys,
        BTreeSet::from(["client_id".to_owned(), "request_uri".to_owned()])
    );
    let token = rig.token("par");
    assert_eq!(rig.idp.userinfo(&token).0, 200);
}

#[test]
fn a_confidential_client_authenticates_its_push() {
    let rig = Rig::with(Idp::start_with(&["--par"]));
    rig.add_confidential(
        "par-basic",
        "pixie-confidential",
        "pixie-confidential-secret",
        &["--scope", "openid offline_access"],
        &[],
    )
    .ok();
    rig.login("par-basic");
    rig.add_confidential(
        "par-post",
        "pixie-post",
        "pixie-post-secret",
        &[
            "--scope",
            "openid offline_access",
            "--client-auth",
            "client_secret_post",
        ],
        &[],
    )
    .ok();
    rig.login("par-post");
    assert_eq!(rig.idp.stats()["par"], 2);
}

/// A running `pixie login` whose stderr is read line by line as it comes.
struct Running {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: String,
}

impl Running {
    fn start(rig: &Rig, args: &[&str], env: &[(&str, &str)], stdin: bool) -> Self {
        let mut c = rig.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        if stdin {
            c.stdin(Stdio::piped());
        }
        let mut child = c
            .stderr(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Self {
            child,
            lines,
            seen: String::new(),
        }
    }

    /// The first whitespace-separated word on stderr that starts with `prefix`.
    fn word(&mut self, prefix: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no `{prefix}` on stderr; so far:\n{}", self.seen));
            self.seen.push_str(&line);
            self.seen.push('\n');
            if let Some(w) = line.split_whitespace().find(|w| w.starts_with(prefix)) {
                return w.to_owned();
            }
        }
    }

    fn finish(mut self) -> (i32, String) {
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push_str(&line);
            self.seen.push('\n');
        }
        (status.code().unwrap_or(-1), self.seen)
    }
}

/// The scripted person at another device: `browser.mjs` on the given URL.
fn person(rig: &Rig, url: &str, scenario: &str) {
    let status = Command::new("node")
        .arg(support::idp_dir().join("browser.mjs"))
        .arg(url)
        .env("PIXIE_TEST_BROWSER_LOG", rig.browser_log())
        .env("PIXIE_TEST_SCENARIO", scenario)
        .status()
        .unwrap();
    assert!(status.success(), "the scripted person failed");
}

/// `pixie login dev --flow device` with the scripted person entering the code as `scenario`
/// says: the link it was shown, the exit code and stderr.
fn device_sign_in(rig: &Rig, scenario: &str) -> (String, i32, String) {
    rig.add_profile("dev");
    let mut run = Running::start(
        rig,
        &["login", "dev", "--flow", "device", "--timeout", "60"],
        &[],
        false,
    );
    let link = run.word(&format!("{}/device?user_code=", rig.idp.issuer));
    person(rig, &link, scenario);
    let (code, stderr) = run.finish();
    (link, code, stderr)
}

#[test]
fn a_device_sign_in_with_a_scripted_person() {
    let rig = Rig::new();
    let (link, code, stderr) = device_sign_in(&rig, "");
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Signed in to `dev` as alice"), "{stderr}");
    assert!(rig.step("device-done").is_some());
    assert_eq!(rig.idp.stats()["device_code"], 1);
    // Nothing was opened on this machine.
    assert!(rig
        .step("authorize")
        .is_some_and(|s| s["url"] == link.as_str()));
    let token = rig.token("dev");
    assert_eq!(rig.idp.userinfo(&token).0, 200);
    // The session refreshes like any other.
    assert!(rig.stored_refresh_token("dev").len() > 10);
}

#[test]
fn a_declined_device_code_ends_the_sign_in() {
    let rig = Rig::new();
    let (_, code, stderr) = device_sign_in(&rig, "device-deny");
    assert_eq!(code, 7, "{stderr}");
    assert!(stderr.contains("access_denied"), "{stderr}");
    assert!(rig.session("dev").is_none());
}

#[test]
fn auto_picks_the_device_grant_in_an_ssh_session() {
    let rig = Rig::new();
    rig.add_profile("dev");
    let out = rig.run(
        &["login", "dev", "--timeout", "1"],
        &[
            ("BROWSER", ""),
            ("SSH_CONNECTION", "10.0.0.1 5000 10.0.0.2 22"),
        ],
    );
    assert!(
        out.stderr
            .contains("Signing in with the device flow: this is an SSH session."),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("/device?user_code="), "{}", out.stderr);
    assert!(rig.step("authorize").is_none(), "no browser was started");
}

#[test]
fn auto_picks_paste_back_without_a_display_or_device_grant() {
    let rig = Rig::new();
    // Explicit endpoints: no discovery, so no device grant on offer.
    let i = &rig.idp.issuer;
    rig.pixie(&[
        "profile",
        "add",
        "plain",
        "--auth-url",
        &format!("{i}/auth"),
        "--token-url",
        &format!("{i}/token"),
        "--client-id",
        "pixie-test",
        "--scope",
        "offline_access",
    ])
    .ok();
    let out = rig.run(
        &["login", "plain", "--timeout", "1"],
        &[("BROWSER", ""), ("DISPLAY", ""), ("WAYLAND_DISPLAY", "")],
    );
    assert!(
        out.stderr
            .contains("Signing in with the paste flow: no graphical session"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("paste it here"), "{}", out.stderr);
    assert!(rig.step("authorize").is_none(), "no browser was started");
}

#[test]
fn paste_back_takes_the_address_from_another_machine() {
    let rig = Rig::new();
    rig.add_profile("remote");
    let mut run = Running::start(
        &rig,
        &["login", "remote", "--no-browser", "--timeout", "60"],
        &[],
        true,
    );
    let url = run.word(&format!("{}/auth?", rig.idp.issuer));
    person(&rig, &url, "remote");
    let landed = rig.step("landed").expect("the browser landed")["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut stdin = run.child.stdin.take().unwrap();
    // A wrong paste first: another sign-in's answer is refused, and the wait goes on.
    let forged = landed.replace("state=", "state=x");
    writeln!(stdin, "{forged}").unwrap();
    run.word("Not");
    writeln!(stdin, "  {landed}  ").unwrap();
    drop(stdin);
    let (code, stderr) = run.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("belongs to another sign-in"), "{stderr}");
    assert!(
        stderr.contains("Signed in to `remote` as alice"),
        "{stderr}"
    );
    let token = rig.token("remote");
    assert_eq!(rig.idp.userinfo(&token).0, 200);
}

#[test]
fn a_pasted_answer_from_another_issuer_is_refused() {
    let rig = Rig::new();
    rig.add_profile("remote");
    let mut run = Running::start(
        &rig,
        &["login", "remote", "--flow", "paste", "--timeout", "60"],
        &[],
        true,
    );
    let url = run.word(&format!("{}/auth?", rig.idp.issuer));
    person(&rig, &url, "remote");
    let landed = rig.step("landed").unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut u = url::Url::parse(&landed).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != "iss")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    u.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair("iss", "https://evil.example");
    let mut stdin = run.child.stdin.take().unwrap();
    writeln!(stdin, "{u}").unwrap();
    drop(stdin);
    let (code, stderr) = run.finish();
    assert_eq!(code, 7, "{stderr}");
    assert!(stderr.contains("mix-up"), "{stderr}");
    assert!(rig.session("remote").is_none());
}

#[test]
fn a_pinned_profile_refuses_another_account_and_stores_nothing() {
    let rig = Rig::new();
    rig.add_profile("bob");
    rig.pixie(&[
        "profile",
        "edit",
        "bob",
        "--expect-email",
        "Bob@example.test",
    ])
    .ok();
    // The scripted browser signs in as alice.
    let out = rig.run(&["login", "bob", "--timeout", "30"], &[]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(
        out.stderr.contains("is for email Bob@example.test")
            && out.stderr.contains("alice@example.test"),
        "{}",
        out.stderr
    );
    assert!(rig.session("bob").is_none(), "nothing stored");
    // What the provider issued for the wrong account was revoked.
    assert_eq!(rig.idp.stats()["revocations"], 1);
    // The expected account was offered to the provider.
    let authorize = rig.step("authorize").unwrap();
    let url = url::Url::parse(authorize["url"].as_str().unwrap()).unwrap();
    assert!(url
        .query_pairs()
        .any(|(k, v)| k == "login_hint" && v == "Bob@example.test"));
    // The right account signs in (email compared without case).
    rig.run(
        &["login", "bob", "--timeout", "30"],
        &[("PIXIE_TEST_LOGIN", "bob")],
    )
    .ok();
    assert!(rig.session("bob").is_some());

    rig.add_profile("alice");
    rig.pixie(&["profile", "edit", "alice", "--expect-sub", "alice"])
        .ok();
    rig.login("alice");
}

#[test]
fn a_profile_can_default_to_the_device_flow() {
    let rig = Rig::new();
    rig.add_profile("dev");
    rig.pixie(&["profile", "edit", "dev", "--sign-in-flow", "device"])
        .ok();
    let out = rig.run(&["login", "dev", "--timeout", "1"], &[]);
    assert!(
        out.stderr
            .contains("Signing in with the device flow: the profile's setting."),
        "{}",
        out.stderr
    );
    assert!(rig.step("authorize").is_none(), "no browser was started");
    let bad = rig.run(
        &["profile", "edit", "dev", "--sign-in-flow", "carrier-pigeon"],
        &[],
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("unknown sign-in flow"),
        "{}",
        bad.stderr
    );
}

#[test]
fn logout_can_end_the_providers_browser_session() {
    let rig = Rig::new();
    rig.add_profile("web");
    rig.login("web");
    let out = rig.pixie(&["logout", "web", "--browser"]).ok();
    assert!(
        out.stderr.contains("Signed out in the browser too."),
        "{}",
        out.stderr
    );
    assert_eq!(rig.idp.stats()["end_sessions"], 1);
    assert_eq!(rig.idp.stats()["revocations"], 1);
    assert!(rig.session("web").is_none());
    // The end-session request named the session's ID token and a loopback return page; the URL
    // (it holds the ID token) was opened, never printed.
    let opened = rig
        .browser_steps()
        .into_iter()
        .rfind(|s| s["step"] == "authorize")
        .unwrap();
    let url = url::Url::parse(opened["url"].as_str().unwrap()).unwrap();
    let keys: BTreeSet<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    for k in [
        "id_token_hint",
        "client_id",
        "post_logout_redirect_uri",
        "state",
    ] {
        assert!(keys.contains(k), "{k} missing from {url}");
    }
    assert!(!out.stderr.contains("id_token_hint"), "{}", out.stderr);

    // The profile's setting does the same without the flag; signed out already, nothing to do.
    rig.pixie(&["profile", "edit", "web", "--browser-logout", "true"])
        .ok();
    rig.login("web");
    let out = rig.pixie(&["logout", "web"]).ok();
    assert!(
        out.stderr.contains("Signed out in the browser too."),
        "{}",
        out.stderr
    );
    assert_eq!(rig.idp.stats()["end_sessions"], 2);
    let out = rig.pixie(&["logout", "web"]).ok();
    assert!(!out.stderr.contains("browser too"), "{}", out.stderr);
}

#[test]
fn logout_revokes_the_access_token_when_there_is_no_refresh_token() {
    let rig = Rig::new();
    rig.pixie(&[
        "profile",
        "add",
        "short",
        "--issuer",
        &rig.idp.issuer,
        "--client-id",
        "pixie-test",
        "--scope",
        "openid",
    ])
    .ok();
    rig.login("short");
    let token = rig.token("short");
    assert_eq!(rig.idp.userinfo(&token).0, 200);
    let out = rig.pixie(&["logout", "short"]).ok();
    assert!(!out.stderr.contains("not signed in"), "{}", out.stderr);
    assert_eq!(rig.idp.stats()["revocations"], 1);
    assert_eq!(rig.idp.userinfo(&token).0, 401, "the access token is dead");
}

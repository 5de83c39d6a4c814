//! TLS with a private CA, and an HTTP proxy, for real: the test provider served over https with
//! a certificate from a CA made here by openssl, and Debian's tinyproxy on loopback.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{eventually, make_ca, Idp, Rig};

/// A rig whose provider speaks https with a certificate from a fresh private CA.
fn tls_rig() -> (Rig, tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_ca(dir.path());
    let idp = Idp::start_with(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(idp.issuer.starts_with("https://127.0.0.1:"));
    (Rig::with(idp), dir, ca)
}

fn add(rig: &Rig, name: &str, extra: &[&str]) {
    let mut args = vec![
        "profile",
        "add",
        name,
        "--issuer",
        &rig.idp.issuer,
        "--client-id",
        "pixie-test",
    ];
    args.extend_from_slice(extra);
    rig.pixie(&args).ok();
}

#[test]
fn an_untrusted_certificate_is_a_clear_provider_error() {
    let (rig, _dir, _ca) = tls_rig();
    add(&rig, "corp", &[]);
    let out = rig.run(&["login", "corp", "--timeout", "10"], &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the TLS certificate of 127.0.0.1 is not trusted"),
        "{}",
        out.stderr
    );
    assert!(rig.step("authorize").is_none(), "nothing was opened");
}

#[test]
fn the_system_trust_store_can_name_the_company_ca() {
    let (rig, _dir, ca) = tls_rig();
    add(&rig, "corp", &[]);
    let ca = ca.to_str().unwrap();
    // SSL_CERT_FILE for Pixie; NODE_EXTRA_CA_CERTS for the scripted browser.
    let env = [("SSL_CERT_FILE", ca), ("NODE_EXTRA_CA_CERTS", ca)];
    rig.run(&["login", "corp", "--timeout", "30"], &env).ok();
    // A refresh goes over TLS too.
    rig.idp.control("/ttl?access=2");
    rig.run(&["login", "corp", "--timeout", "30"], &env).ok();
    rig.idp.control("/ttl?access=3600");
    std::thread::sleep(Duration::from_millis(1100));
    let before = rig.idp.refresh_count();
    rig.run(&["token", "corp"], &env).ok();
    assert_eq!(rig.idp.refresh_count(), before + 1);
}

/// tinyproxy on a free loopback port, logging each request to `log`.
struct Proxy {
    child: Child,
    url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Proxy {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let log = dir.path().join("tinyproxy.log");
        let conf = dir.path().join("tinyproxy.conf");
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogFile \"{}\"\nLogLevel Connect\n\
                 MaxClients 20\nAllow 127.0.0.1\n",
                log.display()
            ),
        )
        .unwrap();
        let child = Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tinyproxy (installed by scripts/setup)");
        assert!(
            eventually(Duration::from_secs(10), || std::net::TcpStream::connect((
                "127.0.0.1",
                port
            ))
            .is_ok()),
            "tinyproxy did not start"
        );
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        }
    }

    fn seen(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn https_goes_through_the_proxy_named_by_https_proxy() {
    let (rig, _dir, ca) = tls_rig();
    let proxy = Proxy::start();
    add(&rig, "corp", &[]);
    let ca = ca.to_str().unwrap();
    let env = [
        ("SSL_CERT_FILE", ca),
        ("NODE_EXTRA_CA_CERTS", ca),
        ("HTTPS_PROXY", proxy.url.as_str()),
        ("NO_PROXY", ""),
    ];
    rig.run(&["login", "corp", "--timeout", "30"], &env).ok();
    let port = rig.idp.port.to_string();
    let seen = proxy.seen();
    assert!(
        seen.contains(&format!("CONNECT 127.0.0.1:{port}")),
        "the proxy saw no tunnel to the provider:\n{seen}"
    );
}

#[test]
fn no_proxy_sends_the_provider_past_the_proxy() {
    let rig = Rig::new();
    let proxy = Proxy::start();
    rig.add_profile("direct");
    rig.run(
        &["login", "direct", "--timeout", "30"],
        &[
            ("HTTP_PROXY", proxy.url.as_str()),
            ("NO_PROXY", "127.0.0.1"),
        ],
    )
    .ok();
    assert!(
        !proxy.seen().contains("Request"),
        "NO_PROXY was ignored:\n{}",
        proxy.seen()
    );
    // Without NO_PROXY the same requests go through it.
    let port = rig.idp.port.to_string();
    rig.run(
        &["login", "direct", "--timeout", "30"],
        &[("HTTP_PROXY", proxy.url.as_str()), ("NO_PROXY", "")],
    )
    .ok();
    let seen = proxy.seen();
    assert!(
        seen.contains(&format!("http://127.0.0.1:{port}/")),
        "the proxy saw no request to the provider:\n{seen}"
    );
}

#[test]
fn a_profile_can_trust_its_own_ca_file() {
    let (rig, _dir, ca) = tls_rig();
    let ca_text = ca.to_str().unwrap();
    add(&rig, "corp", &["--ca-file", ca_text]);
    let shown = rig.pixie(&["profile", "show", "corp"]).ok().stdout;
    assert!(shown.contains(ca_text), "{shown}");
    rig.run(
        &["login", "corp", "--timeout", "30"],
        &[("NODE_EXTRA_CA_CERTS", ca_text)],
    )
    .ok();
    // Sign-out revokes through the same trust.
    let before = rig.idp.stats()["revocations"].as_u64().unwrap();
    rig.pixie(&["logout", "corp"]).ok();
    assert_eq!(rig.idp.stats()["revocations"], before + 1);

    // A file that holds no certificate is refused with the file named, before any request.
    let junk = rig.scratch.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    add(&rig, "junk", &["--ca-file", junk.to_str().unwrap()]);
    let out = rig.run(&["login", "junk", "--timeout", "10"], &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("junk.pem"), "{}", out.stderr);
    // A relative path is refused in the profile file, so the CLI makes it absolute.
    let out = rig.run(&["profile", "edit", "junk", "--ca-file", "ca.pem"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let shown = rig.pixie(&["profile", "show", "junk"]).ok().stdout;
    assert!(!shown.contains("\"ca.pem\""), "{shown}");
}

//! Bad input and broken surroundings: each gives a clear error, a documented exit code, and
//! loses nothing.

mod support;

use support::Rig;

#[test]
fn absent_keychain_is_a_clear_error_before_the_browser_opens() {
    let rig = Rig::new();
    rig.add_profile("p");
    let no_bus = [("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")];
    let out = rig.run(&["login", "p", "--timeout", "10"], &no_bus);
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(
        out.stderr.contains("keychain unavailable"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("Secret Service"), "{}", out.stderr);
    assert!(rig.step("authorize").is_none(), "no browser was opened");

    let out = rig.run(&["token", "p"], &no_bus);
    assert_eq!(out.code, 5, "{}", out.stderr);

    // A profile whose secret cannot be stored is not created.
    let out = rig.add_confidential("conf", "pixie-confidential", "s3cret", &[], &no_bus);
    assert_eq!(out.code, 5, "{}", out.stderr);
    let list = rig.pixie(&["profile", "list"]).ok().stdout;
    assert!(!list.contains("conf"), "{list}");
    let file = std::fs::read_to_string(rig.home.path().join("profiles.toml")).unwrap();
    assert!(!file.contains("s3cret"));
}

#[test]
fn locked_keychain_is_a_clear_error() {
    let rig = Rig::new();
    rig.add_profile("p");
    // A keyring created (and so unlocked) in one D-Bus session, then served locked in another.
    let data = tempfile::tempdir().unwrap();
    let script = format!(
        r#"set -e
export XDG_DATA_HOME={data} XDG_RUNTIME_DIR=$(mktemp -d)
wait_owner() {{ for _ in $(seq 100); do dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true && return 0; sleep 0.1; done; return 1; }}
if [ "$1" = create ]; then
  printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
else
  gnome-keyring-daemon --start --components=secrets >/dev/null
fi
wait_owner
if [ "$1" = create ]; then
  printf '1:{{}}' | secret-tool store --label=x service "$PIXIE_KEYRING_SERVICE" username session:p
  pkill -f "gnome-keyring-daemon.*$XDG_RUNTIME_DIR" || true
else
  exec {pixie} token p
fi"#,
        data = data.path().display(),
        pixie = support::PIXIE,
    );
    let run = |mode: &str| {
        let mut c = std::process::Command::new("dbus-run-session");
        c.args(["--", "bash", "-c", &script, "bash", mode])
            // The bus's own service directories too: not with-keyring's unlocked successor.
            .env("XDG_DATA_HOME", data.path())
            .env("PIXIE_HOME", rig.home.path())
            .env("PIXIE_KEYRING_SERVICE", &rig.service)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("GNOME_KEYRING_CONTROL");
        c.output().unwrap()
    };
    let created = run("create");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let out = run("use");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("locked"), "{stderr}");
}

#[test]
fn corrupt_profile_file_is_reported_and_left_untouched() {
    let rig = Rig::new();
    rig.add_profile("p");
    let path = rig.home.path().join("profiles.toml");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"\n[[profiles]\nname = \"broken\n");
    std::fs::write(&path, &bytes).unwrap();

    for args in [
        vec!["profile", "list"],
        vec!["token", "p"],
        vec!["login", "p"],
        vec![
            "profile",
            "add",
            "q",
            "--issuer",
            "https://id.example.com",
            "--client-id",
            "c",
        ],
        vec!["profile", "remove", "p"],
    ] {
        let out = rig.pixie(&args);
        assert_eq!(out.code, 6, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("profiles.toml is corrupt"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("line"), "{}", out.stderr);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{args:?} changed the file"
        );
    }
    assert_eq!(
        std::fs::read(rig.home.path().join("profiles.toml.corrupt")).unwrap(),
        bytes,
        "a copy is kept"
    );
}

#[test]
fn usage_and_lookup_errors_have_their_exit_codes() {
    let rig = Rig::new();
    let completions = rig.pixie(&["completions", "bash"]).ok().stdout;
    assert!(completions.contains("pixie"), "{completions}");
    assert_eq!(rig.pixie(&["token"]).code, 2);
    assert_eq!(rig.pixie(&["frobnicate"]).code, 2);
    let out = rig.pixie(&["token", "nope"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("no profile named `nope`"),
        "{}",
        out.stderr
    );
    let out = rig.pixie(&[
        "profile",
        "add",
        "x",
        "--issuer",
        "http://id.example.com",
        "--client-id",
        "c",
    ]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("must use https"), "{}", out.stderr);
    rig.add_profile("p");
    let out = rig.pixie(&["token", "p"]);
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("not signed in"), "{}", out.stderr);
}

#[test]
fn provider_down_at_sign_in_is_a_clear_error() {
    let rig = Rig::new();
    rig.add_profile("p");
    rig.idp.control("/down");
    let out = rig.pixie(&["login", "p", "--timeout", "10"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("provider unreachable"),
        "{}",
        out.stderr
    );
    rig.idp.control("/up");
}

#[test]
fn profiles_export_and_import_round_trip_without_secrets() {
    let rig = Rig::new();
    rig.add_profile("a");
    rig.pixie(&[
        "profile",
        "add",
        "b",
        "--issuer",
        &rig.idp.issuer,
        "--client-id",
        "x",
        "--param",
        "audience=api",
    ])
    .ok();
    let export = rig.pixie(&["profile", "export"]).ok().stdout;
    let doc: serde_json::Value = serde_json::from_str(&export).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["profiles"].as_array().unwrap().len(), 2);
    assert_eq!(doc["profiles"][1]["params"]["audience"], "api");

    let other = Rig::new();
    let file = other.scratch.path().join("export.json");
    std::fs::write(&file, &export).unwrap();
    other
        .pixie(&["profile", "import", file.to_str().unwrap()])
        .ok();
    let again = other.pixie(&["profile", "import", file.to_str().unwrap()]);
    assert_eq!(again.code, 2, "duplicates refused: {}", again.stderr);
    other
        .pixie(&["profile", "import", file.to_str().unwrap(), "--replace"])
        .ok();
    assert_eq!(other.pixie(&["profile", "export"]).ok().stdout, export);
}

#[test]
fn an_unreadable_stored_session_can_still_be_signed_out() {
    let rig = Rig::new();
    rig.add_profile("p");
    rig.add_profile("q");
    for damaged in [
        &b"1:{\"access_token\": 42, \"secret\": \"SENSITIVE\"}"[..],
        b"1c:deadbeef:2",
        b"something else",
    ] {
        rig.store_keychain("session:p", damaged);
        let out = rig.pixie(&["token", "p"]);
        assert_eq!(out.code, 5, "{}", out.stderr);
        assert!(out.stderr.contains("unreadable"), "{}", out.stderr);
        assert!(!out.stderr.contains("SENSITIVE"), "{}", out.stderr);
        // One damaged profile does not break the overview of the others.
        let status = rig.pixie(&["status"]).ok().stdout;
        assert!(
            status.contains("sign-in required") && status.contains("q "),
            "{status}"
        );
        let out = rig.pixie(&["logout", "p"]).ok();
        assert!(
            out.stderr.contains("unreadable; it was deleted"),
            "{}",
            out.stderr
        );
        assert!(rig.keychain("session:p").is_none());
    }
}

#[test]
fn imports_carry_no_browser_command_or_secret_unless_safe() {
    let rig = Rig::new();
    let doc = serde_json::json!({
        "version": 1,
        "profiles": [{
            "name": "x", "issuer": rig.idp.issuer, "client_id": "pixie-confidential",
            "client_secret_in_keychain": true, "browser": "touch /tmp/pwned"
        }]
    });
    let file = rig.scratch.path().join("in.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = rig
        .pixie(&["profile", "import", file.to_str().unwrap()])
        .ok();
    assert!(
        out.stderr.contains("browser command was not imported"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("needs its client secret"),
        "{}",
        out.stderr
    );
    let shown: serde_json::Value =
        serde_json::from_str(&rig.pixie(&["profile", "show", "x"]).ok().stdout).unwrap();
    assert!(shown.get("browser").is_none(), "{shown}");
    assert!(shown.get("client_secret_in_keychain").is_none(), "{shown}");
    rig.pixie(&[
        "profile",
        "import",
        file.to_str().unwrap(),
        "--replace",
        "--allow-browser-command",
    ])
    .ok();
    let shown: serde_json::Value =
        serde_json::from_str(&rig.pixie(&["profile", "show", "x"]).ok().stdout).unwrap();
    assert_eq!(shown["browser"], "touch /tmp/pwned");
}

#[test]
fn pointing_a_profile_elsewhere_drops_its_client_secret() {
    let rig = Rig::new();
    rig.add_confidential(
        "c",
        "pixie-confidential",
        "pixie-confidential-secret",
        &[],
        &[],
    )
    .ok();
    // Same provider and client: the secret stays.
    rig.pixie(&["profile", "edit", "c", "--scope", "openid"])
        .ok();
    assert!(rig.keychain("client-secret:c").is_some());
    // Another provider: the secret is not sent there; it is deleted.
    let out = rig
        .pixie(&[
            "profile",
            "edit",
            "c",
            "--issuer",
            "https://other.example.com",
        ])
        .ok();
    assert!(
        out.stderr.contains("client secret was deleted"),
        "{}",
        out.stderr
    );
    assert!(rig.keychain("client-secret:c").is_none());
}

#[test]
fn sign_out_after_pointing_the_profile_elsewhere_sends_no_secret_to_the_old_provider() {
    let rig = Rig::new();
    rig.add_confidential(
        "c",
        "pixie-confidential",
        "pixie-confidential-secret",
        &[],
        &[],
    )
    .ok();
    rig.login("c");
    let rt = rig.stored_refresh_token("c");
    let edit = [
        "profile",
        "edit",
        "c",
        "--issuer",
        "https://other.example.com",
        "--client-secret-stdin",
    ];
    rig.pixie_with_stdin(&edit, &[], b"another-providers-secret\n")
        .ok();
    let out = rig.pixie(&["logout", "c"]).ok();
    assert!(
        out.stderr.contains("old client secret is gone"),
        "{}",
        out.stderr
    );
    assert!(rig.session("c").is_none());
    // Nothing was revoked with the wrong credentials: the grant is still there at the provider.
    let url = rig.idp.metadata()["token_endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, body) = support::http_basic(
        &url,
        "pixie-confidential",
        "pixie-confidential-secret",
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    );
    assert_eq!(code, 200, "{body}");
}

#[test]
fn sign_out_removes_an_old_style_copy_of_the_session_too() {
    // A keychain that holds the session twice: as Pixie writes it (with keyring's `target`
    // attribute) and as older builds or `secret-tool` wrote it (without). Signing out must
    // leave neither, or the next lookup would find the old copy and its refresh token.
    let rig = Rig::new();
    rig.add_profile("p");
    rig.login("p").ok();
    rig.store_keychain("session:p", b"1:{\"old\": \"copy\"}");
    rig.pixie(&["logout", "p", "--no-revoke"]).ok();
    assert!(rig.keychain("session:p").is_none());
    let out = rig.pixie(&["token", "p"]);
    assert_eq!(out.code, 3, "not signed in: {}", out.stderr);
}

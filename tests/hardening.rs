//! The security model's promises under odd input, hostile providers and lost answers, against
//! the real provider and keychain (see also `tests/faults.rs` for broken surroundings).

mod support;

use std::time::Duration;

use support::Rig;

#[test]
fn profile_names_that_match_pixies_own_files_work_end_to_end() {
    let rig = Rig::new();
    for name in ["profiles", "locks", "con"] {
        rig.add_profile(name);
        rig.login(name);
        // Each of these once waited forever on a lock it held itself (`profiles`).
        let out = rig.run_within(
            &["profile", "edit", name, "--param", "login_hint=alice"],
            Duration::from_secs(30),
        );
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        assert!(!rig.token(name).is_empty());
        let revocations = rig.idp.stats()["revocations"].as_u64().unwrap();
        let out = rig.run_within(&["profile", "remove", name], Duration::from_secs(30));
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        assert!(rig.session(name).is_none(), "{name}: keychain emptied");
        // Removing a signed-in profile revokes its grant first.
        assert!(out.stderr.contains("revoked"), "{}", out.stderr);
        assert_eq!(rig.idp.stats()["revocations"], revocations + 1);
    }
}

#[test]
fn names_that_differ_only_in_case_are_refused() {
    let rig = Rig::new();
    rig.add_profile("Work");
    let out = rig.pixie(&[
        "profile",
        "add",
        "work",
        "--issuer",
        &rig.idp.issuer,
        "--client-id",
        "pixie-test",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("only in case"), "{}", out.stderr);
}

#[test]
fn numbers_from_the_command_line_are_bounded_not_panics() {
    let rig = Rig::new();
    rig.add_profile("p");
    for args in [
        &["login", "p", "--timeout", "10000000000000000"][..],
        &["login", "p", "--timeout", "0"],
        &["token", "p", "--min-valid", "99999999999999999999"],
    ] {
        let out = rig.pixie(args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
}

#[test]
fn text_from_an_imported_file_cannot_drive_the_terminal() {
    let rig = Rig::new();
    let import = rig.scratch.path().join("import.json");
    let hostile = r"cli\u001b]0;pwned\u0007\u001b[2J\u202etxt";
    std::fs::write(
        &import,
        format!(
            r#"{{"version":1,"profiles":[{{"name":"p","issuer":"{}","client_id":"{hostile}"}}]}}"#,
            rig.idp.issuer
        ),
    )
    .unwrap();
    rig.pixie(&["profile", "import", import.to_str().unwrap()])
        .ok();
    for args in [&["profile", "list"][..], &["profile", "show", "p"]] {
        let out = rig.pixie(args).ok();
        for bad in ['\u{1b}', '\u{7}', '\u{202e}'] {
            assert!(!out.stdout.contains(bad), "{args:?}: {:?}", out.stdout);
        }
        assert!(
            out.stdout.contains("pwned"),
            "shown, escaped: {}",
            out.stdout
        );
    }
}

#[test]
fn ctrl_c_cancels_a_sign_in_stuck_before_the_browser() {
    let rig = Rig::new();
    // A "provider" that accepts connections and never answers: discovery hangs.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", silent.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in silent.incoming() {
            held.push(conn);
        }
    });
    rig.pixie(&[
        "profile",
        "add",
        "p",
        "--issuer",
        &issuer,
        "--client-id",
        "c",
    ])
    .ok();
    let child = rig
        .command(&["login", "p"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let started = std::time::Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped at once"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("cancelled"), "{stderr}");
}

#[test]
fn endpoints_split_across_hosts_or_changed_by_an_import_are_pointed_out() {
    let rig = Rig::new();
    let out = rig
        .pixie(&[
            "profile",
            "add",
            "split",
            "--auth-url",
            "http://127.0.0.1:9/authorize",
            "--token-url",
            "http://localhost:9/token",
            "--client-id",
            "c",
        ])
        .ok();
    assert!(
        out.stderr
            .contains("sends the code and refresh tokens to localhost"),
        "{}",
        out.stderr
    );
    rig.add_profile("p");
    let import = rig.scratch.path().join("import.json");
    std::fs::write(
        &import,
        r#"{"version":1,"profiles":[{"name":"p","issuer":"https://elsewhere.example","client_id":"pixie-test"}]}"#,
    )
    .unwrap();
    let out = rig
        .pixie(&["profile", "import", "--replace", import.to_str().unwrap()])
        .ok();
    assert!(
        out.stderr.contains("`p` now points elsewhere"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(&rig.idp.issuer), "{}", out.stderr);
    assert!(
        out.stderr.contains("https://elsewhere.example"),
        "{}",
        out.stderr
    );
}

/// `pixie … | head` closes the pipe early: Pixie ends as a SIGPIPE'd tool would (status 141),
/// not with a panic message.
#[test]
fn a_reader_that_goes_away_ends_pixie_quietly() {
    let rig = Rig::new();
    let mut child = rig
        .command(&["profile", "presets", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}

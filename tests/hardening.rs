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
        let out = rig.run_within(&["profile", "remove", name], Duration::from_secs(30));
        assert_eq!(out.code, 0, "{name}: {}", out.stderr);
        assert!(rig.session(name).is_none(), "{name}: keychain emptied");
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

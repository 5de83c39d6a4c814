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

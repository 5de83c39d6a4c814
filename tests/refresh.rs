//! Silent refresh against the real provider and keychain: expiry, rotation, single flight across
//! processes, and failures that must never cost the stored refresh token.

mod support;

use std::time::Duration;

use support::Rig;

/// Signs in while the provider issues 2 s access tokens and waits past half their life, so the
/// next `token` refreshes (the margin asked for is capped at half the lifetime).
fn signed_in_with_due_token(rig: &Rig, name: &str) {
    support::signed_in_with_due_token(rig, name);
}

#[test]
fn expired_token_is_refreshed_and_the_rotated_refresh_token_stored() {
    let rig = Rig::new();
    signed_in_with_due_token(&rig, "p");
    let old_token = rig.session("p").unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_rt = rig.stored_refresh_token("p");
    let status = rig.pixie(&["status", "p"]).ok().stdout;
    assert!(status.contains("refresh due"), "{status}");

    let token = rig.token("p");
    assert_ne!(token, old_token);
    assert_eq!(rig.idp.refresh_count(), 1);
    let (code, body) = rig.idp.userinfo(&token);
    assert_eq!(code, 200, "{body}");

    // The provider rotated the refresh token and the keychain holds the new one.
    let new_rt = rig.stored_refresh_token("p");
    assert_ne!(new_rt, old_rt);
    assert_eq!(rig.session("p").unwrap()["access_token"], token.as_str());
    // The ID token from the refresh was verified too.
    let claims: serde_json::Value =
        serde_json::from_str(&rig.pixie(&["claims", "p"]).ok().stdout).unwrap();
    assert_eq!(claims["verified"], true, "{claims}");

    // Cached now: no further refresh.
    assert_eq!(rig.token("p"), token);
    assert_eq!(rig.idp.refresh_count(), 1);
}

#[test]
fn token_refreshes_once_it_really_expires() {
    let rig = Rig::new();
    rig.add_profile("p");
    rig.idp.control("/ttl?access=8");
    rig.login("p");
    let first = rig.token("p");
    assert_eq!(
        rig.idp.refresh_count(),
        0,
        "an 8 s token is handed out until half its life is gone, not refreshed at once for the 60 s margin"
    );
    std::thread::sleep(Duration::from_millis(4500));
    let second = rig.token("p");
    assert_ne!(first, second);
    assert_eq!(rig.idp.refresh_count(), 1);
}

#[test]
fn twenty_concurrent_processes_cause_exactly_one_refresh() {
    let rig = Rig::new();
    signed_in_with_due_token(&rig, "p");
    let children: Vec<_> = (0..20)
        .map(|_| {
            rig.command(&["token", "p"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for o in &outputs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let tokens: std::collections::BTreeSet<_> = outputs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .collect();
    assert_eq!(tokens.len(), 1, "all got the same fresh token");
    assert_eq!(
        rig.idp.refresh_count(),
        1,
        "exactly one refresh at the provider"
    );
    let (code, _) = rig.idp.userinfo(tokens.first().unwrap());
    assert_eq!(code, 200);
}

#[test]
fn provider_down_during_refresh_keeps_the_refresh_token() {
    let rig = Rig::new();
    signed_in_with_due_token(&rig, "p");
    let rt = rig.stored_refresh_token("p");
    rig.idp.control("/down");
    let out = rig.pixie(&["token", "p"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("provider unreachable"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    assert_eq!(rig.stored_refresh_token("p"), rt, "refresh token kept");
    rig.idp.control("/up");
    let token = rig.token("p");
    assert_eq!(rig.idp.userinfo(&token).0, 200);
}

#[test]
fn a_refresh_whose_answer_was_lost_is_never_sent_again() {
    for mode in ["garbage", "error500"] {
        let rig = Rig::new();
        signed_in_with_due_token(&rig, "p");
        let rt = rig.stored_refresh_token("p");
        rig.idp.control(&format!("/mode?token={mode}"));
        let out = rig.pixie(&["token", "p"]);
        assert_eq!(rig.idp.stats()["token_requests"], 2, "{mode}: sent once");
        // The provider may have used the refresh token already: a replay would make it
        // revoke the grant, so the profile now needs a sign-in.
        assert_eq!(out.code, 3, "{mode}: {}", out.stderr);
        assert!(
            out.stderr.contains("not a valid OAuth token response"),
            "{mode}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("not sent again"),
            "{mode}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("<html"), "no body in the message");
        assert_eq!(rig.stored_refresh_token("p"), rt, "nothing lost");
        // No process sends it again, even once the provider answers properly: the access
        // token is handed out while it lasts, with a warning, and then only a sign-in helps.
        rig.idp.control("/mode?token=normal");
        let out = rig.pixie(&["token", "p"]);
        if out.code == 0 {
            assert!(out.stderr.contains("sign-in required"), "{}", out.stderr);
            std::thread::sleep(Duration::from_secs(1));
        }
        for _ in 0..3 {
            assert_eq!(rig.pixie(&["token", "p"]).code, 3);
        }
        assert_eq!(rig.idp.stats()["token_requests"], 2, "{mode}: never again");
        let status = rig.pixie(&["status", "p"]).ok().stdout;
        assert!(status.contains("sign-in required"), "{status}");
        assert!(status.contains("answer was lost"), "{status}");
        // A new sign-in starts afresh.
        rig.login("p");
        assert!(!rig.token("p").is_empty());
        assert!(rig
            .pixie(&["status", "p"])
            .ok()
            .stdout
            .contains("signed in"));
    }
}

#[test]
fn an_out_of_date_keychain_copy_of_a_rotated_refresh_token_is_never_sent() {
    let rig = Rig::new();
    signed_in_with_due_token(&rig, "p");
    let stale = rig.keychain("session:p").unwrap();
    let old_rt = rig.stored_refresh_token("p");
    assert!(!rig.token("p").is_empty());
    assert_ne!(
        rig.stored_refresh_token("p"),
        old_rt,
        "the refresh rotated it"
    );
    let sent = rig.idp.stats()["token_requests"].clone();
    // A restored backup, or a second keychain D-Bus started in place of the first, gives the
    // old session back, with its spent refresh token (in place of the current one: a keychain
    // whose replace matches attributes exactly would otherwise keep both).
    rig.clear_keychain("session:p");
    rig.store_keychain("session:p", stale.as_bytes());
    assert_eq!(rig.stored_refresh_token("p"), old_rt);
    // Past its access token's life: only the refresh token could help, and it is not sent.
    std::thread::sleep(Duration::from_millis(1200));
    let out = rig.pixie(&["token", "p"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("already exchanged"), "{}", out.stderr);
    assert_eq!(rig.idp.stats()["token_requests"], sent, "not sent");
    let status = rig.pixie(&["status", "p"]).ok().stdout;
    assert!(status.contains("sign-in required"), "{status}");
}

#[test]
fn a_redirecting_token_endpoint_is_not_followed() {
    let rig = Rig::new();
    signed_in_with_due_token(&rig, "p");
    let rt = rig.stored_refresh_token("p");
    rig.idp.control("/mode?token=redirect");
    let out = rig.pixie(&["token", "p"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert_eq!(
        rig.idp.stats()["stolen"],
        0,
        "the refresh token went nowhere else"
    );
    assert_eq!(rig.stored_refresh_token("p"), rt);
    rig.idp.control("/mode?token=normal");
    rig.token("p");
}

#[test]
fn revoked_grant_means_sign_in_required() {
    let rig = Rig::new();
    signed_in_with_due_token(&rig, "p");
    rig.idp
        .revoke_raw("pixie-test", &rig.stored_refresh_token("p"));
    let out = rig.pixie(&["token", "p"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("sign-in required"), "{}", out.stderr);
    assert!(out.stderr.contains("invalid_grant"), "{}", out.stderr);
    // The refusal is remembered: status says so, and the dead token is never sent again.
    std::thread::sleep(Duration::from_secs(1));
    let refreshes = rig.idp.refresh_count();
    let status = rig.pixie(&["status", "p"]).ok().stdout;
    assert!(status.contains("sign-in required"), "{status}");
    assert!(status.contains("invalid_grant"), "{status}");
    assert_eq!(rig.pixie(&["token", "p"]).code, 3);
    assert_eq!(rig.idp.refresh_count(), refreshes, "not sent again");
    // A new sign-in recovers.
    rig.login("p");
    rig.token("p");
}

#[test]
fn logout_revokes_at_the_provider_and_empties_the_keychain() {
    let rig = Rig::new();
    rig.add_profile("p");
    rig.login("p");
    let rt = rig.stored_refresh_token("p");
    let out = rig.pixie(&["logout", "p"]).ok();
    assert!(out.stderr.contains("revoked"), "{}", out.stderr);
    assert!(rig.session("p").is_none());
    let (code, body) = rig.idp.refresh_raw("pixie-test", None, &rt);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("invalid_grant"), "{body}");
    let out = rig.pixie(&["token", "p"]);
    assert_eq!(out.code, 3);

    // --no-revoke leaves the grant alive at the provider.
    rig.login("p");
    let rt = rig.stored_refresh_token("p");
    rig.pixie(&["logout", "p", "--no-revoke"]).ok();
    assert!(rig.session("p").is_none());
    assert_eq!(rig.idp.refresh_raw("pixie-test", None, &rt).0, 200);
}

#[test]
fn editing_the_client_invalidates_the_session() {
    let rig = Rig::new();
    rig.add_profile("p");
    rig.login("p");
    rig.pixie(&["profile", "edit", "p", "--client-id", "pixie-demo"])
        .ok();
    let out = rig.pixie(&["token", "p"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("changed since sign-in"),
        "{}",
        out.stderr
    );
}

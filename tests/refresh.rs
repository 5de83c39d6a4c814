//! Silent refresh against the real provider and keychain: expiry, rotation, single flight across
//! processes, and failures that must never cost the stored refresh token.

mod support;

use std::time::Duration;

use support::Rig;

/// Signs in while the provider issues short-lived access tokens, so the next `token` refreshes.
fn signed_in_with_due_token(rig: &Rig, name: &str) {
    rig.add_profile(name);
    rig.idp.control("/ttl?access=5");
    rig.login(name);
    rig.idp.control("/ttl?access=3600");
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
    rig.idp.control("/ttl?access=62");
    rig.login("p");
    let first = rig.token("p");
    assert_eq!(
        rig.idp.refresh_count(),
        0,
        "62 s left is more than the 60 s margin"
    );
    std::thread::sleep(Duration::from_secs(3));
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
fn provider_answering_garbage_is_a_clear_error_and_loses_nothing() {
    let rig = Rig::new();
    signed_in_with_due_token(&rig, "p");
    let rt = rig.stored_refresh_token("p");
    for mode in ["garbage", "error500"] {
        rig.idp.control(&format!("/mode?token={mode}"));
        let before = rig.idp.stats()["token_requests"].as_u64().unwrap();
        let out = rig.pixie(&["token", "p"]);
        // Sent once, never again: the provider may have used the refresh token already, and a
        // replay would make it revoke the grant.
        assert_eq!(
            rig.idp.stats()["token_requests"].as_u64().unwrap(),
            before + 1,
            "{mode}"
        );
        assert_eq!(out.code, 4, "{mode}: {}", out.stderr);
        assert!(
            out.stderr.contains("not a valid OAuth token response"),
            "{mode}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("<html"), "no body in the message");
        assert_eq!(rig.stored_refresh_token("p"), rt);
    }
    rig.idp.control("/mode?token=normal");
    rig.token("p");
    assert_eq!(rig.idp.refresh_count(), 1);
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

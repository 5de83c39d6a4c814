//! After a full run at trace log level, no token or secret value appears in any log output or in
//! any file under the Pixie home.

mod support;

use support::Rig;

fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn no_token_reaches_a_log_or_a_file() {
    let rig = Rig::new();
    let trace = [("PIXIE_LOG", "trace")];
    let mut logs = String::new();
    let mut secrets: Vec<String> = Vec::new();
    let collect = |rig: &Rig, profile: &str, secrets: &mut Vec<String>| {
        if let Some(s) = rig.session(profile) {
            for field in ["access_token", "refresh_token"] {
                if let Some(v) = s[field].as_str() {
                    secrets.push(v.to_owned());
                }
            }
            if let Some(jwt) = s["id_token"]["jwt"].as_str() {
                secrets.push(jwt.to_owned());
                // The signature alone is distinctive too.
                secrets.push(jwt.rsplit('.').next().unwrap().to_owned());
            }
        }
    };

    // A public client: sign in, use, refresh (rotation), claims, status, sign out.
    rig.idp.control("/ttl?access=2");
    rig.run(
        &[
            "profile",
            "add",
            "pub",
            "--issuer",
            &rig.idp.issuer,
            "--client-id",
            "pixie-test",
            "--scope",
            "openid offline_access profile email",
        ],
        &trace,
    )
    .ok();
    let out = rig.run(&["login", "pub", "--timeout", "30"], &trace).ok();
    logs += &out.stderr;
    collect(&rig, "pub", &mut secrets);
    let code = rig.step("callback").unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(code.len() > 20);
    secrets.push(code);
    rig.idp.control("/ttl?access=3600");
    // Past half the 2 s token's life, so the first `token` refreshes (rotation).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for args in [
        &["token", "pub"][..],
        &["token", "pub", "--format", "json"],
        &["claims", "pub"],
        &["status"],
    ] {
        let out = rig.run(args, &trace).ok();
        logs += &out.stderr;
        if args[0] != "token" {
            logs += &out.stdout;
        }
    }
    collect(&rig, "pub", &mut secrets);

    // A confidential client, whose secret is stored through stdin.
    let out = rig.add_confidential(
        "conf",
        "pixie-confidential",
        "pixie-confidential-secret",
        &[],
        &trace,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    logs += &out.stderr;
    secrets.push("pixie-confidential-secret".into());
    // 2 s tokens from here on, each due after a pause past half its life.
    rig.idp.control("/ttl?access=2");
    let half_life = || std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = rig.run(&["login", "conf", "--timeout", "30"], &trace).ok();
    logs += &out.stderr;
    collect(&rig, "conf", &mut secrets);
    half_life();
    let out = rig.run(&["token", "conf"], &trace).ok();
    logs += &out.stderr;
    collect(&rig, "conf", &mut secrets);

    // Failures log too: a refresh against a provider answering garbage.
    let out = rig.run(&["login", "pub", "--timeout", "30"], &trace).ok();
    logs += &out.stderr;
    collect(&rig, "pub", &mut secrets);
    half_life();
    rig.idp.control("/mode?token=garbage");
    let out = rig.run(&["token", "pub"], &trace);
    assert_eq!(out.code, 3, "{}", out.stderr);
    logs += &out.stderr;
    rig.idp.control("/mode?token=normal");

    for name in ["pub", "conf"] {
        let out = rig.run(&["logout", name], &trace).ok();
        logs += &out.stderr;
    }

    assert!(logs.contains("TRACE"), "trace logging was on:\n{logs}");
    secrets.sort();
    secrets.dedup();
    assert!(secrets.len() >= 8, "collected {} secrets", secrets.len());
    for s in &secrets {
        assert!(
            !logs.contains(s.as_str()),
            "a secret appears in the logs:\n{logs}"
        );
    }
    let mut files = Vec::new();
    walk(rig.home.path(), &mut files);
    assert!(files.iter().any(|f| f.ends_with("profiles.toml")));
    for f in files {
        let content = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        for s in &secrets {
            assert!(
                !content.contains(s.as_str()),
                "a secret appears in {}",
                f.display()
            );
        }
    }
}

//! The engine as a library (as the desktop app will use it): concurrent `token` calls within one
//! process share a single refresh.

mod support;

use std::sync::Arc;
use std::time::Duration;

use pixie::engine::{BrowserChoice, Cached, EngineConfig, LoginOptions};
use pixie::Browser;
use pixie::Engine;
use pixie::KeyringStore;
use pixie::PixieHome;
use support::Rig;

struct ScriptedBrowser;

impl Browser for ScriptedBrowser {
    fn open(&self, url: &str) -> pixie::Result<()> {
        let cmd = format!("node {}", support::idp_dir().join("browser.mjs").display());
        pixie::run_command(&cmd, url).map_err(pixie::Error::Browser)
    }
}

/// A sign-in through the scripted browser.
fn scripted() -> LoginOptions {
    LoginOptions {
        browser: BrowserChoice::Custom(Arc::new(ScriptedBrowser)),
        timeout: Duration::from_secs(30),
        ..Default::default()
    }
}

/// An engine on the rig's Pixie home and keychain service, as the desktop app builds one.
fn engine_for(rig: &Rig) -> Engine {
    Engine::new(EngineConfig {
        home: PixieHome::at(rig.home.path().to_path_buf()),
        store: Arc::new(KeyringStore::new(&rig.service)),
        clock: Arc::new(pixie::SystemClock),
    })
}

#[test]
fn concurrent_token_calls_in_one_process_share_one_refresh() {
    // The rig's provider helpers block, so the runtime is entered only for engine calls.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let rig = Rig::new();
    rig.add_profile("p");
    let engine = Arc::new(engine_for(&rig));
    rig.idp.control("/ttl?access=2");
    let outcome = rt.block_on(engine.login("p", scripted())).unwrap();
    assert_eq!(outcome.subject.as_deref(), Some("alice"));
    assert_eq!(outcome.id_token_verified, Some(true));
    rig.idp.control("/ttl?access=3600");
    // Past half the token's life: due.
    std::thread::sleep(Duration::from_millis(1100));

    let results = rt.block_on(async {
        let calls: Vec<_> = (0..10)
            .map(|_| {
                let e = engine.clone();
                tokio::spawn(async move { e.token("p", Duration::from_secs(60)).await })
            })
            .collect();
        let mut out = Vec::new();
        for c in calls {
            out.push(c.await.unwrap().unwrap());
        }
        out
    });
    let mut tokens = std::collections::BTreeSet::new();
    let mut refreshed = 0;
    for t in results {
        refreshed += usize::from(t.refreshed);
        tokens.insert(t.access_token.secret().clone());
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        refreshed, 1,
        "one caller refreshed, the others waited for it"
    );
    assert_eq!(rig.idp.refresh_count(), 1);
}

/// Removes the profile (as another Pixie process would) before letting the browser answer.
struct RemovingBrowser {
    home: std::path::PathBuf,
    service: String,
}

impl Browser for RemovingBrowser {
    fn open(&self, url: &str) -> pixie::Result<()> {
        let status = std::process::Command::new(support::PIXIE)
            .args(["profile", "remove", "p"])
            .env("PIXIE_HOME", &self.home)
            .env("PIXIE_KEYRING_SERVICE", &self.service)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        ScriptedBrowser.open(url)
    }
}

#[test]
fn a_profile_removed_during_sign_in_gets_no_session() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rig = Rig::new();
    rig.add_profile("p");
    let engine = engine_for(&rig);
    let err = rt
        .block_on(engine.login(
            "p",
            LoginOptions {
                browser: BrowserChoice::Custom(Arc::new(RemovingBrowser {
                    home: rig.home.path().to_path_buf(),
                    service: rig.service.clone(),
                })),
                timeout: Duration::from_secs(30),
                ..Default::default()
            },
        ))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("removed or changed during sign-in"),
        "{err}"
    );
    assert!(rig.keychain("session:p").is_none());
    // The grant the provider issued is not left behind: Pixie revoked it.
    assert_eq!(rig.idp.stats()["revocations"], 1);
}

/// The desktop app's silent refresh against the real provider: a short-lived token is refreshed
/// before it expires without anyone asking, and a revoked grant parks the profile as "sign-in
/// required" instead of retrying.
#[test]
fn auto_refresh_renews_before_expiry_and_stops_at_a_revoked_grant() {
    use pixie::autorefresh::{AutoRefresh, Policy, RefreshEvent};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rig = Rig::new();
    rig.add_profile("p");
    let engine = Arc::new(engine_for(&rig));
    rig.idp.control("/ttl?access=6");
    rt.block_on(engine.login("p", scripted())).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let policy = Policy {
        backoff_start: Duration::from_millis(200),
        ..Policy::default()
    };
    let auto = {
        let _rt = rt.enter();
        AutoRefresh::spawn(
            engine.clone(),
            policy,
            Arc::new(move |e| {
                let _ = tx.send(e);
            }),
        )
    };
    let next = |limit: u64| rx.recv_timeout(Duration::from_secs(limit)).unwrap();
    let before = rig.stored_refresh_token("p");
    // A 6 s token is refreshed about 2–2.6 s before it expires.
    let started = std::time::Instant::now();
    assert_eq!(
        next(10),
        RefreshEvent::Refreshing {
            profile: "p".into()
        }
    );
    assert_eq!(
        next(10),
        RefreshEvent::Refreshed {
            profile: "p".into()
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "refreshed before expiry"
    );
    assert_eq!(rig.idp.refresh_count(), 1);
    assert_ne!(
        rig.stored_refresh_token("p"),
        before,
        "the rotated token was stored"
    );

    rig.idp
        .revoke_raw("pixie-test", &rig.stored_refresh_token("p"));
    assert_eq!(
        next(10),
        RefreshEvent::Refreshing {
            profile: "p".into()
        }
    );
    match next(10) {
        RefreshEvent::SignInRequired { profile, reason } => {
            assert_eq!(profile, "p");
            assert!(reason.contains("refresh token"), "{reason}");
        }
        other => panic!("expected sign-in required, got {other:?}"),
    }
    // Parked: no retry storm against a dead grant.
    let requests = rig.idp.stats()["token_requests"].clone();
    auto.wake();
    assert!(rx.recv_timeout(Duration::from_secs(3)).is_err());
    assert_eq!(rig.idp.stats()["token_requests"], requests);
    drop(auto);
}

#[test]
fn a_cached_token_needs_no_runtime_and_a_due_one_is_refreshed_from_where_it_was_found() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rig = Rig::new();
    rig.add_profile("p");
    let engine = engine_for(&rig);
    rig.idp.control("/ttl?access=2");
    rt.block_on(engine.login("p", scripted())).unwrap();
    rig.idp.control("/ttl?access=3600");

    // Outside any runtime, as the CLI asks: the held token, read from the keychain.
    let Cached::Fresh(held) = engine.cached_token("p", Duration::ZERO).unwrap() else {
        panic!("a token just issued is fresh");
    };
    assert!(!held.refreshed);
    // Past half the token's life: due, and refreshed once.
    std::thread::sleep(Duration::from_millis(1100));
    let Cached::Due(due) = engine.cached_token("p", Duration::from_secs(60)).unwrap() else {
        panic!("a token past half its life is due");
    };
    let renewed = rt.block_on(engine.refresh_due(due)).unwrap();
    assert!(renewed.refreshed);
    assert_ne!(renewed.access_token.secret(), held.access_token.secret());
    assert_eq!(rig.idp.refresh_count(), 1);
    let Cached::Fresh(now) = engine.cached_token("p", Duration::from_secs(60)).unwrap() else {
        panic!("the refreshed token is fresh");
    };
    assert_eq!(now.access_token.secret(), renewed.access_token.secret());
    assert!(matches!(
        engine.cached_token("nobody", Duration::ZERO),
        Err(pixie::Error::UnknownProfile(_))
    ));
}

//! Faults in the real parts around a refresh: a provider whose answer is lost or that dies, a
//! keychain daemon killed or a collection locked in the middle of a write, a Pixie home that
//! cannot be written, and two apps and ten CLIs refreshing one profile while the provider
//! rotates. Each ends with a clear error, nothing lost, and no refresh token sent twice.

mod support;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{signed_in_with_due_token, Rig};

#[test]
fn a_refresh_the_provider_processed_before_dying_is_never_sent_again() {
    let rig = Rig::new();
    signed_in_with_due_token(&rig, "p");
    let rt = rig.stored_refresh_token("p");
    rig.idp.control("/mode?token=lose-answer");
    let out = rig.pixie(&["token", "p"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("answer was lost"), "{}", out.stderr);
    assert_eq!(rig.idp.refresh_count(), 1, "the provider did rotate it");
    // The provider goes away and comes back; the old token is kept but never offered again.
    rig.idp.control("/down");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(rig.pixie(&["token", "p"]).code, 3);
    rig.idp.control("/up");
    rig.idp.control("/mode?token=normal");
    for _ in 0..3 {
        let out = rig.pixie(&["token", "p"]);
        assert_eq!(out.code, 3, "{}", out.stderr);
    }
    assert_eq!(
        rig.idp.stats()["token_requests"],
        2,
        "sign-in + one refresh"
    );
    assert_eq!(
        rig.stored_refresh_token("p"),
        rt,
        "nothing was lost locally"
    );
    let status = rig.pixie(&["status", "p"]).ok().stdout;
    assert!(status.contains("sign-in required"), "{status}");
    rig.login("p");
    assert_eq!(rig.idp.userinfo(&rig.token("p")).0, 200);
}

#[test]
fn an_unwritable_pixie_home_refuses_to_refresh_before_sending_anything() {
    let rig = Rig::new();
    signed_in_with_due_token(&rig, "p");
    let rt = rig.stored_refresh_token("p");
    // Root ignores permission bits, so the refresh records' directory is made impossible: a
    // file where the directory must be.
    let ledger = rig.home.path().join("ledger");
    let _ = std::fs::remove_dir_all(&ledger);
    std::fs::write(&ledger, "not a directory").unwrap();
    let before = rig.idp.stats()["token_requests"].clone();
    let out = rig.pixie(&["token", "p"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("nothing was sent"), "{}", out.stderr);
    assert_eq!(rig.idp.stats()["token_requests"], before, "nothing sent");
    assert_eq!(rig.stored_refresh_token("p"), rt);
    std::fs::remove_file(&ledger).unwrap();
    assert_eq!(rig.idp.userinfo(&rig.token("p")).0, 200);
}

/// What D-Bus starts when the private keyring's daemon has died and a client calls it.
enum Successor {
    /// The system's gnome-keyring service, which starts locked, as after a crash on a desktop
    /// whose login password is not at hand.
    Locked,
    /// A daemon unlocked on the same keyring, as with-keyring's.
    Unlocked,
}

/// Runs `script` in a D-Bus session of its own with an unlocked gnome-keyring, whose data
/// survives restarts of the daemon within the script (`restart_keyring` unlocks it again).
/// The script sees `$PIXIE` (and the rig's environment), `$CONTROL`, `$ISSUER`, and the
/// functions `keyring_pid`, `restart_keyring`, `ctl` (the provider's control port), `sign_in`
/// (profile `p`), `sign_in_due` (its access token past half its life), `watch_open_session`
/// (a `dbus-monitor` in `$monitor`) and `kill_once_called PID` (the daemon `PID`, once the
/// watched `OpenSession` has reached the bus).
fn in_private_keyring(rig: &Rig, script: &str, successor: Successor) -> (String, String) {
    let data = tempfile::tempdir().unwrap();
    // The bus and what it starts get a runtime directory of their own: a successor must not
    // find the control socket of the keyring daemon that serves the other tests.
    let run = tempfile::tempdir().unwrap();
    if let Successor::Unlocked = successor {
        let services = data.path().join("dbus-1/services");
        std::fs::create_dir_all(&services).unwrap();
        std::fs::write(
            services.join("org.freedesktop.secrets.service"),
            "[D-BUS Service]\nName=org.freedesktop.secrets\nExec=/bin/sh -c \"printf pw | exec \
             gnome-keyring-daemon --unlock --foreground --components=secrets\"\n",
        )
        .unwrap();
    }
    let prelude = format!(
        r#"set -u
export XDG_DATA_HOME={data} XDG_RUNTIME_DIR=$(mktemp -d)
has_owner() {{ dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true; }}
keyring_pid() {{ dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets 2>/dev/null | awk '/uint32/ {{print $2}}'; }}
start_keyring() {{ printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; for _ in $(seq 100); do has_owner && return 0; sleep 0.1; done; echo 'keyring did not start' >&2; exit 1; }}
restart_keyring() {{ p=$(keyring_pid); [ -n "$p" ] && kill "$p"; for _ in $(seq 50); do has_owner || break; sleep 0.1; done; start_keyring; }}
ctl() {{ curl -fsS -X POST "$CONTROL$1" >/dev/null; }}
sign_in() {{ "$PIXIE" profile add p --issuer "$ISSUER" --client-id pixie-test --scope 'openid offline_access' 2>/dev/null || exit 1; "$PIXIE" login p --timeout 30 2>/dev/null || {{ echo 'login failed' >&2; exit 1; }}; }}
sign_in_due() {{ ctl '/ttl?access=2'; sign_in; ctl '/ttl?access=3600'; sleep 1.2; }}
watch_open_session() {{ dbus-monitor --session "type='method_call',member='OpenSession'" >"$XDG_RUNTIME_DIR/calls" 2>&1 & monitor=$!; }}
kill_once_called() {{ for _ in $(seq 100); do grep -q 'member=OpenSession' "$XDG_RUNTIME_DIR/calls" && break; sleep 0.1; done; sleep 0.2; kill -9 "$1"; kill "$monitor"; }}
start_keyring
"#,
        data = data.path().display()
    );
    let mut c = Command::new("dbus-run-session");
    let full = format!("{prelude}{script}");
    c.args(["--", "bash", "-c", &full])
        // The bus's own service directories too: a killed daemon's successor is `successor`,
        // never with-keyring's.
        .env("XDG_DATA_HOME", data.path())
        .env("XDG_RUNTIME_DIR", run.path())
        .env("PIXIE", support::PIXIE)
        .env("PIXIE_HOME", rig.home.path())
        .env("PIXIE_KEYRING_SERVICE", &rig.service)
        .env(
            "BROWSER",
            format!("node {}", support::idp_dir().join("browser.mjs").display()),
        )
        .env("PIXIE_TEST_BROWSER_LOG", rig.browser_log())
        .env("CONTROL", &rig.idp.control)
        .env("ISSUER", &rig.idp.issuer)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("GNOME_KEYRING_CONTROL")
        .env_remove("PIXIE_LOG");
    let out = c.output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Signs in, makes the token due, then refreshes while the provider answers slowly and
/// `fault` strikes the keychain in between; then restarts the keychain, unlocked, and asks
/// again. Prints the lines the test reads.
fn refresh_with_keychain_fault(rig: &Rig, fault: &str) -> (String, String) {
    let script = format!(
        r#"sign_in_due
ctl '/mode?token=slow'
"$PIXIE" token p >"$XDG_RUNTIME_DIR/out" 2>"$XDG_RUNTIME_DIR/err" &
pid=$!
sleep 0.7
{fault}
wait $pid
echo "first-exit=$?"
echo "first-token=$(cat "$XDG_RUNTIME_DIR/out")"
echo "first-stderr=$(tr '\n' ' ' <"$XDG_RUNTIME_DIR/err")"
ctl '/mode?token=normal'
restart_keyring
sleep 1
"$PIXIE" token p >"$XDG_RUNTIME_DIR/out2" 2>"$XDG_RUNTIME_DIR/err2"
echo "second-exit=$?"
echo "second-stderr=$(tr '\n' ' ' <"$XDG_RUNTIME_DIR/err2")"
"#
    );
    in_private_keyring(rig, &script, Successor::Locked)
}

fn line<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {stdout}"))
}

fn assert_keychain_fault_handled(rig: &Rig, stdout: &str, stderr: &str) {
    // The provider rotated the token; the keychain would not take the new one. The new access
    // token is still handed out, and the person is told exactly what is lost.
    assert_eq!(line(stdout, "first-exit"), "0", "{stdout}\n{stderr}");
    let token = line(stdout, "first-token");
    assert_eq!(rig.idp.userinfo(token).0, 200, "{stdout}");
    let first = line(stdout, "first-stderr");
    assert!(first.contains("keychain would not store"), "{first}");
    assert!(first.contains("lost when this command ends"), "{first}");
    // The old refresh token, still in the keychain, is never sent again.
    let requests = rig.idp.stats()["token_requests"].as_u64().unwrap();
    assert_eq!(line(stdout, "second-exit"), "3", "{stdout}");
    assert!(
        line(stdout, "second-stderr").contains("keychain would not store"),
        "{stdout}"
    );
    assert_eq!(requests, 2, "sign-in + one refresh, no replay");
}

#[test]
fn the_keychain_daemon_killed_during_a_refresh_loses_nothing_silently() {
    let rig = Rig::new();
    let (stdout, stderr) =
        refresh_with_keychain_fault(&rig, r#"kill -9 "$(keyring_pid)"; sleep 0.2"#);
    assert_keychain_fault_handled(&rig, &stdout, &stderr);
}

#[test]
fn a_collection_locked_during_a_refresh_loses_nothing_silently() {
    let rig = Rig::new();
    let (stdout, stderr) = refresh_with_keychain_fault(&rig, "secret-tool lock --collection=login");
    assert_keychain_fault_handled(&rig, &stdout, &stderr);
}

#[test]
fn a_keychain_daemon_that_dies_with_a_read_pending_is_asked_again_through_its_successor() {
    // gnome-keyring aborts under bursts of clients (an assertion in its client bookkeeping);
    // a read it never answered is not the person's problem.
    let rig = Rig::new();
    let script = r#"sign_in
old=$(keyring_pid)
[ -n "$old" ] || { echo 'no keyring daemon' >&2; exit 1; }
# Watches for the read's first call, so that the daemon dies with it pending, not before.
watch_open_session
sleep 0.5
# Stopped, the daemon takes the read and never answers; killed, it leaves it pending.
kill -STOP "$old"
PIXIE_LOG=debug "$PIXIE" token p >"$XDG_RUNTIME_DIR/out" 2>"$XDG_RUNTIME_DIR/err" &
pid=$!
kill_once_called "$old"
wait $pid
echo "exit=$?"
echo "token=$(cat "$XDG_RUNTIME_DIR/out")"
echo "stderr=$(tr '\n' ' ' <"$XDG_RUNTIME_DIR/err")"
new=$(keyring_pid)
[ -n "$new" ] && [ "$new" != "$old" ] && echo "successor=yes"
"#;
    let (stdout, stderr) = in_private_keyring(&rig, script, Successor::Unlocked);
    assert_eq!(line(&stdout, "exit"), "0", "{stdout}\n{stderr}");
    assert_eq!(rig.idp.userinfo(line(&stdout, "token")).0, 200, "{stdout}");
    assert!(
        line(&stdout, "stderr").contains("vanished during a call"),
        "the first attempt met the dead daemon: {stdout}"
    );
    assert_eq!(line(&stdout, "successor"), "yes", "{stdout}");
}

#[test]
fn a_keychain_daemon_that_dies_with_the_refresh_write_pending_loses_nothing() {
    let rig = Rig::new();
    let script = r#"sign_in_due
old=$(keyring_pid)
[ -n "$old" ] || { echo 'no keyring daemon' >&2; exit 1; }
# The provider answers the refresh after 1.5 s; meanwhile the daemon stops, so that the write
# of the rotated session reaches it, pending, and it dies with it.
ctl '/mode?token=slow'
PIXIE_LOG=debug "$PIXIE" token p >"$XDG_RUNTIME_DIR/out" 2>"$XDG_RUNTIME_DIR/err" &
pid=$!
# The refresh has reached the provider once it counts it: the read is done.
for _ in $(seq 100); do curl -fsS "$CONTROL/stats" | grep -q '"refresh":1' && break; sleep 0.05; done
kill -STOP "$old"
watch_open_session
kill_once_called "$old"
wait $pid
echo "first-exit=$?"
echo "first-token=$(cat "$XDG_RUNTIME_DIR/out")"
echo "first-stderr=$(tr '\n' ' ' <"$XDG_RUNTIME_DIR/err")"
ctl '/mode?token=normal'
"$PIXIE" token p >"$XDG_RUNTIME_DIR/out2" 2>"$XDG_RUNTIME_DIR/err2"
echo "second-exit=$?"
echo "second-token=$(cat "$XDG_RUNTIME_DIR/out2")"
"#;
    let (stdout, stderr) = in_private_keyring(&rig, script, Successor::Unlocked);
    assert_eq!(line(&stdout, "first-exit"), "0", "{stdout}\n{stderr}");
    let first = line(&stdout, "first-stderr");
    assert!(first.contains("vanished during a call"), "{stdout}");
    assert!(!first.contains("would not store"), "{stdout}");
    // The rotated session reached the successor: the next call reads it and refreshes nothing.
    assert_eq!(line(&stdout, "second-exit"), "0", "{stdout}");
    assert_eq!(
        line(&stdout, "second-token"),
        line(&stdout, "first-token"),
        "{stdout}"
    );
    assert_eq!(
        rig.idp.stats()["token_requests"],
        2,
        "sign-in + one refresh"
    );
}

#[test]
fn two_apps_and_ten_clis_refreshing_while_the_provider_rotates_never_replay() {
    use pixie::autorefresh::{AutoRefresh, Policy};
    use pixie::engine::EngineConfig;
    use pixie::KeyringStore;
    use pixie::PixieHome;

    let rig = Rig::new();
    rig.add_profile("p");
    rig.idp.control("/ttl?access=3");
    rig.login("p");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // Two engines, as two running apps build them, each with its silent refresh.
    let apps: Vec<_> = (0..2)
        .map(|_| {
            let engine = Arc::new(pixie::Engine::new(EngineConfig {
                home: PixieHome::at(rig.home.path().to_path_buf()),
                store: Arc::new(KeyringStore::new(&rig.service)),
                clock: Arc::new(pixie::SystemClock),
            }));
            let _rt = rt.enter();
            let policy = Policy {
                min_gap: Duration::from_millis(500),
                jitter: Duration::ZERO,
                ..Policy::default()
            };
            AutoRefresh::spawn(engine, policy, Arc::new(|_| {}))
        })
        .collect();
    // Ten CLIs asking every 300 ms for 8 s, as scripts and tools do. (Without the pause, about
    // a hundred Pixie processes a second made gnome-keyring-daemon itself crash in our runs;
    // the keyring crate leaves each Secret Service session for the daemon to reap when the
    // process disconnects, and `secret-tool`, which closes its own, did not crash it. Making
    // the app the only keychain client is the token broker's work.)
    let deadline = Instant::now() + Duration::from_secs(8);
    let clis: Vec<_> = (0..10)
        .map(|_| {
            let mut cmd = rig.command(&["token", "p"]);
            cmd.stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                while Instant::now() < deadline {
                    let out = cmd.output().unwrap();
                    if !out.status.success() {
                        failures.push(String::from_utf8_lossy(&out.stderr).into_owned());
                    }
                    std::thread::sleep(Duration::from_millis(300));
                }
                failures
            })
        })
        .collect();
    let failures: Vec<String> = clis.into_iter().flat_map(|c| c.join().unwrap()).collect();
    drop(apps);
    assert!(failures.is_empty(), "{failures:?}");
    // Several rotations happened, and the grant is alive: a replay would have revoked it.
    assert!(rig.idp.refresh_count() >= 2, "{}", rig.idp.refresh_count());
    rig.idp.control("/ttl?access=3600");
    std::thread::sleep(Duration::from_secs(2));
    let token = rig.token("p");
    assert_eq!(rig.idp.userinfo(&token).0, 200);
    let status = rig.pixie(&["status", "p"]).ok().stdout;
    assert!(status.contains("signed in"), "{status}");
    assert!(!status.contains("required"), "{status}");
}

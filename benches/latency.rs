//! Pixie's speed, measured against the real local provider and the real keychain (run it with
//! `scripts/bench`, which provides both). Prints figures; asserts nothing.
//!
//! - `pixie token` whole-process latency with a valid cached token (median, p95 over 100 runs);
//! - the same when every call must refresh (the provider issues 1-second tokens);
//! - sign-in: time from the browser's callback reaching Pixie to the tokens being in the
//!   keychain, minus the provider's own time (token exchange), over 20 sign-ins;
//! - reference floors: `pixie --version` (process start) and `secret-tool lookup` (one keychain
//!   read through libsecret).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PIXIE: &str = env!("CARGO_BIN_EXE_pixie");

struct Stats {
    median: f64,
    p95: f64,
    min: f64,
}

fn stats(mut ms: Vec<f64>) -> Stats {
    ms.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| ms[((ms.len() as f64 * p).ceil() as usize).clamp(1, ms.len()) - 1];
    Stats {
        median: pct(0.5),
        p95: pct(0.95),
        min: ms[0],
    }
}

fn time_runs(n: usize, mut cmd: impl FnMut() -> Command) -> Stats {
    let mut ms = Vec::with_capacity(n);
    for _ in 0..n {
        let mut c = cmd();
        c.stdout(Stdio::null()).stderr(Stdio::null());
        let start = Instant::now();
        let status = c.status().expect("run");
        ms.push(start.elapsed().as_secs_f64() * 1e3);
        assert!(status.success(), "{c:?} failed");
    }
    stats(ms)
}

fn control(base: &str, path: &str) {
    let ok = Command::new("curl")
        .args(["-fsS", "-X", "POST", &format!("{base}{path}")])
        .stdout(Stdio::null())
        .status()
        .expect("curl")
        .success();
    assert!(ok, "control {path}");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` probes with --list
    }
    assert!(
        std::env::var_os("PIXIE_TEST_KEYRING").is_some()
            || std::env::var_os("PIXIE_BENCH_ANY_KEYRING").is_some(),
        "run the benchmark through scripts/bench (it needs the local provider and a keychain)"
    );
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut idp = Command::new("node")
        .arg(repo.join("tests/idp/provider.mjs"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node tests/idp/provider.mjs");
    let mut line = String::new();
    BufReader::new(idp.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let issuer = v["issuer"].as_str().unwrap().to_owned();
    let ctl = v["control"].as_str().unwrap().to_owned();
    let home = tempfile::tempdir().unwrap();
    let service = format!("pixie-bench-{}", std::process::id());
    let browser = format!("node {}", repo.join("tests/idp/browser.mjs").display());
    let pixie = |args: &[&str]| {
        let mut c = Command::new(PIXIE);
        c.args(args)
            .env("PIXIE_HOME", home.path())
            .env("PIXIE_KEYRING_SERVICE", &service)
            .env("BROWSER", &browser)
            .env_remove("PIXIE_LOG");
        c
    };
    let ok = |mut c: Command| assert!(c.stdout(Stdio::null()).status().unwrap().success(), "{c:?}");
    ok(pixie(&[
        "profile",
        "add",
        "bench",
        "--issuer",
        &issuer,
        "--client-id",
        "pixie-test",
        "--scope",
        "openid offline_access profile email",
    ]));

    // Sign-ins: parse the engine's own timing line (debug level).
    let mut total = Vec::new();
    let mut provider = Vec::new();
    let mut keychain = Vec::new();
    for _ in 0..20 {
        let mut c = pixie(&["login", "bench"]);
        c.env("PIXIE_LOG", "debug");
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = String::from_utf8_lossy(&out.stderr);
        let field = |name: &str| -> f64 {
            let at = log.find(name).expect("timing line") + name.len() + 1;
            let digits: String = log[at..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<f64>().unwrap() / 1e3
        };
        total.push(field("callback_to_stored_us"));
        provider.push(field("provider_us"));
        keychain.push(field("keychain_write_us"));
    }
    let overhead: Vec<f64> = total.iter().zip(&provider).map(|(t, p)| t - p).collect();

    let cached = time_runs(100, || pixie(&["token", "bench"]));

    // One-second tokens, each due once half its life is gone (the margin is capped at half
    // the lifetime): a pause before each run makes every run a refresh.
    let half_life = std::time::Duration::from_millis(600);
    control(&ctl, "/ttl?access=1");
    ok(pixie(&["login", "bench"]));
    let refresh = time_runs(50, || {
        std::thread::sleep(half_life);
        pixie(&["token", "bench"])
    });
    control(&ctl, "/ttl?access=3600");

    let version = time_runs(50, || pixie(&["--version"]));
    std::thread::sleep(half_life);
    ok(pixie(&["token", "bench"]));
    let floor = time_runs(50, || {
        let mut c = Command::new("secret-tool");
        c.args(["lookup", "service", &service, "username", "session:bench"]);
        c
    });

    println!();
    println!("Pixie latency benchmark (local oidc-provider, gnome-keyring Secret Service)");
    println!("{:<58} {:>9} {:>9} {:>9}", "", "median", "p95", "min");
    let row = |name: &str, s: &Stats| {
        println!(
            "{name:<58} {:>7.2}ms {:>7.2}ms {:>7.2}ms",
            s.median, s.p95, s.min
        )
    };
    row("pixie token, cached token (100 runs)", &cached);
    row(
        "pixie token, refresh due: refresh + store (50 runs)",
        &refresh,
    );
    row(
        "sign-in: callback -> tokens stored (20 sign-ins)",
        &stats(total),
    );
    row("  of which the provider (token exchange)", &stats(provider));
    row(
        "  engine overhead (callback -> stored - provider)",
        &stats(overhead),
    );
    row(
        "    of which the keychain's write (gnome-keyring)",
        &stats(keychain),
    );
    row("floor: pixie --version (process start, 50 runs)", &version);
    row(
        "floor: secret-tool lookup (one keychain read, 50 runs)",
        &floor,
    );
    println!("Goals: cached token <= 10 ms median; engine overhead on the callback path <= 5 ms.");

    let _ = Command::new("secret-tool")
        .args(["clear", "service", &service])
        .status();
    let _ = idp.kill();
    let _ = idp.wait();
    std::thread::sleep(Duration::from_millis(10));
}

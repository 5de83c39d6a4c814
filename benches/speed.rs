//! Pixie's process-level speed beside its references, side by side in one run (issue 10's
//! "Speed"). Run it with `scripts/bench --speed`, which provides the local provider's packages
//! and a private gnome-keyring. Prints figures and ratios; asserts nothing.
//!
//! Every command is started the same way (`std::process::Command`, output to /dev/null) and the
//! commands take turns round by round, so a machine that speeds up or slows down during the run
//! moves them all alike. Ratios are the median of the per-round ratios.
//!
//! - `pixie --version` against a hello-world Rust binary this bench builds (`rustc -O`);
//! - `pixie token` (valid cached token) through a running `pixie agent`, against oidc-agent's
//!   `oidc-token` holding a token from the same provider (Debian's `oidc-agent-cli`);
//! - `pixie token --no-agent`: the keychain path, without the broker.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PIXIE: &str = env!("CARGO_BIN_EXE_pixie");
/// Rounds for the start-up pair, and for the rounds that include keychain reads. The pause
/// between keychain rounds keeps gnome-keyring at a pace real tools produce (a hundred
/// processes a second have crashed it here).
const START_ROUNDS: usize = 300;
const TOKEN_ROUNDS: usize = 100;
const KEYCHAIN_PAUSE: Duration = Duration::from_millis(15);

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` probes with --list
    }
    assert!(
        std::env::var_os("PIXIE_TEST_KEYRING").is_some(),
        "run the benchmark through scripts/bench --speed (it needs the provider and a keychain)"
    );
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = tempfile::tempdir().expect("temp dir");
    let hello = build_hello(work.path());

    let mut idp = Command::new("node")
        .arg(repo.join("tests/idp/provider.mjs"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node tests/idp/provider.mjs");
    let mut line = String::new();
    BufReader::new(idp.stdout.take().expect("provider stdout"))
        .read_line(&mut line)
        .expect("provider's first line");
    let v: serde_json::Value = serde_json::from_str(&line).expect("provider's JSON line");
    let issuer = v["issuer"].as_str().expect("issuer").to_owned();

    let home = work.path().join("pixie-home");
    let socket = work.path().join("agent/agent.sock");
    let service = format!("pixie-speed-{}", std::process::id());
    let browser = format!("node {}", repo.join("tests/idp/browser.mjs").display());
    let pixie = |args: &[&str]| {
        let mut c = Command::new(PIXIE);
        c.args(args)
            .env("PIXIE_HOME", &home)
            .env("PIXIE_KEYRING_SERVICE", &service)
            .env("PIXIE_AGENT_SOCKET", &socket)
            .env("BROWSER", &browser)
            .env_remove("PIXIE_LOG");
        c
    };
    let ok = |mut c: Command| {
        let out = c.stdin(Stdio::null()).output().expect("run");
        assert!(
            out.status.success(),
            "{c:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let scope = "openid offline_access profile";
    ok(pixie(&[
        "profile",
        "add",
        "bench",
        "--issuer",
        &issuer,
        "--client-id",
        "pixie-test",
        "--scope",
        scope,
    ]));
    ok(pixie(&["login", "bench"]));

    let oidc = OidcAgent::start(work.path(), &issuer, || {
        // oidc-agent gets a grant of its own, from the confidential client (whose refresh
        // tokens don't rotate), signed in through Pixie's scripted browser.
        let mut add = pixie(&[
            "profile",
            "add",
            "oidc",
            "--issuer",
            &issuer,
            "--client-id",
            "pixie-confidential",
            "--client-secret-stdin",
            "--scope",
            scope,
        ]);
        add.stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = add.spawn().expect("pixie profile add");
        use std::io::Write;
        let _ = child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"pixie-confidential-secret");
        assert!(child.wait().expect("wait").success(), "profile add oidc");
        ok(pixie(&["login", "oidc"]));
        stored_refresh_token(&service, "oidc")
    });

    let agent = start_agent(&pixie, &socket);

    // Warm the page cache and the agent's memory.
    for _ in 0..5 {
        run(&mut Command::new(&hello));
        run(&mut pixie(&["--version"]));
        run(&mut pixie(&["token", "bench"]));
        run(&mut pixie(&["--no-agent", "token", "bench"]));
        if let Some(o) = &oidc {
            run(&mut o.token());
        }
    }

    let start = rounds(
        START_ROUNDS,
        Duration::ZERO,
        &mut [&mut || Command::new(&hello), &mut || pixie(&["--version"])],
    );
    let mut token_cmds: Vec<Box<dyn FnMut() -> Command>> = vec![
        Box::new(|| pixie(&["--no-agent", "token", "bench"])),
        Box::new(|| pixie(&["token", "bench"])),
    ];
    if let Some(o) = &oidc {
        token_cmds.push(Box::new(|| o.token()));
    }
    let mut refs: Vec<&mut dyn FnMut() -> Command> =
        token_cmds.iter_mut().map(|b| b.as_mut() as _).collect();
    let tokens = rounds(TOKEN_ROUNDS, KEYCHAIN_PAUSE, &mut refs);
    let agent_ok = agent.is_some();

    println!();
    println!(
        "Pixie speed, whole processes, medians ({START_ROUNDS} alternating rounds for start-up, \
         {TOKEN_ROUNDS} for tokens)"
    );
    let row = |name: &str, ms: f64, ratio: &str| println!("  {name:<38} {ms:>7.2} ms  {ratio}");
    row("hello-world (rustc -O)", median(&start[0]), "");
    row(
        "pixie --version",
        median(&start[1]),
        &format!(
            "{:.2}× hello-world   (goal ≤ 1.5×)",
            ratio(&start[1], &start[0])
        ),
    );
    match &oidc {
        Some(o) => row(
            &format!("oidc-token ({})", o.version),
            median(&tokens[2]),
            "",
        ),
        None => println!("  oidc-token: not available (apt-get install oidc-agent-cli)"),
    }
    if agent_ok {
        let vs = match &oidc {
            Some(_) => format!(
                "{:.2}× oidc-token    (goal ≤ 1.0×)",
                ratio(&tokens[1], &tokens[2])
            ),
            None => String::new(),
        };
        row("pixie token, broker running", median(&tokens[1]), &vs);
    } else {
        println!("  broker: not available");
    }
    let vs = match &oidc {
        Some(_) => format!("{:.2}× oidc-token", ratio(&tokens[0], &tokens[2])),
        None => String::new(),
    };
    row(
        "pixie token --no-agent (keychain)",
        median(&tokens[0]),
        &format!("{vs}    (goal < 10 ms)"),
    );

    if let Some(mut a) = agent {
        let _ = a.kill();
        let _ = a.wait();
    }
    let _ = Command::new("secret-tool")
        .args(["clear", "service", &service])
        .status();
    let _ = idp.kill();
    let _ = idp.wait();
}

/// Runs each command once per round, in an order that rotates every round; gives each one's
/// times in milliseconds.
fn rounds(n: usize, pause: Duration, cmds: &mut [&mut dyn FnMut() -> Command]) -> Vec<Vec<f64>> {
    let k = cmds.len();
    let mut ms = vec![Vec::with_capacity(n); k];
    for r in 0..n {
        for i in 0..k {
            let at = (r + i) % k;
            ms[at].push(run(&mut (cmds[at])()));
            std::thread::sleep(pause);
        }
    }
    ms
}

/// One whole-process run in milliseconds; a failure stops the bench, saying why. Its stderr
/// goes to a file (as cheap as /dev/null) that is read only then.
fn run(c: &mut Command) -> f64 {
    let mut stderr = tempfile::tempfile().expect("a file for stderr");
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr.try_clone().expect("stderr file"));
    let start = Instant::now();
    let status = c.status().expect("start");
    let ms = start.elapsed().as_secs_f64() * 1e3;
    if !status.success() {
        use std::io::{Read, Seek};
        let mut said = String::new();
        let _ = stderr
            .rewind()
            .and_then(|()| stderr.read_to_string(&mut said));
        panic!("{c:?} failed: {status}: {said}");
    }
    ms
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The median of the round-by-round ratios a/b.
fn ratio(a: &[f64], b: &[f64]) -> f64 {
    let r: Vec<f64> = a.iter().zip(b).map(|(a, b)| a / b).collect();
    median(&r)
}

fn build_hello(dir: &Path) -> PathBuf {
    let src = dir.join("hello.rs");
    std::fs::write(&src, "fn main() { println!(\"hello, world\"); }\n").expect("write hello.rs");
    let bin = dir.join("hello");
    let ok = Command::new("rustc")
        .args(["-O", "--edition", "2021", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("rustc")
        .success();
    assert!(ok, "rustc -O hello.rs");
    bin
}

/// `pixie agent` on `socket`, once `pixie token` gets its answers from it; `None` when this
/// pixie has no broker.
fn start_agent(pixie: &dyn Fn(&[&str]) -> Command, socket: &Path) -> Option<Child> {
    let has_agent = pixie(&["agent", "--help"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_agent {
        return None;
    }
    let mut child = pixie(&["agent"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pixie agent");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            let _ = child.kill();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child)
}

/// The refresh token in the keychain record Pixie keeps for `profile` (`1:` + JSON).
fn stored_refresh_token(service: &str, profile: &str) -> String {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", service, "username"])
        .arg(format!("session:{profile}"))
        .output()
        .expect("secret-tool");
    let record = String::from_utf8(out.stdout).expect("UTF-8 record");
    let json = record.strip_prefix("1:").expect("an inline session record");
    let v: serde_json::Value = serde_json::from_str(json).expect("session JSON");
    v["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned()
}

/// oidc-agent with a socket and config directory of its own, holding account `bench`.
struct OidcAgent {
    agent: Child,
    sock: PathBuf,
    version: String,
}

impl OidcAgent {
    fn start(dir: &Path, issuer: &str, refresh_token: impl FnOnce() -> String) -> Option<Self> {
        let version = Command::new("oidc-agent")
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())?;
        let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
        let config = dir.join("oidc-agent");
        std::fs::create_dir_all(&config).expect("oidc config dir");
        let sock = config.join("agent.sock");
        let agent = Command::new("oidc-agent")
            .args(["--console", "--no-autoload"])
            .arg(format!("--socket-path={}", sock.display()))
            .env("OIDC_CONFIG_DIR", &config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("oidc-agent");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sock.exists() {
            assert!(Instant::now() < deadline, "oidc-agent made no socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        let this = Self {
            agent,
            sock,
            version,
        };
        let out = Command::new("oidc-gen")
            .arg("bench")
            .arg(format!("--issuer={issuer}"))
            .args([
                "--client-id=pixie-confidential",
                "--client-secret=pixie-confidential-secret",
                "--scope=openid offline_access profile",
                "--redirect-uri=http://localhost:4242",
                "--pw-env=PIXIE_BENCH_OIDC_PW",
                "--confirm-default",
            ])
            .arg(format!("--rt={}", refresh_token()))
            .env("OIDC_SOCK", &this.sock)
            .env("OIDC_CONFIG_DIR", &config)
            .env("PIXIE_BENCH_OIDC_PW", "bench-password")
            .stdin(Stdio::null())
            .output()
            .expect("oidc-gen");
        assert!(
            out.status.success(),
            "oidc-gen: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Some(this)
    }

    fn token(&self) -> Command {
        let mut c = Command::new("oidc-token");
        c.arg("bench").env("OIDC_SOCK", &self.sock);
        c
    }
}

impl Drop for OidcAgent {
    fn drop(&mut self) {
        let _ = self.agent.kill();
        let _ = self.agent.wait();
    }
}

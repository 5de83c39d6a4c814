//! One test's world: a provider, a Pixie home, a keychain service name, and the real `pixie`
//! binary run against them with the scripted browser.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{idp_dir, require_keyring, Idp, PIXIE};

#[derive(Debug, Clone)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "pixie failed:\n{}", self.stderr);
        self
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// One test's world: its own provider, Pixie home and keychain service name.
pub struct Rig {
    pub idp: Idp,
    pub home: tempfile::TempDir,
    pub scratch: tempfile::TempDir,
    pub service: String,
    /// Everything any `pixie` run printed, for the leak check.
    pub transcript: Mutex<String>,
}

impl Rig {
    pub fn new() -> Self {
        Self::with(Idp::start())
    }

    /// A world around a provider started with its own options (`Idp::start_with`).
    pub fn with(idp: Idp) -> Self {
        require_keyring();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        Self {
            idp,
            home: tempfile::tempdir().unwrap(),
            scratch: tempfile::tempdir().unwrap(),
            service: format!("pixie-test-{}-{n}", std::process::id()),
            transcript: Mutex::new(String::new()),
        }
    }

    /// Keeps what a run printed, for the leak check.
    fn record(&self, out: &Out) {
        let mut t = self.transcript.lock().unwrap();
        t.push_str(&out.stdout);
        t.push_str(&out.stderr);
    }

    pub fn browser_log(&self) -> PathBuf {
        self.scratch.path().join("browser.log")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(PIXIE);
        c.args(args)
            .env("PIXIE_HOME", self.home.path())
            .env("PIXIE_KEYRING_SERVICE", &self.service)
            .env(
                "BROWSER",
                format!("node {}", idp_dir().join("browser.mjs").display()),
            )
            .env("PIXIE_TEST_BROWSER_LOG", self.browser_log())
            .env_remove("PIXIE_TEST_SCENARIO")
            .env_remove("PIXIE_LOG")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = Out::from(c.output().expect("run pixie"));
        self.record(&out);
        out
    }

    /// Runs `pixie`, killing it (and failing the test) if it has not ended within `limit`.
    #[track_caller]
    pub fn run_within(&self, args: &[&str], limit: Duration) -> Out {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run pixie");
        let started = Instant::now();
        while child.try_wait().expect("wait for pixie").is_none() {
            if started.elapsed() > limit {
                let _ = child.kill();
                panic!("pixie {args:?} still running after {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = Out::from(child.wait_with_output().expect("pixie output"));
        self.record(&out);
        out
    }

    pub fn pixie(&self, args: &[&str]) -> Out {
        self.run(args, &[])
    }

    /// Runs `pixie` with `input` on its stdin (e.g. for `--client-secret-stdin`).
    pub fn pixie_with_stdin(&self, args: &[&str], env: &[(&str, &str)], input: &[u8]) -> Out {
        use std::io::Write;
        let mut c = self.command(args);
        c.envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("run pixie");
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = Out::from(child.wait_with_output().unwrap());
        self.record(&out);
        out
    }

    /// A profile for the provider's public test client.
    pub fn add_profile(&self, name: &str) {
        self.pixie(&[
            "profile",
            "add",
            name,
            "--issuer",
            &self.idp.issuer,
            "--client-id",
            "pixie-test",
            "--scope",
            "openid offline_access",
            "--scope",
            "profile email",
        ])
        .ok();
    }

    /// A profile for a confidential client, its secret given on stdin.
    pub fn add_confidential(
        &self,
        name: &str,
        client_id: &str,
        secret: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Out {
        let mut args = vec![
            "profile",
            "add",
            name,
            "--issuer",
            &self.idp.issuer,
            "--client-id",
            client_id,
            "--client-secret-stdin",
        ];
        args.extend_from_slice(extra);
        self.pixie_with_stdin(&args, env, format!("{secret}\n").as_bytes())
    }

    pub fn login(&self, name: &str) -> Out {
        self.pixie(&["login", name, "--timeout", "30"]).ok()
    }

    /// Signs in with a 2 s access token and waits past half its life: the next `token`
    /// refreshes (the margin asked for is capped at half the lifetime).
    pub fn login_due(&self, name: &str) -> Out {
        self.idp.control("/ttl?access=2");
        let out = self.login(name);
        self.idp.control("/ttl?access=3600");
        std::thread::sleep(Duration::from_millis(1100));
        out
    }

    pub fn token(&self, name: &str) -> String {
        self.pixie(&["token", name]).ok().stdout.trim().to_owned()
    }

    /// What the real keychain holds (read with libsecret's `secret-tool`, not with Pixie).
    pub fn keychain(&self, account: &str) -> Option<String> {
        let out = Command::new("secret-tool")
            .args(["lookup", "service", &self.service, "username", account])
            .output()
            .expect("secret-tool (libsecret-tools)");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
            .filter(|s| !s.is_empty())
    }

    /// Writes `value` into the real keychain under `account`, as something other than Pixie
    /// would (with libsecret's `secret-tool`).
    pub fn store_keychain(&self, account: &str, value: &[u8]) {
        let status = Command::new("secret-tool")
            .args([
                "store",
                "--label=x",
                "service",
                &self.service,
                "username",
                account,
            ])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().expect("a stdin pipe").write_all(value)?;
                c.wait()
            })
            .expect("secret-tool (libsecret-tools)");
        assert!(status.success());
    }

    /// Removes every keychain item under `account`, Pixie's and any other copy.
    pub fn clear_keychain(&self, account: &str) {
        let status = Command::new("secret-tool")
            .args(["clear", "service", &self.service, "username", account])
            .status()
            .expect("secret-tool (libsecret-tools)");
        assert!(status.success());
    }

    /// The stored session, as JSON.
    pub fn session(&self, profile: &str) -> Option<Value> {
        let raw = self.keychain(&format!("session:{profile}"))?;
        let json = raw.strip_prefix("1:").expect("inline session entry");
        Some(serde_json::from_str(json).unwrap())
    }

    pub fn stored_refresh_token(&self, profile: &str) -> String {
        self.session(profile).expect("a stored session")["refresh_token"]
            .as_str()
            .expect("a refresh token")
            .to_owned()
    }

    pub fn browser_steps(&self) -> Vec<Value> {
        std::fs::read_to_string(self.browser_log())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn step(&self, name: &str) -> Option<Value> {
        self.browser_steps().into_iter().find(|s| s["step"] == name)
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = Command::new("secret-tool")
            .args(["clear", "service", &self.service])
            .status();
    }
}

/// Signs in while the provider issues 2 s access tokens and waits past half their life, so the
/// next `token` refreshes (the margin asked for is capped at half the lifetime).
pub fn signed_in_with_due_token(rig: &Rig, name: &str) {
    rig.add_profile(name);
    rig.login_due(name);
}

/// Waits until `f` holds or `limit` passes.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

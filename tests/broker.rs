//! The token broker (`pixie agent`) against the real provider and keychain: the CLI's answers
//! through it equal the keychain path's, no answer carries a refresh token or an ID token,
//! another user is refused by uid, the socket survives crashes and second starts, and a flood
//! of requests for a due token costs the provider one refresh.

mod support;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{eventually, signed_in_with_due_token, Out, Rig};

/// A `pixie agent` on a private socket, its stderr in a file.
struct Agent {
    child: Child,
    log: PathBuf,
}

impl Agent {
    fn start(rig: &Rig, socket: &Path) -> Self {
        let log = rig.scratch.path().join(format!(
            "agent-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let child = rig
            .command(&["agent"])
            .env("PIXIE_AGENT_SOCKET", socket)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start pixie agent");
        let agent = Self { child, log };
        assert!(
            eventually(Duration::from_secs(10), || agent
                .log()
                .contains("serving on")),
            "the agent did not start: {}",
            agent.log()
        );
        agent
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn served(&self, op: &str) -> usize {
        self.log()
            .lines()
            .filter(|l| l.starts_with(&format!("pixie agent: {op} ")))
            .count()
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait(&mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn socket_in(rig: &Rig) -> PathBuf {
    rig.scratch.path().join("run/agent.sock")
}

/// `pixie ARGS` asking the agent at `socket` (or reading the keychain, with `--no-agent`).
fn pixie(rig: &Rig, socket: &Path, args: &[&str]) -> Out {
    let mut c = rig.command(args);
    c.env("PIXIE_AGENT_SOCKET", socket);
    let o = c.output().expect("run pixie");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// One request over the socket, as raw bytes in and out.
fn exchange(socket: &Path, frame: &[u8]) -> Vec<u8> {
    let mut s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(frame).unwrap();
    let mut answer = Vec::new();
    let mut prefix = [0u8; 4];
    s.read_exact(&mut prefix).unwrap();
    let mut payload = vec![0; u32::from_be_bytes(prefix) as usize];
    s.read_exact(&mut payload).unwrap();
    answer.extend_from_slice(&prefix);
    answer.extend_from_slice(&payload);
    answer
}

fn frame(json: serde_json::Value) -> Vec<u8> {
    let payload = json.to_string().into_bytes();
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&payload);
    out
}

fn answer_json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(&bytes[4..]).unwrap()
}

/// Relative times ("expires in 59m58s") may tick between two runs.
fn without_digits(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

#[test]
fn token_status_and_claims_through_the_agent_equal_the_keychain_path() {
    let rig = Rig::new();
    rig.add_profile("p");
    rig.add_profile("q");
    rig.login("p");
    let socket = socket_in(&rig);
    let agent = Agent::start(&rig, &socket);

    for args in [
        &["token", "p"][..],
        &["token", "p", "--format", "header"],
        &["token", "p", "--format", "exec-credential"],
        &["token", "q", "--format", "exec-credential"],
        &["claims", "p"],
        &["status", "--json"],
        &["status", "p", "--json"],
        &["token", "nope"],
        &["token", "q"],
        &["claims", "nope"],
        &["status", "nope"],
    ] {
        let before = agent.log().lines().count();
        let brokered = pixie(&rig, &socket, args);
        assert_eq!(
            agent.log().lines().count(),
            before + 1,
            "{args:?} went through the agent"
        );
        let mut direct_args = vec!["--no-agent"];
        direct_args.extend_from_slice(args);
        let direct = pixie(&rig, &socket, &direct_args);
        assert_eq!(
            agent.log().lines().count(),
            before + 1,
            "--no-agent {args:?} did not ask the agent"
        );
        assert_eq!(brokered.code, direct.code, "{args:?}: {}", brokered.stderr);
        assert_eq!(brokered.stdout, direct.stdout, "{args:?}");
        assert_eq!(brokered.stderr, direct.stderr, "{args:?}");
    }
    // The exit codes a script sees are the engine's, through the agent too.
    assert_eq!(pixie(&rig, &socket, &["token", "nope"]).code, 2);
    let q = pixie(&rig, &socket, &["token", "q"]);
    assert_eq!(q.code, 3);
    assert!(q.stderr.contains("run `pixie login q`"), "{}", q.stderr);

    let token = pixie(&rig, &socket, &["token", "p", "--format", "json"]).ok();
    let direct = pixie(
        &rig,
        &socket,
        &["--no-agent", "token", "p", "--format", "json"],
    )
    .ok();
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&token.stdout).unwrap(),
        serde_json::from_str(&direct.stdout).unwrap(),
    );
    for field in ["access_token", "token_type", "expires_at", "scopes"] {
        assert_eq!(a[field], b[field], "{field}");
    }
    let status = pixie(&rig, &socket, &["status"]).ok();
    let direct = pixie(&rig, &socket, &["status", "--no-agent"]).ok();
    assert_eq!(
        without_digits(&status.stdout),
        without_digits(&direct.stdout)
    );
    assert_eq!(rig.idp.userinfo(rig.token("p").as_str()).0, 200);
    assert!(agent.log().contains("/pixie (pid "), "{}", agent.log());
}

#[test]
fn no_answer_carries_a_refresh_token_or_the_id_token() {
    let rig = Rig::new();
    signed_in_with_due_token(&rig, "p");
    let first_rt = rig.stored_refresh_token("p");
    let socket = socket_in(&rig);
    let _agent = Agent::start(&rig, &socket);

    let mut answers = Vec::new();
    for request in [
        serde_json::json!({"v": 1, "op": "hello"}),
        // Due: this one refreshes, and the provider rotates the refresh token.
        serde_json::json!({"v": 1, "op": "token", "profile": "p", "min_valid": 60}),
        serde_json::json!({"v": 1, "op": "token", "profile": "p", "min_valid": 0}),
        serde_json::json!({"v": 1, "op": "status"}),
        serde_json::json!({"v": 1, "op": "status", "profile": "p"}),
        serde_json::json!({"v": 1, "op": "claims", "profile": "p"}),
        serde_json::json!({"v": 1, "op": "token", "profile": "nope", "min_valid": 0}),
    ] {
        answers.push(exchange(&socket, &frame(request)));
    }
    assert_eq!(rig.idp.refresh_count(), 1);
    let token = answer_json(&answers[1]);
    assert_eq!(token["token"]["refreshed"], true, "{token}");
    let access = token["token"]["access_token"].as_str().unwrap();
    assert_eq!(rig.idp.userinfo(access).0, 200);

    let session = rig.session("p").unwrap();
    let new_rt = rig.stored_refresh_token("p");
    assert_ne!(new_rt, first_rt);
    let jwt = session["id_token"]["jwt"].as_str().unwrap().to_owned();
    let all: Vec<u8> = answers.concat();
    for secret in [&first_rt, &new_rt, &jwt] {
        assert!(
            !all.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "an answer carries a secret it must not"
        );
    }
    // The ID token's signature part alone is not in there either.
    let signature = jwt.rsplit('.').next().unwrap();
    assert!(!all
        .windows(signature.len())
        .any(|w| w == signature.as_bytes()));
}

#[test]
fn a_client_running_as_another_user_is_refused_by_uid() {
    let rig = Rig::new();
    rig.add_profile("p");
    rig.login("p");
    let socket = socket_in(&rig);
    let agent = Agent::start(&rig, &socket);
    // Open the way for `nobody`, so that only the uid check stands between it and the token.
    for dir in [rig.scratch.path(), socket.parent().unwrap()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    const CLIENT: &str = r#"
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
req = json.dumps({"v": 1, "op": "token", "profile": "p", "min_valid": 0}).encode()
s.sendall(struct.pack(">I", len(req)) + req)
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data[4:].decode())
"#;
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["/usr/bin/python3", "-c", CLIENT])
        .arg(&socket)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "nobody could not even connect (permissions, not the uid check, refused it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["error"]["cause"]["code"], "denied", "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("user 65534 may not ask"),
        "{answer}"
    );
    assert!(answer.get("token").is_none());
    let token = rig.token("p");
    assert!(!stdout.contains(&token));
    assert!(
        agent.log().contains("uid 65534: refused"),
        "{}",
        agent.log()
    );
}

#[test]
fn killing_the_agent_leaves_the_cli_working_and_a_restarted_agent_takes_the_socket_over() {
    let rig = Rig::new();
    rig.add_profile("p");
    rig.login("p");
    let socket = socket_in(&rig);
    let mut agent = Agent::start(&rig, &socket);
    let token = pixie(&rig, &socket, &["token", "p"]).ok().stdout;
    assert_eq!(agent.served("token"), 1);

    // A crash: the socket stays behind, and nobody answers on it.
    agent.signal("-KILL");
    agent.wait();
    assert!(socket.exists(), "a killed agent leaves its socket");
    assert_eq!(pixie(&rig, &socket, &["token", "p"]).ok().stdout, token);
    assert!(pixie(&rig, &socket, &["status", "p"])
        .ok()
        .stdout
        .contains("signed in"));

    // A new agent takes the stale socket over and serves.
    let mut restarted = Agent::start(&rig, &socket);
    assert_eq!(pixie(&rig, &socket, &["token", "p"]).ok().stdout, token);
    assert_eq!(restarted.served("token"), 1);

    // SIGTERM ends it cleanly and removes the socket.
    restarted.signal("-TERM");
    assert!(restarted.wait().success());
    assert!(!socket.exists(), "the socket is removed on SIGTERM");
    assert!(restarted.log().contains("stopped"), "{}", restarted.log());
}

#[test]
fn a_second_agent_refuses_clearly_and_the_first_keeps_serving() {
    let rig = Rig::new();
    rig.add_profile("p");
    rig.login("p");
    let socket = socket_in(&rig);
    let agent = Agent::start(&rig, &socket);
    let mut second = rig.command(&["agent"]);
    second.env("PIXIE_AGENT_SOCKET", &socket);
    let out = second.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("a token broker is already running on")
            && stderr.contains(&format!("pid {}", agent.child.id())),
        "{stderr}"
    );
    pixie(&rig, &socket, &["token", "p"]).ok();
    assert_eq!(agent.served("token"), 1);
}

#[test]
fn a_thousand_concurrent_requests_for_a_due_token_cause_exactly_one_refresh() {
    let rig = Rig::new();
    signed_in_with_due_token(&rig, "p");
    let old = rig.session("p").unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let socket = socket_in(&rig);
    let _agent = Agent::start(&rig, &socket);

    // Connect all first, then ask at once: a thousand requests in flight together.
    let clients: Vec<_> = (0..1000)
        .map(|_| pixie::broker::Client::connect_to(&socket).expect("the agent accepts"))
        .collect();
    let start = std::sync::Barrier::new(clients.len());
    let tokens: Vec<String> = std::thread::scope(|s| {
        let asks: Vec<_> = clients
            .into_iter()
            .map(|mut c| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    c.token("p", Duration::from_secs(60))
                })
            })
            .collect();
        asks.into_iter()
            .map(|ask| {
                let token = ask.join().unwrap().expect("an answer").expect("a token");
                token.access_token.secret().clone()
            })
            .collect()
    });
    assert_eq!(tokens.len(), 1000);
    let distinct: std::collections::BTreeSet<_> = tokens.iter().collect();
    assert_eq!(distinct.len(), 1, "every caller got the same token");
    assert_ne!(tokens[0], old, "the new token");
    assert_eq!(
        rig.idp.refresh_count(),
        1,
        "exactly one refresh at the provider"
    );
    assert_eq!(rig.idp.userinfo(&tokens[0]).0, 200);
}

#[test]
fn oversized_and_garbage_frames_get_an_error_and_the_agent_goes_on() {
    let rig = Rig::new();
    rig.add_profile("p");
    let socket = socket_in(&rig);
    let agent = Agent::start(&rig, &socket);
    let mut oversized = (64 * 1024 + 1u32).to_be_bytes().to_vec();
    oversized.extend_from_slice(&[b'x'; 100]);
    let mut garbage = 7u32.to_be_bytes().to_vec();
    garbage.extend_from_slice(b"\xff\xfe{{{!x");
    for bytes in [
        oversized,
        garbage,
        frame(serde_json::json!({"v": 1, "op": "rm -rf"})),
    ] {
        let answer = answer_json(&exchange(&socket, &bytes));
        assert_eq!(answer["error"]["kind"], "invalid", "{answer}");
    }
    // A peer that connects and says nothing, or half a frame, is let go; the agent serves on.
    let mut silent = UnixStream::connect(&socket).unwrap();
    silent.write_all(&[0, 0]).unwrap();
    let hello = answer_json(&exchange(
        &socket,
        &frame(serde_json::json!({"v": 1, "op": "hello"})),
    ));
    assert_eq!(hello["hello"]["pid"], agent.child.id(), "{hello}");
    pixie(&rig, &socket, &["status", "p"]).ok();
}

//! The real OpenID Provider: `tests/idp/provider.mjs` (oidc-provider), one per test on an
//! ephemeral loopback port, and its control API.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::http::http;
use super::idp_dir;

/// A running `tests/idp/provider.mjs`.
pub struct Idp {
    child: Child,
    pub issuer: String,
    pub control: String,
    pub port: u16,
}

impl Idp {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> Self {
        // Under a loaded machine node has been seen to stall before it listens: a start is
        // bounded, and a stalled one is retried once, so a test fails instead of hanging CI.
        for attempt in 1..=2 {
            match Self::try_start(args) {
                Ok(idp) => return idp,
                Err(why) if attempt == 1 => eprintln!("provider start failed ({why}); retrying"),
                Err(why) => panic!("provider did not start: {why}"),
            }
        }
        unreachable!()
    }

    fn try_start(args: &[&str]) -> Result<Self, String> {
        const START_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
        let mut child = Command::new("node")
            .arg(idp_dir().join("provider.mjs"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node tests/idp/provider.mjs (run scripts/setup first)");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(START_WAIT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no address within {} s", START_WAIT.as_secs()));
            }
        };
        let v: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{e}: {line:?}"));
            }
        };
        let issuer = v["issuer"].as_str().unwrap().to_owned();
        let port = issuer.rsplit(':').next().unwrap().parse().unwrap();
        Ok(Self {
            child,
            issuer,
            control: v["control"].as_str().unwrap().to_owned(),
            port,
        })
    }

    /// POSTs to the provider's test-control API (`/ttl?access=5`, `/down`, `/up`, `/mode?...`).
    pub fn control(&self, path: &str) {
        let (status, body) = http("POST", &format!("{}{path}", self.control), None, &[]);
        assert_eq!(status, 200, "control {path}: {body}");
    }

    pub fn stats(&self) -> Value {
        let (_, body) = http("GET", &format!("{}/stats", self.control), None, &[]);
        serde_json::from_str(&body).unwrap()
    }

    pub fn refresh_count(&self) -> u64 {
        self.stats()["refresh"].as_u64().unwrap()
    }

    pub fn metadata(&self) -> Value {
        let (_, body) = http(
            "GET",
            &format!("{}/.well-known/openid-configuration", self.issuer),
            None,
            &[],
        );
        serde_json::from_str(&body).unwrap()
    }

    /// Calls the userinfo endpoint with a bearer token: (status, body).
    pub fn userinfo(&self, token: &str) -> (u16, String) {
        let url = self.metadata()["userinfo_endpoint"]
            .as_str()
            .unwrap()
            .to_owned();
        http("GET", &url, Some(token), &[])
    }

    /// A raw refresh-token grant, as another client would send it (the secret in the body).
    pub fn refresh_raw(
        &self,
        client_id: &str,
        secret: Option<&str>,
        refresh_token: &str,
    ) -> (u16, String) {
        let url = self.metadata()["token_endpoint"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ];
        form.extend(secret.map(|s| ("client_secret", s)));
        http("POST", &url, None, &form)
    }

    /// RFC 7009 revocation at the provider, behind Pixie's back.
    pub fn revoke_raw(&self, client_id: &str, token: &str) {
        let url = self.metadata()["revocation_endpoint"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, body) = http(
            "POST",
            &url,
            None,
            &[("token", token), ("client_id", client_id)],
        );
        assert_eq!(status, 200, "revoke: {body}");
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

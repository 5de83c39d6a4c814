//! kubectl: `pixie token --format exec-credential` speaks client-go's exec credential plugin
//! protocol (`client.authentication.k8s.io/v1`, or `v1beta1` when kubectl asks for it), and
//! `pixie kubeconfig` prints a kubeconfig whose user runs exactly that.
//!
//! `pixie token` never signs in or prompts, whether kubectl calls it interactively or not: a
//! needed sign-in fails fast with one line on stderr (`…; run `pixie login NAME``, the CLI's
//! remedy), which kubectl shows as is. No browser ever starts from inside kubectl.

use std::io::Read;
use std::path::Path;

use base64::Engine as _;
use pixie::engine::FreshToken;
use pixie::{Engine, Error, Result};
use serde_json::json;

use super::output::{bare, json_out};

const API_V1: &str = "client.authentication.k8s.io/v1";
const API_V1BETA1: &str = "client.authentication.k8s.io/v1beta1";
/// kubectl's `KUBERNETES_EXEC_INFO` is a few hundred bytes, a few KiB with a cluster's CA data
/// (`provideClusterInfo`); more is not kubectl's, and is not parsed.
const MAX_EXEC_INFO: usize = 64 * 1024;
/// A CA bundle is a few KiB; a bigger "CA file" is the wrong file.
const MAX_CA_FILE: u64 = 1024 * 1024;

/// What kubectl says about the call, from `KUBERNETES_EXEC_INFO`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct ExecInfo {
    /// The ExecCredential version to answer in (the one kubectl sent).
    api_version: &'static str,
    /// Whether kubectl gave the plugin its terminal (`spec.interactive`); echoed back.
    interactive: bool,
}

/// Reads `KUBERNETES_EXEC_INFO`. Without it (run by hand, or by an older client), the answer is
/// `v1`.
fn exec_info() -> Result<ExecInfo> {
    match std::env::var_os("KUBERNETES_EXEC_INFO") {
        None => parse_exec_info(None),
        Some(raw) => match raw.to_str() {
            Some(s) => parse_exec_info(Some(s)),
            None => Err(Error::invalid("KUBERNETES_EXEC_INFO is not UTF-8 JSON")),
        },
    }
}

fn parse_exec_info(raw: Option<&str>) -> Result<ExecInfo> {
    let Some(raw) = raw.filter(|s| !s.trim().is_empty()) else {
        return Ok(ExecInfo {
            api_version: API_V1,
            interactive: false,
        });
    };
    if raw.len() > MAX_EXEC_INFO {
        return Err(Error::invalid(format!(
            "KUBERNETES_EXEC_INFO is over {} KiB; kubectl's is far smaller",
            MAX_EXEC_INFO / 1024
        )));
    }
    let v: serde_json::Value = serde_json::from_str(raw)
        .map_err(|e| Error::invalid(format!("KUBERNETES_EXEC_INFO is not JSON ({e})")))?;
    let api_version = match v.get("apiVersion").and_then(|a| a.as_str()) {
        Some(API_V1) => API_V1,
        Some(API_V1BETA1) => API_V1BETA1,
        other => {
            return Err(Error::invalid(format!(
                "KUBERNETES_EXEC_INFO asks for apiVersion `{:.80}`; Pixie answers {API_V1} and \
                 {API_V1BETA1} (set one of them as the kubeconfig's exec apiVersion)",
                other.unwrap_or("")
            )))
        }
    };
    let interactive = v
        .pointer("/spec/interactive")
        .and_then(|i| i.as_bool())
        .unwrap_or(false);
    Ok(ExecInfo {
        api_version,
        interactive,
    })
}

/// The `ExecCredential` kubectl reads from an exec plugin's stdout.
fn exec_credential(t: &FreshToken, info: &ExecInfo) -> Result<serde_json::Value> {
    // kubectl puts it in an `Authorization` header: it must be a bare token.
    let mut status = json!({ "token": bare(t.access_token.secret(), "access token")? });
    if let Some(e) = t.expires_at {
        // kubectl reuses the token until then, and runs Pixie again after.
        status["expirationTimestamp"] = e.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
    }
    Ok(json!({
        "apiVersion": info.api_version,
        "kind": "ExecCredential",
        "spec": { "interactive": info.interactive },
        "status": status,
    }))
}

/// `pixie token --format exec-credential`: prints `t` for kubectl.
pub(super) fn print_exec_credential(t: &FreshToken) -> Result<()> {
    json_out(&exec_credential(t, &exec_info()?)?)
}

/// `pixie kubeconfig`'s inputs.
pub(super) struct KubeconfigArgs<'a> {
    pub profile: &'a str,
    pub server: &'a str,
    pub ca_file: Option<&'a Path>,
    pub cluster: Option<&'a str>,
    pub user: Option<&'a str>,
    pub context: Option<&'a str>,
}

/// `pixie kubeconfig`: a kubeconfig (JSON, which kubectl reads as it reads YAML) with one
/// cluster, a user whose `exec` runs `pixie token NAME --format exec-credential`, and a context
/// joining them.
pub(super) fn kubeconfig(engine: &Engine, args: KubeconfigArgs<'_>) -> Result<()> {
    let profile = engine.profiles().get(args.profile)?;
    let name = profile.name.as_str();
    let server = api_server(args.server)?;
    let mut cluster = json!({ "server": server });
    if let Some(path) = args.ca_file {
        cluster["certificate-authority-data"] = ca_data(path)?.into();
    }
    let (cluster_name, user, context) = (
        args.cluster.unwrap_or(name),
        args.user.unwrap_or(name),
        args.context.unwrap_or(name),
    );
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{ "name": cluster_name, "cluster": cluster }],
        "users": [{ "name": user, "user": { "exec": exec_entry(name) } }],
        "contexts": [{ "name": context, "context": { "cluster": cluster_name, "user": user } }],
        "current-context": context,
    });
    json_out(&config)
}

/// The user entry's `exec`: the `pixie` installed beside this program (the front, which hands
/// this command here), by absolute path, so the kubeconfig works without `pixie` on kubectl's
/// PATH.
fn exec_entry(profile: &str) -> serde_json::Value {
    let command = std::env::current_exe()
        .ok()
        .map(|p| p.with_file_name(format!("pixie{}", std::env::consts::EXE_SUFFIX)))
        .and_then(|p| p.to_str().map(str::to_owned))
        .unwrap_or_else(|| "pixie".to_owned());
    json!({
        "apiVersion": API_V1,
        "command": command,
        "args": ["token", profile, "--format", "exec-credential"],
        "env": null,
        "interactiveMode": "IfAvailable",
        "provideClusterInfo": false,
        "installHint": format!(
            "Pixie hands out the token for this cluster; install it, then run `pixie login {profile}`"
        ),
    })
}

/// The API server's URL: HTTPS, or plain HTTP to this machine only (a bearer token must not
/// cross the network in clear).
fn api_server(server: &str) -> Result<String> {
    let url = url::Url::parse(server.trim())
        .map_err(|e| Error::invalid(format!("--server `{server}` is not a URL ({e})")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => {}
        "http" if loopback => {}
        _ => {
            return Err(Error::invalid(format!(
                "--server `{server}` must be an https:// URL (http:// only to this machine)"
            )))
        }
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The CA file's PEM, base64 as `certificate-authority-data` wants it: the kubeconfig then
/// works wherever it is copied.
fn ca_data(path: &Path) -> Result<String> {
    let io = |source| Error::FileIo {
        path: path.to_owned(),
        source,
    };
    let mut pem = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_CA_FILE + 1)
        .read_to_end(&mut pem)
        .map_err(io)?;
    if pem.len() as u64 > MAX_CA_FILE
        || !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(Error::invalid(format!(
            "--ca-file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(pem))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(expires_at: Option<chrono::DateTime<chrono::Utc>>) -> FreshToken {
        FreshToken {
            access_token: oauth2::AccessToken::new("tok".into()),
            token_type: "Bearer".into(),
            expires_at,
            scopes: vec![],
            refreshed: false,
            warning: None,
        }
    }

    #[test]
    fn kubectl_is_answered_in_the_version_it_asks_for() {
        let info = parse_exec_info(Some(
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1",
                "spec":{"interactive":true}}"#,
        ))
        .unwrap();
        assert_eq!(info.api_version, API_V1BETA1);
        assert!(info.interactive);
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .unwrap()
            .to_utc();
        let cred = exec_credential(&token(Some(at)), &info).unwrap();
        assert_eq!(cred["apiVersion"], API_V1BETA1);
        assert_eq!(cred["kind"], "ExecCredential");
        assert_eq!(cred["status"]["token"], "tok");
        assert_eq!(
            cred["status"]["expirationTimestamp"],
            "2026-11-30T12:00:00Z"
        );
    }

    #[test]
    fn no_exec_info_means_v1_and_no_expiry_means_none_stated() {
        let info = parse_exec_info(None).unwrap();
        assert_eq!(info.api_version, API_V1);
        let cred = exec_credential(&token(None), &info).unwrap();
        assert!(cred["status"].get("expirationTimestamp").is_none());
    }

    #[test]
    fn other_versions_and_oversized_or_broken_exec_info_are_refused() {
        for bad in [
            r#"{"apiVersion":"client.authentication.k8s.io/v1alpha1"}"#,
            r#"{"spec":{}}"#,
            "not json",
        ] {
            assert!(parse_exec_info(Some(bad)).is_err(), "{bad}");
        }
        let huge = format!(
            r#"{{"apiVersion":"{API_V1}","spec":{{"cluster":{{"x":"{}"}}}}}}"#,
            "a".repeat(MAX_EXEC_INFO)
        );
        let err = parse_exec_info(Some(&huge)).unwrap_err();
        assert!(err.to_string().contains("KiB"), "{err}");
    }

    #[test]
    fn the_api_server_is_https_or_loopback() {
        assert_eq!(
            api_server("https://k8s.example.com:6443/").unwrap(),
            "https://k8s.example.com:6443"
        );
        assert!(api_server("http://127.0.0.1:8080").is_ok());
        assert!(api_server("http://k8s.example.com").is_err());
        assert!(api_server("k8s.example.com").is_err());
    }

    #[test]
    fn the_exec_entry_runs_pixie_token_for_kubectl() {
        let e = exec_entry("work");
        assert_eq!(e["apiVersion"], API_V1);
        assert_eq!(
            e["args"],
            json!(["token", "work", "--format", "exec-credential"])
        );
        assert_eq!(e["interactiveMode"], "IfAvailable");
        assert_eq!(e["provideClusterInfo"], false);
        assert!(Path::new(e["command"].as_str().unwrap()).is_absolute());
    }
}

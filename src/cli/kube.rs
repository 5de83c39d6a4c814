//! kubectl: `pixie kubeconfig` prints a kubeconfig whose user runs `pixie token NAME --format
//! exec-credential` (`exec_credential.rs`).

use std::io::Read;
use std::path::Path;

use base64::Engine as _;
use pixie::{Engine, Error, Result};
use serde_json::json;

use super::exec_credential::API_V1;
use super::output::json_out;

/// A CA bundle is a few KiB; a bigger "CA file" is the wrong file.
const MAX_CA_FILE: u64 = 1024 * 1024;

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

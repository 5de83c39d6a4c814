//! kubectl: `pixie token --format exec-credential` speaks client-go's exec credential plugin
//! protocol (`client.authentication.k8s.io/v1`, or `v1beta1` when kubectl asks for it).
//! Both binaries print it: the front for a token from a running broker, the engine otherwise.
//!
//! `pixie token` never signs in or prompts, whether kubectl calls it interactively or not: a
//! needed sign-in fails fast with one line on stderr (`…; run `pixie login NAME``, the CLI's
//! remedy), which kubectl shows as is. No browser ever starts from inside kubectl.

use pixie::engine::FreshToken;
use pixie::{Error, Result};
use serde_json::json;

use super::output::{bare, json_out};

pub(super) const API_V1: &str = "client.authentication.k8s.io/v1";
const API_V1BETA1: &str = "client.authentication.k8s.io/v1beta1";
/// kubectl's `KUBERNETES_EXEC_INFO` is a few hundred bytes, a few KiB with a cluster's CA data
/// (`provideClusterInfo`); more is not kubectl's, and is not parsed.
const MAX_EXEC_INFO: usize = 64 * 1024;

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
pub(super) fn print(t: &FreshToken) -> Result<()> {
    json_out(&exec_credential(t, &exec_info()?)?)
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
}

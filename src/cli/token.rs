//! `pixie token`: a fresh access token, bare, as a header, or as JSON.

use std::time::Duration;

use pixie::Result;

use super::agent::Source;

use super::args::TokenFormat;
use super::output::{bare, json_out, token_warning};

pub(super) fn token(
    source: &Source,
    name: &str,
    format: TokenFormat,
    min_valid: u64,
) -> Result<()> {
    let t = source.token(name, Duration::from_secs(min_valid))?;
    if let Some(w) = &t.warning {
        token_warning(name, w, t.expires_at);
    }
    match format {
        TokenFormat::Raw => outln!("{}", bare(t.access_token.secret(), "access token")?),
        TokenFormat::Header => outln!(
            "Authorization: {} {}",
            bare(&t.token_type, "token type")?,
            bare(t.access_token.secret(), "access token")?
        ),
        TokenFormat::Json => json_out(&serde_json::json!({
            "access_token": t.access_token.secret(),
            "token_type": t.token_type,
            "expires_at": t.expires_at,
            "expires_in": t.expires_at.map(|e| (e - chrono::Utc::now()).num_seconds().max(0)),
            "scopes": t.scopes,
        }))?,
        TokenFormat::ExecCredential => super::kube::print_exec_credential(&t)?,
    }
    Ok(())
}

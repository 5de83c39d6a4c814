//! `pixie token`: a fresh access token, bare, as a header, or as JSON.

use std::time::Duration;

use pixie::Result;

use super::agent::Source;

use super::args::TokenFormat;
use super::output::{json_out, token_lines, token_warning};

pub(super) fn token(
    source: &Source,
    name: &str,
    format: TokenFormat,
    min_valid: u64,
) -> Result<()> {
    let t = source.token(name, Duration::from_secs(min_valid))?;
    let header = match format {
        TokenFormat::Raw => false,
        TokenFormat::Header => true,
        TokenFormat::Json | TokenFormat::ExecCredential => {
            if let Some(w) = &t.warning {
                token_warning(name, w, t.expires_at);
            }
            if let TokenFormat::ExecCredential = format {
                return super::exec_credential::print(&t);
            }
            return json_out(&serde_json::json!({
                "access_token": t.access_token.secret(),
                "token_type": t.token_type,
                "expires_at": t.expires_at,
                "expires_in": t.expires_at.map(|e| (e - chrono::Utc::now()).num_seconds().max(0)),
                "scopes": t.scopes,
            }));
        }
    };
    // The front (`src/main.rs`) prints these two the same way, through the same function.
    token_lines(name, header, &t)
}

//! `pixie token`: a fresh access token, bare, as a header, as JSON or as kubectl's
//! ExecCredential.

use std::time::Duration;

use pixie::Result;

use super::agent::Source;
use super::args::TokenFormat;
use super::output::token_out;

pub(super) fn token(
    source: &Source,
    name: &str,
    format: TokenFormat,
    min_valid: u64,
) -> Result<()> {
    let t = source.token(name, Duration::from_secs(min_valid))?;
    // The front (`src/main.rs`) prints a broker's answer through the same function.
    token_out(name, format, &t)
}

//! `pixie git-credential`: git's credential-helper protocol (gitcredentials(7),
//! git-credential(1)) over a profile's access token.
//!
//! - `get` answers `username` and `password` (a fresh access token, with
//!   `password_expiry_utc` when its expiry is known, so git never reuses it past then);
//! - `store` does nothing: the keychain already holds the session;
//! - `erase` (git sends it after a 401 with the password it used) marks that access token as
//!   rejected, so the next `get` refreshes. It does not sign out.
//!
//! Git passes `protocol`, `host` (and `path`): the helper answers for whatever git asks, as the
//! person configures it per URL (`credential.https://git.example.com.helper`).

use std::io::{BufRead, Write};

use pixie::engine::DEFAULT_MIN_VALID;
use pixie::{Engine, Error, Result};

use super::agent::Source;
use super::block_on;
use super::output::{bare, token_warning};

/// Git sends a handful of short lines (protocol, host, path, username, password, a few
/// `wwwauth[]` and `capability[]`); more than this is not git talking.
const MAX_REQUEST: usize = 64 * 1024;
const MAX_LINES: usize = 256;

/// `pixie git-credential --profile NAME [--username U] OPERATION`.
pub(super) fn git_credential(
    source: &Source,
    profile: &str,
    username: &str,
    operation: &str,
) -> Result<()> {
    let request = read_request(std::io::stdin().lock())?;
    match operation {
        "get" => {
            // Through the token broker when one runs, as `pixie token` does.
            let t = source.token(profile, DEFAULT_MIN_VALID)?;
            if let Some(w) = &t.warning {
                token_warning(profile, w, t.expires_at);
            }
            let mut answer = format!(
                "username={username}\npassword={}\n",
                bare(t.access_token.secret(), "access token")?
            );
            if let Some(e) = t.expires_at {
                answer.push_str(&format!("password_expiry_utc={}\n", e.timestamp()));
            }
            let mut out = std::io::stdout().lock();
            out.write_all(answer.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| Error::Internal(format!("cannot answer git: {e}")))
        }
        "erase" => {
            if let Some(password) = attribute(&request, "password") {
                // In the keychain, under the session lock: a broker's engine reads the session
                // from there on its next call, so it refreshes too.
                block_on(async {
                    Engine::from_env()?
                        .reject_access_token(profile, password)
                        .await
                })?;
            }
            Ok(())
        }
        // `store`, and whatever git may ask in the future: silently ignored, as
        // gitcredentials(7) asks of helpers.
        _ => Ok(()),
    }
}

fn attribute<'a>(request: &'a [(String, String)], key: &str) -> Option<&'a str> {
    request
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Git's request: `key=value` lines up to a blank line or the end of input, bounded in size
/// and in lines.
fn read_request(input: impl BufRead) -> Result<Vec<(String, String)>> {
    let mut input = input.take(MAX_REQUEST as u64 + 1);
    let mut attributes = Vec::new();
    let (mut total, mut line) = (0, Vec::new());
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::invalid(format!("cannot read git's credential request: {e}")))?;
        total += n;
        if total > MAX_REQUEST {
            return Err(Error::invalid(format!(
                "git's credential request is over {} KiB",
                MAX_REQUEST / 1024
            )));
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if line.is_empty() {
            return Ok(attributes);
        }
        if attributes.len() == MAX_LINES {
            return Err(Error::invalid(format!(
                "git's credential request is over {MAX_LINES} lines"
            )));
        }
        let text = std::str::from_utf8(&line)
            .ok()
            .filter(|t| !t.contains('\0'))
            .and_then(|t| t.split_once('='));
        let Some((key, value)) = text else {
            return Err(Error::invalid(
                "git's credential request has a line that is not `key=value`",
            ));
        };
        attributes.push((key.to_owned(), value.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_requests_are_read_up_to_the_blank_line() {
        let input = b"protocol=https\nhost=git.example.com\npassword=a=b\n\nignored=1\n";
        let r = read_request(&input[..]).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(attribute(&r, "host"), Some("git.example.com"));
        assert_eq!(attribute(&r, "password"), Some("a=b"));
        // The end of input ends a request too.
        let r = read_request(&b"protocol=https"[..]).unwrap();
        assert_eq!(attribute(&r, "protocol"), Some("https"));
    }

    #[test]
    fn oversized_or_malformed_requests_are_refused() {
        let long = format!("wwwauth[]={}\n", "a".repeat(MAX_REQUEST));
        assert!(read_request(long.as_bytes()).is_err());
        let many = "capability[]=x\n".repeat(MAX_LINES + 1);
        assert!(read_request(many.as_bytes()).is_err());
        assert!(read_request(&b"no equals sign\n"[..]).is_err());
        assert!(read_request(&b"k=v\0\n"[..]).is_err());
        assert!(read_request(&b"k=\xff\n"[..]).is_err());
    }

    #[test]
    fn usernames_are_one_line() {
        use super::super::args::parse_username;
        assert!(parse_username("oauth2").is_ok());
        for bad in ["", "a\nb", "a\0"] {
            assert!(parse_username(bad).is_err(), "{bad:?}");
        }
    }
}

//! Output for people and scripts: JSON, durations, warnings, and outside text made safe.

use pixie::engine::{Revocation, TokenWarning};
use pixie::text::{json_terminal_safe as terminal_safe_json, terminal_safe};
use pixie::{Error, Profile, Result};

/// Says what went wrong on stderr, with its remedy, and ends the process with the error's exit
/// status. Messages quote the provider (`error_description`, claims): nothing in them may drive
/// the terminal.
pub fn fail_with(e: &Error) -> ! {
    let remedy = remedy(e).map(|r| format!("; {r}")).unwrap_or_default();
    eprintln!("pixie: {}{remedy}", terminal_safe(&e.to_string()));
    std::process::exit(exit_code(e.kind()))
}

/// The process's exit status for an error of `kind` (listed in `pixie --help`).
pub fn exit_code(kind: pixie::ErrorKind) -> i32 {
    use pixie::ErrorKind;
    match kind {
        ErrorKind::Local => 1,
        ErrorKind::Invalid => 2,
        ErrorKind::SignInRequired => 3,
        ErrorKind::Provider => 4,
        ErrorKind::Keychain => 5,
        ErrorKind::ProfileFile => 6,
        ErrorKind::SignInIncomplete => 7,
    }
}

/// `pixie token`'s output in `format`, its warning first (on stderr). Shared by the front
/// (`src/main.rs`, for a broker's answer) and the engine (`token.rs`).
pub(super) fn token_out(
    name: &str,
    format: super::args::TokenFormat,
    t: &pixie::engine::FreshToken,
) -> Result<()> {
    use super::args::TokenFormat;
    if let Some(w) = &t.warning {
        token_warning(name, w, t.expires_at);
    }
    match format {
        TokenFormat::Raw | TokenFormat::Header => {
            let token = bare(t.access_token.secret(), "access token")?;
            if let TokenFormat::Header = format {
                outln!(
                    "Authorization: {} {token}",
                    bare(&t.token_type, "token type")?
                );
            } else {
                outln!("{token}");
            }
        }
        TokenFormat::ExecCredential => return super::exec_credential::print(t),
        TokenFormat::Json => {
            return json_out(&serde_json::json!({
                "access_token": t.access_token.secret(),
                "token_type": t.token_type,
                "expires_at": t.expires_at,
                "expires_in": t.expires_at.map(|e| (e - chrono::Utc::now()).num_seconds().max(0)),
                "scopes": t.scopes,
            }))
        }
    }
    Ok(())
}

pub(super) fn json_out<T: serde::Serialize>(v: &T) -> Result<()> {
    let s = serde_json::to_string_pretty(v)
        .map_err(|e| Error::Internal(format!("cannot write JSON: {e}")))?;
    // Claims and reasons come from the provider: escape what would drive the terminal.
    outln!("{}", terminal_safe_json(&s));
    Ok(())
}

/// A provider's token or token type as printed bare (or into `curl -H "$(…)"`): only visible
/// ASCII, as RFC 6750's `b64token` and RFC 7230's `token` allow, so it can neither drive the
/// terminal nor add a header line.
pub(super) fn bare<'a>(value: &'a str, what: &str) -> Result<&'a str> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(value)
    } else {
        Err(Error::ProviderError(format!(
            "the provider's {what} contains characters a bearer token cannot have; it is not \
             printed (`--format json` shows it escaped)"
        )))
    }
}

/// What to do about an error, in the command line's words (the engine names no commands).
pub fn remedy(e: &Error) -> Option<String> {
    Some(match e {
        Error::UnknownProfile(_) => "see `pixie profile list`".into(),
        Error::SignInRequired { profile, .. } => format!("run `pixie login {profile}`"),
        Error::CorruptSession { profile, .. } => {
            format!("sign out (`pixie logout {profile}`) and sign in again")
        }
        Error::MissingClientSecret { profile } => {
            format!("set it with `pixie profile edit {profile} --client-secret-stdin`")
        }
        _ => return None,
    })
}

/// Text that came from outside (a provider, a file), made safe to print.
pub(super) fn safe(s: &str) -> std::borrow::Cow<'_, str> {
    terminal_safe(s)
}

pub(super) fn human_duration(d: chrono::Duration) -> String {
    let s = d.num_seconds();
    let (neg, s) = (s < 0, s.abs());
    let text = if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else if s < 86400 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d{:02}h", s / 86400, (s % 86400) / 3600)
    };
    if neg {
        format!("{text} ago")
    } else {
        format!("in {text}")
    }
}

/// The token endpoint on another host than the sign-in page: worth a second look.
pub(super) fn split_endpoints_warning(p: &Profile) {
    if let Some((auth, token)) = p.split_endpoints() {
        eprintln!(
            "Warning: `{}` signs in at {} but sends the code and refresh tokens to {}; make \
             sure both belong to your provider.",
            p.name,
            safe(&auth),
            safe(&token)
        );
    }
}

/// What sign-out (or removal) did at the provider, for a person.
pub(super) fn say_revocation(name: &str, outcome: &Revocation) {
    match outcome {
        Revocation::Revoked => {
            eprintln!("Signed out of `{name}`; the provider revoked the refresh token.")
        }
        Revocation::Skipped => {
            eprintln!("Signed out of `{name}` locally (not revoked at the provider).")
        }
        Revocation::NotSupported => {
            eprintln!("Signed out of `{name}` locally; the provider has no revocation endpoint.")
        }
        Revocation::NothingToRevoke => {
            eprintln!("`{name}` was not signed in (nothing to revoke).")
        }
        Revocation::Unreadable => eprintln!(
            "The session stored for `{name}` was unreadable; it was deleted (not revoked at \
             the provider)."
        ),
        Revocation::Failed(why) => eprintln!(
            "Signed out of `{name}` locally, but the provider did not confirm revocation ({}); \
             the refresh token may stay valid there until it expires.",
            safe(why)
        ),
    }
}

/// What a person must know about a token that was handed out anyway.
pub(super) fn token_warning(
    name: &str,
    w: &TokenWarning,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) {
    let until = expires_at
        .map(|e| format!("expires {}", human_duration(e - chrono::Utc::now())))
        .unwrap_or_else(|| "has no stated expiry".into());
    match w {
        TokenWarning::RefreshBlocked { reason } => eprintln!(
            "Warning: sign-in required for `{name}` soon: {}. This access token {until}; then \
             run `pixie login {name}`.",
            safe(reason)
        ),
        TokenWarning::NotStored {
            reason,
            refresh_token_lost: true,
        } => eprintln!(
            "Warning: the keychain would not store the refreshed tokens for `{name}` ({}). The \
             provider has retired the stored refresh token and the new one is lost when this \
             command ends: this access token {until}; then run `pixie login {name}`.",
            safe(reason)
        ),
        TokenWarning::NotStored { reason, .. } => eprintln!(
            "Warning: the keychain would not store the new access token for `{name}` ({}); the \
             stored refresh token still works, so the next call refreshes again.",
            safe(reason)
        ),
    }
}

/// Writes one line of a result to stdout (see `outln!`).
pub(crate) fn write_line(args: std::fmt::Arguments) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => {}
        // 128 + SIGPIPE, what a shell reports for a process the signal ended.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(141),
        Err(e) => {
            eprintln!("pixie: cannot write the result: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cli_words_the_remedy() {
        use pixie::Error;
        let r = super::remedy(&Error::MissingClientSecret {
            profile: "work".into(),
        });
        assert_eq!(
            r.as_deref(),
            Some("set it with `pixie profile edit work --client-secret-stdin`")
        );
        let r = super::remedy(&Error::UnknownProfile("x".into()));
        assert_eq!(r.as_deref(), Some("see `pixie profile list`"));
        assert!(super::remedy(&Error::Cancelled).is_none());
    }

    #[test]
    fn only_visible_ascii_tokens_are_printed_bare() {
        assert!(super::bare("eyJ.abc-_~+/=", "t").is_ok());
        for bad in ["", "a b", "a\r\nX-Evil: 1", "a\u{1b}[2J", "café"] {
            assert!(super::bare(bad, "t").is_err(), "{bad:?}");
        }
    }
}

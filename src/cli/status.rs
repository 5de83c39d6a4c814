//! `pixie status`: each profile's state as a table, or JSON.

use pixie::engine::SessionState;
use pixie::Result;

use super::agent::Source;

use super::output::{human_duration, json_out, safe};

pub(super) fn status(source: &Source, name: Option<String>, json: bool) -> Result<()> {
    let all = source.status(name.as_deref())?;
    if json {
        return json_out(&all);
    }
    if all.is_empty() {
        eprintln!("No profiles yet. Add one with `pixie profile add`.");
    }
    let now = chrono::Utc::now();
    for s in all {
        let state = match s.state {
            SessionState::SignedOut => "signed out",
            SessionState::SignedIn => "signed in",
            SessionState::RefreshDue => "signed in (refresh due)",
            SessionState::SignInRequired => "sign-in required",
        };
        let mut line = format!("{:<20} {state}", s.profile);
        if let Some(sub) = &s.subject {
            line.push_str(&format!("  as {}", safe(sub)));
        }
        if let Some(e) = s.expires_at.filter(|_| s.state != SessionState::SignedOut) {
            line.push_str(&format!("  token expires {}", human_duration(e - now)));
        }
        if s.state != SessionState::SignedOut {
            line.push_str(if s.has_refresh_token {
                "  refresh token: yes"
            } else {
                "  refresh token: no"
            });
        }
        if let Some(r) = &s.reason {
            line.push_str(&format!("  ({})", safe(r)));
        }
        outln!("{line}");
    }
    Ok(())
}

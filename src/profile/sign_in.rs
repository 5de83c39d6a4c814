//! How a profile signs in: the flow it prefers and the account it is pinned to.

use serde::Serialize;

use super::model::ProfileField;
use crate::error::{Error, Result};

/// A way to sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInFlow {
    /// The system browser on this machine, answering on the loopback listener.
    Browser,
    /// The device grant (RFC 8628): a code entered on any other device.
    Device,
    /// A browser elsewhere; the address of the page it lands on is pasted back.
    Paste,
}

impl SignInFlow {
    /// The name the command line and the profile file use.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInFlow::Browser => "browser",
            SignInFlow::Device => "device",
            SignInFlow::Paste => "paste",
        }
    }

    /// A profile's `flow`: `auto` (or nothing) is `None`, chosen at each sign-in.
    pub fn parse(s: &str) -> Result<Option<Self>> {
        match s.trim() {
            "" | "auto" => Ok(None),
            "browser" => Ok(Some(SignInFlow::Browser)),
            "device" => Ok(Some(SignInFlow::Device)),
            "paste" => Ok(Some(SignInFlow::Paste)),
            other => Err(Error::invalid_field(
                ProfileField::Flow,
                format!(
                    "unknown sign-in flow `{}` (use auto, browser, device or paste)",
                    crate::text::terminal_safe(other)
                ),
            )),
        }
    }
}

/// The account a profile is pinned to: a sign-in as anyone else is refused and stores nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpectedAccount {
    /// The ID token's `sub` must be this.
    pub sub: Option<String>,
    /// The ID token's `email` must be this (compared without regard to case).
    pub email: Option<String>,
}

impl ExpectedAccount {
    /// Whether anything is pinned.
    pub fn is_set(&self) -> bool {
        self.sub.is_some() || self.email.is_some()
    }

    /// Who is expected, in words (`sub alice`, `email a@example.com`).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.sub {
            parts.push(format!("sub {s}"));
        }
        if let Some(e) = &self.email {
            parts.push(format!("email {e}"));
        }
        parts.join(", ")
    }

    /// Whether the signed-in account (its `sub` and `email` claims) is the expected one.
    pub fn matches(&self, sub: Option<&str>, email: Option<&str>) -> bool {
        let sub_ok = self.sub.as_deref().is_none_or(|want| sub == Some(want));
        let email_ok = self
            .email
            .as_deref()
            .is_none_or(|want| email.is_some_and(|got| got.eq_ignore_ascii_case(want)));
        sub_ok && email_ok
    }
}

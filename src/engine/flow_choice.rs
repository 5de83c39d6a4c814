//! Which way a sign-in goes: the browser on this machine with a loopback redirect, the device
//! grant (RFC 8628), or paste-back (the browser runs elsewhere; the person pastes the address
//! its dead loopback page shows). `--flow auto` picks from what the surroundings show.

pub use crate::profile::SignInFlow;

/// What a sign-in was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlowRequest {
    /// The profile's flow if it names one, else picked from the surroundings (and whether the
    /// provider offers the device grant).
    Auto(Surroundings),
    /// This flow, whatever the surroundings.
    Exactly(SignInFlow),
}

impl Default for FlowRequest {
    /// A front that says nothing gets today's behaviour: the browser.
    fn default() -> Self {
        FlowRequest::Exactly(SignInFlow::Browser)
    }
}

/// What the environment shows about where a browser could run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Surroundings {
    /// `$BROWSER` is set, or the profile names a browser command: someone said how.
    pub browser_named: bool,
    /// In an SSH session (`SSH_CONNECTION`/`SSH_TTY`): a browser started here is not in front
    /// of the person.
    pub ssh: bool,
    /// Inside WSL, where a Linux browser may not exist and the Windows one is not the default.
    pub wsl: bool,
    /// A graphical session is there (`DISPLAY`/`WAYLAND_DISPLAY`; always on macOS and Windows).
    pub display: bool,
}

impl Surroundings {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
        let wsl = set("WSL_DISTRO_NAME")
            || set("WSL_INTEROP")
            || std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .is_ok_and(|s| s.to_ascii_lowercase().contains("microsoft"));
        Self {
            browser_named: set("BROWSER"),
            ssh: set("SSH_CONNECTION") || set("SSH_TTY"),
            wsl,
            display: cfg!(any(target_os = "macos", windows))
                || set("DISPLAY")
                || set("WAYLAND_DISPLAY"),
        }
    }

    /// The flow, and why, in words for a person: browser where one can open in front of the
    /// person, else the device grant where the provider offers it, else paste-back.
    pub fn choose(&self, device_offered: bool) -> (SignInFlow, &'static str) {
        if self.browser_named {
            return (
                SignInFlow::Browser,
                "a browser command is set ($BROWSER or the profile's)",
            );
        }
        let headless = if self.ssh {
            "this is an SSH session"
        } else if self.wsl {
            "this is WSL"
        } else if !self.display {
            "no graphical session (DISPLAY/WAYLAND_DISPLAY unset)"
        } else {
            return (SignInFlow::Browser, "a graphical session is available");
        };
        match device_offered {
            true => (SignInFlow::Device, headless),
            false => (SignInFlow::Paste, headless),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s() -> Surroundings {
        Surroundings {
            display: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_desktop_gets_the_browser() {
        assert_eq!(s().choose(true).0, SignInFlow::Browser);
    }

    #[test]
    fn a_named_browser_wins_over_every_headless_sign() {
        let named = Surroundings {
            browser_named: true,
            ssh: true,
            wsl: true,
            display: false,
        };
        assert_eq!(named.choose(true).0, SignInFlow::Browser);
    }

    #[test]
    fn each_headless_sign_prefers_device_then_paste() {
        for (headless, why) in [
            (Surroundings { ssh: true, ..s() }, "SSH"),
            (Surroundings { wsl: true, ..s() }, "WSL"),
            (
                Surroundings {
                    display: false,
                    ..s()
                },
                "DISPLAY",
            ),
        ] {
            let (flow, reason) = headless.choose(true);
            assert_eq!(flow, SignInFlow::Device);
            assert!(reason.contains(why), "{reason}");
            assert_eq!(headless.choose(false).0, SignInFlow::Paste);
        }
    }
}

//! Opening the system browser. A trait, so the GUI can use Tauri's opener and tests a script.
//!
//! Order: `$BROWSER` (a `:`-separated list of commands, as xdg-utils reads it; the URL replaces
//! `%s` or is appended), then the profile's browser command, then the platform's default opener.
//! Pixie never waits for the browser to exit.

use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// Opens a URL for the person to sign in. A trait so that the desktop app can use its own opener
/// and tests a scripted browser.
pub trait Browser: Send + Sync {
    /// Opens `url` and returns without waiting for the browser to exit.
    fn open(&self, url: &str) -> Result<()>;
}

/// A browser that fails the test if it is opened: for the paths that must stop before the
/// person is sent anywhere.
#[cfg(test)]
pub(crate) struct NeverBrowser;

#[cfg(test)]
impl Browser for NeverBrowser {
    fn open(&self, url: &str) -> Result<()> {
        panic!("no browser may open on this path (asked to open {url})");
    }
}

/// The person's browser, as configured.
#[derive(Clone, Debug, Default)]
pub struct SystemBrowser {
    /// The profile's browser command, tried after `$BROWSER`.
    pub profile_command: Option<String>,
}

impl Browser for SystemBrowser {
    fn open(&self, url: &str) -> Result<()> {
        let mut failures = Vec::new();
        if let Some(list) = std::env::var("BROWSER")
            .ok()
            .filter(|s| !s.trim().is_empty())
        {
            for cmd in browser_list(&list) {
                match run_command(cmd, url) {
                    Ok(()) => return Ok(()),
                    Err(e) => failures.push(format!("$BROWSER `{cmd}`: {e}")),
                }
            }
        }
        if let Some(cmd) = &self.profile_command {
            match run_command(cmd, url) {
                Ok(()) => return Ok(()),
                Err(e) => failures.push(format!("profile browser `{cmd}`: {e}")),
            }
        }
        match open::that_detached(url) {
            Ok(()) => Ok(()),
            Err(e) => {
                failures.push(format!("default opener: {e}"));
                Err(Error::Browser(failures.join("; ")))
            }
        }
    }
}

/// The commands in a `$BROWSER` value, in order.
pub fn browser_list(list: &str) -> impl Iterator<Item = &str> {
    let sep = if cfg!(windows) { ';' } else { ':' };
    list.split(sep).filter(|c| !c.trim().is_empty())
}

/// The argv that [`run_command`] starts for `cmd` and the URL, without starting anything.
pub fn command_argv(cmd: &str, url: &str) -> std::result::Result<Vec<String>, String> {
    let mut words = shell_words::split(cmd).map_err(|e| e.to_string())?;
    if words.is_empty() {
        return Err("empty command".into());
    }
    if words.iter().any(|w| w.contains("%s")) {
        for w in &mut words {
            *w = w.replace("%s", url);
        }
    } else {
        words.push(url.to_owned());
    }
    Ok(words)
}

/// Starts `cmd` with the URL and leaves it running (reaped by a background thread).
pub fn run_command(cmd: &str, url: &str) -> std::result::Result<(), String> {
    let words = command_argv(cmd, url)?;
    let mut child = Command::new(&words[0])
        .args(&words[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_or_appends_the_url() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let cmd = format!("sh -c 'echo \"$0\" > {}' %s", out.display());
        run_command(&cmd, "http://x/?a=1&b=2").unwrap();
        for _ in 0..100 {
            if std::fs::read_to_string(&out).is_ok_and(|s| !s.is_empty()) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(
            std::fs::read_to_string(&out).unwrap().trim(),
            "http://x/?a=1&b=2"
        );
        assert!(run_command("/nonexistent/browser", "http://x").is_err());
    }
}

//! Logging through `tracing`. `PIXIE_LOG` (error|warn|info|debug|trace) sets the level for
//! Pixie's own code only: dependencies stay at `warn`, because their debug output can carry wire
//! data (request bodies, headers) that Pixie does not control. Pixie's own logs never contain a
//! token: tokens are secret types whose `Debug` is redacted and are never logged by value.

use tracing_subscriber::EnvFilter;

/// Sends Pixie's logs to stderr at `$PIXIE_LOG`'s level, else at `default_level`. Calling it
/// again does nothing.
pub fn init(default_level: &str) {
    let level = std::env::var("PIXIE_LOG")
        .ok()
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| ["error", "warn", "info", "debug", "trace", "off"].contains(&l.as_str()))
        .unwrap_or_else(|| default_level.to_owned());
    let filter = EnvFilter::new(format!("warn,pixie={level}"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

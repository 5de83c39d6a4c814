//! Logging through `tracing`. `PIXIE_LOG` (error|warn|info|debug|trace) sets the level for
//! Pixie's own code only: dependencies stay at `warn`, because their debug output can carry wire
//! data (request bodies, headers) that Pixie does not control. Pixie's own logs never contain a
//! token: tokens are secret types whose `Debug` is redacted and are never logged by value.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::Layer as _;

/// Sends Pixie's logs to stderr at `$PIXIE_LOG`'s level, else at `default_level`. Calling it
/// again does nothing.
pub fn init(default_level: &str) {
    let parse = |l: &str| match l.trim().to_ascii_lowercase().as_str() {
        "error" => Some(LevelFilter::ERROR),
        "warn" => Some(LevelFilter::WARN),
        "info" => Some(LevelFilter::INFO),
        "debug" => Some(LevelFilter::DEBUG),
        "trace" => Some(LevelFilter::TRACE),
        "off" => Some(LevelFilter::OFF),
        _ => None,
    };
    let level = std::env::var("PIXIE_LOG")
        .ok()
        .and_then(|l| parse(&l))
        .or_else(|| parse(default_level))
        .unwrap_or(LevelFilter::WARN);
    // A fixed filter, not `EnvFilter`: that one compiles regexes at every start, which showed
    // in the time `pixie token` takes. Targets match by prefix, so `pixie` covers
    // `pixie_desktop` too, as before.
    let filter = Targets::new()
        .with_default(LevelFilter::WARN)
        .with_target("pixie", level);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .try_init();
}

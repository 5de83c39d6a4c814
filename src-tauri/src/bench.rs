//! Figures for `scripts/bench-desktop`: when the process started, and the UI's first paint.

use std::sync::OnceLock;
use std::time::Instant;

use crate::ipc::ReadyReport;

static STARTED: OnceLock<Instant> = OnceLock::new();

/// When the process started (for the cold-start benchmark).
pub fn started() -> Instant {
    *STARTED.get_or_init(Instant::now)
}

/// The UI's first paint of the list. With `PIXIE_BENCH` set, the time since start goes to stderr
/// for `scripts/bench-desktop`.
pub fn first_paint(report: &ReadyReport) {
    let since_start = started().elapsed().as_secs_f64() * 1000.0;
    tracing::debug!(since_start, render_ms = report.render_ms, "first paint");
    if std::env::var_os("PIXIE_BENCH").is_some() {
        eprintln!(
            "pixie-bench ready ms_since_start={since_start:.1} render_ms={:.1} profiles={}",
            report.render_ms, report.profiles
        );
    }
}

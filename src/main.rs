//! `pixie`: the command line. See `pixie --help`.
//!
//! This program is the front. Tools such as kubectl, git and scripts call `pixie token` for
//! every operation; when a token broker (`pixie agent`, or the app) runs, this program asks it
//! for a bare, header or kubectl (ExecCredential) token and prints the answer (token, warning
//! or error) as the engine would, without loading the engine. Everything else (every other command or format, no
//! broker, an exchange that broke) is handed to `pixie-engine` beside it, which replaces this
//! process with the same arguments, so exit codes, signals and the terminal behave as one
//! program.
//!
//! Both parse with the one definition (`cli/args.rs`) and word results with the same `output`
//! module, so help, usage errors, `--version` and messages are the same from either.

/// As the engine's (`cli/mod.rs`), for the shared `output` module.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}

#[allow(dead_code)]
#[path = "cli/args.rs"]
mod args;
#[path = "cli/exec_credential.rs"]
mod exec_credential;
#[allow(dead_code, unused_macros)]
#[path = "cli/output.rs"]
mod output;

use std::time::Duration;

use clap::Parser;

fn main() {
    let cli = args::Cli::parse();
    // Logging costs a little at every start; the broker path logs only at debug level.
    if std::env::var_os("PIXIE_LOG").is_some() {
        pixie::init_logging("warn");
    }
    match from_broker(&cli) {
        Some(Ok(())) => {}
        Some(Err(e)) => output::fail_with(&e),
        None => hand_over(&[]),
    }
}

/// `pixie token NAME` (bare, as a header, or as kubectl's ExecCredential) answered by a running
/// broker, or `None` when the engine is to answer. Once the broker was asked, its answer is
/// final here (an error, or a policy's refusal, is printed as the engine would), so that nobody
/// is asked twice; only an exchange that broke goes on to the engine, without the broker, as
/// the engine itself falls back to the keychain then.
fn from_broker(cli: &args::Cli) -> Option<pixie::Result<()>> {
    let args::Command::Token {
        name,
        format:
            format @ (args::TokenFormat::Raw
            | args::TokenFormat::Header
            | args::TokenFormat::ExecCredential),
        min_valid,
    } = &cli.command
    else {
        return None;
    };
    if cli.no_agent {
        return None;
    }
    let mut broker = pixie::broker::Client::connect()?;
    let t = match broker.token(name, Duration::from_secs(*min_valid)) {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return Some(Err(e)),
        Err(_) => hand_over(&["--no-agent"]),
    };
    // The engine prints these the same way, through the same function (`cli/token.rs`).
    Some(output::token_out(name, *format, &t))
}

/// Replaces this process with `pixie-engine` (beside this program) and the same arguments,
/// `extra` first.
fn hand_over(extra: &[&str]) -> ! {
    let engine = std::env::current_exe()
        .map(|me| me.with_file_name(format!("pixie-engine{}", std::env::consts::EXE_SUFFIX)));
    let engine = match engine {
        Ok(path) => path,
        Err(e) => fail(&format!("cannot tell where this program is: {e}")),
    };
    let mut command = std::process::Command::new(&engine);
    command.args(extra).args(std::env::args_os().skip(1));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // As it was started (`ps`, `pgrep -f pixie` see `pixie agent`, not the engine's path).
        if let Some(name) = std::env::args_os().next() {
            command.arg0(name);
        }
        let e = command.exec();
        fail(&format!("cannot start {}: {e}", engine.display()))
    }
    #[cfg(not(unix))]
    match command.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(e) => fail(&format!("cannot start {}: {e}", engine.display())),
    }
}

fn fail(message: &str) -> ! {
    eprintln!(
        "pixie: {}; reinstall Pixie",
        pixie::text::terminal_safe(message)
    );
    std::process::exit(1)
}

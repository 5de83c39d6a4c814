//! `pixie`: the command-line front of the Pixie engine. See `pixie --help`.

mod cli;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    pixie::init_logging("warn");
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pixie: cannot start: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(cli::run(cli));
    // Don't wait for stray blocking tasks (e.g. a browser reaper) at exit.
    runtime.shutdown_background();
    if let Err(e) = result {
        // Messages quote the provider (`error_description`, claims): nothing in them may drive
        // the terminal.
        let remedy = cli::remedy(&e)
            .map(|r| format!("; {r}"))
            .unwrap_or_default();
        eprintln!(
            "pixie: {}{remedy}",
            pixie::text::terminal_safe(&e.to_string())
        );
        std::process::exit(cli::exit_code(e.kind()));
    }
}

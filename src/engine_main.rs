//! `pixie-engine`: the whole command line over the Pixie engine. People run `pixie`, which
//! answers a token from a running broker itself and hands every other command here, with the
//! same arguments (see `src/main.rs`).

mod cli;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    pixie::init_logging("warn");
    let result = cli::run(cli);
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

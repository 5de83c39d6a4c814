//! `pixie`: the command-line front of the Pixie engine. See `pixie --help`.

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

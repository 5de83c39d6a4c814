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
        cli::fail_with(&e);
    }
}

//! portnote's entry point: parse arguments, run the command, map the result to an exit status
//! (0 success, 1 a --fail-on condition met, 2 error).

use clap::Parser;
use portnote::cli::Cli;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match portnote::commands::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portnote: {e}");
            ExitCode::from(2)
        }
    }
}

//! One function per subcommand: wires capture, decode, registry, flow, aggregate and report.

pub mod lookup;
pub mod registry;

use crate::cli::{Cli, Command};
use crate::{Error, Outcome};

/// Run the parsed command line.
pub fn run(cli: Cli) -> Result<Outcome, Error> {
    match cli.command {
        Command::Lookup(args) => lookup::run(&args, &cli.registry, &mut std::io::stdout().lock()),
        Command::Registry(command) => {
            registry::run(&command, &cli.registry, &mut std::io::stdout().lock())
        }
        Command::Annotate(_) | Command::Summary(_) => {
            Err(Error::Usage("not implemented yet".to_string()))
        }
    }
}

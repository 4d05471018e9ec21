//! One function per subcommand: wires capture, decode, registry, flow, aggregate and report.

use crate::cli::{Cli, Command};
use crate::{Error, Outcome};

/// Run the parsed command line.
pub fn run(cli: Cli) -> Result<Outcome, Error> {
    match cli.command {
        Command::Lookup(_) | Command::Registry(_) | Command::Annotate(_) | Command::Summary(_) => {
            Err(Error::Usage("not implemented yet".to_string()))
        }
    }
}

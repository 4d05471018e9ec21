//! One function per subcommand: wires capture, decode, registry, flow, aggregate and report.

pub mod annotate;
pub mod input;
pub mod live;
pub mod pipeline;
pub mod summary;

use crate::cli::{Cli, Command};
use crate::registry::Registry;
use crate::{Error, Outcome};
use std::io::{BufWriter, Write};

/// Run the parsed command line, writing to standard output.
pub fn run(cli: Cli) -> Result<Outcome, Error> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let outcome = match &cli.command {
        Command::Lookup(_) | Command::Registry(_) => {
            Err(Error::Usage("not implemented yet".to_string()))
        }
        Command::Annotate(args) => annotate::run(args, &load_registry(&cli)?, &mut out),
        Command::Summary(args) => summary::run(args, &load_registry(&cli)?, &mut out),
        Command::Live(args) => live::run(args, &load_registry(&cli)?, &mut out),
    }?;
    out.flush().map_err(Error::Output)?;
    Ok(outcome)
}

fn load_registry(_cli: &Cli) -> Result<Registry, Error> {
    Ok(Registry::default())
}

//! One function per subcommand: wires capture, decode, registry, flow, aggregate and report.

pub mod annotate;
pub mod annotate_pcapng;
pub mod flows;
pub mod input;
pub mod install;
pub mod ipfix;
pub mod live;
pub mod lookup;
pub mod merge;
pub mod metrics;
pub mod registry;
pub mod summary;
#[cfg(test)]
mod test_frames;

use crate::cli::{Cli, Command};
use portnote::{Error, Outcome};
use std::io::{BufWriter, Write};

/// Run the parsed command line, writing to standard output.
pub fn run(cli: Cli) -> Result<Outcome, Error> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let source = cli.registry.source();
    let load = || portnote::registry::load(&source);
    let outcome = match &cli.command {
        Command::Lookup(args) => lookup::run(args, &source, &mut out),
        Command::Registry(command) => registry::run(command, &source, &mut out),
        Command::Annotate(args) => annotate::run(args, &load()?, &mut out),
        Command::Summary(args) => summary::run(args, &load()?, &mut out),
        Command::Live(args) => live::run(args, &load()?, &mut out),
        Command::Merge(args) => merge::run(args, &mut out),
        Command::Flows(args) => flows::run(args, &load()?, &mut out),
        Command::Completions { shell } => install::completions(*shell, &mut out),
        Command::Man => install::man(&mut out),
    }?;
    match out.flush() {
        // The reader of the output went away (`| head`): what was left unwritten is lost, but
        // the outcome (a --fail-on verdict, input errors) still decides the exit status.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(outcome),
        flushed => flushed.map(|()| outcome).map_err(Error::Output),
    }
}

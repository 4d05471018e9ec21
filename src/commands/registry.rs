//! `portnote registry info|export|update`: which registry is in use, every slot of it, and
//! replacing it with a fresh download.

use crate::cli::RegistryCommand;
use portnote::registry::{self, update};
use portnote::report::registry::{export, write_info};
use portnote::{Error, Outcome};
use std::io::Write;

/// Run a `portnote registry` subcommand.
pub fn run(
    command: &RegistryCommand,
    opts: &registry::RegistrySource,
    out: &mut dyn Write,
) -> Result<Outcome, Error> {
    match command {
        RegistryCommand::Info { format } => {
            let registry = registry::load(opts)?;
            write_info(&registry, (*format).into(), out).map_err(Error::Output)?;
        }
        RegistryCommand::Export { format } => {
            let registry = registry::load(opts)?;
            export(&registry, (*format).into(), out).map_err(Error::Output)?;
        }
        RegistryCommand::Update { url } => {
            let (path, registry) = update::update(url)?;
            let date = registry.date().unwrap_or("unknown");
            writeln!(
                out,
                "saved {url} as {} (registry date {date}, {} rows); later runs use it",
                path.display(),
                registry.entries().len()
            )
            .map_err(Error::Output)?;
        }
    }
    Ok(Outcome::Success)
}

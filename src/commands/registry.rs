//! `portnote registry info|export|update`: which registry is in use, every slot of it, and
//! replacing it with a fresh download.

use crate::cli::RegistryCommand;
use portnote::registry::{self, update, RegistryError};
use portnote::report::registry::{export, write_info, write_unusable};
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
            let registry = match registry::load(opts) {
                Ok(registry) => registry,
                Err(error @ RegistryError::SavedUnusable { .. }) => {
                    // Say what is in use and what to do on stdout too; the error (stderr, exit
                    // 2) follows, as for every other command.
                    write_unusable(&error, (*format).into(), out).map_err(Error::Output)?;
                    return Err(error.into());
                }
                Err(error) => return Err(error.into()),
            };
            write_info(&registry, (*format).into(), out).map_err(Error::Output)?;
        }
        RegistryCommand::Export { format } => {
            let registry = registry::load(opts)?;
            export(&registry, (*format).into(), out).map_err(Error::Output)?;
        }
        RegistryCommand::Update { url, from } => {
            let (path, registry) = match from {
                Some(file) => update::update_from(file)?,
                None => update::update(url)?,
            };
            let origin = from
                .as_ref()
                .map_or_else(|| url.clone(), |f| f.display().to_string());
            let date = registry.date().unwrap_or("unknown");
            writeln!(
                out,
                "saved {origin} as {} (registry date {date}, {} rows); later runs use it",
                path.display(),
                registry.entries().len()
            )
            .map_err(Error::Output)?;
        }
        RegistryCommand::Reset => {
            let (path, removed) = update::reset()?;
            if removed {
                writeln!(
                    out,
                    "removed {}; later runs use the embedded snapshot",
                    path.display()
                )
            } else {
                writeln!(
                    out,
                    "no saved registry at {}; the embedded snapshot is in use \
                     (unless --registry or PORTNOTE_REGISTRY names a file)",
                    path.display()
                )
            }
            .map_err(Error::Output)?;
        }
    }
    Ok(Outcome::Success)
}

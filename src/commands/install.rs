//! `portnote completions SHELL` and `portnote man`: what an installation wants beside the
//! binary, generated from the same clap definition as `--help`, so they never fall behind it.

use crate::cli::Cli;
use clap::CommandFactory;
use portnote::{Error, Outcome};
use std::io::Write;

/// The completion script for `shell`, for the binary named `portnote`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<Outcome, Error> {
    let mut command = Cli::command();
    // clap_complete's shells panic when a write fails: they write into memory, and a failed
    // write to stdout (a closed pipe, a full disk) is then handled like any other.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "portnote", &mut script);
    out.write_all(&script).map_err(Error::Output)?;
    Ok(Outcome::Success)
}

/// The manual page, portnote(1), in roff: clap_mangen's page of the top level (name, synopsis,
/// description, options, the list of commands, version), then one section per command with its
/// synopsis, description and options (clap_mangen's sections of that command, as subsections).
pub fn man(out: &mut dyn Write) -> Result<Outcome, Error> {
    let mut command = Cli::command();
    // Building sets every command's full name (`portnote summary`) for the synopses.
    command.build();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut page)
        .map_err(Error::Output)?;
    // clap's own `help` command needs no section.
    for sub in command.get_subcommands().filter(|c| c.get_name() != "help") {
        let name = sub
            .get_bin_name()
            .map_or_else(|| format!("portnote {}", sub.get_name()), str::to_owned);
        let man = clap_mangen::Man::new(sub.clone());
        let mut section = Vec::new();
        man.render_synopsis_section(&mut section)
            .map_err(Error::Output)?;
        man.render_description_section(&mut section)
            .map_err(Error::Output)?;
        man.render_options_section(&mut section)
            .map_err(Error::Output)?;
        if sub.has_subcommands() {
            man.render_subcommands_section(&mut section)
                .map_err(Error::Output)?;
        }
        writeln!(page, ".SH \"COMMAND: {}\"", name.to_uppercase()).map_err(Error::Output)?;
        page.extend_from_slice(&demote_sections(&section));
    }
    out.write_all(&page).map_err(Error::Output)?;
    Ok(Outcome::Success)
}

/// Section headings (`.SH`) become subsection headings (`.SS`): a command's synopsis and
/// options sit under the command's own section.
fn demote_sections(roff: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(roff);
    let mut demoted = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match line.strip_prefix(".SH ") {
            Some(rest) => {
                demoted.push_str(".SS ");
                demoted.push_str(rest);
            }
            None => demoted.push_str(line),
        }
    }
    demoted.into_bytes()
}

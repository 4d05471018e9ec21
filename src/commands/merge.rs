//! `portnote merge`: one summary out of several `summary --format json` outputs.

use crate::cli::{MergeArgs, TableFormat};
use portnote::report::merge::merge;
use portnote::report::summary::{write_csv, write_json, write_table, SummaryReport, TableStyle};
use portnote::{Error, Outcome};
use std::io::{IsTerminal, Read, Write};
use std::path::Path;

pub fn run(args: &MergeArgs, out: &mut dyn Write) -> Result<Outcome, Error> {
    let mut reports = Vec::new();
    for path in &args.files {
        reports.extend(read_summaries(path)?);
    }
    let merged = merge(reports, args.sort.into()).map_err(|e| Error::Usage(e.to_string()))?;
    write(out, &merged, args).map_err(Error::Output)?;
    Ok(if merged.totals.capture_errors > 0 {
        Outcome::InputErrors
    } else {
        Outcome::Success
    })
}

/// One input file: a summary object, or the array `summary --per-file` prints.
fn read_summaries(path: &Path) -> Result<Vec<SummaryReport>, Error> {
    let name = path.display().to_string();
    let input_error = |source| Error::Input {
        path: name.clone(),
        source,
    };
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(input_error)?;
    } else {
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .map_err(input_error)?;
    }
    let invalid = |e: serde_json::Error| {
        input_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not a `portnote summary --format json` output: {e}"),
        ))
    };
    if text.trim_start().starts_with('[') {
        serde_json::from_str(&text).map_err(invalid)
    } else {
        serde_json::from_str(&text)
            .map(|one| vec![one])
            .map_err(invalid)
    }
}

fn write(out: &mut dyn Write, report: &SummaryReport, args: &MergeArgs) -> std::io::Result<()> {
    match args.format {
        TableFormat::Json => write_json(out, report),
        TableFormat::Csv => write_csv(out, report),
        TableFormat::Table => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            write_table(
                out,
                report,
                TableStyle {
                    color,
                    top: args.top,
                },
            )?;
            for note in &report.notes {
                writeln!(out, "Note: {note}")?;
            }
            Ok(())
        }
    }
}

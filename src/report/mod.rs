//! All rendering: writers over `impl Write` for the summary (table, JSON, CSV), per-packet
//! annotations (text, NDJSON, CSV), the live view, `lookup`'s rows and the registry's info and
//! export. They take finished data and never compute counts of their own.
//!
//! Shared by every writer: the output formats ([`Format`], [`ExportFormat`]), the one adapter
//! from CSV errors to I/O errors ([`csv_to_io`]) and the one decision about the terminal and
//! colour ([`Stdout`]).

pub mod annotate;
pub mod comment;
pub mod flows;
pub mod html;
pub mod ipfix;
pub mod live;
pub mod lookup;
pub mod merge;
pub mod parquet;
pub mod registry;
pub mod summary;
pub mod timeline;
pub mod units;

use std::io::{self, IsTerminal};

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    Json,
    Csv,
}

/// How `registry export` writes every slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportFormat {
    #[default]
    Csv,
    /// One JSON array.
    Json,
}

/// The csv crate wraps I/O errors; unwrap them so a closed pipe stays recognisable (the
/// crate's own `From` for `io::Error` would hide it under `Other`).
pub fn csv_to_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// What standard output is, decided once for every writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stdout {
    /// A terminal: the live view may redraw in place.
    pub terminal: bool,
    /// Colour tables: on a terminal, unless `NO_COLOR` is set (no-color.org).
    pub color: bool,
}

impl Stdout {
    pub fn detect() -> Stdout {
        let terminal = io::stdout().is_terminal();
        Stdout {
            terminal,
            color: terminal && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A reader that went away (`portnote ... | head`).
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
    }

    /// Every CSV writer goes through `csv_to_io`, so a closed pipe stays a broken pipe and the
    /// run ends quietly (the csv crate's own conversion would turn it into `Other`).
    #[test]
    fn csv_errors_keep_a_closed_pipe_recognisable() {
        let mut writer = csv::WriterBuilder::new()
            .buffer_capacity(1)
            .from_writer(ClosedPipe);
        let e = writer
            .write_record(["a", "b"])
            .and_then(|()| writer.flush().map_err(csv::Error::from))
            .unwrap_err();
        assert_eq!(csv_to_io(e).kind(), io::ErrorKind::BrokenPipe);

        let report = summary::SummaryReport::build(
            &crate::aggregate::Aggregator::default(),
            crate::flow::FlowStats::default(),
            Vec::new(),
            summary::SortKey::Bytes,
        );
        let e = summary::write_csv(&mut ClosedPipe, &report).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }
}

//! `lookup`'s rows: what the registry says of one (transport, port) slot, or of a name
//! registered without one, as a table, JSON or CSV.

use super::{csv_to_io, Format};
use crate::registry::{Class, Status};
use crate::transport::Transport;
use serde::Serialize;
use std::io::{self, Write};

/// One output row: a slot, or a name registered without a slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub transport: Option<Transport>,
    pub port: Option<u16>,
    pub status: Option<Status>,
    pub class: Option<Class>,
    pub service: Option<String>,
    pub other_names: Vec<String>,
    /// None (JSON null, as everywhere) when no row describes the slot.
    pub description: Option<String>,
    pub unauthorized: Option<String>,
}

const HEADER: [&str; 8] = [
    "transport",
    "port",
    "status",
    "class",
    "service",
    "other_names",
    "description",
    "unauthorized",
];

fn cells(row: &Row) -> [String; 8] {
    let or_empty = |s: Option<&str>| s.unwrap_or("").to_string();
    [
        or_empty(row.transport.map(Transport::as_str)),
        row.port.map_or(String::new(), |p| p.to_string()),
        or_empty(row.status.map(Status::as_str)),
        or_empty(row.class.map(Class::as_str)),
        or_empty(row.service.as_deref()),
        row.other_names.join(" "),
        or_empty(row.description.as_deref()),
        or_empty(row.unauthorized.as_deref()),
    ]
}

/// Widest a table cell may be, per column; longer text ends in `…`.
const TABLE_WIDTHS: [usize; 8] = [4, 5, 10, 7, 40, 40, 60, 80];

fn shorten(text: String, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text;
    }
    let mut short: String = text.chars().take(limit.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// `lookup`'s rows as a table, JSON or CSV.
pub fn write_rows(rows: &[Row], format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, rows).map_err(io::Error::from)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut writer = ::csv::Writer::from_writer(&mut *out);
            writer.write_record(HEADER).map_err(csv_to_io)?;
            for row in rows {
                writer.write_record(cells(row)).map_err(csv_to_io)?;
            }
            writer.flush()?;
        }
        Format::Table => {
            // Multi-line IANA notes would break the alignment: one line per row. A few very
            // long descriptions would pad every line, so the table shortens them (CSV and JSON
            // keep the full text).
            let table: Vec<[String; 8]> = rows
                .iter()
                .map(|row| {
                    let mut column = 0;
                    cells(row).map(|c| {
                        let c = c.split_whitespace().collect::<Vec<_>>().join(" ");
                        let limit = TABLE_WIDTHS.get(column).copied().unwrap_or(usize::MAX);
                        column += 1;
                        if c.is_empty() {
                            "-".to_string()
                        } else {
                            shorten(c, limit)
                        }
                    })
                })
                .collect();
            let header = HEADER.map(|h| h.replace('_', " ").to_uppercase());
            let mut widths = header.clone().map(|h| h.chars().count());
            for row in &table {
                for (w, cell) in widths.iter_mut().zip(row) {
                    *w = (*w).max(cell.chars().count());
                }
            }
            let mut out = io::BufWriter::new(out);
            for row in std::iter::once(&header).chain(&table) {
                let mut line = String::new();
                let last = row.len().saturating_sub(1);
                for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                    if i == last {
                        line.push_str(cell);
                    } else if i == 1 {
                        // Port numbers right-aligned.
                        line.push_str(&format!("{cell:>w$}  "));
                    } else {
                        line.push_str(&format!("{cell:<w$}  "));
                    }
                }
                writeln!(out, "{}", line.trim_end())?;
            }
            out.flush()?;
        }
    }
    Ok(())
}

//! What `registry info` and `registry export` print: which registry is in use, and every slot
//! of it.

use super::{csv_to_io, ExportFormat, Format};
use crate::registry::{Counts, Registry, RegistryError, Source};
use crate::transport::Transport;
use serde::Serialize;
use std::io::{self, Write};

#[derive(Serialize)]
struct Info<'r> {
    source: &'static str,
    path: Option<String>,
    description: String,
    date: Option<&'r str>,
    overlays: Vec<String>,
    counts: indexmap::IndexMap<&'static str, Counts>,
    /// Rows left out because portnote does not read their transport (`ddp`), by protocol.
    skipped: &'r std::collections::BTreeMap<String, u64>,
}

fn info(registry: &Registry) -> Info<'_> {
    let (source, path) = match registry.source() {
        Source::Embedded => ("embedded", None),
        Source::Updated(p) => ("updated", Some(p.display().to_string())),
        Source::File(p) => ("file", Some(p.display().to_string())),
    };
    Info {
        source,
        path,
        description: registry.source().to_string(),
        date: registry.date(),
        overlays: registry
            .overlays()
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        counts: Transport::ALL
            .iter()
            .map(|t| (t.as_str(), registry.counts(*t)))
            .collect(),
        skipped: registry.skipped(),
    }
}

/// `registry info` when the saved copy does not load: which file, why, and the way out.
pub fn write_unusable(
    error: &RegistryError,
    format: Format,
    out: &mut dyn Write,
) -> io::Result<()> {
    let RegistryError::SavedUnusable { path, source } = error else {
        return Ok(());
    };
    let [reset, update, update_from] = [
        "portnote registry reset",
        "portnote registry update",
        "portnote registry update --from FILE",
    ];
    match format {
        Format::Json => {
            let value = serde_json::json!({
                "source": "updated",
                "path": path,
                "usable": false,
                "error": source.to_string(),
                "fix": [reset, update, update_from],
            });
            serde_json::to_writer_pretty(&mut *out, &value).map_err(io::Error::from)?;
            writeln!(out)
        }
        // CSV has no place for it: the message on stderr says it all.
        Format::Csv => Ok(()),
        Format::Table => {
            writeln!(out, "source    updated copy {path}")?;
            writeln!(out, "status    unusable: {source}")?;
            writeln!(
                out,
                "fix       {reset}               remove it: later runs use the embedded snapshot"
            )?;
            writeln!(out, "          {update}              download a new copy")?;
            writeln!(out, "          {update_from}  replace it from a local file")
        }
    }
}

/// `registry info`: source, date, overlays and counts per transport and status.
pub fn write_info(registry: &Registry, format: Format, out: &mut dyn Write) -> io::Result<()> {
    let info = info(registry);
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &info).map_err(io::Error::from)?;
            writeln!(out)
        }
        Format::Csv => {
            writeln!(out, "transport,assigned,reserved,unassigned")?;
            for (t, c) in &info.counts {
                writeln!(out, "{t},{},{},{}", c.assigned, c.reserved, c.unassigned)?;
            }
            Ok(())
        }
        Format::Table => {
            writeln!(out, "source    {}", info.description)?;
            writeln!(out, "date      {}", info.date.unwrap_or("unknown"))?;
            for overlay in &info.overlays {
                writeln!(out, "overlay   {overlay}")?;
            }
            if !info.skipped.is_empty() {
                let total: u64 = info.skipped.values().sum();
                let each: Vec<String> = info
                    .skipped
                    .iter()
                    .map(|(name, count)| format!("{name} {count}"))
                    .collect();
                writeln!(
                    out,
                    "skipped   {total} rows on transports portnote does not read ({})",
                    each.join(", ")
                )?;
            }
            writeln!(out)?;
            writeln!(
                out,
                "{:<9}  {:>8}  {:>8}  {:>10}",
                "TRANSPORT", "ASSIGNED", "RESERVED", "UNASSIGNED"
            )?;
            for (t, c) in &info.counts {
                writeln!(
                    out,
                    "{t:<9}  {:>8}  {:>8}  {:>10}",
                    c.assigned, c.reserved, c.unassigned
                )?;
            }
            Ok(())
        }
    }
}

/// One slot. Absent values are JSON `null` (as in `summary` and `lookup`) and empty CSV cells.
#[derive(Serialize)]
struct ExportRow<'r> {
    transport: &'static str,
    port: u16,
    status: &'static str,
    class: &'static str,
    service: Option<&'r str>,
    unauthorized: Option<&'r str>,
}

/// `registry export`: every slot, transport by transport, port by port: 262,144 rows.
pub fn export(registry: &Registry, format: ExportFormat, out: &mut dyn Write) -> io::Result<()> {
    let rows = Transport::ALL.into_iter().flat_map(|t| {
        (0..=u16::MAX).map(move |port| {
            let info = registry.port(t, port);
            ExportRow {
                transport: t.as_str(),
                port,
                status: info.status.as_str(),
                class: info.class.as_str(),
                service: info.service,
                unauthorized: info.unauthorized,
            }
        })
    });
    match format {
        ExportFormat::Csv => {
            let mut writer = ::csv::WriterBuilder::new()
                .buffer_capacity(1 << 16)
                .from_writer(out);
            for row in rows {
                writer.serialize(row).map_err(csv_to_io)?;
            }
            writer.flush()
        }
        ExportFormat::Json => {
            let mut out = io::BufWriter::with_capacity(1 << 16, out);
            out.write_all(b"[\n")?;
            for (i, row) in rows.enumerate() {
                if i > 0 {
                    out.write_all(b",\n")?;
                }
                serde_json::to_writer(&mut out, &row).map_err(io::Error::from)?;
            }
            out.write_all(b"\n]\n")?;
            out.flush()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Entry, PortRange};

    fn sample() -> Registry {
        let mut finger = Entry {
            name: "finger".to_string().into(),
            ports: Some(PortRange {
                first: 79,
                last: 79,
            }),
            transport: Some(Transport::Tcp),
            ..Entry::default()
        };
        finger.unauthorized = "seen, often".into();
        Registry::build(
            vec![finger],
            Source::File("x.csv".into()),
            Some("2025-01-01".into()),
        )
    }

    #[test]
    fn export_csv_has_every_slot_and_quotes_notes() {
        let mut out = Vec::new();
        export(&sample(), ExportFormat::Csv, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 4 * 65536);
        assert_eq!(lines[0], "transport,port,status,class,service,unauthorized");
        assert_eq!(lines[1], "tcp,0,unassigned,system,,");
        assert_eq!(
            lines[1 + 79],
            "tcp,79,assigned,system,finger,\"seen, often\""
        );
        assert_eq!(lines[4 * 65536], "dccp,65535,unassigned,dynamic,,");
    }

    #[test]
    fn export_json_is_an_array_of_every_slot() {
        let mut out = Vec::new();
        export(&sample(), ExportFormat::Json, &mut out).unwrap();
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
        assert_eq!(rows.len(), 4 * 65536);
        assert_eq!(rows[79]["service"], "finger");
        assert_eq!(rows[79]["unauthorized"], "seen, often");
        assert_eq!(rows[65536]["transport"], "udp");
        // Issue 13: absent is null, as in summary and lookup, not "".
        assert!(rows[80]["service"].is_null(), "{}", rows[80]);
        assert!(rows[80]["unauthorized"].is_null(), "{}", rows[80]);
    }

    #[test]
    fn info_names_source_date_and_counts() {
        let mut out = Vec::new();
        write_info(&sample(), Format::Json, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["source"], "file");
        assert_eq!(v["path"], "x.csv");
        assert_eq!(v["date"], "2025-01-01");
        assert_eq!(v["counts"]["tcp"]["assigned"], 1);
        assert_eq!(v["counts"]["tcp"]["unassigned"], 65535);
        assert_eq!(v["counts"]["udp"]["unassigned"], 65536);
    }
}

//! The summary report: a serializable model built from an [`Aggregator`], and its table, JSON
//! and CSV writers. The JSON schema is documented in the README; `version` changes when it does.

use crate::aggregate::timeline::Timeline;
use crate::aggregate::{Aggregator, Row, Section};
use crate::capture::Timestamp;
use crate::flow::FlowStats;
use crate::registry::{Class, Status};
use crate::report::timeline::TimelineReport;
use crate::report::units::{human_bytes, human_count, human_duration, share_percent};
use crate::report::{csv_to_io, Format};
use crate::transport::Transport;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::net::IpAddr;

/// Version of the JSON schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The order of a section's rows: by this, descending (ties by the other two counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Bytes,
    Packets,
    Flows,
}

/// One capture input as the report names it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputReport {
    pub file: String,
    pub packets: u64,
    /// The error that ended reading this input early, if any.
    pub error: Option<String>,
    /// The input could not be opened or was no capture at all: nothing of it is in the report.
    #[serde(skip)]
    pub unopened: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TotalsReport {
    pub packets: u64,
    pub bytes: u64,
    pub packets_with_ports: u64,
    pub packets_without_ports: u64,
    pub flows: u64,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub duration_seconds: f64,
    pub files: usize,
    pub capture_errors: usize,
    pub flows_expired: u64,
    pub flows_evicted: u64,
    pub decisions_revised: u64,
    /// Flows (as counted in `flows`) by the evidence their service side rests on, every kind
    /// always present: `handshake`, `rank`, `fan-in`, `first-packet`, `port-order`. (Owned
    /// names and `default`: `merge` reads summaries back, older ones too.)
    #[serde(default)]
    pub flows_by_evidence: indexmap::IndexMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowReport {
    pub section: Section,
    pub transport: Transport,
    pub service: Option<String>,
    pub ports: Vec<u16>,
    pub status: Status,
    pub class: Class,
    pub unauthorized: Option<String>,
    pub flows: u64,
    /// Of `flows`, those whose packets went one way only (a SYN or datagrams nobody answered).
    /// (`default`: `merge` reads summaries written before these counts existed.)
    #[serde(default)]
    pub flows_unanswered: u64,
    /// Of `flows`, those the server turned away: TCP resets only, or ICMP port unreachable.
    #[serde(default)]
    pub flows_refused: u64,
    pub packets: u64,
    pub bytes: u64,
    /// Fraction of all bytes (packets without ports included), 0..1.
    pub share: f64,
    pub packets_to_server: u64,
    pub bytes_to_server: u64,
    pub packets_to_client: u64,
    pub bytes_to_client: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Server addresses, for rows outside the assigned section.
    pub servers: Vec<IpAddr>,
    pub servers_truncated: bool,
    /// Distinct client addresses, for rows outside the assigned section: exact up to
    /// [`crate::aggregate::MAX_CLIENTS_PER_ROW`], more when `clients_truncated`.
    /// (`default`, as for the flow states: `merge` reads older summaries.)
    #[serde(default)]
    pub clients: usize,
    #[serde(default)]
    pub clients_truncated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NoPortsReport {
    pub packets: u64,
    pub bytes: u64,
}

/// The whole summary of one or more inputs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SummaryReport {
    pub version: u32,
    pub inputs: Vec<InputReport>,
    pub totals: TotalsReport,
    /// Sorted by section (assigned, unassigned, dynamic), then by the sort key, descending.
    pub rows: Vec<RowReport>,
    /// Reason -> packets without ports.
    pub no_ports: IndexMap<String, u64>,
    /// Reason -> packets and bytes without ports.
    pub no_ports_detail: IndexMap<String, NoPortsReport>,
    /// What a reader should know about how the counts were made (`portnote merge` says that a
    /// flow spanning two inputs counts in each); absent when there is nothing to say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Packets and bytes per time bucket and section.
    #[serde(default)]
    pub timeline: TimelineReport,
    /// The counts behind `timeline`, for charts that want fewer, wider buckets.
    #[serde(skip)]
    pub timeline_counts: Timeline,
}

impl SummaryReport {
    pub fn build(
        aggregator: &Aggregator,
        flows: FlowStats,
        inputs: Vec<InputReport>,
        sort: SortKey,
    ) -> Self {
        let totals = aggregator.totals();
        let mut rows: Vec<RowReport> = aggregator
            .rows()
            .map(|row| row_report(row, totals.bytes))
            .collect();
        sort_rows(&mut rows, sort);
        let mut reasons: Vec<_> = aggregator.no_ports().iter().collect();
        reasons.sort_by(|a, b| b.1.packets.cmp(&a.1.packets).then_with(|| a.0.cmp(b.0)));
        let no_ports = reasons
            .iter()
            .map(|(r, c)| (r.to_string(), c.packets))
            .collect();
        let no_ports_detail = reasons
            .iter()
            .map(|(r, c)| {
                (
                    r.to_string(),
                    NoPortsReport {
                        packets: c.packets,
                        bytes: c.bytes,
                    },
                )
            })
            .collect();
        let without: u64 = aggregator.no_ports().values().map(|c| c.packets).sum();
        let duration_seconds = match (totals.first_seen, totals.last_seen) {
            (Some(first), Some(last)) => (last.as_nanos() - first.as_nanos()) as f64 / 1e9,
            _ => 0.0,
        };
        SummaryReport {
            version: SCHEMA_VERSION,
            totals: TotalsReport {
                packets: totals.packets,
                bytes: totals.bytes,
                packets_with_ports: rows.iter().map(|r| r.packets).sum(),
                packets_without_ports: without,
                flows: rows.iter().map(|r| r.flows).sum(),
                first_seen: totals.first_seen,
                last_seen: totals.last_seen,
                duration_seconds,
                files: inputs.len(),
                capture_errors: inputs.iter().filter(|i| i.error.is_some()).count(),
                flows_expired: flows.expired,
                flows_evicted: flows.evicted,
                decisions_revised: flows.revised,
                flows_by_evidence: aggregator
                    .flows_by_evidence()
                    .map(|(evidence, flows)| (evidence.as_str().to_string(), flows))
                    .collect(),
            },
            inputs,
            rows,
            no_ports,
            no_ports_detail,
            notes: Vec::new(),
            timeline: TimelineReport::build(aggregator.timeline()),
            timeline_counts: aggregator.timeline().clone(),
        }
    }

    pub fn rows_in(&self, section: Section) -> impl Iterator<Item = &RowReport> {
        self.rows.iter().filter(move |r| r.section == section)
    }
}

/// By section (assigned, unassigned, dynamic), then by the sort key, descending.
pub(crate) fn sort_rows(rows: &mut [RowReport], sort: SortKey) {
    rows.sort_by(|a, b| {
        let key = |r: &RowReport| match sort {
            SortKey::Bytes => (r.bytes, r.packets, r.flows),
            SortKey::Packets => (r.packets, r.bytes, r.flows),
            SortKey::Flows => (r.flows, r.bytes, r.packets),
        };
        a.section
            .cmp(&b.section)
            .then_with(|| key(b).cmp(&key(a)))
            .then_with(|| a.transport.cmp(&b.transport))
            .then_with(|| a.ports.cmp(&b.ports))
    });
}

fn row_report(row: &Row, total_bytes: u64) -> RowReport {
    RowReport {
        section: row.section(),
        transport: row.transport,
        service: row.service.clone(),
        ports: row.ports.iter().copied().collect(),
        status: row.status,
        class: row.class,
        unauthorized: row.unauthorized.clone(),
        flows: row.flows,
        flows_unanswered: row.flows_unanswered,
        flows_refused: row.flows_refused,
        packets: row.packets(),
        bytes: row.bytes(),
        share: if total_bytes == 0 {
            0.0
        } else {
            row.bytes() as f64 / total_bytes as f64
        },
        packets_to_server: row.to_server.packets,
        bytes_to_server: row.to_server.bytes,
        packets_to_client: row.to_client.packets,
        bytes_to_client: row.to_client.bytes,
        first_seen: row.first_seen,
        last_seen: row.last_seen,
        servers: row.servers.iter().copied().collect(),
        servers_truncated: row.servers_truncated,
        clients: row.clients.len(),
        clients_truncated: row.clients_truncated,
    }
}

/// `{"version":..,"totals":..,"rows":[..],"no_ports":{..}}` plus a newline.
pub fn write_json(out: &mut dyn Write, report: &SummaryReport) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// Several reports (`--per-file`, or one over all inputs) in one format: JSON as one object,
/// or an array of them with `per_file`; CSV one after another; tables each under a `== file`
/// line with `per_file`.
pub fn write_reports(
    out: &mut dyn Write,
    reports: &[SummaryReport],
    format: Format,
    per_file: bool,
    style: TableStyle,
) -> io::Result<()> {
    match format {
        Format::Json => match reports {
            [one] if !per_file => write_json(out, one),
            many => {
                serde_json::to_writer_pretty(&mut *out, many).map_err(io::Error::from)?;
                out.write_all(b"\n")
            }
        },
        Format::Csv => match reports {
            [one] if !per_file => write_csv(out, one),
            many => write_csv_per_file(out, many),
        },
        Format::Table => {
            for (i, report) in reports.iter().enumerate() {
                if per_file {
                    if i > 0 {
                        writeln!(out)?;
                    }
                    let name = report.inputs.first().map(|i| i.file.as_str()).unwrap_or("");
                    writeln!(out, "== {name}")?;
                }
                write_table(out, report, style)?;
            }
            Ok(())
        }
    }
}

/// CSV columns of [`write_csv`].
pub const CSV_HEADER: &str = "section,transport,service,ports,status,class,flows,packets,bytes,share,\
packets_to_server,bytes_to_server,packets_to_client,bytes_to_client,first_seen,last_seen,servers,unauthorized,\
flows_unanswered,flows_refused";

/// One line per row, then one per reason without ports (section `no_ports`, reason in `service`).
pub fn write_csv(out: &mut dyn Write, report: &SummaryReport) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_HEADER.split(',')).map_err(csv_to_io)?;
    for record in csv_records(report) {
        w.write_record(&record).map_err(csv_to_io)?;
    }
    w.flush()
}

/// `summary --per-file`: one header, then [`write_csv`]'s lines of every report, each behind a
/// `file` column that names the report's input.
pub fn write_csv_per_file(out: &mut dyn Write, reports: &[SummaryReport]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(std::iter::once("file").chain(CSV_HEADER.split(',')))
        .map_err(csv_to_io)?;
    for report in reports {
        let file = report.inputs.first().map(|i| i.file.as_str()).unwrap_or("");
        for record in csv_records(report) {
            w.write_record(std::iter::once(file).chain(record.iter().map(String::as_str)))
                .map_err(csv_to_io)?;
        }
    }
    w.flush()
}

/// The CSV records of one report, in [`CSV_HEADER`]'s columns.
fn csv_records(report: &SummaryReport) -> Vec<Vec<String>> {
    let columns = CSV_HEADER.split(',').count();
    let mut records = Vec::with_capacity(report.rows.len() + report.no_ports_detail.len());
    for r in &report.rows {
        records.push(vec![
            r.section.as_str().to_string(),
            r.transport.to_string(),
            r.service.clone().unwrap_or_default(),
            join_ports(&r.ports),
            r.status.as_str().to_string(),
            r.class.as_str().to_string(),
            r.flows.to_string(),
            r.packets.to_string(),
            r.bytes.to_string(),
            format!("{:.6}", r.share),
            r.packets_to_server.to_string(),
            r.bytes_to_server.to_string(),
            r.packets_to_client.to_string(),
            r.bytes_to_client.to_string(),
            r.first_seen.to_string(),
            r.last_seen.to_string(),
            r.servers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            r.unauthorized.clone().unwrap_or_default(),
            r.flows_unanswered.to_string(),
            r.flows_refused.to_string(),
        ]);
    }
    for (reason, detail) in &report.no_ports_detail {
        let mut record = vec![String::new(); columns];
        let fields = [
            (0, "no_ports".to_string()),
            (2, reason.clone()),
            (7, detail.packets.to_string()),
            (8, detail.bytes.to_string()),
        ];
        for (i, value) in fields {
            if let Some(slot) = record.get_mut(i) {
                *slot = value;
            }
        }
        records.push(record);
    }
    records
}

fn join_ports(ports: &[u16]) -> String {
    ports
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Ports as a short list: `443`, `80 8080`, `6000-6003`, or `6000-6003 +12` when long.
pub(crate) fn short_ports(ports: &[u16]) -> String {
    let mut runs: Vec<(u16, u16)> = Vec::new();
    for &p in ports {
        match runs.last_mut() {
            Some((_, end)) if end.checked_add(1) == Some(p) => *end = p,
            _ => runs.push((p, p)),
        }
    }
    let shown: Vec<String> = runs
        .iter()
        .take(3)
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    let more = runs.len().saturating_sub(3);
    if more > 0 {
        format!("{} +{more}", shown.join(" "))
    } else {
        shown.join(" ")
    }
}

/// Table styling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableStyle {
    pub color: bool,
    /// Rows shown per section (0: all).
    pub top: usize,
}

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn heading(&self, text: &str) -> String {
        self.wrap("1", text)
    }
    fn alert(&self, text: &str) -> String {
        self.wrap("1;33", text)
    }
}

/// Characters a terminal shows for `text`: ANSI colour sequences (`ESC [ ... m`) take no room.
fn visible_width(text: &str) -> usize {
    let mut width = 0;
    let mut in_escape = false;
    for c in text.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => width += 1,
        }
    }
    width
}

/// Aligned, human-readable columns.
pub(crate) fn write_aligned(
    out: &mut dyn Write,
    header: &[&str],
    rows: &[Vec<String>],
    right: &[bool],
) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| visible_width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(visible_width(cell));
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        let mut s = String::from("  ");
        for (i, cell) in cells.enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            let pad = w.saturating_sub(visible_width(cell));
            if i > 0 {
                s.push_str("  ");
            }
            if right.get(i).copied().unwrap_or(false) {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            }
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", line(&mut header.iter().copied()))?;
    for row in rows {
        writeln!(out, "{}", line(&mut row.iter().map(String::as_str)))?;
    }
    Ok(())
}

const RIGHT_NUMBERS: [bool; 10] = [
    false, false, false, true, true, true, true, true, true, true,
];

/// Unanswered and refused flows of a row, `-` when there are none.
pub(crate) fn unanswered_refused(r: &RowReport) -> String {
    if r.flows_unanswered == 0 && r.flows_refused == 0 {
        "-".to_string()
    } else {
        format!(
            "{}/{}",
            human_count(r.flows_unanswered),
            human_count(r.flows_refused)
        )
    }
}

fn service_cells(r: &RowReport, name: String, extra: String) -> Vec<String> {
    vec![
        r.transport.to_string(),
        name,
        short_ports(&r.ports),
        human_count(r.flows),
        unanswered_refused(r),
        human_count(r.packets),
        human_bytes(r.bytes),
        share_percent(r.share),
        format!(
            "{}/{}",
            human_bytes(r.bytes_to_server),
            human_bytes(r.bytes_to_client)
        ),
        extra,
    ]
}

fn section_rows(report: &SummaryReport, section: Section, top: usize) -> (Vec<&RowReport>, usize) {
    let all: Vec<&RowReport> = report.rows_in(section).collect();
    let shown = if top == 0 {
        all.len()
    } else {
        top.min(all.len())
    };
    let hidden = all.len() - shown;
    (all.into_iter().take(shown).collect(), hidden)
}

fn servers_cell(r: &RowReport) -> String {
    let mut s: Vec<String> = r.servers.iter().take(3).map(ToString::to_string).collect();
    if r.servers.len() > 3 || r.servers_truncated {
        s.push(format!("+{}", r.servers.len().saturating_sub(3).max(1)));
    }
    s.join(" ")
}

/// The human-readable report.
pub fn write_table(
    out: &mut dyn Write,
    report: &SummaryReport,
    style: TableStyle,
) -> io::Result<()> {
    let paint = Paint { on: style.color };
    let t = &report.totals;
    let span = match (t.first_seen, t.last_seen) {
        (Some(a), Some(b)) => format!(", {a} to {b}"),
        _ => String::new(),
    };
    writeln!(
        out,
        "{} {} packets, {}, {} flows, {}{span}",
        paint.heading("portnote summary:"),
        human_count(t.packets),
        human_bytes(t.bytes),
        human_count(t.flows),
        human_duration(t.duration_seconds),
    )?;

    for section in [Section::Assigned, Section::Unassigned, Section::Dynamic] {
        write_section(out, &paint, report, section, style.top)?;
    }

    writeln!(out, "\n{}", paint.heading("Packets without ports"))?;
    if report.no_ports_detail.is_empty() {
        writeln!(out, "  (none)")?;
    } else {
        let cells: Vec<Vec<String>> = report
            .no_ports_detail
            .iter()
            .map(|(reason, d)| vec![reason.clone(), human_count(d.packets), human_bytes(d.bytes)])
            .collect();
        write_aligned(
            out,
            &["reason", "packets", "bytes"],
            &cells,
            &[false, true, true],
        )?;
    }

    writeln!(out, "\n{}", paint.heading("Totals"))?;
    writeln!(
        out,
        "  {} packets ({} with ports, {} without), {}, {} flows",
        human_count(t.packets),
        human_count(t.packets_with_ports),
        human_count(t.packets_without_ports),
        human_bytes(t.bytes),
        human_count(t.flows)
    )?;
    writeln!(
        out,
        "  {} file(s), {} capture error(s); flows expired {}, evicted {}, service decisions revised {}",
        t.files, t.capture_errors, t.flows_expired, t.flows_evicted, t.decisions_revised
    )?;
    let evidence: Vec<String> = t
        .flows_by_evidence
        .iter()
        .map(|(evidence, flows)| format!("{evidence} {}", human_count(*flows)))
        .collect();
    writeln!(out, "  flows by evidence: {}", evidence.join(", "))?;
    for input in report.inputs.iter().filter(|i| i.error.is_some()) {
        if let Some(e) = &input.error {
            writeln!(out, "  {} {e}", paint.alert("capture error:"))?;
        }
    }
    Ok(())
}

/// One section of the table: its heading, aligned rows or `(none)`, and how many `--top` hid.
fn write_section(
    out: &mut dyn Write,
    paint: &Paint,
    report: &SummaryReport,
    section: Section,
    top: usize,
) -> io::Result<()> {
    let (title, name_column, last_column) = match section {
        Section::Assigned => ("Assigned services", "service", ""),
        Section::Unassigned => (
            "Unassigned and reserved ports (no IANA service: worth a look)",
            "status",
            "servers",
        ),
        Section::Dynamic => (
            "Dynamic-only traffic (service port 49152-65535)",
            "status",
            "servers",
        ),
    };
    writeln!(out, "\n{}", paint.heading(title))?;
    let (rows, hidden) = section_rows(report, section, top);
    if rows.is_empty() {
        writeln!(out, "  (none)")?;
    } else {
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let (name, last) = match section {
                    Section::Assigned => (
                        r.service.clone().unwrap_or_else(|| "-".to_string()),
                        r.unauthorized
                            .as_ref()
                            .map(|_| "unauthorized use reported".to_string())
                            .unwrap_or_default(),
                    ),
                    Section::Unassigned => (paint.alert(r.status.as_str()), servers_cell(r)),
                    Section::Dynamic => (r.status.as_str().to_string(), servers_cell(r)),
                };
                let mut cells = service_cells(r, name, last);
                if section == Section::Dynamic {
                    // A dynamic port may still be assigned (IANA has a few, --services more).
                    let service = r.service.clone().unwrap_or_else(|| "-".to_string());
                    cells.insert(2, service);
                }
                cells
            })
            .collect();
        let mut header = vec![
            "transport",
            name_column,
            "port",
            "flows",
            "unans/refused",
            "packets",
            "bytes",
            "share",
            "to/from server",
            last_column,
        ];
        let mut right = RIGHT_NUMBERS.to_vec();
        if section == Section::Dynamic {
            header.insert(2, "service");
            right.insert(2, false);
        }
        write_aligned(out, &header, &cells, &right)?;
    }
    if hidden > 0 {
        writeln!(out, "  ... {hidden} more (--top 0 shows all)")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_codes_take_no_width() {
        let paint = Paint { on: true };
        assert_eq!(
            visible_width(&paint.alert("unassigned")),
            "unassigned".len()
        );
        assert_eq!(visible_width("plain"), 5);
    }

    #[test]
    fn short_ports_collapses_runs_and_counts_the_rest() {
        assert_eq!(short_ports(&[443]), "443");
        assert_eq!(short_ports(&[6000, 6001, 6002, 6010]), "6000-6002 6010");
        assert_eq!(short_ports(&[1, 3, 5, 7, 9]), "1 3 5 +2");
    }
}

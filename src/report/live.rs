//! The live report: the summary of what was captured so far, with libpcap's counters and, per
//! interval, each service's rate. Takes [`SummaryReport`]s built from interval snapshots and
//! writes them as a top-like frame (redrawn in place on a terminal), as one NDJSON line per
//! snapshot, or as the final JSON document (the `summary --format json` schema plus a
//! `capture_stats` object). Computes no counts of its own beyond differences of two snapshots.

use crate::aggregate::Section;
use crate::linktype::LinkType;
use crate::report::summary::TableStyle;
use crate::report::summary::{
    short_ports, unanswered_refused, write_aligned, write_table, RowReport, SummaryReport,
};
use crate::report::units::{human_bytes, human_count, human_duration};
use crate::transport::Transport;
use serde::Serialize;
use std::collections::HashMap;
use std::io::{self, Write};

/// Why the capture stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// `--count` packets were captured.
    Count,
    /// `--duration` elapsed.
    Duration,
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
    /// The capture failed (the interface went down or away).
    Error,
}

impl StopReason {
    pub const fn describe(&self) -> &'static str {
        match self {
            StopReason::Count => "--count reached",
            StopReason::Duration => "--duration elapsed",
            StopReason::Interrupt => "interrupted (Ctrl-C)",
            StopReason::Terminate => "terminated (SIGTERM)",
            StopReason::Error => "the capture failed",
        }
    }
}

/// The `capture_stats` object of live output: the interface, libpcap's counters
/// (`pcap_stats`) and how the capture ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaptureStatsReport {
    pub interface: String,
    pub linktype: LinkType,
    pub filter: Option<String>,
    /// Packets the kernel passed to the capture (those the filter kept, on Linux). On Linux's
    /// loopback it counts each packet twice (sent and received), though portnote reads it once.
    pub received: u64,
    /// Dropped because the capture buffer was full: portnote read too slowly.
    pub dropped: u64,
    /// Dropped by the interface or its driver.
    pub interface_dropped: u64,
    /// Wall-clock seconds since the capture started.
    pub elapsed_seconds: f64,
    /// Why the capture stopped; `None` in interval snapshots.
    pub stopped_by: Option<StopReason>,
    /// What ended a failed capture, or why the counters could not be read.
    pub error: Option<String>,
}

/// A row's identity across snapshots: its transport and service name, or its port when it has
/// no name (the same key the aggregator's rows have).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RowId {
    pub transport: Transport,
    pub service: Option<String>,
    pub port: Option<u16>,
}

impl RowId {
    pub fn of(row: &RowReport) -> RowId {
        RowId {
            transport: row.transport,
            service: row.service.clone(),
            port: match row.service {
                Some(_) => None,
                None => row.ports.first().copied(),
            },
        }
    }
}

/// Packets and bytes per second of one row over the last interval.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Rate {
    pub packets_per_second: f64,
    pub bytes_per_second: f64,
}

/// Remembers the last snapshot's counters so the next one can say what changed.
#[derive(Debug, Default)]
pub struct RateTracker {
    previous: HashMap<RowId, (u64, u64)>,
}

impl RateTracker {
    /// Each row's rate since the previous call (since zero at the first), over `seconds`.
    pub fn update(&mut self, report: &SummaryReport, seconds: f64) -> HashMap<RowId, Rate> {
        let mut rates = HashMap::with_capacity(report.rows.len());
        let mut current = HashMap::with_capacity(report.rows.len());
        for row in &report.rows {
            let id = RowId::of(row);
            let (packets, bytes) = self.previous.get(&id).copied().unwrap_or((0, 0));
            let per_second = |delta: u64| {
                if seconds > 0.0 {
                    delta as f64 / seconds
                } else {
                    0.0
                }
            };
            rates.insert(
                id.clone(),
                Rate {
                    packets_per_second: per_second(row.packets.saturating_sub(packets)),
                    bytes_per_second: per_second(row.bytes.saturating_sub(bytes)),
                },
            );
            current.insert(id, (row.packets, row.bytes));
        }
        self.previous = current;
        rates
    }
}

/// The final live document: the summary schema, plus `capture_stats`.
#[derive(Debug, Serialize)]
pub struct LiveReport<'a> {
    #[serde(flatten)]
    pub summary: &'a SummaryReport,
    pub capture_stats: &'a CaptureStatsReport,
}

/// One rate in an NDJSON snapshot.
#[derive(Debug, Serialize)]
pub struct RateReport {
    pub section: Section,
    pub transport: Transport,
    pub service: Option<String>,
    pub ports: Vec<u16>,
    #[serde(flatten)]
    pub rate: Rate,
}

/// What an NDJSON line adds to the live document: which snapshot it is and the rates of the
/// rows that moved during its interval.
#[derive(Debug, Serialize)]
pub struct SnapshotInfo {
    /// `true` on the last line, written when the capture stopped.
    #[serde(rename = "final")]
    pub is_final: bool,
    pub interval_seconds: f64,
    pub rates: Vec<RateReport>,
}

#[derive(Debug, Serialize)]
struct SnapshotLine<'a> {
    snapshot: SnapshotInfo,
    #[serde(flatten)]
    live: LiveReport<'a>,
}

/// Rates of the rows that carried traffic during the interval, fastest (bytes) first.
pub fn moving_rates(report: &SummaryReport, rates: &HashMap<RowId, Rate>) -> Vec<RateReport> {
    let mut moving: Vec<RateReport> = report
        .rows
        .iter()
        .filter_map(|row| {
            let rate = rates.get(&RowId::of(row)).copied()?;
            (rate.packets_per_second > 0.0).then(|| RateReport {
                section: row.section,
                transport: row.transport,
                service: row.service.clone(),
                ports: row.ports.clone(),
                rate,
            })
        })
        .collect();
    moving.sort_by(|a, b| b.rate.bytes_per_second.total_cmp(&a.rate.bytes_per_second));
    moving
}

/// One NDJSON line (compact JSON and a newline).
pub fn write_ndjson_line(
    out: &mut dyn Write,
    live: LiveReport<'_>,
    snapshot: SnapshotInfo,
) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &SnapshotLine { snapshot, live }).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// The final document, pretty-printed like `summary --format json`.
pub fn write_live_json(out: &mut dyn Write, live: &LiveReport<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, live).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// The final table: the summary's, then a `Capture` section with libpcap's counters.
pub fn write_live_table(
    out: &mut dyn Write,
    live: &LiveReport<'_>,
    style: TableStyle,
) -> io::Result<()> {
    write_table(out, live.summary, style)?;
    let s = live.capture_stats;
    let heading = if style.color {
        "\x1b[1mCapture\x1b[0m"
    } else {
        "Capture"
    };
    writeln!(out, "\n{heading}")?;
    writeln!(out, "  {}", capture_line(s))?;
    if let Some(reason) = &s.stopped_by {
        writeln!(
            out,
            "  stopped: {} after {}",
            reason.describe(),
            human_duration(s.elapsed_seconds)
        )?;
    }
    if let Some(error) = &s.error {
        writeln!(out, "  error: {error}")?;
    }
    Ok(())
}

/// `eth0 EN10MB(1): 1,234 received, 0 dropped (buffer full), 0 dropped by the interface`
fn capture_line(s: &CaptureStatsReport) -> String {
    let filter = match &s.filter {
        Some(f) => format!(", filter {f:?}"),
        None => String::new(),
    };
    format!(
        "{} {}{filter}: {} received, {} dropped (buffer full), {} dropped by the interface",
        s.interface,
        s.linktype,
        human_count(s.received),
        human_count(s.dropped),
        human_count(s.interface_dropped)
    )
}

/// How big the terminal is and whether to use bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameStyle {
    pub width: usize,
    pub height: usize,
    pub bold: bool,
}

/// Lines a frame always takes besides the rows: title and capture line; per section a blank,
/// the heading and the column header (or "(none)"); the without-ports line and the hint.
const FRAME_FIXED_LINES: usize = 2 + 3 * 3 + 2;

/// Rows shown per section (unassigned, assigned, dynamic) within `budget` lines, "... N more"
/// lines included. Every section with rows first gets up to two, in that order, so none
/// disappears; what is left goes to the unassigned section first, then assigned, then dynamic.
pub fn allocate_rows(budget: usize, counts: [usize; 3]) -> [usize; 3] {
    let mut shown = [0usize; 3];
    // Lines a section takes to show `n` of its `count` rows: the rows and a "... N more" line.
    let cost = |n: usize, count: usize| {
        if count == 0 {
            0
        } else {
            n + usize::from(n < count)
        }
    };
    let mut left = budget.saturating_sub(counts.iter().map(|&c| cost(0, c)).sum());
    for round_max in [2usize, usize::MAX] {
        for (slot, &count) in shown.iter_mut().zip(counts.iter()) {
            let before = cost(*slot, count);
            let mut n = count.min(round_max);
            while n > *slot && cost(n, count).saturating_sub(before) > left {
                n -= 1;
            }
            if n > *slot {
                left -= cost(n, count) - before;
                *slot = n;
            }
        }
    }
    shown
}

/// Cuts a line to the terminal's width so the frame never wraps.
fn fit(line: &str, width: usize) -> String {
    line.chars().take(width).collect()
}

fn per_second(value: f64, bytes: bool) -> String {
    let rounded = value.round().max(0.0) as u64;
    if bytes {
        format!("{}/s", human_bytes(rounded))
    } else {
        human_count(rounded)
    }
}

/// One redraw of the top-like view: the cursor goes home, every line clears its rest, and the
/// screen below the frame is cleared, so nothing flickers and nothing stale stays.
pub fn write_frame(
    out: &mut dyn Write,
    live: &LiveReport<'_>,
    rates: &HashMap<RowId, Rate>,
    style: FrameStyle,
) -> io::Result<()> {
    let report = live.summary;
    let t = &report.totals;
    let all_rate = rates.values().fold(Rate::default(), |sum, r| Rate {
        packets_per_second: sum.packets_per_second + r.packets_per_second,
        bytes_per_second: sum.bytes_per_second + r.bytes_per_second,
    });
    let mut lines: Vec<(String, bool)> = Vec::new();
    lines.push((
        format!(
            "portnote live: {} packets, {}, {} flows in {}; now {} pkt/s, {} (ports only)",
            human_count(t.packets),
            human_bytes(t.bytes),
            human_count(t.flows),
            human_duration(live.capture_stats.elapsed_seconds),
            per_second(all_rate.packets_per_second, false),
            per_second(all_rate.bytes_per_second, true),
        ),
        true,
    ));
    lines.push((capture_line(live.capture_stats), false));

    let sections = [
        (
            Section::Unassigned,
            "Unassigned and reserved ports (no IANA service: worth a look)",
        ),
        (Section::Assigned, "Assigned services"),
        (
            Section::Dynamic,
            "Dynamic-only traffic (service port 49152-65535)",
        ),
    ];
    let mut rows_of: Vec<Vec<&RowReport>> = sections
        .iter()
        .map(|(section, _)| report.rows_in(*section).collect())
        .collect();
    let rate_of = |r: &RowReport| rates.get(&RowId::of(r)).copied().unwrap_or_default();
    for rows in &mut rows_of {
        rows.sort_by(|a, b| {
            rate_of(b)
                .bytes_per_second
                .total_cmp(&rate_of(a).bytes_per_second)
                .then_with(|| b.bytes.cmp(&a.bytes))
        });
    }
    let counts = [
        rows_of.first().map_or(0, Vec::len),
        rows_of.get(1).map_or(0, Vec::len),
        rows_of.get(2).map_or(0, Vec::len),
    ];
    let shown = allocate_rows(style.height.saturating_sub(FRAME_FIXED_LINES), counts);

    for (((section, title), rows), shown) in sections.iter().zip(&rows_of).zip(shown) {
        lines.push((String::new(), false));
        lines.push(((*title).to_string(), true));
        if rows.is_empty() {
            lines.push(("  (none)".to_string(), false));
            continue;
        }
        let name_header = if *section == Section::Assigned {
            "service"
        } else {
            "status"
        };
        let mut header = vec![
            "transport",
            name_header,
            "port",
            "pkt/s",
            "rate",
            "packets",
            "bytes",
            "flows",
            "unans/refused",
        ];
        let mut right = vec![false, false, false, true, true, true, true, true, true];
        // Dynamic ports: the status, and the name when one is assigned anyway.
        if *section == Section::Dynamic {
            header.insert(2, "service");
            right.insert(2, false);
        }
        let cells: Vec<Vec<String>> = rows
            .iter()
            .take(shown)
            .map(|r| {
                let rate = rate_of(r);
                let name = match (&r.service, *section) {
                    (Some(name), Section::Assigned) => name.clone(),
                    _ => r.status.as_str().to_string(),
                };
                let mut cells = vec![
                    r.transport.to_string(),
                    name,
                    short_ports(&r.ports),
                    per_second(rate.packets_per_second, false),
                    per_second(rate.bytes_per_second, true),
                    human_count(r.packets),
                    human_bytes(r.bytes),
                    human_count(r.flows),
                    unanswered_refused(r),
                ];
                if *section == Section::Dynamic {
                    cells.insert(2, r.service.clone().unwrap_or_else(|| "-".to_string()));
                }
                cells
            })
            .collect();
        let mut table = Vec::new();
        write_aligned(&mut table, &header, &cells, &right)?;
        for line in String::from_utf8_lossy(&table).lines() {
            lines.push((line.to_string(), false));
        }
        let hidden = rows.len().saturating_sub(shown);
        if hidden > 0 {
            lines.push((format!("  ... {hidden} more"), false));
        }
    }

    let without: Vec<String> = report
        .no_ports
        .iter()
        .take(4)
        .map(|(reason, packets)| format!("{reason} {}", human_count(*packets)))
        .collect();
    lines.push((
        format!(
            "Without ports: {} packets{}{}",
            human_count(t.packets_without_ports),
            if without.is_empty() { "" } else { " (" },
            if without.is_empty() {
                String::new()
            } else {
                format!("{})", without.join(", "))
            }
        ),
        false,
    ));
    lines.push(("Ctrl-C stops and prints the summary".to_string(), false));

    out.write_all(b"\x1b[H")?;
    for (text, bold) in lines.iter().take(style.height.max(1)) {
        let text = fit(text, style.width);
        if *bold && style.bold {
            write!(out, "\x1b[1m{text}\x1b[0m\x1b[K\r\n")?;
        } else {
            write!(out, "{text}\x1b[K\r\n")?;
        }
    }
    out.write_all(b"\x1b[J")
}

/// Clears the frame before the final table is written in its place.
pub fn clear_frame(out: &mut dyn Write) -> io::Result<()> {
    out.write_all(b"\x1b[H\x1b[J")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::Aggregator;
    use crate::flow::FlowStats;
    use crate::registry::{Class, Status};
    use crate::report::summary::SortKey;

    fn row(transport: Transport, service: Option<&str>, port: u16, packets: u64) -> RowReport {
        RowReport {
            section: if service.is_some() {
                Section::Assigned
            } else {
                Section::Unassigned
            },
            transport,
            service: service.map(str::to_string),
            ports: vec![port],
            status: if service.is_some() {
                Status::Assigned
            } else {
                Status::Unassigned
            },
            class: Class::User,
            unauthorized: None,
            flows: 1,
            flows_unanswered: 0,
            flows_refused: 0,
            packets,
            bytes: packets * 100,
            share: 0.0,
            packets_to_server: packets,
            bytes_to_server: packets * 100,
            packets_to_client: 0,
            bytes_to_client: 0,
            first_seen: Default::default(),
            last_seen: Default::default(),
            servers: vec![],
            servers_truncated: false,
            clients: 0,
            clients_truncated: false,
        }
    }

    fn report_with(rows: Vec<RowReport>) -> SummaryReport {
        let mut report = SummaryReport::build(
            &Aggregator::default(),
            FlowStats::default(),
            vec![],
            SortKey::Bytes,
        );
        report.rows = rows;
        report
    }

    fn stats() -> CaptureStatsReport {
        CaptureStatsReport {
            interface: "veth0".to_string(),
            linktype: LinkType::ETHERNET,
            filter: None,
            received: 10,
            dropped: 1,
            interface_dropped: 2,
            elapsed_seconds: 3.0,
            stopped_by: Some(StopReason::Count),
            error: None,
        }
    }

    #[test]
    fn rates_are_differences_since_the_last_snapshot_per_second() {
        let mut tracker = RateTracker::default();
        let first = report_with(vec![
            row(Transport::Tcp, Some("http"), 80, 10),
            row(Transport::Udp, None, 4, 2),
        ]);
        let rates = tracker.update(&first, 2.0);
        let http = RowId {
            transport: Transport::Tcp,
            service: Some("http".to_string()),
            port: None,
        };
        let udp4 = RowId {
            transport: Transport::Udp,
            service: None,
            port: Some(4),
        };
        assert_eq!(rates[&http].packets_per_second, 5.0);
        assert_eq!(rates[&http].bytes_per_second, 500.0);
        assert_eq!(rates[&udp4].packets_per_second, 1.0);

        let second = report_with(vec![
            row(Transport::Tcp, Some("http"), 80, 40),
            row(Transport::Udp, None, 4, 2),
        ]);
        let rates = tracker.update(&second, 0.5);
        assert_eq!(rates[&http].packets_per_second, 60.0);
        assert_eq!(rates[&udp4].packets_per_second, 0.0);
        let moving = moving_rates(&second, &rates);
        assert_eq!(moving.len(), 1, "only rows that moved are listed");
        assert_eq!(moving[0].service.as_deref(), Some("http"));
    }

    #[test]
    fn allocation_keeps_every_section_in_view_and_favours_unassigned() {
        // Room for everything.
        assert_eq!(allocate_rows(100, [3, 4, 5]), [3, 4, 5]);
        // Tight: two each first (plus a "more" line each), then the rest to unassigned.
        assert_eq!(allocate_rows(12, [10, 10, 10]), [5, 2, 2]);
        // Empty sections take nothing.
        assert_eq!(allocate_rows(6, [0, 10, 0]), [0, 5, 0]);
        // Less than two rows each: unassigned before assigned before dynamic.
        assert_eq!(allocate_rows(4, [5, 5, 5]), [1, 0, 0]);
        assert_eq!(allocate_rows(6, [5, 5, 5]), [2, 1, 0]);
        assert_eq!(allocate_rows(0, [5, 5, 5]), [0, 0, 0]);
        // Never more lines than the budget.
        for budget in 0..40 {
            let shown = allocate_rows(budget, [7, 9, 11]);
            let lines: usize = shown
                .iter()
                .zip([7, 9, 11])
                .map(|(&n, c)| n + usize::from(n < c))
                .sum();
            assert!(lines <= budget.max(3), "budget {budget}: {shown:?}");
        }
    }

    #[test]
    fn frame_puts_unassigned_first_and_fits_the_terminal() {
        let rows: Vec<RowReport> = (0..30)
            .map(|i| row(Transport::Tcp, Some("svc"), 1000 + i, 1))
            .map(|mut r| {
                r.service = Some(format!("svc{}", r.ports[0]));
                r
            })
            .chain(std::iter::once(row(Transport::Udp, None, 4, 9)))
            .collect();
        let report = report_with(rows);
        let stats = stats();
        let live = LiveReport {
            summary: &report,
            capture_stats: &stats,
        };
        let rates = RateTracker::default().update(&report, 1.0);
        let mut out = Vec::new();
        let style = FrameStyle {
            width: 60,
            height: 24,
            bold: false,
        };
        write_frame(&mut out, &live, &rates, style).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert!(text.starts_with("\x1b[H"));
        assert!(text.ends_with("\x1b[J"));
        // 24 lines and the trailing clear-to-end.
        assert_eq!(lines.len(), 25);
        let plain: Vec<String> = lines.iter().map(|l| l.replace("\x1b[K", "")).collect();
        assert!(plain
            .iter()
            .all(|l| l.trim_start_matches("\x1b[H").chars().count() <= 60));
        let unassigned = plain
            .iter()
            .position(|l| l.starts_with("Unassigned"))
            .unwrap();
        let assigned = plain
            .iter()
            .position(|l| l.starts_with("Assigned"))
            .unwrap();
        assert!(unassigned < assigned);
        assert!(plain
            .get(unassigned + 2)
            .unwrap()
            .starts_with("  udp        unassigned"));
        assert!(plain
            .iter()
            .any(|l| l.starts_with("  ... ") && l.ends_with(" more")));
    }

    /// Issue 13 item 16: the dynamic section headed `service` a column showing "unassigned".
    #[test]
    fn frame_heads_the_dynamic_status_column_status_and_names_assigned_ports() {
        let dynamic = |service: Option<&str>, port| {
            let mut r = row(Transport::Tcp, service, port, 1);
            r.section = Section::Dynamic;
            r.class = Class::Dynamic;
            r
        };
        let mut scanned = dynamic(None, 51000);
        scanned.flows_unanswered = 3;
        scanned.flows_refused = 1;
        let report = report_with(vec![dynamic(Some("myapp"), 61000), scanned]);
        let stats = stats();
        let live = LiveReport {
            summary: &report,
            capture_stats: &stats,
        };
        let rates = RateTracker::default().update(&report, 1.0);
        let mut out = Vec::new();
        let style = FrameStyle {
            width: 100,
            height: 24,
            bold: false,
        };
        write_frame(&mut out, &live, &rates, style).unwrap();
        let text = String::from_utf8(out).unwrap().replace("\x1b[K", "");
        let words: Vec<Vec<&str>> = text
            .split("\r\n")
            .skip_while(|l| !l.starts_with("Dynamic-only"))
            .skip(1)
            .take(3)
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(words[0][..4], ["transport", "status", "service", "port"]);
        assert_eq!(words[0].last(), Some(&"unans/refused"));
        assert_eq!(words[1][..4], ["tcp", "assigned", "myapp", "61000"]);
        // Issue 13 item 17 in the live view too: a scan's rows stand out.
        assert_eq!(words[1].last(), Some(&"-"));
        assert_eq!(words[2].last(), Some(&"3/1"));
        assert_eq!(words[2][..4], ["tcp", "unassigned", "-", "51000"]);
    }

    #[test]
    fn live_json_is_the_summary_schema_plus_capture_stats() {
        let report = report_with(vec![row(Transport::Tcp, Some("http"), 80, 3)]);
        let stats = stats();
        let live = LiveReport {
            summary: &report,
            capture_stats: &stats,
        };
        let mut out = Vec::new();
        write_live_json(&mut out, &live).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let mut summary_only = Vec::new();
        crate::report::summary::write_json(&mut summary_only, &report).unwrap();
        let summary: serde_json::Value = serde_json::from_slice(&summary_only).unwrap();
        let mut keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        let mut expected: Vec<&String> = summary.as_object().unwrap().keys().collect();
        let capture_stats = "capture_stats".to_string();
        expected.push(&capture_stats);
        keys.sort();
        expected.sort();
        assert_eq!(keys, expected);
        for (key, v) in summary.as_object().unwrap() {
            assert_eq!(&value[key], v, "{key} differs from the summary's");
        }
        assert_eq!(value["capture_stats"]["dropped"], 1);
        assert_eq!(value["capture_stats"]["interface_dropped"], 2);
        assert_eq!(value["capture_stats"]["stopped_by"], "count");
        assert_eq!(value["capture_stats"]["linktype"], 1);
    }

    #[test]
    fn ndjson_line_is_one_line_with_snapshot_and_summary() {
        let report = report_with(vec![row(Transport::Tcp, Some("http"), 80, 3)]);
        let stats = stats();
        let live = LiveReport {
            summary: &report,
            capture_stats: &stats,
        };
        let rates = RateTracker::default().update(&report, 1.0);
        let mut out = Vec::new();
        let info = SnapshotInfo {
            is_final: false,
            interval_seconds: 1.0,
            rates: moving_rates(&report, &rates),
        };
        write_ndjson_line(&mut out, live, info).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches('\n').count(), 1);
        assert!(text.ends_with('\n'));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["snapshot"]["final"], false);
        assert_eq!(value["snapshot"]["rates"][0]["packets_per_second"], 3.0);
        assert_eq!(value["rows"][0]["service"], "http");
        assert_eq!(value["capture_stats"]["received"], 10);
    }

    #[test]
    fn final_table_ends_with_the_capture_counters_and_why_it_stopped() {
        let report = report_with(vec![]);
        let stats = stats();
        let live = LiveReport {
            summary: &report,
            capture_stats: &stats,
        };
        let mut out = Vec::new();
        write_live_table(
            &mut out,
            &live,
            TableStyle {
                color: false,
                top: 0,
            },
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(
            "\nCapture\n  veth0 EN10MB(1): 10 received, 1 dropped (buffer full), 2 dropped by the interface\n  stopped: --count reached after 3.0 s\n"
        ), "{text}");
    }
}

//! Combining summaries: `portnote merge` adds up `summary --format json` outputs of different
//! files, days or sensors into one summary of the same schema.
//!
//! Takes parsed [`SummaryReport`]s and returns one. Rows are matched as the aggregator keys
//! them: by (transport, service) for named services, by (transport, port) otherwise. Packets,
//! bytes, flows and flow statistics add; first and last seen take the minimum and maximum;
//! server lists are united and keep the lowest [`MAX_SERVERS_PER_ROW`] addresses, as one
//! summary over all the inputs would; shares are recomputed from the merged bytes. No I/O.
//!
//! Timelines add bucket by bucket. portnote's bucket widths come from one ladder in which each
//! width is a whole multiple of the one before, on a grid from the epoch, so inputs of different
//! widths are re-bucketed exactly into the coarsest of them (or coarser, to stay within
//! [`MAX_BUCKETS`](crate::aggregate::timeline::MAX_BUCKETS)). A timeline whose width is not a
//! divisor of any ladder width, or whose buckets do not start on its grid (not portnote's), has
//! each bucket counted where it starts, in the narrowest ladder width at least as wide; the
//! output's `notes` say so, as counts may then sit one bucket late. Exactness comes first: a width that
//! divides only a wide step (7 ns divides a week) is re-bucketed exactly into that step.
//!
//! Clients cannot be added: the same address may be a client in several inputs. A merged row
//! keeps the largest count of its inputs, a lower bound, and sets `clients_truncated` (read:
//! "at least") when more than one input had clients for it; the notes say so.
//!
//! A flow that spans two inputs was ended at the end of the first and started again in the
//! second, so it counts once in each: the merged `flows` can exceed what one summary over all
//! inputs would count. Packets and bytes never differ. The output's `notes` say so.

use crate::aggregate::timeline::{Lane, Timeline};
use crate::aggregate::{Section, MAX_SERVERS_PER_ROW};
use crate::capture::Timestamp;
use crate::flow::service_port::Evidence;
use crate::flow::Counter;
use crate::report::summary::{
    sort_rows, NoPortsReport, RowReport, SortKey, SummaryReport, TotalsReport, SCHEMA_VERSION,
};
use crate::report::timeline::TimelineReport;
use crate::transport::Transport;
use indexmap::IndexMap;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

/// What `merge` writes in `notes`.
pub const SPANNING_FLOWS_NOTE: &str = "merged from several summaries: packets and bytes add \
exactly; a flow that spans two inputs counts once in each, so flows may exceed a summary of \
all inputs read together";

/// What `merge` writes in `notes` when rows of several inputs had clients.
pub const CLIENTS_NOTE: &str = "clients of a row seen in several inputs are the largest count of \
one input, a lower bound (marked truncated): the same address may be a client in each";

/// What `merge` writes in `notes` when a timeline was not on portnote's grid.
pub const TIMELINE_NOTE: &str = "a timeline with a bucket width or start off portnote's grid was \
counted by bucket start in the next ladder width: its counts may sit one bucket late";

/// A report's schema version is not the one this build reads and writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("summary schema version {found}, but this portnote reads version {SCHEMA_VERSION}")]
pub struct VersionMismatch {
    pub found: u32,
}

/// How rows are matched: the aggregator's row key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum MergeKey {
    Service(Transport, String),
    Port(Transport, u16),
}

fn key_of(row: &RowReport) -> MergeKey {
    match &row.service {
        Some(name) => MergeKey::Service(row.transport, name.clone()),
        None => MergeKey::Port(row.transport, row.ports.first().copied().unwrap_or(0)),
    }
}

/// The summary of all `reports` together. Rows are sorted by `sort` as `summary` sorts them.
pub fn merge(reports: Vec<SummaryReport>, sort: SortKey) -> Result<SummaryReport, VersionMismatch> {
    if let Some(other) = reports.iter().find(|r| r.version != SCHEMA_VERSION) {
        return Err(VersionMismatch {
            found: other.version,
        });
    }
    let mut inputs = Vec::new();
    let mut rows: Vec<MergedRow> = Vec::new();
    let mut by_key: HashMap<MergeKey, usize> = HashMap::new();
    let mut no_ports: IndexMap<String, u64> = IndexMap::new();
    let mut no_ports_detail: IndexMap<String, NoPortsReport> = IndexMap::new();
    let mut packets = 0u64;
    let mut bytes = 0u64;
    let mut first_seen: Option<Timestamp> = None;
    let mut last_seen: Option<Timestamp> = None;
    let (mut expired, mut evicted, mut revised) = (0u64, 0u64, 0u64);
    let mut notes: Vec<String> = Vec::new();
    let mut by_evidence: IndexMap<String, u64> = Evidence::ALL
        .iter()
        .map(|e| (e.as_str().to_string(), 0))
        .collect();
    let mut timeline = Timeline::default();
    let mut timeline_exact = true;

    for report in reports {
        let t = &report.totals;
        packets = packets.saturating_add(t.packets);
        bytes = bytes.saturating_add(t.bytes);
        first_seen = min_some(first_seen, t.first_seen);
        last_seen = last_seen.max(t.last_seen);
        expired = expired.saturating_add(t.flows_expired);
        evicted = evicted.saturating_add(t.flows_evicted);
        revised = revised.saturating_add(t.decisions_revised);
        for (evidence, flows) in &t.flows_by_evidence {
            let slot = by_evidence.entry(evidence.clone()).or_default();
            *slot = slot.saturating_add(*flows);
        }
        inputs.extend(report.inputs);
        let (counts, exact) = timeline_of(&report.timeline);
        timeline.merge(counts);
        timeline_exact &= exact;
        for note in report.notes {
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
        for row in report.rows {
            match by_key.get(&key_of(&row)) {
                Some(&index) => {
                    if let Some(merged) = rows.get_mut(index) {
                        merged.add(row);
                    }
                }
                None => {
                    by_key.insert(key_of(&row), rows.len());
                    rows.push(MergedRow::new(row));
                }
            }
        }
        for (reason, count) in report.no_ports {
            let slot = no_ports.entry(reason).or_default();
            *slot = slot.saturating_add(count);
        }
        for (reason, detail) in report.no_ports_detail {
            let slot = no_ports_detail.entry(reason).or_insert(NoPortsReport {
                packets: 0,
                bytes: 0,
            });
            slot.packets = slot.packets.saturating_add(detail.packets);
            slot.bytes = slot.bytes.saturating_add(detail.bytes);
        }
    }

    let clients_bounded = rows.iter().any(|r| r.clients_inputs > 1);
    let mut rows: Vec<RowReport> = rows.into_iter().map(|r| r.finish(bytes)).collect();
    sort_rows(&mut rows, sort);
    no_ports.sort_by(|r1, c1, r2, c2| c2.cmp(c1).then_with(|| r1.cmp(r2)));
    no_ports_detail.sort_by(|r1, c1, r2, c2| c2.packets.cmp(&c1.packets).then_with(|| r1.cmp(r2)));
    if !notes.iter().any(|n| n == SPANNING_FLOWS_NOTE) {
        notes.push(SPANNING_FLOWS_NOTE.to_string());
    }
    for (applies, note) in [
        (clients_bounded, CLIENTS_NOTE),
        (!timeline_exact, TIMELINE_NOTE),
    ] {
        if applies && !notes.iter().any(|n| n == note) {
            notes.push(note.to_string());
        }
    }
    let duration_seconds = match (first_seen, last_seen) {
        (Some(first), Some(last)) => (last.as_nanos() - first.as_nanos()) as f64 / 1e9,
        _ => 0.0,
    };
    Ok(SummaryReport {
        version: SCHEMA_VERSION,
        totals: TotalsReport {
            packets,
            bytes,
            packets_with_ports: rows.iter().map(|r| r.packets).sum(),
            packets_without_ports: no_ports.values().sum(),
            flows: rows.iter().map(|r| r.flows).sum(),
            first_seen,
            last_seen,
            duration_seconds,
            files: inputs.len(),
            capture_errors: inputs.iter().filter(|i| i.error.is_some()).count(),
            flows_expired: expired,
            flows_evicted: evicted,
            decisions_revised: revised,
            flows_by_evidence: by_evidence,
        },
        inputs,
        rows,
        no_ports,
        no_ports_detail,
        notes,
        timeline: TimelineReport::build(&timeline),
        timeline_counts: timeline,
    })
}

/// A summary's JSON timeline as counts on portnote's grid, and whether that was exact (see the
/// module's docs).
fn timeline_of(report: &TimelineReport) -> (Timeline, bool) {
    // Widths are whole nanoseconds written as seconds; the ladder's all fit an f64 exactly.
    let width = (report.bucket_seconds * 1e9).round();
    let width = if width.is_finite() && width >= 1.0 && width < i64::MAX as f64 {
        width as i64
    } else {
        i64::MAX
    };
    let (mut timeline, mut exact) = Timeline::at_least(width);
    for bucket in &report.buckets {
        let start = bucket.start.saturating_nanos();
        exact &= start.rem_euclid(width) == 0;
        for lane in Lane::ALL {
            let counter = Counter {
                packets: bucket.packets.get(lane),
                bytes: bucket.bytes.get(lane),
            };
            if counter != Counter::default() {
                timeline.add_counter(lane, start, counter);
            }
        }
    }
    (timeline, exact || report.buckets.is_empty())
}

fn min_some(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A row being merged: the report row plus its ports and servers as sets.
struct MergedRow {
    row: RowReport,
    ports: BTreeSet<u16>,
    servers: BTreeSet<IpAddr>,
    /// Inputs whose row had clients.
    clients_inputs: usize,
}

impl MergedRow {
    fn new(row: RowReport) -> Self {
        let mut merged = MergedRow {
            ports: row.ports.iter().copied().collect(),
            servers: BTreeSet::new(),
            clients_inputs: usize::from(row.clients > 0),
            row,
        };
        let servers = std::mem::take(&mut merged.row.servers);
        merged.add_servers(servers);
        merged
    }

    fn add(&mut self, other: RowReport) {
        let row = &mut self.row;
        self.ports.extend(other.ports.iter().copied());
        row.flows = row.flows.saturating_add(other.flows);
        row.flows_unanswered = row.flows_unanswered.saturating_add(other.flows_unanswered);
        row.flows_refused = row.flows_refused.saturating_add(other.flows_refused);
        row.packets = row.packets.saturating_add(other.packets);
        row.bytes = row.bytes.saturating_add(other.bytes);
        row.packets_to_server = row
            .packets_to_server
            .saturating_add(other.packets_to_server);
        row.bytes_to_server = row.bytes_to_server.saturating_add(other.bytes_to_server);
        row.packets_to_client = row
            .packets_to_client
            .saturating_add(other.packets_to_client);
        row.bytes_to_client = row.bytes_to_client.saturating_add(other.bytes_to_client);
        row.first_seen = row.first_seen.min(other.first_seen);
        row.last_seen = row.last_seen.max(other.last_seen);
        // The class of the lowest range the service was seen in, as the aggregator keeps it.
        row.class = row.class.min(other.class);
        row.servers_truncated |= other.servers_truncated;
        if other.clients > 0 {
            self.clients_inputs += 1;
        }
        // A lower bound: the same client may be in both.
        row.clients = row.clients.max(other.clients);
        row.clients_truncated |= other.clients_truncated || self.clients_inputs > 1;
        if row.unauthorized.is_none() {
            row.unauthorized = other.unauthorized;
        }
        self.add_servers(other.servers);
    }

    /// Unite, keeping the lowest [`MAX_SERVERS_PER_ROW`]: the same addresses whatever the
    /// order of the inputs.
    fn add_servers(&mut self, servers: Vec<IpAddr>) {
        for addr in servers {
            if self.servers.insert(addr) && self.servers.len() > MAX_SERVERS_PER_ROW {
                self.servers.pop_last();
                self.row.servers_truncated = true;
            }
        }
    }

    fn finish(self, total_bytes: u64) -> RowReport {
        let MergedRow {
            mut row,
            ports,
            servers,
            ..
        } = self;
        row.section = Section::of(row.status, row.class);
        row.ports = ports.into_iter().collect();
        row.servers = servers.into_iter().collect();
        row.share = if total_bytes == 0 {
            0.0
        } else {
            row.bytes as f64 / total_bytes as f64
        };
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Class, Status};
    use crate::report::summary::InputReport;

    fn ts(secs: i64) -> Timestamp {
        Timestamp {
            secs,
            nanos: 0,
            digits: 6,
        }
    }

    fn row(service: Option<&str>, port: u16, packets: u64, when: i64) -> RowReport {
        RowReport {
            section: Section::Assigned,
            transport: Transport::Tcp,
            service: service.map(str::to_string),
            ports: vec![port],
            status: if service.is_some() {
                Status::Assigned
            } else {
                Status::Unassigned
            },
            class: Class::of(port),
            unauthorized: None,
            flows: 1,
            flows_unanswered: 1,
            flows_refused: 0,
            packets,
            bytes: packets * 100,
            share: 0.0,
            packets_to_server: packets,
            bytes_to_server: packets * 100,
            packets_to_client: 0,
            bytes_to_client: 0,
            first_seen: ts(when),
            last_seen: ts(when + 1),
            servers: vec![],
            servers_truncated: false,
            clients: 0,
            clients_truncated: false,
        }
    }

    fn report(file: &str, rows: Vec<RowReport>, icmp: u64) -> SummaryReport {
        let packets: u64 = rows.iter().map(|r| r.packets).sum::<u64>() + icmp;
        let bytes: u64 = rows.iter().map(|r| r.bytes).sum::<u64>() + icmp * 10;
        SummaryReport {
            version: SCHEMA_VERSION,
            inputs: vec![InputReport {
                file: file.to_string(),
                packets,
                error: None,
                unopened: false,
            }],
            totals: TotalsReport {
                packets,
                bytes,
                packets_with_ports: packets - icmp,
                packets_without_ports: icmp,
                flows: rows.iter().map(|r| r.flows).sum(),
                first_seen: rows.iter().map(|r| r.first_seen).min(),
                last_seen: rows.iter().map(|r| r.last_seen).max(),
                duration_seconds: 0.0,
                files: 1,
                capture_errors: 0,
                flows_expired: 1,
                flows_evicted: 2,
                decisions_revised: 3,
                flows_by_evidence: IndexMap::from([("handshake".to_string(), 1)]),
            },
            rows,
            no_ports: IndexMap::from([("icmp".to_string(), icmp)]),
            no_ports_detail: IndexMap::from([(
                "icmp".to_string(),
                NoPortsReport {
                    packets: icmp,
                    bytes: icmp * 10,
                },
            )]),
            notes: vec![],
            timeline: TimelineReport::default(),
            timeline_counts: Timeline::default(),
        }
    }

    /// A JSON timeline of one lane's packets (of 10 bytes) at the given times, `width_nanos`
    /// wide, as `summary` would write it after a round trip through JSON.
    fn timeline(width_nanos: i64, packets: &[(Lane, i64)]) -> TimelineReport {
        let (mut counts, exact) = Timeline::at_least(width_nanos);
        assert!(exact);
        for &(lane, at) in packets {
            counts.add(lane, at, 10);
        }
        assert_eq!(counts.width_nanos(), width_nanos);
        let json = serde_json::to_string(&TimelineReport::build(&counts)).unwrap();
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn timelines_of_different_widths_add_in_the_coarser() {
        const S: i64 = 1_000_000_000;
        let t0 = 1_704_067_200 * S;
        let mut a = report("a", vec![], 0);
        // 1 s buckets: packets at 0.5 s, 4.2 s and 12 s.
        a.timeline = timeline(
            S,
            &[
                (Lane::Assigned, t0 + S / 2),
                (Lane::Assigned, t0 + 4 * S + S / 5),
                (Lane::Dynamic, t0 + 12 * S),
            ],
        );
        let mut b = report("b", vec![], 0);
        // 5 s buckets: packets at 3 s and 14 s.
        b.timeline = timeline(
            5 * S,
            &[(Lane::Assigned, t0 + 3 * S), (Lane::NoPorts, t0 + 14 * S)],
        );
        let merged = merge(vec![a, b], SortKey::Bytes).unwrap();
        let t = &merged.timeline;
        assert_eq!(t.bucket_seconds, 5.0);
        let got: Vec<(i64, u64, u64, u64)> = t
            .buckets
            .iter()
            .map(|b| {
                (
                    (b.start.saturating_nanos() - t0) / S,
                    b.packets.assigned,
                    b.packets.dynamic,
                    b.packets.no_ports,
                )
            })
            .collect();
        assert_eq!(got, vec![(0, 3, 0, 0), (10, 0, 1, 1)]);
        assert_eq!(merged.timeline_counts.lane_total(Lane::Assigned).bytes, 30);
        assert!(!merged.notes.iter().any(|n| n == TIMELINE_NOTE));
    }

    #[test]
    fn a_timeline_off_the_grid_is_counted_by_start_and_noted() {
        const S: i64 = 1_000_000_000;
        let mut a = report("a", vec![], 0);
        a.timeline = timeline(S, &[(Lane::Assigned, 100 * S)]);
        let mut b = report("b", vec![], 0);
        // 11 ns buckets divide no ladder width (7 ns would: a week, exactly).
        b.timeline = TimelineReport {
            bucket_seconds: 11e-9,
            buckets: vec![crate::report::timeline::TimelineBucket {
                start: Timestamp {
                    secs: 101,
                    nanos: 999_999_996,
                    digits: 9,
                },
                packets: crate::report::timeline::LaneValues {
                    unassigned: 2,
                    ..Default::default()
                },
                bytes: crate::report::timeline::LaneValues {
                    unassigned: 80,
                    ..Default::default()
                },
            }],
        };
        let merged = merge(vec![a, b], SortKey::Bytes).unwrap();
        assert_eq!(merged.timeline.bucket_seconds, 1.0);
        let last = merged.timeline.buckets.last().unwrap();
        assert_eq!(last.start.saturating_nanos(), 101 * S);
        assert_eq!((last.packets.unassigned, last.bytes.unassigned), (2, 80));
        assert!(merged.notes.iter().any(|n| n == TIMELINE_NOTE));
    }

    #[test]
    fn clients_of_several_inputs_are_a_marked_lower_bound() {
        let with = |clients| RowReport {
            clients,
            ..row(None, 4, 1, 0)
        };
        let one = merge(
            vec![report("a", vec![with(3)], 0), report("b", vec![with(0)], 0)],
            SortKey::Bytes,
        )
        .unwrap();
        assert_eq!(
            (one.rows[0].clients, one.rows[0].clients_truncated),
            (3, false)
        );
        assert!(!one.notes.iter().any(|n| n == CLIENTS_NOTE));
        let both = merge(
            vec![report("a", vec![with(3)], 0), report("b", vec![with(5)], 0)],
            SortKey::Bytes,
        )
        .unwrap();
        assert_eq!(
            (both.rows[0].clients, both.rows[0].clients_truncated),
            (5, true)
        );
        assert!(both.notes.iter().any(|n| n == CLIENTS_NOTE));
    }

    #[test]
    fn rows_of_one_service_add_and_times_take_the_extremes() {
        let a = report("a", vec![row(Some("https"), 443, 3, 100)], 2);
        let b = report(
            "b",
            vec![row(Some("https"), 8443, 5, 50), row(None, 4, 1, 200)],
            1,
        );
        let merged = merge(vec![a, b], SortKey::Bytes).unwrap();
        assert_eq!(merged.rows.len(), 2);
        let https = &merged.rows[0];
        assert_eq!(https.service.as_deref(), Some("https"));
        assert_eq!(https.ports, vec![443, 8443]);
        assert_eq!((https.flows, https.packets, https.bytes), (2, 8, 800));
        assert_eq!((https.flows_unanswered, https.flows_refused), (2, 0));
        assert_eq!((https.first_seen, https.last_seen), (ts(50), ts(101)));
        assert_eq!(merged.totals.packets, 12);
        assert_eq!(merged.totals.bytes, 930);
        assert_eq!(
            (merged.totals.first_seen, merged.totals.last_seen),
            (Some(ts(50)), Some(ts(201)))
        );
        assert_eq!(merged.totals.duration_seconds, 151.0);
        assert!((https.share - 800.0 / 930.0).abs() < 1e-12);
        assert_eq!(merged.no_ports["icmp"], 3);
        assert_eq!(merged.no_ports_detail["icmp"].bytes, 30);
        assert_eq!(merged.totals.packets_without_ports, 3);
        assert_eq!(
            (
                merged.totals.flows_expired,
                merged.totals.flows_evicted,
                merged.totals.decisions_revised
            ),
            (2, 4, 6)
        );
        assert_eq!(merged.totals.flows_by_evidence["handshake"], 2);
        assert_eq!(merged.totals.flows_by_evidence.len(), Evidence::ALL.len());
        assert_eq!(merged.totals.files, 2);
        assert_eq!(merged.notes, vec![SPANNING_FLOWS_NOTE.to_string()]);
    }

    #[test]
    fn unnamed_ports_stay_rows_of_their_own() {
        let a = report("a", vec![row(None, 4, 1, 0)], 0);
        let b = report("b", vec![row(None, 5, 1, 0), row(None, 4, 2, 0)], 0);
        let merged = merge(vec![a, b], SortKey::Packets).unwrap();
        let ports: Vec<_> = merged
            .rows
            .iter()
            .map(|r| (r.ports.clone(), r.packets))
            .collect();
        assert_eq!(ports, vec![(vec![4], 3), (vec![5], 1)]);
        assert!(merged.rows.iter().all(|r| r.section == Section::Unassigned));
    }

    #[test]
    fn server_lists_keep_the_lowest_64_whatever_the_order() {
        let servers = |from: u8, to: u8| -> Vec<IpAddr> {
            (from..to).map(|i| IpAddr::from([10, 0, 0, i])).collect()
        };
        let with = |list| RowReport {
            servers: list,
            ..row(None, 4, 1, 0)
        };
        let a = report("a", vec![with(servers(40, 100))], 0);
        let b = report("b", vec![with(servers(0, 50))], 0);
        let one = merge(vec![a.clone(), b.clone()], SortKey::Bytes).unwrap();
        let other = merge(vec![b, a], SortKey::Bytes).unwrap();
        assert_eq!(one.rows[0].servers, servers(0, 64));
        assert!(one.rows[0].servers_truncated);
        assert_eq!(one.rows[0].servers, other.rows[0].servers);
    }

    #[test]
    fn another_schema_version_is_refused() {
        let mut a = report("a", vec![], 0);
        a.version = SCHEMA_VERSION + 1;
        assert_eq!(
            merge(vec![a], SortKey::Bytes).unwrap_err(),
            VersionMismatch {
                found: SCHEMA_VERSION + 1
            }
        );
    }
}

//! Per-service counters.
//!
//! Takes finished flows (as a [`FlowSink`] of [`crate::flow::FlowTable`]) and packets without
//! ports, and keeps one
//! [`Row`] per (transport, service name) for named services and per (transport, port) otherwise,
//! plus a count per reason for packets without ports. Every packet counted by [`Aggregator`] is in
//! exactly one row or one reason. Aggregators of disjoint inputs [`merge`](Aggregator::merge).
//! The [`timeline`] of packets and bytes per time bucket is kept alongside. No I/O.

pub mod timeline;

use crate::capture::Timestamp;
use crate::decode::NoPortsReason;
use crate::flow::service_port::Evidence;
use crate::flow::{Counter, FlowRecord, FlowSink, ReplyState};

use crate::registry::{Class, Registry, Status};
use crate::transport::Transport;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use timeline::{Lane, Timeline};

/// Server addresses kept per row; beyond this only the count of further flows' servers grows.
pub const MAX_SERVERS_PER_ROW: usize = 64;
/// Client addresses kept per row: the distinct count is exact up to this many.
pub const MAX_CLIENTS_PER_ROW: usize = 64;

/// Which part of the summary a row belongs to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    /// The service port is assigned by IANA (system or user range).
    Assigned,
    /// The service port is unassigned or reserved (system or user range): the headline.
    Unassigned,
    /// The service port is in the dynamic range (49152-65535): P2P, NAT traversal, callbacks.
    Dynamic,
}

impl Section {
    pub fn of(status: Status, class: Class) -> Section {
        match (status, class) {
            (_, Class::Dynamic) => Section::Dynamic,
            (Status::Assigned, _) => Section::Assigned,
            (Status::Reserved | Status::Unassigned, _) => Section::Unassigned,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Section::Assigned => "assigned",
            Section::Unassigned => "unassigned",
            Section::Dynamic => "dynamic",
        }
    }
}

/// What a row is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowKey {
    /// A named service: all its ports share the row.
    Service(Transport, String),
    /// A port with no name.
    Port(Transport, u16),
}

/// Traffic of one service (or one unnamed port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub transport: Transport,
    /// Primary service name, `None` for unassigned and reserved ports.
    pub service: Option<String>,
    /// The service ports seen.
    pub ports: BTreeSet<u16>,
    pub status: Status,
    pub class: Class,
    /// IANA's "unauthorized use reported" note for the port.
    pub unauthorized: Option<String>,
    pub flows: u64,
    /// Of `flows`, those never answered and those refused ([`crate::flow::ReplyState`]).
    pub flows_unanswered: u64,
    pub flows_refused: u64,
    pub to_server: Counter,
    pub to_client: Counter,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Server addresses: the lowest [`MAX_SERVERS_PER_ROW`] seen.
    pub servers: BTreeSet<IpAddr>,
    /// Whether servers beyond the kept ones were seen.
    pub servers_truncated: bool,
    /// Client addresses (the other side of the flows): the lowest [`MAX_CLIENTS_PER_ROW`] seen.
    pub clients: BTreeSet<IpAddr>,
    /// Whether clients beyond the kept ones were seen.
    pub clients_truncated: bool,
}

impl Row {
    pub fn section(&self) -> Section {
        Section::of(self.status, self.class)
    }

    pub fn key(&self) -> RowKey {
        match &self.service {
            Some(name) => RowKey::Service(self.transport, name.clone()),
            None => RowKey::Port(self.transport, self.ports.first().copied().unwrap_or(0)),
        }
    }

    pub fn packets(&self) -> u64 {
        self.to_server
            .packets
            .saturating_add(self.to_client.packets)
    }

    pub fn bytes(&self) -> u64 {
        self.to_server.bytes.saturating_add(self.to_client.bytes)
    }

    /// Keeps the lowest [`MAX_SERVERS_PER_ROW`] addresses: which ones are kept does not depend
    /// on the order flows are folded in (it varies with hashing and with `--threads`).
    fn add_server(&mut self, addr: IpAddr) {
        if self.servers.insert(addr) && self.servers.len() > MAX_SERVERS_PER_ROW {
            self.servers.pop_last();
            self.servers_truncated = true;
        }
    }

    /// As [`add_server`](Self::add_server), for clients.
    fn add_client(&mut self, addr: IpAddr) {
        if self.clients.insert(addr) && self.clients.len() > MAX_CLIENTS_PER_ROW {
            self.clients.pop_last();
            self.clients_truncated = true;
        }
    }

    fn merge(&mut self, other: &Row) {
        self.ports.extend(other.ports.iter().copied());
        self.flows = self.flows.saturating_add(other.flows);
        self.flows_unanswered = self.flows_unanswered.saturating_add(other.flows_unanswered);
        self.flows_refused = self.flows_refused.saturating_add(other.flows_refused);
        self.to_server.merge(other.to_server);
        self.to_client.merge(other.to_client);
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        for addr in &other.servers {
            self.add_server(*addr);
        }
        self.servers_truncated |= other.servers_truncated;
        for addr in &other.clients {
            self.add_client(*addr);
        }
        self.clients_truncated |= other.clients_truncated;
        if self.class > other.class {
            // Keep the class of the lowest range the service was seen in.
            self.class = other.class;
        }
    }
}

/// Counters of a whole input, independent of rows: the check that nothing was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub packets: u64,
    pub bytes: u64,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
}

impl Totals {
    fn merge(&mut self, other: &Totals) {
        self.packets = self.packets.saturating_add(other.packets);
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.first_seen = match (self.first_seen, other.first_seen) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_seen = self.last_seen.max(other.last_seen);
    }
}

/// Rows, packets-without-ports counts and totals. As a [`FlowSink`] it folds each flow into its
/// service's row.
#[derive(Debug, Default, Clone)]
pub struct Aggregator {
    rows: Vec<Row>,
    /// Both indexes hashed with foldhash, not SipHash: every flow's fold probes `by_port`
    /// (measured: SipHash was ~300 instructions a flow). Neither is iterated, so the hasher
    /// does not reach the output.
    by_key: HashMap<RowKey, usize, foldhash::fast::FixedState>,
    /// (transport, service port) -> row, so a fold allocates only for a new row.
    by_port: HashMap<(Transport, u16), usize, foldhash::fast::FixedState>,
    no_ports: BTreeMap<NoPortsReason, Counter>,
    totals: Totals,
    /// Folded flows by the evidence of their service decision, in [`Evidence::ALL`]'s order.
    by_evidence: [u64; Evidence::ALL.len()],
    timeline: Timeline,
}

impl Aggregator {
    /// Every packet, with or without ports, once: feeds the totals.
    pub fn count_packet(&mut self, ts: Timestamp, wire_len: u32) {
        let t = &mut self.totals;
        t.packets = t.packets.saturating_add(1);
        t.bytes = t.bytes.saturating_add(u64::from(wire_len));
        if t.first_seen.is_none_or(|first| ts < first) {
            t.first_seen = Some(ts);
        }
        if t.last_seen.is_none_or(|last| ts > last) {
            t.last_seen = Some(ts);
        }
    }

    /// A packet without ports, under its reason.
    pub fn count_no_ports(&mut self, reason: NoPortsReason, wire_len: u32) {
        self.no_ports
            .entry(reason)
            .or_default()
            .add(u64::from(wire_len));
    }

    /// One packet into the timeline, in `lane`: [`Lane::NoPorts`] for a packet counted by
    /// [`count_no_ports`](Self::count_no_ports), else the lane of its flow's service port when
    /// the packet was seen ([`Lane::of_port`]), which is the row its flow's fold counts it in.
    #[inline]
    pub fn count_in_timeline(&mut self, lane: Lane, ts: Timestamp, wire_len: u32) {
        self.timeline.add(lane, ts.saturating_nanos(), wire_len);
    }

    /// A flow's counters into its service's row.
    pub fn fold(&mut self, registry: &Registry, record: &FlowRecord) {
        if record.packets() == 0 {
            return;
        }
        if let Some(count) = self.by_evidence.get_mut(record.evidence.index()) {
            *count = count.saturating_add(1);
        }
        let server = record.server();
        let index = self.row_index(
            registry,
            record.key.transport,
            server.port,
            record.first_seen,
        );
        if let Some(row) = self.rows.get_mut(index) {
            row.flows = row.flows.saturating_add(1);
            match record.state {
                ReplyState::Answered => {}
                ReplyState::Unanswered => {
                    row.flows_unanswered = row.flows_unanswered.saturating_add(1);
                }
                ReplyState::Refused => row.flows_refused = row.flows_refused.saturating_add(1),
            }
            row.to_server.merge(record.to_server);
            row.to_client.merge(record.to_client);
            row.first_seen = row.first_seen.min(record.first_seen);
            row.last_seen = row.last_seen.max(record.last_seen);
            if row.status != Status::Assigned || row.class == Class::Dynamic {
                row.add_server(server.addr);
                row.add_client(record.client().addr);
            }
        }
    }

    fn row_index(
        &mut self,
        registry: &Registry,
        transport: Transport,
        port: u16,
        seen: Timestamp,
    ) -> usize {
        if let Some(&index) = self.by_port.get(&(transport, port)) {
            return index;
        }
        let info = registry.port(transport, port);
        let row = Row {
            transport,
            service: info.service.map(str::to_string),
            ports: BTreeSet::from([port]),
            status: info.status,
            class: info.class,
            unauthorized: info.unauthorized.map(str::to_string),
            flows: 0,
            flows_unanswered: 0,
            flows_refused: 0,
            to_server: Counter::default(),
            to_client: Counter::default(),
            first_seen: seen,
            last_seen: seen,
            servers: BTreeSet::new(),
            servers_truncated: false,
            clients: BTreeSet::new(),
            clients_truncated: false,
        };
        let index = match self.by_key.get(&row.key()) {
            Some(&index) => {
                if let Some(existing) = self.rows.get_mut(index) {
                    existing.ports.insert(port);
                    existing.class = existing.class.min(info.class);
                }
                index
            }
            None => {
                let index = self.rows.len();
                self.by_key.insert(row.key(), index);
                self.rows.push(row);
                index
            }
        };
        self.by_port.insert((transport, port), index);
        index
    }

    /// Add another aggregator's counts (of a disjoint set of packets).
    pub fn merge(&mut self, other: Aggregator) {
        for row in other.rows {
            match self.by_key.get(&row.key()) {
                Some(&index) => {
                    if let Some(existing) = self.rows.get_mut(index) {
                        existing.merge(&row);
                    }
                }
                None => {
                    let index = self.rows.len();
                    self.by_key.insert(row.key(), index);
                    for &port in &row.ports {
                        self.by_port.insert((row.transport, port), index);
                    }
                    self.rows.push(row);
                }
            }
        }
        for (reason, counter) in other.no_ports {
            self.no_ports.entry(reason).or_default().merge(counter);
        }
        self.totals.merge(&other.totals);
        for (mine, theirs) in self.by_evidence.iter_mut().zip(other.by_evidence) {
            *mine = mine.saturating_add(theirs);
        }
        self.timeline.merge(other.timeline);
    }

    /// Folded flows (as in [`Row::flows`]) by the evidence their service decision rests on.
    pub fn flows_by_evidence(&self) -> impl Iterator<Item = (Evidence, u64)> + '_ {
        Evidence::ALL.into_iter().zip(self.by_evidence)
    }

    pub fn rows(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter()
    }

    pub fn no_ports(&self) -> &BTreeMap<NoPortsReason, Counter> {
        &self.no_ports
    }

    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Packets in rows plus packets without ports: equals `totals().packets` when every packet
    /// given to [`count_packet`](Self::count_packet) was also counted in a row or a reason.
    pub fn accounted_packets(&self) -> u64 {
        let in_rows: u64 = self.rows.iter().map(Row::packets).sum();
        let without: u64 = self.no_ports.values().map(|c| c.packets).sum();
        in_rows.saturating_add(without)
    }
}

impl FlowSink for Aggregator {
    #[inline]
    fn flow_ended(&mut self, registry: &Registry, record: FlowRecord) {
        self.fold(registry, &record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{EndReason, Endpoint, FlowKey};
    use std::net::Ipv4Addr;

    fn ts(secs: i64) -> Timestamp {
        Timestamp {
            secs,
            nanos: 0,
            digits: 6,
        }
    }

    fn flow(server_port: u16, server_last_octet: u8, packets: u64) -> FlowRecord {
        let client = Endpoint {
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            port: 50000,
        };
        let server = Endpoint {
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 1, server_last_octet)),
            port: server_port,
        };
        let (key, client_is_a) = FlowKey::of_packet(Transport::Tcp, client, server, None);
        FlowRecord {
            id: 1,
            key,
            server_is_a: !client_is_a,
            evidence: Evidence::Rank,
            first_seen: ts(1),
            last_seen: ts(2),
            to_server: Counter {
                packets,
                bytes: packets * 100,
            },
            to_client: Counter::default(),
            tcp_flags: 0,
            end: EndReason::Idle,
            state: ReplyState::Unanswered,
            encap: crate::flow::Encapsulation::default(),
        }
    }

    #[test]
    fn named_service_ports_share_a_row_unnamed_ports_get_their_own() {
        let registry = Registry::from_services_text("x11 6000/tcp\nx11 6001/tcp\n").unwrap();
        let mut agg = Aggregator::default();
        for (port, octet) in [(6000, 1), (6001, 2), (4, 3), (4, 4), (5, 5)] {
            let record = flow(port, octet, 2);
            agg.fold(&registry, &record);
        }
        type Seen = (Option<String>, Vec<u16>, u64, usize, Section);
        let mut rows: Vec<Seen> = agg
            .rows()
            .map(|r| {
                (
                    r.service.clone(),
                    r.ports.iter().copied().collect(),
                    r.flows,
                    r.servers.len(),
                    r.section(),
                )
            })
            .collect();
        rows.sort();
        assert_eq!(
            rows,
            vec![
                (None, vec![4], 2, 2, Section::Unassigned),
                (None, vec![5], 1, 1, Section::Unassigned),
                (
                    Some("x11".into()),
                    vec![6000, 6001],
                    2,
                    0,
                    Section::Assigned
                ),
            ]
        );
    }

    #[test]
    fn merge_adds_rows_reasons_and_totals() {
        let registry = Registry::from_services_text("https 443/tcp\n").unwrap();
        let mut one = Aggregator::default();
        let mut two = Aggregator::default();
        for (agg, octet) in [(&mut one, 1), (&mut two, 2)] {
            let record = flow(443, octet, 3);
            agg.fold(&registry, &record);
            agg.count_no_ports(NoPortsReason::Icmp, 70);
            for _ in 0..4 {
                agg.count_packet(ts(i64::from(octet)), 100);
            }
        }
        one.merge(two);
        let row = one.rows().next().unwrap();
        assert_eq!((row.flows, row.packets()), (2, 6));
        assert_eq!(
            one.no_ports().get(&NoPortsReason::Icmp),
            Some(&Counter {
                packets: 2,
                bytes: 140
            })
        );
        assert_eq!(one.totals().packets, 8);
        assert_eq!(one.accounted_packets(), 8);
        assert_eq!(one.totals().first_seen, Some(ts(1)));
        assert_eq!(one.totals().last_seen, Some(ts(2)));
    }

    #[test]
    fn servers_kept_are_the_lowest_whatever_the_fold_order() {
        let registry = Registry::default();
        // 70 flows to unassigned port 4, one server each (10.0.1.1 ..= 10.0.1.70).
        let octets: Vec<u8> = (1..=70).collect();
        let fold_all = |order: &mut dyn Iterator<Item = &u8>| {
            let mut agg = Aggregator::default();
            for &octet in order {
                let record = flow(4, octet, 1);
                agg.fold(&registry, &record);
            }
            agg
        };
        let forward = fold_all(&mut octets.iter());
        let backward = fold_all(&mut octets.iter().rev());
        let kept = |agg: &Aggregator| {
            let row = agg.rows().next().unwrap().clone();
            (row.servers, row.servers_truncated)
        };
        let expected: BTreeSet<IpAddr> = (1..=64)
            .map(|o| IpAddr::V4(Ipv4Addr::new(10, 0, 1, o)))
            .collect();
        assert_eq!(kept(&forward), (expected.clone(), true));
        assert_eq!(kept(&backward), (expected, true));
        // Merging two halves keeps the same lowest 64 as folding everything into one.
        let mut low = fold_all(&mut octets.iter().take(35));
        low.merge(fold_all(&mut octets.iter().skip(35)));
        assert_eq!(kept(&low), kept(&forward));
    }

    #[test]
    fn dynamic_service_port_goes_to_the_dynamic_section() {
        assert_eq!(
            Section::of(Status::Unassigned, Class::Dynamic),
            Section::Dynamic
        );
        assert_eq!(
            Section::of(Status::Assigned, Class::Dynamic),
            Section::Dynamic
        );
        assert_eq!(
            Section::of(Status::Reserved, Class::System),
            Section::Unassigned
        );
        assert_eq!(
            Section::of(Status::Assigned, Class::User),
            Section::Assigned
        );
    }
}

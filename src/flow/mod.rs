//! Bidirectional flows and the rule that picks each flow's service port.
//!
//! Takes decoded packets that have ports and keeps one [`FlowState`] per (transport, endpoint
//! pair), whichever way the packet goes. Each packet is attributed to its flow's service port at
//! the time it is seen (see [`service_port`] for the rule), and the flow's counters are folded
//! into an [`Aggregator`] when the flow ends: idle timeout, capacity eviction, a revised service
//! decision, or the end of input. Nothing is lost: every packet given to [`FlowTable::observe`] is
//! in exactly one fold. No I/O.

pub mod service_port;

use crate::aggregate::Aggregator;
use crate::capture::Timestamp;
use crate::decode::{Handshake, Ports};
use crate::registry::{PortInfo, Registry};
use crate::transport::Transport;
use service_port::{choose_service_side, Evidence, ServiceSide};
use std::collections::HashMap;
use std::net::IpAddr;

/// One end of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub addr: IpAddr,
    pub port: u16,
}

/// A flow's identity, the same for both directions: `a` is the lower endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub transport: Transport,
    pub a: Endpoint,
    pub b: Endpoint,
}

impl FlowKey {
    /// The key of a packet and whether the packet goes from `a` to `b`.
    pub fn of_packet(transport: Transport, src: Endpoint, dst: Endpoint) -> (FlowKey, bool) {
        if src <= dst {
            (
                FlowKey {
                    transport,
                    a: src,
                    b: dst,
                },
                true,
            )
        } else {
            (
                FlowKey {
                    transport,
                    a: dst,
                    b: src,
                },
                false,
            )
        }
    }
}

/// Packet and byte counters of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counter {
    pub packets: u64,
    pub bytes: u64,
}

impl Counter {
    fn add(&mut self, bytes: u64) {
        self.packets = self.packets.saturating_add(1);
        self.bytes = self.bytes.saturating_add(bytes);
    }

    pub fn merge(&mut self, other: Counter) {
        self.packets = self.packets.saturating_add(other.packets);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

/// A live flow. Counters cover the packets since the flow's last fold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowState {
    pub id: u64,
    /// Whether the server (service port) is endpoint `a` of the key.
    pub server_is_a: bool,
    pub evidence: Evidence,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub to_server: Counter,
    pub to_client: Counter,
    /// Union of the TCP flags seen in either direction.
    pub tcp_flags: u8,
}

impl FlowState {
    pub fn server<'k>(&self, key: &'k FlowKey) -> &'k Endpoint {
        if self.server_is_a {
            &key.a
        } else {
            &key.b
        }
    }

    pub fn packets(&self) -> u64 {
        self.to_server
            .packets
            .saturating_add(self.to_client.packets)
    }
}

/// Idle time after which a flow ends, per transport, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleTimeouts {
    pub tcp: i128,
    pub tcp_closed: i128,
    pub udp: i128,
    pub sctp: i128,
    pub dccp: i128,
}

const SECOND: i128 = 1_000_000_000;

impl Default for IdleTimeouts {
    /// Conntrack-like: established TCP 5 min, TCP after FIN/RST 10 s, UDP 2 min, SCTP/DCCP 5 min.
    fn default() -> Self {
        IdleTimeouts {
            tcp: 300 * SECOND,
            tcp_closed: 10 * SECOND,
            udp: 120 * SECOND,
            sctp: 300 * SECOND,
            dccp: 300 * SECOND,
        }
    }
}

impl IdleTimeouts {
    fn of(&self, key: &FlowKey, state: &FlowState) -> i128 {
        match key.transport {
            Transport::Tcp if state.tcp_flags & (TCP_FIN | TCP_RST) != 0 => self.tcp_closed,
            Transport::Tcp => self.tcp,
            Transport::Udp => self.udp,
            Transport::Sctp => self.sctp,
            Transport::Dccp => self.dccp,
        }
    }
}

const TCP_FIN: u8 = 0x01;
const TCP_RST: u8 = 0x04;

/// How often, in capture time, idle flows are swept out.
const SWEEP_INTERVAL: i128 = SECOND;

/// What [`FlowTable::observe`] says of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribution<'r> {
    pub flow_id: u64,
    /// Which side of this packet carries the service port.
    pub server: ServiceSide,
    pub service_port: u16,
    /// The registry's view of the service port.
    pub info: PortInfo<'r>,
}

/// Flow lifecycle counts, for the report's totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowStats {
    /// Flow records created (a flow whose service decision was revised counts once).
    pub flows: u64,
    /// Flows ended by their idle timeout.
    pub expired: u64,
    /// Flows pushed out because the table held `max_flows`.
    pub evicted: u64,
    /// Service decisions revised by later handshake evidence.
    pub revised: u64,
    /// The most flows held at once.
    pub peak: u64,
}

/// The table of live flows, bounded by `max_flows`.
#[derive(Debug)]
pub struct FlowTable {
    flows: HashMap<FlowKey, FlowState>,
    max_flows: usize,
    timeouts: IdleTimeouts,
    next_id: u64,
    last_sweep: Option<i128>,
    stats: FlowStats,
}

impl FlowTable {
    pub fn new(max_flows: usize, timeouts: IdleTimeouts) -> Self {
        FlowTable {
            flows: HashMap::with_capacity(max_flows.min(1 << 16)),
            max_flows: max_flows.max(1),
            timeouts,
            next_id: 1,
            last_sweep: None,
            stats: FlowStats::default(),
        }
    }

    pub fn stats(&self) -> FlowStats {
        self.stats
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Count one packet with ports into its flow and say which service it is attributed to.
    #[allow(clippy::too_many_arguments)]
    pub fn observe<'r>(
        &mut self,
        registry: &'r Registry,
        aggregator: &mut Aggregator,
        ts: Timestamp,
        src: IpAddr,
        dst: IpAddr,
        ports: Ports,
        handshake: Option<Handshake>,
        tcp_flags: Option<u8>,
        wire_len: u32,
    ) -> Attribution<'r> {
        let now = ts.as_nanos();
        if self
            .last_sweep
            .is_none_or(|last| now - last >= SWEEP_INTERVAL || now < last)
        {
            self.sweep_idle(registry, aggregator, now);
            self.last_sweep = Some(now);
        }

        let src_ep = Endpoint {
            addr: src,
            port: ports.src_port,
        };
        let dst_ep = Endpoint {
            addr: dst,
            port: ports.dst_port,
        };
        let (key, src_is_a) = FlowKey::of_packet(ports.transport, src_ep, dst_ep);
        let (side, evidence) = choose_service_side(
            registry,
            ports.transport,
            ports.src_port,
            ports.dst_port,
            handshake,
        );
        // The service side expressed as "is the server endpoint a?".
        let server_is_a = (side == ServiceSide::Src) == src_is_a;

        if !self.flows.contains_key(&key) && self.flows.len() >= self.max_flows {
            self.make_room(registry, aggregator, now);
        }
        let next_id = &mut self.next_id;
        let stats = &mut self.stats;
        let state = self.flows.entry(key).or_insert_with(|| {
            let id = *next_id;
            *next_id += 1;
            stats.flows += 1;
            FlowState {
                id,
                server_is_a,
                evidence,
                first_seen: ts,
                last_seen: ts,
                to_server: Counter::default(),
                to_client: Counter::default(),
                tcp_flags: 0,
            }
        });
        // Rule 3: only handshake evidence revises a flow's decision.
        if evidence == Evidence::Handshake && state.server_is_a != server_is_a {
            if state.packets() > 0 {
                aggregator.fold(registry, &key, state);
                self.stats.flows += 1;
            }
            state.server_is_a = server_is_a;
            state.to_server = Counter::default();
            state.to_client = Counter::default();
            state.first_seen = ts;
            self.stats.revised += 1;
        }
        if evidence == Evidence::Handshake {
            state.evidence = Evidence::Handshake;
        }
        let towards_server = src_is_a != state.server_is_a;
        if towards_server {
            state.to_server.add(u64::from(wire_len));
        } else {
            state.to_client.add(u64::from(wire_len));
        }
        state.tcp_flags |= tcp_flags.unwrap_or(0);
        if ts > state.last_seen {
            state.last_seen = ts;
        }
        let flow_id = state.id;
        self.stats.peak = self.stats.peak.max(self.flows.len() as u64);

        let server = if towards_server {
            ServiceSide::Dst
        } else {
            ServiceSide::Src
        };
        let service_port = match server {
            ServiceSide::Src => ports.src_port,
            ServiceSide::Dst => ports.dst_port,
        };
        Attribution {
            flow_id,
            server,
            service_port,
            info: registry.port(ports.transport, service_port),
        }
    }

    /// Fold every flow idle past its timeout at `now` into the aggregator.
    fn sweep_idle(&mut self, registry: &Registry, aggregator: &mut Aggregator, now: i128) {
        let timeouts = self.timeouts;
        let mut expired = 0;
        self.flows.retain(|key, state| {
            let idle = now - state.last_seen.as_nanos();
            if idle > timeouts.of(key, state) {
                aggregator.fold(registry, key, state);
                expired += 1;
                false
            } else {
                true
            }
        });
        self.stats.expired += expired;
    }

    /// The table is full: sweep idle flows, and when none were idle, evict the least recently
    /// seen sixteenth of the table (at least one), so eviction cost is amortised.
    fn make_room(&mut self, registry: &Registry, aggregator: &mut Aggregator, now: i128) {
        self.sweep_idle(registry, aggregator, now);
        if self.flows.len() < self.max_flows {
            return;
        }
        let mut last_seen: Vec<Timestamp> = self.flows.values().map(|s| s.last_seen).collect();
        let cut = (last_seen.len() / 16).max(1) - 1;
        let (_, &mut threshold, _) = last_seen.select_nth_unstable(cut);
        let mut to_evict = cut + 1;
        let mut evicted = 0;
        self.flows.retain(|key, state| {
            if to_evict > 0 && state.last_seen <= threshold {
                to_evict -= 1;
                aggregator.fold(registry, key, state);
                evicted += 1;
                false
            } else {
                true
            }
        });
        self.stats.evicted += evicted;
    }

    /// Fold every live flow into `aggregator` without ending it: what [`finish`](Self::finish)
    /// would add now. The table is unchanged, so `aggregator` should be a copy (a snapshot).
    pub fn fold_live_into(&self, registry: &Registry, aggregator: &mut Aggregator) {
        for (key, state) in &self.flows {
            aggregator.fold(registry, key, state);
        }
    }

    /// End of input: fold every remaining flow.
    pub fn finish(&mut self, registry: &Registry, aggregator: &mut Aggregator) {
        for (key, state) in self.flows.drain() {
            aggregator.fold(registry, &key, &state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Ports;
    use std::net::Ipv4Addr;

    fn registry() -> Registry {
        Registry::from_services_text("https 443/tcp\ndomain 53/udp\n").unwrap()
    }

    fn ts(secs: i64) -> Timestamp {
        Timestamp {
            secs,
            nanos: 0,
            digits: 6,
        }
    }

    const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    fn tcp(src_port: u16, dst_port: u16) -> Ports {
        Ports {
            transport: Transport::Tcp,
            src_port,
            dst_port,
        }
    }

    #[test]
    fn both_directions_share_one_flow_and_count_per_direction() {
        let r = registry();
        let mut agg = Aggregator::default();
        let mut table = FlowTable::new(100, IdleTimeouts::default());
        let a = table.observe(
            &r,
            &mut agg,
            ts(1),
            CLIENT,
            SERVER,
            tcp(51000, 443),
            None,
            Some(0x10),
            100,
        );
        let b = table.observe(
            &r,
            &mut agg,
            ts(2),
            SERVER,
            CLIENT,
            tcp(443, 51000),
            None,
            Some(0x10),
            1500,
        );
        assert_eq!(a.flow_id, b.flow_id);
        assert_eq!((a.server, b.server), (ServiceSide::Dst, ServiceSide::Src));
        assert_eq!((a.service_port, b.service_port), (443, 443));
        assert_eq!(a.info.service, Some("https"));
        assert_eq!(table.len(), 1);
        table.finish(&r, &mut agg);
        let row = agg.rows().next().unwrap();
        assert_eq!(row.flows, 1);
        assert_eq!(
            row.to_server,
            Counter {
                packets: 1,
                bytes: 100
            }
        );
        assert_eq!(
            row.to_client,
            Counter {
                packets: 1,
                bytes: 1500
            }
        );
    }

    #[test]
    fn syn_from_443_to_51000_makes_51000_the_service() {
        let r = registry();
        let mut agg = Aggregator::default();
        let mut table = FlowTable::new(100, IdleTimeouts::default());
        let syn = table.observe(
            &r,
            &mut agg,
            ts(1),
            CLIENT,
            SERVER,
            tcp(443, 51000),
            Some(Handshake::Request),
            Some(0x02),
            60,
        );
        assert_eq!(syn.service_port, 51000);
        // A later packet without evidence keeps the decision (rule 3).
        let ack = table.observe(
            &r,
            &mut agg,
            ts(2),
            CLIENT,
            SERVER,
            tcp(443, 51000),
            None,
            Some(0x10),
            60,
        );
        assert_eq!(ack.service_port, 51000);
    }

    #[test]
    fn later_handshake_revises_a_ranked_decision_and_folds_what_came_before() {
        let r = registry();
        let mut agg = Aggregator::default();
        let mut table = FlowTable::new(100, IdleTimeouts::default());
        let first = table.observe(
            &r,
            &mut agg,
            ts(1),
            CLIENT,
            SERVER,
            tcp(443, 51000),
            None,
            Some(0x10),
            60,
        );
        assert_eq!(first.service_port, 443);
        let syn = table.observe(
            &r,
            &mut agg,
            ts(2),
            CLIENT,
            SERVER,
            tcp(443, 51000),
            Some(Handshake::Request),
            Some(0x02),
            60,
        );
        assert_eq!(syn.service_port, 51000);
        assert_eq!(syn.flow_id, first.flow_id);
        table.finish(&r, &mut agg);
        let mut ports: Vec<(Vec<u16>, u64)> = agg
            .rows()
            .map(|row| (row.ports.iter().copied().collect(), row.packets()))
            .collect();
        ports.sort();
        assert_eq!(ports, vec![(vec![443], 1), (vec![51000], 1)]);
        assert_eq!(table.stats().revised, 1);
    }

    #[test]
    fn idle_flows_expire_and_are_folded() {
        let r = registry();
        let mut agg = Aggregator::default();
        let mut table = FlowTable::new(100, IdleTimeouts::default());
        table.observe(
            &r,
            &mut agg,
            ts(0),
            CLIENT,
            SERVER,
            tcp(51000, 443),
            None,
            None,
            10,
        );
        let dns = Ports {
            transport: Transport::Udp,
            src_port: 40000,
            dst_port: 53,
        };
        table.observe(&r, &mut agg, ts(1000), CLIENT, SERVER, dns, None, None, 10);
        assert_eq!(table.len(), 1, "the tcp flow idled out");
        assert_eq!(table.stats().expired, 1);
        assert_eq!(agg.rows().map(|row| row.packets()).sum::<u64>(), 1);
    }

    #[test]
    fn capacity_evicts_least_recently_seen_without_losing_packets() {
        let r = registry();
        let mut agg = Aggregator::default();
        let mut table = FlowTable::new(10, IdleTimeouts::default());
        for port in 0..100u16 {
            table.observe(
                &r,
                &mut agg,
                ts(1),
                CLIENT,
                SERVER,
                tcp(50000 + port, 443),
                None,
                None,
                10,
            );
            assert!(table.len() <= 10);
        }
        assert!(table.stats().evicted >= 90);
        table.finish(&r, &mut agg);
        assert_eq!(agg.rows().map(|row| row.packets()).sum::<u64>(), 100);
        assert_eq!(agg.rows().map(|row| row.flows).sum::<u64>(), 100);
    }
}

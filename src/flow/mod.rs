//! Bidirectional flows and the rule that picks each flow's service port.
//!
//! Takes decoded packets that have ports and keeps one [`FlowState`] per (transport, endpoint
//! pair), whichever way the packet goes. Each packet is attributed to its flow's service port at
//! the time it is seen (see [`service_port`] for the rule), and the flow is handed to a
//! [`FlowSink`] as one owned [`FlowRecord`] when it ends: idle timeout, capacity eviction, a
//! revised service decision, or the end of input ([`EndReason`]). Nothing is lost: every packet
//! given to [`FlowTable::observe`] is in exactly one record handed on. This module knows no
//! consumer of records (the aggregator is one sink among others). No I/O.
//!
//! ## Cost per packet
//!
//! One hash of the flow's key, two 64-bit words for IPv4 and five for IPv6 (foldhash, seeded
//! per process so crafted traffic cannot aim at collisions), and one probe of the table's index
//! of packed slots (`slot.rs`: 56 bytes a live flow, key included; ARCHITECTURE.md, "Memory per
//! live flow"). The registry is read
//! only for a new flow and for handshake evidence; an [`Observed`] packet's service is looked up
//! by the caller that wants it ([`Observed::attribution`]). Idle flows are found through a
//! timing wheel of expiry deadlines by capture second (`wheel.rs`) instead of a scan of the whole
//! table every capture second: a sweep costs the flows that are due, not the flows that are
//! live. The wheel may hold stale deadlines (a flow seen again since); those are checked against
//! the flow and pushed back at its real deadline, so no flow expires early or late.

pub mod community_id;
mod encap;
pub mod endpoints;
mod record;
pub mod service_port;
mod slot;
mod wheel;

use crate::capture::Timestamp;
use crate::decode::{Handshake, PacketInfo, Ports, TunnelKind, Vlans};
use crate::registry::{PortInfo, Registry, Status};
use crate::transport::Transport;
use encap::Encaps;
use endpoints::LateDecisions;
use hashbrown::HashTable;
use service_port::{choose_service_side, Evidence, ServiceSide, Sides};
use slot::{Probe, Slot, Spill, V6Pairs};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use wheel::Wheel;

pub use record::{Encapsulation, EndReason, FlowRecord, FlowSink, OuterEndpoints, ReplyState};

/// The flow table's hasher: fast, and randomly seeded per process.
type FlowHasher = foldhash::fast::RandomState;

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
    /// The tunnel the packet came in (its innermost transport is the flow's): the same inner
    /// addresses and ports inside a VXLAN overlay and on the underlay are different flows.
    pub tunnel: Option<TunnelKind>,
}

impl FlowKey {
    /// The key of a packet and whether the packet goes from `a` to `b`.
    pub fn of_packet(
        transport: Transport,
        src: Endpoint,
        dst: Endpoint,
        tunnel: Option<TunnelKind>,
    ) -> (FlowKey, bool) {
        if src <= dst {
            (
                FlowKey {
                    transport,
                    a: src,
                    b: dst,
                    tunnel,
                },
                true,
            )
        } else {
            (
                FlowKey {
                    transport,
                    a: dst,
                    b: src,
                    tunnel,
                },
                false,
            )
        }
    }
}

/// One packet with ports, as the flow table takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowPacket {
    pub ts: Timestamp,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ports: Ports,
    pub handshake: Option<Handshake>,
    /// The TCP flags byte; 0 for other transports.
    pub tcp_flags: u8,
    /// Length on the wire, counted as the packet's bytes.
    pub wire_len: u32,
    /// The tunnel it came in, part of the flow's key.
    pub tunnel: Option<TunnelKind>,
    /// The frame's VLAN tags: kept for a new flow, not part of its key. (A tunnelled packet's
    /// outer endpoints reach the table apart, [`FlowTable::tunnelled_by`], so this struct,
    /// moved per packet, stays small.)
    pub vlans: Vlans,
}

impl FlowPacket {
    /// The decoded packet, when it has ports and the addresses of the IP header carrying them.
    pub fn from_decoded(info: &PacketInfo, ts: Timestamp, wire_len: u32) -> Option<FlowPacket> {
        Some(FlowPacket {
            ts,
            src: info.src?,
            dst: info.dst?,
            ports: info.ports?,
            handshake: info.handshake,
            tcp_flags: info.tcp_flags.unwrap_or(0),
            wire_len,
            tunnel: info.outer.map(|o| o.tunnel),
            vlans: info.vlans,
        })
    }

    /// For an ICMP port unreachable, the packet it quotes, as the flow table keys it: from the
    /// ICMP message's destination (the quoted packet's sender) to its source (the host that
    /// refused it), with the quoted transport and ports. None for any other packet.
    pub fn quoted_by_port_unreachable(info: &PacketInfo, ts: Timestamp) -> Option<FlowPacket> {
        let quote = info.icmp_quote.filter(|q| q.port_unreachable)?;
        Some(FlowPacket {
            ts,
            src: info.dst?,
            dst: info.src?,
            ports: quote.ports,
            handshake: None,
            tcp_flags: 0,
            wire_len: 0,
            tunnel: info.outer.map(|o| o.tunnel),
            // Only marks a live flow: never creates one, so its link does not matter.
            vlans: Vlans::default(),
        })
    }

    /// The packet's flow key, and whether the packet goes from the key's `a` to its `b`.
    pub fn key(&self) -> (FlowKey, bool) {
        let src = Endpoint {
            addr: self.src,
            port: self.ports.src_port,
        };
        let dst = Endpoint {
            addr: self.dst,
            port: self.ports.dst_port,
        };
        FlowKey::of_packet(self.ports.transport, src, dst, self.tunnel)
    }

    /// [`key`](Self::key) packed for the table, and whether the packet goes from `a` to `b`.
    /// Endpoints order as in [`FlowKey::of_packet`]: by address, then port (both addresses
    /// of a packet are of one family, so the bits order as the addresses do).
    #[inline]
    pub(crate) fn packed_key(&self) -> (PackedKey, bool) {
        // Both addresses matched at once: 7 instructions a packet fewer than `bits` on each.
        let (src, dst, v6) = match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => (u128::from(s.to_bits()), u128::from(d.to_bits()), 0),
            (s, d) => (bits(s), bits(d), 1),
        };
        let src = (src, self.ports.src_port);
        let dst = (dst, self.ports.dst_port);
        let src_is_a = src <= dst;
        let (a, b) = if src_is_a { (src, dst) } else { (dst, src) };
        let meta = (u64::from(a.1) << 48)
            | (u64::from(b.1) << 32)
            | ((self.ports.transport.index() as u64) << 16)
            | (u64::from(self.tunnel.map_or(0, |t| t as u8 + 1)) << 8)
            | v6;
        let key = PackedKey([
            (a.0 >> 64) as u64,
            a.0 as u64,
            (b.0 >> 64) as u64,
            b.0 as u64,
            meta,
        ]);
        (key, src_is_a)
    }
}

impl FlowPacket {
    /// The packet's key as the table compares it with a slot's, and whether the packet goes
    /// from `a` to `b` (endpoints ordered as in [`FlowKey::of_packet`]).
    #[inline]
    fn probe(&self) -> (slot::Probe, bool) {
        let (src, dst) = match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                // Address, then port, in one word per endpoint: one comparison orders them.
                let src = (u64::from(s.to_bits()) << 16) | u64::from(self.ports.src_port);
                let dst = (u64::from(d.to_bits()) << 16) | u64::from(self.ports.dst_port);
                let src_is_a = src <= dst;
                let (a, b) = if src_is_a { (src, dst) } else { (dst, src) };
                let probe = slot::Probe {
                    a: u128::from(a >> 16),
                    b: u128::from(b >> 16),
                    ports: (((a & 0xffff) << 16) | (b & 0xffff)) as u32,
                    kind: slot::kind_code(self.ports.transport, false, self.tunnel),
                };
                return (probe, src_is_a);
            }
            (s, d) => (bits(s), bits(d)),
        };
        let v6 = true;
        let src = (src, self.ports.src_port);
        let dst = (dst, self.ports.dst_port);
        let src_is_a = src <= dst;
        let (a, b) = if src_is_a { (src, dst) } else { (dst, src) };
        let probe = slot::Probe {
            a: a.0,
            b: b.0,
            ports: (u32::from(a.1) << 16) | u32::from(b.1),
            kind: slot::kind_code(self.ports.transport, v6, self.tunnel),
        };
        (probe, src_is_a)
    }
}

/// An address as 128 bits: IPv4 in the low 32.
fn bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(a.to_bits()),
        IpAddr::V6(a) => a.to_bits(),
    }
}

/// The flow table's key: a [`FlowKey`] without its tunnel kind's name, as five words that hash
/// and compare in a few instructions (the derived hash of a `FlowKey` walks its enums field by
/// field and cost a tenth of the whole per-packet path). Words: `a`'s address (high, low),
/// `b`'s address (high, low), then `a` port << 48 | `b` port << 32 | transport << 16 |
/// tunnel (0 for none, else its discriminant + 1) << 8 | 1 for IPv6.
#[derive(Debug, Clone, Copy, Eq)]
pub(crate) struct PackedKey([u64; 5]);

impl PartialEq for PackedKey {
    /// Word by word without branches (the derived array comparison calls memcmp).
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(other.0)
            .fold(0, |diff, (a, b)| diff | (a ^ b))
            == 0
    }
}

impl Hash for PackedKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        for word in self.0 {
            state.write_u64(word);
        }
    }
}

impl PackedKey {
    /// The packed form of a [`FlowKey`] (as [`FlowPacket::packed_key`] packs a packet's).
    pub(crate) fn of_key(key: &FlowKey) -> PackedKey {
        let v6 = u64::from(matches!(key.a.addr, IpAddr::V6(_)));
        let (a, b) = (bits(key.a.addr), bits(key.b.addr));
        let meta = (u64::from(key.a.port) << 48)
            | (u64::from(key.b.port) << 32)
            | ((key.transport.index() as u64) << 16)
            | (u64::from(key.tunnel.map_or(0, |t| t as u8 + 1)) << 8)
            | v6;
        PackedKey([(a >> 64) as u64, a as u64, (b >> 64) as u64, b as u64, meta])
    }

    #[cfg(test)]
    fn transport(&self) -> Transport {
        let [.., meta] = self.0;
        Transport::ALL
            .get(((meta >> 16) & 0xff) as usize)
            .copied()
            .unwrap_or(Transport::Tcp)
    }

    /// The key in full; `tunnel` is the one the flow was created with (the packed form keeps
    /// only its number).
    #[cfg(test)]
    fn unpack(&self, tunnel: Option<TunnelKind>) -> FlowKey {
        let [a_hi, a_lo, b_hi, b_lo, meta] = self.0;
        let addr = |hi: u64, lo: u64| {
            let bits = (u128::from(hi) << 64) | u128::from(lo);
            if meta & 1 == 1 {
                IpAddr::V6(std::net::Ipv6Addr::from_bits(bits))
            } else {
                IpAddr::V4(std::net::Ipv4Addr::from_bits(bits as u32))
            }
        };
        FlowKey {
            transport: self.transport(),
            a: Endpoint {
                addr: addr(a_hi, a_lo),
                port: (meta >> 48) as u16,
            },
            b: Endpoint {
                addr: addr(b_hi, b_lo),
                port: (meta >> 32) as u16,
            },
            tunnel,
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
    /// One packet of `bytes`.
    pub fn add(&mut self, bytes: u64) {
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
    /// The registry's status of the service port, read when the service side is decided, so
    /// per-packet consumers (the timeline) need no registry read.
    pub service_status: Status,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub to_server: Counter,
    pub to_client: Counter,
    /// Union of the TCP flags seen in either direction.
    pub tcp_flags: u8,
    /// Whether the flow's first packet went from endpoint `a` to `b` (rule 4).
    pub first_from_a: bool,
    /// Which sides sent packets, and packets other than TCP resets, and whether an ICMP port
    /// unreachable came back: the `REPLY_*` bits, for [`ReplyState`].
    pub replies: u8,
}

/// [`FlowState::replies`]: endpoint `a` (`b`) sent a packet; a packet other than a TCP reset.
const REPLY_FROM_A: u8 = 1;
const REPLY_FROM_B: u8 = 2;
const REPLY_NOT_RST_FROM_A: u8 = 4;
const REPLY_NOT_RST_FROM_B: u8 = 8;
/// An ICMP port unreachable quoting the flow was seen.
const REPLY_PORT_UNREACHABLE: u8 = 16;

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

    /// The owned record of this flow (its counters since the last hand-on), leaving `way`.
    fn record(&self, key: FlowKey, encap: Encapsulation, way: EndReason) -> FlowRecord {
        FlowRecord {
            id: self.id,
            key,
            server_is_a: self.server_is_a,
            evidence: self.evidence,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            to_server: self.to_server,
            to_client: self.to_client,
            tcp_flags: self.tcp_flags,
            end: EndReason::of(way, self.tcp_flags),
            state: self.reply_state(),
            encap,
        }
    }

    /// Answered, unanswered or refused, from the packets seen so far.
    pub fn reply_state(&self) -> ReplyState {
        reply_state(self.replies, self.server_is_a)
    }

    /// What settling the flow late needs beside its record.
    fn directions(&self) -> endpoints::Directions {
        endpoints::Directions {
            first_from_a: self.first_from_a,
            replies: self.replies,
        }
    }
}

/// Answered, unanswered or refused, from a flow's [`FlowState::replies`] bits and which endpoint
/// is the server (a tied flow settled late may change that, and so its reply state).
pub(crate) fn reply_state(replies: u8, server_is_a: bool) -> ReplyState {
    let (from_server, not_rst_from_server, from_client) = if server_is_a {
        (REPLY_FROM_A, REPLY_NOT_RST_FROM_A, REPLY_FROM_B)
    } else {
        (REPLY_FROM_B, REPLY_NOT_RST_FROM_B, REPLY_FROM_A)
    };
    let sent = |bit: u8| replies & bit != 0;
    if sent(REPLY_PORT_UNREACHABLE) || (sent(from_server) && !sent(not_rst_from_server)) {
        ReplyState::Refused
    } else if sent(from_server) && sent(from_client) {
        ReplyState::Answered
    } else {
        ReplyState::Unanswered
    }
}

/// Idle time after which a flow ends, per transport, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleTimeouts {
    pub tcp: i64,
    pub tcp_closed: i64,
    pub udp: i64,
    pub sctp: i64,
    pub dccp: i64,
}

const SECOND: i64 = 1_000_000_000;

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
    /// The timeout of a flow of `transport` that has seen `tcp_flags`.
    fn of(&self, transport: Transport, tcp_flags: u8) -> i64 {
        match transport {
            Transport::Tcp if tcp_flags & (TCP_FIN | TCP_RST) != 0 => self.tcp_closed,
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
const SWEEP_INTERVAL: i64 = SECOND;

/// When idle flows are swept: at the first packet with ports, then at the first packet at
/// least one second of capture time after the last sweep (or earlier than it: time went
/// backwards).
///
/// A [`FlowTable`] keeps its own clock. Sharded tables (`summary --threads`) are swept by one
/// clock run over the whole packet sequence, so every shard sweeps at the same point of the
/// capture as a single table would: the results do not depend on the number of shards.
#[derive(Debug, Clone, Copy)]
pub struct SweepClock {
    /// The last sweep's time; `i64::MAX` before the first.
    last: i64,
    /// `last` + [`SWEEP_INTERVAL`] - 1, saturating; `i64::MIN` before the first sweep. Two
    /// comparisons a packet, where the `Option` and a saturating subtraction took eight
    /// instructions.
    next_after: i64,
}

impl Default for SweepClock {
    fn default() -> Self {
        // Every `now` is above MIN or below MAX: the first packet sweeps.
        SweepClock {
            last: i64::MAX,
            next_after: i64::MIN,
        }
    }
}

impl SweepClock {
    /// Whether a packet with ports at `now` (ns) sweeps first; if so the sweep is recorded.
    pub fn due(&mut self, now: i64) -> bool {
        // `now - last >= SWEEP_INTERVAL` without overflow, or time went back.
        let due = now > self.next_after || now < self.last;
        if due {
            self.last = now;
            self.next_after = now.saturating_add(SWEEP_INTERVAL - 1);
        }
        due
    }
}

/// A flow's place in the expiry wheel: its slot (4 bytes). No tag of the flow's id: an entry
/// left by an ended flow whose slot now holds another flow is checked against that flow's real
/// deadline (`last_seen` + timeout) like any other, so it ends the flow only when it is due and
/// is otherwise put back as a spare entry, which the wheel's rebuild drops.
#[derive(Debug, Clone, Copy)]
struct Expiry {
    slot: u32,
}

/// The [`Observed`] of a packet of a flow with this decision.
#[inline(always)]
fn observed(
    flow_id: u64,
    towards_server: bool,
    ports: Ports,
    evidence: Evidence,
    service_status: Status,
) -> Observed {
    let (server, service_port) = if towards_server {
        (ServiceSide::Dst, ports.dst_port)
    } else {
        (ServiceSide::Src, ports.src_port)
    };
    Observed {
        flow_id,
        server,
        transport: ports.transport,
        service_port,
        evidence,
        service_status,
    }
}

/// Count one packet into its flow's slot (its service side already decided) and say where it
/// goes: on the packed fields, unless the flow is spilled or this packet would spill it.
#[inline(always)]
fn count_packet(
    slot: &mut Slot,
    index: u32,
    src_is_a: bool,
    packet: &FlowPacket,
    timeouts: &IdleTimeouts,
    expiries: &mut Wheel,
    spill: &mut Spill,
) -> Observed {
    let ports = packet.ports;
    let towards_server = src_is_a != slot.server_is_a();
    let ns = packet.ts.saturating_nanos();
    // The slot's resolution has four bits, so a packet at the same one packs: only its time
    // is checked.
    let packed =
        slot.bits & slot::SPILLED == 0 && packet.ts.digits == slot.digits() && slot::packs_ns(ns);
    let count = if towards_server {
        &mut slot.to_server
    } else {
        &mut slot.to_client
    };
    let (Some(packets), Some(bytes), true) = (
        count.packets.checked_add(1),
        count.bytes.checked_add(packet.wire_len),
        packed,
    ) else {
        return count_spilled(slot, index, src_is_a, packet, timeouts, expiries, spill);
    };
    count.packets = packets;
    count.bytes = bytes;
    if ns > slot.last_ns {
        slot.last_ns = ns;
    }
    let flags = packet.tcp_flags;
    // Bits, not branches: REPLY_NOT_RST_FROM_x is REPLY_FROM_x << 2.
    let from = if src_is_a { REPLY_FROM_A } else { REPLY_FROM_B };
    let not_rst = u8::from(flags & TCP_RST == 0) * (from << 2);
    slot.bits |= from | not_rst;
    // A first FIN or RST shortens the timeout: the wheel needs an entry that comes due no later
    // than the flow does. (A later last_seen only moves the real deadline away: nothing to do.)
    let first_close = flags & !slot.tcp_flags & (TCP_FIN | TCP_RST) != 0;
    slot.tcp_flags |= flags;
    if first_close {
        let deadline = slot
            .last_ns
            .saturating_add(timeouts.of(ports.transport, slot.tcp_flags));
        expiries.push(Expiry { slot: index }, deadline);
    }
    let (evidence, service_status) = slot.decision();
    observed(
        slot.flow_id(),
        towards_server,
        ports,
        evidence,
        service_status,
    )
}

/// [`count_packet`] on the flow in full: a spilled flow, or a packet the packed fields cannot
/// take (a counter past u32, a time outside i64 nanoseconds, another resolution).
#[cold]
#[inline(never)]
fn count_spilled(
    slot: &mut Slot,
    index: u32,
    src_is_a: bool,
    packet: &FlowPacket,
    timeouts: &IdleTimeouts,
    expiries: &mut Wheel,
    spill: &mut Spill,
) -> Observed {
    let mut state = slot.state(spill, index);
    let ports = packet.ports;
    let towards_server = src_is_a != state.server_is_a;
    if towards_server {
        state.to_server.add(u64::from(packet.wire_len));
    } else {
        state.to_client.add(u64::from(packet.wire_len));
    }
    if packet.ts > state.last_seen {
        state.last_seen = packet.ts;
    }
    let flags = packet.tcp_flags;
    let from = if src_is_a { REPLY_FROM_A } else { REPLY_FROM_B };
    let not_rst = u8::from(flags & TCP_RST == 0) * (from << 2);
    state.replies |= from | not_rst;
    let first_close = flags & !state.tcp_flags & (TCP_FIN | TCP_RST) != 0;
    state.tcp_flags |= flags;
    slot.store(&state, spill, index);
    if first_close {
        let deadline = state
            .last_seen
            .saturating_nanos()
            .saturating_add(timeouts.of(ports.transport, state.tcp_flags));
        expiries.push(Expiry { slot: index }, deadline);
    }
    observed(
        state.id,
        towards_server,
        ports,
        state.evidence,
        state.service_status,
    )
}

/// What [`FlowTable::observe`] says of one packet: its flow and service port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    pub flow_id: u64,
    /// Which side of this packet carries the service port.
    pub server: ServiceSide,
    pub transport: Transport,
    pub service_port: u16,
    /// What the flow's decision rests on when this packet was seen.
    pub evidence: Evidence,
    /// The registry's status of `service_port`, as the flow's decision cached it.
    pub service_status: Status,
}

impl Observed {
    /// A packet the table could not hold (never: slot indexes outlast the bound), attributed to
    /// its destination port under no flow.
    fn unknown(ports: Ports) -> Observed {
        observed(0, true, ports, Evidence::PortOrder, Status::Unassigned)
    }

    /// With the registry's view of the service port.
    pub fn attribution(self, registry: &Registry) -> Attribution<'_> {
        Attribution {
            flow_id: self.flow_id,
            server: self.server,
            service_port: self.service_port,
            evidence: self.evidence,
            info: registry.port(self.transport, self.service_port),
        }
    }
}

/// One packet's flow and service, with what the registry says of the service port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribution<'r> {
    pub flow_id: u64,
    /// Which side of this packet carries the service port.
    pub server: ServiceSide,
    pub service_port: u16,
    /// What the flow's decision rests on when this packet was seen.
    pub evidence: Evidence,
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
///
/// Flows live in a slab of packed slots (`flow/slot.rs`: 56 bytes, key included); the hash
/// table holds only their u32 indexes (4 bytes a bucket and a control byte), keyed by the
/// flow's key read from the slot. A free slot links to the next free one. Per live flow at `max_flows`, measured in
/// ARCHITECTURE.md: the slot, two to four index buckets, one or two 4-byte wheel entries, and
/// the endpoint counts of [`LateDecisions`].
#[derive(Debug)]
pub struct FlowTable {
    index: HashTable<u32>,
    slots: Vec<Slot>,
    /// The first free slot, [`NO_SLOT`] for none.
    free_head: u32,
    live: usize,
    v6: V6Pairs,
    spill: Spill,
    /// Inner VLAN ids and outer endpoints of the flows that have them.
    encaps: Encaps,
    /// The outer endpoints of the tunnelled packet about to be observed ([`Self::tunnelled_by`]).
    packet_outer: Option<OuterEndpoints>,
    hasher: FlowHasher,
    /// Every live flow has an entry at or before its real deadline; entries of ended flows are
    /// stale (their slot is free or holds another flow) and dropped when taken out, and a flow
    /// may have more than one (a FIN pushes an earlier one).
    expiries: Wheel,
    /// Scratch for the entries a sweep takes out of the wheel.
    due: Vec<Expiry>,
    max_flows: usize,
    /// Table size at which [`grow`](Self::grow) runs next.
    grow_at: usize,
    timeouts: IdleTimeouts,
    next_id: u64,
    clock: SweepClock,
    stats: FlowStats,
    /// Endpoint fan-in and the tied flows held for the end of input.
    late: LateDecisions,
    /// Whether tied flows are settled again at the end of input ([`LateDecisions`]) or keep
    /// their first packet's decision.
    decide_late: bool,
}

/// Flows whose last-seen times choose the eviction cut ([`FlowTable::make_room`]).
const EVICTION_SAMPLE: usize = 4096;

/// [`FlowTable::free_head`] and a free slot's link: no slot.
const NO_SLOT: u32 = u32::MAX;

impl FlowTable {
    pub fn new(max_flows: usize, timeouts: IdleTimeouts) -> Self {
        // Slot indexes are u32, and u32::MAX means none.
        let max_flows = max_flows.clamp(1, NO_SLOT as usize - 1);
        FlowTable {
            // Small bounds get their final size at once; see grow() for the others.
            index: HashTable::with_capacity(max_flows.saturating_mul(2).min(1 << 12)),
            slots: Vec::new(),
            free_head: NO_SLOT,
            live: 0,
            v6: V6Pairs::default(),
            spill: Spill::default(),
            encaps: Encaps::default(),
            packet_outer: None,
            hasher: FlowHasher::default(),
            grow_at: 0,
            expiries: Wheel::new(),
            due: Vec::new(),
            max_flows,
            timeouts,
            next_id: 1,
            clock: SweepClock::default(),
            stats: FlowStats::default(),
            late: LateDecisions::new(max_flows),
            decide_late: true,
        }
    }

    /// Keep every flow's first-packet decision (streaming `annotate`) instead of settling tied
    /// flows again at the end of input with the whole input's fan-in.
    pub fn deciding_on_first_packet(mut self) -> Self {
        self.decide_late = false;
        self
    }

    pub fn stats(&self) -> FlowStats {
        self.stats
    }

    /// The outer endpoints of the next packet to observe, a tunnelled one: a flow it creates
    /// keeps them. Called only for tunnelled packets, so the others pay nothing for it; read
    /// only for a packet whose key has a tunnel, so a stale value is never taken.
    #[inline]
    pub fn tunnelled_by(&mut self, outer: OuterEndpoints) {
        self.packet_outer = Some(outer);
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Count one packet with ports into its flow and say which service port it is attributed
    /// to. Sweeps idle flows first when the table's own [`SweepClock`] says so.
    #[inline(always)]
    pub fn observe<S: FlowSink>(
        &mut self,
        registry: &Registry,
        sink: &mut S,
        packet: &FlowPacket,
    ) -> Observed {
        let now = packet.ts.saturating_nanos();
        if self.clock.due(now) {
            self.sweep_idle(registry, sink, now);
        }
        self.observe_unswept(registry, sink, packet)
    }

    /// Sweep idle flows at `now` (ns), for a table whose sweeps are timed by a [`SweepClock`]
    /// outside it (a shard); use with [`observe_unswept`](Self::observe_unswept).
    pub fn sweep<S: FlowSink>(&mut self, registry: &Registry, sink: &mut S, now: i64) {
        self.sweep_idle(registry, sink, now);
    }

    /// The slot of the flow `probe` (hashed to `hash`) names, if it is live.
    #[inline(always)]
    fn find(&self, hash: u64, probe: &Probe) -> Option<u32> {
        let (slots, v6) = (&self.slots, &self.v6);
        self.index
            .find(hash, |&i| {
                slots
                    .get(i as usize)
                    .is_some_and(|slot| slot.matches(probe, v6))
            })
            .copied()
    }

    /// [`observe`](Self::observe) without its own sweep clock: the caller sweeps.
    ///
    /// Inlined, as `observe` is, so the packet's fields reach the fast path in registers: passed
    /// by reference they went through memory, and the reload stalled on the narrower stores.
    #[inline(always)]
    pub fn observe_unswept<S: FlowSink>(
        &mut self,
        registry: &Registry,
        sink: &mut S,
        packet: &FlowPacket,
    ) -> Observed {
        let (probe, src_is_a) = packet.probe();
        let hash = probe.hash_with(&self.hasher);
        // Most packets belong to a live flow and carry no handshake evidence: one probe, the
        // counters, done.
        if packet.handshake.is_none() {
            if let Some(index) = self.find(hash, &probe) {
                if let Some(slot) = self.slots.get_mut(index as usize) {
                    return count_packet(
                        slot,
                        index,
                        src_is_a,
                        packet,
                        &self.timeouts,
                        &mut self.expiries,
                        &mut self.spill,
                    );
                }
            }
        }
        self.observe_new_or_handshake(registry, sink, packet, probe, hash, src_is_a)
    }

    /// The rest of [`observe_unswept`](Self::observe_unswept): a new flow, or a packet whose
    /// handshake evidence may revise its flow's service side (rule 3). A packet without a
    /// handshake comes here only when the caller looked its flow up and found none.
    #[inline(never)]
    fn observe_new_or_handshake<S: FlowSink>(
        &mut self,
        registry: &Registry,
        sink: &mut S,
        packet: &FlowPacket,
        probe: Probe,
        hash: u64,
        src_is_a: bool,
    ) -> Observed {
        let FlowPacket {
            ts,
            ports,
            handshake,
            ..
        } = *packet;
        let now = ts.saturating_nanos();
        // Rules 1 and 2, with the service side expressed as "is the server endpoint a?". Only a
        // new flow and handshake evidence (rule 3) need it: the other packets of a flow keep its
        // decision, so they skip two registry lookups.
        let decide = |a_flows: u32, b_flows: u32| {
            let (src_flows, dst_flows) = if src_is_a {
                (a_flows, b_flows)
            } else {
                (b_flows, a_flows)
            };
            let sides = Sides {
                ports,
                handshake,
                src_flows,
                dst_flows,
            };
            let (side, evidence) = choose_service_side(registry, sides);
            let service_port = match side {
                ServiceSide::Src => ports.src_port,
                ServiceSide::Dst => ports.dst_port,
            };
            let status = registry.status(ports.transport, service_port);
            ((side == ServiceSide::Src) == src_is_a, evidence, status)
        };

        // Evictions, expiries and revisions leave stale entries behind. Rebuilt before a push
        // could take the wheel past 1.5 times the live flows, its memory stays bounded by
        // `max_flows`; each rebuild costs the live flows and comes after at least half as many
        // pushes.
        if self.expiries.len() >= (self.live + self.live / 2).max(1024) {
            self.rebuild_expiries();
        }
        if self.live >= self.grow_at {
            self.grow();
        }
        // Not looked up twice: what ran since the caller's lookup moves flows within the index
        // (a rebuild, a resize), never in or out of it.
        let found = if handshake.is_none() {
            None
        } else {
            self.find(hash, &probe)
        };
        let index = match found {
            Some(index) => index,
            None => {
                // Only a full table pays for the second probe.
                if self.live >= self.max_flows {
                    self.make_room(registry, sink, now);
                }
                let Some(index) = self.allocate(&probe, hash) else {
                    // Unreachable: the bound keeps slot indexes below u32::MAX.
                    return Observed::unknown(ports);
                };
                let id = self.next_id;
                self.next_id = slot::next_flow_id(id);
                self.stats.flows += 1;
                self.stats.peak = self.stats.peak.max(self.live as u64);
                // Fan-in of the flows before this one, then this one counted.
                let (key, _) = packet.packed_key();
                let (a_flows, b_flows) = self.late.endpoints.counts_then_add(&key);
                let (server_is_a, evidence, service_status) = decide(a_flows, b_flows);
                let start = slot::Start {
                    id,
                    server_is_a,
                    first_from_a: src_is_a,
                    evidence,
                    service_status,
                };
                let deadline = now.saturating_add(self.timeouts.of(ports.transport, 0));
                if let Some(slot) = self.slots.get_mut(index as usize) {
                    slot.begin(start, ts, &mut self.spill, index);
                    let encap = Encapsulation {
                        vlans: packet.vlans,
                        outer: packet.tunnel.and(self.packet_outer),
                    };
                    self.encaps.keep(slot, index, &encap);
                }
                self.expiries.push(Expiry { slot: index }, deadline);
                index
            }
        };
        // Rule 3: only handshake evidence revises a flow's decision. A new flow's decision
        // already took this packet's handshake: decided again, it would come out the same.
        if handshake.is_some() && found.is_some() {
            let (server_is_a, evidence, service_status) = decide(0, 0);
            if evidence == Evidence::Handshake {
                let Some(slot) = self.slots.get_mut(index as usize) else {
                    return Observed::unknown(ports);
                };
                if slot.server_is_a() == server_is_a {
                    // The side stands, now on handshake evidence: one field of the slot, not
                    // the whole flow unpacked and stored back.
                    slot.set_evidence(Evidence::Handshake);
                } else {
                    self.revise(registry, sink, index, server_is_a, service_status, ts);
                }
            }
        }
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return Observed::unknown(ports);
        };
        count_packet(
            slot,
            index,
            src_is_a,
            packet,
            &self.timeouts,
            &mut self.expiries,
            &mut self.spill,
        )
    }

    /// Handshake evidence names the other side of the flow in slot `index` the server (rule
    /// 3): what came before is folded as a record of its own, and the flow starts again at `ts`
    /// with the new side.
    #[cold]
    #[inline(never)]
    fn revise<S: FlowSink>(
        &mut self,
        registry: &Registry,
        sink: &mut S,
        index: u32,
        server_is_a: bool,
        service_status: Status,
        ts: Timestamp,
    ) {
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return;
        };
        let mut state = slot.state(&self.spill, index);
        if state.packets() > 0 {
            let encap = self.encaps.of(slot, index);
            let record = state.record(slot.key(&self.v6), encap, EndReason::Revised);
            self.late
                .end(self.decide_late, registry, sink, record, state.directions());
            self.stats.flows += 1;
        }
        state.server_is_a = server_is_a;
        state.service_status = service_status;
        state.to_server = Counter::default();
        state.to_client = Counter::default();
        state.first_seen = ts;
        self.stats.revised += 1;
        state.evidence = Evidence::Handshake;
        slot.store(&state, &mut self.spill, index);
    }

    /// A slot for a new flow on `probe`'s key (hashed to `hash`), in the index; its state is
    /// stored next. None only when u32 indexes are used up, which the bound prevents.
    fn allocate(&mut self, probe: &Probe, hash: u64) -> Option<u32> {
        let (a, b) = if probe.is_v6() {
            (self.v6.insert((probe.a, probe.b))?, 0)
        } else {
            (probe.a as u32, probe.b as u32)
        };
        let fresh = Slot {
            a,
            b,
            ports: probe.ports,
            kind: probe.kind,
            ..Slot::default()
        };
        let index = if let Some(slot) = self.slots.get_mut(self.free_head as usize) {
            let index = self.free_head;
            self.free_head = slot.a;
            *slot = fresh;
            index
        } else {
            let index = u32::try_from(self.slots.len()).ok()?;
            if self.slots.len() == self.slots.capacity() {
                // Doubling, but never past the bound: a full slab holds `max_flows` slots.
                let wanted = self
                    .slots
                    .len()
                    .saturating_mul(2)
                    .max(64)
                    .min(self.max_flows);
                self.slots
                    .reserve_exact(wanted.saturating_sub(self.slots.len()).max(1));
            }
            self.slots.push(fresh);
            index
        };
        let (slots, v6, hasher) = (&self.slots, &self.v6, &self.hasher);
        self.index.insert_unique(hash, index, |&i| {
            slots
                .get(i as usize)
                .map_or(0, |slot| slot.probe(v6).hash_with(hasher))
        });
        self.live += 1;
        Some(index)
    }

    /// Ends the flow in slot `index`: out of the index, its side-table entries dropped, the slot
    /// freed.
    fn remove(&mut self, index: u32) {
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return;
        };
        if slot.is_free() {
            return;
        }
        let hash = slot.probe(&self.v6).hash_with(&self.hasher);
        if let Ok(entry) = self.index.find_entry(hash, |&i| i == index) {
            entry.remove();
        }
        if slot.is_v6() {
            self.v6.remove(slot.a);
        }
        if slot.bits & slot::SPILLED != 0 {
            self.spill.remove(&index);
        }
        if slot.has_encap() {
            self.encaps.remove(index);
        }
        *slot = Slot {
            a: self.free_head,
            ..Slot::default()
        };
        self.free_head = index;
        self.live -= 1;
    }

    /// An ICMP port unreachable came back quoting a packet of `packet`'s flow (a packet built
    /// from the quotation): mark the flow refused, if it is live. Routed like the flow's own
    /// packets (same shard, in capture order), so the result does not depend on `--threads`.
    pub fn mark_port_unreachable(&mut self, packet: &FlowPacket) {
        let (probe, _) = packet.probe();
        let hash = probe.hash_with(&self.hasher);
        if let Some(index) = self.find(hash, &probe) {
            if let Some(slot) = self.slots.get_mut(index as usize) {
                slot.bits |= REPLY_PORT_UNREACHABLE;
            }
        }
    }

    /// Hand every flow idle past its timeout at `now` to `sink`: those with
    /// `now - last_seen > timeout`, found through the expiry wheel.
    fn sweep_idle<S: FlowSink>(&mut self, registry: &Registry, sink: &mut S, now: i64) {
        let timeouts = self.timeouts;
        let mut due = std::mem::take(&mut self.due);
        self.expiries.take_due(now, &mut due);
        for entry in due.drain(..) {
            let Some(slot) = self.slots.get(entry.slot as usize) else {
                continue;
            };
            if slot.is_free() {
                continue; // the flow ended
            }
            let deadline = slot
                .last_ns(&self.spill, entry.slot)
                .saturating_add(timeouts.of(slot.transport(), slot.tcp_flags));
            if deadline < now {
                let state = slot.state(&self.spill, entry.slot);
                let encap = self.encaps.of(slot, entry.slot);
                let record = state.record(slot.key(&self.v6), encap, EndReason::Idle);
                self.late
                    .end(self.decide_late, registry, sink, record, state.directions());
                self.remove(entry.slot);
                self.stats.expired += 1;
            } else {
                // Not due yet (seen since, or handed out early): back at the real deadline.
                self.expiries.push(entry, deadline);
            }
        }
        // A sweep after a long gap may have taken out most of the table: keep the scratch small.
        if due.capacity() > 1 << 16 {
            due = Vec::new();
        }
        self.due = due;
    }

    /// The index is about to grow: by doubling while far below `max_flows`, and straight to
    /// the size where `max_flows` fills at most half its buckets once the next doubling would
    /// come near it. A full table churns: an eviction or expiry in a crowded bucket group
    /// leaves a tombstone, and when tombstones use up the free room the hash table moves to
    /// one twice as large, holding both at once (measured: 100,000 flows in 131,072 buckets
    /// did, 500,000 in 1,048,576 did not). So the intermediate size, its copy and the later
    /// doubling are skipped. A bucket is a u32 slot index, so the spare half costs 5 bytes a
    /// bucket.
    #[cold]
    fn grow(&mut self) {
        let len = self.live;
        // What the hash table holds in the power-of-two bucket count that keeps `max_flows` at
        // most half of it (hashbrown fills buckets to 7/8).
        let full_size = self
            .max_flows
            .saturating_mul(2)
            .checked_next_power_of_two()
            .map_or(usize::MAX, |buckets| buckets / 8 * 7);
        if self.index.capacity() < full_size {
            let wanted = if len.saturating_mul(2) >= self.max_flows {
                full_size
            } else {
                len.saturating_mul(2)
            };
            let (slots, v6, hasher) = (&self.slots, &self.v6, &self.hasher);
            self.index
                .reserve(wanted.saturating_sub(self.index.len()), |&i| {
                    slots
                        .get(i as usize)
                        .map_or(0, |slot| slot.probe(v6).hash_with(hasher))
                });
            if wanted == full_size {
                self.late.endpoints.reserve_bound();
            }
        }
        self.grow_at = if self.index.capacity() >= full_size {
            usize::MAX
        } else {
            self.index.capacity().min(self.max_flows)
        };
    }

    /// The live slots, with their indexes.
    fn live_slots(&self) -> impl Iterator<Item = (u32, &Slot)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| !slot.is_free())
            .map(|(i, slot)| (i as u32, slot))
    }

    /// One entry per live flow, at its real deadline.
    fn rebuild_expiries(&mut self) {
        self.expiries.clear();
        for (index, slot) in self.slots.iter().enumerate() {
            if slot.is_free() {
                continue;
            }
            let index = index as u32;
            let deadline = slot
                .last_ns(&self.spill, index)
                .saturating_add(self.timeouts.of(slot.transport(), slot.tcp_flags));
            self.expiries.push(Expiry { slot: index }, deadline);
        }
    }

    /// The table is full: sweep idle flows, and when none were idle, evict about the least
    /// recently seen sixteenth of the table (at least one), so eviction cost is amortised.
    ///
    /// The cut is the sixteenth-quantile of the last-seen times of at most [`EVICTION_SAMPLE`]
    /// flows taken at even steps through the slab (all of them in a small table): a million
    /// times collected and selected at every eviction would be 8 MB more at the moment memory
    /// peaks. Flows at or before the cut are evicted in slab order, up to a sixteenth.
    fn make_room<S: FlowSink>(&mut self, registry: &Registry, sink: &mut S, now: i64) {
        self.sweep_idle(registry, sink, now);
        if self.live < self.max_flows {
            return;
        }
        let step = self.slots.len().div_ceil(EVICTION_SAMPLE).max(1);
        let mut sample: Vec<i64> = self
            .slots
            .iter()
            .enumerate()
            .step_by(step)
            .filter(|(_, slot)| !slot.is_free())
            .map(|(index, slot)| slot.last_ns(&self.spill, index as u32))
            .collect();
        if sample.is_empty() {
            // Every sampled slot was free: take the first live one's time.
            sample.extend(
                self.live_slots()
                    .map(|(index, slot)| slot.last_ns(&self.spill, index))
                    .take(1),
            );
        }
        if sample.is_empty() {
            return;
        }
        let cut = (sample.len() / 16).max(1) - 1;
        let (_, &mut threshold, _) = sample.select_nth_unstable(cut);
        let mut to_evict = (self.live / 16).max(1);
        let mut index = 0u32;
        while to_evict > 0 && (index as usize) < self.slots.len() {
            if let Some(slot) = self.slots.get(index as usize) {
                if !slot.is_free() && slot.last_ns(&self.spill, index) <= threshold {
                    to_evict -= 1;
                    let state = slot.state(&self.spill, index);
                    let encap = self.encaps.of(slot, index);
                    let record = state.record(slot.key(&self.v6), encap, EndReason::Evicted);
                    self.late
                        .end(self.decide_late, registry, sink, record, state.directions());
                    self.remove(index);
                    self.stats.evicted += 1;
                }
            }
            index += 1;
        }
    }

    /// Hand every live flow to `sink` as an [`EndReason::Snapshot`] record without ending it:
    /// what [`finish`](Self::finish) would hand on now (`live`'s interval snapshots). The table
    /// is unchanged. Tied flows, live or held, are settled as they would be at the end of input
    /// now.
    pub fn snapshot_into<S: FlowSink>(&self, registry: &Registry, sink: &mut S) {
        for (index, slot) in self.live_slots() {
            let state = slot.state(&self.spill, index);
            let encap = self.encaps.of(slot, index);
            let mut record = state.record(slot.key(&self.v6), encap, EndReason::Snapshot);
            if self.decide_late {
                endpoints::settle(
                    registry,
                    &self.late.endpoints,
                    &mut record,
                    state.directions(),
                );
            }
            sink.flow_ended(registry, record);
        }
        self.late.settle_copies_into(registry, sink);
    }

    /// End of input: hand every remaining flow to `sink`, and settle the tied ones with this
    /// table's fan-in counts.
    pub fn finish<S: FlowSink>(&mut self, registry: &Registry, sink: &mut S) {
        self.finish_unsettled(registry, sink)
            .settle_into(registry, sink);
    }

    /// End of input for one shard of the flows: hand every remaining flow to `sink` except the
    /// tied ones, which are handed back with the fan-in counts, to be settled with the other
    /// shards' counts ([`LateDecisions::merge`], [`LateDecisions::settle_with`]).
    pub fn finish_unsettled<S: FlowSink>(
        &mut self,
        registry: &Registry,
        sink: &mut S,
    ) -> LateDecisions {
        for (index, slot) in self.slots.iter().enumerate() {
            if slot.is_free() {
                continue;
            }
            let state = slot.state(&self.spill, index as u32);
            let encap = self.encaps.of(slot, index as u32);
            let record = state.record(slot.key(&self.v6), encap, EndReason::CaptureEnd);
            self.late
                .end(self.decide_late, registry, sink, record, state.directions());
        }
        self.index.clear();
        self.slots.clear();
        self.free_head = NO_SLOT;
        self.live = 0;
        self.v6.clear();
        self.spill.clear();
        self.encaps.clear();
        self.expiries.clear();
        std::mem::replace(&mut self.late, LateDecisions::new(self.max_flows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Ports;
    use std::collections::BTreeMap;
    use std::net::{Ipv4Addr, Ipv6Addr};

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

    /// A packet for the table: no handshake, no TCP flags, 60 bytes, not tunnelled. Tests that
    /// need other values say which with `FlowPacket { field: value, ..packet(..) }`.
    fn packet(ts: Timestamp, src: IpAddr, dst: IpAddr, ports: Ports) -> FlowPacket {
        FlowPacket {
            ts,
            src,
            dst,
            ports,
            handshake: None,
            tcp_flags: 0,
            wire_len: 60,
            tunnel: None,
            vlans: Vlans::default(),
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

    fn endpoint_pair() -> impl proptest::strategy::Strategy<Value = (IpAddr, IpAddr)> {
        use proptest::prelude::*;
        prop_oneof![
            (any::<u32>(), any::<u32>()).prop_map(|(a, b)| (
                IpAddr::V4(Ipv4Addr::from_bits(a)),
                IpAddr::V4(Ipv4Addr::from_bits(b))
            )),
            (any::<u128>(), any::<u128>()).prop_map(|(a, b)| (
                IpAddr::V6(Ipv6Addr::from_bits(a)),
                IpAddr::V6(Ipv6Addr::from_bits(b))
            )),
            // Near-equal addresses, so that ports decide the order.
            (any::<u32>(), 0..2u32).prop_map(|(a, d)| (
                IpAddr::V4(Ipv4Addr::from_bits(a)),
                IpAddr::V4(Ipv4Addr::from_bits(a.wrapping_add(d)))
            )),
        ]
    }

    proptest::proptest! {
        /// The table's packed key is the flow key: it unpacks to `FlowPacket::key`, orders the
        /// endpoints the same way, and two packets share a packed key exactly when they share a
        /// flow key.
        #[test]
        fn the_packed_key_is_the_flow_key(
            (src, dst) in endpoint_pair(),
            (src2, dst2) in endpoint_pair(),
            ports in proptest::array::uniform4(0..4u16),
            transport in 0..4usize,
            tunnel in proptest::option::of(proptest::sample::select(vec![
                TunnelKind::Gre, TunnelKind::Vxlan, TunnelKind::PimRegister,
            ])),
            swap in proptest::bool::ANY,
        ) {
            let transport = Transport::ALL[transport];
            let one = FlowPacket {
                tunnel,
                ..packet(ts(1), src, dst, Ports { transport, src_port: ports[0], dst_port: ports[1] })
            };
            let (key, src_is_a) = one.key();
            let (packed, packed_src_is_a) = one.packed_key();
            proptest::prop_assert_eq!(packed.unpack(tunnel), key);
            proptest::prop_assert_eq!(packed_src_is_a, src_is_a);
            proptest::prop_assert_eq!(packed.transport(), transport);

            // The reverse direction, or another packet: same flow key iff same packed key.
            let other = if swap {
                FlowPacket {
                    src: dst,
                    dst: src,
                    ports: Ports { transport, src_port: ports[1], dst_port: ports[0] },
                    ..one
                }
            } else {
                FlowPacket {
                    ports: Ports { transport, src_port: ports[2], dst_port: ports[3] },
                    ..packet(ts(1), src2, dst2, one.ports)
                }
            };
            proptest::prop_assert_eq!(
                other.key().0 == key && other.tunnel == tunnel,
                other.packed_key().0 == packed
            );
        }
    }

    /// Issue 13 item 17: the reply state of one flow fed `packets` (flags given), all on
    /// 51000 <-> 443 with the client's first packet first.
    fn reply_state_of(packets: &[(bool, u8)]) -> ReplyState {
        let r = registry();
        let mut ended: Vec<FlowRecord> = Vec::new();
        let mut table = FlowTable::new(100, IdleTimeouts::default());
        for (i, (from_client, flags)) in packets.iter().enumerate() {
            let p = if *from_client {
                packet(ts(1), CLIENT, SERVER, tcp(51000, 443))
            } else {
                packet(ts(1), SERVER, CLIENT, tcp(443, 51000))
            };
            let at = ts(1 + i64::try_from(i).unwrap());
            table.observe(
                &r,
                &mut ended,
                &FlowPacket {
                    tcp_flags: *flags,
                    ts: at,
                    ..p
                },
            );
        }
        table.finish(&r, &mut ended);
        assert_eq!(ended.len(), 1);
        ended[0].state
    }

    #[test]
    fn reply_state_answered_unanswered_refused() {
        const SYN: u8 = 0x02;
        const ACK: u8 = 0x10;
        const RST_ACK: u8 = 0x14;
        assert_eq!(reply_state_of(&[(true, SYN)]), ReplyState::Unanswered);
        assert_eq!(
            reply_state_of(&[(true, SYN), (true, SYN)]),
            ReplyState::Unanswered
        );
        assert_eq!(
            reply_state_of(&[(true, SYN), (false, RST_ACK)]),
            ReplyState::Refused
        );
        assert_eq!(
            reply_state_of(&[(true, SYN), (false, 0x12), (true, ACK)]),
            ReplyState::Answered
        );
        // A server that answered, then reset the connection, answered.
        assert_eq!(
            reply_state_of(&[(true, ACK), (false, ACK), (false, RST_ACK)]),
            ReplyState::Answered
        );
        // The client resetting an answered connection does not make it refused either.
        assert_eq!(
            reply_state_of(&[(true, ACK), (false, ACK), (true, RST_ACK)]),
            ReplyState::Answered
        );
    }

    #[test]
    fn port_unreachable_marks_the_live_flow_it_quotes_refused() {
        let r = registry();
        let mut ended: Vec<FlowRecord> = Vec::new();
        let mut table = FlowTable::new(100, IdleTimeouts::default());
        let udp = Ports {
            transport: Transport::Udp,
            src_port: 50000,
            dst_port: 9,
        };
        table.observe(&r, &mut ended, &packet(ts(1), CLIENT, SERVER, udp));
        // Another flow's quotation changes nothing; this flow's, from either direction, does.
        let other = Ports {
            src_port: 50001,
            ..udp
        };
        table.mark_port_unreachable(&packet(ts(2), CLIENT, SERVER, other));
        table.snapshot_into(&r, &mut ended);
        assert_eq!(ended.pop().unwrap().state, ReplyState::Unanswered);
        table.mark_port_unreachable(&packet(ts(2), CLIENT, SERVER, udp));
        table.finish(&r, &mut ended);
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].state, ReplyState::Refused);
    }

    #[test]
    fn both_directions_share_one_flow_and_count_per_direction() {
        let r = registry();
        let mut ended: Vec<FlowRecord> = Vec::new();
        let mut table = FlowTable::new(100, IdleTimeouts::default());
        let a = table.observe(
            &r,
            &mut ended,
            &FlowPacket {
                tcp_flags: 0x10,
                wire_len: 100,
                ..packet(ts(1), CLIENT, SERVER, tcp(51000, 443))
            },
        );
        let b = table.observe(
            &r,
            &mut ended,
            &FlowPacket {
                tcp_flags: 0x10,
                wire_len: 1500,
                ..packet(ts(2), SERVER, CLIENT, tcp(443, 51000))
            },
        );
        assert_eq!(a.flow_id, b.flow_id);
        assert_eq!((a.server, b.server), (ServiceSide::Dst, ServiceSide::Src));
        assert_eq!((a.service_port, b.service_port), (443, 443));
        assert_eq!(a.attribution(&r).info.service, Some("https"));
        assert_eq!(table.len(), 1);
        table.finish(&r, &mut ended);
        let [row] = ended.as_slice() else {
            panic!("one record: {ended:?}")
        };
        assert_eq!(row.id, a.flow_id);
        assert_eq!((row.service_port(), row.server().addr), (443, SERVER));
        assert_eq!(
            row.client(),
            Endpoint {
                addr: CLIENT,
                port: 51000
            }
        );
        assert_eq!((row.first_seen, row.last_seen), (ts(1), ts(2)));
        assert_eq!(row.end, EndReason::CaptureEnd);
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
    fn the_same_endpoints_inside_a_tunnel_are_another_flow() {
        let r = registry();
        let mut ended: Vec<FlowRecord> = Vec::new();
        let mut table = FlowTable::new(100, IdleTimeouts::default());
        let ports = tcp(51000, 443);
        let plain = table.observe(&r, &mut ended, &packet(ts(1), CLIENT, SERVER, ports));
        let vxlan = Some(TunnelKind::Vxlan);
        let inner = table.observe(
            &r,
            &mut ended,
            &FlowPacket {
                tunnel: vxlan,
                ..packet(ts(2), CLIENT, SERVER, ports)
            },
        );
        let reply = table.observe(
            &r,
            &mut ended,
            &FlowPacket {
                tunnel: vxlan,
                ..packet(ts(3), SERVER, CLIENT, tcp(443, 51000))
            },
        );
        assert_ne!(plain.flow_id, inner.flow_id);
        assert_eq!(
            inner.flow_id, reply.flow_id,
            "both directions inside the tunnel share a flow"
        );
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn syn_from_443_to_51000_makes_51000_the_service() {
        let r = registry();
        let mut ended: Vec<FlowRecord> = Vec::new();
        let mut table = FlowTable::new(100, IdleTimeouts::default());
        let syn = table.observe(
            &r,
            &mut ended,
            &FlowPacket {
                handshake: Some(Handshake::Request),
                tcp_flags: 0x02,
                ..packet(ts(1), CLIENT, SERVER, tcp(443, 51000))
            },
        );
        assert_eq!(syn.service_port, 51000);
        // A later packet without evidence keeps the decision (rule 3).
        let ack = table.observe(
            &r,
            &mut ended,
            &FlowPacket {
                tcp_flags: 0x10,
                ..packet(ts(2), CLIENT, SERVER, tcp(443, 51000))
            },
        );
        assert_eq!(ack.service_port, 51000);
    }

    /// A proxy on 10.0.0.9:8080 (unassigned here, like the client's 1080): the first flow's
    /// first packet is the proxy's reply, then three more clients connect.
    fn proxy_flows(table: &mut FlowTable, r: &Registry, ended: &mut Vec<FlowRecord>) -> Observed {
        let proxy = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
        let first = table.observe(r, ended, &packet(ts(1), proxy, CLIENT, tcp(8080, 1080)));
        for (i, port) in [40001u16, 40002, 40003].into_iter().enumerate() {
            let client = IpAddr::V4(Ipv4Addr::new(10, 0, 1, i as u8 + 1));
            table.observe(r, ended, &packet(ts(2), client, proxy, tcp(port, 8080)));
        }
        first
    }

    /// Flows per service port, and flows per evidence.
    type Tally = (BTreeMap<u16, u64>, BTreeMap<Evidence, u64>);

    fn tally(ended: &[FlowRecord]) -> Tally {
        let mut by_port = BTreeMap::new();
        let mut by_evidence = BTreeMap::new();
        for record in ended {
            *by_port.entry(record.service_port()).or_default() += 1;
            *by_evidence.entry(record.evidence).or_default() += 1;
        }
        (by_port, by_evidence)
    }

    #[test]
    fn rule4_late_a_tied_flow_is_settled_at_the_end_with_the_whole_inputs_fan_in() {
        let r = registry();
        let mut ended: Vec<FlowRecord> = Vec::new();
        let mut table = FlowTable::new(100, IdleTimeouts::default());
        let first = proxy_flows(&mut table, &r, &mut ended);
        // On its first packet nothing else is known: the first packet's destination.
        assert_eq!(first.service_port, 1080);
        assert_eq!(first.evidence, Evidence::FirstPacket);
        table.finish(&r, &mut ended);
        // At the end 8080 was seen in four flows, 1080 in one: every flow is 8080's, and the
        // settled flow's counters follow its server (the proxy's packet is to the client).
        let (by_port, by_evidence) = tally(&ended);
        assert_eq!(by_port, BTreeMap::from([(8080, 4)]));
        // The other clients' ports are in the ephemeral range: those flows rest on rank.
        assert_eq!(
            by_evidence,
            BTreeMap::from([(Evidence::Rank, 3), (Evidence::FanIn, 1)])
        );
        let settled = ended.iter().find(|r| r.id == first.flow_id).unwrap();
        assert_eq!(
            (settled.to_server.packets, settled.to_client.packets),
            (0, 1)
        );
    }

    #[test]
    fn rule4_late_a_settled_flows_reply_state_follows_its_server() {
        let r = registry();
        let mut ended: Vec<FlowRecord> = Vec::new();
        let mut table = FlowTable::new(100, IdleTimeouts::default());
        // The proxy's only packet on the tied flow is a reset to 10.0.0.1:1080.
        let proxy = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
        let reset = FlowPacket {
            tcp_flags: TCP_RST,
            ..packet(ts(1), proxy, CLIENT, tcp(8080, 1080))
        };
        let first = table.observe(&r, &mut ended, &reset);
        for (i, port) in [40001u16, 40002].into_iter().enumerate() {
            let client = IpAddr::V4(Ipv4Addr::new(10, 0, 1, i as u8 + 1));
            table.observe(
                &r,
                &mut ended,
                &packet(ts(2), client, proxy, tcp(port, 8080)),
            );
        }
        // Decided on the first packet, 1080 is the server and never spoke: unanswered.
        assert_eq!(first.service_port, 1080);
        table.finish(&r, &mut ended);
        let settled = ended.iter().find(|r| r.id == first.flow_id).unwrap();
        // Settled, the proxy is the server and it sent only a reset: refused.
        assert_eq!(
            (settled.service_port(), settled.evidence, settled.state),
            (8080, Evidence::FanIn, ReplyState::Refused)
        );
    }

    #[test]
    fn rule3_streaming_decides_on_the_first_packet_with_earlier_flows_fan_in() {
        let r = registry();
        let mut ended: Vec<FlowRecord> = Vec::new();
        let mut table = FlowTable::new(100, IdleTimeouts::default()).deciding_on_first_packet();
        proxy_flows(&mut table, &r, &mut ended);
        // A fifth flow, first packet again from the proxy: 8080 has been seen in four flows.
        let proxy = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
        let fifth = table.observe(
            &r,
            &mut ended,
            &packet(ts(3), proxy, CLIENT, tcp(8080, 1081)),
        );
        assert_eq!(
            (fifth.service_port, fifth.evidence),
            (8080, Evidence::FanIn)
        );
        table.finish(&r, &mut ended);
        // The first flow keeps its first-packet decision.
        let (by_port, _) = tally(&ended);
        assert_eq!(by_port, BTreeMap::from([(1080, 1), (8080, 4)]));
    }

    #[test]
    fn rule4_late_settling_is_the_same_for_shards_merged_as_for_one_table() {
        let r = registry();
        let mut one_ended: Vec<FlowRecord> = Vec::new();
        let mut one = FlowTable::new(100, IdleTimeouts::default());
        proxy_flows(&mut one, &r, &mut one_ended);
        one.finish(&r, &mut one_ended);
        // Two shards: the proxy's first flow in one, the other clients in the other.
        let proxy = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
        let (mut a, mut a_ended) = (FlowTable::new(100, IdleTimeouts::default()), Vec::new());
        let (mut b, mut b_ended) = (FlowTable::new(100, IdleTimeouts::default()), Vec::new());
        a.observe(
            &r,
            &mut a_ended,
            &packet(ts(1), proxy, CLIENT, tcp(8080, 1080)),
        );
        for (i, port) in [40001u16, 40002, 40003].into_iter().enumerate() {
            let client = IpAddr::V4(Ipv4Addr::new(10, 0, 1, i as u8 + 1));
            b.observe(
                &r,
                &mut b_ended,
                &packet(ts(2), client, proxy, tcp(port, 8080)),
            );
        }
        // Merged whole, and (as the sharded pipeline does) by merged counts only.
        let (late_a, late_b) = (
            a.finish_unsettled(&r, &mut a_ended),
            b.finish_unsettled(&r, &mut b_ended),
        );
        assert_eq!((late_a.pending(), late_b.pending()), (1, 0));
        let mut endpoints = endpoints::EndpointTable::default();
        endpoints.merge(late_a.endpoints());
        endpoints.merge(late_b.endpoints());
        let mut by_counts = a_ended.clone();
        late_a.clone().settle_with(&r, &endpoints, &mut by_counts);
        let mut merged = late_a;
        merged.merge(late_b);
        merged.settle_into(&r, &mut a_ended);
        a_ended.extend(b_ended.iter().copied());
        by_counts.extend(b_ended);
        let without_ids = |ended: &[FlowRecord]| {
            let mut all: Vec<String> = ended
                .iter()
                .map(|r| format!("{:?}", FlowRecord { id: 0, ..*r }))
                .collect();
            all.sort();
            all
        };
        assert_eq!(without_ids(&a_ended), without_ids(&one_ended));
        assert_eq!(without_ids(&by_counts), without_ids(&one_ended));
    }

    #[test]
    fn later_handshake_revises_a_ranked_decision_and_folds_what_came_before() {
        let r = registry();
        let mut ended: Vec<FlowRecord> = Vec::new();
        let mut table = FlowTable::new(100, IdleTimeouts::default());
        let first = table.observe(
            &r,
            &mut ended,
            &FlowPacket {
                tcp_flags: 0x10,
                ..packet(ts(1), CLIENT, SERVER, tcp(443, 51000))
            },
        );
        assert_eq!(first.service_port, 443);
        let syn = table.observe(
            &r,
            &mut ended,
            &FlowPacket {
                handshake: Some(Handshake::Request),
                tcp_flags: 0x02,
                ..packet(ts(2), CLIENT, SERVER, tcp(443, 51000))
            },
        );
        assert_eq!(syn.service_port, 51000);
        assert_eq!(syn.flow_id, first.flow_id);
        table.finish(&r, &mut ended);
        let parts: Vec<(u16, u64, EndReason)> = ended
            .iter()
            .map(|record| (record.service_port(), record.packets(), record.end))
            .collect();
        assert_eq!(
            parts,
            vec![
                (443, 1, EndReason::Revised),
                (51000, 1, EndReason::CaptureEnd)
            ]
        );
        assert_eq!(table.stats().revised, 1);
    }

    #[test]
    fn idle_flows_expire_and_are_folded() {
        let r = registry();
        let mut ended: Vec<FlowRecord> = Vec::new();
        let mut table = FlowTable::new(100, IdleTimeouts::default());
        table.observe(
            &r,
            &mut ended,
            &FlowPacket {
                wire_len: 10,
                ..packet(ts(0), CLIENT, SERVER, tcp(51000, 443))
            },
        );
        let dns = Ports {
            transport: Transport::Udp,
            src_port: 40000,
            dst_port: 53,
        };
        table.observe(
            &r,
            &mut ended,
            &FlowPacket {
                wire_len: 10,
                ..packet(ts(1000), CLIENT, SERVER, dns)
            },
        );
        assert_eq!(table.len(), 1, "the tcp flow idled out");
        assert_eq!(table.stats().expired, 1);
        assert_eq!(ended.iter().map(FlowRecord::packets).sum::<u64>(), 1);
        assert_eq!(
            ended.first().map(|record| record.end),
            Some(EndReason::Idle)
        );
    }

    #[test]
    fn fin_shortens_a_scheduled_flow_to_the_closed_timeout() {
        let r = registry();
        let mut ended: Vec<FlowRecord> = Vec::new();
        let mut table = FlowTable::new(100, IdleTimeouts::default());
        let https = tcp(51000, 443);
        // Established at 0 s (due at 300 s), FIN+ACK at 1 s: now due at 11 s.
        table.observe(
            &r,
            &mut ended,
            &FlowPacket {
                tcp_flags: 0x10,
                ..packet(ts(0), CLIENT, SERVER, https)
            },
        );
        table.observe(
            &r,
            &mut ended,
            &FlowPacket {
                tcp_flags: 0x11,
                ..packet(ts(1), CLIENT, SERVER, https)
            },
        );
        // Another flow's packet at 12 s sweeps: 11 s idle > 10 s closed timeout.
        table.observe(
            &r,
            &mut ended,
            &packet(ts(12), CLIENT, SERVER, tcp(51001, 443)),
        );
        assert_eq!(table.stats().expired, 1);
        let ends: Vec<(EndReason, u8)> = ended.iter().map(|r| (r.end, r.tcp_flags)).collect();
        assert_eq!(ends, vec![(EndReason::Fin, 0x11)]);
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn flow_seen_again_outlives_its_first_deadline_then_expires() {
        let r = registry();
        let mut ended: Vec<FlowRecord> = Vec::new();
        let mut table = FlowTable::new(100, IdleTimeouts::default());
        let other = |port| tcp(port, 443);
        let https = tcp(51000, 443);
        table.observe(&r, &mut ended, &packet(ts(0), CLIENT, SERVER, https));
        table.observe(&r, &mut ended, &packet(ts(200), CLIENT, SERVER, https));
        // At 400 s the first deadline (300 s) has passed, but the flow is idle only 200 s.
        table.observe(&r, &mut ended, &packet(ts(400), CLIENT, SERVER, other(1)));
        assert_eq!(table.stats().expired, 0);
        // Exactly 300 s idle is not past the timeout; 301 s is.
        table.observe(&r, &mut ended, &packet(ts(500), CLIENT, SERVER, other(2)));
        assert_eq!(table.stats().expired, 0);
        table.observe(&r, &mut ended, &packet(ts(501), CLIENT, SERVER, other(3)));
        assert_eq!(table.stats().expired, 1);
        // The ended flow's two packets are in one fold, before the end of input.
        assert_eq!(ended.iter().map(FlowRecord::packets).sum::<u64>(), 2);
    }

    #[test]
    fn a_flow_reborn_on_its_key_is_not_ended_by_the_old_flows_deadline() {
        let r = registry();
        let mut ended: Vec<FlowRecord> = Vec::new();
        let mut table = FlowTable::new(100, IdleTimeouts::default());
        let dns = Ports {
            transport: Transport::Udp,
            src_port: 40000,
            dst_port: 53,
        };
        let other = tcp(51000, 443);
        table.observe(&r, &mut ended, &packet(ts(0), CLIENT, SERVER, dns));
        // Swept at 121 s (idle 121 s > 120 s), then the same key starts a new flow at 122 s.
        table.observe(&r, &mut ended, &packet(ts(121), CLIENT, SERVER, other));
        let reborn = table.observe(&r, &mut ended, &packet(ts(122), CLIENT, SERVER, dns));
        assert_eq!(table.stats().expired, 1);
        // Sweeping at 200 s must leave the new flow (idle 78 s) alone.
        table.observe(&r, &mut ended, &packet(ts(200), CLIENT, SERVER, other));
        assert_eq!(table.stats().expired, 1);
        let later = table.observe(&r, &mut ended, &packet(ts(201), CLIENT, SERVER, dns));
        assert_eq!(later.flow_id, reborn.flow_id);
    }

    #[test]
    fn sweep_clock_fires_each_second_of_capture_time_and_when_time_goes_back() {
        let mut clock = SweepClock::default();
        let at = |secs: i64| secs * SECOND;
        assert!(clock.due(at(10)), "first packet");
        assert!(!clock.due(at(10) + SECOND - 1));
        assert!(clock.due(at(11)));
        assert!(clock.due(at(5)), "time went backwards");
        assert!(!clock.due(at(5)));
        // The ends of time: a first packet at either end sweeps, and nothing overflows.
        let mut clock = SweepClock::default();
        assert!(clock.due(i64::MIN));
        assert!(!clock.due(i64::MIN + SECOND - 1));
        assert!(clock.due(i64::MIN + SECOND));
        let mut clock = SweepClock::default();
        assert!(clock.due(i64::MAX - 10));
        assert!(!clock.due(i64::MAX), "10 ns later");
        assert!(clock.due(i64::MAX - 11), "back");
    }

    #[test]
    fn capacity_evicts_least_recently_seen_without_losing_packets() {
        let r = registry();
        let mut ended: Vec<FlowRecord> = Vec::new();
        let mut table = FlowTable::new(10, IdleTimeouts::default());
        for port in 0..100u16 {
            table.observe(
                &r,
                &mut ended,
                &FlowPacket {
                    wire_len: 10,
                    ..packet(ts(1), CLIENT, SERVER, tcp(50000 + port, 443))
                },
            );
            assert!(table.len() <= 10);
        }
        assert!(table.stats().evicted >= 90);
        table.finish(&r, &mut ended);
        assert_eq!(ended.iter().map(FlowRecord::packets).sum::<u64>(), 100);
        assert_eq!(ended.len(), 100);
        let evicted = ended.iter().filter(|r| r.end == EndReason::Evicted).count();
        assert_eq!(evicted as u64, table.stats().evicted);
    }

    #[test]
    fn reused_slots_end_each_flow_at_its_own_deadline_with_the_wheel_bounded() {
        // Wheel entries name a slot, not a flow: entries of ended flows (idle, or the earlier
        // entry a FIN left) point at slots that later flows reuse. Each flow must still end at
        // the first sweep after its own deadline, neither earlier nor later.
        let r = registry();
        let timeouts = IdleTimeouts {
            tcp: 20 * SECOND,
            ..IdleTimeouts::default()
        };
        let mut table = FlowTable::new(2000, timeouts);
        let (open, closed) = (timeouts.tcp / SECOND, timeouts.tcp_closed / SECOND);
        let mut flows = 0u64;
        let mut ended: Vec<FlowRecord> = Vec::new();
        for second in 0..400i64 {
            for n in 0..60u32 {
                let client = IpAddr::V4(Ipv4Addr::from_bits(0x0a00_0000 + n));
                let ports = tcp(10_000 + (second as u16) % 1000, 443);
                let mut syn = packet(ts(second), client, SERVER, ports);
                syn.tcp_flags = 0x02;
                table.observe(&r, &mut ended, &syn);
                // Every other flow closes at once, with a second, earlier wheel entry.
                if n % 2 == 0 {
                    let mut fin = packet(ts(second), SERVER, client, tcp(443, ports.src_port));
                    fin.tcp_flags = 0x11;
                    table.observe(&r, &mut ended, &fin);
                }
                flows += 1;
                for record in ended.drain(..) {
                    // Idle, or Fin for a flow that saw one: ended by the sweep either way.
                    assert!(
                        matches!(record.end, EndReason::Idle | EndReason::Fin),
                        "{:?}",
                        record.end
                    );
                    let timeout = if record.tcp_flags & TCP_FIN != 0 {
                        closed
                    } else {
                        open
                    };
                    let deadline = record.last_seen.secs + timeout;
                    assert!(deadline < second, "ended early: {deadline} at {second}");
                    assert!(deadline >= second - 1, "ended late: {deadline} at {second}");
                }
                assert!(
                    table.expiries.len() <= (table.len() * 3 / 2).max(1024) + 1,
                    "wheel {} for {} flows",
                    table.expiries.len(),
                    table.len()
                );
            }
        }
        assert!(table.slots.len() <= 2000, "slab {}", table.slots.len());
        assert_eq!(table.stats().evicted, 0);
        table.finish(&r, &mut ended);
        assert_eq!(ended.len() as u64 + table.stats().expired, flows);
    }

    #[test]
    fn churn_keeps_the_expiry_wheel_and_the_table_bounded() {
        let r = registry();
        let mut ended: Vec<FlowRecord> = Vec::new();
        let mut table = FlowTable::new(5000, IdleTimeouts::default());
        // 20,000 one-packet flows within one second of capture time: no idle sweep runs, so
        // only evictions and wheel rebuilds keep memory in check.
        for n in 0..20_000u32 {
            let client = IpAddr::V4(Ipv4Addr::from_bits(0x0a00_0000 + n));
            table.observe(
                &r,
                &mut ended,
                &packet(ts(1), client, SERVER, tcp(50000, 443)),
            );
            assert!(table.len() <= 5000);
            assert!(
                table.expiries.len() <= 2 * 5000,
                "wheel {}",
                table.expiries.len()
            );
        }
        // Sized for twice the bound, the hash table never had to move again.
        assert!(table.index.capacity() >= 10_000);
        assert!(
            table.index.capacity() < 20_000,
            "{}",
            table.index.capacity()
        );
        table.finish(&r, &mut ended);
        assert_eq!(ended.len(), 20_000);
    }

    /// Observe `p` as the pipeline hands a packet on: its tags in it, its outer endpoints apart.
    fn observe_with(
        table: &mut FlowTable,
        r: &Registry,
        ended: &mut Vec<FlowRecord>,
        p: FlowPacket,
        e: &Encapsulation,
    ) {
        let p = FlowPacket {
            vlans: e.vlans,
            tunnel: e.outer.map(|_| TunnelKind::Vxlan),
            ..p
        };
        if let Some(outer) = e.outer {
            table.tunnelled_by(outer);
        }
        table.observe(r, ended, &p);
    }

    /// A flow keeps its FIRST packet's VLAN ids and outer endpoints (not part of its key), in
    /// the slot's link bits and the side table, which is emptied as flows end.
    #[test]
    fn a_flow_keeps_its_first_packets_vlans_and_outer_endpoints() {
        let r = registry();
        let mut ended: Vec<FlowRecord> = Vec::new();
        let mut table = FlowTable::new(100, IdleTimeouts::default());
        let outer = OuterEndpoints {
            src: "192.0.2.1".parse().unwrap(),
            dst: "2001:db8::9".parse().unwrap(),
            ports: Some(Ports {
                transport: Transport::Udp,
                src_port: 40000,
                dst_port: 4789,
            }),
        };
        let cases = [
            Encapsulation::default(),
            Encapsulation {
                vlans: crate::decode::Vlans {
                    vlan: Some(4095),
                    inner_vlan: None,
                },
                outer: None,
            },
            Encapsulation {
                vlans: crate::decode::Vlans {
                    vlan: Some(0),
                    inner_vlan: Some(200),
                },
                outer: None,
            },
            Encapsulation {
                vlans: crate::decode::Vlans::default(),
                outer: Some(outer),
            },
            Encapsulation {
                vlans: crate::decode::Vlans {
                    vlan: Some(7),
                    inner_vlan: Some(8),
                },
                outer: Some(outer),
            },
        ];
        for (n, encap) in cases.iter().enumerate() {
            let client_port = 50000 + n as u16;
            let first = packet(ts(1), CLIENT, SERVER, tcp(client_port, 443));
            observe_with(&mut table, &r, &mut ended, first, encap);
            // A later packet on another VLAN and underlay path (the same tunnel kind: it is
            // part of the key) is the same flow and changes nothing.
            let other = Encapsulation {
                outer: encap.outer.map(|o| OuterEndpoints {
                    src: o.dst,
                    dst: o.src,
                    ports: None,
                }),
                ..cases[(n + 2) % cases.len()]
            };
            let later = packet(ts(2), SERVER, CLIENT, tcp(443, client_port));
            observe_with(&mut table, &r, &mut ended, later, &other);
        }
        assert_eq!(table.len(), cases.len());
        assert_eq!(
            table.encaps.len(),
            3,
            "only flows with an inner tag or a tunnel"
        );
        table.finish(&r, &mut ended);
        assert_eq!(ended.len(), cases.len());
        for (n, encap) in cases.iter().enumerate() {
            let record = ended
                .iter()
                .find(|r| r.client().port == 50000 + n as u16)
                .unwrap();
            assert_eq!(record.encap, *encap, "case {n}");
            assert_eq!(record.packets(), 2);
            assert!(record.id < 1 << 48);
        }
        // Ended flows free their entries (and flows ended by timeout too).
        assert_eq!(table.encaps.len(), 0);
        let tunnelled = FlowPacket {
            tunnel: Some(TunnelKind::Gre),
            ..packet(ts(10), CLIENT, SERVER, tcp(1, 443))
        };
        table.tunnelled_by(outer);
        table.observe(&r, &mut ended, &tunnelled);
        // A stale value is never taken: a packet without a tunnel makes a flow without one.
        table.observe(&r, &mut ended, &packet(ts(11), CLIENT, SERVER, tcp(3, 443)));
        assert_eq!(table.encaps.len(), 1);
        table.observe(
            &r,
            &mut ended,
            &packet(ts(10_000), CLIENT, SERVER, tcp(2, 443)),
        );
        assert_eq!(table.len(), 1);
        let last = ended.iter().find(|r| r.client().port == 1).unwrap();
        assert_eq!(last.encap.outer, Some(outer));
        let untunnelled = ended.iter().find(|r| r.client().port == 3).unwrap();
        assert_eq!(untunnelled.encap, Encapsulation::default());
        assert_eq!(table.encaps.len(), 0);
    }
}

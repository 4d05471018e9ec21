//! A live flow as the table stores it: 56 bytes, its key included.
//!
//! [`FlowState`] is the flow as the rest of the module reads it (full timestamps, 64-bit
//! counters, enums); [`Slot`] is the same flow packed for memory, since a table of a million
//! live flows is mostly these slots. What a slot cannot hold exactly goes to a side table,
//! [`Spill`], keyed by the slot's index, and the slot says so ([`SPILLED`]):
//!
//! - IPv4 keys are inline; an IPv6 key's two addresses sit in a side table of pairs
//!   ([`V6Pairs`], 32 bytes a flow, only for IPv6 flows) and the slot keeps their index.
//! - Times are nanoseconds since the epoch (i64: 1678 to 2262) with one resolution (`digits`)
//!   for both; a flow whose times fall outside that range, or whose packets came at two
//!   resolutions (files of different precision), is spilled.
//! - Counters are u32 per direction; a flow past 4 G packets or 4 GiB in one direction is
//!   spilled (its exact u64 counters move to the side table).
//!
//! The per-packet path ([`super::FlowTable::observe`]) works on the packed fields directly and
//! falls back to the exact [`FlowState`] only for a spilled flow or a packet that would spill.

use super::service_port::Evidence;
use super::{Counter, FlowState};
use crate::capture::Timestamp;
use crate::decode::TunnelKind;
use crate::registry::Status;
use crate::transport::Transport;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// [`Slot::bits`]: the low five bits are [`FlowState::replies`], then these.
pub(super) const SERVER_IS_A: u8 = 1 << 5;
pub(super) const FIRST_FROM_A: u8 = 1 << 6;
/// The slot's times and counters are in [`Spill`], not in the slot.
pub(super) const SPILLED: u8 = 1 << 7;
const REPLIES: u8 = 0x1f;

/// [`Slot::id`] holds the flow id in its low 48 bits; the top 16 are the flow's first packet's
/// link: bits 48-59 its outer VLAN id, bit 60 that it had one, bit 61 that the flow has an
/// entry in the encapsulation side table (inner VLAN, outer endpoints: `super::encap`). An
/// untagged flow outside a tunnel has them all 0, so they cost it nothing.
pub(super) const FLOW_ID_MASK: u64 = (1 << 48) - 1;
const VLAN_SHIFT: u32 = 48;
const VLAN_ID_MASK: u64 = 0x0fff;
const HAS_VLAN: u64 = 1 << 60;
const HAS_ENCAP: u64 = 1 << 61;

/// The flow id after `id`: ids run 1 ..= 2^48 - 1, then start at 1 again (at ten million new
/// flows a second, after 325 days), so an id never reaches the link bits above it.
pub(super) const fn next_flow_id(id: u64) -> u64 {
    if id >= FLOW_ID_MASK {
        1
    } else {
        id + 1
    }
}

/// [`Slot::kind`]: transport index in bits 0-1, IPv6 in bit 2, tunnel code in bits 3-7.
const KIND_V6: u8 = 1 << 2;

/// Packet and byte counts of one direction, as a slot keeps them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Count32 {
    pub(super) packets: u32,
    pub(super) bytes: u32,
}

impl Count32 {
    fn of(counter: Counter) -> Option<Count32> {
        Some(Count32 {
            packets: u32::try_from(counter.packets).ok()?,
            bytes: u32::try_from(counter.bytes).ok()?,
        })
    }

    fn wide(self) -> Counter {
        Counter {
            packets: u64::from(self.packets),
            bytes: u64::from(self.bytes),
        }
    }
}

/// One live flow, packed; `id == 0` marks a free slot (flow ids start at 1), whose `a` is the
/// next free slot's index. `id`'s top 16 bits are link bits ([`FLOW_ID_MASK`]).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Slot {
    pub(super) id: u64,
    /// First and last packet, nanoseconds since the epoch (see [`Spill`]).
    pub(super) first_ns: i64,
    pub(super) last_ns: i64,
    pub(super) to_server: Count32,
    pub(super) to_client: Count32,
    /// The key's lower endpoint's IPv4 address, or for IPv6 the index of the key's pair of
    /// addresses in [`V6Pairs`].
    pub(super) a: u32,
    /// The key's higher endpoint's IPv4 address (0 for IPv6).
    pub(super) b: u32,
    /// `a`'s port << 16 | `b`'s port.
    pub(super) ports: u32,
    /// Transport, IPv6, tunnel ([`KIND_V6`]).
    pub(super) kind: u8,
    /// Union of the TCP flags seen.
    pub(super) tcp_flags: u8,
    /// Replies, server side, first packet's direction, spilled ([`SERVER_IS_A`]).
    pub(super) bits: u8,
    /// Evidence and registry status (low four bits, [`decision_code`]) and the resolution of
    /// both times (high four bits).
    pub(super) decision: u8,
}

/// What a flow's packed key is compared with: a packet's key in the slot's terms, plus the
/// IPv6 addresses when it is IPv6 (`a`/`b` are then the full addresses, not indexes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Probe {
    pub(super) a: u128,
    pub(super) b: u128,
    pub(super) ports: u32,
    pub(super) kind: u8,
}

impl Probe {
    pub(super) fn is_v6(&self) -> bool {
        self.kind & KIND_V6 != 0
    }

    /// The words the table hashes: two for IPv4, five for IPv6.
    #[inline]
    pub(super) fn hash_with(&self, hasher: &impl std::hash::BuildHasher) -> u64 {
        use std::hash::Hasher;
        let mut h = hasher.build_hasher();
        let meta = (u64::from(self.ports) << 8) | u64::from(self.kind);
        if self.is_v6() {
            h.write_u64((self.a >> 64) as u64);
            h.write_u64(self.a as u64);
            h.write_u64((self.b >> 64) as u64);
            h.write_u64(self.b as u64);
        } else {
            h.write_u64(((self.a as u64) << 32) | (self.b as u64 & 0xffff_ffff));
        }
        h.write_u64(meta);
        h.finish()
    }
}

/// The key byte of a flow: transport, family, tunnel.
pub(super) fn kind_code(transport: Transport, v6: bool, tunnel: Option<TunnelKind>) -> u8 {
    (transport.index() as u8) | if v6 { KIND_V6 } else { 0 } | (tunnel_code(tunnel) << 3)
}

fn transport_of(kind: u8) -> Transport {
    Transport::ALL
        .get(usize::from(kind & 3))
        .copied()
        .unwrap_or(Transport::Tcp)
}

/// A tunnel kind as five bits, 0 for none. Exhaustive on purpose: a new tunnel kind must be
/// given a code here (and in [`tunnel_of_code`]) before the crate builds.
const fn tunnel_code(tunnel: Option<TunnelKind>) -> u8 {
    match tunnel {
        None => 0,
        Some(TunnelKind::Gre) => 1,
        Some(TunnelKind::Erspan) => 2,
        Some(TunnelKind::IpInIp) => 3,
        Some(TunnelKind::Vxlan) => 4,
        Some(TunnelKind::Geneve) => 5,
        Some(TunnelKind::GtpU) => 6,
        Some(TunnelKind::Teredo) => 7,
        Some(TunnelKind::L2tp) => 8,
        Some(TunnelKind::MplsUdp) => 9,
        Some(TunnelKind::PimRegister) => 10,
        Some(TunnelKind::VxlanGpe) => 11,
    }
}

const fn tunnel_of_code(code: u8) -> Option<TunnelKind> {
    match code {
        1 => Some(TunnelKind::Gre),
        2 => Some(TunnelKind::Erspan),
        3 => Some(TunnelKind::IpInIp),
        4 => Some(TunnelKind::Vxlan),
        5 => Some(TunnelKind::Geneve),
        6 => Some(TunnelKind::GtpU),
        7 => Some(TunnelKind::Teredo),
        8 => Some(TunnelKind::L2tp),
        9 => Some(TunnelKind::MplsUdp),
        10 => Some(TunnelKind::PimRegister),
        11 => Some(TunnelKind::VxlanGpe),
        _ => None,
    }
}

/// Evidence and status in four bits (5 × 3 values).
fn decision_code(evidence: Evidence, status: Status) -> u8 {
    let e = match evidence {
        Evidence::Handshake => 0,
        Evidence::Rank => 1,
        Evidence::FanIn => 2,
        Evidence::FirstPacket => 3,
        Evidence::PortOrder => 4,
    };
    let s = match status {
        Status::Assigned => 0,
        Status::Reserved => 1,
        Status::Unassigned => 2,
    };
    e * 3 + s
}

/// [`decision_code`] read back: a table, not a division (this runs for every packet).
const DECISIONS: [(Evidence, Status); 16] = [
    (Evidence::Handshake, Status::Assigned),
    (Evidence::Handshake, Status::Reserved),
    (Evidence::Handshake, Status::Unassigned),
    (Evidence::Rank, Status::Assigned),
    (Evidence::Rank, Status::Reserved),
    (Evidence::Rank, Status::Unassigned),
    (Evidence::FanIn, Status::Assigned),
    (Evidence::FanIn, Status::Reserved),
    (Evidence::FanIn, Status::Unassigned),
    (Evidence::FirstPacket, Status::Assigned),
    (Evidence::FirstPacket, Status::Reserved),
    (Evidence::FirstPacket, Status::Unassigned),
    (Evidence::PortOrder, Status::Assigned),
    (Evidence::PortOrder, Status::Reserved),
    (Evidence::PortOrder, Status::Unassigned),
    (Evidence::PortOrder, Status::Unassigned), // unused
];

#[inline(always)]
fn decision_of(code: u8) -> (Evidence, Status) {
    DECISIONS
        .get(usize::from(code & 0x0f))
        .copied()
        .unwrap_or((Evidence::PortOrder, Status::Unassigned))
}

/// A timestamp from the packed form: exact for times an i64 of nanoseconds holds.
fn timestamp(ns: i64, digits: u8) -> Timestamp {
    Timestamp {
        secs: ns.div_euclid(1_000_000_000),
        nanos: ns.rem_euclid(1_000_000_000) as u32,
        digits,
    }
}

/// Whether a timestamp is held exactly by its nanoseconds (and a four-bit resolution).
#[inline]
pub(super) fn packs(ns: i64, digits: u8) -> bool {
    packs_ns(ns) && digits < 16
}

/// The lowest time [`packs_ns`] takes. `Timestamp::saturating_nanos` saturates the seconds
/// before it adds the nanoseconds, so a time before 1678 comes out anywhere in the first
/// second above `i64::MIN`, not only at `i64::MIN`: that whole second is left to the spill.
const LOWEST_EXACT_NS: i64 = i64::MIN + 1_000_000_000;

/// Whether a time is held exactly by its saturating nanoseconds: from [`LOWEST_EXACT_NS`] up
/// to, not including, `i64::MAX` (where the saturation stops above). One comparison with one
/// constant: `i64::MAX + 1` wraps to `i64::MIN`, below the range moved up by one.
#[inline(always)]
pub(super) fn packs_ns(ns: i64) -> bool {
    ns.wrapping_add(1) > LOWEST_EXACT_NS
}

/// The exact times and counters of the flows a slot cannot hold, by slot index.
pub(super) type Spill = HashMap<u32, Exact, foldhash::fast::FixedState>;

/// A spilled flow's times and counters.
#[derive(Debug, Clone, Copy)]
pub(super) struct Exact {
    first_seen: Timestamp,
    last_seen: Timestamp,
    to_server: Counter,
    to_client: Counter,
}

/// A new flow's decision and id, for [`Slot::begin`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Start {
    pub(super) id: u64,
    pub(super) server_is_a: bool,
    pub(super) first_from_a: bool,
    pub(super) evidence: Evidence,
    pub(super) service_status: Status,
}

/// IPv6 address pairs of the live IPv6 flows, by the index their slot keeps.
#[derive(Debug, Default)]
pub(super) struct V6Pairs {
    pairs: Vec<(u128, u128)>,
    free: Vec<u32>,
}

impl V6Pairs {
    pub(super) fn get(&self, index: u32) -> (u128, u128) {
        self.pairs.get(index as usize).copied().unwrap_or_default()
    }

    /// Keeps a pair; its index. None when u32 indexes are used up (more than 4 G IPv6 flows
    /// live: the table's bound stops that long before).
    pub(super) fn insert(&mut self, pair: (u128, u128)) -> Option<u32> {
        if let Some(index) = self.free.pop() {
            if let Some(slot) = self.pairs.get_mut(index as usize) {
                *slot = pair;
                return Some(index);
            }
        }
        let index = u32::try_from(self.pairs.len()).ok()?;
        self.pairs.push(pair);
        Some(index)
    }

    pub(super) fn remove(&mut self, index: u32) {
        self.free.push(index);
    }

    pub(super) fn clear(&mut self) {
        self.pairs = Vec::new();
        self.free = Vec::new();
    }
}

impl Slot {
    pub(super) fn is_free(&self) -> bool {
        self.id == 0
    }

    /// The flow's id, without the link bits.
    #[inline(always)]
    pub(super) fn flow_id(&self) -> u64 {
        self.id & FLOW_ID_MASK
    }

    /// The first packet's outer VLAN id.
    pub(super) fn vlan(&self) -> Option<u16> {
        (self.id & HAS_VLAN != 0).then_some(((self.id >> VLAN_SHIFT) & VLAN_ID_MASK) as u16)
    }

    /// Whether the flow has an entry in the encapsulation side table.
    pub(super) fn has_encap(&self) -> bool {
        self.id & HAS_ENCAP != 0
    }

    /// Sets the link bits: the outer VLAN id, and whether there is a side-table entry.
    pub(super) fn set_link(&mut self, vlan: Option<u16>, has_encap: bool) {
        let mut link = 0;
        if let Some(id) = vlan {
            link |= HAS_VLAN | ((u64::from(id) & VLAN_ID_MASK) << VLAN_SHIFT);
        }
        if has_encap {
            link |= HAS_ENCAP;
        }
        self.id = self.flow_id() | link;
    }

    pub(super) fn is_v6(&self) -> bool {
        self.kind & KIND_V6 != 0
    }

    pub(super) fn transport(&self) -> Transport {
        transport_of(self.kind)
    }

    pub(super) fn tunnel(&self) -> Option<TunnelKind> {
        tunnel_of_code(self.kind >> 3)
    }

    pub(super) fn digits(&self) -> u8 {
        self.decision >> 4
    }

    pub(super) fn server_is_a(&self) -> bool {
        self.bits & SERVER_IS_A != 0
    }

    pub(super) fn decision(&self) -> (Evidence, Status) {
        decision_of(self.decision)
    }

    /// The probe this slot's key answers to.
    pub(super) fn probe(&self, v6: &V6Pairs) -> Probe {
        let (a, b) = if self.is_v6() {
            v6.get(self.a)
        } else {
            (u128::from(self.a), u128::from(self.b))
        };
        Probe {
            a,
            b,
            ports: self.ports,
            kind: self.kind,
        }
    }

    /// Whether this (live) slot is the flow of `probe`.
    #[inline]
    pub(super) fn matches(&self, probe: &Probe, v6: &V6Pairs) -> bool {
        if self.ports != probe.ports || self.kind != probe.kind {
            return false;
        }
        if probe.is_v6() {
            v6.get(self.a) == (probe.a, probe.b)
        } else {
            // The kinds are equal, so both are IPv4 and the probe's addresses fit in 32 bits:
            // no need to compare their zero high bits.
            self.a == probe.a as u32 && self.b == probe.b as u32
        }
    }

    /// The flow's key in full.
    pub(super) fn key(&self, v6: &V6Pairs) -> super::FlowKey {
        let probe = self.probe(v6);
        let addr = |bits: u128| {
            if self.is_v6() {
                IpAddr::V6(Ipv6Addr::from_bits(bits))
            } else {
                IpAddr::V4(Ipv4Addr::from_bits(bits as u32))
            }
        };
        super::FlowKey {
            transport: self.transport(),
            a: super::Endpoint {
                addr: addr(probe.a),
                port: (self.ports >> 16) as u16,
            },
            b: super::Endpoint {
                addr: addr(probe.b),
                port: self.ports as u16,
            },
            tunnel: self.tunnel(),
        }
    }

    /// The last packet's time in nanoseconds (saturating, as the per-packet path keeps time).
    pub(super) fn last_ns(&self, spill: &Spill, index: u32) -> i64 {
        if self.bits & SPILLED == 0 {
            return self.last_ns;
        }
        spill
            .get(&index)
            .map_or(self.last_ns, |exact| exact.last_seen.saturating_nanos())
    }

    /// The flow in full.
    pub(super) fn state(&self, spill: &Spill, index: u32) -> FlowState {
        let (evidence, service_status) = self.decision();
        let exact = if self.bits & SPILLED != 0 {
            spill.get(&index).copied()
        } else {
            None
        };
        let exact = exact.unwrap_or_else(|| Exact {
            first_seen: timestamp(self.first_ns, self.digits()),
            last_seen: timestamp(self.last_ns, self.digits()),
            to_server: self.to_server.wide(),
            to_client: self.to_client.wide(),
        });
        FlowState {
            id: self.flow_id(),
            server_is_a: self.server_is_a(),
            evidence,
            service_status,
            first_seen: exact.first_seen,
            last_seen: exact.last_seen,
            to_server: exact.to_server,
            to_client: exact.to_client,
            tcp_flags: self.tcp_flags,
            first_from_a: self.bits & FIRST_FROM_A != 0,
            replies: self.bits & REPLIES,
        }
    }

    /// Stores a new flow (no packets counted yet, both times `ts`): what
    /// [`store`](Self::store) would store, written field by field into a fresh slot. A time the
    /// slot cannot hold takes `store`'s way to [`Spill`].
    #[inline]
    pub(super) fn begin(&mut self, start: Start, ts: Timestamp, spill: &mut Spill, index: u32) {
        let ns = ts.saturating_nanos();
        if !packs(ns, ts.digits) || self.bits & SPILLED != 0 {
            let state = FlowState {
                id: start.id,
                server_is_a: start.server_is_a,
                evidence: start.evidence,
                service_status: start.service_status,
                first_seen: ts,
                last_seen: ts,
                to_server: Counter::default(),
                to_client: Counter::default(),
                tcp_flags: 0,
                first_from_a: start.first_from_a,
                replies: 0,
            };
            self.store(&state, spill, index);
            return;
        }
        self.id = (self.id & !FLOW_ID_MASK) | (start.id & FLOW_ID_MASK);
        self.first_ns = ns;
        self.last_ns = ns;
        self.to_server = Count32::default();
        self.to_client = Count32::default();
        self.tcp_flags = 0;
        self.bits = if start.server_is_a { SERVER_IS_A } else { 0 }
            | if start.first_from_a { FIRST_FROM_A } else { 0 };
        // `packs` held, so the resolution fits its four bits.
        self.decision = decision_code(start.evidence, start.service_status) | (ts.digits << 4);
    }

    /// Sets the evidence the flow's decision rests on, its service side and status unchanged
    /// (handshake evidence confirming the side already chosen).
    pub(super) fn set_evidence(&mut self, evidence: Evidence) {
        let (_, status) = self.decision();
        self.decision = (self.decision & 0xf0) | decision_code(evidence, status);
    }

    /// Stores `state` (the key fields are left alone): packed, or in `spill` when the slot
    /// cannot hold its times or counters.
    pub(super) fn store(&mut self, state: &FlowState, spill: &mut Spill, index: u32) {
        // The link bits stay as they are.
        self.id = (self.id & !FLOW_ID_MASK) | (state.id & FLOW_ID_MASK);
        self.tcp_flags = state.tcp_flags;
        let mut bits = state.replies & REPLIES;
        if state.server_is_a {
            bits |= SERVER_IS_A;
        }
        if state.first_from_a {
            bits |= FIRST_FROM_A;
        }
        let (first_ns, last_ns) = (
            state.first_seen.saturating_nanos(),
            state.last_seen.saturating_nanos(),
        );
        let digits = state.first_seen.digits;
        let packed = (
            Count32::of(state.to_server),
            Count32::of(state.to_client),
            packs(first_ns, digits) && packs(last_ns, digits) && state.last_seen.digits == digits,
        );
        let was_spilled = self.bits & SPILLED != 0;
        self.first_ns = first_ns;
        self.last_ns = last_ns;
        let digits_bits = if digits < 16 { digits << 4 } else { 0 };
        self.decision = decision_code(state.evidence, state.service_status) | digits_bits;
        if let (Some(to_server), Some(to_client), true) = packed {
            self.to_server = to_server;
            self.to_client = to_client;
            if was_spilled {
                spill.remove(&index);
            }
        } else {
            bits |= SPILLED;
            spill.insert(
                index,
                Exact {
                    first_seen: state.first_seen,
                    last_seen: state.last_seen,
                    to_server: state.to_server,
                    to_client: state.to_client,
                },
            );
        }
        self.bits = bits;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_56_bytes() {
        assert_eq!(std::mem::size_of::<Slot>(), 56);
    }

    fn state() -> FlowState {
        FlowState {
            id: 7,
            server_is_a: true,
            evidence: Evidence::FanIn,
            service_status: Status::Reserved,
            first_seen: Timestamp {
                secs: 1_700_000_000,
                nanos: 123_456_000,
                digits: 6,
            },
            last_seen: Timestamp {
                secs: 1_700_000_100,
                nanos: 5_000,
                digits: 6,
            },
            to_server: Counter {
                packets: 3,
                bytes: 180,
            },
            to_client: Counter {
                packets: 1,
                bytes: 60,
            },
            tcp_flags: 0x12,
            first_from_a: false,
            replies: 0b10110,
        }
    }

    #[test]
    fn every_state_comes_back_whole_packed_or_spilled() {
        let mut spill = Spill::default();
        let base = state();
        let odd = [
            base,
            FlowState {
                to_server: Counter {
                    packets: 1,
                    bytes: 5_000_000_000,
                },
                ..base
            },
            FlowState {
                to_client: Counter {
                    packets: u64::from(u32::MAX) + 1,
                    bytes: 1,
                },
                ..base
            },
            FlowState {
                first_seen: Timestamp {
                    secs: -400_000_000_000,
                    nanos: 1,
                    digits: 9,
                },
                ..base
            },
            // Before 1678 at one resolution: the seconds saturate, the nanoseconds still add.
            FlowState {
                first_seen: Timestamp {
                    secs: -400_000_000_000,
                    nanos: 1,
                    digits: 6,
                },
                ..base
            },
            FlowState {
                last_seen: Timestamp {
                    digits: 9,
                    ..base.last_seen
                },
                ..base
            },
            FlowState {
                first_seen: Timestamp {
                    digits: 200,
                    ..base.first_seen
                },
                last_seen: Timestamp {
                    digits: 200,
                    ..base.last_seen
                },
                ..base
            },
        ];
        for (n, state) in odd.into_iter().enumerate() {
            for evidence in Evidence::ALL {
                for status in [Status::Assigned, Status::Reserved, Status::Unassigned] {
                    let state = FlowState {
                        evidence,
                        service_status: status,
                        ..state
                    };
                    let mut slot = Slot::default();
                    slot.store(&state, &mut spill, 3);
                    assert_eq!(slot.state(&spill, 3), state, "case {n}");
                    assert_eq!(slot.bits & SPILLED != 0, n > 0, "case {n}");
                    // Back to a state that packs: the spill entry goes.
                    slot.store(&base, &mut spill, 3);
                    assert_eq!(slot.state(&spill, 3), base);
                    assert!(spill.is_empty());
                }
            }
        }
    }

    #[test]
    fn begin_stores_what_store_stores_for_a_new_flow() {
        let base = state();
        let times = [
            base.first_seen,
            Timestamp {
                secs: -400_000_000_000,
                nanos: 1,
                digits: 9,
            },
            Timestamp {
                digits: 200,
                ..base.first_seen
            },
        ];
        for (n, ts) in times.into_iter().enumerate() {
            for evidence in Evidence::ALL {
                for (server_is_a, first_from_a) in [(false, true), (true, false), (true, true)] {
                    let new = FlowState {
                        evidence,
                        server_is_a,
                        first_from_a,
                        first_seen: ts,
                        last_seen: ts,
                        to_server: Counter::default(),
                        to_client: Counter::default(),
                        tcp_flags: 0,
                        replies: 0,
                        ..base
                    };
                    let start = Start {
                        id: new.id,
                        server_is_a,
                        first_from_a,
                        evidence,
                        service_status: new.service_status,
                    };
                    let (mut stored, mut begun) = (Slot::default(), Slot::default());
                    let (mut spill_stored, mut spill_begun) = (Spill::default(), Spill::default());
                    stored.store(&new, &mut spill_stored, 2);
                    begun.begin(start, ts, &mut spill_begun, 2);
                    assert_eq!(begun.state(&spill_begun, 2), new, "case {n}");
                    assert_eq!(
                        (begun.bits, begun.decision, begun.first_ns, begun.last_ns),
                        (
                            stored.bits,
                            stored.decision,
                            stored.first_ns,
                            stored.last_ns
                        ),
                        "case {n}"
                    );
                    assert_eq!(spill_begun.len(), usize::from(n > 0), "case {n}");
                }
            }
        }
    }

    #[test]
    fn set_evidence_keeps_the_side_status_and_resolution() {
        let mut spill = Spill::default();
        let mut slot = Slot::default();
        let base = state();
        slot.store(&base, &mut spill, 0);
        for evidence in Evidence::ALL {
            slot.set_evidence(evidence);
            assert_eq!(slot.state(&spill, 0), FlowState { evidence, ..base });
        }
    }

    #[test]
    fn only_the_ends_of_i64_and_the_second_above_its_minimum_do_not_pack() {
        for ns in [i64::MIN, i64::MIN + 1, LOWEST_EXACT_NS - 1, i64::MAX] {
            assert!(!packs_ns(ns), "{ns}");
        }
        for ns in [
            LOWEST_EXACT_NS,
            i64::MAX - 1,
            -1,
            0,
            1,
            1_700_000_000_000_000_000,
        ] {
            assert!(packs_ns(ns), "{ns}");
        }
    }

    #[test]
    fn link_bits_keep_apart_from_the_flow_id_through_store_and_state() {
        let mut spill = Spill::default();
        let top = FlowState {
            id: FLOW_ID_MASK,
            ..state()
        };
        for vlan in [None, Some(0), Some(1), Some(4095)] {
            for has_encap in [false, true] {
                let mut slot = Slot::default();
                slot.store(&top, &mut spill, 1);
                slot.set_link(vlan, has_encap);
                assert_eq!((slot.vlan(), slot.has_encap()), (vlan, has_encap));
                assert_eq!(slot.state(&spill, 1), top);
                assert_eq!(slot.flow_id(), FLOW_ID_MASK);
                // A later store (a revision, a spill) leaves the link bits alone.
                slot.store(&state(), &mut spill, 1);
                assert_eq!((slot.vlan(), slot.has_encap()), (vlan, has_encap));
                assert_eq!(slot.state(&spill, 1).id, 7);
                assert!(!slot.is_free());
            }
        }
        // Ids wrap before they reach the link bits, and never become 0 (a free slot).
        assert_eq!(next_flow_id(FLOW_ID_MASK - 1), FLOW_ID_MASK);
        assert_eq!(next_flow_id(FLOW_ID_MASK), 1);
        assert_eq!(next_flow_id(u64::MAX), 1);
    }

    #[test]
    fn every_tunnel_code_decodes_to_its_kind() {
        for code in 0..32u8 {
            let tunnel = tunnel_of_code(code);
            if tunnel.is_some() || code == 0 {
                assert_eq!(tunnel_code(tunnel), code);
            }
        }
    }
}

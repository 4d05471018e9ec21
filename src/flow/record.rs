//! What the flow table hands on: one owned [`FlowRecord`] per finished flow, given to a
//! [`FlowSink`].
//!
//! The table knows no consumer by name. The aggregator (per-service rows) is one sink; flow-record
//! writers, metrics and timelines are others. A sink is a type parameter of the table's methods,
//! so a sink that does nothing costs nothing, and the record is built only when a flow ends: once
//! per flow, never per packet. No I/O.

use super::service_port::Evidence;
use super::{Counter, Endpoint, FlowKey};
use crate::capture::Timestamp;
use crate::decode::{Outer, Ports, Vlans};
use crate::registry::Registry;
use std::net::IpAddr;

/// Why a flow left the flow table.
///
/// A TCP FIN or RST does not end a flow at once: it shortens its idle timeout (10 s instead of
/// 5 min) so late retransmissions still count in it. A flow that saw an RST ends as
/// [`Rst`](Self::Rst), else one that saw a FIN as [`Fin`](Self::Fin), whichever way it then left
/// the table (idle sweep, eviction or the end of the capture); any other flow says how it left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EndReason {
    /// A TCP FIN was seen (and no RST).
    Fin,
    /// A TCP RST was seen.
    Rst,
    /// Idle past its transport's timeout.
    Idle,
    /// Pushed out because the table held `--max-flows` flows.
    Evicted,
    /// Still live when the input ended.
    CaptureEnd,
    /// Not ended: later handshake evidence named the other side the server, so the packets
    /// counted so far are handed on under the old decision and the flow goes on under the new
    /// one (counted twice in `flows`, as the README says).
    Revised,
    /// Not ended: a live flow read for a snapshot (`live`'s intervals); it keeps counting.
    Snapshot,
}

impl EndReason {
    /// The reason's name in reports: `fin`, `rst`, `idle`, `evicted`, `capture_end`, `revised`,
    /// `snapshot`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EndReason::Fin => "fin",
            EndReason::Rst => "rst",
            EndReason::Idle => "idle",
            EndReason::Evicted => "evicted",
            EndReason::CaptureEnd => "capture_end",
            EndReason::Revised => "revised",
            EndReason::Snapshot => "snapshot",
        }
    }

    /// How a flow that left the table `way` ended, given the TCP flags it saw: an RST or FIN
    /// seen names the end, except for the two cases that are not ends.
    pub(crate) fn of(way: EndReason, tcp_flags: u8) -> EndReason {
        match way {
            EndReason::Revised | EndReason::Snapshot => way,
            _ if tcp_flags & super::TCP_RST != 0 => EndReason::Rst,
            _ if tcp_flags & super::TCP_FIN != 0 => EndReason::Fin,
            _ => way,
        }
    }
}

/// Whether a flow was answered: what sets a scan of closed or silent ports apart from use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReplyState {
    /// Packets went both ways, and the server sent more than TCP resets.
    Answered,
    /// Packets went one way only: a SYN or datagrams nobody answered (or a capture that sees
    /// one direction of the traffic).
    Unanswered,
    /// Turned away: the server answered only with TCP resets (a SYN to a closed port gets an
    /// RST), or an ICMP port unreachable quoting the flow came back.
    Refused,
}

impl ReplyState {
    /// `answered`, `unanswered` or `refused`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReplyState::Answered => "answered",
            ReplyState::Unanswered => "unanswered",
            ReplyState::Refused => "refused",
        }
    }
}

/// The outermost IP header of a tunnelled packet, and the tunnel's transport ports when it
/// rides on one (VXLAN, Geneve, GTP-U, Teredo, L2TP, MPLS in UDP), as that packet carried them:
/// `src` is the packet's outer source, whichever side of the inner flow sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OuterEndpoints {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ports: Option<Ports>,
}

impl OuterEndpoints {
    /// The outer endpoints of a decoded tunnel; None when its IP header's addresses were not
    /// read (never for a tunnel the decoder entered).
    #[inline]
    pub fn of(outer: &Outer) -> Option<OuterEndpoints> {
        Some(OuterEndpoints {
            src: outer.src?,
            dst: outer.dst?,
            ports: outer.ports,
        })
    }
}

/// What carried a flow's FIRST packet around its IP header: the frame's VLAN tags and, when
/// tunnelled, the outer endpoints. Not part of the flow's key (as in Zeek's default): later
/// packets of the flow on another VLAN or underlay path count in the same flow, and the record
/// says what its first packet had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Encapsulation {
    pub vlans: Vlans,
    pub outer: Option<OuterEndpoints>,
}

/// A finished flow (or a part of one, see [`EndReason::Revised`]), owned.
///
/// Counters are oriented by the service decision: `to_server` is client to server. The key's
/// `a`/`b` order is the table's (lower endpoint first); [`server`](Self::server) and
/// [`client`](Self::client) say which is which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowRecord {
    /// The flow's id, as `annotate` prints it in `flow`; unique within one flow table.
    pub id: u64,
    /// Transport, both endpoints, and the tunnel the flow came in (if any).
    pub key: FlowKey,
    /// Whether the server (the service port's side) is the key's endpoint `a`.
    pub server_is_a: bool,
    /// What the service decision rests on.
    pub evidence: Evidence,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Client to server.
    pub to_server: Counter,
    /// Server to client.
    pub to_client: Counter,
    /// Union of the TCP flags seen either way; 0 for other transports.
    pub tcp_flags: u8,
    pub end: EndReason,
    /// Answered, unanswered or refused, from every packet of the flow so far (not only those
    /// counted in this record).
    pub state: ReplyState,
    /// VLAN ids and outer endpoints of the flow's first packet.
    pub encap: Encapsulation,
}

impl FlowRecord {
    /// The endpoint whose port is the service port.
    pub fn server(&self) -> Endpoint {
        if self.server_is_a {
            self.key.a
        } else {
            self.key.b
        }
    }

    /// The other endpoint.
    pub fn client(&self) -> Endpoint {
        if self.server_is_a {
            self.key.b
        } else {
            self.key.a
        }
    }

    /// The service port: the server's port.
    pub fn service_port(&self) -> u16 {
        self.server().port
    }

    pub fn packets(&self) -> u64 {
        self.to_server
            .packets
            .saturating_add(self.to_client.packets)
    }

    pub fn bytes(&self) -> u64 {
        self.to_server.bytes.saturating_add(self.to_client.bytes)
    }
}

/// Takes each flow the table hands on.
///
/// `registry` is the one the table decided the service side with, for a sink that wants what
/// it says of the service port (the aggregator does; a writer of raw records need not look).
/// Every packet the table counted is in exactly one record it hands on.
pub trait FlowSink {
    fn flow_ended(&mut self, registry: &Registry, record: FlowRecord);
}

/// Ignores every record: for callers that only want the per-packet answers.
impl FlowSink for () {
    #[inline(always)]
    fn flow_ended(&mut self, _: &Registry, _: FlowRecord) {}
}

/// Keeps every record (tests, small captures).
impl FlowSink for Vec<FlowRecord> {
    fn flow_ended(&mut self, _: &Registry, record: FlowRecord) {
        self.push(record);
    }
}

impl<S: FlowSink + ?Sized> FlowSink for &mut S {
    #[inline(always)]
    fn flow_ended(&mut self, registry: &Registry, record: FlowRecord) {
        (**self).flow_ended(registry, record);
    }
}

/// Both sinks get every record, the first one first.
impl<A: FlowSink, B: FlowSink> FlowSink for (A, B) {
    #[inline(always)]
    fn flow_ended(&mut self, registry: &Registry, record: FlowRecord) {
        self.0.flow_ended(registry, record);
        self.1.flow_ended(registry, record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rst_then_fin_name_the_end_except_for_revisions_and_snapshots() {
        let (fin, rst, fin_rst) = (0x11, 0x04, 0x15);
        assert_eq!(EndReason::of(EndReason::Idle, 0x10), EndReason::Idle);
        assert_eq!(EndReason::of(EndReason::Idle, fin), EndReason::Fin);
        assert_eq!(EndReason::of(EndReason::CaptureEnd, rst), EndReason::Rst);
        assert_eq!(EndReason::of(EndReason::Evicted, fin_rst), EndReason::Rst);
        assert_eq!(EndReason::of(EndReason::Revised, fin), EndReason::Revised);
        assert_eq!(EndReason::of(EndReason::Snapshot, rst), EndReason::Snapshot);
    }
}

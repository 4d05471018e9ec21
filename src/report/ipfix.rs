//! IPFIX export (RFC 7011): flow records as IPFIX messages for a collector (nfdump's nfcapd,
//! pmacct, GoFlow2, Wireshark).
//!
//! Takes [`FlowRecord`]s, gives back whole messages as bytes, each within a path MTU; sending
//! them (UDP) is the caller's. No I/O.
//!
//! Each flow becomes up to two **uniflow** data records, client to server and server to client
//! (a direction without packets has none), rather than one RFC 5103 biflow record: the reverse
//! elements of RFC 5103 (enterprise 29305) are not read by nfdump, whose records would then lose
//! the server's half of every flow. Both records carry the flow's service port as
//! `applicationId` (RFC 6759: classification engine 3, IANA-L4, then the port in two octets) and
//! its service name as `applicationName` (empty for a port without a name).
//!
//! - [`IpfixEncoder`]: message header, template sets and data sets, sequence numbers, template
//!   refresh, the MTU.
//! - [`DeltaTracker`]: what was already exported of each live flow, so that interim records
//!   (`flowEndReason` 2, active timeout) and the final one carry delta counts.
//! - [`uniflows`]: a flow record (or the part not yet exported) as data records.

use crate::capture::Timestamp;
use crate::flow::community_id::proto_of;
use crate::flow::{Counter, EndReason, FlowRecord};
use crate::registry::Registry;
use std::collections::HashMap;
use std::net::IpAddr;

/// IPFIX's version number in every message header (RFC 7011 section 3.1).
pub const VERSION: u16 = 10;
/// The set ID of a template set (RFC 7011 section 3.3.2).
pub const TEMPLATE_SET_ID: u16 = 2;
/// The template of data records between IPv4 addresses.
pub const TEMPLATE_IPV4: u16 = 256;
/// The template of data records between IPv6 addresses.
pub const TEMPLATE_IPV6: u16 = 257;
/// Default largest message (bytes of UDP payload): fits a 1500-byte Ethernet MTU with room for
/// IPv6, UDP and a tunnel or two.
pub const DEFAULT_MTU: usize = 1400;
/// Smallest MTU accepted: a message header, both templates and the largest data record.
pub const MIN_MTU: usize = 512;
/// Largest MTU accepted: the largest UDP payload over IPv4.
pub const MAX_MTU: usize = 65_507;
/// Templates are sent again after this many messages ...
pub const TEMPLATE_REFRESH_MESSAGES: u32 = 100;
/// ... or this many seconds of export time, whichever comes first (RFC 7011 section 8.4: a
/// UDP exporter resends its templates periodically).
pub const TEMPLATE_REFRESH_SECONDS: u32 = 60;
/// Bytes of a service name kept in `applicationName` (IANA service names have at most 15).
pub const APPLICATION_NAME_MAX: usize = 63;
/// `applicationId`'s classification engine for IANA layer-4 port numbers (RFC 6759, 4.1).
pub const ENGINE_IANA_L4: u8 = 3;

const SET_HEADER_LEN: usize = 4;
/// A field length of 65535 in a template: the field is variable-length (RFC 7011, 7).
const VARIABLE_LENGTH: u16 = 65_535;

/// Information element IDs (IANA "IPFIX Information Elements" registry).
pub mod ie {
    pub const OCTET_DELTA_COUNT: u16 = 1;
    pub const PACKET_DELTA_COUNT: u16 = 2;
    pub const PROTOCOL_IDENTIFIER: u16 = 4;
    pub const TCP_CONTROL_BITS: u16 = 6;
    pub const SOURCE_TRANSPORT_PORT: u16 = 7;
    pub const SOURCE_IPV4_ADDRESS: u16 = 8;
    pub const DESTINATION_TRANSPORT_PORT: u16 = 11;
    pub const DESTINATION_IPV4_ADDRESS: u16 = 12;
    pub const SOURCE_IPV6_ADDRESS: u16 = 27;
    pub const DESTINATION_IPV6_ADDRESS: u16 = 28;
    pub const APPLICATION_ID: u16 = 95;
    pub const APPLICATION_NAME: u16 = 96;
    pub const FLOW_END_REASON: u16 = 136;
    pub const FLOW_START_MILLISECONDS: u16 = 152;
    pub const FLOW_END_MILLISECONDS: u16 = 153;
}

/// The fields of both templates, in record order: (information element, length). The address
/// lengths are the IPv4 template's; the IPv6 template has 16-byte addresses.
const FIELDS: [(u16, u16); 13] = [
    (ie::SOURCE_IPV4_ADDRESS, 4),
    (ie::DESTINATION_IPV4_ADDRESS, 4),
    (ie::SOURCE_TRANSPORT_PORT, 2),
    (ie::DESTINATION_TRANSPORT_PORT, 2),
    (ie::PROTOCOL_IDENTIFIER, 1),
    (ie::OCTET_DELTA_COUNT, 8),
    (ie::PACKET_DELTA_COUNT, 8),
    (ie::FLOW_START_MILLISECONDS, 8),
    (ie::FLOW_END_MILLISECONDS, 8),
    (ie::TCP_CONTROL_BITS, 2),
    (ie::FLOW_END_REASON, 1),
    (ie::APPLICATION_ID, 3),
    (ie::APPLICATION_NAME, VARIABLE_LENGTH),
];

/// The template's field specifiers, for IPv4 or IPv6 addresses.
fn template_fields(v6: bool) -> impl Iterator<Item = (u16, u16)> {
    FIELDS.iter().map(move |&(id, len)| match id {
        ie::SOURCE_IPV4_ADDRESS if v6 => (ie::SOURCE_IPV6_ADDRESS, 16),
        ie::DESTINATION_IPV4_ADDRESS if v6 => (ie::DESTINATION_IPV6_ADDRESS, 16),
        _ => (id, len),
    })
}

/// `flowEndReason` (IANA registry of IE 136) of a record that left the flow table `end`:
/// 1 idle timeout, 2 active timeout (an interim record of a live flow), 3 end of flow detected
/// (FIN or RST), 4 forced end (end of input, and a revised decision, which ends the flow's
/// record under the old decision), 5 lack of resources (evicted under `--max-flows`).
pub const fn flow_end_reason(end: EndReason) -> u8 {
    match end {
        EndReason::Idle => 1,
        EndReason::Snapshot => 2,
        EndReason::Fin | EndReason::Rst => 3,
        EndReason::CaptureEnd | EndReason::Revised => 4,
        EndReason::Evicted => 5,
    }
}

/// One direction of a flow as an IPFIX data record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uniflow<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    /// IANA protocol number: 6 TCP, 17 UDP, 33 DCCP, 132 SCTP.
    pub protocol: u8,
    /// Captured bytes (frame lengths, as portnote counts them) since the last export.
    pub octets: u64,
    pub packets: u64,
    pub start_ms: u64,
    pub end_ms: u64,
    /// The union of both directions' TCP flags (the flow table keeps no more); 0 unless TCP.
    pub tcp_flags: u8,
    pub end_reason: u8,
    /// The service port: `applicationId`'s selector.
    pub service_port: u16,
    /// The service's name, empty when the port has none.
    pub application_name: &'a str,
}

impl Uniflow<'_> {
    fn is_v6(&self) -> bool {
        self.src.is_ipv6() || self.dst.is_ipv6()
    }

    fn template(&self) -> u16 {
        if self.is_v6() {
            TEMPLATE_IPV6
        } else {
            TEMPLATE_IPV4
        }
    }

    fn name(&self) -> &[u8] {
        let name = self.application_name.as_bytes();
        name.get(..APPLICATION_NAME_MAX).unwrap_or(name)
    }

    /// The encoded record's length.
    fn encoded_len(&self) -> usize {
        let addresses = if self.is_v6() { 32 } else { 8 };
        // Ports 4, protocol 1, counters and times 32, flags 2, end reason 1, application id
        // 3, the name's one-byte length and the name.
        addresses + 4 + 1 + 32 + 2 + 1 + 3 + 1 + self.name().len()
    }

    /// Append the data record (fields in template order, network byte order).
    fn encode(&self, out: &mut Vec<u8>) {
        let v6 = self.is_v6();
        for addr in [self.src, self.dst] {
            match addr {
                IpAddr::V4(a) if !v6 => out.extend_from_slice(&a.octets()),
                IpAddr::V4(a) => out.extend_from_slice(&a.to_ipv6_mapped().octets()),
                IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
            }
        }
        out.extend_from_slice(&self.src_port.to_be_bytes());
        out.extend_from_slice(&self.dst_port.to_be_bytes());
        out.push(self.protocol);
        out.extend_from_slice(&self.octets.to_be_bytes());
        out.extend_from_slice(&self.packets.to_be_bytes());
        out.extend_from_slice(&self.start_ms.to_be_bytes());
        out.extend_from_slice(&self.end_ms.to_be_bytes());
        out.extend_from_slice(&u16::from(self.tcp_flags).to_be_bytes());
        out.push(self.end_reason);
        out.push(ENGINE_IANA_L4);
        out.extend_from_slice(&self.service_port.to_be_bytes());
        let name = self.name();
        // Short variable-length encoding: one length octet (names are under 255 bytes).
        out.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(name);
    }
}

/// Milliseconds since the epoch; 0 for a time before it.
fn millis(ts: Timestamp) -> u64 {
    u64::try_from(ts.as_nanos() / 1_000_000).unwrap_or(0)
}

/// The data records of `record`, whose counters not yet exported are `to_server` and
/// `to_client` (see [`DeltaTracker`]): client to server first, then server to client, each only
/// when it has packets.
pub fn uniflows<'r>(
    record: &FlowRecord,
    registry: &'r Registry,
    to_server: Counter,
    to_client: Counter,
) -> impl Iterator<Item = Uniflow<'r>> {
    let client = record.client();
    let server = record.server();
    let transport = record.key.transport;
    let common = Uniflow {
        src: client.addr,
        dst: server.addr,
        src_port: client.port,
        dst_port: server.port,
        protocol: proto_of(transport),
        octets: to_server.bytes,
        packets: to_server.packets,
        start_ms: millis(record.first_seen),
        end_ms: millis(record.last_seen),
        tcp_flags: record.tcp_flags,
        end_reason: flow_end_reason(record.end),
        service_port: server.port,
        application_name: registry.port(transport, server.port).service.unwrap_or(""),
    };
    let reverse = Uniflow {
        src: server.addr,
        dst: client.addr,
        src_port: server.port,
        dst_port: client.port,
        octets: to_client.bytes,
        packets: to_client.packets,
        ..common
    };
    [common, reverse].into_iter().filter(|u| u.packets > 0)
}

/// What has been exported of each flow still live, so the next record of it carries only what
/// is new (delta counts). Interim records ([`EndReason::Snapshot`]) are remembered; any other
/// record ends the flow's entry. Held per flow id and first packet time: a flow whose service
/// decision was revised goes on under the same id counting from zero with a new first time,
/// while the record of its part before the revision may still be held (a tied flow's, until the
/// end of input) and seen in snapshots. Counts are kept in the flow table's `a`/`b`
/// orientation, so a late service decision that turns a flow round keeps its deltas right.
/// Bounded by the flows the table holds (live and held).
#[derive(Debug, Default)]
pub struct DeltaTracker {
    /// (flow id, first seen in ns) -> (a to b, b to a) exported so far.
    exported: HashMap<(u64, i64), (Counter, Counter)>,
}

impl DeltaTracker {
    /// The counters of `record` not exported yet, as (client to server, server to client).
    pub fn take(&mut self, record: &FlowRecord) -> (Counter, Counter) {
        let (a_to_b, b_to_a) = if record.server_is_a {
            (record.to_client, record.to_server)
        } else {
            (record.to_server, record.to_client)
        };
        let part = (record.id, record.first_seen.saturating_nanos());
        let (done_a_to_b, done_b_to_a) = if record.end == EndReason::Snapshot {
            self.exported
                .insert(part, (a_to_b, b_to_a))
                .unwrap_or_default()
        } else {
            self.exported.remove(&part).unwrap_or_default()
        };
        let delta = |now: Counter, done: Counter| Counter {
            packets: now.packets.saturating_sub(done.packets),
            bytes: now.bytes.saturating_sub(done.bytes),
        };
        let (a_to_b, b_to_a) = (delta(a_to_b, done_a_to_b), delta(b_to_a, done_b_to_a));
        if record.server_is_a {
            (b_to_a, a_to_b)
        } else {
            (a_to_b, b_to_a)
        }
    }

    /// Flows with an interim record exported and no final one yet.
    pub fn len(&self) -> usize {
        self.exported.len()
    }

    pub fn is_empty(&self) -> bool {
        self.exported.is_empty()
    }
}

/// Builds IPFIX messages of data records, each at most `mtu` bytes.
///
/// The first message starts with a template set of both templates, and so does the first after
/// every [`TEMPLATE_REFRESH_MESSAGES`] messages or [`TEMPLATE_REFRESH_SECONDS`] seconds of export
/// time. A message's sequence number is the number of data records in the messages before it
/// (RFC 7011 section 3.1, modulo 2^32).
#[derive(Debug)]
pub struct IpfixEncoder {
    observation_domain: u32,
    mtu: usize,
    /// Data records in the messages handed out so far.
    sequence: u32,
    /// The message being filled; empty when none is started.
    message: Vec<u8>,
    records_in_message: u32,
    /// The open data set: its template and the offset of its header in `message`.
    open_set: Option<(u16, usize)>,
    /// Messages handed out since the last one with templates, and that one's export time;
    /// `None` before the first.
    templates_sent: Option<(u32, u32)>,
}

impl IpfixEncoder {
    /// An encoder for observation domain `observation_domain` whose messages are at most `mtu`
    /// bytes (clamped to [`MIN_MTU`]..=[`MAX_MTU`]).
    pub fn new(observation_domain: u32, mtu: usize) -> Self {
        IpfixEncoder {
            observation_domain,
            mtu: mtu.clamp(MIN_MTU, MAX_MTU),
            sequence: 0,
            message: Vec::new(),
            records_in_message: 0,
            open_set: None,
            templates_sent: None,
        }
    }

    /// Data records in the messages handed out so far (the next message's sequence number).
    pub fn sequence(&self) -> u32 {
        self.sequence
    }

    /// Add one data record, `now` being the export time (seconds since the epoch). When it
    /// does not fit the message being filled, that message is finished and handed back, and
    /// the record starts the next one.
    pub fn push(&mut self, record: &Uniflow<'_>, now: u32) -> Option<Vec<u8>> {
        let template = record.template();
        let set_header = match self.open_set {
            Some((open, _)) if open == template => 0,
            _ => SET_HEADER_LEN,
        };
        let mut finished = None;
        if !self.message.is_empty()
            && self.message.len() + set_header + record.encoded_len() > self.mtu
        {
            finished = Some(self.finish(now));
        }
        if self.message.is_empty() {
            self.start(now);
        }
        if !matches!(self.open_set, Some((open, _)) if open == template) {
            self.close_set();
            self.open_set = Some((template, self.message.len()));
            self.message.extend_from_slice(&template.to_be_bytes());
            self.message.extend_from_slice(&[0, 0]); // length, filled in by close_set
        }
        record.encode(&mut self.message);
        self.records_in_message = self.records_in_message.saturating_add(1);
        finished
    }

    /// Finish the message being filled and hand it back, when it holds a data record.
    pub fn flush(&mut self, now: u32) -> Option<Vec<u8>> {
        if self.records_in_message == 0 {
            return None;
        }
        Some(self.finish(now))
    }

    /// Begin a message: its header, then the templates when they are due.
    fn start(&mut self, now: u32) {
        self.message.clear();
        self.message.extend_from_slice(&VERSION.to_be_bytes());
        self.message.extend_from_slice(&[0, 0]); // length, filled in by finish
        self.message.extend_from_slice(&[0; 4]); // export time, filled in by finish
        self.message.extend_from_slice(&[0; 4]); // sequence number, filled in by finish
        self.message
            .extend_from_slice(&self.observation_domain.to_be_bytes());
        let due = match self.templates_sent {
            None => true,
            Some((messages, at)) => {
                messages >= TEMPLATE_REFRESH_MESSAGES
                    || now.saturating_sub(at) >= TEMPLATE_REFRESH_SECONDS
            }
        };
        if due {
            self.write_templates();
            self.templates_sent = Some((0, now));
        }
    }

    /// A template set holding both templates.
    fn write_templates(&mut self) {
        let start = self.message.len();
        self.message
            .extend_from_slice(&TEMPLATE_SET_ID.to_be_bytes());
        self.message.extend_from_slice(&[0, 0]);
        for (id, v6) in [(TEMPLATE_IPV4, false), (TEMPLATE_IPV6, true)] {
            self.message.extend_from_slice(&id.to_be_bytes());
            let count = u16::try_from(FIELDS.len()).unwrap_or(u16::MAX);
            self.message.extend_from_slice(&count.to_be_bytes());
            for (element, length) in template_fields(v6) {
                self.message.extend_from_slice(&element.to_be_bytes());
                self.message.extend_from_slice(&length.to_be_bytes());
            }
        }
        self.set_length_at(start);
    }

    /// Write the length of the set whose header is at `start`, which ends at the message's end.
    fn set_length_at(&mut self, start: usize) {
        let length = self.message.len().saturating_sub(start);
        self.put(
            start + 2,
            &u16::try_from(length).unwrap_or(u16::MAX).to_be_bytes(),
        );
    }

    /// Overwrite the bytes at `at` (a placeholder written earlier in this message).
    fn put(&mut self, at: usize, bytes: &[u8]) {
        if let Some(field) = self.message.get_mut(at..at + bytes.len()) {
            field.copy_from_slice(bytes);
        }
    }

    fn close_set(&mut self) {
        if let Some((_, start)) = self.open_set.take() {
            self.set_length_at(start);
        }
    }

    /// Fill in the header and hand the message out.
    fn finish(&mut self, now: u32) -> Vec<u8> {
        self.close_set();
        let length = u16::try_from(self.message.len()).unwrap_or(u16::MAX);
        self.put(2, &length.to_be_bytes());
        self.put(4, &now.to_be_bytes());
        self.put(8, &self.sequence.to_be_bytes());
        self.sequence = self.sequence.wrapping_add(self.records_in_message);
        self.records_in_message = 0;
        if let Some((messages, _)) = self.templates_sent.as_mut() {
            *messages = messages.saturating_add(1);
        }
        std::mem::take(&mut self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::service_port::Evidence;
    use crate::flow::{Endpoint, FlowKey, ReplyState};
    use crate::transport::Transport;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4_record(name: &'static str) -> Uniflow<'static> {
        Uniflow {
            src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2)),
            src_port: 51000,
            dst_port: 443,
            protocol: 6,
            octets: 1500,
            packets: 3,
            start_ms: 1_700_000_000_123,
            end_ms: 1_700_000_001_456,
            tcp_flags: 0x1b,
            end_reason: 3,
            service_port: 443,
            application_name: name,
        }
    }

    fn u16_at(bytes: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([bytes[at], bytes[at + 1]])
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    /// The IPv4 data record, field by field (RFC 7011 section 3.4.3: fields in template order,
    /// network byte order, no padding; section 7: a variable-length field's short length).
    #[test]
    fn a_data_record_is_its_fields_in_template_order() {
        let mut out = Vec::new();
        v4_record("https").encode(&mut out);
        let expected: Vec<u8> = [
            &[192, 0, 2, 1][..],                 // sourceIPv4Address
            &[198, 51, 100, 2],                  // destinationIPv4Address
            &[0xc7, 0x38],                       // sourceTransportPort 51000
            &[0x01, 0xbb],                       // destinationTransportPort 443
            &[6],                                // protocolIdentifier TCP
            &[0, 0, 0, 0, 0, 0, 0x05, 0xdc],     // octetDeltaCount 1500
            &[0, 0, 0, 0, 0, 0, 0, 3],           // packetDeltaCount 3
            &1_700_000_000_123u64.to_be_bytes(), // flowStartMilliseconds
            &1_700_000_001_456u64.to_be_bytes(), // flowEndMilliseconds
            &[0x00, 0x1b],                       // tcpControlBits FIN SYN PSH ACK
            &[3],                                // flowEndReason end of flow
            &[3, 0x01, 0xbb],                    // applicationId: IANA-L4, port 443
            &[5],                                // applicationName length
            b"https",                            // applicationName
        ]
        .concat();
        assert_eq!(out, expected);
        assert_eq!(out.len(), v4_record("https").encoded_len());
    }

    #[test]
    fn ipv6_records_carry_16_byte_addresses_and_use_their_own_template() {
        let mut record = v4_record("");
        record.src = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
        record.dst = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2));
        let mut out = Vec::new();
        record.encode(&mut out);
        assert_eq!(out.len(), record.encoded_len());
        assert_eq!(out.len(), 32 + 4 + 1 + 32 + 2 + 1 + 3 + 1);
        let (src, dst) = (&out[..16], &out[16..32]);
        assert_eq!(
            src,
            &Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).octets()
        );
        assert_eq!(
            dst,
            &Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2).octets()
        );
        assert_eq!(*out.last().unwrap(), 0, "an empty name is a zero length");
        assert_eq!(record.template(), TEMPLATE_IPV6);
        assert_eq!(v4_record("").template(), TEMPLATE_IPV4);
    }

    /// The first message: header (RFC 7011 3.1), a template set (3.3.2, 3.4.1) with both
    /// templates, a data set (3.3.2) of the record.
    #[test]
    fn the_first_message_is_header_templates_then_the_data_set() {
        let mut encoder = IpfixEncoder::new(7, DEFAULT_MTU);
        assert!(encoder.push(&v4_record("https"), 1_700_000_100).is_none());
        let message = encoder.flush(1_700_000_101).unwrap();
        // Message header.
        assert_eq!(u16_at(&message, 0), 10, "version");
        assert_eq!(usize::from(u16_at(&message, 2)), message.len(), "length");
        assert_eq!(u32_at(&message, 4), 1_700_000_101, "export time");
        assert_eq!(u32_at(&message, 8), 0, "sequence: no data record before");
        assert_eq!(u32_at(&message, 12), 7, "observation domain");
        // Template set: ID 2, length 4 + 2 * (4 + 13 * 4).
        assert_eq!(u16_at(&message, 16), 2);
        let template_set_len = 4 + 2 * (4 + 13 * 4);
        assert_eq!(usize::from(u16_at(&message, 18)), template_set_len);
        let expected_v4: Vec<u8> = [
            &[0x01, 0x00, 0x00, 0x0d][..], // template 256, 13 fields
            &[0, 8, 0, 4],                 // sourceIPv4Address, 4
            &[0, 12, 0, 4],                // destinationIPv4Address, 4
            &[0, 7, 0, 2],                 // sourceTransportPort, 2
            &[0, 11, 0, 2],                // destinationTransportPort, 2
            &[0, 4, 0, 1],                 // protocolIdentifier, 1
            &[0, 1, 0, 8],                 // octetDeltaCount, 8
            &[0, 2, 0, 8],                 // packetDeltaCount, 8
            &[0, 152, 0, 8],               // flowStartMilliseconds, 8
            &[0, 153, 0, 8],               // flowEndMilliseconds, 8
            &[0, 6, 0, 2],                 // tcpControlBits, 2
            &[0, 136, 0, 1],               // flowEndReason, 1
            &[0, 95, 0, 3],                // applicationId, 3
            &[0, 96, 0xff, 0xff],          // applicationName, variable length
        ]
        .concat();
        assert_eq!(&message[20..20 + 56], &expected_v4[..]);
        let v6 = &message[20 + 56..20 + 112];
        assert_eq!(&v6[..8], &[0x01, 0x01, 0x00, 0x0d, 0, 27, 0, 16]);
        assert_eq!(&v6[8..12], &[0, 28, 0, 16]);
        assert_eq!(&v6[12..], &expected_v4[12..]);
        // Data set: ID 256, its length, the record.
        let data = &message[16 + template_set_len..];
        assert_eq!(u16_at(data, 0), TEMPLATE_IPV4);
        assert_eq!(usize::from(u16_at(data, 2)), data.len());
        let mut record = Vec::new();
        v4_record("https").encode(&mut record);
        assert_eq!(&data[4..], &record[..]);
        assert!(encoder.flush(1_700_000_102).is_none(), "nothing left");
    }

    #[test]
    fn sequence_numbers_count_the_data_records_of_earlier_messages() {
        let mut encoder = IpfixEncoder::new(1, DEFAULT_MTU);
        for _ in 0..3 {
            encoder.push(&v4_record("https"), 100);
        }
        let first = encoder.flush(100).unwrap();
        encoder.push(&v4_record("https"), 101);
        let second = encoder.flush(101).unwrap();
        assert_eq!(u32_at(&first, 8), 0);
        assert_eq!(u32_at(&second, 8), 3);
        assert_eq!(encoder.sequence(), 4);
        // Templates only in the first: the second is header + one data set.
        assert_eq!(u16_at(&second, 16), TEMPLATE_IPV4);
        assert_eq!(second.len(), 16 + 4 + v4_record("https").encoded_len());
    }

    #[test]
    fn messages_stay_within_the_mtu_and_lose_no_record() {
        let mtu = 600;
        let mut encoder = IpfixEncoder::new(1, mtu);
        let mut messages = Vec::new();
        let mut v6 = v4_record("ssh");
        v6.src = IpAddr::V6(Ipv6Addr::LOCALHOST);
        v6.dst = IpAddr::V6(Ipv6Addr::LOCALHOST);
        for i in 0..100 {
            let record = if i % 3 == 0 { v6 } else { v4_record("https") };
            messages.extend(encoder.push(&record, 100));
        }
        messages.extend(encoder.flush(100));
        assert!(messages.len() > 5);
        let mut records = 0u32;
        for message in &messages {
            assert!(message.len() <= mtu, "{} > {mtu}", message.len());
            assert_eq!(u32_at(message, 8), records, "sequence number");
            // Walk the sets: their lengths add up to the message, data sets hold whole records.
            let mut at = 16;
            while at < message.len() {
                let (id, len) = (u16_at(message, at), usize::from(u16_at(message, at + 2)));
                let body = len - 4;
                match id {
                    TEMPLATE_SET_ID => {}
                    TEMPLATE_IPV4 => {
                        assert_eq!(body % v4_record("https").encoded_len(), 0);
                        records += (body / v4_record("https").encoded_len()) as u32;
                    }
                    TEMPLATE_IPV6 => {
                        assert_eq!(body % v6.encoded_len(), 0);
                        records += (body / v6.encoded_len()) as u32;
                    }
                    other => panic!("set {other}"),
                }
                at += len;
            }
            assert_eq!(at, message.len());
        }
        assert_eq!(records, 100);
        assert_eq!(encoder.sequence(), 100);
    }

    #[test]
    fn templates_are_resent_after_enough_messages_or_seconds() {
        let has_templates = |m: &[u8]| u16_at(m, 16) == TEMPLATE_SET_ID;
        let mut encoder = IpfixEncoder::new(1, DEFAULT_MTU);
        let mut with_templates = Vec::new();
        for _ in 0..=TEMPLATE_REFRESH_MESSAGES {
            encoder.push(&v4_record("https"), 100);
            with_templates.push(has_templates(&encoder.flush(100).unwrap()));
        }
        assert!(with_templates[0]);
        assert!(with_templates[1..TEMPLATE_REFRESH_MESSAGES as usize]
            .iter()
            .all(|&t| !t));
        assert!(with_templates[TEMPLATE_REFRESH_MESSAGES as usize]);
        encoder.push(&v4_record("https"), 100);
        assert!(!has_templates(&encoder.flush(100).unwrap()));
        encoder.push(&v4_record("https"), 100 + TEMPLATE_REFRESH_SECONDS);
        assert!(has_templates(&encoder.flush(100).unwrap()));
    }

    #[test]
    fn long_names_are_cut_and_the_mtu_is_clamped() {
        let long = "x".repeat(300);
        let record = Uniflow {
            application_name: &long,
            ..v4_record("")
        };
        let mut out = Vec::new();
        record.encode(&mut out);
        assert_eq!(out.len(), record.encoded_len());
        assert_eq!(
            usize::from(out[out.len() - APPLICATION_NAME_MAX - 1]),
            APPLICATION_NAME_MAX
        );
        let mut encoder = IpfixEncoder::new(1, 10);
        encoder.push(&record, 1);
        assert!(encoder.flush(1).unwrap().len() <= MIN_MTU);
    }

    #[test]
    fn end_reasons_map_to_ipfix_flow_end_reasons() {
        assert_eq!(flow_end_reason(EndReason::Idle), 1);
        assert_eq!(flow_end_reason(EndReason::Snapshot), 2);
        assert_eq!(flow_end_reason(EndReason::Fin), 3);
        assert_eq!(flow_end_reason(EndReason::Rst), 3);
        assert_eq!(flow_end_reason(EndReason::CaptureEnd), 4);
        assert_eq!(flow_end_reason(EndReason::Revised), 4);
        assert_eq!(flow_end_reason(EndReason::Evicted), 5);
    }

    fn flow(id: u64, end: EndReason, to_server: (u64, u64), to_client: (u64, u64)) -> FlowRecord {
        let a = Endpoint {
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            port: 22,
        };
        let b = Endpoint {
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            port: 50000,
        };
        let ts = |secs| Timestamp {
            secs,
            nanos: 250_000_000,
            digits: 6,
        };
        FlowRecord {
            id,
            key: FlowKey {
                transport: Transport::Tcp,
                a,
                b,
                tunnel: None,
            },
            server_is_a: true,
            evidence: Evidence::Handshake,
            first_seen: ts(10),
            last_seen: ts(20),
            to_server: Counter {
                packets: to_server.0,
                bytes: to_server.1,
            },
            to_client: Counter {
                packets: to_client.0,
                bytes: to_client.1,
            },
            tcp_flags: 0x12,
            end,
            state: ReplyState::Answered,
            encap: crate::flow::Encapsulation::default(),
        }
    }

    #[test]
    fn interim_records_carry_deltas_and_the_final_one_the_rest() {
        let mut deltas = DeltaTracker::default();
        let c = |packets, bytes| Counter { packets, bytes };
        let first = deltas.take(&flow(1, EndReason::Snapshot, (3, 300), (2, 1000)));
        assert_eq!(first, (c(3, 300), c(2, 1000)));
        let second = deltas.take(&flow(1, EndReason::Snapshot, (5, 500), (2, 1000)));
        assert_eq!(second, (c(2, 200), c(0, 0)));
        assert_eq!(deltas.len(), 1);
        // Another flow does not disturb it.
        assert_eq!(
            deltas.take(&flow(2, EndReason::Idle, (1, 60), (0, 0))),
            (c(1, 60), c(0, 0))
        );
        let last = deltas.take(&flow(1, EndReason::Fin, (6, 560), (4, 1100)));
        assert_eq!(last, (c(1, 60), c(2, 100)));
        assert!(deltas.is_empty(), "an ended flow is forgotten");
        // A late decision that turns the flow round keeps the deltas per direction.
        deltas.take(&flow(3, EndReason::Snapshot, (3, 300), (2, 1000)));
        let mut turned = flow(3, EndReason::CaptureEnd, (2, 1000), (4, 400));
        turned.server_is_a = false;
        assert_eq!(deltas.take(&turned), (c(0, 0), c(1, 100)));
        assert!(deltas.is_empty());
    }

    /// A revision ends a flow's record under the old decision (perhaps held until the end of
    /// input, and then seen in snapshots) while the flow goes on under the same id from zero.
    #[test]
    fn a_revised_flow_and_its_held_first_part_keep_their_own_deltas() {
        let mut deltas = DeltaTracker::default();
        let c = |packets, bytes| Counter { packets, bytes };
        deltas.take(&flow(4, EndReason::Snapshot, (3, 300), (0, 0)));
        // The same walk later sees the held first part (5 packets by now) and the flow going
        // on since the revision (first seen later, 2 packets).
        let held = flow(4, EndReason::Snapshot, (5, 500), (0, 0));
        let mut going_on = flow(4, EndReason::Snapshot, (2, 120), (1, 60));
        going_on.first_seen.secs += 3;
        assert_eq!(deltas.take(&held), (c(2, 200), c(0, 0)));
        assert_eq!(deltas.take(&going_on), (c(2, 120), c(1, 60)));
        // The held part's final record, then the flow's end.
        assert_eq!(
            deltas.take(&flow(4, EndReason::Revised, (5, 500), (0, 0))),
            (c(0, 0), c(0, 0))
        );
        going_on.end = EndReason::CaptureEnd;
        going_on.to_server = c(4, 240);
        assert_eq!(deltas.take(&going_on), (c(2, 120), c(0, 0)));
        assert!(deltas.is_empty());
    }

    #[test]
    fn a_flow_is_two_uniflow_records_oriented_client_to_server_first() {
        let registry = Registry::embedded().unwrap();
        let record = flow(9, EndReason::Idle, (3, 300), (2, 1000));
        let records: Vec<Uniflow> =
            uniflows(&record, &registry, record.to_server, record.to_client).collect();
        assert_eq!(records.len(), 2);
        let (up, down) = (&records[0], &records[1]);
        assert_eq!(
            (up.src_port, up.dst_port, up.packets, up.octets),
            (50000, 22, 3, 300)
        );
        assert_eq!(
            (down.src_port, down.dst_port, down.packets, down.octets),
            (22, 50000, 2, 1000)
        );
        assert_eq!(up.src, down.dst);
        for u in &records {
            assert_eq!(u.protocol, 6);
            assert_eq!(u.service_port, 22);
            assert_eq!(u.application_name, "ssh");
            assert_eq!(u.end_reason, 1);
            assert_eq!(u.start_ms, 10_250);
            assert_eq!(u.end_ms, 20_250);
            assert_eq!(u.tcp_flags, 0x12);
        }
        // A direction without packets has no record.
        let one_way = flow(9, EndReason::Idle, (3, 300), (0, 0));
        assert_eq!(
            uniflows(&one_way, &registry, one_way.to_server, one_way.to_client).count(),
            1
        );
    }
}

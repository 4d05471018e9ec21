//! Byte builders for the generator: link headers, IPv4/IPv6, TCP, UDP, SCTP, DCCP, ICMP, ARP
//! and tunnel headers, appended to one reused `Vec<u8>`.
//!
//! Each header that carries a length or checksum is written in two steps: `begin_*` appends it
//! with zeros in those fields and returns its start offset, `finish_*` patches them once
//! everything inside has been appended. Finishing runs innermost first, so nested tunnels work
//! by construction. Writes go through `get_mut`, so a wrong offset leaves a wrong byte, never a
//! panic.

use crate::linktype::LinkType;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_VLAN: u16 = 0x8100;
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Transparent Ethernet Bridging: the payload is an Ethernet frame (Geneve protocol type).
pub const ETHERTYPE_TEB: u16 = 0x6558;

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_IPIP: u8 = 4;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_DCCP: u8 = 33;
pub const PROTO_IPV6: u8 = 41;
pub const PROTO_GRE: u8 = 47;
pub const PROTO_ICMPV6: u8 = 58;
pub const PROTO_SCTP: u8 = 132;

/// BSD address family values for the NULL and LOOP link types.
const AF_INET: u32 = 2;
/// AF_INET6 as NetBSD and OpenBSD number it; tshark and tcpdump also accept 28 and 30.
const AF_INET6_BSD: u32 = 24;

/// Source and destination addresses of one IP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addrs {
    V4 { src: [u8; 4], dst: [u8; 4] },
    V6 { src: [u8; 16], dst: [u8; 16] },
}

impl Addrs {
    pub fn reversed(self) -> Addrs {
        match self {
            Addrs::V4 { src, dst } => Addrs::V4 { src: dst, dst: src },
            Addrs::V6 { src, dst } => Addrs::V6 { src: dst, dst: src },
        }
    }

    pub fn ethertype(self) -> u16 {
        match self {
            Addrs::V4 { .. } => ETHERTYPE_IPV4,
            Addrs::V6 { .. } => ETHERTYPE_IPV6,
        }
    }
}

/// The link layer under the (outermost) IP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Ethernet,
    /// 802.1Q tag with this VLAN id.
    Vlan(u16),
    /// 802.1ad service tag (outer) over an 802.1Q customer tag (inner).
    QinQ(u16, u16),
    Null,
    Loop,
    Raw,
    Ipv4,
    Ipv6,
    Sll,
    Sll2,
}

impl Link {
    pub fn linktype(self) -> LinkType {
        match self {
            Link::Ethernet | Link::Vlan(_) | Link::QinQ(..) => LinkType::ETHERNET,
            Link::Null => LinkType::NULL,
            Link::Loop => LinkType::LOOP,
            Link::Raw => LinkType::RAW,
            Link::Ipv4 => LinkType::IPV4,
            Link::Ipv6 => LinkType::IPV6,
            Link::Sll => LinkType::LINUX_SLL,
            Link::Sll2 => LinkType::LINUX_SLL2,
        }
    }

    /// Whether the link can carry a frame of this EtherType (raw IP links carry only IP, and
    /// LINKTYPE_IPV4 / LINKTYPE_IPV6 only their version).
    pub fn carries(self, ethertype: u16) -> bool {
        match self {
            Link::Ethernet | Link::Vlan(_) | Link::QinQ(..) | Link::Sll | Link::Sll2 => true,
            Link::Null | Link::Loop | Link::Raw => {
                ethertype == ETHERTYPE_IPV4 || ethertype == ETHERTYPE_IPV6
            }
            Link::Ipv4 => ethertype == ETHERTYPE_IPV4,
            Link::Ipv6 => ethertype == ETHERTYPE_IPV6,
        }
    }

    /// Whether frames on this link get padded to the 60-byte Ethernet minimum.
    pub fn pads_to_ethernet_minimum(self) -> bool {
        matches!(self, Link::Ethernet | Link::Vlan(_) | Link::QinQ(..))
    }
}

/// Overwrite `bytes` at `at`; out-of-range bytes are skipped (callers pass offsets they wrote).
pub fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(slot) = buf.get_mut(at..at.saturating_add(bytes.len())) {
        slot.copy_from_slice(bytes);
    }
}

fn put16(buf: &mut [u8], at: usize, value: u16) {
    put(buf, at, &value.to_be_bytes());
}

/// Length of `buf` from `start`, as a u16 header field (saturating: the generator never builds
/// packets over 64 KiB).
fn len16(buf: &[u8], start: usize) -> u16 {
    u16::try_from(buf.len().saturating_sub(start)).unwrap_or(u16::MAX)
}

/// Ethernet II header, MACs derived from `host_a` / `host_b` so flows look consistent.
pub fn ethernet(buf: &mut Vec<u8>, dst_mac: [u8; 6], src_mac: [u8; 6], ethertype: u16) {
    buf.extend_from_slice(&dst_mac);
    buf.extend_from_slice(&src_mac);
    buf.extend_from_slice(&ethertype.to_be_bytes());
}

/// A locally administered unicast MAC (02:..) derived from a host number.
pub fn mac(host: u32) -> [u8; 6] {
    let [a, b, c, d] = host.to_be_bytes();
    [0x02, 0x00, a, b, c, d]
}

/// The link header for one frame carrying `ethertype`.
pub fn link_header(
    buf: &mut Vec<u8>,
    link: Link,
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    ethertype: u16,
) {
    let family = if ethertype == ETHERTYPE_IPV6 {
        AF_INET6_BSD
    } else {
        AF_INET
    };
    match link {
        Link::Ethernet => ethernet(buf, dst_mac, src_mac, ethertype),
        Link::Vlan(id) => {
            ethernet(buf, dst_mac, src_mac, ETHERTYPE_VLAN);
            buf.extend_from_slice(&(id & 0x0fff).to_be_bytes()); // PCP 0, DEI 0, VID
            buf.extend_from_slice(&ethertype.to_be_bytes());
        }
        Link::QinQ(outer, inner) => {
            ethernet(buf, dst_mac, src_mac, ETHERTYPE_QINQ);
            buf.extend_from_slice(&(outer & 0x0fff).to_be_bytes());
            buf.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
            buf.extend_from_slice(&(inner & 0x0fff).to_be_bytes());
            buf.extend_from_slice(&ethertype.to_be_bytes());
        }
        // NULL stores the family in the writer's byte order; this generator writes
        // little-endian files, so little-endian it is.
        Link::Null => buf.extend_from_slice(&family.to_le_bytes()),
        Link::Loop => buf.extend_from_slice(&family.to_be_bytes()),
        Link::Raw | Link::Ipv4 | Link::Ipv6 => {}
        Link::Sll => {
            buf.extend_from_slice(&0u16.to_be_bytes()); // packet type: to us
            buf.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
            buf.extend_from_slice(&6u16.to_be_bytes()); // link-layer address length
            buf.extend_from_slice(&src_mac);
            buf.extend_from_slice(&[0, 0]); // address field is 8 bytes, 6 used
            buf.extend_from_slice(&ethertype.to_be_bytes());
        }
        Link::Sll2 => {
            buf.extend_from_slice(&ethertype.to_be_bytes());
            buf.extend_from_slice(&0u16.to_be_bytes()); // reserved
            buf.extend_from_slice(&2u32.to_be_bytes()); // interface index
            buf.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
            buf.push(0); // packet type: to us
            buf.push(6); // address length
            buf.extend_from_slice(&src_mac);
            buf.extend_from_slice(&[0, 0]);
        }
    }
}

/// Appends an IPv4 or IPv6 header with zero length/checksum; returns its start.
/// `fragment` is (offset in bytes, more fragments) and only used for IPv4.
pub fn begin_ip(
    buf: &mut Vec<u8>,
    addrs: Addrs,
    protocol: u8,
    ident: u16,
    fragment: (u16, bool),
) -> usize {
    let start = buf.len();
    match addrs {
        Addrs::V4 { src, dst } => {
            let (offset, more) = fragment;
            // Flags and fragment offset share 16 bits: MF is 0x2000, the offset counts 8-byte
            // units in the low 13 bits. Unfragmented packets set DF (0x4000) as stacks do.
            let flags_offset = if offset == 0 && !more {
                0x4000
            } else {
                (u16::from(more) << 13) | ((offset / 8) & 0x1fff)
            };
            buf.extend_from_slice(&[0x45, 0x00, 0, 0]); // version 4, IHL 5, DSCP 0, length
            buf.extend_from_slice(&ident.to_be_bytes());
            buf.extend_from_slice(&flags_offset.to_be_bytes());
            buf.extend_from_slice(&[64, protocol, 0, 0]); // TTL, protocol, checksum
            buf.extend_from_slice(&src);
            buf.extend_from_slice(&dst);
        }
        Addrs::V6 { src, dst } => {
            buf.extend_from_slice(&[0x60, 0, 0, 0, 0, 0, protocol, 64]); // version 6, length, NH, hop limit
            buf.extend_from_slice(&src);
            buf.extend_from_slice(&dst);
        }
    }
    start
}

/// Patches the IP header at `start`: total (IPv4) or payload (IPv6) length, IPv4 checksum.
pub fn finish_ip(buf: &mut [u8], start: usize) {
    let version = buf.get(start).map_or(0, |b| b >> 4);
    if version == 4 {
        let total = len16(buf, start);
        put16(buf, start + 2, total);
        let sum = checksum(buf.get(start..start + 20).unwrap_or_default(), 0);
        put16(buf, start + 10, sum);
    } else {
        let payload = len16(buf, start + 40);
        put16(buf, start + 4, payload);
    }
}

/// One's-complement sum of 16-bit words (RFC 1071), not yet complemented.
fn ones_sum(bytes: &[u8], mut sum: u64) -> u64 {
    let mut words = bytes.chunks_exact(2);
    for word in &mut words {
        if let &[hi, lo] = word {
            sum += u64::from(u16::from_be_bytes([hi, lo]));
        }
    }
    if let &[last] = words.remainder() {
        sum += u64::from(last) << 8;
    }
    sum
}

/// RFC 1071 Internet checksum of `bytes`, starting from a partial sum.
pub fn checksum(bytes: &[u8], initial: u64) -> u16 {
    let mut sum = ones_sum(bytes, initial);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The pseudo-header sum for TCP, UDP, DCCP and ICMPv6 checksums.
fn pseudo_header_sum(addrs: Addrs, protocol: u8, length: usize) -> u64 {
    let length = length as u64;
    match addrs {
        Addrs::V4 { src, dst } => ones_sum(&dst, ones_sum(&src, 0)) + u64::from(protocol) + length,
        Addrs::V6 { src, dst } => ones_sum(&dst, ones_sum(&src, 0)) + u64::from(protocol) + length,
    }
}

/// Computes and stores the transport checksum of the segment at `start..` (TCP, UDP, DCCP,
/// ICMP, ICMPv6 with RFC 1071; SCTP with CRC32c).
pub fn finish_transport(buf: &mut [u8], start: usize, addrs: Addrs, protocol: u8) {
    let at = match protocol {
        PROTO_TCP => 16,
        PROTO_UDP | PROTO_DCCP => 6,
        PROTO_ICMP | PROTO_ICMPV6 => 2,
        PROTO_SCTP => {
            let crc = crc32c(buf.get(start..).unwrap_or_default());
            // RFC 9260 appendix A: the CRC is stored least significant byte first.
            put(buf, start + 8, &crc.to_le_bytes());
            return;
        }
        _ => return,
    };
    let segment = buf.get(start..).unwrap_or_default();
    let initial = if protocol == PROTO_ICMP {
        0
    } else {
        pseudo_header_sum(addrs, protocol, segment.len())
    };
    let mut sum = checksum(segment, initial);
    if protocol == PROTO_UDP && sum == 0 {
        sum = 0xffff; // RFC 768: a computed zero is sent as all ones
    }
    put16(buf, start + at, sum);
}

/// CRC32c (Castagnoli) lookup table, built at compile time. `get_mut` is not usable in a
/// const block on the crate's minimum Rust; the index is bounded by the loop, and an
/// out-of-bounds index here would fail compilation, not a run.
#[allow(clippy::indexing_slicing)]
const CRC32C_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// CRC32c over `bytes` (the SCTP checksum field must already be zero).
pub fn crc32c(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        let index = usize::from((crc as u8) ^ b);
        (crc >> 8) ^ CRC32C_TABLE.get(index).copied().unwrap_or(0)
    })
}

/// TCP flag bits.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// Appends a TCP header (with an MSS option on SYNs); returns its start. Payload follows.
pub fn begin_tcp(
    buf: &mut Vec<u8>,
    src_port: u16,
    dst_port: u16,
    seq: u32,
    ack: u32,
    flags: u8,
) -> usize {
    let start = buf.len();
    let syn = flags & tcp_flags::SYN != 0;
    let data_offset: u8 = if syn { 6 } else { 5 };
    buf.extend_from_slice(&src_port.to_be_bytes());
    buf.extend_from_slice(&dst_port.to_be_bytes());
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(&ack.to_be_bytes());
    buf.push(data_offset << 4);
    buf.push(flags);
    buf.extend_from_slice(&64240u16.to_be_bytes()); // window
    buf.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    if syn {
        buf.extend_from_slice(&[2, 4, 0x05, 0xb4]); // MSS 1460
    }
    start
}

/// Appends a UDP header with zero length and checksum; returns its start.
pub fn begin_udp(buf: &mut Vec<u8>, src_port: u16, dst_port: u16) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&src_port.to_be_bytes());
    buf.extend_from_slice(&dst_port.to_be_bytes());
    buf.extend_from_slice(&[0, 0, 0, 0]);
    start
}

/// Patches the UDP length, then the checksum.
pub fn finish_udp(buf: &mut [u8], start: usize, addrs: Addrs) {
    let len = len16(buf, start);
    put16(buf, start + 4, len);
    finish_transport(buf, start, addrs, PROTO_UDP);
}

/// Appends the SCTP common header; returns its start. Chunks follow.
pub fn begin_sctp(buf: &mut Vec<u8>, src_port: u16, dst_port: u16, verification_tag: u32) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&src_port.to_be_bytes());
    buf.extend_from_slice(&dst_port.to_be_bytes());
    buf.extend_from_slice(&verification_tag.to_be_bytes());
    buf.extend_from_slice(&[0, 0, 0, 0]);
    start
}

/// Appends one SCTP chunk (type, flags, value) with its length and padding to 4 bytes.
pub fn sctp_chunk(buf: &mut Vec<u8>, chunk_type: u8, flags: u8, value: &[u8]) {
    buf.push(chunk_type);
    buf.push(flags);
    buf.extend_from_slice(
        &u16::try_from(4 + value.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    buf.extend_from_slice(value);
    // Padding is relative to the chunk, not to the frame (the link header has any length).
    let padding = (4 - value.len() % 4) % 4;
    buf.extend_from_slice([0u8; 3].get(..padding).unwrap_or_default());
}

/// Appends a DCCP generic header with X = 1, plus the type-specific subheader: acknowledgement
/// number for all types but Request and Data, service code for Request and Response
/// (RFC 4340 section 5). Returns its start; application data follows.
pub fn begin_dccp(
    buf: &mut Vec<u8>,
    src_port: u16,
    dst_port: u16,
    packet_type: u8,
    seq: u64,
    ack: u64,
    service_code: u32,
) -> usize {
    let start = buf.len();
    let has_ack = !matches!(packet_type, 0 | 2);
    let has_service = matches!(packet_type, 0 | 1);
    let words = 4 + if has_ack { 2 } else { 0 } + u8::from(has_service);
    buf.extend_from_slice(&src_port.to_be_bytes());
    buf.extend_from_slice(&dst_port.to_be_bytes());
    buf.push(words); // data offset
    buf.push(0); // CCVal 0, CsCov 0: the checksum covers the whole packet
    buf.extend_from_slice(&[0, 0]); // checksum
    buf.push((packet_type << 1) | 1); // 3 reserved bits, type, X = 1
    buf.push(0); // reserved
    buf.extend_from_slice(seq.to_be_bytes().get(2..).unwrap_or_default()); // 48 bits
    if has_ack {
        buf.extend_from_slice(&[0, 0]); // reserved
        buf.extend_from_slice(ack.to_be_bytes().get(2..).unwrap_or_default());
    }
    if has_service {
        buf.extend_from_slice(&service_code.to_be_bytes());
    }
    start
}

/// An Ethernet/IPv4 ARP request (RFC 826).
pub fn arp_request(buf: &mut Vec<u8>, sender_mac: [u8; 6], sender_ip: [u8; 4], target_ip: [u8; 4]) {
    buf.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]); // Ethernet, IPv4, lengths, request
    buf.extend_from_slice(&sender_mac);
    buf.extend_from_slice(&sender_ip);
    buf.extend_from_slice(&[0; 6]);
    buf.extend_from_slice(&target_ip);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internet_checksum_matches_rfc1071_example() {
        // RFC 1071 section 3: words 0001 f203 f4f5 f6f7 sum to ddf2 (complement 220d).
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 0),
            0x220d
        );
    }

    #[test]
    fn crc32c_matches_check_value() {
        // The standard CRC-32C check value of "123456789".
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn ipv4_header_checksums_to_zero_and_carries_fragment_fields() {
        let mut buf = Vec::new();
        let addrs = Addrs::V4 {
            src: [10, 0, 0, 1],
            dst: [10, 0, 0, 2],
        };
        let start = begin_ip(&mut buf, addrs, PROTO_UDP, 0x1234, (1480, true));
        buf.extend_from_slice(&[0; 8]);
        finish_ip(&mut buf, start);
        assert_eq!(&buf[2..4], &[0, 28], "total length");
        // MF set, offset 1480 / 8 = 185 = 0x0b9.
        assert_eq!(&buf[6..8], &[0x20, 0xb9]);
        assert_eq!(checksum(&buf[..20], 0), 0, "a correct header sums to zero");
    }

    #[test]
    fn dccp_request_header_round_trips_through_the_decoder() {
        let mut buf = Vec::new();
        begin_dccp(&mut buf, 50000, 5004, 0, 7, 0, 42);
        let packet = crate::decode::dccp::DccpPacket::new_checked(&buf).unwrap();
        assert_eq!(packet.header_len(), 20, "16 generic + 4 service code");
        assert_eq!(packet.seq_number(), 7);
        assert_eq!(packet.dst_port(), 5004);
        assert_eq!(packet.service_code(), Some(42));
        // A Response carries the acknowledgement subheader before the service code.
        let mut buf = Vec::new();
        begin_dccp(&mut buf, 5004, 50000, 1, 8, 7, 42);
        let packet = crate::decode::dccp::DccpPacket::new_checked(&buf).unwrap();
        assert_eq!(packet.header_len(), 28);
        assert_eq!(
            (packet.ack_number(), packet.service_code()),
            (Some(7), Some(42))
        );
    }
}

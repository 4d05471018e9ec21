//! Byte builders for the generator, appending to one reused `Vec<u8>`.
//!
//! Ethernet, 802.1Q / 802.1ad tags, Linux SLL, IPv4, IPv6, TCP, UDP, ICMP, ICMPv6 and ARP are
//! written by etherparse's [`PacketBuilder`] ([`ip_packet`], [`arp_frame`]), which fills in
//! their lengths and checksums. What etherparse cannot build is written here by hand: the
//! NULL, LOOP and SLL2 link headers, SCTP and DCCP segments (with their checksums, which need
//! the IP addresses: [`finish_transport`]), tunnel headers, and a UDP datagram cut into IP
//! fragments. Those hand-written headers that carry a length or checksum are written in two
//! steps: `begin_*` appends them with zeros in those fields and returns the start offset,
//! `finish_*` patches them once everything inside has been appended. Writes go through
//! `get_mut`, so a wrong offset leaves a wrong byte, never a panic.

use etherparse::{
    ArpHardwareId, ArpOperation, ArpPacket, EtherType, IpFragOffset, IpHeaders, IpNumber,
    Ipv4Header, Ipv6FlowLabel, Ipv6Header, LinuxSllPacketType, PacketBuilder, PacketBuilderStep,
    TcpOptionElement, VlanId,
};
use portnote::linktype::LinkType;
use std::io;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_ARP: u16 = 0x0806;
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

/// A locally administered unicast MAC (02:..) derived from a host number.
pub fn mac(host: u32) -> [u8; 6] {
    let [a, b, c, d] = host.to_be_bytes();
    [0x02, 0x00, a, b, c, d]
}

/// The link header, written by hand, for the links etherparse's builder has no step for
/// (NULL, LOOP, SLL2; nothing for raw IP). Ethernet, VLAN and SLL are the builder's: see
/// [`ip_packet`] and [`arp_frame`].
fn hand_link_header(buf: &mut Vec<u8>, link: Link, src_mac: [u8; 6], ethertype: u16) {
    let family = if ethertype == ETHERTYPE_IPV6 {
        AF_INET6_BSD
    } else {
        AF_INET
    };
    match link {
        // etherparse's builder writes these.
        Link::Ethernet | Link::Vlan(_) | Link::QinQ(..) | Link::Sll => {}
        // NULL stores the family in the writer's byte order; this generator writes
        // little-endian files, so little-endian it is.
        Link::Null => buf.extend_from_slice(&family.to_le_bytes()),
        Link::Loop => buf.extend_from_slice(&family.to_be_bytes()),
        Link::Raw | Link::Ipv4 | Link::Ipv6 => {}
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

/// An IPv4 header (DF set unless `fragment` makes it a fragment; `fragment` is the offset in
/// bytes and the more-fragments flag) or an IPv6 header, TTL / hop limit 64. The builder fills
/// in the protocol, the lengths and the checksum.
pub fn ip_header(addrs: Addrs, ident: u16, fragment: (u16, bool)) -> IpHeaders {
    match addrs {
        Addrs::V4 { src, dst } => {
            let (offset, more) = fragment;
            let unfragmented = offset == 0 && !more;
            let header = Ipv4Header {
                identification: ident,
                // Unfragmented packets set DF as stacks do.
                dont_fragment: unfragmented,
                more_fragments: more,
                // The offset counts 8-byte units in 13 bits.
                fragment_offset: IpFragOffset::try_new((offset / 8) & 0x1fff)
                    .unwrap_or(IpFragOffset::ZERO),
                time_to_live: 64,
                source: src,
                destination: dst,
                ..Ipv4Header::default()
            };
            IpHeaders::Ipv4(header, Default::default())
        }
        Addrs::V6 { src, dst } => IpHeaders::Ipv6(
            Ipv6Header {
                traffic_class: 0,
                flow_label: Ipv6FlowLabel::ZERO,
                payload_length: 0,
                next_header: IpNumber(0),
                hop_limit: 64,
                source: src,
                destination: dst,
            },
            Default::default(),
        ),
    }
}

/// What sits directly below the IP header of [`ip_packet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Below {
    /// A link header of this type, with these source and destination MACs.
    Link(Link, [u8; 6], [u8; 6]),
    /// Nothing: the packet is the payload of a tunnel (IP in IP, GRE, GTP-U, Teredo).
    Nothing,
}

/// The header the builder writes on top of the IP header, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// A TCP header; an MSS option (1460) on SYNs, window 64240. `ack` is sent only with ACK.
    Tcp {
        src_port: u16,
        dst_port: u16,
        seq: u32,
        ack: u32,
        flags: u8,
    },
    Udp {
        src_port: u16,
        dst_port: u16,
    },
    /// An ICMP (IPv4) or ICMPv6 header of this type and code, bytes 5-8 zero.
    Icmp {
        v6: bool,
        icmp_type: u8,
        code: u8,
    },
    /// No header: the payload is the whole IP payload, of this IP protocol.
    Raw(u8),
}

fn build_error(error: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::other(error)
}

/// The builder's steps up to the IP header for `below` (writing a hand-made link header into
/// `buf` first when etherparse has no step for the link).
fn ip_step(
    buf: &mut Vec<u8>,
    below: Below,
    ip: IpHeaders,
) -> io::Result<PacketBuilderStep<IpHeaders>> {
    let vlan = |id: u16| VlanId::try_new(id & 0x0fff).unwrap_or(VlanId::ZERO);
    Ok(match below {
        Below::Link(Link::Ethernet, src, dst) => PacketBuilder::ethernet2(src, dst).ip(ip),
        Below::Link(Link::Vlan(id), src, dst) => PacketBuilder::ethernet2(src, dst)
            .single_vlan(vlan(id))
            .ip(ip),
        Below::Link(Link::QinQ(outer, inner), src, dst) => PacketBuilder::ethernet2(src, dst)
            .double_vlan(vlan(outer), vlan(inner))
            .ip(ip),
        Below::Link(Link::Sll, src, _) => {
            PacketBuilder::linux_sll(LinuxSllPacketType::HOST, 6, sll_address(src)).ip(ip)
        }
        Below::Link(link, src, _) => {
            let ethertype = match ip {
                IpHeaders::Ipv4(..) => ETHERTYPE_IPV4,
                IpHeaders::Ipv6(..) => ETHERTYPE_IPV6,
            };
            hand_link_header(buf, link, src, ethertype);
            PacketBuilder::ip(ip)
        }
        Below::Nothing => PacketBuilder::ip(ip),
    })
}

/// The 8-byte SLL address field: a 6-byte MAC, zero-padded.
fn sll_address(mac: [u8; 6]) -> [u8; 8] {
    let [a, b, c, d, e, f] = mac;
    [a, b, c, d, e, f, 0, 0]
}

/// Appends one packet: `below`, the IP header `ip`, the `segment` header and `payload`, with
/// every length and checksum filled in by etherparse. Errors only if the packet exceeds what
/// the headers can express (the generator never builds such packets).
pub fn ip_packet(
    buf: &mut Vec<u8>,
    below: Below,
    ip: IpHeaders,
    segment: Segment,
    payload: &[u8],
) -> io::Result<()> {
    let step = ip_step(buf, below, ip)?;
    match segment {
        Segment::Tcp {
            src_port,
            dst_port,
            seq,
            ack,
            flags,
        } => {
            let mut tcp = step.tcp(src_port, dst_port, seq, 64240);
            if flags & tcp_flags::SYN != 0 {
                tcp = tcp
                    .syn()
                    .options(&[TcpOptionElement::MaximumSegmentSize(1460)])
                    .map_err(build_error)?;
            }
            if flags & tcp_flags::FIN != 0 {
                tcp = tcp.fin();
            }
            if flags & tcp_flags::RST != 0 {
                tcp = tcp.rst();
            }
            if flags & tcp_flags::PSH != 0 {
                tcp = tcp.psh();
            }
            if flags & tcp_flags::ACK != 0 {
                tcp = tcp.ack(ack);
            }
            tcp.write(buf, payload).map_err(build_error)
        }
        Segment::Udp { src_port, dst_port } => step
            .udp(src_port, dst_port)
            .write(buf, payload)
            .map_err(build_error),
        Segment::Icmp {
            v6: false,
            icmp_type,
            code,
        } => step
            .icmpv4_raw(icmp_type, code, [0; 4])
            .write(buf, payload)
            .map_err(build_error),
        Segment::Icmp {
            v6: true,
            icmp_type,
            code,
        } => step
            .icmpv6_raw(icmp_type, code, [0; 4])
            .write(buf, payload)
            .map_err(build_error),
        Segment::Raw(protocol) => step
            .write(buf, IpNumber(protocol), payload)
            .map_err(build_error),
    }
}

/// An Ethernet/IPv4 ARP request (RFC 826) from `sender` asking for `target_ip`, broadcast, on
/// `link` (one that [`Link::carries`] ARP).
pub fn arp_frame(
    buf: &mut Vec<u8>,
    link: Link,
    sender_mac: [u8; 6],
    sender_ip: [u8; 4],
    target_ip: [u8; 4],
) -> io::Result<()> {
    let arp = ArpPacket::new(
        ArpHardwareId::ETHERNET,
        EtherType::IPV4,
        ArpOperation::REQUEST,
        &sender_mac,
        &sender_ip,
        &[0; 6],
        &target_ip,
    )
    .map_err(build_error)?;
    let broadcast = [0xff; 6];
    let vlan = |id: u16| VlanId::try_new(id & 0x0fff).unwrap_or(VlanId::ZERO);
    match link {
        Link::Ethernet => PacketBuilder::ethernet2(sender_mac, broadcast)
            .arp(arp)
            .write(buf),
        Link::Vlan(id) => PacketBuilder::ethernet2(sender_mac, broadcast)
            .single_vlan(vlan(id))
            .arp(arp)
            .write(buf),
        Link::QinQ(outer, inner) => PacketBuilder::ethernet2(sender_mac, broadcast)
            .double_vlan(vlan(outer), vlan(inner))
            .arp(arp)
            .write(buf),
        Link::Sll => PacketBuilder::linux_sll(LinuxSllPacketType::HOST, 6, sll_address(sender_mac))
            .arp(arp)
            .write(buf),
        _ => {
            hand_link_header(buf, link, sender_mac, ETHERTYPE_ARP);
            arp.write(buf)
                .map_err(|e| io::Error::other(e.to_string()))?;
            return Ok(());
        }
    }
    .map_err(build_error)
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
    fn ipv4_fragment_header_checksums_to_zero_and_carries_fragment_fields() {
        let mut buf = Vec::new();
        let addrs = Addrs::V4 {
            src: [10, 0, 0, 1],
            dst: [10, 0, 0, 2],
        };
        let ip = ip_header(addrs, 0x1234, (1480, true));
        ip_packet(
            &mut buf,
            Below::Nothing,
            ip,
            Segment::Raw(PROTO_UDP),
            &[0; 8],
        )
        .unwrap();
        assert_eq!(&buf[2..4], &[0, 28], "total length");
        assert_eq!(&buf[4..6], &[0x12, 0x34], "identification");
        // MF set, offset 1480 / 8 = 185 = 0x0b9.
        assert_eq!(&buf[6..8], &[0x20, 0xb9]);
        assert_eq!(buf[9], PROTO_UDP);
        assert_eq!(checksum(&buf[..20], 0), 0, "a correct header sums to zero");
    }

    #[test]
    fn dccp_request_header_round_trips_through_the_decoder() {
        let mut buf = Vec::new();
        begin_dccp(&mut buf, 50000, 5004, 0, 7, 0, 42);
        let packet = portnote::decode::dccp::DccpPacket::new_checked(&buf).unwrap();
        assert_eq!(packet.header_len(), 20, "16 generic + 4 service code");
        assert_eq!(packet.seq_number(), 7);
        assert_eq!(packet.dst_port(), 5004);
        assert_eq!(packet.service_code(), Some(42));
        // A Response carries the acknowledgement subheader before the service code.
        let mut buf = Vec::new();
        begin_dccp(&mut buf, 5004, 50000, 1, 8, 7, 42);
        let packet = portnote::decode::dccp::DccpPacket::new_checked(&buf).unwrap();
        assert_eq!(packet.header_len(), 28);
        assert_eq!(
            (packet.ack_number(), packet.service_code()),
            (Some(7), Some(42))
        );
    }
}

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
    /// IEEE 802.11 data frames with LLC/SNAP, no radio header (LINKTYPE_IEEE802_11).
    Wlan(Wlan),
    /// A radiotap header (TSFT, Flags with "FCS at end", rate, channel, signal), then an
    /// 802.11 frame and its FCS (LINKTYPE_IEEE802_11_RADIOTAP).
    Radiotap(Wlan),
    /// A radiotap header with two present words (TSFT and Flags in the first, an empty
    /// extension), an odd length and the Flags field's "data pad" bit: the 802.11 header is
    /// padded to 4 bytes before the body; no FCS.
    RadiotapPadded(Wlan),
    /// A PPI header with an 802.11-Common field saying the FCS is present, then an 802.11
    /// frame and its FCS (LINKTYPE_PPI).
    Ppi(Wlan),
    /// OpenBSD pflog header (61 bytes, padded to 64), then IP (LINKTYPE_PFLOG).
    Pflog,
    /// IP over InfiniBand (LINKTYPE_IPOIB): two 20-byte hardware addresses, EtherType and 2
    /// reserved bytes.
    Ipoib,
    /// PPP in HDLC-like framing, address 0xFF, control 0x03 (LINKTYPE_PPP_HDLC).
    PppHdlc,
    /// PPP in HDLC-like framing carrying one MPLS label (PPP protocol 0x0281) over IP.
    PppMpls,
    /// Cisco HDLC (LINKTYPE_C_HDLC): address 0x0F, control 0, EtherType.
    Chdlc,
    /// Cisco HDLC frames under LINKTYPE_PPP_HDLC (libpcap and tshark take them so).
    ChdlcUnderPpp,
    /// Ethernet whose EtherType is NSH (0x894F), MD type 1 or 2, then IP.
    Nsh(u8),
    /// LINKTYPE_IPV4 whose packets are IPv6 (a writer's mistake tshark reads by the version).
    Ipv4HoldingIpv6,
    /// LINKTYPE_IPV6 whose packets are IPv4 (invalid: tshark, tcpdump and portnote say so).
    Ipv6HoldingIpv4,
}

/// The 802.11 data frame header a wireless link writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wlan {
    /// Data, From DS (access point to station): 24-byte header.
    Data,
    /// QoS data, To DS: 26-byte header.
    Qos,
    /// QoS data, To DS and From DS (mesh / WDS): four addresses, 32-byte header.
    FourAddress,
    /// QoS data with the Order flag: HT control after the QoS control, 30-byte header.
    QosHtc,
    /// Mesh QoS data: four addresses, Mesh Control Present, a 6-byte mesh control field.
    Mesh,
    /// QoS data whose body is an A-MSDU of one subframe (destination, source, length, then
    /// LLC/SNAP and the packet). The subframe length is patched by [`finish_link`].
    Amsdu,
}

/// Where an A-MSDU subframe's length field sits from the start of the 802.11 frame: the
/// 26-byte QoS data header, then destination and source (12).
const AMSDU_LENGTH_AT: usize = 26 + 12;

/// Radiotap header the generator writes: version, pad, length, present (TSFT, Flags, Rate,
/// Channel, antenna signal), TSFT (8, aligned), Flags, Rate, Channel (2+2), signal, padding.
const RADIOTAP_LEN: usize = 8 + 8 + 1 + 1 + 4 + 1 + 1;
/// PPI header (8) and one 802.11-Common field (4 + 20).
const PPI_LEN: usize = 8 + 4 + 20;
/// pfloghdr as OpenBSD writes it: 61 bytes, then padding to 64.
const PFLOG_LEN: u8 = 61;
const PFLOG_PADDED_LEN: usize = 64;
/// IANA PPP protocol number for MPLS unicast.
const PPP_MPLS: u16 = 0x0281;
pub const ETHERTYPE_NSH: u16 = 0x894f;

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
            Link::Wlan(_) => LinkType::IEEE802_11,
            Link::Radiotap(_) | Link::RadiotapPadded(_) => LinkType::IEEE802_11_RADIOTAP,
            Link::Ppi(_) => LinkType::PPI,
            Link::Pflog => LinkType::PFLOG,
            Link::Ipoib => LinkType::IPOIB,
            Link::PppHdlc | Link::PppMpls => LinkType::PPP_HDLC,
            Link::Chdlc => LinkType::C_HDLC,
            Link::ChdlcUnderPpp => LinkType::PPP_HDLC,
            Link::Nsh(_) => LinkType::ETHERNET,
            Link::Ipv4HoldingIpv6 => LinkType::IPV4,
            Link::Ipv6HoldingIpv4 => LinkType::IPV6,
        }
    }

    /// The one IP version the link's packets have (`Some(true)`: IPv6), if it forces one.
    pub fn only_v6(self) -> Option<bool> {
        match self {
            Link::Ipv6 | Link::Ipv4HoldingIpv6 => Some(true),
            Link::Ipv4 | Link::Ipv6HoldingIpv4 => Some(false),
            _ => None,
        }
    }

    /// Bytes of radio or capture header before the 802.11 frame, for links whose frames
    /// end with an FCS (computed over the 802.11 frame once it is complete).
    fn fcs_from(self) -> Option<usize> {
        match self {
            Link::Radiotap(_) => Some(RADIOTAP_LEN),
            Link::Ppi(_) => Some(PPI_LEN),
            _ => None,
        }
    }

    /// Whether the link can carry a frame of this EtherType (raw IP links carry only IP, and
    /// LINKTYPE_IPV4 / LINKTYPE_IPV6 only their version).
    pub fn carries(self, ethertype: u16) -> bool {
        match self {
            Link::Ethernet | Link::Vlan(_) | Link::QinQ(..) | Link::Sll | Link::Sll2 => true,
            Link::Wlan(_) | Link::Radiotap(_) | Link::RadiotapPadded(_) | Link::Ppi(_) => true,
            Link::Null
            | Link::Loop
            | Link::Raw
            | Link::Pflog
            | Link::Ipoib
            | Link::PppHdlc
            | Link::PppMpls
            | Link::Chdlc
            | Link::ChdlcUnderPpp
            | Link::Nsh(_) => ethertype == ETHERTYPE_IPV4 || ethertype == ETHERTYPE_IPV6,
            Link::Ipv4 | Link::Ipv6HoldingIpv4 => ethertype == ETHERTYPE_IPV4,
            Link::Ipv6 | Link::Ipv4HoldingIpv6 => ethertype == ETHERTYPE_IPV6,
        }
    }

    /// Whether frames on this link get padded to the 60-byte Ethernet minimum.
    pub fn pads_to_ethernet_minimum(self) -> bool {
        matches!(
            self,
            Link::Ethernet | Link::Vlan(_) | Link::QinQ(..) | Link::Nsh(_)
        )
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
        Link::Raw | Link::Ipv4 | Link::Ipv6 | Link::Ipv4HoldingIpv6 | Link::Ipv6HoldingIpv4 => {}
        Link::Wlan(wlan) => wlan_data_header(buf, wlan, src_mac, ethertype, false),
        Link::Radiotap(wlan) => {
            radiotap_header(buf);
            wlan_data_header(buf, wlan, src_mac, ethertype, false);
        }
        Link::RadiotapPadded(wlan) => {
            radiotap_padded_header(buf);
            wlan_data_header(buf, wlan, src_mac, ethertype, true);
        }
        Link::Ppi(wlan) => {
            ppi_header(buf);
            wlan_data_header(buf, wlan, src_mac, ethertype, false);
        }
        Link::Pflog => {
            let start = buf.len();
            let family = if ethertype == ETHERTYPE_IPV6 {
                AF_INET6_BSD
            } else {
                AF_INET
            };
            buf.push(PFLOG_LEN);
            buf.push(family as u8);
            buf.push(0); // action: pass
            buf.push(1); // reason: match
            let mut name = [0u8; 16];
            put(&mut name, 0, b"em0");
            buf.extend_from_slice(&name); // interface
            buf.extend_from_slice(&[0; 16]); // ruleset: the main one
            buf.extend_from_slice(&3u32.to_be_bytes()); // rule number
            buf.extend_from_slice(&u32::MAX.to_be_bytes()); // subrule: none
            buf.extend_from_slice(&u32::MAX.to_be_bytes()); // uid: none
            buf.extend_from_slice(&(-1i32).to_be_bytes()); // pid: none
            buf.extend_from_slice(&0u32.to_be_bytes()); // rule uid
            buf.extend_from_slice(&0i32.to_be_bytes()); // rule pid
            buf.push(1); // direction: in
            buf.resize(start + PFLOG_PADDED_LEN, 0);
        }
        Link::Ipoib => {
            // Destination and source hardware addresses: QPN (4) and port GID (16) each.
            for qpn in [0x0000_0048u32, 0x0000_0049] {
                buf.extend_from_slice(&qpn.to_be_bytes());
                buf.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0]);
                buf.extend_from_slice(&[0, 0x02, 0xc9, 0x03, 0, 0x0a]);
                buf.extend_from_slice(src_mac.get(4..).unwrap_or_default());
            }
            buf.extend_from_slice(&ethertype.to_be_bytes());
            buf.extend_from_slice(&[0, 0]);
        }
        Link::PppHdlc | Link::PppMpls => {
            buf.extend_from_slice(&[0xff, 0x03]);
            if link == Link::PppMpls {
                buf.extend_from_slice(&PPP_MPLS.to_be_bytes());
                // Label 1000, traffic class 0, bottom of stack, TTL 64.
                buf.extend_from_slice(&((1000u32 << 12) | 0x100 | 64).to_be_bytes());
            } else {
                let protocol: u16 = if ethertype == ETHERTYPE_IPV6 {
                    0x0057
                } else {
                    0x0021
                };
                buf.extend_from_slice(&protocol.to_be_bytes());
            }
        }
        Link::Chdlc | Link::ChdlcUnderPpp => {
            buf.extend_from_slice(&[0x0f, 0x00]);
            buf.extend_from_slice(&ethertype.to_be_bytes());
        }
        Link::Nsh(md_type) => {
            buf.extend_from_slice(&[0x02, 0, 0, 0, 0, 0xfe]);
            buf.extend_from_slice(&src_mac);
            buf.extend_from_slice(&ETHERTYPE_NSH.to_be_bytes());
            nsh_header(buf, md_type, ethertype);
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

/// An NSH (RFC 8300) of MD type 1 (four fixed context words) or 2 (one 4-byte metadata
/// TLV), service path 42, index 255, next protocol IPv4 or IPv6 by `ethertype`.
pub fn nsh_header(buf: &mut Vec<u8>, md_type: u8, ethertype: u16) {
    let next = if ethertype == ETHERTYPE_IPV6 { 2 } else { 1 };
    let words: u8 = if md_type == 1 { 6 } else { 4 };
    // Version 0, O 0, TTL 63 (6 bits over two bytes), length in words, MD type, next protocol.
    buf.extend_from_slice(&[0x0f, 0xc0 | words, md_type & 0x0f, next]);
    buf.extend_from_slice(&((42u32 << 8) | 255).to_be_bytes());
    if md_type == 1 {
        buf.extend_from_slice(&[0x11; 16]);
    } else {
        // Metadata class 0x0102, type 1, length 4, then the value.
        buf.extend_from_slice(&[0x01, 0x02, 0x01, 0x04, 0xca, 0xfe, 0xf0, 0x0d]);
    }
}

/// The BSSID and station addresses the wireless links use.
const BSSID: [u8; 6] = [0x02, 0xb5, 0x51, 0xd0, 0x00, 0x01];

/// The 802.11 data header `wlan` (sequence number 1, fragment 0), then LLC/SNAP; with `pad`
/// the header is padded to a multiple of 4 bytes first.
fn wlan_data_header(buf: &mut Vec<u8>, wlan: Wlan, src_mac: [u8; 6], ethertype: u16, pad: bool) {
    let start = buf.len();
    // Frame control: version 0, type data (2); subtype 0 data, 8 QoS data; flags.
    let (fc0, fc1) = match wlan {
        Wlan::Data => (0x08, 0x02),
        Wlan::Qos | Wlan::Amsdu => (0x88, 0x01),
        Wlan::FourAddress | Wlan::Mesh => (0x88, 0x03),
        Wlan::QosHtc => (0x88, 0x81),
    };
    buf.extend_from_slice(&[fc0, fc1, 0x2c, 0x00]); // duration 44 us
    buf.extend_from_slice(&BSSID);
    buf.extend_from_slice(&src_mac);
    buf.extend_from_slice(&[0x02, 0, 0, 0, 0, 0xfe]);
    buf.extend_from_slice(&[0x10, 0x00]); // sequence 1, fragment 0
    if matches!(wlan, Wlan::FourAddress | Wlan::Mesh) {
        buf.extend_from_slice(&[0x02, 0, 0, 0, 0, 0xfd]);
    }
    if wlan == Wlan::Mesh {
        // QoS control: TID 0, Mesh Control Present; mesh control: flags 0, TTL 31, sequence.
        buf.extend_from_slice(&[0x00, 0x01]);
        buf.extend_from_slice(&[0x00, 31, 0x07, 0, 0, 0]);
    } else if wlan == Wlan::Amsdu {
        buf.extend_from_slice(&[0x80, 0x00]); // QoS control: TID 0, A-MSDU present
    } else if wlan != Wlan::Data {
        buf.extend_from_slice(&[0x00, 0x00]); // QoS control: TID 0, no A-MSDU
    }
    if wlan == Wlan::QosHtc {
        buf.extend_from_slice(&[0, 0, 0, 0]); // HT control
    }
    if pad {
        let header_len = buf.len() - start;
        buf.resize(start + header_len.next_multiple_of(4), 0);
    }
    if wlan == Wlan::Amsdu {
        buf.extend_from_slice(&[0x02, 0, 0, 0, 0, 0xfe]);
        buf.extend_from_slice(&src_mac);
        buf.extend_from_slice(&[0, 0]); // subframe length, patched by finish_link
    }
    buf.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0]);
    buf.extend_from_slice(&ethertype.to_be_bytes());
}

/// The radiotap header of [`RADIOTAP_LEN`] bytes, the Flags field saying the FCS is kept.
fn radiotap_header(buf: &mut Vec<u8>) {
    let start = buf.len();
    buf.extend_from_slice(&[0, 0]);
    buf.extend_from_slice(&(RADIOTAP_LEN as u16).to_le_bytes());
    // Present: TSFT (0), Flags (1), Rate (2), Channel (3), antenna signal (5).
    buf.extend_from_slice(&0b10_1111u32.to_le_bytes());
    buf.extend_from_slice(&1_000_000u64.to_le_bytes()); // TSFT at 8, aligned to 8
    buf.push(0x10); // Flags: FCS at end
    buf.push(12); // Rate: 6 Mb/s in 500 kb/s units
    buf.extend_from_slice(&2437u16.to_le_bytes()); // Channel: 2437 MHz (aligned to 2)
    buf.extend_from_slice(&0x00a0u16.to_le_bytes()); // Channel flags: 2 GHz, OFDM
    buf.push(0xc4); // antenna signal: -60 dBm
    buf.resize(start + RADIOTAP_LEN, 0);
}

/// Radiotap with two present words, 25 bytes: fields from 12, TSFT aligned to 16, Flags at 24
/// with only "data pad" set.
const RADIOTAP_PADDED_LEN: usize = 25;

fn radiotap_padded_header(buf: &mut Vec<u8>) {
    let start = buf.len();
    buf.extend_from_slice(&[0, 0]);
    buf.extend_from_slice(&(RADIOTAP_PADDED_LEN as u16).to_le_bytes());
    buf.extend_from_slice(&(0b11u32 | 1 << 31).to_le_bytes()); // TSFT, Flags, Ext
    buf.extend_from_slice(&0u32.to_le_bytes()); // second word: nothing more
    buf.extend_from_slice(&[0; 4]); // alignment of TSFT to 8
    buf.extend_from_slice(&1_000_000u64.to_le_bytes());
    buf.push(0x20); // Flags: data pad
    buf.resize(start + RADIOTAP_PADDED_LEN, 0);
}

/// The PPI header of [`PPI_LEN`] bytes: DLT 105 and an 802.11-Common field whose flags say
/// the FCS is present.
fn ppi_header(buf: &mut Vec<u8>) {
    buf.extend_from_slice(&[0, 0]);
    buf.extend_from_slice(&(PPI_LEN as u16).to_le_bytes());
    buf.extend_from_slice(&105u32.to_le_bytes());
    buf.extend_from_slice(&2u16.to_le_bytes()); // 802.11-Common
    buf.extend_from_slice(&20u16.to_le_bytes());
    buf.extend_from_slice(&1_000_000u64.to_le_bytes()); // TSF timer
    buf.extend_from_slice(&1u16.to_le_bytes()); // flags: FCS present
    buf.extend_from_slice(&12u16.to_le_bytes()); // rate
    buf.extend_from_slice(&2437u16.to_le_bytes()); // channel frequency
    buf.extend_from_slice(&0x00c0u16.to_le_bytes()); // channel flags: 2 GHz, OFDM
    buf.extend_from_slice(&[0, 0, 0xc4, 0xa6]); // FHSS hopset, pattern, signal, noise
}

/// The 802.11 frames without an MSDU the wireless kind writes beside its data flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WlanOther {
    Beacon,
    Ack,
    NullData,
    /// QoS data, protected: a CCMP header, an encrypted body and the MIC.
    Protected,
}

/// Appends one 802.11 frame of kind `other` on `link` (a wireless link), with its radio
/// header and, where the link keeps it, its FCS.
pub fn wlan_other_frame(
    buf: &mut Vec<u8>,
    link: Link,
    other: WlanOther,
    station: [u8; 6],
    body: &[u8],
) {
    match link {
        Link::Radiotap(_) => radiotap_header(buf),
        Link::RadiotapPadded(_) => radiotap_padded_header(buf),
        Link::Ppi(_) => ppi_header(buf),
        _ => {}
    }
    match other {
        WlanOther::Beacon => {
            buf.extend_from_slice(&[0x80, 0x00, 0, 0]);
            buf.extend_from_slice(&[0xff; 6]);
            buf.extend_from_slice(&BSSID);
            buf.extend_from_slice(&BSSID);
            buf.extend_from_slice(&[0x20, 0x00]);
            buf.extend_from_slice(&1_000_000u64.to_le_bytes()); // timestamp
            buf.extend_from_slice(&100u16.to_le_bytes()); // beacon interval
            buf.extend_from_slice(&0x0431u16.to_le_bytes()); // capabilities: ESS, privacy
            buf.extend_from_slice(&[0, 8]);
            buf.extend_from_slice(b"portnote"); // SSID
            buf.extend_from_slice(&[1, 4, 0x82, 0x84, 0x8b, 0x96]); // supported rates
            buf.extend_from_slice(&[3, 1, 6]); // DS parameter set: channel 6
        }
        WlanOther::Ack => {
            buf.extend_from_slice(&[0xd4, 0x00, 0, 0]);
            buf.extend_from_slice(&station);
        }
        WlanOther::NullData => {
            buf.extend_from_slice(&[0x48, 0x11, 0x2c, 0]); // To DS, power management
            buf.extend_from_slice(&BSSID);
            buf.extend_from_slice(&station);
            buf.extend_from_slice(&BSSID);
            buf.extend_from_slice(&[0x30, 0x00]);
        }
        WlanOther::Protected => {
            buf.extend_from_slice(&[0x88, 0x41, 0x2c, 0]); // QoS data, To DS, protected
            buf.extend_from_slice(&BSSID);
            buf.extend_from_slice(&station);
            buf.extend_from_slice(&[0x02, 0, 0, 0, 0, 0xfe]);
            buf.extend_from_slice(&[0x40, 0x00]);
            buf.extend_from_slice(&[0x00, 0x00]); // QoS control
                                                  // CCMP header: PN0, PN1, reserved, key id 0 with Ext IV, PN2-PN5.
            buf.extend_from_slice(&[0x07, 0x00, 0x00, 0x20, 0, 0, 0, 0]);
            buf.extend_from_slice(body);
            buf.extend_from_slice(&[0x5a; 8]); // MIC
        }
    }
    finish_link(buf, link);
}

/// Completes a frame of `link` once everything inside is written: the Ethernet minimum
/// padding, or the FCS of an 802.11 frame behind radiotap or PPI.
pub fn finish_link(buf: &mut Vec<u8>, link: Link) {
    if link.pads_to_ethernet_minimum() && buf.len() < 60 {
        buf.resize(60, 0);
    }
    let wlan_start = match link {
        Link::Wlan(Wlan::Amsdu) => Some(0),
        Link::Radiotap(Wlan::Amsdu) => Some(RADIOTAP_LEN),
        Link::Ppi(Wlan::Amsdu) => Some(PPI_LEN),
        _ => None,
    };
    // A data frame's A-MSDU subframe: its length counts what follows the length field. (The
    // frames without an MSDU the wireless kind writes have none; their bytes there are left.)
    if let Some(start) = wlan_start {
        let at = start + AMSDU_LENGTH_AT;
        if buf.get(start).is_some_and(|&fc0| fc0 == 0x88) && buf.get(start + 1) == Some(&0x01) {
            let len = len16(buf, at + 2);
            put16(buf, at, len);
        }
    }
    if let Some(start) = link.fcs_from() {
        let fcs = crc32(buf.get(start..).unwrap_or_default());
        buf.extend_from_slice(&fcs.to_le_bytes());
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): the 802.11 FCS.
pub fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        let mut crc = crc ^ u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
        crc
    })
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
    fn crc32_matches_check_value() {
        // The standard CRC-32 check value of "123456789".
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
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

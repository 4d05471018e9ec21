//! Link layers: from a frame's first byte to the start of its IP header.
//!
//! Takes the link type and the frame bytes, returns which network header follows and the bytes
//! it starts at ([`Network`]), or the reason there is none. Handles Ethernet with 802.1Q /
//! 802.1ad / QinQ tag stacks, LLC/SNAP, PPPoE sessions, MPLS (also over PPP) and NSH, Linux
//! cooked captures (SLL, SLL2), raw IP, BSD NULL / OpenBSD LOOP, Cisco HDLC, PPP, NFLOG, pflog
//! and IP over InfiniBand; the 802.11 link types (plain, radiotap, PPI) are in `wlan`. Never allocates, never panics: every read
//! goes through [`read_u16`] / [`read_u32`] or `get`.

use super::bytes::{read_u16, read_u32};
use super::info::{Layer, NoPortsReason, Vlans};
use super::wlan;
use crate::linktype::LinkType;

/// The network layer a link (or tunnel) header announces, with the bytes it starts at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Network<'a> {
    Ipv4(&'a [u8]),
    Ipv6(&'a [u8]),
    /// The link does not say: the IP header's version nibble decides (raw IP, MPLS payloads).
    ByVersion(&'a [u8]),
}

/// EtherTypes (IEEE 802 numbers registry) the decoder acts on.
pub(crate) mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const IPV6: u16 = 0x86dd;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88a8;
    /// Pre-standard QinQ outer tag used by older switches.
    pub const QINQ_LEGACY: u16 = 0x9100;
    pub const PPPOE_SESSION: u16 = 0x8864;
    pub const MPLS_UNICAST: u16 = 0x8847;
    pub const MPLS_MULTICAST: u16 = 0x8848;
    /// Transparent Ethernet bridging (GRE, Geneve): an Ethernet frame follows.
    pub const TRANSPARENT_ETHERNET: u16 = 0x6558;
    /// PPP inside GRE (PPTP's enhanced GRE, RFC 2637).
    pub const PPP: u16 = 0x880b;
    pub const ERSPAN_II: u16 = 0x88be;
    pub const ERSPAN_III: u16 = 0x22eb;
    /// Network Service Header (RFC 8300).
    pub const NSH: u16 = 0x894f;
}

/// Ethernet II header: destination (6), source (6), EtherType (2).
const ETHERNET_HEADER_LEN: usize = 14;
/// 802.1Q tag after the TPID: TCI (2), inner EtherType (2).
const VLAN_TAG_LEN: usize = 4;
/// At most this many stacked tags are followed; more is treated as malformed.
const MAX_VLAN_TAGS: usize = 8;
/// Largest value of an 802.3 length field; from 0x0600 on the field is an EtherType.
const MAX_8023_LENGTH: u16 = 1500;
/// LLC (DSAP, SSAP, control) + SNAP (OUI 3, EtherType 2).
const LLC_SNAP_LEN: usize = 8;
/// PPPoE session header (RFC 2516 section 4): ver/type, code, session id (2), length (2).
const PPPOE_HEADER_LEN: usize = 6;
/// Linux cooked v1: packet type, ARPHRD, address length, address (8), protocol (2).
const SLL_HEADER_LEN: usize = 16;
/// Linux cooked v2: protocol (2), reserved (2), ifindex (4), ARPHRD (2), packet type,
/// address length, address (8).
const SLL2_HEADER_LEN: usize = 20;
/// BSD NULL / LOOP: a 4-byte address family.
const LOOPBACK_HEADER_LEN: usize = 4;
/// Cisco HDLC: address, control, protocol (an EtherType).
const CHDLC_HEADER_LEN: usize = 4;
/// IP over InfiniBand (LINKTYPE_IPOIB) as Linux captures it and tcpdump and tshark read it:
/// destination and source hardware addresses (20 bytes each: QPN and GID), then RFC 4391's
/// 4-byte header, EtherType (2) and reserved (2).
const IPOIB_HEADER_LEN: usize = 44;
const IPOIB_ETHERTYPE_AT: usize = 40;
/// MPLS label stack entry: label (20 bits), traffic class (3), bottom of stack (1), TTL (8).
const MPLS_LABEL_LEN: usize = 4;
const MAX_MPLS_LABELS: usize = 16;

/// BSD address families for IPv4 and IPv6 (IPv6 differs by OS: NetBSD/OpenBSD 24,
/// FreeBSD 28, macOS 30).
const AF_INET: u32 = 2;
const AF_INET6: [u32; 3] = [24, 28, 30];

/// Link types tshark and tcpdump call "raw IP".
fn is_raw(linktype: LinkType) -> bool {
    matches!(
        linktype,
        LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14
    )
}

/// The network layer of one frame of `linktype`, its VLAN tags not kept.
#[inline]
pub(crate) fn decode_link(linktype: LinkType, data: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    decode_link_tagged(linktype, data, &mut Vlans::default())
}

/// [`decode_link`], keeping the frame's own 802.1Q / 802.1ad tags in `vlans` (tags of a frame
/// inside a tunnel or an NSH are not the frame's: they are not kept).
#[inline]
pub(crate) fn decode_link_tagged<'a>(
    linktype: LinkType,
    data: &'a [u8],
    vlans: &mut Vlans,
) -> Result<Network<'a>, NoPortsReason> {
    // Ethernet, by far the most common, is decoded in line; the rest is a call.
    if linktype == LinkType::ETHERNET {
        return ethernet_tagged(data, vlans);
    }
    decode_other_link(linktype, data, vlans)
}

/// [`decode_link_tagged`] for every link type but Ethernet.
#[inline(never)]
fn decode_other_link<'a>(
    linktype: LinkType,
    data: &'a [u8],
    vlans: &mut Vlans,
) -> Result<Network<'a>, NoPortsReason> {
    match linktype {
        LinkType::ETHERNET => ethernet_tagged(data, vlans),
        LinkType::LINUX_SLL => {
            let protocol = read_u16(data, 14).ok_or(NoPortsReason::Truncated(Layer::Link))?;
            let rest = data.get(SLL_HEADER_LEN..).unwrap_or_default();
            after_ethertype_tagged(protocol, rest, vlans)
        }
        LinkType::LINUX_SLL2 => {
            let protocol = read_u16(data, 0).ok_or(NoPortsReason::Truncated(Layer::Link))?;
            let rest = data
                .get(SLL2_HEADER_LEN..)
                .ok_or(NoPortsReason::Truncated(Layer::Link))?;
            after_ethertype_tagged(protocol, rest, vlans)
        }
        // A LINKTYPE_IPV4 packet that is IPv6 is decoded as IPv6, as tshark and tcpdump do
        // (their IPv4 dissectors hand version 6 over). The reverse is not: both call an IPv4
        // packet under LINKTYPE_IPV6 invalid (tcpdump's test LINKTYPE_IPV6_invalid.pcap), and
        // so does portnote (malformed ipv6).
        LinkType::IPV4 => Ok(Network::ByVersion(data)),
        LinkType::IPV6 => Ok(Network::Ipv6(data)),
        LinkType::IEEE802_11 => wlan::ieee80211(data, false, false),
        LinkType::IEEE802_11_RADIOTAP => wlan::radiotap(data),
        LinkType::PPI => wlan::ppi(data),
        LinkType::PFLOG => pflog(data),
        LinkType::IPOIB => {
            let protocol =
                read_u16(data, IPOIB_ETHERTYPE_AT).ok_or(NoPortsReason::Truncated(Layer::Link))?;
            let rest = data
                .get(IPOIB_HEADER_LEN..)
                .ok_or(NoPortsReason::Truncated(Layer::Link))?;
            after_ethertype_tagged(protocol, rest, vlans)
        }
        LinkType::NULL | LinkType::LOOP => loopback(linktype, data),
        LinkType::C_HDLC => {
            let protocol = read_u16(data, 2).ok_or(NoPortsReason::Truncated(Layer::Link))?;
            let rest = data.get(CHDLC_HEADER_LEN..).unwrap_or_default();
            after_ethertype_tagged(protocol, rest, vlans)
        }
        LinkType::PPP | LinkType::PPP_HDLC => match data {
            // libpcap and tshark take Cisco HDLC (address 0x0F unicast, 0x8F broadcast) under
            // the PPP link types too.
            [0x0f | 0x8f, ..] => {
                let protocol = read_u16(data, 2).ok_or(NoPortsReason::Truncated(Layer::Link))?;
                after_ethertype(protocol, data.get(CHDLC_HEADER_LEN..).unwrap_or_default())
            }
            _ => ppp_hdlc(data),
        },
        LinkType::PPP_WITH_DIR => {
            ppp_hdlc(data.get(1..).ok_or(NoPortsReason::Truncated(Layer::Link))?)
        }
        LinkType::PPP_ETHER => pppoe_session(data),
        LinkType::NFLOG => nflog(data),
        _ if is_raw(linktype) => Ok(Network::ByVersion(data)),
        _ => Err(NoPortsReason::UnsupportedLinkType(linktype)),
    }
}

/// An Ethernet II (or 802.3) frame starting at its destination address, inside a tunnel (its
/// VLAN tags are not kept).
#[inline]
pub(crate) fn ethernet(data: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    ethernet_tagged(data, &mut Vlans::default())
}

/// [`ethernet`], keeping its VLAN tags in `vlans`.
#[inline]
fn ethernet_tagged<'a>(data: &'a [u8], vlans: &mut Vlans) -> Result<Network<'a>, NoPortsReason> {
    let (header, rest) = data
        .split_first_chunk::<ETHERNET_HEADER_LEN>()
        .ok_or(NoPortsReason::Truncated(Layer::Link))?;
    // destination (6), source (6), EtherType or 802.3 length (2)
    let [.., type_hi, type_lo] = *header;
    after_ethertype_tagged(u16::from_be_bytes([type_hi, type_lo]), rest, vlans)
}

/// The payload of a header whose next-protocol field is an EtherType (Ethernet, SLL, C_HDLC,
/// GRE, Geneve): follows VLAN tags, LLC/SNAP, PPPoE and MPLS down to IP. VLAN tags are not kept.
#[inline]
pub(crate) fn after_ethertype(
    ethertype: u16,
    payload: &[u8],
) -> Result<Network<'_>, NoPortsReason> {
    after_ethertype_tagged(ethertype, payload, &mut Vlans::default())
}

/// [`after_ethertype`], keeping the VLAN tags it walks in `vlans`.
#[inline]
fn after_ethertype_tagged<'a>(
    ethertype: u16,
    payload: &'a [u8],
    vlans: &mut Vlans,
) -> Result<Network<'a>, NoPortsReason> {
    // IP straight after the header needs none of the walk below (and an untagged frame costs
    // nothing for the tags).
    match ethertype {
        ethertype::IPV4 => return Ok(Network::Ipv4(payload)),
        ethertype::IPV6 => return Ok(Network::Ipv6(payload)),
        _ => {}
    }
    after_ethertype_walk(ethertype, payload, vlans)
}

/// [`after_ethertype`] for everything but plain IPv4 and IPv6.
fn after_ethertype_walk<'a>(
    ethertype: u16,
    payload: &'a [u8],
    vlans: &mut Vlans,
) -> Result<Network<'a>, NoPortsReason> {
    after_ethertype_nested(ethertype, payload, 0, vlans)
}

/// 802.1Q TCI (IEEE 802.1Q section 9.6): priority (3 bits), drop eligible (1), VLAN id (12).
const VLAN_ID_MASK: u16 = 0x0fff;

/// [`after_ethertype_walk`] inside `nsh_depth` NSH headers (an NSH can carry Ethernet, whose
/// EtherType can be NSH again: the depth bounds that).
fn after_ethertype_nested<'a>(
    ethertype: u16,
    payload: &'a [u8],
    nsh_depth: u8,
    vlans: &mut Vlans,
) -> Result<Network<'a>, NoPortsReason> {
    let mut ethertype = ethertype;
    let mut rest = payload;
    let mut tags = 0;
    loop {
        match ethertype {
            ethertype::IPV4 => return Ok(Network::Ipv4(rest)),
            ethertype::IPV6 => return Ok(Network::Ipv6(rest)),
            ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_LEGACY => {
                tags += 1;
                if tags > MAX_VLAN_TAGS {
                    return Err(NoPortsReason::Malformed(Layer::Vlan));
                }
                ethertype = read_u16(rest, 2).ok_or(NoPortsReason::Truncated(Layer::Vlan))?;
                // The TCI is there when the next EtherType is.
                vlans.push(read_u16(rest, 0).unwrap_or_default() & VLAN_ID_MASK);
                rest = rest.get(VLAN_TAG_LEN..).unwrap_or_default();
            }
            ethertype::PPPOE_SESSION => return pppoe_session(rest),
            ethertype::MPLS_UNICAST | ethertype::MPLS_MULTICAST => return mpls(rest),
            ethertype::NSH => return nsh_nested(rest, nsh_depth),
            length if length <= MAX_8023_LENGTH => return llc_snap(rest),
            other => return Err(NoPortsReason::NotIp(other)),
        }
    }
}

/// NSH base header (RFC 8300 section 2.2): version (2 bits), O, U, TTL (6), length in 4-byte
/// words (6), unassigned (4), MD type (4), next protocol (8); the service path header (4) and
/// the context headers follow, all within the length.
const NSH_MIN_WORDS: usize = 2;
/// NSH headers nested in one packet (directly, or around an Ethernet frame) before calling
/// it malformed.
const MAX_NSH_DEPTH: u8 = 4;

/// Next Protocol values shared by NSH (RFC 8300 section 11.2.5) and VXLAN-GPE.
pub(crate) mod next_protocol {
    pub const IPV4: u8 = 1;
    pub const IPV6: u8 = 2;
    pub const ETHERNET: u8 = 3;
    pub const NSH: u8 = 4;
    pub const MPLS: u8 = 5;
}

/// A Network Service Header (EtherType 0x894F, or inside VXLAN-GPE), `depth` NSH headers
/// deep: MD type 1 and 2 alike, the context headers skipped by the length field; then what
/// its next protocol names.
fn nsh_nested(data: &[u8], depth: u8) -> Result<Network<'_>, NoPortsReason> {
    if depth >= MAX_NSH_DEPTH {
        return Err(NoPortsReason::Malformed(Layer::Link));
    }
    let (first, length_byte, next) = match data {
        [first, length_byte, _, next, ..] => (*first, *length_byte, *next),
        _ => return Err(NoPortsReason::Truncated(Layer::Link)),
    };
    let words = usize::from(length_byte & 0x3f);
    if first >> 6 != 0 || words < NSH_MIN_WORDS {
        return Err(NoPortsReason::Malformed(Layer::Link));
    }
    let payload = data
        .get(words * 4..)
        .ok_or(NoPortsReason::Truncated(Layer::Link))?;
    by_next_protocol(next, payload, depth + 1)
}

/// The payload a Next Protocol value announces (NSH, VXLAN-GPE), `depth` NSH headers deep.
pub(crate) fn by_next_protocol(
    next: u8,
    payload: &[u8],
    depth: u8,
) -> Result<Network<'_>, NoPortsReason> {
    match next {
        next_protocol::IPV4 => Ok(Network::Ipv4(payload)),
        next_protocol::IPV6 => Ok(Network::Ipv6(payload)),
        next_protocol::ETHERNET => {
            let ethertype = read_u16(payload, 12).ok_or(NoPortsReason::Truncated(Layer::Link))?;
            let rest = payload.get(ETHERNET_HEADER_LEN..).unwrap_or_default();
            // An Ethernet frame inside an NSH: its tags are not the captured frame's.
            after_ethertype_nested(ethertype, rest, depth, &mut Vlans::default())
        }
        next_protocol::NSH => nsh_nested(payload, depth),
        next_protocol::MPLS => mpls(payload),
        // Not an EtherType: the next protocol value, which says what was there.
        other => Err(NoPortsReason::NotIp(u16::from(other))),
    }
}

/// pfloghdr: length (1, the header's length before its padding to 4 bytes), address family (1),
/// action, reason, interface name (16), ruleset (16), rule numbers, ids, direction.
const PFLOG_MIN_LEN: usize = 4;

/// OpenBSD/FreeBSD pf log ([`LinkType::PFLOG`]): the packet starts at the header's length
/// rounded up to 4 bytes (BPF_WORDALIGN); the header's address family says IPv4 or IPv6.
fn pflog(data: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    let (length, family) = match data {
        [length, family, ..] => (usize::from(*length), *family),
        _ => return Err(NoPortsReason::Truncated(Layer::Link)),
    };
    if length < PFLOG_MIN_LEN {
        return Err(NoPortsReason::Malformed(Layer::Link));
    }
    let rest = data
        .get(length.next_multiple_of(4)..)
        .ok_or(NoPortsReason::Truncated(Layer::Link))?;
    if u32::from(family) == AF_INET {
        Ok(Network::Ipv4(rest))
    } else if AF_INET6.contains(&u32::from(family)) {
        Ok(Network::Ipv6(rest))
    } else {
        Err(NoPortsReason::NotIp(u16::from(family)))
    }
}

/// An 802.3 frame: only LLC/SNAP with an EtherType can carry IP; anything else (STP, CDP's
/// Cisco OUI is still SNAP, NetBIOS over LLC) is not IP and is reported as EtherType 0.
pub(crate) fn llc_snap(llc: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    let snap = llc.get(..LLC_SNAP_LEN);
    match snap {
        // DSAP 0xAA, SSAP 0xAA, control 0x03 (UI), OUI 00-00-00 (EtherType follows).
        Some([0xaa, 0xaa, 0x03, 0, 0, 0, hi, lo]) => {
            let ethertype = u16::from_be_bytes([*hi, *lo]);
            match ethertype {
                ethertype::IPV4 | ethertype::IPV6 => {
                    after_ethertype(ethertype, llc.get(LLC_SNAP_LEN..).unwrap_or_default())
                }
                other => Err(NoPortsReason::NotIp(other)),
            }
        }
        _ => Err(NoPortsReason::NotIp(0)),
    }
}

/// PPPoE session stage (RFC 2516): the PPPoE header, then a PPP protocol field.
fn pppoe_session(data: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    let ppp = data
        .get(PPPOE_HEADER_LEN..)
        .ok_or(NoPortsReason::Truncated(Layer::Link))?;
    ppp_protocol(ppp)
}

/// PPP protocol numbers for IPv4 and IPv6 (RFC 1332, RFC 5072), MPLS unicast and multicast
/// (RFC 3032 section 4.3).
const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;
const PPP_MPLS_UNICAST: u16 = 0x0281;
const PPP_MPLS_MULTICAST: u16 = 0x0283;

/// A PPP frame starting at its protocol field, which may be compressed to one byte (protocol
/// field compression, RFC 1661 section 6.5: an odd first byte means a one-byte field).
pub(crate) fn ppp_protocol(ppp: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    let first = *ppp.first().ok_or(NoPortsReason::Truncated(Layer::Link))?;
    let (protocol, header_len) = if first & 1 == 1 {
        (u16::from(first), 1)
    } else {
        (
            read_u16(ppp, 0).ok_or(NoPortsReason::Truncated(Layer::Link))?,
            2,
        )
    };
    let rest = ppp.get(header_len..).unwrap_or_default();
    match protocol {
        PPP_IPV4 => Ok(Network::Ipv4(rest)),
        PPP_IPV6 => Ok(Network::Ipv6(rest)),
        PPP_MPLS_UNICAST | PPP_MPLS_MULTICAST => mpls(rest),
        other => Err(NoPortsReason::NotIp(other)),
    }
}

/// A PPP frame in HDLC-like framing (RFC 1662): address 0xFF and control 0x03 unless address
/// and control field compression removed them.
pub(crate) fn ppp_hdlc(ppp: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    match ppp {
        [0xff, 0x03, rest @ ..] => ppp_protocol(rest),
        _ => ppp_protocol(ppp),
    }
}

/// An MPLS label stack (RFC 3032): labels up to the bottom-of-stack bit, then the payload's
/// first nibble says IPv4 or IPv6 (as tshark guesses); anything else is not IP.
pub(crate) fn mpls(data: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    let mut rest = data;
    for _ in 0..MAX_MPLS_LABELS {
        let entry = read_u32(rest, 0).ok_or(NoPortsReason::Truncated(Layer::Link))?;
        rest = rest.get(MPLS_LABEL_LEN..).unwrap_or_default();
        // Bit 8 of the entry (counting from the least significant) is bottom-of-stack.
        if entry & 0x100 != 0 {
            return match rest.first().map(|b| b >> 4) {
                Some(4) => Ok(Network::Ipv4(rest)),
                Some(6) => Ok(Network::Ipv6(rest)),
                Some(_) => Err(NoPortsReason::NotIp(ethertype::MPLS_UNICAST)),
                None => Err(NoPortsReason::Truncated(Layer::Link)),
            };
        }
    }
    Err(NoPortsReason::Malformed(Layer::Link))
}

/// NFLOG header: address family (1), version (1), resource id (2).
const NFLOG_HEADER_LEN: usize = 4;
/// Each TLV: length (2, including this header), type (2), both in the capturing host's byte
/// order; values are padded to 4 bytes.
const NFLOG_TLV_HEADER_LEN: usize = 4;
/// TLV type carrying the logged packet, starting at its network header.
const NFULA_PAYLOAD: u16 = 9;
/// Linux address families in the NFLOG header.
const LINUX_AF_INET: u8 = 2;
const LINUX_AF_INET6: u8 = 10;

/// Linux NFLOG ([`LinkType::NFLOG`]): find the payload TLV; the header's family says IPv4 or IPv6.
fn nflog(data: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    let truncated = NoPortsReason::Truncated(Layer::Link);
    let family = *data.first().ok_or(truncated)?;
    let mut rest = data.get(NFLOG_HEADER_LEN..).ok_or(truncated)?;
    while !rest.is_empty() {
        let (len_bytes, type_bytes) = match rest {
            [l0, l1, t0, t1, ..] => ([*l0, *l1], [*t0, *t1]),
            _ => return Err(truncated),
        };
        // Captures come from little-endian hosts almost always; a length that cannot be right
        // that way round is read big-endian.
        let little = usize::from(u16::from_le_bytes(len_bytes));
        let (tlv_len, tlv_type) = if (NFLOG_TLV_HEADER_LEN..=rest.len()).contains(&little) {
            (little, u16::from_le_bytes(type_bytes))
        } else {
            (
                usize::from(u16::from_be_bytes(len_bytes)),
                u16::from_be_bytes(type_bytes),
            )
        };
        if tlv_len < NFLOG_TLV_HEADER_LEN {
            return Err(NoPortsReason::Malformed(Layer::Link));
        }
        if tlv_type == NFULA_PAYLOAD {
            let end = tlv_len.min(rest.len());
            let packet = rest.get(NFLOG_TLV_HEADER_LEN..end).unwrap_or_default();
            return match family {
                LINUX_AF_INET => Ok(Network::Ipv4(packet)),
                LINUX_AF_INET6 => Ok(Network::Ipv6(packet)),
                _ => Ok(Network::ByVersion(packet)),
            };
        }
        let padded = tlv_len.div_ceil(4).saturating_mul(4);
        rest = rest.get(padded..).unwrap_or_default();
    }
    // No payload record: the log entry carries metadata only.
    Err(truncated)
}

/// BSD NULL (family in the writer's byte order) and LOOP (network byte order).
fn loopback(linktype: LinkType, data: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    // Some systems write PPP (address 0xFF, control 0x03) or Cisco HDLC (address 0x0F unicast
    // or 0x8F broadcast, control 0) frames under the NULL link type; tshark recognises both.
    if linktype == LinkType::NULL {
        match data {
            [0xff, 0x03, ..] => return ppp_hdlc(data),
            [0x0f | 0x8f, 0x00, ..] => {
                let protocol = read_u16(data, 2).ok_or(NoPortsReason::Truncated(Layer::Link))?;
                return after_ethertype(protocol, data.get(CHDLC_HEADER_LEN..).unwrap_or_default());
            }
            _ => {}
        }
    }
    let big_endian = read_u32(data, 0).ok_or(NoPortsReason::Truncated(Layer::Link))?;
    let family = if linktype == LinkType::NULL && big_endian > 0xffff {
        // Families are small numbers: a value above 0xffff was written little-endian.
        big_endian.swap_bytes()
    } else {
        big_endian
    };
    let rest = data.get(LOOPBACK_HEADER_LEN..).unwrap_or_default();
    if family == AF_INET {
        Ok(Network::Ipv4(rest))
    } else if AF_INET6.contains(&family) {
        Ok(Network::Ipv6(rest))
    } else {
        // Not an EtherType, but the family is what tells the reader what was there.
        Err(NoPortsReason::NotIp(
            u16::try_from(family).unwrap_or(u16::MAX),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ethernet II: dst 00:11:22:33:44:55, src 66:77:88:99:aa:bb.
    const MACS: [u8; 12] = [
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    ];

    fn frame(after_macs: &[u8]) -> Vec<u8> {
        let mut v = MACS.to_vec();
        v.extend_from_slice(after_macs);
        v
    }

    #[test]
    fn ethernet_ipv4() {
        let f = frame(&[0x08, 0x00, 0x45]);
        assert_eq!(
            decode_link(LinkType::ETHERNET, &f),
            Ok(Network::Ipv4(&[0x45]))
        );
    }

    #[test]
    fn qinq_stack_of_three_tags() {
        let f = frame(&[
            0x88, 0xa8, // 802.1ad outer tag
            0x00, 0x64, 0x91, 0x00, // TCI vlan 100, next TPID 0x9100
            0x00, 0xc8, 0x81, 0x00, // TCI vlan 200, next TPID 0x8100
            0x01, 0x2c, 0x86, 0xdd, // TCI vlan 300, EtherType IPv6
            0x60,
        ]);
        assert_eq!(
            decode_link(LinkType::ETHERNET, &f),
            Ok(Network::Ipv6(&[0x60]))
        );
    }

    #[test]
    fn arp_is_not_ip() {
        let f = frame(&[0x08, 0x06, 0, 1]);
        assert_eq!(
            decode_link(LinkType::ETHERNET, &f),
            Err(NoPortsReason::NotIp(0x0806))
        );
    }

    #[test]
    fn llc_snap_carries_ipv4() {
        let f = frame(&[
            0x00, 0x30, // 802.3 length 48
            0xaa, 0xaa, 0x03, // LLC: SNAP SAPs, UI
            0x00, 0x00, 0x00, 0x08, 0x00, // SNAP: OUI 0, EtherType IPv4
            0x45,
        ]);
        assert_eq!(
            decode_link(LinkType::ETHERNET, &f),
            Ok(Network::Ipv4(&[0x45]))
        );
    }

    #[test]
    fn pppoe_session_ipv6() {
        let f = frame(&[
            0x88, 0x64, // PPPoE session
            0x11, 0x00, 0x00, 0x01, 0x00, 0x10, // ver/type 1/1, code 0, session 1, length 16
            0x00, 0x57, // PPP IPv6
            0x60,
        ]);
        assert_eq!(
            decode_link(LinkType::ETHERNET, &f),
            Ok(Network::Ipv6(&[0x60]))
        );
    }

    #[test]
    fn mpls_bottom_of_stack_then_ipv4() {
        let f = frame(&[
            0x88, 0x47, // MPLS unicast
            0x00, 0x01, 0x00, 0x40, // label 16, not bottom
            0x00, 0x02, 0x01, 0x40, // label 32, bottom of stack
            0x45,
        ]);
        assert_eq!(
            decode_link(LinkType::ETHERNET, &f),
            Ok(Network::Ipv4(&[0x45]))
        );
    }

    #[test]
    fn sll_and_sll2() {
        let sll = [
            0x00, 0x00, // packet type: to us
            0x00, 0x01, // ARPHRD_ETHER
            0x00, 0x06, // address length
            1, 2, 3, 4, 5, 6, 0, 0, // address, padded to 8
            0x08, 0x00, // protocol IPv4
            0x45,
        ];
        assert_eq!(
            decode_link(LinkType::LINUX_SLL, &sll),
            Ok(Network::Ipv4(&[0x45]))
        );
        let sll2 = [
            0x86, 0xdd, // protocol IPv6
            0x00, 0x00, // reserved
            0x00, 0x00, 0x00, 0x02, // interface index
            0x00, 0x01, // ARPHRD_ETHER
            0x04, // packet type: outgoing
            0x06, // address length
            1, 2, 3, 4, 5, 6, 0, 0, // address
            0x60,
        ];
        assert_eq!(
            decode_link(LinkType::LINUX_SLL2, &sll2),
            Ok(Network::Ipv6(&[0x60]))
        );
    }

    #[test]
    fn null_family_in_either_byte_order_and_loop_big_endian() {
        assert_eq!(
            decode_link(LinkType::NULL, &[2, 0, 0, 0, 0x45]),
            Ok(Network::Ipv4(&[0x45]))
        );
        assert_eq!(
            decode_link(LinkType::NULL, &[0, 0, 0, 30, 0x60]),
            Ok(Network::Ipv6(&[0x60]))
        );
        assert_eq!(
            decode_link(LinkType::NULL, &[24, 0, 0, 0, 0x60]),
            Ok(Network::Ipv6(&[0x60]))
        );
        assert_eq!(
            decode_link(LinkType::LOOP, &[0, 0, 0, 28, 0x60]),
            Ok(Network::Ipv6(&[0x60]))
        );
        assert_eq!(
            decode_link(LinkType::NULL, &[7, 0, 0, 0]),
            Err(NoPortsReason::NotIp(7))
        );
        // Cisco HDLC header (unicast, control 0, EtherType IPv4) under the NULL link type.
        assert_eq!(
            decode_link(LinkType::NULL, &[0x0f, 0x00, 0x08, 0x00, 0x45]),
            Ok(Network::Ipv4(&[0x45]))
        );
    }

    #[test]
    fn chdlc_and_raw_and_unsupported() {
        assert_eq!(
            decode_link(LinkType::C_HDLC, &[0x0f, 0x00, 0x08, 0x00, 0x45]),
            Ok(Network::Ipv4(&[0x45]))
        );
        assert_eq!(
            decode_link(LinkType::RAW_14, &[0x60]),
            Ok(Network::ByVersion(&[0x60]))
        );
        assert_eq!(
            decode_link(LinkType(147), &[0x60]),
            Err(NoPortsReason::UnsupportedLinkType(LinkType(147)))
        );
    }

    #[test]
    fn ppp_link_types() {
        let hdlc = [0xff, 0x03, 0x00, 0x21, 0x45]; // address, control, protocol IPv4
        assert_eq!(decode_link(LinkType(9), &hdlc), Ok(Network::Ipv4(&[0x45])));
        let compressed = [0x57, 0x60]; // ACFC and PFC: one-byte protocol IPv6
        assert_eq!(
            decode_link(LinkType(9), &compressed),
            Ok(Network::Ipv6(&[0x60]))
        );
        let with_dir = [0x01, 0x00, 0x21, 0x45]; // sent, protocol IPv4
        assert_eq!(
            decode_link(LinkType(204), &with_dir),
            Ok(Network::Ipv4(&[0x45]))
        );
    }

    #[test]
    fn nflog_payload_tlv() {
        let nflog = [
            0x02, 0x00, 0x00, 0x00, // AF_INET, version 0, resource id 0
            0x08, 0x00, 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, // TLV len 8 type 1 (hw protocol)
            0x05, 0x00, 0x09, 0x00, 0x45, 0x00, 0x00,
            0x00, // TLV len 5 type 9 (payload) + pad
        ];
        assert_eq!(
            decode_link(LinkType(239), &nflog),
            Ok(Network::Ipv4(&[0x45]))
        );
    }

    #[test]
    fn truncated_at_every_length() {
        let f = frame(&[0x81, 0x00, 0x00, 0x05, 0x08, 0x00, 0x45]);
        for len in 0..f.len() {
            let got = decode_link(LinkType::ETHERNET, f.get(..len).unwrap_or_default());
            match got {
                Err(NoPortsReason::Truncated(_)) => {}
                Ok(Network::Ipv4(rest)) => assert!(len >= 18 && rest.len() == len - 18),
                other => panic!("prefix {len}: {other:?}"),
            }
        }
        assert_eq!(
            decode_link(LinkType::ETHERNET, &f),
            Ok(Network::Ipv4(&[0x45]))
        );
    }

    #[test]
    fn pflog_header_length_padded_to_four_and_family() {
        let mut f = vec![61, 2]; // length 61, AF_INET
        f.resize(64, 0);
        f.push(0x45);
        assert_eq!(decode_link(LinkType::PFLOG, &f), Ok(Network::Ipv4(&[0x45])));
        f[1] = 28; // FreeBSD's AF_INET6
        f[64] = 0x60;
        assert_eq!(decode_link(LinkType::PFLOG, &f), Ok(Network::Ipv6(&[0x60])));
        f[1] = 7;
        assert_eq!(
            decode_link(LinkType::PFLOG, &f),
            Err(NoPortsReason::NotIp(7))
        );
        assert_eq!(
            decode_link(LinkType::PFLOG, &[2, 2, 0, 0]),
            Err(NoPortsReason::Malformed(Layer::Link))
        );
        assert_eq!(
            decode_link(LinkType::PFLOG, &f[..40]),
            Err(NoPortsReason::Truncated(Layer::Link))
        );
    }

    #[test]
    fn ipoib_ethertype_after_the_hardware_addresses() {
        let mut f = vec![0x11; 40];
        f.extend_from_slice(&[0x86, 0xdd, 0, 0, 0x60]);
        assert_eq!(decode_link(LinkType::IPOIB, &f), Ok(Network::Ipv6(&[0x60])));
        f[40..42].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(
            decode_link(LinkType::IPOIB, &f),
            Err(NoPortsReason::NotIp(0x0806))
        );
        assert_eq!(
            decode_link(LinkType::IPOIB, &f[..41]),
            Err(NoPortsReason::Truncated(Layer::Link))
        );
    }

    #[test]
    fn ppp_carrying_mpls_and_cisco_hdlc_under_ppp_link_types() {
        // Address, control, PPP protocol MPLS unicast, label 1000 bottom of stack, IPv4.
        let f = [0xff, 0x03, 0x02, 0x81, 0x00, 0x3e, 0x81, 0x40, 0x45];
        assert_eq!(
            decode_link(LinkType::PPP_HDLC, &f),
            Ok(Network::Ipv4(&[0x45]))
        );
        // Cisco HDLC under LINKTYPE_PPP_HDLC.
        let f = [0x0f, 0x00, 0x86, 0xdd, 0x60];
        assert_eq!(
            decode_link(LinkType::PPP_HDLC, &f),
            Ok(Network::Ipv6(&[0x60]))
        );
    }

    #[test]
    fn nsh_md_types_skipped_by_length_then_next_protocol() {
        // MD type 1: length 6 words (base, service path, 4 context words), next IPv4.
        let mut md1 = frame(&[0x89, 0x4f, 0x0f, 0xc6, 0x01, 0x01, 0, 0, 42, 255]);
        md1.extend_from_slice(&[0x11; 16]);
        md1.push(0x45);
        assert_eq!(
            decode_link(LinkType::ETHERNET, &md1),
            Ok(Network::Ipv4(&[0x45]))
        );
        // MD type 2 with one 8-byte TLV (length 4 words), next protocol Ethernet, whose
        // EtherType is NSH again (MD type 2, no metadata), next IPv6.
        let mut md2 = frame(&[0x89, 0x4f, 0x0f, 0xc4, 0x02, 0x03, 0, 0, 42, 255]);
        md2.extend_from_slice(&[1, 2, 1, 4, 0xca, 0xfe, 0xf0, 0x0d]);
        md2.extend_from_slice(&frame(&[
            0x89, 0x4f, 0x0f, 0xc2, 0x02, 0x02, 0, 0, 42, 254, 0x60,
        ]));
        assert_eq!(
            decode_link(LinkType::ETHERNET, &md2),
            Ok(Network::Ipv6(&[0x60]))
        );
        // A length below the base and service path headers is malformed; an unknown next
        // protocol is not IP.
        let short = frame(&[0x89, 0x4f, 0x0f, 0xc1, 0x02, 0x01, 0, 0, 0, 0]);
        assert_eq!(
            decode_link(LinkType::ETHERNET, &short),
            Err(NoPortsReason::Malformed(Layer::Link))
        );
        let unknown = frame(&[0x89, 0x4f, 0x0f, 0xc2, 0x02, 0x09, 0, 0, 0, 0, 0]);
        assert_eq!(
            decode_link(LinkType::ETHERNET, &unknown),
            Err(NoPortsReason::NotIp(9))
        );
    }

    #[test]
    fn nsh_nesting_is_bounded() {
        // Ethernet, NSH carrying Ethernet carrying NSH ... deeper than the limit.
        let mut f = Vec::new();
        for _ in 0..=MAX_NSH_DEPTH {
            f.extend_from_slice(&MACS);
            f.extend_from_slice(&[0x89, 0x4f, 0x0f, 0xc2, 0x02, 0x03, 0, 0, 42, 255]);
        }
        f.extend_from_slice(&[0x45; 20]);
        assert_eq!(
            decode_link(LinkType::ETHERNET, &f),
            Err(NoPortsReason::Malformed(Layer::Link))
        );
    }

    #[test]
    fn raw_ipv4_link_type_goes_by_the_version_nibble_ipv6_does_not() {
        assert_eq!(
            decode_link(LinkType::IPV4, &[0x60]),
            Ok(Network::ByVersion(&[0x60]))
        );
        assert_eq!(
            decode_link(LinkType::IPV6, &[0x45]),
            Ok(Network::Ipv6(&[0x45]))
        );
    }

    /// `live --list` and the reasons name link types by [`LinkType::name`]: every link type the
    /// decoder takes must have one (NFLOG showed as a bare 239).
    #[test]
    fn every_decoded_link_type_has_a_name() {
        for value in 0..=300u32 {
            let linktype = LinkType(value);
            let decoded = decode_link(linktype, &[0; 64])
                != Err(NoPortsReason::UnsupportedLinkType(linktype));
            assert_eq!(decoded, linktype.name().is_some(), "link type {value}");
        }
        assert_eq!(LinkType::NFLOG.to_string(), "NFLOG(239)");
    }
}

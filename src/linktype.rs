//! Link-layer header types (tcpdump.org LINKTYPE_* values) as a newtype whose unknown values stay
//! representable: reading a link type from a file never fails, decoding an unknown one yields a
//! per-packet reason instead.

use serde::Serialize;
use std::fmt;

/// A LINKTYPE_* value as stored in a pcap file header or a pcapng Interface Description Block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: 4-byte address family in host byte order of the writer.
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP as some BSDs number it (DLT_RAW on those systems).
    pub const RAW_12: LinkType = LinkType(12);
    /// PPP in HDLC-like framing (RFC 1662), or bare PPP.
    pub const PPP: LinkType = LinkType(9);
    pub const RAW_14: LinkType = LinkType(14);
    /// PPP in HDLC-like framing (RFC 1662); libpcap's DLT_PPP_SERIAL.
    pub const PPP_HDLC: LinkType = LinkType(50);
    /// PPPoE without the Ethernet header: the PPPoE session header, then PPP.
    pub const PPP_ETHER: LinkType = LinkType(51);
    pub const RAW: LinkType = LinkType(101);
    pub const C_HDLC: LinkType = LinkType(104);
    /// IEEE 802.11 frames without a radio header.
    pub const IEEE802_11: LinkType = LinkType(105);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// OpenBSD pflog: a `pfloghdr` (its length in the first byte, padded to 4), then IP.
    pub const PFLOG: LinkType = LinkType(117);
    /// A radiotap header, then an IEEE 802.11 frame.
    pub const IEEE802_11_RADIOTAP: LinkType = LinkType(127);
    /// Per-Packet Information header (CACE), then a frame of the link type it names.
    pub const PPI: LinkType = LinkType(192);
    /// One direction byte (0 received, 1 sent), then a PPP frame.
    pub const PPP_WITH_DIR: LinkType = LinkType(204);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    /// Linux netfilter log: 4-byte header, then type-length-value records.
    pub const NFLOG: LinkType = LinkType(239);
    /// IP over InfiniBand: two 20-byte hardware addresses, EtherType (2), reserved (2), then
    /// the packet (the layout tcpdump and tshark read).
    pub const IPOIB: LinkType = LinkType(242);
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// The short name tcpdump prints for this link type (libpcap's DLT_ name), for every link
    /// type portnote decodes; `None` for the others.
    pub const fn name(self) -> Option<&'static str> {
        match self {
            LinkType::NULL => Some("NULL"),
            LinkType::ETHERNET => Some("EN10MB"),
            LinkType::PPP => Some("PPP"),
            LinkType::RAW_12 | LinkType::RAW_14 | LinkType::RAW => Some("RAW"),
            LinkType::PPP_HDLC => Some("PPP_SERIAL"),
            LinkType::PPP_ETHER => Some("PPP_ETHER"),
            LinkType::C_HDLC => Some("C_HDLC"),
            LinkType::IEEE802_11 => Some("IEEE802_11"),
            LinkType::LOOP => Some("LOOP"),
            LinkType::PFLOG => Some("PFLOG"),
            LinkType::IEEE802_11_RADIOTAP => Some("IEEE802_11_RADIO"),
            LinkType::PPI => Some("PPI"),
            LinkType::IPOIB => Some("IPOIB"),
            LinkType::LINUX_SLL => Some("LINUX_SLL"),
            LinkType::PPP_WITH_DIR => Some("PPP_WITH_DIR"),
            LinkType::IPV4 => Some("IPV4"),
            LinkType::IPV6 => Some("IPV6"),
            LinkType::NFLOG => Some("NFLOG"),
            LinkType::LINUX_SLL2 => Some("LINUX_SLL2"),
            _ => None,
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}({})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

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
    pub const RAW_14: LinkType = LinkType(14);
    pub const RAW: LinkType = LinkType(101);
    pub const C_HDLC: LinkType = LinkType(104);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// The short name tcpdump prints for this link type, if it is one portnote knows.
    pub const fn name(self) -> Option<&'static str> {
        match self.0 {
            0 => Some("NULL"),
            1 => Some("EN10MB"),
            12 | 14 | 101 => Some("RAW"),
            104 => Some("C_HDLC"),
            108 => Some("LOOP"),
            113 => Some("LINUX_SLL"),
            228 => Some("IPV4"),
            229 => Some("IPV6"),
            276 => Some("LINUX_SLL2"),
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

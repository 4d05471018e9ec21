//! What decoding says of a frame, and the small types it is made of: shared by every layer of
//! [`crate::decode`] and by its callers.

use crate::linktype::LinkType;
use crate::transport::Transport;
use serde::Serialize;
use std::fmt;
use std::net::IpAddr;

/// The transport header that carries the packet's ports, with its ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Ports {
    pub transport: Transport,
    pub src_port: u16,
    pub dst_port: u16,
}

/// Evidence, from a connection-opening message, of which side is the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Handshake {
    /// TCP SYN without ACK, SCTP INIT, DCCP-Request: the destination port is the service.
    Request,
    /// TCP SYN+ACK, SCTP INIT ACK, DCCP-Response: the source port is the service.
    Response,
}

/// What decoding one frame found. Plain data, `Copy`, no heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketInfo {
    /// Version (4 or 6) of the IP header that carries the transport (or the innermost IP header
    /// when there is no transport).
    pub ip_version: Option<u8>,
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    /// The innermost transport and its ports (not counting ICMP quotations).
    pub ports: Option<Ports>,
    /// The ports were taken from an earlier first fragment of the same datagram.
    pub inherited: bool,
    /// TCP flags byte (FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10 URG=0x20 ECE=0x40 CWR=0x80).
    pub tcp_flags: Option<u8>,
    pub handshake: Option<Handshake>,
    /// When tunnelled: the outermost layer, kept beside the inner ports.
    pub outer: Option<Outer>,
    /// The 802.1Q / 802.1ad tags of the captured frame's own link layer.
    pub vlans: Vlans,
    /// The transport quoted inside an ICMP/ICMPv6 error: never the packet's own ports.
    pub icmp_quote: Option<IcmpQuote>,
    /// IP fragment information, used to let later fragments inherit the ports of the first.
    pub fragment: Option<Fragment>,
    /// Why the packet has no ports (`None` exactly when `ports` is `Some`).
    pub reason: Option<NoPortsReason>,
}

/// The encapsulation around the inner packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Outer {
    pub tunnel: TunnelKind,
    /// The outer transport and ports, when the tunnel rides on one (VXLAN, Geneve, GTP-U, Teredo).
    pub ports: Option<Ports>,
    /// Source and destination of the outermost IP header (the one the tunnel rides on). Not
    /// in `annotate`'s output, which names the tunnel and its ports only.
    #[serde(skip)]
    pub src: Option<IpAddr>,
    #[serde(skip)]
    pub dst: Option<IpAddr>,
}

/// The VLAN ids of a frame's 802.1Q (TPID 0x8100), 802.1ad (0x88a8) or legacy QinQ (0x9100)
/// tags, as Zeek's `conn.log` names them: `vlan` the first (outer) tag, `inner_vlan` the second;
/// tags past the second are walked but not kept. An id is the TCI's low 12 bits (0 for a
/// priority-tagged frame, kept as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Vlans {
    pub vlan: Option<u16>,
    pub inner_vlan: Option<u16>,
}

impl Vlans {
    /// The next tag of the frame, outermost first.
    #[inline]
    pub(crate) fn push(&mut self, id: u16) {
        if self.vlan.is_none() {
            self.vlan = Some(id);
        } else if self.inner_vlan.is_none() {
            self.inner_vlan = Some(id);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelKind {
    Gre,
    Erspan,
    IpInIp,
    Vxlan,
    /// VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe) on UDP 4790: IPv4, IPv6, Ethernet, NSH or MPLS.
    VxlanGpe,
    Geneve,
    GtpU,
    Teredo,
    /// L2TPv2 data messages (RFC 2661) on UDP 1701, carrying PPP.
    L2tp,
    /// MPLS label stacks in UDP (RFC 7510) on port 6635.
    MplsUdp,
    /// PIM Register messages (RFC 7761 section 4.9) encapsulating a multicast packet.
    PimRegister,
}

impl TunnelKind {
    /// The name reports use (JSON `outer.tunnel`, the text format's `via NAME`).
    pub const fn as_str(self) -> &'static str {
        match self {
            TunnelKind::Gre => "gre",
            TunnelKind::Erspan => "erspan",
            TunnelKind::IpInIp => "ipip",
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::VxlanGpe => "vxlan-gpe",
            TunnelKind::Geneve => "geneve",
            TunnelKind::GtpU => "gtp-u",
            TunnelKind::Teredo => "teredo",
            TunnelKind::L2tp => "l2tp",
            TunnelKind::MplsUdp => "mpls-udp",
            TunnelKind::PimRegister => "pim-register",
        }
    }
}

impl Serialize for TunnelKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A transport header quoted in an ICMP or ICMPv6 error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct IcmpQuote {
    pub ip_version: u8,
    pub ports: Ports,
    /// The error is "port unreachable" (ICMP type 3 code 3, ICMPv6 type 1 code 4): the quoted
    /// flow's server refused it.
    #[serde(skip)]
    pub port_unreachable: bool,
}

/// Identity of an IP datagram whose fragments should share ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 protocol; 0 for IPv6 (the key there is src, dst, id).
    pub protocol: u8,
    pub id: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fragment {
    pub key: FragmentKey,
    /// Fragment offset in bytes.
    pub offset: u32,
    pub more_fragments: bool,
}

/// The protocol layer a decoding problem was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Link,
    /// An IEEE 802.11 MAC header (under radiotap, PPI or alone).
    Wlan,
    Vlan,
    Ipv4,
    Ipv6,
    Ipv6Ext,
    Gre,
    Tunnel,
    Icmp,
    Tcp,
    Udp,
    Sctp,
    Dccp,
}

impl Layer {
    pub const fn as_str(self) -> &'static str {
        match self {
            Layer::Link => "link",
            Layer::Wlan => "802.11",
            Layer::Vlan => "vlan",
            Layer::Ipv4 => "ipv4",
            Layer::Ipv6 => "ipv6",
            Layer::Ipv6Ext => "ipv6 extension header",
            Layer::Gre => "gre",
            Layer::Tunnel => "tunnel",
            Layer::Icmp => "icmp",
            Layer::Tcp => "tcp",
            Layer::Udp => "udp",
            Layer::Sctp => "sctp",
            Layer::Dccp => "dccp",
        }
    }
}

/// A per-packet decoding problem: data, counted by reason, never fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DecodeError {
    pub layer: Layer,
    pub kind: DecodeErrorKind,
    /// Bytes the layer needed (for `Truncated`; for `Malformed`, the minimum the field allows).
    pub needed: usize,
    /// Bytes that were present (for `Malformed`, the offending field value).
    pub available: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecodeErrorKind {
    /// The captured bytes end before the layer does.
    Truncated,
    /// A field contradicts the protocol (length below its minimum, bad version ...).
    Malformed,
}

impl DecodeError {
    pub const fn truncated(layer: Layer, needed: usize, available: usize) -> Self {
        DecodeError {
            layer,
            kind: DecodeErrorKind::Truncated,
            needed,
            available,
        }
    }

    pub const fn malformed(layer: Layer, needed: usize, available: usize) -> Self {
        DecodeError {
            layer,
            kind: DecodeErrorKind::Malformed,
            needed,
            available,
        }
    }

    /// The coarse reason this error is counted under.
    pub const fn reason(&self) -> NoPortsReason {
        match self.kind {
            DecodeErrorKind::Truncated => NoPortsReason::Truncated(self.layer),
            DecodeErrorKind::Malformed => NoPortsReason::Malformed(self.layer),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            DecodeErrorKind::Truncated => write!(
                f,
                "{} truncated: needed {} bytes, {} present",
                self.layer.as_str(),
                self.needed,
                self.available
            ),
            DecodeErrorKind::Malformed => write!(
                f,
                "malformed {}: field value {} below minimum {}",
                self.layer.as_str(),
                self.available,
                self.needed
            ),
        }
    }
}

/// Why a packet has no ports. Counted per value in reports, so values are coarse enough to
/// aggregate and precise enough to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NoPortsReason {
    /// The link type is not one portnote decodes.
    UnsupportedLinkType(LinkType),
    /// The link layer carries something other than IP (ARP, LLDP, ...): the EtherType; for
    /// PPP the PPP protocol number, for BSD loopback the address family, for 802.3 frames
    /// without a SNAP EtherType 0.
    NotIp(u16),
    /// ICMP or ICMPv6 (including errors, whose quotation is in `icmp_quote`).
    Icmp,
    /// An IP protocol without ports (OSPF, IGMP, ESP, ...): the protocol number.
    NoTransport(u8),
    /// A non-first fragment whose first fragment was not seen.
    FragmentWithoutPorts,
    /// The captured bytes end before the layer's ports.
    Truncated(Layer),
    /// The layer's header is invalid (bad version, length field below its minimum, ...).
    Malformed(Layer),
    /// An IEEE 802.11 frame that carries no readable MSDU: which kind.
    Wlan(WlanFrame),
}

/// IEEE 802.11 frames without ports, by kind (tshark shows no ports for any of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WlanFrame {
    /// Management frames: beacons, probes, (re)association, authentication, action ...
    Management,
    /// Control frames: ACK, RTS, CTS, block ack ...
    Control,
    /// Extension frames (type 3, DMG beacons).
    Extension,
    /// Data subtypes without a body: Null, QoS Null, CF-Ack and CF-Poll only.
    NoData,
    /// Protected data frames (WEP, TKIP, CCMP, GCMP): the body is encrypted.
    Encrypted,
    /// A fragment of a fragmented MSDU: portnote does not reassemble 802.11 fragments.
    Fragment,
}

impl WlanFrame {
    /// The reason's text in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            WlanFrame::Management => "802.11 management",
            WlanFrame::Control => "802.11 control",
            WlanFrame::Extension => "802.11 extension",
            WlanFrame::NoData => "802.11 null data",
            WlanFrame::Encrypted => "encrypted 802.11",
            WlanFrame::Fragment => "802.11 fragment",
        }
    }
}

impl NoPortsReason {
    /// The reason lies in a transport header (TCP, UDP, SCTP, DCCP): the transport was found,
    /// its ports could not be read.
    pub const fn is_transport_layer(&self) -> bool {
        matches!(
            self,
            NoPortsReason::Truncated(Layer::Tcp | Layer::Udp | Layer::Sctp | Layer::Dccp)
                | NoPortsReason::Malformed(Layer::Tcp | Layer::Udp | Layer::Sctp | Layer::Dccp)
        )
    }
}

impl fmt::Display for NoPortsReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoPortsReason::UnsupportedLinkType(lt) => write!(f, "unsupported link type {lt}"),
            NoPortsReason::NotIp(ethertype) => write!(f, "not ip (ethertype 0x{ethertype:04x})"),
            NoPortsReason::Icmp => f.write_str("icmp"),
            NoPortsReason::NoTransport(proto) => write!(f, "no transport (ip protocol {proto})"),
            NoPortsReason::FragmentWithoutPorts => f.write_str("fragment without ports"),
            NoPortsReason::Truncated(layer) => write!(f, "truncated in {}", layer.as_str()),
            NoPortsReason::Malformed(layer) => write!(f, "malformed {}", layer.as_str()),
            NoPortsReason::Wlan(frame) => f.write_str(frame.as_str()),
        }
    }
}

impl Serialize for NoPortsReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Decoding choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeOptions {
    /// Keep the outermost transport instead of looking inside tunnels.
    pub no_decap: bool,
}

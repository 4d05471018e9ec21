//! Frame decoding: bytes of one captured frame in, a [`PacketInfo`] out.
//!
//! Pure: no I/O, no allocation per packet, never panics on any input. Every frame that yields no
//! ports says why in [`PacketInfo::reason`], so nothing vanishes from the counts.
//!
//! Layers: link (Ethernet + VLAN/QinQ, Linux SLL/SLL2, raw IP, BSD NULL/LOOP), IPv4 (options,
//! fragments), IPv6 (extension headers, fragments), tunnels (GRE, IP-in-IP, VXLAN, Geneve,
//! GTP-U, Teredo), ICMP/ICMPv6 error quotations, then TCP and UDP (through etherparse) and SCTP
//! and DCCP (our own views in [`sctp`] and [`dccp`]).

pub mod dccp;
mod frag;
mod icmp;
mod ip;
mod link;
pub mod sctp;
mod tunnel;

pub use frag::FragmentTracker;

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelKind {
    Gre,
    Erspan,
    IpInIp,
    Vxlan,
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

/// A transport header quoted in an ICMP or ICMPv6 error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct IcmpQuote {
    pub ip_version: u8,
    pub ports: Ports,
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
    /// The link layer carries something other than IP (ARP, LLDP, ...): the EtherType.
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

/// Tunnels nested deeper than this are not opened: the ports found so far stand.
const MAX_TUNNEL_DEPTH: u8 = 4;

/// Decode one frame. Never panics; `reason` is set whenever `ports` is not.
pub fn decode_frame(linktype: LinkType, data: &[u8], options: &DecodeOptions) -> PacketInfo {
    let mut info = PacketInfo::default();
    let result = link::decode_link(linktype, data)
        .and_then(|network| decode_network(network, &mut info, options, 0));
    match result {
        Ok(ports) => {
            info.ports = Some(ports);
            info.reason = None;
        }
        Err(reason) => {
            info.ports = None;
            info.reason = Some(reason);
        }
    }
    info
}

/// Decode an IP header and what it carries, recording addresses and fragment state in `info`.
fn decode_network(
    network: link::Network<'_>,
    info: &mut PacketInfo,
    options: &DecodeOptions,
    depth: u8,
) -> Result<Ports, NoPortsReason> {
    let header = ip::decode_ip(network)?;
    info.ip_version = Some(header.version);
    info.src = Some(header.src);
    info.dst = Some(header.dst);
    if header.fragment.is_some() {
        info.fragment = header.fragment;
    }
    let upper = header.upper?;
    if upper.payload.is_empty() && !upper.cut && carries_ports(upper.protocol) {
        // The IP header announces a transport but leaves it no bytes at all: tshark does not
        // even start the transport layer. The IP length field is what is wrong.
        let layer = if header.version == 4 {
            Layer::Ipv4
        } else {
            Layer::Ipv6
        };
        return Err(NoPortsReason::Malformed(layer));
    }
    match upper.protocol {
        ip::protocol::ICMP | ip::protocol::ICMPV6 => {
            info.icmp_quote = icmp::quote(upper.protocol, upper.payload);
            Err(NoPortsReason::Icmp)
        }
        ip::protocol::IPV4 | ip::protocol::IPV6 if !options.no_decap => {
            let inner = if upper.protocol == ip::protocol::IPV4 {
                link::Network::Ipv4(upper.payload)
            } else {
                link::Network::Ipv6(upper.payload)
            };
            enter_tunnel(TunnelKind::IpInIp, None, Ok(inner), info, options, depth)
        }
        ip::protocol::PIM if !options.no_decap => match tunnel::pim_register(upper.payload) {
            Some(inner) => enter_tunnel(TunnelKind::PimRegister, None, inner, info, options, depth),
            None => Err(NoPortsReason::NoTransport(ip::protocol::PIM)),
        },
        ip::protocol::GRE if !options.no_decap => {
            let (kind, inner) = tunnel::gre(upper.payload);
            enter_tunnel(kind, None, inner, info, options, depth)
        }
        ip::protocol::TCP => {
            let ports = tcp_ports(upper.payload)?;
            info.tcp_flags = upper.payload.get(TCP_FLAGS_OFFSET).copied();
            info.handshake = info.tcp_flags.and_then(tcp_handshake);
            Ok(ports)
        }
        ip::protocol::SCTP => {
            let ports = transport_ports(upper.protocol, upper.payload)
                .unwrap_or(Err(NoPortsReason::Truncated(Layer::Sctp)))?;
            info.handshake = sctp::handshake(upper.payload);
            Ok(ports)
        }
        ip::protocol::DCCP => {
            let ports = transport_ports(upper.protocol, upper.payload)
                .unwrap_or(Err(NoPortsReason::Truncated(Layer::Dccp)))?;
            info.handshake = dccp::handshake(upper.payload);
            Ok(ports)
        }
        ip::protocol::UDP | ip::protocol::UDP_LITE => {
            let ports = transport_ports(upper.protocol, upper.payload)
                .unwrap_or(Err(NoPortsReason::Truncated(Layer::Udp)))?;
            if options.no_decap {
                return Ok(ports);
            }
            let Some(kind) = tunnel::udp_tunnel_kind(ports.src_port, ports.dst_port) else {
                return Ok(ports);
            };
            match tunnel::udp_tunnel(kind, udp_payload(upper.protocol, upper.payload)) {
                Some(inner) => enter_tunnel(kind, Some(ports), inner, info, options, depth),
                None => Ok(ports),
            }
        }
        other => Err(NoPortsReason::NoTransport(other)),
    }
}

/// Decode the packet inside a tunnel. When the inner packet yields no ports and the tunnel rode
/// on a transport, the tunnel's own ports are the packet's (as tshark reports them), along with
/// the outer addresses; otherwise the inner reason stands.
fn enter_tunnel(
    kind: TunnelKind,
    tunnel_ports: Option<Ports>,
    inner: Result<link::Network<'_>, NoPortsReason>,
    info: &mut PacketInfo,
    options: &DecodeOptions,
    depth: u8,
) -> Result<Ports, NoPortsReason> {
    if depth >= MAX_TUNNEL_DEPTH {
        return tunnel_ports.ok_or(NoPortsReason::Malformed(Layer::Tunnel));
    }
    if info.outer.is_none() {
        info.outer = Some(Outer {
            tunnel: kind,
            ports: tunnel_ports,
        });
    }
    let outer_view = *info;
    let result = inner.and_then(|network| decode_network(network, info, options, depth + 1));
    match (result, tunnel_ports) {
        (Ok(ports), _) => Ok(ports),
        // The inner transport header was there but its ports were not: that is the answer
        // (tshark shows the inner transport with unknown ports), not the tunnel's ports.
        (Err(reason), _) if reason.is_transport_layer() => Err(reason),
        (Err(_), Some(ports)) => {
            *info = PacketInfo {
                icmp_quote: info.icmp_quote,
                ..outer_view
            };
            Ok(ports)
        }
        (Err(reason), None) => Err(reason),
    }
}

/// IP protocols whose header starts with source and destination port.
fn carries_ports(protocol: u8) -> bool {
    matches!(
        protocol,
        ip::protocol::TCP
            | ip::protocol::UDP
            | ip::protocol::UDP_LITE
            | ip::protocol::SCTP
            | ip::protocol::DCCP
    )
}

/// TCP header: source port (2), destination port (2), sequence (4), acknowledgment (4),
/// data offset (1), flags (1) (RFC 9293 section 3.1).
const TCP_FLAGS_OFFSET: usize = 13;
const TCP_SYN: u8 = 0x02;
const TCP_ACK: u8 = 0x10;
/// UDP and UDP-Lite header: source port, destination port, length (or checksum coverage),
/// checksum (RFC 768, RFC 3828).
const UDP_HEADER_LEN: usize = 8;

fn tcp_ports(segment: &[u8]) -> Result<Ports, NoPortsReason> {
    transport_ports(ip::protocol::TCP, segment).unwrap_or(Err(NoPortsReason::Truncated(Layer::Tcp)))
}

/// SYN without ACK opens a connection toward the service; SYN+ACK answers from it.
fn tcp_handshake(flags: u8) -> Option<Handshake> {
    match (flags & TCP_SYN != 0, flags & TCP_ACK != 0) {
        (true, false) => Some(Handshake::Request),
        (true, true) => Some(Handshake::Response),
        _ => None,
    }
}

/// The UDP payload, bounded by the UDP length field when it is plausible (at least the header).
/// UDP-Lite's field is a checksum coverage, not a length: the IP payload bounds it instead.
fn udp_payload(protocol: u8, datagram: &[u8]) -> &[u8] {
    let end = match read_u16(datagram, 4).map(usize::from) {
        Some(len) if protocol == ip::protocol::UDP && len >= UDP_HEADER_LEN => {
            len.min(datagram.len())
        }
        _ => datagram.len(),
    };
    datagram.get(UDP_HEADER_LEN..end).unwrap_or_default()
}

/// The ports of a transport header that starts with them (TCP, UDP, UDP-Lite, SCTP, DCCP all
/// put source and destination port in their first four bytes). `None` for other protocols;
/// a truncation error when fewer than four bytes were captured.
pub(crate) fn transport_ports(protocol: u8, header: &[u8]) -> Option<Result<Ports, NoPortsReason>> {
    let (transport, layer) = match protocol {
        ip::protocol::TCP => (Transport::Tcp, Layer::Tcp),
        ip::protocol::UDP | ip::protocol::UDP_LITE => (Transport::Udp, Layer::Udp),
        ip::protocol::SCTP => (Transport::Sctp, Layer::Sctp),
        ip::protocol::DCCP => (Transport::Dccp, Layer::Dccp),
        _ => return None,
    };
    let ports = match (read_u16(header, 0), read_u16(header, 2)) {
        (Some(src_port), Some(dst_port)) => Ok(Ports {
            transport,
            src_port,
            dst_port,
        }),
        _ => Err(NoPortsReason::Truncated(layer)),
    };
    Some(ports)
}

/// Big-endian u16 at `at`, if both bytes are present.
pub(crate) fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let end = at.checked_add(2)?;
    match bytes.get(at..end)? {
        [hi, lo] => Some(u16::from_be_bytes([*hi, *lo])),
        _ => None,
    }
}

/// Big-endian u32 at `at`, if all four bytes are present.
pub(crate) fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    match bytes.get(at..end)? {
        [a, b, c, d] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

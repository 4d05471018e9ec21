//! Frame decoding: bytes of one captured frame in, a [`PacketInfo`] out.
//!
//! Pure: no I/O, no allocation per packet, never panics on any input. Every frame that yields no
//! ports says why in [`PacketInfo::reason`], so nothing vanishes from the counts.
//!
//! Layers, one file each:
//! - `link`: Ethernet with 802.1Q / 802.1ad / QinQ tags, LLC/SNAP, PPPoE sessions and MPLS;
//!   Linux SLL/SLL2, raw IP, BSD NULL/LOOP, Cisco HDLC, PPP (also carrying MPLS), NFLOG, pflog,
//!   IP over InfiniBand and NSH.
//! - `wlan`: IEEE 802.11 data frames (plain, behind radiotap or PPI) to their LLC/SNAP payload;
//!   the other 802.11 frames get a [`WlanFrame`] reason.
//! - `ip`: IPv4 (options, fragments, AH) and IPv6 (extension headers, fragments, jumbograms).
//! - `tunnel`: GRE (keys, sequence numbers, PPTP's PPP, ERSPAN I/II/III), VXLAN, Geneve, GTP-U,
//!   Teredo, L2TPv2, MPLS in UDP, PIM Register and VXLAN-GPE; IP-in-IP is dispatched here in `mod.rs`.
//! - `icmp`: the transport quoted in ICMP/ICMPv6 errors, which goes to `icmp_quote`, never to
//!   `ports`.
//! - TCP, UDP and UDP-Lite ports are read here (their first four bytes); SCTP and DCCP handshake
//!   evidence comes from [`sctp`] and [`dccp`].
//! - `frag`: [`FragmentTracker`], which lets later fragments inherit the first fragment's ports.
//!
//! What counts as the packet's ports follows tshark (the yardstick in `tests/decoder_vs_tshark.rs`):
//! the innermost transport outside ICMP quotations; inside a tunnel whose inner packet has no
//! transport, the tunnel's own ports; a transport header whose ports were cut is reported as
//! truncated, not replaced by an outer one.

mod bytes;
pub mod dccp;
mod frag;
mod icmp;
mod info;
mod ip;
mod link;
mod ports;
pub mod sctp;
mod tunnel;
mod wlan;

pub use frag::FragmentTracker;
pub use info::{
    DecodeError, DecodeErrorKind, DecodeOptions, Fragment, FragmentKey, Handshake, IcmpQuote,
    Layer, NoPortsReason, Outer, PacketInfo, Ports, TunnelKind, Vlans, WlanFrame,
};

use crate::linktype::LinkType;
use crate::transport::Transport;
use bytes::read_u16;
use ports::{leading_ports, transport_layer};

/// Tunnels nested deeper than this are not opened: the ports found so far stand.
const MAX_TUNNEL_DEPTH: u8 = 4;

/// Decode one frame. Never panics; `reason` is set whenever `ports` is not.
#[inline]
pub fn decode_frame(linktype: LinkType, data: &[u8], options: &DecodeOptions) -> PacketInfo {
    let mut info = PacketInfo::default();
    decode_frame_into(linktype, data, options, &mut info);
    info
}

/// [`decode_frame`] into a fresh (default) `info` the caller owns.
#[inline]
pub fn decode_frame_into(
    linktype: LinkType,
    data: &[u8],
    options: &DecodeOptions,
    info: &mut PacketInfo,
) {
    let result = link::decode_link_tagged(linktype, data, &mut info.vlans)
        .and_then(|network| decode_network(network, info, options, 0));
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
}

/// Decode an IP header and what it carries, recording addresses and fragment state in `info`.
///
/// TCP and UDP without a tunnel, nearly all traffic, are decoded here; every other protocol and
/// every tunnel is a call, which keeps this part small enough to inline into [`decode_frame_into`].
#[inline]
fn decode_network(
    network: link::Network<'_>,
    info: &mut PacketInfo,
    options: &DecodeOptions,
    depth: u8,
) -> Result<Ports, NoPortsReason> {
    let upper = ip::decode_ip_into(network, info)?;
    if upper.payload.is_empty() && !upper.cut {
        if let Some(layer) = transport_layer(upper.protocol) {
            // The IP header announces a transport but leaves it no bytes at all. tshark does
            // not start the transport after such an IPv4 header (the IP length is what is
            // wrong) but does after IPv6 and finds the transport header missing.
            let layer = if info.ip_version == Some(4) {
                Layer::Ipv4
            } else {
                layer
            };
            return Err(NoPortsReason::Malformed(layer));
        }
    }
    match upper.protocol {
        ip::protocol::TCP => {
            let ports = leading_ports(Transport::Tcp, Layer::Tcp, upper.payload)?;
            let flags = upper.payload.get(TCP_FLAGS_OFFSET).copied();
            info.tcp_flags = flags;
            info.handshake = flags.and_then(tcp_handshake);
            Ok(ports)
        }
        ip::protocol::UDP | ip::protocol::UDP_LITE => {
            let ports = leading_ports(Transport::Udp, Layer::Udp, upper.payload)?;
            if options.no_decap {
                return Ok(ports);
            }
            match tunnel::udp_tunnel_kind(ports.src_port, ports.dst_port) {
                None => Ok(ports),
                Some(kind) => enter_udp_tunnel(kind, ports, upper, info, options, depth),
            }
        }
        _ => decode_other_protocol(upper, info, options, depth),
    }
}

/// The inner packet of a UDP tunnel `kind` the datagram's ports announced; the UDP ports
/// stand when the payload is not a packet of that tunnel.
#[inline(never)]
fn enter_udp_tunnel(
    kind: TunnelKind,
    ports: Ports,
    upper: ip::Upper<'_>,
    info: &mut PacketInfo,
    options: &DecodeOptions,
    depth: u8,
) -> Result<Ports, NoPortsReason> {
    match tunnel::udp_tunnel(kind, udp_payload(upper.protocol, upper.payload)) {
        Some(inner) => enter_tunnel(kind, Some(ports), inner, info, options, depth),
        None => Ok(ports),
    }
}

/// What [`decode_network`] does not do in line: ICMP, the IP-borne tunnels (IP in IP, PIM,
/// GRE), SCTP, DCCP and protocols without ports.
#[inline(never)]
fn decode_other_protocol(
    upper: ip::Upper<'_>,
    info: &mut PacketInfo,
    options: &DecodeOptions,
    depth: u8,
) -> Result<Ports, NoPortsReason> {
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
        ip::protocol::SCTP => {
            let ports = leading_ports(Transport::Sctp, Layer::Sctp, upper.payload)?;
            info.handshake = sctp::handshake(upper.payload);
            Ok(ports)
        }
        ip::protocol::DCCP => {
            let ports = leading_ports(Transport::Dccp, Layer::Dccp, upper.payload)?;
            info.handshake = dccp::handshake(upper.payload);
            Ok(ports)
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
        // The first tunnel entered is the outermost: `info` still holds its IP header's
        // addresses.
        info.outer = Some(Outer {
            tunnel: kind,
            ports: tunnel_ports,
            src: info.src,
            dst: info.dst,
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

/// TCP header: source port (2), destination port (2), sequence (4), acknowledgment (4),
/// data offset (1), flags (1) (RFC 9293 section 3.1).
const TCP_FLAGS_OFFSET: usize = 13;
const TCP_SYN: u8 = 0x02;
const TCP_ACK: u8 = 0x10;
/// UDP and UDP-Lite header: source port, destination port, length (or checksum coverage),
/// checksum (RFC 768, RFC 3828).
const UDP_HEADER_LEN: usize = 8;

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{IpAddr, Ipv4Addr};

    // Fixture builders: each header is spelled out field by field; lengths and protocol
    // numbers are filled in from what follows so the fixtures stay consistent.

    /// Ethernet II: destination, source, EtherType.
    fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, // destination MAC
            0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, // source MAC
        ];
        v.extend_from_slice(&ethertype.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    /// IPv4 without options, 10.0.0.1 -> 10.0.0.2, total length from the payload.
    fn ipv4(protocol: u8, payload: &[u8]) -> Vec<u8> {
        let total = u16::try_from(20 + payload.len()).unwrap();
        let mut v = vec![0x45, 0x00]; // version 4, IHL 5; DSCP/ECN
        v.extend_from_slice(&total.to_be_bytes()); // total length
        v.extend_from_slice(&[0x00, 0x01, 0x00, 0x00]); // identification 1; no flags, offset 0
        v.extend_from_slice(&[0x40, protocol, 0x00, 0x00]); // TTL 64, protocol, checksum
        v.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]); // source, destination
        v.extend_from_slice(payload);
        v
    }

    /// IPv6 2001:db8::1 -> 2001:db8::2, payload length from the payload.
    fn ipv6(next_header: u8, payload: &[u8]) -> Vec<u8> {
        let len = u16::try_from(payload.len()).unwrap();
        let mut v = vec![0x60, 0x00, 0x00, 0x00]; // version 6, traffic class, flow label
        v.extend_from_slice(&len.to_be_bytes()); // payload length
        v.extend_from_slice(&[next_header, 64]); // next header, hop limit
        v.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        v.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        v.extend_from_slice(payload);
        v
    }

    /// UDP: ports, length from the payload, checksum 0.
    fn udp(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = src_port.to_be_bytes().to_vec();
        v.extend_from_slice(&dst_port.to_be_bytes());
        v.extend_from_slice(&u16::try_from(8 + payload.len()).unwrap().to_be_bytes());
        v.extend_from_slice(&[0x00, 0x00]);
        v.extend_from_slice(payload);
        v
    }

    /// TCP header without options: ports, sequence 1, ack 0, data offset 5, `flags`, window.
    fn tcp(src_port: u16, dst_port: u16, flags: u8) -> Vec<u8> {
        let mut v = src_port.to_be_bytes().to_vec();
        v.extend_from_slice(&dst_port.to_be_bytes());
        v.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]); // sequence, acknowledgment
        v.extend_from_slice(&[0x50, flags, 0x20, 0x00]); // data offset 5, flags, window
        v.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
        v
    }

    const DNS_QUERY_ID: [u8; 4] = [0x12, 0x34, 0x01, 0x00]; // id, flags: a DNS payload start

    fn udp_ports(src_port: u16, dst_port: u16) -> Ports {
        Ports {
            transport: Transport::Udp,
            src_port,
            dst_port,
        }
    }

    fn decode(linktype: LinkType, frame: &[u8]) -> PacketInfo {
        decode_frame(linktype, frame, &DecodeOptions::default())
    }

    #[test]
    fn tcp_syn_is_a_request_and_syn_ack_a_response() {
        let syn = ethernet(0x0800, &ipv4(6, &tcp(49152, 443, 0x02)));
        let info = decode(LinkType::ETHERNET, &syn);
        assert_eq!(
            info.ports.map(|p| (p.src_port, p.dst_port)),
            Some((49152, 443))
        );
        assert_eq!(info.tcp_flags, Some(0x02));
        assert_eq!(info.handshake, Some(Handshake::Request));
        assert_eq!(info.src, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
        let syn_ack = ethernet(0x0800, &ipv4(6, &tcp(443, 49152, 0x12)));
        assert_eq!(
            decode(LinkType::ETHERNET, &syn_ack).handshake,
            Some(Handshake::Response)
        );
        let ack = ethernet(0x0800, &ipv4(6, &tcp(443, 49152, 0x10)));
        assert_eq!(decode(LinkType::ETHERNET, &ack).handshake, None);
    }

    #[test]
    fn udp_lite_reports_udp_ports() {
        // UDP-Lite's third field is checksum coverage (0 = whole datagram), not a length.
        let lite = [0x13, 0x88, 0x13, 0x89, 0x00, 0x00, 0x00, 0x00];
        let info = decode(LinkType::IPV6, &ipv6(136, &lite));
        assert_eq!(info.ports, Some(udp_ports(5000, 5001)));
    }

    #[test]
    fn sctp_and_dccp_ports_are_their_first_four_bytes() {
        let sctp = [0x0b, 0x59, 0x0b, 0x59, 0, 0, 0, 1, 0, 0, 0, 0]; // 2905 -> 2905, vtag, csum
        let info = decode(LinkType::RAW, &ipv4(132, &sctp));
        assert_eq!(info.ports.map(|p| p.transport), Some(Transport::Sctp));
        let dccp = [0x13, 0x88, 0x00, 0x50, 0x03, 0x00, 0x00, 0x00]; // 5000 -> 80, offset, ccval
        let info = decode(LinkType::RAW, &ipv4(33, &dccp));
        assert_eq!(
            info.ports,
            Some(Ports {
                transport: Transport::Dccp,
                src_port: 5000,
                dst_port: 80
            })
        );
    }

    #[test]
    fn ip_protocol_without_ports() {
        let ospf = ethernet(0x0800, &ipv4(89, &[2, 1, 0, 44]));
        assert_eq!(
            decode(LinkType::ETHERNET, &ospf).reason,
            Some(NoPortsReason::NoTransport(89))
        );
    }

    #[test]
    fn announced_empty_transport_is_malformed_ip_but_cut_one_is_truncated() {
        // Total length 20: the header says there is no TCP at all.
        let mut empty = ipv4(6, &[]);
        empty.extend_from_slice(&[0; 6]); // Ethernet padding is not payload
        assert_eq!(
            decode(LinkType::IPV4, &empty).reason,
            Some(NoPortsReason::Malformed(Layer::Ipv4))
        );
        // Total length 40 but only the IP header captured: the TCP header was cut.
        let full = ipv4(6, &tcp(1, 2, 0));
        assert_eq!(
            decode(LinkType::IPV4, full.get(..20).unwrap()).reason,
            Some(NoPortsReason::Truncated(Layer::Tcp))
        );
    }

    /// VXLAN (flags: VNI valid; VNI 0x000100) around Ethernet / IPv4 / UDP 1234 -> 53.
    fn vxlan_frame(inner_ip: &[u8]) -> Vec<u8> {
        let mut vxlan = vec![0x08, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00];
        vxlan.extend_from_slice(&ethernet(0x0800, inner_ip));
        ethernet(0x0800, &ipv4(17, &udp(40000, 4789, &vxlan)))
    }

    #[test]
    fn vxlan_reports_inner_ports_and_keeps_outer() {
        let mut frame = vxlan_frame(&ipv4(17, &udp(1234, 53, &DNS_QUERY_ID)));
        // The outer IPv4 header's source and destination (after the 14-byte Ethernet header,
        // at offsets 12 and 16): 192.0.2.7 -> 198.51.100.9, apart from the inner 10.0.0.x.
        frame.splice(26..34, [192, 0, 2, 7, 198, 51, 100, 9]);
        let info = decode(LinkType::ETHERNET, &frame);
        assert_eq!(info.ports, Some(udp_ports(1234, 53)));
        assert_eq!(info.src, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
        assert_eq!(
            info.outer,
            Some(Outer {
                tunnel: TunnelKind::Vxlan,
                ports: Some(udp_ports(40000, 4789)),
                src: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))),
                dst: Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 9))),
            })
        );
        let no_decap = decode_frame(
            LinkType::ETHERNET,
            &frame,
            &DecodeOptions { no_decap: true },
        );
        assert_eq!(no_decap.ports, Some(udp_ports(40000, 4789)));
        assert_eq!(no_decap.outer, None);
    }

    #[test]
    fn icmp_inside_vxlan_reports_the_tunnel_ports() {
        let echo = [0x08, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]; // echo request, id, seq
        let info = decode(LinkType::ETHERNET, &vxlan_frame(&ipv4(1, &echo)));
        assert_eq!(info.ports, Some(udp_ports(40000, 4789)));
        assert_eq!(info.reason, None);
        assert_eq!(info.outer.map(|o| o.tunnel), Some(TunnelKind::Vxlan));
    }

    #[test]
    fn cut_inner_transport_is_not_replaced_by_tunnel_ports() {
        let inner = ipv4(17, &udp(1234, 53, &DNS_QUERY_ID));
        let mut frame = vxlan_frame(&inner);
        // Keep only the first byte of the inner UDP header.
        frame.truncate(frame.len() - inner.len() + 21);
        assert_eq!(
            decode(LinkType::ETHERNET, &frame).reason,
            Some(NoPortsReason::Truncated(Layer::Udp))
        );
    }

    #[test]
    fn icmp_error_quote_never_becomes_the_packet_ports() {
        let quoted = ipv4(17, &udp(54321, 53, &[]));
        let mut unreachable = vec![0x03, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];
        unreachable.extend_from_slice(&quoted);
        let info = decode(
            LinkType::ETHERNET,
            &ethernet(0x0800, &ipv4(1, &unreachable)),
        );
        assert_eq!(info.ports, None);
        assert_eq!(info.reason, Some(NoPortsReason::Icmp));
        assert_eq!(
            info.icmp_quote,
            Some(IcmpQuote {
                ip_version: 4,
                ports: udp_ports(54321, 53),
                port_unreachable: true,
            })
        );
    }

    #[test]
    fn system_port_beats_tunnel_port() {
        // DNS server 53 answering to 4789: tshark decodes DNS (the lower port), not VXLAN.
        let mut vxlan = vec![0x08, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00];
        vxlan.extend_from_slice(&ethernet(0x0800, &ipv4(17, &udp(1, 2, &[]))));
        let frame = ethernet(0x0800, &ipv4(17, &udp(53, 4789, &vxlan)));
        let info = decode(LinkType::ETHERNET, &frame);
        assert_eq!(info.ports, Some(udp_ports(53, 4789)));
        assert_eq!(info.outer, None);
    }

    #[test]
    fn later_fragment_inside_gtp_reports_the_tunnel_ports() {
        let mut inner = ipv4(17, &DNS_QUERY_ID);
        inner[6..8].copy_from_slice(&[0x00, 0x03]); // fragment offset 3 (24 bytes)
                                                    // GTPv1-U G-PDU, no optional fields, length = inner packet, TEID 1.
        let mut gtp = vec![0x30, 0xff];
        gtp.extend_from_slice(&u16::try_from(inner.len()).unwrap().to_be_bytes());
        gtp.extend_from_slice(&[0, 0, 0, 1]);
        gtp.extend_from_slice(&inner);
        let frame = ethernet(0x0800, &ipv4(17, &udp(2152, 2152, &gtp)));
        let info = decode(LinkType::ETHERNET, &frame);
        assert_eq!(info.ports, Some(udp_ports(2152, 2152)));
        assert_eq!(info.src, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
        // The tracker leaves tunnel ports alone even though the inner packet is a fragment.
        let mut tracker = FragmentTracker::new(8, 1_000_000_000);
        let mut tracked = info;
        tracker.apply(0, &mut tracked);
        assert_eq!(tracked, info);
    }

    #[test]
    fn ipv6_zero_payload_length_before_a_transport_is_a_malformed_transport() {
        let mut frame = ipv6(17, &udp(1234, 53, &[]));
        frame[4..6].copy_from_slice(&[0, 0]); // payload length 0, no hop-by-hop header
        assert_eq!(
            decode(LinkType::IPV6, &frame).reason,
            Some(NoPortsReason::Malformed(Layer::Udp))
        );
    }

    #[test]
    fn l2tp_pim_and_mpls_in_udp_tunnels() {
        let inner = ipv4(17, &udp(1234, 53, &DNS_QUERY_ID));
        // L2TPv2 data: flags/version 2, tunnel 1, session 2; PPP address, control, IPv4.
        let mut l2tp = vec![0x00, 0x02, 0x00, 0x01, 0x00, 0x02, 0xff, 0x03, 0x00, 0x21];
        l2tp.extend_from_slice(&inner);
        // PIMv2 Register: version/type 0x21, reserved, checksum; flags word.
        let mut pim = vec![0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];
        pim.extend_from_slice(&inner);
        // MPLS: label 100, bottom of stack, TTL 64.
        let mut mpls = vec![0x00, 0x06, 0x41, 0x40];
        mpls.extend_from_slice(&inner);
        let cases = [
            (ipv4(17, &udp(1701, 1701, &l2tp)), TunnelKind::L2tp),
            (ipv4(103, &pim), TunnelKind::PimRegister),
            (ipv4(17, &udp(50000, 6635, &mpls)), TunnelKind::MplsUdp),
        ];
        for (frame, kind) in cases {
            let info = decode(LinkType::RAW, &frame);
            assert_eq!(info.ports, Some(udp_ports(1234, 53)), "{kind:?}");
            assert_eq!(info.outer.map(|o| o.tunnel), Some(kind));
        }
    }

    #[test]
    fn vlan_ids_of_the_frame_outer_tag_first_not_those_inside_a_tunnel() {
        let inner_udp = ipv4(17, &udp(1234, 53, &DNS_QUERY_ID));
        // 802.1ad outer tag (priority 5, VLAN 100), 802.1Q inner tag (VLAN 4094), a third
        // legacy tag (VLAN 7, walked but not kept), IPv4.
        let mut tags = vec![
            0xa0, 0x64, 0x81, 0x00, 0x0f, 0xfe, 0x91, 0x00, 0x00, 0x07, 0x08, 0x00,
        ];
        tags.extend_from_slice(&inner_udp);
        let qinq = decode(LinkType::ETHERNET, &ethernet(0x88a8, &tags));
        assert_eq!(qinq.ports, Some(udp_ports(1234, 53)));
        assert_eq!(
            qinq.vlans,
            Vlans {
                vlan: Some(100),
                inner_vlan: Some(4094)
            }
        );
        // One priority tag: VLAN 0 is kept as 0.
        let mut one = vec![0x20, 0x00, 0x08, 0x00];
        one.extend_from_slice(&inner_udp);
        let tagged = decode(LinkType::ETHERNET, &ethernet(0x8100, &one));
        assert_eq!(
            tagged.vlans,
            Vlans {
                vlan: Some(0),
                inner_vlan: None
            }
        );
        assert_eq!(
            decode(LinkType::ETHERNET, &ethernet(0x0800, &inner_udp)).vlans,
            Vlans::default()
        );
        // Tags on the frame inside VXLAN are the overlay's, not the captured frame's.
        let mut inner = vec![0x00, 0x2a, 0x08, 0x00];
        inner.extend_from_slice(&inner_udp);
        let mut vxlan = vec![0x08, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00];
        vxlan.extend_from_slice(&ethernet(0x8100, &inner));
        let frame = ethernet(0x0800, &ipv4(17, &udp(40000, 4789, &vxlan)));
        let info = decode(LinkType::ETHERNET, &frame);
        assert_eq!(info.ports, Some(udp_ports(1234, 53)));
        assert_eq!(info.vlans, Vlans::default());
        // A tag cut before its EtherType keeps nothing it could not read.
        let cut = decode(LinkType::ETHERNET, &ethernet(0x8100, &[0x00, 0x05, 0x08]));
        assert_eq!(cut.reason, Some(NoPortsReason::Truncated(Layer::Vlan)));
        assert_eq!(cut.vlans, Vlans::default());
    }

    #[test]
    fn gre_keeps_the_outer_ipv6_addresses() {
        let inner_udp = ipv4(17, &udp(1234, 53, &DNS_QUERY_ID));
        let mut g = vec![0x00, 0x00, 0x08, 0x00]; // no flags; IPv4
        g.extend_from_slice(&inner_udp);
        let info = decode(LinkType::ETHERNET, &ethernet(0x86dd, &ipv6(47, &g)));
        assert_eq!(info.ports, Some(udp_ports(1234, 53)));
        let outer = info.outer.unwrap();
        assert_eq!((outer.tunnel, outer.ports), (TunnelKind::Gre, None));
        assert_eq!(outer.src, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(outer.dst, Some("2001:db8::2".parse().unwrap()));
    }

    /// Every frame fixture with the ports it must report; the truncation loop below cuts each.
    fn fixtures() -> Vec<(&'static str, Vec<u8>, Ports, Option<Ports>)> {
        let dns = udp_ports(1234, 53);
        let inner_udp = ipv4(17, &udp(1234, 53, &DNS_QUERY_ID));
        let gre = {
            let mut g = vec![0x20, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x2a]; // K; IPv4; key 42
            g.extend_from_slice(&inner_udp);
            ethernet(0x0800, &ipv4(47, &g))
        };
        let geneve = {
            // Version 0, options 1 word; protocol Ethernet; VNI 1; one empty option.
            let mut g = vec![0x01, 0x00, 0x65, 0x58, 0, 0, 1, 0, 0x01, 0x02, 0x03, 0x00];
            g.extend_from_slice(&ethernet(0x0800, &inner_udp));
            ethernet(0x0800, &ipv4(17, &udp(50000, 6081, &g)))
        };
        let gtp = {
            // Version 1, PT, S; G-PDU; length (below); TEID 1; sequence 7, N-PDU 0, no
            // extension.
            let mut g = vec![0x32, 0xff, 0x00, 0x00, 0, 0, 0, 1, 0x00, 0x07, 0x00, 0x00];
            g.extend_from_slice(&inner_udp);
            let length = u16::try_from(g.len() - 8).unwrap().to_be_bytes();
            g.splice(2..4, length);
            ethernet(0x0800, &ipv4(17, &udp(2152, 2152, &g)))
        };
        let teredo = {
            // Origin indication: indicator 0, obfuscated port, obfuscated IPv4 address.
            let mut t = vec![0x00, 0x00, 0xfb, 0x2e, 0xf5, 0xff, 0xff, 0xfe];
            t.extend_from_slice(&ipv6(17, &udp(1234, 53, &DNS_QUERY_ID)));
            ethernet(0x0800, &ipv4(17, &udp(3544, 40000, &t)))
        };
        let ipv6_ext = {
            let mut e = vec![60, 0x00, 0x01, 0x04, 0, 0, 0, 0]; // HBH: next dst-opts, PadN 4
            e.extend_from_slice(&[17, 0x00, 0x01, 0x04, 0, 0, 0, 0]); // dst-opts: next UDP
            e.extend_from_slice(&udp(1234, 53, &DNS_QUERY_ID));
            ethernet(0x86dd, &ipv6(0, &e))
        };
        let vlan = {
            let mut v = vec![0x00, 0x64, 0x08, 0x00]; // TCI: VLAN 100; EtherType IPv4
            v.extend_from_slice(&inner_udp);
            ethernet(0x8100, &v)
        };
        vec![
            ("ethernet/vlan/ipv4/udp", vlan, dns, None),
            ("ipv6 extension headers", ipv6_ext, dns, None),
            ("gre", gre, dns, None),
            (
                "vxlan",
                vxlan_frame(&inner_udp),
                dns,
                Some(udp_ports(40000, 4789)),
            ),
            ("geneve", geneve, dns, Some(udp_ports(50000, 6081))),
            ("gtp-u", gtp, dns, Some(udp_ports(2152, 2152))),
            ("teredo", teredo, dns, Some(udp_ports(3544, 40000))),
        ]
    }

    #[test]
    fn truncated_at_every_length() {
        for (name, frame, inner, tunnel) in fixtures() {
            let whole = decode(LinkType::ETHERNET, &frame);
            assert_eq!(whole.ports, Some(inner), "{name}");
            // The inner ports' bytes end 4 + 4 bytes (UDP ports, then length/checksum) and the
            // DNS payload before the end of the frame.
            let inner_ports_end = frame.len() - DNS_QUERY_ID.len() - 4;
            for len in 0..frame.len() {
                let info = decode(LinkType::ETHERNET, frame.get(..len).unwrap());
                assert_eq!(info.reason.is_some(), info.ports.is_none(), "{name} {len}");
                match (info.ports, info.reason) {
                    (Some(p), _) if p == inner => assert!(len >= inner_ports_end, "{name} {len}"),
                    (Some(p), _) if Some(p) == tunnel => {
                        assert!(len < inner_ports_end, "{name} {len}")
                    }
                    (None, Some(NoPortsReason::Truncated(_))) => {
                        assert!(len < inner_ports_end, "{name} {len}")
                    }
                    other => panic!("{name} prefix {len}: {other:?}"),
                }
            }
        }
    }

    fn any_linktype() -> impl Strategy<Value = LinkType> {
        prop_oneof![
            Just(LinkType::NULL),
            Just(LinkType::ETHERNET),
            Just(LinkType::RAW),
            Just(LinkType::RAW_12),
            Just(LinkType::C_HDLC),
            Just(LinkType::LOOP),
            Just(LinkType::LINUX_SLL),
            Just(LinkType::IPV4),
            Just(LinkType::IPV6),
            Just(LinkType::LINUX_SLL2),
            Just(LinkType(9)),
            Just(LinkType(239)),
            Just(LinkType::IEEE802_11),
            Just(LinkType::IEEE802_11_RADIOTAP),
            Just(LinkType::PPI),
            Just(LinkType::PFLOG),
            Just(LinkType::IPOIB),
            Just(LinkType::PPP_HDLC),
            any::<u32>().prop_map(LinkType),
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            linktype in any_linktype(),
            data in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let info = decode(linktype, &data);
            prop_assert_eq!(info.reason.is_some(), info.ports.is_none());
        }

        /// Arbitrary bytes behind valid headers reach the deeper decoders (tunnels, extension
        /// headers, ICMP quotes) far more often than fully random frames do.
        #[test]
        fn arbitrary_payload_behind_real_headers_never_panics(
            protocol in prop_oneof![Just(0u8), Just(1), Just(4), Just(6), Just(17), Just(41),
                Just(43), Just(44), Just(47), Just(51), Just(58), Just(60), Just(103),
                Just(132), Just(135), any::<u8>()],
            dst_port in prop_oneof![Just(4789u16), Just(6081), Just(2152), Just(3544),
                Just(1701), Just(6635), Just(4790), any::<u16>()],
            payload in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let transport = if protocol == 17 { udp(40000, dst_port, &payload) } else { payload };
            for frame in [
                ethernet(0x0800, &ipv4(protocol, &transport)),
                ethernet(0x86dd, &ipv6(protocol, &transport)),
                // NSH (MD type 2, length 2 words, next protocol IPv4) before the IPv4 header.
                ethernet(0x894f, &[&[0x0f, 0xc2, 0x02, 0x01, 0, 0, 42, 255][..],
                    &ipv4(protocol, &transport)].concat()),
            ] {
                let info = decode(LinkType::ETHERNET, &frame);
                prop_assert_eq!(info.reason.is_some(), info.ports.is_none());
            }
        }
    }
}

//! Tunnel headers: GRE (RFC 2784/2890, PPTP's enhanced GRE from RFC 2637, ERSPAN), and the
//! UDP-borne VXLAN (RFC 7348), VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe, its NSH in `link`), Geneve (RFC 8926), GTP-U (3GPP TS 29.281) and Teredo (RFC 4380).
//!
//! Takes the bytes after the outer IP or UDP header, returns the inner network layer
//! ([`Network`]) or the reason there is none. Does not decode the inner packet itself (the
//! caller does, with its depth limit), never allocates, never panics.

use super::bytes::read_u16;
use super::info::{Layer, NoPortsReason, TunnelKind};
use super::link::{self, ethertype, Network};

/// Well-known UDP ports of the tunnels decoded by port (IANA registry, as tshark registers them).
pub(crate) const VXLAN_PORT: u16 = 4789;
pub(crate) const VXLAN_GPE_PORT: u16 = 4790;
pub(crate) const GENEVE_PORT: u16 = 6081;
pub(crate) const GTP_U_PORT: u16 = 2152;
pub(crate) const TEREDO_PORT: u16 = 3544;
pub(crate) const L2TP_PORT: u16 = 1701;
pub(crate) const MPLS_UDP_PORT: u16 = 6635;

/// GRE base header: flags and version (2), protocol type (2).
const GRE_BASE_LEN: usize = 4;
/// Each optional GRE field (checksum+offset, key, sequence, acknowledgment) is 4 bytes.
const GRE_OPTIONAL_FIELD_LEN: usize = 4;
/// Source route entries followed in an RFC 1701 routing list before calling it malformed.
const MAX_GRE_SOURCE_ROUTES: usize = 16;
/// ERSPAN type II header (version, VLAN, COS, session, index).
const ERSPAN_II_LEN: usize = 8;
/// ERSPAN type III header, and its optional platform-specific subheader.
const ERSPAN_III_LEN: usize = 12;
const ERSPAN_III_PLATFORM_LEN: usize = 8;
/// VXLAN header: flags (1), reserved (3), VNI (3), reserved (1).
const VXLAN_LEN: usize = 8;
/// Geneve base header: version/option length, flags, protocol type (2), VNI (3), reserved.
const GENEVE_BASE_LEN: usize = 8;
/// GTPv1-U mandatory header: flags, message type, length (2), TEID (4).
const GTP_MANDATORY_LEN: usize = 8;
/// Sequence number (2), N-PDU number (1), next extension header type (1).
const GTP_OPTIONAL_LEN: usize = 4;
/// GTP-U message type G-PDU: carries a user packet.
const GTP_G_PDU: u8 = 0xff;
const MAX_GTP_EXTENSIONS: usize = 16;
/// Teredo authentication indicator header without client id and auth value (RFC 4380 5.1.1).
const TEREDO_AUTH_FIXED_LEN: usize = 13;
/// Teredo origin indication (RFC 4380 5.1.1): indicator (2), port (2), address (4).
const TEREDO_ORIGIN_LEN: usize = 8;

/// A decoded GRE header: which tunnel it is and what it carries.
pub(crate) fn gre(data: &[u8]) -> (TunnelKind, Result<Network<'_>, NoPortsReason>) {
    match gre_payload(data) {
        Ok((protocol, flags, payload)) => match protocol {
            ethertype::TRANSPARENT_ETHERNET => (TunnelKind::Gre, link::ethernet(payload)),
            ethertype::PPP => (TunnelKind::Gre, link::ppp_hdlc(payload)),
            ethertype::ERSPAN_II => {
                // Without the sequence bit this is ERSPAN type I: no ERSPAN header at all.
                let frame = if flags & GRE_SEQUENCE != 0 {
                    payload.get(ERSPAN_II_LEN..)
                } else {
                    Some(payload)
                };
                match frame {
                    Some(frame) => (TunnelKind::Erspan, link::ethernet(frame)),
                    None => (
                        TunnelKind::Erspan,
                        Err(NoPortsReason::Truncated(Layer::Tunnel)),
                    ),
                }
            }
            ethertype::ERSPAN_III => (TunnelKind::Erspan, erspan_iii(payload)),
            other => (TunnelKind::Gre, link::after_ethertype(other, payload)),
        },
        Err(reason) => (TunnelKind::Gre, Err(reason)),
    }
}

const GRE_CHECKSUM: u16 = 0x8000;
const GRE_ROUTING: u16 = 0x4000;
const GRE_KEY: u16 = 0x2000;
const GRE_SEQUENCE: u16 = 0x1000;
/// Acknowledgment present: enhanced GRE (version 1) only.
const GRE_ACK: u16 = 0x0080;

/// Skip the GRE header's optional fields: (protocol type, flags, payload).
fn gre_payload(data: &[u8]) -> Result<(u16, u16, &[u8]), NoPortsReason> {
    let flags = read_u16(data, 0).ok_or(NoPortsReason::Truncated(Layer::Gre))?;
    let protocol = read_u16(data, 2).ok_or(NoPortsReason::Truncated(Layer::Gre))?;
    let version = flags & 0x0007;
    if version > 1 {
        return Err(NoPortsReason::Malformed(Layer::Gre));
    }
    let present = [
        flags & (GRE_CHECKSUM | GRE_ROUTING) != 0,
        flags & GRE_KEY != 0,
        flags & GRE_SEQUENCE != 0,
        version == 1 && flags & GRE_ACK != 0,
    ];
    let optional = present.iter().filter(|p| **p).count() * GRE_OPTIONAL_FIELD_LEN;
    let mut rest = data
        .get(GRE_BASE_LEN + optional..)
        .ok_or(NoPortsReason::Truncated(Layer::Gre))?;
    if flags & GRE_ROUTING != 0 {
        rest = skip_source_routes(rest)?;
    }
    Ok((protocol, flags, rest))
}

/// RFC 1701 source route entries: address family (2), SRE offset (1), SRE length (1), then
/// length bytes; a NULL entry (family 0, length 0) ends the list.
fn skip_source_routes(data: &[u8]) -> Result<&[u8], NoPortsReason> {
    let mut rest = data;
    for _ in 0..MAX_GRE_SOURCE_ROUTES {
        let family = read_u16(rest, 0).ok_or(NoPortsReason::Truncated(Layer::Gre))?;
        let length = usize::from(*rest.get(3).ok_or(NoPortsReason::Truncated(Layer::Gre))?);
        rest = rest
            .get(4 + length..)
            .ok_or(NoPortsReason::Truncated(Layer::Gre))?;
        if family == 0 && length == 0 {
            return Ok(rest);
        }
    }
    Err(NoPortsReason::Malformed(Layer::Gre))
}

/// ERSPAN type III: fixed header, then a platform subheader when the O bit (lowest bit of the
/// last byte) is set, then the mirrored Ethernet frame.
fn erspan_iii(data: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    let last = *data
        .get(ERSPAN_III_LEN - 1)
        .ok_or(NoPortsReason::Truncated(Layer::Tunnel))?;
    let header_len = if last & 1 != 0 {
        ERSPAN_III_LEN + ERSPAN_III_PLATFORM_LEN
    } else {
        ERSPAN_III_LEN
    };
    let frame = data
        .get(header_len..)
        .ok_or(NoPortsReason::Truncated(Layer::Tunnel))?;
    link::ethernet(frame)
}

/// The tunnel a UDP datagram's ports announce. Like tshark, the lower port is tried first.
pub(crate) fn udp_tunnel_kind(src_port: u16, dst_port: u16) -> Option<TunnelKind> {
    let by_port = |port| match port {
        VXLAN_PORT => Some(TunnelKind::Vxlan),
        VXLAN_GPE_PORT => Some(TunnelKind::VxlanGpe),
        GENEVE_PORT => Some(TunnelKind::Geneve),
        GTP_U_PORT => Some(TunnelKind::GtpU),
        TEREDO_PORT => Some(TunnelKind::Teredo),
        L2TP_PORT => Some(TunnelKind::L2tp),
        MPLS_UDP_PORT => Some(TunnelKind::MplsUdp),
        _ => None,
    };
    let (low, high) = if src_port <= dst_port {
        (src_port, dst_port)
    } else {
        (dst_port, src_port)
    };
    match by_port(low) {
        Some(kind) => Some(kind),
        // tshark hands the datagram to the lower port's dissector when it has one, and it has
        // one for nearly every system port (DNS on 53 -> 4789 is DNS, not VXLAN).
        None if low != 0 && low < FIRST_USER_PORT => None,
        None => by_port(high),
    }
}

/// Ports below this are system ports (RFC 6335 section 6).
const FIRST_USER_PORT: u16 = 1024;

/// The inner network layer of a UDP tunnel payload. `None` when the payload is not a packet
/// of that tunnel (GTP-U signalling, Teredo bubbles without IPv6): the UDP ports then stand.
pub(crate) fn udp_tunnel(
    kind: TunnelKind,
    payload: &[u8],
) -> Option<Result<Network<'_>, NoPortsReason>> {
    match kind {
        TunnelKind::Vxlan => Some(vxlan(payload)),
        TunnelKind::VxlanGpe => Some(vxlan_gpe(payload)),
        TunnelKind::Geneve => Some(geneve(payload)),
        TunnelKind::GtpU => gtp_u(payload),
        TunnelKind::Teredo => teredo(payload),
        TunnelKind::L2tp => l2tp(payload),
        TunnelKind::MplsUdp => Some(link::mpls(payload)),
        TunnelKind::Gre | TunnelKind::Erspan | TunnelKind::IpInIp | TunnelKind::PimRegister => None,
    }
}

fn vxlan(data: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    let frame = data
        .get(VXLAN_LEN..)
        .ok_or(NoPortsReason::Truncated(Layer::Tunnel))?;
    link::ethernet(frame)
}

/// VXLAN-GPE flags (first byte): version (bits 4-5, must be 0) and P, next protocol present.
const VXLAN_GPE_VERSION_MASK: u8 = 0x30;
const VXLAN_GPE_P: u8 = 0x04;

/// VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe section 3.3): flags (1), reserved (2), next protocol
/// (1), VNI (3), reserved (1). With the P bit clear the payload is Ethernet, as in VXLAN.
fn vxlan_gpe(data: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    let (flags, next) = match data {
        [flags, _, _, next, ..] => (*flags, *next),
        _ => return Err(NoPortsReason::Truncated(Layer::Tunnel)),
    };
    if flags & VXLAN_GPE_VERSION_MASK != 0 {
        return Err(NoPortsReason::Malformed(Layer::Tunnel));
    }
    let inner = data
        .get(VXLAN_LEN..)
        .ok_or(NoPortsReason::Truncated(Layer::Tunnel))?;
    if flags & VXLAN_GPE_P == 0 {
        return link::ethernet(inner);
    }
    link::by_next_protocol(next, inner, 0)
}

fn geneve(data: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    let first = *data
        .first()
        .ok_or(NoPortsReason::Truncated(Layer::Tunnel))?;
    // First byte: version (2 bits), options length in 4-byte words (6 bits).
    if first >> 6 != 0 {
        return Err(NoPortsReason::Malformed(Layer::Tunnel));
    }
    let header_len = GENEVE_BASE_LEN + usize::from(first & 0x3f) * 4;
    let protocol = read_u16(data, 2).ok_or(NoPortsReason::Truncated(Layer::Tunnel))?;
    let inner = data
        .get(header_len..)
        .ok_or(NoPortsReason::Truncated(Layer::Tunnel))?;
    match protocol {
        ethertype::TRANSPARENT_ETHERNET => link::ethernet(inner),
        other => link::after_ethertype(other, inner),
    }
}

fn gtp_u(data: &[u8]) -> Option<Result<Network<'_>, NoPortsReason>> {
    let flags = *data.first()?;
    let message_type = *data.get(1)?;
    // Flags: version (3 bits, must be 1), protocol type (1 = GTP), reserved, E, S, PN.
    if flags >> 5 != 1 || flags & 0x10 == 0 || message_type != GTP_G_PDU {
        return None;
    }
    Some(gtp_u_payload(flags, data))
}

fn gtp_u_payload(flags: u8, data: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    let truncated = NoPortsReason::Truncated(Layer::Tunnel);
    // The length field counts the bytes after the mandatory header (optional fields and
    // extensions included): the user packet ends there even if the datagram goes on.
    let length = usize::from(read_u16(data, 2).ok_or(truncated)?);
    let end = GTP_MANDATORY_LEN.saturating_add(length).min(data.len());
    let data = data.get(..end).unwrap_or_default();
    if flags & 0x07 == 0 {
        let inner = data.get(GTP_MANDATORY_LEN..).ok_or(truncated)?;
        return Ok(Network::ByVersion(inner));
    }
    if length < GTP_OPTIONAL_LEN {
        // The length cannot even cover the optional fields the flags announce.
        return Err(NoPortsReason::Malformed(Layer::Tunnel));
    }
    // Any of E, S, PN set: sequence, N-PDU and next-extension-type fields are all present.
    let mut next_type = *data
        .get(GTP_MANDATORY_LEN + GTP_OPTIONAL_LEN - 1)
        .ok_or(truncated)?;
    let mut rest = data
        .get(GTP_MANDATORY_LEN + GTP_OPTIONAL_LEN..)
        .ok_or(truncated)?;
    if flags & 0x04 == 0 {
        next_type = 0;
    }
    for _ in 0..MAX_GTP_EXTENSIONS {
        if next_type == 0 {
            return Ok(Network::ByVersion(rest));
        }
        // Extension header: length in 4-byte units (including itself), content, next type.
        let units = usize::from(*rest.first().ok_or(truncated)?);
        if units == 0 {
            return Err(NoPortsReason::Malformed(Layer::Tunnel));
        }
        let len = units * 4;
        next_type = *rest.get(len - 1).ok_or(truncated)?;
        rest = rest.get(len..).ok_or(truncated)?;
    }
    Err(NoPortsReason::Malformed(Layer::Tunnel))
}

fn teredo(data: &[u8]) -> Option<Result<Network<'_>, NoPortsReason>> {
    let mut rest = data;
    // Authentication indicator 0x0001: client id length, auth value length, nonce (8), confirm.
    if read_u16(rest, 0) == Some(0x0001) {
        let id_len = usize::from(*rest.get(2)?);
        let auth_len = usize::from(*rest.get(3)?);
        rest = rest.get(TEREDO_AUTH_FIXED_LEN + id_len + auth_len..)?;
    }
    // Origin indication 0x0000.
    if read_u16(rest, 0) == Some(0x0000) {
        rest = rest.get(TEREDO_ORIGIN_LEN..)?;
    }
    // Teredo only ever carries IPv6: anything else on the port is not Teredo.
    match rest.first() {
        Some(b) if b >> 4 == 6 => Some(Ok(Network::Ipv6(rest))),
        _ => None,
    }
}

const L2TP_TYPE_CONTROL: u16 = 0x8000;
const L2TP_LENGTH_PRESENT: u16 = 0x4000;
const L2TP_SEQUENCE_PRESENT: u16 = 0x0800;
const L2TP_OFFSET_PRESENT: u16 = 0x0200;

/// L2TPv2 (RFC 2661 section 3.1): flags and version, optional length, tunnel and session id,
/// optional Ns/Nr, optional offset size and padding, then a PPP frame. Control messages and
/// other versions carry no user packet: `None`.
fn l2tp(data: &[u8]) -> Option<Result<Network<'_>, NoPortsReason>> {
    let flags = read_u16(data, 0)?;
    if flags & 0x000f != 2 || flags & L2TP_TYPE_CONTROL != 0 {
        return None;
    }
    Some(l2tp_data(flags, data))
}

fn l2tp_data(flags: u16, data: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    let truncated = NoPortsReason::Truncated(Layer::Tunnel);
    // Flags/version (2), tunnel id (2), session id (2), plus the optional fields.
    let mut header_len = 6;
    if flags & L2TP_LENGTH_PRESENT != 0 {
        header_len += 2;
    }
    if flags & L2TP_SEQUENCE_PRESENT != 0 {
        header_len += 4;
    }
    if flags & L2TP_OFFSET_PRESENT != 0 {
        let offset_size = usize::from(read_u16(data, header_len).ok_or(truncated)?);
        header_len += 2 + offset_size;
    }
    let ppp = data.get(header_len..).ok_or(truncated)?;
    link::ppp_hdlc(ppp)
}

/// PIM version 2 Register (type 1): the PIM header (4), the Border/Null-Register flags (4),
/// then the encapsulated multicast IP packet. `None` for other PIM messages.
pub(crate) fn pim_register(data: &[u8]) -> Option<Result<Network<'_>, NoPortsReason>> {
    // First byte: version (high nibble) and message type (low nibble).
    if *data.first()? != 0x21 {
        return None;
    }
    Some(
        data.get(PIM_REGISTER_HEADER_LEN..)
            .map(Network::ByVersion)
            .ok_or(NoPortsReason::Truncated(Layer::Tunnel)),
    )
}

const PIM_REGISTER_HEADER_LEN: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    /// Ethernet header announcing IPv4, then one IPv4 byte.
    const ETH_IPV4: [u8; 15] = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, // MACs
        0x08, 0x00, // EtherType IPv4
        0x45,
    ];

    fn with(header: &[u8], inner: &[u8]) -> Vec<u8> {
        let mut v = header.to_vec();
        v.extend_from_slice(inner);
        v
    }

    #[test]
    fn gre_with_key_and_sequence() {
        let pkt = with(
            &[
                0x30, 0x00, 0x08, 0x00, // K and S set, version 0, protocol IPv4
                0, 0, 0, 7, // key
                0, 0, 0, 1, // sequence
            ],
            &[0x45],
        );
        assert_eq!(gre(&pkt), (TunnelKind::Gre, Ok(Network::Ipv4(&[0x45]))));
    }

    #[test]
    fn pptp_enhanced_gre_with_ack_carries_ppp() {
        let pkt = with(
            &[
                0x30, 0x81, 0x88, 0x0b, // K, S, A, version 1, protocol PPP
                0x00, 0x10, 0x00, 0x01, // payload length, call id
                0, 0, 0, 2, // sequence
                0, 0, 0, 1, // acknowledgment
                0xff, 0x03, 0x00, 0x21, // PPP address, control, protocol IPv4
            ],
            &[0x45],
        );
        assert_eq!(gre(&pkt), (TunnelKind::Gre, Ok(Network::Ipv4(&[0x45]))));
    }

    #[test]
    fn erspan_type_ii() {
        let pkt = with(
            &[
                0x10, 0x00, 0x88, 0xbe, // S set, protocol ERSPAN
                0, 0, 0, 1, // sequence
                0x10, 0x01, 0x00, 0x05, 0, 0, 0, 0, // ERSPAN II: version 1, vlan 1, session 5
            ],
            &ETH_IPV4,
        );
        assert_eq!(gre(&pkt), (TunnelKind::Erspan, Ok(Network::Ipv4(&[0x45]))));
    }

    #[test]
    fn gre_unknown_version_is_malformed() {
        assert_eq!(
            gre(&[0x00, 0x02, 0x08, 0x00]),
            (TunnelKind::Gre, Err(NoPortsReason::Malformed(Layer::Gre)))
        );
    }

    #[test]
    fn udp_tunnel_kind_prefers_lower_port() {
        assert_eq!(udp_tunnel_kind(50000, 4789), Some(TunnelKind::Vxlan));
        assert_eq!(udp_tunnel_kind(3544, 4789), Some(TunnelKind::Teredo));
        assert_eq!(udp_tunnel_kind(53, 1234), None);
        // A system port on the other side names the service.
        assert_eq!(udp_tunnel_kind(53, 4789), None);
    }

    const VXLAN_HEADER: [u8; 8] = [0x08, 0, 0, 0, 0, 0, 0x2a, 0]; // I flag, VNI 42

    #[test]
    fn vxlan_then_ethernet() {
        let pkt = with(&VXLAN_HEADER, &ETH_IPV4);
        assert_eq!(
            udp_tunnel(TunnelKind::Vxlan, &pkt),
            Some(Ok(Network::Ipv4(&[0x45])))
        );
    }

    #[test]
    fn vxlan_gpe_by_next_protocol() {
        // Flags I and P, next protocol 1 (IPv4), VNI 1.
        let ip = with(&[0x0c, 0, 0, 0x01, 0, 0, 1, 0], &[0x45]);
        assert_eq!(
            udp_tunnel(TunnelKind::VxlanGpe, &ip),
            Some(Ok(Network::Ipv4(&[0x45])))
        );
        // Next protocol 3, Ethernet.
        let eth = with(&[0x0c, 0, 0, 0x03, 0, 0, 1, 0], &ETH_IPV4);
        assert_eq!(
            udp_tunnel(TunnelKind::VxlanGpe, &eth),
            Some(Ok(Network::Ipv4(&[0x45])))
        );
        // Next protocol 4, NSH (MD type 2, no metadata) carrying IPv6.
        let nsh = with(
            &[0x0c, 0, 0, 0x04, 0, 0, 1, 0],
            &[0x0f, 0xc2, 0x02, 0x02, 0, 0, 42, 255, 0x60],
        );
        assert_eq!(
            udp_tunnel(TunnelKind::VxlanGpe, &nsh),
            Some(Ok(Network::Ipv6(&[0x60])))
        );
        // Without the P bit the payload is Ethernet whatever the next protocol byte says.
        let no_p = with(&[0x08, 0, 0, 0x01, 0, 0, 1, 0], &ETH_IPV4);
        assert_eq!(
            udp_tunnel(TunnelKind::VxlanGpe, &no_p),
            Some(Ok(Network::Ipv4(&[0x45])))
        );
        // Version 1 is not decoded.
        let v1 = with(&[0x1c, 0, 0, 0x01, 0, 0, 1, 0], &[0x45]);
        assert_eq!(
            udp_tunnel(TunnelKind::VxlanGpe, &v1),
            Some(Err(NoPortsReason::Malformed(Layer::Tunnel)))
        );
        assert_eq!(udp_tunnel_kind(50000, 4790), Some(TunnelKind::VxlanGpe));
    }

    /// Geneve: version 0, options length 1 word, protocol Ethernet, VNI 1; one 4-byte option.
    const GENEVE_HEADER: [u8; 12] = [
        0x01, 0x00, 0x65, 0x58, // ver 0 / opt len 1, flags, protocol 0x6558
        0x00, 0x00, 0x01, 0x00, // VNI 1, reserved
        0x01, 0x02, 0x03, 0x00, // option class, type, length 0
    ];

    #[test]
    fn geneve_skips_options() {
        let pkt = with(&GENEVE_HEADER, &ETH_IPV4);
        assert_eq!(
            udp_tunnel(TunnelKind::Geneve, &pkt),
            Some(Ok(Network::Ipv4(&[0x45])))
        );
    }

    /// GTPv1-U G-PDU with E flag: mandatory header, seq/N-PDU/next type 0x85 (PDU session
    /// container), one 4-byte extension ending in next type 0.
    const GTP_HEADER: [u8; 16] = [
        0x34, 0xff, 0x00, 0x09, // version 1, PT, E; G-PDU; length 9 (8 below + 1 inner byte)
        0x00, 0x00, 0x00, 0x01, // TEID
        0x00, 0x00, 0x00, 0x85, // sequence, N-PDU, next extension type
        0x01, 0x10, 0x09, 0x00, // extension: 1 word, content, next type 0
    ];

    #[test]
    fn gtp_u_extension_headers_then_ip() {
        let pkt = with(&GTP_HEADER, &[0x45]);
        assert_eq!(
            udp_tunnel(TunnelKind::GtpU, &pkt),
            Some(Ok(Network::ByVersion(&[0x45])))
        );
        // Echo request (type 1) is GTP-U signalling, not a tunnelled packet.
        assert_eq!(
            udp_tunnel(TunnelKind::GtpU, &[0x32, 0x01, 0, 4, 0, 0, 0, 0]),
            None
        );
    }

    /// Teredo origin indication: indicator 0, obfuscated port, obfuscated address.
    const TEREDO_ORIGIN: [u8; 8] = [0x00, 0x00, 0xf2, 0x27, 0x3f, 0xf5, 0xfe, 0xfe];

    #[test]
    fn teredo_origin_then_ipv6() {
        let pkt = with(&TEREDO_ORIGIN, &[0x60]);
        assert_eq!(
            udp_tunnel(TunnelKind::Teredo, &pkt),
            Some(Ok(Network::Ipv6(&[0x60])))
        );
        assert_eq!(udp_tunnel(TunnelKind::Teredo, &[0x45, 0]), None);
    }

    #[test]
    fn l2tp_data_message_carries_ppp() {
        let pkt = [
            0x40, 0x02, 0x00, 0x0f, // L set, version 2; length 15
            0x00, 0x01, 0x00, 0x02, // tunnel id 1, session id 2
            0xff, 0x03, 0x00, 0x21, // PPP address, control, protocol IPv4
            0x45,
        ];
        assert_eq!(
            udp_tunnel(TunnelKind::L2tp, &pkt),
            Some(Ok(Network::Ipv4(&[0x45])))
        );
        // The same with the T bit: a control message, no user packet.
        let mut control = pkt;
        control[0] = 0xc8;
        assert_eq!(udp_tunnel(TunnelKind::L2tp, &control), None);
    }

    #[test]
    fn mpls_in_udp_and_pim_register() {
        let mpls = [0x00, 0x06, 0x41, 0x40, 0x60]; // label 100, bottom of stack, TTL 64
        assert_eq!(
            udp_tunnel(TunnelKind::MplsUdp, &mpls),
            Some(Ok(Network::Ipv6(&[0x60])))
        );
        let register = [0x21, 0, 0, 0, 0, 0, 0, 0, 0x45]; // v2 Register, flags 0, then IPv4
        assert_eq!(
            pim_register(&register),
            Some(Ok(Network::ByVersion(&[0x45])))
        );
        assert_eq!(pim_register(&[0x20, 0, 0, 0]), None); // Hello
    }

    #[test]
    fn truncated_at_every_length() {
        let gre_pkt = with(&[0x30, 0x00, 0x08, 0x00, 0, 0, 0, 7, 0, 0, 0, 1], &[0x45]);
        let vxlan_pkt = with(&VXLAN_HEADER, &ETH_IPV4);
        let geneve_pkt = with(&GENEVE_HEADER, &ETH_IPV4);
        let gtp_pkt = with(&GTP_HEADER, &[0x45]);
        let teredo_pkt = with(&TEREDO_ORIGIN, &[0x60]);
        let cases: [(Option<TunnelKind>, &[u8]); 5] = [
            (None, &gre_pkt),
            (Some(TunnelKind::Vxlan), &vxlan_pkt),
            (Some(TunnelKind::Geneve), &geneve_pkt),
            (Some(TunnelKind::GtpU), &gtp_pkt),
            (Some(TunnelKind::Teredo), &teredo_pkt),
        ];
        for (kind, pkt) in cases {
            for len in 0..=pkt.len() {
                let prefix = pkt.get(..len).unwrap_or_default();
                let got = match kind {
                    None => Some(gre(prefix).1),
                    Some(kind) => udp_tunnel(kind, prefix),
                };
                let complete = len == pkt.len();
                match got {
                    Some(Ok(Network::Ipv4(inner) | Network::ByVersion(inner)))
                        if complete || inner.is_empty() => {}
                    Some(Ok(Network::Ipv6(inner))) if complete => assert_eq!(inner, &[0x60]),
                    Some(Err(NoPortsReason::Truncated(_))) if !complete => {}
                    // Teredo and GTP-U say "not this tunnel" until their header is readable.
                    None if !complete && kind.is_some() => {}
                    other => panic!("{kind:?} prefix {len}: {other:?}"),
                }
            }
        }
    }
}

//! IPv4 (RFC 791, options skipped by IHL) and IPv6 (RFC 8200, extension headers walked).
//!
//! Takes the bytes starting at an IP header, returns its addresses, fragment information and the
//! upper-layer protocol with its payload: written into the packet's `PacketInfo` plus an
//! [`Upper`] on the per-packet path ([`decode_ip_into`]), as one [`IpHeader`] for ICMP
//! quotations ([`decode_ip`]). The payload ends at the smaller of what the header's length field
//! announces and what was captured, so Ethernet padding never reads as payload and truncated
//! captures still decode. Never allocates, never panics.

use super::bytes::{read_u16, read_u32};
use super::info::{Fragment, FragmentKey, Layer, NoPortsReason, PacketInfo};
use super::link::Network;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 header without options.
const IPV4_MIN_HEADER_LEN: usize = 20;
/// IPv6 fixed header.
const IPV6_HEADER_LEN: usize = 40;
/// IPv6 fragment header (RFC 8200 section 4.5).
const IPV6_FRAGMENT_HEADER_LEN: usize = 8;

/// IP protocol numbers (IANA "Assigned Internet Protocol Numbers") the walk knows.
pub(crate) mod protocol {
    pub const HOP_BY_HOP: u8 = 0;
    pub const ICMP: u8 = 1;
    pub const IPV4: u8 = 4;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const DCCP: u8 = 33;
    pub const IPV6: u8 = 41;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const GRE: u8 = 47;
    pub const PIM: u8 = 103;
    pub const ESP: u8 = 50;
    pub const AH: u8 = 51;
    pub const ICMPV6: u8 = 58;
    pub const NO_NEXT_HEADER: u8 = 59;
    pub const DESTINATION_OPTIONS: u8 = 60;
    pub const SCTP: u8 = 132;
    pub const MOBILITY: u8 = 135;
    pub const UDP_LITE: u8 = 136;
    pub const HIP: u8 = 139;
    pub const SHIM6: u8 = 140;
    pub const EXPERIMENT_1: u8 = 253;
    pub const EXPERIMENT_2: u8 = 254;
}

/// What follows the IP header (and its extension headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Upper<'a> {
    pub protocol: u8,
    pub payload: &'a [u8],
    /// The capture ended before the length the IP header announced: an empty payload then
    /// means "not captured" rather than "none sent".
    pub cut: bool,
}

/// One decoded IP header. `upper` is an error when the header itself was readable but what
/// follows is not reachable (later fragment, ESP, truncated extension header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IpHeader<'a> {
    pub version: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub fragment: Option<Fragment>,
    pub upper: Result<Upper<'a>, NoPortsReason>,
}

/// Decode the IP header a link or tunnel layer announced, as one value (for ICMP quotations,
/// where the packet's own [`PacketInfo`] must not change). The per-packet path uses
/// [`decode_ip_into`], which this wraps.
pub(crate) fn decode_ip(network: Network<'_>) -> Result<IpHeader<'_>, NoPortsReason> {
    let mut info = PacketInfo::default();
    let upper = decode_ip_into(network, &mut info);
    match (info.ip_version, info.src, info.dst) {
        (Some(version), Some(src), Some(dst)) => Ok(IpHeader {
            version,
            src,
            dst,
            fragment: info.fragment,
            upper,
        }),
        // No header was recorded, so `upper` holds the header's own error.
        _ => Err(match upper {
            Err(reason) => reason,
            Ok(_) => NoPortsReason::Malformed(Layer::Ipv4),
        }),
    }
}

/// Decode the IP header a link or tunnel layer announced and return what follows it.
///
/// Once the header itself is sound, its version and addresses are written to `info`, and its
/// fragment information when it is a fragment (an earlier fragment found in an outer header
/// stays otherwise); an `Err` after that is about what follows the header. An `Err` from a
/// header that is itself unreadable leaves `info` untouched. Writing in place spares the
/// per-packet path a header value twice the size of the fields it carries.
#[inline]
pub(crate) fn decode_ip_into<'a>(
    network: Network<'a>,
    info: &mut PacketInfo,
) -> Result<Upper<'a>, NoPortsReason> {
    match network {
        Network::Ipv4(data) => ipv4(data, info),
        Network::Ipv6(data) => ipv6(data, info),
        Network::ByVersion(data) => match data.first().map(|b| b >> 4) {
            Some(4) => ipv4(data, info),
            Some(6) => ipv6(data, info),
            Some(_) => Err(NoPortsReason::Malformed(Layer::Ipv4)),
            None => Err(NoPortsReason::Truncated(Layer::Ipv4)),
        },
    }
}

fn ipv4<'a>(data: &'a [u8], info: &mut PacketInfo) -> Result<Upper<'a>, NoPortsReason> {
    let first = *data.first().ok_or(NoPortsReason::Truncated(Layer::Ipv4))?;
    // First byte: version (high nibble), IHL in 32-bit words (low nibble).
    if first >> 4 != 4 {
        return Err(NoPortsReason::Malformed(Layer::Ipv4));
    }
    let header_len = usize::from(first & 0x0f) * 4;
    if header_len < IPV4_MIN_HEADER_LEN {
        return Err(NoPortsReason::Malformed(Layer::Ipv4));
    }
    if data.len() < header_len {
        return Err(NoPortsReason::Truncated(Layer::Ipv4));
    }
    // Every field read lies in the fixed 20 bytes; options (IHL above 5) are skipped whole.
    let fixed = *data
        .first_chunk::<IPV4_MIN_HEADER_LEN>()
        .ok_or(NoPortsReason::Truncated(Layer::Ipv4))?;
    // version/IHL, DSCP/ECN, total length (2), identification (2), flags and fragment offset
    // (2), TTL, protocol, header checksum (2), source (4), destination (4)
    let [_, _, len_hi, len_lo, id_hi, id_lo, ff_hi, ff_lo, _, protocol, _, _, s0, s1, s2, s3, d0, d1, d2, d3] =
        fixed;
    let total_len = usize::from(u16::from_be_bytes([len_hi, len_lo]));
    // Total length 0 is what TCP segmentation offload leaves in captured packets: accepted, as
    // tshark does, and the captured bytes bound the payload.
    let end = match total_len {
        0 => data.len(),
        n if n < header_len => return Err(NoPortsReason::Malformed(Layer::Ipv4)),
        n => n.min(data.len()),
    };
    let cut = total_len > data.len();
    // Kept as Ipv4Addr until stored: a whole IpAddr built first went through the stack in
    // narrow stores and came back in one wide load, a store-forwarding stall that perf put at
    // 5% of `summary --threads 1`.
    let src = Ipv4Addr::from([s0, s1, s2, s3]);
    let dst = Ipv4Addr::from([d0, d1, d2, d3]);
    // Flags are the top 3 bits (reserved, DF, MF); the low 13 bits are the offset in 8-byte units.
    let flags_fragment = u16::from_be_bytes([ff_hi, ff_lo]);
    let more_fragments = flags_fragment & 0x2000 != 0;
    let offset = u32::from(flags_fragment & 0x1fff) * 8;
    info.ip_version = Some(4);
    info.src = Some(IpAddr::V4(src));
    info.dst = Some(IpAddr::V4(dst));
    if more_fragments || offset > 0 {
        info.fragment = Some(Fragment {
            key: FragmentKey {
                src: IpAddr::V4(src),
                dst: IpAddr::V4(dst),
                protocol,
                id: u32::from(u16::from_be_bytes([id_hi, id_lo])),
            },
            offset,
            more_fragments,
        });
    }
    let payload = data.get(header_len..end).unwrap_or_default();
    if offset > 0 {
        Err(NoPortsReason::FragmentWithoutPorts)
    } else if protocol == protocol::AH {
        // IPsec AH sits between IPv4 and the transport just as it does in IPv6.
        let mut no_fragment = None;
        extension_headers(
            protocol,
            payload,
            cut,
            IpAddr::V4(src),
            IpAddr::V4(dst),
            &mut no_fragment,
        )
    } else {
        Ok(Upper {
            protocol,
            payload,
            cut,
        })
    }
}

fn ipv6<'a>(data: &'a [u8], info: &mut PacketInfo) -> Result<Upper<'a>, NoPortsReason> {
    let first = *data.first().ok_or(NoPortsReason::Truncated(Layer::Ipv6))?;
    if first >> 4 != 6 {
        return Err(NoPortsReason::Malformed(Layer::Ipv6));
    }
    let (header, rest) = data
        .split_first_chunk::<IPV6_HEADER_LEN>()
        .ok_or(NoPortsReason::Truncated(Layer::Ipv6))?;
    // version, traffic class and flow label (4), payload length (2), next header, hop limit,
    // source (16), destination (16)
    let [_, _, _, _, len_hi, len_lo, next_header, _, addresses @ ..] = *header;
    let (src, dst) = match (addresses.first_chunk::<16>(), addresses.last_chunk::<16>()) {
        (Some(src), Some(dst)) => (
            IpAddr::V6(Ipv6Addr::from(*src)),
            IpAddr::V6(Ipv6Addr::from(*dst)),
        ),
        _ => return Err(NoPortsReason::Truncated(Layer::Ipv6)),
    };
    let payload_len = usize::from(u16::from_be_bytes([len_hi, len_lo]));
    info.ip_version = Some(6);
    info.src = Some(src);
    info.dst = Some(dst);
    // Payload length 0 with a hop-by-hop header is a jumbogram (RFC 2675): the real length is
    // in the jumbo option, which must exceed 65535. Without a valid one the length is unknown
    // (tshark stops there too).
    let announced_len = if payload_len == 0 && next_header == protocol::HOP_BY_HOP {
        jumbo_payload_len(rest)?
    } else {
        payload_len
    };
    let cut = announced_len > rest.len();
    let payload = rest.get(..announced_len).unwrap_or(rest);
    match next_header {
        // The common case: the transport follows the fixed header directly.
        protocol::TCP | protocol::UDP => Ok(Upper {
            protocol: next_header,
            payload,
            cut,
        }),
        _ => extension_headers(next_header, payload, cut, src, dst, &mut info.fragment),
    }
}

/// Walk IPv6 extension headers from `next_header` to the upper-layer protocol.
fn extension_headers<'a>(
    next_header: u8,
    payload: &'a [u8],
    cut: bool,
    src: IpAddr,
    dst: IpAddr,
    fragment: &mut Option<Fragment>,
) -> Result<Upper<'a>, NoPortsReason> {
    let mut next = next_header;
    let mut rest = payload;
    // Every header consumes at least 8 bytes, so the walk ends with the bytes.
    loop {
        let header_len = match next {
            protocol::HOP_BY_HOP | protocol::DESTINATION_OPTIONS => {
                let units = *rest
                    .get(1)
                    .ok_or(NoPortsReason::Truncated(Layer::Ipv6Ext))?;
                let len = (usize::from(units) + 1) * 8;
                let header = rest
                    .get(..len)
                    .ok_or(NoPortsReason::Truncated(Layer::Ipv6Ext))?;
                check_options(header)?;
                len
            }
            protocol::ROUTING
            | protocol::MOBILITY
            | protocol::HIP
            | protocol::SHIM6
            | protocol::EXPERIMENT_1
            | protocol::EXPERIMENT_2 => {
                // Hdr Ext Len counts 8-octet units beyond the first 8 (RFC 8200 section 4.3).
                let units = *rest
                    .get(1)
                    .ok_or(NoPortsReason::Truncated(Layer::Ipv6Ext))?;
                (usize::from(units) + 1) * 8
            }
            protocol::AH => {
                // AH's Payload Len counts 4-octet units minus 2 (RFC 4302 section 2.2).
                let units = *rest
                    .get(1)
                    .ok_or(NoPortsReason::Truncated(Layer::Ipv6Ext))?;
                (usize::from(units) + 2) * 4
            }
            protocol::FRAGMENT => {
                let offset_flags =
                    read_u16(rest, 2).ok_or(NoPortsReason::Truncated(Layer::Ipv6Ext))?;
                let id = read_u32(rest, 4).ok_or(NoPortsReason::Truncated(Layer::Ipv6Ext))?;
                // The top 13 bits are the offset in 8-octet units, bit 0 is M (more fragments).
                let offset = u32::from(offset_flags & 0xfff8);
                let more_fragments = offset_flags & 1 != 0;
                if offset > 0 || more_fragments {
                    *fragment = Some(Fragment {
                        key: FragmentKey {
                            src,
                            dst,
                            protocol: 0,
                            id,
                        },
                        offset,
                        more_fragments,
                    });
                }
                if offset > 0 {
                    return Err(NoPortsReason::FragmentWithoutPorts);
                }
                IPV6_FRAGMENT_HEADER_LEN
            }
            protocol::ESP | protocol::NO_NEXT_HEADER => {
                return Err(NoPortsReason::NoTransport(next))
            }
            upper => {
                return Ok(Upper {
                    protocol: upper,
                    payload: rest,
                    cut,
                })
            }
        };
        next = *rest
            .first()
            .ok_or(NoPortsReason::Truncated(Layer::Ipv6Ext))?;
        rest = rest
            .get(header_len..)
            .ok_or(NoPortsReason::Truncated(Layer::Ipv6Ext))?;
    }
}

/// Jumbo Payload option (RFC 2675 section 2): type 0xC2, data length 4, a 32-bit length.
const JUMBO_OPTION: u8 = 0xc2;
const JUMBO_OPTION_DATA_LEN: u8 = 4;
/// Jumbograms are only for payloads that do not fit the 16-bit payload length.
const MIN_JUMBO_PAYLOAD_LEN: u32 = 65_536;

/// The payload length a hop-by-hop header's Jumbo Payload option announces.
fn jumbo_payload_len(hop_by_hop: &[u8]) -> Result<usize, NoPortsReason> {
    let units = *hop_by_hop
        .get(1)
        .ok_or(NoPortsReason::Truncated(Layer::Ipv6Ext))?;
    let header = hop_by_hop
        .get(..(usize::from(units) + 1) * 8)
        .ok_or(NoPortsReason::Truncated(Layer::Ipv6Ext))?;
    let mut at = 2;
    while let Some(&option_type) = header.get(at) {
        if option_type == 0 {
            at += 1;
            continue;
        }
        let data_len = *header
            .get(at + 1)
            .ok_or(NoPortsReason::Malformed(Layer::Ipv6Ext))?;
        if option_type == JUMBO_OPTION && data_len == JUMBO_OPTION_DATA_LEN {
            return match read_u32(header, at + 2) {
                Some(len) if len >= MIN_JUMBO_PAYLOAD_LEN => {
                    usize::try_from(len).map_err(|_| NoPortsReason::Malformed(Layer::Ipv6Ext))
                }
                _ => Err(NoPortsReason::Malformed(Layer::Ipv6Ext)),
            };
        }
        at += 2 + usize::from(data_len);
    }
    Err(NoPortsReason::Malformed(Layer::Ipv6Ext))
}

const HOME_ADDRESS_OPTION: u8 = 0xc9;
const HOME_ADDRESS_LEN: usize = 16;

/// The TLV options of a hop-by-hop or destination options header (RFC 8200 section 4.2) must
/// end inside the header: an option running past it makes the header malformed (tshark stops
/// there too).
fn check_options(header: &[u8]) -> Result<(), NoPortsReason> {
    // Options start after next header (1) and length (1).
    let mut at = 2;
    while at < header.len() {
        let option_type = header.get(at).copied().unwrap_or_default();
        if option_type == 0 {
            // Pad1 is the one option without a length byte.
            at += 1;
            continue;
        }
        let data_len = header
            .get(at + 1)
            .copied()
            .ok_or(NoPortsReason::Malformed(Layer::Ipv6Ext))?;
        // The Home Address option always carries one 16-byte address (RFC 6275 section 6.3);
        // tshark reads those 16 bytes whatever the length byte claims, and so do we.
        let data_len = if option_type == HOME_ADDRESS_OPTION {
            HOME_ADDRESS_LEN
        } else {
            usize::from(data_len)
        };
        at += 2 + data_len;
        if at > header.len() {
            return Err(NoPortsReason::Malformed(Layer::Ipv6Ext));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IPv4, IHL 6 (one 4-byte option), total length 32, id 0x1234, MF set, offset 0, TTL 64,
    /// protocol UDP, checksum 0, 10.0.0.1 -> 10.0.0.2, option NOP x3 + EOL, then 8 UDP bytes.
    const IPV4_OPTIONS_MF: [u8; 32] = [
        0x46, 0x00, 0x00, 0x20, // version 4, IHL 6, TOS, total length 32
        0x12, 0x34, 0x20, 0x00, // id, flags MF, offset 0
        0x40, 0x11, 0x00, 0x00, // TTL, protocol 17, checksum
        10, 0, 0, 1, // source
        10, 0, 0, 2, // destination
        0x01, 0x01, 0x01, 0x00, // options: NOP NOP NOP EOL
        0x04, 0xd2, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00, // UDP 1234 -> 53
    ];

    #[test]
    fn ipv4_options_skipped_and_first_fragment_flagged() {
        let h = decode_ip(Network::Ipv4(&IPV4_OPTIONS_MF)).unwrap();
        let upper = h.upper.unwrap();
        assert_eq!(upper.protocol, protocol::UDP);
        assert_eq!(upper.payload.first(), Some(&0x04));
        assert_eq!(upper.payload.len(), 8);
        let frag = h.fragment.unwrap();
        assert_eq!(
            (frag.offset, frag.more_fragments, frag.key.id),
            (0, true, 0x1234)
        );
    }

    #[test]
    fn ipv4_padding_excluded_and_tso_zero_length_accepted() {
        let mut padded = IPV4_OPTIONS_MF.to_vec();
        padded.extend_from_slice(&[0; 6]);
        let h = decode_ip(Network::Ipv4(&padded)).unwrap();
        assert_eq!(h.upper.unwrap().payload.len(), 8);
        let mut tso = padded.clone();
        tso[2] = 0;
        tso[3] = 0;
        assert_eq!(
            decode_ip(Network::Ipv4(&tso))
                .unwrap()
                .upper
                .unwrap()
                .payload
                .len(),
            14
        );
    }

    #[test]
    fn ipv4_malformed_fields() {
        let mut low_ihl = IPV4_OPTIONS_MF;
        low_ihl[0] = 0x44;
        assert_eq!(
            decode_ip(Network::Ipv4(&low_ihl)),
            Err(NoPortsReason::Malformed(Layer::Ipv4))
        );
        let mut short_total = IPV4_OPTIONS_MF;
        short_total[3] = 20; // below the 24-byte header
        assert_eq!(
            decode_ip(Network::Ipv4(&short_total)),
            Err(NoPortsReason::Malformed(Layer::Ipv4))
        );
        assert_eq!(
            decode_ip(Network::Ipv4(&IPV6_HBH_FRAG_UDP)),
            Err(NoPortsReason::Malformed(Layer::Ipv4))
        );
    }

    #[test]
    fn ipv4_authentication_header_skipped() {
        let mut ah = IPV4_OPTIONS_MF.to_vec();
        ah[9] = protocol::AH;
        ah[3] = 44; // total length: 24 header + 12 AH + 8 UDP
        let udp = ah.split_off(24);
        // AH: next header UDP, payload len 1 (= 3 words), reserved, SPI, sequence.
        ah.extend_from_slice(&[17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9]);
        ah.extend_from_slice(&udp);
        let upper = decode_ip(Network::Ipv4(&ah)).unwrap().upper.unwrap();
        assert_eq!((upper.protocol, upper.payload.len()), (protocol::UDP, 8));
    }

    #[test]
    fn ipv4_later_fragment_has_no_upper() {
        let mut later = IPV4_OPTIONS_MF;
        later[6] = 0x00;
        later[7] = 0x03; // offset 3 * 8 = 24, MF clear
        let h = decode_ip(Network::Ipv4(&later)).unwrap();
        assert_eq!(h.upper, Err(NoPortsReason::FragmentWithoutPorts));
        assert_eq!(h.fragment.unwrap().offset, 24);
    }

    /// IPv6, payload length 24, next header hop-by-hop, ::1 -> ::2; hop-by-hop (8 bytes, PadN);
    /// fragment header (offset 0, M set, id 0xabcdef01); UDP 1234 -> 53 (8 bytes).
    const IPV6_HBH_FRAG_UDP: [u8; 64] = [
        0x60, 0x00, 0x00, 0x00, // version 6, traffic class, flow label
        0x00, 0x18, 0x00, 0x40, // payload length 24, next header 0 (HBH), hop limit 64
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, // source ::1
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, // destination ::2
        0x2c, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, // HBH: next 44, len 0, PadN 4
        0x11, 0x00, 0x00, 0x01, 0xab, 0xcd, 0xef, 0x01, // fragment: next 17, offset 0, M, id
        0x04, 0xd2, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00, // UDP 1234 -> 53
    ];

    #[test]
    fn ipv6_extension_headers_walked() {
        let h = decode_ip(Network::ByVersion(&IPV6_HBH_FRAG_UDP)).unwrap();
        assert_eq!(h.version, 6);
        let upper = h.upper.unwrap();
        assert_eq!(upper.protocol, protocol::UDP);
        assert_eq!(upper.payload.len(), 8);
        assert_eq!(h.fragment.unwrap().key.id, 0xabcd_ef01);
    }

    #[test]
    fn ipv6_option_running_past_its_header_is_malformed() {
        let mut bad = IPV6_HBH_FRAG_UDP;
        bad[43] = 5; // PadN claims 5 data bytes, only 4 remain in the 8-byte header
        let h = decode_ip(Network::Ipv6(&bad)).unwrap();
        assert_eq!(h.upper, Err(NoPortsReason::Malformed(Layer::Ipv6Ext)));
    }

    #[test]
    fn ipv6_esp_stops() {
        let mut esp = IPV6_HBH_FRAG_UDP;
        esp[40] = protocol::ESP;
        let h = decode_ip(Network::Ipv6(&esp)).unwrap();
        assert_eq!(h.upper, Err(NoPortsReason::NoTransport(50)));
    }

    #[test]
    fn ipv6_jumbogram_needs_a_valid_jumbo_option() {
        let mut jumbo = IPV6_HBH_FRAG_UDP;
        jumbo[5] = 0; // payload length 0
                      // Replace PadN with the Jumbo Payload option, length 70000 (more than captured).
        jumbo[42..48].copy_from_slice(&[0xc2, 4, 0x00, 0x01, 0x11, 0x70]);
        let h = decode_ip(Network::Ipv6(&jumbo)).unwrap();
        let upper = h.upper.unwrap();
        assert_eq!(
            (upper.protocol, upper.payload.len(), upper.cut),
            (17, 8, true)
        );
        // A jumbo length that would have fit the 16-bit field is invalid.
        jumbo[44..48].copy_from_slice(&[0, 0, 0, 24]);
        let h = decode_ip(Network::Ipv6(&jumbo)).unwrap();
        assert_eq!(h.upper, Err(NoPortsReason::Malformed(Layer::Ipv6Ext)));
        // Payload length 0 without any jumbo option: the length is unknown.
        let mut no_option = IPV6_HBH_FRAG_UDP;
        no_option[5] = 0;
        let h = decode_ip(Network::Ipv6(&no_option)).unwrap();
        assert_eq!(h.upper, Err(NoPortsReason::Malformed(Layer::Ipv6Ext)));
    }

    #[test]
    fn truncated_at_every_length() {
        for fixture in [&IPV4_OPTIONS_MF[..], &IPV6_HBH_FRAG_UDP[..]] {
            for len in 0..fixture.len() {
                let prefix = fixture.get(..len).unwrap_or_default();
                match decode_ip(Network::ByVersion(prefix)) {
                    Err(NoPortsReason::Truncated(_)) => {}
                    Ok(IpHeader {
                        upper: Err(NoPortsReason::Truncated(Layer::Ipv6Ext)),
                        ..
                    }) => {}
                    Ok(IpHeader { upper: Ok(u), .. }) => {
                        assert_eq!(u.protocol, protocol::UDP);
                        assert_eq!(u.payload.len(), len - (fixture.len() - 8));
                    }
                    other => panic!("prefix {len}: {other:?}"),
                }
            }
        }
    }
}

//! IEEE 802.11 link layers: plain 802.11 frames (LINKTYPE_IEEE802_11, 105), behind a radiotap
//! header (LINKTYPE_IEEE802_11_RADIOTAP, 127) or a PPI header (LINKTYPE_PPI, 192).
//!
//! A data frame's MSDU starts with LLC/SNAP, whose EtherType says IPv4 or IPv6; every other
//! frame has no ports and says why ([`WlanFrame`]): management, control and extension frames,
//! data frames without data (Null, QoS Null), protected (encrypted) data frames and fragments.
//! Never allocates, never panics.
//!
//! Specifications: IEEE 802.11-2020 section 9.2 (MAC frame format), radiotap.org (header and
//! field alignment), the PPI specification 1.0.10 (CACE Technologies), tcpdump.org/linktypes.

use super::bytes::{read_u16_le, read_u32_le};
use super::info::{Layer, NoPortsReason, WlanFrame};
use super::link::{self, Network};
use crate::linktype::LinkType;

/// Frame control (2), duration (2), addresses 1-3 (18), sequence control (2).
const HEADER_LEN: usize = 24;
/// Address 4, present when both To DS and From DS are set.
const ADDR4_LEN: usize = 6;
/// QoS control, in QoS data subtypes.
const QOS_LEN: usize = 2;
/// HT control, in QoS data frames whose Order flag is set.
const HT_CONTROL_LEN: usize = 4;
/// A-MSDU subframe header: destination (6), source (6), length (2).
const AMSDU_SUBFRAME_LEN: usize = 14;
/// Mesh control without address extension: flags (1), TTL (1), sequence number (4).
const MESH_CONTROL_LEN: usize = 6;
/// Mesh flags: the address extension mode (0 none, 1 one address, 2 two addresses).
const MESH_ADDRESS_EXTENSION: u8 = 0x03;
/// The frame check sequence at the end of a frame, when the capture kept it.
const FCS_LEN: usize = 4;

/// Frame control flags (second byte).
const TO_DS: u8 = 0x01;
const FROM_DS: u8 = 0x02;
const MORE_FRAGMENTS: u8 = 0x04;
const PROTECTED: u8 = 0x40;
const ORDER: u8 = 0x80;

/// An 802.11 frame starting at its frame control field; `fcs` when its last 4 bytes are the
/// FCS, `data_pad` when the capture padded the MAC header to a multiple of 4 bytes (radiotap's
/// flag 0x20).
pub(crate) fn ieee80211(
    data: &[u8],
    fcs: bool,
    data_pad: bool,
) -> Result<Network<'_>, NoPortsReason> {
    let truncated = NoPortsReason::Truncated(Layer::Wlan);
    let (fc0, fc1) = match data {
        [fc0, fc1, ..] => (*fc0, *fc1),
        _ => return Err(truncated),
    };
    // Frame control, first byte: protocol version (bits 0-1), type (2-3), subtype (4-7).
    if fc0 & 0x03 != 0 {
        return Err(NoPortsReason::Malformed(Layer::Wlan));
    }
    let subtype = fc0 >> 4;
    match (fc0 >> 2) & 0x03 {
        0 => return Err(NoPortsReason::Wlan(WlanFrame::Management)),
        1 => return Err(NoPortsReason::Wlan(WlanFrame::Control)),
        3 => return Err(NoPortsReason::Wlan(WlanFrame::Extension)),
        _ => {}
    }
    // Data subtypes with bit 2 set (Null, CF-Ack, CF-Poll, QoS Null ...) carry no MSDU.
    if subtype & 0x04 != 0 {
        return Err(NoPortsReason::Wlan(WlanFrame::NoData));
    }
    if fc1 & PROTECTED != 0 {
        return Err(NoPortsReason::Wlan(WlanFrame::Encrypted));
    }
    let qos = subtype & 0x08 != 0;
    let mut header_len = HEADER_LEN;
    if fc1 & (TO_DS | FROM_DS) == TO_DS | FROM_DS {
        header_len += ADDR4_LEN;
    }
    let qos_at = header_len;
    if qos {
        header_len += QOS_LEN;
        if fc1 & ORDER != 0 {
            header_len += HT_CONTROL_LEN;
        }
    }
    let body_end = if fcs {
        data.len().checked_sub(FCS_LEN).ok_or(truncated)?
    } else {
        data.len()
    };
    let frame = data.get(..body_end).ok_or(truncated)?;
    // Sequence control: fragment number in its low 4 bits.
    let fragment_number = frame.get(22).ok_or(truncated)? & 0x0f;
    if fc1 & MORE_FRAGMENTS != 0 || fragment_number != 0 {
        return Err(NoPortsReason::Wlan(WlanFrame::Fragment));
    }
    // QoS control, first byte, bit 7: the body is an A-MSDU; its first subframe is read.
    let amsdu = qos && frame.get(qos_at).ok_or(truncated)? & 0x80 != 0;
    // QoS control, second byte, bit 0 in a four-address frame: a mesh control field (IEEE
    // 802.11-2020 9.2.4.7.3) starts the body, taken as one (as tshark does) when its flags
    // leave the reserved bits clear: flags, TTL, sequence (4), 0, 6 or 12 address bytes.
    let four_address = fc1 & (TO_DS | FROM_DS) == TO_DS | FROM_DS;
    let mesh_present = qos && four_address && frame.get(qos_at + 1).ok_or(truncated)? & 0x01 != 0;
    if data_pad {
        header_len = header_len.next_multiple_of(4);
    }
    let mut body = frame.get(header_len..).ok_or(truncated)?;
    if mesh_present {
        let flags = *body.first().ok_or(truncated)?;
        if flags & !MESH_ADDRESS_EXTENSION == 0 {
            let len = MESH_CONTROL_LEN + usize::from(flags & MESH_ADDRESS_EXTENSION) * 6;
            body = body.get(len..).ok_or(truncated)?;
        }
    }
    if amsdu {
        body = body.get(AMSDU_SUBFRAME_LEN..).ok_or(truncated)?;
    }
    if body.is_empty() {
        return Err(truncated);
    }
    link::llc_snap(body)
}

/// Radiotap present-word bits this decoder reads (radiotap.org, "Defined fields").
const RADIOTAP_TSFT: u32 = 1 << 0;
const RADIOTAP_FLAGS: u32 = 1 << 1;
/// Another present word follows.
const RADIOTAP_EXT: u32 = 1 << 31;
/// Flags field bits: the frame ends with its FCS; the header is padded to 4 bytes.
const RADIOTAP_FLAG_FCS: u8 = 0x10;
const RADIOTAP_FLAG_DATA_PAD: u8 = 0x20;
/// Version (1), pad (1), length (2, little-endian), first present word (4).
const RADIOTAP_MIN_LEN: usize = 8;
/// Present words followed before calling the header malformed.
const MAX_PRESENT_WORDS: usize = 64;

/// A radiotap header, then an 802.11 frame. Only the Flags field matters here (FCS at the end,
/// header padding); it is the second field, after TSFT (8 bytes, aligned to 8 from the start
/// of the header), and follows every present word.
pub(crate) fn radiotap(data: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    let truncated = NoPortsReason::Truncated(Layer::Link);
    let version = *data.first().ok_or(truncated)?;
    let len = usize::from(read_u16_le(data, 2).ok_or(truncated)?);
    if version != 0 || len < RADIOTAP_MIN_LEN {
        return Err(NoPortsReason::Malformed(Layer::Link));
    }
    let header = data.get(..len).ok_or(truncated)?;
    let present = read_u32_le(header, 4).ok_or(truncated)?;
    let mut offset = 4;
    let mut word = present;
    for _ in 0..MAX_PRESENT_WORDS {
        offset += 4;
        if word & RADIOTAP_EXT == 0 {
            break;
        }
        word = read_u32_le(header, offset).ok_or(NoPortsReason::Malformed(Layer::Link))?;
    }
    if word & RADIOTAP_EXT != 0 {
        return Err(NoPortsReason::Malformed(Layer::Link));
    }
    let mut flags = 0;
    if present & RADIOTAP_TSFT != 0 {
        offset = offset.next_multiple_of(8) + 8;
    }
    if present & RADIOTAP_FLAGS != 0 {
        flags = *header
            .get(offset)
            .ok_or(NoPortsReason::Malformed(Layer::Link))?;
    }
    let frame = data.get(len..).unwrap_or_default();
    ieee80211(
        frame,
        flags & RADIOTAP_FLAG_FCS != 0,
        flags & RADIOTAP_FLAG_DATA_PAD != 0,
    )
}

/// PPI header: version (1), flags (1), length (2), DLT of the payload (4), all little-endian.
const PPI_HEADER_LEN: usize = 8;
/// PPI field header: type (2), length (2).
const PPI_FIELD_HEADER_LEN: usize = 4;
/// The 802.11-Common field; its flags (after the 8-byte TSF timer) say whether the FCS is kept.
const PPI_80211_COMMON: u16 = 2;
const PPI_COMMON_FLAGS_AT: usize = 8;
const PPI_COMMON_FCS: u16 = 0x0001;
/// PPI header flag: fields are aligned to 4 bytes.
const PPI_FLAG_ALIGN: u8 = 0x01;
const MAX_PPI_FIELDS: usize = 64;

/// A PPI header (its fields, the 802.11-Common field's FCS flag read), then a frame of the
/// link type its DLT names: 802.11 usually, any other link type portnote decodes too.
pub(crate) fn ppi(data: &[u8]) -> Result<Network<'_>, NoPortsReason> {
    let truncated = NoPortsReason::Truncated(Layer::Link);
    let (version, flags) = match data {
        [version, flags, ..] => (*version, *flags),
        _ => return Err(truncated),
    };
    let len = usize::from(read_u16_le(data, 2).ok_or(truncated)?);
    let dlt = read_u32_le(data, 4).ok_or(truncated)?;
    if version != 0 || len < PPI_HEADER_LEN {
        return Err(NoPortsReason::Malformed(Layer::Link));
    }
    let header = data.get(..len).ok_or(truncated)?;
    let payload = data.get(len..).unwrap_or_default();
    let mut fcs = false;
    let mut at = PPI_HEADER_LEN;
    for _ in 0..MAX_PPI_FIELDS {
        let (Some(field_type), Some(field_len)) =
            (read_u16_le(header, at), read_u16_le(header, at + 2))
        else {
            break;
        };
        let field_len = usize::from(field_len);
        if field_type == PPI_80211_COMMON {
            let flags_at = at + PPI_FIELD_HEADER_LEN + PPI_COMMON_FLAGS_AT;
            fcs = read_u16_le(header, flags_at).is_some_and(|f| f & PPI_COMMON_FCS != 0);
        }
        at += PPI_FIELD_HEADER_LEN + field_len;
        if flags & PPI_FLAG_ALIGN != 0 {
            at = at.next_multiple_of(4);
        }
    }
    match LinkType(dlt) {
        LinkType::IEEE802_11 => ieee80211(payload, fcs, false),
        // A PPI header inside a PPI header is not followed.
        LinkType::PPI => Err(NoPortsReason::Malformed(Layer::Link)),
        other => link::decode_link(other, payload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LLC/SNAP with EtherType IPv4, then the first byte of an IPv4 header.
    const SNAP_IPV4: [u8; 9] = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, 0x45];

    fn data_frame(fc0: u8, fc1: u8, extra: usize) -> Vec<u8> {
        let mut f = vec![fc0, fc1];
        f.resize(HEADER_LEN + extra, 0x11);
        f[22] = 0x10; // sequence number 1, fragment 0
        f[23] = 0;
        f
    }

    #[test]
    fn data_frame_header_lengths() {
        // Data, From DS: 24-byte header.
        let mut f = data_frame(0x08, FROM_DS, 0);
        f.extend_from_slice(&SNAP_IPV4);
        assert_eq!(ieee80211(&f, false, false), Ok(Network::Ipv4(&[0x45])));
        // QoS data, To DS and From DS: address 4 and QoS control (A-MSDU bit clear).
        let mut f = data_frame(0x88, TO_DS | FROM_DS, ADDR4_LEN + QOS_LEN);
        f[30] = 0;
        f.extend_from_slice(&SNAP_IPV4);
        assert_eq!(ieee80211(&f, false, false), Ok(Network::Ipv4(&[0x45])));
        // QoS data with Order: HT control follows the QoS control.
        let mut f = data_frame(0x88, TO_DS | ORDER, QOS_LEN + HT_CONTROL_LEN);
        f[24] = 0;
        f.extend_from_slice(&SNAP_IPV4);
        assert_eq!(ieee80211(&f, false, false), Ok(Network::Ipv4(&[0x45])));
        // Plain data with Order has no HT control (strictly ordered service only).
        let mut f = data_frame(0x08, TO_DS | ORDER, 0);
        f.extend_from_slice(&SNAP_IPV4);
        assert_eq!(ieee80211(&f, false, false), Ok(Network::Ipv4(&[0x45])));
        // FCS at the end is cut off; the data pad rounds 26 up to 28.
        let mut f = data_frame(0x88, 0, QOS_LEN + 2);
        f[24] = 0;
        f.extend_from_slice(&SNAP_IPV4);
        f.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(ieee80211(&f, true, true), Ok(Network::Ipv4(&[0x45])));
    }

    #[test]
    fn mesh_control_and_amsdu_subframe_are_skipped() {
        // Mesh QoS data: four addresses, QoS control with Mesh Control Present, mesh control
        // with one extension address (6 + 6 bytes).
        let mut f = data_frame(0x88, TO_DS | FROM_DS, ADDR4_LEN + QOS_LEN);
        f[30] = 0;
        f[31] = 0x01;
        f.extend_from_slice(&[0x01, 31, 1, 0, 0, 0]);
        f.extend_from_slice(&[0x22; 6]);
        f.extend_from_slice(&SNAP_IPV4);
        assert_eq!(ieee80211(&f, false, false), Ok(Network::Ipv4(&[0x45])));
        // A-MSDU: the first subframe's header (destination, source, length) precedes LLC.
        let mut f = data_frame(0x88, TO_DS, QOS_LEN);
        f[24] = 0x80;
        f[25] = 0;
        f.extend_from_slice(&[0x33; 12]);
        f.extend_from_slice(&(SNAP_IPV4.len() as u16).to_be_bytes());
        f.extend_from_slice(&SNAP_IPV4);
        assert_eq!(ieee80211(&f, false, false), Ok(Network::Ipv4(&[0x45])));
    }

    #[test]
    fn frames_without_an_msdu_say_why() {
        let wlan = |w| Err(NoPortsReason::Wlan(w));
        // Beacon (management), ACK (control).
        assert_eq!(
            ieee80211(&[0x80, 0, 0, 0], false, false),
            wlan(WlanFrame::Management)
        );
        assert_eq!(
            ieee80211(&[0xd4, 0, 0, 0], false, false),
            wlan(WlanFrame::Control)
        );
        // Null function and QoS Null.
        assert_eq!(
            ieee80211(&data_frame(0x48, TO_DS, 0), false, false),
            wlan(WlanFrame::NoData)
        );
        assert_eq!(
            ieee80211(&data_frame(0xc8, TO_DS, 2), false, false),
            wlan(WlanFrame::NoData)
        );
        // Protected QoS data.
        let f = data_frame(0x88, TO_DS | PROTECTED, 2 + 8 + 40);
        assert_eq!(ieee80211(&f, false, false), wlan(WlanFrame::Encrypted));
        // First fragment of a fragmented MSDU.
        let mut f = data_frame(0x08, FROM_DS | MORE_FRAGMENTS, 0);
        f.extend_from_slice(&SNAP_IPV4);
        assert_eq!(ieee80211(&f, false, false), wlan(WlanFrame::Fragment));
        // Protocol version 1 is not a frame this decoder knows.
        assert_eq!(
            ieee80211(&[0x09, 0, 0, 0], false, false),
            Err(NoPortsReason::Malformed(Layer::Wlan))
        );
    }

    #[test]
    fn radiotap_tsft_then_flags_with_fcs() {
        // Present: TSFT and Flags, with one extension word (bit 31) that announces nothing.
        let mut f = vec![0, 0, 0, 0];
        f.extend_from_slice(&(RADIOTAP_TSFT | RADIOTAP_FLAGS | RADIOTAP_EXT).to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        // Fields start at 12; TSFT aligns to 16.
        f.extend_from_slice(&[0; 4]);
        f.extend_from_slice(&[7; 8]);
        f.push(RADIOTAP_FLAG_FCS);
        let len = f.len() as u16;
        f[2..4].copy_from_slice(&len.to_le_bytes());
        let mut frame = data_frame(0x08, FROM_DS, 0);
        frame.extend_from_slice(&SNAP_IPV4);
        f.extend_from_slice(&frame);
        f.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(radiotap(&f), Ok(Network::Ipv4(&[0x45])));
        // Without the FCS flag the FCS bytes stay in the IP payload.
        let flags_at = 24;
        f[flags_at] = 0;
        assert_eq!(
            radiotap(&f),
            Ok(Network::Ipv4(&[0x45, 0xde, 0xad, 0xbe, 0xef]))
        );
    }

    #[test]
    fn ppi_with_common_field_fcs_flag() {
        let mut f = vec![0, 0, 0, 0];
        f.extend_from_slice(&105u32.to_le_bytes());
        // 802.11-Common field, 20 bytes; flags at 8 say the FCS is present.
        f.extend_from_slice(&PPI_80211_COMMON.to_le_bytes());
        f.extend_from_slice(&20u16.to_le_bytes());
        let mut common = [0u8; 20];
        common[8] = 0x01;
        f.extend_from_slice(&common);
        let len = f.len() as u16;
        f[2..4].copy_from_slice(&len.to_le_bytes());
        let mut frame = data_frame(0x08, TO_DS, 0);
        frame.extend_from_slice(&SNAP_IPV4);
        f.extend_from_slice(&frame);
        f.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(ppi(&f), Ok(Network::Ipv4(&[0x45])));
        // DLT Ethernet behind PPI.
        let mut e = vec![0, 0, 8, 0];
        e.extend_from_slice(&1u32.to_le_bytes());
        e.extend_from_slice(&[0; 12]);
        e.extend_from_slice(&[0x86, 0xdd, 0x60]);
        assert_eq!(ppi(&e), Ok(Network::Ipv6(&[0x60])));
    }

    #[test]
    fn every_prefix_is_an_error_or_the_frame_never_a_panic() {
        let mut frame = data_frame(0x88, TO_DS | FROM_DS | ORDER, 12);
        frame.extend_from_slice(&SNAP_IPV4);
        // The last byte is the IPv4 header's first: every shorter prefix lacks it.
        for len in 0..frame.len() - 1 {
            let prefix = &frame[..len];
            assert!(ieee80211(prefix, false, false).is_err(), "prefix {len}");
            let _ = radiotap(prefix);
            let _ = ppi(prefix);
            let _ = ieee80211(prefix, true, true);
        }
    }
}

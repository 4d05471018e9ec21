//! The pcapng format (draft-ietf-opsawg-pcapng): a stream of blocks, each
//! `type(4) total_length(4) body total_length(4)`, grouped into sections that each start with a
//! Section Header Block fixing the byte order and restarting interface numbering.
//!
//! [`Section`] is fed one whole block at a time (the reader in the parent module finds its
//! length with [`Section::block_len`] first) and answers with the packet it holds, if any.
//! Packets come from Enhanced (6), Simple (3) and obsolete Packet (2) Blocks; every other block
//! type, custom blocks included, is read past. Never panics: every field read is bounds-checked.

use super::endian::Endian;
use super::error::CaptureErrorKind;
use super::{caplen_limit, InterfaceDescription, PacketRef, Timestamp, MAX_RECORD_LEN};
use crate::linktype::LinkType;

const SECTION_HEADER: u32 = 0x0A0D_0D0A;
/// The Section Header Block type, as it appears in either byte order (it is a palindrome).
pub(crate) const SECTION_HEADER_BYTES: [u8; 4] = [0x0A, 0x0D, 0x0D, 0x0A];
const INTERFACE_DESCRIPTION: u32 = 1;
const OBSOLETE_PACKET: u32 = 2;
const SIMPLE_PACKET: u32 = 3;
const ENHANCED_PACKET: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// type(4) total_length(4), then at least the trailing total_length(4).
pub(crate) const MIN_BLOCK_LEN: usize = 12;
/// type, length, byte-order magic(4) version(2+2) section_length(8), trailing length.
const MIN_SECTION_HEADER_LEN: usize = 28;
/// Offset of a block's body: after type and total_length.
const BODY_AT: usize = 8;

const OPT_END_OF_OPT: u16 = 0;
pub(crate) const OPT_IF_NAME: u16 = 2;
pub(crate) const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

/// One Interface Description Block, as packets need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interface {
    pub(crate) linktype: LinkType,
    /// 0 means "no limit".
    pub(crate) snaplen: u32,
    /// Timestamp ticks per second (`if_tsresol`, default 10^6).
    pub(crate) ticks_per_second: u64,
    /// Decimal digits needed to show one tick.
    pub(crate) digits: u8,
    /// `if_tsoffset`: seconds added to every timestamp.
    pub(crate) offset_secs: i64,
}

impl Interface {
    fn timestamp(&self, ticks: u64) -> Timestamp {
        // Microseconds and nanoseconds, what nearly every file uses, divide by constants (a
        // multiplication each); any other resolution takes the general 128-bit path.
        let (whole, fraction) = match self.ticks_per_second {
            1_000_000 => (ticks / 1_000_000, (ticks % 1_000_000) * 1_000),
            1_000_000_000 => (ticks / 1_000_000_000, ticks % 1_000_000_000),
            other => {
                let per_second = other.max(1);
                let fraction =
                    u128::from(ticks % per_second) * 1_000_000_000 / u128::from(per_second);
                (ticks / per_second, u64::try_from(fraction).unwrap_or(0))
            }
        };
        Timestamp {
            secs: i64::try_from(whole)
                .unwrap_or(i64::MAX)
                .saturating_add(self.offset_secs),
            // fraction < 10^9 because (ticks % per_second) < per_second.
            nanos: u32::try_from(fraction).unwrap_or(0),
            digits: self.digits,
        }
    }

    /// Captured length permitted by this interface (see [`caplen_limit`]).
    fn caplen_limit(&self) -> u32 {
        caplen_limit(self.snaplen)
    }
}

/// The state of the section being read: its byte order and its interfaces so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Section {
    endian: Option<Endian>,
    interfaces: Vec<Interface>,
    /// The same interfaces as their blocks describe them, for frames to point at
    /// ([`super::Origin`]); kept apart so the per-packet [`Interface`] stays small and `Copy`.
    described: Vec<InterfaceDescription>,
}

impl Section {
    /// Total length of the block starting `head` (at least [`MIN_BLOCK_LEN`] bytes of it),
    /// checked against the format's rules and [`MAX_RECORD_LEN`].
    pub(crate) fn block_len(&self, head: &[u8]) -> Result<usize, CaptureErrorKind> {
        let (endian, minimum) = if head.get(..4) == Some(&SECTION_HEADER_BYTES[..]) {
            (section_byte_order(head)?, MIN_SECTION_HEADER_LEN)
        } else {
            (self.endian.unwrap_or(Endian::Little), MIN_BLOCK_LEN)
        };
        let length = endian.u32(head, 4).ok_or(CaptureErrorKind::Truncated {
            what: "pcapng block header",
            needed: MIN_BLOCK_LEN as u64,
            available: head.len() as u64,
        })?;
        let bad = |reason| CaptureErrorKind::BadBlockLength {
            length: u64::from(length),
            reason,
        };
        if (length as usize) < minimum {
            return Err(bad(if minimum == MIN_BLOCK_LEN {
                "shorter than the 12-byte minimum"
            } else {
                "shorter than the 28-byte section header minimum"
            }));
        }
        if length % 4 != 0 {
            return Err(bad("not a multiple of 4"));
        }
        if length as usize > MAX_RECORD_LEN {
            return Err(bad("beyond the 256 MiB limit on a block"));
        }
        Ok(length as usize)
    }

    /// Takes one whole block (its length already checked by [`Self::block_len`]) and returns
    /// the packet it holds, updating the section and interface state on the way.
    pub(crate) fn read_block(
        &mut self,
        block: &[u8],
    ) -> Result<Option<PacketRef>, CaptureErrorKind> {
        let is_section_header = block.get(..4) == Some(&SECTION_HEADER_BYTES[..]);
        let endian = if is_section_header {
            section_byte_order(block)?
        } else {
            self.endian.unwrap_or(Endian::Little)
        };
        let total = block.len();
        let too_short = || CaptureErrorKind::BadBlockLength {
            length: total as u64,
            reason: "too short for its block type",
        };
        let (Some(&[t0, t1, t2, t3, l0, l1, l2, l3]), Some(&tail)) =
            (block.first_chunk::<BODY_AT>(), block.last_chunk::<4>())
        else {
            return Err(too_short());
        };
        let leading = word(endian, [l0, l1, l2, l3]);
        let trailing = word(endian, tail);
        if leading != trailing {
            return Err(CaptureErrorKind::BlockLengthMismatch { leading, trailing });
        }
        let body = block
            .get(BODY_AT..total.saturating_sub(4))
            .ok_or_else(too_short)?;
        let block_type = word(endian, [t0, t1, t2, t3]);
        match block_type {
            SECTION_HEADER => {
                let major = endian.u16(body, 4).ok_or_else(too_short)?;
                let minor = endian.u16(body, 6).ok_or_else(too_short)?;
                if major != 1 {
                    return Err(CaptureErrorKind::UnsupportedVersion {
                        format: "pcapng",
                        major,
                        minor,
                    });
                }
                self.endian = Some(endian);
                self.interfaces.clear();
                self.described.clear();
                Ok(None)
            }
            INTERFACE_DESCRIPTION => {
                // linktype(2) reserved(2) snaplen(4) options...
                let linktype = LinkType(u32::from(endian.u16(body, 0).ok_or_else(too_short)?));
                let snaplen = endian.u32(body, 4).ok_or_else(too_short)?;
                let options = body.get(8..).ok_or_else(too_short)?;
                let interface = parse_interface_options(options, endian, linktype, snaplen)?;
                self.interfaces.push(interface);
                self.described.push(InterfaceDescription::new(
                    linktype,
                    snaplen,
                    endian == Endian::Big,
                    options.to_vec(),
                ));
                Ok(None)
            }
            ENHANCED_PACKET | OBSOLETE_PACKET => {
                self.packet_block(block_type, body, endian).map(Some)
            }
            SIMPLE_PACKET => {
                // orig_len(4) data: no interface id (always the section's first interface),
                // no timestamp, no captured length: it is what the block and snaplen allow.
                let len = endian.u32(body, 0).ok_or_else(too_short)?;
                let interface = self.interface(0)?;
                let room = body.len().saturating_sub(4);
                let mut caplen = (len as usize).min(room);
                if interface.snaplen != 0 {
                    caplen = caplen.min(interface.snaplen as usize);
                }
                Ok(Some(PacketRef {
                    ts: Timestamp {
                        secs: 0,
                        nanos: 0,
                        digits: interface.digits,
                    },
                    len,
                    linktype: interface.linktype,
                    data_at: BODY_AT + 4,
                    caplen,
                    interface: 0,
                    ticks: None,
                    options_at: 0,
                    options_len: 0,
                }))
            }
            _ => Ok(None),
        }
    }

    /// When `available` starts with a whole Enhanced Packet Block whose lengths and fields all
    /// check out, its packet (`data_at` relative to the block) and the block's length. `None`
    /// for anything else, including every damaged block: the caller then goes through
    /// [`Self::block_len`] and [`Self::read_block`], which find and report what is wrong, so
    /// nothing is lost by not telling it here. This is the per-packet path of nearly every
    /// pcapng file, one pass over the block instead of two.
    #[inline]
    pub(crate) fn whole_enhanced_packet(&self, available: &[u8]) -> Option<(PacketRef, usize)> {
        let endian = self.endian?;
        let &[t0, t1, t2, t3, l0, l1, l2, l3] = available.first_chunk::<BODY_AT>()?;
        if word(endian, [t0, t1, t2, t3]) != ENHANCED_PACKET {
            return None;
        }
        // The checks of block_len: at least the minimum, a multiple of 4, within the limit.
        let length = word(endian, [l0, l1, l2, l3]) as usize;
        if length < MIN_BLOCK_LEN || length % 4 != 0 || length > MAX_RECORD_LEN {
            return None;
        }
        // The checks of read_block: all present, the trailing length equal to the leading.
        let block = available.get(..length)?;
        if word(endian, *block.last_chunk::<4>()?) as usize != length {
            return None;
        }
        let body = block.get(BODY_AT..length - 4)?;
        match self.packet_block(ENHANCED_PACKET, body, endian) {
            Ok(packet) => Some((packet, length)),
            // read_block meets the same error again and reports it.
            Err(_) => None,
        }
    }

    /// The packet of an Enhanced (6) or obsolete Packet (2) Block `body`, its captured length
    /// checked against the block and the interface's limit. `data_at` is relative to the
    /// block's start.
    #[inline(always)]
    fn packet_block(
        &self,
        block_type: u32,
        body: &[u8],
        endian: Endian,
    ) -> Result<PacketRef, CaptureErrorKind> {
        // EPB: interface_id(4) ts_high(4) ts_low(4) caplen(4) orig_len(4) data options
        // PB:  interface_id(2) drops_count(2), then the same as EPB.
        let fixed = *body
            .first_chunk::<20>()
            .ok_or(CaptureErrorKind::BadBlockLength {
                length: (body.len() + MIN_BLOCK_LEN) as u64,
                reason: "too short for its block type",
            })?;
        let [i0, i1, i2, i3, h0, h1, h2, h3, w0, w1, w2, w3, c0, c1, c2, c3, o0, o1, o2, o3] =
            fixed;
        let interface_id = if block_type == ENHANCED_PACKET {
            word(endian, [i0, i1, i2, i3])
        } else {
            endian.u16(&fixed, 0).map(u32::from).unwrap_or_default()
        };
        let ts_high = word(endian, [h0, h1, h2, h3]);
        let ts_low = word(endian, [w0, w1, w2, w3]);
        let caplen = word(endian, [c0, c1, c2, c3]);
        let len = word(endian, [o0, o1, o2, o3]);
        let room = body.len().saturating_sub(20);
        if caplen as usize > room {
            return Err(CaptureErrorKind::CaplenBeyondBlock { caplen, room });
        }
        let interface = self.interface(interface_id)?;
        if caplen > interface.caplen_limit() {
            return Err(CaptureErrorKind::CaplenTooLarge {
                caplen: u64::from(caplen),
                limit: u64::from(interface.caplen_limit()),
            });
        }
        let ticks = (u64::from(ts_high) << 32) | u64::from(ts_low);
        // The data is padded to 32 bits; what follows up to the body's end is options.
        // caplen <= room, so the padded length is at most room + 3 and the sums stay small.
        let padded = (caplen as usize).next_multiple_of(4).min(room);
        Ok(PacketRef {
            ts: interface.timestamp(ticks),
            len,
            linktype: interface.linktype,
            data_at: BODY_AT + 20,
            caplen: caplen as usize,
            interface: interface_id,
            ticks: Some(ticks),
            options_at: BODY_AT + 20 + padded,
            options_len: room - padded,
        })
    }

    /// The description of interface `id` of this section, as frames point at it; a made-up
    /// unknown one for an id not defined (which no packet the section yields has).
    #[inline]
    pub(crate) fn description(&self, id: u32) -> &InterfaceDescription {
        usize::try_from(id)
            .ok()
            .and_then(|index| self.described.get(index))
            .unwrap_or(&super::UNKNOWN_INTERFACE)
    }

    fn interface(&self, id: u32) -> Result<Interface, CaptureErrorKind> {
        usize::try_from(id)
            .ok()
            .and_then(|index| self.interfaces.get(index))
            .copied()
            .ok_or(CaptureErrorKind::UndefinedInterface {
                interface: id,
                defined: self.interfaces.len(),
            })
    }
}

/// A 32-bit field already cut out of a block, in the section's byte order: no check left.
#[inline]
fn word(endian: Endian, raw: [u8; 4]) -> u32 {
    match endian {
        Endian::Little => u32::from_le_bytes(raw),
        Endian::Big => u32::from_be_bytes(raw),
    }
}

/// The byte order a Section Header Block's byte-order magic (bytes 8..12) announces.
fn section_byte_order(head: &[u8]) -> Result<Endian, CaptureErrorKind> {
    let magic = Endian::Big
        .u32(head, 8)
        .ok_or(CaptureErrorKind::Truncated {
            what: "pcapng section header",
            needed: MIN_BLOCK_LEN as u64,
            available: head.len() as u64,
        })?;
    if magic == BYTE_ORDER_MAGIC {
        Ok(Endian::Big)
    } else if magic.swap_bytes() == BYTE_ORDER_MAGIC {
        Ok(Endian::Little)
    } else {
        Err(CaptureErrorKind::BadByteOrderMagic { magic })
    }
}

/// Walks an Interface Description Block's options (code(2) length(2) value, padded to 4) for
/// the two that change timestamps.
fn parse_interface_options(
    mut options: &[u8],
    endian: Endian,
    linktype: LinkType,
    snaplen: u32,
) -> Result<Interface, CaptureErrorKind> {
    let mut interface = Interface {
        linktype,
        snaplen,
        ticks_per_second: 1_000_000,
        digits: 6,
        offset_secs: 0,
    };
    // Fewer than 4 bytes left cannot hold an option header: the list ended without
    // opt_endofopt, which the format allows.
    while let (Some(code), Some(value_len)) = (endian.u16(options, 0), endian.u16(options, 2)) {
        if code == OPT_END_OF_OPT {
            break;
        }
        let bad = |reason| CaptureErrorKind::BadOption {
            block: "interface description block",
            code,
            reason,
        };
        let value_len = usize::from(value_len);
        let value = options
            .get(4..4 + value_len)
            .ok_or_else(|| bad("value runs past the end of the block"))?;
        match code {
            OPT_IF_TSRESOL => {
                let [resolution] = value else {
                    return Err(bad("if_tsresol must be 1 byte"));
                };
                let (ticks, digits) = tsresol(*resolution)
                    .ok_or_else(|| bad("if_tsresol finer than a 64-bit tick count allows"))?;
                interface.ticks_per_second = ticks;
                interface.digits = digits;
            }
            OPT_IF_TSOFFSET => {
                let seconds = endian
                    .u64(value, 0)
                    .filter(|_| value_len == 8)
                    .ok_or_else(|| bad("if_tsoffset must be 8 bytes"))?;
                // The field is a signed 64-bit count of seconds stored in two's complement.
                interface.offset_secs = i64::from_ne_bytes(seconds.to_ne_bytes());
            }
            _ => {}
        }
        // Values are padded to a 32-bit boundary; the padding may be missing on the last one.
        let padded = (4 + value_len).next_multiple_of(4);
        options = options.get(padded..).unwrap_or_default();
    }
    Ok(interface)
}

/// Ticks per second and display digits for an `if_tsresol` byte: with the high bit clear the
/// tick is 10^-v s, with it set 2^-v s. `None` if a tick count in u64 cannot express it.
pub(crate) fn tsresol(resolution: u8) -> Option<(u64, u8)> {
    let exponent = u32::from(resolution & 0x7F);
    if resolution & 0x80 == 0 {
        let ticks = 10u64.checked_pow(exponent)?;
        Some((ticks, exponent.min(9) as u8))
    } else {
        let ticks = 1u64.checked_shl(exponent).filter(|_| exponent < 64)?;
        // Enough decimal digits that one tick is visible: the smallest d with 10^d >= 2^v.
        let digits = (0u8..9)
            .find(|&d| 10u64.pow(u32::from(d)) >= ticks)
            .unwrap_or(9);
        Some((ticks, digits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(words: &[&[u8]]) -> Vec<u8> {
        words.concat()
    }

    /// A little-endian Section Header Block with no options (28 bytes).
    const SHB_LE: [u8; 28] = [
        0x0a, 0x0d, 0x0d, 0x0a, // block type: section header
        0x1c, 0x00, 0x00, 0x00, // total length 28
        0x4d, 0x3c, 0x2b, 0x1a, // byte-order magic 1a2b3c4d, little-endian
        0x01, 0x00, 0x00, 0x00, // version 1.0
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // section length -1 (unknown)
        0x1c, 0x00, 0x00, 0x00, // total length 28
    ];

    /// A little-endian IDB: Ethernet, snaplen 0, if_tsresol 9 (nanoseconds), if_tsoffset 100 s.
    fn idb_le_nanos_offset() -> Vec<u8> {
        le(&[
            &[0x01, 0x00, 0x00, 0x00],    // block type 1: interface description
            &[0x2c, 0x00, 0x00, 0x00],    // total length 44
            &[0x01, 0x00, 0x00, 0x00],    // linktype 1, reserved 0
            &[0x00, 0x00, 0x00, 0x00],    // snaplen 0 (unlimited)
            &[0x09, 0x00, 0x01, 0x00],    // option if_tsresol, length 1
            &[0x09, 0x00, 0x00, 0x00],    // value 9 (10^-9 s), 3 bytes padding
            &[0x0e, 0x00, 0x08, 0x00],    // option if_tsoffset, length 8
            &[0x64, 0, 0, 0, 0, 0, 0, 0], // value 100 seconds
            &[0x00, 0x00, 0x00, 0x00],    // opt_endofopt
            &[0x2c, 0x00, 0x00, 0x00],    // total length 44
        ])
    }

    /// A little-endian EPB on interface 0 with 4 captured bytes of an original 60.
    fn epb_le(interface: u8, ticks: u64, caplen: u8) -> Vec<u8> {
        let high = ((ticks >> 32) as u32).to_le_bytes();
        let low = (ticks as u32).to_le_bytes();
        le(&[
            &[0x06, 0x00, 0x00, 0x00],      // block type 6: enhanced packet
            &[0x24, 0x00, 0x00, 0x00],      // total length 36
            &[interface, 0x00, 0x00, 0x00], // interface id
            &high,                          // timestamp, high 32 bits
            &low,                           // timestamp, low 32 bits
            &[caplen, 0x00, 0x00, 0x00],    // captured length
            &[0x3c, 0x00, 0x00, 0x00],      // original length 60
            &[0xde, 0xad, 0xbe, 0xef],      // packet data (4 bytes, no padding needed)
            &[0x24, 0x00, 0x00, 0x00],      // total length 36
        ])
    }

    fn section_with_idb() -> Section {
        let mut section = Section::default();
        assert_eq!(section.read_block(&SHB_LE).unwrap(), None);
        assert_eq!(section.read_block(&idb_le_nanos_offset()).unwrap(), None);
        section
    }

    #[test]
    fn enhanced_packet_uses_its_interface_resolution_and_offset() {
        let mut section = section_with_idb();
        let block = epb_le(0, 1_500_000_001, 4);
        let packet = section.read_block(&block).unwrap().unwrap();
        assert_eq!(packet.len, 60);
        assert_eq!(packet.caplen, 4);
        assert_eq!(packet.linktype, LinkType::ETHERNET);
        assert_eq!(
            &block[packet.data_at..packet.data_at + 4],
            &[0xde, 0xad, 0xbe, 0xef]
        );
        assert_eq!(
            (packet.ts.secs, packet.ts.nanos, packet.ts.digits),
            (101, 500_000_001, 9)
        );
        // As stored, for a faithful copy: the ticks before the offset, no options.
        assert_eq!(packet.ticks, Some(1_500_000_001));
        assert_eq!((packet.interface, packet.options_len), (0, 0));
        let described = section.description(0);
        assert_eq!(described.linktype, LinkType::ETHERNET);
        assert_eq!(described.options, idb_le_nanos_offset()[16..40].to_vec());
        assert!(!described.big_endian);
    }

    #[test]
    fn enhanced_packet_options_follow_the_padded_data() {
        let mut section = section_with_idb();
        let block = le(&[
            &[0x06, 0x00, 0x00, 0x00], // block type 6: enhanced packet
            &[0x2c, 0x00, 0x00, 0x00], // total length 44
            &[0x00, 0x00, 0x00, 0x00], // interface 0
            &[0x00, 0x00, 0x00, 0x00], // timestamp high
            &[0x07, 0x00, 0x00, 0x00], // timestamp low: 7 ticks
            &[0x03, 0x00, 0x00, 0x00], // captured length 3
            &[0x03, 0x00, 0x00, 0x00], // original length 3
            &[0xaa, 0xbb, 0xcc, 0x00], // data, 1 byte of padding
            &[0x01, 0x00, 0x01, 0x00], // opt_comment, length 1
            &[0x21, 0x00, 0x00, 0x00], // "!", 3 bytes of padding
            &[0x2c, 0x00, 0x00, 0x00], // total length 44
        ]);
        let packet = section.read_block(&block).unwrap().unwrap();
        assert_eq!(packet.ticks, Some(7));
        assert_eq!(
            &block[packet.options_at..packet.options_at + packet.options_len],
            &[0x01, 0x00, 0x01, 0x00, 0x21, 0x00, 0x00, 0x00]
        );
        assert_eq!(section.whole_enhanced_packet(&block), Some((packet, 44)));
    }

    #[test]
    fn one_pass_enhanced_packet_agrees_with_read_block_and_declines_damage() {
        let mut section = section_with_idb();
        let mut block = epb_le(0, 1_500_000_001, 4);
        let expected = section.read_block(&block).unwrap().unwrap();
        // Followed by the start of the next block, as in a reader's buffer.
        block.extend_from_slice(&[0x06, 0x00]);
        assert_eq!(section.whole_enhanced_packet(&block), Some((expected, 36)));
        // Each of these is left to block_len / read_block, which report it.
        let mut damaged = Vec::new();
        damaged.push(epb_le(1, 0, 4)); // undefined interface
        damaged.push(epb_le(0, 0, 5)); // captured length beyond the block
        let mut mismatch = epb_le(0, 0, 4);
        mismatch[32] = 0x28; // trailing length 40, leading 36
        damaged.push(mismatch);
        let mut unaligned = epb_le(0, 0, 4);
        unaligned[4] = 0x23; // total length 35: not a multiple of 4
        damaged.push(unaligned);
        let mut tiny = epb_le(0, 0, 4);
        tiny[4] = 0x08; // total length 8: below the 12-byte minimum
        damaged.push(tiny);
        damaged.push(epb_le(0, 0, 4)[..35].to_vec()); // not all in the buffer yet
        for (i, bytes) in damaged.iter().enumerate() {
            assert_eq!(section.whole_enhanced_packet(bytes), None, "case {i}");
        }
        // Not an EPB at all, and no section yet: also declined.
        assert_eq!(section.whole_enhanced_packet(&SHB_LE), None);
        let fresh = Section::default();
        assert_eq!(fresh.whole_enhanced_packet(&epb_le(0, 0, 4)), None);
    }

    #[test]
    fn word_reads_the_section_byte_order() {
        assert_eq!(word(Endian::Little, [0x01, 0x02, 0x03, 0x04]), 0x0403_0201);
        assert_eq!(word(Endian::Big, [0x01, 0x02, 0x03, 0x04]), 0x0102_0304);
    }

    #[test]
    fn enhanced_packet_on_undefined_interface_is_an_error() {
        let mut section = section_with_idb();
        assert!(matches!(
            section.read_block(&epb_le(1, 0, 4)),
            Err(CaptureErrorKind::UndefinedInterface {
                interface: 1,
                defined: 1
            })
        ));
    }

    #[test]
    fn caplen_beyond_the_block_is_an_error() {
        let mut section = section_with_idb();
        assert!(matches!(
            section.read_block(&epb_le(0, 0, 5)),
            Err(CaptureErrorKind::CaplenBeyondBlock { caplen: 5, room: 4 })
        ));
    }

    #[test]
    fn new_section_forgets_the_interfaces() {
        let mut section = section_with_idb();
        section.read_block(&SHB_LE).unwrap();
        assert!(matches!(
            section.read_block(&epb_le(0, 0, 4)),
            Err(CaptureErrorKind::UndefinedInterface {
                interface: 0,
                defined: 0
            })
        ));
    }

    #[test]
    fn big_endian_section_sets_the_byte_order_for_its_blocks() {
        let shb_be = [
            0x0a, 0x0d, 0x0d, 0x0a, // block type: section header (a palindrome)
            0x00, 0x00, 0x00, 0x1c, // total length 28, big-endian
            0x1a, 0x2b, 0x3c, 0x4d, // byte-order magic, big-endian
            0x00, 0x01, 0x00, 0x00, // version 1.0
            0, 0, 0, 0, 0, 0, 0, 0, // section length 0
            0x00, 0x00, 0x00, 0x1c, // total length 28
        ];
        let idb_be = [
            0x00, 0x00, 0x00, 0x01, // block type 1
            0x00, 0x00, 0x00, 0x14, // total length 20
            0x00, 0x00, 0x00, 0x00, // linktype 0 (NULL), reserved
            0x00, 0x00, 0x00, 0x60, // snaplen 96
            0x00, 0x00, 0x00, 0x14, // total length 20
        ];
        let spb_be = [
            0x00, 0x00, 0x00, 0x03, // block type 3: simple packet
            0x00, 0x00, 0x00, 0x14, // total length 20
            0x00, 0x00, 0x00, 0x64, // original length 100
            0x01, 0x02, 0x03, 0x04, // 4 data bytes: all the block has room for
            0x00, 0x00, 0x00, 0x14, // total length 20
        ];
        let mut section = Section::default();
        assert_eq!(section.block_len(&shb_be).unwrap(), 28);
        section.read_block(&shb_be).unwrap();
        assert_eq!(section.block_len(&idb_be).unwrap(), 20);
        section.read_block(&idb_be).unwrap();
        let packet = section.read_block(&spb_be).unwrap().unwrap();
        assert_eq!((packet.len, packet.caplen, packet.data_at), (100, 4, 12));
        assert_eq!(packet.linktype, LinkType::NULL);
    }

    #[test]
    fn simple_packet_caplen_is_bounded_by_original_length_and_snaplen() {
        let mut section = Section::default();
        section.read_block(&SHB_LE).unwrap();
        let idb = [
            0x01, 0x00, 0x00, 0x00, // block type 1
            0x14, 0x00, 0x00, 0x00, // total length 20
            0x01, 0x00, 0x00, 0x00, // linktype 1
            0x03, 0x00, 0x00, 0x00, // snaplen 3
            0x14, 0x00, 0x00, 0x00, // total length 20
        ];
        section.read_block(&idb).unwrap();
        let spb = |orig_len: u8| {
            [
                0x03, 0x00, 0x00, 0x00, // block type 3
                0x18, 0x00, 0x00, 0x00, // total length 24
                orig_len, 0x00, 0x00, 0x00, // original length
                0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x00, // data, padded
                0x18, 0x00, 0x00, 0x00, // total length 24
            ]
        };
        assert_eq!(section.read_block(&spb(2)).unwrap().unwrap().caplen, 2);
        assert_eq!(section.read_block(&spb(6)).unwrap().unwrap().caplen, 3);
    }

    #[test]
    fn obsolete_packet_block_has_a_16_bit_interface_id() {
        let mut section = section_with_idb();
        let pb = [
            0x02, 0x00, 0x00, 0x00, // block type 2: packet (obsolete)
            0x24, 0x00, 0x00, 0x00, // total length 36
            0x00, 0x00, 0x07, 0x00, // interface id 0, drops count 7
            0x00, 0x00, 0x00, 0x00, // timestamp high
            0x05, 0x00, 0x00, 0x00, // timestamp low: 5 ns
            0x02, 0x00, 0x00, 0x00, // captured length 2
            0x02, 0x00, 0x00, 0x00, // original length 2
            0x11, 0x22, 0x00, 0x00, // data + 2 bytes padding
            0x24, 0x00, 0x00, 0x00, // total length 36
        ];
        let packet = section.read_block(&pb).unwrap().unwrap();
        assert_eq!(
            (packet.caplen, packet.len, packet.ts.nanos, packet.ts.secs),
            (2, 2, 5, 100)
        );
    }

    #[test]
    fn other_blocks_are_read_past_and_are_not_packets() {
        let mut section = section_with_idb();
        let custom = [
            0xad, 0x0b, 0x00, 0x00, // block type 0xbad: custom block
            0x10, 0x00, 0x00, 0x00, // total length 16
            0x7b, 0x00, 0x00, 0x00, // private enterprise number 123
            0x10, 0x00, 0x00, 0x00, // total length 16
        ];
        assert_eq!(section.read_block(&custom).unwrap(), None);
    }

    #[test]
    fn block_lengths_are_checked() {
        let section = section_with_idb();
        let head = |len: u32| {
            let mut bytes = vec![0x06, 0x00, 0x00, 0x00];
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(&[0; 4]);
            bytes
        };
        assert_eq!(section.block_len(&head(12)).unwrap(), 12);
        for bad in [0, 8, 13, 0xFFFF_FFFC] {
            assert!(
                matches!(
                    section.block_len(&head(bad)),
                    Err(CaptureErrorKind::BadBlockLength { .. })
                ),
                "length {bad}"
            );
        }
        let mut shb = SHB_LE;
        shb[4] = 0x18; // total length 24: below the section header minimum
        assert!(section.block_len(&shb).is_err());
        shb[8] = 0x00; // byte-order magic damaged
        assert!(matches!(
            section.block_len(&shb),
            Err(CaptureErrorKind::BadByteOrderMagic { .. })
        ));
    }

    #[test]
    fn trailing_length_must_match() {
        let mut section = section_with_idb();
        let mut block = epb_le(0, 0, 4);
        let last = block.len() - 4;
        block[last] = 0x28; // trailing copy says 40
        assert!(matches!(
            section.read_block(&block),
            Err(CaptureErrorKind::BlockLengthMismatch {
                leading: 36,
                trailing: 40
            })
        ));
    }

    #[test]
    fn option_running_past_the_block_is_an_error() {
        let mut section = Section::default();
        section.read_block(&SHB_LE).unwrap();
        let idb = [
            0x01, 0x00, 0x00, 0x00, // block type 1
            0x18, 0x00, 0x00, 0x00, // total length 24
            0x01, 0x00, 0x00, 0x00, // linktype 1
            0x00, 0x00, 0x00, 0x00, // snaplen 0
            0x02, 0x00, 0x10, 0x00, // option if_name, length 16: only 0 bytes follow
            0x18, 0x00, 0x00, 0x00, // total length 24
        ];
        assert!(matches!(
            section.read_block(&idb),
            Err(CaptureErrorKind::BadOption { code: 2, .. })
        ));
    }

    #[test]
    fn tsresol_powers_of_ten_and_two() {
        assert_eq!(tsresol(6), Some((1_000_000, 6)));
        assert_eq!(tsresol(0), Some((1, 0)));
        assert_eq!(tsresol(19), Some((10_000_000_000_000_000_000, 9)));
        assert_eq!(tsresol(20), None);
        assert_eq!(tsresol(0x80 | 10), Some((1024, 4))); // 2^-10 s: 4 digits show 1/1024
        assert_eq!(tsresol(0x80 | 30), Some((1 << 30, 9)));
        assert_eq!(tsresol(0x80 | 63), Some((1 << 63, 9)));
        assert_eq!(tsresol(0x80 | 64), None);
    }

    #[test]
    fn power_of_two_ticks_convert_to_nanoseconds() {
        let interface = Interface {
            linktype: LinkType::ETHERNET,
            snaplen: 0,
            ticks_per_second: 1024,
            digits: 4,
            offset_secs: -10,
        };
        // 3 s + 512/1024 s
        let ts = interface.timestamp(3 * 1024 + 512);
        assert_eq!((ts.secs, ts.nanos, ts.digits), (-7, 500_000_000, 4));
    }

    #[test]
    fn micro_and_nanosecond_ticks_take_their_own_path_to_the_same_answer() {
        let micro = Interface {
            linktype: LinkType::ETHERNET,
            snaplen: 0,
            ticks_per_second: 1_000_000,
            digits: 6,
            offset_secs: 0,
        };
        let nano = Interface {
            ticks_per_second: 1_000_000_000,
            digits: 9,
            ..micro
        };
        // 1_700_000_000 s + 123_456 us, and + 123_456_789 ns.
        let ts = micro.timestamp(1_700_000_000_123_456);
        assert_eq!(
            (ts.secs, ts.nanos, ts.digits),
            (1_700_000_000, 123_456_000, 6)
        );
        let ts = nano.timestamp(1_700_000_000_123_456_789);
        assert_eq!(
            (ts.secs, ts.nanos, ts.digits),
            (1_700_000_000, 123_456_789, 9)
        );
        // The largest tick count: no overflow on either path.
        assert_eq!(micro.timestamp(u64::MAX).nanos, 551_615_000);
        assert_eq!(nano.timestamp(u64::MAX).secs, 18_446_744_073);
    }
}

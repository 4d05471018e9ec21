//! The classic libpcap file format (tcpdump.org `pcap-savefile(5)`,
//! draft-ietf-opsawg-pcap): a 24-byte file header, then records of a 16-byte header and
//! `caplen` captured bytes.
//!
//! Pure functions over byte slices; the reader in the parent module feeds them. They never
//! panic: every field read is bounds-checked.

use super::endian::Endian;
use super::error::CaptureErrorKind;
use super::{caplen_limit, Timestamp};
use crate::linktype::LinkType;

/// magic(4) version_major(2) version_minor(2) thiszone(4) sigfigs(4) snaplen(4) linktype(4).
pub(crate) const FILE_HEADER_LEN: usize = 24;
/// ts_sec(4) ts_frac(4) caplen(4) orig_len(4).
pub(crate) const RECORD_HEADER_LEN: usize = 16;

const MAGIC_MICROS: u32 = 0xA1B2_C3D4;
const MAGIC_NANOS: u32 = 0xA1B2_3C4D;

/// What the file header says about every record that follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileHeader {
    pub(crate) endian: Endian,
    /// Timestamp fractions are nanoseconds (magic a1b23c4d) rather than microseconds.
    pub(crate) nanos: bool,
    pub(crate) snaplen: u32,
    /// The largest captured length a record may claim: [`caplen_limit`] of `snaplen`, worked
    /// out once rather than per record.
    pub(crate) caplen_limit: u32,
    /// Units of `ts_frac` per second, nanoseconds per unit and the decimal digits they show:
    /// what `nanos` means for each record, worked out once.
    pub(crate) frac_per_second: u32,
    pub(crate) nanos_per_frac: u32,
    pub(crate) ts_digits: u8,
    pub(crate) linktype: LinkType,
}

impl FileHeader {
    fn new(endian: Endian, nanos: bool, snaplen: u32, linktype: LinkType) -> FileHeader {
        let (frac_per_second, nanos_per_frac, ts_digits) = if nanos {
            (1_000_000_000, 1, 9)
        } else {
            (1_000_000, 1_000, 6)
        };
        FileHeader {
            endian,
            nanos,
            snaplen,
            caplen_limit: caplen_limit(snaplen),
            frac_per_second,
            nanos_per_frac,
            ts_digits,
            linktype,
        }
    }
}

/// The byte order and precision a pcap magic number announces, or `None` if it is not one.
pub(crate) fn recognise_magic(first4: [u8; 4]) -> Option<(Endian, bool)> {
    let little = u32::from_le_bytes(first4);
    let big = u32::from_be_bytes(first4);
    match (little, big) {
        (MAGIC_MICROS, _) => Some((Endian::Little, false)),
        (MAGIC_NANOS, _) => Some((Endian::Little, true)),
        (_, MAGIC_MICROS) => Some((Endian::Big, false)),
        (_, MAGIC_NANOS) => Some((Endian::Big, true)),
        _ => None,
    }
}

/// Parses the 24-byte file header (`bytes` may be longer).
pub(crate) fn parse_file_header(bytes: &[u8]) -> Result<FileHeader, CaptureErrorKind> {
    let truncated = || CaptureErrorKind::Truncated {
        what: "pcap file header",
        needed: FILE_HEADER_LEN as u64,
        available: bytes.len() as u64,
    };
    let first4: [u8; 4] = bytes
        .get(..4)
        .and_then(|m| m.try_into().ok())
        .ok_or_else(truncated)?;
    let (endian, nanos) =
        recognise_magic(first4).ok_or(CaptureErrorKind::UnknownMagic { magic: first4 })?;
    if bytes.len() < FILE_HEADER_LEN {
        return Err(truncated());
    }
    let field16 = |at| endian.u16(bytes, at).ok_or_else(truncated);
    let field32 = |at| endian.u32(bytes, at).ok_or_else(truncated);
    let (major, minor) = (field16(4)?, field16(6)?);
    // Version 2.x is the only one libpcap has written since 1998; 2.2 and 2.3 differ only in
    // the order of the caplen/len fields in some ancient writers, which libpcap itself ignores.
    if major != 2 {
        return Err(CaptureErrorKind::UnsupportedVersion {
            format: "pcap",
            major,
            minor,
        });
    }
    let snaplen = field32(16)?;
    // The link-type field's upper bits carry FCS information (tcpdump.org "LINKTYPE_ values"):
    // bits 28-31 the FCS length, bit 26 "F". The link type proper is the low 16 bits.
    let linktype = LinkType(field32(20)? & 0xFFFF);
    Ok(FileHeader::new(endian, nanos, snaplen, linktype))
}

/// One record header as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub(crate) ts_secs: u32,
    /// Microseconds or nanoseconds, by the file's magic.
    pub(crate) ts_frac: u32,
    pub(crate) caplen: u32,
    pub(crate) orig_len: u32,
}

/// Parses a 16-byte record header; `None` if fewer than 16 bytes are given.
#[inline]
pub(crate) fn parse_record_header(bytes: &[u8], endian: Endian) -> Option<RecordHeader> {
    // One length check for the whole header, then the four fields by position.
    let [s0, s1, s2, s3, f0, f1, f2, f3, c0, c1, c2, c3, o0, o1, o2, o3] =
        *bytes.first_chunk::<RECORD_HEADER_LEN>()?;
    let word = |bytes: [u8; 4]| match endian {
        Endian::Little => u32::from_le_bytes(bytes),
        Endian::Big => u32::from_be_bytes(bytes),
    };
    Some(RecordHeader {
        ts_secs: word([s0, s1, s2, s3]),
        ts_frac: word([f0, f1, f2, f3]),
        caplen: word([c0, c1, c2, c3]),
        orig_len: word([o0, o1, o2, o3]),
    })
}

/// The record's timestamp as stored, in units of its fraction (microseconds or nanoseconds):
/// what a pcapng copy with the same `if_tsresol` stores. Exact: an oversized fraction adds
/// its whole seconds, as [`timestamp`] carries them.
#[inline]
pub(crate) fn ticks(header: &FileHeader, record: &RecordHeader) -> u64 {
    // At most (2^32 - 1) * 10^9 + 2^32: well within u64.
    u64::from(record.ts_secs) * u64::from(header.frac_per_second) + u64::from(record.ts_frac)
}

/// The record's timestamp. The seconds field is unsigned (the format's 2106 horizon).
/// A fraction of a second or more (invalid, but found in real files) carries into the seconds
/// rather than producing an out-of-range `nanos`.
#[inline]
pub(crate) fn timestamp(header: &FileHeader, record: &RecordHeader) -> Timestamp {
    let per_second = header.frac_per_second.max(1);
    // The usual case needs no division: the fraction is below one second.
    let (carry, fraction) = if record.ts_frac < per_second {
        (0, record.ts_frac)
    } else {
        (record.ts_frac / per_second, record.ts_frac % per_second)
    };
    Timestamp {
        secs: i64::from(record.ts_secs) + i64::from(carry),
        // fraction < per_second, and per_second * nanos_per_frac is 10^9.
        nanos: fraction.saturating_mul(header.nanos_per_frac),
        digits: header.ts_digits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian microsecond header: snaplen 65535, Ethernet with an FCS-length nibble set.
    const LE_MICROS_HEADER: [u8; 24] = [
        0xd4, 0xc3, 0xb2, 0xa1, // magic a1b2c3d4 stored little-endian
        0x02, 0x00, 0x04, 0x00, // version 2.4
        0x00, 0x00, 0x00, 0x00, // thiszone 0
        0x00, 0x00, 0x00, 0x00, // sigfigs 0
        0xff, 0xff, 0x00, 0x00, // snaplen 65535
        0x01, 0x00, 0x00, 0x40, // linktype 0x40000001: Ethernet, FCS length 4 in bits 28-31
    ];

    #[test]
    fn little_endian_micro_header_masks_fcs_bits_off_the_link_type() {
        let header = parse_file_header(&LE_MICROS_HEADER).unwrap();
        assert_eq!(header.endian, Endian::Little);
        assert!(!header.nanos);
        assert_eq!(header.snaplen, 65535);
        assert_eq!(header.linktype, LinkType::ETHERNET);
    }

    #[test]
    fn big_endian_nano_header() {
        let bytes = [
            0xa1, 0xb2, 0x3c, 0x4d, // magic a1b23c4d stored big-endian: nanoseconds
            0x00, 0x02, 0x00, 0x04, // version 2.4
            0x00, 0x00, 0x00, 0x00, // thiszone
            0x00, 0x00, 0x00, 0x00, // sigfigs
            0x00, 0x04, 0x00, 0x00, // snaplen 262144
            0x00, 0x00, 0x00, 0x71, // linktype 113 (Linux SLL)
        ];
        let header = parse_file_header(&bytes).unwrap();
        assert_eq!(header.endian, Endian::Big);
        assert!(header.nanos);
        assert_eq!(header.snaplen, 262_144);
        assert_eq!(header.linktype, LinkType::LINUX_SLL);
    }

    #[test]
    fn version_other_than_2_is_refused() {
        let mut bytes = LE_MICROS_HEADER;
        bytes[4] = 3; // version major 3
        assert!(matches!(
            parse_file_header(&bytes),
            Err(CaptureErrorKind::UnsupportedVersion {
                major: 3,
                minor: 4,
                ..
            })
        ));
    }

    #[test]
    fn header_truncated_at_every_length_is_an_error() {
        for len in 0..FILE_HEADER_LEN {
            assert!(
                matches!(
                    parse_file_header(&LE_MICROS_HEADER[..len]),
                    Err(CaptureErrorKind::Truncated { needed: 24, .. })
                ),
                "length {len}"
            );
        }
    }

    #[test]
    fn record_header_fields_in_file_order() {
        let bytes = [
            0x00, 0x00, 0x00, 0x65, // ts_sec 101
            0x00, 0x00, 0x01, 0x00, // ts_frac 256
            0x00, 0x00, 0x00, 0x3c, // caplen 60
            0x00, 0x00, 0x05, 0xdc, // orig_len 1500
        ];
        assert_eq!(
            parse_record_header(&bytes, Endian::Big),
            Some(RecordHeader {
                ts_secs: 101,
                ts_frac: 256,
                caplen: 60,
                orig_len: 1500
            })
        );
        for len in 0..RECORD_HEADER_LEN {
            assert_eq!(parse_record_header(&bytes[..len], Endian::Big), None);
        }
    }

    #[test]
    fn timestamps_scale_by_precision_and_carry_oversized_fractions() {
        let micro = parse_file_header(&LE_MICROS_HEADER).unwrap();
        let nano = FileHeader::new(micro.endian, true, micro.snaplen, micro.linktype);
        let record = |ts_frac| RecordHeader {
            ts_secs: 4_000_000_000, // beyond i32: the field is unsigned
            ts_frac,
            caplen: 0,
            orig_len: 0,
        };
        let ts = timestamp(&micro, &record(999_999));
        assert_eq!(
            (ts.secs, ts.nanos, ts.digits),
            (4_000_000_000, 999_999_000, 6)
        );
        let ts = timestamp(&nano, &record(2_147_483_648));
        assert_eq!(
            (ts.secs, ts.nanos, ts.digits),
            (4_000_000_002, 147_483_648, 9)
        );
    }
}

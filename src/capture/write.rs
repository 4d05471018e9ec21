//! pcap and pcapng writers over `impl Write`.
//!
//! Takes frames (timestamp, length on the wire, link type, captured bytes) and writes them as a
//! classic little-endian pcap file (one link type per file, microsecond or nanosecond
//! timestamps) or as a pcapng section (one Interface Description Block per link type, added the
//! first time that link type is written, Enhanced Packet Blocks with nanosecond timestamps).
//! Never buffers frames: each call writes its record and returns. A frame the format cannot hold
//! (a link type a pcap file was not opened with, a timestamp before 1970, a frame longer than
//! 4 GiB) is an `InvalidInput` I/O error; nothing is written for it.

use super::Timestamp;
use crate::linktype::LinkType;
use std::io::{self, Write};

/// Classic pcap magic for microsecond timestamps, written little-endian.
pub const PCAP_MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// Classic pcap magic for nanosecond timestamps, written little-endian.
pub const PCAP_MAGIC_NANOS: u32 = 0xa1b2_3c4d;

/// pcapng block types (draft-ietf-opsawg-pcapng section 4).
const BLOCK_SHB: u32 = 0x0a0d_0d0a;
const BLOCK_IDB: u32 = 0x0000_0001;
const BLOCK_EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
/// IDB option `if_tsresol` (code 9): one byte, 9 = timestamps count nanoseconds.
const OPT_IF_TSRESOL: u16 = 9;
const TSRESOL_NANOS: u8 = 9;

/// Timestamp resolution of a classic pcap file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PcapResolution {
    #[default]
    Micros,
    Nanos,
}

/// Something that writes frames: lets callers pick the format once and stay generic.
pub trait FrameWriter {
    /// Write one frame. `data` is the captured bytes; `orig_len` the length on the wire.
    fn write_frame(
        &mut self,
        ts: Timestamp,
        orig_len: u32,
        linktype: LinkType,
        data: &[u8],
    ) -> io::Result<()>;

    /// Flush the underlying writer.
    fn flush(&mut self) -> io::Result<()>;
}

fn invalid_input(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// The captured length after the snaplen cut, and the length on the wire, which is never below
/// the bytes handed in (a caller passing 0 means "as captured").
fn lengths(data: &[u8], orig_len: u32, snaplen: u32) -> io::Result<(u32, u32)> {
    let len = u32::try_from(data.len())
        .map_err(|_| invalid_input(format!("frame of {} bytes is too long", data.len())))?;
    Ok((len.min(snaplen), orig_len.max(len)))
}

/// Writes a classic little-endian pcap file: the 24-byte file header at creation, then one
/// 16-byte record header plus data per frame.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    linktype: LinkType,
    snaplen: u32,
    resolution: PcapResolution,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header. Frames longer than `snaplen` are cut to it.
    pub fn new(
        mut out: W,
        linktype: LinkType,
        snaplen: u32,
        resolution: PcapResolution,
    ) -> io::Result<Self> {
        let magic = match resolution {
            PcapResolution::Micros => PCAP_MAGIC_MICROS,
            PcapResolution::Nanos => PCAP_MAGIC_NANOS,
        };
        let mut header = [0u8; 24];
        let fields: [&[u8]; 7] = [
            &magic.to_le_bytes(),
            &2u16.to_le_bytes(), // version major
            &4u16.to_le_bytes(), // version minor
            &0i32.to_le_bytes(), // thiszone (always 0)
            &0u32.to_le_bytes(), // sigfigs (always 0)
            &snaplen.to_le_bytes(),
            &linktype.0.to_le_bytes(),
        ];
        let mut at = 0;
        for field in fields {
            for (slot, byte) in header.iter_mut().skip(at).zip(field) {
                *slot = *byte;
            }
            at += field.len();
        }
        out.write_all(&header)?;
        Ok(PcapWriter {
            out,
            linktype,
            snaplen,
            resolution,
        })
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> FrameWriter for PcapWriter<W> {
    fn write_frame(
        &mut self,
        ts: Timestamp,
        orig_len: u32,
        linktype: LinkType,
        data: &[u8],
    ) -> io::Result<()> {
        if linktype != self.linktype {
            return Err(invalid_input(format!(
                "a pcap file holds one link type: this one is {}, the frame is {linktype}",
                self.linktype
            )));
        }
        let secs = u32::try_from(ts.secs)
            .map_err(|_| invalid_input(format!("timestamp {} does not fit pcap", ts.secs)))?;
        let fraction = match self.resolution {
            PcapResolution::Micros => ts.nanos / 1_000,
            PcapResolution::Nanos => ts.nanos,
        };
        let (caplen, orig_len) = lengths(data, orig_len, self.snaplen)?;
        let mut record = [0u8; 16];
        for (slot, byte) in record.iter_mut().zip(
            secs.to_le_bytes()
                .into_iter()
                .chain(fraction.to_le_bytes())
                .chain(caplen.to_le_bytes())
                .chain(orig_len.to_le_bytes()),
        ) {
            *slot = byte;
        }
        self.out.write_all(&record)?;
        self.out
            .write_all(data.get(..caplen as usize).unwrap_or(data))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Writes one pcapng section, little-endian: a Section Header Block at creation, an Interface
/// Description Block the first time each link type is written, then Enhanced Packet Blocks.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    out: W,
    snaplen: u32,
    /// Link type of each interface, in interface-id order.
    interfaces: Vec<LinkType>,
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the Section Header Block. Frames longer than `snaplen` are cut to it.
    pub fn new(mut out: W, snaplen: u32) -> io::Result<Self> {
        let mut block = Vec::with_capacity(28);
        block.extend_from_slice(&BLOCK_SHB.to_le_bytes());
        block.extend_from_slice(&28u32.to_le_bytes());
        block.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        block.extend_from_slice(&1u16.to_le_bytes()); // major version
        block.extend_from_slice(&0u16.to_le_bytes()); // minor version
        block.extend_from_slice(&(-1i64).to_le_bytes()); // section length: not specified
        block.extend_from_slice(&28u32.to_le_bytes());
        out.write_all(&block)?;
        Ok(PcapngWriter {
            out,
            snaplen,
            interfaces: Vec::new(),
        })
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// The interface id for `linktype`, writing its IDB first if it is new.
    fn interface_for(&mut self, linktype: LinkType) -> io::Result<u32> {
        if let Some(index) = self.interfaces.iter().position(|&lt| lt == linktype) {
            return u32::try_from(index).map_err(|_| invalid_input("too many interfaces".into()));
        }
        // pcapng stores the link type in 16 bits.
        let linktype16 = u16::try_from(linktype.0)
            .map_err(|_| invalid_input(format!("link type {linktype} does not fit pcapng")))?;
        let id = u32::try_from(self.interfaces.len())
            .map_err(|_| invalid_input("too many interfaces".into()))?;
        // 8 block header + 8 fixed fields + 8 if_tsresol option (4 header, 1 value, 3 padding)
        // + 4 opt_endofopt + 4 trailing length.
        const IDB_LEN: u32 = 32;
        let mut block = Vec::with_capacity(IDB_LEN as usize);
        block.extend_from_slice(&BLOCK_IDB.to_le_bytes());
        block.extend_from_slice(&IDB_LEN.to_le_bytes());
        block.extend_from_slice(&linktype16.to_le_bytes());
        block.extend_from_slice(&0u16.to_le_bytes()); // reserved
        block.extend_from_slice(&self.snaplen.to_le_bytes());
        block.extend_from_slice(&OPT_IF_TSRESOL.to_le_bytes());
        block.extend_from_slice(&1u16.to_le_bytes());
        block.extend_from_slice(&[TSRESOL_NANOS, 0, 0, 0]);
        block.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        block.extend_from_slice(&IDB_LEN.to_le_bytes());
        self.out.write_all(&block)?;
        self.interfaces.push(linktype);
        Ok(id)
    }
}

impl<W: Write> FrameWriter for PcapngWriter<W> {
    fn write_frame(
        &mut self,
        ts: Timestamp,
        orig_len: u32,
        linktype: LinkType,
        data: &[u8],
    ) -> io::Result<()> {
        let nanos = u64::try_from(ts.as_nanos())
            .map_err(|_| invalid_input(format!("timestamp {ts} does not fit pcapng")))?;
        let (caplen, orig_len) = lengths(data, orig_len, self.snaplen)?;
        let interface = self.interface_for(linktype)?;
        let padding = (4 - caplen % 4) % 4;
        // 28 bytes of block header and fixed fields, the padded data, 4 trailing length bytes.
        let block_len = caplen
            .checked_add(padding)
            .and_then(|n| n.checked_add(32))
            .ok_or_else(|| invalid_input(format!("frame of {caplen} bytes is too long")))?;
        let mut header = [0u8; 28];
        for (slot, byte) in header.iter_mut().zip(
            BLOCK_EPB
                .to_le_bytes()
                .into_iter()
                .chain(block_len.to_le_bytes())
                .chain(interface.to_le_bytes())
                // The 64-bit timestamp is stored high word first, each word in section order.
                .chain(((nanos >> 32) as u32).to_le_bytes())
                .chain((nanos as u32).to_le_bytes())
                .chain(caplen.to_le_bytes())
                .chain(orig_len.to_le_bytes()),
        ) {
            *slot = byte;
        }
        self.out.write_all(&header)?;
        self.out
            .write_all(data.get(..caplen as usize).unwrap_or(data))?;
        self.out
            .write_all([0u8; 3].get(..padding as usize).unwrap_or_default())?;
        self.out.write_all(&block_len.to_le_bytes())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le32(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    fn le16(bytes: &[u8], at: usize) -> u16 {
        u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap())
    }

    const TS: Timestamp = Timestamp {
        secs: 1_700_000_000,
        nanos: 123_456_789,
        digits: 9,
    };

    #[test]
    fn pcap_micros_header_and_record() {
        let mut writer = PcapWriter::new(
            Vec::new(),
            LinkType::ETHERNET,
            65535,
            PcapResolution::Micros,
        )
        .unwrap();
        writer
            .write_frame(TS, 60, LinkType::ETHERNET, &[1, 2, 3, 4, 5])
            .unwrap();
        let out = writer.into_inner();
        assert_eq!(out.len(), 24 + 16 + 5);
        assert_eq!(
            &out[0..4],
            &[0xd4, 0xc3, 0xb2, 0xa1],
            "LE microsecond magic"
        );
        assert_eq!(le16(&out, 4), 2);
        assert_eq!(le16(&out, 6), 4);
        assert_eq!(le32(&out, 16), 65535, "snaplen");
        assert_eq!(le32(&out, 20), 1, "link type");
        assert_eq!(le32(&out, 24), 1_700_000_000, "ts_sec");
        assert_eq!(
            le32(&out, 28),
            123_456,
            "ts_usec: nanoseconds cut to microseconds"
        );
        assert_eq!(le32(&out, 32), 5, "caplen");
        assert_eq!(le32(&out, 36), 60, "orig len");
        assert_eq!(&out[40..], &[1, 2, 3, 4, 5]);
    }

    #[test]
    fn pcap_nanos_and_snaplen_cut() {
        let mut writer =
            PcapWriter::new(Vec::new(), LinkType::RAW, 3, PcapResolution::Nanos).unwrap();
        writer
            .write_frame(TS, 0, LinkType::RAW, &[9, 8, 7, 6, 5])
            .unwrap();
        let out = writer.into_inner();
        assert_eq!(&out[0..4], &[0x4d, 0x3c, 0xb2, 0xa1], "LE nanosecond magic");
        assert_eq!(le32(&out, 28), 123_456_789);
        assert_eq!(le32(&out, 32), 3, "caplen cut to snaplen");
        assert_eq!(le32(&out, 36), 5, "orig len never below the captured bytes");
        assert_eq!(&out[40..], &[9, 8, 7]);
    }

    #[test]
    fn pcap_rejects_other_link_type_and_negative_time() {
        let mut writer = PcapWriter::new(
            Vec::new(),
            LinkType::ETHERNET,
            65535,
            PcapResolution::Micros,
        )
        .unwrap();
        let err = writer.write_frame(TS, 1, LinkType::RAW, &[0]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let before_epoch = Timestamp { secs: -1, ..TS };
        assert!(writer
            .write_frame(before_epoch, 1, LinkType::ETHERNET, &[0])
            .is_err());
        assert_eq!(
            writer.into_inner().len(),
            24,
            "nothing written for refused frames"
        );
    }

    #[test]
    fn pcapng_blocks_by_hand() {
        let mut writer = PcapngWriter::new(Vec::new(), 262_144).unwrap();
        writer
            .write_frame(TS, 100, LinkType::ETHERNET, &[0xaa; 5])
            .unwrap();
        writer
            .write_frame(TS, 4, LinkType::RAW, &[0xbb; 4])
            .unwrap();
        writer
            .write_frame(TS, 5, LinkType::ETHERNET, &[0xcc; 1])
            .unwrap();
        let out = writer.into_inner();
        // Section Header Block.
        assert_eq!(le32(&out, 0), BLOCK_SHB);
        assert_eq!(le32(&out, 4), 28);
        assert_eq!(le32(&out, 8), 0x1a2b_3c4d);
        assert_eq!(le32(&out, 24), 28, "trailing block length");
        // IDB for Ethernet, with if_tsresol = 9.
        let idb = 28;
        assert_eq!(le32(&out, idb), BLOCK_IDB);
        assert_eq!(le32(&out, idb + 4), 32);
        assert_eq!(le16(&out, idb + 8), 1, "link type");
        assert_eq!(le32(&out, idb + 12), 262_144, "snaplen");
        assert_eq!(le16(&out, idb + 16), 9, "option code if_tsresol");
        assert_eq!(le16(&out, idb + 18), 1, "option length");
        assert_eq!(out[idb + 20], 9, "nanoseconds");
        // First EPB: interface 0, 5 bytes padded to 8.
        let epb = idb + 32;
        assert_eq!(le32(&out, epb), BLOCK_EPB);
        assert_eq!(le32(&out, epb + 4), 28 + 8 + 4);
        assert_eq!(le32(&out, epb + 8), 0, "interface id");
        let nanos = (u64::from(le32(&out, epb + 12)) << 32) | u64::from(le32(&out, epb + 16));
        assert_eq!(nanos, 1_700_000_000_123_456_789);
        assert_eq!(le32(&out, epb + 20), 5, "caplen");
        assert_eq!(le32(&out, epb + 24), 100, "orig len");
        assert_eq!(
            &out[epb + 28..epb + 36],
            &[0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0, 0, 0]
        );
        assert_eq!(le32(&out, epb + 36), 40);
        // A second IDB appears for raw IP, and its frame names interface 1.
        let idb2 = epb + 40;
        assert_eq!(le32(&out, idb2), BLOCK_IDB);
        assert_eq!(le16(&out, idb2 + 8), 101);
        let epb2 = idb2 + 32;
        assert_eq!(le32(&out, epb2 + 8), 1);
        assert_eq!(le32(&out, epb2 + 4), 32 + 4, "4 bytes need no padding");
        // Ethernet again reuses interface 0 and writes no new IDB.
        let epb3 = epb2 + 36;
        assert_eq!(le32(&out, epb3), BLOCK_EPB);
        assert_eq!(le32(&out, epb3 + 8), 0);
        assert_eq!(out.len(), epb3 + 36);
    }
}

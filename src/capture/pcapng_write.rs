//! A faithful pcapng copy of captured frames, each with an optional comment of its own
//! (`portnote annotate -w`, `live --write`).
//!
//! Takes [`Frame`]s as a reader yields them and writes one little-endian pcapng section: a
//! Section Header Block naming the writing application (and a section comment), one Interface
//! Description Block per input interface, written the first time one of its frames is, then one
//! Enhanced Packet Block per frame. A frame's captured bytes, original length and timestamp are
//! copied as stored: the timestamp in its interface's own ticks, with the interface's options
//! (`if_tsresol`, `if_tsoffset`, `if_name`, ...) copied to its new description, so no precision
//! is lost or gained; a pcap file's microseconds or nanoseconds become an `if_tsresol` of 6 or
//! 9. The options of a packet block (comments, flags, hashes ...) are kept, and the new comment
//! is added after them, never in place of one. Several inputs and sections share the one output
//! section, their interfaces renumbered in order of first use.
//!
//! Big-endian sections are rewritten little-endian: the block fields, and the option values the
//! format defines as numbers (`if_tsoffset`, `epb_flags`, ... and custom options' enterprise
//! numbers); other option values are bytes or strings and are copied unchanged. An option list
//! that runs past its block is cut before the damaged option.
//!
//! What is not copied: blocks that hold no packet (Name Resolution, Interface Statistics,
//! custom and unknown blocks, earlier Section Headers). A Simple Packet Block, which has no
//! timestamp, becomes an Enhanced Packet Block at time 0 (the Unix epoch).
//!
//! Never buffers a frame beyond the writer it is given; no allocation per frame once the
//! per-block scratch buffer has grown to the largest options seen.

use super::{Frame, InterfaceDescription};
use std::collections::HashMap;
use std::io::{self, Write};

const BLOCK_SHB: u32 = 0x0a0d_0d0a;
const BLOCK_IDB: u32 = 0x0000_0001;
const BLOCK_EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

const OPT_ENDOFOPT: u16 = 0;
const OPT_COMMENT: u16 = 1;
const OPT_SHB_USERAPPL: u16 = 4;
const OPT_IF_TSRESOL: u16 = 9;
/// Custom options (section 3.5.1 of the pcapng draft): a Private Enterprise Number first.
const CUSTOM_OPTIONS: [u16; 4] = [2988, 2989, 19372, 19373];

/// An option value longer than this cannot be stored (its length field is 16 bits).
const MAX_OPTION_LEN: usize = u16::MAX as usize;

/// What a big-endian option value needs to become little-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Swap {
    /// Bytes or text: copied as is.
    None,
    /// One number of this many bytes (2, 4 or 8).
    Number(usize),
    /// A custom option: a 4-byte enterprise number, then the enterprise's own bytes.
    Custom,
}

/// Which block an option list belongs to: option codes mean different things in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OptionsOf {
    Interface,
    Packet,
}

impl OptionsOf {
    /// The numeric options of the draft's Interface Description and (Enhanced) Packet Blocks.
    fn swap(self, code: u16) -> Swap {
        if CUSTOM_OPTIONS.contains(&code) {
            return Swap::Custom;
        }
        match (self, code) {
            // if_speed, if_tsoffset, if_txspeed, if_rxspeed
            (OptionsOf::Interface, 8 | 14 | 16 | 17) => Swap::Number(8),
            // if_tzone
            (OptionsOf::Interface, 10) => Swap::Number(4),
            // epb_flags, epb_queue
            (OptionsOf::Packet, 2 | 6) => Swap::Number(4),
            // epb_dropcount, epb_packetid
            (OptionsOf::Packet, 4 | 5) => Swap::Number(8),
            _ => Swap::None,
        }
    }
}

/// Appends one option, little-endian, value padded to 32 bits. A value too long for the
/// 16-bit length is cut to fit.
fn push_option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    let value = value.get(..MAX_OPTION_LEN).unwrap_or(value);
    // value.len() <= u16::MAX after the cut above.
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(value);
    // Padding by the value's length: `out` may start unaligned (after a frame's data).
    let padding = value.len().next_multiple_of(4) - value.len();
    out.extend_from_slice([0u8; 3].get(..padding).unwrap_or_default());
}

/// Appends the options of `options` (as stored, big-endian when `big_endian`) to `out`,
/// little-endian, without their opt_endofopt. Stops at opt_endofopt, at the end, or before an
/// option whose value runs past the end.
fn copy_options(out: &mut Vec<u8>, mut options: &[u8], big_endian: bool, of: OptionsOf) {
    let read16 = |bytes: [u8; 2]| {
        if big_endian {
            u16::from_be_bytes(bytes)
        } else {
            u16::from_le_bytes(bytes)
        }
    };
    while let Some(&[c0, c1, l0, l1]) = options.first_chunk::<4>() {
        let code = read16([c0, c1]);
        let len = usize::from(read16([l0, l1]));
        let Some(value) = options.get(4..4 + len) else {
            return;
        };
        if code == OPT_ENDOFOPT {
            return;
        }
        let at = out.len();
        push_option(out, code, value);
        if big_endian {
            // The value starts 4 bytes after the option's start in `out`.
            let stored = out.get_mut(at + 4..at + 4 + len).unwrap_or_default();
            match of.swap(code) {
                Swap::Number(width) if width == len => stored.reverse(),
                Swap::Custom => {
                    if let Some(pen) = stored.get_mut(..4) {
                        pen.reverse();
                    }
                }
                Swap::Number(_) | Swap::None => {}
            }
        }
        options = options
            .get((4 + len).next_multiple_of(4)..)
            .unwrap_or_default();
    }
}

/// Writes annotated pcapng; see the module documentation.
#[derive(Debug)]
pub struct AnnotatedPcapngWriter<W: Write> {
    out: W,
    /// [`InterfaceDescription::key`] -> interface id in the output.
    interfaces: HashMap<u64, u32>,
    /// The last (key, id) looked up: nearly every frame has its predecessor's interface.
    last: Option<(u64, u32)>,
    /// Scratch for a block's tail (padding, options, trailing length) and for IDBs.
    scratch: Vec<u8>,
}

impl<W: Write> AnnotatedPcapngWriter<W> {
    /// Writes the Section Header Block: `application` as `shb_userappl`, `comment` as the
    /// section's `opt_comment`.
    pub fn new(mut out: W, application: &str, comment: Option<&str>) -> io::Result<Self> {
        let mut options = Vec::new();
        push_option(&mut options, OPT_SHB_USERAPPL, application.as_bytes());
        if let Some(comment) = comment {
            push_option(&mut options, OPT_COMMENT, comment.as_bytes());
        }
        options.extend_from_slice(&[0; 4]); // opt_endofopt
                                            // type, length, byte-order magic, version 1.0, section length, options, length.
        let len = block_len(28 + options.len())?;
        let mut block = Vec::with_capacity(len as usize);
        block.extend_from_slice(&BLOCK_SHB.to_le_bytes());
        block.extend_from_slice(&len.to_le_bytes());
        block.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        block.extend_from_slice(&1u16.to_le_bytes());
        block.extend_from_slice(&0u16.to_le_bytes());
        block.extend_from_slice(&(-1i64).to_le_bytes()); // section length: not given
        block.extend_from_slice(&options);
        block.extend_from_slice(&len.to_le_bytes());
        out.write_all(&block)?;
        Ok(AnnotatedPcapngWriter {
            out,
            interfaces: HashMap::new(),
            last: None,
            scratch: Vec::new(),
        })
    }

    /// Writes `frame` as an Enhanced Packet Block, after its interface's description if that is
    /// new; `comment` (when given) becomes an `opt_comment` after the frame's own options.
    pub fn write_frame(&mut self, frame: &Frame<'_>, comment: Option<&[u8]>) -> io::Result<()> {
        let origin = &frame.origin;
        let (interface, ticks) = if origin.interface.key == 0 {
            // A frame without a described interface (made up, not read): its link type on an
            // interface of nanoseconds.
            let nanos = u64::try_from(frame.ts.as_nanos()).unwrap_or(0);
            (self.interface_id(&unknown_interface(frame))?, nanos)
        } else {
            (
                self.interface_id(origin.interface)?,
                origin.ticks.unwrap_or(0),
            )
        };
        let caplen = frame.data.len();
        self.scratch.clear();
        let padding = caplen.next_multiple_of(4) - caplen;
        self.scratch.resize(padding, 0);
        copy_options(
            &mut self.scratch,
            origin.options,
            origin.interface.big_endian,
            OptionsOf::Packet,
        );
        let has_options = self.scratch.len() > padding;
        if let Some(comment) = comment {
            push_option(&mut self.scratch, OPT_COMMENT, comment);
        }
        if has_options || comment.is_some() {
            self.scratch.extend_from_slice(&[0; 4]); // opt_endofopt
        }
        // 28 bytes of header and fixed fields, data and tail, 4 bytes of trailing length.
        let len = block_len(28 + caplen + self.scratch.len() + 4)?;
        self.scratch.extend_from_slice(&len.to_le_bytes());
        let caplen32 = u32::try_from(caplen).unwrap_or(u32::MAX);
        let mut header = [0u8; 28];
        for (slot, byte) in header.iter_mut().zip(
            BLOCK_EPB
                .to_le_bytes()
                .into_iter()
                .chain(len.to_le_bytes())
                .chain(interface.to_le_bytes())
                // The 64-bit timestamp is stored high word first.
                .chain(((ticks >> 32) as u32).to_le_bytes())
                .chain((ticks as u32).to_le_bytes())
                .chain(caplen32.to_le_bytes())
                .chain(frame.len.to_le_bytes()),
        ) {
            *slot = byte;
        }
        self.out.write_all(&header)?;
        self.out.write_all(frame.data)?;
        self.out.write_all(&self.scratch)
    }

    /// Flush the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// The output id of `interface`, writing its description first when it is new.
    #[inline]
    fn interface_id(&mut self, interface: &InterfaceDescription) -> io::Result<u32> {
        if let Some((key, id)) = self.last {
            if key == interface.key {
                return Ok(id);
            }
        }
        let id = match self.interfaces.get(&interface.key) {
            Some(&id) => id,
            None => self.describe(interface)?,
        };
        self.last = Some((interface.key, id));
        Ok(id)
    }

    /// Writes the Interface Description Block of a new interface; returns its id.
    #[cold]
    fn describe(&mut self, interface: &InterfaceDescription) -> io::Result<u32> {
        let id = u32::try_from(self.interfaces.len())
            .map_err(|_| invalid_input("more than 2^32 interfaces".to_string()))?;
        // pcapng stores the link type in 16 bits; a pcap header's upper bits were masked off.
        let linktype = u16::try_from(interface.linktype.0).map_err(|_| {
            invalid_input(format!(
                "link type {} does not fit pcapng",
                interface.linktype
            ))
        })?;
        let mut options = Vec::new();
        copy_options(
            &mut options,
            &interface.options,
            interface.big_endian,
            OptionsOf::Interface,
        );
        if !options.is_empty() {
            options.extend_from_slice(&[0; 4]); // opt_endofopt
        }
        let len = block_len(16 + options.len() + 4)?;
        self.scratch.clear();
        self.scratch.extend_from_slice(&BLOCK_IDB.to_le_bytes());
        self.scratch.extend_from_slice(&len.to_le_bytes());
        self.scratch.extend_from_slice(&linktype.to_le_bytes());
        self.scratch.extend_from_slice(&0u16.to_le_bytes()); // reserved
        self.scratch
            .extend_from_slice(&interface.snaplen.to_le_bytes());
        self.scratch.extend_from_slice(&options);
        self.scratch.extend_from_slice(&len.to_le_bytes());
        self.out.write_all(&self.scratch)?;
        self.interfaces.insert(interface.key, id);
        Ok(id)
    }
}

/// The interface a frame without a described one is written on: its link type, nanoseconds.
fn unknown_interface(frame: &Frame<'_>) -> InterfaceDescription {
    let mut options = Vec::new();
    push_option(&mut options, OPT_IF_TSRESOL, &[9]);
    InterfaceDescription {
        key: 0,
        linktype: frame.linktype,
        snaplen: 0,
        big_endian: false,
        options,
    }
}

/// A block's total length as its 32-bit field, refused when it does not fit.
fn block_len(len: usize) -> io::Result<u32> {
    u32::try_from(len).map_err(|_| invalid_input(format!("block of {len} bytes is too long")))
}

fn invalid_input(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureReader;

    fn be_option(code: u16, value: &[u8]) -> Vec<u8> {
        let mut option = code.to_be_bytes().to_vec();
        option.extend_from_slice(&(value.len() as u16).to_be_bytes());
        option.extend_from_slice(value);
        option.resize(option.len().next_multiple_of(4), 0);
        option
    }

    #[test]
    fn big_endian_numbers_become_little_endian_and_the_rest_is_copied() {
        let mut options = be_option(1, b"hi"); // opt_comment: text
        options.extend(be_option(2, &5u32.to_be_bytes())); // epb_flags
        options.extend(be_option(4, &7u64.to_be_bytes())); // epb_dropcount
        options.extend(be_option(2989, &[0, 0, 0, 0x7b, 1, 2])); // custom: PEN 123, data
        options.extend(be_option(0, &[])); // opt_endofopt
        options.extend([0xee; 8]); // after the end: ignored
        let mut out = Vec::new();
        copy_options(&mut out, &options, true, OptionsOf::Packet);
        let mut expected = Vec::new();
        push_option(&mut expected, 1, b"hi");
        push_option(&mut expected, 2, &5u32.to_le_bytes());
        push_option(&mut expected, 4, &7u64.to_le_bytes());
        push_option(&mut expected, 2989, &[0x7b, 0, 0, 0, 1, 2]);
        assert_eq!(out, expected);
    }

    #[test]
    fn an_option_running_past_its_block_is_cut_with_what_follows() {
        let mut options = be_option(1, b"kept");
        options.extend_from_slice(&[0, 1, 0, 40, b'x']); // claims 40 bytes, has 1
        let mut out = vec![0xaa]; // as after a frame's odd-length data
        copy_options(&mut out, &options, true, OptionsOf::Packet);
        let mut expected = vec![0xaa];
        push_option(&mut expected, 1, b"kept");
        assert_eq!(out, expected);
        assert_eq!(
            expected.len(),
            1 + 4 + 4,
            "padding by the value, not the buffer"
        );
    }

    /// Frames read back from the written file equal the frames written: bytes, lengths,
    /// timestamps (a pcap's microseconds stay microseconds), link type.
    #[test]
    fn written_frames_read_back_the_same() {
        let input = std::fs::read("captures/demo.pcapng").unwrap();
        let mut reader =
            CaptureReader::from_reader("demo", Box::new(std::io::Cursor::new(input))).unwrap();
        let mut writer = AnnotatedPcapngWriter::new(Vec::new(), "test", None).unwrap();
        let mut originals = Vec::new();
        while let Some(frame) = reader.next_frame().unwrap() {
            writer.write_frame(&frame, Some(b"c")).unwrap();
            originals.push((frame.ts, frame.len, frame.linktype, frame.data.to_vec()));
        }
        assert!(originals.len() > 10);
        let written = writer.into_inner();
        let mut reader =
            CaptureReader::from_reader("out", Box::new(std::io::Cursor::new(written))).unwrap();
        let mut copies = Vec::new();
        while let Some(frame) = reader.next_frame().unwrap() {
            // The comment sits in the block's options, after the padded data.
            assert_eq!(frame.origin.options.get(..5), Some(&[1, 0, 1, 0, b'c'][..]));
            copies.push((frame.ts, frame.len, frame.linktype, frame.data.to_vec()));
        }
        assert_eq!(copies, originals);
    }
}

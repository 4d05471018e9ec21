//! Capture input: the only module that touches file formats and libpcap.
//!
//! Takes a path (or `-` for stdin; gzip is detected and unpacked) and yields [`Frame`]s that
//! borrow the reader's buffer, one at a time. Damage (a record cut short, a length beyond reason)
//! ends the stream with a [`CaptureError`] naming the file and byte offset, after every frame
//! before it was yielded. Never panics, never allocates what a header merely claims.
//!
//! The readers are our own rather than libpcap's offline reader (which was measured slower;
//! mmap was slower too): [`CaptureReader`] reads 256 KiB chunks and walks records in
//! place. libpcap is used only to compile `-f` filter expressions ([`BpfFilter`]).
//!
//! ## Limits on captured lengths
//!
//! A record's captured length may exceed the file's snapshot length: tshark and libpcap accept
//! such files (tcpdump's own test `dccp_options-oobr.pcap` has caplen 166 under snaplen 70), so
//! portnote does too. What is refused is a captured length beyond [`caplen_limit`]: the larger
//! of 256 KiB (libpcap's and Wireshark's largest standard snapshot length) and the file's or
//! interface's snapshot length, and never more than [`MAX_RECORD_LEN`] (256 MiB), which also
//! bounds a pcapng block. Either way, the buffer grows only as bytes actually arrive.
//! A captured length above the wire length is passed on as stored.

mod bpf;
mod buffer;
mod endian;
mod error;
mod filter;
pub mod live;
mod pcap;
mod pcapng;
pub mod pcapng_write;
mod readahead;
pub mod write;

pub use error::{CaptureError, CaptureErrorKind};
pub use filter::{BpfFilter, FilterError};

use crate::linktype::LinkType;
use buffer::ChunkBuffer;
use flate2::read::MultiGzDecoder;
use serde::Serialize;
use std::fmt;
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Captured lengths up to this are always accepted (libpcap's `MAXIMUM_SNAPLEN`).
pub const DEFAULT_CAPLEN_LIMIT: u32 = 256 * 1024;
/// No record or block is ever accepted beyond this, whatever the headers say.
pub const MAX_RECORD_LEN: usize = 256 * 1024 * 1024;

/// The largest captured length accepted under a snapshot length (0 = unlimited): the larger of
/// [`DEFAULT_CAPLEN_LIMIT`] and `snaplen`, at most [`MAX_RECORD_LEN`] less a record header.
pub fn caplen_limit(snaplen: u32) -> u32 {
    const CEILING: u32 = (MAX_RECORD_LEN - 64) as u32;
    snaplen.clamp(DEFAULT_CAPLEN_LIMIT, CEILING)
}

/// Which file format a reader found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaptureFormat {
    /// Classic libpcap format.
    Pcap {
        /// Written big-endian.
        big_endian: bool,
        /// Nanosecond timestamps (magic a1b23c4d) rather than microseconds.
        nanos: bool,
    },
    /// pcapng (byte order may change per section).
    Pcapng,
}

impl fmt::Display for CaptureFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureFormat::Pcap { big_endian, nanos } => write!(
                f,
                "pcap ({}, {})",
                if *big_endian {
                    "big-endian"
                } else {
                    "little-endian"
                },
                if *nanos {
                    "nanoseconds"
                } else {
                    "microseconds"
                }
            ),
            CaptureFormat::Pcapng => f.write_str("pcapng"),
        }
    }
}

/// A packet located in the reader's buffer (or, from the pcapng parser, in its block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PacketRef {
    pub(crate) ts: Timestamp,
    pub(crate) len: u32,
    pub(crate) linktype: LinkType,
    /// Where the captured bytes start.
    pub(crate) data_at: usize,
    pub(crate) caplen: usize,
    /// The pcapng interface id (index into the section's interfaces).
    pub(crate) interface: u32,
    /// The timestamp as stored, in the interface's ticks; `None` for a Simple Packet Block.
    pub(crate) ticks: Option<u64>,
    /// Where the block's options start (after the padded data) and how many bytes they take.
    pub(crate) options_at: usize,
    pub(crate) options_len: usize,
}

impl PacketRef {
    /// The captured bytes and the options of the packet in `bytes`, where `data_at` and
    /// `options_at` point; empty slices for a range that is not there (never the case for a
    /// packet the parser checked).
    #[inline]
    fn slices<'b>(&self, bytes: &'b [u8]) -> (&'b [u8], &'b [u8]) {
        let data = bytes
            .get(self.data_at..)
            .and_then(|b| b.get(..self.caplen))
            .unwrap_or_default();
        let options = bytes
            .get(self.options_at..)
            .and_then(|b| b.get(..self.options_len))
            .unwrap_or_default();
        (data, options)
    }

    /// The frame of this packet, whose bytes are in `bytes`, described by the current section's
    /// interface (a function of the reader's fields, so the buffer and the parser are borrowed
    /// at once).
    #[inline]
    fn frame<'b>(
        &self,
        bytes: &'b [u8],
        parser: &'b Parser,
        pcap_interface: &'b InterfaceDescription,
    ) -> Frame<'b> {
        let (data, options) = self.slices(bytes);
        Frame {
            ts: self.ts,
            len: self.len,
            linktype: self.linktype,
            data,
            origin: Origin {
                interface: interface_of(parser, pcap_interface, self.interface),
                ticks: self.ticks,
                options,
            },
        }
    }
}

enum Parser {
    Pcap(pcap::FileHeader),
    Pcapng(pcapng::Section),
}

/// Reads a pcap or pcapng capture, one [`Frame`] at a time.
pub struct CaptureReader {
    name: String,
    input: ChunkBuffer,
    format: CaptureFormat,
    parser: Parser,
    /// The one interface of a classic pcap file (unused for pcapng, whose sections hold theirs).
    pcap_interface: InterfaceDescription,
    records: u64,
    /// Set at the first error: the stream is over.
    done: bool,
}

impl fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureReader")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("offset", &self.input.offset())
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

impl CaptureReader {
    /// Opens a capture file; `-` is standard input. Detects pcap / pcapng by their magic
    /// number; a gzip stream (1f 8b) is unpacked transparently, every member of it.
    pub fn open(path: &Path) -> Result<CaptureReader, CaptureError> {
        if path == Path::new("-") {
            return CaptureReader::from_reader("<stdin>", Box::new(io::stdin()));
        }
        let name = path.display().to_string();
        let file =
            File::open(path).map_err(|e| CaptureError::new(&name, 0, CaptureErrorKind::Open(e)))?;
        let is_dir = file
            .metadata()
            .map_err(|e| CaptureError::new(&name, 0, CaptureErrorKind::Open(e)))?
            .is_dir();
        if is_dir {
            return Err(CaptureError::new(&name, 0, CaptureErrorKind::IsDirectory));
        }
        CaptureReader::from_reader(name, Box::new(file))
    }

    /// Reads a capture from any byte stream; `name` is what errors call it.
    pub fn from_reader(
        name: impl Into<String>,
        reader: Box<dyn Read + Send>,
    ) -> Result<CaptureReader, CaptureError> {
        let name = name.into();
        let fail = |kind| CaptureError::new(&name, 0, kind);
        let mut input = ChunkBuffer::new(reader);
        let mut present = input.fill(4).map_err(|e| fail(CaptureErrorKind::Read(e)))?;
        if input.available().starts_with(&[0x1f, 0x8b]) {
            let (pending, source) = input.into_parts();
            let compressed = Cursor::new(pending).chain(source);
            input = ChunkBuffer::new(Box::new(MultiGzDecoder::new(compressed)));
            present = input.fill(4).map_err(|e| fail(CaptureErrorKind::Read(e)))?;
        }
        if present == 0 {
            return Err(fail(CaptureErrorKind::Empty));
        }
        let magic: [u8; 4] = input
            .available()
            .get(..4)
            .and_then(|m| m.try_into().ok())
            .ok_or(fail(CaptureErrorKind::TooShort { len: present }))?;
        let (format, parser, pcap_interface) =
            if let Some((endian, nanos)) = pcap::recognise_magic(magic) {
                input
                    .fill(pcap::FILE_HEADER_LEN)
                    .map_err(|e| fail(CaptureErrorKind::Read(e)))?;
                let header = pcap::parse_file_header(input.available()).map_err(fail)?;
                input.consume(pcap::FILE_HEADER_LEN);
                let big_endian = endian == endian::Endian::Big;
                let tsresol = if nanos { 9 } else { 6 };
                let interface =
                    InterfaceDescription::synthetic(header.linktype, header.snaplen, tsresol, None);
                (
                    CaptureFormat::Pcap { big_endian, nanos },
                    Parser::Pcap(header),
                    interface,
                )
            } else if magic == pcapng::SECTION_HEADER_BYTES {
                (
                    CaptureFormat::Pcapng,
                    Parser::Pcapng(pcapng::Section::default()),
                    InterfaceDescription::synthetic(LinkType(0), 0, 6, None),
                )
            } else {
                return Err(fail(CaptureErrorKind::UnknownMagic { magic }));
            };
        let mut reader = CaptureReader {
            name,
            input,
            format,
            parser,
            pcap_interface,
            records: 0,
            done: false,
        };
        if let Parser::Pcapng(_) = reader.parser {
            // Read the first Section Header Block now, so a damaged one fails the open.
            // It holds no packet, so nothing is lost.
            reader.next_pcapng_block()?;
        }
        Ok(reader)
    }

    /// The next frame; `Ok(None)` at a clean end. After an `Err`, every later call returns
    /// `Ok(None)`.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        // The classic pcap path is short and inlined here; pcapng's stays a call.
        match self.parser {
            Parser::Pcap(header) => self.next_pcap(header),
            Parser::Pcapng(_) => self.next_pcapng_frame(),
        }
    }

    /// The next packet of a pcapng stream, reading past blocks that hold none.
    #[inline(never)]
    fn next_pcapng_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        // The common case, an Enhanced Packet Block wholly in the buffer and sound, in one
        // pass; anything else (other blocks, refills, the end, damage) takes the loop below.
        let whole = match &self.parser {
            Parser::Pcapng(section) => section.whole_enhanced_packet(self.input.available()),
            Parser::Pcap(_) => None,
        };
        if let Some((packet, total)) = whole {
            self.records += 1;
            let bytes = self.input.take(total).unwrap_or_default();
            return Ok(Some(packet.frame(
                bytes,
                &self.parser,
                &self.pcap_interface,
            )));
        }
        loop {
            if let Some(packet) = self.next_pcapng_block()? {
                return self.frame_of(packet);
            }
            if self.done {
                return Ok(None);
            }
        }
    }

    /// Read in a thread of its own from now on: the `read()` calls (the kernel's copy of every
    /// byte, and gzip's decompression) overlap the caller's work on the previous chunk. Frames
    /// and errors are the same as without. Fails only when the thread cannot be started; the
    /// stream is then over.
    pub fn read_ahead(&mut self) -> Result<(), CaptureError> {
        let at = self.input.offset();
        self.input
            .read_ahead()
            .map_err(|e| self.fail(at, CaptureErrorKind::Read(e)))
    }

    /// The name errors use: the path as given, or `<stdin>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Packet records yielded so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Stream offset of the next record (decompressed offset for gzip input).
    pub fn offset(&self) -> u64 {
        self.input.offset()
    }

    /// Ends the stream with an error at `offset`. Kept out of line so the per-record path
    /// stays small.
    #[cold]
    #[inline(never)]
    fn fail(&mut self, offset: u64, kind: CaptureErrorKind) -> CaptureError {
        self.done = true;
        CaptureError::new(&self.name, offset, kind)
    }

    /// `what` at `at` needed `needed` bytes and the input ended after `present`; ends the stream.
    fn truncated(
        &mut self,
        at: u64,
        what: &'static str,
        needed: usize,
        present: usize,
    ) -> CaptureError {
        let kind = CaptureErrorKind::Truncated {
            what,
            needed: needed as u64,
            available: present as u64,
        };
        self.fail(at, kind)
    }

    /// Fills the buffer up to `wanted` bytes; an I/O error ends the stream.
    #[inline]
    fn fill(&mut self, at: u64, wanted: usize) -> Result<usize, CaptureError> {
        self.input
            .fill(wanted)
            .map_err(|e| self.fail(at, CaptureErrorKind::Read(e)))
    }

    /// The next classic pcap record. The common case, a whole record already in the buffer,
    /// is a header parse, two comparisons and a slice; everything else (refilling, the end,
    /// errors) is [`Self::next_pcap_refill`].
    #[inline]
    fn next_pcap(&mut self, header: pcap::FileHeader) -> Result<Option<Frame<'_>>, CaptureError> {
        let available = self.input.available();
        if let Some(record) = pcap::parse_record_header(available, header.endian) {
            // caplen <= limit < MAX_RECORD_LEN, so the sum neither overflows nor is large.
            let total = pcap::RECORD_HEADER_LEN + record.caplen as usize;
            if record.caplen <= header.caplen_limit && total <= available.len() {
                return Ok(self.pcap_frame(&header, &record, total));
            }
        }
        self.next_pcap_refill(header)
    }

    /// [`Self::next_pcap`] when the record is not wholly in the buffer yet (or is bad):
    /// reads more, and reports the end, a truncated record or an impossible length.
    #[inline(never)]
    fn next_pcap_refill(
        &mut self,
        header: pcap::FileHeader,
    ) -> Result<Option<Frame<'_>>, CaptureError> {
        let at = self.input.offset();
        let present = self.fill(at, pcap::RECORD_HEADER_LEN)?;
        let Some(record) = pcap::parse_record_header(self.input.available(), header.endian) else {
            if present == 0 {
                self.done = true;
                return Ok(None);
            }
            return Err(self.truncated(at, "pcap record header", pcap::RECORD_HEADER_LEN, present));
        };
        if record.caplen > header.caplen_limit {
            return Err(self.fail(
                at,
                CaptureErrorKind::CaplenTooLarge {
                    caplen: u64::from(record.caplen),
                    limit: u64::from(header.caplen_limit),
                },
            ));
        }
        // caplen <= limit < MAX_RECORD_LEN, so this neither overflows nor over-allocates.
        let total = pcap::RECORD_HEADER_LEN + record.caplen as usize;
        let present = self.fill(at, total)?;
        if present < total {
            return Err(self.truncated(at, "pcap record", total, present));
        }
        Ok(self.pcap_frame(&header, &record, total))
    }

    /// Consumes the record of `total` bytes (header included) that starts the buffer, which
    /// the caller found wholly present, and returns its frame.
    #[inline]
    fn pcap_frame(
        &mut self,
        header: &pcap::FileHeader,
        record: &pcap::RecordHeader,
        total: usize,
    ) -> Option<Frame<'_>> {
        self.records += 1;
        let data = self
            .input
            .take(total)
            .and_then(|bytes| bytes.get(pcap::RECORD_HEADER_LEN..))
            .unwrap_or_default();
        Some(Frame {
            ts: pcap::timestamp(header, record),
            len: record.orig_len,
            linktype: header.linktype,
            data,
            origin: Origin {
                interface: &self.pcap_interface,
                ticks: Some(pcap::ticks(header, record)),
                options: &[],
            },
        })
    }

    /// Reads one pcapng block; returns its packet with `data_at` made absolute in the buffer.
    /// `Ok(None)` for a block that is not a packet, and at the end (then `done` is set).
    fn next_pcapng_block(&mut self) -> Result<Option<PacketRef>, CaptureError> {
        let at = self.input.offset();
        let present = self.fill(at, pcapng::MIN_BLOCK_LEN)?;
        if present == 0 {
            self.done = true;
            return Ok(None);
        }
        if present < pcapng::MIN_BLOCK_LEN {
            return Err(self.truncated(at, "pcapng block header", pcapng::MIN_BLOCK_LEN, present));
        }
        let Parser::Pcapng(section) = &self.parser else {
            return Ok(None);
        };
        let total = match section.block_len(self.input.available()) {
            Ok(total) => total,
            Err(kind) => return Err(self.fail(at, kind)),
        };
        let present = self.fill(at, total)?;
        if present < total {
            return Err(self.truncated(at, "pcapng block", total, present));
        }
        let Parser::Pcapng(section) = &mut self.parser else {
            return Ok(None);
        };
        let block = self.input.available().get(..total).unwrap_or_default();
        let packet = match section.read_block(block) {
            Ok(packet) => packet,
            Err(kind) => return Err(self.fail(at, kind)),
        };
        let block_at = self.input.position();
        self.input.consume(total);
        Ok(packet.map(|p| PacketRef {
            data_at: block_at + p.data_at,
            options_at: block_at + p.options_at,
            ..p
        }))
    }

    /// The frame whose bytes sit at `packet.data_at` in the buffer (just consumed).
    fn frame_of(&mut self, packet: PacketRef) -> Result<Option<Frame<'_>>, CaptureError> {
        self.records += 1;
        // The record was checked to lie within the filled buffer before it was consumed, and
        // nothing refills the buffer before this borrow ends, so the range is always present.
        let buffered = self.input.get(0, self.input.position()).unwrap_or_default();
        Ok(Some(packet.frame(
            buffered,
            &self.parser,
            &self.pcap_interface,
        )))
    }
}

/// The description of interface `id` of the current pcapng section, or the pcap file's one
/// (a function of the two fields, so it borrows them alone while the buffer is borrowed too).
#[inline]
fn interface_of<'s>(
    parser: &'s Parser,
    pcap_interface: &'s InterfaceDescription,
    id: u32,
) -> &'s InterfaceDescription {
    match parser {
        Parser::Pcapng(section) => section.description(id),
        Parser::Pcap(_) => pcap_interface,
    }
}

/// When a frame was captured, at the precision its file records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    /// Seconds since the Unix epoch (may be negative for odd files).
    pub secs: i64,
    /// Nanoseconds within the second, 0..1_000_000_000.
    pub nanos: u32,
    /// Decimal digits of the source's resolution (6 for microseconds, 9 for nanoseconds).
    pub digits: u8,
}

impl Timestamp {
    /// Nanoseconds since the epoch, exact.
    pub fn as_nanos(&self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// Nanoseconds since the epoch as the per-packet path keeps time (flow idle expiry,
    /// fragment ages): an i64 holds 1678 to 2262, and stranger timestamps saturate. Such times
    /// only order sweeps and age entries; reports print the exact [`Timestamp`].
    #[inline]
    pub fn saturating_nanos(&self) -> i64 {
        self.secs
            .saturating_mul(1_000_000_000)
            .saturating_add(i64::from(self.nanos))
    }
}

/// The longest text [`Timestamp::rfc3339`] writes: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
const RFC3339_MAX: usize = 30;

impl Timestamp {
    /// The RFC 3339 text of `Display`, written digit by digit into `buf` for years 0 to 9999
    /// (every capture); `None` for other years, which `Display`'s general path writes. Flow
    /// records and annotations write two or three timestamps each, and `fmt`'s padded integers
    /// were most of a flow record's cost (benches/README.md).
    fn rfc3339<'b>(&self, buf: &'b mut [u8; RFC3339_MAX]) -> Option<&'b str> {
        if self.nanos >= 1_000_000_000 {
            return None;
        }
        let days = self.secs.div_euclid(86_400);
        let secs_of_day = u32::try_from(self.secs.rem_euclid(86_400)).ok()?;
        let (year, month, day) = civil_from_days(days);
        let year = u32::try_from(year).ok().filter(|y| *y <= 9999)?;
        let digit = |v: u32| b'0' + (v % 10) as u8;
        let (hour, minute, second) = (
            secs_of_day / 3600,
            secs_of_day % 3600 / 60,
            secs_of_day % 60,
        );
        let n = self.nanos;
        // The fraction at the source's precision is the leading digits of the nine.
        *buf = [
            digit(year / 1000),
            digit(year / 100),
            digit(year / 10),
            digit(year),
            b'-',
            digit(month / 10),
            digit(month),
            b'-',
            digit(day / 10),
            digit(day),
            b'T',
            digit(hour / 10),
            digit(hour),
            b':',
            digit(minute / 10),
            digit(minute),
            b':',
            digit(second / 10),
            digit(second),
            b'.',
            digit(n / 100_000_000),
            digit(n / 10_000_000),
            digit(n / 1_000_000),
            digit(n / 100_000),
            digit(n / 10_000),
            digit(n / 1_000),
            digit(n / 100),
            digit(n / 10),
            digit(n),
            b'Z',
        ];
        let digits = usize::from(self.digits.min(9));
        let z_at = if digits == 0 { 19 } else { 20 + digits };
        *buf.get_mut(z_at)? = b'Z';
        std::str::from_utf8(buf.get(..=z_at)?).ok()
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with as many fractional digits as the source resolution.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(text) = self.rfc3339(&mut [0; RFC3339_MAX]) {
            return f.write_str(text);
        }
        let days = self.secs.div_euclid(86_400);
        let secs_of_day = self.secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            secs_of_day / 3600,
            secs_of_day % 3600 / 60,
            secs_of_day % 60
        )?;
        let digits = u32::from(self.digits.min(9));
        if digits > 0 {
            let scaled = self.nanos / 10u32.pow(9 - digits);
            write!(f, ".{scaled:0width$}", width = digits as usize)?;
        }
        f.write_str("Z")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.rfc3339(&mut [0; RFC3339_MAX]) {
            Some(text) => s.serialize_str(text),
            None => s.collect_str(self),
        }
    }
}

/// The text was not a timestamp as [`Timestamp`]'s `Display` writes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.fraction]Z)")]
pub struct BadTimestamp(pub String);

impl std::str::FromStr for Timestamp {
    type Err = BadTimestamp;

    /// What `Display` writes: `YYYY-MM-DDTHH:MM:SS`, up to nine fractional digits (their count
    /// becomes `digits`), `Z`. Reading a report back (`portnote merge`) keeps its precision.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadTimestamp(text.to_string());
        let body = text.strip_suffix('Z').ok_or_else(bad)?;
        let (date, time) = body.split_once('T').ok_or_else(bad)?;
        let (clock, fraction) = match time.split_once('.') {
            Some((clock, fraction)) => (clock, Some(fraction)),
            None => (time, None),
        };
        let number = |part: &str, range: std::ops::RangeInclusive<i64>| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse::<i64>().ok().filter(|n| range.contains(n))
        };
        let (year, rest) = match date.strip_prefix('-') {
            Some(negative) => {
                let (year, rest) = negative.split_once('-').ok_or_else(bad)?;
                (-number(year, 0..=999_999_999).ok_or_else(bad)?, rest)
            }
            None => {
                let (year, rest) = date.split_once('-').ok_or_else(bad)?;
                (number(year, 0..=999_999_999).ok_or_else(bad)?, rest)
            }
        };
        let (month, day) = rest.split_once('-').ok_or_else(bad)?;
        let month = number(month, 1..=12).ok_or_else(bad)?;
        let day = number(day, 1..=31).ok_or_else(bad)?;
        let mut clock = clock.split(':');
        let mut field = |max| clock.next().and_then(|p| number(p, 0..=max));
        let (hour, minute, second) = (
            field(23).ok_or_else(bad)?,
            field(59).ok_or_else(bad)?,
            field(60).ok_or_else(bad)?,
        );
        if clock.next().is_some() {
            return Err(bad());
        }
        let (nanos, digits) = match fraction {
            None => (0, 0),
            Some(f) if (1..=9).contains(&f.len()) => {
                let value = number(f, 0..=999_999_999).ok_or_else(bad)?;
                let scale = 10i64.pow(9 - f.len() as u32);
                (value * scale, f.len() as u8)
            }
            Some(_) => return Err(bad()),
        };
        let days = days_from_civil(year, month, day);
        let secs = days
            .checked_mul(86_400)
            .and_then(|s| s.checked_add(hour * 3600 + minute * 60 + second))
            .ok_or_else(bad)?;
        Ok(Timestamp {
            secs,
            nanos: u32::try_from(nanos).map_err(|_| bad())?,
            digits,
        })
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date; the inverse of [`civil_from_days`]
/// (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400); // 0..399
    let mp = if month > 2 { month - 3 } else { month + 9 }; // month from March, 0..11
    let doy = (153 * mp + 2) / 5 + day - 1; // 0..365
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // 0..146096
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era, 0..399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st, 0..365
    let mp = (5 * doy + 2) / 153; // month from March, 0..11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// One captured frame, borrowing the reader's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub ts: Timestamp,
    /// Length on the wire.
    pub len: u32,
    pub linktype: LinkType,
    /// The captured bytes (`caplen` is `data.len()`).
    pub data: &'a [u8],
    /// What a faithful copy of the record needs beyond its bytes (`annotate -w`).
    pub origin: Origin<'a>,
}

/// Where a frame came from, as stored: its interface, its timestamp in that interface's units
/// and its record's options. Only a writer copying records reads this; the rest of the
/// pipeline uses the decoded [`Frame::ts`].
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub interface: &'a InterfaceDescription,
    /// The timestamp as stored: ticks of the interface's `if_tsresol` (microseconds or
    /// nanoseconds for pcap), before its `if_tsoffset`. `None` when the record has none (a
    /// pcapng Simple Packet Block).
    pub ticks: Option<u64>,
    /// The options of a pcapng Enhanced (or obsolete) Packet Block as stored, in the byte
    /// order of [`InterfaceDescription::big_endian`]; empty for other records.
    pub options: &'a [u8],
}

/// The interface an unknown origin refers to: no link type, no options.
static UNKNOWN_INTERFACE: InterfaceDescription = InterfaceDescription {
    key: 0,
    linktype: LinkType(0),
    snaplen: 0,
    big_endian: false,
    options: Vec::new(),
};

impl Default for Origin<'_> {
    /// No interface known, no stored timestamp, no options (frames made up in tests).
    fn default() -> Self {
        Origin {
            interface: &UNKNOWN_INTERFACE,
            ticks: None,
            options: &[],
        }
    }
}

/// One capture interface as its file describes it: a pcapng Interface Description Block, or
/// what a classic pcap file header or a live capture says of its one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceDescription {
    /// Different for every interface this process has read (across files, sections and live
    /// captures); 0 only for [`Origin::default`]. Lets a writer tell interfaces apart.
    pub key: u64,
    pub linktype: LinkType,
    /// 0 means no limit.
    pub snaplen: u32,
    /// The byte order of `options` and of the frames' [`Origin::options`].
    pub big_endian: bool,
    /// The Interface Description Block's options as stored (`if_name`, `if_tsresol`,
    /// `if_tsoffset`, ...), opt_endofopt included when present. For pcap files and live
    /// captures, `if_tsresol` (and `if_name`) made up little-endian.
    pub options: Vec<u8>,
}

/// Keys of [`InterfaceDescription`]; 0 is left to the unknown interface.
static NEXT_INTERFACE_KEY: AtomicU64 = AtomicU64::new(1);

impl InterfaceDescription {
    /// A new interface, with a key of its own.
    pub(crate) fn new(
        linktype: LinkType,
        snaplen: u32,
        big_endian: bool,
        options: Vec<u8>,
    ) -> InterfaceDescription {
        InterfaceDescription {
            key: NEXT_INTERFACE_KEY.fetch_add(1, Ordering::Relaxed),
            linktype,
            snaplen,
            big_endian,
            options,
        }
    }

    /// An interface without a pcapng description (pcap file, live capture): little-endian
    /// options holding `if_name` when given and `if_tsresol` when it is not the default 6.
    pub fn synthetic(
        linktype: LinkType,
        snaplen: u32,
        tsresol: u8,
        name: Option<&str>,
    ) -> InterfaceDescription {
        let mut options = Vec::new();
        let mut option = |code: u16, value: &[u8]| {
            let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
            options.extend_from_slice(&code.to_le_bytes());
            options.extend_from_slice(&len.to_le_bytes());
            options.extend_from_slice(value.get(..usize::from(len)).unwrap_or(value));
            options.resize(options.len().next_multiple_of(4), 0);
        };
        if let Some(name) = name {
            option(pcapng::OPT_IF_NAME, name.as_bytes());
        }
        if tsresol != 6 {
            option(pcapng::OPT_IF_TSRESOL, &[tsresol]);
        }
        if !options.is_empty() {
            options.extend_from_slice(&[0; 4]); // opt_endofopt
        }
        InterfaceDescription::new(linktype, snaplen, false, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_and_filters_can_move_to_another_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<CaptureReader>();
        assert_send::<BpfFilter>();
    }

    /// A frame's origin: what `annotate -w` copies. A nanosecond pcap stores ticks of 1 ns
    /// and says so with a made-up `if_tsresol` of 9; an oversized fraction stays in the ticks.
    #[test]
    fn pcap_frames_carry_their_stored_ticks_and_interface() {
        let mut file = vec![0x4d, 0x3c, 0xb2, 0xa1]; // nanosecond magic, little-endian
        file.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // 2.4, zone, sigfigs
        file.extend_from_slice(&[0xff, 0xff, 0, 0, 101, 0, 0, 0]); // snaplen 65535, raw IP
        for (secs, fraction) in [(5u32, 7u32), (6, 1_000_000_001)] {
            file.extend_from_slice(&secs.to_le_bytes());
            file.extend_from_slice(&fraction.to_le_bytes());
            file.extend_from_slice(&[1, 0, 0, 0, 9, 0, 0, 0, 0x45]); // caplen 1, len 9
        }
        let mut reader = CaptureReader::from_reader("ns", Box::new(Cursor::new(file))).unwrap();
        let frame = reader.next_frame().unwrap().unwrap();
        assert_eq!(frame.origin.ticks, Some(5_000_000_007));
        assert!(frame.origin.options.is_empty());
        let interface = frame.origin.interface.clone();
        assert_ne!(interface.key, 0);
        assert_eq!(
            (interface.linktype, interface.snaplen),
            (LinkType(101), 65535)
        );
        assert_eq!(interface.options, [9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        let frame = reader.next_frame().unwrap().unwrap();
        assert_eq!(frame.origin.ticks, Some(7_000_000_001));
        assert_eq!((frame.ts.secs, frame.ts.nanos), (7, 1));
        assert_eq!(frame.origin.interface.key, interface.key);
    }

    #[test]
    fn caplen_limit_is_256_kib_or_the_snaplen_up_to_256_mib() {
        assert_eq!(caplen_limit(0), 262_144);
        assert_eq!(caplen_limit(70), 262_144);
        assert_eq!(caplen_limit(524_288), 524_288);
        assert_eq!(caplen_limit(u32::MAX), (MAX_RECORD_LEN - 64) as u32);
    }

    #[test]
    fn timestamp_formats_rfc3339_at_source_precision() {
        let micro = Timestamp {
            secs: 1_700_000_000,
            nanos: 123_456_000,
            digits: 6,
        };
        assert_eq!(micro.to_string(), "2023-11-14T22:13:20.123456Z");
        let nano = Timestamp {
            secs: 0,
            nanos: 5,
            digits: 9,
        };
        assert_eq!(nano.to_string(), "1970-01-01T00:00:00.000000005Z");
        let before_epoch = Timestamp {
            secs: -1,
            nanos: 0,
            digits: 0,
        };
        assert_eq!(before_epoch.to_string(), "1969-12-31T23:59:59Z");
        let leap_day = Timestamp {
            secs: 951_782_400,
            nanos: 0,
            digits: 3,
        };
        assert_eq!(leap_day.to_string(), "2000-02-29T00:00:00.000Z");
    }

    proptest::proptest! {
        #[test]
        fn timestamp_reads_back_what_it_writes(
            secs in -62_135_596_800i64..253_402_300_800, // years 1 to 9999
            nanos in 0u32..1_000_000_000,
            digits in 0u8..=9,
        ) {
            let scale = 10u32.pow(9 - u32::from(digits));
            let ts = Timestamp { secs, nanos: nanos / scale * scale, digits };
            proptest::prop_assert_eq!(ts.to_string().parse::<Timestamp>(), Ok(ts));
        }
    }

    proptest::proptest! {
        /// The digit-by-digit path writes what the general `fmt` path writes, years 0 to 9999.
        #[test]
        fn timestamp_fast_text_is_the_general_text(
            secs in -62_167_219_200i64..253_402_300_800, // years 0 to 9999
            nanos in 0u32..1_000_000_000,
            digits in 0u8..=12,
        ) {
            let ts = Timestamp { secs, nanos, digits };
            let fast = ts.rfc3339(&mut [0; RFC3339_MAX]).map(str::to_string);
            let days = secs.div_euclid(86_400);
            let sod = secs.rem_euclid(86_400);
            let (year, month, day) = civil_from_days(days);
            let mut general = format!(
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
                sod / 3600,
                sod % 3600 / 60,
                sod % 60
            );
            let shown = u32::from(digits.min(9));
            if shown > 0 {
                let scaled = nanos / 10u32.pow(9 - shown);
                general.push_str(&format!(".{scaled:0width$}", width = shown as usize));
            }
            general.push('Z');
            proptest::prop_assert_eq!(fast, Some(general));
        }
    }

    #[test]
    fn timestamp_outside_years_0_to_9999_takes_the_general_path() {
        let far = Timestamp {
            secs: 253_402_300_800, // 10000-01-01
            nanos: 0,
            digits: 0,
        };
        assert_eq!(far.rfc3339(&mut [0; RFC3339_MAX]), None);
        assert_eq!(far.to_string(), "10000-01-01T00:00:00Z");
        let before_year_0 = Timestamp {
            secs: -62_167_219_201,
            nanos: 0,
            digits: 0,
        };
        assert_eq!(before_year_0.rfc3339(&mut [0; RFC3339_MAX]), None);
        assert!(before_year_0.to_string().ends_with("1-12-31T23:59:59Z"));
    }

    #[test]
    fn timestamp_refuses_what_it_never_writes() {
        for text in [
            "",
            "Z",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-13-14T22:13:20Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T22:13Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20.1234567890Z",
            "2023-11-14T22:13:+0Z",
            "2023-11-14 22:13:20Z",
        ] {
            assert!(text.parse::<Timestamp>().is_err(), "{text:?}");
        }
    }
}

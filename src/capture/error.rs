//! The error a capture reader ends with: which file, at which byte offset, and what was wrong.
//!
//! Offsets count bytes of the capture as the parser sees it, so for a gzip-compressed input they
//! are offsets into the decompressed stream.

use std::io;

/// Reading a capture stopped here. Every frame before `offset` was yielded.
#[derive(Debug, thiserror::Error)]
#[error("{file}: at byte offset {offset}: {kind}")]
pub struct CaptureError {
    /// The name given to the reader: the path, or `<stdin>`.
    pub file: String,
    /// Start of the bad record, block or header (0 for errors about the file as a whole).
    pub offset: u64,
    pub kind: CaptureErrorKind,
}

/// What was wrong with the input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureErrorKind {
    #[error("cannot open: {0}")]
    Open(#[source] io::Error),
    #[error("is a directory, not a capture file")]
    IsDirectory,
    #[error("read failed: {0}")]
    Read(#[source] io::Error),
    #[error("empty file")]
    Empty,
    #[error("not a pcap or pcapng file: {len} byte(s) are too few to hold a file header")]
    TooShort { len: usize },
    #[error("not a pcap or pcapng file (first bytes {magic:02x?})")]
    UnknownMagic { magic: [u8; 4] },
    #[error("unsupported {format} version {major}.{minor}")]
    UnsupportedVersion {
        format: &'static str,
        major: u16,
        minor: u16,
    },
    #[error("{what} cut short: needs {needed} bytes, only {available} present")]
    Truncated {
        what: &'static str,
        needed: u64,
        available: u64,
    },
    #[error("captured length {caplen} exceeds the limit of {limit} bytes")]
    CaplenTooLarge { caplen: u64, limit: u64 },
    #[error("bad block total length {length}: {reason}")]
    BadBlockLength { length: u64, reason: &'static str },
    #[error("block total length {leading} does not match its trailing copy {trailing}")]
    BlockLengthMismatch { leading: u32, trailing: u32 },
    #[error("bad byte-order magic {magic:#010x} in section header block")]
    BadByteOrderMagic { magic: u32 },
    #[error("packet references interface {interface}, but the section defines {defined}")]
    UndefinedInterface { interface: u32, defined: usize },
    #[error("captured length {caplen} does not fit in the {room} bytes the block has room for")]
    CaplenBeyondBlock { caplen: u32, room: usize },
    #[error("bad option {code} in {block}: {reason}")]
    BadOption {
        block: &'static str,
        code: u16,
        reason: &'static str,
    },
}

impl CaptureError {
    pub(crate) fn new(file: &str, offset: u64, kind: CaptureErrorKind) -> CaptureError {
        CaptureError {
            file: file.to_owned(),
            offset,
            kind,
        }
    }
}

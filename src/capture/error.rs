//! The error a capture reader ends with: which file, at which byte offset, and what was wrong.
//!
//! Offsets count bytes of the capture as the parser sees it, so for a gzip-compressed input they
//! are offsets into the decompressed stream.

use std::io;

/// Reading a capture stopped here. Every frame before `offset` was yielded.
///
/// Shown as `FILE: at byte offset N: what`, or `FILE: what` when the file as a whole could not
/// be read as a capture ([`CaptureErrorKind::is_about_the_whole_file`]): an offset would only
/// suggest a damaged capture.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {}{kind}", self.position())]
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
    #[error("not a pcap or pcapng file (first bytes {magic:02x?}){}", magic_hint(*magic))]
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

/// What a file that is not pcap or pcapng seems to be, when its first bytes say so.
fn magic_hint(magic: [u8; 4]) -> &'static str {
    match magic {
        [0xa1, 0xb2, 0xcd, 0x34] | [0x34, 0xcd, 0xb2, 0xa1] => {
            ": the modified (Kuznetzov) pcap format, which portnote does not read"
        }
        [0x28, 0xb5, 0x2f, 0xfd] => ": zstd-compressed; only gzip is unpacked",
        [0xfd, 0x37, 0x7a, 0x58] => ": xz-compressed; only gzip is unpacked",
        [b'B', b'Z', b'h', _] => ": bzip2-compressed; only gzip is unpacked",
        [b'P', b'K', 0x03, 0x04] => ": a zip archive; unpack it first",
        _ if magic
            .iter()
            .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()) =>
        {
            ": it looks like text"
        }
        _ => "",
    }
}

impl CaptureErrorKind {
    /// The input could not be opened, or is no capture at all (nothing was read from it): as
    /// opposed to damage at some place in a capture.
    pub fn is_about_the_whole_file(&self) -> bool {
        matches!(
            self,
            CaptureErrorKind::Open(_)
                | CaptureErrorKind::IsDirectory
                | CaptureErrorKind::Empty
                | CaptureErrorKind::TooShort { .. }
                | CaptureErrorKind::UnknownMagic { .. }
        )
    }
}

impl CaptureError {
    /// `at byte offset N: `, or nothing for an error about the whole file.
    fn position(&self) -> String {
        if self.kind.is_about_the_whole_file() {
            String::new()
        } else {
            format!("at byte offset {}: ", self.offset)
        }
    }

    pub(crate) fn new(file: &str, offset: u64, kind: CaptureErrorKind) -> CaptureError {
        CaptureError {
            file: file.to_owned(),
            offset,
            kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_magic_says_what_the_file_looks_like() {
        let message = |magic| CaptureErrorKind::UnknownMagic { magic }.to_string();
        assert_eq!(
            message(*b"GET "),
            "not a pcap or pcapng file (first bytes [47, 45, 54, 20]): it looks like text"
        );
        assert!(
            message([0x28, 0xb5, 0x2f, 0xfd]).ends_with("zstd-compressed; only gzip is unpacked")
        );
        assert!(message([0x34, 0xcd, 0xb2, 0xa1]).contains("Kuznetzov"));
        assert_eq!(
            message([0x00, 0xff, 0x10, 0x80]),
            "not a pcap or pcapng file (first bytes [00, ff, 10, 80])"
        );
    }
}

//! SCTP common header and chunk views (RFC 9260 section 3).
//!
//! Takes the bytes that start at the SCTP common header (the IP payload) and gives borrowed,
//! read-only views: [`SctpPacket`] for the 12-byte common header and [`Chunks`] walking the
//! chunks after it. Never allocates, never does I/O.
//!
//! Contract: [`SctpPacket::new_checked`] is the only constructor. Once it has succeeded every
//! getter reads bytes already proven present, so no getter can panic (and none indexes: all reads
//! go through `get`). Chunk lengths are read from the wire and checked by the iterator, which
//! yields a [`DecodeError`] for the first bad chunk and then stops.
//!
//! The bytes must end where the IP payload ends (IPv4 total length, IPv6 payload length), not
//! where the frame ends: Ethernet pads short frames with zeros, which would read as a chunk of
//! length 0.

use super::info::{DecodeError, Handshake, Layer};

/// Byte ranges of the common header fields (RFC 9260 section 3.1).
mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const VERIFICATION_TAG: Range<usize> = 4..8;
    pub const CHECKSUM: Range<usize> = 8..12;

    /// Byte ranges inside one chunk (RFC 9260 section 3.2).
    pub const CHUNK_TYPE: usize = 0;
    pub const CHUNK_FLAGS: usize = 1;
    pub const CHUNK_LENGTH: Range<usize> = 2..4;
}

/// Length of the common header: it ends where the checksum ends.
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// Length of a chunk header (type, flags, length); the smallest legal chunk length.
pub const CHUNK_HEADER_LEN: usize = field::CHUNK_LENGTH.end;

/// Chunk type of INIT (RFC 9260 section 3.3.2).
pub const CHUNK_INIT: u8 = 1;
/// Chunk type of INIT ACK (RFC 9260 section 3.3.3).
pub const CHUNK_INIT_ACK: u8 = 2;
/// Chunk type of DATA (RFC 9260 section 3.3.1).
pub const CHUNK_DATA: u8 = 0;

fn be16(bytes: &[u8], range: core::ops::Range<usize>) -> u16 {
    match bytes.get(range) {
        Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
        _ => 0,
    }
}

fn be32(bytes: &[u8], range: core::ops::Range<usize>) -> u32 {
    match bytes.get(range) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// A checked view of an SCTP packet: common header plus the chunk bytes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SctpPacket<'a> {
    bytes: &'a [u8],
}

impl<'a> SctpPacket<'a> {
    /// Checks that the 12-byte common header is present. Chunks are checked while iterating.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if bytes.len() < HEADER_LEN {
            return Err(DecodeError::truncated(Layer::Sctp, HEADER_LEN, bytes.len()));
        }
        Ok(SctpPacket { bytes })
    }

    /// Source Port Number (RFC 9260 section 3.1).
    pub fn src_port(&self) -> u16 {
        be16(self.bytes, field::SRC_PORT)
    }

    /// Destination Port Number (RFC 9260 section 3.1).
    pub fn dst_port(&self) -> u16 {
        be16(self.bytes, field::DST_PORT)
    }

    /// Verification Tag (RFC 9260 section 3.1); zero in a packet carrying INIT.
    pub fn verification_tag(&self) -> u32 {
        be32(self.bytes, field::VERIFICATION_TAG)
    }

    /// Checksum, CRC32c over the packet (RFC 9260 section 3.1); read, not verified.
    pub fn checksum(&self) -> u32 {
        be32(self.bytes, field::CHECKSUM)
    }

    /// The chunks after the common header (RFC 9260 section 3.2).
    pub fn chunks(&self) -> Chunks<'a> {
        Chunks {
            rest: self.bytes.get(HEADER_LEN..).unwrap_or_default(),
            offset: HEADER_LEN,
            failed: false,
        }
    }

    /// Number of chunks, or the error of the first malformed or truncated one.
    pub fn chunk_count(&self) -> Result<usize, DecodeError> {
        self.chunks().try_fold(0usize, |count, chunk| {
            chunk.map(|_| count.saturating_add(1))
        })
    }
}

/// One chunk: its header fields and value bytes (padding excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// Offset of the chunk from the start of the SCTP common header.
    pub offset: usize,
    bytes: &'a [u8],
}

impl<'a> Chunk<'a> {
    /// Chunk Type (RFC 9260 section 3.2).
    pub fn chunk_type(&self) -> u8 {
        self.bytes
            .get(field::CHUNK_TYPE)
            .copied()
            .unwrap_or_default()
    }

    /// Chunk Flags (RFC 9260 section 3.2).
    pub fn flags(&self) -> u8 {
        self.bytes
            .get(field::CHUNK_FLAGS)
            .copied()
            .unwrap_or_default()
    }

    /// Chunk Length, header included, padding excluded (RFC 9260 section 3.2).
    pub fn length(&self) -> u16 {
        be16(self.bytes, field::CHUNK_LENGTH)
    }

    /// Chunk Value: the bytes after the chunk header, up to Chunk Length (RFC 9260 section 3.2).
    pub fn value(&self) -> &'a [u8] {
        self.bytes.get(CHUNK_HEADER_LEN..).unwrap_or_default()
    }
}

/// Iterator over the chunks of an SCTP packet. Yields `Err` once for the first chunk whose
/// length is below 4 or beyond the bytes present, then ends.
#[derive(Debug, Clone)]
pub struct Chunks<'a> {
    rest: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = Result<Chunk<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        if self.rest.len() < CHUNK_HEADER_LEN {
            self.failed = true;
            return Some(Err(DecodeError::truncated(
                Layer::Sctp,
                self.offset.saturating_add(CHUNK_HEADER_LEN),
                self.offset.saturating_add(self.rest.len()),
            )));
        }
        let length = usize::from(be16(self.rest, field::CHUNK_LENGTH));
        if length < CHUNK_HEADER_LEN {
            self.failed = true;
            return Some(Err(DecodeError::malformed(
                Layer::Sctp,
                CHUNK_HEADER_LEN,
                length,
            )));
        }
        let Some(bytes) = self.rest.get(..length) else {
            self.failed = true;
            return Some(Err(DecodeError::truncated(
                Layer::Sctp,
                self.offset.saturating_add(length),
                self.offset.saturating_add(self.rest.len()),
            )));
        };
        // Chunks are padded to a multiple of 4 bytes; the padding is not counted in Chunk Length.
        // A capture may end right after the last chunk's value, so missing padding at the very
        // end is accepted rather than reported.
        let padded = length.saturating_add(3) & !3;
        let chunk = Chunk {
            offset: self.offset,
            bytes,
        };
        self.rest = self.rest.get(padded..).unwrap_or_default();
        self.offset = self.offset.saturating_add(padded);
        Some(Ok(chunk))
    }
}

/// Handshake evidence: INIT (chunk type 1) is a request, INIT ACK (2) a response.
/// `bytes` starts at the SCTP common header. Never panics; `None` when not decodable.
pub fn handshake(bytes: &[u8]) -> Option<Handshake> {
    // Only evidence is wanted here. A header too short or malformed for the view still has its
    // ports (its first four bytes, read as tshark reads them), so the view's `DecodeError` is
    // not counted as a reason: that would take such packets out of their flows and away from
    // tshark's answer. It means no evidence.
    let packet = SctpPacket::new_checked(bytes).ok()?;
    // RFC 9260 section 6.10: INIT and INIT ACK must not be bundled, so they are the first chunk.
    let Some(Ok(first)) = packet.chunks().next() else {
        return None;
    };
    match first.chunk_type() {
        CHUNK_INIT => Some(Handshake::Request),
        CHUNK_INIT_ACK => Some(Handshake::Response),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::DecodeErrorKind;
    use proptest::prelude::*;

    /// An SCTP packet carrying one INIT chunk, as a client opening an M3UA association sends it.
    const INIT: [u8; 32] = [
        0x9c, 0x40, // src_port 40000
        0x0b, 0x59, // dst_port 2905 (m3ua)
        0x00, 0x00, 0x00, 0x00, // verification_tag 0 (mandatory in INIT)
        0x12, 0x34, 0x56, 0x78, // checksum (not verified)
        0x01, // chunk type 1 = INIT
        0x00, // chunk flags
        0x00, 0x14, // chunk length 20 = 4 header + 16 fixed INIT parameters
        0xde, 0xad, 0xbe, 0xef, // initiate tag
        0x00, 0x01, 0x00, 0x00, // a_rwnd 65536
        0x00, 0x0a, // outbound streams 10
        0x00, 0x0a, // inbound streams 10
        0x00, 0x00, 0x00, 0x01, // initial TSN 1
    ];

    /// Two chunks: a DATA chunk of 17 bytes (padded to 20) then a SACK of 16 bytes.
    const DATA_THEN_SACK: [u8; 48] = [
        0x0b, 0x59, // src_port 2905
        0x9c, 0x40, // dst_port 40000
        0xde, 0xad, 0xbe, 0xef, // verification_tag
        0x00, 0x00, 0x00, 0x00, // checksum
        0x00, // chunk type 0 = DATA
        0x03, // flags: B and E bits (unfragmented message)
        0x00, 0x11, // chunk length 17 = 4 + 12 DATA fields + 1 byte of user data
        0x00, 0x00, 0x00, 0x07, // TSN 7
        0x00, 0x01, // stream id 1
        0x00, 0x00, // stream sequence 0
        0x00, 0x00, 0x00, 0x03, // payload protocol id 3 (M3UA)
        0xaa, // user data
        0x00, 0x00, 0x00, // padding to 20 bytes
        0x03, // chunk type 3 = SACK
        0x00, // flags
        0x00, 0x10, // chunk length 16
        0x00, 0x00, 0x00, 0x07, // cumulative TSN ack 7
        0x00, 0x01, 0x00, 0x00, // a_rwnd
        0x00, 0x00, // gap ack blocks 0
        0x00, 0x00, // duplicate TSNs 0
    ];

    #[test]
    fn reads_common_header_fields() {
        let packet = SctpPacket::new_checked(&INIT).unwrap();
        assert_eq!(packet.src_port(), 40000);
        assert_eq!(packet.dst_port(), 2905);
        assert_eq!(packet.verification_tag(), 0);
        assert_eq!(packet.checksum(), 0x1234_5678);
        assert_eq!(packet.chunk_count(), Ok(1));
        let chunk = packet.chunks().next().unwrap().unwrap();
        assert_eq!(chunk.chunk_type(), CHUNK_INIT);
        assert_eq!(chunk.length(), 20);
        assert_eq!(chunk.offset, 12);
        assert_eq!(chunk.value().get(..4), Some(&[0xde, 0xad, 0xbe, 0xef][..]));
    }

    #[test]
    fn walks_padded_chunks() {
        let packet = SctpPacket::new_checked(&DATA_THEN_SACK).unwrap();
        let chunks: Vec<_> = packet.chunks().map(Result::unwrap).collect();
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].chunk_type(), CHUNK_DATA);
        assert_eq!(chunks[0].flags(), 0x03);
        assert_eq!(chunks[0].value().len(), 13);
        assert_eq!(chunks[1].chunk_type(), 3);
        assert_eq!(chunks[1].offset, 32, "DATA is padded from 17 to 20 bytes");
        assert_eq!(handshake(&DATA_THEN_SACK), None);
    }

    #[test]
    fn missing_padding_after_last_chunk_is_accepted() {
        // DATA chunk of 17 bytes ending the capture, without its 3 padding bytes.
        let cut = DATA_THEN_SACK.get(..12 + 17).unwrap();
        let packet = SctpPacket::new_checked(cut).unwrap();
        assert_eq!(packet.chunk_count(), Ok(1));
    }

    #[test]
    fn chunk_length_below_four_is_malformed() {
        let mut bytes = INIT;
        bytes[15] = 3; // chunk length 3 < 4
        let packet = SctpPacket::new_checked(&bytes).unwrap();
        let mut chunks = packet.chunks();
        assert_eq!(
            chunks.next(),
            Some(Err(DecodeError::malformed(Layer::Sctp, 4, 3)))
        );
        assert_eq!(chunks.next(), None, "the iterator stops after an error");
        assert_eq!(handshake(&bytes), None);
    }

    #[test]
    fn chunk_length_zero_does_not_loop() {
        let mut bytes = INIT;
        bytes[14] = 0;
        bytes[15] = 0;
        let packet = SctpPacket::new_checked(&bytes).unwrap();
        assert_eq!(packet.chunks().count(), 1);
        assert!(packet.chunk_count().is_err());
    }

    #[test]
    fn chunk_length_beyond_bytes_present_is_truncated() {
        let mut bytes = INIT;
        bytes[15] = 24; // claims 24 bytes, 20 present
        let packet = SctpPacket::new_checked(&bytes).unwrap();
        let err = packet.chunk_count().unwrap_err();
        assert_eq!(err, DecodeError::truncated(Layer::Sctp, 12 + 24, 32));
    }

    #[test]
    fn handshake_init_is_request_init_ack_is_response() {
        assert_eq!(handshake(&INIT), Some(Handshake::Request));
        let mut init_ack = INIT;
        init_ack[12] = CHUNK_INIT_ACK;
        assert_eq!(handshake(&init_ack), Some(Handshake::Response));
        assert_eq!(handshake(&INIT[..12]), None, "no chunk at all");
    }

    #[test]
    fn truncated_at_every_length() {
        for len in 0..INIT.len() {
            let cut = &INIT[..len];
            match SctpPacket::new_checked(cut) {
                Err(err) => {
                    assert!(len < HEADER_LEN, "len {len}");
                    assert_eq!(err, DecodeError::truncated(Layer::Sctp, HEADER_LEN, len));
                }
                Ok(packet) => {
                    assert!(len >= HEADER_LEN);
                    assert_eq!(packet.dst_port(), 2905);
                    if len == HEADER_LEN {
                        assert_eq!(packet.chunk_count(), Ok(0));
                    } else {
                        let err = packet.chunk_count().unwrap_err();
                        assert_eq!(err.kind, DecodeErrorKind::Truncated, "len {len}");
                        assert_eq!(err.available, len);
                    }
                    assert_eq!(handshake(cut), None, "len {len}");
                }
            }
        }
    }

    proptest! {
        #[test]
        fn built_header_parses_back(
            src_port: u16, dst_port: u16, tag: u32, checksum: u32,
            chunks in proptest::collection::vec((any::<u8>(), any::<u8>(), 0usize..40), 0..6),
        ) {
            let mut bytes = Vec::new();
            bytes.extend_from_slice(&src_port.to_be_bytes());
            bytes.extend_from_slice(&dst_port.to_be_bytes());
            bytes.extend_from_slice(&tag.to_be_bytes());
            bytes.extend_from_slice(&checksum.to_be_bytes());
            for &(chunk_type, flags, value_len) in &chunks {
                bytes.push(chunk_type);
                bytes.push(flags);
                bytes.extend_from_slice(&u16::try_from(4 + value_len).unwrap().to_be_bytes());
                bytes.extend(std::iter::repeat_n(0x5a, value_len));
                while bytes.len() % 4 != 0 {
                    bytes.push(0);
                }
            }
            let packet = SctpPacket::new_checked(&bytes).unwrap();
            prop_assert_eq!(packet.src_port(), src_port);
            prop_assert_eq!(packet.dst_port(), dst_port);
            prop_assert_eq!(packet.verification_tag(), tag);
            prop_assert_eq!(packet.checksum(), checksum);
            let parsed: Vec<_> = packet.chunks().map(Result::unwrap)
                .map(|c| (c.chunk_type(), c.flags(), c.value().len())).collect();
            prop_assert_eq!(parsed, chunks);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = handshake(&bytes);
            if let Ok(packet) = SctpPacket::new_checked(&bytes) {
                let mut seen = 0usize;
                for chunk in packet.chunks() {
                    seen += 1;
                    prop_assert!(seen <= bytes.len() / 4 + 1, "iterator must terminate");
                    if let Ok(chunk) = chunk {
                        prop_assert!(chunk.value().len() + 4 == usize::from(chunk.length()));
                    }
                }
            }
        }
    }
}

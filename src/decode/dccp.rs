//! DCCP generic header view (RFC 4340 section 5.1).
//!
//! Takes the bytes that start at the DCCP generic header (the IP payload) and gives a borrowed,
//! read-only [`DccpPacket`]. Never allocates, never does I/O.
//!
//! Contract: [`DccpPacket::new_checked`] is the only constructor. It checks that the generic
//! header (12 bytes, or 16 when X is set) is present and that Data Offset is at least the generic
//! header and at most the bytes present. Once it has succeeded no getter can panic (and none
//! indexes: all reads go through `get`).

use super::info::{DecodeError, Handshake, Layer};

/// Byte offsets of the generic header fields (RFC 4340 section 5.1).
mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    /// Data Offset, in 32-bit words.
    pub const DATA_OFFSET: usize = 4;
    /// CCVal in the high nibble, CsCov in the low nibble.
    pub const CCVAL_CSCOV: usize = 5;
    pub const CHECKSUM: Range<usize> = 6..8;
    /// Res (3 bits), Type (4 bits), X (1 bit).
    pub const RES_TYPE_X: usize = 8;
    /// X = 0: the 24-bit sequence number follows in bytes 9..12.
    pub const SEQ_SHORT: Range<usize> = 9..12;
    /// X = 1: byte 9 is reserved, the 48-bit sequence number is in bytes 10..16.
    pub const SEQ_LONG: Range<usize> = 10..16;
}

/// Length of the generic header with short (24-bit) sequence numbers, X = 0.
pub const HEADER_LEN: usize = field::SEQ_SHORT.end;
/// Length of the generic header with extended (48-bit) sequence numbers, X = 1.
pub const HEADER_LEN_EXTENDED: usize = field::SEQ_LONG.end;

/// DCCP packet type (RFC 4340 section 5.1); values 10..=15 are reserved but representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PacketType(pub u8);

impl PacketType {
    pub const REQUEST: PacketType = PacketType(0);
    pub const RESPONSE: PacketType = PacketType(1);
    pub const DATA: PacketType = PacketType(2);
    pub const ACK: PacketType = PacketType(3);
    pub const DATA_ACK: PacketType = PacketType(4);
    pub const CLOSE_REQ: PacketType = PacketType(5);
    pub const CLOSE: PacketType = PacketType(6);
    pub const RESET: PacketType = PacketType(7);
    pub const SYNC: PacketType = PacketType(8);
    pub const SYNC_ACK: PacketType = PacketType(9);

    /// The name RFC 4340 gives the type, `None` for reserved values.
    pub const fn name(self) -> Option<&'static str> {
        match self.0 {
            0 => Some("DCCP-Request"),
            1 => Some("DCCP-Response"),
            2 => Some("DCCP-Data"),
            3 => Some("DCCP-Ack"),
            4 => Some("DCCP-DataAck"),
            5 => Some("DCCP-CloseReq"),
            6 => Some("DCCP-Close"),
            7 => Some("DCCP-Reset"),
            8 => Some("DCCP-Sync"),
            9 => Some("DCCP-SyncAck"),
            _ => None,
        }
    }
}

/// A checked view of a DCCP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DccpPacket<'a> {
    bytes: &'a [u8],
}

impl<'a> DccpPacket<'a> {
    /// Checks the generic header is present and Data Offset is within [header, bytes present].
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        // Byte 8 holds X, which decides whether the generic header is 12 or 16 bytes long.
        let Some(&res_type_x) = bytes.get(field::RES_TYPE_X) else {
            return Err(DecodeError::truncated(Layer::Dccp, HEADER_LEN, bytes.len()));
        };
        let header_len = if res_type_x & 0x01 != 0 {
            HEADER_LEN_EXTENDED
        } else {
            HEADER_LEN
        };
        if bytes.len() < header_len {
            return Err(DecodeError::truncated(Layer::Dccp, header_len, bytes.len()));
        }
        let data_offset = bytes
            .get(field::DATA_OFFSET)
            .map_or(0, |&words| usize::from(words).saturating_mul(4));
        if data_offset < header_len {
            return Err(DecodeError::malformed(Layer::Dccp, header_len, data_offset));
        }
        if data_offset > bytes.len() {
            return Err(DecodeError::truncated(
                Layer::Dccp,
                data_offset,
                bytes.len(),
            ));
        }
        Ok(DccpPacket { bytes })
    }

    fn byte(&self, offset: usize) -> u8 {
        self.bytes.get(offset).copied().unwrap_or_default()
    }

    fn be16(&self, range: core::ops::Range<usize>) -> u16 {
        match self.bytes.get(range) {
            Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
            _ => 0,
        }
    }

    /// Source Port (RFC 4340 section 5.1).
    pub fn src_port(&self) -> u16 {
        self.be16(field::SRC_PORT)
    }

    /// Dest Port (RFC 4340 section 5.1).
    pub fn dst_port(&self) -> u16 {
        self.be16(field::DST_PORT)
    }

    /// Data Offset: words of 32 bits from the header start to the application data
    /// (RFC 4340 section 5.1).
    pub fn data_offset(&self) -> u8 {
        self.byte(field::DATA_OFFSET)
    }

    /// Data Offset in bytes: the header, including type-specific fields and options, is this long.
    pub fn header_len(&self) -> usize {
        usize::from(self.data_offset()).saturating_mul(4)
    }

    /// CCVal, used by the congestion control of the sender (RFC 4340 section 5.1).
    pub fn ccval(&self) -> u8 {
        self.byte(field::CCVAL_CSCOV) >> 4
    }

    /// Checksum Coverage, CsCov (RFC 4340 section 9.2).
    pub fn cscov(&self) -> u8 {
        self.byte(field::CCVAL_CSCOV) & 0x0f
    }

    /// Checksum (RFC 4340 section 9); read, not verified.
    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM)
    }

    /// Type (RFC 4340 section 5.1): bits 1..=4 of byte 8, between the 3 reserved bits and X.
    pub fn packet_type(&self) -> PacketType {
        PacketType((self.byte(field::RES_TYPE_X) >> 1) & 0x0f)
    }

    /// Extended Sequence Numbers, X (RFC 4340 section 5.1): 48-bit sequence numbers when set.
    pub fn extended_seq(&self) -> bool {
        self.byte(field::RES_TYPE_X) & 0x01 != 0
    }

    /// Sequence Number, 48 bits when X is set, else 24 (RFC 4340 section 5.1).
    pub fn seq_number(&self) -> u64 {
        let range = if self.extended_seq() {
            field::SEQ_LONG
        } else {
            field::SEQ_SHORT
        };
        self.bytes
            .get(range)
            .unwrap_or_default()
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    }

    /// Length of the generic header: 16 bytes when X is set, else 12 (RFC 4340 section 5.1).
    pub fn generic_header_len(&self) -> usize {
        if self.extended_seq() {
            HEADER_LEN_EXTENDED
        } else {
            HEADER_LEN
        }
    }

    /// Length of the Acknowledgement Number subheader this packet type carries: none for
    /// Request and Data, else 8 bytes with X set and 4 without (RFC 4340 section 5.1).
    fn ack_subheader_len(&self) -> usize {
        match self.packet_type() {
            PacketType::REQUEST | PacketType::DATA => 0,
            _ if self.extended_seq() => 8,
            _ => 4,
        }
    }

    /// Acknowledgement Number, 48 or 24 bits (RFC 4340 section 5.1); `None` for Request and
    /// Data, or when Data Offset leaves no room for it.
    pub fn ack_number(&self) -> Option<u64> {
        let len = self.ack_subheader_len();
        let start = self.generic_header_len();
        let end = start.checked_add(len)?;
        if len == 0 || end > self.header_len() {
            return None;
        }
        // The subheader starts with reserved bits: 16 of them with X set, 8 without.
        let reserved = if self.extended_seq() { 2 } else { 1 };
        let bytes = self.bytes.get(start.checked_add(reserved)?..end)?;
        Some(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// Service Code of a Request or Response (RFC 4340 sections 5.2 and 5.3, section 8.1.2);
    /// `None` for other types or when Data Offset leaves no room for it.
    pub fn service_code(&self) -> Option<u32> {
        if !matches!(
            self.packet_type(),
            PacketType::REQUEST | PacketType::RESPONSE
        ) {
            return None;
        }
        let start = self
            .generic_header_len()
            .checked_add(self.ack_subheader_len())?;
        let end = start.checked_add(4)?;
        if end > self.header_len() {
            return None;
        }
        match self.bytes.get(start..end)? {
            &[a, b, c, d] => Some(u32::from_be_bytes([a, b, c, d])),
            _ => None,
        }
    }

    /// The bytes after Data Offset: the application data.
    pub fn payload(&self) -> &'a [u8] {
        self.bytes.get(self.header_len()..).unwrap_or_default()
    }
}

/// Handshake evidence: DCCP-Request (type 0) is a request, DCCP-Response (1) a response.
/// `bytes` starts at the DCCP generic header. Never panics; `None` when not decodable.
pub fn handshake(bytes: &[u8]) -> Option<Handshake> {
    // Only evidence is wanted here. A header too short or malformed for the view still has its
    // ports (its first four bytes, read as tshark reads them), so the view's `DecodeError` is
    // not counted as a reason: that would take such packets out of their flows and away from
    // tshark's answer. It means no evidence.
    let packet = DccpPacket::new_checked(bytes).ok()?;
    match packet.packet_type() {
        PacketType::REQUEST => Some(Handshake::Request),
        PacketType::RESPONSE => Some(Handshake::Response),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// DCCP-Request, X = 1, as a client opening an RTP-over-DCCP session sends it.
    const REQUEST: [u8; 20] = [
        0xc3, 0x50, // src_port 50000
        0x13, 0x8c, // dst_port 5004 (avt-profile-1)
        0x05, // data offset 5 words = 20 bytes (16 generic + 4 service code)
        0x00, // CCVal 0, CsCov 0 (checksum covers the whole packet)
        0xab, 0xcd, // checksum
        0x01, // res 000, type 0000 (Request), X 1
        0x00, // reserved (X = 1)
        0x00, 0x00, 0x01, 0x02, 0x03, 0x04, // sequence number 0x010203_04 (48 bits)
        0x00, 0x00, 0x00, 0x2a, // service code 42
    ];

    /// DCCP-Data, X = 0, 24-bit sequence number, with two bytes of application data.
    const DATA_SHORT: [u8; 14] = [
        0x13, 0x8c, // src_port 5004
        0xc3, 0x50, // dst_port 50000
        0x03, // data offset 3 words = 12 bytes: the generic header only
        0x21, // CCVal 2, CsCov 1
        0x00, 0x00, // checksum
        0x04, // res 000, type 0010 (Data), X 0
        0x12, 0x34, 0x56, // sequence number 0x123456 (24 bits)
        0xbe, 0xef, // application data
    ];

    #[test]
    fn reads_extended_request() {
        let packet = DccpPacket::new_checked(&REQUEST).unwrap();
        assert_eq!(packet.src_port(), 50000);
        assert_eq!(packet.dst_port(), 5004);
        assert_eq!(packet.data_offset(), 5);
        assert_eq!(packet.header_len(), 20);
        assert_eq!(packet.ccval(), 0);
        assert_eq!(packet.cscov(), 0);
        assert_eq!(packet.checksum(), 0xabcd);
        assert_eq!(packet.packet_type(), PacketType::REQUEST);
        assert!(packet.extended_seq());
        assert_eq!(packet.seq_number(), 0x0102_0304);
        assert!(packet.payload().is_empty());
        assert_eq!(packet.service_code(), Some(42));
        assert_eq!(packet.ack_number(), None, "a Request acknowledges nothing");
        assert_eq!(handshake(&REQUEST), Some(Handshake::Request));
    }

    /// DCCP-Response, X = 1: generic header, acknowledgement subheader, service code.
    const RESPONSE: [u8; 28] = [
        0x13, 0x8c, // src_port 5004
        0xc3, 0x50, // dst_port 50000
        0x07, // data offset 7 words = 28 bytes (16 generic + 8 ack + 4 service code)
        0x00, // CCVal 0, CsCov 0
        0x00, 0x00, // checksum
        0x03, // res 000, type 0001 (Response), X 1
        0x00, // reserved
        0x00, 0x00, 0x00, 0x00, 0x10, 0x00, // sequence number 0x1000
        0x00, 0x00, // reserved (acknowledgement subheader)
        0x00, 0x00, 0x01, 0x02, 0x03, 0x04, // acknowledgement number 0x01020304
        0x52, 0x54, 0x50, 0x41, // service code "RTPA"
    ];

    #[test]
    fn reads_response_ack_and_service_code() {
        let packet = DccpPacket::new_checked(&RESPONSE).unwrap();
        assert_eq!(packet.packet_type(), PacketType::RESPONSE);
        assert_eq!(packet.seq_number(), 0x1000);
        assert_eq!(packet.ack_number(), Some(0x0102_0304));
        assert_eq!(packet.service_code(), Some(u32::from_be_bytes(*b"RTPA")));
        assert_eq!(handshake(&RESPONSE), Some(Handshake::Response));
        // A Data Offset that stops before the service code: the getter says so, no panic.
        let mut short = RESPONSE;
        short[4] = 6;
        let packet = DccpPacket::new_checked(&short).unwrap();
        assert_eq!(packet.ack_number(), Some(0x0102_0304));
        assert_eq!(packet.service_code(), None);
    }

    #[test]
    fn short_sequence_numbers_have_a_24_bit_ack() {
        // DCCP-Ack with X = 0: 12-byte generic header, then 1 reserved + 3 ack bytes.
        let ack: [u8; 16] = [
            0x13, 0x8c, 0xc3, 0x50, // ports 5004 -> 50000
            0x04, 0x00, 0x00, 0x00, // data offset 4 words, CCVal/CsCov 0, checksum
            0x06, // type 0011 (Ack), X 0
            0x00, 0x00, 0x09, // sequence number 9
            0x00, // reserved
            0xab, 0xcd, 0xef, // acknowledgement number 0xabcdef
        ];
        let packet = DccpPacket::new_checked(&ack).unwrap();
        assert_eq!(packet.packet_type(), PacketType::ACK);
        assert_eq!(packet.generic_header_len(), 12);
        assert_eq!(packet.ack_number(), Some(0xab_cdef));
        assert_eq!(packet.service_code(), None);
    }

    #[test]
    fn reads_short_data() {
        let packet = DccpPacket::new_checked(&DATA_SHORT).unwrap();
        assert_eq!(packet.packet_type(), PacketType::DATA);
        assert_eq!(packet.packet_type().name(), Some("DCCP-Data"));
        assert!(!packet.extended_seq());
        assert_eq!(packet.seq_number(), 0x12_3456);
        assert_eq!(packet.ccval(), 2);
        assert_eq!(packet.cscov(), 1);
        assert_eq!(packet.payload(), &[0xbe, 0xef]);
        assert_eq!(handshake(&DATA_SHORT), None);
    }

    #[test]
    fn response_type_is_response() {
        let mut response = REQUEST;
        response[8] = (1 << 1) | 1; // type 1 (Response), X 1
        assert_eq!(handshake(&response), Some(Handshake::Response));
    }

    #[test]
    fn data_offset_below_generic_header_is_malformed() {
        let mut bytes = REQUEST;
        bytes[4] = 3; // 12 bytes, but X = 1 needs 16
        assert_eq!(
            DccpPacket::new_checked(&bytes),
            Err(DecodeError::malformed(Layer::Dccp, 16, 12))
        );
        let mut short = DATA_SHORT;
        short[4] = 2; // 8 bytes, X = 0 needs 12
        assert_eq!(
            DccpPacket::new_checked(&short),
            Err(DecodeError::malformed(Layer::Dccp, 12, 8))
        );
        assert_eq!(handshake(&bytes), None);
    }

    #[test]
    fn data_offset_beyond_bytes_present_is_truncated() {
        let mut bytes = REQUEST;
        bytes[4] = 255; // 1020 bytes
        assert_eq!(
            DccpPacket::new_checked(&bytes),
            Err(DecodeError::truncated(Layer::Dccp, 1020, 20))
        );
    }

    #[test]
    fn truncated_at_every_length() {
        for len in 0..REQUEST.len() {
            let cut = &REQUEST[..len];
            let needed = if len <= 8 {
                HEADER_LEN
            } else if len < 16 {
                16
            } else {
                20
            };
            assert_eq!(
                DccpPacket::new_checked(cut),
                Err(DecodeError::truncated(Layer::Dccp, needed, len)),
                "len {len}"
            );
            assert_eq!(handshake(cut), None);
        }
        for len in 0..DATA_SHORT.len() {
            let result = DccpPacket::new_checked(&DATA_SHORT[..len]);
            assert_eq!(result.is_ok(), len >= 12, "len {len}");
        }
    }

    proptest! {
        #[test]
        fn built_header_parses_back(
            src_port: u16, dst_port: u16, ccval in 0u8..16, cscov in 0u8..16, checksum: u16,
            packet_type in 0u8..16, extended: bool, seq: u64, extra_words in 0u8..4,
        ) {
            let mut bytes = Vec::new();
            bytes.extend_from_slice(&src_port.to_be_bytes());
            bytes.extend_from_slice(&dst_port.to_be_bytes());
            let header_words: u8 = if extended { 4 } else { 3 };
            bytes.push(header_words + extra_words);
            bytes.push((ccval << 4) | cscov);
            bytes.extend_from_slice(&checksum.to_be_bytes());
            bytes.push((packet_type << 1) | u8::from(extended));
            let seq = if extended { seq & 0xffff_ffff_ffff } else { seq & 0xff_ffff };
            if extended {
                bytes.push(0);
                bytes.extend_from_slice(&seq.to_be_bytes()[2..]);
            } else {
                bytes.extend_from_slice(&seq.to_be_bytes()[5..]);
            }
            bytes.extend(std::iter::repeat_n(0, usize::from(extra_words) * 4));
            let packet = DccpPacket::new_checked(&bytes).unwrap();
            prop_assert_eq!(packet.src_port(), src_port);
            prop_assert_eq!(packet.dst_port(), dst_port);
            prop_assert_eq!(packet.ccval(), ccval);
            prop_assert_eq!(packet.cscov(), cscov);
            prop_assert_eq!(packet.checksum(), checksum);
            prop_assert_eq!(packet.packet_type(), PacketType(packet_type));
            prop_assert_eq!(packet.extended_seq(), extended);
            prop_assert_eq!(packet.seq_number(), seq);
            prop_assert_eq!(packet.header_len(), bytes.len());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = handshake(&bytes);
            if let Ok(packet) = DccpPacket::new_checked(&bytes) {
                prop_assert!(packet.header_len() <= bytes.len());
                let _ = (packet.seq_number(), packet.payload(), packet.packet_type().name());
                let _ = (packet.ack_number(), packet.service_code());
            }
        }
    }
}

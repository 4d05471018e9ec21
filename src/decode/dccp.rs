//! DCCP generic header view (RFC 4340 section 5.1). Skeleton: to be written.

use super::Handshake;

/// Handshake evidence: DCCP-Request (type 0) is a request, DCCP-Response (1) a response.
/// `bytes` starts at the DCCP generic header. Never panics; `None` when not decodable.
pub fn handshake(bytes: &[u8]) -> Option<Handshake> {
    let _ = bytes;
    None
}

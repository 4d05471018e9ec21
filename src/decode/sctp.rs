//! SCTP common header view (RFC 9260 section 3.1). Skeleton: to be written.

use super::Handshake;

/// Handshake evidence: INIT (chunk type 1) is a request, INIT ACK (2) a response.
/// `bytes` starts at the SCTP common header. Never panics; `None` when not decodable.
pub fn handshake(bytes: &[u8]) -> Option<Handshake> {
    let _ = bytes;
    None
}

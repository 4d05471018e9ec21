//! ICMP (RFC 792) and ICMPv6 (RFC 4443) error messages: the transport they quote.
//!
//! Takes an ICMP or ICMPv6 message, returns the ports of the transport header inside the quoted
//! datagram, if the message is an error and enough of the quotation was captured. The quoted
//! ports describe someone else's flow: callers put them in `icmp_quote`, never in `ports`.
//! Never allocates, never panics.

use super::info::IcmpQuote;
use super::ip::{self, protocol};
use super::link::Network;
use super::ports::transport_ports;

/// Type (1), code (1), checksum (2), then 4 type-specific bytes before the quotation.
const ICMP_ERROR_HEADER_LEN: usize = 8;

/// ICMPv4 errors: destination unreachable, source quench, redirect, time exceeded,
/// parameter problem.
const ICMPV4_ERRORS: [u8; 5] = [3, 4, 5, 11, 12];
/// ICMPv6 errors: destination unreachable, packet too big, time exceeded, parameter problem.
const ICMPV6_ERRORS: [u8; 4] = [1, 2, 3, 4];

/// The transport quoted by an ICMP (`ip_protocol` 1) or ICMPv6 (58) error message.
pub(crate) fn quote(ip_protocol: u8, message: &[u8]) -> Option<IcmpQuote> {
    let icmp_type = *message.first()?;
    let icmp_code = message.get(1).copied();
    let is_error = match ip_protocol {
        protocol::ICMP => ICMPV4_ERRORS.contains(&icmp_type),
        protocol::ICMPV6 => ICMPV6_ERRORS.contains(&icmp_type),
        _ => false,
    };
    if !is_error {
        return None;
    }
    let quoted = message.get(ICMP_ERROR_HEADER_LEN..)?;
    // A quotation that does not decode simply has no ports to report: the ICMP message itself
    // is still counted under its own reason by the caller.
    let header = match ip::decode_ip(Network::ByVersion(quoted)) {
        Ok(header) => header,
        Err(_) => return None,
    };
    let upper = match header.upper {
        Ok(upper) => upper,
        Err(_) => return None,
    };
    let ports = match transport_ports(upper.protocol, upper.payload) {
        Some(Ok(ports)) => ports,
        Some(Err(_)) | None => return None,
    };
    let port_unreachable = match ip_protocol {
        protocol::ICMP => icmp_type == 3 && icmp_code == Some(3),
        _ => icmp_type == 1 && icmp_code == Some(4),
    };
    Some(IcmpQuote {
        ip_version: header.version,
        ports,
        port_unreachable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Ports;
    use crate::transport::Transport;

    /// ICMP destination unreachable (port unreachable) quoting IPv4 + the first 8 UDP bytes.
    const PORT_UNREACHABLE: [u8; 36] = [
        0x03, 0x03, 0x00, 0x00, 0, 0, 0, 0, // type 3, code 3, checksum, unused
        0x45, 0x00, 0x00, 0x40, 0, 0, 0, 0, // quoted IPv4: total length 64 (more than quoted)
        0x40, 0x11, 0x00, 0x00, // TTL, protocol UDP, checksum
        192, 168, 0, 1, 192, 168, 0, 2, // addresses
        0xd4, 0x31, 0x00, 0x35, 0x00, 0x2c, 0x00, 0x00, // quoted UDP 54321 -> 53
    ];

    #[test]
    fn quotes_udp_ports_of_port_unreachable() {
        let q = quote(protocol::ICMP, &PORT_UNREACHABLE).unwrap();
        assert_eq!(q.ip_version, 4);
        assert!(q.port_unreachable);
        // Host unreachable (code 1) quotes the same flow, but is no refusal by its server.
        let mut host = PORT_UNREACHABLE;
        host[1] = 1;
        assert!(!quote(protocol::ICMP, &host).unwrap().port_unreachable);
        // ICMPv6 says port unreachable with type 1 code 4; its type 3 is time exceeded.
        let mut v6 = PORT_UNREACHABLE;
        v6[0] = 1;
        v6[1] = 4;
        assert!(quote(protocol::ICMPV6, &v6).unwrap().port_unreachable);
        assert!(
            !quote(protocol::ICMPV6, &PORT_UNREACHABLE)
                .unwrap()
                .port_unreachable
        );
        assert_eq!(
            q.ports,
            Ports {
                transport: Transport::Udp,
                src_port: 54321,
                dst_port: 53
            }
        );
    }

    #[test]
    fn echo_request_is_not_an_error() {
        let mut echo = PORT_UNREACHABLE;
        echo[0] = 8;
        assert_eq!(quote(protocol::ICMP, &echo), None);
        // Type 3 means "time exceeded" only in ICMPv6; as ICMPv6 it quotes here too.
        assert!(quote(protocol::ICMPV6, &PORT_UNREACHABLE).is_some());
    }

    #[test]
    fn truncated_at_every_length() {
        for len in 0..PORT_UNREACHABLE.len() {
            let prefix = PORT_UNREACHABLE.get(..len).unwrap_or_default();
            let got = quote(protocol::ICMP, prefix);
            // The quoted ports appear once their four bytes are present, and not before.
            assert_eq!(got.is_some(), len >= 32, "prefix {len}");
        }
    }
}

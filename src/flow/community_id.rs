//! Community ID v1: the flow hash Zeek, Suricata, Arkime, Wireshark and Elastic all emit, so
//! that records of one flow from different tools join on one string.
//!
//! Takes a flow's addresses, IP protocol number and ports (or an ICMP type and code) and returns
//! `1:` followed by the base64 of a SHA-1 over, in network byte order: the 16-bit seed, the
//! lower endpoint's address, the other address, the protocol, one zero byte of padding, and the
//! two ports in the same order as the addresses (omitted for protocols without ports). Pure; no
//! I/O, no allocation but the returned string. Checked against the published test vectors of
//! the specification (corelight/community-id-spec, `baseline/`) and, in the integration tests,
//! against tshark's own implementation on the reference captures.
//!
//! Ports are hashed for TCP, UDP and SCTP, as the specification says; DCCP (and any other
//! protocol) is hashed on addresses and protocol alone, so every DCCP flow between two hosts
//! shares one ID, as it does in the other tools.

use crate::transport::Transport;
use base64::Engine;
use sha1::{Digest, Sha1};
use std::net::IpAddr;

/// IP protocol numbers the hash distinguishes.
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_DCCP: u8 = 33;
pub const PROTO_ICMPV6: u8 = 58;
pub const PROTO_SCTP: u8 = 132;

/// The IP protocol number of a transport.
pub fn proto_of(transport: Transport) -> u8 {
    match transport {
        Transport::Tcp => PROTO_TCP,
        Transport::Udp => PROTO_UDP,
        Transport::Sctp => PROTO_SCTP,
        Transport::Dccp => PROTO_DCCP,
    }
}

/// The Community ID of a flow seen as `src:src_port -> dst:dst_port` (either direction gives
/// the same ID). `ports` is `None` for a protocol without ports; for TCP, UDP and SCTP it is
/// hashed, for other protocols ignored (use [`icmp`] for ICMP and ICMPv6).
pub fn community_id(
    seed: u16,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    ports: Option<(u16, u16)>,
) -> String {
    let ports = match proto {
        PROTO_TCP | PROTO_UDP | PROTO_SCTP => ports,
        _ => None,
    };
    let (src_port, dst_port) = ports.unwrap_or((0, 0));
    let ordered = (src, src_port) <= (dst, dst_port);
    hash(seed, src, dst, proto, ports, ordered)
}

/// The Community ID of an ICMP (`proto` 1) or ICMPv6 (58) message of `icmp_type` and `code`
/// from `src` to `dst`. Request and reply types map to each other (echo, timestamp, router
/// and neighbour discovery ...) so that both directions share one ID; any other message is
/// one-way and hashed as sent, with its code in the place of the second port.
pub fn icmp(seed: u16, src: IpAddr, dst: IpAddr, proto: u8, icmp_type: u8, code: u8) -> String {
    let counterpart = if proto == PROTO_ICMPV6 {
        icmpv6_counterpart(icmp_type)
    } else {
        icmpv4_counterpart(icmp_type)
    };
    match counterpart {
        Some(other) => {
            let ports = (u16::from(icmp_type), u16::from(other));
            let ordered = (src, ports.0) <= (dst, ports.1);
            hash(seed, src, dst, proto, Some(ports), ordered)
        }
        None => {
            let ports = (u16::from(icmp_type), u16::from(code));
            hash(seed, src, dst, proto, Some(ports), true)
        }
    }
}

/// The ICMPv4 type answering `icmp_type` (RFC 792, RFC 950, RFC 1256), both ways.
fn icmpv4_counterpart(icmp_type: u8) -> Option<u8> {
    Some(match icmp_type {
        8 => 0,   // echo -> echo reply
        0 => 8,   // echo reply -> echo
        13 => 14, // timestamp
        14 => 13,
        15 => 16, // information request
        16 => 15,
        10 => 9, // router solicitation -> advertisement
        9 => 10,
        17 => 18, // address mask
        18 => 17,
        _ => return None,
    })
}

/// The ICMPv6 type answering `icmp_type` (RFC 4443, RFC 4861, RFC 2710, RFC 4620, RFC 6275).
fn icmpv6_counterpart(icmp_type: u8) -> Option<u8> {
    Some(match icmp_type {
        128 => 129, // echo request -> reply
        129 => 128,
        133 => 134, // router solicitation -> advertisement
        134 => 133,
        135 => 136, // neighbour solicitation -> advertisement
        136 => 135,
        130 => 131, // multicast listener query -> report
        131 => 130,
        139 => 140, // node information query -> reply
        140 => 139,
        144 => 145, // home agent address discovery request -> reply
        145 => 144,
        _ => return None,
    })
}

/// SHA-1 over the specification's layout, endpoints swapped unless `ordered`.
fn hash(
    seed: u16,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    ports: Option<(u16, u16)>,
    ordered: bool,
) -> String {
    let (first, second, ports) = if ordered {
        (src, dst, ports)
    } else {
        (dst, src, ports.map(|(s, d)| (d, s)))
    };
    let mut sha = Sha1::new();
    sha.update(seed.to_be_bytes());
    update_addr(&mut sha, first);
    update_addr(&mut sha, second);
    sha.update([proto, 0]);
    if let Some((first_port, second_port)) = ports {
        sha.update(first_port.to_be_bytes());
        sha.update(second_port.to_be_bytes());
    }
    let digest = sha.finalize();
    let mut id = String::with_capacity(30);
    id.push_str("1:");
    base64::engine::general_purpose::STANDARD.encode_string(digest, &mut id);
    id
}

fn update_addr(sha: &mut Sha1, addr: IpAddr) {
    match addr {
        IpAddr::V4(a) => sha.update(a.octets()),
        IpAddr::V6(a) => sha.update(a.octets()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    type Vector = (
        u8,
        &'static str,
        &'static str,
        Option<(u16, u16)>,
        &'static str,
        &'static str,
    );

    /// The specification's `baseline/baseline_deflt.json` (seed 0) and `baseline_seed1.json`
    /// (seed 1): protocol, source, destination, source port (ICMP type), destination port
    /// (ICMP code), the ID with seed 0 and with seed 1.
    #[rustfmt::skip]
    const VECTORS: &[Vector] = &[
        (58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", Some((135, 136)), "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="),
        (58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", Some((136, 135)), "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="),
        (58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", Some((135, 136)), "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="),
        (58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", Some((136, 135)), "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="),
        (58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", Some((3, 0)), "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=", "1:lVEtCZpYu84Xqaa++3lXFyuu2n4="),
        (58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", Some((1, 4)), "1:hLZd0XGWojozrvxqE0dWB1iM6R0=", "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8="),
        (58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", Some((128, 129)), "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="),
        (58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", Some((129, 128)), "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="),
        (58, "fe80::200:86ff:fe05:80da", "ff02::2", Some((133, 134)), "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=", "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8="),
        (58, "fe80::260:97ff:fe07:69ea", "ff02::1", Some((134, 133)), "1:pkvHqCL88/tg1k4cPigmZXUtL00=", "1:K/ee5UCqAMAQXDorP5nSa2CGLjc="),
        (1, "192.168.0.89", "192.168.0.1", Some((8, 0)), "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="),
        (1, "192.168.0.1", "192.168.0.89", Some((0, 8)), "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="),
        (1, "10.0.0.1", "10.0.0.2", Some((11, 0)), "1:YHxtAirCG//0OzkcVAukqKQN9xM=", "1:XjUibYHaafLQ3pxQeiMI8g25q20="),
        (6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", Some((63943, 25)), "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="),
        (6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", Some((25, 63943)), "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="),
        (132, "192.168.170.8", "192.168.170.56", Some((7, 7)), "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="),
        (132, "192.168.170.56", "192.168.170.8", Some((7, 7)), "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="),
        (6, "128.232.110.120", "66.35.250.204", Some((34855, 80)), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="),
        (6, "66.35.250.204", "128.232.110.120", Some((80, 34855)), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="),
        (17, "192.168.1.52", "8.8.8.8", Some((54585, 53)), "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="),
        (17, "8.8.8.8", "192.168.1.52", Some((53, 54585)), "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="),
        (46, "10.1.12.1", "10.1.12.2", None, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="),
        (46, "10.1.12.2", "10.1.12.1", None, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="),
    ];

    fn id_of(seed: u16, vector: &Vector) -> String {
        let &(proto, src, dst, ports, _, _) = vector;
        match (proto, ports) {
            (PROTO_ICMP | PROTO_ICMPV6, Some((icmp_type, code))) => {
                icmp(seed, ip(src), ip(dst), proto, icmp_type as u8, code as u8)
            }
            _ => community_id(seed, ip(src), ip(dst), proto, ports),
        }
    }

    fn check(proto: u8) {
        let vectors: Vec<_> = VECTORS.iter().filter(|v| v.0 == proto).collect();
        assert!(!vectors.is_empty());
        for vector in vectors {
            assert_eq!(id_of(0, vector), vector.4, "seed 0: {vector:?}");
            assert_eq!(id_of(1, vector), vector.5, "seed 1: {vector:?}");
        }
    }

    #[test]
    fn tcp_vectors_ipv4_and_ipv6() {
        check(PROTO_TCP);
    }

    #[test]
    fn udp_vectors() {
        check(PROTO_UDP);
    }

    #[test]
    fn sctp_vectors() {
        check(PROTO_SCTP);
    }

    #[test]
    fn icmp_vectors_map_request_to_reply_and_keep_one_way_types_as_sent() {
        check(PROTO_ICMP);
    }

    #[test]
    fn icmpv6_vectors() {
        check(PROTO_ICMPV6);
    }

    #[test]
    fn a_protocol_without_ports_hashes_addresses_only() {
        check(46);
        // Ports given for such a protocol are ignored.
        let (a, b) = (ip("10.1.12.1"), ip("10.1.12.2"));
        assert_eq!(
            community_id(0, a, b, 46, Some((1, 2))),
            "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="
        );
    }

    #[test]
    fn dccp_is_hashed_without_its_ports() {
        let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
        assert_eq!(
            community_id(0, a, b, PROTO_DCCP, Some((5000, 6000))),
            community_id(0, b, a, PROTO_DCCP, Some((1, 2)))
        );
        assert_ne!(
            community_id(0, a, b, PROTO_TCP, Some((5000, 6000))),
            community_id(0, a, b, PROTO_TCP, Some((5000, 6001)))
        );
    }

    #[test]
    fn the_same_address_orders_by_port() {
        let a = ip("10.0.0.1");
        assert_eq!(
            community_id(0, a, a, PROTO_UDP, Some((53, 4000))),
            community_id(0, a, a, PROTO_UDP, Some((4000, 53)))
        );
    }
}

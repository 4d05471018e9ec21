//! The packet comment of `annotate -w` and `live --write`: one line of `key=value` words after
//! `portnote:`, stable so that Wireshark display filters can rely on it, e.g.
//! `frame.comment contains "status=unassigned"`.
//!
//! Grammar (words separated by one space; values never contain spaces):
//!
//! ```text
//! portnote: TRANSPORT SRC_PORT->DST_PORT service=NAME|- port=N status=S class=C server=src|dst evidence=E flow=ID [FLAG ...]
//! portnote: no ports (REASON) [FLAG ...]
//! ```
//!
//! `status` is `assigned`, `reserved` or `unassigned`; `class` is `system`, `user` or
//! `dynamic`; `port` is the service port, `server` the side that carries it, `evidence` what
//! that choice rests on (`handshake`, `rank`, `fan-in`, `first-packet`, `port-order`, as in
//! `annotate --format ndjson`), `flow` the flow id
//! of `annotate --format ndjson`. The flags, where they apply and in this order:
//! `unauthorized` (IANA notes unauthorized use of the service port), `inherited` (the ports come
//! from the datagram's first fragment), `tunnel=KIND` and `outer=TRANSPORT:SRC->DST` (the
//! packet was tunnelled; its ports are the innermost transport's), `icmp_quote=TRANSPORT:SRC->DST`
//! (an ICMP error quoting that transport). The service fields are the flow's decision at that
//! packet, as `annotate --format ndjson` gives them.
//!
//! Builds the text in a caller's buffer; no allocation once the buffer has grown.

use crate::decode::{PacketInfo, Ports};
use crate::flow::service_port::ServiceSide;
use crate::flow::Attribution;
use std::io::Write;

/// Writes the comment of one packet into `line` (cleared first).
pub fn write_comment(line: &mut Vec<u8>, info: &PacketInfo, attribution: Option<&Attribution<'_>>) {
    line.clear();
    line.extend_from_slice(b"portnote: ");
    match info.ports {
        Some(ports) => {
            line.extend_from_slice(ports.transport.as_str().as_bytes());
            line.push(b' ');
            push_int(line, ports.src_port);
            line.extend_from_slice(b"->");
            push_int(line, ports.dst_port);
            if let Some(a) = attribution {
                line.extend_from_slice(b" service=");
                line.extend_from_slice(a.info.service.unwrap_or("-").as_bytes());
                line.extend_from_slice(b" port=");
                push_int(line, a.service_port);
                line.extend_from_slice(b" status=");
                line.extend_from_slice(a.info.status.as_str().as_bytes());
                line.extend_from_slice(b" class=");
                line.extend_from_slice(a.info.class.as_str().as_bytes());
                line.extend_from_slice(match a.server {
                    ServiceSide::Src => b" server=src evidence=",
                    ServiceSide::Dst => b" server=dst evidence=",
                });
                line.extend_from_slice(a.evidence.as_str().as_bytes());
                line.extend_from_slice(b" flow=");
                push_int(line, a.flow_id);
                if a.info.unauthorized.is_some() {
                    line.extend_from_slice(b" unauthorized");
                }
            }
        }
        None => {
            line.extend_from_slice(b"no ports");
            if let Some(reason) = info.reason {
                // Writing into a Vec cannot fail.
                let _ = write!(line, " ({reason})");
            }
        }
    }
    if info.inherited {
        line.extend_from_slice(b" inherited");
    }
    if let Some(outer) = info.outer {
        line.extend_from_slice(b" tunnel=");
        line.extend_from_slice(outer.tunnel.as_str().as_bytes());
        if let Some(ports) = outer.ports {
            line.extend_from_slice(b" outer=");
            push_ports(line, ports);
        }
    }
    if let Some(quote) = info.icmp_quote {
        line.extend_from_slice(b" icmp_quote=");
        push_ports(line, quote.ports);
    }
}

/// `TRANSPORT:SRC->DST`
fn push_ports(line: &mut Vec<u8>, ports: Ports) {
    line.extend_from_slice(ports.transport.as_str().as_bytes());
    line.push(b':');
    push_int(line, ports.src_port);
    line.extend_from_slice(b"->");
    push_int(line, ports.dst_port);
}

fn push_int(line: &mut Vec<u8>, n: impl itoa::Integer) {
    line.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{IcmpQuote, Layer, NoPortsReason, Outer, TunnelKind};
    use crate::flow::service_port::Evidence;
    use crate::registry::{Class, PortInfo, Status};
    use crate::transport::Transport;

    fn comment(info: &PacketInfo, attribution: Option<&Attribution<'_>>) -> String {
        let mut line = b"left over".to_vec();
        write_comment(&mut line, info, attribution);
        String::from_utf8(line).unwrap()
    }

    fn tcp(src_port: u16, dst_port: u16) -> PacketInfo {
        PacketInfo {
            ports: Some(Ports {
                transport: Transport::Tcp,
                src_port,
                dst_port,
            }),
            ..PacketInfo::default()
        }
    }

    fn https(flow_id: u64) -> Attribution<'static> {
        Attribution {
            flow_id,
            server: ServiceSide::Dst,
            service_port: 443,
            evidence: Evidence::Handshake,
            info: PortInfo {
                transport: Transport::Tcp,
                port: 443,
                status: Status::Assigned,
                class: Class::System,
                service: Some("https"),
                unauthorized: None,
            },
        }
    }

    #[test]
    fn ports_and_the_service_decision_as_documented() {
        assert_eq!(
            comment(&tcp(51000, 443), Some(&https(17))),
            "portnote: tcp 51000->443 service=https port=443 status=assigned class=system \
             server=dst evidence=handshake flow=17"
        );
    }

    #[test]
    fn unnamed_unassigned_port_has_a_dash_for_service_and_flags_follow() {
        let attribution = Attribution {
            server: ServiceSide::Src,
            service_port: 4,
            info: PortInfo {
                port: 4,
                status: Status::Unassigned,
                service: None,
                unauthorized: Some("note"),
                ..https(0).info
            },
            ..https(3)
        };
        let info = PacketInfo {
            inherited: true,
            outer: Some(Outer {
                tunnel: TunnelKind::Vxlan,
                ports: Some(Ports {
                    transport: Transport::Udp,
                    src_port: 1234,
                    dst_port: 4789,
                }),
                src: None,
                dst: None,
            }),
            ..tcp(4, 60000)
        };
        assert_eq!(
            comment(&info, Some(&attribution)),
            "portnote: tcp 4->60000 service=- port=4 status=unassigned class=system server=src \
             evidence=handshake flow=3 unauthorized inherited tunnel=vxlan outer=udp:1234->4789"
        );
    }

    #[test]
    fn packets_without_ports_say_why_and_what_they_quote() {
        let icmp = PacketInfo {
            reason: Some(NoPortsReason::Icmp),
            icmp_quote: Some(IcmpQuote {
                ip_version: 4,
                port_unreachable: false,
                ports: Ports {
                    transport: Transport::Udp,
                    src_port: 5353,
                    dst_port: 33434,
                },
            }),
            ..PacketInfo::default()
        };
        assert_eq!(
            comment(&icmp, None),
            "portnote: no ports (icmp) icmp_quote=udp:5353->33434"
        );
        let truncated = PacketInfo {
            reason: Some(NoPortsReason::Truncated(Layer::Tcp)),
            outer: Some(Outer {
                tunnel: TunnelKind::Gre,
                ports: None,
                src: None,
                dst: None,
            }),
            ..PacketInfo::default()
        };
        assert_eq!(
            comment(&truncated, None),
            "portnote: no ports (truncated in tcp) tunnel=gre"
        );
    }
}

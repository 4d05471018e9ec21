//! Which of a flow's two ports is the service port.
//!
//! The rule, in order (also in the README, with its measured accuracy):
//!
//! 1. **Handshake evidence.** A connection-opening request (TCP SYN without ACK, SCTP INIT,
//!    DCCP-Request) names its destination port as the service; the response (TCP SYN+ACK,
//!    SCTP INIT ACK, DCCP-Response) names its source port.
//! 2. **Registry rank** otherwise. Each port is ranked by what IANA says of it and by whether it
//!    lies where operating systems pick their clients' ephemeral ports, best first: assigned
//!    system port, assigned user port below 32768, reserved below 32768, unassigned below 32768,
//!    assigned port at or above 32768, reserved or unassigned at or above 32768. The better rank
//!    wins, whichever side it is on. 32768 and not IANA's 49152 because Linux hands out client
//!    ports from 32768-60999 (`net.ipv4.ip_local_port_range`): a Linux client's port in
//!    32768-49151 that happens to be assigned to some service is still a client port far more
//!    often than that service (PROFINET's 34962, say, against a FIX server on 1024).
//! 3. **Endpoint fan-in**, when the ranks tie: the (address, port) that was seen in more flows is
//!    the server (a server port meets many peers, a client's port one). See
//!    [`super::endpoints`] for the counter and [`super::FlowTable`] for which flows count.
//! 4. When that ties too: for TCP, SCTP and DCCP the **destination of the flow's first packet**
//!    (a capture that missed the handshake most often starts with the client's last handshake
//!    packet or its request); for UDP the **lower port**, which measures better there (DNS, DHCP,
//!    NetBIOS and mDNS ties, broadcast replies). Equal ports are the same service either way.
//!
//! Rules 3 and 4 are guesses, and every decision says which rule made it ([`Evidence`]).

use crate::decode::{Handshake, Ports};
use crate::registry::{Class, Registry, Status};
use crate::transport::Transport;

/// Which side of a packet carries the service port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceSide {
    Src,
    Dst,
}

/// Which rule a decision rests on. Handshake evidence may revise any other decision; a flow
/// decided by [`FanIn`](Self::FanIn), [`FirstPacket`](Self::FirstPacket) or
/// [`PortOrder`](Self::PortOrder) (a tie of ranks) may be settled again when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Evidence {
    Handshake,
    Rank,
    FanIn,
    FirstPacket,
    PortOrder,
}

impl Evidence {
    /// Every value, in report order.
    pub const ALL: [Evidence; 5] = [
        Evidence::Handshake,
        Evidence::Rank,
        Evidence::FanIn,
        Evidence::FirstPacket,
        Evidence::PortOrder,
    ];

    /// The name reports use.
    pub const fn as_str(self) -> &'static str {
        match self {
            Evidence::Handshake => "handshake",
            Evidence::Rank => "rank",
            Evidence::FanIn => "fan-in",
            Evidence::FirstPacket => "first-packet",
            Evidence::PortOrder => "port-order",
        }
    }

    /// Position in [`ALL`](Self::ALL).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Whether the ranks tied, so that more evidence (a fuller fan-in count) may change it.
    pub const fn is_tie_break(self) -> bool {
        matches!(
            self,
            Evidence::FanIn | Evidence::FirstPacket | Evidence::PortOrder
        )
    }
}

impl serde::Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Lowest port of the range Linux picks clients' ports from by default (32768-60999).
pub const EPHEMERAL_START: u16 = 32768;

/// Rank of a port by registry status, class and port number: lower is more likely the service
/// (rule 2).
pub fn rank(status: Status, class: Class, port: u16) -> u8 {
    let ephemeral = port >= EPHEMERAL_START || class == Class::Dynamic;
    match (status, class, ephemeral) {
        (Status::Assigned, Class::System, _) => 0,
        (Status::Assigned, _, false) => 1,
        (Status::Reserved, _, false) => 2,
        (Status::Unassigned, _, false) => 3,
        (Status::Assigned, _, true) => 4,
        (Status::Reserved | Status::Unassigned, _, true) => 5,
    }
}

/// Rule 1: the side handshake evidence names as the service, if any.
pub fn side_from_handshake(handshake: Option<Handshake>) -> Option<ServiceSide> {
    match handshake? {
        Handshake::Request => Some(ServiceSide::Dst),
        Handshake::Response => Some(ServiceSide::Src),
    }
}

/// Rule 2: the side whose port ranks better against the registry, if the ranks differ.
pub fn side_from_rank(registry: &Registry, ports: Ports) -> Option<ServiceSide> {
    let Ports {
        transport,
        src_port,
        dst_port,
    } = ports;
    let src = registry.port(transport, src_port);
    let dst = registry.port(transport, dst_port);
    let src_rank = rank(src.status, src.class, src_port);
    let dst_rank = rank(dst.status, dst.class, dst_port);
    match src_rank.cmp(&dst_rank) {
        std::cmp::Ordering::Less => Some(ServiceSide::Src),
        std::cmp::Ordering::Greater => Some(ServiceSide::Dst),
        std::cmp::Ordering::Equal => None,
    }
}

/// Rule 3: the side seen in more flows, if the counts differ.
pub fn side_from_fan_in(src_flows: u32, dst_flows: u32) -> Option<ServiceSide> {
    match src_flows.cmp(&dst_flows) {
        std::cmp::Ordering::Greater => Some(ServiceSide::Src),
        std::cmp::Ordering::Less => Some(ServiceSide::Dst),
        std::cmp::Ordering::Equal => None,
    }
}

/// Rule 4: the first packet's destination for connection-oriented transports, the lower port
/// for UDP.
pub fn side_from_order(ports: Ports) -> (ServiceSide, Evidence) {
    let Ports {
        transport,
        src_port,
        dst_port,
    } = ports;
    match transport {
        Transport::Udp if src_port < dst_port => (ServiceSide::Src, Evidence::PortOrder),
        Transport::Udp => (ServiceSide::Dst, Evidence::PortOrder),
        Transport::Tcp | Transport::Sctp | Transport::Dccp => {
            (ServiceSide::Dst, Evidence::FirstPacket)
        }
    }
}

/// What the decision looks at, oriented by one packet: the flow's first packet, or the packet
/// with handshake evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sides {
    pub ports: Ports,
    /// The packet's handshake evidence.
    pub handshake: Option<Handshake>,
    /// Flows seen with the source endpoint, and with the destination endpoint.
    pub src_flows: u32,
    pub dst_flows: u32,
}

/// Rules 1 to 4: the service side and the evidence it rests on.
pub fn choose_service_side(registry: &Registry, sides: Sides) -> (ServiceSide, Evidence) {
    if let Some(side) = side_from_handshake(sides.handshake) {
        return (side, Evidence::Handshake);
    }
    if let Some(side) = side_from_rank(registry, sides.ports) {
        return (side, Evidence::Rank);
    }
    if let Some(side) = side_from_fan_in(sides.src_flows, sides.dst_flows) {
        return (side, Evidence::FanIn);
    }
    side_from_order(sides.ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Assigned system ports https/443 and ssh/22, assigned user port mysql/3306, an assigned
    /// port in Linux's ephemeral range (34962) and one in the dynamic range; everything else
    /// unassigned. Built from services(5) text so the tests do not depend on the embedded
    /// snapshot.
    fn registry() -> Registry {
        Registry::from_services_text(
            "https 443/tcp\nssh 22/tcp\nmysql 3306/tcp\nhttp-alt 8080/tcp\nsocks 1080/tcp\n\
             profinet 34962/tcp\nvendor-dyn 49400/tcp\ndomain 53/udp\nradius 1812/udp\n\
             datametrics 1645/udp\n",
        )
        .unwrap()
    }

    fn ports(transport: Transport, src_port: u16, dst_port: u16) -> Ports {
        Ports {
            transport,
            src_port,
            dst_port,
        }
    }

    fn tcp(src_port: u16, dst_port: u16) -> Sides {
        Sides {
            ports: ports(Transport::Tcp, src_port, dst_port),
            handshake: None,
            src_flows: 1,
            dst_flows: 1,
        }
    }

    fn udp(src_port: u16, dst_port: u16) -> Sides {
        Sides {
            ports: ports(Transport::Udp, src_port, dst_port),
            ..tcp(src_port, dst_port)
        }
    }

    #[test]
    fn rule1_syn_names_destination_even_against_rank() {
        let r = registry();
        // SYN from 443 to 51000: the handshake wins over the assigned source port.
        let sides = Sides {
            handshake: Some(Handshake::Request),
            ..tcp(443, 51000)
        };
        assert_eq!(
            choose_service_side(&r, sides),
            (ServiceSide::Dst, Evidence::Handshake)
        );
    }

    #[test]
    fn rule1_syn_ack_names_source_even_against_fan_in() {
        let r = registry();
        let sides = Sides {
            handshake: Some(Handshake::Response),
            dst_flows: 50,
            ..tcp(51000, 443)
        };
        assert_eq!(
            choose_service_side(&r, sides),
            (ServiceSide::Src, Evidence::Handshake)
        );
    }

    #[test]
    fn rule2_assigned_system_beats_assigned_user() {
        let r = registry();
        assert_eq!(
            choose_service_side(&r, tcp(3306, 22)),
            (ServiceSide::Dst, Evidence::Rank)
        );
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 22, 3306)),
            Some(ServiceSide::Src)
        );
    }

    #[test]
    fn rule2_rank_beats_fan_in_and_first_packet() {
        let r = registry();
        // The first packet goes to 51000 and 51000 met more peers: 443 still wins on rank.
        let sides = Sides {
            dst_flows: 9,
            ..tcp(443, 51000)
        };
        assert_eq!(
            choose_service_side(&r, sides),
            (ServiceSide::Src, Evidence::Rank)
        );
    }

    #[test]
    fn rule2_assigned_beats_dynamic_whichever_side() {
        let r = registry();
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 443, 51000)),
            Some(ServiceSide::Src)
        );
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 51000, 443)),
            Some(ServiceSide::Dst)
        );
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 60000, 3306)),
            Some(ServiceSide::Dst)
        );
    }

    #[test]
    fn rule2_unassigned_user_beats_dynamic() {
        let r = registry();
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 50000, 4000)),
            Some(ServiceSide::Dst)
        );
    }

    #[test]
    fn rule2_ports_in_linuxs_ephemeral_range_rank_after_ports_below_it() {
        let r = registry();
        // A FIX server on unassigned 8010 and a Linux client on unassigned 38856.
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 38856, 8010)),
            Some(ServiceSide::Dst)
        );
        // Assigned 34962 (profinet) is a Linux client's port more often than the service: it
        // loses to an unassigned port below 32768, and to an assigned one.
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 34962, 4000)),
            Some(ServiceSide::Dst)
        );
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 34962, 3306)),
            Some(ServiceSide::Dst)
        );
        // It still beats an unassigned port in the same range, and an assigned dynamic port
        // beats an unassigned one.
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 34962, 40000)),
            Some(ServiceSide::Src)
        );
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 40000, 49400)),
            Some(ServiceSide::Dst)
        );
    }

    #[test]
    fn rule2_reserved_beats_unassigned_and_loses_to_assigned() {
        use crate::registry::{parse, Source};
        let csv = "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,\
Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes
,47,tcp,Reserved,,,,,,,,
mysql,3306,tcp,MySQL,,,,,,,,
";
        let parsed = parse(
            csv,
            "<inline>",
            Some(crate::registry::RegistryFormat::IanaCsv),
        )
        .unwrap();
        let r = Registry::build(parsed.entries, Source::Embedded, parsed.date);
        assert_eq!(r.port(Transport::Tcp, 47).status, Status::Reserved);
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 4, 47)),
            Some(ServiceSide::Dst)
        );
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 47, 3306)),
            Some(ServiceSide::Dst)
        );
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 47, 50000)),
            Some(ServiceSide::Src)
        );
    }

    #[test]
    fn rule2_equal_ranks_are_a_tie() {
        let r = registry();
        // Two assigned user ports (a DNP3-like client on socks' 1080 to 8080), two dynamic ones.
        assert_eq!(side_from_rank(&r, ports(Transport::Tcp, 1080, 8080)), None);
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 50001, 60000)),
            None
        );
    }

    #[test]
    fn rule2_ranks_follow_the_documented_order() {
        let order = [
            rank(Status::Assigned, Class::System, 443),
            rank(Status::Assigned, Class::User, 8080),
            rank(Status::Reserved, Class::User, 1024),
            rank(Status::Unassigned, Class::User, 4000),
            rank(Status::Assigned, Class::User, 34962),
            rank(Status::Unassigned, Class::User, 40000),
        ];
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        assert_eq!(
            rank(Status::Assigned, Class::Dynamic, 49400),
            rank(Status::Assigned, Class::User, 34962)
        );
        assert_eq!(
            rank(Status::Unassigned, Class::System, 4),
            rank(Status::Unassigned, Class::User, 4000)
        );
        assert_eq!(
            rank(Status::Reserved, Class::Dynamic, 65535),
            rank(Status::Unassigned, Class::Dynamic, 50000)
        );
    }

    #[test]
    fn rule3_a_rank_tie_goes_to_the_endpoint_seen_in_more_flows() {
        let r = registry();
        // Proxy client on 1080 to 8080: 8080 met five clients, the client's port one server.
        let sides = Sides {
            src_flows: 5,
            dst_flows: 1,
            ..tcp(8080, 1080)
        };
        assert_eq!(
            choose_service_side(&r, sides),
            (ServiceSide::Src, Evidence::FanIn)
        );
        // UDP too: RADIUS from 1645 to 1812, the server answering several clients.
        let sides = Sides {
            src_flows: 1,
            dst_flows: 3,
            ..udp(1645, 1812)
        };
        assert_eq!(
            choose_service_side(&r, sides),
            (ServiceSide::Dst, Evidence::FanIn)
        );
    }

    #[test]
    fn rule4_tcp_tie_goes_to_the_first_packets_destination() {
        let r = registry();
        // A client on assigned 1080 to assigned 8080, nothing else seen: the first packet wins.
        assert_eq!(
            choose_service_side(&r, tcp(1080, 8080)),
            (ServiceSide::Dst, Evidence::FirstPacket)
        );
        assert_eq!(
            choose_service_side(&r, tcp(8080, 1080)),
            (ServiceSide::Dst, Evidence::FirstPacket)
        );
    }

    #[test]
    fn rule4_udp_tie_goes_to_the_lower_port() {
        let r = registry();
        assert_eq!(
            choose_service_side(&r, udp(1812, 1645)),
            (ServiceSide::Dst, Evidence::PortOrder)
        );
        assert_eq!(
            choose_service_side(&r, udp(50000, 4000)),
            (ServiceSide::Dst, Evidence::Rank)
        );
        // Both in the ephemeral range and unassigned: a tie, to the lower.
        assert_eq!(
            choose_service_side(&r, udp(40000, 50000)),
            (ServiceSide::Src, Evidence::PortOrder)
        );
        assert_eq!(
            choose_service_side(&r, udp(50001, 60000)),
            (ServiceSide::Src, Evidence::PortOrder)
        );
    }

    #[test]
    fn evidence_names_are_the_documented_ones() {
        let names: Vec<&str> = Evidence::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(
            names,
            ["handshake", "rank", "fan-in", "first-packet", "port-order"]
        );
        assert!(Evidence::ALL
            .iter()
            .enumerate()
            .all(|(i, e)| e.index() == i));
        assert!(!Evidence::Handshake.is_tie_break() && !Evidence::Rank.is_tie_break());
    }
}

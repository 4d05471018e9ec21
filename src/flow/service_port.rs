//! Which of a flow's two ports is the service port.
//!
//! The rule, in order (also in the README):
//!
//! 1. **Handshake evidence.** A connection-opening request (TCP SYN without ACK, SCTP INIT,
//!    DCCP-Request) names its destination port as the service; the response (TCP SYN+ACK,
//!    SCTP INIT ACK, DCCP-Response) names its source port.
//! 2. **Registry rank** otherwise. Each port is ranked by what IANA says of it, best first:
//!    assigned system, assigned user, assigned dynamic, reserved, unassigned (system or user),
//!    dynamic (reserved or unassigned). The better rank wins, whichever side it is on; a tie goes
//!    to the lower port number; equal ports are the same service either way.
//! 3. **Decided once per flow.** The first packet fixes the choice; only later handshake evidence
//!    may revise it (see [`super::FlowTable`]).

use crate::decode::{Handshake, Ports};
use crate::registry::{Class, Registry, Status};

/// Which side of a packet carries the service port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceSide {
    Src,
    Dst,
}

/// Where a decision came from: handshake evidence may revise a ranked decision, nothing else may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Evidence {
    Handshake,
    Rank,
}

/// Rank of a port by registry status and class: lower is more likely the service.
pub fn rank(status: Status, class: Class) -> u8 {
    match (status, class) {
        (Status::Assigned, Class::System) => 0,
        (Status::Assigned, Class::User) => 1,
        (Status::Assigned, Class::Dynamic) => 2,
        (Status::Reserved, Class::System | Class::User) => 3,
        (Status::Unassigned, Class::System | Class::User) => 4,
        (Status::Reserved | Status::Unassigned, Class::Dynamic) => 5,
    }
}

/// Rule 1: the side handshake evidence names as the service, if any.
pub fn side_from_handshake(handshake: Option<Handshake>) -> Option<ServiceSide> {
    match handshake? {
        Handshake::Request => Some(ServiceSide::Dst),
        Handshake::Response => Some(ServiceSide::Src),
    }
}

/// Rule 2: rank the two ports against the registry; ties go to the lower port number.
pub fn side_from_rank(registry: &Registry, ports: Ports) -> ServiceSide {
    let Ports {
        transport,
        src_port,
        dst_port,
    } = ports;
    let src = registry.port(transport, src_port);
    let dst = registry.port(transport, dst_port);
    let src_key = (rank(src.status, src.class), src_port);
    let dst_key = (rank(dst.status, dst.class), dst_port);
    if src_key < dst_key {
        ServiceSide::Src
    } else {
        ServiceSide::Dst
    }
}

/// Rules 1 and 2 for one packet: the service side and the evidence it rests on.
pub fn choose_service_side(
    registry: &Registry,
    ports: Ports,
    handshake: Option<Handshake>,
) -> (ServiceSide, Evidence) {
    match side_from_handshake(handshake) {
        Some(side) => (side, Evidence::Handshake),
        None => (side_from_rank(registry, ports), Evidence::Rank),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Transport;

    fn ports(transport: Transport, src_port: u16, dst_port: u16) -> Ports {
        Ports {
            transport,
            src_port,
            dst_port,
        }
    }

    /// Assigned system ports https/443 and ssh/22, assigned user port mysql/3306 and an assigned
    /// port in the dynamic range; everything else unassigned. Built from services(5) text so the
    /// tests do not depend on the embedded snapshot.
    fn registry() -> Registry {
        Registry::from_services_text(
            "https 443/tcp\nssh 22/tcp\nmysql 3306/tcp\nvendor-dyn 49400/tcp\n",
        )
        .unwrap()
    }

    #[test]
    fn rule1_syn_names_destination_even_against_rank() {
        let r = registry();
        // SYN from 443 to 51000: the handshake wins over the assigned source port.
        assert_eq!(
            choose_service_side(
                &r,
                ports(Transport::Tcp, 443, 51000),
                Some(Handshake::Request)
            ),
            (ServiceSide::Dst, Evidence::Handshake)
        );
    }

    #[test]
    fn rule1_syn_ack_names_source() {
        let r = registry();
        assert_eq!(
            choose_service_side(
                &r,
                ports(Transport::Tcp, 51000, 443),
                Some(Handshake::Response)
            ),
            (ServiceSide::Src, Evidence::Handshake)
        );
    }

    #[test]
    fn rule2_assigned_system_beats_assigned_user() {
        let r = registry();
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 3306, 22)),
            ServiceSide::Dst
        );
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 22, 3306)),
            ServiceSide::Src
        );
    }

    #[test]
    fn rule2_assigned_beats_dynamic_whichever_side() {
        let r = registry();
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 443, 51000)),
            ServiceSide::Src
        );
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 51000, 443)),
            ServiceSide::Dst
        );
        // An assigned user port beats a dynamic one that is numerically lower too.
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 60000, 3306)),
            ServiceSide::Dst
        );
    }

    #[test]
    fn rule2_unassigned_user_beats_dynamic() {
        let r = registry();
        // 4000 is unassigned in the test registry, 50000 dynamic.
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 50000, 4000)),
            ServiceSide::Dst
        );
    }

    #[test]
    fn rule2_assigned_in_dynamic_range_beats_unassigned() {
        let r = registry();
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 4000, 49400)),
            ServiceSide::Dst
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
        // Reserved 47 beats unassigned 4 although 4 is lower.
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 4, 47)),
            ServiceSide::Dst
        );
        // Assigned user 3306 beats reserved system 47.
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 47, 3306)),
            ServiceSide::Dst
        );
        // Reserved beats dynamic.
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 47, 50000)),
            ServiceSide::Src
        );
    }

    #[test]
    fn rule2_tie_goes_to_lower_port() {
        let r = registry();
        // Both unassigned user ports.
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 40000, 4000)),
            ServiceSide::Dst
        );
        // Both dynamic.
        assert_eq!(
            side_from_rank(&r, ports(Transport::Tcp, 50001, 60000)),
            ServiceSide::Src
        );
    }

    #[test]
    fn rule2_ranks_follow_the_documented_order() {
        let order = [
            rank(Status::Assigned, Class::System),
            rank(Status::Assigned, Class::User),
            rank(Status::Assigned, Class::Dynamic),
            rank(Status::Reserved, Class::User),
            rank(Status::Unassigned, Class::User),
            rank(Status::Unassigned, Class::Dynamic),
        ];
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        assert_eq!(
            rank(Status::Unassigned, Class::System),
            rank(Status::Unassigned, Class::User)
        );
        assert_eq!(
            rank(Status::Reserved, Class::Dynamic),
            rank(Status::Unassigned, Class::Dynamic)
        );
    }
}

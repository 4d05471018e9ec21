//! `portnote lookup`: what the registry says of ports, port ranges and service names.
//!
//! Takes queries (`443`, `443/udp`, `6000-6010/tcp`, `https`, `https/tcp`), returns one row per
//! (transport, port) slot: status, class, primary service, the other names registered there,
//! the description and IANA's unauthorized-use note. A port query without a transport shows
//! all four transports. Names registered without a port or transport (DNS SRV only) get a row
//! of their own with those cells empty.

use crate::cli::LookupArgs;
use portnote::registry::{self, Entry, PortRange, Registry};
use portnote::report::lookup::write_rows;
use portnote::transport::Transport;
use portnote::{Error, Outcome};
use std::collections::{HashMap, HashSet};
use std::io::Write;

/// One parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    Ports {
        ports: PortRange,
        transport: Option<Transport>,
    },
    Name {
        name: String,
        transport: Option<Transport>,
    },
}

impl Query {
    pub fn parse(query: &str) -> Result<Query, Error> {
        let bad = |why: String| Error::Usage(format!("bad query {query:?}: {why}"));
        let query = query.trim();
        let (base, transport) = match query.rsplit_once('/') {
            Some((base, t)) => (
                base,
                Some(t.parse::<Transport>().map_err(|e| bad(e.to_string()))?),
            ),
            None => (query, None),
        };
        if base.is_empty() {
            return Err(bad(
                "expected a port, a port range or a service name".to_string()
            ));
        }
        // IANA names may start with a digit (`3com-tsmux`, `914c-g`) but always hold a letter
        // (RFC 6335 section 5.1): digits and dashes alone make a port query.
        let looks_numeric = base.starts_with(|c: char| c.is_ascii_digit())
            && base.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        if looks_numeric {
            let ports = registry::parse_ports(base)
                .map_err(|e| bad(e.to_string()))?
                .ok_or_else(|| bad("expected a port".to_string()))?;
            return Ok(Query::Ports { ports, transport });
        }
        Ok(Query::Name {
            name: base.to_string(),
            transport,
        })
    }
}

pub use portnote::report::lookup::Row;

/// Run `portnote lookup`.
pub fn run(
    args: &LookupArgs,
    opts: &registry::RegistrySource,
    out: &mut dyn Write,
) -> Result<Outcome, Error> {
    let registry = registry::load(opts)?;
    let mut rows = Vec::new();
    // Every answer that exists is printed; each query without one is named on stderr and
    // makes the exit status 2, like an unreadable file among several captures.
    let mut failed = false;
    for text in &args.queries {
        let answer = if args.search {
            search(&registry, text)
        } else {
            Query::parse(text).and_then(|query| lookup(&registry, &query))
        };
        match answer {
            Ok(found) => rows.extend(found),
            Err(e) => {
                eprintln!("portnote: {e}");
                failed = true;
            }
        }
    }
    if !rows.is_empty() {
        write_rows(&rows, args.format.into(), out).map_err(Error::Output)?;
    }
    Ok(if failed {
        Outcome::InputErrors
    } else {
        Outcome::Success
    })
}

/// `lookup --search TEXT`: the rows whose name, further names or description contain `text`,
/// ignoring case.
pub fn search(registry: &Registry, text: &str) -> Result<Vec<Row>, Error> {
    let needle = text.trim().to_lowercase();
    if needle.is_empty() {
        return Err(Error::Usage(
            "bad search \"\": nothing to search for".to_string(),
        ));
    }
    let matching: Vec<&Entry> = registry
        .entries()
        .iter()
        .filter(|e| {
            e.names().any(|n| n.to_lowercase().contains(&needle))
                || e.description.to_lowercase().contains(&needle)
        })
        .collect();
    if matching.is_empty() {
        return Err(Error::Usage(format!(
            "no service name or description contains {text:?} in the registry in use"
        )));
    }
    Ok(rows_of_entries(registry, &matching))
}

/// One row per slot the entries cover (each slot once, in the entries' order), and one per
/// entry registered without a port or transport.
fn rows_of_entries(registry: &Registry, matching: &[&Entry]) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for entry in matching {
        match (entry.transport, entry.ports) {
            (Some(t), Some(r)) => {
                for port in r.first..=r.last {
                    if seen.insert((t, port)) {
                        let entries: Vec<&Entry> = registry.entries_covering(t, port).collect();
                        rows.push(slot_row(registry, t, port, &entries));
                    }
                }
            }
            _ => rows.push(Row {
                transport: entry.transport,
                port: entry.ports.map(|r| r.first),
                status: None,
                class: None,
                service: non_empty(&entry.name),
                other_names: entry.aliases.iter().map(|a| a.to_string()).collect(),
                description: non_empty(&entry.description),
                unauthorized: non_empty(&entry.unauthorized),
            }),
        }
    }
    rows
}

/// The rows for one query.
pub fn lookup(registry: &Registry, query: &Query) -> Result<Vec<Row>, Error> {
    match query {
        Query::Ports { ports, transport } => {
            let transports: Vec<Transport> = match transport {
                Some(t) => vec![*t],
                None => Transport::ALL.to_vec(),
            };
            // Index the rows overlapping the query once, instead of scanning every row per slot.
            let mut covering: HashMap<(Transport, u16), Vec<&Entry>> = HashMap::new();
            for entry in registry.entries() {
                let (Some(t), Some(r)) = (entry.transport, entry.ports) else {
                    continue;
                };
                if !transports.contains(&t) {
                    continue;
                }
                let first = r.first.max(ports.first);
                let last = r.last.min(ports.last);
                if first <= last {
                    for port in first..=last {
                        covering.entry((t, port)).or_default().push(entry);
                    }
                }
            }
            let mut rows = Vec::new();
            for t in transports {
                for port in ports.first..=ports.last {
                    let entries = covering.get(&(t, port)).map_or(&[][..], Vec::as_slice);
                    rows.push(slot_row(registry, t, port, entries));
                }
            }
            Ok(rows)
        }
        Query::Name { name, transport } => {
            let matching: Vec<&Entry> = registry
                .by_name(name)
                .filter(|e| transport.is_none() || e.transport == *transport)
                .collect();
            if matching.is_empty() {
                let on = transport.map_or(String::new(), |t| format!(" on {t}"));
                return Err(Error::Usage(format!(
                    "no service named {name:?}{on} in the registry in use \
                     (see `portnote registry info`)"
                )));
            }
            Ok(rows_of_entries(registry, &matching))
        }
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn slot_row(registry: &Registry, transport: Transport, port: u16, covering: &[&Entry]) -> Row {
    let info = registry.port(transport, port);
    let mut names: Vec<String> = Vec::new();
    for name in covering.iter().flat_map(|e| e.names()) {
        if Some(name) != info.service && !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    let description = registry
        .deciding_entry(transport, port)
        .or_else(|| covering.first().copied())
        .and_then(|e| non_empty(&e.description));
    Row {
        transport: Some(transport),
        port: Some(port),
        status: Some(info.status),
        class: Some(info.class),
        service: info.service.map(str::to_string),
        other_names: names,
        description,
        unauthorized: info.unauthorized.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portnote::registry::{Entry, Source, Status};
    use portnote::report::Format;

    fn entry(name: &str, first: u16, last: u16, t: Option<Transport>, desc: &str) -> Entry {
        Entry {
            name: name.to_string().into(),
            ports: Some(PortRange { first, last }),
            transport: t,
            description: desc.to_string().into(),
            ..Entry::default()
        }
    }

    fn sample() -> Registry {
        let tcp = Some(Transport::Tcp);
        let mut note = entry("finger", 79, 79, tcp, "Finger");
        note.unauthorized = "Unauthorized use by some mail users".into();
        let srv = Entry {
            name: "_srv-only".to_string().into(),
            description: "SRV name".into(),
            ..Entry::default()
        };
        Registry::build(
            vec![
                entry("", 0, 0, tcp, "Reserved"),
                note,
                entry("https", 443, 443, tcp, "http protocol over TLS/SSL"),
                entry(
                    "https",
                    443,
                    443,
                    Some(Transport::Udp),
                    "http protocol over TLS/SSL",
                ),
                entry("x11", 6000, 6063, tcp, "X Window System"),
                entry("other", 6001, 6001, tcp, "second name"),
                srv,
            ],
            Source::Embedded,
            None,
        )
    }

    #[test]
    fn queries_parse() {
        let p = |s| Query::parse(s).unwrap();
        assert_eq!(
            p("443"),
            Query::Ports {
                ports: PortRange {
                    first: 443,
                    last: 443
                },
                transport: None
            }
        );
        assert_eq!(
            p("6000-6010/TCP"),
            Query::Ports {
                ports: PortRange {
                    first: 6000,
                    last: 6010
                },
                transport: Some(Transport::Tcp)
            }
        );
        assert_eq!(
            p("https/udp"),
            Query::Name {
                name: "https".into(),
                transport: Some(Transport::Udp)
            }
        );
        assert_eq!(
            p("3com-tsmux"),
            Query::Name {
                name: "3com-tsmux".into(),
                transport: None
            }
        );
        assert_eq!(
            p("1x"),
            Query::Name {
                name: "1x".into(),
                transport: None
            }
        );
        for bad in ["", "/tcp", "443/icmp", "70000", "20-10", "6000-", "1-2-3"] {
            assert!(Query::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn port_query_shows_every_transport() {
        let r = sample();
        let rows = lookup(&r, &Query::parse("443").unwrap()).unwrap();
        let got: Vec<_> = rows
            .iter()
            .map(|r| (r.transport, r.status, r.service.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (Some(Transport::Tcp), Some(Status::Assigned), Some("https")),
                (Some(Transport::Udp), Some(Status::Assigned), Some("https")),
                (Some(Transport::Sctp), Some(Status::Unassigned), None),
                (Some(Transport::Dccp), Some(Status::Unassigned), None),
            ]
        );
    }

    #[test]
    fn range_query_lists_other_names_and_notes() {
        let r = sample();
        let rows = lookup(&r, &Query::parse("6000-6002/tcp").unwrap()).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].service.as_deref(), Some("x11"));
        assert_eq!(rows[1].other_names, ["other"]);
        assert!(rows[0].other_names.is_empty());
        let finger = lookup(&r, &Query::parse("79/tcp").unwrap()).unwrap();
        assert_eq!(
            finger[0].unauthorized.as_deref(),
            Some("Unauthorized use by some mail users")
        );
        let reserved = lookup(&r, &Query::parse("0/tcp").unwrap()).unwrap();
        assert_eq!(
            (reserved[0].status, reserved[0].description.as_deref()),
            (Some(Status::Reserved), Some("Reserved"))
        );
        // Issue 13: no row describes an unassigned slot, and JSON says so with null, not "".
        let unassigned = lookup(&r, &Query::parse("4/tcp").unwrap()).unwrap();
        assert_eq!(unassigned[0].description, None);
        let mut json = Vec::new();
        write_rows(&unassigned, Format::Json, &mut json).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert!(json[0]["description"].is_null(), "{json}");
    }

    #[test]
    fn name_query_covers_ranges_and_name_only_rows() {
        let r = sample();
        assert_eq!(lookup(&r, &Query::parse("X11").unwrap()).unwrap().len(), 64);
        assert_eq!(
            lookup(&r, &Query::parse("https/udp").unwrap())
                .unwrap()
                .len(),
            1
        );
        let srv = lookup(&r, &Query::parse("_srv-only").unwrap()).unwrap();
        assert_eq!(
            (srv[0].transport, srv[0].port, srv[0].status),
            (None, None, None)
        );
        assert!(matches!(
            lookup(&r, &Query::parse("nosuch").unwrap()),
            Err(Error::Usage(_))
        ));
        assert!(matches!(
            lookup(&r, &Query::parse("x11/udp").unwrap()),
            Err(Error::Usage(_))
        ));
    }

    #[test]
    fn table_shortens_long_descriptions_but_csv_keeps_them() {
        let long = "x".repeat(100);
        let r = Registry::build(
            vec![entry("long", 1, 1, Some(Transport::Tcp), &long)],
            Source::Embedded,
            None,
        );
        let rows = lookup(&r, &Query::parse("1/tcp").unwrap()).unwrap();
        let mut table = Vec::new();
        write_rows(&rows, Format::Table, &mut table).unwrap();
        let table = String::from_utf8(table).unwrap();
        assert!(table.contains(&format!("{}…", "x".repeat(59))), "{table}");
        assert!(!table.contains(&long));
        let mut csv = Vec::new();
        write_rows(&rows, Format::Csv, &mut csv).unwrap();
        assert!(String::from_utf8(csv).unwrap().contains(&long));
    }

    #[test]
    fn table_is_aligned_and_csv_has_the_header() {
        let r = sample();
        let rows = lookup(&r, &Query::parse("79/tcp").unwrap()).unwrap();
        let mut table = Vec::new();
        write_rows(&rows, Format::Table, &mut table).unwrap();
        let table = String::from_utf8(table).unwrap();
        let lines: Vec<_> = table.lines().collect();
        assert_eq!(lines.len(), 2);
        // The STATUS column starts at the same offset on both lines.
        assert_eq!(lines[0].find("STATUS"), lines[1].find("assigned"));
        assert!(lines[1].ends_with("Unauthorized use by some mail users"));
        let mut csv = Vec::new();
        write_rows(&rows, Format::Csv, &mut csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert_eq!(
            csv,
            "transport,port,status,class,service,other_names,description,unauthorized\n\
             tcp,79,assigned,system,finger,,Finger,Unauthorized use by some mail users\n"
        );
    }
}

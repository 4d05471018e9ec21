//! The IANA Service Name and Transport Protocol Port Number Registry (RFC 6335).
//!
//! Takes a registry file (IANA CSV or XML, services(5), nmap-services) or the embedded
//! snapshot, and builds per transport one 65536-slot table: a port lookup is one array index
//! giving status, class, the unauthorized-use flag and the primary service, in constant time.
//! Loading is strict: a malformed row is an error naming the file and line (the record index
//! for XML), never skipped.
//!
//! Slot semantics (RFC 6335 registry rows laid over the 4 x 65536 port space):
//!
//! - a (transport, port) slot is **assigned** if any named row covers it, else **reserved** if
//!   a row whose description starts with `Reserved` covers it, else **unassigned**;
//! - a row covers a slot only when it has both a port (or range) and a transport. IANA leaves
//!   the transport empty on rows that name a service for DNS SRV only and on a few legacy
//!   rows (`Reserved` 225-241, `flex-lm` 27000-27009, ...); such rows cover no slot but stay
//!   reachable by name. Reading IANA's XML this way reproduces the slot counts published
//!   independently for it (tcp 5,951 / 205 / 59,380 and so on);
//! - the primary service of a slot is the first named row covering it, in file order; rows
//!   laid over with `--services` take precedence over the registry's own;
//! - the unauthorized-use note of a slot is the first note among the rows covering it; a note
//!   on a row without a transport (IANA files port 100's so) applies to all four transports.
//!
//! Never does: network I/O outside [`update`], writing anywhere outside the data directory.

mod csv;
mod embedded;
mod error;
mod nmap;
mod services;
mod table;
pub mod update;
mod xml;

pub use error::{RegistryError, RowError};
pub use table::{Counts, Registry};

use crate::transport::Transport;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A registry file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryFormat {
    /// IANA's service-names-port-numbers.csv
    IanaCsv,
    /// IANA's service-names-port-numbers.xml
    IanaXml,
    /// services(5), e.g. /etc/services or Wireshark's `services`
    Services,
    /// nmap-services
    Nmap,
}

/// Which registry to load, and what to lay over it (see [`load`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrySource {
    /// A registry file instead of the saved or embedded one.
    pub file: Option<PathBuf>,
    /// The format of `file` and `services`; detected from each file's content when `None`.
    pub format: Option<RegistryFormat>,
    /// services(5)-style files laid over the registry, in order.
    pub services: Vec<PathBuf>,
}

/// Whether IANA assigned a (transport, port) slot.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A named service covers the slot.
    Assigned,
    /// No name, but a row whose description starts with "Reserved" covers it.
    Reserved,
    Unassigned,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Assigned, Status::Reserved, Status::Unassigned];

    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Assigned => "assigned",
            Status::Reserved => "reserved",
            Status::Unassigned => "unassigned",
        }
    }

    /// Index 0..3 into per-status counters.
    pub const fn index(self) -> usize {
        match self {
            Status::Assigned => 0,
            Status::Reserved => 1,
            Status::Unassigned => 2,
        }
    }
}

/// RFC 6335 section 6 port ranges.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// 0-1023.
    System,
    /// 1024-49151.
    User,
    /// 49152-65535, never assigned.
    Dynamic,
}

impl Class {
    pub const fn of(port: u16) -> Class {
        match port {
            0..=1023 => Class::System,
            1024..=49151 => Class::User,
            _ => Class::Dynamic,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Class::System => "system",
            Class::User => "user",
            Class::Dynamic => "dynamic",
        }
    }
}

/// What the registry says of one (transport, port) slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortInfo<'r> {
    pub transport: Transport,
    pub port: u16,
    pub status: Status,
    pub class: Class,
    /// The primary service name: the first named row covering the slot, in file order.
    pub service: Option<&'r str>,
    /// IANA's "unauthorized use reported" note, when there is one.
    pub unauthorized: Option<&'r str>,
}

/// An inclusive port range; a single port has `first == last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn contains(self, port: u16) -> bool {
        self.first <= port && port <= self.last
    }
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// Text of a row: borrowed from the embedded snapshot (no allocation), owned otherwise.
pub type Text = std::borrow::Cow<'static, str>;

/// One row of a registry file. Empty strings stand for empty cells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Service name; empty on `Reserved` / `Unassigned` rows.
    pub name: Text,
    /// Further names for the same row (services(5) aliases).
    pub aliases: Vec<Text>,
    /// None for names registered for DNS SRV only.
    pub ports: Option<PortRange>,
    /// None when IANA leaves the transport empty; such a row covers no slot.
    pub transport: Option<Transport>,
    pub description: Text,
    /// IANA's "Unauthorized Use Reported" text.
    pub unauthorized: Text,
    /// IANA's remaining columns; None when the file has none of them (services, nmap).
    pub details: Option<Box<Details>>,
    /// Came from a `--services` overlay: takes precedence over the registry's own names.
    #[serde(skip)]
    pub overlay: bool,
}

/// IANA's columns that say who and when rather than what: kept out of line so that the rows
/// of the embedded snapshot, which has none of them, stay small.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Details {
    pub assignee: String,
    pub contact: String,
    pub registration_date: String,
    pub modification_date: String,
    pub reference: String,
    pub service_code: String,
    pub assignment_notes: String,
}

impl Details {
    /// None when every column is empty.
    pub fn boxed_unless_empty(self) -> Option<Box<Details>> {
        (self != Details::default()).then(|| Box::new(self))
    }
}

impl Entry {
    pub fn is_named(&self) -> bool {
        !self.name.is_empty()
    }

    /// A nameless row that reserves its ports (RFC 6335 section 8.2).
    pub fn is_reserved(&self) -> bool {
        !self.is_named() && self.description.starts_with("Reserved")
    }

    /// The name and the aliases.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(&*self.name)
            .filter(|n| !n.is_empty())
            .chain(self.aliases.iter().map(|a| &**a))
    }

    /// Does this row cover the slot (it needs both a transport and a port to cover any)?
    pub fn covers(&self, transport: Transport, port: u16) -> bool {
        self.transport == Some(transport) && self.ports.is_some_and(|r| r.contains(port))
    }
}

/// Where the registry in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The snapshot compiled into the binary.
    Embedded,
    /// The copy saved by `portnote registry update`.
    Updated(PathBuf),
    /// A file named with `--registry` or PORTNOTE_REGISTRY.
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Embedded => f.write_str(embedded::DESCRIPTION),
            Source::Updated(p) => write!(f, "updated copy {}", p.display()),
            Source::File(p) => write!(f, "file {}", p.display()),
        }
    }
}

/// The rows of one file and what the file says of itself.
#[derive(Debug, Default)]
pub struct Parsed {
    pub entries: Vec<Entry>,
    /// The registry's date, when the file states it (XML `<updated>`, newest CSV date).
    pub date: Option<String>,
    /// Rows on transports portnote does not read (services(5)'s `ddp`), by protocol name.
    pub skipped: std::collections::BTreeMap<String, u64>,
}

impl Parsed {
    /// Count the transports of a `port/proto` field that portnote skips.
    pub(crate) fn count_skipped(&mut self, transports: &services::Transports<'_>) {
        for name in transports.others() {
            let count = self.skipped.entry(name.to_ascii_lowercase()).or_insert(0);
            *count = count.saturating_add(1);
        }
    }
}

/// Which loader reads a file: forced, or detected from the content.
pub fn detect_format(text: &str) -> Option<RegistryFormat> {
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with("<?xml") || text.starts_with("<registry") {
        return Some(RegistryFormat::IanaXml);
    }
    if text.starts_with("Service Name,Port Number") {
        return Some(RegistryFormat::IanaCsv);
    }
    // services(5) and nmap-services share `name port/proto`; nmap adds a frequency column.
    let first_row = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .find(|l| !l.is_empty())?;
    let mut fields = first_row.split_whitespace();
    let _name = fields.next()?;
    let port_proto = fields.next()?;
    if !port_proto.contains('/') || !port_proto.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    match fields.next() {
        Some(third) if third.starts_with("0.") || third == "0" || third == "1" => {
            Some(RegistryFormat::Nmap)
        }
        _ => Some(RegistryFormat::Services),
    }
}

/// Parse `text` (read from `path`, used in messages) with the given or detected format.
pub fn parse(
    text: &str,
    path: &str,
    format: Option<RegistryFormat>,
) -> Result<Parsed, RegistryError> {
    // Spreadsheet tools like to prepend a byte-order mark; it is not part of the first field.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(RegistryError::NotARegistry {
            path: path.to_string(),
            reason: "the file is empty".to_string(),
        });
    }
    let format =
        format
            .or_else(|| detect_format(text))
            .ok_or_else(|| RegistryError::NotARegistry {
                path: path.to_string(),
                reason: "not an IANA CSV or XML registry, services(5) or nmap-services file"
                    .to_string(),
            })?;
    let parsed = match format {
        RegistryFormat::IanaCsv => csv::parse(text, path)?,
        RegistryFormat::IanaXml => xml::parse(text, path)?,
        RegistryFormat::Services => services::parse(text, path)?,
        RegistryFormat::Nmap => nmap::parse(text, path)?,
    };
    if parsed.entries.is_empty() {
        let reason = if parsed.skipped.is_empty() {
            "no registry rows in it".to_string()
        } else {
            let skipped: Vec<String> = parsed
                .skipped
                .iter()
                .map(|(name, count)| format!("{count} on {name:?}"))
                .collect();
            format!(
                "no registry rows on tcp, udp, sctp or dccp in it (skipped: {})",
                skipped.join(", ")
            )
        };
        return Err(RegistryError::NotARegistry {
            path: path.to_string(),
            reason,
        });
    }
    Ok(parsed)
}

fn read_file(path: &Path) -> Result<String, RegistryError> {
    std::fs::read_to_string(path).map_err(|source| RegistryError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Load a registry file, replacing the embedded one.
pub fn from_path(
    path: &Path,
    format: Option<RegistryFormat>,
    source: Source,
) -> Result<Registry, RegistryError> {
    let text = read_file(path)?;
    let parsed = parse(&text, &path.display().to_string(), format)?;
    let mut registry = Registry::build(parsed.entries, source, parsed.date);
    registry.add_skipped(parsed.skipped);
    Ok(registry)
}

/// The registry `source` names (the command line's `--registry` or PORTNOTE_REGISTRY), else the
/// copy saved by `portnote registry update`, else the embedded snapshot; then every
/// `services` file laid over it, in order.
pub fn load(opts: &RegistrySource) -> Result<Registry, RegistryError> {
    let mut registry = match &opts.file {
        Some(path) => from_path(path, opts.format, Source::File(path.clone()))?,
        None => match update::saved_registry()? {
            Some(path) => from_path(&path, None, Source::Updated(path.clone())).map_err(|e| {
                RegistryError::SavedUnusable {
                    path: path.display().to_string(),
                    source: Box::new(e),
                }
            })?,
            None => Registry::embedded()?,
        },
    };
    for path in &opts.services {
        let text = read_file(path)?;
        let parsed = parse(&text, &path.display().to_string(), opts.format)?;
        // An overlay is the user's own file: a transport portnote skips there is more likely a
        // typo (`8443/tpc`) than AppleTalk, so say so each time.
        for (name, count) in &parsed.skipped {
            eprintln!(
                "portnote: warning: {}: {count} row(s) on transport {name:?} skipped \
                 (portnote reads tcp, udp, sctp and dccp)",
                path.display()
            );
        }
        registry.overlay(parsed.entries, path.clone());
        registry.add_skipped(parsed.skipped);
    }
    Ok(registry)
}

/// Parse a port cell: empty, `N` or `N-M`, each 0..=65535, `N <= M`.
pub fn parse_ports(cell: &str) -> Result<Option<PortRange>, RowError> {
    let cell = cell.trim();
    if cell.is_empty() {
        return Ok(None);
    }
    let (first, last) = match cell.split_once(['-']) {
        Some((a, b)) => (parse_port(a)?, parse_port(b)?),
        None => {
            let p = parse_port(cell)?;
            (p, p)
        }
    };
    if first > last {
        return Err(RowError::ReversedRange(cell.to_string()));
    }
    Ok(Some(PortRange { first, last }))
}

/// `s` is one already-trimmed number: whitespace inside a range (`80 - 90`) is an error.
fn parse_port(s: &str) -> Result<u16, RowError> {
    if s.is_empty() {
        return Err(RowError::BadNumber(s.to_string()));
    }
    // By hand rather than str::parse: this runs for every row of every registry loaded, and
    // saturating at u32::MAX keeps an absurdly long number "out of range" rather than garbage.
    let mut value: u32 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return Err(RowError::BadNumber(s.to_string()));
        }
        value = value
            .saturating_mul(10)
            .saturating_add(u32::from(b.wrapping_sub(b'0')));
    }
    u16::try_from(value).map_err(|_| RowError::PortOutOfRange(s.to_string()))
}

/// Parse a transport cell (already trimmed by the loaders); empty is allowed (the row covers
/// no slot).
pub(crate) fn parse_transport(cell: &str) -> Result<Option<Transport>, RowError> {
    if cell.is_empty() {
        return Ok(None);
    }
    // Matched without allocating: this runs once per row of every registry loaded.
    Transport::ALL
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(cell))
        .map(Some)
        .ok_or_else(|| RowError::UnknownTransport(cell.to_string()))
}

impl Registry {
    /// A registry from services(5) text (`name port/proto` lines), for tests, examples and
    /// benchmarks that must not depend on the embedded snapshot. Errors name the file `<inline>`.
    pub fn from_services_text(text: &str) -> Result<Registry, RegistryError> {
        let parsed = parse(text, "<inline>", Some(RegistryFormat::Services))?;
        Ok(Registry::build(
            parsed.entries,
            Source::File(PathBuf::from("<inline>")),
            parsed.date,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_parse_single_range_and_empty() {
        assert_eq!(parse_ports(""), Ok(None));
        assert_eq!(
            parse_ports("443"),
            Ok(Some(PortRange {
                first: 443,
                last: 443
            }))
        );
        assert_eq!(
            parse_ports("6000-6063"),
            Ok(Some(PortRange {
                first: 6000,
                last: 6063
            }))
        );
        assert_eq!(
            parse_ports("65535"),
            Ok(Some(PortRange {
                first: 65535,
                last: 65535
            }))
        );
    }

    #[test]
    fn ports_reject_out_of_range_reversed_and_garbage() {
        assert!(matches!(
            parse_ports("65536"),
            Err(RowError::PortOutOfRange(_))
        ));
        assert!(matches!(
            parse_ports("99999999999999999999"),
            Err(RowError::PortOutOfRange(_))
        ));
        assert!(matches!(
            parse_ports("20-10"),
            Err(RowError::ReversedRange(_))
        ));
        assert!(matches!(parse_ports("8o"), Err(RowError::BadNumber(_))));
        assert!(matches!(parse_ports("-5"), Err(RowError::BadNumber(_))));
        assert!(matches!(parse_ports("5-"), Err(RowError::BadNumber(_))));
    }

    #[test]
    fn transport_cell_is_strict_but_may_be_empty() {
        assert_eq!(parse_transport(""), Ok(None));
        assert_eq!(parse_transport("TCP"), Ok(Some(Transport::Tcp)));
        assert!(matches!(
            parse_transport("icmp"),
            Err(RowError::UnknownTransport(_))
        ));
    }

    #[test]
    fn formats_are_detected_from_content() {
        assert_eq!(
            detect_format("<?xml version='1.0'?><registry/>"),
            Some(RegistryFormat::IanaXml)
        );
        assert_eq!(
            detect_format("Service Name,Port Number,Transport Protocol\n"),
            Some(RegistryFormat::IanaCsv)
        );
        assert_eq!(
            detect_format("# comment\nhttp 80/tcp www # web\n"),
            Some(RegistryFormat::Services)
        );
        assert_eq!(
            detect_format("# Nmap services\nhttp\t80/tcp\t0.484143\t# WWW\n"),
            Some(RegistryFormat::Nmap)
        );
        assert_eq!(detect_format("hello world\n"), None);
        assert_eq!(detect_format(""), None);
    }

    #[test]
    fn byte_order_mark_and_crlf_are_accepted() {
        let text = "\u{feff}Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\r\n\
                    http,80,tcp,World Wide Web HTTP,,,,,,,,\r\n";
        let parsed = parse(text, "f", None).unwrap();
        assert_eq!(parsed.entries[0].name, "http");
        assert_eq!(parsed.entries[0].details, None);
        let parsed = parse("http 80/tcp # web\r\n", "f", None).unwrap();
        assert_eq!(parsed.entries[0].description, "web");
    }

    proptest::proptest! {
        /// Whatever the bytes, every loader returns rows or an error; none panics.
        #[test]
        fn loaders_never_panic(text in "(?s).{0,400}") {
            for format in [RegistryFormat::IanaCsv, RegistryFormat::IanaXml, RegistryFormat::Services, RegistryFormat::Nmap] {
                let _ = parse(&text, "fuzz", Some(format));
            }
            let _ = parse(&text, "fuzz", None);
        }

        /// Near-valid rows: a line of plausible tokens parses or fails with a line number.
        #[test]
        fn services_like_lines_fail_with_their_line(
            name in "[a-z]{1,8}", port in "[0-9-]{0,8}", proto in "(tcp|udp|sctp|dccp|xtp|)",
        ) {
            let text = format!("ok 1/tcp\n{name} {port}/{proto}\n");
            match parse(&text, "f", Some(RegistryFormat::Services)) {
                // A row on a transport portnote does not read (xtp) is skipped and counted.
                Ok(parsed) => proptest::prop_assert_eq!(
                    parsed.entries.len() + usize::from(parsed.skipped.contains_key("xtp")),
                    2
                ),
                Err(RegistryError::Line { line, .. }) => proptest::prop_assert_eq!(line, 2),
                Err(other) => proptest::prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }

    #[test]
    fn empty_and_foreign_files_are_errors() {
        assert!(matches!(
            parse("  \n", "f", None),
            Err(RegistryError::NotARegistry { .. })
        ));
        assert!(matches!(
            parse("just some text\n", "f", None),
            Err(RegistryError::NotARegistry { .. })
        ));
        // A services file of comments only has no rows.
        assert!(matches!(
            parse("# nothing\n", "f", Some(RegistryFormat::Services)),
            Err(RegistryError::NotARegistry { .. })
        ));
    }
}

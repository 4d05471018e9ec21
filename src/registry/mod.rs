//! The IANA Service Name and Transport Protocol Port Number Registry (RFC 6335).
//!
//! Takes a registry file (IANA CSV or XML, services(5), nmap-services) or the embedded
//! snapshot, and builds per transport one 65536-slot table: a port lookup is one array index
//! giving status, class, the unauthorized-use flag and the primary service, in constant time.
//! Loading is strict: a malformed row is an error naming the file and line, never skipped.

use crate::transport::Transport;
use serde::Serialize;

/// Whether IANA assigned a (transport, port) slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A named service covers the slot.
    Assigned,
    /// No name, but a row whose description starts with "Reserved" covers it.
    Reserved,
    Unassigned,
}

impl Status {
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Assigned => "assigned",
            Status::Reserved => "reserved",
            Status::Unassigned => "unassigned",
        }
    }
}

/// RFC 6335 section 6 port ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
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

/// The loaded registry. (Skeleton: replaced by the real table.)
#[derive(Debug, Default)]
pub struct Registry {
    entries: Vec<(Transport, u16, String)>,
}

impl Registry {
    /// Skeleton stand-in for the services(5) loader: `name port/proto` lines.
    pub fn from_services_text(text: &str) -> Registry {
        let entries = text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let name = fields.next()?;
                let (port, proto) = fields.next()?.split_once('/')?;
                Some((proto.parse().ok()?, port.parse().ok()?, name.to_string()))
            })
            .collect();
        Registry { entries }
    }

    /// Constant-time lookup of one slot.
    pub fn port(&self, transport: Transport, port: u16) -> PortInfo<'_> {
        let service = self
            .entries
            .iter()
            .find(|(t, p, _)| *t == transport && *p == port)
            .map(|(_, _, name)| name.as_str());
        PortInfo {
            transport,
            port,
            status: if service.is_some() {
                Status::Assigned
            } else {
                Status::Unassigned
            },
            class: Class::of(port),
            service,
            unauthorized: None,
        }
    }
}

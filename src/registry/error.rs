//! Why a registry could not be loaded, saved or downloaded: always names the file (or URL) and,
//! for a malformed row, its line (CSV, services, nmap) or record index (XML).

use std::io;

/// What is wrong with one row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("port {0:?} is out of range (0-65535)")]
    PortOutOfRange(String),
    #[error("port range {0:?} is reversed")]
    ReversedRange(String),
    #[error("unknown transport {0:?} (expected tcp, udp, sctp or dccp)")]
    UnknownTransport(String),
    #[error("unparsable number {0:?}")]
    BadNumber(String),
    #[error("unbalanced quote: a quoted field opened here is never closed")]
    UnbalancedQuote,
    #[error("expected {expected} fields, found {found}")]
    FieldCount { expected: usize, found: usize },
    #[error("missing {0}")]
    Missing(&'static str),
    #[error("{0}")]
    Malformed(String),
}

/// A registry could not be loaded, saved or downloaded.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: line {line}: {kind}")]
    Line {
        path: String,
        line: u64,
        kind: RowError,
    },
    #[error("{path}: record {record}: {kind}")]
    Record {
        path: String,
        record: u64,
        kind: RowError,
    },
    #[error("{path}: malformed XML at byte {offset}: {message}")]
    Xml {
        path: String,
        offset: u64,
        message: String,
    },
    #[error("{path}: {reason}")]
    NotARegistry { path: String, reason: String },
    #[error("downloading {url}: {message}")]
    Download { url: String, message: String },
    #[error("saving the registry to {path}: {source}")]
    Save {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{0}")]
    DataDir(String),
    /// The copy saved by `portnote registry update` no longer loads: every command would fail
    /// until it is removed or replaced, so the message says how.
    #[error(
        "{source}\n(that is the registry saved by `portnote registry update`: \
         `portnote registry reset` removes it and goes back to the embedded snapshot; \
         `portnote registry update` or `portnote registry update --from FILE` replaces it)"
    )]
    SavedUnusable {
        path: String,
        #[source]
        source: Box<RegistryError>,
    },
}

//! portnote: which IANA-registered service do the ports in this traffic belong to?
//!
//! The pipeline, one module per stage; dependencies point forward only:
//!
//! ```text
//! capture ──frames──▶ decode ──PacketInfo──▶ flow ──flows──▶ aggregate ──rows──▶ report
//!                                              ▲                 ▲                 ▲
//!                                              └──── registry (IANA port table) ───┘
//! ```
//!
//! - [`capture`]: pcap / pcapng files (gzip, stdin) and live interfaces; yields frames.
//! - [`decode`]: pure; frame bytes in, transport and ports out, or the reason there are none.
//! - [`registry`]: the IANA registry as flat per-transport 65536-slot tables.
//! - [`flow`]: bidirectional flows and the rule that picks each flow's service port.
//! - [`aggregate`]: per-service counters.
//! - [`report`]: table, JSON, NDJSON and CSV writers.
//! - [`commands`]: one function per subcommand, wiring the stages together.

pub mod aggregate;
pub mod capture;
pub mod cli;
pub mod commands;
pub mod decode;
pub mod error;
pub mod flow;
pub mod linktype;
pub mod registry;
pub mod report;
pub mod synth;
pub mod transport;

pub use error::{Error, Outcome};

//! portnote: which IANA-registered service do the ports in this traffic belong to?
//!
//! The pipeline, one module per stage; dependencies point forward only:
//!
//! ```text
//! capture ──frames──▶ decode ──PacketInfo──▶ flow ──FlowRecord──▶ aggregate ──rows──▶ report
//!                                             ▲     (FlowSink)       ▲                  ▲
//!                                             └───── registry ───────┴──────────────────┘
//! ```
//!
//! - [`capture`]: pcap / pcapng files (gzip, stdin) and live interfaces; yields frames.
//! - [`decode`]: pure; frame bytes in, transport and ports out, or the reason there are none.
//! - [`registry`]: the IANA registry as flat per-transport 65536-slot tables.
//! - [`flow`]: bidirectional flows and the rule that picks each flow's service port; each
//!   finished flow goes to a [`flow::FlowSink`] as a [`flow::FlowRecord`].
//! - [`aggregate`]: per-service counters (the [`aggregate::Aggregator`] is a flow sink).
//! - [`report`]: table, JSON, NDJSON and CSV writers.
//! - [`pipeline`]: the per-packet engine wiring decode, flow and aggregate together, in one
//!   thread or sharded over several.
//!
//! The command line (clap, one function per subcommand) is the binary's, not the library's:
//! nothing here knows of it.

//!
//! Looking a port up in the embedded registry:
//!
//! ```
//! use portnote::registry::{Class, Registry, Status};
//! use portnote::transport::Transport;
//!
//! let registry = Registry::embedded().expect("the embedded snapshot loads");
//! let https = registry.port(Transport::Tcp, 443);
//! assert_eq!((https.service, https.status, https.class), (Some("https"), Status::Assigned, Class::System));
//! assert_eq!(registry.port(Transport::Tcp, 4).status, Status::Unassigned);
//! assert_eq!(registry.port(Transport::Udp, 50000).class, Class::Dynamic);
//! ```
//!
//! Decoding one frame (a UDP datagram from port 40000 to 53 over raw IPv4):
//!
//! ```
//! use portnote::decode::{decode_frame, DecodeOptions};
//! use portnote::linktype::LinkType;
//! use portnote::transport::Transport;
//!
//! let frame = [
//!     0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, // IPv4, 28 bytes, TTL 64, protocol 17 (UDP)
//!     10, 0, 0, 1, 10, 0, 0, 2,                 // 10.0.0.1 -> 10.0.0.2
//!     0x9c, 0x40, 0, 53, 0, 8, 0, 0,            // UDP 40000 -> 53, length 8
//! ];
//! let info = decode_frame(LinkType::RAW, &frame, &DecodeOptions::default());
//! let ports = info.ports.expect("a UDP header");
//! assert_eq!((ports.transport, ports.src_port, ports.dst_port), (Transport::Udp, 40000, 53));
//! assert!(info.reason.is_none());
//! ```

pub mod aggregate;
pub mod capture;
pub mod decode;
pub mod error;
pub mod flow;
pub mod linktype;
pub mod pipeline;
pub mod registry;
pub mod report;
pub mod synth;
pub mod transport;

pub use error::{Error, Outcome};

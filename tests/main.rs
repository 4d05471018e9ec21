//! portnote's integration tests, one binary (`cargo test --test main`), one module per concern.
//!
//! Modules are named after what they check. Helpers live in [`util`] (the skip policy for
//! checks that need `../shared`, an external program or root; the binary runner; the corpus
//! listing) and [`live_support`] (network namespaces, a `portnote live` child). Unit tests stay
//! at the bottom of the file they test; see ARCHITECTURE.md, "Where to add a test".

// Test code may unwrap, index and panic: the lints in Cargo.toml guard the code users run.
// clippy.toml exempts #[test] functions only; this covers the helpers they share too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod live_support;
mod util;

mod annotate;
mod annotate_pcapng;
mod annotate_vs_tshark;
mod attribution_corpus;
mod capture_corpus;
mod capture_damage;
mod capture_roundtrip;
mod decoder_vs_etherparse;
mod decoder_vs_tshark;
mod fault_inputs;
mod fault_output;
mod fault_truncation;
mod flows;
mod flows_encap;
mod fuzz_corpus;
mod golden_outputs;
mod ipfix;
mod issue13;
mod layout;
mod linktypes_vs_tshark;
mod live_loopback;
mod live_netns;
mod live_prometheus;
mod lookup;
mod merge;
mod module_graph;
mod registry_malformed;
mod registry_slots;
mod registry_system_files;
mod registry_update;
mod reliability_flood;
mod sctp_dccp_views;
mod spark;
mod summary;
mod summary_consistency;
mod summary_html;
mod summary_replies;
mod summary_threads;
mod synth_captures;
mod synth_tshark;
/// Last in name order, on purpose: the one-line report of skipped checks.
mod wrap_up;

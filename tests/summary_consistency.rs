//! Issue 4's accounting check on every shared capture: `summary` counts every packet that
//! `annotate` reports, in exactly one row or one no-ports reason, and each row holds exactly the
//! annotate records attributed to its service.
//!
//! Except where the service side is a guess (issue 14): `annotate` decides a flow whose ports
//! rank alike on its first packet, `summary` settles it again at the end of input with the whole
//! capture's endpoint fan-in, so such a flow may sit in the other port's row. Rows that such
//! flows touch (either port's) are checked together: the same packets in them on both sides.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

mod common;

use portnote::registry::Registry;
use portnote::transport::Transport;
use std::collections::{BTreeMap, BTreeSet};

/// The row key summary uses for a service port.
fn port_key(registry: &Registry, transport: &str, port: u64) -> String {
    let t: Transport = transport.parse().unwrap();
    match registry.port(t, u16::try_from(port).unwrap()).service {
        Some(name) => format!("{transport} {name}"),
        None => format!("{transport} port {port}"),
    }
}

#[test]
fn summary_rows_equal_annotate_records_grouped_by_service() {
    let Some(shared) = common::shared_dir("the summary accounting check") else {
        return;
    };
    let registry = Registry::embedded().unwrap();
    let mut checked = 0;
    for file in common::public_captures(&shared) {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let (_, records, _) = common::annotate_records(&file);
        let (code, stdout, stderr) =
            common::portnote(&["summary", "--format", "json", file.to_str().unwrap()]);
        assert!(code == 0 || code == 2, "{name}: exit {code}: {stderr}");
        let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();

        let total = summary["totals"]["packets"].as_u64().unwrap();
        assert_eq!(
            total,
            records.len() as u64,
            "{name}: totals.packets vs annotate records"
        );

        // Annotate's view, grouped the way summary keys its rows.
        let mut by_key: BTreeMap<String, u64> = BTreeMap::new();
        // Rows a tied flow may land in on either side.
        let mut touched: BTreeSet<String> = BTreeSet::new();
        for r in &records {
            let tie = matches!(
                r["evidence"].as_str(),
                Some("fan-in" | "first-packet" | "port-order")
            );
            if tie {
                let transport = r["transport"].as_str().unwrap();
                for port in [&r["src_port"], &r["dst_port"]] {
                    touched.insert(port_key(&registry, transport, port.as_u64().unwrap()));
                }
            }
            let key = match (&r["service_port"], &r["service"]) {
                (serde_json::Value::Null, _) => {
                    format!("no_ports {}", r["reason"].as_str().unwrap())
                }
                (_, serde_json::Value::String(s)) => {
                    format!("{} {s}", r["transport"].as_str().unwrap())
                }
                (port, _) => format!("{} port {port}", r["transport"].as_str().unwrap()),
            };
            *by_key.entry(key).or_default() += 1;
        }
        // Summary's view.
        let mut rows: BTreeMap<String, u64> = BTreeMap::new();
        for row in summary["rows"].as_array().unwrap() {
            let key = match &row["service"] {
                serde_json::Value::String(s) => {
                    format!("{} {s}", row["transport"].as_str().unwrap())
                }
                _ => {
                    let ports = row["ports"].as_array().unwrap();
                    assert_eq!(ports.len(), 1, "{name}: an unnamed row has one port: {row}");
                    format!("{} port {}", row["transport"].as_str().unwrap(), ports[0])
                }
            };
            assert!(
                rows.insert(key.clone(), row["packets"].as_u64().unwrap())
                    .is_none(),
                "{name}: duplicate row {key}"
            );
        }
        for (reason, packets) in summary["no_ports"].as_object().unwrap() {
            rows.insert(format!("no_ports {reason}"), packets.as_u64().unwrap());
        }
        assert_eq!(
            rows.values().sum::<u64>(),
            total,
            "{name}: rows + no_ports vs totals.packets"
        );
        let (rows_touched, rows_rest): (BTreeMap<_, _>, BTreeMap<_, _>) =
            rows.into_iter().partition(|(k, _)| touched.contains(k));
        let (annotate_touched, annotate_rest): (BTreeMap<_, _>, BTreeMap<_, _>) =
            by_key.into_iter().partition(|(k, _)| touched.contains(k));
        assert_eq!(
            rows_rest, annotate_rest,
            "{name}: summary rows vs annotate records grouped by service"
        );
        assert_eq!(
            rows_touched.values().sum::<u64>(),
            annotate_touched.values().sum::<u64>(),
            "{name}: rows of flows whose ranks tie: {rows_touched:?} vs {annotate_touched:?}"
        );
        checked += 1;
    }
    assert!(checked > 50, "checked only {checked} captures");
}

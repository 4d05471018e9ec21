//! Issue 4's accounting check on every shared capture: `summary` counts every packet that
//! `annotate` reports, in exactly one row or one no-ports reason, and each row holds exactly the
//! annotate records attributed to its service.

use crate::util;

use std::collections::BTreeMap;

#[test]
fn summary_rows_equal_annotate_records_grouped_by_service() {
    let Some(shared) = util::shared_dir("the summary accounting check") else {
        return;
    };
    let mut checked = 0;
    for file in util::public_captures(&shared) {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let (_, records, _) = util::annotate_records(&file);
        let (code, stdout, stderr) =
            util::portnote(&["summary", "--format", "json", file.to_str().unwrap()]);
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
        for r in &records {
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
        assert_eq!(
            rows, by_key,
            "{name}: summary rows vs annotate records grouped by service"
        );
        checked += 1;
    }
    assert!(checked > 50, "checked only {checked} captures");
}

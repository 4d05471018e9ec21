//! `portnote summary` through the binary: the demo capture's sections, the SYN 443 -> 51000 rule,
//! --fail-on / --allow exit codes, several files, --per-file, CSV, and a damaged input.

use crate::util;

use serde_json::Value;

const DEMO: &str = "captures/demo.pcapng";

fn summary_json(args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["summary", "--format", "json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = util::portnote(&all);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"));
    (code, json, stderr)
}

fn row<'a>(summary: &'a Value, transport: &str, port: u64) -> &'a Value {
    summary["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["transport"] == transport
                && r["ports"].as_array().unwrap().contains(&Value::from(port))
        })
        .unwrap_or_else(|| panic!("no row for {port}/{transport}"))
}

#[test]
fn demo_has_every_section_and_all_four_transports() {
    let (code, s, stderr) = summary_json(&[DEMO]);
    assert_eq!(code, 0, "{stderr}");
    let sections: std::collections::BTreeSet<&str> = s["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["section"].as_str().unwrap())
        .collect();
    assert_eq!(
        sections,
        ["assigned", "dynamic", "unassigned"].into_iter().collect()
    );
    assert_eq!(row(&s, "tcp", 4)["status"], "unassigned");
    assert_eq!(row(&s, "tcp", 47)["status"], "reserved");
    assert_eq!(row(&s, "sctp", 2905)["service"], "m3ua");
    assert_eq!(row(&s, "dccp", 5004)["status"], "assigned");
    assert!(!s["no_ports"].as_object().unwrap().is_empty());
    let rows_packets: u64 = s["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["packets"].as_u64().unwrap())
        .sum();
    let no_ports: u64 = s["no_ports"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(
        rows_packets + no_ports,
        s["totals"]["packets"].as_u64().unwrap()
    );
}

#[test]
fn syn_from_443_to_51000_is_attributed_to_51000() {
    // The demo holds a TCP connection opened by a SYN from port 443 to port 51000.
    let (_, s, _) = summary_json(&[DEMO]);
    let r = row(&s, "tcp", 51000);
    assert_eq!(
        (r["section"].as_str(), r["class"].as_str()),
        (Some("dynamic"), Some("dynamic"))
    );
    // Its packets are not in the https row: annotate names 51000 as the service for them.
    let (_, records, _) = util::annotate_records(std::path::Path::new(DEMO));
    let syn = records
        .iter()
        .find(|r| r["src_port"] == 443 && r["dst_port"] == 51000)
        .expect("the demo has the 443 -> 51000 flow");
    assert_eq!(syn["service_port"], 51000);
    assert_eq!(syn["server"], "dst");
}

#[test]
fn fail_on_exits_1_unless_allowed() {
    let (code, _, stderr) = summary_json(&["--fail-on", "unassigned", DEMO]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("4/tcp"), "{stderr}");
    let (code, _, stderr) = summary_json(&[
        "--fail-on",
        "unassigned",
        "--allow",
        "4/tcp",
        "--allow",
        "8/udp",
        DEMO,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, _) = summary_json(&["--fail-on", "reserved", DEMO]);
    assert_eq!(code, 1);
    let (code, _, _) = summary_json(&["--fail-on", "dynamic", "captures/sctp.pcap"]);
    assert_eq!(code, 0, "sctp.pcap has no dynamic-only traffic");
    let (code, _, stderr) = util::portnote(&["summary", "--allow", "http", DEMO]);
    assert_eq!(code, 2);
    assert!(stderr.contains("PORT/TRANSPORT"), "{stderr}");
}

#[test]
fn several_files_give_one_combined_summary_or_one_each() {
    let (_, one, _) = summary_json(&[DEMO]);
    let (_, two, _) = summary_json(&["captures/sctp.pcap"]);
    let (_, both, _) = summary_json(&[DEMO, "captures/sctp.pcap"]);
    let packets = |v: &Value| v["totals"]["packets"].as_u64().unwrap();
    assert_eq!(packets(&both), packets(&one) + packets(&two));
    assert_eq!(both["totals"]["files"], 2);
    let (_, per_file, _) = summary_json(&["--per-file", DEMO, "captures/sctp.pcap"]);
    let per_file = per_file.as_array().unwrap();
    assert_eq!(per_file.len(), 2);
    assert_eq!(packets(&per_file[0]), packets(&one));
    assert_eq!(packets(&per_file[1]), packets(&two));
}

#[test]
fn csv_has_a_header_and_a_line_per_row_and_reason() {
    let (code, stdout, _) = util::portnote(&["summary", "--format", "csv", DEMO]);
    assert_eq!(code, 0);
    let (_, s, _) = summary_json(&[DEMO]);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("section,transport,service,ports,status,class,flows,packets,bytes")
    );
    let expected =
        1 + s["rows"].as_array().unwrap().len() + s["no_ports"].as_object().unwrap().len();
    assert_eq!(lines.len(), expected);
}

#[test]
fn table_shows_sections_and_no_colour_when_piped() {
    let (code, stdout, _) = util::portnote(&["summary", DEMO]);
    assert_eq!(code, 0);
    for heading in [
        "Assigned services",
        "Unassigned and reserved ports",
        "Dynamic-only traffic",
        "Packets without ports",
        "Totals",
    ] {
        assert!(stdout.contains(heading), "missing {heading}:\n{stdout}");
    }
    assert!(
        !stdout.contains('\x1b'),
        "no ANSI colour when stdout is not a terminal"
    );
    assert!(stdout.contains("m3ua"));
}

#[test]
fn a_damaged_capture_still_reports_what_came_before_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read("captures/sctp.pcap").unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let (code, s, stderr) = summary_json(&[cut.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("cut.pcap") && stderr.contains("offset"),
        "{stderr}"
    );
    let (_, whole, _) = summary_json(&["captures/sctp.pcap"]);
    assert_eq!(
        s["totals"]["packets"].as_u64().unwrap() + 1,
        whole["totals"]["packets"].as_u64().unwrap()
    );
    assert_eq!(s["totals"]["capture_errors"], 1);
    assert!(s["inputs"][0]["error"].as_str().unwrap().contains("offset"));
}

#[test]
fn a_missing_file_among_others_is_reported_and_the_rest_summarized() {
    let (code, s, stderr) = summary_json(&["no-such-file.pcap", DEMO]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no-such-file.pcap"), "{stderr}");
    let (_, alone, _) = summary_json(&[DEMO]);
    assert_eq!(s["totals"]["packets"], alone["totals"]["packets"]);
    assert_eq!(s["totals"]["capture_errors"], 1);
}

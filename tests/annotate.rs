//! `portnote annotate` through the binary: formats, service fields, several files, stdin, BPF.

use crate::util;

use std::io::Write;
use std::process::{Command, Stdio};

const DEMO: &str = "captures/demo.pcapng";

#[test]
fn ndjson_records_carry_service_fields() {
    let (code, records, _) = util::annotate_records(std::path::Path::new(DEMO));
    assert_eq!(code, 0);
    let https = records
        .iter()
        .find(|r| r["transport"] == "tcp" && r["service_port"] == 443)
        .expect("demo has https over tcp");
    assert_eq!(https["service"], "https");
    assert_eq!(
        (https["status"].as_str(), https["class"].as_str()),
        (Some("assigned"), Some("system"))
    );
    assert!(https["flow"].as_u64().unwrap() > 0);
    let side = https["server"].as_str().unwrap();
    assert_eq!(
        https[format!("{side}_port").as_str()],
        443,
        "server names the side with the service port"
    );
    let arp = records
        .iter()
        .find(|r| r["reason"] == "not ip (ethertype 0x0806)")
        .expect("demo has ARP");
    assert!(arp["service_port"].is_null() && arp["flow"].is_null());
    let frames: Vec<u64> = records
        .iter()
        .map(|r| r["frame"].as_u64().unwrap())
        .collect();
    assert_eq!(
        frames,
        (1..=records.len() as u64).collect::<Vec<_>>(),
        "frames are 1-based ordinals"
    );
}

#[test]
fn text_shows_service_labels() {
    let (code, stdout, _) = util::portnote(&["annotate", DEMO]);
    assert_eq!(code, 0);
    assert!(stdout.contains("https(443)"), "{stdout}");
    assert!(stdout.contains("unassigned(4)"), "{stdout}");
    assert!(stdout.contains("[not ip (ethertype 0x0806)]"), "{stdout}");
}

#[test]
fn csv_has_the_ndjson_columns() {
    let (code, stdout, _) = util::portnote(&["annotate", "--format", "csv", DEMO]);
    assert_eq!(code, 0);
    let mut lines = stdout.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("file,frame,ts,len,caplen,linktype,ip_version,src,dst,transport"));
    let (_, records, _) = util::annotate_records(std::path::Path::new(DEMO));
    assert_eq!(lines.count(), records.len());
}

#[test]
fn several_files_are_named_and_numbered_each_from_1() {
    let (code, stdout, _) =
        util::portnote(&["annotate", "--format", "ndjson", DEMO, "captures/sctp.pcap"]);
    assert_eq!(code, 0);
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sctp: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["file"] == "captures/sctp.pcap")
        .collect();
    assert!(!sctp.is_empty());
    assert_eq!(sctp[0]["frame"], 1);
    assert!(records.iter().all(|r| r["file"].is_string()));
}

#[test]
fn stdin_is_read_with_dash() {
    let bytes = std::fs::read("captures/sctp.pcap").unwrap();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("portnote"))
        .args(["annotate", "--format", "ndjson", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let (_, from_file, _) = util::annotate_records(std::path::Path::new("captures/sctp.pcap"));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().lines().count(),
        from_file.len()
    );
}

#[test]
fn bpf_filter_keeps_matching_packets_and_their_frame_numbers() {
    let (code, stdout, stderr) =
        util::portnote(&["annotate", "--format", "ndjson", "-f", "sctp", DEMO]);
    assert_eq!(code, 0, "{stderr}");
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| r["transport"] == "sctp"));
    let (_, all, _) = util::annotate_records(std::path::Path::new(DEMO));
    let sctp_frames: Vec<&serde_json::Value> = all
        .iter()
        .filter(|r| r["transport"] == "sctp" && r["outer"].is_null())
        .map(|r| &r["frame"])
        .collect();
    let kept: Vec<&serde_json::Value> = records.iter().map(|r| &r["frame"]).collect();
    assert_eq!(kept, sctp_frames);
    let (code, _, stderr) = util::portnote(&["annotate", "-f", "tcp port", DEMO]);
    assert_eq!(code, 2);
    assert!(!stderr.is_empty());
}

#[test]
fn no_decap_reports_the_outer_transport() {
    let (_, inner, _) = util::annotate_records(std::path::Path::new("captures/tunnel-vxlan.pcap"));
    let (code, stdout, _) = util::portnote(&[
        "annotate",
        "--format",
        "ndjson",
        "--no-decap",
        "captures/tunnel-vxlan.pcap",
    ]);
    assert_eq!(code, 0);
    let outer: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let tunnelled = inner
        .iter()
        .position(|r| !r["outer"].is_null())
        .expect("vxlan capture is tunnelled");
    assert_eq!(outer[tunnelled]["transport"], "udp");
    assert!(outer[tunnelled]["dst_port"] == 4789 || outer[tunnelled]["src_port"] == 4789);
    assert!(outer[tunnelled]["outer"].is_null());
}

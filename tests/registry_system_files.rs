//! Issue 13 item 2: the services files found on real systems load. Debian's `/etc/services`
//! carries AppleTalk rows (`rtmp 1/ddp`); Wireshark's `services` and nmap's `nmap-services`
//! are the other two formats people point `PORTNOTE_REGISTRY` at. Rows on transports portnote
//! does not read are skipped and counted in `registry info`, never an error.
//!
//! The files come from Debian packages (netbase, wireshark-common, nmap; `.ci/run` installs
//! them). A missing file is a loud skip, and a failure under `CI=true`.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

/// The file, or None after saying why the check is skipped (a failure under CI=true).
fn system_file<'p>(path: &'p str, package: &str) -> Option<&'p Path> {
    let path = Path::new(path);
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but {} is missing: install {package}",
            path.display()
        );
    }
    eprintln!(
        "NOTICE: {} is absent; skipping its check (apt-get install {package})",
        path.display()
    );
    None
}

/// Rows on transports other than tcp/udp/sctp/dccp, counted the simple way: per line, each
/// `/proto` of the second field that is not one of the four.
fn other_transports(text: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let data = line.split('#').next().unwrap();
        let Some(field) = data.split_whitespace().nth(1) else {
            continue;
        };
        for proto in field.split('/').skip(1) {
            let proto = proto.to_ascii_lowercase();
            if !["tcp", "udp", "sctp", "dccp"].contains(&proto.as_str()) {
                *counts.entry(proto).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// `registry info --format json` and `lookup 22/tcp --format json` with `PORTNOTE_REGISTRY`
/// set to the file, as the `registry info --help` example does.
fn loads(path: &Path) -> serde_json::Value {
    let data_dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("portnote")
            .unwrap()
            .env("PORTNOTE_REGISTRY", path)
            .env("PORTNOTE_DATA_DIR", data_dir.path())
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(0), "{}: {stderr}", path.display());
        assert_eq!(stderr, "", "{}", path.display());
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let ssh = run(&["lookup", "22/tcp", "--format", "json"]);
    assert!(
        ssh.to_string().contains("\"ssh\""),
        "{}: 22/tcp should be ssh: {ssh}",
        path.display()
    );
    let info = run(&["registry", "info", "--format", "json"]);
    assert_eq!(info["source"], "file");
    assert!(info["counts"]["tcp"]["assigned"].as_u64().unwrap() > 100);
    info
}

fn skipped_of(info: &serde_json::Value) -> BTreeMap<String, u64> {
    info["skipped"]
        .as_object()
        .unwrap_or_else(|| panic!("registry info has no skipped object: {info}"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

#[test]
fn issue13_etc_services_loads_and_counts_its_ddp_rows() {
    let Some(path) = system_file("/etc/services", "netbase") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let info = loads(path);
    let expected = other_transports(&text);
    assert_eq!(skipped_of(&info), expected);
    // Debian's netbase has had the four AppleTalk rows for decades: the case the issue hit.
    if text.contains("/ddp") {
        assert_eq!(expected.get("ddp"), Some(&4), "{expected:?}");
        let table = portnote_table(path);
        assert!(
            table.contains("skipped   4 rows on transports portnote does not read (ddp 4)"),
            "{table}"
        );
    }
}

/// `registry info` as a table.
fn portnote_table(path: &Path) -> String {
    let data_dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("portnote")
        .unwrap()
        .env("PORTNOTE_REGISTRY", path)
        .env("PORTNOTE_DATA_DIR", data_dir.path())
        .args(["registry", "info"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn issue13_wireshark_services_loads() {
    let Some(path) = system_file("/usr/share/wireshark/services", "wireshark-common") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let info = loads(path);
    assert_eq!(skipped_of(&info), other_transports(&text));
    assert!(info["counts"]["sctp"]["assigned"].as_u64().unwrap() > 0);
}

#[test]
fn issue13_nmap_services_loads() {
    let Some(path) = system_file("/usr/share/nmap/nmap-services", "nmap") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let info = loads(path);
    assert_eq!(skipped_of(&info), other_transports(&text));
    assert!(info["counts"]["udp"]["assigned"].as_u64().unwrap() > 100);
}

//! A malformed registry is an error, exit status 2, naming the file and the line (CSV,
//! services, nmap) or the record (XML). Nothing is skipped silently.

// The helpers below are test code too (clippy.toml only exempts #[test] functions).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use assert_cmd::Command;
use std::io::Write;

const CSV_HEADER: &str = "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\n";

/// Run `portnote lookup 80 --registry FILE` on `content`; return stderr, asserting exit 2.
fn fails_with(content: &str, extra_args: &[&str]) -> String {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(content.as_bytes()).unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("portnote")
        .unwrap()
        .env_remove("PORTNOTE_REGISTRY")
        .env("PORTNOTE_DATA_DIR", data_dir.path())
        .args(["lookup", "80", "--registry"])
        .arg(file.path())
        .args(extra_args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(output.stdout.is_empty(), "no partial output expected");
    assert!(
        stderr.contains(&file.path().display().to_string()),
        "message should name the file: {stderr}"
    );
    stderr
}

fn csv_row(port: &str, transport: &str) -> String {
    format!("{CSV_HEADER}ok,1,tcp,fine,,,,,,,,\n\"multi\",2,tcp,\"two\nlines\",,,,,,,,\nbad,{port},{transport},x,,,,,,,,\n")
}

#[test]
fn csv_malformed_rows_name_the_line() {
    // Line 1 header, line 2 ok, lines 3-4 one row, line 5 the bad one.
    for (port, transport, what) in [
        ("65536", "tcp", "out of range"),
        ("100-90", "tcp", "reversed"),
        ("80", "tpc", "unknown transport"),
        ("eighty", "tcp", "unparsable number"),
    ] {
        let stderr = fails_with(&csv_row(port, transport), &[]);
        assert!(stderr.contains("line 5"), "{what}: {stderr}");
        assert!(stderr.contains(what), "{what}: {stderr}");
    }
}

#[test]
fn csv_unbalanced_quote_names_the_line() {
    let text = format!(
        "{CSV_HEADER}ok,1,tcp,fine,,,,,,,,\nbad,2,tcp,\"open,,,,,,,,\nok,3,tcp,x,,,,,,,,\n"
    );
    let stderr = fails_with(&text, &[]);
    assert!(
        stderr.contains("line 3") && stderr.contains("unbalanced quote"),
        "{stderr}"
    );
}

#[test]
fn csv_wrong_field_count_names_the_line() {
    let stderr = fails_with(
        &format!("{CSV_HEADER}ok,1,tcp,fine,,,,,,,,\nshort,2,tcp\n"),
        &[],
    );
    assert!(
        stderr.contains("line 3") && stderr.contains("expected 12 fields"),
        "{stderr}"
    );
}

#[test]
fn xml_malformed_records_name_the_record() {
    for (number, protocol, what) in [
        ("70000", "tcp", "out of range"),
        ("10-1", "udp", "reversed"),
        ("10", "icmp", "unknown transport"),
        ("1o", "tcp", "unparsable number"),
    ] {
        let text = format!(
            "<?xml version='1.0'?>\n<registry xmlns=\"http://www.iana.org/assignments\">\n\
             <record><name>a</name><protocol>tcp</protocol><number>1</number></record>\n\
             <record><name>b</name><protocol>udp</protocol><number>2</number></record>\n\
             <record><name>c</name><protocol>{protocol}</protocol><number>{number}</number></record>\n\
             </registry>\n"
        );
        let stderr = fails_with(&text, &[]);
        assert!(stderr.contains("record 3"), "{what}: {stderr}");
        assert!(stderr.contains(what), "{what}: {stderr}");
    }
}

#[test]
fn xml_that_is_not_well_formed_names_the_offset() {
    let stderr = fails_with(
        "<?xml version='1.0'?><registry><record><name>a</record></registry>",
        &[],
    );
    assert!(stderr.contains("malformed XML at byte"), "{stderr}");
}

#[test]
fn services_malformed_lines_name_the_line() {
    for (row, what) in [
        ("bad 65536/tcp", "out of range"),
        ("bad 30-20/udp", "reversed"),
        ("bad 30/x*p", "unknown transport"),
        ("bad 3x/tcp", "unparsable number"),
    ] {
        let text = format!("# my services\nhttp 80/tcp www\n{row} # comment\n");
        let stderr = fails_with(&text, &[]);
        assert!(stderr.contains("line 3"), "{what}: {stderr}");
        assert!(stderr.contains(what), "{what}: {stderr}");
    }
}

#[test]
fn nmap_malformed_lines_name_the_line() {
    let ok = "# Nmap services\nhttp\t80/tcp\t0.484143\t# World Wide Web HTTP\n";
    for (row, what) in [
        ("bad\t65536/tcp\t0.1", "out of range"),
        ("bad\t9-8/tcp\t0.1", "reversed"),
        ("bad\t9/i:p\t0.1", "unknown transport"),
        ("bad\t9/tcp\tlots", "unparsable number"),
    ] {
        let stderr = fails_with(&format!("{ok}{row}\n"), &[]);
        assert!(stderr.contains("line 3"), "{what}: {stderr}");
        assert!(stderr.contains(what), "{what}: {stderr}");
    }
}

#[test]
fn empty_and_foreign_files_are_rejected() {
    let stderr = fails_with("", &[]);
    assert!(stderr.contains("empty"), "{stderr}");
    let stderr = fails_with("Hello, this is a letter.\nRegards\n", &[]);
    assert!(
        stderr.contains("not an IANA CSV or XML registry"),
        "{stderr}"
    );
    // Forcing the wrong format is strict too: a services file read as IANA CSV.
    let stderr = fails_with("http 80/tcp\n", &["--registry-format", "iana-csv"]);
    assert!(
        stderr.contains("line 1") || stderr.contains("header"),
        "{stderr}"
    );
}

#[test]
fn malformed_services_overlay_is_an_error_too() {
    let mut overlay = tempfile::NamedTempFile::new().unwrap();
    overlay
        .write_all(b"myapp 8443/tcp\nbroken 99999/tcp\n")
        .unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("portnote")
        .unwrap()
        .env_remove("PORTNOTE_REGISTRY")
        .env("PORTNOTE_DATA_DIR", data_dir.path())
        .args(["lookup", "8443", "--services"])
        .arg(overlay.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr.contains("line 2") && stderr.contains("out of range"),
        "{stderr}"
    );
}

/// Issue 13 item 2 made rows on other transports skippable (services(5)'s `ddp`); in the user's
/// own overlay such a row is more likely a typo, so every run warns about it.
#[test]
fn overlay_row_on_another_transport_is_skipped_with_a_warning() {
    let mut overlay = tempfile::NamedTempFile::new().unwrap();
    overlay
        .write_all(b"myapp 8443/tpc\nother 8444/tcp\n")
        .unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("portnote")
        .unwrap()
        .env_remove("PORTNOTE_REGISTRY")
        .env("PORTNOTE_DATA_DIR", data_dir.path())
        .args(["lookup", "8443/tcp", "--format", "csv", "--services"])
        .arg(overlay.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("\"tpc\" skipped"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("myapp"));

    // A file of nothing but such rows says what it skipped.
    let stderr = fails_with("myapp 8443/tpc\n", &[]);
    assert!(stderr.contains("skipped: 1 on \"tpc\""), "{stderr}");
}

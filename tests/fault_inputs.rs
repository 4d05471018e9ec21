//! Inputs that are not captures, or captures whose headers lie, through the real binary:
//! each ends in exit status 2 and one line on stderr naming the file, the byte offset and what
//! is wrong, with no record invented. Headers that claim huge records run under a 128 MiB
//! address-space limit (`ulimit -v`, about twice what portnote needs for these runs), so a
//! reader that allocated what a header claims would abort instead of exiting 2.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Address-space limit for the runs below, in KiB (`ulimit -v` units).
const ADDRESS_SPACE_KIB: u32 = 128 * 1024;

fn portnote_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("portnote")
}

/// Runs portnote with `args` under the address-space limit; `stdin` is fed to it.
fn run_limited(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(portnote_path())
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        // portnote may stop reading early (at the damage): a broken pipe is expected then.
        let _ = std::io::Write::write_all(&mut pipe, &input);
    });
    let output = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    output
}

/// A little-endian microsecond pcap file header: snaplen, then link type 1 (Ethernet).
fn pcap_header(snaplen: u32) -> Vec<u8> {
    let mut bytes = vec![
        0xd4, 0xc3, 0xb2, 0xa1, // magic, little-endian microseconds
        0x02, 0x00, 0x04, 0x00, // version 2.4
        0, 0, 0, 0, // thiszone
        0, 0, 0, 0, // sigfigs
    ];
    bytes.extend(snaplen.to_le_bytes()); // snaplen
    bytes.extend(1u32.to_le_bytes()); // link type 1, Ethernet
    bytes
}

/// A pcap record header (ts 1 s + 2 µs) claiming `caplen` bytes, followed by `present` zeros.
fn pcap_record(caplen: u32, present: usize) -> Vec<u8> {
    let mut bytes = vec![1, 0, 0, 0, 2, 0, 0, 0]; // ts_sec 1, ts_usec 2
    bytes.extend(caplen.to_le_bytes()); // caplen
    bytes.extend(caplen.to_le_bytes()); // orig_len
    bytes.resize(bytes.len() + present, 0);
    bytes
}

/// A little-endian Section Header Block (28 bytes) with nothing after it.
fn pcapng_section_header() -> Vec<u8> {
    let mut bytes = vec![0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0]; // SHB type, total length 28
    bytes.extend([0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0]); // byte-order magic, version 1.0
    bytes.extend([0xff; 8]); // section length: unknown
    bytes.extend([28, 0, 0, 0]); // trailing total length
    bytes
}

/// An Enhanced Packet Block header claiming `total_len`, followed by `present` zeros.
fn pcapng_block(total_len: u32, present: usize) -> Vec<u8> {
    let mut bytes = vec![6, 0, 0, 0]; // EPB
    bytes.extend(total_len.to_le_bytes()); // block total length
    bytes.resize(bytes.len() + present, 0);
    bytes
}

/// Deterministic noise (xorshift), not starting with any capture or gzip magic.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    bytes[0] = 0x42;
    bytes
}

/// One garbage input per case: file name, content, the offset and message expected.
fn garbage() -> Vec<(&'static str, Vec<u8>, u64, &'static str)> {
    let mut huge_record = pcap_header(65535);
    huge_record.extend(pcap_record(0x8000_0000, 100)); // claims 2 GiB at offset 24
    let mut record_beyond_limit = pcap_header(0x8000_0000); // snaplen 2 GiB: limit 256 MiB
    record_beyond_limit.extend(pcap_record(0x8000_0000, 100));
    let mut large_record = pcap_header(256 << 20); // snaplen 256 MiB: allowed
    large_record.extend(pcap_record(200 << 20, 100)); // claims 200 MiB, has 100 bytes
    let mut huge_block = pcapng_section_header();
    huge_block.extend(pcapng_block(0xffff_fffc, 40)); // claims 4 GiB - 4 at offset 28
    let mut large_block = pcapng_section_header();
    large_block.extend(pcapng_block(200 << 20, 100)); // claims 200 MiB, has 108 bytes
    let mut text = b"Service Name,Port Number,Transport Protocol\n".repeat(3);
    text.truncate(100);
    vec![
        ("empty.pcap", Vec::new(), 0, "empty file"),
        (
            "text.pcap",
            text,
            0,
            "not a pcap or pcapng file (first bytes [53, 65, 72, 76]): it looks like text",
        ),
        (
            "noise.pcap",
            noise(4096),
            0,
            "not a pcap or pcapng file (first bytes [42, ",
        ),
        (
            "three-bytes.pcap",
            vec![0xd4, 0xc3, 0xb2],
            0,
            "not a pcap or pcapng file: 3 byte(s) are too few to hold a file header",
        ),
        (
            "2gib-record.pcap",
            huge_record,
            24,
            "captured length 2147483648 exceeds the limit of 262144 bytes",
        ),
        (
            "2gib-record-2gib-snaplen.pcap",
            record_beyond_limit,
            24,
            "captured length 2147483648 exceeds the limit of ",
        ),
        (
            "200mib-record.pcap",
            large_record,
            24,
            "pcap record cut short: needs 209715216 bytes, only 116 present",
        ),
        (
            "4gib-block.pcapng",
            huge_block,
            28,
            "bad block total length 4294967292: ",
        ),
        (
            "200mib-block.pcapng",
            large_block,
            28,
            "pcapng block cut short: needs 209715200 bytes, only 108 present",
        ),
    ]
}

/// One line, `portnote: FILE: at byte offset N: MESSAGE...`; offset 0 stands for an error about
/// the whole file (cannot open, not a capture), which names no offset: `portnote: FILE: MESSAGE`.
fn assert_one_error_line(stderr: &[u8], file: &str, offset: u64, message: &str, context: &str) {
    let stderr = String::from_utf8_lossy(stderr);
    let expected = if offset == 0 {
        format!("portnote: {file}: {message}")
    } else {
        format!("portnote: {file}: at byte offset {offset}: {message}")
    };
    assert!(
        stderr.starts_with(&expected),
        "{context}: {stderr:?}, expected {expected:?}"
    );
    assert_eq!(stderr.lines().count(), 1, "{context}: {stderr:?}");
}

#[test]
fn garbage_files_exit_2_naming_file_and_offset_within_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, offset, message) in garbage() {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let path = path.to_str().unwrap();
        for command in ["annotate", "summary"] {
            let out = run_limited(&[command, path], b"");
            let context = format!("{command} {name}");
            assert_eq!(out.status.code(), Some(2), "{context}: {out:?}");
            assert_one_error_line(&out.stderr, path, offset, message, &context);
            if command == "annotate" {
                assert!(out.stdout.is_empty(), "{context}: invented records");
            }
        }
    }
}

#[test]
fn garbage_on_stdin_is_named_stdin() {
    for (name, bytes, offset, message) in garbage() {
        let out = run_limited(&["annotate", "-"], &bytes);
        assert_eq!(out.status.code(), Some(2), "{name}: {out:?}");
        assert_one_error_line(&out.stderr, "<stdin>", offset, message, name);
        assert!(out.stdout.is_empty(), "{name}");
    }
}

#[test]
fn the_address_space_limit_applies() {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {ADDRESS_SPACE_KIB} && ulimit -v"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        ADDRESS_SPACE_KIB.to_string()
    );
}

#[test]
fn a_directory_and_a_missing_file_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let dir_name = dir.path().to_str().unwrap();
    let missing = dir.path().join("no-such.pcap");
    let missing = missing.to_str().unwrap();
    let cases = [
        (dir_name, "is a directory, not a capture file"),
        (missing, "cannot open: No such file or directory"),
    ];
    for (path, message) in cases {
        let out = run_limited(&["annotate", path], b"");
        assert_eq!(out.status.code(), Some(2), "{path}: {out:?}");
        assert_one_error_line(&out.stderr, path, 0, message, path);
        assert!(out.stdout.is_empty());
    }
}

/// A bad input among good ones: the good ones are read in full, the run exits 2.
#[test]
fn a_bad_input_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("text.pcap");
    std::fs::write(&bad, "not a capture\n").unwrap();
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/sctp.pcap");
    let (bad, good) = (bad.to_str().unwrap(), good.to_str().unwrap());

    let alone = run_limited(&["annotate", "--format", "ndjson", good], b"");
    assert_eq!(alone.status.code(), Some(0));
    let alone_records = String::from_utf8(alone.stdout).unwrap().lines().count();
    assert!(alone_records > 0);

    let out = run_limited(&["annotate", "--format", "ndjson", bad, good], b"");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_one_error_line(
        &out.stderr,
        bad,
        0,
        "not a pcap or pcapng file",
        "bad, good",
    );
    let records: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), alone_records);
    assert!(
        records.iter().all(|r| r["file"] == good),
        "{:?}",
        records[0]
    );

    let out = run_limited(&["summary", "--format", "json", bad, good], b"");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["totals"]["packets"], alone_records);
    assert_eq!(report["totals"]["capture_errors"], 1);
    assert_eq!(report["inputs"][0]["packets"], 0);
    assert!(report["inputs"][0]["error"]
        .as_str()
        .unwrap()
        .contains("not a pcap or pcapng file"));
    assert_eq!(report["inputs"][1]["error"], serde_json::Value::Null);
}

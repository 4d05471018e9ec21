//! The fuzz targets' seed corpora as ordinary tests: every committed seed under `fuzz/seeds/`
//! goes through the very function its fuzz target calls (`fuzz/src/lib.rs`, included below),
//! with that function's checks, and must give what its name says. The capture seeds are
//! excerpts of `captures/` plus a few hand-built damaged files, written by [`capture_seeds`]
//! (`cargo test --test fuzz_corpus -- --ignored`; they need not follow every change to
//! `captures/`, so no test pins them to it). The registry seeds are excerpts written by hand.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

mod common;

#[path = "../fuzz/src/lib.rs"]
mod fuzz_entry;

use fuzz_entry::{decode, decode_prefix, load_registry, read_capture, read_pcap, read_pcapng};
use portnote::capture::CaptureReader;
use portnote::registry::RegistryFormat;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn seed_dir(target: &str) -> PathBuf {
    root().join("fuzz/seeds").join(target)
}

/// The files of a directory, by name.
fn files_in(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

/// The bundled captures, sorted by name.
fn bundled_captures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("captures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .is_some_and(|ext| ext == "pcap" || ext == "pcapng")
        })
        .collect();
    files.sort();
    files
}

/// Byte ranges `[start, end)` of the records of a well-formed little-endian capture: pcap
/// records after the 24-byte file header, or every pcapng block from the first Section Header
/// Block on. Only for the bundled captures, whose layout the generator knows; the readers
/// under test are not used to cut their own seeds.
fn record_ranges(bytes: &[u8]) -> Vec<(usize, usize)> {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let mut ranges = Vec::new();
    let (mut at, length_of): (usize, &dyn Fn(usize) -> usize) =
        if bytes[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            assert_eq!(
                u32_at(8),
                0x1a2b_3c4d,
                "bundled pcapng files are little-endian"
            );
            (0, &|at| u32_at(at + 4)) // block total length
        } else {
            assert_eq!(
                bytes[..4],
                [0xd4, 0xc3, 0xb2, 0xa1],
                "little-endian microsecond pcap"
            );
            (24, &|at| 16 + u32_at(at + 8)) // record header + caplen
        };
    while at < bytes.len() {
        let end = at + length_of(at);
        ranges.push((at, end));
        at = end;
    }
    ranges
}

/// What the seed generator writes for the capture targets, by target and file name:
///
/// - `decode_frame`: per bundled capture, the first frame with ports and the first without,
///   behind [`decode_prefix`] for the capture's link type;
/// - `pcap_reader` / `pcapng_reader`: per bundled capture, its header and first records (at
///   most 4 KiB, at least one record), so the fuzzer starts from every link type and block kind
///   without wading through whole files; plus damaged files named `damaged-*`.
fn capture_seeds() -> BTreeMap<&'static str, BTreeMap<String, Vec<u8>>> {
    let mut seeds: BTreeMap<&str, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for path in bundled_captures() {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();

        let mut reader = CaptureReader::open(&path).unwrap();
        let (mut with_ports, mut without_ports) = (false, false);
        let mut number = 0;
        while let Some(frame) = reader.next_frame().unwrap() {
            number += 1;
            let mut input = decode_prefix(frame.linktype).to_vec();
            input.extend_from_slice(frame.data);
            let has_ports = decode(&input).unwrap().ports.is_some();
            let wanted = if has_ports {
                &mut with_ports
            } else {
                &mut without_ports
            };
            if !*wanted {
                *wanted = true;
                seeds.entry("decode_frame").or_default().insert(
                    format!("{stem}-frame{number}-{}", ports_word(has_ports)),
                    input,
                );
            }
        }

        let ranges = record_ranges(&bytes);
        let header_end = ranges.first().map_or(bytes.len(), |r| r.0);
        let mut end = header_end;
        for &(_, record_end) in &ranges {
            if record_end > 4096 && end > header_end {
                break;
            }
            end = record_end;
        }
        let (target, extension) = match path.extension().unwrap().to_str().unwrap() {
            "pcap" => ("pcap_reader", "pcap"),
            _ => ("pcapng_reader", "pcapng"),
        };
        seeds
            .entry(target)
            .or_default()
            .insert(format!("{stem}.{extension}"), bytes[..end].to_vec());
    }
    for (name, bytes) in damaged_seeds() {
        let target = if name.ends_with(".pcapng") {
            "pcapng_reader"
        } else {
            "pcap_reader"
        };
        seeds
            .entry(target)
            .or_default()
            .insert(name.to_string(), bytes);
    }
    seeds
}

/// Hand-built damage, each file with its good part first.
fn damaged_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let pcap_header = |magic: [u8; 4], big: bool| {
        let field = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut h = magic.to_vec(); // magic
        h.extend(if big { [0, 2, 0, 4] } else { [2, 0, 4, 0] }); // version 2.4
        h.extend([0; 8]); // thiszone, sigfigs
        h.extend(field(65535)); // snaplen
        h.extend(field(101)); // linktype 101, raw IP
        h
    };
    // A 28-byte IPv4/UDP frame: 10.0.0.1:5353 > 10.0.0.2:53.
    let frame: [u8; 28] = [
        0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0,
        0, // version/IHL, TOS, length 28, id, frag, TTL, UDP, csum
        10, 0, 0, 1, 10, 0, 0, 2, // src, dst
        0x14, 0xe9, 0, 53, 0, 8, 0, 0, // UDP 5353 > 53, length 8, checksum
    ];
    let record = |big: bool, caplen: u32, data: &[u8]| {
        let field = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut r = field(1_700_000_000).to_vec(); // ts_sec
        r.extend(field(999_999)); // ts_usec (or ns)
        r.extend(field(caplen)); // caplen
        r.extend(field(data.len() as u32)); // orig_len
        r.extend_from_slice(data);
        r
    };

    let mut huge = pcap_header([0xd4, 0xc3, 0xb2, 0xa1], false);
    huge.extend(record(false, 28, &frame));
    huge.extend(record(false, 0x8000_0000, &frame)); // claims 2 GiB, has 28 bytes

    let mut cut_big_endian_nanos = pcap_header([0xa1, 0xb2, 0x3c, 0x4d], true);
    cut_big_endian_nanos.extend(record(true, 28, &frame));
    cut_big_endian_nanos.extend(&record(true, 28, &frame)[..30]); // cut inside the frame

    // pcapng: SHB (28 bytes), IDB (20 bytes, raw IP), EPB with the frame (60 bytes), then a
    // block whose total length says 4 GiB - 4.
    let mut ng = vec![0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0]; // SHB type, total length 28
    ng.extend([0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0]); // byte-order magic, version 1.0
    ng.extend([0xff; 8]); // section length unknown
    ng.extend([28, 0, 0, 0]); // trailing total length
    ng.extend([1, 0, 0, 0, 20, 0, 0, 0, 101, 0, 0, 0]); // IDB, length 20, linktype 101, reserved
    ng.extend([0, 0, 0, 0, 20, 0, 0, 0]); // snaplen 0 (unlimited), trailing length
    ng.extend([6, 0, 0, 0, 60, 0, 0, 0, 0, 0, 0, 0]); // EPB, length 60, interface 0
    ng.extend([0, 0, 0, 0, 0, 0, 0, 0]); // timestamp high, low
    ng.extend([28, 0, 0, 0, 28, 0, 0, 0]); // captured and original length
    ng.extend(frame); // 28 bytes, already a multiple of 4
    ng.extend([60, 0, 0, 0]); // trailing total length
    ng.extend([6, 0, 0, 0, 0xfc, 0xff, 0xff, 0xff, 0, 0, 0, 0]); // EPB claiming 4 GiB - 4

    vec![
        ("damaged-2gib-record.pcap", huge),
        ("damaged-cut-big-endian-nanos.pcap", cut_big_endian_nanos),
        ("damaged-4gib-block.pcapng", ng),
    ]
}

#[test]
#[ignore = "writes fuzz/seeds/: run by hand after changing captures/ or the generator"]
fn write_capture_seeds() {
    for (target, files) in capture_seeds() {
        let dir = seed_dir(target);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

/// How a decode_frame seed's name ends: whether the frame had ports when it was cut.
fn ports_word(has_ports: bool) -> &'static str {
    if has_ports {
        "ports"
    } else {
        "noports"
    }
}

#[test]
fn decode_frame_seeds() {
    let seeds = files_in(&seed_dir("decode_frame"));
    assert!(seeds.len() >= 20, "{:?}", seeds.keys());
    for (name, input) in &seeds {
        let info = decode(input).unwrap_or_else(|| panic!("{name}: shorter than the prefix"));
        let expected = name.rsplit('-').next().unwrap();
        assert_eq!(
            ports_word(info.ports.is_some()),
            expected,
            "{name}: {info:?}"
        );
    }
    assert!(decode(&[1, 0]).is_none(), "a 2-byte input has no link type");
}

/// Runs every seed of a reader target; `damaged-*` seeds must end in an error after their
/// good record, the others must read cleanly with at least one frame.
fn check_reader_seeds(target: &str, read: fn(&[u8]) -> Option<fuzz_entry::ReadOutcome>) {
    let seeds = files_in(&seed_dir(target));
    assert!(seeds.len() >= 3, "{target}: {:?}", seeds.keys());
    for (name, input) in &seeds {
        let outcome = read(input).unwrap_or_else(|| panic!("{target}/{name}: wrong magic"));
        if name.starts_with("damaged-") {
            let error = outcome
                .error
                .unwrap_or_else(|| panic!("{name}: read cleanly"));
            assert_eq!(outcome.frames, 1, "{name}: {error}");
        } else {
            assert!(outcome.error.is_none(), "{name}: {:?}", outcome.error);
            assert!(outcome.frames >= 1, "{name}");
        }
    }
}

#[test]
fn pcap_reader_seeds() {
    check_reader_seeds("pcap_reader", read_pcap);
}

#[test]
fn pcapng_reader_seeds() {
    check_reader_seeds("pcapng_reader", read_pcapng);
}

#[test]
fn reader_targets_leave_the_other_format_alone() {
    let pcapng = std::fs::read(root().join("captures/demo.pcapng")).unwrap();
    let pcap = std::fs::read(root().join("captures/sctp.pcap")).unwrap();
    assert!(read_pcap(&pcapng).is_none());
    assert!(read_pcapng(&pcap).is_none());
    assert!(
        read_pcap(&[0xd4, 0xc3]).is_none(),
        "too short for a magic number"
    );
}

/// The whole bundled and reference captures through the readers' checks (offsets only move
/// forward and stay inside the file, every frame decodes to ports or a reason), as the fuzz
/// smoke's run-time corpus does. All of them are well-formed files.
#[test]
fn whole_captures_pass_the_reader_checks() {
    for path in bundled_captures() {
        let outcome = read_capture(&std::fs::read(&path).unwrap());
        assert!(
            outcome.error.is_none(),
            "{}: {:?}",
            path.display(),
            outcome.error
        );
        assert!(outcome.frames > 0, "{}", path.display());
    }
    let Some(shared) = common::shared_dir("fuzz_corpus on the reference captures") else {
        return;
    };
    // Some reference files hold no packet at all (pcapng test014: only non-packet blocks).
    for path in common::public_captures(&shared) {
        let outcome = read_capture(&std::fs::read(&path).unwrap());
        assert!(
            outcome.error.is_none(),
            "{}: {:?}",
            path.display(),
            outcome.error
        );
    }
}

/// Runs every seed of a registry target: `bad-*` seeds must fail naming the line or record
/// at fault, the others must load (every row a slot table entry the checks agree with).
fn check_registry_seeds(target: &str, format: RegistryFormat, bad_at: &[&str]) {
    let seeds = files_in(&seed_dir(target));
    let mut bad = Vec::new();
    for (name, input) in &seeds {
        let outcome = load_registry(format, input);
        if name.starts_with("bad-") {
            let error = outcome.expect_err(name).to_string();
            bad.push(
                error
                    .strip_prefix("fuzz-input: ")
                    .unwrap_or(&error)
                    .to_string(),
            );
        } else {
            let rows = outcome.unwrap_or_else(|e| panic!("{target}/{name}: {e}"));
            assert!(rows >= 5, "{target}/{name}: {rows} rows");
        }
    }
    assert_eq!(bad.len(), bad_at.len(), "{target}: {bad:?}");
    for (message, at) in bad.iter().zip(bad_at) {
        assert!(
            message.starts_with(at),
            "{target}: {message:?} should start with {at:?}"
        );
    }
}

#[test]
fn registry_csv_seeds() {
    check_registry_seeds("registry_csv", RegistryFormat::IanaCsv, &["line 3: "]);
}

#[test]
fn registry_xml_seeds() {
    check_registry_seeds(
        "registry_xml",
        RegistryFormat::IanaXml,
        &["record 2: ", "malformed XML at byte "],
    );
}

#[test]
fn registry_services_seeds() {
    check_registry_seeds("registry_services", RegistryFormat::Services, &["line 2: "]);
}

#[test]
fn registry_nmap_seeds() {
    check_registry_seeds("registry_nmap", RegistryFormat::Nmap, &["line 2: "]);
}

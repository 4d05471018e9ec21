//! Captures cut short, through the real binary: every bundled capture and every reference
//! capture in `../shared/captures/public`, cut at about twenty offsets each (file header,
//! first records, record boundaries and one byte either side, evenly spread offsets, the last
//! byte). For each cut `annotate --format ndjson`:
//!
//! - exits 0 when the cut falls on a record boundary (a shorter, valid file), else 2; never
//!   101, and never by way of the panic hook;
//! - prints exactly the records that lie wholly before the cut, identical to the uncut file's
//!   first records;
//! - names the file and the byte offset of the damaged record or block on stderr.
//!
//! The expected record boundaries come from a walker written here (block and record lengths
//! only), not from the reader under test. The reader-level twin of this test, every offset
//! of the small files, is `tests/capture_damage.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where the records or blocks of a capture lie.
struct Layout {
    /// Offsets at which a damaged file's error may point: 0 (the file header or first Section
    /// Header Block) and the start of every record or block.
    starts: Vec<usize>,
    /// Offsets at which a cut leaves a valid file: the end of the pcap file header, the end of
    /// every record or block.
    clean_ends: Vec<usize>,
    /// End offset of each packet record (pcap records; pcapng Enhanced, Simple and obsolete
    /// Packet Blocks), in file order.
    packet_ends: Vec<usize>,
}

fn u32_at(bytes: &[u8], at: usize, big_endian: bool) -> usize {
    let field: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
    (if big_endian {
        u32::from_be_bytes(field)
    } else {
        u32::from_le_bytes(field)
    }) as usize
}

fn layout(bytes: &[u8]) -> Layout {
    let mut layout = Layout {
        starts: vec![0],
        clean_ends: Vec::new(),
        packet_ends: Vec::new(),
    };
    let magic = &bytes[..4];
    if magic == [0x0a, 0x0d, 0x0d, 0x0a] {
        let mut big_endian = false;
        let mut at = 0;
        while at < bytes.len() {
            let block_type = &bytes[at..at + 4];
            if block_type == [0x0a, 0x0d, 0x0d, 0x0a] {
                // The byte-order magic 0x1a2b3c4d says how this section is written.
                big_endian = bytes[at + 8..at + 12] == [0x1a, 0x2b, 0x3c, 0x4d];
            }
            let kind = u32_at(bytes, at, big_endian);
            let end = at + u32_at(bytes, at + 4, big_endian);
            // 6 Enhanced, 3 Simple, 2 obsolete Packet Block.
            if matches!(kind, 2 | 3 | 6) {
                layout.packet_ends.push(end);
            }
            layout.clean_ends.push(end);
            layout.starts.push(end);
            at = end;
        }
    } else {
        let big_endian = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => false,
            [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => true,
            _ => panic!("not an uncompressed pcap or pcapng file: {magic:02x?}"),
        };
        let mut at = 24; // the file header
        layout.clean_ends.push(at);
        while at < bytes.len() {
            layout.starts.push(at);
            let end = at + 16 + u32_at(bytes, at + 8, big_endian); // record header + caplen
            layout.packet_ends.push(end);
            layout.clean_ends.push(end);
            at = end;
        }
    }
    layout
}

/// About twenty offsets to cut a `len`-byte file at, all inside it.
fn cut_offsets(len: usize, layout: &Layout) -> Vec<usize> {
    let mut offsets = vec![0, 1, 3, 4, 11, 12, 23];
    for &end in layout.clean_ends.iter().take(3) {
        offsets.extend([end.saturating_sub(1), end, end + 1]);
    }
    offsets.extend((1..10).map(|k| len * k / 10));
    offsets.push(len - 1);
    offsets.retain(|&o| o < len);
    offsets.sort_unstable();
    offsets.dedup();
    offsets
}

/// `annotate --format ndjson FILE`: exit code, one string per record line, stderr.
fn annotate(file: &Path) -> (i32, Vec<String>, String) {
    let out = assert_cmd::Command::cargo_bin("portnote")
        .unwrap()
        .env_remove("RUST_BACKTRACE")
        .args(["annotate", "--format", "ndjson"])
        .arg(file)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    (
        out.status.code().unwrap_or(-1),
        stdout.lines().map(str::to_owned).collect(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Cuts one capture at every sampled offset; returns the number of cuts checked.
fn check_cuts(path: &Path, scratch: &Path) -> usize {
    let bytes = std::fs::read(path).unwrap();
    let layout = layout(&bytes);
    let (code, full, stderr) = annotate(path);
    assert_eq!(
        code,
        0,
        "{}: the uncut file fails: {stderr}",
        path.display()
    );
    assert_eq!(full.len(), layout.packet_ends.len(), "{}", path.display());

    let offsets = cut_offsets(bytes.len(), &layout);
    let stem = path.file_name().unwrap().to_string_lossy();
    for &cut in &offsets {
        let file = scratch.join(format!("cut{cut}-{stem}"));
        std::fs::write(&file, &bytes[..cut]).unwrap();
        let (code, records, stderr) = annotate(&file);
        let context = format!(
            "{} cut at {cut}: exit {code}, stderr {stderr:?}",
            path.display()
        );
        assert!(!stderr.contains("internal error"), "{context}");

        let complete = layout.packet_ends.iter().filter(|&&end| end <= cut).count();
        assert_eq!(records, full[..complete], "{context}");

        if layout.clean_ends.contains(&cut) {
            assert_eq!((code, stderr.as_str()), (0, ""), "{context}");
        } else {
            let damaged_at = layout.starts.iter().filter(|&&s| s <= cut).max().unwrap();
            // Fewer bytes than a magic number: not a capture at all, an error without offset.
            let expected = if cut < 4 {
                format!("portnote: {}: ", file.display())
            } else {
                format!(
                    "portnote: {}: at byte offset {damaged_at}: ",
                    file.display()
                )
            };
            assert_eq!(code, 2, "{context}");
            assert!(
                stderr.starts_with(&expected),
                "{context}: expected {expected:?}"
            );
            assert_eq!(stderr.lines().count(), 1, "{context}");
        }
        std::fs::remove_file(&file).unwrap();
    }
    offsets.len()
}

fn check_all(files: &[PathBuf]) {
    assert!(!files.is_empty());
    let scratch = tempfile::tempdir().unwrap();
    // Each cut is one process start: spread the files over a few threads.
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    let cuts: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut cuts = 0;
                    while let Some(file) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                        cuts += check_cuts(file, scratch.path());
                    }
                    cuts
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    eprintln!("{cuts} cuts of {} captures checked", files.len());
    // About twenty per file; fewer only for files of a few records.
    assert!(
        cuts >= files.len() * 15,
        "{cuts} cuts of {} files",
        files.len()
    );
}

#[test]
fn bundled_captures_cut_short() {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("captures"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
            .collect();
    files.sort();
    check_all(&files);
}

#[test]
fn reference_captures_cut_short() {
    let Some(shared) = common::shared_dir("fault_truncation on the reference captures") else {
        return;
    };
    check_all(&common::public_captures(&shared));
}

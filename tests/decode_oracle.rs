//! The frame decoder against tshark: every frame of every shared public capture is decoded
//! (with fragment inheritance) and its transport and ports compared with tshark's oracle
//! (columns 4-6 of NAME.oracle.tsv, see ../shared/captures/public/MANIFEST.md).
//!
//! Captures are read with the `pcap` crate as a dev-time stand-in for our own reader; files
//! libpcap refuses (pcapng whose interfaces differ in link type) are listed as skipped.
//!
//! Remaining classes of disagreement, all accepted:
//! - A later IP fragment whose ports we inherited from its first fragment: tshark (reassembly
//!   off) shows no transport there. This is the one difference the tool means to have.

// Test code: a broken expectation is a panic. clippy.toml allows that inside #[test] functions
// only, not in the helpers an integration test shares between them.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

use portnote::decode::{decode_frame, DecodeOptions, FragmentTracker, PacketInfo};
use portnote::linktype::LinkType;
use std::fs;
use std::path::{Path, PathBuf};

const CAPTURES: &str = "../shared/captures/public";
const REQUIRED_AGREEMENT: f64 = 99.9;

/// One oracle row: transport, source port, destination port as tshark printed them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OracleRow {
    frame: String,
    transport: String,
    sport: String,
    dport: String,
}

/// Our answer in the oracle's vocabulary.
fn ours(info: &PacketInfo) -> (String, String, String) {
    match info.ports {
        Some(p) => (
            p.transport.as_str().to_string(),
            p.src_port.to_string(),
            p.dst_port.to_string(),
        ),
        None => ("-".into(), "-".into(), "-".into()),
    }
}

/// Packet rows of an oracle file, in packet order (pcapng custom blocks, whose packet ordinal
/// column is `-`, dropped).
fn read_oracle(path: &Path) -> Vec<OracleRow> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rows = Vec::new();
    for (line_no, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(
            cols.len() >= 16,
            "{}:{}: expected 16 columns, got {}",
            path.display(),
            line_no + 1,
            cols.len()
        );
        if cols[15] == "-" {
            continue;
        }
        let ordinal: usize = cols[15]
            .parse()
            .unwrap_or_else(|e| panic!("{}:{}: packet ordinal: {e}", path.display(), line_no + 1));
        assert_eq!(
            ordinal,
            rows.len() + 1,
            "{}:{}",
            path.display(),
            line_no + 1
        );
        rows.push(OracleRow {
            frame: cols[0].to_string(),
            transport: cols[3].to_string(),
            sport: cols[4].to_string(),
            dport: cols[5].to_string(),
        });
    }
    rows
}

fn captures() -> Option<Vec<PathBuf>> {
    let dir = Path::new(CAPTURES);
    if !dir.is_dir() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{CAPTURES} is missing and CI=true"
        );
        eprintln!("notice: {CAPTURES} not found; oracle comparison skipped");
        return None;
    }
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{CAPTURES}: {e}"))
        .map(|entry| entry.unwrap_or_else(|e| panic!("{CAPTURES}: {e}")).path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            !name.ends_with(".tsv") && !name.ends_with(".txt") && !name.ends_with(".md")
        })
        .collect();
    files.sort();
    Some(files)
}

#[derive(Default)]
struct Tally {
    frames: usize,
    agree: usize,
    inherited_only: usize,
}

#[test]
fn decoder_agrees_with_tshark_oracle() {
    let Some(files) = captures() else { return };
    let options = DecodeOptions::default();
    let mut total = Tally::default();
    let mut skipped = Vec::new();
    let mut disagreements = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let oracle_path = PathBuf::from(format!("{}.oracle.tsv", path.display()));
        let oracle = read_oracle(&oracle_path);
        let mut capture = match pcap::Capture::from_file(path) {
            Ok(c) => c,
            Err(e) => {
                skipped.push(format!("{name}: {e} ({} oracle frames)", oracle.len()));
                continue;
            }
        };
        let linktype = LinkType(u32::try_from(capture.get_datalink().0).unwrap_or(u32::MAX));
        let mut tracker = FragmentTracker::new(1024, 60_000_000_000);
        let mut file = Tally::default();
        let mut index = 0;
        loop {
            let packet = match capture.next_packet() {
                Ok(p) => p,
                Err(pcap::Error::NoMorePackets) => break,
                Err(e) => {
                    skipped.push(format!(
                        "{name}: libpcap stopped at packet {}: {e} ({} oracle frames unchecked)",
                        index + 1,
                        oracle.len() - index
                    ));
                    break;
                }
            };
            let ts = i128::from(packet.header.ts.tv_sec) * 1_000_000_000
                + i128::from(packet.header.ts.tv_usec) * 1_000;
            let mut info = decode_frame(linktype, packet.data, &options);
            tracker.apply(ts, &mut info);
            assert_eq!(
                info.reason.is_some(),
                info.ports.is_none(),
                "{name} #{}",
                index + 1
            );
            let Some(row) = oracle.get(index) else {
                panic!("{name}: more packets than oracle rows ({})", oracle.len());
            };
            index += 1;
            let got = ours(&info);
            let want = (row.transport.clone(), row.sport.clone(), row.dport.clone());
            file.frames += 1;
            if got == want {
                file.agree += 1;
            } else if info.inherited && want.0 == "-" {
                file.inherited_only += 1;
            } else {
                disagreements.push(format!(
                    "{name} frame {}: ours {}/{}/{} ({:?}) oracle {}/{}/{}",
                    row.frame, got.0, got.1, got.2, info.reason, want.0, want.1, want.2
                ));
            }
        }
        if skipped.last().is_none_or(|s| !s.starts_with(name)) {
            assert_eq!(
                index,
                oracle.len(),
                "{name}: packet count differs from the oracle"
            );
        }
        println!(
            "{name}: {}/{} agree, {} inherited fragment ports ({})",
            file.agree, file.frames, file.inherited_only, linktype
        );
        total.frames += file.frames;
        total.agree += file.agree;
        total.inherited_only += file.inherited_only;
    }
    for s in &skipped {
        println!("skipped: {s}");
    }
    for d in &disagreements {
        println!("DISAGREE {d}");
    }
    let accepted = total.agree + total.inherited_only;
    let percent = if total.frames == 0 {
        0.0
    } else {
        accepted as f64 * 100.0 / total.frames as f64
    };
    println!(
        "overall: {accepted}/{} frames ({percent:.3}%): {} exact, {} inherited fragment ports, {} disagreements, {} files skipped",
        total.frames,
        total.agree,
        total.inherited_only,
        disagreements.len(),
        skipped.len()
    );
    assert!(
        percent >= REQUIRED_AGREEMENT,
        "agreement {percent:.3}% below {REQUIRED_AGREEMENT}%"
    );
}

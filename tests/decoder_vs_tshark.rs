//! The frame decoder against tshark: every frame of every shared public capture is decoded
//! (with fragment inheritance) and its transport and ports compared with tshark's oracle
//! (columns 4-6 of NAME.oracle.tsv, see ../shared/captures/public/MANIFEST.md); ICMP error
//! quotations are compared with column 13.
//!
//! Captures are read with the `pcap` crate as a dev-time stand-in for our own reader. libpcap
//! 1.10 refuses pcapng files whose interfaces differ in link type; those are listed and read
//! with a minimal pcapng reader in this file instead, so every oracle frame is checked.
//!
//! Remaining classes of disagreement (as of the last run: 50 frames, all of the first class):
//! - A later IP fragment whose ports we inherited from its first fragment: tshark (reassembly
//!   off) shows no transport there. This is the one difference the tool means to have.
//! - Not seen in this corpus but expected elsewhere: UDP-Lite, which tshark lists as `udplite`
//!   while we report it as UDP (the brief's choice: it shares UDP's port space).

use portnote::decode::{
    decode_frame, DecodeOptions, FragmentTracker, Layer, NoPortsReason, PacketInfo,
};
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
    /// Column 13: transports quoted in ICMP errors, `ipver:proto/sport/dport`, or `-`.
    icmp_quoted: String,
}

/// Our answer in the oracle's vocabulary. tshark prints `?` ports when it recognised the
/// transport but could not read its ports; our counterpart is no ports with a truncated or
/// malformed transport layer.
fn ours(info: &PacketInfo) -> (String, String, String) {
    let unknown = |t: &str| (t.to_string(), "?".to_string(), "?".to_string());
    match (info.ports, info.reason) {
        (Some(p), _) => (
            p.transport.as_str().to_string(),
            p.src_port.to_string(),
            p.dst_port.to_string(),
        ),
        (None, Some(NoPortsReason::Truncated(layer) | NoPortsReason::Malformed(layer))) => {
            match layer {
                Layer::Tcp => unknown("tcp"),
                Layer::Udp => unknown("udp"),
                Layer::Sctp => unknown("sctp"),
                Layer::Dccp => unknown("dccp"),
                _ => ("-".into(), "-".into(), "-".into()),
            }
        }
        (None, _) => ("-".into(), "-".into(), "-".into()),
    }
}

/// Our ICMP quotation in the oracle's column-13 vocabulary.
fn our_quote(info: &PacketInfo) -> String {
    match info.icmp_quote {
        Some(q) => format!(
            "{}:{}/{}/{}",
            q.ip_version,
            q.ports.transport.as_str(),
            q.ports.src_port,
            q.ports.dst_port
        ),
        None => "-".to_string(),
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
            icmp_quoted: cols[12].to_string(),
        });
    }
    rows
}

fn captures() -> Option<Vec<PathBuf>> {
    let dir = crate::util::shared_file("the decoder's oracle comparison", "captures/public")?;
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

/// One captured frame, whichever reader produced it.
struct Frame {
    linktype: LinkType,
    ts_nanos: i128,
    data: Vec<u8>,
}

fn read_with_libpcap(path: &Path) -> Result<Vec<Frame>, pcap::Error> {
    let mut capture = pcap::Capture::from_file(path)?;
    let linktype = LinkType(u32::try_from(capture.get_datalink().0).unwrap_or(u32::MAX));
    let mut frames = Vec::new();
    loop {
        match capture.next_packet() {
            Ok(packet) => frames.push(Frame {
                linktype,
                // libpcap scales every file to microseconds.
                ts_nanos: i128::from(packet.header.ts.tv_sec) * 1_000_000_000
                    + i128::from(packet.header.ts.tv_usec) * 1_000,
                data: packet.data.to_vec(),
            }),
            Err(pcap::Error::NoMorePackets) => return Ok(frames),
            Err(e) => return Err(e),
        }
    }
}

/// A minimal pcapng reader for the files libpcap 1.10 refuses (interfaces with different link
/// types): section headers in either byte order, interface descriptions with their timestamp
/// resolution, enhanced, simple and obsolete packet blocks. `None` if the file is not pcapng.
/// Test scaffolding only: the capture module owns the real reader.
fn read_pcapng(path: &Path) -> Option<Vec<Frame>> {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if bytes.get(..4)? != [0x0a, 0x0d, 0x0d, 0x0a] {
        return None;
    }
    let mut frames = Vec::new();
    let mut big_endian = false;
    // Per interface of the current section: link type, snap length, timestamp units per second.
    let mut interfaces: Vec<(LinkType, u32, i128)> = Vec::new();
    let mut at = 0;
    while at + 12 <= bytes.len() {
        // The section header's type reads the same in both byte orders.
        let block_type = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        if block_type == 0x0a0d_0d0a {
            big_endian = bytes[at + 8..at + 12] == [0x1a, 0x2b, 0x3c, 0x4d];
            interfaces.clear();
        }
        let u32_at = |offset: usize| {
            let b: [u8; 4] = bytes[offset..offset + 4].try_into().unwrap();
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let block_type = u32_at(at);
        let block_len = u32_at(at + 4) as usize;
        assert!(block_len >= 12, "{}: block at {at}", path.display());
        let body = &bytes[at + 8..at + block_len - 4];
        let u16_in = |b: &[u8]| {
            let b: [u8; 2] = b.try_into().unwrap();
            if big_endian {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            }
        };
        let u32_in = |b: &[u8]| {
            let b: [u8; 4] = b.try_into().unwrap();
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let ts = |units: i128, high: u32, low: u32| {
            (i128::from(high) << 32 | i128::from(low)) * 1_000_000_000 / units
        };
        match block_type {
            1 => {
                let linktype = LinkType(u32::from(u16_in(&body[0..2])));
                let snaplen = u32_in(&body[4..8]);
                let mut units = 1_000_000;
                let mut opt = 8;
                while opt + 4 <= body.len() {
                    let code = u16_in(&body[opt..opt + 2]);
                    let len = usize::from(u16_in(&body[opt + 2..opt + 4]));
                    if code == 0 {
                        break;
                    }
                    if code == 9 {
                        // if_tsresol: high bit clear = power of 10, set = power of 2.
                        let v = body[opt + 4];
                        units = if v & 0x80 == 0 {
                            10i128.pow(u32::from(v))
                        } else {
                            1i128 << (v & 0x7f)
                        };
                    }
                    opt += 4 + len.div_ceil(4) * 4;
                }
                interfaces.push((linktype, snaplen, units));
            }
            6 | 2 => {
                let (iface, caplen_at) = if block_type == 6 {
                    (u32_in(&body[0..4]) as usize, 12)
                } else {
                    (usize::from(u16_in(&body[0..2])), 12)
                };
                let (linktype, _, units) = interfaces[iface];
                let caplen = u32_in(&body[caplen_at..caplen_at + 4]) as usize;
                frames.push(Frame {
                    linktype,
                    ts_nanos: ts(units, u32_in(&body[4..8]), u32_in(&body[8..12])),
                    data: body[20..20 + caplen].to_vec(),
                });
            }
            3 => {
                let (linktype, snaplen, _) = interfaces[0];
                let orig = u32_in(&body[0..4]) as usize;
                // Snap length 0 means unlimited.
                let snaplen = if snaplen == 0 {
                    usize::MAX
                } else {
                    snaplen as usize
                };
                let caplen = orig.min(snaplen).min(body.len() - 4);
                frames.push(Frame {
                    linktype,
                    ts_nanos: 0,
                    data: body[4..4 + caplen].to_vec(),
                });
            }
            _ => {}
        }
        at += block_len;
    }
    Some(frames)
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
    let mut fallback = Vec::new();
    let mut total_quotes = 0;
    let mut quote_disagreements = Vec::new();
    let mut disagreements = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let oracle_path = PathBuf::from(format!("{}.oracle.tsv", path.display()));
        let oracle = read_oracle(&oracle_path);
        let frames = match read_with_libpcap(path) {
            Ok(frames) => frames,
            Err(libpcap_error) => match read_pcapng(path) {
                Some(frames) => {
                    fallback.push(format!("{name}: libpcap refused it ({libpcap_error})"));
                    frames
                }
                None => {
                    skipped.push(format!(
                        "{name}: {libpcap_error} ({} oracle frames unchecked)",
                        oracle.len()
                    ));
                    continue;
                }
            },
        };
        assert_eq!(
            frames.len(),
            oracle.len(),
            "{name}: packet count differs from the oracle"
        );
        let mut tracker = FragmentTracker::new(1024, 60_000_000_000);
        let mut file = Tally::default();
        let mut linktypes = Vec::new();
        for (index, (frame, row)) in frames.iter().zip(&oracle).enumerate() {
            let (linktype, ts, data) = (frame.linktype, frame.ts_nanos, &frame.data);
            if !linktypes.contains(&linktype) {
                linktypes.push(linktype);
            }
            let mut info = decode_frame(linktype, data, &options);
            tracker.apply(i64::try_from(ts).unwrap_or(i64::MAX), &mut info);
            assert_eq!(
                info.reason.is_some(),
                info.ports.is_none(),
                "{name} #{}",
                index + 1
            );
            let got = ours(&info);
            let want = (row.transport.clone(), row.sport.clone(), row.dport.clone());
            file.frames += 1;
            total_quotes += usize::from(row.icmp_quoted != "-");
            if our_quote(&info) != row.icmp_quoted {
                quote_disagreements.push(format!(
                    "{name} frame {}: ours {} oracle {}",
                    row.frame,
                    our_quote(&info),
                    row.icmp_quoted
                ));
            }
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
        println!(
            "{name}: {}/{} agree, {} inherited fragment ports ({linktypes:?})",
            file.agree, file.frames, file.inherited_only
        );
        total.frames += file.frames;
        total.agree += file.agree;
        total.inherited_only += file.inherited_only;
    }
    for s in &fallback {
        println!("read with the test's own pcapng reader: {s}");
    }
    for s in &skipped {
        println!("skipped: {s}");
    }
    for d in &disagreements {
        println!("DISAGREE {d}");
    }
    for d in &quote_disagreements {
        println!("ICMP QUOTE DISAGREE {d}");
    }
    println!(
        "icmp quotations: {total_quotes} in the oracle, {} frames disagree",
        quote_disagreements.len()
    );
    let accepted = total.agree + total.inherited_only;
    let percent = if total.frames == 0 {
        0.0
    } else {
        accepted as f64 * 100.0 / total.frames as f64
    };
    println!(
        "overall: {accepted}/{} frames ({percent:.3}%): {} exact, {} inherited fragment ports, {} disagreements, {} files read by the fallback reader, {} skipped",
        total.frames,
        total.agree,
        total.inherited_only,
        disagreements.len(),
        fallback.len(),
        skipped.len()
    );
    // ICMP quotations are few; every one must match (column 13).
    assert!(
        quote_disagreements.is_empty(),
        "{} ICMP quotation disagreements",
        quote_disagreements.len()
    );
    assert!(
        percent >= REQUIRED_AGREEMENT,
        "agreement {percent:.3}% below {REQUIRED_AGREEMENT}%"
    );
}

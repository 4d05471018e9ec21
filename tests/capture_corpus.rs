//! The capture readers against the shared corpus of real third-party captures: record counts,
//! lengths and timestamps against tshark's and tcpdump's view, truncation at every offset,
//! gzip and stream input, and the BPF filter.
//!
//! The corpus lives outside the repository (`../shared`). Without it these tests print a notice
//! and pass, unless `CI=true`, where a missing corpus is a failure.

use flate2::write::GzEncoder;
use flate2::Compression;
use portnote::capture::{BpfFilter, CaptureError, CaptureReader};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Cursor, Read, Write};
use std::path::{Path, PathBuf};

/// The corpus directory (checked for presence by [`corpus`]).
fn corpus_dir() -> PathBuf {
    crate::util::shared_path().join("captures/public")
}

/// The corpus' capture files, or `None` (after a notice) when it is absent outside CI.
fn corpus() -> Option<Vec<PathBuf>> {
    let dir = crate::util::shared_file("the corpus tests", "captures/public")?;
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            !(name.ends_with(".tsv") || name.ends_with(".txt") || name.ends_with(".md"))
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 70,
        "only {} captures in {}",
        files.len(),
        corpus_dir().display()
    );
    Some(files)
}

fn companion(capture: &Path, suffix: &str) -> PathBuf {
    let mut name = capture.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// What the tests compare of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    len: u32,
    data: Vec<u8>,
    secs: i64,
    nanos: u32,
    linktype: u32,
}

/// Every frame of a reader, and how the stream ended.
fn drain(mut reader: CaptureReader) -> (Vec<Seen>, Result<(), CaptureError>) {
    let mut seen = Vec::new();
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => seen.push(Seen {
                len: frame.len,
                data: frame.data.to_vec(),
                secs: frame.ts.secs,
                nanos: frame.ts.nanos,
                linktype: frame.linktype.0,
            }),
            Ok(None) => break,
            Err(error) => {
                assert_eq!(reader.next_frame().unwrap().map(|f| f.len), None);
                return (seen, Err(error));
            }
        }
    }
    assert_eq!(reader.records(), seen.len() as u64);
    (seen, Ok(()))
}

fn read_bytes(
    name: &str,
    bytes: Vec<u8>,
) -> Result<(Vec<Seen>, Result<(), CaptureError>), CaptureError> {
    CaptureReader::from_reader(name, Box::new(Cursor::new(bytes))).map(drain)
}

/// (len, caplen) per packet record, in packet order, from the tshark oracle (columns 2, 3, 16).
fn oracle_lengths(capture: &Path) -> Vec<(u32, usize)> {
    let text = fs::read_to_string(companion(capture, ".oracle.tsv")).unwrap();
    let mut by_packet = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let columns: Vec<&str> = line.split('\t').collect();
        assert_eq!(columns.len(), 16, "{line}");
        if columns[15] == "-" {
            continue; // a non-packet record (pcapng custom block)
        }
        let packet: usize = columns[15].parse().unwrap();
        by_packet.insert(
            packet,
            (columns[1].parse().unwrap(), columns[2].parse().unwrap()),
        );
    }
    assert_eq!(
        by_packet.keys().copied().collect::<Vec<_>>(),
        (1..=by_packet.len()).collect::<Vec<_>>()
    );
    by_packet.into_values().collect()
}

#[test]
fn every_capture_matches_the_oracle_counts_and_lengths() {
    let Some(files) = corpus() else { return };
    let mut total = 0;
    for capture in &files {
        let reader = CaptureReader::open(capture).unwrap();
        let format = reader.format();
        let (seen, end) = drain(reader);
        end.unwrap();
        let expected = oracle_lengths(capture);
        let got: Vec<(u32, usize)> = seen.iter().map(|s| (s.len, s.data.len())).collect();
        assert_eq!(got, expected, "{}", capture.display());
        println!("{:>5} packets  {format}  {}", seen.len(), capture.display());
        total += seen.len();
    }
    println!("{total} packets in {} captures", files.len());
    // MANIFEST.md's summary line: "N real capture files ..., B bytes in total, F frames."
    let manifest = fs::read_to_string(corpus_dir().join("MANIFEST.md")).unwrap();
    let frames = manifest
        .split(" frames.")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
        .expect("MANIFEST.md states the frame total");
    assert_eq!(total, frames);
}

/// tcpdump's `-tt --time-stamp-precision=nano` timestamp per packet number.
fn tcpdump_timestamps(capture: &Path) -> BTreeMap<usize, (i64, u32)> {
    let text = fs::read_to_string(companion(capture, ".tcpdump.txt")).unwrap();
    let mut stamps = BTreeMap::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(number), Some(stamp)) = (fields.next(), fields.next()) else {
            continue;
        };
        let (Ok(number), Some((secs, fraction))) = (number.parse::<usize>(), stamp.split_once('.'))
        else {
            continue;
        };
        // tcpdump prints an invalid (>= 1 s) fraction verbatim, with more than 9 digits.
        if fraction.len() != 9 {
            continue;
        }
        stamps.insert(number, (secs.parse().unwrap(), fraction.parse().unwrap()));
    }
    stamps
}

#[test]
fn timestamps_match_tcpdump() {
    let Some(files) = corpus() else { return };
    let mut compared = 0;
    for capture in &files {
        let stamps = tcpdump_timestamps(capture);
        let (seen, _) = drain(CaptureReader::open(capture).unwrap());
        for (number, (secs, nanos)) in &stamps {
            let frame = &seen[number - 1];
            assert_eq!(
                (frame.secs, frame.nanos),
                (*secs, *nanos),
                "{} packet {number}",
                capture.display()
            );
            compared += 1;
        }
    }
    // These cover big-endian nanosecond pcap, big-endian pcap, and pcapng with µs and ns
    // interfaces; each must have been compared, not silently skipped.
    for name in [
        "pcapplusplus--nanosecs_big_endian.pcap",
        "tcpdump--pptp.pcap",
        "pcapng-test-generator--le-test010.pcapng",
        "zeek--pcapng-multi-interface.pcapng",
    ] {
        assert!(
            !tcpdump_timestamps(&corpus_dir().join(name)).is_empty(),
            "{name}"
        );
    }
    println!("{compared} timestamps equal tcpdump's");
    assert!(compared > 5000);
}

#[test]
fn invalid_nanosecond_fractions_carry_into_the_seconds() {
    let Some(_) = corpus() else { return };
    // tcpdump prints 1418145370.1000000000 and 1418145370.2147483648 for packets 2 and 3.
    let path = corpus_dir().join("tcpdump--timestamp_invalid_nano.pcap");
    let (seen, end) = drain(CaptureReader::open(&path).unwrap());
    end.unwrap();
    assert_eq!((seen[1].secs, seen[1].nanos), (1_418_145_371, 0));
    assert_eq!((seen[2].secs, seen[2].nanos), (1_418_145_372, 147_483_648));
}

/// Offsets where a record or block ends in a valid capture (and 0), computed independently of
/// the reader by walking the length fields.
fn record_boundaries(bytes: &[u8]) -> Vec<usize> {
    let u32_at = |at: usize, big: bool| {
        let raw: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
        if big {
            u32::from_be_bytes(raw)
        } else {
            u32::from_le_bytes(raw)
        }
    };
    let mut ends = vec![0];
    if bytes[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
        let mut at = 0;
        let mut big = false;
        while at < bytes.len() {
            if bytes[at..at + 4] == [0x0a, 0x0d, 0x0d, 0x0a] {
                big = bytes[at + 8..at + 12] == [0x1a, 0x2b, 0x3c, 0x4d];
            }
            at += u32_at(at + 4, big) as usize;
            ends.push(at);
        }
    } else {
        let big = bytes[..2] == [0xa1, 0xb2];
        let mut at = 24;
        ends.push(at);
        while at < bytes.len() {
            at += 16 + u32_at(at + 8, big) as usize;
            ends.push(at);
        }
    }
    assert_eq!(*ends.last().unwrap(), bytes.len());
    ends
}

/// Cuts `bytes` at `cut` and checks the reader yields exactly the complete records before it,
/// then a clean end on a record boundary or an error naming the cut record's offset.
fn check_cut(
    name: &str,
    bytes: &[u8],
    whole: &[Seen],
    packet_ends: &[usize],
    boundaries: &[usize],
    cut: usize,
) {
    let complete = packet_ends.iter().filter(|&&end| end <= cut).count();
    let outcome = read_bytes(name, bytes[..cut].to_vec());
    let (seen, end) = match outcome {
        Ok(read) => read,
        Err(open_error) => (Vec::new(), Err(open_error)),
    };
    assert_eq!(seen.len(), complete, "{name} cut at {cut}");
    assert_eq!(&seen[..], &whole[..complete], "{name} cut at {cut}");
    match end {
        Ok(()) => assert!(
            cut > 0 && boundaries.contains(&cut),
            "{name}: clean end at {cut}, not a record boundary"
        ),
        Err(error) => {
            assert!(
                cut == 0 || !boundaries.contains(&cut),
                "{name}: error at boundary {cut}: {error}"
            );
            let record_start = boundaries
                .iter()
                .copied()
                .filter(|&b| b < cut)
                .max()
                .unwrap_or(0);
            assert_eq!(
                error.offset, record_start as u64,
                "{name} cut at {cut}: {error}"
            );
            assert_eq!(error.file, name);
        }
    }
}

#[test]
fn truncation_anywhere_yields_the_complete_records_then_an_error_at_the_cut_record() {
    let Some(files) = corpus() else { return };
    let mut cuts = 0;
    for capture in &files {
        let bytes = fs::read(capture).unwrap();
        let name = capture.display().to_string();
        let boundaries = record_boundaries(&bytes);
        // Where each packet's record ends: the reader's offset after yielding it.
        let mut reader =
            CaptureReader::from_reader(name.clone(), Box::new(Cursor::new(bytes.clone()))).unwrap();
        let mut packet_ends = Vec::new();
        let mut whole = Vec::new();
        while let Some(frame) = reader.next_frame().unwrap() {
            whole.push(Seen {
                len: frame.len,
                data: frame.data.to_vec(),
                secs: frame.ts.secs,
                nanos: frame.ts.nanos,
                linktype: frame.linktype.0,
            });
            packet_ends.push(reader.offset() as usize);
        }
        assert!(
            packet_ends.iter().all(|end| boundaries.contains(end)),
            "{name}"
        );
        let offsets: Vec<usize> = if bytes.len() < 64 * 1024 {
            (0..bytes.len()).collect()
        } else {
            // A few hundred spread offsets, plus each side of the first boundaries.
            let mut sample: Vec<usize> = (0..300u64)
                .map(|i| (i.wrapping_mul(2_654_435_761) % bytes.len() as u64) as usize)
                .collect();
            for &b in boundaries.iter().take(20) {
                sample.extend([b.saturating_sub(1), b, b + 1]);
            }
            sample.retain(|&c| c < bytes.len());
            sample
        };
        for &cut in &offsets {
            check_cut(&name, &bytes, &whole, &packet_ends, &boundaries, cut);
        }
        cuts += offsets.len();
    }
    println!("{cuts} truncated reads checked");
}

/// A source that hands out between 1 and 7 bytes per read, like a slow pipe.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    reads: usize,
}

impl Read for Trickle {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        let n = (self.reads % 7 + 1)
            .min(out.len())
            .min(self.data.len() - self.at);
        out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn streamed_and_gzipped_input_reads_like_the_file() {
    let Some(_) = corpus() else { return };
    for name in [
        "zeek--tunnels_Teredo.pcap",
        "pcapplusplus--many_interfaces-1.pcapng",
    ] {
        let path = corpus_dir().join(name);
        let bytes = fs::read(&path).unwrap();
        let (from_file, end) = drain(CaptureReader::open(&path).unwrap());
        end.unwrap();
        assert!(!from_file.is_empty());

        let trickle = Trickle {
            data: bytes.clone(),
            at: 0,
            reads: 0,
        };
        let (streamed, end) =
            drain(CaptureReader::from_reader("<stdin>", Box::new(trickle)).unwrap());
        end.unwrap();
        assert_eq!(streamed, from_file, "{name} streamed");

        // Two gzip members, split mid-record: MultiGzDecoder must read past the first.
        let mut gzipped = Vec::new();
        for part in [&bytes[..1000], &bytes[1000..]] {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
            encoder.write_all(part).unwrap();
            gzipped.extend(encoder.finish().unwrap());
        }
        assert_eq!(&gzipped[..2], &[0x1f, 0x8b]);
        let (decompressed, end) = read_bytes("capture.gz", gzipped.clone()).unwrap();
        end.unwrap();
        assert_eq!(decompressed, from_file, "{name} gzipped");

        // Cut compressed stream: the complete records come out, then an error.
        let cut = gzipped.len() - 50;
        let (partial, end) = read_bytes("capture.gz", gzipped[..cut].to_vec()).unwrap();
        assert!(end.is_err(), "{name}");
        assert_eq!(&partial[..], &from_file[..partial.len()]);
    }
}

#[test]
fn sections_in_both_byte_orders_concatenated_read_as_one_stream() {
    let Some(_) = corpus() else { return };
    let little = corpus_dir().join("pcapng-test-generator--le-test010.pcapng");
    let big = corpus_dir().join("pcapng-test-generator--be-test201.pcapng");
    let (first, _) = drain(CaptureReader::open(&little).unwrap());
    let (second, _) = drain(CaptureReader::open(&big).unwrap());
    let mut both = fs::read(&little).unwrap();
    both.extend(fs::read(&big).unwrap());
    let (seen, end) = read_bytes("both.pcapng", both).unwrap();
    end.unwrap();
    assert_eq!(seen.len(), 8);
    assert_eq!(seen, [first, second].concat());
    // test201 mixes Ethernet and BSD loopback interfaces across its three sections.
    assert_eq!(
        seen.iter().map(|s| s.linktype).collect::<Vec<_>>(),
        [1, 1, 1, 1, 1, 1, 1, 0]
    );
}

/// tshark's outer transport (oracle column 8) for each packet.
fn oracle_outer_transport(capture: &Path) -> Vec<String> {
    let text = fs::read_to_string(companion(capture, ".oracle.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|c| c[15] != "-")
        .map(|c| c[7].to_owned())
        .collect()
}

#[test]
fn udp_filter_keeps_exactly_the_outer_udp_frames() {
    let Some(_) = corpus() else { return };
    let path = corpus_dir().join("zeek--tunnels_Teredo.pcap");
    let expected: Vec<bool> = oracle_outer_transport(&path)
        .iter()
        .map(|t| t == "udp")
        .collect();
    let mut filter = BpfFilter::new("udp").unwrap();
    let mut reader = CaptureReader::open(&path).unwrap();
    let mut verdicts = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        verdicts.push(filter.matches(&frame).unwrap());
    }
    assert_eq!(verdicts, expected);
    let kept = verdicts.iter().filter(|&&v| v).count();
    assert!(
        kept > 0 && kept < verdicts.len(),
        "{kept} of {}",
        verdicts.len()
    );
    println!("udp filter kept {kept} of {}", verdicts.len());
}

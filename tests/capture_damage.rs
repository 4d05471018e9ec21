//! Hand-built damaged and unusual inputs: every one ends with an error naming the file and the
//! offset of the bad record, after the good records before it, without allocating what a
//! header merely claims.

// Test code may unwrap, index and panic (clippy.toml allows it inside #[test] functions; these
// files' helper functions are test code too).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portnote::capture::{CaptureErrorKind, CaptureFormat, CaptureReader};
use std::io::{self, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A source that records the largest buffer it was asked to fill: the reader's buffer size.
struct Probe {
    data: Vec<u8>,
    at: usize,
    largest_request: Arc<AtomicUsize>,
}

impl Read for Probe {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.largest_request.fetch_max(out.len(), Ordering::Relaxed);
        let n = out.len().min(self.data.len() - self.at);
        out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn probe(data: Vec<u8>) -> (Box<dyn Read + Send>, Arc<AtomicUsize>) {
    let largest_request = Arc::new(AtomicUsize::new(0));
    let source = Probe {
        data,
        at: 0,
        largest_request: Arc::clone(&largest_request),
    };
    (Box::new(source), largest_request)
}

/// A little-endian microsecond pcap header with the given snaplen, Ethernet.
fn pcap_header(snaplen: u32) -> Vec<u8> {
    let mut bytes = vec![
        0xd4, 0xc3, 0xb2, 0xa1, // magic, little-endian microseconds
        0x02, 0x00, 0x04, 0x00, // version 2.4
        0, 0, 0, 0, // thiszone
        0, 0, 0, 0, // sigfigs
    ];
    bytes.extend_from_slice(&snaplen.to_le_bytes()); // snaplen
    bytes.extend_from_slice(&[0x01, 0x00, 0x00, 0x00]); // linktype 1, Ethernet
    bytes
}

/// A pcap record header: ts 1 s + 2 µs, then the lengths, then `caplen` bytes unless `data`.
fn pcap_record(caplen: u32, orig_len: u32, data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![1, 0, 0, 0, 2, 0, 0, 0]; // ts_sec 1, ts_usec 2
    bytes.extend_from_slice(&caplen.to_le_bytes());
    bytes.extend_from_slice(&orig_len.to_le_bytes());
    bytes.extend_from_slice(data);
    bytes
}

#[test]
fn record_announcing_2_gib_is_refused_without_allocating_it() {
    let mut file = pcap_header(0x8000_0000); // snaplen 2 GiB
    file.extend(pcap_record(4, 4, &[1, 2, 3, 4])); // a good record: offset 24..44
    file.extend(pcap_record(0x8000_0000, 0x8000_0000, &[0; 100])); // claims 2 GiB at 44
    let (source, largest_request) = probe(file);
    let mut reader = CaptureReader::from_reader("huge.pcap", source).unwrap();
    assert_eq!(reader.next_frame().unwrap().unwrap().data, &[1, 2, 3, 4]);
    let error = reader.next_frame().unwrap_err();
    assert_eq!(error.offset, 44);
    assert!(matches!(
        error.kind,
        CaptureErrorKind::CaplenTooLarge {
            caplen: 0x8000_0000,
            ..
        }
    ));
    assert!(largest_request.load(Ordering::Relaxed) <= 256 * 1024);
    assert_eq!(
        error.to_string(),
        format!("huge.pcap: at byte offset 44: {}", error.kind)
    );
    assert!(
        reader.next_frame().unwrap().is_none(),
        "the stream is over after an error"
    );
}

#[test]
fn record_claiming_more_than_arrives_grows_the_buffer_only_with_the_data() {
    // 200 MiB is below the limit a 256 MiB snaplen allows, so it is read for, but 300 KiB arrive.
    let mut file = pcap_header(256 * 1024 * 1024);
    file.extend(pcap_record(
        200 * 1024 * 1024,
        200 * 1024 * 1024,
        &vec![7; 300 * 1024],
    ));
    let (source, largest_request) = probe(file);
    let mut reader = CaptureReader::from_reader("short.pcap", source).unwrap();
    let error = reader.next_frame().unwrap_err();
    assert_eq!(error.offset, 24);
    assert!(
        matches!(error.kind, CaptureErrorKind::Truncated { .. }),
        "{error}"
    );
    assert!(largest_request.load(Ordering::Relaxed) <= 1024 * 1024);
}

#[test]
fn caplen_over_snaplen_is_accepted_up_to_256_kib() {
    // As tshark and libpcap do (tcpdump's dccp_options-oobr.pcap has caplen 166, snaplen 70).
    let mut file = pcap_header(70);
    file.extend(pcap_record(166, 166, &[0xab; 166]));
    file.extend(pcap_record(256 * 1024 + 1, 256 * 1024 + 1, &[])); // at 24 + 16 + 166 = 206
    let mut reader =
        CaptureReader::from_reader("big.pcap", Box::new(io::Cursor::new(file))).unwrap();
    assert_eq!(reader.next_frame().unwrap().unwrap().data.len(), 166);
    let error = reader.next_frame().unwrap_err();
    assert_eq!(error.offset, 206);
    assert!(matches!(
        error.kind,
        CaptureErrorKind::CaplenTooLarge {
            caplen: 262_145,
            limit: 262_144
        }
    ));
}

/// A little-endian Section Header Block (28 bytes) and an Ethernet IDB with `options`.
fn pcapng_start(options: &[u8]) -> Vec<u8> {
    let mut bytes = vec![
        0x0a, 0x0d, 0x0d, 0x0a, // section header block
        0x1c, 0x00, 0x00, 0x00, // total length 28
        0x4d, 0x3c, 0x2b, 0x1a, // byte-order magic, little-endian
        0x01, 0x00, 0x00, 0x00, // version 1.0
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // section length unknown
        0x1c, 0x00, 0x00, 0x00, // total length 28
    ];
    let idb_len = (20 + options.len()) as u32;
    bytes.extend_from_slice(&[0x01, 0x00, 0x00, 0x00]); // interface description block
    bytes.extend_from_slice(&idb_len.to_le_bytes());
    bytes.extend_from_slice(&[0x01, 0x00, 0x00, 0x00]); // linktype 1, reserved
    bytes.extend_from_slice(&[0x00, 0x00, 0x00, 0x00]); // snaplen 0
    bytes.extend_from_slice(options);
    bytes.extend_from_slice(&idb_len.to_le_bytes());
    bytes
}

/// An EPB on interface 0 with the given 64-bit tick count and 4 data bytes.
fn epb(ticks: u64) -> Vec<u8> {
    let mut bytes = vec![0x06, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00]; // EPB, length 36
    bytes.extend_from_slice(&[0, 0, 0, 0]); // interface 0
    bytes.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes()); // timestamp high
    bytes.extend_from_slice(&(ticks as u32).to_le_bytes()); // timestamp low
    bytes.extend_from_slice(&[4, 0, 0, 0, 4, 0, 0, 0]); // caplen 4, orig len 4
    bytes.extend_from_slice(&[9, 8, 7, 6]); // data
    bytes.extend_from_slice(&[0x24, 0x00, 0x00, 0x00]); // total length 36
    bytes
}

#[test]
fn block_length_of_4_gib_is_an_error_at_that_block() {
    let mut file = pcapng_start(&[]); // SHB 0..28, IDB 28..48
    file.extend(epb(0)); // 48..84
    file.extend([0x06, 0, 0, 0, 0xfc, 0xff, 0xff, 0xff, 0, 0, 0, 0]); // EPB claiming 4 GiB - 4
    let (source, largest_request) = probe(file);
    let mut reader = CaptureReader::from_reader("huge.pcapng", source).unwrap();
    assert_eq!(reader.format(), CaptureFormat::Pcapng);
    assert!(reader.next_frame().unwrap().is_some());
    let error = reader.next_frame().unwrap_err();
    assert_eq!(error.offset, 84);
    assert!(matches!(
        error.kind,
        CaptureErrorKind::BadBlockLength {
            length: 0xFFFF_FFFC,
            ..
        }
    ));
    assert!(largest_request.load(Ordering::Relaxed) <= 256 * 1024);
}

#[test]
fn power_of_two_resolution_and_offset() {
    let options = [
        0x09, 0x00, 0x01, 0x00, // if_tsresol, length 1
        0x94, 0x00, 0x00, 0x00, // 0x80 | 20: 2^-20 s ticks, padding
        0x0e, 0x00, 0x08, 0x00, // if_tsoffset, length 8
        0xe8, 0x03, 0, 0, 0, 0, 0, 0, // 1000 seconds
        0x00, 0x00, 0x00, 0x00, // opt_endofopt
    ];
    let mut file = pcapng_start(&options);
    file.extend(epb(5 * (1 << 20) + (1 << 18))); // 5.25 s in 2^-20 s ticks
    let mut reader =
        CaptureReader::from_reader("pow2.pcapng", Box::new(io::Cursor::new(file))).unwrap();
    let frame = reader.next_frame().unwrap().unwrap();
    // 2^20 = 1048576 ticks per second needs 7 decimal digits to show one tick.
    assert_eq!(
        (frame.ts.secs, frame.ts.nanos, frame.ts.digits),
        (1005, 250_000_000, 7)
    );
    assert_eq!(frame.data, &[9, 8, 7, 6]);
    assert!(reader.next_frame().unwrap().is_none());
    assert_eq!(reader.records(), 1);
}

#[test]
fn packet_on_an_undefined_interface_ends_the_stream_there() {
    let mut file = pcapng_start(&[]);
    file.extend(epb(0)); // 48..84
    let mut bad = epb(0);
    bad[8] = 3; // interface 3: only interface 0 exists
    file.extend(bad); // 84..120
    let mut reader =
        CaptureReader::from_reader("iface.pcapng", Box::new(io::Cursor::new(file))).unwrap();
    assert!(reader.next_frame().unwrap().is_some());
    let error = reader.next_frame().unwrap_err();
    assert_eq!(error.offset, 84);
    assert!(matches!(
        error.kind,
        CaptureErrorKind::UndefinedInterface {
            interface: 3,
            defined: 1
        }
    ));
}

#[test]
fn inputs_that_are_not_captures_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let empty = write("empty.pcap", b"");
    let text = write("notes.txt", b"hello, this is text\n");
    let random = write(
        "random.bin",
        &[0x5e, 0x11, 0x9a, 0x03, 0xc7, 0x42, 0x00, 0xfe],
    );
    let tiny = write("tiny.pcap", &[0xd4, 0xc3]);
    let header_only = write("header.pcap", &pcap_header(65535)[..20]);
    let missing = dir.path().join("missing.pcap");

    let error_of = |path: &std::path::Path| CaptureReader::open(path).unwrap_err();
    let error = error_of(&empty);
    assert!(matches!(error.kind, CaptureErrorKind::Empty));
    assert_eq!(
        error.to_string(),
        format!("{}: empty file", empty.display()),
        "an error about the whole file names no offset"
    );
    let error = error_of(&text);
    assert!(matches!(
        error.kind,
        CaptureErrorKind::UnknownMagic {
            magic: [b'h', b'e', b'l', b'l']
        }
    ));
    assert!(
        error.to_string().contains("not a pcap or pcapng file"),
        "{error}"
    );
    assert!(matches!(
        error_of(&random).kind,
        CaptureErrorKind::UnknownMagic { .. }
    ));
    assert!(matches!(
        error_of(&tiny).kind,
        CaptureErrorKind::TooShort { len: 2 }
    ));
    let error = error_of(&header_only);
    assert!(matches!(
        error.kind,
        CaptureErrorKind::Truncated {
            needed: 24,
            available: 20,
            ..
        }
    ));
    assert!(
        error.to_string().contains(": at byte offset 0: "),
        "damage keeps its offset: {error}"
    );
    let error = error_of(&missing);
    assert!(
        matches!(&error.kind, CaptureErrorKind::Open(e) if e.kind() == io::ErrorKind::NotFound)
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{}: cannot open: No such file or directory (os error 2)",
            missing.display()
        )
    );
    assert!(matches!(
        error_of(dir.path()).kind,
        CaptureErrorKind::IsDirectory
    ));
}

#[test]
fn gzip_that_is_not_a_capture_or_is_corrupt_is_an_error() {
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(b"plain text inside gzip").unwrap();
    let gzipped = encoder.finish().unwrap();
    let error = CaptureReader::from_reader("text.gz", Box::new(io::Cursor::new(gzipped.clone())))
        .unwrap_err();
    assert!(matches!(
        error.kind,
        CaptureErrorKind::UnknownMagic {
            magic: [b'p', b'l', b'a', b'i']
        }
    ));

    let mut corrupt = gzipped;
    corrupt[3] = 0xff; // reserved flag bits set: an invalid gzip header
    let error =
        CaptureReader::from_reader("bad.gz", Box::new(io::Cursor::new(corrupt))).unwrap_err();
    assert!(matches!(error.kind, CaptureErrorKind::Read(_)), "{error}");
}

#[test]
fn bad_trailing_length_and_bad_section_header_are_errors_at_their_offsets() {
    let mut file = pcapng_start(&[]);
    let mut bad = epb(0);
    bad[32] = 0x28; // trailing total length 40 instead of 36
    file.extend(bad);
    let mut reader =
        CaptureReader::from_reader("trail.pcapng", Box::new(io::Cursor::new(file))).unwrap();
    let error = reader.next_frame().unwrap_err();
    assert_eq!(error.offset, 48);
    assert!(matches!(
        error.kind,
        CaptureErrorKind::BlockLengthMismatch {
            leading: 36,
            trailing: 40
        }
    ));

    let mut file = pcapng_start(&[]);
    file[8] = 0x00; // byte-order magic damaged in the very first block
    let error =
        CaptureReader::from_reader("bom.pcapng", Box::new(io::Cursor::new(file))).unwrap_err();
    assert_eq!(error.offset, 0);
    assert!(matches!(
        error.kind,
        CaptureErrorKind::BadByteOrderMagic { .. }
    ));
}

/// Reads `bytes` to the end; checks what holds for any input whatsoever.
fn read_anything(bytes: Vec<u8>) {
    let len = bytes.len() as u64;
    let mut reader = match CaptureReader::from_reader("any", Box::new(io::Cursor::new(bytes))) {
        Ok(reader) => reader,
        Err(error) => {
            assert!(error.offset <= len);
            return;
        }
    };
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => assert!(frame.data.len() as u64 <= len),
            Ok(None) => break,
            Err(error) => {
                assert!(error.offset < len, "{error}");
                assert!(reader.next_frame().unwrap().is_none());
                break;
            }
        }
    }
    assert!(reader.offset() <= len);
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const MAGICS: [[u8; 4]; 5] = [
        [0xd4, 0xc3, 0xb2, 0xa1], // pcap, little-endian microseconds
        [0xa1, 0xb2, 0xc3, 0xd4], // pcap, big-endian microseconds
        [0x4d, 0x3c, 0xb2, 0xa1], // pcap, little-endian nanoseconds
        [0x0a, 0x0d, 0x0d, 0x0a], // pcapng section header
        [0x1f, 0x8b, 0x08, 0x00], // gzip
    ];

    proptest! {
        #[test]
        fn arbitrary_bytes_after_a_magic_never_panic(
            magic in 0..MAGICS.len(),
            body in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let mut bytes = MAGICS[magic].to_vec();
            bytes.extend(body);
            read_anything(bytes);
        }

        #[test]
        fn corrupted_valid_captures_never_panic(
            pcapng in any::<bool>(),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        ) {
            let mut bytes = if pcapng {
                let options = [
                    0x09, 0x00, 0x01, 0x00, 0x89, 0x00, 0x00, 0x00, // if_tsresol 2^-9
                    0x00, 0x00, 0x00, 0x00, // opt_endofopt
                ];
                let mut file = pcapng_start(&options);
                for ticks in [0, 1 << 40, u64::MAX] {
                    file.extend(epb(ticks));
                }
                file
            } else {
                let mut file = pcap_header(96);
                for len in [0u8, 1, 7, 96] {
                    file.extend(pcap_record(u32::from(len), 1500, &vec![len; usize::from(len)]));
                }
                file
            };
            for (at, value) in flips {
                let index = at % bytes.len();
                bytes[index] = value;
            }
            read_anything(bytes);
        }
    }
}

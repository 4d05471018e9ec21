//! Property tests: captures built from generated records read back as exactly those records,
//! whatever the byte order, timestamp resolution, record sizes (crossing the reader's 256 KiB
//! chunks) and the sizes of the reads the source answers with.

use portnote::capture::{CaptureFormat, CaptureReader};
use proptest::prelude::*;
use std::io::{self, Read};

/// A source answering each read with at most `step` bytes.
struct Chunked {
    data: Vec<u8>,
    at: usize,
    step: usize,
}

impl Read for Chunked {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(out.len()).min(self.data.len() - self.at);
        out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[derive(Debug, Clone)]
struct Record {
    secs: u32,
    /// Sub-second units: µs or ns for pcap, ticks for pcapng (below one second).
    fraction: u32,
    data: Vec<u8>,
    /// Bytes on the wire beyond those captured.
    uncaptured: u32,
}

fn record(max_len: usize) -> impl Strategy<Value = Record> {
    (
        any::<u32>(),
        0u32..1_000_000_000,
        prop_oneof![
            3 => proptest::collection::vec(any::<u8>(), 0..200),
            2 => (1usize..120_000).prop_map(|n| vec![0x5a; n]),
        ],
        0u32..70_000,
    )
        .prop_map(move |(secs, fraction, mut data, uncaptured)| {
            data.truncate(max_len);
            Record {
                secs,
                fraction,
                data,
                uncaptured,
            }
        })
}

/// What is compared of a frame: seconds, nanoseconds, wire length, bytes, link type.
type FrameFields = (i64, u32, u32, Vec<u8>, u32);

/// Reads everything, with reads of at most `step` bytes, in this thread or (`read_ahead`) with
/// the reads in a thread of their own.
fn read_all(bytes: Vec<u8>, step: usize, read_ahead: bool) -> (CaptureFormat, Vec<FrameFields>) {
    let source = Chunked {
        data: bytes,
        at: 0,
        step,
    };
    let mut reader = CaptureReader::from_reader("generated", Box::new(source)).unwrap();
    if read_ahead {
        reader.read_ahead().unwrap();
    }
    let mut frames = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        frames.push((
            frame.ts.secs,
            frame.ts.nanos,
            frame.len,
            frame.data.to_vec(),
            frame.linktype.0,
        ));
    }
    (reader.format(), frames)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn pcap_records_read_back_exactly(
        big_endian in any::<bool>(),
        nanos in any::<bool>(),
        linktype in 0u32..300,
        records in proptest::collection::vec(record(120_000), 0..12),
        step in prop_oneof![Just(usize::MAX), 1usize..5000],
    ) {
        let u32_bytes = |v: u32| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        let u16_bytes = |v: u16| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let per_second = if nanos { 1_000_000_000 } else { 1_000_000 };
        let mut file = Vec::new();
        file.extend(u32_bytes(magic));
        file.extend(u16_bytes(2));
        file.extend(u16_bytes(4));
        file.extend([0; 8]); // thiszone, sigfigs
        file.extend(u32_bytes(65535)); // snaplen: records may exceed it, as in real files
        file.extend(u32_bytes(linktype));
        for r in &records {
            file.extend(u32_bytes(r.secs));
            file.extend(u32_bytes(r.fraction % per_second));
            file.extend(u32_bytes(r.data.len() as u32));
            file.extend(u32_bytes(r.data.len() as u32 + r.uncaptured));
            file.extend(&r.data);
        }
        let (format, frames) = read_all(file.clone(), step, false);
        prop_assert_eq!(format, CaptureFormat::Pcap { big_endian, nanos });
        // Reading ahead (records up to 120 kB cross its 64 KiB headroom too) changes nothing.
        prop_assert_eq!(&read_all(file, step, true).1, &frames);
        let expected: Vec<_> = records
            .iter()
            .map(|r| {
                let nanos_in = if nanos { r.fraction % per_second } else { (r.fraction % per_second) * 1000 };
                (i64::from(r.secs), nanos_in, r.data.len() as u32 + r.uncaptured, r.data.clone(), linktype)
            })
            .collect();
        prop_assert_eq!(frames, expected);
    }

    #[test]
    fn pcapng_sections_interfaces_and_resolutions_read_back_exactly(
        sections in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec((0u16..300, 0u8..10, any::<bool>()), 1..4),
             proptest::collection::vec((record(120_000), any::<prop::sample::Index>()), 0..6)),
            1..4,
        ),
        step in prop_oneof![Just(usize::MAX), 1usize..5000],
    ) {
        let mut file = Vec::new();
        let mut expected = Vec::new();
        for (big_endian, interfaces, packets) in &sections {
            let u32_bytes = |v: u32| if *big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
            let u16_bytes = |v: u16| if *big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
            // Section Header Block, no options.
            file.extend(u32_bytes(0x0A0D_0D0A));
            file.extend(u32_bytes(28));
            file.extend(u32_bytes(0x1A2B_3C4D));
            file.extend(u16_bytes(1));
            file.extend(u16_bytes(0));
            file.extend([0xff; 8]);
            file.extend(u32_bytes(28));
            // Interface Description Blocks with if_tsresol = 10^-exp or 2^-(exp*3).
            let mut resolutions = Vec::new();
            for &(linktype, exponent, power_of_two) in interfaces {
                let (tsresol, ticks_per_second): (u8, u64) = if power_of_two {
                    (0x80 | (exponent * 3), 1 << (exponent * 3))
                } else {
                    (exponent, 10u64.pow(u32::from(exponent)))
                };
                resolutions.push((linktype, ticks_per_second));
                file.extend(u32_bytes(1));
                file.extend(u32_bytes(32));
                file.extend(u16_bytes(linktype));
                file.extend(u16_bytes(0));
                file.extend(u32_bytes(0)); // snaplen 0: no limit
                file.extend(u16_bytes(9)); // if_tsresol
                file.extend(u16_bytes(1));
                file.extend([tsresol, 0, 0, 0]);
                file.extend([0; 4]); // opt_endofopt
                file.extend(u32_bytes(32));
            }
            for (r, which) in packets {
                let interface = which.index(resolutions.len());
                let (linktype, ticks_per_second) = resolutions[interface];
                let sub = u64::from(r.fraction) % ticks_per_second;
                let ticks = u64::from(r.secs) * ticks_per_second + sub;
                let padded = r.data.len().next_multiple_of(4);
                let total = (32 + padded) as u32;
                file.extend(u32_bytes(6));
                file.extend(u32_bytes(total));
                file.extend(u32_bytes(interface as u32));
                file.extend(u32_bytes((ticks >> 32) as u32));
                file.extend(u32_bytes(ticks as u32));
                file.extend(u32_bytes(r.data.len() as u32));
                file.extend(u32_bytes(r.data.len() as u32 + r.uncaptured));
                file.extend(&r.data);
                file.extend(vec![0; padded - r.data.len()]);
                file.extend(u32_bytes(total));
                let nanos = (u128::from(sub) * 1_000_000_000 / u128::from(ticks_per_second)) as u32;
                expected.push((i64::from(r.secs), nanos, r.data.len() as u32 + r.uncaptured, r.data.clone(), u32::from(linktype)));
            }
        }
        let (format, frames) = read_all(file.clone(), step, false);
        prop_assert_eq!(format, CaptureFormat::Pcapng);
        prop_assert_eq!(&read_all(file, step, true).1, &frames);
        prop_assert_eq!(frames, expected);
    }
}

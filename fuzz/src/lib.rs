//! What each fuzz target does with its input, one function per target, kept apart from the
//! libFuzzer entry points so that the main crate's `tests/fuzz_corpus.rs` runs exactly the same
//! code over every committed seed (it includes this file with `#[path]`).
//!
//! Each function feeds the input to portnote's own entry point (the frame decoder, the capture
//! reader, a registry loader) and then checks the promises that entry point makes, so a fuzzer
//! finds wrong answers as well as panics:
//!
//! - a decoded frame has ports or a reason for having none, never both, never neither;
//! - a capture reader only moves forward, never past the end of its input; its error names the
//!   input and an offset inside it, and after an error the stream stays ended;
//! - a registry loader either gives rows, each named row's first slot then looking up as
//!   assigned, or an error naming the file.
//!
//! Nothing here reads files or the network.

use portnote::capture::{CaptureError, CaptureReader};
use portnote::decode::{decode_frame, DecodeOptions, FragmentTracker, PacketInfo};
use portnote::linktype::LinkType;
use portnote::registry::RegistryFormat;
use portnote::registry::{self, Class, Registry, RegistryError, Source, Status};
use portnote::transport::Transport;
use std::io::Cursor;

/// The name readers and loaders are given; their errors must carry it.
pub const INPUT_NAME: &str = "fuzz-input";

/// `decode_frame` inputs start with this many bytes of parameters: the link type (u16,
/// little-endian) and an option byte (bit 0: `--no-decap`). The frame follows.
pub const DECODE_PREFIX_LEN: usize = 3;

/// The four pcap magic numbers as they appear in a file: microsecond and nanosecond
/// resolution, each little- and big-endian.
pub const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
];

/// A pcapng Section Header Block's type, the first bytes of every pcapng file.
pub const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Fragment memory of the readers' decode step: small, so that fuzz inputs reach eviction.
const FRAGMENT_CAPACITY: usize = 8;
const FRAGMENT_TIMEOUT_NANOS: i64 = 60_000_000_000;

/// The `decode_frame` target: link type and options from the prefix, then one frame.
/// `None` when the input is shorter than the prefix.
pub fn decode(input: &[u8]) -> Option<PacketInfo> {
    let (prefix, frame) = input.split_at_checked(DECODE_PREFIX_LEN)?;
    let &[linktype_low, linktype_high, flags] = prefix else {
        return None;
    };
    let linktype = LinkType(u32::from(u16::from_le_bytes([linktype_low, linktype_high])));
    let options = DecodeOptions {
        no_decap: flags & 1 != 0,
    };
    let info = decode_frame(linktype, frame, &options);
    check_packet(&info);
    Some(info)
}

/// The prefix [`decode`] expects before a frame of `linktype` (options off).
pub fn decode_prefix(linktype: LinkType) -> [u8; DECODE_PREFIX_LEN] {
    // Link types beyond 16 bits are all unknown to the decoder; seeds never carry them.
    let [low, high, ..] = linktype.0.to_le_bytes();
    [low, high, 0]
}

/// What reading a whole capture gave.
#[derive(Debug)]
pub struct ReadOutcome {
    pub frames: u64,
    /// The error the stream ended with, if it did not end cleanly.
    pub error: Option<CaptureError>,
}

/// The `pcap_reader` target. `None` unless the input starts with a pcap magic number, so the
/// fuzzer spends its time inside the pcap parser rather than in format detection.
pub fn read_pcap(input: &[u8]) -> Option<ReadOutcome> {
    let magic = input.get(..4)?;
    PCAP_MAGICS
        .iter()
        .any(|m| m == magic)
        .then(|| read_capture(input))
}

/// The `pcapng_reader` target. `None` unless the input starts with a Section Header Block.
pub fn read_pcapng(input: &[u8]) -> Option<ReadOutcome> {
    (input.get(..4)? == PCAPNG_MAGIC).then(|| read_capture(input))
}

/// Reads every frame and decodes it as `annotate` would (with fragment tracking), checking
/// the reader's promises along the way.
pub fn read_capture(input: &[u8]) -> ReadOutcome {
    let input_len = input.len() as u64;
    let source = Box::new(Cursor::new(input.to_vec()));
    let mut reader = match CaptureReader::from_reader(INPUT_NAME, source) {
        Ok(reader) => reader,
        Err(error) => {
            check_capture_error(&error, input_len);
            return ReadOutcome {
                frames: 0,
                error: Some(error),
            };
        }
    };
    let mut fragments = FragmentTracker::new(FRAGMENT_CAPACITY, FRAGMENT_TIMEOUT_NANOS);
    let mut frames = 0u64;
    let mut last_offset = 0u64;
    let error = loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                frames += 1;
                assert!(
                    frame.data.len() <= input.len(),
                    "frame larger than the input"
                );
                let mut info = decode_frame(frame.linktype, frame.data, &DecodeOptions::default());
                fragments.apply(frame.ts.saturating_nanos(), &mut info);
                check_packet(&info);
                std::hint::black_box(frame.ts.to_string());
            }
            Ok(None) => break None,
            Err(error) => break Some(error),
        }
        let offset = reader.offset();
        assert!(
            last_offset < offset && offset <= input_len,
            "reader moved from offset {last_offset} to {offset} in a {input_len}-byte input"
        );
        last_offset = offset;
    };
    if let Some(error) = &error {
        check_capture_error(error, input_len);
    }
    assert!(
        matches!(reader.next_frame(), Ok(None)),
        "an ended stream yielded more"
    );
    assert_eq!(reader.records(), frames);
    ReadOutcome { frames, error }
}

/// A decoded frame has ports, or a reason for having none: exactly one of them.
fn check_packet(info: &PacketInfo) {
    assert_eq!(
        info.ports.is_some(),
        info.reason.is_none(),
        "ports and reason disagree: {info:?}"
    );
    if let Some(reason) = info.reason {
        assert!(!reason.to_string().is_empty());
    }
    if let Some(version) = info.ip_version {
        assert!(version == 4 || version == 6, "ip_version {version}");
    }
    if let (Some(src), Some(dst)) = (info.src, info.dst) {
        assert_eq!(
            src.is_ipv4(),
            dst.is_ipv4(),
            "mixed address families: {info:?}"
        );
    }
}

/// A capture error names the input and an offset inside it, and says so in its message.
fn check_capture_error(error: &CaptureError, input_len: u64) {
    assert_eq!(error.file, INPUT_NAME);
    assert!(
        error.offset <= input_len,
        "error offset {} beyond the {input_len}-byte input: {error}",
        error.offset
    );
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{INPUT_NAME}: at byte offset {}: ", error.offset)),
        "{message}"
    );
}

/// The `registry_*` targets: parse `input` as a registry file of `format`, build the slot
/// tables from the rows, and check them. Bytes that are not UTF-8 are replaced (U+FFFD) as a
/// lossy read would: the loaders take text, and a file that is not UTF-8 is refused before
/// them, when it is read. Returns the number of rows, or the loader's error.
pub fn load_registry(format: RegistryFormat, input: &[u8]) -> Result<usize, RegistryError> {
    let text = String::from_utf8_lossy(input);
    let parsed = match registry::parse(&text, INPUT_NAME, Some(format)) {
        Ok(parsed) => parsed,
        Err(error) => {
            let message = error.to_string();
            assert!(message.starts_with(INPUT_NAME), "unnamed error: {message}");
            return Err(error);
        }
    };
    assert!(!parsed.entries.is_empty(), "Ok without rows");
    let rows = parsed.entries.len();
    let registry = Registry::build(parsed.entries, Source::File(INPUT_NAME.into()), parsed.date);
    check_registry(&registry);
    Ok(rows)
}

/// Every slot a named row covers looks up as assigned, with a service name (checked at each
/// named row's first and last port); every lookup's class is the port's RFC 6335 range.
fn check_registry(registry: &Registry) {
    for entry in registry.entries().iter().filter(|e| e.is_named()) {
        let (Some(transport), Some(ports)) = (entry.transport, entry.ports) else {
            continue;
        };
        for port in [ports.first, ports.last] {
            let info = registry.port(transport, port);
            assert_eq!(info.status, Status::Assigned, "{entry:?} covers {port}");
            assert!(info.service.is_some(), "{entry:?} covers {port}");
        }
    }
    for transport in [
        Transport::Tcp,
        Transport::Udp,
        Transport::Sctp,
        Transport::Dccp,
    ] {
        for port in [0, 1023, 1024, 49151, 49152, u16::MAX] {
            let info = registry.port(transport, port);
            assert_eq!(info.class, Class::of(port));
            assert_eq!(info.service.is_some(), info.status == Status::Assigned);
        }
    }
}

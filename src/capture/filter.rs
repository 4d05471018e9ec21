//! `-f EXPR` on capture files: tcpdump filter expressions with libpcap's offline-filter
//! semantics, via the `pcap` crate (`pcap_open_dead` + `pcap_compile` + `pcap_offline_filter`).
//!
//! A program is compiled per link type, once, when the first frame of that link type is seen
//! (pcapng files may mix link types). The expression is checked against Ethernet when the filter
//! is built, so a syntax error is reported before any input is read.
//!
//! Programs that test the wire length (`len`, `greater`, `less`) run in portnote's own
//! interpreter ([`super::bpf`]) instead of `BpfProgram::filter`, which can only pass the captured
//! length as the wire length and so would misjudge every truncated frame.
//!
//! One more difference from `tcpdump -r` has to be bridged by hand: for BSD loopback frames (NULL,
//! LOOP) libpcap only matches the address-family values of *every* BSD flavour when compiling
//! for a savefile; compiled for a "dead" handle it expects this host's `AF_INET6` (and, for
//! NULL, this host's byte order). So a loopback frame's family word is rewritten to this host's
//! convention before it is filtered (a macOS `AF_INET6` of 30 becomes Linux's 10, say).

use super::bpf::{self, Instruction};
use super::Frame;
use crate::linktype::LinkType;
use pcap::{BpfProgram, Capture, Linktype};
use std::collections::HashMap;
use std::fmt;

/// An expression libpcap could not compile for a link type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filter expression {expr:?} (link type {linktype}): {message}")]
pub struct FilterError {
    pub expr: String,
    pub linktype: LinkType,
    pub message: String,
}

/// A program compiled for one link type, and who runs it.
enum Compiled {
    /// libpcap's `pcap_offline_filter`.
    Libpcap(BpfProgram),
    /// Our interpreter, because the program reads the wire length.
    WireLength(Vec<Instruction>),
}

/// A compiled capture filter.
pub struct BpfFilter {
    expr: String,
    /// Per link type, its program or why there is none (compiled once either way).
    programs: HashMap<LinkType, Result<Compiled, FilterError>>,
    /// A loopback frame with its family word rewritten (reused between frames).
    scratch: Vec<u8>,
}

impl fmt::Debug for BpfFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BpfFilter")
            .field("expr", &self.expr)
            .field("compiled_for", &self.programs.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl BpfFilter {
    /// Compiles `expr` (tcpdump syntax) for Ethernet; an invalid expression is an error.
    pub fn new(expr: &str) -> Result<BpfFilter, FilterError> {
        let mut filter = BpfFilter {
            expr: expr.to_owned(),
            programs: HashMap::new(),
            scratch: Vec::new(),
        };
        let program = filter.compile(LinkType::ETHERNET)?;
        filter.programs.insert(LinkType::ETHERNET, Ok(program));
        Ok(filter)
    }

    /// The expression as given.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// Whether the frame passes the filter. An error if the expression cannot be compiled
    /// for this frame's link type (e.g. `ether host` on raw IP); the compiler is asked once
    /// per link type, later frames of it get the same error.
    ///
    /// libpcap is handed the captured bytes as both the captured and the wire length (the
    /// `pcap` crate's `BpfProgram::filter`), so `len`/`greater`/`less` compare the captured
    /// length; every other primitive sees exactly what tcpdump sees.
    pub fn matches(&mut self, frame: &Frame<'_>) -> Result<bool, FilterError> {
        if !self.programs.contains_key(&frame.linktype) {
            let program = self.compile(frame.linktype);
            self.programs.insert(frame.linktype, program);
        }
        let program = match self.programs.get(&frame.linktype) {
            Some(Ok(program)) => program,
            Some(Err(e)) => return Err(e.clone()),
            None => return Ok(false),
        };
        let data = match host_loopback_family(frame.linktype, frame.data) {
            Some(family) => {
                self.scratch.clear();
                self.scratch.extend_from_slice(&family);
                self.scratch
                    .extend_from_slice(frame.data.get(4..).unwrap_or_default());
                &self.scratch[..]
            }
            None => frame.data,
        };
        Ok(match program {
            Compiled::Libpcap(program) => program.filter(data),
            Compiled::WireLength(program) => bpf::run(program, data, frame.len) != 0,
        })
    }

    fn compile(&self, linktype: LinkType) -> Result<Compiled, FilterError> {
        let error = |message: String| FilterError {
            expr: self.expr.clone(),
            linktype,
            message,
        };
        let dlt = i32::try_from(dlt_of(linktype))
            .map_err(|_| error("link type out of libpcap's range".to_owned()))?;
        let dead = Capture::dead(Linktype(dlt)).map_err(|e| error(e.to_string()))?;
        let program = dead
            .compile(&self.expr, true)
            .map_err(|e| error(e.to_string()))?;
        let instructions: Option<Vec<Instruction>> = program
            .get_instructions()
            .iter()
            .map(|insn| Instruction::from_display(&insn.to_string()))
            .collect();
        let instructions =
            instructions.ok_or_else(|| error("unreadable compiled program".to_owned()))?;
        if instructions.iter().any(Instruction::reads_wire_length) {
            Ok(Compiled::WireLength(instructions))
        } else {
            Ok(Compiled::Libpcap(program))
        }
    }
}

/// This host's `AF_INET6`, the value libpcap's compiler uses for a non-savefile handle.
#[cfg(any(target_os = "macos", target_os = "ios"))]
const HOST_AF_INET6: u32 = 30;
#[cfg(any(target_os = "freebsd", target_os = "dragonfly"))]
const HOST_AF_INET6: u32 = 28;
#[cfg(any(target_os = "openbsd", target_os = "netbsd"))]
const HOST_AF_INET6: u32 = 24;
#[cfg(windows)]
const HOST_AF_INET6: u32 = 23;
#[cfg(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "openbsd",
    target_os = "netbsd",
    windows
)))]
const HOST_AF_INET6: u32 = 10;
const AF_INET: u32 = 2;
/// `AF_INET6` as the BSDs (24), FreeBSD (28), Darwin (30) and Linux (10) write it.
const ANY_AF_INET6: [u32; 4] = [24, 28, 30, 10];

/// For a loopback frame whose 4-byte address family is not in this host's convention, the
/// family word libpcap's dead-handle program expects; `None` to filter the frame as it is.
/// NULL stores the family in the writer's byte order, LOOP in network byte order.
fn host_loopback_family(linktype: LinkType, data: &[u8]) -> Option<[u8; 4]> {
    let word: [u8; 4] = data.get(..4)?.try_into().ok()?;
    let (little, big) = (u32::from_le_bytes(word), u32::from_be_bytes(word));
    // Families are small numbers: whichever reading is small is the writer's byte order.
    let family = if little < 256 { little } else { big };
    let host_family = if family == AF_INET {
        AF_INET
    } else if ANY_AF_INET6.contains(&family) {
        HOST_AF_INET6
    } else {
        return None;
    };
    let rewritten = match linktype {
        LinkType::NULL => host_family.to_ne_bytes(),
        LinkType::LOOP => host_family.to_be_bytes(),
        _ => return None,
    };
    (rewritten != word).then_some(rewritten)
}

/// The DLT_ value libpcap's filter compiler expects for a LINKTYPE_ value from a file.
/// They are equal except where historical DLT numbers differ between platforms, and
/// `pcap_open_dead` takes the DLT (libpcap's `linktype_to_dlt` is not exported).
fn dlt_of(linktype: LinkType) -> u32 {
    match linktype.0 {
        // LINKTYPE_RAW and the BSD raw-IP numbers all mean DLT_RAW, which is 12 on Linux.
        101 | 14 => 12,
        // LINKTYPE_ATM_RFC1483 is DLT_ATM_RFC1483 (11).
        100 => 11,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;

    fn frame(linktype: LinkType, data: &[u8]) -> Frame<'_> {
        Frame {
            ts: Timestamp::default(),
            len: data.len() as u32,
            linktype,
            data,
            origin: Default::default(),
        }
    }

    /// An IPv4 header carrying UDP (protocol 17), 10.0.0.1 -> 10.0.0.2, then ports 53 -> 1024.
    const IPV4_UDP: [u8; 28] = [
        0x45, 0x00, 0x00, 0x1c, // version 4, IHL 5, total length 28
        0x00, 0x00, 0x00, 0x00, // id, flags, fragment offset
        0x40, 0x11, 0x00, 0x00, // TTL 64, protocol 17 (UDP), checksum unchecked
        0x0a, 0x00, 0x00, 0x01, // source 10.0.0.1
        0x0a, 0x00, 0x00, 0x02, // destination 10.0.0.2
        0x00, 0x35, 0x04, 0x00, // UDP source port 53, destination port 1024
        0x00, 0x08, 0x00, 0x00, // UDP length 8, checksum 0
    ];

    #[test]
    fn same_expression_on_ethernet_and_raw_ip() {
        let mut ethernet = vec![
            0, 1, 2, 3, 4, 5, // destination MAC
            6, 7, 8, 9, 10, 11, // source MAC
            0x08, 0x00, // EtherType IPv4
        ];
        ethernet.extend_from_slice(&IPV4_UDP);
        let mut filter = BpfFilter::new("udp port 53").unwrap();
        assert!(filter
            .matches(&frame(LinkType::ETHERNET, &ethernet))
            .unwrap());
        assert!(filter.matches(&frame(LinkType::RAW, &IPV4_UDP)).unwrap());
        let mut tcp = IPV4_UDP;
        tcp[9] = 6; // protocol TCP
        assert!(!filter.matches(&frame(LinkType::RAW, &tcp)).unwrap());
    }

    #[test]
    fn loopback_frames_from_other_systems_match_like_tcpdump_r() {
        let mut filter = BpfFilter::new("ip6 and udp").unwrap();
        let mut ipv6_udp = vec![
            0x60, 0x00, 0x00, 0x00, // IPv6, traffic class 0, flow label 0
            0x00, 0x08, 0x11, 0x40, // payload length 8, next header 17 (UDP), hop limit 64
        ];
        ipv6_udp.extend_from_slice(&[0; 15]); // source ::1
        ipv6_udp.push(1);
        ipv6_udp.extend_from_slice(&[0; 15]); // destination ::1
        ipv6_udp.push(1);
        ipv6_udp.extend_from_slice(&[0x01, 0xbb, 0xc5, 0xce, 0x00, 0x08, 0x00, 0x00]); // UDP
        for family in [
            [30, 0, 0, 0], // NULL as macOS (little-endian) writes AF_INET6
            [0, 0, 0, 24], // NULL as a big-endian BSD writes AF_INET6
            [10, 0, 0, 0], // NULL as Linux writes AF_INET6
        ] {
            let frame_bytes = [&family[..], &ipv6_udp].concat();
            assert!(
                filter
                    .matches(&frame(LinkType::NULL, &frame_bytes))
                    .unwrap(),
                "{family:?}"
            );
        }
        let loop_frame = [&[0, 0, 0, 24][..], &ipv6_udp].concat(); // LOOP: OpenBSD AF_INET6
        assert!(filter.matches(&frame(LinkType::LOOP, &loop_frame)).unwrap());
        let unknown_family = [&[99, 0, 0, 0][..], &ipv6_udp].concat();
        assert!(!filter
            .matches(&frame(LinkType::NULL, &unknown_family))
            .unwrap());
    }

    #[test]
    fn length_primitives_see_the_wire_length_of_truncated_frames() {
        let mut filter = BpfFilter::new("greater 1000 and udp").unwrap();
        let mut snapshot = frame(LinkType::RAW, &IPV4_UDP);
        assert!(!filter.matches(&snapshot).unwrap());
        snapshot.len = 1400; // 28 of 1400 bytes captured
        assert!(filter.matches(&snapshot).unwrap());
    }

    /// One expression compiled once, run by libpcap and by our interpreter.
    type BothPrograms = (BpfProgram, Vec<Instruction>);

    fn compile_both(linktype: LinkType, expr: &str) -> Option<BothPrograms> {
        let dead = Capture::dead(Linktype(dlt_of(linktype) as i32)).ok()?;
        let program = dead.compile(expr, true).ok()?;
        let instructions = program
            .get_instructions()
            .iter()
            .map(|i| Instruction::from_display(&i.to_string()).unwrap())
            .collect();
        Some((program, instructions))
    }

    /// Our interpreter against libpcap's, on every frame of the shared corpus, for programs
    /// that exercise loads, indexed loads (IPv4 header length), ALU and jumps.
    #[test]
    fn interpreter_agrees_with_libpcap_on_the_corpus() {
        let dir = std::path::Path::new("../shared/captures/public");
        if !dir.is_dir() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "../shared missing"
            );
            eprintln!("notice: ../shared not found; interpreter comparison skipped");
            return;
        }
        let expressions = [
            "udp",
            "tcp port 80 or tcp port 443",
            "ip6 and udp dst port 53",
            "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
            "ip[6:2] & 0x1fff != 0 or ip[2:2] > 100",
            "vlan and (udp or sctp)",
            "ip proto 132 or ip6 proto 33",
            "(ip[0] & 0xf) * 4 + 8 < 40 and ip",
        ];
        let mut compared = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.to_string_lossy().into_owned();
            if name.ends_with(".tsv") || name.ends_with(".txt") || name.ends_with(".md") {
                continue;
            }
            let mut reader = crate::capture::CaptureReader::open(&path).unwrap();
            let mut compiled: HashMap<(LinkType, usize), Option<BothPrograms>> = HashMap::new();
            while let Some(frame) = reader.next_frame().unwrap() {
                for (index, expr) in expressions.iter().enumerate() {
                    let entry = compiled
                        .entry((frame.linktype, index))
                        .or_insert_with(|| compile_both(frame.linktype, expr));
                    // None: not expressible for this link type.
                    let Some((program, instructions)) = entry else {
                        continue;
                    };
                    let ours = bpf::run(instructions, frame.data, frame.data.len() as u32) != 0;
                    assert_eq!(ours, program.filter(frame.data), "{name} {expr}");
                    compared += 1;
                }
            }
        }
        assert!(compared > 40_000, "{compared}");
    }

    #[test]
    fn invalid_expression_is_an_error() {
        let error = BpfFilter::new("udp port").unwrap_err();
        assert_eq!(error.expr, "udp port");
        assert!(!error.message.is_empty());
    }

    #[test]
    fn expression_impossible_for_a_link_type_is_an_error_there() {
        let mut filter = BpfFilter::new("ether host 00:01:02:03:04:05").unwrap();
        let error = filter
            .matches(&frame(LinkType::RAW, &IPV4_UDP))
            .unwrap_err();
        assert_eq!(error.linktype, LinkType::RAW);
    }
}

//! Live capture from a network interface through libpcap, and a minimal pcapng writer for what
//! was captured (`--write`).
//!
//! Takes an interface name and capture options; yields [`Frame`]s that borrow libpcap's buffer,
//! one at a time, or `None` when the read timeout passed without a packet, so that the caller's
//! loop wakes up for its interval ticks and signals even on a silent link. Also lists the
//! interfaces libpcap can open ([`list_interfaces`]) and reads libpcap's received / dropped
//! counters ([`LiveCapture::stats`]). Never panics; every libpcap failure is a [`LiveError`]
//! that names the interface and, where it helps, what to do about it.
//!
//! The capture is non-blocking: a read that finds no packet sleeps for the idle wait and
//! returns `None`. A blocking read would be simpler, but on Linux libpcap's TPACKET_V3 ring
//! only wakes a reader when a block fills or retires, and an empty block never retires: on an
//! idle interface such a read blocks for ever, and neither ticks nor signals get through.
//! Immediate mode is not used either: it makes libpcap fall back to TPACKET_V2, whose ring has
//! one fixed-size slot per packet (as large as the MTU allows), so the same buffer holds far
//! fewer packets and a busy moment drops them. With TPACKET_V3 a partly filled block is handed
//! over after [`BLOCK_TIMEOUT`], which bounds how late a packet is seen.

use super::{Frame, Timestamp};
use crate::linktype::LinkType;
use std::fmt;
use std::io::{self, Write};
use std::net::IpAddr;
use std::time::Duration;

/// How long libpcap's kernel ring holds a partly filled block before handing it over: the
/// longest a packet waits to be seen.
pub const BLOCK_TIMEOUT: Duration = Duration::from_millis(50);

/// Kernel buffer for the capture: a few seconds of a busy link, for moments portnote is slow.
pub const BUFFER_SIZE: i32 = 16 << 20;

/// What `portnote live` asks of libpcap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveOptions {
    pub interface: String,
    /// Bytes kept of each packet.
    pub snaplen: u32,
    pub promiscuous: bool,
    /// How long a read that finds no packet sleeps before it returns `None`: the loop's
    /// longest pause, so the latency of its ticks and signals.
    pub idle_wait: Duration,
    /// BPF filter expression (tcpdump syntax), compiled by libpcap for this interface.
    pub filter: Option<String>,
}

/// How to get capture permission, said with every permission error.
pub const PERMISSION_HINT: &str = "capturing needs root or the capabilities cap_net_raw and \
cap_net_admin: run portnote as root, or grant them once with \
`sudo setcap cap_net_raw,cap_net_admin=eip $(which portnote)`";

/// A live-capture failure.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("{interface}: {message}; {PERMISSION_HINT}")]
    Permission { interface: String, message: String },
    #[error("{interface}: no such interface; valid interfaces: {}", .available.join(", "))]
    NoSuchInterface {
        interface: String,
        available: Vec<String>,
    },
    #[error("{interface}: filter {expression:?}: {message}")]
    Filter {
        interface: String,
        expression: String,
        message: String,
    },
    #[error("{interface}: cannot capture: {message}")]
    Open { interface: String, message: String },
    #[error("{interface}: capture ended: {message}")]
    Read { interface: String, message: String },
    #[error("listing interfaces: {message}")]
    List { message: String },
}

/// libpcap's counters since the capture started (`pcap_stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct PcapStats {
    /// Packets the kernel passed to the capture (after the filter, on Linux).
    pub received: u64,
    /// Packets dropped because the capture buffer was full (portnote read too slowly).
    pub dropped: u64,
    /// Packets dropped by the interface or its driver.
    pub interface_dropped: u64,
}

/// A network interface as `portnote live --list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub name: String,
    pub description: Option<String>,
    /// Addresses with their prefix length, when libpcap gives a netmask.
    pub addresses: Vec<(IpAddr, Option<u8>)>,
    pub up: bool,
    pub running: bool,
    pub loopback: bool,
    /// The link type a capture on it would have, or why it could not be opened to ask
    /// (usually for want of permission).
    pub linktype: Result<LinkType, String>,
}

impl fmt::Display for InterfaceInfo {
    /// `eth0  up running  EN10MB(1)  192.0.2.7/24 fe80::1/64`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match (self.up, self.running) {
            (true, true) => "up running",
            (true, false) => "up",
            (false, _) => "down",
        };
        let linktype = match &self.linktype {
            Ok(l) => l.to_string(),
            Err(_) => "?".to_string(),
        };
        let addresses: Vec<String> = self
            .addresses
            .iter()
            .map(|(addr, prefix)| match prefix {
                Some(p) => format!("{addr}/{p}"),
                None => addr.to_string(),
            })
            .collect();
        write!(f, "{}\t{state}\t{linktype}\t", self.name)?;
        if addresses.is_empty() {
            f.write_str("-")?;
        } else {
            f.write_str(&addresses.join(" "))?;
        }
        if let Some(desc) = &self.description {
            write!(f, "\t({desc})")?;
        }
        Ok(())
    }
}

/// Every interface libpcap finds, with the link type each would capture with.
pub fn list_interfaces() -> Result<Vec<InterfaceInfo>, LiveError> {
    let devices = pcap::Device::list().map_err(|e| LiveError::List {
        message: e.to_string(),
    })?;
    Ok(devices
        .into_iter()
        .map(|device| {
            // Asking the link type means opening the device; without permission it stays
            // unknown rather than failing the whole list.
            let linktype = pcap::Capture::from_device(device.name.as_str())
                .and_then(|c| c.snaplen(64).timeout(1).open())
                .map(|c| linktype_of(c.get_datalink()))
                .map_err(|e| e.to_string());
            InterfaceInfo {
                addresses: device
                    .addresses
                    .iter()
                    .map(|a| (a.addr, a.netmask.map(prefix_len)))
                    .collect(),
                up: device.flags.is_up(),
                running: device.flags.is_running(),
                loopback: device.flags.is_loopback(),
                linktype,
                name: device.name,
                description: device.desc,
            }
        })
        .collect())
}

/// The prefix length of a netmask: its leading one bits.
fn prefix_len(netmask: IpAddr) -> u8 {
    let ones = match netmask {
        IpAddr::V4(m) => u32::from(m).leading_ones(),
        IpAddr::V6(m) => u128::from(m).leading_ones(),
    };
    u8::try_from(ones).unwrap_or(u8::MAX)
}

fn linktype_of(datalink: pcap::Linktype) -> LinkType {
    // DLT values are never negative; should one be, u32::MAX stands for it and decodes as an
    // unknown link type.
    LinkType(u32::try_from(datalink.0).unwrap_or(u32::MAX))
}

fn is_permission_error(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("permission") || lower.contains("not permitted")
}

/// An open live capture.
pub struct LiveCapture {
    interface: String,
    capture: pcap::Capture<pcap::Active>,
    linktype: LinkType,
    idle_wait: Duration,
}

impl fmt::Debug for LiveCapture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveCapture")
            .field("interface", &self.interface)
            .field("linktype", &self.linktype)
            .finish_non_exhaustive()
    }
}

impl LiveCapture {
    /// Opens the interface. An interface libpcap does not list is refused with the list of
    /// those it does; a permission failure says how to get permission.
    pub fn open(options: &LiveOptions) -> Result<LiveCapture, LiveError> {
        let interface = options.interface.clone();
        let devices = pcap::Device::list().map_err(|e| LiveError::List {
            message: e.to_string(),
        })?;
        if !devices.iter().any(|d| d.name == interface) {
            return Err(LiveError::NoSuchInterface {
                interface,
                available: devices.into_iter().map(|d| d.name).collect(),
            });
        }
        let open_error = |e: pcap::Error| {
            let message = match e {
                pcap::Error::PcapError(m) => m,
                other => other.to_string(),
            };
            if is_permission_error(&message) {
                LiveError::Permission {
                    interface: interface.clone(),
                    message,
                }
            } else {
                LiveError::Open {
                    interface: interface.clone(),
                    message,
                }
            }
        };
        let idle_wait = options.idle_wait;
        let mut capture = pcap::Capture::from_device(interface.as_str())
            .map_err(open_error)?
            .snaplen(i32::try_from(options.snaplen).unwrap_or(i32::MAX))
            .promisc(options.promiscuous)
            .timeout(i32::try_from(BLOCK_TIMEOUT.as_millis()).unwrap_or(i32::MAX))
            .buffer_size(BUFFER_SIZE)
            .open()
            .and_then(pcap::Capture::setnonblock)
            .map_err(open_error)?;
        if let Some(expression) = &options.filter {
            capture
                .filter(expression, true)
                .map_err(|e| LiveError::Filter {
                    interface: interface.clone(),
                    expression: expression.clone(),
                    message: match e {
                        pcap::Error::PcapError(m) => m,
                        other => other.to_string(),
                    },
                })?;
        }
        let linktype = linktype_of(capture.get_datalink());
        Ok(LiveCapture {
            interface,
            capture,
            linktype,
            idle_wait,
        })
    }

    pub fn interface(&self) -> &str {
        &self.interface
    }

    pub fn linktype(&self) -> LinkType {
        self.linktype
    }

    /// The next packet, or `None` after the idle wait when none was there. An error ends the
    /// capture (the interface went down or away).
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, LiveError> {
        let linktype = self.linktype;
        match self.capture.next_packet() {
            Ok(packet) => {
                let header = packet.header;
                Ok(Some(Frame {
                    ts: Timestamp {
                        secs: header.ts.tv_sec,
                        // libpcap keeps tv_usec within 0..1_000_000; clamping only guards the
                        // multiplication against a broken library.
                        nanos: u32::try_from(header.ts.tv_usec.clamp(0, 999_999))
                            .unwrap_or(0)
                            .saturating_mul(1000),
                        digits: 6,
                    },
                    len: header.len,
                    linktype,
                    data: packet.data,
                }))
            }
            // What a non-blocking read says when no packet is waiting.
            Err(pcap::Error::TimeoutExpired) => {
                std::thread::sleep(self.idle_wait);
                Ok(None)
            }
            Err(e) => Err(LiveError::Read {
                interface: self.interface.clone(),
                message: match e {
                    pcap::Error::PcapError(m) => m,
                    other => other.to_string(),
                },
            }),
        }
    }

    /// libpcap's counters since the capture was opened.
    pub fn stats(&mut self) -> Result<PcapStats, LiveError> {
        let stat = self.capture.stats().map_err(|e| LiveError::Read {
            interface: self.interface.clone(),
            message: format!("reading capture statistics: {e}"),
        })?;
        Ok(PcapStats {
            received: u64::from(stat.received),
            dropped: u64::from(stat.dropped),
            interface_dropped: u64::from(stat.if_dropped),
        })
    }
}

/// pcapng block types and constants (draft-ietf-opsawg-pcapng section 4).
const BLOCK_SHB: u32 = 0x0a0d_0d0a;
const BLOCK_IDB: u32 = 0x0000_0001;
const BLOCK_EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
/// IDB option `if_name` (section 4.2).
const OPT_IF_NAME: u16 = 2;
const OPT_END: u16 = 0;

/// Writes what a live capture saw as one pcapng section with one interface: the Section Header
/// and Interface Description Blocks at creation, then an Enhanced Packet Block per frame, each
/// written as it comes (timestamps in the default microsecond resolution, little-endian).
///
/// Minimal on purpose: it lives here until the general writer in [`super::write`] lands.
#[derive(Debug)]
pub struct LivePcapngWriter<W: Write> {
    out: W,
}

/// `bytes` padded with zeros to a multiple of 4, as every pcapng field of variable length is.
fn padded_len(len: usize) -> usize {
    len.div_ceil(4).saturating_mul(4)
}

fn too_long(what: &str, len: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what} of {len} bytes is too long for pcapng"),
    )
}

impl<W: Write> LivePcapngWriter<W> {
    /// Writes the Section Header Block and the Interface Description Block of `interface`.
    pub fn new(mut out: W, interface: &str, linktype: LinkType, snaplen: u32) -> io::Result<Self> {
        // Section Header Block: type, total length, byte-order magic, version 1.0, section
        // length -1 (unknown, so readers do not try to skip the section), total length.
        let mut shb = Vec::with_capacity(28);
        shb.extend_from_slice(&BLOCK_SHB.to_le_bytes());
        shb.extend_from_slice(&28u32.to_le_bytes());
        shb.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        shb.extend_from_slice(&28u32.to_le_bytes());
        out.write_all(&shb)?;

        // Interface Description Block: link type (16 bits), reserved, snaplen, then the
        // options if_name and opt_endofopt.
        let name = interface.as_bytes();
        let name_len =
            u16::try_from(name.len()).map_err(|_| too_long("interface name", name.len()))?;
        let options_len = 4 + padded_len(name.len()) + 4;
        let total = u32::try_from(20 + options_len).map_err(|_| too_long("block", options_len))?;
        let linktype16 = u16::try_from(linktype.0).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("link type {} does not fit pcapng's 16 bits", linktype.0),
            )
        })?;
        let mut idb = Vec::with_capacity(total as usize);
        idb.extend_from_slice(&BLOCK_IDB.to_le_bytes());
        idb.extend_from_slice(&total.to_le_bytes());
        idb.extend_from_slice(&linktype16.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&snaplen.to_le_bytes());
        idb.extend_from_slice(&OPT_IF_NAME.to_le_bytes());
        idb.extend_from_slice(&name_len.to_le_bytes());
        idb.extend_from_slice(name);
        idb.resize(idb.len() + padded_len(name.len()) - name.len(), 0);
        idb.extend_from_slice(&OPT_END.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&total.to_le_bytes());
        out.write_all(&idb)?;
        Ok(LivePcapngWriter { out })
    }

    /// One Enhanced Packet Block. A timestamp before 1970 is refused (pcapng counts from the
    /// epoch, unsigned).
    pub fn write_frame(&mut self, frame: &Frame<'_>) -> io::Result<()> {
        let unwritable = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("timestamp {} cannot be written to pcapng", frame.ts),
            )
        };
        let micros = u64::try_from(frame.ts.secs)
            .map_err(|_| unwritable())?
            .checked_mul(1_000_000)
            .and_then(|us| us.checked_add(u64::from(frame.ts.nanos / 1000)))
            .ok_or_else(unwritable)?;
        let caplen = frame.data.len();
        let caplen32 = u32::try_from(caplen).map_err(|_| too_long("frame", caplen))?;
        let total = u32::try_from(32usize.saturating_add(padded_len(caplen)))
            .map_err(|_| too_long("frame", caplen))?;
        // Enhanced Packet Block: type, total length, interface 0, timestamp high and low 32
        // bits, captured length, original length, data padded to 32 bits, total length.
        let mut header = [0u8; 28];
        let fields: [[u8; 4]; 7] = [
            BLOCK_EPB.to_le_bytes(),
            total.to_le_bytes(),
            0u32.to_le_bytes(),
            ((micros >> 32) as u32).to_le_bytes(),
            (micros as u32).to_le_bytes(),
            caplen32.to_le_bytes(),
            frame.len.max(caplen32).to_le_bytes(),
        ];
        for (chunk, field) in header.chunks_exact_mut(4).zip(fields) {
            chunk.copy_from_slice(&field);
        }
        self.out.write_all(&header)?;
        self.out.write_all(frame.data)?;
        let padding = [0u8; 3];
        self.out.write_all(
            padding
                .get(..padded_len(caplen) - caplen)
                .unwrap_or_default(),
        )?;
        self.out.write_all(&total.to_le_bytes())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureReader;
    use std::io::Cursor;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn prefix_len_counts_the_netmask_ones() {
        assert_eq!(prefix_len(IpAddr::V4(Ipv4Addr::new(255, 255, 255, 0))), 24);
        assert_eq!(prefix_len(IpAddr::V4(Ipv4Addr::new(255, 255, 240, 0))), 20);
        assert_eq!(prefix_len(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), 0);
        let v6: Ipv6Addr = "ffff:ffff:ffff:ffff::".parse().unwrap();
        assert_eq!(prefix_len(IpAddr::V6(v6)), 64);
    }

    #[test]
    fn permission_errors_are_recognised_in_libpcap_wording() {
        // libpcap 1.10 on Linux, as an unprivileged user.
        assert!(is_permission_error(
            "You don't have permission to perform this capture on that device \
             (socket: Operation not permitted)"
        ));
        assert!(is_permission_error("socket: Operation not permitted"));
        assert!(!is_permission_error("No such device exists"));
    }

    #[test]
    fn permission_error_says_how_to_get_permission() {
        let e = LiveError::Permission {
            interface: "eth0".to_string(),
            message: "socket: Operation not permitted".to_string(),
        };
        let text = e.to_string();
        assert!(text.starts_with("eth0: socket: Operation not permitted"));
        assert!(text.contains("setcap cap_net_raw,cap_net_admin=eip $(which portnote)"));
        assert!(text.contains("root"));
    }

    #[test]
    fn unknown_interface_error_lists_the_valid_ones() {
        let e = LiveError::NoSuchInterface {
            interface: "eht0".to_string(),
            available: vec!["eth0".to_string(), "lo".to_string()],
        };
        assert_eq!(
            e.to_string(),
            "eht0: no such interface; valid interfaces: eth0, lo"
        );
    }

    #[test]
    fn interface_line_shows_state_link_type_and_addresses() {
        let info = InterfaceInfo {
            name: "eth0".to_string(),
            description: None,
            addresses: vec![
                (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)), Some(24)),
                (IpAddr::V6(Ipv6Addr::LOCALHOST), None),
            ],
            up: true,
            running: false,
            loopback: false,
            linktype: Ok(LinkType::ETHERNET),
        };
        assert_eq!(info.to_string(), "eth0\tup\tEN10MB(1)\t192.0.2.7/24 ::1");
        let down = InterfaceInfo {
            addresses: vec![],
            up: false,
            linktype: Err("permission denied".to_string()),
            description: Some("Pseudo-device".to_string()),
            ..info
        };
        assert_eq!(down.to_string(), "eth0\tdown\t?\t-\t(Pseudo-device)");
    }

    #[test]
    fn pcapng_header_blocks_are_laid_out_field_by_field() {
        let out = LivePcapngWriter::new(Vec::new(), "lo", LinkType::ETHERNET, 65535)
            .unwrap()
            .into_inner();
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            // Section Header Block
            &[0x0a, 0x0d, 0x0d, 0x0a][..],     // block type
            &[28, 0, 0, 0],                     // total length
            &[0x4d, 0x3c, 0x2b, 0x1a],          // byte-order magic, little-endian
            &[1, 0, 0, 0],                      // version 1.0
            &[0xff; 8],                         // section length -1: unknown
            &[28, 0, 0, 0],                     // total length again
            // Interface Description Block
            &[1, 0, 0, 0],                      // block type
            &[32, 0, 0, 0],                     // total length: 20 + option 8 + end 4
            &[1, 0],                            // link type Ethernet
            &[0, 0],                            // reserved
            &[0xff, 0xff, 0, 0],                // snaplen 65535
            &[2, 0, 2, 0],                      // if_name, 2 bytes
            &[b'l', b'o', 0, 0],                // "lo" padded to 4
            &[0, 0, 0, 0],                      // opt_endofopt
            &[32, 0, 0, 0],                     // total length again
        ]
        .concat();
        assert_eq!(out, expected);
    }

    #[test]
    fn pcapng_packet_block_pads_data_and_splits_the_timestamp() {
        let mut writer =
            LivePcapngWriter::new(Vec::new(), "lo", LinkType::ETHERNET, 65535).unwrap();
        let frame = Frame {
            ts: Timestamp {
                secs: 1_700_000_000,
                nanos: 123_456_000,
                digits: 6,
            },
            len: 60,
            linktype: LinkType::ETHERNET,
            data: &[0xaa, 0xbb, 0xcc, 0xdd, 0xee],
        };
        writer.write_frame(&frame).unwrap();
        let out = writer.into_inner();
        let epb = out.get(60..).unwrap();
        // 1_700_000_000.123456 s = 1_700_000_000_123_456 us = 0x00060a24_18202240.
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[6, 0, 0, 0][..],                          // block type EPB
            &[40, 0, 0, 0],                             // total: 32 + 5 data padded to 8
            &[0, 0, 0, 0],                              // interface 0
            &0x00060a24u32.to_le_bytes(),               // timestamp high 32 bits
            &0x18202240u32.to_le_bytes(),               // timestamp low 32 bits
            &[5, 0, 0, 0],                              // captured length
            &[60, 0, 0, 0],                             // original length
            &[0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0, 0, 0],   // data + padding
            &[40, 0, 0, 0],                             // total length again
        ]
        .concat();
        assert_eq!(epb, expected.as_slice());
    }

    #[test]
    fn pcapng_written_live_reads_back_frame_for_frame() {
        let mut writer =
            LivePcapngWriter::new(Vec::new(), "veth-test0", LinkType::ETHERNET, 262_144).unwrap();
        let payloads: [&[u8]; 3] = [&[1; 60], &[2; 61], &[3; 1514]];
        for (i, data) in payloads.iter().enumerate() {
            let frame = Frame {
                ts: Timestamp {
                    secs: 1_700_000_000 + i as i64,
                    nanos: 999_999_000,
                    digits: 6,
                },
                len: data.len() as u32 + 4,
                linktype: LinkType::ETHERNET,
                data,
            };
            writer.write_frame(&frame).unwrap();
        }
        let bytes = writer.into_inner();
        let mut reader =
            CaptureReader::from_reader("written", Box::new(Cursor::new(bytes))).unwrap();
        for (i, data) in payloads.iter().enumerate() {
            let frame = reader.next_frame().unwrap().unwrap();
            assert_eq!(frame.data, *data);
            assert_eq!(frame.len, data.len() as u32 + 4);
            assert_eq!(frame.linktype, LinkType::ETHERNET);
            assert_eq!(frame.ts.secs, 1_700_000_000 + i as i64);
            assert_eq!(frame.ts.nanos, 999_999_000);
        }
        assert!(reader.next_frame().unwrap().is_none());
    }

    #[test]
    fn pcapng_refuses_timestamps_before_the_epoch() {
        let mut writer =
            LivePcapngWriter::new(Vec::new(), "lo", LinkType::ETHERNET, 65535).unwrap();
        let frame = Frame {
            ts: Timestamp {
                secs: -1,
                nanos: 0,
                digits: 6,
            },
            len: 1,
            linktype: LinkType::ETHERNET,
            data: &[0],
        };
        let e = writer.write_frame(&frame).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}

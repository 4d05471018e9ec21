//! Live capture from a network interface through libpcap.
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

use super::{Frame, InterfaceDescription, Origin, Timestamp};
use crate::linktype::LinkType;
use std::fmt;
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
    /// The interface as `--write` describes it: name, link type, snapshot length, microseconds.
    description: InterfaceDescription,
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
        let description =
            InterfaceDescription::synthetic(linktype, options.snaplen, 6, Some(interface.as_str()));
        Ok(LiveCapture {
            interface,
            capture,
            linktype,
            idle_wait,
            description,
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
                    origin: Origin {
                        interface: &self.description,
                        ticks: u64::try_from(header.ts.tv_sec).ok().and_then(|secs| {
                            let micros = u64::try_from(header.ts.tv_usec).ok()?;
                            secs.checked_mul(1_000_000)?.checked_add(micros)
                        }),
                        options: &[],
                    },
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

#[cfg(test)]
mod tests {
    use super::*;
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
}

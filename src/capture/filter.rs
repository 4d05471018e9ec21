//! `-f EXPR` on capture files: tcpdump filter expressions with libpcap's offline-filter
//! semantics, via the `pcap` crate (`pcap_open_dead` + `pcap_compile` + `pcap_offline_filter`).
//!
//! A program is compiled per link type, once, when the first frame of that link type is seen
//! (pcapng files may mix link types). The expression is checked against Ethernet when the filter
//! is built, so a syntax error is reported before any input is read.

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

/// A compiled capture filter.
pub struct BpfFilter {
    expr: String,
    programs: HashMap<LinkType, BpfProgram>,
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
        };
        let program = filter.compile(LinkType::ETHERNET)?;
        filter.programs.insert(LinkType::ETHERNET, program);
        Ok(filter)
    }

    /// The expression as given.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// Whether the frame passes the filter. An error if the expression cannot be compiled
    /// for this frame's link type (e.g. `ether host` on raw IP).
    ///
    /// libpcap is handed the captured bytes as both the captured and the wire length (the
    /// `pcap` crate's `BpfProgram::filter`), so `len`/`greater`/`less` compare the captured
    /// length; every other primitive sees exactly what tcpdump sees.
    pub fn matches(&mut self, frame: &Frame<'_>) -> Result<bool, FilterError> {
        if let Some(program) = self.programs.get(&frame.linktype) {
            return Ok(program.filter(frame.data));
        }
        let program = self.compile(frame.linktype)?;
        let verdict = program.filter(frame.data);
        self.programs.insert(frame.linktype, program);
        Ok(verdict)
    }

    fn compile(&self, linktype: LinkType) -> Result<BpfProgram, FilterError> {
        let error = |message: String| FilterError {
            expr: self.expr.clone(),
            linktype,
            message,
        };
        let dlt = i32::try_from(dlt_of(linktype))
            .map_err(|_| error("link type out of libpcap's range".to_owned()))?;
        let dead = Capture::dead(Linktype(dlt)).map_err(|e| error(e.to_string()))?;
        dead.compile(&self.expr, true)
            .map_err(|e| error(e.to_string()))
    }
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

//! The SCTP and DCCP header views against real third-party captures: ports against tshark's
//! oracle, chunk counts, INIT / INIT ACK and DCCP packet types against tcpdump's view.
//!
//! Reads ../shared/captures/public by relative path; when it is absent the test prints a notice
//! and passes, unless CI=true.

use portnote::decode::dccp::{self, DccpPacket};
use portnote::decode::sctp::{self, SctpPacket};
use portnote::decode::{DecodeErrorKind, Handshake};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const PUBLIC: &str = "captures/public";

fn public_dir() -> Option<PathBuf> {
    crate::util::shared_file("the SCTP and DCCP views on public captures", PUBLIC)
}

/// A frame of a little-endian classic pcap file: (link type, captured bytes).
fn read_pcap_le(path: &Path) -> (u32, Vec<Vec<u8>>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(
        &bytes[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "{}: LE microsecond pcap",
        path.display()
    );
    let linktype = u32::from_le_bytes(bytes[20..24].try_into().unwrap());
    let mut frames = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        let data = &bytes[at + 16..at + 16 + caplen];
        frames.push(data.to_vec());
        at += 16 + caplen;
    }
    assert_eq!(at, bytes.len(), "{}: trailing bytes", path.display());
    (linktype, frames)
}

/// The transport bytes of an Ethernet (optionally 802.1Q) or raw-IPv4 frame carrying IPv4 or
/// IPv6 without extension headers, with the IP protocol number.
fn transport_of(linktype: u32, frame: &[u8]) -> Option<(u8, &[u8])> {
    let ip = match linktype {
        1 => {
            let mut at = 12;
            let mut ethertype = u16::from_be_bytes([frame[at], frame[at + 1]]);
            while ethertype == 0x8100 {
                at += 4;
                ethertype = u16::from_be_bytes([frame[at], frame[at + 1]]);
            }
            if ethertype != 0x0800 && ethertype != 0x86dd {
                return None;
            }
            &frame[at + 2..]
        }
        228 => frame,
        other => panic!("link type {other} not expected in these files"),
    };
    // The IP length, not the frame, bounds the transport: Ethernet pads short frames.
    match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
            Some((ip[9], &ip[ihl..total]))
        }
        6 => {
            let payload = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            Some((ip[6], &ip[40..(40 + payload).min(ip.len())]))
        }
        _ => None,
    }
}

/// Oracle rows: frame -> (transport, sport, dport).
fn oracle(path: &Path) -> HashMap<usize, (String, String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let frame = cols[0].parse().unwrap();
            (frame, (cols[3].into(), cols[4].into(), cols[5].into()))
        })
        .collect()
}

/// tcpdump lines by frame number (`-#` puts it first).
fn tcpdump(path: &Path) -> HashMap<usize, String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter_map(|line| {
            let trimmed = line.trim_start();
            let (number, rest) = trimmed.split_once(' ')?;
            Some((number.parse().ok()?, rest.to_string()))
        })
        .collect()
}

/// The text between `open` and the next `close` in `line`.
fn between<'a>(line: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let rest = line.split_once(open)?.1;
    Some(rest.split_once(close)?.0)
}

/// How many "(N) [" chunk markers a tcpdump SCTP line holds (N a chunk number).
fn numbered_chunks(line: &str) -> usize {
    line.split('(')
        .skip(1)
        .filter(|piece| {
            piece
                .split_once(") [")
                .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .count()
}

#[test]
fn sctp_views_agree_with_tshark_and_tcpdump() {
    let Some(dir) = public_dir() else { return };
    let files = [
        "arkime--sctp-www.pcap",
        "tcpdump--sctp-i-forward.pcap",
        "tcpdump--sctp-re-config.pcap",
        "suricata-verify--sctp-max-chunks_sctp-max-chunks.pcap",
    ];
    let (mut checked, mut inits, mut init_acks, mut chunks_total) = (0, 0, 0, 0);
    for name in files {
        let (linktype, frames) = read_pcap_le(&dir.join(name));
        let oracle = oracle(&dir.join(format!("{name}.oracle.tsv")));
        let tcpdump = tcpdump(&dir.join(format!("{name}.tcpdump.txt")));
        for (index, frame) in frames.iter().enumerate() {
            let number = index + 1;
            let (transport, sport, dport) = &oracle[&number];
            if transport != "sctp" {
                continue;
            }
            let (protocol, bytes) = transport_of(linktype, frame).unwrap();
            assert_eq!(protocol, 132, "{name} frame {number}");
            let packet = SctpPacket::new_checked(bytes).unwrap();
            assert_eq!(
                packet.src_port().to_string(),
                *sport,
                "{name} frame {number}"
            );
            assert_eq!(
                packet.dst_port().to_string(),
                *dport,
                "{name} frame {number}"
            );
            // tcpdump numbers the chunks it prints "(1) [INIT] , (2) [...]".
            let line = &tcpdump[&number];
            let printed = numbered_chunks(line);
            let count = packet.chunk_count().unwrap();
            assert_eq!(count, printed, "{name} frame {number}: {line}");
            chunks_total += count;
            let expected = if line.contains("(1) [INIT ACK]") {
                init_acks += 1;
                Some(Handshake::Response)
            } else if line.contains("(1) [INIT]") {
                inits += 1;
                Some(Handshake::Request)
            } else {
                None
            };
            assert_eq!(sctp::handshake(bytes), expected, "{name} frame {number}");
            checked += 1;
        }
    }
    eprintln!("sctp: {checked} packets, {chunks_total} chunks, {inits} INIT, {init_acks} INIT ACK");
    assert!(checked > 100 && inits >= 3 && init_acks >= 3);
}

#[test]
fn dccp_views_agree_with_tshark_and_tcpdump() {
    let Some(dir) = public_dir() else { return };
    let files = [
        "tcpdump--dccp_partial_csum_v4_longer.pcap",
        "tcpdump--dccp_partial_csum_v6_longer.pcap",
        "tcpdump--dccp_options-oobr.pcap",
    ];
    let (mut checked, mut truncated, mut requests, mut responses) = (0, 0, 0, 0);
    let (mut services, mut acks) = (0, 0);
    for name in files {
        let (linktype, frames) = read_pcap_le(&dir.join(name));
        let oracle = oracle(&dir.join(format!("{name}.oracle.tsv")));
        let tcpdump = tcpdump(&dir.join(format!("{name}.tcpdump.txt")));
        for (index, frame) in frames.iter().enumerate() {
            let number = index + 1;
            let (transport, sport, dport) = &oracle[&number];
            if transport != "dccp" {
                continue;
            }
            let (protocol, bytes) = transport_of(linktype, frame).unwrap();
            assert_eq!(protocol, 33, "{name} frame {number}");
            let line = &tcpdump[&number];
            let packet = match DccpPacket::new_checked(bytes) {
                Ok(packet) => packet,
                Err(err) => {
                    // A frame cut by the capture: the header's Data Offset reaches past the
                    // captured bytes. tshark still shows the ports; the view reports truncation.
                    assert_eq!(
                        err.kind,
                        DecodeErrorKind::Truncated,
                        "{name} frame {number}"
                    );
                    assert!(
                        frame.len() < 100,
                        "{name} frame {number} is not a short capture"
                    );
                    truncated += 1;
                    continue;
                }
            };
            assert_eq!(
                packet.src_port().to_string(),
                *sport,
                "{name} frame {number}"
            );
            assert_eq!(
                packet.dst_port().to_string(),
                *dport,
                "{name} frame {number}"
            );
            let type_name = packet.packet_type().name().unwrap();
            assert!(
                line.contains(&format!("DCCP {type_name}")),
                "{name} frame {number}: {type_name} vs {line}"
            );
            let expected = match type_name {
                "DCCP-Request" => {
                    requests += 1;
                    Some(Handshake::Request)
                }
                "DCCP-Response" => {
                    responses += 1;
                    Some(Handshake::Response)
                }
                _ => None,
            };
            assert_eq!(dccp::handshake(bytes), expected, "{name} frame {number}");
            // tcpdump prints "(service=N)" for Request and Response, "(ack=N)" where present.
            if let Some(service) = between(line, "(service=", ")") {
                assert_eq!(
                    packet.service_code().map(|s| s.to_string()),
                    Some(service.into())
                );
                services += 1;
            }
            if let Some(ack) = between(line, "(ack=", ")") {
                assert_eq!(packet.ack_number().map(|a| a.to_string()), Some(ack.into()));
                acks += 1;
            }
            checked += 1;
        }
    }
    eprintln!(
        "dccp: {checked} packets, {truncated} truncated, {requests} Request, {responses} Response, \
         {services} service codes, {acks} acks"
    );
    assert!(checked >= 25 && requests >= 3 && responses >= 3);
    assert!(
        services >= 6 && acks >= 20,
        "{services} service codes, {acks} acks"
    );
}

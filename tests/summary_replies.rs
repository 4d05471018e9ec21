//! Issue 13 item 17: scans look like services no more. A SYN to closed 7/tcp answered by an RST
//! is a *refused* flow of the echo row, a datagram answered by ICMP port unreachable too, a SYN
//! or datagram nobody answers is *unanswered*; the packets stay in their rows. Per row the
//! summary counts them (table, JSON, CSV), the same for any `--threads`.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::io::Write;

const SCANNER: [u8; 4] = [10, 0, 0, 1];
const TARGET: [u8; 4] = [10, 0, 0, 2];
const SYN: u8 = 0x02;
const RST_ACK: u8 = 0x14;
const SYN_ACK: u8 = 0x12;
const ACK: u8 = 0x10;

/// An IPv4 header (no options, checksum left 0: the decoder does not check it) around `payload`.
fn ipv4(protocol: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).unwrap();
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, protocol, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(payload);
    p
}

fn tcp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, flags: u8) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    ipv4(6, src, dst, &t)
}

fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&[0, 12, 0, 0, b'p', b'i', b'n', b'g']);
    ipv4(17, src, dst, &u)
}

/// ICMP `icmp_type`/`code` from `from` to `to`, quoting `quoted` (an IPv4 packet) as routers do:
/// its header and first 8 bytes.
fn icmp_error(from: [u8; 4], to: [u8; 4], icmp_type: u8, code: u8, quoted: &[u8]) -> Vec<u8> {
    let mut m = vec![icmp_type, code, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&quoted[..28]);
    ipv4(1, from, to, &m)
}

/// A pcap (raw IPv4 link type) of `packets`, one per 10 ms.
fn pcap(packets: &[Vec<u8>]) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".pcap").tempfile().unwrap();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    bytes.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend_from_slice(&65535u32.to_le_bytes());
    bytes.extend_from_slice(&228u32.to_le_bytes()); // LINKTYPE_IPV4
    for (i, p) in packets.iter().enumerate() {
        let usec = u32::try_from(i).unwrap() * 10_000;
        bytes.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        bytes.extend_from_slice(&usec.to_le_bytes());
        let len = u32::try_from(p.len()).unwrap();
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(p);
    }
    file.write_all(&bytes).unwrap();
    file
}

/// The scan: three SYNs to closed 7/tcp, each answered by RST; one SYN to 4/tcp nobody answers;
/// a full handshake on 80/tcp; UDP to 9 answered by ICMP port unreachable, to 161 unanswered,
/// to 53 answered; and ICMP host unreachable quoting a datagram to 69 (no refusal by a server).
fn scan_packets() -> Vec<Vec<u8>> {
    let mut p = Vec::new();
    for sport in [40001, 40002, 40003] {
        p.push(tcp(SCANNER, sport, TARGET, 7, SYN));
        p.push(tcp(TARGET, 7, SCANNER, sport, RST_ACK));
    }
    p.push(tcp(SCANNER, 40020, TARGET, 4, SYN));
    p.push(tcp(SCANNER, 40010, TARGET, 80, SYN));
    p.push(tcp(TARGET, 80, SCANNER, 40010, SYN_ACK));
    p.push(tcp(SCANNER, 40010, TARGET, 80, ACK));
    let discard = udp(SCANNER, 50001, TARGET, 9);
    p.push(discard.clone());
    p.push(icmp_error(TARGET, SCANNER, 3, 3, &discard));
    p.push(udp(SCANNER, 50002, TARGET, 161));
    p.push(udp(SCANNER, 50000, TARGET, 53));
    p.push(udp(TARGET, 53, SCANNER, 50000));
    let tftp = udp(SCANNER, 50003, TARGET, 69);
    p.push(tftp.clone());
    p.push(icmp_error([10, 0, 0, 254], SCANNER, 3, 1, &tftp));
    p
}

/// (flows, unanswered, refused) of the row of `transport`/`port` in a summary JSON.
fn counts(summary: &serde_json::Value, transport: &str, port: u64) -> (u64, u64, u64) {
    let row = summary["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["transport"] == transport && r["ports"][0] == port)
        .unwrap_or_else(|| panic!("no row {port}/{transport}: {summary}"));
    (
        row["flows"].as_u64().unwrap(),
        row["flows_unanswered"].as_u64().unwrap(),
        row["flows_refused"].as_u64().unwrap(),
    )
}

#[test]
fn issue13_scan_of_closed_ports_shows_refused_and_unanswered_flows() {
    let capture = pcap(&scan_packets());
    let path = capture.path().to_str().unwrap();
    let mut first: Option<serde_json::Value> = None;
    for threads in ["1", "2", "3", "4"] {
        let (code, stdout, stderr) =
            common::portnote(&["summary", "--format", "json", "--threads", threads, path]);
        assert_eq!(code, 0, "{stderr}");
        let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        // SYN -> RST on closed 7/tcp: the echo row keeps its packets, its flows are refused.
        assert_eq!(counts(&summary, "tcp", 7), (3, 0, 3), "threads {threads}");
        let echo = summary["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ports"][0] == 7);
        assert_eq!(echo.unwrap()["packets"], 6);
        assert_eq!(counts(&summary, "tcp", 4), (1, 1, 0), "threads {threads}");
        assert_eq!(counts(&summary, "tcp", 80), (1, 0, 0), "threads {threads}");
        // UDP answered by ICMP port unreachable (quoting the flow) is refused; its ICMP packet
        // stays under `icmp`.
        assert_eq!(counts(&summary, "udp", 9), (1, 0, 1), "threads {threads}");
        assert_eq!(counts(&summary, "udp", 161), (1, 1, 0), "threads {threads}");
        assert_eq!(counts(&summary, "udp", 53), (1, 0, 0), "threads {threads}");
        // Host unreachable from a router is not the server refusing: still unanswered.
        assert_eq!(counts(&summary, "udp", 69), (1, 1, 0), "threads {threads}");
        assert_eq!(summary["no_ports"]["icmp"], 2);
        match &first {
            None => first = Some(summary),
            Some(one) => assert_eq!(&summary, one, "--threads {threads} differs from 1"),
        }
    }

    let (code, csv, _) = common::portnote(&["summary", "--format", "csv", path]);
    assert_eq!(code, 0);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let echo = reader
        .records()
        .map(Result::unwrap)
        .find(|r| &r[at("ports")] == "7" && &r[at("transport")] == "tcp")
        .unwrap();
    assert_eq!(&echo[at("flows_unanswered")], "0");
    assert_eq!(&echo[at("flows_refused")], "3");

    let (code, table, _) = common::portnote(&["summary", path]);
    assert_eq!(code, 0);
    assert!(table.contains("unans/refused"), "{table}");
    let echo_line = table.lines().find(|l| l.contains(" echo ")).unwrap();
    assert!(echo_line.contains(" 0/3 "), "{echo_line}");
}

//! Generated captures and the writers, read back by tshark and tcpdump: the frames must decode
//! to the intended transports and ports, with the intended encapsulation, and nothing malformed.
//!
//! Skips loudly (passes with a notice) when tshark or tcpdump is not installed.

use portnote::capture::write::{FrameWriter, PcapResolution, PcapWriter, PcapngWriter};
use portnote::capture::Timestamp;
use portnote::linktype::LinkType;
use portnote_synth::{lookup, Format, Kind, SynthConfig, Tunnel, LINKS};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn have(tool: &'static str) -> bool {
    crate::util::require(
        "a check of generated captures",
        &[crate::util::Need::Tool(tool)],
    )
}

/// One tshark row per frame: (protocols, [(transport, port, port)], malformed).
struct Row {
    protocols: String,
    ports: BTreeSet<(String, u16)>,
    malformed: bool,
    len: usize,
    caplen: usize,
}

fn tshark(path: &Path) -> Vec<Row> {
    let output = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args([
            "-o",
            "ip.defragment:FALSE",
            "-T",
            "fields",
            "-E",
            "occurrence=a",
        ])
        .args([
            "-E",
            "aggregator=,",
            "-e",
            "frame.protocols",
            "-e",
            "tcp.port",
        ])
        .args([
            "-e",
            "udp.port",
            "-e",
            "sctp.port",
            "-e",
            "dccp.port",
            "-e",
            "_ws.malformed",
        ])
        .args(["-e", "frame.len", "-e", "frame.cap_len"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "tshark failed on {}",
        path.display()
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let mut ports = BTreeSet::new();
            for (transport, col) in ["tcp", "udp", "sctp", "dccp"].iter().zip(&cols[1..5]) {
                for port in col.split(',').filter(|p| !p.is_empty()) {
                    ports.insert((transport.to_string(), port.parse().unwrap()));
                }
            }
            Row {
                protocols: cols[0].to_string(),
                ports,
                malformed: !cols[5].is_empty(),
                len: cols[6].parse().unwrap(),
                caplen: cols[7].parse().unwrap(),
            }
        })
        .collect()
}

/// Generates `config` into a temporary file, returns tshark's rows and the packet count.
fn generate_and_read(config: SynthConfig) -> (Vec<Row>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("capture");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&out).unwrap());
    let summary = config.write(&mut file).unwrap();
    drop(file);
    (tshark(&out), summary.packets)
}

fn all_ports(rows: &[Row]) -> BTreeSet<(String, u16)> {
    rows.iter().flat_map(|r| r.ports.iter().cloned()).collect()
}

fn assert_has(rows: &[Row], wanted: &[(&str, u16)], what: &str) {
    let ports = all_ports(rows);
    for (transport, port) in wanted {
        assert!(
            ports.contains(&(transport.to_string(), *port)),
            "{what}: tshark shows no {transport}/{port}; it shows {ports:?}"
        );
    }
}

/// The flows every link-type and tunnel file carries.
const SMALL_SET: [(&str, u16); 4] = [("tcp", 443), ("udp", 53), ("sctp", 2905), ("dccp", 5004)];

#[test]
fn every_link_type_decodes_to_the_intended_ports() {
    if !have("tshark") {
        return;
    }
    for (link, token) in [
        ("ethernet", "eth:ethertype:ip"),
        ("vlan", "eth:ethertype:vlan:ethertype:ip"),
        ("qinq", "eth:ethertype:ieee8021ad:ethertype:vlan"),
        ("null", "null:ip"),
        ("loop", "null:ip"),
        ("raw", "raw:ip"),
        ("ipv4", "ip:"),
        ("ipv6", "ipv6:"),
        ("sll", "sll:ethertype:ip"),
        ("sll2", "sll:ethertype:ip"),
    ] {
        let (rows, packets) = generate_and_read(
            SynthConfig::new(Kind::LinkTypes).link(lookup(&LINKS, link).unwrap()),
        );
        assert_eq!(rows.len() as u64, packets, "{link}");
        assert_has(&rows, &SMALL_SET, link);
        assert!(
            rows.iter().all(|r| !r.malformed),
            "{link}: malformed frames"
        );
        assert!(
            rows.iter().any(|r| r.protocols.starts_with(token)),
            "{link}: no frame starts with {token}"
        );
        let ip_rows = rows.iter().filter(|r| r.protocols.contains("ip")).count();
        let arp_rows = rows.iter().filter(|r| r.protocols.ends_with("arp")).count();
        assert_eq!(
            ip_rows + arp_rows,
            rows.len(),
            "{link}: a frame is neither IP nor ARP"
        );
    }
}

#[test]
fn every_tunnel_decodes_to_the_inner_ports() {
    if !have("tshark") {
        return;
    }
    for (tunnel, token, outer) in [
        ("gre", "ip:gre:ip", None),
        ("4in4", "ip:ip:", None),
        ("6in4", "ip:ipv6:", None),
        ("4in6", "ipv6:ip:", None),
        ("6in6", "ipv6:ipv6:", None),
        ("vxlan", "udp:vxlan:eth", Some(4789)),
        ("geneve", "udp:geneve:eth", Some(6081)),
        ("gtpu", "udp:gtp:ip", Some(2152)),
        ("teredo", "udp:teredo:ipv6", Some(3544)),
    ] {
        let (rows, packets) = generate_and_read(
            SynthConfig::new(Kind::Tunnels).tunnel(lookup(&Tunnel::ALL, tunnel).unwrap()),
        );
        assert_eq!(rows.len() as u64, packets, "{tunnel}");
        assert_has(&rows, &SMALL_SET, tunnel);
        if let Some(port) = outer {
            assert_has(&rows, &[("udp", port)], tunnel);
        }
        assert!(
            rows.iter().all(|r| !r.malformed),
            "{tunnel}: malformed frames"
        );
        assert!(
            rows.iter().all(|r| r.protocols.contains(token)),
            "{tunnel}: a frame lacks {token}"
        );
    }
}

#[test]
fn demo_has_every_case_the_readme_shows() {
    if !have("tshark") {
        return;
    }
    let (rows, packets) = generate_and_read(
        SynthConfig::new(Kind::Demo)
            .format(Format::Pcapng)
            .max_payload(256),
    );
    assert_eq!(rows.len() as u64, packets);
    assert!((200..=400).contains(&packets), "{packets} packets");
    assert_has(
        &rows,
        &[
            ("tcp", 443),
            ("tcp", 22),
            ("tcp", 4),
            ("tcp", 47),
            ("tcp", 51000),
            ("tcp", 61000),
            ("udp", 53),
            ("udp", 123),
            ("udp", 443),
            ("udp", 8),
            ("udp", 55555),
            ("sctp", 2905),
            ("sctp", 3868),
            ("dccp", 5004),
        ],
        "demo",
    );
    let has = |needle: &str| rows.iter().any(|r| r.protocols.contains(needle));
    assert!(has("eth:ethertype:arp"), "no ARP");
    assert!(has("ip:icmp:ip:udp"), "no ICMP error quoting UDP");
    assert!(has("ipv6:tcp"), "no IPv6");
    assert!(has("vlan"), "no VLAN");
    assert!(rows.iter().any(|r| r.caplen < r.len), "no truncated frame");
    // With defragmentation off, the second fragment shows no transport.
    assert!(
        rows.iter()
            .any(|r| r.protocols == "eth:ethertype:ip:data" && r.ports.is_empty()),
        "no later fragment"
    );
    assert!(
        rows.iter().all(|r| !r.malformed),
        "malformed frames in the demo"
    );
}

#[test]
fn sctp_dccp_icmp_and_truncated_kinds_decode() {
    if !have("tshark") {
        return;
    }
    let (rows, _) = generate_and_read(SynthConfig::new(Kind::Sctp));
    assert_has(&rows, &[("sctp", 2905), ("sctp", 3868)], "sctp");
    assert!(rows.iter().all(|r| r.protocols.contains(":sctp")));
    let (rows, _) = generate_and_read(SynthConfig::new(Kind::Dccp));
    assert_has(&rows, &[("dccp", 5004), ("dccp", 5005)], "dccp");
    assert!(rows
        .iter()
        .all(|r| r.protocols.contains(":dccp") && !r.malformed));
    let (rows, _) = generate_and_read(SynthConfig::new(Kind::IcmpErrors));
    let errors = rows.iter().filter(|r| r.protocols.contains("icmp")).count();
    assert_eq!(errors, 3, "one ICMP/ICMPv6 error per probe");
    assert!(rows.iter().any(|r| r.protocols.contains("icmpv6:ipv6:udp")));
    let (rows, packets) = generate_and_read(SynthConfig::new(Kind::Truncated));
    assert_eq!(rows.len() as u64, packets);
    assert!(rows.iter().filter(|r| r.caplen < r.len).count() > 20);
}

const TS: Timestamp = Timestamp {
    secs: 1_700_000_000,
    nanos: 123_456_789,
    digits: 9,
};

/// A 60-byte Ethernet/IPv4/UDP frame, 10.0.0.1:5353 -> 10.0.0.2:53 (checksums zero).
fn udp_frame() -> Vec<u8> {
    let mut frame = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    frame.extend_from_slice(&[
        0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    frame.extend_from_slice(&[0x14, 0xe9, 0, 53, 0, 8, 0, 0]);
    frame.resize(60, 0);
    frame
}

#[test]
fn writers_output_reads_back_in_tshark_and_tcpdump() {
    if !have("tshark") || !have("tcpdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let frame = udp_frame();

    let pcap = dir.path().join("nanos.pcap");
    let mut writer = PcapWriter::new(
        std::fs::File::create(&pcap).unwrap(),
        LinkType::ETHERNET,
        65535,
        PcapResolution::Nanos,
    )
    .unwrap();
    writer
        .write_frame(TS, 60, LinkType::ETHERNET, &frame)
        .unwrap();
    writer
        .write_frame(TS, 1500, LinkType::ETHERNET, &frame[..42])
        .unwrap();
    writer.flush().unwrap();
    drop(writer);

    let pcapng = dir.path().join("two-links.pcapng");
    let mut writer = PcapngWriter::new(std::fs::File::create(&pcapng).unwrap(), 65535).unwrap();
    writer
        .write_frame(TS, 60, LinkType::ETHERNET, &frame)
        .unwrap();
    writer
        .write_frame(TS, 28, LinkType::RAW, &frame[14..42])
        .unwrap();
    writer.flush().unwrap();
    drop(writer);

    for path in [&pcap, &pcapng] {
        let output = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(path)
            .args(["-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len"])
            .args([
                "-e",
                "frame.cap_len",
                "-e",
                "udp.port",
                "-e",
                "frame.protocols",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(rows.len(), 2, "{}: {text}", path.display());
        for row in &rows {
            assert_eq!(
                row[0], "1700000000.123456789",
                "nanosecond timestamps survive"
            );
            assert_eq!(row[3], "5353,53");
        }
        if path == &pcap {
            assert_eq!(
                (rows[1][1], rows[1][2]),
                ("1500", "42"),
                "orig len vs caplen"
            );
        } else {
            assert!(rows[1][4].starts_with("raw:ip:udp"), "second IDB is raw IP");
        }
    }
    // tcpdump (libpcap) reads the pcap, and the pcapng when it has one link type only.
    let output = Command::new("tcpdump")
        .args(["-nn", "-tt", "--time-stamp-precision=nano", "-r"])
        .arg(&pcap)
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.starts_with("1700000000.123456789 IP 10.0.0.1.5353 > 10.0.0.2.53"),
        "{text}"
    );
}

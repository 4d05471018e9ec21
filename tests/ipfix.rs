//! `--ipfix HOST:PORT` (issue 17) against real collectors: nfdump's nfcapd stores the export
//! and `nfdump -o csv` shows the same 5-tuples, packets and bytes as `portnote flows`;
//! tshark's IPFIX dissector decodes every record with its service as applicationId (IE 95) and
//! applicationName (IE 96), and sequence numbers as RFC 7011 counts them. A collector that is
//! down is reported once and stops nothing.

use crate::util::{self, Need};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{IpAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One direction of a flow as a collector shows it: (source, source port, destination,
/// destination port, transport), with (packets, bytes).
type Uniflow = (IpAddr, u16, IpAddr, u16, String);

/// The bundled demo capture (TCP, UDP and SCTP; assigned, unassigned and dynamic ports) and,
/// with ../shared, a public capture with TCP and UDP over IPv4 and IPv6.
fn captures(what: &str) -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("captures/demo.pcapng")];
    if let Some(shared) = util::shared_dir(what) {
        files.push(shared.join("captures/public/pcapplusplus--many-protocols.pcap"));
    }
    files
}

/// A UDP port nothing listens on at the moment.
fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `portnote flows ARGS` with its records parsed: (exit code, records, stderr).
fn flows(args: &[&str]) -> (i32, Vec<Value>, String) {
    let mut all = vec!["flows"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = util::portnote(&all);
    let records = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    (code, records, stderr)
}

/// What a collector should see of `records`: each flow as its client-to-server and
/// server-to-client directions (those with packets), with their packets and bytes.
fn expected_uniflows(records: &[Value]) -> BTreeMap<Uniflow, (u64, u64)> {
    let mut expected = BTreeMap::new();
    for r in records {
        let addr = |f: &str| r[f].as_str().unwrap().parse::<IpAddr>().unwrap();
        let port = |f: &str| r[f].as_u64().unwrap() as u16;
        let n = |f: &str| r[f].as_u64().unwrap();
        let transport = r["transport"].as_str().unwrap().to_string();
        let (client, server) = (addr("client"), addr("server"));
        let (cport, sport) = (port("client_port"), port("server_port"));
        for (key, packets, bytes) in [
            (
                (client, cport, server, sport, transport.clone()),
                n("packets_c2s"),
                n("bytes_c2s"),
            ),
            (
                (server, sport, client, cport, transport.clone()),
                n("packets_s2c"),
                n("bytes_s2c"),
            ),
        ] {
            if packets > 0 {
                let e: &mut (u64, u64) = expected.entry(key).or_default();
                e.0 += packets;
                e.1 += bytes;
            }
        }
    }
    expected
}

/// Fails with the directions that differ (not two maps of hundreds of entries).
fn assert_same(
    seen: &BTreeMap<Uniflow, (u64, u64)>,
    expected: &BTreeMap<Uniflow, (u64, u64)>,
    what: &str,
) {
    let differ: Vec<String> = expected
        .keys()
        .chain(seen.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| seen.get(*k) != expected.get(*k))
        .map(|k| {
            format!(
                "{k:?}: seen {:?}, expected {:?}",
                seen.get(k),
                expected.get(k)
            )
        })
        .collect();
    assert!(
        differ.is_empty(),
        "{what}: {} of {} directions differ:\n{}",
        differ.len(),
        expected.len(),
        differ.join("\n")
    );
}

/// An nfcapd on 127.0.0.1:`port` writing into `dir`; stopped with SIGTERM (which makes it
/// write out its file) by [`Nfcapd::stop`], killed on drop.
struct Nfcapd {
    child: Child,
    netns: Option<String>,
    port: u16,
}

impl Nfcapd {
    fn start(dir: &Path, port: u16) -> Nfcapd {
        Nfcapd::start_in(None, dir, port)
    }

    /// [`start`](Self::start) in network namespace `netns` (`ip netns exec` execs nfcapd, so
    /// the child's id is nfcapd's).
    fn start_in(netns: Option<&str>, dir: &Path, port: u16) -> Nfcapd {
        let log = std::fs::File::create(dir.join("nfcapd.log")).unwrap();
        let flows = dir.join("flows");
        std::fs::create_dir(&flows).unwrap();
        let nfcapd = util::tool("nfcapd").unwrap();
        let mut command = match netns {
            Some(ns) => {
                let mut c = Command::new(util::tool("ip").unwrap());
                c.args(["netns", "exec", ns]).arg(nfcapd);
                c
            }
            None => Command::new(nfcapd),
        };
        let child = command
            .args(["-w", flows.to_str().unwrap(), "-b", "127.0.0.1"])
            .args(["-p", &port.to_string(), "-B", "4194304"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let nfcapd = Nfcapd {
            child,
            netns: netns.map(str::to_string),
            port,
        };
        // Ready when it says so (it binds before it starts up).
        let deadline = Instant::now() + Duration::from_secs(20);
        while !std::fs::read_to_string(dir.join("nfcapd.log"))
            .unwrap()
            .contains("Startup")
        {
            assert!(Instant::now() < deadline, "nfcapd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        nfcapd
    }

    /// The kernel's view of nfcapd's socket: (bytes queued unread, datagrams dropped), from
    /// /proc/net/udp of nfcapd's network namespace.
    fn socket_queue(&self) -> Option<(u64, u64)> {
        let table = match &self.netns {
            Some(ns) => {
                let out = Command::new(util::tool("ip").unwrap())
                    .args(["netns", "exec", ns, "cat", "/proc/net/udp"])
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout).into_owned()
            }
            None => std::fs::read_to_string("/proc/net/udp").unwrap(),
        };
        let local = format!(":{:04X}", self.port);
        table.lines().skip(1).find_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if !f.get(1)?.ends_with(&local) {
                return None;
            }
            let rx_queue = u64::from_str_radix(f.get(4)?.split(':').nth(1)?, 16).ok()?;
            Some((rx_queue, f.last()?.parse().ok()?))
        })
    }

    /// Waits until nfcapd has read every datagram sent to it (a SIGTERM while some are still
    /// queued loses them: this test failed so on a loaded machine), then SIGTERM, and waits
    /// until it has written its file and exited. Fails if the kernel dropped a datagram.
    fn stop(mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (queued, drops) = self
                .socket_queue()
                .expect("nfcapd's socket in /proc/net/udp");
            assert_eq!(drops, 0, "the kernel dropped datagrams to nfcapd");
            if queued == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "nfcapd left {queued} bytes unread"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // The last datagram nfcapd read may not be stored yet: give its loop a moment.
        std::thread::sleep(Duration::from_millis(300));
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "nfcapd did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Nfcapd {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Every flow record nfdump reads from `dir`, by direction: (packets, bytes) summed.
fn nfdump_uniflows(dir: &Path) -> BTreeMap<Uniflow, (u64, u64)> {
    let mut seen = BTreeMap::new();
    for (key, (packets, bytes)) in nfdump_records(dir) {
        let e: &mut (u64, u64) = seen.entry(key).or_default();
        e.0 += packets;
        e.1 += bytes;
    }
    seen
}

/// Every flow record nfdump reads from `dir`: its direction, packets and bytes.
fn nfdump_records(dir: &Path) -> Vec<(Uniflow, (u64, u64))> {
    let out = Command::new(util::tool("nfdump").unwrap())
        .args(["-R", dir.to_str().unwrap(), "-o", "csv"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "nfdump: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|&h| h == name).unwrap();
    let (sa, da, sp, dp, pr, ipkt, ibyt) = (
        column("sa"),
        column("da"),
        column("sp"),
        column("dp"),
        column("pr"),
        column("ipkt"),
        column("ibyt"),
    );
    let mut records = Vec::new();
    // Records until the blank line before nfdump's summary.
    for line in lines.take_while(|l| !l.trim().is_empty() && *l != "Summary") {
        let f: Vec<&str> = line.split(',').collect();
        let key = (
            f[sa].trim().parse().unwrap(),
            f[sp].trim().parse().unwrap(),
            f[da].trim().parse().unwrap(),
            f[dp].trim().parse().unwrap(),
            f[pr].trim().to_lowercase(),
        );
        let packets = f[ipkt].trim().parse::<u64>().unwrap();
        let bytes = f[ibyt].trim().parse::<u64>().unwrap();
        records.push((key, (packets, bytes)));
    }
    records
}

#[test]
fn nfcapd_stores_the_same_5_tuples_packets_and_bytes_as_flows_writes() {
    let what = "flows --ipfix into nfcapd";
    if !util::require(what, &[Need::Tool("nfcapd"), Need::Tool("nfdump")]) {
        return;
    }
    for capture in captures(what) {
        let dir = tempfile::tempdir().unwrap();
        let port = free_udp_port();
        let nfcapd = Nfcapd::start(dir.path(), port);
        let target = format!("127.0.0.1:{port}");
        let (code, records, stderr) = flows(&["--ipfix", &target, capture.to_str().unwrap()]);
        assert_eq!(code, 0, "{stderr}");
        assert!(!stderr.contains("IPFIX"), "{stderr}");
        nfcapd.stop();
        let expected = expected_uniflows(&records);
        let seen = nfdump_uniflows(&dir.path().join("flows"));
        assert!(
            expected.len() > 30,
            "{}: {} directions",
            capture.display(),
            expected.len()
        );
        assert_same(&seen, &expected, &capture.display().to_string());
        let v6 = seen.keys().filter(|k| k.0.is_ipv6()).count();
        let name = capture.to_string_lossy();
        if name.contains("many-protocols") {
            assert!(
                v6 > 0 && v6 < seen.len(),
                "IPv4 and IPv6: {v6} of {}",
                seen.len()
            );
            for transport in ["tcp", "udp"] {
                assert!(seen.keys().any(|k| k.4 == transport), "{transport}");
            }
        }
    }
}

/// The datagrams sent to `socket` until none comes for a while.
fn receive_all(socket: &UdpSocket) -> Vec<Vec<u8>> {
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut datagrams = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while let Ok(n) = socket.recv(&mut buf) {
        datagrams.push(buf[..n].to_vec());
    }
    datagrams
}

/// A pcap (link type 228, raw IPv4) of `datagrams` as UDP from port 40000 to `port` on
/// 127.0.0.1, for tshark.
fn pcap_of(datagrams: &[Vec<u8>], port: u16) -> Vec<u8> {
    let mut pcap = Vec::new();
    pcap.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic, microseconds
    pcap.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
    pcap.extend_from_slice(&4u16.to_le_bytes());
    pcap.extend_from_slice(&[0; 8]); // thiszone, sigfigs
    pcap.extend_from_slice(&65_535u32.to_le_bytes()); // snaplen
    pcap.extend_from_slice(&228u32.to_le_bytes()); // LINKTYPE_IPV4
    for (i, payload) in datagrams.iter().enumerate() {
        let udp_len = 8 + payload.len();
        let mut packet = vec![0x45, 0]; // IPv4, IHL 5; DSCP/ECN
        packet.extend_from_slice(&((20 + udp_len) as u16).to_be_bytes()); // total length
        packet.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]); // id, DF, TTL, UDP, checksum
        packet.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]); // source, destination
        packet.extend_from_slice(&40_000u16.to_be_bytes()); // source port
        packet.extend_from_slice(&port.to_be_bytes()); // destination port
        packet.extend_from_slice(&(udp_len as u16).to_be_bytes()); // UDP length
        packet.extend_from_slice(&[0, 0]); // no checksum
        packet.extend_from_slice(payload);
        pcap.extend_from_slice(&(i as u32).to_le_bytes()); // seconds
        pcap.extend_from_slice(&0u32.to_le_bytes()); // microseconds
        pcap.extend_from_slice(&(packet.len() as u32).to_le_bytes());
        pcap.extend_from_slice(&(packet.len() as u32).to_le_bytes());
        pcap.extend_from_slice(&packet);
    }
    pcap
}

/// What tshark decodes of each data record: (source, source port, destination, destination
/// port, protocol number, packets, octets, classification engine, selector (port, hex),
/// application name, flowEndReason); and each message's (sequence number, data records).
type Decoded = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

fn tshark_records(pcap: &Path, port: u16) -> (Vec<Decoded>, Vec<(u64, u64)>) {
    let config = tempfile::tempdir().unwrap();
    let out = Command::new(util::tool("tshark").unwrap())
        .env("WIRESHARK_CONFIG_DIR", config.path())
        .args(["-r", pcap.to_str().unwrap(), "-n", "-T", "json"])
        .args(["-d", &format!("udp.port=={port},cflow")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let packets: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut records = Vec::new();
    let mut messages = Vec::new();
    for packet in &packets {
        let cflow = packet["_source"]["layers"]["cflow"].as_object().unwrap();
        let sequence = cflow["cflow.sequence"].as_str().unwrap().parse().unwrap();
        let mut in_message = 0;
        for (set_name, set) in cflow {
            if !set_name.starts_with("Set ") || set_name.contains("[id=2]") {
                continue;
            }
            for (flow_name, f) in set.as_object().unwrap() {
                if !flow_name.starts_with("Flow ") {
                    continue;
                }
                in_message += 1;
                let s = |field: &str| f[field].as_str().unwrap_or_default().to_string();
                let either = |v4: &str, v6: &str| if f.get(v4).is_some() { s(v4) } else { s(v6) };
                records.push((
                    either("cflow.srcaddr", "cflow.srcaddrv6"),
                    s("cflow.srcport"),
                    either("cflow.dstaddr", "cflow.dstaddrv6"),
                    s("cflow.dstport"),
                    s("cflow.protocol"),
                    s("cflow.packets"),
                    s("cflow.octets"),
                    s("cflow.appl_id.classification_engine_id"),
                    s("cflow.appl_id.selector_id"),
                    // An empty name is a zero-length field tshark shows no string for.
                    s("cflow.appl_name"),
                    s("cflow.flow_end_reason"),
                ));
            }
        }
        messages.push((sequence, in_message));
    }
    (records, messages)
}

/// The records tshark should decode from `records`, in the same shape.
fn expected_decoded(records: &[Value]) -> Vec<Decoded> {
    let mut expected = Vec::new();
    for r in records {
        let s = |f: &str| match &r[f] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let protocol = match r["transport"].as_str().unwrap() {
            "tcp" => "6",
            "udp" => "17",
            "sctp" => "132",
            "dccp" => "33",
            other => panic!("{other}"),
        };
        let port = r["server_port"].as_u64().unwrap() as u16;
        let selector = format!("{:02x}:{:02x}", port >> 8, port & 0xff);
        let end = match s("end").as_str() {
            "idle" => "1",
            "fin" | "rst" => "3",
            "capture_end" | "revised" => "4",
            "evicted" => "5",
            other => panic!("end {other}"),
        };
        let ip = |f: &str| s(f).parse::<IpAddr>().unwrap().to_string();
        for (src, sport, dst, dport, packets, bytes) in [
            (
                "client",
                "client_port",
                "server",
                "server_port",
                "packets_c2s",
                "bytes_c2s",
            ),
            (
                "server",
                "server_port",
                "client",
                "client_port",
                "packets_s2c",
                "bytes_s2c",
            ),
        ] {
            if r[packets].as_u64().unwrap() == 0 {
                continue;
            }
            expected.push((
                ip(src),
                s(sport),
                ip(dst),
                s(dport),
                protocol.to_string(),
                s(packets),
                s(bytes),
                "3".to_string(),
                selector.clone(),
                s("service"),
                end.to_string(),
            ));
        }
    }
    expected
}

#[test]
fn tshark_decodes_every_record_with_its_service_as_ie_95_and_96() {
    let what = "flows --ipfix decoded by tshark";
    if !util::require(what, &[Need::Tool("tshark")]) {
        return;
    }
    for capture in captures(what) {
        // The default MTU, and the smallest, which splits the export into many messages.
        for mtu in ["1400", "512"] {
            let collector = UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = collector.local_addr().unwrap().port();
            let target = format!("127.0.0.1:{port}");
            let (code, records, stderr) = flows(&[
                "--ipfix",
                &target,
                "--ipfix-mtu",
                mtu,
                capture.to_str().unwrap(),
            ]);
            assert_eq!(code, 0, "{stderr}");
            let datagrams = receive_all(&collector);
            let limit: usize = mtu.parse().unwrap();
            assert!(
                datagrams.iter().all(|d| d.len() <= limit),
                "within {mtu} bytes"
            );
            let dir = tempfile::tempdir().unwrap();
            let pcap = dir.path().join("export.pcap");
            std::fs::write(&pcap, pcap_of(&datagrams, port)).unwrap();
            let (mut decoded, messages) = tshark_records(&pcap, port);
            let mut expected = expected_decoded(&records);
            assert!(expected.len() > 30);
            decoded.sort();
            expected.sort();
            assert_eq!(decoded, expected, "{} at MTU {mtu}", capture.display());
            // RFC 7011 3.1: a message's sequence number counts the data records before it.
            let mut before = 0;
            for (sequence, in_message) in &messages {
                assert_eq!(*sequence, before, "{} at MTU {mtu}", capture.display());
                before += in_message;
            }
            if mtu == "512" {
                assert!(messages.len() >= 5, "{} messages", messages.len());
            }
            // Unnamed service ports are exported too (demo.pcapng has some).
            if capture.ends_with("demo.pcapng") {
                assert!(expected.iter().any(|e| e.9.is_empty()));
            }
        }
    }
}

#[test]
fn a_collector_that_is_down_is_reported_once_and_the_records_are_all_written() {
    let port = free_udp_port();
    let target = format!("127.0.0.1:{port}");
    let (code, records, stderr) = flows(&[
        "--ipfix",
        &target,
        "--ipfix-mtu",
        "512",
        "captures/demo.pcapng",
    ]);
    let (_, without, _) = flows(&["captures/demo.pcapng"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        records, without,
        "the flow records do not depend on the collector"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("IPFIX")).collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].contains(&target) && lines[0].contains("going on"),
        "{stderr}"
    );
    // "N of M messages not sent": some failed (the ICMP port unreachable makes the send after
    // it fail), never more than were sent.
    let counts: Vec<u64> = lines[1]
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(lines[1].contains("messages not sent"), "{stderr}");
    assert!(
        counts[0] >= 1 && counts[0] <= counts[1] && counts[1] > 3,
        "{stderr}"
    );
}

#[test]
fn a_collector_that_does_not_resolve_is_a_usage_error() {
    let (code, _, stderr) = util::portnote(&[
        "flows",
        "--ipfix",
        "no-such-host.invalid:4739",
        "captures/demo.pcapng",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--ipfix no-such-host.invalid:4739"),
        "{stderr}"
    );
    let (code, _, stderr) =
        util::portnote(&["flows", "--ipfix", "127.0.0.1", "captures/demo.pcapng"]);
    assert_eq!(code, 2, "no port: {stderr}");
    let (code, _, stderr) =
        util::portnote(&["flows", "--ipfix-mtu", "600", "captures/demo.pcapng"]);
    assert_eq!(code, 2, "--ipfix-mtu needs --ipfix: {stderr}");
    let (code, _, stderr) = util::portnote(&[
        "flows",
        "--ipfix",
        "127.0.0.1:4739",
        "--ipfix-mtu",
        "100",
        "captures/demo.pcapng",
    ]);
    assert_eq!(code, 2, "MTU below 512: {stderr}");
}

/// `live` in `pair`'s capturing namespace, summary as JSON after `packets` frames, exporting
/// to `target` with `extra` options.
fn live_exporting(
    pair: &crate::live_support::NetnsPair,
    packets: u64,
    target: &str,
    extra: &[&str],
) -> crate::live_support::LiveProcess {
    let count = packets.to_string();
    let mut args = vec![
        "live", "-i", &pair.vb, "--format", "json", "--count", &count,
    ];
    args.extend(["--ipfix", target]);
    args.extend_from_slice(extra);
    crate::live_support::LiveProcess::start(Some(&pair.b), &args)
}

/// `live --ipfix` on traffic replayed into a veth pair, with nfcapd in the capturing
/// namespace: every packet reaches the collector once (interim records with delta counts, then
/// the final ones), and the final summary is still written.
#[test]
fn live_exports_interim_and_final_records_that_add_up_to_the_capture() {
    use crate::live_support::{can_capture, NetnsPair};
    let what = "live --ipfix into nfcapd";
    let Some(shared) = util::shared_dir(what) else {
        return;
    };
    if !can_capture(what, &["ip", "tcpreplay", "nfcapd", "nfdump"]) {
        return;
    }
    let capture = shared.join("captures/public/pcapplusplus--many-protocols.pcap");
    let (code, offline, stderr) = flows(&[capture.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let expected = expected_uniflows(&offline);
    // Every frame, with ports or not: live stops after the last one.
    let packets = crate::live_support::summary_json(&capture)["totals"]["packets"]
        .as_u64()
        .unwrap();

    let pair = NetnsPair::new();
    crate::live_support::run("ip", &["-n", &pair.b, "link", "set", "lo", "up"]);
    let dir = tempfile::tempdir().unwrap();
    let port = free_udp_port();
    let nfcapd = Nfcapd::start_in(Some(&pair.b), dir.path(), port);
    let target = format!("127.0.0.1:{port}");
    let live = live_exporting(&pair, packets, &target, &["--active-timeout", "0.3"]);
    // About 3 s of traffic: flows that last are exported several times while they last.
    pair.replay(&capture, 1500);
    let (code, stdout, stderr) = live.finish(Duration::from_secs(60));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("IPFIX"), "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["totals"]["packets"], packets);
    nfcapd.stop();

    let records = nfdump_records(&dir.path().join("flows"));
    let mut seen: BTreeMap<Uniflow, (u64, u64)> = BTreeMap::new();
    for (key, counts) in &records {
        let e = seen.entry(key.clone()).or_default();
        e.0 += counts.0;
        e.1 += counts.1;
    }
    assert_same(&seen, &expected, "every packet and byte once, by direction");
    assert!(
        records.len() > expected.len() + 10,
        "interim records: {} records for {} directions",
        records.len(),
        expected.len()
    );
}

/// `live --ipfix` to a port nobody listens on: the capture goes on to the end and the final
/// summary is whole; the failure is said once, then counted.
#[test]
fn live_with_its_collector_down_still_captures_everything() {
    use crate::live_support::{can_capture, summary_json, NetnsPair};
    let what = "live --ipfix with the collector down";
    let Some(shared) = util::shared_dir(what) else {
        return;
    };
    if !can_capture(what, &["ip", "tcpreplay"]) {
        return;
    }
    let capture = shared.join("captures/public/pcapplusplus--many-protocols.pcap");
    let offline = summary_json(&capture);
    let packets = offline["totals"]["packets"].as_u64().unwrap();
    let pair = NetnsPair::new();
    crate::live_support::run("ip", &["-n", &pair.b, "link", "set", "lo", "up"]);
    let target = format!("127.0.0.1:{}", free_udp_port());
    let live = live_exporting(
        &pair,
        packets,
        &target,
        &["--ipfix-mtu", "512", "--active-timeout", "0.2"],
    );
    pair.replay(&capture, 3000);
    let (code, stdout, stderr) = live.finish(Duration::from_secs(60));
    assert_eq!(code, 0, "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    crate::live_support::assert_same_traffic(&summary, &offline, "live with --ipfix down");
    assert_eq!(summary["capture_stats"]["stopped_by"], "count");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("IPFIX")).collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines[0].contains("going on"), "{stderr}");
    assert!(lines[1].contains("messages not sent"), "{stderr}");
}

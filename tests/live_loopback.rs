//! Issue 5 on the loopback interface: real TCP and UDP exchanges made by this test, on ports
//! IANA leaves unassigned (4/tcp, 8/udp), captured by `portnote live -i lo -f 'port 4 or port 8'`
//! and stopped with Ctrl-C (SIGINT). Also the errors that need no privilege.
//!
//! The capture tests need root; without it they skip with a notice, and under `CI=true` they
//! fail instead.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

mod common;
mod live_support;

use live_support::{assert_same_traffic, can_capture, run, summary_json, LiveProcess};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::Duration;

/// Unassigned in the IANA registry, for TCP and for UDP.
const TCP_PORT: u16 = 4;
const UDP_PORT: u16 = 8;
const UDP_DATAGRAMS: u64 = 5;
const UDP_PAYLOAD: usize = 100;
const TCP_MESSAGES: usize = 3;
const TCP_PAYLOAD: usize = 1000;

/// Ethernet (lo's link type on Linux) + IPv4 + UDP headers.
const UDP_FRAME_OVERHEAD: u64 = 14 + 20 + 8;

/// A TCP echo of three 1000-byte messages and five UDP datagrams answered one by one.
fn exchange_traffic() {
    let listener = TcpListener::bind(("127.0.0.1", TCP_PORT)).unwrap();
    let server = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; TCP_PAYLOAD];
        for _ in 0..TCP_MESSAGES {
            conn.read_exact(&mut buf).unwrap();
            conn.write_all(&buf).unwrap();
        }
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest).unwrap();
    });
    let mut client = TcpStream::connect(("127.0.0.1", TCP_PORT)).unwrap();
    let mut echo = vec![0u8; TCP_PAYLOAD];
    for i in 0..TCP_MESSAGES {
        client.write_all(&vec![i as u8; TCP_PAYLOAD]).unwrap();
        client.read_exact(&mut echo).unwrap();
    }
    client.shutdown(Shutdown::Write).unwrap();
    server.join().unwrap();
    drop(client);

    let udp_server = UdpSocket::bind(("127.0.0.1", UDP_PORT)).unwrap();
    let udp_client = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp_client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 2048];
    for i in 0..UDP_DATAGRAMS {
        udp_client
            .send_to(&[i as u8; UDP_PAYLOAD], ("127.0.0.1", UDP_PORT))
            .unwrap();
        let (len, from) = udp_server.recv_from(&mut buf).unwrap();
        udp_server.send_to(&buf[..len], from).unwrap();
        udp_client.recv_from(&mut buf).unwrap();
    }
}

#[test]
fn loopback_tcp_and_udp_on_unassigned_ports_are_flagged_with_exact_counts() {
    if !can_capture("the live loopback test", &["tcpdump"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("lo.pcapng");
    let filter = format!("port {TCP_PORT} or port {UDP_PORT}");
    let live = LiveProcess::start(
        None,
        &[
            "live",
            "-i",
            "lo",
            "-f",
            &filter,
            "--format",
            "json",
            "--write",
            written.to_str().unwrap(),
        ],
    );
    exchange_traffic();
    // Let the last packets reach the capture before Ctrl-C.
    thread::sleep(Duration::from_millis(300));
    live.signal("INT");
    let (code, stdout, stderr) = live.finish(Duration::from_secs(20));
    assert_eq!(code, 0, "{stderr}");
    let live: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(live["capture_stats"]["stopped_by"], "interrupt");
    assert_eq!(live["capture_stats"]["filter"], filter.as_str());

    let rows = live["rows"].as_array().unwrap();
    let row = |transport: &str, port: u16| {
        rows.iter()
            .find(|r| r["transport"] == transport && r["ports"] == serde_json::json!([port]))
            .unwrap_or_else(|| panic!("no {transport}/{port} row in {rows:?}"))
    };

    // UDP: five requests to port 8, five answers from it; every frame the same size.
    let udp = row("udp", UDP_PORT);
    assert_eq!(udp["section"], "unassigned");
    assert_eq!(udp["status"], "unassigned");
    assert_eq!(udp["flows"], 1);
    assert_eq!(udp["packets_to_server"], UDP_DATAGRAMS);
    assert_eq!(udp["packets_to_client"], UDP_DATAGRAMS);
    let frame = UDP_FRAME_OVERHEAD + UDP_PAYLOAD as u64;
    assert_eq!(udp["bytes"], 2 * UDP_DATAGRAMS * frame);
    assert_eq!(udp["servers"], serde_json::json!(["127.0.0.1"]));

    // TCP: one connection to port 4, its server side decided by the SYN. Segment counts depend
    // on the kernel (ACK coalescing), so they are checked against tcpdump reading the saved
    // file, and the payload against its lower bound.
    let tcp = row("tcp", TCP_PORT);
    assert_eq!(tcp["section"], "unassigned");
    assert_eq!(tcp["flows"], 1);
    let by_tcpdump = |expr: &str| {
        run("tcpdump", &["-nn", "-r", written.to_str().unwrap(), expr])
            .lines()
            .count() as u64
    };
    assert_eq!(tcp["packets"], by_tcpdump(&format!("tcp port {TCP_PORT}")));
    assert_eq!(
        tcp["packets_to_server"],
        by_tcpdump(&format!("tcp dst port {TCP_PORT}"))
    );
    assert_eq!(udp["packets"], by_tcpdump(&format!("udp port {UDP_PORT}")));
    // SYN, SYN-ACK, ACK, three messages each way, FIN each way at least.
    assert!(tcp["packets"].as_u64().unwrap() >= 3 + 2 * TCP_MESSAGES as u64 + 2);
    let payload = (2 * TCP_MESSAGES * TCP_PAYLOAD) as u64;
    assert!(tcp["bytes"].as_u64().unwrap() > payload);

    // Nothing but the two exchanges passed the filter.
    assert_eq!(live["rows"].as_array().unwrap().len(), 2, "{rows:?}");
    assert_eq!(
        live["totals"]["packets"].as_u64().unwrap(),
        tcp["packets"].as_u64().unwrap() + udp["packets"].as_u64().unwrap()
    );
    // The kernel counts each loopback packet twice (out and in; libpcap drops the outgoing
    // copy after counting), so libpcap's `received` is at least what was read, here double.
    let received = live["capture_stats"]["received"].as_u64().unwrap();
    assert!(received >= live["totals"]["packets"].as_u64().unwrap());
    assert_eq!(live["capture_stats"]["dropped"], 0);

    // And the saved file says the same offline.
    assert_same_traffic(&live, &summary_json(&written), "live vs --write file");

    // Issue 16: each saved packet carries its portnote comment, all on unassigned ports here.
    if live_support::tool("tshark").is_none() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true but tshark is missing: the --write comments cannot be checked"
        );
        eprintln!("NOTICE: tshark is not installed; SKIPPING the check of --write's comments");
        return;
    }
    let comments = run(
        "tshark",
        &[
            "-n",
            "-r",
            written.to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "frame.comment",
        ],
    );
    let comments: Vec<&str> = comments.lines().collect();
    assert_eq!(
        comments.len() as u64,
        live["totals"]["packets"].as_u64().unwrap()
    );
    for comment in &comments {
        assert!(
            comment.starts_with("portnote: ") && comment.contains(" status=unassigned "),
            "{comment}"
        );
    }
    let udp_to_server = comments
        .iter()
        .filter(|c| c.starts_with("portnote: udp ") && c.contains("server=dst"))
        .count() as u64;
    assert_eq!(udp_to_server, UDP_DATAGRAMS);
}

#[test]
fn unknown_interface_is_refused_with_the_valid_ones() {
    let (code, stdout, stderr) =
        common::portnote(&["live", "-i", "no-such-if0", "--format", "json"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("no-such-if0: no such interface; valid interfaces: "),
        "{stderr}"
    );
    // Every Linux machine has a loopback interface, and libpcap lists it.
    let valid = stderr.split("valid interfaces: ").nth(1).unwrap();
    assert!(
        valid.split(", ").any(|name| name.trim() == "lo"),
        "{stderr}"
    );
}

#[test]
fn list_shows_the_loopback_interface_up_with_its_address() {
    let (code, stdout, stderr) = common::portnote(&["live", "--list"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("interface\tstate\tlink type\taddresses\n"));
    let lo = stdout
        .lines()
        .find(|l| l.starts_with("lo\t"))
        .unwrap_or_else(|| panic!("no lo line: {stdout}"));
    let fields: Vec<&str> = lo.split('\t').collect();
    assert!(fields[1].starts_with("up"), "{lo}");
    assert!(fields[3].split(' ').any(|a| a == "127.0.0.1/8"), "{lo}");
}

#[test]
fn a_bad_filter_names_the_filter() {
    if !can_capture("the live bad-filter test", &[]) {
        return;
    }
    let (code, _, stderr) = common::portnote(&["live", "-i", "lo", "-f", "port nonsense"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("lo: filter \"port nonsense\": "),
        "{stderr}"
    );
}

#[test]
fn without_capture_permission_the_error_says_how_to_get_it() {
    // Root drops to nobody for this one, through setpriv (util-linux).
    if !can_capture("the live permission test", &["setpriv"]) {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("portnote");
    std::fs::copy(env!("CARGO_BIN_EXE_portnote"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new(live_support::tool("setpriv").unwrap())
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .args(["live", "-i", "lo", "--count", "1"])
        // nobody cannot read root's home, where a saved registry would be looked for.
        .env("HOME", dir.path())
        .env_remove("XDG_DATA_HOME")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("portnote: lo: "), "{stderr}");
    assert!(
        stderr.contains("run portnote as root, or grant them once with `sudo setcap cap_net_raw,cap_net_admin=eip $(which portnote)`"),
        "{stderr}"
    );
}

//! Issue 5, on real traffic: captures replayed with tcpreplay into one end of a veth pair between
//! two fresh network namespaces, and `portnote live` capturing on the other end, must count
//! exactly what `portnote summary` counts of the same file. Also: NDJSON snapshots while the
//! traffic flows, SIGTERM, --duration on a silent link, and an interface that goes away.
//!
//! These need root, `ip` and `tcpreplay`; without them they skip with a notice, and under
//! `CI=true` they fail instead (.ci/run installs the tools).

use crate::util;

use crate::live_support::{assert_same_traffic, can_capture, summary_json, LiveProcess, NetnsPair};
use std::time::Duration;

const TOOLS: &[&str] = &["ip", "tcpreplay"];

/// Ethernet, 4,709 frames up to 1,414 bytes, none truncated (tcpreplay sends only the
/// captured bytes, so a truncated frame would arrive shorter than its recorded length).
const MANY_PROTOCOLS: &str = "captures/public/pcapplusplus--many-protocols.pcap";
/// Ethernet, 44 frames of one TLS session.
const TLS: &str = "captures/public/pcapplusplus--tls.pcap";

#[test]
fn live_capture_of_a_replayed_capture_equals_its_offline_summary() {
    let Some(shared) = util::shared_dir("the live replay test") else {
        return;
    };
    if !can_capture("the live replay test", TOOLS) {
        return;
    }
    let capture = shared.join(MANY_PROTOCOLS);
    let offline = summary_json(&capture);
    let packets = offline["totals"]["packets"].as_u64().unwrap();
    assert_eq!(packets, 4709, "the capture this test was written for");

    let pair = NetnsPair::new();
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("live.pcapng");
    let live = LiveProcess::start(
        Some(&pair.b),
        &[
            "live",
            "-i",
            &pair.vb,
            "--format",
            "json",
            "--count",
            &packets.to_string(),
            "--write",
            written.to_str().unwrap(),
        ],
    );
    pair.replay(&capture, 2000);
    let (code, stdout, stderr) = live.finish(Duration::from_secs(60));
    assert_eq!(code, 0, "{stderr}");
    let live: serde_json::Value = serde_json::from_str(&stdout).unwrap();

    assert_same_traffic(&live, &offline, "live vs summary");
    let stats = &live["capture_stats"];
    assert_eq!(stats["stopped_by"], "count");
    assert_eq!(stats["received"], packets);
    assert_eq!(stats["dropped"], 0);
    assert_eq!(stats["interface"], pair.vb.as_str());
    assert_eq!(stats["linktype"], 1);
    assert_eq!(live["inputs"][0]["file"], pair.vb.as_str());
    assert_eq!(live["inputs"][0]["packets"], packets);
    assert!(live["inputs"][0]["error"].is_null());

    // What --write saved annotates offline to the same summary again.
    let rewritten = summary_json(&written);
    assert_same_traffic(&rewritten, &offline, "--write file vs original");
}

#[test]
fn ndjson_snapshots_follow_the_traffic_and_sigterm_prints_the_final_one() {
    let Some(shared) = util::shared_dir("the live NDJSON test") else {
        return;
    };
    if !can_capture("the live NDJSON test", TOOLS) {
        return;
    }
    let capture = shared.join(TLS);
    let offline = summary_json(&capture);
    let pair = NetnsPair::new();
    let live = LiveProcess::start(
        Some(&pair.b),
        &[
            "live",
            "-i",
            &pair.vb,
            "--format",
            "ndjson",
            "--interval",
            "0.2",
        ],
    );
    // 44 packets at 40 per second: a little over a second, several intervals.
    pair.replay(&capture, 40);
    std::thread::sleep(Duration::from_millis(500));
    live.signal("TERM");
    let (code, stdout, stderr) = live.finish(Duration::from_secs(20));
    assert_eq!(code, 0, "{stderr}");

    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines.len() >= 5,
        "expected a line per 0.2 s: {}",
        lines.len()
    );
    let (last, snapshots) = lines.split_last().unwrap();
    assert_eq!(last["snapshot"]["final"], true);
    assert_eq!(last["capture_stats"]["stopped_by"], "terminate");
    assert!(snapshots.iter().all(|s| s["snapshot"]["final"] == false));
    assert!(snapshots
        .iter()
        .all(|s| s["capture_stats"]["stopped_by"].is_null()));
    assert_same_traffic(last, &offline, "final NDJSON line vs summary");

    // Every snapshot counts what arrived so far: never less than the one before, and its
    // rates add up to what it gained over its interval.
    let totals: Vec<u64> = lines
        .iter()
        .map(|l| l["totals"]["packets"].as_u64().unwrap())
        .collect();
    assert!(totals.windows(2).all(|w| w[0] <= w[1]), "{totals:?}");
    assert!(
        totals.iter().any(|&t| t > 0 && t < 44),
        "some snapshot fell mid-replay: {totals:?}"
    );
    let mut previous_with_ports = 0u64;
    for line in &lines {
        let with_ports = line["totals"]["packets_with_ports"].as_u64().unwrap();
        let seconds = line["snapshot"]["interval_seconds"].as_f64().unwrap();
        let rate_packets: f64 = line["snapshot"]["rates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["packets_per_second"].as_f64().unwrap() * seconds)
            .sum();
        let gained = with_ports - previous_with_ports;
        assert!(
            (rate_packets - gained as f64).abs() < 0.01,
            "rates say {rate_packets} packets, totals gained {gained}"
        );
        previous_with_ports = with_ports;
    }
}

#[test]
fn duration_ends_a_capture_on_a_silent_link() {
    if util::shared_dir("the live --duration test").is_none() {
        return;
    }
    if !can_capture("the live --duration test", TOOLS) {
        return;
    }
    let pair = NetnsPair::new();
    let started = std::time::Instant::now();
    let live = LiveProcess::start(
        Some(&pair.b),
        &[
            "live",
            "-i",
            &pair.vb,
            "--format",
            "json",
            "--duration",
            "0.5",
        ],
    );
    let (code, stdout, stderr) = live.finish(Duration::from_secs(20));
    assert_eq!(code, 0, "{stderr}");
    assert!(started.elapsed() >= Duration::from_millis(500));
    let live: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(live["totals"]["packets"], 0);
    assert_eq!(live["capture_stats"]["stopped_by"], "duration");
    let elapsed = live["capture_stats"]["elapsed_seconds"].as_f64().unwrap();
    assert!((0.5..5.0).contains(&elapsed), "elapsed {elapsed}");
}

#[test]
fn interface_going_away_ends_with_the_final_summary_and_exit_2() {
    if util::shared_dir("the live interface-removal test").is_none() {
        return;
    }
    if !can_capture("the live interface-removal test", TOOLS) {
        return;
    }
    let pair = NetnsPair::new();
    let live = LiveProcess::start(Some(&pair.b), &["live", "-i", &pair.vb, "--format", "json"]);
    pair.delete_link();
    let (code, stdout, stderr) = live.finish(Duration::from_secs(20));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("{}: capture ended", pair.vb)),
        "{stderr}"
    );
    let live: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(live["capture_stats"]["stopped_by"], "error");
    assert!(live["capture_stats"]["error"].is_string());
    assert!(live["inputs"][0]["error"].is_string());
    assert_eq!(live["totals"]["capture_errors"], 1);
}

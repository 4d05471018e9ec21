//! Issue 17, the Prometheus half, against a real Prometheus server: a capture replayed into a
//! veth pair, `portnote live --metrics` capturing on the far end, and Prometheus (the Debian
//! package's `/usr/bin/prometheus`, its own config and data directory in a tempdir, scraping
//! every second) in the same network namespace, so both listen on that namespace's own
//! loopback and nothing clashes with a Prometheus of the host on :9090. The test asks
//! Prometheus's HTTP API (`/api/v1/query`, with curl run in the namespace) for the counters and
//! compares them with the offline `summary --format json` of the same capture. A second test
//! checks that every query of the Grafana dashboard (contrib/grafana/portnote.json) names only
//! metrics a real scrape of `/metrics` serves, and that Prometheus accepts it.
//!
//! Needs root, `ip`, `tcpreplay`, `prometheus` and `curl`; without them these skip with a
//! notice, and under `CI=true` they fail (.ci/run installs them).

use crate::live_support::{can_capture, rows_by_key, run, summary_json, LiveProcess, NetnsPair};
use crate::util::{self, tool};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOOLS: &[&str] = &["ip", "tcpreplay", "prometheus", "curl"];

/// Ethernet, 4,709 frames of many protocols (see live_netns.rs), 32 of them without ports.
const MANY_PROTOCOLS: &str = "captures/public/pcapplusplus--many-protocols.pcap";

/// Inside the namespace: where portnote serves its metrics and where Prometheus listens.
const METRICS: &str = "127.0.0.1:9185";
const PROMETHEUS: &str = "127.0.0.1:9190";

/// A Prometheus server in a network namespace, killed on drop.
struct Prometheus {
    child: Child,
    netns: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus in `netns` scraping portnote at [`METRICS`] every second, and waits
    /// until it is ready.
    fn start(netns: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: portnote\n    static_configs:\n      \
                 - targets: ['{METRICS}']\n"
            ),
        )
        .unwrap();
        let data = dir.path().join("data");
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(tool("ip").unwrap())
            .args(["netns", "exec", netns])
            .arg(tool("prometheus").unwrap())
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address={PROMETHEUS}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let prometheus = Prometheus {
            child,
            netns: netns.to_string(),
            _dir: dir,
        };
        prometheus.wait_for("Prometheus ready", Duration::from_secs(60), || {
            prometheus
                .curl(&format!("http://{PROMETHEUS}/-/ready"))
                .is_some()
        });
        prometheus
    }

    /// curl in the namespace: the body of a successful answer, `None` on any failure.
    fn curl(&self, url: &str) -> Option<String> {
        let out = Command::new(tool("ip").unwrap())
            .args(["netns", "exec", &self.netns])
            .arg(tool("curl").unwrap())
            .args(["-sf", "--max-time", "5", url])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `/api/v1/query?query=EXPR`: the result vector, or the error Prometheus gave.
    fn query(&self, expr: &str) -> Result<Vec<serde_json::Value>, String> {
        let mut command = Command::new(tool("ip").unwrap());
        let out = command
            .args(["netns", "exec", &self.netns])
            .arg(tool("curl").unwrap())
            .args(["-s", "--max-time", "5", "-G", "--data-urlencode"])
            .arg(format!("query={expr}"))
            .arg(format!("http://{PROMETHEUS}/api/v1/query"))
            .output()
            .unwrap();
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&out.stdout)))?;
        if answer["status"] != "success" {
            return Err(answer.to_string());
        }
        Ok(answer["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// Each sample of `expr`'s result: its labels and value.
    fn samples(&self, expr: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        self.query(expr)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
            .iter()
            .map(|sample| {
                let labels = sample["metric"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect();
                let value = sample["value"][1].as_str().unwrap().parse().unwrap();
                (labels, value)
            })
            .collect()
    }

    fn wait_for(&self, what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while !done() {
            assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The setup both tests share: `capture` replayed into a fresh veth pair while `portnote live
/// --metrics` captures on it and Prometheus scrapes it; returned once Prometheus has scraped
/// every packet.
struct Replayed {
    prometheus: Prometheus,
    live: LiveProcess,
    offline: serde_json::Value,
    _pair: NetnsPair,
}

fn replay_under_prometheus(check: &str) -> Option<Replayed> {
    let shared = util::shared_dir(check)?;
    if !can_capture(check, TOOLS) {
        return None;
    }
    let capture: PathBuf = shared.join(MANY_PROTOCOLS);
    let offline = summary_json(&capture);
    let packets = offline["totals"]["packets"].as_u64().unwrap();
    assert_eq!(packets, 4709, "the capture this test was written for");

    let pair = NetnsPair::new();
    // A fresh namespace's loopback is down; portnote and Prometheus talk over it.
    run("ip", &["-n", &pair.b, "link", "set", "lo", "up"]);
    let live = LiveProcess::start(
        Some(&pair.b),
        &[
            "live",
            "-i",
            &pair.vb,
            "--quiet",
            "--metrics",
            METRICS,
            "--interval",
            "0.5",
        ],
    );
    let prometheus = Prometheus::start(&pair.b);
    pair.replay(&capture, 2000);
    // Every packet counted: in a service's series or under a reason without ports.
    let everything = "sum(portnote_packets_total) + sum(portnote_packets_without_ports_total)";
    prometheus.wait_for(
        "Prometheus scraping every replayed packet",
        Duration::from_secs(60),
        || {
            prometheus
                .samples(everything)
                .first()
                .is_some_and(|(_, value)| *value as u64 == packets)
        },
    );
    Some(Replayed {
        prometheus,
        live,
        offline,
        _pair: pair,
    })
}

/// A series' row key as `live_support::rows_by_key` makes it: `transport/service`, or
/// `transport/port` for an unnamed port.
fn row_key(labels: &BTreeMap<String, String>) -> String {
    let transport = &labels["transport"];
    match labels["service"].as_str() {
        "" => format!("{transport}/{}", labels["port"]),
        service => format!("{transport}/{service}"),
    }
}

/// `metric`'s value per row key, as Prometheus has it now.
fn per_row(prometheus: &Prometheus, metric: &str) -> BTreeMap<String, u64> {
    let mut values = BTreeMap::new();
    for (labels, value) in prometheus.samples(metric) {
        assert!(
            values.insert(row_key(&labels), value as u64).is_none(),
            "{metric}: two series for {labels:?}"
        );
    }
    values
}

#[test]
fn prometheus_scrapes_the_same_bytes_and_packets_per_service_as_the_offline_summary() {
    let Some(run) = replay_under_prometheus("the Prometheus scrape test") else {
        return;
    };
    let prometheus = &run.prometheus;
    let up = prometheus.samples("up{job=\"portnote\"}");
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].1, 1.0, "the portnote target is up");

    let offline = rows_by_key(&run.offline);
    let packets = per_row(prometheus, "portnote_packets_total");
    let bytes = per_row(prometheus, "portnote_bytes_total");
    let flows = per_row(prometheus, "portnote_flows_total");
    let keys: Vec<&String> = offline.keys().collect();
    assert_eq!(
        packets.keys().collect::<Vec<_>>(),
        keys,
        "one series per row"
    );
    for (key, row) in &offline {
        assert_eq!(
            Some(&row["packets"].as_u64().unwrap()),
            packets.get(key),
            "{key} packets"
        );
        assert_eq!(
            Some(&row["bytes"].as_u64().unwrap()),
            bytes.get(key),
            "{key} bytes"
        );
        assert_eq!(
            Some(&row["flows"].as_u64().unwrap()),
            flows.get(key),
            "{key} flows"
        );
    }
    // Labels carry the row's status, class and section.
    for (labels, _) in prometheus.samples("portnote_bytes_total") {
        let row = &offline[&row_key(&labels)];
        for field in ["status", "class", "section"] {
            assert_eq!(row[field], labels[field].as_str(), "{labels:?} {field}");
        }
    }

    let reasons: BTreeMap<String, u64> = prometheus
        .samples("portnote_packets_without_ports_total")
        .into_iter()
        .map(|(labels, value)| (labels["reason"].clone(), value as u64))
        .collect();
    let offline_reasons: BTreeMap<String, u64> = run.offline["no_ports"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(reason, packets)| (reason.clone(), packets.as_u64().unwrap()))
        .collect();
    assert_eq!(reasons, offline_reasons, "packets without ports by reason");

    let received = prometheus.samples("portnote_capture_packets_received_total");
    assert_eq!(received[0].1 as u64, run.offline["totals"]["packets"]);
    let dropped = prometheus.samples("portnote_capture_packets_dropped_total");
    assert_eq!(dropped[0].1, 0.0);

    // The capture stops cleanly on SIGTERM, the metrics server with it, and --quiet printed
    // nothing.
    run.live.signal("TERM");
    let (code, stdout, stderr) = run.live.finish(Duration::from_secs(20));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "", "--quiet");
    assert!(
        stderr.contains(&format!("serving metrics on http://{METRICS}/metrics")),
        "{stderr}"
    );
}

/// PromQL expressions of the dashboard (panel targets) and the Grafana-only queries of its
/// variables (`label_values(...)`), read from the JSON.
fn dashboard_queries(path: &Path) -> (Vec<String>, Vec<String>) {
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            exprs.push(target["expr"].as_str().unwrap().to_string());
        }
    }
    let variables = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["definition"].as_str().map(str::to_string))
        .collect();
    (exprs, variables)
}

/// Identifiers in `text` that start with `portnote_`: metric names, in PromQL.
fn portnote_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("portnote_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

#[test]
fn the_grafana_dashboard_queries_only_metrics_portnote_serves() {
    let dashboard = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/grafana/portnote.json");
    let (exprs, variables) = dashboard_queries(&dashboard);
    assert!(exprs.len() >= 8, "panels: {exprs:?}");
    let Some(run) = replay_under_prometheus("the Grafana dashboard test") else {
        return;
    };
    // What a scrape of /metrics serves, straight from portnote.
    let scrape = run
        .prometheus
        .curl(&format!("http://{METRICS}/metrics"))
        .expect("/metrics answers");
    let served: BTreeSet<String> = scrape
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            line.split(['{', ' '])
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(served.contains("portnote_bytes_total"), "{scrape}");

    let mut used = BTreeSet::new();
    for query in exprs.iter().chain(&variables) {
        let names = portnote_names(query);
        assert!(!names.is_empty(), "names no portnote metric: {query}");
        for name in &names {
            assert!(
                served.contains(name),
                "{query}\nuses {name}, which /metrics does not serve: {served:?}"
            );
        }
        used.extend(names);
    }
    // The dashboard shows what the issue asks for: bytes by service and section, drops.
    for needed in [
        "portnote_bytes_total",
        "portnote_capture_packets_dropped_total",
        "portnote_capture_packets_interface_dropped_total",
    ] {
        assert!(used.contains(needed), "the dashboard never shows {needed}");
    }

    // Prometheus accepts every panel query once Grafana's variables are filled in, and the
    // bytes-by-service panel finds data (once two scrapes with bytes are stored, for `rate`).
    for expr in &exprs {
        let promql = expr
            .replace("$__rate_interval", "1m")
            .replace("$__range", "1h")
            .replace("$instance", ".*");
        let result = run.prometheus.query(&promql);
        assert!(result.is_ok(), "Prometheus refused {promql}: {result:?}");
        if promql.contains("portnote_bytes_total{instance=~\".*\", section=\"assigned\"}") {
            run.prometheus.wait_for(
                &format!("data for {promql}"),
                Duration::from_secs(20),
                || {
                    run.prometheus
                        .query(&promql)
                        .is_ok_and(|samples| !samples.is_empty())
                },
            );
        }
    }
}

/// A --metrics address that does not parse or cannot be bound is a usage error before the
/// capture opens: here on an interface that does not exist, so no capture could be the cause,
/// and without root.
#[test]
fn a_bad_metrics_address_is_refused_before_the_capture_opens() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    for (address, why) in [
        (taken.as_str(), "in use"),
        ("127.0.0.1:99999", "HOST:PORT"),
        ("9185", "HOST:PORT"),
    ] {
        let (code, stdout, stderr) = util::portnote(&[
            "live",
            "-i",
            "portnote-no-such-interface",
            "--metrics",
            address,
        ]);
        assert_eq!(code, 2, "{address}: {stderr}");
        assert!(
            stderr.contains(&format!("--metrics {address:?}")) && stderr.contains(why),
            "{address}: {stderr}"
        );
        assert!(!stderr.contains("capturing on"), "{stderr}");
        assert!(
            !stderr.contains("no-such-interface"),
            "the interface was never opened: {stderr}"
        );
        assert_eq!(stdout, "");
    }
}

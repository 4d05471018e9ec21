//! Helpers for the live-capture tests: the privilege check, a pair of network namespaces joined
//! by a veth pair (removed on drop), and a `portnote live` child process that is waited for
//! until it says it is capturing and is killed on drop if it is still running.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

pub use crate::util::tool;
use crate::util::{require, Need};

/// Whether this test can capture live traffic with `tools`: root and every tool present.
/// Otherwise the shared skip policy applies (a notice and false; under `CI=true` a failure).
pub fn can_capture(what: &str, tools: &[&'static str]) -> bool {
    let needs: Vec<Need> = std::iter::once(Need::Root)
        .chain(tools.iter().map(|&name| Need::Tool(name)))
        .collect();
    require(what, &needs)
}

/// Runs a command to success, or fails the test with its output.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(tool(program).unwrap_or_else(|| PathBuf::from(program)))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

static NEXT_PAIR: AtomicU32 = AtomicU32::new(0);

/// Two network namespaces, `a` and `b`, joined by veth `va` (in `a`) and `vb` (in `b`); IPv6
/// disabled so the kernel sends nothing of its own (no router solicitations, no ND), MTU 9000.
/// Names are unique per process and pair; both namespaces are deleted on drop, which deletes
/// the veth pair too.
pub struct NetnsPair {
    pub a: String,
    pub b: String,
    pub va: String,
    pub vb: String,
}

impl NetnsPair {
    pub fn new() -> NetnsPair {
        let n = NEXT_PAIR.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}x{n}", std::process::id());
        // Interface names are limited to 15 bytes.
        let pair = NetnsPair {
            a: format!("portnote-{tag}-a"),
            b: format!("portnote-{tag}-b"),
            va: format!("pn{tag}a"),
            vb: format!("pn{tag}b"),
        };
        // From here on Drop cleans up whatever was created.
        for ns in [&pair.a, &pair.b] {
            run("ip", &["netns", "add", ns]);
            run(
                "ip",
                &[
                    "netns",
                    "exec",
                    ns,
                    "sysctl",
                    "-qw",
                    "net.ipv6.conf.all.disable_ipv6=1",
                    "net.ipv6.conf.default.disable_ipv6=1",
                ],
            );
        }
        run(
            "ip",
            &[
                "link", "add", &pair.va, "netns", &pair.a, "type", "veth", "peer", "name",
                &pair.vb, "netns", &pair.b,
            ],
        );
        for (ns, dev) in [(&pair.a, &pair.va), (&pair.b, &pair.vb)] {
            run("ip", &["-n", ns, "link", "set", dev, "mtu", "9000", "up"]);
        }
        pair
    }

    /// Deletes `va`; `vb` goes with it.
    pub fn delete_link(&self) {
        run("ip", &["-n", &self.a, "link", "del", &self.va]);
    }

    /// Sends a capture out of `va` with tcpreplay at `pps` packets per second.
    pub fn replay(&self, capture: &std::path::Path, pps: u32) -> String {
        run(
            "ip",
            &[
                "netns",
                "exec",
                &self.a,
                tool("tcpreplay").unwrap().to_str().unwrap(),
                "-q",
                "-i",
                &self.va,
                "--pps",
                &pps.to_string(),
                capture.to_str().unwrap(),
            ],
        )
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new(tool("ip").unwrap_or_else(|| PathBuf::from("ip")))
                .args(["netns", "del", ns])
                .status();
        }
    }
}

/// A running `portnote live`.
pub struct LiveProcess {
    child: Child,
    stderr_lines: mpsc::Receiver<String>,
    stderr_seen: Vec<String>,
    stdout: thread::JoinHandle<String>,
}

impl LiveProcess {
    /// Starts `portnote ARGS` (in namespace `netns` when given) and waits until it says it is
    /// capturing.
    pub fn start(netns: Option<&str>, args: &[&str]) -> LiveProcess {
        let bin = env!("CARGO_BIN_EXE_portnote");
        let mut command = match netns {
            Some(ns) => {
                let mut c = Command::new(tool("ip").unwrap());
                c.args(["netns", "exec", ns, bin]);
                c
            }
            None => Command::new(bin),
        };
        let mut child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let stdout = thread::spawn(move || {
            let mut text = String::new();
            stdout.read_to_string(&mut text).unwrap();
            text
        });
        let stderr = child.stderr.take().unwrap();
        let (tx, stderr_lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut live = LiveProcess {
            child,
            stderr_lines,
            stderr_seen: Vec::new(),
            stdout,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match live.stderr_lines.recv_timeout(left) {
                Ok(line) => {
                    let ready = line.contains("capturing on");
                    live.stderr_seen.push(line);
                    if ready {
                        break;
                    }
                }
                Err(_) => panic!(
                    "portnote live {args:?} did not start capturing: {:?}",
                    live.stderr_seen
                ),
            }
        }
        live
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`INT`, `TERM`) to this process.
    pub fn signal(&self, name: &str) {
        run("kill", &[&format!("-{name}"), &self.pid().to_string()]);
    }

    /// Waits for the process to end by itself within `limit`: (exit code, stdout, stderr).
    pub fn finish(mut self, limit: Duration) -> (i32, String, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                // Ask it to stop, so its final summary says what it saw (and dropped).
                self.signal("INT");
                thread::sleep(Duration::from_secs(3));
                let _ = self.child.kill();
                let _ = self.child.wait();
                let stdout = std::mem::replace(&mut self.stdout, thread::spawn(String::new))
                    .join()
                    .unwrap();
                panic!(
                    "portnote live did not stop within {limit:?}; stderr: {:?}; stdout: {}",
                    self.stderr_seen,
                    stdout
                        .get(stdout.len().saturating_sub(600)..)
                        .unwrap_or_default()
                );
            }
            thread::sleep(Duration::from_millis(20));
        };
        let stdout = std::mem::replace(&mut self.stdout, thread::spawn(String::new))
            .join()
            .unwrap();
        while let Ok(line) = self.stderr_lines.recv_timeout(Duration::from_secs(2)) {
            self.stderr_seen.push(line);
        }
        (
            status.code().unwrap_or(-1),
            stdout,
            self.stderr_seen.join("\n"),
        )
    }
}

impl Drop for LiveProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A summary row's counters, keyed by transport and service name (or port, unnamed).
pub type RowCounters = BTreeMap<String, serde_json::Value>;

/// Rows of a summary JSON as a map keyed `transport/service` or `transport/port`, each with
/// the counters that do not depend on time.
pub fn rows_by_key(summary: &serde_json::Value) -> BTreeMap<String, RowCounters> {
    let mut rows = BTreeMap::new();
    for row in summary["rows"].as_array().unwrap() {
        let key = match row["service"].as_str() {
            Some(name) => format!("{}/{name}", row["transport"].as_str().unwrap()),
            None => format!("{}/{}", row["transport"].as_str().unwrap(), row["ports"][0]),
        };
        let counters: RowCounters = [
            "section",
            "ports",
            "status",
            "class",
            "flows",
            "packets",
            "bytes",
            "packets_to_server",
            "bytes_to_server",
            "packets_to_client",
            "bytes_to_client",
            "servers",
        ]
        .iter()
        .map(|field| (field.to_string(), row[*field].clone()))
        .collect();
        assert!(
            rows.insert(key.clone(), counters).is_none(),
            "two rows for {key}"
        );
    }
    rows
}

/// Asserts two summaries count the same traffic: totals (packets, bytes, with and without
/// ports, flows), every row's counters, and the packets without ports by reason.
pub fn assert_same_traffic(live: &serde_json::Value, offline: &serde_json::Value, what: &str) {
    for field in [
        "packets",
        "bytes",
        "packets_with_ports",
        "packets_without_ports",
        "flows",
    ] {
        assert_eq!(
            live["totals"][field], offline["totals"][field],
            "{what}: totals.{field}"
        );
    }
    let live_rows = rows_by_key(live);
    let offline_rows = rows_by_key(offline);
    let live_keys: Vec<&String> = live_rows.keys().collect();
    let offline_keys: Vec<&String> = offline_rows.keys().collect();
    assert_eq!(live_keys, offline_keys, "{what}: row keys");
    for (key, counters) in &live_rows {
        assert_eq!(Some(counters), offline_rows.get(key), "{what}: row {key}");
    }
    assert_eq!(
        live["no_ports_detail"], offline["no_ports_detail"],
        "{what}: packets without ports"
    );
}

/// `portnote summary --format json FILE`, parsed.
pub fn summary_json(file: &std::path::Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_portnote"))
        .args(["summary", "--format", "json", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "summary {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

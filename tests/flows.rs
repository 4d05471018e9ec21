//! `portnote flows` through the binary (issue 15): the flow records add up to `summary`'s rows
//! on every capture, their Community IDs are tshark's, Parquet output reads back in DuckDB.

use crate::util;

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The bundled captures and, when present, every reference capture in ../shared.
fn captures() -> Vec<PathBuf> {
    let mut files = bundled();
    if let Some(shared) = util::shared_dir("flows on the reference captures") {
        files.extend(util::public_captures(&shared));
    }
    files
}

fn bundled() -> Vec<PathBuf> {
    ["demo.pcapng", "sctp.pcap", "dccp.pcap", "tunnel-vxlan.pcap"]
        .iter()
        .map(|f| Path::new("captures").join(f))
        .collect()
}

/// At least `with_shared` when the reference captures were read too, else `bundled_only`
/// (a fresh clone without ../shared checks the bundled captures alone).
fn at_least(files: &[PathBuf], with_shared: usize, bundled_only: usize) -> usize {
    if files.len() > bundled().len() {
        with_shared
    } else {
        bundled_only
    }
}

fn flows(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["flows"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = util::portnote(&all);
    assert!(code == 0 || code == 2, "{all:?}: exit {code}: {stderr}");
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// (transport, service or service port) as summary keys its rows.
fn row_key(transport: &Value, service: &Value, port: &Value) -> String {
    match service {
        Value::String(s) => format!("{} {s}", transport.as_str().unwrap()),
        _ => format!("{} port {port}", transport.as_str().unwrap()),
    }
}

#[test]
fn flow_records_sum_to_the_summary_rows_on_every_capture() {
    let mut records_seen = 0;
    let files = captures();
    for file in &files {
        let name = file.to_str().unwrap();
        // Reading in a thread of its own or not: the same records.
        let threads: &[&str] = if name.ends_with("demo.pcapng") {
            &["1", "2"]
        } else {
            &["2"]
        };
        for &threads in threads {
            let records = flows(&["--threads", threads, name]);
            let mut by_key: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
            for r in &records {
                let key = row_key(&r["transport"], &r["service"], &r["server_port"]);
                let e = by_key.entry(key).or_default();
                let n = |f: &str| r[f].as_u64().unwrap();
                e.0 += 1;
                e.1 += n("packets_c2s") + n("packets_s2c");
                e.2 += n("bytes_c2s") + n("bytes_s2c");
                assert!(
                    n("packets_c2s") + n("packets_s2c") > 0,
                    "{name}: empty record {r}"
                );
                let state = r["state"].as_str().unwrap();
                assert!(
                    ["answered", "unanswered", "refused"].contains(&state),
                    "{name}: state {state}"
                );
                let end = r["end"].as_str().unwrap();
                assert!(
                    ["fin", "rst", "idle", "evicted", "capture_end", "revised"].contains(&end),
                    "{name}: end {end}"
                );
            }
            let (code, stdout, stderr) = util::portnote(&["summary", "--format", "json", name]);
            assert!(code == 0 || code == 2, "{name}: {stderr}");
            let summary: Value = serde_json::from_str(&stdout).unwrap();
            let rows: BTreeMap<String, (u64, u64, u64)> = summary["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| {
                    let key = row_key(&row["transport"], &row["service"], &row["ports"][0]);
                    let n = |f: &str| row[f].as_u64().unwrap();
                    (key, (n("flows"), n("packets"), n("bytes")))
                })
                .collect();
            assert_eq!(
                by_key, rows,
                "{name} --threads {threads}: flows vs summary rows"
            );
            records_seen += records.len();
        }
    }
    // The bundled captures hold 50 flows; the reference captures thousands.
    let expected = at_least(&files, 100, 50);
    assert!(records_seen >= expected, "{records_seen} records in all");
}

#[test]
fn csv_has_the_same_records_as_ndjson() {
    let demo = "captures/demo.pcapng";
    let records = flows(&[demo]);
    let (code, csv, _) = util::portnote(&["flows", "--format", "csv", demo]);
    assert_eq!(code, 0);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let first_keys: Vec<&String> = records[0].as_object().unwrap().keys().collect();
    assert_eq!(header.len(), first_keys.len());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), records.len());
    for (row, record) in rows.iter().zip(&records) {
        for (field, value) in header.iter().zip(row.iter()) {
            match &record[field] {
                Value::Null => assert_eq!(value, "", "{field}"),
                Value::String(s) => assert_eq!(value, s, "{field}"),
                Value::Number(n) => {
                    assert_eq!(
                        value.parse::<f64>().unwrap(),
                        n.as_f64().unwrap(),
                        "{field}"
                    )
                }
                other => panic!("{field}: {other}"),
            }
        }
    }
}

#[test]
fn records_come_in_the_order_flows_end_and_filters_apply() {
    let demo = "captures/demo.pcapng";
    let all = flows(&[demo]);
    // Ended flows before those still live at the end of the capture.
    let first_live = all.iter().position(|r| r["end"] == "capture_end").unwrap();
    assert!(all[first_live..]
        .iter()
        .all(|r| r["end"] == "capture_end" || r["end"] == "fin" || r["end"] == "rst"));
    let ids: Vec<u64> = all.iter().map(|r| r["flow"].as_u64().unwrap()).collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "one record per flow");
    let tcp = flows(&["-f", "tcp", demo]);
    assert!(!tcp.is_empty() && tcp.len() < all.len());
    assert!(tcp.iter().all(|r| r["transport"] == "tcp"));
    let few = flows(&["--max-flows", "2", demo]);
    assert!(few.iter().any(|r| r["end"] == "evicted"));
}

#[test]
fn parquet_needs_an_output_file() {
    let (code, stdout, stderr) =
        util::portnote(&["flows", "--format", "parquet", "captures/demo.pcapng"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(stderr.contains("-o FILE"), "{stderr}");
}

/// tshark's Community ID (its own implementation of the specification) of every frame that
/// carries one IP header and TCP, UDP or SCTP: (ordered endpoints, transport) -> ID.
fn tshark_ids(file: &Path) -> HashMap<String, String> {
    let out = Command::new("tshark")
        .args([
            "-r",
            file.to_str().unwrap(),
            "--enable-protocol",
            "communityid",
        ])
        .args(["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a"])
        .args([
            "-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst",
        ])
        .args([
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.dstport",
            "-e",
            "udp.srcport",
        ])
        .args([
            "-e",
            "udp.dstport",
            "-e",
            "sctp.srcport",
            "-e",
            "sctp.dstport",
        ])
        .args(["-e", "communityid"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut ids = HashMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 11 || f.iter().any(|v| v.contains(',')) || f[10].is_empty() {
            continue; // tunnelled or ICMP-quoting frames carry several headers
        }
        let (src, dst) = match (f[0], f[1], f[2], f[3]) {
            (s, d, "", "") if !s.is_empty() => (s, d),
            ("", "", s, d) if !s.is_empty() => (s, d),
            _ => continue,
        };
        let (transport, sport, dport) = match (f[4], f[6], f[8]) {
            (p, "", "") if !p.is_empty() => ("tcp", p, f[5]),
            ("", p, "") if !p.is_empty() => ("udp", p, f[7]),
            ("", "", p) if !p.is_empty() => ("sctp", p, f[9]),
            _ => continue,
        };
        ids.insert(
            endpoints_key(transport, src, sport, dst, dport),
            f[10].to_string(),
        );
    }
    ids
}

fn endpoints_key(transport: &str, a: &str, a_port: &str, b: &str, b_port: &str) -> String {
    let a = format!("{a}:{a_port}");
    let b = format!("{b}:{b_port}");
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    format!("{transport} {low} {high}")
}

#[test]
fn community_ids_are_tsharks() {
    if !util::require(
        "the Community ID check against tshark",
        &[util::Need::Tool("tshark")],
    ) {
        return;
    }
    let mut compared = 0;
    let mut transports = std::collections::BTreeSet::new();
    let files = captures();
    for file in &files {
        let name = file.to_str().unwrap();
        let ids = tshark_ids(file);
        for r in flows(&[name]) {
            if !r["tunnel"].is_null() {
                continue;
            }
            let transport = r["transport"].as_str().unwrap();
            let key = endpoints_key(
                transport,
                r["client"].as_str().unwrap(),
                &r["client_port"].to_string(),
                r["server"].as_str().unwrap(),
                &r["server_port"].to_string(),
            );
            if let Some(id) = ids.get(&key) {
                assert_eq!(r["community_id"].as_str().unwrap(), id, "{name}: {key}");
                compared += 1;
                transports.insert(format!("{transport}/v{}", r["ip_version"]));
            }
        }
    }
    // 22 untunnelled flows in the bundled captures; hundreds with the reference captures.
    let expected = at_least(&files, 50, 22);
    assert!(
        compared >= expected,
        "only {compared} flows compared with tshark"
    );
    for needed in ["tcp/v4", "udp/v4", "sctp/v4", "tcp/v6", "udp/v6"] {
        assert!(
            transports.contains(needed),
            "no {needed} flow compared: {transports:?}"
        );
    }
}

#[test]
fn duckdb_reads_the_parquet_output_and_sums_to_the_summary() {
    if !util::require(
        "the DuckDB query over Parquet (pip install duckdb)",
        &[util::Need::Runs("python3", &["-c", "import duckdb"])],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("flows.parquet");
    let mut files: Vec<String> = captures()
        .iter()
        .map(|f| f.to_str().unwrap().to_string())
        .collect();
    files.truncate(12);
    let mut args = vec![
        "flows",
        "--format",
        "parquet",
        "-o",
        parquet.to_str().unwrap(),
    ];
    args.extend(files.iter().map(String::as_str));
    let (code, stdout, stderr) = util::portnote(&args);
    assert!(code == 0 || code == 2, "{stderr}");
    assert!(stdout.is_empty());

    // The README's example query, and the schema's types.
    let script = format!(
        r#"
import duckdb, json
con = duckdb.connect()
path = {path:?}
rows = con.execute(f"""
    SELECT transport, coalesce(service, 'port ' || server_port::VARCHAR) AS key,
           count(*) AS flows, sum(packets_c2s + packets_s2c) AS packets,
           sum(bytes_c2s + bytes_s2c) AS bytes
    FROM '{{path}}' GROUP BY ALL""").fetchall()
types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '{{path}}')").fetchall())
print(json.dumps({{"rows": [[t, k, int(f), int(p), int(b)] for t, k, f, p, b in rows], "types": types}}))
"#,
        path = parquet.to_str().unwrap()
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let types = &result["types"];
    assert_eq!(
        types["first_seen"], "TIMESTAMPTZ_NS",
        "TIMESTAMP(NANOS, UTC)"
    );
    assert_eq!(types["server_port"], "USMALLINT");
    assert_eq!(types["bytes_c2s"], "BIGINT");
    assert_eq!(types["service"], "VARCHAR");

    let mut summary_args = vec!["summary", "--format", "json"];
    summary_args.extend(files.iter().map(String::as_str));
    let (_, stdout, _) = util::portnote(&summary_args);
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    let expected: BTreeMap<String, (u64, u64, u64)> = summary["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let key = match &row["service"] {
                Value::String(s) => format!("{} {s}", row["transport"].as_str().unwrap()),
                _ => format!(
                    "{} port {}",
                    row["transport"].as_str().unwrap(),
                    row["ports"][0]
                ),
            };
            let n = |f: &str| row[f].as_u64().unwrap();
            (key, (n("flows"), n("packets"), n("bytes")))
        })
        .collect();
    let got: BTreeMap<String, (u64, u64, u64)> = result["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let n = |i: usize| r[i].as_u64().unwrap();
            (
                format!("{} {}", r[0].as_str().unwrap(), r[1].as_str().unwrap()),
                (n(2), n(3), n(4)),
            )
        })
        .collect();
    assert_eq!(got, expected);
}

/// `tcpdump -U -w - | portnote flows -`: a record reaches the reader when its flow ends, not
/// when the input closes. The feeder writes the 20 packets of a 5-flow capture, then one packet
/// a day later (every earlier flow is idle by then and ends), and waits: the five records must
/// arrive while it waits; the late packet's flow comes at the end of input.
#[test]
fn records_stream_from_a_pipe_as_flows_end() {
    let (header, records) = util::pcap_records("captures/linktype-ethernet.pcap");
    assert_eq!(records.len(), 20, "the capture this test was written for");
    let mut late = records[0].clone();
    let secs = u32::from_le_bytes(late[..4].try_into().unwrap()) + 86_400;
    late[..4].copy_from_slice(&secs.to_le_bytes());

    let mut flows = util::Piped::start(&["flows", "-"]);
    flows.feed(&header);
    flows.feed(&records.concat());
    flows.feed(&late);
    let early = flows.lines(5);
    assert_eq!(
        early.len(),
        5,
        "records of the ended flows before input ended: {early:?}"
    );
    for line in &early {
        let record: Value = serde_json::from_str(line).unwrap();
        // Ended by the sweep the late packet triggered: idle, or FIN/RST seen earlier.
        assert!(
            ["idle", "fin", "rst"].contains(&record["end"].as_str().unwrap()),
            "{record}"
        );
    }
    assert!(
        flows.quiet_for(std::time::Duration::from_millis(300)),
        "the late packet's flow is still live"
    );
    let (code, rest) = flows.finish();
    let rest: Vec<Value> = rest
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(code, Some(0));
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert_eq!(rest[0]["end"], "capture_end");
}

/// `--threads 3` or more writes records in a thread of their own when they go to a file: the
/// same bytes as one thread, in every format, with every capture read in one run (records of
/// several inputs) and a generated one of over 10,000 flows (several batches).
#[test]
fn records_written_in_a_thread_of_their_own_are_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let many = dir.path().join("many-flows.pcap");
    let synth = portnote_synth::SynthConfig::new(portnote_synth::Kind::Mix)
        .packets(300_000)
        .snaplen(96);
    let made = synth
        .write(std::io::BufWriter::new(
            std::fs::File::create(&many).unwrap(),
        ))
        .unwrap();
    assert!(made.flows > 10_000, "{} flows", made.flows);
    let mut files = captures();
    files.push(many);
    let names: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    for format in ["ndjson", "csv", "parquet"] {
        let written = |threads: &str| {
            let out = dir.path().join(format!("{format}-{threads}"));
            let mut args = vec!["flows", "--format", format, "--threads", threads];
            args.extend(["-o", out.to_str().unwrap()]);
            args.extend(&names);
            let (code, _, stderr) = util::portnote(&args);
            assert!(
                code == 0 || code == 2,
                "{format} --threads {threads}: {stderr}"
            );
            std::fs::read(out).unwrap()
        };
        let one = written("1");
        assert!(one.len() > 1000, "{format}: {} bytes", one.len());
        assert!(
            one == written("3"),
            "{format}: --threads 3 wrote another file"
        );
    }
}

/// A file that cannot be written (the disk is full) fails the run from the writing thread as
/// from the counting one: status 2, the write's error.
#[test]
fn a_failed_write_in_the_writing_thread_is_the_error_of_the_run() {
    for threads in ["1", "3"] {
        let args = ["flows", "--threads", threads, "-o", "/dev/full"];
        let (code, _, stderr) = util::portnote(&[&args[..], &["captures/demo.pcapng"]].concat());
        assert_eq!(code, 2, "--threads {threads}: {stderr}");
        assert_eq!(
            stderr, "portnote: writing output: No space left on device (os error 28)\n",
            "--threads {threads}"
        );
    }
}

//! contrib/spark/portnote_spark.py for real (issue 15): PySpark in local mode (`local[2]`) over
//! the reference captures; its per-service table equals `portnote summary` of the same files on
//! packets and bytes, and `portnote merge` of the per-file summaries on flows (each file is one
//! `portnote flows` run, so a flow spanning two files counts in each, as merge counts it). One
//! Spark run: starting Spark costs most of the time.

use crate::util;

use std::collections::BTreeMap;
use std::process::Command;

/// summary CSV rows keyed by (transport, service or port) -> (flows, packets, bytes).
fn csv_rows(text: &str) -> BTreeMap<String, (u64, u64, u64)> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (section, transport, service, ports) = (
        col("section"),
        col("transport"),
        col("service"),
        col("ports"),
    );
    let (flows, packets, bytes) = (col("flows"), col("packets"), col("bytes"));
    reader
        .records()
        .map(Result::unwrap)
        .filter(|r| &r[section] != "no_ports")
        .map(|r| {
            let key = if r[service].is_empty() {
                format!("{} port {}", &r[transport], &r[ports])
            } else {
                format!("{} {}", &r[transport], &r[service])
            };
            let n = |i: usize| r[i].parse::<u64>().unwrap();
            (key, (n(flows), n(packets), n(bytes)))
        })
        .collect()
}

#[test]
fn spark_job_per_service_table_equals_portnote_summary() {
    let what = "the PySpark job test (pip install pyspark; a Java runtime)";
    if !util::require(
        what,
        &[
            util::Need::Runs("java", &["-version"]),
            util::Need::Runs("python3", &["-c", "import pyspark"]),
        ],
    ) {
        return;
    }
    let Some(shared) = util::shared_dir("the PySpark job test") else {
        return;
    };
    let mut files: Vec<String> = vec!["captures/demo.pcapng".to_string()];
    files.extend(
        util::public_captures(&shared)
            .iter()
            .map(|f| f.to_str().unwrap().to_string()),
    );
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("summary.csv");
    let parquet = dir.path().join("flows");
    let binary = assert_cmd::cargo::cargo_bin("portnote");
    let out = Command::new("python3")
        .arg("contrib/spark/portnote_spark.py")
        .args(["--master", "local[2]"])
        .args(["--portnote", binary.to_str().unwrap()])
        .args(["--output", parquet.to_str().unwrap()])
        .args(["--summary-csv", table.to_str().unwrap()])
        .args(&files)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "spark job failed: {stderr}");
    let spark = csv_rows(&std::fs::read_to_string(&table).unwrap());

    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    // One `portnote flows` per file: the exact reference is the per-file summaries merged
    // (flows end at each file's end, and a flow whose service-port ranks tie is settled with its
    // own file's fan-in).
    let mut per_file = Vec::new();
    for (i, file) in names.iter().enumerate() {
        let (_, json, _) = util::portnote(&["summary", "--format", "json", file]);
        let path = dir.path().join(format!("{i}.json"));
        std::fs::write(&path, json).unwrap();
        per_file.push(path.to_str().unwrap().to_string());
    }
    let mut args = vec!["merge", "--format", "csv"];
    args.extend(per_file.iter().map(String::as_str));
    let (_, merged_csv, _) = util::portnote(&args);
    let merged = csv_rows(&merged_csv);
    assert_eq!(
        spark.keys().collect::<Vec<_>>(),
        merged.keys().collect::<Vec<_>>()
    );
    for (key, &counts) in &merged {
        assert_eq!(spark[key], counts, "{key}: flows, packets, bytes");
    }

    // And `summary` of all files read together, on packets and bytes per transport (a tied
    // flow may sit in its other port's row there).
    let mut args = vec!["summary", "--format", "csv"];
    args.extend(&names);
    let (_, summary_csv, _) = util::portnote(&args);
    let by_transport = |rows: &BTreeMap<String, (u64, u64, u64)>| {
        let mut sums: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (key, &(_, packets, bytes)) in rows {
            let sum = sums
                .entry(key.split(' ').next().unwrap().to_string())
                .or_default();
            *sum = (sum.0 + packets, sum.1 + bytes);
        }
        sums
    };
    assert_eq!(by_transport(&spark), by_transport(&csv_rows(&summary_csv)));

    // The flow records, written as Parquet partitioned by day.
    let days: Vec<String> = std::fs::read_dir(&parquet)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("day="))
        .collect();
    assert!(days.len() >= 5, "day partitions: {days:?}");
}

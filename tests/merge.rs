//! `portnote merge` through the binary (issue 15): merging the per-file summaries of the
//! reference captures gives the summary of all of them read together, row by row, on packets
//! and bytes; flows add (a flow spanning two files counts in each).

use crate::util;

use serde_json::Value;
use std::collections::BTreeMap;

fn json(args: &[&str]) -> Value {
    let (code, stdout, stderr) = util::portnote(args);
    assert!(code == 0 || code == 2, "{args:?}: exit {code}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

/// A row's key as the aggregator keys rows.
fn row_key(r: &Value) -> String {
    match &r["service"] {
        Value::String(s) => format!("{} {s}", r["transport"].as_str().unwrap()),
        _ => format!(
            "{} port {}",
            r["transport"].as_str().unwrap(),
            r["ports"][0]
        ),
    }
}

/// Row key as the aggregator keys rows -> (packets, bytes, flows, to-server packets).
fn rows(summary: &Value) -> BTreeMap<String, (u64, u64, u64, u64)> {
    summary["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let key = row_key(r);
            let n = |f: &str| r[f].as_u64().unwrap();
            (
                key,
                (n("packets"), n("bytes"), n("flows"), n("packets_to_server")),
            )
        })
        .collect()
}

#[test]
fn merged_per_file_summaries_equal_the_summary_of_all_files() {
    let Some(shared) = util::shared_dir("the merge-vs-summary check") else {
        return;
    };
    let files = util::public_captures(&shared);
    let names: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut summaries = Vec::new();
    for (i, file) in names.iter().enumerate() {
        let summary = json(&["summary", "--format", "json", file]);
        let path = dir.path().join(format!("{i}.json"));
        std::fs::write(&path, summary.to_string()).unwrap();
        summaries.push(path.to_str().unwrap().to_string());
    }
    let mut merge_args = vec!["merge", "--format", "json"];
    merge_args.extend(summaries.iter().map(String::as_str));
    let merged = json(&merge_args);
    let mut all_args = vec!["summary", "--format", "json"];
    all_args.extend(names.iter().copied());
    let all = json(&all_args);

    let (merged_rows, all_rows) = (rows(&merged), rows(&all));
    // A flow whose service-port ranks tie is settled with the fan-in of the whole input (issue
    // 14): read together, the other files' flows count; summarised per file, they do not. So such
    // a flow may sit in its other port's row, always of the same transport: compare per
    // transport. Read together, a flow whose endpoints recur in a later file is one flow;
    // merged, it is one per file.
    let by_transport = |rows: &BTreeMap<String, (u64, u64, u64, u64)>| {
        let mut sums: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
        for (key, &(packets, bytes, flows, _)) in rows {
            let transport = key.split(' ').next().unwrap().to_string();
            let sum = sums.entry(transport).or_default();
            *sum = (sum.0 + packets, sum.1 + bytes, sum.2 + flows);
        }
        sums
    };
    let (merged_sums, all_sums) = (by_transport(&merged_rows), by_transport(&all_rows));
    assert_eq!(
        merged_sums.keys().collect::<Vec<_>>(),
        all_sums.keys().collect::<Vec<_>>()
    );
    for (transport, &(packets, bytes, flows)) in &all_sums {
        let m = merged_sums[transport];
        assert_eq!((m.0, m.1), (packets, bytes), "{transport}: packets, bytes");
        assert!(m.2 >= flows, "{transport}: flows {} < {flows}", m.2);
    }
    let same_rows = all_rows
        .iter()
        .filter(|(key, all)| merged_rows.get(*key).map(|m| (m.0, m.1)) == Some((all.0, all.1)))
        .count();
    assert!(
        same_rows * 10 >= all_rows.len() * 9,
        "most rows hold no tied flow and agree exactly: {same_rows} of {}",
        all_rows.len()
    );
    for field in [
        "packets",
        "bytes",
        "packets_with_ports",
        "packets_without_ports",
        "files",
    ] {
        assert_eq!(
            merged["totals"][field], all["totals"][field],
            "totals.{field}"
        );
    }
    for field in ["first_seen", "last_seen"] {
        assert_eq!(
            merged["totals"][field], all["totals"][field],
            "totals.{field}"
        );
    }
    assert_eq!(merged["no_ports_detail"], all["no_ports_detail"]);
    // Timelines re-bucket exactly into the coarsest width: the same buckets, bucket for
    // bucket, as one timeline of all the packets.
    // (A moved tied flow may change lane, so the lanes of ports are compared as one.)
    let buckets = |summary: &Value| -> Vec<(Value, Value, [u64; 4])> {
        let lanes = |v: &Value| {
            let n = |lane: &str| v[lane].as_u64().unwrap();
            (
                n("assigned") + n("unassigned") + n("dynamic"),
                n("no_ports"),
            )
        };
        summary["timeline"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                let (p, pn) = lanes(&b["packets"]);
                let (by, bn) = lanes(&b["bytes"]);
                (
                    summary["timeline"]["bucket_seconds"].clone(),
                    b["start"].clone(),
                    [p, pn, by, bn],
                )
            })
            .collect()
    };
    assert_eq!(buckets(&merged), buckets(&all));
    assert!(merged["timeline"]["buckets"].as_array().unwrap().len() > 1);
    // Clients cannot add: the merged count is a lower bound of the true one.
    let clients = |summary: &Value| -> BTreeMap<String, u64> {
        summary["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (row_key(r), r["clients"].as_u64().unwrap()))
            .collect()
    };
    let all_clients = clients(&all);
    // (On the rows that hold the same packets: a moved tied flow brings its client along.)
    for (key, count) in clients(&merged) {
        if merged_rows.get(&key).map(|m| (m.0, m.1)) != all_rows.get(&key).map(|a| (a.0, a.1)) {
            continue;
        }
        assert!(
            count <= all_clients[&key],
            "{key}: clients {count} > {}",
            all_clients[&key]
        );
    }
    assert!(merged["notes"][0]
        .as_str()
        .unwrap()
        .contains("counts once in each"));
    assert!(all.get("notes").is_none(), "summary itself has no notes");
    assert!(
        merged_rows.len() > 10,
        "the reference captures have many rows"
    );

    // `summary --per-file` prints an array: merge takes it whole, with the same result.
    let mut per_file_args = vec!["summary", "--per-file", "--format", "json"];
    per_file_args.extend(names.iter().copied());
    let per_file = json(&per_file_args);
    let path = dir.path().join("per-file.json");
    std::fs::write(&path, per_file.to_string()).unwrap();
    let from_array = json(&["merge", "--format", "json", path.to_str().unwrap()]);
    assert_eq!(rows(&from_array), merged_rows);

    // A merged summary merges again (same schema): merging it with itself doubles every row.
    let merged_path = dir.path().join("merged.json");
    std::fs::write(&merged_path, merged.to_string()).unwrap();
    let m = merged_path.to_str().unwrap();
    let twice = json(&["merge", "--format", "json", m, m]);
    for (key, (packets, bytes, flows, _)) in rows(&twice) {
        let once = merged_rows[&key];
        assert_eq!(
            (packets, bytes, flows),
            (once.0 * 2, once.1 * 2, once.2 * 2),
            "{key}"
        );
    }
    // Every row with clients is now in two inputs: a lower bound, marked and noted once.
    let notes: Vec<&str> = twice["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.contains("counts once in each"))
            .count(),
        1
    );
    assert_eq!(
        notes.iter().filter(|n| n.contains("lower bound")).count(),
        1
    );
    let with_clients: Vec<&Value> = twice["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["clients"].as_u64() > Some(0))
        .collect();
    assert!(!with_clients.is_empty());
    assert!(with_clients.iter().all(|r| r["clients_truncated"] == true));
}

#[test]
fn a_flow_cut_across_two_files_counts_in_each() {
    // The demo capture read twice as two inputs: each file's flows end at its end.
    let demo = "captures/demo.pcapng";
    let one = json(&["summary", "--format", "json", demo]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.json");
    std::fs::write(&path, one.to_string()).unwrap();
    let p = path.to_str().unwrap();
    let merged = json(&["merge", "--format", "json", p, p]);
    assert_eq!(
        merged["totals"]["flows"].as_u64().unwrap(),
        2 * one["totals"]["flows"].as_u64().unwrap()
    );
    assert_eq!(
        merged["totals"]["packets"].as_u64().unwrap(),
        2 * one["totals"]["packets"].as_u64().unwrap()
    );
    // Table and CSV render the merged summary too.
    let (code, table, _) = util::portnote(&["merge", p, p]);
    assert_eq!(code, 0);
    assert!(table.contains("Assigned services") && table.contains("Note: merged"));
    let (code, csv, _) = util::portnote(&["merge", "--format", "csv", p]);
    assert_eq!(code, 0);
    assert!(csv.starts_with("section,transport,service,ports"));
}

#[test]
fn input_that_is_not_a_summary_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"version": 1, "rows": "no"}"#).unwrap();
    let (code, stdout, stderr) = util::portnote(&["merge", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("bad.json") && stderr.contains("not a `portnote summary"),
        "{stderr}"
    );
    let (code, _, stderr) = util::portnote(&["merge", "/nonexistent/x.json"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent/x.json"), "{stderr}");
}

//! `portnote registry export` against independent readings of IANA's own files.
//!
//! The readings here share no code with src/registry: the CSV through the csv crate directly,
//! the XML through a plain string scan of `<record>` elements. Both apply the slot rule
//! (assigned if a named row with a transport covers the slot, else reserved if a `Reserved`
//! row does, else unassigned; primary = first named row) and are compared slot by slot with
//! what the real binary exports.

use assert_cmd::Command;
use std::collections::HashMap;

const CSV: &str = "registry/service-names-port-numbers.csv";
const XML: &str = "registry/service-names-port-numbers.xml";
const TRANSPORTS: [&str; 4] = ["tcp", "udp", "sctp", "dccp"];

/// (status, primary name) per "transport/port"; absent keys are unassigned.
type Slots = HashMap<(String, u32), (String, String)>;

/// The path of `relative` under ../shared, or `None` (a skip) when ../shared is absent.
fn shared_present(relative: &str) -> Option<String> {
    crate::util::shared_file("the registry slot comparison", relative)
        .map(|path| path.to_str().unwrap().to_owned())
}

/// One registry row as the independent readers see it.
struct Row {
    name: String,
    port: String,
    transport: String,
    description: String,
}

fn apply_slot_rule(rows: &[Row]) -> Slots {
    let mut slots = Slots::new();
    // Named rows first pass, reserved rows second: a name beats a reservation in any order.
    for named_pass in [true, false] {
        for row in rows {
            if row.transport.is_empty() || row.port.is_empty() {
                continue;
            }
            let named = !row.name.is_empty();
            if named != named_pass || (!named && !row.description.starts_with("Reserved")) {
                continue;
            }
            let (first, last) = match row.port.split_once('-') {
                Some((a, b)) => (a.parse::<u32>().unwrap(), b.parse::<u32>().unwrap()),
                None => {
                    let p = row.port.parse::<u32>().unwrap();
                    (p, p)
                }
            };
            for port in first..=last {
                let status = if named { "assigned" } else { "reserved" };
                slots
                    .entry((row.transport.to_lowercase(), port))
                    .or_insert_with(|| (status.to_string(), row.name.clone()));
            }
        }
    }
    slots
}

fn read_csv_independently(path: &str) -> Slots {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let rows: Vec<Row> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            Row {
                name: r[0].trim().to_string(),
                port: r[1].trim().to_string(),
                transport: r[2].trim().to_string(),
                description: r[3].trim().to_string(),
            }
        })
        .collect();
    apply_slot_rule(&rows)
}

/// Text of the first `<tag>...</tag>` in a record, or empty.
fn child(record: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    record
        .find(&open)
        .and_then(|start| {
            let rest = &record[start + open.len()..];
            rest.find(&close).map(|end| rest[..end].trim().to_string())
        })
        .unwrap_or_default()
}

fn read_xml_independently(path: &str) -> Slots {
    let text = std::fs::read_to_string(path).unwrap();
    let rows: Vec<Row> = text
        .split("<record")
        .skip(1)
        .map(|chunk| {
            let body = &chunk[..chunk.find("</record>").unwrap()];
            Row {
                name: child(body, "name"),
                port: child(body, "number"),
                transport: child(body, "protocol"),
                description: child(body, "description"),
            }
        })
        .collect();
    apply_slot_rule(&rows)
}

fn counts(slots: &Slots, transport: &str) -> (u32, u32, u32) {
    let mut assigned = 0;
    let mut reserved = 0;
    for ((t, _), (status, _)) in slots {
        if t == transport {
            match status.as_str() {
                "assigned" => assigned += 1,
                _ => reserved += 1,
            }
        }
    }
    (assigned, reserved, 65536 - assigned - reserved)
}

/// Run `portnote registry export` (CSV) and read it back into slots.
fn export(registry: Option<&str>) -> Slots {
    let data_dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::cargo_bin("portnote").unwrap();
    cmd.env_remove("PORTNOTE_REGISTRY")
        .env("PORTNOTE_DATA_DIR", data_dir.path())
        .args(["registry", "export", "--format", "csv"]);
    if let Some(path) = registry {
        cmd.args(["--registry", path]);
    }
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut reader = csv::Reader::from_reader(&output.stdout[..]);
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "transport",
            "port",
            "status",
            "class",
            "service",
            "unauthorized"
        ]
    );
    let mut slots = Slots::new();
    let mut rows = 0;
    for record in reader.records() {
        let r = record.unwrap();
        rows += 1;
        let port: u32 = r[1].parse().unwrap();
        let class = match port {
            0..=1023 => "system",
            1024..=49151 => "user",
            _ => "dynamic",
        };
        assert_eq!(&r[3], class, "class of {}/{}", &r[0], port);
        if &r[2] != "unassigned" {
            slots.insert(
                (r[0].to_string(), port),
                (r[2].to_string(), r[4].to_string()),
            );
        } else {
            assert_eq!(&r[4], "", "unassigned slot with a service: {r:?}");
        }
    }
    assert_eq!(rows, 4 * 65536);
    slots
}

fn assert_same_slots(file: &str, independent: &Slots, exported: &Slots) {
    let mut differences = Vec::new();
    for t in TRANSPORTS {
        for port in 0..=65535u32 {
            let key = (t.to_string(), port);
            let want = independent.get(&key);
            let got = exported.get(&key);
            if want != got {
                differences.push(format!(
                    "{t}/{port}: file says {want:?}, export says {got:?}"
                ));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "{file}: {} slots differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

#[test]
fn export_of_iana_csv_matches_an_independent_reading_on_every_slot() {
    let Some(csv) = shared_present(CSV) else {
        return;
    };
    let independent = read_csv_independently(&csv);
    assert_same_slots(&csv, &independent, &export(Some(&csv)));
}

#[test]
fn export_of_iana_xml_matches_an_independent_reading_on_every_slot() {
    let Some(xml) = shared_present(XML) else {
        return;
    };
    let independent = read_xml_independently(&xml);
    // The independent XML reading reproduces the counts published in ../shared/registry/README.md.
    assert_eq!(counts(&independent, "tcp"), (5951, 205, 59380));
    assert_eq!(counts(&independent, "udp"), (5557, 592, 59387));
    assert_eq!(counts(&independent, "sctp"), (88, 1, 65447));
    assert_eq!(counts(&independent, "dccp"), (9, 1, 65526));
    assert_same_slots(&xml, &independent, &export(Some(&xml)));
}

#[test]
fn embedded_snapshot_agrees_with_iana_xml_on_at_least_99_5_percent_of_assigned_slots() {
    let Some(xml) = shared_present(XML) else {
        return;
    };
    let iana = read_xml_independently(&xml);
    let embedded = export(None);
    let mut assigned = 0u32;
    let mut agree = 0u32;
    let mut differences = Vec::new();
    for t in TRANSPORTS {
        for port in 0..=65535u32 {
            let key = (t.to_string(), port);
            let Some(want) = iana.get(&key).filter(|(status, _)| status == "assigned") else {
                continue;
            };
            assigned += 1;
            let got = embedded.get(&key);
            if got == Some(want) {
                agree += 1;
            } else {
                differences.push(format!(
                    "{t}/{port}: IANA 2025-12 {want:?}, embedded {got:?}"
                ));
            }
        }
    }
    let share = f64::from(agree) / f64::from(assigned);
    println!(
        "embedded vs IANA XML: {agree} of {assigned} assigned slots agree ({:.2} %); differences:",
        share * 100.0
    );
    for d in &differences {
        println!("  {d}");
    }
    assert_eq!(assigned, 5951 + 5557 + 88 + 9);
    assert!(share >= 0.995, "only {:.2} % agree", share * 100.0);
}

/// Issue 13 items 7 and 9: the embedded snapshot carries IANA's further names of a port (`www`
/// beside `http`) and its "unauthorized use reported" notes. Compared with IANA's CSV of 2025
/// read directly: every (slot, further name) pair and every slot with a note on a single port.
/// The snapshot's source for them is IANA's CSV of 2015 plus the later names registered by RFCs
/// (data/README.md), so names newer than that are missing; the test prints them.
#[test]
fn embedded_snapshot_has_ianas_aliases_and_unauthorized_notes() {
    let Some(csv_path) = shared_present(CSV) else {
        return;
    };
    let mut reader = csv::Reader::from_path(csv_path).unwrap();
    // (transport, port) -> IANA's names in file order; -> the first note.
    let mut names: HashMap<(String, String), Vec<String>> = HashMap::new();
    let mut notes: HashMap<(String, String), String> = HashMap::new();
    for record in reader.records() {
        let r = record.unwrap();
        let (name, port, transport, note) = (r[0].trim(), r[1].trim(), r[2].trim(), r[10].trim());
        if port.is_empty() || port.contains('-') || !TRANSPORTS.contains(&transport) {
            continue;
        }
        let key = (transport.to_string(), port.to_string());
        if !name.is_empty() {
            let list = names.entry(key.clone()).or_default();
            if !list.iter().any(|n| n == name) {
                list.push(name.to_string());
            }
        }
        if !note.is_empty() {
            notes.entry(key).or_insert_with(|| note.to_string());
        }
    }
    let mut alias_slots: Vec<&(String, String)> = names
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(k, _)| k)
        .collect();
    alias_slots.sort();
    let queries: Vec<String> = alias_slots
        .iter()
        .map(|(t, p)| format!("{p}/{t}"))
        .collect();
    let data_dir = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("portnote")
        .unwrap()
        .env_remove("PORTNOTE_REGISTRY")
        .env("PORTNOTE_DATA_DIR", data_dir.path())
        .args(["lookup", "--format", "json"])
        .args(&queries)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let (mut pairs, mut found, mut missing) = (0, 0, Vec::new());
    for row in &rows {
        let key = (
            row["transport"].as_str().unwrap().to_string(),
            row["port"].as_u64().unwrap().to_string(),
        );
        let mut have: Vec<&str> = row["other_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        have.extend(row["service"].as_str());
        for name in &names[&key] {
            pairs += 1;
            if have.contains(&name.as_str()) {
                found += 1;
            } else {
                missing.push(format!("{}/{}: {name}", key.1, key.0));
            }
        }
    }
    println!(
        "names on slots with several: {found} of {pairs} in the snapshot; missing: {missing:?}"
    );
    assert!(found * 100 >= pairs * 99, "{found} of {pairs}");
    let www = rows
        .iter()
        .find(|r| r["port"] == 80 && r["transport"] == "tcp")
        .unwrap();
    assert!(www["other_names"].to_string().contains("\"www\""), "{www}");
    // Registered after npm's 2015 copy, added from their RFCs (data/make-aliases-notes.py).
    for later in ["465/tcp: submissions", "631/tcp: ipps"] {
        assert!(!missing.iter().any(|m| m == later), "{later} missing");
    }

    // Notes: the unauthorized column of every slot IANA's CSV notes, from `registry export`.
    let output = Command::cargo_bin("portnote")
        .unwrap()
        .env_remove("PORTNOTE_REGISTRY")
        .env("PORTNOTE_DATA_DIR", data_dir.path())
        .args(["registry", "export", "--format", "csv"])
        .output()
        .unwrap();
    let mut exported: HashMap<(String, String), String> = HashMap::new();
    for record in csv::Reader::from_reader(&output.stdout[..]).records() {
        let r = record.unwrap();
        if !r[5].is_empty() {
            exported.insert((r[0].to_string(), r[1].to_string()), r[5].to_string());
        }
    }
    let same = notes
        .iter()
        .filter(|(k, v)| exported.get(*k) == Some(*v))
        .count();
    let mut differ: Vec<String> = notes
        .iter()
        .filter(|(k, v)| exported.get(*k) != Some(*v))
        .map(|(k, v)| {
            format!(
                "{}/{}: IANA {v:?}, embedded {:?}",
                k.1,
                k.0,
                exported.get(k)
            )
        })
        .collect();
    differ.sort();
    println!(
        "unauthorized notes: {same} of {} slots agree; differences:",
        notes.len()
    );
    for d in &differ {
        println!("  {d}");
    }
    assert!(same * 100 >= notes.len() * 80, "{same} of {}", notes.len());
}

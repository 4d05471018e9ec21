//! Issue 3's yardstick: for every capture in ../shared/captures/public, the transport and ports
//! `portnote annotate` reports for each packet record agree with tshark's oracle (columns 4-6,
//! joined on column 16). The only difference allowed by design is a later IP fragment to which
//! portnote gives the ports of its first fragment (`inherited: true`) where tshark shows none.

use crate::util;

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    transport: String,
    sport: String,
    dport: String,
}

fn oracle(path: &std::path::Path) -> HashMap<u64, Expected> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rows = HashMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(
            cols.len() >= 16,
            "{}: short oracle row {line:?}",
            path.display()
        );
        let Ok(pkt) = cols[15].parse::<u64>() else {
            continue;
        }; // `-`: a non-packet block
        rows.insert(
            pkt,
            Expected {
                transport: cols[3].into(),
                sport: cols[4].into(),
                dport: cols[5].into(),
            },
        );
    }
    rows
}

fn ours(record: &serde_json::Value) -> Expected {
    let field = |k: &str| match &record[k] {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        v => Some(v.to_string()),
    };
    let transport = field("transport");
    let port = |k: &str| match (&transport, field(k)) {
        (None, _) => "-".to_string(),
        (Some(_), None) => "?".to_string(),
        (Some(_), Some(p)) => p,
    };
    Expected {
        sport: port("src_port"),
        dport: port("dst_port"),
        transport: transport.clone().unwrap_or_else(|| "-".into()),
    }
}

#[test]
fn annotate_agrees_with_tshark_on_every_shared_capture() {
    let Some(shared) = util::shared_dir("the oracle comparison") else {
        return;
    };
    let mut total = 0usize;
    let mut agree = 0usize;
    let mut inherited_only = 0usize;
    let mut report = String::new();
    let mut disagreements = Vec::new();
    for file in util::public_captures(&shared) {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let expected = oracle(&file.with_file_name(format!("{name}.oracle.tsv")));
        let (code, records, stderr) = util::annotate_records(&file);
        assert!(code == 0 || code == 2, "{name}: exit {code}: {stderr}");
        assert_eq!(
            records.len(),
            expected.len(),
            "{name}: packet records vs oracle rows ({stderr})"
        );
        let mut file_agree = 0;
        for record in &records {
            let frame = record["frame"].as_u64().unwrap();
            let want = &expected[&frame];
            let got = ours(record);
            total += 1;
            if &got == want {
                agree += 1;
                file_agree += 1;
            } else if record["inherited"] == true && want.transport == "-" {
                // Allowed by design: a later fragment carrying its first fragment's ports.
                inherited_only += 1;
                agree += 1;
                file_agree += 1;
            } else {
                disagreements.push(format!(
                    "{name} frame {frame}: ours {got:?}, tshark {want:?}"
                ));
            }
        }
        report.push_str(&format!(
            "{:>7.2}%  {file_agree:>5}/{:<5} {name}\n",
            100.0 * file_agree as f64 / records.len().max(1) as f64,
            records.len()
        ));
    }
    let pct = 100.0 * agree as f64 / total.max(1) as f64;
    eprintln!("{report}");
    eprintln!("overall: {agree}/{total} = {pct:.3}% ({inherited_only} inherited fragments where tshark shows none)");
    for d in &disagreements {
        eprintln!("DISAGREE {d}");
    }
    assert!(
        total > 6000,
        "expected the whole public set, read {total} records"
    );
    assert!(pct >= 99.9, "agreement {pct:.3}% is below 99.9%");
}

//! Issue 6: `summary --threads N` splits the flows over worker shards, and the summary must not
//! depend on N. Each capture is summarised with 1, 2, 3 and 4 threads (2 = reading ahead in a
//! thread of its own; 3 = that, a decoding thread and one flow shard; 4 = two shards, so flows
//! really are split) and the parsed JSON compared whole: rows, totals, reasons.

use crate::util;

use std::path::{Path, PathBuf};

fn summary_json(file: &Path, threads: &str) -> serde_json::Value {
    let (code, stdout, stderr) = util::portnote(&[
        "summary",
        "--format",
        "json",
        "--threads",
        threads,
        file.to_str().unwrap(),
    ]);
    assert!(
        code == 0 || code == 2,
        "{}: --threads {threads}: exit {code}: {stderr}",
        file.display()
    );
    serde_json::from_str(&stdout).unwrap()
}

fn assert_same_for_any_thread_count(file: &Path) -> u64 {
    let one = summary_json(file, "1");
    // The timeline (issue 18) is part of the comparison: it must be there to compare.
    let packets = one["totals"]["packets"].as_u64().unwrap();
    let buckets = one["timeline"]["buckets"].as_array().unwrap();
    assert_eq!(buckets.is_empty(), packets == 0, "{}", file.display());
    for threads in ["2", "3", "4"] {
        let many = summary_json(file, threads);
        assert_eq!(
            one["totals"],
            many["totals"],
            "{}: totals, --threads 1 vs {threads}",
            file.display()
        );
        assert_eq!(one, many, "{}: --threads 1 vs {threads}", file.display());
    }
    one["totals"]["packets"].as_u64().unwrap()
}

#[test]
fn bundled_captures_summarise_the_same_with_any_thread_count() {
    let mut files: Vec<PathBuf> = std::fs::read_dir("captures")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "{} bundled captures", files.len());
    for file in &files {
        assert_same_for_any_thread_count(file);
    }
}

#[test]
fn shared_captures_summarise_the_same_with_any_thread_count() {
    let Some(shared) = util::shared_dir("the --threads equivalence check") else {
        return;
    };
    let files = util::public_captures(&shared);
    assert!(!files.is_empty());
    for file in &files {
        assert_same_for_any_thread_count(file);
    }
}

/// Over a thousand flows in twelve seconds of capture time, closed TCP flows expiring in sweeps,
/// split over shards. (Sweeps timed per shard instead of by the reader's one clock pass here,
/// since packets are dense; the shared captures, with their gaps, catch that: checked by
/// mutation. Which servers a row keeps beyond 64 is pinned by a unit test in aggregate/.)
#[test]
fn synthetic_mix_with_expiring_flows_summarises_the_same_with_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mix.pcap");
    let file = std::fs::File::create(&path).unwrap();
    portnote_synth::SynthConfig::new(portnote_synth::Kind::Mix)
        .packets(60_000)
        .write(std::io::BufWriter::new(file))
        .unwrap();
    assert_eq!(assert_same_for_any_thread_count(&path), 60_000);
    let one = summary_json(&path, "1");
    assert!(
        one["totals"]["flows_expired"].as_u64().unwrap() > 100,
        "the mix should make flows expire: {}",
        one["totals"]
    );
}

fn summary_json_of(files: &[PathBuf], threads: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["summary", "--format", "json", "--threads", threads];
    args.extend_from_slice(extra);
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let (code, stdout, stderr) = util::portnote(&args);
    assert!(
        code == 0 || code == 2,
        "--threads {threads}: exit {code}: {stderr}"
    );
    serde_json::from_str(&stdout).unwrap()
}

/// Issue 19: files counted apart (`--flows-per-file`, `--per-file`) are read in parallel with
/// several threads, a pipeline per file, merged in file order. The public captures, passed all
/// at once, summarise the same read in parallel (2 and 4 threads) as one after the other (1).
#[test]
fn shared_captures_passed_together_summarise_the_same_read_in_parallel() {
    let Some(shared) = util::shared_dir("parallel files against sequential") else {
        return;
    };
    let files = util::public_captures(&shared);
    assert!(files.len() > 4);
    for extra in [["--flows-per-file"], ["--per-file"]] {
        let one = summary_json_of(&files, "1", &extra);
        let reports = if extra[0] == "--per-file" {
            one.as_array().unwrap().clone()
        } else {
            vec![one.clone()]
        };
        let inputs: usize = reports
            .iter()
            .map(|r| r["inputs"].as_array().unwrap().len())
            .sum();
        assert_eq!(inputs, files.len(), "{extra:?}: every input reported");
        for threads in ["2", "4"] {
            let many = summary_json_of(&files, threads, &extra);
            assert_eq!(one, many, "{extra:?}: --threads 1 vs {threads}");
        }
    }
}

/// The rule `--flows-per-file` states: a flow does not continue from one file into the next.
/// The same capture passed twice is one set of flows read on (time goes back at the second
/// copy, so nothing expired), or two sets counted apart; the packets are the same.
#[test]
fn flows_per_file_counts_a_flow_in_two_files_twice() {
    let file = PathBuf::from("captures/demo.pcapng");
    let once = summary_json_of(std::slice::from_ref(&file), "1", &[]);
    let twice = [file.clone(), file];
    for threads in ["1", "2"] {
        let joined = summary_json_of(&twice, threads, &[]);
        let apart = summary_json_of(&twice, threads, &["--flows-per-file"]);
        let total = |v: &serde_json::Value, k: &str| v["totals"][k].as_u64().unwrap();
        assert_eq!(total(&joined, "packets"), 2 * total(&once, "packets"));
        assert_eq!(total(&apart, "packets"), 2 * total(&once, "packets"));
        assert_eq!(
            total(&apart, "flows"),
            2 * total(&once, "flows"),
            "--threads {threads}"
        );
        assert!(
            total(&joined, "flows") < total(&apart, "flows"),
            "--threads {threads}: read on, the second copy's packets join the first's flows"
        );
    }
}

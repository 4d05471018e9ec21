//! Issue 13, "what a new user hit": one regression test (or a few) per item, named after it.

use crate::util::{self, portnote_command};

use std::io::Write;
use std::process::{Command, Stdio};

const DEMO: &str = "captures/demo.pcapng";

/// Item 4: `summary --fail-on unassigned | head -1` exited 0. The output pipe is closed before
/// portnote has read its input (standard input, written only afterwards), so every write it
/// makes meets a closed pipe, whatever the timing.
#[test]
fn item4_a_closed_output_pipe_keeps_the_fail_on_verdict() {
    let capture = std::fs::read(DEMO).unwrap();
    for (args, expected) in [
        (&["summary", "--fail-on", "unassigned", "-"][..], 1),
        (
            &["summary", "--format", "csv", "--fail-on", "dynamic", "-"][..],
            1,
        ),
        (&["summary", "-"][..], 0),
    ] {
        let mut child = portnote_command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&capture).unwrap();
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(expected), "{args:?}: {stderr}");
    }
}

/// Item 4: `--fail-on dynamic` said "unassigned traffic on 61000/tcp".
#[test]
fn item4_fail_on_names_the_category_that_tripped() {
    let (code, _, stderr) = util::portnote(&["summary", "--fail-on", "dynamic", DEMO]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("--fail-on: dynamic traffic on 61000/tcp"),
        "{stderr}"
    );
    assert!(!stderr.contains("unassigned traffic"), "{stderr}");

    let (code, _, stderr) = util::portnote(&["summary", "--fail-on", "unassigned", DEMO]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("--fail-on: unassigned traffic on 4/tcp"),
        "{stderr}"
    );
    assert!(!stderr.contains("dynamic traffic"), "{stderr}");
}

/// Item 3: `--per-file --format csv` repeated the header per file and had no `file` column.
#[test]
fn item3_per_file_csv_has_one_header_and_a_file_column() {
    let files = [DEMO, "captures/sctp.pcap", "captures/dccp.pcap"];
    let (code, stdout, stderr) = util::portnote(
        &[
            &["summary", "--per-file", "--format", "csv"][..],
            &files[..],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{stderr}");
    let mut reader = csv::Reader::from_reader(stdout.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(header.get(0), Some("file"));
    assert_eq!(header.get(1), Some("section"));
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert!(
        records.iter().all(|r| r.get(1) != Some("section")),
        "the header appears once"
    );
    // Each file's lines, without the file column, are its own single-file CSV.
    for file in files {
        let (code, single, _) = util::portnote(&["summary", "--format", "csv", file]);
        assert_eq!(code, 0);
        let expected: Vec<Vec<String>> = csv::Reader::from_reader(single.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        let got: Vec<Vec<String>> = records
            .iter()
            .filter(|r| r.get(0) == Some(file))
            .map(|r| r.iter().skip(1).map(str::to_owned).collect())
            .collect();
        assert!(!got.is_empty(), "{file} has lines");
        assert_eq!(got, expected, "{file}");
    }
    assert!(records.iter().all(|r| files.contains(&r.get(0).unwrap())));
}

/// Item 11: a missing file said "at byte offset 0" and still printed an empty 18-line report.
#[test]
fn item11_a_missing_file_gets_one_line_and_no_empty_report() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nosuch.pcap");
    let missing = missing.to_str().unwrap();
    let expected = format!("portnote: {missing}: cannot open: No such file or directory");
    for args in [
        &["summary", missing][..],
        &["summary", "--format", "json", missing][..],
        &["summary", "--format", "csv", missing][..],
        &["summary", "--per-file", missing][..],
        &["annotate", "--format", "csv", missing][..],
    ] {
        let (code, stdout, stderr) = util::portnote(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(stdout.is_empty(), "{args:?} printed {stdout:?}");
        assert!(stderr.starts_with(&expected), "{args:?}: {stderr:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
        assert!(!stderr.contains("byte offset"), "{stderr:?}");
    }

    // Beside a good file, the good file's report stands alone; the run still exits 2.
    let (code, stdout, _) =
        util::portnote(&["summary", "--per-file", "--format", "json", missing, DEMO]);
    assert_eq!(code, 2);
    let reports: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), 1, "{stdout}");
    assert_eq!(reports[0]["inputs"][0]["file"], DEMO);
    // Combined, the report still lists the missing input among its capture errors.
    let (code, stdout, _) = util::portnote(&["summary", "--format", "json", missing, DEMO]);
    assert_eq!(code, 2);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["totals"]["capture_errors"], 1);

    // A capture that opens but has no record (here: none passes the filter) is an empty
    // table, not nothing.
    let (code, stdout, _) = util::portnote(&[
        "annotate",
        "--format",
        "csv",
        "-f",
        "port 1",
        "captures/sctp.pcap",
    ]);
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("file,frame,"), "{stdout}");
}

/// Item 5: `-f 'vlan and tcp'` over files that include a NULL-link capture aborted the whole run
/// with no output. The file is named, counted as an input error, and the others are read.
#[test]
fn item5_a_filter_that_cannot_compile_for_one_file_skips_that_file_only() {
    const NULL: &str = "captures/linktype-null.pcap";
    const VLAN: &str = "captures/linktype-vlan.pcap";
    let filter = ["-f", "vlan and tcp"];
    let (code, alone, _) = util::portnote(
        &[
            &["summary", "--format", "json"][..],
            &filter[..],
            &[VLAN][..],
        ]
        .concat(),
    );
    assert_eq!(code, 0);
    let alone: serde_json::Value = serde_json::from_str(&alone).unwrap();
    assert!(alone["totals"]["packets"].as_u64().unwrap() > 0);

    let (code, stdout, stderr) = util::portnote(
        &[
            &["summary", "--format", "json"][..],
            &filter[..],
            &[NULL, VLAN][..],
        ]
        .concat(),
    );
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "portnote: {NULL}: filter expression \"vlan and tcp\""
        )),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["totals"]["packets"], alone["totals"]["packets"]);
    assert_eq!(report["rows"], alone["rows"]);
    assert_eq!(report["totals"]["capture_errors"], 1);
    assert!(report["inputs"][0]["error"]
        .as_str()
        .unwrap()
        .contains("link type NULL"));
    assert_eq!(report["inputs"][1]["error"], serde_json::Value::Null);

    // annotate goes on the same way: the VLAN file's records, exit 2.
    let annotate = |files: &[&str]| {
        util::portnote(&[&["annotate", "--format", "ndjson"][..], &filter[..], files].concat())
    };
    let (code, alone, _) = annotate(&[VLAN]);
    assert_eq!(code, 0);
    let (code, both, stderr) = annotate(&[NULL, VLAN]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(NULL), "{stderr}");
    assert_eq!(both.lines().count(), alone.lines().count());
    assert!(!alone.is_empty());
}

/// Item 1: `tcpdump -U -w - | portnote annotate -` printed nothing until the pipe closed. A
/// feeder writes the file header and three packets, then waits: the three records must come
/// out while it waits, in every format.
#[test]
fn item1_annotate_streams_records_from_a_pipe_as_packets_arrive() {
    let (header, records) = util::pcap_records("captures/linktype-ethernet.pcap");
    assert!(records.len() > 3);
    for format in ["text", "ndjson", "csv"] {
        let mut annotate = util::Piped::start(&["annotate", "--format", format, "-"]);
        annotate.feed(&header);
        annotate.feed(&records[..3].concat());
        // The feeder now waits (its pipe stays open) for the records of what it wrote.
        let expected = if format == "csv" { 4 } else { 3 }; // CSV: header line too
        let early = annotate.lines(expected);
        assert_eq!(
            early.len(),
            expected,
            "{format}: records of the packets written so far, before the feeder ended: {early:?}"
        );
        if format == "ndjson" {
            let frames: Vec<u64> = early
                .iter()
                .map(|l| {
                    serde_json::from_str::<serde_json::Value>(l).unwrap()["frame"]
                        .as_u64()
                        .unwrap()
                })
                .collect();
            assert_eq!(frames, [1, 2, 3]);
        }
        assert!(
            annotate.quiet_for(std::time::Duration::from_millis(200)),
            "nothing beyond what was fed"
        );
        annotate.feed(&records[3..].concat());
        let (code, rest) = annotate.finish();
        assert_eq!(code, Some(0), "{format}");
        assert_eq!(
            early.len() + rest.len(),
            expected + records.len() - 3,
            "{format}"
        );
    }
}

/// The table lines of the dynamic-only section, split into words: header first.
fn dynamic_section(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .skip_while(|l| !l.starts_with("Dynamic-only traffic"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// Item 16: the dynamic-only section headed `service` a column that showed "unassigned". The
/// column is `status`, and a `service` column shows the name when a dynamic port is assigned.
#[test]
fn item16_dynamic_section_shows_status_and_the_name_of_an_assigned_port() {
    let (code, table, _) = util::portnote(&["summary", DEMO]);
    assert_eq!(code, 0);
    let rows = dynamic_section(&table);
    assert_eq!(
        rows[0][..4],
        ["transport", "status", "service", "port"],
        "{table}"
    );
    let row = rows
        .iter()
        .find(|r| r[3] == "61000")
        .expect("61000/tcp row");
    assert_eq!(row[..3], ["tcp", "unassigned", "-"]);

    let dir = tempfile::tempdir().unwrap();
    let services = dir.path().join("services");
    std::fs::write(&services, "myapp 61000/tcp\n").unwrap();
    let (code, table, stderr) =
        util::portnote(&["--services", services.to_str().unwrap(), "summary", DEMO]);
    assert_eq!(code, 0, "{stderr}");
    let rows = dynamic_section(&table);
    let row = rows
        .iter()
        .find(|r| r[3] == "61000")
        .expect("61000/tcp row");
    assert_eq!(row[..3], ["tcp", "assigned", "myapp"], "{table}");
}

const COMMANDS: [&str; 7] = [
    "summary",
    "annotate",
    "lookup",
    "registry",
    "live",
    "completions",
    "man",
];

/// Item 12: shell completions from the clap definition. Bash's parses (`bash -n`) and knows
/// every command and a command's options; zsh's and fish's are their shells' formats.
#[test]
fn item12_completions_for_bash_zsh_and_fish() {
    let (code, bash, stderr) = util::portnote(&["completions", "bash"]);
    assert_eq!(code, 0, "{stderr}");
    for command in COMMANDS {
        assert!(bash.contains(command), "bash completion lacks {command}");
    }
    assert!(bash.contains("--fail-on") && bash.contains("--per-file"));
    assert!(
        bash.contains("complete -F _portnote"),
        "registers the function"
    );
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("portnote.bash");
    std::fs::write(&script, &bash).unwrap();
    let parsed = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        parsed.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    // Sourced in a real bash, completing `portnote su` offers `summary`.
    let completed = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(portnote su); COMP_CWORD=1; COMP_LINE='portnote su'; \
             COMP_POINT=11; _portnote portnote su portnote; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    let offered = String::from_utf8_lossy(&completed.stdout);
    assert_eq!(offered.trim(), "summary", "{completed:?}");

    let (code, zsh, _) = util::portnote(&["completions", "zsh"]);
    assert_eq!(code, 0);
    assert!(zsh.starts_with("#compdef portnote"), "{}", &zsh[..40]);
    assert!(COMMANDS.iter().all(|c| zsh.contains(c)));
    let (code, fish, _) = util::portnote(&["completions", "fish"]);
    assert_eq!(code, 0);
    assert!(fish.contains("complete -c portnote"));
    assert!(COMMANDS.iter().all(|c| fish.contains(c)));

    let (code, _, stderr) = util::portnote(&["completions", "tcsh"]);
    assert_eq!(code, 2, "an unknown shell is refused: {stderr}");
}

/// Item 12: the man page is roff with a .TH header, every command and their options, and
/// man(1) renders it.
#[test]
fn item12_man_page_renders_with_every_command() {
    let (code, page, stderr) = util::portnote(&["man"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        page.lines().any(|l| l.starts_with(".TH portnote 1")),
        "no .TH header"
    );
    for command in COMMANDS {
        let heading = format!(".SH \"COMMAND: PORTNOTE {}\"", command.to_uppercase());
        assert!(page.contains(&heading), "no section {heading}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("portnote.1");
    std::fs::write(&file, &page).unwrap();
    if !util::require("item12 man page rendering", &[util::Need::Tool("man")]) {
        return;
    }
    let rendered = Command::new("man")
        .arg("-l")
        .arg(&file)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    assert!(rendered.status.success(), "{rendered:?}");
    // Words only: man justifies lines with extra spaces.
    let text = String::from_utf8_lossy(&rendered.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("COMMAND: PORTNOTE SUMMARY"), "{text}");
    assert!(text.contains("--fail-on <CATEGORY>"), "{text}");
    assert!(text.contains("Exit status: 0 success"), "{text}");
    assert!(
        !text.contains(".SH") && !text.contains("\\f"),
        "no roff left raw"
    );
}

/// Item 13: the quick start's first line said `sudo apt-get ...`, which fails where sudo is
/// absent (root in a container). The README's line runs in bash with stand-ins for dpkg (libpcap
/// missing), apt-get, cargo and, in the second case, sudo: it must install libpcap-dev both
/// without sudo and through sudo, and go on to build.
#[test]
fn item13_quick_start_installs_libpcap_with_and_without_sudo() {
    use std::os::unix::fs::PermissionsExt;
    let readme = std::fs::read_to_string("README.md").unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("dpkg -s libpcap-dev"))
        .expect("the quick start's first command");
    for with_sudo in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let log = dir.path().join("log");
        let mut stubs = vec![
            ("dpkg", "exit 1"),
            ("apt-get", "echo \"apt-get $*\" >> \"$LOG\""),
            ("cargo", "echo \"cargo $*\" >> \"$LOG\""),
        ];
        if with_sudo {
            stubs.push(("sudo", "echo \"sudo $1\" >> \"$LOG\"; exec \"$@\""));
        }
        for (name, body) in stubs {
            let path = bin.join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let out = Command::new("/bin/bash")
            .arg("-c")
            .arg(line)
            .env_clear()
            .env("PATH", &bin)
            .env("LOG", &log)
            .output()
            .unwrap();
        let calls = std::fs::read_to_string(&log).unwrap_or_default();
        let context = format!("with_sudo {with_sudo}: {calls:?} {out:?}");
        assert!(out.status.success(), "{context}");
        let expected: &[&str] = if with_sudo {
            &[
                "sudo apt-get",
                "apt-get update",
                "sudo apt-get",
                "apt-get install -y libpcap-dev",
                "cargo run --release -- summary captures/demo.pcapng",
            ]
        } else {
            &[
                "apt-get update",
                "apt-get install -y libpcap-dev",
                "cargo run --release -- summary captures/demo.pcapng",
            ]
        };
        assert_eq!(calls.lines().collect::<Vec<_>>(), expected, "{context}");
    }
}

/// The README section that starts with `heading`, up to the next heading.
fn readme_section(heading: &str) -> String {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let start = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has no {heading}"));
    let rest = &readme[start + heading.len()..];
    let end = rest.find("\n#").unwrap_or(rest.len());
    rest[..end].to_string()
}

/// The first backticked text of a README section that contains `first_column,`, with its line
/// breaks and indentation removed.
fn documented_columns(section: &str, first_column: &str) -> String {
    let start = section
        .find(&format!("`{first_column},"))
        .unwrap_or_else(|| panic!("no column list in {section}"));
    let list = &section[start + 1..];
    let end = list.find('`').unwrap();
    list[..end].split_whitespace().collect()
}

/// Item 15: the README did not document the summary CSV columns, nor how annotate's CSV packs
/// `outer` and `icmp_quote`. The documented columns are the ones written, and the documented
/// packing examples are fields portnote writes for the bundled captures.
#[test]
fn item15_readme_documents_the_csv_formats_as_written() {
    let summary_doc = readme_section("### `summary --format csv`");
    let (_, summary_csv, _) = util::portnote(&["summary", "--format", "csv", DEMO]);
    assert_eq!(
        documented_columns(&summary_doc, "section"),
        summary_csv.lines().next().unwrap()
    );
    assert!(summary_csv
        .lines()
        .any(|l| l.starts_with("no_ports,,icmp,")));
    assert!(summary_doc.contains("`no_ports`"));

    let annotate_doc = readme_section("### `annotate --format csv`");
    let (_, annotate_csv, _) = util::portnote(&[
        "annotate",
        "--format",
        "csv",
        "captures/tunnel-vxlan.pcap",
        "captures/icmp-errors.pcap",
    ]);
    let mut reader = csv::Reader::from_reader(annotate_csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(documented_columns(&annotate_doc, "file"), header.join(","));
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    for (name, example) in [
        ("outer", "vxlan:udp/55040/4789"),
        ("icmp_quote", "4:udp/52011/33434"),
    ] {
        assert!(
            annotate_doc.contains(&format!("`{example}`")),
            "{name}: example {example} not in the README"
        );
        assert!(
            records.iter().any(|r| &r[column(name)] == example),
            "{name}: portnote never writes {example}"
        );
    }
}

//! `portnote lookup` as a user runs it: ports, transports, ranges, names, formats, errors.

use assert_cmd::Command;
use std::io::Write;
use std::path::Path;

const XML: &str = "registry/service-names-port-numbers.xml";

fn portnote(data_dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("portnote").unwrap();
    cmd.env_remove("PORTNOTE_REGISTRY")
        .env("PORTNOTE_DATA_DIR", data_dir);
    cmd
}

fn run_ok(args: &[&str]) -> String {
    let data = tempfile::tempdir().unwrap();
    let out = portnote(data.path()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn port_without_transport_shows_all_four() {
    let rows = csv_rows(&run_ok(&["lookup", "443", "--format", "csv"]));
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[2].as_str(), r[4].as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("tcp", "assigned", "https"),
            ("udp", "assigned", "https"),
            ("sctp", "assigned", "https"),
            ("dccp", "unassigned", ""),
        ]
    );
}

#[test]
fn several_queries_ranges_dynamic_and_unassigned() {
    let rows = csv_rows(&run_ok(&[
        "lookup",
        "6000-6010/tcp",
        "50000/udp",
        "4/tcp",
        "--format",
        "csv",
    ]));
    assert_eq!(rows.len(), 11 + 1 + 1);
    assert!(rows[..11]
        .iter()
        .all(|r| r[2] == "assigned" && r[4] == "x11" && r[3] == "user"));
    assert_eq!(rows[11][..4], ["udp", "50000", "unassigned", "dynamic"]);
    assert_eq!(rows[12][..4], ["tcp", "4", "unassigned", "system"]);
}

#[test]
fn name_lookup_is_case_insensitive_and_lists_every_slot() {
    let rows = csv_rows(&run_ok(&["lookup", "HTTPS/tcp", "--format", "csv"]));
    assert!(rows
        .iter()
        .any(|r| r[0] == "tcp" && r[1] == "443" && r[4] == "https"));
    // A name may start with a digit; it is still a name, not a port.
    let tsmux = csv_rows(&run_ok(&["lookup", "3com-tsmux/tcp", "--format", "csv"]));
    assert_eq!(
        tsmux[0][..5],
        ["tcp", "106", "assigned", "system", "3com-tsmux"]
    );
    let x11 = csv_rows(&run_ok(&["lookup", "x11", "--format", "csv"]));
    assert_eq!(x11.len(), 2 * 64, "x11 is 6000-6063 on tcp and udp");
}

#[test]
fn json_output_is_structured() {
    let text = run_ok(&["lookup", "22/tcp", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v[0]["transport"], "tcp");
    assert_eq!(v[0]["port"], 22);
    assert_eq!(v[0]["status"], "assigned");
    assert_eq!(v[0]["class"], "system");
    assert_eq!(v[0]["service"], "ssh");
}

#[test]
fn table_has_a_header_and_aligned_columns() {
    let text = run_ok(&["lookup", "22/tcp", "65000/udp"]);
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("TRANSPORT"));
    let col = lines[0].find("STATUS").unwrap();
    assert_eq!(lines[1].find("assigned"), Some(col));
    assert_eq!(lines[2].find("unassigned"), Some(col));
    assert!(lines[2].contains("dynamic"));
}

#[test]
fn unknown_names_and_bad_queries_exit_2() {
    let data = tempfile::tempdir().unwrap();
    for (query, expect) in [
        ("no-such-service-xyz", "no service named"),
        ("443/icmp", "unknown transport"),
        ("65536", "out of range"),
        ("90-80/tcp", "reversed"),
        ("/tcp", "bad query"),
    ] {
        let out = portnote(data.path())
            .args(["lookup", query])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{query}");
        assert!(stderr.contains(expect), "{query}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn services_overlay_names_become_primary() {
    let mut mine = tempfile::NamedTempFile::new().unwrap();
    mine.write_all(b"# local services\nmyapp 8443/tcp # our app\nmyrange 50000-50001/udp\n")
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let out = portnote(data.path())
        .args([
            "lookup",
            "8443/tcp",
            "50001/udp",
            "myapp",
            "--format",
            "csv",
            "--services",
        ])
        .arg(mine.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = csv_rows(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(rows[0][4], "myapp");
    // The registry's own name stays reachable.
    assert_eq!(rows[0][5], "pcsync-https");
    assert_eq!(rows[0][6], "our app");
    assert_eq!(
        rows[1][..5],
        ["udp", "50001", "assigned", "dynamic", "myrange"]
    );
    assert_eq!(rows[2][..2], ["tcp", "8443"]);
}

#[test]
fn iana_xml_shows_all_names_and_unauthorized_notes() {
    let Some(xml) = crate::util::shared_file("lookup on IANA's XML", XML) else {
        return;
    };
    let rows = csv_rows(&run_ok(&[
        "lookup",
        "2049/tcp",
        "79/tcp",
        "100/udp",
        "--format",
        "csv",
        "--registry",
        xml.to_str().unwrap(),
    ]));
    // 2049/tcp: shilp is IANA's first row, nfs a second name for the same slot.
    assert_eq!(rows[0][4], "shilp");
    assert!(rows[0][5].split(' ').any(|n| n == "nfs"), "{:?}", rows[0]);
    assert_eq!(
        rows[1][7],
        "Unauthorized use by some mail users (see [RFC4146] for details)"
    );
    // IANA files port 100's note on a row without a transport: it reaches every transport.
    assert_eq!(rows[2][2], "unassigned");
    assert_eq!(rows[2][7], "Known Unauthorized Use on 100");
}

#[test]
fn closed_pipe_is_quiet() {
    let data = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("portnote"))
        .env_remove("PORTNOTE_REGISTRY")
        .env("PORTNOTE_DATA_DIR", data.path())
        .args(["registry", "export"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close our end, like `| head -1`.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(&first, b"transport,port,s");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_empty_registry_variable_counts_as_unset() {
    let data = tempfile::tempdir().unwrap();
    let plain = portnote(data.path())
        .args(["lookup", "443/tcp", "--format", "csv"])
        .output()
        .unwrap();
    let empty = portnote(data.path())
        .env("PORTNOTE_REGISTRY", "")
        .args(["lookup", "443/tcp", "--format", "csv"])
        .output()
        .unwrap();
    assert!(
        empty.status.success(),
        "{}",
        String::from_utf8_lossy(&empty.stderr)
    );
    assert_eq!(empty.stdout, plain.stdout);
    // A set, non-empty value still overrides: a missing file is an error naming it.
    let missing = portnote(data.path())
        .env("PORTNOTE_REGISTRY", data.path().join("nope.csv"))
        .args(["lookup", "443/tcp"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.csv"));
}

/// Issue 13 item 7: `lookup 443/tcp nosuch 22/tcp` printed nothing and exited 2. Every answer
/// that exists is printed, the bad query is named, and the status is still 2.
#[test]
fn issue13_good_answers_are_printed_beside_a_bad_query() {
    let data = tempfile::tempdir().unwrap();
    for format in ["csv", "json", "table"] {
        let out = portnote(data.path())
            .args([
                "lookup", "443/tcp", "nosuch", "22/tcp", "65536", "--format", format,
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{format}: {stderr}");
        assert!(
            stdout.contains("https") && stdout.contains("ssh"),
            "{format}: {stdout}"
        );
        assert!(stderr.contains("\"nosuch\""), "{stderr}");
        assert!(stderr.contains("\"65536\""), "{stderr}");
        if format == "csv" {
            let rows = csv_rows(&stdout);
            assert_eq!(rows.len(), 2, "{stdout}");
            assert_eq!(rows[0][..2], ["tcp", "443"]);
            assert_eq!(rows[1][..2], ["tcp", "22"]);
        }
    }
}

/// Issue 13 item 7: IANA lists `www` as a further name of http; the built-in registry answers it.
#[test]
fn issue13_alias_www_is_found_in_the_builtin_registry() {
    let rows = csv_rows(&run_ok(&["lookup", "www", "--format", "csv"]));
    let slots: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str(), r[4].as_str()))
        .collect();
    assert!(slots.contains(&("tcp", "80", "http")), "{slots:?}");
    assert!(slots.contains(&("udp", "80", "http")), "{slots:?}");
}

/// Issue 13 item 7: names IANA added after the 2015 copy the aliases come from (submissions on
/// 465/tcp by RFC 8314, ipps on 631/tcp) are in the built-in registry beside the first name.
#[test]
fn issue13_names_registered_after_2015_are_found() {
    let rows = csv_rows(&run_ok(&[
        "lookup",
        "submissions",
        "ipps",
        "--format",
        "csv",
    ]));
    let slots: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str(), r[4].as_str()))
        .collect();
    assert_eq!(
        slots,
        [("tcp", "465", "urd"), ("tcp", "631", "ipp")],
        "{rows:?}"
    );
}

/// Issue 13 item 7: `lookup --search kerberos` finds services by their description.
#[test]
fn issue13_search_finds_names_and_descriptions() {
    let rows = csv_rows(&run_ok(&[
        "lookup", "--search", "kerberos", "--format", "csv",
    ]));
    let find = |t: &str, p: &str| rows.iter().find(|r| r[0] == t && r[1] == p);
    // 88/tcp is named kerberos, 749/tcp kerberos-adm; 6621/tcp (kftp) only says Kerberos in
    // its description.
    assert_eq!(find("tcp", "88").unwrap()[4], "kerberos");
    assert_eq!(find("udp", "749").unwrap()[4], "kerberos-adm");
    let kftp = find("tcp", "6621").expect("kftp's description names Kerberos");
    assert!(!kftp[4].to_lowercase().contains("kerberos"), "{kftp:?}");
    assert!(kftp[6].to_lowercase().contains("kerberos"), "{kftp:?}");
    assert!(rows.iter().all(|r| {
        let text = r.join(" ").to_lowercase();
        text.contains("kerberos")
    }));

    let data = tempfile::tempdir().unwrap();
    let none = portnote(data.path())
        .args(["lookup", "--search", "no-such-text-anywhere"])
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no-such-text-anywhere"));
}

//! Issue 18: `summary --format html`. The page is well-formed (a strict XML parser reads it to
//! the end with every element closed), escapes what comes from captures and registries, stays
//! under 1 MB for a capture with every port in it, and shows in a real browser (headless
//! Chromium) every row of the JSON summary with the same numbers. Also: the JSON `timeline`
//! accounts for every packet, in the section of the row that counts it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

mod common;

use portnote::capture::write::{FrameWriter, PcapResolution, PcapWriter};
use portnote::capture::Timestamp;
use portnote::linktype::LinkType;
use quick_xml::events::Event;
use quick_xml::Reader;
use std::path::{Path, PathBuf};
use std::process::Command;

const DEMO: &str = "captures/demo.pcapng";

/// What a strict XML reading of a page found.
#[derive(Debug, Default)]
struct Parsed {
    /// Element names in document order.
    elements: Vec<String>,
    /// All text content, entities resolved.
    text: String,
}

/// Read `html` as XML: every start tag must be closed by its own end tag, entities must be the
/// predefined ones, and the document must end with nothing open.
fn parse_strict(html: &str) -> Parsed {
    let mut reader = Reader::from_str(html);
    reader.config_mut().check_end_names = true;
    let mut open: Vec<String> = Vec::new();
    let mut parsed = Parsed::default();
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed at {}: {e}", reader.error_position()));
        match event {
            Event::Start(e) => {
                let name = element_name(&e);
                parsed.elements.push(name.clone());
                open.push(name);
            }
            Event::Empty(e) => {
                parsed.elements.push(element_name(&e));
            }
            Event::End(e) => {
                let name = e.name();
                let name: &str = name.as_ref();
                assert_eq!(open.pop().as_deref(), Some(name), "closing </{name}>");
            }
            Event::Text(t) => parsed.text.push_str(&t.xml10_content()),
            Event::CData(t) => parsed.text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().unwrap() {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&r)
                        .unwrap_or_else(|| panic!("entity &{}; is not XML's", &*r))
                        .to_string(),
                };
                parsed.text.push_str(&resolved);
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    assert!(open.is_empty(), "unclosed at the end: {open:?}");
    parsed
}

fn element_name(e: &quick_xml::events::BytesStart<'_>) -> String {
    let name = e.name();
    let name: &str = name.as_ref();
    name.to_string()
}

fn run_ok(args: &[&str]) -> String {
    let (code, stdout, stderr) = common::portnote(args);
    assert_eq!(code, 0, "portnote {args:?}: {stderr}");
    stdout
}

/// Thousands with commas, as the page shows counts.
fn commas(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn demo_report_is_well_formed_self_contained_and_complete() {
    let html = run_ok(&["summary", "--format", "html", DEMO]);
    let parsed = parse_strict(&html);
    for element in ["html", "head", "style", "body", "svg", "table", "script"] {
        assert!(
            parsed.elements.iter().any(|e| e == element),
            "no <{element}>"
        );
    }
    // Self-contained: nothing to fetch at view time.
    for fetch in ["<link", "<img", "src=", "@import", "url("] {
        assert!(!html.contains(fetch), "the page fetches something: {fetch}");
    }
    // The only URL is the SVG namespace, an identifier that is never fetched.
    assert_eq!(
        html.matches("://").count(),
        html.matches("http://www.w3.org/2000/svg").count()
    );
    // The table's numbers are in the page text.
    let json: serde_json::Value =
        serde_json::from_str(&run_ok(&["summary", "--format", "json", DEMO])).unwrap();
    for row in json["rows"].as_array().unwrap() {
        let bytes = commas(row["bytes"].as_u64().unwrap());
        assert!(parsed.text.contains(&bytes), "row bytes {bytes} missing");
    }
    assert!(parsed.text.contains("Unassigned and reserved ports"));
    assert!(parsed.text.contains("Bytes over time"));
}

#[test]
fn capture_and_registry_strings_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    // A file name and a registry row that would be markup if pasted raw.
    let capture = dir
        .path()
        .join("demo<script>alert('file')<script>&amp;\".pcapng");
    std::fs::copy(DEMO, &capture).unwrap();
    let registry = dir.path().join("registry<b>bold<b>.csv");
    std::fs::write(
        &registry,
        "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,\
         Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,\
         Assignment Notes\n\
         <script>alert(1)</script>,443,tcp,Web,,,,,,,<i>reported</i> & noted,\n\
         ,47,tcp,Reserved,,,,,,,,\n",
    )
    .unwrap();
    let out = dir.path().join("report.html");
    run_ok(&[
        "--registry",
        registry.to_str().unwrap(),
        "summary",
        "--format",
        "html",
        "-o",
        out.to_str().unwrap(),
        capture.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&out).unwrap();
    let parsed = parse_strict(&html);
    // The one script is the page's own sorter; no element came from the strings.
    let count = |name: &str| parsed.elements.iter().filter(|e| *e == name).count();
    assert_eq!(count("script"), 1);
    assert_eq!(count("b"), 0);
    assert_eq!(count("i"), 0);
    // ... and the strings read as written.
    let file_name = capture.to_str().unwrap();
    assert!(
        parsed.text.contains(file_name),
        "file name not shown as text"
    );
    assert!(parsed.text.contains("<script>alert(1)</script>"));
    assert!(parsed.text.contains("<i>reported</i> & noted"));
    assert!(parsed.text.contains(registry.to_str().unwrap()));
    assert!(!html.contains("<script>alert"), "raw markup in the page");
}

/// A pcap of raw IPv6 packets: a TCP SYN to every port 1..=65535 and a UDP datagram from every
/// port, each from and to an address of its own, so every port is a row of its own.
fn every_port_capture(path: &Path) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut writer = PcapWriter::new(file, LinkType::IPV6, 65535, PcapResolution::Micros).unwrap();
    let mut frame = Vec::with_capacity(64);
    let mut n: i64 = 0;
    for port in 1..=u16::MAX {
        for transport in [6u8, 17] {
            let header_len: u16 = if transport == 6 { 20 } else { 8 };
            frame.clear();
            frame.extend_from_slice(&[0x60, 0, 0, 0]);
            frame.extend_from_slice(&header_len.to_be_bytes());
            frame.extend_from_slice(&[transport, 64]);
            // Source 2001:db8:1::PORT, destination 2001:db8:2::PORT.
            for side in [1u8, 2] {
                frame.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, side]);
                frame.extend_from_slice(&[0; 8]);
                frame.extend_from_slice(&port.to_be_bytes());
            }
            if transport == 6 {
                frame.extend_from_slice(&40000u16.to_be_bytes());
                frame.extend_from_slice(&port.to_be_bytes());
                frame.extend_from_slice(&[
                    0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
                ]);
            } else {
                frame.extend_from_slice(&port.to_be_bytes());
                frame.extend_from_slice(&40000u16.to_be_bytes());
                frame.extend_from_slice(&[0, 8, 0, 0]);
            }
            n += 1;
            let ts = Timestamp {
                secs: 1_700_000_000 + n / 1000,
                nanos: u32::try_from(n % 1000).unwrap() * 1_000_000,
                digits: 6,
            };
            let len = u32::try_from(frame.len()).unwrap();
            writer.write_frame(ts, len, LinkType::IPV6, &frame).unwrap();
        }
    }
    writer.flush().unwrap();
}

#[test]
fn report_stays_under_a_megabyte_with_every_port_in_the_capture() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("every-port.pcap");
    every_port_capture(&capture);
    let out = dir.path().join("report.html");
    run_ok(&[
        "summary",
        "--format",
        "html",
        "--top",
        "0",
        "-o",
        out.to_str().unwrap(),
        capture.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&out).unwrap();
    eprintln!("every-port report: {} bytes", html.len());
    assert!(html.len() < 1_000_000, "{} bytes", html.len());
    let parsed = parse_strict(&html);
    // Thousands of rows per section exist; the page says how many it left out.
    assert!(
        parsed.text.contains("more rows not shown"),
        "no note of hidden rows"
    );
    // The capture really has that many rows (CSV: one line each, and a header).
    let csv = run_ok(&["summary", "--format", "csv", capture.to_str().unwrap()]);
    assert!(
        csv.lines().count() > 30_000,
        "{} CSV lines",
        csv.lines().count()
    );
}

/// Per section, the packets and bytes of the rows; `no_ports` for packets without ports.
fn section_sums(json: &serde_json::Value) -> std::collections::BTreeMap<String, (u64, u64)> {
    let mut sums = std::collections::BTreeMap::new();
    for row in json["rows"].as_array().unwrap() {
        let entry = sums
            .entry(row["section"].as_str().unwrap().to_string())
            .or_insert((0, 0));
        entry.0 += row["packets"].as_u64().unwrap();
        entry.1 += row["bytes"].as_u64().unwrap();
    }
    for detail in json["no_ports_detail"].as_object().unwrap().values() {
        let entry = sums.entry("no_ports".to_string()).or_insert((0, 0));
        entry.0 += detail["packets"].as_u64().unwrap();
        entry.1 += detail["bytes"].as_u64().unwrap();
    }
    sums
}

fn timeline_sums(json: &serde_json::Value) -> std::collections::BTreeMap<String, (u64, u64)> {
    let mut sums = std::collections::BTreeMap::new();
    for bucket in json["timeline"]["buckets"].as_array().unwrap() {
        for (lane, packets) in bucket["packets"].as_object().unwrap() {
            let bytes = bucket["bytes"][lane].as_u64().unwrap();
            let packets = packets.as_u64().unwrap();
            if packets > 0 {
                let entry = sums.entry(lane.clone()).or_insert((0, 0));
                entry.0 += packets;
                entry.1 += bytes;
            }
        }
    }
    sums
}

fn assert_timeline_matches_rows(file: &Path) {
    let (code, stdout, stderr) =
        common::portnote(&["summary", "--format", "json", file.to_str().unwrap()]);
    assert!(code == 0 || code == 2, "{}: {stderr}", file.display());
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        timeline_sums(&json),
        section_sums(&json),
        "{}: timeline lanes vs sections",
        file.display()
    );
    let buckets = json["timeline"]["buckets"].as_array().unwrap();
    assert!(buckets.len() <= 1024);
    let starts: Vec<&str> = buckets
        .iter()
        .map(|b| b["start"].as_str().unwrap())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "{}: buckets in time order", file.display());
}

#[test]
fn timeline_counts_every_packet_in_its_rows_section() {
    let mut files: Vec<PathBuf> = std::fs::read_dir("captures")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    files.sort();
    if let Some(shared) = common::shared_dir("the timeline check on public captures") {
        files.extend(common::public_captures(&shared));
    }
    for file in &files {
        assert_timeline_matches_rows(file);
    }
}

/// Chromium, when installed; under CI=true its absence fails the test.
fn chromium() -> Option<PathBuf> {
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(candidate).is_file() {
            return Some(PathBuf::from(candidate));
        }
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but chromium is not installed: the browser check cannot run");
    }
    eprintln!(
        "NOTICE: chromium is not installed; skipping the headless-browser check of the HTML report"
    );
    None
}

/// Run headless Chromium on `page` with `args`, in a profile of its own; its stdout.
fn headless(chromium: &Path, page: &Path, args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("timeout")
        .arg("120")
        .arg(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text of each `<td>` of the `<tr data-row="KEY">` in a DOM dump.
fn dom_cells(dom: &str, key: &str) -> Vec<String> {
    let marker = format!("<tr data-row=\"{key}\">");
    let start = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("row {key} not in the DOM"));
    let row = &dom[start..];
    let row = &row[..row.find("</tr>").unwrap()];
    row.split("<td")
        .skip(1)
        .map(|cell| {
            let cell = &cell[cell.find('>').unwrap() + 1..];
            let cell = &cell[..cell.find("</td>").unwrap()];
            // Inner tags (<span>, <br>) separate words.
            let mut text = String::new();
            let mut in_tag = false;
            for c in cell.chars() {
                match c {
                    '<' => {
                        in_tag = true;
                        text.push(' ');
                    }
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&amp;", "&")
                .trim()
                .to_string()
        })
        .collect()
}

#[test]
fn demo_report_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("demo.html");
    run_ok(&[
        "summary",
        "--format",
        "html",
        "-o",
        page.to_str().unwrap(),
        DEMO,
    ]);
    let json: serde_json::Value =
        serde_json::from_str(&run_ok(&["summary", "--format", "json", DEMO])).unwrap();

    // Every row of the JSON summary, with the same numbers, in the DOM the browser built.
    let dom = headless(&chromium, &page, &["--dump-dom"]);
    let rows = json["rows"].as_array().unwrap();
    assert!(rows.len() >= 10);
    for row in rows {
        let key = format!(
            "{}:{}:{}",
            row["section"].as_str().unwrap(),
            row["transport"].as_str().unwrap(),
            row["ports"][0]
        );
        let cells = dom_cells(&dom, &key);
        let number = |field: &str| commas(row[field].as_u64().unwrap());
        assert_eq!(cells[0], row["transport"].as_str().unwrap(), "{key}");
        let name = row["service"]
            .as_str()
            .unwrap_or_else(|| row["status"].as_str().unwrap());
        assert_eq!(cells[1], name, "{key}");
        assert_eq!(cells[2], row["ports"][0].to_string(), "{key}");
        assert_eq!(cells[3], number("flows"), "{key} flows");
        assert_eq!(cells[4], number("packets"), "{key} packets");
        assert_eq!(cells[5], number("bytes"), "{key} bytes");
        assert_eq!(
            cells[6],
            format!("{:.1}%", row["share"].as_f64().unwrap() * 100.0),
            "{key} share"
        );
        assert_eq!(cells[7], number("bytes_to_server"), "{key}");
        assert_eq!(cells[8], number("bytes_to_client"), "{key}");
        assert_eq!(cells[9], number("flows_unanswered"), "{key} unanswered");
        assert_eq!(cells[10], number("flows_refused"), "{key} refused");
        if row["section"] != "assigned" {
            for server in row["servers"].as_array().unwrap() {
                assert!(
                    cells[11].contains(server.as_str().unwrap()),
                    "{key} servers"
                );
            }
            assert_eq!(cells[12], number("clients"), "{key} clients");
        }
    }
    for (reason, detail) in json["no_ports_detail"].as_object().unwrap() {
        let cells = dom_cells(&dom, &format!("no_ports:{reason}"));
        assert_eq!(cells[0], *reason);
        assert_eq!(cells[1], commas(detail["packets"].as_u64().unwrap()));
        assert_eq!(cells[2], commas(detail["bytes"].as_u64().unwrap()));
    }
    // Clicking a header sorts its table (the page clicks it when the URL asks, as a link can).
    let sorted = headless(
        &chromium,
        &page.with_file_name("demo.html#sort=assigned:4"),
        &["--dump-dom"],
    );
    assert!(
        sorted.contains("aria-sort=\"descending\""),
        "no header marked as sorted"
    );
    let mut in_page: Vec<(usize, u64)> = rows
        .iter()
        .filter(|r| r["section"] == "assigned")
        .map(|r| {
            let key = format!(
                "<tr data-row=\"assigned:{}:{}\">",
                r["transport"].as_str().unwrap(),
                r["ports"][0]
            );
            (sorted.find(&key).unwrap(), r["packets"].as_u64().unwrap())
        })
        .collect();
    in_page.sort();
    let packets: Vec<u64> = in_page.iter().map(|&(_, p)| p).collect();
    let mut descending = packets.clone();
    descending.sort_by(|a, b| b.cmp(a));
    assert_eq!(packets, descending, "assigned rows by packets, descending");
    let by_bytes: Vec<u64> = rows
        .iter()
        .filter(|r| r["section"] == "assigned")
        .map(|r| r["packets"].as_u64().unwrap())
        .collect();
    assert_ne!(
        by_bytes, descending,
        "the demo's default order already sorts by packets"
    );

    let totals = &json["totals"];
    assert!(dom.contains(&format!(
        "{} packets ({} with ports, {} without), {} bytes",
        commas(totals["packets"].as_u64().unwrap()),
        commas(totals["packets_with_ports"].as_u64().unwrap()),
        commas(totals["packets_without_ports"].as_u64().unwrap()),
        commas(totals["bytes"].as_u64().unwrap()),
    )));

    // A screenshot of the size asked for, not blank: many colours, the charts' among them.
    let png_path = dir.path().join("demo.png");
    headless(
        &chromium,
        &page,
        &[
            &format!("--screenshot={}", png_path.display()),
            "--window-size=1200,900",
        ],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (1200, 900));
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    let colours: std::collections::HashSet<&[u8]> = pixels[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|p| &p[..3])
        .collect();
    assert!(colours.len() > 50, "{} colours: blank?", colours.len());
    // The bar chart's assigned blue and unassigned vermillion (the light scheme's) are painted.
    let painted = |rgb: [u8; 3]| {
        pixels[..info.buffer_size()]
            .chunks_exact(channels)
            .filter(|p| p[..3] == rgb)
            .count()
    };
    assert!(painted([0x00, 0x72, 0xb2]) > 1000, "assigned bars");
    assert!(painted([0xd5, 0x5e, 0x00]) > 200, "unassigned bars");
}

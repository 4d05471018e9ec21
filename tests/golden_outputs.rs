//! Outputs unchanged (issue 12): `summary --format json` and `annotate --format ndjson` of every
//! public capture in ../shared, byte for byte, against the outputs of the build before the
//! restructuring (commit 1ac165c), kept in tests/golden/ (annotate's gzipped; see
//! tests/golden/generate.sh for how they were made), as changed since on purpose: issue 14's
//! service-side evidence and rule (regenerated from its branch's build, adf46f9).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Run portnote in the capture's directory on its bare name, as generate.sh did, so the
/// outputs name the file the same way.
fn run(capture: &Path, args: &[&str]) -> Vec<u8> {
    let dir = capture.parent().unwrap();
    let name = capture.file_name().unwrap();
    let out = assert_cmd::Command::cargo_bin("portnote")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .arg(name)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} {args:?}: exit {:?}, stderr {}",
        capture.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The first line where `got` and `want` part, for a readable failure.
fn first_difference(got: &[u8], want: &[u8]) -> String {
    let got = String::from_utf8_lossy(got);
    let want = String::from_utf8_lossy(want);
    for (n, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        if g != w {
            return format!("line {}:\n  got  {g}\n  want {w}", n + 1);
        }
    }
    format!(
        "one is a prefix of the other: {} lines against {}",
        got.lines().count(),
        want.lines().count()
    )
}

fn gunzip(path: &Path) -> Vec<u8> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (a capture without golden output: see tests/golden/generate.sh)",
            path.display()
        )
    });
    let mut bytes = Vec::new();
    GzDecoder::new(file).read_to_end(&mut bytes).unwrap();
    bytes
}

/// Fields the summary gained after the reference build, one per line of the pretty JSON,
/// checked by their own tests: issue 13's `flows_unanswered` and `flows_refused` per row
/// (tests/summary_replies.rs). Everything else must still match byte for byte.
const LATER_FIELDS: [&str; 2] = ["\"flows_unanswered\": ", "\"flows_refused\": "];

fn without_later_fields(json: &[u8]) -> Vec<u8> {
    let mut kept = Vec::with_capacity(json.len());
    for line in json.split_inclusive(|b| *b == b'\n') {
        let text = String::from_utf8_lossy(line);
        if !LATER_FIELDS
            .iter()
            .any(|f| text.trim_start().starts_with(f))
        {
            kept.extend_from_slice(line);
        }
    }
    kept
}

#[test]
fn summary_and_annotate_print_what_the_reference_build_printed() {
    let Some(shared) = common::shared_dir("the golden-output comparison") else {
        return;
    };
    let captures = common::public_captures(&shared);
    assert!(captures.len() >= 70, "{} public captures", captures.len());
    let golden = golden_dir();
    let mut differences = Vec::new();
    for capture in &captures {
        let name = capture.file_name().unwrap().to_string_lossy().into_owned();

        let want = std::fs::read(golden.join("summary").join(format!("{name}.json")))
            .unwrap_or_else(|e| panic!("{name}: no golden summary ({e}): see generate.sh"));
        let got = without_later_fields(&run(capture, &["summary", "--format", "json"]));
        if got != want {
            differences.push(format!("summary {name}: {}", first_difference(&got, &want)));
        }

        let want = gunzip(&golden.join("annotate").join(format!("{name}.ndjson.gz")));
        let got = run(capture, &["annotate", "--format", "ndjson"]);
        if got != want {
            differences.push(format!(
                "annotate {name}: {}",
                first_difference(&got, &want)
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} outputs differ from the reference build's:\n{}",
        differences.len(),
        differences.join("\n")
    );
    // Every golden file belongs to a capture still there (a renamed capture would otherwise
    // leave its golden output unchecked).
    for kind in ["summary", "annotate"] {
        let kept = std::fs::read_dir(golden.join(kind)).unwrap().count();
        assert_eq!(
            kept,
            captures.len(),
            "golden {kind} outputs against captures"
        );
    }
}

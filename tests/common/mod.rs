//! Helpers shared by the integration tests.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use std::path::PathBuf;

/// `../shared` next to the project root, when present. Absent on a user's fresh clone: the
/// caller says so and passes; under `CI=true` absence is a failure.
pub fn shared_dir(what: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but ../shared is missing: {what} cannot run");
    }
    eprintln!("NOTICE: ../shared is absent; skipping {what} (it runs where ../shared exists)");
    None
}

/// Every capture in ../shared/captures/public (files with an .oracle.tsv beside them), sorted.
pub fn public_captures(shared: &std::path::Path) -> Vec<PathBuf> {
    let dir = shared.join("captures/public");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            !name.ends_with(".tsv") && !name.ends_with(".txt") && !name.ends_with(".md")
        })
        .collect();
    files.sort();
    files
}

/// Run the portnote binary, returning (exit code, stdout, stderr).
pub fn portnote(args: &[&str]) -> (i32, String, String) {
    let out = assert_cmd::Command::cargo_bin("portnote")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `annotate --format ndjson` of one file, parsed.
pub fn annotate_records(file: &std::path::Path) -> (i32, Vec<serde_json::Value>, String) {
    let (code, stdout, stderr) =
        portnote(&["annotate", "--format", "ndjson", file.to_str().unwrap()]);
    let records = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad ndjson line {l:?}: {e}")))
        .collect();
    (code, records, stderr)
}

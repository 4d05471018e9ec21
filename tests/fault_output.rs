//! Output that cannot be written, and portnote's own bugs, through the real binary:
//!
//! - a reader that goes away (`portnote ... | head -1`) ends the run quietly with status 0;
//! - a write that fails (stdout on /dev/full) is an error: status 2 and a message;
//! - a panic (forced with the undocumented PORTNOTE_TEST_PANIC) is reported as a bug in two
//!   lines and exits 2, not 101 with Rust's default message.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn portnote() -> Command {
    crate::util::portnote_command()
}

fn demo() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/demo.pcapng");
    path.to_str().unwrap().to_owned()
}

/// Reads one line of `args`' output, closes the pipe, and returns (status, first line, stderr).
fn first_line_then_close(args: &[String]) -> (Option<i32>, String, String) {
    let mut child = portnote()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    drop(stdout); // the reader goes away, as `head -1` does
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap().code(), line, stderr)
}

/// Eighty copies of the demo capture: over 2 MB of annotate output, far beyond a pipe's buffer, so
/// portnote is still writing when the pipe closes.
fn many_demos(command: &str, format: &str) -> Vec<String> {
    let mut args = vec![command.to_owned(), "--format".to_owned(), format.to_owned()];
    args.extend(std::iter::repeat_n(demo(), 80));
    args
}

#[test]
fn closed_pipe_ends_annotate_quietly_with_status_0() {
    for format in ["text", "ndjson", "csv"] {
        let (code, line, stderr) = first_line_then_close(&many_demos("annotate", format));
        assert!(!line.is_empty(), "{format}: no output at all");
        assert_eq!((code, stderr.as_str()), (Some(0), ""), "{format}");
    }
}

#[test]
fn closed_pipe_ends_summary_quietly_with_status_0() {
    // Eighty per-file tables (about 180 kB) outlast the pipe's buffer; each starts `== FILE`.
    let mut args = many_demos("summary", "table");
    args.push("--per-file".to_owned());
    let (code, line, stderr) = first_line_then_close(&args);
    assert!(line.starts_with("== "), "{line:?}");
    assert_eq!((code, stderr.as_str()), (Some(0), ""));
}

#[test]
fn a_full_disk_is_an_error_with_status_2() {
    for args in [
        vec!["annotate".to_owned(), demo()],
        vec!["summary".to_owned(), demo()],
        vec![
            "summary".to_owned(),
            "--format".to_owned(),
            "json".to_owned(),
            demo(),
        ],
    ] {
        let dev_full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = portnote()
            .args(&args)
            .stdout(Stdio::from(dev_full))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(
            stderr, "portnote: writing output: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
}

#[test]
fn a_panic_is_reported_as_a_bug_with_status_2() {
    let out = portnote()
        .env("PORTNOTE_TEST_PANIC", "1")
        .args(["summary", &demo()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("portnote: internal error (a bug in portnote ")
            && lines[0].contains("deliberate panic (PORTNOTE_TEST_PANIC is set) at src/main.rs:"),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("portnote: please report it"),
        "{stderr}"
    );
    assert!(!stderr.contains("thread 'main' panicked"), "{stderr}");
}

#[test]
fn without_the_variable_there_is_no_panic() {
    let out = portnote().args(["summary", &demo()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty());
}

//! The end of the run: one visible line counting the checks that passed without running
//! because something outside the repository was missing (issue 13, item 14).
//!
//! libtest starts tests in name order, so `skipped_checks_are_counted_in_one_line`, the last
//! name of the binary, starts after every other test of the run has started. A check that
//! skips does so at its first statements (`util::require`), so by then it has entered itself
//! in the skip registry, or is about to: the report waits until the registry has been quiet
//! for a moment, then writes its line past libtest's output capture.

use crate::util;
use std::process::Command;
use std::time::{Duration, Instant};

const REPORT: &str = "wrap_up::skipped_checks_are_counted_in_one_line";
/// Two checks that need ../shared and skip at once without it.
const GATED: [&str; 2] = [
    "summary_consistency::summary_rows_equal_annotate_records_grouped_by_service",
    "annotate_vs_tshark::annotate_agrees_with_tshark_on_every_shared_capture",
];

#[test]
fn skipped_checks_are_counted_in_one_line() {
    let quiet_for = Duration::from_millis(300);
    let give_up = Instant::now() + Duration::from_secs(10);
    let mut seen = util::skipped_count();
    let mut since = Instant::now();
    while since.elapsed() < quiet_for && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(50));
        let now = util::skipped_count();
        if now != seen {
            seen = now;
            since = Instant::now();
        }
    }
    if let Some(line) = util::skip_report() {
        util::say_uncaptured(&line);
    }
}

/// Runs this test binary on `tests` alone, with ../shared looked for where it is not.
fn run_without_shared(tests: &[&str], ci: bool) -> (bool, String) {
    let missing = tempfile::tempdir().unwrap();
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "--test-threads", "2"])
        .args(tests)
        .env("PORTNOTE_SHARED_DIR", missing.path().join("shared"));
    if ci {
        command.env("CI", "true");
    } else {
        command.env_remove("CI");
    }
    let out = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_run_without_shared_ends_with_the_count_of_skipped_checks() {
    let (passed, output) = run_without_shared(&[GATED[0], GATED[1], REPORT], false);
    assert!(passed, "{output}");
    let reports: Vec<&str> = output
        .lines()
        .filter(|line| line.starts_with("SKIPPED:"))
        .collect();
    assert_eq!(
        reports,
        [
            "SKIPPED: 2 checks passed without running (../shared absent: 2); \
          they run where those exist, and fail under CI=true"
        ],
        "{output}"
    );
}

#[test]
fn a_run_without_shared_fails_under_ci() {
    let (passed, output) = run_without_shared(&[GATED[0]], true);
    assert!(!passed, "{output}");
    assert!(
        output.contains("CI=true but the summary accounting check cannot run: ../shared absent"),
        "{output}"
    );
}

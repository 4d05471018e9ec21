//! Helpers shared by the integration tests: the skip policy for checks that need something
//! outside the repository (`../shared`, an external program, root), the binary runner, and the
//! corpus listing.
//!
//! The skip policy lives here and nowhere else. A check whose needs are missing (`../shared`, a
//! program, root, a file of a system package, a command that must succeed):
//! - under `CI=true` fails (CI installs every tool and provides `../shared`);
//! - otherwise passes without running, after a notice on its own (captured) output, and is
//!   entered in a process-wide registry. `wrap_up::skipped_checks_are_counted_in_one_line`, the
//!   last test in name order, prints one uncaptured line counting the registry's entries by
//!   reason, so a run that skipped checks never looks like a full pass.
//!
//! `PORTNOTE_SHARED_DIR` overrides where `../shared` is looked for (the `wrap_up` tests set it to
//! a missing directory to check the skip report).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// What a check needs beyond the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// `../shared`: reference captures, IANA files, attribution truth.
    Shared,
    /// A program on PATH (or in the sbin directories a non-login root PATH may lack).
    Tool(&'static str),
    /// Root (live capture, network namespaces).
    Root,
    /// A file a system package installs: (path, package), like `/etc/services` of netbase.
    File(&'static str, &'static str),
    /// A command that must run and succeed, like `python3 -c "import duckdb"` (a program whose
    /// presence alone says too little: a Python module, a Java runtime).
    Runs(&'static str, &'static [&'static str]),
}

/// The checks skipped so far in this process: (check, reason).
static SKIPPED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// Whether this run is CI's: missing needs fail instead of skipping.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Where `../shared` is expected: `$PORTNOTE_SHARED_DIR`, else next to the project root.
pub fn shared_path() -> PathBuf {
    match std::env::var_os("PORTNOTE_SHARED_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    }
}

/// Where a tool is: on PATH, or in the sbin directories a non-login root PATH may lack.
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Why `need` is not met on this machine, or `None` when it is.
fn unmet(need: Need) -> Option<String> {
    match need {
        Need::Shared => (!shared_path().is_dir()).then(|| "../shared absent".to_string()),
        Need::Tool(name) => tool(name)
            .is_none()
            .then(|| format!("{name} not installed")),
        Need::Root => (!is_root()).then(|| "not root".to_string()),
        Need::File(path, package) => (!Path::new(path).is_file())
            .then(|| format!("{path} absent (apt-get install {package})")),
        Need::Runs(program, args) => (!Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success()))
        .then(|| format!("`{program} {}` fails", args.join(" "))),
    }
}

/// True when every need of `check` is met. Otherwise: under `CI=true` a failure; else a notice,
/// an entry in the skip registry, and false (the caller returns, passing without running).
pub fn require(check: &str, needs: &[Need]) -> bool {
    let missing: Vec<String> = needs.iter().filter_map(|&need| unmet(need)).collect();
    if missing.is_empty() {
        return true;
    }
    let why = missing.join(", ");
    if under_ci() {
        panic!("CI=true but {check} cannot run: {why}");
    }
    eprintln!(
        "NOTICE: SKIPPING {check}: {why} (it runs where those exist, and always under CI=true)"
    );
    SKIPPED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push((check.to_string(), why));
    false
}

/// `../shared` when present; `None` after [`require`]'s skip otherwise.
pub fn shared_dir(check: &str) -> Option<PathBuf> {
    require(check, &[Need::Shared]).then(shared_path)
}

/// A file under `../shared` (`relative` like `registry/service-names-port-numbers.xml`), when
/// `../shared` is present; `None` after [`require`]'s skip otherwise.
pub fn shared_file(check: &str, relative: &str) -> Option<PathBuf> {
    shared_dir(check).map(|dir| dir.join(relative))
}

/// The skip registry so far, as one line: `N checks skipped (reason: count; ...)`, or `None`
/// when nothing was skipped.
pub fn skip_report() -> Option<String> {
    let skipped = SKIPPED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    if skipped.is_empty() {
        return None;
    }
    let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, why) in &skipped {
        *by_reason.entry(why.as_str()).or_default() += 1;
    }
    let reasons: Vec<String> = by_reason
        .iter()
        .map(|(why, n)| format!("{why}: {n}"))
        .collect();
    let n = skipped.len();
    let checks = if n == 1 { "check" } else { "checks" };
    Some(format!(
        "SKIPPED: {n} {checks} passed without running ({}); they run where those exist, and fail under CI=true",
        reasons.join("; ")
    ))
}

/// Writes `line` to the real stderr. libtest captures only the `print!`/`eprint!` macros, so
/// this is visible in a plain `cargo test`.
pub fn say_uncaptured(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Number of entries in the skip registry.
pub fn skipped_count() -> usize {
    SKIPPED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .len()
}

/// Every capture in ../shared/captures/public (files with an .oracle.tsv beside them), sorted.
pub fn public_captures(shared: &Path) -> Vec<PathBuf> {
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
pub fn annotate_records(file: &Path) -> (i32, Vec<serde_json::Value>, String) {
    let (code, stdout, stderr) =
        portnote(&["annotate", "--format", "ndjson", file.to_str().unwrap()]);
    let records = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad ndjson line {l:?}: {e}")))
        .collect();
    (code, records, stderr)
}

/// A `Command` for the portnote binary under test, with no backtrace setting inherited.
pub fn portnote_command() -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("portnote"));
    command.env_remove("RUST_BACKTRACE");
    command
}

/// A little-endian pcap split into its file header and its records (header and data each).
pub fn pcap_records(path: &str) -> (Vec<u8>, Vec<Vec<u8>>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(
        bytes[..4],
        [0xd4, 0xc3, 0xb2, 0xa1],
        "{path}: little-endian pcap"
    );
    let mut records = Vec::new();
    let mut at = 24;
    while at < bytes.len() {
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        records.push(bytes[at..at + 16 + caplen].to_vec());
        at += 16 + caplen;
    }
    (bytes[..24].to_vec(), records)
}

/// portnote reading a pipe the test feeds, its output lines collected by a thread as they
/// come: for the tests that records stream (they must arrive while the feeder still holds the
/// pipe open, not when it closes).
pub struct Piped {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Piped {
    /// `portnote ARGS`, standard input a pipe.
    pub fn start(args: &[&str]) -> Piped {
        use std::io::BufRead;
        use std::process::Stdio;
        let mut child = portnote_command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines_tx, lines) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                if lines_tx.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        Piped {
            stdin: child.stdin.take(),
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// Writes `bytes` into the pipe and flushes; the pipe stays open.
    pub fn feed(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("the pipe is open");
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    /// The next `n` output lines, or as many as came within 20 seconds.
    pub fn lines(&self, n: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut lines = Vec::new();
        while lines.len() < n {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        lines
    }

    /// Whether no line comes within `wait`.
    pub fn quiet_for(&self, wait: std::time::Duration) -> bool {
        self.lines.recv_timeout(wait).is_err()
    }

    /// Closes the pipe and waits: the exit code and the lines not read yet.
    pub fn finish(mut self) -> (Option<i32>, Vec<String>) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        (status.code(), self.lines.try_iter().collect())
    }
}

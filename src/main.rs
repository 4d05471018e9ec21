//! portnote's entry point: parse arguments, run the command, map the result to an exit status
//! (0 success, 1 a --fail-on condition met, 2 error).

mod cli;
mod commands;

use clap::Parser;
use cli::Cli;
use std::io::Write;
use std::panic::PanicHookInfo;
use std::process::ExitCode;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(report_panic));
    panic_when_asked();
    // `PORTNOTE_REGISTRY=` (set but empty) means "no override", as for most environment
    // settings, rather than clap's "a value is required". Done before any thread exists.
    if std::env::var_os("PORTNOTE_REGISTRY").is_some_and(|v| v.is_empty()) {
        std::env::remove_var("PORTNOTE_REGISTRY");
    }
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portnote: {e}");
            ExitCode::from(2)
        }
    }
}

/// A panic is a bug in portnote, never the input's fault: say so in a few lines, ask for a
/// report, and exit 2 like any other error rather than 101 with a backtrace hint.
fn report_panic(info: &PanicHookInfo<'_>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    let location = info
        .location()
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    // Nothing is left to tell a failed write to stderr to, hence no error handling below.
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(
        stderr,
        "portnote: internal error (a bug in portnote {}): {message}{location}\n\
         portnote: please report it with the command line and, if you can share it, the input \
         file; RUST_BACKTRACE=1 adds a backtrace",
        env!("CARGO_PKG_VERSION")
    );
    if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
        let _ = writeln!(stderr, "{}", std::backtrace::Backtrace::force_capture());
    }
    std::process::exit(2);
}

/// Undocumented, for tests/fault_output.rs: shows that the hook works in the real binary.
#[allow(clippy::panic)] // the deliberate panic is the point
fn panic_when_asked() {
    if std::env::var_os("PORTNOTE_TEST_PANIC").is_some() {
        panic!("deliberate panic (PORTNOTE_TEST_PANIC is set)");
    }
}

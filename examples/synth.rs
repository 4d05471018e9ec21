//! Writes a deterministic synthetic capture: the command line of the `portnote-synth` crate
//! (`synth/`), whose commands captures/README.md records for every bundled capture.
//!
//! ```text
//! cargo run --example synth -- --packets 100000 --seed 7 --format pcapng --out mix.pcapng
//! cargo run --example synth -- --kind linktypes --link sll2 --out captures/linktype-sll2.pcap
//! cargo run --example synth -- --kind tunnels --tunnel vxlan --out captures/tunnel-vxlan.pcap
//! ```
//! `--out -` writes to stdout. Prints what was written on stderr. Options: `--help`.

use portnote_synth::args::{parse_args, USAGE};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

fn run() -> Result<(), String> {
    let args = parse_args(std::env::args().skip(1))?;
    let out: Box<dyn Write> = if args.out == "-" {
        Box::new(io::stdout().lock())
    } else {
        Box::new(File::create(&args.out).map_err(|e| format!("{}: {e}", args.out))?)
    };
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let summary = args
        .cfg
        .write(&mut out)
        .map_err(|e| format!("{}: {e}", args.out))?;
    out.flush().map_err(|e| format!("{}: {e}", args.out))?;
    eprintln!(
        "{}: {} packets, {} flows, {} bytes on the wire (mean {} B)",
        args.out,
        summary.packets,
        summary.flows,
        summary.wire_bytes,
        summary.wire_bytes.checked_div(summary.packets).unwrap_or(0)
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) if message == USAGE => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("synth: {message}");
            ExitCode::FAILURE
        }
    }
}

//! Writes a deterministic synthetic capture.
//!
//! ```text
//! cargo run --example synth -- --packets 100000 --seed 7 --format pcapng --out mix.pcapng
//! cargo run --example synth -- --kind linktypes --link sll2 --out captures/linktype-sll2.pcap
//! cargo run --example synth -- --kind tunnels --tunnel vxlan --out captures/tunnel-vxlan.pcap
//! ```
//! `--out -` writes to stdout. Prints what was written on stderr.

use clap::Parser;
use portnote::synth::{self, Format, Kind, SynthConfig, Tunnel, LINKS};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(about = "Write a deterministic synthetic pcap/pcapng capture")]
struct Args {
    /// Frames to write (the mix kind only; other kinds write their script once).
    #[arg(long, default_value_t = 1000)]
    packets: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// pcap or pcapng.
    #[arg(long, default_value = "pcap")]
    format: String,
    /// Output file, `-` for stdout.
    #[arg(long)]
    out: String,
    /// mix, demo, linktypes, tunnels, sctp, dccp, icmp or truncated.
    #[arg(long, default_value = "mix")]
    kind: String,
    /// ethernet, vlan, qinq, null, loop, raw, ipv4, ipv6, sll or sll2.
    #[arg(long)]
    link: Option<String>,
    /// gre, 4in4, 6in4, 4in6, 6in6, vxlan, geneve, gtpu or teredo.
    #[arg(long)]
    tunnel: Option<String>,
    #[arg(long, default_value_t = 262_144)]
    snaplen: u32,
    /// Largest application payload per packet.
    #[arg(long, default_value_t = 1448)]
    max_payload: u16,
}

fn choose<T: Copy>(table: &[(&str, T)], what: &str, name: &str) -> Result<T, String> {
    synth::lookup(table, name).ok_or_else(|| {
        let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
        format!(
            "unknown {what} {name:?}: expected one of {}",
            names.join(", ")
        )
    })
}

fn run(args: Args) -> Result<(), String> {
    let format = choose(
        &[("pcap", Format::Pcap), ("pcapng", Format::Pcapng)],
        "format",
        &args.format,
    )?;
    let cfg = SynthConfig {
        kind: choose(&Kind::ALL, "kind", &args.kind)?,
        packets: args.packets,
        seed: args.seed,
        format,
        link: args.link.map(|l| choose(&LINKS, "link", &l)).transpose()?,
        tunnel: args
            .tunnel
            .map(|t| choose::<Tunnel>(&Tunnel::ALL, "tunnel", &t))
            .transpose()?,
        snaplen: args.snaplen,
        max_payload: args.max_payload,
    };
    let out: Box<dyn Write> = if args.out == "-" {
        Box::new(io::stdout().lock())
    } else {
        Box::new(File::create(&args.out).map_err(|e| format!("{}: {e}", args.out))?)
    };
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let summary = synth::write_capture(&cfg, &mut out).map_err(|e| format!("{}: {e}", args.out))?;
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
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("synth: {message}");
            ExitCode::FAILURE
        }
    }
}

//! The generator's command line, shared by `examples/synth.rs` and the test that regenerates
//! the bundled captures from the commands written in captures/README.md (so the README cannot
//! drift from how the files were made).

use super::{lookup, Format, Kind, SynthConfig, Tunnel, FIELD_LINKS, LINKS};

/// Usage text of `cargo run --example synth -- ...`.
pub const USAGE: &str = "\
usage: synth --out FILE [--kind KIND] [--packets N] [--seed S] [--format pcap|pcapng]
             [--link LINK] [--tunnel TUNNEL] [--snaplen N] [--max-payload N]

  --out FILE        output file, - for stdout
  --kind KIND       mix (default), demo, linktypes, tunnels, sctp, dccp, icmp, truncated,
                    wireless (802.11 frames without ports beside the flows)
  --packets N       frames to write, mix only (default 1000)
  --seed S          PRNG seed (default 1)
  --format F        pcap (default; LE, microseconds) or pcapng (nanoseconds)
  --link LINK       ethernet, vlan, qinq, null, loop, raw, ipv4, ipv6, sll, sll2;
                    wlan, wlan-qos, wlan-4addr, wlan-htc, wlan-mesh, wlan-amsdu,
                    radiotap, radiotap-data, radiotap-4addr, radiotap-htc, radiotap-pad,
                    radiotap-amsdu, ppi, ppi-4addr, pflog, ipoib, ppp-hdlc, ppp-mpls, chdlc,
                    chdlc-under-ppp, nsh-md1, nsh-md2, ipv4-holding-ipv6, ipv6-holding-ipv4
  --tunnel TUNNEL   gre, 4in4, 6in4, 4in6, 6in6, vxlan, geneve, gtpu, teredo, vxlan-gpe,
                    vxlan-gpe-eth, vxlan-gpe-nsh
  --snaplen N       cut frames longer than N bytes (default 262144)
  --max-payload N   largest application payload per packet (default 1448)";

/// A parsed command line: what to generate and where to write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthArgs {
    pub cfg: SynthConfig,
    pub out: String,
}

fn choose<T: Copy>(table: &[(&str, T)], what: &str, name: &str) -> Result<T, String> {
    lookup(table, name).ok_or_else(|| {
        let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
        format!(
            "unknown {what} {name:?}: expected one of {}",
            names.join(", ")
        )
    })
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} needs a number, got {value:?}"))
}

/// Parses the arguments after the program name. `--help` yields `Err(USAGE)`.
pub fn parse_args<I, S>(args: I) -> Result<SynthArgs, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut cfg = SynthConfig::default();
    let mut out = None;
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let flag = flag.as_ref();
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.to_string());
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let value = value.as_ref();
        match flag {
            "--out" => out = Some(value.to_string()),
            "--kind" => cfg.kind = choose(&Kind::ALL, "kind", value)?,
            "--packets" => cfg.packets = number(flag, value)?,
            "--seed" => cfg.seed = number(flag, value)?,
            "--format" => {
                cfg.format = choose(
                    &[("pcap", Format::Pcap), ("pcapng", Format::Pcapng)],
                    "format",
                    value,
                )?;
            }
            "--link" => {
                cfg.link = Some(match crate::lookup(&FIELD_LINKS, value) {
                    Some(link) => link,
                    None => choose(&LINKS, "link", value)?,
                })
            }
            "--tunnel" => cfg.tunnel = Some(choose(&Tunnel::ALL, "tunnel", value)?),
            "--snaplen" => cfg.snaplen = number(flag, value)?,
            "--max-payload" => cfg.max_payload = number(flag, value)?,
            _ => return Err(format!("unknown option {flag:?}\n{USAGE}")),
        }
    }
    let out = out.ok_or_else(|| format!("--out is required\n{USAGE}"))?;
    Ok(SynthArgs { cfg, out })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Link;

    #[test]
    fn parses_every_option() {
        let args = parse_args([
            "--kind",
            "tunnels",
            "--tunnel",
            "6in4",
            "--packets",
            "5",
            "--seed",
            "9",
            "--format",
            "pcapng",
            "--link",
            "sll2",
            "--snaplen",
            "128",
            "--max-payload",
            "200",
            "--out",
            "x",
        ])
        .unwrap();
        assert_eq!(args.out, "x");
        let cfg = args.cfg;
        assert_eq!(cfg.kind, Kind::Tunnels);
        assert_eq!(cfg.tunnel, Some(Tunnel::Ip6in4));
        assert_eq!(cfg.link, Some(Link::Sll2));
        assert_eq!(cfg.format, Format::Pcapng);
        assert_eq!(
            (cfg.packets, cfg.seed, cfg.snaplen, cfg.max_payload),
            (5, 9, 128, 200)
        );
    }

    #[test]
    fn rejects_unknown_names_missing_values_and_missing_out() {
        let err = parse_args(["--out", "x", "--kind", "nope"]).unwrap_err();
        assert!(err.contains("unknown kind \"nope\""), "{err}");
        assert!(parse_args(["--out"])
            .unwrap_err()
            .contains("--out needs a value"));
        assert!(parse_args(["--kind", "demo"])
            .unwrap_err()
            .contains("--out is required"));
        assert!(parse_args(["--out", "x", "--packets", "ten"]).is_err());
        assert_eq!(parse_args(["--help"]).unwrap_err(), USAGE);
    }
}

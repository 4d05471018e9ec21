//! Command-line interface: clap derive types. Flag-shaped; validation that needs more than
//! clap's value parsers happens in the commands.

use clap::{Args, Parser, Subcommand, ValueEnum};
use portnote::registry::{RegistryFormat, RegistrySource};
use portnote::report::summary::SortKey;
use std::path::PathBuf;

/// Default `--max-flows`: a million live flows (a busy 10 Gb/s link) in about 100 MiB (measured:
/// 5 million one-packet flows through `summary` peak there, about 92 bytes a live flow; see
/// ARCHITECTURE.md, "Memory per live flow"). Memory grows with the flows actually live, and in
/// powers of two for the hash tables.
pub const DEFAULT_MAX_FLOWS: usize = 1_000_000;

const ABOUT: &str = "Which IANA-registered service do the ports in this traffic belong to?";

const LONG_ABOUT: &str = "\
portnote reads network traffic (pcap/pcapng files or a live interface) and says, for every flow,
which service the IANA Service Name and Transport Protocol Port Number Registry (RFC 6335)
registers its ports to. Traffic on unassigned, reserved and dynamic ports is reported as
categories of its own.

Exit status: 0 success; 1 a --fail-on condition was met; 2 error (bad arguments, unreadable
or malformed input, I/O failure).";

const EXAMPLES: &str = "\
Examples:
  portnote summary captures/demo.pcapng          traffic by service, unassigned ports flagged
  portnote annotate capture.pcap | less          one line per packet with its service
  portnote lookup 443                            what IANA registers on port 443
  portnote registry info                         which registry is in use";

#[derive(Debug, Parser)]
#[command(name = "portnote", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub registry: RegistryOptions,

    #[command(subcommand)]
    pub command: Command,
}

/// Where the port registry comes from. Precedence: --registry, then PORTNOTE_REGISTRY, then a
/// registry saved by `portnote registry update`, then the snapshot compiled into the binary;
/// --services files are laid over whichever of those is in use.
#[derive(Debug, Clone, Default, Args)]
pub struct RegistryOptions {
    /// Use this registry file instead of the built-in one (IANA CSV or XML, services(5), nmap-services)
    #[arg(long, global = true, env = "PORTNOTE_REGISTRY", value_name = "FILE")]
    pub registry: Option<PathBuf>,

    /// Format of --registry and --services files (detected from the content when omitted)
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub registry_format: Option<RegistryFormatArg>,

    /// Lay your own mappings over the registry, services(5) style: `myapp 8443/tcp` (repeatable)
    #[arg(long = "services", global = true, value_name = "FILE")]
    pub services: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegistryFormatArg {
    /// IANA's service-names-port-numbers.csv
    IanaCsv,
    /// IANA's service-names-port-numbers.xml
    IanaXml,
    /// services(5), e.g. /etc/services or Wireshark's `services`
    Services,
    /// nmap-services
    Nmap,
}

impl RegistryOptions {
    /// The core's description of the same choice.
    pub fn source(&self) -> RegistrySource {
        RegistrySource {
            file: self.registry.clone(),
            format: self.registry_format.map(RegistryFormat::from),
            services: self.services.clone(),
        }
    }
}

impl From<TableFormat> for portnote::report::Format {
    fn from(format: TableFormat) -> Self {
        match format {
            TableFormat::Table => portnote::report::Format::Table,
            TableFormat::Json => portnote::report::Format::Json,
            TableFormat::Csv => portnote::report::Format::Csv,
        }
    }
}

impl From<ExportFormat> for portnote::report::ExportFormat {
    fn from(format: ExportFormat) -> Self {
        match format {
            ExportFormat::Csv => portnote::report::ExportFormat::Csv,
            ExportFormat::Json => portnote::report::ExportFormat::Json,
        }
    }
}

impl From<RegistryFormatArg> for RegistryFormat {
    fn from(arg: RegistryFormatArg) -> RegistryFormat {
        match arg {
            RegistryFormatArg::IanaCsv => RegistryFormat::IanaCsv,
            RegistryFormatArg::IanaXml => RegistryFormat::IanaXml,
            RegistryFormatArg::Services => RegistryFormat::Services,
            RegistryFormatArg::Nmap => RegistryFormat::Nmap,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// What the registry says of a port, a port range or a service name
    #[command(after_help = "\
Examples:
  portnote lookup 443              every transport's entry for port 443
  portnote lookup 443/udp          one transport
  portnote lookup https            by service name
  portnote lookup 6000-6010/tcp    a range
  portnote lookup 50000            a dynamic port
  portnote lookup 4/tcp --format json
  portnote lookup --search kerberos  names and descriptions that contain the text

Every answer found is printed; a query without one is named on stderr and the exit status is 2.")]
    Lookup(LookupArgs),

    /// Inspect, export or update the registry in use
    #[command(
        subcommand,
        after_help = "\
Examples:
  portnote registry info                                  source, date, counts
  portnote registry export > slots.csv                    all 262,144 slots
  portnote --registry service-names-port-numbers.xml registry info
  portnote registry update                                fetch IANA's current CSV"
    )]
    Registry(RegistryCommand),

    /// One record per packet: transport, ports, and why when there are none
    #[command(after_help = "\
Examples:
  portnote annotate capture.pcap
  portnote annotate --format ndjson a.pcapng b.pcap > packets.ndjson
  tcpdump -w - | portnote annotate -
  portnote annotate -f 'tcp port 443' capture.pcap
  portnote annotate capture.pcap -w annotated.pcapng     then: wireshark annotated.pcapng")]
    Annotate(AnnotateArgs),

    /// Traffic by service: assigned services, unassigned and reserved ports, dynamic-only traffic
    #[command(after_help = "\
Examples:
  portnote summary captures/demo.pcapng
  portnote summary --format json day1.pcap day2.pcap
  portnote summary --format html -o report.html capture.pcap     # one file, works offline
  portnote summary --fail-on unassigned --allow 8443/tcp capture.pcap   # exit 1 if found")]
    Summary(SummaryArgs),

    /// Traffic by service on a live interface, redrawn every interval; final summary on exit
    #[command(after_help = "\
Examples:
  portnote live --list                               interfaces, their state and link type
  portnote live -i eth0                              top-like view; Ctrl-C prints the summary
  portnote live -i eth0 -f 'not port 22' --duration 60 --format json
  portnote live -i any --format ndjson --interval 10 >> survey.ndjson
  portnote live -i eth0 --count 10000 --write sample.pcapng
  portnote live -i eth0 --quiet --metrics 127.0.0.1:9185    Prometheus scrapes /metrics

Capturing needs root or the capabilities cap_net_raw,cap_net_admin:
  sudo setcap cap_net_raw,cap_net_admin=eip $(which portnote)

Exit status: 0 stopped by --count, --duration, Ctrl-C or SIGTERM; 2 the interface went away
(after the final summary) or any other error. A second Ctrl-C exits at once (status 130).")]
    Live(LiveArgs),

    /// Combine `summary --format json` outputs (files, days, sensors) into one summary
    #[command(after_help = "\
Packets and bytes add exactly; first and last seen take the earliest and latest; server lists
unite (the lowest 64 addresses); shares are recomputed. A flow that spans two inputs counts
once in each (the output's `notes` say so). An input may also be a `summary --per-file`
array.

Examples:
  portnote summary --format json day1.pcap > day1.json
  portnote summary --format json day2.pcap > day2.json
  portnote merge day1.json day2.json
  ls *.pcap | parallel 'portnote summary --format json {} > {}.json' && portnote merge *.json")]
    Merge(MergeArgs),

    /// One record per flow, written when the flow ends: endpoints, service, counters, Community ID
    #[command(after_help = "\
Records come in the order flows end (FIN/RST then idle, idle timeout, eviction under
--max-flows, end of input); flows ending at the same packet in the order they began. Summing
records by transport and service (or service port) gives `summary`'s rows exactly.

Examples:
  portnote flows capture.pcap | jq 'select(.section != \"assigned\")'
  portnote flows --format csv -f 'tcp' a.pcap b.pcap > flows.csv
  portnote flows --format parquet -o flows.parquet day1.pcap
  duckdb -c \"SELECT service, sum(bytes_c2s + bytes_s2c) AS bytes FROM 'flows.parquet' GROUP BY ALL ORDER BY 2 DESC\"")]
    Flows(FlowsArgs),

    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(after_help = "\
Examples:
  portnote completions bash > ~/.local/share/bash-completion/completions/portnote
  portnote completions zsh > ~/.zfunc/_portnote      # with fpath+=~/.zfunc in ~/.zshrc
  portnote completions fish > ~/.config/fish/completions/portnote.fish")]
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Print the manual page (roff), for `man -l -` or a man directory
    #[command(after_help = "\
Examples:
  portnote man | man -l -
  portnote man > ~/.local/share/man/man1/portnote.1")]
    Man,
}

#[derive(Debug, Args)]
pub struct FlowsArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format (parquet needs -o)
    #[arg(long, value_enum, default_value_t = FlowsFormat::Ndjson)]
    pub format: FlowsFormat,

    /// Write to FILE instead of standard output (required for parquet)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Flows kept in memory at once; beyond this the least recently seen end (`end`: evicted)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_FLOWS)]
    pub max_flows: usize,

    /// Threads: 1 reads and counts in one thread; 2 or more read in one and count in another
    /// (records are written in the order flows end, so flows are not sharded across more)
    /// [default: the number of cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,

    #[command(flatten)]
    pub ipfix: IpfixArgs,
}

/// IPFIX export, on `flows` and `live`.
#[derive(Debug, Args)]
pub struct IpfixArgs {
    /// Also send every flow to this IPFIX collector (RFC 7011 over UDP: nfcapd, pmacct,
    /// GoFlow2), as two uniflow records with the service as applicationId/applicationName
    #[arg(long, value_name = "HOST:PORT")]
    pub ipfix: Option<String>,

    /// With --ipfix: the largest IPFIX message, in bytes of UDP payload
    #[arg(long, value_name = "BYTES", default_value_t = 1400, requires = "ipfix",
          value_parser = clap::value_parser!(u16).range(512..=65507))]
    pub ipfix_mtu: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlowsFormat {
    /// One JSON object per flow
    Ndjson,
    Csv,
    /// Apache Parquet, typed columns, one row group per 65,536 flows
    Parquet,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// `summary --format json` outputs; `-` reads standard input
    #[arg(required = true, value_name = "SUMMARY.json")]
    pub files: Vec<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,

    /// Show only the N largest rows of each section (0: all)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub top: usize,

    /// Row order within a section
    #[arg(long, value_enum, default_value_t = SortArg::Bytes)]
    pub sort: SortArg,
}

#[derive(Debug, Args)]
pub struct LookupArgs {
    /// Port (443), port/transport (443/udp), range (6000-6010/tcp) or service name (https)
    #[arg(required = true, value_name = "QUERY")]
    pub queries: Vec<String>,

    /// Output format (the table shortens long descriptions; json and csv keep them whole)
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,

    /// Take each QUERY as text to find in service names and descriptions (ignoring case)
    #[arg(long)]
    pub search: bool,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Which registry is in use, its date and counts per transport and status
    #[command(after_help = "\
Examples:
  portnote registry info
  portnote registry info --format json
  PORTNOTE_REGISTRY=/etc/services portnote registry info")]
    Info {
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
    },
    /// Every (transport, port) slot: 262,144 rows
    #[command(after_help = "\
CSV columns: transport,port,status,class,service,unauthorized

Examples:
  portnote registry export > slots.csv
  portnote registry export --format json | jq '.[] | select(.status == \"reserved\")'
  portnote --registry service-names-port-numbers.csv registry export")]
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
    },
    /// Download IANA's CSV, check it loads, and keep it for later runs
    #[command(after_help = "\
The file is validated by loading it before it replaces the saved copy; later runs use it
instead of the built-in snapshot (--registry and PORTNOTE_REGISTRY still take precedence).

Examples:
  portnote registry update
  portnote registry update --url http://mirror.example/service-names-port-numbers.csv
  portnote registry update --from service-names-port-numbers.csv      offline
  PORTNOTE_DATA_DIR=/var/lib/portnote portnote registry update")]
    Update {
        /// Where to download from (http, https, or file:///path for a local copy)
        #[arg(
            long,
            default_value = "https://www.iana.org/assignments/service-names-port-numbers/service-names-port-numbers.csv"
        )]
        url: String,
        /// Read this file instead of downloading (an offline machine's copy of IANA's CSV or XML)
        #[arg(long, value_name = "FILE", conflicts_with = "url")]
        from: Option<PathBuf>,
    },
    /// Remove the copy saved by `registry update`: later runs use the embedded snapshot
    #[command(after_help = "\
Use it when the saved copy is damaged (every command then names it and fails) or no longer wanted.

Examples:
  portnote registry reset
  PORTNOTE_DATA_DIR=/var/lib/portnote portnote registry reset")]
    Reset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    Table,
    Json,
    Csv,
    /// One self-contained page (inline CSS and SVG charts), for a browser or a ticket
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}

/// Options shared by the commands that read captures.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Capture files (pcap, pcapng, optionally gzip-compressed); `-` reads standard input
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Only packets matching this BPF filter (tcpdump syntax), e.g. 'tcp port 443'
    #[arg(short = 'f', long = "filter", value_name = "EXPR")]
    pub filter: Option<String>,

    /// Report the outermost transport of tunnelled packets instead of the innermost
    #[arg(long)]
    pub no_decap: bool,
}

#[derive(Debug, Args)]
pub struct AnnotateArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format
    #[arg(long, value_enum, default_value_t = AnnotateFormat::Text)]
    pub format: AnnotateFormat,

    /// Write the packets, byte for byte, to this pcapng file (`-`: standard output) with a
    /// portnote comment on each, instead of printing records. Open it in Wireshark and filter
    /// with e.g. frame.comment contains "status=unassigned"
    #[arg(
        short = 'w',
        long = "write",
        value_name = "OUT.pcapng",
        conflicts_with = "format"
    )]
    pub write: Option<PathBuf>,

    /// With -w: add no comments (a plain conversion to pcapng)
    #[arg(long, requires = "write")]
    pub no_comment: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnnotateFormat {
    /// One aligned line per packet
    Text,
    /// One JSON object per packet
    Ndjson,
    Csv,
}

#[derive(Debug, Args)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    pub format: SummaryFormat,

    /// Write the output to this file instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Show only the N largest rows of each section (0: all; html shows at most 300)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub top: usize,

    /// Row order within a section
    #[arg(long, value_enum, default_value_t = SortArg::Bytes)]
    pub sort: SortArg,

    /// Exit 1 when traffic of this category is present (repeatable)
    #[arg(long, value_enum, value_name = "CATEGORY")]
    pub fail_on: Vec<FailOn>,

    /// Accept a known local service for --fail-on, e.g. 8443/tcp (repeatable)
    #[arg(long, value_name = "PORT/TRANSPORT")]
    pub allow: Vec<String>,

    /// One summary per file instead of one combined summary
    #[arg(long)]
    pub per_file: bool,

    /// Count each file's flows on their own (a flow does not continue from one file into the
    /// next), so that with several threads the files are read in parallel; one combined
    /// summary still. The result is the same for any --threads
    #[arg(long)]
    pub flows_per_file: bool,

    /// Flows kept in memory at once; beyond this the least recently seen are folded into the
    /// totals (counted as evictions, never lost). About 600 bytes each at peak
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_FLOWS, value_parser = max_flows_range())]
    pub max_flows: usize,

    /// Threads: 1 reads and counts in one thread; 2 reads in one (the file copy, and gzip) and
    /// counts in the other; N > 2 reads in one, decodes in another and gives N - 2 workers a
    /// shard of the flows each. Same result for any N [default: the number of cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortArg {
    Bytes,
    Packets,
    Flows,
}

impl From<SortArg> for SortKey {
    fn from(arg: SortArg) -> SortKey {
        match arg {
            SortArg::Bytes => SortKey::Bytes,
            SortArg::Packets => SortKey::Packets,
            SortArg::Flows => SortKey::Flows,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum FailOn {
    Unassigned,
    Reserved,
    Dynamic,
}

#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Interface to capture on (see --list); `any` captures on all of them (Linux)
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        required_unless_present = "list"
    )]
    pub interface: Option<String>,

    /// List the interfaces (name, up/down, link type, addresses) and exit
    #[arg(long, conflicts_with = "interface")]
    pub list: bool,

    /// Only packets matching this BPF filter (tcpdump syntax), applied in the kernel
    #[arg(short = 'f', long = "filter", value_name = "EXPR")]
    pub filter: Option<String>,

    /// Bytes kept of each packet (ports need only the headers; --write keeps what is kept)
    #[arg(long, value_name = "N", default_value_t = 262_144,
          value_parser = clap::value_parser!(u32).range(64..=262_144))]
    pub snaplen: u32,

    /// Do not put the interface into promiscuous mode
    #[arg(long)]
    pub no_promisc: bool,

    /// Seconds between redraws (table on a terminal) or snapshot lines (ndjson)
    #[arg(long, value_name = "S", default_value = "1", value_parser = parse_seconds)]
    pub interval: std::time::Duration,

    /// Stop after this many seconds
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    pub duration: Option<std::time::Duration>,

    /// Stop after this many packets (those the filter keeps)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Output: table (redrawn in place on a terminal), ndjson (one snapshot per interval, then
    /// the final one) or json (only the final summary, `summary --format json` schema)
    #[arg(long, value_enum, default_value_t = LiveFormat::Table)]
    pub format: LiveFormat,

    /// Print nothing on standard output, neither the view nor the final summary (for daemons
    /// that are watched through --metrics)
    #[arg(long)]
    pub quiet: bool,

    /// Serve Prometheus / OpenMetrics counters on http://ADDR:PORT/metrics while capturing,
    /// updated every --interval (port 0 picks a free port; the address is printed)
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<String>,

    /// With --metrics: series for at most N unnamed ports (most bytes first); later ones are
    /// counted under port="other" of their section. Named services always have their own
    #[arg(long, value_name = "N", default_value_t = crate::commands::metrics::DEFAULT_MAX_PORTS,
          requires = "metrics")]
    pub metrics_max_ports: usize,

    /// Flows kept in memory at once; beyond this the least recently seen are folded into the
    /// totals (counted as evictions, never lost). About 600 bytes each at peak
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_FLOWS, value_parser = max_flows_range())]
    pub max_flows: usize,

    /// Also save the captured packets to this pcapng file, each with a portnote comment (as
    /// `annotate -w` writes them), to open in Wireshark or annotate again offline
    #[arg(long, value_name = "FILE.pcapng")]
    pub write: Option<PathBuf>,

    /// With --write: add no comments to the saved packets
    #[arg(long, requires = "write")]
    pub no_comment: bool,

    /// Report the outermost transport of tunnelled packets instead of the innermost
    #[arg(long)]
    pub no_decap: bool,

    #[command(flatten)]
    pub ipfix: IpfixArgs,

    /// With --ipfix: every S seconds, flows still running are exported as interim records
    /// (flowEndReason 2) with the counts since their last export
    #[arg(long, value_name = "S", default_value = "60", value_parser = parse_seconds,
          requires = "ipfix")]
    pub active_timeout: std::time::Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LiveFormat {
    Table,
    Ndjson,
    Json,
}

/// `--max-flows`: at least one flow (0 would hold none and fold every packet into evictions),
/// at most 2^32 - 1 (about 2.5 TB at peak, so in practice unlimited).
fn max_flows_range() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..=u64::from(u32::MAX))
}

/// Seconds as a positive decimal number: `1`, `0.5`, `86400`.
pub fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(format!("{text:?}: expected a positive number of seconds"));
    }
    std::time::Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn seconds_accept_decimals_and_refuse_zero_negative_and_words() {
        assert_eq!(parse_seconds("1"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_seconds("0.25"), Ok(Duration::from_millis(250)));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("-3").is_err());
        assert!(parse_seconds("inf").is_err());
        assert!(parse_seconds("NaN").is_err());
        assert!(parse_seconds("soon").is_err());
    }

    /// Issue 13 item 6: `--max-flows 0` was accepted and reported 19 flows as 201.
    #[test]
    fn max_flows_zero_is_refused_with_the_valid_range() {
        for command in [
            &["portnote", "summary", "--max-flows", "0", "x.pcap"][..],
            &["portnote", "live", "-i", "lo", "--max-flows", "0"][..],
        ] {
            let error = Cli::try_parse_from(command).unwrap_err().to_string();
            assert!(error.contains("1..=4294967295"), "{error}");
        }
        let cli = Cli::try_parse_from(["portnote", "summary", "--max-flows", "1", "x.pcap"]);
        let Command::Summary(args) = cli.unwrap().command else {
            panic!("not summary");
        };
        assert_eq!(args.max_flows, 1);
        let cli = Cli::try_parse_from(["portnote", "summary", "x.pcap"]).unwrap();
        let Command::Summary(args) = cli.command else {
            panic!("not summary");
        };
        assert_eq!(args.max_flows, DEFAULT_MAX_FLOWS);
    }

    #[test]
    fn ipfix_options_need_ipfix_and_have_their_defaults() {
        let cli = Cli::try_parse_from(["portnote", "live", "-i", "lo", "--ipfix", "[::1]:4739"]);
        let Command::Live(args) = cli.unwrap().command else {
            panic!("not live");
        };
        assert_eq!(args.ipfix.ipfix.as_deref(), Some("[::1]:4739"));
        assert_eq!(args.ipfix.ipfix_mtu, 1400);
        assert_eq!(args.active_timeout, Duration::from_secs(60));
        for refused in [
            &["portnote", "live", "-i", "lo", "--active-timeout", "5"][..],
            &["portnote", "live", "-i", "lo", "--ipfix-mtu", "600"][..],
            &["portnote", "flows", "--ipfix-mtu", "600", "x.pcap"][..],
            &[
                "portnote",
                "flows",
                "--ipfix",
                "h:1",
                "--ipfix-mtu",
                "511",
                "x.pcap",
            ][..],
            &["portnote", "flows", "--active-timeout", "5", "x.pcap"][..],
        ] {
            assert!(Cli::try_parse_from(refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn live_needs_an_interface_unless_listing() {
        assert!(Cli::try_parse_from(["portnote", "live"]).is_err());
        assert!(Cli::try_parse_from(["portnote", "live", "--list"]).is_ok());
        assert!(Cli::try_parse_from(["portnote", "live", "--list", "-i", "lo"]).is_err());
        let cli = Cli::try_parse_from([
            "portnote", "live", "-i", "lo", "--count", "5", "--format", "json",
        ])
        .unwrap();
        let Command::Live(args) = cli.command else {
            panic!("not live");
        };
        assert_eq!(args.interface.as_deref(), Some("lo"));
        assert_eq!(args.count, Some(5));
        assert_eq!(args.format, LiveFormat::Json);
        assert_eq!(args.interval, Duration::from_secs(1));
        assert!(Cli::try_parse_from(["portnote", "live", "-i", "lo", "--count", "0"]).is_err());
    }
}

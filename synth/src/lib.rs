//! Deterministic synthetic capture generator for portnote's tests, benchmarks and bundled
//! captures (a workspace member, not part of the portnote library).
//!
//! Takes a [`SynthConfig`] (kind of traffic, packet budget, seed, link, format), built with its
//! typed builder methods, and writes a pcap or pcapng file to any `impl Write`:
//!
//! ```
//! use portnote_synth::{Format, Kind, Link, SynthConfig};
//!
//! let mut capture = Vec::new();
//! let summary = SynthConfig::new(Kind::Mix)
//!     .packets(500)
//!     .seed(7)
//!     .link(Link::Vlan(100))
//!     .format(Format::Pcapng)
//!     .write(&mut capture)?;
//! assert_eq!(summary.packets, 500);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! `examples/synth.rs` (in the portnote package) is its command line, `args::parse_args`. The same config always gives the same bytes: all choices
//! come from a seeded [`rng::Rng`], timestamps start at a fixed instant, nothing reads the clock
//! or the environment.
//!
//! Traffic is made of flows played by a small interleaving engine: each flow is a script (TCP
//! handshake, data and FIN or RST; DNS, QUIC and NTP exchanges; SCTP association setup and DATA;
//! DCCP Request/Response/DataAck; fragmented UDP; ICMP port-unreachable quoting UDP; ARP) and the
//! engine picks which active flow sends next. Frames are built in one reused buffer, so the hot
//! loop does not allocate and the mix kind generates millions of packets quickly.

pub mod args;
mod build;
mod packets;
pub mod rng;
mod scripts;

pub use build::{Link, Wlan, WlanOther};
use portnote::capture::write::{FrameWriter, PcapResolution, PcapWriter, PcapngWriter};
use portnote::capture::Timestamp;
use rng::Rng;
use std::io::{self, Write};

/// Which traffic to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Endless realistic mix (services, unassigned/reserved/dynamic ports, IPv6, VLAN,
    /// fragments) until `packets` frames are written. The only kind that honours `packets`.
    Mix,
    /// The README demo: every case portnote reports on, a few hundred frames.
    Demo,
    /// A short set of flows (TCP, UDP, SCTP, DCCP, IPv4/IPv6, ARP where it fits) over one link
    /// type, or over every link type (pcapng only) when `link` is `None`.
    LinkTypes,
    /// The same short set of flows inside one tunnel, or every tunnel when `tunnel` is `None`.
    Tunnels,
    /// SCTP associations (M3UA, Diameter), including bundled SACK+DATA chunks.
    Sctp,
    /// DCCP connections (RTP on 5004/5005): Request, Response, Ack, Data, DataAck, Close.
    Dccp,
    /// ICMP and ICMPv6 port-unreachable errors quoting the UDP datagram that caused them.
    IcmpErrors,
    /// Frames whose captured length is below their length on the wire.
    Truncated,
    /// The short set of flows over an 802.11 link (`link`, radiotap with QoS data unless
    /// given), among beacons, ACKs, null data and protected (encrypted) data frames.
    Wireless,
}

impl Kind {
    pub const ALL: [(&'static str, Kind); 9] = [
        ("mix", Kind::Mix),
        ("demo", Kind::Demo),
        ("linktypes", Kind::LinkTypes),
        ("tunnels", Kind::Tunnels),
        ("sctp", Kind::Sctp),
        ("dccp", Kind::Dccp),
        ("icmp", Kind::IcmpErrors),
        ("truncated", Kind::Truncated),
        ("wireless", Kind::Wireless),
    ];
}

/// Output file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Classic little-endian pcap, microsecond timestamps, one link type per file.
    #[default]
    Pcap,
    /// pcapng, nanosecond timestamps, one interface per link type.
    Pcapng,
}

/// An encapsulation the tunnels kind can wrap flows in. The outer frame is Ethernet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tunnel {
    /// GRE (RFC 2784) over IPv4, protocol type = inner EtherType.
    Gre,
    /// IPv4 in IPv4 (IP protocol 4).
    Ip4in4,
    /// IPv6 in IPv4 (IP protocol 41).
    Ip6in4,
    /// IPv4 in IPv6 (next header 4).
    Ip4in6,
    /// IPv6 in IPv6 (next header 41).
    Ip6in6,
    /// VXLAN (RFC 7348), UDP 4789, inner Ethernet.
    Vxlan,
    /// Geneve (RFC 8926), UDP 6081, inner Ethernet.
    Geneve,
    /// GTP-U (3GPP TS 29.281), UDP 2152, inner IP.
    GtpU,
    /// Teredo (RFC 4380), UDP 3544, inner IPv6.
    Teredo,
    /// VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe), UDP 4790, next protocol IPv4 or IPv6.
    VxlanGpe,
    /// VXLAN-GPE with next protocol Ethernet.
    VxlanGpeEthernet,
    /// VXLAN-GPE with next protocol NSH (MD type 2), then IP.
    VxlanGpeNsh,
}

impl Tunnel {
    pub const ALL: [(&'static str, Tunnel); 12] = [
        ("gre", Tunnel::Gre),
        ("4in4", Tunnel::Ip4in4),
        ("6in4", Tunnel::Ip6in4),
        ("4in6", Tunnel::Ip4in6),
        ("6in6", Tunnel::Ip6in6),
        ("vxlan", Tunnel::Vxlan),
        ("geneve", Tunnel::Geneve),
        ("gtpu", Tunnel::GtpU),
        ("teredo", Tunnel::Teredo),
        ("vxlan-gpe", Tunnel::VxlanGpe),
        ("vxlan-gpe-eth", Tunnel::VxlanGpeEthernet),
        ("vxlan-gpe-nsh", Tunnel::VxlanGpeNsh),
    ];

    /// The inner IP version the tunnel forces, if it forces one.
    fn inner_v6(self) -> Option<bool> {
        match self {
            Tunnel::Ip4in4 | Tunnel::Ip4in6 => Some(false),
            Tunnel::Ip6in4 | Tunnel::Ip6in6 | Tunnel::Teredo => Some(true),
            Tunnel::Gre
            | Tunnel::Vxlan
            | Tunnel::Geneve
            | Tunnel::GtpU
            | Tunnel::VxlanGpe
            | Tunnel::VxlanGpeEthernet
            | Tunnel::VxlanGpeNsh => None,
        }
    }

    fn outer_v6(self) -> bool {
        matches!(self, Tunnel::Ip4in6 | Tunnel::Ip6in6)
    }
}

/// Link names (for [`lookup`] and `--link`), in the order the link-types kind writes them.
pub const LINKS: [(&str, Link); 10] = [
    ("ethernet", Link::Ethernet),
    ("vlan", Link::Vlan(100)),
    ("qinq", Link::QinQ(200, 100)),
    ("null", Link::Null),
    ("loop", Link::Loop),
    ("raw", Link::Raw),
    ("ipv4", Link::Ipv4),
    ("ipv6", Link::Ipv6),
    ("sll", Link::Sll),
    ("sll2", Link::Sll2),
];

/// The link types of issue 19 (captures from the field), for [`lookup`] and `--link`; the
/// link-types kind writes them only when asked by name (so `linktypes-all.pcapng` keeps its
/// bytes).
pub const FIELD_LINKS: [(&str, Link); 24] = [
    ("wlan", Link::Wlan(Wlan::Data)),
    ("wlan-qos", Link::Wlan(Wlan::Qos)),
    ("wlan-4addr", Link::Wlan(Wlan::FourAddress)),
    ("wlan-htc", Link::Wlan(Wlan::QosHtc)),
    ("wlan-mesh", Link::Wlan(Wlan::Mesh)),
    ("wlan-amsdu", Link::Wlan(Wlan::Amsdu)),
    ("radiotap-amsdu", Link::Radiotap(Wlan::Amsdu)),
    ("radiotap", Link::Radiotap(Wlan::Qos)),
    ("radiotap-data", Link::Radiotap(Wlan::Data)),
    ("radiotap-4addr", Link::Radiotap(Wlan::FourAddress)),
    ("radiotap-htc", Link::Radiotap(Wlan::QosHtc)),
    ("radiotap-pad", Link::RadiotapPadded(Wlan::Qos)),
    ("ppi", Link::Ppi(Wlan::Qos)),
    ("ppi-4addr", Link::Ppi(Wlan::FourAddress)),
    ("pflog", Link::Pflog),
    ("ipoib", Link::Ipoib),
    ("ppp-hdlc", Link::PppHdlc),
    ("ppp-mpls", Link::PppMpls),
    ("chdlc", Link::Chdlc),
    ("chdlc-under-ppp", Link::ChdlcUnderPpp),
    ("nsh-md1", Link::Nsh(1)),
    ("nsh-md2", Link::Nsh(2)),
    ("ipv4-holding-ipv6", Link::Ipv4HoldingIpv6),
    ("ipv6-holding-ipv4", Link::Ipv6HoldingIpv4),
];

/// A link by name, from [`LINKS`] or [`FIELD_LINKS`].
pub fn link_by_name(name: &str) -> Option<Link> {
    lookup(&LINKS, name).or_else(|| lookup(&FIELD_LINKS, name))
}

/// Looks a name up in a `(name, value)` table.
pub fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// What to generate and how to write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthConfig {
    pub kind: Kind,
    /// Frames to write ([`Kind::Mix`] only; scripted kinds write their script once).
    pub packets: u64,
    pub seed: u64,
    pub format: Format,
    /// Link for every frame; `None` means Ethernet, or every link type for [`Kind::LinkTypes`].
    pub link: Option<Link>,
    /// Tunnel for [`Kind::Tunnels`]; `None` means every tunnel kind in turn.
    pub tunnel: Option<Tunnel>,
    /// Frames longer than this are cut (caplen < len), as by a capture's snapshot length.
    pub snaplen: u32,
    /// Largest application payload of one packet; the mix uses 1448 (a full TCP segment).
    pub max_payload: u16,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            kind: Kind::Mix,
            packets: 1000,
            seed: 1,
            format: Format::Pcap,
            link: None,
            tunnel: None,
            snaplen: 262_144,
            max_payload: 1448,
        }
    }
}

/// Typed builder methods: `SynthConfig::new(kind)` and one method per field, then
/// [`write`](SynthConfig::write).
impl SynthConfig {
    /// The defaults (see [`Default`]) with this kind of traffic.
    pub fn new(kind: Kind) -> Self {
        SynthConfig {
            kind,
            ..SynthConfig::default()
        }
    }

    /// Frames to write ([`Kind::Mix`] only).
    #[must_use]
    pub fn packets(mut self, packets: u64) -> Self {
        self.packets = packets;
        self
    }

    /// Seed of every random choice: the same seed gives the same bytes.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    #[must_use]
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// One link type for every frame.
    #[must_use]
    pub fn link(mut self, link: Link) -> Self {
        self.link = Some(link);
        self
    }

    /// One tunnel for [`Kind::Tunnels`].
    #[must_use]
    pub fn tunnel(mut self, tunnel: Tunnel) -> Self {
        self.tunnel = Some(tunnel);
        self
    }

    /// Cut frames longer than this (caplen < len).
    #[must_use]
    pub fn snaplen(mut self, snaplen: u32) -> Self {
        self.snaplen = snaplen;
        self
    }

    /// Largest application payload of one packet.
    #[must_use]
    pub fn max_payload(mut self, max_payload: u16) -> Self {
        self.max_payload = max_payload;
        self
    }

    /// Generates the capture into `out`: [`write_capture`].
    pub fn write(&self, out: impl Write) -> io::Result<SynthSummary> {
        write_capture(self, out)
    }

    /// Generates the capture in memory.
    pub fn to_bytes(&self) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        write_capture(self, &mut bytes)?;
        Ok(bytes)
    }
}

/// What a run wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SynthSummary {
    pub packets: u64,
    pub flows: u64,
    /// Sum of the frames' lengths on the wire.
    pub wire_bytes: u64,
}

/// Generates the capture `cfg` describes into `out` (wrap files in a `BufWriter`).
///
/// Errors: `InvalidInput` when a pcap file would need several link types (link types kind
/// without `link`), else the writer's I/O errors.
pub fn write_capture(cfg: &SynthConfig, out: impl Write) -> io::Result<SynthSummary> {
    let mut engine = Engine::new(cfg);
    let specs = engine.script();
    // The mix draws its flows as it goes, all on the configured link.
    let first_link = specs
        .first()
        .map_or(engine.base_link(), |spec| spec.encap.link())
        .linktype();
    if cfg.format == Format::Pcap
        && specs
            .iter()
            .any(|s| s.encap.link().linktype() != first_link)
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a pcap file holds one link type: choose a link, or write pcapng",
        ));
    }
    match cfg.format {
        Format::Pcap => {
            let mut writer = PcapWriter::new(out, first_link, cfg.snaplen, PcapResolution::Micros)?;
            engine.run(specs, &mut writer)
        }
        Format::Pcapng => {
            let mut writer = PcapngWriter::new(out, cfg.snaplen)?;
            engine.run(specs, &mut writer)
        }
    }
}

/// How frames of one flow are framed below the flow's own IP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encap {
    Link(Link),
    Tunnel(Tunnel),
}

impl Encap {
    fn link(self) -> Link {
        match self {
            Encap::Link(link) => link,
            Encap::Tunnel(_) => Link::Ethernet,
        }
    }
}

/// The application behaviour of a flow, which decides its transport and packet script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum App {
    /// TCP: handshake, data, FIN exchange (or RST); `tls` puts TLS record headers on data.
    Tcp {
        tls: bool,
        rst: bool,
    },
    Dns,
    Quic,
    Ntp,
    /// UDP with arbitrary payloads.
    Udp,
    /// A small UDP query answered by a 2000-byte datagram sent as two IPv4 fragments.
    UdpFragmented,
    /// SCTP association: INIT, INIT ACK, COOKIE ECHO, COOKIE ACK, then DATA and SACK.
    Sctp {
        ppid: u32,
    },
    /// DCCP connection: Request, Response, Ack, then DataAck/Data/Ack, Close at the end.
    Dccp {
        service_code: u32,
    },
    /// One UDP datagram to a closed port, answered by ICMP port unreachable.
    IcmpUnreachable,
    Arp,
    /// 802.11 frames without an MSDU (on a wireless link).
    Wlan(WlanOther),
}

/// How the captured bytes of a flow's frames are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    None,
    /// Keep this many bytes of every frame.
    Fixed(usize),
    /// Keep a random number of bytes below the frame length.
    Random,
}

/// One flow to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FlowSpec {
    app: App,
    client_port: u16,
    server_port: u16,
    client_host: u32,
    server_host: u32,
    v6: bool,
    encap: Encap,
    /// Packets in the flow.
    len: u32,
    cut: Cut,
}

/// A flow being played.
#[derive(Debug, Clone, Copy)]
struct FlowState {
    spec: FlowSpec,
    step: u32,
    client_seq: u32,
    server_seq: u32,
    client_tag: u32,
    server_tag: u32,
    /// IPv4 identification of the fragmented datagram in flight.
    fragment_ident: u16,
    /// Direction of the last SCTP DATA (true: client to server), acknowledged next.
    last_data_from_client: bool,
}

const PATTERN_LEN: usize = 4096;
/// 2024-01-01T00:00:00Z: generated captures start here.
const START_SECS: i64 = 1_704_067_200;
/// Concurrent flows the mix interleaves.
const MIX_CONCURRENCY: usize = 24;
/// Concurrent flows scripted kinds interleave.
const SCRIPT_CONCURRENCY: usize = 4;
/// RTP over DCCP announces service code "RTPA" (RFC 5762 section 4.2).
const SERVICE_CODE_RTPA: u32 = u32::from_be_bytes(*b"RTPA");
/// SCTP payload protocol identifiers (IANA): M3UA and Diameter.
const PPID_M3UA: u32 = 3;
const PPID_DIAMETER: u32 = 46;

struct Engine {
    cfg: SynthConfig,
    rng: Rng,
    /// The frame being built.
    buf: Vec<u8>,
    /// What goes above the IP header of the frame being built.
    payload: Vec<u8>,
    /// A tunnelled frame's outer payload: the tunnel header and the inner packet.
    inner: Vec<u8>,
    /// The whole datagram a fragment is cut from.
    scratch: Vec<u8>,
    pattern: Vec<u8>,
    nanos: u64,
    ident: u16,
    summary: SynthSummary,
}

impl Engine {
    fn new(cfg: &SynthConfig) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let pattern = (0..PATTERN_LEN / 8)
            .flat_map(|_| rng.next_u64().to_le_bytes())
            .collect();
        Engine {
            cfg: cfg.clone(),
            rng,
            buf: Vec::with_capacity(4096),
            payload: Vec::with_capacity(4096),
            inner: Vec::with_capacity(4096),
            scratch: Vec::with_capacity(4096),
            pattern,
            nanos: 0,
            ident: 1,
            summary: SynthSummary::default(),
        }
    }

    fn base_link(&self) -> Link {
        self.cfg.link.unwrap_or(Link::Ethernet)
    }

    /// A random client port in Linux's default ephemeral range.
    fn ephemeral(&mut self) -> u16 {
        self.rng.port(32768, 61000)
    }

    fn spec(&mut self, app: App, server_port: u16, len: u32) -> FlowSpec {
        FlowSpec {
            app,
            client_port: self.ephemeral(),
            server_port,
            client_host: u32::try_from(self.rng.range(1, 4000)).unwrap_or(1),
            server_host: u32::try_from(self.rng.range(1, 250)).unwrap_or(1),
            v6: false,
            encap: Encap::Link(self.base_link()),
            len,
            cut: Cut::None,
        }
    }

    fn run(
        &mut self,
        script: Vec<FlowSpec>,
        writer: &mut dyn FrameWriter,
    ) -> io::Result<SynthSummary> {
        let mix = self.cfg.kind == Kind::Mix;
        let concurrency = if mix {
            MIX_CONCURRENCY
        } else {
            SCRIPT_CONCURRENCY
        };
        let mut pending = script.into_iter();
        let mut active: Vec<FlowState> = Vec::with_capacity(concurrency);
        self.nanos = u64::try_from(START_SECS).unwrap_or(0) * 1_000_000_000;
        loop {
            if mix && self.summary.packets >= self.cfg.packets {
                break;
            }
            while active.len() < concurrency {
                let next = if mix {
                    Some(self.mix_spec())
                } else {
                    pending.next()
                };
                let Some(spec) = next else { break };
                self.summary.flows += 1;
                active.push(self.start_flow(spec));
            }
            let index = self.rng.index(active.len());
            let Some(flow) = active.get_mut(index) else {
                break;
            };
            let mut flow_state = *flow;
            let done = self.emit(&mut flow_state, writer)?;
            if done {
                active.swap_remove(index);
            } else if let Some(slot) = active.get_mut(index) {
                *slot = flow_state;
            }
        }
        writer.flush()?;
        Ok(self.summary)
    }

    fn start_flow(&mut self, spec: FlowSpec) -> FlowState {
        FlowState {
            spec,
            step: 0,
            client_seq: self.rng.next_u64() as u32,
            server_seq: self.rng.next_u64() as u32,
            client_tag: (self.rng.next_u64() as u32) | 1,
            server_tag: (self.rng.next_u64() as u32) | 1,
            fragment_ident: 0,
            last_data_from_client: true,
        }
    }

    /// Builds and writes the flow's next frame; true when the flow has ended.
    fn emit(&mut self, flow: &mut FlowState, writer: &mut dyn FrameWriter) -> io::Result<bool> {
        self.buf.clear();
        let app = flow.spec.app;
        if app == App::Arp {
            self.build_arp(flow)?;
        } else if let App::Wlan(other) = app {
            self.build_wlan_other(flow, other);
        } else {
            self.build_ip_frame(flow)?;
        }
        flow.step += 1;
        let frame_len = self.buf.len();
        let caplen = match flow.spec.cut {
            Cut::None => frame_len,
            Cut::Fixed(n) => n.min(frame_len),
            Cut::Random => usize::try_from(self.rng.range(1, frame_len as u64)).unwrap_or(1),
        };
        // Microsecond-aligned so pcap and pcapng runs carry the same instants.
        self.nanos += self.rng.range(1, 400) * 1_000;
        let ts = Timestamp {
            secs: i64::try_from(self.nanos / 1_000_000_000).unwrap_or(0),
            nanos: u32::try_from(self.nanos % 1_000_000_000).unwrap_or(0),
            digits: match self.cfg.format {
                Format::Pcap => 6,
                Format::Pcapng => 9,
            },
        };
        let orig_len = u32::try_from(frame_len).unwrap_or(u32::MAX);
        let data = self.buf.get(..caplen).unwrap_or_default();
        writer.write_frame(ts, orig_len, flow.spec.encap.link().linktype(), data)?;
        self.summary.packets += 1;
        self.summary.wire_bytes += u64::from(orig_len);
        Ok(flow.step >= flow.spec.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    use portnote::decode::{dccp::DccpPacket, sctp::SctpPacket};
    use std::collections::HashSet;

    fn generate(cfg: &SynthConfig) -> (Vec<u8>, SynthSummary) {
        let mut out = Vec::new();
        let summary = write_capture(cfg, &mut out).unwrap();
        (out, summary)
    }

    /// Records of a little-endian microsecond pcap, parsed by hand: (link type, [(orig, data)]).
    fn pcap_records(bytes: &[u8]) -> (u32, Vec<(u32, &[u8])>) {
        assert_eq!(&bytes[..4], &PCAP_MAGIC_LE);
        let linktype = u32::from_le_bytes(bytes[20..24].try_into().unwrap());
        let mut records = Vec::new();
        let mut at = 24;
        while at < bytes.len() {
            let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
            let orig = u32::from_le_bytes(bytes[at + 12..at + 16].try_into().unwrap());
            let end = at + 16 + caplen as usize;
            records.push((orig, &bytes[at + 16..end]));
            at = end;
        }
        (linktype, records)
    }

    const PCAP_MAGIC_LE: [u8; 4] = [0xd4, 0xc3, 0xb2, 0xa1];

    #[test]
    fn same_config_same_bytes_other_seed_other_bytes() {
        let cfg = SynthConfig {
            packets: 3000,
            seed: 42,
            ..SynthConfig::default()
        };
        let (first, _) = generate(&cfg);
        let (again, _) = generate(&cfg);
        assert!(first == again, "generation must be deterministic");
        let (other, _) = generate(&SynthConfig { seed: 43, ..cfg });
        assert!(first != other);
    }

    #[test]
    fn pcap_with_several_link_types_is_refused() {
        let cfg = SynthConfig {
            kind: Kind::LinkTypes,
            ..SynthConfig::default()
        };
        let err = write_capture(&cfg, Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let pcapng = SynthConfig {
            format: Format::Pcapng,
            ..cfg
        };
        let (bytes, summary) = generate(&pcapng);
        // One IDB per link: ethernet/vlan/qinq share LINKTYPE_ETHERNET, so 8 distinct.
        let idbs = bytes
            .windows(8)
            .filter(|w| w[..4] == [1, 0, 0, 0] && w[4..] == [32, 0, 0, 0])
            .count();
        assert_eq!(idbs, 8);
        assert!(summary.packets > 100);
    }

    /// The mix, decoded independently by etherparse (TCP/UDP/IP) and our SCTP/DCCP views, has
    /// every ingredient the benchmarks and tests rely on.
    #[test]
    fn mix_has_every_ingredient_and_realistic_sizes() {
        let cfg = SynthConfig {
            packets: 20_000,
            seed: 3,
            ..SynthConfig::default()
        };
        let (bytes, summary) = generate(&cfg);
        let (linktype, records) = pcap_records(&bytes);
        assert_eq!(linktype, 1);
        assert_eq!(records.len(), 20_000);
        assert_eq!(summary.packets, 20_000);
        let mean = summary.wire_bytes / summary.packets;
        assert!((600..=850).contains(&mean), "mean frame size {mean}");
        let per_flow = summary.packets / summary.flows;
        assert!((20..=40).contains(&per_flow), "{per_flow} packets per flow");

        let mut seen = HashSet::new();
        let mut tcp_server_ports = HashSet::new();
        for &(orig, data) in &records {
            assert_eq!(orig as usize, data.len(), "the mix is never truncated");
            let packet = SlicedPacket::from_ethernet(data).unwrap();
            if !packet.link_exts.is_empty() {
                seen.insert("vlan");
            }
            match &packet.net {
                Some(NetSlice::Ipv4(ip)) => {
                    let header = ip.header();
                    assert_eq!(
                        header.to_header().calc_header_checksum(),
                        header.header_checksum()
                    );
                    if header.more_fragments() {
                        seen.insert("first fragment");
                    } else if header.fragments_offset().value() > 0 {
                        seen.insert("later fragment");
                        assert!(packet.transport.is_none(), "later fragments carry no ports");
                    }
                }
                Some(NetSlice::Ipv6(_)) => {
                    seen.insert("ipv6");
                }
                Some(NetSlice::Arp(_)) => {
                    seen.insert("arp");
                }
                None => panic!("frame without network layer"),
            }
            let payload = packet.net.as_ref().and_then(|n| n.ip_payload_ref());
            match (&packet.transport, payload) {
                (Some(TransportSlice::Tcp(tcp)), _) => {
                    let (src, dst) = (tcp.source_port(), tcp.destination_port());
                    if tcp.syn() && !tcp.ack() {
                        tcp_server_ports.insert(dst);
                        if src == 443 && dst == 51000 {
                            seen.insert("syn 443->51000");
                        }
                        if src >= 49152 && dst >= 49152 {
                            seen.insert("dynamic-only tcp");
                        }
                    }
                }
                (Some(TransportSlice::Udp(udp)), _) => {
                    for port in [udp.source_port(), udp.destination_port()] {
                        match port {
                            53 => seen.insert("dns"),
                            123 => seen.insert("ntp"),
                            443 => seen.insert("quic"),
                            8 => seen.insert("udp unassigned 8"),
                            _ => false,
                        };
                    }
                }
                (Some(TransportSlice::Icmpv4(_) | TransportSlice::Icmpv6(_)), _) => {
                    seen.insert("icmp");
                }
                (None, Some(ip)) if ip.ip_number.0 == build::PROTO_SCTP => {
                    let sctp = SctpPacket::new_checked(ip.payload).unwrap();
                    assert!(sctp.chunk_count().unwrap() >= 1);
                    // The stored CRC32c is that of the packet with a zero checksum field.
                    let mut zeroed = ip.payload.to_vec();
                    zeroed[8..12].fill(0);
                    assert_eq!(sctp.checksum(), build::crc32c(&zeroed).swap_bytes());
                    if sctp.chunk_count().unwrap() >= 2 {
                        seen.insert("sctp bundled chunks");
                    }
                    seen.insert("sctp");
                }
                (None, Some(ip)) if ip.ip_number.0 == build::PROTO_DCCP => {
                    let dccp = DccpPacket::new_checked(ip.payload).unwrap();
                    assert_eq!(dccp.header_len() + dccp.payload().len(), ip.payload.len());
                    seen.insert("dccp");
                }
                _ => {}
            }
        }
        for port in [443, 80, 22, 4, 47] {
            assert!(
                tcp_server_ports.contains(&port),
                "no TCP SYN to port {port}"
            );
        }
        for ingredient in [
            "vlan",
            "ipv6",
            "arp",
            "first fragment",
            "later fragment",
            "syn 443->51000",
            "dynamic-only tcp",
            "dns",
            "ntp",
            "quic",
            "udp unassigned 8",
            "icmp",
            "sctp",
            "sctp bundled chunks",
            "dccp",
        ] {
            assert!(seen.contains(ingredient), "mix lacks {ingredient}");
        }
    }

    #[test]
    fn mix_on_every_link_writes_that_link_type() {
        for (name, link) in LINKS {
            let cfg = SynthConfig {
                packets: 300,
                link: Some(link),
                ..SynthConfig::default()
            };
            let (bytes, summary) = generate(&cfg);
            let (linktype, records) = pcap_records(&bytes);
            assert_eq!(linktype, link.linktype().0, "{name}");
            assert_eq!(records.len(), 300, "{name}");
            assert_eq!(summary.packets, 300, "{name}");
        }
    }

    #[test]
    fn mix_on_every_field_link_writes_that_link_type_and_decodes() {
        for (name, link) in FIELD_LINKS {
            let cfg = SynthConfig {
                packets: 300,
                link: Some(link),
                ..SynthConfig::default()
            };
            let (bytes, _) = generate(&cfg);
            let (linktype, records) = pcap_records(&bytes);
            assert_eq!(linktype, link.linktype().0, "{name}");
            assert_eq!(records.len(), 300, "{name}");
            // Our decoder finds ports in most frames (the rest: ICMP, ARP, later fragments).
            let with_ports = records
                .iter()
                .filter(|(_, data)| {
                    portnote::decode::decode_frame(
                        link.linktype(),
                        data,
                        &portnote::decode::DecodeOptions::default(),
                    )
                    .ports
                    .is_some()
                })
                .count();
            if link == Link::Ipv6HoldingIpv4 {
                // IPv4 under LINKTYPE_IPV6 is invalid, for tshark and tcpdump too.
                assert_eq!(with_ports, 0, "{name}");
            } else {
                assert!(with_ports > 250, "{name}: {with_ports} of 300 with ports");
            }
        }
    }

    #[test]
    fn truncated_kind_cuts_frames_below_their_length() {
        let cfg = SynthConfig {
            kind: Kind::Truncated,
            ..SynthConfig::default()
        };
        let (bytes, _) = generate(&cfg);
        let (_, records) = pcap_records(&bytes);
        // Frames of the snaplen-68 flow that are no longer than 68 bytes stay whole.
        assert!(records
            .iter()
            .all(|&(orig, data)| data.len() < orig as usize || orig <= 68));
        assert!(
            records
                .iter()
                .any(|&(orig, data)| data.len() == 68 && orig > 68),
            "snaplen-style cut"
        );
        assert!(
            records
                .iter()
                .filter(|&&(orig, data)| data.len() < orig as usize)
                .count()
                > 20
        );
    }

    #[test]
    fn snaplen_cuts_every_longer_frame() {
        let cfg = SynthConfig {
            packets: 500,
            snaplen: 96,
            ..SynthConfig::default()
        };
        let (bytes, _) = generate(&cfg);
        let (_, records) = pcap_records(&bytes);
        assert!(records.iter().all(|&(_, data)| data.len() <= 96));
        assert!(records.iter().any(|&(orig, _)| orig > 96));
    }
}

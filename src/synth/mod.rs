//! Deterministic synthetic capture generator for tests, benchmarks and the bundled captures.
//!
//! Takes a [`SynthConfig`] (kind of traffic, packet budget, seed, link, format) and writes a pcap
//! or pcapng file to any `impl Write`. The same config always gives the same bytes: all choices
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
pub mod rng;

use crate::capture::write::{FrameWriter, PcapResolution, PcapWriter, PcapngWriter};
use crate::capture::Timestamp;
pub use build::Link;
use build::{tcp_flags, Addrs};
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
}

impl Kind {
    pub const ALL: [(&'static str, Kind); 8] = [
        ("mix", Kind::Mix),
        ("demo", Kind::Demo),
        ("linktypes", Kind::LinkTypes),
        ("tunnels", Kind::Tunnels),
        ("sctp", Kind::Sctp),
        ("dccp", Kind::Dccp),
        ("icmp", Kind::IcmpErrors),
        ("truncated", Kind::Truncated),
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
}

impl Tunnel {
    pub const ALL: [(&'static str, Tunnel); 9] = [
        ("gre", Tunnel::Gre),
        ("4in4", Tunnel::Ip4in4),
        ("6in4", Tunnel::Ip6in4),
        ("4in6", Tunnel::Ip4in6),
        ("6in6", Tunnel::Ip6in6),
        ("vxlan", Tunnel::Vxlan),
        ("geneve", Tunnel::Geneve),
        ("gtpu", Tunnel::GtpU),
        ("teredo", Tunnel::Teredo),
    ];

    /// The inner IP version the tunnel forces, if it forces one.
    fn inner_v6(self) -> Option<bool> {
        match self {
            Tunnel::Ip4in4 | Tunnel::Ip4in6 => Some(false),
            Tunnel::Ip6in4 | Tunnel::Ip6in6 | Tunnel::Teredo => Some(true),
            Tunnel::Gre | Tunnel::Vxlan | Tunnel::Geneve | Tunnel::GtpU => None,
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
    buf: Vec<u8>,
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

    /// The scripted flows of the configured kind (empty for the mix, which draws flows as it
    /// goes).
    fn script(&mut self) -> Vec<FlowSpec> {
        match self.cfg.kind {
            Kind::Mix => Vec::new(),
            Kind::Demo => self.demo_script(),
            Kind::LinkTypes => {
                let links: Vec<Link> = match self.cfg.link {
                    Some(link) => vec![link],
                    None => LINKS.iter().map(|&(_, link)| link).collect(),
                };
                let mut specs = Vec::new();
                for link in links {
                    let v6_only = link == Link::Ipv6;
                    let v4_only = link == Link::Ipv4;
                    for mut spec in self.small_set() {
                        spec.encap = Encap::Link(link);
                        if v6_only || v4_only {
                            spec.v6 = v6_only;
                        }
                        if link.carries(build::ETHERTYPE_ARP) || spec.app != App::Arp {
                            specs.push(spec);
                        }
                    }
                }
                specs
            }
            Kind::Tunnels => {
                let tunnels: Vec<Tunnel> = match self.cfg.tunnel {
                    Some(tunnel) => vec![tunnel],
                    None => Tunnel::ALL.iter().map(|&(_, t)| t).collect(),
                };
                let mut specs = Vec::new();
                for tunnel in tunnels {
                    for mut spec in self.small_set() {
                        if spec.app == App::Arp {
                            continue;
                        }
                        spec.encap = Encap::Tunnel(tunnel);
                        if let Some(v6) = tunnel.inner_v6() {
                            spec.v6 = v6;
                        }
                        specs.push(spec);
                    }
                }
                specs
            }
            Kind::Sctp => {
                let mut specs = Vec::new();
                for (port, ppid, v6) in [
                    (2905, PPID_M3UA, false),
                    (3868, PPID_DIAMETER, false),
                    (2905, PPID_M3UA, true),
                    (3868, PPID_DIAMETER, true),
                ] {
                    let mut spec = self.spec(App::Sctp { ppid }, port, 12);
                    spec.v6 = v6;
                    specs.push(spec);
                }
                specs
            }
            Kind::Dccp => {
                let mut specs = Vec::new();
                for (port, v6, len) in [(5004, false, 12), (5005, false, 6), (5004, true, 10)] {
                    let mut spec = self.spec(
                        App::Dccp {
                            service_code: SERVICE_CODE_RTPA,
                        },
                        port,
                        len,
                    );
                    spec.v6 = v6;
                    specs.push(spec);
                }
                specs
            }
            Kind::IcmpErrors => {
                let mut specs = Vec::new();
                for (port, v6) in [(33434, false), (8, false), (33435, true)] {
                    let mut spec = self.spec(App::IcmpUnreachable, port, 2);
                    spec.v6 = v6;
                    specs.push(spec);
                }
                specs
            }
            Kind::Truncated => {
                let mut specs = self.small_set();
                specs.retain(|spec| spec.app != App::Arp);
                for spec in &mut specs {
                    spec.cut = Cut::Random;
                }
                // As with `tcpdump -s 68`: headers kept, payload cut.
                let mut snap = self.spec(
                    App::Tcp {
                        tls: true,
                        rst: false,
                    },
                    443,
                    8,
                );
                snap.cut = Cut::Fixed(68);
                specs.push(snap);
                specs
            }
        }
    }

    /// A few short flows covering each transport and both IP versions.
    fn small_set(&mut self) -> Vec<FlowSpec> {
        let mut v6_https = self.spec(
            App::Tcp {
                tls: true,
                rst: false,
            },
            443,
            3,
        );
        v6_https.v6 = true;
        vec![
            self.spec(
                App::Tcp {
                    tls: true,
                    rst: false,
                },
                443,
                7,
            ),
            v6_https,
            self.spec(App::Dns, 53, 2),
            self.spec(App::Sctp { ppid: PPID_M3UA }, 2905, 4),
            self.spec(
                App::Dccp {
                    service_code: SERVICE_CODE_RTPA,
                },
                5004,
                3,
            ),
            self.spec(App::Arp, 0, 1),
        ]
    }

    fn demo_script(&mut self) -> Vec<FlowSpec> {
        let tls = App::Tcp {
            tls: true,
            rst: false,
        };
        let plain = App::Tcp {
            tls: false,
            rst: false,
        };
        let mut specs = vec![
            self.spec(tls, 443, 56),
            self.spec(tls, 443, 24),
            self.spec(plain, 22, 40),
            self.spec(App::Dns, 53, 8),
            self.spec(App::Dns, 53, 2),
            self.spec(App::Ntp, 123, 4),
            self.spec(App::Quic, 443, 24),
            self.spec(App::Sctp { ppid: PPID_M3UA }, 2905, 24),
            self.spec(
                App::Sctp {
                    ppid: PPID_DIAMETER,
                },
                3868,
                16,
            ),
            self.spec(
                App::Dccp {
                    service_code: SERVICE_CODE_RTPA,
                },
                5004,
                20,
            ),
            // IANA: tcp 4 and udp 8 unassigned, tcp 47 reserved.
            self.spec(plain, 4, 8),
            self.spec(App::Udp, 8, 4),
            self.spec(plain, 47, 4),
            self.spec(App::UdpFragmented, 53, 3),
            self.spec(App::IcmpUnreachable, 33434, 2),
            self.spec(App::Arp, 0, 1),
            self.spec(App::Arp, 0, 1),
            self.spec(
                App::Tcp {
                    tls: false,
                    rst: true,
                },
                80,
                4,
            ),
        ];
        // IPv6 and VLAN variants.
        if let Some(spec) = specs.get_mut(1) {
            spec.v6 = true;
        }
        if let Some(spec) = specs.get_mut(4) {
            spec.v6 = true;
        }
        if let Some(spec) = specs.get_mut(2) {
            spec.encap = Encap::Link(Link::Vlan(100));
        }
        // Dynamic-only: both ports in 49152..65535.
        let mut dynamic_tcp = self.spec(plain, 61000, 8);
        dynamic_tcp.client_port = 50123;
        let mut dynamic_udp = self.spec(App::Udp, 55555, 4);
        dynamic_udp.client_port = 60001;
        // A SYN from 443 to 51000: the handshake, not the lower port, names the service.
        let mut reverse = self.spec(plain, 51000, 6);
        reverse.client_port = 443;
        // One SYN cut after 36 bytes: Ethernet + IPv4 + the TCP source port, no destination port.
        let mut truncated = self.spec(plain, 80, 1);
        truncated.cut = Cut::Fixed(36);
        specs.extend([dynamic_tcp, dynamic_udp, reverse, truncated]);
        specs
    }

    /// A random flow of the mix.
    fn mix_spec(&mut self) -> FlowSpec {
        let tls = App::Tcp {
            tls: true,
            rst: false,
        };
        let plain = App::Tcp {
            tls: false,
            rst: false,
        };
        let roll = self.rng.range(0, 100);
        let len_tcp = u32::try_from(self.rng.range(6, 76)).unwrap_or(6);
        let mut spec = match roll {
            0..=29 => self.spec(tls, 443, len_tcp),
            30..=36 => self.spec(plain, 80, len_tcp),
            37..=41 => self.spec(plain, 22, len_tcp),
            42..=51 => {
                let len = u32::try_from(self.rng.range(1, 4)).unwrap_or(1) * 2;
                self.spec(App::Dns, 53, len)
            }
            52..=60 => {
                let len = u32::try_from(self.rng.range(10, 61)).unwrap_or(10);
                self.spec(App::Quic, 443, len)
            }
            61..=63 => self.spec(App::Ntp, 123, 2),
            64..=67 => {
                let len = u32::try_from(self.rng.range(6, 41)).unwrap_or(6);
                self.spec(App::Sctp { ppid: PPID_M3UA }, 2905, len)
            }
            68..=70 => {
                let len = u32::try_from(self.rng.range(6, 41)).unwrap_or(6);
                self.spec(
                    App::Sctp {
                        ppid: PPID_DIAMETER,
                    },
                    3868,
                    len,
                )
            }
            71..=74 => {
                let len = u32::try_from(self.rng.range(5, 51)).unwrap_or(5);
                let app = App::Dccp {
                    service_code: SERVICE_CODE_RTPA,
                };
                self.spec(app, 5004, len)
            }
            75..=77 => self.spec(plain, 4, len_tcp),
            78..=79 => self.spec(App::Udp, 8, 4),
            80..=81 => self.spec(plain, 47, 4),
            82..=85 => {
                let server_port = self.rng.port(49152, 65535);
                let mut spec = self.spec(plain, server_port, len_tcp);
                spec.client_port = self.rng.port(49152, 65535);
                spec
            }
            86..=87 => {
                let server_port = self.rng.port(49152, 65535);
                let mut spec = self.spec(App::Udp, server_port, 6);
                spec.client_port = self.rng.port(49152, 65535);
                spec
            }
            88..=89 => {
                let mut spec = self.spec(plain, 51000, len_tcp);
                spec.client_port = 443;
                spec
            }
            90..=92 => self.spec(App::UdpFragmented, 53, 3),
            93 => self.spec(App::IcmpUnreachable, 33434, 2),
            94 => self.spec(App::Arp, 0, 1),
            _ => self.spec(
                App::Tcp {
                    tls: true,
                    rst: true,
                },
                443,
                5,
            ),
        };
        if spec.app != App::UdpFragmented && self.rng.chance(25) {
            spec.v6 = true;
        }
        if self.base_link() == Link::Ethernet && self.rng.chance(10) {
            spec.encap = Encap::Link(Link::Vlan(
                u16::try_from(self.rng.range(2, 4000)).unwrap_or(2),
            ));
        }
        // Links that carry one IP version, or no ARP, take the flow in a form they can carry.
        let link = spec.encap.link();
        if spec.app == App::Arp && !link.carries(build::ETHERTYPE_ARP) {
            spec.app = tls;
            spec.server_port = 443;
        }
        if link == Link::Ipv6 {
            if spec.app == App::UdpFragmented {
                // The generator fragments IPv4 only.
                spec.app = App::Dns;
            }
            spec.v6 = true;
        } else if link == Link::Ipv4 {
            spec.v6 = false;
        }
        spec
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
            self.build_arp(flow);
        } else {
            self.build_ip_frame(flow);
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

    fn build_arp(&mut self, flow: &FlowState) {
        let client = client_v4(flow.spec.client_host);
        build::link_header(
            &mut self.buf,
            flow.spec.encap.link(),
            build::mac(flow.spec.client_host),
            [0xff; 6],
            build::ETHERTYPE_ARP,
        );
        let [a, b, c, _] = client;
        build::arp_request(
            &mut self.buf,
            build::mac(flow.spec.client_host),
            client,
            [a, b, c, 254],
        );
        pad(&mut self.buf, flow.spec.encap.link());
    }

    fn build_ip_frame(&mut self, flow: &mut FlowState) {
        let spec = flow.spec;
        let plan = self.plan(flow);
        let client = host_addrs(spec.client_host, spec.server_host, spec.v6);
        let addrs = if plan.from_client {
            client
        } else {
            client.reversed()
        };
        let (src_host, dst_host) = if plan.from_client {
            (spec.client_host, 0x00ff_0000 | spec.server_host)
        } else {
            (0x00ff_0000 | spec.server_host, spec.client_host)
        };
        let framing = open_frame(
            &mut self.buf,
            spec.encap,
            plan.from_client,
            spec.client_port,
            build::mac(src_host),
            build::mac(dst_host),
            addrs.ethertype(),
        );
        self.ident = self.ident.wrapping_add(1);
        let (protocol, fragment) = match plan.packet {
            Packet::Fragment { offset, more } => (build::PROTO_UDP, (offset, more)),
            _ => (plan.protocol, (0, false)),
        };
        let ident = if let Packet::Fragment { .. } = plan.packet {
            flow.fragment_ident
        } else {
            self.ident
        };
        let ip = build::begin_ip(&mut self.buf, addrs, protocol, ident, fragment);
        self.write_transport(flow, &plan, addrs);
        build::finish_ip(&mut self.buf, ip);
        close_frame(&mut self.buf, framing);
    }

    /// Decides what the flow sends at its current step.
    fn plan(&mut self, flow: &mut FlowState) -> Plan {
        let spec = flow.spec;
        let step = flow.step;
        let last = spec.len.saturating_sub(1);
        let max = usize::from(self.cfg.max_payload);
        match spec.app {
            App::Tcp { rst, .. } => {
                let (from_client, flags, payload) = match step {
                    0 => (true, tcp_flags::SYN, 0),
                    1 => (false, tcp_flags::SYN | tcp_flags::ACK, 0),
                    2 => (true, tcp_flags::ACK, 0),
                    s if rst && s == last => (false, tcp_flags::RST | tcp_flags::ACK, 0),
                    s if !rst && spec.len >= 7 && s + 3 > last => {
                        let flags = if s == last {
                            tcp_flags::ACK
                        } else {
                            tcp_flags::FIN | tcp_flags::ACK
                        };
                        (s != last.saturating_sub(1), flags, 0)
                    }
                    3 => (true, tcp_flags::PSH | tcp_flags::ACK, self.size(200, 600)),
                    _ if self.rng.chance(25) => (true, tcp_flags::ACK, 0),
                    _ => {
                        let len = if self.rng.chance(60) {
                            max
                        } else {
                            self.size(100, max)
                        };
                        (false, tcp_flags::PSH | tcp_flags::ACK, len)
                    }
                };
                Plan {
                    from_client,
                    protocol: build::PROTO_TCP,
                    packet: Packet::Tcp { flags, payload },
                }
            }
            App::Dns | App::Ntp | App::Udp => Plan {
                from_client: step % 2 == 0,
                protocol: build::PROTO_UDP,
                packet: Packet::Udp {
                    payload: self.size(40, 1200),
                },
            },
            App::Quic => {
                let (from_client, payload) = match step {
                    0 | 1 => (step == 0, 1200),
                    _ if self.rng.chance(30) => (true, self.size(30, 80)),
                    _ => (false, self.size(1000, 1350)),
                };
                Plan {
                    from_client,
                    protocol: build::PROTO_UDP,
                    packet: Packet::Udp { payload },
                }
            }
            App::UdpFragmented => {
                let packet = match step % 3 {
                    0 => {
                        flow.fragment_ident = self.ident.wrapping_add(7);
                        Packet::Udp { payload: 40 }
                    }
                    1 => Packet::Fragment {
                        offset: 0,
                        more: true,
                    },
                    _ => Packet::Fragment {
                        offset: FRAGMENT_SIZE,
                        more: false,
                    },
                };
                Plan {
                    from_client: step % 3 == 0,
                    protocol: build::PROTO_UDP,
                    packet,
                }
            }
            App::Sctp { .. } => {
                let (from_client, chunk) = match step {
                    0 => (true, SctpStep::Init),
                    1 => (false, SctpStep::InitAck),
                    2 => (true, SctpStep::CookieEcho),
                    3 => (false, SctpStep::CookieAck),
                    s if s % 2 == 0 => {
                        flow.last_data_from_client = self.rng.chance(50);
                        (
                            flow.last_data_from_client,
                            SctpStep::Data(self.size(60, max)),
                        )
                    }
                    _ => {
                        // The peer acknowledges, sometimes bundling DATA of its own.
                        let bundle = self.rng.chance(30);
                        let data = if bundle { self.size(40, 200) } else { 0 };
                        (!flow.last_data_from_client, SctpStep::Sack(data))
                    }
                };
                Plan {
                    from_client,
                    protocol: build::PROTO_SCTP,
                    packet: Packet::Sctp(chunk),
                }
            }
            App::Dccp { .. } => {
                let (from_client, packet_type, payload) = match step {
                    0 => (true, 0, 0),
                    1 => (false, 1, 0),
                    2 => (true, 3, 0),
                    s if s == last && spec.len >= 5 => (true, 6, 0),
                    _ if self.rng.chance(20) => (true, 3, 0),
                    _ if self.rng.chance(30) => (false, 2, self.size(160, max.min(1200))),
                    _ => (false, 4, self.size(160, max.min(1200))),
                };
                Plan {
                    from_client,
                    protocol: build::PROTO_DCCP,
                    packet: Packet::Dccp {
                        packet_type,
                        payload,
                    },
                }
            }
            App::IcmpUnreachable => Plan {
                from_client: step == 0,
                protocol: if step == 0 {
                    build::PROTO_UDP
                } else if spec.v6 {
                    build::PROTO_ICMPV6
                } else {
                    build::PROTO_ICMP
                },
                packet: if step == 0 {
                    Packet::Udp { payload: 32 }
                } else {
                    Packet::IcmpUnreachable
                },
            },
            App::Arp => Plan {
                from_client: true,
                protocol: 0,
                packet: Packet::Udp { payload: 0 },
            },
        }
    }

    /// A payload size in `low..=high`, capped by `max_payload`.
    fn size(&mut self, low: usize, high: usize) -> usize {
        let cap = usize::from(self.cfg.max_payload);
        let high = high.min(cap);
        let low = low.min(high);
        usize::try_from(self.rng.range(low as u64, high as u64 + 1)).unwrap_or(low)
    }

    /// Appends `len` bytes of the random pattern (from a random place in it).
    fn fill(&mut self, len: usize) {
        let len = len.min(PATTERN_LEN);
        let start = self.rng.index(PATTERN_LEN - len + 1);
        self.buf
            .extend_from_slice(self.pattern.get(start..start + len).unwrap_or_default());
    }

    fn write_transport(&mut self, flow: &mut FlowState, plan: &Plan, addrs: Addrs) {
        let spec = flow.spec;
        let (src_port, dst_port) = if plan.from_client {
            (spec.client_port, spec.server_port)
        } else {
            (spec.server_port, spec.client_port)
        };
        match plan.packet {
            Packet::Tcp { flags, payload } => {
                let (seq, ack) = if plan.from_client {
                    (&mut flow.client_seq, flow.server_seq)
                } else {
                    (&mut flow.server_seq, flow.client_seq)
                };
                let ack = if flags & tcp_flags::ACK != 0 { ack } else { 0 };
                let start = build::begin_tcp(&mut self.buf, src_port, dst_port, *seq, ack, flags);
                let consumed = u32::try_from(payload).unwrap_or(0)
                    + u32::from(flags & (tcp_flags::SYN | tcp_flags::FIN) != 0);
                *seq = seq.wrapping_add(consumed);
                let tls = matches!(spec.app, App::Tcp { tls: true, .. });
                self.app_payload(payload, tls);
                build::finish_transport(&mut self.buf, start, addrs, build::PROTO_TCP);
            }
            Packet::Udp { payload } => {
                let start = build::begin_udp(&mut self.buf, src_port, dst_port);
                self.udp_payload(spec.app, plan.from_client, payload);
                build::finish_udp(&mut self.buf, start, addrs);
            }
            Packet::Fragment { offset, more } => {
                // Build the whole 2000-byte datagram aside, then append this fragment's slice:
                // the first carries the UDP header (and so the ports), the second does not.
                std::mem::swap(&mut self.buf, &mut self.scratch);
                self.buf.clear();
                let start = build::begin_udp(&mut self.buf, src_port, dst_port);
                self.dns_response(FRAGMENTED_DATAGRAM - 8);
                build::finish_udp(&mut self.buf, start, addrs);
                std::mem::swap(&mut self.buf, &mut self.scratch);
                let from = usize::from(offset);
                let to = if more {
                    from + usize::from(FRAGMENT_SIZE)
                } else {
                    self.scratch.len()
                };
                self.buf
                    .extend_from_slice(self.scratch.get(from..to).unwrap_or_default());
            }
            Packet::Sctp(step) => {
                let (tag, own_tag) = if plan.from_client {
                    (flow.server_tag, flow.client_tag)
                } else {
                    (flow.client_tag, flow.server_tag)
                };
                // A packet carrying INIT has verification tag 0 (RFC 9260 section 8.5.1).
                let tag = if step == SctpStep::Init { 0 } else { tag };
                let start = build::begin_sctp(&mut self.buf, src_port, dst_port, tag);
                self.sctp_chunks(flow, step, own_tag, plan.from_client);
                build::finish_transport(&mut self.buf, start, addrs, build::PROTO_SCTP);
            }
            Packet::Dccp {
                packet_type,
                payload,
            } => {
                let (seq, ack) = if plan.from_client {
                    (&mut flow.client_seq, flow.server_seq)
                } else {
                    (&mut flow.server_seq, flow.client_seq)
                };
                // Every DCCP packet, even a pure Ack, takes one sequence number.
                *seq = seq.wrapping_add(1);
                let service = match spec.app {
                    App::Dccp { service_code } => service_code,
                    _ => 0,
                };
                let start = build::begin_dccp(
                    &mut self.buf,
                    src_port,
                    dst_port,
                    packet_type,
                    u64::from(*seq),
                    u64::from(ack),
                    service,
                );
                if payload > 0 {
                    // An RTP header (version 2, payload type 0) then media bytes.
                    self.buf.extend_from_slice(&[0x80, 0x00]);
                    self.fill(payload.saturating_sub(2));
                }
                build::finish_transport(&mut self.buf, start, addrs, build::PROTO_DCCP);
            }
            Packet::IcmpUnreachable => {
                let start = self.buf.len();
                let (icmp_type, protocol) = match addrs {
                    // ICMP type 3 code 3 (RFC 792); ICMPv6 type 1 code 4 (RFC 4443).
                    Addrs::V4 { .. } => (3u8, build::PROTO_ICMP),
                    Addrs::V6 { .. } => (1u8, build::PROTO_ICMPV6),
                };
                let code = if protocol == build::PROTO_ICMP { 3 } else { 4 };
                self.buf
                    .extend_from_slice(&[icmp_type, code, 0, 0, 0, 0, 0, 0]);
                // The quotation: the client's datagram (IP header + UDP header + payload) as it
                // was sent, cut after the UDP header as RFC 792 asks for at least.
                let quoted = addrs.reversed();
                let ip = build::begin_ip(
                    &mut self.buf,
                    quoted,
                    build::PROTO_UDP,
                    self.ident,
                    (0, false),
                );
                let udp = build::begin_udp(&mut self.buf, spec.client_port, spec.server_port);
                self.fill(32);
                build::finish_udp(&mut self.buf, udp, quoted);
                build::finish_ip(&mut self.buf, ip);
                self.buf.truncate(udp + 8);
                build::finish_transport(&mut self.buf, start, addrs, protocol);
            }
        }
    }

    /// Application bytes for TCP: a TLS application-data record header on TLS flows.
    fn app_payload(&mut self, len: usize, tls: bool) {
        if len == 0 {
            return;
        }
        if tls && len > 5 {
            let record = u16::try_from(len - 5).unwrap_or(u16::MAX);
            self.buf.extend_from_slice(&[0x17, 0x03, 0x03]);
            self.buf.extend_from_slice(&record.to_be_bytes());
            self.fill(len - 5);
        } else {
            self.fill(len);
        }
    }

    fn udp_payload(&mut self, app: App, from_client: bool, len: usize) {
        match app {
            App::Dns | App::UdpFragmented if from_client => self.dns_query(),
            App::Dns => self.dns_response(len.min(400)),
            App::Ntp => {
                // LI 0, version 4, mode 3 (client) or 4 (server), then 47 bytes.
                let mode = if from_client { 0x23 } else { 0x24 };
                self.buf.push(mode);
                self.buf.extend_from_slice(&[0; 3]);
                self.fill(44);
            }
            App::Quic if len >= 1200 => {
                // Long header, Initial, version 1, 8-byte connection ids.
                self.buf.extend_from_slice(&[0xc3, 0, 0, 0, 1, 8]);
                self.fill(8);
                self.buf.push(8);
                self.fill(len.saturating_sub(15));
            }
            App::Quic => {
                self.buf.push(0x43); // short header, fixed bit set
                self.fill(len.saturating_sub(1));
            }
            _ => self.fill(len),
        }
    }

    fn dns_query(&mut self) {
        let id = self.rng.next_u64() as u16;
        self.buf.extend_from_slice(&id.to_be_bytes());
        // Flags: standard query, recursion desired; 1 question.
        self.buf
            .extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        self.buf.extend_from_slice(b"\x03www\x07example\x03com\x00");
        self.buf.extend_from_slice(&[0, 1, 0, 1]); // type A, class IN
    }

    /// A DNS response of `len` bytes: one question, one A answer, then a TXT record padding it.
    fn dns_response(&mut self, len: usize) {
        let start = self.buf.len();
        let id = self.rng.next_u64() as u16;
        self.buf.extend_from_slice(&id.to_be_bytes());
        // Flags: response, recursion desired and available; 1 question, 2 answers.
        self.buf
            .extend_from_slice(&[0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]);
        self.buf.extend_from_slice(b"\x03www\x07example\x03com\x00");
        self.buf.extend_from_slice(&[0, 1, 0, 1]);
        // Answer: pointer to the name at offset 12, A, IN, TTL 300, 4 bytes.
        self.buf
            .extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4]);
        self.buf.extend_from_slice(&[93, 184, 215, 14]);
        // TXT answer filling the rest: strings of up to 255 bytes, each behind its length.
        let used = self.buf.len() - start + 12;
        let rdata = len.saturating_sub(used);
        self.buf
            .extend_from_slice(&[0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 1, 0x2c]);
        self.buf
            .extend_from_slice(&u16::try_from(rdata).unwrap_or(0).to_be_bytes());
        let mut left = rdata;
        while left > 0 {
            let piece = (left - 1).min(255);
            self.buf.push(u8::try_from(piece).unwrap_or(0));
            self.buf.extend(std::iter::repeat(b'a').take(piece));
            left -= piece + 1;
        }
    }

    fn sctp_chunks(
        &mut self,
        flow: &mut FlowState,
        step: SctpStep,
        own_tag: u32,
        from_client: bool,
    ) {
        let ppid = match flow.spec.app {
            App::Sctp { ppid } => ppid,
            _ => 0,
        };
        let mut value = [0u8; 16];
        match step {
            SctpStep::Init | SctpStep::InitAck => {
                // Initiate tag, a_rwnd, outbound and inbound streams, initial TSN.
                build::put(&mut value, 0, &own_tag.to_be_bytes());
                build::put(&mut value, 4, &106_496u32.to_be_bytes());
                build::put(&mut value, 8, &[0, 10, 0, 10]);
                let tsn = if from_client {
                    flow.client_seq
                } else {
                    flow.server_seq
                };
                build::put(&mut value, 12, &tsn.to_be_bytes());
                let chunk_type = if step == SctpStep::Init { 1 } else { 2 };
                if chunk_type == 2 {
                    // INIT ACK must carry a State Cookie parameter (type 7).
                    let mut with_cookie = [0u8; 16 + 4 + 24];
                    build::put(&mut with_cookie, 0, &value);
                    build::put(&mut with_cookie, 16, &[0, 7, 0, 28]);
                    build::put(
                        &mut with_cookie,
                        20,
                        self.pattern.get(..24).unwrap_or_default(),
                    );
                    build::sctp_chunk(&mut self.buf, chunk_type, 0, &with_cookie);
                } else {
                    build::sctp_chunk(&mut self.buf, chunk_type, 0, &value);
                }
            }
            SctpStep::CookieEcho => {
                let cookie: [u8; 24] =
                    std::array::from_fn(|i| self.pattern.get(i).copied().unwrap_or(0));
                build::sctp_chunk(&mut self.buf, 10, 0, &cookie);
            }
            SctpStep::CookieAck => build::sctp_chunk(&mut self.buf, 11, 0, &[]),
            SctpStep::Data(len) => self.sctp_data(flow, from_client, ppid, len),
            SctpStep::Sack(bundled) => {
                let acked = if from_client {
                    flow.server_seq
                } else {
                    flow.client_seq
                };
                let mut sack = [0u8; 12];
                build::put(&mut sack, 0, &acked.wrapping_sub(1).to_be_bytes());
                build::put(&mut sack, 4, &106_496u32.to_be_bytes());
                build::sctp_chunk(&mut self.buf, 3, 0, &sack);
                if bundled > 0 {
                    self.sctp_data(flow, from_client, ppid, bundled);
                }
            }
        }
    }

    /// An M3UA ASP Up message (RFC 4666 section 3.5.1) of `len` bytes, `len` >= 16: common
    /// header, then an INFO String parameter filling the rest (padded to 4 bytes).
    fn m3ua_asp_up(&mut self, len: usize) {
        let len = len & !3;
        let message = u32::try_from(len).unwrap_or(16);
        self.buf.extend_from_slice(&[1, 0, 3, 1]); // version 1, reserved, class ASPSM, ASP Up
        self.buf.extend_from_slice(&message.to_be_bytes());
        let parameter = u16::try_from(len - 8).unwrap_or(8);
        self.buf.extend_from_slice(&[0x00, 0x04]); // INFO String
        self.buf.extend_from_slice(&parameter.to_be_bytes());
        self.buf.extend(std::iter::repeat(b'x').take(len - 12));
    }

    /// One DATA chunk: TSN, stream 0, stream sequence, PPID, then user data.
    fn sctp_data(&mut self, flow: &mut FlowState, from_client: bool, ppid: u32, len: usize) {
        let tsn = if from_client {
            &mut flow.client_seq
        } else {
            &mut flow.server_seq
        };
        let this_tsn = *tsn;
        *tsn = tsn.wrapping_add(1);
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0, 0x03, 0, 0]); // DATA, B+E flags, length patched below
        self.buf.extend_from_slice(&this_tsn.to_be_bytes());
        self.buf.extend_from_slice(&[0, 0]); // stream id
        self.buf.extend_from_slice(&(this_tsn as u16).to_be_bytes()); // stream sequence number
        self.buf.extend_from_slice(&ppid.to_be_bytes());
        if ppid == PPID_M3UA && len >= 16 {
            self.m3ua_asp_up(len);
        } else {
            self.fill(len);
        }
        let chunk_len = u16::try_from(self.buf.len() - start).unwrap_or(u16::MAX);
        build::put(&mut self.buf, start + 2, &chunk_len.to_be_bytes());
        // Padding is relative to the chunk, not to the frame (the link header has any length).
        let padding = (4 - usize::from(chunk_len) % 4) % 4;
        self.buf
            .extend_from_slice([0u8; 3].get(..padding).unwrap_or_default());
    }
}

/// Size of the UDP datagram sent as two fragments, and of the first fragment's data (a multiple
/// of 8, as fragment offsets count 8-byte units).
const FRAGMENTED_DATAGRAM: usize = 2000;
const FRAGMENT_SIZE: u16 = 1480;

/// What one step of a flow sends.
#[derive(Debug, Clone, Copy)]
struct Plan {
    from_client: bool,
    /// IP protocol of the packet.
    protocol: u8,
    packet: Packet,
}

#[derive(Debug, Clone, Copy)]
enum Packet {
    Tcp {
        flags: u8,
        payload: usize,
    },
    Udp {
        payload: usize,
    },
    /// Part of the fragmented datagram: offset into it, and whether more follow.
    Fragment {
        offset: u16,
        more: bool,
    },
    Sctp(SctpStep),
    Dccp {
        packet_type: u8,
        payload: usize,
    },
    IcmpUnreachable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SctpStep {
    Init,
    InitAck,
    CookieEcho,
    CookieAck,
    Data(usize),
    /// SACK, bundled with a DATA chunk of this many bytes when non-zero.
    Sack(usize),
}

fn client_v4(host: u32) -> [u8; 4] {
    let [_, _, hi, lo] = host.to_be_bytes();
    [10, 1, hi, lo.max(1)]
}

fn server_v4(host: u32) -> [u8; 4] {
    let [_, _, _, lo] = host.to_be_bytes();
    if host % 2 == 0 {
        [203, 0, 113, lo.max(1)]
    } else {
        [198, 51, 100, lo.max(1)]
    }
}

/// Documentation prefix 2001:db8::/32: clients in 2001:db8:1::/48, servers in 2001:db8:2::/48.
fn v6(site: u8, host: u32) -> [u8; 16] {
    let mut addr = [
        0x20, 0x01, 0x0d, 0xb8, 0, site, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    build::put(&mut addr, 12, &host.to_be_bytes());
    addr
}

/// Client-to-server addresses of a flow.
fn host_addrs(client: u32, server: u32, use_v6: bool) -> Addrs {
    if use_v6 {
        Addrs::V6 {
            src: v6(1, client),
            dst: v6(2, server),
        }
    } else {
        Addrs::V4 {
            src: client_v4(client),
            dst: server_v4(server),
        }
    }
}

/// Offsets of the outer headers still to patch once the inner packet is complete.
#[derive(Debug, Clone, Copy)]
struct Framing {
    link: Link,
    outer_ip: Option<usize>,
    outer_udp: Option<(usize, Addrs)>,
    gtp: Option<usize>,
}

/// Writes everything below the flow's IP header: the link header, and for tunnels the outer
/// IP, UDP and tunnel headers (and an inner Ethernet header for VXLAN and Geneve).
fn open_frame(
    buf: &mut Vec<u8>,
    encap: Encap,
    from_client: bool,
    entropy: u16,
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    inner_ethertype: u16,
) -> Framing {
    let tunnel = match encap {
        Encap::Link(link) => {
            build::link_header(buf, link, src_mac, dst_mac, inner_ethertype);
            return Framing {
                link,
                outer_ip: None,
                outer_udp: None,
                gtp: None,
            };
        }
        Encap::Tunnel(tunnel) => tunnel,
    };
    // The tunnel endpoints: 192.0.2.1 (client side) and 192.0.2.2, or their IPv6 twins.
    let outer = if tunnel.outer_v6() {
        Addrs::V6 {
            src: v6(0xff, 1),
            dst: v6(0xff, 2),
        }
    } else {
        Addrs::V4 {
            src: [192, 0, 2, 1],
            dst: [192, 0, 2, 2],
        }
    };
    let outer = if from_client { outer } else { outer.reversed() };
    let (tep_a, tep_b) = (build::mac(0x00fe_0001), build::mac(0x00fe_0002));
    let (outer_src_mac, outer_dst_mac) = if from_client {
        (tep_a, tep_b)
    } else {
        (tep_b, tep_a)
    };
    build::ethernet(buf, outer_dst_mac, outer_src_mac, outer.ethertype());
    let inner_ip_protocol = if inner_ethertype == build::ETHERTYPE_IPV6 {
        build::PROTO_IPV6
    } else {
        build::PROTO_IPIP
    };
    let protocol = match tunnel {
        Tunnel::Gre => build::PROTO_GRE,
        Tunnel::Ip4in4 | Tunnel::Ip6in4 | Tunnel::Ip4in6 | Tunnel::Ip6in6 => inner_ip_protocol,
        Tunnel::Vxlan | Tunnel::Geneve | Tunnel::GtpU | Tunnel::Teredo => build::PROTO_UDP,
    };
    let outer_ip = Some(build::begin_ip(buf, outer, protocol, entropy, (0, false)));
    // Tunnels over UDP take a per-flow source port for ECMP entropy (RFC 7348 section 5).
    let entropy_port = 49152 | (entropy & 0x3fff);
    let mut framing = Framing {
        link: Link::Ethernet,
        outer_ip,
        outer_udp: None,
        gtp: None,
    };
    match tunnel {
        Tunnel::Gre => {
            buf.extend_from_slice(&[0, 0]); // no checksum, key or sequence; version 0
            buf.extend_from_slice(&inner_ethertype.to_be_bytes());
        }
        Tunnel::Ip4in4 | Tunnel::Ip6in4 | Tunnel::Ip4in6 | Tunnel::Ip6in6 => {}
        Tunnel::Vxlan | Tunnel::Geneve => {
            let port = if tunnel == Tunnel::Vxlan { 4789 } else { 6081 };
            framing.outer_udp = Some((build::begin_udp(buf, entropy_port, port), outer));
            if tunnel == Tunnel::Vxlan {
                buf.extend_from_slice(&[0x08, 0, 0, 0, 0, 0x10, 0x01, 0]); // I flag, VNI 4097
            } else {
                // Version 0, no options, protocol Transparent Ethernet Bridging, VNI 4097.
                buf.extend_from_slice(&[0, 0]);
                buf.extend_from_slice(&build::ETHERTYPE_TEB.to_be_bytes());
                buf.extend_from_slice(&[0, 0x10, 0x01, 0]);
            }
            build::ethernet(buf, dst_mac, src_mac, inner_ethertype);
        }
        Tunnel::GtpU => {
            framing.outer_udp = Some((build::begin_udp(buf, 2152, 2152), outer));
            framing.gtp = Some(buf.len());
            // Version 1, protocol type GTP, no optional fields; G-PDU; length; TEID.
            buf.extend_from_slice(&[0x30, 0xff, 0, 0]);
            buf.extend_from_slice(&(0x0001_0000 | u32::from(entropy)).to_be_bytes());
        }
        Tunnel::Teredo => {
            let (src, dst) = if from_client {
                (entropy_port, 3544)
            } else {
                (3544, entropy_port)
            };
            framing.outer_udp = Some((build::begin_udp(buf, src, dst), outer));
        }
    }
    framing
}

/// Patches the outer headers innermost first, then pads Ethernet frames to 60 bytes.
fn close_frame(buf: &mut Vec<u8>, framing: Framing) {
    if let Some(gtp) = framing.gtp {
        // GTP-U length counts the bytes after the 8-byte mandatory header.
        let len = u16::try_from(buf.len().saturating_sub(gtp + 8)).unwrap_or(u16::MAX);
        build::put(buf, gtp + 2, &len.to_be_bytes());
    }
    if let Some((udp, addrs)) = framing.outer_udp {
        build::finish_udp(buf, udp, addrs);
    }
    if let Some(ip) = framing.outer_ip {
        build::finish_ip(buf, ip);
    }
    pad(buf, framing.link);
}

fn pad(buf: &mut Vec<u8>, link: Link) {
    if link.pads_to_ethernet_minimum() && buf.len() < 60 {
        buf.resize(60, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{dccp::DccpPacket, sctp::SctpPacket};
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
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

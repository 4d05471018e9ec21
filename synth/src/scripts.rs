//! The flows each kind plays: fixed scripts for the bundled captures, random draws for the mix.

use super::{
    build, App, Cut, Encap, Engine, FlowSpec, Kind, Link, Tunnel, LINKS, PPID_DIAMETER, PPID_M3UA,
    SERVICE_CODE_RTPA,
};

impl Engine {
    /// The scripted flows of the configured kind (empty for the mix, which draws flows as it
    /// goes).
    pub(super) fn script(&mut self) -> Vec<FlowSpec> {
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
                    for mut spec in self.small_set() {
                        spec.encap = Encap::Link(link);
                        if let Some(v6) = link.only_v6() {
                            spec.v6 = v6;
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
            Kind::Wireless => {
                let link = match self.cfg.link {
                    Some(
                        link @ (Link::Wlan(_)
                        | Link::Radiotap(_)
                        | Link::RadiotapPadded(_)
                        | Link::Ppi(_)),
                    ) => link,
                    _ => Link::Radiotap(build::Wlan::Qos),
                };
                let mut specs = Vec::new();
                for other in [
                    build::WlanOther::Beacon,
                    build::WlanOther::Ack,
                    build::WlanOther::NullData,
                    build::WlanOther::Protected,
                ] {
                    let mut spec = self.spec(App::Wlan(other), 0, 3);
                    spec.encap = Encap::Link(link);
                    specs.push(spec);
                }
                for mut spec in self.small_set() {
                    spec.encap = Encap::Link(link);
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
    pub(super) fn mix_spec(&mut self) -> FlowSpec {
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
        match link.only_v6() {
            Some(true) => {
                if spec.app == App::UdpFragmented {
                    // The generator fragments IPv4 only.
                    spec.app = App::Dns;
                }
                spec.v6 = true;
            }
            Some(false) => spec.v6 = false,
            None => {}
        }
        spec
    }
}

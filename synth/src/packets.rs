//! Frame building: what a flow sends at each step ([`Plan`]), and the bytes of it: the
//! application payload first (it draws from the random stream), then the headers below it,
//! written by etherparse's builder (see `build`), tunnels as an outer packet around the inner.

use super::build::{self, tcp_flags, Addrs, Below, Link, Segment};
use super::{App, Encap, Engine, FlowState, Tunnel, PATTERN_LEN, PPID_M3UA};
use etherparse::IpHeaders;
use std::io;

impl Engine {
    pub(super) fn build_arp(&mut self, flow: &FlowState) -> io::Result<()> {
        let client = client_v4(flow.spec.client_host);
        let [a, b, c, _] = client;
        let link = flow.spec.encap.link();
        build::arp_frame(
            &mut self.buf,
            link,
            build::mac(flow.spec.client_host),
            client,
            [a, b, c, 254],
        )?;
        pad(&mut self.buf, link);
        Ok(())
    }

    /// An 802.11 frame without an MSDU; a protected frame's "encrypted" body is random bytes.
    pub(super) fn build_wlan_other(&mut self, flow: &FlowState, other: build::WlanOther) {
        self.buf.clear();
        self.fill(64);
        std::mem::swap(&mut self.buf, &mut self.payload);
        self.buf.clear();
        build::wlan_other_frame(
            &mut self.buf,
            flow.spec.encap.link(),
            other,
            build::mac(flow.spec.client_host),
            &self.payload,
        );
    }

    pub(super) fn build_ip_frame(&mut self, flow: &mut FlowState) -> io::Result<()> {
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
        self.ident = self.ident.wrapping_add(1);
        let (fragment, ident) = match plan.packet {
            Packet::Fragment { offset, more } => ((offset, more), flow.fragment_ident),
            _ => ((0, false), self.ident),
        };
        // What goes above the IP header first (it draws from the generator's random stream),
        // into `payload`; then the headers below it, into the frame.
        self.buf.clear();
        let segment = self.write_transport(flow, &plan, addrs)?;
        std::mem::swap(&mut self.buf, &mut self.payload);
        self.buf.clear();
        let ip = build::ip_header(addrs, ident, fragment);
        let (src_mac, dst_mac) = (build::mac(src_host), build::mac(dst_host));
        match spec.encap {
            Encap::Link(link) => {
                let below = Below::Link(link, src_mac, dst_mac);
                build::ip_packet(&mut self.buf, below, ip, segment, &self.payload)?;
                pad(&mut self.buf, link);
            }
            Encap::Tunnel(tunnel) => {
                self.inner.clear();
                let outer = open_tunnel(
                    &mut self.inner,
                    tunnel,
                    plan.from_client,
                    spec.client_port,
                    addrs.ethertype(),
                );
                let below = match tunnel {
                    Tunnel::Vxlan | Tunnel::Geneve | Tunnel::VxlanGpeEthernet => {
                        Below::Link(Link::Ethernet, src_mac, dst_mac)
                    }
                    _ => Below::Nothing,
                };
                build::ip_packet(&mut self.inner, below, ip, segment, &self.payload)?;
                if tunnel == Tunnel::GtpU {
                    // GTP-U length counts the bytes after the 8-byte mandatory header.
                    let len = u16::try_from(self.inner.len().saturating_sub(8)).unwrap_or(u16::MAX);
                    build::put(&mut self.inner, 2, &len.to_be_bytes());
                }
                let below = Below::Link(Link::Ethernet, outer.src_mac, outer.dst_mac);
                build::ip_packet(&mut self.buf, below, outer.ip, outer.segment, &self.inner)?;
                pad(&mut self.buf, Link::Ethernet);
            }
        }
        Ok(())
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
                    packet: Packet::Tcp { flags, payload },
                }
            }
            App::Dns | App::Ntp | App::Udp => Plan {
                from_client: step % 2 == 0,
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
                    packet: Packet::Dccp {
                        packet_type,
                        payload,
                    },
                }
            }
            App::IcmpUnreachable => Plan {
                from_client: step == 0,
                packet: if step == 0 {
                    Packet::Udp { payload: 32 }
                } else {
                    Packet::IcmpUnreachable
                },
            },
            App::Arp | App::Wlan(_) => Plan {
                from_client: true,
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

    /// Appends what goes above the IP header to the (empty) buffer: the payload of a TCP, UDP
    /// or ICMP header, which the builder then writes (the returned [`Segment`]), or the whole
    /// IP payload for SCTP, DCCP and fragments.
    fn write_transport(
        &mut self,
        flow: &mut FlowState,
        plan: &Plan,
        addrs: Addrs,
    ) -> io::Result<Segment> {
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
                let segment = Segment::Tcp {
                    src_port,
                    dst_port,
                    seq: *seq,
                    ack,
                    flags,
                };
                let consumed = u32::try_from(payload).unwrap_or(0)
                    + u32::from(flags & (tcp_flags::SYN | tcp_flags::FIN) != 0);
                *seq = seq.wrapping_add(consumed);
                let tls = matches!(spec.app, App::Tcp { tls: true, .. });
                self.app_payload(payload, tls);
                Ok(segment)
            }
            Packet::Udp { payload } => {
                self.udp_payload(spec.app, plan.from_client, payload);
                Ok(Segment::Udp { src_port, dst_port })
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
                Ok(Segment::Raw(build::PROTO_UDP))
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
                Ok(Segment::Raw(build::PROTO_SCTP))
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
                Ok(Segment::Raw(build::PROTO_DCCP))
            }
            Packet::IcmpUnreachable => {
                // ICMP type 3 code 3 (RFC 792); ICMPv6 type 1 code 4 (RFC 4443).
                let (v6, icmp_type, code) = match addrs {
                    Addrs::V4 { .. } => (false, 3, 3),
                    Addrs::V6 { .. } => (true, 1, 4),
                };
                // The quotation: the client's datagram (IP header + UDP header + payload) as it
                // was sent, cut after the UDP header as RFC 792 asks for at least.
                self.fill(32);
                let mut datagram = [0u8; 32];
                build::put(&mut datagram, 0, &self.buf);
                self.buf.clear();
                let quoted = addrs.reversed();
                let ip = build::ip_header(quoted, self.ident, (0, false));
                let udp = Segment::Udp {
                    src_port: spec.client_port,
                    dst_port: spec.server_port,
                };
                build::ip_packet(&mut self.buf, Below::Nothing, ip, udp, &datagram)?;
                let ip_len = if v6 { 40 } else { 20 };
                self.buf.truncate(ip_len + 8);
                Ok(Segment::Icmp {
                    v6,
                    icmp_type,
                    code,
                })
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
            self.buf.extend(std::iter::repeat_n(b'a', piece));
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
        self.buf.extend(std::iter::repeat_n(b'x', len - 12));
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

/// The outer packet of a tunnelled frame, above Ethernet: its IP header, the header the
/// builder writes above that, and the outer MACs.
struct Outer {
    ip: IpHeaders,
    segment: Segment,
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
}

/// Appends the tunnel header to `buf` (the outer packet's payload, before the inner packet;
/// GTP-U's length is patched once the inner packet follows) and says what goes under it.
fn open_tunnel(
    buf: &mut Vec<u8>,
    tunnel: Tunnel,
    from_client: bool,
    entropy: u16,
    inner_ethertype: u16,
) -> Outer {
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
    let (src_mac, dst_mac) = if from_client {
        (tep_a, tep_b)
    } else {
        (tep_b, tep_a)
    };
    let inner_ip_protocol = if inner_ethertype == build::ETHERTYPE_IPV6 {
        build::PROTO_IPV6
    } else {
        build::PROTO_IPIP
    };
    // Tunnels over UDP take a per-flow source port for ECMP entropy (RFC 7348 section 5).
    let entropy_port = 49152 | (entropy & 0x3fff);
    let segment = match tunnel {
        Tunnel::Gre => {
            buf.extend_from_slice(&[0, 0]); // no checksum, key or sequence; version 0
            buf.extend_from_slice(&inner_ethertype.to_be_bytes());
            Segment::Raw(build::PROTO_GRE)
        }
        Tunnel::Ip4in4 | Tunnel::Ip6in4 | Tunnel::Ip4in6 | Tunnel::Ip6in6 => {
            Segment::Raw(inner_ip_protocol)
        }
        Tunnel::Vxlan => {
            buf.extend_from_slice(&[0x08, 0, 0, 0, 0, 0x10, 0x01, 0]); // I flag, VNI 4097
            Segment::Udp {
                src_port: entropy_port,
                dst_port: 4789,
            }
        }
        Tunnel::Geneve => {
            // Version 0, no options, protocol Transparent Ethernet Bridging, VNI 4097.
            buf.extend_from_slice(&[0, 0]);
            buf.extend_from_slice(&build::ETHERTYPE_TEB.to_be_bytes());
            buf.extend_from_slice(&[0, 0x10, 0x01, 0]);
            Segment::Udp {
                src_port: entropy_port,
                dst_port: 6081,
            }
        }
        Tunnel::GtpU => {
            // Version 1, protocol type GTP, no optional fields; G-PDU; length; TEID.
            buf.extend_from_slice(&[0x30, 0xff, 0, 0]);
            buf.extend_from_slice(&(0x0001_0000 | u32::from(entropy)).to_be_bytes());
            Segment::Udp {
                src_port: 2152,
                dst_port: 2152,
            }
        }
        Tunnel::VxlanGpe | Tunnel::VxlanGpeEthernet | Tunnel::VxlanGpeNsh => {
            // Flags: version 0, I (VNI valid), P (next protocol present); next protocol
            // 1 IPv4, 2 IPv6, 3 Ethernet, 4 NSH; VNI 4097.
            let next = match tunnel {
                Tunnel::VxlanGpeEthernet => 3,
                Tunnel::VxlanGpeNsh => 4,
                _ if inner_ethertype == build::ETHERTYPE_IPV6 => 2,
                _ => 1,
            };
            buf.extend_from_slice(&[0x0c, 0, 0, next, 0, 0x10, 0x01, 0]);
            if tunnel == Tunnel::VxlanGpeNsh {
                build::nsh_header(buf, 2, inner_ethertype);
            }
            Segment::Udp {
                src_port: entropy_port,
                dst_port: 4790,
            }
        }
        Tunnel::Teredo => {
            let (src_port, dst_port) = if from_client {
                (entropy_port, 3544)
            } else {
                (3544, entropy_port)
            };
            Segment::Udp { src_port, dst_port }
        }
    };
    Outer {
        ip: build::ip_header(outer, entropy, (0, false)),
        segment,
        src_mac,
        dst_mac,
    }
}

fn pad(buf: &mut Vec<u8>, link: Link) {
    build::finish_link(buf, link);
}

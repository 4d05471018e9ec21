//! Flow records (`portnote flows`): one [`FlowRow`] per finished flow, and its NDJSON and CSV
//! writers ([`FlowWriter`]); the Parquet writer is in [`super::parquet`].
//!
//! Takes the [`FlowRecord`]s the flow table hands on, with what the registry says of each
//! flow's service port, and writes them as they come: nothing is held back but the row group a
//! Parquet writer fills. Field names and meanings are the README's (`flows` section); every
//! format has the same fields in the same order.

use crate::aggregate::Section;
use crate::capture::Timestamp;
use crate::decode::TunnelKind;
use crate::flow::community_id::{community_id, proto_of};
use crate::flow::service_port::Evidence;
use crate::flow::{Counter, Encapsulation, EndReason, FlowRecord, ReplyState};
use crate::registry::{Class, Registry, Status};
use crate::transport::Transport;
use serde::Serialize;
use std::io::{self, Write};
use std::net::IpAddr;

/// The fields of a flow record, in output order (the CSV header, the Parquet schema).
pub const FIELDS: [&str; 32] = [
    "first_seen",
    "last_seen",
    "duration",
    "transport",
    "client",
    "client_port",
    "server",
    "server_port",
    "evidence",
    "service",
    "section",
    "status",
    "class",
    "unauthorized",
    "packets_c2s",
    "bytes_c2s",
    "packets_s2c",
    "bytes_s2c",
    "tcp_flags",
    "end",
    "state",
    "tunnel",
    "community_id",
    "flow",
    "file",
    "ip_version",
    "vlan",
    "inner_vlan",
    "outer_src",
    "outer_dst",
    "outer_src_port",
    "outer_dst_port",
];

/// One finished flow as reported: endpoints oriented by the service decision, the registry's
/// view of the service port, both directions' counters.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRow<'a> {
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub transport: Transport,
    pub client: IpAddr,
    pub client_port: u16,
    /// The service port's side.
    pub server: IpAddr,
    pub server_port: u16,
    /// What the choice of the server side rests on.
    pub evidence: Evidence,
    pub service: Option<&'a str>,
    pub status: Status,
    pub class: Class,
    pub unauthorized: Option<&'a str>,
    /// Client to server.
    pub c2s: Counter,
    /// Server to client.
    pub s2c: Counter,
    /// OR of the TCP flags seen both ways; 0 for other transports.
    pub tcp_flags: u8,
    pub end: EndReason,
    /// Answered, unanswered (one way only) or refused (only resets, or ICMP port unreachable).
    pub state: ReplyState,
    pub tunnel: Option<TunnelKind>,
    /// Community ID v1 (seed 0).
    pub community_id: String,
    /// The flow's id within this run, as `annotate` prints it in `flow`.
    pub flow: u64,
    /// The input being read when the flow ended.
    pub file: Option<&'a str>,
    /// The first packet's VLAN ids and tunnel's outer endpoints.
    pub encap: Encapsulation,
}

impl<'a> FlowRow<'a> {
    pub fn new(record: &FlowRecord, registry: &'a Registry, file: Option<&'a str>) -> Self {
        let client = record.client();
        let server = record.server();
        let transport = record.key.transport;
        let info = registry.port(transport, server.port);
        FlowRow {
            first_seen: record.first_seen,
            last_seen: record.last_seen,
            transport,
            client: client.addr,
            client_port: client.port,
            server: server.addr,
            server_port: server.port,
            evidence: record.evidence,
            service: info.service,
            status: info.status,
            class: info.class,
            unauthorized: info.unauthorized,
            c2s: record.to_server,
            s2c: record.to_client,
            tcp_flags: record.tcp_flags,
            end: record.end,
            state: record.state,
            tunnel: record.key.tunnel,
            community_id: community_id(
                0,
                client.addr,
                server.addr,
                proto_of(transport),
                Some((client.port, server.port)),
            ),
            flow: record.id,
            file,
            encap: record.encap,
        }
    }

    pub fn section(&self) -> Section {
        Section::of(self.status, self.class)
    }

    /// `last_seen - first_seen` in seconds.
    pub fn duration(&self) -> f64 {
        (self.last_seen.as_nanos() - self.first_seen.as_nanos()) as f64 / 1e9
    }

    /// 4 or 6.
    pub fn ip_version(&self) -> u8 {
        if self.server.is_ipv4() {
            4
        } else {
            6
        }
    }

    pub fn outer_src(&self) -> Option<IpAddr> {
        self.encap.outer.map(|o| o.src)
    }

    pub fn outer_dst(&self) -> Option<IpAddr> {
        self.encap.outer.map(|o| o.dst)
    }

    /// The tunnel's transport ports (source, destination) when it rides on one.
    pub fn outer_ports(&self) -> Option<(u16, u16)> {
        let ports = self.encap.outer?.ports?;
        Some((ports.src_port, ports.dst_port))
    }

    /// The TCP flags seen, by name (`SYN|ACK|FIN`); `None` for other transports.
    pub fn tcp_flag_names(&self) -> Option<&'static str> {
        (self.transport == Transport::Tcp).then(|| tcp_flag_names(self.tcp_flags))
    }
}

/// TCP flag names in header bit order, lowest first (RFC 9293, RFC 3168).
const TCP_FLAG_NAMES: [&str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];

/// `SYN|ACK|FIN`-style names of the set bits of a TCP flags byte (empty when none is set),
/// from a table of all 256 built on first use: a record costs no allocation for them.
pub fn tcp_flag_names(flags: u8) -> &'static str {
    static TABLE: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| (0..=u8::MAX).map(spell_tcp_flags).collect());
    table.get(usize::from(flags)).map_or("", String::as_str)
}

fn spell_tcp_flags(flags: u8) -> String {
    let mut names = String::new();
    // SYN and ACK first, then the rest in bit order: a usual connection reads SYN|ACK|FIN.
    for bit in [1u8, 4, 0, 2, 3, 5, 6, 7] {
        if flags & (1 << bit) != 0 {
            if !names.is_empty() {
                names.push('|');
            }
            names.push_str(TCP_FLAG_NAMES.get(usize::from(bit)).copied().unwrap_or("?"));
        }
    }
    names
}

pub fn evidence_name(evidence: Evidence) -> &'static str {
    evidence.as_str()
}

/// A flow-record output format.
pub trait FlowWriter {
    fn write(&mut self, row: &FlowRow<'_>) -> io::Result<()>;
    /// Hand what was written on to the reader now (a pipe or terminal waiting on records);
    /// formats that write in blocks (Parquet's row groups) keep them.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// Write what is held back and the format's trailer; the writer is done.
    fn finish(&mut self) -> io::Result<()>;
}

/// The JSON object of one flow: [`FIELDS`] in order.
#[derive(Serialize)]
struct FlowJson<'r> {
    first_seen: Timestamp,
    last_seen: Timestamp,
    duration: f64,
    transport: Transport,
    client: IpAddr,
    client_port: u16,
    server: IpAddr,
    server_port: u16,
    evidence: &'static str,
    service: Option<&'r str>,
    section: Section,
    status: Status,
    class: Class,
    unauthorized: Option<&'r str>,
    packets_c2s: u64,
    bytes_c2s: u64,
    packets_s2c: u64,
    bytes_s2c: u64,
    tcp_flags: Option<&'static str>,
    end: &'static str,
    state: &'static str,
    tunnel: Option<TunnelKind>,
    community_id: &'r str,
    flow: u64,
    file: Option<&'r str>,
    ip_version: u8,
    vlan: Option<u16>,
    inner_vlan: Option<u16>,
    outer_src: Option<IpAddr>,
    outer_dst: Option<IpAddr>,
    outer_src_port: Option<u16>,
    outer_dst_port: Option<u16>,
}

impl<'r> FlowJson<'r> {
    fn of(row: &'r FlowRow<'_>) -> Self {
        FlowJson {
            first_seen: row.first_seen,
            last_seen: row.last_seen,
            duration: row.duration(),
            transport: row.transport,
            client: row.client,
            client_port: row.client_port,
            server: row.server,
            server_port: row.server_port,
            evidence: evidence_name(row.evidence),
            service: row.service,
            section: row.section(),
            status: row.status,
            class: row.class,
            unauthorized: row.unauthorized,
            packets_c2s: row.c2s.packets,
            bytes_c2s: row.c2s.bytes,
            packets_s2c: row.s2c.packets,
            bytes_s2c: row.s2c.bytes,
            tcp_flags: row.tcp_flag_names(),
            end: row.end.as_str(),
            state: row.state.as_str(),
            tunnel: row.tunnel,
            community_id: &row.community_id,
            flow: row.flow,
            file: row.file,
            ip_version: row.ip_version(),
            vlan: row.encap.vlans.vlan,
            inner_vlan: row.encap.vlans.inner_vlan,
            outer_src: row.outer_src(),
            outer_dst: row.outer_dst(),
            outer_src_port: row.outer_ports().map(|p| p.0),
            outer_dst_port: row.outer_ports().map(|p| p.1),
        }
    }
}

/// One JSON object per line.
pub struct NdjsonFlows<W: Write> {
    out: W,
    /// The line being built: serde_json's many small writes land here, and `out` (often a
    /// `dyn Write`) gets one write per record (the small writes through it were a tenth of
    /// `flows`' time).
    line: Vec<u8>,
}

impl<W: Write> NdjsonFlows<W> {
    pub fn new(out: W) -> Self {
        NdjsonFlows {
            out,
            line: Vec::with_capacity(1024),
        }
    }
}

impl<W: Write> FlowWriter for NdjsonFlows<W> {
    fn write(&mut self, row: &FlowRow<'_>) -> io::Result<()> {
        self.line.clear();
        write_json_line(&mut self.line, row)?;
        self.out.write_all(&self.line)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The NDJSON line of `row`: byte for byte what serde_json writes for [`FlowJson`] (a property
/// test holds the two equal), written field by field. Through serde's generic serializer a
/// record cost about 11,000 instructions, most of `flows`' time over `summary`'s; names the
/// code knows are plain ASCII and go in as they are, while text from the registry or the
/// command line (service, note, file) is escaped by serde_json (benches/README.md).
fn write_json_line(line: &mut Vec<u8>, row: &FlowRow<'_>) -> io::Result<()> {
    line.extend_from_slice(b"{\"first_seen\":");
    json(line, &row.first_seen)?;
    line.extend_from_slice(b",\"last_seen\":");
    json(line, &row.last_seen)?;
    line.extend_from_slice(b",\"duration\":");
    json(line, &row.duration())?;
    push_name(line, "transport", row.transport.as_str());
    line.extend_from_slice(b",\"client\":");
    push_addr(line, row.client);
    push_number(line, "client_port", row.client_port);
    line.extend_from_slice(b",\"server\":");
    push_addr(line, row.server);
    push_number(line, "server_port", row.server_port);
    push_name(line, "evidence", evidence_name(row.evidence));
    line.extend_from_slice(b",\"service\":");
    json(line, &row.service)?;
    push_name(line, "section", row.section().as_str());
    push_name(line, "status", row.status.as_str());
    push_name(line, "class", row.class.as_str());
    line.extend_from_slice(b",\"unauthorized\":");
    json(line, &row.unauthorized)?;
    push_number(line, "packets_c2s", row.c2s.packets);
    push_number(line, "bytes_c2s", row.c2s.bytes);
    push_number(line, "packets_s2c", row.s2c.packets);
    push_number(line, "bytes_s2c", row.s2c.bytes);
    match row.tcp_flag_names() {
        Some(names) => push_name(line, "tcp_flags", names),
        None => line.extend_from_slice(b",\"tcp_flags\":null"),
    }
    push_name(line, "end", row.end.as_str());
    push_name(line, "state", row.state.as_str());
    match row.tunnel {
        Some(kind) => push_name(line, "tunnel", kind.as_str()),
        None => line.extend_from_slice(b",\"tunnel\":null"),
    }
    push_name(line, "community_id", &row.community_id);
    push_number(line, "flow", row.flow);
    line.extend_from_slice(b",\"file\":");
    json(line, &row.file)?;
    push_number(line, "ip_version", row.ip_version());
    push_opt_number(line, "vlan", row.encap.vlans.vlan);
    push_opt_number(line, "inner_vlan", row.encap.vlans.inner_vlan);
    push_opt_addr(line, "outer_src", row.outer_src());
    push_opt_addr(line, "outer_dst", row.outer_dst());
    let ports = row.outer_ports();
    push_opt_number(line, "outer_src_port", ports.map(|p| p.0));
    push_opt_number(line, "outer_dst_port", ports.map(|p| p.1));
    line.extend_from_slice(b"}\n");
    Ok(())
}

/// One value as serde_json writes it.
fn json<T: Serialize + ?Sized>(line: &mut Vec<u8>, value: &T) -> io::Result<()> {
    serde_json::to_writer(line, value).map_err(io::Error::from)
}

/// `,"key":"value"` for a value the code itself names: ASCII letters, digits, `|`, `+`, `/`,
/// `=`, `_` and `:`, nothing JSON escapes.
fn push_name(line: &mut Vec<u8>, key: &str, value: &str) {
    debug_assert!(value
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\'));
    line.extend_from_slice(b",\"");
    line.extend_from_slice(key.as_bytes());
    line.extend_from_slice(b"\":\"");
    line.extend_from_slice(value.as_bytes());
    line.push(b'"');
}

/// `,"key":123`
fn push_number(line: &mut Vec<u8>, key: &str, value: impl itoa::Integer) {
    line.extend_from_slice(b",\"");
    line.extend_from_slice(key.as_bytes());
    line.extend_from_slice(b"\":");
    line.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// `,"key":123` or `,"key":null`
fn push_opt_number(line: &mut Vec<u8>, key: &str, value: Option<u16>) {
    match value {
        Some(value) => push_number(line, key, value),
        None => {
            line.extend_from_slice(b",\"");
            line.extend_from_slice(key.as_bytes());
            line.extend_from_slice(b"\":null");
        }
    }
}

/// `,"key":"192.0.2.1"` or `,"key":null`
fn push_opt_addr(line: &mut Vec<u8>, key: &str, addr: Option<IpAddr>) {
    line.extend_from_slice(b",\"");
    line.extend_from_slice(key.as_bytes());
    line.extend_from_slice(b"\":");
    match addr {
        Some(addr) => push_addr(line, addr),
        None => line.extend_from_slice(b"null"),
    }
}

/// `"192.0.2.1"`: as serde writes an address.
fn push_addr(line: &mut Vec<u8>, addr: IpAddr) {
    line.push(b'"');
    write_addr(line, addr);
    line.push(b'"');
}

/// An address's `Display` text: IPv4 octet by octet (without `fmt`'s machinery), IPv6 by its
/// `Display`.
pub(crate) fn write_addr(line: &mut Vec<u8>, addr: IpAddr) {
    match addr {
        IpAddr::V4(v4) => {
            let mut buffer = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    line.push(b'.');
                }
                line.extend_from_slice(buffer.format(octet).as_bytes());
            }
        }
        IpAddr::V6(v6) => {
            // Writing into a Vec cannot fail.
            let _ = write!(line, "{v6}");
        }
    }
}

/// A value's text, or empty when absent.
fn opt_string<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// A header line of [`FIELDS`], then one line per flow; absent values are empty.
pub struct CsvFlows<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> CsvFlows<W> {
    pub fn new(out: W) -> io::Result<Self> {
        let mut out = csv::Writer::from_writer(out);
        out.write_record(FIELDS).map_err(super::csv_to_io)?;
        Ok(CsvFlows { out })
    }
}

impl<W: Write> FlowWriter for CsvFlows<W> {
    fn write(&mut self, row: &FlowRow<'_>) -> io::Result<()> {
        let j = FlowJson::of(row);
        self.out
            .write_record([
                j.first_seen.to_string(),
                j.last_seen.to_string(),
                j.duration.to_string(),
                j.transport.to_string(),
                j.client.to_string(),
                j.client_port.to_string(),
                j.server.to_string(),
                j.server_port.to_string(),
                j.evidence.to_string(),
                j.service.unwrap_or_default().to_string(),
                j.section.as_str().to_string(),
                j.status.as_str().to_string(),
                j.class.as_str().to_string(),
                j.unauthorized.unwrap_or_default().to_string(),
                j.packets_c2s.to_string(),
                j.bytes_c2s.to_string(),
                j.packets_s2c.to_string(),
                j.bytes_s2c.to_string(),
                j.tcp_flags.unwrap_or_default().to_string(),
                j.end.to_string(),
                j.state.to_string(),
                j.tunnel
                    .map(TunnelKind::as_str)
                    .unwrap_or_default()
                    .to_string(),
                j.community_id.to_string(),
                j.flow.to_string(),
                j.file.unwrap_or_default().to_string(),
                j.ip_version.to_string(),
                opt_string(j.vlan),
                opt_string(j.inner_vlan),
                opt_string(j.outer_src),
                opt_string(j.outer_dst),
                opt_string(j.outer_src_port),
                opt_string(j.outer_dst_port),
            ])
            .map_err(super::csv_to_io)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{Endpoint, FlowKey};

    fn record() -> FlowRecord {
        let client = Endpoint {
            addr: "128.232.110.120".parse().unwrap(),
            port: 34855,
        };
        let server = Endpoint {
            addr: "66.35.250.204".parse().unwrap(),
            port: 80,
        };
        let (key, client_is_a) = FlowKey::of_packet(Transport::Tcp, client, server, None);
        FlowRecord {
            id: 7,
            key,
            server_is_a: !client_is_a,
            evidence: Evidence::Handshake,
            first_seen: Timestamp {
                secs: 10,
                nanos: 0,
                digits: 6,
            },
            last_seen: Timestamp {
                secs: 12,
                nanos: 500_000_000,
                digits: 6,
            },
            to_server: Counter {
                packets: 3,
                bytes: 300,
            },
            to_client: Counter {
                packets: 2,
                bytes: 2000,
            },
            tcp_flags: 0x1b, // FIN SYN PSH ACK
            end: EndReason::Fin,
            state: ReplyState::Answered,
            encap: Encapsulation {
                vlans: crate::decode::Vlans {
                    vlan: Some(100),
                    inner_vlan: None,
                },
                outer: None,
            },
        }
    }

    #[test]
    fn a_row_is_oriented_by_the_service_decision_and_named_by_the_registry() {
        let registry = Registry::from_services_text("http 80/tcp\n").unwrap();
        let record = record();
        let row = FlowRow::new(&record, &registry, Some("a.pcap"));
        assert_eq!((row.client_port, row.server_port), (34855, 80));
        assert_eq!(row.server.to_string(), "66.35.250.204");
        assert_eq!(row.service, Some("http"));
        assert_eq!(row.section(), Section::Assigned);
        assert_eq!(row.duration(), 2.5);
        assert_eq!(row.tcp_flag_names(), Some("SYN|ACK|FIN|PSH"));
        // The specification's vector for this very flow.
        assert_eq!(row.community_id, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");

        let mut out = Vec::new();
        {
            let mut writer = NdjsonFlows::new(&mut out);
            writer.write(&row).unwrap();
            writer.finish().unwrap();
        }
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut fields = FIELDS.to_vec();
        fields.sort_unstable();
        let mut keys_sorted = keys.clone();
        keys_sorted.sort_unstable();
        assert_eq!(keys_sorted, fields);
        assert_eq!(json["bytes_s2c"], 2000);
        assert_eq!(json["end"], "fin");
        assert_eq!(json["state"], "answered");
        assert_eq!(json["evidence"], "handshake");
        assert_eq!(json["first_seen"], "1970-01-01T00:00:10.000000Z");
        assert_eq!(json["vlan"], 100);
        assert!(json["inner_vlan"].is_null());
        assert!(json["outer_src"].is_null());

        let mut out = Vec::new();
        {
            let mut writer = CsvFlows::new(&mut out).unwrap();
            writer.write(&row).unwrap();
            writer.finish().unwrap();
        }
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), FIELDS.join(","));
        let values: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(values.len(), FIELDS.len());
        assert_eq!(values[7], "80");
        assert_eq!(values[13], "", "no unauthorized note");
        let at = |name: &str| values[FIELDS.iter().position(|f| *f == name).unwrap()];
        assert_eq!(at("vlan"), "100");
        assert_eq!(at("inner_vlan"), "", "absent is empty");
        assert_eq!(at("outer_src"), "");
        assert_eq!(at("outer_dst_port"), "");
    }

    proptest::proptest! {
        /// The hand-written NDJSON line is serde_json's, byte for byte, for any row: addresses
        /// of both families, any counters and times, notes and file names that need escaping.
        #[test]
        fn ndjson_line_is_what_serde_writes(
            v6 in proptest::bool::ANY,
            a in proptest::num::u128::ANY,
            b in proptest::num::u128::ANY,
            ports in (proptest::num::u16::ANY, proptest::num::u16::ANY),
            counters in proptest::array::uniform4(proptest::num::u64::ANY),
            times in (-99_999_999_999i64..99_999_999_999, 0i64..1_000_000, 0u32..1_000_000_000, 0u8..=9),
            flags in proptest::num::u8::ANY,
            transport in 0usize..4,
            text in proptest::option::of("[a-z\"\\\\\u{0}-\u{1f}é€ ]{0,12}"),
            file in proptest::option::of("[/a-z.\"\\\\\u{7f} ]{0,12}"),
            flow in proptest::num::u64::ANY,
            vlans in (proptest::option::of(0u16..4096), proptest::option::of(0u16..4096)),
            outer in proptest::option::of((proptest::bool::ANY, proptest::num::u128::ANY, proptest::option::of((proptest::num::u16::ANY, proptest::num::u16::ANY)))),
        ) {
            let addr = |x: u128| if v6 {
                IpAddr::from(x.to_be_bytes())
            } else {
                IpAddr::from((x as u32).to_be_bytes())
            };
            let (secs, span, nanos, digits) = times;
            let transport = [Transport::Tcp, Transport::Udp, Transport::Sctp, Transport::Dccp][transport];
            let row = FlowRow {
                first_seen: Timestamp { secs, nanos, digits },
                last_seen: Timestamp { secs: secs + span, nanos, digits },
                transport,
                client: addr(a),
                client_port: ports.0,
                server: addr(b),
                server_port: ports.1,
                evidence: Evidence::Rank,
                service: text.as_deref(),
                status: Status::Assigned,
                class: Class::User,
                unauthorized: text.as_deref(),
                c2s: Counter { packets: counters[0], bytes: counters[1] },
                s2c: Counter { packets: counters[2], bytes: counters[3] },
                tcp_flags: flags,
                end: EndReason::Idle,
                state: ReplyState::Refused,
                tunnel: v6.then_some(TunnelKind::Gre),
                community_id: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=".to_string(),
                flow,
                file: file.as_deref(),
                encap: Encapsulation {
                    vlans: crate::decode::Vlans { vlan: vlans.0, inner_vlan: vlans.1 },
                    outer: outer.map(|(v6, x, ports)| crate::flow::OuterEndpoints {
                        src: if v6 { IpAddr::from(x.to_be_bytes()) } else { IpAddr::from((x as u32).to_be_bytes()) },
                        dst: IpAddr::from(((x >> 32) as u32).to_be_bytes()),
                        ports: ports.map(|(src_port, dst_port)| crate::decode::Ports {
                            transport: Transport::Udp,
                            src_port,
                            dst_port,
                        }),
                    }),
                },
            };
            let mut line = Vec::new();
            write_json_line(&mut line, &row).unwrap();
            let mut expected = serde_json::to_vec(&FlowJson::of(&row)).unwrap();
            expected.push(b'\n');
            proptest::prop_assert_eq!(String::from_utf8(line).unwrap(), String::from_utf8(expected).unwrap());
        }
    }

    #[test]
    fn flag_names_follow_the_header_bits() {
        assert_eq!(tcp_flag_names(0), "");
        assert_eq!(tcp_flag_names(0x02), "SYN");
        assert_eq!(tcp_flag_names(0x12), "SYN|ACK");
        assert_eq!(tcp_flag_names(0xff), "SYN|ACK|FIN|RST|PSH|URG|ECE|CWR");
    }
}

//! Per-packet records of `portnote annotate`: text (one aligned, tcpdump-like line), NDJSON and
//! CSV. The NDJSON keys are documented in the README.

use crate::capture::Timestamp;
use crate::decode::{Layer, NoPortsReason, PacketInfo};
use crate::flow::service_port::ServiceSide;
use crate::flow::Attribution;
use crate::linktype::LinkType;
use crate::transport::Transport;
use serde::Serialize;
use std::fmt;
use std::io::{self, Write};
use std::net::IpAddr;

/// Everything known about one packet record.
#[derive(Debug, Clone, Copy)]
pub struct PacketRecord<'a> {
    /// The file name, when several files are annotated.
    pub file: Option<&'a str>,
    /// 1-based ordinal among the packet records of the file.
    pub frame: u64,
    pub ts: Timestamp,
    pub len: u32,
    pub caplen: u32,
    pub linktype: LinkType,
    pub info: &'a PacketInfo,
    pub attribution: Option<Attribution<'a>>,
}

/// The transport a packet's ports belong to, or the transport layer its decoding stopped in.
pub fn transport_of(info: &PacketInfo) -> Option<Transport> {
    if let Some(p) = info.ports {
        return Some(p.transport);
    }
    match info.reason? {
        NoPortsReason::Truncated(layer) | NoPortsReason::Malformed(layer) => match layer {
            Layer::Tcp => Some(Transport::Tcp),
            Layer::Udp => Some(Transport::Udp),
            Layer::Sctp => Some(Transport::Sctp),
            Layer::Dccp => Some(Transport::Dccp),
            _ => None,
        },
        _ => None,
    }
}

#[derive(Serialize)]
struct OuterJson {
    tunnel: crate::decode::TunnelKind,
    transport: Option<Transport>,
    src_port: Option<u16>,
    dst_port: Option<u16>,
}

#[derive(Serialize)]
struct IcmpQuoteJson {
    ip_version: u8,
    transport: Transport,
    src_port: u16,
    dst_port: u16,
}

#[derive(Serialize)]
struct RecordJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    frame: u64,
    ts: Timestamp,
    len: u32,
    caplen: u32,
    linktype: u32,
    ip_version: Option<u8>,
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    transport: Option<Transport>,
    src_port: Option<u16>,
    dst_port: Option<u16>,
    inherited: bool,
    outer: Option<OuterJson>,
    icmp_quote: Option<IcmpQuoteJson>,
    reason: Option<NoPortsReason>,
    service_port: Option<u16>,
    service: Option<&'a str>,
    status: Option<&'static str>,
    class: Option<&'static str>,
    unauthorized: Option<&'a str>,
    flow: Option<u64>,
    server: Option<&'static str>,
    evidence: Option<&'static str>,
}

fn side_str(side: ServiceSide) -> &'static str {
    match side {
        ServiceSide::Src => "src",
        ServiceSide::Dst => "dst",
    }
}

fn record_json<'a>(r: &PacketRecord<'a>) -> RecordJson<'a> {
    let info = r.info;
    let a = r.attribution;
    RecordJson {
        file: r.file,
        frame: r.frame,
        ts: r.ts,
        len: r.len,
        caplen: r.caplen,
        linktype: r.linktype.0,
        ip_version: info.ip_version,
        src: info.src,
        dst: info.dst,
        transport: transport_of(info),
        src_port: info.ports.map(|p| p.src_port),
        dst_port: info.ports.map(|p| p.dst_port),
        inherited: info.inherited,
        outer: info.outer.map(|o| OuterJson {
            tunnel: o.tunnel,
            transport: o.ports.map(|p| p.transport),
            src_port: o.ports.map(|p| p.src_port),
            dst_port: o.ports.map(|p| p.dst_port),
        }),
        icmp_quote: info.icmp_quote.map(|q| IcmpQuoteJson {
            ip_version: q.ip_version,
            transport: q.ports.transport,
            src_port: q.ports.src_port,
            dst_port: q.ports.dst_port,
        }),
        reason: info.reason,
        service_port: a.map(|a| a.service_port),
        service: a.and_then(|a| a.info.service),
        status: a.map(|a| a.info.status.as_str()),
        class: a.map(|a| a.info.class.as_str()),
        unauthorized: a.and_then(|a| a.info.unauthorized),
        flow: a.map(|a| a.flow_id),
        server: a.map(|a| side_str(a.server)),
        evidence: a.map(|a| a.evidence.as_str()),
    }
}

/// One JSON object and a newline.
pub fn write_ndjson(out: &mut dyn Write, record: &PacketRecord<'_>) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &record_json(record)).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// Writes the records of [`write_ndjson`] by hand, byte for byte the same (a test holds every
/// bundled capture to that), several times faster: serde_json's writer goes through a
/// `&mut dyn Write` per token and through `fmt` for every timestamp and address. Each line is
/// built in one reused buffer and written with one `write_all`; the date and time of day are
/// formatted once per capture second. Nothing is allocated per record.
#[derive(Debug, Default)]
pub struct NdjsonWriter {
    line: Vec<u8>,
    /// `YYYY-MM-DDTHH:MM:SS` of `date_secs`.
    date: Vec<u8>,
    date_secs: Option<i64>,
}

impl NdjsonWriter {
    pub fn new() -> Self {
        NdjsonWriter::default()
    }

    /// One JSON object and a newline, as [`write_ndjson`] writes it.
    pub fn write(&mut self, out: &mut dyn Write, record: &PacketRecord<'_>) -> io::Result<()> {
        self.line.clear();
        let info = record.info;
        let a = record.attribution;
        self.line.push(b'{');
        if let Some(file) = record.file {
            self.line.extend_from_slice(b"\"file\":");
            json_str(&mut self.line, file);
            self.line.push(b',');
        }
        self.line.extend_from_slice(b"\"frame\":");
        json_int(&mut self.line, record.frame);
        self.line.extend_from_slice(b",\"ts\":\"");
        self.timestamp(record.ts)?;
        self.line.extend_from_slice(b"\",\"len\":");
        json_int(&mut self.line, record.len);
        self.line.extend_from_slice(b",\"caplen\":");
        json_int(&mut self.line, record.caplen);
        self.line.extend_from_slice(b",\"linktype\":");
        json_int(&mut self.line, record.linktype.0);
        self.line.extend_from_slice(b",\"ip_version\":");
        json_opt_int(&mut self.line, info.ip_version);
        self.line.extend_from_slice(b",\"src\":");
        json_addr(&mut self.line, info.src)?;
        self.line.extend_from_slice(b",\"dst\":");
        json_addr(&mut self.line, info.dst)?;
        self.line.extend_from_slice(b",\"transport\":");
        json_opt_str(&mut self.line, transport_of(info).map(Transport::as_str));
        self.line.extend_from_slice(b",\"src_port\":");
        json_opt_int(&mut self.line, info.ports.map(|p| p.src_port));
        self.line.extend_from_slice(b",\"dst_port\":");
        json_opt_int(&mut self.line, info.ports.map(|p| p.dst_port));
        self.line.extend_from_slice(if info.inherited {
            b",\"inherited\":true,\"outer\":"
        } else {
            b",\"inherited\":false,\"outer\":"
        });
        match info.outer {
            None => self.line.extend_from_slice(b"null"),
            Some(o) => {
                self.line.extend_from_slice(b"{\"tunnel\":");
                json_str(&mut self.line, o.tunnel.as_str());
                self.line.extend_from_slice(b",\"transport\":");
                json_opt_str(&mut self.line, o.ports.map(|p| p.transport.as_str()));
                self.line.extend_from_slice(b",\"src_port\":");
                json_opt_int(&mut self.line, o.ports.map(|p| p.src_port));
                self.line.extend_from_slice(b",\"dst_port\":");
                json_opt_int(&mut self.line, o.ports.map(|p| p.dst_port));
                self.line.push(b'}');
            }
        }
        self.line.extend_from_slice(b",\"icmp_quote\":");
        match info.icmp_quote {
            None => self.line.extend_from_slice(b"null"),
            Some(q) => {
                self.line.extend_from_slice(b"{\"ip_version\":");
                json_int(&mut self.line, q.ip_version);
                self.line.extend_from_slice(b",\"transport\":");
                json_str(&mut self.line, q.ports.transport.as_str());
                self.line.extend_from_slice(b",\"src_port\":");
                json_int(&mut self.line, q.ports.src_port);
                self.line.extend_from_slice(b",\"dst_port\":");
                json_int(&mut self.line, q.ports.dst_port);
                self.line.push(b'}');
            }
        }
        self.line.extend_from_slice(b",\"reason\":");
        match info.reason {
            None => self.line.extend_from_slice(b"null"),
            Some(reason) => {
                self.line.push(b'"');
                // The reasons' texts are plain ASCII (names and numbers), but escape anyway.
                fmt::Write::write_fmt(&mut JsonEscaped(&mut self.line), format_args!("{reason}"))
                    .map_err(|_| io::Error::other("formatting a no-ports reason"))?;
                self.line.push(b'"');
            }
        }
        self.line.extend_from_slice(b",\"service_port\":");
        json_opt_int(&mut self.line, a.map(|a| a.service_port));
        self.line.extend_from_slice(b",\"service\":");
        json_opt_str(&mut self.line, a.and_then(|a| a.info.service));
        self.line.extend_from_slice(b",\"status\":");
        json_opt_str(&mut self.line, a.map(|a| a.info.status.as_str()));
        self.line.extend_from_slice(b",\"class\":");
        json_opt_str(&mut self.line, a.map(|a| a.info.class.as_str()));
        self.line.extend_from_slice(b",\"unauthorized\":");
        json_opt_str(&mut self.line, a.and_then(|a| a.info.unauthorized));
        self.line.extend_from_slice(b",\"flow\":");
        json_opt_int(&mut self.line, a.map(|a| a.flow_id));
        self.line.extend_from_slice(b",\"server\":");
        json_opt_str(&mut self.line, a.map(|a| side_str(a.server)));
        self.line.extend_from_slice(b",\"evidence\":");
        json_opt_str(&mut self.line, a.map(|a| a.evidence.as_str()));
        self.line.extend_from_slice(b"}\n");
        out.write_all(&self.line)
    }

    /// The timestamp as [`Timestamp`]'s `Display` writes it (RFC 3339, source precision).
    fn timestamp(&mut self, ts: Timestamp) -> io::Result<()> {
        if self.date_secs != Some(ts.secs) {
            self.date.clear();
            let whole_second = Timestamp {
                secs: ts.secs,
                nanos: 0,
                digits: 0,
            };
            write!(self.date, "{whole_second}")?;
            self.date.pop(); // the "Z"
            self.date_secs = Some(ts.secs);
        }
        self.line.extend_from_slice(&self.date);
        let digits = u32::from(ts.digits.min(9));
        if digits > 0 {
            self.line.push(b'.');
            // 10^(9 - digits) is at least 1: digits is at most 9.
            let scaled = ts.nanos / 10u32.pow(9 - digits);
            let mut buffer = itoa::Buffer::new();
            let text = buffer.format(scaled).as_bytes();
            let pad = (digits as usize).saturating_sub(text.len());
            self.line.extend(std::iter::repeat_n(b'0', pad));
            self.line.extend_from_slice(text);
        }
        self.line.push(b'Z');
        Ok(())
    }
}

fn json_int(line: &mut Vec<u8>, n: impl itoa::Integer) {
    line.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn json_opt_int(line: &mut Vec<u8>, n: Option<impl itoa::Integer>) {
    match n {
        Some(n) => json_int(line, n),
        None => line.extend_from_slice(b"null"),
    }
}

fn json_opt_str(line: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => json_str(line, s),
        None => line.extend_from_slice(b"null"),
    }
}

/// A JSON string, escaped as serde_json escapes: `\"`, `\\`, the short escapes of
/// RFC 8259 section 7, `\u00xx` (lowercase hex) for the other control characters.
fn json_str(line: &mut Vec<u8>, s: &str) {
    line.push(b'"');
    json_escape_into(line, s);
    line.push(b'"');
}

fn json_escape_into(line: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let short: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => b"",
            _ => continue,
        };
        line.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        if short.is_empty() {
            let hex = |nibble: u8| HEX.get(usize::from(nibble)).copied().unwrap_or(b'0');
            line.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex(byte >> 4), hex(byte & 0xf)]);
        } else {
            line.extend_from_slice(short);
        }
        start = i + 1;
    }
    line.extend_from_slice(bytes.get(start..).unwrap_or_default());
}

/// An address as a JSON string (dotted quad by hand; IPv6 through std's RFC 5952 `Display`).
fn json_addr(line: &mut Vec<u8>, addr: Option<IpAddr>) -> io::Result<()> {
    match addr {
        None => line.extend_from_slice(b"null"),
        Some(IpAddr::V4(v4)) => {
            line.push(b'"');
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    line.push(b'.');
                }
                json_int(line, octet);
            }
            line.push(b'"');
        }
        Some(IpAddr::V6(v6)) => write!(line, "\"{v6}\"")?,
    }
    Ok(())
}

/// `fmt::Write` into a line, JSON-escaping what is written.
struct JsonEscaped<'a>(&'a mut Vec<u8>);

impl fmt::Write for JsonEscaped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        json_escape_into(self.0, s);
        Ok(())
    }
}

/// CSV header of [`write_csv`], in the NDJSON key order.
pub const CSV_HEADER: &str =
    "file,frame,ts,len,caplen,linktype,ip_version,src,dst,transport,src_port,dst_port,\
inherited,outer,icmp_quote,reason,service_port,service,status,class,unauthorized,flow,server,evidence";

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// One CSV line (fields quoted as needed). `outer` and `icmp_quote` are `kind:transport/sport/dport`.
pub fn write_csv(
    out: &mut csv::Writer<&mut dyn Write>,
    record: &PacketRecord<'_>,
) -> csv::Result<()> {
    let j = record_json(record);
    let outer = j
        .outer
        .as_ref()
        .map(|o| match (o.transport, o.src_port, o.dst_port) {
            (Some(t), Some(s), Some(d)) => format!("{}:{t}/{s}/{d}", o.tunnel.as_str()),
            _ => o.tunnel.as_str().to_string(),
        });
    let quote = j.icmp_quote.as_ref().map(|q| {
        format!(
            "{}:{}/{}/{}",
            q.ip_version, q.transport, q.src_port, q.dst_port
        )
    });
    out.write_record([
        j.file.unwrap_or_default().to_string(),
        j.frame.to_string(),
        j.ts.to_string(),
        j.len.to_string(),
        j.caplen.to_string(),
        j.linktype.to_string(),
        opt(j.ip_version),
        opt(j.src),
        opt(j.dst),
        opt(j.transport),
        opt(j.src_port),
        opt(j.dst_port),
        j.inherited.to_string(),
        outer.unwrap_or_default(),
        quote.unwrap_or_default(),
        opt(j.reason),
        opt(j.service_port),
        j.service.unwrap_or_default().to_string(),
        j.status.unwrap_or_default().to_string(),
        j.class.unwrap_or_default().to_string(),
        j.unauthorized.unwrap_or_default().to_string(),
        opt(j.flow),
        j.server.unwrap_or_default().to_string(),
        j.evidence.unwrap_or_default().to_string(),
    ])
}

fn endpoint(addr: Option<IpAddr>, port: Option<u16>) -> String {
    match (addr, port) {
        (Some(IpAddr::V6(a)), Some(p)) => format!("[{a}]:{p}"),
        (Some(a), Some(p)) => format!("{a}:{p}"),
        (Some(a), None) => a.to_string(),
        (None, _) => "-".to_string(),
    }
}

/// `  12 2024-01-01T00:00:00.000000Z tcp 10.0.0.1:51000 > 10.0.0.2:443 https(443) by rank len 60`
pub fn write_text(out: &mut dyn Write, record: &PacketRecord<'_>) -> io::Result<()> {
    let info = record.info;
    if let Some(file) = record.file {
        write!(out, "{file} ")?;
    }
    let transport = opt(transport_of(info));
    let transport = if transport.is_empty() {
        "-".to_string()
    } else {
        transport
    };
    let src = endpoint(info.src, info.ports.map(|p| p.src_port));
    let dst = endpoint(info.dst, info.ports.map(|p| p.dst_port));
    write!(
        out,
        "{:>6} {} {transport:<4} {src} > {dst}",
        record.frame, record.ts
    )?;
    if let Some(a) = record.attribution {
        let label = match (a.info.service, a.info.status) {
            (Some(name), _) => format!("{name}({})", a.service_port),
            (None, status) => format!("{}({})", status.as_str(), a.service_port),
        };
        write!(out, " {label} by {}", a.evidence.as_str())?;
        if a.info.class == crate::registry::Class::Dynamic {
            write!(out, " dynamic")?;
        }
        if a.info.unauthorized.is_some() {
            write!(out, " unauthorized-use-reported")?;
        }
    }
    if info.inherited {
        write!(out, " inherited")?;
    }
    if let Some(o) = info.outer {
        write!(out, " via {}", o.tunnel.as_str())?;
        if let Some(p) = o.ports {
            write!(out, "({}/{}>{})", p.transport, p.src_port, p.dst_port)?;
        }
    }
    if let Some(q) = info.icmp_quote {
        write!(
            out,
            " quoting {}/{}>{}",
            q.ports.transport, q.ports.src_port, q.ports.dst_port
        )?;
    }
    if let Some(reason) = info.reason {
        write!(out, " [{reason}]")?;
    }
    writeln!(out, " len {}", record.len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Ports;
    use std::net::Ipv4Addr;

    fn info() -> PacketInfo {
        PacketInfo {
            ip_version: Some(4),
            src: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            dst: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))),
            ports: Some(Ports {
                transport: Transport::Udp,
                src_port: 40000,
                dst_port: 53,
            }),
            ..PacketInfo::default()
        }
    }

    fn record(info: &PacketInfo) -> PacketRecord<'_> {
        PacketRecord {
            file: None,
            frame: 7,
            ts: Timestamp {
                secs: 0,
                nanos: 0,
                digits: 6,
            },
            len: 80,
            caplen: 60,
            linktype: LinkType::ETHERNET,
            info,
            attribution: None,
        }
    }

    #[test]
    fn ndjson_has_the_documented_keys() {
        let info = info();
        let mut out = Vec::new();
        write_ndjson(&mut out, &record(&info)).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        for key in CSV_HEADER.split(',').filter(|k| *k != "file") {
            assert!(v.get(key).is_some(), "missing {key} in {v}");
        }
        assert_eq!(v["transport"], "udp");
        assert_eq!(v["dst_port"], 53);
        assert_eq!(v["caplen"], 60);
        assert!(v["reason"].is_null());
    }

    #[test]
    fn hand_written_ndjson_equals_serde_json_on_escapes_ipv6_and_precisions() {
        use crate::decode::{IcmpQuote, Outer, TunnelKind};
        use crate::flow::service_port::ServiceSide;
        use crate::registry::{Class, PortInfo, Status};
        use std::net::Ipv6Addr;
        let tunnelled = PacketInfo {
            ip_version: Some(6),
            src: Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))),
            dst: Some(IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x0a00, 1))),
            inherited: true,
            outer: Some(Outer {
                tunnel: TunnelKind::Vxlan,
                ports: Some(Ports {
                    transport: Transport::Udp,
                    src_port: 1,
                    dst_port: 4789,
                }),
                src: None,
                dst: None,
            }),
            ..info()
        };
        let quoting = PacketInfo {
            ports: None,
            icmp_quote: Some(IcmpQuote {
                ip_version: 4,
                ports: Ports {
                    transport: Transport::Tcp,
                    src_port: 0,
                    dst_port: 65535,
                },
                port_unreachable: true,
            }),
            reason: Some(NoPortsReason::NotIp(0x88cc)),
            ..info()
        };
        // A file name and a service note with every kind of character JSON must escape.
        let odd = "dir/\"quoted\"\\back\u{1}\u{1f}\u{8}\u{c}\n\r\t\u{7f}é.pcap";
        let attribution = Attribution {
            flow_id: u64::MAX,
            server: ServiceSide::Src,
            service_port: 53,
            evidence: crate::flow::service_port::Evidence::FanIn,
            info: PortInfo {
                transport: Transport::Udp,
                port: 53,
                status: Status::Assigned,
                class: Class::System,
                service: Some("domain"),
                unauthorized: Some(odd),
            },
        };
        let mut writer = NdjsonWriter::new();
        for info in [info(), tunnelled, quoting] {
            for (secs, nanos, digits) in [(0, 0, 6), (-1, 5, 9), (1_700_000_000, 123_000_000, 3)] {
                for (file, attribution) in [(None, None), (Some(odd), Some(attribution))] {
                    let r = PacketRecord {
                        file,
                        ts: Timestamp {
                            secs,
                            nanos,
                            digits,
                        },
                        attribution,
                        ..record(&info)
                    };
                    let (mut by_serde, mut by_hand) = (Vec::new(), Vec::new());
                    write_ndjson(&mut by_serde, &r).unwrap();
                    writer.write(&mut by_hand, &r).unwrap();
                    assert_eq!(
                        String::from_utf8(by_hand).unwrap(),
                        String::from_utf8(by_serde).unwrap()
                    );
                }
            }
        }
    }

    #[test]
    fn truncated_transport_is_named_without_ports() {
        let info = PacketInfo {
            ports: None,
            reason: Some(NoPortsReason::Truncated(Layer::Sctp)),
            ..info()
        };
        assert_eq!(transport_of(&info), Some(Transport::Sctp));
        let mut out = Vec::new();
        write_text(&mut out, &record(&info)).unwrap();
        let line = String::from_utf8(out).unwrap();
        assert!(
            line.contains("sctp") && line.contains("[truncated in sctp]"),
            "{line}"
        );
    }
}

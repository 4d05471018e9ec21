//! Per-packet records of `portnote annotate`: text (one aligned, tcpdump-like line), NDJSON and
//! CSV. The NDJSON keys are documented in the README.

use crate::capture::Timestamp;
use crate::decode::{Layer, NoPortsReason, PacketInfo};
use crate::flow::service_port::ServiceSide;
use crate::flow::Attribution;
use crate::linktype::LinkType;
use crate::transport::Transport;
use serde::Serialize;
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
    }
}

/// One JSON object and a newline.
pub fn write_ndjson(out: &mut dyn Write, record: &PacketRecord<'_>) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &record_json(record)).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// CSV header of [`write_csv`], in the NDJSON key order.
pub const CSV_HEADER: &str =
    "file,frame,ts,len,caplen,linktype,ip_version,src,dst,transport,src_port,dst_port,\
inherited,outer,icmp_quote,reason,service_port,service,status,class,unauthorized,flow,server";

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

/// `  12 2024-01-01T00:00:00.000000Z tcp 10.0.0.1:51000 > 10.0.0.2:443 https(443) len 60`
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
        write!(out, " {label}")?;
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

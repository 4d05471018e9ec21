//! services(5) files (`/etc/services`, Wireshark's `services`):
//! `name port/proto [aliases...] [# comment]`, plus Wireshark's extensions of a port range
//! (`x11 6000-6063/tcp/udp`) and several transports on one line (`discard 9/tcp/udp/sctp/dccp`).
//! Takes the text, returns one row per (line, transport) in file order, the comment as the
//! description. No date: the format does not carry one.

use super::{parse_ports, parse_transport, Entry, Parsed, PortRange, RegistryError, RowError};
use crate::transport::Transport;

pub fn parse(text: &str, path: &str) -> Result<Parsed, RegistryError> {
    let mut parsed = Parsed::default();
    for (index, raw_line) in text.lines().enumerate() {
        let line = u64::try_from(index).map_or(u64::MAX, |i| i.saturating_add(1));
        let (data, comment) = split_comment(raw_line);
        let mut fields = data.split_whitespace();
        let Some(name) = fields.next() else {
            continue;
        };
        let row = (|| {
            let port_proto = fields.next().ok_or(RowError::Missing("port/transport"))?;
            let (ports, transports) = parse_port_proto(port_proto)?;
            Ok::<_, RowError>((ports, transports))
        })();
        let (ports, transports) = row.map_err(|kind| RegistryError::Line {
            path: path.to_string(),
            line,
            kind,
        })?;
        let aliases: Vec<String> = fields.map(str::to_string).collect();
        for transport in transports {
            parsed.entries.push(Entry {
                name: name.to_string(),
                aliases: aliases.clone(),
                ports: Some(ports),
                transport: Some(transport),
                description: comment.to_string(),
                ..Entry::default()
            });
        }
    }
    Ok(parsed)
}

/// `(data, comment)` of a line: everything before the first `#`, and the trimmed rest.
pub(crate) fn split_comment(line: &str) -> (&str, &str) {
    match line.split_once('#') {
        Some((data, comment)) => (data, comment.trim()),
        None => (line, ""),
    }
}

/// `443/tcp`, `6000-6063/tcp/udp`, `9/tcp/udp/sctp/dccp`.
pub(crate) fn parse_port_proto(field: &str) -> Result<(PortRange, Vec<Transport>), RowError> {
    let mut parts = field.split('/');
    let ports = parts.next().unwrap_or("");
    let ports = parse_ports(ports)?.ok_or(RowError::Missing("port"))?;
    let mut transports = Vec::new();
    for part in parts {
        let transport = parse_transport(part)?.ok_or(RowError::Missing("transport"))?;
        transports.push(transport);
    }
    if transports.is_empty() {
        return Err(RowError::Missing("transport (port/transport)"));
    }
    Ok((ports, transports))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_of(e: RegistryError) -> (u64, RowError) {
        match e {
            RegistryError::Line { line, kind, .. } => (line, kind),
            other => panic!("expected a line error, got {other:?}"),
        }
    }

    #[test]
    fn reads_etc_services_and_wireshark_forms() {
        let parsed = parse(
            concat!(
                "# /etc/services excerpt\n",
                "\n",
                "http\t\t80/tcp\t\twww www-http\t# WorldWideWeb HTTP\n",
                "discard\t\t9/tcp/udp/sctp/dccp\t# Discard\n",
                "x11\t\t6000-6063/tcp/udp\t# X Window System\n",
                "ident 113/tcp\n",
            ),
            "services",
        )
        .unwrap();
        let e = &parsed.entries;
        assert_eq!(e.len(), 1 + 4 + 2 + 1);
        assert_eq!(e[0].name, "http");
        assert_eq!(e[0].aliases, ["www", "www-http"]);
        assert_eq!(e[0].description, "WorldWideWeb HTTP");
        let discard: Vec<_> = e[1..5].iter().map(|r| r.transport).collect();
        assert_eq!(
            discard,
            [
                Some(Transport::Tcp),
                Some(Transport::Udp),
                Some(Transport::Sctp),
                Some(Transport::Dccp)
            ]
        );
        assert_eq!(
            e[5].ports,
            Some(PortRange {
                first: 6000,
                last: 6063
            })
        );
        assert_eq!(e[6].transport, Some(Transport::Udp));
        assert_eq!(e[7].description, "");
        assert_eq!(parsed.date, None);
    }

    #[test]
    fn malformed_lines_are_named() {
        let cases = [
            ("bad 70000/tcp", RowError::PortOutOfRange("70000".into())),
            ("bad 20-10/tcp", RowError::ReversedRange("20-10".into())),
            ("bad 20/icmp", RowError::UnknownTransport("icmp".into())),
            ("bad x/tcp", RowError::BadNumber("x".into())),
            ("bad", RowError::Missing("port/transport")),
            ("bad 20", RowError::Missing("transport (port/transport)")),
            ("bad 20/tcp/", RowError::Missing("transport")),
        ];
        for (row, want) in cases {
            let text = format!("# header\nok 1/tcp\n{row} # why\n");
            assert_eq!(
                line_of(parse(&text, "s").unwrap_err()),
                (3, want),
                "{row:?}"
            );
        }
    }
}

//! services(5) files (`/etc/services`, Wireshark's `services`):
//! `name port/proto [aliases...] [# comment]`, plus Wireshark's extensions of a port range
//! (`x11 6000-6063/tcp/udp`) and several transports on one line (`discard 9/tcp/udp/sctp/dccp`).
//! Takes the text, returns one row per (line, transport) in file order, the comment as the
//! description. No date: the format does not carry one.

use super::{
    parse_ports, parse_transport, Entry, Parsed, PortRange, RegistryError, RowError, Text,
};
use crate::transport::Transport;
use std::borrow::Cow;

/// Parse a services(5) file read at run time.
pub fn parse(text: &str, path: &str) -> Result<Parsed, RegistryError> {
    parse_lines(text, path, |s| Cow::Owned(s.to_string()))
}

/// Parse text compiled into the binary: names and descriptions borrow it, no allocation.
pub fn parse_static(text: &'static str, path: &str) -> Result<Parsed, RegistryError> {
    parse_lines(text, path, Cow::Borrowed)
}

fn parse_lines<'t>(
    text: &'t str,
    path: &str,
    to_text: impl Fn(&'t str) -> Text,
) -> Result<Parsed, RegistryError> {
    let mut parsed = Parsed::default();
    // Lines run ~40 bytes and most give two rows (tcp and udp): reserve for that.
    parsed.entries.reserve(text.len() / 20);
    for (index, raw_line) in text.lines().enumerate() {
        let line = u64::try_from(index).map_or(u64::MAX, |i| i.saturating_add(1));
        let (data, comment) = split_comment(raw_line);
        let mut fields = data.split_ascii_whitespace();
        let Some(name) = fields.next() else {
            continue;
        };
        let (ports, transports) = fields
            .next()
            .ok_or(RowError::Missing("port/transport"))
            .and_then(parse_port_proto)
            .map_err(|kind| RegistryError::Line {
                path: path.to_string(),
                line,
                kind,
            })?;
        let name = to_text(name);
        let description = to_text(comment);
        let aliases: Vec<Text> = fields.map(&to_text).collect();
        for transport in transports.iter() {
            parsed.entries.push(Entry {
                name: name.clone(),
                aliases: aliases.clone(),
                ports: Some(ports),
                transport: Some(transport),
                description: description.clone(),
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

/// The transports of one `port/proto[/proto...]` field, in the order written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Transports {
    list: [Option<Transport>; 4],
}

impl Transports {
    fn push(&mut self, transport: Transport) -> Result<(), RowError> {
        if self.list.contains(&Some(transport)) {
            return Err(RowError::Malformed(format!(
                "transport {transport} given twice"
            )));
        }
        let free = self
            .list
            .iter_mut()
            .find(|t| t.is_none())
            .ok_or_else(|| RowError::Malformed("more than four transports".to_string()))?;
        *free = Some(transport);
        Ok(())
    }

    pub(crate) fn iter(self) -> impl Iterator<Item = Transport> {
        self.list.into_iter().flatten()
    }
}

/// `443/tcp`, `6000-6063/tcp/udp`, `9/tcp/udp/sctp/dccp`.
pub(crate) fn parse_port_proto(field: &str) -> Result<(PortRange, Transports), RowError> {
    // A char-set pattern: for fields this short it beats the memchr-based char searcher.
    let mut parts = field.split(['/']);
    let ports = parts.next().unwrap_or("");
    let ports = parse_ports(ports)?.ok_or(RowError::Missing("port"))?;
    let mut transports = Transports::default();
    for part in parts {
        let transport = parse_transport(part)?.ok_or(RowError::Missing("transport"))?;
        transports.push(transport)?;
    }
    if transports.iter().next().is_none() {
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
            (
                "bad 20/tcp/tcp",
                RowError::Malformed("transport tcp given twice".into()),
            ),
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

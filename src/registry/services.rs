//! services(5) files (`/etc/services`, Wireshark's `services`):
//! `name port/proto [aliases...] [# comment]`, plus Wireshark's extensions of a port range
//! (`x11 6000-6063/tcp/udp`) and several transports on one line (`discard 9/tcp/udp/sctp/dccp`).
//! Takes the text, returns one row per (line, transport) in file order, the comment as the
//! description. No date: the format does not carry one.
//!
//! services(5) names any protocol of `/etc/protocols`, and real files use that: Debian's
//! `/etc/services` carries AppleTalk's `ddp`. A transport portnote does not read (a well-formed
//! protocol name other than tcp, udp, sctp and dccp) is skipped and counted in
//! [`Parsed::skipped`], never an error; a malformed one (`20/`, `20/t*p`) still is.

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
        parsed.count_skipped(&transports);
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
pub(crate) struct Transports<'t> {
    list: [Option<Transport>; 4],
    /// Well-formed protocol names portnote does not read (`ddp`): the first few, in order.
    others: [Option<&'t str>; 4],
}

impl<'t> Transports<'t> {
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

    /// The protocols of the field that portnote skips.
    pub(crate) fn others(self) -> impl Iterator<Item = &'t str> {
        self.others.into_iter().flatten()
    }

    fn push_other(&mut self, name: &'t str) -> Result<(), RowError> {
        if self.others.contains(&Some(name)) {
            return Err(RowError::Malformed(format!("transport {name} given twice")));
        }
        let free = self
            .others
            .iter_mut()
            .find(|t| t.is_none())
            .ok_or_else(|| RowError::Malformed("more than four other transports".to_string()))?;
        *free = Some(name);
        Ok(())
    }
}

/// A protocol name as /etc/protocols writes them: a letter, then letters, digits, `-`, `_`, `.`.
fn is_protocol_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `443/tcp`, `6000-6063/tcp/udp`, `9/tcp/udp/sctp/dccp`; `1/ddp` gives no transport portnote
/// reads and one other (the caller skips the row and counts it).
pub(crate) fn parse_port_proto(field: &str) -> Result<(PortRange, Transports<'_>), RowError> {
    // A char-set pattern: for fields this short it beats the memchr-based char searcher.
    let mut parts = field.split(['/']);
    let ports = parts.next().unwrap_or("");
    let ports = parse_ports(ports)?.ok_or(RowError::Missing("port"))?;
    let mut transports = Transports::default();
    for part in parts {
        match parse_transport(part) {
            Ok(Some(transport)) => transports.push(transport)?,
            Ok(None) => return Err(RowError::Missing("transport")),
            Err(RowError::UnknownTransport(_)) if is_protocol_name(part) => {
                transports.push_other(part)?;
            }
            Err(e) => return Err(e),
        }
    }
    if transports.iter().next().is_none() && transports.others().next().is_none() {
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

    /// Issue 13: Debian's /etc/services has AppleTalk rows (`rtmp 1/ddp`); they are skipped and
    /// counted, and a line mixing transports keeps the ones portnote reads.
    #[test]
    fn non_ip_transports_are_skipped_and_counted() {
        let parsed = parse(
            concat!(
                "rtmp\t\t1/ddp\t\t\t# Routing Table Maintenance Protocol\n",
                "nbp\t\t2/ddp\n",
                "odd\t\t9/tcp/xtp\n",
                "http 80/tcp\n",
            ),
            "services",
        )
        .unwrap();
        let names: Vec<_> = parsed.entries.iter().map(|e| &*e.name).collect();
        assert_eq!(names, ["odd", "http"]);
        assert_eq!(
            parsed.skipped.iter().collect::<Vec<_>>(),
            [(&"ddp".to_string(), &2), (&"xtp".to_string(), &1)]
        );
    }

    #[test]
    fn malformed_lines_are_named() {
        let cases = [
            ("bad 70000/tcp", RowError::PortOutOfRange("70000".into())),
            ("bad 20-10/tcp", RowError::ReversedRange("20-10".into())),
            ("bad 20/tc*p", RowError::UnknownTransport("tc*p".into())),
            ("bad 20/9p", RowError::UnknownTransport("9p".into())),
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

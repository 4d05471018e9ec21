//! nmap-services: `name port/proto frequency [# comment]`, frequency a fraction 0..=1 of
//! scanned hosts with the port open. Takes the text, returns one row per line in file order.
//! nmap writes `unknown` for ports it sees open without a registered name: such rows carry no
//! name here (they neither assign nor reserve a slot).

use super::services::{parse_port_proto, split_comment};
use super::{Entry, Parsed, RegistryError, RowError};

pub fn parse(text: &str, path: &str) -> Result<Parsed, RegistryError> {
    let mut parsed = Parsed::default();
    for (index, raw_line) in text.lines().enumerate() {
        let line = u64::try_from(index).map_or(u64::MAX, |i| i.saturating_add(1));
        let (data, comment) = split_comment(raw_line);
        let mut fields = data.split_ascii_whitespace();
        let Some(name) = fields.next() else {
            continue;
        };
        let row = (|| {
            let port_proto = fields.next().ok_or(RowError::Missing("port/transport"))?;
            let (ports, transports) = parse_port_proto(port_proto)?;
            let frequency = fields.next().ok_or(RowError::Missing("frequency"))?;
            match frequency.parse::<f64>() {
                Ok(f) if (0.0..=1.0).contains(&f) => {}
                _ => return Err(RowError::BadNumber(frequency.to_string())),
            }
            if let Some(extra) = fields.next() {
                return Err(RowError::Malformed(format!(
                    "unexpected field {extra:?} after the frequency"
                )));
            }
            Ok((ports, transports))
        })();
        let (ports, transports) = row.map_err(|kind| RegistryError::Line {
            path: path.to_string(),
            line,
            kind,
        })?;
        parsed.count_skipped(&transports);
        let name = if name == "unknown" { "" } else { name };
        for transport in transports.iter() {
            parsed.entries.push(Entry {
                name: name.to_string().into(),
                ports: Some(ports),
                transport: Some(transport),
                description: comment.to_string().into(),
                ..Entry::default()
            });
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::PortRange;
    use crate::transport::Transport;

    #[test]
    fn reads_rows_and_drops_the_unknown_placeholder() {
        let parsed = parse(
            concat!(
                "# Nmap services file\n",
                "tcpmux\t1/tcp\t0.001995\t# TCP Port Service Multiplexer [rfc-1078]\n",
                "unknown\t4/tcp\t0.000477\n",
                "sctp-disc\t9/sctp\t0.000000\n",
            ),
            "nmap-services",
        )
        .unwrap();
        let e = &parsed.entries;
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].name, "tcpmux");
        assert_eq!(e[0].description, "TCP Port Service Multiplexer [rfc-1078]");
        assert_eq!(e[1].name, "");
        assert_eq!(e[1].ports, Some(PortRange { first: 4, last: 4 }));
        assert_eq!(e[2].transport, Some(Transport::Sctp));
    }

    #[test]
    fn malformed_lines_are_named() {
        let cases = [
            ("a 80/tcp", RowError::Missing("frequency")),
            ("a 80/tcp often", RowError::BadNumber("often".into())),
            ("a 80/tcp 1.5", RowError::BadNumber("1.5".into())),
            ("a 80/x%p 0.1", RowError::UnknownTransport("x%p".into())),
            ("a 65536/tcp 0.1", RowError::PortOutOfRange("65536".into())),
        ];
        for (row, want) in cases {
            let text = format!("ok 1/tcp 0.5\n{row}\n");
            match parse(&text, "n") {
                Err(RegistryError::Line { line, kind, .. }) => assert_eq!((line, kind), (2, want)),
                other => panic!("{row}: {other:?}"),
            }
        }
    }
}

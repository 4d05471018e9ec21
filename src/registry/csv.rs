//! IANA's `service-names-port-numbers.csv`: 12 columns with a header row; quoted fields may
//! span lines (assignment notes, descriptions). Takes the text, returns the rows in file order
//! and the newest registration/modification date as the registry's date.

use super::{parse_ports, parse_transport, Details, Entry, Parsed, RegistryError, RowError};

/// IANA's column headers, in the order the `Entry` fields are filled from.
const COLUMNS: [&str; 12] = [
    "Service Name",
    "Port Number",
    "Transport Protocol",
    "Description",
    "Assignee",
    "Contact",
    "Registration Date",
    "Modification Date",
    "Reference",
    "Service Code",
    "Unauthorized Use Reported",
    "Assignment Notes",
];

pub fn parse(text: &str, path: &str) -> Result<Parsed, RegistryError> {
    let line_error = |line: u64, kind: RowError| RegistryError::Line {
        path: path.to_string(),
        line,
        kind,
    };
    // The csv crate reads an unclosed quote to the end of the file without complaint; find it
    // first so the message names the line where the quote was opened.
    if let Some(line) = unclosed_quote_line(text) {
        return Err(line_error(line, RowError::UnbalancedQuote));
    }
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| csv_error(path, &e))?.clone();
    let header: Vec<&str> = header.iter().map(str::trim).collect();
    if header != COLUMNS {
        return Err(RegistryError::NotARegistry {
            path: path.to_string(),
            reason: format!("line 1: expected IANA's CSV header `{}`", COLUMNS.join(",")),
        });
    }
    let mut parsed = Parsed::default();
    let mut newest: Option<String> = None;
    // One record buffer reused for every row.
    let mut record = ::csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .map_err(|e| csv_error(path, &e))?
    {
        let line = record.position().map_or(0, ::csv::Position::line);
        let cell = |i: usize| record.get(i).unwrap_or("").trim().to_string();
        let details = Details {
            assignee: cell(4),
            contact: cell(5),
            registration_date: cell(6),
            modification_date: cell(7),
            reference: cell(8),
            service_code: cell(9),
            assignment_notes: cell(11),
        };
        for date in [&details.registration_date, &details.modification_date] {
            if looks_like_date(date) && newest.as_deref().is_none_or(|n| n < date.as_str()) {
                newest = Some(date.clone());
            }
        }
        let entry = Entry {
            name: cell(0).into(),
            aliases: Vec::new(),
            ports: parse_ports(&cell(1)).map_err(|k| line_error(line, k))?,
            transport: parse_transport(&cell(2)).map_err(|k| line_error(line, k))?,
            description: cell(3).into(),
            unauthorized: cell(10).into(),
            details: details.boxed_unless_empty(),
            overlay: false,
        };
        parsed.entries.push(entry);
    }
    parsed.date = newest;
    Ok(parsed)
}

fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

fn csv_error(path: &str, e: &::csv::Error) -> RegistryError {
    let line = e.position().map_or(0, ::csv::Position::line);
    let kind = match e.kind() {
        ::csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => RowError::FieldCount {
            expected: usize::try_from(*expected_len).unwrap_or(usize::MAX),
            found: usize::try_from(*len).unwrap_or(usize::MAX),
        },
        _ => RowError::Malformed(e.to_string()),
    };
    RegistryError::Line {
        path: path.to_string(),
        line,
        kind,
    }
}

/// RFC 4180 quoting: a quote opens a quoted field only at the start of a field; inside one,
/// `""` is an escaped quote and a lone `"` closes it. Returns the line of a quote still open
/// at the end of the text.
fn unclosed_quote_line(text: &str) -> Option<u64> {
    let mut line: u64 = 1;
    let mut open_line = None;
    let mut at_field_start = true;
    let mut bytes = text.bytes().peekable();
    while let Some(b) = bytes.next() {
        if open_line.is_some() {
            match b {
                b'"' if bytes.peek() == Some(&b'"') => {
                    bytes.next();
                }
                b'"' => open_line = None,
                b'\n' => line = line.saturating_add(1),
                _ => {}
            }
            continue;
        }
        match b {
            b'"' if at_field_start => open_line = Some(line),
            b',' => {
                at_field_start = true;
                continue;
            }
            b'\n' => {
                line = line.saturating_add(1);
                at_field_start = true;
                continue;
            }
            _ => {}
        }
        at_field_start = false;
    }
    open_line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::PortRange;
    use crate::transport::Transport;

    const HEADER: &str = "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\n";

    fn parse_rows(rows: &str) -> Result<Parsed, RegistryError> {
        parse(&format!("{HEADER}{rows}"), "t.csv")
    }

    fn line_of(e: RegistryError) -> (u64, RowError) {
        match e {
            RegistryError::Line { line, kind, .. } => (line, kind),
            other => panic!("expected a line error, got {other:?}"),
        }
    }

    #[test]
    fn reads_named_reserved_range_and_name_only_rows() {
        let parsed = parse_rows(concat!(
            // name, port, transport, description, assignee, contact, reg, mod, ref, code, unauth, notes
            ",0,tcp,Reserved,,,,2024-12-20,[RFC6335],,,\n",
            "x11,6000-6063,tcp,X Window System,[Stuart_Cheshire],[Stuart_Cheshire],,,,,,\n",
            "finger,79,udp,Finger,[David_Zimmerman],[David_Zimmerman],,,,,Unauthorized use by some mail users,\n",
            "_srv-only,,,A name for DNS SRV,[Someone],[Someone],2025-03-28,,,,,\n",
        ))
        .unwrap();
        let e = &parsed.entries;
        assert_eq!(e.len(), 4);
        assert!(e[0].is_reserved());
        assert_eq!(e[0].ports, Some(PortRange { first: 0, last: 0 }));
        assert_eq!(e[1].name, "x11");
        assert_eq!(
            e[1].ports,
            Some(PortRange {
                first: 6000,
                last: 6063
            })
        );
        assert_eq!(e[1].transport, Some(Transport::Tcp));
        assert_eq!(e[2].unauthorized, "Unauthorized use by some mail users");
        assert_eq!(e[3].ports, None);
        assert_eq!(e[3].transport, None);
        assert_eq!(parsed.date.as_deref(), Some("2025-03-28"));
    }

    #[test]
    fn quoted_field_spanning_lines_keeps_later_line_numbers_right() {
        let parsed = parse_rows(concat!(
            // line 2: the notes field runs over lines 2-4
            "ftp,21,tcp,File Transfer,,,,,,,,\"Defined TXT keys:\n u=<username>\n p=<password>\"\n",
            // line 5
            "ssh,22,tcp,\"The Secure Shell, \"\"SSH\"\"\",,,,,,,,\n",
            // line 6: bad transport
            "bad,23,icmp,x,,,,,,,,\n",
        ));
        let (line, kind) = line_of(parsed.unwrap_err());
        assert_eq!(line, 6);
        assert_eq!(kind, RowError::UnknownTransport("icmp".to_string()));

        let ok = parse_rows(concat!(
            "ftp,21,tcp,File Transfer,,,,,,,,\"Defined TXT keys:\n u=<username>\n p=<password>\"\n",
            "ssh,22,tcp,\"The Secure Shell, \"\"SSH\"\"\",,,,,,,,\n",
        ))
        .unwrap();
        assert_eq!(
            ok.entries[0].details.as_ref().unwrap().assignment_notes,
            "Defined TXT keys:\n u=<username>\n p=<password>"
        );
        assert_eq!(ok.entries[1].description, "The Secure Shell, \"SSH\"");
    }

    #[test]
    fn malformed_rows_name_their_line() {
        let cases = [
            (
                "a,70000,tcp,x,,,,,,,,\n",
                RowError::PortOutOfRange("70000".into()),
            ),
            (
                "a,20-10,tcp,x,,,,,,,,\n",
                RowError::ReversedRange("20-10".into()),
            ),
            ("a,8o,tcp,x,,,,,,,,\n", RowError::BadNumber("8o".into())),
            (
                "a,80,tcp,x\n",
                RowError::FieldCount {
                    expected: 12,
                    found: 4,
                },
            ),
        ];
        for (row, want) in cases {
            // line 2 is a good row; the bad one is line 3
            let (line, kind) =
                line_of(parse_rows(&format!("ok,1,udp,fine,,,,,,,,\n{row}")).unwrap_err());
            assert_eq!((line, kind), (3, want), "row {row:?}");
        }
    }

    #[test]
    fn unbalanced_quote_names_the_line_it_opened_on() {
        let (line, kind) = line_of(
            parse_rows(
                "ok,1,tcp,fine,,,,,,,,\nbad,2,tcp,\"never closed,,,,,,,,\nok,3,tcp,x,,,,,,,,\n",
            )
            .unwrap_err(),
        );
        assert_eq!((line, kind), (3, RowError::UnbalancedQuote));
    }

    #[test]
    fn wrong_header_is_not_a_registry() {
        assert!(matches!(
            parse("name,port\nhttp,80\n", "t.csv"),
            Err(RegistryError::NotARegistry { .. })
        ));
    }
}

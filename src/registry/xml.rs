//! IANA's `service-names-port-numbers.xml`: a `<registry>` whose `<record>` children carry
//! `<name>`, `<protocol>`, `<number>` (a port or a range), `<description>`, `<unauthorized>`,
//! `<note>`, `<sc>`, `<assignee>`/`<contact>` (person references) and `<xref>` references.
//! Takes the text, returns the records in file order and the registry's `<updated>` date.
//! Errors name the record by its 1-based index among `<record>` elements.

use super::{parse_ports, parse_transport, Details, Entry, Parsed, RegistryError, RowError};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// Where text inside a record goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Protocol,
    Number,
    Description,
    Assignee,
    Contact,
    Unauthorized,
    Note,
    ServiceCode,
    /// An element we keep no text of (e.g. a nested `<xref>` with content).
    Ignored,
    /// `<updated>` directly under `<registry>`.
    RegistryUpdated,
}

impl Field {
    fn of_record_child(name: &str) -> Field {
        match name {
            "name" => Field::Name,
            "protocol" => Field::Protocol,
            "number" => Field::Number,
            "description" => Field::Description,
            "assignee" => Field::Assignee,
            "contact" => Field::Contact,
            "unauthorized" => Field::Unauthorized,
            "note" => Field::Note,
            "sc" => Field::ServiceCode,
            _ => Field::Ignored,
        }
    }
}

/// The text of one record's fields, as read.
#[derive(Debug, Default)]
struct RawRecord {
    name: String,
    protocol: String,
    number: String,
    description: String,
    unauthorized: String,
    details: Details,
}

pub fn parse(text: &str, path: &str) -> Result<Parsed, RegistryError> {
    let mut reader = Reader::from_str(text);
    // Syntax errors carry their own position; other problems are found at the current one.
    let syntax_error = |reader: &Reader<&[u8]>, e: quick_xml::Error| RegistryError::Xml {
        path: path.to_string(),
        offset: reader.error_position(),
        message: e.to_string(),
    };
    let xml_error = |reader: &Reader<&[u8]>, message: String| RegistryError::Xml {
        path: path.to_string(),
        offset: reader.buffer_position(),
        message,
    };
    let mut parsed = Parsed::default();
    let mut saw_registry = false;
    let mut depth: usize = 0;
    let mut record_index: u64 = 0;
    let mut record: Option<RawRecord> = None;
    // The field being read and the depth of its element.
    let mut field: Option<(Field, usize)> = None;
    let mut buf = String::new();

    loop {
        let event = reader.read_event().map_err(|e| syntax_error(&reader, e))?;
        match event {
            Event::Start(e) => {
                depth = depth.saturating_add(1);
                let name = local_name(&e);
                match (depth, name.as_str()) {
                    (1, "registry") => saw_registry = true,
                    (1, other) => {
                        return Err(RegistryError::NotARegistry {
                            path: path.to_string(),
                            reason: format!("root element is <{other}>, not <registry>"),
                        })
                    }
                    (2, "record") => {
                        record_index = record_index.saturating_add(1);
                        let mut raw = RawRecord::default();
                        raw.details.registration_date =
                            attribute(&e, "date").map_err(|m| xml_error(&reader, m))?;
                        raw.details.modification_date =
                            attribute(&e, "updated").map_err(|m| xml_error(&reader, m))?;
                        record = Some(raw);
                    }
                    (2, "updated") => {
                        field = Some((Field::RegistryUpdated, depth));
                        buf.clear();
                    }
                    (3, child) if record.is_some() => {
                        field = Some((Field::of_record_child(child), depth));
                        buf.clear();
                    }
                    _ => {}
                }
            }
            Event::Empty(e) => {
                if let Some(raw) = record.as_mut() {
                    if local_name(&e) == "xref" {
                        let data = attribute(&e, "data").map_err(|m| xml_error(&reader, m))?;
                        let reference = format!("[{data}]");
                        let target = match field {
                            Some((Field::Assignee, _)) => &mut raw.details.assignee,
                            Some((Field::Contact, _)) => &mut raw.details.contact,
                            None => &mut raw.details.reference,
                            Some(_) => &mut buf,
                        };
                        target.push_str(&reference);
                    }
                }
            }
            Event::Text(t) => {
                if field.is_some() {
                    buf.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if field.is_some() {
                    buf.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if field.is_some() {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => quick_xml::escape::resolve_predefined_entity(&r)
                            .map(str::to_string)
                            .ok_or_else(|| {
                                xml_error(&reader, format!("unknown entity &{};", &*r))
                            })?,
                        Err(e) => return Err(syntax_error(&reader, e)),
                    };
                    buf.push_str(&resolved);
                }
            }
            Event::End(_) => {
                if let Some((f, at)) = field {
                    if at == depth {
                        let value = buf.trim().to_string();
                        buf.clear();
                        field = None;
                        match (f, record.as_mut()) {
                            (Field::RegistryUpdated, _) => parsed.date = Some(value),
                            (f, Some(raw)) => store(raw, f, value),
                            (_, None) => {}
                        }
                    }
                }
                if depth == 2 {
                    if let Some(raw) = record.take() {
                        let entry = finish(raw).map_err(|kind| RegistryError::Record {
                            path: path.to_string(),
                            record: record_index,
                            kind,
                        })?;
                        parsed.entries.push(entry);
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if depth != 0 {
        return Err(xml_error(
            &reader,
            "unexpected end of file inside an element".to_string(),
        ));
    }
    if !saw_registry {
        return Err(RegistryError::NotARegistry {
            path: path.to_string(),
            reason: "no <registry> element".to_string(),
        });
    }
    Ok(parsed)
}

fn local_name(e: &BytesStart<'_>) -> String {
    let name = e.local_name();
    let name: &str = name.as_ref();
    name.to_string()
}

/// An attribute's unescaped value, or empty when absent.
fn attribute(e: &BytesStart<'_>, name: &str) -> Result<String, String> {
    for attr in e.attributes() {
        let attr = attr.map_err(|err| err.to_string())?;
        let local = attr.key.local_name();
        let key: &str = local.as_ref();
        if key == name {
            return attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .map_err(|err| err.to_string());
        }
    }
    Ok(String::new())
}

fn store(raw: &mut RawRecord, field: Field, value: String) {
    let target = match field {
        Field::Name => &mut raw.name,
        Field::Protocol => &mut raw.protocol,
        Field::Number => &mut raw.number,
        Field::Description => &mut raw.description,
        Field::Assignee => &mut raw.details.assignee,
        Field::Contact => &mut raw.details.contact,
        Field::Unauthorized => &mut raw.unauthorized,
        Field::Note => &mut raw.details.assignment_notes,
        Field::ServiceCode => &mut raw.details.service_code,
        Field::Ignored | Field::RegistryUpdated => return,
    };
    target.push_str(&value);
}

fn finish(raw: RawRecord) -> Result<Entry, RowError> {
    Ok(Entry {
        name: raw.name.into(),
        aliases: Vec::new(),
        ports: parse_ports(&raw.number)?,
        transport: parse_transport(&raw.protocol)?,
        description: raw.description.into(),
        unauthorized: raw.unauthorized.into(),
        details: raw.details.boxed_unless_empty(),
        overlay: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::PortRange;
    use crate::transport::Transport;

    fn doc(records: &str) -> String {
        format!(
            "<?xml version='1.0' encoding='UTF-8'?>\n\
             <registry xmlns=\"http://www.iana.org/assignments\" id=\"service-names-port-numbers\">\n\
             <title>Service Name and Transport Protocol Port Number Registry</title>\n\
             <updated>2025-12-15</updated>\n\
             {records}\n\
             <people><person id=\"Jon_Postel\"><name>Jon Postel</name></person></people>\n\
             </registry>\n"
        )
    }

    #[test]
    fn reads_records_fields_and_date() {
        let parsed = parse(
            &doc(concat!(
                // 1: a Reserved row with a registration reference
                "<record updated=\"2024-12-20\"><protocol>tcp</protocol><description>Reserved</description>",
                "<number>0</number><xref type=\"rfc\" data=\"rfc6335\"/></record>\n",
                // 2: named range with an assignee given by reference
                "<record date=\"2001-01-01\"><name>x11</name><protocol>tcp</protocol>",
                "<assignee><xref type=\"person\" data=\"Stuart_Cheshire\"/></assignee>",
                "<description>X Window System</description><number>6000-6063</number></record>\n",
                // 3: escaped text and an unauthorized note
                "<record><name>http</name><protocol>tcp</protocol><description>World Wide Web HTTP</description>",
                "<number>80</number><note>u=&lt;username&gt; &#65;</note>",
                "<unauthorized>Seen &amp; noted</unauthorized></record>\n",
                // 4: name only (DNS SRV)
                "<record><name>_srv</name><description>SRV only</description></record>\n",
            )),
            "t.xml",
        )
        .unwrap();
        let e = &parsed.entries;
        assert_eq!(parsed.date.as_deref(), Some("2025-12-15"));
        assert_eq!(e.len(), 4);
        assert!(e[0].is_reserved());
        assert_eq!(e[0].details.as_ref().unwrap().reference, "[rfc6335]");
        assert_eq!(
            e[0].details.as_ref().unwrap().modification_date,
            "2024-12-20"
        );
        assert_eq!(e[1].name, "x11");
        assert_eq!(
            e[1].ports,
            Some(PortRange {
                first: 6000,
                last: 6063
            })
        );
        assert_eq!(e[1].details.as_ref().unwrap().assignee, "[Stuart_Cheshire]");
        assert_eq!(
            e[1].details.as_ref().unwrap().registration_date,
            "2001-01-01"
        );
        assert_eq!(
            e[2].details.as_ref().unwrap().assignment_notes,
            "u=<username> A"
        );
        assert_eq!(e[2].unauthorized, "Seen & noted");
        assert_eq!(e[2].transport, Some(Transport::Tcp));
        assert_eq!((e[3].ports, e[3].transport), (None, None));
    }

    #[test]
    fn malformed_records_are_named_by_index() {
        let cases = [
            (
                "<number>65536</number><protocol>tcp</protocol>",
                RowError::PortOutOfRange("65536".into()),
            ),
            (
                "<number>9-1</number><protocol>tcp</protocol>",
                RowError::ReversedRange("9-1".into()),
            ),
            (
                "<number>x</number><protocol>tcp</protocol>",
                RowError::BadNumber("x".into()),
            ),
            (
                "<number>9</number><protocol>ip</protocol>",
                RowError::UnknownTransport("ip".into()),
            ),
        ];
        for (fields, want) in cases {
            let text = doc(&format!(
                "<record><name>ok</name><number>1</number><protocol>tcp</protocol></record>\
                 <record><name>bad</name>{fields}</record>"
            ));
            match parse(&text, "t.xml") {
                Err(RegistryError::Record { record, kind, .. }) => {
                    assert_eq!((record, kind), (2, want))
                }
                other => panic!("{fields}: {other:?}"),
            }
        }
    }

    #[test]
    fn broken_xml_and_foreign_roots_are_errors() {
        // The mismatched </record> closes <name>, which opened at byte 18.
        match parse("<registry><record><name>a</record></registry>", "t.xml") {
            Err(RegistryError::Xml { offset, .. }) => {
                assert!((18..=35).contains(&offset), "{offset}")
            }
            other => panic!("{other:?}"),
        }
        match parse(
            "<registry><record date=\"&bogus;\"><name>a</name></record></registry>",
            "t.xml",
        ) {
            Err(RegistryError::Xml {
                offset, message, ..
            }) => {
                assert!(offset > 0, "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse("<registry><record><name>a</name>", "t.xml"),
            Err(RegistryError::Xml { .. })
        ));
        assert!(matches!(
            parse("<html><body/></html>", "t.xml"),
            Err(RegistryError::NotARegistry { .. })
        ));
    }
}

//! Flow records as Apache Parquet (`flows --format parquet`), through the `parquet` crate's
//! low-level column writers (no arrow).
//!
//! Takes [`FlowRow`]s, buffers them column by column, and writes a row group every
//! [`ROWS_PER_GROUP`] rows, so memory stays flat on any input: at most one row group is held.
//! Schema (the README lists it too): timestamps are `INT64 TIMESTAMP(NANOS, UTC)`, ports
//! `INT32 INTEGER(16, unsigned)`, counters `INT64`, strings `BYTE_ARRAY STRING`; absent values
//! are nulls of optional columns. Strings are dictionary-encoded (the writer's default; not
//! `community_id`, a hash unique to each flow) and pages Snappy-compressed.

use super::flows::{evidence_name, FlowRow, FlowWriter};
use crate::decode::TunnelKind;
use bytes::Bytes;
use parquet::basic::{Compression, Type as PhysicalType};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::ColumnPath;
use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::Arc;

/// Rows per row group: about 10-20 MB of column buffers.
pub const ROWS_PER_GROUP: usize = 65_536;

/// The Parquet schema; columns in [`super::flows::FIELDS`] order.
pub const SCHEMA: &str = "
message flow {
  required int64 first_seen (TIMESTAMP(NANOS,true));
  required int64 last_seen (TIMESTAMP(NANOS,true));
  required double duration;
  required binary transport (STRING);
  required binary client (STRING);
  required int32 client_port (INTEGER(16,false));
  required binary server (STRING);
  required int32 server_port (INTEGER(16,false));
  required binary evidence (STRING);
  optional binary service (STRING);
  required binary section (STRING);
  required binary status (STRING);
  required binary class (STRING);
  optional binary unauthorized (STRING);
  required int64 packets_c2s;
  required int64 bytes_c2s;
  required int64 packets_s2c;
  required int64 bytes_s2c;
  optional binary tcp_flags (STRING);
  required binary end (STRING);
  required binary state (STRING);
  optional binary tunnel (STRING);
  required binary community_id (STRING);
  required int64 flow;
  optional binary file (STRING);
  required int32 ip_version (INTEGER(8,false));
  optional int32 vlan (INTEGER(16,false));
  optional int32 inner_vlan (INTEGER(16,false));
  optional binary outer_src (STRING);
  optional binary outer_dst (STRING);
  optional int32 outer_src_port (INTEGER(16,false));
  optional int32 outer_dst_port (INTEGER(16,false));
}";

/// A string column of one row group: every value's text in one buffer and where each ends.
/// The writer gets the values as slices of that buffer, so a row costs no allocation per
/// string (owned `ByteArray`s, one allocation and one free per value, were half of the
/// Parquet writer's time: benches/README.md).
#[derive(Default)]
struct Strings {
    text: Vec<u8>,
    ends: Vec<usize>,
}

impl Strings {
    fn push(&mut self, value: &str) {
        self.text.extend_from_slice(value.as_bytes());
        self.ends.push(self.text.len());
    }

    /// An IP address as text, written in place.
    fn push_addr(&mut self, addr: IpAddr) {
        super::flows::write_addr(&mut self.text, addr);
        self.ends.push(self.text.len());
    }

    /// The values, sharing one buffer.
    fn values(&self) -> Vec<ByteArray> {
        let text = Bytes::copy_from_slice(&self.text);
        let mut start = 0;
        self.ends
            .iter()
            .map(|&end| {
                // Each end is the buffer's length after a push: start <= end <= text.len().
                let value = ByteArray::from(text.slice(start..end));
                start = end;
                value
            })
            .collect()
    }
}

/// A string column whose values are the program's own names (`tcp`, `handshake`, `fin`...):
/// each value is a `Bytes` over the static text, which the writer clones and drops for free
/// (no copy into a buffer, no reference count).
#[derive(Default)]
struct Labels {
    values: Vec<ByteArray>,
    /// Definition levels, for an optional column; empty for a required one.
    levels: Vec<i16>,
}

impl Labels {
    fn push(&mut self, value: &'static str) {
        self.values
            .push(ByteArray::from(Bytes::from_static(value.as_bytes())));
    }

    fn push_optional(&mut self, value: Option<&'static str>) {
        match value {
            Some(v) => {
                self.push(v);
                self.levels.push(1);
            }
            None => self.levels.push(0),
        }
    }
}

/// A buffered optional string column: the present values and one definition level per row.
#[derive(Default)]
struct Optional {
    values: Strings,
    levels: Vec<i16>,
}

impl Optional {
    fn push(&mut self, value: Option<&str>) {
        match value {
            Some(v) => {
                self.values.push(v);
                self.levels.push(1);
            }
            None => self.levels.push(0),
        }
    }
}

impl Optional {
    fn push_addr(&mut self, value: Option<IpAddr>) {
        match value {
            Some(addr) => {
                self.values.push_addr(addr);
                self.levels.push(1);
            }
            None => self.levels.push(0),
        }
    }
}

/// A buffered optional UINT16 column (VLAN ids, outer ports): present values, and one
/// definition level per row.
#[derive(Default)]
struct OptionalU16 {
    values: Vec<i32>,
    levels: Vec<i16>,
}

impl OptionalU16 {
    fn push(&mut self, value: Option<u16>) {
        match value {
            Some(v) => {
                self.values.push(i32::from(v));
                self.levels.push(1);
            }
            None => self.levels.push(0),
        }
    }
}

/// One row group's columns.
#[derive(Default)]
struct Columns {
    first_seen: Vec<i64>,
    last_seen: Vec<i64>,
    duration: Vec<f64>,
    transport: Labels,
    client: Strings,
    client_port: Vec<i32>,
    server: Strings,
    server_port: Vec<i32>,
    evidence: Labels,
    service: Optional,
    section: Labels,
    status: Labels,
    class: Labels,
    unauthorized: Optional,
    packets_c2s: Vec<i64>,
    bytes_c2s: Vec<i64>,
    packets_s2c: Vec<i64>,
    bytes_s2c: Vec<i64>,
    tcp_flags: Labels,
    end: Labels,
    state: Labels,
    tunnel: Labels,
    community_id: Strings,
    flow: Vec<i64>,
    file: Optional,
    ip_version: Vec<i32>,
    vlan: OptionalU16,
    inner_vlan: OptionalU16,
    outer_src: Optional,
    outer_dst: Optional,
    outer_src_port: OptionalU16,
    outer_dst_port: OptionalU16,
}

/// Nanoseconds since the epoch; timestamps beyond i64 (years before 1678 or after 2262)
/// saturate.
fn nanos(ts: crate::capture::Timestamp) -> i64 {
    i64::try_from(ts.as_nanos()).unwrap_or(if ts.secs < 0 { i64::MIN } else { i64::MAX })
}

/// Counters beyond i64::MAX (never in practice) saturate.
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Columns {
    fn push(&mut self, row: &FlowRow<'_>) {
        self.first_seen.push(nanos(row.first_seen));
        self.last_seen.push(nanos(row.last_seen));
        self.duration.push(row.duration());
        self.transport.push(row.transport.as_str());
        self.client.push_addr(row.client);
        self.client_port.push(i32::from(row.client_port));
        self.server.push_addr(row.server);
        self.server_port.push(i32::from(row.server_port));
        self.evidence.push(evidence_name(row.evidence));
        self.service.push(row.service);
        self.section.push(row.section().as_str());
        self.status.push(row.status.as_str());
        self.class.push(row.class.as_str());
        self.unauthorized.push(row.unauthorized);
        self.packets_c2s.push(count(row.c2s.packets));
        self.bytes_c2s.push(count(row.c2s.bytes));
        self.packets_s2c.push(count(row.s2c.packets));
        self.bytes_s2c.push(count(row.s2c.bytes));
        self.tcp_flags.push_optional(row.tcp_flag_names());
        self.end.push(row.end.as_str());
        self.state.push(row.state.as_str());
        self.tunnel
            .push_optional(row.tunnel.map(TunnelKind::as_str));
        self.community_id.push(&row.community_id);
        self.flow.push(count(row.flow));
        self.file.push(row.file);
        self.ip_version.push(i32::from(row.ip_version()));
        self.vlan.push(row.encap.vlans.vlan);
        self.inner_vlan.push(row.encap.vlans.inner_vlan);
        self.outer_src.push_addr(row.outer_src());
        self.outer_dst.push_addr(row.outer_dst());
        let ports = row.outer_ports();
        self.outer_src_port.push(ports.map(|p| p.0));
        self.outer_dst_port.push(ports.map(|p| p.1));
    }

    fn len(&self) -> usize {
        self.flow.len()
    }
}

fn parquet_error(e: parquet::errors::ParquetError) -> io::Error {
    io::Error::other(format!("parquet: {e}"))
}

/// Writes flow rows to a Parquet file, one row group per [`ROWS_PER_GROUP`] rows.
pub struct ParquetFlows<W: Write + Send> {
    writer: Option<SerializedFileWriter<W>>,
    columns: Columns,
}

impl<W: Write + Send> ParquetFlows<W> {
    pub fn new(out: W) -> io::Result<Self> {
        let schema = Arc::new(parse_message_type(SCHEMA).map_err(parquet_error)?);
        let mut properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            // A Community ID is a hash, one per flow: a dictionary of them never repeats a
            // value, so it only costs a hash per row before the writer falls back to plain.
            .set_column_dictionary_enabled(ColumnPath::from("community_id"), false)
            .set_max_row_group_row_count(Some(ROWS_PER_GROUP))
            .set_created_by(format!("portnote {}", env!("CARGO_PKG_VERSION")));
        // Min/max statistics only where they let a reader skip pages and row groups: times,
        // ports and counters. A string column's min and max in records that end in time
        // order span nearly the whole alphabet of its values (addresses, services, hashes),
        // and computing them was a sixth of the writer's instructions.
        for field in schema.get_fields() {
            if field.get_physical_type() == PhysicalType::BYTE_ARRAY {
                properties = properties.set_column_statistics_enabled(
                    ColumnPath::from(field.name()),
                    EnabledStatistics::None,
                );
            }
        }
        let properties = properties.build();
        let writer =
            SerializedFileWriter::new(out, schema, Arc::new(properties)).map_err(parquet_error)?;
        Ok(ParquetFlows {
            writer: Some(writer),
            columns: Columns::default(),
        })
    }

    /// Write the buffered rows as one row group.
    fn flush_group(&mut self) -> io::Result<()> {
        if self.columns.len() == 0 {
            return Ok(());
        }
        let Some(writer) = self.writer.as_mut() else {
            return Err(io::Error::other("parquet: writer already finished"));
        };
        let columns = std::mem::take(&mut self.columns);
        let mut group = writer.next_row_group().map_err(parquet_error)?;
        let c = &columns;
        // One column of the row group: its values, and its definition levels if optional.
        macro_rules! column {
            ($kind:ty, $values:expr, $levels:expr) => {{
                let mut column = group
                    .next_column()
                    .map_err(parquet_error)?
                    .ok_or_else(|| io::Error::other("parquet: schema has fewer columns"))?;
                column
                    .typed::<$kind>()
                    .write_batch($values, $levels, None)
                    .map_err(parquet_error)?;
                column.close().map_err(parquet_error)?;
            }};
        }
        column!(Int64Type, &c.first_seen, None);
        column!(Int64Type, &c.last_seen, None);
        column!(DoubleType, &c.duration, None);
        column!(ByteArrayType, &c.transport.values, None);
        column!(ByteArrayType, &c.client.values(), None);
        column!(Int32Type, &c.client_port, None);
        column!(ByteArrayType, &c.server.values(), None);
        column!(Int32Type, &c.server_port, None);
        column!(ByteArrayType, &c.evidence.values, None);
        column!(
            ByteArrayType,
            &c.service.values.values(),
            Some(&c.service.levels)
        );
        column!(ByteArrayType, &c.section.values, None);
        column!(ByteArrayType, &c.status.values, None);
        column!(ByteArrayType, &c.class.values, None);
        column!(
            ByteArrayType,
            &c.unauthorized.values.values(),
            Some(&c.unauthorized.levels)
        );
        column!(Int64Type, &c.packets_c2s, None);
        column!(Int64Type, &c.bytes_c2s, None);
        column!(Int64Type, &c.packets_s2c, None);
        column!(Int64Type, &c.bytes_s2c, None);
        column!(
            ByteArrayType,
            &c.tcp_flags.values,
            Some(&c.tcp_flags.levels)
        );
        column!(ByteArrayType, &c.end.values, None);
        column!(ByteArrayType, &c.state.values, None);
        column!(ByteArrayType, &c.tunnel.values, Some(&c.tunnel.levels));
        column!(ByteArrayType, &c.community_id.values(), None);
        column!(Int64Type, &c.flow, None);
        column!(ByteArrayType, &c.file.values.values(), Some(&c.file.levels));
        column!(Int32Type, &c.ip_version, None);
        column!(Int32Type, &c.vlan.values, Some(&c.vlan.levels));
        column!(Int32Type, &c.inner_vlan.values, Some(&c.inner_vlan.levels));
        column!(
            ByteArrayType,
            &c.outer_src.values.values(),
            Some(&c.outer_src.levels)
        );
        column!(
            ByteArrayType,
            &c.outer_dst.values.values(),
            Some(&c.outer_dst.levels)
        );
        column!(
            Int32Type,
            &c.outer_src_port.values,
            Some(&c.outer_src_port.levels)
        );
        column!(
            Int32Type,
            &c.outer_dst_port.values,
            Some(&c.outer_dst_port.levels)
        );
        group.close().map_err(parquet_error)?;
        Ok(())
    }
}

impl<W: Write + Send> FlowWriter for ParquetFlows<W> {
    fn write(&mut self, row: &FlowRow<'_>) -> io::Result<()> {
        self.columns.push(row);
        if self.columns.len() >= ROWS_PER_GROUP {
            self.flush_group()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.flush_group()?;
        if let Some(writer) = self.writer.take() {
            let mut out = writer.into_inner().map_err(parquet_error)?;
            out.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;
    use crate::flow::service_port::Evidence;
    use crate::flow::{Counter, EndReason, ReplyState};
    use crate::registry::{Class, Status};
    use crate::transport::Transport;
    use parquet::basic::{LogicalType, TimeUnit};
    use parquet::file::reader::{FileReader, SerializedFileReader};

    fn row(i: u64) -> FlowRow<'static> {
        FlowRow {
            first_seen: Timestamp {
                secs: 1_700_000_000,
                nanos: 5,
                digits: 9,
            },
            last_seen: Timestamp {
                secs: 1_700_000_001,
                nanos: 0,
                digits: 9,
            },
            transport: Transport::Udp,
            client: "10.0.0.1".parse().unwrap(),
            client_port: 50_000,
            server: "10.0.0.2".parse().unwrap(),
            server_port: 53,
            evidence: Evidence::Rank,
            service: (i % 2 == 0).then_some("domain"),
            status: Status::Assigned,
            class: Class::System,
            unauthorized: None,
            c2s: Counter {
                packets: 1,
                bytes: i,
            },
            s2c: Counter::default(),
            tcp_flags: 0,
            end: EndReason::Idle,
            state: ReplyState::Unanswered,
            tunnel: None,
            community_id: "1:x".to_string(),
            flow: i,
            file: Some("a.pcap"),
            encap: Default::default(),
        }
    }

    #[test]
    fn row_groups_are_bounded_and_the_schema_is_typed() {
        let file = tempfile::tempfile().unwrap();
        let mut writer = ParquetFlows::new(file.try_clone().unwrap()).unwrap();
        let rows = ROWS_PER_GROUP as u64 * 2 + 10;
        for i in 0..rows {
            writer.write(&row(i)).unwrap();
            // Never more than one row group is held.
            assert!(writer.columns.len() < ROWS_PER_GROUP);
        }
        writer.finish().unwrap();

        let reader = SerializedFileReader::new(file).unwrap();
        let metadata = reader.metadata();
        assert_eq!(metadata.file_metadata().num_rows() as u64, rows);
        let groups: Vec<i64> = metadata.row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(groups, vec![65_536, 65_536, 10]);
        let schema = metadata.file_metadata().schema_descr();
        assert_eq!(schema.num_columns(), super::super::flows::FIELDS.len());
        for (i, name) in super::super::flows::FIELDS.iter().enumerate() {
            assert_eq!(schema.column(i).name(), *name);
        }
        assert_eq!(
            schema.column(0).logical_type_ref(),
            Some(&LogicalType::timestamp(true, TimeUnit::NANOS))
        );
        assert_eq!(
            schema.column(7).logical_type_ref(),
            Some(&LogicalType::integer(16, false))
        );
        // Strings are dictionary-encoded.
        let service = metadata.row_group(0).column(9);
        assert!(service.dictionary_page_offset().is_some());
        assert_eq!(service.compression(), Compression::SNAPPY);
        // Min/max where a reader can skip by them (times, ports, counters), none on strings.
        let group = metadata.row_group(0);
        for (i, name) in super::super::flows::FIELDS.iter().enumerate() {
            let stats = group.column(i).statistics();
            let is_string = schema.column(i).physical_type() == PhysicalType::BYTE_ARRAY;
            assert_eq!(stats.is_none(), is_string, "{name}");
        }
        let first_seen = group.column(0).statistics().unwrap();
        assert!(first_seen.min_bytes_opt().is_some() && first_seen.max_bytes_opt().is_some());
    }

    /// String values read back as written, each row its own: the column buffers are sliced
    /// per value, so an off-by-one would shift every later value.
    #[test]
    fn strings_read_back_row_by_row() {
        use parquet::record::RowAccessor;
        let file = tempfile::tempfile().unwrap();
        let mut writer = ParquetFlows::new(file.try_clone().unwrap()).unwrap();
        let community: Vec<String> = (0..300).map(|i| format!("1:{i}")).collect();
        let client = |i: u64| -> IpAddr {
            if i % 3 == 0 {
                format!("2001:db8::{i:x}").parse().unwrap()
            } else {
                format!("10.0.{}.{}", i / 256, i % 256).parse().unwrap()
            }
        };
        for (i, id) in (0..300u64).zip(&community) {
            let mut r = row(i);
            r.client = client(i);
            r.community_id = id.clone();
            r.transport = if i % 5 == 0 {
                Transport::Tcp
            } else {
                Transport::Udp
            };
            r.tcp_flags = if i % 5 == 0 { 0x12 } else { 0 };
            r.encap = encap(i);
            writer.write(&r).unwrap();
        }
        writer.finish().unwrap();
        let reader = SerializedFileReader::new(file).unwrap();
        let rows: Vec<_> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows.len(), 300);
        for (i, r) in (0..300u64).zip(&rows) {
            assert_eq!(r.get_string(4).unwrap(), &client(i).to_string(), "row {i}");
            assert_eq!(r.get_string(22).unwrap(), &format!("1:{i}"), "row {i}");
            let tcp = i % 5 == 0;
            assert_eq!(r.get_string(3).unwrap(), if tcp { "tcp" } else { "udp" });
            assert_eq!(
                r.get_string(18).ok().map(String::as_str),
                tcp.then_some("SYN|ACK")
            );
            assert_eq!(
                r.get_string(9).ok().map(String::as_str),
                (i % 2 == 0).then_some("domain"),
                "row {i}"
            );
            // The link columns, typed: UINT16 ids and ports, addresses as strings, nulls.
            let e = encap(i);
            let at = |name: &str| {
                super::super::flows::FIELDS
                    .iter()
                    .position(|f| *f == name)
                    .unwrap()
            };
            assert_eq!(r.get_ushort(at("vlan")).ok(), e.vlans.vlan, "row {i}");
            assert_eq!(
                r.get_ushort(at("inner_vlan")).ok(),
                e.vlans.inner_vlan,
                "row {i}"
            );
            let outer = e.outer.map(|o| o.src.to_string());
            assert_eq!(
                r.get_string(at("outer_src")).ok(),
                outer.as_ref(),
                "row {i}"
            );
            let outer = e.outer.map(|o| o.dst.to_string());
            assert_eq!(
                r.get_string(at("outer_dst")).ok(),
                outer.as_ref(),
                "row {i}"
            );
            let ports = e.outer.and_then(|o| o.ports);
            assert_eq!(
                r.get_ushort(at("outer_src_port")).ok(),
                ports.map(|p| p.src_port)
            );
            assert_eq!(
                r.get_ushort(at("outer_dst_port")).ok(),
                ports.map(|p| p.dst_port)
            );
        }
    }

    /// Row `i`'s link: tagged, double-tagged, tunnelled with or without outer ports, or none.
    fn encap(i: u64) -> crate::flow::Encapsulation {
        use crate::decode::{Ports, Vlans};
        let id = (i * 37 % 4096) as u16;
        let outer = crate::flow::OuterEndpoints {
            src: format!("192.0.2.{}", i % 256).parse().unwrap(),
            dst: format!("2001:db8::{i:x}").parse().unwrap(),
            ports: (i % 2 == 0).then_some(Ports {
                transport: Transport::Udp,
                src_port: 40_000 + i as u16,
                dst_port: 4789,
            }),
        };
        crate::flow::Encapsulation {
            vlans: Vlans {
                vlan: (i % 4 != 0).then_some(id),
                inner_vlan: (i % 4 == 2).then_some(4095 - id),
            },
            outer: (i % 3 == 1).then_some(outer),
        }
    }
}

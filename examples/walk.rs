//! The floor under any capture reader: `read()`s a classic pcap file in 256 KiB chunks and
//! walks its records in place, touching one byte of each, and nothing else. `benches/compare.sh`
//! times it beside portnote as the `read+walk` row, the yardstick issue 6 set its targets by.
//!
//! ```text
//! cargo run --release --example walk -- capture.pcap
//! ```
//! Prints the number of records and a checksum of the touched bytes (so the walk cannot be
//! optimised away). pcap only (either byte order); stops with an error at a damaged record.

use std::fs::File;
use std::io::Read;
use std::process::ExitCode;

const CHUNK: usize = 256 * 1024;
const FILE_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;
/// Larger records are damage, as in portnote's reader.
const MAX_RECORD_LEN: usize = 1 << 28;

fn walk(path: &str) -> Result<(u64, u64), String> {
    let fail = |what: String| format!("{path}: {what}");
    let mut file = File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut header = [0u8; FILE_HEADER_LEN];
    file.read_exact(&mut header)
        .map_err(|e| fail(format!("file header: {e}")))?;
    let big_endian = match header.first_chunk::<4>() {
        Some([0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1]) => false,
        Some([0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d]) => true,
        _ => return Err(fail("not a classic pcap file".into())),
    };
    let mut buf = vec![0u8; 2 * CHUNK];
    let (mut start, mut end) = (0usize, 0usize);
    let (mut records, mut checksum, mut offset) = (0u64, 0u64, FILE_HEADER_LEN as u64);
    loop {
        // Walk every record wholly in the buffer.
        while let Some(record) = buf.get(start..end).and_then(|b| b.first_chunk::<16>()) {
            let incl = [record[8], record[9], record[10], record[11]];
            let caplen = if big_endian {
                u32::from_be_bytes(incl)
            } else {
                u32::from_le_bytes(incl)
            } as usize;
            if caplen > MAX_RECORD_LEN {
                return Err(fail(format!("record at offset {offset}: length {caplen}")));
            }
            let total = RECORD_HEADER_LEN + caplen;
            if end - start < total {
                break;
            }
            checksum += u64::from(buf.get(start + RECORD_HEADER_LEN).copied().unwrap_or(0));
            records += 1;
            start += total;
            offset += total as u64;
        }
        // Keep the partial record, make room for a full chunk, read.
        buf.copy_within(start..end, 0);
        end -= start;
        start = 0;
        if buf.len() - end < CHUNK {
            buf.resize(end + CHUNK, 0);
        }
        let spare = buf.get_mut(end..).unwrap_or_default();
        let read = file.read(spare).map_err(|e| fail(e.to_string()))?;
        if read == 0 {
            if end > 0 {
                return Err(fail(format!("truncated record at offset {offset}")));
            }
            return Ok((records, checksum));
        }
        end += read;
    }
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: walk CAPTURE.pcap");
        return ExitCode::from(2);
    };
    match walk(&path) {
        Ok((records, checksum)) => {
            println!("{records} records, checksum {checksum}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("walk: {e}");
            ExitCode::FAILURE
        }
    }
}

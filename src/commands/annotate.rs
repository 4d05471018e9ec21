//! `portnote annotate`: one record per packet record of each file.

use super::input::{filter_of, is_regular_file, read_input};
use crate::cli::{AnnotateArgs, AnnotateFormat};
use portnote::decode::DecodeOptions;
use portnote::pipeline::{Pipeline, ThreadPlan};
use portnote::registry::Registry;
use portnote::report::annotate::{write_csv, write_text, NdjsonWriter, PacketRecord, CSV_HEADER};
use portnote::report::Stdout;
use portnote::{Error, Outcome};
use std::io::Write;

/// Where records go, in the chosen format.
enum Sink<'w> {
    Text(&'w mut dyn Write),
    Ndjson(&'w mut dyn Write, NdjsonWriter),
    /// The writer, and whether its header line is written yet.
    Csv(Box<csv::Writer<&'w mut dyn Write>>, bool),
}

impl Sink<'_> {
    fn write(&mut self, record: &PacketRecord<'_>) -> Result<(), Error> {
        match self {
            Sink::Text(out) => write_text(*out, record).map_err(Error::Output),
            Sink::Ndjson(out, writer) => writer.write(*out, record).map_err(Error::Output),
            Sink::Csv(w, header) => {
                if !*header {
                    w.write_record(CSV_HEADER.split(',')).map_err(csv_error)?;
                    *header = true;
                }
                write_csv(w, record).map_err(csv_error)
            }
        }
    }

    /// The CSV header, if no record has written it: a capture without records still gets a
    /// well-formed (empty) table; inputs that could not be opened get none.
    fn write_header(&mut self) -> Result<(), Error> {
        match self {
            Sink::Csv(w, header) if !*header => {
                *header = true;
                w.write_record(CSV_HEADER.split(',')).map_err(csv_error)
            }
            _ => Ok(()),
        }
    }

    fn flush(&mut self) -> Result<(), Error> {
        match self {
            Sink::Text(out) | Sink::Ndjson(out, _) => out.flush().map_err(Error::Output),
            Sink::Csv(w, _) => w.flush().map_err(Error::Output),
        }
    }
}

pub fn run(
    args: &AnnotateArgs,
    registry: &Registry,
    out: &mut dyn Write,
) -> Result<Outcome, Error> {
    if let Some(output) = &args.write {
        return super::annotate_pcapng::run(args, output, registry, out);
    }
    let mut filter = filter_of(&args.input)?;
    let options = DecodeOptions {
        no_decap: args.input.no_decap,
    };
    let several = args.input.files.len() > 1;
    // Records are written as packets come: each carries its flow's first-packet decision.
    let mut pipeline =
        Pipeline::new(registry, options, crate::cli::DEFAULT_MAX_FLOWS).deciding_on_first_packet();
    let mut sink = match args.format {
        AnnotateFormat::Text => Sink::Text(out),
        AnnotateFormat::Ndjson => Sink::Ndjson(out, NdjsonWriter::new()),
        AnnotateFormat::Csv => Sink::Csv(Box::new(csv::Writer::from_writer(out)), false),
    };
    let mut errors = false;
    let read_ahead = ThreadPlan::in_frame_order().read_ahead;
    let to_terminal = Stdout::detect().terminal;
    for path in &args.input.files {
        let name = path.display().to_string();
        // `tcpdump -U -w - | portnote annotate -`: each record is written as soon as its packet
        // is read. The output buffer is only for file-to-file runs, where nobody waits.
        let streaming = to_terminal || !is_regular_file(path);
        let input = read_input(path, &mut filter, read_ahead, |frame_number, frame| {
            let processed = pipeline.process(frame);
            sink.write(&PacketRecord {
                file: several.then_some(name.as_str()),
                frame: frame_number,
                ts: frame.ts,
                len: frame.len,
                caplen: u32::try_from(frame.data.len()).unwrap_or(u32::MAX),
                linktype: frame.linktype,
                info: &processed.info,
                attribution: processed.attribution,
            })?;
            if streaming {
                sink.flush()?;
            }
            Ok(())
        })?;
        errors |= input.error.is_some();
        if !input.unopened {
            sink.write_header()?;
        }
    }
    sink.flush()?;
    Ok(if errors {
        Outcome::InputErrors
    } else {
        Outcome::Success
    })
}

/// A regular file, as opposed to standard input (`-`), a pipe, a FIFO or a device.
fn csv_error(e: csv::Error) -> Error {
    Error::Output(portnote::report::csv_to_io(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use portnote::capture::CaptureReader;
    use portnote::report::annotate::write_ndjson;
    use std::path::Path;

    /// The hand-written NDJSON is byte-identical to serde_json's on every record of every
    /// bundled capture (all link types, tunnels, ICMP quotes, fragments, truncation).
    #[test]
    fn hand_written_ndjson_equals_serde_json_on_the_bundled_captures() {
        let registry = Registry::from_services_text("https 443/tcp\ndomain 53/udp\n").unwrap();
        let mut checked = 0;
        let mut entries: Vec<_> = std::fs::read_dir("captures")
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
            .collect();
        entries.sort();
        assert!(entries.len() >= 20);
        let mut writer = NdjsonWriter::new();
        for path in &entries {
            let name = path.display().to_string();
            let mut reader = CaptureReader::open(Path::new(path)).unwrap();
            let mut pipeline = Pipeline::new(&registry, DecodeOptions::default(), 1000);
            let mut frame_number = 0;
            while let Ok(Some(frame)) = reader.next_frame() {
                frame_number += 1;
                let processed = pipeline.process(&frame);
                let record = PacketRecord {
                    file: (frame_number % 2 == 0).then_some(name.as_str()),
                    frame: frame_number,
                    ts: frame.ts,
                    len: frame.len,
                    caplen: u32::try_from(frame.data.len()).unwrap(),
                    linktype: frame.linktype,
                    info: &processed.info,
                    attribution: processed.attribution,
                };
                let (mut by_serde, mut by_hand) = (Vec::new(), Vec::new());
                write_ndjson(&mut by_serde, &record).unwrap();
                writer.write(&mut by_hand, &record).unwrap();
                assert_eq!(
                    String::from_utf8(by_hand).unwrap(),
                    String::from_utf8(by_serde).unwrap(),
                    "{name} frame {frame_number}"
                );
                checked += 1;
            }
        }
        assert!(checked > 500, "{checked} records");
    }
}

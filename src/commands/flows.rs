//! `portnote flows`: one record per flow, written as each flow ends.

use super::input::{filter_of, is_regular_file, read_input};
use crate::cli::{FlowsArgs, FlowsFormat};
use portnote::decode::DecodeOptions;
use portnote::flow::{FlowRecord, FlowSink};
use portnote::pipeline::{Pipeline, ThreadPlan};
use portnote::registry::Registry;
use portnote::report::flows::{CsvFlows, FlowRow, FlowWriter, NdjsonFlows};
use portnote::report::parquet::ParquetFlows;
use portnote::report::Stdout;
use portnote::{Error, Outcome};
use std::io::{self, BufWriter, Write};

/// The second sink of the pipeline: holds the records that ended at the current packet, then
/// writes them (ordered by flow id, the order the flows began) before the next packet.
struct RecordSink<'r, 'w> {
    registry: &'r Registry,
    writer: Box<dyn FlowWriter + 'w>,
    ended: Vec<FlowRecord>,
    /// The input being read.
    file: Option<String>,
}

impl FlowSink for RecordSink<'_, '_> {
    fn flow_ended(&mut self, _: &Registry, record: FlowRecord) {
        self.ended.push(record);
    }
}

impl RecordSink<'_, '_> {
    /// Write the records that ended since the last call; `streaming`: and hand them on now.
    #[inline]
    fn write_ended(&mut self, streaming: bool) -> io::Result<()> {
        if self.ended.is_empty() {
            return Ok(());
        }
        self.write_ended_now()?;
        if streaming {
            self.writer.flush()?;
        }
        Ok(())
    }

    #[inline(never)]
    fn write_ended_now(&mut self) -> io::Result<()> {
        // One sweep, eviction or the end of input ends flows in hash-table order: make it
        // the order they began, the same in every run.
        self.ended.sort_unstable_by_key(|r| r.id);
        for record in self.ended.drain(..) {
            let row = FlowRow::new(&record, self.registry, self.file.as_deref());
            self.writer.write(&row)?;
        }
        Ok(())
    }
}

pub fn run(args: &FlowsArgs, registry: &Registry, out: &mut dyn Write) -> Result<Outcome, Error> {
    let mut filter = filter_of(&args.input)?;
    let options = DecodeOptions {
        no_decap: args.input.no_decap,
    };
    let file = match &args.output {
        Some(path) => Some(std::fs::File::create(path).map_err(|source| Error::Input {
            path: path.display().to_string(),
            source,
        })?),
        None => None,
    };
    let writer: Box<dyn FlowWriter + '_> = match (args.format, file) {
        (FlowsFormat::Parquet, None) => {
            return Err(Error::Usage(
                "--format parquet writes a file: give it with -o FILE".to_string(),
            ))
        }
        (FlowsFormat::Parquet, Some(file)) => Box::new(
            ParquetFlows::new(BufWriter::with_capacity(1 << 20, file)).map_err(Error::Output)?,
        ),
        (FlowsFormat::Ndjson, Some(file)) => {
            Box::new(NdjsonFlows::new(BufWriter::with_capacity(1 << 16, file)))
        }
        (FlowsFormat::Ndjson, None) => Box::new(NdjsonFlows::new(out)),
        (FlowsFormat::Csv, Some(file)) => {
            Box::new(CsvFlows::new(BufWriter::with_capacity(1 << 16, file)).map_err(Error::Output)?)
        }
        (FlowsFormat::Csv, None) => Box::new(CsvFlows::new(out).map_err(Error::Output)?),
    };
    let sink = RecordSink {
        registry,
        writer,
        ended: Vec::new(),
        file: None,
    };
    // Records are written in the order flows end, which one flow table gives: reading may move
    // to a thread of its own, counting stays in this one.
    let read_ahead = ThreadPlan::summary(args.threads.map(usize::from)).read_ahead;
    let mut pipeline = Pipeline::with_sink(registry, options, args.max_flows, sink);
    let mut capture_errors = false;
    let to_terminal = args.output.is_none() && Stdout::detect().terminal;
    for path in &args.input.files {
        pipeline.sink_mut().file = Some(path.display().to_string());
        // `tcpdump -U -w - | portnote flows -`: each record reaches the reader when its flow
        // ends, not when a buffer fills; the buffer is for file-to-file runs.
        let streaming = to_terminal || (args.output.is_none() && !is_regular_file(path));
        let input = read_input(path, &mut filter, read_ahead, |_, frame| {
            pipeline.count(frame);
            pipeline
                .sink_mut()
                .write_ended(streaming)
                .map_err(Error::Output)
        })?;
        capture_errors |= input.error.is_some();
    }
    let (_, _, mut sink) = pipeline.finish_with_sink();
    sink.write_ended(false).map_err(Error::Output)?;
    sink.writer.finish().map_err(Error::Output)?;
    Ok(if capture_errors {
        Outcome::InputErrors
    } else {
        Outcome::Success
    })
}

//! `portnote flows`: one record per flow, written as each flow ends.

use super::input::{filter_of, is_regular_file, read_input};
use super::ipfix::IpfixExport;
use crate::cli::{FlowsArgs, FlowsFormat};
use portnote::capture::BpfFilter;
use portnote::decode::DecodeOptions;
use portnote::flow::{FlowRecord, FlowSink};
use portnote::pipeline::{Pipeline, ThreadPlan};
use portnote::registry::Registry;
use portnote::report::flows::{CsvFlows, FlowRow, FlowWriter, NdjsonFlows};
use portnote::report::parquet::ParquetFlows;
use portnote::report::Stdout;
use portnote::{Error, Outcome};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

/// Formats and writes records: the format's writer, and the IPFIX exporter when asked.
struct RecordWriter<'r, F: FlowWriter + ?Sized> {
    registry: &'r Registry,
    writer: Box<F>,
    /// `--ipfix`: every record is also exported.
    ipfix: Option<IpfixExport>,
}

impl<F: FlowWriter + ?Sized> RecordWriter<'_, F> {
    fn write(&mut self, records: &[FlowRecord], file: Option<&str>) -> io::Result<()> {
        for record in records {
            let row = FlowRow::new(record, self.registry, file);
            self.writer.write(&row)?;
            if let Some(ipfix) = self.ipfix.as_mut() {
                ipfix.export(self.registry, record);
            }
        }
        Ok(())
    }

    /// Hand what was written on now: to the reader, and to the collector (not when a message
    /// fills).
    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()?;
        if let Some(ipfix) = self.ipfix.as_mut() {
            ipfix.flush();
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        let written = self.writer.finish();
        if let Some(ipfix) = self.ipfix.take() {
            ipfix.finish();
        }
        written
    }
}

/// Records on their way to a writer in a thread of its own.
struct Batch {
    records: Vec<FlowRecord>,
    file: Option<Arc<str>>,
}

/// Records per batch for the writing thread: a channel operation per thousands of records.
const BATCH_LEN: usize = 4096;
/// Batches in flight (bounds memory when writing falls behind counting).
const BATCHES_IN_FLIGHT: usize = 4;

/// Where the records go: written in the counting thread, or sent in batches to the writing
/// thread.
enum Output<'r, 'w> {
    Here(RecordWriter<'r, dyn FlowWriter + 'w>),
    Thread {
        batch: Vec<FlowRecord>,
        full: SyncSender<Batch>,
        /// Emptied batches coming back, so the steady state allocates nothing.
        empty: Receiver<Vec<FlowRecord>>,
    },
}

/// The second sink of the pipeline: holds the records that ended at the current packet, then
/// hands them on (ordered by flow id, the order the flows began) before the next packet.
struct RecordSink<'r, 'w> {
    ended: Vec<FlowRecord>,
    /// The input being read.
    file: Option<Arc<str>>,
    output: Output<'r, 'w>,
}

impl FlowSink for RecordSink<'_, '_> {
    fn flow_ended(&mut self, _: &Registry, record: FlowRecord) {
        self.ended.push(record);
    }
}

impl RecordSink<'_, '_> {
    /// Hand on the records that ended since the last call; `streaming`: and have them written
    /// out now.
    #[inline]
    fn write_ended(&mut self, streaming: bool) -> io::Result<()> {
        if self.ended.is_empty() {
            return Ok(());
        }
        self.write_ended_now(streaming)
    }

    #[inline(never)]
    fn write_ended_now(&mut self, streaming: bool) -> io::Result<()> {
        // One sweep, eviction or the end of input ends flows in hash-table order: make it
        // the order they began, the same in every run.
        self.ended.sort_unstable_by_key(|r| r.id);
        match &mut self.output {
            Output::Here(writer) => {
                writer.write(&self.ended, self.file.as_deref())?;
                self.ended.clear();
                if streaming {
                    writer.flush()?;
                }
                Ok(())
            }
            Output::Thread { batch, .. } => {
                // Only files are written in a thread (never a pipe or terminal waiting on
                // records), so batches need not be sent early.
                batch.append(&mut self.ended);
                if batch.len() >= BATCH_LEN {
                    self.send()?;
                }
                Ok(())
            }
        }
    }

    /// Send the batch to the writing thread (before the input changes, or at the end).
    fn send(&mut self) -> io::Result<()> {
        let Output::Thread { batch, full, empty } = &mut self.output else {
            return Ok(());
        };
        if batch.is_empty() {
            return Ok(());
        }
        let next = empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH_LEN));
        let batch = Batch {
            records: std::mem::replace(batch, next),
            file: self.file.clone(),
        };
        // The writing thread only hangs up when a write failed: its result says how.
        full.send(batch).map_err(|_| io::Error::other(WRITER_GONE))
    }

    /// The next input's records are named `file`.
    fn set_file(&mut self, file: &Path) -> io::Result<()> {
        self.send()?;
        self.file = Some(Arc::from(file.display().to_string()));
        Ok(())
    }
}

/// The error the counting thread sees when the writing thread stopped; the thread's own error
/// is the one reported.
const WRITER_GONE: &str = "the thread writing flow records stopped";

/// The writing thread: writes each batch, sends the emptied vector back, finishes the output.
fn write_batches(
    mut writer: RecordWriter<'_, dyn FlowWriter + Send>,
    full: Receiver<Batch>,
    empty: SyncSender<Vec<FlowRecord>>,
) -> io::Result<()> {
    for mut batch in full {
        writer.write(&batch.records, batch.file.as_deref())?;
        batch.records.clear();
        // The counting thread may have finished: then nobody wants the vector back.
        let _ = empty.try_send(batch.records);
    }
    writer.finish()
}

/// The writer of `format` into a new file at `path`.
fn file_writer(format: FlowsFormat, path: &Path) -> Result<Box<dyn FlowWriter + Send>, Error> {
    let file = std::fs::File::create(path).map_err(|source| Error::Input {
        path: path.display().to_string(),
        source,
    })?;
    Ok(match format {
        FlowsFormat::Parquet => Box::new(
            ParquetFlows::new(BufWriter::with_capacity(1 << 20, file)).map_err(Error::Output)?,
        ),
        FlowsFormat::Ndjson => Box::new(NdjsonFlows::new(BufWriter::with_capacity(1 << 16, file))),
        FlowsFormat::Csv => {
            Box::new(CsvFlows::new(BufWriter::with_capacity(1 << 16, file)).map_err(Error::Output)?)
        }
    })
}

pub fn run(args: &FlowsArgs, registry: &Registry, out: &mut dyn Write) -> Result<Outcome, Error> {
    let mut filter = filter_of(&args.input)?;
    let file = match &args.output {
        Some(path) => Some(file_writer(args.format, path)?),
        None => None,
    };
    let ipfix = IpfixExport::connect(&args.ipfix)?;
    // Records are written in the order flows end, which one flow table gives: reading may move
    // to a thread of its own, counting stays in one, and with three threads or more the
    // records are formatted and written (Parquet encoded) in a third, when they go to a file.
    let plan = ThreadPlan::summary(args.threads.map(usize::from));
    let to_terminal = args.output.is_none() && Stdout::detect().terminal;
    let mut count = |output| {
        count_flows(
            args,
            registry,
            &mut filter,
            plan.read_ahead,
            to_terminal,
            output,
        )
    };
    let capture_errors = match file {
        Some(writer) if plan.write_records_apart() => std::thread::scope(|scope| {
            let writer = RecordWriter {
                registry,
                writer,
                ipfix,
            };
            let (full, batches) = sync_channel(BATCHES_IN_FLIGHT);
            let (emptied, empty) = sync_channel(BATCHES_IN_FLIGHT);
            let writing = scope.spawn(move || write_batches(writer, batches, emptied));
            let counted = count(Output::Thread {
                batch: Vec::with_capacity(BATCH_LEN),
                full,
                empty,
            });
            // Hang up (the sink owns the sender) so the writing thread finishes the file.
            let counted = counted.map(|(errors, sink)| {
                drop(sink);
                errors
            });
            let written = writing
                .join()
                .unwrap_or_else(|_| Err(io::Error::other(WRITER_GONE)));
            match (counted, written) {
                // A failed write is the cause of whatever the counting thread saw.
                (_, Err(e)) => Err(Error::Output(e)),
                (counted, Ok(())) => counted,
            }
        })?,
        file => {
            let writer: Box<dyn FlowWriter + '_> = match file {
                Some(writer) => writer,
                None => match args.format {
                    FlowsFormat::Ndjson => Box::new(NdjsonFlows::new(out)),
                    FlowsFormat::Csv => Box::new(CsvFlows::new(out).map_err(Error::Output)?),
                    FlowsFormat::Parquet => {
                        return Err(Error::Usage(
                            "--format parquet writes a file: give it with -o FILE".to_string(),
                        ))
                    }
                },
            };
            let writer = RecordWriter {
                registry,
                writer,
                ipfix,
            };
            let (errors, sink) = count(Output::Here(writer))?;
            if let Output::Here(writer) = sink.output {
                writer.finish().map_err(Error::Output)?;
            }
            errors
        }
    };
    Ok(if capture_errors {
        Outcome::InputErrors
    } else {
        Outcome::Success
    })
}

/// Reads every input into one flow table whose records go to `output`: whether some input
/// had a capture error, and the sink (its output still to be finished).
fn count_flows<'r, 'w>(
    args: &FlowsArgs,
    registry: &'r Registry,
    filter: &mut Option<BpfFilter>,
    read_ahead: bool,
    to_terminal: bool,
    output: Output<'r, 'w>,
) -> Result<(bool, RecordSink<'r, 'w>), Error> {
    let options = DecodeOptions {
        no_decap: args.input.no_decap,
    };
    let sink = RecordSink {
        ended: Vec::new(),
        file: None,
        output,
    };
    let mut pipeline = Pipeline::with_sink(registry, options, args.max_flows, sink);
    let mut capture_errors = false;
    for path in &args.input.files {
        pipeline.sink_mut().set_file(path).map_err(Error::Output)?;
        // `tcpdump -U -w - | portnote flows -`: each record reaches the reader when its
        // flow ends, not when a buffer fills; the buffer is for file-to-file runs.
        let streaming = to_terminal || (args.output.is_none() && !is_regular_file(path));
        let input = read_input(path, filter, read_ahead, |_, frame| {
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
    sink.send().map_err(Error::Output)?;
    Ok((capture_errors, sink))
}

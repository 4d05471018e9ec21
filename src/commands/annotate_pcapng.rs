//! `portnote annotate -w OUT.pcapng`: the input packets copied byte for byte into one pcapng
//! file, each with a portnote comment ([`crate::report::comment`]).
//!
//! Streams: every packet is written as it is read, with the service decision of its flow at
//! that packet (what `--format ndjson` says of it), so a pipe in gives a pipe out. When an
//! input is not a regular file (standard input, a FIFO), the output is flushed after every
//! packet; from files it is written in large blocks.

use super::input::{filter_of, read_input};
use crate::cli::AnnotateArgs;
use portnote::capture::pcapng_write::AnnotatedPcapngWriter;
use portnote::decode::DecodeOptions;
use portnote::pipeline::{Pipeline, ThreadPlan};
use portnote::registry::Registry;
use portnote::report::comment::write_comment;
use portnote::{Error, Outcome};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Output buffer for a file: large writes, few system calls.
const FILE_BUFFER: usize = 1 << 20;

/// What the Section Header Block says wrote the file.
pub fn application() -> String {
    format!("portnote {}", env!("CARGO_PKG_VERSION"))
}

/// The section comment: which registry the packet comments were decided with.
pub fn section_comment(registry: &Registry) -> String {
    let mut comment = format!("portnote: registry {}", registry.source());
    if let Some(date) = registry.date() {
        comment.push_str(&format!("; registry date {date}"));
    }
    for overlay in registry.overlays() {
        comment.push_str(&format!(" + services {}", overlay.display()));
    }
    comment
}

pub fn run(
    args: &AnnotateArgs,
    output: &Path,
    registry: &Registry,
    stdout: &mut dyn Write,
) -> Result<Outcome, Error> {
    let to_stdout = output == Path::new("-");
    if !to_stdout {
        refuse_overwriting_an_input(output, &args.input.files)?;
    }
    let output_error = |source: io::Error| {
        if to_stdout {
            Error::Output(source)
        } else {
            Error::Input {
                path: output.display().to_string(),
                source,
            }
        }
    };
    let mut file;
    let out: &mut dyn Write = if to_stdout {
        stdout
    } else {
        file = BufWriter::with_capacity(FILE_BUFFER, File::create(output).map_err(output_error)?);
        &mut file
    };
    let comment_of_section = section_comment(registry);
    let mut writer = AnnotatedPcapngWriter::new(out, &application(), Some(&comment_of_section))
        .map_err(output_error)?;

    let mut filter = filter_of(&args.input)?;
    let options = DecodeOptions {
        no_decap: args.input.no_decap,
    };
    let mut pipeline = Pipeline::new(registry, options, crate::cli::DEFAULT_MAX_FLOWS);
    let read_ahead = ThreadPlan::in_frame_order().read_ahead;
    let mut comment = Vec::with_capacity(256);
    let mut errors = false;
    for path in &args.input.files {
        let streaming = !std::fs::metadata(path).is_ok_and(|m| m.is_file());
        let input = read_input(path, &mut filter, read_ahead, |_, frame| {
            let written = if args.no_comment {
                pipeline.count(frame);
                writer.write_frame(frame, None)
            } else {
                let processed = pipeline.process(frame);
                write_comment(
                    &mut comment,
                    &processed.info,
                    processed.attribution.as_ref(),
                );
                writer.write_frame(frame, Some(&comment))
            };
            written.map_err(output_error)?;
            if streaming {
                writer.flush().map_err(output_error)?;
            }
            Ok(())
        })?;
        errors |= input.error.is_some();
    }
    writer.flush().map_err(output_error)?;
    Ok(if errors {
        Outcome::InputErrors
    } else {
        Outcome::Success
    })
}

/// `-w` naming one of the inputs would empty it before it is read.
fn refuse_overwriting_an_input(output: &Path, inputs: &[std::path::PathBuf]) -> Result<(), Error> {
    let Ok(output) = output.canonicalize() else {
        return Ok(()); // does not exist yet: cannot be an input
    };
    if inputs
        .iter()
        .filter_map(|input| input.canonicalize().ok())
        .any(|input| input == output)
    {
        return Err(Error::Usage(format!(
            "annotate: -w {} is also an input; write to another file",
            output.display()
        )));
    }
    Ok(())
}

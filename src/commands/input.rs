//! Reading the capture inputs of `annotate` and `summary`: one file after another, the BPF
//! filter applied, errors of one input reported without stopping the others.

use crate::cli::InputArgs;
use indicatif::{ProgressBar, ProgressStyle};
use portnote::capture::{BpfFilter, CaptureReader, Frame};
use portnote::linktype::LinkType;
use portnote::report::summary::InputReport;
use portnote::Error;
use std::io::{IsTerminal, Read};
use std::path::Path;

/// Inputs smaller than this finish too fast for a progress bar to help.
const PROGRESS_MIN_BYTES: u64 = 64 << 20;
/// Frames between progress updates: keeps the bar off the per-packet path.
const PROGRESS_EVERY: u64 = 1 << 16;

/// A byte-position bar on stderr for a large, plain (not gzip) file when stderr is a terminal;
/// never when stderr is piped or redirected.
fn progress_bar(path: &Path) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() || path == Path::new("-") {
        return None;
    }
    let size = std::fs::metadata(path).ok()?.len();
    if size < PROGRESS_MIN_BYTES {
        return None;
    }
    let mut magic = [0u8; 2];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut magic)
        .ok()?;
    if magic == [0x1f, 0x8b] {
        return None; // gzip: reader offsets count decompressed bytes, not file bytes
    }
    let bar = ProgressBar::new(size);
    let style = ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .ok()?
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(path.display().to_string());
    Some(bar)
}

/// The filter of `-f EXPR`, compiled once for the whole run.
/// A file on disk, not standard input, a pipe or a device: nobody waits on its records, so
/// output may be buffered.
pub fn is_regular_file(path: &Path) -> bool {
    path != Path::new("-") && std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

pub fn filter_of(args: &InputArgs) -> Result<Option<BpfFilter>, Error> {
    match &args.filter {
        Some(expr) => BpfFilter::new(expr)
            .map(Some)
            .map_err(|e| Error::Usage(e.to_string())),
        None => Ok(None),
    }
}

/// Read one input to its end (or its first damage), calling `each` with the 1-based frame
/// number and the frame for every record the filter keeps; with `read_ahead`, the reading of a
/// regular file runs in a thread of its own ([`CaptureReader::read_ahead`]). An unreadable or
/// damaged input is reported on stderr and in the returned [`InputReport`]; an error from
/// `each` (writing output) ends the run.
pub fn read_input(
    path: &Path,
    filter: &mut Option<BpfFilter>,
    read_ahead: bool,
    mut each: impl FnMut(u64, &Frame<'_>) -> Result<(), Error>,
) -> Result<InputReport, Error> {
    let name = path.display().to_string();
    let mut reader = match CaptureReader::open(path) {
        Ok(reader) => reader,
        Err(e) => {
            eprintln!("portnote: {e}");
            return Ok(InputReport {
                file: name,
                packets: 0,
                error: Some(e.to_string()),
                unopened: true,
            });
        }
    };
    // Only for regular files: the reading thread fills whole chunks, which on a pipe (stdin,
    // `tcpdump -w - |`) would hold back the first records until a megabyte had arrived.
    let started = if read_ahead && std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        reader.read_ahead()
    } else {
        Ok(())
    };
    if let Err(e) = started {
        eprintln!("portnote: {e}");
        return Ok(InputReport {
            file: name,
            packets: 0,
            error: Some(e.to_string()),
            unopened: false,
        });
    }
    let bar = progress_bar(path);
    let mut frame_number = 0u64;
    let mut packets = 0u64;
    // A link type the filter cannot be compiled for (`vlan` on BSD loopback): its frames are
    // left out, the first time is reported, and the input counts as one with an error.
    let mut unfilterable: Vec<LinkType> = Vec::new();
    let mut filter_error = None;
    let damage = loop {
        if let Some(bar) = bar.as_ref().filter(|_| frame_number % PROGRESS_EVERY == 0) {
            bar.set_position(reader.offset());
        }
        match reader.next_frame() {
            Ok(Some(frame)) => {
                frame_number += 1;
                if let Some(filter) = filter.as_mut() {
                    match filter.matches(&frame) {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(e) => {
                            if !unfilterable.contains(&frame.linktype) {
                                unfilterable.push(frame.linktype);
                                let message = format!(
                                    "{name}: {e}; the packets of that link type are left out"
                                );
                                eprintln!("portnote: {message}");
                                filter_error.get_or_insert(message);
                            }
                            continue;
                        }
                    }
                }
                packets += 1;
                each(frame_number, &frame)?;
            }
            Ok(None) => break None,
            Err(e) => {
                eprintln!("portnote: {e}");
                break Some(e.to_string());
            }
        }
    };
    let error = match (filter_error, damage) {
        (Some(filter), Some(damage)) => Some(format!("{filter}; {damage}")),
        (filter, damage) => filter.or(damage),
    };
    Ok(InputReport {
        file: name,
        packets,
        error,
        unopened: false,
    })
}

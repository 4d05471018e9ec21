//! Reading the capture inputs of `annotate` and `summary`: one file after another, the BPF
//! filter applied, errors of one input reported without stopping the others.

use crate::capture::{BpfFilter, CaptureReader, Frame};
use crate::cli::InputArgs;
use crate::report::summary::InputReport;
use crate::Error;
use std::path::Path;

/// The filter of `-f EXPR`, compiled once for the whole run.
pub fn filter_of(args: &InputArgs) -> Result<Option<BpfFilter>, Error> {
    match &args.filter {
        Some(expr) => BpfFilter::new(expr)
            .map(Some)
            .map_err(|e| Error::Usage(e.to_string())),
        None => Ok(None),
    }
}

/// Read one input to its end (or its first damage), calling `each` with the 1-based frame
/// number and the frame for every record the filter keeps. An unreadable or damaged input is
/// reported on stderr and in the returned [`InputReport`]; an error from `each` (writing
/// output) ends the run.
pub fn read_input(
    path: &Path,
    filter: &mut Option<BpfFilter>,
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
            });
        }
    };
    let mut frame_number = 0u64;
    let mut packets = 0u64;
    let error = loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                frame_number += 1;
                if let Some(filter) = filter.as_mut() {
                    match filter.matches(&frame) {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(e) => return Err(Error::Usage(e.to_string())),
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
    Ok(InputReport {
        file: name,
        packets,
        error,
    })
}

//! Inputs shared by the benches: synthetic captures made in memory by `portnote-synth`
//! (deterministic, so runs compare), and their frames copied out of the reader.
#![allow(dead_code)] // each bench uses part of it

use portnote::capture::CaptureReader;
use portnote::linktype::LinkType;
use portnote_synth::SynthConfig;
use std::io::Cursor;

/// The synthetic capture `config` describes, in memory.
pub fn capture(config: SynthConfig) -> Vec<u8> {
    config.to_bytes().unwrap()
}

/// Every frame of a capture, owned: the decode and flow benches leave the reader out.
pub fn frames(capture: &[u8]) -> Vec<(LinkType, Vec<u8>)> {
    let mut reader =
        CaptureReader::from_reader("bench", Box::new(Cursor::new(capture.to_vec()))).unwrap();
    let mut frames = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        frames.push((frame.linktype, frame.data.to_vec()));
    }
    frames
}

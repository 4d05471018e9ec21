//! The whole per-packet path over an in-memory synthetic capture: reader, decode, fragments,
//! flows, aggregation, as `summary` runs it, with one thread and with a reader and one shard.
//! Full frames (mean 760 B) and headers only (snaplen 128).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portnote::capture::CaptureReader;
use portnote::decode::DecodeOptions;
use portnote::pipeline::{Pipeline, ShardedPipeline};
use portnote::registry::Registry;
use std::hint::black_box;
use std::io::Cursor;

const PACKETS: u64 = 100_000;

fn reader(capture: &'static [u8]) -> CaptureReader {
    CaptureReader::from_reader("bench", Box::new(Cursor::new(capture))).unwrap()
}

fn end_to_end(c: &mut Criterion) {
    let registry = Registry::embedded().unwrap();
    let options = DecodeOptions::default();
    let mut group = c.benchmark_group("end_to_end");
    group.sample_size(20);
    group.throughput(Throughput::Elements(PACKETS));
    let packets = PACKETS.to_string();
    for (name, snaplen) in [("full", "262144"), ("headers", "128")] {
        // Leaked so every iteration reads the same bytes without copying them first.
        let capture: &'static [u8] =
            common::capture(&["--packets", &packets, "--snaplen", snaplen]).leak();
        group.bench_function(format!("summary_1_thread_{name}"), |b| {
            b.iter(|| {
                let mut reader = reader(capture);
                let mut pipeline = Pipeline::new(&registry, options, 500_000);
                while let Some(frame) = reader.next_frame().unwrap() {
                    black_box(pipeline.process(&frame));
                }
                black_box(pipeline.finish())
            });
        });
        group.bench_function(format!("summary_reader_and_1_shard_{name}"), |b| {
            b.iter(|| {
                std::thread::scope(|scope| {
                    let mut reader = reader(capture);
                    let mut pipeline = ShardedPipeline::new(scope, &registry, options, 500_000, 1);
                    while let Some(frame) = reader.next_frame().unwrap() {
                        pipeline.process(&frame);
                    }
                    black_box(pipeline.finish().unwrap())
                })
            });
        });
    }
    group.finish();
}

criterion_group!(benches, end_to_end);
criterion_main!(benches);

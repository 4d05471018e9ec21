//! Flow table updates: `FlowTable::observe` over the decoded packets of a synthetic mix
//! (thousands of concurrent flows, both directions, sweeps every capture second).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code

mod common;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use portnote::aggregate::Aggregator;
use portnote::capture::CaptureReader;
use portnote::decode::{decode_frame, DecodeOptions};
use portnote::flow::{FlowPacket, FlowTable, IdleTimeouts};
use portnote::registry::Registry;
use std::hint::black_box;
use std::io::Cursor;

fn decoded(capture: Vec<u8>) -> Vec<FlowPacket> {
    let mut reader = CaptureReader::from_reader("bench", Box::new(Cursor::new(capture))).unwrap();
    let options = DecodeOptions::default();
    let mut out = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        let info = decode_frame(frame.linktype, frame.data, &options);
        out.extend(FlowPacket::from_decoded(&info, frame.ts, frame.len));
    }
    out
}

fn flow_update(c: &mut Criterion) {
    let registry = Registry::embedded().unwrap();
    let packets = decoded(common::capture(
        portnote_synth::SynthConfig::new(portnote_synth::Kind::Mix)
            .packets(200_000)
            .snaplen(128),
    ));
    let mut group = c.benchmark_group("flow");
    group.throughput(Throughput::Elements(packets.len() as u64));
    group.bench_function("observe_mix_200k", |b| {
        b.iter_batched_ref(
            || {
                (
                    FlowTable::new(500_000, IdleTimeouts::default()),
                    Aggregator::default(),
                )
            },
            |(table, aggregator)| {
                for packet in &packets {
                    black_box(table.observe(&registry, aggregator, packet));
                }
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, flow_update);
criterion_main!(benches);

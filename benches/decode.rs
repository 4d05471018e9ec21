//! Frame decoding per link type: packets per second of `decode_frame` alone, over the same
//! synthetic traffic mix framed by each link type (headers only: decoding never reads payload).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portnote::decode::{decode_frame, DecodeOptions};
use portnote_synth::{lookup, Kind, SynthConfig, Tunnel, LINKS};
use std::hint::black_box;

const LINK_NAMES: &[&str] = &[
    "ethernet", "vlan", "qinq", "null", "loop", "raw", "ipv4", "ipv6", "sll", "sll2",
];

fn decode_per_link_type(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    let options = DecodeOptions::default();
    for link in LINK_NAMES {
        let capture = common::capture(
            SynthConfig::new(Kind::Mix)
                .packets(20_000)
                .link(lookup(&LINKS, link).unwrap())
                .snaplen(128),
        );
        let frames = common::frames(&capture);
        group.throughput(Throughput::Elements(frames.len() as u64));
        group.bench_function(*link, |b| {
            b.iter(|| {
                for (linktype, data) in &frames {
                    black_box(decode_frame(*linktype, black_box(data), &options));
                }
            });
        });
    }
    for tunnel in ["vxlan", "gre", "gtpu", "6in4"] {
        let capture = common::capture(
            SynthConfig::new(Kind::Tunnels).tunnel(lookup(&Tunnel::ALL, tunnel).unwrap()),
        );
        let frames = common::frames(&capture);
        group.throughput(Throughput::Elements(frames.len() as u64));
        group.bench_function(format!("tunnel-{tunnel}"), |b| {
            b.iter(|| {
                for (linktype, data) in &frames {
                    black_box(decode_frame(*linktype, black_box(data), &options));
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, decode_per_link_type);
criterion_main!(benches);

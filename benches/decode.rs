//! Frame decoding per link type: packets per second of `decode_frame` alone, over the same
//! synthetic traffic mix framed by each link type (headers only: decoding never reads payload).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portnote::decode::{decode_frame, DecodeOptions};
use std::hint::black_box;

const LINKS: &[&str] = &[
    "ethernet", "vlan", "qinq", "null", "loop", "raw", "ipv4", "ipv6", "sll", "sll2",
];

fn decode_per_link_type(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    let options = DecodeOptions::default();
    for link in LINKS {
        let capture = common::capture(&["--packets", "20000", "--link", link, "--snaplen", "128"]);
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
        let capture = common::capture(&["--kind", "tunnels", "--tunnel", tunnel]);
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

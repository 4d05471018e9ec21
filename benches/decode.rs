//! Frame decoding per link type: packets per second of `decode_frame` alone, over the same
//! synthetic traffic mix framed by each link type (headers only: decoding never reads payload).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use etherparse::{LaxSlicedPacket, TransportSlice};
use portnote::decode::{decode_frame, decode_frame_into, DecodeOptions, PacketInfo};
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

/// Our hot path (`decode_frame_into`, as the pipeline calls it) against etherparse's lax slicing
/// plus reading the transport and ports out of its result, on the same Ethernet frames of the
/// synthetic mix (headers only). The ratio is recorded in ARCHITECTURE.md ("Why the hot path
/// decodes by hand") and benches/README.md. `cargo bench --bench decode -- vs_etherparse`.
fn hot_path_vs_etherparse(c: &mut Criterion) {
    let capture = common::capture(SynthConfig::new(Kind::Mix).packets(20_000).snaplen(128));
    let frames = common::frames(&capture);
    let options = DecodeOptions::default();
    let mut group = c.benchmark_group("vs_etherparse");
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.bench_function("portnote_decode_frame_into", |b| {
        let mut info = PacketInfo::default();
        b.iter(|| {
            for (linktype, data) in &frames {
                decode_frame_into(*linktype, black_box(data), &options, &mut info);
                black_box(info.ports.map(|p| (p.transport, p.src_port, p.dst_port)));
            }
        });
    });
    group.bench_function("etherparse_lax_sliced_packet", |b| {
        b.iter(|| {
            for (_, data) in &frames {
                let ports = match LaxSlicedPacket::from_ethernet(black_box(data)) {
                    Ok(packet) => match packet.transport {
                        Some(TransportSlice::Tcp(tcp)) => {
                            Some((6u8, tcp.source_port(), tcp.destination_port()))
                        }
                        Some(TransportSlice::Udp(udp)) => {
                            Some((17u8, udp.source_port(), udp.destination_port()))
                        }
                        _ => None,
                    },
                    Err(_) => None,
                };
                black_box(ports);
            }
        });
    });
    group.finish();
}

criterion_group!(benches, decode_per_link_type, hot_path_vs_etherparse);
criterion_main!(benches);

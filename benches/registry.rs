//! Registry slot lookups: `Registry::port` for every port of TCP and UDP, the call the flow
//! table makes three times per packet.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portnote::registry::Registry;
use portnote::transport::Transport;
use std::hint::black_box;

fn registry_lookup(c: &mut Criterion) {
    // The embedded snapshot: what portnote uses without --registry.
    let registry = Registry::embedded().unwrap();
    let mut group = c.benchmark_group("registry");
    group.throughput(Throughput::Elements(2 * 65536));
    group.bench_function("port_all_tcp_udp", |b| {
        b.iter(|| {
            for transport in [Transport::Tcp, Transport::Udp] {
                for port in 0..=u16::MAX {
                    black_box(registry.port(transport, black_box(port)));
                }
            }
        });
    });
    group.finish();
}

criterion_group!(benches, registry_lookup);
criterion_main!(benches);

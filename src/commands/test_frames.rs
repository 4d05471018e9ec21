//! Frames for the commands' unit tests, built with etherparse's `PacketBuilder`.

use portnote::capture::{Frame, Timestamp};
use portnote::linktype::LinkType;

/// Ethernet + IPv4 + UDP from 10.0.0.1:`client_port` to 10.0.0.2:`server_port` (or back, when
/// `reply`), with `payload` bytes of zeros.
pub(crate) fn udp(client_port: u16, server_port: u16, reply: bool, payload: usize) -> Vec<u8> {
    let (client, server) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let (src, dst, sport, dport) = if reply {
        (server, client, server_port, client_port)
    } else {
        (client, server, client_port, server_port)
    };
    let builder = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .udp(sport, dport);
    let data = vec![0; payload];
    let mut frame = Vec::with_capacity(builder.size(payload));
    builder
        .write(&mut frame, &data)
        .expect("a small UDP packet builds");
    frame
}

/// `data` as an Ethernet frame captured at `secs` seconds (microsecond precision).
pub(crate) fn ethernet(data: &[u8], secs: i64) -> Frame<'_> {
    Frame {
        ts: Timestamp {
            secs,
            nanos: 0,
            digits: 6,
        },
        len: data.len() as u32,
        linktype: LinkType::ETHERNET,
        data,
        origin: Default::default(),
    }
}

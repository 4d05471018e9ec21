//! The ports at the start of a transport header: TCP, UDP, UDP-Lite, SCTP and DCCP all put the
//! source and destination port in their first four bytes.

use super::info::{Layer, NoPortsReason, Ports};
use super::ip;
use crate::transport::Transport;

/// The layer of an IP protocol whose header starts with source and destination port.
pub(crate) fn transport_layer(protocol: u8) -> Option<Layer> {
    match protocol {
        ip::protocol::TCP => Some(Layer::Tcp),
        ip::protocol::UDP | ip::protocol::UDP_LITE => Some(Layer::Udp),
        ip::protocol::SCTP => Some(Layer::Sctp),
        ip::protocol::DCCP => Some(Layer::Dccp),
        _ => None,
    }
}

/// The ports of a transport header that starts with them (TCP, UDP, UDP-Lite, SCTP, DCCP all
/// put source and destination port in their first four bytes). `None` for other protocols;
/// a truncation error when fewer than four bytes were captured.
pub(crate) fn transport_ports(protocol: u8, header: &[u8]) -> Option<Result<Ports, NoPortsReason>> {
    let layer = transport_layer(protocol)?;
    let transport = match layer {
        Layer::Tcp => Transport::Tcp,
        Layer::Sctp => Transport::Sctp,
        Layer::Dccp => Transport::Dccp,
        _ => Transport::Udp,
    };
    Some(leading_ports(transport, layer, header))
}

/// Source and destination port, the first four bytes of `header`; a truncation error in
/// `layer` when fewer were captured.
#[inline]
pub(crate) fn leading_ports(
    transport: Transport,
    layer: Layer,
    header: &[u8],
) -> Result<Ports, NoPortsReason> {
    let [src_hi, src_lo, dst_hi, dst_lo] = *header
        .first_chunk::<4>()
        .ok_or(NoPortsReason::Truncated(layer))?;
    Ok(Ports {
        transport,
        src_port: u16::from_be_bytes([src_hi, src_lo]),
        dst_port: u16::from_be_bytes([dst_hi, dst_lo]),
    })
}

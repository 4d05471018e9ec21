//! The frame decoder against etherparse: every frame of every shared public capture is sliced by
//! etherparse's lax slicer (`LaxSlicedPacket`, which keeps what it could read before an error)
//! and decoded by ours, and wherever etherparse reaches a transport the two must agree.
//!
//! Link types: Ethernet (`from_ethernet`), raw IP of every flavour (`from_ip`), Linux SLL
//! (etherparse's `LinuxSllHeaderSlice`, then `from_ether_type`). NULL / LOOP (a 4-byte address
//! family) and SLL2 (a 20-byte header whose first field is the EtherType), which etherparse has
//! no slicer for, are handed to it past their link header. Other link types (PPP, NFLOG, ...)
//! are counted as not compared.
//!
//! The rule, with its principled differences (none per file):
//! - etherparse gives TCP or UDP: our ports, or, when we decapsulated a tunnel that rides on
//!   that transport (VXLAN, Geneve, GTP-U, Teredo, L2TP, MPLS in UDP), our outer ports, are
//!   the same transport and ports. etherparse does not look inside tunnels; we report the
//!   innermost transport and keep the outer one beside it.
//! - etherparse gives ICMP or ICMPv6: we give no ports, for the reason `icmp` (an error's
//!   quotation is reported apart, never as the packet's own).
//! - etherparse gives no transport (fragments, SCTP, DCCP, UDP-Lite, GRE, IP in IP, a header cut
//!   short, a link or network layer it does not know, an SLL hardware type whose protocol field
//!   it does not take for an EtherType): nothing to compare.
//! - LINKTYPE_IPV4 / LINKTYPE_IPV6 name the IP version: a packet of the other version is
//!   malformed for us and for tshark ("Bogus IPv6 version"), while etherparse's `from_ip`
//!   follows the version nibble. Not compared.
//! - An IPv6 Hop-by-Hop or Destination Options header whose options run past the header's end:
//!   we stop there (`malformed in ipv6-ext`, as tshark does), etherparse skips the header by
//!   its length field without reading the options. Allowed, and counted.

use crate::util;
use etherparse::TransportSlice;
use etherparse::{EtherType, LaxSlicedPacket, LinuxSllHeaderSlice, LinuxSllProtocolType};
use portnote::capture::CaptureReader;
use portnote::decode::{decode_frame, DecodeOptions, Layer, NoPortsReason, PacketInfo, Ports};
use portnote::linktype::LinkType;
use portnote::transport::Transport;
use std::collections::BTreeMap;

/// What etherparse reads at the top of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Theirs {
    Ports(Transport, u16, u16),
    Icmp,
    /// No transport it reads ports from, or a link type it has no slicer for.
    Nothing,
}

/// Slices `data` of `linktype` with etherparse.
fn slice(linktype: LinkType, data: &[u8]) -> Option<LaxSlicedPacket<'_>> {
    match linktype {
        LinkType::ETHERNET => LaxSlicedPacket::from_ethernet(data).ok(),
        LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14 => LaxSlicedPacket::from_ip(data).ok(),
        LinkType::IPV4 | LinkType::IPV6 => {
            let version = if linktype == LinkType::IPV4 { 4 } else { 6 };
            if data.first().map(|b| b >> 4) != Some(version) {
                return None;
            }
            LaxSlicedPacket::from_ip(data).ok()
        }
        LinkType::NULL | LinkType::LOOP => LaxSlicedPacket::from_ip(data.get(4..)?).ok(),
        LinkType::LINUX_SLL => {
            let sll = LinuxSllHeaderSlice::from_slice(data).ok()?;
            let LinuxSllProtocolType::EtherType(ether_type) = sll.protocol_type() else {
                return None;
            };
            Some(LaxSlicedPacket::from_ether_type(
                ether_type,
                data.get(sll.slice().len()..)?,
            ))
        }
        LinkType::LINUX_SLL2 => {
            let ether_type = u16::from_be_bytes([*data.first()?, *data.get(1)?]);
            Some(LaxSlicedPacket::from_ether_type(
                EtherType(ether_type),
                data.get(20..)?,
            ))
        }
        _ => None,
    }
}

fn theirs(linktype: LinkType, data: &[u8]) -> Option<Theirs> {
    let packet = slice(linktype, data)?;
    Some(match packet.transport {
        Some(TransportSlice::Tcp(tcp)) => {
            Theirs::Ports(Transport::Tcp, tcp.source_port(), tcp.destination_port())
        }
        Some(TransportSlice::Udp(udp)) => {
            Theirs::Ports(Transport::Udp, udp.source_port(), udp.destination_port())
        }
        Some(TransportSlice::Icmpv4(_) | TransportSlice::Icmpv6(_)) => Theirs::Icmp,
        _ => Theirs::Nothing,
    })
}

/// Our answer at the layer etherparse reads: the outer transport of a tunnel that rides on
/// one, else the packet's own.
fn ours(info: &PacketInfo) -> Theirs {
    let ports: Option<Ports> = match info.outer {
        Some(outer) => outer.ports,
        None => info.ports,
    };
    match (ports, info.reason) {
        (Some(p), _) => Theirs::Ports(p.transport, p.src_port, p.dst_port),
        (None, Some(NoPortsReason::Icmp)) => Theirs::Icmp,
        _ => Theirs::Nothing,
    }
}

#[test]
fn decoder_agrees_with_etherparse_wherever_it_reads_a_transport() {
    let Some(shared) = util::shared_dir("the decoder's comparison with etherparse") else {
        return;
    };
    let options = DecodeOptions::default();
    let mut compared = 0u64;
    let mut not_compared: BTreeMap<String, u64> = BTreeMap::new();
    let mut disagreements = Vec::new();
    let files = util::public_captures(&shared);
    assert!(files.len() >= 70, "{} captures", files.len());
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let Ok(mut reader) = CaptureReader::open(file) else {
            *not_compared.entry("unreadable file".into()).or_default() += 1;
            continue;
        };
        let mut index = 0u64;
        // A damaged capture ends in an error after its good records: compare those.
        while let Ok(Some(frame)) = reader.next_frame() {
            index += 1;
            let Some(expected) = theirs(frame.linktype, frame.data) else {
                let why = format!(
                    "link type {} not sliced by etherparse (or not as this link type says)",
                    frame.linktype.0
                );
                *not_compared.entry(why).or_default() += 1;
                continue;
            };
            if expected == Theirs::Nothing {
                *not_compared
                    .entry("etherparse reads no transport".into())
                    .or_default() += 1;
                continue;
            }
            compared += 1;
            let info = decode_frame(frame.linktype, frame.data, &options);
            let got = ours(&info);
            let options_overrun = matches!(expected, Theirs::Ports(..))
                && info.reason == Some(NoPortsReason::Malformed(Layer::Ipv6Ext));
            if options_overrun {
                *not_compared
                    .entry("IPv6 options run past their header: we stop, etherparse skips".into())
                    .or_default() += 1;
                continue;
            }
            if got != expected {
                disagreements.push(format!(
                    "{name} frame {index}: etherparse {expected:?}, ours {got:?} ({:?})",
                    info.reason
                ));
            }
        }
    }
    eprintln!("compared {compared} frames; not compared: {not_compared:?}");
    assert!(compared > 5000, "only {compared} frames compared");
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

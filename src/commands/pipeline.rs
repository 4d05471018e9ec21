//! The per-packet path shared by `annotate`, `summary` and `live`: decode, fragment
//! inheritance, flow attribution and aggregation. No I/O.

use crate::aggregate::Aggregator;
use crate::capture::Frame;
use crate::decode::{
    decode_frame_into, DecodeOptions, FragmentTracker, Layer, NoPortsReason, PacketInfo,
};
use crate::flow::{Attribution, FlowPacket, FlowStats, FlowTable, IdleTimeouts, Observed};
use crate::registry::Registry;

/// Datagrams whose first fragment is remembered at once.
pub(crate) const FRAGMENT_CAPACITY: usize = 4096;
/// How long a first fragment's ports are remembered (IPv4 reassembly timeouts are 15-60 s).
pub(crate) const FRAGMENT_TIMEOUT_NANOS: i64 = 60 * 1_000_000_000;

/// What the pipeline says of one packet.
#[derive(Debug, Clone, Copy)]
pub struct Processed<'r> {
    pub info: PacketInfo,
    /// The packet's flow and service, when it has ports.
    pub attribution: Option<Attribution<'r>>,
}

/// Decode, attribute and count packets, one at a time.
#[derive(Debug)]
pub struct Pipeline<'r> {
    registry: &'r Registry,
    options: DecodeOptions,
    fragments: FragmentTracker,
    flows: FlowTable,
    aggregator: Aggregator,
}

impl<'r> Pipeline<'r> {
    pub fn new(registry: &'r Registry, options: DecodeOptions, max_flows: usize) -> Self {
        Pipeline {
            registry,
            options,
            fragments: FragmentTracker::new(FRAGMENT_CAPACITY, FRAGMENT_TIMEOUT_NANOS),
            flows: FlowTable::new(max_flows, IdleTimeouts::default()),
            aggregator: Aggregator::default(),
        }
    }

    /// Keep every flow's first-packet decision, as a stream of per-packet records must
    /// (`annotate`), instead of settling flows whose ranks tied again at the end of input.
    pub fn deciding_on_first_packet(mut self) -> Self {
        self.flows = self.flows.deciding_on_first_packet();
        self
    }

    /// Keep every folded flow's service decision ([`Aggregator::flow_decisions`]).
    pub fn recording_flows(mut self) -> Self {
        self.aggregator.record_flows();
        self
    }

    /// Count one frame and say what it is: the decoded packet, its flow and service, and what
    /// the registry says of the service port (for `annotate`).
    pub fn process(&mut self, frame: &Frame<'_>) -> Processed<'r> {
        let (info, observed) = self.count_frame(frame);
        Processed {
            info,
            attribution: observed.map(|o| o.attribution(self.registry)),
        }
    }

    /// Count one frame, no more (`summary`, `live`): every frame lands in exactly one row or
    /// one no-ports reason.
    #[inline]
    pub fn count(&mut self, frame: &Frame<'_>) {
        self.count_frame(frame);
    }

    // Always inlined: `count` then never builds the 120-byte PacketInfo as a return value. The
    // decoder writes into `info` in place: a returned PacketInfo was copied in wide loads over
    // its narrow field stores, stalling store forwarding on every packet.
    #[inline(always)]
    fn count_frame(&mut self, frame: &Frame<'_>) -> (PacketInfo, Option<Observed>) {
        let mut info = PacketInfo::default();
        decode_frame_into(frame.linktype, frame.data, &self.options, &mut info);
        self.fragments.apply(frame.ts.saturating_nanos(), &mut info);
        self.aggregator.count_packet(frame.ts, frame.len);
        let observed = match FlowPacket::from_decoded(&info, frame.ts, frame.len) {
            Some(packet) => Some(
                self.flows
                    .observe(self.registry, &mut self.aggregator, &packet),
            ),
            None => {
                // Ports without addresses cannot come out of the decoder (every transport rides
                // on IP); should it ever happen the packet is still counted, as malformed.
                let reason = info.reason.unwrap_or(NoPortsReason::Malformed(Layer::Link));
                self.aggregator.count_no_ports(reason, frame.len);
                None
            }
        };
        (info, observed)
    }

    /// The counts [`finish`](Self::finish) would hand back now, with every live flow folded
    /// into a copy of the aggregator and left running: `live`'s interval snapshots.
    pub fn snapshot(&self) -> (Aggregator, FlowStats) {
        let mut aggregator = self.aggregator.clone();
        self.flows.fold_live_into(self.registry, &mut aggregator);
        (aggregator, self.flows.stats())
    }

    /// End of input: fold the live flows and hand back the counts.
    pub fn finish(mut self) -> (Aggregator, FlowStats) {
        self.flows.finish(self.registry, &mut self.aggregator);
        (self.aggregator, self.flows.stats())
    }
}

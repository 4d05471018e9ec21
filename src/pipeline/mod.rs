//! The per-packet engine shared by `annotate`, `summary` and `live`: decode, fragment
//! inheritance, flow attribution, and the finished flows handed to the aggregator (and to any
//! other [`FlowSink`]). Takes frames, gives back per-packet answers and, at the end, the
//! aggregator and flow statistics. No I/O, except the threads of [`ShardedPipeline`].
//!
//! - [`Pipeline`]: everything in the calling thread.
//! - [`ShardedPipeline`]: decoding in the calling thread, flows sharded over worker threads.
//! - [`ThreadPlan`]: how many threads do what, decided in one place.
//!
//! Both pipelines start every packet the same way (`PacketStart`: decode in place, fragments,
//! totals, no-ports reasons).

mod shard;
mod threads;

pub use shard::ShardedPipeline;
pub use threads::ThreadPlan;

use crate::aggregate::timeline::Lane;
use crate::aggregate::Aggregator;
use crate::capture::Frame;
use crate::decode::{
    decode_frame_into, DecodeOptions, FragmentTracker, Layer, NoPortsReason, PacketInfo,
};
use crate::flow::endpoints::{EndpointTable, LateDecisions};
use crate::flow::{
    Attribution, FlowPacket, FlowSink, FlowStats, FlowTable, IdleTimeouts, Observed, OuterEndpoints,
};
use crate::registry::Registry;

/// Datagrams whose first fragment is remembered at once.
const FRAGMENT_CAPACITY: usize = 4096;
/// How long a first fragment's ports are remembered (IPv4 reassembly timeouts are 15-60 s).
const FRAGMENT_TIMEOUT_NANOS: i64 = 60 * 1_000_000_000;

/// The start of every packet's path, in either pipeline: decode in place, fragment port
/// inheritance, the totals, and the no-ports reason of a packet without ports. What comes out
/// is a [`FlowPacket`] for the flow table, or nothing (the packet is fully counted).
///
/// Fragment inheritance needs every fragment of a datagram in capture order, so this always
/// runs in one thread.
#[derive(Debug)]
struct PacketStart {
    options: DecodeOptions,
    fragments: FragmentTracker,
    /// Totals and packets without ports; flows are folded into it (or a shard's) later.
    aggregator: Aggregator,
    /// The flow packet quoted by the last packet when that was an ICMP port unreachable: the
    /// caller marks that flow refused (the ICMP packet itself is counted under `icmp`).
    port_unreachable: Option<FlowPacket>,
}

impl PacketStart {
    fn new(options: DecodeOptions) -> Self {
        PacketStart {
            options,
            fragments: FragmentTracker::new(FRAGMENT_CAPACITY, FRAGMENT_TIMEOUT_NANOS),
            aggregator: Aggregator::default(),
            port_unreachable: None,
        }
    }

    /// Decode `frame` into `info` (fresh, default) and count it.
    ///
    /// Always inlined, and `info` is the caller's: a returned 120-byte PacketInfo was copied in
    /// wide loads over its narrow field stores, stalling store forwarding on every packet.
    #[inline(always)]
    fn start(&mut self, frame: &Frame<'_>, info: &mut PacketInfo) -> Option<FlowPacket> {
        decode_frame_into(frame.linktype, frame.data, &self.options, info);
        self.fragments.apply(frame.ts.saturating_nanos(), info);
        self.aggregator.count_packet(frame.ts, frame.len);
        let packet = FlowPacket::from_decoded(info, frame.ts, frame.len);
        if packet.is_none() {
            // Ports without addresses cannot come out of the decoder (every transport rides on
            // IP); should it ever happen the packet is still counted, as malformed.
            let reason = info.reason.unwrap_or(NoPortsReason::Malformed(Layer::Link));
            self.aggregator.count_no_ports(reason, frame.len);
            self.aggregator
                .count_in_timeline(Lane::NoPorts, frame.ts, frame.len);
            self.port_unreachable = FlowPacket::quoted_by_port_unreachable(info, frame.ts);
        }
        packet
    }
}

/// The timeline lane of a packet with ports: its flow's section, from the status the flow
/// cached with its service decision (no registry read per packet). The same section the flow's
/// fold puts its row in.
#[inline(always)]
fn lane_of(observed: &Observed) -> Lane {
    Lane::of_status(observed.service_status, observed.service_port)
}

/// Hands the flow table a tunnelled packet's outer endpoints before the packet: out of line,
/// so the packets outside tunnels pay one test.
#[inline(never)]
fn tunnelled_by(flows: &mut FlowTable, info: &PacketInfo) {
    if let Some(outer) = info.outer.as_ref().and_then(OuterEndpoints::of) {
        flows.tunnelled_by(outer);
    }
}

/// What the pipeline says of one packet.
#[derive(Debug, Clone, Copy)]
pub struct Processed<'r> {
    pub info: PacketInfo,
    /// The packet's flow and service, when it has ports.
    pub attribution: Option<Attribution<'r>>,
}

/// Decode, attribute and count packets, one at a time.
///
/// Every finished flow goes to the aggregator (the summary's rows) and then to `records`, a
/// second [`FlowSink`] for whoever wants the flows themselves; `()` by default, which costs
/// nothing.
#[derive(Debug)]
pub struct Pipeline<'r, S = ()> {
    registry: &'r Registry,
    start: PacketStart,
    flows: FlowTable,
    records: S,
}

impl<'r> Pipeline<'r> {
    pub fn new(registry: &'r Registry, options: DecodeOptions, max_flows: usize) -> Self {
        Pipeline::with_sink(registry, options, max_flows, ())
    }
}

impl<'r, S: FlowSink> Pipeline<'r, S> {
    /// A pipeline that also hands every finished flow to `records`.
    pub fn with_sink(
        registry: &'r Registry,
        options: DecodeOptions,
        max_flows: usize,
        records: S,
    ) -> Self {
        Pipeline {
            registry,
            start: PacketStart::new(options),
            flows: FlowTable::new(max_flows, IdleTimeouts::default()),
            records,
        }
    }

    /// Keep every flow's first-packet decision, as a stream of per-packet records must
    /// (`annotate`), instead of settling flows whose ranks tied again at the end of input.
    pub fn deciding_on_first_packet(mut self) -> Self {
        self.flows = self.flows.deciding_on_first_packet();
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

    // Always inlined: `count` then never builds the 120-byte PacketInfo as a return value.
    // The packet's branch is written out rather than an `Option::map` closure: the closure
    // was a function of its own, not inlined into `summary`'s loop, and the packet went to it
    // through memory.
    #[inline(always)]
    fn count_frame(&mut self, frame: &Frame<'_>) -> (PacketInfo, Option<Observed>) {
        let mut info = PacketInfo::default();
        let observed = match self.start.start(frame, &mut info) {
            Some(packet) => {
                if packet.tunnel.is_some() {
                    tunnelled_by(&mut self.flows, &info);
                }
                let mut sinks = (&mut self.start.aggregator, &mut self.records);
                let observed = self.flows.observe(self.registry, &mut sinks, &packet);
                self.start.aggregator.count_in_timeline(
                    lane_of(&observed),
                    packet.ts,
                    packet.wire_len,
                );
                Some(observed)
            }
            // Only a packet without ports can quote one (an ICMP port unreachable), so only
            // such a packet looks: not a read and a write on every packet.
            None => {
                if let Some(quoted) = self.start.port_unreachable.take() {
                    self.flows.mark_port_unreachable(&quoted);
                }
                None
            }
        };
        (info, observed)
    }

    /// The second sink, between frames (`flows` writes the records it holds after each frame).
    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.records
    }

    /// The counts [`finish`](Self::finish) would hand back now, with every live flow folded
    /// into a copy of the aggregator and left running: `live`'s interval snapshots.
    /// (`records` sees none of these: they have not ended.)
    pub fn snapshot(&self) -> (Aggregator, FlowStats) {
        let mut aggregator = self.start.aggregator.clone();
        self.flows.snapshot_into(self.registry, &mut aggregator);
        (aggregator, self.flows.stats())
    }

    /// Hand every live flow to the second sink as an [`EndReason::Snapshot`] record without
    /// ending it (held tied flows too, settled as they would be now): `live --ipfix`'s interim
    /// records. The aggregator sees none of these.
    ///
    /// [`EndReason::Snapshot`]: crate::flow::EndReason::Snapshot
    pub fn snapshot_records(&mut self) {
        self.flows.snapshot_into(self.registry, &mut self.records);
    }

    /// The counts of the flows that have ended so far (and the packets without ports), without
    /// the live flows: what no later packet can change (`live --metrics` counts unanswered
    /// flows from these, since a live flow's reply state is not final).
    pub fn ended(&self) -> &Aggregator {
        &self.start.aggregator
    }

    /// Flows held in the flow table now.
    pub fn live_flows(&self) -> usize {
        self.flows.len()
    }

    /// End of input: hand on the live flows and give back the counts.
    pub fn finish(self) -> (Aggregator, FlowStats) {
        let (aggregator, stats, _) = self.finish_with_sink();
        (aggregator, stats)
    }

    /// End of one of several inputs counted apart (files read in parallel): hand on the live
    /// flows except the tied ones, which [`merge_parts`] settles with every part's fan-in, as
    /// one table would.
    pub fn finish_part(mut self) -> Part {
        let mut sinks = (&mut self.start.aggregator, &mut self.records);
        let late = self.flows.finish_unsettled(self.registry, &mut sinks);
        Part {
            aggregator: self.start.aggregator,
            stats: self.flows.stats(),
            late,
        }
    }

    /// [`finish`](Self::finish), also giving back the second sink.
    pub fn finish_with_sink(mut self) -> (Aggregator, FlowStats, S) {
        let mut sinks = (&mut self.start.aggregator, &mut self.records);
        self.flows.finish(self.registry, &mut sinks);
        (self.start.aggregator, self.flows.stats(), self.records)
    }
}

/// The counts of one input counted apart ([`Pipeline::finish_part`]), its tied flows unsettled.
#[derive(Debug)]
pub struct Part {
    aggregator: Aggregator,
    stats: FlowStats,
    late: LateDecisions,
}

/// The parts' counts as one: aggregators and statistics added (`peak` becomes the sum of the
/// parts' peaks, an upper bound), and every part's tied flows settled with the fan-in counts of
/// all parts, so they are settled as one table over all inputs would settle them.
pub fn merge_parts(registry: &Registry, parts: Vec<Part>) -> (Aggregator, FlowStats) {
    let mut endpoints = EndpointTable::default();
    for part in &parts {
        endpoints.merge(part.late.endpoints());
    }
    let mut aggregator = Aggregator::default();
    let mut stats = FlowStats::default();
    for part in parts {
        aggregator.merge(part.aggregator);
        stats = shard::merge_stats(stats, part.stats);
        part.late.settle_with(registry, &endpoints, &mut aggregator);
    }
    (aggregator, stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureReader;
    use crate::flow::{EndReason, FlowRecord};

    /// A second sink sees every flow the rows count, once: the same packets, bytes and flows.
    #[test]
    fn a_second_sink_gets_every_flow_the_rows_count() {
        let registry = Registry::embedded().unwrap();
        let capture = portnote_synth::SynthConfig::new(portnote_synth::Kind::Mix)
            .packets(20_000)
            .to_bytes()
            .unwrap();
        let mut frames =
            CaptureReader::from_reader("mix", Box::new(std::io::Cursor::new(capture))).unwrap();
        let mut pipeline =
            Pipeline::with_sink(&registry, DecodeOptions::default(), 100_000, Vec::new());
        while let Some(frame) = frames.next_frame().unwrap() {
            pipeline.count(&frame);
        }
        let (aggregator, stats, records): (_, _, Vec<FlowRecord>) = pipeline.finish_with_sink();
        let rows = |f: fn(&crate::aggregate::Row) -> u64| aggregator.rows().map(f).sum::<u64>();
        assert_eq!(
            records.iter().map(FlowRecord::packets).sum::<u64>(),
            rows(crate::aggregate::Row::packets)
        );
        assert_eq!(
            records.iter().map(FlowRecord::bytes).sum::<u64>(),
            rows(crate::aggregate::Row::bytes)
        );
        assert_eq!(records.len() as u64, rows(|row| row.flows));
        assert_eq!(records.len() as u64, stats.flows);
        let ended = |reason| records.iter().filter(|r| r.end == reason).count() as u64;
        assert!(ended(EndReason::CaptureEnd) > 0);
        assert!(
            ended(EndReason::Fin) + ended(EndReason::Rst) > 0,
            "closed TCP flows"
        );
        assert_eq!(ended(EndReason::Revised), stats.revised);
    }
}

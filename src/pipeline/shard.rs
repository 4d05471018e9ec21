//! `summary --threads N` for N of 3 or more: the per-packet path of
//! [`super::Pipeline`] split over threads, with the same results as one thread. (The
//! file reading has a thread of its own, see [`crate::capture::CaptureReader::read_ahead`]; with
//! `--threads 2` that thread and one `Pipeline` are all.)
//!
//! The calling thread decodes the frames, applies fragment port inheritance (which needs every
//! fragment of a datagram in capture order, so it stays here) and counts totals and packets
//! without ports. Each packet with ports goes, by a hash of its direction-free flow key, to one
//! of the `N - 2` workers; a worker owns its shard of the flows (its own [`FlowTable`] and
//! [`Aggregator`]), so nothing on the per-packet path takes a lock.
//! Packets travel in batches over bounded channels, and the emptied batches travel back, so the
//! steady state allocates nothing. At the end the aggregators are merged.
//!
//! Why the results equal one thread's: a flow's packets all reach one worker, in capture order;
//! the idle sweeps are timed by one [`SweepClock`] run by the reader over the whole packet
//! sequence and sent to every worker in sequence, so each flow is swept at the same point as in a
//! single table; the rows are order-independent sums (the servers kept per row are the lowest
//! addresses, not the first folded). The one exception is `--max-flows`: each worker holds at
//! most its share, so a capture that fills the table evicts differently. Flows whose ranks tied
//! are held by each worker and settled only after the join, with every shard's endpoint fan-in
//! counts merged ([`crate::flow::endpoints::LateDecisions`]), so they too come out as one
//! table's.

use super::{lane_of, PacketStart};
use crate::aggregate::Aggregator;
use crate::capture::Frame;
use crate::decode::{DecodeOptions, PacketInfo};
use crate::flow::endpoints::{EndpointTable, LateDecisions};
use crate::flow::{
    FlowPacket, FlowSink, FlowStats, FlowTable, IdleTimeouts, OuterEndpoints, SweepClock,
};
use crate::registry::Registry;
use std::hash::BuildHasher;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

/// Events per batch: large enough that a channel operation is rare per packet, small enough
/// that a worker starts before the reader has read much.
const BATCH_LEN: usize = 2048;
/// Batches in flight per worker (bounds memory when the workers fall behind).
const BATCHES_IN_FLIGHT: usize = 8;

/// What the reader sends a worker.
#[derive(Debug, Clone, Copy)]
enum Event {
    /// Sweep idle flows at this capture time (ns), before the packets that follow.
    Sweep(i64),
    Packet(FlowPacket),
    /// An ICMP port unreachable quoted this packet of a flow of the shard: mark it refused.
    PortUnreachable(FlowPacket),
    /// The outer endpoints of the tunnelled packet that follows (no bigger than a packet, so
    /// events stay their size).
    Tunnelled(OuterEndpoints),
}

/// The reader's end of one worker.
struct WorkerLink<'scope, S> {
    batch: Vec<Event>,
    full: SyncSender<Vec<Event>>,
    empty: Receiver<Vec<Event>>,
    handle: ScopedJoinHandle<'scope, (Aggregator, FlowStats, S, LateDecisions)>,
}

impl<S> WorkerLink<'_, S> {
    fn push(&mut self, event: Event) {
        self.batch.push(event);
        if self.batch.len() >= BATCH_LEN {
            self.send();
        }
    }

    /// Hand the batch over and take an emptied one back (or a new one while the pool fills).
    fn send(&mut self) {
        let next = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH_LEN));
        let batch = std::mem::replace(&mut self.batch, next);
        // A worker only stops receiving when it panicked; join() below reports that.
        let _ = self.full.send(batch);
    }
}

/// The reader half: decode, fragments, totals; routes packets with ports to the workers.
///
/// Each worker hands its finished flows to its own aggregator and then to its own second
/// [`FlowSink`] (`()` by default: nothing), as [`super::Pipeline::with_sink`] does in one thread.
/// Records of different shards interleave in no fixed order.
pub struct ShardedPipeline<'scope, S = ()> {
    /// For settling the flows whose ranks tied, once every shard has counted its endpoints.
    registry: &'scope Registry,
    start: PacketStart,
    clock: SweepClock,
    workers: Vec<WorkerLink<'scope, S>>,
    /// Fixed seed: which worker a flow goes to is the same in every run.
    shard_hasher: foldhash::fast::FixedState,
}

impl<'scope> ShardedPipeline<'scope> {
    /// A reader with `workers` flow shards (at least one) spawned in `scope`; each shard holds
    /// at most its share of `max_flows`.
    pub fn new<'env>(
        scope: &'scope Scope<'scope, 'env>,
        registry: &'env Registry,
        options: DecodeOptions,
        max_flows: usize,
        workers: usize,
    ) -> Self {
        ShardedPipeline::with_sinks(scope, registry, options, max_flows, workers, || ())
    }

    /// End of input: flush the batches, let the workers hand on their flows, merge everything.
    pub fn finish(self) -> Result<(Aggregator, FlowStats), crate::Error> {
        let (aggregator, stats, _) = self.finish_with_sinks()?;
        Ok((aggregator, stats))
    }
}

impl<'scope, S: FlowSink + Send + 'scope> ShardedPipeline<'scope, S> {
    /// [`new`](ShardedPipeline::new), with a second sink per worker made by `sink`.
    pub fn with_sinks<'env>(
        scope: &'scope Scope<'scope, 'env>,
        registry: &'env Registry,
        options: DecodeOptions,
        max_flows: usize,
        workers: usize,
        mut sink: impl FnMut() -> S,
    ) -> Self {
        let workers = workers.max(1);
        let per_shard = max_flows.div_ceil(workers);
        let links = (0..workers)
            .map(|_| {
                let (full_tx, full_rx) = sync_channel::<Vec<Event>>(BATCHES_IN_FLIGHT);
                let (empty_tx, empty_rx) = sync_channel::<Vec<Event>>(BATCHES_IN_FLIGHT + 2);
                let records = sink();
                let handle = scope
                    .spawn(move || run_worker(registry, per_shard, records, &full_rx, &empty_tx));
                WorkerLink {
                    batch: Vec::with_capacity(BATCH_LEN),
                    full: full_tx,
                    empty: empty_rx,
                    handle,
                }
            })
            .collect();
        ShardedPipeline {
            registry,
            start: PacketStart::new(options),
            clock: SweepClock::default(),
            workers: links,
            shard_hasher: foldhash::fast::FixedState::with_seed(0x706f_7274_6e6f_7465),
        }
    }

    /// Count one frame (as [`super::Pipeline::count`] does; the flow attribution happens later,
    /// in a worker).
    pub fn process(&mut self, frame: &Frame<'_>) {
        let mut info = PacketInfo::default();
        let Some(packet) = self.start.start(frame, &mut info) else {
            // The quoted flow lives in the shard its own packets go to; the mark travels in
            // capture order with them, so it finds the flow exactly as one table would.
            if let Some(quoted) = self.start.port_unreachable.take() {
                let shard = self.shard_of(&quoted);
                if let Some(worker) = self.workers.get_mut(shard) {
                    worker.push(Event::PortUnreachable(quoted));
                }
            }
            return;
        };
        let now = frame.ts.saturating_nanos();
        if self.clock.due(now) {
            for worker in &mut self.workers {
                worker.push(Event::Sweep(now));
            }
        }
        let shard = self.shard_of(&packet);
        if let Some(worker) = self.workers.get_mut(shard) {
            if packet.tunnel.is_some() {
                if let Some(outer) = info.outer.as_ref().and_then(OuterEndpoints::of) {
                    worker.push(Event::Tunnelled(outer));
                }
            }
            worker.push(Event::Packet(packet));
        }
    }

    /// The worker that holds `packet`'s flow.
    #[inline(always)]
    fn shard_of(&self, packet: &FlowPacket) -> usize {
        match self.workers.len() {
            1 => 0,
            workers => {
                let hash = self.shard_hasher.hash_one(packet.packed_key().0);
                // Reduce the 64-bit hash to 0..workers by multiply-shift (no division).
                ((u128::from(hash) * workers as u128) >> 64) as usize
            }
        }
    }

    /// End of input: flush the batches, let the workers hand on their flows, merge the counts
    /// and give back every worker's second sink. A worker that panicked is an error (it cannot
    /// happen without a bug: no input panics).
    pub fn finish_with_sinks(self) -> Result<(Aggregator, FlowStats, Vec<S>), crate::Error> {
        let mut aggregator = self.start.aggregator;
        let mut stats = FlowStats::default();
        let mut sinks = Vec::with_capacity(self.workers.len());
        let mut lates = Vec::with_capacity(self.workers.len());
        let mut handles = Vec::with_capacity(self.workers.len());
        for mut worker in self.workers {
            if !worker.batch.is_empty() {
                worker.send();
            }
            // Dropping the sender ends the worker's loop.
            drop(worker.full);
            handles.push(worker.handle);
        }
        for handle in handles {
            let (shard, shard_stats, records, late) = handle.join().map_err(|_| {
                crate::Error::Internal("a summary worker thread panicked".to_string())
            })?;
            aggregator.merge(shard);
            stats = merge_stats(stats, shard_stats);
            sinks.push(records);
            lates.push(late);
        }
        // Tied flows are settled with every shard's fan-in counts, as one table would, each
        // into the aggregator and its own shard's sink.
        let mut endpoints = EndpointTable::default();
        for late in &lates {
            endpoints.merge(late.endpoints());
        }
        for (late, records) in lates.into_iter().zip(&mut sinks) {
            late.settle_with(self.registry, &endpoints, &mut (&mut aggregator, records));
        }
        Ok((aggregator, stats, sinks))
    }
}

/// One worker: a flow table, an aggregator and a second sink over its shard.
fn run_worker<S: FlowSink>(
    registry: &Registry,
    max_flows: usize,
    mut records: S,
    full: &Receiver<Vec<Event>>,
    empty: &SyncSender<Vec<Event>>,
) -> (Aggregator, FlowStats, S, LateDecisions) {
    let mut flows = FlowTable::new(max_flows, IdleTimeouts::default());
    let mut aggregator = Aggregator::default();
    while let Ok(mut batch) = full.recv() {
        let mut sinks = (&mut aggregator, &mut records);
        for event in batch.drain(..) {
            match event {
                Event::Sweep(now) => flows.sweep(registry, &mut sinks, now),
                Event::Packet(p) => {
                    let observed = flows.observe_unswept(registry, &mut sinks, &p);
                    sinks
                        .0
                        .count_in_timeline(lane_of(&observed), p.ts, p.wire_len);
                }
                Event::PortUnreachable(p) => flows.mark_port_unreachable(&p),
                Event::Tunnelled(outer) => flows.tunnelled_by(outer),
            }
        }
        // The reader may have stopped taking batches back (it finished): then drop this one.
        let _ = empty.try_send(batch);
    }
    let late = flows.finish_unsettled(registry, &mut (&mut aggregator, &mut records));
    (aggregator, flows.stats(), records, late)
}

/// Shard statistics added up; `peak` becomes the sum of the shards' peaks (an upper bound).
pub(super) fn merge_stats(a: FlowStats, b: FlowStats) -> FlowStats {
    FlowStats {
        flows: a.flows.saturating_add(b.flows),
        expired: a.expired.saturating_add(b.expired),
        evicted: a.evicted.saturating_add(b.evicted),
        revised: a.revised.saturating_add(b.revised),
        peak: a.peak.saturating_add(b.peak),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::RowKey;
    use crate::capture::CaptureReader;
    use crate::pipeline::Pipeline;
    use std::net::IpAddr;

    type RowCounts = Vec<(RowKey, u64, u64, u64, Vec<IpAddr>)>;

    fn rows(aggregator: &Aggregator) -> RowCounts {
        let mut rows: RowCounts = aggregator
            .rows()
            .map(|r| {
                let servers = r.servers.iter().copied().collect();
                (r.key(), r.flows, r.packets(), r.bytes(), servers)
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows
    }

    fn reader(capture: &[u8]) -> CaptureReader {
        CaptureReader::from_reader("mix", Box::new(std::io::Cursor::new(capture.to_vec()))).unwrap()
    }

    /// Every frame of a synthetic mix (60k packets, over a thousand flows, twelve seconds, closed
    /// TCP flows expiring) through one pipeline and through a reader with three shards: the same
    /// rows, reasons, totals and flow counts.
    #[test]
    fn three_shards_count_what_one_pipeline_counts() {
        let registry = Registry::embedded().unwrap();
        let options = DecodeOptions::default();
        let capture = portnote_synth::SynthConfig::new(portnote_synth::Kind::Mix)
            .packets(60_000)
            .to_bytes()
            .unwrap();

        let mut single = Pipeline::new(&registry, options, 100_000);
        let mut frames = reader(&capture);
        while let Some(frame) = frames.next_frame().unwrap() {
            single.process(&frame);
        }
        let (one, one_stats) = single.finish();

        let (sharded, sharded_stats) = std::thread::scope(|scope| {
            let mut pipeline = ShardedPipeline::new(scope, &registry, options, 100_000, 3);
            let mut frames = reader(&capture);
            while let Some(frame) = frames.next_frame().unwrap() {
                pipeline.process(&frame);
            }
            pipeline.finish().unwrap()
        });

        assert!(one_stats.expired > 100, "{one_stats:?}");
        assert_eq!(one.totals().packets, 60_000);
        assert_eq!(sharded.totals(), one.totals());
        assert_eq!(sharded.no_ports(), one.no_ports());
        assert_eq!(rows(&sharded), rows(&one));
        assert_eq!(sharded.accounted_packets(), one.totals().packets);
        assert_eq!(
            (
                sharded_stats.flows,
                sharded_stats.expired,
                sharded_stats.revised
            ),
            (one_stats.flows, one_stats.expired, one_stats.revised)
        );
    }

    /// The second sinks of three shards get the flows one pipeline's sink gets: the same records
    /// (flow ids aside: each table numbers its own), ends included.
    #[test]
    fn shard_sinks_get_the_flows_one_pipeline_hands_on() {
        use crate::flow::FlowRecord;
        let registry = Registry::embedded().unwrap();
        let options = DecodeOptions::default();
        // A mix, with VLAN-tagged flows and tunnels (whose outer endpoints travel to the
        // shards as events of their own) among them.
        let mut capture = portnote_synth::SynthConfig::new(portnote_synth::Kind::Mix)
            .packets(20_000)
            .to_bytes()
            .unwrap();
        let tunnels = portnote_synth::SynthConfig::new(portnote_synth::Kind::Tunnels)
            .to_bytes()
            .unwrap();
        // Both are pcap files of one link type: the tunnels' records after the mix's header.
        capture.extend_from_slice(&tunnels[24..]);
        let normalized = |records: Vec<FlowRecord>| {
            let mut all: Vec<String> = records
                .into_iter()
                .map(|r| format!("{:?}", FlowRecord { id: 0, ..r }))
                .collect();
            all.sort();
            all
        };

        let mut single = Pipeline::with_sink(&registry, options, 100_000, Vec::new());
        let mut frames = reader(&capture);
        while let Some(frame) = frames.next_frame().unwrap() {
            single.count(&frame);
        }
        let (_, _, one) = single.finish_with_sink();

        let sharded = std::thread::scope(|scope| {
            let mut pipeline =
                ShardedPipeline::with_sinks(scope, &registry, options, 100_000, 3, Vec::new);
            let mut frames = reader(&capture);
            while let Some(frame) = frames.next_frame().unwrap() {
                pipeline.process(&frame);
            }
            let (_, _, sinks) = pipeline.finish_with_sinks().unwrap();
            sinks
        });
        assert_eq!(sharded.len(), 3);
        assert!(sharded.iter().all(|records| !records.is_empty()));
        assert!(one.len() > 100, "{}", one.len());
        assert!(one.iter().any(|r| r.encap.outer.is_some()));
        assert!(one.iter().any(|r| r.encap.vlans.vlan.is_some()));
        assert_eq!(normalized(sharded.concat()), normalized(one));
    }

    #[test]
    fn stats_of_shards_add_up() {
        let a = FlowStats {
            flows: 3,
            expired: 1,
            evicted: 0,
            revised: 2,
            peak: 3,
        };
        let b = FlowStats {
            flows: 4,
            expired: 2,
            evicted: 1,
            revised: 0,
            peak: 2,
        };
        let sum = merge_stats(a, b);
        assert_eq!(
            (sum.flows, sum.expired, sum.evicted, sum.revised, sum.peak),
            (7, 3, 1, 2, 5)
        );
    }
}

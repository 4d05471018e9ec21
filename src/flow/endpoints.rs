//! Endpoint fan-in: in how many flows each (transport, address, port) endpoint was seen.
//!
//! Takes the two endpoints of every new flow and counts them; answers how many flows an
//! endpoint was seen in, for rule 3 of [`super::service_port`] (a server's port meets many
//! peers, a client's port one). A flow re-created on the same endpoints after it ended counts
//! again for both, which leaves their comparison unchanged. No I/O.
//!
//! Memory is bounded like the flow table's: at most `max_endpoints` are held. When a new
//! endpoint would pass that, the endpoints seen in one flow only are dropped (the clients'
//! ephemeral ports, most of any table) and, if that frees less than half, every count is halved
//! and the zeros dropped. Counts are then approximate, and sharded tables (which each hold a
//! share of the bound) may disagree with one table: the same exception as `--max-flows`.
//! Tables of disjoint flows [`merge`](EndpointTable::merge) by adding counts.

use super::service_port::{choose_service_side, ServiceSide, Sides};
use super::{FlowRecord, FlowSink, PackedKey};
use crate::decode::Ports;
use crate::registry::Registry;
use hashbrown::HashTable;
use std::collections::HashMap;

/// An endpoint packed as three words: the address's high and low 64 bits, then
/// port << 16 | transport << 8 | 1 for IPv6 (the layout of [`PackedKey`]'s words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct PackedEndpoint([u64; 3]);

impl std::hash::Hash for PackedEndpoint {
    /// Word by word: the derived hash of the array hashed it as a 24-byte slice with a length
    /// prefix, through foldhash's long-input path (measured: 420 instructions a new flow).
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for word in self.0 {
            state.write_u64(word);
        }
    }
}

impl PackedEndpoint {
    /// Endpoint `a` (`first` true) or `b` of a flow key.
    fn of(key: &PackedKey, first: bool) -> PackedEndpoint {
        let [a_hi, a_lo, b_hi, b_lo, meta] = key.0;
        let family_transport = meta & 0xff_0001;
        if first {
            PackedEndpoint([a_hi, a_lo, ((meta >> 48) << 32) | family_transport])
        } else {
            PackedEndpoint([
                b_hi,
                b_lo,
                (((meta >> 32) & 0xffff) << 32) | family_transport,
            ])
        }
    }
}

/// An IPv4 endpoint as 50 bits: address << 18 | port << 2 | transport.
type V4Key = u64;

impl PackedEndpoint {
    /// The short form, for an IPv4 endpoint.
    fn v4(&self) -> Option<V4Key> {
        let [hi, lo, rest] = self.0;
        let port = (rest >> 32) & 0xffff;
        let transport = (rest >> 16) & 0xff;
        (rest & 1 == 0 && hi == 0 && lo >> 32 == 0 && transport < 4)
            .then_some((lo << 18) | (port << 2) | transport)
    }
}

/// Bits of a [`V4Counts`] entry that hold the count.
const COUNT_BITS: u32 = 14;
/// An entry's count at this value means "this or more, see [`V4Counts::big`]".
const COUNT_MAX: u64 = (1 << COUNT_BITS) - 1;

/// Flows per IPv4 endpoint, one 8-byte word an endpoint: the [`V4Key`] in the high 50 bits,
/// the count in the low 14. The table of a million live flows holds up to 1.75 million
/// endpoints, so the entry's size is most of the endpoint counts' memory (12-byte entries in a
/// `HashMap<key, u32>` took 8 bytes a live flow more). The few endpoints seen in
/// [`COUNT_MAX`] flows or more (servers) keep their exact count in a side map.
#[derive(Debug, Clone, Default)]
struct V4Counts {
    table: HashTable<u64>,
    /// The counts of the entries whose own count is [`COUNT_MAX`].
    big: HashMap<V4Key, u32, foldhash::fast::FixedState>,
    hasher: foldhash::fast::FixedState,
}

impl V4Counts {
    fn hash(hasher: &foldhash::fast::FixedState, key: V4Key) -> u64 {
        use std::hash::BuildHasher;
        hasher.hash_one(key)
    }

    fn len(&self) -> usize {
        self.table.len()
    }

    fn capacity(&self) -> usize {
        self.table.capacity()
    }

    fn reserve(&mut self, additional: usize) {
        let hasher = &self.hasher;
        self.table
            .reserve(additional, |&entry| Self::hash(hasher, entry >> COUNT_BITS));
    }

    /// The count of the entry `entry` (key and inline count).
    fn count_of(&self, entry: u64) -> u32 {
        let inline = entry & COUNT_MAX;
        if inline == COUNT_MAX {
            self.big
                .get(&(entry >> COUNT_BITS))
                .copied()
                .unwrap_or(COUNT_MAX as u32)
        } else {
            inline as u32
        }
    }

    fn get(&self, key: V4Key) -> u32 {
        self.table
            .find(Self::hash(&self.hasher, key), |&entry| {
                entry >> COUNT_BITS == key
            })
            .map_or(0, |&entry| self.count_of(entry))
    }

    /// One more flow for `key` (inserted when new); the count before.
    fn bump(&mut self, key: V4Key) -> u32 {
        let hasher = &self.hasher;
        let entry = self.table.entry(
            Self::hash(hasher, key),
            |&entry| entry >> COUNT_BITS == key,
            |&entry| Self::hash(hasher, entry >> COUNT_BITS),
        );
        match entry {
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                vacant.insert((key << COUNT_BITS) | 1);
                0
            }
            hashbrown::hash_table::Entry::Occupied(mut occupied) => {
                let word = occupied.get_mut();
                let inline = *word & COUNT_MAX;
                if inline + 1 < COUNT_MAX {
                    *word += 1;
                    inline as u32
                } else if inline + 1 == COUNT_MAX {
                    *word |= COUNT_MAX;
                    self.big.insert(key, COUNT_MAX as u32);
                    inline as u32
                } else {
                    let count = self.big.entry(key).or_insert(COUNT_MAX as u32);
                    let before = *count;
                    *count = before.saturating_add(1);
                    before
                }
            }
        }
    }

    /// Sets `key`'s count (inserted when new); 0 is kept as a count like any other.
    fn set(&mut self, key: V4Key, count: u32) {
        let inline = u64::from(count).min(COUNT_MAX);
        if inline == COUNT_MAX {
            self.big.insert(key, count);
        } else {
            self.big.remove(&key);
        }
        let hasher = &self.hasher;
        let word = (key << COUNT_BITS) | inline;
        match self.table.entry(
            Self::hash(hasher, key),
            |&entry| entry >> COUNT_BITS == key,
            |&entry| Self::hash(hasher, entry >> COUNT_BITS),
        ) {
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                vacant.insert(word);
            }
            hashbrown::hash_table::Entry::Occupied(mut occupied) => {
                *occupied.get_mut() = word;
            }
        }
    }

    /// Every endpoint and its count.
    fn iter(&self) -> impl Iterator<Item = (V4Key, u32)> + '_ {
        self.table
            .iter()
            .map(|&entry| (entry >> COUNT_BITS, self.count_of(entry)))
    }

    /// Keeps the endpoints whose count `keep` keeps (after it changed it), taken out and put
    /// back (see [`EndpointTable::prune`]); the allocation stays.
    fn retain(&mut self, keep: impl Fn(&mut u32) -> bool) {
        let kept: Vec<(V4Key, u32)> = self
            .iter()
            .filter_map(|(key, mut count)| keep(&mut count).then_some((key, count)))
            .collect();
        self.table.clear();
        self.big.clear();
        for (key, count) in kept {
            self.set(key, count);
        }
    }
}

type Counts<K> = HashMap<K, u32, foldhash::fast::FixedState>;

/// IPv4 endpoints a new [`EndpointTable`] has room for before it first grows.
const INITIAL_ENDPOINTS: usize = 4096;

/// Flows per endpoint, bounded.
#[derive(Debug, Clone, Default)]
pub struct EndpointTable {
    /// IPv4 endpoints, short.
    v4: V4Counts,
    /// The others (IPv6).
    wide: Counts<PackedEndpoint>,
    max_endpoints: usize,
}

impl EndpointTable {
    /// A table that holds at most `max_endpoints` (at least 2).
    pub fn new(max_endpoints: usize) -> Self {
        let mut v4 = V4Counts::default();
        // The first few thousand at once (32 KiB), as the flow index does: growing to them one
        // doubling at a time moved every endpoint again (measured: 40 instructions a new flow).
        v4.reserve(max_endpoints.min(INITIAL_ENDPOINTS));
        EndpointTable {
            v4,
            wide: HashMap::default(),
            max_endpoints: max_endpoints.max(2),
        }
    }

    /// Endpoints held.
    pub fn len(&self) -> usize {
        self.v4.len() + self.wide.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get(&self, endpoint: &PackedEndpoint) -> u32 {
        match endpoint.v4() {
            Some(v4) => self.v4.get(v4),
            None => self.wide.get(endpoint).copied().unwrap_or(0),
        }
    }

    /// One more flow for the endpoint (inserted when new); its count before.
    fn bump(&mut self, endpoint: PackedEndpoint) -> u32 {
        match endpoint.v4() {
            Some(v4) => self.v4.bump(v4),
            None => {
                let count = self.wide.entry(endpoint).or_insert(0);
                let before = *count;
                *count = before.saturating_add(1);
                before
            }
        }
    }

    /// Room for the bound's IPv4 endpoints now, while the flow table is half full: the table
    /// would otherwise double when the flow table is nearly full, holding both sizes at once
    /// at the moment memory peaks (measured: 40 MB more at a million flows).
    pub(crate) fn reserve_bound(&mut self) {
        let wanted = self.max_endpoints.saturating_sub(self.v4.len());
        if self.v4.capacity() < self.max_endpoints {
            self.v4.reserve(wanted);
        }
    }

    /// Flows seen so far with endpoint `a` and with endpoint `b` of `key`.
    pub(crate) fn counts(&self, key: &PackedKey) -> (u32, u32) {
        (
            self.get(&PackedEndpoint::of(key, true)),
            self.get(&PackedEndpoint::of(key, false)),
        )
    }

    /// [`counts`](Self::counts), then [`add_flow`](Self::add_flow): the fan-in of the flows
    /// before a new flow on `key`, and the new flow counted. One hash per endpoint when nothing
    /// can be pruned and the endpoints differ; otherwise exactly the two calls.
    pub(crate) fn counts_then_add(&mut self, key: &PackedKey) -> (u32, u32) {
        let (a, b) = (
            PackedEndpoint::of(key, true),
            PackedEndpoint::of(key, false),
        );
        if a == b || self.len().saturating_add(2) > self.max_endpoints {
            let counts = self.counts(key);
            self.add_flow(key);
            return counts;
        }
        (self.bump(a), self.bump(b))
    }

    /// A new flow on `key`: one more for both of its endpoints.
    pub(crate) fn add_flow(&mut self, key: &PackedKey) {
        for first in [true, false] {
            let endpoint = PackedEndpoint::of(key, first);
            if self.get(&endpoint) == 0 && self.len() >= self.max_endpoints {
                self.prune();
            }
            self.bump(endpoint);
        }
    }

    /// Make room: drop the endpoints seen once; if that freed less than half, halve every count
    /// and drop the zeros. Each pruning follows at least as many insertions as it costs.
    ///
    /// The kept endpoints are taken out and put back rather than the others removed in place:
    /// removing most of a hash table filled to 83 % leaves tombstones that later insertions
    /// cannot reuse as free room, and the table then doubled while near full (measured: 27 MB
    /// more at a million flows, and both sizes held at once while it moved).
    #[cold]
    fn prune(&mut self) {
        fn keep<K: Eq + std::hash::Hash>(counts: &mut Counts<K>, keep: impl Fn(&mut u32) -> bool) {
            let kept: Vec<(K, u32)> = counts
                .drain()
                .filter_map(|(key, mut count)| keep(&mut count).then_some((key, count)))
                .collect();
            counts.extend(kept);
        }
        self.v4.retain(|count| *count > 1);
        keep(&mut self.wide, |count| *count > 1);
        if self.len() * 2 > self.max_endpoints {
            let halve = |count: &mut u32| {
                *count /= 2;
                *count > 0
            };
            self.v4.retain(halve);
            keep(&mut self.wide, halve);
        }
    }

    /// Add the counts of a table of other flows (another shard's).
    pub fn merge(&mut self, other: &EndpointTable) {
        for (endpoint, count) in other.v4.iter() {
            let mine = self.v4.get(endpoint);
            self.v4.set(endpoint, mine.saturating_add(count));
        }
        for (endpoint, count) in &other.wide {
            let mine = self.wide.entry(*endpoint).or_insert(0);
            *mine = mine.saturating_add(*count);
        }
    }
}

/// Flows whose ranks tied, held from their end to the end of input, when [`EndpointTable`]'s
/// counts are complete, and settled then (rules 3 and 4 of [`super::service_port`] with the
/// whole input's fan-in). Holding them there, rather than settling each as it ends, makes the
/// result independent of `--threads`: a shard's counts cover its own flows only, the merged
/// counts every flow. At most `max_pending` are held; beyond that a flow is settled as it ends
/// with the counts known then (the `--max-flows` exception again).
///
/// Only a flow's end and a new flow come here, never a packet of a known flow.
#[derive(Debug, Clone)]
pub struct LateDecisions {
    pub(crate) endpoints: EndpointTable,
    pending: Vec<Held>,
    max_pending: usize,
}

/// What settling a tied flow needs beside its record: which endpoint sent its first packet
/// (rule 4), and which sent what (its reply state follows the server if the side changes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Directions {
    pub(crate) first_from_a: bool,
    /// [`super::FlowState::replies`].
    pub(crate) replies: u8,
}

/// A tied flow's record, held with its [`Directions`].
#[derive(Debug, Clone, Copy)]
struct Held {
    record: FlowRecord,
    directions: Directions,
}

impl LateDecisions {
    pub fn new(max_flows: usize) -> Self {
        LateDecisions {
            // 1.75 endpoints a flow: at a power-of-two `max_flows` the counts then fit the hash
            // table of 2 × `max_flows` buckets (filled to 7/8) instead of doubling it.
            endpoints: EndpointTable::new(max_flows.saturating_mul(7) / 4),
            pending: Vec::new(),
            max_pending: max_flows.max(1),
        }
    }

    /// Flows held for the end of input.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The fan-in counts so far.
    pub fn endpoints(&self) -> &EndpointTable {
        &self.endpoints
    }

    /// A flow ended: hand it to `sink`, or hold it when its ranks tied and `late` is set.
    pub(crate) fn end<S: FlowSink>(
        &mut self,
        late: bool,
        registry: &Registry,
        sink: &mut S,
        mut record: FlowRecord,
        directions: Directions,
    ) {
        if late && record.evidence.is_tie_break() && record.packets() > 0 {
            if self.pending.len() < self.max_pending {
                self.pending.push(Held { record, directions });
                return;
            }
            settle(registry, &self.endpoints, &mut record, directions);
        }
        sink.flow_ended(registry, record);
    }

    /// Add another shard's counts and held flows.
    pub fn merge(&mut self, other: LateDecisions) {
        self.endpoints.merge(&other.endpoints);
        self.pending.extend(other.pending);
        self.max_pending = self.max_pending.saturating_add(other.max_pending);
    }

    /// Settle the held flows with the counts known now and hand them to `sink`.
    pub fn settle_into<S: FlowSink>(self, registry: &Registry, sink: &mut S) {
        let LateDecisions {
            endpoints, pending, ..
        } = self;
        Self::settle_held(pending, registry, &endpoints, sink);
    }

    /// Settle the held flows with `endpoints`' counts (every shard's, merged) and hand them to
    /// `sink`: a shard's held flows go to that shard's sink, settled as one table would.
    pub fn settle_with<S: FlowSink>(
        self,
        registry: &Registry,
        endpoints: &EndpointTable,
        sink: &mut S,
    ) {
        Self::settle_held(self.pending, registry, endpoints, sink);
    }

    fn settle_held<S: FlowSink>(
        pending: Vec<Held>,
        registry: &Registry,
        endpoints: &EndpointTable,
        sink: &mut S,
    ) {
        for Held {
            mut record,
            directions,
        } in pending
        {
            settle(registry, endpoints, &mut record, directions);
            sink.flow_ended(registry, record);
        }
    }

    /// [`settle_into`](Self::settle_into) without ending anything: `live`'s snapshots.
    pub fn settle_copies_into<S: FlowSink>(&self, registry: &Registry, sink: &mut S) {
        for held in &self.pending {
            let mut record = held.record;
            settle(registry, &self.endpoints, &mut record, held.directions);
            sink.flow_ended(registry, record);
        }
    }
}

/// Decide a tied flow again from its first packet and `endpoints`' counts; its counters and
/// reply state follow the server if the side changes.
pub(crate) fn settle(
    registry: &Registry,
    endpoints: &EndpointTable,
    record: &mut FlowRecord,
    directions: Directions,
) {
    let first_from_a = directions.first_from_a;
    if !record.evidence.is_tie_break() {
        return;
    }
    let key = &record.key;
    let (a_flows, b_flows) = endpoints.counts(&PackedKey::of_key(key));
    let (src, dst, src_flows, dst_flows) = if first_from_a {
        (key.a, key.b, a_flows, b_flows)
    } else {
        (key.b, key.a, b_flows, a_flows)
    };
    let sides = Sides {
        ports: Ports {
            transport: key.transport,
            src_port: src.port,
            dst_port: dst.port,
        },
        handshake: None,
        src_flows,
        dst_flows,
    };
    let (side, evidence) = choose_service_side(registry, sides);
    let server_is_a = (side == ServiceSide::Src) == first_from_a;
    if server_is_a != record.server_is_a {
        std::mem::swap(&mut record.to_server, &mut record.to_client);
        record.server_is_a = server_is_a;
        record.state = super::reply_state(directions.replies, server_is_a);
    }
    record.evidence = evidence;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::FlowPacket;
    use crate::transport::Transport;
    use std::net::IpAddr;

    fn key(src: &str, src_port: u16, dst: &str, dst_port: u16) -> PackedKey {
        let packet = FlowPacket {
            ts: crate::capture::Timestamp::default(),
            src: src.parse::<IpAddr>().unwrap(),
            dst: dst.parse::<IpAddr>().unwrap(),
            ports: Ports {
                transport: Transport::Tcp,
                src_port,
                dst_port,
            },
            handshake: None,
            tcp_flags: 0,
            wire_len: 60,
            tunnel: None,
            vlans: crate::decode::Vlans::default(),
        };
        packet.packed_key().0
    }

    #[test]
    fn a_server_port_counts_every_client_and_a_client_port_one() {
        let mut table = EndpointTable::new(100);
        for client_port in [40000, 40001, 40002] {
            table.add_flow(&key("10.0.0.2", client_port, "10.0.0.1", 8080));
        }
        // Endpoint a is the lower address: 10.0.0.1:8080.
        let k = key("10.0.0.2", 40003, "10.0.0.1", 8080);
        assert_eq!(table.counts(&k), (3, 0));
        table.add_flow(&k);
        assert_eq!(table.counts(&k), (4, 1));
    }

    #[test]
    fn the_same_port_on_another_address_or_transport_is_another_endpoint() {
        let mut table = EndpointTable::new(100);
        table.add_flow(&key("10.0.0.2", 40000, "10.0.0.1", 8080));
        let other_server = key("10.0.0.2", 40001, "10.0.0.9", 8080);
        assert_eq!(table.counts(&other_server), (0, 0));
        let v6 = key("::2", 40000, "::1", 8080);
        assert_eq!(table.counts(&v6), (0, 0));
    }

    #[test]
    fn merged_shards_count_what_one_table_counts() {
        let flows: Vec<PackedKey> = (0..50u16)
            .map(|i| key("10.0.0.2", 40000 + i, "10.0.0.1", 8080 + i % 3))
            .collect();
        let mut one = EndpointTable::new(1000);
        let (mut even, mut odd) = (EndpointTable::new(1000), EndpointTable::new(1000));
        for (i, k) in flows.iter().enumerate() {
            one.add_flow(k);
            if i % 2 == 0 {
                even.add_flow(k)
            } else {
                odd.add_flow(k)
            }
        }
        even.merge(&odd);
        for k in &flows {
            assert_eq!(one.counts(k), even.counts(k));
        }
        assert_eq!(one.counts(&flows[0]).0, 17);
    }

    #[test]
    fn counts_past_the_entrys_fourteen_bits_stay_exact() {
        let busy = COUNT_MAX as u32 + 5_000;
        let mut one = EndpointTable::new(1 << 20);
        let (mut even, mut odd) = (EndpointTable::new(1 << 20), EndpointTable::new(1 << 20));
        for i in 0..busy {
            let k = key(
                &format!("10.2.{}.{}", i / 250, i % 250),
                40000,
                "10.0.0.1",
                443,
            );
            // Endpoint a is the lower address: the server.
            assert_eq!(
                one.counts_then_add(&k).0,
                i,
                "the server's count before flow {i}"
            );
            if i % 2 == 0 {
                even.add_flow(&k);
            } else {
                odd.add_flow(&k);
            }
        }
        let probe = key("10.9.9.9", 40000, "10.0.0.1", 443);
        assert_eq!(one.counts(&probe), (busy, 0));
        assert_eq!(
            one.v4.big.len(),
            1,
            "only the server is past the inline count"
        );
        // Both halves are below the inline maximum; their sum is not.
        even.merge(&odd);
        assert_eq!(even.counts(&probe), (busy, 0));
        // Pruning drops the clients and keeps the server's count whole.
        one.prune();
        assert_eq!(one.len(), 1);
        assert_eq!(one.counts(&probe), (busy, 0));
        // Halving brings a big count back inline.
        one.v4.retain(|count| {
            *count /= 4;
            true
        });
        assert_eq!(one.counts(&probe), (busy / 4, 0));
        assert!(one.v4.big.is_empty());
    }

    #[test]
    fn the_table_stays_within_its_bound_and_keeps_busy_endpoints() {
        let mut table = EndpointTable::new(64);
        for i in 0..10_000u32 {
            let client = format!("10.1.{}.{}", i / 250, i % 250);
            table.add_flow(&key(&client, 40000, "10.0.0.1", 443));
            assert!(table.len() <= 64, "{}", table.len());
        }
        let (server, client) = table.counts(&key("10.9.9.9", 40000, "10.0.0.1", 443));
        assert!(server > 1000, "{server}");
        assert_eq!(client, 0);
    }
}

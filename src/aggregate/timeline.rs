//! Traffic over time: packets and bytes per time bucket, split into four lanes (the three
//! summary sections and packets without ports).
//!
//! Takes one packet at a time (its lane, its capture time in nanoseconds, its wire length) and
//! keeps at most [`MAX_BUCKETS`] buckets, whatever the capture's span. Buckets sit on a grid
//! fixed to the Unix epoch; their width comes from [`LADDER`], whose every step is a whole
//! multiple of the step before. When the packets seen would span more than [`MAX_BUCKETS`]
//! buckets, the width moves up the ladder and adjacent buckets are added together, which is
//! exact because the coarser grid's boundaries are boundaries of the finer one.
//!
//! So the width is always the narrowest step on which all the packets seen fit, and the buckets
//! are sums: the timeline of a set of packets does not depend on the order they came in nor on
//! how they were split between timelines that are [`merge`](Timeline::merge)d (the sharded
//! `--threads` path relies on that). No I/O.

use super::Section;
use crate::flow::Counter;
use crate::registry::{Class, Registry, Status};
use crate::transport::Transport;

/// Buckets kept at most.
pub const MAX_BUCKETS: usize = 1024;

/// Bucket widths in nanoseconds, narrowest first: 1 µs to about 191 years (any span of `i64`
/// nanoseconds fits the last step in a few buckets). Each is a multiple of the one before.
pub const LADDER: [i64; 30] = [
    1_000,
    5_000,
    10_000,
    50_000,
    100_000,
    500_000,
    1_000_000,
    5_000_000,
    10_000_000,
    50_000_000,
    100_000_000,
    500_000_000,
    1_000_000_000,
    5_000_000_000,
    10_000_000_000,
    30_000_000_000,
    60_000_000_000,
    300_000_000_000,
    600_000_000_000,
    1_800_000_000_000,
    3_600_000_000_000,
    10_800_000_000_000,
    21_600_000_000_000,
    43_200_000_000_000,
    86_400_000_000_000,
    604_800_000_000_000,
    6_048_000_000_000_000,
    60_480_000_000_000_000,
    604_800_000_000_000_000,
    6_048_000_000_000_000_000,
];

/// Which part of the traffic a packet is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lane {
    /// Its flow's service port is assigned (system or user range).
    Assigned = 0,
    /// Unassigned or reserved (system or user range).
    Unassigned = 1,
    /// In the dynamic range.
    Dynamic = 2,
    /// The packet has no ports.
    NoPorts = 3,
}

/// Lanes per bucket.
pub const LANES: usize = 4;

impl Lane {
    /// Every lane, in bucket order.
    pub const ALL: [Lane; LANES] = [
        Lane::Assigned,
        Lane::Unassigned,
        Lane::Dynamic,
        Lane::NoPorts,
    ];

    pub const fn of_section(section: Section) -> Lane {
        match section {
            Section::Assigned => Lane::Assigned,
            Section::Unassigned => Lane::Unassigned,
            Section::Dynamic => Lane::Dynamic,
        }
    }

    /// The lane of a packet whose flow's service port is `port`: the section of its row.
    #[inline]
    pub fn of_port(registry: &Registry, transport: Transport, port: u16) -> Lane {
        Lane::of_status(registry.status(transport, port), port)
    }

    /// [`of_port`](Self::of_port) with the port's registry status already known (the flow's
    /// cached [`Observed::service_status`](crate::flow::Observed::service_status)): no registry
    /// read.
    #[inline]
    pub fn of_status(status: Status, port: u16) -> Lane {
        Lane::of_section(Section::of(status, Class::of(port)))
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Lane::Assigned => "assigned",
            Lane::Unassigned => "unassigned",
            Lane::Dynamic => "dynamic",
            Lane::NoPorts => "no_ports",
        }
    }
}

/// The counters of one bucket, indexed by [`Lane`].
pub type Bucket = [Counter; LANES];

/// Packets and bytes per lane per time bucket, at most [`MAX_BUCKETS`] buckets.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Index into [`LADDER`] of the bucket width.
    step: usize,
    /// Grid index (start time / width) of the first bucket.
    first: i64,
    /// Consecutive buckets from `first`, empty ones included. A `Vec`, not a `VecDeque`: every
    /// packet indexes it, and a deque's index wraps around its ring (6 instructions a packet of
    /// 2,000 established flows); buckets are added in front only when a packet is older than
    /// the first bucket, at most 1,024 moved at once.
    buckets: Vec<Bucket>,
    /// The bucket the last packet went to: the next packet nearly always goes there too, and
    /// then costs two comparisons instead of a 64-bit division.
    hot: HotBucket,
}

/// A bucket's time range `[start, end)` (ns) and its place in the deque; empty by default.
#[derive(Debug, Clone, Copy, Default)]
struct HotBucket {
    start: i64,
    end: i64,
    slot: usize,
}

/// Equal timelines hold the same counts on the same grid; the hot-bucket cache does not count.
impl PartialEq for Timeline {
    fn eq(&self, other: &Self) -> bool {
        (self.step, self.first, &self.buckets) == (other.step, other.first, &other.buckets)
    }
}

impl Eq for Timeline {}

fn width_of(step: usize) -> i64 {
    LADDER.get(step).copied().unwrap_or(i64::MAX)
}

impl Timeline {
    /// Count one packet of `wire_len` bytes seen at `ts_nanos` (since the epoch) in `lane`.
    ///
    /// Always inlined, and the bucket search kept out of line: this runs for every packet, and
    /// a plain `#[inline]` left it a call (measured, 21 instructions a packet).
    #[inline(always)]
    pub fn add(&mut self, lane: Lane, ts_nanos: i64, wire_len: u32) {
        let hot = self.hot;
        let slot = if hot.start <= ts_nanos && ts_nanos < hot.end {
            hot.slot
        } else {
            self.locate(ts_nanos)
        };
        if let Some(counter) = self
            .buckets
            .get_mut(slot)
            .and_then(|bucket| bucket.get_mut(lane as usize))
        {
            counter.add(u64::from(wire_len));
        }
    }

    /// Count `counter` (packets and bytes already added up) at `ts_nanos` in `lane`: how
    /// `portnote merge` puts a summary's buckets back on the grid.
    pub fn add_counter(&mut self, lane: Lane, ts_nanos: i64, counter: Counter) {
        let slot = self.locate(ts_nanos);
        if let Some(target) = self
            .buckets
            .get_mut(slot)
            .and_then(|bucket| bucket.get_mut(lane as usize))
        {
            target.merge(counter);
        }
    }

    /// An empty timeline whose buckets will never be narrower than `width_nanos`: on the
    /// narrowest step of the ladder that is a whole multiple of it, so that every bucket of that
    /// width on a grid from the epoch falls inside one of its buckets (`true`: re-bucketing is
    /// exact). When no step is a multiple (a width portnote does not write), the narrowest step
    /// at least as wide, and `false`.
    pub fn at_least(width_nanos: i64) -> (Timeline, bool) {
        let width = width_nanos.max(1);
        let (step, exact) = match LADDER.iter().position(|&w| w % width == 0) {
            Some(step) => (step, true),
            None => (
                LADDER
                    .iter()
                    .position(|&w| w >= width)
                    .unwrap_or(LADDER.len() - 1),
                false,
            ),
        };
        let timeline = Timeline {
            step,
            ..Timeline::default()
        };
        (timeline, exact)
    }

    /// The bucket `ts_nanos` falls in, made when needed; it becomes the hot bucket. Out of
    /// line: only a packet outside the last packet's bucket comes here.
    #[inline(never)]
    fn locate(&mut self, ts_nanos: i64) -> usize {
        let width = width_of(self.step);
        let index = ts_nanos.div_euclid(width);
        let offset = index.wrapping_sub(self.first);
        let len = self.buckets.len();
        let slot = if len != 0 && (0..len as i64).contains(&offset) {
            offset as usize
        } else if len != 0 && offset == len as i64 && len < MAX_BUCKETS {
            // The bucket after the last, as time goes on: a capture in time order comes here
            // once per bucket, and `make_room`'s general case cost some 400 instructions.
            self.buckets.push(Bucket::default());
            len
        } else {
            self.make_room(ts_nanos)
        };
        // A bucket whose bounds overflow i64 (the far ends of the range) is not cached.
        let width = width_of(self.step);
        let start = ts_nanos.div_euclid(width).checked_mul(width);
        self.hot = match start.and_then(|start| Some((start, start.checked_add(width)?))) {
            Some((start, end)) => HotBucket { start, end, slot },
            None => HotBucket::default(),
        };
        slot
    }

    /// Widen until `ts_nanos` fits with the buckets held, extend to it and say which bucket it
    /// falls in. Out of line: most packets land in a bucket that exists.
    #[inline(never)]
    fn make_room(&mut self, ts_nanos: i64) -> usize {
        loop {
            let index = ts_nanos.div_euclid(width_of(self.step));
            let Some(last) = self.last() else {
                self.first = index;
                self.buckets.push(Bucket::default());
                return 0;
            };
            let (low, high) = (self.first.min(index), last.max(index));
            if fits(low, high) || self.step + 1 >= LADDER.len() {
                self.extend_to(low, high);
                return usize::try_from(index - self.first).unwrap_or(0);
            }
            self.widen_to(self.step + 1);
        }
    }

    /// Grid index of the last bucket, `None` when empty.
    fn last(&self) -> Option<i64> {
        let len = i64::try_from(self.buckets.len()).ok()?;
        (len > 0).then(|| self.first + len - 1)
    }

    /// Add empty buckets so that they run from `low` to `high` (which include the current ones).
    fn extend_to(&mut self, low: i64, high: i64) {
        // Slots move when buckets are added in front.
        self.hot = HotBucket::default();
        let Some(last) = self.last() else {
            self.first = low;
            for _ in low..=high {
                self.buckets.push(Bucket::default());
            }
            return;
        };
        let front = usize::try_from(self.first.saturating_sub(low)).unwrap_or(0);
        if front > 0 {
            self.buckets
                .splice(0..0, std::iter::repeat_n(Bucket::default(), front));
        }
        let back = usize::try_from(high.saturating_sub(last)).unwrap_or(0);
        self.buckets
            .resize(self.buckets.len().saturating_add(back), Bucket::default());
        self.first = self.first.min(low);
    }

    /// Move to a wider step of the ladder, adding up the buckets that fall together.
    fn widen_to(&mut self, step: usize) {
        if step <= self.step || step >= LADDER.len() {
            return;
        }
        let factor = width_of(step) / width_of(self.step);
        self.step = step;
        self.hot = HotBucket::default();
        if self.buckets.is_empty() {
            return;
        }
        let first = self.first.div_euclid(factor);
        let mut wider: Vec<Bucket> = Vec::new();
        for (grid, bucket) in (self.first..).zip(&self.buckets) {
            let slot = usize::try_from(grid.div_euclid(factor) - first).unwrap_or(0);
            while wider.len() <= slot {
                wider.push(Bucket::default());
            }
            if let Some(target) = wider.get_mut(slot) {
                add_bucket(target, bucket);
            }
        }
        self.first = first;
        self.buckets = wider;
    }

    /// Add another timeline's counts (of other packets): the result is the timeline of all.
    pub fn merge(&mut self, mut other: Timeline) {
        if other.is_empty() {
            return;
        }
        if self.is_empty() {
            *self = other;
            return;
        }
        let mut step = self.step.max(other.step);
        loop {
            self.widen_to(step);
            other.widen_to(step);
            let (Some(last), Some(other_last)) = (self.last(), other.last()) else {
                return;
            };
            let (low, high) = (self.first.min(other.first), last.max(other_last));
            if fits(low, high) || step + 1 >= LADDER.len() {
                self.extend_to(low, high);
                break;
            }
            step += 1;
        }
        for (grid, bucket) in (other.first..).zip(&other.buckets) {
            let slot = usize::try_from(grid - self.first).unwrap_or(0);
            if let Some(target) = self.buckets.get_mut(slot) {
                add_bucket(target, bucket);
            }
        }
    }

    /// The same packets in at most `max_buckets` buckets (at least one): for a chart.
    pub fn coarsened(&self, max_buckets: usize) -> Timeline {
        let mut wider = self.clone();
        while wider.buckets.len() > max_buckets.max(1) && wider.step + 1 < LADDER.len() {
            wider.widen_to(wider.step + 1);
        }
        wider
    }

    /// Width of every bucket in nanoseconds.
    pub fn width_nanos(&self) -> i64 {
        width_of(self.step)
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Every bucket from the first packet's to the last's, empty ones included: its start (ns
    /// since the epoch) and its counters.
    pub fn buckets(&self) -> impl Iterator<Item = (i64, &Bucket)> + '_ {
        let width = self.width_nanos();
        (self.first..)
            .zip(&self.buckets)
            .map(move |(grid, bucket)| (grid.saturating_mul(width), bucket))
    }

    /// Packets and bytes of one lane over all buckets.
    pub fn lane_total(&self, lane: Lane) -> Counter {
        let mut total = Counter::default();
        for bucket in &self.buckets {
            if let Some(counter) = bucket.get(lane as usize) {
                total.merge(*counter);
            }
        }
        total
    }
}

/// Whether buckets `low..=high` are within the bound.
fn fits(low: i64, high: i64) -> bool {
    i128::from(high) - i128::from(low) < MAX_BUCKETS as i128
}

fn add_bucket(target: &mut Bucket, source: &Bucket) {
    for (t, s) in target.iter_mut().zip(source) {
        t.merge(*s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: i64 = 1_000_000;
    const S: i64 = 1_000_000_000;

    fn timeline_of(packets: &[(Lane, i64, u32)]) -> Timeline {
        let mut t = Timeline::default();
        for &(lane, ts, len) in packets {
            t.add(lane, ts, len);
        }
        t
    }

    #[test]
    fn ladder_steps_are_multiples_of_the_step_before() {
        for pair in LADDER.windows(2) {
            if let [narrow, wide] = pair {
                assert!(wide > narrow && wide % narrow == 0, "{narrow} -> {wide}");
            }
        }
        // The widest step holds the whole i64 range in a few buckets.
        let top = LADDER[LADDER.len() - 1];
        assert!(i64::MAX.div_euclid(top) - i64::MIN.div_euclid(top) < MAX_BUCKETS as i64);
    }

    #[test]
    fn short_capture_keeps_the_narrowest_width() {
        let t = timeline_of(&[
            (Lane::Assigned, 10 * S, 100),
            (Lane::NoPorts, 10 * S + 3_500, 60),
        ]);
        assert_eq!(t.width_nanos(), 1_000);
        assert_eq!(t.len(), 4);
        let buckets: Vec<(i64, Bucket)> = t.buckets().map(|(s, b)| (s, *b)).collect();
        assert_eq!(buckets[0].0, 10 * S);
        assert_eq!(buckets[0].1[0].bytes, 100);
        assert_eq!(buckets[3].0, 10 * S + 3_000);
        assert_eq!(buckets[3].1[3].bytes, 60);
    }

    #[test]
    fn a_long_span_widens_and_stays_bounded() {
        // One packet a minute for a day: 1,440 minutes do not fit 1,024 one-minute buckets.
        let packets: Vec<(Lane, i64, u32)> =
            (0..1440).map(|m| (Lane::Dynamic, m * 60 * S, 10)).collect();
        let t = timeline_of(&packets);
        assert_eq!(t.width_nanos(), 300 * S);
        assert_eq!(t.len(), 288);
        assert!(t.buckets().all(|(_, b)| b[2].packets == 5));
        assert_eq!(t.lane_total(Lane::Dynamic).bytes, 14_400);
    }

    #[test]
    fn time_going_back_extends_the_front() {
        let t = timeline_of(&[(Lane::Assigned, 5 * MS, 1), (Lane::Assigned, 2 * MS, 2)]);
        let starts: Vec<i64> = t.buckets().map(|(s, _)| s).collect();
        assert_eq!(starts.first(), Some(&(2 * MS)));
        assert_eq!(starts.last(), Some(&(5 * MS)));
        assert_eq!(t.lane_total(Lane::Assigned).packets, 2);
    }

    #[test]
    fn extreme_timestamps_fit_without_overflow() {
        let t = timeline_of(&[
            (Lane::Assigned, i64::MIN, 1),
            (Lane::Unassigned, 0, 2),
            (Lane::NoPorts, i64::MAX, 3),
        ]);
        assert!(t.len() <= MAX_BUCKETS);
        // 700-day buckets: the narrowest step on which the whole i64 range fits 1,024 buckets.
        assert_eq!(t.width_nanos(), 60_480_000_000_000_000);
        let bytes: u64 = Lane::ALL.iter().map(|&l| t.lane_total(l).bytes).sum();
        assert_eq!(bytes, 6);
    }

    #[test]
    fn coarsened_keeps_every_packet_in_fewer_buckets() {
        let packets: Vec<(Lane, i64, u32)> =
            (0..1000).map(|i| (Lane::Assigned, i * MS, 1)).collect();
        let t = timeline_of(&packets);
        let chart = t.coarsened(100);
        assert!(chart.len() <= 100 && chart.len() > 10, "{}", chart.len());
        assert_eq!(
            chart.lane_total(Lane::Assigned),
            t.lane_total(Lane::Assigned)
        );
    }

    fn lane() -> impl Strategy<Value = Lane> {
        prop::sample::select(Lane::ALL.to_vec())
    }

    proptest! {
        /// Every packet lands in the bucket its time falls in at the final width (the hot
        /// bucket cache and the widening included), and the width is the narrowest that fits.
        #[test]
        fn buckets_equal_a_direct_count_at_the_final_width(
            packets in prop::collection::vec(
                (lane(), prop_oneof![0i64..3_000_000_000, any::<i64>(), -5_000i64..5_000],
                 0u32..2000),
                1..300),
        ) {
            let t = timeline_of(&packets);
            let width = t.width_nanos();
            let mut expected: std::collections::BTreeMap<i64, Bucket> = Default::default();
            for &(lane, ts, len) in &packets {
                expected.entry(ts.div_euclid(width)).or_default()[lane as usize].add(u64::from(len));
            }
            let got: std::collections::BTreeMap<i64, Bucket> = t
                .buckets()
                .filter(|(_, b)| b.iter().any(|c| c.packets > 0))
                .map(|(start, b)| (start.div_euclid(width), *b))
                .collect();
            prop_assert_eq!(got, expected);
            let (low, high) = packets.iter().fold((i64::MAX, i64::MIN), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
            if t.step > 0 {
                let narrower = width_of(t.step - 1);
                prop_assert!(!fits(low.div_euclid(narrower), high.div_euclid(narrower)));
            }
        }

        /// Any split of the packets, in any order, merged in any grouping, gives the timeline
        /// of all of them counted in one: what makes `--threads N` agree with one thread.
        #[test]
        fn merge_of_any_split_equals_one_timeline(
            packets in prop::collection::vec(
                (lane(), prop_oneof![0i64..2_000_000_000, any::<i64>(), -5_000i64..5_000],
                 0u32..2000, 0usize..3),
                0..200),
        ) {
            let whole = timeline_of(&packets.iter().map(|&(l, t, n, _)| (l, t, n)).collect::<Vec<_>>());
            let mut parts = vec![Timeline::default(), Timeline::default(), Timeline::default()];
            for &(l, t, n, part) in packets.iter().rev() {
                parts[part].add(l, t, n);
            }
            let mut merged = Timeline::default();
            for part in parts {
                merged.merge(part);
            }
            prop_assert!(whole.len() <= MAX_BUCKETS);
            prop_assert_eq!(merged, whole);
        }
    }
}

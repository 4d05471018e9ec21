//! Flow deadlines kept by capture second: a timing wheel.
//!
//! The flow table must find, at each idle sweep, the flows whose deadline has passed, without
//! looking at the others. A binary heap of deadlines did that, but at 360k live flows its
//! entries (20 MB) are far beyond the cache and every pop walked 18 levels of misses: the
//! sweep was 8 % of the single-thread time on a 10M-packet capture. Here each entry waits in
//! the bucket of its deadline's second, in a ring of [`WHEEL_SECONDS`] buckets; a sweep at
//! `now` empties the buckets of the seconds before `now` and looks through the one of `now`'s
//! second: sequential memory, and each entry is touched once per wait.
//!
//! An entry may wait in a bucket *earlier* than its deadline, never later: a deadline beyond
//! the ring goes to its last bucket, and one before the first bucket in use (capture time went
//! backwards) goes to that first bucket, which every sweep looks through. Entries keep no
//! deadline (4 bytes: the flow's slot): a sweep hands out every entry of the buckets up to
//! `now`'s second, and the table checks the real deadline of the flow in that slot, putting
//! back the flows not due yet. So no flow is handed out later than the first sweep after its
//! deadline, and the table, not the wheel, decides which flows end.

use super::Expiry;

/// Buckets in the ring: one per capture second, more than the longest idle timeout (300 s).
pub(super) const WHEEL_SECONDS: usize = 1024;
const SECOND: i64 = 1_000_000_000;
/// A bucket emptied with more capacity than this gives it back: a burst of new flows in one
/// second must not keep its memory for every later turn of the ring.
const KEEP_CAPACITY: usize = 256;

#[derive(Debug)]
pub(super) struct Wheel {
    buckets: Vec<Vec<Expiry>>,
    /// The first second whose bucket may hold entries; every bucket in use is for a second in
    /// `base..base + WHEEL_SECONDS`. Moved only by sweeps, to the sweep's second: a deadline
    /// pushed later is in its own bucket, or (capture time went back since the last sweep) in
    /// `base`'s, which every sweep looks through.
    base: i64,
    len: usize,
}

impl Wheel {
    pub(super) fn new() -> Wheel {
        Wheel {
            buckets: (0..WHEEL_SECONDS).map(|_| Vec::new()).collect(),
            base: 0,
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn bucket(&mut self, second: i64) -> Option<&mut Vec<Expiry>> {
        let index = second.rem_euclid(WHEEL_SECONDS as i64) as usize;
        self.buckets.get_mut(index)
    }

    /// Adds an entry due at `deadline` (ns), in the bucket of its second or an earlier one.
    pub(super) fn push(&mut self, entry: Expiry, deadline: i64) {
        let second = deadline.div_euclid(SECOND);
        let last = self.base.saturating_add(WHEEL_SECONDS as i64 - 1);
        let second = second.clamp(self.base, last);
        if let Some(bucket) = self.bucket(second) {
            bucket.push(entry);
            self.len += 1;
        }
    }

    /// Moves every entry of the buckets up to `now`'s second into `due` (in no particular
    /// order): every entry whose deadline is before `now`, and some that are not due yet, which
    /// the caller puts back.
    pub(super) fn take_due(&mut self, now: i64, due: &mut Vec<Expiry>) {
        if self.len == 0 {
            self.base = now.div_euclid(SECOND);
            return;
        }
        let now_second = now.div_euclid(SECOND);
        if now_second < self.base {
            // Capture time went back (files of different days, a clock step): the ring moves
            // back with it, so that the deadlines pushed from now on get their own buckets
            // instead of piling up in the first one, which every sweep looks through. The
            // first bucket's entries (some were put there because their deadline was already
            // before it) are handed out, to be placed again; every other entry is in a bucket whose
            // second, in the moved ring, is still at or before its deadline's.
            self.drain_bucket(self.base, due);
            self.base = now_second;
        }
        // Every bucket of a second before `now`'s, up to the whole ring once (a gap in the
        // capture longer than the ring), then the bucket of `now`'s second.
        let mut turns = 0;
        while self.base < now_second && turns < WHEEL_SECONDS {
            self.drain_bucket(self.base, due);
            self.base += 1;
            turns += 1;
        }
        self.base = now_second;
        self.drain_bucket(self.base, due);
    }

    fn drain_bucket(&mut self, second: i64, into: &mut Vec<Expiry>) {
        let Some(bucket) = self.bucket(second) else {
            return;
        };
        let taken = bucket.len();
        into.append(bucket);
        release_if_large(bucket);
        self.len -= taken;
    }

    /// Empties the wheel (keeping `base`); memory of large buckets is given back.
    pub(super) fn clear(&mut self) {
        for bucket in &mut self.buckets {
            bucket.clear();
            release_if_large(bucket);
        }
        self.len = 0;
    }
}

/// An emptied bucket gives its memory back when it has more than [`KEEP_CAPACITY`].
fn release_if_large(bucket: &mut Vec<Expiry>) {
    if bucket.capacity() > KEEP_CAPACITY {
        *bucket = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// The wheel and the deadlines of its entries, swept as the flow table sweeps it: entries
    /// not due yet go back at their deadline.
    struct Model {
        wheel: Wheel,
        deadlines: HashMap<u32, i64>,
    }

    impl Model {
        fn new(now: i64) -> Model {
            let mut wheel = Wheel::new();
            wheel.take_due(now, &mut Vec::new());
            Model {
                wheel,
                deadlines: HashMap::new(),
            }
        }

        fn push(&mut self, deadline: i64, id: u32) {
            self.deadlines.insert(id, deadline);
            self.wheel.push(Expiry { slot: id }, deadline);
        }

        /// The ids due at `now`, sorted.
        fn sweep(&mut self, now: i64) -> Vec<u32> {
            let mut due = Vec::new();
            self.wheel.take_due(now, &mut due);
            let mut ids = Vec::new();
            for entry in due {
                let deadline = self.deadlines[&entry.slot];
                if deadline < now {
                    ids.push(entry.slot);
                } else {
                    self.wheel.push(entry, deadline);
                }
            }
            ids.sort_unstable();
            ids
        }
    }

    #[test]
    fn hands_out_exactly_the_entries_before_now() {
        let mut model = Model::new(100 * SECOND);
        model.push(100 * SECOND + 5, 1);
        model.push(101 * SECOND, 2);
        model.push(101 * SECOND + 1, 3);
        model.push(400 * SECOND, 4);
        assert_eq!(
            model.sweep(101 * SECOND + 1),
            [1, 2],
            "deadline == now is not due yet"
        );
        assert_eq!(model.wheel.len(), 2);
        assert_eq!(model.sweep(400 * SECOND + 1), [3, 4]);
        assert_eq!(model.wheel.len(), 0);
    }

    #[test]
    fn an_entry_is_not_handed_out_before_its_deadlines_second() {
        let mut model = Model::new(0);
        model.push(10 * SECOND + 5, 1);
        let mut due = Vec::new();
        for second in 0..10 {
            model.wheel.take_due(second * SECOND + SECOND - 1, &mut due);
        }
        assert!(due.is_empty());
        model.wheel.take_due(10 * SECOND, &mut due);
        assert_eq!(due.len(), 1, "its second's bucket is looked through");
    }

    #[test]
    fn deadlines_beyond_the_ring_and_gaps_longer_than_it_lose_nothing() {
        let mut model = Model::new(0);
        let far = (3 * WHEEL_SECONDS as i64 + 7) * SECOND;
        model.push(far, 1);
        model.push(10 * SECOND, 2);
        let mut ended = Vec::new();
        // Sweeps every second up to past the ring: the far entry is never handed out early.
        for second in 1..(2 * WHEEL_SECONDS as i64) {
            ended.extend(model.sweep(second * SECOND));
        }
        assert_eq!(ended, [2]);
        // A jump over several turns of the ring.
        assert!(model.sweep(far).is_empty(), "deadline == now");
        assert_eq!(model.sweep(far + 1), [1]);
    }

    #[test]
    fn time_going_backwards_still_finds_every_due_entry() {
        let mut model = Model::new(1000 * SECOND);
        model.push(1300 * SECOND, 1);
        // Capture time went back 900 s: a new flow's deadline lies before the ring's base.
        model.push(400 * SECOND, 2);
        assert!(model.sweep(399 * SECOND).is_empty());
        assert_eq!(model.sweep(401 * SECOND), [2]);
        // The ring moved back with the sweep: a deadline 100 s ahead waits in its own bucket,
        // not in the first one that every sweep looks through.
        model.push(501 * SECOND, 3);
        let base = model.wheel.base;
        assert!(model.wheel.bucket(base).unwrap().is_empty());
        assert_eq!(model.sweep(1301 * SECOND), [1, 3]);
    }

    proptest! {
        /// Against a plain list: after any pushes and sweeps (time moving either way, in steps
        /// up to several turns of the ring), the wheel swept as the table sweeps it hands out
        /// exactly the entries whose deadline is before each sweep's `now`, each once.
        #[test]
        fn agrees_with_a_plain_list(
            steps in proptest::collection::vec(
                prop_oneof![
                    (0i64..2000).prop_map(|d| (true, d)),
                    (-3000i64..3000).prop_map(|d| (false, d)),
                ],
                1..200,
            ),
        ) {
            let mut now = 0i64;
            let mut model = Model::new(now);
            let mut list: Vec<(i64, u32)> = Vec::new();
            let mut next_id = 0u32;
            for (is_push, value) in steps {
                if is_push {
                    // Deadlines from a little before now to far after it, at sub-second offsets.
                    let deadline = now + (value - 100) * SECOND / 3;
                    next_id += 1;
                    model.push(deadline, next_id);
                    list.push((deadline, next_id));
                } else {
                    now += value * SECOND / 2;
                    let mut expected: Vec<u32> =
                        list.iter().filter(|e| e.0 < now).map(|e| e.1).collect();
                    expected.sort_unstable();
                    list.retain(|e| e.0 >= now);
                    prop_assert_eq!(model.sweep(now), expected);
                    prop_assert_eq!(model.wheel.len(), list.len());
                }
            }
        }
    }
}

//! The summary's `timeline` key: an [`aggregate::timeline::Timeline`](Timeline) as the JSON
//! output shows it, one object per bucket that holds packets, with its start time and its packets
//! and bytes per lane. Takes finished counts; computes nothing but timestamps.

use crate::aggregate::timeline::{Bucket, Lane, Timeline};
use crate::capture::Timestamp;
use serde::{Deserialize, Serialize};

/// Packets or bytes of one bucket, per lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LaneValues {
    pub assigned: u64,
    pub unassigned: u64,
    pub dynamic: u64,
    pub no_ports: u64,
}

impl LaneValues {
    pub fn get(&self, lane: Lane) -> u64 {
        match lane {
            Lane::Assigned => self.assigned,
            Lane::Unassigned => self.unassigned,
            Lane::Dynamic => self.dynamic,
            Lane::NoPorts => self.no_ports,
        }
    }

    pub fn sum(&self) -> u64 {
        Lane::ALL
            .iter()
            .fold(0u64, |sum, &lane| sum.saturating_add(self.get(lane)))
    }
}

/// One time bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineBucket {
    /// Start of the bucket (it ends where the next one starts).
    pub start: Timestamp,
    pub packets: LaneValues,
    pub bytes: LaneValues,
}

/// The buckets that hold packets, in time order; the others are left out.
/// Read back by `portnote merge`; absent (empty) in summaries written before it existed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TimelineReport {
    /// Width of every bucket.
    pub bucket_seconds: f64,
    pub buckets: Vec<TimelineBucket>,
}

/// The start of a bucket (ns since the epoch) as a timestamp with as many fractional digits as
/// the bucket width needs: 500 µs buckets start at `.000500`, 5 ms ones at `.005`.
pub fn bucket_start(start: i64, width: i64) -> Timestamp {
    let digits = if width % 1_000_000_000 == 0 {
        0
    } else if width % 1_000_000 == 0 {
        3
    } else {
        6
    };
    Timestamp {
        secs: start.div_euclid(1_000_000_000),
        nanos: u32::try_from(start.rem_euclid(1_000_000_000)).unwrap_or(0),
        digits,
    }
}

impl TimelineReport {
    pub fn build(timeline: &Timeline) -> TimelineReport {
        let width = timeline.width_nanos();
        let buckets = timeline
            .buckets()
            .filter(|(_, bucket)| bucket.iter().any(|c| c.packets > 0))
            .map(|(start, bucket)| TimelineBucket {
                start: bucket_start(start, width),
                packets: values(bucket, |c| c.packets),
                bytes: values(bucket, |c| c.bytes),
            })
            .collect();
        TimelineReport {
            bucket_seconds: width as f64 / 1e9,
            buckets,
        }
    }
}

/// A bucket's packets or bytes per lane.
pub fn values(bucket: &Bucket, field: impl Fn(&crate::flow::Counter) -> u64) -> LaneValues {
    let of = |lane: Lane| bucket.get(lane as usize).map_or(0, &field);
    LaneValues {
        assigned: of(Lane::Assigned),
        unassigned: of(Lane::Unassigned),
        dynamic: of(Lane::Dynamic),
        no_ports: of(Lane::NoPorts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_start_on_the_grid_with_the_digits_the_width_needs() {
        let mut timeline = Timeline::default();
        let t0 = 1_704_067_200_000_000_000; // 2024-01-01T00:00:00Z
        timeline.add(Lane::Unassigned, t0 + 1_500, 90);
        timeline.add(Lane::NoPorts, t0 + 3_100, 60);
        let report = TimelineReport::build(&timeline);
        assert_eq!(report.bucket_seconds, 1e-6);
        // The empty bucket at .000002 is left out.
        let starts: Vec<String> = report.buckets.iter().map(|b| b.start.to_string()).collect();
        assert_eq!(
            starts,
            ["2024-01-01T00:00:00.000001Z", "2024-01-01T00:00:00.000003Z"]
        );
        assert_eq!(report.buckets[0].bytes.unassigned, 90);
        assert_eq!(report.buckets[1].packets.no_ports, 1);
        assert_eq!(report.buckets[1].bytes.sum(), 60);
    }
}

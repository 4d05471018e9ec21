//! Capture input: the only module that touches file formats and libpcap.
//!
//! Takes a path (or `-` for stdin; gzip is detected and unpacked) and yields [`Frame`]s that
//! borrow the reader's buffer, one at a time. Damage (a record cut short, a length beyond reason)
//! ends the stream with a [`CaptureError`] naming the file and byte offset, after every frame
//! before it was yielded. Never panics, never allocates what a header merely claims.

pub mod write;

use crate::linktype::LinkType;
use serde::Serialize;
use std::fmt;

/// When a frame was captured, at the precision its file records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    /// Seconds since the Unix epoch (may be negative for odd files).
    pub secs: i64,
    /// Nanoseconds within the second, 0..1_000_000_000.
    pub nanos: u32,
    /// Decimal digits of the source's resolution (6 for microseconds, 9 for nanoseconds).
    pub digits: u8,
}

impl Timestamp {
    /// Nanoseconds since the epoch, saturating.
    pub fn as_nanos(&self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with as many fractional digits as the source resolution.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.secs.div_euclid(86_400);
        let secs_of_day = self.secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            secs_of_day / 3600,
            secs_of_day % 3600 / 60,
            secs_of_day % 60
        )?;
        let digits = u32::from(self.digits.min(9));
        if digits > 0 {
            let scaled = self.nanos / 10u32.pow(9 - digits);
            write!(f, ".{scaled:0width$}", width = digits as usize)?;
        }
        f.write_str("Z")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era, 0..399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st, 0..365
    let mp = (5 * doy + 2) / 153; // month from March, 0..11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// One captured frame, borrowing the reader's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub ts: Timestamp,
    /// Length on the wire.
    pub len: u32,
    pub linktype: LinkType,
    /// The captured bytes (`caplen` is `data.len()`).
    pub data: &'a [u8],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_formats_rfc3339_at_source_precision() {
        let micro = Timestamp {
            secs: 1_700_000_000,
            nanos: 123_456_000,
            digits: 6,
        };
        assert_eq!(micro.to_string(), "2023-11-14T22:13:20.123456Z");
        let nano = Timestamp {
            secs: 0,
            nanos: 5,
            digits: 9,
        };
        assert_eq!(nano.to_string(), "1970-01-01T00:00:00.000000005Z");
        let before_epoch = Timestamp {
            secs: -1,
            nanos: 0,
            digits: 0,
        };
        assert_eq!(before_epoch.to_string(), "1969-12-31T23:59:59Z");
        let leap_day = Timestamp {
            secs: 951_782_400,
            nanos: 0,
            digits: 3,
        };
        assert_eq!(leap_day.to_string(), "2000-02-29T00:00:00.000Z");
    }
}

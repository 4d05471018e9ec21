//! The chunked input buffer the readers walk records in.
//!
//! Takes any `Read`, reads it in [`CHUNK_LEN`] pieces into one reusable buffer and hands out the
//! unconsumed bytes as a slice, so records are parsed in place without a copy per record. A record
//! straddling the end of the buffer is moved to its front (compaction); a record larger than the
//! buffer grows it, but only by doubling as bytes actually arrive, never to a size a header merely
//! claims. Callers bound the size they ask for (see `MAX_RECORD_LEN` in the parent module).

use super::readahead::{ReadAhead, HEADROOM};
use std::io::{self, Read};

/// Bytes asked of the source per `read()` (and the initial buffer size).
pub(crate) const CHUNK_LEN: usize = 256 * 1024;

pub(crate) struct ChunkBuffer {
    source: Box<dyn Read + Send>,
    /// Set by [`Self::read_ahead`]: chunks come from a reading thread, not from `source`.
    ahead: Option<ReadAhead>,
    buf: Vec<u8>,
    /// First unconsumed byte in `buf`.
    start: usize,
    /// One past the last valid byte in `buf`.
    end: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    eof: bool,
}

impl ChunkBuffer {
    pub(crate) fn new(source: Box<dyn Read + Send>) -> ChunkBuffer {
        ChunkBuffer {
            source,
            ahead: None,
            // A fresh zeroed allocation comes from calloc (lazily zeroed pages), so opening many
            // small inputs does not pay for clearing 256 KiB each time.
            buf: vec![0; CHUNK_LEN],
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
        }
    }

    /// Stream offset of the first unconsumed byte.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The unconsumed bytes.
    #[inline]
    pub(crate) fn available(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// Reads until at least `wanted` bytes are unconsumed or the source ends; returns how many
    /// are unconsumed (less than `wanted` only at the end of the source).
    #[inline]
    pub(crate) fn fill(&mut self, wanted: usize) -> io::Result<usize> {
        // Nearly every call finds the bytes already there: that test is inlined into the
        // reader's per-record path, the reading loop is not.
        let present = self.end - self.start;
        if present >= wanted {
            return Ok(present);
        }
        self.fill_from_source(wanted)
    }

    /// The slow half of [`Self::fill`]: compacts, grows and reads.
    #[inline(never)]
    fn fill_from_source(&mut self, wanted: usize) -> io::Result<usize> {
        while self.end - self.start < wanted && !self.eof {
            if let Some(ahead) = self.ahead.as_mut() {
                match ahead.next_chunk()? {
                    None => self.eof = true,
                    Some((next, end)) => self.take_chunk(next, end),
                }
                continue;
            }
            let room_after_start = self.buf.len() - self.start;
            // Move the partial record to the front when it cannot complete in place, or when the
            // space left for the next read has become too small to be worth a system call.
            if self.start > 0
                && (room_after_start < wanted || self.buf.len() - self.end < CHUNK_LEN / 4)
            {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                // Full and still short of `wanted` (so start == 0 and len < wanted): double,
                // so the allocation never exceeds twice the bytes that actually arrived.
                let grown = self.buf.len().saturating_mul(2).min(wanted);
                self.buf.resize(grown, 0);
            }
            let spare = self.buf.get_mut(self.end..).unwrap_or_default();
            match self.source.read(spare) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end = self.end.saturating_add(n).min(self.buf.len()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.start)
    }

    /// From now on, read in a thread of its own (see [`super::readahead`]). Bytes already
    /// read stay where they are. If the thread cannot be started the source is lost with it,
    /// so the error must end this input.
    pub(crate) fn read_ahead(&mut self) -> io::Result<()> {
        if self.ahead.is_none() && !self.eof {
            let source = std::mem::replace(&mut self.source, Box::new(io::empty()));
            self.ahead = Some(ReadAhead::spawn(source)?);
        }
        Ok(())
    }

    /// Makes a chunk from the reading thread (new bytes at `HEADROOM..end`) the buffer: the
    /// unconsumed bytes are copied into its headroom, just before the new ones, and the old
    /// buffer goes back to the thread. Unconsumed bytes longer than the headroom (a record of
    /// more than 64 KiB across the chunk boundary) stay, and the new bytes are appended.
    fn take_chunk(&mut self, mut next: Vec<u8>, end: usize) {
        let Some(ahead) = self.ahead.as_ref() else {
            return;
        };
        let pending = self.end - self.start;
        let from = self.buf.get(self.start..self.end).unwrap_or_default();
        match HEADROOM
            .checked_sub(pending)
            .and_then(|at| Some((at, next.get_mut(at..HEADROOM)?)))
        {
            Some((at, headroom)) => {
                headroom.copy_from_slice(from);
                let old = std::mem::replace(&mut self.buf, next);
                ahead.recycle(old);
                self.start = at;
                self.end = end;
            }
            None => {
                self.buf.truncate(self.end);
                self.buf
                    .extend_from_slice(next.get(HEADROOM..end).unwrap_or_default());
                self.end = self.buf.len();
                ahead.recycle(next);
            }
        }
    }

    /// Marks `n` bytes as used (at most what is unconsumed). Slices taken with [`Self::get`]
    /// before this call stay valid until the next [`Self::fill`].
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.offset = self.offset.saturating_add(n as u64);
    }

    /// Consumes the next `n` bytes and returns them, or `None` (consuming nothing) when fewer
    /// are unconsumed. They stay valid, like slices from [`Self::get`], until the next
    /// [`Self::fill`].
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Option<&[u8]> {
        let taken = self.buf.get(self.start..self.end)?.get(..n)?;
        // start + n <= end <= buf.len(): the get above proved it, so this cannot overflow.
        self.start += n;
        self.offset = self.offset.saturating_add(n as u64);
        Some(taken)
    }

    /// Index of the first unconsumed byte, for [`Self::get`] after a [`Self::consume`].
    pub(crate) fn position(&self) -> usize {
        self.start
    }

    /// Bytes at an absolute buffer position (as returned by [`Self::position`]).
    pub(crate) fn get(&self, at: usize, len: usize) -> Option<&[u8]> {
        self.buf.get(at..at.checked_add(len)?)
    }

    /// The unconsumed bytes and the source, to rebuild the stream (e.g. behind a decompressor).
    pub(crate) fn into_parts(mut self) -> (Vec<u8>, Box<dyn Read + Send>) {
        self.buf.truncate(self.end);
        self.buf.drain(..self.start);
        (self.buf, self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that hands out at most `step` bytes per read, like a pipe or a decompressor.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len() - self.at);
            out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn trickle(len: usize, step: usize) -> ChunkBuffer {
        let data = (0..len).map(|i| (i % 251) as u8).collect();
        ChunkBuffer::new(Box::new(Trickle { data, at: 0, step }))
    }

    #[test]
    fn fill_collects_small_reads_until_wanted() {
        let mut input = trickle(100, 7);
        assert_eq!(input.fill(30).unwrap(), 35); // five reads of 7
        assert_eq!(&input.available()[..3], &[0, 1, 2]);
    }

    #[test]
    fn fill_stops_short_at_end_of_source() {
        let mut input = trickle(10, 4);
        assert_eq!(input.fill(16).unwrap(), 10);
        input.consume(10);
        assert_eq!(input.fill(1).unwrap(), 0);
        assert_eq!(input.offset(), 10);
    }

    #[test]
    fn record_straddling_the_buffer_end_is_compacted_and_offsets_continue() {
        let total = CHUNK_LEN + 1000;
        let mut input = trickle(total, CHUNK_LEN);
        assert_eq!(input.fill(1).unwrap(), CHUNK_LEN);
        input.consume(CHUNK_LEN - 10);
        // 10 bytes left in the buffer, a 100-byte record wanted: it must be moved and completed.
        assert_eq!(input.fill(100).unwrap(), 1010);
        assert_eq!(input.offset(), (CHUNK_LEN - 10) as u64);
        assert_eq!(input.available()[0], ((CHUNK_LEN - 10) % 251) as u8);
        assert_eq!(input.buf.len(), CHUNK_LEN, "compaction, not growth");
    }

    #[test]
    fn record_larger_than_the_buffer_grows_it_by_what_arrives() {
        let mut input = trickle(CHUNK_LEN * 3, 4096);
        // Doubling stops at what is wanted: the buffer ends exactly at the record's end.
        assert_eq!(input.fill(CHUNK_LEN * 2 + 5).unwrap(), CHUNK_LEN * 2 + 5);
        assert_eq!(input.buf.len(), CHUNK_LEN * 2 + 5);
        assert_eq!(
            input.available()[CHUNK_LEN * 2],
            ((CHUNK_LEN * 2) % 251) as u8
        );
    }

    #[test]
    fn claimed_size_beyond_the_data_allocates_at_most_twice_the_data() {
        let mut input = trickle(CHUNK_LEN + 1, CHUNK_LEN);
        assert_eq!(input.fill(200 * 1024 * 1024).unwrap(), CHUNK_LEN + 1);
        assert!(
            input.buf.len() <= 2 * CHUNK_LEN,
            "buffer is {}",
            input.buf.len()
        );
    }

    #[test]
    fn take_hands_out_whole_records_only() {
        let mut input = trickle(20, 20);
        input.fill(20).unwrap();
        assert_eq!(input.take(3), Some(&[0, 1, 2][..]));
        assert_eq!(input.offset(), 3);
        // 17 bytes left: asking for 18 takes nothing.
        assert_eq!(input.take(18), None);
        assert_eq!(input.offset(), 3);
        assert_eq!(input.take(17).map(<[u8]>::len), Some(17));
        assert_eq!(input.take(1), None);
        assert_eq!(input.offset(), 20);
    }

    #[test]
    fn into_parts_returns_the_unconsumed_bytes() {
        let mut input = trickle(20, 20);
        input.fill(20).unwrap();
        input.consume(15);
        let (pending, _) = input.into_parts();
        assert_eq!(pending, vec![15, 16, 17, 18, 19]);
    }
}

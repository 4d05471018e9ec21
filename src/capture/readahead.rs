//! Reading ahead in a thread of its own, for `summary --threads N` with N of 2 or more.
//!
//! For a capture in the page cache, the `read()` system calls are the kernel copying every byte
//! of the file into the reader's buffer: about half of a single thread's time on full-size
//! frames. Here a second thread makes those calls (and, for gzip input, decompresses), filling
//! whole chunks while the caller walks and decodes the previous one. The chunks change hands,
//! they are not copied again: the caller takes the filled buffer as its own and hands its old
//! one back for reuse, so the steady state allocates nothing.
//!
//! Each chunk leaves [`HEADROOM`] bytes free at its front. A record that straddles two chunks
//! is completed by copying its first part (at most the headroom) in front of the next chunk's
//! bytes; longer remainders are rare (jumbo records) and take the slow way, see
//! [`super::buffer::ChunkBuffer`].

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// New bytes per chunk. Larger than the reader's own 256 KiB reads: the chunks are written on
/// one core and read on another, and with 1 MiB chunks `summary --threads 2` ran 2-4 % faster
/// on the 10M-packet capture than with 256 KiB (64 KiB: 8 % slower; 2 MiB: no better).
pub(crate) const CHUNK: usize = 1 << 20;
/// Free bytes at the front of every chunk, for the unfinished record carried over from the
/// previous chunk. Larger than any frame of a usual link (jumbo Ethernet is 9 KiB).
pub(crate) const HEADROOM: usize = 64 * 1024;
/// Filled chunks waiting for the caller: enough to ride out a slow packet or two, few enough to
/// bound the memory (each chunk is `HEADROOM + CHUNK` bytes).
const CHUNKS_IN_FLIGHT: usize = 4;

/// What the reading thread sends.
enum Message {
    /// A chunk whose bytes `HEADROOM..len` are new input.
    Chunk(Vec<u8>, usize),
    /// The source ended cleanly.
    End,
    /// The source failed; nothing follows.
    Failed(io::Error),
}

/// The caller's end of a reading thread.
pub(crate) struct ReadAhead {
    filled: Receiver<Message>,
    spare: SyncSender<Vec<u8>>,
    /// The end or a failure was received: no more messages come.
    finished: bool,
}

impl ReadAhead {
    /// Starts a thread reading `source` to its end. The thread stops early when this end is
    /// dropped (its next hand-over fails).
    pub(crate) fn spawn(source: Box<dyn Read + Send>) -> io::Result<ReadAhead> {
        let (filled_tx, filled) = sync_channel(CHUNKS_IN_FLIGHT);
        // Room for every chunk that can exist, so handing one back never blocks.
        let (spare, spare_rx) = sync_channel(CHUNKS_IN_FLIGHT + 2);
        std::thread::Builder::new()
            .name("portnote-read".to_string())
            .spawn(move || read_chunks(source, &filled_tx, &spare_rx))?;
        Ok(ReadAhead {
            filled,
            spare,
            finished: false,
        })
    }

    /// The next chunk and the end of its valid bytes (new input is `HEADROOM..end`); `None`
    /// at the end of the source. After the end or an error, always `None`.
    pub(crate) fn next_chunk(&mut self) -> io::Result<Option<(Vec<u8>, usize)>> {
        if self.finished {
            return Ok(None);
        }
        match self.filled.recv() {
            Ok(Message::Chunk(buf, end)) => Ok(Some((buf, end))),
            Ok(Message::End) => {
                self.finished = true;
                Ok(None)
            }
            Ok(Message::Failed(e)) => {
                self.finished = true;
                Err(e)
            }
            // The thread ended without saying why: only a panic does that.
            Err(_) => {
                self.finished = true;
                Err(io::Error::other("the reading thread stopped unexpectedly"))
            }
        }
    }

    /// Hands a buffer back for reuse (dropped if the thread has enough or has ended).
    pub(crate) fn recycle(&self, buf: Vec<u8>) {
        let _ = self.spare.try_send(buf);
    }
}

/// The reading thread: fill chunks until the source ends or fails, or the caller goes away.
fn read_chunks(
    mut source: Box<dyn Read + Send>,
    filled: &SyncSender<Message>,
    spare: &Receiver<Vec<u8>>,
) {
    let size = HEADROOM + CHUNK;
    loop {
        let mut buf = spare
            .try_recv()
            .ok()
            // A buffer grown for a jumbo record is not kept: memory goes back to normal.
            .filter(|b| b.capacity() <= 2 * size)
            .unwrap_or_default();
        // A recycled buffer already has this length (no zeroing); a new one is calloc'ed.
        buf.resize(size, 0);
        let mut end = HEADROOM;
        // The last message, once the source has ended or failed.
        let mut last = None;
        // Fill the whole chunk (pipes and decompressors hand out less per call), so that the
        // caller's per-chunk costs are spread over as many records as possible.
        while end < size {
            let room = buf.get_mut(end..).unwrap_or_default();
            match source.read(room) {
                Ok(0) => {
                    last = Some(Message::End);
                    break;
                }
                Ok(n) => end = end.saturating_add(n).min(size),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    last = Some(Message::Failed(e));
                    break;
                }
            }
        }
        // The bytes read come first, also before an error.
        if end > HEADROOM && filled.send(Message::Chunk(buf, end)).is_err() {
            return; // the caller is gone
        }
        if let Some(last) = last {
            let _ = filled.send(last);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out at most `step` bytes per read, then fails with `fail` if given.
    struct Source {
        data: Vec<u8>,
        at: usize,
        step: usize,
        fail: Option<io::ErrorKind>,
    }

    impl Read for Source {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len() - self.at);
            if n == 0 {
                if let Some(kind) = self.fail {
                    return Err(io::Error::new(kind, "disk on fire"));
                }
            }
            out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    /// Everything the chunks carry, in order, recycling each buffer like the caller does.
    fn drain(ahead: &mut ReadAhead) -> (Vec<u8>, io::Result<()>) {
        let mut out = Vec::new();
        loop {
            match ahead.next_chunk() {
                Ok(Some((buf, end))) => {
                    assert!(end > HEADROOM && end <= HEADROOM + CHUNK);
                    out.extend_from_slice(&buf[HEADROOM..end]);
                    ahead.recycle(buf);
                }
                Ok(None) => return (out, Ok(())),
                Err(e) => return (out, Err(e)),
            }
        }
    }

    #[test]
    fn every_byte_arrives_once_in_order_through_full_chunks() {
        let len = 3 * CHUNK + 12345;
        let source = Source {
            data: data(len),
            at: 0,
            step: 4096, // like a pipe: the thread keeps reading until a chunk is full
            fail: None,
        };
        let mut ahead = ReadAhead::spawn(Box::new(source)).unwrap();
        let first = ahead.next_chunk().unwrap().unwrap();
        assert_eq!(
            first.1,
            HEADROOM + CHUNK,
            "a whole chunk, not one read's worth"
        );
        let mut got = first.0[HEADROOM..first.1].to_vec();
        ahead.recycle(first.0);
        let (rest, end) = drain(&mut ahead);
        got.extend(rest);
        assert!(end.is_ok());
        assert_eq!(got, data(len));
        assert!(ahead.next_chunk().unwrap().is_none(), "stays at the end");
    }

    #[test]
    fn a_read_error_comes_after_the_bytes_before_it() {
        let source = Source {
            data: data(1000),
            at: 0,
            step: 100,
            fail: Some(io::ErrorKind::PermissionDenied),
        };
        let mut ahead = ReadAhead::spawn(Box::new(source)).unwrap();
        let (got, end) = drain(&mut ahead);
        assert_eq!(got, data(1000));
        assert_eq!(end.unwrap_err().kind(), io::ErrorKind::PermissionDenied);
        assert!(ahead.next_chunk().unwrap().is_none());
    }

    #[test]
    fn an_empty_source_is_just_the_end() {
        let source = Source {
            data: Vec::new(),
            at: 0,
            step: 1,
            fail: None,
        };
        let mut ahead = ReadAhead::spawn(Box::new(source)).unwrap();
        assert!(ahead.next_chunk().unwrap().is_none());
    }

    #[test]
    fn dropping_the_caller_stops_the_thread() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        use std::time::Duration;
        /// An endless source that counts its reads.
        struct Endless(Arc<AtomicUsize>);
        impl Read for Endless {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                self.0.fetch_add(1, Ordering::Relaxed);
                out.fill(7);
                Ok(out.len())
            }
        }
        let reads = Arc::new(AtomicUsize::new(0));
        let mut ahead = ReadAhead::spawn(Box::new(Endless(Arc::clone(&reads)))).unwrap();
        assert!(ahead.next_chunk().unwrap().is_some());
        drop(ahead);
        // The thread's next hand-over fails and it ends: the reads stop growing.
        std::thread::sleep(Duration::from_millis(100));
        let settled = reads.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(reads.load(Ordering::Relaxed), settled);
        assert!(settled <= CHUNKS_IN_FLIGHT + 3, "{settled} reads");
    }
}

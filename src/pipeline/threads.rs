//! The thread policy of the capture commands, in one place: whether a file is read in a thread
//! of its own, and how many threads count flows.

/// How one run uses threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadPlan {
    /// Read regular files in a thread of their own
    /// ([`crate::capture::CaptureReader::read_ahead`]). Pipes are always read in the counting
    /// thread, so their records are not held back until a chunk fills.
    pub read_ahead: bool,
    /// Flow shards, each a worker thread of a [`super::ShardedPipeline`] fed by a decoding
    /// thread; 0 counts flows in the calling thread with a [`super::Pipeline`].
    pub flow_shards: usize,
}

impl ThreadPlan {
    /// The cores this process may use (1 when unknown): `summary --threads`' default.
    pub fn available_cores() -> usize {
        std::thread::available_parallelism().map_or(1, usize::from)
    }

    /// `summary --threads N` (`None`: the number of cores). 1 does everything in one thread;
    /// 2 reads in one and counts in the other (the `read()` copy is about half the work on full
    /// frames, so this balances two cores); N > 2 reads in one, decodes in another and gives
    /// N - 2 workers a shard of the flows each. The counts are the same for any N.
    pub fn summary(threads: Option<usize>) -> ThreadPlan {
        let threads = threads.unwrap_or_else(Self::available_cores).max(1);
        ThreadPlan {
            read_ahead: threads >= 2,
            flow_shards: threads.saturating_sub(2),
        }
    }

    /// `flows --threads N`: one flow table keeps the records in the order flows end, so the
    /// threads past two do not shard the flows; the records are formatted and written in a
    /// thread of their own instead.
    pub fn write_records_apart(&self) -> bool {
        self.flow_shards > 0
    }

    /// How many threads read files at once when `files` regular files are summarized together:
    /// one per file up to the thread count (each reads, decodes and counts its file whole),
    /// or 1 (read one after the other) with one thread or one file.
    pub fn file_workers(&self, files: usize) -> usize {
        let threads = if self.read_ahead {
            self.flow_shards + 2
        } else {
            1
        };
        threads.min(files).max(1)
    }

    /// `annotate` and other output in frame order: only the reading can move to another
    /// thread, worth it whenever there is a second core.
    pub fn in_frame_order() -> ThreadPlan {
        ThreadPlan {
            read_ahead: Self::available_cores() >= 2,
            flow_shards: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_thread_reads_and_counts_two_split_them_more_shard_the_flows() {
        let plan = |n| ThreadPlan::summary(Some(n));
        assert_eq!((plan(1).read_ahead, plan(1).flow_shards), (false, 0));
        assert_eq!((plan(2).read_ahead, plan(2).flow_shards), (true, 0));
        assert_eq!((plan(3).read_ahead, plan(3).flow_shards), (true, 1));
        assert_eq!((plan(6).read_ahead, plan(6).flow_shards), (true, 4));
        assert_eq!(plan(0), plan(1), "0 threads is taken as 1");
        assert_eq!(
            ThreadPlan::summary(None),
            plan(ThreadPlan::available_cores())
        );
        assert_eq!(ThreadPlan::in_frame_order().flow_shards, 0);
        assert!(!plan(2).write_records_apart() && plan(3).write_records_apart());
        assert_eq!(plan(1).file_workers(4), 1);
        assert_eq!(plan(2).file_workers(4), 2);
        assert_eq!(plan(3).file_workers(4), 3);
        assert_eq!(plan(8).file_workers(4), 4);
        assert_eq!(plan(8).file_workers(1), 1);
    }
}

//! Fragment port inheritance: later IP fragments carry no transport header, so they borrow the
//! ports of the first fragment (offset 0) of the same datagram when it was seen.
//!
//! Takes decoded [`PacketInfo`]s in capture order and fills in `ports` for later fragments. Does
//! not reassemble anything, never holds packet bytes. Bounded: at most `capacity` datagrams are
//! remembered (the oldest is forgotten first) and an entry older than the timeout is ignored.
//! All memory is reserved in [`FragmentTracker::new`]; `apply` does not allocate.

use super::info::{FragmentKey, PacketInfo, Ports};
use std::collections::{HashMap, VecDeque};

#[derive(Debug, Clone, Copy)]
struct Entry {
    ports: Ports,
    first_seen_nanos: i64,
}

/// Remembers the ports of first fragments so later fragments can inherit them.
#[derive(Debug)]
pub struct FragmentTracker {
    capacity: usize,
    timeout_nanos: i64,
    entries: HashMap<FragmentKey, Entry>,
    /// Keys in insertion order, for evicting the oldest; never longer than `capacity`.
    order: VecDeque<FragmentKey>,
}

impl FragmentTracker {
    /// A tracker for up to `capacity` datagrams whose entries expire `timeout_nanos` after the
    /// first fragment was seen. A capacity of 0 remembers nothing.
    pub fn new(capacity: usize, timeout_nanos: i64) -> Self {
        FragmentTracker {
            capacity,
            timeout_nanos,
            // Twice the capacity: with at most half the slots live, the map can always reuse
            // the slots of removed entries instead of growing.
            entries: HashMap::with_capacity(capacity.saturating_mul(2)),
            order: VecDeque::with_capacity(capacity),
        }
    }

    /// Record a first fragment's ports, or give a later fragment the ports of its first.
    #[inline]
    pub fn apply(&mut self, ts_nanos: i64, info: &mut PacketInfo) {
        // Called for every packet; nearly none is a fragment, and that test is all they cost.
        if info.fragment.is_some() {
            self.apply_fragment(ts_nanos, info);
        }
    }

    #[inline(never)]
    fn apply_fragment(&mut self, ts_nanos: i64, info: &mut PacketInfo) {
        let Some(fragment) = info.fragment else {
            return;
        };
        if fragment.offset == 0 {
            if let Some(ports) = info.ports {
                self.record(fragment.key, ports, ts_nanos);
            }
            return;
        }
        // A later fragment that already has ports got them from an enclosing tunnel.
        if info.ports.is_some() {
            return;
        }
        if let Some(ports) = self.lookup(fragment.key, ts_nanos) {
            info.ports = Some(ports);
            info.inherited = true;
            info.reason = None;
        }
    }

    /// Number of datagrams currently remembered (expired entries may still be counted).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn record(&mut self, key: FragmentKey, ports: Ports, ts_nanos: i64) {
        if self.capacity == 0 {
            return;
        }
        let entry = Entry {
            ports,
            first_seen_nanos: ts_nanos,
        };
        if let Some(existing) = self.entries.get_mut(&key) {
            // A retransmitted first fragment: refresh, keep its place in the eviction order.
            *existing = entry;
            return;
        }
        while self.order.len() >= self.capacity {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.entries.remove(&oldest);
                }
                None => break,
            }
        }
        self.entries.insert(key, entry);
        self.order.push_back(key);
    }

    fn lookup(&mut self, key: FragmentKey, ts_nanos: i64) -> Option<Ports> {
        let entry = *self.entries.get(&key)?;
        let age = ts_nanos.saturating_sub(entry.first_seen_nanos);
        if age > self.timeout_nanos {
            self.entries.remove(&key);
            self.order.retain(|k| *k != key);
            return None;
        }
        Some(entry.ports)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Fragment, NoPortsReason};
    use crate::transport::Transport;
    use std::net::{IpAddr, Ipv4Addr};

    const SECOND: i64 = 1_000_000_000;

    fn key(id: u32) -> FragmentKey {
        FragmentKey {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            protocol: 17,
            id,
        }
    }

    const DNS: Ports = Ports {
        transport: Transport::Udp,
        src_port: 5353,
        dst_port: 53,
    };

    fn first(id: u32) -> PacketInfo {
        PacketInfo {
            ports: Some(DNS),
            fragment: Some(Fragment {
                key: key(id),
                offset: 0,
                more_fragments: true,
            }),
            ..PacketInfo::default()
        }
    }

    fn later(id: u32) -> PacketInfo {
        PacketInfo {
            fragment: Some(Fragment {
                key: key(id),
                offset: 1480,
                more_fragments: false,
            }),
            reason: Some(NoPortsReason::FragmentWithoutPorts),
            ..PacketInfo::default()
        }
    }

    #[test]
    fn later_fragment_inherits_first_fragment_ports() {
        let mut t = FragmentTracker::new(4, 30 * SECOND);
        t.apply(0, &mut first(7));
        let mut l = later(7);
        t.apply(SECOND, &mut l);
        assert_eq!(l.ports, Some(DNS));
        assert!(l.inherited);
        assert_eq!(l.reason, None);
    }

    #[test]
    fn later_fragment_without_first_keeps_its_reason() {
        let mut t = FragmentTracker::new(4, 30 * SECOND);
        t.apply(0, &mut first(7));
        let mut l = later(8);
        t.apply(SECOND, &mut l);
        assert_eq!(l.ports, None);
        assert!(!l.inherited);
        assert_eq!(l.reason, Some(NoPortsReason::FragmentWithoutPorts));
    }

    #[test]
    fn entries_time_out() {
        let mut t = FragmentTracker::new(4, 30 * SECOND);
        t.apply(0, &mut first(7));
        let mut l = later(7);
        t.apply(31 * SECOND, &mut l);
        assert_eq!(l.ports, None);
        assert!(t.is_empty());
    }

    #[test]
    fn oldest_entry_evicted_at_capacity() {
        let mut t = FragmentTracker::new(2, 30 * SECOND);
        for id in 1..=3 {
            t.apply(0, &mut first(id));
        }
        assert_eq!(t.len(), 2);
        let mut evicted = later(1);
        t.apply(SECOND, &mut evicted);
        assert_eq!(evicted.ports, None);
        let mut kept = later(3);
        t.apply(SECOND, &mut kept);
        assert_eq!(kept.ports, Some(DNS));
    }
}

//! The flat tables: per transport one 65536-slot array, built once from the rows.
//!
//! A slot is one packed `u32` (row index of the deciding row, status, unauthorized-use bit),
//! so [`Registry::port`] is one bounds-free index: the port is a `u16` and every table has
//! exactly 65536 slots. Four tables take 1 MiB; an empty slot is all zero bits, so the tables
//! come zeroed from the allocator and only the pages that rows touch are ever written. The unauthorized-use text lives in a side map
//! consulted only for the few slots whose bit is set; the name index is built on first use,
//! so a port lookup never pays for it.

use super::{Class, Entry, PortInfo, Source, Status};
use crate::transport::Transport;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Number of slots per transport: every u16 port.
const PORTS: usize = 1 << 16;

/// Slot layout: bits 0-28 row index + 1 (0: no row), bits 29-30 status (0 unassigned,
/// 1 reserved, 2 assigned), bit 31 "unauthorized use reported". All zero: an empty slot.
const ROW_MASK: u32 = (1 << 29) - 1;
/// "No row". Registries have far fewer rows than the 2^29 - 2 a slot can name (IANA's ~15,000).
const NO_ROW: u32 = u32::MAX;
const STATUS_SHIFT: u32 = 29;
const NOTE_BIT: u32 = 1 << 31;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot(u32);

impl Slot {
    const EMPTY: Slot = Slot(0);

    const fn new(row: u32, status: Status) -> Slot {
        let status_bits = match status {
            Status::Unassigned => 0,
            Status::Reserved => 1,
            Status::Assigned => 2,
        };
        Slot((row.wrapping_add(1) & ROW_MASK) | (status_bits << STATUS_SHIFT))
    }

    /// The primary named row (assigned), the first `Reserved` row (reserved), or NO_ROW.
    const fn row(self) -> u32 {
        (self.0 & ROW_MASK).wrapping_sub(1)
    }

    const fn status(self) -> Status {
        match (self.0 >> STATUS_SHIFT) & 0b11 {
            2 => Status::Assigned,
            1 => Status::Reserved,
            _ => Status::Unassigned,
        }
    }

    const fn has_note(self) -> bool {
        self.0 & NOTE_BIT != 0
    }

    /// Same slot with another deciding row and status; the note bit is kept.
    fn decide(&mut self, row: u32, status: Status) {
        self.0 = Slot::new(row, status).0 | (self.0 & NOTE_BIT);
    }
}

/// Slot counts of one transport, by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub assigned: u32,
    pub reserved: u32,
    pub unassigned: u32,
}

impl Counts {
    /// Count one slot more (+1) or less (-1) in `status`; counts stay within 0..=65536.
    fn add(&mut self, status: Status, delta: i8) {
        let count = match status {
            Status::Assigned => &mut self.assigned,
            Status::Reserved => &mut self.reserved,
            Status::Unassigned => &mut self.unassigned,
        };
        *count = if delta < 0 {
            count.saturating_sub(1)
        } else {
            count.saturating_add(1)
        };
    }

    pub fn get(&self, status: Status) -> u32 {
        match status {
            Status::Assigned => self.assigned,
            Status::Reserved => self.reserved,
            Status::Unassigned => self.unassigned,
        }
    }
}

/// The loaded registry: its rows, the per-transport slot tables and a name index.
#[derive(Debug)]
pub struct Registry {
    entries: Vec<Entry>,
    /// Indexed by [`Transport::index`]; each has exactly [`PORTS`] slots (raw [`Slot`] bits,
    /// kept as plain u32 so that the allocator hands them out zeroed).
    tables: [Box<[u32]>; 4],
    /// (transport index << 16 | port, row of the slot's unauthorized-use note), sorted by key
    /// once [`fill`](Self::fill) is done: a few thousand slots, pushed in row order and sorted
    /// once, where a SipHash map's inserts were a tenth of the start-up.
    notes: Vec<(u32, u32)>,
    /// Lower-cased name or alias -> indices of the rows carrying it, in file order.
    by_name: OnceLock<HashMap<String, Vec<u32>>>,
    counts: [Counts; 4],
    source: Source,
    date: Option<String>,
    overlays: Vec<PathBuf>,
    /// Rows left out because portnote does not read their transport, by protocol name.
    skipped: std::collections::BTreeMap<String, u64>,
}

/// The key of a slot's note: transport index and port in one u32, sorting by transport first.
fn note_key(transport: usize, port: u16) -> u32 {
    ((transport as u32) << 16) | u32::from(port)
}

impl Default for Registry {
    /// An empty registry: every slot unassigned.
    fn default() -> Self {
        Registry::build(Vec::new(), Source::Embedded, None)
    }
}

impl Registry {
    /// Build the tables from rows in file order (see the module doc of [`crate::registry`]
    /// for the slot semantics).
    pub fn build(entries: Vec<Entry>, source: Source, date: Option<String>) -> Registry {
        let mut registry = Registry {
            entries,
            tables: std::array::from_fn(|_| vec![Slot::EMPTY.0; PORTS].into_boxed_slice()),
            notes: Vec::new(),
            by_name: OnceLock::new(),
            counts: [Counts::default(); 4],
            source,
            date,
            overlays: Vec::new(),
            skipped: std::collections::BTreeMap::new(),
        };
        registry.fill();
        registry
    }

    /// Record rows the loader left out (services(5) rows on `ddp` and the like), by protocol
    /// name, added to those already recorded.
    pub fn add_skipped(&mut self, skipped: std::collections::BTreeMap<String, u64>) {
        for (name, count) in skipped {
            let total = self.skipped.entry(name).or_insert(0);
            *total = total.saturating_add(count);
        }
    }

    /// Rows left out because portnote does not read their transport, by protocol name.
    pub fn skipped(&self) -> &std::collections::BTreeMap<String, u64> {
        &self.skipped
    }

    /// Lay the rows of a `--services` file over the registry: their names become primary
    /// for the slots they cover.
    pub fn overlay(&mut self, entries: Vec<Entry>, path: PathBuf) {
        self.entries.extend(entries.into_iter().map(|mut e| {
            e.overlay = true;
            e
        }));
        self.overlays.push(path);
        for table in &mut self.tables {
            table.fill(Slot::EMPTY.0);
        }
        self.notes.clear();
        self.by_name = OnceLock::new();
        self.fill();
    }

    /// Lay every row over empty tables, in file order, counting status changes as they
    /// happen (so untouched slots are never read).
    fn fill(&mut self) {
        self.counts = [Counts {
            assigned: 0,
            reserved: 0,
            unassigned: 65536,
        }; 4];
        for (index, entry) in self.entries.iter().enumerate() {
            // Beyond 2^29 - 2 rows the packed index cannot say more; no registry comes close.
            let row = match u32::try_from(index) {
                Ok(row) if row < ROW_MASK - 1 => row,
                _ => break,
            };
            let Some(ports) = entry.ports else {
                continue;
            };
            let range = usize::from(ports.first)..=usize::from(ports.last);
            let has_note = !entry.unauthorized.is_empty();
            let Some(transport) = entry.transport else {
                // No transport: covers no slot, but an unauthorized-use report is about the
                // port whatever the transport (IANA files port 100's this way).
                if has_note {
                    for (t, table) in self.tables.iter_mut().enumerate() {
                        let slots = table.get_mut(range.clone()).into_iter().flatten();
                        for (port, bits) in (ports.first..=ports.last).zip(slots) {
                            if !Slot(*bits).has_note() {
                                *bits |= NOTE_BIT;
                                self.notes.push((note_key(t, port), row));
                            }
                        }
                    }
                }
                continue;
            };
            let t = transport.index();
            let (Some(slots), Some(counts)) = (
                self.tables
                    .get_mut(t)
                    .and_then(|table| table.get_mut(range)),
                self.counts.get_mut(t),
            ) else {
                continue;
            };
            for (port, bits) in (ports.first..=ports.last).zip(slots) {
                let mut slot = Slot(*bits);
                let before = slot.status();
                if entry.is_named() {
                    // An overlay row displaces a registry row; otherwise the first name wins.
                    let displaces = before != Status::Assigned
                        || (entry.overlay
                            && !self
                                .entries
                                .get(slot.row() as usize)
                                .is_some_and(|primary| primary.overlay));
                    if displaces {
                        slot.decide(row, Status::Assigned);
                    }
                } else if entry.is_reserved() && before == Status::Unassigned {
                    slot.decide(row, Status::Reserved);
                }
                if has_note && !slot.has_note() {
                    slot.0 |= NOTE_BIT;
                    self.notes.push((note_key(t, port), row));
                }
                let after = slot.status();
                if after != before {
                    counts.add(before, -1);
                    counts.add(after, 1);
                }
                *bits = slot.0;
            }
        }
        // A slot's note is pushed once (its NOTE_BIT guards it), so the keys are unique.
        self.notes.sort_unstable_by_key(|&(key, _)| key);
    }

    fn name_index(&self) -> &HashMap<String, Vec<u32>> {
        self.by_name.get_or_init(|| {
            let mut index: HashMap<String, Vec<u32>> = HashMap::new();
            for (row, entry) in (0u32..).zip(&self.entries) {
                for name in entry.names() {
                    index
                        .entry(name.to_ascii_lowercase())
                        .or_default()
                        .push(row);
                }
            }
            index
        })
    }

    fn slot(&self, transport: Transport, port: u16) -> Slot {
        self.tables
            .get(transport.index())
            .and_then(|table| table.get(usize::from(port)))
            .map_or(Slot::EMPTY, |&bits| Slot(bits))
    }

    fn row(&self, row: u32) -> Option<&Entry> {
        if row == NO_ROW {
            return None;
        }
        self.entries.get(row as usize)
    }

    /// The status of one slot, without names or notes: the per-packet path's lookup.
    #[inline]
    pub fn status(&self, transport: Transport, port: u16) -> Status {
        self.slot(transport, port).status()
    }

    /// Constant-time lookup of one slot.
    pub fn port(&self, transport: Transport, port: u16) -> PortInfo<'_> {
        let slot = self.slot(transport, port);
        let service = match slot.status() {
            Status::Assigned => self.row(slot.row()).map(|e| &*e.name),
            _ => None,
        };
        let unauthorized = if slot.has_note() {
            self.notes
                .binary_search_by_key(&note_key(transport.index(), port), |&(key, _)| key)
                .ok()
                .and_then(|i| self.notes.get(i))
                .and_then(|&(_, row)| self.row(row))
                .map(|e| &*e.unauthorized)
        } else {
            None
        };
        PortInfo {
            transport,
            port,
            status: slot.status(),
            class: Class::of(port),
            service,
            unauthorized,
        }
    }

    /// The row that decided the slot's status: the primary named row, or the `Reserved` row.
    pub fn deciding_entry(&self, transport: Transport, port: u16) -> Option<&Entry> {
        self.row(self.slot(transport, port).row())
    }

    /// Every row covering the slot, in file order (a scan: for lookups, not the hot path).
    pub fn entries_covering(
        &self,
        transport: Transport,
        port: u16,
    ) -> impl Iterator<Item = &Entry> + '_ {
        self.entries
            .iter()
            .filter(move |e| e.covers(transport, port))
    }

    /// Rows carrying this name or alias (case-insensitive), in file order.
    pub fn by_name(&self, name: &str) -> impl Iterator<Item = &Entry> + '_ {
        self.name_index()
            .get(&name.to_ascii_lowercase())
            .into_iter()
            .flatten()
            .filter_map(|&row| self.entries.get(row as usize))
    }

    /// All rows in file order (overlay rows last).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn counts(&self, transport: Transport) -> Counts {
        self.counts
            .get(transport.index())
            .copied()
            .unwrap_or_default()
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The registry's own date, when known.
    pub fn date(&self) -> Option<&str> {
        self.date.as_deref()
    }

    /// `--services` files laid over the registry, in order.
    pub fn overlays(&self) -> &[PathBuf] {
        &self.overlays
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::PortRange;

    fn row(name: &str, first: u16, last: u16, transport: Option<Transport>, desc: &str) -> Entry {
        Entry {
            name: name.to_string().into(),
            ports: Some(PortRange { first, last }),
            transport,
            description: desc.to_string().into(),
            ..Entry::default()
        }
    }

    fn registry(rows: Vec<Entry>) -> Registry {
        Registry::build(rows, Source::Embedded, None)
    }

    #[test]
    fn named_row_beats_reserved_row_in_either_order() {
        let tcp = Some(Transport::Tcp);
        let r = registry(vec![
            row("", 10, 20, tcp, "Reserved"),
            row("late", 15, 15, tcp, "named after the reservation"),
        ]);
        assert_eq!(r.port(Transport::Tcp, 15).status, Status::Assigned);
        assert_eq!(r.port(Transport::Tcp, 15).service, Some("late"));
        assert_eq!(r.port(Transport::Tcp, 14).status, Status::Reserved);
        assert_eq!(r.port(Transport::Tcp, 14).service, None);
        assert_eq!(r.port(Transport::Tcp, 21).status, Status::Unassigned);
        assert_eq!(r.port(Transport::Udp, 15).status, Status::Unassigned);
    }

    #[test]
    fn first_named_row_is_primary_and_all_names_stay_reachable() {
        let tcp = Some(Transport::Tcp);
        let r = registry(vec![
            row("shilp", 2049, 2049, tcp, ""),
            row("nfs", 2049, 2049, tcp, ""),
        ]);
        assert_eq!(r.port(Transport::Tcp, 2049).service, Some("shilp"));
        let names: Vec<_> = r
            .entries_covering(Transport::Tcp, 2049)
            .map(|e| &*e.name)
            .collect();
        assert_eq!(names, ["shilp", "nfs"]);
        assert_eq!(r.by_name("NFS").count(), 1);
    }

    #[test]
    fn rows_without_transport_cover_nothing_but_have_a_name() {
        let r = registry(vec![
            row("flex-lm", 27000, 27009, None, "FLEX LM"),
            row("", 225, 241, None, "Reserved"),
        ]);
        for t in Transport::ALL {
            assert_eq!(r.port(t, 27000).status, Status::Unassigned);
            assert_eq!(r.port(t, 230).status, Status::Unassigned);
        }
        assert_eq!(r.by_name("flex-lm").count(), 1);
    }

    #[test]
    fn unassigned_description_does_not_reserve() {
        let r = registry(vec![row("", 4, 4, Some(Transport::Tcp), "Unassigned")]);
        assert_eq!(r.port(Transport::Tcp, 4).status, Status::Unassigned);
    }

    #[test]
    fn unauthorized_note_is_carried_from_any_covering_row() {
        let mut noted = row("", 100, 100, Some(Transport::Udp), "Unassigned");
        noted.unauthorized = "Known Unauthorized Use on 100".into();
        let mut any_transport = row("", 200, 200, None, "Unassigned");
        any_transport.unauthorized = "Known Unauthorized Use on 200".into();
        let r = registry(vec![noted, any_transport]);
        let info = r.port(Transport::Udp, 100);
        assert_eq!(info.status, Status::Unassigned);
        assert_eq!(info.unauthorized, Some("Known Unauthorized Use on 100"));
        assert_eq!(r.port(Transport::Tcp, 100).unauthorized, None);
        for t in Transport::ALL {
            assert_eq!(
                r.port(t, 200).unauthorized,
                Some("Known Unauthorized Use on 200")
            );
            assert_eq!(r.port(t, 200).status, Status::Unassigned);
        }
    }

    #[test]
    fn overlay_names_become_primary_and_counts_follow() {
        let tcp = Some(Transport::Tcp);
        let mut r = registry(vec![row("pcsync-https", 8443, 8443, tcp, "")]);
        assert_eq!(r.counts(Transport::Tcp).assigned, 1);
        r.overlay(
            vec![
                row("myapp", 8443, 8443, tcp, ""),
                row("other", 8443, 8443, tcp, ""),
                row("x", 9, 9, tcp, ""),
            ],
            PathBuf::from("mine"),
        );
        assert_eq!(r.port(Transport::Tcp, 8443).service, Some("myapp"));
        assert_eq!(r.port(Transport::Tcp, 9).service, Some("x"));
        let c = r.counts(Transport::Tcp);
        assert_eq!((c.assigned, c.reserved, c.unassigned), (2, 0, 65534));
        assert_eq!(r.overlays(), [PathBuf::from("mine")]);
    }

    #[test]
    fn slot_bits_round_trip() {
        assert_eq!(Slot::EMPTY.row(), NO_ROW);
        assert_eq!(Slot::EMPTY.status(), Status::Unassigned);
        for (row, status) in [
            (0, Status::Assigned),
            (7, Status::Reserved),
            (ROW_MASK - 2, Status::Assigned),
        ] {
            let mut slot = Slot::new(row, status);
            assert_eq!(
                (slot.row(), slot.status(), slot.has_note()),
                (row, status, false)
            );
            slot.0 |= NOTE_BIT;
            slot.decide(3, Status::Reserved);
            assert_eq!(
                (slot.row(), slot.status(), slot.has_note()),
                (3, Status::Reserved, true)
            );
        }
    }

    #[test]
    fn counts_follow_every_status_change() {
        let tcp = Some(Transport::Tcp);
        let r = registry(vec![
            row("", 0, 9, tcp, "Reserved"),
            row("a", 5, 14, tcp, ""),
            row("b", 10, 10, tcp, ""),
            row("", 12, 20, tcp, "Reserved"),
        ]);
        // 0-4 reserved, 5-14 assigned, 15-20 reserved.
        let c = r.counts(Transport::Tcp);
        assert_eq!((c.assigned, c.reserved, c.unassigned), (10, 11, 65536 - 21));
        for t in Transport::ALL {
            let c = r.counts(t);
            let slots = (0..=u16::MAX).map(|p| r.port(t, p).status);
            let (mut a, mut rs) = (0, 0);
            for s in slots {
                match s {
                    Status::Assigned => a += 1,
                    Status::Reserved => rs += 1,
                    Status::Unassigned => {}
                }
            }
            assert_eq!((c.assigned, c.reserved), (a, rs), "{t}");
        }
    }

    #[test]
    fn edge_ports_and_classes() {
        let r = registry(vec![
            row("", 0, 0, Some(Transport::Dccp), "Reserved"),
            row("top", 65535, 65535, Some(Transport::Sctp), ""),
        ]);
        assert_eq!(r.port(Transport::Dccp, 0).status, Status::Reserved);
        assert_eq!(r.port(Transport::Sctp, 65535).service, Some("top"));
        assert_eq!(r.port(Transport::Sctp, 65535).class, Class::Dynamic);
        assert_eq!(r.port(Transport::Sctp, 1023).class, Class::System);
        assert_eq!(r.port(Transport::Sctp, 1024).class, Class::User);
        assert_eq!(r.port(Transport::Sctp, 49151).class, Class::User);
        assert_eq!(r.port(Transport::Sctp, 49152).class, Class::Dynamic);
    }
}

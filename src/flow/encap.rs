//! What a live flow keeps of its first packet's link beyond the slot's link bits: the inner
//! VLAN id and the outer endpoints of a tunnel, in a side table by slot index, only for flows
//! that have either (most flows have neither and cost nothing here).
//!
//! The slot's [`Slot::id`] top bits hold the outer VLAN id and say whether there is an entry
//! here; the entry goes when the flow's slot is freed. No I/O.

use super::record::{Encapsulation, OuterEndpoints};
use super::slot::Slot;
use std::collections::HashMap;

/// A flow's entry: what its slot cannot hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    inner_vlan: Option<u16>,
    outer: Option<OuterEndpoints>,
}

/// Inner VLAN ids and outer endpoints of the live flows that have them, by slot index.
#[derive(Debug, Default)]
pub(super) struct Encaps(HashMap<u32, Entry, foldhash::fast::FixedState>);

impl Encaps {
    /// Keeps `encap` for the new flow in `slot` (at `index`): its outer VLAN in the slot's link
    /// bits, the rest here when there is any. Inlined: most new flows have nothing to keep here.
    #[inline]
    pub(super) fn keep(&mut self, slot: &mut Slot, index: u32, encap: &Encapsulation) {
        let entry = Entry {
            inner_vlan: encap.vlans.inner_vlan,
            outer: encap.outer,
        };
        let has_entry = entry.inner_vlan.is_some() || entry.outer.is_some();
        if has_entry {
            self.0.insert(index, entry);
        } else if slot.has_encap() {
            self.0.remove(&index);
        }
        slot.set_link(encap.vlans.vlan, has_entry);
    }

    /// The encapsulation the flow in `slot` (at `index`) was kept with.
    pub(super) fn of(&self, slot: &Slot, index: u32) -> Encapsulation {
        let entry = if slot.has_encap() {
            self.0.get(&index).copied()
        } else {
            None
        };
        let mut encap = Encapsulation::default();
        encap.vlans.vlan = slot.vlan();
        if let Some(entry) = entry {
            encap.vlans.inner_vlan = entry.inner_vlan;
            encap.outer = entry.outer;
        }
        encap
    }

    /// The flow at `index` ended.
    pub(super) fn remove(&mut self, index: u32) {
        self.0.remove(&index);
    }

    pub(super) fn clear(&mut self) {
        self.0 = HashMap::default();
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}

//! Bounds-checked big-endian reads, shared by the decoders: `None` when the bytes are not all
//! present, never a panic.

/// Big-endian u16 at `at`, if both bytes are present.
pub(crate) fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let end = at.checked_add(2)?;
    match bytes.get(at..end)? {
        [hi, lo] => Some(u16::from_be_bytes([*hi, *lo])),
        _ => None,
    }
}

/// Big-endian u32 at `at`, if all four bytes are present.
pub(crate) fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    match bytes.get(at..end)? {
        [a, b, c, d] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

/// Little-endian u16 at `at` (radiotap, PPI and their kin store fields so).
pub(crate) fn read_u16_le(bytes: &[u8], at: usize) -> Option<u16> {
    read_u16(bytes, at).map(u16::swap_bytes)
}

/// Little-endian u32 at `at`.
pub(crate) fn read_u32_le(bytes: &[u8], at: usize) -> Option<u32> {
    read_u32(bytes, at).map(u32::swap_bytes)
}

//! A classic-BPF interpreter, for the one thing `pcap::BpfProgram::filter` cannot do: tell the
//! program a frame's wire length. That crate passes the captured length as both lengths, so
//! `len`, `greater` and `less` would misjudge every truncated frame (a 68-byte snapshot of a
//! 1514-byte packet is not `less 100`).
//!
//! Takes the instructions libpcap compiled, runs them over the captured bytes with the true wire
//! length, and returns what libpcap's `bpf_filter()` returns for the same program: any read
//! outside the captured bytes, a division by zero, an unknown opcode or a jump off the end
//! rejects the packet (returns 0). Never panics.

use std::fmt;

/// One `struct bpf_insn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Instruction {
    pub(crate) code: u16,
    pub(crate) jt: u8,
    pub(crate) jf: u8,
    pub(crate) k: u32,
}

impl Instruction {
    /// Parses the `pcap` crate's `BpfInstruction` display form, `"code jt jf k"` (its only
    /// public view of the fields).
    pub(crate) fn from_display(text: &str) -> Option<Instruction> {
        let mut fields = text.split(' ');
        let instruction = Instruction {
            code: fields.next()?.parse().ok()?,
            jt: fields.next()?.parse().ok()?,
            jf: fields.next()?.parse().ok()?,
            k: fields.next()?.parse().ok()?,
        };
        fields.next().is_none().then_some(instruction)
    }

    /// Whether this instruction loads the wire length (`BPF_LD|BPF_LEN` or `BPF_LDX|BPF_LEN`).
    pub(crate) fn reads_wire_length(&self) -> bool {
        matches!(self.code & 0x07, LD | LDX) && self.code & 0xe0 == MODE_LEN
    }
}

impl fmt::Display for Instruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} {}", self.code, self.jt, self.jf, self.k)
    }
}

// Instruction classes (code & 0x07).
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;
// Load sizes (code & 0x18).
const SIZE_W: u16 = 0x00;
const SIZE_H: u16 = 0x08;
const SIZE_B: u16 = 0x10;
// Load modes (code & 0xe0).
const MODE_IMM: u16 = 0x00;
const MODE_ABS: u16 = 0x20;
const MODE_IND: u16 = 0x40;
const MODE_MEM: u16 = 0x60;
const MODE_LEN: u16 = 0x80;
const MODE_MSH: u16 = 0xa0;
/// Operand source bit: X rather than k.
const SRC_X: u16 = 0x08;
/// Scratch memory words (`BPF_MEMWORDS`).
const MEMWORDS: usize = 16;

/// Runs `program` over `packet` (the captured bytes) whose wire length is `wire_len`; returns
/// the program's verdict (0 = reject, otherwise the snapshot length to keep).
pub(crate) fn run(program: &[Instruction], packet: &[u8], wire_len: u32) -> u32 {
    let mut a: u32 = 0;
    let mut x: u32 = 0;
    let mut mem = [0u32; MEMWORDS];
    let mut pc: usize = 0;
    // Each instruction runs at most once: jumps only go forward.
    while let Some(insn) = program.get(pc) {
        pc += 1;
        let k = insn.k;
        let operand = if insn.code & SRC_X != 0 { x } else { k };
        match insn.code & 0x07 {
            RET => {
                return match insn.code & 0x18 {
                    0x00 => k,
                    0x10 => a,
                    _ => 0,
                }
            }
            LD => {
                let loaded = match insn.code & 0xe0 {
                    MODE_IMM => Some(k),
                    MODE_LEN => Some(wire_len),
                    MODE_MEM => mem.get(k as usize).copied(),
                    MODE_ABS => load(packet, Some(k), insn.code & 0x18),
                    MODE_IND => load(packet, x.checked_add(k), insn.code & 0x18),
                    _ => None,
                };
                let Some(value) = loaded else { return 0 };
                a = value;
            }
            LDX => {
                let loaded = match insn.code & 0xe0 {
                    MODE_IMM => Some(k),
                    MODE_LEN => Some(wire_len),
                    MODE_MEM => mem.get(k as usize).copied(),
                    // X = 4 * (packet[k] & 0x0f): an IPv4 header length.
                    MODE_MSH => packet.get(k as usize).map(|b| u32::from(b & 0x0f) << 2),
                    _ => None,
                };
                let Some(value) = loaded else { return 0 };
                x = value;
            }
            ST | STX => {
                let value = if insn.code & 0x07 == ST { a } else { x };
                let Some(slot) = mem.get_mut(k as usize) else {
                    return 0;
                };
                *slot = value;
            }
            ALU => {
                let result = match insn.code & 0xf0 {
                    0x00 => Some(a.wrapping_add(operand)),
                    0x10 => Some(a.wrapping_sub(operand)),
                    0x20 => Some(a.wrapping_mul(operand)),
                    0x30 => a.checked_div(operand),
                    0x40 => Some(a | operand),
                    0x50 => Some(a & operand),
                    // Shifts by 32 or more give 0, as libpcap's interpreter does.
                    0x60 => Some(a.checked_shl(operand).unwrap_or(0)),
                    0x70 => Some(a.checked_shr(operand).unwrap_or(0)),
                    0x80 => Some(a.wrapping_neg()),
                    0x90 => a.checked_rem(operand),
                    0xa0 => Some(a ^ operand),
                    _ => None,
                };
                let Some(value) = result else { return 0 };
                a = value;
            }
            JMP => {
                let skip = match insn.code & 0xf0 {
                    0x00 => k as usize,
                    0x10 => usize::from(if a == operand { insn.jt } else { insn.jf }),
                    0x20 => usize::from(if a > operand { insn.jt } else { insn.jf }),
                    0x30 => usize::from(if a >= operand { insn.jt } else { insn.jf }),
                    0x40 => usize::from(if a & operand != 0 { insn.jt } else { insn.jf }),
                    _ => return 0,
                };
                let Some(target) = pc.checked_add(skip) else {
                    return 0;
                };
                pc = target;
            }
            MISC => match insn.code & 0xf8 {
                0x00 => x = a, // TAX
                0x80 => a = x, // TXA
                _ => return 0,
            },
            _ => return 0,
        }
    }
    // Fell off the end: libpcap's validator forbids it; reject like an abort.
    0
}

/// A big-endian load of the given size at `at`, if it lies within the captured bytes.
fn load(packet: &[u8], at: Option<u32>, size: u16) -> Option<u32> {
    let at = usize::try_from(at?).ok()?;
    match size {
        SIZE_W => {
            let bytes: [u8; 4] = packet.get(at..at.checked_add(4)?)?.try_into().ok()?;
            Some(u32::from_be_bytes(bytes))
        }
        SIZE_H => {
            let bytes: [u8; 2] = packet.get(at..at.checked_add(2)?)?.try_into().ok()?;
            Some(u32::from(u16::from_be_bytes(bytes)))
        }
        SIZE_B => packet.get(at).copied().map(u32::from),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Instruction {
        Instruction { code, jt, jf, k }
    }

    /// `greater 100` as libpcap compiles it: ld #pktlen; jge #100; ret #262144; ret #0.
    fn greater_100() -> Vec<Instruction> {
        vec![
            insn(0x80, 0, 0, 0),      // ld  #pktlen
            insn(0x35, 0, 1, 100),    // jge #100, jt 0 jf 1
            insn(0x06, 0, 0, 262144), // ret #262144
            insn(0x06, 0, 0, 0),      // ret #0
        ]
    }

    #[test]
    fn wire_length_not_captured_length_decides_length_tests() {
        let snapshot = [0u8; 68];
        assert_eq!(run(&greater_100(), &snapshot, 1514), 262144);
        assert_eq!(run(&greater_100(), &snapshot, 68), 0);
        assert!(greater_100()[0].reads_wire_length());
        assert!(!greater_100()[1].reads_wire_length());
    }

    #[test]
    fn loads_outside_the_captured_bytes_reject() {
        // ldh [12]; jeq #0x800 jt 0 jf 1; ret #1; ret #0  (ether proto ip)
        let program = [
            insn(0x28, 0, 0, 12),
            insn(0x15, 0, 1, 0x0800),
            insn(0x06, 0, 0, 1),
            insn(0x06, 0, 0, 0),
        ];
        let mut frame = [0u8; 14];
        frame[12] = 0x08; // EtherType 0x0800 at bytes 12-13
        assert_eq!(run(&program, &frame, 14), 1);
        assert_eq!(run(&program, &frame[..13], 14), 0); // half the EtherType captured
    }

    #[test]
    fn indexed_loads_scratch_memory_and_alu() {
        // ldxb 4*([0]&0xf); ldb [x+1]; st M[3]; ldx M[3]; txa; add #1; ret a
        let program = [
            insn(0xb1, 0, 0, 0),
            insn(0x50, 0, 0, 1),
            insn(0x02, 0, 0, 3),
            insn(0x61, 0, 0, 3),
            insn(0x87, 0, 0, 0),
            insn(0x04, 0, 0, 1),
            insn(0x16, 0, 0, 0),
        ];
        let mut packet = [0u8; 8];
        packet[0] = 0x41; // low nibble 1: X = 4
        packet[5] = 41; // byte at X + 1
        assert_eq!(run(&program, &packet, 8), 42);
        assert_eq!(run(&program, &packet[..5], 8), 0); // [x+1] = [5] not captured
    }

    #[test]
    fn division_by_zero_bad_memory_and_running_off_the_end_reject() {
        let div_x = [
            insn(0x00, 0, 0, 7),
            insn(0x3c, 0, 0, 0),
            insn(0x16, 0, 0, 0),
        ];
        assert_eq!(run(&div_x, &[], 0), 0);
        let bad_mem = [insn(0x60, 0, 0, 16), insn(0x06, 0, 0, 1)];
        assert_eq!(run(&bad_mem, &[], 0), 0);
        let no_ret = [insn(0x00, 0, 0, 7)];
        assert_eq!(run(&no_ret, &[], 0), 0);
        let jump_past = [insn(0x05, 0, 0, u32::MAX), insn(0x06, 0, 0, 1)];
        assert_eq!(run(&jump_past, &[], 0), 0);
    }

    #[test]
    fn display_form_round_trips() {
        let instruction = insn(0x15, 3, 7, 0x86dd);
        assert_eq!(
            Instruction::from_display(&instruction.to_string()),
            Some(instruction)
        );
        assert_eq!(Instruction::from_display("21 3 7"), None);
        assert_eq!(Instruction::from_display("21 3 7 1 9"), None);
        assert_eq!(Instruction::from_display("21 300 7 1"), None);
    }
}

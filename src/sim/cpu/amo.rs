//! The A extension for one hart: LR/SC with a reservation set, and the AMOs (swap, add, and, or, xor,
//! min, max, minu, maxu) on words and doublewords. Word results are sign-extended to 64 bits.
//!
//! Semantics (RISC-V unprivileged spec, chapter "A"): LR.W/D loads and registers a reservation on the
//! bytes it read; SC.W/D stores and writes 0 to rd only if the reservation is still held for the same
//! address and size, else writes 1 and stores nothing; either way SC clears the reservation. A hart store
//! overlapping the reserved bytes (including another SC's store, or an AMO) clears it too, as does a trap.
//! Writes by the accelerator's DMA do not clear a reservation (they are not hart stores; a program that
//! shares memory with the accelerator orders its accesses with `fence`). The aq/rl bits change nothing
//! with one in-order hart. Unlike plain loads and stores, LR/SC/AMOs must be
//! naturally aligned: a misaligned LR raises "load address misaligned", a misaligned SC or AMO
//! "store/AMO address misaligned" (as Spike does); an AMO whose address cannot be read or written raises
//! a store/AMO access fault.

use super::decode::{Inst, Op};
use super::{Hart, Step, TrapCause};
use crate::sim::mem::Memory;

impl Hart {
    /// Execute an LR, SC or AMO instruction; `a` and `b` are the values of rs1 (the address) and rs2.
    pub(super) fn exec_amo(&mut self, i: Inst, a: u64, b: u64, mem: &mut Memory) -> Step {
        let word = matches!(i.op, Op::LrW | Op::ScW | Op::AmoW);
        let n: u64 = if word { 4 } else { 8 };
        let ext = |v: u64| if word { v as i32 as i64 as u64 } else { v };
        let is_lr = matches!(i.op, Op::LrW | Op::LrD);
        if a & (n - 1) != 0 {
            let (cause, what) = if is_lr {
                (TrapCause::LoadMisaligned, "lr")
            } else {
                (TrapCause::StoreMisaligned, "sc/amo")
            };
            return self.exception(
                mem,
                cause,
                a,
                format!("{what} of {n} bytes at 0x{a:x}, which is not {n}-byte aligned"),
            );
        }
        match i.op {
            Op::LrW | Op::LrD => {
                let v = tri!(self.load(mem, a, n as usize));
                self.reservation = Some((a, n));
                self.write_rd(i.rd, ext(v));
                self.advance(i.len, self.timing.load)
            }
            Op::ScW | Op::ScD => {
                let held = self.reservation == Some((a, n));
                self.reservation = None;
                if !held {
                    self.write_rd(i.rd, 1);
                    return self.advance(i.len, self.timing.store);
                }
                let htif = tri!(self.write_mem(mem, a, n as usize, b));
                self.write_rd(i.rd, 0);
                let cycles = self.timing.store;
                self.advance(i.len, cycles);
                match htif {
                    Some(value) => Step::Htif { value, cycles },
                    None => Step::Retired { cycles },
                }
            }
            _ => {
                // An AMO reads and writes: PMP must allow the store before anything is read.
                tri!(self.pmp(mem, a, n, super::privilege::Access::Store));
                let mut buf = [0u8; 8];
                if let Err(e) = mem.read(a, &mut buf[..n as usize]) {
                    return self.exception(
                        mem,
                        TrapCause::StoreAccessFault,
                        a,
                        format!("amo: {e}"),
                    );
                }
                let old = ext(u64::from_le_bytes(buf));
                let new = amo_result(i.imm as u32, old, ext(b), word);
                let htif = tri!(self.write_mem(mem, a, n as usize, new));
                self.write_rd(i.rd, old);
                let cycles = self.timing.amo;
                self.advance(i.len, cycles);
                match htif {
                    Some(value) => Step::Htif { value, cycles },
                    None => Step::Retired { cycles },
                }
            }
        }
    }
}

/// The value an AMO with funct5 `f5` stores, from the old memory value and rs2 (both sign-extended
/// to 64 bits for words, so signed and unsigned comparisons of the 32-bit values are preserved).
pub(super) fn amo_result(f5: u32, old: u64, src: u64, word: bool) -> u64 {
    // For the unsigned word comparisons compare the 32-bit values, not their sign extensions.
    let (uo, us) = if word {
        (old as u32 as u64, src as u32 as u64)
    } else {
        (old, src)
    };
    match f5 {
        0b00001 => src,
        0b00000 => old.wrapping_add(src),
        0b00100 => old ^ src,
        0b01100 => old & src,
        0b01000 => old | src,
        0b10000 => (old as i64).min(src as i64) as u64,
        0b10100 => (old as i64).max(src as i64) as u64,
        0b11000 => {
            if uo <= us {
                old
            } else {
                src
            }
        }
        _ => {
            if uo >= us {
                old
            } else {
                src
            }
        }
    }
}

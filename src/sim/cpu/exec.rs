//! Fetch, execute and trap handling. The integer instructions execute here; the A extension in
//! [`super::amo`], F and D in [`super::fpu`].

use super::decode::{decode_parcel, Inst, Op, SEMIHOST_POST, SEMIHOST_PRE};
use super::privilege::{Access, Mode};
use super::{
    fetch_parcel, Hart, Pending, Slot, Step, TrapCause, EMPTY_SLOT, ICACHE_SIZE, MSTATUS_FS,
    MSTATUS_MIE, MSTATUS_MPIE,
};
use crate::sim::isa::RoccCmd;
use crate::sim::mem::Memory;

/// The cache slot of the instruction at `addr` (2-byte aligned: compressed code fills every slot).
#[inline(always)]
fn slot_index(addr: u64) -> usize {
    ((addr >> 1) as usize) & (ICACHE_SIZE - 1)
}

impl Hart {
    /// Execute the instruction at `pc`. `now_cycle` is the current cycle (what `rdcycle` returns).
    #[inline]
    pub fn step(&mut self, mem: &mut Memory, now_cycle: u64) -> Step {
        let pc = self.pc;
        let slot = self.icache[slot_index(pc)];
        // Tags carry the fetch mode in bit 0 (priv.rs), so U-mode never reuses an M-mode fetch.
        let inst = if slot.tag == pc ^ self.pv.fetch_key {
            slot.inst
        } else {
            tri!(self.refill(mem, pc))
        };
        self.execute(inst, mem, now_cycle)
    }

    #[cold]
    #[inline(never)]
    fn refill(&mut self, mem: &Memory, pc: u64) -> Result<Inst, Step> {
        if pc & 1 != 0 {
            return Err(self.exception(
                mem,
                TrapCause::InstructionMisaligned,
                pc,
                format!("fetch from 0x{pc:x}, which is not 2-byte aligned"),
            ));
        }
        let word = match fetch_parcel(mem, pc) {
            Ok(w) => w,
            Err((addr, e)) => {
                return Err(self.exception(
                    mem,
                    TrapCause::InstructionAccessFault,
                    addr,
                    format!("instruction fetch: {e}"),
                ))
            }
        };
        let inst = decode_parcel(word);
        self.pmp(mem, pc, u64::from(inst.len), Access::Fetch)?;
        // Bit 0 of a tag (always 0 in a 2-byte-aligned pc) holds the mode of the fetch.
        self.icache[slot_index(pc)] = Slot {
            tag: pc ^ self.pv.fetch_key,
            inst,
        };
        self.code_lo = self.code_lo.min(pc);
        self.code_hi = self.code_hi.max(pc + u64::from(inst.len));
        Ok(inst)
    }

    /// Raise an exception at the current `pc`: take it to `mtvec`, or end the run if there is no handler
    /// (or if the handler itself cannot be fetched, which would loop forever).
    #[cold]
    #[inline(never)]
    pub(super) fn exception(
        &mut self,
        mem: &Memory,
        cause: TrapCause,
        tval: u64,
        detail: String,
    ) -> Step {
        if self.pv.supervised && self.pv.mode == Mode::User {
            let detail = format!("{detail} (in U-mode, supervised: the run ends)");
            return Step::Trap(Box::new(self.report_tval(mem, cause, tval, detail)));
        }
        let vector = self.mtvec & !3;
        let handler_unfetchable = cause == TrapCause::InstructionAccessFault && self.pc == vector;
        if self.mtvec == 0 || handler_unfetchable {
            let detail = if self.mtvec == 0 {
                format!("{detail} (no trap handler installed: mtvec = 0)")
            } else {
                format!("{detail} (the trap handler at mtvec itself cannot be fetched)")
            };
            return Step::Trap(Box::new(self.report_tval(mem, cause, tval, detail)));
        }
        self.mepc = self.pc;
        self.mcause = cause.mcause().unwrap_or(0);
        self.mtval = tval;
        self.reservation = None;
        let mie = self.mstatus & MSTATUS_MIE != 0;
        self.mstatus = (self.mstatus & MSTATUS_FS)
            | self.enter_machine_mode()
            | if mie { MSTATUS_MPIE } else { 0 };
        self.pc = vector;
        self.pending = Pending::None;
        Step::Exception {
            cause,
            cycles: self.timing.branch_taken,
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn illegal(&mut self, mem: &Memory, why: &str) -> Step {
        let word = self.fetch_word(mem).unwrap_or(0);
        self.exception(
            mem,
            TrapCause::IllegalInstruction,
            word as u64,
            why.to_string(),
        )
    }

    /// Retire the instruction (of `len` bytes) at `pc` and move to the next one.
    #[inline(always)]
    pub(super) fn advance(&mut self, len: u8, cycles: u32) -> Step {
        self.pc = self.pc.wrapping_add(u64::from(len));
        self.instret = self.instret.wrapping_add(1);
        Step::Retired { cycles }
    }

    #[inline(always)]
    fn jump_to(&mut self, mem: &Memory, target: u64) -> Result<(), Step> {
        // With C, instructions are 2-byte aligned: jalr clears bit 0 and branch offsets are even, so
        // only mret to a bad mepc could get here, and mepc[0] is hard-wired to 0; kept as a guard.
        if target & 1 != 0 {
            return Err(self.exception(
                mem,
                TrapCause::InstructionMisaligned,
                target,
                format!("jump or branch target 0x{target:x} is not 2-byte aligned"),
            ));
        }
        self.pc = target;
        self.instret = self.instret.wrapping_add(1);
        Ok(())
    }

    /// Read `n` bytes at `addr`, zero-extended. Misaligned addresses are performed (as Spike does for
    /// the `p` test environment), not trapped.
    #[inline(always)]
    pub(super) fn load(&mut self, mem: &Memory, addr: u64, n: usize) -> Result<u64, Step> {
        self.pmp(mem, addr, n as u64, Access::Load)?;
        let mut b = [0u8; 8];
        match mem.read(addr, &mut b[..n]) {
            Ok(()) => Ok(u64::from_le_bytes(b)),
            Err(e) => {
                Err(self.exception(mem, TrapCause::LoadAccessFault, addr, format!("load: {e}")))
            }
        }
    }

    /// A store instruction of `len` bytes: write, then retire (reporting a store to `tohost`).
    #[inline(always)]
    pub(super) fn store(&mut self, mem: &mut Memory, addr: u64, n: usize, v: u64, len: u8) -> Step {
        let htif = tri!(self.write_mem(mem, addr, n, v));
        let cycles = self.timing.store;
        self.advance(len, cycles);
        match htif {
            Some(value) => Step::Htif { value, cycles },
            None => Step::Retired { cycles },
        }
    }

    /// Write the low `n` bytes of `v` at `addr` (misaligned addresses are performed) with every side
    /// effect of a hart store: PMP is checked, cached instructions it overlaps are dropped, an overlapped
    /// LR reservation is cleared, and Ok(Some(value)) reports a nonzero value left in `tohost`.
    #[inline(always)]
    pub(super) fn write_mem(
        &mut self,
        mem: &mut Memory,
        addr: u64,
        n: usize,
        v: u64,
    ) -> Result<Option<u64>, Step> {
        self.pmp(mem, addr, n as u64, Access::Store)?;
        if let Err(e) = mem.write(addr, &v.to_le_bytes()[..n]) {
            return Err(self.exception(
                mem,
                TrapCause::StoreAccessFault,
                addr,
                format!("store: {e}"),
            ));
        }
        let end = addr + n as u64;
        if addr < self.code_hi && self.code_lo < end {
            self.invalidate(addr, end);
        }
        if let Some((ra, rn)) = self.reservation {
            if addr < ra + rn && ra < end {
                self.reservation = None;
            }
        }
        if let Some(t) = self.tohost {
            if addr < t.wrapping_add(8) && t < end {
                let mut b = [0u8; 8];
                if mem.read(t, &mut b).is_ok() {
                    let value = u64::from_le_bytes(b);
                    if value != 0 {
                        return Ok(Some(value));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Drop every cached instruction that overlaps [addr, end): those starting at each halfword of the
    /// range, and a 32-bit one starting the halfword before it.
    #[cold]
    #[inline(never)]
    fn invalidate(&mut self, addr: u64, end: u64) {
        let mut h = (addr & !1).saturating_sub(2);
        while h < end {
            let slot = &mut self.icache[slot_index(h)];
            if slot.tag & !1 == h {
                *slot = EMPTY_SLOT;
            }
            h += 2;
        }
    }

    #[inline(always)]
    fn execute(&mut self, i: Inst, mem: &mut Memory, now: u64) -> Step {
        let a = self.x[(i.rs1 & 31) as usize];
        let b = self.x[(i.rs2 & 31) as usize];
        let imm = i.imm as i64 as u64;
        let pc = self.pc;
        let t = &self.timing;
        let (alu, mul, div, load) = (t.alu, t.mul, t.div, t.load);
        let (branch_taken, branch_not_taken, jump) = (t.branch_taken, t.branch_not_taken, t.jump);
        let sext32 = |v: u64| v as i32 as i64 as u64;
        let (v, cycles): (u64, u32) = match i.op {
            Op::Lui => (imm, alu),
            Op::Auipc => (pc.wrapping_add(imm), alu),
            Op::Addi => (a.wrapping_add(imm), alu),
            Op::Slti => (((a as i64) < (imm as i64)) as u64, alu),
            Op::Sltiu => ((a < imm) as u64, alu),
            Op::Xori => (a ^ imm, alu),
            Op::Ori => (a | imm, alu),
            Op::Andi => (a & imm, alu),
            Op::Slli => (a << (imm & 63), alu),
            Op::Srli => (a >> (imm & 63), alu),
            Op::Srai => (((a as i64) >> (imm & 63)) as u64, alu),
            Op::Add => (a.wrapping_add(b), alu),
            Op::Sub => (a.wrapping_sub(b), alu),
            Op::Sll => (a << (b & 63), alu),
            Op::Slt => (((a as i64) < (b as i64)) as u64, alu),
            Op::Sltu => ((a < b) as u64, alu),
            Op::Xor => (a ^ b, alu),
            Op::Srl => (a >> (b & 63), alu),
            Op::Sra => (((a as i64) >> (b & 63)) as u64, alu),
            Op::Or => (a | b, alu),
            Op::And => (a & b, alu),
            Op::Addiw => (sext32(a.wrapping_add(imm)), alu),
            Op::Slliw => (sext32(((a as u32) << (imm & 31)) as u64), alu),
            Op::Srliw => (sext32(((a as u32) >> (imm & 31)) as u64), alu),
            Op::Sraiw => (((a as i32) >> (imm & 31)) as i64 as u64, alu),
            Op::Addw => (sext32(a.wrapping_add(b)), alu),
            Op::Subw => (sext32(a.wrapping_sub(b)), alu),
            Op::Sllw => (sext32(((a as u32) << (b & 31)) as u64), alu),
            Op::Srlw => (sext32(((a as u32) >> (b & 31)) as u64), alu),
            Op::Sraw => (((a as i32) >> (b & 31)) as i64 as u64, alu),
            Op::Mul => (a.wrapping_mul(b), mul),
            Op::Mulh => (
                (((a as i64 as i128) * (b as i64 as i128)) >> 64) as u64,
                mul,
            ),
            Op::Mulhsu => (
                (((a as i64 as i128) * (b as u128 as i128)) >> 64) as u64,
                mul,
            ),
            Op::Mulhu => ((((a as u128) * (b as u128)) >> 64) as u64, mul),
            Op::Mulw => (sext32(a.wrapping_mul(b)), mul),
            Op::Div => {
                let v = if b == 0 {
                    u64::MAX
                } else {
                    (a as i64).wrapping_div(b as i64) as u64
                };
                (v, div)
            }
            Op::Divu => (a.checked_div(b).unwrap_or(u64::MAX), div),
            Op::Rem => {
                let v = if b == 0 {
                    a
                } else {
                    (a as i64).wrapping_rem(b as i64) as u64
                };
                (v, div)
            }
            Op::Remu => (a.checked_rem(b).unwrap_or(a), div),
            Op::Divw => {
                let (x, y) = (a as i32, b as i32);
                let v = if y == 0 { -1 } else { x.wrapping_div(y) };
                (v as i64 as u64, div)
            }
            Op::Divuw => {
                let (x, y) = (a as u32, b as u32);
                let v = x.checked_div(y).unwrap_or(u32::MAX);
                (sext32(v as u64), div)
            }
            Op::Remw => {
                let (x, y) = (a as i32, b as i32);
                let v = if y == 0 { x } else { x.wrapping_rem(y) };
                (v as i64 as u64, div)
            }
            Op::Remuw => {
                let (x, y) = (a as u32, b as u32);
                let v = x.checked_rem(y).unwrap_or(x);
                (sext32(v as u64), div)
            }
            Op::Lb => (
                tri!(self.load(mem, a.wrapping_add(imm), 1)) as i8 as i64 as u64,
                load,
            ),
            Op::Lh => (
                tri!(self.load(mem, a.wrapping_add(imm), 2)) as i16 as i64 as u64,
                load,
            ),
            Op::Lw => (
                tri!(self.load(mem, a.wrapping_add(imm), 4)) as i32 as i64 as u64,
                load,
            ),
            Op::Ld => (tri!(self.load(mem, a.wrapping_add(imm), 8)), load),
            Op::Lbu => (tri!(self.load(mem, a.wrapping_add(imm), 1)), load),
            Op::Lhu => (tri!(self.load(mem, a.wrapping_add(imm), 2)), load),
            Op::Lwu => (tri!(self.load(mem, a.wrapping_add(imm), 4)), load),
            Op::Sb => return self.store(mem, a.wrapping_add(imm), 1, b, i.len),
            Op::Sh => return self.store(mem, a.wrapping_add(imm), 2, b, i.len),
            Op::Sw => return self.store(mem, a.wrapping_add(imm), 4, b, i.len),
            Op::Sd => return self.store(mem, a.wrapping_add(imm), 8, b, i.len),
            Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu => {
                let taken = match i.op {
                    Op::Beq => a == b,
                    Op::Bne => a != b,
                    Op::Blt => (a as i64) < (b as i64),
                    Op::Bge => (a as i64) >= (b as i64),
                    Op::Bltu => a < b,
                    _ => a >= b,
                };
                return if taken {
                    let cycles = branch_taken;
                    tri!(self.jump_to(mem, pc.wrapping_add(imm)));
                    Step::Retired { cycles }
                } else {
                    let cycles = branch_not_taken;
                    self.advance(i.len, cycles)
                };
            }
            Op::Jal => {
                let cycles = jump;
                tri!(self.jump_to(mem, pc.wrapping_add(imm)));
                self.write_rd(i.rd, pc.wrapping_add(u64::from(i.len)));
                return Step::Retired { cycles };
            }
            Op::Jalr => {
                let cycles = jump;
                tri!(self.jump_to(mem, a.wrapping_add(imm) & !1));
                self.write_rd(i.rd, pc.wrapping_add(u64::from(i.len)));
                return Step::Retired { cycles };
            }
            Op::Csrrw | Op::Csrrs | Op::Csrrc | Op::Csrrwi | Op::Csrrsi | Op::Csrrci => {
                return self.csr_op(i, a, mem, now);
            }
            Op::Fence => {
                self.pending = Pending::Fence;
                return Step::Fence;
            }
            Op::FenceI => {
                self.flush_icache();
                return self.advance(i.len, alu);
            }
            Op::Wfi => return self.advance(i.len, alu),
            Op::Ecall => {
                return self.exception(
                    mem,
                    self.ecall_cause(),
                    0,
                    format!("ecall with a7 = {}", self.x[17] as i64),
                )
            }
            Op::Ebreak => return self.ebreak(mem, i.len),
            Op::Mret => {
                let cycles = jump;
                let target = tri!(self.do_mret(mem));
                tri!(self.jump_to(mem, target));
                return Step::Retired { cycles };
            }
            Op::Rocc => {
                let f3 = (i.imm >> 8) & 7;
                let xd = f3 & 4 != 0;
                let cmd = RoccCmd {
                    funct: (i.imm & 0x7f) as u8,
                    rs1: if f3 & 2 != 0 { a } else { 0 },
                    rs2: if f3 & 1 != 0 { b } else { 0 },
                };
                self.pending = Pending::Rocc { rd: i.rd, xd };
                return Step::Rocc { cmd, rd: i.rd, xd };
            }
            Op::LrW | Op::ScW | Op::AmoW | Op::LrD | Op::ScD | Op::AmoD => {
                return self.exec_amo(i, a, b, mem)
            }
            Op::Illegal => {
                return self.illegal(
                    mem,
                    "not an RV64GC, Zicsr, Zifencei or custom-3 instruction",
                )
            }
            _ => return self.exec_fp(i, a, mem),
        };
        self.write_rd(i.rd, v);
        self.advance(i.len, cycles)
    }

    #[inline(always)]
    pub(super) fn write_rd(&mut self, rd: u8, v: u64) {
        self.x[(rd & 31) as usize] = v;
        self.x[0] = 0;
    }

    fn csr_op(&mut self, i: Inst, rs1_value: u64, mem: &Memory, now: u64) -> Step {
        let csr = (i.imm as u32 & 0xfff) as u16;
        if let Err(why) = self.pv.csr_allowed(csr) {
            return self.illegal(mem, &why);
        }
        let immediate = matches!(i.op, Op::Csrrwi | Op::Csrrsi | Op::Csrrci);
        let src = if immediate { i.rs1 as u64 } else { rs1_value };
        if (0x001..=0x003).contains(&csr) && self.mstatus & MSTATUS_FS == 0 {
            return self.illegal(
                mem,
                &format!("CSR 0x{csr:03x} (FP state) with mstatus.FS = Off: enable the FPU first"),
            );
        }
        let Some(old) = self.read_csr(csr, now) else {
            return self.illegal(mem, &format!("CSR 0x{csr:03x} is not implemented"));
        };
        let (new, writes) = match i.op {
            Op::Csrrw | Op::Csrrwi => (src, true),
            Op::Csrrs | Op::Csrrsi => (old | src, i.rs1 != 0),
            _ => (old & !src, i.rs1 != 0),
        };
        if writes {
            if csr >> 10 == 3 {
                return self.illegal(mem, &format!("CSR 0x{csr:03x} is read-only"));
            }
            if !self.write_csr(csr, new, now) {
                return self.illegal(mem, &format!("CSR 0x{csr:03x} is not writable"));
            }
        }
        self.write_rd(i.rd, old);
        self.advance(i.len, self.timing.csr)
    }

    /// `ebreak`: a semihosting call when it is the middle of the exact sequence of 32-bit instructions
    /// `slli x0, x0, 0x1f; ebreak; srai x0, x0, 7`, a breakpoint trap otherwise (always for c.ebreak).
    fn ebreak(&mut self, mem: &Memory, len: u8) -> Step {
        let pc = self.pc;
        let word = |addr: u64| {
            let mut b = [0u8; 4];
            mem.read(addr, &mut b).ok().map(|_| u32::from_le_bytes(b))
        };
        // Semihosting is a machine-mode service; in U-mode the sequence is an ordinary breakpoint.
        if len == 4
            && self.pv.mode == Mode::Machine
            && word(pc.wrapping_sub(4)) == Some(SEMIHOST_PRE)
            && word(pc.wrapping_add(4)) == Some(SEMIHOST_POST)
        {
            self.pending = Pending::Semihost;
            return Step::Semihost {
                op: self.x[10],
                arg: self.x[11],
            };
        }
        self.exception(
            mem,
            TrapCause::Breakpoint,
            pc,
            "ebreak outside the semihosting sequence".to_string(),
        )
    }
}

//! The RISC-V hart: RV64GC (RV64IMAFDC + Zicsr + Zifencei), little-endian, machine and user mode with PMP
//! ([`privilege`], in priv.rs), with a Rocket-like timing model and a RoCC port (custom-3 instructions are
//! legal in both modes, as on Rocket with `mstatus.XS` set). Compressed instructions are expanded in [`rvc`],
//! the F and D extensions execute in [`fpu`] (Berkeley SoftFloat with its RISC-V specialisation, the library
//! Spike uses, so results, NaNs and exception flags match Spike bit for bit), the A extension in [`amo`].
//! Misaligned loads and stores are performed, as Spike does for the `p` test environment; misaligned
//! LR/SC/AMOs trap. mstatus.FS is implemented as on Rocket and Spike: it resets to Off, where every FP
//! instruction and fflags/frm/fcsr access is illegal (start-up code sets it, as riscv-tests' and
//! gemforge's crt0 do), and any change of FP state makes it Dirty (mstatus.SD reads FS == Dirty).
//!
//! The hart is an instruction-set simulator driven one instruction at a time by the co-simulation loop:
//! [`Hart::step`] fetches, decodes and executes the instruction at `pc` and returns a [`Step`] saying what
//! happened:
//!
//! - [`Step::Retired`]: the instruction retired and occupies the pipeline for `cycles` cycles (from
//!   [`CpuTiming`] by class: ALU, multiply, divide, load, store, taken/not-taken branch, jump, CSR);
//! - [`Step::Rocc`], [`Step::Fence`], [`Step::Semihost`]: the instruction needs the caller's service and
//!   has *not* retired; the hart stays at the same `pc` until the caller calls [`Hart::complete_rocc`],
//!   [`Hart::complete_fence`] or [`Hart::complete_semihost`], which retire it (stepping again meanwhile
//!   just reports the same request again, without side effects);
//! - [`Step::Htif`]: a store to the configured `tohost` address retired; the caller services it with
//!   [`htif_write`];
//! - [`Step::Exception`]: a trap was taken to the handler at `mtvec`;
//! - [`Step::Trap`]: a trap with no handler installed (`mtvec` = 0): the run ends with a [`TrapReport`].
//!
//! Exits are not a hart event: they come out of the services ([`semihost()`] returns
//! [`HostAction::Exit`], [`htif_write`] returns [`HtifAction::Exit`]).
//!
//! Timing classes (cycles come from the `[cpu]` section of the hardware configuration): `alu` for integer
//! ALU operations, lui/auipc, wfi, fence.i and a completed fence or semihosting call; `mul` for
//! mul/mulh/mulhsu/mulhu/mulw; `div` for all divisions and remainders; `load` (also FP loads and LR);
//! `store` (also FP stores and SC); `amo`; `branch_taken` / `branch_not_taken`; `jump` for jal, jalr and
//! mret; `csr` for the six CSR instructions; `fpu_fma` for FP add/sub/mul/fused multiply-add, `fpu_misc`
//! for FP compare, min/max, sign injection, classify, moves and conversions, `fdiv_s`/`fdiv_d` and
//! `fsqrt_s`/`fsqrt_d` for the iterative divide and square root; `rocc` for a completed custom-3
//! instruction (the caller adds the cycles it stalls while the accelerator's queue is full); a trap taken
//! to `mtvec` costs `branch_taken` (a pipeline redirect). Compressed instructions cost what their 32-bit
//! expansion costs.
//!
//! Fetches go through a direct-mapped cache of decoded instructions (16384 entries indexed by
//! `pc / 2`, so 2-byte-aligned compressed code caches as well as 4-byte code), so the hot loop does no
//! hash lookups and no decoding. Hart stores that fall in the range of cached code invalidate the
//! instructions they overlap; `fence.i` flushes the whole cache. Memory written by anything else (the
//! accelerator's DMA, the caller) is not seen by the cache: a caller that rewrites code after execution
//! started must call [`Hart::flush_icache`] (as a program on Rocket must execute `fence.i`).

/// Unwrap a `Result<T, Step>`, returning the `Step` from the caller (a trap or an unhandled exception).
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(step) => return step,
        }
    };
}

mod amo;
mod decode;
pub mod disasm;
mod exec;
mod fpu;
#[path = "priv.rs"]
mod privilege;
mod rvc;
pub mod semihost;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_gc;

use crate::sim::config::CpuTiming;
use crate::sim::isa::RoccCmd;
use crate::sim::mem::Memory;
use std::fmt;

pub use disasm::disassemble;
pub use privilege::{
    Mode, PMP_ENTRIES, PMP_L, PMP_NA4, PMP_NAPOT, PMP_OFF, PMP_R, PMP_TOR, PMP_W, PMP_X,
};
pub use semihost::{htif_write, semihost, Console, HostAction, HostError, HtifAction};

use decode::{Inst, ILLEGAL};

/// Why a trap happened: the architectural exception causes the hart raises, plus `Host` for failures
/// outside the hart that a caller reports with the hart's state ([`Hart::report`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapCause {
    InstructionMisaligned,
    InstructionAccessFault,
    IllegalInstruction,
    Breakpoint,
    LoadMisaligned,
    LoadAccessFault,
    StoreMisaligned,
    StoreAccessFault,
    /// `ecall` from machine mode.
    EnvironmentCall,
    /// `ecall` from user mode.
    EnvironmentCallFromU,
    /// Not an architectural trap: a service error (semihosting, HTIF), a cycle limit, etc.
    Host,
}

impl TrapCause {
    /// The `mcause` value (None for `Host`).
    pub fn mcause(self) -> Option<u64> {
        use TrapCause::*;
        Some(match self {
            InstructionMisaligned => 0,
            InstructionAccessFault => 1,
            IllegalInstruction => 2,
            Breakpoint => 3,
            LoadMisaligned => 4,
            LoadAccessFault => 5,
            StoreMisaligned => 6,
            StoreAccessFault => 7,
            EnvironmentCallFromU => 8,
            EnvironmentCall => 11,
            Host => return None,
        })
    }
}

impl fmt::Display for TrapCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TrapCause::*;
        f.write_str(match self {
            InstructionMisaligned => "instruction address misaligned",
            InstructionAccessFault => "instruction access fault",
            IllegalInstruction => "illegal instruction",
            Breakpoint => "breakpoint",
            LoadMisaligned => "load address misaligned",
            LoadAccessFault => "load access fault",
            StoreMisaligned => "store address misaligned",
            StoreAccessFault => "store access fault",
            EnvironmentCall => "environment call from M-mode",
            EnvironmentCallFromU => "environment call from U-mode",
            Host => "simulation error",
        })
    }
}

/// Everything needed to understand a fatal trap: where, which instruction, why, and the register file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrapReport {
    pub cause: TrapCause,
    pub pc: u64,
    /// The instruction word at `pc` (None if it cannot be fetched).
    pub inst: Option<u32>,
    /// Its disassembly (empty if it cannot be fetched).
    pub disasm: String,
    /// The trap value (`mtval`): the faulting address, or the instruction word for an illegal instruction.
    pub tval: u64,
    /// A sentence of explanation.
    pub detail: String,
    pub regs: [u64; 32],
    /// Instructions retired before the trap.
    pub instret: u64,
}

impl fmt::Display for TrapReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at pc 0x{:x}: ", self.cause, self.pc)?;
        match self.inst {
            Some(w) if w & 3 != 3 => write!(f, "`{}` (0x{w:04x}, compressed)", self.disasm)?,
            Some(w) => write!(f, "`{}` (0x{w:08x})", self.disasm)?,
            None => write!(f, "<instruction not fetchable>")?,
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        writeln!(f)?;
        write!(f, "registers after {} instructions:", self.instret)?;
        for (i, v) in self.regs.iter().enumerate() {
            if i % 4 == 0 {
                writeln!(f)?;
                write!(f, " ")?;
            }
            write!(f, " {:>4}=0x{v:016x}", disasm::REG_NAMES[i])?;
        }
        Ok(())
    }
}

impl std::error::Error for TrapReport {}

/// What one call of [`Hart::step`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The instruction retired; it occupies the pipeline for `cycles` cycles.
    Retired { cycles: u32 },
    /// A custom-3 instruction: offer `cmd` to the accelerator, then call [`Hart::complete_rocc`] (with the
    /// response when `xd`). `cmd.rs1` / `cmd.rs2` are the register values (0 when the xs1 / xs2 bit is
    /// clear); `rd` is the destination register number.
    Rocc { cmd: RoccCmd, rd: u8, xd: bool },
    /// `fence`: wait until the accelerator is idle with no memory writes outstanding, then call
    /// [`Hart::complete_fence`].
    Fence,
    /// A semihosting call (a0 = `op`, a1 = `arg`): serve it with [`semihost()`], then call
    /// [`Hart::complete_semihost`] with the result.
    Semihost { op: u64, arg: u64 },
    /// A store to `tohost` retired (occupying `cycles`) and left the nonzero `value` there: serve it with
    /// [`htif_write`].
    Htif { value: u64, cycles: u32 },
    /// A trap was taken to the handler at `mtvec` (mepc, mcause, mtval and mstatus updated); the
    /// redirect occupies `cycles`. The trapping instruction did not retire.
    Exception { cause: TrapCause, cycles: u32 },
    /// A trap with no handler installed (`mtvec` = 0): the run ends with this report.
    Trap(Box<TrapReport>),
}

/// An instruction waiting for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    None,
    Rocc { rd: u8, xd: bool },
    Fence,
    Semihost,
}

/// One entry of the decoded-instruction cache: `tag` is the instruction's address (never matches when
/// `u64::MAX`, which is odd and so never a pc).
#[derive(Debug, Clone, Copy)]
struct Slot {
    tag: u64,
    inst: Inst,
}

const ICACHE_BITS: u32 = 14;
const ICACHE_SIZE: usize = 1 << ICACHE_BITS;
const EMPTY_SLOT: Slot = Slot {
    tag: u64::MAX,
    inst: ILLEGAL,
};

/// mstatus bits the hart implements: MIE, MPIE, MPP (M or U), FS (Off 0, Initial 1, Clean 2, Dirty 3),
/// and SD, which reads 1 when FS is Dirty (computed on read, not stored).
const MSTATUS_MIE: u64 = 1 << 3;
const MSTATUS_MPIE: u64 = 1 << 7;
const MSTATUS_MPP: u64 = 3 << 11;
const MSTATUS_FS: u64 = 3 << 13;
const MSTATUS_SD: u64 = 1 << 63;
/// UXL (read-only): U-mode is 64-bit.
const MSTATUS_UXL: u64 = 2 << 32;
/// misa: MXL = 64, extensions A, C, D, F, I, M and U (user mode).
const MISA: u64 =
    (2 << 62) | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | (1 << 12) | (1 << 20);

/// One RV64GC + Zicsr hart (M and U mode, PMP).
pub struct Hart {
    x: [u64; 32],
    /// The FP registers (singles NaN-boxed: upper 32 bits all ones).
    f: [u64; 32],
    /// fcsr: accrued exception flags (NV DZ OF UF NX, bits 4..0) and the dynamic rounding mode.
    fflags: u8,
    frm: u8,
    /// The LR reservation: the reserved address and its size (cleared by SC, by a hart store that
    /// overlaps it, and by a trap).
    reservation: Option<(u64, u64)>,
    /// The address range [lo, hi) of every instruction in the decoded-instruction cache: a store outside
    /// it cannot hit cached code, so it skips the invalidation probe.
    code_lo: u64,
    code_hi: u64,
    pc: u64,
    timing: CpuTiming,
    instret: u64,
    /// mcycle = caller's cycle + offset (mcycle is writable).
    cycle_offset: u64,
    mstatus: u64,
    mtvec: u64,
    mepc: u64,
    mcause: u64,
    mtval: u64,
    mscratch: u64,
    tohost: Option<u64>,
    pending: Pending,
    /// Privilege mode, PMP and counter enables (priv.rs).
    pv: privilege::PrivState,
    icache: Box<[Slot; ICACHE_SIZE]>,
}

/// Read the instruction at `pc` (2-byte aligned): the first halfword, and the second one only when the
/// first says the instruction is 32 bits long (so a compressed instruction at the last halfword of memory
/// is fetchable). Err carries the address that could not be read.
pub(crate) fn fetch_parcel(mem: &Memory, pc: u64) -> Result<u32, (u64, crate::sim::mem::MemError)> {
    let mut lo = [0u8; 2];
    mem.read(pc, &mut lo).map_err(|e| (pc, e))?;
    let lo = u16::from_le_bytes(lo) as u32;
    if lo & 3 != 3 {
        return Ok(lo);
    }
    let a = pc.wrapping_add(2);
    let mut hi = [0u8; 2];
    mem.read(a, &mut hi).map_err(|e| (a, e))?;
    Ok(lo | (u16::from_le_bytes(hi) as u32) << 16)
}

impl fmt::Debug for Hart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hart")
            .field("pc", &format_args!("0x{:x}", self.pc))
            .field("instret", &self.instret)
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl Hart {
    /// A hart in reset state at `entry_pc`: M-mode, registers zero, mtvec 0 (no trap handler), mstatus.MPP =
    /// M, PMP off.
    pub fn new(entry_pc: u64, timing: CpuTiming) -> Hart {
        let icache: Box<[Slot; ICACHE_SIZE]> = vec![EMPTY_SLOT; ICACHE_SIZE]
            .into_boxed_slice()
            .try_into()
            .expect("icache size");
        Hart {
            x: [0; 32],
            f: [0; 32],
            fflags: 0,
            frm: 0,
            reservation: None,
            code_lo: u64::MAX,
            code_hi: 0,
            pc: entry_pc,
            timing,
            instret: 0,
            cycle_offset: 0,
            mstatus: MSTATUS_MPP,
            mtvec: 0,
            mepc: 0,
            mcause: 0,
            mtval: 0,
            mscratch: 0,
            tohost: None,
            pending: Pending::None,
            pv: privilege::PrivState::new(),
            icache,
        }
    }

    pub fn pc(&self) -> u64 {
        self.pc
    }
    /// Redirect the hart (for example to a new entry point); any pending request is dropped.
    pub fn set_pc(&mut self, pc: u64) {
        self.pc = pc;
        self.pending = Pending::None;
    }
    /// Register `i` (0-31; x0 reads 0).
    pub fn reg(&self, i: usize) -> u64 {
        self.x[i & 31]
    }
    /// Set register `i` (writes to x0 are ignored).
    pub fn set_reg(&mut self, i: usize, v: u64) {
        self.x[i & 31] = v;
        self.x[0] = 0;
    }
    pub fn regs(&self) -> &[u64; 32] {
        &self.x
    }
    /// FP register `i` (0-31), raw 64 bits (a single is NaN-boxed).
    pub fn freg(&self, i: usize) -> u64 {
        self.f[i & 31]
    }
    /// Set FP register `i` to raw 64 bits.
    pub fn set_freg(&mut self, i: usize, v: u64) {
        self.f[i & 31] = v;
    }
    /// fcsr: frm << 5 | fflags.
    pub fn fcsr(&self) -> u64 {
        u64::from(self.frm) << 5 | u64::from(self.fflags)
    }
    /// Instructions retired so far (minstret).
    pub fn instret(&self) -> u64 {
        self.instret
    }
    pub fn timing(&self) -> &CpuTiming {
        &self.timing
    }
    /// Whether the instruction at `pc` is waiting for a `complete_*` call.
    pub fn is_waiting(&self) -> bool {
        self.pending != Pending::None
    }
    /// The address of `tohost` (from the ELF symbol), or None to disable HTIF.
    pub fn set_tohost(&mut self, addr: Option<u64>) {
        self.tohost = addr;
    }
    pub fn tohost(&self) -> Option<u64> {
        self.tohost
    }
    /// Forget every cached decoded instruction (after the caller rewrote code in memory).
    pub fn flush_icache(&mut self) {
        self.icache.fill(EMPTY_SLOT);
        self.code_lo = u64::MAX;
        self.code_hi = 0;
    }

    /// Read a CSR as the program would at cycle `now_cycle` (None for a CSR the hart does not implement).
    pub fn read_csr(&self, csr: u16, now_cycle: u64) -> Option<u64> {
        Some(match csr {
            0xc00 | 0xb00 => now_cycle.wrapping_add(self.cycle_offset),
            0xc01 => now_cycle,
            0xc02 | 0xb02 => self.instret,
            0x001 => u64::from(self.fflags),
            0x002 => u64::from(self.frm),
            0x003 => self.fcsr(),
            0x300 => {
                let dirty = self.mstatus & MSTATUS_FS == MSTATUS_FS;
                self.mstatus | MSTATUS_UXL | if dirty { MSTATUS_SD } else { 0 }
            }
            0x301 => MISA,
            0x302..=0x304 | 0x320 | 0x344 => 0,
            0x305 => self.mtvec,
            0x340 => self.mscratch,
            0x341 => self.mepc,
            0x342 => self.mcause,
            0x343 => self.mtval,
            0xf11..=0xf15 => 0,
            // Sdtrig with no triggers: tselect is hard-wired to 0 and tdata1 reads type 0 (no trigger),
            // so debuggers and riscv-tests' breakpoint test see that none are implemented.
            0x7a0..=0x7a3 => 0,
            _ => return self.pv.read_csr(csr),
        })
    }

    /// Write a CSR (WARL fields legalized). False if the CSR is unknown or read-only, which makes the
    /// instruction illegal. A write to minstret takes effect after the writing instruction retires.
    fn write_csr(&mut self, csr: u16, v: u64, now_cycle: u64) -> bool {
        match csr {
            0xb00 => self.cycle_offset = v.wrapping_sub(now_cycle),
            // The writing instruction's own retirement increments instret afterwards.
            0xb02 => self.instret = v.wrapping_sub(1),
            // (csr_op has checked that FS is not Off.) Writing FP state makes it Dirty.
            0x001 => {
                self.fflags = (v & 0x1f) as u8;
                self.mstatus |= MSTATUS_FS;
            }
            0x002 => {
                self.frm = (v & 7) as u8;
                self.mstatus |= MSTATUS_FS;
            }
            0x003 => {
                self.fflags = (v & 0x1f) as u8;
                self.frm = ((v >> 5) & 7) as u8;
                self.mstatus |= MSTATUS_FS;
            }
            0x300 => {
                self.mstatus =
                    (v & (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_FS)) | privilege::legal_mpp(v)
            }
            0x301..=0x304 | 0x320 | 0x344 | 0x7a0..=0x7a3 => {}
            // Direct (0) or vectored (1) mode; reserved modes 2/3 are legalized to direct/vectored.
            0x305 => self.mtvec = v & !2,
            0x340 => self.mscratch = v,
            // IALIGN is 16 with C: mepc[0] is always zero.
            0x341 => self.mepc = v & !1,
            0x342 => self.mcause = v,
            0x343 => self.mtval = v,
            // mcounteren, pmpcfg*, pmpaddr*: a PMP change also forgets cached fetches (checked once).
            _ => {
                if !self.pv.write_csr(csr, v) {
                    return false;
                }
                if csr != 0x306 {
                    self.flush_icache();
                }
            }
        }
        true
    }

    /// Retire a pending custom-3 instruction: with `xd`, `rd_value` (the accelerator's response) is
    /// written to rd. Returns the cycles the instruction occupies (`rocc`).
    ///
    /// Panics if no RoCC instruction is pending, or if it has `xd` and `rd_value` is None.
    pub fn complete_rocc(&mut self, rd_value: Option<u64>) -> u32 {
        let Pending::Rocc { rd, xd } = self.pending else {
            panic!("complete_rocc: no RoCC instruction is pending");
        };
        if xd {
            let v =
                rd_value.expect("complete_rocc: the instruction has xd set and needs a response");
            self.set_reg(rd as usize, v);
        }
        self.retire_pending();
        self.timing.rocc
    }

    /// Retire a pending `fence`. Returns the cycles it occupies (`alu`).
    ///
    /// Panics if no fence is pending.
    pub fn complete_fence(&mut self) -> u32 {
        assert!(
            self.pending == Pending::Fence,
            "complete_fence: no fence is pending"
        );
        self.retire_pending();
        self.timing.alu
    }

    /// Retire a pending semihosting call, returning `a0` to the program. Returns the cycles it occupies
    /// (`alu`).
    ///
    /// Panics if no semihosting call is pending.
    pub fn complete_semihost(&mut self, a0: u64) -> u32 {
        assert!(
            self.pending == Pending::Semihost,
            "complete_semihost: no semihosting call is pending"
        );
        self.x[10] = a0;
        self.retire_pending();
        self.timing.alu
    }

    fn retire_pending(&mut self) {
        self.pending = Pending::None;
        self.pc = self.pc.wrapping_add(4);
        self.instret = self.instret.wrapping_add(1);
    }

    /// The instruction at `pc`, read from memory (None if not fetchable): a 32-bit word, or a 16-bit
    /// compressed instruction zero-extended (its low two bits are not 11).
    pub fn fetch_word(&self, mem: &Memory) -> Option<u32> {
        fetch_parcel(mem, self.pc).ok()
    }

    /// A report of the hart's current state, for a fatal error at the current `pc`: used by the hart for
    /// unhandled traps, and by callers for errors found outside it (`TrapCause::Host`: a failed service,
    /// a cycle limit).
    pub fn report(&self, mem: &Memory, cause: TrapCause, detail: impl Into<String>) -> TrapReport {
        self.report_tval(mem, cause, 0, detail.into())
    }

    fn report_tval(&self, mem: &Memory, cause: TrapCause, tval: u64, detail: String) -> TrapReport {
        let inst = self.fetch_word(mem);
        TrapReport {
            cause,
            pc: self.pc,
            inst,
            disasm: inst.map(|w| disassemble(w, self.pc)).unwrap_or_default(),
            tval,
            detail,
            regs: self.x,
            instret: self.instret,
        }
    }
}

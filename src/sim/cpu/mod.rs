//! The RISC-V hart: RV64IM + Zicsr, little-endian, machine and user mode with PMP (`priv.rs`), with a
//! Rocket-like timing model and a RoCC port (custom-3 instructions are legal in both modes, as on Rocket with
//! `mstatus.XS` set).
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
//! mul/mulh/mulhsu/mulhu/mulw; `div` for all divisions and remainders; `load`; `store`; `branch_taken` /
//! `branch_not_taken`; `jump` for jal, jalr and mret; `csr` for the six CSR instructions; `rocc` for a
//! completed custom-3 instruction (the caller adds the cycles it stalls while the accelerator's queue is
//! full); a trap taken to `mtvec` costs `branch_taken` (a pipeline redirect).
//!
//! Fetches go through a direct-mapped cache of decoded instructions (8192 entries), so the hot loop does
//! no hash lookups and no decoding. Hart stores invalidate the words they overwrite; `fence.i` flushes
//! the whole cache. Memory written by anything else (the accelerator's DMA, the caller) is not seen by the
//! cache: a caller that rewrites code after execution started must call [`Hart::flush_icache`] (as a
//! program on Rocket must execute `fence.i`).

mod decode;
pub mod disasm;
mod exec;
#[path = "priv.rs"]
mod privilege;
pub mod semihost;
#[cfg(test)]
mod tests;

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
/// `u64::MAX`, which is not 4-byte aligned).
#[derive(Debug, Clone, Copy)]
struct Slot {
    tag: u64,
    inst: Inst,
}

const ICACHE_BITS: u32 = 13;
const ICACHE_SIZE: usize = 1 << ICACHE_BITS;
const EMPTY_SLOT: Slot = Slot {
    tag: u64::MAX,
    inst: ILLEGAL,
};

/// mstatus bits the hart implements: MIE, MPIE, and MPP (M or U).
const MSTATUS_MIE: u64 = 1 << 3;
const MSTATUS_MPIE: u64 = 1 << 7;
const MSTATUS_MPP: u64 = 3 << 11;
/// misa: MXL = 64, extensions I and M.
const MISA: u64 = (2 << 62) | (1 << 8) | (1 << 12);

/// One RV64IM + Zicsr hart (M and U mode, PMP).
pub struct Hart {
    x: [u64; 32],
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
    }

    /// Read a CSR as the program would at cycle `now_cycle` (None for a CSR the hart does not implement).
    pub fn read_csr(&self, csr: u16, now_cycle: u64) -> Option<u64> {
        Some(match csr {
            0xc00 | 0xb00 => now_cycle.wrapping_add(self.cycle_offset),
            0xc01 => now_cycle,
            0xc02 | 0xb02 => self.instret,
            0x300 => self.mstatus,
            0x301 => MISA,
            0x302..=0x304 | 0x320 | 0x344 => 0,
            0x305 => self.mtvec,
            0x340 => self.mscratch,
            0x341 => self.mepc,
            0x342 => self.mcause,
            0x343 => self.mtval,
            0xf11..=0xf15 => 0,
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
            0x300 => self.mstatus = (v & (MSTATUS_MIE | MSTATUS_MPIE)) | privilege::legal_mpp(v),
            0x301..=0x304 | 0x320 | 0x344 => {}
            // Direct (0) or vectored (1) mode; reserved modes 2/3 are legalized to direct/vectored.
            0x305 => self.mtvec = v & !2,
            0x340 => self.mscratch = v,
            0x341 => self.mepc = v & !3,
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

    /// The instruction word at `pc`, read from memory (None if not fetchable).
    pub fn fetch_word(&self, mem: &Memory) -> Option<u32> {
        let mut b = [0u8; 4];
        if self.pc & 3 != 0 {
            return None;
        }
        mem.read(self.pc, &mut b).ok()?;
        Some(u32::from_le_bytes(b))
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

//! Privilege: machine and user mode, physical memory protection (PMP), and the rules for counter CSRs.
//!
//! The hart implements M and U (no S), as the RISC-V privileged specification describes them:
//!
//! - `mstatus.MPP` holds M (3) or U (0) (WARL: any other value written reads back as U); a trap taken to
//!   M records the previous mode there; `mret` returns to it and sets MPP to U (the least-privileged mode).
//!   `mret` in U-mode is an illegal instruction; `ecall` from U raises cause 8, from M cause 11; `ebreak` in
//!   U-mode is always a breakpoint (semihosting is a machine-mode service).
//! - CSR access follows the privilege field of the CSR number (bits 9:8): U-mode may use only user CSRs,
//!   and of the counters only those whose bit is set in `mcounteren` (bit 0 `cycle`, 1 `time`, 2 `instret`).
//!   Counter CSRs at 0xc00-0xc1f are read-only in every mode; `mcycle`, `minstret` and `mcountinhibit` are
//!   machine CSRs, so U-mode cannot write (or read) them.
//! - PMP: 16 entries (`pmpcfg0`, `pmpcfg2`, `pmpaddr0`-`pmpaddr15`, RV64 layout), granularity 4 bytes,
//!   address matching OFF, TOR, NA4 and NAPOT; R/W/X permissions and the lock bit L. The lowest-numbered
//!   entry that matches any byte of an access decides: it must cover all of its bytes, and in U-mode (or for
//!   a locked entry, in M-mode too) grant the access. In U-mode an access no entry matches fails; in M-mode
//!   it succeeds. A locked entry cannot be rewritten until reset (and locks `pmpaddr[i-1]` when it is TOR).
//!   R = 0 with W = 1 is reserved and reads back with W cleared.
//!
//! Cost: the checks run only while `pmp_on` is set (in U-mode, or when a locked entry exists), so a
//! machine-mode program that never configures PMP pays one predictable branch per load and store. Cached
//! decoded instructions are tagged with the mode they were fetched in (bit 0 of the tag), so a fetch that
//! was allowed in M-mode is never reused in U-mode without a check.
//!
//! Supervision (for the evaluation harness): with [`Hart::set_supervised`], an exception raised in U-mode
//! does not enter the machine-mode handler but ends the run with a [`TrapReport`], so a candidate cannot
//! use traps as control flow; the caller decides what the trap means (for example, an instruction fetch
//! fault at the harness's return address is the candidate returning).

use super::{Hart, Step, TrapCause, MSTATUS_MPP};
use crate::sim::mem::Memory;

/// A privilege mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    User = 0,
    Machine = 3,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::User => "U-mode",
            Mode::Machine => "M-mode",
        }
    }
}

/// Number of PMP entries.
pub const PMP_ENTRIES: usize = 16;

/// PMP configuration bits.
pub const PMP_R: u8 = 1;
pub const PMP_W: u8 = 2;
pub const PMP_X: u8 = 4;
pub const PMP_OFF: u8 = 0;
pub const PMP_TOR: u8 = 1 << 3;
pub const PMP_NA4: u8 = 2 << 3;
pub const PMP_NAPOT: u8 = 3 << 3;
pub const PMP_L: u8 = 1 << 7;
const PMP_A: u8 = 3 << 3;

/// `mcounteren` bits the hart implements: cycle, time, instret.
const COUNTEREN_MASK: u64 = 0b111;
/// `pmpaddr` registers hold address bits 55:2 (54 bits).
const PMPADDR_MASK: u64 = (1 << 54) - 1;

/// What kind of access a PMP check is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Fetch,
    Load,
    Store,
}

impl Access {
    fn bit(self) -> u8 {
        match self {
            Access::Fetch => PMP_X,
            Access::Load => PMP_R,
            Access::Store => PMP_W,
        }
    }
    fn verb(self) -> &'static str {
        match self {
            Access::Fetch => "instruction fetch",
            Access::Load => "load",
            Access::Store => "store",
        }
    }
    fn cause(self) -> TrapCause {
        match self {
            Access::Fetch => TrapCause::InstructionAccessFault,
            Access::Load => TrapCause::LoadAccessFault,
            Access::Store => TrapCause::StoreAccessFault,
        }
    }
}

/// The privilege state of a hart.
#[derive(Debug, Clone)]
pub(super) struct PrivState {
    pub(super) mode: Mode,
    cfg: [u8; PMP_ENTRIES],
    addr: [u64; PMP_ENTRIES],
    mcounteren: u64,
    /// PMP checks are needed: U-mode, or a locked entry is active.
    pub(super) pmp_on: bool,
    /// XORed into cached-instruction tags: 0 in M-mode, 1 in U-mode.
    pub(super) fetch_key: u64,
    /// Exceptions in U-mode end the run instead of entering the handler.
    pub(super) supervised: bool,
    /// Entries at and above this index are OFF: a check stops here.
    used: usize,
}

impl PrivState {
    pub(super) fn new() -> PrivState {
        PrivState {
            mode: Mode::Machine,
            cfg: [0; PMP_ENTRIES],
            addr: [0; PMP_ENTRIES],
            mcounteren: 0,
            pmp_on: false,
            fetch_key: 0,
            supervised: false,
            used: 0,
        }
    }

    fn update(&mut self) {
        let locked = self
            .cfg
            .iter()
            .any(|&c| c & PMP_L != 0 && c & PMP_A != PMP_OFF);
        self.pmp_on = self.mode == Mode::User || locked;
        self.used = self
            .cfg
            .iter()
            .rposition(|&c| c & PMP_A != PMP_OFF)
            .map_or(0, |i| i + 1);
        self.fetch_key = u64::from(self.mode == Mode::User);
    }

    pub(super) fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
        self.update();
    }

    /// The byte range `[lo, hi)` entry `i` matches (None when OFF).
    fn range(&self, i: usize) -> Option<(u64, u64)> {
        let a = self.addr[i];
        match self.cfg[i] & PMP_A {
            PMP_TOR => {
                let lo = if i == 0 { 0 } else { self.addr[i - 1] << 2 };
                Some((lo, a << 2))
            }
            PMP_NA4 => Some((a << 2, (a << 2) + 4)),
            PMP_NAPOT => {
                let ones = a.trailing_ones();
                if ones >= 54 {
                    return Some((0, u64::MAX));
                }
                let size = 1u64 << (ones + 3);
                let base = (a & !((1u64 << ones) - 1)) << 2;
                Some((base, base.saturating_add(size)))
            }
            _ => None,
        }
    }

    /// Check an access of `n` bytes at `addr`: Ok, or why it is denied.
    pub(super) fn check(&self, addr: u64, n: u64, access: Access) -> Result<(), String> {
        let end = addr.saturating_add(n);
        for i in 0..self.used {
            let Some((lo, hi)) = self.range(i) else {
                continue;
            };
            if end <= lo || addr >= hi {
                continue;
            }
            if addr < lo || end > hi {
                return Err(format!(
                    "PMP entry {i} [0x{lo:x}, 0x{hi:x}) covers only part of the {n}-byte access"
                ));
            }
            let c = self.cfg[i];
            if self.mode == Mode::Machine && c & PMP_L == 0 {
                return Ok(());
            }
            if c & access.bit() != 0 {
                return Ok(());
            }
            return Err(format!(
                "PMP entry {i} [0x{lo:x}, 0x{hi:x}) grants {} only",
                perms(c)
            ));
        }
        if self.mode == Mode::Machine {
            Ok(())
        } else {
            Err("no PMP entry grants U-mode any access there".to_string())
        }
    }

    pub(super) fn read_csr(&self, csr: u16) -> Option<u64> {
        Some(match csr {
            0x306 => self.mcounteren,
            0x3a0 | 0x3a2 => {
                let first = usize::from(csr - 0x3a0) * 4;
                (0..8).fold(0u64, |v, j| v | u64::from(self.cfg[first + j]) << (8 * j))
            }
            0x3b0..=0x3bf => self.addr[usize::from(csr - 0x3b0)],
            _ => return None,
        })
    }

    /// Write a privilege CSR; false if `csr` is not one.
    pub(super) fn write_csr(&mut self, csr: u16, v: u64) -> bool {
        match csr {
            0x306 => self.mcounteren = v & COUNTEREN_MASK,
            0x3a0 | 0x3a2 => {
                let first = usize::from(csr - 0x3a0) * 4;
                for j in 0..8 {
                    let i = first + j;
                    if self.cfg[i] & PMP_L != 0 {
                        continue;
                    }
                    let mut c = (v >> (8 * j)) as u8 & (PMP_R | PMP_W | PMP_X | PMP_A | PMP_L);
                    if c & PMP_R == 0 {
                        c &= !PMP_W;
                    }
                    self.cfg[i] = c;
                }
            }
            0x3b0..=0x3bf => {
                let i = usize::from(csr - 0x3b0);
                let next_locks = i + 1 < PMP_ENTRIES
                    && self.cfg[i + 1] & PMP_L != 0
                    && self.cfg[i + 1] & PMP_A == PMP_TOR;
                if self.cfg[i] & PMP_L == 0 && !next_locks {
                    self.addr[i] = v & PMPADDR_MASK;
                }
            }
            _ => return false,
        }
        self.update();
        true
    }

    /// Whether the current mode may access `csr` (`write`: the instruction writes it). Err: why not.
    pub(super) fn csr_allowed(&self, csr: u16) -> Result<(), String> {
        let level = (csr >> 8) & 3;
        if self.mode == Mode::User && level != 0 {
            return Err(format!(
                "CSR 0x{csr:03x} needs {}; the hart is in U-mode",
                if level == 3 { "M-mode" } else { "S-mode" }
            ));
        }
        if self.mode == Mode::User && (0xc00..=0xc1f).contains(&csr) {
            let bit = u64::from(csr - 0xc00);
            if self.mcounteren >> bit & 1 == 0 {
                return Err(format!(
                    "counter CSR 0x{csr:03x} is not enabled for U-mode (mcounteren bit {bit} is clear)"
                ));
            }
        }
        Ok(())
    }
}

/// `R-X`-style permission text.
fn perms(c: u8) -> String {
    let f = |bit, ch| if c & bit != 0 { ch } else { '-' };
    let s: String = [f(PMP_R, 'R'), f(PMP_W, 'W'), f(PMP_X, 'X')]
        .into_iter()
        .collect();
    if s == "---" {
        "no access".to_string()
    } else {
        s
    }
}

/// `mstatus.MPP` for a mode.
pub(super) fn mpp_bits(mode: Mode) -> u64 {
    match mode {
        Mode::Machine => MSTATUS_MPP,
        Mode::User => 0,
    }
}

/// MPP as written (WARL): M stays M, anything else (S, reserved) is legalized to U.
pub(super) fn legal_mpp(v: u64) -> u64 {
    if v & MSTATUS_MPP == MSTATUS_MPP {
        MSTATUS_MPP
    } else {
        0
    }
}

impl Hart {
    /// The current privilege mode.
    pub fn mode(&self) -> Mode {
        self.pv.mode
    }

    /// Supervised (for an evaluation harness): an exception raised in U-mode ends the run with a
    /// [`TrapReport`](super::TrapReport) ([`Step::Trap`]) instead of entering the handler at `mtvec`.
    pub fn set_supervised(&mut self, on: bool) {
        self.pv.supervised = on;
    }

    /// Check an access against PMP, raising the access fault (a cold path).
    #[cold]
    #[inline(never)]
    pub(super) fn pmp_fault(&mut self, mem: &Memory, addr: u64, n: u64, access: Access) -> Step {
        let why = match self.pv.check(addr, n, access) {
            Ok(()) => "not permitted".to_string(),
            Err(e) => e,
        };
        let detail = format!(
            "{} of {n} bytes at 0x{addr:x} in {} is not permitted: {why}",
            access.verb(),
            self.pv.mode.name()
        );
        self.exception(mem, access.cause(), addr, detail)
    }

    /// Ok if PMP allows the access; the access fault otherwise.
    #[inline(always)]
    pub(super) fn pmp(
        &mut self,
        mem: &Memory,
        addr: u64,
        n: u64,
        access: Access,
    ) -> Result<(), Step> {
        if !self.pv.pmp_on || self.pv.check(addr, n, access).is_ok() {
            Ok(())
        } else {
            Err(self.pmp_fault(mem, addr, n, access))
        }
    }

    /// `mret`: back to the mode in MPP (illegal in U-mode), MPP := U, MIE := MPIE, MPIE := 1. Returns the
    /// target pc, or the exception.
    pub(super) fn do_mret(&mut self, mem: &Memory) -> Result<u64, Step> {
        if self.pv.mode != Mode::Machine {
            return Err(self.illegal(mem, "mret in U-mode"));
        }
        let target = if self.mstatus & MSTATUS_MPP == MSTATUS_MPP {
            Mode::Machine
        } else {
            Mode::User
        };
        let mpie = self.mstatus & super::MSTATUS_MPIE != 0;
        self.mstatus = (self.mstatus & super::MSTATUS_FS)
            | super::MSTATUS_MPIE
            | if mpie { super::MSTATUS_MIE } else { 0 };
        self.pv.set_mode(target);
        Ok(self.mepc)
    }

    /// The cause of `ecall` in the current mode.
    pub(super) fn ecall_cause(&self) -> TrapCause {
        match self.pv.mode {
            Mode::Machine => TrapCause::EnvironmentCall,
            Mode::User => TrapCause::EnvironmentCallFromU,
        }
    }

    /// Trap entry bookkeeping: MPP := the mode the trap came from, then M-mode.
    pub(super) fn enter_machine_mode(&mut self) -> u64 {
        let from = self.pv.mode;
        self.pv.set_mode(Mode::Machine);
        mpp_bits(from)
    }
}

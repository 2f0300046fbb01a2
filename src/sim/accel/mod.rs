//! The accelerator behind one trait, with two engines: `spec` (the functional model: instant, exact) and
//! `rtl` (the Verilated RTL: cycle-accurate, the ground truth for cycles). `stream` drives either one with a
//! stream of RoCC commands against a main-memory image.

pub mod arith;
pub mod loops;
pub mod rtl;
pub mod spec;
pub mod stream;
pub mod usage;
pub mod variant;

use crate::sim::isa::RoccCmd;
use crate::sim::mem::Memory;
use std::fmt;

pub use crate::sim::isa::ErrorKind;

/// An accelerator error with the command that caused it (when one did).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AccelError {
    pub kind: ErrorKind,
    pub cmd: Option<RoccCmd>,
    pub detail: String,
}

impl fmt::Display for AccelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "accelerator error: {}", self.kind.describe())?;
        if let Some(c) = &self.cmd {
            write!(f, " at command {c}")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// A RoCC response (only the counter op produces one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoccResp {
    pub rd: u8,
    pub data: u64,
}

/// One accelerator, either engine. A cycle is one call to `tick`; the spec engine executes each command
/// when it is accepted and its `tick` only counts cycles.
pub trait Accelerator {
    /// "spec" or "rtl".
    fn engine(&self) -> &'static str;
    /// Offer a command in the current cycle. Returns Ok(true) if it was accepted (the hart may move on),
    /// Ok(false) if the command queue is full (offer it again after a tick).
    fn offer(&mut self, cmd: RoccCmd, rd: u8, mem: &mut Memory) -> Result<bool, AccelError>;
    /// Advance one clock cycle, serving the memory port from `mem`.
    fn tick(&mut self, mem: &mut Memory) -> Result<(), AccelError>;
    /// Commands queued or executing, or memory writes outstanding.
    fn busy(&self) -> bool;
    /// A response produced since the last call.
    fn take_response(&mut self) -> Option<RoccResp>;
    /// The sticky error, if one was raised.
    fn error(&self) -> Option<AccelError>;
    /// Cycles so far: ticked, and skipped while idle.
    fn cycles(&self) -> u64;
    /// The accelerator was idle (not busy, nothing offered) for `cycles` cycles before the next tick:
    /// advance its clock without evaluating it, so that its cycle numbers (error messages, waveform time)
    /// stay the run's. An idle accelerator's state does not change, so this equals ticking it `cycles`
    /// times. A command offered since (latched, not yet presented) is presented by the next tick as usual.
    fn skip_idle(&mut self, cycles: u64);
    /// Scratchpad row as DIM input elements: int8 values sign-extended, or binary32 bits (back door;
    /// does not disturb timing).
    fn read_sp_row(&mut self, row: u32) -> Vec<i32>;
    /// Accumulator row as DIM int32 values or binary32 bits (back door).
    fn read_acc_row(&mut self, row: u32) -> Vec<i32>;
    /// Free-running event totals by name (all zero for the spec engine).
    fn events(&mut self) -> Vec<(&'static str, u64)>;
    /// Controller states, for watchdog reports.
    fn debug_state(&mut self) -> String;
}

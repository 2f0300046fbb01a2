//! Scratchpad and accumulator utilization of a command stream: the distinct rows ever written by mvin
//! (Autocomp's definition), and the accumulator rows computes write their results to, observed from the
//! commands the hart issues. Commands a loop FSM issues inside the accelerator are not seen, so a stream
//! that starts a loop says so ([`RowUsage::loop_fsm_seen`]) instead of reporting their rows as unused.

use crate::sim::config::HwConfig;
use crate::sim::isa::{Command, Funct, RoccCmd};

/// Watches accepted commands and counts distinct rows written by mvin.
#[derive(Debug, Clone)]
pub struct RowUsage {
    dim: u32,
    row_bits: u32,
    block_stride: [u32; 3],
    sp: Vec<bool>,
    acc: Vec<bool>,
    sp_used: u32,
    acc_used: u32,
    /// Accumulator rows named as the destination C of a preload (the next compute writes there).
    acc_computed: Vec<bool>,
    acc_computed_used: u32,
    loop_fsm_seen: bool,
}

impl RowUsage {
    pub fn new(cfg: &HwConfig) -> RowUsage {
        RowUsage {
            dim: cfg.dim(),
            row_bits: cfg.local_addr_row_bits(),
            block_stride: [cfg.dim(); 3],
            sp: vec![false; cfg.sp_rows() as usize],
            acc: vec![false; cfg.acc_rows() as usize],
            sp_used: 0,
            acc_used: 0,
            acc_computed: vec![false; cfg.acc_rows() as usize],
            acc_computed_used: 0,
            loop_fsm_seen: false,
        }
    }

    /// Record a command the accelerator accepted (illegal ones are harmless: out-of-range rows are skipped).
    pub fn observe(&mut self, cmd: RoccCmd) {
        match Command::decode(cmd) {
            Command::ConfigLd(c) if c.state_id < 3 => {
                self.block_stride[c.state_id as usize] = c.block_stride.into()
            }
            Command::Mvin { state, op, .. } if state < 3 && !op.addr.is_garbage(self.row_bits) => {
                let blocks = u32::from(op.cols).div_ceil(self.dim);
                let base = op.addr.row(self.row_bits);
                let stride = self.block_stride[state as usize];
                let (rows, used) = if op.addr.is_acc() {
                    (&mut self.acc, &mut self.acc_used)
                } else {
                    (&mut self.sp, &mut self.sp_used)
                };
                for b in 0..blocks {
                    for r in 0..u32::from(op.rows) {
                        let row = base as u64 + r as u64 + b as u64 * stride as u64;
                        mark(rows, used, row as usize);
                    }
                }
            }
            Command::Preload { c, .. } if c.addr.is_acc() && !c.addr.is_garbage(self.row_bits) => {
                let base = c.addr.row(self.row_bits) as usize;
                for r in base..base + usize::from(c.rows) {
                    mark(&mut self.acc_computed, &mut self.acc_computed_used, r);
                }
            }
            Command::Loop(Funct::LoopWs | Funct::LoopConvWs) => self.loop_fsm_seen = true,
            _ => {}
        }
    }

    /// Distinct scratchpad rows written by mvin.
    pub fn sp_rows_used(&self) -> u32 {
        self.sp_used
    }
    /// Distinct accumulator rows written by mvin.
    pub fn acc_rows_used(&self) -> u32 {
        self.acc_used
    }
    /// Distinct accumulator rows computes wrote results to (the C operand of a preload).
    pub fn acc_rows_computed(&self) -> u32 {
        self.acc_computed_used
    }
    /// A loop FSM was started: its own mvins and computes are not in these counts.
    pub fn loop_fsm_seen(&self) -> bool {
        self.loop_fsm_seen
    }
}

/// Count `row` once in `used` (rows outside the memory are skipped: the command is refused anyway).
fn mark(rows: &mut [bool], used: &mut u32, row: usize) {
    if let Some(seen) = rows.get_mut(row) {
        if !*seen {
            *seen = true;
            *used += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::isa::{ConfigLd, LocalAddr, Operand};

    #[test]
    fn counts_distinct_rows_with_blocks() {
        let cfg = HwConfig::default_config();
        let mut u = RowUsage::new(&cfg);
        let mvin = |row, cols, rows| Command::Mvin {
            state: 0,
            dram: 0x8000_0000,
            op: Operand::new(LocalAddr::sp(row), cols, rows),
        };
        u.observe(mvin(0, 16, 16).encode());
        u.observe(mvin(8, 16, 16).encode()); // overlaps rows 8..16
        assert_eq!(u.sp_rows_used(), 24);
        let mut c = ConfigLd::new(0, 64, 16);
        c.block_stride = 100;
        u.observe(c.encode());
        u.observe(mvin(1000, 32, 2).encode()); // rows 1000, 1001, 1100, 1101
        assert_eq!(u.sp_rows_used(), 28);
        u.observe(
            Command::Mvin {
                state: 2,
                dram: 0,
                op: Operand::new(LocalAddr::acc(4), 16, 3),
            }
            .encode(),
        );
        assert_eq!(u.acc_rows_used(), 3);
        assert_eq!(u.acc_rows_computed(), 0);
        // A naive GEMM's results: computes into accumulator rows 0-15, nothing moved in there.
        let preload = |row, rows| Command::Preload {
            bd: Operand::new(LocalAddr::sp(0), 16, 16),
            c: Operand::new(LocalAddr::acc(row), 16, rows),
        };
        u.observe(preload(0, 16).encode());
        u.observe(preload(8, 16).encode());
        assert_eq!((u.acc_rows_used(), u.acc_rows_computed()), (3, 24));
        // A garbage C (no result kept) counts nothing.
        u.observe(
            Command::Preload {
                bd: Operand::new(LocalAddr::sp(0), 16, 16),
                c: Operand::garbage(16),
            }
            .encode(),
        );
        assert_eq!(u.acc_rows_computed(), 24);
        assert!(!u.loop_fsm_seen());
    }
}

//! The functional model's checks (docs/accelerator.md section 1): every rule a command must satisfy before it
//! executes. They only read state, so a refused command changes nothing.

use super::*;

impl SpecAccel {
    // ---------------------------------------------------------------------------------------------
    // Checks (docs section 1). They only read state, so a refused command changes nothing.
    // Within one command the order is: illegal funct / loop command, unsupported (accumulator
    // operand, pixel_repeats, state id 3), pairing, transpose, bad address, rows/cols (operands in
    // rs1, rs2 order), ranges (same order).
    // ---------------------------------------------------------------------------------------------

    pub(super) fn check(&self, c: &Command) -> Result<(), Fail> {
        match *c {
            Command::Illegal(f) => fail(
                ErrorKind::IllegalFunct,
                format!(
                    "funct {f} is not a command of this accelerator (legal: 0-21 and 126; 22-25, clock \
                     gating and the external scratchpad, are not built)"
                ),
            ),
            // The loop commands and their configuration are handled by `offer` before the checks; a
            // loop command reaching here is a bug in the caller, refused rather than ignored.
            Command::Loop(f) => fail(
                ErrorKind::Unsupported,
                format!("{} (funct {}) cannot be executed here", f.name(), f as u8),
            ),
            Command::ConfigLd(ld) => {
                if ld.pixel_repeats > 1 {
                    return fail(
                        ErrorKind::Unsupported,
                        format!(
                            "config_ld pixel_repeats = {} is not supported (only 0 or 1: the first-layer \
                             pixel repeater is not built)",
                            ld.pixel_repeats
                        ),
                    );
                }
                if ld.state_id as usize >= self.ld.len() {
                    return fail(
                        ErrorKind::Unsupported,
                        format!(
                            "config_ld state id {} is not supported (only 0, 1 and 2: the states of mvin, \
                             mvin2 and mvin3)",
                            ld.state_id
                        ),
                    );
                }
                Ok(())
            }
            Command::ConfigEx(ex) => self.check_config_ex(&ex),
            Command::Mvin { state, op, .. } => self.check_mvin(state, op),
            Command::Mvout { op, .. } => self.check_mvout(op),
            Command::Preload { bd, c } => self.check_preload(bd, c),
            Command::Compute { a, bd, .. } => self.check_compute(a, bd),
            Command::ConfigSt(_) | Command::ConfigNorm { .. } | Command::Flush { .. } | Command::Counter(_) => {
                Ok(())
            }
        }
    }

    /// The dataflow a config_ex selects: its bit on an OS-capable array, WS otherwise (a WS-only array
    /// refuses a config_ex selecting OS in `check_config_ex`, so this only matters for set_only_strides).
    pub(super) fn effective_dataflow(&self, ex: &ConfigEx) -> u8 {
        if self.geo.has_os {
            ex.dataflow & 1
        } else {
            DATAFLOW_WS
        }
    }

    fn check_no_pending_preload(&self, what: &str) -> Result<(), Fail> {
        if self.array.pending_c.is_some() {
            return fail(
                ErrorKind::Pairing,
                format!("{what} follows a preload; the execute stream must pair every preload with a compute"),
            );
        }
        Ok(())
    }

    fn check_config_ex(&self, ex: &ConfigEx) -> Result<(), Fail> {
        self.check_no_pending_preload("config_ex")?;
        // set_only_strides leaves dataflow and transposes unchanged, so there is nothing new to refuse.
        if ex.set_only_strides {
            return Ok(());
        }
        // Gemmini's WS-only arrays silently run WS; an OS program would then give wrong numbers.
        if !self.geo.has_os && ex.dataflow & 1 == DATAFLOW_OS {
            return fail(
                ErrorKind::Unsupported,
                "config_ex selects the output-stationary dataflow, but this array is weight-stationary only"
                    .to_string(),
            );
        }
        let df = self.effective_dataflow(ex);
        if df == DATAFLOW_OS && ex.b_transpose && !ex.a_transpose {
            return fail(
                ErrorKind::BadTranspose,
                "config_ex selects OS with b_transpose = 1 and a_transpose = 0; OS allows B transposed \
                 only together with A"
                    .to_string(),
            );
        }
        if df == DATAFLOW_WS && ex.a_transpose && ex.b_transpose {
            return fail(
                ErrorKind::BadTranspose,
                "config_ex selects WS with a_transpose = 1 and b_transpose = 1; WS allows at most one \
                 transposed operand"
                    .to_string(),
            );
        }
        Ok(())
    }

    /// rows/cols must be in 1..=max.
    fn check_dim(cmd: &str, field: &str, value: u16, max: u32, why: &str) -> Result<(), Fail> {
        if value == 0 || value as u32 > max {
            return fail(
                ErrorKind::BadRowsCols,
                format!("{cmd}: {field} = {value} is outside 1..={max} ({why})"),
            );
        }
        Ok(())
    }

    /// The rows `[row, row + extent)` of `addr` must lie in its memory; an accumulator row field must
    /// also be below `acc_rows` (the higher bits of the field must be zero).
    fn check_range(
        &self,
        cmd: &str,
        operand: &str,
        addr: LocalAddr,
        extent: u64,
    ) -> Result<(), Fail> {
        let row = addr.row(self.geo.row_bits) as u64;
        let end = row + extent;
        if addr.is_acc() {
            let n = self.geo.acc_rows as u64;
            if row >= n {
                return fail(
                    ErrorKind::AccRange,
                    format!(
                        "{cmd}: {operand} accumulator row field = {row} (address 0x{:08x}) is not below the \
                         accumulator's {n} rows",
                        addr.0
                    ),
                );
            }
            if end > n {
                return fail(
                    ErrorKind::AccRange,
                    format!(
                        "{cmd}: {operand} accumulator rows [{row}, {end}) run past the accumulator's {n} rows"
                    ),
                );
            }
        } else {
            let n = self.geo.sp_rows as u64;
            if end > n {
                return fail(
                    ErrorKind::SpRange,
                    format!("{cmd}: {operand} scratchpad rows [{row}, {end}) run past the scratchpad's {n} rows"),
                );
            }
        }
        Ok(())
    }

    fn blocks(&self, cols: u16) -> u64 {
        (cols as u64).div_ceil(self.geo.dim as u64)
    }

    fn check_mvin(&self, state: u8, op: Operand) -> Result<(), Fail> {
        let g = &self.geo;
        if g.garbage(op.addr) {
            return fail(
                ErrorKind::BadAddress,
                format!(
                    "mvin destination 0x{:08x} is the garbage address; an mvin needs a real scratchpad or \
                     accumulator row",
                    op.addr.0
                ),
            );
        }
        let ld = &self.ld[state as usize];
        let dim = g.dim as u32;
        Self::check_dim("mvin", "rows", op.rows, dim, "DIM")?;
        if op.addr.is_acc() && !ld.shrink {
            Self::check_dim(
                "mvin",
                "cols",
                op.cols,
                dim * g.mbla,
                "DIM*MBLA for int32 data to the accumulator",
            )?;
        } else {
            Self::check_dim(
                "mvin",
                "cols",
                op.cols,
                dim * g.mbl,
                "DIM*MBL for int8 data",
            )?;
        }
        let extent = (self.blocks(op.cols) - 1) * ld.block_stride as u64 + op.rows as u64;
        self.check_range("mvin", "destination", op.addr, extent)
    }

    fn check_mvout(&self, op: Operand) -> Result<(), Fail> {
        let g = &self.geo;
        if g.garbage(op.addr) {
            return fail(
                ErrorKind::BadAddress,
                format!(
                    "mvout source 0x{:08x} is the garbage address; an mvout needs a real scratchpad or \
                     accumulator row",
                    op.addr.0
                ),
            );
        }
        if self.norm.is_some()
            && self.st.pool_stride != 0
            && op.addr.is_acc()
            && op.addr.norm_cmd() != isa::norm_cmd::RESET
        {
            return fail(
                ErrorKind::Unsupported,
                format!(
                    "mvout with max-pooling and normalizer command {} (address bits 28:26): a pooled mvout \
                     can only write (command 0); run the statistics with pooling disabled",
                    op.addr.norm_cmd()
                ),
            );
        }
        let dim = g.dim as u32;
        let extent = if self.st.pool_stride != 0 {
            // With pooling the rows field is not used; the pooling geometry from config_st must be
            // non-empty.
            let st = &self.st;
            Self::check_dim("mvout", "cols", op.cols, dim, "DIM with pooling enabled")?;
            for (field, value) in [
                ("pool_size", st.pool_size as u32),
                ("porows", st.porows as u32),
                ("pocols", st.pocols as u32),
                ("orows", st.orows as u32),
                ("ocols", st.ocols as u32),
            ] {
                if value == 0 {
                    return fail(
                        ErrorKind::BadRowsCols,
                        format!(
                            "mvout with pooling: config_st {field} = 0; pool_size, porows, pocols, orows \
                             and ocols must all be at least 1"
                        ),
                    );
                }
            }
            st.orows as u64 * st.ocols as u64
        } else {
            Self::check_dim("mvout", "rows", op.rows, dim, "DIM")?;
            if op.addr.is_acc() && op.addr.read_full() {
                Self::check_dim(
                    "mvout",
                    "cols",
                    op.cols,
                    dim,
                    "DIM for read-full int32 data",
                )?;
            } else {
                Self::check_dim(
                    "mvout",
                    "cols",
                    op.cols,
                    dim * g.mbl,
                    "DIM*MBL for int8 data",
                )?;
            }
            (self.blocks(op.cols) - 1) * dim as u64 + op.rows as u64
        };
        self.check_range("mvout", "source", op.addr, extent)
    }

    /// A/B/D operands are read by the execute unit from the scratchpad only.
    fn check_not_acc_operand(&self, cmd: &str, name: &str, op: Operand) -> Result<(), Fail> {
        if !self.geo.garbage(op.addr) && op.addr.is_acc() {
            return fail(
                ErrorKind::Unsupported,
                format!(
                    "{cmd}: operand {name} at 0x{:08x} is in the accumulator; execute operands must be \
                     scratchpad rows or garbage",
                    op.addr.0
                ),
            );
        }
        Ok(())
    }

    fn check_exec_dims(&self, cmd: &str, name: &str, op: Operand) -> Result<(), Fail> {
        if self.geo.garbage(op.addr) {
            return Ok(());
        }
        let dim = self.geo.dim as u32;
        Self::check_dim(cmd, &format!("{name} rows"), op.rows, dim, "DIM")?;
        Self::check_dim(cmd, &format!("{name} cols"), op.cols, dim, "DIM")
    }

    fn check_exec_range(
        &self,
        cmd: &str,
        name: &str,
        op: Operand,
        extent: u64,
    ) -> Result<(), Fail> {
        if self.geo.garbage(op.addr) {
            return Ok(());
        }
        self.check_range(cmd, name, op.addr, extent)
    }

    fn check_preload(&self, bd: Operand, c: Operand) -> Result<(), Fail> {
        let bd_name = if self.ex.dataflow == DATAFLOW_OS {
            "D"
        } else {
            "B"
        };
        self.check_not_acc_operand("preload", bd_name, bd)?;
        self.check_no_pending_preload("a preload")?;
        self.check_exec_dims("preload", bd_name, bd)?;
        self.check_exec_dims("preload", "C", c)?;
        // A transposed operand reads `cols` stored rows (docs section 3): B in WS with b_transpose.
        let bd_transposed = self.ex.dataflow == DATAFLOW_WS && self.ex.b_transpose;
        self.check_exec_range("preload", bd_name, bd, stored_rows(bd, bd_transposed))?;
        let c_extent = (c.rows as u64).saturating_sub(1) * self.ex.c_stride as u64 + 1;
        self.check_exec_range("preload", "C", c, c_extent)
    }

    fn check_compute(&self, a: Operand, bd: Operand) -> Result<(), Fail> {
        let cmd = "compute";
        let bd_name = if self.ex.dataflow == DATAFLOW_OS {
            "B"
        } else {
            "D"
        };
        self.check_not_acc_operand(cmd, "A", a)?;
        self.check_not_acc_operand(cmd, bd_name, bd)?;
        if self.array.pending_c.is_none() {
            return fail(
                ErrorKind::Pairing,
                "compute without a preload; the execute stream must pair every compute with the preload \
                 before it"
                    .to_string(),
            );
        }
        self.check_exec_dims(cmd, "A", a)?;
        self.check_exec_dims(cmd, bd_name, bd)?;
        // A transposed operand reads `cols` stored rows (docs section 3): A with a_transpose, and
        // B in OS with b_transpose.
        let n = stored_rows(a, self.ex.a_transpose);
        let a_extent = n.saturating_sub(1) * self.ex.a_stride as u64 + 1;
        self.check_exec_range(cmd, "A", a, a_extent)?;
        let bd_transposed = self.ex.dataflow == DATAFLOW_OS && self.ex.b_transpose;
        self.check_exec_range(cmd, bd_name, bd, stored_rows(bd, bd_transposed))
    }
}

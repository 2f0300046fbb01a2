//! The functional model of the accelerator (docs/accelerator.md): every command is checked and executed
//! the moment it is offered, with exact results and no timing. It is the reference the RTL is compared
//! against and the fast correctness screen for candidate programs, so it favours clarity first and then
//! bulk row operations (one `Memory` call per DMA row, no per-element map lookups).
//!
//! This file holds the state, execution and the `Accelerator` impl; `spec/check.rs` the rules a command
//! must satisfy before it executes; `spec/tests.rs` the unit tests.

use super::arith::Datapath;
use super::loops::{self, ExecView, LoopEnv};
use super::{AccelError, Accelerator, ErrorKind, RoccResp};
use crate::sim::config::HwConfig;
use crate::sim::isa::{
    self, Command, ConfigEx, ConfigLd, ConfigSt, CounterOp, Funct, LocalAddr, LoopConv,
    LoopConvDesc, LoopWs, LoopWsConfig, LoopWsDesc, Operand, RoccCmd, ACT_RELU, DATAFLOW_OS,
    DATAFLOW_WS, SCALE_ONE,
};
use crate::sim::mem::Memory;
use std::collections::VecDeque;

mod check;
pub mod norm;

/// A rule violation before it is attached to its command.
type Fail = (ErrorKind, String);

fn fail<T>(kind: ErrorKind, detail: String) -> Result<T, Fail> {
    Err((kind, detail))
}

/// Sizes and limits derived once from the hardware configuration.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    dim: usize,
    row_bits: u32,
    sp_rows: u32,
    acc_rows: u32,
    /// `MBL`: blocks of DIM input elements per DMA row.
    mbl: u32,
    /// `MBLA`: blocks of DIM accumulator elements per DMA row.
    mbla: u32,
    has_os: bool,
    psum_bits: u32,
    /// int8/int32 or binary32 element arithmetic.
    dp: Datapath,
}

impl Geometry {
    fn garbage(&self, a: LocalAddr) -> bool {
        a.is_garbage(self.row_bits)
    }
    fn row(&self, a: LocalAddr) -> usize {
        a.row(self.row_bits) as usize
    }
}

/// The in-array state of both dataflows, as DIM x DIM row-major matrices.
#[derive(Debug, Clone)]
struct ArrayState {
    /// WS: active weights `W` and the preloaded shadow `Wp`.
    w: Vec<i32>,
    wp: Vec<i32>,
    /// OS: the in-array accumulators `Acc` and the preloaded seed `Dp`.
    os_acc: Vec<i32>,
    dp: Vec<i32>,
    /// The C operand of a preload waiting for its compute (the pairing state).
    pending_c: Option<Operand>,
}

/// Reused operand and result matrices, so an execute command allocates nothing.
#[derive(Debug, Clone)]
struct Buffers {
    a: Vec<i32>,
    bd: Vec<i32>,
    out: Vec<i32>,
}

/// The counter file: configuration is kept (for `debug_state`), values always read 0 in this engine
/// because counting is cycle-level (docs section 4).
#[derive(Debug, Clone, Default)]
struct CounterFile {
    /// (event id, external) per counter.
    events: [(u8, bool); 8],
    snapshot: bool,
}

impl CounterFile {
    /// Applies one counter op in the order of docs section 4.
    fn apply(&mut self, op: CounterOp) {
        if op.snapshot_reset {
            self.snapshot = false;
        }
        if op.snapshot_take {
            self.snapshot = true;
        }
        if op.configure {
            self.events[(op.index & 7) as usize] = (op.event, op.external);
        }
    }
}

/// The functional model behind the `Accelerator` trait.
#[derive(Debug, Clone)]
pub struct SpecAccel {
    geo: Geometry,
    /// Scratchpad, `sp_rows` x DIM input elements (int8 sign-extended or binary32 bits), row-major.
    sp: Vec<i32>,
    /// Accumulator, `acc_rows` x DIM int32 (or binary32 bits), row-major.
    acc: Vec<i32>,
    /// config_ex state; `dataflow` holds the effective dataflow and `in_shift` its 5 used bits.
    ex: ConfigEx,
    /// The three config_ld states (mvin, mvin2, mvin3).
    ld: [ConfigLd; 3],
    /// config_st state.
    st: ConfigSt,
    /// Gemmini's normalizer (`has_normalizations`), or None when the configuration has none.
    norm: Option<norm::Normalizer>,
    array: ArrayState,
    bufs: Buffers,
    counters: CounterFile,
    /// The two LOOP_WS descriptors (double-buffered, docs section 6), the one the next configuration
    /// commands fill, and the accumulator half the next loop's C uses.
    loops: [LoopWsDesc; 2],
    loop_slot: u32,
    acc_half: u32,
    /// The same for LOOP_CONV_WS, whose unit keeps its own slots and accumulator half.
    convs: [LoopConvDesc; 2],
    conv_slot: u32,
    conv_acc_half: u32,
    loop_env: LoopEnv,
    error: Option<AccelError>,
    responses: VecDeque<RoccResp>,
    cycles: u64,
    accepted: u64,
}

impl SpecAccel {
    pub fn new(cfg: &HwConfig) -> SpecAccel {
        let dim = cfg.dim() as usize;
        let geo = Geometry {
            dim,
            row_bits: cfg.local_addr_row_bits(),
            sp_rows: cfg.sp_rows(),
            acc_rows: cfg.acc_rows(),
            mbl: cfg.max_block_len(),
            mbla: cfg.max_block_len_acc(),
            has_os: cfg.has_os(),
            psum_bits: cfg.array.spatial_output_bits,
            dp: Datapath::of(cfg),
        };
        let mat = || vec![0i32; dim * dim];
        let d16 = dim as u16;
        SpecAccel {
            geo,
            sp: vec![0; geo.sp_rows as usize * dim],
            acc: vec![0; geo.acc_rows as usize * dim],
            ex: ConfigEx::default(),
            ld: ConfigLd::reset_states(d16),
            st: ConfigSt::new(0),
            norm: cfg.array.has_normalizations.then(norm::Normalizer::default),
            array: ArrayState {
                w: mat(),
                wp: mat(),
                os_acc: mat(),
                dp: mat(),
                pending_c: None,
            },
            bufs: Buffers {
                a: mat(),
                bd: mat(),
                out: mat(),
            },
            counters: CounterFile::default(),
            loops: [LoopWsDesc::default(); 2],
            loop_slot: 0,
            acc_half: 0,
            convs: [LoopConvDesc::default(); 2],
            conv_slot: 0,
            conv_acc_half: 0,
            loop_env: LoopEnv::new(cfg),
            error: None,
            responses: VecDeque::new(),
            cycles: 0,
            accepted: 0,
        }
    }

    fn dataflow_name(&self) -> &'static str {
        if self.ex.dataflow == DATAFLOW_OS {
            "OS"
        } else {
            "WS"
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Execution (docs sections 2-4). Only DMA faults can fail here; every local index was checked.
    // ---------------------------------------------------------------------------------------------

    fn execute(&mut self, c: Command, rd: u8, mem: &mut Memory) -> Result<(), Fail> {
        match c {
            Command::ConfigEx(ex) => {
                if ex.set_only_strides {
                    self.ex.a_stride = ex.a_stride;
                    self.ex.c_stride = ex.c_stride;
                } else {
                    let dataflow = self.effective_dataflow(&ex);
                    self.ex = ConfigEx {
                        dataflow,
                        in_shift: ex.in_shift & 31,
                        ..ex
                    };
                }
            }
            // `check` refused state id 3, so the id names one of the three states.
            Command::ConfigLd(ld) => self.ld[ld.state_id as usize] = ld,
            Command::ConfigSt(st) => {
                let acc_scale = if st.acc_scale == ConfigSt::SCALE_UNCHANGED {
                    self.st.acc_scale
                } else {
                    st.acc_scale
                };
                self.st = ConfigSt { acc_scale, ..st };
                // config_st sets the activation's two low bits and clears config_norm's msb.
                if let Some(n) = &mut self.norm {
                    n.act_msb = false;
                }
            }
            Command::ConfigNorm { rs1, rs2 } => {
                // Without a normalizer (Gemmini's default) config_norm is accepted and does nothing.
                if let Some(n) = &mut self.norm {
                    n.config(&isa::ConfigNorm::decode(rs1, rs2));
                }
            }
            // No TLB is built: accepted, nothing to do.
            Command::Flush { .. } => {}
            Command::Counter(op) => {
                self.counters.apply(op);
                self.responses.push_back(RoccResp { rd, data: 0 });
            }
            Command::Mvin { state, dram, op } => self.mvin(state, dram, op, mem)?,
            Command::Mvout { dram, op } => self.mvout(dram, op, mem)?,
            Command::Preload { bd, c } => self.preload(bd, c),
            Command::Compute { flip, a, bd } => self.compute(flip, a, bd)?,
            // Refused by `check`.
            Command::Illegal(_) | Command::Loop(_) => {}
        }
        Ok(())
    }

    /// The configuration state a loop command is checked against.
    fn exec_view(&self) -> ExecView {
        ExecView {
            dataflow: self.ex.dataflow,
            a_transpose: self.ex.a_transpose,
            b_transpose: self.ex.b_transpose,
            a_stride: self.ex.a_stride,
            c_stride: self.ex.c_stride,
            ld: self.ld,
            pooling: self.st.pool_stride != 0,
            preload_pending: self.array.pending_c.is_some(),
            st_stride: self.st.stride,
            // The 3-bit store activation: config_norm's act_msb counts too.
            st_act: self
                .norm
                .as_ref()
                .map_or(self.st.act, |n| n.act(self.st.act)),
        }
    }

    /// LOOP_CONV_WS (docs section 6): as [`Self::loop_ws`], with the convolution unroller.
    fn loop_conv(&mut self, cmd: RoccCmd, mem: &mut Memory) -> Result<(), (Fail, RoccCmd)> {
        let mode = LoopConv::decode(cmd.rs1, cmd.rs2);
        let slot = self.conv_slot;
        let d = self.convs[slot as usize];
        loops::check_conv(&self.loop_env, &d, &mode, &self.exec_view(), slot)
            .map_err(|f| (f, cmd))?;
        let plan = loops::unroll_conv(&self.loop_env, &d, &mode, slot, self.conv_acc_half);
        self.conv_slot ^= 1;
        if d.output != 0 {
            self.conv_acc_half ^= 1;
        }
        for c in plan.in_order() {
            self.check(c)
                .and_then(|()| self.execute(*c, 0, mem))
                .map_err(|f| (f, c.encode()))?;
        }
        Ok(())
    }

    /// LOOP_WS (docs section 6): check the descriptor of the configured slot, then execute the unrolled
    /// commands in the defined order. An error names the command that caused it: the LOOP_WS, or the
    /// generated command (which a legal descriptor never produces, except for DMA faults).
    fn loop_ws(&mut self, cmd: RoccCmd, mem: &mut Memory) -> Result<(), (Fail, RoccCmd)> {
        let mode = LoopWs::decode(cmd.rs1, cmd.rs2);
        let slot = self.loop_slot;
        let d = self.loops[slot as usize];
        let view = self.exec_view();
        loops::check_ws(&self.loop_env, &d, &mode, &view, slot).map_err(|f| (f, cmd))?;
        let plan = loops::unroll_ws(&self.loop_env, &d, &mode, slot, self.acc_half);
        self.loop_slot ^= 1;
        if d.c != 0 {
            self.acc_half ^= 1;
        }
        for c in plan.in_order() {
            self.check(c)
                .and_then(|()| self.execute(*c, 0, mem))
                .map_err(|f| (f, c.encode()))?;
        }
        Ok(())
    }

    fn mvin(&mut self, state: u8, dram: u64, op: Operand, mem: &Memory) -> Result<(), Fail> {
        let dim = self.geo.dim;
        let ld = self.ld[state as usize];
        let to_acc = op.addr.is_acc();
        let dp = self.geo.dp;
        let eb = if to_acc && !ld.shrink {
            4
        } else {
            dp.elem_bytes()
        };
        let rows = op.rows as usize;
        let row_len = op.cols as usize * eb;
        // Read every DRAM row before writing any local row, so a faulting mvin changes nothing.
        let mut data = vec![0u8; rows * row_len];
        if dram != 0 {
            for (r, chunk) in data.chunks_exact_mut(row_len).enumerate() {
                let addr = dram.wrapping_add((r as u64).wrapping_mul(ld.stride));
                mem.read(addr, chunk).map_err(|e| {
                    (
                        ErrorKind::MemoryFault,
                        format!("mvin DMA read of row {r}: {e}"),
                    )
                })?;
            }
        }
        let base = self.geo.row(op.addr);
        let bs = ld.block_stride as usize;
        let accumulate = op.addr.accumulate();
        let scale = ld.scale;
        let write_acc =
            |dst: &mut i32, v: i32| *dst = if accumulate { dp.acc_add(*dst, v) } else { v };
        // Both datapaths pass an element through unchanged when the scale is exactly 1.0.
        let scaled = |b: &[u8]| {
            let x = dp.elem_from_le(b);
            if scale == SCALE_ONE {
                x
            } else {
                dp.mvin_scale(x, scale)
            }
        };
        // Rows in order, blocks in order within a row: this fixes the result when blocks overlap.
        for (r, src) in data.chunks_exact(row_len).enumerate() {
            for (b, block) in src.chunks(dim * eb).enumerate() {
                let lrow = base + r + b * bs;
                let n = block.len() / eb;
                if !to_acc {
                    let dst = &mut self.sp[lrow * dim..lrow * dim + n];
                    for (d, s) in dst.iter_mut().zip(block.chunks_exact(eb)) {
                        *d = scaled(s);
                    }
                } else if ld.shrink {
                    let dst = &mut self.acc[lrow * dim..lrow * dim + n];
                    for (d, s) in dst.iter_mut().zip(block.chunks_exact(eb)) {
                        write_acc(d, scaled(s));
                    }
                } else {
                    // Full-width accumulator rows: int32 ones unscaled (Gemmini's int8 configurations
                    // have no accumulator mvin scaler), binary32 ones through the scaler (its FP32
                    // configuration has one: mvin_scale_acc_args).
                    let dst = &mut self.acc[lrow * dim..lrow * dim + n];
                    for (d, s) in dst.iter_mut().zip(block.chunks_exact(4)) {
                        let v = i32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                        let v = match dp {
                            Datapath::Fp32 => dp.mvin_scale(v, scale),
                            Datapath::Int8 => v,
                        };
                        write_acc(d, v);
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes `out.len() / eb` elements of local row `lrow` as mvout bytes: input elements as stored
    /// (scratchpad), raw accumulator words (`full`), or converted to the input type by the accumulator
    /// scaler.
    fn read_out_row(&self, from_acc: bool, full: bool, lrow: usize, out: &mut [u8]) {
        let dim = self.geo.dim;
        let dp = self.geo.dp;
        let eb = dp.elem_bytes();
        let start = lrow * dim;
        if !from_acc {
            for (o, &v) in out.chunks_exact_mut(eb).zip(&self.sp[start..]) {
                dp.elem_to_le(v, o);
            }
        } else if full {
            for (o, v) in out.chunks_exact_mut(4).zip(&self.acc[start..]) {
                o.copy_from_slice(&v.to_le_bytes());
            }
        } else if let Some(n) = &self.norm {
            // The normalizer's read-out (int8 configurations only): the 3-bit activation.
            let act = n.act(self.st.act);
            let scale = self.st.acc_scale;
            for (o, &v) in out.iter_mut().zip(&self.acc[start..]) {
                *o = n.readout(v, act, scale) as u8;
            }
        } else {
            let relu = self.st.act == ACT_RELU;
            let scale = self.st.acc_scale;
            for (o, &v) in out.chunks_exact_mut(eb).zip(&self.acc[start..]) {
                dp.elem_to_le(dp.acc_readout(v, relu, scale), o);
            }
        }
    }

    /// An accumulator mvout whose address carries a normalizer command other than RESET: every block of
    /// every row passes the normalizer (the row's last block with the command itself, the others with its
    /// non-finishing version) and nothing is written to memory (Gemmini's `writes_to_main_memory`).
    fn mvout_stats(&mut self, op: Operand) {
        let dim = self.geo.dim;
        let base = self.geo.row(op.addr);
        let cmd = op.addr.norm_cmd();
        let cols = op.cols as usize;
        let nblk = cols.div_ceil(dim);
        let scale = self.st.acc_scale;
        let Some(n) = &mut self.norm else { return };
        for r in 0..op.rows as usize {
            for b in 0..nblk {
                let lrow = base + r + b * dim;
                let len = (cols - b * dim).min(dim);
                let c = if b + 1 == nblk {
                    cmd
                } else {
                    isa::norm_cmd::non_reset_version(cmd)
                };
                n.update(c, &self.acc[lrow * dim..lrow * dim + len], scale);
            }
        }
    }

    fn mvout(&mut self, dram: u64, op: Operand, mem: &mut Memory) -> Result<(), Fail> {
        if self.st.pool_stride != 0 {
            return self.mvout_pooled(dram, op, mem);
        }
        let dim = self.geo.dim;
        let from_acc = op.addr.is_acc();
        if from_acc && self.norm.is_some() && op.addr.norm_cmd() != isa::norm_cmd::RESET {
            self.mvout_stats(op);
            return Ok(());
        }
        let full = from_acc && op.addr.read_full();
        let eb = if full { 4 } else { self.geo.dp.elem_bytes() };
        let rows = op.rows as usize;
        let cols = op.cols as usize;
        let stride = self.st.stride as u64;
        let row_addr = |r: usize| dram.wrapping_add(r as u64 * stride);
        // Check every destination first, so a faulting mvout writes nothing.
        for r in 0..rows {
            mem.check(row_addr(r), (cols * eb) as u64).map_err(|e| {
                (
                    ErrorKind::MemoryFault,
                    format!("mvout DMA write of row {r}: {e}"),
                )
            })?;
        }
        let base = self.geo.row(op.addr);
        // Block b of row r lands at byte b*DIM*eb of the DRAM row, so one DRAM row is contiguous.
        let mut buf = vec![0u8; cols * eb];
        for r in 0..rows {
            for (b, out) in buf.chunks_mut(dim * eb).enumerate() {
                self.read_out_row(from_acc, full, base + r + b * dim, out);
            }
            mem.write(row_addr(r), &buf).map_err(|e| {
                (
                    ErrorKind::MemoryFault,
                    format!("mvout DMA write of row {r}: {e}"),
                )
            })?;
        }
        // Every written accumulator block is a RESET of the current stat id.
        if from_acc {
            if let Some(n) = &mut self.norm {
                n.update(isa::norm_cmd::RESET, &[], 0);
            }
        }
        Ok(())
    }

    /// Max-pooling mvout (docs section 2). Output is always the input type: for the accumulator the
    /// read_full bit is ignored and rows are converted by the scaler, as the pooled data path carries input
    /// elements only.
    fn mvout_pooled(&mut self, dram: u64, op: Operand, mem: &mut Memory) -> Result<(), Fail> {
        let st = self.st;
        let dim = self.geo.dim;
        let cols = op.cols as usize;
        let dp = self.geo.dp;
        let eb = dp.elem_bytes();
        let from_acc = op.addr.is_acc();
        let stride = st.stride as u64;
        let pixel_addr = |pr: u64, pc: u64| {
            dram.wrapping_add((pr * st.pool_out_dim as u64 + pc).wrapping_mul(stride))
        };
        for pr in 0..st.porows as u64 {
            for pc in 0..st.pocols as u64 {
                mem.check(pixel_addr(pr, pc), (cols * eb) as u64)
                    .map_err(|e| {
                        (
                            ErrorKind::MemoryFault,
                            format!("pooled mvout DMA write of pixel ({pr}, {pc}): {e}"),
                        )
                    })?;
            }
        }
        let base = self.geo.row(op.addr);
        if from_acc {
            if let Some(n) = &mut self.norm {
                // Its reads only use the kept statistics (mean, max, reciprocals).
                n.pooled_reset();
            }
        }
        let (orows, ocols) = (st.orows as i64, st.ocols as i64);
        let mut pixel = vec![0u8; cols * eb];
        let mut row = vec![0u8; cols * eb];
        debug_assert!(cols <= dim);
        for pr in 0..st.porows as u64 {
            for pc in 0..st.pocols as u64 {
                // `check_mvout` guarantees pool_size >= 1, so `first` is cleared by the first window
                // element.
                pixel.fill(0);
                let mut first = true;
                for wr in 0..st.pool_size as i64 {
                    for wc in 0..st.pool_size as i64 {
                        let orow = pr as i64 * st.pool_stride as i64 + wr - st.upad as i64;
                        let ocol = pc as i64 * st.pool_stride as i64 + wc - st.lpad as i64;
                        if (0..orows).contains(&orow) && (0..ocols).contains(&ocol) {
                            let lrow = base + (orow * ocols + ocol) as usize;
                            self.read_out_row(from_acc, false, lrow, &mut row);
                        } else {
                            row.fill(0);
                        }
                        for (p, v) in pixel.chunks_exact_mut(eb).zip(row.chunks_exact(eb)) {
                            if first || dp.gt(dp.elem_from_le(v), dp.elem_from_le(p)) {
                                p.copy_from_slice(v);
                            }
                        }
                        first = false;
                    }
                }
                mem.write(pixel_addr(pr, pc), &pixel).map_err(|e| {
                    (
                        ErrorKind::MemoryFault,
                        format!("pooled mvout DMA write of pixel ({pr}, {pc}): {e}"),
                    )
                })?;
            }
        }
        Ok(())
    }

    fn preload(&mut self, bd: Operand, c: Operand) {
        let (g, sp) = (&self.geo, &self.sp);
        if self.ex.dataflow == DATAFLOW_OS {
            // Dp = D, widened to the accumulator type, never transposed.
            load_operand(g, sp, bd, 1, false, &mut self.array.dp);
        } else {
            // Wp = B, the logical rows x cols matrix; with b_transpose it is read from cols stored rows.
            load_operand(g, sp, bd, 1, self.ex.b_transpose, &mut self.array.wp);
        }
        self.array.pending_c = Some(c);
    }

    fn compute(&mut self, flip: bool, a: Operand, bd: Operand) -> Result<(), Fail> {
        let Some(c) = self.array.pending_c.take() else {
            // `check_compute` refuses this; kept as an error rather than a panic.
            return fail(ErrorKind::Pairing, "compute without a preload".to_string());
        };
        let g = self.geo;
        let dim = g.dim;
        // A: the logical rows x cols matrix, stored rows a_stride apart (cols of them if a_transpose).
        load_operand(
            &g,
            &self.sp,
            a,
            self.ex.a_stride as usize,
            self.ex.a_transpose,
            &mut self.bufs.a,
        );
        let c_real = !g.garbage(c.addr);
        let (crows, ccols) = if c_real {
            (c.rows as usize, c.cols as usize)
        } else {
            (0, 0)
        };
        if self.ex.dataflow == DATAFLOW_OS {
            // OS: B = compute's bd (the logical rows x cols matrix, transposed storage if
            // b_transpose); Acc += A*B.
            load_operand(&g, &self.sp, bd, 1, self.ex.b_transpose, &mut self.bufs.bd);
            if flip {
                self.array.os_acc.copy_from_slice(&self.array.dp);
            }
            accumulate_products(
                g.dp,
                dim,
                dim,
                dim,
                &self.bufs.a,
                &self.bufs.bd,
                &mut self.array.os_acc,
            );
            let shift = self.ex.in_shift;
            for (o, &acc) in self.bufs.out.iter_mut().zip(&self.array.os_acc) {
                *o = g.dp.os_out(acc, shift, g.psum_bits);
            }
        } else {
            // WS: O = A*W + D, each column's sum starting at d; only the C block is needed, and nothing at
            // all without a C.
            if flip {
                self.array.w.copy_from_slice(&self.array.wp);
            }
            if !c_real {
                return Ok(());
            }
            load_operand(&g, &self.sp, bd, 1, false, &mut self.bufs.bd);
            self.bufs.out.copy_from_slice(&self.bufs.bd);
            accumulate_products(
                g.dp,
                crows,
                ccols,
                dim,
                &self.bufs.a,
                &self.array.w,
                &mut self.bufs.out,
            );
        }
        if c_real {
            self.write_c(c);
        }
        Ok(())
    }

    /// Writes the C block of `bufs.out` (docs section 3, "Writing O").
    fn write_c(&mut self, c: Operand) {
        let dim = self.geo.dim;
        let base = self.geo.row(c.addr);
        let c_stride = self.ex.c_stride as usize;
        let cols = c.cols as usize;
        let out = &self.bufs.out;
        let dp = self.geo.dp;
        if c.addr.is_acc() {
            let accumulate = c.addr.accumulate();
            for r in 0..c.rows as usize {
                let lrow = base + r * c_stride;
                let dst = &mut self.acc[lrow * dim..lrow * dim + cols];
                for (d, &v) in dst.iter_mut().zip(&out[r * dim..]) {
                    *d = if accumulate { dp.acc_add(*d, v) } else { v };
                }
            }
        } else {
            let relu = self.ex.act == ACT_RELU;
            for r in 0..c.rows as usize {
                let lrow = base + r * c_stride;
                let dst = &mut self.sp[lrow * dim..lrow * dim + cols];
                for (d, &v) in dst.iter_mut().zip(&out[r * dim..]) {
                    *d = dp.sp_result(v, relu);
                }
            }
        }
    }
}

/// The number of stored rows an operand reads (docs section 3): `rows`, or `cols` when transposed.
fn stored_rows(op: Operand, transposed: bool) -> u64 {
    if transposed {
        op.cols as u64
    } else {
        op.rows as u64
    }
}

/// Fills `out` (DIM x DIM, row-major) with an operand's logical `rows x cols` matrix M (docs section
/// 3), stored row i being local row `row + i*stride`:
/// - not transposed: `M[r][c]` = element c of stored row r (rows stored rows are read);
/// - transposed: `M[r][c]` = element r of stored row c (cols stored rows are read).
///
/// Everything outside M is zero, and a garbage operand is all zeros. The caller has range-checked the
/// operand.
fn load_operand(
    g: &Geometry,
    sp: &[i32],
    op: Operand,
    stride: usize,
    transpose: bool,
    out: &mut [i32],
) {
    out.fill(0);
    if g.garbage(op.addr) {
        return;
    }
    let dim = g.dim;
    let base = g.row(op.addr);
    let (rows, cols) = (op.rows as usize, op.cols as usize);
    if transpose {
        // Stored row c holds column c of M in its first `rows` elements.
        for c in 0..cols {
            let s = (base + c * stride) * dim;
            for (r, &v) in sp[s..s + rows].iter().enumerate() {
                out[r * dim + c] = v;
            }
        }
    } else {
        for r in 0..rows {
            let s = (base + r * stride) * dim;
            for (o, &v) in out[r * dim..r * dim + cols]
                .iter_mut()
                .zip(&sp[s..s + cols])
            {
                *o = v;
            }
        }
    }
}

/// `acc[i][j] = mac(...mac(mac(acc[i][j], a[i][0], b[0][j]), a[i][1], b[1][j])..., a[i][DIM-1],
/// b[DIM-1][j])` for i < rows, j < cols (DIM x DIM row-major matrices): the PE order of the array. int8
/// products are exact and int32 sums wrap, so any order gives the same result and zero terms are skipped;
/// binary32 takes every k in order, zero padding included (`0 * x` can be NaN or change a zero's sign).
fn accumulate_products(
    dp: Datapath,
    rows: usize,
    cols: usize,
    dim: usize,
    a: &[i32],
    b: &[i32],
    acc: &mut [i32],
) {
    match dp {
        Datapath::Int8 => {
            for i in 0..rows {
                let o = &mut acc[i * dim..i * dim + cols];
                for k in 0..dim {
                    let x = a[i * dim + k];
                    if x == 0 {
                        continue;
                    }
                    for (o, &y) in o.iter_mut().zip(&b[k * dim..k * dim + cols]) {
                        *o = o.wrapping_add(x * y);
                    }
                }
            }
        }
        Datapath::Fp32 => {
            for i in 0..rows {
                for j in 0..cols {
                    let mut s = acc[i * dim + j];
                    for k in 0..dim {
                        s = dp.mac(s, a[i * dim + k], b[k * dim + j]);
                    }
                    acc[i * dim + j] = s;
                }
            }
        }
    }
}

impl Accelerator for SpecAccel {
    fn engine(&self) -> &'static str {
        "spec"
    }

    fn offer(&mut self, cmd: RoccCmd, rd: u8, mem: &mut Memory) -> Result<bool, AccelError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let decoded = Command::decode(cmd);
        let result = if let Some(c) = LoopWsConfig::decode(cmd) {
            self.loops[self.loop_slot as usize].apply(c);
            Ok(())
        } else if decoded == Command::Loop(Funct::LoopWs) {
            self.loop_ws(cmd, mem)
        } else if self.convs[self.conv_slot as usize].apply(cmd) {
            Ok(())
        } else if decoded == Command::Loop(Funct::LoopConvWs) {
            self.loop_conv(cmd, mem)
        } else {
            self.check(&decoded)
                .and_then(|()| self.execute(decoded, rd, mem))
                .map_err(|f| (f, cmd))
        };
        match result {
            Ok(()) => {
                self.accepted += 1;
                Ok(true)
            }
            Err(((kind, detail), at)) => {
                let e = AccelError {
                    kind,
                    cmd: Some(at),
                    detail,
                };
                self.error = Some(e.clone());
                Err(e)
            }
        }
    }

    fn tick(&mut self, _mem: &mut Memory) -> Result<(), AccelError> {
        self.cycles += 1;
        Ok(())
    }

    fn busy(&self) -> bool {
        false
    }

    fn take_response(&mut self) -> Option<RoccResp> {
        self.responses.pop_front()
    }

    fn error(&self) -> Option<AccelError> {
        self.error.clone()
    }

    fn cycles(&self) -> u64 {
        self.cycles
    }

    fn skip_idle(&mut self, cycles: u64) {
        self.cycles += cycles;
    }

    /// Rows outside the scratchpad read as zeros (a back door must not panic).
    fn read_sp_row(&mut self, row: u32) -> Vec<i32> {
        let dim = self.geo.dim;
        if row >= self.geo.sp_rows {
            return vec![0; dim];
        }
        let s = row as usize * dim;
        self.sp[s..s + dim].to_vec()
    }

    /// Rows outside the accumulator read as zeros.
    fn read_acc_row(&mut self, row: u32) -> Vec<i32> {
        let dim = self.geo.dim;
        if row >= self.geo.acc_rows {
            return vec![0; dim];
        }
        let s = row as usize * dim;
        self.acc[s..s + dim].to_vec()
    }

    fn events(&mut self) -> Vec<(&'static str, u64)> {
        isa::event::NAMES
            .iter()
            .map(|&(_, name)| (name, 0))
            .collect()
    }

    fn debug_state(&mut self) -> String {
        let configured = self.counters.events.iter().filter(|(e, _)| *e != 0).count();
        format!(
            "spec engine: {} commands accepted, {} cycles, dataflow {}, preload pending: {}, \
             {} counters configured{}, error: {}",
            self.accepted,
            self.cycles,
            self.dataflow_name(),
            if self.array.pending_c.is_some() {
                "yes"
            } else {
                "no"
            },
            configured,
            if self.counters.snapshot {
                " (snapshot taken)"
            } else {
                ""
            },
            self.error
                .as_ref()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "none".to_string()),
        )
    }
}

#[cfg(test)]
// Index loops read like the matrix formulas the tests check against.
#[allow(clippy::needless_range_loop)]
mod tests;

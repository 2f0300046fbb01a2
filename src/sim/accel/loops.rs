//! The LOOP_WS command unroller shared by both engines (docs/accelerator.md section 6, spec 4.9): given a
//! complete descriptor, the double-buffer slot it occupies and the accumulator half in use, the exact list
//! of ordinary commands the loop FSM issues, and the legality rules a descriptor must meet. The spec model
//! executes the list in [`WsPlan::in_order`]; the RTL's sub-FSMs (rtl/gemmini_loop_matmul.sv) issue the same
//! commands per sub-FSM in the same order, interleaved by an arbiter only where no two commands touch the
//! same local rows, so the results are equal.

use super::ErrorKind;
use crate::sim::config::HwConfig;
use crate::sim::isa::{
    norm_cmd, Command, ConfigEx, ConfigLd, ConfigNorm, ConfigSt, LocalAddr, LoopConv, LoopConvDesc,
    LoopWs, LoopWsDesc, Operand, ACT_LAYERNORM, ACT_SOFTMAX, DATAFLOW_WS, NORM_STAT_IDS, SCALE_ONE,
};

/// Sizes the unroller needs, from the hardware configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopEnv {
    pub dim: u32,
    pub sp_rows: u32,
    pub acc_rows: u32,
    /// Blocks of DIM input elements per DMA row (`MBL`).
    pub mbl: u32,
    /// Blocks of DIM accumulator elements per DMA row (`MBLA`).
    pub mbla: u32,
    /// Bytes of one input element (1 int8, 4 fp32); accumulator elements are always 4.
    pub eb: u64,
    /// Gemmini's normalizer is built (LOOP_WS may ask for LayerNorm, iGELU and Softmax).
    pub has_norm: bool,
}

impl LoopEnv {
    pub fn new(cfg: &HwConfig) -> LoopEnv {
        LoopEnv {
            dim: cfg.dim(),
            sp_rows: cfg.sp_rows(),
            acc_rows: cfg.acc_rows(),
            mbl: cfg.max_block_len(),
            mbla: cfg.max_block_len_acc(),
            eb: cfg.elem_bytes() as u64,
            has_norm: cfg.array.has_normalizations,
        }
    }
    /// Rows of one scratchpad half (a loop slot's share).
    pub fn sp_half(&self) -> u32 {
        self.sp_rows / 2
    }
    pub fn acc_half(&self) -> u32 {
        self.acc_rows / 2
    }
}

/// The configuration state a LOOP_WS is checked against (set by the commands before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecView {
    pub dataflow: u8,
    pub a_transpose: bool,
    pub b_transpose: bool,
    pub a_stride: u16,
    pub c_stride: u16,
    pub ld: [ConfigLd; 3],
    pub pooling: bool,
    pub preload_pending: bool,
    /// config_st's DRAM row stride (bytes) and activation (read by LOOP_CONV_WS only).
    pub st_stride: u32,
    pub st_act: u8,
}

/// Local placement of one loop (spec 4.9): first scratchpad row of A and of B, first accumulator row of C.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsPlace {
    pub a_half: u32,
    pub b_half: u32,
    pub a_row: u32,
    pub b_row: u32,
    pub c_row: u32,
}

/// Scratchpad halves A and B use: the slot's own half, or the one a_spad_id/b_spad_id (1, 2) names.
pub fn halves(mode: &LoopWs, slot: u32) -> (u32, u32) {
    let pick = |id: u8| if id == 0 { slot } else { id as u32 - 1 };
    (pick(mode.a_spad_id), pick(mode.b_spad_id))
}

pub fn place_ws(env: &LoopEnv, d: &LoopWsDesc, mode: &LoopWs, slot: u32, acc_half: u32) -> WsPlace {
    let (a_half, b_half) = halves(mode, slot);
    let half = env.sp_half();
    let b_rows = d.k as u32 * d.j as u32 * env.dim;
    WsPlace {
        a_half,
        b_half,
        a_row: a_half * half,
        // B ends at the end of its half; a legal descriptor keeps it inside (check_ws).
        b_row: ((b_half + 1) * half).wrapping_sub(b_rows),
        c_row: acc_half * env.acc_half(),
    }
}

type Fail = (ErrorKind, String);

fn bad(detail: String) -> Result<(), Fail> {
    Err((ErrorKind::BadLoop, detail))
}

/// The rules of docs/accelerator.md section 6, in the order both engines check them. A descriptor that
/// passes produces only commands that pass every per-command check.
pub fn check_ws(
    env: &LoopEnv,
    d: &LoopWsDesc,
    mode: &LoopWs,
    v: &ExecView,
    slot: u32,
) -> Result<(), Fail> {
    if mode.ext != 0 {
        return Err((
            ErrorKind::Unsupported,
            format!(
                "loop_ws rs2 bits [63:3] = 0x{:x}: Gemmini's 2025 extensions (pre-marked sub-FSMs, \
                 scratchpad-only output) are not built",
                mode.ext
            ),
        ));
    }
    if mode.act > 1 && !env.has_norm {
        return Err((
            ErrorKind::Unsupported,
            format!(
                "loop_ws act = {}: only 0 (none) and 1 (ReLU) are supported (this configuration has no \
                 normalizer: has_normalizations = false)",
                mode.act
            ),
        ));
    }
    if mode.act > ACT_SOFTMAX {
        return Err((
            ErrorKind::Unsupported,
            format!(
                "loop_ws act = {}: activations are 0 (none), 1 (ReLU), 2 (LayerNorm), 3 (iGELU) and \
                 4 (Softmax)",
                mode.act
            ),
        ));
    }
    if !mode.is_resadd && v.preload_pending {
        return Err((
            ErrorKind::Pairing,
            "loop_ws follows a preload that has no compute yet; the loop's first execute command is a \
             preload"
                .to_string(),
        ));
    }
    let dim = env.dim as u64;
    if d.i == 0 || d.j == 0 || (!mode.is_resadd && d.k == 0) {
        return bad(format!(
            "loop_ws bounds I = {}, J = {}, K = {} must all be at least 1",
            d.i, d.j, d.k
        ));
    }
    for (name, p) in [("pad_I", d.pad_i), ("pad_J", d.pad_j), ("pad_K", d.pad_k)] {
        if p as u64 >= dim {
            return bad(format!("loop_ws {name} = {p} must be below DIM = {dim}"));
        }
    }
    if mode.a_spad_id > 2 || mode.b_spad_id > 2 {
        return bad(format!(
            "loop_ws a_spad_id = {}, b_spad_id = {}: each must be 0, 1 or 2",
            mode.a_spad_id, mode.b_spad_id
        ));
    }
    let acc_tile_rows = d.i as u64 * d.j as u64 * dim;
    if acc_tile_rows > env.acc_half() as u64 {
        return bad(format!(
            "loop_ws C tile I*J*DIM = {acc_tile_rows} accumulator rows does not fit in half the \
             accumulator ({} rows)",
            env.acc_half()
        ));
    }
    if mode.is_resadd {
        if d.d != 0 {
            return bad("loop_ws with is_resadd takes no D (D address must be 0)".to_string());
        }
        for (name, addr, s) in [("A", d.a, 0usize), ("B", d.b, 1)] {
            let ld = &v.ld[s];
            if addr != 0 && (!ld.shrink || ld.block_stride as u64 != dim) {
                return bad(format!(
                    "loop_ws with is_resadd loads {name} (int8) into the accumulator through config_ld \
                     state {s}, which must have shrink = 1 and block_stride = DIM = {dim} (has shrink = {}, \
                     block_stride = {})",
                    ld.shrink as u8, ld.block_stride
                ));
            }
        }
    } else {
        if mode.a_transpose && mode.b_transpose {
            return bad("loop_ws with both A and B transposed (WS allows one)".to_string());
        }
        if v.dataflow != DATAFLOW_WS {
            return bad("loop_ws needs config_ex to select the WS dataflow".to_string());
        }
        if mode.a_transpose != v.a_transpose || mode.b_transpose != v.b_transpose {
            return bad(format!(
                "loop_ws transposes (A {}, B {}) differ from config_ex's (A {}, B {})",
                mode.a_transpose as u8,
                mode.b_transpose as u8,
                v.a_transpose as u8,
                v.b_transpose as u8
            ));
        }
        if v.a_stride != 1 || v.c_stride != 1 {
            return bad(format!(
                "loop_ws needs config_ex a_stride = 1 and c_stride = 1 (has {} and {})",
                v.a_stride, v.c_stride
            ));
        }
        let a_rows = d.i as u64 * d.k as u64 * dim;
        let b_rows = d.k as u64 * d.j as u64 * dim;
        let half = env.sp_half() as u64;
        let (ah, bh) = halves(mode, slot);
        let fits = if ah == bh {
            a_rows + b_rows <= half
        } else {
            a_rows <= half && b_rows <= half
        };
        if !fits {
            return bad(format!(
                "loop_ws A (I*K*DIM = {a_rows} rows, scratchpad half {ah}) and B (K*J*DIM = {b_rows} rows, \
                 half {bh}) do not fit in their halves of {half} rows"
            ));
        }
        for (name, addr, s) in [("A", d.a, 0usize), ("B", d.b, 1), ("D", d.d, 2)] {
            let ld = &v.ld[s];
            if addr != 0 && ld.block_stride as u64 != dim {
                return bad(format!(
                    "loop_ws loads {name} through config_ld state {s}, whose block_stride must be DIM = {dim} \
                     (has {})",
                    ld.block_stride
                ));
            }
        }
        if d.d != 0 && v.ld[2].shrink != mode.low_d {
            return bad(format!(
                "loop_ws low_D = {} but config_ld state 2 (D) has shrink = {}; they must agree",
                mode.low_d as u8, v.ld[2].shrink as u8
            ));
        }
    }
    if d.c != 0 && v.pooling {
        return bad("loop_ws stores C, but config_st has max-pooling enabled".to_string());
    }
    if normalizing(mode) && d.c != 0 && (mode.full_c || mode.is_resadd) {
        return bad(format!(
            "loop_ws act = {} (LayerNorm/Softmax) stores C row by row through the normalizer as int8; \
             it cannot be combined with full_C or is_resadd",
            mode.act
        ));
    }
    Ok(())
}

/// LOOP_WS acts whose store part runs the normalizer's row statistics (LayerNorm, Softmax).
pub fn normalizing(mode: &LoopWs) -> bool {
    mode.act == ACT_LAYERNORM || mode.act == ACT_SOFTMAX
}

/// The normalizer commands of the store part of a LayerNorm/Softmax LOOP_WS (Gemmini's LoopMatmulStC),
/// three passes per row: [block that is not the row's last, last block].
pub fn norm_passes(act: u8) -> [[u32; 2]; 3] {
    if act == ACT_LAYERNORM {
        [
            [norm_cmd::SUM, norm_cmd::MEAN],
            [norm_cmd::VARIANCE, norm_cmd::INV_STDDEV],
            [norm_cmd::RESET, norm_cmd::RESET],
        ]
    } else {
        [
            [norm_cmd::MAX, norm_cmd::MAX],
            [norm_cmd::SUM_EXP, norm_cmd::INV_SUM_EXP],
            [norm_cmd::RESET, norm_cmd::RESET],
        ]
    }
}

/// The store part of a LayerNorm/Softmax LOOP_WS, in Gemmini's LoopMatmulStC order: for each tile row i,
/// each pair of rows (one per stat id), each pass, each row of the pair: a config_norm selecting the stat
/// id (set_stats_id_only), then one single-row mvout per DMA row of up to MBL tiles along J, with the
/// pass's normalizer command in address bits 28:26.
fn norm_stores(env: &LoopEnv, d: &LoopWsDesc, mode: &LoopWs, c_row: u32) -> Vec<Command> {
    let dim = env.dim;
    let (ni, nj) = (d.i as u32, d.j as u32);
    let (pi, pj) = (d.pad_i as u32, d.pad_j as u32);
    let mb = nj.min(env.mbl);
    let passes = norm_passes(mode.act);
    let mut v = Vec::new();
    for i in 0..ni {
        let rows = dim - if i + 1 == ni { pi } else { 0 };
        for ln_row in (0..rows).step_by(NORM_STAT_IDS as usize) {
            let ids = (rows - ln_row).min(NORM_STAT_IDS);
            for pass in passes {
                for sid in 0..ids {
                    v.push(Command::ConfigNorm {
                        rs1: ConfigNorm {
                            set_stats_id_only: true,
                            stat_id: sid as u8,
                            ..ConfigNorm::default()
                        }
                        .encode()
                        .rs1,
                        rs2: 0,
                    });
                    let r = ln_row + sid;
                    let mut j = 0;
                    while j < nj {
                        let blocks = mb.min(nj - j);
                        let cols = blocks * dim - if j + blocks >= nj { pj } else { 0 };
                        let cmd = pass[(j + mb >= nj) as usize];
                        let off = ((i as u64 * d.c_stride + j as u64) * dim as u64)
                            .wrapping_add((r as u64).wrapping_mul(d.c_stride));
                        let dram = d.c.wrapping_add(off.wrapping_mul(env.eb));
                        let row = c_row + (i * nj + j) * dim + r;
                        let addr = LocalAddr(LocalAddr::ACC_BIT | cmd << 26 | row);
                        v.push(Command::Mvout {
                            dram,
                            op: Operand::new(addr, cols as u16, 1),
                        });
                        j += blocks;
                    }
                }
            }
        }
    }
    v
}

/// The commands of one loop, per sub-FSM, each in its issue order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WsPlan {
    pub ld_d: Vec<Command>,
    pub ld_a: Vec<Command>,
    pub ld_b: Vec<Command>,
    pub ex: Vec<Command>,
    pub st: Vec<Command>,
}

impl WsPlan {
    /// The order the spec model executes: bias, A, B, execute, C.
    pub fn in_order(&self) -> impl Iterator<Item = &Command> {
        self.ld_d
            .iter()
            .chain(&self.ld_a)
            .chain(&self.ld_b)
            .chain(&self.ex)
            .chain(&self.st)
    }
    pub fn len(&self) -> usize {
        self.ld_d.len() + self.ld_a.len() + self.ld_b.len() + self.ex.len() + self.st.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A grid of DIM x DIM tiles moved between DRAM and local memory, one DMA row of up to `max_blocks` tiles
/// along the columns per command.
struct Grid {
    rows: u32,
    cols: u32,
    pad_r: u32,
    pad_c: u32,
    max_blocks: u32,
    /// Rows outer (columns inner, in blocks), or column blocks outer (rows inner).
    row_outer: bool,
    dram: u64,
    /// DRAM row stride in elements.
    stride: u64,
    /// Element bytes.
    eb: u64,
    /// First local row and the address flag bits (accumulator, accumulate, read-full).
    local: u32,
    flags: u32,
}

impl Grid {
    /// (dram, operand) of each command in order.
    fn moves(&self, dim: u32) -> Vec<(u64, Operand)> {
        let mut v = Vec::new();
        let emit = |v: &mut Vec<(u64, Operand)>, r: u32, c: u32, nb: u32| {
            let dram = self.dram.wrapping_add(
                (r as u64 * dim as u64)
                    .wrapping_mul(self.stride)
                    .wrapping_add(c as u64 * dim as u64)
                    .wrapping_mul(self.eb),
            );
            let row = self.local + (r * self.cols + c) * dim;
            let rows = dim - if r + 1 == self.rows { self.pad_r } else { 0 };
            let cols = nb * dim - if c + nb == self.cols { self.pad_c } else { 0 };
            v.push((
                dram,
                Operand::new(LocalAddr(self.flags | row), cols as u16, rows as u16),
            ));
        };
        if self.row_outer {
            for r in 0..self.rows {
                let mut c = 0;
                while c < self.cols {
                    let nb = self.max_blocks.min(self.cols - c);
                    emit(&mut v, r, c, nb);
                    c += nb;
                }
            }
        } else {
            let mut c = 0;
            while c < self.cols {
                let nb = self.max_blocks.min(self.cols - c);
                for r in 0..self.rows {
                    emit(&mut v, r, c, nb);
                }
                c += nb;
            }
        }
        v
    }
}

fn mvins(state: u8, g: &Grid, dim: u32) -> Vec<Command> {
    g.moves(dim)
        .into_iter()
        .map(|(dram, op)| Command::Mvin { state, dram, op })
        .collect()
}

/// Unrolls a descriptor that passed [`check_ws`] (spec 4.9; docs/accelerator.md section 6).
pub fn unroll_ws(env: &LoopEnv, d: &LoopWsDesc, mode: &LoopWs, slot: u32, acc_half: u32) -> WsPlan {
    let dim = env.dim;
    let p = place_ws(env, d, mode, slot, acc_half);
    let (ni, nj, nk) = (d.i as u32, d.j as u32, d.k as u32);
    let (pi, pj, pk) = (d.pad_i as u32, d.pad_j as u32, d.pad_k as u32);
    let acc = LocalAddr::ACC_BIT;
    let c_grid = |dram: u64, stride: u64, eb: u64, max_blocks: u32, flags: u32| Grid {
        rows: ni,
        cols: nj,
        pad_r: pi,
        pad_c: pj,
        max_blocks,
        row_outer: true,
        dram,
        stride,
        eb,
        local: p.c_row,
        flags,
    };
    let mut plan = WsPlan::default();
    if d.c != 0 && normalizing(mode) {
        plan.st = norm_stores(env, d, mode, p.c_row);
    } else if d.c != 0 {
        let (mb, eb, flags) = if mode.full_c {
            (1, 4, acc | LocalAddr::READ_FULL_BIT)
        } else {
            (env.mbl, env.eb, acc)
        };
        plan.st = c_grid(d.c, d.c_stride, eb, mb, flags)
            .moves(dim)
            .into_iter()
            .map(|(dram, op)| Command::Mvout { dram, op })
            .collect();
    }
    if mode.is_resadd {
        if d.a != 0 {
            plan.ld_a = mvins(0, &c_grid(d.a, d.a_stride, env.eb, env.mbl, acc), dim);
        }
        if d.b != 0 {
            let g = c_grid(
                d.b,
                d.b_stride,
                env.eb,
                env.mbl,
                acc | LocalAddr::ACCUMULATE_BIT,
            );
            plan.ld_b = mvins(1, &g, dim);
        }
        return plan;
    }
    if d.d != 0 {
        let (mb, eb) = if mode.low_d {
            (env.mbl, env.eb)
        } else {
            (env.mbla, 4)
        };
        // Column blocks outer (j), rows inner (i): the order the execute loop first needs the bias in.
        let g = Grid {
            row_outer: false,
            ..c_grid(d.d, d.d_stride, eb, mb, acc)
        };
        plan.ld_d = mvins(2, &g, dim);
    }
    // A is I x K (stored K x I when transposed), B is K x J (stored J x K when transposed).
    let (ar, ac, apr, apc) = if mode.a_transpose {
        (nk, ni, pk, pi)
    } else {
        (ni, nk, pi, pk)
    };
    let (br, bc, bpr, bpc) = if mode.b_transpose {
        (nj, nk, pj, pk)
    } else {
        (nk, nj, pk, pj)
    };
    let a_grid = Grid {
        rows: ar,
        cols: ac,
        pad_r: apr,
        pad_c: apc,
        max_blocks: env.mbl,
        row_outer: mode.a_transpose,
        dram: d.a,
        stride: d.a_stride,
        eb: env.eb,
        local: p.a_row,
        flags: 0,
    };
    let b_grid = Grid {
        rows: br,
        cols: bc,
        pad_r: bpr,
        pad_c: bpc,
        max_blocks: env.mbl,
        row_outer: !mode.b_transpose,
        dram: d.b,
        stride: d.b_stride,
        eb: env.eb,
        local: p.b_row,
        flags: 0,
    };
    if d.a != 0 {
        plan.ld_a = mvins(0, &a_grid, dim);
    }
    if d.b != 0 {
        plan.ld_b = mvins(1, &b_grid, dim);
    }
    let size = |n: u32, pad: u32, x: u32| dim - if x + 1 == n { pad } else { 0 };
    let garbage = Operand::garbage(dim as u16);
    for k in 0..nk {
        let kd = size(nk, pk, k) as u16;
        for j in 0..nj {
            let jd = size(nj, pj, j) as u16;
            for i in 0..ni {
                let id = size(ni, pi, i) as u16;
                let b_row = if mode.b_transpose {
                    p.b_row + (j * nk + k) * dim
                } else {
                    p.b_row + (k * nj + j) * dim
                };
                let a_row = if mode.a_transpose {
                    p.a_row + (k * ni + i) * dim
                } else {
                    p.a_row + (i * nk + k) * dim
                };
                let c_row = p.c_row + (i * nj + j) * dim;
                let c_addr = if mode.ex_accumulate || k != 0 {
                    LocalAddr::acc_accumulate(c_row)
                } else {
                    LocalAddr::acc(c_row)
                };
                plan.ex.push(Command::Preload {
                    bd: if i == 0 {
                        Operand::new(LocalAddr::sp(b_row), jd, kd)
                    } else {
                        garbage
                    },
                    c: Operand::new(c_addr, jd, id),
                });
                plan.ex.push(Command::Compute {
                    flip: i == 0,
                    a: Operand::new(LocalAddr::sp(a_row), kd, id),
                    bd: garbage,
                });
            }
        }
    }
    plan
}

/// Derived sizes of one LOOP_CONV_WS (spec 4.10), as Gemmini's LoopConv derives them: the input window
/// including its padding border (in undilated pixels when the input is dilated), its local size (halved
/// by downsampling), and the local strides between channel blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    /// 1 when the input is dilated (input_dilated), else 0.
    pub id: u64,
    /// 1 when downsampling, else 0.
    pub ds: u64,
    /// The padded window: `orows*stride + dilated_krows - 1` rows (undilated when input_dilated).
    pub irows: u64,
    pub icols: u64,
    /// Rows and columns of the window inside the image.
    pub irows_unpadded: u64,
    pub icols_unpadded: u64,
    /// The padding borders in (undilated) window pixels.
    pub upad: u64,
    pub dpad: u64,
    pub lpad: u64,
    pub rpad: u64,
    /// Local pixels per window row and column (`irows >> ds`, `icols >> ds`).
    pub lrows: u64,
    pub lcols: u64,
    /// Scratchpad rows between input channel blocks (batch blocks with trans_input_3120).
    pub in_blk: u64,
    /// Scratchpad rows between weight output-channel blocks (input-channel blocks with trans_weight_0132).
    pub w_blk: u64,
    /// Accumulator rows between output-channel blocks (batches * orows * ocols).
    pub out_blk: u64,
    pub in_rows: u64,
    pub w_rows: u64,
    pub acc_rows: u64,
}

impl ConvShape {
    pub fn new(env: &LoopEnv, d: &LoopConvDesc, mode: &LoopConv) -> ConvShape {
        let dim = env.dim as u64;
        let blocks = |n: u64| n.div_ceil(dim);
        let id = mode.input_dilated as u64;
        let ds = mode.downsample as u64;
        let undil = |x: u64| (x + id) >> id;
        let kdil = d.kernel_dilation as u64;
        let (krows, kcols) = (d.krows as u64, d.kcols as u64);
        let dkr = krows + kdil.saturating_sub(1) * krows.saturating_sub(1);
        let dkc = kcols + kdil.saturating_sub(1) * kcols.saturating_sub(1);
        // Gemmini's window: stride - 1 rows more than the outputs read. Its software computes dpad/rpad
        // against this size, so a smaller window would zero real image rows at its end (issue 12: `conv`
        // and `conv_rect` were wrong at stride 2).
        let irows_wd = (d.orows as u64 * d.stride as u64 + dkr).saturating_sub(1);
        let icols_wd = (d.ocols as u64 * d.stride as u64 + dkc).saturating_sub(1);
        let (upad, dpad, lpad, rpad) = (d.upad as u64, d.dpad as u64, d.lpad as u64, d.rpad as u64);
        let irows_unpadded = undil(irows_wd.saturating_sub(upad + dpad));
        let icols_unpadded = undil(icols_wd.saturating_sub(lpad + rpad));
        let (irows, icols) = if id == 1 {
            (
                irows_unpadded + undil(upad) + undil(dpad),
                icols_unpadded + undil(lpad) + undil(rpad),
            )
        } else {
            (irows_wd, icols_wd)
        };
        let (lrows, lcols) = (irows >> ds, icols >> ds);
        let (batches, kchs, pochs) = (d.batches as u64, d.kchs as u64, d.pochs as u64);
        let (in_blk, in_rows) = if mode.trans_input_3120 {
            let blk = kchs * lrows * lcols;
            (blk, blocks(batches) * blk)
        } else {
            let blk = batches * lrows * lcols;
            (blk, blocks(kchs) * blk)
        };
        let (w_blk, w_rows) = if mode.trans_weight_0132 {
            let blk = krows * kcols * pochs;
            (blk, blocks(kchs) * blk)
        } else {
            let blk = krows * kcols * kchs;
            (blk, blocks(pochs) * blk)
        };
        let out_blk = batches * d.orows as u64 * d.ocols as u64;
        ConvShape {
            id,
            ds,
            irows,
            icols,
            irows_unpadded,
            icols_unpadded,
            upad: undil(upad),
            dpad: undil(dpad),
            lpad: undil(lpad),
            rpad: undil(rpad),
            lrows,
            lcols,
            in_blk,
            w_blk,
            out_blk,
            in_rows,
            w_rows,
            acc_rows: blocks(pochs) * out_blk,
        }
    }
}

/// Local placement of one convolution: first scratchpad row of the input and of the weights (which end at
/// the end of their half), first accumulator row of the output.
pub fn place_conv(
    env: &LoopEnv,
    d: &LoopConvDesc,
    mode: &LoopConv,
    slot: u32,
    acc_half: u32,
) -> WsPlace {
    let pick = |id: u8| if id == 0 { slot } else { id as u32 - 1 };
    let (a_half, b_half) = (pick(mode.a_spad_id), pick(mode.b_spad_id));
    let half = env.sp_half();
    let w_rows = ConvShape::new(env, d, mode).w_rows as u32;
    WsPlace {
        a_half,
        b_half,
        a_row: a_half * half,
        b_row: ((b_half + 1) * half).wrapping_sub(w_rows),
        c_row: acc_half * env.acc_half(),
    }
}

/// Whether a LOOP_CONV_WS issues configuration commands of its own (config_st around max-pooling, config_ex
/// strides with trans_input_3120): the next LOOP_CONV_WS is checked only after it has finished, against the
/// configuration it leaves.
pub fn conv_sets_config(mode: &LoopConv) -> bool {
    !mode.no_pool || mode.trans_input_3120
}

/// The LOOP_CONV_WS rules of docs/accelerator.md section 6.1, in the order both engines check them. A
/// descriptor that passes produces only commands that pass every per-command check.
pub fn check_conv(
    env: &LoopEnv,
    d: &LoopConvDesc,
    mode: &LoopConv,
    v: &ExecView,
    slot: u32,
) -> Result<(), Fail> {
    let pool = !mode.no_pool;
    let unit_kernel = d.krows == 1 && d.kcols == 1;
    let no_pads = d.lpad == 0 && d.rpad == 0 && d.upad == 0 && d.dpad == 0;
    // Combinations Gemmini's LoopConv cannot run (its software asserts them away or its datapath would
    // mix two layouts), and fields wider than the commands it generates can carry.
    let refused = [
        (mode.activation > 1, "activation other than 0 (none) or 1 (ReLU)"),
        (d.kernel_dilation == 0, "kernel_dilation = 0 (it must be at least 1)"),
        (
            mode.trans_weight_1203 && mode.trans_weight_0132,
            "trans_weight_1203 together with trans_weight_0132",
        ),
        (
            mode.trans_input_3120 && mode.trans_weight_0132,
            "trans_input_3120 together with trans_weight_0132 (both operands transposed)",
        ),
        (
            mode.dw && (mode.trans_weight_1203 || mode.trans_weight_0132),
            "dw together with a weight transpose",
        ),
        (
            mode.trans_output_1203 && pool,
            "trans_output_1203 together with pooling",
        ),
        (
            mode.input_dilated && (d.stride != 1 || d.kernel_dilation != 1),
            "input_dilated with stride or kernel_dilation other than 1",
        ),
        (
            mode.downsample
                && (d.stride != 2
                    || !unit_kernel
                    || !no_pads
                    || mode.input_dilated
                    || mode.trans_input_3120
                    || pool),
            "downsample without stride 2, a 1x1 kernel, no padding, no input dilation, no \
             trans_input_3120 and no pooling",
        ),
        (
            pool && !(1..=3).contains(&d.pool_size),
            "pool_size outside 1..=3 (config_st's 2-bit field)",
        ),
        (
            pool && !(1..=3).contains(&d.pool_stride),
            "pool_stride outside 1..=3 (config_st's 2-bit field)",
        ),
        (
            pool && (d.plpad > 3 || d.pupad > 3),
            "plpad or pupad above 3 (config_st's 2-bit fields)",
        ),
        (
            pool && (d.porows == 0 || d.pocols == 0 || d.pool_out_col_dim == 0),
            "porows, pocols or pool_out_col_dim = 0 with pooling",
        ),
        (
            pool && (d.orows > 255 || d.ocols > 255 || d.porows > 255 || d.pocols > 255
                || d.pool_out_col_dim > 255),
            "orows, ocols, porows, pocols or pool_out_col_dim above 255 with pooling (config_st's 8-bit \
             fields)",
        ),
    ];
    if let Some((_, what)) = refused.iter().find(|r| r.0) {
        return bad(format!("loop_conv_ws with {what} is not supported"));
    }
    if v.preload_pending {
        return Err((
            ErrorKind::Pairing,
            "loop_conv_ws follows a preload that has no compute yet; the loop's first execute command is \
             a preload"
                .to_string(),
        ));
    }
    let bounds = [
        ("batches", d.batches),
        ("orows", d.orows),
        ("ocols", d.ocols),
        ("pochs", d.pochs),
        ("krows", d.krows),
        ("kcols", d.kcols),
        ("kchs", d.kchs),
        ("stride", d.stride),
    ];
    if let Some((name, _)) = bounds.iter().find(|b| b.1 == 0) {
        return bad(format!("loop_conv_ws {name} = 0; it must be at least 1"));
    }
    if mode.a_spad_id > 2 || mode.b_spad_id > 2 {
        return bad(format!(
            "loop_conv_ws a_spad_id = {}, b_spad_id = {}: each must be 0, 1 or 2",
            mode.a_spad_id, mode.b_spad_id
        ));
    }
    // the padded window before input dilation (bounds the products below, too)
    let half = env.sp_half() as u64;
    let kdil = d.kernel_dilation as u64;
    let irows_wd = d.orows as u64 * d.stride as u64 + (d.krows as u64 - 1) * kdil;
    let icols_wd = d.ocols as u64 * d.stride as u64 + (d.kcols as u64 - 1) * kdil;
    if irows_wd > half || icols_wd > half {
        return bad(format!(
            "loop_conv_ws input window {irows_wd}x{icols_wd} (orows*stride + dilated krows - 1 by the same \
             for columns) is larger than half the scratchpad ({half} rows)"
        ));
    }
    if d.lpad as u64 + d.rpad as u64 > icols_wd || d.upad as u64 + d.dpad as u64 > irows_wd {
        return bad(format!(
            "loop_conv_ws padding (lpad {}, rpad {}, upad {}, dpad {}) is larger than the {}x{} input window",
            d.lpad, d.rpad, d.upad, d.dpad, irows_wd, icols_wd
        ));
    }
    let sh = ConvShape::new(env, d, mode);
    if sh.acc_rows > env.acc_half() as u64 {
        return bad(format!(
            "loop_conv_ws output tile (ceil(pochs/DIM)*batches*orows*ocols = {} accumulator rows) does not \
             fit in half the accumulator ({} rows)",
            sh.acc_rows,
            env.acc_half()
        ));
    }
    let pick = |id: u8| if id == 0 { slot } else { id as u32 - 1 };
    let (ah, bh) = (pick(mode.a_spad_id), pick(mode.b_spad_id));
    let fits = if ah == bh {
        sh.in_rows + sh.w_rows <= half
    } else {
        sh.in_rows <= half && sh.w_rows <= half
    };
    if !fits {
        return bad(format!(
            "loop_conv_ws input ({} rows, scratchpad half {ah}) and weights ({} rows, half {bh}) do not fit \
             in their halves of {half} rows",
            sh.in_rows, sh.w_rows
        ));
    }
    if v.dataflow != DATAFLOW_WS
        || v.a_transpose != mode.trans_input_3120
        || v.b_transpose != mode.trans_weight_0132
    {
        return bad(format!(
            "loop_conv_ws needs config_ex to select the WS dataflow with A transposed = trans_input_3120 \
             ({}) and B transposed = trans_weight_0132 ({})",
            mode.trans_input_3120, mode.trans_weight_0132
        ));
    }
    // (with trans_input_3120 the loop sets the strides itself)
    let (a_stride, c_stride) = (d.stride >> sh.ds, 1u16 << sh.id);
    if !mode.trans_input_3120 && (v.a_stride != a_stride || v.c_stride != c_stride) {
        return bad(format!(
            "loop_conv_ws needs config_ex a_stride = stride >> downsample = {a_stride} and c_stride = \
             input dilation = {c_stride} (has {} and {})",
            v.a_stride, v.c_stride
        ));
    }
    if d.output != 0 && !pool {
        let want = if mode.trans_output_1203 {
            d.batch_size as u64 * d.out_channels as u64 * env.eb
        } else {
            d.out_stride as u64 * env.eb
        };
        if v.pooling {
            return bad(
                "loop_conv_ws stores its output without pooling, but config_st has max-pooling enabled"
                    .to_string(),
            );
        }
        if v.st_stride as u64 != want || v.st_act != mode.activation {
            return bad(format!(
                "loop_conv_ws stores with a DRAM stride of {want} bytes (out_stride, or batch_size * \
                 out_channels with trans_output_1203) and activation {}, but config_st has stride {} and \
                 activation {}; they must agree",
                mode.activation, v.st_stride, v.st_act
            ));
        }
    }
    Ok(())
}

fn conv_config_ld(state: u8, stride: u64, block_stride: u64) -> Command {
    Command::ConfigLd(ConfigLd {
        shrink: false,
        state_id: state,
        pixel_repeats: 1,
        block_stride: block_stride as u16,
        scale: SCALE_ONE,
        stride,
    })
}

/// Unrolls a descriptor that passed [`check_conv`] (spec 4.10; docs/accelerator.md section 6.1) with
/// Gemmini's LoopConv semantics (padding, strides, both dilations, downsampling, rot180 weights, the four
/// transposes, depthwise weights, max-pooling through config_st); max_pixels_per_row is a layout hint
/// this configuration does not use (as Gemmini without first-layer optimizations): one pixel per row. The
/// plan's parts: `ld_d` bias, `ld_a` input, `ld_b` weights, `ex` preload/compute pairs, `st` mvouts.
pub fn unroll_conv(
    env: &LoopEnv,
    d: &LoopConvDesc,
    mode: &LoopConv,
    slot: u32,
    acc_half: u32,
) -> WsPlan {
    let dim = env.dim as u64;
    let eb = env.eb;
    let sh = ConvShape::new(env, d, mode);
    let p = place_conv(env, d, mode, slot, acc_half);
    let (a0, b0, c0) = (p.a_row as u64, p.b_row as u64, p.c_row as u64);
    let (batches, orows, ocols) = (d.batches as u64, d.orows as u64, d.ocols as u64);
    let (ochs, krows, kcols, kchs) = (
        d.pochs as u64,
        d.krows as u64,
        d.kcols as u64,
        d.kchs as u64,
    );
    let (stride, kdil, kdim) = (
        d.stride as u64,
        d.kernel_dilation as u64,
        d.kernel_dim as u64,
    );
    let (id, ds) = (sh.id, sh.ds);
    let undil = |x: u64| (x + id) >> id;
    let t3120 = mode.trans_input_3120;
    let t0132 = mode.trans_weight_0132;
    let op = |addr: LocalAddr, cols: u64, rows: u64| Operand::new(addr, cols as u16, rows as u16);
    let out_row = |och: u64, b: u64, orow: u64, ocol: u64| {
        (c0 + (och / dim) * sh.out_blk + (b * orows + orow) * ocols + ocol) as u32
    };
    // input pixel (b, local row, local col) of channel ch
    let in_row = |b: u64, ch: u64, r: u64, c: u64| {
        let base = if t3120 {
            (b / dim) * sh.in_blk + ch * sh.lrows * sh.lcols
        } else {
            (ch / dim) * sh.in_blk + b * sh.lrows * sh.lcols
        };
        a0 + base + r * sh.lcols + c
    };
    let w_row = |och: u64, krow: u64, kcol: u64, kch: u64| {
        let off = if t0132 {
            (kch / dim) * sh.w_blk + (krow * kcols + kcol) * ochs + och
        } else {
            (och / dim) * sh.w_blk + (krow * kcols + kcol) * kchs + kch
        };
        (b0 + off) as u32
    };
    let mut plan = WsPlan::default();
    if d.bias != 0 {
        // One int32 bias row per output-channel block, repeated over the pixels (DRAM stride 0); zeros
        // when no_bias (Gemmini's software then passes a dummy non-zero bias address: a zero address
        // loads nothing, and the products accumulate onto what the accumulator holds).
        plan.ld_d.push(conv_config_ld(2, 0, sh.out_blk));
        let step = dim * env.mbla as u64;
        for och in (0..ochs).step_by(step as usize) {
            let j = step.min(ochs - och);
            let dram = if mode.no_bias {
                0
            } else {
                d.bias.wrapping_add(och * 4)
            };
            for b in 0..batches {
                for orow in 0..orows {
                    for ocol in (0..ocols).step_by(dim as usize) {
                        let i = dim.min(ocols - ocol);
                        let addr = LocalAddr::acc(out_row(och, b, orow, ocol));
                        plan.ld_d.push(Command::Mvin {
                            state: 2,
                            dram,
                            op: op(addr, j, i),
                        });
                    }
                }
            }
        }
    }
    if d.input != 0 {
        // Runs of up to DIM pixels (2*DIM image pixels when downsampling: every other one is loaded) that
        // are all padding (DRAM address 0: zeros) or all inside the image, one pixel per row, up to MBL
        // channel blocks (batch blocks with trans_input_3120) per mvin.
        let wide = dim * env.mbl as u64;
        let (max_chs, row_stride) = if t3120 {
            (batches.min(wide), d.batch_size as u64 * eb)
        } else {
            (kchs.min(wide), d.in_stride as u64 * eb)
        };
        plan.ld_a
            .push(conv_config_ld(0, row_stride << ds, sh.in_blk));
        let (b_it, ch_it) = if t3120 { (max_chs, 1) } else { (1, max_chs) };
        let (rows_in, cols_in) = (sh.irows_unpadded as i64, sh.icols_unpadded as i64);
        let (upad, lpad) = (sh.upad as i64, sh.lpad as i64);
        let (row_end, col_end) = (rows_in + sh.dpad as i64, cols_in + sh.rpad as i64);
        let (in_rd, in_cd) = (d.in_row_dim as u64, d.in_col_dim as u64);
        for b in (0..batches).step_by(b_it as usize) {
            let mut irow = -upad;
            while irow < row_end {
                let mut icol = -lpad;
                while icol < col_end {
                    let n = if icol < 0 {
                        (-icol).min(dim as i64)
                    } else if icol >= cols_in {
                        (col_end - icol).min(dim as i64)
                    } else {
                        (cols_in - icol).min((dim << ds) as i64)
                    };
                    let zero = irow < 0 || irow >= rows_in || icol < 0 || icol >= cols_in;
                    for ch in (0..kchs).step_by(ch_it as usize) {
                        let k = if t3120 {
                            (batches - b).min(max_chs)
                        } else {
                            (kchs - ch).min(max_chs)
                        };
                        let dram = if zero {
                            0
                        } else {
                            let (r, c) = (irow as u64, icol as u64);
                            let off = if t3120 {
                                ((ch * in_cd * in_rd + r * in_cd + c) * batches + b) * eb
                            } else {
                                ((b * in_rd + r) * in_cd + c)
                                    .wrapping_mul(d.in_stride as u64)
                                    .wrapping_add(ch)
                                    .wrapping_mul(eb)
                            };
                            d.input.wrapping_add(off)
                        };
                        let row = in_row(
                            b,
                            ch,
                            ((irow + upad) as u64) >> ds,
                            ((icol + lpad) as u64) >> ds,
                        );
                        plan.ld_a.push(Command::Mvin {
                            state: 0,
                            dram,
                            op: op(LocalAddr::sp(row as u32), k, (n as u64) >> ds),
                        });
                    }
                    icol += n;
                }
                irow += 1 << ds;
            }
        }
    }
    if d.weights != 0 {
        // Up to MBL blocks of output channels (input channels with trans_weight_0132) per mvin2, one row
        // per input channel (output channel).
        let wide = dim * env.mbl as u64;
        let max_chs = if t0132 {
            kchs.min(wide)
        } else {
            ochs.min(wide)
        };
        let (och_it, kch_it) = if t0132 {
            (dim, max_chs)
        } else {
            (max_chs, dim)
        };
        let (in_ch, out_ch) = (d.in_channels as u64, d.out_channels as u64);
        let row_stride = if mode.dw {
            eb
        } else if mode.trans_weight_1203 {
            kdim * kdim * out_ch * eb
        } else if t0132 {
            in_ch * eb
        } else {
            d.weight_stride as u64 * eb
        };
        plan.ld_b.push(conv_config_ld(1, row_stride, sh.w_blk));
        for och in (0..ochs).step_by(och_it as usize) {
            for krow in 0..krows {
                for kcol in 0..kcols {
                    for kch in (0..kchs).step_by(kch_it as usize) {
                        let (j, k) = if t0132 {
                            ((kchs - kch).min(max_chs), (ochs - och).min(dim))
                        } else {
                            ((ochs - och).min(max_chs), (kchs - kch).min(dim))
                        };
                        let off = if mode.dw {
                            (krow * kdim + kcol) * eb
                        } else if mode.trans_weight_1203 {
                            ((kch * kdim * kdim + krow * kdim + kcol) * out_ch + och) * eb
                        } else if t0132 {
                            (((krow * kdim + kcol) * out_ch + och) * in_ch + kch) * eb
                        } else {
                            ((krow * kdim + kcol) * in_ch + kch)
                                .wrapping_mul(d.weight_stride as u64)
                                .wrapping_add(och)
                                .wrapping_mul(eb)
                        };
                        let addr = LocalAddr::sp(w_row(och, krow, kcol, kch));
                        plan.ld_b.push(Command::Mvin {
                            state: 1,
                            dram: d.weights.wrapping_add(off),
                            op: op(addr, j, k),
                        });
                    }
                }
            }
        }
    }
    if t3120 {
        // A is read transposed: the channels of one pixel are a whole window apart, the batches of one
        // output pixel a whole output image apart.
        plan.ex.push(Command::ConfigEx(ConfigEx {
            set_only_strides: true,
            a_stride: (sh.irows * sh.icols) as u16,
            c_stride: (orows * ocols) as u16,
            ..ConfigEx::default()
        }));
    }
    let garbage = Operand::garbage(env.dim as u16);
    let (b_it, ocol_step) = if t3120 { (dim, 1) } else { (1, dim << id) };
    // Gemmini's new_weights: set when a (och, krow, kcol, kch) group starts, cleared by the first compute
    // issued (iterations on input-dilation holes issue nothing).
    let mut new_weights = true;
    for och in (0..ochs).step_by(dim as usize) {
        let j = dim.min(ochs - och);
        for krow in 0..krows {
            let krow_rot = if mode.wrot180 { krows - krow - 1 } else { krow };
            for kcol in 0..kcols {
                let kcol_rot = if mode.wrot180 { kcols - kcol - 1 } else { kcol };
                for kch in (0..kchs).step_by(dim as usize) {
                    let k = dim.min(kchs - kch);
                    for b in (0..batches).step_by(b_it as usize) {
                        for orow in 0..orows {
                            let mut ocol = 0;
                            while ocol < ocols {
                                let hole = id == 1
                                    && ((krow * kdil + orow).wrapping_sub(d.upad as u64) & 1 == 1
                                        || (kcol * kdil + ocol).wrapping_sub(d.lpad as u64) & 1
                                            == 1);
                                if hole {
                                    ocol += 1;
                                    continue;
                                }
                                let i = if t3120 {
                                    dim.min(batches - b)
                                } else {
                                    undil((ocols - ocol).min(ocol_step))
                                };
                                let irow = undil(orow * stride + krow * kdil);
                                let icol = undil(ocol * stride + kcol * kdil);
                                let bd = if new_weights {
                                    op(LocalAddr::sp(w_row(och, krow_rot, kcol_rot, kch)), j, k)
                                } else {
                                    garbage
                                };
                                let c = LocalAddr::acc_accumulate(out_row(och, b, orow, ocol));
                                plan.ex.push(Command::Preload { bd, c: op(c, j, i) });
                                let a_row = in_row(b, kch, irow >> ds, icol >> ds);
                                plan.ex.push(Command::Compute {
                                    flip: new_weights,
                                    a: op(LocalAddr::sp(a_row as u32), k, i),
                                    bd: garbage,
                                });
                                new_weights = false;
                                ocol += ocol_step;
                            }
                        }
                    }
                    new_weights = true;
                }
            }
        }
    }
    if d.output != 0 && mode.no_pool {
        for b in 0..batches {
            for orow in 0..orows {
                for ocol in (0..ocols).step_by(dim as usize) {
                    let i = dim.min(ocols - ocol);
                    for och in (0..ochs).step_by(dim as usize) {
                        let j = dim.min(ochs - och);
                        let off = if mode.trans_output_1203 {
                            ((orow * d.out_col_dim as u64 + ocol) * d.batch_size as u64 + b)
                                * d.out_channels as u64
                                * eb
                                + och * eb
                        } else {
                            ((b * d.out_row_dim as u64 + orow) * d.out_col_dim as u64 + ocol)
                                .wrapping_mul(d.out_stride as u64)
                                .wrapping_add(och)
                                .wrapping_mul(eb)
                        };
                        let addr = LocalAddr::acc(out_row(och, b, orow, ocol));
                        plan.st.push(Command::Mvout {
                            dram: d.output.wrapping_add(off),
                            op: op(addr, j, i),
                        });
                    }
                }
            }
        }
    } else if d.output != 0 {
        // config_st's stride is in bytes; out_stride counts elements (Gemmini's `out_stride * (input_w/8)`;
        // the 16-bit field times 4 bytes fits in 32 bits).
        let out_stride_bytes = (d.out_stride as u64 * eb) as u32;
        // Max-pooling in the store unit: configure it with this tile's geometry (scale unchanged), one
        // pooled mvout per image and output-channel block, then turn pooling off again.
        let pooled = ConfigSt {
            act: mode.activation,
            pool_stride: d.pool_stride as u8,
            pool_size: d.pool_size as u8,
            upad: d.pupad as u8,
            lpad: d.plpad as u8,
            pool_out_dim: d.pool_out_col_dim as u8,
            porows: d.porows as u8,
            pocols: d.pocols as u8,
            orows: orows as u8,
            ocols: ocols as u8,
            stride: out_stride_bytes,
            acc_scale: ConfigSt::SCALE_UNCHANGED,
        };
        plan.st.push(Command::ConfigSt(pooled));
        let pix = d.pool_out_row_dim as u64 * d.pool_out_col_dim as u64;
        for b in 0..batches {
            for och in (0..ochs).step_by(dim as usize) {
                let j = dim.min(ochs - och);
                let off = (b * pix)
                    .wrapping_mul(d.out_stride as u64)
                    .wrapping_add(och)
                    .wrapping_mul(eb);
                plan.st.push(Command::Mvout {
                    dram: d.output.wrapping_add(off),
                    op: op(LocalAddr::acc(out_row(och, b, 0, 0)), j, 1),
                });
            }
        }
        plan.st.push(Command::ConfigSt(ConfigSt {
            act: mode.activation,
            acc_scale: ConfigSt::SCALE_UNCHANGED,
            ..ConfigSt::new(out_stride_bytes)
        }));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::isa::{DATAFLOW_OS, SCALE_ONE};

    fn env() -> LoopEnv {
        LoopEnv {
            dim: 16,
            sp_rows: 16384,
            acc_rows: 1024,
            mbl: 4,
            mbla: 1,
            eb: 1,
            has_norm: false,
        }
    }

    fn view() -> ExecView {
        ExecView {
            dataflow: DATAFLOW_WS,
            a_transpose: false,
            b_transpose: false,
            a_stride: 1,
            c_stride: 1,
            ld: ConfigLd::reset_states(16),
            pooling: false,
            preload_pending: false,
            st_stride: 0,
            st_act: 0,
        }
    }

    fn desc(i: u16, j: u16, k: u16) -> LoopWsDesc {
        LoopWsDesc {
            i,
            j,
            k,
            a: 0x1000,
            b: 0x2000,
            c: 0x3000,
            a_stride: k as u64 * 16,
            b_stride: j as u64 * 16,
            c_stride: j as u64 * 16,
            ..Default::default()
        }
    }

    #[test]
    fn placement_and_counts() {
        let e = env();
        let d = LoopWsDesc {
            pad_i: 3,
            pad_k: 5,
            ..desc(2, 3, 6)
        };
        let m = LoopWs::default();
        check_ws(&e, &d, &m, &view(), 1).expect("legal");
        let p = unroll_ws(&e, &d, &m, 1, 1);
        // A: 2 rows of tiles, K = 6 in blocks of 4 then 2, k-blocks outer
        assert_eq!(p.ld_a.len(), 4);
        let Command::Mvin { state, dram, op } = p.ld_a[1] else {
            panic!("mvin")
        };
        assert_eq!((state, dram), (0, 0x1000 + 16 * 96));
        assert_eq!(
            (op.addr, op.rows, op.cols),
            (LocalAddr::sp(8192 + 6 * 16), 13, 64)
        );
        let Command::Mvin { op, .. } = p.ld_a[3] else {
            panic!("mvin")
        };
        assert_eq!((op.rows, op.cols), (13, 32 - 5));
        // B ends at the end of half 1
        let Command::Mvin { op, .. } = p.ld_b[0] else {
            panic!("mvin")
        };
        assert_eq!(op.addr, LocalAddr::sp(16384 - 6 * 3 * 16));
        // execute: K*J*I pairs, C in accumulator half 1, accumulating from k = 1
        assert_eq!(p.ex.len(), 2 * 6 * 3 * 2);
        let Command::Preload { c, .. } = p.ex[0] else {
            panic!("preload")
        };
        assert_eq!(c.addr, LocalAddr::acc(512));
        let Command::Preload { c, bd } = p.ex[2 * 6 + 2] else {
            panic!("preload")
        };
        assert!(bd.addr.is_garbage(14) && c.addr == LocalAddr::acc_accumulate(512 + 3 * 16));
        assert_eq!(p.st.len(), 2);
        assert_eq!(p.len(), p.in_order().count());
    }

    #[test]
    fn illegal_descriptors_are_refused() {
        let e = env();
        let m = LoopWs::default();
        let kind =
            |d: &LoopWsDesc, m: &LoopWs, v: &ExecView| check_ws(&e, d, m, v, 0).err().map(|x| x.0);
        assert_eq!(kind(&desc(0, 1, 1), &m, &view()), Some(ErrorKind::BadLoop));
        assert_eq!(kind(&desc(8, 8, 1), &m, &view()), Some(ErrorKind::BadLoop));
        assert_eq!(kind(&desc(4, 4, 65), &m, &view()), Some(ErrorKind::BadLoop));
        assert_eq!(kind(&desc(4, 4, 63), &m, &view()), None);
        let split = LoopWs {
            a_spad_id: 1,
            b_spad_id: 2,
            ..m
        };
        assert_eq!(kind(&desc(4, 4, 65), &split, &view()), None);
        let v = ExecView {
            preload_pending: true,
            ..view()
        };
        assert_eq!(kind(&desc(1, 1, 1), &m, &v), Some(ErrorKind::Pairing));
        let v = ExecView {
            dataflow: DATAFLOW_OS,
            ..view()
        };
        assert_eq!(kind(&desc(1, 1, 1), &m, &v), Some(ErrorKind::BadLoop));
        let mut v = view();
        v.ld[1].scale = SCALE_ONE;
        v.ld[1].block_stride = 3;
        assert_eq!(kind(&desc(1, 1, 1), &m, &v), Some(ErrorKind::BadLoop));
        let ext = LoopWs { ext: 1, ..m };
        assert_eq!(
            kind(&desc(1, 1, 1), &ext, &view()),
            Some(ErrorKind::Unsupported)
        );
        // Normalizer activations: unsupported without the normalizer, act > 4 never, and LayerNorm/Softmax
        // not with full_C.
        let ln = LoopWs { act: 2, ..m };
        assert_eq!(
            kind(&desc(1, 1, 1), &ln, &view()),
            Some(ErrorKind::Unsupported)
        );
        let en = LoopEnv {
            has_norm: true,
            ..env()
        };
        let nkind = |d: &LoopWsDesc, m: &LoopWs| check_ws(&en, d, m, &view(), 0).err().map(|x| x.0);
        assert_eq!(nkind(&desc(1, 1, 1), &ln), None);
        assert_eq!(nkind(&desc(1, 1, 1), &LoopWs { act: 3, ..m }), None);
        assert_eq!(
            nkind(&desc(1, 1, 1), &LoopWs { act: 5, ..m }),
            Some(ErrorKind::Unsupported)
        );
        assert_eq!(
            nkind(&desc(1, 1, 1), &LoopWs { full_c: true, ..ln }),
            Some(ErrorKind::BadLoop)
        );
    }

    /// The store part of a LayerNorm loop: per pair of rows, three passes of config_norm + one mvout per
    /// DMA row along J, the finishing command on the row's last DMA row only.
    #[test]
    fn layernorm_store_sequence() {
        let e = LoopEnv {
            has_norm: true,
            ..env()
        };
        // I = 1 tile of 3 rows (pad 13), J = 5 tiles (two DMA rows: 4 + 1 tiles, the last 10 wide)
        let mut d = desc(1, 5, 1);
        d.pad_i = 13;
        d.pad_j = 6;
        let mode = LoopWs {
            act: 2,
            ..LoopWs::default()
        };
        let plan = unroll_ws(&e, &d, &mode, 0, 0);
        let cmds: Vec<String> = plan
            .st
            .iter()
            .map(|c| match c {
                Command::ConfigNorm { rs1, .. } => format!("id{}", (rs1 >> 8) & 0xff),
                Command::Mvout { op, .. } => {
                    format!("r{}c{}n{}", op.addr.row(14), op.cols, op.addr.norm_cmd())
                }
                other => format!("{other:?}"),
            })
            .collect();
        // rows 0,1 (stat ids 0,1) then row 2 (stat id 0); C starts at accumulator row 0, tile j at j*16
        let mut want = Vec::new();
        for (first, ids) in [(0u32, 2u32), (2, 1)] {
            for (mid, last) in [(1, 2), (3, 4), (0, 0)] {
                for sid in 0..ids {
                    let r = first + sid;
                    want.push(format!("id{sid}"));
                    want.push(format!("r{r}c64n{mid}"));
                    want.push(format!("r{}c10n{last}", 64 + r));
                }
            }
        }
        assert_eq!(cmds, want);
    }

    fn conv_desc() -> LoopConvDesc {
        // 2 images, 3x5 outputs of 20 channels, 3x3 kernel over 40 input channels, stride 1, one padding
        // column on the left; the window lies in a 4x8 image of 48 channels
        LoopConvDesc {
            batch_size: 2,
            in_row_dim: 4,
            in_col_dim: 8,
            in_channels: 48,
            out_channels: 20,
            out_row_dim: 3,
            out_col_dim: 5,
            stride: 1,
            kernel_dim: 3,
            kernel_dilation: 1,
            batches: 2,
            orows: 3,
            ocols: 5,
            pochs: 20,
            krows: 3,
            kcols: 3,
            kchs: 40,
            lpad: 1,
            in_stride: 48,
            weight_stride: 20,
            out_stride: 20,
            weights: 0x1000,
            output: 0x2000,
            bias: 0x3000,
            input: 0x4000,
            ..Default::default()
        }
    }

    fn conv_mode() -> LoopConv {
        LoopConv {
            no_pool: true,
            ..Default::default()
        }
    }

    fn conv_view() -> ExecView {
        ExecView {
            st_stride: 20,
            ..view()
        }
    }

    /// Gemmini's stride convention (LoopConv: element offsets times `input_w/8`): with 4-byte elements the
    /// plan is the 1-byte plan with every input, weight and output DRAM offset and every stride the loop
    /// configures multiplied by 4; the bias (accumulator words either way) and the local side are unchanged.
    /// Checked without and with pooling.
    #[test]
    fn conv_fp32_plan_is_the_int8_plan_with_offsets_times_four() {
        let e1 = env();
        let e4 = LoopEnv { eb: 4, ..env() };
        for pool in [false, true] {
            let mut d = conv_desc();
            let mut m = conv_mode();
            if pool {
                m.no_pool = false;
                (d.pool_size, d.pool_stride) = (2, 2);
                (d.porows, d.pocols, d.pool_out_row_dim, d.pool_out_col_dim) = (1, 2, 1, 2);
            }
            let p1 = unroll_conv(&e1, &d, &m, 1, 1);
            let p4 = unroll_conv(&e4, &d, &m, 1, 1);
            let scaled = |c: &Command, base: u64| match *c {
                Command::Mvin { state, dram, op } if dram != 0 => Command::Mvin {
                    state,
                    dram: base + (dram - base) * 4,
                    op,
                },
                Command::Mvout { dram, op } => Command::Mvout {
                    dram: base + (dram - base) * 4,
                    op,
                },
                Command::ConfigLd(ld) => Command::ConfigLd(ConfigLd {
                    stride: ld.stride * 4,
                    ..ld
                }),
                Command::ConfigSt(st) => Command::ConfigSt(ConfigSt {
                    stride: st.stride * 4,
                    ..st
                }),
                other => other,
            };
            let want = |v: &[Command], base: u64| -> Vec<Command> {
                v.iter().map(|c| scaled(c, base)).collect()
            };
            assert_eq!(p4.ld_a, want(&p1.ld_a, d.input), "input, pool {pool}");
            assert_eq!(p4.ld_b, want(&p1.ld_b, d.weights), "weights, pool {pool}");
            assert_eq!(p4.st, want(&p1.st, d.output), "output, pool {pool}");
            assert_eq!((&p4.ld_d, &p4.ex), (&p1.ld_d, &p1.ex), "bias and execute");
            assert!(p4.st.len() >= 2 && p4.ld_a.len() >= 2 && p4.ld_b.len() >= 2);
        }
    }

    #[test]
    fn conv_placement_order_and_counts() {
        let e = env();
        let d = conv_desc();
        let m = conv_mode();
        check_conv(&e, &d, &m, &conv_view(), 1).expect("legal");
        let p = unroll_conv(&e, &d, &m, 1, 1);
        // window 5x7 (3 rows, 7 columns incl. the padding column), 3 input channel blocks
        let sh = ConvShape::new(&e, &d, &m);
        assert_eq!((sh.irows, sh.icols, sh.in_blk, sh.w_blk), (5, 7, 70, 360));
        // bias: config_ld + 2 och blocks x 2 images x 3 rows (5 pixels each)
        assert_eq!(p.ld_d.len(), 1 + 2 * 2 * 3);
        let Command::Mvin { state, dram, op } = p.ld_d[1 + 6] else {
            panic!("mvin3")
        };
        assert_eq!((state, dram), (2, 0x3000 + 16 * 4));
        assert_eq!(
            (op.addr, op.cols, op.rows),
            (LocalAddr::acc(512 + 30), 4, 5)
        );
        // input: per image row, the padding column (zeros) then 6 pixels, 40 channels in one mvin
        assert_eq!(p.ld_a.len(), 1 + 2 * 5 * 2);
        let Command::ConfigLd(ld) = p.ld_a[0] else {
            panic!("config_ld")
        };
        assert_eq!((ld.state_id, ld.stride, ld.block_stride), (0, 48, 70));
        let Command::Mvin { dram, op, .. } = p.ld_a[1] else {
            panic!("mvin")
        };
        assert_eq!(
            (dram, op.addr, op.rows, op.cols),
            (0, LocalAddr::sp(8192), 1, 40)
        );
        let Command::Mvin { dram, op, .. } = p.ld_a[4] else {
            panic!("mvin")
        };
        // image 0, row 1, first real pixel
        assert_eq!(dram, 0x4000 + 8 * 48);
        assert_eq!((op.addr, op.rows), (LocalAddr::sp(8192 + 7 + 1), 6));
        // weights end at the end of half 1: 2 och blocks x 360 rows
        let Command::Mvin { state, op, .. } = p.ld_b[1] else {
            panic!("mvin2")
        };
        assert_eq!(
            (state, op.addr, op.cols, op.rows),
            (1, LocalAddr::sp(16384 - 720), 20, 16)
        );
        // execute: 2 och blocks x 9 kernel pixels x 3 kch blocks x 2 images x 3 rows, preload + compute
        assert_eq!(p.ex.len(), 2 * 2 * 9 * 3 * 2 * 3);
        let Command::Preload { bd, c } = p.ex[0] else {
            panic!("preload")
        };
        assert!(!bd.addr.is_garbage(14) && c.addr == LocalAddr::acc_accumulate(512));
        let Command::Preload { bd, .. } = p.ex[2] else {
            panic!("preload")
        };
        assert!(bd.addr.is_garbage(14));
        let Command::Compute { flip, a, .. } = p.ex[3] else {
            panic!("compute")
        };
        assert!(!flip && a.addr == LocalAddr::sp(8192 + 7) && a.rows == 5);
        // output: 2 images x 3 rows x 2 och blocks
        assert_eq!(p.st.len(), 12);
        let Command::Mvout { dram, op } = p.st[1] else {
            panic!("mvout")
        };
        assert_eq!(
            (dram, op.addr, op.cols),
            (0x2000 + 16, LocalAddr::acc(512 + 30), 4)
        );
    }

    #[test]
    fn illegal_conv_descriptors_are_refused() {
        let e = env();
        let kind = |d: &LoopConvDesc, m: &LoopConv, v: &ExecView| {
            check_conv(&e, d, m, v, 0).err().map(|x| x.0)
        };
        let (d, m, v) = (conv_desc(), conv_mode(), conv_view());
        assert_eq!(kind(&d, &m, &v), None);
        for bad_mode in [
            LoopConv {
                trans_weight_1203: true,
                trans_weight_0132: true,
                ..m
            },
            LoopConv {
                trans_input_3120: true,
                trans_weight_0132: true,
                ..m
            },
            LoopConv {
                dw: true,
                trans_weight_0132: true,
                ..m
            },
            LoopConv {
                downsample: true,
                ..m
            },
            LoopConv {
                trans_output_1203: true,
                no_pool: false,
                ..m
            },
            LoopConv { activation: 2, ..m },
            LoopConv { a_spad_id: 3, ..m },
        ] {
            assert_eq!(
                kind(&d, &bad_mode, &v),
                Some(ErrorKind::BadLoop),
                "{bad_mode:?}"
            );
        }
        // max_pixels_per_row is a layout hint: accepted, one pixel per row
        let wide = LoopConv {
            max_pixels_per_row: 3,
            ..m
        };
        assert_eq!(kind(&d, &wide, &v), None);
        // pooling fields must fit config_st's
        let pooled = LoopConv {
            no_pool: false,
            ..m
        };
        let pd = LoopConvDesc {
            pool_size: 3,
            pool_stride: 2,
            porows: 1,
            pocols: 2,
            pool_out_col_dim: 2,
            ..d
        };
        assert_eq!(kind(&pd, &pooled, &v), None);
        for bad_pool in [
            LoopConvDesc { pool_size: 4, ..pd },
            LoopConvDesc {
                pool_stride: 0,
                ..pd
            },
            LoopConvDesc { plpad: 4, ..pd },
            LoopConvDesc { porows: 0, ..pd },
        ] {
            assert_eq!(
                kind(&bad_pool, &pooled, &v),
                Some(ErrorKind::BadLoop),
                "{bad_pool:?}"
            );
        }
        // input dilation needs stride 1 and c_stride 2
        let dil = LoopConv {
            input_dilated: true,
            ..m
        };
        assert_eq!(kind(&d, &dil, &v), Some(ErrorKind::BadLoop));
        assert_eq!(kind(&d, &dil, &ExecView { c_stride: 2, ..v }), None);
        for bad_desc in [
            LoopConvDesc {
                kernel_dilation: 0,
                ..d
            },
            LoopConvDesc { kchs: 0, ..d },
            LoopConvDesc {
                lpad: 5,
                rpad: 3,
                ..d
            },
            LoopConvDesc { ocols: 200, ..d },
            LoopConvDesc { kchs: 1000, ..d },
        ] {
            assert_eq!(
                kind(&bad_desc, &m, &v),
                Some(ErrorKind::BadLoop),
                "{bad_desc:?}"
            );
        }
        let pend = ExecView {
            preload_pending: true,
            ..v
        };
        assert_eq!(kind(&d, &m, &pend), Some(ErrorKind::Pairing));
        for bad_view in [
            ExecView { a_stride: 2, ..v },
            ExecView {
                b_transpose: true,
                ..v
            },
            ExecView { st_stride: 21, ..v },
            ExecView { st_act: 1, ..v },
            ExecView { pooling: true, ..v },
        ] {
            assert_eq!(
                kind(&d, &m, &bad_view),
                Some(ErrorKind::BadLoop),
                "{bad_view:?}"
            );
        }
        // without an output, config_st does not matter
        let no_out = LoopConvDesc { output: 0, ..d };
        assert_eq!(kind(&no_out, &m, &ExecView { st_stride: 21, ..v }), None);
    }
}

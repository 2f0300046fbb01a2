//! The LOOP_WS command unroller shared by both engines (docs/accelerator.md section 6, spec 4.9): given a
//! complete descriptor, the double-buffer slot it occupies and the accumulator half in use, the exact list
//! of ordinary commands the loop FSM issues, and the legality rules a descriptor must meet. The spec model
//! executes the list in [`WsPlan::in_order`]; the RTL's sub-FSMs (rtl/gemmini_loop_matmul.sv) issue the same
//! commands per sub-FSM in the same order, interleaved by an arbiter only where no two commands touch the
//! same local rows, so the results are equal.

use super::ErrorKind;
use crate::config::HwConfig;
use crate::isa::{Command, ConfigLd, LocalAddr, LoopWs, LoopWsDesc, Operand, DATAFLOW_WS};

/// Sizes the unroller needs, from the hardware configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopEnv {
    pub dim: u32,
    pub sp_rows: u32,
    pub acc_rows: u32,
    /// Blocks of DIM int8 per DMA row (`MBL`).
    pub mbl: u32,
    /// Blocks of DIM int32 per DMA row (`MBLA`).
    pub mbla: u32,
}

impl LoopEnv {
    pub fn new(cfg: &HwConfig) -> LoopEnv {
        LoopEnv {
            dim: cfg.dim(),
            sp_rows: cfg.sp_rows(),
            acc_rows: cfg.acc_rows(),
            mbl: cfg.max_block_len(),
            mbla: cfg.max_block_len_acc(),
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
    if mode.act > 1 {
        return Err((
            ErrorKind::Unsupported,
            format!(
                "loop_ws act = {}: only 0 (none) and 1 (ReLU) are supported (no normalizer)",
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
    Ok(())
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
    if d.c != 0 {
        let (mb, eb, flags) = if mode.full_c {
            (1, 4, acc | LocalAddr::READ_FULL_BIT)
        } else {
            (env.mbl, 1, acc)
        };
        plan.st = c_grid(d.c, d.c_stride, eb, mb, flags)
            .moves(dim)
            .into_iter()
            .map(|(dram, op)| Command::Mvout { dram, op })
            .collect();
    }
    if mode.is_resadd {
        if d.a != 0 {
            plan.ld_a = mvins(0, &c_grid(d.a, d.a_stride, 1, env.mbl, acc), dim);
        }
        if d.b != 0 {
            let g = c_grid(d.b, d.b_stride, 1, env.mbl, acc | LocalAddr::ACCUMULATE_BIT);
            plan.ld_b = mvins(1, &g, dim);
        }
        return plan;
    }
    if d.d != 0 {
        let (mb, eb) = if mode.low_d {
            (env.mbl, 1)
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
        eb: 1,
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
        eb: 1,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::{DATAFLOW_OS, SCALE_ONE};

    fn env() -> LoopEnv {
        LoopEnv {
            dim: 16,
            sp_rows: 16384,
            acc_rows: 1024,
            mbl: 4,
            mbla: 1,
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
    }
}

//! Convolution schedules (3x3, stride 1, NHWC, input pre-padded, int32 bias) on the weight-stationary
//! dataflow, seen as a GEMM: rows are runs of up to DIM output pixels along a row, columns are output
//! channels, the reduction runs over the 9 taps times the input channels.
//!
//! Loop nest of every generated program: output-channel tiles (weights for the tile may be loaded once
//! here), then batch, output-row tiles and pixel tiles. Each output tile starts with the bias moved into
//! the accumulator (int32, repeated for every pixel by a zero DRAM stride); every tap accumulates onto it;
//! the tile is moved out after the last tap. With input reuse, the input window of a tile (its rows plus
//! the 2-pixel halo) is loaded once and every tap reads a shifted view of it; without, each tap's input
//! blocks are moved in right before use.

use super::code::{span, Code, Expr, MIN_HELPER};
use crate::sim::config::HwConfig;
use anyhow::{bail, ensure};

/// One point of the convolution schedule space.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConvSchedule {
    /// Output rows per tile.
    pub tp: u32,
    /// Pixel blocks (DIM output pixels along a row) per tile.
    pub tq: u32,
    /// Output-channel blocks per tile.
    pub tk: u32,
    /// Load the weights of an output-channel tile once, before the batch/row/pixel loops.
    pub weights_resident: bool,
    /// Load each tile's input window once and read every tap from it.
    pub input_reuse: bool,
    /// Ping-pong buffers for the input and (non-resident) weight loads, and for the output tile.
    pub double_buffer_in: bool,
    pub double_buffer_w: bool,
    pub double_buffer_c: bool,
    /// DIM blocks per mvin: input channels (with input reuse) and output channels of the weights.
    pub in_width: u32,
    pub w_width: u32,
    /// Stream the next tile's input window into the other half of the input buffer a few mvins per
    /// (tap, channel block) step of the current tile, instead of loading it in a burst at the next tile's
    /// top (needs `input_reuse` and `double_buffer_in`). Absent from older records: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prefetch_in: bool,
    /// Move a finished tile out a few mvouts per (tap, channel block) step of the next tile, instead of
    /// in a burst that fills the store queue and blocks the hart (needs `double_buffer_c`). Absent from
    /// older records: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interleave_store: bool,
}

/// Channel blocks per mvin of the input window.
fn iw_of(s: &ConvSchedule) -> i64 {
    i64::from(s.in_width)
}

struct Sizes {
    dim: u64,
    cb: u64,
    kb: u64,
    qb: u64,
    /// Pixels per row of the input window (tile pixels + 2, at most q + 2).
    win_w: u64,
    /// Rows of one channel block of the input window.
    win_rows: u64,
    in_size: u64,
    w_size: u64,
    c_size: u64,
    in0: u64,
    w0: u64,
}

impl ConvSchedule {
    /// One DIM-pixel x DIM-channel output tile at a time; input and weight blocks moved in for every tap.
    pub fn naive() -> ConvSchedule {
        ConvSchedule {
            tp: 1,
            tq: 1,
            tk: 1,
            weights_resident: false,
            input_reuse: false,
            double_buffer_in: false,
            double_buffer_w: false,
            double_buffer_c: false,
            in_width: 1,
            w_width: 1,
            prefetch_in: false,
            interleave_store: false,
        }
    }

    fn sizes(
        &self,
        hw: &HwConfig,
        batch: u64,
        p: u64,
        q: u64,
        c: u64,
        k: u64,
    ) -> anyhow::Result<Sizes> {
        let dim = u64::from(hw.dim());
        ensure!(
            batch > 0 && p > 0 && q > 0 && c > 0 && k > 0,
            "empty convolution"
        );
        let (cb, kb, qb) = (c.div_ceil(dim), k.div_ceil(dim), q.div_ceil(dim));
        for (name, t, total) in [("tp", self.tp, p), ("tq", self.tq, qb), ("tk", self.tk, kb)] {
            ensure!(
                t >= 1 && u64::from(t) <= total,
                "{name} = {t} is outside 1..={total}"
            );
        }
        let mbl = hw.max_block_len();
        for (name, w) in [("in_width", self.in_width), ("w_width", self.w_width)] {
            ensure!(
                (1..=mbl).contains(&w),
                "{name} = {w} blocks per mvin is outside 1..={mbl}"
            );
        }
        ensure!(
            !self.prefetch_in || (self.input_reuse && self.double_buffer_in),
            "prefetch_in streams the next input window into the other half of a double-buffered input \
             window: it needs input_reuse and double_buffer_in"
        );
        ensure!(
            !self.interleave_store || self.double_buffer_c,
            "interleave_store moves a tile out while the next one accumulates in the other half of the \
             accumulator: it needs double_buffer_c"
        );
        let (tp, tq, tk) = (u64::from(self.tp), u64::from(self.tq), u64::from(self.tk));
        let win_w = (tq * dim + 2).min(q + 2);
        let win_rows = (tp + 2) * win_w;
        let in_size = if self.input_reuse {
            cb * win_rows
        } else {
            tp * tq * dim
        };
        let w_size = if self.weights_resident {
            9 * cb * tk * dim
        } else {
            tk * dim
        };
        let dbl = |on: bool| if on { 2 } else { 1 };
        let in_total = in_size * dbl(self.double_buffer_in);
        let w_total = w_size * dbl(self.double_buffer_w && !self.weights_resident);
        let sp_rows = u64::from(hw.sp_rows());
        if in_total + w_total > sp_rows {
            bail!(
                "scratchpad overfull: the input needs {in_total} rows and the weights {w_total} rows, {} in \
                 all, but the scratchpad has {sp_rows} rows (tiles tp {tp} tq {tq} tk {tk})",
                in_total + w_total
            );
        }
        ensure!(
            win_rows <= 0xffff,
            "input window block stride {win_rows} above 65535 rows"
        );
        let c_size = tp * tq * tk * dim;
        let c_total = c_size * dbl(self.double_buffer_c);
        let acc_rows = u64::from(hw.acc_rows());
        if c_total > acc_rows {
            bail!(
                "accumulator overfull: the output tile needs {c_total} rows but the accumulator has \
                 {acc_rows} rows (tiles tp {tp} tq {tq} tk {tk})"
            );
        }
        // The weights go to their own banks when there is room: preload (B) and compute (A) reads of
        // one bank collide, and A wins.
        let bank = u64::from(hw.sp_bank_rows()).max(1);
        let aligned = in_total.next_multiple_of(bank);
        let w0 = if aligned + w_total <= sp_rows {
            aligned
        } else {
            sp_rows - w_total
        };
        Ok(Sizes {
            dim,
            cb,
            kb,
            qb,
            win_w,
            win_rows,
            in_size,
            w_size,
            c_size,
            in0: 0,
            w0,
        })
    }

    pub fn validate(
        &self,
        hw: &HwConfig,
        batch: u64,
        p: u64,
        q: u64,
        c: u64,
        k: u64,
    ) -> anyhow::Result<()> {
        self.sizes(hw, batch, p, q, c, k).map(|_| ())
    }

    /// Scratchpad and accumulator rows the schedule occupies.
    pub fn footprint(
        &self,
        hw: &HwConfig,
        batch: u64,
        p: u64,
        q: u64,
        c: u64,
        k: u64,
    ) -> Option<(u64, u64)> {
        let s = self.sizes(hw, batch, p, q, c, k).ok()?;
        let dbl = |on: bool| if on { 2 } else { 1 };
        Some((
            s.in_size * dbl(self.double_buffer_in)
                + s.w_size * dbl(self.double_buffer_w && !self.weights_resident),
            s.c_size * dbl(self.double_buffer_c),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn emit(
        &self,
        hw: &HwConfig,
        batch: u64,
        p: u64,
        q: u64,
        c: u64,
        k: u64,
        signature: &str,
    ) -> anyhow::Result<String> {
        let z = self.sizes(hw, batch, p, q, c, k)?;
        let dim = z.dim as i64;
        let (tp, tq, tk) = (u64::from(self.tp), u64::from(self.tq), u64::from(self.tk));
        let q_tiles = z.qb.div_ceil(tq);
        let mut o = Code::new();
        o.open(signature);
        o.line("config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);");
        let in_bs = if self.input_reuse { z.win_rows } else { z.dim };
        o.line(format!("config_ld({c}, MVIN_SCALE_IDENTITY, {in_bs}, 0);"));
        o.line(format!(
            "config_ld({k}, MVIN_SCALE_IDENTITY, {}, 1);",
            z.dim
        ));
        o.line(format!("config_ld(0, MVIN_SCALE_IDENTITY, {}, 2);", z.dim));
        o.line(format!("config_st({k});"));
        o.line("const uint32_t acc = 1u << 31, accum = 1u << 30;");
        let w_db = self.double_buffer_w && !self.weights_resident;
        if self.double_buffer_in {
            o.line(format!("uint32_t in_cur = {};", z.in0 + z.in_size));
        }
        if w_db {
            o.line(format!("uint32_t w_cur = {};", z.w0 + z.w_size));
        }
        if self.double_buffer_c {
            o.line(format!("uint32_t c_cur = {};", z.c_size));
        }
        let in_base = if self.double_buffer_in {
            Expr::var("in_cur")
        } else {
            Expr::Const(z.in0 as i64)
        };
        let w_base = if w_db {
            Expr::var("w_cur")
        } else {
            Expr::Const(z.w0 as i64)
        };
        let c_base = if self.double_buffer_c {
            Expr::var("c_cur")
        } else {
            Expr::Const(0)
        };
        // Stream state. Prefetch: the next tile's window (batch, origin, rows, pixels) and the position of
        // the next mvin; `pf_have` says the current tile's window was streamed in by the tile before.
        if self.prefetch_in {
            o.line("int pf_have = 0, pf_b = 0, pf_p0 = 0, pf_q0 = 0, pf_ny = 0, pf_wpx = 0;");
            o.line("int pf_y = 0, pf_x = 0, pf_cb = 0;");
            o.line("uint32_t pf_dst = 0;");
        }
        // Store stream: the finished tile still to move out (origin, extents, accumulator half) and the
        // position of the next mvout; st_y == st_np when nothing is pending.
        if self.interleave_store {
            o.line(
                "int st_b = 0, st_p0 = 0, st_q0 = 0, st_k0 = 0, st_np = 0, st_nq = 0, st_nk = 0;",
            );
            o.line("int st_y = 0, st_qb = 0, st_kb = 0;");
            o.line("uint32_t st_c = 0;");
        }
        let cw = i64::from(hw.max_block_len()).min(tk as i64);
        // One mvin of the prefetch stream, then the step to the next (channel group, pixel chunk, row).
        let pf_step = |o: &mut Code| {
            let nblk = if z.cb as i64 % iw_of(self) == 0 {
                Expr::Const(iw_of(self))
            } else {
                Expr::Const(iw_of(self)).min(&Expr::Const(z.cb as i64).sub(&Expr::var("pf_cb")))
            };
            o.line(format!(
                "mvin(&inp[pf_b][pf_p0 + pf_y][pf_q0 + pf_x][pf_cb * {dim}], pf_dst + pf_cb * {} + pf_y * {} + \
                 pf_x, {}, gf_min({dim}, pf_wpx - pf_x));",
                z.win_rows,
                z.win_w,
                span(&Expr::var("pf_cb"), &nblk, z.dim, c).c()
            ));
            o.line(format!(
                "pf_cb += {}; if (pf_cb >= {}) {{ pf_cb = 0; pf_x += {dim}; if (pf_x >= pf_wpx) {{ pf_x = 0; \
                 pf_y++; }} }}",
                iw_of(self),
                z.cb
            ));
        };
        // One mvout of the store stream (up to `cw` output-channel blocks), then the step onwards.
        let st_step = |o: &mut Code| {
            let px = if q % z.dim == 0 {
                format!("{dim}")
            } else {
                format!("gf_min({dim}, {q} - (st_q0 + st_qb * {dim}))")
            };
            let nblk = Expr::Const(cw).min(&Expr::var("st_nk").sub(&Expr::var("st_kb")));
            o.line(format!(
                "mvout(&output[st_b][st_p0 + st_y][st_q0 + st_qb * {dim}][(st_k0 + st_kb) * {dim}], acc | (st_c + \
                 ((st_y * {tq} + st_qb) * {tk} + st_kb) * {dim}), {}, {px});",
                span(
                    &Expr::var("st_k0").add(&Expr::var("st_kb")),
                    &nblk,
                    z.dim,
                    k
                )
                .c()
            ));
            o.line(format!(
                "st_kb += {cw}; if (st_kb >= st_nk) {{ st_kb = 0; st_qb++; if (st_qb >= st_nq) {{ st_qb = 0; \
                 st_y++; }} }}"
            ));
        };
        // Steps per (tap, channel block): enough that a full tile's stream ends within the next tile's
        // 9 * CB steps; a flush after the taps moves whatever a ragged tile left.
        let steps = 9 * z.cb;
        let pf_per = ((tp + 2) * z.win_w.div_ceil(z.dim) * z.cb.div_ceil(u64::from(self.in_width)))
            .div_ceil(steps);
        let st_per = (tp * tq * tk.div_ceil(cw as u64)).div_ceil(steps);
        // Output-channel tiles.
        let (nk, k0) = o.open_tile_loop("kt", "nk", tk, z.kb, tk as i64);
        let ww = i64::from(self.w_width);
        let w_cols = |kb: &Expr, n: &Expr| -> Expr {
            let nblk = if n.as_const().is_some_and(|v| v % ww == 0) {
                Expr::Const(ww)
            } else {
                Expr::Const(ww).min(&n.sub(kb))
            };
            span(&k0.add(kb), &nblk, z.dim, k)
        };
        let w_rows = |cbv: &Expr| span(cbv, &Expr::Const(1), z.dim, c);
        if self.weights_resident {
            // Layout: ((tap * CB + cb) * tk + kb) * DIM; output-channel blocks are DIM rows apart.
            o.open("for (int rs = 0; rs < 9; rs++)");
            o.open(format!("for (int cb = 0; cb < {}; cb++)", z.cb));
            o.open(format!("for (int kb = 0; kb < {}; kb += {ww})", nk.c()));
            let addr = w_base.add(
                &Expr::var("rs")
                    .muli(z.cb as i64)
                    .add(&Expr::var("cb"))
                    .muli(tk as i64)
                    .add(&Expr::var("kb"))
                    .muli(dim),
            );
            o.line(format!(
                "mvin2(&weights[rs / 3][rs % 3][{}][{}], {}, {}, {});",
                Expr::var("cb").muli(dim).c(),
                k0.add(&Expr::var("kb")).muli(dim).c(),
                addr.c(),
                w_cols(&Expr::var("kb"), &nk).c(),
                w_rows(&Expr::var("cb")).c()
            ));
            o.close();
            o.close();
            o.close();
        }
        o.open(format!("for (int b = 0; b < {batch}; b++)"));
        let (np, p0) = o.open_tile_loop("pt", "np", tp, p, tp as i64);
        let (nq, q0) = o.open_tile_loop("qt", "nq", tq, z.qb, (tq * z.dim) as i64);
        // Pixels in pixel block `qb` of the tile.
        let px = |qbv: &Expr| -> Expr {
            if q % z.dim == 0 {
                Expr::Const(dim)
            } else {
                Expr::Const(dim).min(&Expr::Const(q as i64).sub(&q0.add(&qbv.muli(dim))))
            }
        };
        if self.double_buffer_c {
            o.line(format!("c_cur = c_cur == 0 ? {} : 0;", z.c_size));
        }
        // C block (y, qb, kb) at ((y * tq + qb) * tk + kb) * DIM.
        let c_addr = |y: &Expr, qbv: &Expr, kb: &Expr| -> Expr {
            c_base.add(&y.muli(tq as i64).add(qbv).muli(tk as i64).add(kb).muli(dim))
        };
        // Bias: int32 into the accumulator, the same row for every pixel (DRAM stride 0).
        o.open(format!("for (int y = 0; y < {}; y++)", np.c()));
        o.open(format!("for (int qb = 0; qb < {}; qb++)", nq.c()));
        o.open(format!("for (int kb = 0; kb < {}; kb++)", nk.c()));
        o.line(format!(
            "mvin3(&bias[0][{}], acc | {}, {}, {});",
            k0.add(&Expr::var("kb")).muli(dim).c(),
            c_addr(&Expr::var("y"), &Expr::var("qb"), &Expr::var("kb")).c(),
            span(&k0.add(&Expr::var("kb")), &Expr::Const(1), z.dim, k).c(),
            px(&Expr::var("qb")).c()
        ));
        o.close();
        o.close();
        o.close();
        let iw = i64::from(self.in_width);
        if self.input_reuse {
            if self.double_buffer_in {
                o.line(format!(
                    "in_cur = in_cur == {0} ? {1} : {0};",
                    z.in0,
                    z.in0 + z.in_size
                ));
            }
            // Window pixels of this tile: its pixels plus the 2-pixel halo.
            let wpx = if q_tiles == 1 {
                Expr::Const((q + 2) as i64)
            } else {
                Expr::var(format!(
                    "gf_min({}, {} - {})",
                    tq * z.dim + 2,
                    q + 2,
                    q0.c()
                ))
            };
            if self.prefetch_in {
                o.open("if (!pf_have)");
            }
            o.open(format!("for (int y = 0; y < {}; y++)", np.addi(2).c()));
            o.open(format!("for (int x = 0; x < {}; x += {dim})", wpx.c()));
            o.open(format!("for (int cb = 0; cb < {}; cb += {iw})", z.cb));
            let nblk = if z.cb as i64 % iw == 0 {
                Expr::Const(iw)
            } else {
                Expr::Const(iw).min(&Expr::Const(z.cb as i64).sub(&Expr::var("cb")))
            };
            let cols = span(&Expr::var("cb"), &nblk, z.dim, c);
            let rows = Expr::Const(dim).min(&wpx.sub(&Expr::var("x")));
            let addr = in_base.add(
                &Expr::var("cb")
                    .muli(z.win_rows as i64)
                    .add(&Expr::var("y").muli(z.win_w as i64))
                    .add(&Expr::var("x")),
            );
            o.line(format!(
                "mvin(&inp[b][{}][{}][{}], {}, {}, {});",
                p0.add(&Expr::var("y")).c(),
                q0.add(&Expr::var("x")).c(),
                Expr::var("cb").muli(dim).c(),
                addr.c(),
                cols.c(),
                rows.c()
            ));
            o.close();
            o.close();
            o.close();
            if self.prefetch_in {
                o.close();
                // The tile after this one in loop order (pixel tiles, then rows, batch, channel tiles).
                let (kts, pts, qts) = (z.kb.div_ceil(tk), p.div_ceil(tp), q_tiles);
                o.line("int n_qt = qt + 1, n_pt = pt, n_b = b, n_kt = kt;");
                o.line(format!(
                    "if (n_qt == {qts}) {{ n_qt = 0; n_pt++; if (n_pt == {pts}) {{ n_pt = 0; n_b++; if (n_b == \
                     {batch}) {{ n_b = 0; n_kt++; }} }} }}"
                ));
                o.line(format!("pf_have = n_kt < {kts};"));
                o.line(format!(
                    "pf_b = n_b; pf_p0 = n_pt * {tp}; pf_q0 = n_qt * {};",
                    tq * z.dim
                ));
                o.line(format!(
                    "pf_ny = pf_have ? gf_min({tp}, {p} - pf_p0) + 2 : 0;"
                ));
                o.line(format!(
                    "pf_wpx = gf_min({}, {} - pf_q0);",
                    tq * z.dim + 2,
                    q + 2
                ));
                o.line("pf_y = 0; pf_x = 0; pf_cb = 0;");
                o.line(format!(
                    "pf_dst = in_cur == {0} ? {1} : {0};",
                    z.in0,
                    z.in0 + z.in_size
                ));
            }
        }
        // The taps and input-channel blocks.
        o.open("for (int rs = 0; rs < 9; rs++)");
        o.line("const int r = rs / 3, s = rs % 3;");
        o.open(format!("for (int cb = 0; cb < {}; cb++)", z.cb));
        o.line(format!("const int kc = {};", w_rows(&Expr::var("cb")).c()));
        if self.prefetch_in {
            o.open(format!(
                "for (int u = 0; u < {pf_per} && pf_y < pf_ny; u++)"
            ));
            pf_step(&mut o);
            o.close();
        }
        if self.interleave_store {
            o.open(format!(
                "for (int u = 0; u < {st_per} && st_y < st_np; u++)"
            ));
            st_step(&mut o);
            o.close();
        }
        if !self.input_reuse {
            if self.double_buffer_in {
                o.line(format!(
                    "in_cur = in_cur == {0} ? {1} : {0};",
                    z.in0,
                    z.in0 + z.in_size
                ));
            }
            o.open(format!("for (int y = 0; y < {}; y++)", np.c()));
            o.open(format!("for (int qb = 0; qb < {}; qb++)", nq.c()));
            let addr = in_base.add(
                &Expr::var("y")
                    .muli(tq as i64)
                    .add(&Expr::var("qb"))
                    .muli(dim),
            );
            o.line(format!(
                "mvin(&inp[b][{}][{}][{}], {}, kc, {});",
                p0.add(&Expr::var("y")).add(&Expr::var("r")).c(),
                q0.add(&Expr::var("qb").muli(dim)).add(&Expr::var("s")).c(),
                Expr::var("cb").muli(dim).c(),
                addr.c(),
                px(&Expr::var("qb")).c()
            ));
            o.close();
            o.close();
        }
        if !self.weights_resident {
            if w_db {
                o.line(format!(
                    "w_cur = w_cur == {0} ? {1} : {0};",
                    z.w0,
                    z.w0 + z.w_size
                ));
            }
            o.open(format!("for (int kb = 0; kb < {}; kb += {ww})", nk.c()));
            o.line(format!(
                "mvin2(&weights[r][s][{}][{}], {}, {}, kc);",
                Expr::var("cb").muli(dim).c(),
                k0.add(&Expr::var("kb")).muli(dim).c(),
                w_base.add(&Expr::var("kb").muli(dim)).c(),
                w_cols(&Expr::var("kb"), &nk).c()
            ));
            o.close();
        }
        o.open(format!("for (int kb = 0; kb < {}; kb++)", nk.c()));
        let w_addr = if self.weights_resident {
            w_base.add(
                &Expr::var("rs")
                    .muli(z.cb as i64)
                    .add(&Expr::var("cb"))
                    .muli(tk as i64)
                    .add(&Expr::var("kb"))
                    .muli(dim),
            )
        } else {
            w_base.add(&Expr::var("kb").muli(dim))
        };
        o.line(format!("const uint32_t w_sp = {};", w_addr.c()));
        o.line(format!(
            "const int nc = {};",
            span(&k0.add(&Expr::var("kb")), &Expr::Const(1), z.dim, k).c()
        ));
        // The input block of output row y, pixel block qb for this tap and channel block.
        // The input block of output row y, pixel block qb for this tap and channel block: an offset from
        // the tap's base `a_rc`, so the hart does little arithmetic per block.
        let a_rc = if self.input_reuse {
            in_base.add(
                &Expr::var("cb")
                    .muli(z.win_rows as i64)
                    .add(&Expr::var("r").muli(z.win_w as i64))
                    .add(&Expr::var("s")),
            )
        } else {
            in_base.clone()
        };
        o.line(format!("const uint32_t a_rc = {};", a_rc.c()));
        o.line(format!(
            "const uint32_t c_kb = acc | accum | {};",
            c_base.add(&Expr::var("kb").muli(dim)).c()
        ));
        let a_addr = |y: &Expr, qbv: &Expr| -> Expr {
            if self.input_reuse {
                Expr::var("a_rc").add(&y.muli(z.win_w as i64).add(&qbv.muli(dim)))
            } else {
                Expr::var("a_rc").add(&y.muli(tq as i64).add(qbv).muli(dim))
            }
        };
        let c_off = |y: &Expr, qbv: &Expr| -> Expr {
            Expr::var("c_kb").add(&y.muli(tq as i64).add(qbv).muli(tk as i64 * dim))
        };
        // One block: the first of a weight block preloads the weights, the rest reuse them.
        let body = |o: &mut Code, y: &Expr, qbv: &Expr, first: bool| {
            let rows = px(qbv).c();
            let a = a_addr(y, qbv).c();
            let cc = c_off(y, qbv).c();
            if first {
                o.line(format!("preload(w_sp, {cc}, nc, kc, nc, {rows});"));
                o.line(format!(
                    "compute_preloaded({a}, GARBAGE_ADDR, kc, {rows}, {dim}, {dim});"
                ));
            } else {
                o.line(format!(
                    "preload(GARBAGE_ADDR, {cc}, {dim}, {dim}, nc, {rows});"
                ));
                o.line(format!(
                    "compute_accumulated({a}, GARBAGE_ADDR, kc, {rows}, {dim}, {dim});"
                ));
            }
        };
        // A row of pixel blocks: unrolled when the count is known (at most 4 blocks here is typical).
        let row = |o: &mut Code, y: &Expr, first_row: bool| {
            if let Some(n) = nq.as_const().filter(|&n| n <= 8) {
                for qb in 0..n {
                    body(o, y, &Expr::Const(qb), first_row && qb == 0);
                }
            } else {
                let from = if first_row {
                    body(o, y, &Expr::Const(0), true);
                    1
                } else {
                    0
                };
                o.open(format!("for (int qb = {from}; qb < {}; qb++)", nq.c()));
                body(o, y, &Expr::var("qb"), false);
                o.close();
            }
        };
        row(&mut o, &Expr::Const(0), true);
        if np.as_const() != Some(1) {
            o.open(format!("for (int y = 1; y < {}; y++)", np.c()));
            row(&mut o, &Expr::var("y"), false);
            o.close();
        }
        o.close(); // kb
        o.close(); // cb
        o.close(); // rs
        if self.prefetch_in {
            o.open("while (pf_y < pf_ny)");
            pf_step(&mut o);
            o.close();
        }
        if self.interleave_store {
            // The previous tile is out; this one becomes the pending tile of the next tile's steps.
            o.open("while (st_y < st_np)");
            st_step(&mut o);
            o.close();
            o.line(format!(
                "st_b = b; st_p0 = {}; st_q0 = {}; st_k0 = {}; st_np = {}; st_nq = {}; st_nk = {}; st_c = {};",
                p0.c(),
                q0.c(),
                k0.c(),
                np.c(),
                nq.c(),
                nk.c(),
                c_base.c()
            ));
            o.line("st_y = 0; st_qb = 0; st_kb = 0;");
        }
        // Move the finished tile out (burst): up to MAX_BLOCK_LEN output-channel blocks per mvout.
        if !self.interleave_store {
            o.open(format!("for (int y = 0; y < {}; y++)", np.c()));
            o.open(format!("for (int qb = 0; qb < {}; qb++)", nq.c()));
            o.open(format!("for (int kb = 0; kb < {}; kb += {cw})", nk.c()));
            let nblk = if nk.as_const().is_some_and(|v| v % cw == 0) {
                Expr::Const(cw)
            } else {
                Expr::Const(cw).min(&nk.sub(&Expr::var("kb")))
            };
            o.line(format!(
                "mvout(&output[b][{}][{}][{}], acc | {}, {}, {});",
                p0.add(&Expr::var("y")).c(),
                q0.add(&Expr::var("qb").muli(dim)).c(),
                k0.add(&Expr::var("kb")).muli(dim).c(),
                c_addr(&Expr::var("y"), &Expr::var("qb"), &Expr::var("kb")).c(),
                span(&k0.add(&Expr::var("kb")), &nblk, z.dim, k).c(),
                px(&Expr::var("qb")).c()
            ));
            o.close();
            o.close();
            o.close();
        }
        o.close(); // qt
        o.close(); // pt
        o.close(); // b
        o.close(); // kt
        if self.interleave_store {
            o.open("while (st_y < st_np)");
            st_step(&mut o);
            o.close();
        }
        o.line("fence();");
        o.close();
        let mut s = String::from(MIN_HELPER);
        s.push('\n');
        s.push_str(&o.finish());
        Ok(s)
    }
}

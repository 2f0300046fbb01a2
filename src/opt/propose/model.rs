//! The built-in proposer's cost model: an analytic prior of a schedule's cycles, corrected by the RTL
//! verdicts the search has already measured in this run.
//!
//! The prior (`baseline::gemm_cost` for GEMMs, [`conv_prior`] for convolutions) ranks whole families of
//! schedules cheaply but is wrong by 10-40% on some shapes, and wrong in ways that are shared by similar
//! schedules (the same tile shape, the same prefetch stream). So the model keeps the log-ratio of measured
//! to prior cycles of every measured schedule and corrects a prediction by a kernel-weighted mean of those
//! residuals, nearer schedules weighing more ([`distance`]), after a ridge-regularized linear fit of the
//! residuals on the schedule's decisions (what the prior misjudges everywhere, such as the gain of wider
//! transfers, is learnt once for all tile shapes). A measured schedule predicts itself almost
//! exactly; a schedule far from everything measured falls back to the prior. The RTL stays the judge: the
//! model only decides which candidates the proposer offers first.

use crate::bench::schedule::{ConvSchedule, Dim, GemmSchedule, Schedule};
use crate::bench::workload::{Kind, Workload};
use crate::sim::config::HwConfig;

/// Kernel width of the residual correction, in units of [`distance`].
const BANDWIDTH: f64 = 1.5;
/// Weight of the prior against the residuals (a pseudo-observation with residual 0): keeps one stray
/// measurement from dragging far-away predictions.
const SHRINK: f64 = 0.15;

/// Ridge penalty of the linear part's decision coefficients (in units of squared log-residual per
/// feature). Strong: fitted on the few neighbourhoods a run has measured, the coefficients extrapolated
/// badly (fitted on the first 30 points of 21 recorded GEMM runs, the model's top pick among the later
/// points was 10% slower than their best, geometric mean; 2.5% with this penalty and a free intercept).
const RIDGE: f64 = 100.0;
/// Ridge penalty of the intercept: nearly free, since how far the prior is off overall (often 15-20% on
/// the fast schedules) is what every measurement says the same way.
const RIDGE_INTERCEPT: f64 = 0.01;

/// A prior corrected by measured verdicts (see the module documentation).
#[derive(Debug, Clone)]
pub struct CostModel<'a> {
    hw: &'a HwConfig,
    w: &'a Workload,
    /// Coefficients of the linear part of the log-residual over [`features`] (empty: none fitted).
    beta: Vec<f64>,
    /// (schedule, ln(measured / prior) minus the linear part).
    points: Vec<(Schedule, f64)>,
}

fn b(x: bool) -> f64 {
    if x {
        1.0
    } else {
        0.0
    }
}

fn lg(x: u32) -> f64 {
    f64::from(x.max(1)).log2()
}

/// The decisions of a schedule as numbers, for the linear part of the correction: what the prior gets
/// wrong the same way everywhere (say, how much wider transfers help) is learnt once for all tile shapes.
fn features(s: &Schedule) -> Vec<f64> {
    match s {
        Schedule::Gemm(g) => {
            let mut f = vec![
                1.0,
                lg(g.ti),
                lg(g.tj),
                lg(g.tk),
                f64::from(g.a_level),
                f64::from(g.b_level),
                b(g.double_buffer_a),
                b(g.double_buffer_b),
                b(g.double_buffer_c),
                lg(g.a_width),
                lg(g.b_width),
                lg(g.c_width),
                b(g.skip_redundant),
                lg(g.unroll),
                b(g.spread),
                b(g.inner_k_outer),
                b(g.interleave_store),
                b(g.prefetch_a),
                b(g.prefetch_b),
                b(g.stream_first),
                b(g.bank_halves),
            ];
            for o in &crate::bench::schedule::Order::ALL[1..] {
                f.push(b(g.order == *o));
            }
            f
        }
        Schedule::Conv(c) => vec![
            1.0,
            lg(c.tp),
            lg(c.tq),
            lg(c.tk),
            b(c.weights_resident),
            b(c.input_reuse),
            b(c.double_buffer_in),
            b(c.double_buffer_w),
            b(c.double_buffer_c),
            lg(c.in_width),
            lg(c.w_width),
            b(c.prefetch_in),
            b(c.interleave_store),
        ],
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Ridge regression: argmin |X beta - y|^2 + RIDGE_INTERCEPT beta_0^2 + RIDGE |beta_1..|^2 (feature 0 is
/// the constant 1), by Gaussian elimination with partial pivoting. None when singular.
fn ridge(x: &[Vec<f64>], y: &[f64]) -> Option<Vec<f64>> {
    let n = x.first()?.len();
    let mut a = vec![vec![0.0; n + 1]; n];
    for (row, &t) in x.iter().zip(y) {
        for i in 0..n {
            for j in 0..n {
                a[i][j] += row[i] * row[j];
            }
            a[i][n] += row[i] * t;
        }
    }
    for (i, r) in a.iter_mut().enumerate() {
        r[i] += if i == 0 { RIDGE_INTERCEPT } else { RIDGE };
    }
    for col in 0..n {
        let piv = (col..n).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))?;
        if a[piv][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, piv);
        let pivot = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot[col];
                if f != 0.0 {
                    for (x, p) in row[col..].iter_mut().zip(&pivot[col..]) {
                        *x -= f * p;
                    }
                }
            }
        }
    }
    Some((0..n).map(|i| a[i][n] / a[i][i]).collect())
}

/// The analytic estimate of a schedule's cycles (no measurement); infinite when it does not apply.
pub fn prior(hw: &HwConfig, w: &Workload, s: &Schedule) -> f64 {
    match (s, w.kind) {
        (Schedule::Gemm(g), Kind::Gemm { m, n, k }) => {
            crate::bench::baseline::gemm_cost(hw, g, m, n, k)
                + gemm_dma_overhead(hw, g, m, n, k)
                + gemm_hw_terms(hw, g, m, n, k).cycles()
        }
        (
            Schedule::Conv(c),
            Kind::Conv {
                batch,
                p,
                q,
                c: ch,
                k,
            },
        ) => conv_prior(hw, c, batch, p, q, ch, k),
        _ => f64::INFINITY,
    }
}

/// The DMA's cost per transfer instruction, which `gemm_cost` leaves out: the load and store units
/// spend about 20 cycles per mvin or mvout beyond its bytes (measured: 12544x64x256 with 16x4x16 tiles ran
/// 17% faster moving 4 blocks per mvin instead of 1, about 20 cycles for each of the 9,408 mvins saved).
/// Half of it is taken as exposed: the streams overlap computation in part.
/// DIM x DIM blocks of each dimension of an m x n x k GEMM.
fn gemm_blocks(hw: &HwConfig, m: u64, n: u64, k: u64) -> impl Fn(Dim) -> u64 + Copy {
    let dim = u64::from(hw.dim());
    let (mb, nb, kb) = (m.div_ceil(dim), n.div_ceil(dim), k.div_ceil(dim));
    move |d: Dim| match d {
        Dim::I => mb,
        Dim::J => nb,
        Dim::K => kb,
    }
}

fn gemm_dma_overhead(hw: &HwConfig, s: &GemmSchedule, m: u64, n: u64, k: u64) -> f64 {
    let blocks = gemm_blocks(hw, m, n, k);
    let (mb, nb) = (blocks(Dim::I), blocks(Dim::J));
    let tiles = |d: Dim| blocks(d).div_ceil(s.tile(d));
    // Block loads of an operand: its buffer (`extent_at` blocks of each of its dimensions) times its
    // refills (`GemmSchedule::refills`).
    let block_loads = |level: u8, dims: [Dim; 2]| -> u64 {
        let ext = |d: Dim| s.extent_at(level, d, blocks(d));
        s.refills(level, dims, tiles) * ext(dims[0]) * ext(dims[1])
    };
    let per = |n_blocks: u64, width: u32| n_blocks.div_ceil(u64::from(width.max(1))) as f64;
    let mvins = per(block_loads(s.a_level, [Dim::I, Dim::K]), s.a_width)
        + per(block_loads(s.b_level, [Dim::K, Dim::J]), s.b_width);
    let mvouts = per(mb * nb, s.c_width);
    (mvins + mvouts) * 20.0 * 0.5
}

/// What `gemm_cost` (which also picks the hand schedules, so it stays as it is) leaves out of a GEMM
/// schedule's cycles, in hardware units; [`GemmHwTerms::cycles`] weighs them. Measured on the RTL's
/// counters (docs/schedules.md, "What still separates..."):
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GemmHwTerms {
    /// Store-request time beyond the 6 bytes per cycle `gemm_cost` assumes: every output row of an
    /// mvout is one write request of its width, about 0.8 + 2.7 cycles per block (one block 3.5, two
    /// 6.2, four 11.6), so one-block mvouts cost 3.5 cycles per 16 bytes instead of 2.7.
    pub store_excess: f64,
    /// Load time of the panels a double buffer receives in a burst (no prefetch stream) beyond what the
    /// execute queue hides (8 computations): the buffer's other half helps only that far.
    pub db_burst: f64,
    /// The hart's row-block loop steps: one compare and taken branch per unrolled body, and per block
    /// of a tail the generator could not write out (the tile's row-block count is not a constant).
    pub hart_loop: f64,
    /// Blocks issued from bodies unrolled past 4 (blocks x (unroll - 4)): longer bodies cost the hart
    /// more per block (16 x 2 x 32 on 512^3: 609,074 cycles with unroll 8, 554,273 with 4).
    pub long_body: f64,
    /// Blocks computed while the interleaved store stream runs (the hart checks the stream every block
    /// step; on 512^3, whose output is small, 16 x 2 x 32 with B at depth 2 runs 574,458 cycles
    /// without the stream and 609,074 with it at unroll 8).
    pub store_stream: f64,
    /// Store-request time of output tiles moved out in a burst (no store stream) beyond what the
    /// execute queue hides: the 4-entry store queue fills and blocks the hart (12544x256x64 at the hand
    /// tiles: 1,258,571 cycles without the stream, 889,253 with it).
    pub store_burst: f64,
    /// Load time, beyond what the execute queue hides, of the run's first panels moved in by a burst
    /// before any computation (an operand at depth 0, or the first panel of a depth-1 prefetch stream):
    /// `gemm_cost` counts 0.7 of a depth-0 burst and 0.05 of a prefetched one, but nothing computes
    /// until nearly all of it has arrived (784x1024x256 with all of A, 200 KB, at depth 0: 22,759 idle
    /// cycles of the array). Zero with `stream_first`.
    pub first_burst: f64,
    /// With `stream_first`: what `gemm_cost` charged for those first panels, which the stream takes back
    /// (zero without it).
    pub first_charged: f64,
    /// With `stream_first`: weight-block steps of the outermost loop's first iteration, each of which
    /// calls the stream's issue function (zero without it; on 512^3 with 8-row-block tiles the calls cost
    /// more than the burst they hide: 553,970 cycles plain, 555,979 streamed).
    pub first_stream: f64,
    /// Execute-unit reads of A (and B's weight preloads, 1/ti as often) denied by the load unit's row
    /// writes to the same single-ported bank (a load write wins, as in Gemmini's Scratchpad). Every row
    /// moved in after the first panel collides when the two halves of a double buffer share the bank
    /// being read, and about 0.75 of them when a panel is moved in by a burst that the computations
    /// chase through the same half (gemm_12544x256x64 at 7 x 4 x 2, 50,176 rows of A: halves in one
    /// bank 50,110 denied reads, prefetched or not; in two banks 38,455 in bursts, 382 prefetched).
    pub bank_conflicts: f64,
}

impl GemmHwTerms {
    /// Exposed cycles of the terms. The weights were fitted by least squares of the relative error on
    /// the measured search runs (`tests/opt/prior_score.rs`), with each paper GEMM's fit checked on
    /// the others, and rounded.
    pub fn cycles(&self) -> f64 {
        STORE_EXPOSED * self.store_excess
            + DB_BURST_EXPOSED * self.db_burst
            + HART_PER_LOOP * self.hart_loop
            + LONG_BODY * self.long_body
            + STORE_STREAM * self.store_stream
            + STORE_BURST * self.store_burst
            + FIRST_BURST_EXPOSED * self.first_burst
            - self.first_charged
            + FIRST_STREAM_PER_STEP * self.first_stream
            + self.bank_conflicts
    }
}

/// Fraction of the extra store-request time that slows the computations (the store unit competes with
/// the execute unit for the accumulator and blocks the hart on a full store queue).
const STORE_EXPOSED: f64 = 0.2;
/// Fraction of a double buffer's unstreamed panel burst exposed beyond what `gemm_cost` counts.
const DB_BURST_EXPOSED: f64 = 0.2;
/// Hart cycles per row-block loop step.
const HART_PER_LOOP: f64 = 0.75;
/// Hart cycles per block and unroll step beyond 4.
const LONG_BODY: f64 = 0.09;

/// Hart cycles per block computed under the store stream.
const STORE_STREAM: f64 = 2.25;

/// Fraction of a store burst's time beyond the execute queue that stalls the array.
const STORE_BURST: f64 = 0.8;

/// Fraction of a first-panel burst exposed beyond what `gemm_cost` counts (measured with and without
/// `stream_first` on the best schedules of 784x1024x256, 12544x64x256, 3136x128x512 and 512^3: the
/// stream saved 24.6 k, 6.1 k and 1.1 k cycles and cost 2.0 k).
const FIRST_BURST_EXPOSED: f64 = 0.5;
/// Hart cycles per weight-block step of the first-panel stream's first iteration.
const FIRST_STREAM_PER_STEP: f64 = 5.0;

/// The terms of [`GemmHwTerms`] for a schedule of an m x n x k GEMM.
pub fn gemm_hw_terms(hw: &HwConfig, s: &GemmSchedule, m: u64, n: u64, k: u64) -> GemmHwTerms {
    let dim = u64::from(hw.dim());
    let blocks_of = gemm_blocks(hw, m, n, k);
    let (mb, nb, kb) = (blocks_of(Dim::I), blocks_of(Dim::J), blocks_of(Dim::K));
    let tiles = |d: Dim| blocks_of(d).div_ceil(s.tile(d));
    // An mvout spans c_width blocks of the C region's J extent (whole N when the J loop runs inside
    // the K loop, else one J tile).
    let c_ext_j = if s.order.pos(Dim::J) > s.order.pos(Dim::K) {
        nb
    } else {
        s.tile(Dim::J)
    };
    let w = u64::from(s.c_width.max(1)).min(c_ext_j).max(1);
    let mvouts_per_row = tiles(Dim::J) * s.tile(Dim::J).min(nb).div_ceil(w);
    let req = |blk: f64| 0.8 + 2.7 * blk;
    let store_time =
        m as f64 * mvouts_per_row as f64 * req((nb as f64 / mvouts_per_row as f64).min(w as f64));
    let store_excess = (store_time - (m * n) as f64 / 6.0).max(0.0);

    let mut db_burst = 0.0;
    for (level, dims, db, pf) in [
        (s.a_level, [Dim::I, Dim::K], s.double_buffer_a, s.prefetch_a),
        (s.b_level, [Dim::K, Dim::J], s.double_buffer_b, s.prefetch_b),
    ] {
        if !db || pf {
            continue;
        }
        let ext = |d: Dim| s.extent_at(level, d, blocks_of(d));
        let times = s.refills(level, dims, tiles);
        let bytes = (ext(dims[0]) * ext(dims[1]) * dim * dim) as f64;
        db_burst += (bytes / 12.0 - 8.0 * dim as f64).max(0.0) * times as f64;
    }
    // The run's first panels: an operand at depth 0, or the first panel of a depth-1 prefetch stream.
    let (mut first, mut charged) = (0.0, 0.0);
    for (level, dims, db, pf) in [
        (s.a_level, [Dim::I, Dim::K], s.double_buffer_a, s.prefetch_a),
        (s.b_level, [Dim::K, Dim::J], s.double_buffer_b, s.prefetch_b),
    ] {
        if !(level == 0 || (level == 1 && pf)) {
            continue;
        }
        let ext = |d: Dim| s.extent_at(level, d, blocks_of(d));
        let burst =
            ((ext(dims[0]) * ext(dims[1]) * dim * dim) as f64 / 12.0 - 8.0 * dim as f64).max(0.0);
        first += burst;
        // As `gemm_cost` weighs one panel burst.
        charged += burst
            * if pf {
                0.05
            } else if db {
                0.5
            } else {
                0.7
            };
    }
    let bank = u64::from(hw.sp_bank_rows()).max(1);
    let mut bank_conflicts = 0.0;
    if let Some(bufs) = s.buffer_rows(hw, m, n, k) {
        for (((level, dims, db, pf), (h0, h1, size)), duty) in [
            (s.a_level, [Dim::I, Dim::K], s.double_buffer_a, s.prefetch_a),
            (s.b_level, [Dim::K, Dim::J], s.double_buffer_b, s.prefetch_b),
        ]
        .into_iter()
        .zip(bufs)
        .zip([1.0, 1.0 / f64::from(s.ti.max(1))])
        {
            let later = (s.refills(level, dims, tiles).saturating_sub(1) * size) as f64;
            if later == 0.0 || size == 0 {
                continue;
            }
            // Chance that a row written into one half and a row read from the other share a bank.
            let share = if db {
                let rows_in = |base: u64, b: u64| {
                    let (lo, hi) = (base.max(b * bank), (base + size).min((b + 1) * bank));
                    hi.saturating_sub(lo) as f64 / size as f64
                };
                (h0 / bank..=(h0 + size - 1) / bank)
                    .map(|b| rows_in(h0, b) * rows_in(h1, b))
                    .sum::<f64>()
            } else {
                0.0
            };
            let chase = if pf { 0.0 } else { 0.75 };
            bank_conflicts += later * share.max(chase) * duty;
        }
    }
    // Weight-block steps (one weight block and a tile of row blocks) in the outermost loop's first iteration.
    let steps = (tiles(Dim::I) * nb * kb) as f64 / tiles(s.order.0[0]) as f64;
    let blocks = (mb * nb * kb) as f64;
    let u = f64::from(s.unroll.max(1));
    // Row-block loop steps as the generator writes them: the first block of a tile is peeled, the rest
    // run in bodies of `unroll` blocks; with a constant row-block count (ti divides the I blocks) the
    // tail is written out, otherwise it is a loop of one block per step.
    let step_u = u64::from(s.unroll.max(1));
    let even = mb % s.tile(Dim::I) == 0;
    let loop_steps = |ni: u64| match ni.checked_sub(1) {
        None | Some(0) => 0,
        Some(rest) if even && step_u > 1 => rest / step_u,
        Some(rest) => rest / step_u + rest % step_u,
    };
    let full = mb / s.tile(Dim::I);
    let steps_per_weight = full * loop_steps(s.tile(Dim::I)) + loop_steps(mb % s.tile(Dim::I));
    GemmHwTerms {
        bank_conflicts,
        first_burst: if s.stream_first { 0.0 } else { first },
        first_charged: if s.stream_first { charged } else { 0.0 },
        first_stream: if s.stream_first { steps } else { 0.0 },
        store_excess,
        db_burst,
        hart_loop: (steps_per_weight * nb * kb) as f64,
        long_body: blocks * (u - 4.0).max(0.0),
        store_stream: if s.interleave_store { blocks } else { 0.0 },
        store_burst: if s.interleave_store {
            0.0
        } else {
            // One burst per accumulator region moved out: the I/J tiles of the loops outside K.
            let regions: u64 = [Dim::I, Dim::J]
                .into_iter()
                .filter(|&d| s.order.pos(d) < s.order.pos(Dim::K))
                .map(tiles)
                .product();
            let regions = regions as f64;
            let per = store_time / regions.max(1.0);
            (per - 8.0 * dim as f64).max(0.0) * regions
        },
    }
}

/// Estimated cycles of a convolution schedule: array time of every block (partial pixel blocks cost a
/// floor of hart time), the weight preloads, DRAM traffic, per-tile overhead and the load and store
/// bursts that the buffers do not hide.
pub fn conv_prior(
    hw: &HwConfig,
    s: &ConvSchedule,
    batch: u64,
    p: u64,
    q: u64,
    c: u64,
    k: u64,
) -> f64 {
    let dim = u64::from(hw.dim());
    let (cb, kb, qb) = (c.div_ceil(dim), k.div_ceil(dim), q.div_ceil(dim));
    let (tp, tq, tk) = (u64::from(s.tp), u64::from(s.tq), u64::from(s.tk));
    let (pt, qt, kt) = (p.div_ceil(tp), qb.div_ceil(tq), kb.div_ceil(tk));
    let tiles = (batch * pt * qt * kt) as f64;
    // Array time: every (pixel block, tap, channel block, output-channel block) is one computation of
    // its rows; the hart needs about 10 cycles to issue a preload + compute pair whatever the rows.
    let last = q - (qb - 1) * dim;
    let row_cycles = ((qb - 1) * dim + last.max(10)) as f64;
    let compute = (batch * p) as f64 * row_cycles * (9 * cb * kb) as f64;
    // A weight block is preloaded once per output tile and shared by its tp * tq pixel blocks.
    let preload = tiles * (9 * cb * tk) as f64 * dim as f64;
    let bpc = f64::from(hw.memory.bytes_per_cycle.max(1));
    let win = (tp + 2) * (tq * dim + 2).min(q + 2);
    let in_bytes = if s.input_reuse {
        tiles * (win * c) as f64
    } else {
        tiles * (9 * tp * tq * dim * c) as f64
    };
    let w_bytes = if s.weights_resident {
        (9 * c * k) as f64
    } else {
        tiles * (9 * c * tk * dim) as f64
    };
    let out_bytes = (batch * p * q * k) as f64 * 2.0; // int8 out plus the int32 bias rows, roughly
    let traffic = (in_bytes + w_bytes + out_bytes) / bpc;
    let per_tile = tiles * 4.0 * dim as f64;
    // Loads issued in a burst before the taps stall the array unless double-buffered.
    let in_burst = if s.input_reuse {
        (win * c) as f64 / 12.0
    } else {
        0.0
    };
    // A burst blocks the hart on a full queue while the execute unit drains its few queued blocks; the
    // streams spread the transfers over the next tile's steps, so little of them is exposed.
    let exposed_in = if s.prefetch_in {
        0.05
    } else if s.double_buffer_in {
        0.3
    } else {
        0.8
    };
    let store = (tp * tq * tk * dim * dim) as f64 / 6.0;
    let exposed_store = if s.interleave_store {
        0.05
    } else if s.double_buffer_c {
        0.3
    } else {
        0.8
    };
    let w_exposed = if s.weights_resident || s.double_buffer_w {
        0.0
    } else {
        tiles * 9.0 * cb as f64 * 20.0
    };
    // Per-transfer DMA cost (as for GEMMs, about 20 cycles per mvin or mvout beyond its bytes, half of it
    // exposed): input window or tap blocks, weights, bias rows and outputs, at their widths.
    let per = |n: u64, width: u32| n.div_ceil(u64::from(width.max(1))) as f64;
    let win_px_blocks = (tq * dim + 2).min(q + 2).div_ceil(dim);
    let in_mvins = if s.input_reuse {
        tiles * ((tp + 2) * win_px_blocks) as f64 * per(cb, s.in_width)
    } else {
        tiles * (9 * cb * tp * tq) as f64
    };
    let w_mvins = if s.weights_resident {
        (kt * 9 * cb) as f64 * per(tk, s.w_width)
    } else {
        tiles * (9 * cb) as f64 * per(tk, s.w_width)
    };
    let mbl = u64::from(hw.max_block_len().max(1));
    let io_transfers = tiles * (tp * tq * tk) as f64 + tiles * (tp * tq * tk.div_ceil(mbl)) as f64;
    let dma = (in_mvins + w_mvins + io_transfers) * 20.0 * 0.5;
    compute.max(traffic)
        + dma
        + 0.1 * traffic
        + preload * 0.5
        + per_tile
        + tiles * (in_burst * exposed_in + store * exposed_store)
        + w_exposed
}

fn log2_gap(a: u32, b: u32) -> f64 {
    (f64::from(a.max(1)) / f64::from(b.max(1))).log2().abs()
}

fn flag(a: bool, b: bool) -> f64 {
    if a == b {
        0.0
    } else {
        1.0
    }
}

fn gemm_distance(a: &GemmSchedule, b: &GemmSchedule) -> f64 {
    log2_gap(a.ti, b.ti)
        + log2_gap(a.tj, b.tj)
        + log2_gap(a.tk, b.tk)
        + flag(a.order == b.order, true) * 1.5
        + f64::from(a.a_level.abs_diff(b.a_level)) * 0.75
        + f64::from(a.b_level.abs_diff(b.b_level)) * 0.75
        + flag(a.double_buffer_a, b.double_buffer_a)
        + flag(a.double_buffer_b, b.double_buffer_b)
        + flag(a.double_buffer_c, b.double_buffer_c)
        + 0.5 * (log2_gap(a.a_width, b.a_width) + log2_gap(a.b_width, b.b_width))
        + 0.5 * log2_gap(a.c_width, b.c_width)
        + flag(a.skip_redundant, b.skip_redundant)
        + 0.3 * log2_gap(a.unroll, b.unroll)
        + 0.5 * flag(a.spread, b.spread)
        + 0.5 * flag(a.inner_k_outer, b.inner_k_outer)
        + flag(a.interleave_store, b.interleave_store)
        + flag(a.prefetch_a, b.prefetch_a)
        + flag(a.prefetch_b, b.prefetch_b)
        + flag(a.stream_first, b.stream_first)
        + flag(a.bank_halves, b.bank_halves)
}

fn conv_distance(a: &ConvSchedule, b: &ConvSchedule) -> f64 {
    log2_gap(a.tp, b.tp)
        + log2_gap(a.tq, b.tq)
        + log2_gap(a.tk, b.tk)
        + flag(a.weights_resident, b.weights_resident) * 1.5
        + flag(a.input_reuse, b.input_reuse) * 1.5
        + flag(a.double_buffer_in, b.double_buffer_in)
        + flag(a.double_buffer_w, b.double_buffer_w)
        + flag(a.double_buffer_c, b.double_buffer_c)
        + 0.5 * (log2_gap(a.in_width, b.in_width) + log2_gap(a.w_width, b.w_width))
        + flag(a.prefetch_in, b.prefetch_in)
        + flag(a.interleave_store, b.interleave_store)
}

/// How different two schedules are: about 1 per changed decision (a doubled tile, a toggled buffer),
/// infinite across kinds.
pub fn distance(a: &Schedule, b: &Schedule) -> f64 {
    match (a, b) {
        (Schedule::Gemm(x), Schedule::Gemm(y)) => gemm_distance(x, y),
        (Schedule::Conv(x), Schedule::Conv(y)) => conv_distance(x, y),
        _ => f64::INFINITY,
    }
}

impl<'a> CostModel<'a> {
    /// The model refit on `measured` (schedule, RTL cycles) pairs of this workload and configuration.
    /// Pairs whose schedule does not fit the workload, or with zero cycles, are ignored.
    pub fn fit(hw: &'a HwConfig, w: &'a Workload, measured: &[(Schedule, u64)]) -> CostModel<'a> {
        let mut points = Vec::new();
        for (s, cycles) in measured {
            if *cycles == 0 || s.validate(hw, w).is_err() {
                continue;
            }
            let p = prior(hw, w, s);
            if p.is_finite() && p > 0.0 {
                points.push((s.clone(), (*cycles as f64 / p).ln()));
            }
        }
        let x: Vec<Vec<f64>> = points.iter().map(|(s, _)| features(s)).collect();
        let y: Vec<f64> = points.iter().map(|(_, r)| *r).collect();
        let beta = if points.len() >= 3 {
            ridge(&x, &y).unwrap_or_default()
        } else {
            Vec::new()
        };
        if !beta.is_empty() {
            for ((_, r), f) in points.iter_mut().zip(&x) {
                *r -= dot(&beta, f);
            }
        }
        CostModel {
            hw,
            w,
            beta,
            points,
        }
    }

    /// Number of measurements the model was refit on.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Predicted cycles of `s`: the prior times the kernel-weighted geometric mean residual of the
    /// measured schedules near it.
    pub fn predict(&self, s: &Schedule) -> f64 {
        let p = prior(self.hw, self.w, s);
        if !p.is_finite() {
            return p;
        }
        let linear = if self.beta.is_empty() {
            0.0
        } else {
            dot(&self.beta, &features(s))
        };
        let (mut num, mut den) = (0.0, SHRINK);
        for (x, r) in &self.points {
            let d = distance(s, x);
            if d.is_finite() {
                // A measured schedule itself weighs 1, one decision away about 0.5.
                let wgt = (-d / BANDWIDTH).exp2();
                num += wgt * r;
                den += wgt;
            }
        }
        p * (linear + num / den).exp()
    }
}

//! The built-in offline proposer: the search's default. It reads the parent's schedule from its
//! `gemforge-schedule` comment, maps the offered menu options to concrete changes of that schedule
//! (several options may map to the same kind of change; options with no meaning in the schedule space are
//! skipped), picks one deterministically from the request's seed, biased by the hardware feedback, and
//! emits the changed schedule's program. Same request, same answer.

use super::model::CostModel;
use super::{Feedback, ImplRequest, Plan, PlanRequest, ProposeError, Proposer};
use crate::bench::schedule::{ConvSchedule, Dim, GemmSchedule, Order, Schedule};
use crate::bench::workload::{Kind, Workload};
use crate::sim::config::HwConfig;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The built-in proposer. Stateless apart from an optional schedule to transfer (schedule reuse).
#[derive(Debug, Clone, Default)]
pub struct BuiltinProposer {
    /// The winning schedule of another run (`--reuse-from`), offered, fitted to this workload, until the
    /// search has measured it.
    reuse: Option<Schedule>,
}

impl BuiltinProposer {
    pub fn new() -> BuiltinProposer {
        BuiltinProposer::default()
    }

    /// Schedule reuse: also offer `program`'s schedule (the winner of a run on a similar workload), with
    /// its tiles clipped to this workload, until it has been measured. A program without a schedule record
    /// transfers nothing.
    pub fn with_reuse(mut self, program: &str) -> BuiltinProposer {
        self.reuse = Schedule::from_program(program);
        self
    }

    /// The reused schedule fitted to `w`: tiles clipped to its dimensions; None when it does not fit.
    fn transferred(&self, hw: &HwConfig, w: &Workload) -> Option<Schedule> {
        let dim = u64::from(hw.dim());
        let clip =
            |t: u32, size: u64| t.min(size.div_ceil(dim).clamp(1, u64::from(u32::MAX)) as u32);
        let s = match (self.reuse.clone()?, w.kind) {
            (Schedule::Gemm(mut g), Kind::Gemm { m, n, k }) => {
                (g.ti, g.tj, g.tk) = (clip(g.ti, m), clip(g.tj, n), clip(g.tk, k));
                Schedule::Gemm(g)
            }
            (Schedule::Conv(mut c), Kind::Conv { p, q, k, .. }) => {
                c.tp = c.tp.min(p.clamp(1, u64::from(u32::MAX)) as u32);
                (c.tq, c.tk) = (clip(c.tq, q), clip(c.tk, k));
                Schedule::Conv(c)
            }
            _ => return None,
        };
        s.validate(hw, w).ok().map(|()| s)
    }

    /// The built-in proposer for a search on `w`, or an error when `w` is outside its schedule space (the
    /// TinyMPC kernels: their programs are not generated from a schedule, so it would have nothing to
    /// change).
    pub fn for_workload(w: &Workload) -> anyhow::Result<BuiltinProposer> {
        if Schedule::naive(w).is_none() {
            anyhow::bail!(
                "the built-in proposer has no schedule space for {} (it changes GEMM and convolution \
                 schedules only); use --proposer llm --model PROVIDER:MODEL, or `gemforge bench --workloads \
                 {}` for its naive and hand-written baselines",
                w.name,
                w.name
            );
        }
        Ok(BuiltinProposer::default())
    }
}

/// One concrete change: what it does (for the plan text), the new schedule, and a weight for the pick.
struct Change {
    text: String,
    schedule: Schedule,
    weight: f64,
}

fn dim_name(d: Dim) -> &'static str {
    match d {
        Dim::I => "I (rows of A and C)",
        Dim::J => "J (columns of B and C)",
        Dim::K => "K (the reduction)",
    }
}

/// Room the feedback says is left: true when less than half of the scratchpad was used.
fn spad_underused(fb: &Feedback) -> bool {
    fb.sp_rows_total > 0 && u64::from(fb.sp_rows_used) * 2 < u64::from(fb.sp_rows_total)
}

fn gemm_changes(
    id: &str,
    s: &GemmSchedule,
    hw: &HwConfig,
    dims: (u64, u64, u64),
    fb: &Feedback,
) -> Vec<(String, GemmSchedule, f64)> {
    let (m, n, k) = dims;
    let dim = u64::from(hw.dim());
    let blocks = |d: Dim| match d {
        Dim::I => m.div_ceil(dim),
        Dim::J => n.div_ceil(dim),
        Dim::K => k.div_ceil(dim),
    };
    let grow_bias = if spad_underused(fb) { 2.0 } else { 1.0 };
    let mut out: Vec<(String, GemmSchedule, f64)> = Vec::new();
    let set_tile = |s: &GemmSchedule, d: Dim, t: u64| -> GemmSchedule {
        let mut x = s.clone();
        let t = t as u32;
        match d {
            Dim::I => x.ti = t,
            Dim::J => x.tj = t,
            Dim::K => x.tk = t,
        }
        x
    };
    let tiles = |out: &mut Vec<(String, GemmSchedule, f64)>, grow: bool, shrink: bool| {
        for d in [Dim::I, Dim::J, Dim::K] {
            let t = s.tile(d);
            let total = blocks(d);
            if grow && t < total {
                for nt in [(t * 2).min(total), total] {
                    out.push((
                        format!(
                            "grow the tile along {} from {t} to {nt} DIM blocks, spreading the larger tile over \
                             more scratchpad rows so each loaded block is reused by more computations",
                            dim_name(d)
                        ),
                        set_tile(s, d, nt),
                        grow_bias,
                    ));
                }
            }
            if shrink && t > 1 {
                let nt = t / 2;
                out.push((
                    format!(
                        "split the loop along {}: shrink its tile from {t} to {nt} DIM blocks",
                        dim_name(d)
                    ),
                    set_tile(s, d, nt),
                    1.0,
                ));
            }
        }
    };
    let orders = |out: &mut Vec<(String, GemmSchedule, f64)>| {
        for o in Order::ALL {
            if o != s.order {
                let mut x = s.clone();
                x.order = o;
                out.push((
                    format!(
                        "reorder the tile loops from {} to {} (outermost first)",
                        s.order.name(),
                        o.name()
                    ),
                    x,
                    1.0,
                ));
            }
        }
    };
    let hoist = |out: &mut Vec<(String, GemmSchedule, f64)>| {
        if s.a_level > 0 {
            let mut x = s.clone();
            x.a_level -= 1;
            out.push((
                format!(
                    "hoist the loads of A one loop outward (load depth {} -> {}) and keep A resident in the \
                     scratchpad across the inner loops",
                    s.a_level, x.a_level
                ),
                x,
                grow_bias,
            ));
        }
        if s.b_level > 0 {
            let mut x = s.clone();
            x.b_level -= 1;
            out.push((
                format!(
                    "hoist the loads of B one loop outward (load depth {} -> {}) and keep B resident in the \
                     scratchpad across the inner loops",
                    s.b_level, x.b_level
                ),
                x,
                grow_bias,
            ));
        }
    };
    let double = |out: &mut Vec<(String, GemmSchedule, f64)>| {
        let mut add = |on: bool, name: &str, f: fn(&mut GemmSchedule)| {
            if !on {
                let mut x = s.clone();
                f(&mut x);
                out.push((
                    format!("double-buffer {name}: alternate two halves so the next load overlaps the current computation"),
                    x,
                    if fb.utilization < 0.5 { 1.5 } else { 1.0 },
                ));
            }
        };
        add(s.double_buffer_a, "the A tiles in the scratchpad", |x| {
            x.double_buffer_a = true
        });
        add(s.double_buffer_b, "the B tiles in the scratchpad", |x| {
            x.double_buffer_b = true
        });
        add(
            s.double_buffer_c,
            "the output tiles in the accumulator",
            |x| x.double_buffer_c = true,
        );
        // The whole option at once, as an expert applying it would.
        let missing = [s.double_buffer_a, s.double_buffer_b, s.double_buffer_c]
            .iter()
            .filter(|on| !**on)
            .count();
        if missing > 1 {
            let mut x = s.clone();
            x.double_buffer_a = true;
            x.double_buffer_b = true;
            x.double_buffer_c = true;
            out.push((
                "double-buffer A, B and the output tiles: every load and store overlaps computation".to_string(),
                x,
                if fb.utilization < 0.5 { 1.5 } else { 1.0 },
            ));
        }
    };
    let widths = |out: &mut Vec<(String, GemmSchedule, f64)>| {
        let mbl = hw.max_block_len();
        let mut add = |w: u32, name: &str, f: fn(&mut GemmSchedule, u32)| {
            if w < mbl {
                let nw = (w * 2).min(mbl);
                let mut x = s.clone();
                f(&mut x, nw);
                out.push((
                    format!("move {name} {nw} DIM blocks per instruction instead of {w} (fewer, larger DMA requests)"),
                    x,
                    1.0,
                ));
            }
        };
        add(s.a_width, "A in with", |x, w| x.a_width = w);
        add(s.b_width, "B in with", |x, w| x.b_width = w);
        add(s.c_width, "C out with", |x, w| x.c_width = w);
        if [s.a_width, s.b_width, s.c_width]
            .iter()
            .filter(|w| **w < mbl)
            .count()
            > 1
        {
            let mut x = s.clone();
            x.a_width = mbl;
            x.b_width = mbl;
            x.c_width = mbl;
            out.push((
                format!(
                    "move A, B and C {mbl} DIM blocks per instruction (the widest the DMA allows)"
                ),
                x,
                1.0,
            ));
        }
    };
    let unroll = |out: &mut Vec<(String, GemmSchedule, f64)>| {
        // Every factor, not only powers of two: one that divides the tile's row blocks after the
        // first leaves no tail (12544x64x256 at 16 x 2 x 4 tiles: 844,791 cycles with 4, 832,662 with 5).
        for u in UNROLLS.skip(1) {
            if u != s.unroll {
                let mut x = s.clone();
                x.unroll = u;
                out.push((
                    format!(
                        "unroll the row-block loop (preload + compute per block) by {u} instead of {}",
                        s.unroll
                    ),
                    x,
                    1.0,
                ));
            }
        }
    };
    match id {
        "tiling" => tiles(&mut out, true, true),
        "loop_split" => tiles(&mut out, false, true),
        "loop_fusion" => {
            for d in [Dim::I, Dim::J, Dim::K] {
                if s.tile(d) < blocks(d) {
                    out.push((
                        format!(
                            "fuse the tile loop along {} into the block loop: one tile spans all {} blocks",
                            dim_name(d),
                            blocks(d)
                        ),
                        set_tile(s, d, blocks(d)),
                        grow_bias,
                    ));
                }
            }
        }
        "loop_reorder" => orders(&mut out),
        "reorder_compute" => {
            let mut x = s.clone();
            x.inner_k_outer = !s.inner_k_outer;
            out.push((
                format!(
                    "reorder the block computations of a tile: {} blocks outside {} blocks",
                    if x.inner_k_outer { "K" } else { "J" },
                    if x.inner_k_outer { "J" } else { "K" }
                ),
                x,
                1.0,
            ));
        }
        "unroll" => unroll(&mut out),
        "double_buffering" => double(&mut out),
        "pipeline" => {
            double(&mut out);
            for (on, db, level, skip, name, f) in [
                (
                    s.prefetch_a,
                    s.double_buffer_a,
                    s.a_level,
                    Dim::J,
                    "A",
                    (|x: &mut GemmSchedule| x.prefetch_a = true) as fn(&mut GemmSchedule),
                ),
                (
                    s.prefetch_b,
                    s.double_buffer_b,
                    s.b_level,
                    Dim::I,
                    "B",
                    |x: &mut GemmSchedule| x.prefetch_b = true,
                ),
            ] {
                // The stream runs across the loop just outside the loads, which must index the operand.
                let idx = level >= 1 && s.order.0[usize::from(level.min(3)) - 1] != skip;
                if !on && db && idx {
                    let mut x = s.clone();
                    f(&mut x);
                    out.push((
                        format!(
                            "prefetch the {name} panel of the next iteration of the loop around its loads \
                             into the other half of its buffer, a few mvins per weight block, instead of \
                             loading it in a burst"
                        ),
                        x,
                        1.5,
                    ));
                }
            }
            if !s.bank_halves {
                // Invalid (no double buffer, or no room) is filtered with the rest.
                let mut x = s.clone();
                x.bank_halves = true;
                out.push((
                    "keep the loads out of the computations' way: start the second half of each double \
                     buffer at a scratchpad bank boundary, so the mvins filling one half never take the \
                     single-ported bank the execute unit is reading"
                        .to_string(),
                    x,
                    1.5,
                ));
            }
            if !s.stream_first {
                // Invalid (no operand loaded once before the loops) is filtered with the rest.
                let mut x = s.clone();
                x.stream_first = true;
                out.push((
                    "pipeline the start: stream the panels moved in before the loops (depth-0 loads, the \
                     first panel of a depth-1 prefetch) into the first computations, in the order they read \
                     them, instead of a burst that the array waits for"
                        .to_string(),
                    x,
                    1.5,
                ));
            }
            let all_buffered = s.double_buffer_a && s.double_buffer_b && s.double_buffer_c;
            if !s.interleave_store && !all_buffered {
                let mut x = s.clone();
                x.interleave_store = true;
                x.double_buffer_a = true;
                x.double_buffer_b = true;
                x.double_buffer_c = true;
                out.push((
                    "pipeline everything: double-buffer A, B and the output tiles and spread each finished \
                     tile's stores over the next tile's computations"
                        .to_string(),
                    x,
                    1.5,
                ));
            }
            if !s.interleave_store {
                let mut x = s.clone();
                x.interleave_store = true;
                out.push((
                    "pipeline the stores: move a finished output tile out one row block at a time, spread \
                     over the next tile's computations, instead of in a burst after the tile"
                        .to_string(),
                    x,
                    1.5,
                ));
            }
        }
        "outer_reuse" | "hoist" => hoist(&mut out),
        "spread_spad" => {
            if !s.spread {
                let mut x = s.clone();
                x.spread = true;
                out.push((
                    "place B in its own scratchpad banks, away from A, so operand reads do not collide"
                        .to_string(),
                    x,
                    1.0,
                ));
            }
            tiles(&mut out, true, false);
        }
        "skip_redundant_loads" if !s.skip_redundant => {
            let mut x = s.clone();
            x.skip_redundant = true;
            out.push((
                "guard each operand's loads with `if` on the loops that do not index it, so data \
                 already in the scratchpad is not moved in again"
                    .to_string(),
                x,
                1.5,
            ));
        }
        "min_data_movement" => {
            widths(&mut out);
            hoist(&mut out);
        }
        "min_loop_overhead" => {
            unroll(&mut out);
            widths(&mut out);
        }
        _ => {}
    }
    out
}

/// A tile field of a convolution schedule: (name, current, limit, setter).
type ConvTile = (&'static str, u32, u64, fn(&mut ConvSchedule, u32));
/// A buffering flag: (already on, what it buffers, setter).
type ConvFlag = (bool, &'static str, fn(&mut ConvSchedule));

fn conv_changes(
    id: &str,
    s: &ConvSchedule,
    dims: (u64, u64, u64, u64),
    hw: &HwConfig,
    fb: &Feedback,
) -> Vec<(String, ConvSchedule, f64)> {
    let (p, qb, kb, _cb) = dims;
    let grow_bias = if spad_underused(fb) { 2.0 } else { 1.0 };
    let mut out: Vec<(String, ConvSchedule, f64)> = Vec::new();
    let tiles = |out: &mut Vec<(String, ConvSchedule, f64)>, grow: bool, shrink: bool| {
        let fields: [ConvTile; 3] = [
            ("output rows", s.tp, p, |x, v| x.tp = v),
            ("pixel blocks", s.tq, qb, |x, v| x.tq = v),
            ("output-channel blocks", s.tk, kb, |x, v| x.tk = v),
        ];
        for (name, t, total, f) in fields {
            let t64 = u64::from(t);
            if grow && t64 < total {
                let nt = (t64 * 2).min(total) as u32;
                let mut x = s.clone();
                f(&mut x, nt);
                out.push((
                    format!("grow the tile from {t} to {nt} {name} so each weight preload serves more pixels"),
                    x,
                    grow_bias,
                ));
            }
            if shrink && t > 1 {
                let mut x = s.clone();
                f(&mut x, t / 2);
                out.push((
                    format!(
                        "split the loop: shrink the tile from {t} to {} {name}",
                        t / 2
                    ),
                    x,
                    1.0,
                ));
            }
        }
    };
    let reuse = |out: &mut Vec<(String, ConvSchedule, f64)>| {
        if !s.weights_resident {
            let mut x = s.clone();
            x.weights_resident = true;
            out.push((
                "keep the weights of an output-channel tile resident: load them once before the batch, \
                 row and pixel loops"
                    .to_string(),
                x,
                grow_bias,
            ));
        }
        if !s.input_reuse {
            let mut x = s.clone();
            x.input_reuse = true;
            out.push((
                "load each tile's input window (rows plus the halo) once and read all 9 taps from shifted \
                 views of it"
                    .to_string(),
                x,
                grow_bias,
            ));
        }
    };
    let double = |out: &mut Vec<(String, ConvSchedule, f64)>| {
        let opts: [ConvFlag; 3] = [
            (s.double_buffer_in, "the input loads", |x| {
                x.double_buffer_in = true
            }),
            (
                s.double_buffer_w || s.weights_resident,
                "the weight loads",
                |x| x.double_buffer_w = true,
            ),
            (
                s.double_buffer_c,
                "the output tiles in the accumulator",
                |x| x.double_buffer_c = true,
            ),
        ];
        for (on, name, f) in opts {
            if !on {
                let mut x = s.clone();
                f(&mut x);
                out.push((
                    format!("double-buffer {name} so the next transfer overlaps the current computation"),
                    x,
                    1.0,
                ));
            }
        }
        if !s.prefetch_in {
            let mut x = s.clone();
            (x.prefetch_in, x.input_reuse, x.double_buffer_in) = (true, true, true);
            out.push((
                "stream the next tile's input window into the other input buffer a few mvins per tap step \
                 instead of loading it in a burst at the tile's top"
                    .to_string(),
                x,
                1.0,
            ));
        }
        if !s.interleave_store {
            let mut x = s.clone();
            (x.interleave_store, x.double_buffer_c) = (true, true);
            out.push((
                "move each finished tile out a few mvouts per tap step of the next tile instead of in a \
                 burst that fills the store queue"
                    .to_string(),
                x,
                1.0,
            ));
        }
    };
    let widths = |out: &mut Vec<(String, ConvSchedule, f64)>| {
        let mbl = hw.max_block_len();
        if s.input_reuse && s.in_width < mbl {
            let mut x = s.clone();
            x.in_width = (s.in_width * 2).min(mbl);
            out.push((
                format!(
                    "move the input window in with {} channel blocks per mvin",
                    x.in_width
                ),
                x,
                1.0,
            ));
        }
        if s.w_width < mbl {
            let mut x = s.clone();
            x.w_width = (s.w_width * 2).min(mbl);
            out.push((
                format!(
                    "move the weights in with {} output-channel blocks per mvin",
                    x.w_width
                ),
                x,
                1.0,
            ));
        }
    };
    match id {
        "tiling" | "spread_spad" => tiles(&mut out, true, true),
        "loop_split" => tiles(&mut out, false, true),
        "outer_reuse" | "hoist" | "skip_redundant_loads" => reuse(&mut out),
        "double_buffering" | "pipeline" => double(&mut out),
        "min_data_movement" => {
            reuse(&mut out);
            widths(&mut out);
        }
        "min_loop_overhead" => widths(&mut out),
        _ => {}
    }
    out
}

/// The tile sizes worth trying along a dimension of `total` blocks: the hand family's ladder, plus the
/// divisors of `total` up to 64 (a tile that divides the dimension leaves no ragged edge tile; the hand
/// family does not try 7, 14, 28, 49... on the 784- and 196-block dimensions of the paper GEMMs).
fn tile_choices(total: u64) -> Vec<u32> {
    let mut v = crate::bench::baseline::tile_options(total);
    for d in 1..=total.min(64) {
        if total % d == 0 {
            v.push(d as u32);
        }
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// Retile: the tile shapes the (refit) cost model ranks best, every other decision kept. An expert sizes
/// all three tiles together against the scratchpad and accumulator; the polish step then adjusts the
/// buffers and streams to the new shape.
fn retile_changes(
    s: &Schedule,
    hw: &HwConfig,
    w: &Workload,
    model: &CostModel<'_>,
) -> Vec<(String, Schedule, f64)> {
    let dim = u64::from(hw.dim());
    let mut ranked: Vec<(f64, String, Schedule)> = Vec::new();
    match (s, w.kind) {
        (Schedule::Gemm(g), Kind::Gemm { m, n, k }) => {
            for ti in tile_choices(m.div_ceil(dim)) {
                for tj in tile_choices(n.div_ceil(dim)) {
                    for tk in tile_choices(k.div_ceil(dim)) {
                        let mut x = g.clone();
                        (x.ti, x.tj, x.tk) = (ti, tj, tk);
                        if x == *g || x.validate(hw, m, n, k).is_err() {
                            continue;
                        }
                        let text = format!(
                            "retile to {ti} x {tj} x {tk} DIM blocks (I x J x K) from {} x {} x {}, sized \
                             together against the scratchpad and accumulator",
                            g.ti, g.tj, g.tk
                        );
                        let x = Schedule::Gemm(x);
                        ranked.push((model.predict(&x), text, x));
                    }
                }
            }
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
        ) => {
            for tp in 1..=p.min(CONV_MAX_TP) as u32 {
                for tq in 1..=q.div_ceil(dim) as u32 {
                    for tk in 1..=k.div_ceil(dim) as u32 {
                        let mut x = c.clone();
                        (x.tp, x.tq, x.tk) = (tp, tq, tk);
                        if x == *c || x.validate(hw, batch, p, q, ch, k).is_err() {
                            continue;
                        }
                        let text = format!(
                            "retile the output to {tp} rows x {tq} pixel blocks x {tk} channel blocks \
                             (from {} x {} x {}), sized against the scratchpad and accumulator",
                            c.tp, c.tq, c.tk
                        );
                        let x = Schedule::Conv(x);
                        ranked.push((model.predict(&x), text, x));
                    }
                }
            }
        }
        _ => {}
    }
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
    ranked
        .into_iter()
        .take(4)
        .map(|(_, t, x)| (t, x, 1.0))
        .collect()
}

/// The values one coordinate of a GEMM schedule can take, each as the whole schedule with that
/// coordinate changed (and the flags it depends on fixed up): the neighbourhood of the model jump's
/// coordinate descent. Coordinate 0 is the tile triple, sized together (a taller I tile usually needs a
/// narrower J tile to fit the accumulator).
fn gemm_coordinate(
    g: &GemmSchedule,
    coord: usize,
    blocks: (u64, u64, u64),
    mbl: u32,
) -> Vec<GemmSchedule> {
    let mut out = Vec::new();
    let mut with = |f: &dyn Fn(&mut GemmSchedule)| {
        let mut x = g.clone();
        f(&mut x);
        if x != *g {
            out.push(x);
        }
    };
    match coord {
        0 => {
            for ti in tile_choices(blocks.0) {
                for tj in tile_choices(blocks.1) {
                    for tk in tile_choices(blocks.2) {
                        with(&|x| (x.ti, x.tj, x.tk) = (ti, tj, tk));
                    }
                }
            }
        }
        1 => {
            for o in Order::ALL {
                with(&|x| x.order = o);
            }
        }
        2 | 3 => {
            for lvl in 0..=3u8 {
                for (db, pf) in [(false, false), (true, false), (true, true)] {
                    with(&|x| {
                        if coord == 2 {
                            (x.a_level, x.double_buffer_a, x.prefetch_a) = (lvl, db, pf);
                        } else {
                            (x.b_level, x.double_buffer_b, x.prefetch_b) = (lvl, db, pf);
                        }
                    });
                }
            }
        }
        4 => {
            for (db, il) in [(false, false), (true, false), (true, true)] {
                with(&|x| {
                    (x.double_buffer_c, x.interleave_store) = (db, il);
                    if il {
                        x.c_width = x.c_width.max(x.tj.min(mbl));
                    }
                });
            }
        }
        5 => {
            let mut w = 1;
            while w <= mbl {
                for which in 0..3 {
                    with(&|x| match which {
                        0 => x.a_width = w,
                        1 => x.b_width = w,
                        _ => x.c_width = w,
                    });
                }
                w *= 2;
            }
        }
        6 => {
            for u in UNROLLS {
                with(&|x| x.unroll = u);
            }
        }
        _ => {
            with(&|x| x.skip_redundant = !x.skip_redundant);
            with(&|x| x.spread = !x.spread);
            with(&|x| x.inner_k_outer = !x.inner_k_outer);
            with(&|x| x.stream_first = !x.stream_first);
            with(&|x| x.bank_halves = !x.bank_halves);
        }
    }
    out
}

/// Number of coordinates [`gemm_coordinate`] knows.
const GEMM_COORDINATES: usize = 8;

/// The unroll factors the generator accepts (`GemmSchedule::unroll`).
const UNROLLS: std::ops::RangeInclusive<u32> = 1..=8;

/// The model jump: coordinate descent on the (refit) cost model over the whole GEMM schedule space, from
/// the parent and from a seeded random restart, each coordinate in a seeded order. It returns the best
/// schedule the descent saw that the run has not measured (the RTL already answered for the others), so
/// a jump whose optimum was measured still moves to the next most promising point; as the model is refit
/// on every verdict, later jumps follow the RTL's answers rather than the prior.
fn gemm_model_jumps(
    g: &GemmSchedule,
    hw: &HwConfig,
    (m, n, k): (u64, u64, u64),
    ctx: &Context<'_>,
) -> Vec<(String, Schedule, f64)> {
    let dim = u64::from(hw.dim());
    let blocks = (m.div_ceil(dim), n.div_ceil(dim), k.div_ceil(dim));
    let mbl = hw.max_block_len();
    let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed ^ 0x6a75_6d70);
    let cost = |x: &GemmSchedule| -> Option<f64> {
        x.validate(hw, m, n, k).ok()?;
        let c = ctx.model.predict(&Schedule::Gemm(x.clone()));
        c.is_finite().then_some(c)
    };
    // A restart: the parent with a few coordinates set at random, so seeds explore different basins.
    let mut restart = g.clone();
    for _ in 0..3 {
        let coord = rng.gen_range(0..GEMM_COORDINATES);
        let opts: Vec<GemmSchedule> = gemm_coordinate(&restart, coord, blocks, mbl)
            .into_iter()
            .filter(|x| x.validate(hw, m, n, k).is_ok())
            .collect();
        if !opts.is_empty() {
            restart = opts[rng.gen_range(0..opts.len())].clone();
        }
    }
    let mut out = Vec::new();
    let mut starts = vec![("the parent", g.clone()), ("a seeded restart", restart)];
    for b in &ctx.best_measured {
        if let Schedule::Gemm(b) = b {
            if b != g {
                starts.push(("one of the run's best measured schedules", b.clone()));
            }
        }
    }
    for (from, start) in starts {
        let Some(mut best_cost) = cost(&start) else {
            continue;
        };
        let mut cur = start;
        let mut fresh: Option<(f64, GemmSchedule)> = None;
        let consider = |x: &GemmSchedule, c: f64, fresh: &mut Option<(f64, GemmSchedule)>| {
            let sx = Schedule::Gemm(x.clone());
            if x != g && !ctx.measured.contains(&sx) && fresh.as_ref().is_none_or(|f| c < f.0) {
                *fresh = Some((c, x.clone()));
            }
        };
        for _round in 0..6 {
            let mut coords: Vec<usize> = (0..GEMM_COORDINATES).collect();
            for i in (1..coords.len()).rev() {
                coords.swap(i, rng.gen_range(0..=i));
            }
            let mut moved = false;
            for coord in coords {
                for x in gemm_coordinate(&cur, coord, blocks, mbl) {
                    let Some(c) = cost(&x) else { continue };
                    consider(&x, c, &mut fresh);
                    if c < best_cost * 0.9999 {
                        best_cost = c;
                        cur = x;
                        moved = true;
                    }
                }
            }
            if !moved {
                break;
            }
        }
        if let Some((_, x)) = fresh {
            out.push((
                format!(
                    "jump to the schedule the cost model (refit on this run's verdicts) ranks best, found by \
                     coordinate descent from {from} over tiles, order, load depths, buffers, streams, widths \
                     and unrolling: {} x {} x {} blocks, order {}",
                    x.ti,
                    x.tj,
                    x.tk,
                    x.order.name()
                ),
                Schedule::Gemm(x),
                JUMP_WEIGHT,
            ));
        }
    }
    out
}

/// Base weight of a model jump against one ordinary change of the option (before the gain factor).
const JUMP_WEIGHT: f64 = 3.0;

/// Small changes that usually go with a bigger one (buffers, streams, load depths, transfer widths,
/// unrolling): the polish step combines a menu option's change with the ones the model says help.
fn support_moves(s: &Schedule, hw: &HwConfig) -> Vec<(String, Schedule)> {
    let mbl = hw.max_block_len();
    let mut out: Vec<(String, Schedule)> = Vec::new();
    match s {
        Schedule::Gemm(g) => {
            let mut add = |text: String, f: &dyn Fn(&mut GemmSchedule)| {
                let mut x = g.clone();
                f(&mut x);
                if x != *g {
                    out.push((text, Schedule::Gemm(x)));
                }
            };
            add("toggle the A double buffer".into(), &|x| {
                x.double_buffer_a = !x.double_buffer_a;
                x.prefetch_a &= x.double_buffer_a;
            });
            add("toggle the B double buffer".into(), &|x| {
                x.double_buffer_b = !x.double_buffer_b;
                x.prefetch_b &= x.double_buffer_b;
            });
            add("toggle the accumulator double buffer".into(), &|x| {
                x.double_buffer_c = !x.double_buffer_c;
                x.interleave_store &= x.double_buffer_c;
            });
            add("toggle the interleaved store stream".into(), &|x| {
                x.interleave_store = !x.interleave_store;
                if x.interleave_store {
                    x.double_buffer_c = true;
                    x.c_width = x.c_width.max(x.tj.min(mbl));
                }
            });
            add("toggle the A prefetch stream".into(), &|x| {
                x.prefetch_a = !x.prefetch_a;
                if x.prefetch_a {
                    x.double_buffer_a = true;
                    x.a_level = x.a_level.max(1);
                }
            });
            add("toggle the B prefetch stream".into(), &|x| {
                x.prefetch_b = !x.prefetch_b;
                if x.prefetch_b {
                    x.double_buffer_b = true;
                    x.b_level = x.b_level.max(1);
                }
            });
            add(
                "stream the first panels into the first computations instead of a burst".into(),
                &|x| x.stream_first = !x.stream_first,
            );
            add(
                "start the second half of each double buffer at a bank boundary".into(),
                &|x| x.bank_halves = !x.bank_halves,
            );
            add("guard redundant loads".into(), &|x| x.skip_redundant = true);
            add("place B in its own banks".into(), &|x| x.spread = !x.spread);
            add(format!("move {mbl} blocks per mvin and mvout"), &|x| {
                x.a_width = mbl;
                x.b_width = mbl;
                x.c_width = mbl;
            });
            for lvl in 0..=3u8 {
                add(format!("load A at depth {lvl}"), &|x| {
                    x.a_level = lvl;
                    x.prefetch_a &= lvl >= 1;
                });
                add(format!("load B at depth {lvl}"), &|x| {
                    x.b_level = lvl;
                    x.prefetch_b &= lvl >= 1;
                });
            }
            for u in UNROLLS {
                add(format!("unroll by {u}"), &|x| x.unroll = u);
            }
        }
        Schedule::Conv(c) => {
            let mut add = |text: &str, f: &dyn Fn(&mut ConvSchedule)| {
                let mut x = c.clone();
                f(&mut x);
                if x != *c {
                    out.push((text.to_string(), Schedule::Conv(x)));
                }
            };
            add("toggle resident weights", &|x| {
                x.weights_resident = !x.weights_resident
            });
            add("toggle input-window reuse", &|x| {
                x.input_reuse = !x.input_reuse;
                x.prefetch_in &= x.input_reuse;
            });
            add("toggle the input double buffer", &|x| {
                x.double_buffer_in = !x.double_buffer_in;
                x.prefetch_in &= x.double_buffer_in;
            });
            add("toggle the weight double buffer", &|x| {
                x.double_buffer_w = !x.double_buffer_w
            });
            add("toggle the output double buffer", &|x| {
                x.double_buffer_c = !x.double_buffer_c;
                x.interleave_store &= x.double_buffer_c;
            });
            add("toggle the input-window prefetch stream", &|x| {
                x.prefetch_in = !x.prefetch_in;
                if x.prefetch_in {
                    x.input_reuse = true;
                    x.double_buffer_in = true;
                }
            });
            add("toggle the interleaved store stream", &|x| {
                x.interleave_store = !x.interleave_store;
                if x.interleave_store {
                    x.double_buffer_c = true;
                }
            });
            add("move the widest blocks per mvin", &|x| {
                x.in_width = mbl;
                x.w_width = mbl;
            });
        }
    }
    out
}

/// Output rows per convolution tile the proposer considers: the accumulator (1,024 rows of the default
/// configuration, DIM per pixel block and output-channel block) holds at most 64 single-block rows.
const CONV_MAX_TP: u64 = 64;

/// Support moves that resize a convolution's tiles: every (rows, pixel blocks, output-channel blocks)
/// shape that fits, the buffers and streams kept. With these the polish step sizes the tiles for whatever
/// the option changed, so a step from a slow schedule lands where the model ranks the whole space best
/// instead of simulating many multi-million-cycle programs on the way. Empty for GEMMs.
fn conv_tile_moves(s: &Schedule, w: &Workload, hw: &HwConfig) -> Vec<(String, Schedule)> {
    let (Schedule::Conv(c), Kind::Conv { p, q, k, .. }) = (s, w.kind) else {
        return Vec::new();
    };
    let dim = u64::from(hw.dim());
    let mut out = Vec::new();
    for tp in 1..=p.min(CONV_MAX_TP) as u32 {
        for tq in 1..=q.div_ceil(dim) as u32 {
            for tk in 1..=k.div_ceil(dim) as u32 {
                // The accumulator bounds the output tile; skip shapes that cannot fit before validating.
                if u64::from(tp * tq * tk) * dim > u64::from(hw.acc_rows()) {
                    continue;
                }
                let mut x = c.clone();
                (x.tp, x.tq, x.tk) = (tp, tq, tk);
                if x != *c {
                    out.push((
                        format!("retile to {tp} rows x {tq} pixel blocks x {tk} channel blocks"),
                        Schedule::Conv(x),
                    ));
                }
            }
        }
    }
    out
}

/// Support moves the polish step may combine with a change: convolutions take more (the tiles, both
/// reuse decisions, three buffers and two widths interact, and a step from the naive start needs most of
/// them at once); GEMMs two.
fn polish_rounds(s: &Schedule) -> usize {
    match s {
        Schedule::Conv(_) => 6,
        Schedule::Gemm(_) => 2,
    }
}

/// Greedy polish: up to `rounds` support moves, each taken only when the model predicts at least 1% fewer
/// cycles. Returns the polished schedule and the moves taken (empty when none helps).
fn polish(
    s: &Schedule,
    hw: &HwConfig,
    w: &Workload,
    model: &CostModel<'_>,
    rounds: usize,
) -> (Schedule, Vec<String>) {
    let mut cur = s.clone();
    let mut cost = model.predict(&cur);
    let mut taken = Vec::new();
    for _ in 0..rounds {
        let mut best: Option<(f64, String, Schedule)> = None;
        let mut moves = support_moves(&cur, hw);
        moves.extend(conv_tile_moves(&cur, w, hw));
        for (text, x) in moves {
            if x.validate(hw, w).is_err() {
                continue;
            }
            let c = model.predict(&x);
            if c < cost * 0.99 && best.as_ref().is_none_or(|b| c < b.0) {
                best = Some((c, text, x));
            }
        }
        match best {
            Some((c, text, x)) => {
                cost = c;
                cur = x;
                taken.push(text);
            }
            None => break,
        }
    }
    (cur, taken)
}

/// The concrete changes one menu option allows on this schedule: valid, different from the parent, not
/// measured before in this run; each alone and polished with the support moves the model favours, weighted
/// by the predicted gain.
fn changes(id: &str, s: &Schedule, ctx: &Context<'_>, fb: &Feedback) -> Vec<Change> {
    let (hw, w) = (ctx.hw, ctx.w);
    let dim = u64::from(hw.dim());
    let mut raw: Vec<(String, Schedule, f64)> = match (s, w.kind) {
        (Schedule::Gemm(g), Kind::Gemm { m, n, k }) => gemm_changes(id, g, hw, (m, n, k), fb)
            .into_iter()
            .map(|(t, x, wt)| (t, Schedule::Gemm(x), wt))
            .collect(),
        (Schedule::Conv(c), Kind::Conv { p, q, c: ch, k, .. }) => conv_changes(
            id,
            c,
            (p, q.div_ceil(dim), k.div_ceil(dim), ch.div_ceil(dim)),
            hw,
            fb,
        )
        .into_iter()
        .map(|(t, x, wt)| (t, Schedule::Conv(x), wt))
        .collect(),
        _ => Vec::new(),
    };
    if id == "tiling" {
        raw.extend(retile_changes(s, hw, w, &ctx.model));
    }
    // The model jump changes many decisions at once: a tiling change, and the meaning given to the
    // menu's open-ended "other" option (which otherwise has no change in the schedule space).
    if id == "tiling" || id == "other" {
        if let (Schedule::Gemm(g), Kind::Gemm { m, n, k }) = (s, w.kind) {
            raw.extend(gemm_model_jumps(g, hw, (m, n, k), ctx));
        }
    }
    let parent_cost = ctx.model.predict(s);
    let mut out: Vec<Change> = Vec::new();
    let push = |text: String, schedule: Schedule, weight: f64, out: &mut Vec<Change>| {
        if &schedule == s
            || schedule.validate(hw, w).is_err()
            || ctx.measured.contains(&schedule)
            || out.iter().any(|c| c.schedule == schedule)
        {
            return;
        }
        let cost = ctx.model.predict(&schedule);
        let gain = if parent_cost.is_finite() && cost.is_finite() && cost > 0.0 {
            (parent_cost / cost).powi(GAMMA).clamp(0.01, 100.0)
        } else {
            1.0
        };
        out.push(Change {
            text,
            schedule,
            weight: weight * gain,
        });
    };
    for (text, schedule, weight) in raw {
        if schedule.validate(hw, w).is_err() {
            continue;
        }
        let (polished, moves) = polish(&schedule, hw, w, &ctx.model, polish_rounds(s));
        let alone = !conv_superseded(&schedule, &polished, &ctx.model);
        if !moves.is_empty() {
            push(
                format!("{text}; together with: {}", moves.join(", ")),
                polished,
                weight,
                &mut out,
            );
        }
        if alone {
            push(text, schedule, weight, &mut out);
        }
    }
    out
}

/// A convolution change alone is not offered when its polished version is predicted at least 20% faster:
/// from a slow parent (the naive start is 10x the optimum) the lone change is another multi-million-cycle
/// program to simulate, and with the gain clamped the several lone changes of an option would outweigh
/// its one coordinated change. GEMM changes are always offered alone too.
fn conv_superseded(alone: &Schedule, polished: &Schedule, model: &CostModel<'_>) -> bool {
    matches!(alone, Schedule::Conv(_))
        && polished != alone
        && model.predict(polished) < 0.8 * model.predict(alone)
}

/// Sharpness of the pick: a change predicted 10% faster than another is drawn (1.1)^4 = 1.46 times as
/// often. The model is rough, so predicted regressions keep a small chance.
const GAMMA: i32 = 4;

/// What every change of one plan request is judged with: the cost model refit on the run's verdicts and
/// the schedules already measured or drawn by a sibling request of this iteration (never proposed again:
/// the RTL already answered, or will).
struct Context<'a> {
    hw: &'a HwConfig,
    w: &'a Workload,
    model: CostModel<'a>,
    measured: Vec<Schedule>,
    /// The request's seed (the model jump's coordinate order and restart derive from it).
    seed: u64,
    /// The run's fastest measured schedules (the model jump also descends from them).
    best_measured: Vec<Schedule>,
}

/// Index drawn with probability proportional to its weight.
fn weighted(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return 0;
    }
    let mut x = rng.gen::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

fn menu_bias(id: &str, fb: &Feedback) -> f64 {
    match id {
        "tiling" | "outer_reuse" | "hoist" if spad_underused(fb) => 2.0,
        "double_buffering" | "pipeline" if fb.utilization > 0.0 && fb.utilization < 0.3 => 1.5,
        _ => 1.0,
    }
}

impl Proposer for BuiltinProposer {
    fn name(&self) -> String {
        "builtin".to_string()
    }

    fn wants_measured(&self) -> bool {
        true
    }

    fn redraws_duplicates(&self) -> bool {
        true
    }

    fn plan(&self, req: &PlanRequest<'_>) -> Result<Plan, ProposeError> {
        let parent = Schedule::from_program(req.parent_code).ok_or_else(|| {
            ProposeError::NotApplicable(
                "the parent program has no gemforge-schedule record (it was not written by the schedule \
                 generator)"
                    .to_string(),
            )
        })?;
        parent.validate(req.hw, req.workload).map_err(|e| {
            ProposeError::NotApplicable(format!(
                "the parent's schedule does not fit {}: {e:#}",
                req.workload.name
            ))
        })?;
        let measured: Vec<(Schedule, u64)> = req
            .measured
            .iter()
            .filter_map(|m| Schedule::from_program(&m.program).map(|s| (s, m.cycles)))
            .collect();
        let mut by_cycles = measured.clone();
        by_cycles.sort_by_key(|(_, c)| *c);
        let best_measured = by_cycles.into_iter().take(3).map(|(s, _)| s).collect();
        let model = CostModel::fit(req.hw, req.workload, &measured);
        // Schedules a sibling request of this iteration already drew count as taken, as measured ones do.
        let taken = measured.into_iter().map(|(s, _)| s).chain(
            req.pending
                .iter()
                .filter_map(|p| serde_json::from_value::<Schedule>(p.meta.clone()).ok()),
        );
        let ctx = Context {
            best_measured,
            hw: req.hw,
            w: req.workload,
            model,
            measured: taken.collect(),
            seed: req.seed,
        };
        let options: Vec<(&super::MenuItem, Vec<Change>)> = req
            .menu
            .iter()
            .map(|item| (item, changes(&item.id, &parent, &ctx, req.feedback)))
            .filter(|(_, c)| !c.is_empty())
            .collect();
        if options.is_empty() {
            let ids: Vec<&str> = req.menu.iter().map(|m| m.id.as_str()).collect();
            return Err(ProposeError::NotApplicable(format!(
                "none of the offered options ({}) has an applicable change to this schedule",
                ids.join(", ")
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(req.seed);
        // An option is worth as much as its most promising change.
        let item_w: Vec<f64> = options
            .iter()
            .map(|(item, c)| {
                let best = c.iter().map(|c| c.weight).fold(0.0, f64::max);
                menu_bias(&item.id, req.feedback) * best
            })
            .collect();
        let (item, cands) = &options[weighted(&mut rng, &item_w)];
        let mut cands: Vec<&Change> = cands.iter().collect();
        // Schedule reuse: the transferred schedule competes with the option's own changes, as likely
        // as all of them together, until the search has measured it.
        let transfer = self
            .transferred(req.hw, req.workload)
            .filter(|t| *t != parent && !ctx.measured.contains(t))
            .map(|t| Change {
                text: format!(
                    "adopt the schedule that won on the reused run, fitted to this workload ({})",
                    t.to_json()
                ),
                weight: cands.iter().map(|c| c.weight).sum::<f64>().max(1.0),
                schedule: t,
            });
        cands.extend(transfer.as_ref());
        let change_w: Vec<f64> = cands.iter().map(|c| c.weight).collect();
        let change = cands[weighted(&mut rng, &change_w)];
        let meta = serde_json::to_value(&change.schedule)
            .map_err(|e| ProposeError::Unusable(format!("encoding the schedule: {e}")))?;
        Ok(Plan {
            text: format!(
                "Option: {}.\nConcretely: {}.\nNew schedule: {}",
                item.text.trim_end_matches('.'),
                change.text,
                change.schedule.to_json()
            ),
            menu_id: Some(item.id.clone()),
            meta,
        })
    }

    fn implement(&self, req: &ImplRequest<'_>) -> Result<String, ProposeError> {
        let s: Schedule = serde_json::from_value(req.plan.meta.clone()).map_err(|e| {
            ProposeError::NotApplicable(format!(
                "the plan carries no schedule of the built-in proposer: {e}"
            ))
        })?;
        s.emit_c(req.hw, req.workload)
            .map_err(|e| ProposeError::Unusable(format!("{e:#}")))
    }
}

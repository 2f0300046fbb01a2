//! The baseline ladder every workload is measured against: naive code (the search's starting program),
//! Gemmini's software library with CPU-issued commands, an expert hand-optimized schedule, and the
//! hardware loop FSMs driven by the library.

use crate::bench::schedule::{ConvSchedule, Dim, GemmSchedule, Order, Schedule};
use crate::bench::workload::{Kind, Workload};
use crate::sim::config::HwConfig;
use anyhow::Context;

/// One rung of the ladder. JSON names it as the command line does (`naive`, `library`, `hand`, `fsm`);
/// the long names older run directories wrote still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Baseline {
    /// One DIM x DIM output tile at a time, operands moved in for every tile (from the schedule space).
    Naive,
    /// `tiled_matmul_auto` / `tiled_conv_auto` with `WS_CPU_ISSUED`: the library's tiling, commands
    /// issued by the CPU.
    Library,
    /// The best expert schedule of the schedule space for the workload.
    #[serde(rename = "hand", alias = "hand_optimized")]
    HandOptimized,
    /// `tiled_matmul_auto` / `tiled_conv_auto` with `WS`: the loop FSMs unroll the tiles in hardware.
    #[serde(rename = "fsm", alias = "hardware_fsm")]
    HardwareFsm,
}

impl Baseline {
    pub const ALL: [Baseline; 4] = [
        Baseline::Naive,
        Baseline::Library,
        Baseline::HandOptimized,
        Baseline::HardwareFsm,
    ];

    /// Short name used on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Baseline::Naive => "naive",
            Baseline::Library => "library",
            Baseline::HandOptimized => "hand",
            Baseline::HardwareFsm => "fsm",
        }
    }

    /// Parses a short name (also accepts `hand_optimized`, `hardware_fsm`).
    pub fn parse(s: &str) -> anyhow::Result<Baseline> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "naive" => Ok(Baseline::Naive),
            "library" | "lib" => Ok(Baseline::Library),
            "hand" | "hand_optimized" | "handoptimized" => Ok(Baseline::HandOptimized),
            "fsm" | "hardware_fsm" | "hardwarefsm" => Ok(Baseline::HardwareFsm),
            other => anyhow::bail!("unknown baseline `{other}`; known: naive, library, hand, fsm"),
        }
    }
}

/// Whether baseline `b` exists for workload `w` at all: the software library and the loop FSMs compute
/// int8 GEMMs and convolutions only, so the TinyMPC kernels have the naive and the hand-written programs
/// alone; the strided convolutions (any kernel, stride, padding, pooling) are outside the schedule space
/// (3x3 stride-1 convolutions and GEMMs), so they have the library and the FSM alone. (A baseline that
/// applies may still not fit a configuration: [`program`] says why.)
pub fn applies(w: &Workload, b: Baseline) -> bool {
    match w.kind {
        Kind::Gemm { .. } | Kind::Conv { .. } => true,
        Kind::StridedConv(_) => matches!(b, Baseline::Library | Baseline::HardwareFsm),
        Kind::MpcForward { .. } | Kind::MpcBackward { .. } => {
            matches!(b, Baseline::Naive | Baseline::HandOptimized)
        }
        // Autocomp's admm problems are judged with Autocomp's own programs (docs/autocomp.md).
        Kind::AutocompAdmm { .. } => false,
    }
}

/// The whole candidate C file of baseline `b` for workload `w`.
pub fn program(hw: &HwConfig, w: &Workload, b: Baseline) -> anyhow::Result<String> {
    if let Kind::AutocompAdmm { .. } = w.kind {
        anyhow::bail!(
            "the {} baseline does not apply to {}: it is Autocomp's admm-multifunction problem, judged \
             with Autocomp's own programs (`gemforge eval`; docs/autocomp.md)",
            b.name(),
            w.name
        );
    }
    if !applies(w, b) {
        let has = if matches!(w.kind, Kind::StridedConv(_)) {
            "the schedule space (naive, hand) covers GEMMs and 3x3 stride-1 convolutions; this workload has \
             the library and fsm baselines"
        } else {
            "the software library and the loop FSMs compute int8 GEMMs and convolutions; this workload has \
             the naive and hand baselines"
        };
        anyhow::bail!(
            "the {} baseline does not apply to {}: {has}",
            b.name(),
            w.name
        );
    }
    match (w.kind, b) {
        (Kind::MpcForward { .. } | Kind::MpcBackward { .. }, _) => mpc_program(hw, w, b),
        (_, Baseline::Naive) => match Schedule::naive(w) {
            Some(s) => s.emit_c(hw, w),
            None => anyhow::bail!("{} has no schedule space", w.name),
        },
        (_, Baseline::HandOptimized) => hand_schedule(hw, w)?.emit_c(hw, w),
        (_, Baseline::Library) => library_program(w, "WS_CPU_ISSUED"),
        (_, Baseline::HardwareFsm) => library_program(w, "WS"),
    }
    .with_context(|| format!("baseline {} for {}", b.name(), w.name))
}

/// The TinyMPC kernels' baselines: C files in `sim/target/baselines/` (written for the catalogue's
/// shapes). `naive` runs on the core alone (its FPU) on any fp32 configuration; `hand` uses the
/// output-stationary 4x4 fp32 array.
fn mpc_program(hw: &HwConfig, w: &Workload, b: Baseline) -> anyhow::Result<String> {
    let (file, code) = match (w.kind, b) {
        (Kind::MpcForward { .. }, Baseline::Naive) => (
            "tinympc_forward_naive.c",
            include_str!("../../sim/target/baselines/tinympc_forward_naive.c"),
        ),
        (Kind::MpcForward { .. }, Baseline::HandOptimized) => (
            "tinympc_forward_hand.c",
            include_str!("../../sim/target/baselines/tinympc_forward_hand.c"),
        ),
        (Kind::MpcBackward { .. }, Baseline::Naive) => (
            "tinympc_backward_naive.c",
            include_str!("../../sim/target/baselines/tinympc_backward_naive.c"),
        ),
        (Kind::MpcBackward { .. }, Baseline::HandOptimized) => (
            "tinympc_backward_hand.c",
            include_str!("../../sim/target/baselines/tinympc_backward_hand.c"),
        ),
        _ => anyhow::bail!("the {} baseline does not apply to {}", b.name(), w.name),
    };
    if !code.contains(&w.signature()) {
        anyhow::bail!(
            "sim/target/baselines/{file} is written for the catalogue's {} (12 states, 4 inputs), not for \
             {} ({}): its solution() does not have the signature `{}`",
            file.trim_end_matches(".c")
                .trim_end_matches("_naive")
                .trim_end_matches("_hand"),
            w.name,
            w.shape(),
            w.signature()
        );
    }
    if !hw.is_fp32() {
        anyhow::bail!(
            "{} is an fp32 workload; configuration `{}` has an {} datapath",
            w.name,
            hw.name,
            hw.array.input_type
        );
    }
    if b == Baseline::HandOptimized {
        // The hand-written programs are laid out for a 4x4 array with the output-stationary dataflow; they
        // put operands in four regions 1024 scratchpad rows apart (the banks of fp32_4x4) and use rows up
        // to 3 * 1024 + 255.
        let need_rows = 3 * 1024 + 256;
        if hw.dim() != 4 || !hw.has_os() || hw.sp_rows() < need_rows {
            anyhow::bail!(
                "the hand-written {} program needs a 4x4 fp32 array with the output-stationary dataflow and \
                 at least {need_rows} scratchpad rows (like rtl/configs/fp32_4x4.toml); configuration `{}` \
                 has DIM {}{} and {} scratchpad rows",
                w.name,
                hw.name,
                hw.dim(),
                if hw.has_os() { "" } else { ", weight-stationary only," },
                hw.sp_rows()
            );
        }
    }
    Ok(code.to_string())
}

/// A program calling the software library with the workload's arguments (GEMMs and convolutions).
fn library_program(w: &Workload, kind: &str) -> anyhow::Result<String> {
    let mut s = format!(
        "/* gemforge baseline: the software library ({kind}) on {} ({}). */\n",
        w.name,
        w.shape()
    );
    s.push_str(&format!("{} {{\n", w.signature()));
    match w.kind {
        Kind::Gemm { m, n, k } => {
            s.push_str(&format!(
                "  tiled_matmul_auto({m}, {n}, {k}, (const elem_t *)A, (const elem_t *)B, NULL, (void *)C,\n\
                 \x20                   {k}, {n}, {n}, {n}, MVIN_SCALE_IDENTITY, MVIN_SCALE_IDENTITY,\n\
                 \x20                   MVIN_SCALE_IDENTITY, NO_ACTIVATION, ACC_SCALE_IDENTITY, ACC_SCALE_IDENTITY,\n\
                 \x20                   false, false, false, false, false, 0, {kind});\n"
            ));
        }
        Kind::Conv { batch, p, q, c, k } => {
            s.push_str(&format!(
                "  tiled_conv_auto({batch}, {}, {}, {c}, {k}, {p}, {q}, 1, 1, 1, 0, 3, false, false, false,\n\
                 \x20                 false, false, (const elem_t *)inp, (const elem_t *)weights,\n\
                 \x20                 (const acc_t *)bias, (elem_t *)output, NO_ACTIVATION, ACC_SCALE_IDENTITY,\n\
                 \x20                 0, 0, 0, {kind});\n",
                p + 2,
                q + 2
            ));
        }
        Kind::StridedConv(c) => s.push_str(&if kind == "WS" {
            c.fsm_body()
        } else {
            c.library_body()
        }),
        Kind::MpcForward { .. } | Kind::MpcBackward { .. } | Kind::AutocompAdmm { .. } => {
            anyhow::bail!("the software library has no routine for {}", w.name)
        }
    }
    s.push_str("  fence();\n}\n");
    Ok(s)
}

/// The expert schedule for a workload: for the paper GEMMs a schedule tuned on the RTL, otherwise the
/// best of a family of large-tile, reuse-heavy, double-buffered schedules under a simple cost model
/// (calibrated on the RTL).
pub fn hand_schedule(hw: &HwConfig, w: &Workload) -> anyhow::Result<Schedule> {
    match w.kind {
        Kind::Gemm { m, n, k } => hand_gemm(hw, m, n, k).map(Schedule::Gemm),
        Kind::Conv { batch, p, q, c, k } => hand_conv(hw, batch, p, q, c, k).map(Schedule::Conv),
        Kind::MpcForward { .. } | Kind::MpcBackward { .. } | Kind::AutocompAdmm { .. } => Err(
            anyhow::anyhow!("{} is not in the GEMM/convolution schedule space", w.name),
        ),
        Kind::StridedConv(_) => Err(anyhow::anyhow!(
            "{} is not in the schedule space (GEMMs and 3x3 stride-1 convolutions)",
            w.name
        )),
    }
    .with_context(|| format!("no hand-optimized schedule fits {}", w.name))
}

/// Estimated cycles of a GEMM schedule: the larger of compute and DRAM traffic, plus the weight
/// preloads that row-block reuse does not hide.
pub(crate) fn gemm_cost(hw: &HwConfig, s: &GemmSchedule, m: u64, n: u64, k: u64) -> f64 {
    let dim = u64::from(hw.dim());
    let (mb, nb, kb) = (m.div_ceil(dim), n.div_ceil(dim), k.div_ceil(dim));
    let tiles = |d: Dim| -> u64 {
        let (t, b) = match d {
            Dim::I => (s.ti, mb),
            Dim::J => (s.tj, nb),
            Dim::K => (s.tk, kb),
        };
        b.div_ceil(u64::from(t))
    };
    // Loads of an operand: `GemmSchedule::refills`.
    let loads = |level: u8, dims: [Dim; 2]| s.refills(level, dims, tiles);
    let a_bytes = m * k * loads(s.a_level, [Dim::I, Dim::K]) / {
        // Each load covers the whole range of the dims inside the level: divide by those tile counts.
        let mut cover = 1;
        for d in [Dim::I, Dim::K] {
            if s.order.pos(d) < usize::from(s.a_level) {
                cover *= tiles(d);
            }
        }
        cover
    };
    let b_bytes = k * n * loads(s.b_level, [Dim::K, Dim::J]) / {
        let mut cover = 1;
        for d in [Dim::K, Dim::J] {
            if s.order.pos(d) < usize::from(s.b_level) {
                cover *= tiles(d);
            }
        }
        cover
    };
    let traffic = (a_bytes + b_bytes + m * n) as f64 / f64::from(hw.memory.bytes_per_cycle.max(1));
    let blocks = (mb * nb * kb) as f64;
    let compute = blocks * dim as f64;
    // A weight preload costs about DIM cycles and is shared by the ti row blocks of a tile.
    let preload = (nb * kb * tiles(Dim::I)) as f64 * dim as f64;
    // Each innermost tile iteration costs the hart loop and address overhead and drains the command
    // queues a little (measured: 16x1x1 tiles lose to 16x2x32 on 512^3).
    let per_tile = (tiles(Dim::I) * tiles(Dim::J) * tiles(Dim::K)) as f64 * 4.0 * dim as f64;
    // The store path moves about 6 bytes of int8 output per cycle on this RTL; a burst of mvouts after
    // each tile leaves about half of that exposed, a spread store stream much less.
    let store = (m * n) as f64 / 6.0 * if s.interleave_store { 0.2 } else { 0.45 };
    // The last tile's mvouts overlap nothing (this decides small problems: 64^3 wants several tiles).
    let c_tile = (u64::from(s.ti) * u64::from(s.tj) * dim * dim).min(m * n) as f64 / 6.0;
    // A panel loaded in a burst at the top of an outer iteration stalls the computations (the hart
    // issues the loads first); double buffering hides part of it, a prefetch stream nearly all.
    let mut panels = 0.0;
    for (level, dims, db, pf) in [
        (s.a_level, [Dim::I, Dim::K], s.double_buffer_a, s.prefetch_a),
        (s.b_level, [Dim::K, Dim::J], s.double_buffer_b, s.prefetch_b),
    ] {
        let ext = |d: Dim| {
            let blocks = match d {
                Dim::I => mb,
                Dim::J => nb,
                Dim::K => kb,
            };
            s.extent_at(level, d, blocks)
        };
        let bytes = (ext(dims[0]) * ext(dims[1]) * dim * dim) as f64;
        // Measured: 12544x64x256 with 32x1x16 tiles spent 0.7 of the A load time with nothing else
        // busy without double buffering. A burst shorter than what the execute queue holds (about
        // 8 computations) is hidden.
        let exposed = if pf {
            0.05
        } else if db {
            0.5
        } else {
            0.7
        };
        let burst = (bytes / 12.0 - 8.0 * dim as f64).max(0.0);
        panels += burst * exposed * loads(level, dims) as f64;
    }
    compute.max(traffic) + preload + 0.1 * traffic + per_tile + store + c_tile + panels
}

/// Schedules tuned by hand on the RTL for the six paper GEMMs on the default configuration (measured
/// utilization in the comments); other shapes and configurations use the cost model below.
fn tuned_gemm(hw: &HwConfig, m: u64, n: u64, k: u64) -> Option<GemmSchedule> {
    if hw.dim() != 16 || hw.max_block_len() != 4 {
        return None;
    }
    let ijk = Order([Dim::I, Dim::J, Dim::K]);
    // (ti, tj, tk, b_level, double_buffer_a, prefetch_a)
    let (ti, tj, tk, b_level, db_a, pf_a) = match (m, n, k) {
        (512, 512, 512) => (16, 2, 32, 2, false, false), // 90.4%
        (12544, 256, 64) => (32, 1, 4, 0, true, true),   // 90.3%
        (12544, 64, 256) => (24, 1, 16, 0, true, true),  // 88.6%
        (3136, 512, 128) => (32, 1, 8, 0, true, true),   // 95.7%
        (3136, 128, 512) => (14, 2, 32, 2, true, true),  // 88.7%
        (784, 1024, 256) => (32, 1, 16, 2, false, false), // 93.5%
        _ => return None,
    };
    let s = GemmSchedule {
        ti,
        tj,
        tk,
        order: ijk,
        a_level: 1,
        b_level,
        double_buffer_a: db_a,
        double_buffer_b: true,
        double_buffer_c: true,
        a_width: 4,
        b_width: 4,
        c_width: 4,
        skip_redundant: true,
        unroll: 4,
        spread: true,
        inner_k_outer: false,
        interleave_store: true,
        prefetch_a: pf_a,
        prefetch_b: false,
        stream_first: false,
        bank_halves: false,
    };
    s.validate(hw, m, n, k).ok().map(|()| s)
}

/// The tile sizes (in DIM blocks) the GEMM tilers try along a dimension of `total` blocks: a fixed ladder
/// up to `total`, and `total` itself.
pub(crate) fn tile_options(total: u64) -> Vec<u32> {
    let mut v: Vec<u32> = [1u64, 2, 4, 8, 12, 16, 24, 32, 48, 64]
        .iter()
        .copied()
        .filter(|&t| t <= total)
        .map(|t| t as u32)
        .collect();
    v.push(total.min(u64::from(u32::MAX)) as u32);
    v.sort_unstable();
    v.dedup();
    v
}

fn hand_gemm(hw: &HwConfig, m: u64, n: u64, k: u64) -> anyhow::Result<GemmSchedule> {
    if let Some(s) = tuned_gemm(hw, m, n, k) {
        return Ok(s);
    }
    let dim = u64::from(hw.dim());
    let (mb, nb, kb) = (m.div_ceil(dim), n.div_ceil(dim), k.div_ceil(dim));
    let mbl = hw.max_block_len();
    let mut best: Option<(f64, GemmSchedule)> = None;
    for order in [
        Order([Dim::I, Dim::J, Dim::K]),
        Order([Dim::J, Dim::I, Dim::K]),
    ] {
        for ti in tile_options(mb) {
            for tj in tile_options(nb) {
                for tk in tile_options(kb) {
                    // The operand of the outer loop stays resident across the middle loop; the other
                    // one per tile, or wholly resident when it is small.
                    let levels: [(u8, u8); 2] = if order.0[0] == Dim::I {
                        [(1, 2), (1, 0)]
                    } else {
                        [(2, 1), (0, 1)]
                    };
                    for (a_level, b_level) in levels {
                        for (db_a, db_c, il) in [
                            (true, true, false),
                            (false, true, false),
                            (true, false, false),
                            (false, false, false),
                            (true, true, true),
                            (false, true, true),
                        ] {
                            for pf in [false, true] {
                                // Prefetch the outer operand's panels (needs its double buffer).
                                let pf_ok = if order.0[0] == Dim::I {
                                    db_a && a_level == 1
                                } else {
                                    b_level == 1
                                };
                                if pf && !pf_ok {
                                    continue;
                                }
                                let s = GemmSchedule {
                                    ti,
                                    tj,
                                    tk,
                                    order,
                                    a_level,
                                    b_level,
                                    double_buffer_a: db_a,
                                    double_buffer_b: true,
                                    double_buffer_c: db_c,
                                    a_width: mbl,
                                    b_width: mbl,
                                    c_width: mbl,
                                    skip_redundant: true,
                                    unroll: 4,
                                    spread: true,
                                    inner_k_outer: false,
                                    interleave_store: il,
                                    prefetch_a: pf && order.0[0] == Dim::I,
                                    prefetch_b: pf && order.0[0] == Dim::J,
                                    stream_first: false,
                                    bank_halves: false,
                                };
                                if s.validate(hw, m, n, k).is_err() {
                                    continue;
                                }
                                // Measured on the RTL: a single-buffered accumulator costs a few
                                // percent (the next tile waits for the mvout).
                                let cost =
                                    gemm_cost(hw, &s, m, n, k) * if db_c { 1.0 } else { 1.02 };
                                if best.as_ref().is_none_or(|(c, _)| cost < *c) {
                                    best = Some((cost, s));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    match best {
        Some((_, s)) => Ok(s),
        None => {
            let s = GemmSchedule::naive();
            s.validate(hw, m, n, k)?;
            Ok(s)
        }
    }
}

fn hand_conv(
    hw: &HwConfig,
    batch: u64,
    p: u64,
    q: u64,
    c: u64,
    k: u64,
) -> anyhow::Result<ConvSchedule> {
    let dim = u64::from(hw.dim());
    let (kb, qb) = (k.div_ceil(dim), q.div_ceil(dim));
    let mbl = hw.max_block_len();
    let mut best: Option<(u64, ConvSchedule)> = None;
    for tk in (1..=kb).rev() {
        for tq in (1..=qb).rev() {
            for tp in (1..=p.min(16)).rev() {
                for weights_resident in [true, false] {
                    let s = ConvSchedule {
                        tp: tp as u32,
                        tq: tq as u32,
                        tk: tk as u32,
                        weights_resident,
                        input_reuse: true,
                        double_buffer_in: true,
                        double_buffer_w: true,
                        double_buffer_c: true,
                        in_width: mbl,
                        w_width: mbl,
                        prefetch_in: false,
                        interleave_store: false,
                    };
                    if s.validate(hw, batch, p, q, c, k).is_err() {
                        continue;
                    }
                    // Prefer the largest output tile (weight reuse across pixels), then resident weights.
                    let score = tp * tq * tk * 2 + u64::from(weights_resident);
                    if best.as_ref().is_none_or(|(b, _)| score > *b) {
                        best = Some((score, s));
                    }
                }
            }
        }
    }
    match best {
        Some((_, s)) => Ok(s),
        None => {
            let s = ConvSchedule::naive();
            s.validate(hw, batch, p, q, c, k)?;
            Ok(s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp32_config() -> HwConfig {
        HwConfig::from_file(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rtl/configs/fp32_4x4.toml"),
        )
        .unwrap()
    }

    #[test]
    fn json_names_are_the_command_line_names() {
        for b in Baseline::ALL {
            let json = serde_json::to_string(&b).unwrap();
            assert_eq!(json, format!("\"{}\"", b.name()));
            assert_eq!(Baseline::parse(b.name()).unwrap(), b);
            assert_eq!(serde_json::from_str::<Baseline>(&json).unwrap(), b);
        }
        // Run directories written before the names were unified still read.
        let old: Baseline = serde_json::from_str("\"hand_optimized\"").unwrap();
        assert_eq!(old, Baseline::HandOptimized);
        let old: Baseline = serde_json::from_str("\"hardware_fsm\"").unwrap();
        assert_eq!(old, Baseline::HardwareFsm);
    }

    #[test]
    fn every_baseline_generates_for_every_workload() {
        let (int8, fp32) = (HwConfig::default_config(), fp32_config());
        for w in crate::bench::workload::all() {
            let hw = if w.input_type() == "fp32" {
                &fp32
            } else {
                &int8
            };
            for b in Baseline::ALL {
                match program(hw, &w, b) {
                    Ok(c) => {
                        assert!(applies(&w, b), "{} {}", w.name, b.name());
                        assert!(c.contains(&w.signature()), "{} {}", w.name, b.name());
                        // exactly one definition of solution()
                        assert_eq!(
                            c.matches("void solution(").count(),
                            1,
                            "{} {}",
                            w.name,
                            b.name()
                        );
                    }
                    Err(e) => {
                        assert!(!applies(&w, b), "{} {}: {e:#}", w.name, b.name());
                        let msg = format!("{e:#}");
                        assert!(
                            msg.contains("does not apply") && msg.contains(&w.name),
                            "{msg}"
                        );
                    }
                }
            }
        }
        assert_eq!(Baseline::parse("hand").unwrap(), Baseline::HandOptimized);
        assert!(Baseline::parse("best").is_err());
    }

    #[test]
    fn mpc_baselines_check_the_configuration() {
        let w = crate::bench::workload::by_name("tinympc_forward").unwrap();
        // The hand-written program needs the 4x4 fp32 array; the naive one runs on the core alone.
        let e = format!(
            "{:#}",
            program(&HwConfig::default_config(), &w, Baseline::HandOptimized).unwrap_err()
        );
        assert!(e.contains("fp32") && e.contains("int8"), "{e}");
        let mut wide = fp32_config();
        wide.array.dim = 8;
        let e = format!(
            "{:#}",
            program(&wide, &w, Baseline::HandOptimized).unwrap_err()
        );
        assert!(e.contains("4x4") && e.contains("DIM 8"), "{e}");
        assert!(program(&wide, &w, Baseline::Naive).is_ok());
        // A workload of another shape is refused by name, not run with the wrong sizes.
        let other = Workload::mpc_forward("tinympc_forward_h7", "test", 7);
        let e = format!(
            "{:#}",
            program(&fp32_config(), &other, Baseline::Naive).unwrap_err()
        );
        assert!(
            e.contains("tinympc_forward_h7") && e.contains("signature"),
            "{e}"
        );
        assert!(hand_schedule(&fp32_config(), &w).is_err());
    }

    #[test]
    fn library_arguments() {
        let hw = HwConfig::default_config();
        let w = crate::bench::workload::by_name("gemm_20x36x24").unwrap();
        let c = program(&hw, &w, Baseline::HardwareFsm).unwrap();
        assert!(c.contains("tiled_matmul_auto(20, 36, 24,"), "{c}");
        assert!(c.contains(", WS);"), "{c}");
        let w = crate::bench::workload::by_name("conv_b1_8x16").unwrap();
        let c = program(&hw, &w, Baseline::Library).unwrap();
        assert!(
            c.contains("tiled_conv_auto(1, 10, 10, 16, 16, 8, 8, 1, 1, 1, 0, 3,"),
            "{c}"
        );
        assert!(c.contains("WS_CPU_ISSUED);"), "{c}");
    }
}

//! Differential tests: random legal command streams (tests/support/gen.rs) run through the functional model and the
//! Verilated RTL; final main memory, every scratchpad and accumulator row, and the number of responses must
//! agree exactly (docs/accelerator.md).
//!
//! Environment:
//! - `GEMFORGE_DIFF_CASES=<n>`: cases per test (default: sized so the whole file takes well under a minute
//!   in --release on two cores).
//! - `GEMFORGE_DIFF_SEED=<seed>`: run only that seed (in every test; pick the test by name), and print the
//!   command list.
//! - `GEMFORGE_DIFF_BASE=<n>`: shift the seed range (explore new seeds).
//!
//! Each test has its own seed range (family base + i), so a seed names one case of one test.

use crate::gen::{
    conv_layer_case, conv_layer_stream, loop_conv_stream, loop_ws_stream, random_stream, ConvLayer,
    ConvLayerCase, GenOpts,
};
use gemforge::sim::accel::rtl::RtlAccel;
use gemforge::sim::accel::spec::SpecAccel;
use gemforge::sim::accel::stream::{
    listing, run_stream, HarnessOpts, StreamCase, StreamReport, IN_BASE, IN_SIZE, OUT_BASE,
    OUT_SIZE,
};
use gemforge::sim::accel::{AccelError, Accelerator, ErrorKind};
use gemforge::sim::config::{HwConfig, MemoryTiming};
use gemforge::sim::isa::{
    Command, ConfigLd, ConfigNorm, ConfigSt, Funct, LocalAddr, LoopWs, Operand, RoccCmd, SCALE_ONE,
};
use gemforge::sim::mem::Memory;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Memory timing varied by seed, so the same stream meets different interleavings across cases.
fn timing_for(seed: u64) -> MemoryTiming {
    let latency = [40, 1, 3, 17, 100][(seed % 5) as usize];
    let bytes_per_cycle = [16, 64, 4, 16][((seed / 5) % 4) as usize];
    let max_in_flight = [32, 2, 1, 8, 32, 64][((seed / 20) % 6) as usize];
    MemoryTiming {
        latency,
        bytes_per_cycle,
        max_in_flight,
        ..MemoryTiming::default()
    }
}

fn harness_opts() -> HarnessOpts {
    HarnessOpts {
        watchdog_cycles: 20_000,
        max_cycles: 5_000_000,
    }
}

/// The state both engines end in.
struct Outcome {
    mem: Memory,
    report: StreamReport,
    sp: Vec<Vec<i32>>,
    acc: Vec<Vec<i32>>,
}

/// A mutation family must exercise both outcomes: with the default seed range (not one chosen seed), at least
/// a tenth of the mutated streams must be refused by both engines and at least a tenth accepted, or the family
/// tests nothing (a generator or mutator that stopped producing illegal streams, or legal ones, fails here).
fn assert_refusal_mix(name: &str, cases: usize, refused: usize) {
    if env_u64("GEMFORGE_DIFF_SEED").is_some() || cases < 20 {
        return;
    }
    assert!(
        refused * 10 >= cases && (cases - refused) * 10 >= cases,
        "{name}: {refused} of {cases} mutated streams refused; expected between 10% and 90%"
    );
}

fn run_engine(
    acc: &mut dyn Accelerator,
    case: &StreamCase,
    cmds: &[RoccCmd],
    sp_rows: u32,
    acc_rows: u32,
) -> Result<Outcome, AccelError> {
    let mut mem = case.mem.clone();
    let report = run_stream(acc, &mut mem, cmds, &harness_opts())?;
    let sp = (0..sp_rows).map(|r| acc.read_sp_row(r)).collect();
    let accv = (0..acc_rows).map(|r| acc.read_acc_row(r)).collect();
    Ok(Outcome {
        mem,
        report,
        sp,
        acc: accv,
    })
}

/// Runs `cmds` (a prefix of the case's stream) on both engines; None if they agree, else what differs.
/// Runs a mutated stream on both engines: `Ok(true)` when both refuse it with the same error at the same
/// command, `Ok(false)` when both accept it and end equal, `Err` with what differs otherwise. With
/// `fault_may_lack_cmd`, two MEMORY_FAULTs agree on their kind alone (a mutated DRAM geometry may fault,
/// and the RTL's memory reports it without the command).
fn judge_mutated(
    cfg: &HwConfig,
    case: &StreamCase,
    fault_may_lack_cmd: bool,
) -> Result<bool, String> {
    let mut spec = SpecAccel::new(cfg);
    let mut ms = case.mem.clone();
    let es = run_stream(&mut spec, &mut ms, &case.cmds, &harness_opts()).err();
    let mut rtl = RtlAccel::new(cfg).expect("RTL model");
    let mut mr = case.mem.clone();
    let er = run_stream(&mut rtl, &mut mr, &case.cmds, &harness_opts()).err();
    match (&es, &er) {
        (None, None) => compare(cfg, case, &case.cmds).map_or(Ok(false), Err),
        (Some(a), Some(b))
            if a.kind == b.kind
                && (a.cmd == b.cmd || (fault_may_lack_cmd && a.kind == ErrorKind::MemoryFault)) =>
        {
            Ok(true)
        }
        _ => Err(format!(
            "spec: {}\n  rtl: {}",
            es.as_ref()
                .map_or("accepted".to_string(), |e| e.to_string()),
            er.as_ref()
                .map_or("accepted".to_string(), |e| e.to_string())
        )),
    }
}

fn compare(cfg: &HwConfig, case: &StreamCase, cmds: &[RoccCmd]) -> Option<String> {
    let mut spec = SpecAccel::new(cfg);
    let s = match run_engine(&mut spec, case, cmds, cfg.sp_rows(), cfg.acc_rows()) {
        Ok(o) => o,
        Err(e) => {
            return Some(format!(
                "the spec engine refused the stream (generator bug): {e}"
            ))
        }
    };
    let mut rtl = RtlAccel::new(cfg).expect("RTL model");
    let r = match run_engine(&mut rtl, case, cmds, cfg.sp_rows(), cfg.acc_rows()) {
        Ok(o) => o,
        Err(e) => return Some(format!("the RTL failed: {e}")),
    };
    if let Some((addr, a, b)) = s.mem.first_difference(&r.mem) {
        let region = if (case.out_region.0..case.out_region.0 + case.out_region.1).contains(&addr) {
            format!("output region + 0x{:x}", addr - case.out_region.0)
        } else {
            "outside the output region".to_string()
        };
        return Some(format!(
            "main memory differs first at 0x{addr:x} ({region}): spec 0x{a:02x} ({}), rtl 0x{b:02x} ({})",
            a as i8, b as i8
        ));
    }
    for (row, (a, b)) in s.sp.iter().zip(&r.sp).enumerate() {
        if a != b {
            let j = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(0);
            return Some(format!(
                "scratchpad row {row} differs first at element {j}: spec {} rtl {}\n  spec row {a:?}\n  rtl  row {b:?}",
                a[j], b[j]
            ));
        }
    }
    for (row, (a, b)) in s.acc.iter().zip(&r.acc).enumerate() {
        if a != b {
            let j = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(0);
            return Some(format!(
                "accumulator row {row} differs first at element {j}: spec {} rtl {}\n  spec row {a:?}\n  rtl  row {b:?}",
                a[j], b[j]
            ));
        }
    }
    if s.report.responses.len() != r.report.responses.len() {
        return Some(format!(
            "response counts differ: spec {} rtl {}",
            s.report.responses.len(),
            r.report.responses.len()
        ));
    }
    let rd_s: Vec<u8> = s.report.responses.iter().map(|x| x.rd).collect();
    let rd_r: Vec<u8> = r.report.responses.iter().map(|x| x.rd).collect();
    if rd_s != rd_r {
        return Some(format!(
            "response rd order differs: spec {rd_s:?} rtl {rd_r:?}"
        ));
    }
    None
}

/// The shortest prefix of the stream that still shows a difference (binary search over prefixes that do
/// not end between a preload and its compute, which the RTL would wait on forever; a difference that a
/// later command hides can make this an over-estimate).
fn shortest_failing_prefix(cfg: &HwConfig, case: &StreamCase) -> usize {
    let mut cuts = vec![0usize];
    let mut pending = false;
    for (i, c) in case.cmds.iter().enumerate() {
        match Command::decode(*c) {
            Command::Preload { .. } => pending = true,
            Command::Compute { .. } => pending = false,
            _ => {}
        }
        if !pending {
            cuts.push(i + 1);
        }
    }
    let (mut lo, mut hi) = (0usize, cuts.len() - 1);
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        if compare(cfg, case, &case.cmds[..cuts[mid]]).is_some() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    cuts[hi]
}

fn family(name: &str, base: u64, default_cases: u64, opts: GenOpts) {
    family_with(name, base, default_cases, |cfg, seed| {
        random_stream(cfg, seed, &opts)
    });
}

/// A test's seeds: `GEMFORGE_DIFF_SEED` alone, else `GEMFORGE_DIFF_CASES` (or `default_cases`) seeds from
/// the family's `base`, shifted by `GEMFORGE_DIFF_BASE`.
fn seeds(base: u64, default_cases: u64) -> Vec<u64> {
    let n = env_u64("GEMFORGE_DIFF_CASES").unwrap_or(default_cases);
    let shift = env_u64("GEMFORGE_DIFF_BASE").unwrap_or(0);
    match env_u64("GEMFORGE_DIFF_SEED") {
        Some(s) => vec![s],
        None => (0..n).map(|i| base + shift + i).collect(),
    }
}

fn family_with(
    name: &str,
    base: u64,
    default_cases: u64,
    gen: impl Fn(&HwConfig, u64) -> StreamCase,
) {
    let only = env_u64("GEMFORGE_DIFF_SEED");
    let seeds = seeds(base, default_cases);
    let t0 = Instant::now();
    let mut failures = Vec::new();
    let mut total_cmds = 0usize;
    for &seed in &seeds {
        let mut cfg = HwConfig::default_config();
        cfg.memory = timing_for(seed);
        let case = gen(&cfg, seed);
        total_cmds += case.cmds.len();
        if only.is_some() {
            println!(
                "{name}: seed {seed}, memory {:?}\n{}",
                cfg.memory,
                case.listing()
            );
        }
        if let Some(diff) = compare(&cfg, &case, &case.cmds) {
            let k = shortest_failing_prefix(&cfg, &case);
            let diff_k = compare(&cfg, &case, &case.cmds[..k]).unwrap_or_default();
            let msg = format!(
                "=== {name}: MISMATCH for seed {seed} (reproduce: GEMFORGE_DIFF_SEED={seed} cargo test --release \
                 --test sim {name} -- --nocapture)\nmemory timing {:?}\n\
                 after all {} commands: {diff}\n\
                 a difference first appears after {k} commands (last one: #{}): {diff_k}\n{}",
                cfg.memory,
                case.cmds.len(),
                k.saturating_sub(1),
                listing(&case.cmds[..k.min(case.cmds.len())])
            );
            eprintln!("{msg}");
            failures.push(seed);
            if failures.len() >= 3 {
                break;
            }
        }
    }
    println!(
        "{name}: {} cases ({} commands) in {:.1}s, {} failed",
        seeds.len(),
        total_cmds,
        t0.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{name}: mismatching seeds {failures:?}"
    );
}

#[test]
fn diff_data_movement() {
    family(
        "diff_data_movement",
        1_000_000,
        1200,
        GenOpts::data_movement(),
    );
}

#[test]
fn diff_ws() {
    family("diff_ws", 2_000_000, 1500, GenOpts::ws_only());
}

#[test]
fn diff_os() {
    family("diff_os", 3_000_000, 1500, GenOpts::os_only());
}

#[test]
fn diff_mixed() {
    family("diff_mixed", 4_000_000, 2500, GenOpts::mixed());
}

#[test]
fn diff_tight_windows() {
    family("diff_tight_windows", 5_000_000, 1200, GenOpts::tight());
}

#[test]
fn diff_long_streams() {
    family("diff_long_streams", 6_000_000, 200, GenOpts::long());
}

/// LOOP_WS streams (docs/accelerator.md section 6): the RTL's sub-FSMs interleave the unrolled commands, the
/// spec model runs them in the unroller's order; every result must be equal.
#[test]
fn diff_loop_ws() {
    family_with("diff_loop_ws", 7_000_000, 300, loop_ws_stream);
}

/// LOOP_CONV_WS streams (docs/accelerator.md section 6): the RTL's conv unit issues the unrolled commands into
/// the reservation station, which overlaps them; the spec model runs them in order; every result must be equal.
#[test]
fn diff_loop_conv() {
    family_with("diff_loop_conv", 9_000_000, 500, loop_conv_stream);
}

/// A stream of normalizer work (docs/accelerator.md section 2.2): accumulator rows loaded with full-range
/// int32 or small int8 values, then config_norm (random constants, act_msb, stat ids), config_st (activation,
/// scale, pooling now and then) and accumulator mvouts with random normalizer commands, rows and columns.
fn norm_stream(cfg: &HwConfig, seed: u64) -> StreamCase {
    let mut case = random_stream(cfg, seed, &GenOpts::data_movement());
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6e6f_726d);
    let dim = cfg.dim() as u64;
    let mbl = cfg.max_block_len() as u64;
    let acc_rows = 64u32.min(cfg.acc_rows());
    let mut cmds: Vec<RoccCmd> = Vec::new();
    let mut pooling = false;
    // Fill 64 accumulator rows: int32 (shrink 0) or int8 sign-extended (shrink 1), 16 rows per mvin.
    for blk in 0..acc_rows / 16 {
        let shrink = rng.gen_bool(0.5);
        let eb = if shrink { 1 } else { 4 };
        let ld = ConfigLd {
            shrink,
            stride: dim * eb,
            ..ConfigLd::reset_states(dim as u16)[2]
        };
        cmds.push(ld.encode());
        let span = 16 * dim * eb;
        let dram = IN_BASE + rng.gen_range(0..(IN_SIZE - span) / 16) * 16;
        cmds.push(
            Command::Mvin {
                state: 2,
                dram,
                op: Operand::new(LocalAddr::acc(blk * 16), dim as u16, 16),
            }
            .encode(),
        );
    }
    let n = rng.gen_range(20..60);
    for _ in 0..n {
        match rng.gen_range(0..10) {
            0 | 1 => {
                let c = ConfigNorm {
                    q_const: match rng.gen_range(0..3) {
                        0 => rng.gen_range(1..40),
                        1 => rng.gen_range(1000..70000),
                        _ => rng.gen(),
                    },
                    q_const_type: rng.gen(),
                    set_stats_id_only: rng.gen_bool(0.4),
                    act_msb: rng.gen(),
                    stat_id: rng.gen(),
                    qb: if rng.gen_bool(0.7) {
                        rng.gen_range(-80..80i32) as u32
                    } else {
                        rng.gen()
                    },
                    qc: if rng.gen_bool(0.7) {
                        rng.gen_range(-3000..3000i32) as u32
                    } else {
                        rng.gen()
                    },
                };
                cmds.push(c.encode());
            }
            2 => {
                pooling = rng.gen_bool(0.15);
                let mut st = ConfigSt::new(rng.gen_range(1..=4) as u32 * dim as u32 * 4);
                st.act = rng.gen_range(0..4);
                st.acc_scale = match rng.gen_range(0..5) {
                    0 => SCALE_ONE,
                    1 => 0.5f32.to_bits(),
                    2 => 0.01f32.to_bits(),
                    3 => ConfigSt::SCALE_UNCHANGED,
                    _ => rng.gen(),
                };
                if pooling {
                    st.pool_stride = rng.gen_range(1..=2);
                    st.pool_size = rng.gen_range(1..=3);
                    st.upad = rng.gen_range(0..2);
                    st.lpad = rng.gen_range(0..2);
                    st.orows = 4;
                    st.ocols = 4;
                    st.porows = 2;
                    st.pocols = 2;
                    st.pool_out_dim = 2;
                }
                cmds.push(st.encode());
            }
            _ => {
                // A pooled mvout may only carry command 0 (else UNSUPPORTED, tested in diff_errors).
                let cmd: u32 = if pooling { 0 } else { rng.gen_range(0..8) };
                let full = !pooling && rng.gen_bool(0.15);
                let cols = if pooling || full {
                    rng.gen_range(1..=dim)
                } else {
                    rng.gen_range(1..=dim * mbl)
                };
                let rows = if pooling {
                    1
                } else {
                    rng.gen_range(1..=dim.min(4))
                };
                let extent = if pooling {
                    16
                } else {
                    (cols.div_ceil(dim) - 1) * dim + rows
                };
                let row = rng.gen_range(0..=acc_rows as u64 - extent) as u32;
                let mut addr = LocalAddr::acc(row);
                addr.0 |= cmd << 26;
                if full {
                    addr.0 |= LocalAddr::READ_FULL_BIT;
                }
                let dram = OUT_BASE + rng.gen_range(0..(OUT_SIZE / 2) / 64) * 64;
                cmds.push(
                    Command::Mvout {
                        dram,
                        op: Operand::new(addr, cols as u16, rows as u16),
                    }
                    .encode(),
                );
            }
        }
    }
    case.cmds = cmds;
    case
}

/// Random normalizer mvouts (LayerNorm/Softmax statistics, iGELU, the finishing reciprocals, stat ids,
/// pooled read-outs): both engines agree on every byte.
#[test]
fn diff_norm_mvouts() {
    family_with("diff_norm_mvouts", 14_000_000, 400, norm_stream);
}

/// LOOP_WS streams whose loops ask for LayerNorm, iGELU or Softmax (a config_norm with random constants
/// before each): the RTL's normalizing store sub-FSM against the spec model's unrolled order.
#[test]
fn diff_loop_ws_norm() {
    family_with("diff_loop_ws_norm", 12_000_000, 200, |cfg, seed| {
        let mut case = loop_ws_stream(cfg, seed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6c6e);
        let mut cmds = Vec::with_capacity(case.cmds.len() + 8);
        for c in case.cmds.iter().copied() {
            if c.funct == Funct::LoopWs as u8 {
                let m = LoopWs::decode(c.rs1, c.rs2);
                let act = if m.full_c || m.is_resadd {
                    3
                } else {
                    rng.gen_range(2..=4u8)
                };
                cmds.push(
                    ConfigNorm {
                        q_const: rng.gen_range(5..30),
                        q_const_type: false,
                        act_msb: act == 4,
                        qb: rng.gen_range(-60..40i32) as u32,
                        qc: rng.gen_range(-3000..3000i32) as u32,
                        ..ConfigNorm::default()
                    }
                    .encode(),
                );
                cmds.push(
                    ConfigNorm {
                        q_const: rng.gen_range(2000..9000),
                        q_const_type: true,
                        act_msb: act == 4,
                        qb: rng.gen_range(-60..40i32) as u32,
                        qc: rng.gen_range(-3000..3000i32) as u32,
                        ..ConfigNorm::default()
                    }
                    .encode(),
                );
                cmds.push(LoopWs { act, ..m }.encode());
            } else {
                cmds.push(c);
            }
        }
        case.cmds = cmds;
        case
    });
}

/// Runs a conformance case on both engines: the output must equal the host reference, and the engines must
/// agree on everything (memory, scratchpad, accumulator). None when both hold, else what differs.
fn judge_layer(cfg: &HwConfig, c: &ConvLayerCase) -> Option<String> {
    let mut spec = SpecAccel::new(cfg);
    let s = match run_engine(&mut spec, &c.case, &c.case.cmds, 0, 0) {
        Ok(o) => o,
        Err(e) => return Some(format!("the spec engine refused the layer: {e}")),
    };
    let mut got = vec![0u8; c.expected.len()];
    s.mem.read(c.output, &mut got).expect("output in memory");
    if let Some(i) = got.iter().zip(&c.expected).position(|(a, b)| a != b) {
        return Some(format!(
            "spec output differs from the host reference at byte {i} of {}: got {} want {}",
            got.len(),
            got[i] as i8,
            c.expected[i] as i8
        ));
    }
    compare(cfg, &c.case, &c.case.cmds)
}

/// Gemmini's own bareMetalC convolution shapes (gemmini-rocc-tests `conv.c`, `conv_rect.c`: stride 2 and
/// padding 1, one tile per layer as Gemmini's tiled_conv_auto picks for them) against the host reference on
/// both engines. Regression for issue 12: the window was `(orows-1)*stride + krows` rows instead of Gemmini's
/// `orows*stride + krows - 1`, against which Gemmini's software counts dpad/rpad, so the last image row and
/// column were zeroed at stride 2 and both engines were silently wrong.
#[test]
fn conv_gemmini_shapes_match_reference() {
    let cfg = HwConfig::default_config();
    let base = ConvLayer {
        batch_size: 2,
        in_row_dim: 17,
        in_col_dim: 17,
        in_channels: 18,
        out_channels: 19,
        kernel_dim: 3,
        stride: 2,
        padding: 1,
        input_dilation: 1,
        kernel_dilation: 1,
        bias: true,
        scale_shift: 3,
        tile: [2, 9, 9, 19, 3, 3, 18],
        ..ConvLayer::default()
    };
    let rect = ConvLayer {
        in_row_dim: 7,
        in_col_dim: 11,
        in_channels: 17,
        out_channels: 18,
        tile: [2, 4, 6, 18, 3, 3, 17],
        ..base
    };
    let mut failures = Vec::new();
    for (name, l) in [("conv", base), ("conv_rect", rect)] {
        let c = conv_layer_case(&cfg, &l, 1).expect("the layer fits");
        assert_eq!(c.tiles, 1, "{name}: one tile");
        if let Some(d) = judge_layer(&cfg, &c) {
            eprintln!("{name}: {d}");
            failures.push(name);
        }
    }
    assert!(failures.is_empty(), "wrong results: {failures:?}");
}

/// Whole convolution layers over Gemmini's LOOP_CONV_WS space (strides 1-3, paddings, both dilations,
/// rot180, every transpose, depthwise, downsampling, max-pooling, batch > 1, channel counts across DIM,
/// random tilings), issued as Gemmini's tiled_conv issues them: the output must equal the host reference
/// convolution and the two engines must agree exactly.
#[test]
fn diff_conv_layers() {
    let seeds = seeds(11_000_000, 120);
    let only = env_u64("GEMFORGE_DIFF_SEED");
    let t0 = Instant::now();
    let (mut failures, mut tiles) = (Vec::new(), 0usize);
    for &seed in &seeds {
        let mut cfg = HwConfig::default_config();
        cfg.memory = timing_for(seed);
        let c = conv_layer_stream(&cfg, seed);
        tiles += c.tiles;
        if only.is_some() {
            println!("diff_conv_layers: seed {seed}\n{}", c.case.listing());
        }
        if let Some(d) = judge_layer(&cfg, &c) {
            eprintln!(
                "=== diff_conv_layers: MISMATCH for seed {seed} (reproduce: GEMFORGE_DIFF_SEED={seed} cargo test \
                 --release --test sim diff_conv_layers -- --nocapture)\n{:?}\n{d}",
                c.layer
            );
            failures.push(seed);
            if failures.len() >= 3 {
                break;
            }
        }
    }
    println!(
        "diff_conv_layers: {} layers ({tiles} LOOP_CONV_WS tiles) in {:.1}s, {} failed",
        seeds.len(),
        t0.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "diff_conv_layers: mismatching seeds {failures:?}"
    );
}

/// Mutated LOOP_CONV_WS streams: a bit of one conv configuration command (funct 16-21 field bits, never the
/// DRAM addresses), of the LOOP_CONV_WS mode bits, or of the config_ex / config_st before it is flipped, often
/// making the descriptor illegal. Both engines must refuse it with the same error at the same command, or
/// accept it with equal results.
#[test]
fn diff_loop_conv_errors() {
    let seeds = seeds(10_000_000, 300);
    let (mut failures, mut refused) = (Vec::new(), 0usize);
    for &seed in &seeds {
        let mut cfg = HwConfig::default_config();
        cfg.memory = timing_for(seed);
        let mut case = loop_conv_stream(&cfg, seed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xc0de);
        let targets: Vec<usize> = case
            .cmds
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c.funct, 0 | 15..=19))
            .map(|(i, _)| i)
            .collect();
        let k = targets[rng.gen_range(0..targets.len())];
        let c = &mut case.cmds[k];
        match c.funct {
            // sizes, pads, strides: one bit of a 16-bit field, or a whole field set to 0 or 1
            16..=19 => {
                let reg = if rng.gen() { &mut c.rs1 } else { &mut c.rs2 };
                match rng.gen_range(0..3) {
                    0 => *reg ^= 1 << rng.gen_range(0..64),
                    1 => *reg &= !(0xffff << (16 * rng.gen_range(0..4))),
                    _ => *reg ^= 1 << (16 * rng.gen_range(0..4)),
                }
            }
            15 => {
                if rng.gen_bool(0.6) {
                    c.rs1 ^= 1 << [0, 1, 2, 3, 4, 5, 6, 9, 16, 17, 18, 19][rng.gen_range(0..12)];
                } else {
                    c.rs2 ^= 1 << rng.gen_range(0..5);
                }
            }
            // config_ex (dataflow, transposes, a_stride, c_stride) / config_st (act, pooling, stride)
            _ => {
                if rng.gen_bool(0.7) {
                    c.rs1 ^= 1 << [2, 3, 4, 5, 8, 9, 16, 17][rng.gen_range(0..8)];
                } else {
                    c.rs2 ^= 1 << [0, 1, 48, 49][rng.gen_range(0..4)];
                }
            }
        }
        let mutated = case.cmds[k];
        let problem = match judge_mutated(&cfg, &case, true) {
            Ok(both_refused) => {
                refused += usize::from(both_refused);
                None
            }
            Err(p) => Some(p),
        };
        if let Some(p) = problem {
            eprintln!(
                "=== diff_loop_conv_errors: MISMATCH for seed {seed} (reproduce: GEMFORGE_DIFF_SEED={seed} cargo \
                 test --release --test sim diff_loop_conv_errors -- --nocapture)\n{p}\nmutated command \
                 #{k}: {mutated}\n{}",
                case.listing()
            );
            failures.push(seed);
            if failures.len() >= 3 {
                break;
            }
        }
    }
    println!(
        "diff_loop_conv_errors: {} cases ({refused} refused by both engines), {} failed",
        seeds.len(),
        failures.len()
    );
    assert_refusal_mix("diff_loop_conv_errors", seeds.len(), refused);
    assert!(
        failures.is_empty(),
        "diff_loop_conv_errors: mismatching seeds {failures:?}"
    );
}

/// Mutated LOOP_WS streams: one field of a loop's bounds, its mode bits, or the config_ex / config_ld before it
/// is changed at random, often making the descriptor illegal. Both engines must refuse it with the same error
/// and command (the LOOP_WS, never a generated command), or accept it with equal results.
#[test]
fn diff_loop_errors() {
    let seeds = seeds(8_000_000, 150);
    let (mut failures, mut refused) = (Vec::new(), 0usize);
    for &seed in &seeds {
        let mut cfg = HwConfig::default_config();
        cfg.memory = timing_for(seed);
        let mut case = loop_ws_stream(&cfg, seed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x100b);
        let targets: Vec<usize> = case
            .cmds
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c.funct, 0 | 8 | 9))
            .map(|(i, _)| i)
            .collect();
        let k = targets[rng.gen_range(0..targets.len())];
        let c = &mut case.cmds[k];
        match c.funct {
            // bounds and pads: small values, zero, or at/over DIM and the half-memory limits
            9 => {
                let field = rng.gen_range(0..6u32);
                let v: u64 = match rng.gen_range(0..3) {
                    0 => 0,
                    1 => rng.gen_range(1..20),
                    _ => rng.gen_range(20..80),
                };
                let (reg, sh) = if field < 3 {
                    (&mut c.rs1, 16 * field)
                } else {
                    (&mut c.rs2, 16 * (field - 3))
                };
                *reg = (*reg & !(0xffff << sh)) | (v << sh);
            }
            // mode bits: flags, act, spad ids, transposes, resadd, the 2025 extension bits
            8 => {
                if rng.gen_bool(0.5) {
                    c.rs1 ^= 1 << [0, 1, 2, 8, 9, 10, 16, 17, 18, 19][rng.gen_range(0..10)];
                } else {
                    c.rs2 ^= 1 << [0, 1, 2, 3, 9, 40][rng.gen_range(0..6)];
                }
            }
            // config_ex / config_ld / config_st: dataflow, transposes, strides, block stride, shrink, pooling
            _ => {
                let bit = [2, 4, 5, 7, 8, 9, 16, 17, 20, 31][rng.gen_range(0..10)];
                c.rs1 ^= 1 << bit;
                // config_ex's c_stride (not config_ld's DRAM stride: a memory fault is not a rule)
                if c.rs1 & 3 == 0 && rng.gen_bool(0.2) {
                    c.rs2 ^= 1 << 48;
                }
            }
        }
        let mutated = case.cmds[k];
        let problem = match judge_mutated(&cfg, &case, false) {
            Ok(both_refused) => {
                refused += usize::from(both_refused);
                None
            }
            Err(p) => Some(p),
        };
        if let Some(p) = problem {
            eprintln!(
                "=== diff_loop_errors: MISMATCH for seed {seed} (reproduce: GEMFORGE_DIFF_SEED={seed} cargo test \
                 --release --test sim diff_loop_errors -- --nocapture)\n{p}\nmutated command #{k}: \
                 {mutated}\n{}",
                case.listing()
            );
            failures.push(seed);
            if failures.len() >= 3 {
                break;
            }
        }
    }
    println!(
        "diff_loop_errors: {} cases ({refused} refused by both engines), {} failed",
        seeds.len(),
        failures.len()
    );
    assert_refusal_mix("diff_loop_errors", seeds.len(), refused);
    assert!(
        failures.is_empty(),
        "diff_loop_errors: mismatching seeds {failures:?}"
    );
}

/// A random mutation of `c` that is often illegal: funct, a rows/cols field, address bits, config bits.
/// DRAM addresses are never changed (a fault is the memory's, not a rule of the document).
fn mutate(rng: &mut ChaCha8Rng, c: RoccCmd) -> RoccCmd {
    let mut c = c;
    let is_dma = |f: u8| matches!(f, 1 | 2 | 3 | 14);
    let field = |rng: &mut ChaCha8Rng| -> u64 {
        match rng.gen_range(0..4) {
            0 => 0,
            1 => rng.gen_range(15..=18),
            2 => rng.gen_range(60..=70),
            _ => rng.gen::<u16>() as u64,
        }
    };
    let set = |w: u64, lo: u32, bits: u32, v: u64| -> u64 {
        let m = ((1u64 << bits) - 1) << lo;
        (w & !m) | ((v << lo) & m)
    };
    match rng.gen_range(0..8) {
        0 => {
            let f: u8 = match rng.gen_range(0..4) {
                0 => rng.gen_range(0..128),
                1 => rng.gen_range(8..=25),
                _ => rng.gen_range(0..=7),
            };
            // an mvout writes the output region only, an mvin reads the input region only (or zeros)
            let to_mvin = matches!(f, 1 | 2 | 14);
            if f == 3 && c.funct != 3 {
                c.rs1 = gemforge::sim::accel::stream::OUT_BASE;
            } else if to_mvin && !matches!(c.funct, 1 | 2 | 14) {
                c.rs1 = gemforge::sim::accel::stream::IN_BASE;
            }
            c.funct = f;
        }
        // rows or cols of the rs2 operand
        1 => c.rs2 = set(c.rs2, 48, 16, field(rng)),
        2 => c.rs2 = set(c.rs2, 32, 16, field(rng)),
        // rows or cols of rs1 (execute commands and configs only: rs1 of an mvin/mvout is a DRAM address)
        3 | 4 if !is_dma(c.funct) => {
            let lo = if rng.gen() { 48 } else { 32 };
            c.rs1 = set(c.rs1, lo, 16, field(rng));
        }
        // address bits: acc/accumulate/read_full, the garbage bit, high row bits, or a whole row field
        5 | 6 => {
            let in_rs1 = !is_dma(c.funct) && rng.gen();
            let w = if in_rs1 { &mut c.rs1 } else { &mut c.rs2 };
            match rng.gen_range(0..4) {
                0 => *w ^= 1 << rng.gen_range(29..32),
                1 => *w ^= 1 << rng.gen_range(10..16),
                2 => *w = set(*w, 0, 14, rng.gen_range(0..1 << 14)),
                _ => *w = set(*w, 0, 32, 0xffff_ffff),
            }
        }
        // config bits (transposes, dataflow, pixel repeats, state id, pooling fields, ...)
        _ => {
            if c.funct == 0 {
                c.rs1 ^= 1 << rng.gen_range(2..64);
            } else {
                c.rs2 ^= 1 << rng.gen_range(0..32);
            }
        }
    }
    c
}

#[test]
fn diff_errors() {
    let only = env_u64("GEMFORGE_DIFF_SEED");
    let seeds = seeds(13_000_000, 2500);
    let t0 = Instant::now();
    let (mut failures, mut refused) = (Vec::new(), 0usize);
    for &seed in &seeds {
        let mut cfg = HwConfig::default_config();
        cfg.memory = timing_for(seed);
        let mut case = random_stream(
            &cfg,
            seed,
            &GenOpts {
                min_cmds: 5,
                max_cmds: 40,
                ..GenOpts::mixed()
            },
        );
        // cut at a random command (not inside a preload/compute pair) and mutate it
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xe770);
        let k = rng.gen_range(0..case.cmds.len());
        case.cmds.truncate(k + 1);
        case.cmds[k] = mutate(&mut rng, case.cmds[k]);
        // a stream must not end with an unpaired preload (the RTL would wait for its compute forever)
        let mut pending = false;
        for c in &case.cmds {
            match Command::decode(*c) {
                Command::Preload { .. } => pending = true,
                Command::Compute { .. } | Command::ConfigEx(_) => pending = false,
                _ => {}
            }
        }
        if pending {
            let g = gemforge::sim::isa::Operand::garbage(cfg.dim() as u16);
            case.cmds.push(
                Command::Compute {
                    flip: false,
                    a: g,
                    bd: g,
                }
                .encode(),
            );
        }
        if only.is_some() {
            println!("diff_errors: seed {seed}\n{}", case.listing());
        }
        let problem = match judge_mutated(&cfg, &case, false) {
            Ok(both_refused) => {
                refused += usize::from(both_refused);
                None
            }
            Err(p) => Some(p),
        };
        if let Some(p) = problem {
            eprintln!(
                "=== diff_errors: MISMATCH for seed {seed} (reproduce: GEMFORGE_DIFF_SEED={seed} cargo test --release \
                 --test sim diff_errors -- --nocapture)\n{p}\nmutated command #{k}: {}\n  {:?}",
                case.cmds[k],
                Command::decode(case.cmds[k])
            );
            failures.push(seed);
            if failures.len() >= 5 {
                break;
            }
        }
    }
    println!(
        "diff_errors: {} cases in {:.1}s ({refused} refused by both engines), {} failed",
        seeds.len(),
        t0.elapsed().as_secs_f64(),
        failures.len()
    );
    assert_refusal_mix("diff_errors", seeds.len(), refused);
    assert!(
        failures.is_empty(),
        "diff_errors: mismatching seeds {failures:?}"
    );
}

/// The header's promise, checked: every test's default seed range (`seeds(base, cases)`,
/// `family("name", base, cases, ..)`, `family_with("name", base, cases, ..)` in this file) is disjoint from
/// every other's, so a seed names one case of one test.
#[test]
fn seed_ranges_are_disjoint() {
    let src = include_str!("differential.rs");
    let number = |t: &str| t.trim().replace('_', "").parse::<u64>().ok();
    let mut ranges: Vec<(u64, u64, usize)> = Vec::new();
    for (line_no, line) in src.lines().enumerate() {
        let t = line.trim();
        let args = if let Some(rest) = t.strip_prefix("let seeds = seeds(") {
            rest.trim_end_matches(");").to_string()
        } else if let Some(rest) = t
            .strip_prefix("family(")
            .or_else(|| t.strip_prefix("family_with("))
        {
            rest.split_once(',').map_or("", |x| x.1).to_string()
        } else {
            continue;
        };
        let mut parts = args.split(',');
        if let (Some(base), Some(cases)) =
            (parts.next().and_then(number), parts.next().and_then(number))
        {
            ranges.push((base, base + cases, line_no + 1));
        }
    }
    // family(...) calls spread over lines: the name line, then base and cases on their own lines.
    let lines: Vec<&str> = src.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.trim() == "family(" || l.trim() == "family_with(" {
            let base = lines
                .get(i + 2)
                .and_then(|x| number(x.trim().trim_end_matches(',')));
            let cases = lines
                .get(i + 3)
                .and_then(|x| number(x.trim().trim_end_matches(',')));
            if let (Some(b), Some(c)) = (base, cases) {
                ranges.push((b, b + c, i + 1));
            }
        }
    }
    assert!(
        ranges.len() >= 12,
        "found only {} seed ranges: {ranges:?}",
        ranges.len()
    );
    ranges.sort();
    for w in ranges.windows(2) {
        assert!(
            w[0].1 <= w[1].0,
            "the seed ranges at lines {} and {} of tests/sim/differential.rs overlap: {:?} and {:?}",
            w[0].2,
            w[1].2,
            w[0].0..w[0].1,
            w[1].0..w[1].1
        );
    }
}

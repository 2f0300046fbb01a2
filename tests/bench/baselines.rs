//! Baselines and the schedule generator end to end: naive and hand-optimized programs are correct on
//! GEMM and convolution workloads (shapes that are not multiples of DIM included) under both engines, the
//! hand-optimized schedule is faster on the RTL, a sweep of schedules is correct on the spec engine, and
//! the validator rejects schedules that overfill the scratchpad or the accumulator. The conv streams
//! (prefetched input windows, interleaved stores) are correct and leave older records unchanged.

use gemforge::bench::baseline::{self, Baseline};
use gemforge::bench::eval::{EvalOpts, Verdict};
use gemforge::bench::schedule::{ConvSchedule, GemmSchedule, Order, Schedule};
use gemforge::bench::workload::{self, Workload};
use gemforge::sim::config::HwConfig;
use std::path::PathBuf;

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("gemforge-baselines-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn eval_code(w: &Workload, code: &str, tag: &str, rtl: bool) -> Verdict {
    super::eval_program("baselines", 0x5eed, w, code, tag, rtl)
}

fn eval_baseline(w: &Workload, b: Baseline) -> Verdict {
    let code = baseline::program(&HwConfig::default_config(), w, b).unwrap();
    eval_code(w, &code, b.name(), true)
}

/// Small conv with channels and pixels that are not multiples of DIM.
fn odd_conv() -> Workload {
    Workload::conv("conv_b2_5x20", "test", 2, 5, 20)
}

#[test]
fn naive_and_hand_are_correct_and_hand_is_faster() {
    let mut ws: Vec<Workload> = ["gemm_20x36x24", "gemm_64x48x80", "conv_b1_8x16"]
        .iter()
        .map(|n| workload::by_name(n).unwrap())
        .collect();
    ws.push(odd_conv());
    for w in &ws {
        let naive = eval_baseline(w, Baseline::Naive);
        let hand = eval_baseline(w, Baseline::HandOptimized);
        assert!(naive.correct, "naive on {}: {naive:#?}", w.name);
        assert!(hand.correct, "hand on {}: {hand:#?}", w.name);
        let (n, h) = (naive.cycles.unwrap(), hand.cycles.unwrap());
        assert!(
            h < n,
            "{}: hand {h} cycles is not faster than naive {n}",
            w.name
        );
    }
}

#[test]
fn schedule_sweep_is_correct_on_the_spec_engine() {
    let hw = HwConfig::default_config();
    // 64x48x80: 4x3x5 blocks; 20x36x24: edge blocks in every dimension.
    for name in ["gemm_64x48x80", "gemm_20x36x24"] {
        let w = workload::by_name(name).unwrap();
        for (idx, order) in Order::ALL.into_iter().enumerate() {
            let s = GemmSchedule {
                ti: [3, 2, 1, 2, 3, 1][idx].min(if name == "gemm_20x36x24" { 2 } else { 4 }),
                tj: [2, 1, 3, 2, 1, 2][idx].min(3),
                tk: [2, 3, 1, 2, 1, 2][idx].min(if name == "gemm_20x36x24" { 2 } else { 5 }),
                order,
                a_level: (idx % 4) as u8,
                b_level: ((idx + 2) % 4) as u8,
                double_buffer_a: idx % 2 == 0,
                double_buffer_b: idx % 3 == 0,
                double_buffer_c: idx % 2 == 1,
                a_width: [1, 2, 3, 4, 4, 2][idx],
                b_width: [4, 3, 2, 1, 3, 4][idx],
                c_width: [2, 4, 1, 3, 4, 1][idx],
                skip_redundant: idx % 2 == 1,
                unroll: [1, 3, 2, 4, 8, 2][idx],
                spread: idx % 3 == 1,
                inner_k_outer: idx % 2 == 0,
                interleave_store: false,
                prefetch_a: false,
                prefetch_b: false,
                stream_first: false,
                bank_halves: false,
            };
            let sched = Schedule::Gemm(s);
            let code = sched.emit_c(&hw, &w).unwrap();
            let v = eval_code(&w, &code, &format!("sweep{idx}"), false);
            assert!(v.correct, "{} {}: {v:#?}\n{code}", name, sched.to_json());
        }
    }
    // The interleaved store stream, with edge tiles in every dimension and several orders.
    for (name, ti, tj, tk, order) in [
        ("gemm_20x36x24", 2, 2, 1, "ijk"),
        ("gemm_64x48x80", 3, 1, 2, "jik"),
        ("gemm_64x48x80", 1, 3, 5, "ijk"),
    ] {
        let w = workload::by_name(name).unwrap();
        let mut s = GemmSchedule::naive();
        s.ti = ti;
        s.tj = tj;
        s.tk = tk;
        s.order = Order::parse(order).unwrap();
        s.double_buffer_c = true;
        s.c_width = 4;
        s.interleave_store = true;
        s.a_level = 1;
        s.b_level = 0;
        let sched = Schedule::Gemm(s);
        let code = sched.emit_c(&hw, &w).unwrap();
        let v = eval_code(&w, &code, &format!("il{ti}{tj}{tk}{order}"), false);
        assert!(v.correct, "{}: {v:#?}\n{code}", sched.to_json());
    }
    // The prefetch streams of the outer operand's panels (edge tiles, both operands, uneven widths).
    for (name, ti, tj, tk, order, pf_a, width) in [
        ("gemm_20x36x24", 1, 2, 2, "ijk", true, 4),
        ("gemm_64x48x80", 3, 1, 2, "ijk", true, 3),
        ("gemm_64x48x80", 2, 2, 5, "jik", false, 2),
        ("gemm_20x36x24", 2, 1, 1, "kij", true, 1),
    ] {
        let w = workload::by_name(name).unwrap();
        let mut s = GemmSchedule::naive();
        s.ti = ti;
        s.tj = tj;
        s.tk = tk;
        s.order = Order::parse(order).unwrap();
        s.double_buffer_a = true;
        s.double_buffer_b = true;
        s.a_width = width;
        s.b_width = width;
        if pf_a {
            s.a_level = 1;
            s.prefetch_a = true;
        } else {
            s.b_level = 1;
            s.prefetch_b = true;
        }
        let sched = Schedule::Gemm(s);
        let code = sched.emit_c(&hw, &w).unwrap();
        let v = eval_code(&w, &code, &format!("pf{ti}{tj}{tk}{order}"), false);
        assert!(v.correct, "{}: {v:#?}\n{code}", sched.to_json());
    }
    let mut s = GemmSchedule::naive();
    s.prefetch_a = true;
    let e = s.validate(&hw, 64, 64, 64).unwrap_err().to_string();
    assert!(e.contains("prefetch_a needs"), "{e}");
    let mut s = GemmSchedule::naive();
    s.interleave_store = true;
    s.double_buffer_c = true;
    s.order = Order::parse("ikj").unwrap();
    let e = s.validate(&hw, 64, 64, 64).unwrap_err().to_string();
    assert!(
        e.contains("interleave_store needs K as the innermost"),
        "{e}"
    );
    let w = odd_conv();
    for idx in 0..4u32 {
        let s = ConvSchedule {
            tp: [1, 2, 3, 5][idx as usize],
            tq: 1,
            tk: [1, 2, 1, 2][idx as usize],
            weights_resident: idx % 2 == 1,
            input_reuse: idx >= 2,
            double_buffer_in: idx % 2 == 0,
            double_buffer_w: idx != 1,
            double_buffer_c: idx % 3 == 0,
            in_width: [1, 2, 3, 4][idx as usize],
            w_width: [2, 1, 4, 3][idx as usize],
            prefetch_in: false,
            interleave_store: false,
        };
        let sched = Schedule::Conv(s);
        let code = sched.emit_c(&hw, &w).unwrap();
        let v = eval_code(&w, &code, &format!("csweep{idx}"), false);
        assert!(v.correct, "{}: {v:#?}\n{code}", sched.to_json());
    }
}

#[test]
fn validation_rejects_overfull_tiles() {
    let hw = HwConfig::default_config();
    let mut s = GemmSchedule::naive();
    s.ti = 16;
    s.tj = 16;
    let e = s.validate(&hw, 512, 512, 512).unwrap_err().to_string();
    assert!(e.contains("accumulator overfull"), "{e}");
    let mut s = GemmSchedule::naive();
    s.a_level = 0; // all of A resident: 512x512 int8 = the whole scratchpad, twice with double buffering
    s.double_buffer_a = true;
    let e = s.validate(&hw, 512, 512, 512).unwrap_err().to_string();
    assert!(e.contains("scratchpad overfull"), "{e}");
    let mut s = GemmSchedule::naive();
    s.tk = 3;
    let e = s.validate(&hw, 16, 16, 32).unwrap_err().to_string();
    assert!(e.contains("tk = 3"), "{e}");
    let mut s = GemmSchedule::naive();
    s.a_width = 5;
    assert!(s.validate(&hw, 64, 64, 64).is_err());
    let mut c = ConvSchedule::naive();
    c.tp = 56;
    c.tq = 4;
    c.tk = 4;
    let w = workload::by_name("conv_56x64").unwrap();
    let e = Schedule::Conv(c).emit_c(&hw, &w).unwrap_err();
    assert!(format!("{e:#}").contains("accumulator overfull"), "{e:#}");
    // The hand-optimized schedules of every catalogue workload in the schedule space fit (the TinyMPC
    // kernels' hand baselines are C files, tested in tests/bench/tinympc.rs).
    for w in workload::all()
        .into_iter()
        .filter(|w| Schedule::naive(w).is_some())
    {
        baseline::hand_schedule(&hw, &w)
            .and_then(|s| s.validate(&hw, &w))
            .unwrap_or_else(|e| panic!("{}: {e:#}", w.name));
    }
}

#[test]
fn library_baseline_is_correct() {
    for name in ["gemm_20x36x24", "conv_b1_8x16"] {
        let w = workload::by_name(name).unwrap();
        let v = eval_baseline(&w, Baseline::Library);
        assert!(v.correct, "{name}: {v:#?}");
    }
}

#[test]
fn hardware_fsm_baseline_is_correct() {
    for name in ["gemm_20x36x24", "conv_b1_8x16"] {
        let w = workload::by_name(name).unwrap();
        let v = eval_baseline(&w, Baseline::HardwareFsm);
        assert!(v.correct, "{name}: {v:#?}");
    }
}

/// The strided-convolution kind (stride 2, padding, fused max-pooling, 1x1 downsampling; channel counts
/// that are not multiples of DIM): the library (CPU-issued, pooling on the hart) and the FSM baselines are
/// correct on both engines, and the reference catches a program with the wrong scale or pooling padding.
#[test]
fn strided_conv_baselines_are_correct_and_mistakes_are_caught() {
    let names = [
        "sconv_b2_17_c19_k21_pool",
        "sconv_b2_15_c32_k24_s2",
        "sconv_b2_12_c40_k48_down",
    ];
    for name in names {
        let w = workload::by_name(name).unwrap();
        for b in [Baseline::Library, Baseline::HardwareFsm] {
            let v = eval_baseline(&w, b);
            assert!(v.correct, "{name} {}: {v:#?}", b.name());
        }
        for b in [Baseline::Naive, Baseline::HandOptimized] {
            assert!(!baseline::applies(&w, b), "{name} {}", b.name());
        }
    }
    let hw = HwConfig::default_config();
    let pooled = workload::by_name(names[0]).unwrap();
    let fsm = baseline::program(&hw, &pooled, Baseline::HardwareFsm).unwrap();
    // 3x3 pool, stride 2, padding 1 -> padding 0 (a 4x4 instead of a 5x5 pooled output)
    let scale_of = |w: &Workload| match w.kind {
        workload::Kind::StridedConv(s) => s.scale_c(),
        _ => panic!("{} is a strided convolution", w.name),
    };
    let sc = scale_of(&pooled);
    let wrong_pool = fsm.replacen(
        &format!("NO_ACTIVATION, {sc}, 3, 2, 1,"),
        &format!("NO_ACTIVATION, {sc}, 3, 2, 0,"),
        1,
    );
    assert_ne!(wrong_pool, fsm, "{fsm}");
    let v = eval_code(&pooled, &wrong_pool, "wrong-pool", false);
    assert!(!v.correct, "{v:#?}");
    let s2 = workload::by_name(names[1]).unwrap();
    let lib = baseline::program(&hw, &s2, Baseline::Library).unwrap();
    let wrong_scale = lib.replacen(&scale_of(&s2), "(1.0f / 1u)", 1);
    assert_ne!(wrong_scale, lib, "{lib}");
    let v = eval_code(&s2, &wrong_scale, "wrong-scale", false);
    assert!(!v.correct, "{v:#?}");
}

/// ResNet-50's three 1x1 stride-2 shortcuts through `tiled_conv_downsample` (the FSM baseline calls it as
/// resnet50.c does: one LOOP_WS matmul per output row): correct on fresh inputs on both engines (spec screens,
/// then the checked RTL run).
#[test]
fn resnet50_downsample_shortcuts_are_correct_on_both_engines() {
    let hw = HwConfig::default_config();
    for name in [
        "resnet50_c3_down_256_512",
        "resnet50_c4_down_512_1024",
        "resnet50_c5_down_1024_2048",
    ] {
        let w = workload::by_name(name).unwrap();
        let code = baseline::program(&hw, &w, Baseline::HardwareFsm).unwrap();
        assert!(code.contains("tiled_conv_downsample("), "{name}: {code}");
        let v = eval_code(&w, &code, "fsm", true);
        assert!(v.correct, "{name}: {v:#?}");
    }
}

/// A baseline that fails is a cell showing its failure class, listed under "failures:" with its detail,
/// while the others in the row still report cycles: here the loop-FSM baseline runs with the loop
/// functs forbidden (as the search forbids them to candidates), so it fails with forbidden_instruction.
#[test]
fn bench_reports_failures_as_cells() {
    use gemforge::bench::ladder::{run, BenchOpts};
    use gemforge::sim::isa::Funct;
    let opts = BenchOpts {
        workloads: vec!["gemm_16x16x16".into()],
        baselines: vec![Baseline::Naive, Baseline::HardwareFsm],
        jobs: 2,
        out_dir: Some(dir().join("bench")),
        progress: false,
        eval: EvalOpts {
            screen_runs: 1,
            seed: Some(1),
            forbidden_functs: vec![Funct::LoopWs as u8],
            ..Default::default()
        },
    };
    let r = run(&HwConfig::default_config(), &opts).unwrap();
    assert_eq!(r.cells.len(), 2);
    let naive = &r.cells[0];
    assert!(
        naive.baseline == Baseline::Naive && naive.correct && naive.cycles.is_some(),
        "{r:#?}"
    );
    let fsm = &r.cells[1];
    assert_eq!(fsm.baseline, Baseline::HardwareFsm);
    assert!(!fsm.correct && fsm.cycles.is_none(), "{fsm:#?}");
    assert_eq!(fsm.failure.as_deref(), Some("forbidden_instruction"));
    let t = r.to_text();
    let row = t
        .lines()
        .find(|l| l.starts_with("gemm_16x16x16"))
        .unwrap_or_else(|| panic!("no row: {t}"));
    let cols: Vec<&str> = row.split('|').map(str::trim).collect();
    assert!(
        cols.len() == 3
            && cols[1].starts_with(&naive.cycles.unwrap_or(0).to_string())
            && cols[2] == "forbidden_instruction",
        "{row}"
    );
    let failures = t.split("\nfailures:\n").nth(1).unwrap_or("");
    assert!(
        failures.contains("gemm_16x16x16 fsm: forbidden_instruction") && failures.contains("loop"),
        "{t}"
    );
    let mut bad = opts.clone();
    bad.workloads = vec!["no_such".into()];
    assert!(run(&HwConfig::default_config(), &bad).is_err());
}

/// The conv streams (`prefetch_in`: the next tile's input window moved in during the current tile's
/// taps; `interleave_store`: the finished tile moved out during the next tile's taps) keep every output
/// right on the spec engine, also with ragged row, pixel and channel tiles (5x5 pixels, 20 channels, two
/// images, so the stream crosses batch and channel-tile boundaries), and on the RTL for one of them.
#[test]
fn conv_streams_are_correct() {
    let hw = HwConfig::default_config();
    let odd = odd_conv();
    let square = workload::by_name("conv_b1_8x16").unwrap();
    let cases: [(&Workload, u32, u32, bool, bool, bool, u32); 6] = [
        // (workload, tp, tk, weights_resident, prefetch_in, interleave_store, in_width)
        (&odd, 2, 1, true, true, true, 1),
        (&odd, 3, 2, false, true, false, 2),
        (&odd, 5, 1, true, false, true, 4),
        (&odd, 1, 2, false, true, true, 3),
        (&square, 3, 1, true, true, true, 4),
        (&square, 8, 1, false, false, true, 1),
    ];
    for (i, &(w, tp, tk, wr, pf, st, iw)) in cases.iter().enumerate() {
        let s = ConvSchedule {
            tp,
            tq: 1,
            tk,
            weights_resident: wr,
            input_reuse: true,
            double_buffer_in: true,
            double_buffer_w: !wr,
            double_buffer_c: true,
            in_width: iw,
            w_width: 2,
            prefetch_in: pf,
            interleave_store: st,
        };
        let sched = Schedule::Conv(s);
        let code = sched.emit_c(&hw, w).unwrap();
        // The streams are really in the program: the burst window load is guarded, or the mvouts are
        // issued from the stream state.
        assert_eq!(code.contains("if (!pf_have)"), pf, "{code}");
        assert_eq!(code.contains("st_y < st_np"), st, "{code}");
        let v = eval_code(w, &code, &format!("cstream{i}"), i == 0);
        assert!(v.correct, "{}: {v:#?}\n{code}", sched.to_json());
    }
}

/// Schedule records written before the streams existed parse with both streams off, and a schedule
/// without streams writes exactly the record (and so the program) it wrote before; the streams are
/// validated against the buffers they need.
#[test]
fn conv_stream_fields_keep_old_records_and_are_validated() {
    let hw = HwConfig::default_config();
    let w = workload::by_name("conv_14x128").unwrap();
    let old = r#"{"kind":"conv","tp":4,"tq":1,"tk":8,"weights_resident":true,"input_reuse":true,"double_buffer_in":true,"double_buffer_w":true,"double_buffer_c":true,"in_width":4,"w_width":4}"#;
    let s: Schedule = serde_json::from_str(old).unwrap();
    let Schedule::Conv(c) = &s else {
        panic!("a conv record")
    };
    assert!(!c.prefetch_in && !c.interleave_store);
    assert_eq!(s.to_json(), old);
    let code = s.emit_c(&hw, &w).unwrap();
    assert!(
        code.contains(&format!("/* gemforge-schedule: {old} */")),
        "{code}"
    );
    assert!(!code.contains("pf_") && !code.contains("st_"), "{code}");
    // The hand family still writes old-style records.
    let hand = baseline::hand_schedule(&hw, &w).unwrap().to_json();
    assert!(
        !hand.contains("prefetch_in") && !hand.contains("interleave_store"),
        "{hand}"
    );

    let mut x = c.clone();
    x.prefetch_in = true;
    x.double_buffer_in = false;
    let e = x
        .validate(&hw, 4, 14, 14, 128, 128)
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs input_reuse and double_buffer_in"), "{e}");
    x.double_buffer_in = true;
    x.input_reuse = false;
    assert!(x.validate(&hw, 4, 14, 14, 128, 128).is_err());
    let mut y = c.clone();
    y.interleave_store = true;
    y.double_buffer_c = false;
    let e = y
        .validate(&hw, 4, 14, 14, 128, 128)
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs double_buffer_c"), "{e}");
    y.double_buffer_c = true;
    y.validate(&hw, 4, 14, 14, 128, 128).unwrap();
    let json = Schedule::Conv(y).to_json();
    assert!(
        json.ends_with(r#""w_width":4,"interleave_store":true}"#),
        "{json}"
    );
}

/// Prefetch streams deeper than the outermost loop (the next tile's panel of an operand loaded at depth
/// 2 or 3 streams in during the current tile): correct on the spec engine with edge tiles in every
/// dimension, both operands at once and several orders; the validator names the loop that must index
/// the operand; and records from before (depth-1 streams) still generate byte-identical programs.
#[test]
fn deeper_prefetch_streams_are_correct_and_old_records_unchanged() {
    let hw = HwConfig::default_config();
    // (workload, ti, tj, tk, order, a_level, b_level, prefetch_a, prefetch_b, width, inner_k_outer)
    for (name, ti, tj, tk, order, al, bl, pa, pb, width, iko) in [
        ("gemm_20x36x24", 1, 2, 1, "ijk", 1, 2, true, true, 4, false),
        ("gemm_64x48x80", 3, 1, 2, "ijk", 3, 3, true, true, 3, true),
        ("gemm_64x48x80", 2, 2, 2, "jki", 3, 2, true, true, 2, false),
        ("gemm_20x36x24", 1, 1, 1, "kij", 2, 3, true, true, 1, false),
        ("gemm_64x48x80", 1, 2, 5, "ikj", 2, 3, true, false, 4, true),
        ("gemm_20x36x24", 2, 1, 2, "jik", 3, 1, false, true, 2, false),
    ] {
        let w = workload::by_name(name).unwrap();
        let mut s = GemmSchedule::naive();
        (s.ti, s.tj, s.tk) = (ti, tj, tk);
        s.order = Order::parse(order).unwrap();
        (s.a_level, s.b_level) = (al, bl);
        (s.double_buffer_a, s.double_buffer_b, s.double_buffer_c) = (true, true, true);
        (s.prefetch_a, s.prefetch_b) = (pa, pb);
        (s.a_width, s.b_width, s.c_width) = (width, width, 4);
        s.inner_k_outer = iko;
        s.skip_redundant = true;
        s.unroll = 2;
        let sched = Schedule::Gemm(s);
        let code = sched
            .emit_c(&hw, &w)
            .unwrap_or_else(|e| panic!("{}: {e:#}", sched.to_json()));
        assert!(
            code.contains("pfa_buf") || code.contains("pfb_buf"),
            "{code}"
        );
        let v = eval_code(&w, &code, &format!("dpf{ti}{tj}{tk}{order}{al}{bl}"), false);
        assert!(v.correct, "{}: {v:#?}\n{code}", sched.to_json());
    }
    // B at depth 1 under an I loop: the stream would reload the same panel; depth 0 has no loop around.
    let mut s = GemmSchedule::naive();
    (s.double_buffer_b, s.prefetch_b, s.b_level) = (true, true, 1);
    let e = s.validate(&hw, 64, 64, 64).unwrap_err().to_string();
    assert!(
        e.contains("prefetch_b needs") && e.contains("order ijk"),
        "{e}"
    );
    s.b_level = 0;
    assert!(s.validate(&hw, 64, 64, 64).is_err());
    s.b_level = 2;
    s.validate(&hw, 64, 64, 64).unwrap();
    // Depth-1 streams as before this change: the programs' SHA-256, taken from the generator before it
    // (3136x128x512's again after the generator wrote out the row-block tail, which changed its hand
    // program on purpose; a change of either program must update the digest and say why).
    use sha2::{Digest, Sha256};
    for (name, digest) in [
        (
            "gemm_12544x256x64",
            "0553c3f62d71ad08d1b1fad4344e828ac4dee454f33bdcfb88cc445a9ddc641b",
        ),
        (
            "gemm_3136x128x512",
            "af6f8181367259f3034534ed829621bc2c224872f411bdb0d390933e57aca6cb",
        ),
    ] {
        let w = workload::by_name(name).unwrap();
        let code = baseline::program(&hw, &w, Baseline::HandOptimized).unwrap();
        assert!(code.contains("\"prefetch_a\":true"), "{code}");
        let got: String = Sha256::digest(code.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, digest, "{name}: the depth-1 prefetch program changed");
    }
}

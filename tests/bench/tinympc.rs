//! The TinyMPC kernels (fp32, group `mpc`) end to end on the 4x4 fp32 configuration: the naive and hand
//! baselines of both kernels pass the full evaluation protocol (spec-engine screens, then the checked RTL
//! run) and the hand-written accelerator programs are much faster than the naive ones on the hart's FPU; wrong programs
//! are wrong results; workloads and configurations of different data types are refused; the built-in
//! proposer refuses the kernels while the LLM proposer path runs a search on them; the host references
//! (small cases checked by hand) and the fp32 tolerance check.

use crate::llm_server;

use gemforge::bench::baseline::{self, Baseline};
use gemforge::bench::eval::{evaluate, EvalOpts, Failure, WRONG_DATA_TYPE};
use gemforge::bench::ladder::{self, BenchOpts};
use gemforge::bench::workload::{self, Inputs, Reference, Workload, POISON};
use gemforge::sim::config::HwConfig;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fp32() -> HwConfig {
    HwConfig::from_file(&root().join("rtl/configs/fp32_4x4.toml")).expect("the fp32 configuration")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gf-tinympc-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch directory");
    d
}

fn baseline_code(w: &str, b: Baseline) -> String {
    let w = workload::by_name(w).expect("workload");
    baseline::program(&fp32(), &w, b).expect("baseline program")
}

/// Evaluates `code` on `workload` on the fp32 configuration (spec screens only unless `rtl`).
fn eval_code(workload: &str, name: &str, code: &str, rtl: bool) -> gemforge::bench::eval::Verdict {
    let dir = scratch(name);
    let file = dir.join(format!("{name}.c"));
    std::fs::write(&file, code).expect("write the candidate");
    let w = workload::by_name(workload).expect("workload");
    let opts = EvalOpts {
        screen_runs: 2,
        rtl,
        seed: Some(42),
        ..EvalOpts::default()
    };
    let v = evaluate(&fp32(), &w, &file, &opts);
    let _ = std::fs::remove_dir_all(&dir);
    v
}

#[test]
fn baselines_pass_on_both_engines_and_hand_beats_naive() {
    let dir = scratch("bench");
    let opts = BenchOpts {
        workloads: vec!["mpc".into()],
        baselines: Vec::new(),
        jobs: 2,
        out_dir: Some(dir.clone()),
        progress: false,
        eval: EvalOpts {
            screen_runs: 2,
            seed: Some(7),
            ..EvalOpts::default()
        },
    };
    let r = ladder::run(&fp32(), &opts).expect("bench");
    let cell = |w: &str, b: Baseline| {
        r.cells
            .iter()
            .find(|c| c.workload == w && c.baseline == b)
            .unwrap_or_else(|| panic!("no cell {w} {}", b.name()))
    };
    for w in ["tinympc_forward", "tinympc_backward"] {
        let (naive, hand) = (cell(w, Baseline::Naive), cell(w, Baseline::HandOptimized));
        for c in [naive, hand] {
            // correct on the spec screens and on the RTL run, with RTL cycles
            assert!(
                c.correct && c.applicable,
                "{w} {}: {c:#?}",
                c.baseline.name()
            );
            assert!(
                c.detail.contains("2 spec runs and 1 rtl run"),
                "{}",
                c.detail
            );
        }
        let (n, h) = (naive.cycles.unwrap(), hand.cycles.unwrap());
        // The naive program runs on the hart's FPU (about 20x slower than the array's chains).
        assert!(h * 10 < n, "{w}: hand {h} cycles, naive {n}");
        for b in [Baseline::Library, Baseline::HardwareFsm] {
            let c = cell(w, b);
            assert!(
                !c.applicable && c.cycles.is_none() && c.failure.is_none(),
                "{c:#?}"
            );
        }
    }
    let t = r.to_text();
    assert!(t.contains("n/a") && !t.contains("failures:"), "{t}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn wrong_programs_are_wrong_results() {
    // The hand rollout stopping a step early: the last row keeps the poison.
    let hand = baseline_code("tinympc_forward", Baseline::HandOptimized);
    let short = hand.replace("for (int t = 0; t < 5; t++)", "for (int t = 0; t < 4; t++)");
    assert_ne!(short, hand);
    let v = eval_code("tinympc_forward", "short", &short, false);
    assert_eq!(v.failure, Some(Failure::WrongResult), "{v:#?}");
    assert!(
        v.detail.contains("xu[4][0]") && v.detail.contains("16 still hold the poison 0x5A5A5A5A"),
        "{}",
        v.detail
    );
    // Forgetting the feedforward term d: a small, systematic error.
    let naive = baseline_code("tinympc_forward", Baseline::Naive);
    let no_d = naive.replace("u[j] = -s - d[t][j];", "u[j] = -s;");
    assert_ne!(no_d, naive);
    let v = eval_code("tinympc_forward", "no_d", &no_d, false);
    assert_eq!(v.failure, Some(Failure::WrongResult), "{v:#?}");
    assert!(
        v.detail.contains("xu[0][0]") && v.detail.contains("within"),
        "{}",
        v.detail
    );
    // Zeros everywhere.
    let w = workload::by_name("tinympc_backward").unwrap();
    let zeros = format!(
        "{} {{\n  for (int k = 0; k < 9; k++)\n    for (int i = 0; i < 16; i++) dp[k][i] = 0.0f;\n}}\n",
        w.signature()
    );
    let v = eval_code("tinympc_backward", "zeros", &zeros, false);
    assert_eq!(v.failure, Some(Failure::WrongResult), "{v:#?}");
    assert!(v.detail.contains("dp[0][0] = 0e0"), "{}", v.detail);
    // The backward pass in another order of additions (summing from the last column) is right.
    let naive = baseline_code("tinympc_backward", Baseline::Naive);
    let reversed = naive.replace(
        "for (int l = 0; l < 12; l++) s += C2[i][l] * p[l];",
        "for (int l = 11; l >= 0; l--) s += C2[i][l] * p[l];",
    );
    assert_ne!(reversed, naive);
    let v = eval_code("tinympc_backward", "reversed", &reversed, false);
    assert!(v.correct, "{v:#?}");
}

#[test]
fn data_types_must_match() {
    let dir = scratch("types");
    let file = dir.join("naive.c");
    std::fs::write(&file, baseline_code("tinympc_forward", Baseline::Naive)).unwrap();
    let opts = EvalOpts::default();
    let mpc = workload::by_name("tinympc_forward").unwrap();
    let gemm = workload::by_name("gemm_16x16x16").unwrap();
    for (cfg, w) in [(HwConfig::default_config(), &mpc), (fp32(), &gemm)] {
        let v = evaluate(&cfg, w, &file, &opts);
        assert_eq!(v.failure, Some(Failure::HostError), "{v:#?}");
        assert!(
            v.detail.starts_with(WRONG_DATA_TYPE) && v.detail.contains(&w.name),
            "{}",
            v.detail
        );
    }
    // bench refuses before running anything
    let bopts = BenchOpts {
        workloads: vec!["mpc".into()],
        progress: false,
        ..BenchOpts::default()
    };
    let e = format!(
        "{:#}",
        ladder::run(&HwConfig::default_config(), &bopts).unwrap_err()
    );
    assert!(
        e.contains(WRONG_DATA_TYPE) && e.contains("tinympc_forward"),
        "{e}"
    );
    // so does search, without leaving a run directory behind
    let run = dir.join("run");
    let out = Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(["search", "--workload", "tinympc_forward", "--run-dir"])
        .arg(&run)
        .output()
        .expect("run gemforge");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains(WRONG_DATA_TYPE),
        "{err}"
    );
    assert!(!run.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_builtin_proposer_refuses_and_the_llm_proposer_searches() {
    use llm_server::{Reply, ScriptedServer};
    let dir = scratch("search");
    let config = root().join("rtl/configs/fp32_4x4.toml");
    // The built-in proposer: a clear error before anything is created.
    let run = dir.join("builtin");
    let out = Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(["search", "--workload", "tinympc_forward", "--config"])
        .arg(&config)
        .arg("--run-dir")
        .arg(&run)
        .output()
        .expect("run gemforge");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("the built-in proposer has no schedule space for tinympc_forward")
            && err.contains("--proposer llm"),
        "{err}"
    );
    assert!(!run.exists());

    // An LLM (a scripted server) plans one change and answers with the hand-written program.
    let hand = baseline_code("tinympc_forward", Baseline::HandOptimized);
    let srv = ScriptedServer::start(vec![
        Reply::openai(
            "Option: move_to_accel\nRun the matrix-vector products on the array.",
            100,
            20,
        ),
        Reply::openai(&format!("Here it is.\n```c\n{hand}```\n"), 200, 300),
    ]);
    let model = format!("openai:test-model@{}", srv.base_url());
    let run = dir.join("llm");
    let args = [
        "search",
        "--workload",
        "tinympc_forward",
        "--config",
        config.to_str().unwrap(),
        "--proposer",
        "llm",
        "--model",
        &model,
        "--iterations",
        "1",
        "--beam",
        "1",
        "--plans",
        "1",
        "--impls",
        "1",
        "--keep-prob",
        "1",
        "--screen-runs",
        "1",
        "--run-dir",
        run.to_str().unwrap(),
        "--json",
    ];
    let (text, code) = gemforge::opt::search::cli::run_cli(&parse(&args)).expect("search");
    assert_eq!(code, 0, "{text}");
    let s: serde_json::Value = serde_json::from_str(&text).expect("summary JSON");
    let (start, best) = (
        s["start_cycles"].as_u64().unwrap(),
        s["best_cycles"].as_u64().unwrap(),
    );
    assert!(best * 10 < start, "start {start}, best {best}: {s:#}");
    // The planning prompt described the kernel and offered the linear-algebra menu.
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 2);
    let plan = reqs[0].body.to_string();
    for needle in [
        "tinympc_forward",
        "u_t = -K x_t - d_t",
        "has an FPU",
        "within 0.0001",
        "move_to_accel",
        "bias_addsub",
    ] {
        assert!(plan.contains(needle), "{needle} in {plan}");
    }
    assert!(!plan.contains("`tiling`"), "{plan}");
    // The report lists the two baselines that exist.
    let report = std::fs::read_to_string(run.join("report.md")).expect("report");
    assert!(
        report.contains("naive") && report.contains("hand"),
        "{report}"
    );
    assert!(!report.contains("| library"), "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    args: gemforge::opt::search::cli::SearchArgs,
}

fn parse(args: &[&str]) -> gemforge::opt::search::cli::SearchArgs {
    use clap::Parser;
    Cli::parse_from(args.iter().copied()).args
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn fp32_reference(w: &Workload, arrays: &[Vec<f32>]) -> Vec<f64> {
    let inp = Inputs {
        arrays: arrays.iter().map(|a| f32_bytes(a)).collect(),
    };
    match w.reference(&inp) {
        Reference::Fp32(v) => v,
        Reference::Int8(_) => panic!("an fp32 workload has an fp32 reference"),
    }
}

#[test]
fn forward_reference_small_case_by_hand() {
    // Horizon 2. A = I, B = [I4; 0], K = e0 e0^T, d_0 = (1, 0, 0, 0), d_1 = (0, 2, 0, 0), x0 = (1, ..., 12).
    let w = Workload::mpc_forward("t", "test", 2);
    let mut a = vec![0.0f32; 144];
    let mut b = vec![0.0f32; 48];
    for i in 0..12 {
        a[i * 12 + i] = 1.0;
    }
    for j in 0..4 {
        b[j * 4 + j] = 1.0;
    }
    let mut k = vec![0.0f32; 48];
    k[0] = 1.0;
    let d = vec![1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0];
    let x0: Vec<f32> = (1..=12).map(|i| i as f32).collect();
    let got = fp32_reference(&w, &[a, b, k, d, x0]);
    // u_0 = -x0[0] - 1 = -2, x_1 = x0 + B u_0 = (-1, 2, ..., 12);
    // u_1 = (-x_1[0] - 0, -2, 0, 0) = (1, -2, 0, 0), x_2 = x_1 + B u_1 = (0, 0, 3, ..., 12).
    let mut want = vec![-2.0, 0.0, 0.0, 0.0, -1.0];
    want.extend((2..=12).map(f64::from));
    want.extend([1.0, -2.0, 0.0, 0.0, 0.0, 0.0]);
    want.extend((3..=12).map(f64::from));
    assert_eq!(got, want);
    assert_eq!(w.macs(), 2 * (48 + 144 + 48));
    assert_eq!(w.ideal_cycles(4), (2 * 240u64).div_ceil(16));
}

#[test]
fn backward_reference_small_case_by_hand() {
    // Horizon 3 (rows k = 1, 0): Bt = [I4 0], C1 = 2 I, C2 = I, KinfT maps r[0] to state 4, q_k = 0.5,
    // r_k = (k + 1, 0, 0, 0), pN = (1, ..., 12).
    let w = Workload::mpc_backward("t", "test", 3);
    let mut bt = vec![0.0f32; 48];
    let mut c1 = vec![0.0f32; 16];
    let mut c2 = vec![0.0f32; 144];
    let mut kinft = vec![0.0f32; 48];
    for j in 0..4 {
        bt[j * 12 + j] = 1.0;
        c1[j * 4 + j] = 2.0;
    }
    for i in 0..12 {
        c2[i * 12 + i] = 1.0;
    }
    kinft[4 * 4] = 1.0;
    let q = vec![0.5f32; 36];
    let mut r = vec![0.0f32; 12];
    for k in 0..3 {
        r[k * 4] = (k + 1) as f32;
    }
    let pn: Vec<f32> = (1..=12).map(|i| i as f32).collect();
    let got = fp32_reference(&w, &[bt, c1, c2, kinft, q, r, pn]);
    // k = 1: y = Bt pN + r_1 = (1 + 2, 2, 3, 4), d_1 = 2 y; p_1 = 0.5 + pN - (0, 0, 0, 0, 2, 0, ...).
    // k = 0: y = Bt p_1 + r_0 = (1.5 + 1, 2.5, 3.5, 4.5), d_0 = 2 y; p_0 = 0.5 + p_1 - (0, 0, 0, 0, 1, 0, ...).
    let want = vec![
        5.0, 5.0, 7.0, 9.0, 2.0, 3.0, 4.0, 5.0, 3.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, //
        6.0, 4.0, 6.0, 8.0, 1.5, 2.5, 3.5, 4.5, 3.5, 6.5, 7.5, 8.5, 9.5, 10.5, 11.5, 12.5,
    ];
    assert_eq!(got, want);
    assert_eq!(w.macs(), 2 * (48 + 16 + 144 + 48));
}

#[test]
fn fp32_outputs_are_checked_with_the_tolerance() {
    let w = workload::by_name("tinympc_forward").unwrap();
    let inp = w.generate_inputs(11);
    let Reference::Fp32(want) = w.reference(&inp) else {
        panic!("fp32")
    };
    let enc = |v: &[f64]| -> Vec<u8> { v.iter().flat_map(|&x| (x as f32).to_le_bytes()).collect() };
    assert_eq!(w.check_output(&inp, &enc(&want)), Ok(()));
    // Within the tolerance: an error of 5e-5 * max(1, |want|) passes...
    let near: Vec<f64> = want.iter().map(|&x| x + 5e-5 * x.abs().max(1.0)).collect();
    assert_eq!(w.check_output(&inp, &enc(&near)), Ok(()));
    // ... 2e-4 * max(1, |want|) fails, and the mismatch names the element and counts.
    let mut far = want.clone();
    far[17] += 2e-4 * far[17].abs().max(1.0);
    let m = w.check_output(&inp, &enc(&far)).unwrap_err();
    assert_eq!((m.index, m.wrong, m.total), (17, 1, 80));
    assert_eq!(w.output_index_str(m.index), "xu[1][1]");
    assert!(m.want.contains("within"), "{m:?}");
    // NaN and infinity are always wrong.
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut bytes = enc(&want);
        bytes[8..12].copy_from_slice(&bad.to_le_bytes());
        let m = w.check_output(&inp, &bytes).unwrap_err();
        assert_eq!((m.index, m.wrong), (2, 1));
    }
    // A poisoned element is four poison bytes, counted as such.
    let mut bytes = enc(&want);
    bytes[64 * 4..].fill(POISON);
    let m = w.check_output(&inp, &bytes).unwrap_err();
    assert_eq!((m.index, m.wrong, m.poisoned), (64, 16, 16));
    assert!(
        m.got_is_poison && m.poison_pattern() == "0x5A5A5A5A",
        "{m:?}"
    );
    // Values that vary with the seed: a fresh seed gives another reference.
    let Reference::Fp32(other) = w.reference(&w.generate_inputs(12)) else {
        panic!("fp32")
    };
    assert!(want.iter().zip(&other).all(|(a, b)| a != b));
    assert!(other.iter().all(|x| x.is_finite() && x.abs() < 50.0));
}

//! The correctness protocol end to end: a correct candidate passes on both engines with real cycles, and
//! the checker rejects cheating (writing nothing, a constant, returning early, reading or writing past the
//! output buffer, exiting from inside solution) and classifies failures (compile error, trap, timeout,
//! accelerator error). Also the `gemforge eval` and `gemforge workloads` commands. The cheat corpus about
//! forged timing is in tests/bench/integrity.rs.

use gemforge::bench::eval::{evaluate, EvalOpts, Failure, Verdict};
use gemforge::bench::workload;
use gemforge::sim::config::HwConfig;
use std::path::PathBuf;
use std::process::Command;

fn candidate(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/candidates")
        .join(name)
}

fn eval_with(workload: &str, file: &str, opts: &EvalOpts) -> Verdict {
    let cfg = HwConfig::default_config();
    let w = workload::by_name(workload).expect("workload exists");
    evaluate(&cfg, &w, &candidate(file), opts)
}

fn eval(workload: &str, file: &str) -> Verdict {
    eval_with(workload, file, &EvalOpts::default())
}

#[test]
fn correct_tiled_gemm_passes_on_both_engines() {
    let v = eval("gemm_20x36x24", "gemm_tiled.c");
    assert!(v.correct, "{v:#?}");
    assert_eq!(v.failure, None);
    let cycles = v.cycles.expect("rtl cycles");
    assert!(cycles > v.ideal_cycles, "{v:#?}");
    assert_eq!(v.ideal_cycles, (20 * 36 * 24u64).div_ceil(256));
    let u = v.utilization.unwrap();
    assert!(u > 0.0 && u < 1.0, "{u}");
    assert!(v.sp_rows_used.unwrap() > 0);
    // Its results live in the accumulator rows computes write to (none are moved in there).
    assert_eq!(v.acc_rows_used, Some(0));
    assert_eq!(v.acc_rows_computed, Some(16));
    assert!(
        v.counters.get("exe_active_cycle").copied().unwrap_or(0) > 0,
        "{v:#?}"
    );
    // The JSON has exactly the documented fields.
    let j = serde_json::to_value(&v).unwrap();
    let mut keys: Vec<&str> = j.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "acc_rows_computed",
            "acc_rows_used",
            "correct",
            "counters",
            "cycles",
            "detail",
            "failure",
            "ideal_cycles",
            "memory_floor_cycles",
            "sp_rows_used",
            "utilization",
            "workload"
        ]
    );
    assert!(j["failure"].is_null());
    // The cycles are the host's measurement, at or above both floors, and the detail says so.
    assert!(
        cycles >= v.memory_floor_cycles && v.memory_floor_cycles > 0,
        "{v:#?}"
    );
    assert!(v.detail.contains("measured by the host"), "{}", v.detail);
}

#[test]
fn cpu_convolution_is_correct() {
    // Checks the conv harness, its argument layout (int32 bias) and the host reference.
    let v = eval("conv_b1_8x16", "conv_cpu.c");
    assert!(v.correct, "{v:#?}");
    assert!(v.cycles.unwrap() > v.ideal_cycles);
}

#[test]
fn checker_rejects_cheating() {
    for (file, failure, needles) in [
        ("nothing.c", Failure::WrongResult, &["poison"][..]),
        ("constant.c", Failure::WrongResult, &["expected"]),
        (
            "early_return.c",
            Failure::WrongResult,
            &["C[16][0]", "still hold the poison"],
        ),
        // Past the output is a guard band the candidate may not touch: an access fault names it.
        (
            "oob_read.c",
            Failure::Trap,
            &[
                "load access fault",
                "the guard band after array C",
                "solution+0x",
            ],
        ),
        (
            "oob_write.c",
            Failure::Trap,
            &[
                "store access fault",
                "the guard band after array C, at offset 0x0",
            ],
        ),
        // An exit from inside solution() is refused before linking.
        ("exit_early.c", Failure::ForbiddenSymbol, &["`exit`"]),
    ] {
        let v = eval("gemm_20x36x24", file);
        assert!(!v.correct, "{file}: {v:#?}");
        assert_eq!(v.failure, Some(failure), "{file}: {v:#?}");
        assert_eq!(v.cycles, None, "{file}");
        for n in needles {
            assert!(v.detail.contains(n), "{file}: `{n}` not in {}", v.detail);
        }
    }
}

#[test]
fn failures_are_classified() {
    let v = eval("gemm_20x36x24", "syntax_error.c");
    assert_eq!(v.failure, Some(Failure::CompileError), "{v:#?}");
    assert!(
        v.detail.contains("syntax_error.c:4") && v.detail.contains("error:"),
        "{}",
        v.detail
    );

    let v = eval("gemm_20x36x24", "trap.c");
    assert_eq!(v.failure, Some(Failure::Trap), "{v:#?}");
    assert!(v.detail.contains("illegal instruction"), "{}", v.detail);
    assert!(v.detail.contains("in solution+0x"), "{}", v.detail);

    let opts = EvalOpts {
        max_cycles: Some(2_000_000),
        ..EvalOpts::default()
    };
    let v = eval_with("gemm_20x36x24", "runaway.c", &opts);
    assert_eq!(v.failure, Some(Failure::Timeout), "{v:#?}");
    assert!(v.detail.contains("2000000 cycles"), "{}", v.detail);

    let v = eval("gemm_20x36x24", "accel_error.c");
    assert_eq!(v.failure, Some(Failure::AcceleratorError), "{v:#?}");
    assert!(v.detail.contains("rows = 17"), "{}", v.detail);

    let v = eval("gemm_20x36x24", "does_not_exist.c");
    assert_eq!(v.failure, Some(Failure::HostError), "{v:#?}");
    assert!(!v.correct);
}

#[test]
fn default_timeout_scales_with_the_workload() {
    let w = workload::by_name("gemm_512x512x512").unwrap();
    assert_eq!(
        gemforge::bench::eval::default_max_cycles(&w, 16),
        50 * 512 * 512 * 2 + 10_000_000
    );
}

fn gemforge(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(args)
        .output()
        .expect("run gemforge");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn cli_eval_and_workloads() {
    let good = candidate("gemm_tiled.c");
    let (code, out) = gemforge(&[
        "eval",
        "--workload",
        "gemm_20x36x24",
        good.to_str().unwrap(),
        "--json",
        "--engine-screen-runs",
        "2",
    ]);
    assert_eq!(code, 0, "{out}");
    let j: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(j["correct"], true);
    assert!(j["cycles"].as_u64().unwrap() > 0);

    let bad = candidate("nothing.c");
    let (code, out) = gemforge(&["eval", "--workload", "gemm_20x36x24", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("wrong_result"), "{out}");

    let (code, out) = gemforge(&["eval", "--workload", "gemm_1x2x3", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("unknown workload"), "{out}");

    let (code, out) = gemforge(&["workloads", "--json"]);
    assert_eq!(code, 0);
    let j: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let names: Vec<&str> = j
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    for n in [
        "gemm_512x512x512",
        "gemm_12544x256x64",
        "gemm_32x2048x2048",
        "conv_56x64",
        "conv_14x128",
    ] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    let (code, out) = gemforge(&["workloads"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("gemm_784x1024x256") && out.contains("524288"),
        "{out}"
    );
}

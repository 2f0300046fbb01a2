//! Evaluation integrity (issue 11, docs/integrity.md): a candidate cannot forge its cycle count or work
//! outside the measured call. The cheat corpus in tests/candidates/cheats/ has one file per way of trying
//! (constructors and other work outside the call, counter CSRs, the harness's memory, returning before the
//! accelerator is done, leaving through the side, and a few more); each must be refused with its class, on
//! a small GEMM and on gemm_256x256x256. The honest controls in tests/candidates/honest/ (CPU only, a static
//! cache, recursion, a large stack, heap scratch) must be accepted with cycles at or above both floors. A
//! search whose starting program cheats is refused.

use gemforge::bench::eval::{evaluate, EvalOpts, Failure, Verdict, USER_HEAP_BYTES};
use gemforge::bench::workload;
use gemforge::sim::config::HwConfig;
use std::path::{Path, PathBuf};

const SMALL: &str = "gemm_20x36x24";
const LARGE: &str = "gemm_256x256x256";

fn candidates() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/candidates")
}

fn scratch_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("gf-integrity-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("scratch directory");
    d
}

/// The candidate `rel` for `workload`: itself for the small GEMM; for a larger one, a file that defines
/// M, N and K (and NO_WORK when `no_work`: the cheats then skip their CPU GEMM) and includes it.
fn sized(workload: &str, rel: &str, no_work: bool) -> PathBuf {
    let path = candidates().join(rel);
    let w = workload::by_name(workload).expect("workload");
    let workload::Kind::Gemm { m, n, k } = w.kind else {
        panic!("{workload} is not a GEMM")
    };
    if (m, n, k) == (20, 36, 24) {
        return path;
    }
    let stem = rel.replace('/', "_");
    let out = scratch_dir().join(format!("{workload}-{}-{stem}", u8::from(no_work)));
    let mut text = format!("#define M {m}\n#define N {n}\n#define K {k}\n");
    if no_work {
        text.push_str("#define NO_WORK\n");
    }
    text.push_str(&format!("#include \"{}\"\n", path.display()));
    std::fs::write(&out, text).expect("write the sized candidate");
    out
}

fn eval_path(workload: &str, path: &Path) -> Verdict {
    let cfg = HwConfig::default_config();
    let w = workload::by_name(workload).expect("workload");
    let opts = EvalOpts {
        screen_runs: 1,
        ..EvalOpts::default()
    };
    evaluate(&cfg, &w, path, &opts)
}

/// Every cheat: (file, the class it must be refused with, words its detail must contain).
const CHEATS: &[(&str, Failure, &[&str])] = &[
    // 1. work outside the timed call
    (
        "cheats/constructor.c",
        Failure::ForbiddenSymbol,
        &[".init_array", "constructor"],
    ),
    (
        "cheats/init_array.c",
        Failure::ForbiddenSymbol,
        &[".init_array"],
    ),
    (
        "cheats/preinit_array.c",
        Failure::ForbiddenSymbol,
        &[".preinit_array"],
    ),
    (
        "cheats/destructor.c",
        Failure::ForbiddenSymbol,
        &[".fini_array", "destructor"],
    ),
    ("cheats/atexit.c", Failure::ForbiddenSymbol, &["`atexit`"]),
    // 2. counter CSRs
    (
        "cheats/write_mcycle.c",
        Failure::Trap,
        &["illegal instruction", "CSR 0xb00 needs M-mode"],
    ),
    (
        "cheats/write_minstret.c",
        Failure::Trap,
        &["illegal instruction", "CSR 0xb02 needs M-mode"],
    ),
    (
        "cheats/write_mcountinhibit.c",
        Failure::Trap,
        &["illegal instruction", "CSR 0x320 needs M-mode"],
    ),
    // 3. the harness's memory
    (
        "cheats/harness_words.c",
        Failure::Trap,
        &[
            "load access fault",
            "the harness's and the C library's data",
        ],
    ),
    (
        "cheats/patch_harness_code.c",
        Failure::Trap,
        &["store access fault", "the harness's code"],
    ),
    (
        "cheats/harness_stack.c",
        Failure::Trap,
        &["store access fault", "the harness's stack"],
    ),
    (
        "cheats/walk_up_the_stack.c",
        Failure::Trap,
        &["access fault", "gap above the candidate's stack"],
    ),
    // 5. leaving through the side
    (
        "cheats/exit_forged_done.c",
        Failure::ForbiddenSymbol,
        &["`exit`"],
    ),
    (
        "cheats/ecall_exit.c",
        Failure::Trap,
        &["environment call from U-mode"],
    ),
    ("cheats/semihost_exit.c", Failure::Trap, &["breakpoint"]),
    (
        "cheats/trap_control_flow.c",
        Failure::Trap,
        &["illegal instruction", "CSR 0x305 needs M-mode"],
    ),
    // 6. anything else
    ("cheats/define_tohost.c", Failure::WrongResult, &["poison"]),
    (
        "cheats/interpose_memset.c",
        Failure::WrongResult,
        &["poison"],
    ),
];

fn check_cheats(workload: &str, no_work: bool) {
    for &(file, failure, needles) in CHEATS {
        let v = eval_path(workload, &sized(workload, file, no_work));
        assert!(!v.correct, "{workload} {file}: accepted: {v:#?}");
        assert_eq!(v.failure, Some(failure), "{workload} {file}: {}", v.detail);
        assert_eq!(v.cycles, None, "{workload} {file}");
        for n in needles {
            assert!(
                v.detail.contains(n),
                "{workload} {file}: `{n}` not in: {}",
                v.detail
            );
        }
    }
}

#[test]
fn cheats_are_refused_with_their_class_on_a_small_gemm() {
    check_cheats(SMALL, false);
}

#[test]
fn cheats_are_refused_with_their_class_on_gemm_256() {
    check_cheats(LARGE, true);
}

#[test]
fn the_accelerators_dma_cannot_write_outside_the_output() {
    for (file, needle) in [
        ("cheats/dma_past_output.c", "outside the arrays"),
        ("cheats/dma_into_input.c", "input array A was modified"),
    ] {
        let v = eval_path(SMALL, &candidates().join(file));
        assert_eq!(v.failure, Some(Failure::WrongResult), "{file}: {v:#?}");
        assert!(v.detail.contains(needle), "{file}: {}", v.detail);
    }
}

#[test]
fn returning_before_the_accelerator_is_done_pays_for_the_drain() {
    for workload in [SMALL, LARGE] {
        let fenced = eval_path(workload, &sized(workload, "honest/gemm_tiled_n.c", false));
        let early = eval_path(workload, &sized(workload, "cheats/no_fence.c", false));
        assert!(fenced.correct, "{workload}: {fenced:#?}");
        // Accepted (its output is complete once the accelerator drained), and the drain is in its cycles:
        // it saves only what the hart did after the fence while the array still worked (the fence and the
        // function's epilogue, a few dozen cycles), not the accelerator's remaining work.
        assert!(early.correct, "{workload}: {early:#?}");
        assert!(
            early.detail.contains("cycles of drain included"),
            "{}",
            early.detail
        );
        assert!(
            !fenced.detail.contains("drain included"),
            "{}",
            fenced.detail
        );
        let (f, e) = (fenced.cycles.unwrap(), early.cycles.unwrap());
        assert!(
            e + 64 >= f,
            "{workload}: no fence {e} cycles, with fence {f}"
        );
        assert!(
            e <= f + 8,
            "{workload}: no fence {e} cycles, with fence {f}"
        );
        assert!(
            e >= early.ideal_cycles && e >= early.memory_floor_cycles,
            "{early:#?}"
        );
    }
}

#[test]
fn honest_controls_are_accepted_with_honest_cycles() {
    let mut cpu_cycles = Vec::new();
    for file in [
        "honest/cpu_only.c",
        "honest/static_cache.c",
        "honest/recursion.c",
        "honest/large_stack.c",
        "honest/heap_scratch.c",
    ] {
        let v = eval_path(SMALL, &candidates().join(file));
        assert!(v.correct, "{file}: {v:#?}");
        let c = v.cycles.unwrap();
        assert!(
            c >= v.ideal_cycles && c >= v.memory_floor_cycles,
            "{file}: {v:#?}"
        );
        // A CPU GEMM of 20x36x24 = 17280 MACs takes at least a multiply and two loads per MAC.
        assert!(c > 3 * 17280, "{file}: {c} cycles");
        assert!(v.detail.contains("measured by the host"), "{}", v.detail);
        cpu_cycles.push(c);
    }
    // The JSON states the cycles against both floors.
    let v = eval_path(SMALL, &candidates().join("honest/cpu_only.c"));
    let j = serde_json::to_value(&v).unwrap();
    assert_eq!(
        j["memory_floor_cycles"],
        (20 * 24 + 24 * 36 + 20 * 36u64).div_ceil(24)
    );
    assert_eq!(j["ideal_cycles"], (20 * 36 * 24u64).div_ceil(256));
    // The same program on other inputs: within 1% (the saturation branches depend on the data).
    let again = j["cycles"].as_u64().unwrap();
    assert!(
        again.abs_diff(cpu_cycles[0]) * 100 <= cpu_cycles[0],
        "{again} vs {cpu_cycles:?}"
    );
    // Every control does the same work in its own way: the same order of cycles as the plain one.
    for &c in &cpu_cycles {
        assert!(
            c * 2 >= cpu_cycles[0] && c <= 3 * cpu_cycles[0],
            "{cpu_cycles:?}"
        );
    }
}

#[test]
fn heap_exhaustion_and_stack_overflow_are_classified() {
    let v = eval_path(SMALL, &candidates().join("honest/heap_exhausted.c"));
    assert_eq!(v.failure, Some(Failure::OutOfMemory), "{v:#?}");
    assert!(
        v.detail
            .contains(&format!("scratch heap of {USER_HEAP_BYTES} bytes"))
            && v.detail
                .contains(&format!("allocation of {} bytes", 64u64 << 20)),
        "{}",
        v.detail
    );
    let v = eval_path(SMALL, &candidates().join("honest/stack_overflow.c"));
    assert_eq!(v.failure, Some(Failure::Trap), "{v:#?}");
    assert!(v.detail.contains("a stack overflow"), "{}", v.detail);
}

#[test]
fn a_search_that_starts_from_a_cheat_is_refused() {
    let dir = scratch_dir().join("search");
    let _ = std::fs::remove_dir_all(&dir);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args([
            "search",
            "--workload",
            SMALL,
            "--iterations",
            "1",
            "--screen-runs",
            "1",
            "--no-baselines",
            "--json",
            "--start",
        ])
        .arg(candidates().join("exit_early.c"))
        .arg("--run-dir")
        .arg(&dir)
        .output()
        .expect("gemforge search");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("starting program is not correct") && stderr.contains("forbidden_symbol"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

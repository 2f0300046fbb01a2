//! `-v/--verbose` on the benchmark suite's subcommands (eval, bench, sweep): each run is made twice, with
//! and without -v, on the same seed; -v must add stderr lines of the kind the help text documents and
//! leave stdout byte for byte the same (for sweep, whose JSON carries its own wall time, all but that
//! field).

use std::path::PathBuf;
use std::process::{Command, Output};

fn candidate(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/candidates")
        .join(name)
        .display()
        .to_string()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gf-verbose-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn gemforge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(args)
        .output()
        .expect("run gemforge")
}

/// The same command without and with `-v` (given before the subcommand, as a global flag).
fn plain_and_verbose(args: &[&str]) -> (Output, Output) {
    let plain = gemforge(args);
    let mut v = vec!["-v"];
    v.extend_from_slice(args);
    (plain, gemforge(&v))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The -v lines (each starts with `gemforge: `) of an output's stderr.
fn log_lines(o: &Output) -> Vec<String> {
    stderr(o)
        .lines()
        .filter(|l| l.starts_with("gemforge: "))
        .map(str::to_string)
        .collect()
}

/// Every `needle` is in some -v line.
fn assert_logged(o: &Output, needles: &[&str]) {
    let lines = log_lines(o);
    for n in needles {
        assert!(
            lines.iter().any(|l| l.contains(n)),
            "no -v line contains {n:?}; stderr:\n{}",
            stderr(o)
        );
    }
}

#[test]
fn eval_verbose_shows_compiles_screens_rtl_run_and_phases() {
    let cand = candidate("gemm_tiled.c");
    for json in [true, false] {
        let mut args = vec![
            "eval",
            "--workload",
            "gemm_20x36x24",
            "--seed",
            "11",
            "--screen-runs",
            "2",
            &cand,
        ];
        if json {
            args.push("--json");
        }
        let (plain, verbose) = plain_and_verbose(&args);
        assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
        assert_eq!(verbose.status.code(), Some(0), "{}", stderr(&verbose));
        assert_eq!(
            String::from_utf8_lossy(&plain.stdout),
            String::from_utf8_lossy(&verbose.stdout),
            "-v changed stdout (json: {json})"
        );
        assert!(log_lines(&plain).is_empty(), "{}", stderr(&plain));
        assert_logged(
            &verbose,
            &[
                "eval gemm_20x36x24 ",
                "compile: ",
                "riscv64-unknown-elf-gcc",
                " -c ",
                "link: ",
                "spec run 1/2 (seed 11): correct",
                "spec run 2/2 (seed 11): correct",
                "rtl run: ",
                "cycles in solution()",
                "s wall",
                "phase compile ",
                "phase spec screens ",
                "phase rtl run ",
            ],
        );
    }
    // The second of two identical evaluations links from the compile cache, and -v says so.
    let (_, again) = plain_and_verbose(&["eval", "--workload", "gemm_20x36x24", &cand]);
    assert_logged(&again, &["link: compile cache hit"]);

    // A failing screen is named with its failure class.
    let (plain, verbose) = plain_and_verbose(&[
        "eval",
        "--workload",
        "gemm_20x36x24",
        "--seed",
        "3",
        &candidate("nothing.c"),
    ]);
    assert_eq!(plain.status.code(), Some(1));
    assert_eq!(plain.stdout, verbose.stdout);
    assert_logged(&verbose, &["spec run 1/3 (seed 3): wrong_result: "]);
}

#[test]
fn bench_verbose_shows_each_cell() {
    let dir = scratch("bench");
    let out = dir.display().to_string();
    let (plain, verbose) = plain_and_verbose(&[
        "bench",
        "--workloads",
        "gemm_20x36x24",
        "--baselines",
        "naive,library",
        "--seed",
        "5",
        "--screen-runs",
        "1",
        "--jobs",
        "2",
        "--json",
        "--out-dir",
        &out,
    ]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert!(verbose.status.success(), "{}", stderr(&verbose));
    assert_eq!(
        String::from_utf8_lossy(&plain.stdout),
        String::from_utf8_lossy(&verbose.stdout)
    );
    assert!(log_lines(&plain).is_empty(), "{}", stderr(&plain));
    let lines = log_lines(&verbose);
    for b in ["naive", "library"] {
        let head = format!("gemforge: bench gemm_20x36x24 {b}: correct, ");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&head) && l.contains(" cycles (evaluated; done ")),
            "no cell line for {b}: {lines:?}"
        );
    }
    // One -v shows cells, not the steps inside each evaluation; -vv adds those.
    assert!(!lines.iter().any(|l| l.contains("spec run")), "{lines:?}");
    let vv = gemforge(&[
        "-vv",
        "bench",
        "--workloads",
        "gemm_20x36x24",
        "--baselines",
        "naive",
        "--seed",
        "5",
        "--screen-runs",
        "1",
        "--json",
        "--out-dir",
        &out,
    ]);
    assert!(vv.status.success(), "{}", stderr(&vv));
    assert_logged(&vv, &["spec run 1/1 (seed 5): correct", "rtl run: "]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sweep_verbose_shows_each_cell() {
    let dir = scratch("sweep");
    let out = dir.display().to_string();
    let cfg = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("rtl/configs/default.toml")
        .display()
        .to_string();
    let (plain, verbose) = plain_and_verbose(&[
        "sweep",
        "--configs",
        &cfg,
        "--workloads",
        "gemm_20x36x24",
        "--program",
        "naive",
        "--jobs",
        "1",
        "--json",
        "--out-dir",
        &out,
    ]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert!(verbose.status.success(), "{}", stderr(&verbose));
    // The JSON is the same but for the sweep's own wall time.
    let without_wall = |o: &Output| {
        let mut j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
        j.as_object_mut().expect("an object").remove("wall_s");
        j
    };
    assert_eq!(without_wall(&plain), without_wall(&verbose));
    assert!(log_lines(&plain).is_empty(), "{}", stderr(&plain));
    let lines = log_lines(&verbose);
    assert!(
        lines.iter().any(
            |l| l.starts_with("gemforge: sweep default gemm_20x36x24 naive: ok, ")
                && l.contains(" cycles (")
        ),
        "{lines:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Before, after or on both sides of the subcommand, -q with -v is refused (exit status 2) naming both,
/// and nothing runs.
#[test]
fn quiet_and_verbose_conflict_with_a_clear_message() {
    let cand = candidate("gemm_tiled.c");
    for flags in [
        ["-q", "-v", "eval"],
        ["-q", "eval", "-v"],
        ["eval", "-v", "-q"],
    ] {
        let mut args = flags.to_vec();
        args.extend(["--workload", "gemm_20x36x24", &cand]);
        let o = gemforge(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = stderr(&o);
        assert!(
            e.contains("cannot be used with")
                && e.contains("'--quiet'")
                && e.contains("'--verbose"),
            "{args:?}: {e}"
        );
        assert!(o.stdout.is_empty(), "{args:?} ran");
    }
}

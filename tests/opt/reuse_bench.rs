//! `scripts/reuse-bench.sh` end to end on a tiny pair (gemm_32x32x32 -> gemm_16x16x16, a one-iteration
//! source, a budget of 3 candidates, seeds 1 and 2; seconds): the table has one row per seed and a median
//! row, its numbers are the run directories' journals' (best cycles after the re-check, candidates judged,
//! the improvement computed from them, the best after the first 2 candidates), a second invocation runs nothing again and prints the same table,
//! and bad arguments are refused with exit status 2.

use gemforge::opt::search::journal::{read_journal, Event};
use gemforge::opt::search::load_config;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PAIR: &str = "gemm_32x32x32:gemm_16x16x16";

fn script(out: &Path, extra: &[&str]) -> Output {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    Command::new("bash")
        .arg(root.join("scripts/reuse-bench.sh"))
        .arg("--out")
        .arg(out)
        .args(["--bin", env!("CARGO_BIN_EXE_gemforge")])
        .args(extra)
        .output()
        .expect("running bash")
}

/// The re-checked best cycles of a finished run.
fn best(dir: &Path) -> Option<u64> {
    read_journal(&dir.join("journal.jsonl"))
        .expect("journal")
        .events
        .into_iter()
        .find_map(|e| match e {
            Event::Finish { cycles, .. } => Some(cycles),
            _ => None,
        })
        .expect("a finished run")
}

/// Candidates judged (evaluated programs other than the start and the baselines).
fn judged(dir: &Path) -> usize {
    let start = load_config(dir).expect("config").start;
    read_journal(&dir.join("journal.jsonl"))
        .expect("journal")
        .events
        .iter()
        .filter(|e| {
            matches!(e, Event::Evaluated { code, .. } if *code != start && !code.starts_with("baseline:"))
        })
        .count()
}

/// Best cycles among the starting program and the first `k` candidates in journal order.
fn best_after(dir: &Path, k: usize) -> u64 {
    let start = load_config(dir).expect("config").start;
    let ok = |v: &serde_json::Value| {
        let v = gemforge::bench::eval_cache::verdict_from_json(v).expect("verdict");
        v.cycles.filter(|_| v.correct && v.failure.is_none())
    };
    let ev = read_journal(&dir.join("journal.jsonl"))
        .expect("journal")
        .events;
    let start_cycles = ev.iter().find_map(|e| match e {
        Event::Evaluated { code, verdict, .. } if *code == start => ok(verdict),
        _ => None,
    });
    ev.iter()
        .filter_map(|e| match e {
            Event::Evaluated { code, verdict, .. }
                if *code != start && !code.starts_with("baseline:") =>
            {
                Some(verdict)
            }
            _ => None,
        })
        .take(k)
        .filter_map(ok)
        .chain(start_cycles)
        .min()
        .expect("the starting program is correct")
}

fn cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|c| c.trim().to_string())
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[test]
fn reuse_bench_table_matches_the_journals_and_reruns_nothing() {
    let out = std::env::temp_dir().join(format!("gf-reuse-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let args = [
        "--budget",
        "3",
        "--seeds",
        "1 2",
        "--source-args",
        "--iterations 1 --beam 2 --plans 2 --impls 1 --screen-runs 1",
        "--target-args",
        "--screen-runs 1",
        "--checkpoints",
        "2",
        PAIR,
    ];
    let first = script(&out, &args);
    let stdout = String::from_utf8_lossy(&first.stdout).to_string();
    let stderr = String::from_utf8_lossy(&first.stderr).to_string();
    assert!(first.status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        std::fs::read_to_string(out.join("table.md")).unwrap(),
        stdout
    );
    let rows: Vec<Vec<String>> = stdout
        .lines()
        .filter(|l| l.starts_with("| gemm_32x32x32 -> gemm_16x16x16 |"))
        .map(cells)
        .collect();
    assert_eq!(rows.len(), 3, "two seeds and the median:\n{stdout}");
    let (mut withs, mut withouts, mut gains) = (Vec::new(), Vec::new(), Vec::new());
    for (row, seed) in rows.iter().zip(["1", "2"]) {
        assert_eq!(row.len(), 9, "{row:?}");
        assert_eq!(row[1], seed);
        let with_dir = out.join(format!("with/gemm_32x32x32--gemm_16x16x16/s{seed}"));
        let without_dir = out.join(format!("without/gemm_16x16x16/s{seed}"));
        let (w, o) = (best(&with_dir).unwrap(), best(&without_dir).unwrap());
        assert_eq!(row[2], w.to_string());
        assert_eq!(row[3], o.to_string());
        let gain = (o as f64 - w as f64) * 100.0 / o as f64;
        let want = format!("{gain:.2}");
        let want = if want == "-0.00" {
            "0.00".to_string()
        } else {
            want
        };
        assert_eq!(row[4], want);
        let (jw, jo) = (judged(&with_dir), judged(&without_dir));
        assert!(jw <= 3 && jo <= 3 && jw > 0 && jo > 0, "{jw} {jo}");
        assert_eq!(row[5], format!("{jw} / {jo}"));
        assert_eq!(
            row[6],
            format!(
                "{} / {}",
                best_after(&with_dir, 2),
                best_after(&without_dir, 2)
            )
        );
        for c in [&row[7], &row[8]] {
            let (secs, load) = c.split_once(" s (").unwrap_or_else(|| panic!("{c}"));
            assert!(secs.parse::<u64>().is_ok() && load.ends_with(')'), "{c}");
        }
        // The target runs were made as the table says.
        let cfg = load_config(&with_dir).unwrap();
        assert_eq!(cfg.params.max_evaluations, Some(3));
        assert_eq!(cfg.params.iterations, 30, "the budget, not T, ends the run");
        assert_eq!(cfg.params.seed.to_string(), seed);
        assert_eq!(
            cfg.reuse_from.as_deref(),
            Some(out.join("source/gemm_32x32x32").as_path())
        );
        let cfg = load_config(&without_dir).unwrap();
        assert_eq!(cfg.params.max_evaluations, Some(3));
        assert!(cfg.reuse_from.is_none());
        withs.push(w as f64);
        withouts.push(o as f64);
        gains.push(row[4].parse::<f64>().unwrap());
    }
    let m = &rows[2];
    assert_eq!(m[1], "median");
    for (cell, v) in [(&m[2], &withs), (&m[3], &withouts), (&m[4], &gains)] {
        let got: f64 = cell.parse().unwrap_or_else(|_| panic!("{cell}"));
        assert!((got - median(v.clone())).abs() < 0.0051, "{cell} vs {v:?}");
    }
    let src = out.join("source/gemm_32x32x32");
    let source_row = stdout
        .lines()
        .find(|l| l.starts_with("| gemm_32x32x32 ("))
        .map(cells)
        .expect("the source's row");
    assert_eq!(source_row[1], best(&src).unwrap().to_string());
    assert_eq!(source_row[2], judged(&src).to_string());
    // Fresh verdict caches, removed after each run.
    assert!(
        !out.join("cache").exists() || std::fs::read_dir(out.join("cache")).unwrap().count() == 0
    );

    // Again: every run is finished, nothing runs, the same table comes out.
    let journal = |d: &Path| std::fs::read_to_string(d.join("journal.jsonl")).unwrap();
    let before = journal(&out.join("without/gemm_16x16x16/s1"));
    let second = script(&out, &args);
    assert!(second.status.success());
    assert_eq!(String::from_utf8_lossy(&second.stdout), stdout);
    assert!(String::from_utf8_lossy(&second.stderr).contains("finished before, not run again"));
    assert_eq!(journal(&out.join("without/gemm_16x16x16/s1")), before);

    // Bad arguments: exit status 2 and a message naming the argument.
    for (bad, says) in [
        (vec!["--budget", "0", PAIR], "--budget 0"),
        (vec!["--seeds", "one", PAIR], "--seeds: one"),
        (vec!["gemm_32x32x32"], "pair gemm_32x32x32"),
        (
            vec!["--source-run", "gemm_32x32x32=/nonexistent", PAIR],
            "holds no finished run",
        ),
    ] {
        let o = script(&out, &bad);
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {e}");
        assert!(e.contains(says), "{bad:?}: {e}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

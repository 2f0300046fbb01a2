//! `gemforge bench`: the baseline ladder on a set of workloads, every program judged by the full
//! correctness protocol (`eval::evaluate`: spec-engine screens, then the RTL run for cycles), in parallel
//! on an executor (this machine's cores, or Slurm jobs: `bench::executor`).

use crate::bench::baseline::{self, Baseline};
use crate::bench::eval::{self, EvalOpts, Verdict};
use crate::bench::executor::{EvalRequest, Executor, LocalExecutor};
use crate::bench::workload::{self, Workload};
use crate::sim::config::HwConfig;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOpts {
    /// Workload names; empty: the six paper GEMMs.
    pub workloads: Vec<String>,
    /// Baselines; empty: all four.
    pub baselines: Vec<Baseline>,
    /// Parallel evaluations; 0: the available parallelism.
    pub jobs: usize,
    /// Where the generated programs are written (kept for inspection); None: a temporary directory.
    pub out_dir: Option<PathBuf>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    pub eval: EvalOpts,
}

impl Default for BenchOpts {
    fn default() -> Self {
        BenchOpts {
            workloads: Vec::new(),
            baselines: Vec::new(),
            jobs: 0,
            out_dir: None,
            progress: true,
            eval: EvalOpts::default(),
        }
    }
}

/// One cell of the table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cell {
    pub workload: String,
    pub baseline: Baseline,
    pub correct: bool,
    pub cycles: Option<u64>,
    pub utilization: Option<f64>,
    /// Library cycles / these cycles (None without both).
    pub speedup_vs_library: Option<f64>,
    /// The failure class when the baseline failed (e.g. `accelerator_error`, `compile_error`).
    pub failure: Option<String>,
    /// False when the baseline does not exist for the workload (the library and the loop FSMs for the
    /// TinyMPC kernels): shown as n/a, not run, not a failure.
    pub applicable: bool,
    pub detail: String,
    /// The generated program.
    pub program: Option<PathBuf>,
}

/// The result: one cell per (workload, baseline), workloads in the order asked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchReport {
    pub baselines: Vec<Baseline>,
    pub cells: Vec<Cell>,
}

fn resolve(names: &[String]) -> anyhow::Result<Vec<Workload>> {
    if names.is_empty() {
        return Ok(workload::all()
            .into_iter()
            .filter(|w| w.group == "paper")
            .collect());
    }
    let mut out = Vec::new();
    for n in names {
        for part in n.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let group: Vec<Workload> = workload::all()
                .into_iter()
                .filter(|w| w.group == part)
                .collect();
            if !group.is_empty() {
                out.extend(group);
                continue;
            }
            match workload::by_name(part) {
                Some(w) => out.push(w),
                None => {
                    // The groups as the catalogue has them, so the message cannot fall behind it.
                    let mut groups: Vec<&str> = Vec::new();
                    let all = workload::all();
                    for w in &all {
                        if !groups.contains(&w.group) {
                            groups.push(w.group);
                        }
                    }
                    bail!(
                        "unknown workload or group `{part}` (see `gemforge workloads`; groups: {})",
                        groups.join(", ")
                    )
                }
            }
        }
    }
    Ok(out)
}

/// Runs the ladder. Every workload must have the configuration's data type (int8 workloads on int8
/// configurations, the fp32 TinyMPC kernels on fp32 ones); baselines that do not exist for a workload are
/// n/a cells.
pub fn run(hw: &HwConfig, opts: &BenchOpts) -> anyhow::Result<BenchReport> {
    run_with(
        hw,
        opts,
        &LocalExecutor::new(opts.jobs),
        &AtomicBool::new(false),
    )
}

/// [`run`] on an executor (this machine's cores or a cluster); `stop` (Ctrl-C) ends it early with an
/// error, after the executor cancelled its outstanding work. `opts.jobs` is the executor's business here.
pub fn run_with(
    hw: &HwConfig,
    opts: &BenchOpts,
    exec: &dyn Executor,
    stop: &AtomicBool,
) -> anyhow::Result<BenchReport> {
    let workloads = resolve(&opts.workloads)?;
    for w in &workloads {
        eval::check_data_type(hw, w).map_err(anyhow::Error::msg)?;
    }
    let baselines = if opts.baselines.is_empty() {
        Baseline::ALL.to_vec()
    } else {
        opts.baselines.clone()
    };
    let tmp;
    let dir: &Path = match &opts.out_dir {
        Some(d) => d,
        None => {
            tmp = std::env::temp_dir().join(format!("gemforge-bench-{}", std::process::id()));
            &tmp
        }
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // Generate every program first: a generation failure is a cell, not a crash. Baselines that do not
    // exist for a workload are not jobs.
    let mut jobs: Vec<(usize, Workload, Baseline, Result<PathBuf, String>)> = Vec::new();
    for w in &workloads {
        for &b in baselines.iter().filter(|&&b| baseline::applies(w, b)) {
            let path = dir.join(format!("{}-{}.c", w.name, b.name()));
            let made = baseline::program(hw, w, b)
                .map_err(|e| format!("{e:#}"))
                .and_then(|c| {
                    std::fs::write(&path, c).map_err(|e| format!("writing {}: {e}", path.display()))
                })
                .map(|()| path);
            jobs.push((jobs.len(), w.clone(), b, made));
        }
    }
    let bar = if opts.progress {
        let b = indicatif::ProgressBar::new(jobs.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_message(format!("{} executor", exec.name()));
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    crate::term::attach(&bar);
    // Programs that were generated go to the executor; the others are cells already.
    let mut results: Vec<Option<Verdict>> = vec![None; jobs.len()];
    let mut reqs = Vec::new();
    let mut req_job = Vec::new();
    for (idx, w, _, made) in &jobs {
        match made {
            Ok(path) => {
                reqs.push(EvalRequest {
                    hw: hw.clone(),
                    workload: w.clone(),
                    candidate: path.clone(),
                    opts: opts.eval.clone(),
                    cache: None,
                });
                req_job.push(*idx);
            }
            Err(_) => results[*idx] = Some(not_generated(hw, w)),
        }
    }
    let got = Mutex::new(vec![None; reqs.len()]);
    let started = std::time::Instant::now();
    exec.evaluate(&reqs, stop, &|i, v| {
        // -v: each cell as it completes (the ladder has no verdict cache: every cell is evaluated).
        if let Some((_, w, b, _)) = req_job.get(i).and_then(|&j| jobs.get(j)) {
            log::info!(
                "bench {} {}: {} (evaluated; done {:.1} s after the start)",
                w.name,
                b.name(),
                eval::verdict_summary(&v),
                started.elapsed().as_secs_f64()
            );
        }
        if let Ok(mut g) = got.lock() {
            g[i] = Some(v);
        }
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    let got = got
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a benchmark worker panicked"))?;
    if stop.load(Ordering::SeqCst) {
        bail!("interrupted: the benchmark stopped before every program was judged");
    }
    for (i, v) in got.into_iter().enumerate() {
        results[req_job[i]] = v;
    }
    let mut cells = Vec::new();
    for ((_, w, b, made), v) in jobs.iter().zip(results) {
        let (correct, cycles, util, failure, detail) = match (made, v) {
            (Err(e), _) => (
                false,
                None,
                None,
                Some("generation_error".to_string()),
                e.clone(),
            ),
            (Ok(_), Some(v)) => (
                v.correct,
                v.cycles,
                v.utilization,
                v.failure.map(|f| f.name().to_string()),
                v.detail,
            ),
            (Ok(_), None) => (
                false,
                None,
                None,
                Some("host_error".into()),
                "not run".into(),
            ),
        };
        cells.push(Cell {
            workload: w.name.clone(),
            baseline: *b,
            correct,
            cycles,
            utilization: util,
            speedup_vs_library: None,
            failure,
            applicable: true,
            detail,
            program: made.as_ref().ok().cloned(),
        });
    }
    for w in &workloads {
        for &b in baselines.iter().filter(|&&b| !baseline::applies(w, b)) {
            cells.push(Cell {
                workload: w.name.clone(),
                baseline: b,
                correct: false,
                cycles: None,
                utilization: None,
                speedup_vs_library: None,
                failure: None,
                applicable: false,
                detail: format!("the {} baseline does not exist for {}", b.name(), w.name),
                program: None,
            });
        }
    }
    // One cell per (workload, baseline), in the order asked.
    let pos = |c: &Cell| {
        (
            workloads.iter().position(|w| w.name == c.workload),
            baselines.iter().position(|&b| b == c.baseline),
        )
    };
    cells.sort_by_key(pos);
    for w in &workloads {
        let lib = cells
            .iter()
            .find(|c| c.workload == w.name && c.baseline == Baseline::Library)
            .and_then(|c| c.cycles);
        for c in cells.iter_mut().filter(|c| c.workload == w.name) {
            c.speedup_vs_library = match (lib, c.cycles) {
                (Some(l), Some(x)) if x > 0 => Some(l as f64 / x as f64),
                _ => None,
            };
        }
    }
    Ok(BenchReport { baselines, cells })
}

/// A placeholder verdict for a program that could not be generated (the cell carries the reason).
fn not_generated(hw: &HwConfig, w: &Workload) -> Verdict {
    Verdict {
        workload: w.name.clone(),
        correct: false,
        cycles: None,
        ideal_cycles: w.ideal_cycles(hw.dim()),
        memory_floor_cycles: eval::memory_floor_cycles(hw, w),
        utilization: None,
        failure: Some(eval::Failure::HostError),
        detail: String::new(),
        sp_rows_used: None,
        acc_rows_used: None,
        acc_rows_computed: None,
        counters: Default::default(),
    }
}

impl BenchReport {
    /// One table: per workload and baseline, cycles, utilization and speedup over the library.
    pub fn to_text(&self) -> String {
        let mut s = format!("{:<22}", "workload");
        for b in &self.baselines {
            s.push_str(&format!(" | {:>30}", b.name()));
        }
        s.push('\n');
        s.push_str(&format!("{:<22}", ""));
        for _ in &self.baselines {
            s.push_str(&format!(
                " | {:>12} {:>6} {:>10}",
                "cycles", "util", "vs lib"
            ));
        }
        s.push('\n');
        let mut names: Vec<&str> = Vec::new();
        for c in &self.cells {
            if !names.contains(&c.workload.as_str()) {
                names.push(&c.workload);
            }
        }
        for name in names {
            s.push_str(&format!("{name:<22}"));
            for b in &self.baselines {
                let cell = self
                    .cells
                    .iter()
                    .find(|c| c.workload == name && c.baseline == *b);
                match cell {
                    Some(c) if !c.applicable => s.push_str(&format!(" | {:>30}", "n/a")),
                    Some(c) if c.correct && c.cycles.is_some() => {
                        let cyc = c.cycles.unwrap_or(0);
                        let u = c
                            .utilization
                            .map_or("-".to_string(), |u| format!("{:.1}%", u * 100.0));
                        let sp = c
                            .speedup_vs_library
                            .map_or("-".to_string(), |x| format!("{x:.2}x"));
                        s.push_str(&format!(" | {cyc:>12} {u:>6} {sp:>10}"));
                    }
                    Some(c) => {
                        let f = c.failure.clone().unwrap_or_else(|| "incorrect".into());
                        s.push_str(&format!(" | {f:>30}"));
                    }
                    None => s.push_str(&format!(" | {:>30}", "-")),
                }
            }
            s.push('\n');
        }
        let failed: Vec<&Cell> = self
            .cells
            .iter()
            .filter(|c| c.applicable && !c.correct)
            .collect();
        if !failed.is_empty() {
            s.push_str("\nfailures:\n");
            for c in failed {
                let first = c.detail.lines().next().unwrap_or("");
                s.push_str(&format!(
                    "  {} {}: {} {}\n",
                    c.workload,
                    c.baseline.name(),
                    c.failure.as_deref().unwrap_or("incorrect"),
                    first
                ));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_name_lists_every_group_of_the_catalogue() {
        let e = resolve(&["no_such_workload".to_string()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`no_such_workload`"), "{e}");
        for w in workload::all() {
            assert!(e.contains(w.group), "{} missing from: {e}", w.group);
        }
    }
}

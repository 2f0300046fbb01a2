//! `gemforge sweep`: every (configuration, workload, program) judged on the RTL, in parallel, in one
//! table (cycles, utilization, speedup against the first configuration), a CSV and an SVG chart.
//!
//! A program is a candidate C file for the workload, or the name of a baseline generated for each
//! configuration (`naive`, `library`, `hand`, `fsm`; see [`crate::bench::baseline`]). A program that cannot
//! run on a configuration (a tile that no longer fits the scratchpad, code that needs another DIM) is a
//! result of the sweep, reported by its class, not a failure of the tool.

use crate::bench::eval::{EvalOpts, Failure, Verdict};
use crate::bench::executor::{EvalRequest, Executor, LocalExecutor};
use crate::bench::workload::{self, Workload};
use crate::sim::accel::rtl::prepare_model;
use crate::sim::config::HwConfig;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::Instant;

/// (configuration, workload, program) indices of a cell.
type Slot = (usize, usize, usize);

/// What `gemforge sweep` was asked to do.
#[derive(Debug, Clone)]
pub struct SweepArgs {
    pub configs: Vec<PathBuf>,
    pub workloads: Vec<String>,
    /// Candidate C files or baseline names; none: the `naive` baseline.
    pub programs: Vec<String>,
    /// Where the CSV, the SVG and generated programs go.
    pub out_dir: PathBuf,
    /// Parallel evaluations; None: one per core.
    pub jobs: Option<usize>,
    /// Seed of the inputs (the same for every cell, so every configuration sees the same data).
    pub seed: u64,
}

/// A program of the sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramSpec {
    /// A candidate C file, used unchanged on every configuration.
    File(PathBuf),
    /// A baseline, generated for each configuration and workload.
    Baseline(String),
}

impl ProgramSpec {
    /// A path to an existing file is a file; anything else must be a baseline name.
    pub fn parse(s: &str) -> Result<ProgramSpec> {
        let p = Path::new(s);
        if p.is_file() {
            return Ok(ProgramSpec::File(p.to_path_buf()));
        }
        if s.ends_with(".c") || s.contains('/') {
            bail!("program {s}: no such file");
        }
        check_baseline(s)?;
        Ok(ProgramSpec::Baseline(s.to_string()))
    }
    pub fn label(&self) -> String {
        match self {
            ProgramSpec::File(p) => p
                .file_name()
                .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into()),
            ProgramSpec::Baseline(b) => b.clone(),
        }
    }
}

/// The outcome class of one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellStatus {
    Ok,
    /// Ran to completion with a wrong result.
    WrongResult,
    /// The program does not fit this configuration: the accelerator refused a command (rows out of range,
    /// a tile larger than DIM), or the program could not be generated for it.
    DoesNotFit,
    /// The program does not compile for this configuration (e.g. it assumes another DIM).
    DoesNotCompile,
    /// The workload's element type is not the configuration's (an int8 workload on an fp32 datapath).
    OtherDataType,
    Trap,
    Timeout,
    /// The tool could not judge the cell (no compiler, the variant failed to build, ...).
    ToolError,
}

impl CellStatus {
    pub fn name(self) -> &'static str {
        match self {
            CellStatus::Ok => "ok",
            CellStatus::WrongResult => "wrong result",
            CellStatus::DoesNotFit => "does not fit",
            CellStatus::DoesNotCompile => "does not compile",
            CellStatus::OtherDataType => "other data type",
            CellStatus::Trap => "trap",
            CellStatus::Timeout => "timeout",
            CellStatus::ToolError => "tool error",
        }
    }
    fn of(v: &Verdict) -> CellStatus {
        match v.failure {
            None if v.correct => CellStatus::Ok,
            None => CellStatus::WrongResult,
            Some(Failure::WrongResult) => CellStatus::WrongResult,
            Some(Failure::AcceleratorError) => CellStatus::DoesNotFit,
            Some(Failure::CompileError) => CellStatus::DoesNotCompile,
            Some(Failure::Trap) => CellStatus::Trap,
            Some(Failure::Timeout) => CellStatus::Timeout,
            Some(Failure::HostError | Failure::JobFailed) => CellStatus::ToolError,
            // Sweeps forbid nothing today; should a caller restrict the ISA, report it as a trap-like refusal.
            Some(Failure::ForbiddenInstruction) => CellStatus::Trap,
            // Refused integrity checks: a program no correct cell can come from.
            Some(Failure::ForbiddenSymbol) => CellStatus::DoesNotCompile,
            Some(Failure::ImpossibleTiming) => CellStatus::WrongResult,
            Some(Failure::OutOfMemory) => CellStatus::Trap,
        }
    }
}

/// One (configuration, workload, program) result.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub config: String,
    pub config_file: String,
    pub dim: u32,
    pub workload: String,
    pub program: String,
    pub status: CellStatus,
    pub cycles: Option<u64>,
    pub ideal_cycles: u64,
    pub utilization: Option<f64>,
    /// Cycles on the first configuration / cycles here (same workload and program); None unless both ran.
    pub speedup: Option<f64>,
    /// Why it did not run (first line of the verdict's detail).
    pub detail: String,
}

/// The whole sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepResult {
    pub cells: Vec<Cell>,
    pub csv: String,
    pub svg: String,
    pub wall_s: f64,
}

fn check_baseline(name: &str) -> Result<()> {
    baseline_program(&HwConfig::default_config(), None, name).map(|_| ())
}

/// The C text of baseline `name` for `w` on `hw` (with `w` None: only check that the name is known).
fn baseline_program(hw: &HwConfig, w: Option<&Workload>, name: &str) -> Result<Option<String>> {
    let b = crate::bench::baseline::Baseline::parse(name)?;
    match w {
        None => Ok(None),
        Some(w) => crate::bench::baseline::program(hw, w, b).map(Some),
    }
}

/// Run the sweep: build the variants first (sequentially; each build uses every core), then judge every
/// cell on `jobs` threads of this machine with a progress bar on a terminal.
pub fn run(args: &SweepArgs) -> Result<SweepResult> {
    let exec = LocalExecutor::new(args.jobs.unwrap_or(0));
    run_with(args, &exec, &AtomicBool::new(false))
}

/// [`run`] on an executor (this machine's cores or a cluster); `stop` (Ctrl-C) ends it early with an
/// error, after the executor cancelled its outstanding work. `args.jobs` is the executor's business here.
pub fn run_with(args: &SweepArgs, exec: &dyn Executor, stop: &AtomicBool) -> Result<SweepResult> {
    let t0 = Instant::now();
    if args.configs.is_empty() {
        bail!("--configs needs at least one configuration file");
    }
    if args.workloads.is_empty() {
        bail!("--workloads needs at least one workload (see `gemforge workloads`)");
    }
    let mut cfgs = Vec::new();
    for p in &args.configs {
        cfgs.push((p.clone(), HwConfig::from_file(p)?));
    }
    let mut wls = Vec::new();
    for name in &args.workloads {
        let w = workload::by_name(name).with_context(|| {
            format!("unknown workload `{name}` (`gemforge workloads` lists them)")
        })?;
        wls.push(w);
    }
    let progs: Vec<ProgramSpec> = if args.programs.is_empty() {
        vec![ProgramSpec::Baseline("naive".into())]
    } else {
        args.programs
            .iter()
            .map(|s| ProgramSpec::parse(s))
            .collect::<Result<_>>()?
    };
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;
    let gen_dir = args.out_dir.join("programs");
    std::fs::create_dir_all(&gen_dir).with_context(|| format!("creating {}", gen_dir.display()))?;

    // Variants first: a configuration whose RTL cannot be built is reported in every one of its cells.
    let mut build_error: Vec<Option<String>> = Vec::new();
    for (p, cfg) in &cfgs {
        build_error.push(
            prepare_model(cfg)
                .with_context(|| format!("configuration {}", p.display()))
                .err()
                .map(|e| format!("{e:#}")),
        );
    }

    let mut todo = Vec::new();
    for ci in 0..cfgs.len() {
        for wi in 0..wls.len() {
            for pi in 0..progs.len() {
                todo.push((ci, wi, pi));
            }
        }
    }
    let n = todo.len();
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::with_draw_target(Some(n as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("sweep {bar:30} {pos}/{len} [{elapsed}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    crate::term::attach(&bar);
    // Cells decided without a run (a variant that failed to build, another data type, a program that
    // could not be generated) are results already; the others go to the executor.
    let mut results: Vec<(Slot, Cell)> = Vec::new();
    let mut pending: Vec<(Slot, Cell)> = Vec::new();
    let mut reqs = Vec::new();
    for (ci, wi, pi) in todo {
        let (path, cfg) = &cfgs[ci];
        let w = &wls[wi];
        match prepare(
            path,
            cfg,
            w,
            &progs[pi],
            build_error[ci].as_deref(),
            &gen_dir,
        ) {
            Prepared::Done(cell) => {
                results.push(((ci, wi, pi), cell));
                bar.inc(1);
            }
            Prepared::Run(file, cell) => {
                reqs.push(EvalRequest {
                    hw: cfg.clone(),
                    workload: w.clone(),
                    candidate: file,
                    opts: EvalOpts {
                        screen_runs: 1,
                        seed: Some(args.seed),
                        ..EvalOpts::default()
                    },
                    cache: None,
                });
                pending.push(((ci, wi, pi), cell));
            }
        }
    }
    // Each pending cell is finished once, as its verdict arrives.
    let finished: Mutex<Vec<Option<Cell>>> = Mutex::new(vec![None; reqs.len()]);
    let started = std::time::Instant::now();
    exec.evaluate(&reqs, stop, &|i, v| {
        if let Some((_, cell)) = pending.get(i) {
            bar.set_message(format!(
                "{} {} {}",
                cell.config, cell.workload, cell.program
            ));
            let done = finish_cell(cell.clone(), &v);
            // -v: each cell as it completes (a sweep has no verdict cache: every cell is evaluated).
            log::info!(
                "sweep {} {} {}: {}{}{} (done {:.1} s after the start)",
                done.config,
                done.workload,
                done.program,
                done.status.name(),
                done.cycles
                    .map_or(String::new(), |c| format!(", {c} cycles")),
                if done.detail.is_empty() || done.status == CellStatus::Ok {
                    String::new()
                } else {
                    format!(": {}", done.detail)
                },
                started.elapsed().as_secs_f64()
            );
            if let Ok(mut f) = finished.lock() {
                f[i] = Some(done);
            }
        }
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    if stop.load(std::sync::atomic::Ordering::SeqCst) {
        bail!("interrupted: the sweep stopped before every cell was judged");
    }
    let finished = finished
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a sweep worker panicked"))?;
    for ((slot, _), done) in pending.into_iter().zip(finished) {
        let done = done.context("internal: the executor returned without a verdict")?;
        results.push((slot, done));
    }
    results.sort_by_key(|(k, _)| (k.1, k.2, k.0));
    // Speedup against the first configuration, per workload and program.
    let mut cells: Vec<Cell> = Vec::new();
    for ((_, wi, pi), mut c) in results.iter().cloned() {
        let first = results
            .iter()
            .find(|((c0, w0, p0), _)| *c0 == 0 && *w0 == wi && *p0 == pi)
            .and_then(|(_, c)| c.cycles);
        c.speedup = match (first, c.cycles) {
            (Some(f), Some(x)) if x > 0 => Some(f as f64 / x as f64),
            _ => None,
        };
        cells.push(c);
    }
    let csv = to_csv(&cells);
    let svg = to_svg(
        &cells,
        &cfgs.iter().map(|(_, c)| c.name.clone()).collect::<Vec<_>>(),
    )?;
    std::fs::write(args.out_dir.join("sweep.csv"), &csv).context("writing sweep.csv")?;
    std::fs::write(args.out_dir.join("sweep.svg"), &svg).context("writing sweep.svg")?;
    Ok(SweepResult {
        cells,
        csv,
        svg,
        wall_s: t0.elapsed().as_secs_f64(),
    })
}

/// A cell before its run.
enum Prepared {
    /// Judge this program file, then fill in the cell.
    Run(PathBuf, Cell),
    /// The cell needs no run (a variant that failed to build, another data type, no program).
    Done(Cell),
}

/// The program file of a cell and the cell to fill in, or the finished cell when it needs no run.
fn prepare(
    path: &Path,
    cfg: &HwConfig,
    w: &Workload,
    prog: &ProgramSpec,
    build_error: Option<&str>,
    gen_dir: &Path,
) -> Prepared {
    let mut cell = Cell {
        config: cfg.name.clone(),
        config_file: path.display().to_string(),
        dim: cfg.dim(),
        workload: w.name.clone(),
        program: prog.label(),
        status: CellStatus::ToolError,
        cycles: None,
        ideal_cycles: w.ideal_cycles(cfg.dim()),
        utilization: None,
        speedup: None,
        detail: String::new(),
    };
    if let Some(e) = build_error {
        cell.detail = e.to_string();
        return Prepared::Done(cell);
    }
    if crate::bench::eval::check_data_type(cfg, w).is_err() {
        cell.status = CellStatus::OtherDataType;
        cell.detail = format!(
            "{} workload on an {} datapath",
            w.input_type(),
            cfg.array.input_type
        );
        return Prepared::Done(cell);
    }
    let file = match prog {
        ProgramSpec::File(p) => p.clone(),
        ProgramSpec::Baseline(b) => match baseline_program(cfg, Some(w), b) {
            Ok(Some(text)) => {
                let f = gen_dir.join(format!("{}__{}__{b}.c", cfg.name, w.name));
                if let Err(e) = std::fs::write(&f, text) {
                    cell.detail = format!("writing {}: {e}", f.display());
                    return Prepared::Done(cell);
                }
                f
            }
            Ok(None) => {
                cell.detail = "no program".into();
                return Prepared::Done(cell);
            }
            Err(e) => {
                // The generator found no schedule for this configuration: the program does not fit it.
                cell.status = CellStatus::DoesNotFit;
                cell.detail = format!("{e:#}");
                return Prepared::Done(cell);
            }
        },
    };
    Prepared::Run(file, cell)
}

/// A cell with its verdict.
fn finish_cell(mut cell: Cell, v: &Verdict) -> Cell {
    cell.status = CellStatus::of(v);
    cell.cycles = if cell.status == CellStatus::Ok {
        v.cycles
    } else {
        None
    };
    cell.utilization = if cell.status == CellStatus::Ok {
        v.utilization
    } else {
        None
    };
    // The line that says why (a compiler's "error:" line rather than its "In function" preamble).
    cell.detail = v
        .detail
        .lines()
        .find(|l| l.contains("error"))
        .or_else(|| v.detail.lines().next())
        .unwrap_or("")
        .trim()
        .to_string();
    cell
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One row per cell.
pub fn to_csv(cells: &[Cell]) -> String {
    let mut s = String::from(
        "workload,program,config,config_file,dim,status,cycles,ideal_cycles,utilization,speedup,detail\n",
    );
    for c in cells {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{}",
            csv_field(&c.workload),
            csv_field(&c.program),
            csv_field(&c.config),
            csv_field(&c.config_file),
            c.dim,
            c.status.name(),
            c.cycles.map_or(String::new(), |x| x.to_string()),
            c.ideal_cycles,
            c.utilization.map_or(String::new(), |x| format!("{x:.4}")),
            c.speedup.map_or(String::new(), |x| format!("{x:.3}")),
            csv_field(&c.detail)
        );
    }
    s
}

/// The text table: one line per cell, grouped by workload and program.
pub fn to_table(cells: &[Cell]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<22} {:<14} {:<12} {:>4} {:>12} {:>7} {:>8}  status",
        "workload", "program", "config", "DIM", "cycles", "util", "speedup"
    );
    for c in cells {
        let _ = writeln!(
            s,
            "{:<22} {:<14} {:<12} {:>4} {:>12} {:>7} {:>8}  {}",
            c.workload,
            c.program,
            c.config,
            c.dim,
            c.cycles.map_or("-".into(), |x| x.to_string()),
            c.utilization
                .map_or("-".into(), |x| format!("{:.1}%", 100.0 * x)),
            c.speedup.map_or("-".into(), |x| format!("{x:.2}x")),
            if c.status == CellStatus::Ok {
                "ok".to_string()
            } else {
                format!("{}: {}", c.status.name(), truncate(&c.detail, 80))
            }
        );
    }
    s
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(n).collect::<String>())
    }
}

/// Grouped bars: one group per (workload, program), one bar per configuration, height = speedup against
/// the first configuration (cells that did not run have no bar and are marked with an x).
pub fn to_svg(cells: &[Cell], configs: &[String]) -> Result<String> {
    use plotters::prelude::*;
    let mut groups: Vec<(String, String)> = Vec::new();
    for c in cells {
        let g = (c.workload.clone(), c.program.clone());
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let ymax = cells
        .iter()
        .filter_map(|c| c.speedup)
        .fold(1.0f64, f64::max)
        * 1.15;
    let nc = configs.len().max(1) as f64;
    let width = (160 + 60 * groups.len() * configs.len().max(1)).clamp(640, 2400) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "speedup against the first configuration",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(60)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..groups.len().max(1) as f64, 0f64..ymax)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let labels = groups.clone();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(groups.len().max(1) * 2 + 1)
            .x_label_formatter(&|x| {
                let i = (*x - 0.5).round();
                if (x - 0.5 - i).abs() < 1e-6 && i >= 0.0 {
                    labels
                        .get(i as usize)
                        .map_or(String::new(), |(w, p)| format!("{w} {p}"))
                } else {
                    String::new()
                }
            })
            .y_desc("speedup (x)")
            .draw()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for (k, name) in configs.iter().enumerate() {
            let color = Palette99::pick(k).to_rgba();
            let bars: Vec<Rectangle<(f64, f64)>> = cells
                .iter()
                .filter(|c| &c.config == name)
                .filter_map(|c| {
                    let g = groups
                        .iter()
                        .position(|g| g.0 == c.workload && g.1 == c.program)?;
                    let x0 = g as f64 + 0.1 + 0.8 * k as f64 / nc;
                    let x1 = x0 + 0.8 / nc * 0.9;
                    let y = c.speedup?;
                    Some(Rectangle::new([(x0, 0.0), (x1, y)], color.filled()))
                })
                .collect();
            chart
                .draw_series(bars)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
            let misses: Vec<Cross<(f64, f64), i32>> = cells
                .iter()
                .filter(|c| &c.config == name && c.speedup.is_none())
                .filter_map(|c| {
                    let g = groups
                        .iter()
                        .position(|g| g.0 == c.workload && g.1 == c.program)?;
                    let x = g as f64 + 0.1 + 0.8 * (k as f64 + 0.45) / nc;
                    Some(Cross::new((x, ymax * 0.03), 5, RED.stroke_width(2)))
                })
                .collect();
            chart
                .draw_series(misses)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(config: &str, cycles: Option<u64>, speedup: Option<f64>) -> Cell {
        Cell {
            config: config.into(),
            config_file: format!("{config}.toml"),
            dim: 16,
            workload: "gemm_a".into(),
            program: "p.c".into(),
            status: if cycles.is_some() {
                CellStatus::Ok
            } else {
                CellStatus::DoesNotFit
            },
            cycles,
            ideal_cycles: 100,
            utilization: cycles.map(|c| 100.0 / c as f64),
            speedup,
            detail: if cycles.is_some() {
                String::new()
            } else {
                "scratchpad row out of range, \"x\"".into()
            },
        }
    }

    #[test]
    fn csv_table_and_svg_show_every_cell() {
        let cells = vec![
            cell("base", Some(1000), Some(1.0)),
            cell("big", Some(400), Some(2.5)),
            cell("tiny", None, None),
        ];
        let csv = to_csv(&cells);
        assert_eq!(csv.lines().count(), 4, "{csv}");
        assert!(
            csv.contains("gemm_a,p.c,big,big.toml,16,ok,400,100,0.2500,2.500,"),
            "{csv}"
        );
        assert!(
            csv.contains("does not fit")
                && csv.contains("\"scratchpad row out of range, \"\"x\"\"\""),
            "{csv}"
        );
        let t = to_table(&cells);
        assert!(t.contains("2.50x") && t.contains("does not fit"), "{t}");
        let svg = to_svg(&cells, &["base".into(), "big".into(), "tiny".into()]).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("big") && svg.contains("tiny"),
            "{svg}"
        );
    }

    #[test]
    fn programs_are_files_or_known_baselines() {
        assert!(matches!(
            ProgramSpec::parse("naive"),
            Ok(ProgramSpec::Baseline(_))
        ));
        let e = ProgramSpec::parse("nonsense").unwrap_err().to_string();
        assert!(e.contains("nonsense"), "{e}");
        let e = ProgramSpec::parse("missing.c").unwrap_err().to_string();
        assert!(e.contains("no such file"), "{e}");
        let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/candidates/gemm_tiled.c");
        assert!(matches!(
            ProgramSpec::parse(f.to_str().unwrap()),
            Ok(ProgramSpec::File(_))
        ));
    }
}

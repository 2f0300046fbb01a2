//! `gemforge search` and `gemforge report`: argument parsing and the glue around [`super::run`] (run
//! directory creation or resume, Ctrl-C, the final report). The proposer is built by the caller.

use super::{create, load_config, run, Outcome, RunConfig, SearchEnv, SearchParams};
use crate::bench::eval_cache::EvalCache;
use crate::opt::propose::{MenuItem, Proposer};
use crate::sim::config::HwConfig;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Which proposer writes the plans and programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProposerKind {
    /// The built-in offline proposer (deterministic, no network).
    Builtin,
    /// LLMs through their providers (`--model`).
    Llm,
}

impl ProposerKind {
    pub fn name(self) -> &'static str {
        match self {
            ProposerKind::Builtin => "builtin",
            ProposerKind::Llm => "llm",
        }
    }
}

/// `gemforge search` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs {
    /// The workload (see `gemforge workloads`); not needed with --resume.
    #[arg(long)]
    pub workload: Option<String>,
    /// Who writes plans and programs: the built-in offline proposer or LLMs (--model).
    #[arg(long, value_enum, default_value_t = ProposerKind::Builtin)]
    pub proposer: ProposerKind,
    /// A model of the ensemble (repeat for several; plans and programs are spread round-robin).
    #[arg(long = "model", value_name = "M")]
    pub models: Vec<String>,
    /// T: iterations of the full search.
    #[arg(long, default_value_t = 8)]
    pub iterations: u32,
    /// B: beam width.
    #[arg(long, default_value_t = 4)]
    pub beam: usize,
    /// N: plans per beam entry and iteration.
    #[arg(long, default_value_t = 4)]
    pub plans: u32,
    /// K: programs per plan.
    #[arg(long, default_value_t = 2)]
    pub impls: u32,
    /// p: probability of keeping each menu option in one planning prompt.
    #[arg(long, default_value_t = 0.25)]
    pub keep_prob: f64,
    /// Seed of the search's random choices (menu dropout, the built-in proposer's picks).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Accepted regression of a child over its parent in the first two iterations (0.1 = 10%).
    #[arg(long, default_value_t = 0.1)]
    pub regression_allowance: f64,
    /// Stop after this many iterations without a better program.
    #[arg(long, value_name = "E")]
    pub early_stop: Option<u32>,
    /// The run directory [default: runs/<workload>-<unix time>]
    #[arg(long = "out-dir", value_name = "DIR", visible_alias = "run-dir")]
    pub run_dir: Option<PathBuf>,
    /// Continue the run in --out-dir (its config.json wins over the other options, except --budget-usd).
    #[arg(long)]
    pub resume: bool,
    /// Stop asking the proposer once this many US dollars are spent.
    #[arg(long, value_name = "X")]
    pub budget_usd: Option<f64>,
    /// Schedule reuse: first replay that run's winning sequence of menu options (a smaller guided search),
    /// then run the full search.
    #[arg(long, value_name = "D")]
    pub reuse_from: Option<PathBuf>,
    /// The starting program [default: the naive baseline]
    #[arg(long, value_name = "FILE")]
    pub start: Option<PathBuf>,
    /// Hardware configuration (TOML) [default: the bundled Gemmini default]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Let candidates use the loop-FSM instructions (funct 8-13, 15-21).
    #[arg(long)]
    pub allow_loop_fsm: bool,
    /// Spec-engine input sets per candidate before its RTL run.
    #[arg(long, default_value_t = 3)]
    pub screen_runs: u32,
    /// Concurrent evaluations [default: one per core]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Do not evaluate the baselines (naive, library, hand-optimized, hardware FSM) for the report.
    #[arg(long)]
    pub no_baselines: bool,
    /// Print one JSON object (the summary) instead of text; no progress bars.
    #[arg(long)]
    pub json: bool,
}

/// Builds the proposer: (kind, the run's configuration, run directory) -> proposer.
pub type MakeProposer =
    dyn Fn(ProposerKind, &RunConfig, &Path) -> anyhow::Result<Box<dyn Proposer>>;
/// A baseline program for the report: (name, code, may use the loop FSMs).
pub type BaselineProgram = (String, String, bool);

/// What the CLI needs from the rest of the crate to start a search (kept out of this module so the search
/// does not depend on the proposers' or baselines' modules).
pub struct Providers<'a> {
    /// Build the proposer: (kind, the run's configuration, run directory) -> proposer.
    pub proposer: &'a MakeProposer,
    /// The optimization menu of a workload.
    pub menu: &'a dyn Fn(&crate::bench::workload::Workload) -> anyhow::Result<Vec<MenuItem>>,
    /// The starting program when --start is not given.
    pub start: &'a dyn Fn(&HwConfig, &crate::bench::workload::Workload) -> anyhow::Result<String>,
    /// Baseline programs for the report: (name, code, may use the loop FSMs).
    pub baselines: &'a dyn Fn(&HwConfig, &crate::bench::workload::Workload) -> Vec<BaselineProgram>,
}

static STOP: AtomicBool = AtomicBool::new(false);

/// `gemforge search` with the crate's proposers, menus and baselines.
pub fn run_cli(args: &SearchArgs) -> anyhow::Result<(String, u8)> {
    use crate::bench::baseline::{self, Baseline};
    let proposer =
        |kind: ProposerKind, cfg: &RunConfig, dir: &Path| -> anyhow::Result<Box<dyn Proposer>> {
            Ok(match kind {
                ProposerKind::Builtin => {
                    let w = crate::bench::workload::by_name(&cfg.workload).with_context(|| {
                        format!(
                            "unknown workload `{}` in the run's configuration",
                            cfg.workload
                        )
                    })?;
                    Box::new(crate::opt::propose::builtin::BuiltinProposer::for_workload(
                        &w,
                    )?)
                }
                ProposerKind::Llm => {
                    use crate::opt::propose::llm::{LlmOptions, LlmProposer};
                    // The ISA text documents the loop instruction exactly when candidates may use it.
                    let templates = crate::opt::prompts::Templates::from_env()?
                        .with_loop_fsm(cfg.params.allow_loop_fsm);
                    let prices = templates.prices()?;
                    let opts = LlmOptions {
                        templates,
                        ..LlmOptions::default()
                    };
                    // Answers live in RUN_DIR/llm, so a resumed run pays for nothing twice.
                    Box::new(LlmProposer::new(
                        &cfg.models,
                        &dir.join("llm"),
                        prices,
                        opts,
                    )?)
                }
            })
        };
    let start = |hw: &HwConfig, w: &crate::bench::workload::Workload| {
        baseline::program(hw, w, Baseline::Naive).context("generating the naive starting program")
    };
    let no_baselines = args.no_baselines;
    let baselines = |hw: &HwConfig, w: &crate::bench::workload::Workload| -> Vec<BaselineProgram> {
        if no_baselines {
            return Vec::new();
        }
        Baseline::ALL
            .iter()
            .filter(|&&b| baseline::applies(w, b))
            .filter_map(|&b| match baseline::program(hw, w, b) {
                Ok(code) => Some((b.name().to_string(), code, b == Baseline::HardwareFsm)),
                Err(e) => {
                    eprintln!("warning: no {} baseline for {}: {e:#}", b.name(), w.name);
                    None
                }
            })
            .collect()
    };
    let p = Providers {
        proposer: &proposer,
        menu: &|w| crate::opt::prompts::menu_for(w),
        start: &start,
        baselines: &baselines,
    };
    search_command(args, &p)
}

/// Run `gemforge search`; returns the text to print and the exit status (0 finished, 1 no correct result,
/// 130 interrupted).
pub fn search_command(args: &SearchArgs, p: &Providers<'_>) -> anyhow::Result<(String, u8)> {
    let dir = match (&args.run_dir, args.resume) {
        (Some(d), _) => d.clone(),
        (None, true) => bail!("--resume needs --out-dir"),
        (None, false) => {
            let w = args.workload.as_deref().unwrap_or("run");
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            PathBuf::from("runs").join(format!("{w}-{t}"))
        }
    };
    let kind_of = |cfg: &RunConfig| match cfg.proposer.as_str() {
        "builtin" => Ok(ProposerKind::Builtin),
        "llm" => Ok(ProposerKind::Llm),
        other => Err(anyhow::anyhow!(
            "{}: unknown proposer `{other}`",
            dir.join(super::journal::CONFIG_FILE).display()
        )),
    };
    let proposer = if args.resume {
        let mut cfg = load_config(&dir)?;
        if let Some(b) = args.budget_usd {
            cfg.params.budget_usd = Some(b);
            let text = serde_json::to_string_pretty(&cfg)?;
            crate::bench::eval_cache::write_atomic(
                &dir.join(super::journal::CONFIG_FILE),
                text.as_bytes(),
            )?;
        }
        (p.proposer)(kind_of(&cfg)?, &cfg, &dir)?
    } else {
        let name = args
            .workload
            .as_deref()
            .context("--workload is required (unless --resume)")?;
        match (args.proposer, args.models.is_empty()) {
            (ProposerKind::Builtin, false) => {
                bail!("--model is for --proposer llm; the built-in proposer has no models")
            }
            (ProposerKind::Llm, true) => {
                bail!("--proposer llm needs at least one --model (e.g. openai:gpt-4o)")
            }
            _ => {}
        }
        let w = crate::bench::workload::by_name(name).with_context(|| {
            let names: Vec<String> = crate::bench::workload::all()
                .into_iter()
                .map(|w| w.name)
                .collect();
            format!("unknown workload `{name}`; known: {}", names.join(", "))
        })?;
        let hw = match &args.config {
            Some(f) => HwConfig::from_file(f)?,
            None => HwConfig::default_config(),
        };
        crate::bench::eval::check_data_type(&hw, &w).map_err(anyhow::Error::msg)?;
        let start = match &args.start {
            Some(f) => std::fs::read_to_string(f)
                .with_context(|| format!("reading the starting program {}", f.display()))?,
            None => (p.start)(&hw, &w)?,
        };
        let guided = match &args.reuse_from {
            Some(d) => {
                let (_, s) = crate::opt::report::summarize(d)
                    .with_context(|| format!("reading the run to reuse, {}", d.display()))?;
                if s.best.is_none() {
                    bail!(
                        "--reuse-from {}: that run has no finished result",
                        d.display()
                    );
                }
                s.schedule
            }
            None => Vec::new(),
        };
        let params = SearchParams {
            iterations: args.iterations,
            beam: args.beam,
            plans: args.plans,
            impls: args.impls,
            keep_prob: args.keep_prob,
            seed: args.seed,
            regression_allowance: args.regression_allowance,
            early_stop: args.early_stop,
            budget_usd: args.budget_usd,
            screen_runs: args.screen_runs,
            allow_loop_fsm: args.allow_loop_fsm,
            guided,
            eval_jobs: args.jobs.unwrap_or(0),
            ..SearchParams::default()
        };
        let cfg = RunConfig {
            gemforge_version: env!("CARGO_PKG_VERSION").into(),
            workload: w.name.clone(),
            workload_shape: w.shape(),
            menu: (p.menu)(&w)?,
            params,
            proposer: args.proposer.name().into(),
            models: args.models.clone(),
            start: String::new(),
            reuse_from: args.reuse_from.clone(),
            baselines: Vec::new(),
            hw: hw.clone(),
        };
        if dir.join(super::journal::CONFIG_FILE).exists() {
            bail!(
                "{} already holds a run; resume it with --resume or choose another --out-dir",
                dir.display()
            );
        }
        // The proposer first: a bad model name must not leave a half-made run directory behind.
        let proposer = (p.proposer)(kind_of(&cfg)?, &cfg, &dir)?;
        let baselines = (p.baselines)(&hw, &w);
        create(&dir, cfg, &start, &baselines)?;
        proposer
    };
    // Ctrl-C: the first stops cleanly (the journal is written), the second exits at once.
    let _ = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping after the requests in flight (Ctrl-C again to quit at once)...");
    });
    let env = SearchEnv {
        proposer: proposer.as_ref(),
        stop: &STOP,
        progress: !args.json,
        cache: Some(EvalCache::default_location()),
    };
    let out = run(&dir, &env)?;
    render(&dir, &out, args.json)
}

fn render(dir: &Path, out: &Outcome, json: bool) -> anyhow::Result<(String, u8)> {
    if out.status == "interrupted" {
        let msg = format!(
            "interrupted; continue with: gemforge search --resume --out-dir {}",
            dir.display()
        );
        return Ok(if json {
            (
                serde_json::json!({"status": "interrupted", "run_dir": dir, "message": msg})
                    .to_string(),
                130,
            )
        } else {
            (msg, 130)
        });
    }
    let s = crate::opt::report::write(dir)?;
    let code = if s.best.is_some() { 0 } else { 1 };
    if json {
        return Ok((serde_json::to_string(&s)?, code));
    }
    let mut t = format!(
        "run directory  {}\nstatus         {}\n",
        dir.display(),
        s.status
    );
    if let (Some(a), Some(b)) = (s.start_cycles, s.best_cycles) {
        t.push_str(&format!(
            "best           {b} cycles (start {a}, {:.2}x), re-checked on fresh inputs\n",
            a as f64 / b.max(1) as f64
        ));
    }
    t.push_str(&format!(
        "evaluations    {} ({} cached); plans {} ({} failed); programs {} ({} failed)\n",
        s.evaluations,
        s.cached_evaluations,
        s.plans_requested,
        s.plans_failed,
        s.programs_requested,
        s.programs_failed
    ));
    t.push_str(&format!(
        "report         {}",
        dir.join("report.md").display()
    ));
    Ok((t, code))
}

/// `gemforge report RUN_DIR`: rebuild the report files; returns the text to print.
pub fn report_command(dir: &Path, json: bool) -> anyhow::Result<String> {
    let s = crate::opt::report::write(dir)?;
    Ok(if json {
        serde_json::to_string(&s)?
    } else {
        format!(
            "wrote {0}/report.md, {0}/plot.svg, {0}/summary.json{1} ({2})",
            dir.display(),
            if s.best.is_some() { ", best.c" } else { "" },
            s.status
        )
    })
}

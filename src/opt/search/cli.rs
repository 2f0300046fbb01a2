//! `gemforge search` and `gemforge report`: argument parsing and the glue around [`super::run`] (run
//! directory creation or resume, Ctrl-C, the final report). The proposer is built by the caller.

use super::{
    create, load_config, run_locked, Outcome, RunConfig, RunLock, SearchEnv, SearchParams,
    EXIT_PROPOSER_FAILED, STATUS_PROPOSER_FAILED,
};
use crate::bench::eval_cache::EvalCache;
use crate::bench::executor::{ExecutorArgs, ExecutorSettings};
use crate::opt::llm::{LlmOverrides, LlmSettings};
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

/// `gemforge search` arguments. The search parameters are options without a built-in value here (the
/// defaults are filled in for a new run), so that `--resume` can tell an option given on the command line
/// from a default and refuse one that contradicts the run.
#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs {
    /// The workload (see `gemforge workloads`); not needed with --resume.
    #[arg(long)]
    pub workload: Option<String>,
    /// Who writes plans and programs [default: builtin].
    #[arg(long, value_enum)]
    pub proposer: Option<ProposerKind>,
    /// A model of the ensemble (repeat for several; plans and programs are spread round-robin).
    #[arg(long = "model", value_name = "M")]
    pub models: Vec<String>,
    /// A model that writes plans (repeat for an ensemble) [default: the --model ones].
    #[arg(long = "plan-model", value_name = "M")]
    pub plan_models: Vec<String>,
    /// A model that writes programs, one-call answers and repairs (repeat for an ensemble)
    /// [default: the --model ones].
    #[arg(long = "code-model", value_name = "M")]
    pub code_models: Vec<String>,
    /// Programs are answered as search/replace edits on the parent, applied strictly (an edit that does
    /// not match exactly once fails, naming the block).
    #[arg(long)]
    pub edits: bool,
    /// A candidate that fails (compile error, wrong result, edits that do not apply) goes back to its
    /// model once with its error; the repair counts against the budget.
    #[arg(long)]
    pub repair: bool,
    /// One call plans and implements: N prompts per beam entry, K answers each.
    #[arg(long)]
    pub skip_planning: bool,
    /// Show the parent's ancestry, this many generations, in the planning prompt [default: 0].
    #[arg(long, value_name = "N")]
    pub ancestors: Option<u32>,
    /// T: iterations of the full search [default: 8].
    #[arg(long)]
    pub iterations: Option<u32>,
    /// B: beam width [default: 4].
    #[arg(long)]
    pub beam: Option<usize>,
    /// N: plans per beam entry and iteration [default: 4].
    #[arg(long)]
    pub plans: Option<u32>,
    /// K: programs per plan [default: 2].
    #[arg(long)]
    pub impls: Option<u32>,
    /// p: probability of keeping each menu option in one planning prompt [default: 0.25].
    #[arg(long)]
    pub keep_prob: Option<f64>,
    /// Seed of the search's random choices (menu dropout, the built-in proposer's picks) [default: 1]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Accepted regression of a child over its parent in the first two iterations (0.1 = 10%)
    /// [default: 0.1].
    #[arg(long)]
    pub regression_allowance: Option<f64>,
    /// Stop after this many iterations without a better program [default: never].
    #[arg(long, value_name = "E")]
    pub early_stop: Option<u32>,
    /// The run directory [default: runs/<workload>-<unix time>]
    #[arg(long = "out-dir", value_name = "DIR", visible_alias = "run-dir")]
    pub run_dir: Option<PathBuf>,
    /// Continue the run in --out-dir with its config.json. Options that contradict the run are refused;
    /// --budget-usd, --jobs, --llm-timeout, --llm-retries and --llm-concurrency may change.
    #[arg(long)]
    pub resume: bool,
    /// Stop asking the proposer once this many US dollars are spent.
    #[arg(long, value_name = "X")]
    pub budget_usd: Option<f64>,
    /// The sample budget: stop asking for candidates once this many have been evaluated (each distinct
    /// candidate program once, wrong and failed ones included; not the starting program, baselines or the
    /// final re-check). The run ends with its best so far.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_evaluations: Option<u32>,
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
    /// Spec-engine input sets per candidate before its RTL run [default: 3].
    #[arg(long)]
    pub screen_runs: Option<u32>,
    /// Concurrent evaluations [default: one per core]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Do not evaluate the baselines (naive, library, hand-optimized, hardware FSM) for the report.
    #[arg(long)]
    pub no_baselines: bool,
    /// Print one JSON object (the summary) instead of text; no progress bars.
    #[arg(long)]
    pub json: bool,
    /// No progress bars (set by the global -q/--quiet). Errors and warnings still print.
    #[arg(skip)]
    pub quiet: bool,
    /// Boxed: with these options inline, `gemforge`'s command enum grows past clippy's variant-size limit.
    #[command(flatten)]
    pub llm: Box<LlmArgs>,
    /// Where evaluations run (--executor local|slurm and the cluster's options; docs/cluster.md).
    #[command(flatten)]
    pub exec: Box<ExecutorArgs>,
}

/// The LLM proposer's settings on the command line (over `--llm-config`, over the defaults).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LlmArgs {
    /// LLM settings file: TOML with an [llm] table (docs/llm.md); the options below override it.
    #[arg(long, value_name = "FILE")]
    pub llm_config: Option<PathBuf>,
    /// Token limit of every answer, plans and programs [default: 4096 for plans, 16384 for programs].
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,
    /// Token limit of a plan (over --max-tokens) [default: 4096].
    #[arg(long, value_name = "N")]
    pub plan_max_tokens: Option<u32>,
    /// Token limit of a program (over --max-tokens) [default: 16384].
    #[arg(long, value_name = "N")]
    pub implement_max_tokens: Option<u32>,
    /// Sampling temperature, 0 to 2 [default: the provider's].
    #[arg(long, value_name = "T")]
    pub temperature: Option<f64>,
    /// Limit for one HTTP attempt, in seconds [default: 600].
    #[arg(long = "llm-timeout", value_name = "SECS")]
    pub timeout_secs: Option<f64>,
    /// Retries of a failed call (HTTP 429, 5xx, timeouts, connection errors) [default: 5].
    #[arg(long = "llm-retries", value_name = "N")]
    pub retries: Option<u32>,
    /// LLM requests in flight at once [default: 8].
    #[arg(long = "llm-concurrency", value_name = "N")]
    pub concurrency: Option<usize>,
}

impl LlmArgs {
    /// The file's values with the command line's over them.
    pub fn overrides(&self) -> anyhow::Result<LlmOverrides> {
        let file = match &self.llm_config {
            Some(f) => LlmOverrides::from_file(f)?,
            None => LlmOverrides::default(),
        };
        let cli = LlmOverrides {
            max_tokens: self.max_tokens,
            plan_max_tokens: self.plan_max_tokens,
            implement_max_tokens: self.implement_max_tokens,
            temperature: self.temperature,
            timeout_secs: self.timeout_secs,
            retries: self.retries,
            concurrency: self.concurrency,
        };
        Ok(cli.over(&file))
    }
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
                    let mut b = crate::opt::propose::builtin::BuiltinProposer::for_workload(&w)?;
                    // Schedule reuse transfers the source run's winning schedule too.
                    if let Some(src) = &cfg.reuse_from {
                        let best = src.join("best.c");
                        let code = std::fs::read_to_string(&best).with_context(|| {
                            format!(
                            "reading {}, the winner of the run given to --reuse-from (rebuild it \
                                 with `gemforge report {}`)",
                            best.display(),
                            src.display()
                        )
                        })?;
                        b = b.with_reuse(&code);
                    }
                    Box::new(b)
                }
                ProposerKind::Llm => {
                    use crate::opt::propose::llm::{LlmOptions, LlmProposer};
                    // The ISA text documents the loop instruction exactly when candidates may use it.
                    let templates = crate::opt::prompts::Templates::from_env()?
                        .with_loop_fsm(cfg.params.allow_loop_fsm);
                    let prices = templates.prices()?;
                    let opts = LlmOptions {
                        templates,
                        edits: cfg.params.edits,
                        ..LlmOptions::from_settings(&cfg.llm)
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
/// 3 the proposer failed a whole iteration ([`EXIT_PROPOSER_FAILED`]), 130 interrupted).
///
/// The run directory's lock is taken before anything is written to it, so two searches started on one
/// directory cannot both run: the second fails naming the first.
pub fn search_command(args: &SearchArgs, p: &Providers<'_>) -> anyhow::Result<(String, u8)> {
    // First, while this process has one thread: with slurm, the cache directory becomes the shared one.
    // The local executor is the search's own (it takes --jobs from the run's config.json).
    let executor = match args.exec.resolve()? {
        ExecutorSettings::Local => None,
        s => Some(s.build(args.jobs.unwrap_or(0))?),
    };
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
    let llm_over = args.llm.overrides()?;
    let (lock, proposer) = if args.resume {
        if !dir.join(super::journal::CONFIG_FILE).is_file() {
            bail!(
                "--resume: {} holds no run (no {}); start one without --resume",
                dir.display(),
                super::journal::CONFIG_FILE
            );
        }
        let lock = RunLock::take(&dir)?;
        let mut cfg = load_config(&dir)?;
        let conflicts = resume_conflicts(args, &cfg, &llm_over)?;
        if !conflicts.is_empty() {
            bail!(
                "--resume: {} was started with other settings; these options contradict its {}:\n  {}\n\
                 drop them to continue the run as it was started, or start a new run in another --out-dir",
                dir.display(),
                super::journal::CONFIG_FILE,
                conflicts.join("\n  ")
            );
        }
        // What may change on resume: the budget, evaluation jobs and the LLM calls' timeout, retries and
        // concurrency (none of them changes what is asked or what an answer is worth).
        let before = cfg.clone();
        if let Some(b) = args.budget_usd {
            cfg.params.budget_usd = Some(b);
        }
        if let Some(j) = args.jobs {
            cfg.params.eval_jobs = j;
        }
        cfg.llm = cfg.llm.with(&llm_over)?;
        if llm_over.concurrency.is_some() {
            cfg.params.proposer_jobs = cfg.llm.concurrency;
        }
        if cfg != before {
            let text = serde_json::to_string_pretty(&cfg)?;
            crate::store::write_atomic(&dir.join(super::journal::CONFIG_FILE), text.as_bytes())?;
        }
        let proposer = (p.proposer)(kind_of(&cfg)?, &cfg, &dir)?;
        (lock, proposer)
    } else {
        let (cfg, hw, w, start) = new_run_config(args, p, &llm_over)?;
        let existed = dir.exists();
        let lock = RunLock::take(&dir)?;
        if dir.join(super::journal::CONFIG_FILE).exists() {
            bail!(
                "{} already holds a run; resume it with --resume or choose another --out-dir",
                dir.display()
            );
        }
        let made = (|| -> anyhow::Result<Box<dyn Proposer>> {
            let proposer = (p.proposer)(kind_of(&cfg)?, &cfg, &dir)?;
            let baselines = (p.baselines)(&hw, &w);
            create(&dir, cfg, &start, &baselines)?;
            Ok(proposer)
        })();
        match made {
            Ok(proposer) => (lock, proposer),
            Err(e) => {
                // A bad model name must not leave a half-made run directory behind.
                if !existed {
                    let _ = std::fs::remove_dir_all(&dir);
                } else {
                    let _ = std::fs::remove_file(dir.join(super::LOCK_FILE));
                }
                return Err(e);
            }
        }
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
        progress: !args.json && !args.quiet,
        cache: Some(EvalCache::default_location()),
        executor: executor.as_deref(),
    };
    let out = run_locked(&dir, &env, &lock)?;
    drop(lock);
    if let Some(e) = &executor {
        eprintln!("{}", e.stats().summary(e.name()));
    }
    render(&dir, &out, args.json)
}

/// The configuration of a new run from the command line, its hardware, workload and starting program;
/// nothing is written.
fn new_run_config(
    args: &SearchArgs,
    p: &Providers<'_>,
    llm_over: &LlmOverrides,
) -> anyhow::Result<(
    RunConfig,
    HwConfig,
    crate::bench::workload::Workload,
    String,
)> {
    let name = args
        .workload
        .as_deref()
        .context("--workload is required (unless --resume)")?;
    let kind = args.proposer.unwrap_or(ProposerKind::Builtin);
    let no_models =
        args.models.is_empty() && args.plan_models.is_empty() && args.code_models.is_empty();
    match (kind, no_models) {
        (ProposerKind::Builtin, false) => {
            let opt = if !args.models.is_empty() {
                "--model"
            } else if !args.plan_models.is_empty() {
                "--plan-model"
            } else {
                "--code-model"
            };
            bail!("{opt} is for --proposer llm; the built-in proposer has no models")
        }
        (ProposerKind::Llm, true) => {
            bail!("--proposer llm needs at least one --model (e.g. openai:gpt-4o)")
        }
        _ => {}
    }
    if kind == ProposerKind::Builtin {
        for (set, opt) in [
            (args.edits, "--edits"),
            (args.repair, "--repair"),
            (args.skip_planning, "--skip-planning"),
            (args.ancestors.is_some_and(|n| n > 0), "--ancestors"),
        ] {
            if set {
                bail!(
                    "{opt} is for --proposer llm; the built-in proposer writes its programs itself"
                );
            }
        }
    }
    if args.skip_planning && !args.plan_models.is_empty() {
        bail!(
            "--plan-model has no use with --skip-planning: one call plans and implements, answered by the \
             --code-model (or --model) models"
        );
    }
    let (plan_models, code_models) = resolve_models(args);
    let mut all_models: Vec<String> = Vec::new();
    for m in args
        .models
        .iter()
        .chain(&args.plan_models)
        .chain(&args.code_models)
    {
        if !all_models.contains(m) {
            all_models.push(m.clone());
        }
    }
    if kind == ProposerKind::Builtin && !llm_over.is_empty() {
        bail!(
            "LLM settings (--llm-config, --max-tokens, --temperature, --llm-*) are for --proposer llm; \
             the built-in proposer asks no model"
        );
    }
    let llm = LlmSettings::default().with(llm_over)?;
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
    let d = SearchParams::default();
    let params = SearchParams {
        iterations: args.iterations.unwrap_or(d.iterations),
        beam: args.beam.unwrap_or(d.beam),
        plans: args.plans.unwrap_or(d.plans),
        impls: args.impls.unwrap_or(d.impls),
        keep_prob: args.keep_prob.unwrap_or(d.keep_prob),
        seed: args.seed.unwrap_or(d.seed),
        regression_allowance: args.regression_allowance.unwrap_or(d.regression_allowance),
        early_stop: args.early_stop,
        budget_usd: args.budget_usd,
        max_evaluations: args.max_evaluations,
        screen_runs: args.screen_runs.unwrap_or(d.screen_runs),
        allow_loop_fsm: args.allow_loop_fsm,
        guided,
        eval_jobs: args.jobs.unwrap_or(d.eval_jobs),
        edits: args.edits,
        repair: args.repair,
        skip_planning: args.skip_planning,
        ancestors: args.ancestors.unwrap_or(d.ancestors),
        proposer_jobs: if kind == ProposerKind::Llm {
            llm.concurrency
        } else {
            d.proposer_jobs
        },
        ..d
    };
    let cfg = RunConfig {
        gemforge_version: env!("CARGO_PKG_VERSION").into(),
        workload: w.name.clone(),
        workload_shape: w.shape(),
        menu: (p.menu)(&w)?,
        params,
        proposer: kind.name().into(),
        models: all_models,
        plan_models,
        code_models,
        start: String::new(),
        reuse_from: args.reuse_from.clone(),
        baselines: Vec::new(),
        hw: hw.clone(),
        llm,
    };
    Ok((cfg, hw, w, start))
}

/// The planning and the code models the options name: each phase's own option, else `--model`, else the
/// other phase's option (empty for a proposer without models).
fn resolve_models(args: &SearchArgs) -> (Vec<String>, Vec<String>) {
    let pick = |own: &Vec<String>, other: &Vec<String>| {
        if !own.is_empty() {
            own.clone()
        } else if !args.models.is_empty() {
            args.models.clone()
        } else {
            other.clone()
        }
    };
    (
        pick(&args.plan_models, &args.code_models),
        pick(&args.code_models, &args.plan_models),
    )
}

/// The options of a `--resume` that contradict the run's configuration, each naming the option, its value
/// and the run's.
fn resume_conflicts(
    args: &SearchArgs,
    cfg: &RunConfig,
    llm_over: &LlmOverrides,
) -> anyhow::Result<Vec<String>> {
    let mut d = Vec::new();
    let mut differs = |given: Option<String>, run: String, opt: &str| {
        if let Some(g) = given {
            if g != run {
                d.push(format!("--{opt} {g} (the run has {run})"));
            }
        }
    };
    let pr = &cfg.params;
    differs(args.workload.clone(), cfg.workload.clone(), "workload");
    differs(
        args.proposer.map(|k| k.name().to_string()),
        cfg.proposer.clone(),
        "proposer",
    );
    // Each phase's models are compared when an option naming them is given.
    let (plan_models, code_models) = resolve_models(args);
    let plan_opt = if args.plan_models.is_empty() {
        "model"
    } else {
        "plan-model"
    };
    let code_opt = if args.code_models.is_empty() {
        "model"
    } else {
        "code-model"
    };
    let only_model = args.plan_models.is_empty() && args.code_models.is_empty();
    let one_call = args.skip_planning || cfg.params.skip_planning;
    if !args.models.is_empty() && only_model {
        let (run_plan, run_code) = (cfg.planning_models(), cfg.coding_models());
        if (!one_call && args.models != run_plan) || args.models != run_code {
            d.push(format!(
                "--model {} (the run has {})",
                args.models.join(", "),
                if one_call || run_plan == run_code {
                    run_code.join(", ")
                } else {
                    format!(
                        "{} for plans and {} for code",
                        run_plan.join(", "),
                        run_code.join(", ")
                    )
                }
            ));
        }
    } else if !args.models.is_empty() || !args.plan_models.is_empty() {
        if one_call {
            // One-call runs have no planning models to compare.
        } else if plan_models != cfg.planning_models() {
            d.push(format!(
                "--{plan_opt} {} (the run plans with {})",
                plan_models.join(", "),
                cfg.planning_models().join(", ")
            ));
        }
    }
    if !only_model
        && (!args.models.is_empty() || !args.code_models.is_empty())
        && code_models != cfg.coding_models()
    {
        d.push(format!(
            "--{code_opt} {} (the run writes code with {})",
            code_models.join(", "),
            cfg.coding_models().join(", ")
        ));
    }
    let mut differs = |given: Option<String>, run: String, opt: &str| {
        if let Some(g) = given {
            if g != run {
                d.push(format!("--{opt} {g} (the run has {run})"));
            }
        }
    };
    for (given, run, opt) in [
        (args.edits, pr.edits, "edits"),
        (args.repair, pr.repair, "repair"),
        (args.skip_planning, pr.skip_planning, "skip-planning"),
    ] {
        differs(
            given.then(|| "(set)".to_string()),
            if run { "(set)" } else { "it off" }.to_string(),
            opt,
        );
    }
    differs(
        args.ancestors.map(|v| v.to_string()),
        pr.ancestors.to_string(),
        "ancestors",
    );
    differs(
        args.iterations.map(|v| v.to_string()),
        pr.iterations.to_string(),
        "iterations",
    );
    differs(
        args.beam.map(|v| v.to_string()),
        pr.beam.to_string(),
        "beam",
    );
    differs(
        args.plans.map(|v| v.to_string()),
        pr.plans.to_string(),
        "plans",
    );
    differs(
        args.impls.map(|v| v.to_string()),
        pr.impls.to_string(),
        "impls",
    );
    differs(
        args.keep_prob.map(|v| v.to_string()),
        pr.keep_prob.to_string(),
        "keep-prob",
    );
    differs(
        args.seed.map(|v| v.to_string()),
        pr.seed.to_string(),
        "seed",
    );
    differs(
        args.regression_allowance.map(|v| v.to_string()),
        pr.regression_allowance.to_string(),
        "regression-allowance",
    );
    differs(
        args.early_stop.map(|v| v.to_string()),
        pr.early_stop.map_or("none".into(), |v| v.to_string()),
        "early-stop",
    );
    differs(
        args.max_evaluations.map(|v| v.to_string()),
        pr.max_evaluations.map_or("none".into(), |v| v.to_string()),
        "max-evaluations",
    );
    differs(
        args.screen_runs.map(|v| v.to_string()),
        pr.screen_runs.to_string(),
        "screen-runs",
    );
    differs(
        args.allow_loop_fsm.then(|| "(set)".to_string()),
        if pr.allow_loop_fsm { "(set)" } else { "it off" }.to_string(),
        "allow-loop-fsm",
    );
    differs(
        args.no_baselines.then(|| "(set)".to_string()),
        if cfg.baselines.is_empty() {
            "(set)"
        } else {
            "baselines"
        }
        .to_string(),
        "no-baselines",
    );
    differs(
        args.reuse_from.as_ref().map(|r| r.display().to_string()),
        cfg.reuse_from
            .as_ref()
            .map_or("none".into(), |r| r.display().to_string()),
        "reuse-from",
    );
    if let Some(f) = &args.start {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("reading the starting program {}", f.display()))?;
        let h = crate::store::sha256_hex(text.as_bytes());
        if h != cfg.start {
            d.push(format!(
                "--start {} (another program than the run's, {})",
                f.display(),
                cfg.start.get(..12).unwrap_or(&cfg.start)
            ));
        }
    }
    if let Some(f) = &args.config {
        let hw = HwConfig::from_file(f)?;
        if hw != cfg.hw {
            d.push(format!(
                "--config {} (other hardware than the run's `{}`)",
                f.display(),
                cfg.hw.name
            ));
        }
    }
    let llm = cfg.llm.with(llm_over)?;
    d.extend(
        cfg.llm
            .sampling_differences(&llm)
            .into_iter()
            .map(|x| format!("LLM setting {x}")),
    );
    Ok(d)
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
    let failed =
        out.status == STATUS_PROPOSER_FAILED || s.status.starts_with(STATUS_PROPOSER_FAILED);
    let code = if failed {
        EXIT_PROPOSER_FAILED
    } else if s.best.is_some() {
        0
    } else {
        1
    };
    if failed {
        // On stderr too: the result line on stdout may be JSON or scroll by.
        eprintln!(
            "error: the search stopped because the proposer failed: {}\n  (details in {}; exit status {code})",
            out.error.as_deref().unwrap_or(&s.status),
            dir.join("report.md").display()
        );
    }
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
    let budget = load_config(dir)?
        .params
        .max_evaluations
        .map_or(String::new(), |n| format!(" of the budget's {n}"));
    t.push_str(&format!(
        "evaluations    {} ({} cached; {} candidates{budget}); plans {} ({} failed); programs {} ({} failed)\n",
        s.evaluations,
        s.cached_evaluations,
        s.candidates_evaluated,
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

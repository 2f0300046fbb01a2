//! The search: Autocomp's plan-then-implement beam search (shared/spec/autocomp-method.md section 1) over
//! any [`Proposer`], with menu dropout, model ensembles, hardware feedback, schedule reuse, a content-keyed
//! verdict cache, and a run directory that survives being killed at any moment.
//!
//! Resuming is replay: the search is deterministic given the outcomes of its requests (every random choice
//! derives from the run's seed and the request's slot, a name such as `s3/p1a2b.../n1/k0`), so a resumed run
//! walks the same steps again and takes each plan, program and verdict from the journal when it is there,
//! asking the proposer or the simulator only for what is missing. Nothing is paid or evaluated twice.

pub mod cli;
pub mod feedback;
pub mod journal;
pub mod select;

use crate::bench::eval::{self, EvalOpts, Failure, Verdict};
use crate::bench::eval_cache::{verdict_from_json, verdict_to_json, EvalCache};
use crate::bench::executor::{CacheSlot, EvalRequest, Executor, LocalExecutor};
use crate::bench::workload::{self, Workload};
use crate::opt::propose::{
    AncestorStep, Feedback, ImplRequest, Measured, MenuItem, Plan, PlanRequest, ProposeError,
    Proposer, RepairRequest,
};
use crate::sim::config::HwConfig;
use crate::sim::isa::Funct;
use crate::store::{sha256_hex, FileLock};
use anyhow::{bail, Context};
use journal::{Event, Journal, Store, CONFIG_FILE, JOURNAL_FILE, STORE_DIR};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use select::Contender;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The search's parameters (all of them land in `config.json`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SearchParams {
    /// T: iterations of the full search.
    pub iterations: u32,
    /// B: beam width.
    pub beam: usize,
    /// N: plans per beam entry.
    pub plans: u32,
    /// K: implementations per plan.
    pub impls: u32,
    /// p: probability of keeping each menu option in one planning prompt.
    pub keep_prob: f64,
    pub seed: u64,
    /// Accepted regression of a child over its parent in the first `allowance_iterations` iterations.
    pub regression_allowance: f64,
    pub allowance_iterations: u32,
    /// Stop after this many iterations without a better best program.
    pub early_stop: Option<u32>,
    /// Stop asking the proposer once it has spent this many US dollars.
    pub budget_usd: Option<f64>,
    /// The sample budget (`--max-evaluations N`): at most this many candidates are judged, counted as
    /// [`Engine::admit`] says (each distinct candidate program of the run once, from the evaluator or the
    /// verdict cache; not the starting program, the baselines or re-checks).
    #[serde(default)]
    pub max_evaluations: Option<u32>,
    /// Spec-engine input sets before the RTL run of each candidate.
    pub screen_runs: u32,
    pub max_cycles: Option<u64>,
    /// Let candidates use the loop-FSM instructions (off by default: the FSM stays an independent bound).
    pub allow_loop_fsm: bool,
    /// The guided phase of schedule reuse: menu ids, one per iteration, in order (empty: no guided phase).
    pub guided: Vec<String>,
    /// Concurrent proposer requests.
    pub proposer_jobs: usize,
    /// Concurrent evaluations (0: one per core).
    pub eval_jobs: usize,
    /// Code answers are search/replace edits on the parent (`--edits`; the LLM proposer's format).
    #[serde(default)]
    pub edits: bool,
    /// A candidate that fails (compile error, wrong result, edits that do not apply, ...) goes back to
    /// its model once with its error (`--repair`).
    #[serde(default)]
    pub repair: bool,
    /// One call plans and implements (`--skip-planning`): N prompts per parent, K answers each.
    #[serde(default)]
    pub skip_planning: bool,
    /// Generations of the parent's ancestry shown in the planning prompt (`--ancestors N`; 0: none).
    #[serde(default)]
    pub ancestors: u32,
}

impl Default for SearchParams {
    fn default() -> Self {
        SearchParams {
            iterations: 8,
            beam: 4,
            plans: 4,
            impls: 2,
            keep_prob: 0.25,
            seed: 1,
            regression_allowance: 0.1,
            allowance_iterations: 2,
            early_stop: None,
            budget_usd: None,
            max_evaluations: None,
            screen_runs: 3,
            max_cycles: None,
            allow_loop_fsm: false,
            guided: Vec::new(),
            proposer_jobs: 8,
            eval_jobs: 0,
            edits: false,
            repair: false,
            skip_planning: false,
            ancestors: 0,
        }
    }
}

/// What a run was started with (`config.json`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunConfig {
    pub gemforge_version: String,
    pub workload: String,
    pub workload_shape: String,
    pub hw: HwConfig,
    pub params: SearchParams,
    pub proposer: String,
    /// Every model of the run (the union of the planning and the code models, in the order given).
    pub models: Vec<String>,
    /// The models that write plans (`--plan-model`); empty: all of `models`.
    #[serde(default)]
    pub plan_models: Vec<String>,
    /// The models that write programs, one-call answers and repairs (`--code-model`); empty: all of
    /// `models`.
    #[serde(default)]
    pub code_models: Vec<String>,
    pub menu: Vec<MenuItem>,
    /// Hash of the starting program in the store.
    pub start: String,
    /// Where the guided phase's menu sequence came from.
    pub reuse_from: Option<PathBuf>,
    /// Baseline programs evaluated for the report: (name, hash in the store, may use the loop FSMs).
    #[serde(default)]
    pub baselines: Vec<(String, String, bool)>,
    /// Token limits, temperature, timeout, retries and concurrency of the LLM proposer (unused by others).
    #[serde(default)]
    pub llm: crate::opt::llm::LlmSettings,
}

impl RunConfig {
    /// The models that write plans.
    pub fn planning_models(&self) -> &[String] {
        if self.plan_models.is_empty() {
            &self.models
        } else {
            &self.plan_models
        }
    }

    /// The models that write code.
    pub fn coding_models(&self) -> &[String] {
        if self.code_models.is_empty() {
            &self.models
        } else {
            &self.code_models
        }
    }
}

/// What the search needs besides the run directory.
pub struct SearchEnv<'a> {
    pub proposer: &'a dyn Proposer,
    /// Set (e.g. by a Ctrl-C handler) to stop cleanly: no new requests or evaluations are started, the ones
    /// in flight are finished and journaled.
    pub stop: &'a AtomicBool,
    /// Draw progress bars (on stderr).
    pub progress: bool,
    /// The verdict cache; None: no cache (the journal still keeps a resumed run from evaluating twice).
    pub cache: Option<EvalCache>,
    /// Where evaluations run; None: this machine, on `eval_jobs` threads.
    pub executor: Option<&'a dyn Executor>,
}

/// The status of a search that the proposer's failures stopped: an iteration in which every plan or
/// program request failed (provider errors, unusable answers) left nothing to evaluate. `gemforge search`
/// exits with [`EXIT_PROPOSER_FAILED`] then.
pub const STATUS_PROPOSER_FAILED: &str = "proposer_failed";
/// The exit status of `gemforge search` when [`STATUS_PROPOSER_FAILED`] stopped it.
pub const EXIT_PROPOSER_FAILED: u8 = 3;

/// How a call to [`run`] ended.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outcome {
    /// "completed", "early_stop", "budget", "interrupted", "already_finished", or
    /// [`STATUS_PROPOSER_FAILED`].
    pub status: String,
    /// Why the search stopped early, for people: the proposer's errors with [`STATUS_PROPOSER_FAILED`],
    /// which budget ran out with "budget".
    pub error: Option<String>,
    pub best: Option<String>,
    pub cycles: Option<u64>,
    pub start_cycles: Option<u64>,
    /// The winner passed the re-check on fresh inputs.
    pub rechecked: bool,
    pub proposer_calls: usize,
    pub evaluations: usize,
    /// A truncated journal line was dropped on resume (its line number).
    pub truncated_journal_line: Option<usize>,
}

/// Create a run directory: `config.json`, the store with the starting program (and baselines), an empty
/// journal. Fails if `dir` already holds a run (use [`run`] to resume it).
pub fn create(
    dir: &Path,
    mut cfg: RunConfig,
    start_code: &str,
    baselines: &[(String, String, bool)],
) -> anyhow::Result<()> {
    if dir.join(CONFIG_FILE).exists() {
        bail!(
            "{} already holds a run; resume it with --resume or choose another --out-dir",
            dir.display()
        );
    }
    validate(&cfg.params)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let store = Store::new(dir.join(STORE_DIR));
    cfg.start = store.put(start_code, "c")?;
    cfg.baselines = baselines
        .iter()
        .map(|(name, code, fsm)| Ok((name.clone(), store.put(code, "c")?, *fsm)))
        .collect::<anyhow::Result<_>>()?;
    let text = serde_json::to_string_pretty(&cfg)?;
    crate::store::write_atomic(&dir.join(CONFIG_FILE), text.as_bytes())?;
    Ok(())
}

fn validate(p: &SearchParams) -> anyhow::Result<()> {
    if p.beam == 0 || p.plans == 0 || p.impls == 0 {
        bail!("--beam, --plans and --impls must be at least 1");
    }
    if !(p.keep_prob > 0.0 && p.keep_prob <= 1.0) {
        bail!("--keep-prob must be in (0, 1], got {}", p.keep_prob);
    }
    if p.max_evaluations == Some(0) {
        bail!(
            "--max-evaluations must be at least 1 (it counts the candidates the search may judge)"
        );
    }
    if !(0.0..=10.0).contains(&p.regression_allowance) {
        bail!(
            "the regression allowance must be in [0, 10], got {}",
            p.regression_allowance
        );
    }
    Ok(())
}

/// Read a run's `config.json`.
pub fn load_config(dir: &Path) -> anyhow::Result<RunConfig> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (is this a run directory?)", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: malformed", path.display()))
}

/// A seed derived from the run's seed and a label (a slot, a program hash).
pub fn derive_seed(seed: u64, label: &str) -> u64 {
    let h = sha256_hex(format!("{seed}/{label}").as_bytes());
    u64::from_str_radix(&h[..16], 16).unwrap_or(seed)
}

/// Menu dropout: keep each option independently with probability `p`; never empty (if all are dropped,
/// one option chosen at random is kept).
pub fn dropout(menu: &[MenuItem], p: f64, seed: u64) -> Vec<MenuItem> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut kept: Vec<MenuItem> = menu
        .iter()
        .filter(|_| rng.gen_bool(p.clamp(0.0, 1.0)))
        .cloned()
        .collect();
    if kept.is_empty() && !menu.is_empty() {
        kept.push(menu[rng.gen_range(0..menu.len())].clone());
    }
    kept
}

/// The loop-FSM functs (8-13, 15-21).
pub fn loop_functs() -> Vec<u8> {
    (0..=127u8)
        .filter(|&f| Funct::from_u8(f).is_some_and(|x| x.is_loop()))
        .collect()
}

fn error_class(e: &ProposeError) -> &'static str {
    match e {
        ProposeError::Llm(_) => "llm",
        ProposeError::Unusable(_) => "unusable",
        ProposeError::NotApplicable(_) => "not_applicable",
        ProposeError::Budget(_) => "budget",
        ProposeError::Edit(_) => "edit",
    }
}

fn short(hash: &str) -> &str {
    // Hashes are hex; `get` keeps a malformed one from panicking.
    hash.get(..12).unwrap_or(hash)
}

/// Why an iteration must stop the search: no program came back to evaluate, and the plan and program
/// requests that failed did so because the proposer is broken (provider errors, unusable answers), not
/// because a plan did not apply. None when the iteration has something to evaluate, or asked nothing.
fn proposer_failure(
    st: &Step,
    plans: &[Option<PlanOutcome>],
    progs: &[Option<ProgOutcome>],
) -> Option<String> {
    if progs
        .iter()
        .any(|p| matches!(p, Some(ProgOutcome::Ok { .. })))
    {
        return None;
    }
    let mut faults: Vec<(&str, &str, &str)> = Vec::new();
    for p in plans.iter().flatten() {
        if let PlanOutcome::Failed { class, detail } = p {
            faults.push(("plan", class, detail));
        }
    }
    for p in progs.iter().flatten() {
        if let ProgOutcome::Failed { class, detail } = p {
            faults.push(("program", class, detail));
        }
    }
    if !faults.iter().any(|(_, class, _)| is_proposer_fault(class)) {
        return None;
    }
    // Distinct errors, most frequent first, each with its count.
    let mut distinct: Vec<(String, usize)> = Vec::new();
    for (what, _, detail) in &faults {
        let line = format!("{what}: {detail}");
        match distinct.iter_mut().find(|(l, _)| *l == line) {
            Some((_, n)) => *n += 1,
            None => distinct.push((line, 1)),
        }
    }
    distinct.sort_by_key(|d| std::cmp::Reverse(d.1));
    let plans_failed = faults.iter().filter(|f| f.0 == "plan").count();
    let progs_failed = faults.len() - plans_failed;
    let list: Vec<String> = distinct
        .iter()
        .take(5)
        .map(|(l, n)| format!("{n}x {l}"))
        .collect();
    Some(format!(
        "{} iteration {}: {plans_failed} of {} plan request(s) and {progs_failed} of {} program request(s) \
         failed, leaving nothing to evaluate: {}",
        st.phase,
        st.iteration,
        plans.len(),
        progs.len(),
        list.join("; ")
    ))
}

/// Apply `f` to every item on up to `jobs` threads; results in item order.
fn parallel_map<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let out: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let workers = jobs.clamp(1, items.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                if let Ok(mut slot) = out[i].lock() {
                    *slot = Some(r);
                }
            });
        }
    });
    out.into_iter()
        .filter_map(|m| m.into_inner().ok().flatten())
        .collect()
}

#[derive(Debug, Clone)]
enum PlanOutcome {
    Ok { plan: Plan, hash: String },
    Failed { class: String, detail: String },
}

#[derive(Debug, Clone)]
enum ProgOutcome {
    Ok {
        code: String,
        /// A one-call answer's plan (hash in the store) and menu option.
        plan: Option<String>,
        menu_id: Option<String>,
    },
    Failed {
        class: String,
        detail: String,
    },
}

/// How one iteration ended.
enum StepEnd {
    Beam(Vec<Contender>),
    /// Stopped (Ctrl-C) before its selection.
    Interrupted,
    /// Every request failed with a provider error or an unusable answer: nothing to evaluate.
    ProposerFailed(String),
}

/// Failure classes that say the proposer (its provider or its answers) is broken, as opposed to a plan that
/// does not apply to a parent.
fn is_proposer_fault(class: &str) -> bool {
    class == "llm" || class == "unusable" || class == "edit"
}

/// Why the loop stops asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopKind {
    Interrupt,
    Budget,
}

/// One search step's shape.
struct Step {
    step: u32,
    phase: &'static str,
    iteration: u32,
    iterations: u32,
    menu: Vec<MenuItem>,
    dropout: bool,
    width: usize,
    plans: u32,
    impls: u32,
    allowance: f64,
}

/// What every request of one iteration shares: its step, and each parent's feedback and ancestry.
struct StepCtx<'s> {
    st: &'s Step,
    feedbacks: &'s HashMap<String, Feedback>,
    ancestries: &'s HashMap<String, Vec<AncestorStep>>,
    /// The correct candidates measured so far (for a proposer that refits its cost model on them).
    measured: &'s [Measured],
}

impl StepCtx<'_> {
    /// The planning request for `parent` (also the one-call request of `--skip-planning`).
    fn plan_request<'r>(
        &'r self,
        engine: &'r Engine<'_>,
        parent: &Contender,
        parent_code: &'r str,
        menu: &'r [MenuItem],
        model: Option<&'r str>,
        seed: u64,
    ) -> PlanRequest<'r> {
        static NO_FEEDBACK: std::sync::OnceLock<Feedback> = std::sync::OnceLock::new();
        PlanRequest {
            workload: &engine.w,
            hw: &engine.cfg.hw,
            parent_code,
            feedback: self
                .feedbacks
                .get(&parent.code)
                .unwrap_or_else(|| NO_FEEDBACK.get_or_init(Feedback::default)),
            menu,
            iteration: self.st.iteration,
            iterations: self.st.iterations,
            model,
            seed,
            ancestry: self
                .ancestries
                .get(&parent.code)
                .map_or(&[][..], Vec::as_slice),
            measured: self.measured,
            pending: &[],
        }
    }
}

struct PlanReq {
    slot: String,
    parent: Contender,
    menu: Vec<MenuItem>,
    model: Option<String>,
    seed: u64,
}

/// What a program request asks for.
#[derive(Clone)]
enum ImplKind {
    /// An implementation of a plan.
    Implement { plan: Plan, plan_hash: String },
    /// One call that plans and implements (`--skip-planning`) with this menu.
    Direct { menu: Vec<MenuItem> },
    /// A second chance for a failed candidate (`--repair`).
    Repair {
        plan: Option<(Plan, String)>,
        /// The failed program's hash (None when its edits did not apply).
        failed: Option<String>,
        error: String,
    },
}

impl ImplKind {
    fn journal_name(&self) -> Option<String> {
        match self {
            ImplKind::Implement { .. } => None,
            ImplKind::Direct { .. } => Some("direct".into()),
            ImplKind::Repair { .. } => Some("repair".into()),
        }
    }
}

struct ImplReq {
    slot: String,
    plan_slot: String,
    parent: Contender,
    kind: ImplKind,
    model: Option<String>,
    seed: u64,
}

impl ImplReq {
    /// The plan this request implements (None for a one-call request: its plan comes with the answer).
    fn plan(&self) -> Option<(&Plan, &str)> {
        match &self.kind {
            ImplKind::Implement { plan, plan_hash } => Some((plan, plan_hash)),
            ImplKind::Repair {
                plan: Some((p, h)), ..
            } => Some((p, h)),
            _ => None,
        }
    }
}

struct Engine<'a> {
    dir: PathBuf,
    cfg: RunConfig,
    w: Workload,
    env: &'a SearchEnv<'a>,
    journal: Journal,
    store: Store,
    plans: HashMap<String, PlanOutcome>,
    programs: HashMap<String, ProgOutcome>,
    verdicts: Mutex<HashMap<String, Verdict>>,
    rechecks: HashMap<String, Verdict>,
    started: HashSet<u32>,
    selected: HashSet<u32>,
    early_stopped: bool,
    budget_recorded: AtomicBool,
    /// Why a budget stopped the search (the `budget_stop` event's detail), for the finish reason.
    budget_detail: Mutex<Option<String>>,
    /// The sample budget's count (see [`Engine::admit`]).
    judged: Mutex<Judged>,
    stop: Mutex<Option<StopKind>>,
    plan_models: Vec<String>,
    code_models: Vec<String>,
    plan_counter: usize,
    impl_counter: usize,
    /// Dollars spent by earlier processes of this run (from the journal), and by the last one replayed.
    prior_spent: f64,
    segment_spent: f64,
    calls: AtomicUsize,
    evals: AtomicUsize,
    /// Proposer failures already shown on the terminal (one line per distinct error).
    shown_failures: Mutex<HashSet<String>>,
    /// Every program that entered a beam (and the starting program), for the ancestry in prompts.
    known: HashMap<String, Contender>,
    /// The progress bar on screen, so messages print above it.
    current_bar: Mutex<Option<indicatif::ProgressBar>>,
    /// Proposer requests being answered right now (for the progress line).
    awaiting: AtomicUsize,
    /// The executor when the environment names none.
    local: LocalExecutor,
}

/// The candidates the walk has judged so far: each distinct program once, in the order the search meets
/// them. On resume the replayed steps meet the same programs in the same order (their verdicts come from
/// the journal), so the count at every point equals the interrupted run's and the budget admits the same
/// candidates.
#[derive(Default)]
struct Judged {
    /// Every program judged in this walk (and the starting program, which is free): judged again for
    /// nothing when it comes back.
    seen: HashSet<String>,
    /// How many of `seen` count against `--max-evaluations` (all but the starting program).
    counted: u32,
}

/// The `budget_stop` detail and finish reason of the sample budget.
fn eval_budget_detail(limit: u32, refused: usize) -> String {
    let mut d = format!("evaluated {limit} of the {limit} candidates --max-evaluations allows");
    if refused > 0 {
        d.push_str(&format!(
            "; {refused} more candidate(s) of the last iteration were not evaluated"
        ));
    }
    d
}

/// One program to judge: its journal label (the program's hash, or `baseline:NAME`), its hash in the
/// store, and for a baseline whether it may use the loop FSMs.
struct EvalItem {
    label: String,
    hash: String,
    baseline_fsm: Option<bool>,
}

/// How `-v` names a judged program: `candidate` and the first 12 hex digits of its hash, or a baseline
/// by its label (`baseline:NAME`).
fn short_label(label: &str) -> String {
    if label.starts_with("baseline:") {
        label.to_string()
    } else {
        format!("candidate {}", &label[..label.len().min(12)])
    }
}

/// The lock file of a run directory.
pub const LOCK_FILE: &str = "lock";

/// One process at a time per run directory: an exclusive `flock` on `RUN_DIR/lock` ([`FileLock`]), taken atomically (two
/// processes racing for a new directory cannot both get it) and released by the kernel when the holder
/// exits, however it exits, so a killed run never leaves a stale lock. The file names the holder (pid, host,
/// start time) for the message the next process gets; it is not removed (removing a locked file would let
/// a third process lock a new file of the same name while the second holds the old one).
pub struct RunLock {
    _lock: FileLock,
    dir: PathBuf,
}

impl RunLock {
    /// Create `dir` if needed and lock it, or fail naming the process that holds it.
    pub fn take(dir: &Path) -> anyhow::Result<RunLock> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the run directory {}", dir.display()))?;
        let path = dir.join(LOCK_FILE);
        // A lock found held is tried again for a short while: a process that just released it may still
        // be shared by a child between fork and exec (which closes the descriptor), and a holder that just
        // took it has not written its name yet.
        let patience = std::time::Instant::now();
        let mut lock = loop {
            match FileLock::try_acquire(&path)
                .with_context(|| format!("locking the run directory {}", dir.display()))?
            {
                Some(lock) => break lock,
                None if patience.elapsed() < std::time::Duration::from_secs(1) => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                None => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    let holder = holder.trim();
                    bail!(
                        "{} is in use by another search ({}); wait for it to end, or choose another --out-dir",
                        dir.display(),
                        if holder.is_empty() {
                            "a process that has not written its name yet"
                        } else {
                            holder
                        }
                    );
                }
            }
        };
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "unknown host".into());
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        lock.write_note(&format!(
            "process {} on {host}, since unix time {since}\n",
            std::process::id()
        ))
        .with_context(|| format!("writing the holder's name into {}", path.display()))?;
        Ok(RunLock {
            _lock: lock,
            dir: dir.to_path_buf(),
        })
    }
}

/// Run (or resume) the search in `dir`, taking its lock first (see [`run_locked`]).
pub fn run(dir: &Path, env: &SearchEnv<'_>) -> anyhow::Result<Outcome> {
    let lock = RunLock::take(dir)?;
    run_locked(dir, env, &lock)
}

/// Run (or resume) the search in `dir`, which [`create`] made, under its lock. Returns when the search
/// finishes, the budget is spent, the proposer fails a whole iteration, or `env.stop` is set; a finished
/// run is not searched again (its report is rebuilt).
pub fn run_locked(dir: &Path, env: &SearchEnv<'_>, lock: &RunLock) -> anyhow::Result<Outcome> {
    if lock.dir != dir {
        bail!(
            "internal: the lock of {} does not cover {}",
            lock.dir.display(),
            dir.display()
        );
    }
    let cfg = load_config(dir)?;
    validate(&cfg.params).with_context(|| format!("{}", dir.join(CONFIG_FILE).display()))?;
    let w = workload::by_name(&cfg.workload).with_context(|| {
        format!(
            "{}: unknown workload `{}`",
            dir.join(CONFIG_FILE).display(),
            cfg.workload
        )
    })?;
    let jpath = dir.join(JOURNAL_FILE);
    let replay = journal::read_journal(&jpath)?;
    if let Some(line) = replay.truncated_line {
        eprintln!(
            "note: {}:{line}: dropped a truncated last line (the run was killed while writing it)",
            jpath.display()
        );
    }
    let journal = Journal::open(&jpath, replay.truncated_line.is_some())?;
    let store = Store::new(dir.join(STORE_DIR));
    // 0: one per core, as the local executor reads it.
    let eval_jobs = cfg.params.eval_jobs;
    let mut e = Engine {
        dir: dir.to_path_buf(),
        plan_models: cfg.planning_models().to_vec(),
        code_models: cfg.coding_models().to_vec(),
        known: HashMap::new(),
        cfg,
        w,
        env,
        journal,
        store,
        plans: HashMap::new(),
        programs: HashMap::new(),
        verdicts: Mutex::new(HashMap::new()),
        rechecks: HashMap::new(),
        started: HashSet::new(),
        selected: HashSet::new(),
        early_stopped: false,
        budget_recorded: AtomicBool::new(false),
        budget_detail: Mutex::new(None),
        judged: Mutex::new(Judged::default()),
        stop: Mutex::new(None),
        plan_counter: 0,
        impl_counter: 0,
        prior_spent: 0.0,
        segment_spent: 0.0,
        calls: AtomicUsize::new(0),
        evals: AtomicUsize::new(0),
        shown_failures: Mutex::new(HashSet::new()),
        current_bar: Mutex::new(None),
        awaiting: AtomicUsize::new(0),
        local: LocalExecutor::new(eval_jobs),
    };
    let resumed = !replay.events.is_empty();
    let mut finished = None;
    for ev in &replay.events {
        e.absorb(ev)?;
        if let Event::Finish { best, cycles, .. } = ev {
            finished = Some((best.clone(), *cycles));
        }
    }
    e.prior_spent += e.segment_spent;
    if let Some((best, cycles)) = finished {
        return Ok(Outcome {
            status: "already_finished".into(),
            error: None,
            best,
            cycles,
            start_cycles: None,
            rechecked: true,
            proposer_calls: 0,
            evaluations: 0,
            truncated_journal_line: replay.truncated_line,
        });
    }
    e.journal.append(&Event::Start {
        resumed,
        version: env!("CARGO_PKG_VERSION").into(),
    })?;
    let mut out = e.search()?;
    out.truncated_journal_line = replay.truncated_line;
    Ok(out)
}

impl<'a> Engine<'a> {
    /// Take one journal event into the replay state.
    fn absorb(&mut self, ev: &Event) -> anyhow::Result<()> {
        match ev {
            Event::Start { .. } => {
                self.prior_spent += self.segment_spent;
                self.segment_spent = 0.0;
            }
            Event::PlanReceived { slot, plan, .. } => {
                let text = self.store.get(plan, "json")?;
                let p: Plan = serde_json::from_str(&text)
                    .with_context(|| format!("plan {plan} in the store is malformed"))?;
                self.plans.insert(
                    slot.clone(),
                    PlanOutcome::Ok {
                        plan: p,
                        hash: plan.clone(),
                    },
                );
            }
            Event::PlanFailed {
                slot,
                class,
                detail,
                ..
            } if class != "budget" => {
                self.plans.insert(
                    slot.clone(),
                    PlanOutcome::Failed {
                        class: class.clone(),
                        detail: detail.clone(),
                    },
                );
            }
            Event::ProgramReceived {
                slot,
                code,
                plan,
                menu_id,
                ..
            } => {
                self.programs.insert(
                    slot.clone(),
                    ProgOutcome::Ok {
                        code: code.clone(),
                        plan: plan.clone(),
                        menu_id: menu_id.clone(),
                    },
                );
            }
            Event::ProgramFailed {
                slot,
                class,
                detail,
                ..
            } if class != "budget" => {
                self.programs.insert(
                    slot.clone(),
                    ProgOutcome::Failed {
                        class: class.clone(),
                        detail: detail.clone(),
                    },
                );
            }
            Event::Evaluated { code, verdict, .. } => {
                let v = verdict_from_json(verdict)
                    .with_context(|| format!("the journal's verdict on {code}"))?;
                self.lock_verdicts()?.insert(code.clone(), v);
            }
            Event::Recheck { code, verdict } => {
                let v = verdict_from_json(verdict)
                    .with_context(|| format!("the journal's re-check of {code}"))?;
                self.rechecks.insert(code.clone(), v);
            }
            Event::IterationStart { step, .. } => {
                self.started.insert(*step);
            }
            Event::Selection { step, beam, .. } => {
                self.selected.insert(*step);
                for c in beam {
                    self.known
                        .entry(c.code.clone())
                        .or_insert_with(|| c.clone());
                }
            }
            Event::EarlyStop { .. } => self.early_stopped = true,
            Event::BudgetStop { detail, .. } => {
                self.budget_recorded.store(true, Ordering::SeqCst);
                if let Ok(mut d) = self.budget_detail.lock() {
                    d.get_or_insert_with(|| detail.clone());
                }
            }
            _ => {}
        }
        if let Event::PlanReceived { spent_usd, .. }
        | Event::PlanFailed { spent_usd, .. }
        | Event::ProgramReceived { spent_usd, .. }
        | Event::ProgramFailed { spent_usd, .. } = ev
        {
            self.segment_spent = self.segment_spent.max(*spent_usd);
        }
        Ok(())
    }

    fn lock_verdicts(&self) -> anyhow::Result<std::sync::MutexGuard<'_, HashMap<String, Verdict>>> {
        self.verdicts
            .lock()
            .map_err(|_| anyhow::anyhow!("the verdict table's lock is poisoned"))
    }

    fn stopped(&self) -> Option<StopKind> {
        if self.env.stop.load(Ordering::SeqCst) {
            return Some(StopKind::Interrupt);
        }
        self.stop.lock().ok().and_then(|s| *s)
    }

    fn set_stop(&self, k: StopKind) {
        if let Ok(mut s) = self.stop.lock() {
            s.get_or_insert(k);
        }
    }

    fn over_budget(&self) -> bool {
        if let Some(n) = self.cfg.params.max_evaluations {
            if self.judged_count() >= n {
                self.record_budget_stop(eval_budget_detail(n, 0));
                return true;
            }
        }
        let Some(b) = self.cfg.params.budget_usd else {
            return false;
        };
        let spent = self.spent();
        if spent >= b {
            self.record_budget_stop(format!("spent ${spent:.4} of the ${b:.4} budget"));
            true
        } else {
            false
        }
    }

    /// Dollars spent by the whole run, across resumes.
    fn spent(&self) -> f64 {
        self.prior_spent + self.env.proposer.spent_usd()
    }

    /// Candidates judged so far (the sample budget's count).
    fn judged_count(&self) -> u32 {
        self.judged.lock().map_or(u32::MAX, |j| j.counted)
    }

    /// The sample budget: which of `codes` (distinct, in request order) may be judged. A program already
    /// judged in this run is free (its verdict is reused, nothing runs); a new one counts, whether its
    /// verdict then comes from the evaluator, the verdict cache or (on resume) the journal, so the budget
    /// does not depend on the cache. Admission happens here, before anything is sent to the evaluator, and
    /// in order, so the budget is exact however many evaluations then run at once. Candidates over the
    /// budget are left out, and the budget stops the search.
    fn admit(&self, codes: Vec<String>) -> anyhow::Result<Vec<String>> {
        let limit = self.cfg.params.max_evaluations;
        let mut refused = 0usize;
        let mut out = Vec::with_capacity(codes.len());
        {
            let mut j = self
                .judged
                .lock()
                .map_err(|_| anyhow::anyhow!("the sample budget's lock is poisoned"))?;
            for c in codes {
                if j.seen.contains(&c) {
                    out.push(c);
                } else if limit.is_some_and(|n| j.counted >= n) {
                    refused += 1;
                } else {
                    j.seen.insert(c.clone());
                    j.counted += 1;
                    out.push(c);
                }
            }
        }
        if let (Some(n), true) = (limit, refused > 0) {
            self.record_budget_stop(eval_budget_detail(n, refused));
        }
        Ok(out)
    }

    fn record_budget_stop(&self, detail: String) {
        self.set_stop(StopKind::Budget);
        if let Ok(mut d) = self.budget_detail.lock() {
            d.get_or_insert_with(|| detail.clone());
        }
        if !self.budget_recorded.swap(true, Ordering::SeqCst) {
            let _ = self.journal.append(&Event::BudgetStop {
                spent_usd: self.spent(),
                detail,
            });
        }
    }

    /// The next model of `models` round-robin (None for a proposer without models).
    fn next_model(models: &[String], counter: &mut usize) -> Option<String> {
        if models.is_empty() {
            return None;
        }
        let m = models[*counter % models.len()].clone();
        *counter += 1;
        Some(m)
    }

    /// The parent's ancestry for the planning prompt: up to `--ancestors` generations, oldest first.
    fn ancestry(&self, parent: &Contender) -> anyhow::Result<Vec<AncestorStep>> {
        let mut out = Vec::new();
        let mut cur = parent.clone();
        while (out.len() as u32) < self.cfg.params.ancestors {
            let Some(up) = cur.parent.as_ref().and_then(|h| self.known.get(h)).cloned() else {
                break;
            };
            let plan = match &cur.plan {
                Some(h) => {
                    let p: Plan = serde_json::from_str(&self.store.get(h, "json")?)
                        .with_context(|| format!("plan {h} in the store is malformed"))?;
                    Some(p.text)
                }
                None => None,
            };
            out.push(AncestorStep {
                code: self.store.get(&up.code, "c")?,
                cycles: up.cycles,
                plan,
                menu_id: cur.menu_id.clone(),
            });
            cur = up;
        }
        out.reverse();
        Ok(out)
    }

    fn bar(&self, len: usize, what: String) -> indicatif::ProgressBar {
        if !self.env.progress {
            return indicatif::ProgressBar::hidden();
        }
        let pb = indicatif::ProgressBar::new(len as u64);
        // The spinner and the clock tick on their own, so a long wait for an answer still shows life.
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {prefix:>28} [{bar:30}] {pos}/{len} {elapsed} {msg}",
        ) {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_prefix(what);
        pb.enable_steady_tick(std::time::Duration::from_millis(200));
        if let Ok(mut cur) = self.current_bar.lock() {
            *cur = Some(pb.clone());
        }
        crate::term::attach(&pb);
        pb
    }

    /// Show a proposer failure on the terminal the first time it occurs (one line per distinct error: the
    /// phase, the model as the user named it, and the error, which carries the provider's HTTP status and
    /// message). Plans that do not apply are the built-in proposer's normal business and are not shown.
    /// A request that failed: journal it (`event` builds the entry from class, detail and spend), end
    /// the search if the budget ran out (then `None`), otherwise show it and give its (class, detail).
    fn record_failure(
        &self,
        phase: &str,
        model: Option<&str>,
        err: &ProposeError,
        event: impl FnOnce(String, String, f64) -> Event,
    ) -> anyhow::Result<Option<(String, String)>> {
        let (class, detail) = (error_class(err).to_string(), err.to_string());
        self.journal.append(&event(
            class.clone(),
            detail.clone(),
            self.env.proposer.spent_usd(),
        ))?;
        if let ProposeError::Budget(d) = err {
            self.record_budget_stop(d.clone());
            return Ok(None);
        }
        self.show_failure(phase, model, err);
        Ok(Some((class, detail)))
    }

    fn show_failure(&self, phase: &str, model: Option<&str>, err: &ProposeError) {
        if !is_proposer_fault(error_class(err)) {
            return;
        }
        let model = model.unwrap_or("the proposer");
        let key = format!("{phase}\u{0}{model}\u{0}{err}");
        let new = self
            .shown_failures
            .lock()
            .map(|mut seen| seen.insert(key))
            .unwrap_or(true);
        if !new {
            return;
        }
        let line = format!("error: {phase} request to {model}: {err}");
        let bar = self.current_bar.lock().ok().and_then(|b| b.clone());
        match bar {
            Some(pb) if !pb.is_hidden() => pb.suspend(|| eprintln!("{line}")),
            _ => eprintln!("{line}"),
        }
    }

    /// Run a proposer call while the progress line counts it as awaited.
    fn awaited<R>(&self, pb: &indicatif::ProgressBar, f: impl FnOnce() -> R) -> R {
        let n = self.awaiting.fetch_add(1, Ordering::SeqCst) + 1;
        pb.set_message(format!("{n} awaiting an answer"));
        let r = f();
        let n = self.awaiting.fetch_sub(1, Ordering::SeqCst) - 1;
        pb.set_message(if n == 0 {
            String::new()
        } else {
            format!("{n} awaiting an answer")
        });
        r
    }

    fn eval_settings(&self) -> (EvalOpts, String) {
        let p = &self.cfg.params;
        let forbidden = if p.allow_loop_fsm {
            Vec::new()
        } else {
            loop_functs()
        };
        let settings = format!(
            "screen_runs={} rtl=true max_cycles={:?} forbidden={:?}",
            p.screen_runs, p.max_cycles, forbidden
        );
        let opts = EvalOpts {
            screen_runs: p.screen_runs,
            rtl: true,
            seed: None,
            max_cycles: p.max_cycles,
            cache_dir: None,
            forbidden_functs: forbidden,
        };
        (opts, settings)
    }

    /// Where evaluations run.
    fn exec(&self) -> &dyn Executor {
        self.env.executor.unwrap_or(&self.local)
    }

    /// The verdict on a stored program: from the journal, the cache, or a fresh evaluation (journaled).
    fn evaluate(&self, code_hash: &str) -> anyhow::Result<Option<Verdict>> {
        let item = EvalItem {
            label: code_hash.to_string(),
            hash: code_hash.to_string(),
            baseline_fsm: None,
        };
        let hidden = indicatif::ProgressBar::hidden();
        Ok(self.evaluate_items(&[item], &hidden)?.pop().flatten())
    }

    /// Verdicts on stored programs, in order: from the journal, the cache, or the executor (all of the
    /// missing ones at once, so that a cluster executor can batch them), each journaled as it arrives.
    /// None for those left unevaluated by an interrupt.
    fn evaluate_items(
        &self,
        items: &[EvalItem],
        pb: &indicatif::ProgressBar,
    ) -> anyhow::Result<Vec<Option<Verdict>>> {
        let mut out: Vec<Option<Verdict>> = vec![None; items.len()];
        let mut reqs = Vec::new();
        let mut req_item = Vec::new();
        for (i, it) in items.iter().enumerate() {
            if let Some(v) = self.lock_verdicts()?.get(&it.label) {
                log::debug!(
                    "search: {}: {} (verdict from this run's journal)",
                    short_label(&it.label),
                    eval::verdict_summary(v)
                );
                out[i] = Some(v.clone());
                pb.inc(1);
                continue;
            }
            if self.stopped() == Some(StopKind::Interrupt) {
                continue;
            }
            let code = self.store.get(&it.hash, "c")?;
            let (mut opts, mut settings) = self.eval_settings();
            if let Some(fsm) = it.baseline_fsm {
                if fsm {
                    opts.forbidden_functs.clear();
                }
                settings = format!("{settings} fsm={fsm}");
            }
            let key = EvalCache::key(&code, &self.w, &self.cfg.hw, &settings);
            if let Some(v) = self.env.cache.as_ref().and_then(|c| c.get(&key)) {
                // -v: every candidate judged, and where its verdict came from.
                log::info!(
                    "search: {}: {} (verdict cache hit)",
                    short_label(&it.label),
                    eval::verdict_summary(&v)
                );
                self.journal.append(&Event::Evaluated {
                    code: it.label.clone(),
                    verdict: verdict_to_json(&v),
                    cached: true,
                })?;
                self.lock_verdicts()?.insert(it.label.clone(), v.clone());
                out[i] = Some(v);
                pb.inc(1);
                continue;
            }
            opts.seed = Some(derive_seed(self.cfg.params.seed, &it.label));
            reqs.push(EvalRequest {
                hw: self.cfg.hw.clone(),
                workload: self.w.clone(),
                candidate: self.dir.join(STORE_DIR).join(format!("{}.c", it.hash)),
                opts,
                cache: self
                    .env
                    .cache
                    .clone()
                    .map(|cache| CacheSlot { cache, settings }),
            });
            req_item.push(i);
        }
        if reqs.is_empty() {
            return Ok(out);
        }
        let got = Mutex::new(out);
        let failed: Mutex<Option<anyhow::Error>> = Mutex::new(None);
        let started = std::time::Instant::now();
        self.exec().evaluate(&reqs, self.env.stop, &|k, v| {
            let i = req_item[k];
            let label = &items[i].label;
            log::info!(
                "search: {}: {} (evaluated; done {:.1} s after the batch started)",
                short_label(label),
                eval::verdict_summary(&v),
                started.elapsed().as_secs_f64()
            );
            if items[i].baseline_fsm.is_none() {
                self.evals.fetch_add(1, Ordering::SeqCst);
            }
            let journaled = self
                .journal
                .append(&Event::Evaluated {
                    code: label.clone(),
                    verdict: verdict_to_json(&v),
                    cached: false,
                })
                .and_then(|()| {
                    self.lock_verdicts()?.insert(label.clone(), v.clone());
                    Ok(())
                });
            if let Err(e) = journaled {
                if let Ok(mut f) = failed.lock() {
                    f.get_or_insert(e);
                }
            }
            if let Ok(mut g) = got.lock() {
                g[i] = Some(v);
            }
            pb.inc(1);
        })?;
        if let Some(e) = failed.into_inner().ok().flatten() {
            return Err(e);
        }
        got.into_inner()
            .map_err(|_| anyhow::anyhow!("an evaluation thread panicked"))
    }

    /// Plans that duplicate a plan drawn earlier in the same iteration (same schedule or same text),
    /// asked for once more, in slot order, with every plan drawn so far as [`PlanRequest::pending`]; only
    /// for a proposer that [`Proposer::redraws_duplicates`]. Without this a quarter of the built-in
    /// proposer's plans named a candidate a sibling had already named, and the evaluation budget shrank
    /// by as much. A redrawn plan has its own slot (`<slot>/redraw`, journaled as any plan, so a resumed
    /// run replays it); a redraw that fails or duplicates again leaves the first plan. Returns the plans
    /// and each one's slot.
    fn redraw_duplicates(
        &self,
        preqs: &[PlanReq],
        mut plans: Vec<Option<PlanOutcome>>,
        ctx: &StepCtx<'_>,
    ) -> anyhow::Result<(Vec<Option<PlanOutcome>>, Vec<String>)> {
        let mut slots: Vec<String> = preqs.iter().map(|r| r.slot.clone()).collect();
        if !self.env.proposer.redraws_duplicates() {
            return Ok((plans, slots));
        }
        let same = |a: &Plan, b: &Plan| {
            if a.meta.is_null() && b.meta.is_null() {
                a.text == b.text
            } else {
                a.meta == b.meta
            }
        };
        let mut drawn: Vec<Plan> = Vec::new();
        for (i, r) in preqs.iter().enumerate() {
            let Some(Some(PlanOutcome::Ok { plan, .. })) = plans.get(i) else {
                continue;
            };
            if !drawn.iter().any(|d| same(d, plan)) {
                drawn.push(plan.clone());
                continue;
            }
            let slot = format!("{}/redraw", r.slot);
            let again = PlanReq {
                seed: derive_seed(self.cfg.params.seed, &slot),
                slot: slot.clone(),
                parent: r.parent.clone(),
                menu: r.menu.clone(),
                model: r.model.clone(),
            };
            if let Some(PlanOutcome::Ok { plan, hash }) = self.get_plan(&again, ctx, &drawn)? {
                if !drawn.iter().any(|d| same(d, &plan)) {
                    drawn.push(plan.clone());
                    plans[i] = Some(PlanOutcome::Ok { plan, hash });
                    slots[i] = slot;
                }
            }
        }
        Ok((plans, slots))
    }

    fn get_plan(
        &self,
        r: &PlanReq,
        ctx: &StepCtx<'_>,
        pending: &[Plan],
    ) -> anyhow::Result<Option<PlanOutcome>> {
        if let Some(o) = self.plans.get(&r.slot) {
            return Ok(Some(o.clone()));
        }
        if self.stopped().is_some() || self.over_budget() {
            return Ok(None);
        }
        self.journal.append(&Event::PlanRequested {
            slot: r.slot.clone(),
            parent: r.parent.code.clone(),
            model: r.model.clone(),
            menu: r.menu.iter().map(|m| m.id.clone()).collect(),
            seed: r.seed,
        })?;
        let parent_code = self.store.get(&r.parent.code, "c")?;
        let mut req = ctx.plan_request(
            self,
            &r.parent,
            &parent_code,
            &r.menu,
            r.model.as_deref(),
            r.seed,
        );
        req.pending = pending;
        self.calls.fetch_add(1, Ordering::SeqCst);
        match self.env.proposer.plan(&req) {
            Ok(plan) => {
                let hash = self.store.put(&serde_json::to_string(&plan)?, "json")?;
                self.journal.append(&Event::PlanReceived {
                    slot: r.slot.clone(),
                    plan: hash.clone(),
                    menu_id: plan.menu_id.clone(),
                    spent_usd: self.env.proposer.spent_usd(),
                })?;
                Ok(Some(PlanOutcome::Ok { plan, hash }))
            }
            Err(err) => {
                let failed = self.record_failure(
                    "plan",
                    r.model.as_deref(),
                    &err,
                    |class, detail, spent_usd| Event::PlanFailed {
                        slot: r.slot.clone(),
                        class,
                        detail,
                        spent_usd,
                    },
                )?;
                Ok(failed.map(|(class, detail)| PlanOutcome::Failed { class, detail }))
            }
        }
    }

    /// The correct candidates measured so far (not the baselines), by hash, for the proposer's cost
    /// model. Only when the proposer uses them (reading every program back costs I/O).
    fn measured(&self) -> anyhow::Result<Vec<Measured>> {
        if !self.env.proposer.wants_measured() {
            return Ok(Vec::new());
        }
        let mut done: Vec<(String, u64)> = self
            .lock_verdicts()?
            .iter()
            .filter(|(code, _)| !code.starts_with("baseline:"))
            .filter_map(|(code, v)| {
                v.cycles
                    .filter(|_| v.correct && v.failure.is_none())
                    .map(|c| (code.clone(), c))
            })
            .collect();
        done.sort();
        done.into_iter()
            .map(|(code, cycles)| {
                Ok(Measured {
                    program: self.store.get(&code, "c")?,
                    cycles,
                })
            })
            .collect()
    }

    /// A program: an implementation of a plan, a one-call answer, or a repair (see [`ImplKind`]).
    fn get_program(&self, r: &ImplReq, ctx: &StepCtx<'_>) -> anyhow::Result<Option<ProgOutcome>> {
        if let Some(o) = self.programs.get(&r.slot) {
            return Ok(Some(o.clone()));
        }
        if self.stopped().is_some() || self.over_budget() {
            return Ok(None);
        }
        self.journal.append(&Event::ProgramRequested {
            slot: r.slot.clone(),
            plan_slot: r.plan_slot.clone(),
            model: r.model.clone(),
            seed: r.seed,
            kind: r.kind.journal_name(),
            parent: Some(r.parent.code.clone()),
        })?;
        let parent_code = self.store.get(&r.parent.code, "c")?;
        self.calls.fetch_add(1, Ordering::SeqCst);
        let answer: Result<(String, Option<Plan>), ProposeError> = match &r.kind {
            ImplKind::Implement { plan, .. } => self
                .env
                .proposer
                .implement(&ImplRequest {
                    workload: &self.w,
                    hw: &self.cfg.hw,
                    parent_code: &parent_code,
                    plan,
                    model: r.model.as_deref(),
                    seed: r.seed,
                })
                .map(|code| (code, None)),
            ImplKind::Direct { menu } => {
                let req = ctx.plan_request(
                    self,
                    &r.parent,
                    &parent_code,
                    menu,
                    r.model.as_deref(),
                    r.seed,
                );
                self.env
                    .proposer
                    .direct(&req)
                    .map(|(plan, code)| (code, Some(plan)))
            }
            ImplKind::Repair {
                plan,
                failed,
                error,
            } => {
                let failed_code = match failed {
                    Some(h) => Some(self.store.get(h, "c")?),
                    None => None,
                };
                self.env
                    .proposer
                    .repair(&RepairRequest {
                        workload: &self.w,
                        hw: &self.cfg.hw,
                        parent_code: &parent_code,
                        plan: plan.as_ref().map(|(p, _)| p),
                        failed_code: failed_code.as_deref(),
                        error,
                        model: r.model.as_deref(),
                        seed: r.seed,
                    })
                    .map(|code| (code, None))
            }
        };
        match answer {
            Ok((text, plan)) => {
                let code = self.store.put(&text, "c")?;
                let (plan, menu_id) = match plan {
                    Some(p) => (
                        Some(self.store.put(&serde_json::to_string(&p)?, "json")?),
                        p.menu_id,
                    ),
                    None => (None, None),
                };
                self.journal.append(&Event::ProgramReceived {
                    slot: r.slot.clone(),
                    code: code.clone(),
                    spent_usd: self.env.proposer.spent_usd(),
                    plan: plan.clone(),
                    menu_id: menu_id.clone(),
                })?;
                Ok(Some(ProgOutcome::Ok {
                    code,
                    plan,
                    menu_id,
                }))
            }
            Err(err) => {
                let phase = match r.kind {
                    ImplKind::Implement { .. } => "program",
                    ImplKind::Direct { .. } => "one-call",
                    ImplKind::Repair { .. } => "repair",
                };
                let failed = self.record_failure(
                    phase,
                    r.model.as_deref(),
                    &err,
                    |class, detail, spent_usd| Event::ProgramFailed {
                        slot: r.slot.clone(),
                        class,
                        detail,
                        spent_usd,
                    },
                )?;
                Ok(failed.map(|(class, detail)| ProgOutcome::Failed { class, detail }))
            }
        }
    }

    fn steps(&self) -> Vec<Step> {
        let p = &self.cfg.params;
        let mut out = Vec::new();
        let g = p.guided.len() as u32;
        for (i, id) in p.guided.iter().enumerate() {
            let item = self
                .cfg
                .menu
                .iter()
                .find(|m| &m.id == id)
                .cloned()
                .unwrap_or_else(|| MenuItem {
                    id: id.clone(),
                    text: id.replace('_', " "),
                });
            out.push(Step {
                step: i as u32 + 1,
                phase: "guided",
                iteration: i as u32 + 1,
                iterations: g,
                menu: vec![item],
                dropout: false,
                width: p.beam.div_ceil(2),
                plans: p.plans.div_ceil(2),
                impls: p.impls.div_ceil(2),
                allowance: 0.0,
            });
        }
        for i in 1..=p.iterations {
            out.push(Step {
                step: g + i,
                phase: "full",
                iteration: i,
                iterations: p.iterations,
                menu: self.cfg.menu.clone(),
                dropout: true,
                width: p.beam,
                plans: p.plans,
                impls: p.impls,
                allowance: if i <= p.allowance_iterations {
                    p.regression_allowance
                } else {
                    0.0
                },
            });
        }
        out
    }

    fn search(&mut self) -> anyhow::Result<Outcome> {
        // The baselines and the starting program (step 0).
        let baselines = self.cfg.baselines.clone();
        // One batch with the starting program (a cluster executor runs them together).
        let start_hash = self.cfg.start.clone();
        let what = if baselines.is_empty() {
            "the starting program"
        } else {
            "baselines and the starting program"
        };
        let pb = self.bar(baselines.len() + 1, what.into());
        let mut items: Vec<EvalItem> = baselines
            .iter()
            .map(|(name, hash, fsm)| EvalItem {
                label: format!("baseline:{name}"),
                hash: hash.clone(),
                baseline_fsm: Some(*fsm),
            })
            .collect();
        items.push(EvalItem {
            label: start_hash.clone(),
            hash: start_hash.clone(),
            baseline_fsm: None,
        });
        self.evaluate_items(&items, &pb)?;
        pb.finish_and_clear();
        let Some(sv) = self.evaluate(&start_hash)? else {
            return self.interrupted(0);
        };
        let Some(start_cycles) = sv.cycles.filter(|_| sv.correct) else {
            let reason = format!(
                "the starting program is not correct: {}: {}",
                sv.failure.map_or("incorrect", |f| f.name()),
                sv.detail
            );
            self.journal.append(&Event::Finish {
                best: None,
                cycles: None,
                reason: reason.clone(),
                spent_usd: self.spent(),
            })?;
            bail!("{reason}");
        };
        let mut beam = vec![Contender {
            code: start_hash.clone(),
            cycles: start_cycles,
            parent: None,
            plan_slot: None,
            plan: None,
            menu_id: None,
            step: 0,
        }];
        self.known.insert(start_hash.clone(), beam[0].clone());
        if let Ok(mut j) = self.judged.lock() {
            j.seen.insert(start_hash.clone());
        }
        let mut best = start_cycles;
        let mut since_better = 0u32;
        let mut status = "completed";
        for st in self.steps() {
            if self.early_stopped {
                status = "early_stop";
                break;
            }
            // The sample budget spent exactly by the last iteration: stop before asking for more.
            if let Some(n) = self.cfg.params.max_evaluations {
                if self.judged_count() >= n {
                    self.record_budget_stop(eval_budget_detail(n, 0));
                }
            }
            match self.stopped() {
                Some(StopKind::Interrupt) => return self.interrupted(st.step),
                Some(StopKind::Budget) => {
                    status = "budget";
                    break;
                }
                None => {}
            }
            if !self.started.contains(&st.step) {
                self.journal.append(&Event::IterationStart {
                    step: st.step,
                    phase: st.phase.into(),
                    iteration: st.iteration,
                    beam: beam.iter().map(|c| c.code.clone()).collect(),
                })?;
            }
            beam = match self.one_step(&st, &beam)? {
                StepEnd::Beam(next) => next,
                StepEnd::Interrupted => return self.interrupted(st.step),
                StepEnd::ProposerFailed(why) => {
                    return self.finish(&beam, start_cycles, STATUS_PROPOSER_FAILED, Some(why))
                }
            };
            if !self.selected.contains(&st.step) {
                self.journal.append(&Event::Selection {
                    step: st.step,
                    beam: beam.clone(),
                    best_cycles: beam[0].cycles,
                })?;
            }
            if self.env.progress {
                eprintln!(
                    "{} iteration {}/{}: best {} cycles (start {start_cycles}, {:.2}x)",
                    st.phase,
                    st.iteration,
                    st.iterations,
                    beam[0].cycles,
                    start_cycles as f64 / beam[0].cycles.max(1) as f64
                );
            }
            if beam[0].cycles < best {
                best = beam[0].cycles;
                since_better = 0;
            } else {
                since_better += 1;
            }
            if let Some(e) = self.cfg.params.early_stop {
                if st.phase == "full" && since_better >= e {
                    if !self.early_stopped {
                        self.journal.append(&Event::EarlyStop {
                            step: st.step,
                            since: since_better,
                        })?;
                    }
                    status = "early_stop";
                    break;
                }
            }
            if self.stopped() == Some(StopKind::Budget) {
                status = "budget";
                break;
            }
        }
        if self.stopped() == Some(StopKind::Interrupt) {
            return self.interrupted(u32::MAX);
        }
        // A budget stop says which budget and how far it got.
        let why = if status == "budget" {
            self.budget_detail.lock().ok().and_then(|d| d.clone())
        } else {
            None
        };
        self.finish(&beam, start_cycles, status, why)
    }

    /// Journal this process's ledger (none for proposers without one).
    fn record_ledger(&self) -> anyhow::Result<()> {
        let ledger = self.env.proposer.ledger_json();
        if ledger.is_null() {
            return Ok(());
        }
        self.journal.append(&Event::Ledger { ledger })
    }

    fn interrupted(&self, step: u32) -> anyhow::Result<Outcome> {
        self.record_ledger()?;
        self.journal.append(&Event::Interrupted { step })?;
        Ok(Outcome {
            status: "interrupted".into(),
            error: None,
            best: None,
            cycles: None,
            start_cycles: None,
            rechecked: false,
            proposer_calls: self.calls.load(Ordering::SeqCst),
            evaluations: self.evals.load(Ordering::SeqCst),
            truncated_journal_line: None,
        })
    }

    /// One iteration: the new beam, or why there is none.
    fn one_step(&mut self, st: &Step, beam: &[Contender]) -> anyhow::Result<StepEnd> {
        let seed = self.cfg.params.seed;
        let skip_planning = self.cfg.params.skip_planning;
        let feedbacks: HashMap<String, Feedback> = {
            let verdicts = self.lock_verdicts()?;
            beam.iter()
                .filter_map(|c| {
                    verdicts
                        .get(&c.code)
                        .map(|v| (c.code.clone(), feedback::feedback(&self.cfg.hw, v)))
                })
                .collect()
        };
        let mut ancestries: HashMap<String, Vec<AncestorStep>> = HashMap::new();
        for c in beam {
            ancestries.insert(c.code.clone(), self.ancestry(c)?);
        }
        let measured = self.measured()?;
        let ctx = StepCtx {
            st,
            feedbacks: &feedbacks,
            ancestries: &ancestries,
            measured: &measured,
        };
        // ---- plan (N per parent, each with its own menu after dropout) ----
        let mut preqs = Vec::new();
        let mut plan_counter = self.plan_counter;
        for parent in beam {
            for j in 0..st.plans {
                let slot = format!("s{}/p{}/n{j}", st.step, short(&parent.code));
                let rseed = derive_seed(seed, &slot);
                let menu = if st.dropout {
                    dropout(&st.menu, self.cfg.params.keep_prob, rseed)
                } else {
                    st.menu.clone()
                };
                preqs.push(PlanReq {
                    slot,
                    parent: parent.clone(),
                    menu,
                    // One-call answers come from the code models.
                    model: if skip_planning {
                        None
                    } else {
                        Self::next_model(&self.plan_models, &mut plan_counter)
                    },
                    seed: rseed,
                });
            }
        }
        self.plan_counter = plan_counter;
        let jobs = self.cfg.params.proposer_jobs;
        let plans: Vec<Option<PlanOutcome>> = if skip_planning {
            Vec::new()
        } else {
            let pb = self.bar(preqs.len(), format!("{} {} plans", st.phase, st.iteration));
            let this = &*self;
            let plans = parallel_map(&preqs, jobs, |r| {
                let o = this.awaited(&pb, || this.get_plan(r, &ctx, &[]));
                pb.inc(1);
                o
            });
            pb.finish_and_clear();
            plans.into_iter().collect::<anyhow::Result<_>>()?
        };
        if self.stopped() == Some(StopKind::Interrupt) {
            return Ok(StepEnd::Interrupted);
        }
        let (plans, plan_slots) = self.redraw_duplicates(&preqs, plans, &ctx)?;
        // ---- implement (K per plan; with --skip-planning, K one-call answers per prompt) ----
        let mut ireqs = Vec::new();
        let mut impl_counter = self.impl_counter;
        for (i, r) in preqs.iter().enumerate() {
            let kind = if skip_planning {
                ImplKind::Direct {
                    menu: r.menu.clone(),
                }
            } else {
                let Some(Some(PlanOutcome::Ok { plan, hash })) = plans.get(i) else {
                    continue;
                };
                ImplKind::Implement {
                    plan: plan.clone(),
                    plan_hash: hash.clone(),
                }
            };
            let plan_slot = plan_slots.get(i).unwrap_or(&r.slot);
            for k in 0..st.impls {
                let slot = format!("{plan_slot}/k{k}");
                ireqs.push(ImplReq {
                    seed: derive_seed(seed, &slot),
                    slot,
                    plan_slot: plan_slot.clone(),
                    parent: r.parent.clone(),
                    kind: kind.clone(),
                    model: Self::next_model(&self.code_models, &mut impl_counter),
                });
            }
        }
        self.impl_counter = impl_counter;
        let mut progs = self.programs_for(&ireqs, &ctx, "programs")?;
        if self.stopped() == Some(StopKind::Interrupt) {
            return Ok(StepEnd::Interrupted);
        }
        // ---- evaluate ----
        let mut by_code = match self.evaluate_all(st, &progs, "evaluations")? {
            Some(v) => v,
            None => return Ok(StepEnd::Interrupted),
        };
        // ---- repair: each failed candidate goes back to its model once, with its error ----
        if self.cfg.params.repair {
            let mut rreqs = Vec::new();
            for (r, o) in ireqs.iter().zip(&progs) {
                let (failed, error) = match o {
                    Some(ProgOutcome::Ok { code, .. }) => {
                        let Some(v) = by_code.get(code) else { continue };
                        if v.correct && v.failure.is_none() {
                            continue;
                        }
                        let mut error = format!(
                            "{}: {}",
                            v.failure.map_or("incorrect", Failure::name),
                            v.detail.trim()
                        );
                        if error.len() > 6000 {
                            let mut cut = 6000;
                            while !error.is_char_boundary(cut) {
                                cut -= 1;
                            }
                            error.truncate(cut);
                            error.push_str("\n... (cut)");
                        }
                        (Some(code.clone()), error)
                    }
                    Some(ProgOutcome::Failed { class, detail }) if class == "edit" => {
                        (None, detail.clone())
                    }
                    _ => continue,
                };
                let plan = match (r.plan(), o) {
                    (Some((p, h)), _) => Some((p.clone(), h.to_string())),
                    (None, Some(ProgOutcome::Ok { plan: Some(h), .. })) => {
                        let p: Plan = serde_json::from_str(&self.store.get(h, "json")?)
                            .with_context(|| format!("plan {h} in the store is malformed"))?;
                        Some((p, h.clone()))
                    }
                    _ => None,
                };
                let slot = format!("{}/r", r.slot);
                rreqs.push(ImplReq {
                    seed: derive_seed(seed, &slot),
                    slot,
                    plan_slot: r.plan_slot.clone(),
                    parent: r.parent.clone(),
                    kind: ImplKind::Repair {
                        plan,
                        failed,
                        error,
                    },
                    // The model that wrote the candidate fixes it.
                    model: r.model.clone(),
                });
            }
            if !rreqs.is_empty() {
                let rprogs = self.programs_for(&rreqs, &ctx, "repairs")?;
                if self.stopped() == Some(StopKind::Interrupt) {
                    return Ok(StepEnd::Interrupted);
                }
                match self.evaluate_all(st, &rprogs, "repair evaluations")? {
                    Some(v) => by_code.extend(v),
                    None => return Ok(StepEnd::Interrupted),
                }
                ireqs.extend(rreqs);
                progs.extend(rprogs);
            }
        }
        if let Some(why) = proposer_failure(st, &plans, &progs) {
            if self.stopped() != Some(StopKind::Budget) {
                return Ok(StepEnd::ProposerFailed(why));
            }
        }
        // ---- select ----
        let mut children = Vec::new();
        for (r, o) in ireqs.iter().zip(&progs) {
            let Some(ProgOutcome::Ok {
                code,
                plan: answer_plan,
                menu_id: answer_menu,
            }) = o
            else {
                continue;
            };
            let Some(v) = by_code.get(code) else { continue };
            let Some(cycles) = v.cycles.filter(|_| v.correct && v.failure.is_none()) else {
                continue;
            };
            let (plan, menu_id) = match r.plan() {
                Some((p, h)) => (Some(h.to_string()), p.menu_id.clone()),
                None => (answer_plan.clone(), answer_menu.clone()),
            };
            children.push((
                Contender {
                    code: code.clone(),
                    cycles,
                    parent: Some(r.parent.code.clone()),
                    plan_slot: Some(r.plan_slot.clone()),
                    plan,
                    menu_id,
                    step: st.step,
                },
                r.parent.cycles,
            ));
        }
        let next = select::select(beam, &children, st.width, st.allowance);
        for c in &next {
            self.known
                .entry(c.code.clone())
                .or_insert_with(|| c.clone());
        }
        Ok(StepEnd::Beam(next))
    }

    /// Ask for the programs of `reqs` (in parallel, each from the journal when it is there).
    fn programs_for(
        &self,
        reqs: &[ImplReq],
        ctx: &StepCtx<'_>,
        what: &str,
    ) -> anyhow::Result<Vec<Option<ProgOutcome>>> {
        let st = ctx.st;
        let pb = self.bar(reqs.len(), format!("{} {} {what}", st.phase, st.iteration));
        let progs = parallel_map(reqs, self.cfg.params.proposer_jobs, |r| {
            let o = self.awaited(&pb, || self.get_program(r, ctx));
            pb.inc(1);
            o
        });
        pb.finish_and_clear();
        progs.into_iter().collect()
    }

    /// Evaluate every distinct program among `progs`; None when interrupted.
    fn evaluate_all(
        &self,
        st: &Step,
        progs: &[Option<ProgOutcome>],
        what: &str,
    ) -> anyhow::Result<Option<HashMap<String, Verdict>>> {
        let mut codes: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for o in progs.iter().flatten() {
            if let ProgOutcome::Ok { code, .. } = o {
                if seen.insert(code.clone()) {
                    codes.push(code.clone());
                }
            }
        }
        let codes = self.admit(codes)?;
        let pb = self.bar(codes.len(), format!("{} {} {what}", st.phase, st.iteration));
        let items: Vec<EvalItem> = codes
            .iter()
            .map(|c| EvalItem {
                label: c.clone(),
                hash: c.clone(),
                baseline_fsm: None,
            })
            .collect();
        let verdicts = self.evaluate_items(&items, &pb)?;
        pb.finish_and_clear();
        if verdicts.iter().any(Option::is_none) || self.stopped() == Some(StopKind::Interrupt) {
            return Ok(None);
        }
        Ok(Some(
            codes
                .into_iter()
                .zip(verdicts.into_iter().flatten())
                .collect(),
        ))
    }

    /// Re-check the best program on fresh inputs (falling back to the next best), journal the finish.
    fn finish(
        &mut self,
        beam: &[Contender],
        start_cycles: u64,
        status: &str,
        error: Option<String>,
    ) -> anyhow::Result<Outcome> {
        let (mut opts, _) = self.eval_settings();
        let mut winner = None;
        for c in beam {
            let v = match self.rechecks.get(&c.code) {
                Some(v) => v.clone(),
                None => {
                    if self.stopped() == Some(StopKind::Interrupt) {
                        return self.interrupted(u32::MAX);
                    }
                    opts.seed = Some(derive_seed(
                        self.cfg.params.seed ^ 0x5eed,
                        &format!("recheck/{}", c.code),
                    ));
                    let req = EvalRequest {
                        hw: self.cfg.hw.clone(),
                        workload: self.w.clone(),
                        candidate: self.dir.join(STORE_DIR).join(format!("{}.c", c.code)),
                        opts: opts.clone(),
                        cache: None,
                    };
                    let Some(v) = self
                        .exec()
                        .evaluate_all(&[req], self.env.stop)?
                        .pop()
                        .flatten()
                    else {
                        return self.interrupted(u32::MAX);
                    };
                    self.evals.fetch_add(1, Ordering::SeqCst);
                    self.journal.append(&Event::Recheck {
                        code: c.code.clone(),
                        verdict: verdict_to_json(&v),
                    })?;
                    v
                }
            };
            if v.correct && v.failure.is_none() {
                winner = Some(c.clone());
                break;
            }
            eprintln!(
                "warning: program {} failed the re-check on fresh inputs ({}); trying the next best",
                short(&c.code),
                v.failure.map_or("incorrect", Failure::name)
            );
        }
        let mut reason = match &error {
            Some(e) => format!("{status}: {e}"),
            None => status.to_string(),
        };
        if winner.is_none() {
            reason.push_str("; no program passed the re-check on fresh inputs");
        }
        self.record_ledger()?;
        self.journal.append(&Event::Finish {
            best: winner.as_ref().map(|c| c.code.clone()),
            cycles: winner.as_ref().map(|c| c.cycles),
            reason,
            spent_usd: self.spent(),
        })?;
        Ok(Outcome {
            status: status.into(),
            error,
            rechecked: winner.is_some(),
            best: winner.as_ref().map(|c| c.code.clone()),
            cycles: winner.as_ref().map(|c| c.cycles),
            start_cycles: Some(start_cycles),
            proposer_calls: self.calls.load(Ordering::SeqCst),
            evaluations: self.evals.load(Ordering::SeqCst),
            truncated_journal_line: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu(n: usize) -> Vec<MenuItem> {
        (0..n)
            .map(|i| MenuItem {
                id: format!("o{i}"),
                text: format!("option {i}"),
            })
            .collect()
    }

    #[test]
    fn dropout_keeps_p_on_average_and_never_empty() {
        let m = menu(17);
        let mut kept = 0usize;
        let trials = 2000;
        for s in 0..trials {
            let d = dropout(&m, 0.25, derive_seed(7, &format!("t{s}")));
            assert!(!d.is_empty());
            kept += d.len();
        }
        let mean = kept as f64 / (trials as f64 * 17.0);
        assert!((mean - 0.25).abs() < 0.02, "{mean}");
        // Deterministic per seed; different seeds give different menus.
        assert_eq!(dropout(&m, 0.25, 3), dropout(&m, 0.25, 3));
        let all: HashSet<Vec<String>> = (0..20)
            .map(|s| dropout(&m, 0.25, s).into_iter().map(|x| x.id).collect())
            .collect();
        assert!(all.len() > 10);
        // p tiny: exactly one option survives.
        assert_eq!(dropout(&m, 1e-9, 5).len(), 1);
    }

    #[test]
    fn loop_functs_are_8_to_13_and_15_to_21() {
        let want: Vec<u8> = (8..=13).chain(15..=21).collect();
        assert_eq!(loop_functs(), want);
    }
}

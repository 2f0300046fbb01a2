//! Where evaluations run: the executor abstraction under `search`, `bench` and `sweep`.
//!
//! An [`Executor`] takes a list of [`EvalRequest`]s (a candidate file, its workload, the hardware
//! configuration, the evaluation options and, optionally, the verdict cache to fill) and reports one
//! verdict per request as it arrives. [`LocalExecutor`] runs `eval::evaluate` on this machine's cores;
//! [`slurm::SlurmExecutor`] runs batches of requests as Slurm jobs that start the same `gemforge` binary
//! (`gemforge slurm worker BATCH_DIR`, [`worker`]) on a shared directory (docs/cluster.md). Both fill the
//! verdict cache the same way, so a search gives the same answers on either.
//!
//! The settings come from the command line, then environment variables, then an executor file (TOML, an
//! `[executor]` table), then the defaults ([`ExecutorArgs::resolve`]).

pub mod slurm;

use crate::bench::eval::{self, EvalOpts, Failure, Verdict};
use crate::bench::eval_cache::{simulator_version, verdict_from_json, verdict_to_json, EvalCache};
use crate::bench::workload::{self, Workload};
use crate::sim::config::HwConfig;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// One evaluation to run.
#[derive(Debug, Clone)]
pub struct EvalRequest {
    pub hw: HwConfig,
    pub workload: Workload,
    /// The candidate's C file (read by the driver; a cluster job gets a copy of its text).
    pub candidate: PathBuf,
    pub opts: EvalOpts,
    /// Store the verdict in this cache under the key of these settings (see [`EvalCache::key`]).
    pub cache: Option<CacheSlot>,
}

/// Where a request's verdict is cached: the cache and the settings string of its key.
#[derive(Debug, Clone)]
pub struct CacheSlot {
    pub cache: EvalCache,
    pub settings: String,
}

/// Counts of one executor's work, for the end-of-run line and the measurements of docs/cluster.md.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct ExecStats {
    /// Verdicts delivered (each request exactly once).
    pub evaluations: usize,
    /// Cluster jobs started (0 on the local executor).
    pub jobs: usize,
    /// Jobs that failed, were cancelled, timed out or lost their node.
    pub failed_jobs: usize,
    /// Requests sent again after their job failed.
    pub retried: usize,
    /// Requests that became [`Failure::JobFailed`] after their last try.
    pub gave_up: usize,
    /// Wall seconds of the jobs, from submission to exit, summed.
    pub job_wall_s: f64,
    /// Wall seconds the jobs spent evaluating (inside the worker), summed.
    pub job_eval_s: f64,
}

impl ExecStats {
    /// The share of job time not spent evaluating (queueing, start-up, reading the batch).
    pub fn overhead_share(&self) -> Option<f64> {
        (self.job_wall_s > 0.0).then(|| (1.0 - self.job_eval_s / self.job_wall_s).max(0.0))
    }

    /// One line for people: "slurm: 12 evaluations in 3 jobs (overhead 0.40 s per job, 6.1% of job time)".
    pub fn summary(&self, executor: &str) -> String {
        let mut s = format!("{executor}: {} evaluations", self.evaluations);
        if self.jobs > 0 {
            s.push_str(&format!(" in {} jobs", self.jobs));
            if let Some(o) = self.overhead_share() {
                s.push_str(&format!(
                    " (overhead {:.2} s per job, {:.1}% of job time)",
                    (self.job_wall_s - self.job_eval_s).max(0.0) / self.jobs as f64,
                    o * 100.0
                ));
            }
        }
        if self.failed_jobs > 0 {
            s.push_str(&format!(
                "; {} jobs failed, {} evaluations retried, {} gave up",
                self.failed_jobs, self.retried, self.gave_up
            ));
        }
        s
    }
}

/// Runs evaluations somewhere.
pub trait Executor: Send + Sync {
    /// "local" or "slurm".
    fn name(&self) -> &'static str;

    /// Evaluate every request, calling `done(i, verdict)` once per request as its verdict arrives (from
    /// any thread). Returns when every request has its verdict, or early once `stop` is set: then no new
    /// work starts, outstanding cluster jobs are cancelled, and the requests without a verdict get none.
    /// Err only when the executor itself cannot work (e.g. the shared directory is not writable); a failed
    /// job is a [`Failure::JobFailed`] verdict of its requests after the last try.
    fn evaluate(
        &self,
        reqs: &[EvalRequest],
        stop: &AtomicBool,
        done: &(dyn Fn(usize, Verdict) + Sync),
    ) -> anyhow::Result<()>;

    /// What it has done so far.
    fn stats(&self) -> ExecStats;

    /// [`Executor::evaluate`] collected in request order (None: not evaluated because `stop` was set).
    fn evaluate_all(
        &self,
        reqs: &[EvalRequest],
        stop: &AtomicBool,
    ) -> anyhow::Result<Vec<Option<Verdict>>> {
        let out = Mutex::new(vec![None; reqs.len()]);
        self.evaluate(reqs, stop, &|i, v| {
            if let Ok(mut o) = out.lock() {
                o[i] = Some(v);
            }
        })?;
        out.into_inner()
            .map_err(|_| anyhow::anyhow!("an evaluation thread panicked"))
    }
}

/// Evaluates one request on this machine and fills its cache slot: what the local executor and a cluster
/// worker both do, so that their verdicts and cache entries are the same.
pub fn evaluate_here(req: &EvalRequest, candidate: &Path) -> Verdict {
    let v = eval::evaluate(&req.hw, &req.workload, candidate, &req.opts);
    if let Some(slot) = &req.cache {
        match std::fs::read_to_string(candidate) {
            Ok(text) => {
                let key = EvalCache::key(&text, &req.workload, &req.hw, &slot.settings);
                if let Err(e) = slot.cache.put(&key, &v) {
                    eprintln!("warning: the verdict cache: {e:#}");
                }
            }
            Err(e) => eprintln!(
                "warning: not caching the verdict on {}: {e}",
                candidate.display()
            ),
        }
    }
    v
}

/// Evaluations on this machine's cores.
pub struct LocalExecutor {
    jobs: usize,
    evaluations: AtomicUsize,
}

impl LocalExecutor {
    /// `jobs` concurrent evaluations (0: one per core).
    pub fn new(jobs: usize) -> LocalExecutor {
        let jobs = match jobs {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        LocalExecutor {
            jobs,
            evaluations: AtomicUsize::new(0),
        }
    }
}

impl Executor for LocalExecutor {
    fn name(&self) -> &'static str {
        "local"
    }

    fn evaluate(
        &self,
        reqs: &[EvalRequest],
        stop: &AtomicBool,
        done: &(dyn Fn(usize, Verdict) + Sync),
    ) -> anyhow::Result<()> {
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..self.jobs.clamp(1, reqs.len().max(1)) {
                s.spawn(|| loop {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(r) = reqs.get(i) else { break };
                    let v = evaluate_here(r, &r.candidate);
                    self.evaluations.fetch_add(1, Ordering::SeqCst);
                    done(i, v);
                });
            }
        });
        Ok(())
    }

    fn stats(&self) -> ExecStats {
        ExecStats {
            evaluations: self.evaluations.load(Ordering::SeqCst),
            ..ExecStats::default()
        }
    }
}

/// Which executor.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    /// This machine's cores.
    #[default]
    Local,
    /// Slurm jobs on a cluster, through a shared directory.
    Slurm,
}

impl ExecutorKind {
    fn parse(s: &str) -> anyhow::Result<ExecutorKind> {
        match s.trim() {
            "local" => Ok(ExecutorKind::Local),
            "slurm" => Ok(ExecutorKind::Slurm),
            other => bail!("unknown executor `{other}` (local or slurm)"),
        }
    }
}

/// The executor options of `search`, `bench` and `sweep`. Each falls back to an environment variable, then
/// to the executor file, then to its default.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ExecutorArgs {
    /// Where evaluations run: local (this machine's cores) or slurm (jobs on a cluster; docs/cluster.md)
    /// [default: $GEMFORGE_EXECUTOR, else the executor file, else local].
    #[arg(long, value_enum)]
    pub executor: Option<ExecutorKind>,
    /// With slurm: a directory on the cluster's shared filesystem for the verdict, compile and RTL-variant
    /// caches and the jobs' inputs and outputs [default: $GEMFORGE_SHARED_DIR, else the executor file].
    #[arg(long, value_name = "DIR")]
    pub shared_dir: Option<PathBuf>,
    /// With slurm: the partition of the jobs [default: $GEMFORGE_SLURM_PARTITION, else the cluster's].
    #[arg(long, value_name = "NAME")]
    pub partition: Option<String>,
    /// With slurm: the account the jobs are charged to [default: $GEMFORGE_SLURM_ACCOUNT, else yours].
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// With slurm: the time limit of each job, in Slurm's format (30, 1:00:00, 1-0) [default:
    /// $GEMFORGE_SLURM_TIME_LIMIT, else the partition's].
    #[arg(long, value_name = "TIME")]
    pub time_limit: Option<String>,
    /// With slurm: CPUs of each job; a job evaluates that many programs at once [default: 1].
    #[arg(long, value_name = "N")]
    pub cpus_per_task: Option<u32>,
    /// With slurm: one more argument for each job's submission, e.g. --sbatch-arg=--qos=short (repeatable;
    /// jobs are started with srun, which takes sbatch's job options).
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_args: Vec<String>,
    /// With slurm: tries of an evaluation whose job failed, was cancelled, timed out or lost its node
    /// before it is a job_failed verdict [default: 3].
    #[arg(long, value_name = "N")]
    pub max_tries: Option<u32>,
    /// With slurm: evaluations per job [default: sized from measured times so that the scheduling
    /// overhead stays under 10% of each job's time].
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// The executor file: TOML with an [executor] table of these settings [default:
    /// $GEMFORGE_EXECUTOR_CONFIG, else ~/.config/gemforge/executor.toml when it exists].
    #[arg(long, value_name = "FILE")]
    pub executor_config: Option<PathBuf>,
}

/// The `[executor]` table of an executor file.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    executor: Option<String>,
    shared_dir: Option<PathBuf>,
    partition: Option<String>,
    account: Option<String>,
    time_limit: Option<String>,
    cpus_per_task: Option<u32>,
    #[serde(default)]
    sbatch_args: Vec<String>,
    max_tries: Option<u32>,
    batch_size: Option<usize>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecutorFile {
    executor: FileSettings,
}

/// Resolved Slurm settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SlurmSettings {
    /// Absolute.
    pub shared_dir: PathBuf,
    pub partition: Option<String>,
    pub account: Option<String>,
    pub time_limit: Option<String>,
    pub cpus_per_task: u32,
    pub extra_args: Vec<String>,
    pub max_tries: u32,
    /// None: sized from measurements.
    pub batch_size: Option<usize>,
}

impl SlurmSettings {
    /// Defaults around a shared directory (made absolute against the current directory).
    pub fn new(shared_dir: &Path) -> anyhow::Result<SlurmSettings> {
        let shared_dir = if shared_dir.is_absolute() {
            shared_dir.to_path_buf()
        } else {
            std::env::current_dir()
                .context("the current directory (to make --shared-dir absolute)")?
                .join(shared_dir)
        };
        Ok(SlurmSettings {
            shared_dir,
            partition: None,
            account: None,
            time_limit: None,
            cpus_per_task: 1,
            extra_args: Vec::new(),
            max_tries: 3,
            batch_size: None,
        })
    }

    /// The cache directory every process of a Slurm run uses: `SHARED/cache`.
    pub fn cache_dir(&self) -> PathBuf {
        self.shared_dir.join("cache")
    }
}

/// What [`ExecutorArgs::resolve`] decided.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecutorSettings {
    Local,
    Slurm(SlurmSettings),
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The default executor file: $XDG_CONFIG_HOME/gemforge/executor.toml or ~/.config/gemforge/executor.toml.
fn default_file() -> Option<PathBuf> {
    let base = env_var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| env_var("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("gemforge").join("executor.toml"))
}

impl ExecutorArgs {
    /// The settings: each from the command line, else its environment variable, else the executor file,
    /// else the default. Slurm-only options with the local executor are refused when given on the command
    /// line (a file may hold them for later).
    pub fn resolve(&self) -> anyhow::Result<ExecutorSettings> {
        let file_path = self
            .executor_config
            .clone()
            .or_else(|| env_var("GEMFORGE_EXECUTOR_CONFIG").map(PathBuf::from));
        let file = match &file_path {
            Some(p) => read_file(p)?,
            None => match default_file().filter(|p| p.is_file()) {
                Some(p) => read_file(&p)?,
                None => FileSettings::default(),
            },
        };
        let kind = match (self.executor, env_var("GEMFORGE_EXECUTOR"), &file.executor) {
            (Some(k), _, _) => k,
            (None, Some(e), _) => ExecutorKind::parse(&e).context("$GEMFORGE_EXECUTOR")?,
            (None, None, Some(f)) => ExecutorKind::parse(f).context("the executor file")?,
            (None, None, None) => ExecutorKind::Local,
        };
        if kind == ExecutorKind::Local {
            let given: Vec<&str> = [
                ("--shared-dir", self.shared_dir.is_some()),
                ("--partition", self.partition.is_some()),
                ("--account", self.account.is_some()),
                ("--time-limit", self.time_limit.is_some()),
                ("--cpus-per-task", self.cpus_per_task.is_some()),
                ("--sbatch-arg", !self.sbatch_args.is_empty()),
                ("--max-tries", self.max_tries.is_some()),
                ("--batch-size", self.batch_size.is_some()),
            ]
            .into_iter()
            .filter(|(_, g)| *g)
            .map(|(n, _)| n)
            .collect();
            if !given.is_empty() {
                bail!(
                    "{} {} for --executor slurm; the executor is local (set --executor slurm, \
                     $GEMFORGE_EXECUTOR or `executor = \"slurm\"` in the executor file)",
                    given.join(", "),
                    if given.len() == 1 { "is" } else { "are" }
                );
            }
            return Ok(ExecutorSettings::Local);
        }
        let shared = self
            .shared_dir
            .clone()
            .or_else(|| env_var("GEMFORGE_SHARED_DIR").map(PathBuf::from))
            .or(file.shared_dir)
            .context(
                "--executor slurm needs a directory on the cluster's shared filesystem: --shared-dir DIR, \
                 $GEMFORGE_SHARED_DIR or shared_dir in the executor file (docs/cluster.md)",
            )?;
        let mut s = SlurmSettings::new(&shared)?;
        s.partition = self
            .partition
            .clone()
            .or_else(|| env_var("GEMFORGE_SLURM_PARTITION"))
            .or(file.partition);
        s.account = self
            .account
            .clone()
            .or_else(|| env_var("GEMFORGE_SLURM_ACCOUNT"))
            .or(file.account);
        s.time_limit = self
            .time_limit
            .clone()
            .or_else(|| env_var("GEMFORGE_SLURM_TIME_LIMIT"))
            .or(file.time_limit);
        s.cpus_per_task = self.cpus_per_task.or(file.cpus_per_task).unwrap_or(1);
        s.extra_args = if self.sbatch_args.is_empty() {
            file.sbatch_args
        } else {
            self.sbatch_args.clone()
        };
        s.max_tries = self.max_tries.or(file.max_tries).unwrap_or(3);
        s.batch_size = self.batch_size.or(file.batch_size);
        if s.cpus_per_task == 0 {
            bail!("--cpus-per-task must be at least 1");
        }
        if s.max_tries == 0 {
            bail!("--max-tries must be at least 1");
        }
        if s.batch_size == Some(0) {
            bail!("--batch-size must be at least 1");
        }
        if let Some(t) = &s.time_limit {
            slurm::check_time_limit(t)?;
        }
        Ok(ExecutorSettings::Slurm(s))
    }
}

fn read_file(p: &Path) -> anyhow::Result<FileSettings> {
    let text = std::fs::read_to_string(p)
        .with_context(|| format!("reading the executor file {}", p.display()))?;
    let f: ExecutorFile = toml::from_str(&text).with_context(|| {
        format!(
            "the executor file {}: expected an [executor] table with executor, shared_dir, partition, \
             account, time_limit, cpus_per_task, sbatch_args, max_tries, batch_size",
            p.display()
        )
    })?;
    Ok(f.executor)
}

impl ExecutorSettings {
    /// Prepare this process for the executor and build it. With slurm the cache directory of this process
    /// becomes `SHARED/cache` ($GEMFORGE_CACHE_DIR), so that the driver and every job share the compile,
    /// RTL-variant and verdict caches; call this before any other thread starts. `jobs`: concurrent
    /// evaluations (0: one per core locally; with slurm, the partition's CPUs).
    pub fn build(&self, jobs: usize) -> anyhow::Result<Box<dyn Executor>> {
        match self {
            ExecutorSettings::Local => Ok(Box::new(LocalExecutor::new(jobs))),
            ExecutorSettings::Slurm(s) => {
                let cache = s.cache_dir();
                std::fs::create_dir_all(&cache).with_context(|| {
                    format!(
                        "creating {} in the shared directory (--shared-dir)",
                        cache.display()
                    )
                })?;
                std::env::set_var("GEMFORGE_CACHE_DIR", &cache);
                Ok(Box::new(slurm::SlurmExecutor::new(s.clone(), jobs)?))
            }
        }
    }
}

// ---- the wire format between a driver and its cluster jobs ----

/// A batch file (`BATCH_DIR/batch.json`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct WireBatch {
    /// The driver's simulator version: a job on another binary refuses to judge.
    pub simulator_version: String,
    /// The shared cache directory (compiled programs, RTL variants): the worker's $GEMFORGE_CACHE_DIR
    /// whatever environment the job got.
    pub cache_dir: PathBuf,
    pub requests: Vec<WireRequest>,
}

/// One request of a batch.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct WireRequest {
    /// The request's index in the driver's list.
    pub index: usize,
    pub hw: HwConfig,
    pub workload: String,
    /// The workload as the driver knows it: the worker's catalogue must agree.
    pub workload_json: serde_json::Value,
    /// The candidate's file name inside the batch directory.
    pub candidate: String,
    pub screen_runs: u32,
    pub rtl: bool,
    pub seed: Option<u64>,
    pub max_cycles: Option<u64>,
    pub forbidden_functs: Vec<u8>,
    /// The verdict cache and the settings of the key.
    pub cache: Option<(PathBuf, String)>,
}

/// A verdict file (`BATCH_DIR/out/INDEX.json`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct WireVerdict {
    pub verdict: serde_json::Value,
    pub seconds: f64,
}

/// The worker's own account (`BATCH_DIR/worker.json`), written last.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct WireWorker {
    pub host: String,
    pub simulator_version: String,
    pub threads: usize,
    /// Wall seconds from reading the batch to the last verdict.
    pub eval_wall_s: f64,
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".to_string())
}

/// `gemforge slurm worker BATCH_DIR`: evaluates every request of the batch (on $SLURM_CPUS_PER_TASK
/// threads), writing each verdict atomically to `out/INDEX.json` as it is ready and filling the shared
/// verdict cache, then `worker.json`. A request whose verdict file exists already is skipped. Err when
/// the batch cannot be read or a verdict cannot be written (the job then fails and the driver retries).
pub fn worker(batch_dir: &Path) -> anyhow::Result<usize> {
    let t0 = std::time::Instant::now();
    if let Some(id) = env_var("SLURM_JOB_ID") {
        // For the driver's messages about this job.
        let _ = crate::store::write_atomic(&batch_dir.join("job"), id.as_bytes());
    }
    let path = batch_dir.join("batch.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (is the shared directory mounted on this node?)",
            path.display()
        )
    })?;
    let batch: WireBatch =
        serde_json::from_str(&text).with_context(|| format!("decoding {}", path.display()))?;
    // Still one thread here: the caches of this process are the shared ones.
    std::env::set_var("GEMFORGE_CACHE_DIR", &batch.cache_dir);
    let ours = simulator_version();
    let same_binary = batch.simulator_version == ours;
    let threads = env_var("SLURM_CPUS_PER_TASK")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, batch.requests.len().max(1));
    let out_dir = batch_dir.join("out");
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let next = AtomicUsize::new(0);
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(r) = batch.requests.get(i) else {
                    break;
                };
                let out = out_dir.join(format!("{}.json", r.index));
                if out.is_file() {
                    continue;
                }
                let t = std::time::Instant::now();
                let v = worker_one(batch_dir, r, same_binary, &batch.simulator_version, ours);
                let wire = WireVerdict {
                    verdict: verdict_to_json(&v),
                    seconds: t.elapsed().as_secs_f64(),
                };
                let written = serde_json::to_vec(&wire)
                    .map_err(anyhow::Error::from)
                    .and_then(|b| Ok(crate::store::write_atomic(&out, &b)?));
                if let Err(e) = written {
                    if let Ok(mut errs) = errors.lock() {
                        errs.push(format!("{}: {e:#}", out.display()));
                    }
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap_or_default();
    if !errors.is_empty() {
        bail!("writing verdicts: {}", errors.join("; "));
    }
    let me = WireWorker {
        host: host_name(),
        simulator_version: ours.to_string(),
        threads,
        eval_wall_s: t0.elapsed().as_secs_f64(),
    };
    crate::store::write_atomic(&batch_dir.join("worker.json"), &serde_json::to_vec(&me)?)?;
    Ok(batch.requests.len())
}

/// One request on the worker: refuse when the binaries differ or the workload is not the driver's, else
/// evaluate here (filling the cache).
fn worker_one(
    batch_dir: &Path,
    r: &WireRequest,
    same_binary: bool,
    theirs: &str,
    ours: &str,
) -> Verdict {
    let hw = &r.hw;
    let Some(w) = workload::by_name(&r.workload) else {
        return Verdict {
            workload: r.workload.clone(),
            correct: false,
            cycles: None,
            ideal_cycles: 0,
            memory_floor_cycles: 0,
            utilization: None,
            failure: Some(Failure::HostError),
            detail: format!(
                "the worker on {} does not know the workload `{}`: the node runs another gemforge",
                host_name(),
                r.workload
            ),
            sp_rows_used: None,
            acc_rows_used: None,
            acc_rows_computed: None,
            counters: Default::default(),
        };
    };
    if !same_binary {
        return Verdict::failed(
            hw,
            &w,
            Failure::HostError,
            format!(
                "the worker on {} runs another gemforge than the driver ({ours} against {theirs}): put \
                 the driver's binary on the shared filesystem so that every node runs it",
                host_name()
            ),
        );
    }
    if serde_json::to_value(&w).ok().as_ref() != Some(&r.workload_json) {
        return Verdict::failed(
            hw,
            &w,
            Failure::HostError,
            format!(
                "the worker's workload `{}` differs from the driver's",
                r.workload
            ),
        );
    }
    let req = EvalRequest {
        hw: hw.clone(),
        workload: w,
        candidate: batch_dir.join(&r.candidate),
        opts: EvalOpts {
            screen_runs: r.screen_runs,
            rtl: r.rtl,
            seed: r.seed,
            max_cycles: r.max_cycles,
            cache_dir: None,
            forbidden_functs: r.forbidden_functs.clone(),
        },
        cache: r.cache.as_ref().map(|(dir, settings)| CacheSlot {
            cache: EvalCache::new(dir),
            settings: settings.clone(),
        }),
    };
    evaluate_here(&req, &req.candidate)
}

/// Reads a verdict file of a batch.
pub(crate) fn read_verdict(path: &Path) -> anyhow::Result<(Verdict, f64)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let w: WireVerdict =
        serde_json::from_str(&text).with_context(|| format!("decoding {}", path.display()))?;
    Ok((verdict_from_json(&w.verdict)?, w.seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ExecutorArgs {
        ExecutorArgs {
            executor_config: Some(PathBuf::from("/dev/null")),
            ..ExecutorArgs::default()
        }
    }

    #[test]
    fn local_is_the_default_and_refuses_slurm_options() {
        // /dev/null is an empty executor file: no [executor] table is an error naming the file.
        let e = args().resolve().unwrap_err();
        assert!(format!("{e:#}").contains("/dev/null"), "{e:#}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("executor.toml");
        std::fs::write(&f, "[executor]\n").unwrap();
        let a = ExecutorArgs {
            executor_config: Some(f.clone()),
            ..ExecutorArgs::default()
        };
        if env_var("GEMFORGE_EXECUTOR").is_none() {
            assert_eq!(a.resolve().unwrap(), ExecutorSettings::Local);
            let e = ExecutorArgs {
                partition: Some("gpu".into()),
                ..a.clone()
            }
            .resolve()
            .unwrap_err()
            .to_string();
            assert!(e.contains("--partition is for --executor slurm"), "{e}");
        }
        // The file's settings apply under the command line's.
        std::fs::write(
            &f,
            "[executor]\nexecutor = \"slurm\"\nshared_dir = \"/scratch/gf\"\npartition = \"cpu\"\n\
             time_limit = \"10:00\"\nsbatch_args = [\"--qos=short\"]\nmax_tries = 5\n",
        )
        .unwrap();
        let s = ExecutorArgs {
            executor: Some(ExecutorKind::Slurm),
            partition: Some("debug".into()),
            ..a.clone()
        }
        .resolve()
        .unwrap();
        let ExecutorSettings::Slurm(s) = s else {
            panic!("{s:?}")
        };
        if env_var("GEMFORGE_SHARED_DIR").is_none() {
            assert_eq!(s.shared_dir, PathBuf::from("/scratch/gf"));
        }
        if env_var("GEMFORGE_SLURM_PARTITION").is_none() {
            assert_eq!(s.partition.as_deref(), Some("debug"));
        }
        assert_eq!(s.extra_args, vec!["--qos=short".to_string()]);
        assert_eq!(s.max_tries, 5);
        assert_eq!(s.cpus_per_task, 1);
        // Unknown keys and bad values are named.
        std::fs::write(&f, "[executor]\nexecutr = \"slurm\"\n").unwrap();
        let e = format!("{:#}", a.resolve().unwrap_err());
        assert!(e.contains("executr"), "{e}");
        std::fs::write(&f, "[executor]\nexecutor = \"pbs\"\n").unwrap();
        if env_var("GEMFORGE_EXECUTOR").is_none() {
            let e = format!("{:#}", a.resolve().unwrap_err());
            assert!(e.contains("unknown executor `pbs`"), "{e}");
        }
        std::fs::write(&f, "[executor]\nexecutor = \"slurm\"\n").unwrap();
        if env_var("GEMFORGE_EXECUTOR").is_none() && env_var("GEMFORGE_SHARED_DIR").is_none() {
            let e = format!("{:#}", a.resolve().unwrap_err());
            assert!(e.contains("--shared-dir"), "{e}");
        }
        let e = ExecutorArgs {
            executor: Some(ExecutorKind::Slurm),
            shared_dir: Some("/tmp/x".into()),
            time_limit: Some("ten minutes".into()),
            ..a.clone()
        }
        .resolve()
        .unwrap_err()
        .to_string();
        assert!(e.contains("ten minutes"), "{e}");
    }

    #[test]
    fn stats_summarise_overhead_and_failures() {
        let s = ExecStats {
            evaluations: 10,
            jobs: 2,
            failed_jobs: 1,
            retried: 3,
            gave_up: 0,
            job_wall_s: 20.0,
            job_eval_s: 18.0,
        };
        let line = s.summary("slurm");
        assert!(line.contains("10 evaluations in 2 jobs"), "{line}");
        assert!(line.contains("overhead 1.00 s per job, 10.0%"), "{line}");
        assert!(
            line.contains("1 jobs failed, 3 evaluations retried"),
            "{line}"
        );
        assert_eq!(ExecStats::default().overhead_share(), None);
    }
}

//! The Slurm executor: evaluations as Slurm jobs on a cluster, through a shared directory.
//!
//! The driver keeps a pool of `srun` jobs (docs/cluster.md says why srun and not job arrays: on the
//! measured cluster a job array's tasks started seconds later than an srun's job). Each job runs the
//! driver's own binary, `gemforge slurm worker BATCH_DIR`, on a batch of requests written to
//! `SHARED/jobs/RUN/bN/` (`batch.json` and the candidates' texts); the worker writes each verdict
//! atomically to `out/INDEX.json` and into the shared verdict cache. Batches are sized from measured
//! times so that a job's overhead (queueing, start-up) stays under 10% of its time.
//!
//! Faults: when a job fails, is cancelled, times out or loses its node, its requests without a verdict
//! file go back to the queue; after `max_tries` tries a request is a `job_failed` verdict. Each request's
//! verdict is delivered once, from the first verdict file read, so none is lost or counted twice. When the
//! stop flag is set (Ctrl-C) the run's jobs are cancelled with `scancel --name` and the verdicts already
//! written are delivered. The sruns die with the driver (PR_SET_PDEATHSIG), and the verdict cache lets a
//! resumed driver skip everything a finished job judged.

use super::{read_verdict, CacheSlot, EvalRequest, ExecStats, Executor, SlurmSettings, WireBatch};
use super::{WireRequest, WireWorker};
use crate::bench::eval::{Failure, Verdict};
use crate::bench::eval_cache::simulator_version;
use anyhow::{bail, Context};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often the driver looks at its jobs.
const POLL: Duration = Duration::from_millis(40);
/// The longest job the automatic batch size aims for when there is no time limit.
const MAX_JOB_S: f64 = 600.0;
/// Overhead share the automatic batch size stays under.
const MAX_OVERHEAD: f64 = 0.10;

/// Parses a Slurm time limit ("minutes", "minutes:seconds", "hours:minutes:seconds", "days-hours",
/// "days-hours:minutes", "days-hours:minutes:seconds", or UNLIMITED/INFINITE) into seconds (None:
/// unlimited). Err names the value and the accepted forms.
pub fn check_time_limit(t: &str) -> anyhow::Result<Option<u64>> {
    let bad = || {
        anyhow::anyhow!(
            "--time-limit `{t}` is not a Slurm time: use minutes (30), minutes:seconds, \
             hours:minutes:seconds, days-hours, days-hours:minutes or days-hours:minutes:seconds"
        )
    };
    let t = t.trim();
    if t.eq_ignore_ascii_case("unlimited") || t.eq_ignore_ascii_case("infinite") {
        return Ok(None);
    }
    let num = |s: &str| -> anyhow::Result<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 9 {
            return Err(bad());
        }
        s.parse::<u64>().map_err(|_| bad())
    };
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (Some(num(d)?), r),
        None => (None, t),
    };
    let parts: Vec<u64> = rest.split(':').map(num).collect::<anyhow::Result<_>>()?;
    let secs = match (days, parts.as_slice()) {
        (None, [m]) => m * 60,
        (None, [m, s]) => m * 60 + s,
        (None, [h, m, s]) => h * 3600 + m * 60 + s,
        (Some(d), [h]) => d * 86400 + h * 3600,
        (Some(d), [h, m]) => d * 86400 + h * 3600 + m * 60,
        (Some(d), [h, m, s]) => d * 86400 + h * 3600 + m * 60 + s,
        _ => return Err(bad()),
    };
    if secs == 0 {
        return Err(bad());
    }
    Ok(Some(secs))
}

/// Whether a program is on PATH.
fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| {
            let p = d.join(name);
            p.is_file()
        })
    })
}

fn run_text(cmd: &mut Command) -> Result<String, String> {
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
            Err(if err.is_empty() {
                format!("exit status {}", o.status)
            } else {
                err
            })
        }
        Err(e) => Err(e.to_string()),
    }
}

/// A partition as sinfo shows it.
struct Partition {
    nodes: u64,
    /// CPUs of the nodes that are up.
    cpus: u64,
    /// (state, node count) per sinfo line.
    states: Vec<(String, u64)>,
}

/// The partition's nodes from sinfo. Err is a message for people.
fn partition_info(s: &SlurmSettings) -> Result<Partition, String> {
    if !on_path("sinfo") || !on_path("srun") {
        return Err(
            "sinfo or srun is not on PATH: Slurm's client commands are not installed on this host \
             (Debian: apt-get install slurm-client; a one-node cluster for trying: scripts/slurm-local.sh)"
                .into(),
        );
    }
    if on_path("munge") {
        let ok = Command::new("munge")
            .arg("-n")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        match ok {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                return Err(format!(
                    "munge cannot make a credential ({}): munged is not running on this host, and Slurm \
                     authenticates with it (start munged; on the one-node cluster, scripts/slurm-local.sh)",
                    String::from_utf8_lossy(&o.stderr).trim()
                ))
            }
            Err(e) => return Err(format!("running munge -n: {e}")),
        }
    }
    let mut cmd = Command::new("sinfo");
    cmd.args(["-h", "-o", "%P|%a|%D|%t|%C"]);
    if let Some(p) = &s.partition {
        cmd.arg(format!("--partition={p}"));
    }
    let out = run_text(&mut cmd).map_err(|e| {
        format!("sinfo failed: {e} (is slurmctld running and reachable from this host?)")
    })?;
    let mut nodes = 0;
    let mut cpus = 0;
    let mut states: Vec<(String, u64)> = Vec::new();
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('|').collect();
        let [part, avail, n, state, c] = f.as_slice() else {
            return Err(format!("unexpected sinfo line `{line}`"));
        };
        if s.partition.is_none() && !part.ends_with('*') {
            continue; // only the default partition when none is named
        }
        if *avail != "up" {
            continue;
        }
        let n: u64 = n.parse().unwrap_or(0);
        nodes += n;
        // %C is allocated/idle/other/total.
        let usable = matches!(
            state.trim_end_matches(['*', '~', '#', '!', '%', '$', '@', '^', '-']),
            "idle" | "mix" | "alloc" | "comp" | "resv" | "plnd"
        );
        if usable {
            cpus += c
                .split('/')
                .nth(3)
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(0);
        }
        states.push((state.to_string(), n));
    }
    if states.is_empty() {
        return Err(match &s.partition {
            Some(p) => {
                format!("sinfo shows no partition `{p}` that is up (sinfo lists the partitions)")
            }
            None => "sinfo shows no default partition that is up: name one with --partition".into(),
        });
    }
    if cpus == 0 {
        let list: Vec<String> = states.iter().map(|(s, n)| format!("{n} {s}")).collect();
        return Err(format!(
            "no usable node in the partition (nodes: {}): every node is down, drained or failing",
            list.join(", ")
        ));
    }
    Ok(Partition {
        nodes,
        cpus,
        states,
    })
}

/// One job of the pool.
struct Job {
    child: Child,
    dir: PathBuf,
    batch: Vec<usize>,
    started: Instant,
}

/// What the driver knows about a request.
struct Slot {
    text: Option<String>,
    tries: u32,
    why: Vec<String>,
    delivered: bool,
}

/// Running means that size the batches.
#[derive(Default)]
struct Estimates {
    overhead_s: f64,
    jobs: usize,
    eval_s: f64,
    evals: usize,
}

impl Estimates {
    /// Per-job overhead and per-evaluation seconds, with guesses before anything was measured.
    fn get(&self) -> (f64, f64) {
        let o = if self.jobs == 0 {
            0.5
        } else {
            self.overhead_s / self.jobs as f64
        };
        let e = if self.evals == 0 {
            1.0
        } else {
            (self.eval_s / self.evals as f64).max(0.01)
        };
        (o, e)
    }
}

/// Evaluations as Slurm jobs.
pub struct SlurmExecutor {
    s: SlurmSettings,
    max_jobs: usize,
    exe: PathBuf,
    /// The job name of every job of this driver (scancel --name cancels them all).
    name: String,
    time_limit_s: Option<u64>,
    runs: AtomicUsize,
    stats: Mutex<ExecStats>,
    est: Mutex<Estimates>,
}

impl SlurmExecutor {
    /// An executor on the cluster `s` describes; `jobs` concurrent evaluations (0: the partition's CPUs).
    /// Err says why the cluster is unusable.
    pub fn new(s: SlurmSettings, jobs: usize) -> anyhow::Result<SlurmExecutor> {
        let cpus = partition_info(&s).map_err(anyhow::Error::msg)?.cpus;
        let per = u64::from(s.cpus_per_task);
        let max_jobs = match jobs {
            0 => cpus / per,
            n => (n as u64).div_ceil(per),
        }
        .clamp(1, 1024) as usize;
        let exe = std::env::current_exe().context("the path of the running gemforge")?;
        let time_limit_s = match &s.time_limit {
            Some(t) => check_time_limit(t)?,
            None => None,
        };
        let nonce = crate::store::sha256_hex(
            format!("{:?} {}", Instant::now(), std::process::id()).as_bytes(),
        );
        let name = format!("gemforge-{}-{}", std::process::id(), &nonce[..8]);
        Ok(SlurmExecutor {
            s,
            max_jobs,
            exe,
            name,
            time_limit_s,
            runs: AtomicUsize::new(0),
            stats: Mutex::new(ExecStats::default()),
            est: Mutex::new(Estimates::default()),
        })
    }

    /// The Slurm job name of this driver's jobs.
    pub fn job_name(&self) -> &str {
        &self.name
    }

    /// Concurrent jobs.
    pub fn max_jobs(&self) -> usize {
        self.max_jobs
    }

    /// Evaluations per job: the fixed --batch-size, or the number that keeps the measured per-job
    /// overhead under 10% of the job's time, at least an even share of the queue over the pool and at
    /// most what fits in half the time limit (or ten minutes).
    fn batch_len(&self, queued: usize) -> usize {
        if let Some(b) = self.s.batch_size {
            return b.min(queued).max(1);
        }
        let (o, e) = self.est.lock().map(|e| e.get()).unwrap_or((0.5, 1.0));
        let c = self.s.cpus_per_task as usize;
        let min_per_cpu = ((1.0 - MAX_OVERHEAD) / MAX_OVERHEAD * o / e)
            .ceil()
            .max(1.0) as usize;
        let longest = self.time_limit_s.map_or(MAX_JOB_S, |t| t as f64 / 2.0);
        let cap_per_cpu = ((longest / e).floor() as usize).max(min_per_cpu);
        let even_per_cpu = queued.div_ceil(self.max_jobs).div_ceil(c);
        let per_cpu = even_per_cpu.clamp(min_per_cpu, cap_per_cpu);
        (per_cpu * c).min(queued).max(1)
    }

    /// srun for one batch directory: the job runs `gemforge slurm worker DIR`.
    fn srun(&self, dir: &Path) -> std::io::Result<Child> {
        use std::os::unix::process::CommandExt;
        let out = std::fs::File::create(dir.join("srun.out"))?;
        let err = std::fs::File::create(dir.join("srun.err"))?;
        let mut cmd = Command::new("srun");
        cmd.arg(format!("--job-name={}", self.name))
            .args(["--ntasks=1", "--nodes=1"])
            .arg(format!("--cpus-per-task={}", self.s.cpus_per_task));
        if let Some(p) = &self.s.partition {
            cmd.arg(format!("--partition={p}"));
        }
        if let Some(a) = &self.s.account {
            cmd.arg(format!("--account={a}"));
        }
        if let Some(t) = &self.s.time_limit {
            cmd.arg(format!("--time={t}"));
        }
        cmd.args(&self.s.extra_args)
            .arg(&self.exe)
            .args(["slurm", "worker"])
            .arg(dir)
            .env("GEMFORGE_CACHE_DIR", self.s.cache_dir())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own process group: a Ctrl-C at the terminal reaches the driver, which cancels the
            // jobs itself, and not srun (which would only print its status).
            .process_group(0);
        // SAFETY: prctl only sets a flag of the new process; nothing is allocated between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                // srun gets SIGTERM when the driver dies (even by SIGKILL), and then ends its job.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.spawn()
    }

    /// Cancels every job of this driver (pending or running) and ends their sruns.
    fn cancel(&self, jobs: &mut [Job]) {
        let _ = Command::new("scancel")
            .arg(format!("--name={}", self.name))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        for j in jobs.iter() {
            // SAFETY: a signal to the process group of a child this driver started and has not reaped.
            unsafe {
                libc::kill(-(j.child.id() as libc::pid_t), libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(40);
        for j in jobs.iter_mut() {
            loop {
                match j.child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() > deadline => {
                        let _ = j.child.kill();
                        let _ = j.child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(POLL),
                }
            }
        }
    }

    /// Writes a batch directory and starts its job.
    fn start(
        &self,
        run_dir: &Path,
        number: usize,
        reqs: &[EvalRequest],
        slots: &[Slot],
        batch: Vec<usize>,
    ) -> Result<Job, (Vec<usize>, String)> {
        let dir = run_dir.join(format!("b{number}"));
        let made = (|| -> anyhow::Result<Child> {
            std::fs::create_dir_all(dir.join("cand"))
                .with_context(|| format!("creating {}", dir.display()))?;
            let mut wire = Vec::new();
            for &i in &batch {
                let r = &reqs[i];
                let text = slots[i].text.as_deref().unwrap_or_default();
                let name = format!("cand/{i}.c");
                crate::store::write_atomic(&dir.join(&name), text.as_bytes())?;
                wire.push(WireRequest {
                    index: i,
                    hw: r.hw.clone(),
                    workload: r.workload.name.clone(),
                    workload_json: serde_json::to_value(&r.workload)?,
                    candidate: name,
                    screen_runs: r.opts.screen_runs,
                    rtl: r.opts.rtl,
                    seed: r.opts.seed,
                    max_cycles: r.opts.max_cycles,
                    forbidden_functs: r.opts.forbidden_functs.clone(),
                    cache: r.cache.as_ref().map(|CacheSlot { cache, settings }| {
                        (cache.dir().to_path_buf(), settings.clone())
                    }),
                });
            }
            let b = WireBatch {
                simulator_version: simulator_version().to_string(),
                cache_dir: self.s.cache_dir(),
                requests: wire,
            };
            crate::store::write_atomic(&dir.join("batch.json"), &serde_json::to_vec(&b)?)?;
            self.srun(&dir).context("starting srun")
        })();
        match made {
            Ok(child) => Ok(Job {
                child,
                dir,
                batch,
                started: Instant::now(),
            }),
            Err(e) => Err((batch, format!("{e:#}"))),
        }
    }

    /// Why a job ended without verdicts, from its exit status and srun's messages.
    fn why(status: Option<ExitStatus>, dir: &Path) -> String {
        let err = std::fs::read_to_string(dir.join("srun.err")).unwrap_or_default();
        let job = std::fs::read_to_string(dir.join("job"))
            .ok()
            .map_or_else(|| "a job".to_string(), |j| format!("job {}", j.trim()));
        let upper = err.to_uppercase();
        let what = if upper.contains("TIME LIMIT") {
            "timed out".to_string()
        } else if upper.contains("NODE FAIL") || upper.contains("NODE_FAIL") {
            "lost its node".to_string()
        } else if upper.contains("PREEMPT") {
            "was preempted".to_string()
        } else if upper.contains("CANCELLED") || upper.contains("REVOKED") {
            "was cancelled".to_string()
        } else {
            match status {
                Some(s) if s.success() => "ended without writing a verdict".to_string(),
                Some(s) => format!("failed ({s})"),
                None => "could not be waited for".to_string(),
            }
        };
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| format!(": {}", l.trim()))
            .unwrap_or_default();
        format!("{job} {what}{last}")
    }

    /// A job has ended: deliver its verdicts, send the rest back to the queue or give up on them.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        mut job: Job,
        status: Option<ExitStatus>,
        reqs: &[EvalRequest],
        slots: &mut [Slot],
        queue: &mut VecDeque<usize>,
        done: &(dyn Fn(usize, Verdict) + Sync),
        retry: bool,
    ) {
        let wall = job.started.elapsed().as_secs_f64();
        let mut missing = Vec::new();
        let mut eval_s = 0.0;
        let mut delivered = 0;
        for &i in &job.batch {
            if slots[i].delivered {
                continue;
            }
            match read_verdict(&job.dir.join("out").join(format!("{i}.json"))) {
                Ok((v, secs)) => {
                    slots[i].delivered = true;
                    delivered += 1;
                    eval_s += secs;
                    done(i, v);
                }
                Err(_) => missing.push(i),
            }
        }
        let worker: Option<WireWorker> = std::fs::read(job.dir.join("worker.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        if let (Some(w), Ok(mut est)) = (&worker, self.est.lock()) {
            if missing.is_empty() && delivered > 0 {
                est.overhead_s += (wall - w.eval_wall_s).max(0.0);
                est.jobs += 1;
                est.eval_s += eval_s;
                est.evals += delivered;
            }
        }
        let failed = !missing.is_empty();
        let why = if failed {
            Self::why(status, &job.dir)
        } else {
            String::new()
        };
        let mut gave_up = 0;
        let mut retried = 0;
        for &i in &missing {
            slots[i].tries += 1;
            slots[i].why.push(why.clone());
            if !retry {
                continue;
            }
            if slots[i].tries >= self.s.max_tries {
                slots[i].delivered = true;
                gave_up += 1;
                let tries: Vec<String> = slots[i]
                    .why
                    .iter()
                    .enumerate()
                    .map(|(n, w)| format!("try {}: {w}", n + 1))
                    .collect();
                done(
                    i,
                    Verdict::failed(
                        &reqs[i].hw,
                        &reqs[i].workload,
                        Failure::JobFailed,
                        format!(
                            "its Slurm job did not finish on any of {} tries ({}); the batch directories \
                             are kept under {}",
                            self.s.max_tries,
                            tries.join("; "),
                            job.dir.parent().unwrap_or(&job.dir).display()
                        ),
                    ),
                );
            } else {
                retried += 1;
                queue.push_back(i);
            }
        }
        if failed && retry {
            eprintln!(
                "warning: slurm: {why}; of its {} evaluations without a verdict {retried} retried, {gave_up} \
                 given up after {} tries",
                missing.len(),
                self.s.max_tries
            );
        }
        if let Ok(mut st) = self.stats.lock() {
            st.evaluations += delivered + gave_up;
            st.job_wall_s += wall;
            st.job_eval_s += worker.as_ref().map_or(0.0, |w| w.eval_wall_s);
            st.retried += retried;
            st.gave_up += gave_up;
            if failed {
                st.failed_jobs += 1;
            }
        }
        if !failed {
            let _ = std::fs::remove_dir_all(&job.dir);
        }
        let _ = &mut job;
    }

    /// Runs one test job (the worker on an empty batch) and checks that it ran the same binary and saw
    /// the shared directory. Ok: (host it ran on, seconds from submission to its end).
    fn test_job(&self, timeout: Duration) -> anyhow::Result<(String, f64)> {
        let run_dir = self
            .s
            .shared_dir
            .join("jobs")
            .join(format!("{}-check", self.name));
        std::fs::create_dir_all(&run_dir).with_context(|| {
            format!(
                "creating {} (is the shared directory writable?)",
                run_dir.display()
            )
        })?;
        let mut job = self
            .start(&run_dir, 0, &[], &[], Vec::new())
            .map_err(|(_, e)| anyhow::anyhow!("submitting the test job: {e}"))?;
        let t0 = Instant::now();
        let status = loop {
            if let Some(s) = job.child.try_wait()? {
                break s;
            }
            if t0.elapsed() > timeout {
                let mut jobs = [job];
                self.cancel(&mut jobs);
                let _ = std::fs::remove_dir_all(&run_dir);
                bail!(
                    "the test job did not finish within {} s: no node has been free to run it (see squeue; \
                     sinfo shows the nodes' states)",
                    timeout.as_secs()
                );
            }
            std::thread::sleep(POLL);
        };
        let secs = t0.elapsed().as_secs_f64();
        let worker: Option<WireWorker> = std::fs::read(job.dir.join("worker.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let result = match worker {
            Some(w) if w.simulator_version == simulator_version() => Ok((w.host, secs)),
            Some(w) => Err(anyhow::anyhow!(
                "the test job on {} ran another gemforge ({}; this one is {}): the nodes must run this \
                 binary, {}, from the shared filesystem",
                w.host,
                w.simulator_version,
                simulator_version(),
                self.exe.display()
            )),
            None => Err(anyhow::anyhow!(
                "the test job: {}; the worker wrote nothing to {}: the nodes must see the shared \
                 directory and this binary, {}, at the same paths",
                Self::why(Some(status), &job.dir),
                job.dir.display(),
                self.exe.display()
            )),
        };
        let _ = std::fs::remove_dir_all(&run_dir);
        result
    }
}

impl Executor for SlurmExecutor {
    fn name(&self) -> &'static str {
        "slurm"
    }

    fn evaluate(
        &self,
        reqs: &[EvalRequest],
        stop: &AtomicBool,
        done: &(dyn Fn(usize, Verdict) + Sync),
    ) -> anyhow::Result<()> {
        if reqs.is_empty() {
            return Ok(());
        }
        let run_dir = self.s.shared_dir.join("jobs").join(format!(
            "{}-{}",
            self.name,
            self.runs.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&run_dir).with_context(|| {
            format!(
                "creating {} in the shared directory (--shared-dir)",
                run_dir.display()
            )
        })?;
        let mut slots: Vec<Slot> = Vec::with_capacity(reqs.len());
        let mut queue = VecDeque::new();
        for (i, r) in reqs.iter().enumerate() {
            match std::fs::read_to_string(&r.candidate) {
                Ok(text) => {
                    slots.push(Slot {
                        text: Some(text),
                        tries: 0,
                        why: Vec::new(),
                        delivered: false,
                    });
                    queue.push_back(i);
                }
                Err(e) => {
                    slots.push(Slot {
                        text: None,
                        tries: 0,
                        why: Vec::new(),
                        delivered: true,
                    });
                    done(
                        i,
                        Verdict::failed(
                            &r.hw,
                            &r.workload,
                            Failure::HostError,
                            format!("{}: {e}", r.candidate.display()),
                        ),
                    );
                }
            }
        }
        let mut active: Vec<Job> = Vec::new();
        let mut number = 0;
        loop {
            if stop.load(Ordering::SeqCst) {
                self.cancel(&mut active);
                for j in active.drain(..) {
                    self.finish(j, None, reqs, &mut slots, &mut queue, done, false);
                }
                break;
            }
            while active.len() < self.max_jobs && !queue.is_empty() {
                let n = self.batch_len(queue.len());
                let batch: Vec<usize> = queue.drain(..n.min(queue.len())).collect();
                number += 1;
                match self.start(&run_dir, number, reqs, &slots, batch) {
                    Ok(j) => {
                        if let Ok(mut st) = self.stats.lock() {
                            st.jobs += 1;
                        }
                        active.push(j);
                    }
                    Err((batch, e)) => {
                        // Not started: counts as a failed try of each of its requests.
                        eprintln!("warning: slurm: could not start a job: {e}");
                        for &i in &batch {
                            slots[i].tries += 1;
                            slots[i].why.push(format!("not started: {e}"));
                            if slots[i].tries >= self.s.max_tries {
                                slots[i].delivered = true;
                                done(
                                    i,
                                    Verdict::failed(
                                        &reqs[i].hw,
                                        &reqs[i].workload,
                                        Failure::JobFailed,
                                        format!(
                                            "its Slurm job could not be started in {} tries: {e}",
                                            self.s.max_tries
                                        ),
                                    ),
                                );
                                if let Ok(mut st) = self.stats.lock() {
                                    st.gave_up += 1;
                                    st.evaluations += 1;
                                }
                            } else {
                                queue.push_back(i);
                            }
                        }
                        if active.is_empty() {
                            std::thread::sleep(Duration::from_secs(1));
                        }
                        break;
                    }
                }
            }
            let mut k = 0;
            while k < active.len() {
                match active[k].child.try_wait() {
                    Ok(None) => k += 1,
                    Ok(Some(status)) => {
                        let j = active.swap_remove(k);
                        self.finish(j, Some(status), reqs, &mut slots, &mut queue, done, true);
                    }
                    Err(_) => {
                        let j = active.swap_remove(k);
                        self.finish(j, None, reqs, &mut slots, &mut queue, done, true);
                    }
                }
            }
            if active.is_empty() && queue.is_empty() {
                break;
            }
            std::thread::sleep(POLL);
        }
        if slots.iter().all(|s| s.why.is_empty()) {
            let _ = std::fs::remove_dir_all(&run_dir);
        }
        Ok(())
    }

    fn stats(&self) -> ExecStats {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }
}

/// `gemforge slurm check`: whether the cluster is usable (sinfo, munge, the partition's nodes, the shared
/// directory and a test job that must run this binary). Ok: lines for people; Err: what is wrong.
pub fn check(s: &SlurmSettings, timeout: Duration) -> anyhow::Result<Vec<String>> {
    let Partition {
        nodes,
        cpus,
        states,
    } = partition_info(s).map_err(anyhow::Error::msg)?;
    let list: Vec<String> = states.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let mut lines = vec![format!(
        "partition {}: {nodes} nodes ({}), {cpus} CPUs usable",
        s.partition.as_deref().unwrap_or("(default)"),
        list.join(", ")
    )];
    let ex = SlurmExecutor::new(s.clone(), 1)?;
    let (host, secs) = ex.test_job(timeout)?;
    lines.push(format!(
        "test job ran on {host} in {secs:.2} s (submission to end): it sees {} and runs this gemforge",
        s.shared_dir.display()
    ));
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_limits_in_slurm_forms() {
        assert_eq!(check_time_limit("30").unwrap(), Some(1800));
        assert_eq!(check_time_limit("1:30").unwrap(), Some(90));
        assert_eq!(check_time_limit("1:00:00").unwrap(), Some(3600));
        assert_eq!(check_time_limit("2-3").unwrap(), Some(2 * 86400 + 3 * 3600));
        assert_eq!(check_time_limit("1-0:0:5").unwrap(), Some(86405));
        assert_eq!(check_time_limit("UNLIMITED").unwrap(), None);
        for bad in ["", "0", "1h", "1:2:3:4", "-5", "1-", "a:b"] {
            let e = check_time_limit(bad).unwrap_err().to_string();
            assert!(e.contains("not a Slurm time"), "{bad}: {e}");
        }
    }

    /// srun's messages as Slurm 22.05 prints them, classified.
    #[test]
    fn failed_jobs_are_classified_from_srun_messages() {
        use std::os::unix::process::ExitStatusExt;
        let dir = tempfile::tempdir().unwrap();
        let why = |err: &str, code: i32, job: Option<&str>| {
            std::fs::write(dir.path().join("srun.err"), err).unwrap();
            match job {
                Some(j) => std::fs::write(dir.path().join("job"), j).unwrap(),
                None => {
                    let _ = std::fs::remove_file(dir.path().join("job"));
                }
            }
            SlurmExecutor::why(Some(ExitStatus::from_raw(code << 8)), dir.path())
        };
        let w = why(
            "slurmstepd-localhost: error: *** STEP 551.0 ON localhost CANCELLED AT 2026-12-02T08:12:18 \
             DUE TO TIME LIMIT ***\nsrun: error: localhost: task 0: Terminated\nsrun: Force Terminated \
             StepId=551.0\n",
            143,
            Some("551"),
        );
        assert!(
            w.starts_with("job 551 timed out: srun: Force Terminated"),
            "{w}"
        );
        let w = why(
            "srun: error: Node failure on node3\nsrun: error: *** STEP 7.0 ON node3 CANCELLED DUE TO NODE FAILURE ***\n",
            1,
            None,
        );
        assert!(w.starts_with("a job lost its node"), "{w}");
        let w = why(
            "slurmstepd-localhost: error: *** STEP 91.0 ON localhost CANCELLED AT 2026-12-02T08:01:02 ***\n\
             srun: error: localhost: task 0: Terminated\n",
            143,
            Some("91"),
        );
        assert!(w.starts_with("job 91 was cancelled"), "{w}");
        let w = why(
            "error: gemforge slurm worker /x: reading /x/batch.json (is the shared directory mounted on this node?)\n",
            2,
            Some("12"),
        );
        assert!(
            w.starts_with("job 12 failed (exit status: 2): error: gemforge slurm worker"),
            "{w}"
        );
    }

    fn exec(batch: Option<usize>, cpus: u32, max_jobs: usize) -> SlurmExecutor {
        let mut s = SlurmSettings::new(Path::new("/tmp/x")).unwrap();
        s.batch_size = batch;
        s.cpus_per_task = cpus;
        SlurmExecutor {
            s,
            max_jobs,
            exe: PathBuf::from("/bin/true"),
            name: "t".into(),
            time_limit_s: None,
            runs: AtomicUsize::new(0),
            stats: Mutex::new(ExecStats::default()),
            est: Mutex::new(Estimates::default()),
        }
    }

    #[test]
    fn batches_keep_the_overhead_under_ten_percent() {
        let x = exec(None, 1, 4);
        // Guesses: 0.5 s overhead, 1 s per evaluation: at least 5 per job (0.5 / 5.5 < 10%).
        assert_eq!(x.batch_len(100), 25);
        assert_eq!(x.batch_len(8), 5);
        assert_eq!(x.batch_len(3), 3);
        // Measured: 2 s overhead per job, 0.5 s per evaluation: at least 36 per job.
        {
            let mut e = x.est.lock().unwrap();
            *e = Estimates {
                overhead_s: 20.0,
                jobs: 10,
                eval_s: 50.0,
                evals: 100,
            };
        }
        let n = x.batch_len(1000);
        let (o, e) = x.est.lock().unwrap().get();
        assert!(o / (o + n as f64 * e) < MAX_OVERHEAD, "{n}");
        assert_eq!(x.batch_len(40), 36);
        // Never longer than ten minutes of evaluations.
        assert_eq!(x.batch_len(100_000), 1200);
        // Two CPUs per job evaluate two at a time.
        assert_eq!(exec(None, 2, 2).batch_len(100), 50);
        assert_eq!(exec(Some(7), 1, 2).batch_len(100), 7);
        assert_eq!(exec(Some(7), 1, 2).batch_len(3), 3);
    }
}

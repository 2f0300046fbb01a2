//! `--executor slurm` against a real Slurm: the one-node cluster of scripts/slurm-local.sh (which .ci/run
//! starts before the tests). A search on the cluster gives the same best program and cycles as on this
//! machine; a bench through the cluster gives the local cycles; jobs cancelled with scancel mid-run are
//! retried and no verdict is lost or counted twice; Ctrl-C cancels the run's jobs; `gemforge slurm check`
//! says when the cluster is unusable.
//!
//! The tests skip, with the reason printed, only when `sinfo` is not on PATH; with
//! GEMFORGE_REQUIRE_SLURM=1 (set by .ci/run) a missing Slurm fails them instead.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_gemforge");

/// Whether the Slurm tests can run here: false (after printing why) when sinfo is missing, unless
/// GEMFORGE_REQUIRE_SLURM=1, which makes that a failure.
fn cluster(test: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("sinfo").is_file()));
    if found {
        // Installed but not running is a failure with the way out, not a skip.
        let up = Command::new("sinfo")
            .arg("-h")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            up,
            "{test}: sinfo is on PATH but the cluster does not answer: start the one-node cluster with \
             scripts/slurm-local.sh (as root)"
        );
        return true;
    }
    if std::env::var("GEMFORGE_REQUIRE_SLURM").as_deref() == Ok("1") {
        panic!(
            "{test}: GEMFORGE_REQUIRE_SLURM=1 but sinfo is not on PATH: run scripts/slurm-local.sh \
             (as root) to start the one-node cluster"
        );
    }
    eprintln!(
        "skipping {test}: sinfo is not on PATH (no Slurm here; scripts/slurm-local.sh starts a \
         one-node cluster, and GEMFORGE_REQUIRE_SLURM=1 makes this a failure)"
    );
    false
}

/// A gemforge command with no executor settings inherited from the environment.
fn gemforge(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args);
    for v in [
        "GEMFORGE_EXECUTOR",
        "GEMFORGE_SHARED_DIR",
        "GEMFORGE_EXECUTOR_CONFIG",
        "GEMFORGE_SLURM_PARTITION",
        "GEMFORGE_SLURM_ACCOUNT",
        "GEMFORGE_SLURM_TIME_LIMIT",
    ] {
        c.env_remove(v);
    }
    // No executor file of the user's.
    c.env("XDG_CONFIG_HOME", "/nonexistent-gemforge-test-config");
    c
}

fn run(mut c: Command) -> Output {
    let out = c.output().expect("running gemforge");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// squeue's jobs with this name: (job id, state).
fn jobs_named(name_prefix: &str) -> Vec<(String, String)> {
    let out = Command::new("squeue")
        .args(["-h", "-o", "%i|%j|%T"])
        .output()
        .expect("squeue");
    text(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (f.len() == 3 && f[1].starts_with(name_prefix))
                .then(|| (f[0].to_string(), f[2].to_string()))
        })
        .collect()
}

fn summary(dir: &Path) -> serde_json::Value {
    let p = dir.join("summary.json");
    serde_json::from_str(&std::fs::read_to_string(&p).expect("summary.json")).expect("json")
}

/// Every program of a run's journal is evaluated once.
fn evaluated_once(dir: &Path) {
    let j = std::fs::read_to_string(dir.join("journal.jsonl")).expect("journal");
    let mut seen = std::collections::HashSet::new();
    for line in j.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("journal line");
        if v["event"] == "evaluated" {
            let code = v["code"].as_str().expect("code").to_string();
            assert!(seen.insert(code.clone()), "{code} evaluated twice");
        }
    }
    assert!(!seen.is_empty(), "no evaluation in {}", dir.display());
}

fn search_args(out: &str) -> Vec<&str> {
    vec![
        "search",
        "--workload",
        "gemm_32x32x32",
        "--iterations",
        "2",
        "--beam",
        "2",
        "--plans",
        "2",
        "--impls",
        "2",
        "--screen-runs",
        "1",
        "--seed",
        "7",
        "--json",
        "-q",
        "--out-dir",
        out,
    ]
}

#[test]
fn a_search_on_slurm_finds_the_local_answer_and_a_second_run_reuses_the_shared_verdicts() {
    if !cluster("a_search_on_slurm_finds_the_local_answer") {
        return;
    }
    let t = tempfile::tempdir().expect("temp dir");
    let p = |s: &str| t.path().join(s).display().to_string();
    let (local_dir, slurm_dir, again_dir, shared) =
        (p("local"), p("slurm"), p("again"), p("shared"));
    let mut local = gemforge(&search_args(&local_dir));
    local.env("GEMFORGE_CACHE_DIR", p("local-cache"));
    let lo = run(local);
    assert!(lo.status.success(), "local search: {}", text(&lo.stdout));
    let mut on = gemforge(&search_args(&slurm_dir));
    on.args(["--executor", "slurm", "--shared-dir", &shared]);
    let so = run(on);
    assert!(so.status.success(), "slurm search: {}", text(&so.stdout));
    let (a, b) = (
        summary(Path::new(&local_dir)),
        summary(Path::new(&slurm_dir)),
    );
    assert!(a["best"].is_string(), "{a}");
    assert_eq!(a["best"], b["best"], "the same best program");
    assert_eq!(a["best_cycles"], b["best_cycles"], "the same cycles");
    assert_eq!(a["steps"], b["steps"], "the same path");
    // The report lists baselines in the order their verdicts arrived, which varies on either executor.
    let by_name = |v: &serde_json::Value| {
        let mut b = v["baselines"].as_array().expect("baselines").clone();
        b.sort_by_key(|x| x["name"].as_str().unwrap_or("").to_string());
        b
    };
    assert_eq!(by_name(&a), by_name(&b), "the same baselines");
    assert_eq!(by_name(&a).len(), 4);
    evaluated_once(Path::new(&slurm_dir));
    let err = text(&so.stderr);
    assert!(err.contains("slurm: ") && err.contains(" jobs"), "{err}");
    // Everything is in the shared verdict cache now: a second run submits nothing but its re-check.
    let mut again = gemforge(&search_args(&again_dir));
    again.args(["--executor", "slurm", "--shared-dir", &shared]);
    let ao = run(again);
    assert!(
        ao.status.success(),
        "second slurm search: {}",
        text(&ao.stdout)
    );
    let c = summary(Path::new(&again_dir));
    assert_eq!(c["best"], a["best"]);
    assert_eq!(c["best_cycles"], a["best_cycles"]);
    assert_eq!(c["evaluations"], c["cached_evaluations"], "{c}");
    let err = text(&ao.stderr);
    assert!(err.contains("slurm: 1 evaluations in 1 jobs"), "{err}");
}

fn bench_args(out: &str, seed: &str) -> Vec<String> {
    [
        "bench",
        "--workloads",
        "gemm_32x32x32",
        "gemm_20x36x24",
        "--baselines",
        "naive,library,hand,fsm",
        "--screen-runs",
        "1",
        "--seed",
        seed,
        "--json",
        "-q",
        "--out-dir",
        out,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn cells(o: &Output) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("bench JSON");
    v["cells"].as_array().expect("cells").clone()
}

#[test]
fn a_bench_through_slurm_gives_the_local_cycles() {
    if !cluster("a_bench_through_slurm_gives_the_local_cycles") {
        return;
    }
    let t = tempfile::tempdir().expect("temp dir");
    let out = t.path().join("progs").display().to_string();
    let lo = run({
        let mut c = gemforge(&[]);
        c.args(bench_args(&out, "5"));
        c
    });
    assert!(lo.status.success());
    let so = run({
        let mut c = gemforge(&[]);
        c.args(bench_args(&out, "5")).args([
            "--executor",
            "slurm",
            "--shared-dir",
            &t.path().join("shared").display().to_string(),
            "--time-limit",
            "10",
            "--cpus-per-task",
            "1",
        ]);
        c
    });
    assert!(so.status.success(), "{}", text(&so.stdout));
    let (a, b) = (cells(&lo), cells(&so));
    assert_eq!(a.len(), 8);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x["correct"], true, "{x}");
        assert_eq!(
            (&x["workload"], &x["baseline"], &x["cycles"]),
            (&y["workload"], &y["baseline"], &y["cycles"])
        );
    }
    let err = text(&so.stderr);
    assert!(err.contains("slurm: 8 evaluations in"), "{err}");
}

/// Starts a bench through the cluster with one evaluation per job and more jobs than CPUs (so that some
/// wait in the queue); returns the child and its job-name prefix.
fn spawn_bench(shared: &Path, out: &Path, extra: &[&str]) -> (std::process::Child, String) {
    let mut c = gemforge(&[]);
    c.args(bench_args(&out.display().to_string(), "9"))
        .args(["--executor", "slurm", "--shared-dir"])
        .arg(shared)
        .args(["--batch-size", "1", "--jobs", "8"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = c.spawn().expect("gemforge bench");
    let name = format!("gemforge-{}-", child.id());
    (child, name)
}

/// Waits until `pred` holds for the job list of `name` (or panics after 60 s).
fn wait_for_jobs(name: &str, pred: impl Fn(&[(String, String)]) -> bool) -> Vec<(String, String)> {
    let t0 = Instant::now();
    loop {
        let j = jobs_named(name);
        if pred(&j) {
            return j;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no such jobs of {name}: {j:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn jobs_cancelled_mid_run_are_retried_and_no_verdict_is_lost_or_counted_twice() {
    if !cluster("jobs_cancelled_mid_run_are_retried") {
        return;
    }
    let t = tempfile::tempdir().expect("temp dir");
    let (child, name) = spawn_bench(&t.path().join("shared"), &t.path().join("progs"), &[]);
    // One running job and one waiting in the queue, cancelled as they are.
    let jobs = wait_for_jobs(&name, |j| {
        j.iter().any(|(_, s)| s == "RUNNING") && j.iter().any(|(_, s)| s == "PENDING")
    });
    let running = jobs.iter().find(|(_, s)| s == "RUNNING").expect("running");
    let pending = jobs.iter().find(|(_, s)| s == "PENDING").expect("pending");
    let st = Command::new("scancel")
        .args([&running.0, &pending.0])
        .status()
        .expect("scancel");
    assert!(st.success());
    let o = child.wait_with_output().expect("bench");
    let err = text(&o.stderr);
    eprintln!("{err}");
    assert!(o.status.success(), "{}", text(&o.stdout));
    let c = cells(&o);
    assert_eq!(c.len(), 8);
    for x in &c {
        assert_eq!(x["correct"], true, "{x}");
    }
    assert!(err.contains("was cancelled"), "{err}");
    assert!(err.contains("retried"), "{err}");
    // Eight verdicts, each once; at least one job failed and its evaluation ran again.
    assert!(err.contains("slurm: 8 evaluations in "), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("slurm: 8 evaluations"))
        .expect("summary line");
    let jobs: usize = line
        .split(" in ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("job count");
    assert!(
        jobs >= 9,
        "a cancelled job's evaluation runs in a new job: {line}"
    );
    assert!(line.contains("jobs failed"), "{line}");
    assert!(jobs_named(&name).is_empty());
}

#[test]
fn a_job_that_keeps_failing_is_a_job_failed_verdict_of_its_evaluation_only() {
    if !cluster("a_job_that_keeps_failing") {
        return;
    }
    let t = tempfile::tempdir().expect("temp dir");
    // Every job is cancelled as soon as it shows up: after two tries each evaluation is job_failed, and
    // the bench still ends with a table.
    let (child, name) = spawn_bench(
        &t.path().join("shared"),
        &t.path().join("progs"),
        &["--max-tries", "2"],
    );
    let pid = child.id();
    let canceller = std::thread::spawn(move || {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(90) {
            let ids: Vec<String> = jobs_named(&name).into_iter().map(|(id, _)| id).collect();
            if !ids.is_empty() {
                let _ = Command::new("scancel")
                    .args(&ids)
                    .stderr(Stdio::null())
                    .status();
            }
            if !Path::new(&format!("/proc/{pid}")).exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    let o = child.wait_with_output().expect("bench");
    canceller.join().expect("canceller");
    let err = text(&o.stderr);
    eprintln!("{err}");
    assert!(o.status.success(), "{}", text(&o.stdout));
    let c = cells(&o);
    assert_eq!(c.len(), 8);
    let failed: Vec<_> = c.iter().filter(|x| x["failure"] == "job_failed").collect();
    assert!(!failed.is_empty(), "{c:?}");
    for x in &failed {
        let d = x["detail"].as_str().unwrap_or("");
        assert!(d.contains("try 1:") && d.contains("try 2:"), "{d}");
    }
}

#[test]
fn ctrl_c_cancels_the_outstanding_jobs() {
    if !cluster("ctrl_c_cancels_the_outstanding_jobs") {
        return;
    }
    let t = tempfile::tempdir().expect("temp dir");
    let (child, name) = spawn_bench(&t.path().join("shared"), &t.path().join("progs"), &[]);
    wait_for_jobs(&name, |j| j.iter().any(|(_, s)| s == "RUNNING"));
    // SAFETY: a signal to the child this test started.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let o = child.wait_with_output().expect("bench");
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    // No job of the run is left, running or waiting.
    let t0 = Instant::now();
    while !jobs_named(&name).is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "jobs left after Ctrl-C: {:?}",
            jobs_named(&name)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn slurm_check_says_whether_the_cluster_is_usable() {
    if !cluster("slurm_check_says_whether_the_cluster_is_usable") {
        return;
    }
    let t = tempfile::tempdir().expect("temp dir");
    let shared = t.path().display().to_string();
    let o = run(gemforge(&["slurm", "check", "--shared-dir", &shared]));
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("test job ran on"), "{out}");
    assert!(out.contains("usable"), "{out}");
    // Without Slurm's commands on PATH the reason is named.
    let mut c = gemforge(&["slurm", "check", "--shared-dir", &shared]);
    c.env("PATH", "/nonexistent");
    let o = run(c);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("sinfo or srun is not on PATH"));
    // A partition that does not exist.
    let o = run(gemforge(&[
        "slurm",
        "check",
        "--shared-dir",
        &shared,
        "--partition",
        "no-such-partition",
    ]));
    assert_eq!(o.status.code(), Some(2));
    let e = text(&o.stderr);
    assert!(e.contains("no-such-partition"), "{e}");
    // search without a shared directory says what it needs.
    let o = run(gemforge(&["bench", "--executor", "slurm"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--shared-dir"));
}

/// The journal's events of one kind after its last `start` event.
fn after_last_start(dir: &Path) -> Vec<serde_json::Value> {
    let j = std::fs::read_to_string(dir.join("journal.jsonl")).expect("journal");
    let ev: Vec<serde_json::Value> = j
        .lines()
        .map(|l| serde_json::from_str(l).expect("journal line"))
        .collect();
    let last = ev
        .iter()
        .rposition(|e| e["event"] == "start")
        .expect("start");
    ev[last..].to_vec()
}

#[test]
fn a_killed_driver_leaves_no_jobs_and_resumes_without_submitting_finished_work() {
    if !cluster("a_killed_driver_resumes") {
        return;
    }
    let t = tempfile::tempdir().expect("temp dir");
    let run_dir = t.path().join("run");
    let shared = t.path().join("shared").display().to_string();
    let run_s = run_dir.display().to_string();
    let mut args = search_args(&run_s);
    let it = args
        .iter()
        .position(|a| *a == "--iterations")
        .expect("--iterations");
    args[it + 1] = "3";
    args.extend(["--executor", "slurm", "--shared-dir", &shared]);
    let mut c = gemforge(&args);
    c.args(["--batch-size", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().expect("gemforge search");
    let name = format!("gemforge-{}-", child.id());
    // Kill it with some verdicts journaled and jobs running.
    let t0 = Instant::now();
    loop {
        let journaled = std::fs::read_to_string(run_dir.join("journal.jsonl"))
            .map(|j| j.matches("\"evaluated\"").count())
            .unwrap_or(0);
        if journaled >= 3 && jobs_named(&name).iter().any(|(_, s)| s == "RUNNING") {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "the search did not get going"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    // Its sruns die with it and end their jobs.
    let t0 = Instant::now();
    while !jobs_named(&name).is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(45),
            "jobs left by the killed driver: {:?}",
            jobs_named(&name)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut r = gemforge(&args);
    r.args(["--resume"]);
    let o = run(r);
    assert!(o.status.success(), "{}", text(&o.stdout));
    evaluated_once(&run_dir);
    // The resumed driver submitted exactly what its journal records as evaluated afresh (plus the
    // winner's re-check): nothing the killed one had judged.
    let ev = after_last_start(&run_dir);
    let fresh = ev
        .iter()
        .filter(|e| e["event"] == "evaluated" && e["cached"] == false)
        .count()
        + ev.iter().filter(|e| e["event"] == "recheck").count();
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!("slurm: {fresh} evaluations")),
        "{fresh} fresh evaluations expected: {err}"
    );
    assert_eq!(summary(&run_dir)["status"], "completed");
}

//! The search end to end with a scripted proposer on gemm_20x36x24: every outcome is journaled and
//! classified, selection keeps the rules, models get fair shares, the budget stops the run, a run killed
//! with SIGKILL resumes to the same result without repeating a proposer call or an evaluation, the journal
//! reader tolerates a truncated last line and rejects other malformed lines, the report is rebuilt from the
//! run directory, the verdict cache answers a second run, and the guided phase of schedule reuse offers
//! only the recorded options. Also: a loop-FSM instruction is refused by the evaluation; the run directory's
//! lock is atomic (of two searches started together on one new directory exactly one runs); `--resume`
//! refuses options that contradict the run; a repaired candidate competes as an implementation of its
//! plan, and a repair is refused once the budget is spent; `-v` prints each LLM call and each judged
//! candidate.

use crate::llm_server;

use gemforge::bench::eval::{evaluate, EvalOpts, Failure};
use gemforge::bench::eval_cache::EvalCache;
use gemforge::opt::propose::{ImplRequest, MenuItem, Plan, PlanRequest, ProposeError, Proposer};
use gemforge::opt::search::journal::{read_journal, Event};
use gemforge::opt::search::{self, RunConfig, SearchEnv, SearchParams};
use gemforge::sim::config::HwConfig;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WORKLOAD: &str = "gemm_20x36x24";
const START_DELAY: u64 = 400;

fn gemm_body() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/candidates/gemm_tiled.c");
    let text = std::fs::read_to_string(path).expect("gemm_tiled.c");
    // Everything from the solution's opening line on; the body is spliced after the delay loop.
    let at = text.find("void solution").expect("solution");
    text[at..].to_string()
}

/// A correct program whose cycles grow with `delay` (a volatile busy loop before the GEMM); `wrong` flips
/// one output bit afterwards.
fn program(delay: u64, wrong: bool) -> String {
    let body = gemm_body();
    let open = body.find('{').expect("brace") + 1;
    let close = body.rfind('}').expect("brace");
    let tail = if wrong { "  C[3][5] ^= 1;\n" } else { "" };
    format!(
        "// delay {delay}\n#define M 20\n#define N 36\n#define K 24\n#define MIN(a, b) ((a) < (b) ? (a) : (b))\n{}\n  for (volatile int d = 0; d < {delay}; d++) {{}}\n{}{tail}}}\n",
        &body[..open],
        &body[open..close],
    )
}

fn delay_of(code: &str) -> u64 {
    code.lines()
        .next()
        .and_then(|l| l.strip_prefix("// delay "))
        .and_then(|d| d.trim().parse().ok())
        .expect("a scripted program")
}

/// The bundled GEMM menu's ids (prompts/menu_gemm.txt), each with a placeholder text.
fn menu() -> Vec<MenuItem> {
    gemforge::opt::prompts::menu(gemforge::opt::prompts::MenuKind::GemmConv)
        .expect("the bundled GEMM menu parses")
        .into_iter()
        .map(|m| MenuItem {
            text: format!("apply {}", m.id),
            id: m.id,
        })
        .collect()
}

/// Plans and programs as a pure function of the request's seed and parent, so reruns are identical.
struct Script {
    models: Vec<String>,
    /// (phase, model) of every call.
    calls: Mutex<Vec<(&'static str, Option<String>)>>,
    /// Dollars per call (for the budget test).
    price: f64,
    /// Delay per call (so a kill lands mid-iteration).
    sleep: Duration,
    spent: Mutex<f64>,
    menus_seen: Mutex<Vec<Vec<String>>>,
    /// Write only programs slower than their parents.
    only_slower: bool,
    /// Raise this flag (a Ctrl-C) once this many calls were made.
    interrupt_after: Option<(usize, &'static AtomicBool)>,
}

impl Script {
    fn new(models: &[&str]) -> Script {
        Script {
            models: models.iter().map(|m| m.to_string()).collect(),
            calls: Mutex::new(Vec::new()),
            price: 0.0,
            sleep: Duration::ZERO,
            spent: Mutex::new(0.0),
            menus_seen: Mutex::new(Vec::new()),
            interrupt_after: None,
            only_slower: false,
        }
    }

    fn charge(&self, phase: &'static str, model: Option<&str>) {
        std::thread::sleep(self.sleep);
        let mut calls = self.calls.lock().unwrap();
        calls.push((phase, model.map(str::to_string)));
        if let Some((n, flag)) = self.interrupt_after {
            if calls.len() >= n {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        *self.spent.lock().unwrap() += self.price;
    }
}

impl Proposer for Script {
    fn name(&self) -> String {
        "script".into()
    }
    fn models(&self) -> Vec<String> {
        self.models.clone()
    }
    fn plan(&self, req: &PlanRequest<'_>) -> Result<Plan, ProposeError> {
        self.charge("plan", req.model);
        assert!(
            !req.menu.is_empty(),
            "the menu after dropout is never empty"
        );
        assert!(req.feedback.cycles > 0, "the parent's cycles are fed back");
        let fb = req.feedback;
        assert!(
            fb.sp_rows_used > 0 && fb.sp_rows_used <= fb.sp_rows_total,
            "{fb:?}"
        );
        assert_eq!(fb.sp_rows_total, req.hw.sp_rows());
        assert!(fb.utilization > 0.0 && fb.utilization < 1.0, "{fb:?}");
        assert!(fb.bottleneck.contains("bottleneck:"), "{fb:?}");
        self.menus_seen
            .lock()
            .unwrap()
            .push(req.menu.iter().map(|m| m.id.clone()).collect());
        if req.seed % 7 == 0 {
            return Err(ProposeError::Llm("scripted outage".into()));
        }
        let id = req.menu[(req.seed % req.menu.len() as u64) as usize]
            .id
            .clone();
        Ok(Plan {
            text: format!("apply {id} (step {})", 10 + req.seed % 50),
            menu_id: Some(id),
            meta: serde_json::json!({ "step": 10 + req.seed % 50 }),
        })
    }
    fn implement(&self, req: &ImplRequest<'_>) -> Result<String, ProposeError> {
        self.charge("implement", req.model);
        let d = delay_of(req.parent_code);
        let step = req.plan.meta["step"].as_u64().unwrap_or(10);
        if self.only_slower {
            return Ok(program(d + 10 + req.seed % 20, false));
        }
        match req.seed % 6 {
            0 | 1 => Ok(program(d.saturating_sub(step + req.seed % 13), false)),
            2 => Ok(program(d + 37, false)),
            3 => Ok(program(d.saturating_sub(step), true)),
            4 => Ok(format!("// delay {d}\nthis is not C;\n")),
            _ => Err(ProposeError::Unusable("no fenced C block".into())),
        }
    }
    fn spent_usd(&self) -> f64 {
        *self.spent.lock().unwrap()
    }
}

fn params(iterations: u32) -> SearchParams {
    SearchParams {
        iterations,
        beam: 2,
        plans: 2,
        impls: 2,
        keep_prob: 0.3,
        seed: 11,
        screen_runs: 1,
        ..SearchParams::default()
    }
}

fn new_run(name: &str, p: SearchParams, models: &[&str]) -> PathBuf {
    new_run_with(name, p, models, &[])
}

fn new_run_with(
    name: &str,
    p: SearchParams,
    models: &[&str],
    baselines: &[(String, String, bool)],
) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gf-search-{}-{name}", std::process::id()));
    cleanup(&dir);
    let w = gemforge::bench::workload::by_name(WORKLOAD).expect("workload");
    let cfg = RunConfig {
        gemforge_version: "test".into(),
        workload: w.name.clone(),
        workload_shape: w.shape(),
        hw: HwConfig::default_config(),
        params: p,
        proposer: "script".into(),
        models: models.iter().map(|m| m.to_string()).collect(),
        plan_models: Vec::new(),
        code_models: Vec::new(),
        menu: menu(),
        start: String::new(),
        reuse_from: None,
        baselines: Vec::new(),
        llm: Default::default(),
    };
    search::create(&dir, cfg, &program(START_DELAY, false), baselines).expect("create the run");
    dir
}

/// Removes a run directory unless GF_SEARCH_KEEP is set (to look at the runs).
fn cleanup(dir: &Path) {
    if std::env::var_os("GF_SEARCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn env<'a>(p: &'a dyn Proposer, stop: &'a AtomicBool, cache: Option<EvalCache>) -> SearchEnv<'a> {
    SearchEnv {
        proposer: p,
        stop,
        progress: false,
        cache,
        executor: None,
    }
}

fn events(dir: &Path) -> Vec<Event> {
    read_journal(&dir.join("journal.jsonl"))
        .expect("journal")
        .events
}

/// Outcome slots (plans and programs) and evaluated programs, each counted.
fn outcome_counts(ev: &[Event]) -> (HashMap<String, usize>, HashMap<String, usize>) {
    let mut slots: HashMap<String, usize> = HashMap::new();
    let mut evals: HashMap<String, usize> = HashMap::new();
    for e in ev {
        match e {
            Event::PlanReceived { slot, .. }
            | Event::PlanFailed { slot, .. }
            | Event::ProgramReceived { slot, .. }
            | Event::ProgramFailed { slot, .. } => *slots.entry(slot.clone()).or_default() += 1,
            Event::Evaluated { code, .. } => *evals.entry(code.clone()).or_default() += 1,
            _ => {}
        }
    }
    (slots, evals)
}

fn finish_of(ev: &[Event]) -> (Option<String>, Option<u64>, String) {
    ev.iter()
        .find_map(|e| match e {
            Event::Finish {
                best,
                cycles,
                reason,
                ..
            } => Some((best.clone(), *cycles, reason.clone())),
            _ => None,
        })
        .expect("a finish event")
}

#[test]
fn scripted_search_journals_selects_and_reports() {
    let script = Script::new(&["m1", "m2", "m3"]);
    let stop = AtomicBool::new(false);
    let mut p = params(3);
    p.regression_allowance = 0.0;
    let baseline = ("library".to_string(), program(900, false), false);
    let dir = new_run_with("main", p, &["m1", "m2", "m3"], &[baseline]);
    let out = search::run(&dir, &env(&script, &stop, None)).expect("search");
    assert_eq!(out.status, "completed");
    let ev = events(&dir);

    // Every outcome class shows up and is classified.
    let mut classes: BTreeMap<String, usize> = BTreeMap::new();
    for e in &ev {
        let k = match e {
            Event::PlanFailed { class, .. } => format!("plan:{class}"),
            Event::ProgramFailed { class, .. } => format!("program:{class}"),
            Event::Evaluated { verdict, .. } => match verdict["failure"].as_str() {
                Some(f) => f.to_string(),
                None => "correct".into(),
            },
            _ => continue,
        };
        *classes.entry(k).or_default() += 1;
    }
    for k in [
        "plan:llm",
        "program:unusable",
        "compile_error",
        "wrong_result",
        "correct",
    ] {
        assert!(classes.contains_key(k), "no {k} in {classes:?}");
    }

    // Selection: every new beam entry beat its parent; the best never gets worse; width <= B.
    let mut cycles_of: HashMap<String, u64> = HashMap::new();
    let mut last_best = u64::MAX;
    for e in &ev {
        match e {
            Event::Evaluated { code, verdict, .. } => {
                if let Some(c) = verdict["cycles"].as_u64() {
                    cycles_of.insert(code.clone(), c);
                }
            }
            Event::Selection {
                beam, best_cycles, ..
            } => {
                assert!(beam.len() <= 2);
                assert!(*best_cycles <= last_best);
                last_best = *best_cycles;
                for c in beam {
                    assert_eq!(Some(&c.cycles), cycles_of.get(&c.code));
                    if let Some(parent) = &c.parent {
                        assert!(c.cycles < cycles_of[parent], "{c:?}");
                    }
                }
                let pairs: HashSet<_> = beam.iter().map(|c| (&c.parent, &c.plan_slot)).collect();
                assert_eq!(pairs.len(), beam.len(), "one program per (parent, plan)");
            }
            _ => {}
        }
    }
    let (best, cycles, _) = finish_of(&ev);
    assert!(
        cycles.unwrap() < cycles_of[&ev_start(&dir)],
        "the search improved"
    );
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::Recheck { code, .. } if Some(code) == best.as_ref())));

    // Round-robin: each model's share of plans and of programs differs by at most one.
    let calls = script.calls.lock().unwrap().clone();
    for phase in ["plan", "implement"] {
        let mut per: HashMap<String, usize> = HashMap::new();
        for (ph, m) in &calls {
            if *ph == phase {
                *per.entry(m.clone().expect("a model")).or_default() += 1;
            }
        }
        let (lo, hi) = (per.values().min().unwrap(), per.values().max().unwrap());
        assert_eq!(per.len(), 3, "{phase}: {per:?}");
        assert!(hi - lo <= 1, "{phase}: {per:?}");
    }
    // Dropout: every planning prompt got its own non-empty subset of the menu.
    let menus = script.menus_seen.lock().unwrap().clone();
    assert!(menus.iter().all(|m| !m.is_empty() && m.len() <= 17));
    assert!(menus.iter().collect::<HashSet<_>>().len() > menus.len() / 2);

    // The report, rebuilt from the directory alone.
    let s = gemforge::opt::report::write(&dir).expect("report");
    assert_eq!(s.best, best);
    assert_eq!(s.best_cycles, cycles);
    assert!(!s.schedule.is_empty());
    assert_eq!(s.steps.len(), 4, "start + 3 iterations");
    assert_eq!(s.baselines.len(), 1);
    assert!(s.baselines[0].cycles.unwrap() > s.start_cycles.unwrap());
    for f in ["report.md", "plot.svg", "summary.json", "best.c"] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        md.contains("ancestry") && md.contains("compile_error"),
        "{md}"
    );
    assert!(std::fs::read_to_string(dir.join("plot.svg"))
        .unwrap()
        .contains("<svg"));
    // One process at a time: while the lock is held, the run is refused, naming the holder.
    let held = search::RunLock::take(&dir).expect("the lock is free after the run");
    let err = search::run(&dir, &env(&script, &stop, None)).unwrap_err();
    assert!(
        format!("{err:#}").contains(&format!(
            "in use by another search (process {}",
            std::process::id()
        )),
        "{err:#}"
    );
    drop(held);
    // A finished run is not searched again.
    let again = search::run(&dir, &env(&script, &stop, None)).expect("rerun");
    assert_eq!(again.status, "already_finished");
    assert_eq!(events(&dir).len(), ev.len());

    // Schedule reuse: the guided phase offers only the recorded options, one per iteration, in order.
    let mut p = params(1);
    p.guided = s.schedule.clone();
    let dir2 = new_run("guided", p, &[]);
    let script2 = Script::new(&[]);
    search::run(&dir2, &env(&script2, &stop, None)).expect("guided search");
    let guided: Vec<(u32, Vec<String>)> = events(&dir2)
        .iter()
        .filter_map(|e| match e {
            Event::PlanRequested { slot, menu, .. } => {
                let step: u32 = slot[1..slot.find('/').unwrap()].parse().unwrap();
                Some((step, menu.clone()))
            }
            _ => None,
        })
        .filter(|(step, _)| *step as usize <= s.schedule.len())
        .collect();
    assert!(!guided.is_empty());
    for (step, m) in guided {
        assert_eq!(m, vec![s.schedule[step as usize - 1].clone()]);
    }
    cleanup(&dir);
    cleanup(&dir2);
}

fn ev_start(dir: &Path) -> String {
    search::load_config(dir).unwrap().start
}

#[test]
fn budget_stops_the_search_cleanly_across_a_resume() {
    static STOP: AtomicBool = AtomicBool::new(false);
    let mut p = params(3);
    p.budget_usd = Some(3.0);
    p.proposer_jobs = 1;
    let dir = new_run("budget", p, &[]);
    // Interrupted after two paid calls...
    let mut script = Script::new(&[]);
    script.price = 1.0;
    script.interrupt_after = Some((2, &STOP));
    let out = search::run(&dir, &env(&script, &STOP, None)).expect("search");
    assert_eq!(out.status, "interrupted");
    assert_eq!(script.calls.lock().unwrap().len(), 2);
    // ...then resumed by a new process whose proposer starts from $0: the budget still counts the $2.
    let mut script = Script::new(&[]);
    script.price = 1.0;
    let go = AtomicBool::new(false);
    let out = search::run(&dir, &env(&script, &go, None)).expect("resume");
    assert_eq!(out.status, "budget");
    assert_eq!(script.calls.lock().unwrap().len(), 1);
    let ev = events(&dir);
    assert!(ev.iter().any(|e| matches!(e, Event::BudgetStop { .. })));
    assert!(ev.iter().any(|e| matches!(e, Event::Interrupted { .. })));
    let (best, _, reason) = finish_of(&ev);
    // The reason says which budget and how far it got.
    assert_eq!(reason, "budget: spent $3.0000 of the $3.0000 budget");
    assert!(best.is_some(), "the best so far is reported");
    let s = gemforge::opt::report::write(&dir).expect("report");
    assert_eq!(s.spent_usd, 3.0);
    cleanup(&dir);
}

#[test]
fn early_stop_after_iterations_without_improvement() {
    let mut script = Script::new(&[]);
    script.only_slower = true;
    let stop = AtomicBool::new(false);
    let mut p = params(5);
    p.early_stop = Some(2);
    let dir = new_run("early", p, &[]);
    let out = search::run(&dir, &env(&script, &stop, None)).expect("search");
    assert_eq!(out.status, "early_stop");
    let ev = events(&dir);
    let selections: Vec<&Event> = ev
        .iter()
        .filter(|e| matches!(e, Event::Selection { .. }))
        .collect();
    assert_eq!(
        selections.len(),
        2,
        "stopped after two iterations without a better program"
    );
    // In the first iterations the 10% allowance let slower children into the beam, but never to its top.
    let start = search::load_config(&dir).unwrap().start;
    for e in selections {
        if let Event::Selection { beam, .. } = e {
            assert_eq!(beam[0].code, start);
            assert!(
                beam.len() > 1,
                "slower children within the allowance are kept"
            );
        }
    }
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::EarlyStop { step: 2, since: 2 })));
    assert_eq!(finish_of(&ev).2, "early_stop");
    cleanup(&dir);
}

#[test]
fn verdict_cache_answers_a_second_run() {
    let cache_dir = std::env::temp_dir().join(format!("gf-search-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache_dir);
    let stop = AtomicBool::new(false);
    let mut first = None;
    for name in ["cache1", "cache2"] {
        let script = Script::new(&[]);
        let dir = new_run(name, params(1), &[]);
        let out = search::run(&dir, &env(&script, &stop, Some(EvalCache::new(&cache_dir))))
            .expect("search");
        let ev = events(&dir);
        let cached: Vec<bool> = ev
            .iter()
            .filter_map(|e| match e {
                Event::Evaluated { cached, .. } => Some(*cached),
                _ => None,
            })
            .collect();
        match &first {
            None => {
                // Not vacuous: the first run evaluated something, and nothing of it came from the cache.
                assert!(!cached.is_empty() && cached.iter().all(|c| !c));
                first = Some(out.cycles);
            }
            Some(c) => {
                assert!(!cached.is_empty() && cached.iter().all(|c| *c));
                assert_eq!(out.evaluations, 1, "only the re-check on fresh inputs runs");
                assert_eq!(&out.cycles, c);
            }
        }
        cleanup(&dir);
    }
    let _ = std::fs::remove_dir_all(&cache_dir);
}

/// The child process of `resume_after_sigkill_repeats_nothing` (run explicitly with --ignored; it does
/// nothing without GF_SEARCH_CHILD_DIR).
#[test]
#[ignore = "child process of resume_after_sigkill_repeats_nothing"]
fn child_search() {
    let Ok(dir) = std::env::var("GF_SEARCH_CHILD_DIR") else {
        return;
    };
    let mut script = Script::new(&["m1", "m2"]);
    script.sleep = Duration::from_millis(40);
    let stop = AtomicBool::new(false);
    let out = search::run(Path::new(&dir), &env(&script, &stop, None)).expect("search");
    let calls = script.calls.lock().unwrap().len();
    std::fs::write(
        Path::new(&dir).join("child-calls.txt"),
        format!("{calls} {}", out.evaluations),
    )
    .expect("write");
}

fn child(dir: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(std::env::current_exe().expect("test binary"));
    c.args([
        "--ignored",
        "--exact",
        "search::child_search",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("GF_SEARCH_CHILD_DIR", dir)
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    c
}

fn child_counts(dir: &Path) -> (usize, usize) {
    let t = std::fs::read_to_string(dir.join("child-calls.txt")).expect("the child's counts");
    let mut it = t.split_whitespace().map(|x| x.parse::<usize>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

#[test]
fn resume_after_sigkill_repeats_nothing() {
    // The uninterrupted reference (one proposer request at a time, so a kill cuts off at most one).
    let mut p = params(2);
    p.proposer_jobs = 1;
    let whole = new_run("whole", p.clone(), &["m1", "m2"]);
    assert!(child(&whole).status().expect("child").success());
    let (whole_calls, whole_evals) = child_counts(&whole);
    let whole_ev = events(&whole);

    // Killed mid-iteration, then resumed and killed again.
    let dir = new_run("killed", p, &["m1", "m2"]);
    let lines = || {
        std::fs::read_to_string(dir.join("journal.jsonl"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    for more in [6usize, 10] {
        let base = lines();
        let mut c = child(&dir).spawn().expect("child");
        let t0 = Instant::now();
        while lines() < base + more && t0.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(5));
        }
        c.kill().expect("SIGKILL");
        let _ = c.wait();
    }
    assert!(
        !events(&dir)
            .iter()
            .any(|e| matches!(e, Event::Finish { .. })),
        "the kills landed before the end"
    );
    // Simulate a kill in the middle of a line write.
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join("journal.jsonl"))
            .unwrap();
        f.write_all(b"{\"event\":\"plan_rec").unwrap();
    }
    assert!(read_journal(&dir.join("journal.jsonl"))
        .unwrap()
        .truncated_line
        .is_some());
    assert!(child(&dir).status().expect("child").success());
    let ev = events(&dir);

    // Same result as the uninterrupted run.
    assert_eq!(finish_of(&ev).0, finish_of(&whole_ev).0);
    assert_eq!(finish_of(&ev).1, finish_of(&whole_ev).1);
    // No outcome and no evaluation twice; the same set of each as the uninterrupted run.
    let (slots, evals) = outcome_counts(&ev);
    let (wslots, wevals) = outcome_counts(&whole_ev);
    assert!(slots.values().all(|&n| n == 1), "{slots:?}");
    assert!(evals.values().all(|&n| n == 1), "{evals:?}");
    assert_eq!(
        slots.keys().collect::<HashSet<_>>(),
        wslots.keys().collect::<HashSet<_>>()
    );
    assert_eq!(
        evals.keys().collect::<HashSet<_>>(),
        wevals.keys().collect::<HashSet<_>>()
    );
    // Only requests cut off by a kill are asked again: requested = answered + cut off.
    let requested = ev
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::PlanRequested { .. } | Event::ProgramRequested { .. }
            )
        })
        .count();
    assert!(requested >= slots.len());
    assert!(
        requested - slots.len() <= 2,
        "at most one cut-off request per kill"
    );
    let (last_calls, last_evals) = child_counts(&dir);
    assert!(last_calls <= whole_calls && last_evals <= whole_evals);
    assert!(
        ev.iter()
            .filter(|e| matches!(e, Event::Start { resumed: true, .. }))
            .count()
            >= 2
    );

    // A malformed line that is not the last is an error naming file and line.
    let text = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(3, "{not json");
    std::fs::write(dir.join("journal.jsonl"), lines.join("\n") + "\n").unwrap();
    let script = Script::new(&[]);
    let stop = AtomicBool::new(false);
    let err = search::run(&dir, &env(&script, &stop, None)).unwrap_err();
    assert!(format!("{err:#}").contains("journal.jsonl:4:"), "{err:#}");
    cleanup(&dir);
    cleanup(&whole);
}

#[test]
fn loop_fsm_instructions_are_refused() {
    let dir = std::env::temp_dir().join(format!("gf-search-fsm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let code = program(0, false).replace(
        "  for (volatile",
        "  ROCC_INSTRUCTION_RS1_RS2(XCUSTOM_ACC, 0, 0, k_LOOP_WS_CONFIG_BOUNDS);\n  for (volatile",
    );
    let path = dir.join("fsm.c");
    std::fs::write(&path, code).unwrap();
    let w = gemforge::bench::workload::by_name(WORKLOAD).unwrap();
    let opts = EvalOpts {
        screen_runs: 1,
        forbidden_functs: search::loop_functs(),
        ..EvalOpts::default()
    };
    let v = evaluate(&HwConfig::default_config(), &w, &path, &opts);
    assert_eq!(v.failure, Some(Failure::ForbiddenInstruction), "{v:#?}");
    assert!(v.detail.contains("loop_ws_config_bounds"), "{}", v.detail);
    assert!(v.detail.contains("solution+0x"), "{}", v.detail);
    // The same program without the instruction passes.
    let ok = dir.join("ok.c");
    std::fs::write(&ok, program(0, false)).unwrap();
    assert!(evaluate(&HwConfig::default_config(), &w, &ok, &opts).correct);
    cleanup(&dir);
}

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    args: gemforge::opt::search::cli::SearchArgs,
}

fn parse(args: &[&str]) -> gemforge::opt::search::cli::SearchArgs {
    use clap::Parser;
    Cli::parse_from(std::iter::once("search").chain(args.iter().copied())).args
}

#[test]
fn cli_runs_resumes_reports_and_reuses() {
    use gemforge::opt::search::cli::{report_command, search_command, ProposerKind, Providers};
    let base = std::env::temp_dir().join(format!("gf-search-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let start = base.join("start.c");
    std::fs::write(&start, program(START_DELAY, false)).unwrap();
    let make = |kind: ProposerKind, cfg: &RunConfig, _dir: &Path| {
        assert_eq!(kind, ProposerKind::Llm);
        let m: Vec<&str> = cfg.models.iter().map(String::as_str).collect();
        Ok(Box::new(Script::new(&m)) as Box<dyn Proposer>)
    };
    let providers = Providers {
        proposer: &make,
        menu: &|_| Ok(menu()),
        start: &|_, _| anyhow::bail!("no naive baseline in this test"),
        baselines: &|_, _| Vec::new(),
    };
    let run1 = base.join("run1");
    let common = [
        "--workload",
        WORKLOAD,
        "--iterations",
        "2",
        "--beam",
        "2",
        "--plans",
        "2",
        "--impls",
        "2",
        "--seed",
        "5",
        "--screen-runs",
        "1",
        "--json",
    ];
    let mut a: Vec<&str> = common.to_vec();
    let (run1_s, start_s) = (run1.to_str().unwrap(), start.to_str().unwrap());
    a.extend([
        "--run-dir",
        run1_s,
        "--start",
        start_s,
        "--proposer",
        "llm",
        "--model",
        "a",
        "--model",
        "b",
    ]);
    let (text, code) = search_command(&parse(&a), &providers).expect("search");
    assert_eq!(code, 0, "{text}");
    let j: serde_json::Value = serde_json::from_str(&text).expect("one JSON object");
    assert!(j["best_cycles"].as_u64().unwrap() < j["start_cycles"].as_u64().unwrap());
    let schedule: Vec<String> = serde_json::from_value(j["schedule"].clone()).unwrap();
    assert!(!schedule.is_empty());
    // Starting again in the same directory is refused; resuming a finished run rebuilds its report.
    let err = search_command(&parse(&a), &providers).unwrap_err();
    assert!(format!("{err:#}").contains("--resume"), "{err:#}");
    std::fs::remove_file(run1.join("report.md")).unwrap();
    let (_, code) = search_command(
        &parse(&["--resume", "--run-dir", run1_s, "--json"]),
        &providers,
    )
    .expect("resume");
    assert_eq!(code, 0);
    assert!(run1.join("report.md").is_file());
    assert!(report_command(&run1, false).unwrap().contains("report.md"));
    // Schedule reuse takes the winner's menu sequence.
    let run2 = base.join("run2");
    // Four plans and programs, so the guided phase asks two of each per iteration and the script's
    // failures (seed % 7 == 0, seed % 6 == 5) do not fail a whole guided iteration, which would stop the
    // run (that is tested in tests/opt/llm.rs).
    let mut a: Vec<&str> = common.to_vec();
    for opt in ["--plans", "--impls"] {
        let at = a.iter().position(|&x| x == opt).unwrap() + 1;
        a[at] = "4";
    }
    a.extend([
        "--run-dir",
        run2.to_str().unwrap(),
        "--start",
        start_s,
        "--reuse-from",
        run1_s,
        "--proposer",
        "llm",
        "--model",
        "a",
    ]);
    let (_, code) = search_command(&parse(&a), &providers).expect("guided search");
    assert_eq!(code, 0);
    assert_eq!(search::load_config(&run2).unwrap().params.guided, schedule);
    // Bad input is a clear error.
    let err = search_command(
        &parse(&["--workload", "nope", "--start", start_s]),
        &providers,
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("unknown workload `nope`"),
        "{err:#}"
    );
    let err = search_command(
        &parse(&["--workload", WORKLOAD, "--model", "x"]),
        &providers,
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("--model is for --proposer llm"),
        "{err:#}"
    );
    // --resume refuses options that contradict the run, naming each difference; options equal to the
    // run's, and the budget, are accepted.
    let err = search_command(
        &parse(&[
            "--resume",
            "--run-dir",
            run1_s,
            "--workload",
            "gemm_64x64x64",
            "--iterations",
            "3",
            "--beam",
            "2",
            "--temperature",
            "0.7",
        ]),
        &providers,
    )
    .unwrap_err();
    let e = format!("{err:#}");
    assert!(
        e.contains("--workload gemm_64x64x64 (the run has gemm_20x36x24)"),
        "{e}"
    );
    assert!(e.contains("--iterations 3 (the run has 2)"), "{e}");
    assert!(!e.contains("--beam"), "the same beam is no conflict: {e}");
    assert!(
        e.contains("temperature 0.7 (the run has the provider's default)"),
        "{e}"
    );
    let other_start = base.join("other.c");
    std::fs::write(&other_start, program(START_DELAY + 1, false)).unwrap();
    let err = search_command(
        &parse(&[
            "--resume",
            "--run-dir",
            run1_s,
            "--start",
            other_start.to_str().unwrap(),
            "--model",
            "a",
        ]),
        &providers,
    )
    .unwrap_err();
    let e = format!("{err:#}");
    assert!(
        e.contains("--start") && e.contains("another program"),
        "{e}"
    );
    assert!(e.contains("--model a (the run has a, b)"), "{e}");
    let (_, code) = search_command(
        &parse(&[
            "--resume",
            "--run-dir",
            run1_s,
            "--iterations",
            "2",
            "--budget-usd",
            "5",
            "--json",
        ]),
        &providers,
    )
    .expect("resume with the run's own values");
    assert_eq!(code, 0);
    let err = search_command(
        &parse(&["--resume", "--run-dir", base.join("none").to_str().unwrap()]),
        &providers,
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("holds no run"), "{err:#}");
    assert!(
        !base.join("none").exists(),
        "a refused resume writes nothing"
    );
    let err = search_command(&parse(&["--resume"]), &providers).unwrap_err();
    assert!(
        format!("{err:#}").contains("--resume needs --out-dir"),
        "{err:#}"
    );
    cleanup(&base);
}

#[test]
fn gemforge_search_with_the_builtin_proposer() {
    let dir = std::env::temp_dir().join(format!("gf-search-bin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bin = env!("CARGO_BIN_EXE_gemforge");
    let out = std::process::Command::new(bin)
        .args([
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
            "1",
            "--screen-runs",
            "1",
            "--no-baselines",
            "--json",
            "--run-dir",
        ])
        .arg(&dir)
        .output()
        .expect("gemforge search");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(j["proposer"], "builtin");
    assert!(
        j["best_cycles"].as_u64().unwrap() < j["start_cycles"].as_u64().unwrap(),
        "{j}"
    );
    // `gemforge report` rebuilds the same summary from the directory.
    std::fs::remove_file(dir.join("summary.json")).unwrap();
    let out = std::process::Command::new(bin)
        .args(["report", "--json"])
        .arg(&dir)
        .output()
        .expect("gemforge report");
    assert!(out.status.success());
    let k: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(k["best"], j["best"]);
    assert!(dir.join("summary.json").is_file());
    cleanup(&dir);
}

/// The built-in proposer's plans within one iteration name distinct candidates: a plan that duplicates a
/// sibling's is redrawn (journaled under `<slot>/redraw`, and the programs follow the redrawn plan), so
/// no evaluation of the budget goes to a candidate the iteration already has, unless the redraw finds
/// nothing new either. A resumed run replays it.
#[test]
fn duplicate_builtin_plans_are_redrawn() {
    let dir = std::env::temp_dir().join(format!("gf-search-redraw-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bin = env!("CARGO_BIN_EXE_gemforge");
    let search = |args: &[&str]| {
        let out = std::process::Command::new(bin)
            .arg("search")
            .args(args)
            .args(["-q", "--json", "--run-dir"])
            .arg(&dir)
            .output()
            .expect("gemforge search");
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("one JSON object")
    };
    let first = search(&[
        "--workload",
        "gemm_64x64x64",
        "--iterations",
        "3",
        "--beam",
        "2",
        "--plans",
        "4",
        "--impls",
        "1",
        "--screen-runs",
        "1",
        "--no-baselines",
    ]);
    let ev = events(&dir);
    let mut plan_of: HashMap<String, String> = HashMap::new();
    for e in &ev {
        if let Event::PlanReceived { slot, plan, .. } = e {
            plan_of.insert(slot.clone(), plan.clone());
        }
    }
    let redraws = plan_of.keys().filter(|s| s.ends_with("/redraw")).count();
    assert!(redraws > 0, "no duplicate plan was redrawn: {plan_of:?}");
    // The schedules implemented in one step are pairwise distinct.
    let asked_again: HashSet<String> = ev
        .iter()
        .filter_map(|e| match e {
            Event::PlanRequested { slot, .. } if slot.ends_with("/redraw") => Some(slot.clone()),
            _ => None,
        })
        .collect();
    let mut per_step: HashMap<String, Vec<serde_json::Value>> = HashMap::new();
    let (mut implemented, mut distinct) = (0, 0);
    for e in &ev {
        if let Event::ProgramRequested { plan_slot, .. } = e {
            let hash = &plan_of[plan_slot];
            let text =
                std::fs::read_to_string(dir.join("store").join(format!("{hash}.json"))).unwrap();
            let plan: serde_json::Value = serde_json::from_str(&text).unwrap();
            let step = plan_slot.split('/').next().unwrap().to_string();
            let metas = per_step.entry(step).or_default();
            // A duplicate is left only when its redraw found nothing new (the small space runs out).
            assert!(
                !metas.contains(&plan["meta"])
                    || asked_again.contains(&format!("{plan_slot}/redraw")),
                "{plan_slot}: a schedule already implemented in its step, never redrawn: {}",
                plan["meta"]
            );
            distinct += usize::from(!metas.contains(&plan["meta"]));
            metas.push(plan["meta"].clone());
            implemented += 1;
        }
    }
    assert!(implemented >= 8, "only {implemented} programs");
    // The redraws pay: most plans that duplicated a sibling were replaced by a new schedule.
    assert!(
        implemented - distinct < asked_again.len(),
        "{} of {} redraws left a duplicate",
        implemented - distinct,
        asked_again.len()
    );
    // Resuming the finished run replays the same plans: no new request, the same best.
    let again = search(&["--resume"]);
    assert_eq!(again["best_cycles"], first["best_cycles"]);
    let requested = |ev: &[Event]| {
        ev.iter()
            .filter(|e| matches!(e, Event::PlanRequested { .. }))
            .count()
    };
    assert_eq!(requested(&events(&dir)), requested(&ev));
    cleanup(&dir);
}

#[test]
fn llm_proposer_in_the_search_pays_nothing_twice_on_resume() {
    use llm_server::{Reply, ScriptedServer};
    let fenced = |code: String| format!("Here it is.\n```c\n{code}```\n");
    let srv = ScriptedServer::start(vec![
        Reply::openai("Option: tiling\nGrow the tiles.", 100, 20),
        Reply::openai(&fenced(program(150, false)), 200, 300),
        Reply::openai(
            &fenced("void solution(void) { not C; }\n".to_string()),
            200,
            300,
        ),
    ]);
    let model = format!("openai:test-model@{}", srv.base_url());
    let mut p = params(1);
    p.beam = 1;
    p.plans = 1;
    let dir = new_run("llm", p, &[model.as_str()]);
    let run = |dir: &Path| {
        let llm = gemforge::opt::propose::llm::LlmProposer::new(
            std::slice::from_ref(&model),
            &dir.join("llm"),
            gemforge::opt::prompts::Templates::builtin()
                .prices()
                .unwrap(),
            gemforge::opt::propose::llm::LlmOptions::default(),
        )
        .expect("llm proposer");
        let stop = AtomicBool::new(false);
        search::run(dir, &env(&llm, &stop, None)).expect("search")
    };
    let out = run(&dir);
    assert_eq!(out.status, "completed");
    assert_eq!(srv.requests().len(), 3);
    let ev = events(&dir);
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::PlanReceived { menu_id: Some(m), .. } if m == "tiling")));
    let classes: Vec<&str> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Evaluated { verdict, .. } => verdict["failure"].as_str(),
            _ => None,
        })
        .collect();
    assert_eq!(classes, ["compile_error"]);
    let (best, cycles, _) = finish_of(&ev);
    assert_ne!(
        best.as_ref(),
        Some(&search::load_config(&dir).unwrap().start)
    );
    // The planning prompt carried the parent's measured cycles.
    let start_cycles = out.start_cycles.unwrap().to_string();
    assert!(srv.requests()[0].body.to_string().contains(&start_cycles));

    let s = gemforge::opt::report::write(&dir).expect("report");
    assert_eq!(s.ledgers.len(), 1, "the proposer's ledger is journaled");
    assert!(std::fs::read_to_string(dir.join("report.md"))
        .unwrap()
        .contains("## Ledger"));
    // As if killed right after the first request was sent: every answer comes from the run's LLM store.
    let text = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap();
    let cut = text.find("\"plan_requested\"").unwrap();
    let keep = text[cut..].find('\n').unwrap() + cut + 1;
    std::fs::write(dir.join("journal.jsonl"), &text[..keep]).unwrap();
    let out = run(&dir);
    assert_eq!(out.status, "completed");
    assert_eq!(srv.requests().len(), 3, "no request paid twice");
    assert_eq!((finish_of(&events(&dir)).0, out.cycles), (best, cycles));
    cleanup(&dir);
}

#[test]
fn a_winner_that_fails_the_recheck_falls_back_to_the_next_best() {
    let stop = AtomicBool::new(false);
    let dir = new_run("recheck", params(2), &[]);
    search::run(&dir, &env(&Script::new(&[]), &stop, None)).expect("search");
    // Pretend a wrong program had passed its evaluation with 1 cycle (as a lucky input set could), and that
    // the run was killed before its re-check.
    let text = std::fs::read_to_string(dir.join("journal.jsonl")).unwrap();
    let mut liar = None;
    let mut lines = Vec::new();
    for line in text.lines() {
        let mut e: serde_json::Value = serde_json::from_str(line).unwrap();
        match e["event"].as_str().unwrap() {
            "recheck" | "finish" | "ledger" => continue,
            "evaluated" if liar.is_none() && e["verdict"]["failure"] == "wrong_result" => {
                liar = Some(e["code"].as_str().unwrap().to_string());
                let v = &mut e["verdict"];
                v["correct"] = true.into();
                v["failure"] = serde_json::Value::Null;
                v["cycles"] = 1.into();
            }
            _ => {}
        }
        lines.push(e.to_string());
    }
    let liar = liar.expect("the scripted run has a wrong program");
    std::fs::write(dir.join("journal.jsonl"), lines.join("\n") + "\n").unwrap();
    let out = search::run(&dir, &env(&Script::new(&[]), &stop, None)).expect("resume");
    assert!(out.rechecked);
    let ev = events(&dir);
    let rechecked: Vec<(&String, Option<&str>)> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Recheck { code, verdict } => Some((code, verdict["failure"].as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(rechecked[0], (&liar, Some("wrong_result")));
    assert_eq!(rechecked.len(), 2);
    let (best, cycles, _) = finish_of(&ev);
    assert_eq!(best.as_ref(), Some(rechecked[1].0));
    assert!(cycles.unwrap() > 1);
    cleanup(&dir);
}

#[test]
fn the_run_directory_lock_is_atomic_and_names_its_holder() {
    let dir = std::env::temp_dir().join(format!("gf-search-lock-{}", std::process::id()));
    cleanup(&dir);
    // Sixteen takers released at once on a directory that does not exist yet: exactly one wins.
    let gate = std::sync::Barrier::new(16);
    let results: Vec<Result<search::RunLock, String>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..16)
            .map(|_| {
                s.spawn(|| {
                    gate.wait();
                    search::RunLock::take(&dir).map_err(|e| format!("{e:#}"))
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    let me = format!("process {}", std::process::id());
    for r in &results {
        if let Err(e) = r {
            assert!(
                e.contains("in use by another search") && e.contains(&me),
                "{e}"
            );
        }
    }
    let note = std::fs::read_to_string(dir.join(search::LOCK_FILE)).unwrap();
    assert!(note.starts_with(&me), "{note}");
    // Released with its holder: the next taker gets it (a killed holder's lock goes the same way).
    drop(results);
    drop(search::RunLock::take(&dir).expect("free again"));
    cleanup(&dir);
}

#[test]
fn two_searches_started_together_on_one_new_run_dir_never_both_run() {
    let bin = env!("CARGO_BIN_EXE_gemforge");
    for trial in 0..3 {
        let dir =
            std::env::temp_dir().join(format!("gf-search-race-{}-{trial}", std::process::id()));
        cleanup(&dir);
        let spawn = || {
            std::process::Command::new(bin)
                .args([
                    "search",
                    "--workload",
                    "gemm_32x32x32",
                    "--iterations",
                    "1",
                    "--beam",
                    "1",
                    "--plans",
                    "1",
                    "--impls",
                    "1",
                    "--screen-runs",
                    "1",
                    "--no-baselines",
                    "--json",
                    "--run-dir",
                ])
                .arg(&dir)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("gemforge search")
        };
        let (a, b) = (spawn(), spawn());
        let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let ok: Vec<_> = outs.iter().filter(|o| o.status.success()).collect();
        let failed: Vec<_> = outs.iter().filter(|o| !o.status.success()).collect();
        let all: Vec<String> = outs
            .iter()
            .map(|o| format!("{:?}: {}", o.status, String::from_utf8_lossy(&o.stderr)))
            .collect();
        assert_eq!((ok.len(), failed.len()), (1, 1), "trial {trial}: {all:?}");
        let e = String::from_utf8_lossy(&failed[0].stderr);
        // Refused while the other runs, or (if it started late) because the directory holds a run.
        assert!(
            e.contains("is in use by another search (process") || e.contains("already holds a run"),
            "trial {trial}: {e}"
        );
        // The journal was written by one process only.
        let ev = events(&dir);
        let starts = ev
            .iter()
            .filter(|e| matches!(e, Event::Start { .. }))
            .count();
        let finishes = ev
            .iter()
            .filter(|e| matches!(e, Event::Finish { .. }))
            .count();
        assert_eq!((starts, finishes), (1, 1), "trial {trial}");
        cleanup(&dir);
    }
}

/// Writes a program that does not compile, and repairs it into a faster correct one; $1 per call.
struct Repairer {
    calls: Mutex<Vec<&'static str>>,
}

impl Repairer {
    fn call(&self, what: &'static str) {
        self.calls.lock().unwrap().push(what);
    }
}

impl Proposer for Repairer {
    fn name(&self) -> String {
        "repairer".into()
    }
    fn plan(&self, _req: &PlanRequest<'_>) -> Result<Plan, ProposeError> {
        self.call("plan");
        Ok(Plan {
            text: "shorten the delay".into(),
            menu_id: Some("tiling".into()),
            meta: serde_json::Value::Null,
        })
    }
    fn implement(&self, req: &ImplRequest<'_>) -> Result<String, ProposeError> {
        self.call("implement");
        Ok(format!(
            "// delay {}\nthis is not C;\n",
            delay_of(req.parent_code)
        ))
    }
    fn repair(
        &self,
        req: &gemforge::opt::propose::RepairRequest<'_>,
    ) -> Result<String, ProposeError> {
        self.call("repair");
        assert!(req.error.starts_with("compile_error: "), "{}", req.error);
        assert!(req
            .failed_code
            .is_some_and(|c| c.contains("this is not C;")));
        assert_eq!(req.plan.map(|p| p.text.as_str()), Some("shorten the delay"));
        Ok(program(delay_of(req.parent_code) - 100, false))
    }
    fn spent_usd(&self) -> f64 {
        self.calls.lock().unwrap().len() as f64
    }
}

#[test]
fn repairs_compete_as_implementations_and_count_against_the_budget() {
    let mut p = params(1);
    p.beam = 1;
    p.plans = 1;
    p.impls = 1;
    p.repair = true;
    let dir = new_run("repair", p.clone(), &[]);
    let prop = Repairer {
        calls: Mutex::new(Vec::new()),
    };
    let stop = AtomicBool::new(false);
    let out = search::run(&dir, &env(&prop, &stop, None)).expect("search");
    assert_eq!(out.status, "completed");
    assert_eq!(*prop.calls.lock().unwrap(), ["plan", "implement", "repair"]);
    let ev = events(&dir);
    let repaired = ev
        .iter()
        .find_map(|e| match e {
            Event::ProgramRequested {
                slot, kind, parent, ..
            } if kind.as_deref() == Some("repair") => Some((slot.clone(), parent.clone())),
            _ => None,
        })
        .expect("a repair request");
    assert!(repaired.0.ends_with("/n0/k0/r"), "{repaired:?}");
    assert_eq!(
        repaired.1.as_deref(),
        Some(search::load_config(&dir).unwrap().start.as_str())
    );
    // The repaired program won, as an implementation of the plan.
    let (best, cycles, _) = finish_of(&ev);
    let final_beam = ev
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Selection { beam, .. } => Some(beam.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(Some(&final_beam[0].code), best.as_ref());
    assert_eq!(Some(final_beam[0].cycles), cycles);
    assert!(cycles < out.start_cycles);
    assert_eq!(final_beam[0].menu_id.as_deref(), Some("tiling"));
    assert_eq!(
        final_beam[0].plan_slot.as_deref(),
        Some(&repaired.0[..repaired.0.len() - 5])
    );
    cleanup(&dir);

    // With $2 to spend, the plan and the program use it up: the repair is not asked for.
    p.budget_usd = Some(2.0);
    let dir = new_run("repair-budget", p, &[]);
    let prop = Repairer {
        calls: Mutex::new(Vec::new()),
    };
    let out = search::run(&dir, &env(&prop, &stop, None)).expect("search");
    assert_eq!(out.status, "budget");
    assert_eq!(*prop.calls.lock().unwrap(), ["plan", "implement"]);
    let ev = events(&dir);
    assert!(ev.iter().any(|e| matches!(e, Event::BudgetStop { .. })));
    assert!(!ev
        .iter()
        .any(|e| matches!(e, Event::ProgramRequested { kind: Some(_), .. })));
    cleanup(&dir);
}

/// `-v` on `search`: one line per LLM call (model, latency, tokens) and one per evaluated candidate (its
/// verdict, fresh or from the verdict cache, and wall time), with stdout byte for byte as without -v. The
/// runs share a private cache directory; the verdict cache is emptied before the -v run so that both
/// runs evaluate (a cached verdict is counted in the summary), and kept for a third run that must say
/// it was a cache hit.
#[test]
fn search_verbose_shows_llm_calls_and_candidates() {
    use llm_server::{Reply, ScriptedServer};
    let fenced = |code: String| format!("Here it is.\n```c\n{code}```\n");
    let srv = ScriptedServer::start(Vec::new());
    for _ in 0..3 {
        srv.push(Reply::openai("Option: tiling\nGrow the tiles.", 100, 20));
        srv.push(Reply::openai(&fenced(program(150, false)), 200, 300));
    }
    let model = format!("openai:test-model@{}", srv.base_url());
    let root = std::env::temp_dir().join(format!("gf-search-verbose-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let cache = root.join("cache");
    let search = |verbose: bool, run: &str| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gemforge"));
        if verbose {
            cmd.arg("-v");
        }
        let out = cmd
            .env("GEMFORGE_CACHE_DIR", &cache)
            .args([
                "search",
                "--workload",
                WORKLOAD,
                "--proposer",
                "llm",
                "--model",
                &model,
                "--iterations",
                "1",
                "--beam",
                "1",
                "--plans",
                "1",
                "--impls",
                "1",
                "--screen-runs",
                "1",
                "--no-baselines",
                "--llm-concurrency",
                "1",
                "--json",
                "--out-dir",
            ])
            .arg(root.join(run))
            .output()
            .expect("gemforge search");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<String> = String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.starts_with("gemforge: "))
            .map(str::to_string)
            .collect();
        (String::from_utf8_lossy(&out.stdout).into_owned(), lines)
    };
    let (plain, plain_lines) = search(false, "plain");
    assert!(plain_lines.is_empty(), "{plain_lines:?}");
    std::fs::remove_dir_all(cache.join("verdicts")).expect("the verdict cache was written");
    let (verbose, lines) = search(true, "verbose");
    assert_eq!(plain, verbose, "-v changed stdout");
    let has =
        |lines: &[String], a: &str, b: &str| lines.iter().any(|l| l.contains(a) && l.contains(b));
    assert!(
        has(
            &lines,
            "llm plan openai:test-model: answered in ",
            "100 input + 20 output tokens"
        ),
        "{lines:?}"
    );
    assert!(
        has(
            &lines,
            "llm implement openai:test-model: answered in ",
            "200 input + 300 output tokens"
        ),
        "{lines:?}"
    );
    assert!(
        has(&lines, "search: candidate ", ": correct, ")
            && has(&lines, "(evaluated; done ", " s after the batch started)"),
        "{lines:?}"
    );
    // A third run finds the verdicts in the cache and says so.
    let (_, lines) = search(true, "cached");
    assert!(
        has(&lines, "search: candidate ", "(verdict cache hit)"),
        "{lines:?}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// The candidates a run judged (its `evaluated` events other than the starting program and the
/// baselines), in journal order: what `--max-evaluations` counts.
fn judged(dir: &Path) -> Vec<String> {
    let start = ev_start(dir);
    events(dir)
        .into_iter()
        .filter_map(|e| match e {
            Event::Evaluated { code, .. } if code != start && !code.starts_with("baseline:") => {
                Some(code)
            }
            _ => None,
        })
        .collect()
}

/// The sample budget is exact: with K = 2 programs per plan and two evaluations at once, a run allowed
/// five candidates judges exactly five (each once), stops asking the proposer after the fifth, ends with
/// status `budget`, a reason that names the budget, and its best so far; the summary and the text
/// output say so too.
#[test]
fn the_sample_budget_is_exact_and_stops_the_search() {
    let mut p = params(4);
    p.eval_jobs = 2;
    p.max_evaluations = Some(5);
    let dir = new_run("max-evals", p.clone(), &[]);
    let script = Script::new(&[]);
    let stop = AtomicBool::new(false);
    let out = search::run(&dir, &env(&script, &stop, None)).expect("search");
    assert_eq!(out.status, "budget");
    let ev = events(&dir);
    let got = judged(&dir);
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(
        got.iter().collect::<HashSet<_>>().len(),
        5,
        "each candidate is judged once"
    );
    // Not vacuous: the run would have judged more (its last iteration had candidates left over).
    let (_, _, reason) = finish_of(&ev);
    assert!(
        reason.starts_with("budget: evaluated 5 of the 5 candidates --max-evaluations allows"),
        "{reason}"
    );
    let stop_detail = ev
        .iter()
        .find_map(|e| match e {
            Event::BudgetStop { detail, .. } => Some(detail.clone()),
            _ => None,
        })
        .expect("a budget_stop event");
    assert!(reason.ends_with(&stop_detail), "{reason} / {stop_detail}");
    // Nothing was asked after the fifth verdict.
    let fifth = ev
        .iter()
        .rposition(|e| matches!(e, Event::Evaluated { code, .. } if *code == got[4]))
        .unwrap();
    assert!(
        !ev[fifth..].iter().any(|e| matches!(
            e,
            Event::PlanRequested { .. } | Event::ProgramRequested { .. }
        )),
        "a proposer request after the budget was spent"
    );
    // The best so far is the best correct candidate judged, re-checked.
    let (best, cycles, _) = finish_of(&ev);
    assert!(best.is_some() && out.rechecked);
    let best_judged = ev
        .iter()
        .filter_map(|e| match e {
            Event::Evaluated { code, verdict, .. } if !code.starts_with("baseline:") => {
                let v = gemforge::bench::eval_cache::verdict_from_json(verdict).unwrap();
                v.cycles.filter(|_| v.correct && v.failure.is_none())
            }
            _ => None,
        })
        .min();
    assert_eq!(cycles, best_judged);
    let s = gemforge::opt::report::write(&dir).expect("report");
    assert_eq!(s.candidates_evaluated, 5);
    assert_eq!(s.evaluations, 6, "five candidates and the starting program");
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("| evaluation budget | 5 candidates |"), "{md}");
    cleanup(&dir);

    // The same run without a budget judges more than five: the budget is what stopped it.
    p.max_evaluations = None;
    let dir = new_run("max-evals-none", p, &[]);
    let out = search::run(&dir, &env(&Script::new(&[]), &stop, None)).expect("search");
    assert_eq!(out.status, "completed");
    assert!(judged(&dir).len() > 5, "{}", judged(&dir).len());
    cleanup(&dir);
}

/// A run interrupted before its budget is spent and resumed judges the same candidates as one that
/// ran through: the budget counts across processes and admits the same programs.
#[test]
fn the_sample_budget_survives_a_resume() {
    static STOP: AtomicBool = AtomicBool::new(false);
    let mut p = params(4);
    p.eval_jobs = 2;
    p.max_evaluations = Some(6);
    let dir = new_run("max-evals-whole", p.clone(), &[]);
    let go = AtomicBool::new(false);
    let whole = search::run(&dir, &env(&Script::new(&[]), &go, None)).expect("search");
    assert_eq!(whole.status, "budget");
    let whole_judged = judged(&dir);
    assert_eq!(whole_judged.len(), 6);
    cleanup(&dir);

    let dir = new_run("max-evals-resumed", p, &[]);
    // Iteration 1 makes 2 plan and 4 program calls; the interrupt lands in iteration 2's planning, after
    // some candidates were judged and before the budget is spent.
    let mut script = Script::new(&[]);
    script.interrupt_after = Some((8, &STOP));
    let out = search::run(&dir, &env(&script, &STOP, None)).expect("search");
    assert_eq!(out.status, "interrupted");
    let before = judged(&dir).len();
    assert!(before > 0 && before < 6, "{before}");
    let out = search::run(&dir, &env(&Script::new(&[]), &go, None)).expect("resume");
    assert_eq!(out.status, "budget");
    // The same candidates (journaled in the order their verdicts arrived, which two evaluations at
    // once may swap).
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(sorted(judged(&dir)), sorted(whole_judged));
    assert_eq!(out.cycles, whole.cycles);
    cleanup(&dir);
}

/// The guided phase of schedule reuse counts toward the budget: a budget smaller than the guided phase
/// ends the run inside it, before the full search.
#[test]
fn the_guided_phase_counts_toward_the_sample_budget() {
    let mut p = params(2);
    p.plans = 4;
    p.impls = 4;
    p.guided = vec!["tiling".into(), "double_buffering".into(), "tiling".into()];
    p.max_evaluations = Some(3);
    let dir = new_run("max-evals-guided", p, &[]);
    let out =
        search::run(&dir, &env(&Script::new(&[]), &AtomicBool::new(false), None)).expect("search");
    assert_eq!(out.status, "budget");
    assert_eq!(judged(&dir).len(), 3);
    let ev = events(&dir);
    let phases: Vec<String> = ev
        .iter()
        .filter_map(|e| match e {
            Event::IterationStart { phase, .. } => Some(phase.clone()),
            _ => None,
        })
        .collect();
    assert!(
        !phases.is_empty() && phases.iter().all(|p| p == "guided"),
        "{phases:?}"
    );
    cleanup(&dir);
}

/// A repair is a candidate like any other: with a budget of one, the failed first program spends it and
/// the repair is not asked for.
#[test]
fn a_repair_is_not_asked_for_once_the_sample_budget_is_spent() {
    let mut p = params(1);
    p.beam = 1;
    p.plans = 1;
    p.impls = 1;
    p.repair = true;
    p.max_evaluations = Some(1);
    let dir = new_run("max-evals-repair", p, &[]);
    let prop = Repairer {
        calls: Mutex::new(Vec::new()),
    };
    let out = search::run(&dir, &env(&prop, &AtomicBool::new(false), None)).expect("search");
    assert_eq!(out.status, "budget");
    assert_eq!(*prop.calls.lock().unwrap(), ["plan", "implement"]);
    assert_eq!(judged(&dir).len(), 1);
    // No better program was found: the best so far is the starting program.
    assert_eq!(out.cycles, out.start_cycles);
    cleanup(&dir);
}

/// `--max-evaluations` on the command line: the text output says the budget stopped the run and how
/// many candidates it judged; `--resume` refuses another budget (or one given to a run without) and
/// accepts the run's own; 0 and non-numbers are refused by the parser.
#[test]
fn cli_max_evaluations_reports_resumes_and_refuses_bad_values() {
    use clap::Parser;
    use gemforge::opt::search::cli::{search_command, Providers};
    let base = std::env::temp_dir().join(format!("gf-search-maxev-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let start = base.join("start.c");
    std::fs::write(&start, program(START_DELAY, false)).unwrap();
    let make = |_kind: gemforge::opt::search::cli::ProposerKind, cfg: &RunConfig, _dir: &Path| {
        let m: Vec<&str> = cfg.models.iter().map(String::as_str).collect();
        Ok(Box::new(Script::new(&m)) as Box<dyn Proposer>)
    };
    let providers = Providers {
        proposer: &make,
        menu: &|_| Ok(menu()),
        start: &|_, _| anyhow::bail!("no naive baseline in this test"),
        baselines: &|_, _| Vec::new(),
    };
    let run = base.join("run");
    let (run_s, start_s) = (run.to_str().unwrap(), start.to_str().unwrap());
    let a = [
        "--workload",
        WORKLOAD,
        "--iterations",
        "3",
        "--beam",
        "2",
        "--plans",
        "2",
        "--impls",
        "2",
        "--seed",
        "5",
        "--screen-runs",
        "1",
        "--jobs",
        "2",
        "--max-evaluations",
        "4",
        "--proposer",
        "llm",
        "--model",
        "a",
        "--run-dir",
        run_s,
        "--start",
        start_s,
    ];
    let (text, code) = search_command(&parse(&a), &providers).expect("search");
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(
            "status         budget: evaluated 4 of the 4 candidates --max-evaluations allows"
        ),
        "{text}"
    );
    assert!(text.contains("4 candidates of the budget's 4"), "{text}");
    assert_eq!(judged(&run).len(), 4);
    assert_eq!(
        search::load_config(&run).unwrap().params.max_evaluations,
        Some(4)
    );
    let err = search_command(
        &parse(&["--resume", "--run-dir", run_s, "--max-evaluations", "5"]),
        &providers,
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("--max-evaluations 5 (the run has 4)"),
        "{err:#}"
    );
    let (_, code) = search_command(
        &parse(&["--resume", "--run-dir", run_s, "--max-evaluations", "4"]),
        &providers,
    )
    .expect("resume with the run's own budget");
    assert_eq!(code, 0);
    // A run started without a budget does not get one on resume.
    let free = base.join("free");
    let mut b: Vec<&str> = a.to_vec();
    let at = b.iter().position(|&x| x == "--max-evaluations").unwrap();
    b.drain(at..at + 2);
    let free_s = free.to_str().unwrap();
    let at = b.iter().position(|&x| x == "--run-dir").unwrap() + 1;
    b[at] = free_s;
    let at = b.iter().position(|&x| x == "--iterations").unwrap() + 1;
    b[at] = "1";
    search_command(&parse(&b), &providers).expect("search without a budget");
    let err = search_command(
        &parse(&["--resume", "--run-dir", free_s, "--max-evaluations", "100"]),
        &providers,
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("--max-evaluations 100 (the run has none)"),
        "{err:#}"
    );
    for bad in ["0", "-3", "many", "1.5"] {
        let opt = format!("--max-evaluations={bad}");
        let e = Cli::try_parse_from(["search", "--workload", WORKLOAD, opt.as_str()])
            .err()
            .unwrap_or_else(|| panic!("--max-evaluations {bad} was accepted"));
        let e = e.to_string();
        assert!(e.contains("--max-evaluations"), "{bad}: {e}");
    }
    cleanup(&base);
}

//! A search run's report, rebuilt from its run directory (config, journal and store) alone: `report.md`,
//! `plot.svg` (best cycles per iteration with the baselines as horizontal lines), `best.c` and
//! `summary.json`. `gemforge report RUN_DIR` calls [`write`]; the search calls it when it finishes.

use crate::bench::eval_cache::verdict_from_json;
use crate::opt::search::journal::{self, Event, Store, JOURNAL_FILE, STORE_DIR};
use crate::opt::search::select::Contender;
use crate::opt::search::{load_config, RunConfig};
use anyhow::Context;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

/// What a run's journal says, digested.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub workload: String,
    pub proposer: String,
    pub models: Vec<String>,
    /// "running" when the journal has no finish event yet (interrupted or still going).
    pub status: String,
    pub start_cycles: Option<u64>,
    pub best: Option<String>,
    pub best_cycles: Option<u64>,
    pub ideal_cycles: Option<u64>,
    pub speedup_over_start: Option<f64>,
    /// (step, phase, best cycles after the step's selection); step 0 is the starting program.
    pub steps: Vec<(u32, String, u64)>,
    /// The menu ids along the winner's ancestry, oldest first: what `--reuse-from` replays.
    pub schedule: Vec<String>,
    pub ancestry: Vec<Ancestor>,
    pub baselines: Vec<BaselineResult>,
    pub plans_requested: usize,
    pub plans_failed: usize,
    pub programs_requested: usize,
    pub programs_failed: usize,
    pub evaluations: usize,
    pub cached_evaluations: usize,
    /// Candidates judged: `evaluations` without the starting program (what `--max-evaluations` counts).
    pub candidates_evaluated: usize,
    /// Failures by class: evaluation failures (`compile_error`, `wrong_result`, ...) and proposer failures
    /// (`plan:llm`, `program:unusable`, ...).
    pub failures: BTreeMap<String, usize>,
    /// The proposer's failed requests, one entry per distinct error (provider errors with the model, HTTP
    /// status and the server's message; unusable answers), in order of first appearance.
    pub proposer_errors: Vec<ProposerErrorCount>,
    pub spent_usd: f64,
    /// The proposer's ledger of each process of the run, oldest first (a killed process has none; its
    /// spend is still in `spent_usd`).
    pub ledgers: Vec<serde_json::Value>,
}

/// One distinct proposer error and how often it occurred.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProposerErrorCount {
    /// "plan" or "program".
    pub request: String,
    /// The failure class (`llm`, `unusable`, `not_applicable`, `budget`).
    pub class: String,
    pub detail: String,
    pub count: usize,
    /// The first request slot that failed so.
    pub first_slot: String,
}

fn count_error(
    list: &mut Vec<ProposerErrorCount>,
    request: &str,
    class: &str,
    detail: &str,
    slot: &str,
) {
    match list
        .iter_mut()
        .find(|e| e.request == request && e.class == class && e.detail == detail)
    {
        Some(e) => e.count += 1,
        None => list.push(ProposerErrorCount {
            request: request.into(),
            class: class.into(),
            detail: detail.into(),
            count: 1,
            first_slot: slot.into(),
        }),
    }
}

/// A baseline's verdict: cycles when correct, else the failure class.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BaselineResult {
    pub name: String,
    pub cycles: Option<u64>,
    pub failure: Option<String>,
}

/// One program on the winner's line of descent.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ancestor {
    pub code: String,
    pub step: u32,
    pub cycles: u64,
    pub menu_id: Option<String>,
    pub plan: Option<String>,
}

/// Digest a run directory.
pub fn summarize(dir: &Path) -> anyhow::Result<(RunConfig, Summary)> {
    let cfg = load_config(dir)?;
    let replay = journal::read_journal(&dir.join(JOURNAL_FILE))?;
    let store = Store::new(dir.join(STORE_DIR));
    let mut s = Summary {
        workload: cfg.workload.clone(),
        proposer: cfg.proposer.clone(),
        models: cfg.models.clone(),
        status: "running".into(),
        start_cycles: None,
        best: None,
        best_cycles: None,
        ideal_cycles: None,
        speedup_over_start: None,
        steps: Vec::new(),
        schedule: Vec::new(),
        ancestry: Vec::new(),
        baselines: Vec::new(),
        plans_requested: 0,
        plans_failed: 0,
        programs_requested: 0,
        programs_failed: 0,
        evaluations: 0,
        cached_evaluations: 0,
        candidates_evaluated: 0,
        failures: BTreeMap::new(),
        proposer_errors: Vec::new(),
        spent_usd: 0.0,
        ledgers: Vec::new(),
    };
    let mut phases: HashMap<u32, String> = HashMap::new();
    let mut known: HashMap<String, Contender> = HashMap::new();
    for ev in &replay.events {
        match ev {
            Event::IterationStart { step, phase, .. } => {
                phases.insert(*step, phase.clone());
            }
            Event::PlanRequested { .. } => s.plans_requested += 1,
            Event::PlanFailed {
                class,
                detail,
                slot,
                ..
            } => {
                s.plans_failed += 1;
                *s.failures.entry(format!("plan:{class}")).or_default() += 1;
                if class != "not_applicable" {
                    count_error(&mut s.proposer_errors, "plan", class, detail, slot);
                }
            }
            Event::ProgramRequested { .. } => s.programs_requested += 1,
            Event::ProgramFailed {
                class,
                detail,
                slot,
                ..
            } => {
                s.programs_failed += 1;
                *s.failures.entry(format!("program:{class}")).or_default() += 1;
                if class != "not_applicable" {
                    count_error(&mut s.proposer_errors, "program", class, detail, slot);
                }
            }
            Event::Evaluated {
                code,
                verdict,
                cached,
            } => {
                let v = verdict_from_json(verdict)?;
                if let Some(name) = code.strip_prefix("baseline:") {
                    s.baselines.push(BaselineResult {
                        name: name.to_string(),
                        cycles: v.cycles.filter(|_| v.correct),
                        failure: v
                            .failure
                            .map(|f| f.name().to_string())
                            .or_else(|| (!v.correct).then(|| "incorrect".to_string())),
                    });
                    continue;
                }
                s.evaluations += 1;
                s.cached_evaluations += usize::from(*cached);
                if code != &cfg.start {
                    s.candidates_evaluated += 1;
                }
                if code == &cfg.start {
                    s.start_cycles = v.cycles.filter(|_| v.correct);
                    s.ideal_cycles = Some(v.ideal_cycles);
                    if let Some(c) = s.start_cycles {
                        s.steps.push((0, "start".into(), c));
                    }
                }
                if let Some(f) = v.failure {
                    *s.failures.entry(f.name().to_string()).or_default() += 1;
                }
            }
            Event::Selection {
                step,
                beam,
                best_cycles,
            } => {
                let phase = phases.get(step).cloned().unwrap_or_default();
                s.steps.push((*step, phase, *best_cycles));
                for c in beam {
                    known.entry(c.code.clone()).or_insert_with(|| c.clone());
                }
            }
            Event::Ledger { ledger } => s.ledgers.push(ledger.clone()),
            Event::Finish {
                best,
                cycles,
                reason,
                spent_usd,
            } => {
                s.status = reason.clone();
                s.best = best.clone();
                s.best_cycles = *cycles;
                s.spent_usd = *spent_usd;
            }
            _ => {}
        }
    }
    // The winner's line of descent (the starting program has no parent).
    let mut at = s.best.clone();
    while let Some(code) = at {
        let Some(c) = known.get(&code) else { break };
        let plan = c.plan.as_ref().map(|h| {
            store
                .get(h, "json")
                .ok()
                .and_then(|t| serde_json::from_str::<crate::opt::propose::Plan>(&t).ok())
                .map(|p| p.text)
                .unwrap_or_else(|| format!("(plan {h} missing from the store)"))
        });
        s.ancestry.push(Ancestor {
            code: code.clone(),
            step: c.step,
            cycles: c.cycles,
            menu_id: c.menu_id.clone(),
            plan,
        });
        at = c.parent.clone();
    }
    s.ancestry.reverse();
    s.schedule = s
        .ancestry
        .iter()
        .filter_map(|a| a.menu_id.clone())
        .collect();
    if let (Some(a), Some(b)) = (s.start_cycles, s.best_cycles) {
        s.speedup_over_start = Some(a as f64 / b.max(1) as f64);
    }
    Ok((cfg, s))
}

/// Rebuild `report.md`, `plot.svg`, `best.c` and `summary.json` in `dir`.
pub fn write(dir: &Path) -> anyhow::Result<Summary> {
    let (cfg, s) = summarize(dir)?;
    let put = |name: &str, text: &str| crate::store::write_atomic(&dir.join(name), text.as_bytes());
    put("summary.json", &serde_json::to_string_pretty(&s)?)?;
    if let Some(b) = &s.best {
        let code = Store::new(dir.join(STORE_DIR)).get(b, "c")?;
        put("best.c", &code)?;
    }
    put("plot.svg", &plot_svg(&s, &[]).context("drawing plot.svg")?)?;
    put("report.md", &markdown(&cfg, &s))?;
    Ok(s)
}

fn markdown(cfg: &RunConfig, s: &Summary) -> String {
    let p = &cfg.params;
    let mut m = String::new();
    let _ = writeln!(
        m,
        "# gemforge search: {} ({})\n",
        cfg.workload, cfg.workload_shape
    );
    let _ = writeln!(m, "Status: {}\n", s.status);
    let _ = writeln!(m, "## Parameters\n");
    let _ = writeln!(m, "| parameter | value |\n|---|---|");
    let models = if cfg.models.is_empty() {
        "-".to_string()
    } else {
        cfg.models.join(", ")
    };
    for (k, v) in [
        ("proposer", cfg.proposer.clone()),
        ("models", models),
        ("hardware", cfg.hw.name.clone()),
        ("iterations T", p.iterations.to_string()),
        ("beam B", p.beam.to_string()),
        ("plans per entry N", p.plans.to_string()),
        ("programs per plan K", p.impls.to_string()),
        ("menu keep probability p", p.keep_prob.to_string()),
        ("seed", p.seed.to_string()),
        (
            "regression allowance",
            format!(
                "{:.0}% in the first {} iterations",
                p.regression_allowance * 100.0,
                p.allowance_iterations
            ),
        ),
        (
            "early stop",
            p.early_stop
                .map_or("off".into(), |e| format!("after {e} iterations")),
        ),
        (
            "budget",
            p.budget_usd.map_or("none".into(), |b| format!("${b:.2}")),
        ),
        (
            "evaluation budget",
            p.max_evaluations
                .map_or("none".into(), |n| format!("{n} candidates")),
        ),
        ("loop FSM allowed", p.allow_loop_fsm.to_string()),
        (
            "planning / code models",
            if cfg.plan_models.is_empty() && cfg.code_models.is_empty() {
                "as above".into()
            } else {
                format!(
                    "{} / {}",
                    cfg.planning_models().join(", "),
                    cfg.coding_models().join(", ")
                )
            },
        ),
        ("edits", p.edits.to_string()),
        ("repair", p.repair.to_string()),
        ("skip planning", p.skip_planning.to_string()),
        ("ancestors in prompts", p.ancestors.to_string()),
        (
            "guided phase",
            if p.guided.is_empty() {
                "none".into()
            } else {
                p.guided.join(" -> ")
            },
        ),
    ] {
        let _ = writeln!(m, "| {k} | {v} |");
    }
    let _ = writeln!(m, "\n## Result\n");
    match (s.best_cycles, s.start_cycles) {
        (Some(b), Some(a)) => {
            let _ = writeln!(
                m,
                "Best: {b} cycles (start {a}, {:.2}x){}; re-checked on fresh inputs. Program: `best.c`.\n",
                a as f64 / b.max(1) as f64,
                s.ideal_cycles
                    .map(|i| format!(", utilization {:.1}%", i as f64 / b.max(1) as f64 * 100.0))
                    .unwrap_or_default()
            );
        }
        _ => {
            let _ = writeln!(m, "No finished result yet.\n");
        }
    }
    if !s.baselines.is_empty() {
        let _ = writeln!(m, "| baseline | cycles |\n|---|---|");
        for b in &s.baselines {
            let _ = writeln!(
                m,
                "| {} | {} |",
                b.name,
                match (b.cycles, &b.failure) {
                    (Some(c), _) => c.to_string(),
                    (None, Some(f)) => format!("failed: {f}"),
                    (None, None) => "failed".into(),
                }
            );
        }
        let _ = writeln!(m);
    }
    let _ = writeln!(m, "## Best cycles per iteration\n\n![plot](plot.svg)\n");
    let _ = writeln!(m, "| step | phase | best cycles |\n|---|---|---|");
    for (step, phase, c) in &s.steps {
        let _ = writeln!(m, "| {step} | {phase} | {c} |");
    }
    let _ = writeln!(m, "\n## The winner's ancestry\n");
    for a in &s.ancestry {
        let _ = writeln!(
            m,
            "- step {}: {} cycles, `{}`{}",
            a.step,
            a.cycles,
            a.code.chars().take(12).collect::<String>(),
            a.menu_id
                .as_ref()
                .map(|id| format!(", option `{id}`"))
                .unwrap_or_default()
        );
        if let Some(p) = &a.plan {
            for line in p.lines().take(12) {
                let _ = writeln!(m, "  > {line}");
            }
        }
    }
    let _ = writeln!(
        m,
        "\nSchedule (for --reuse-from): {}\n",
        s.schedule.join(" -> ")
    );
    let _ = writeln!(m, "## Requests and evaluations\n");
    let _ = writeln!(
        m,
        "{} plans requested ({} failed), {} programs requested ({} failed), {} evaluations ({} from the cache).\n",
        s.plans_requested, s.plans_failed, s.programs_requested, s.programs_failed, s.evaluations,
        s.cached_evaluations
    );
    if !s.failures.is_empty() {
        let _ = writeln!(m, "| failure | count |\n|---|---|");
        for (k, v) in &s.failures {
            let _ = writeln!(m, "| {k} | {v} |");
        }
        let _ = writeln!(m);
    }
    if !s.proposer_errors.is_empty() {
        let _ = writeln!(
            m,
            "## Proposer errors\n\nEach distinct error of the proposer (its provider's HTTP status and message, \
             or what made an answer unusable), with how often it occurred and the first request it hit:\n"
        );
        let _ = writeln!(
            m,
            "| request | class | count | first slot | error |\n|---|---|---|---|---|"
        );
        for e in &s.proposer_errors {
            let _ = writeln!(
                m,
                "| {} | {} | {} | `{}` | {} |",
                e.request,
                e.class,
                e.count,
                e.first_slot,
                e.detail.replace('|', "\\|").replace('\n', " ")
            );
        }
        let _ = writeln!(m);
    }
    if !s.ledgers.is_empty() {
        let _ = writeln!(
            m,
            "## Ledger\n\nSpent ${:.4} in total. The proposer's ledger of each process of the run:\n",
            s.spent_usd
        );
        for l in &s.ledgers {
            let _ = writeln!(
                m,
                "```json\n{}\n```",
                serde_json::to_string_pretty(l).unwrap_or_default()
            );
        }
    }
    m
}

/// Labelled values of a log axis from `lo` to `hi`: 1, 2 and 5 times the powers of ten in range (plotters
/// labels only the powers of ten, which leaves a range inside one decade with one label or none).
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut decade = 10f64.powf(lo.max(1.0).log10().floor());
    while decade <= hi {
        for m in [1.0, 2.0, 5.0] {
            let v = decade * m;
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
        decade *= 10.0;
    }
    out
}

/// Best cycles per step on a log scale, with the baselines as horizontal lines and, when given, every
/// correct candidate as a dot (`candidates`: (step, cycles)).
pub fn plot_svg(s: &Summary, candidates: &[(u32, u64)]) -> anyhow::Result<String> {
    use plotters::prelude::*;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 480)).into_drawing_area();
        root.fill(&WHITE)?;
        let points: Vec<(u32, u64)> = s.steps.iter().map(|(st, _, c)| (*st, *c)).collect();
        let base: Vec<(String, u64)> = s
            .baselines
            .iter()
            .filter_map(|b| b.cycles.map(|c| (b.name.clone(), c)))
            .collect();
        let last = points
            .iter()
            .chain(candidates)
            .map(|p| p.0)
            .max()
            .unwrap_or(0)
            .max(1);
        let all = || {
            points
                .iter()
                .chain(candidates)
                .map(|p| p.1)
                .chain(base.iter().map(|b| b.1))
        };
        // Cycles span orders of magnitude (a naive start against the hardware FSM): a log axis.
        let ymax = all().max().unwrap_or(1).max(1) as f64 * 1.25;
        let ymin = (all().min().unwrap_or(1).max(1) as f64 / 1.25).max(1.0);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{}: best cycles per iteration", s.workload),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(72)
            .build_cartesian_2d(
                0f64..f64::from(last),
                (ymin..ymax)
                    .log_scale()
                    .with_key_points(log_ticks(ymin, ymax)),
            )?;
        chart
            .configure_mesh()
            .x_labels((last as usize + 1).min(20))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_labels(12)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .x_desc("iteration (0 = starting program)")
            .y_desc("cycles (log scale)")
            .draw()?;
        let palette = [&RED, &GREEN, &MAGENTA, &CYAN, &BLACK];
        for (i, (name, c)) in base.iter().enumerate() {
            let color = palette[i % palette.len()];
            let y = *c as f64;
            chart
                .draw_series(LineSeries::new(
                    [(0.0, y), (f64::from(last), y)],
                    color.stroke_width(1),
                ))?
                .label(format!("{name}: {c}"))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color));
        }
        let pts: Vec<(f64, f64)> = points
            .iter()
            .map(|&(x, y)| (f64::from(x), y as f64))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), BLUE.stroke_width(2)))?
            .label("search best")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, BLUE.filled())))?;
        if !candidates.is_empty() {
            let grey = RGBColor(120, 120, 120).mix(0.5);
            chart
                .draw_series(
                    candidates
                        .iter()
                        .map(|&(x, y)| Circle::new((f64::from(x), y as f64), 2, grey.filled())),
                )?
                .label("correct candidates")
                .legend(move |(x, y)| Circle::new((x + 8, y), 2, grey.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

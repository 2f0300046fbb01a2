//! The run viewer: `gemforge report RUN_DIR --html [OUT]` writes one self-contained HTML file (inline CSS,
//! a few lines of inline JavaScript, inline SVG; nothing fetched from the network) that shows a search run
//! from its run directory alone: the beam per iteration as a tree (each node with its cycles, menu option,
//! plan and models), every candidate with its diff against its parent, the hardware feedback it got or
//! the failure it met, cycles over iterations on a log scale with the baselines as lines, and the token and
//! cost ledger.
//!
//! Candidates and model answers are adversarial text: every piece of it goes through [`esc`] before it
//! reaches the page, and none of it is ever placed inside the script, a style or an attribute without
//! escaping, so a plan holding `</script><script>...` is shown as text and never runs.

use crate::bench::eval::{Failure, Verdict};
use crate::bench::eval_cache::verdict_from_json;
use crate::opt::propose::Plan;
use crate::opt::report::{summarize, Summary};
use crate::opt::search::journal::{self, Event, Store, JOURNAL_FILE, STORE_DIR};
use crate::opt::search::select::Contender;
use crate::opt::search::RunConfig;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

/// Escape text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

fn short(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

/// One program request of the run and what became of it.
#[derive(Debug, Clone, Default)]
struct Request {
    slot: String,
    step: u32,
    /// `implement`, `direct` or `repair`.
    kind: String,
    plan_slot: String,
    parent: Option<String>,
    code_model: Option<String>,
    /// The program it produced (hash), or why it failed (class, message).
    code: Option<String>,
    failed: Option<(String, String)>,
    /// A one-call answer's own plan (hash) and option.
    answer_plan: Option<String>,
    answer_menu: Option<String>,
}

/// One plan request and its outcome.
#[derive(Debug, Clone, Default)]
struct PlanInfo {
    parent: String,
    model: Option<String>,
    plan: Option<String>,
    menu_id: Option<String>,
    failed: Option<(String, String)>,
}

/// Everything the page shows, read from the run directory.
struct Run {
    cfg: RunConfig,
    summary: Summary,
    store: Store,
    plans: BTreeMap<String, PlanInfo>,
    requests: Vec<Request>,
    verdicts: HashMap<String, Verdict>,
    /// Beam after each step: (step, phase, iteration, members).
    beams: Vec<(u32, String, u32, Vec<Contender>)>,
    /// Every program that was ever in a beam, by hash (the start too).
    nodes: HashMap<String, Contender>,
}

fn step_of(slot: &str) -> u32 {
    slot.strip_prefix('s')
        .and_then(|s| s.split('/').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn read_run(dir: &Path) -> anyhow::Result<Run> {
    let (cfg, summary) = summarize(dir)?;
    let replay = journal::read_journal(&dir.join(JOURNAL_FILE))?;
    let store = Store::new(dir.join(STORE_DIR));
    let mut plans: BTreeMap<String, PlanInfo> = BTreeMap::new();
    let mut requests: Vec<Request> = Vec::new();
    let mut by_slot: HashMap<String, usize> = HashMap::new();
    let mut verdicts = HashMap::new();
    let mut beams = Vec::new();
    let mut phases: HashMap<u32, (String, u32)> = HashMap::new();
    let mut nodes: HashMap<String, Contender> = HashMap::new();
    nodes.insert(
        cfg.start.clone(),
        Contender {
            code: cfg.start.clone(),
            cycles: 0,
            parent: None,
            plan_slot: None,
            plan: None,
            menu_id: None,
            step: 0,
        },
    );
    for ev in &replay.events {
        match ev {
            Event::IterationStart {
                step,
                phase,
                iteration,
                ..
            } => {
                phases.insert(*step, (phase.clone(), *iteration));
            }
            Event::PlanRequested {
                slot,
                parent,
                model,
                ..
            } => {
                let p = plans.entry(slot.clone()).or_default();
                p.parent = parent.clone();
                p.model = model.clone();
            }
            Event::PlanReceived {
                slot,
                plan,
                menu_id,
                ..
            } => {
                let p = plans.entry(slot.clone()).or_default();
                p.plan = Some(plan.clone());
                p.menu_id = menu_id.clone();
                p.failed = None;
            }
            Event::PlanFailed {
                slot,
                class,
                detail,
                ..
            } => {
                plans.entry(slot.clone()).or_default().failed =
                    Some((class.clone(), detail.clone()));
            }
            Event::ProgramRequested {
                slot,
                plan_slot,
                model,
                kind,
                parent,
                ..
            } => {
                // A request asked again after a resume keeps its first entry.
                if by_slot.contains_key(slot) {
                    continue;
                }
                by_slot.insert(slot.clone(), requests.len());
                requests.push(Request {
                    slot: slot.clone(),
                    step: step_of(slot),
                    kind: kind.clone().unwrap_or_else(|| "implement".into()),
                    plan_slot: plan_slot.clone(),
                    parent: parent.clone(),
                    code_model: model.clone(),
                    ..Request::default()
                });
            }
            Event::ProgramReceived {
                slot,
                code,
                plan,
                menu_id,
                ..
            } => {
                if let Some(&i) = by_slot.get(slot) {
                    let r = &mut requests[i];
                    r.code = Some(code.clone());
                    r.failed = None;
                    r.answer_plan = plan.clone();
                    r.answer_menu = menu_id.clone();
                }
            }
            Event::ProgramFailed {
                slot,
                class,
                detail,
                ..
            } => {
                if let Some(&i) = by_slot.get(slot) {
                    requests[i].failed = Some((class.clone(), detail.clone()));
                }
            }
            Event::Evaluated { code, verdict, .. } if !code.starts_with("baseline:") => {
                verdicts.insert(code.clone(), verdict_from_json(verdict)?);
            }
            Event::Selection { step, beam, .. } => {
                let (phase, it) = phases.get(step).cloned().unwrap_or_default();
                for c in beam {
                    nodes.entry(c.code.clone()).or_insert_with(|| c.clone());
                }
                beams.push((*step, phase, it, beam.clone()));
            }
            _ => {}
        }
    }
    if let Some(start) = nodes.get_mut(&cfg.start) {
        start.cycles = summary.start_cycles.unwrap_or(0);
    }
    // Requests from journals without the parent field: the parent is the plan's.
    for r in &mut requests {
        if r.parent.is_none() {
            r.parent = plans.get(&r.plan_slot).map(|p| p.parent.clone());
        }
    }
    Ok(Run {
        cfg,
        summary,
        store,
        plans,
        requests,
        verdicts,
        beams,
        nodes,
    })
}

impl Run {
    fn code(&self, hash: &str) -> String {
        self.store
            .get(hash, "c")
            .unwrap_or_else(|e| format!("(program {hash} is not readable: {e:#})"))
    }

    fn plan_text(&self, hash: &str) -> String {
        self.store
            .get(hash, "json")
            .ok()
            .and_then(|t| serde_json::from_str::<Plan>(&t).ok())
            .map(|p| p.text)
            .unwrap_or_else(|| format!("(plan {hash} missing from the store)"))
    }

    /// The request that produced a beam member (its code model and slot).
    fn producer(&self, c: &Contender) -> Option<&Request> {
        self.requests
            .iter()
            .filter(|r| r.code.as_deref() == Some(c.code.as_str()))
            .find(|r| c.plan_slot.as_deref() == Some(r.plan_slot.as_str()))
            .or_else(|| {
                self.requests
                    .iter()
                    .find(|r| r.code.as_deref() == Some(c.code.as_str()))
            })
    }
}

const STYLE: &str = r#"
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; background: #fafafa; }
h1 { font-size: 1.5em; } h2 { border-bottom: 2px solid #ccd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ccd; padding: .2em .6em; }
th { background: #eef; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #fff; border: 1px solid #ddd; padding: .5em; overflow-x: auto; font-size: 12px; }
.tree ul { list-style: none; margin: 0; padding-left: 1.6em; border-left: 1px dashed #99a; }
.tree > ul { border-left: none; padding-left: 0; }
.node { margin: .3em 0; }
.node > .card { display: inline-block; background: #fff; border: 1px solid #99b; border-radius: 6px;
  padding: .3em .6em; }
.node.best > .card { border: 2px solid #2a7; background: #efe; }
.cycles { font-weight: bold; } .opt { color: #535; font-family: monospace; } .model { color: #357; }
.plan { white-space: pre-wrap; font-size: 12px; max-width: 60em; }
.diff .add { background: #dfd; display: block; } .diff .del { background: #fdd; display: block; }
.diff .ctx { display: block; color: #555; } .diff .hunk { display: block; color: #77a; }
.fail { color: #a22; } .ok { color: #272; }
details.cand { background: #fff; border: 1px solid #ddd; margin: .3em 0; padding: .3em .6em; }
details.cand > summary { cursor: pointer; }
.beam td { vertical-align: top; }
#controls button { margin-right: .5em; }
"#;

/// The page's only script: expanding and collapsing all candidates. It reads nothing from the data. The
/// page's Content-Security-Policy admits exactly this script (by its hash), so even text that escaped the
/// escaping could not run.
const SCRIPT: &str = r#"
function gfToggle(open) {
  document.querySelectorAll('details.cand').forEach(function (d) { d.open = open; });
}
document.getElementById('gf-expand').addEventListener('click', function () { gfToggle(true); });
document.getElementById('gf-collapse').addEventListener('click', function () { gfToggle(false); });
"#;

/// Standard base64 (for the script's CSP hash).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::new();
    for ch in bytes.chunks(3) {
        let n = (u32::from(ch[0]) << 16)
            | (u32::from(*ch.get(1).unwrap_or(&0)) << 8)
            | u32::from(*ch.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= ch.len() {
                o.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                o.push('=');
            }
        }
    }
    o
}

/// The CSP source of [`SCRIPT`]: `'sha256-...'`.
fn script_hash() -> String {
    use sha2::{Digest, Sha256};
    format!("'sha256-{}'", base64(&Sha256::digest(SCRIPT.as_bytes())))
}

/// Write the viewer of the run in `dir` to `out`; returns the page.
pub fn write_html(dir: &Path, out: &Path) -> anyhow::Result<String> {
    let page = render(dir)?;
    crate::store::write_atomic(out, page.as_bytes())?;
    Ok(page)
}

/// The viewer page of the run in `dir`.
pub fn render(dir: &Path) -> anyhow::Result<String> {
    let run = read_run(dir)?;
    let s = &run.summary;
    let cfg = &run.cfg;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src {}; img-src data:\">\
         <title>gemforge search: {}</title><style>{STYLE}</style></head><body>\n",
        script_hash(),
        esc(&cfg.workload)
    );
    let _ = writeln!(
        h,
        "<h1>gemforge search: {} <small>({})</small></h1>",
        esc(&cfg.workload),
        esc(&cfg.workload_shape)
    );
    let _ = writeln!(
        h,
        "<p id=\"status\">Status: <b>{}</b>. {}</p>",
        esc(&s.status),
        match (s.best_cycles, s.start_cycles) {
            (Some(b), Some(a)) => format!(
                "Best {b} cycles, from {a} at the start ({:.2}x), re-checked on fresh inputs.",
                a as f64 / b.max(1) as f64
            ),
            _ => "No finished result.".to_string(),
        }
    );
    parameters(&mut h, cfg);
    let _ = writeln!(
        h,
        "<h2 id=\"plot\">Cycles over iterations</h2>\n<p>Log scale. The line is the beam's best after each \
         iteration; dots are every correct candidate; horizontal lines are the baselines.</p>"
    );
    let points: Vec<(u32, u64)> = run
        .requests
        .iter()
        .filter_map(|r| {
            let v = run.verdicts.get(r.code.as_ref()?)?;
            v.cycles
                .filter(|_| v.correct && v.failure.is_none())
                .map(|c| (r.step, c))
        })
        .collect();
    match crate::opt::report::plot_svg(s, &points) {
        Ok(svg) => {
            // plotters writes an XML declaration first; inline SVG starts at the element.
            let at = svg.find("<svg").unwrap_or(0);
            let _ = writeln!(h, "<div class=\"plot\">{}</div>", &svg[at..]);
        }
        Err(e) => {
            let _ = writeln!(
                h,
                "<p class=\"fail\">The plot failed: {}</p>",
                esc(&format!("{e:#}"))
            );
        }
    }
    tree(&mut h, &run);
    beams(&mut h, &run);
    candidates(&mut h, &run);
    failures(&mut h, &run);
    ledger(&mut h, s);
    let _ = write!(h, "<script>{SCRIPT}</script>\n</body></html>\n");
    Ok(h)
}

fn parameters(h: &mut String, cfg: &RunConfig) {
    let p = &cfg.params;
    let _ = writeln!(h, "<h2>Parameters</h2><table class=\"params\">");
    let join = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(", ")
        }
    };
    for (k, v) in [
        ("proposer", cfg.proposer.clone()),
        ("planning models", join(cfg.planning_models())),
        ("code models", join(cfg.coding_models())),
        ("hardware", cfg.hw.name.clone()),
        (
            "T / B / N / K",
            format!("{} / {} / {} / {}", p.iterations, p.beam, p.plans, p.impls),
        ),
        ("menu keep probability", p.keep_prob.to_string()),
        ("seed", p.seed.to_string()),
        ("edits", p.edits.to_string()),
        ("repair", p.repair.to_string()),
        ("skip planning", p.skip_planning.to_string()),
        ("ancestors in prompts", p.ancestors.to_string()),
    ] {
        let _ = writeln!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    h.push_str("</table>\n");
}

/// The beam's programs as a tree from the starting program: each node a program that entered a beam.
fn tree(h: &mut String, run: &Run) {
    let _ = writeln!(
        h,
        "<h2 id=\"tree\">The beam as a tree</h2>\n<p>Every program that entered the beam, under the program it \
         was derived from; the winner is framed green. Click a node's id for its candidate entry (diff, \
         feedback).</p><div class=\"tree\">"
    );
    let mut children: BTreeMap<&str, Vec<&Contender>> = BTreeMap::new();
    for c in run.nodes.values() {
        if let Some(p) = &c.parent {
            children.entry(p.as_str()).or_default().push(c);
        }
    }
    for v in children.values_mut() {
        v.sort_by_key(|c| (c.step, c.cycles, c.code.clone()));
    }
    let best = run.summary.best.as_deref();
    let mut stack_guard = 0usize;
    fn node(
        h: &mut String,
        run: &Run,
        c: &Contender,
        children: &BTreeMap<&str, Vec<&Contender>>,
        best: Option<&str>,
        depth: usize,
        guard: &mut usize,
    ) {
        *guard += 1;
        let is_best = best == Some(c.code.as_str());
        let producer = run.producer(c);
        let plan_model = c
            .plan_slot
            .as_ref()
            .and_then(|s| run.plans.get(s))
            .and_then(|p| p.model.clone());
        let code_model = producer.and_then(|r| r.code_model.clone());
        let plan = c.plan.as_ref().map(|p| run.plan_text(p));
        let _ = write!(
            h,
            "<li class=\"node{}\" data-code=\"{}\" data-step=\"{}\" data-cycles=\"{}\"><div class=\"card\">\
             <a href=\"#c-{}\">{}</a> step {} &middot; <span class=\"cycles\">{} cycles</span>",
            if is_best { " best" } else { "" },
            esc(&c.code),
            c.step,
            c.cycles,
            esc(short(&c.code)),
            esc(short(&c.code)),
            c.step,
            c.cycles
        );
        if let Some(m) = &c.menu_id {
            let _ = write!(h, " &middot; option <span class=\"opt\">{}</span>", esc(m));
        }
        match (&plan_model, &code_model) {
            (Some(p), Some(k)) if p == k => {
                let _ = write!(h, " &middot; model <span class=\"model\">{}</span>", esc(p));
            }
            (p, k) => {
                if let Some(p) = p {
                    let _ = write!(
                        h,
                        " &middot; plan by <span class=\"model\">{}</span>",
                        esc(p)
                    );
                }
                if let Some(k) = k {
                    let _ = write!(
                        h,
                        " &middot; code by <span class=\"model\">{}</span>",
                        esc(k)
                    );
                }
            }
        }
        if producer.is_some_and(|r| r.kind == "repair") {
            h.push_str(" &middot; repaired");
        }
        if let Some(p) = plan {
            let _ = write!(
                h,
                "<details><summary>plan</summary><div class=\"plan\">{}</div></details>",
                esc(&p)
            );
        }
        h.push_str("</div>");
        // A journal cannot make a cycle (children are of later steps), but a corrupt one must not hang.
        if let Some(kids) = children
            .get(c.code.as_str())
            .filter(|_| depth < 10_000 && *guard < 100_000)
        {
            h.push_str("<ul>");
            for k in kids {
                if k.step > c.step {
                    node(h, run, k, children, best, depth + 1, guard);
                }
            }
            h.push_str("</ul>");
        }
        h.push_str("</li>\n");
    }
    h.push_str("<ul>");
    if let Some(start) = run.nodes.get(&run.cfg.start) {
        node(h, run, start, &children, best, 0, &mut stack_guard);
    }
    h.push_str("</ul></div>\n");
}

/// The beam after each iteration, best first.
fn beams(h: &mut String, run: &Run) {
    let _ = writeln!(
        h,
        "<h2 id=\"beams\">The beam per iteration</h2><table class=\"beam\"><tr><th>step</th><th>phase</th>\
         <th>iteration</th><th>beam (best first)</th></tr>"
    );
    for (step, phase, it, beam) in &run.beams {
        let members: Vec<String> = beam
            .iter()
            .map(|c| {
                format!(
                    "<a href=\"#c-{0}\">{0}</a> {1}{2}",
                    esc(short(&c.code)),
                    c.cycles,
                    c.menu_id
                        .as_ref()
                        .map(|m| format!(" <span class=\"opt\">{}</span>", esc(m)))
                        .unwrap_or_default()
                )
            })
            .collect();
        let _ = writeln!(
            h,
            "<tr><td class=\"num\">{step}</td><td>{}</td><td class=\"num\">{it}</td><td>{}</td></tr>",
            esc(phase),
            members.join("<br>")
        );
    }
    h.push_str("</table>\n");
}

/// A unified line diff, each line marked as context, addition or deletion.
fn diff_html(old: &str, new: &str) -> String {
    let d = similar::TextDiff::from_lines(old, new);
    let mut o = String::from("<pre class=\"diff\">");
    let mut any = false;
    for group in d.grouped_ops(3) {
        any = true;
        if let (Some(first), Some(last)) = (group.first(), group.last()) {
            let (a, b) = (first.old_range().start, first.new_range().start);
            let _ = write!(
                o,
                "<span class=\"hunk\">@@ -{},{} +{},{} @@</span>",
                a + 1,
                last.old_range().end - a,
                b + 1,
                last.new_range().end - b
            );
        }
        for op in &group {
            for ch in d.iter_changes(op) {
                let (class, sign) = match ch.tag() {
                    similar::ChangeTag::Delete => ("del", '-'),
                    similar::ChangeTag::Insert => ("add", '+'),
                    similar::ChangeTag::Equal => ("ctx", ' '),
                };
                let line = ch.value();
                let _ = write!(
                    o,
                    "<span class=\"{class}\">{sign}{}</span>",
                    esc(line.strip_suffix('\n').unwrap_or(line))
                );
            }
        }
    }
    if !any {
        o.push_str("<span class=\"ctx\">(identical to the parent)</span>");
    }
    o.push_str("</pre>");
    o
}

fn feedback_html(run: &Run, v: &Verdict) -> String {
    let fb = crate::opt::search::feedback::feedback(&run.cfg.hw, v);
    let mut o = String::from("<table class=\"feedback\">");
    let row = |o: &mut String, k: &str, v: String| {
        let _ = write!(o, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    };
    row(&mut o, "cycles", fb.cycles.to_string());
    row(&mut o, "ideal cycles", fb.ideal_cycles.to_string());
    row(
        &mut o,
        "utilization",
        format!("{:.1}%", fb.utilization * 100.0),
    );
    row(
        &mut o,
        "scratchpad rows written by mvin",
        format!("{} of {}", fb.sp_rows_used, fb.sp_rows_total),
    );
    row(
        &mut o,
        "accumulator rows written by mvin / by computes",
        format!(
            "{} / {} of {}",
            fb.acc_rows_used, fb.acc_rows_computed, fb.acc_rows_total
        ),
    );
    o.push_str("</table>");
    if !fb.bottleneck.is_empty() {
        let _ = write!(o, "<pre class=\"bottleneck\">{}</pre>", esc(&fb.bottleneck));
    }
    o
}

/// Every program request, by iteration: its plan, model, outcome, diff and feedback.
fn candidates(h: &mut String, run: &Run) {
    let _ = writeln!(
        h,
        "<h2 id=\"candidates\">Candidates</h2><p id=\"controls\"><button id=\"gf-expand\">expand \
         all</button><button id=\"gf-collapse\">collapse all</button></p>"
    );
    let mut seen_anchor: std::collections::HashSet<String> = std::collections::HashSet::new();
    // The starting program: what the hardware said about it (the first planning prompts' feedback).
    let start = &run.cfg.start;
    seen_anchor.insert(short(start).to_string());
    let _ = write!(
        h,
        "<h3>The starting program</h3><details class=\"cand start\" id=\"c-{}\" data-outcome=\"start\">\
         <summary><code>{}</code> start</summary>",
        esc(short(start)),
        esc(short(start))
    );
    if let Some(v) = run.verdicts.get(start) {
        let _ = write!(h, "<p>Hardware feedback:</p>{}", feedback_html(run, v));
    }
    let _ = writeln!(
        h,
        "<pre class=\"code\">{}</pre></details>",
        esc(&run.code(start))
    );
    let mut last_step = u32::MAX;
    for r in &run.requests {
        if r.step != last_step {
            let _ = writeln!(h, "<h3>Step {}</h3>", r.step);
            last_step = r.step;
        }
        let plan_info = run.plans.get(&r.plan_slot);
        let (plan_hash, menu) = match (&r.answer_plan, plan_info) {
            (Some(p), _) => (Some(p.clone()), r.answer_menu.clone()),
            (None, Some(pi)) => (pi.plan.clone(), pi.menu_id.clone()),
            (None, None) => (None, None),
        };
        let verdict = r.code.as_ref().and_then(|c| run.verdicts.get(c));
        let (state, class) = match (&r.failed, verdict) {
            (Some((cl, _)), _) => (format!("request failed: {cl}"), "fail"),
            (None, Some(v)) if v.correct && v.failure.is_none() => (
                format!("{} cycles", v.cycles.map_or("?".into(), |c| c.to_string())),
                "ok",
            ),
            (None, Some(v)) => (
                v.failure.map_or("incorrect", Failure::name).to_string(),
                "fail",
            ),
            (None, None) if r.code.is_some() => ("not evaluated".into(), "fail"),
            (None, None) => ("no answer".into(), "fail"),
        };
        // The first entry of a program carries its anchor, so tree links land on it.
        let anchor = r
            .code
            .as_ref()
            .filter(|c| seen_anchor.insert(short(c).to_string()))
            .map(|c| format!(" id=\"c-{}\"", esc(short(c))))
            .unwrap_or_default();
        let _ = write!(
            h,
            "<details class=\"cand\"{anchor} data-slot=\"{}\" data-kind=\"{}\" data-outcome=\"{}\"><summary>\
             <code>{}</code> {} &middot; <span class=\"{class}\">{}</span>",
            esc(&r.slot),
            esc(&r.kind),
            class,
            esc(&r.slot),
            esc(&r.kind),
            esc(&state)
        );
        if let Some(m) = &menu {
            let _ = write!(h, " &middot; option <span class=\"opt\">{}</span>", esc(m));
        }
        if let Some(m) = &r.code_model {
            let _ = write!(h, " &middot; <span class=\"model\">{}</span>", esc(m));
        }
        h.push_str("</summary>");
        if let Some(p) = plan_info.and_then(|p| p.model.as_ref()) {
            let _ = write!(h, "<p>plan by <span class=\"model\">{}</span></p>", esc(p));
        }
        if let Some(p) = &plan_hash {
            let _ = write!(
                h,
                "<p>Plan:</p><div class=\"plan\">{}</div>",
                esc(&run.plan_text(p))
            );
        }
        if let Some((cl, msg)) = &r.failed {
            let _ = write!(
                h,
                "<p class=\"fail\">The request failed ({}):</p><pre class=\"message\">{}</pre>",
                esc(cl),
                esc(msg)
            );
        }
        if let Some(v) = verdict {
            if v.correct && v.failure.is_none() {
                let _ = write!(
                    h,
                    "<p>Hardware feedback (what the RTL run measured; the planning prompts of this \
                     program's children show it):</p>{}",
                    feedback_html(run, v)
                );
            } else {
                let _ = write!(
                    h,
                    "<p class=\"fail\">Evaluation: {}</p><pre class=\"message\">{}</pre>",
                    esc(v.failure.map_or("incorrect", Failure::name)),
                    esc(&v.detail)
                );
            }
        }
        if let Some(c) = &r.code {
            let parent = r.parent.as_ref().map(|p| run.code(p)).unwrap_or_default();
            let _ = write!(
                h,
                "<p>Diff against the parent <code>{}</code>:</p>{}",
                esc(r.parent.as_deref().map_or("?", short)),
                diff_html(&parent, &run.code(c))
            );
        }
        h.push_str("</details>\n");
    }
}

/// Every failure of the run with its message: plan requests, program requests, evaluations.
fn failures(h: &mut String, run: &Run) {
    let _ = writeln!(
        h,
        "<h2 id=\"failures\">Failures</h2><table class=\"failures\"><tr><th>slot</th><th>what</th>\
         <th>class</th><th>message</th></tr>"
    );
    let mut row = |slot: &str, what: &str, class: &str, msg: &str| {
        let mut m: String = msg.chars().take(2000).collect();
        if m.len() < msg.len() {
            m.push_str(" ...");
        }
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td><pre class=\"message\">{}</pre></td></tr>",
            esc(slot),
            esc(what),
            esc(class),
            esc(&m)
        );
    };
    for (slot, p) in &run.plans {
        if let Some((cl, msg)) = &p.failed {
            row(slot, "plan", cl, msg);
        }
    }
    for r in &run.requests {
        if let Some((cl, msg)) = &r.failed {
            row(&r.slot, &r.kind, cl, msg);
        } else if let Some(v) = r.code.as_ref().and_then(|c| run.verdicts.get(c)) {
            if !(v.correct && v.failure.is_none()) {
                row(
                    &r.slot,
                    "evaluation",
                    v.failure.map_or("incorrect", Failure::name),
                    &v.detail,
                );
            }
        }
    }
    h.push_str("</table>\n");
}

/// The proposer's token and cost ledger of each process of the run.
fn ledger(h: &mut String, s: &Summary) {
    let _ = writeln!(
        h,
        "<h2 id=\"ledger\">Tokens and cost</h2><p>Spent ${:.4} in total over the run.</p>",
        s.spent_usd
    );
    if s.ledgers.is_empty() {
        h.push_str("<p>The proposer keeps no ledger (it asks no model).</p>\n");
        return;
    }
    for (i, l) in s.ledgers.iter().enumerate() {
        let _ = writeln!(
            h,
            "<h3>Process {}</h3><table class=\"ledger\"><tr><th>phase</th><th>model</th><th>calls</th>\
             <th>cached</th><th>failed</th><th>input tokens</th><th>output tokens</th><th>cost (USD)</th></tr>",
            i + 1
        );
        let empty = Vec::new();
        let entries = l["entries"].as_array().unwrap_or(&empty);
        let num = |v: &serde_json::Value| v.as_u64().unwrap_or(0).to_string();
        for e in entries {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{:.4}{}</td></tr>",
                esc(e["phase"].as_str().unwrap_or("?")),
                esc(e["model"].as_str().unwrap_or("?")),
                num(&e["calls"]),
                num(&e["cached"]),
                num(&e["failed"]),
                num(&e["input_tokens"]),
                num(&e["output_tokens"]),
                e["cost_usd"].as_f64().unwrap_or(0.0),
                if e["price_known"].as_bool() == Some(false) {
                    " (unpriced)"
                } else {
                    ""
                }
            );
        }
        let t = &l["total"];
        let _ = writeln!(
            h,
            "<tr class=\"total\"><th colspan=\"2\">total</th><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{:.4}</td></tr></table>",
            num(&t["calls"]),
            num(&t["cached"]),
            num(&t["failed"]),
            num(&t["input_tokens"]),
            num(&t["output_tokens"]),
            t["cost_usd"].as_f64().unwrap_or(0.0)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_diffs() {
        assert_eq!(
            esc("</script><b a=\"x\" b='y'>&"),
            "&lt;/script&gt;&lt;b a=&quot;x&quot; b=&#39;y&#39;&gt;&amp;"
        );
        let d = diff_html("a\nb\nc\n", "a\nB <i>\nc\n");
        assert!(d.contains("<span class=\"del\">-b</span>"), "{d}");
        assert!(d.contains("<span class=\"add\">+B &lt;i&gt;</span>"), "{d}");
        assert!(diff_html("x\n", "x\n").contains("identical"));
        assert_eq!(step_of("s12/pabc/n0/k1"), 12);
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
    }
}

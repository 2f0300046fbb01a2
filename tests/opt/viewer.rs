//! The run viewer (`gemforge report RUN_DIR --html`): a real LLM search against the scripted server, whose
//! plan tries to inject a script and whose model name holds markup, then the page parsed as HTML: the beam
//! tree's nodes (cycles, option, plan, models), the candidates with diffs, feedback and failures, the
//! log-scale plot, the ledger, nothing fetched from the network, and the injected text shown, never run.
//! Ignored by default: the page rendered by a real headless chromium (screenshot not blank, the injected
//! script did not run).

use crate::llm_server;

use llm_server::{Reply, ScriptedServer};
use scraper::{Html, Selector};
use std::path::{Path, PathBuf};

const INJECTED: &str =
    "</script><script>document.title='PWNED'</script><img src=x onerror=alert(1)>";

fn naive_32() -> String {
    let w = gemforge::bench::workload::by_name("gemm_32x32x32").unwrap();
    gemforge::bench::baseline::program(
        &gemforge::sim::config::HwConfig::default_config(),
        &w,
        gemforge::bench::baseline::Baseline::Naive,
    )
    .unwrap()
}

fn fenced(code: &str) -> String {
    format!("Here.\n```c\n{code}\n```\n")
}

/// A two-iteration LLM search on gemm_32x32x32 (beam 2, one plan of two programs per entry): iteration 1
/// gives a correct child (the start with a comment) and a program that does not compile; iteration 2
/// plans on both beam entries. Returns the run directory (inside `tmp`).
fn make_run(tmp: &Path) -> PathBuf {
    let naive = naive_32();
    let srv = ScriptedServer::start(vec![
        Reply::openai(
            &format!("Option: tiling\nPlan with {INJECTED} inside."),
            1000,
            50,
        ),
        Reply::openai(&fenced(&format!("// child\n{naive}")), 2000, 400),
        Reply::openai(&fenced("void solution(void) { this is not C; }"), 2000, 400),
    ]);
    srv.always(Reply::openai(
        &format!(
            "Option: unroll\nLater.\n{}",
            fenced(&format!("// later\n{naive}"))
        ),
        1500,
        300,
    ));
    let model = format!("openai:m<b>odel@{}", srv.base_url());
    let run = tmp.join("run");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args([
            "search",
            "--proposer",
            "llm",
            "--model",
            &model,
            "--workload",
            "gemm_32x32x32",
            "--iterations",
            "2",
            "--beam",
            "2",
            "--plans",
            "1",
            "--impls",
            "2",
            "--screen-runs",
            "1",
            "--llm-concurrency",
            "1",
            "--no-baselines",
        ])
        .arg("--out-dir")
        .arg(&run)
        .env_remove("OPENAI_API_KEY")
        .env_remove("GEMFORGE_PROMPTS_DIR")
        .env("GEMFORGE_CACHE_DIR", tmp.join("cache"))
        .output()
        .expect("running gemforge search");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    run
}

fn report_html(run: &Path, out: Option<&Path>) -> String {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gemforge"));
    cmd.arg("report").arg(run).arg("--html");
    if let Some(o) = out {
        cmd.arg(o);
    }
    let o = cmd.output().expect("running gemforge report");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let path = out.map_or_else(|| run.join("report.html"), Path::to_path_buf);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!("wrote {}", path.display())),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    std::fs::read_to_string(path).unwrap()
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn text(e: scraper::ElementRef<'_>) -> String {
    e.text().collect()
}

#[test]
fn the_viewer_shows_tree_diffs_feedback_failures_plot_and_ledger_and_runs_no_injected_code() {
    let tmp = tempfile::tempdir().unwrap();
    let run = make_run(tmp.path());
    let page = report_html(&run, None);
    let doc = Html::parse_document(&page);

    // Exactly one script, ours, and it holds none of the model's text; the injected markup is text.
    let scripts: Vec<_> = doc.select(&sel("script")).collect();
    assert_eq!(scripts.len(), 1, "{page}");
    assert!(!text(scripts[0]).contains("PWNED"));
    assert_eq!(
        doc.select(&sel("img")).count(),
        0,
        "the injected img is text"
    );
    assert!(page.contains("&lt;/script&gt;&lt;script&gt;"), "escaped");
    let plans: Vec<String> = doc.select(&sel(".plan")).map(text).collect();
    assert!(
        plans.iter().any(|p| p.contains(INJECTED)),
        "the plan is shown verbatim: {plans:?}"
    );
    // Nothing is loaded from anywhere: no src attributes, links are in-page anchors only.
    assert_eq!(doc.select(&sel("[src]")).count(), 0);
    for a in doc.select(&sel("[href]")) {
        assert!(
            a.value().attr("href").unwrap().starts_with('#'),
            "{:?}",
            a.value()
        );
    }
    let csp = doc
        .select(&sel("meta[http-equiv=Content-Security-Policy]"))
        .next()
        .expect("a CSP");
    assert!(csp
        .value()
        .attr("content")
        .unwrap()
        .contains("script-src 'sha256-"));

    // The tree: the start, iteration 1's child under it, iteration 2's children under theirs.
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).unwrap();
    let mut in_beams = std::collections::BTreeSet::new();
    for line in journal.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        if e["event"] == "selection" {
            for c in e["beam"].as_array().unwrap() {
                in_beams.insert(c["code"].as_str().unwrap().to_string());
            }
        }
    }
    let nodes: Vec<_> = doc.select(&sel(".tree li.node")).collect();
    let node_codes: std::collections::BTreeSet<String> = nodes
        .iter()
        .map(|n| n.value().attr("data-code").unwrap().to_string())
        .collect();
    assert_eq!(
        node_codes, in_beams,
        "one node per program that was in a beam"
    );
    assert!(nodes.len() >= 2);
    let root = nodes[0];
    assert_eq!(root.value().attr("data-step"), Some("0"));
    let child = doc
        .select(&sel(".tree li.node li.node[data-step=\"1\"]"))
        .next()
        .expect("iteration 1's child nested under the start");
    let card = text(child);
    assert!(card.contains("cycles"), "{card}");
    assert!(card.contains("tiling"), "the menu option: {card}");
    assert!(
        card.contains("openai:m<b>odel"),
        "the model, as text: {card}"
    );
    assert!(card.contains("Plan with"), "the plan: {card}");
    assert!(
        child
            .value()
            .attr("data-cycles")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    assert_eq!(doc.select(&sel(".tree li.node.best")).count(), 1);

    // Candidates: every program request, with diffs, feedback and failures.
    let cands: Vec<_> = doc.select(&sel("details.cand:not(.start)")).collect();
    let requested = journal.matches("\"event\":\"program_requested\"").count();
    assert_eq!(cands.len(), requested);
    let ok = cands
        .iter()
        .find(|c| c.value().attr("data-outcome") == Some("ok"))
        .expect("a correct candidate");
    let adds: Vec<String> = ok.select(&sel("pre.diff span.add")).map(text).collect();
    assert!(
        adds.iter().any(|l| l == "+// child" || l == "+// later"),
        "{adds:?}"
    );
    assert!(text(*ok).contains("utilization"), "hardware feedback");
    let bad = cands
        .iter()
        .find(|c| text(**c).contains("compile_error"))
        .expect("the candidate that did not compile");
    assert!(bad.select(&sel("pre.message")).next().is_some());
    assert!(bad.select(&sel("pre.diff span.del")).next().is_some());
    let failures: Vec<String> = doc.select(&sel("table.failures tr")).map(text).collect();
    assert!(
        failures
            .iter()
            .any(|r| r.contains("compile_error") && r.contains("error")),
        "{failures:?}"
    );

    // The plot: inline SVG on a log scale.
    let svg = doc
        .select(&sel("div.plot svg"))
        .next()
        .expect("an inline SVG");
    assert!(text(svg).contains("log scale"));
    assert!(std::fs::read_to_string(run.join("plot.svg"))
        .unwrap()
        .contains("log scale"));

    // The ledger: per phase and model, with the tokens the server reported.
    let rows: Vec<String> = doc.select(&sel("table.ledger tr")).map(text).collect();
    let plan_row = rows
        .iter()
        .find(|r| r.starts_with("plan"))
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert!(plan_row.contains("openai:m<b>odel"), "{plan_row}");
    assert!(rows.iter().any(|r| r.starts_with("implement")), "{rows:?}");
    assert!(rows.iter().any(|r| r.starts_with("total")), "{rows:?}");

    // The starting program has its entry with its feedback, and every in-page link has a target.
    let start = doc
        .select(&sel("details.cand.start"))
        .next()
        .expect("the start's entry");
    assert!(text(start).contains("utilization"));
    for a in doc.select(&sel("a[href]")) {
        let id = &a.value().attr("href").unwrap()[1..];
        assert_eq!(
            doc.select(&sel(&format!("[id=\"{id}\"]"))).count(),
            1,
            "link target #{id}"
        );
    }

    // An explicit output path.
    let other = tmp.path().join("view.html");
    assert_eq!(report_html(&run, Some(&other)), page);
}

/// Chromium's name on this system (Debian: `chromium`).
fn chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(str::to_string)
}

#[test]
#[ignore = "needs chromium (scripts/setup.sh installs it); run with --ignored"]
fn the_viewer_renders_in_headless_chromium() {
    let browser = chromium().expect("chromium is not installed (scripts/setup.sh)");
    let tmp = tempfile::tempdir().unwrap();
    let run = make_run(tmp.path());
    let page = tmp.path().join("view.html");
    report_html(&run, Some(&page));
    let url = format!("file://{}", page.display());
    let profile = tmp.path().join("profile");
    let shot = tmp.path().join("shot.png");
    let common = |cmd: &mut std::process::Command| {
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--window-size=1280,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()));
    };
    let mut cmd = std::process::Command::new(&browser);
    common(&mut cmd);
    let out = cmd
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        shot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let total = pixels.len() / px;
    let background = &pixels[..px];
    let differing = pixels
        .chunks(px)
        .filter(|p| p[..3] != background[..3])
        .count();
    eprintln!(
        "screenshot {}x{}: {differing} of {total} pixels differ from the background",
        info.width, info.height
    );
    assert!(
        differing * 100 > total,
        "the screenshot is (nearly) blank: {differing} of {total} pixels drawn"
    );
    // The DOM after scripts ran: ours ran (the buttons work), the injected one did not.
    let mut cmd = std::process::Command::new(&browser);
    common(&mut cmd);
    let out = cmd.arg("--dump-dom").arg(&url).output().unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("<title>gemforge search: gemm_32x32x32</title>"),
        "{dom}"
    );
    assert!(!dom.contains("<title>PWNED"), "{dom}");
    assert!(dom.contains("class=\"tree\""));
}

//! The LLM providers, the proposer and the prompts, against scripted OpenAI-compatible and Anthropic
//! servers on loopback (real HTTP); `gemforge search` against failing providers (every failure shown,
//! reported, and a whole failed iteration stops the search with exit status 3) and with its LLM settings
//! from a file and the command line; Autocomp's newer options against the scripted server (search/replace
//! edits applied strictly, well formed or not; the repair round; separate planning and code models;
//! one-call answers; the parent's ancestry in the planning prompt; `--resume` refusing a change of any);
//! and, ignored by default, a one-iteration search through a real local llama.cpp server (`llm_local`,
//! scripts/llm-local.sh).

use crate::llm_server;

use gemforge::bench::workload::Workload;
use gemforge::opt::llm::{ClientOptions, LlmError, ModelSpec, Prices};
use gemforge::opt::prompts::{self, MenuKind, Templates};
use gemforge::opt::propose::llm::{LlmOptions, LlmProposer};
use gemforge::opt::propose::{
    AncestorStep, Feedback, ImplRequest, Plan, PlanRequest, ProposeError, Proposer, RepairRequest,
};
use gemforge::sim::config::{HwConfig, DEFAULT_CONFIG_TOML};
use llm_server::{Reply, ScriptedServer};
use std::path::Path;
use std::time::{Duration, Instant};

const KEY: &str = "sk-test-123";

const GOOD_PROGRAM: &str =
    "void solution(int8_t A[32][32], int8_t B[32][32], int8_t C[32][32]) {\n  \
     config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);\n}";
/// Compiles, computes the wrong thing: the proposer passes it on; evaluation rejects it.
const WRONG_PROGRAM: &str =
    "void solution(int8_t A[32][32], int8_t B[32][32], int8_t C[32][32]) {\n  C[0][0] = 1;\n}";
/// Does not compile: likewise passed on.
const BROKEN_PROGRAM: &str = "void solution(int8_t A[32][32] {\n  oops\n}";

fn fenced(code: &str) -> String {
    format!("Here is the optimized code.\n\n```c\n{code}\n```\n\nIt tiles k.")
}

fn options() -> LlmOptions {
    LlmOptions {
        client: ClientOptions {
            concurrency: 4,
            timeout: Duration::from_secs(5),
            max_retries: 2,
            backoff_base: Duration::from_millis(5),
            backoff_max: Duration::from_millis(20),
            retry_after_max: Duration::from_secs(3),
        },
        plan_max_tokens: 1000,
        implement_max_tokens: 3000,
        ..LlmOptions::default()
    }
}

fn prices() -> Prices {
    Prices::from_toml_str(
        "[\"openai:test-model\"]\ninput = 2.0\noutput = 10.0\n\
         [\"anthropic:test-claude\"]\ninput = 3.0\noutput = 15.0\n",
        "test prices",
    )
    .unwrap()
}

fn spec(s: &str) -> (String, ModelSpec) {
    (
        s.to_string(),
        ModelSpec::parse_with_env(s, |_| Some(KEY.to_string())).unwrap(),
    )
}

fn proposer(models: &[&str], store: &Path, opts: LlmOptions) -> LlmProposer {
    LlmProposer::with_models(
        models.iter().map(|m| spec(m)).collect(),
        store,
        prices(),
        opts,
    )
    .unwrap()
}

fn workload() -> Workload {
    Workload::gemm("gemm_32", "test", 32, 32, 32)
}

fn feedback() -> Feedback {
    Feedback {
        cycles: 12345,
        ideal_cycles: 128,
        utilization: 128.0 / 12345.0,
        sp_rows_used: 96,
        sp_rows_total: 16384,
        acc_rows_used: 32,
        acc_rows_computed: 48,
        acc_rows_total: 1024,
        bottleneck: "load controller busy 80% of cycles\nexecute waiting on loads 70%".into(),
    }
}

/// Run `f` with a plan request for the default hardware.
fn with_plan_req<T>(model: &str, seed: u64, f: impl FnOnce(&PlanRequest<'_>) -> T) -> T {
    let hw = HwConfig::default_config();
    let w = workload();
    let fb = feedback();
    let menu = prompts::menu(MenuKind::GemmConv).unwrap();
    let req = PlanRequest {
        workload: &w,
        hw: &hw,
        parent_code: GOOD_PROGRAM,
        feedback: &fb,
        menu: &menu[..5],
        iteration: 2,
        iterations: 8,
        model: Some(model),
        seed,
        ancestry: &[],
        pending: &[],
        measured: &[],
    };
    f(&req)
}

fn with_impl_req<T>(model: &str, seed: u64, f: impl FnOnce(&ImplRequest<'_>) -> T) -> T {
    let hw = HwConfig::default_config();
    let w = workload();
    let plan = Plan {
        text: "Option: tiling\nUse 32x32 tiles.".into(),
        menu_id: Some("tiling".into()),
        meta: serde_json::Value::Null,
    };
    let req = ImplRequest {
        workload: &w,
        hw: &hw,
        parent_code: GOOD_PROGRAM,
        plan: &plan,
        model: Some(model),
        seed,
    };
    f(&req)
}

#[test]
fn openai_plan_headers_body_and_ledger() {
    let srv = ScriptedServer::start(vec![Reply::openai(
        "Option: tiling\nTile i and j by 32 so each B tile is loaded once.",
        1000,
        200,
    )]);
    let dir = tempfile::tempdir().unwrap();
    let m = format!("openai:test-model@{}", srv.base_url());
    let p = proposer(&[&m], dir.path(), options());
    assert_eq!(p.models(), vec![m.clone()]);
    let plan = with_plan_req(&m, 7, |r| p.plan(r)).unwrap();
    assert_eq!(plan.menu_id.as_deref(), Some("tiling"));
    assert!(plan.text.contains("Tile i and j"));
    assert_eq!(plan.meta["truncated"], false);

    let reqs = srv.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(r.header("authorization"), Some("Bearer sk-test-123"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.body["model"], "test-model");
    assert_eq!(r.body["max_tokens"], 1000);
    assert_eq!(r.body["seed"], 7);
    let msgs = r.body["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0]["role"], "system");
    assert_eq!(msgs[1]["role"], "user");
    let prompt = msgs[1]["content"].as_str().unwrap();
    assert!(prompt.contains("16x16 systolic array"), "{prompt}");
    assert!(prompt.contains("12345 cycles"), "{prompt}");
    assert!(prompt.contains("This is iteration 2 out of 8."), "{prompt}");
    assert!(prompt.contains("load controller busy 80%"), "{prompt}");
    assert!(prompt.contains(GOOD_PROGRAM), "{prompt}");

    // 1000 in at $2/M + 200 out at $10/M = $0.004.
    let l = p.ledger_json();
    let e = &l["entries"][0];
    assert_eq!(e["phase"], "plan");
    assert_eq!(e["model"], "openai:test-model");
    assert_eq!(e["input_tokens"], 1000);
    assert_eq!(e["output_tokens"], 200);
    assert_eq!(e["price_known"], true);
    assert!((p.spent_usd() - 0.004).abs() < 1e-12, "{}", p.spent_usd());
    assert_eq!(l["total"]["calls"], 1);
}

#[test]
fn anthropic_programs_pass_through_and_bad_answers_are_unusable() {
    let srv = ScriptedServer::start(vec![
        Reply::anthropic(&fenced(GOOD_PROGRAM), 500, 100),
        Reply::anthropic(&fenced(WRONG_PROGRAM), 500, 100),
        Reply::anthropic(&fenced(BROKEN_PROGRAM), 500, 100),
        Reply::anthropic("I would tile the loops, but here is no code.", 500, 20),
        Reply::anthropic(
            &format!("{}\n{}", fenced(GOOD_PROGRAM), fenced(WRONG_PROGRAM)),
            500,
            200,
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let m = format!("anthropic:test-claude@{}", srv.base_url());
    let p = proposer(&[&m], dir.path(), options());
    let got: Vec<Result<String, ProposeError>> = (0..5)
        .map(|seed| with_impl_req(&m, seed, |r| p.implement(r)))
        .collect();
    assert_eq!(got[0].as_deref(), Ok(format!("{GOOD_PROGRAM}\n").as_str()));
    assert_eq!(got[1].as_deref(), Ok(format!("{WRONG_PROGRAM}\n").as_str()));
    assert_eq!(
        got[2].as_deref(),
        Ok(format!("{BROKEN_PROGRAM}\n").as_str())
    );
    assert!(
        matches!(&got[3], Err(ProposeError::Unusable(e)) if e.contains("no fenced")),
        "{:?}",
        got[3]
    );
    assert!(
        matches!(&got[4], Err(ProposeError::Unusable(e)) if e.contains("2 C code blocks")),
        "{:?}",
        got[4]
    );

    let reqs = srv.requests();
    assert_eq!(reqs.len(), 5);
    let r = &reqs[0];
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.header("x-api-key"), Some(KEY));
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(r.body["model"], "test-claude");
    assert_eq!(r.body["max_tokens"], 3000);
    assert!(r.body["system"].as_str().unwrap().contains("expert"));
    assert_eq!(r.body["messages"][0]["role"], "user");
    let prompt = r.body["messages"][0]["content"].as_str().unwrap();
    assert!(prompt.contains("Use 32x32 tiles."), "{prompt}");
    assert!(prompt.trim_end().ends_with("Optimized code:"), "{prompt}");

    // Every answered call is paid for, usable or not: 5 x 500 in at $3/M, 520 out at $15/M.
    let l = p.ledger_json();
    assert_eq!(l["entries"][0]["phase"], "implement");
    assert_eq!(l["total"]["calls"], 5);
    assert_eq!(l["total"]["input_tokens"], 2500);
    assert_eq!(l["total"]["output_tokens"], 520);
    let want = (2500.0 * 3.0 + 520.0 * 15.0) / 1e6;
    assert!((p.spent_usd() - want).abs() < 1e-12);
}

#[test]
fn retry_after_429_is_honoured_then_succeeds() {
    let srv = ScriptedServer::start(vec![
        Reply::error(429).header("retry-after", "1"),
        Reply::openai("Option: loop_reorder\nSwap i and j.", 10, 10),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let m = format!("openai:test-model@{}", srv.base_url());
    let p = proposer(&[&m], dir.path(), options());
    let t0 = Instant::now();
    let plan = with_plan_req(&m, 1, |r| p.plan(r)).unwrap();
    // The backoff alone is at most 20 ms; waiting a second is the server's Retry-After.
    assert!(
        t0.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(plan.menu_id.as_deref(), Some("loop_reorder"));
    assert_eq!(srv.requests().len(), 2);
    assert_eq!(p.client().attempt_counts(), (2, 1));
    assert_eq!(p.ledger_json()["total"]["failed"], 0);
}

#[test]
fn server_errors_exhaust_retries_and_are_errors_not_plans() {
    let srv = ScriptedServer::start(vec![
        Reply::error(500),
        Reply::error(502),
        Reply::error(503),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let m = format!("openai:test-model@{}", srv.base_url());
    let (given, model) = spec(&m);
    let p = proposer(&[&given], dir.path(), options());
    // The typed error from the client...
    let req = gemforge::opt::llm::ChatRequest {
        system: None,
        prompt: "hi".into(),
        max_tokens: 5,
        temperature: Some(0.5),
        seed: None,
    };
    match p.client().chat("plan", &model, &req) {
        Err(LlmError::Status {
            status: 503,
            attempts: 3,
            ..
        }) => {}
        other => panic!("expected HTTP 503 after 3 attempts, got {other:?}"),
    }
    assert_eq!(srv.requests().len(), 3);
    assert_eq!(srv.requests()[0].body["temperature"], 0.5);
    // ...and through the proposer: an error, recorded as a failure; nothing stored, so the next request
    // goes to the server again.
    srv.push(Reply::error(500));
    srv.push(Reply::error(500));
    srv.push(Reply::error(500));
    let e = with_plan_req(&m, 3, |r| p.plan(r)).unwrap_err();
    assert!(
        matches!(&e, ProposeError::Llm(s) if s.contains("HTTP 500")),
        "{e:?}"
    );
    assert_eq!(srv.requests().len(), 6);
    assert_eq!(p.ledger_json()["total"]["failed"], 2);
    assert_eq!(p.spent_usd(), 0.0);
    // A 4xx other than 429 is not retried.
    srv.push(Reply::error(400));
    let e = with_plan_req(&m, 3, |r| p.plan(r)).unwrap_err();
    assert!(
        matches!(&e, ProposeError::Llm(s) if s.contains("HTTP 400")),
        "{e:?}"
    );
    assert_eq!(srv.requests().len(), 7);
}

#[test]
fn malformed_bodies_are_errors_naming_the_problem() {
    let srv = ScriptedServer::start(vec![
        Reply::raw(200, "{\"choices\": [ {\"message\": "),
        Reply::raw(200, r#"{"choices": []}"#),
        Reply::raw(200, r#"{"content": [{"type": "tool_use"}]}"#),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let m = format!("openai:test-model@{}", srv.base_url());
    let a = format!("anthropic:test-claude@{}", srv.base_url());
    let p = proposer(&[&m, &a], dir.path(), options());
    let e1 = with_plan_req(&m, 1, |r| p.plan(r)).unwrap_err().to_string();
    assert!(e1.contains("malformed") && e1.contains("not JSON"), "{e1}");
    let e2 = with_plan_req(&m, 2, |r| p.plan(r)).unwrap_err().to_string();
    assert!(e2.contains("choices[0]"), "{e2}");
    let e3 = with_plan_req(&a, 3, |r| p.plan(r)).unwrap_err().to_string();
    assert!(e3.contains("no text block"), "{e3}");
    // Not retried: a well-formed transport with a broken body is not a transient fault.
    assert_eq!(srv.requests().len(), 3);
}

#[test]
fn slow_responses_time_out_and_are_retried() {
    let srv = ScriptedServer::start(vec![
        Reply::openai("late", 1, 1).delayed(Duration::from_secs(5)),
        Reply::openai("late", 1, 1).delayed(Duration::from_secs(5)),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let m = format!("openai:test-model@{}", srv.base_url());
    let mut o = options();
    o.client.timeout = Duration::from_millis(300);
    o.client.max_retries = 1;
    let p = proposer(&[&m], dir.path(), o);
    let (_, model) = spec(&m);
    let req = gemforge::opt::llm::ChatRequest {
        system: None,
        prompt: "hi".into(),
        max_tokens: 5,
        temperature: None,
        seed: None,
    };
    match p.client().chat("plan", &model, &req) {
        Err(LlmError::Timeout { attempts: 2, .. }) => {}
        other => panic!("expected a timeout after 2 attempts, got {other:?}"),
    }
    assert_eq!(srv.requests().len(), 2);
}

#[test]
fn budget_stops_further_calls() {
    let srv = ScriptedServer::start(vec![
        Reply::openai("Option: tiling\nplan one", 1000, 1000),
        Reply::openai("Option: tiling\nplan two", 1000, 1000),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let m = format!("openai:test-model@{}", srv.base_url());
    let mut o = options();
    // One call costs $0.012; the budget is spent after it.
    o.budget_usd = Some(0.01);
    let p = proposer(&[&m], dir.path(), o);
    with_plan_req(&m, 1, |r| p.plan(r)).unwrap();
    let e = with_plan_req(&m, 2, |r| p.plan(r)).unwrap_err();
    assert!(matches!(e, ProposeError::Budget(_)), "{e:?}");
    assert_eq!(
        srv.requests().len(),
        1,
        "no HTTP call once the budget is spent"
    );
    // Stored answers cost nothing and are still served.
    assert!(with_plan_req(&m, 1, |r| p.plan(r)).is_ok());
    assert_eq!(srv.requests().len(), 1);
}

#[test]
fn stored_answers_are_never_paid_twice() {
    let srv = ScriptedServer::start(vec![
        Reply::openai("Option: hoist\nHoist the config_ld calls.", 100, 50),
        Reply::openai("Option: loop_split\nA different sample.", 100, 50),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let m = format!("openai:test-model@{}", srv.base_url());
    let first = {
        let p = proposer(&[&m], dir.path(), options());
        let a = with_plan_req(&m, 11, |r| p.plan(r)).unwrap();
        let b = with_plan_req(&m, 11, |r| p.plan(r)).unwrap();
        assert_eq!(a, b);
        assert_eq!(srv.requests().len(), 1);
        assert_eq!(p.ledger_json()["total"]["cached"], 1);
        // Another seed is another request.
        let c = with_plan_req(&m, 12, |r| p.plan(r)).unwrap();
        assert_eq!(c.menu_id.as_deref(), Some("loop_split"));
        assert_eq!(srv.requests().len(), 2);
        a
    };
    // A resumed run (a new proposer on the same store) makes no call at all.
    let p = proposer(&[&m], dir.path(), options());
    assert_eq!(with_plan_req(&m, 11, |r| p.plan(r)).unwrap(), first);
    assert_eq!(srv.requests().len(), 2);
    assert_eq!(p.spent_usd(), 0.0);
    // What the store saved: 100 in at $2/M + 50 out at $10/M.
    let saved = p.ledger_json()["total"]["saved_usd"].as_f64().unwrap();
    assert!((saved - 0.0007).abs() < 1e-12, "{saved}");
    // The store holds prompt and answer, one file per exchange, and no temporary files.
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert!(stored["prompt"]
        .as_str()
        .unwrap()
        .contains("## The original code"));
    assert!(stored["text"].as_str().unwrap().starts_with("Option: "));
}

#[test]
fn concurrency_is_bounded() {
    let replies = (0..6)
        .map(|i| {
            Reply::openai(&format!("Option: tiling\nplan {i}"), 1, 1)
                .delayed(Duration::from_millis(250))
        })
        .collect();
    let srv = ScriptedServer::start(replies);
    let dir = tempfile::tempdir().unwrap();
    let m = format!("openai:test-model@{}", srv.base_url());
    let mut o = options();
    o.client.concurrency = 2;
    let p = proposer(&[&m], dir.path(), o);
    std::thread::scope(|s| {
        for seed in 0..6 {
            let (p, m) = (&p, &m);
            s.spawn(move || with_plan_req(m, seed, |r| p.plan(r)).unwrap());
        }
    });
    assert_eq!(srv.requests().len(), 6);
    assert_eq!(srv.max_in_flight(), 2);
}

#[test]
fn model_specs_and_keys() {
    let none = |_: &str| None;
    let e = ModelSpec::parse_with_env("openai:gpt-4o", none)
        .unwrap_err()
        .to_string();
    assert!(e.contains("OPENAI_API_KEY"), "{e}");
    let e = ModelSpec::parse_with_env("anthropic:claude-sonnet-4", none)
        .unwrap_err()
        .to_string();
    assert!(e.contains("ANTHROPIC_API_KEY"), "{e}");
    let m = ModelSpec::parse_with_env("openai:gpt-4o", |v| {
        (v == "OPENAI_API_KEY").then(|| "k".to_string())
    })
    .unwrap();
    assert_eq!(m.base_url, "https://api.openai.com/v1");
    assert_eq!(m.id(), "openai:gpt-4o");
    assert!(
        !format!("{m:?}").contains("\"k\""),
        "the key never reaches Debug output"
    );
    // A self-hosted server runs keyless; the URL may end in a slash; the name may hold `@`.
    let m =
        ModelSpec::parse_with_env("openai:qwen2.5-coder@http://127.0.0.1:8000/v1/", none).unwrap();
    assert_eq!(
        (m.name.as_str(), m.base_url.as_str()),
        ("qwen2.5-coder", "http://127.0.0.1:8000/v1")
    );
    assert_eq!(m.api_key, None);
    let m = ModelSpec::parse_with_env("openai:org@model@http://h:1/v1", none).unwrap();
    assert_eq!(m.name, "org@model");
    for (bad, what) in [
        ("gpt-4o", "PROVIDER:MODEL"),
        ("google:gemini", "unknown provider `google`"),
        ("openai:@http://127.0.0.1:1/v1", "empty"),
        ("openai:m@http://", "base URL"),
    ] {
        let e = ModelSpec::parse_with_env(bad, none)
            .unwrap_err()
            .to_string();
        assert!(e.contains(what), "{bad}: {e}");
    }
}

#[test]
fn prompts_follow_the_hardware() {
    let t = Templates::load(None).unwrap();
    let w = workload();
    let hw16 = HwConfig::default_config();
    let isa16 = t.isa(&hw16).unwrap();
    assert!(isa16.contains("16x16 systolic array"));
    assert!(
        isa16.contains("256 KiB = 16384 rows (0 .. 16383)"),
        "{isa16}"
    );
    assert!(isa16.contains("64 KiB = 1024 rows"), "{isa16}");
    assert!(isa16.contains("cols <= 64 into the scratchpad"), "{isa16}");
    assert!(isa16.contains("low 14 bits are the row"), "{isa16}");
    assert!(!isa16.contains("{{"));
    // The loop instructions are not documented unless asked for.
    assert!(
        isa16.contains("Do not use the loop instructions"),
        "{isa16}"
    );
    assert!(!isa16.contains("gemmini_loop_ws(I, J, K"), "{isa16}");
    let fsm = t.clone().with_loop_fsm(true).isa(&hw16).unwrap();
    assert!(fsm.contains("gemmini_loop_ws(I, J, K"), "{fsm}");
    assert!(
        fsm.contains("<= 8192 scratchpad rows") && fsm.contains("<= 512 accumulator rows"),
        "{fsm}"
    );
    assert!(!fsm.contains("Do not use the loop instructions"), "{fsm}");

    let text = DEFAULT_CONFIG_TOML
        .replace("dim = 16", "dim = 8")
        .replace("dataflows = \"both\"", "dataflows = \"ws\"");
    let hw8 = HwConfig::from_toml_str(&text, "dim8.toml").unwrap();
    let isa8 = t.isa(&hw8).unwrap();
    assert!(isa8.contains("8x8 systolic array"), "{isa8}");
    assert!(!isa8.contains("16x16"), "{isa8}");
    assert!(isa8.contains("weight-stationary only"), "{isa8}");
    assert!(isa8.contains(&format!(
        "{} rows (0 .. {})",
        hw8.sp_rows(),
        hw8.sp_rows() - 1
    )));
    let rules8 = t.rules(&hw8, &w).unwrap();
    assert!(rules8.contains("The systolic array is 8x8"), "{rules8}");
    assert!(rules8.contains(&w.signature()), "{rules8}");

    // The plan prompt: sections in the method's order, the menu after dropout, no placeholder left.
    let prompt = with_plan_req("m", 0, |r| t.plan_prompt(r)).unwrap();
    let order = [
        "## The accelerator",
        "## The original code",
        "Latency: 12345 cycles",
        "Scratchpad utilization: 1.5 KiB out of 256 KiB",
        "reduced by the following optimizations",
        "- `tiling`: change the tile sizes",
        "Choose exactly one",
        "## Rules",
        "Restrict the plan to the chosen option.",
        "This is iteration 2 out of 8.",
    ];
    let mut at = 0;
    for s in order {
        let i = prompt[at..]
            .find(s)
            .unwrap_or_else(|| panic!("`{s}` missing or out of order:\n{prompt}"));
        at += i + s.len();
    }
    assert!(prompt.contains("less than half used"), "{prompt}");
    assert!(
        !prompt.contains("`skip_redundant_loads`"),
        "only the menu given is shown"
    );
    assert!(!prompt.contains("{{"), "{prompt}");
}

#[test]
fn menus_and_user_templates_fail_clearly() {
    let gemm = prompts::menu(MenuKind::GemmConv).unwrap();
    let ids: Vec<&str> = gemm.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "tiling",
            "loop_reorder",
            "loop_split",
            "loop_fusion",
            "simplify_arith",
            "reorder_compute",
            "unroll",
            "double_buffering",
            "outer_reuse",
            "spread_spad",
            "skip_redundant_loads",
            "hoist",
            "faster_ops",
            "pipeline",
            "min_data_movement",
            "min_loop_overhead",
            "other"
        ]
    );
    let linalg = prompts::menu(MenuKind::Linalg).unwrap();
    let ids: Vec<&str> = linalg.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "remove_code",
            "simplify_arith",
            "merge_instructions",
            "merge_ops",
            "reorder_ops",
            "move_to_accel",
            "bias_addsub",
            "hoist",
            "faster_ops",
            "pipeline",
            "remove_fences",
            "min_data_movement",
            "min_loop_overhead",
            "other"
        ]
    );
    for (text, want) in [
        (
            "# c\ntiling | tile\nno separator here\n",
            "m.txt:3: expected `id | text`",
        ),
        (
            "tiling | a\n\ntiling | b\n",
            "m.txt:3: menu id `tiling` appears twice",
        ),
        ("Tiling | a\n", "m.txt:1: menu id \"Tiling\""),
        ("tiling |   \n", "m.txt:1: menu option `tiling` has no text"),
        ("# only comments\n", "m.txt: the menu has no options"),
    ] {
        let e = prompts::parse_menu(text, "m.txt").unwrap_err().to_string();
        assert!(e.contains(want), "{text:?}: {e}");
    }

    // A user directory overrides single files; mistakes are found at load time with file and line.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("menu_gemm.txt"),
        "tiling | make tiles bigger\n",
    )
    .unwrap();
    let t = Templates::load(Some(dir.path())).unwrap();
    assert_eq!(t.menu(MenuKind::GemmConv).unwrap().len(), 1);
    assert_eq!(t.menu(MenuKind::Linalg).unwrap().len(), 14);
    std::fs::write(
        dir.path().join("plan.md"),
        "Hello\n{{ISA}}\nPlan for {{DIMM}} now\n",
    )
    .unwrap();
    let e = format!("{:#}", Templates::load(Some(dir.path())).unwrap_err());
    assert!(
        e.contains("plan.md:3") && e.contains("unknown placeholder `{{DIMM}}`"),
        "{e}"
    );
    std::fs::write(dir.path().join("plan.md"), "{{PLAN}}\n").unwrap();
    let e = format!("{:#}", Templates::load(Some(dir.path())).unwrap_err());
    assert!(e.contains("plan.md:1") && e.contains("{{PLAN}}"), "{e}");
    std::fs::remove_file(dir.path().join("plan.md")).unwrap();
    std::fs::write(dir.path().join("menu_linalg.txt"), "x\n").unwrap();
    let e = format!("{:#}", Templates::load(Some(dir.path())).unwrap_err());
    assert!(e.contains("menu_linalg.txt:1"), "{e}");
    let e = format!(
        "{:#}",
        Templates::load(Some(&dir.path().join("nope"))).unwrap_err()
    );
    assert!(e.contains("does not exist"), "{e}");
}

#[test]
fn unknown_models_cost_nothing_and_are_marked() {
    let srv = ScriptedServer::start(vec![Reply::openai("Option: other\nx", 100, 100)]);
    let dir = tempfile::tempdir().unwrap();
    let m = format!("openai:local-model@{}", srv.base_url());
    let p = proposer(&[&m], dir.path(), options());
    with_plan_req(&m, 1, |r| p.plan(r)).unwrap();
    let l = p.ledger_json();
    assert_eq!(l["entries"][0]["price_known"], false);
    assert_eq!(l["entries"][0]["input_tokens"], 100);
    assert_eq!(l["unpriced_models"][0], "openai:local-model");
    assert_eq!(p.spent_usd(), 0.0);
    // A model the proposer was not built with is refused without a call.
    let e = with_plan_req("openai:other", 1, |r| p.plan(r)).unwrap_err();
    assert!(
        matches!(&e, ProposeError::Llm(s) if s.contains("not one of")),
        "{e:?}"
    );
    assert_eq!(srv.requests().len(), 1);
}

#[test]
fn connection_refused_is_retried_then_a_transport_error() {
    // A port that was free a moment ago: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let m = format!("anthropic:test-claude@http://127.0.0.1:{port}/v1");
    let p = proposer(&[&m], dir.path(), options());
    let e = with_impl_req(&m, 1, |r| p.implement(r)).unwrap_err();
    assert!(
        matches!(&e, ProposeError::Llm(s) if s.contains("transport error after 3 attempt(s)")),
        "{e:?}"
    );
    assert_eq!(p.client().attempt_counts(), (3, 2));
    assert_eq!(p.ledger_json()["total"]["failed"], 1);
}

#[test]
fn prompt_preview_measures_the_parent() {
    let hw = HwConfig::default_config();
    let parent = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/candidates/gemm_tiled.c");
    let mut pv = prompts::PromptPreview {
        workload: "gemm_20x36x24",
        parent: &parent,
        plan: None,
        prompts_dir: None,
        loop_fsm: false,
    };
    let plan_prompt = prompts::preview(&hw, &pv).unwrap();
    let cycles_line = plan_prompt
        .lines()
        .find(|l| l.starts_with("- Latency: "))
        .unwrap();
    let cycles: u64 = cycles_line["- Latency: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(cycles > 68, "{cycles_line}");
    assert!(
        plan_prompt.contains("- `other`: another method"),
        "the whole menu"
    );
    pv.plan = Some("Option: unroll\nUnroll k.".into());
    let impl_prompt = prompts::preview(&hw, &pv).unwrap();
    assert!(impl_prompt.contains("Unroll k."));
    // A parent that is not correct cannot be measured.
    let wrong = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/candidates/nothing.c");
    pv.parent = &wrong;
    pv.plan = None;
    let e = format!("{:#}", prompts::preview(&hw, &pv).unwrap_err());
    assert!(e.contains("not a correct solution"), "{e}");
}

#[test]
fn answers_cut_at_the_token_limit_are_flagged() {
    let cut_plan = serde_json::json!({
        "choices": [{"finish_reason": "length", "message": {"content": "Option: tiling\nTile i by"}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 1000},
    });
    let cut_program = serde_json::json!({
        "content": [{"type": "text", "text": "```c\nvoid solution(int8_t A[32][32]) {\n  for (;;"}],
        "stop_reason": "max_tokens",
        "usage": {"input_tokens": 10, "output_tokens": 3000},
    });
    let srv = ScriptedServer::start(vec![
        Reply::raw(200, &cut_plan.to_string()),
        Reply::raw(200, &cut_program.to_string()),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let m = format!("openai:test-model@{}", srv.base_url());
    let a = format!("anthropic:test-claude@{}", srv.base_url());
    let p = proposer(&[&m, &a], dir.path(), options());
    let plan = with_plan_req(&m, 1, |r| p.plan(r)).unwrap();
    assert_eq!(plan.meta["truncated"], true);
    assert_eq!(plan.meta["model"], "openai:test-model");
    let e = with_impl_req(&a, 1, |r| p.implement(r)).unwrap_err();
    assert!(
        matches!(&e, ProposeError::Unusable(s) if s.contains("cut off")),
        "{e:?}"
    );
    // The flag survives the store.
    let again = with_plan_req(&m, 1, |r| p.plan(r)).unwrap();
    assert_eq!(again, plan);
    assert_eq!(srv.requests().len(), 2);
}

#[test]
fn search_run_directory_proposer() {
    let srv = ScriptedServer::start(vec![Reply::openai("Option: loop_fusion\nFuse.", 5, 5)]);
    let run = tempfile::tempdir().unwrap();
    let m = format!("openai:test-model@{}", srv.base_url());
    let p = LlmProposer::for_run_dir(std::slice::from_ref(&m), run.path()).unwrap();
    assert_eq!(p.name(), "llm");
    let plan = with_plan_req(&m, 5, |r| p.plan(r)).unwrap();
    assert_eq!(plan.menu_id.as_deref(), Some("loop_fusion"));
    assert_eq!(
        std::fs::read_dir(run.path().join("llm")).unwrap().count(),
        1
    );
    // The workload's menu is the GEMM/conv one.
    assert_eq!(prompts::menu_for(&workload()).unwrap().len(), 17);
    // A run without a model is refused when it starts, saying so.
    let e = format!(
        "{:#}",
        LlmProposer::for_run_dir(&[], run.path())
            .err()
            .expect("refused")
    );
    assert!(e.contains("needs at least one model"), "{e}");
}

// ---- `gemforge search` against failing and configured providers (the binary, real HTTP) ----

/// What a `gemforge search` process did.
struct SearchRun {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    dir: tempfile::TempDir,
}

impl SearchRun {
    fn run_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("run")
    }
    /// The stderr lines that report a proposer error as it happened.
    fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| {
                l.starts_with("error: plan request") || l.starts_with("error: program request")
            })
            .collect()
    }
    fn journal_events(&self, kind: &str) -> usize {
        std::fs::read_to_string(self.run_dir().join("journal.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&format!("\"event\":\"{kind}\"")))
            .count()
    }
    fn report(&self) -> String {
        std::fs::read_to_string(self.run_dir().join("report.md")).unwrap_or_default()
    }
}

/// `gemforge search --proposer llm` on gemm_32x32x32 with one beam entry, two plans of one program each,
/// three iterations and one retry, unless `extra` gives these options otherwise.
fn search_bin(model: &str, extra: &[&str]) -> SearchRun {
    let dir = tempfile::tempdir().unwrap();
    let base = [
        ("--workload", "gemm_32x32x32"),
        ("--iterations", "3"),
        ("--beam", "1"),
        ("--plans", "2"),
        ("--impls", "1"),
        ("--screen-runs", "1"),
        ("--llm-retries", "1"),
    ];
    let mut args: Vec<&str> = vec![
        "search",
        "--proposer",
        "llm",
        "--model",
        model,
        "--no-baselines",
    ];
    for (opt, value) in base {
        if !extra.contains(&opt) {
            args.extend([opt, value]);
        }
    }
    args.extend(extra);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(&args)
        .arg("--run-dir")
        .arg(dir.path().join("run"))
        .env_remove("OPENAI_API_KEY")
        .env_remove("GEMFORGE_PROMPTS_DIR")
        .env("GEMFORGE_CACHE_DIR", dir.path().join("cache"))
        .output()
        .expect("running gemforge search");
    SearchRun {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir,
    }
}

/// The checks every search that its provider failed must pass: exit status 3, one terminal line for the
/// one distinct error (naming the model and `want`), a report listing it, status proposer_failed, and
/// no second iteration.
fn assert_stopped_by_the_proposer(r: &SearchRun, want: &str) {
    let all = format!("stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert_eq!(r.code, Some(3), "{all}");
    let lines = r.error_lines();
    assert_eq!(lines.len(), 1, "one line per distinct error: {all}");
    assert!(lines[0].contains("openai:test-model"), "{all}");
    assert!(lines[0].contains(want), "{all}");
    assert!(
        r.stderr
            .contains("error: the search stopped because the proposer failed"),
        "{all}"
    );
    assert!(
        r.stdout
            .contains("status         proposer_failed: full iteration 1"),
        "{all}"
    );
    assert_eq!(r.journal_events("iteration_start"), 1, "{all}");
    let md = r.report();
    assert!(md.contains("Status: proposer_failed"), "{md}");
    assert!(md.contains("## Proposer errors"), "{md}");
    assert!(md.contains(want), "{md}");
}

#[test]
fn a_search_whose_calls_all_fail_with_500_stops_with_exit_3() {
    let srv = ScriptedServer::start(vec![]);
    srv.always(Reply::error(500));
    let m = format!("openai:test-model@{}", srv.base_url());
    let r = search_bin(&m, &[]);
    assert_stopped_by_the_proposer(&r, "HTTP 500 after 2 attempt(s): scripted failure 500");
    // Two plans, each tried twice; nothing more after the first iteration.
    assert_eq!(srv.requests().len(), 4);
    assert!(r.report().contains("| plan | llm | 2 |"), "{}", r.report());
}

#[test]
fn the_same_4xx_on_every_call_stops_after_the_first_iteration() {
    let srv = ScriptedServer::start(vec![]);
    srv.always(Reply::raw(
        400,
        r#"{"error":{"message":"max_tokens must be at most 4096","type":"invalid_request_error"}}"#,
    ));
    let m = format!("openai:test-model@{}", srv.base_url());
    let r = search_bin(&m, &[]);
    assert_stopped_by_the_proposer(
        &r,
        "HTTP 400 after 1 attempt(s): max_tokens must be at most 4096",
    );
    assert_eq!(srv.requests().len(), 2, "a 400 is not retried");
}

#[test]
fn wrong_port_malformed_json_empty_answers_and_timeouts_stop_the_search() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = search_bin(
        &format!("openai:test-model@http://127.0.0.1:{port}/v1"),
        &[],
    );
    assert_stopped_by_the_proposer(&r, "transport error after 2 attempt(s)");

    let srv = ScriptedServer::start(vec![]);
    srv.always(Reply::raw(200, "{\"choices\": [ {\"message\": "));
    let r = search_bin(&format!("openai:test-model@{}", srv.base_url()), &[]);
    assert_stopped_by_the_proposer(&r, "malformed response: body is not JSON");

    let srv = ScriptedServer::start(vec![]);
    srv.always(Reply::openai("", 50, 0));
    let r = search_bin(&format!("openai:test-model@{}", srv.base_url()), &[]);
    assert_stopped_by_the_proposer(&r, "unusable answer: the plan is empty");

    let srv = ScriptedServer::start(vec![]);
    srv.always(Reply::openai("Option: tiling\nlate", 1, 1).delayed(Duration::from_secs(3)));
    let r = search_bin(
        &format!("openai:test-model@{}", srv.base_url()),
        &["--llm-timeout", "0.3", "--llm-retries", "0"],
    );
    assert_stopped_by_the_proposer(&r, "no response within 300ms after 1 attempt(s)");
}

#[test]
fn programs_that_all_fail_stop_the_search_too() {
    let srv = ScriptedServer::start(vec![
        Reply::openai("Option: tiling\nTile by 32.", 10, 10),
        Reply::openai("Option: tiling\nTile by 16.", 10, 10),
    ]);
    srv.always(Reply::error(503));
    let m = format!("openai:test-model@{}", srv.base_url());
    let r = search_bin(&m, &[]);
    let all = format!("{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.code, Some(3), "{all}");
    let lines = r.error_lines();
    assert_eq!(lines.len(), 1, "{all}");
    assert!(
        lines[0].starts_with("error: program request to openai:test-model"),
        "{all}"
    );
    assert!(lines[0].contains("HTTP 503"), "{all}");
    assert!(
        r.report().contains("| program | llm | 2 |"),
        "{}",
        r.report()
    );
    // 2 plans + 2 programs x 2 attempts.
    assert_eq!(srv.requests().len(), 6);
}

#[test]
fn a_partly_failing_iteration_goes_on() {
    // One plan fails, the other is implemented (a program that does not compile: evaluated and
    // rejected), so the iteration had a candidate and the run completes its single iteration.
    let srv = ScriptedServer::start(vec![
        Reply::error(400),
        Reply::openai("Option: tiling\nTile by 32.", 10, 10),
        Reply::openai(&fenced(BROKEN_PROGRAM), 10, 10),
    ]);
    let m = format!("openai:test-model@{}", srv.base_url());
    let r = search_bin(&m, &["--iterations", "1", "--llm-concurrency", "1"]);
    let all = format!("{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.code, Some(0), "{all}");
    assert!(r.stdout.contains("status         completed"), "{all}");
    // The failure was still shown and reported.
    assert_eq!(r.error_lines().len(), 1, "{all}");
    assert!(
        r.report().contains("scripted failure 400"),
        "{}",
        r.report()
    );
    assert_eq!(
        r.journal_events("evaluated"),
        2,
        "the start and the candidate: {all}"
    );
}

#[test]
fn llm_settings_come_from_a_file_and_the_command_line() {
    let srv = ScriptedServer::start(vec![
        Reply::openai("Option: tiling\nTile by 32.", 10, 10).delayed(Duration::from_millis(150)),
        Reply::openai("Option: tiling\nTile by 16.", 10, 10).delayed(Duration::from_millis(150)),
        Reply::openai(&fenced(BROKEN_PROGRAM), 10, 10),
        Reply::openai(&fenced(BROKEN_PROGRAM), 10, 10),
    ]);
    let m = format!("openai:test-model@{}", srv.base_url());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("llm.toml");
    std::fs::write(
        &file,
        "[llm]\nmax_tokens = 500\nplan_max_tokens = 77\ntemperature = 0.25\nconcurrency = 4\n",
    )
    .unwrap();
    let r = search_bin(
        &m,
        &[
            "--iterations",
            "1",
            "--llm-config",
            file.to_str().unwrap(),
            "--implement-max-tokens",
            "99",
            "--llm-concurrency",
            "1",
        ],
    );
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 4);
    let limits: Vec<u64> = reqs
        .iter()
        .map(|q| q.body["max_tokens"].as_u64().unwrap())
        .collect();
    assert_eq!(
        limits,
        [77, 77, 99, 99],
        "plans from the file, programs from the command line"
    );
    assert!(reqs.iter().all(|q| q.body["temperature"] == 0.25));
    assert_eq!(
        srv.max_in_flight(),
        1,
        "the command line's concurrency wins over the file's"
    );
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.run_dir().join("config.json")).unwrap())
            .unwrap();
    assert_eq!(cfg["llm"]["plan_max_tokens"], 77);
    assert_eq!(cfg["llm"]["implement_max_tokens"], 99);
    assert_eq!(cfg["llm"]["concurrency"], 1);

    // Bad settings are refused before anything is written.
    for (args, want) in [
        (vec!["--temperature", "5"], "temperature = 5"),
        (vec!["--max-tokens", "0"], "plan_max_tokens = 0"),
        (
            vec!["--llm-config", "/nonexistent/llm.toml"],
            "/nonexistent/llm.toml",
        ),
    ] {
        let r = search_bin(&m, &args);
        assert_eq!(r.code, Some(2), "{}", r.stderr);
        assert!(r.stderr.contains(want), "{want}: {}", r.stderr);
        assert!(!r.run_dir().exists(), "nothing written for {args:?}");
    }
}

/// Stops the local server the test started (through the script, which kills the pid it recorded).
struct LocalServer {
    script: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = std::process::Command::new(&self.script)
            .arg("stop")
            .env("GEMFORGE_LLM_LOCAL_DIR", &self.dir)
            .status();
    }
}

/// A one-iteration search through a real OpenAI-compatible server: llama-cpp-python's, with the Gemma 3
/// 270M model from PyPI (scripts/llm-local.sh). `$GEMFORGE_LLM_LOCAL_URL` points at a running one;
/// otherwise the script starts one on a free port (installing it first if needed, which takes long).
#[test]
#[ignore = "needs scripts/llm-local.sh (llama-cpp-python and a GGUF model from PyPI): cargo test --release --test opt -- --ignored llm_local"]
fn llm_local_one_iteration_search() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (url, _server) = match std::env::var("GEMFORGE_LLM_LOCAL_URL") {
        Ok(u) => (u, None),
        Err(_) => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let script = root.join("scripts/llm-local.sh");
            let dir = std::env::var_os("GEMFORGE_LLM_LOCAL_DIR")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| {
                    Path::new(&std::env::var_os("HOME").expect("HOME"))
                        .join(".cache/gemforge/llm-local")
                });
            let st = std::process::Command::new(&script)
                .args(["start", &port.to_string()])
                .env("GEMFORGE_LLM_LOCAL_DIR", &dir)
                .status()
                .expect("running scripts/llm-local.sh");
            assert!(
                st.success(),
                "scripts/llm-local.sh start failed; see its output above"
            );
            (
                format!("http://127.0.0.1:{port}/v1"),
                Some(LocalServer { script, dir }),
            )
        }
    };
    let model = format!("openai:gemma-3-270m@{url}");
    let r = search_bin(
        &model,
        &[
            "--iterations",
            "1",
            "--plans",
            "1",
            "--max-tokens",
            "768",
            "--llm-timeout",
            "900",
            "--llm-concurrency",
            "1",
            "--json",
        ],
    );
    let all = format!("stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    eprintln!("{all}");
    // A truthful status: completed (something was evaluated) or proposer_failed with exit status 3.
    let s: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect(&all);
    let status = s["status"].as_str().unwrap_or_default().to_string();
    let evaluated = r.journal_events("evaluated");
    match r.code {
        Some(0) => {
            assert_eq!(status, "completed", "{all}");
            assert_eq!(r.journal_events("program_received") + 1, evaluated, "{all}");
        }
        Some(3) => {
            assert!(status.starts_with("proposer_failed"), "{all}");
            assert_eq!(r.journal_events("program_received"), 0, "{all}");
            assert!(!r.error_lines().is_empty(), "the failure was shown: {all}");
        }
        other => panic!("exit status {other:?}: {all}"),
    }
    // Every request is classified: a plan or a named failure, a program or a named failure; every
    // program was evaluated to a verdict.
    let journal = std::fs::read_to_string(r.run_dir().join("journal.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kind = |k: &str| events.iter().filter(|e| e["event"] == k).count();
    assert_eq!(kind("plan_requested"), 1, "{journal}");
    assert_eq!(kind("plan_received") + kind("plan_failed"), 1, "{journal}");
    assert_eq!(
        kind("program_requested"),
        kind("program_received") + kind("program_failed"),
        "{journal}"
    );
    for e in &events {
        if e["event"] == "plan_failed" || e["event"] == "program_failed" {
            let class = e["class"].as_str().unwrap();
            assert!(["llm", "unusable"].contains(&class), "{e}");
            assert!(!e["detail"].as_str().unwrap().is_empty(), "{e}");
        }
        if e["event"] == "evaluated" {
            let v = &e["verdict"];
            assert!(v["correct"] == true || v["failure"].is_string(), "{e}");
        }
    }
    // Tokens are counted from the server's usage (not estimated) for every answered call.
    let ledger = events
        .iter()
        .find(|e| e["event"] == "ledger")
        .expect("the ledger is journaled");
    let total = &ledger["ledger"]["total"];
    let answered = total["calls"].as_u64().unwrap();
    assert!(answered >= 1, "the server answered at least once: {ledger}");
    assert!(total["input_tokens"].as_u64().unwrap() > 1000, "{ledger}");
    assert!(total["output_tokens"].as_u64().unwrap() > 0, "{ledger}");
    for e in ledger["ledger"]["entries"].as_array().unwrap() {
        assert_eq!(
            e["estimated_calls"], 0,
            "llama.cpp's server sends usage: {e}"
        );
    }
}

// ---- Autocomp's newer options: edits, repair, plan/code models, one-call answers, ancestry ----

/// A search/replace block.
fn edit_block(search: &str, replace: &str) -> String {
    format!("<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n")
}

#[test]
fn edits_apply_strictly_and_malformed_ones_name_the_block() {
    // GOOD_PROGRAM's lines: the signature, the config_ex line, `}`.
    let cfg_line = "  config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);";
    let good = format!(
        "I tile k.\n```\n{}```\n",
        edit_block(cfg_line, &format!("{cfg_line}\n  fence();"))
    );
    let two_blocks = format!(
        "{}{}",
        edit_block(cfg_line, "  fence();"),
        edit_block("}", "  /* end */\n}")
    );
    let srv = ScriptedServer::start(vec![
        Reply::openai(&good, 10, 10),
        Reply::openai(&edit_block("  config_ex(1);", "  x();"), 10, 10),
        Reply::openai(&two_blocks, 10, 10),
        Reply::openai("Here is the whole program:\n```c\nvoid solution(void) {}\n```", 10, 10),
        Reply::openai(
            "<<<<<<< SEARCH\n  config_ex(WEIGHT_STATIONARY, NO_ACTIVATION, 1, false, false);\n=======\n",
            10,
            10,
        ),
        Reply::openai(
            &format!(
                "{}{}",
                edit_block(cfg_line, "  fence();"),
                edit_block(&format!("{cfg_line}\n}}"), "}")
            ),
            10,
            10,
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let m = format!("openai:test-model@{}", srv.base_url());
    let p = proposer(
        &[&m],
        dir.path(),
        LlmOptions {
            edits: true,
            ..options()
        },
    );
    let got: Vec<Result<String, ProposeError>> = (0..6)
        .map(|seed| with_impl_req(&m, seed, |r| p.implement(r)))
        .collect();
    // The edit lands in the parent, the rest of it untouched.
    assert_eq!(
        got[0].as_deref(),
        Ok(format!(
            "void solution(int8_t A[32][32], int8_t B[32][32], int8_t C[32][32]) {{\n{cfg_line}\n  fence();\n}}\n"
        )
        .as_str())
    );
    let edit_err = |i: usize| match &got[i] {
        Err(ProposeError::Edit(e)) => e.clone(),
        other => panic!("answer {i}: expected an edit failure, got {other:?}"),
    };
    let e = edit_err(1);
    assert!(
        e.contains("edit block 1") && e.contains("does not occur"),
        "{e}"
    );
    // Two blocks, each matching once, both apply.
    assert_eq!(
        got[2].as_deref(),
        Ok(
            "void solution(int8_t A[32][32], int8_t B[32][32], int8_t C[32][32]) {\n  fence();\n  /* end */\n}\n"
        )
    );
    let e = edit_err(3);
    assert!(e.contains("no edit blocks"), "{e}");
    let e = edit_err(4);
    assert!(
        e.contains("edit block 1 is not well formed") && e.contains("REPLACE"),
        "{e}"
    );
    let e = edit_err(5);
    assert!(e.contains("edit blocks 1 and 2 overlap"), "{e}");
    // The prompt documents the format and forbids whole programs.
    let prompt = srv.requests()[0].body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(prompt.contains("<<<<<<< SEARCH"), "{prompt}");
    assert!(prompt.contains("must occur exactly once"), "{prompt}");
    assert!(!prompt.contains("whole new program"), "{prompt}");

    // A user's implement.md written for whole programs cannot be used with edits: refused, naming it.
    let user = tempfile::tempdir().unwrap();
    std::fs::write(
        user.path().join("implement.md"),
        "{{ISA}}\n{{PARENT_CODE}}\n{{PLAN}}\nAnswer with the whole program.\n",
    )
    .unwrap();
    let e = LlmProposer::with_models(
        vec![spec(&m)],
        dir.path(),
        prices(),
        LlmOptions {
            edits: true,
            templates: Templates::load(Some(user.path())).unwrap(),
            ..options()
        },
    )
    .err()
    .expect("refused");
    let e = format!("{e:#}");
    assert!(
        e.contains("implement.md") && e.contains("{{ANSWER_FORMAT}}"),
        "{e}"
    );

    // A search text that occurs twice is refused, naming the block and the lines.
    let twice = "void solution(void) {\n  fence();\n}\nvoid other(void) {\n  fence();\n}\n";
    let srv = ScriptedServer::start(vec![Reply::openai(
        &format!(
            "{}{}",
            edit_block("void solution(void) {", "void solution(void) {"),
            edit_block("  fence();", "  config_ex(0, 0, 1, false, false);")
        ),
        10,
        10,
    )]);
    let m = format!("openai:test-model@{}", srv.base_url());
    let dir = tempfile::tempdir().unwrap();
    let p = proposer(
        &[&m],
        dir.path(),
        LlmOptions {
            edits: true,
            ..options()
        },
    );
    let hw = HwConfig::default_config();
    let w = workload();
    let plan = Plan {
        text: "Option: other\nx".into(),
        menu_id: None,
        meta: serde_json::Value::Null,
    };
    let e = p
        .implement(&ImplRequest {
            workload: &w,
            hw: &hw,
            parent_code: twice,
            plan: &plan,
            model: Some(&m),
            seed: 1,
        })
        .unwrap_err();
    assert!(
        matches!(&e, ProposeError::Edit(s) if s.contains("edit block 2") && s.contains("occurs 2 times") && s.contains("lines 2, 5")),
        "{e:?}"
    );
}

#[test]
fn repair_prompts_carry_the_error_and_one_call_answers_carry_their_plan() {
    let srv = ScriptedServer::start(vec![
        Reply::openai(&fenced(GOOD_PROGRAM), 10, 10),
        Reply::openai(
            &format!(
                "Option: unroll\nUnroll the k loop by two.\n\n{}",
                fenced(GOOD_PROGRAM)
            ),
            10,
            10,
        ),
        Reply::openai(&fenced(GOOD_PROGRAM), 10, 10),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let m = format!("openai:test-model@{}", srv.base_url());
    let p = proposer(&[&m], dir.path(), options());
    let hw = HwConfig::default_config();
    let w = workload();
    let plan = Plan {
        text: "Option: tiling\nUse 32x32 tiles.".into(),
        menu_id: Some("tiling".into()),
        meta: serde_json::Value::Null,
    };
    let fixed = p
        .repair(&RepairRequest {
            workload: &w,
            hw: &hw,
            parent_code: GOOD_PROGRAM,
            plan: Some(&plan),
            failed_code: Some(BROKEN_PROGRAM),
            error: "compile_error: t.c:1:40: error: expected ')' before '{' token",
            model: Some(&m),
            seed: 3,
        })
        .unwrap();
    assert_eq!(fixed, format!("{GOOD_PROGRAM}\n"));
    let prompt = srv.requests()[0].body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(prompt.contains("expected ')' before '{' token"), "{prompt}");
    assert!(prompt.contains(BROKEN_PROGRAM), "{prompt}");
    assert!(prompt.contains("Use 32x32 tiles."), "{prompt}");

    // One call plans and implements: the plan is the text before the code, with its option; the
    // ancestry given is in the prompt.
    let ancestry = vec![AncestorStep {
        code: "void solution(void) { /* the grandparent */ }".into(),
        cycles: 99999,
        plan: Some("Option: tiling\nBigger tiles for the grandparent.".into()),
        menu_id: Some("tiling".into()),
    }];
    let hw = HwConfig::default_config();
    let fb = feedback();
    let menu = prompts::menu(MenuKind::GemmConv).unwrap();
    let req = PlanRequest {
        workload: &w,
        hw: &hw,
        parent_code: GOOD_PROGRAM,
        feedback: &fb,
        menu: &menu,
        iteration: 1,
        iterations: 2,
        model: Some(&m),
        seed: 4,
        ancestry: &ancestry,
        pending: &[],
        measured: &[],
    };
    let (plan, code) = p.direct(&req).unwrap();
    assert_eq!(code, format!("{GOOD_PROGRAM}\n"));
    assert_eq!(plan.menu_id.as_deref(), Some("unroll"));
    // The plan is the text before the code (the scripted answer's lead-in line included).
    assert!(
        plan.text
            .starts_with("Option: unroll\nUnroll the k loop by two.")
            && !plan.text.contains("```"),
        "{}",
        plan.text
    );
    let prompt = srv.requests()[1].body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(prompt.contains("a line `Option: <id>`"), "{prompt}");
    assert!(prompt.contains("then apply it"), "{prompt}");
    assert!(
        prompt.contains("## How the original code came about"),
        "{prompt}"
    );
    assert!(
        prompt.contains("### 1 generation back: 99999 cycles"),
        "{prompt}"
    );
    assert!(prompt.contains("the grandparent"), "{prompt}");
    assert!(
        prompt.contains("Bigger tiles for the grandparent."),
        "{prompt}"
    );
    assert!(
        prompt.contains("That gave the original code above (12345 cycles)."),
        "{prompt}"
    );
    // Without ancestry the planning prompt has no such section.
    let plain = with_plan_req(&m, 5, |r| Templates::builtin().plan_prompt(r)).unwrap();
    assert!(!plain.contains("came about"), "{plain}");
    // The phases are booked apart.
    p.plan(&req).unwrap();
    let l = p.ledger_json();
    let phases: Vec<&str> = l["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["phase"].as_str().unwrap())
        .collect();
    for want in ["repair", "direct", "plan"] {
        assert!(phases.contains(&want), "{phases:?}");
    }
}

/// The naive starting program of `gemm_32x32x32` on the default hardware (what `search_bin` starts from).
fn naive_32() -> String {
    let w = gemforge::bench::workload::by_name("gemm_32x32x32").unwrap();
    gemforge::bench::baseline::program(
        &HwConfig::default_config(),
        &w,
        gemforge::bench::baseline::Baseline::Naive,
    )
    .unwrap()
}

/// The line of `code` that names `solution` (it occurs exactly once).
fn solution_line(code: &str) -> String {
    let lines: Vec<&str> = code.lines().collect();
    let hits: Vec<&&str> = lines.iter().filter(|l| l.contains("solution")).collect();
    assert_eq!(hits.len(), 1, "{code}");
    assert_eq!(lines.iter().filter(|l| **l == *hits[0]).count(), 1);
    hits[0].to_string()
}

/// The prompt text of a recorded OpenAI request.
fn prompt_of(r: &llm_server::Recorded) -> String {
    r.body["messages"][1]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn journal_lines(r: &SearchRun) -> Vec<serde_json::Value> {
    std::fs::read_to_string(r.run_dir().join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_search_with_edits_repairs_malformed_edits_and_failed_programs() {
    let naive = naive_32();
    let unique = solution_line(&naive);
    // Iteration 1, one plan, two programs (K=2), each failing its own way, each repaired once:
    // program 1: its search text is not in the parent -> repair with good edits -> correct;
    // program 2: edits that apply but break the program -> compile error -> repair with garbage -> fails.
    let srv = ScriptedServer::start(vec![
        Reply::openai("Option: hoist\nHoist nothing; add a comment.", 10, 10),
        Reply::openai(
            &edit_block("  this line is not in the program;", "  x();"),
            10,
            10,
        ),
        Reply::openai(
            &edit_block(&unique, &format!("{unique}\n  this is not C;")),
            10,
            10,
        ),
        Reply::openai(
            &edit_block(&unique, &format!("// repaired\n{unique}")),
            10,
            10,
        ),
        Reply::openai("Sorry, I cannot fix it.", 10, 10),
    ]);
    let m = format!("openai:test-model@{}", srv.base_url());
    let r = search_bin(
        &m,
        &[
            "--iterations",
            "1",
            "--plans",
            "1",
            "--impls",
            "2",
            "--llm-concurrency",
            "1",
            "--jobs",
            "1",
            "--edits",
            "--repair",
        ],
    );
    let all = format!("{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.code, Some(0), "{all}");
    assert_eq!(srv.requests().len(), 5, "{all}");
    let ev = journal_lines(&r);
    let kinds: Vec<(String, String)> = ev
        .iter()
        .filter(|e| e["event"] == "program_requested")
        .map(|e| {
            (
                e["slot"].as_str().unwrap().to_string(),
                e["kind"].as_str().unwrap_or("implement").to_string(),
            )
        })
        .collect();
    let slots: Vec<&str> = kinds.iter().map(|k| k.0.as_str()).collect();
    assert_eq!(slots.len(), 4, "{kinds:?}");
    assert!(
        slots[2].ends_with("/k0/r") && slots[3].ends_with("/k1/r"),
        "{kinds:?}"
    );
    assert_eq!(kinds[2].1, "repair");
    let failed: Vec<(&str, &str)> = ev
        .iter()
        .filter(|e| e["event"] == "program_failed")
        .map(|e| (e["class"].as_str().unwrap(), e["detail"].as_str().unwrap()))
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(failed[0].0, "edit");
    assert!(
        failed[0].1.contains("edit block 1") && failed[0].1.contains("does not occur"),
        "{failed:?}"
    );
    assert_eq!(failed[1].0, "edit", "the garbage repair: {failed:?}");
    assert!(failed[1].1.contains("no edit blocks"), "{failed:?}");
    // The repair prompts: the edit failure and the compiler's complaint with the failed program.
    let reqs = srv.requests();
    let p3 = prompt_of(&reqs[3]);
    assert!(p3.contains("## What went wrong"), "{p3}");
    assert!(p3.contains("does not occur"), "{p3}");
    assert!(p3.contains("Hoist nothing"), "{p3}");
    let p4 = prompt_of(&reqs[4]);
    assert!(p4.contains("compile_error"), "{p4}");
    assert!(p4.contains("this is not C;"), "{p4}");
    // Two evaluations besides the start: the broken program and the repaired one (correct).
    let evaluated: Vec<&serde_json::Value> = ev
        .iter()
        .filter(|e| e["event"] == "evaluated")
        .map(|e| &e["verdict"])
        .collect();
    assert_eq!(evaluated.len(), 3, "{evaluated:?}");
    assert_eq!(evaluated[1]["failure"], "compile_error");
    assert_eq!(evaluated[2]["correct"], true);
    let md = r.report();
    assert!(md.contains("| program:edit | 2 |"), "{md}");
    // The ledger books the repairs apart.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.run_dir().join("summary.json")).unwrap())
            .unwrap();
    let phases: Vec<(String, u64)> = summary["ledgers"][0]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["phase"].as_str().unwrap().to_string(),
                e["calls"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(phases.contains(&("repair".to_string(), 2)), "{phases:?}");
    assert!(phases.contains(&("implement".to_string(), 2)), "{phases:?}");
}

#[test]
fn plan_and_code_models_are_separate_ensembles_and_resume_refuses_a_change() {
    let naive = naive_32();
    let planner = ScriptedServer::start(vec![]);
    planner.always(Reply::openai(
        "Option: tiling\nKeep it; add a comment.",
        10,
        10,
    ));
    let coder_a = ScriptedServer::start(vec![]);
    coder_a.always(Reply::openai(&fenced(&format!("// a\n{naive}")), 10, 10));
    let coder_b = ScriptedServer::start(vec![]);
    coder_b.always(Reply::openai(&fenced(&format!("// b\n{naive}")), 10, 10));
    let p = format!("openai:planner@{}", planner.base_url());
    let a = format!("openai:coder-a@{}", coder_a.base_url());
    let b = format!("openai:coder-b@{}", coder_b.base_url());
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let search = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gemforge"))
            .args([
                "search",
                "--proposer",
                "llm",
                "--workload",
                "gemm_32x32x32",
                "--no-baselines",
                "--screen-runs",
                "1",
                "--beam",
                "1",
            ])
            .args(extra)
            .arg("--out-dir")
            .arg(&run_dir)
            .env_remove("OPENAI_API_KEY")
            .env_remove("GEMFORGE_PROMPTS_DIR")
            .env("GEMFORGE_CACHE_DIR", dir.path().join("cache"))
            .output()
            .expect("running gemforge search")
    };
    let out = search(&[
        "--plan-model",
        &p,
        "--code-model",
        &a,
        "--code-model",
        &b,
        "--iterations",
        "1",
        "--plans",
        "2",
        "--impls",
        "2",
    ]);
    let all = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{all}");
    // Two plans from the planner only; four programs split evenly over the two code models.
    assert_eq!(planner.requests().len(), 2, "{all}");
    assert_eq!(coder_a.requests().len(), 2, "{all}");
    assert_eq!(coder_b.requests().len(), 2, "{all}");
    for r in planner.requests() {
        assert!(prompt_of(&r).contains("Begin your answer with a line `Option: <id>`"));
    }
    for r in coder_a.requests().iter().chain(&coder_b.requests()) {
        assert!(prompt_of(r).contains("Keep it; add a comment."));
    }
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(cfg["plan_models"], serde_json::json!([p]));
    assert_eq!(cfg["code_models"], serde_json::json!([a, b]));

    // Resume refuses each contradicting option, naming it.
    let out = search(&[
        "--resume",
        "--plan-model",
        &a,
        "--code-model",
        &a,
        "--edits",
        "--repair",
        "--skip-planning",
        "--ancestors",
        "2",
    ]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_ne!(out.status.code(), Some(0), "{err}");
    for want in [
        "--code-model openai:coder-a",
        "--edits (set) (the run has it off)",
        "--repair (set) (the run has it off)",
        "--skip-planning (set) (the run has it off)",
        "--ancestors 2 (the run has 0)",
    ] {
        assert!(err.contains(want), "{want}: {err}");
    }
    let out = search(&["--resume", "--plan-model", &a]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains(&format!("--plan-model {a} (the run plans with {p})")),
        "{err}"
    );
    // The same models in the same roles are accepted.
    let out = search(&[
        "--resume",
        "--plan-model",
        &p,
        "--code-model",
        &a,
        "--code-model",
        &b,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn skip_planning_asks_once_per_program_and_ancestors_reach_the_planning_prompt() {
    let naive = naive_32();
    // --skip-planning: one call per program; the answer's plan and option are kept.
    let srv = ScriptedServer::start(vec![]);
    srv.always(Reply::openai(
        &format!(
            "Option: unroll\nUnroll nothing yet.\n\n{}",
            fenced(&format!("// direct\n{naive}"))
        ),
        10,
        10,
    ));
    let m = format!("openai:test-model@{}", srv.base_url());
    let r = search_bin(
        &m,
        &[
            "--iterations",
            "1",
            "--plans",
            "2",
            "--impls",
            "2",
            "--skip-planning",
        ],
    );
    let all = format!("{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.code, Some(0), "{all}");
    assert_eq!(srv.requests().len(), 4, "N x K one-call requests: {all}");
    assert_eq!(r.journal_events("plan_requested"), 0, "{all}");
    let ev = journal_lines(&r);
    let got: Vec<&serde_json::Value> = ev
        .iter()
        .filter(|e| e["event"] == "program_received")
        .collect();
    assert_eq!(got.len(), 4);
    // Each answer's plan is kept; its option is `unroll` where the prompt's menu (after dropout) offered
    // it, and none where it did not.
    assert!(got.iter().all(|e| e["plan"].is_string()), "{got:?}");
    let reqs = srv.requests();
    for e in &got {
        // The request of this slot: the one carrying its seed.
        let seed = ev
            .iter()
            .find(|q| q["event"] == "program_requested" && q["slot"] == e["slot"])
            .and_then(|q| q["seed"].as_u64())
            .unwrap();
        // The client sends the seed as a signed 64-bit number.
        let sent = seed & (i64::MAX as u64);
        let req = reqs.iter().find(|r| r.body["seed"] == sent).unwrap();
        let offered = prompt_of(req).contains("- `unroll`:");
        assert_eq!(e["menu_id"] == "unroll", offered, "{e:?}");
        assert_eq!(e["menu_id"].is_null(), !offered, "{e:?}");
    }
    assert!(ev
        .iter()
        .filter(|e| e["event"] == "program_requested")
        .all(|e| e["kind"] == "direct"));
    let p = prompt_of(&srv.requests()[0]);
    assert!(p.contains("then apply it"), "{p}");
    assert!(p.contains("exactly one fenced code block"), "{p}");
    // --plan-model means nothing without planning: refused.
    let r = search_bin(&m, &["--skip-planning", "--plan-model", &m]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--plan-model has no use with --skip-planning"),
        "{}",
        r.stderr
    );
    // The built-in proposer takes none of these options.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gemforge"))
        .args(["search", "--workload", "gemm_32x32x32", "--edits"])
        .arg("--out-dir")
        .arg(r.dir.path().join("builtin"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--edits is for --proposer llm"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // --ancestors 1 with a beam of 2: iteration 1's child (the start plus a comment, as fast as the
    // start, kept by the 10% allowance) is planned on in iteration 2 with its parent and plan shown.
    let srv = ScriptedServer::start(vec![
        Reply::openai("Option: tiling\nFIRST-PLAN: add a comment.", 10, 10),
        Reply::openai(&fenced(&format!("// child\n{naive}")), 10, 10),
    ]);
    srv.always(Reply::openai(
        &format!(
            "Option: tiling\nLATER-PLAN.\n{}",
            fenced(&format!("// later\n{naive}"))
        ),
        10,
        10,
    ));
    let m = format!("openai:test-model@{}", srv.base_url());
    let r = search_bin(
        &m,
        &[
            "--iterations",
            "2",
            "--plans",
            "1",
            "--impls",
            "1",
            "--beam",
            "2",
            "--ancestors",
            "1",
            "--llm-concurrency",
            "1",
        ],
    );
    let all = format!("{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.code, Some(0), "{all}");
    let plans: Vec<String> = srv
        .requests()
        .iter()
        .map(prompt_of)
        .filter(|p| p.contains("Write a plan, not the code."))
        .collect();
    assert_eq!(plans.len(), 3, "one plan in iteration 1, two in 2: {all}");
    assert!(
        !plans[0].contains("came about"),
        "the start has no ancestry"
    );
    let with: Vec<&String> = plans.iter().filter(|p| p.contains("came about")).collect();
    assert_eq!(with.len(), 1, "only the child has a parent: {plans:?}");
    assert!(with[0].contains("### 1 generation back"), "{}", with[0]);
    assert!(
        with[0].contains("FIRST-PLAN: add a comment."),
        "{}",
        with[0]
    );
}

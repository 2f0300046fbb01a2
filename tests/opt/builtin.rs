//! The built-in proposer: every program it writes from the naive start over several seeded steps is
//! correct (spec engine), it is deterministic, it biases towards bigger tiles when the scratchpad is
//! under-used, and it declines parents it did not write and menus with nothing applicable.

use gemforge::bench::eval::{evaluate, EvalOpts};
use gemforge::bench::schedule::Schedule;
use gemforge::bench::workload::{self, Workload};
use gemforge::opt::prompts::{self, MenuKind};
use gemforge::opt::propose::builtin::BuiltinProposer;
use gemforge::opt::propose::{
    Feedback, ImplRequest, MenuItem, Plan, PlanRequest, ProposeError, Proposer,
};
use gemforge::sim::config::HwConfig;

/// The bundled GEMM menu's ids (prompts/menu_gemm.txt), each with a placeholder text.
fn gemm_menu() -> Vec<MenuItem> {
    let ids: Vec<String> = prompts::menu(MenuKind::GemmConv)
        .expect("the bundled GEMM menu parses")
        .into_iter()
        .map(|m| m.id)
        .collect();
    menu(&ids.iter().map(String::as_str).collect::<Vec<_>>())
}

fn menu(ids: &[&str]) -> Vec<MenuItem> {
    ids.iter()
        .map(|id| MenuItem {
            id: id.to_string(),
            text: format!("apply {id}"),
        })
        .collect()
}

fn plan_for(
    p: &BuiltinProposer,
    w: &Workload,
    code: &str,
    fb: &Feedback,
    menu: &[MenuItem],
    seed: u64,
) -> Result<Plan, ProposeError> {
    let hw = HwConfig::default_config();
    p.plan(&PlanRequest {
        workload: w,
        hw: &hw,
        parent_code: code,
        feedback: fb,
        menu,
        iteration: 1,
        iterations: 4,
        model: None,
        seed,
        ancestry: &[],
    })
}

fn implement(p: &BuiltinProposer, w: &Workload, code: &str, plan: &Plan, seed: u64) -> String {
    let hw = HwConfig::default_config();
    p.implement(&ImplRequest {
        workload: w,
        hw: &hw,
        parent_code: code,
        plan,
        model: None,
        seed,
    })
    .unwrap()
}

fn naive(w: &Workload) -> String {
    gemforge::bench::baseline::program(
        &HwConfig::default_config(),
        w,
        gemforge::bench::baseline::Baseline::Naive,
    )
    .unwrap()
}

#[test]
fn seeded_walks_from_naive_stay_correct() {
    let p = BuiltinProposer::new();
    let hw = HwConfig::default_config();
    let dir = std::env::temp_dir().join(format!("gemforge-builtin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let opts = EvalOpts {
        screen_runs: 1,
        rtl: false,
        seed: Some(3),
        ..Default::default()
    };
    let ws = [
        workload::by_name("gemm_64x48x80").unwrap(),
        workload::by_name("gemm_20x36x24").unwrap(),
        Workload::conv("conv_b2_5x20", "test", 2, 5, 20),
    ];
    let all = gemm_menu();
    for w in &ws {
        let mut code = naive(w);
        let mut menu_ids = Vec::new();
        for step in 0..8u64 {
            let seed = step * 7919 + w.name.len() as u64;
            // A dropped-out menu, as the search offers it: keep about half of the options.
            let offered: Vec<MenuItem> = all
                .iter()
                .enumerate()
                .filter(|(i, _)| (seed >> (i % 13)) & 1 == 1 || *i == 0)
                .map(|(_, m)| m.clone())
                .collect();
            let plan = plan_for(&p, w, &code, &Feedback::default(), &offered, seed).unwrap();
            let id = plan.menu_id.clone().unwrap();
            assert!(offered.iter().any(|m| m.id == id), "{id} was not offered");
            let child = implement(&p, w, &code, &plan, seed);
            let s = Schedule::from_program(&child).expect("child records its schedule");
            s.validate(&hw, w).unwrap();
            assert_ne!(
                Some(s),
                Schedule::from_program(&code),
                "the plan changes something"
            );
            let path = dir.join(format!("{}-{step}.c", w.name));
            std::fs::write(&path, &child).unwrap();
            let v = evaluate(&hw, w, &path, &opts);
            assert!(
                v.correct,
                "{} step {step} ({id}): {v:#?}\n{}",
                w.name, plan.text
            );
            menu_ids.push(id);
            code = child;
        }
        menu_ids.dedup();
        assert!(menu_ids.len() > 2, "{menu_ids:?}");
    }
}

#[test]
fn deterministic_per_request() {
    let p = BuiltinProposer::new();
    let w = workload::by_name("gemm_64x64x64").unwrap();
    let code = naive(&w);
    let m = gemm_menu();
    let fb = Feedback::default();
    let mut texts = std::collections::BTreeSet::new();
    for seed in 0..12 {
        let a = plan_for(&p, &w, &code, &fb, &m, seed).unwrap();
        let b = plan_for(&p, &w, &code, &fb, &m, seed).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            implement(&p, &w, &code, &a, seed),
            implement(&p, &w, &code, &b, seed + 1)
        );
        texts.insert(a.text);
    }
    assert!(texts.len() > 3, "seeds give different plans: {texts:?}");
}

#[test]
fn underused_scratchpad_prefers_bigger_tiles() {
    let p = BuiltinProposer::new();
    let w = workload::by_name("gemm_64x64x64").unwrap();
    let code = naive(&w);
    let m = menu(&["tiling", "unroll", "reorder_compute", "loop_reorder"]);
    let count = |fb: &Feedback| {
        (0..200)
            .filter(|&seed| {
                let plan = plan_for(&p, &w, &code, fb, &m, seed).unwrap();
                plan.text.contains("grow the tile")
            })
            .count()
    };
    let full = Feedback {
        sp_rows_used: 16000,
        sp_rows_total: 16384,
        ..Default::default()
    };
    let empty = Feedback {
        sp_rows_used: 64,
        sp_rows_total: 16384,
        ..Default::default()
    };
    assert!(
        count(&empty) > count(&full),
        "{} vs {}",
        count(&empty),
        count(&full)
    );
}

#[test]
fn declines_foreign_parents_and_inapplicable_menus() {
    let p = BuiltinProposer::new();
    let w = workload::by_name("gemm_20x36x24").unwrap();
    let foreign = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/candidates/gemm_tiled.c"),
    )
    .unwrap();
    let e = plan_for(&p, &w, &foreign, &Feedback::default(), &gemm_menu(), 1).unwrap_err();
    assert!(matches!(e, ProposeError::NotApplicable(_)), "{e:?}");
    let code = naive(&w);
    let e = plan_for(
        &p,
        &w,
        &code,
        &Feedback::default(),
        &menu(&["simplify_arith", "faster_ops", "other"]),
        1,
    )
    .unwrap_err();
    assert!(matches!(e, ProposeError::NotApplicable(_)), "{e:?}");
    // A schedule for another workload kind does not apply either.
    let conv = workload::by_name("conv_b1_8x16").unwrap();
    let e = plan_for(&p, &w, &naive(&conv), &Feedback::default(), &gemm_menu(), 1).unwrap_err();
    assert!(matches!(e, ProposeError::NotApplicable(_)), "{e:?}");
    // implement refuses a plan it did not make.
    let hw = HwConfig::default_config();
    let foreign_plan = Plan {
        text: "do something".into(),
        menu_id: None,
        meta: serde_json::Value::Null,
    };
    let e = p
        .implement(&ImplRequest {
            workload: &w,
            hw: &hw,
            parent_code: &code,
            plan: &foreign_plan,
            model: None,
            seed: 0,
        })
        .unwrap_err();
    assert!(matches!(e, ProposeError::NotApplicable(_)), "{e:?}");
}

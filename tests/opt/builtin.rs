//! The built-in proposer: every program it writes from the naive start over several seeded steps is
//! correct (spec engine), it is deterministic, it biases towards bigger tiles when the scratchpad is
//! under-used, and it declines parents it did not write and menus with nothing applicable. Its coordinated
//! moves change several decisions at once, it never proposes a schedule the run has measured, its cost
//! model refit on recorded RTL verdicts ranks them better than the prior alone, and schedule reuse
//! transfers the source run's winner. On a paper convolution one step from the naive start lands near
//! the model's optimum over the whole schedule space.

use gemforge::bench::eval::{evaluate, EvalOpts};
use gemforge::bench::schedule::Schedule;
use gemforge::bench::workload::{self, Workload};
use gemforge::opt::prompts::{self, MenuKind};
use gemforge::opt::propose::builtin::BuiltinProposer;
use gemforge::opt::propose::model::{self as cost, CostModel};
use gemforge::opt::propose::{
    Feedback, ImplRequest, Measured, MenuItem, Plan, PlanRequest, ProposeError, Proposer,
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
    plan_measured(p, w, code, fb, menu, seed, &[])
}

fn plan_measured(
    p: &BuiltinProposer,
    w: &Workload,
    code: &str,
    fb: &Feedback,
    menu: &[MenuItem],
    seed: u64,
    measured: &[Measured],
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
        pending: &[],
        measured,
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
        &menu(&["simplify_arith", "faster_ops"]),
        1,
    )
    .unwrap_err();
    assert!(matches!(e, ProposeError::NotApplicable(_)), "{e:?}");
    // On a GEMM the open-ended "other" option is the model jump.
    let plan = plan_for(&p, &w, &code, &Feedback::default(), &menu(&["other"]), 1).unwrap();
    assert!(
        plan.text.contains("jump to the schedule the cost model"),
        "{}",
        plan.text
    );
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

fn schedule_of(code: &str) -> Schedule {
    Schedule::from_program(code).expect("a generated program records its schedule")
}

/// Decisions in which two GEMM schedules differ (tile sizes, order, levels, flags, widths...).
fn gemm_fields_changed(a: &Schedule, b: &Schedule) -> usize {
    let (a, b) = (
        serde_json::to_value(a).unwrap(),
        serde_json::to_value(b).unwrap(),
    );
    let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
    a.iter().filter(|(k, v)| b.get(*k) != Some(*v)).count()
}

#[test]
fn coordinated_moves_are_valid_distinct_and_change_several_decisions() {
    let p = BuiltinProposer::new();
    let hw = HwConfig::default_config();
    let w = workload::by_name("gemm_12544x64x256").unwrap();
    let code = naive(&w);
    let parent = schedule_of(&code);
    let m = gemm_menu();
    let mut children = std::collections::BTreeSet::new();
    let mut max_changed = 0;
    for seed in 0..40 {
        let plan = plan_for(&p, &w, &code, &Feedback::default(), &m, seed).unwrap();
        let child = implement(&p, &w, &code, &plan, seed);
        let s = schedule_of(&child);
        s.validate(&hw, &w).unwrap();
        assert_ne!(s, parent, "{}", plan.text);
        max_changed = max_changed.max(gemm_fields_changed(&s, &parent));
        children.insert(s.to_json());
    }
    assert!(
        children.len() >= 10,
        "40 seeds gave {} children",
        children.len()
    );
    // A retile comes with the buffers and widths the new shape needs, in one step.
    assert!(
        max_changed >= 4,
        "at most {max_changed} decisions changed at once"
    );
}

#[test]
fn measured_schedules_are_not_proposed_again() {
    let p = BuiltinProposer::new();
    let w = workload::by_name("gemm_512x512x512").unwrap();
    let code = naive(&w);
    let m = menu(&["tiling"]);
    let first = plan_for(&p, &w, &code, &Feedback::default(), &m, 5).unwrap();
    let child = implement(&p, &w, &code, &first, 5);
    // Once the run has measured that child, no seed proposes it again.
    let measured = [Measured {
        program: child.clone(),
        cycles: 1_000_000,
    }];
    for seed in 0..30 {
        let plan = plan_measured(&p, &w, &code, &Feedback::default(), &m, seed, &measured).unwrap();
        assert_ne!(
            schedule_of(&implement(&p, &w, &code, &plan, seed)),
            schedule_of(&child),
            "seed {seed}"
        );
    }
}

#[test]
fn plans_drawn_by_siblings_are_not_drawn_again() {
    let p = BuiltinProposer::new();
    assert!(p.redraws_duplicates());
    let w = workload::by_name("gemm_512x512x512").unwrap();
    let code = naive(&w);
    let m = gemm_menu();
    let hw = HwConfig::default_config();
    for seed in 0..12 {
        let first = plan_for(&p, &w, &code, &Feedback::default(), &m, seed).unwrap();
        // The same request again, told that a sibling drew `first`: it must draw something else.
        let mut pending = vec![first.clone()];
        for round in 0..3 {
            let again = p
                .plan(&PlanRequest {
                    workload: &w,
                    hw: &hw,
                    parent_code: &code,
                    feedback: &Feedback::default(),
                    menu: &m,
                    iteration: 1,
                    iterations: 4,
                    model: None,
                    seed,
                    ancestry: &[],
                    pending: &pending,
                    measured: &[],
                })
                .unwrap();
            assert!(
                pending.iter().all(|d| d.meta != again.meta),
                "seed {seed} round {round}: drew a pending plan again: {}",
                again.text
            );
            pending.push(again);
        }
    }
}

/// Recorded RTL verdicts (schedule, cycles) of one default-parameter search on gemm_12544x64x256.
fn recorded() -> Vec<(Schedule, u64)> {
    let text = include_str!("data/verdicts_gemm_12544x64x256.json");
    let v: Vec<(Schedule, u64)> = serde_json::from_str(text).unwrap();
    assert!(v.len() >= 20, "{} recorded verdicts", v.len());
    v
}

/// Share of pairs (with cycles at least 2% apart) that `pred` orders as the RTL did.
fn pair_accuracy(points: &[(Schedule, u64)], pred: &dyn Fn(usize) -> f64) -> f64 {
    let (mut right, mut all) = (0usize, 0usize);
    for i in 0..points.len() {
        for j in i + 1..points.len() {
            let (a, b) = (points[i].1 as f64, points[j].1 as f64);
            if (a / b - 1.0).abs() < 0.02 {
                continue;
            }
            all += 1;
            if (a < b) == (pred(i) < pred(j)) {
                right += 1;
            }
        }
    }
    right as f64 / all.max(1) as f64
}

#[test]
fn the_refit_cost_model_ranks_recorded_verdicts_better_than_the_prior() {
    let hw = HwConfig::default_config();
    let w = workload::by_name("gemm_12544x64x256").unwrap();
    // The pairs that matter for the search are among the good schedules: those within 40% of the best.
    let all_points = recorded();
    let best = all_points.iter().map(|p| p.1).min().unwrap();
    let points: Vec<(Schedule, u64)> = all_points
        .iter()
        .filter(|p| (p.1 as f64) < best as f64 * 1.4)
        .cloned()
        .collect();
    let prior = pair_accuracy(&points, &|i| cost::prior(&hw, &w, &points[i].0));
    // Leave one out: each schedule is predicted from the others only.
    let refit = pair_accuracy(&points, &|i| {
        let rest: Vec<(Schedule, u64)> = all_points
            .iter()
            .filter(|p| p.0 != points[i].0)
            .cloned()
            .collect();
        CostModel::fit(&hw, &w, &rest).predict(&points[i].0)
    });
    eprintln!("pairwise ranking: refit {refit:.3}, prior {prior:.3}");
    // (The prior learnt the bank conflicts of double buffers and now orders 90.2% of these pairs as the
    // RTL did, up from 88%; the refit must still add to it.)
    assert!(
        refit > prior,
        "pairwise ranking: refit {refit:.3}, prior {prior:.3}"
    );
    // A measured schedule predicts close to its own cycles.
    let all = CostModel::fit(&hw, &w, &all_points);
    assert_eq!(all.len(), all_points.len());
    for (s, c) in &all_points {
        let r = all.predict(s) / *c as f64;
        assert!(
            (0.5..2.0).contains(&r),
            "{} predicted at {r:.2}x",
            s.to_json()
        );
    }
}

#[test]
fn schedule_reuse_transfers_the_winner_fitted_to_the_new_shape() {
    let hw = HwConfig::default_config();
    let src = workload::by_name("gemm_1024x1024x1024").unwrap();
    let dst = workload::by_name("gemm_512x512x512").unwrap();
    // The source's winner: a large-tile schedule (here the hand family's pick for the source).
    let winner = gemforge::bench::baseline::hand_schedule(&hw, &src).unwrap();
    let mut want = match winner.clone() {
        Schedule::Gemm(g) => g,
        other => panic!("{other:?}"),
    };
    want.ti = want.ti.min(32);
    want.tj = want.tj.min(32);
    want.tk = want.tk.min(32);
    let want = Schedule::Gemm(want);
    let p = BuiltinProposer::new().with_reuse(&winner.emit_c(&hw, &src).unwrap());
    let code = naive(&dst);
    let m = menu(&["tiling"]);
    let adopted = (0..20)
        .filter(|&seed| {
            let plan = plan_for(&p, &dst, &code, &Feedback::default(), &m, seed).unwrap();
            schedule_of(&implement(&p, &dst, &code, &plan, seed)) == want
        })
        .count();
    assert!(
        adopted >= 4,
        "the transferred schedule was adopted {adopted} times of 20"
    );
    // Once measured, it is not offered again.
    let measured = [Measured {
        program: want.emit_c(&hw, &dst).unwrap(),
        cycles: 700_000,
    }];
    for seed in 0..20 {
        let plan =
            plan_measured(&p, &dst, &code, &Feedback::default(), &m, seed, &measured).unwrap();
        assert_ne!(schedule_of(&implement(&p, &dst, &code, &plan, seed)), want);
    }
    // Without reuse it is never proposed from the naive start in one step by chance of the same seeds.
    let plain = BuiltinProposer::new();
    let chance = (0..20)
        .filter(|&seed| {
            let plan = plan_for(&plain, &dst, &code, &Feedback::default(), &m, seed).unwrap();
            schedule_of(&implement(&plain, &dst, &code, &plan, seed)) == want
        })
        .count();
    assert!(chance < adopted, "{chance} without reuse, {adopted} with");
}

/// The lowest prior over the whole convolution schedule space (every tile shape, reuse, buffer and stream
/// decision, widths 1, 2 and 4), by brute force.
fn conv_space_optimum(hw: &HwConfig, w: &Workload) -> f64 {
    use gemforge::bench::schedule::ConvSchedule;
    let gemforge::bench::workload::Kind::Conv { p, q, k, .. } = w.kind else {
        panic!("a convolution")
    };
    let dim = u64::from(hw.dim());
    let mut best = f64::INFINITY;
    for tp in 1..=p as u32 {
        for tq in 1..=q.div_ceil(dim) as u32 {
            for tk in 1..=k.div_ceil(dim) as u32 {
                for f in 0..128u32 {
                    for (in_width, w_width) in [(1, 1), (2, 2), (4, 4), (4, 1), (1, 4)] {
                        let bit = |i: u32| f & (1 << i) != 0;
                        let s = Schedule::Conv(ConvSchedule {
                            tp,
                            tq,
                            tk,
                            weights_resident: bit(0),
                            input_reuse: bit(1),
                            double_buffer_in: bit(2),
                            double_buffer_w: bit(3),
                            double_buffer_c: bit(4),
                            in_width,
                            w_width,
                            prefetch_in: bit(5),
                            interleave_store: bit(6),
                        });
                        if s.validate(hw, w).is_ok() {
                            best = best.min(cost::prior(hw, w, &s));
                        }
                    }
                }
            }
        }
    }
    best
}

/// One step from the naive start of a paper convolution (tens of millions of cycles) already lands near
/// the best schedule the model knows, whatever single option the menu offers: the polish step sizes the
/// tiles, reuse, buffers and streams together with the option's change, so the search does not simulate
/// a ladder of multi-million-cycle programs. A one-decision mutator stays 1x1x1-tiled after one step,
/// many times the optimum.
#[test]
fn one_conv_step_from_naive_lands_near_the_model_optimum() {
    let p = BuiltinProposer::new();
    let hw = HwConfig::default_config();
    let w = workload::by_name("conv_28x128").unwrap();
    let code = naive(&w);
    let start = cost::prior(&hw, &w, &Schedule::from_program(&code).unwrap());
    let best = conv_space_optimum(&hw, &w);
    assert!(start > 5.0 * best, "naive {start} vs optimum {best}");
    let (mut near, mut total) = (0, 0);
    let mut seen = std::collections::BTreeSet::new();
    for id in [
        "double_buffering",
        "min_data_movement",
        "tiling",
        "outer_reuse",
    ] {
        for seed in 0..6u64 {
            let plan = plan_for(&p, &w, &code, &Feedback::default(), &menu(&[id]), seed).unwrap();
            let child = implement(&p, &w, &code, &plan, seed);
            let s = Schedule::from_program(&child).unwrap();
            s.validate(&hw, &w).unwrap();
            let c = cost::prior(&hw, &w, &s);
            total += 1;
            if c <= 1.25 * best {
                near += 1;
            }
            seen.insert(s.to_json());
        }
    }
    assert!(
        near * 4 >= total * 3,
        "{near} of {total} one-step children within 25% of the model optimum {best}"
    );
    assert!(
        seen.len() > 3,
        "options and seeds give different children: {seen:?}"
    );
}

/// The model jump (a tiling change): from the naive start it proposes schedules the prior ranks far
/// better than the parent, different seeds reach different points, and once the run has measured a
/// jump's target the same request jumps elsewhere.
#[test]
fn model_jump_from_naive_goes_where_the_model_predicts_a_gain() {
    let p = BuiltinProposer::new();
    let hw = HwConfig::default_config();
    let w = workload::by_name("gemm_512x512x512").unwrap();
    let code = naive(&w);
    let parent = schedule_of(&code);
    let parent_prior = cost::prior(&hw, &w, &parent);
    let m = menu(&["tiling"]);
    let mut jumps: Vec<(u64, Schedule)> = Vec::new();
    let mut best_other = f64::INFINITY;
    for seed in 0..32 {
        let plan = plan_for(&p, &w, &code, &Feedback::default(), &m, seed).unwrap();
        let s = schedule_of(&implement(&p, &w, &code, &plan, seed));
        if !plan.text.contains("jump to the schedule the cost model") {
            best_other = best_other.min(cost::prior(&hw, &w, &s));
            continue;
        }
        s.validate(&hw, &w).unwrap();
        let child_prior = cost::prior(&hw, &w, &s);
        assert!(
            child_prior < parent_prior * 0.5,
            "seed {seed}: the jump to {} is predicted at {child_prior:.0} cycles, the naive parent at \
             {parent_prior:.0}",
            s.to_json()
        );
        jumps.push((seed, s));
    }
    assert!(jumps.len() >= 4, "{} of 32 seeds jumped", jumps.len());
    // The descent from the parent starts with every tile triple (what a retile ranks), so its end is
    // at least as good as any other tiling change the seeds drew (no verdicts yet: model = prior).
    let best_jump = jumps
        .iter()
        .map(|(_, s)| cost::prior(&hw, &w, s))
        .fold(f64::INFINITY, f64::min);
    assert!(
        best_jump <= best_other * 1.0001,
        "best jump {best_jump:.0} against {best_other:.0} for the other tiling changes"
    );
    let distinct: std::collections::BTreeSet<String> =
        jumps.iter().map(|(_, s)| s.to_json()).collect();
    assert!(distinct.len() >= 2, "every seed jumped to {distinct:?}");
    // Measured (and slow, as the RTL might say): the same request no longer proposes it.
    let (seed, target) = jumps[0].clone();
    let measured = [Measured {
        program: target.emit_c(&hw, &w).unwrap(),
        cycles: 5_000_000,
    }];
    let plan = plan_measured(&p, &w, &code, &Feedback::default(), &m, seed, &measured).unwrap();
    assert_ne!(
        schedule_of(&implement(&p, &w, &code, &plan, seed)),
        target,
        "{}",
        plan.text
    );
}

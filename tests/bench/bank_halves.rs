//! The GEMM schedule flag `bank_halves`: the second half of each double buffer starts at a scratchpad
//! bank boundary, so the mvins that fill one half never take the single-ported bank the execute unit is
//! reading. Checked here: the halves land where the flag says and the programs stay correct on both
//! engines (edge blocks, either operand, halves larger than a bank); the validator refuses the flag
//! without a double buffer or room; records without it keep their meaning; and on the RTL the flag
//! removes the denied A reads it exists for.

use gemforge::bench::eval::Verdict;
use gemforge::bench::schedule::{GemmSchedule, Order, Schedule};
use gemforge::bench::workload::{self, Workload};
use gemforge::sim::config::HwConfig;

fn eval_code(w: &Workload, code: &str, tag: &str, rtl: bool) -> Verdict {
    super::eval_program("bank-halves", 0xba4c, w, code, tag, rtl)
}

fn gemm(json: &str) -> GemmSchedule {
    match serde_json::from_str::<Schedule>(json) {
        Ok(Schedule::Gemm(g)) => g,
        other => panic!("not a GEMM record: {other:?}"),
    }
}

#[test]
fn bank_halves_programs_are_correct_and_their_halves_in_other_banks() {
    let hw = HwConfig::default_config();
    let bank = u64::from(hw.sp_bank_rows());
    let odd = Workload::gemm("gemm_52x40x72", "test", 52, 40, 72);
    let big = workload::by_name("gemm_512x512x512").unwrap();
    // (workload, ti, tj, tk, order, a_level, b_level, prefetch_a, prefetch_b, db_a, db_b, on the RTL)
    let cases = [
        (&odd, 2, 1, 2, "ijk", 1, 0, true, false, true, false, true),
        (&odd, 1, 2, 3, "jik", 3, 1, false, true, false, true, true),
        (&odd, 2, 2, 2, "kij", 2, 2, false, false, true, true, false),
        // Halves of 8 x 32 blocks = 4,096 rows: each half fills a bank.
        (&big, 8, 1, 32, "ijk", 1, 2, true, true, true, true, false),
    ];
    for (idx, &(w, ti, tj, tk, order, al, bl, pa, pb, dba, dbb, rtl)) in cases.iter().enumerate() {
        let mut s = GemmSchedule::naive();
        (s.ti, s.tj, s.tk) = (ti, tj, tk);
        s.order = Order::parse(order).unwrap();
        (s.a_level, s.b_level, s.prefetch_a, s.prefetch_b) = (al, bl, pa, pb);
        (s.double_buffer_a, s.double_buffer_b, s.double_buffer_c) = (dba, dbb, true);
        (s.a_width, s.b_width, s.c_width) = (4, 4, 4);
        (s.skip_redundant, s.unroll, s.spread) = (true, 2, true);
        s.bank_halves = true;
        let (m, n, k) = dims(w);
        let bufs = s.buffer_rows(&hw, m, n, k).expect("fits");
        for ((h0, h1, size), db) in bufs.into_iter().zip([dba, dbb]) {
            if db {
                assert_eq!(h1 % bank, 0, "case {idx}: second half at row {h1}");
                // No bank holds rows of both halves.
                let banks = |h: u64| (h / bank)..=((h + size - 1) / bank);
                assert!(
                    banks(h0).all(|b| !banks(h1).contains(&b)),
                    "case {idx}: {bufs:?}"
                );
            }
        }
        let sched = Schedule::Gemm(s.clone());
        let code = sched.emit_c(&hw, w).unwrap();
        let v = eval_code(w, &code, &format!("bh{idx}"), rtl);
        assert!(v.correct, "case {idx} {}: {v:#?}\n{code}", sched.to_json());
    }
}

fn dims(w: &Workload) -> (u64, u64, u64) {
    match w.kind {
        gemforge::bench::workload::Kind::Gemm { m, n, k } => (m, n, k),
        _ => panic!("{} is not a GEMM", w.name),
    }
}

#[test]
fn bank_halves_is_validated_and_off_by_default() {
    let hw = HwConfig::default_config();
    let mut s = GemmSchedule::naive();
    s.bank_halves = true;
    let e = s.validate(&hw, 64, 64, 64).unwrap_err().to_string();
    assert!(e.contains("bank_halves needs a double buffer"), "{e}");
    s.double_buffer_a = true;
    s.validate(&hw, 64, 64, 64).unwrap();
    // A in halves of 16 x 24 blocks (6,144 rows) and B in halves of 384 rows fit packed (13,056 of
    // 16,384 rows) but not from bank boundaries (8,192 + 6,144 for A, then 4,096 + 384 for B).
    let mut t = GemmSchedule::naive();
    (t.ti, t.tj, t.tk, t.a_level, t.b_level) = (16, 1, 24, 1, 0);
    (t.double_buffer_a, t.double_buffer_b) = (true, true);
    t.validate(&hw, 512, 16, 384).unwrap();
    t.bank_halves = true;
    let e = t.validate(&hw, 512, 16, 384).unwrap_err().to_string();
    assert!(e.contains("scratchpad overfull"), "{e}");
    // Records without the field parse with the flag off, and the flag off is not written.
    let old = r#"{"kind":"gemm","ti":7,"tj":4,"tk":2,"order":"ijk","a_level":1,"b_level":0,"double_buffer_a":true,"double_buffer_b":true,"double_buffer_c":true,"a_width":4,"b_width":4,"c_width":4,"skip_redundant":true,"unroll":4,"spread":true,"inner_k_outer":true,"interleave_store":true,"prefetch_a":true,"prefetch_b":false}"#;
    let parsed: Schedule = serde_json::from_str(old).unwrap();
    assert_eq!(parsed.to_json(), old);
    let mut on = gemm(old);
    assert!(!on.bank_halves);
    on.bank_halves = true;
    let json = Schedule::Gemm(on).to_json();
    assert!(
        json.ends_with(r#""prefetch_b":false,"bank_halves":true}"#),
        "{json}"
    );
}

/// What the flag is for, on the RTL: gemm_12544x256x64 with 7 x 4 x 2 tiles and A's prefetch stream.
/// With both halves of A in bank 0 every A row moved in denies an execute read (50,110 cycles); with
/// the second half at a bank boundary almost none do, and the run is faster.
#[test]
fn bank_halves_removes_the_denied_a_reads_on_the_rtl() {
    let hw = HwConfig::default_config();
    let w = workload::by_name("gemm_12544x256x64").unwrap();
    let s = gemm(
        r#"{"kind":"gemm","ti":7,"tj":4,"tk":2,"order":"ijk","a_level":1,"b_level":0,"double_buffer_a":true,"double_buffer_b":true,"double_buffer_c":true,"a_width":4,"b_width":4,"c_width":4,"skip_redundant":true,"unroll":4,"spread":true,"inner_k_outer":true,"interleave_store":true,"prefetch_a":true,"prefetch_b":false}"#,
    );
    let run = |bank_halves: bool| {
        let mut x = s.clone();
        x.bank_halves = bank_halves;
        let code = Schedule::Gemm(x).emit_c(&hw, &w).unwrap();
        let v = eval_code(&w, &code, &format!("rtl-{bank_halves}"), true);
        assert!(v.correct, "{v:#?}");
        let waits = *v
            .counters
            .get("scratchpad_a_wait_cycle")
            .expect("the RTL's counters");
        (v.cycles.expect("cycles"), waits)
    };
    let (c0, w0) = run(false);
    let (c1, w1) = run(true);
    assert!(w0 > 40_000, "halves in one bank: {w0} denied A reads");
    assert!(w1 < 2_000, "halves in two banks: {w1} denied A reads");
    assert!(c1 + 20_000 < c0, "{c0} cycles in one bank, {c1} in two");
}

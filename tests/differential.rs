//! Differential tests: random legal command streams (accel::gen) run through the functional model and the
//! Verilated RTL; final main memory, every scratchpad and accumulator row, and the number of responses must
//! agree exactly (docs/accelerator.md).
//!
//! Environment:
//! - `GEMFORGE_DIFF_CASES=<n>`: cases per test (default: sized so the whole file takes well under a minute
//!   in --release on two cores).
//! - `GEMFORGE_DIFF_SEED=<seed>`: run only that seed (in every test; pick the test by name), and print the
//!   command list.
//! - `GEMFORGE_DIFF_BASE=<n>`: shift the seed range (explore new seeds).
//!
//! Each test has its own seed range (family base + i), so a seed names one case of one test.

use gemforge::accel::gen::{listing, random_stream, GenCase, GenOpts};
use gemforge::accel::harness::{run_stream, HarnessOpts, StreamReport};
use gemforge::accel::rtl::RtlAccel;
use gemforge::accel::spec::SpecAccel;
use gemforge::accel::{AccelError, Accelerator};
use gemforge::config::{HwConfig, MemoryTiming};
use gemforge::isa::Command;
use gemforge::mem::Memory;
use std::time::Instant;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Memory timing varied by seed, so the same stream meets different interleavings across cases.
fn timing_for(seed: u64) -> MemoryTiming {
    let latency = [40, 1, 3, 17, 100][(seed % 5) as usize];
    let bytes_per_cycle = [16, 64, 4, 16][((seed / 5) % 4) as usize];
    let max_in_flight = [32, 2, 1, 8, 32, 64][((seed / 20) % 6) as usize];
    MemoryTiming {
        latency,
        bytes_per_cycle,
        max_in_flight,
    }
}

fn harness_opts() -> HarnessOpts {
    HarnessOpts {
        watchdog_cycles: 20_000,
        max_cycles: 5_000_000,
    }
}

/// The state both engines end in.
struct Outcome {
    mem: Memory,
    report: StreamReport,
    sp: Vec<Vec<i8>>,
    acc: Vec<Vec<i32>>,
}

fn run_engine(
    acc: &mut dyn Accelerator,
    case: &GenCase,
    cmds: &[gemforge::isa::RoccCmd],
    sp_rows: u32,
    acc_rows: u32,
) -> Result<Outcome, AccelError> {
    let mut mem = case.mem.clone();
    let report = run_stream(acc, &mut mem, cmds, &harness_opts())?;
    let sp = (0..sp_rows).map(|r| acc.read_sp_row(r)).collect();
    let accv = (0..acc_rows).map(|r| acc.read_acc_row(r)).collect();
    Ok(Outcome {
        mem,
        report,
        sp,
        acc: accv,
    })
}

/// Runs `cmds` (a prefix of the case's stream) on both engines; None if they agree, else what differs.
fn compare(cfg: &HwConfig, case: &GenCase, cmds: &[gemforge::isa::RoccCmd]) -> Option<String> {
    let mut spec = SpecAccel::new(cfg);
    let s = match run_engine(&mut spec, case, cmds, cfg.sp_rows(), cfg.acc_rows()) {
        Ok(o) => o,
        Err(e) => return Some(format!("the spec engine refused the stream (generator bug): {e}")),
    };
    let mut rtl = RtlAccel::new(cfg).expect("RTL model");
    let r = match run_engine(&mut rtl, case, cmds, cfg.sp_rows(), cfg.acc_rows()) {
        Ok(o) => o,
        Err(e) => return Some(format!("the RTL failed: {e}")),
    };
    if let Some((addr, a, b)) = s.mem.first_difference(&r.mem) {
        let region = if (case.out_region.0..case.out_region.0 + case.out_region.1).contains(&addr) {
            format!("output region + 0x{:x}", addr - case.out_region.0)
        } else {
            "outside the output region".to_string()
        };
        return Some(format!(
            "main memory differs first at 0x{addr:x} ({region}): spec 0x{a:02x} ({}), rtl 0x{b:02x} ({})",
            a as i8, b as i8
        ));
    }
    for (row, (a, b)) in s.sp.iter().zip(&r.sp).enumerate() {
        if a != b {
            let j = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(0);
            return Some(format!(
                "scratchpad row {row} differs first at element {j}: spec {} rtl {}\n  spec row {a:?}\n  rtl  row {b:?}",
                a[j], b[j]
            ));
        }
    }
    for (row, (a, b)) in s.acc.iter().zip(&r.acc).enumerate() {
        if a != b {
            let j = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(0);
            return Some(format!(
                "accumulator row {row} differs first at element {j}: spec {} rtl {}\n  spec row {a:?}\n  rtl  row {b:?}",
                a[j], b[j]
            ));
        }
    }
    if s.report.responses.len() != r.report.responses.len() {
        return Some(format!(
            "response counts differ: spec {} rtl {}",
            s.report.responses.len(),
            r.report.responses.len()
        ));
    }
    let rd_s: Vec<u8> = s.report.responses.iter().map(|x| x.rd).collect();
    let rd_r: Vec<u8> = r.report.responses.iter().map(|x| x.rd).collect();
    if rd_s != rd_r {
        return Some(format!(
            "response rd order differs: spec {rd_s:?} rtl {rd_r:?}"
        ));
    }
    None
}

/// The shortest prefix of the stream that still shows a difference (binary search over prefixes that do
/// not end between a preload and its compute, which the RTL would wait on forever; a difference that a
/// later command hides can make this an over-estimate).
fn shortest_failing_prefix(cfg: &HwConfig, case: &GenCase) -> usize {
    let mut cuts = vec![0usize];
    let mut pending = false;
    for (i, c) in case.cmds.iter().enumerate() {
        match Command::decode(*c) {
            Command::Preload { .. } => pending = true,
            Command::Compute { .. } => pending = false,
            _ => {}
        }
        if !pending {
            cuts.push(i + 1);
        }
    }
    let (mut lo, mut hi) = (0usize, cuts.len() - 1);
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        if compare(cfg, case, &case.cmds[..cuts[mid]]).is_some() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    cuts[hi]
}

fn family(name: &str, base: u64, default_cases: u64, opts: GenOpts) {
    let only = env_u64("GEMFORGE_DIFF_SEED");
    let n = env_u64("GEMFORGE_DIFF_CASES").unwrap_or(default_cases);
    let shift = env_u64("GEMFORGE_DIFF_BASE").unwrap_or(0);
    let seeds: Vec<u64> = match only {
        Some(s) => vec![s],
        None => (0..n).map(|i| base + shift + i).collect(),
    };
    let t0 = Instant::now();
    let mut failures = Vec::new();
    let mut total_cmds = 0usize;
    for &seed in &seeds {
        let mut cfg = HwConfig::default_config();
        cfg.memory = timing_for(seed);
        let case = random_stream(&cfg, seed, &opts);
        total_cmds += case.cmds.len();
        if only.is_some() {
            println!("{name}: seed {seed}, memory {:?}\n{}", cfg.memory, case.listing());
        }
        if let Some(diff) = compare(&cfg, &case, &case.cmds) {
            let k = shortest_failing_prefix(&cfg, &case);
            let diff_k = compare(&cfg, &case, &case.cmds[..k]).unwrap_or_default();
            let msg = format!(
                "=== {name}: MISMATCH for seed {seed} (reproduce: GEMFORGE_DIFF_SEED={seed} cargo test --release \
                 --test differential {name} -- --nocapture)\nmemory timing {:?}\n\
                 after all {} commands: {diff}\n\
                 a difference first appears after {k} commands (last one: #{}): {diff_k}\n{}",
                cfg.memory,
                case.cmds.len(),
                k.saturating_sub(1),
                listing(&case.cmds[..k.min(case.cmds.len())])
            );
            eprintln!("{msg}");
            failures.push(seed);
            if failures.len() >= 3 {
                break;
            }
        }
    }
    println!(
        "{name}: {} cases ({} commands) in {:.1}s, {} failed",
        seeds.len(),
        total_cmds,
        t0.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(failures.is_empty(), "{name}: mismatching seeds {failures:?}");
}

#[test]
fn diff_data_movement() {
    family("diff_data_movement", 1_000_000, 150, GenOpts::data_movement());
}

#[test]
fn diff_ws() {
    family("diff_ws", 2_000_000, 150, GenOpts::ws_only());
}

#[test]
fn diff_os() {
    family("diff_os", 3_000_000, 150, GenOpts::os_only());
}

#[test]
fn diff_mixed() {
    family("diff_mixed", 4_000_000, 250, GenOpts::mixed());
}

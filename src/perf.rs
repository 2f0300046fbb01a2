//! `gemforge perf`: simulated cycles per wall-clock second of the RTL on a compute-bound command stream
//! (weight-stationary 16x16x16 matmuls back to back on resident scratchpad data), single-threaded.

use crate::accel::harness::{run_stream, HarnessOpts};
use crate::accel::rtl::RtlAccel;
use crate::accel::Accelerator;
use crate::config::HwConfig;
use crate::isa::{Command, ConfigEx, ConfigLd, LocalAddr, Operand, RoccCmd, DATAFLOW_WS};
use crate::mem::{Memory, DEFAULT_BASE};
use anyhow::Context;
use std::time::Instant;

/// What one benchmark run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PerfResult {
    pub cycles: u64,
    pub wall_s: f64,
    pub cycles_per_s: f64,
}

/// The benchmark's command stream: load `tiles` A tiles and one B tile, then `reps` passes of
/// preload(B) + compute_preloaded(A_i) with C into the accumulator, accumulating.
pub fn compute_bound_stream(cfg: &HwConfig, tiles: u32, reps: u32) -> (Memory, Vec<RoccCmd>) {
    let dim = cfg.dim();
    let mut mem = Memory::new(DEFAULT_BASE, 64 << 20);
    let bytes: Vec<u8> = (0..(tiles + 1) * dim * dim)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    // In-range constant data: the benchmark measures speed, not results.
    let _ = mem.write(DEFAULT_BASE, &bytes);
    let d = dim as u16;
    let mut cmds = vec![
        ConfigEx {
            dataflow: DATAFLOW_WS,
            ..ConfigEx::default()
        }
        .encode(),
        ConfigLd::new(0, dim as u64, d).encode(),
        ConfigLd::new(1, dim as u64, d).encode(),
    ];
    let b_row = tiles * dim;
    for t in 0..=tiles {
        cmds.push(
            Command::Mvin {
                state: if t == tiles { 1 } else { 0 },
                dram: DEFAULT_BASE + (t * dim * dim) as u64,
                op: Operand::new(LocalAddr::sp(t * dim), d, d),
            }
            .encode(),
        );
    }
    for r in 0..reps {
        for t in 0..tiles {
            let c = LocalAddr::acc_accumulate((t * dim) % cfg.acc_rows());
            let first = r == 0 && t == 0;
            cmds.push(
                Command::Preload {
                    bd: if first {
                        Operand::new(LocalAddr::sp(b_row), d, d)
                    } else {
                        Operand::garbage(d)
                    },
                    c: Operand::new(c, d, d),
                }
                .encode(),
            );
            cmds.push(
                Command::Compute {
                    flip: first,
                    a: Operand::new(LocalAddr::sp(t * dim), d, d),
                    bd: Operand::garbage(d),
                }
                .encode(),
            );
        }
    }
    (mem, cmds)
}

/// Run the benchmark until at least `min_cycles` simulated cycles; report the whole run.
pub fn run(cfg: &HwConfig, min_cycles: u64) -> anyhow::Result<PerfResult> {
    let tiles = 32;
    let per_pass = tiles as u64 * cfg.dim() as u64;
    let reps = (min_cycles / per_pass).max(1) as u32;
    let (mut mem, cmds) = compute_bound_stream(cfg, tiles, reps);
    let mut acc = RtlAccel::new(cfg).context("building the RTL model")?;
    let opts = HarnessOpts {
        max_cycles: min_cycles.saturating_mul(4).max(1_000_000),
        ..HarnessOpts::default()
    };
    let start = Instant::now();
    run_stream(&mut acc, &mut mem, &cmds, &opts).context("running the benchmark stream")?;
    let wall_s = start.elapsed().as_secs_f64();
    let cycles = acc.cycles();
    Ok(PerfResult {
        cycles,
        wall_s,
        cycles_per_s: cycles as f64 / wall_s.max(1e-9),
    })
}

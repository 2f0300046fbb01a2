//! `gemforge perf`: simulated cycles per wall-clock second of the RTL on a compute-bound command stream
//! (weight-stationary DIMxDIMxDIM matmuls back to back on resident scratchpad data, each preloaded weight
//! tile reused four times: `accel::gen::ws_matmul_stream`), single-threaded.

use crate::accel::gen::ws_matmul_stream;
use crate::accel::harness::{run_stream, HarnessOpts};
use crate::accel::rtl::RtlAccel;
use crate::accel::Accelerator;
use crate::config::HwConfig;
use anyhow::Context;
use std::time::Instant;

/// What one benchmark run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PerfResult {
    pub cycles: u64,
    pub wall_s: f64,
    pub cycles_per_s: f64,
}

/// Run the benchmark until at least `min_cycles` simulated cycles; report the whole run.
pub fn run(cfg: &HwConfig, min_cycles: u64) -> anyhow::Result<PerfResult> {
    // One 16x16x16 matmul per DIM cycles in steady state.
    let n = (min_cycles / u64::from(cfg.dim())).clamp(1, u64::from(u32::MAX)) as u32;
    let case = ws_matmul_stream(cfg, n);
    let (mut mem, cmds) = (case.mem, case.cmds);
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

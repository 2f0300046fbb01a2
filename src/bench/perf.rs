//! `gemforge perf`: simulated cycles per wall-clock second of the RTL on a compute-bound command stream
//! (weight-stationary DIMxDIMxDIM matmuls back to back on resident scratchpad data, each preloaded weight
//! tile reused four times: `accel::stream::ws_matmul_stream`), single-threaded.

use crate::sim::accel::rtl::RtlAccel;
use crate::sim::accel::stream::ws_matmul_stream;
use crate::sim::accel::stream::{run_stream, HarnessOpts};
use crate::sim::accel::Accelerator;
use crate::sim::config::HwConfig;
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

/// The co-simulation benchmarks: hart speed with the accelerator idle, and whole-system speed on a
/// 256x256x256 tiled int8 matmul driven by the hart.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SystemPerf {
    /// `sim/target/bench/hart.c`: instructions retired, wall time, instructions per second.
    pub hart_instret: u64,
    pub hart_wall_s: f64,
    pub hart_instr_per_s: f64,
    /// `sim/target/bench/tiled_matmul_256.c`: whole-run cycles, wall time, simulated cycles per second.
    pub matmul_cycles: u64,
    pub matmul_wall_s: f64,
    pub matmul_cycles_per_s: f64,
    /// The program's own measurement of the accelerator region (rdcycle around the tiled loops).
    pub matmul_region_cycles: u64,
}

const HART_BENCH: &str = include_str!("../../sim/target/bench/hart.c");
const MATMUL_BENCH: &str = include_str!("../../sim/target/bench/tiled_matmul_256.c");

/// Run both co-simulation benchmarks on the RTL engine.
pub fn run_system(cfg: &HwConfig) -> anyhow::Result<SystemPerf> {
    use crate::sim::soc::{run_files, RunInputs, SocOpts};
    let dir = std::env::temp_dir().join(format!("gemforge-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let run = |name: &str, text: &str| -> anyhow::Result<crate::sim::soc::RunReport> {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        let inputs = RunInputs {
            programs: vec![path],
            ..RunInputs::default()
        };
        let r = run_files(cfg, &inputs, &SocOpts::default())?;
        if let Some(e) = &r.error {
            anyhow::bail!("benchmark {name} failed ({}): {}", e.kind, e.message);
        }
        anyhow::ensure!(
            r.exit_code == Some(0),
            "benchmark {name} exited with {:?}: {}",
            r.exit_code,
            r.stdout
        );
        Ok(r)
    };
    let hart = run("hart.c", HART_BENCH);
    let mm = run("tiled_matmul_256.c", MATMUL_BENCH);
    let _ = std::fs::remove_dir_all(&dir);
    let (hart, mm) = (hart?, mm?);
    let region = mm
        .stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("matmul cycles ")?
                .split(',')
                .next()?
                .trim()
                .parse()
                .ok()
        })
        .context("the matmul benchmark printed no cycle count")?;
    Ok(SystemPerf {
        hart_instret: hart.instret,
        hart_wall_s: hart.wall_s,
        hart_instr_per_s: hart.instret as f64 / hart.wall_s.max(1e-9),
        matmul_cycles: mm.cycles,
        matmul_wall_s: mm.wall_s,
        matmul_cycles_per_s: mm.cycles_per_s(),
        matmul_region_cycles: region,
    })
}

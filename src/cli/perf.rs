//! `gemforge perf`: the simulator's own speed, as text or JSON (the measuring lives in bench::perf).

use super::{load_config, print_json};
use crate::sim::config::HwConfig;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct PerfArgs {
    /// Simulate at least this many cycles.
    #[arg(long, default_value_t = 2_000_000)]
    pub cycles: u64,
    /// Print one JSON object {"cycles", "wall_s", "cycles_per_s"} instead of text.
    #[arg(long)]
    pub json: bool,
    /// Instead, run the co-simulation benchmarks: hart instructions per second with the accelerator
    /// idle, and whole-system cycles per second on a 256x256x256 tiled int8 matmul.
    #[arg(long)]
    pub system: bool,
    /// Hardware configuration (TOML) of the compute-bound stream [default: the bundled Gemmini default]
    #[arg(long, value_name = "FILE", conflicts_with = "system")]
    pub config: Option<PathBuf>,
}

pub fn run(a: PerfArgs) -> anyhow::Result<ExitCode> {
    if a.system {
        let r = crate::bench::perf::run_system(&HwConfig::default_config())?;
        if a.json {
            print_json(&r)?;
        } else {
            println!(
                "hart: {} instructions in {:.3} s: {:.0} instructions/s (accelerator idle)",
                r.hart_instret, r.hart_wall_s, r.hart_instr_per_s
            );
            println!(
                "256x256x256 tiled matmul: {} cycles ({} in the accelerator region) in {:.3} s: {:.0} cycles/s",
                r.matmul_cycles, r.matmul_region_cycles, r.matmul_wall_s, r.matmul_cycles_per_s
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let cfg = load_config(a.config.as_ref())?;
    let r = crate::bench::perf::run(&cfg, a.cycles)?;
    if a.json {
        print_json(&r)?;
    } else {
        println!(
            "simulated {} cycles in {:.3} s: {:.0} cycles/s (DIM={}, {}, compute-bound WS stream, 1 thread)",
            r.cycles,
            r.wall_s,
            r.cycles_per_s,
            cfg.dim(),
            cfg.array.input_type
        );
    }
    Ok(ExitCode::SUCCESS)
}

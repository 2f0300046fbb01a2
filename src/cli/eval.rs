//! `gemforge eval`: judge one candidate file; the verdict as text or JSON, and the exit status.

use super::load_config;
use crate::bench::eval::{eval_command, EvalOpts};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The workload (see `gemforge workloads`).
    #[arg(long)]
    pub workload: String,
    /// The candidate C file (no #include lines needed: gemmini.h, stdint.h, stdbool.h are force-included).
    pub candidate: PathBuf,
    /// Print exactly one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Independent input sets checked on the spec engine before the RTL run.
    #[arg(
        long,
        default_value_t = 3,
        value_name = "N",
        alias = "engine-screen-runs"
    )]
    pub screen_runs: u32,
    /// Base seed of the inputs [default: fresh]
    #[arg(long, value_name = "SEED")]
    pub seed: Option<u64>,
    /// Cycle limit of each run [default: 50 x ideal cycles + 10 M]
    #[arg(long, value_name = "N")]
    pub max_cycles: Option<u64>,
    /// Hardware configuration (TOML) [default: the bundled Gemmini default]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn run(a: EvalArgs) -> anyhow::Result<ExitCode> {
    let cfg = load_config(a.config.as_ref())?;
    let opts = EvalOpts {
        screen_runs: a.screen_runs,
        seed: a.seed,
        max_cycles: a.max_cycles,
        ..Default::default()
    };
    let (text, code) = eval_command(&cfg, &a.workload, &a.candidate, &opts, a.json);
    println!("{text}");
    Ok(ExitCode::from(code))
}

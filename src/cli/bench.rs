//! `gemforge bench`: the baseline ladder's table or JSON (the ladder itself lives in bench::ladder).

use super::load_config;
use crate::bench::baseline::Baseline;
use crate::bench::eval::EvalOpts;
use crate::bench::executor::ExecutorArgs;
use crate::bench::ladder::{self, BenchOpts};
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Workload names or groups (paper, reuse, conv, mpc, test), comma-separated or repeated [default: paper]
    #[arg(long, num_args = 1..)]
    pub workloads: Vec<String>,
    /// Baselines: naive, library, hand, fsm (comma-separated) [default: all]
    #[arg(long, value_delimiter = ',')]
    pub baselines: Vec<String>,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Parallel evaluations [default: one per core]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Write the generated programs to DIR (default: a fresh gemforge-bench-PID directory under the
    /// system temp dir; the programs are kept either way, and the JSON names them).
    #[arg(long, value_name = "DIR", visible_alias = "out")]
    pub out_dir: Option<PathBuf>,
    /// Independent input sets checked on the spec engine before each RTL run.
    #[arg(
        long,
        default_value_t = 2,
        value_name = "N",
        alias = "engine-screen-runs"
    )]
    pub screen_runs: u32,
    /// Base seed of the inputs [default: fresh]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Hardware configuration (TOML) [default: the bundled Gemmini default]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where evaluations run (--executor local|slurm and the cluster's options; docs/cluster.md).
    #[command(flatten)]
    pub exec: Box<ExecutorArgs>,
}

pub fn run(a: BenchArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    // First, while this process has one thread: with slurm, the cache directory becomes the shared one.
    let exec = a.exec.resolve()?.build(a.jobs.unwrap_or(0))?;
    let stop = super::interrupt_stops(exec.as_ref());
    let cfg = load_config(a.config.as_ref())?;
    let opts = BenchOpts {
        workloads: a.workloads,
        baselines: a
            .baselines
            .iter()
            .map(|b| Baseline::parse(b))
            .collect::<anyhow::Result<_>>()?,
        jobs: a.jobs.unwrap_or(0),
        out_dir: a.out_dir,
        progress: !a.json && !quiet,
        eval: EvalOpts {
            screen_runs: a.screen_runs,
            seed: a.seed,
            ..Default::default()
        },
    };
    let r = match ladder::run_with(&cfg, &opts, exec.as_ref(), stop) {
        Err(e) if stop.load(std::sync::atomic::Ordering::SeqCst) => {
            eprintln!("{e:#}");
            return Ok(ExitCode::from(130));
        }
        r => r?,
    };
    if exec.name() != "local" {
        eprintln!("{}", exec.stats().summary(exec.name()));
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r).context("encoding the report")?
        );
    } else {
        println!("{}", r.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

//! `gemforge workloads`: the workload catalogue as a table or JSON.

use super::load_config;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct WorkloadsArgs {
    /// Print one JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Hardware configuration (TOML) whose DIM gives the ideal cycles [default: the bundled Gemmini default]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn run(a: WorkloadsArgs) -> anyhow::Result<ExitCode> {
    let cfg = load_config(a.config.as_ref())?;
    print!("{}", crate::bench::workload::list(cfg.dim(), a.json));
    if a.json {
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

//! `gemforge workloads`: the workload catalogue (or, with `--autocomp`, Autocomp's problems and their
//! workloads) as a table or JSON.

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
    /// List Autocomp's Gemmini problems (prob_type, prob_id) with the workload that judges each
    /// (docs/autocomp.md).
    #[arg(long)]
    pub autocomp: bool,
}

pub fn run(a: WorkloadsArgs) -> anyhow::Result<ExitCode> {
    let cfg = load_config(a.config.as_ref())?;
    if a.autocomp {
        print!("{}", crate::bench::workload::autocomp::mapping(a.json));
    } else {
        print!("{}", crate::bench::workload::list(cfg.dim(), a.json));
    }
    if a.json {
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

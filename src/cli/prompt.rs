//! `gemforge prompt`: render the prompt an LLM would receive, without sending it.

use super::load_config;
use crate::opt::prompts::{preview, PromptPreview};
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct PromptArgs {
    /// The workload (see `gemforge workloads`).
    #[arg(long)]
    pub workload: String,
    /// The parent program (a candidate C file).
    pub parent: PathBuf,
    /// A file with a plan: render the implementation prompt for it.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// A directory whose isa.md, rules.md, plan.md, implement.md, menu_*.txt override the bundled ones.
    #[arg(long, value_name = "DIR")]
    pub prompts: Option<PathBuf>,
    /// Document the matmul loop instruction (gemmini_loop_ws) in the ISA description.
    #[arg(long)]
    pub loop_fsm: bool,
    /// Hardware configuration (TOML) [default: the bundled Gemmini default]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn run(a: PromptArgs) -> anyhow::Result<ExitCode> {
    let cfg = load_config(a.config.as_ref())?;
    let plan = match &a.plan {
        Some(p) => {
            Some(std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
        }
        None => None,
    };
    let request = PromptPreview {
        workload: &a.workload,
        parent: &a.parent,
        plan,
        prompts_dir: a.prompts.as_deref(),
        loop_fsm: a.loop_fsm,
    };
    print!("{}", preview(&cfg, &request)?);
    Ok(ExitCode::SUCCESS)
}

//! `gemforge report`: rebuild a search run's report from its journal.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ReportArgs {
    /// The run directory of `gemforge search`.
    pub run_dir: PathBuf,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: ReportArgs) -> anyhow::Result<ExitCode> {
    println!(
        "{}",
        crate::opt::search::cli::report_command(&a.run_dir, a.json)?
    );
    Ok(ExitCode::SUCCESS)
}

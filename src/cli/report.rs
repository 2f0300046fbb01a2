//! `gemforge report`: rebuild a search run's report from its journal, and optionally write the run viewer
//! (`--html [OUT]`: one self-contained HTML page, RUN_DIR/report.html by default).

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ReportArgs {
    /// The run directory of `gemforge search`.
    pub run_dir: PathBuf,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also write the run viewer, one self-contained HTML file (no network needed to view it): the beam
    /// as a tree, diffs, feedback, failures, cycles on a log scale, the ledger [default OUT:
    /// RUN_DIR/report.html].
    #[arg(long, value_name = "OUT", num_args = 0..=1)]
    pub html: Option<Option<PathBuf>>,
}

pub fn run(a: ReportArgs) -> anyhow::Result<ExitCode> {
    println!(
        "{}",
        crate::opt::search::cli::report_command(&a.run_dir, a.json)?
    );
    if let Some(out) = a.html {
        let out = out.unwrap_or_else(|| a.run_dir.join("report.html"));
        crate::opt::viewer::write_html(&a.run_dir, &out)?;
        // Keep --json output one JSON object: the viewer's path goes to stderr then.
        if a.json {
            eprintln!("wrote {}", out.display());
        } else {
            println!("wrote {}", out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

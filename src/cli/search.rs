//! `gemforge search`: the beam search's command line (its arguments and output live in
//! opt::search::cli until that moves here).

pub use crate::opt::search::cli::SearchArgs;
use std::process::ExitCode;

pub fn run(mut a: SearchArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    a.quiet = quiet;
    let (text, code) = crate::opt::search::cli::run_cli(&a)?;
    println!("{text}");
    Ok(ExitCode::from(code))
}

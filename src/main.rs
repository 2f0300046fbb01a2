//! The `gemforge` binary: parses the command line and dispatches to `gemforge::cli`, where each
//! subcommand owns its arguments and output.

use clap::Parser;
use gemforge::cli::{dispatch, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    match dispatch(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

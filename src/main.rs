//! The `gemforge` binary: parses the command line and dispatches to `gemforge::cli`, where each
//! subcommand owns its arguments and output.

use clap::Parser;
use gemforge::cli::{dispatch, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`gemforge run prog.c | head -1`), as Unix tools do, instead of
    // panicking in println!: Rust ignores SIGPIPE by default, turning it into a write error.
    // SAFETY: restoring the default disposition of one signal before any thread starts; no handler runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match dispatch(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

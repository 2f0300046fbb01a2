//! The command line: one file per subcommand, each owning its arguments (a clap `Args` struct), its text
//! and its JSON output, and calling into the library for the work. `src/main.rs` only parses and
//! dispatches. This is the top of the dependency order: cli -> opt -> bench -> sim.
//!
//! Exit statuses follow one convention: 0 success; 1 a negative answer (an incorrect candidate, a search
//! without a result); 2 the command itself failed (bad input, setup); 130 interrupted. `run` exits with the
//! simulated program's own exit code instead, and 125 when the simulation failed (see [`run`]).

pub mod bench;
pub mod config;
pub mod eval;
pub mod perf;
pub mod prompt;
pub mod report;
pub mod rtl;
pub mod run;
pub mod search;
pub mod slurm;
pub mod sweep;
pub mod workloads;

use crate::sim::config::HwConfig;
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// `gemforge`: the parsed command line.
#[derive(Parser)]
#[command(
    name = "gemforge",
    version,
    about = "Cycle-accurate co-simulation of Gemmini-compatible accelerators"
)]
pub struct Cli {
    /// Show no progress bars (bench, search, rtl build); results, warnings and errors still print.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say what is being done, on stderr; stdout and --json output are unchanged (details: --help).
    ///
    /// run: the compiler command lines or the compile cache hit, argc/argv, each phase's time. eval: the
    /// compile and link commands or the compile cache hit, each spec screen's outcome, the RTL run's
    /// cycles and wall time, each phase's time. bench, sweep: each cell as it completes (verdict, wall
    /// time). search: each candidate's verdict, whether it came from the verdict cache or a fresh
    /// evaluation, and the wall time; each LLM call's model, latency and tokens (or the response-store
    /// hit). rtl build: the Verilator and link command lines and each build phase's time. Twice (-vv)
    /// adds every evaluation's own steps (as eval -v prints them) to bench, sweep and search. The other
    /// subcommands print nothing more.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// The subcommands, in the order `--help` lists them.
#[derive(Subcommand)]
pub enum Cmd {
    /// Measure simulated cycles per wall-clock second of the RTL on a compute-bound stream
    /// (weight-stationary DIMxDIMxDIM matmuls back to back on resident data, single-threaded).
    Perf(perf::PerfArgs),
    /// Run a C program (compiled with riscv64-unknown-elf-gcc and the bundled runtime) or a prebuilt ELF on
    /// the hart and the accelerator; print its output and a summary with the ground-truth cycle count.
    /// The exit status is the program's exit code (255 when it is outside 0-255; --json has the full
    /// code), or 125 when the simulation fails.
    Run(run::RunArgs),
    /// List the workloads: name, shape, MACs and ideal cycles (MACs / DIM^2).
    Workloads(workloads::WorkloadsArgs),
    /// Judge one candidate C file defining the workload's solution(...): functional screen on the spec
    /// engine with fresh random inputs, then one RTL run for the cycles of the call. Exit status 0 if
    /// correct, 1 if incorrect, 2 when the evaluation itself failed (e.g. unknown workload).
    Eval(eval::EvalArgs),
    /// Optimize a workload's program: Autocomp's plan-then-implement beam search with the built-in
    /// proposer or LLMs, every candidate judged on the RTL; the run directory survives kills (--resume).
    /// Exit status 0 with a result, 1 without, 130 when interrupted (resumable).
    Search(search::SearchArgs),
    /// Rebuild a search run's report.md, plot.svg, best.c and summary.json from its journal and store;
    /// with --html, also the run viewer (one self-contained HTML page).
    Report(report::ReportArgs),
    /// Run the baseline ladder (naive, library, hand-optimized, hardware FSM) on workloads, each program
    /// judged by the full protocol (spec screens, then the RTL for cycles), in parallel; print one table of
    /// cycles, utilization and speedup over the library.
    Bench(bench::BenchArgs),
    /// Print the planning prompt (or, with --plan, the implementation prompt) an LLM would receive for a
    /// workload and a parent program, rendered from the bundled templates or a directory of edited ones.
    /// The planning prompt shows the parent's measured cycles and memory use. Nothing is sent.
    Prompt(prompt::PromptArgs),
    /// Manage the RTL variants built on demand for non-default configurations (cached under the user's
    /// cache directory): `rtl build CONFIG...` builds ahead of time, `rtl list` shows, `rtl clean` removes.
    Rtl(rtl::RtlArgs),
    /// Run every (configuration, workload, program) on the RTL in parallel and print one table: cycles,
    /// utilization and speedup against the first configuration. Also writes sweep.csv and sweep.svg.
    /// Programs that cannot run on a configuration are reported by their failure class.
    Sweep(sweep::SweepCliArgs),
    /// Check a hardware configuration file and print what it derives (rows, banks, address bits).
    Config(config::ConfigArgs),
    /// Slurm clusters for --executor slurm: `slurm check` says whether the cluster is usable
    /// (docs/cluster.md).
    Slurm(slurm::SlurmArgs),
    /// Print a shell completion script, e.g. `gemforge completions bash > ~/.local/share/bash-completion/completions/gemforge`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Run one parsed command line; the error of a command that failed is the caller's to print.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(msg) = flag_conflict(&cli) {
        anyhow::bail!(msg);
    }
    let (quiet, verbose) = (cli.quiet, cli.verbose);
    crate::term::init_logger(log_level(&cli.cmd, verbose));
    match cli.cmd {
        Cmd::Perf(a) => perf::run(a),
        Cmd::Run(a) => Ok(run::run(a, verbose > 0)),
        Cmd::Workloads(a) => workloads::run(a),
        Cmd::Eval(a) => eval::run(a),
        Cmd::Search(a) => search::run(a, quiet),
        Cmd::Report(a) => report::run(a),
        Cmd::Bench(a) => bench::run(a, quiet),
        Cmd::Prompt(a) => prompt::run(a),
        Cmd::Rtl(a) => rtl::run(a, quiet),
        Cmd::Sweep(a) => sweep::run(a),
        Cmd::Config(a) => config::run(a),
        Cmd::Slurm(a) => slurm::run(a),
        Cmd::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "gemforge", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// -q and -v together. clap refuses them when both come before (or both after) the subcommand, but not
/// `-q bench -v`, since global flags are checked per level; this catches the rest with the same meaning.
fn flag_conflict(cli: &Cli) -> Option<&'static str> {
    (cli.quiet && cli.verbose > 0).then_some(
        "the argument '--quiet' cannot be used with '--verbose': -q hides the progress bars, -v adds \
         lines about the work; give one of them",
    )
}

/// The level of the library's log records that `-v` (given `verbose` times) shows for `cmd`. The library
/// logs one line per unit of work (a bench or sweep cell, a search candidate, an LLM call, an RTL build
/// phase) at `info`, and the steps inside one evaluation at `debug`: those are what `eval` is about, so
/// its first -v shows them, while bench, sweep and search, which run many evaluations, need -vv.
/// `run` prints its own lines and logs nothing.
fn log_level(cmd: &Cmd, verbose: u8) -> log::LevelFilter {
    use log::LevelFilter::{Debug, Info, Off};
    match (cmd, verbose) {
        (_, 0) | (Cmd::Run(_), _) => Off,
        (Cmd::Eval(_), _) | (_, 2..) => Debug,
        (_, 1) => Info,
    }
}

/// The hardware configuration of `--config FILE`, or the bundled default.
pub(crate) fn load_config(file: Option<&PathBuf>) -> anyhow::Result<HwConfig> {
    match file {
        Some(p) => Ok(HwConfig::from_file(p)?),
        None => Ok(HwConfig::default_config()),
    }
}

/// The stop flag of a command that runs evaluations on `exec`. With a cluster executor Ctrl-C sets it
/// (the executor then cancels the outstanding jobs) and a second Ctrl-C quits at once (the jobs' sruns
/// end with the process); on this machine Ctrl-C keeps its default, ending the process.
pub(crate) fn interrupt_stops(exec: &dyn crate::bench::executor::Executor) -> &'static AtomicBool {
    static STOP: AtomicBool = AtomicBool::new(false);
    if exec.name() != "local" {
        let _ = ctrlc::set_handler(|| {
            if STOP.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\ncancelling the cluster jobs (Ctrl-C again to quit at once)...");
        });
    }
    &STOP
}

/// Print one value as a single line of JSON.
pub(crate) fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!(
        "{}",
        serde_json::to_string(v).context("encoding the result")?
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every argument of every subcommand explains itself in --help.
    #[test]
    fn every_option_has_help_text() {
        let cli = Cli::command();
        let mut missing = Vec::new();
        for sub in cli.get_subcommands() {
            for arg in sub.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && arg.get_help().is_none() {
                    missing.push(format!("{} {id}", sub.get_name()));
                }
            }
        }
        assert!(missing.is_empty(), "options without help: {missing:?}");
    }

    /// -v shows the unit-of-work lines (info) on bench, sweep, search and rtl, the steps of an evaluation
    /// (debug) on eval or with -vv; run logs through its own lines, and no -v shows nothing.
    #[test]
    fn verbosity_levels_per_subcommand() {
        use log::LevelFilter::{Debug, Info, Off};
        let level = |args: &[&str]| {
            let cli = Cli::try_parse_from(args).expect("parses");
            log_level(&cli.cmd, cli.verbose)
        };
        assert_eq!(level(&["gemforge", "bench"]), Off);
        assert_eq!(level(&["gemforge", "-v", "bench"]), Info);
        assert_eq!(level(&["gemforge", "bench", "-vv"]), Debug);
        assert_eq!(
            level(&["gemforge", "-v", "eval", "--workload", "w", "c.c"]),
            Debug
        );
        assert_eq!(level(&["gemforge", "-v", "rtl", "build", "x.toml"]), Info);
        assert_eq!(level(&["gemforge", "-vv", "run", "p.c"]), Off);
    }

    /// -q and -v together are refused, naming both: by clap on one level, by dispatch across levels.
    #[test]
    fn quiet_and_verbose_conflict() {
        let e = match Cli::try_parse_from(["gemforge", "-q", "-v", "bench"]) {
            Ok(_) => panic!("-q -v parsed"),
            Err(e) => e,
        };
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
        let text = e.to_string();
        assert!(
            text.contains("--quiet") && text.contains("--verbose"),
            "{text}"
        );
        let split = Cli::try_parse_from(["gemforge", "-q", "bench", "-v"]).expect("parses");
        let text = flag_conflict(&split).expect("a conflict");
        assert!(
            text.contains("--quiet") && text.contains("--verbose"),
            "{text}"
        );
        let fine = Cli::try_parse_from(["gemforge", "bench", "-vv"]).expect("parses");
        assert!(flag_conflict(&fine).is_none());
    }

    /// The output folder is --out-dir and the screens are --screen-runs on every subcommand that has them.
    #[test]
    fn option_names_are_consistent() {
        let cli = Cli::command();
        for sub in cli.get_subcommands() {
            for arg in sub.get_arguments() {
                let long = arg.get_long().unwrap_or_default();
                assert!(
                    !matches!(long, "out" | "engine-screen-runs" | "run-dir"),
                    "{} --{long}: use --out-dir / --screen-runs (old names stay as aliases)",
                    sub.get_name()
                );
            }
        }
        Cli::command().debug_assert();
    }
}

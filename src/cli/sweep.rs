//! `gemforge sweep`: the sweep's table (or one JSON object) and the files it wrote.

use crate::bench::executor::{Executor, ExecutorArgs};
use crate::bench::sweep::{self, SweepArgs};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

#[derive(clap::Args)]
pub struct SweepCliArgs {
    /// Hardware configurations (TOML); the first is the reference for speedups.
    #[arg(long, required = true, num_args = 1..)]
    pub configs: Vec<PathBuf>,
    /// Workloads (see `gemforge workloads`).
    #[arg(long, required = true, num_args = 1..)]
    pub workloads: Vec<String>,
    /// A candidate C file or a baseline name (naive, library, hand, fsm); several may follow one
    /// --program, which may be repeated. Default: naive.
    #[arg(long = "program", value_name = "NAME|FILE", num_args = 1..)]
    pub programs: Vec<String>,
    /// Directory for sweep.csv, sweep.svg and the generated baseline programs.
    #[arg(
        long,
        default_value = "sweep-out",
        value_name = "DIR",
        visible_alias = "out"
    )]
    pub out_dir: PathBuf,
    /// Parallel evaluations [default: one per core]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Seed of the inputs (the same data on every configuration).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Where evaluations run (--executor local|slurm and the cluster's options; docs/cluster.md).
    #[command(flatten)]
    pub exec: Box<ExecutorArgs>,
}

pub fn run(a: SweepCliArgs) -> anyhow::Result<ExitCode> {
    // First, while this process has one thread: with slurm, the cache directory becomes the shared one.
    let exec = a.exec.resolve()?.build(a.jobs.unwrap_or(0))?;
    let stop = super::interrupt_stops(exec.as_ref());
    let args = SweepArgs {
        configs: a.configs,
        workloads: a.workloads,
        programs: a.programs,
        out_dir: a.out_dir,
        jobs: a.jobs,
        seed: a.seed,
    };
    let text = match render(&args, a.json, exec.as_ref(), stop) {
        Err(e) if stop.load(std::sync::atomic::Ordering::SeqCst) => {
            eprintln!("{e:#}");
            return Ok(ExitCode::from(130));
        }
        r => r?,
    };
    print!("{text}");
    if exec.name() != "local" {
        eprintln!("{}", exec.stats().summary(exec.name()));
    }
    Ok(ExitCode::SUCCESS)
}

/// Run the sweep and render it: the table, or one JSON object.
fn render(
    args: &SweepArgs,
    json: bool,
    exec: &dyn Executor,
    stop: &AtomicBool,
) -> anyhow::Result<String> {
    let r = sweep::run_with(args, exec, stop)?;
    let csv = args.out_dir.join("sweep.csv");
    let svg = args.out_dir.join("sweep.svg");
    if json {
        return Ok(serde_json::json!({
            "cells": r.cells,
            "csv": csv.display().to_string(),
            "svg": svg.display().to_string(),
            "wall_s": r.wall_s,
        })
        .to_string()
            + "\n");
    }
    let mut s = sweep::to_table(&r.cells);
    let _ = writeln!(
        s,
        "\n{} cells in {:.0} s; wrote {} and {}",
        r.cells.len(),
        r.wall_s,
        csv.display(),
        svg.display()
    );
    Ok(s)
}

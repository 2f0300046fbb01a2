//! `gemforge slurm`: `check` says whether the Slurm cluster is usable for `--executor slurm` (sinfo, munge,
//! the partition's nodes, the shared directory, a test job running this binary); the hidden `worker` is
//! what each cluster job runs (bench::executor::worker). docs/cluster.md.

use crate::bench::executor::{self, slurm, ExecutorArgs, ExecutorKind, ExecutorSettings};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct SlurmArgs {
    #[command(subcommand)]
    pub cmd: SlurmCmd,
}

#[derive(clap::Subcommand)]
pub enum SlurmCmd {
    /// Check that the cluster is usable: sinfo answers, munge works, the partition has usable nodes, and a
    /// test job runs this gemforge on a node that sees the shared directory. Exit status 0 if usable, 2
    /// with the reason if not.
    Check(CheckArgs),
    /// Evaluate one batch of requests written by a driver (what each cluster job runs).
    #[command(hide = true)]
    Worker {
        /// The batch directory (batch.json, the candidates; the verdicts go to out/).
        dir: PathBuf,
    },
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The executor settings (--shared-dir, --partition, ...; --executor is slurm here).
    #[command(flatten)]
    pub exec: ExecutorArgs,
    /// Seconds to wait for the test job.
    #[arg(long, default_value_t = 120, value_name = "S")]
    pub wait: u64,
}

pub fn run(a: SlurmArgs) -> anyhow::Result<ExitCode> {
    match a.cmd {
        SlurmCmd::Worker { dir } => match executor::worker(&dir) {
            Ok(_) => Ok(ExitCode::SUCCESS),
            Err(e) => {
                eprintln!("error: gemforge slurm worker {}: {e:#}", dir.display());
                Ok(ExitCode::from(2))
            }
        },
        SlurmCmd::Check(mut c) => {
            c.exec.executor = Some(ExecutorKind::Slurm);
            let ExecutorSettings::Slurm(s) = c.exec.resolve()? else {
                anyhow::bail!("internal: the executor is not slurm");
            };
            match slurm::check(&s, Duration::from_secs(c.wait)) {
                Ok(lines) => {
                    for l in lines {
                        println!("{l}");
                    }
                    println!("the cluster is usable with --executor slurm");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: the cluster is not usable: {e:#}");
                    Ok(ExitCode::from(2))
                }
            }
        }
    }
}

//! The `gemforge` command line: thin; every subcommand calls one library function.

use anyhow::Context;
use clap::{Parser, Subcommand};
use gemforge::config::HwConfig;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "gemforge",
    version,
    about = "Cycle-accurate co-simulation of Gemmini-compatible accelerators"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Measure simulated cycles per wall-clock second of the RTL on a compute-bound stream
    /// (weight-stationary DIMxDIMxDIM matmuls back to back on resident data, single-threaded).
    Perf {
        /// Simulate at least this many cycles.
        #[arg(long, default_value_t = 2_000_000)]
        cycles: u64,
        /// Print one JSON object {"cycles", "wall_s", "cycles_per_s"} instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check a hardware configuration file and print what it derives (rows, banks, address bits).
    Config {
        /// The TOML file (default: the bundled rtl/configs/default.toml).
        file: Option<PathBuf>,
    },
}

fn load_config(file: Option<&PathBuf>) -> anyhow::Result<HwConfig> {
    match file {
        Some(p) => Ok(HwConfig::from_file(p)?),
        None => Ok(HwConfig::default_config()),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Perf { cycles, json } => {
            let cfg = HwConfig::default_config();
            let r = gemforge::perf::run(&cfg, cycles)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string(&r).context("encoding the result")?
                );
            } else {
                println!(
                    "simulated {} cycles in {:.3} s: {:.0} cycles/s (DIM={}, compute-bound WS stream, 1 thread)",
                    r.cycles,
                    r.wall_s,
                    r.cycles_per_s,
                    cfg.dim()
                );
            }
        }
        Cmd::Config { file } => {
            let cfg = load_config(file.as_ref())?;
            println!("configuration `{}` is valid", cfg.name);
            println!(
                "  DIM {} ({} dataflows)",
                cfg.dim(),
                if cfg.has_os() { "OS and WS" } else { "WS only" }
            );
            println!(
                "  scratchpad {} rows in {} banks of {}",
                cfg.sp_rows(),
                cfg.scratchpad.banks,
                cfg.sp_bank_rows()
            );
            println!(
                "  accumulator {} rows in {} banks of {}",
                cfg.acc_rows(),
                cfg.accumulator.banks,
                cfg.acc_bank_rows()
            );
            println!(
                "  local-address row field {} bits; MAX_BLOCK_LEN {}, MAX_BLOCK_LEN_ACC {}",
                cfg.local_addr_row_bits(),
                cfg.max_block_len(),
                cfg.max_block_len_acc()
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
